# Reads `ping -D` output and prints: outage_ms replies duplicates
# outage: the longest gap between consecutive replies that ends after the failover was triggered
# (-v trigger=EPOCH seconds), i.e. what the client saw; NA if no reply came back after it.
/bytes from/ {
    if (match($0, /^\[[0-9]+\.[0-9]+\]/) == 0) next
    stamp = substr($0, 2, RLENGTH - 2)
    if (base == "") base = int(stamp)
    t = (stamp - base) * 1000
    replies++
    if (/DUP!/) dups++
    if (last != "" && t > (trigger - base) * 1000 && (gap == "" || t - last > gap)) gap = t - last
    last = t
}
END { print (gap == "" ? "NA" : sprintf("%.3f", gap)), replies + 0, dups + 0 }
