#!/usr/bin/env python3
"""Summarise the captures for README.md: per-file counts and `tshark -V` excerpts.

Usage: describe.py [DIR] > tshark-V.md   (DIR defaults to this script's directory)

Counts come from tshark's dissection of each CASE.pcap (not from our own parser), so
the README states what an independent decoder sees. The checksum status lines use
tshark's defaults (VRRPv3 checksum with pseudo-header) plus IPv4 header validation.
"""

import json
import os
import subprocess
import sys

CASES = [
    ("keepalived-v2-ipv4", "keepalived 2.2.7", "2", "1 s"),
    ("keepalived-v3-ipv4", "keepalived 2.2.7", "3", "100 ms"),
    ("keepalived-v3-ipv6", "keepalived 2.2.7", "3", "100 ms"),
    ("frr-v2-ipv4", "FRR vrrpd 8.4.4", "2", "1 s"),
    ("frr-v3-ipv4", "FRR vrrpd 8.4.4", "3", "100 ms"),
    ("frr-v3-ipv6", "FRR vrrpd 8.4.4", "3", "100 ms"),
]
TSHARK_OPTS = ["-o", "ip.check_checksum:TRUE"]


def tshark(pcap, *args):
    cmd = ["tshark", "-r", pcap, *TSHARK_OPTS, *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def frames(pcap):
    fields = [
        "frame.number", "frame.len", "eth.src", "eth.dst", "frame.protocols",
        "vrrp.prio", "icmpv6.type", "arp.opcode",
    ]
    args = ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for field in fields:
        args += ["-e", field]
    rows = []
    for line in tshark(pcap, *args).splitlines():
        values = line.split("\t")
        rows.append(dict(zip(fields, values + [""] * (len(fields) - len(values)))))
    return rows


def kind(row):
    protocols = row["frame.protocols"].split(":")
    if "vrrp" in protocols:
        return "prio0" if row["vrrp.prio"] == "0" else "advert"
    if "arp" in protocols:
        return "garp"
    icmp_type = row["icmpv6.type"]
    return {
        "136": "na", "134": "ra", "143": "mld", "135": "ns", "133": "rs",
    }.get(icmp_type, "igmp" if "igmp" in protocols else "other:" + row["frame.protocols"])


def excerpt(pcap, number):
    """`tshark -V` of one frame from the Ethernet layer on, without bit-level noise."""
    text = tshark(pcap, "-V", "-Y", f"frame.number=={number}")
    keep, out = False, []
    for line in text.splitlines():
        if line.startswith("Ethernet II"):
            keep = True
        if not keep:
            continue
        if "LG bit" in line or "IG bit" in line or line.strip().startswith("Address:"):
            continue
        out.append(line)
    return "\n".join(out).rstrip()


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    table = [
        "| file | sender | ver | interval | frames | adverts (prio 200) | prio-0 advert | GARPs | NAs | other frames | MACs (src > dst) by kind |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    details = []
    for name, sender, version, interval in CASES:
        pcap = os.path.join(directory, name + ".pcap")
        if not os.path.exists(pcap):
            table.append(f"| {name}.pcap | (missing) ||||||||||")
            continue
        rows = frames(pcap)
        kinds = [kind(row) for row in rows]
        count = {k: kinds.count(k) for k in set(kinds)}
        prio0 = [row["frame.number"] for row, k in zip(rows, kinds) if k == "prio0"]
        others = sorted(k for k in count if k not in ("advert", "prio0", "garp", "na"))
        other_text = ", ".join(f"{count[k]} {k.upper()}" for k in others) or "none"
        macs = {}
        for row, k in zip(rows, kinds):
            label = "advert" if k == "prio0" else k
            macs.setdefault(label, set()).add(f"{row['eth.src']} > {row['eth.dst']}")
        mac_text = "; ".join(
            f"{label}: {', '.join(sorted(pairs))}" for label, pairs in macs.items()
        )
        total = len(rows)
        prio0_text = ", ".join(f"frame {n} of {total} (hex line {n})" for n in prio0)
        table.append(
            f"| {name}.pcap | {sender} | {version} | {interval} | {total} | "
            f"{count.get('advert', 0)} | {prio0_text} | {count.get('garp', 0)} | "
            f"{count.get('na', 0)} | {other_text} | {mac_text} |"
        )
        sequence = " ".join(
            f"{row['frame.number']}:{k}" for row, k in zip(rows, kinds)
        )
        details.append(f"### {name}.pcap\n\nFrame sequence: `{sequence}`\n")
        shown = set()
        for row, k in zip(rows, kinds):
            if k in ("advert", "prio0", "garp", "na", "ra") and k not in shown:
                shown.add(k)
                details.append(
                    f"`tshark -V`, frame {row['frame.number']} ({k}):\n\n```\n"
                    + excerpt(pcap, row["frame.number"]) + "\n```\n"
                )
    print("\n".join(table))
    print()
    print("\n".join(details))


if __name__ == "__main__":
    main()
