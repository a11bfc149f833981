//! The whole receive path: bytes -> IPv4 header view -> demultiplexing by VRID -> codec ->
//! `proto::Instance`, with an instance configuration, inputs and times drawn from the fuzz
//! input, as the daemon's socket loop (src/daemon/receive.rs) and timer loop drive it.
//!
//! Input: a configuration prefix (family, version, VRID, priority, interval, preemption,
//! addresses, announcement schedule, authentication, unicast peers), then up to 64 operations:
//! a raw datagram, an advert built from fields (valid checksum, optionally one byte flipped),
//! time passing (with the timeouts the daemon would fire), link down/up, priority changes,
//! tracking, sync-group signals, shutdown/startup, a reload and a renumbering.
//!
//! Beyond "no panic": time passing never leaves a deadline in the past after the instance has
//! handled it (the daemon would spin); every advert the instance asks to send encodes, to the
//! group and to each unicast peer, and decodes back to itself; a master always has a timer; the
//! effective priority stays within 1..=255 and is 255 exactly for the owner.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use keepvip::proto::{
    Action, AnnounceSchedule, InitialState, Instance, InstanceConfig, Received, StateKind, Unicast,
    UnicastPeer, PRIORITY_OWNER,
};
use keepvip::wire::{
    Addresses, Advert, Centis, Checksum, Family, Ipv4Header, V2Auth, Version, MCAST_V4, MCAST_V6,
    VRRP_TTL,
};
use libfuzzer_sys::fuzz_target;

const MAX_OPS: usize = 64;
/// Consecutive `handle_timeout` calls at one instant before the deadline must have moved on.
const MAX_SPINS: usize = 8;
/// Adverts per input whose encoding is checked (a 10 ms interval sends thousands; the first
/// ones cover every state the instance sends from, and the run stays fast).
const MAX_CHECKED_TRANSMITS: u32 = 32;

/// Reads the input front to back; past its end every read is zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let (taken, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        taken
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Addresses on the documentation networks: routers `.1`..`.255` (fe80::N for IPv6 sources),
/// virtual addresses `.100` + i.
fn router(family: Family, n: u8) -> IpAddr {
    match family {
        Family::V4 => Ipv4Addr::new(192, 0, 2, n).into(),
        Family::V6 => Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n.into()).into(),
    }
}

fn vip(family: Family, i: u8) -> IpAddr {
    match family {
        Family::V4 => Ipv4Addr::new(198, 51, 100, 100u8.wrapping_add(i)).into(),
        Family::V6 => Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100 + u16::from(i)).into(),
    }
}

fn group(family: Family) -> IpAddr {
    match family {
        Family::V4 => MCAST_V4.into(),
        Family::V6 => MCAST_V6.into(),
    }
}

fn config(input: &mut Input<'_>) -> InstanceConfig {
    let flags = input.u8();
    let family = if flags & 1 == 1 {
        Family::V6
    } else {
        Family::V4
    };
    let version = if family == Family::V6 || flags & 2 == 2 {
        Version::V3
    } else {
        Version::V2
    };
    let vrid = input.u8();
    let priority = input.u8();
    let interval = match version {
        Version::V2 => Centis(u16::from(input.u8() % 4 + 1) * 100),
        Version::V3 => Centis(input.u16() % 0x1000),
    };
    let vip_count = input.u8() % 5;
    let mut announce = AnnounceSchedule::default();
    let garp = input.u8();
    if garp & 1 == 1 {
        announce.master_delay = Duration::from_millis(u64::from(input.u8()) * 100);
        announce.master_repeat = u32::from(input.u8() % 4);
        announce.refresh =
            (garp & 2 == 2).then(|| Duration::from_millis(u64::from(input.u8()) * 100));
        announce.refresh_repeat = u32::from(input.u8() % 4);
        announce.lower_prio_delay = Duration::from_millis(u64::from(input.u8()) * 100);
        announce.lower_prio_repeat = u32::from(input.u8() % 4);
    }
    let auth = if version == Version::V2 && flags & 4 == 4 {
        let mut data = [0; 8];
        data.copy_from_slice(&{
            let mut d = input.bytes(8).to_vec();
            d.resize(8, 0);
            d
        });
        V2Auth {
            auth_type: input.u8() % 3,
            data,
        }
    } else {
        V2Auth::NONE
    };
    let unicast = (flags & 8 == 8).then(|| {
        let peers = (0..input.u8() % 3 + 1)
            .map(|_| UnicastPeer {
                address: router(family, input.u8()),
                min_ttl: input.u8(),
                max_ttl: input.u8(),
            })
            .collect();
        Unicast {
            peers,
            check_src: flags & 16 == 16,
        }
    });
    InstanceConfig {
        name: "VI_FUZZ".into(),
        version,
        vrid,
        priority,
        advert_interval: interval,
        preempt: flags & 32 == 0,
        preempt_delay: Duration::from_secs(u64::from(input.u8() % 8)),
        initial_state: if flags & 64 == 64 {
            InitialState::Master
        } else {
            InitialState::Backup
        },
        primary_address: router(family, input.u8()),
        vips: (0..vip_count).map(|i| vip(family, i)).collect(),
        lower_prio_no_advert: garp & 4 == 4,
        higher_prio_send_advert: garp & 8 == 8,
        down_timer_adverts: if garp & 16 == 16 { input.u8() % 101 } else { 3 },
        announce,
        auth,
        unicast,
    }
}

struct Run {
    instance: Instance,
    now: Instant,
    transmits: u32,
}

impl Run {
    /// The daemon executes every action after every input; here each is checked.
    fn drain(&mut self) {
        let config = self.instance.config().clone();
        let family = config.family();
        while let Some(action) = self.instance.poll_action() {
            match action {
                Action::Transmit(advert) => {
                    self.transmits += 1;
                    if self.transmits > MAX_CHECKED_TRANSMITS {
                        continue;
                    }
                    let mut dsts = vec![group(family)];
                    if let Some(unicast) = &config.unicast {
                        dsts.extend(unicast.peers.iter().map(|p| p.address));
                    }
                    for dst in dsts {
                        let src = config.primary_address;
                        let bytes = advert
                            .to_bytes(src, dst, Checksum::PseudoHeader)
                            .unwrap_or_else(|e| {
                                panic!(
                                    "the instance sends {advert:?}, which cannot be encoded: {e}"
                                )
                            });
                        let (again, _) = Advert::parse(&bytes, src, dst)
                            .unwrap_or_else(|e| panic!("sent {advert:?} does not decode: {e}"));
                        assert_eq!(again, *advert);
                    }
                }
                Action::InstallVips(_)
                | Action::RemoveVips(_)
                | Action::Announce { .. }
                | Action::Notify(_)
                | Action::MasterHeardLowerPriority { .. } => {}
            }
        }
        let _ = self.instance.poll_conflict();
        let effective = self.instance.effective_priority();
        assert!(effective >= 1);
        assert_eq!(
            effective == PRIORITY_OWNER,
            self.instance.config().priority == PRIORITY_OWNER,
            "effective priority {effective} for base {}",
            self.instance.config().priority
        );
        if self.instance.state() == StateKind::Master {
            assert!(
                self.instance.poll_timeout().is_some(),
                "a master without a timer"
            );
        }
    }

    /// Time passes by `by`: the daemon fires every deadline that falls in it, in order.
    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        let mut spins = 0;
        while let Some(at) = self.instance.poll_timeout() {
            if at > end {
                break;
            }
            let at = at.max(self.now);
            spins = if at == self.now { spins + 1 } else { 0 };
            assert!(
                spins <= MAX_SPINS,
                "deadline stays at {:?} after handling it ({:?})",
                at,
                self.instance.state()
            );
            self.now = at;
            self.instance.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// What src/daemon/receive.rs does with one datagram from a socket of this family.
    fn receive(&mut self, datagram: &[u8], src: IpAddr, dst: IpAddr, ttl: u8) {
        let family = self.instance.config().family();
        let (payload, src, dst, ttl) = match family {
            Family::V4 => match Ipv4Header::parse(datagram) {
                Ok(header) => (
                    header.payload(datagram),
                    IpAddr::V4(header.src()),
                    IpAddr::V4(header.dst()),
                    header.ttl(),
                ),
                Err(_) => return,
            },
            Family::V6 => (datagram, src, dst, ttl),
        };
        let Some((_version, vrid)) = Advert::peek_version_vrid(payload) else {
            return;
        };
        if vrid != self.instance.config().vrid {
            return;
        }
        match Advert::parse(payload, src, dst) {
            Ok((advert, _checksum)) => {
                let before = self.instance.counters().advert_rcvd;
                self.instance.handle_advert(
                    Received {
                        src,
                        dst,
                        ttl,
                        advert: &advert,
                    },
                    self.now,
                );
                assert!(self.instance.counters().advert_rcvd - before <= 1);
                self.drain();
            }
            Err(e) => self.instance.counters_mut().record_decode_error(&e),
        }
    }
}

/// An advert from fields, with a valid checksum; wrapped in an IPv4 header for IPv4.
fn crafted(
    input: &mut Input<'_>,
    config: &InstanceConfig,
) -> Option<(Vec<u8>, IpAddr, IpAddr, u8)> {
    let family = config.family();
    let how = input.u8();
    let src = match how % 4 {
        0 => config.primary_address,
        1 => config
            .unicast
            .as_ref()
            .and_then(|u| u.peers.first())
            .map_or(router(family, 2), |p| p.address),
        _ => router(family, input.u8()),
    };
    let dst = if how & 4 == 4 {
        config.primary_address
    } else {
        group(family)
    };
    let ttl = if how & 8 == 8 { input.u8() } else { VRRP_TTL };
    let version = if how & 16 == 16 && family == Family::V4 {
        match config.version {
            Version::V2 => Version::V3,
            Version::V3 => Version::V2,
        }
    } else {
        config.version
    };
    let count = input.u8() % 5;
    let addresses = match family {
        Family::V4 => Addresses::V4(
            (0..count)
                .map(|i| match vip(family, i + (how >> 6)) {
                    IpAddr::V4(a) => a,
                    IpAddr::V6(_) => unreachable!(),
                })
                .collect(),
        ),
        Family::V6 => Addresses::V6(
            (0..count)
                .map(|i| match vip(family, i + (how >> 6)) {
                    IpAddr::V6(a) => a,
                    IpAddr::V4(_) => unreachable!(),
                })
                .collect(),
        ),
    };
    let interval = match version {
        Version::V2 => Centis(u16::from(input.u8()) * 100),
        Version::V3 => Centis(input.u16() % 0x1000),
    };
    let auth = (version == Version::V2).then(|| {
        if how & 32 == 32 {
            config.auth
        } else {
            let mut data = [0; 8];
            for b in &mut data {
                *b = input.u8();
            }
            V2Auth {
                auth_type: input.u8() % 3,
                data,
            }
        }
    });
    let vrid = if input.bool() {
        config.vrid
    } else {
        input.u8()
    };
    let advert = Advert {
        version,
        vrid,
        priority: input.u8(),
        interval,
        addresses,
        auth,
    };
    let variant = if input.bool() {
        Checksum::Plain
    } else {
        Checksum::PseudoHeader
    };
    let mut payload = advert.to_bytes(src, dst, variant).ok()?;
    let flip = input.u8();
    if flip != 0 {
        let at = usize::from(input.u8()) % payload.len();
        payload[at] ^= flip;
    }
    let datagram = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let header = Ipv4Header::new(s, d, 112, ttl, 0xc0, payload.len()).ok()?;
            let mut datagram = vec![0; header.buffer_len()];
            header.emit(&mut datagram).ok()?;
            datagram.extend_from_slice(&payload);
            datagram
        }
        _ => payload,
    };
    Some((datagram, src, dst, ttl))
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let config = config(&mut input);
    let Ok(instance) = Instance::new(config.clone()) else {
        return;
    };
    let family = config.family();
    let mut run = Run {
        instance,
        now: Instant::now(),
        transmits: 0,
    };
    if input.bool() {
        run.instance.set_sync_member(true);
    }
    run.instance
        .handle_startup(input.bool() || input.is_empty(), run.now);
    run.drain();
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        match input.u8() % 16 {
            0 => {
                let len = usize::from(input.u8());
                let datagram = input.bytes(len).to_vec();
                let src = router(family, input.u8());
                let ttl = input.u8();
                run.receive(&datagram, src, group(family), ttl);
            }
            1..=4 => {
                let current = run.instance.config().clone();
                if let Some((datagram, src, dst, ttl)) = crafted(&mut input, &current) {
                    run.receive(&datagram, src, dst, ttl);
                }
            }
            5..=7 => {
                // Up to 10 s a step: long waits (preempt_delay, garp delays) take several.
                let millis = u64::from(input.u16() % 10_000);
                run.advance(Duration::from_millis(millis));
            }
            8 => {
                if input.bool() {
                    run.instance.handle_link_down(run.now);
                } else {
                    run.instance.handle_link_up(run.now);
                }
                run.drain();
            }
            9 => {
                run.instance.handle_priority_change(input.u8(), run.now);
                run.drain();
            }
            10 => {
                let (faulty, pending) = (input.bool(), input.bool());
                run.instance.handle_tracking_pending(pending, run.now);
                run.drain();
                run.instance.handle_tracking_fault(faulty, run.now);
                run.drain();
            }
            11 => {
                match input.u8() % 3 {
                    0 => run.instance.handle_group_fault(input.bool(), run.now),
                    1 => run.instance.handle_group_take_over(run.now),
                    _ => run.instance.handle_group_step_down(run.now),
                }
                run.drain();
            }
            12 => {
                if input.bool() {
                    run.instance.handle_shutdown(run.now);
                } else {
                    run.instance.handle_startup(input.bool(), run.now);
                }
                run.drain();
            }
            13 => {
                // A reload: what may change without a restart.
                let mut update = run.instance.config().clone();
                update.priority = input.u8();
                update.preempt = input.bool();
                update.preempt_delay = Duration::from_secs(u64::from(input.u8() % 8));
                update.vips = (0..input.u8() % 5).map(|i| vip(family, i + 1)).collect();
                update.lower_prio_no_advert = input.bool();
                let _ = run.instance.handle_config_update(update, run.now);
                run.drain();
            }
            14 => {
                let other = if input.bool() { Family::V4 } else { family };
                let _ = run
                    .instance
                    .handle_primary_address(router(other, input.u8()));
            }
            _ => run.instance.reset_availability(run.now),
        }
    }
    run.advance(Duration::from_secs(10));
    run.instance.handle_shutdown(run.now);
    run.drain();
});
