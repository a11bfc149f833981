//! VRRP on the lab's wire, for the interop and IPv6 tests: a timestamped capture of IPv4 and
//! IPv6 adverts (to time a takeover to the millisecond, whatever the agents log), adverts
//! crafted by the test itself, and a few lab facts (link-local addresses, address flags, the
//! agent's counters).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::net::{IpAddr, Ipv6Addr, SocketAddrV6};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use keepvip::wire::{Addresses, Advert, Centis, Checksum, Version, MCAST_V6};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::Signal;
use socket2::{Domain, Protocol, Socket, Type};

use super::{checked, Helper, Lab};

/// One advert as `tcpdump -tt -n` prints it, with its capture time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedAdvert {
    /// Seconds since the epoch, microsecond resolution.
    pub at: f64,
    pub src: String,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
}

impl TimedAdvert {
    /// How long after `earlier` this advert was seen (zero if it was not later).
    pub fn since(&self, earlier: &TimedAdvert) -> Duration {
        Duration::from_secs_f64((self.at - earlier.at).max(0.0))
    }
}

/// Parses a line such as
/// `1764171465.123456 IP6 fe80::ff:fe00:1 > ff02::12: VRRPv3, Advertisement, vrid 51, prio 200, intvl 10cs, length 28`.
pub fn parse_timed_vrrp(line: &str) -> Option<TimedAdvert> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let after = |key: &str| -> Option<&str> {
        let i = tokens.iter().position(|t| *t == key)?;
        tokens.get(i + 1).map(|t| t.trim_end_matches([',', ':']))
    };
    let at: f64 = tokens.first()?.parse().ok()?;
    let src = after("IP").or_else(|| after("IP6"))?;
    let version = tokens
        .iter()
        .find_map(|t| t.strip_prefix("VRRPv"))?
        .trim_end_matches(',')
        .parse()
        .ok()?;
    Some(TimedAdvert {
        at,
        src: src.to_string(),
        version,
        vrid: after("vrid")?.parse().ok()?,
        priority: after("prio")?.parse().ok()?,
    })
}

/// tcpdump on the switch's bridge, IPv4 and IPv6 VRRP, with timestamps.
pub struct TimedCapture {
    out: PathBuf,
}

impl TimedCapture {
    /// Every advert seen so far, in order.
    pub fn adverts(&self) -> Vec<TimedAdvert> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(parse_timed_vrrp)
            .collect()
    }
}

/// The counters line the agent logs on SIGUSR2 for `instance`, as name -> value.
pub fn parse_counters(log: &str, instance: &str) -> Option<BTreeMap<String, u64>> {
    let prefix = format!("{instance}: ");
    let line = log
        .lines()
        .rev()
        .filter_map(|l| l.split_once(&prefix).map(|(_, rest)| rest))
        .find(|rest| rest.starts_with("advert_rcvd="))?;
    line.split_whitespace()
        .map(|pair| {
            let (name, value) = pair.split_once('=')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// A VRRPv3 IPv6 advert for `vrid` at `priority`, 0.1 s interval, for `vips`.
pub fn v6_advert(vrid: u8, priority: u8, vips: &[Ipv6Addr]) -> Advert {
    Advert {
        version: Version::V3,
        vrid,
        priority,
        interval: Centis(10),
        addresses: Addresses::V6(vips.to_vec()),
        auth: None,
    }
}

impl Lab {
    /// Starts tcpdump on the bridge for VRRP over IPv4 and IPv6 (`-tt`: epoch timestamps) and
    /// waits until it listens.
    pub fn capture_vrrp_timed(&self) -> TimedCapture {
        TimedCapture {
            out: self.tcpdump_on_switch(
                "vrrp-timed",
                "VRRP capture on br0 (IPv4 and IPv6)",
                &["-tt", "ip proto 112 or ip6 proto 112"],
            ),
        }
    }

    /// The IPv6 link-local address of eth0 in namespace `ns`.
    pub fn link_local(&self, ns: &str) -> Ipv6Addr {
        let text = checked(Command::new("ip").args([
            "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link",
        ]));
        let found = super::net::parse_addrs(&text)
            .iter()
            .find_map(|a| a.address().parse::<Ipv6Addr>().ok());
        match found {
            Some(addr) => addr,
            None => self.fail(&format!("{ns} has no IPv6 link-local address on eth0")),
        }
    }

    /// The flags `ip -o addr` prints for `addr` on `router`'s eth0 (scope, `secondary`,
    /// `dynamic`, `nodad`, `deprecated` ...), or None if the address is absent.
    pub fn addr_flags(&self, router: u8, addr: &str) -> Option<Vec<String>> {
        let ns = self.router_ns(router);
        let text =
            checked(Command::new("ip").args(["-n", &ns, "-o", "addr", "show", "dev", "eth0"]));
        let line = text.lines().find(|line| {
            line.split_whitespace()
                .any(|t| t.split('/').next() == Some(addr))
        })?;
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let start = tokens
            .iter()
            .position(|t| t.split('/').next() == Some(addr))?;
        // Flags run from after the address to the lifetimes.
        Some(
            tokens
                .iter()
                .skip(start + 1)
                .take_while(|t| **t != "valid_lft")
                .map(|t| t.trim_end_matches('\\').to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        )
    }

    /// Asks the agent on `router` for its counters (SIGUSR2) and returns those of `instance`
    /// once the new line is in its log.
    pub fn agent_counters(&self, router: u8, instance: &str) -> BTreeMap<String, u64> {
        let marker = format!("{instance}: advert_rcvd=");
        let before = self.log_text(router).matches(&marker).count();
        self.poke(router, Signal::SIGUSR2);
        self.wait_until(
            &format!("r{router}'s agent to log its counters after SIGUSR2"),
            Duration::from_secs(5),
            || self.log_text(router).matches(&marker).count() > before,
        );
        match parse_counters(&self.log_text(router), instance) {
            Some(counters) => counters,
            None => self.fail(&format!(
                "cannot parse r{router}'s counters line for {instance}"
            )),
        }
    }

    /// One counter of [`Lab::agent_counters`]; fails the test if the agent does not log it.
    pub fn agent_counter(&self, router: u8, instance: &str, name: &str) -> u64 {
        let counters = self.agent_counters(router, instance);
        match counters.get(name) {
            Some(value) => *value,
            None => self.fail(&format!(
                "r{router} logs no counter {name} for {instance}: {counters:?}"
            )),
        }
    }

    /// Asks the agent on `router` for its status (SIGUSR1) and returns the new line about
    /// `instance` (without the log prefix).
    pub fn agent_status(&self, router: u8, instance: &str) -> String {
        let marker = format!("{instance}: ");
        let is_status = |line: &&str| line.contains(&marker) && line.contains(" since ");
        let before = self.log_text(router).lines().filter(is_status).count();
        self.poke(router, Signal::SIGUSR1);
        self.wait_until(
            &format!("r{router}'s agent to log its status after SIGUSR1"),
            Duration::from_secs(5),
            || self.log_text(router).lines().filter(is_status).count() > before,
        );
        let log = self.log_text(router);
        let line = log.lines().rev().find(is_status).unwrap_or_default();
        line.split_once(&marker)
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    }

    /// Sends `advert` to ff02::12 from the client's eth0 link-local address with `hop_limit`,
    /// as a misbehaving or distant router would. The socket is opened on a thread that entered
    /// the client's namespace, so nothing leaves the lab.
    pub fn send_v6_advert_from_client(&self, advert: &Advert, hop_limit: u32) {
        let ns = self.client_ns();
        let src = self.link_local(&ns);
        let bytes = match advert.to_bytes(
            IpAddr::V6(src),
            IpAddr::V6(MCAST_V6),
            Checksum::PseudoHeader,
        ) {
            Ok(bytes) => bytes,
            Err(e) => self.fail(&format!(
                "cannot encode the test's advert {advert:?}: {e:?}"
            )),
        };
        self.send_v6_from_client(hop_limit, |send| send(&bytes).map(drop));
    }

    /// Sends `packets` round-robin to ff02::12 from the client for `duration` at about
    /// `per_second` packets a second; returns how many went out.
    pub fn flood_v6_from_client(
        &self,
        packets: &[Vec<u8>],
        per_second: u32,
        duration: Duration,
    ) -> u64 {
        let mut sent = 0u64;
        self.send_v6_from_client(255, |send| {
            let start = std::time::Instant::now();
            for packet in packets.iter().cycle() {
                let elapsed = start.elapsed();
                if elapsed >= duration {
                    break;
                }
                // Pace by the clock: ahead of the rate, wait for it to catch up.
                let due = Duration::from_secs_f64(sent as f64 / f64::from(per_second.max(1)));
                if due > elapsed {
                    std::thread::sleep(due - elapsed);
                }
                // A full socket buffer just drops the packet, as a flood would.
                if send(packet).is_ok() {
                    sent += 1;
                }
            }
            Ok(())
        });
        sent
    }

    /// Runs `body` on a thread inside the client's namespace with a raw IPv6 VRRP socket bound
    /// to its link-local address on eth0; `body` gets a function sending one packet to ff02::12.
    fn send_v6_from_client(
        &self,
        hop_limit: u32,
        body: impl FnOnce(&dyn Fn(&[u8]) -> Result<usize, String>) -> Result<(), String> + Send,
    ) {
        let ns = self.client_ns();
        let src = self.link_local(&ns);
        let netns_path = format!("/run/netns/{ns}");
        let sent = std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<(), String> {
                    let netns = File::open(&netns_path)
                        .map_err(|e| format!("cannot open {netns_path}: {e}"))?;
                    // Only this thread moves; it ends right after sending.
                    setns(&netns, CloneFlags::CLONE_NEWNET)
                        .map_err(|e| format!("setns({netns_path}) failed: {e}"))?;
                    let ifindex = nix::net::if_::if_nametoindex("eth0")
                        .map_err(|e| format!("no eth0 in {ns}: {e}"))?;
                    let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112)))
                        .map_err(|e| format!("cannot open a raw IPv6 socket: {e}"))?;
                    socket
                        .bind(&SocketAddrV6::new(src, 0, 0, ifindex).into())
                        .map_err(|e| format!("cannot bind to {src}%eth0: {e}"))?;
                    socket
                        .set_multicast_hops_v6(hop_limit)
                        .map_err(|e| format!("cannot set the hop limit: {e}"))?;
                    socket
                        .set_multicast_if_v6(ifindex)
                        .map_err(|e| format!("cannot set the multicast interface: {e}"))?;
                    socket
                        .set_multicast_loop_v6(false)
                        .map_err(|e| format!("cannot turn multicast loop off: {e}"))?;
                    let dst = SocketAddrV6::new(MCAST_V6, 0, 0, ifindex).into();
                    let send = |bytes: &[u8]| {
                        socket
                            .send_to(bytes, &dst)
                            .map_err(|e| format!("cannot send to ff02::12: {e}"))
                    };
                    body(&send)
                })
                .join()
        });
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.fail(&format!("sending the test's packets failed: {e}")),
            Err(_) => self.fail("the thread sending the test's packets panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_lines_for_both_families() {
        let v4 = "1764171465.123456 IP 192.0.2.1 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 200, intvl 10cs, length 12";
        let seen = parse_timed_vrrp(v4);
        assert_eq!(
            seen.as_ref()
                .map(|a| (a.src.as_str(), a.version, a.vrid, a.priority)),
            Some(("192.0.2.1", 3, 51, 200))
        );
        let v6 = "1764171465.223456 IP6 fe80::ff:fe00:1 > ff02::12: VRRPv3, Advertisement, vrid 51, prio 0, intvl 10cs, length 28";
        let later = parse_timed_vrrp(v6);
        assert_eq!(
            later.as_ref().map(|a| (a.src.as_str(), a.priority)),
            Some(("fe80::ff:fe00:1", 0))
        );
        let (Some(seen), Some(later)) = (seen, later) else {
            unreachable!("both parsed above");
        };
        let gap = later.since(&seen);
        assert!(
            gap > Duration::from_millis(99) && gap < Duration::from_millis(101),
            "{gap:?}"
        );
        assert_eq!(seen.since(&later), Duration::ZERO);
        assert_eq!(parse_timed_vrrp("listening on br0, link-type EN10MB"), None);
    }

    #[test]
    fn counters_line_is_the_latest_one() {
        let log = "[x INFO ] VI_1: advert_rcvd=1 ip_ttl_err=0\n\
                   [x INFO ] VI_2: advert_rcvd=9 ip_ttl_err=9\n\
                   [x INFO ] VI_1: BACKUP -> MASTER (master_down, priority 100)\n\
                   [x INFO ] VI_1: advert_rcvd=3 ip_ttl_err=1\n";
        let counters = parse_counters(log, "VI_1").unwrap_or_default();
        assert_eq!(counters.get("advert_rcvd"), Some(&3));
        assert_eq!(counters.get("ip_ttl_err"), Some(&1));
        assert_eq!(parse_counters("nothing", "VI_1"), None);
    }
}
