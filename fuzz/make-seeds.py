#!/usr/bin/env python3
"""Writes the checked-in seed corpora (fuzz/seeds/TARGET/) and the config dictionary
(fuzz/dict/config.dict) from the repository's own data: the captured adverts in tests/data, the
configuration corpus in tests/configs and the keyword tables in src/config/keywords.rs.
Run from anywhere: python3 fuzz/make-seeds.py. The formats are the targets' (see
fuzz/fuzz_targets/*.rs)."""
import hashlib
import pathlib
import re
import shutil
import struct

root = pathlib.Path(__file__).resolve().parent.parent
seeds = root / "fuzz" / "seeds"


def out(target, data):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


for target in ["wire_advert", "receive_path", "config", "notify_split"]:
    shutil.rmtree(seeds / target, ignore_errors=True)

# --- wire_advert and receive_path: the VRRP frames of the captures ---------------------------
vrrp_v4, vrrp_v6 = [], []
for hexfile in sorted((root / "tests" / "data").glob("*.hex")):
    frames = [bytes.fromhex(l.strip()) for l in hexfile.read_text().splitlines() if l.strip()]
    mine4, mine6 = [], []
    for f in frames:
        ethertype = f[12:14]
        if ethertype == b"\x08\x00" and f[14 + 9] == 112:
            mine4.append(f[14:])
        elif ethertype == b"\x86\xdd" and f[14 + 6] == 112:
            ip6 = f[14:]
            mine6.append((ip6[8:24], ip6[24:40], ip6[40:]))
    # The first, one from the middle and the last (priority 0) of each capture.
    for pick in {0, len(mine4) // 2, len(mine4) - 1} if mine4 else ():
        vrrp_v4.append(mine4[pick])
    for pick in {0, len(mine6) // 2, len(mine6) - 1} if mine6 else ():
        vrrp_v6.append(mine6[pick])

for datagram in vrrp_v4:
    out("wire_advert", b"\x00" + datagram)
    ihl = (datagram[0] & 0x0F) * 4
    out("wire_advert", b"\x01" + datagram[12:16] + datagram[16:20] + datagram[ihl:])
for src, dst, payload in vrrp_v6:
    out("wire_advert", b"\x03" + src + dst + payload)
out("wire_advert", b"\x00" + bytes(20))
out("wire_advert", b"\x01" + bytes([192, 0, 2, 1, 224, 0, 0, 18]) + bytes([0x21, 1, 100, 0, 0, 1, 0, 0]))

# receive_path: config prefix (see config() in receive_path.rs), then operations.
def rp_config(flags, vrid=51, priority=100, interval=b"\x01", vips=1, garp=0, extra=b"",
              preempt_delay=0, primary=2):
    """flags: 1 IPv6, 2 v3, 4 auth (v2), 8 unicast, 16 check_src, 32 nopreempt, 64 state MASTER."""
    return bytes([flags, vrid, priority]) + interval + bytes([vips, garp]) + extra + bytes(
        [preempt_delay, primary])

def advance(ms):
    return bytes([5]) + struct.pack(">H", ms)

def raw(datagram, src=1, ttl=255):
    datagram = datagram[:255]
    return bytes([0, len(datagram)]) + datagram + bytes([src, ttl])

def crafted(how=1, count=1, interval=b"\x01", prio=200, vrid_same=True, variant=0, flip=0):
    # how: low 2 bits source choice (0 own, 1 peer, else random next byte), 4 dst=own address,
    # 8 ttl from input, 16 other version, 32 configured auth; interval one byte for v2, two for v3.
    b = bytes([1, how])
    if how % 4 >= 2:
        b += bytes([1])
    if how & 8:
        b += bytes([255])
    b += bytes([count]) + interval
    return b + bytes([1 if vrid_same else 0, prio, variant, flip])

v2 = rp_config(0)
v3 = rp_config(2, interval=b"\x00\x0a")
v6 = rp_config(3, interval=b"\x00\x0a")
auth = rp_config(4, extra=b"secret\x00\x00" + b"\x01")
uni = rp_config(8 | 16 | 2, interval=b"\x00\x64", extra=bytes([1, 1, 0, 255]))
owner = rp_config(2, priority=255, interval=b"\x00\x64")
garp = rp_config(2, interval=b"\x00\x64", garp=1 | 2 | 4 | 16, extra=bytes([10, 2, 20, 1, 5, 1, 10]))
start = b"\x01\x01"  # not a sync member, link up
for cfg, iv in [(v2, b"\x01"), (v3, b"\x00\x0a"), (v6, b"\x00\x0a"), (auth, b"\x01"),
                (uni, b"\x00\x64"), (owner, b"\x00\x64"), (garp, b"\x00\x64")]:
    out("receive_path", cfg + start + advance(5000))
    out("receive_path", cfg + start + crafted(interval=iv) + advance(500) + crafted(interval=iv, prio=50)
        + advance(4000) + crafted(interval=iv, prio=0) + advance(4000))
    out("receive_path", cfg + start + advance(5000) + crafted(interval=iv, prio=250) + bytes([8, 1])
        + advance(1000) + bytes([8, 0]) + bytes([9, 20]) + advance(3000) + bytes([12, 1]))
    out("receive_path", cfg + start + crafted(how=35, interval=iv) + bytes([13, 150, 1, 0, 2, 0])
        + advance(3000) + bytes([10, 1, 0]) + advance(3000) + bytes([10, 0, 0]) + advance(3000))
for datagram in vrrp_v4:
    version = datagram[(datagram[0] & 0x0F) * 4] >> 4
    cfg = v2 if version == 2 else rp_config(2, interval=b"\x00\x0a")
    out("receive_path", cfg + start + raw(datagram) + advance(3000) + raw(datagram))
for src, dst, payload in vrrp_v6:
    out("receive_path", v6 + start + raw(payload, src=src[-1]) + advance(3000))

# --- config: the configuration corpus --------------------------------------------------------
configs = root / "tests" / "configs"
for conf in sorted(configs.glob("*.conf")):
    out("config", conf.read_text())
for tree in sorted(p for p in configs.iterdir() if p.is_dir()):
    main = (tree / "keepalived.conf").read_text()
    parts = [main] + [p.read_text() for p in sorted((tree / "conf.d").glob("*.conf"))]
    out("config", "\0".join(parts))
out("config", """$IF=eth0
$VI=\\
vrrp_instance VI_$N {\\
  interface $IF\\
  virtual_router_id $N\\
  priority ${_RANDOM 1 254}\\
  virtual_ipaddress { 192.0.2.$N/24 dev $IF }\\
}
~SEQ(N, 1, 3) $VI
~LST({a, b}, {10, x}, {11, y}) ! $a $b
@fuzz global_defs { router_id r1 }
@^fuzz global_defs { router_id r2 }
""")
out("config", """vrrp_script chk { script "/bin/true" interval 2 weight -20 }
track_file f { file "/run/f" weight 1 init_file 0 overwrite }
vrrp_sync_group G { group { A B } notify "/bin/echo \\"x y\\"" }
vrrp_instance A { interface eth0 virtual_router_id 1 priority 100 advert_int 1
  authentication { auth_type PASS auth_pass secret }
  unicast_src_ip 192.0.2.1 unicast_peer { 192.0.2.2 min_ttl 1 max_ttl 255 }
  track_script { chk } track_file { f weight -10 } track_interface { eth1 weight 5 }
  virtual_ipaddress { 192.0.2.100/24 brd + dev eth0 scope global label eth0:1 }
  virtual_ipaddress_excluded { 192.0.2.200 } notify_master "/bin/echo 'a b' \\\\x41" root root }
vrrp_instance B { interface eth0 virtual_router_id 2 priority 100 version 3 advert_int 0.5
  use_vmac vrrp.2 vmac_xmit_base virtual_ipaddress { 192.0.2.101 } }
""")
out("config", "include conf.d/*.conf\n\0vrrp_instance X { interface eth0 virtual_router_id 9 virtual_ipaddress { 192.0.2.9 } }\n\0include 1.conf\n")
out("config", "vrrp_instance V6 { interface eth0 virtual_router_id 7 version 3 virtual_ipaddress { 2001:db8::7/64 } }\n")
out("config", "global_defs {\n vrrp_mcast_group4 224.0.0.18 vrrp_mcast_group6 ff02::12 script_user nobody\n}\n\"unterminated\n{ } } { ${X\n")

# The dictionary: every keyword keepvip's tables know, and the preprocessor's syntax.
words = sorted(set(re.findall(r'\b(?:imp|ign|no)\(\s*"([^"]+)"', (root / "src/config/keywords.rs").read_text())))
syntax = ["{", "}", "\"", "'", "!", "#", "\\", "$", "${", "~SEQ(", "~SEQx(", "~LST(", "@", "@^",
          "${_PWD}", "${_INSTANCE}", "${_RANDOM", "${_HASH}", "${_BANG}", "include", "conf.d/*.conf",
          "192.0.2.1", "2001:db8::1", "/24", "dev", "brd", "scope", "label", "MASTER", "BACKUP",
          "PASS", "AH", "weight", "reverse"]
with open(root / "fuzz" / "dict" / "config.dict", "w") as f:
    f.write("# Generated by fuzz/make-seeds.py from src/config/keywords.rs.\n")
    for w in words + syntax:
        f.write('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"\n')

# --- notify_split: command strings -----------------------------------------------------------
for cmd in [
    "/etc/keepvip/notify.sh", "/usr/bin/notify.sh \"two words\" it\\'s 'a\\tb'",
    "/bin/echo a\"b c\"d", "\"\"", "/x \\x41\\x4a\\x4B", "/x \\101\\7\\0", "/x \\cA\\c", "/x \\E\\a\\b\\f\\n\\r\\t\\v",
    "  \t/x   y\n z  ", "/x 'unterminated", "/x \"also", "/x \\", "/x \\x", "/x \\xff", "/x \\303\\251",
    "/x é ü 日本", "/bin/sh -c 'echo $1' -- \"$2\"", "'/opt/my scripts/run.sh' MASTER", "\\ /x", "/x ''\"\"''",
    "/x \\'\\\"\\\\", "/x \"a'b\" 'c\"d'", "\x0b\x0c", "", "/x \\c\\", "/x \\1234",
]:
    out("notify_split", cmd)
print("seeds written to", seeds)
