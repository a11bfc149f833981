# Turns the per-run results of bench-failover.sh into tables: scenario x config, one column group
# per implementation side by side. Input lines (space-separated, NA when absent):
#   impl scenario config rep interval_ms bound_ms status
#   detection garp r1_after r1_prio0 r2_adverts r2_max_gap r2_bad_prio garps garp_span r1_garps other
#   r1_max_gap outage replies dups r2_start_master
# Variables (-v): scenarios, configs, impls (space-separated, in display order); tolerance_ms.
function sort_values(list, out,    n, i, j, x) {  # numeric insertion sort of a space list; skips NA
    n = 0
    split(list, raw, " ")
    for (i = 1; i in raw; i++) if (raw[i] != "NA") out[++n] = raw[i] + 0
    for (i = 2; i <= n; i++) {
        x = out[i]
        for (j = i - 1; j >= 1 && out[j] > x; j--) out[j + 1] = out[j]
        out[j + 1] = x
    }
    return n
}
function p50(list,    v, n) { n = sort_values(list, v); return n ? v[int((n + 1) / 2)] : "NA" }  # nearest rank
function max(list,    v, n) { n = sort_values(list, v); return n ? v[n] : "NA" }
function worst_abs(list,    v, n, i, w) {
    n = sort_values(list, v)
    if (!n) return "NA"
    w = v[1]
    for (i = 2; i <= n; i++) if ((v[i] < 0 ? -v[i] : v[i]) > (w < 0 ? -w : w)) w = v[i]
    return w
}
function num(x, f) { return x == "NA" ? "n/a" : sprintf(f, x) }
function within(x, limit) { return x == "NA" ? "n/a" : ((x < 0 ? -x : x) <= limit ? "PASS" : "MISS") }
# header TITLE BOUND C1 C2 C3 VERDICT: the column names line up with the rows printed below.
function header(title, bound_name, c1, c2, c3, verdict,    i) {
    printf "\n%s\n%-10s %-9s %9s", title, "", "", ""
    for (i = 1; i <= nimpl; i++) printf " | %-36s", impl[i]
    printf "\n%-10s %-9s %9s", "scenario", "config", bound_name
    for (i = 1; i <= nimpl; i++) printf " | %5s %8s %8s %7s %-4s", "ok/n", c1, c2, c3, verdict
    printf "\n"
}
{
    key = $2 SUBSEP $3 SUBSEP $1
    bound[$2, $3] = $6
    runs[key]++
    if ($7 != "ok") { failed[key]++; next }
    detection[key] = detection[key] " " $8
    delta[key] = delta[key] " " ($8 == "NA" ? "NA" : $8 - $6)
    garp[key] = garp[key] " " $9
    r1_after[key] = r1_after[key] " " $10
    r1_prio0[key] = r1_prio0[key] " " $11
    r2_gap[key] = r2_gap[key] " " $13
    r2_bad[key] = r2_bad[key] " " $14
    garps[key] = garps[key] " " $15
    garp_span[key] = garp_span[key] " " $16
    r1_garps[key] = r1_garps[key] " " $17
    r1_gap[key] = r1_gap[key] " " $19
    outage[key] = outage[key] " " $20
    dups[key] = dups[key] " " $22
    start_master[key] += $23
}
END {
    nsc = split(scenarios, scenario, " "); ncf = split(configs, config, " "); nimpl = split(impls, impl, " ")
    header("Detection, ms: r1's last advert -> r2's first advert. Target: |p50 - bound| <= " tolerance_ms " ms",
        "bound", "p50", "max", "p50-bnd", "")
    for (s = 1; s <= nsc; s++) for (c = 1; c <= ncf; c++) {
        if (!((scenario[s], config[c]) in bound)) continue
        printf "%-10s %-9s %9.1f", scenario[s], config[c], bound[scenario[s], config[c]]
        for (i = 1; i <= nimpl; i++) {
            k = scenario[s] SUBSEP config[c] SUBSEP impl[i]
            d = p50(delta[k])
            printf " | %2d/%-2d %8s %8s %7s %-4s", runs[k] - failed[k], runs[k], num(p50(detection[k]), "%.1f"),
                num(max(detection[k]), "%.1f"), num(d, "%+.1f"), within(d, tolerance_ms)
        }
        printf "\n"
    }
    header("First gratuitous ARP for the VIP after r2's first advert, ms (negative: GARP went first).\n" \
        "Target: every run within " tolerance_ms " ms (worst = the run farthest from 0)", "target", "p50", "max", "worst", "")
    for (s = 1; s <= nsc; s++) for (c = 1; c <= ncf; c++) {
        if (!((scenario[s], config[c]) in bound)) continue
        printf "%-10s %-9s %9s", scenario[s], config[c], "0"
        for (i = 1; i <= nimpl; i++) {
            k = scenario[s] SUBSEP config[c] SUBSEP impl[i]
            w = worst_abs(garp[k])
            printf " | %2d/%-2d %8s %8s %7s %-4s", runs[k] - failed[k], runs[k], num(p50(garp[k]), "%.3f"),
                num(max(garp[k]), "%.3f"), num(w, "%+.3f"), within(w, tolerance_ms)
        }
        printf "\n"
    }
    header("Client outage, ms: longest gap between ping replies (ping every " ping_ms " ms). For reference: the\n" \
        "detection bound; a crash strikes at a random moment after the last advert, so expect bound - interval .. bound",
        "bound", "p50", "max", "", "")
    for (s = 1; s <= nsc; s++) for (c = 1; c <= ncf; c++) {
        if (!((scenario[s], config[c]) in bound)) continue
        printf "%-10s %-9s %9.1f", scenario[s], config[c], bound[scenario[s], config[c]]
        for (i = 1; i <= nimpl; i++) {
            k = scenario[s] SUBSEP config[c] SUBSEP impl[i]
            printf " | %2d/%-2d %8s %8s %7s %-4s", runs[k] - failed[k], runs[k], num(p50(outage[k]), "%.1f"),
                num(max(outage[k]), "%.1f"), "", ""
        }
        printf "\n"
    }
    printf "\nWhat the captures held (max over runs unless noted)\n"
    printf "%-10s %-9s %-10s %6s %9s %8s %8s %8s %8s %8s %8s %5s %9s\n", "scenario", "config", "impl", "GARPs", "GARP-span",
        "r1-prio0", "r1-after", "r1-gap", "r2-gap", "r2-prio", "r1-GARP", "DUPs", "r2-master"
    printf "%-10s %-9s %-10s %6s %9s %8s %8s %8s %8s %8s %8s %5s %9s\n", "", "", "", "(p50)", "ms (p50)", "adverts", "adverts",
        "ms", "ms", "!=100", "", "ping", "at start"
    for (s = 1; s <= nsc; s++) for (c = 1; c <= ncf; c++) for (i = 1; i <= nimpl; i++) {
        k = scenario[s] SUBSEP config[c] SUBSEP impl[i]
        if (!(k in runs) || runs[k] == failed[k]) continue
        printf "%-10s %-9s %-10s %6s %9s %8s %8s %8s %8s %8s %8s %5s %9s\n", scenario[s], config[c], impl[i],
            num(p50(garps[k]), "%d"), num(p50(garp_span[k]), "%.1f"), num(max(r1_prio0[k]), "%d"),
            num(max(r1_after[k]), "%d"), num(max(r1_gap[k]), "%.1f"), num(max(r2_gap[k]), "%.1f"),
            num(max(r2_bad[k]), "%d"), num(max(r1_garps[k]), "%d"), num(max(dups[k]), "%d"),
            (start_master[k] + 0) "/" (runs[k] - failed[k])
    }
    print "GARPs: r2's gratuitous ARPs for the VIP in the capture (the first burst: the second one comes"
    print "  garp_master_delay later, after the capture ends), GARP-span: first to last of them;"
    print "r1-prio0: priority-0 adverts from r1 (a graceful stop sends them); r1-after: r1 adverts after r2's"
    print "  first one; r1-gap, r2-gap: longest gap between consecutive adverts of r1 (before the failover)"
    print "  and of r2 (after it): compare with the advert interval;"
    print "r2-prio: r2 adverts with a priority other than 100; r1-GARP: gratuitous ARPs for the VIP from r1;"
    print "DUPs: duplicate ping replies (two routers answering for the VIP); r2-master at start: runs in which"
    print "  r2 was master for a moment before r1's first advert reached it (the run waits until it steps back)."
}
