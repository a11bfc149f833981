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
}
