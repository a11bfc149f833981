#!/usr/bin/env bash
# Installs the Debian packages that keepvip's demo, tests or benchmarks need, when missing, and
# for the tests cargo-deb (the package test builds a .deb), pinned.
# Usage: install-deps.sh demo|test|bench
set -euo pipefail
declare -A package_of=([ip]=iproute2 [ping]=iputils-ping [tcpdump]=tcpdump [tshark]=tshark
    [keepalived]=keepalived [nft]=nftables [promtool]=prometheus [groff]=groff-base
    [dpkg-shlibdeps]=dpkg-dev [objcopy]=binutils [g++]=g++)
# cargo-deb for scripts/build-deb.sh and tests/e2e_package.rs; it needs dpkg-shlibdeps (the
# package's Depends) and objcopy (the debug symbols), and the man page check needs groff.
# scripts/fuzz.sh builds libFuzzer (C++, through the libfuzzer-sys crate from crates.io) with g++.
CARGO_DEB_VERSION=3.8.0
case "${1:-}" in
    demo) commands=(ip ping) ;;
    test) commands=(ip ping tcpdump tshark keepalived nft promtool groff dpkg-shlibdeps objcopy g++) ;;
    bench) commands=(ip ping tcpdump keepalived) ;;
    *) echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac
missing=()
for command in "${commands[@]}"; do
    command -v "$command" >/dev/null 2>&1 || [[ -x /usr/sbin/$command ]] || missing+=("${package_of[$command]}")
done
if ((${#missing[@]} > 0)); then
    [[ $(id -u) == 0 ]] || { echo "install-deps.sh: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
    echo "installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ $1 == test ]] && [[ $(cargo deb --version 2>/dev/null) != "cargo-deb $CARGO_DEB_VERSION" ]]; then
    # About 2 minutes on the 2-core machine; --locked: the versions cargo-deb was released with.
    echo "installing cargo-deb $CARGO_DEB_VERSION" >&2
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet
fi
