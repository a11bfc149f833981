#!/usr/bin/env bash
# keepvip demo: two agents in network namespaces share the virtual IP 192.0.2.100. A client
# pings it while the master is killed; you see the backup take over, the outage the client saw,
# and the old master take the address back when it returns. Needs root; touches no host
# interface (everything lives in namespaces named kvdemo-*, removed at exit).
set -euo pipefail
cd "$(dirname "$0")/.."
VIP=192.0.2.100
LAB=kvdemo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[[ $(id -u) == 0 ]] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
scripts/install-deps.sh demo

say "Building keepvip"
cargo build --quiet
BIN=$PWD/target/debug/keepvip

work=$(mktemp -d /tmp/keepvip-demo.XXXXXX)
pids=()
cleanup() {
    # Agents stop cleanly on SIGTERM (within a second); anything still there then is killed.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 30); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    { wait; } 2>/dev/null || true
    scripts/lab.sh down "$LAB"
    rm -rf "$work"
}
trap cleanup EXIT

# The example configs from etc/, with the notify script copied somewhere root-owned (keepvip
# refuses scripts that other users could modify).
install -m 0755 etc/notify.sh "$work/notify.sh"
sed "s#/etc/keepvip/notify.sh#$work/notify.sh#" etc/keepvip.conf >"$work/r1.conf"
sed "s#/etc/keepvip/notify.sh#$work/notify.sh#" etc/keepvip-backup.conf >"$work/r2.conf"

say "Creating the lab: routers r1 (192.0.2.1) and r2 (192.0.2.2), a client (192.0.2.200)"
scripts/lab.sh up "$LAB" 2

start_agent() { # start_agent N: runs keepvip in router N's namespace
    ip netns exec "$LAB-r$1" "$BIN" -f "$work/r$1.conf" --run-dir "$work/run$1" >>"$work/r$1.log" 2>&1 &
    pids+=($!)
    eval "agent$1=$!"
}
holder() { # who holds the VIP right now
    local i
    for i in 1 2; do
        if ip -n "$LAB-r$i" -o addr show dev eth0 | grep -q " $VIP/"; then echo "r$i"; return; fi
    done
    echo none
}
wait_holder() { # wait_holder rN SECONDS
    local deadline=$((SECONDS + $2))
    until [[ $(holder) == "$1" ]]; do
        ((SECONDS < deadline)) || { echo "timed out waiting for $1 to hold $VIP" >&2; tail -n 20 "$work"/r*.log >&2; exit 1; }
        sleep 0.05
    done
}
client_mac() { ip -n "$LAB-c" neigh show "$VIP" | awk '{print $5}'; }

say "Starting keepvip on r1 (priority 200) and r2 (priority 100), VRRPv3, adverts every 100 ms"
start_agent 1
start_agent 2
wait_holder r1 10
echo "the VIP $VIP is on $(holder)"
ip netns exec "$LAB-c" ping -c 3 -i 0.2 -W 1 "$VIP" | sed -n '2,4p'
echo "the client reaches $VIP at MAC $(client_mac) (r1 is 02:00:00:00:00:01)"

say "r1 loses power: its agent dies (SIGKILL) and its link goes dark; the client pings every 10 ms"
ip netns exec "$LAB-c" ping -D -i 0.01 -W 1 "$VIP" >"$work/ping.log" 2>&1 &
pinger=$!
pids+=("$pinger")
until grep -q 'bytes from' "$work/ping.log"; do sleep 0.05; done
sleep 1
{ kill -KILL "$agent1"; wait "$agent1"; } 2>/dev/null || true
ip -n "$LAB-r1" link set eth0 down
wait_holder r2 10
echo "r2 took over: the VIP $VIP is on $(holder); r2's agent says:"
"$BIN" --run-dir "$work/run2" status | sed 's/^/  /'
sleep 1
{ kill -INT "$pinger"; wait "$pinger"; } 2>/dev/null || true
echo "the client now reaches $VIP at MAC $(client_mac) (r2 is 02:00:00:00:00:02)"
awk -F'[][]' '/bytes from/ { t = $2 + 0; if (last && t - last > gap) gap = t - last; last = t }
    END { printf "outage seen by the client: %.0f ms (longest gap between its replies)\n", gap * 1000 }' "$work/ping.log"
echo "  the protocol: r2 waits 3 adverts + skew = 361 ms after r1's last advert, which went out"
echo "  up to 100 ms before the crash; then it adds the VIP and sends gratuitous ARPs at once"
echo "r1's agent is dead, yet its copy of the VIP does not linger: it expires by itself (vip_lease 3)"
deadline=$((SECONDS + 10))
while ip -n "$LAB-r1" -o addr show dev eth0 | grep -q " $VIP/"; do
    ((SECONDS < deadline)) || { echo "the stale VIP did not expire" >&2; exit 1; }
    sleep 0.1
done
echo "  $VIP is gone from r1"

say "r1 comes back: link up, agent started; it has the higher priority, so it preempts"
ip -n "$LAB-r1" link set eth0 up
start_agent 1
wait_holder r1 10
echo "the VIP $VIP is back on $(holder)"
for i in 1 2; do
    echo "keepvip status on r$i:"
    "$BIN" --run-dir "$work/run$i" status | sed 's/^/  /'
done

say "What the agents logged (r2)"
grep -E 'MASTER|BACKUP|FAULT|script' "$work/r2.log" | sed 's/^/  /' | tail -n 12
say "Done; cleaning up"
