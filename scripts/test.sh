#!/usr/bin/env bash
# Runs the whole test suite as CI does: installs the Debian packages the namespace tests need,
# then format and lint checks, unit tests, simulations and the real-kernel tests (as root), and a
# 20-second smoke run of each fuzz target so that they keep building and finding nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "test.sh: the namespace tests need root" >&2; exit 1; }
scripts/install-deps.sh test
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
# The benchmark once, as a smoke test (debug build; scripts/bench-proto.sh measures in release).
cargo test --benches
# Unit tests, simulations, golden vectors and the real-kernel tests.
cargo test
# The fuzz targets (fuzz/, its own crate): an instrumented release build, then 10 s each.
scripts/fuzz.sh -t 10
