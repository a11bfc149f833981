# Reads one failover capture as tshark prints it (fields separated by ';'):
#   frame.time_epoch;eth.src;vrrp.prio;arp.src.proto_ipv4;arp.dst.proto_ipv4
# and prints one line of space-separated measurements (NA when absent), in milliseconds:
#   detection garp r1_after r1_prio0 r2_adverts r2_max_gap r2_bad_prio garps garp_span r1_garps other
#   r1_max_gap
# detection  r2's first advert minus r1's last advert before it (r1's priority-0 one if graceful)
# garp       r2's first gratuitous ARP for the VIP minus r2's first advert (negative: GARP first)
# r1_after   adverts from r1 seen after r2's first (r1 still talking once r2 took over)
# r1_prio0   priority-0 adverts from r1 (expected: graceful only)
# r2_max_gap longest gap between r2's consecutive adverts (compare with the advert interval)
# r2_bad_prio r2 adverts whose priority is not its configured 100
# garps      r2's gratuitous ARPs for the VIP in the capture; garp_span from the first to the last
# r1_garps   gratuitous ARPs for the VIP from r1 (expected: none; it was master before capture)
# other      VRRP packets from any other MAC
# r1_max_gap longest gap between r1's consecutive adverts before r2's first (the master's regularity)
# Variables (-v): vip, master_mac, backup_mac.
BEGIN { FS = ";" }
NR == 1 { base = int($1) }  # keep doubles small enough for microseconds
{
    t = ($1 - base) * 1000
    if ($3 != "") {
        if ($2 == master_mac) { n1++; t1[n1] = t; p1[n1] = $3 + 0 }
        else if ($2 == backup_mac) { n2++; t2[n2] = t; p2[n2] = $3 + 0 }
        else other++
    } else if ($4 == vip && $5 == vip) {
        if ($2 == backup_mac) { ng++; tg[ng] = t }
        else if ($2 == master_mac) r1_garps++
    }
}
function fmt(x) { return sprintf("%.3f", x) }
END {
    detection = garp = r2_max_gap = garp_span = r1_max_gap = "NA"
    r1_after = r1_prio0 = bad = 0
    for (i = 1; i <= n1; i++) if (p1[i] == 0) r1_prio0++
    if (n2 > 0) {
        for (i = 1; i <= n1; i++) {
            if (t1[i] <= t2[1]) last1 = t1[i]
            else r1_after++
        }
        if (last1 != "") detection = fmt(t2[1] - last1)
        if (ng > 0) { garp = fmt(tg[1] - t2[1]); garp_span = fmt(tg[ng] - tg[1]) }
        for (i = 1; i <= n2; i++) {
            if (p2[i] != 100) bad++
            if (i > 1 && (r2_max_gap == "NA" || t2[i] - t2[i - 1] > r2_max_gap)) r2_max_gap = t2[i] - t2[i - 1]
        }
        if (r2_max_gap != "NA") r2_max_gap = fmt(r2_max_gap)
    }
    for (i = 2; i <= n1; i++)
        if ((n2 == 0 || t1[i] <= t2[1]) && (r1_max_gap == "NA" || t1[i] - t1[i - 1] > r1_max_gap)) r1_max_gap = t1[i] - t1[i - 1]
    if (r1_max_gap != "NA") r1_max_gap = fmt(r1_max_gap)
    print detection, garp, r1_after, r1_prio0, n2 + 0, r2_max_gap, bad, ng + 0, garp_span, r1_garps + 0, other + 0, r1_max_gap
}
