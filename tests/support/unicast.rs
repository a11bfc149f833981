//! Harness additions for unicast tests: a switch that drops multicast (as clouds do), keepalived
//! as a peer, and reading an agent's counters.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{checked, signal_pid, tail, write_file, Helper, Lab};

/// keepalived from Debian's package (`scripts/install-deps.sh test` installs it).
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// The nftables table that makes the switch drop multicast: every IPv4 multicast frame, and
/// every IPv6 multicast frame except ICMPv6 (neighbour discovery keeps working, as it does in
/// clouds). Broadcast, hence ARP and gratuitous ARP, is untouched.
const DROP_MULTICAST: &str = "table bridge keepvip_no_multicast {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ether type ip ip daddr 224.0.0.0/4 counter drop
        ether type ip6 ip6 daddr ff00::/8 ip6 nexthdr != ipv6-icmp counter drop
    }
}
";

/// A keepalived run started by the test.
pub struct Keepalived {
    pub router: u8,
    pub log: PathBuf,
    pid: u32,
}

impl Lab {
    /// Makes the switch's bridge drop multicast between its ports (see [`DROP_MULTICAST`]).
    pub fn drop_multicast(&self) {
        let rules = self.dir().join("drop-multicast.nft");
        write_file(&rules, DROP_MULTICAST, 0o644);
        checked(
            Command::new("ip")
                .args(["netns", "exec", &self.switch_ns(), "nft", "-f"])
                .arg(&rules),
        );
    }

    /// Packets the switch dropped so far because they were multicast.
    pub fn multicast_dropped(&self) -> u64 {
        let text = checked(Command::new("ip").args([
            "netns",
            "exec",
            &self.switch_ns(),
            "nft",
            "list",
            "table",
            "bridge",
            "keepvip_no_multicast",
        ]));
        text.split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[0] == "packets")
            .filter_map(|w| w[1].parse::<u64>().ok())
            .sum()
    }

    /// The latest counters line of `instance` that the agent on `router` logs on SIGUSR2, as
    /// (name, value) pairs; sends SIGUSR2 and waits for a fresh line.
    pub fn counters(&self, router: u8, instance: &str) -> Vec<(String, u64)> {
        let prefix = format!("{instance}: advert_rcvd=");
        let count = |text: &str| text.lines().filter(|l| l.contains(&prefix)).count();
        let before = count(&self.log_text(router));
        self.poke(router, Signal::SIGUSR2);
        let line = self.wait_for(
            &format!("r{router} to log the counters of {instance}"),
            Duration::from_secs(5),
            || {
                let text = self.log_text(router);
                (count(&text) > before)
                    .then(|| {
                        text.lines()
                            .rev()
                            .find(|l| l.contains(&prefix))
                            .map(str::to_string)
                    })
                    .flatten()
            },
        );
        let start = line.find(&prefix).map_or(0, |i| i + instance.len() + 2);
        line[start..]
            .split_whitespace()
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                Some((name.to_string(), value.parse().ok()?))
            })
            .collect()
    }

    /// One counter of [`Lab::counters`]; fails the test if the agent does not log it.
    pub fn counter(&self, router: u8, instance: &str, name: &str) -> u64 {
        let counters = self.counters(router, instance);
        match counters.iter().find(|(n, _)| n == name) {
            Some((_, value)) => *value,
            None => self.fail(&format!(
                "r{router} logs no counter {name} for {instance}: {counters:?}"
            )),
        }
    }

    /// Starts keepalived 2.2.7 (VRRP only, in the foreground) on `router` with `config`.
    /// The lab stops it on drop, by PID, like its other helpers.
    pub fn start_keepalived(&self, router: u8, config: &str) -> Keepalived {
        let id = self.helpers.borrow().len();
        let conf = self.dir().join(format!("keepalived-r{router}-{id}.conf"));
        write_file(&conf, config, 0o644);
        let log = self.dir().join(format!("keepalived-r{router}-{id}.log"));
        let (stdout, stderr) = match fs::File::create(&log).and_then(|f| Ok((f.try_clone()?, f))) {
            Ok(files) => files,
            Err(e) => panic!("cannot create {}: {e}", log.display()),
        };
        let pidfile = self.dir().join(format!("keepalived-r{router}-{id}.pid"));
        let vrrp_pidfile = self
            .dir()
            .join(format!("keepalived-r{router}-{id}.vrrp.pid"));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.router_ns(router), KEEPALIVED])
            .args(["-n", "-l", "-D", "-G", "-P", "-f"])
            .arg(&conf)
            .arg("-p")
            .arg(&pidfile)
            .arg("-r")
            .arg(&vrrp_pidfile)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot start {cmd:?} (keepalived must be installed): {e}"),
        };
        let pid = child.id();
        self.helpers.borrow_mut().push(Helper {
            name: format!("keepalived r{router}"),
            child,
        });
        self.watched
            .borrow_mut()
            .push((format!("keepalived on r{router}"), log.clone()));
        Keepalived { router, log, pid }
    }

    /// SIGTERM to keepalived: its VRRP process sends priority 0 and removes its VIPs.
    pub fn stop_keepalived(&self, keepalived: &Keepalived) {
        if let Err(e) = signal_pid(keepalived.pid, Signal::SIGTERM) {
            self.fail(&format!(
                "cannot stop keepalived on r{} (pid {}): {e}",
                keepalived.router, keepalived.pid
            ));
        }
        self.wait_until(
            &format!("keepalived on r{} to exit", keepalived.router),
            Duration::from_secs(10),
            || {
                self.helpers
                    .borrow_mut()
                    .iter_mut()
                    .find(|h| h.child.id() == keepalived.pid)
                    .is_none_or(|h| !matches!(h.child.try_wait(), Ok(None)))
            },
        );
    }

    /// keepalived's log so far.
    pub fn keepalived_log(&self, keepalived: &Keepalived) -> String {
        fs::read_to_string(&keepalived.log).unwrap_or_else(|_| tail(&keepalived.log, 40))
    }
}
