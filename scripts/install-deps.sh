#!/usr/bin/env bash
# Installs the Debian packages that keepvip's demo, tests or benchmarks need, when missing.
# Usage: install-deps.sh demo|test|bench
set -euo pipefail
declare -A package_of=([ip]=iproute2 [ping]=iputils-ping [tcpdump]=tcpdump [tshark]=tshark
    [keepalived]=keepalived [nft]=nftables [promtool]=prometheus)
case "${1:-}" in
    demo) commands=(ip ping) ;;
    test) commands=(ip ping tcpdump tshark keepalived nft promtool) ;;
    bench) commands=(ip ping tcpdump keepalived) ;;
    *) echo "usage: $0 demo|test|bench" >&2; exit 2 ;;
esac
missing=()
for command in "${commands[@]}"; do
    command -v "$command" >/dev/null 2>&1 || [[ -x /usr/sbin/$command ]] || missing+=("${package_of[$command]}")
done
((${#missing[@]} == 0)) && exit 0
[[ $(id -u) == 0 ]] || { echo "install-deps.sh: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
