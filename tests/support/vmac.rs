//! Lab helpers for virtual MAC tests: interfaces other than eth0, per-interface sysctls, and a
//! capture that shows link-layer addresses (`tcpdump -e`).

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::net::{parse_addrs, IfAddr};
use super::{checked, output, Helper, Lab};

/// One frame as `tcpdump -tt -n -e` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFrame {
    /// The capture time (seconds since the epoch, from `-tt`).
    pub at: Duration,
    pub src_mac: String,
    pub dst_mac: String,
    /// The network-layer source ("192.0.2.1", "fe80::1"), or the ARP text.
    pub src: String,
    /// Everything after the addresses: "VRRPv3, Advertisement, vrid 51, prio 200, ...",
    /// "Request who-has 192.0.2.100 tell 192.0.2.100, length 28", ...
    pub what: String,
}

impl SeenFrame {
    pub fn is_vrrp(&self) -> bool {
        self.what.starts_with("VRRPv") && self.what.contains("Advertisement")
    }

    /// The `prio` of a VRRP advertisement.
    pub fn priority(&self) -> Option<u8> {
        let tokens: Vec<&str> = self.what.split_whitespace().collect();
        let at = tokens.iter().position(|t| *t == "prio")?;
        tokens.get(at + 1)?.trim_end_matches(',').parse().ok()
    }

    pub fn is_igmp(&self) -> bool {
        self.what.starts_with("igmp")
    }

    /// A gratuitous ARP (request or reply) announcing `ip`.
    pub fn is_garp_for(&self, ip: &str) -> bool {
        self.src == "ARP"
            && (self.what.contains(&format!("who-has {ip} tell {ip}"))
                || self.what.contains(&format!("Reply {ip} is-at")))
    }

    /// An unsolicited Neighbor Advertisement for `ip`.
    pub fn is_na_for(&self, ip: &str) -> bool {
        self.what.contains("neighbor advertisement") && self.what.contains(&format!("tgt is {ip}"))
    }
}

/// Parses one line of `tcpdump -tt -n -e` output (tcpdump 4.99), for example
/// `1795708067.225 00:00:5e:00:01:33 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 46:
/// 192.0.2.1 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 200, intvl 10cs, length 12` or
/// `... ethertype ARP (0x0806), length 42: Request who-has 192.0.2.100 tell 192.0.2.100, ...`.
pub fn parse_tcpdump_frame(line: &str) -> Option<SeenFrame> {
    let (link, rest) = line.split_once(": ")?;
    let mut tokens = link.split_whitespace();
    let (secs, micros) = tokens.next()?.split_once('.')?;
    let at = Duration::from_secs(secs.parse().ok()?) + Duration::from_micros(micros.parse().ok()?);
    let src_mac = tokens.next()?.to_ascii_lowercase();
    if tokens.next()? != ">" {
        return None;
    }
    let dst_mac = tokens.next()?.trim_end_matches(',').to_ascii_lowercase();
    if link.contains("ethertype ARP") {
        return Some(SeenFrame {
            at,
            src_mac,
            dst_mac,
            src: "ARP".into(),
            what: rest.to_string(),
        });
    }
    let (addresses, what) = rest.split_once(": ")?;
    let src = addresses.split_whitespace().next()?.to_string();
    Some(SeenFrame {
        at,
        src_mac,
        dst_mac,
        src,
        what: what.to_string(),
    })
}

/// tcpdump on the switch's bridge with link-layer headers.
pub struct FrameCapture {
    out: PathBuf,
}

impl FrameCapture {
    /// Every frame seen so far, in order.
    pub fn frames(&self) -> Vec<SeenFrame> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(parse_tcpdump_frame)
            .collect()
    }

    /// VRRP advertisements seen so far.
    pub fn adverts(&self) -> Vec<SeenFrame> {
        self.frames()
            .into_iter()
            .filter(SeenFrame::is_vrrp)
            .collect()
    }

    /// When `mac` sent a gratuitous ARP or an unsolicited NA for `addr`.
    pub fn announcements(&self, mac: &str, addr: &str) -> Vec<Duration> {
        self.frames()
            .into_iter()
            .filter(|f| f.src_mac == mac && (f.is_garp_for(addr) || f.is_na_for(addr)))
            .map(|f| f.at)
            .collect()
    }

    /// When `src` sent an advert with `priority`.
    pub fn advert_times(&self, src: &str, priority: u8) -> Vec<Duration> {
        self.adverts()
            .into_iter()
            .filter(|f| f.src == src && f.priority() == Some(priority))
            .map(|f| f.at)
            .collect()
    }
}

impl Lab {
    /// Starts `tcpdump -n -e` on the switch's bridge for VRRP, ARP, ICMPv6 and IGMP, and waits until
    /// it listens.
    pub fn capture_frames(&self) -> FrameCapture {
        FrameCapture {
            out: self.tcpdump_on_switch(
                "frame-capture",
                "frames on br0 (tcpdump -e)",
                &[
                    "-tt",
                    "-e",
                    "ip proto 112 or ip6 proto 112 or arp or icmp6 or igmp",
                ],
            ),
        }
    }

    /// The addresses on `router`'s interface `dev`; `None` when there is no such interface.
    pub fn dev_addresses(&self, router: u8, dev: &str) -> Option<Vec<IfAddr>> {
        let ns = self.router_ns(router);
        let out = output(Command::new("ip").args(["-n", &ns, "-o", "addr", "show", "dev", dev]));
        out.status
            .success()
            .then(|| parse_addrs(&String::from_utf8_lossy(&out.stdout)))
    }

    /// Whether `router`'s interface `dev` holds `addr`.
    pub fn dev_has_addr(&self, router: u8, dev: &str, addr: &str) -> bool {
        self.dev_addresses(router, dev)
            .is_some_and(|addrs| addrs.iter().any(|a| a.address() == addr))
    }

    /// `ip -d link show dev DEV` on `router`, or `None` when there is no such interface.
    pub fn link_details(&self, router: u8, dev: &str) -> Option<String> {
        let ns = self.router_ns(router);
        let out =
            output(Command::new("ip").args(["-n", &ns, "-d", "-o", "link", "show", "dev", dev]));
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The interface index of `router`'s `dev`, if it exists.
    pub fn link_index(&self, router: u8, dev: &str) -> Option<u32> {
        self.link_details(router, dev)?
            .split(':')
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// `ip -n rN link del DEV`.
    pub fn delete_link(&self, router: u8, dev: &str) {
        let ns = self.router_ns(router);
        checked(Command::new("ip").args(["-n", &ns, "link", "del", dev]));
    }

    /// A sysctl inside `router`'s namespace, such as `net.ipv4.conf.eth0.arp_ignore`.
    pub fn sysctl(&self, router: u8, key: &str) -> String {
        let ns = self.router_ns(router);
        checked(Command::new("ip").args(["netns", "exec", &ns, "sysctl", "-n", key]))
            .trim()
            .to_string()
    }

    /// Sets a sysctl inside `router`'s namespace.
    pub fn set_sysctl(&self, router: u8, key: &str, value: &str) {
        let ns = self.router_ns(router);
        checked(Command::new("ip").args([
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            &format!("{key}={value}"),
        ]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcpdump_link_layer_lines() {
        let advert = parse_tcpdump_frame("1795708067.225327 00:00:5e:00:01:33 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 46: 192.0.2.1 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 200, intvl 10cs, length 12").unwrap();
        assert_eq!(
            advert.at,
            Duration::from_secs(1795708067) + Duration::from_micros(225327)
        );
        assert_eq!(advert.src_mac, "00:00:5e:00:01:33");
        assert_eq!(advert.dst_mac, "01:00:5e:00:00:12");
        assert_eq!(advert.src, "192.0.2.1");
        assert!(advert.is_vrrp());
        assert_eq!(advert.priority(), Some(200));
        let garp = parse_tcpdump_frame("1795708067.225377 00:00:5e:00:01:33 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.100 tell 192.0.2.100, length 28").unwrap();
        assert!(garp.is_garp_for("192.0.2.100"));
        assert!(!garp.is_vrrp());
        let na = parse_tcpdump_frame("1795708000.000001 00:00:5e:00:02:33 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 86: 2001:db8::64 > ff02::1: ICMP6, neighbor advertisement, tgt is 2001:db8::64, length 32").unwrap();
        assert!(na.is_na_for("2001:db8::64"));
        assert_eq!(na.src, "2001:db8::64");
        let v6 = parse_tcpdump_frame("1795708000.000002 00:00:5e:00:02:33 > 33:33:00:00:00:12, ethertype IPv6 (0x86dd), length 78: fe80::1 > ff02::12: VRRPv3, Advertisement, vrid 51, prio 200, intvl 10cs, length 24").unwrap();
        assert_eq!((v6.src.as_str(), v6.priority()), ("fe80::1", Some(200)));
        assert_eq!(
            parse_tcpdump_frame("listening on br0, link-type EN10MB"),
            None
        );
    }
}
