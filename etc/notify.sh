#!/bin/sh
# Example keepvip notify script, compatible with keepalived's generic `notify`:
#   notify.sh INSTANCE|GROUP <name> MASTER|BACKUP|FAULT|STOP <priority>
# keepvip also sets KEEPVIP_INSTANCE, KEEPVIP_STATE, KEEPVIP_PREV_STATE, KEEPVIP_REASON,
# KEEPVIP_PRIORITY and KEEPVIP_VIPS. What a script prints goes to keepvip's log. Scripts of one
# instance run one at a time, in order; one that runs too long is stopped (SIGTERM, then
# SIGKILL). Keep it owned by root and not writable by anyone else (mode 0755).
kind=$1 name=$2 state=$3 priority=$4
echo "$kind $name is now $state (priority $priority; was ${KEEPVIP_PREV_STATE:-?}, reason ${KEEPVIP_REASON:-?}, VIPs ${KEEPVIP_VIPS:-?})"
case $state in
    MASTER) : ;; # e.g. systemctl start haproxy
    BACKUP|FAULT|STOP) : ;;
esac
exit 0
