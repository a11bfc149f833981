#!/usr/bin/env bash
# A throw-away VRRP lab in network namespaces, touching none of the host's interfaces:
#
#   PREFIX-sw   holds bridge br0 (the "switch"); one port per host below
#   PREFIX-rN   router N: eth0 = 192.0.2.N/24 and 2001:db8::N/64, MAC 02:00:00:00:00:0N
#   PREFIX-c    client:   eth0 = 192.0.2.200/24 and 2001:db8::c8/64
#
# Usage: lab.sh up PREFIX ROUTERS | lab.sh down PREFIX | lab.sh names PREFIX
# `up` removes whatever it created if any step fails. `down` deletes the namespaces only: callers
# stop the processes they started, by PID, before calling it.
set -euo pipefail

die() { echo "lab.sh: $*" >&2; exit 1; }

namespaces() { ip netns list | awk '{print $1}' | grep -E "^$1-(sw|c|r[0-9]+)\$" || true; }

down() {
    local prefix=$1 ns
    for ns in $(namespaces "$prefix"); do
        ip netns delete "$ns" 2>/dev/null || true
    done
}

# host NS INDEX MAC IPV4 IPV6: a host namespace wired to the switch.
host() {
    local prefix=$1 ns=$2 port=$3 mac=$4 v4=$5 v6=$6
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add eth0 address "$mac" type veth peer name "$port" netns "$prefix-sw"
    # No DAD in the lab: addresses are usable at once, and nothing else shares this LAN.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.eth0.accept_dad=0
    ip -n "$ns" addr add "$v4/24" dev eth0
    ip -n "$ns" addr add "$v6/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
    ip -n "$prefix-sw" link set "$port" master br0 up
}

up() {
    local prefix=$1 routers=$2 i
    [[ $routers =~ ^[1-9]$ ]] || die "ROUTERS must be 1..9, got '$routers'"
    [[ -z "$(namespaces "$prefix")" ]] || die "namespaces $prefix-* exist already; run: $0 down $prefix"
    trap 'down "$prefix"' ERR
    ip netns add "$prefix-sw"
    ip -n "$prefix-sw" link set lo up
    # A plain learning bridge; multicast snooping off so VRRP multicast floods like a dumb switch.
    ip -n "$prefix-sw" link add br0 type bridge mcast_snooping 0
    ip netns exec "$prefix-sw" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1
    ip -n "$prefix-sw" link set br0 up
    for i in $(seq 1 "$routers"); do
        host "$prefix" "$prefix-r$i" "p$i" "02:00:00:00:00:0$i" "192.0.2.$i" "2001:db8::$i"
    done
    host "$prefix" "$prefix-c" pc "02:00:00:00:00:c8" 192.0.2.200 2001:db8::c8
    trap - ERR
}

[[ $(id -u) == 0 ]] || die "needs root (network namespaces)"
case "${1:-}" in
    up) [[ $# == 3 ]] || die "usage: $0 up PREFIX ROUTERS"; up "$2" "$3" ;;
    down) [[ $# == 2 ]] || die "usage: $0 down PREFIX"; down "$2" ;;
    names) [[ $# == 2 ]] || die "usage: $0 names PREFIX"; namespaces "$2" ;;
    *) die "usage: $0 up PREFIX ROUTERS | down PREFIX | names PREFIX" ;;
esac
