//! Unicast mode on real interfaces: where adverts go, which source an IPv6 unicast instance
//! sends from, and telling the operator about adverts from strangers. The receive checks
//! themselves are protocol decisions and live in `proto::unicast`.
//!
//! Sockets: unicast instances use the same per-(interface, family) socket as multicast ones;
//! `io::vrrp_socket` explains why that socket hears unicast adverts too.

use super::*;

/// At most this many strangers per instance are remembered (and logged at `warn`); the rest are
/// logged at `debug`, so that a flood of forged sources can neither fill memory nor the log.
const MAX_STRANGERS_LOGGED: usize = 16;

impl Daemon {
    /// Where an advert of instance `idx` goes, with the TTL to send it with (`None` = 255): the
    /// VRRP group, or each unicast peer that is not an address of this host (a configuration
    /// shared by every router may list them all).
    pub(super) fn advert_destinations(
        &self,
        idx: usize,
    ) -> impl Iterator<Item = (IpAddr, Option<u8>)> + '_ {
        let spec = &self.instances[idx].spec;
        let group = match &spec.unicast {
            Some(_) => None,
            None => Some((self.multicast_group(spec.family()), None)),
        };
        let peers = spec
            .unicast
            .iter()
            .flat_map(|unicast| unicast.peers.iter())
            .filter(|peer| !self.is_local_address(peer.address))
            .map(|peer| (peer.address, spec.unicast_ttl));
        group.into_iter().chain(peers)
    }

    fn is_local_address(&self, addr: IpAddr) -> bool {
        self.addresses.is_local(addr)
    }

    /// One line at start-up describing the unicast setup of instance `idx`, if it has one.
    pub(super) fn log_unicast_setup(&self, idx: usize) {
        let spec = &self.instances[idx].spec;
        let Some(unicast) = &spec.unicast else {
            return;
        };
        let peers = unicast
            .peers
            .iter()
            .map(|p| {
                let own = if self.is_local_address(p.address) {
                    " (an address of this host: not sent to)"
                } else {
                    ""
                };
                format!("{}{own}", p.address)
            })
            .collect::<Vec<_>>()
            .join(", ");
        info!(
            "{}: unicast to {peers}, TTL {}; adverts from other sources are {}",
            spec.name,
            spec.unicast_ttl.unwrap_or(wire::VRRP_TTL),
            if unicast.check_src {
                "dropped"
            } else {
                "accepted (check_unicast_src off)"
            }
        );
    }

    /// The instance dropped an advert from `src` because it is not a unicast peer.
    pub(super) fn log_stranger(&mut self, idx: usize, src: IpAddr) {
        let running = &mut self.instances[idx];
        let first_time = running.strangers_logged.len() < MAX_STRANGERS_LOGGED
            && running.strangers_logged.insert(src);
        if first_time {
            warn!(
                "{}: dropped an advert from {src}, which is not a unicast_peer (counted as \
                 unicast_src_err; further ones are logged at debug level): list it in \
                 unicast_peer, or make it send from a listed address (unicast_src_ip)",
                running.spec.name
            );
        } else {
            debug!(
                "{}: dropped an advert from {src}: not a unicast_peer",
                running.spec.name
            );
        }
    }

    /// keepvip's source for an IPv6 unicast instance without `unicast_src_ip` whose first peer
    /// is not link-local: the interface's first usable global address, so that the source is
    /// the kind of address the peers list for us. keepalived sends from the link-local address
    /// whatever the peers are, which only works where the peer does not check sources. `None`:
    /// use the usual choice (link-local).
    pub(super) fn unicast_global_source(&self, idx: usize, ifindex: u32) -> Option<IpAddr> {
        let spec = &self.instances[idx].spec;
        let first_peer = spec.unicast.as_ref()?.peers.first()?.address;
        let IpAddr::V6(first_peer) = first_peer else {
            return None;
        };
        if spec.mcast_src_ip.is_some() || is_link_local_v6(&first_peer) {
            return None;
        }
        self.addresses
            .on(ifindex)
            .filter(|a| !self.vip_addrs.contains(&a.addr))
            .find(|a| match a.addr {
                IpAddr::V6(v6) => {
                    !is_link_local_v6(&v6)
                        && !v6.is_loopback()
                        && !a.flags.tentative()
                        && !a.flags.dad_failed()
                }
                IpAddr::V4(_) => false,
            })
            .map(|a| a.addr)
    }
}

fn is_link_local_v6(addr: &std::net::Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}
