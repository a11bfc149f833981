//! For the announcement and authentication tests: a timestamped capture of gratuitous ARPs,
//! unsolicited NAs and VRRP adverts on the switch, keepalived as a peer, a one-way VRRP filter
//! and the SIGUSR2 counters of an agent.

use super::*;

use std::collections::HashMap;

/// What one captured frame was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// ARP request announcing `addr` (sender and target address both `addr`).
    Garp {
        addr: String,
    },
    /// ICMPv6 neighbour advertisement for `target`.
    Na {
        target: String,
    },
    Vrrp {
        src: String,
        vrid: u8,
        priority: u8,
    },
}

/// A frame seen on br0, with tcpdump's timestamp (`-tt`: since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub at: Duration,
    pub src_mac: String,
    pub frame: Frame,
}

/// Parses one line of `tcpdump -tt -e -n`, e.g.
/// `1795708067.267590 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42:
/// Request who-has 192.0.2.100 tell 192.0.2.100, length 28`.
pub fn parse_tcpdump_frame(line: &str) -> Option<Seen> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let (secs, micros) = tokens.first()?.split_once('.')?;
    let at = Duration::from_secs(secs.parse().ok()?) + Duration::from_micros(micros.parse().ok()?);
    let src_mac = tokens.get(1)?.to_ascii_lowercase();
    let after = |key: &str| -> Option<&str> {
        let i = tokens.iter().position(|t| *t == key)?;
        tokens.get(i + 1).map(|t| t.trim_end_matches([',', ':']))
    };
    let frame = if line.contains("ethertype ARP") {
        let (asked, teller) = (after("who-has")?, after("tell")?);
        if asked != teller {
            return None;
        }
        Frame::Garp {
            addr: asked.to_string(),
        }
    } else if line.contains("neighbor advertisement") {
        Frame::Na {
            target: after("is")?.to_string(),
        }
    } else if let Some(i) = tokens.iter().position(|t| t.starts_with("VRRPv")) {
        // `SRC > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 100, ...`
        Frame::Vrrp {
            src: tokens.get(i.checked_sub(3)?)?.to_string(),
            vrid: after("vrid")?.parse().ok()?,
            priority: after("prio")?.parse().ok()?,
        }
    } else {
        return None;
    };
    Some(Seen { at, src_mac, frame })
}

/// tcpdump on br0 for announcements and IPv4 VRRP, with timestamps and MAC addresses.
pub struct FrameCapture {
    out: PathBuf,
}

impl FrameCapture {
    pub fn frames(&self) -> Vec<Seen> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(parse_tcpdump_frame)
            .collect()
    }

    /// When `mac` announced `addr` (gratuitous ARP or NA), in order.
    pub fn announcements(&self, mac: &str, addr: &str) -> Vec<Duration> {
        self.frames()
            .into_iter()
            .filter(|s| s.src_mac == mac)
            .filter(|s| match &s.frame {
                Frame::Garp { addr: a } | Frame::Na { target: a } => a == addr,
                Frame::Vrrp { .. } => false,
            })
            .map(|s| s.at)
            .collect()
    }

    /// When `src` sent an advert with `priority`, in order.
    pub fn adverts(&self, src: &str, priority: u8) -> Vec<Duration> {
        self.frames()
            .into_iter()
            .filter(|s| {
                matches!(&s.frame, Frame::Vrrp { src: a, priority: p, .. } if a == src && *p == priority)
            })
            .map(|s| s.at)
            .collect()
    }
}

impl Lab {
    /// Starts tcpdump on the switch's bridge for gratuitous ARPs, unsolicited NAs and IPv4
    /// VRRP, and waits until it is listening.
    pub fn capture_frames(&self) -> FrameCapture {
        let id = self.helpers.borrow().len();
        let out = self.dir().join(format!("frame-capture-{id}.txt"));
        let err = self.dir().join(format!("frame-capture-{id}.err"));
        let (out_file, err_file) = match (File::create(&out), File::create(&err)) {
            (Ok(o), Ok(e)) => (o, e),
            (Err(e), _) | (_, Err(e)) => panic!(
                "cannot create capture files in {}: {e}",
                self.dir().display()
            ),
        };
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.switch_ns(),
            "tcpdump",
            "-i",
            "br0",
            "-tt",
            "-e",
            "-n",
            "-l",
            "arp or (icmp6 and ip6[40] == 136) or ip proto 112",
        ])
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot start {cmd:?} (tcpdump must be installed): {e}"),
        };
        self.helpers.borrow_mut().push(Helper {
            name: "tcpdump (frames)".into(),
            child,
        });
        self.watched
            .borrow_mut()
            .push(("frames captured on br0".into(), out.clone()));
        self.watched
            .borrow_mut()
            .push(("tcpdump (frames) stderr".into(), err.clone()));
        self.wait_until("tcpdump to listen on br0", Duration::from_secs(10), || {
            fs::read_to_string(&err)
                .unwrap_or_default()
                .contains("listening on")
        });
        FrameCapture { out }
    }

    /// Makes `router` deaf to VRRP from `src` (nftables in its namespace; gone with it).
    pub fn drop_vrrp_from(&self, router: u8, src: &str) {
        self.check_router(router);
        let ns = self.router_ns(router);
        let rules = format!(
            "table inet keepvip_test {{\n  chain input {{\n    type filter hook input priority 0;\n    \
             ip saddr {src} ip protocol 112 drop\n  }}\n}}\n"
        );
        let path = self.dir().join(format!("nft-r{router}.rules"));
        write_file(&path, &rules, 0o644);
        checked(
            Command::new("ip")
                .args(["netns", "exec", &ns, "nft", "-f"])
                .arg(&path),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcpdump_frames_with_timestamps_and_macs() {
        let arp = "1795708067.267590 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.100 tell 192.0.2.100, length 28";
        assert_eq!(
            parse_tcpdump_frame(arp),
            Some(Seen {
                at: Duration::from_secs(1795708067) + Duration::from_micros(267590),
                src_mac: "02:00:00:00:00:01".into(),
                frame: Frame::Garp {
                    addr: "192.0.2.100".into()
                },
            })
        );
        let request = "1795708067.267590 02:00:00:00:00:c8 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.100 tell 192.0.2.200, length 28";
        assert_eq!(parse_tcpdump_frame(request), None);
        let na = "1795708067.418340 02:00:00:00:00:01 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86: 2001:db8::100 > ff02::1: ICMP6, neighbor advertisement, tgt is 2001:db8::100, length 32";
        assert_eq!(
            parse_tcpdump_frame(na).map(|s| s.frame),
            Some(Frame::Na {
                target: "2001:db8::100".into()
            })
        );
        let vrrp = "1795708067.368342 02:00:00:00:00:02 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 46: 192.0.2.2 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 100, intvl 10cs, length 12";
        assert_eq!(
            parse_tcpdump_frame(vrrp).map(|s| s.frame),
            Some(Frame::Vrrp {
                src: "192.0.2.2".into(),
                vrid: 51,
                priority: 100
            })
        );
        assert_eq!(parse_tcpdump_frame("listening on br0"), None);
    }
}
