#!/usr/bin/env bash
# Failover benchmark: how fast does the backup take over, measured on the wire, for keepvip and
# (when installed) keepalived side by side. It prints numbers; it is not a test: it exits 0 whatever
# the numbers are, and non-zero only when a run broke (an agent died, a timeout, a missing tool).
#
# Usage: scripts/bench-failover.sh [-n N] [--quick] [--only keepvip|keepalived] [--keep]
#   -n N      repetitions per cell (default: 5 for the VRRPv3 configs, 3 for VRRPv2)
#   --quick   smoke run: one repetition, VRRPv3 advert_int 0.1 only
#   --only    run one implementation
#   --keep    keep the work directory (configs, logs, captures, per-run results) and print its path
# Environment: KEEPVIP=path to the binary (default: target/release/keepvip, rebuilt first).
#
# Each run: a fresh lab (scripts/lab.sh, namespaces kvb-*): r1 master (priority 200), r2 backup
# (priority 100), VIP 192.0.2.100/24, a client pinging the VIP every 5 ms. Once r1 holds the VIP and
# r2 has heard a few of its adverts as backup, tcpdump records VRRP and ARP on the switch, the
# failover is triggered, and tshark reads the capture after r2 holds the VIP for a second:
#   crash      SIGKILL of r1's agent and r1's eth0 down at once (the host dies)
#   graceful   SIGTERM of r1's agent (it sends priority 0)
#   link-down  r1's eth0 down, agent alive
# The failure strikes at a random phase between two adverts. keepalived runs as
# `keepalived -n -l -G -D -P -R` with private pid files (-G: no syslog, as keepvip, which logs to
# stderr only; without it keepalived also tries a syslog socket this machine lacks, which slowed
# its detection by 1-8 ms and made the comparison unfair; -R: no respawn of a VRRP child the crash
# killed); its config is keepvip's minus `vip_lease`.
# Needs root. Touches no host interface; kills only the processes it started, by PID.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME and ping -D print a '.' before the microseconds
cd "$(dirname "$0")/.."
ROOT=$PWD

LAB=kvb
VIP=192.0.2.100
R1_MAC=02:00:00:00:00:01
R2_MAC=02:00:00:00:00:02
PING_INTERVAL=0.005
TOLERANCE_MS=1

usage() { sed -n '6,11s/^# \{0,1\}//p' "$0" >&2; exit "$1"; }
die() { echo "bench-failover.sh: $*" >&2; exit 1; }

repetitions=""
quick=0
only=""
keep=0
while (($#)); do
    case $1 in
        -n) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "-n needs a positive count, got '${2:-}'"; repetitions=$2; shift ;;
        --quick) quick=1 ;;
        --only) [[ ${2:-} == keepvip || ${2:-} == keepalived ]] || die "--only takes keepvip or keepalived, got '${2:-}'"
            only=$2; shift ;;
        --keep) keep=1 ;;
        -h | --help) usage 0 ;;
        *) echo "bench-failover.sh: unknown argument '$1'" >&2; usage 2 ;;
    esac
    shift
done

[[ $(id -u) == 0 ]] || die "needs root (it creates network namespaces)"
for command in ip ping tcpdump tshark awk; do
    command -v "$command" >/dev/null 2>&1 || [[ -x /usr/sbin/$command ]] ||
        die "'$command' is missing: scripts/install-deps.sh test installs it (and bench installs keepalived)"
done
[[ -z "$(scripts/lab.sh names "$LAB")" ]] ||
    die "namespaces $LAB-* exist already (another run, or one that was killed): scripts/lab.sh down $LAB"

impls=()
if [[ $only != keepalived ]]; then
    if [[ -n ${KEEPVIP:-} ]]; then
        BIN=$KEEPVIP
    else
        BIN=$ROOT/target/release/keepvip
        # Always through cargo: a stale binary would measure old code.
        echo "building keepvip (release)" >&2
        (cd "$ROOT" && cargo build --release --quiet)
    fi
    [[ -x $BIN ]] || die "no keepvip binary at $BIN"
    impls+=(keepvip)
fi
if [[ $only != keepvip ]]; then
    if KEEPALIVED=$(command -v keepalived || ls /usr/sbin/keepalived 2>/dev/null); then
        impls+=(keepalived)
    elif [[ $only == keepalived ]]; then
        die "keepalived is not installed (scripts/install-deps.sh bench)"
    else
        echo "keepalived is not installed: measuring keepvip alone" >&2
    fi
fi

# Configurations: name, VRRP version, advert_int as written in the config, the same in ms.
configs=(v2-1s v3-100ms v3-20ms)
declare -A version=([v2-1s]=2 [v3-100ms]=3 [v3-20ms]=3)
declare -A advert_int=([v2-1s]=1 [v3-100ms]=0.1 [v3-20ms]=0.02)
declare -A interval_ms=([v2-1s]=1000 [v3-100ms]=100 [v3-20ms]=20)
declare -A default_repetitions=([v2-1s]=3 [v3-100ms]=5 [v3-20ms]=5)
scenarios=(crash graceful link-down)
if ((quick)); then
    configs=(v3-100ms)
    repetitions=${repetitions:-1}
fi

# The bound the backup should meet, in ms: Master_Down_Interval = 3 x interval + Skew_Time after
# the last advert; after a priority-0 advert, Skew_Time alone. Skew_Time = (256 - 100) / 256 x
# interval (v3); v2 has the same figures with the interval in whole seconds.
bound_ms() { # bound_ms SCENARIO CONFIG
    awk -v i="${interval_ms[$2]}" -v graceful="$([[ $1 == graceful ]] && echo 1 || echo 0)" \
        'BEGIN { skew = (256 - 100) * i / 256; printf "%.3f", graceful ? skew : 3 * i + skew }'
}

# alive PID: the process exists (cheap: polled while timings are measured).
alive() { kill -0 "$1" 2>/dev/null; }
# child_of PID PARENT: PID is PARENT's child. Checked before any kill: bash reaps children that
# exit, and their PID could belong to someone else by now.
child_of() { [[ $(ps -o ppid= -p "$1" 2>/dev/null) -eq $2 ]]; }
# keepalived_child PARENT: prints the PID of keepalived's VRRP child, read from its pid file and
# checked to be PARENT's child and to run our config.
keepalived_child() {
    local child
    child=$(cat "${vrrp_pidfile[$1]}" 2>/dev/null) || return 1
    [[ $child =~ ^[0-9]+$ ]] && child_of "$child" "$1" || return 1
    tr '\0' ' ' <"/proc/$child/cmdline" 2>/dev/null | grep -qF "$work/" || return 1
    echo "$child"
}
# pause SECONDS: sleeps on a FIFO nobody writes to; `read -t` forks nothing, so polling stays light
# while the timings are being measured.
pause() { read -r -t "$1" -u "$tick_fd" _ || true; }

# started PID: records a process this script started. It is disowned so that bash does not print
# "Killed" when the crash scenario kills it; bash still reaps it.
started() {
    pids+=("$1")
    disown "$1"
}
# reap PID...: waits (up to 5 s) until these processes have exited and forgets them.
reap() {
    local pid kept=() stopped=" $* " deadline=$((${EPOCHREALTIME/./} + 5000000))
    for pid in "$@"; do
        while alive "$pid" && ((${EPOCHREALTIME/./} < deadline)); do pause 0.01; done
    done
    for pid in "${pids[@]}"; do [[ $stopped == *" $pid "* ]] || kept+=("$pid"); done
    pids=("${kept[@]}")
}
# stop_all: SIGKILL everything this script started (keepalived's VRRP children first, so their
# parent cannot outlive them to respawn one), then reap it.
stop_all() {
    local pid child
    for pid in "${!vrrp_pidfile[@]}"; do
        if child=$(keepalived_child "$pid"); then kill -KILL "$child" 2>/dev/null || true; fi
    done
    for pid in "${pids[@]}"; do
        if child_of "$pid" $$; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    ((${#pids[@]} == 0)) || reap "${pids[@]}"
    vrrp_pidfile=()
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_all
    scripts/lab.sh down "$LAB" || true
    if ((keep)); then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
    exit "$status"
}

pids=()                 # every process this script started and has not seen exit yet
declare -A vrrp_pidfile # keepalived parent PID -> pid file of its VRRP child
work=$(mktemp -d /tmp/kvb.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
results=$work/results.txt
: >"$results"
mkfifo "$work/tick"
exec {tick_fd}<>"$work/tick"
began=$SECONDS
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

write_config() { # write_config IMPL CONFIG ROUTER FILE
    local impl=$1 config=$2 router=$3 file=$4
    {
        echo "global_defs {"
        echo "    router_id bench-r$router"
        echo "    vrrp_version ${version[$config]}"
        echo "}"
        echo "vrrp_instance VI_1 {"
        echo "    state $([[ $router == 1 ]] && echo MASTER || echo BACKUP)"
        echo "    interface eth0"
        echo "    virtual_router_id 51"
        echo "    priority $([[ $router == 1 ]] && echo 200 || echo 100)"
        echo "    advert_int ${advert_int[$config]}"
        echo "    virtual_ipaddress {"
        echo "        $VIP/24"
        echo "    }"
        [[ $impl == keepvip ]] && echo "    vip_lease 3"
        echo "}"
    } >"$file"
}

# start_agent IMPL ROUTER DIR: starts the agent in router's namespace; sets agent_pid (the process
# to signal: keepvip, or keepalived's parent which forwards SIGTERM to its VRRP child).
start_agent() {
    local impl=$1 router=$2 dir=$3 ns=$LAB-r$2
    if [[ $impl == keepvip ]]; then
        ip netns exec "$ns" "$BIN" -f "$dir/r$router.conf" --run-dir "$dir/run$router" >"$dir/r$router.log" 2>&1 &
        agent_pid=$!
        started "$agent_pid"
    else
        # -G: console logging only, like keepvip (see the header). -R: the parent must not respawn
        # a VRRP child that the crash scenario killed.
        ip netns exec "$ns" "$KEEPALIVED" -n -l -G -D -P -R -f "$dir/r$router.conf" -p "$dir/r$router.pid" \
            -r "$dir/r$router.vrrp.pid" >"$dir/r$router.log" 2>&1 &
        agent_pid=$!
        started "$agent_pid"
        vrrp_pidfile[$agent_pid]=$dir/r$router.vrrp.pid
    fi
}

holds_vip() { ip -n "$LAB-r$1" -o -4 addr show dev eth0 2>/dev/null | grep -qF " $VIP/"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 10 ms; fails (returns 1, run_error
# set) on timeout or as soon as a process in watch_pids (agents, capture, ping) has died.
wait_for() {
    local seconds=$1 what=$2 deadline pid
    shift 2
    deadline=$((${EPOCHREALTIME/./} + seconds * 1000000))
    until "$@" >/dev/null; do
        for pid in "${watch_pids[@]}"; do
            alive "$pid" || { run_error="pid $pid (agent, capture or ping) exited while waiting for $what"; return 1; }
        done
        if ((${EPOCHREALTIME/./} > deadline)); then
            run_error="timed out after ${seconds}s waiting for $what"
            return 1
        fi
        pause 0.01
    done
}

# last_state LOG: the last state the agent logged entering (keepvip: "A -> B", keepalived:
# "Entering B STATE").
last_state() {
    grep -oE -- '-> [A-Z]+ |Entering [A-Z]+ STATE' "$1" | tail -n 1 | grep -oE 'BACKUP|MASTER|FAULT|STOP|INIT'
}
settled_backup() { # settled_backup: r2 says it is a backup and does not hold the VIP
    [[ $(last_state "$dir/r2.log") == BACKUP ]] && ! holds_vip 2
}
captured_r1_adverts() { # captured_r1_adverts N: the switch capture holds N adverts from r1
    (($(grep -c "^[^ ]* $R1_MAC > .*VRRP" "$dir/capture.log") >= $1))
}

# run_once IMPL SCENARIO CONFIG REP: one failover; appends a line to $results. Returns 1 (with
# run_error set) when the run broke.
run_once() {
    local impl=$1 scenario=$2 config=$3 rep=$4
    local dir=$work/$impl-$scenario-$config-$rep i ms=${interval_ms[$3]}
    local r1_pid r2_pid r1_vrrp_child="" capture_pid ping_pid trigger wait_s wire client det garp r2_start_master
    mkdir -p "$dir"
    run_error=""
    watch_pids=()
    # Generous timeouts (whole seconds): a v2 election takes a few seconds; a healthy run never
    # waits this long.
    wait_s=$((5 + 5 * ms / 1000))
    for i in 1 2; do write_config "$impl" "$config" "$i" "$dir/r$i.conf"; done
    scripts/lab.sh up "$LAB" 2 || { run_error="lab.sh up failed"; return 1; }

    start_agent "$impl" 1 "$dir"; r1_pid=$agent_pid
    start_agent "$impl" 2 "$dir"; r2_pid=$agent_pid
    watch_pids=("$r1_pid" "$r2_pid")
    wait_for "$wait_s" "r1 to hold $VIP" holds_vip 1 || return 1
    # r2 may have become master for a moment if r1's first advert was slower than r2's
    # Master_Down_Interval (keepalived at 20 ms does this): wait until it has stepped back.
    wait_for "$wait_s" "r2 to be a backup without the VIP" settled_backup || return 1
    # Noted (an observation, not a failure): r2 was master for a moment at startup.
    r2_start_master=0
    grep -qE -- '-> MASTER|Entering MASTER STATE' "$dir/r2.log" && r2_start_master=1
    # "Backup for a few adverts": r2's own interface hears three more adverts from r1.
    timeout "$wait_s" ip netns exec "$LAB-r2" tcpdump -i eth0 -c 3 -nn -q "vrrp and ether src $R1_MAC" \
        >/dev/null 2>&1 || { run_error="r2 did not hear 3 adverts from r1 within ${wait_s}s"; return 1; }
    if [[ $impl == keepalived ]]; then
        # Know the VRRP child before anything is killed: the crash scenario SIGKILLs it directly.
        wait_for "$wait_s" "keepalived's VRRP child" keepalived_child "$r1_pid" || return 1
        r1_vrrp_child=$(keepalived_child "$r1_pid")
    fi

    # --print: tcpdump also prints what it writes, so the script sees r1's adverts being recorded.
    ip netns exec "$LAB-sw" tcpdump -i br0 -U -w "$dir/capture.pcap" --print -l -e -nn 'vrrp or arp' \
        >"$dir/capture.log" 2>"$dir/tcpdump.err" &
    capture_pid=$!
    started "$capture_pid"
    watch_pids+=("$capture_pid")
    wait_for 10 "tcpdump to listen on br0" grep -qs "listening on" "$dir/tcpdump.err" || return 1
    # The capture must hold r1's last advert before the failover, whatever comes next.
    wait_for "$wait_s" "the capture to record 2 adverts from r1" captured_r1_adverts 2 || return 1
    ip netns exec "$LAB-c" ping -D -n -i "$PING_INTERVAL" -W 1 "$VIP" >"$dir/ping.log" 2>&1 &
    ping_pid=$!
    started "$ping_pid"
    watch_pids+=("$ping_pid")
    wait_for 5 "the client's first ping reply" grep -qs "bytes from" "$dir/ping.log" || return 1
    # A failure strikes at a random moment between two adverts: a uniform random phase makes the
    # client outage (not the detection, which counts from the last advert) representative.
    pause "$(awk -v seed="$RANDOM" -v i="$ms" 'BEGIN { srand(seed); printf "%.3f", rand() * i / 1000 }')"

    trigger=$EPOCHREALTIME
    case $scenario in
        crash)
            if [[ $impl == keepalived ]]; then
                kill -KILL "$r1_vrrp_child" "$r1_pid"
            else
                kill -KILL "$r1_pid"
            fi
            ip -n "$LAB-r1" link set eth0 down
            ;;
        graceful) kill -TERM "$r1_pid" ;;
        link-down) ip -n "$LAB-r1" link set eth0 down ;;
    esac
    watch_pids=("$r2_pid" "$capture_pid" "$ping_pid")
    wait_for "$wait_s" "r2 to hold $VIP after the $scenario" holds_vip 2 || return 1
    sleep 1 # the window after the takeover that the capture and the client keep recording

    kill -INT "$capture_pid" "$ping_pid" 2>/dev/null || true
    reap "$capture_pid" "$ping_pid"
    stop_all
    scripts/lab.sh down "$LAB"

    tshark -r "$dir/capture.pcap" -n -Y 'vrrp || arp' -T fields -E separator=';' -E occurrence=f \
        -e frame.time_epoch -e eth.src -e vrrp.prio -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 \
        >"$dir/capture.txt" 2>"$dir/tshark.err" || { run_error="tshark could not read the capture"; return 1; }
    wire=$(awk -v vip="$VIP" -v master_mac="$R1_MAC" -v backup_mac="$R2_MAC" -f scripts/bench/capture.awk "$dir/capture.txt")
    client=$(awk -v trigger="$trigger" -f scripts/bench/ping-gap.awk "$dir/ping.log")
    echo "$impl $scenario $config $rep $ms $(bound_ms "$scenario" "$config") ok $wire $client $r2_start_master" >>"$results"
    read -r det garp _ <<<"$wire"
    printf '%s\n' "detection ${det} ms, GARP ${garp} ms, outage ${client%% *} ms" >&2
}

# The plan: interleave implementations so that slow drifts of the machine hit both alike.
total=0
for config in "${configs[@]}"; do
    total=$((total + ${#scenarios[@]} * ${#impls[@]} * ${repetitions:-${default_repetitions[$config]}}))
done
echo "bench-failover: ${total} runs (${impls[*]}; ${configs[*]}; ${scenarios[*]}); work directory $work" >&2
broken=0
done_runs=0
for config in "${configs[@]}"; do
    for scenario in "${scenarios[@]}"; do
        for ((rep = 1; rep <= ${repetitions:-${default_repetitions[$config]}}; rep++)); do
            for impl in "${impls[@]}"; do
                done_runs=$((done_runs + 1))
                printf '[%d/%d] %-10s %-9s %-10s #%d: ' "$done_runs" "$total" "$impl" "$config" "$scenario" "$rep" >&2
                if ! run_once "$impl" "$scenario" "$config" "$rep"; then
                    broken=$((broken + 1))
                    echo "BROKEN: $run_error" >&2
                    for log in "$work/$impl-$scenario-$config-$rep"/r[12].log; do
                        [[ -f $log ]] && { echo "  --- last lines of $log" >&2; tail -n 8 "$log" | sed 's/^/  /' >&2; }
                    done
                    echo "$impl $scenario $config $rep ${interval_ms[$config]} $(bound_ms "$scenario" "$config") broken" >>"$results"
                    stop_all
                    scripts/lab.sh down "$LAB"
                    keep=1
                fi
            done
        done
    done
done

echo
echo "keepvip failover benchmark: r1 master (priority 200) and r2 backup (priority 100) on one bridge,"
echo "VIP $VIP/24, garp_master_delay default. Bound: Master_Down_Interval = 3 x interval + 156/256 x interval"
echo "(crash, link-down), Skew_Time = 156/256 x interval (graceful). Times from the switch capture (tshark)."
echo "Machine: $(nproc) cores; load average at start $load_at_start, at end $(cut -d' ' -f1-3 /proc/loadavg)."
awk -v scenarios="${scenarios[*]}" -v configs="${configs[*]}" -v impls="${impls[*]}" \
    -v tolerance_ms="$TOLERANCE_MS" -v ping_ms="$(awk -v i=$PING_INTERVAL 'BEGIN { print i * 1000 }')" \
    -f scripts/bench/report.awk "$results"
echo
echo "runtime: $((SECONDS - began)) s for $total runs ($broken broken)"
((broken == 0)) || { echo "some runs broke: their logs are in $work" >&2; exit 1; }
