#!/usr/bin/env bash
# Recreates the golden VRRP captures described in README.md: one real VRRP router
# (keepalived 2.2.7 or FRR vrrpd 8.4.4) alone on a bridged LAN, captured on its
# switch port while it becomes master, announces, and then stops gracefully.
#
# Usage: capture.sh [CASE...]   (default: all six cases)
#   CASE is one of: keepalived-v2-ipv4 keepalived-v3-ipv4 keepalived-v3-ipv6
#                   frr-v2-ipv4 frr-v3-ipv4 frr-v3-ipv6
# Output: OUT_DIR (default: ./vectors) gets CASE.pcap, CASE.hex
# and logs/CASE.*; keepalived-v3-ipv4 also yields keepalived-v3-ipv4-rfc9568.hex.
#
# Network safety: everything happens inside the namespaces kvv-br and kvv-r1, which
# this script creates, connects only to each other, and deletes on every exit path.
# Only 192.0.2.0/24 and 2001:db8::/32 are used. Must run as root.
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${OUT_DIR:-$PWD/vectors}
BR_NS=kvv-br
R1_NS=kvv-r1
PORT=r1p                      # bridge-side veth port of the router (capture point)
ROUTER_IF=eth0
ROUTER_MAC=02:00:c0:00:02:01  # fixed, locally administered: makes re-runs comparable
VRID=51
VMAC4=00:00:5e:00:01:33
VMAC6=00:00:5e:00:02:33
# Bounds for every wait, so a daemon that misbehaves fails the run instead of hanging it.
EVENT_TIMEOUT_S=60
SETTLE_TIMEOUT_S=15

WORK=$(mktemp -d /tmp/kvv-capture.XXXXXX)
chmod 711 "$WORK" # the FRR daemons run as user frr and need to reach their own subdirectory
STARTED_PIDS=()   # every background process this script started, until reaped
EXTRA_PIDFILES=() # pid files of grandchildren (keepalived's VRRP child)

log() { printf '[capture] %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# A PID is alive while /proc has it and it is not a zombie waiting to be reaped.
pid_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

forget_pid() {
    local kept=() pid
    for pid in "${STARTED_PIDS[@]}"; do
        [[ $pid == "$1" ]] || kept+=("$pid")
    done
    STARTED_PIDS=("${kept[@]}")
}

# Sends SIGNAL to PID, waits up to TIMEOUT_S for it to exit, escalates to SIGKILL.
stop_pid() {
    local pid=$1 signal=$2 timeout_s=$3 deadline
    if pid_alive "$pid"; then
        kill "-$signal" "$pid" 2>/dev/null || true
        deadline=$((SECONDS + timeout_s))
        while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
        if pid_alive "$pid"; then
            log "PID $pid ignored SIG$signal for ${timeout_s}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

stop_extra_pidfiles() {
    local file pid
    for file in "${EXTRA_PIDFILES[@]}"; do
        [[ -s $file ]] || continue
        pid=$(<"$file")
        # Only kill it if it is still the process we started (keepalived in our namespace).
        if pid_alive "$pid" && grep -q keepalived "/proc/$pid/comm" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    EXTRA_PIDFILES=()
}

lab_down() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid" TERM 5; done
    stop_extra_pidfiles
    ip netns del "$R1_NS" 2>/dev/null || true
    ip netns del "$BR_NS" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    lab_down
    rm -rf "$WORK"
    ((rc == 0)) || log "failed (exit $rc); namespaces and processes removed"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in the background and records its PID in BG_PID and STARTED_PIDS.
# `ip netns exec` execs the command, so the recorded PID is the daemon itself.
start_bg() {
    local out=$1
    shift
    "$@" >"$out" 2>&1 &
    BG_PID=$!
    STARTED_PIDS+=("$BG_PID")
}

# Waits until FILE contains PATTERN (process PID reporting readiness), or fails fast
# if PID exits first.
await_text() {
    local file=$1 pattern=$2 what=$3 pid=$4 deadline=$((SECONDS + SETTLE_TIMEOUT_S))
    until grep -q -- "$pattern" "$file" 2>/dev/null; do
        pid_alive "$pid" || die "process $pid exited while waiting for $what (see $file)"
        ((SECONDS < deadline)) || die "timed out waiting for $what (see $file)"
        sleep 0.05
    done
}

# Waits until no IPv6 address in the router namespace is tentative (DAD finished), so
# the capture does not start in the middle of the kernel's own link-up chatter.
await_dad() {
    local deadline=$((SECONDS + SETTLE_TIMEOUT_S))
    while [[ -n $(ip -n "$R1_NS" -6 addr show tentative) ]]; do
        ((SECONDS < deadline)) || die "IPv6 DAD did not finish in ${SETTLE_TIMEOUT_S}s"
        sleep 0.05
    done
    if [[ -n $(ip -n "$R1_NS" -6 addr show dadfailed) ]]; then
        die "IPv6 DAD failed in $R1_NS: $(ip -n "$R1_NS" -6 addr show dadfailed)"
    fi
}

lab_up() {
    lab_down
    ip netns add "$BR_NS"
    ip netns add "$R1_NS"
    # The bridge side has no IP stack role: no IPv6 there, so it sends nothing itself.
    ip netns exec "$BR_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    # Router solicitations are kernel noise unrelated to VRRP; turn them off before any
    # interface exists so no interface inherits them.
    ip netns exec "$R1_NS" sysctl -qw net.ipv6.conf.all.router_solicitations=0 \
        net.ipv6.conf.default.router_solicitations=0
    ip -n "$BR_NS" link add br0 type bridge
    ip -n "$BR_NS" link add "$PORT" type veth peer name "$ROUTER_IF" netns "$R1_NS"
    ip -n "$BR_NS" link set "$PORT" master br0
    ip -n "$BR_NS" link set br0 up
    ip -n "$BR_NS" link set "$PORT" up
    ip -n "$R1_NS" link set lo up
    ip -n "$R1_NS" link set "$ROUTER_IF" address "$ROUTER_MAC"
    ip -n "$R1_NS" addr add 192.0.2.1/24 dev "$ROUTER_IF"
    ip -n "$R1_NS" addr add 2001:db8::1/64 dev "$ROUTER_IF"
    ip -n "$R1_NS" link set "$ROUTER_IF" up
}

# FRR needs the operator to create the virtual-MAC macvlan (bridge mode, random IPv6
# link-local so it differs between routers) carrying the VIP, on top of the interface.
# iproute2 6.1 rejects `addrgenmode` inside `ip link add ... type macvlan` with
# "Address family not supported by protocol", so it is set in a second step.
add_frr_macvlan() {
    local name=$1 mac=$2 vip=$3
    ip -n "$R1_NS" link add "$name" link "$ROUTER_IF" address "$mac" type macvlan mode bridge
    ip -n "$R1_NS" link set "$name" addrgenmode random
    ip -n "$R1_NS" addr add "$vip" dev "$name"
    ip -n "$R1_NS" link set "$name" up
}

capture_start() {
    local pcap=$1
    start_bg "$WORK/tcpdump.err" ip netns exec "$BR_NS" tcpdump -i "$PORT" -s 0 -U -n --immediate-mode -w "$pcap"
    CAPTURE_PID=$BG_PID
    await_text "$WORK/tcpdump.err" 'listening on' 'tcpdump to start' "$CAPTURE_PID"
}

# Starts a tcpdump that exits after COUNT frames matching FILTER on the port; the
# caller later waits on WAITER_PID. This awaits the event itself instead of sleeping.
waiter_start() {
    local name=$1 filter=$2 count=$3
    start_bg "$WORK/waiter-$name.err" ip netns exec "$BR_NS" \
        timeout "$EVENT_TIMEOUT_S" tcpdump -i "$PORT" -n --immediate-mode -c "$count" -w /dev/null "$filter"
    WAITER_PID=$BG_PID
    await_text "$WORK/waiter-$name.err" 'listening on' "waiter $name to start" "$WAITER_PID"
}

waiter_finish() {
    local pid=$1 name=$2 rc=0
    wait "$pid" || rc=$?
    forget_pid "$pid"
    ((rc == 0)) || die "did not see the expected '$name' frames within ${EVENT_TIMEOUT_S}s"
    log "seen: $name"
}

# Stops the capture once the priority-0 advert is in the file (not only on the wire).
capture_stop_after_prio0() {
    local pcap=$1 deadline=$((SECONDS + SETTLE_TIMEOUT_S))
    until [[ -n $(tshark -r "$pcap" -Y 'vrrp.prio == 0' -T fields -e frame.number 2>/dev/null) ]]; do
        ((SECONDS < deadline)) || die "priority-0 advert was seen on the wire but not written to $pcap"
        sleep 0.1
    done
    stop_pid "$CAPTURE_PID" INT 5
}

# BPF filters. VRRP is IP protocol 112; the priority is byte 2 of the VRRP header.
vrrp_filter() { if [[ $1 == ipv4 ]]; then echo 'ip proto 112'; else echo 'ip6 proto 112'; fi; }
prio0_filter() {
    if [[ $1 == ipv4 ]]; then
        echo 'ip proto 112 and ip[((ip[0] & 0xf) * 4) + 2] = 0'
    else
        echo 'ip6 proto 112 and ip6[42] = 0'
    fi
}
announce_filter() { if [[ $1 == ipv4 ]]; then echo 'arp'; else echo 'icmp6 and ip6[40] = 136'; fi; }

# Keeps the raw capture's frames up to and including the first priority-0 advert:
# what the daemon sends after it (IGMP/MLD leaves) races with stopping the capture.
finish_pcap() {
    local name=$1 raw=$2 last
    last=$(tshark -r "$raw" -Y 'vrrp.prio == 0' -T fields -e frame.number 2>/dev/null | head -n 1)
    [[ -n $last ]] || die "$name: no priority-0 advert in the capture"
    mkdir -p "$OUT_DIR/logs"
    tshark -r "$raw" -n >"$OUT_DIR/logs/$name.raw-summary.txt" 2>/dev/null
    editcap -F pcap -r "$raw" "$OUT_DIR/$name.pcap" "1-$last"
    write_hex "$OUT_DIR/$name.pcap" "$OUT_DIR/$name.hex"
    log "$name: kept frames 1-$last of $(capinfos -c -M "$raw" | awk '/Number of packets/ {print $NF}')"
}

# One line per frame: the whole captured Ethernet frame as lowercase hex, in order.
write_hex() {
    python3 - "$1" "$2" <<'PY'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    data = f.read()
magic = data[:4]
if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
    endian = "<"
elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
    endian = ">"
else:
    sys.exit(f"{src}: not a classic pcap file (magic {magic.hex()})")
linktype = struct.unpack(endian + "I", data[20:24])[0]
if linktype != 1:
    sys.exit(f"{src}: link type {linktype}, expected 1 (Ethernet)")
offset, lines = 24, []
while offset < len(data):
    if offset + 16 > len(data):
        sys.exit(f"{src}: truncated record header at byte {offset}")
    _, _, incl_len, orig_len = struct.unpack(endian + "IIII", data[offset:offset + 16])
    if incl_len != orig_len:
        sys.exit(f"{src}: frame at byte {offset} was cut by the snaplen")
    frame = data[offset + 16:offset + 16 + incl_len]
    if len(frame) != incl_len:
        sys.exit(f"{src}: truncated frame at byte {offset}")
    lines.append(frame.hex())
    offset += 16 + incl_len
with open(dst, "w") as f:
    f.write("\n".join(lines) + "\n")
PY
}

keepalived_conf() {
    local version=$1 interval=$2 vip=$3
    cat <<EOF
global_defs {
    router_id kvv-r1
}
vrrp_instance VI_$VRID {
    state BACKUP
    interface $ROUTER_IF
    virtual_router_id $VRID
    priority 200
    advert_int $interval
    version $version
    virtual_ipaddress {
        $vip
    }
}
EOF
}

# keepalived defaults: garp_master_repeat 5 and garp_master_delay 5, so it sends 5
# gratuitous ARPs (or unsolicited NAs) on becoming master and 5 more 5 s later.
run_keepalived_case() {
    local name=$1 version=$2 interval=$3 family=$4 vip=$5 min_adverts=$6
    local raw="$WORK/$name.raw.pcap" conf="$WORK/$name.conf" ka_pid
    log "=== $name"
    lab_up
    await_dad
    keepalived_conf "$version" "$interval" "$vip" >"$conf"
    cp "$conf" "$OUT_DIR/logs/$name.keepalived.conf"
    capture_start "$raw"
    waiter_start adverts "$(vrrp_filter "$family")" "$min_adverts"
    local adverts_waiter=$WAITER_PID
    waiter_start announcements "$(announce_filter "$family")" 10
    local announce_waiter=$WAITER_PID
    EXTRA_PIDFILES+=("$WORK/$name.vrrp.pid")
    # -P: VRRP subsystem only (no health checker child). Private pid files.
    start_bg "$OUT_DIR/logs/$name.daemon.log" ip netns exec "$R1_NS" keepalived -n -l -D -P \
        -f "$conf" -p "$WORK/$name.pid" -r "$WORK/$name.vrrp.pid"
    ka_pid=$BG_PID
    waiter_finish "$adverts_waiter" "$min_adverts adverts"
    waiter_finish "$announce_waiter" "10 gratuitous ARPs / unsolicited NAs"
    waiter_start prio0 "$(prio0_filter "$family")" 1
    local prio0_waiter=$WAITER_PID
    stop_pid "$ka_pid" TERM 10
    waiter_finish "$prio0_waiter" "priority-0 advert"
    capture_stop_after_prio0 "$raw"
    lab_down
    finish_pcap "$name" "$raw"
}

frr_vtysh() { ip netns exec "$R1_NS" vtysh --vty_socket "$FRR_DIR" "$@"; }

# FRR sends one gratuitous ARP / unsolicited NA per VIP when it becomes master.
run_frr_case() {
    local name=$1 version=$2 interval_ms=$3 family=$4 min_adverts=$5
    local raw="$WORK/$name.raw.pcap" zebra_pid vrrpd_pid vip_line
    log "=== $name"
    lab_up
    if [[ $family == ipv4 ]]; then
        add_frr_macvlan "vrrp4-2-$VRID" "$VMAC4" 192.0.2.100/24
        vip_line="vrrp $VRID ip 192.0.2.100"
    else
        add_frr_macvlan "vrrp6-2-$VRID" "$VMAC6" 2001:db8::100/64
        vip_line="vrrp $VRID ipv6 2001:db8::100"
    fi
    await_dad
    # Private config, pid, zserv and vty socket paths; daemons run as the frr user.
    FRR_DIR="$WORK/frr-$name"
    mkdir -p "$FRR_DIR"
    echo "hostname kvv-r1" >"$FRR_DIR/zebra.conf"
    cat >"$FRR_DIR/vrrpd.conf" <<EOF
hostname kvv-r1
debug vrrp
interface $ROUTER_IF
 vrrp $VRID version $version
 vrrp $VRID priority 200
 vrrp $VRID advertisement-interval $interval_ms
 $vip_line
EOF
    cp "$FRR_DIR/vrrpd.conf" "$OUT_DIR/logs/$name.vrrpd.conf"
    chown -R frr:frr "$FRR_DIR"
    capture_start "$raw"
    start_bg "$OUT_DIR/logs/$name.zebra.log" ip netns exec "$R1_NS" /usr/lib/frr/zebra \
        -f "$FRR_DIR/zebra.conf" -i "$FRR_DIR/zebra.pid" -z "$FRR_DIR/zserv.api" \
        --vty_socket "$FRR_DIR" -P 0 --log stdout
    zebra_pid=$BG_PID
    await_text "$OUT_DIR/logs/$name.zebra.log" 'starting: vty' 'zebra to start' "$zebra_pid"
    # zebra creates the zserv socket once it listens; vrrpd would retry, but waiting
    # for it keeps the daemon log clean.
    local deadline=$((SECONDS + SETTLE_TIMEOUT_S))
    until [[ -S $FRR_DIR/zserv.api ]]; do
        ((SECONDS < deadline)) || die "zebra did not create $FRR_DIR/zserv.api"
        sleep 0.05
    done
    waiter_start adverts "$(vrrp_filter "$family")" "$min_adverts"
    local adverts_waiter=$WAITER_PID
    waiter_start announcements "$(announce_filter "$family")" 1
    local announce_waiter=$WAITER_PID
    start_bg "$OUT_DIR/logs/$name.vrrpd.log" ip netns exec "$R1_NS" /usr/lib/frr/vrrpd \
        -f "$FRR_DIR/vrrpd.conf" -i "$FRR_DIR/vrrpd.pid" -z "$FRR_DIR/zserv.api" \
        --vty_socket "$FRR_DIR" -P 0 --log stdout
    vrrpd_pid=$BG_PID
    waiter_finish "$adverts_waiter" "$min_adverts adverts"
    waiter_finish "$announce_waiter" "1 gratuitous ARP / unsolicited NA"
    frr_vtysh -c "show vrrp" >"$OUT_DIR/logs/$name.show-vrrp.txt"
    waiter_start prio0 "$(prio0_filter "$family")" 1
    local prio0_waiter=$WAITER_PID
    frr_vtysh -c "configure terminal" -c "interface $ROUTER_IF" -c "vrrp $VRID shutdown"
    waiter_finish "$prio0_waiter" "priority-0 advert"
    capture_stop_after_prio0 "$raw"
    stop_pid "$vrrpd_pid" TERM 10
    stop_pid "$zebra_pid" TERM 10
    lab_down
    finish_pcap "$name" "$raw"
}

run_case() {
    case $1 in
    keepalived-v2-ipv4) run_keepalived_case "$1" 2 1 ipv4 192.0.2.100/24 6 ;;
    keepalived-v3-ipv4)
        run_keepalived_case "$1" 3 0.1 ipv4 192.0.2.100/24 20
        python3 "$SCRIPT_DIR/rfc9568_variant.py" "$OUT_DIR/$1.hex" "$OUT_DIR/$1-rfc9568.hex"
        ;;
    keepalived-v3-ipv6) run_keepalived_case "$1" 3 0.1 ipv6 2001:db8::100/64 20 ;;
    frr-v2-ipv4) run_frr_case "$1" 2 1000 ipv4 5 ;;
    frr-v3-ipv4) run_frr_case "$1" 3 100 ipv4 20 ;;
    frr-v3-ipv6) run_frr_case "$1" 3 100 ipv6 20 ;;
    *) die "unknown case '$1'" ;;
    esac
}

((EUID == 0)) || die "must run as root (namespaces, tcpdump)"
for tool in ip tcpdump tshark editcap capinfos keepalived vtysh python3 timeout; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
for ns in "$BR_NS" "$R1_NS"; do
    # Refuse to clobber a lab someone else is running right now.
    if ip netns list | grep -qw "$ns"; then
        die "namespace $ns already exists; delete it (ip netns del $ns) if it is stale"
    fi
done
mkdir -p "$OUT_DIR/logs"
if (($# == 0)); then
    set -- keepalived-v2-ipv4 keepalived-v3-ipv4 keepalived-v3-ipv6 \
        frr-v2-ipv4 frr-v3-ipv4 frr-v3-ipv6
fi
for case_name in "$@"; do run_case "$case_name"; done
log "done: $*"
