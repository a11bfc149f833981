//! A simulated LAN in virtual time: N [`Instance`]s exchanging adverts with per-router latency,
//! loss and partitions, and suffering crashes, restarts, link failures and graceful stops.
//!
//! Fully deterministic: the clock is virtual (`start + offset`), the loss generator is seeded, and
//! simultaneous events are ordered by a sequence number. Adverts go through the real codec
//! (`emit` then `parse`), so the simulation also proves the two layers agree.
//!
//! A router with `unicast` peers sends each advert to the routers whose primary address is a
//! peer (the checksum computed for that destination); the others multicast to every router,
//! unless the LAN drops multicast ([`Lan::block_multicast`]), as clouds do.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::wire::{Advert, Checksum, Family, MCAST_V4, MCAST_V6, VRRP_TTL};

use super::sync::SyncGroup;
use super::track::Verdict;
use super::{Action, Instance, InstanceConfig, Reason, Received, StateKind};

/// Something that happened, at a virtual time measured from the start of the simulation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    pub at: Duration,
    pub router: usize,
    pub event: TraceEvent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    Transition {
        from: StateKind,
        /// `None` = stopped.
        to: Option<StateKind>,
        reason: Reason,
    },
    Transmit {
        priority: u8,
    },
    Announce {
        count: u32,
    },
    InstallVips,
    RemoveVips,
    /// As master, heard a lower-priority router claim mastership.
    HeardLowerPriority {
        priority: u8,
    },
    Crash,
    /// A sync group changed state (recorded under its first member).
    Group {
        group: usize,
        from: StateKind,
        /// `None` = stopped.
        to: Option<StateKind>,
        reason: Reason,
    },
}

struct SimGroup {
    group: SyncGroup,
    members: Vec<usize>,
}

struct Router {
    config: InstanceConfig,
    instance: Option<Instance>,
    latency: Duration,
    partition: u32,
    link_up: bool,
    holds_vips: bool,
}

struct Delivery {
    to: usize,
    src: IpAddr,
    dst: IpAddr,
    bytes: Vec<u8>,
}

fn group(src: &IpAddr) -> IpAddr {
    match Family::of(src) {
        Family::V4 => IpAddr::V4(MCAST_V4),
        Family::V6 => IpAddr::V6(MCAST_V6),
    }
}

/// The simulated LAN.
pub struct Lan {
    start: Instant,
    now: Instant,
    routers: Vec<Router>,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    pending: std::collections::HashMap<u64, Delivery>,
    seq: u64,
    rng: u64,
    loss_per_million: u32,
    multicast_blocked: bool,
    trace: Vec<TraceEntry>,
    groups: Vec<SimGroup>,
    /// A group is being reconciled: its members' actions do not start another round.
    syncing: bool,
}

impl Lan {
    pub fn new(seed: u64) -> Lan {
        let start = Instant::now();
        Lan {
            start,
            now: start,
            routers: Vec::new(),
            queue: BinaryHeap::new(),
            pending: std::collections::HashMap::new(),
            seq: 0,
            rng: seed | 1,
            loss_per_million: 0,
            multicast_blocked: false,
            trace: Vec::new(),
            groups: Vec::new(),
            syncing: false,
        }
    }

    /// Adds a router (not started). `latency` is its one-way delay to the switch.
    pub fn add_router(&mut self, config: InstanceConfig, latency: Duration) -> usize {
        self.routers.push(Router {
            config,
            instance: None,
            latency,
            partition: 0,
            link_up: true,
            holds_vips: false,
        });
        self.routers.len() - 1
    }

    /// Makes `members` (routers not started yet, each in one group at most) a sync group.
    pub fn add_sync_group(&mut self, name: &str, members: &[usize]) -> usize {
        self.groups.push(SimGroup {
            group: SyncGroup::new(name),
            members: members.to_vec(),
        });
        self.groups.len() - 1
    }

    pub fn group_state(&self, group: usize) -> StateKind {
        self.groups[group].group.state()
    }

    fn group_of(&self, router: usize) -> Option<usize> {
        self.groups.iter().position(|g| g.members.contains(&router))
    }

    /// The instant of virtual time `offset` after the start (for figures that take `now`).
    pub fn at(&self, offset: Duration) -> Instant {
        self.start + offset
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    pub fn router_count(&self) -> usize {
        self.routers.len()
    }

    pub fn instance(&self, router: usize) -> Option<&Instance> {
        self.routers.get(router)?.instance.as_ref()
    }

    pub fn config(&self, router: usize) -> &InstanceConfig {
        &self.routers[router].config
    }

    /// The state of a router; `None` if crashed or never started.
    pub fn state(&self, router: usize) -> Option<StateKind> {
        self.instance(router).map(Instance::state)
    }

    pub fn holds_vips(&self, router: usize) -> bool {
        self.routers[router].holds_vips
    }

    /// Routers in Master state right now.
    pub fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&r| self.state(r) == Some(StateKind::Master))
            .collect()
    }

    /// Loss probability for every delivery, in parts per million.
    pub fn set_loss(&mut self, per_million: u32) {
        self.loss_per_million = per_million.min(1_000_000);
    }

    /// Drops every multicast advert from now on (or no longer); unicast still flows.
    pub fn block_multicast(&mut self, blocked: bool) {
        self.multicast_blocked = blocked;
    }

    /// Starts (or restarts after a crash) a router with a fresh instance.
    pub fn start(&mut self, router: usize) {
        let mut instance = match Instance::new(self.routers[router].config.clone()) {
            Ok(instance) => instance,
            Err(e) => panic!("simulated router {router} has an invalid config: {e}"),
        };
        instance.set_sync_member(self.group_of(router).is_some());
        instance.handle_startup(self.routers[router].link_up, self.now);
        self.routers[router].instance = Some(instance);
        self.drain(router);
    }

    pub fn start_all(&mut self) {
        for r in 0..self.routers.len() {
            self.start(r);
        }
    }

    /// Kills a router: no goodbye, and (as on a real host that lost power) no VIPs either.
    pub fn crash(&mut self, router: usize) {
        self.routers[router].instance = None;
        self.routers[router].holds_vips = false;
        self.record(router, TraceEvent::Crash);
    }

    /// Stops a router gracefully (SIGTERM).
    pub fn shutdown(&mut self, router: usize) {
        let now = self.now;
        if let Some(instance) = self.routers[router].instance.as_mut() {
            instance.handle_shutdown(now);
        }
        self.drain(router);
        self.routers[router].instance = None;
    }

    /// Clears a router's since-reset availability figures (`keepvip reset-availability`).
    pub fn reset_availability(&mut self, router: usize) {
        let now = self.now;
        if let Some(instance) = self.routers[router].instance.as_mut() {
            instance.reset_availability(now);
        }
    }

    pub fn link_down(&mut self, router: usize) {
        self.routers[router].link_up = false;
        let now = self.now;
        if let Some(instance) = self.routers[router].instance.as_mut() {
            instance.handle_link_down(now);
        }
        self.drain(router);
    }

    pub fn link_up(&mut self, router: usize) {
        self.routers[router].link_up = true;
        let now = self.now;
        if let Some(instance) = self.routers[router].instance.as_mut() {
            instance.handle_link_up(now);
        }
        self.drain(router);
    }

    pub fn set_priority(&mut self, router: usize, priority: u8) {
        let now = self.now;
        if let Some(instance) = self.routers[router].instance.as_mut() {
            instance.handle_priority_change(priority, now);
        }
        self.drain(router);
    }

    /// Hands a router's instance a tracking verdict (priority adjustment, FAULT, pending).
    pub fn track(&mut self, router: usize, verdict: Verdict) {
        let now = self.now;
        if let Some(instance) = self.routers[router].instance.as_mut() {
            instance.handle_tracking(&verdict, now);
        }
        self.drain(router);
    }

    /// Cuts the LAN: routers in different groups no longer hear each other. Routers not listed
    /// stay in group 0.
    pub fn partition(&mut self, groups: &[&[usize]]) {
        for router in &mut self.routers {
            router.partition = 0;
        }
        for (g, members) in groups.iter().enumerate() {
            for &r in *members {
                self.routers[r].partition = g as u32 + 1;
            }
        }
    }

    pub fn heal(&mut self) {
        for router in &mut self.routers {
            router.partition = 0;
        }
    }

    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        self.run_until_instant(end);
    }

    /// Runs until `at` (virtual time since start).
    pub fn run_until(&mut self, at: Duration) {
        let end = self.start + at;
        self.run_until_instant(end);
    }

    fn run_until_instant(&mut self, end: Instant) {
        let mut steps: u64 = 0;
        loop {
            steps += 1;
            assert!(steps < 50_000_000, "simulation does not make progress");
            let next_delivery = self.queue.peek().map(|Reverse((at, seq))| (*at, *seq));
            let next_timer = (0..self.routers.len())
                .filter_map(|r| Some((self.routers[r].instance.as_ref()?.poll_timeout()?, r)))
                .min();
            // Deliveries first at equal instants: a packet in flight is older than a timer
            // that expires at the same moment.
            match (next_delivery, next_timer) {
                (Some((at, seq)), timer) if at <= end && timer.is_none_or(|(t, _)| at <= t) => {
                    self.queue.pop();
                    self.now = at;
                    if let Some(delivery) = self.pending.remove(&seq) {
                        self.deliver(delivery);
                    }
                }
                (_, Some((at, router))) if at <= end => {
                    self.now = at;
                    if let Some(instance) = self.routers[router].instance.as_mut() {
                        instance.handle_timeout(at);
                    }
                    self.drain(router);
                }
                _ => break,
            }
        }
        self.now = end;
    }

    fn deliver(&mut self, delivery: Delivery) {
        let to = delivery.to;
        let router = &mut self.routers[to];
        if !router.link_up {
            return;
        }
        let Some(instance) = router.instance.as_mut() else {
            return;
        };
        match Advert::parse(&delivery.bytes, delivery.src, delivery.dst) {
            Ok((advert, _checksum)) => {
                let received = Received {
                    src: delivery.src,
                    dst: delivery.dst,
                    ttl: VRRP_TTL,
                    advert: &advert,
                };
                instance.handle_advert(received, self.now);
            }
            Err(error) => instance.counters_mut().record_decode_error(&error),
        }
        self.drain(to);
    }

    /// Executes a router's actions.
    fn drain(&mut self, router: usize) {
        while let Some(action) = self.routers[router]
            .instance
            .as_mut()
            .and_then(Instance::poll_action)
        {
            match action {
                Action::InstallVips(_) => {
                    self.routers[router].holds_vips = true;
                    self.record(router, TraceEvent::InstallVips);
                }
                Action::RemoveVips(_) => {
                    self.routers[router].holds_vips = false;
                    self.record(router, TraceEvent::RemoveVips);
                }
                Action::Announce { count, .. } => {
                    self.record(router, TraceEvent::Announce { count });
                }
                Action::MasterHeardLowerPriority { priority, .. } => {
                    self.record(router, TraceEvent::HeardLowerPriority { priority });
                }
                Action::Notify(n) => self.record(
                    router,
                    TraceEvent::Transition {
                        from: n.previous,
                        to: n.state,
                        reason: n.reason,
                    },
                ),
                Action::Transmit(advert) => {
                    self.record(
                        router,
                        TraceEvent::Transmit {
                            priority: advert.priority,
                        },
                    );
                    self.transmit(router, &advert);
                }
            }
        }
        self.sync(router);
    }

    /// Settles the sync group of `router` (the same `SyncGroup::settle` the agent uses), then
    /// executes what that made its members do.
    fn sync(&mut self, router: usize) {
        let Some(g) = self.group_of(router) else {
            return;
        };
        if self.syncing {
            return;
        }
        self.syncing = true;
        let members = self.groups[g].members.clone();
        let now = self.now;
        let Lan {
            routers, groups, ..
        } = self;
        let mut instances: Vec<&mut Instance> = routers
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| members.contains(i))
            .filter_map(|(_, r)| r.instance.as_mut())
            .collect();
        groups[g].group.settle(&mut instances, now);
        for &member in &members {
            self.drain(member);
        }
        self.record_group(g);
        self.syncing = false;
    }

    fn record_group(&mut self, g: usize) {
        let first = self.groups[g].members.first().copied().unwrap_or(0);
        while let Some(n) = self.groups[g].group.poll_notification() {
            self.record(
                first,
                TraceEvent::Group {
                    group: g,
                    from: n.previous,
                    to: n.state,
                    reason: n.reason,
                },
            );
        }
    }

    fn transmit(&mut self, from: usize, advert: &Advert) {
        let sender = &self.routers[from];
        if !sender.link_up {
            return;
        }
        let src = sender.config.primary_address;
        // (receiver, destination address) pairs.
        let routers = &self.routers;
        let targets: Vec<(usize, IpAddr)> = match &sender.config.unicast {
            Some(unicast) => unicast
                .peers
                .iter()
                .flat_map(|peer| {
                    (0..routers.len())
                        .filter(move |&to| routers[to].config.primary_address == peer.address)
                        .map(move |to| (to, peer.address))
                })
                .collect(),
            None if self.multicast_blocked => Vec::new(),
            None => (0..routers.len()).map(|to| (to, group(&src))).collect(),
        };
        let (latency, partition) = (sender.latency, sender.partition);
        for (to, dst) in targets {
            let receiver = &self.routers[to];
            if to == from || receiver.partition != partition {
                continue;
            }
            if self.lose() {
                continue;
            }
            let bytes = match advert.to_bytes(src, dst, Checksum::PseudoHeader) {
                Ok(bytes) => bytes,
                Err(e) => panic!("router {from} built an advert it cannot encode: {e}"),
            };
            let at = self.now + latency + self.routers[to].latency;
            self.seq += 1;
            self.queue.push(Reverse((at, self.seq)));
            self.pending.insert(
                self.seq,
                Delivery {
                    to,
                    src,
                    dst,
                    bytes,
                },
            );
        }
    }

    fn lose(&mut self) -> bool {
        if self.loss_per_million == 0 {
            return false;
        }
        // xorshift64*: deterministic per seed, good enough for dropping packets.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let value = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (value % 1_000_000) < u64::from(self.loss_per_million)
    }

    fn record(&mut self, router: usize, event: TraceEvent) {
        self.trace.push(TraceEntry {
            at: self.now - self.start,
            router,
            event,
        });
    }
}
