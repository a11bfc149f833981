#!/usr/bin/env bash
# Scale benchmark: the cost of N instances, keepvip and keepalived side by side in one run. It prints
# numbers; it is not a test: it exits 0 whatever the numbers are, non-zero only when a run broke.
#
# Usage: scripts/bench-scale.sh [-N "255 1000"] [-w SECONDS] [--v2] [--only keepvip|keepalived] [--quick] [--keep] [--perf]
#   -N LIST   instance counts to measure (default "255 1000")
#   -w SECS   measuring window once every instance has settled (default 20)
#   --v2      VRRPv2 / advert_int 1 instead of VRRPv3 / advert_int 0.1
#   --quick   smoke run: N=50, 5 s window
#   --keep    keep the work directory (configs, logs, captures) and print its path
#   --perf    also record `perf record -g` of A and B over the window (implies --keep; costs CPU)
# Environment: KEEPVIP=path to the binary (default: target/release/keepvip, rebuilt first).
#
# Topology (namespaces ksc-*; no host interface is touched): router A (master, priority 200) and
# router B (backup, priority 100), and a switch namespace with one bridge per segment of 250 VRIDs;
# A and B have one veth (ethS) on each segment's bridge, 192.0.2.1 / 192.0.2.2. Instance (S, V) runs
# VRID V on ethS with the VIP 198.51.100.V/32: the same address repeats on other segments' interfaces
# (addresses are per interface), which keeps N unlimited inside the documentation ranges.
# The bridges are plain L2 switches: bridge-nf-call-{ip,ip6,arp}tables are off in the switch
# namespace (a veth sender pays its receivers' softirq work, so those hooks would bill both agents).
# keepalived runs as `keepalived -n -l -G -D -P -R` (console log only, as keepvip; VRRP child only)
# with the same configuration; keepvip keeps its default vip_lease (that cost is keepvip's).
# Measured over the window: CPU from /proc/PID/task/*/schedstat (all threads; keepvip: its process; keepalived: parent
# + VRRP child), per advert sent (A) and received (B, every advert of A reaches it); peak RSS
# (VmHWM; keepalived: the VRRP child, which holds the instances) and that divided by N; advert gaps
# per VRID from a capture on segment 1's bridge (p50 / p99 / max, and as multiples of the interval);
# adverts sent by the backup (should be 0); wake-ups per second (voluntary context switches, all
# threads); and CPU per instance at each N, which stays flat when cost grows linearly. Run time: about 40 s per (implementation, N).
# Needs root. Kills only the processes it started, by PID; removes its namespaces on every exit.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB=ksc

usage() { sed -n '5,12s/^# \{0,1\}//p' "$0" >&2; exit "$1"; }
die() { echo "bench-scale.sh: $*" >&2; exit 1; }

counts="255 1000"
window=20
v2=0
only=""
keep=0
perf=0
perf_pids=()
while (($#)); do
    case $1 in
        -N) [[ ${2:-} =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] || die "-N takes a list of counts, got '${2:-}'"; counts=$2; shift ;;
        -w) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "-w takes seconds, got '${2:-}'"; window=$2; shift ;;
        --v2) v2=1 ;;
        --quick) counts=50; window=5 ;;
        --only) [[ ${2:-} == keepvip || ${2:-} == keepalived ]] || die "--only takes keepvip or keepalived"; only=$2; shift ;;
        --keep) keep=1 ;;
        --perf) perf=1 keep=1 ;;
        -h | --help) usage 0 ;;
        *) echo "bench-scale.sh: unknown argument '$1'" >&2; usage 2 ;;
    esac
    shift
done
[[ $(id -u) == 0 ]] || die "needs root (it creates network namespaces)"
for command in ip tcpdump awk; do
    command -v "$command" >/dev/null 2>&1 || die "'$command' is missing: scripts/install-deps.sh bench"
done
if ((v2)); then version=2 advert_int=1 interval_ms=1000; else version=3 advert_int=0.1 interval_ms=100; fi

impls=()
if [[ $only != keepalived ]]; then
    if [[ -n ${KEEPVIP:-} ]]; then BIN=$KEEPVIP; else
        BIN=$ROOT/target/release/keepvip
        echo "building keepvip (release)" >&2
        cargo build --release --quiet
    fi
    [[ -x $BIN ]] || die "no keepvip binary at $BIN"
    impls+=(keepvip)
fi
if [[ $only != keepvip ]]; then
    KEEPALIVED=$(command -v keepalived || ls /usr/sbin/keepalived 2>/dev/null) ||
        die "keepalived is not installed (scripts/install-deps.sh bench), or use --only keepvip"
    impls+=(keepalived)
fi

pids=()
work=$(mktemp -d /tmp/ksc.XXXXXX)
namespaces() { ip netns list | awk '{print $1}' | grep -E "^$LAB-(sw|a|b)\$" || true; }
lab_down() { local ns; for ns in $(namespaces); do ip netns delete "$ns" 2>/dev/null || true; done; }
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        # Only our own children (a reaped PID may be someone else's by now).
        [[ $(ps -o ppid= -p "$pid" 2>/dev/null) -eq $$ ]] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_all
    lab_down
    if ((keep)); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[[ -z "$(namespaces)" ]] || die "namespaces $LAB-* exist already (a killed run?): ip netns delete them"

lab_up() { # lab_up SEGMENTS
    local s
    ip netns add $LAB-sw
    ip netns add $LAB-a
    ip netns add $LAB-b
    for ns in sw a b; do ip -n $LAB-$ns link set lo up; done
    # The switch is a plain L2 bridge, as a real switch is: where br_netfilter is loaded (it is
    # per namespace), bridged frames would otherwise go through iptables hooks, and a veth
    # sender pays its receivers' softirq work, so that cost would land on the agents' CPU.
    ip netns exec $LAB-sw sysctl -q -w net.bridge.bridge-nf-call-iptables=0 \
        net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true
    for s in $(seq 1 "$1"); do
        ip -n $LAB-sw link add br$s type bridge mcast_snooping 0
        ip -n $LAB-sw link set br$s up
        for r in a b; do
            ip -n $LAB-$r link add eth$s type veth peer name p$r$s netns $LAB-sw
            ip -n $LAB-sw link set p$r$s master br$s up
            ip -n $LAB-$r addr add 192.0.2.$([[ $r == a ]] && echo 1 || echo 2)/24 dev eth$s
            ip -n $LAB-$r link set eth$s up
        done
    done
}

write_config() { # write_config IMPL ROUTER N FILE
    local impl=$1 router=$2 n=$3 file=$4 i s v
    {
        echo "global_defs {"
        echo "    router_id scale-$router"
        echo "    vrrp_version $version"
        echo "}"
        for ((i = 0; i < n; i++)); do
            s=$((i / 250 + 1)) v=$((i % 250 + 1))
            echo "vrrp_instance VI_${s}_$v {"
            echo "    state $([[ $router == a ]] && echo MASTER || echo BACKUP)"
            echo "    interface eth$s"
            echo "    virtual_router_id $v"
            echo "    priority $([[ $router == a ]] && echo 200 || echo 100)"
            echo "    advert_int $advert_int"
            echo "    virtual_ipaddress {"
            echo "        198.51.100.$v/32"
            echo "    }"
            echo "}"
        done
    } >"$file"
}

start_agent() { # start_agent IMPL ROUTER DIR; sets agent_pid
    local impl=$1 router=$2 dir=$3
    if [[ $impl == keepvip ]]; then
        ip netns exec $LAB-$router "$BIN" -f "$dir/$router.conf" --run-dir "$dir/run-$router" \
            >"$dir/$router.log" 2>&1 &
    else
        ip netns exec $LAB-$router "$KEEPALIVED" -n -l -G -D -P -R -f "$dir/$router.conf" \
            -p "$dir/$router.pid" -r "$dir/$router.vrrp.pid" >"$dir/$router.log" 2>&1 &
    fi
    agent_pid=$!
    pids+=("$agent_pid")
}

# vrrp_pids IMPL PID: the processes doing the agent's work (keepalived: parent and VRRP child).
vrrp_pids() {
    echo "$2"
    if [[ $1 == keepalived ]]; then
        local child
        child=$(pgrep -P "$2" 2>/dev/null | head -n 1) || true
        [[ -n $child ]] && echo "$child"
    fi
}
# Every thread of each process (keepvip's netlink worker included).
cpu_ns() {
    local sum=0 pid task
    for pid in "$@"; do
        for task in /proc/"$pid"/task/*; do sum=$((sum + $(cut -d' ' -f1 "$task/schedstat"))); done
    done
    echo $sum
}
# Voluntary context switches of every thread: how often the agent went to sleep (wake-ups).
wakeups() {
    local sum=0 pid task
    for pid in "$@"; do
        for task in /proc/"$pid"/task/*; do
            sum=$((sum + $(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status")))
        done
    done
    echo $sum
}
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
vips_on() { ip -n $LAB-$1 -o -4 addr show 2>/dev/null | grep -c ' 198\.51\.100\.' || true; }

wait_until() { # wait_until SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
        ((SECONDS < deadline)) || { echo "bench-scale.sh: timed out waiting for $what" >&2; return 1; }
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "bench-scale.sh: agent $pid died" >&2; return 1; }; done
        sleep 0.2
    done
}
settled() { [[ $(vips_on a) -eq $1 && $(vips_on b) -eq 0 ]]; }

results=$work/results.txt
: >"$results"
measure() { # measure IMPL N
    local impl=$1 n=$2 dir=$work/$1-$2 segments=$((($2 + 249) / 250))
    mkdir -p "$dir"
    lab_up "$segments"
    write_config "$impl" a "$n" "$dir/a.conf"
    write_config "$impl" b "$n" "$dir/b.conf"
    start_agent "$impl" b "$dir"
    local b_pid=$agent_pid
    start_agent "$impl" a "$dir"
    local a_pid=$agent_pid
    wait_until 120 "A to hold all $n VIPs and B none" settled "$n" || return 1
    sleep 3 # past the start-up bursts (gratuitous ARPs, the second burst after 5 s for some)
    local a_procs b_procs
    mapfile -t a_procs < <(vrrp_pids "$impl" "$a_pid")
    mapfile -t b_procs < <(vrrp_pids "$impl" "$b_pid")
    ip netns exec $LAB-sw tcpdump -i br1 -n -s 128 -w "$dir/seg1.pcap" 'ip proto 112' 2>/dev/null &
    local cap=$!
    pids+=("$cap")
    sleep 0.5
    local a0 b0 a1 b1
    local t0 t1
    local aw0 bw0 aw1 bw1
    aw0=$(wakeups "${a_procs[@]}") bw0=$(wakeups "${b_procs[@]}")
    a0=$(cpu_ns "${a_procs[@]}") b0=$(cpu_ns "${b_procs[@]}") t0=$(date +%s.%N)
    if ((perf)); then
        local r procs
        perf_pids=()
        for r in a b; do
            if [[ $r == a ]]; then procs=$(IFS=,; echo "${a_procs[*]}"); else procs=$(IFS=,; echo "${b_procs[*]}"); fi
            perf record -q -g -F 997 -p "$procs" -o "$dir/perf-$r.data" -- sleep "$window" >/dev/null 2>&1 &
            perf_pids+=("$!")
        done
    fi
    sleep "$window"
    ((${#perf_pids[@]} == 0)) || wait "${perf_pids[@]}" 2>/dev/null || true
    perf_pids=()
    a1=$(cpu_ns "${a_procs[@]}") b1=$(cpu_ns "${b_procs[@]}") t1=$(date +%s.%N)
    aw1=$(wakeups "${a_procs[@]}") bw1=$(wakeups "${b_procs[@]}")
    local a_hwm b_hwm
    a_hwm=$(hwm_kib "${a_procs[-1]}") b_hwm=$(hwm_kib "${b_procs[-1]}")
    sleep 1 # tcpdump hands over what its ring buffer holds only this long after it arrived
    kill -INT "$cap"
    wait "$cap" 2>/dev/null || true
    local still
    still=$(settled "$n" && echo yes || echo NO)
    stop_all
    lab_down
    local seg1=$((n < 250 ? n : 250)) counts gaps
    # 1700000000.123456 IP 192.0.2.1 > 224.0.0.18: VRRPv3, Advertisement, vrid 5, prio 200, ...
    # Only what was sent inside the CPU window counts (the capture runs a little longer).
    counts=$(tcpdump -r "$dir/seg1.pcap" -tt -n 2>/dev/null | awk -v gaps="$dir/gaps.txt" -v t0="$t0" -v t1="$t1" '
        / > 224\.0\.0\.18: VRRP/ && $1 >= t0 && $1 <= t1 {
            match($0, /vrid [0-9]+/); vrid = substr($0, RSTART + 5, RLENGTH - 5)
            if ($3 == "192.0.2.2") { from_b++; next }
            if ($3 != "192.0.2.1") next
            from_a++
            if (vrid in last) printf "%.3f\n", ($1 - last[vrid]) * 1000 > gaps
            last[vrid] = $1
        }
        END { printf "%d %d\n", from_a, from_b }')
    # p50 p99 max of the gaps, ms (mawk has no sort: sort(1) does it).
    gaps=$(sort -n "$dir/gaps.txt" 2>/dev/null | awk '{ g[NR] = $1 }
        function pct(p,   k) { k = int(p * NR + 0.999999); if (k < 1) k = 1; return g[k] }
        END { if (NR) printf "%s %s %s\n", pct(0.5), pct(0.99), g[NR]; else print "0 0 0" }')
    read -r from_a from_b <<<"$counts"
    read -r p50 p99 max <<<"$gaps"
    awk -v n="$n" -v seg1="$seg1" -v impl="$impl" -v window="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v a_cpu=$((a1 - a0)) \
        -v b_cpu=$((b1 - b0)) -v a_hwm="$a_hwm" -v b_hwm="$b_hwm" -v from_a="$from_a" \
        -v from_b="$from_b" -v p50="$p50" -v p99="$p99" -v max="$max" -v still="$still" \
        -v a_wake=$((aw1 - aw0)) -v b_wake=$((bw1 - bw0)) 'BEGIN {
            # Every instance sends at the same rate: segment 1 stands for all of them.
            sent = from_a * n / seg1
            printf "%s %d %.3f %.3f %.2f %.2f %d %d %.1f %.1f %.1f %.1f %d %s %.0f %.0f\n", impl, n,
                a_cpu / 1e9, b_cpu / 1e9, sent ? a_cpu / 1e3 / sent : 0, sent ? b_cpu / 1e3 / sent : 0,
                a_hwm, b_hwm, p50, p99, max, sent / window, from_b, still, a_wake / window, b_wake / window
        }' >>"$results"
}

for n in $counts; do
    for impl in "${impls[@]}"; do
        echo "measuring $impl with $n instances ($window s window)" >&2
        measure "$impl" "$n" || die "the $impl run with $n instances broke (logs: --keep)"
    done
done

echo
echo "Scale benchmark: A master and B backup of N instances, VRRPv$version / advert_int $advert_int,"
echo "one segment per 250 VRIDs, ${window} s window. Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)."
echo "CPU in seconds over the window; per advert in microseconds (A: per sent, B: per received);"
echo "RSS = VmHWM (KiB; keepalived: its VRRP child) and per instance (VmHWM / N, KiB);"
echo "gaps between one VRID's adverts on segment 1, ms (and x interval); B adv = adverts from the backup."
awk -v interval="$interval_ms" -v window="$window" '
    { impl[NR] = $1; n[NR] = $2; for (i = 3; i <= NF; i++) f[NR, i] = $i; rows = NR }
    END {
        printf "%-10s %5s | %8s %8s | %7s %7s | %8s %8s %6s %6s | %7s %7s %7s | %5s %7s %7s %7s %s\n", "impl", "N",
            "A cpu s", "B cpu s", "A us/tx", "B us/rx", "A RSS", "B RSS", "A/inst", "B/inst",
            "gap p50", "p99", "max", "B adv", "adv/s", "A wk/s", "B wk/s", "settled"
        for (r = 1; r <= rows; r++)
            printf "%-10s %5d | %8.3f %8.3f | %7.2f %7.2f | %8d %8d %6.1f %6.1f | %7.1f %7.1f %7.1f | %5d %7.0f %7.0f %7.0f %s\n",
                impl[r], n[r], f[r,3], f[r,4], f[r,5], f[r,6], f[r,7], f[r,8], f[r,7] / n[r], f[r,8] / n[r],
                f[r,9], f[r,10], f[r,11], f[r,13], f[r,12], f[r,15], f[r,16], f[r,14]
        print ""
        printf "gaps as multiples of the interval (p99 / max), and ratios keepvip / keepalived per N:\n"
        for (r = 1; r <= rows; r++) {
            printf "  %-10s N=%-5d gap p99 %.3f x, max %.3f x\n", impl[r], n[r], f[r,10] / interval, f[r,11] / interval
            if (impl[r] == "keepvip") kv[n[r]] = r; else ka[n[r]] = r
        }
        # Linear growth means the same CPU per instance at every N.
        for (r = 1; r <= rows; r++)
            cost[impl[r]] = cost[impl[r]] sprintf(" N=%d: %.1f/%.1f", n[r], f[r,3] / n[r] * 1e6 / window, f[r,4] / n[r] * 1e6 / window)
        printf "CPU per instance, A/B, us per second (equal at every N = linear):\n"
        for (i in cost) printf "  %-10s%s\n", i, cost[i]
        for (k in kv) if (k in ka) {
            a = kv[k]; b = ka[k]
            printf "  N=%-5d master CPU %.2f, backup CPU %.2f, master RSS %.2f, backup RSS %.2f, gap p99 %.2f, max %.2f\n", k,
                f[b,3] ? f[a,3] / f[b,3] : 0, f[b,4] ? f[a,4] / f[b,4] : 0, f[a,7] / f[b,7], f[a,8] / f[b,8],
                f[b,10] ? f[a,10] / f[b,10] : 0, f[b,11] ? f[a,11] / f[b,11] : 0
        }
    }' "$results"
