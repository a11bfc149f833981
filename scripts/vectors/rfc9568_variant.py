#!/usr/bin/env python3
"""Derive RFC 9568-style VRRPv3 IPv4 vectors from a capture's .hex file.

keepalived and FRR compute the IPv4 VRRPv3 checksum over an IPv4 pseudo-header plus
the VRRP message (RFC 5798 style). The project's design notes (RFC 9568) call for the
other form to be sent when configured and accepted on receive: the checksum over the
VRRP message alone, no pseudo-header, as in VRRPv2. No peer at hand emits that form,
so this script derives it from real frames.

Usage: rfc9568_variant.py IN.hex OUT.hex

IN.hex holds one Ethernet frame per line in lowercase hex. Every IPv4 VRRPv3 frame is
written to OUT.hex with only the VRRP checksum recomputed (zero the field, checksum
the VRRP message). The IPv4 header checksum stays valid because the VRRP checksum is
payload. Frames that are not IPv4 VRRPv3 are left out. Before rewriting, each
frame's original checksum is verified against the RFC 5798 pseudo-header form, so a
wrong input is reported instead of silently turned into a plausible vector.
"""

import sys

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_VLAN = 0x8100
IP_PROTO_VRRP = 112
ETH_HEADER_LEN = 14
VRRP_HEADER_LEN = 8
VRRP_CHECKSUM_OFFSET = 6  # within the VRRP message


def ones_complement_sum(data: bytes) -> int:
    """RFC 1071 Internet checksum of data (odd length padded with a zero byte)."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def locate_ipv4_vrrp(frame: bytes):
    """Return (vrrp_start, vrrp_end, ip_start) for an IPv4 VRRP frame, else None.

    vrrp_end comes from the IPv4 total length, so Ethernet padding (if any) is not
    treated as part of the VRRP message.
    """
    offset = ETH_HEADER_LEN
    if len(frame) < offset:
        return None
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == ETHERTYPE_VLAN and len(frame) >= 18:
        ethertype = int.from_bytes(frame[16:18], "big")
        offset = 18
    if ethertype != ETHERTYPE_IPV4 or len(frame) < offset + 20:
        return None
    ip = frame[offset:]
    if ip[0] >> 4 != 4 or ip[9] != IP_PROTO_VRRP:
        return None
    header_len = (ip[0] & 0x0F) * 4
    total_len = int.from_bytes(ip[2:4], "big")
    if header_len < 20 or total_len < header_len + VRRP_HEADER_LEN or total_len > len(ip):
        raise ValueError("malformed IPv4 VRRP frame (lengths do not fit the frame)")
    return offset + header_len, offset + total_len, offset


def rewrite(frame: bytes):
    located = locate_ipv4_vrrp(frame)
    if located is None:
        return None
    vrrp_start, vrrp_end, ip_start = located
    vrrp = bytearray(frame[vrrp_start:vrrp_end])
    if vrrp[0] >> 4 != 3:
        return None  # VRRPv2 always checksums the message alone: nothing to vary
    ip = frame[ip_start:]
    pseudo_header = (
        ip[12:16] + ip[16:20] + bytes([0, IP_PROTO_VRRP]) + len(vrrp).to_bytes(2, "big")
    )
    if ones_complement_sum(pseudo_header + bytes(vrrp)) != 0:
        raise ValueError(
            "original VRRPv3 checksum does not verify with the "
            "RFC 5798 pseudo-header; is the input an unmodified capture?"
        )
    vrrp[VRRP_CHECKSUM_OFFSET:VRRP_CHECKSUM_OFFSET + 2] = b"\x00\x00"
    checksum = ones_complement_sum(bytes(vrrp))
    vrrp[VRRP_CHECKSUM_OFFSET:VRRP_CHECKSUM_OFFSET + 2] = checksum.to_bytes(2, "big")
    return frame[:vrrp_start] + bytes(vrrp) + frame[vrrp_end:]


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} IN.hex OUT.hex")
    source, target = argv[1], argv[2]
    out_lines = []
    with open(source) as f:
        for line_no, line in enumerate(f, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                frame = bytes.fromhex(text)
                rewritten = rewrite(frame)
            except ValueError as err:
                sys.exit(f"{source}:{line_no}: {err}")
            if rewritten is not None:
                out_lines.append(rewritten.hex())
    if not out_lines:
        sys.exit(f"{source}: no IPv4 VRRPv3 frames found; nothing written")
    with open(target, "w") as f:
        f.write("\n".join(out_lines) + "\n")
    print(f"{target}: {len(out_lines)} VRRPv3 frames with RFC 9568 (no pseudo-header) checksums")


if __name__ == "__main__":
    main(sys.argv)
