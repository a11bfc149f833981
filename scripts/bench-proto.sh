#!/usr/bin/env bash
# Cost of the protocol core per received advert and per timer event (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench proto
