//! One VRRP router: the state machine of RFC 9568 §6.4 / RFC 3768 §6.4 for one
//! (interface, VRID, address family), plus keepalived's Fault state.

use std::collections::VecDeque;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::wire::{Addresses, Advert, Centis, Family, V2Auth, Version};

use super::availability::Availability;
use super::counters::Counters;
use super::timers::{
    advert_slack, deadline, initial_master_wait, master_down_interval_n, skew_time, MAX_DELAY,
};
use super::track::Verdict;
use super::unicast::{Unicast, UnicastDrop};

/// Priority of the address owner: master at once, never preempted.
pub const PRIORITY_OWNER: u8 = 255;
/// Priority a leaving master advertises.
pub const PRIORITY_STOP: u8 = 0;

/// The state keepalived's `state` keyword asks for at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InitialState {
    #[default]
    Backup,
    /// Not a forced master: the instance starts as backup and waits one interval plus the
    /// minimal skew (keepalived's behaviour), unless it is the owner.
    Master,
}

/// keepalived's gratuitous ARP / NA schedule (`garp_master_*`, `garp_lower_prio_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnounceSchedule {
    /// Delay before the second burst after becoming master (`garp_master_delay`, 0 = none).
    pub master_delay: Duration,
    /// Frames per address in each burst after becoming master (`garp_master_repeat`).
    pub master_repeat: u32,
    /// Period of refresh bursts while master (`garp_master_refresh`, `None` = off).
    pub refresh: Option<Duration>,
    /// Frames per address in each refresh burst (`garp_master_refresh_repeat`).
    pub refresh_repeat: u32,
    /// Delay of the second burst after a lower-priority advert (`garp_lower_prio_delay`).
    pub lower_prio_delay: Duration,
    /// Frames per address after a lower-priority advert (`garp_lower_prio_repeat`, 0 = none).
    pub lower_prio_repeat: u32,
}

impl Default for AnnounceSchedule {
    /// keepalived's defaults: 5 frames now and 5 more after 5 s, no refresh; the lower-priority
    /// schedule follows the master one.
    fn default() -> Self {
        AnnounceSchedule {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            refresh: None,
            refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        }
    }
}

/// Everything an instance needs to know; built by the daemon from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    pub name: String,
    pub version: Version,
    pub vrid: u8,
    /// Base priority, 1..=255 (255 = address owner).
    pub priority: u8,
    pub advert_interval: Centis,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub initial_state: InitialState,
    /// Our source address; ties between equal priorities go to the higher one.
    pub primary_address: IpAddr,
    /// The virtual addresses, advertised and installed (all of the instance's family).
    pub vips: Vec<IpAddr>,
    /// keepalived's `vrrp_lower_prio_no_advert`: as master, do not answer lower-priority adverts.
    pub lower_prio_no_advert: bool,
    /// keepalived's `higher_prio_send_advert`: a master that yields to a better router first
    /// sends one advert at its own (lower) priority. Off by default, as in keepalived.
    pub higher_prio_send_advert: bool,
    /// keepalived's `down_timer_adverts` (1..=100): adverts missed before the master is down;
    /// 3 as the RFCs say unless configured.
    pub down_timer_adverts: u8,
    pub announce: AnnounceSchedule,
    /// v2 authentication sent and required (type 0 = none).
    pub auth: V2Auth,
    /// `unicast_peer`: adverts go to these peers and are checked against them; `None` =
    /// multicast.
    pub unicast: Option<Unicast>,
}

impl InstanceConfig {
    pub fn family(&self) -> Family {
        Family::of(&self.primary_address)
    }

    /// Checks what the state machine relies on. The config layer reports these with file
    /// positions first; this is the last line of defence for other callers.
    pub fn validate(&self) -> Result<Addresses, InvalidInstance> {
        let fail = |what: String| {
            Err(InvalidInstance {
                instance: self.name.clone(),
                what,
            })
        };
        if self.vrid == 0 {
            return fail("virtual_router_id must be 1..=255".into());
        }
        if self.priority == 0 {
            return fail("priority must be 1..=255".into());
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return fail("down_timer_adverts must be 1..=100".into());
        }
        let interval_ok = match self.version {
            Version::V2 => {
                self.advert_interval.0 % 100 == 0
                    && self.advert_interval.0 >= 100
                    && self.advert_interval <= Centis::V2_MAX
            }
            Version::V3 => self.advert_interval.0 >= 1 && self.advert_interval <= Centis::V3_MAX,
        };
        if !interval_ok {
            return fail(format!(
                "advert interval {} is not valid for VRRP{}",
                self.advert_interval, self.version
            ));
        }
        let delays = [
            ("preempt_delay", Some(self.preempt_delay)),
            ("garp_master_delay", Some(self.announce.master_delay)),
            (
                "garp_lower_prio_delay",
                Some(self.announce.lower_prio_delay),
            ),
            ("garp_master_refresh", self.announce.refresh),
        ];
        if let Some((name, _)) = delays
            .iter()
            .find(|(_, delay)| delay.is_some_and(|d| d > MAX_DELAY))
        {
            return fail(format!(
                "{name} is longer than {} s; use a shorter one",
                MAX_DELAY.as_secs()
            ));
        }
        // A zero period would re-arm the refresh at the instant it fired: a master would
        // handle the same deadline forever (found by fuzz/receive_path). Off is `None`.
        if self.announce.refresh == Some(Duration::ZERO) {
            return fail(
                "garp_master_refresh must be at least 1 s; leave it out (or 0 in the configuration) for no refresh"
                    .into(),
            );
        }
        if self.version == Version::V2 && self.family() == Family::V6 {
            return fail("VRRPv2 carries IPv4 only; use version 3 for IPv6".into());
        }
        // VRRPv2 allows an empty address list (keepalived runs such election-only instances);
        // VRRPv3's count is at least 1 (RFC 9568 section 5.2.5).
        let addresses = match (Addresses::from_ip_addrs(&self.vips), self.version) {
            (Some(addresses), _) => addresses,
            (None, Version::V2) if self.vips.is_empty() => Addresses::V4(Vec::new()),
            (None, Version::V3) if self.vips.is_empty() => {
                return fail("VRRPv3 needs at least one virtual address".into());
            }
            (None, _) => return fail("virtual addresses must all be of one family".into()),
        };
        if addresses.family() != self.family() || addresses.len() > 255 {
            return fail(format!(
                "virtual addresses must be {} (the family of the primary address {}), at most 255",
                self.family(),
                self.primary_address
            ));
        }
        if let Some(unicast) = &self.unicast {
            if unicast.peers.is_empty() {
                return fail("unicast mode needs at least one peer".into());
            }
            if let Some(peer) = unicast
                .peers
                .iter()
                .find(|p| Family::of(&p.address) != self.family())
            {
                return fail(format!(
                    "unicast peer {} is not {} like the instance",
                    peer.address,
                    self.family()
                ));
            }
        }
        Ok(addresses)
    }
}

/// An [`InstanceConfig`] the state machine cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidInstance {
    pub instance: String,
    pub what: String,
}

impl fmt::Display for InvalidInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vrrp_instance {}: {}", self.instance, self.what)
    }
}

impl std::error::Error for InvalidInstance {}

/// Public view of the state, for status, logs and notify scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateKind {
    Initialize,
    Backup,
    Master,
    Fault,
}

impl StateKind {
    /// The word keepalived uses in notify arguments and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Initialize => "INIT",
            StateKind::Backup => "BACKUP",
            StateKind::Master => "MASTER",
            StateKind::Fault => "FAULT",
        }
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition happened; kept for status and handed to notify scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Startup,
    /// No advert from a master for Master_Down_Interval.
    MasterDown,
    /// We outrank the current master and preemption is on.
    Preempted,
    /// A router of higher priority (or equal priority, higher address) advertises.
    HigherPriority,
    /// The master announced it is leaving (priority 0).
    PriorityZero,
    /// The address owner (priority 255) takes over at once.
    Owner,
    LinkDown,
    LinkUp,
    /// A tracked object failed or recovered.
    Tracking,
    Shutdown,
    /// Its sync group moved it (another member failed, took over or stepped down).
    SyncGroup,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::MasterDown => "master_down",
            Reason::Preempted => "preempted",
            Reason::HigherPriority => "higher_priority",
            Reason::PriorityZero => "priority_zero",
            Reason::Owner => "owner",
            Reason::LinkDown => "link_down",
            Reason::LinkUp => "link_up",
            Reason::Tracking => "tracking",
            Reason::Shutdown => "shutdown",
            Reason::SyncGroup => "sync_group",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition, for notify scripts and logs. `state` is `None` for STOP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The new state; `None` means the instance stopped (keepalived's STOP).
    pub state: Option<StateKind>,
    pub previous: StateKind,
    pub reason: Reason,
    pub priority: u8,
    /// The outage this transition ended (this router's takeover), as long as it lasted.
    pub outage: Option<Duration>,
}

impl Notification {
    /// MASTER, BACKUP, FAULT or STOP, as keepalived's generic `notify` passes it.
    pub fn state_word(&self) -> &'static str {
        match self.state {
            Some(s) => s.as_str(),
            None => "STOP",
        }
    }
}

/// What the agent must do. Each action carries all its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Add these addresses to the interface.
    InstallVips(Vec<IpAddr>),
    /// Remove these addresses from the interface.
    RemoveVips(Vec<IpAddr>),
    /// Send this advert (multicast, or to each unicast peer).
    Transmit(Arc<Advert>),
    /// Send `count` gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) for each address.
    Announce { addresses: Vec<IpAddr>, count: u32 },
    /// Run the notify scripts for this transition.
    Notify(Notification),
    /// This master heard a router of lower priority claim mastership (a split is healing):
    /// keepalived's `notify_master_rx_lower_pri` and `MASTER_RX_LOWER_PRI` FIFO line.
    MasterHeardLowerPriority { from: IpAddr, priority: u8 },
}

/// An advert as received, with what the IP layer told us about it.
#[derive(Clone, Debug)]
pub struct Received<'a> {
    pub src: IpAddr,
    /// The IP destination: the VRRP group, or (unicast mode) our address.
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6): 255 in multicast mode, the peer's range in unicast mode.
    pub ttl: u8,
    pub advert: &'a Advert,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Initialize,
    Backup {
        master_down_at: Instant,
        /// With `preempt_delay`: until this instant a lower-priority master is still accepted.
        preempt_at: Option<Instant>,
        /// What it will mean if the down timer fires.
        down_reason: Reason,
        /// A sync group member whose down timer fired (or an owner): it waits for its group
        /// to let it take over, with no timer of its own.
        wants_master: bool,
        /// It would take over (its down timer fired, or it is the owner) but a weight-0
        /// tracked object has not reported yet: it waits, with no timer, until tracking
        /// reports ([`Instance::handle_tracking_pending`]).
        awaits_tracking: bool,
    },
    Master {
        advert_at: Instant,
        /// Second burst of announcements after becoming master (`garp_master_delay`).
        second_burst_at: Option<(Instant, u32)>,
        /// Second burst after a lower-priority advert (`garp_lower_prio_delay`), kept apart
        /// so that neither schedule cancels the other.
        lower_prio_burst_at: Option<(Instant, u32)>,
        refresh_at: Option<Instant>,
    },
    Fault,
}

/// How often at most [`Instance::poll_conflict`] reports an address conflict.
pub const CONFLICT_REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// What [`Instance::handle_advert`] did with an advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdvertOutcome {
    /// Passed every receive check (counted in `advert_rcvd`): it came from a peer.
    Accepted,
    /// It carried our own primary address as its source (`src_addr_conflict`).
    OwnAddress,
    /// Unicast: its source is not a configured peer (`unicast_src_err`).
    NotAPeer,
    /// Failed another receive check, counted under its reason.
    Dropped,
}

/// Adverts from our own primary address since the last report, for a rate-limited log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressConflict {
    /// Our primary address, which the adverts carried as source.
    pub address: IpAddr,
    /// Such adverts since the previous report (or start), including the one reported.
    pub since_last_report: u64,
    /// The priority the last one claimed.
    pub priority: u8,
}

/// The master we last heard, for status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerMaster {
    pub address: IpAddr,
    pub priority: u8,
    pub interval: Centis,
}

/// One VRRP router for one (interface, VRID, family).
///
/// Call order: feed inputs with the `handle_*` methods (each takes `now`); after every call,
/// drain [`Instance::poll_action`] until it returns `None` and execute the actions in order;
/// then sleep until [`Instance::poll_timeout`] (a soft deadline: calling
/// [`Instance::handle_timeout`] early is harmless) and call `handle_timeout`. The instance does no
/// I/O and never reads the clock.
#[derive(Debug)]
pub struct Instance {
    config: InstanceConfig,
    /// The VIPs as adverts carry them.
    advert_addresses: Addresses,
    /// The last advert built, handed out again while nothing in it changes (no allocation per
    /// advert on a master's steady path).
    last_advert: Option<Arc<Advert>>,
    state: State,
    started: bool,
    link_up: bool,
    tracking_fault: bool,
    /// A weight-0 tracked object has no state yet (see [`Instance::handle_tracking_pending`]).
    tracking_pending: bool,
    /// Member of a sync group: takes over only when the group lets it.
    sync_member: bool,
    /// Its sync group is in FAULT because of another member.
    group_fault: bool,
    effective_priority: u8,
    /// Master_Adver_Interval: our own as master and in v2; learned from the master in v3.
    master_interval: Centis,
    last_master: Option<PeerMaster>,
    last_reason: Reason,
    counters: Counters,
    actions: VecDeque<Action>,
    /// `src_addr_conflict` adverts not reported yet, and when the next report may be made.
    conflicts_unreported: u64,
    conflict_report_at: Option<Instant>,
    conflict: Option<AddressConflict>,
    availability: Availability,
}

impl Instance {
    pub fn new(config: InstanceConfig) -> Result<Instance, InvalidInstance> {
        let advert_addresses = config.validate()?;
        let effective_priority = config.priority;
        let master_interval = config.advert_interval;
        Ok(Instance {
            config,
            advert_addresses,
            last_advert: None,
            state: State::Initialize,
            started: false,
            link_up: true,
            tracking_fault: false,
            tracking_pending: false,
            sync_member: false,
            group_fault: false,
            effective_priority,
            master_interval,
            last_master: None,
            last_reason: Reason::Startup,
            counters: Counters::default(),
            actions: VecDeque::new(),
            conflicts_unreported: 0,
            conflict_report_at: None,
            conflict: None,
            availability: Availability::new(),
        })
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.config
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn state(&self) -> StateKind {
        match self.state {
            State::Initialize => StateKind::Initialize,
            State::Backup { .. } => StateKind::Backup,
            State::Master { .. } => StateKind::Master,
            State::Fault => StateKind::Fault,
        }
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    pub fn master_interval(&self) -> Centis {
        self.master_interval
    }

    pub fn last_master(&self) -> Option<PeerMaster> {
        self.last_master
    }

    pub fn last_reason(&self) -> Reason {
        self.last_reason
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// What this router saw of the service: outages, master changes, time in each state.
    pub fn availability(&self) -> &Availability {
        &self.availability
    }

    /// Clears the since-reset availability figures (the lifetime ones stay).
    pub fn reset_availability(&mut self, now: Instant) {
        self.availability.reset(now);
    }

    /// For drops decided before the instance sees the packet (codec errors after demux).
    pub fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// An address conflict to log, at most once per [`CONFLICT_REPORT_INTERVAL`]: adverts from
    /// our own primary address were received (counted as `src_addr_conflict` and dropped).
    pub fn poll_conflict(&mut self) -> Option<AddressConflict> {
        self.conflict.take()
    }

    /// The next action to execute, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which [`Instance::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Initialize | State::Fault => None,
            State::Backup {
                wants_master: true, ..
            }
            | State::Backup {
                awaits_tracking: true,
                ..
            } => None,
            State::Backup { master_down_at, .. } => Some(master_down_at),
            State::Master {
                advert_at,
                second_burst_at,
                lower_prio_burst_at,
                refresh_at,
            } => [
                Some(advert_at),
                second_burst_at.map(|(at, _)| at),
                lower_prio_burst_at.map(|(at, _)| at),
                refresh_at,
            ]
            .into_iter()
            .flatten()
            .min(),
        }
    }

    /// Starts the instance (RFC 9568 §6.4.1). `link_up` is the interface's state right now.
    pub fn handle_startup(&mut self, link_up: bool, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        self.link_up = link_up;
        if self.is_faulty() {
            self.enter_fault(StateKind::Initialize, self.fault_reason(), now);
        } else {
            self.elect_from_idle(StateKind::Initialize, Reason::Startup, now);
        }
    }

    /// Stops the instance: a master says goodbye with priority 0 and releases its addresses.
    pub fn handle_shutdown(&mut self, now: Instant) {
        if !self.started {
            return;
        }
        let previous = self.state();
        if let State::Master { .. } = self.state {
            self.transmit(PRIORITY_STOP);
            self.actions
                .push_back(Action::RemoveVips(self.config.vips.clone()));
            self.counters.release_master += 1;
        }
        self.started = false;
        self.state = State::Initialize;
        self.last_reason = Reason::Shutdown;
        self.notify(None, previous, Reason::Shutdown, now);
    }

    /// The interface went down (or disappeared).
    pub fn handle_link_down(&mut self, now: Instant) {
        self.link_up = false;
        if self.started {
            // Even in FAULT already (tracking): from now on nothing can be heard.
            self.availability.link_lost(now);
        }
        if self.started && !matches!(self.state, State::Fault) {
            let previous = self.state();
            self.enter_fault(previous, Reason::LinkDown, now);
        }
    }

    /// The interface came (back) up.
    pub fn handle_link_up(&mut self, now: Instant) {
        self.link_up = true;
        self.leave_fault_if_healthy(Reason::LinkUp, now);
    }

    /// A tracked object says the instance must (not) be in Fault (keepalived's weight-0 tracking).
    pub fn handle_tracking_fault(&mut self, faulty: bool, now: Instant) {
        self.tracking_fault = faulty;
        if faulty {
            if self.started && !matches!(self.state, State::Fault) {
                let previous = self.state();
                self.enter_fault(previous, Reason::Tracking, now);
            }
        } else {
            self.leave_fault_if_healthy(Reason::Tracking, now);
        }
    }

    /// The effective priority changed (tracking weights). It is clamped to 1..=254 unless the
    /// base priority is 255, as keepalived does, and takes effect with the next advert. A
    /// backup's running down timer moves by the change in its Skew_Time, as in keepalived.
    pub fn handle_priority_change(&mut self, effective: u8, _now: Instant) {
        let previous = self.effective_priority;
        self.effective_priority = if self.config.priority == PRIORITY_OWNER {
            PRIORITY_OWNER
        } else {
            effective.clamp(1, PRIORITY_OWNER - 1)
        };
        if let State::Backup {
            ref mut master_down_at,
            ..
        } = self.state
        {
            let (version, interval) = (self.config.version, self.master_interval);
            let adverts = self.config.down_timer_adverts;
            let old = master_down_interval_n(adverts, version, previous, interval);
            let new = master_down_interval_n(adverts, version, self.effective_priority, interval);
            let moved = if new >= old {
                master_down_at.checked_add(new - old)
            } else {
                master_down_at.checked_sub(old - new)
            };
            if let Some(at) = moved {
                *master_down_at = at;
            }
        }
    }

    /// Everything tracking decides at once: the effective priority, whether a weight-0 object
    /// is still unknown, and whether one requires FAULT.
    pub fn handle_tracking(&mut self, verdict: &Verdict, now: Instant) {
        self.handle_priority_change(verdict.priority(self.config.priority), now);
        self.handle_tracking_pending(verdict.pending, now);
        self.handle_tracking_fault(verdict.fault, now);
    }

    /// A weight-0 tracked script has not reported yet. Like keepalived, no instance takes
    /// over meanwhile: an address owner starts as backup instead of taking over at once, and a
    /// backup whose down timer runs out waits in backup. When the wait ends, those that wanted
    /// to take over do (through their sync group, if any); the others keep their timers.
    pub fn handle_tracking_pending(&mut self, pending: bool, now: Instant) {
        let was_pending = std::mem::replace(&mut self.tracking_pending, pending);
        if !was_pending || pending || !self.started {
            return;
        }
        match self.state {
            State::Backup {
                awaits_tracking: true,
                down_reason,
                ..
            } => self.take_over(StateKind::Backup, down_reason, now),
            State::Backup {
                wants_master: false,
                ..
            } if self.config.priority == PRIORITY_OWNER => {
                self.take_over(StateKind::Backup, Reason::Owner, now)
            }
            _ => {}
        }
    }

    // ---- sync groups (driven by `proto::sync::SyncGroup`) ----------------------------------

    /// Makes the instance a sync group member: it no longer takes over by itself but waits in
    /// Backup, wanting to, until its group lets it ([`Instance::handle_group_take_over`]).
    pub fn set_sync_member(&mut self, member: bool) {
        self.sync_member = member;
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Master, or a sync group member waiting for its group to let it take over.
    pub fn wants_master(&self) -> bool {
        matches!(
            self.state,
            State::Master { .. }
                | State::Backup {
                    wants_master: true,
                    ..
                }
        )
    }

    /// In FAULT for a reason of its own (link, tracking), not because of its group.
    pub fn own_fault(&self) -> bool {
        self.started && (!self.link_up || self.tracking_fault)
    }

    /// Another member of the group is in FAULT (or no longer is).
    pub fn handle_group_fault(&mut self, faulty: bool, now: Instant) {
        self.group_fault = faulty;
        if faulty {
            if self.started && !matches!(self.state, State::Fault) {
                let previous = self.state();
                self.enter_fault(previous, Reason::SyncGroup, now);
            }
        } else {
            self.leave_fault_if_healthy(Reason::SyncGroup, now);
        }
    }

    /// The group takes over: a backup becomes master (for the reason it wanted to, if it did).
    pub fn handle_group_take_over(&mut self, now: Instant) {
        if let State::Backup {
            down_reason,
            wants_master,
            ..
        } = self.state
        {
            let reason = if wants_master {
                down_reason
            } else {
                Reason::SyncGroup
            };
            self.become_master(StateKind::Backup, reason, now);
        }
    }

    /// A member left master: so does this one (keepalived sends no advert for it).
    pub fn handle_group_step_down(&mut self, now: Instant) {
        if let State::Master { .. } = self.state {
            self.release_master(Reason::SyncGroup, now);
        }
    }

    /// A reload changed what may change without a restart: priority, virtual addresses,
    /// preemption, the announcement schedule, authentication. State and timers are kept, so a
    /// master keeps advertising on schedule (the next advert carries the new values). A change
    /// of version, VRID, advert interval or family needs a restart and is refused.
    pub fn handle_config_update(
        &mut self,
        mut config: InstanceConfig,
        now: Instant,
    ) -> Result<(), InvalidInstance> {
        let addresses = config.validate()?;
        if config.version != self.config.version
            || config.vrid != self.config.vrid
            || config.advert_interval != self.config.advert_interval
            || config.family() != self.config.family()
        {
            return Err(InvalidInstance {
                instance: config.name,
                what: "version, VRID, advert interval or family changed: restart needed".into(),
            });
        }
        // Keep whatever tracking adds to or takes from the base priority.
        let offset = i16::from(self.effective_priority) - i16::from(self.config.priority);
        config.primary_address = self.config.primary_address;
        self.config = config;
        self.advert_addresses = addresses;
        self.last_advert = None;
        let effective = (i16::from(self.config.priority) + offset).clamp(0, 255) as u8;
        self.handle_priority_change(effective, now);
        if self.config.priority == PRIORITY_OWNER {
            if let State::Backup {
                wants_master: false,
                awaits_tracking: false,
                ..
            } = self.state
            {
                // The normal path: a sync group member asks its group, pending weight-0
                // tracking makes it wait.
                self.take_over(StateKind::Backup, Reason::Owner, now);
            }
        }
        Ok(())
    }

    /// The address we send from changed (the interface got its first address, or was
    /// renumbered). Ignored, returning false, if it is not of the instance's family.
    pub fn handle_primary_address(&mut self, address: IpAddr) -> bool {
        if Family::of(&address) != self.config.family() {
            return false;
        }
        self.config.primary_address = address;
        true
    }

    /// Fires whatever deadlines have passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Backup {
                master_down_at,
                down_reason,
                wants_master: false,
                awaits_tracking: false,
                ..
            } if master_down_at <= now => {
                if down_reason != Reason::Preempted {
                    // A preempted master is still there; any other master went silent.
                    self.availability.master_silent();
                }
                self.take_over(StateKind::Backup, down_reason, now);
            }
            State::Master {
                mut advert_at,
                mut second_burst_at,
                mut lower_prio_burst_at,
                mut refresh_at,
            } => {
                let interval = self.config.advert_interval.as_duration();
                // Up to `advert_slack` early, so that an agent can send the adverts of many
                // instances due within a millisecond from one wake-up; the next one is an
                // interval after this one, as RFC 9568 §6.4.3 resets the timer.
                if advert_at <= deadline(now, advert_slack(interval)) {
                    self.transmit(self.effective_priority);
                    advert_at = deadline(now, interval);
                }
                for burst in [&mut second_burst_at, &mut lower_prio_burst_at] {
                    if let Some((at, count)) = *burst {
                        if at <= now {
                            self.announce(count);
                            *burst = None;
                        }
                    }
                }
                if let Some(at) = refresh_at {
                    if at <= now {
                        self.announce(self.config.announce.refresh_repeat);
                        refresh_at = self
                            .config
                            .announce
                            .refresh
                            .map(|period| deadline(now, period));
                    }
                }
                self.state = State::Master {
                    advert_at,
                    second_burst_at,
                    lower_prio_burst_at,
                    refresh_at,
                };
            }
            _ => {}
        }
    }

    /// A decoded advert arrived for this VRID (RFC 9568 §6.4.2 / §6.4.3 and the receive checks
    /// of §7.1, with keepalived's counters).
    /// Says what became of the advert, so that the caller needs no counters to know whether
    /// it came from a peer.
    pub fn handle_advert(&mut self, received: Received<'_>, now: Instant) -> AdvertOutcome {
        let advert = received.advert;
        if received.src == self.config.primary_address {
            self.own_address_heard(advert.priority, now);
            return AdvertOutcome::OwnAddress;
        }
        let verdict = self.accept(&received);
        if verdict != AdvertOutcome::Accepted {
            return verdict;
        }
        self.counters.advert_rcvd += 1;
        if advert.priority == PRIORITY_STOP {
            self.counters.pri_zero_rcvd += 1;
        }
        match self.state {
            // Backup and (with the link up) Fault hear the master, for availability only.
            State::Backup { .. } | State::Fault if self.link_up => {
                if advert.priority == PRIORITY_STOP {
                    self.availability.released(received.src, now);
                } else {
                    let every = advert.interval.as_duration();
                    let (src, priority) = (received.src, advert.priority);
                    self.availability.heard(src, priority, every, now);
                }
            }
            _ => {}
        }
        match self.state {
            State::Initialize | State::Fault => {}
            State::Backup { preempt_at, .. } => {
                self.backup_receive(received.src, advert, preempt_at, now)
            }
            State::Master { .. } => self.master_receive(received.src, advert, now),
        }
        AdvertOutcome::Accepted
    }

    /// An advert from our own primary address: never a peer. Multicast loopback is off, so it
    /// is another host using our address (or our adverts coming back by some path): counted,
    /// dropped, and reported through [`Instance::poll_conflict`] at most once a minute.
    fn own_address_heard(&mut self, priority: u8, now: Instant) {
        self.counters.src_addr_conflict += 1;
        self.conflicts_unreported += 1;
        if self.conflict_report_at.is_some_and(|at| now < at) {
            return;
        }
        self.conflict = Some(AddressConflict {
            address: self.config.primary_address,
            since_last_report: self.conflicts_unreported,
            priority,
        });
        self.conflicts_unreported = 0;
        self.conflict_report_at = Some(deadline(now, CONFLICT_REPORT_INTERVAL));
    }

    /// Syntax-level checks the codec cannot do; anything but `Accepted` was dropped (and counted).
    fn accept(&mut self, received: &Received<'_>) -> AdvertOutcome {
        let advert = received.advert;
        let transport = self.transport_ok(received);
        if transport != AdvertOutcome::Accepted {
            return transport;
        }
        if advert.version != self.config.version {
            self.counters.version_err += 1;
            return AdvertOutcome::Dropped;
        }
        if advert.vrid != self.config.vrid {
            self.counters.vrid_err += 1;
            return AdvertOutcome::Dropped;
        }
        if advert.addresses.family() != self.config.family() {
            self.counters.addr_list_err += 1;
            return AdvertOutcome::Dropped;
        }
        // RFC 9568 section 5.2.5: a VRRPv3 advert carries at least one address. Unlike a list
        // that merely differs from ours (counted, accepted below), no valid v3 router sends this.
        if advert.version == Version::V3 && advert.addresses.is_empty() {
            self.counters.addr_list_err += 1;
            return AdvertOutcome::Dropped;
        }
        if self.config.version == Version::V2 && !self.auth_ok(advert.auth.unwrap_or_default()) {
            return AdvertOutcome::Dropped;
        }
        let interval_ok = match self.config.version {
            // RFC 3768 §7.1: the interval must equal ours.
            Version::V2 => advert.interval == self.config.advert_interval,
            // 0 is not a legal interval; anything else up to 40.95 s is learned.
            Version::V3 => advert.interval.0 != 0 && advert.interval <= Centis::V3_MAX,
        };
        if !interval_ok {
            self.counters.advert_interval_err += 1;
            return AdvertOutcome::Dropped;
        }
        if !self.address_list_matches(&advert.addresses) {
            // keepalived logs and counts this but still accepts the advert (non-strict mode).
            self.counters.addr_list_err += 1;
        }
        AdvertOutcome::Accepted
    }

    /// Multicast: sent to the group with TTL 255 (RFC 9568 section 7.1). Unicast: keepalived's
    /// rules (see [`Unicast::check`]). An advert whose destination does not match the mode is
    /// an `addr_list_err`, as keepalived counts it.
    fn transport_ok(&mut self, received: &Received<'_>) -> AdvertOutcome {
        let Some(unicast) = &self.config.unicast else {
            if !received.dst.is_multicast() {
                self.counters.addr_list_err += 1;
                return AdvertOutcome::Dropped;
            }
            if received.ttl != crate::wire::VRRP_TTL {
                self.counters.ip_ttl_err += 1;
                return AdvertOutcome::Dropped;
            }
            return AdvertOutcome::Accepted;
        };
        match unicast.check(received.src, received.dst, received.ttl) {
            Ok(()) => AdvertOutcome::Accepted,
            Err(UnicastDrop::MulticastDestination) => {
                self.counters.addr_list_err += 1;
                AdvertOutcome::Dropped
            }
            Err(UnicastDrop::NotAPeer) => {
                self.counters.unicast_src_err += 1;
                AdvertOutcome::NotAPeer
            }
            Err(UnicastDrop::TtlOutOfRange { .. }) => {
                self.counters.ip_ttl_err += 1;
                AdvertOutcome::Dropped
            }
        }
    }

    fn auth_ok(&mut self, got: V2Auth) -> bool {
        if got.auth_type > V2Auth::TYPE_AH {
            self.counters.invalid_authtype += 1;
            return false;
        }
        if got.auth_type != self.config.auth.auth_type {
            self.counters.authtype_mismatch += 1;
            return false;
        }
        if got.auth_type == V2Auth::TYPE_PASS && got.data != self.config.auth.data {
            self.counters.auth_failure += 1;
            return false;
        }
        true
    }

    fn address_list_matches(&self, addresses: &Addresses) -> bool {
        let mut theirs = addresses.to_ip_addrs();
        let mut ours = self.config.vips.clone();
        theirs.sort();
        ours.sort();
        theirs == ours
    }

    fn backup_receive(
        &mut self,
        src: IpAddr,
        advert: &Advert,
        preempt_at: Option<Instant>,
        now: Instant,
    ) {
        if advert.priority == PRIORITY_STOP {
            // The master is leaving: take over after Skew_Time only.
            let skew = skew_time(
                self.config.version,
                self.effective_priority,
                self.master_interval,
            );
            self.state = State::Backup {
                master_down_at: deadline(now, skew),
                preempt_at: None,
                down_reason: Reason::PriorityZero,
                wants_master: self.wants_master(),
                awaits_tracking: false,
            };
            return;
        }
        let outranks_master = self.config.preempt && advert.priority < self.effective_priority;
        let (accept, preempt_at) = if !outranks_master {
            (true, None)
        } else if self.config.preempt_delay.is_zero() {
            (false, None)
        } else {
            // keepalived's preempt_delay: keep following the lower master until the delay,
            // counted from the first such advert, has passed.
            let at = preempt_at.unwrap_or(deadline(now, self.config.preempt_delay));
            (now < at, Some(at))
        };
        if accept {
            self.last_master = Some(PeerMaster {
                address: src,
                priority: advert.priority,
                interval: advert.interval,
            });
            if self.config.version == Version::V3 {
                self.master_interval = advert.interval;
            }
            let down = self.down_interval();
            self.state = State::Backup {
                master_down_at: deadline(now, down),
                preempt_at,
                down_reason: Reason::MasterDown,
                wants_master: false,
                awaits_tracking: false,
            };
        } else if let State::Backup {
            master_down_at,
            wants_master,
            awaits_tracking,
            ..
        } = self.state
        {
            // Discarded: the down timer runs out and we preempt.
            self.state = State::Backup {
                master_down_at,
                preempt_at,
                down_reason: Reason::Preempted,
                wants_master,
                awaits_tracking,
            };
        }
    }

    fn master_receive(&mut self, src: IpAddr, advert: &Advert, now: Instant) {
        if advert.priority == PRIORITY_STOP {
            // Another router thinks it is master and leaves: reassert at once.
            self.transmit(self.effective_priority);
            self.reset_advert_timer(now);
            return;
        }
        let theirs_wins = advert.priority > self.effective_priority
            || (advert.priority == self.effective_priority && src > self.config.primary_address);
        if theirs_wins {
            self.availability
                .heard(src, advert.priority, advert.interval.as_duration(), now);
            self.last_master = Some(PeerMaster {
                address: src,
                priority: advert.priority,
                interval: advert.interval,
            });
            if self.config.version == Version::V3 {
                self.master_interval = advert.interval;
            }
            // keepalived's opt-in `higher_prio_send_advert`: a parting advert at our (lower)
            // priority, beyond the RFC, so that a winner with garp_lower_prio_repeat
            // re-announces to the hosts that followed us. Off by default: v3 backups would
            // re-learn our interval from it, and with a shorter one than the winner's (which,
            // with lower_prio_no_advert, does not answer) their down timers fire spuriously.
            if self.config.higher_prio_send_advert {
                self.transmit(self.effective_priority);
            }
            self.release_master(Reason::HigherPriority, now);
        } else {
            self.actions.push_back(Action::MasterHeardLowerPriority {
                from: src,
                priority: advert.priority,
            });
            // Split brain heals only if the rightful master speaks up now (RFC 9568 §6.4.3,
            // keepalived's default) and re-announces so switches and hosts follow it.
            if !self.config.lower_prio_no_advert {
                self.transmit(self.effective_priority);
                self.reset_advert_timer(now);
            }
            // keepalived re-announces even with lower_prio_no_advert: only
            // garp_lower_prio_repeat 0 turns this off.
            let schedule = self.config.announce;
            if schedule.lower_prio_repeat > 0 {
                self.announce(schedule.lower_prio_repeat);
                if !schedule.lower_prio_delay.is_zero() {
                    if let State::Master {
                        ref mut lower_prio_burst_at,
                        ..
                    } = self.state
                    {
                        // A burst already pending stays: further lower adverts (each answered
                        // by its own first burst) must not push it back for ever.
                        if lower_prio_burst_at.is_none() {
                            *lower_prio_burst_at = Some((
                                deadline(now, schedule.lower_prio_delay),
                                schedule.lower_prio_repeat,
                            ));
                        }
                    }
                }
            }
        }
    }

    fn reset_advert_timer(&mut self, now: Instant) {
        if let State::Master {
            ref mut advert_at, ..
        } = self.state
        {
            *advert_at = deadline(now, self.config.advert_interval.as_duration());
        }
    }

    fn is_faulty(&self) -> bool {
        !self.link_up || self.tracking_fault || self.group_fault
    }

    fn fault_reason(&self) -> Reason {
        if !self.link_up {
            Reason::LinkDown
        } else if self.tracking_fault {
            Reason::Tracking
        } else {
            Reason::SyncGroup
        }
    }

    /// Becomes master; a sync group member instead waits in Backup, wanting to, for its group;
    /// while a weight-0 tracked object is still unknown, it waits in Backup for tracking.
    fn take_over(&mut self, previous: StateKind, reason: Reason, now: Instant) {
        if self.tracking_pending {
            if let State::Backup {
                ref mut awaits_tracking,
                ref mut down_reason,
                ..
            } = self.state
            {
                *awaits_tracking = true;
                *down_reason = reason;
                return;
            }
            self.state = State::Backup {
                master_down_at: now,
                preempt_at: None,
                down_reason: reason,
                wants_master: false,
                awaits_tracking: true,
            };
            self.last_reason = reason;
            self.notify(Some(StateKind::Backup), previous, reason, now);
            return;
        }
        if !self.sync_member {
            self.become_master(previous, reason, now);
            return;
        }
        if let State::Backup {
            ref mut wants_master,
            ref mut down_reason,
            ..
        } = self.state
        {
            *wants_master = true;
            *down_reason = reason;
            return;
        }
        // From Initialize or Fault (an address owner): a backup that wants to take over.
        self.state = State::Backup {
            master_down_at: now,
            preempt_at: None,
            down_reason: reason,
            wants_master: true,
            awaits_tracking: false,
        };
        self.last_reason = reason;
        self.notify(Some(StateKind::Backup), previous, reason, now);
    }

    /// From Initialize or Fault: the owner takes over at once, everyone else waits as backup.
    fn elect_from_idle(&mut self, previous: StateKind, reason: Reason, now: Instant) {
        self.master_interval = self.config.advert_interval;
        if self.config.priority == PRIORITY_OWNER && !self.tracking_pending {
            self.take_over(previous, Reason::Owner, now);
            return;
        }
        let wait = if previous == StateKind::Initialize
            && self.config.initial_state == InitialState::Master
        {
            initial_master_wait(self.config.version, self.master_interval)
        } else {
            self.down_interval()
        };
        self.state = State::Backup {
            master_down_at: deadline(now, wait),
            preempt_at: None,
            down_reason: Reason::MasterDown,
            wants_master: false,
            awaits_tracking: false,
        };
        self.last_reason = reason;
        self.notify(Some(StateKind::Backup), previous, reason, now);
    }

    fn leave_fault_if_healthy(&mut self, reason: Reason, now: Instant) {
        if self.started && matches!(self.state, State::Fault) && !self.is_faulty() {
            self.elect_from_idle(StateKind::Fault, reason, now);
        }
    }

    fn enter_fault(&mut self, previous: StateKind, reason: Reason, now: Instant) {
        if let State::Master { .. } = self.state {
            // Tell the backups at once; if the link is down the send simply fails.
            self.transmit(PRIORITY_STOP);
            self.actions
                .push_back(Action::RemoveVips(self.config.vips.clone()));
            self.counters.release_master += 1;
        }
        self.state = State::Fault;
        self.last_reason = reason;
        self.notify(Some(StateKind::Fault), previous, reason, now);
    }

    /// Transmit, install, announce, notify — in that order. RFC 9568 §6.4.1/§6.4.2 send the
    /// advert before the gratuitous ARPs; sending it before the (netlink) address install too
    /// means the other routers stop their down timers as early as possible.
    fn become_master(&mut self, previous: StateKind, reason: Reason, now: Instant) {
        self.master_interval = self.config.advert_interval;
        self.counters.become_master += 1;
        self.last_master = None;
        self.transmit(self.effective_priority);
        self.actions
            .push_back(Action::InstallVips(self.config.vips.clone()));
        let schedule = self.config.announce;
        self.announce(schedule.master_repeat);
        let second_burst_at = (!schedule.master_delay.is_zero() && schedule.master_repeat > 0)
            .then(|| (deadline(now, schedule.master_delay), schedule.master_repeat));
        self.state = State::Master {
            advert_at: deadline(now, self.config.advert_interval.as_duration()),
            second_burst_at,
            lower_prio_burst_at: None,
            refresh_at: schedule.refresh.map(|period| deadline(now, period)),
        };
        self.last_reason = reason;
        self.notify(Some(StateKind::Master), previous, reason, now);
    }

    /// Master_Down_Interval at our priority and the master's interval, with
    /// `down_timer_adverts` adverts.
    fn down_interval(&self) -> Duration {
        master_down_interval_n(
            self.config.down_timer_adverts,
            self.config.version,
            self.effective_priority,
            self.master_interval,
        )
    }

    fn release_master(&mut self, reason: Reason, now: Instant) {
        self.counters.release_master += 1;
        self.actions
            .push_back(Action::RemoveVips(self.config.vips.clone()));
        let down = self.down_interval();
        self.state = State::Backup {
            master_down_at: deadline(now, down),
            preempt_at: None,
            down_reason: Reason::MasterDown,
            wants_master: false,
            awaits_tracking: false,
        };
        self.last_reason = reason;
        self.notify(Some(StateKind::Backup), StateKind::Master, reason, now);
    }

    fn transmit(&mut self, priority: u8) {
        let advert = match &self.last_advert {
            Some(advert) if advert.priority == priority => Arc::clone(advert),
            _ => {
                let advert = Arc::new(Advert {
                    version: self.config.version,
                    vrid: self.config.vrid,
                    priority,
                    interval: self.config.advert_interval,
                    addresses: self.advert_addresses.clone(),
                    auth: match self.config.version {
                        Version::V2 => Some(self.config.auth),
                        Version::V3 => None,
                    },
                });
                self.last_advert = Some(Arc::clone(&advert));
                advert
            }
        };
        self.counters.advert_sent += 1;
        if priority == PRIORITY_STOP {
            self.counters.pri_zero_sent += 1;
        }
        self.actions.push_back(Action::Transmit(advert));
    }

    fn announce(&mut self, count: u32) {
        if count > 0 && !self.config.vips.is_empty() {
            self.actions.push_back(Action::Announce {
                addresses: self.config.vips.clone(),
                count,
            });
        }
    }

    /// Every transition goes through here: it tells availability, then the caller.
    fn notify(
        &mut self,
        state: Option<StateKind>,
        previous: StateKind,
        reason: Reason,
        now: Instant,
    ) {
        let interval = self.config.advert_interval.as_duration();
        let outage = self
            .availability
            .transition(previous, state, reason, interval, now);
        self.actions.push_back(Action::Notify(Notification {
            state,
            previous,
            reason,
            priority: self.effective_priority,
            outage,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::timers::master_down_interval;
    use std::net::Ipv4Addr;

    fn config(priority: u8) -> InstanceConfig {
        InstanceConfig {
            name: "VI_1".into(),
            version: Version::V3,
            vrid: 51,
            priority,
            advert_interval: Centis(100),
            preempt: true,
            preempt_delay: Duration::ZERO,
            initial_state: InitialState::Backup,
            primary_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            vips: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))],
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            down_timer_adverts: 3,
            announce: AnnounceSchedule::default(),
            auth: V2Auth::NONE,
            unicast: None,
        }
    }

    fn advert(priority: u8) -> Advert {
        Advert {
            version: Version::V3,
            vrid: 51,
            priority,
            interval: Centis(100),
            addresses: Addresses::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
            auth: None,
        }
    }

    fn peer() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))
    }

    fn actions(instance: &mut Instance) -> Vec<Action> {
        std::iter::from_fn(|| instance.poll_action()).collect()
    }

    fn master(priority: u8, now: Instant) -> Instance {
        let mut instance = Instance::new(config(priority)).unwrap();
        instance.handle_startup(true, now);
        let at = instance.poll_timeout().unwrap();
        instance.handle_timeout(at);
        assert_eq!(instance.state(), StateKind::Master);
        actions(&mut instance);
        instance
    }

    fn receive(instance: &mut Instance, advert: &Advert, ttl: u8, now: Instant) -> AdvertOutcome {
        instance.handle_advert(
            Received {
                src: peer(),
                dst: IpAddr::V4(crate::wire::MCAST_V4),
                ttl,
                advert,
            },
            now,
        )
    }

    #[test]
    fn becoming_master_installs_transmits_announces_then_notifies() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_startup(true, now);
        let startup = actions(&mut instance);
        assert!(matches!(
            startup.as_slice(),
            [Action::Notify(Notification {
                state: Some(StateKind::Backup),
                previous: StateKind::Initialize,
                reason: Reason::Startup,
                priority: 100,
                outage: None
            })]
        ));
        let at = instance.poll_timeout().unwrap();
        assert_eq!(
            at - now,
            master_down_interval(Version::V3, 100, Centis(100))
        );
        instance.handle_timeout(at);
        let got = actions(&mut instance);
        assert!(matches!(got[0], Action::Transmit(ref a) if a.priority == 100));
        assert!(matches!(got[1], Action::InstallVips(ref v) if v.len() == 1));
        assert!(matches!(got[2], Action::Announce { count: 5, .. }));
        assert!(matches!(
            got[3],
            Action::Notify(Notification {
                state: Some(StateKind::Master),
                reason: Reason::MasterDown,
                ..
            })
        ));
        assert_eq!(got.len(), 4);
        assert_eq!(instance.counters().become_master, 1);
    }

    #[test]
    fn a_master_reuses_its_advert_until_the_priority_changes() {
        let now = Instant::now();
        let mut instance = master(100, now);
        let next_advert = |instance: &mut Instance| {
            let at = instance.poll_timeout().unwrap();
            instance.handle_timeout(at);
            match actions(instance).as_slice() {
                [Action::Transmit(advert)] => Arc::clone(advert),
                other => panic!("expected one advert, got {other:?}"),
            }
        };
        let first = next_advert(&mut instance);
        let second = next_advert(&mut instance);
        assert!(Arc::ptr_eq(&first, &second), "built again without a change");
        instance.handle_priority_change(120, now);
        actions(&mut instance);
        let third = next_advert(&mut instance);
        assert_eq!(third.priority, 120);
        assert_eq!(
            second.priority, 100,
            "an advert already handed out never changes"
        );
    }

    #[test]
    fn a_master_advert_may_leave_up_to_its_slack_early_and_a_take_over_never_does() {
        let now = Instant::now();
        let mut instance = master(100, now);
        let due = instance.poll_timeout().unwrap();
        let slack = advert_slack(Duration::from_secs(1));
        assert_eq!(slack, Duration::from_millis(1));
        instance.handle_timeout(due - slack - Duration::from_nanos(1));
        assert!(
            actions(&mut instance).is_empty(),
            "more than the slack early"
        );
        let sent_at = due - slack;
        instance.handle_timeout(sent_at);
        let sent = actions(&mut instance);
        assert!(matches!(sent.as_slice(), [Action::Transmit(_)]), "{sent:?}");
        // The next advert is an interval after the one sent, not after the deadline.
        assert_eq!(
            instance.poll_timeout(),
            Some(sent_at + Duration::from_secs(1))
        );

        let mut backup = Instance::new(config(100)).unwrap();
        backup.handle_startup(true, now);
        let down_at = backup.poll_timeout().unwrap();
        backup.handle_timeout(down_at - Duration::from_nanos(1));
        assert_eq!(
            backup.state(),
            StateKind::Backup,
            "the down timer fired early"
        );
        backup.handle_timeout(down_at);
        assert_eq!(backup.state(), StateKind::Master);
    }

    #[test]
    fn master_schedule_second_burst_and_refresh() {
        let now = Instant::now();
        let mut cfg = config(100);
        cfg.announce.refresh = Some(Duration::from_secs(60));
        cfg.announce.refresh_repeat = 2;
        let mut instance = Instance::new(cfg).unwrap();
        instance.handle_startup(true, now);
        let became = instance.poll_timeout().unwrap();
        instance.handle_timeout(became);
        actions(&mut instance);
        let mut announces = Vec::new();
        let mut adverts = 0;
        let end = became + Duration::from_secs(125);
        while let Some(at) = instance.poll_timeout().filter(|at| *at <= end) {
            instance.handle_timeout(at);
            for action in actions(&mut instance) {
                match action {
                    Action::Announce { count, .. } => announces.push((at - became, count)),
                    Action::Transmit(_) => adverts += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(
            announces,
            vec![
                (Duration::from_secs(5), 5),
                (Duration::from_secs(60), 2),
                (Duration::from_secs(120), 2)
            ]
        );
        assert_eq!(adverts, 125);
    }

    #[test]
    fn receive_checks_drop_and_count() {
        let now = Instant::now();
        let mut instance = master(100, now);
        assert_eq!(
            receive(&mut instance, &advert(200), 254, now),
            AdvertOutcome::Dropped
        );
        assert_eq!(instance.counters().ip_ttl_err, 1);
        let mut wrong_version = advert(200);
        wrong_version.version = Version::V2;
        wrong_version.auth = Some(V2Auth::NONE);
        receive(&mut instance, &wrong_version, 255, now);
        assert_eq!(instance.counters().version_err, 1);
        let mut zero_interval = advert(200);
        zero_interval.interval = Centis(0);
        receive(&mut instance, &zero_interval, 255, now);
        assert_eq!(instance.counters().advert_interval_err, 1);
        let mut other_vrid = advert(200);
        other_vrid.vrid = 52;
        receive(&mut instance, &other_vrid, 255, now);
        assert_eq!(instance.counters().vrid_err, 1);
        assert_eq!(instance.counters().advert_rcvd, 0);
        assert_eq!(
            instance.state(),
            StateKind::Master,
            "nothing dropped counts"
        );
        // A different address list is counted but accepted, as keepalived does.
        let mut other_vips = advert(200);
        other_vips.addresses = Addresses::V4(vec![Ipv4Addr::new(192, 0, 2, 99)]);
        receive(&mut instance, &other_vips, 255, now);
        assert_eq!(instance.counters().addr_list_err, 1);
        assert_eq!(instance.state(), StateKind::Backup);
    }

    #[test]
    fn an_advert_from_our_own_address_is_a_conflict_counted_and_reported_rate_limited() {
        let now = Instant::now();
        let mut instance = master(100, now);
        let ours = instance.config().primary_address;
        let from_us = |instance: &mut Instance, at: Instant| {
            instance.handle_advert(
                Received {
                    src: ours,
                    dst: IpAddr::V4(crate::wire::MCAST_V4),
                    ttl: 255,
                    advert: &advert(255),
                },
                at,
            )
        };
        assert_eq!(from_us(&mut instance, now), AdvertOutcome::OwnAddress);
        assert_eq!(instance.state(), StateKind::Master, "never obeyed");
        assert_eq!(actions(&mut instance), vec![]);
        assert_eq!(instance.counters().src_addr_conflict, 1);
        assert_eq!(instance.counters().advert_rcvd, 0);
        assert_eq!(
            instance.poll_conflict(),
            Some(AddressConflict {
                address: ours,
                since_last_report: 1,
                priority: 255
            })
        );
        assert_eq!(instance.poll_conflict(), None);
        // More within the minute: counted, not reported.
        for i in 1..=10 {
            from_us(&mut instance, now + Duration::from_secs(i));
            assert_eq!(instance.poll_conflict(), None);
        }
        assert_eq!(instance.counters().src_addr_conflict, 11);
        // The next one after the minute reports all of them.
        from_us(&mut instance, now + CONFLICT_REPORT_INTERVAL);
        assert_eq!(
            instance.poll_conflict().map(|c| c.since_last_report),
            Some(11)
        );
        assert_eq!(instance.state(), StateKind::Master);
        // Counted in the list the daemon logs.
        assert!(instance
            .counters()
            .named()
            .contains(&("src_addr_conflict", 12)));
    }

    #[test]
    fn zero_interval_is_never_learned() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_startup(true, now);
        let mut zero = advert(200);
        zero.interval = Centis(0);
        receive(&mut instance, &zero, 255, now);
        assert_eq!(instance.master_interval(), Centis(100));
    }

    #[test]
    fn v2_authentication_is_checked() {
        let now = Instant::now();
        let mut cfg = config(100);
        cfg.version = Version::V2;
        cfg.auth = V2Auth {
            auth_type: V2Auth::TYPE_PASS,
            data: *b"secret\0\0",
        };
        let mut instance = Instance::new(cfg).unwrap();
        instance.handle_startup(true, now);
        let mut v2 = advert(200);
        v2.version = Version::V2;
        for (auth, field) in [
            (
                V2Auth {
                    auth_type: 7,
                    data: [0; 8],
                },
                "invalid_authtype",
            ),
            (V2Auth::NONE, "authtype_mismatch"),
            (
                V2Auth {
                    auth_type: V2Auth::TYPE_PASS,
                    data: *b"wrong\0\0\0",
                },
                "auth_failure",
            ),
        ] {
            v2.auth = Some(auth);
            receive(&mut instance, &v2, 255, now);
            let count = instance
                .counters()
                .named()
                .iter()
                .find(|(n, _)| *n == field)
                .map(|(_, v)| *v);
            assert_eq!(count, Some(1), "{field}");
        }
        v2.auth = Some(instance.config().auth);
        receive(&mut instance, &v2, 255, now);
        assert_eq!(instance.counters().advert_rcvd, 1);
    }

    #[test]
    fn master_answers_lower_priority_at_once_and_reannounces() {
        let now = Instant::now();
        let mut instance = master(200, now);
        let later = now + Duration::from_millis(10_300);
        receive(&mut instance, &advert(100), 255, later);
        let got = actions(&mut instance);
        assert!(matches!(
            got[0],
            Action::MasterHeardLowerPriority { priority: 100, .. }
        ));
        assert!(matches!(got[1], Action::Transmit(ref a) if a.priority == 200));
        assert!(matches!(got[2], Action::Announce { count: 5, .. }));
        assert_eq!(instance.state(), StateKind::Master);
        assert!(instance.poll_timeout().unwrap() <= later + Duration::from_secs(1));
    }

    #[test]
    fn master_with_lower_prio_no_advert_sends_no_advert_but_reannounces() {
        let now = Instant::now();
        for (repeat, expected) in [(3, 1), (0, 0)] {
            let mut cfg = config(200);
            cfg.lower_prio_no_advert = true;
            cfg.announce.lower_prio_repeat = repeat;
            let mut instance = Instance::new(cfg).unwrap();
            instance.handle_startup(true, now);
            let at = instance.poll_timeout().unwrap();
            instance.handle_timeout(at);
            actions(&mut instance);
            receive(&mut instance, &advert(100), 255, at);
            let mut got = actions(&mut instance);
            // keepalived's notify_master_rx_lower_pri hook comes whatever the schedule.
            assert!(matches!(
                got.remove(0),
                Action::MasterHeardLowerPriority { priority: 100, .. }
            ));
            assert_eq!(got.len(), expected, "{got:?}");
            assert!(got
                .iter()
                .all(|a| matches!(a, Action::Announce { count: 3, .. })));
        }
    }

    #[test]
    fn lower_priority_uses_its_own_schedule() {
        let now = Instant::now();
        let mut cfg = config(200);
        cfg.announce.master_repeat = 1;
        cfg.announce.master_delay = Duration::ZERO;
        cfg.announce.lower_prio_repeat = 3;
        cfg.announce.lower_prio_delay = Duration::from_secs(2);
        let mut instance = Instance::new(cfg).unwrap();
        instance.handle_startup(true, now);
        let became = instance.poll_timeout().unwrap();
        instance.handle_timeout(became);
        let got = actions(&mut instance);
        assert!(got
            .iter()
            .any(|a| matches!(a, Action::Announce { count: 1, .. })));
        let heard = became + Duration::from_secs(10);
        receive(&mut instance, &advert(100), 255, heard);
        let mut announces = Vec::new();
        let mut collect = |instance: &mut Instance, at: Instant| {
            for action in actions(instance) {
                if let Action::Announce { count, .. } = action {
                    announces.push((at - heard, count));
                }
            }
        };
        collect(&mut instance, heard);
        while let Some(at) = instance
            .poll_timeout()
            .filter(|at| *at <= heard + Duration::from_secs(5))
        {
            instance.handle_timeout(at);
            collect(&mut instance, at);
        }
        assert_eq!(
            announces,
            vec![(Duration::ZERO, 3), (Duration::from_secs(2), 3)]
        );
    }

    #[test]
    fn a_lower_advert_keeps_the_pending_second_burst_of_a_new_master() {
        let now = Instant::now();
        let mut cfg = config(200);
        cfg.announce.master_repeat = 5;
        cfg.announce.master_delay = Duration::from_secs(5);
        cfg.announce.lower_prio_repeat = 2;
        cfg.announce.lower_prio_delay = Duration::from_secs(2);
        let mut instance = Instance::new(cfg).unwrap();
        instance.handle_startup(true, now);
        let became = instance.poll_timeout().unwrap();
        let mut announces = Vec::new();
        let mut step = |instance: &mut Instance, at: Instant, advert: Option<&Advert>| {
            match advert {
                Some(advert) => {
                    receive(instance, advert, 255, at);
                }
                None => instance.handle_timeout(at),
            }
            for action in actions(instance) {
                if let Action::Announce { count, .. } = action {
                    announces.push((at - became, count));
                }
            }
        };
        step(&mut instance, became, None);
        assert_eq!(instance.state(), StateKind::Master);
        // Two lower adverts while the master's second burst is pending: the first schedules
        // the lower-priority second burst, the second does not push it back.
        step(
            &mut instance,
            became + Duration::from_secs(1),
            Some(&advert(100)),
        );
        step(
            &mut instance,
            became + Duration::from_millis(1_500),
            Some(&advert(100)),
        );
        while let Some(at) = instance
            .poll_timeout()
            .filter(|at| *at <= became + Duration::from_secs(10))
        {
            step(&mut instance, at, None);
        }
        assert_eq!(
            announces,
            vec![
                (Duration::ZERO, 5),
                (Duration::from_secs(1), 2),
                (Duration::from_millis(1_500), 2),
                (Duration::from_secs(3), 2),
                (Duration::from_secs(5), 5),
            ]
        );
    }

    /// keepalived's `down_timer_adverts`: the master is down after that many missed adverts.
    #[test]
    fn down_timer_adverts_sets_the_master_down_interval() {
        let now = Instant::now();
        for adverts in [1u8, 3, 10] {
            let mut cfg = config(100);
            cfg.down_timer_adverts = adverts;
            let mut instance = Instance::new(cfg).unwrap();
            instance.handle_startup(true, now);
            let heard = now + Duration::from_secs(1);
            receive(&mut instance, &advert(200), 255, heard);
            actions(&mut instance);
            let want = Centis(100).as_duration() * u32::from(adverts)
                + skew_time(Version::V3, 100, Centis(100));
            assert_eq!(instance.poll_timeout(), Some(heard + want), "{adverts}");
        }
        let mut cfg = config(100);
        cfg.down_timer_adverts = 0;
        assert!(Instance::new(cfg).is_err());
    }

    #[test]
    fn a_takeover_that_ends_an_outage_says_how_long_it_lasted() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_startup(true, now);
        let heard = now + Duration::from_secs(1);
        receive(&mut instance, &advert(200), 255, heard);
        actions(&mut instance);
        let at = instance.poll_timeout().unwrap();
        instance.handle_timeout(at);
        let mdi = master_down_interval(Version::V3, 100, Centis(100));
        let outage = actions(&mut instance).into_iter().find_map(|a| match a {
            Action::Notify(n) => Some(n.outage),
            _ => None,
        });
        assert_eq!(outage, Some(Some(mdi)));
        let figures = instance.availability().figures(at);
        assert_eq!((figures.outages, figures.master_changes), (1, 1));
        instance.reset_availability(at);
        assert_eq!(instance.availability().figures(at).outages, 0);
        assert_eq!(instance.availability().lifetime(at).outages, 1);
    }

    #[test]
    fn master_reasserts_on_priority_zero() {
        let now = Instant::now();
        let mut instance = master(200, now);
        receive(&mut instance, &advert(0), 255, now);
        let got = actions(&mut instance);
        assert!(matches!(got.as_slice(), [Action::Transmit(a)] if a.priority == 200));
        assert_eq!(instance.counters().pri_zero_rcvd, 1);
    }

    #[test]
    fn backup_on_priority_zero_waits_only_skew_time() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_startup(true, now);
        receive(&mut instance, &advert(200), 255, now);
        receive(&mut instance, &advert(0), 255, now);
        assert_eq!(
            instance.poll_timeout().unwrap() - now,
            skew_time(Version::V3, 100, Centis(100))
        );
    }

    #[test]
    fn higher_priority_sends_master_to_backup_silently_by_default() {
        let now = Instant::now();
        let mut instance = master(100, now);
        receive(&mut instance, &advert(200), 255, now);
        let got = actions(&mut instance);
        assert!(matches!(
            got.as_slice(),
            [
                Action::RemoveVips(_),
                Action::Notify(Notification {
                    state: Some(StateKind::Backup),
                    previous: StateKind::Master,
                    reason: Reason::HigherPriority,
                    ..
                })
            ]
        ));
        assert_eq!(instance.counters().release_master, 1);
        assert_eq!(instance.counters().advert_sent, 1, "only the first advert");
    }

    #[test]
    fn higher_prio_send_advert_sends_a_parting_advert_before_yielding() {
        let now = Instant::now();
        let mut cfg = config(100);
        cfg.higher_prio_send_advert = true;
        let mut instance = Instance::new(cfg).unwrap();
        instance.handle_startup(true, now);
        let at = instance.poll_timeout().unwrap();
        instance.handle_timeout(at);
        actions(&mut instance);
        receive(&mut instance, &advert(200), 255, at);
        let got = actions(&mut instance);
        assert!(matches!(got[0], Action::Transmit(ref a) if a.priority == 100));
        assert!(matches!(got[1], Action::RemoveVips(_)));
        assert!(matches!(
            got[2],
            Action::Notify(Notification {
                state: Some(StateKind::Backup),
                previous: StateKind::Master,
                reason: Reason::HigherPriority,
                ..
            })
        ));
        assert_eq!(instance.counters().release_master, 1);
    }

    #[test]
    fn equal_priority_tie_goes_to_the_higher_address() {
        let now = Instant::now();
        // Our 192.0.2.1 loses to the peer's 192.0.2.2.
        let mut instance = master(100, now);
        receive(&mut instance, &advert(100), 255, now);
        assert_eq!(instance.state(), StateKind::Backup);
        // A lower address with equal priority does not win.
        let mut cfg = config(100);
        cfg.primary_address = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));
        let mut higher = Instance::new(cfg).unwrap();
        higher.handle_startup(true, now);
        let at = higher.poll_timeout().unwrap();
        higher.handle_timeout(at);
        receive(&mut higher, &advert(100), 255, at);
        assert_eq!(higher.state(), StateKind::Master);
    }

    #[test]
    fn link_down_faults_and_link_up_returns_to_backup() {
        let now = Instant::now();
        let mut instance = master(100, now);
        instance.handle_link_down(now);
        let got = actions(&mut instance);
        assert!(matches!(got[0], Action::Transmit(ref a) if a.priority == 0));
        assert!(matches!(got[1], Action::RemoveVips(_)));
        assert!(matches!(
            got[2],
            Action::Notify(Notification {
                state: Some(StateKind::Fault),
                reason: Reason::LinkDown,
                ..
            })
        ));
        assert_eq!(instance.poll_timeout(), None);
        receive(&mut instance, &advert(200), 255, now);
        assert_eq!(instance.state(), StateKind::Fault);
        instance.handle_link_up(now);
        assert_eq!(instance.state(), StateKind::Backup);
        assert!(matches!(
            actions(&mut instance).as_slice(),
            [Action::Notify(Notification {
                state: Some(StateKind::Backup),
                previous: StateKind::Fault,
                reason: Reason::LinkUp,
                ..
            })]
        ));
    }

    #[test]
    fn start_with_link_down_waits_in_fault() {
        let now = Instant::now();
        let mut instance = Instance::new(config(255)).unwrap();
        instance.handle_startup(false, now);
        assert_eq!(instance.state(), StateKind::Fault);
        instance.handle_link_up(now);
        assert_eq!(
            instance.state(),
            StateKind::Master,
            "owner takes over at once"
        );
    }

    #[test]
    fn tracking_fault_and_link_fault_both_must_clear() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_startup(true, now);
        instance.handle_tracking_fault(true, now);
        instance.handle_link_down(now);
        instance.handle_link_up(now);
        assert_eq!(instance.state(), StateKind::Fault);
        instance.handle_tracking_fault(false, now);
        assert_eq!(instance.state(), StateKind::Backup);
    }

    #[test]
    fn shutdown_of_master_says_goodbye() {
        let now = Instant::now();
        let mut instance = master(100, now);
        instance.handle_shutdown(now);
        let got = actions(&mut instance);
        assert!(matches!(got[0], Action::Transmit(ref a) if a.priority == 0));
        assert!(matches!(got[1], Action::RemoveVips(_)));
        assert!(matches!(
            got[2],
            Action::Notify(Notification {
                state: None,
                previous: StateKind::Master,
                ..
            })
        ));
        assert_eq!(instance.counters().pri_zero_sent, 1);
        assert_eq!(instance.state(), StateKind::Initialize);
        assert_eq!(instance.poll_timeout(), None);
    }

    #[test]
    fn priority_is_clamped_unless_owner() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_priority_change(255, now);
        assert_eq!(instance.effective_priority(), 254);
        instance.handle_priority_change(0, now);
        assert_eq!(instance.effective_priority(), 1);
        let mut owner = Instance::new(config(255)).unwrap();
        owner.handle_priority_change(10, now);
        assert_eq!(owner.effective_priority(), 255);
    }

    #[test]
    fn config_update_keeps_state_and_timers() {
        let now = Instant::now();
        let mut instance = master(100, now);
        let timeout = instance.poll_timeout();
        let mut cfg = config(150);
        cfg.vips.push(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101)));
        cfg.primary_address = IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0));
        instance.handle_config_update(cfg, now).unwrap();
        assert_eq!(instance.state(), StateKind::Master);
        assert_eq!(instance.poll_timeout(), timeout, "advert timer untouched");
        assert!(actions(&mut instance).is_empty(), "no transition");
        assert_eq!(instance.effective_priority(), 150);
        assert_eq!(
            instance.config().primary_address,
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            "the source address stays the one the interface gave"
        );
        let at = timeout.unwrap();
        instance.handle_timeout(at);
        match actions(&mut instance).as_slice() {
            [Action::Transmit(advert)] => {
                assert_eq!(advert.priority, 150);
                assert_eq!(advert.addresses.len(), 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn config_update_keeps_the_tracking_offset_and_refuses_restart_changes() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_startup(true, now);
        instance.handle_priority_change(80, now);
        instance.handle_config_update(config(120), now).unwrap();
        assert_eq!(instance.effective_priority(), 100);
        let mut other_interval = config(120);
        other_interval.advert_interval = Centis(50);
        assert!(instance.handle_config_update(other_interval, now).is_err());
        // Becoming the owner takes over at once.
        instance.handle_config_update(config(255), now).unwrap();
        assert_eq!(instance.state(), StateKind::Master);
    }

    #[test]
    fn priority_change_moves_a_backup_down_timer_by_the_skew_difference() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_startup(true, now);
        let before = instance.poll_timeout().unwrap();
        instance.handle_priority_change(200, now);
        let after = instance.poll_timeout().unwrap();
        let skew = |p| skew_time(Version::V3, p, Centis(100));
        assert_eq!(before - after, skew(100) - skew(200));
        instance.handle_priority_change(50, now);
        assert_eq!(
            instance.poll_timeout().unwrap() - before,
            skew(50) - skew(100)
        );
    }

    #[test]
    fn a_master_advertises_its_new_priority_next_time() {
        let now = Instant::now();
        let mut instance = master(200, now);
        instance.handle_priority_change(90, now);
        assert!(
            actions(&mut instance).is_empty(),
            "no advert before its time"
        );
        let at = instance.poll_timeout().unwrap();
        instance.handle_timeout(at);
        assert!(matches!(
            actions(&mut instance).as_slice(),
            [Action::Transmit(a)] if a.priority == 90
        ));
        assert_eq!(instance.state(), StateKind::Master);
    }

    #[test]
    fn tracking_verdict_sets_priority_and_fault_together() {
        let now = Instant::now();
        let mut instance = master(100, now);
        let verdict = Verdict {
            fault: true,
            pending: false,
            adjust: -30,
        };
        instance.handle_tracking(&verdict, now);
        assert_eq!(instance.state(), StateKind::Fault);
        let got = actions(&mut instance);
        assert!(matches!(
            got.last(),
            Some(Action::Notify(Notification {
                state: Some(StateKind::Fault),
                reason: Reason::Tracking,
                priority: 70,
                ..
            }))
        ));
        instance.handle_tracking(&Verdict::default(), now);
        assert_eq!(instance.state(), StateKind::Backup);
        assert_eq!(instance.effective_priority(), 100);
    }

    #[test]
    fn an_owner_waits_for_pending_weight_zero_tracking_then_takes_over() {
        let now = Instant::now();
        let mut owner = Instance::new(config(255)).unwrap();
        owner.handle_tracking_pending(true, now);
        owner.handle_startup(true, now);
        assert_eq!(owner.state(), StateKind::Backup);
        owner.handle_tracking_pending(false, now);
        assert_eq!(owner.state(), StateKind::Master);
        assert_eq!(owner.last_reason(), Reason::Owner);
        // A non-owner is not affected by the end of the wait.
        let mut other = Instance::new(config(100)).unwrap();
        other.handle_tracking_pending(true, now);
        other.handle_startup(true, now);
        other.handle_tracking_pending(false, now);
        assert_eq!(other.state(), StateKind::Backup);
    }

    #[test]
    fn pending_weight_zero_tracking_keeps_every_instance_from_taking_over() {
        let now = Instant::now();
        for initial_state in [InitialState::Backup, InitialState::Master] {
            let mut cfg = config(100);
            cfg.initial_state = initial_state;
            let mut instance = Instance::new(cfg).unwrap();
            instance.handle_tracking_pending(true, now);
            instance.handle_startup(true, now);
            let down_at = instance.poll_timeout().unwrap();
            actions(&mut instance);
            // The down timer runs out while the script is still unknown: no take-over, no
            // timer (nothing to spin on), no action.
            instance.handle_timeout(down_at);
            assert_eq!(instance.state(), StateKind::Backup);
            assert_eq!(instance.poll_timeout(), None);
            assert_eq!(actions(&mut instance), vec![]);
            instance.handle_timeout(down_at + Duration::from_secs(60));
            assert_eq!(instance.state(), StateKind::Backup);
            // The script reports: it takes over now, for the reason its timer had.
            let reported = down_at + Duration::from_secs(61);
            instance.handle_tracking_pending(false, reported);
            assert_eq!(instance.state(), StateKind::Master);
            assert_eq!(instance.last_reason(), Reason::MasterDown);
            assert_eq!(instance.counters().become_master, 1);
        }
    }

    #[test]
    fn pending_tracking_that_ends_before_the_down_timer_keeps_the_timer() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_tracking_pending(true, now);
        instance.handle_startup(true, now);
        let down_at = instance.poll_timeout().unwrap();
        instance.handle_tracking_pending(false, now + Duration::from_millis(10));
        assert_eq!(instance.state(), StateKind::Backup);
        assert_eq!(instance.poll_timeout(), Some(down_at));
        instance.handle_timeout(down_at);
        assert_eq!(instance.state(), StateKind::Master);
    }

    #[test]
    fn a_master_heard_while_awaiting_tracking_is_followed() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_tracking_pending(true, now);
        instance.handle_startup(true, now);
        let down_at = instance.poll_timeout().unwrap();
        instance.handle_timeout(down_at);
        assert_eq!(instance.poll_timeout(), None);
        // A better master appears: the instance follows it with a running down timer again,
        // and the end of the wait does not make it take over.
        receive(&mut instance, &advert(200), 255, down_at);
        assert!(instance.poll_timeout().is_some());
        instance.handle_tracking_pending(false, down_at);
        assert_eq!(instance.state(), StateKind::Backup);
        // A lower master with preemption: discarded, and still no take-over while pending.
        instance.handle_tracking_pending(true, down_at);
        let later = instance.poll_timeout().unwrap();
        instance.handle_timeout(later);
        assert_eq!(instance.poll_timeout(), None);
        receive(&mut instance, &advert(50), 255, later);
        assert_eq!(instance.poll_timeout(), None);
        assert_eq!(instance.state(), StateKind::Backup);
        instance.handle_tracking_pending(false, later);
        assert_eq!(instance.state(), StateKind::Master);
        assert_eq!(instance.last_reason(), Reason::Preempted);
    }

    #[test]
    fn a_sync_member_awaiting_tracking_asks_its_group_when_tracking_reports() {
        let now = Instant::now();
        let mut instance = Instance::new(config(100)).unwrap();
        instance.set_sync_member(true);
        instance.handle_tracking_pending(true, now);
        instance.handle_startup(true, now);
        let down_at = instance.poll_timeout().unwrap();
        instance.handle_timeout(down_at);
        assert!(
            !instance.wants_master(),
            "no take-over while tracking is unknown"
        );
        instance.handle_tracking_pending(false, down_at);
        assert!(instance.wants_master());
        assert_eq!(instance.state(), StateKind::Backup);
    }

    #[test]
    fn a_reload_that_makes_an_instance_the_owner_takes_the_normal_path() {
        let now = Instant::now();
        // Pending tracking: it waits.
        let mut instance = Instance::new(config(100)).unwrap();
        instance.handle_tracking_pending(true, now);
        instance.handle_startup(true, now);
        instance.handle_config_update(config(255), now).unwrap();
        assert_eq!(instance.state(), StateKind::Backup);
        assert_eq!(instance.poll_timeout(), None);
        instance.handle_tracking_pending(false, now);
        assert_eq!(instance.state(), StateKind::Master);
        assert_eq!(instance.last_reason(), Reason::Owner);
        // A sync group member: it asks its group.
        let mut member = Instance::new(config(100)).unwrap();
        member.set_sync_member(true);
        member.handle_startup(true, now);
        member.handle_config_update(config(255), now).unwrap();
        assert_eq!(member.state(), StateKind::Backup);
        assert!(member.wants_master());
        // Neither: at once.
        let mut plain = Instance::new(config(100)).unwrap();
        plain.handle_startup(true, now);
        plain.handle_config_update(config(255), now).unwrap();
        assert_eq!(plain.state(), StateKind::Master);
    }

    #[test]
    fn primary_address_can_change_within_the_family() {
        let mut instance = Instance::new(config(100)).unwrap();
        let new: IpAddr = "192.0.2.9".parse().unwrap();
        assert!(instance.handle_primary_address(new));
        assert_eq!(instance.config().primary_address, new);
        assert!(!instance.handle_primary_address("2001:db8::9".parse().unwrap()));
        assert_eq!(instance.config().primary_address, new);
    }

    #[test]
    fn invalid_configs_are_refused() {
        let mut bad = config(100);
        bad.vips.clear();
        assert!(Instance::new(bad).is_err());
        let mut bad = config(100);
        bad.version = Version::V2;
        bad.advert_interval = Centis(50);
        assert!(Instance::new(bad).is_err());
        let mut bad = config(100);
        bad.vips = vec!["2001:db8::1".parse().unwrap()];
        assert!(Instance::new(bad).is_err());
        let mut bad = config(100);
        bad.priority = 0;
        let err = Instance::new(bad).unwrap_err();
        assert!(err.to_string().starts_with("vrrp_instance VI_1: priority"));
        let mut bad = config(100);
        bad.unicast = Some(Unicast {
            peers: Vec::new(),
            check_src: true,
        });
        assert!(Instance::new(bad).is_err(), "unicast without peers");
        let mut bad = config(100);
        bad.unicast = Some(Unicast {
            peers: vec![UnicastPeer::new("2001:db8::2".parse().unwrap())],
            check_src: true,
        });
        assert!(Instance::new(bad).is_err(), "a peer of the other family");
        let mut bad = config(100);
        bad.announce.refresh = Some(MAX_DELAY + Duration::from_nanos(1));
        let err = Instance::new(bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "vrrp_instance VI_1: garp_master_refresh is longer than 4294967295 s; use a shorter one"
        );
        // Regression (fuzz/receive_path): a zero refresh period made a master's deadline stay
        // at the instant it had just handled, so the daemon would spin.
        let mut bad = config(100);
        bad.announce.refresh = Some(Duration::ZERO);
        let err = Instance::new(bad).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("vrrp_instance VI_1: garp_master_refresh must be at least 1 s"),
            "{err}"
        );
        let mut longest = config(100);
        longest.preempt_delay = MAX_DELAY;
        longest.announce.master_delay = MAX_DELAY;
        longest.announce.lower_prio_delay = MAX_DELAY;
        longest.announce.refresh = Some(MAX_DELAY);
        assert!(Instance::new(longest).is_ok());
    }

    // ---- unicast mode ----

    use crate::proto::UnicastPeer;

    fn unicast_config(priority: u8, check_src: bool) -> InstanceConfig {
        InstanceConfig {
            unicast: Some(Unicast {
                peers: vec![UnicastPeer {
                    address: peer(),
                    min_ttl: 0,
                    max_ttl: 64,
                }],
                check_src,
            }),
            ..config(priority)
        }
    }

    fn receive_unicast(
        instance: &mut Instance,
        src: IpAddr,
        advert: &Advert,
        ttl: u8,
        now: Instant,
    ) -> AdvertOutcome {
        instance.handle_advert(
            Received {
                src,
                dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                ttl,
                advert,
            },
            now,
        )
    }

    #[test]
    fn unicast_applies_the_peer_ttl_range_instead_of_255() {
        let now = Instant::now();
        let mut instance = Instance::new(unicast_config(100, true)).unwrap();
        instance.handle_startup(true, now);
        // The peer's range is 0..=64: 253 is outside it, 64 (never valid multicast) inside.
        receive_unicast(&mut instance, peer(), &advert(200), 253, now);
        assert_eq!(instance.counters().ip_ttl_err, 1);
        assert_eq!(instance.last_master(), None);
        receive_unicast(&mut instance, peer(), &advert(200), 64, now);
        assert_eq!(instance.counters().advert_rcvd, 1);
        assert_eq!(instance.last_master().map(|m| m.address), Some(peer()));
    }

    #[test]
    fn unicast_drops_and_counts_strangers() {
        let now = Instant::now();
        let mut instance = master(100, now);
        let mut unicast = Instance::new(unicast_config(100, true)).unwrap();
        unicast.handle_startup(true, now);
        let at = unicast.poll_timeout().unwrap();
        unicast.handle_timeout(at);
        assert_eq!(unicast.state(), StateKind::Master);
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(
            receive_unicast(&mut unicast, stranger, &advert(250), 64, at),
            AdvertOutcome::NotAPeer
        );
        assert_eq!(unicast.counters().unicast_src_err, 1);
        assert_eq!(unicast.counters().advert_rcvd, 0);
        assert_eq!(
            unicast.state(),
            StateKind::Master,
            "a stranger cannot depose us"
        );
        // With checking off (keepalived's default), the same advert is obeyed.
        let mut trusting = Instance::new(unicast_config(100, false)).unwrap();
        trusting.handle_startup(true, now);
        trusting.handle_timeout(trusting.poll_timeout().unwrap());
        receive_unicast(&mut trusting, stranger, &advert(250), 200, at);
        assert_eq!(trusting.counters().unicast_src_err, 0);
        assert_eq!(trusting.state(), StateKind::Backup);
        // The multicast instance ignores unicast adverts altogether, as keepalived does.
        receive_unicast(&mut instance, peer(), &advert(250), 255, now);
        assert_eq!(instance.counters().addr_list_err, 1);
        assert_eq!(instance.state(), StateKind::Master);
    }

    #[test]
    fn unicast_ignores_the_multicast_group() {
        let now = Instant::now();
        let mut instance = Instance::new(unicast_config(100, true)).unwrap();
        instance.handle_startup(true, now);
        receive(&mut instance, &advert(200), 255, now);
        assert_eq!(instance.counters().addr_list_err, 1);
        assert_eq!(instance.counters().advert_rcvd, 0);
        assert_eq!(instance.last_master(), None);
    }
}

#[cfg(test)]
mod extreme_times {
    //! `Instant + Duration` never overflows for an accepted config or any advert, even at the
    //! last instant the platform can represent.
    use super::*;
    use crate::proto::timers::{deadline, MAX_DELAY};
    use crate::proto::track::Verdict;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn extreme_duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::ZERO),
            Just(Duration::from_nanos(1)),
            Just(MAX_DELAY),
            Just(MAX_DELAY + Duration::from_nanos(1)),
            Just(Duration::MAX),
            any::<u64>().prop_map(Duration::from_nanos),
            any::<u64>().prop_map(Duration::from_secs),
        ]
    }

    /// Mostly short, sometimes extreme.
    fn step() -> impl Strategy<Value = Duration> {
        prop_oneof![
            3 => (0u64..5_000_000_000).prop_map(Duration::from_nanos),
            1 => extreme_duration(),
        ]
    }

    #[derive(Clone, Debug)]
    enum Input {
        Advert {
            /// Of the instance's version (else the other one).
            same_version: bool,
            vrid: u8,
            priority: u8,
            /// `None`: the instance's own interval.
            interval: Option<u16>,
            own_source: bool,
        },
        Timeout,
        Wait(Duration),
        Priority(u8),
        Tracking(bool, bool, i64),
        Link(bool),
        Update(u8),
        Shutdown,
        Startup,
    }

    fn input() -> impl Strategy<Value = Input> {
        prop_oneof![
            4 => (
                prop_oneof![9 => Just(true), 1 => Just(false)],
                prop_oneof![9 => Just(51u8), 1 => any::<u8>()],
                any::<u8>(),
                prop_oneof![Just(None), any::<u16>().prop_map(Some)],
                prop_oneof![9 => Just(false), 1 => Just(true)],
            )
                .prop_map(|(same_version, vrid, priority, interval, own_source)| {
                    Input::Advert {
                        same_version,
                        vrid,
                        priority,
                        interval,
                        own_source,
                    }
                }),
            2 => Just(Input::Timeout),
            2 => step().prop_map(Input::Wait),
            1 => any::<u8>().prop_map(Input::Priority),
            1 => (any::<bool>(), any::<bool>(), any::<i64>())
                .prop_map(|(f, p, a)| Input::Tracking(f, p, a)),
            1 => any::<bool>().prop_map(Input::Link),
            1 => any::<u8>().prop_map(Input::Update),
            1 => Just(Input::Shutdown),
            1 => Just(Input::Startup),
        ]
    }

    fn config(
        v3: bool,
        priority: u8,
        interval: u16,
        delays: [Duration; 4],
        refresh: bool,
    ) -> InstanceConfig {
        InstanceConfig {
            name: "VI_1".into(),
            version: if v3 { Version::V3 } else { Version::V2 },
            vrid: 51,
            priority,
            advert_interval: if v3 {
                Centis(interval.clamp(1, Centis::V3_MAX.0))
            } else {
                Centis(interval.clamp(1, 255) * 100)
            },
            preempt: true,
            preempt_delay: delays[0],
            initial_state: InitialState::Backup,
            primary_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            vips: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))],
            lower_prio_no_advert: priority % 2 == 0,
            higher_prio_send_advert: priority % 3 == 0,
            down_timer_adverts: 3,
            announce: AnnounceSchedule {
                master_delay: delays[1],
                master_repeat: 3,
                refresh: refresh.then_some(delays[2]),
                refresh_repeat: 1,
                lower_prio_delay: delays[3],
                lower_prio_repeat: 2,
            },
            auth: V2Auth::NONE,
            unicast: None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

        #[test]
        fn instant_arithmetic_never_overflows_for_accepted_configs(
            v3 in any::<bool>(),
            priority in 1u8..=255,
            interval in any::<u16>(),
            delays in proptest::array::uniform4(extreme_duration()),
            refresh in any::<bool>(),
            // How far before the end of time the run starts (None: now).
            start_before_end in proptest::option::of(step()),
            inputs in proptest::collection::vec(input(), 0..48),
        ) {
            let cfg = config(v3, priority, interval, delays, refresh);
            let too_long = delays[0] > MAX_DELAY
                || delays[1] > MAX_DELAY
                || delays[3] > MAX_DELAY
                || (refresh && (delays[2] > MAX_DELAY || delays[2].is_zero()));
            let instance = Instance::new(cfg.clone());
            prop_assert_eq!(instance.is_err(), too_long, "validate() bounds every delay and refuses a zero refresh");
            let Ok(mut instance) = instance else { return Ok(()) };
            let real_now = Instant::now();
            let mut now = match start_before_end {
                None => real_now,
                Some(back) => {
                    let end = deadline(real_now, Duration::MAX);
                    end.checked_sub(back).unwrap_or(real_now).max(real_now)
                }
            };
            instance.handle_startup(true, now);
            for input in &inputs {
                match *input {
                    Input::Advert { same_version, vrid, priority, interval, own_source } => {
                        let v3 = (cfg.version == Version::V3) == same_version;
                        let advert = Advert {
                            version: if v3 { Version::V3 } else { Version::V2 },
                            vrid,
                            priority,
                            interval: interval.map_or(cfg.advert_interval, Centis),
                            addresses: Addresses::V4(vec![Ipv4Addr::new(192, 0, 2, 100)]),
                            auth: (!v3).then_some(V2Auth::NONE),
                        };
                        let src = if own_source {
                            cfg.primary_address
                        } else {
                            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))
                        };
                        instance.handle_advert(
                            Received {
                                src,
                                dst: IpAddr::V4(crate::wire::MCAST_V4),
                                ttl: 255,
                                advert: &advert,
                            },
                            now,
                        );
                    }
                    Input::Timeout => {
                        if let Some(at) = instance.poll_timeout() {
                            now = now.max(at);
                        }
                        instance.handle_timeout(now);
                    }
                    Input::Wait(d) => {
                        now = deadline(now, d);
                        instance.handle_timeout(now);
                    }
                    Input::Priority(p) => instance.handle_priority_change(p, now),
                    Input::Tracking(fault, pending, adjust) => {
                        instance.handle_tracking(&Verdict { fault, pending, adjust }, now)
                    }
                    Input::Link(up) => {
                        if up {
                            instance.handle_link_up(now)
                        } else {
                            instance.handle_link_down(now)
                        }
                    }
                    Input::Update(p) => {
                        let mut update = cfg.clone();
                        update.priority = p.max(1);
                        let _ = instance.handle_config_update(update, now);
                    }
                    Input::Shutdown => instance.handle_shutdown(now),
                    Input::Startup => instance.handle_startup(true, now),
                }
                while instance.poll_action().is_some() {}
                let _ = instance.poll_conflict();
            }
        }
    }
}
