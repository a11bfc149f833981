#!/bin/sh
# keepvip notify_master script for clouds, where gratuitous ARP moves nothing: VRRP elects the
# master, and the master moves the service address to itself with the provider's command-line
# tool. Use it with an election-only instance (no virtual_ipaddress, VRRP version 2, unicast
# peers; see keepvip-cloud.conf):
#
#   notify_master "/etc/keepvip/cloud/move-address.sh aws-secondary-ip eni-0abc 10.0.1.10"
#
# Options, before the provider: --run-dir DIR (the agent's, default /run/keepvip), --timeout
# SECS (per cloud call, default 10), --settle SECS (before the second check, default 3), --path
# DIR (searched first for the cloud CLI and keepvip, e.g. /opt/aws/bin). keepvip gives scripts
# only a fixed PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), the locale,
# TZ and its KEEPVIP_* variables: options, not environment variables, configure this script.
#
# Providers (each needs its CLI installed and credentials for it, e.g. an instance role):
#   aws-secondary-ip ENI_ID PRIVATE_IP         aws ec2 assign-private-ip-addresses
#                                              --allow-reassignment (takes it from the peer)
#   aws-elastic-ip   ALLOCATION_ID ENI_ID      aws ec2 associate-address --allow-reassociation
#   gcp-alias-ip     ZONE THIS_VM PEER_VM IP/32 gcloud: drop the alias from the peer, add it here
#   azure-ip         RESOURCE_GROUP THIS_NIC PEER_NIC IPCONFIG IP
#                                              az: drop the ip-config from the peer, add it here
#
# Why it is safe with keepvip's hooks: an instance's scripts run one at a time, in transition
# order, so this script may start late, after the router has already lost mastership again (its
# previous script ran long). It therefore asks the agent for the instance's state *now*
# (`keepvip status`) and moves nothing unless this router is still MASTER: a late notify_master
# never steals the address back from the current master. After moving, it checks once more a
# few seconds later and, if still MASTER, asserts the move again, so a slower competing call from
# a router that just lost the election cannot win. Every cloud call has a time limit below
# keepvip's 30 s script limit. Needs root (the control socket is 0600) or script_user root.
set -u

run_dir=/run/keepvip
limit=10
settle=3
instance=${KEEPVIP_INSTANCE:-}
while [ $# -ge 2 ]; do
    case $1 in
    --run-dir) run_dir=$2 ;;
    --timeout) limit=$2 ;;
    --settle) settle=$2 ;;
    --path) PATH="$2:$PATH" ;;
    *) break ;;
    esac
    shift 2
done

say() { echo "move-address: ${instance:-?}: $*"; }

[ -n "$instance" ] || { say "KEEPVIP_INSTANCE is not set: run me as a notify_master script"; exit 2; }
[ $# -ge 1 ] || { say "usage: move-address.sh PROVIDER ARGS... (see the comments at the top)"; exit 2; }

# The instance's state now, from the agent ("MASTER", "BACKUP", ...; empty if unreachable).
state_now() {
    keepvip --run-dir "$run_dir" status "$instance" --json 2>/dev/null |
        sed -n 's/^ *"state": *"\([A-Z]*\)".*/\1/p' | head -n 1
}

still_master() {
    state=$(state_now)
    [ "$state" = MASTER ] && return 0
    say "not moving the address: the instance is ${state:-unknown (agent unreachable)} now, not MASTER"
    return 1
}

cloud() {
    say "running: $*"
    if ! timeout "$limit" "$@"; then
        say "failed or timed out after ${limit}s: $*"
        return 1
    fi
}

move() {
    provider=$1
    shift
    case $provider in
    aws-secondary-ip)
        [ $# -eq 2 ] || { say "aws-secondary-ip ENI_ID PRIVATE_IP"; exit 2; }
        cloud aws ec2 assign-private-ip-addresses --network-interface-id "$1" \
            --private-ip-addresses "$2" --allow-reassignment
        ;;
    aws-elastic-ip)
        [ $# -eq 2 ] || { say "aws-elastic-ip ALLOCATION_ID ENI_ID"; exit 2; }
        cloud aws ec2 associate-address --allocation-id "$1" --network-interface-id "$2" \
            --allow-reassociation
        ;;
    gcp-alias-ip)
        [ $# -eq 4 ] || { say "gcp-alias-ip ZONE THIS_VM PEER_VM IP/32"; exit 2; }
        # An alias lives on one VM at a time: take it from the peer (it may be down: go on).
        cloud gcloud compute instances network-interfaces update "$3" --zone "$1" \
            --aliases "" || true
        cloud gcloud compute instances network-interfaces update "$2" --zone "$1" \
            --aliases "$4"
        ;;
    azure-ip)
        [ $# -eq 5 ] || { say "azure-ip RESOURCE_GROUP THIS_NIC PEER_NIC IPCONFIG IP"; exit 2; }
        cloud az network nic ip-config delete --resource-group "$1" --nic-name "$3" \
            --name "$4" || true
        cloud az network nic ip-config create --resource-group "$1" --nic-name "$2" \
            --name "$4" --private-ip-address "$5"
        ;;
    *)
        say "unknown provider '$provider': aws-secondary-ip, aws-elastic-ip, gcp-alias-ip or azure-ip"
        exit 2
        ;;
    esac
}

still_master || exit 0
move "$@" || exit 1
sleep "$settle"
still_master || exit 0
move "$@" || exit 1
say "moved to this router"
exit 0
