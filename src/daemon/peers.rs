//! Which VRRPv3 checksum variant each peer of an instance sends over IPv4.
//!
//! keepalived and FRR include the IPv4 pseudo-header by default, RFC 9568 says not to, and
//! `v3_checksum_as_v2` (keepalived) or its FRR twin flips it. keepvip accepts both on receive;
//! remembering what each peer sends lets the operator see a mismatch (a peer that accepts only
//! its own variant drops our adverts) before it becomes a split brain. The table is bounded: a
//! flood of adverts from spoofed sources evicts the least recently heard peer instead of growing.

use std::net::IpAddr;

use log::{debug, info, warn};

use crate::wire::Checksum;

/// Peers remembered per instance; VRRP groups are a handful of routers, so 64 is generous.
pub const MAX_PEERS: usize = 64;

/// What [`PeerChecksums::observe`] learned from one accepted advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    /// The first advert from this peer (or the first since it was evicted).
    New {
        /// The peer forgotten to make room for this one, if the table was full.
        evicted: Option<IpAddr>,
    },
    /// Same variant as before.
    Unchanged,
    /// The peer switched variant (reconfigured, replaced, or a spoofer using its address).
    Changed {
        before: Checksum,
        /// How many times this peer has switched, this one included.
        switches: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Peer {
    address: IpAddr,
    variant: Checksum,
    /// Value of the table's clock when this peer was last heard; the smallest is evicted.
    heard_at: u64,
    switches: u32,
}

/// The bounded per-instance table; see the module documentation.
#[derive(Clone, Debug)]
pub struct PeerChecksums {
    peers: Vec<Peer>,
    capacity: usize,
    /// Counts observations: an order, not a time (the table never reads the clock).
    clock: u64,
    /// Peers forgotten to make room so far.
    evictions: u64,
}

impl Default for PeerChecksums {
    fn default() -> Self {
        PeerChecksums::with_capacity(MAX_PEERS)
    }
}

impl PeerChecksums {
    /// A table that remembers at most `capacity` peers (at least one).
    pub fn with_capacity(capacity: usize) -> PeerChecksums {
        PeerChecksums {
            peers: Vec::new(),
            capacity: capacity.max(1),
            clock: 0,
            evictions: 0,
        }
    }

    /// Records that `address` sent an accepted advert whose checksum verified as `variant`.
    pub fn observe(&mut self, address: IpAddr, variant: Checksum) -> Observed {
        self.clock = self.clock.wrapping_add(1);
        let clock = self.clock;
        if let Some(peer) = self.peers.iter_mut().find(|p| p.address == address) {
            peer.heard_at = clock;
            if peer.variant == variant {
                return Observed::Unchanged;
            }
            let before = peer.variant;
            peer.variant = variant;
            peer.switches = peer.switches.saturating_add(1);
            return Observed::Changed {
                before,
                switches: peer.switches,
            };
        }
        let mut evicted = None;
        if self.peers.len() >= self.capacity {
            if let Some(oldest) = self
                .peers
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| p.heard_at)
                .map(|(i, _)| i)
            {
                evicted = Some(self.peers.swap_remove(oldest).address);
                self.evictions = self.evictions.saturating_add(1);
            }
        }
        self.peers.push(Peer {
            address,
            variant,
            heard_at: clock,
            switches: 0,
        });
        Observed::New { evicted }
    }

    /// The variant `address` was last seen sending.
    #[cfg(test)]
    pub fn variant_of(&self, address: IpAddr) -> Option<Checksum> {
        self.peers
            .iter()
            .find(|p| p.address == address)
            .map(|p| p.variant)
    }

    /// How many peers were forgotten to make room; non-zero means more than the capacity of
    /// sources sent valid adverts (a misconfigured VRID shared by many routers, or spoofing).
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Every remembered peer, sorted by address (stable output for the status line).
    pub fn sorted(&self) -> Vec<(IpAddr, Checksum)> {
        let mut all: Vec<(IpAddr, Checksum)> =
            self.peers.iter().map(|p| (p.address, p.variant)).collect();
        all.sort_by_key(|(address, _)| *address);
        all
    }
}

/// Logs what one observation means for the operator: a new peer at info (with a hint when it
/// sends the other variant than `ours`), a switch at warn, the first eviction at warn. Once the
/// table has overflowed, new peers are logged at debug only, and a peer's switches after the
/// third too, so a spoofing flood cannot flood the log.
pub fn log_observation(
    instance: &str,
    peer: IpAddr,
    variant: Checksum,
    observed: Observed,
    table: &PeerChecksums,
    ours: Checksum,
) {
    match observed {
        Observed::Unchanged => {}
        Observed::Changed { before, switches } => {
            let text = format!(
                "{instance}: peer {peer} changed its VRRPv3 checksums from {} to {}",
                describe(before),
                describe(variant)
            );
            match switches {
                0..=2 => warn!("{text}"),
                3 => warn!("{text} (its further changes are logged at debug level)"),
                _ => debug!("{text}"),
            }
        }
        Observed::New { evicted } => {
            if let Some(evicted) = evicted {
                if table.evictions() == 1 {
                    warn!(
                        "{instance}: more than {} peers sent valid adverts (a VRID shared by \
                         mistake, or spoofed adverts?); forgetting the least recently heard, \
                         {evicted}, and logging new peers at debug level from now on",
                        table.capacity
                    );
                } else {
                    debug!("{instance}: forgot peer {evicted} to make room");
                }
            }
            let hint = if variant == ours {
                String::new()
            } else {
                format!(
                    "; this instance sends them {}, which a peer that accepts only its own \
                     variant drops (keepalived 2.2.7 does)",
                    describe(ours)
                )
            };
            if table.evictions() == 0 {
                info!(
                    "{instance}: peer {peer} sends VRRPv3 checksums {}{hint}",
                    describe(variant)
                );
            } else {
                debug!(
                    "{instance}: peer {peer} sends VRRPv3 checksums {}{hint}",
                    describe(variant)
                );
            }
        }
    }
}

/// How a variant reads in log lines: "VRRPv3 checksums {this}".
pub fn describe(variant: Checksum) -> &'static str {
    match variant {
        Checksum::PseudoHeader => "with the IPv4 pseudo-header",
        Checksum::Plain => "without the IPv4 pseudo-header (RFC 9568, v3_checksum_as_v2)",
    }
}

/// The short form for the SIGUSR1 status line.
pub fn short_name(variant: Checksum) -> &'static str {
    match variant {
        Checksum::PseudoHeader => "pseudo-header",
        Checksum::Plain => "plain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn peer(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[test]
    fn first_advert_is_new_then_unchanged() {
        let mut table = PeerChecksums::default();
        assert_eq!(
            table.observe(peer(2), Checksum::PseudoHeader),
            Observed::New { evicted: None }
        );
        assert_eq!(
            table.observe(peer(2), Checksum::PseudoHeader),
            Observed::Unchanged
        );
        assert_eq!(table.variant_of(peer(2)), Some(Checksum::PseudoHeader));
        assert_eq!(table.variant_of(peer(3)), None);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_switch_reports_the_previous_variant_once() {
        let mut table = PeerChecksums::default();
        table.observe(peer(2), Checksum::PseudoHeader);
        assert_eq!(
            table.observe(peer(2), Checksum::Plain),
            Observed::Changed {
                before: Checksum::PseudoHeader,
                switches: 1
            }
        );
        assert_eq!(table.observe(peer(2), Checksum::Plain), Observed::Unchanged);
        assert_eq!(table.variant_of(peer(2)), Some(Checksum::Plain));
        assert_eq!(
            table.observe(peer(2), Checksum::PseudoHeader),
            Observed::Changed {
                before: Checksum::Plain,
                switches: 2
            }
        );
    }

    #[test]
    fn peers_are_tracked_independently() {
        let mut table = PeerChecksums::default();
        table.observe(peer(2), Checksum::PseudoHeader);
        assert_eq!(
            table.observe(peer(3), Checksum::Plain),
            Observed::New { evicted: None }
        );
        assert_eq!(
            table.observe(peer(2), Checksum::PseudoHeader),
            Observed::Unchanged
        );
        assert_eq!(
            table.sorted(),
            vec![
                (peer(2), Checksum::PseudoHeader),
                (peer(3), Checksum::Plain)
            ]
        );
    }

    #[test]
    fn a_full_table_evicts_the_least_recently_heard() {
        let mut table = PeerChecksums::with_capacity(3);
        for last in 1..=3 {
            table.observe(peer(last), Checksum::PseudoHeader);
        }
        // Hearing peer 1 again makes peer 2 the oldest.
        table.observe(peer(1), Checksum::PseudoHeader);
        assert_eq!(
            table.observe(peer(4), Checksum::Plain),
            Observed::New {
                evicted: Some(peer(2))
            }
        );
        assert_eq!(table.len(), 3);
        assert_eq!(table.variant_of(peer(2)), None);
        // An evicted peer that comes back is new again.
        assert_eq!(
            table.observe(peer(2), Checksum::PseudoHeader),
            Observed::New {
                evicted: Some(peer(3))
            }
        );
    }

    #[test]
    fn a_spoofing_flood_cannot_grow_the_table() {
        let mut table = PeerChecksums::default();
        // A real peer, then thousands of spoofed sources.
        table.observe(peer(2), Checksum::PseudoHeader);
        let mut evictions = 0;
        for i in 0..10_000u32 {
            let spoofed = IpAddr::V4(Ipv4Addr::from(0xc633_6400 + i));
            if let Observed::New { evicted: Some(_) } = table.observe(spoofed, Checksum::Plain) {
                evictions += 1;
            }
            assert!(table.len() <= MAX_PEERS);
        }
        assert_eq!(table.len(), MAX_PEERS);
        assert_eq!(evictions, 10_000 + 1 - MAX_PEERS);
        assert_eq!(table.variant_of(peer(2)), None);
    }

    #[test]
    fn capacity_is_at_least_one() {
        let mut table = PeerChecksums::with_capacity(0);
        table.observe(peer(2), Checksum::Plain);
        assert_eq!(
            table.observe(peer(3), Checksum::Plain),
            Observed::New {
                evicted: Some(peer(2))
            }
        );
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn log_words() {
        assert_eq!(
            describe(Checksum::PseudoHeader),
            "with the IPv4 pseudo-header"
        );
        assert!(describe(Checksum::Plain).starts_with("without"));
        assert_eq!(short_name(Checksum::Plain), "plain");
    }
}
