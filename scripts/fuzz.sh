#!/usr/bin/env bash
# Builds the coverage-guided fuzz targets in fuzz/ (libFuzzer through the libfuzzer-sys crate, on
# the stable toolchain: no nightly, no cargo-fuzz) and runs each for a while, one after the other.
# Usage: scripts/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]   (default: 60 s, every target)
# Targets: wire_advert receive_path config notify_split.
# Each run starts from the checked-in seeds (fuzz/seeds/TARGET) plus what earlier runs found
# (fuzz/corpus/TARGET, not checked in); a crash, a hang (an input taking over 10 s) or a run
# over 1 GiB of memory saves the input in fuzz/artifacts/TARGET/ and makes this script exit 1.
# Reproduce one with: fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release/TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
seconds=60
jobs=1
while getopts "t:j:" opt; do
    case $opt in
        t) seconds=$OPTARG ;;
        j) jobs=$OPTARG ;;
        *) echo "usage: $0 [-t SECONDS] [-j JOBS] [TARGET...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
all=(wire_advert receive_path config notify_split)
targets=("${@:-${all[@]}}")
for target in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $target "* ]] || { echo "fuzz.sh: no target $target (have: ${all[*]})" >&2; exit 2; }
done
declare -A max_len=([wire_advert]=1100 [receive_path]=4096 [config]=4096 [notify_split]=1024)

host=$(rustc -vV | sed -n 's/^host: //p')
# What cargo-fuzz passes, minus the sanitizer (AddressSanitizer needs nightly; the code fuzzed has
# no `unsafe`): SanitizerCoverage's inline counters, PC table and comparison tracing, which
# libFuzzer reads. --target keeps the flags off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
echo "fuzz.sh: building the fuzz targets" >&2
cargo build --quiet --release --manifest-path fuzz/Cargo.toml --target "$host" \
    $(printf -- '--bin %s ' "${targets[@]}")

failed=()
for target in "${targets[@]}"; do
    corpus=fuzz/corpus/$target
    artifacts=fuzz/artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    log=$(mktemp)
    dict=()
    [[ -f fuzz/dict/$target.dict ]] && dict=(-dict="$repo/fuzz/dict/$target.dict")
    echo "fuzz.sh: $target for ${seconds}s" >&2
    parallel=()
    # Several jobs: libFuzzer forks workers that write fuzz-N.log in the working directory.
    workdir=$(mktemp -d)
    ((jobs > 1)) && parallel=(-jobs="$jobs" -workers="$jobs")
    status=0
    (cd "$workdir" && exec "$repo/fuzz/target/$host/release/$target" "$repo/$corpus" \
        "$repo/fuzz/seeds/$target" "${dict[@]}" "${parallel[@]}" \
        -max_total_time="$seconds" -max_len="${max_len[$target]}" -timeout=10 \
        -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$repo/$artifacts/") \
        >"$log" 2>&1 || status=$?
    cat "$workdir"/fuzz-*.log >>"$log" 2>/dev/null || true
    rm -rf "$workdir"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s += $1} END {print s + 0}')
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | sort -n | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    if ((status != 0)) || grep -q '^==[0-9]*== ERROR\|^SUMMARY: libFuzzer\|deadly signal' "$log"; then
        failed+=("$target")
        echo "fuzz.sh: $target FAILED (exit $status) after $execs executions; the input is in $artifacts/:" >&2
        grep -v '^#[0-9]\|^INFO:\|^\s*$' "$log" | tail -40 >&2
        echo "fuzz.sh: replay it with: fuzz/target/$host/release/$target $artifacts/FILE" >&2
    else
        echo "fuzz.sh: $target ok: $execs executions in ${secs:-$seconds} s, peak RSS ${rss:-?} MB, no crash" >&2
    fi
    rm -f "$log"
done
if ((${#failed[@]} > 0)); then
    echo "fuzz.sh: crashed: ${failed[*]}" >&2
    exit 1
fi
