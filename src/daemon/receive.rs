//! Adverts from the VRRP sockets to the instances.

use log::trace;

use super::*;
use crate::io::vrrp_socket::Receive;
use crate::proto::AdvertOutcome;
use crate::wire::{Checksum, Version};

/// Packets read from one VRRP socket in one loop turn at most (skipped ones count too).
const MAX_PACKETS_PER_TURN: u32 = 256;

impl Daemon {
    pub(super) fn on_socket(&mut self, slot: usize, now: Instant) {
        let mut buf = std::mem::take(&mut self.rx_buf);
        // A bounded batch per loop turn, so a flood cannot starve timers and other sockets.
        // The socket is edge-triggered: if the batch ends before it would block, it is marked
        // to be read again on the next turn.
        let mut budget = MAX_PACKETS_PER_TURN;
        self.backlog.retain(|&s| s != slot);
        while let Some(Some(socket)) = self.sockets.get(slot) {
            if budget == 0 {
                self.backlog.push(slot);
                break;
            }
            budget -= 1;
            let (ifindex, family) = (socket.ifindex, socket.family);
            let received = match socket.socket.receive(&mut buf) {
                Ok(Receive::Packet(received)) => received,
                // Counted against the budget like any packet.
                Ok(Receive::Skipped) => continue,
                Ok(Receive::Empty) => break,
                Err(e) => {
                    warn!("receiving on {} failed: {e}", self.link_name(ifindex));
                    break;
                }
            };
            if received.truncated {
                self.dropped.truncated += 1;
                trace!("dropped a truncated packet from {}", received.src);
                continue;
            }
            let Some(datagram) = buf.get(..received.len) else {
                continue;
            };
            let payload = match family {
                Family::V4 => match Ipv4Header::parse(datagram) {
                    Ok(header) => header.payload(datagram),
                    Err(e) => {
                        self.dropped.ip_header += 1;
                        trace!("dropped a packet from {}: {e}", received.src);
                        continue;
                    }
                },
                Family::V6 => datagram,
            };
            let Some((_version, vrid)) = Advert::peek_version_vrid(payload) else {
                self.dropped.too_short += 1;
                trace!("dropped a runt packet from {}", received.src);
                continue;
            };
            let Some(idx) = self.instance_for(ifindex, family, vrid) else {
                self.dropped.unknown_vrid += 1;
                trace!(
                    "advert for VRID {vrid} from {} on {}: no instance of ours",
                    received.src,
                    self.link_name(ifindex)
                );
                continue;
            };
            let spare = self.rx_addresses.take();
            match Advert::parse_reusing(payload, received.src, received.dst, spare) {
                Ok((advert, checksum)) => {
                    let outcome = self.instances[idx].instance.handle_advert(
                        Received {
                            src: received.src,
                            dst: received.dst,
                            ttl: received.ttl_or_hoplimit,
                            advert: &advert,
                        },
                        now,
                    );
                    match outcome {
                        // Only senders whose adverts passed every check are remembered as peers.
                        AdvertOutcome::Accepted
                            if advert.version == Version::V3 && family == Family::V4 =>
                        {
                            self.note_peer_checksum(idx, received.src, checksum)
                        }
                        AdvertOutcome::NotAPeer => self.log_stranger(idx, received.src),
                        _ => {}
                    }
                    if let Some(c) = self.instances[idx].instance.poll_conflict() {
                        let name = &self.instances[idx].spec.name;
                        warn!(
                            "{name}: {} advert(s) from our own address {} (last priority {}) \
                             since the last report: another host uses it; give each router its \
                             own address (counted as src_addr_conflict, logged once a minute)",
                            c.since_last_report, c.address, c.priority
                        );
                    }
                    self.drain(idx, now);
                    // Its address vector serves the next advert.
                    self.rx_addresses = Some(advert.addresses);
                }
                Err(e) => {
                    let running = &mut self.instances[idx];
                    running.instance.counters_mut().record_decode_error(&e);
                    trace!(
                        "{}: dropped a packet from {}: {e}",
                        running.spec.name,
                        received.src
                    );
                }
            }
        }
        self.rx_buf = buf;
    }

    /// The instance for (interface, family, VRID): O(1) through a cache whose every hit is
    /// checked against the instance itself, so an instance that moved (reload, interface
    /// re-created) is found again by the scan and never misdelivered.
    fn instance_for(&mut self, ifindex: u32, family: Family, vrid: u8) -> Option<usize> {
        let matches = |r: &Running| {
            r.ifindex == Some(ifindex) && r.spec.family() == family && r.spec.vrid == vrid
        };
        let key = (ifindex, family, vrid);
        if let Some(&idx) = self.demux.get(&key) {
            if self.instances.get(idx).is_some_and(matches) {
                return Some(idx);
            }
            self.demux.remove(&key);
        }
        let idx = self.instances.iter().position(matches)?;
        self.demux.insert(key, idx);
        Some(idx)
    }

    /// Remembers which VRRPv3 checksum variant `peer` sends over IPv4 and logs news.
    fn note_peer_checksum(&mut self, idx: usize, peer: IpAddr, variant: Checksum) {
        let Some(running) = self.instances.get_mut(idx) else {
            return;
        };
        let observed = running.peer_checksums.observe(peer, variant);
        peers::log_observation(
            &running.spec.name,
            peer,
            variant,
            observed,
            &running.peer_checksums,
            running.spec.v3_ipv4_checksum,
        );
    }
}
