#!/usr/bin/env bash
# Starvation benchmark: VRRPv3 adverts every 20 ms while both cores are saturated, keepvip and
# keepalived side by side. It prints numbers; it is not a test: it exits 0 whatever they are, and
# non-zero only when a run broke.
#
# Usage: scripts/bench-starvation.sh [-w SECONDS] [--quick] [--only keepvip|keepalived]
#   -w SECS   how long the CPUs are saturated per cell (default 60)
#   --quick   smoke run: 10 s per cell
# Environment: KEEPVIP=path to the binary (default: target/release/keepvip, rebuilt first).
#
# Each cell: a fresh lab (scripts/lab.sh, namespaces kvs-*): r1 master (priority 200) and r2
# backup (priority 100), advert_int 0.02, a capture of VRRP on the switch. Once r1 is master, this
# script starts one busy loop per core at nice 0 and one more at nice -10 (a process more
# favoured than an agent at the default priority), for the window. Two settings per agent:
#   default   no process settings (keepalived's and keepvip's default)
#   rt        vrrp_rt_priority 20 and vrrp_no_swap (what the README advises on busy hosts)
# Reported: r1's adverts in the window, its longest gap between two adverts (ms, and as a
# multiple of the interval), and adverts from r2 (a backup that advertises took over: a
# transition; 0 is the goal). keepalived runs as `keepalived -n -l -G -D -P -R` (console log
# only, as keepvip) with private pid files.
# Needs root. Touches no host interface (the busy loops only use CPU); kills only the processes it
# started, by PID; removes its namespaces on every exit.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "bench-starvation: $*" >&2; exit 1; }
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

window=60
only=""
while (($#)); do
    case $1 in
        -w) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "-w takes whole seconds"; window=$2; shift ;;
        --quick) window=10 ;;
        --only) [[ ${2:-} == keepvip || ${2:-} == keepalived ]] || die "--only takes keepvip or keepalived"; only=$2; shift ;;
        -h | --help) usage 0 ;;
        *) usage ;;
    esac
    shift
done
[[ $(id -u) == 0 ]] || die "needs root (network namespaces, real-time priority)"
for tool in tcpdump ip nice; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
KEEPALIVED=$(command -v keepalived || true)
impls=(keepvip keepalived)
[[ -n $only ]] && impls=("$only")
if [[ -z $KEEPALIVED ]]; then
    [[ $only == keepalived ]] && die "keepalived is not installed"
    impls=(keepvip)
fi
if [[ -z ${KEEPVIP:-} ]]; then
    echo "building keepvip (release)" >&2
    cargo build --release --quiet
    KEEPVIP=target/release/keepvip
fi
BIN=$(realpath "$KEEPVIP")

LAB=kvs$$
LAB=${LAB:0:7}
INTERVAL_MS=20
pids=()
work=$(mktemp -d /tmp/kvs.XXXXXX)
cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done 2>/dev/null
    # keepalived's VRRP children (started by keepalived, not by this script) are found by their
    # private pid files, and only those.
    for pidfile in "$work"/*/r*.vrrp.pid; do
        [[ -f $pidfile ]] && kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
    done
    scripts/lab.sh down "$LAB" || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

write_config() { # write_config SETTING ROUTER FILE
    local setting=$1 router=$2
    {
        echo "global_defs {"
        echo "    vrrp_version 3"
        if [[ $setting == rt ]]; then
            echo "    vrrp_rt_priority 20"
            echo "    vrrp_no_swap"
        fi
        echo "}"
        echo "vrrp_instance VI_1 {"
        echo "    state BACKUP"
        echo "    interface eth0"
        echo "    virtual_router_id 51"
        echo "    priority $((router == 1 ? 200 : 100))"
        echo "    advert_int 0.02"
        echo "    virtual_ipaddress {"
        echo "        192.0.2.100/24"
        echo "    }"
        echo "}"
    } >"$3"
}

start_agent() { # start_agent IMPL DIR ROUTER
    local impl=$1 dir=$2 router=$3 ns=$LAB-r$3
    if [[ $impl == keepvip ]]; then
        ip netns exec "$ns" "$BIN" -f "$dir/r$router.conf" --run-dir "$dir/run$router" \
            >"$dir/r$router.log" 2>&1 &
    else
        ip netns exec "$ns" "$KEEPALIVED" -n -l -G -D -P -R -f "$dir/r$router.conf" \
            -p "$dir/r$router.pid" -r "$dir/r$router.vrrp.pid" >"$dir/r$router.log" 2>&1 &
    fi
    pids+=($!)
}

# measure IMPL SETTING: one cell; prints its row.
measure() {
    local impl=$1 setting=$2 dir=$work/$1-$2 burners=() cpu pid
    mkdir -p "$dir/run1" "$dir/run2"
    scripts/lab.sh up "$LAB" 2 >/dev/null
    write_config "$setting" 1 "$dir/r1.conf"
    write_config "$setting" 2 "$dir/r2.conf"
    start_agent "$impl" "$dir" 1
    local r1=$!
    sleep 0.5 # r1 first, so that it is master before r2 listens (not a measurement)
    start_agent "$impl" "$dir" 2
    local r2=$!
    # r1 is master once r2, as backup, hears three of its adverts.
    timeout 10 ip netns exec "$LAB-r2" tcpdump -i eth0 -c 3 -nn -q "ip proto 112 and src 192.0.2.1" \
        >/dev/null 2>&1 || die "$impl/$setting: r1 never advertised"
    ip netns exec "$LAB-sw" tcpdump -i br0 -tt -nn -l 'ip proto 112' >"$dir/capture.txt" 2>/dev/null &
    local capture=$!
    pids+=("$capture")
    timeout 5 bash -c "until [[ -s '$dir/capture.txt' ]]; do sleep 0.05; done" ||
        die "$impl/$setting: the capture saw nothing"
    local start=$EPOCHREALTIME
    # Disowned so that bash does not report their SIGKILL; it still reaps them.
    for cpu in $(seq "$(nproc)"); do
        bash -c 'while :; do :; done' &
        burners+=($!)
        disown $!
    done
    nice -n -10 bash -c 'while :; do :; done' &
    burners+=($!)
    disown $!
    pids+=("${burners[@]}")
    sleep "$window"
    for pid in "${burners[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    local stop=$EPOCHREALTIME
    sleep 0.2
    kill -TERM "$capture" "$r1" "$r2" 2>/dev/null || true
    for pid in "$capture" "$r1" "$r2"; do wait "$pid" 2>/dev/null || true; done
    pids=()
    scripts/lab.sh down "$LAB"
    awk -v from="$start" -v to="$stop" -v impl="$impl" -v setting="$setting" \
        -v interval="$INTERVAL_MS" '
        $1 >= from && $1 <= to && $2 == "IP" {
            src = $3
            if (src == "192.0.2.1") {
                n++
                if (last != "") { gap = ($1 - last) * 1000; if (gap > max) max = gap }
                last = $1
            } else if (src == "192.0.2.2") {
                b++
            }
        }
        END {
            printf "%-10s %-8s | %8d %10.1f %8.2f x | %6d\n", impl, setting, n, max, max / interval, b
        }' "$dir/capture.txt"
}

printf 'Starvation benchmark: VRRPv3 / advert_int 0.02, %d s per cell with %d busy loops at nice 0\n' \
    "$window" "$(nproc)"
printf 'and one at nice -10 on a %d-core machine (load at start %s).\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-8s | %8s %10s %10s | %6s\n' impl setting "r1 adv" "gap max ms" "x intvl" "r2 adv"
for setting in default rt; do
    for impl in "${impls[@]}"; do
        measure "$impl" "$setting"
    done
done
echo "r2 adv: adverts from the backup, each a moment it believed the master gone (0 is the goal)."
