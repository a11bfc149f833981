#!/usr/bin/env bash
# Runs the whole test suite: installs missing Debian packages, then lint and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets
