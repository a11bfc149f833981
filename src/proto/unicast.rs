//! Unicast mode (keepalived's `unicast_peer`): for networks that drop multicast, adverts go to
//! each configured peer instead of the VRRP group, and what arrives is checked against the peers.
//!
//! The receive rules are keepalived 2.2.7's (`vrrp_check_packet`):
//! - The TTL / hop limit is **not** required to be 255: a unicast advert may cross routers.
//! - A unicast instance drops adverts sent to the multicast group (and a multicast instance
//!   drops unicast ones), counted as `addr_list_err`.
//! - With source checking on, an advert whose source is not a peer is dropped, and one whose
//!   TTL is outside its peer's `min_ttl`..=`max_ttl` (default 0..=255) is dropped as
//!   `ip_ttl_err`. keepalived checks sources only with `check_unicast_src` (or `min_ttl` /
//!   `max_ttl`); keepvip checks by default, counts the drop as `unicast_src_err` (keepalived
//!   counts nothing) and turns the check off only on `check_unicast_src off`.

use std::net::IpAddr;

/// One `unicast_peer` line: `ADDRESS [min_ttl N] [max_ttl N]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    pub address: IpAddr,
    /// Lowest TTL / hop limit accepted from this peer (keepalived's default 0).
    pub min_ttl: u8,
    /// Highest TTL / hop limit accepted from this peer (keepalived's default 255).
    pub max_ttl: u8,
}

impl UnicastPeer {
    /// A peer whose adverts are accepted with any TTL.
    pub fn new(address: IpAddr) -> UnicastPeer {
        UnicastPeer {
            address,
            min_ttl: 0,
            max_ttl: u8::MAX,
        }
    }
}

/// The unicast settings the state machine needs (the daemon sends to the same peers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unicast {
    /// Never empty: an instance without peers is a multicast instance.
    pub peers: Vec<UnicastPeer>,
    /// Drop adverts from non-peers and check each peer's TTL range.
    pub check_src: bool,
}

/// Why a unicast instance dropped an advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnicastDrop {
    /// Sent to the multicast group: not for a unicast instance.
    MulticastDestination,
    /// The source is not one of the configured peers.
    NotAPeer,
    /// The peer's TTL / hop limit range excludes this one.
    TtlOutOfRange { ttl: u8, min: u8, max: u8 },
}

impl Unicast {
    /// The peer with this address, if any.
    pub fn peer(&self, address: IpAddr) -> Option<&UnicastPeer> {
        self.peers.iter().find(|p| p.address == address)
    }

    /// keepalived's receive checks for a unicast instance; `dst` is the advert's IP destination.
    pub fn check(&self, src: IpAddr, dst: IpAddr, ttl: u8) -> Result<(), UnicastDrop> {
        if dst.is_multicast() {
            return Err(UnicastDrop::MulticastDestination);
        }
        if !self.check_src {
            return Ok(());
        }
        let peer = self.peer(src).ok_or(UnicastDrop::NotAPeer)?;
        if (peer.min_ttl..=peer.max_ttl).contains(&ttl) {
            Ok(())
        } else {
            Err(UnicastDrop::TtlOutOfRange {
                ttl,
                min: peer.min_ttl,
                max: peer.max_ttl,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn two_peers(check_src: bool) -> Unicast {
        Unicast {
            peers: vec![
                UnicastPeer::new(ip(2)),
                UnicastPeer {
                    address: ip(3),
                    min_ttl: 60,
                    max_ttl: 64,
                },
            ],
            check_src,
        }
    }

    #[test]
    fn peers_are_accepted_with_any_ttl_by_default() {
        let unicast = two_peers(true);
        for ttl in [0, 1, 64, 254, 255] {
            assert_eq!(unicast.check(ip(2), ip(1), ttl), Ok(()), "ttl {ttl}");
        }
    }

    #[test]
    fn a_peer_s_ttl_range_is_inclusive() {
        let unicast = two_peers(true);
        assert_eq!(unicast.check(ip(3), ip(1), 60), Ok(()));
        assert_eq!(unicast.check(ip(3), ip(1), 64), Ok(()));
        assert_eq!(
            unicast.check(ip(3), ip(1), 65),
            Err(UnicastDrop::TtlOutOfRange {
                ttl: 65,
                min: 60,
                max: 64
            })
        );
        assert_eq!(
            unicast.check(ip(3), ip(1), 59),
            Err(UnicastDrop::TtlOutOfRange {
                ttl: 59,
                min: 60,
                max: 64
            })
        );
    }

    #[test]
    fn strangers_are_dropped_only_while_checking() {
        assert_eq!(
            two_peers(true).check(ip(9), ip(1), 255),
            Err(UnicastDrop::NotAPeer)
        );
        assert_eq!(two_peers(false).check(ip(9), ip(1), 255), Ok(()));
        // Without the check, the TTL ranges are not applied either (keepalived's rule).
        assert_eq!(two_peers(false).check(ip(3), ip(1), 255), Ok(()));
    }

    #[test]
    fn multicast_destinations_are_refused_whatever_the_source() {
        let group = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
        for check_src in [true, false] {
            assert_eq!(
                two_peers(check_src).check(ip(2), group, 255),
                Err(UnicastDrop::MulticastDestination)
            );
        }
    }
}
