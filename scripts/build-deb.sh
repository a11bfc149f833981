#!/usr/bin/env bash
# Builds the Debian package in one command and prints its path: the release binary, the assets
# generated from the CLI definition and the keyword tables (examples/gen-assets.rs: man pages,
# completions, the unit with /usr/sbin), a check that the man pages render without a warning,
# then `cargo deb --no-build` ([package.metadata.deb] in Cargo.toml says what goes where).
# Needs cargo-deb, dpkg-dev, binutils and groff: `scripts/install-deps.sh test` installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null 2>&1 || {
    echo "build-deb.sh: cargo-deb is missing; scripts/install-deps.sh test installs it" >&2
    exit 1
}
cargo build --release --locked --bin keepvip
rm -rf target/assets
# The generator runs in the dev profile: what it writes does not depend on the profile, and an
# example links every dev-dependency, which `cargo test` has already built in that profile.
cargo run --locked --quiet --example gen-assets -- target/assets >/dev/null
for page in target/assets/keepvip.8 target/assets/keepvip.conf.5; do
    # -ww: every warning; -z: no output, only the diagnostics.
    warnings=$(groff -ww -z -man -Tutf8 "$page" 2>&1)
    [[ -z $warnings ]] || { echo "build-deb.sh: $page: $warnings" >&2; exit 1; }
done
# cargo-deb prints the package's path on stdout.
cargo deb --no-build --locked --quiet
