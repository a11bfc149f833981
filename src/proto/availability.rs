//! The availability one router saw: per instance, from its own observations, time in each
//! state, the outages (periods with no master heard and none held), the master changes, and
//! from them MTBF, MTTR and R = MTBF / (MTBF + MTTR). Pure data: [`Instance`](super::Instance)
//! feeds it from its handlers with the `now` it is given; nothing here reads a clock.
//!
//! # What an outage is
//!
//! An outage is a period in which this router neither holds mastership nor hears a master.
//!
//! * It **begins** at the last advert heard from the master this router followed, found out
//!   when its Master_Down timer fires (cause `master-down`: the master went silent); at the
//!   priority-0 advert of that master (`master-released`: a graceful stop); at the loss of the
//!   link, whatever the state (`link-down`: this router can hear no one any more); or when this
//!   router, as master, enters FAULT for tracking or its sync group (`fault`). A backup in
//!   FAULT for tracking with its link up still hears the master: no outage.
//! * It **ends** at the first advert heard from a master (the same or another one) or at this
//!   router's own takeover. Only outages that ended are counted; one still open is reported
//!   apart ([`Availability::ongoing`]). A shutdown ends the observation: an open outage is
//!   dropped (its end was never seen).
//! * A new master heard within two of the old master's advert intervals of the old one's last
//!   advert is a handover (preemption, a better router returning), not an outage. Later than
//!   that, adverts were missed: an outage from the old master's last advert (`master-down`).
//!   This is how a backup that does not take over itself (a third router did) sees a crash.
//!   While the master still speaks, adverts from a router it outranks (priority, then
//!   address, as the protocol ranks them) are a split brain about to heal, ignored here.
//! * A master that yields to a better router's advert, or a router that preempts a lower
//!   master still advertising, makes no outage (it would be zero-length: not recorded).
//! * Start-up is not an outage: until a first master is known (heard or held) there is nothing
//!   that went out.
//!
//! A **master change** is the master this router knows changing identity: another address, or
//! this router becoming or stopping being master. The first master known after start-up is
//! not a change; a master that returns after an outage under the same identity is not either.
//!
//! # The figures
//!
//! Since start-up, or since the last [`Availability::reset`]: the time in each state, the
//! number of outages `n`, their total `T` and the longest, and the master changes. The
//! observed time `O` is the time spent in any state (the instance running) since then; the up
//! time is `O - T - ` the part of an outage still open. MTTR = `T / n`, MTBF = up time `/ n`
//! (both undefined with no outage), R = MTBF / (MTBF + MTTR), 1.0 with no outage. An outage
//! that began before a reset counts, after it, from the reset.
//!
//! The lifetime figures (since start-up, never reset) feed the Prometheus counters, which must
//! not go backwards: the outage count, the histogram of outage durations, the master changes
//! and the time in each state. [`Availability::reset`] clears only the since-reset figures and
//! the list of the last [`RECENT_OUTAGES`] outages.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::instance::{Reason, StateKind};

/// How many outages [`Availability::recent`] keeps.
pub const RECENT_OUTAGES: usize = 32;

/// Upper bounds of the outage histogram's buckets, seconds (then +Inf): VRRP failovers take
/// from a skew time (tens of ms) to a few Master_Down_Intervals (seconds); longer ones are
/// link or host failures.
pub const OUTAGE_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The same bounds, exact, for the comparisons.
const BUCKET_BOUNDS: [Duration; 12] = [
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_millis(3500),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(60),
    Duration::from_secs(300),
];

/// Why an outage began.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutageCause {
    /// The master went silent (its adverts stopped: a crash, a cut, a hang).
    MasterDown,
    /// The master said it was leaving (priority 0).
    MasterReleased,
    /// This router's link went down.
    LinkDown,
    /// This router, as master, entered FAULT (tracking, sync group).
    Fault,
}

impl OutageCause {
    pub fn as_str(self) -> &'static str {
        match self {
            OutageCause::MasterDown => "master-down",
            OutageCause::MasterReleased => "master-released",
            OutageCause::LinkDown => "link-down",
            OutageCause::Fault => "fault",
        }
    }
}

/// One outage that ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outage {
    pub start: Instant,
    pub duration: Duration,
    pub cause: OutageCause,
}

/// An outage still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OngoingOutage {
    pub start: Instant,
    pub cause: OutageCause,
}

/// The figures of a period (since start-up, or since the last reset).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    /// Time in INIT, BACKUP, MASTER, FAULT (in that order; see [`state_index`]).
    pub state_time: [Duration; 4],
    pub outages: u64,
    pub outage_time: Duration,
    pub longest: Duration,
    pub master_changes: u64,
    /// `None` with no outage.
    pub mtbf: Option<Duration>,
    pub mttr: Option<Duration>,
    /// 1.0 with no outage.
    pub ratio: f64,
}

/// The histogram of outage durations since start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Histogram {
    /// Outages of at most [`OUTAGE_BUCKETS`]`[i]`, cumulative; the +Inf bucket is `count`.
    pub cumulative: [u64; 12],
    pub sum: Duration,
    pub count: u64,
}

/// Where a state's time is kept in [`Figures::state_time`].
pub fn state_index(state: StateKind) -> usize {
    match state {
        StateKind::Initialize => 0,
        StateKind::Backup => 1,
        StateKind::Master => 2,
        StateKind::Fault => 3,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Totals {
    state_time: [Duration; 4],
    outages: u64,
    outage_time: Duration,
    longest: Duration,
    master_changes: u64,
}

impl Totals {
    fn add_outage(&mut self, duration: Duration) {
        self.outages = self.outages.saturating_add(1);
        self.outage_time = self.outage_time.saturating_add(duration);
        self.longest = self.longest.max(duration);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holder {
    Local,
    Peer(IpAddr),
}

/// The master as this router sees it right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Master {
    /// None known: before the first one, or during an outage.
    Unknown,
    /// This router is master.
    Holding,
    /// The last sign of a master: its last advert, or the moment this router stepped down.
    Heard {
        holder: Holder,
        last: Instant,
        interval: Duration,
        /// Its advertised priority (0 for this router after stepping down: anyone follows it).
        priority: u8,
    },
}

/// The availability record of one instance.
#[derive(Clone, Debug)]
pub struct Availability {
    /// The state and since when; `None` while not running.
    state: Option<(StateKind, Instant)>,
    master: Master,
    /// The last master known, kept through outages, to count changes of identity.
    known: Option<Holder>,
    ongoing: Option<OngoingOutage>,
    /// Start of the since-reset period (the first start-up, or the last reset).
    reset_at: Option<Instant>,
    lifetime: Totals,
    since_reset: Totals,
    recent: VecDeque<Outage>,
    /// Per bucket (not cumulative); the last one is +Inf.
    buckets: [u64; 13],
    sum: Duration,
}

impl Default for Availability {
    fn default() -> Self {
        Availability::new()
    }
}

fn div(total: Duration, count: u64) -> Duration {
    let nanos = total.as_nanos() / u128::from(count.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Availability {
    pub fn new() -> Availability {
        Availability {
            state: None,
            master: Master::Unknown,
            known: None,
            ongoing: None,
            reset_at: None,
            lifetime: Totals::default(),
            since_reset: Totals::default(),
            recent: VecDeque::new(),
            buckets: [0; 13],
            sum: Duration::ZERO,
        }
    }

    // ---- the inputs, from `Instance` --------------------------------------------------------

    /// A state transition (`state` `None`: stopped). Returns the duration of the outage it
    /// ended (this router's takeover), if any.
    pub(crate) fn transition(
        &mut self,
        previous: StateKind,
        state: Option<StateKind>,
        reason: Reason,
        own_interval: Duration,
        now: Instant,
    ) -> Option<Duration> {
        self.account(now);
        self.reset_at.get_or_insert(now);
        let ended = match state {
            None => {
                // The observation ends; an outage whose end was not seen is not counted.
                self.ongoing = None;
                self.master = Master::Unknown;
                None
            }
            Some(StateKind::Master) => {
                let ended = self.ongoing.take().and_then(|o| self.record(o, now));
                self.change_to(Holder::Local);
                self.master = Master::Holding;
                ended
            }
            Some(StateKind::Fault) => {
                if self.master == Master::Holding {
                    self.open(now, OutageCause::Fault);
                }
                None
            }
            Some(StateKind::Backup)
                if previous == StateKind::Master && reason != Reason::HigherPriority =>
            {
                // Stepped down with no better master heard (its sync group moved it): the
                // others have two intervals to take over before it counts as an outage.
                self.master = Master::Heard {
                    holder: Holder::Local,
                    last: now,
                    interval: own_interval,
                    priority: 0,
                };
                None
            }
            Some(_) => None,
        };
        self.state = state.map(|s| (s, now));
        ended
    }

    /// A non-zero-priority advert from a router acting as master (heard in BACKUP or FAULT, or
    /// in MASTER from a better one).
    pub(crate) fn heard(&mut self, src: IpAddr, priority: u8, interval: Duration, now: Instant) {
        match self.master {
            Master::Unknown => {
                if let Some(outage) = self.ongoing.take() {
                    self.record(outage, now);
                }
            }
            Master::Holding => {}
            Master::Heard {
                holder,
                last,
                interval: every,
                priority: theirs,
            } => {
                let silent = now.saturating_duration_since(last) > every.saturating_mul(2);
                if let Holder::Peer(master) = holder {
                    // A lesser router claiming mastership while the master still speaks (a
                    // split brain about to heal): neither the master nor a change.
                    if master != src && !silent && (priority, src) < (theirs, master) {
                        return;
                    }
                }
                if holder != Holder::Peer(src) && silent {
                    self.record(
                        OngoingOutage {
                            start: last,
                            cause: OutageCause::MasterDown,
                        },
                        now,
                    );
                }
            }
        }
        self.change_to(Holder::Peer(src));
        self.master = Master::Heard {
            holder: Holder::Peer(src),
            last: now,
            interval,
            priority,
        };
    }

    /// A priority-0 advert: if from the master followed, it left now.
    pub(crate) fn released(&mut self, src: IpAddr, now: Instant) {
        if let Master::Heard {
            holder: Holder::Peer(master),
            ..
        } = self.master
        {
            if master == src {
                self.open(now, OutageCause::MasterReleased);
            }
        }
    }

    /// The Master_Down timer fired: the master followed went silent after its last advert.
    pub(crate) fn master_silent(&mut self) {
        if let Master::Heard { last, .. } = self.master {
            self.open(last, OutageCause::MasterDown);
        }
    }

    /// The link went down: nothing can be heard any more.
    pub(crate) fn link_lost(&mut self, now: Instant) {
        self.open(now, OutageCause::LinkDown);
    }

    /// Opens an outage at `start`, if a master was known and none is open.
    fn open(&mut self, start: Instant, cause: OutageCause) {
        if self.master == Master::Unknown || self.ongoing.is_some() {
            return;
        }
        self.master = Master::Unknown;
        self.ongoing = Some(OngoingOutage { start, cause });
    }

    /// Records an outage ending at `end`; zero-length ones are not outages.
    fn record(&mut self, outage: OngoingOutage, end: Instant) -> Option<Duration> {
        let duration = end.saturating_duration_since(outage.start);
        if duration.is_zero() {
            return None;
        }
        self.lifetime.add_outage(duration);
        self.sum = self.sum.saturating_add(duration);
        let bucket = BUCKET_BOUNDS
            .iter()
            .position(|&bound| duration <= bound)
            .unwrap_or(BUCKET_BOUNDS.len());
        if let Some(slot) = self.buckets.get_mut(bucket) {
            *slot = slot.saturating_add(1);
        }
        let start = self
            .reset_at
            .map_or(outage.start, |reset| outage.start.max(reset));
        let since_reset = end.saturating_duration_since(start);
        if !since_reset.is_zero() {
            self.since_reset.add_outage(since_reset);
            if self.recent.len() == RECENT_OUTAGES {
                self.recent.pop_front();
            }
            self.recent.push_back(Outage {
                start,
                duration: since_reset,
                cause: outage.cause,
            });
        }
        Some(duration)
    }

    fn change_to(&mut self, holder: Holder) {
        if self.known.is_some_and(|known| known != holder) {
            for totals in [&mut self.lifetime, &mut self.since_reset] {
                totals.master_changes = totals.master_changes.saturating_add(1);
            }
        }
        self.known = Some(holder);
    }

    /// Adds the current state's time up to `now` and restarts its count there.
    fn account(&mut self, now: Instant) {
        if let Some((state, since)) = self.state {
            let spent = now.saturating_duration_since(since);
            let i = state_index(state);
            for totals in [&mut self.lifetime, &mut self.since_reset] {
                totals.state_time[i] = totals.state_time[i].saturating_add(spent);
            }
            self.state = Some((state, now.max(since)));
        }
    }

    /// Clears the since-reset figures and the recent outages; the lifetime figures (the
    /// histogram, the counters) stay.
    pub fn reset(&mut self, now: Instant) {
        self.account(now);
        self.since_reset = Totals::default();
        self.recent.clear();
        self.reset_at = Some(now);
    }

    // ---- the figures -----------------------------------------------------------------------

    /// When the since-reset period began (`None` before start-up).
    pub fn since_reset(&self) -> Option<Instant> {
        self.reset_at
    }

    /// The outage still open, if any.
    pub fn ongoing(&self) -> Option<OngoingOutage> {
        self.ongoing
    }

    /// The last [`RECENT_OUTAGES`] outages since the reset, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &Outage> {
        self.recent.iter()
    }

    /// Since the last reset (or start-up), up to `now`.
    pub fn figures(&self, now: Instant) -> Figures {
        let ongoing = self.ongoing.map_or(Duration::ZERO, |o| {
            let start = self.reset_at.map_or(o.start, |reset| o.start.max(reset));
            now.saturating_duration_since(start)
        });
        self.figures_of(&self.since_reset, ongoing, now)
    }

    /// Since start-up, never reset, up to `now` (for counters that must not go backwards).
    pub fn lifetime(&self, now: Instant) -> Figures {
        let ongoing = self
            .ongoing
            .map_or(Duration::ZERO, |o| now.saturating_duration_since(o.start));
        self.figures_of(&self.lifetime, ongoing, now)
    }

    fn figures_of(&self, totals: &Totals, ongoing: Duration, now: Instant) -> Figures {
        let mut state_time = totals.state_time;
        if let Some((state, since)) = self.state {
            let i = state_index(state);
            state_time[i] = state_time[i].saturating_add(now.saturating_duration_since(since));
        }
        let observed = state_time
            .iter()
            .fold(Duration::ZERO, |sum, &t| sum.saturating_add(t));
        let (mtbf, mttr, ratio) = if totals.outages == 0 {
            (None, None, 1.0)
        } else {
            let up = observed
                .saturating_sub(totals.outage_time)
                .saturating_sub(ongoing);
            let mtbf = div(up, totals.outages);
            let mttr = div(totals.outage_time, totals.outages);
            let whole = mtbf.as_nanos() + mttr.as_nanos();
            let ratio = if whole == 0 {
                1.0
            } else {
                mtbf.as_nanos() as f64 / whole as f64
            };
            (Some(mtbf), Some(mttr), ratio)
        };
        Figures {
            state_time,
            outages: totals.outages,
            outage_time: totals.outage_time,
            longest: totals.longest,
            master_changes: totals.master_changes,
            mtbf,
            mttr,
            ratio,
        }
    }

    /// The outage durations since start-up.
    pub fn histogram(&self) -> Histogram {
        let mut cumulative = [0u64; 12];
        let mut running = 0u64;
        for (i, slot) in cumulative.iter_mut().enumerate() {
            running = running.saturating_add(self.buckets[i]);
            *slot = running;
        }
        Histogram {
            cumulative,
            sum: self.sum,
            count: running.saturating_add(self.buckets[12]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const EVERY: Duration = Duration::from_secs(1);

    fn peer(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A backup started at `t0` that follows 192.0.2.2 from `t0 + 1 s`.
    fn backup(t0: Instant) -> Availability {
        let mut a = Availability::new();
        a.transition(
            StateKind::Initialize,
            Some(StateKind::Backup),
            Reason::Startup,
            EVERY,
            t0,
        );
        a.heard(peer(2), 200, EVERY, t0 + ms(1000));
        a
    }

    fn take_over(a: &mut Availability, reason: Reason, at: Instant) -> Option<Duration> {
        a.transition(
            StateKind::Backup,
            Some(StateKind::Master),
            reason,
            EVERY,
            at,
        )
    }

    #[test]
    fn start_up_is_no_outage_and_no_change() {
        let t0 = Instant::now();
        let mut a = Availability::new();
        a.transition(
            StateKind::Initialize,
            Some(StateKind::Backup),
            Reason::Startup,
            EVERY,
            t0,
        );
        // Nobody was ever heard: the timer firing is not an outage.
        a.master_silent();
        assert_eq!(take_over(&mut a, Reason::MasterDown, t0 + ms(3600)), None);
        let f = a.figures(t0 + ms(10_000));
        assert_eq!((f.outages, f.master_changes), (0, 0));
        assert_eq!((f.mtbf, f.mttr, f.ratio), (None, None, 1.0));
        assert_eq!(f.state_time[state_index(StateKind::Backup)], ms(3600));
        assert_eq!(f.state_time[state_index(StateKind::Master)], ms(6400));
        assert_eq!(a.histogram().count, 0);
    }

    #[test]
    fn a_silent_master_is_an_outage_from_its_last_advert_to_the_takeover() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        a.heard(peer(2), 200, EVERY, t0 + ms(2000));
        a.master_silent();
        assert_eq!(
            a.ongoing(),
            Some(OngoingOutage {
                start: t0 + ms(2000),
                cause: OutageCause::MasterDown
            })
        );
        assert_eq!(
            take_over(&mut a, Reason::MasterDown, t0 + ms(5609)),
            Some(ms(3609))
        );
        assert_eq!(a.ongoing(), None);
        let now = t0 + ms(10_000);
        let f = a.figures(now);
        assert_eq!(f.outages, 1);
        assert_eq!(f.outage_time, ms(3609));
        assert_eq!(f.longest, ms(3609));
        assert_eq!(f.mttr, Some(ms(3609)));
        assert_eq!(f.mtbf, Some(ms(10_000 - 3609)));
        assert_eq!(f.ratio, 6391.0 / 10_000.0);
        assert_eq!(f.master_changes, 1);
        let recent: Vec<&Outage> = a.recent().collect();
        assert_eq!(
            recent,
            [&Outage {
                start: t0 + ms(2000),
                duration: ms(3609),
                cause: OutageCause::MasterDown
            }]
        );
    }

    #[test]
    fn a_released_master_is_an_outage_from_its_priority_zero_advert() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        // A priority 0 from a router we do not follow is not our master leaving.
        a.released(peer(3), t0 + ms(1500));
        assert_eq!(a.ongoing(), None);
        a.released(peer(2), t0 + ms(1600));
        // The timer firing after it does not move the start back.
        a.master_silent();
        assert_eq!(
            take_over(&mut a, Reason::PriorityZero, t0 + ms(1639)),
            Some(ms(39))
        );
        assert_eq!(
            a.recent().next().map(|o| o.cause),
            Some(OutageCause::MasterReleased)
        );
    }

    #[test]
    fn another_master_ends_an_outage_and_a_quick_handover_is_none() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        // A better router preempts: heard within two intervals of the old master's advert.
        a.heard(peer(3), 250, EVERY, t0 + ms(2900));
        assert_eq!(a.figures(t0 + ms(3000)).outages, 0);
        assert_eq!(a.figures(t0 + ms(3000)).master_changes, 1);
        // It crashes; a third router takes over before our timer fires.
        a.heard(peer(4), 150, EVERY, t0 + ms(6100));
        let f = a.figures(t0 + ms(7000));
        assert_eq!(
            (f.outages, f.outage_time, f.master_changes),
            (1, ms(3200), 2)
        );
        // The same master back after a priority 0: an outage, but not a change.
        a.released(peer(4), t0 + ms(7000));
        a.heard(peer(4), 150, EVERY, t0 + ms(7500));
        let f = a.figures(t0 + ms(8000));
        assert_eq!(
            (f.outages, f.outage_time, f.master_changes),
            (2, ms(3700), 2)
        );
    }

    #[test]
    fn yielding_to_a_better_master_is_no_outage() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        a.master_silent();
        take_over(&mut a, Reason::MasterDown, t0 + ms(4000));
        a.heard(peer(3), 250, EVERY, t0 + ms(5000));
        a.transition(
            StateKind::Master,
            Some(StateKind::Backup),
            Reason::HigherPriority,
            EVERY,
            t0 + ms(5000),
        );
        let f = a.figures(t0 + ms(6000));
        assert_eq!((f.outages, f.master_changes), (1, 2));
    }

    #[test]
    fn link_loss_opens_an_outage_even_in_fault_and_a_master_faulting_opens_one() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        // A tracking fault of a backup: it still hears the master.
        a.transition(
            StateKind::Backup,
            Some(StateKind::Fault),
            Reason::Tracking,
            EVERY,
            t0 + ms(1500),
        );
        assert_eq!(a.ongoing(), None);
        a.link_lost(t0 + ms(1700));
        assert_eq!(a.ongoing().map(|o| o.cause), Some(OutageCause::LinkDown));
        a.heard(peer(2), 200, EVERY, t0 + ms(2700));
        assert_eq!(a.figures(t0 + ms(3000)).outage_time, ms(1000));

        let mut m = backup(t0);
        m.master_silent();
        take_over(&mut m, Reason::MasterDown, t0 + ms(4000));
        m.transition(
            StateKind::Master,
            Some(StateKind::Fault),
            Reason::Tracking,
            EVERY,
            t0 + ms(5000),
        );
        assert_eq!(m.ongoing().map(|o| o.cause), Some(OutageCause::Fault));
        m.heard(peer(2), 200, EVERY, t0 + ms(5040));
        let f = m.figures(t0 + ms(6000));
        assert_eq!(
            (f.outages, f.outage_time, f.master_changes),
            (2, ms(3040), 2)
        );
    }

    #[test]
    fn an_ongoing_outage_lowers_the_up_time_and_a_shutdown_drops_it() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        a.master_silent();
        take_over(&mut a, Reason::MasterDown, t0 + ms(2000));
        a.link_lost(t0 + ms(5000));
        a.transition(
            StateKind::Master,
            Some(StateKind::Fault),
            Reason::LinkDown,
            EVERY,
            t0 + ms(5000),
        );
        // Up: 10 s observed − 1 s outage − 5 s still out.
        assert_eq!(a.figures(t0 + ms(10_000)).mtbf, Some(ms(4000)));
        a.transition(
            StateKind::Fault,
            None,
            Reason::Shutdown,
            EVERY,
            t0 + ms(10_000),
        );
        assert_eq!(a.ongoing(), None);
        let f = a.figures(t0 + ms(20_000));
        assert_eq!(f.outages, 1);
        // Stopped: no state accumulates any more.
        assert_eq!(f.state_time.iter().sum::<Duration>(), ms(10_000));
    }

    #[test]
    fn reset_clears_the_period_but_not_the_lifetime_and_clips_an_open_outage() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        a.master_silent();
        take_over(&mut a, Reason::MasterDown, t0 + ms(4000));
        a.link_lost(t0 + ms(6000));
        a.reset(t0 + ms(7000));
        let f = a.figures(t0 + ms(7000));
        assert_eq!((f.outages, f.master_changes, f.ratio), (0, 0, 1.0));
        assert_eq!(f.state_time, [Duration::ZERO; 4]);
        assert_eq!(a.recent().count(), 0);
        assert_eq!(a.since_reset(), Some(t0 + ms(7000)));
        a.heard(peer(2), 200, EVERY, t0 + ms(9000));
        let f = a.figures(t0 + ms(10_000));
        assert_eq!((f.outages, f.outage_time), (1, ms(2000)));
        assert_eq!(f.state_time[state_index(StateKind::Master)], ms(3000));
        assert_eq!(a.recent().next().map(|o| o.start), Some(t0 + ms(7000)));
        let life = a.lifetime(t0 + ms(10_000));
        assert_eq!((life.outages, life.outage_time), (2, ms(6000)));
        assert_eq!(life.master_changes, 2);
        assert_eq!(a.histogram().count, 2);
        assert_eq!(a.histogram().sum, ms(6000));
    }

    #[test]
    fn the_histogram_buckets_are_upper_bounds() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        let mut at = t0 + ms(1000);
        for length in [50, 51, 3500, 400_000] {
            a.released(peer(2), at);
            a.heard(peer(2), 200, EVERY, at + ms(length));
            at += ms(length + 1000);
            a.heard(peer(2), 200, EVERY, at);
        }
        let h = a.histogram();
        assert_eq!(h.cumulative, [1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
        assert_eq!(h.count, 4);
        assert_eq!(h.sum, ms(50 + 51 + 3500 + 400_000));
        assert_eq!(a.figures(at).longest, ms(400_000));
    }

    #[test]
    fn a_lesser_router_claiming_mastership_while_the_master_speaks_is_ignored() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        for k in 0..5 {
            a.heard(peer(3), 150, EVERY, t0 + ms(1100 + 1000 * k));
            a.heard(peer(2), 200, EVERY, t0 + ms(2000 + 1000 * k));
        }
        assert_eq!(a.figures(t0 + ms(7000)).master_changes, 0);
        // Once the master is silent, the lesser one is the master.
        a.heard(peer(3), 150, EVERY, t0 + ms(9500));
        let f = a.figures(t0 + ms(10_000));
        assert_eq!(
            (f.master_changes, f.outages, f.outage_time),
            (1, 1, ms(3500))
        );
    }

    #[test]
    fn zero_length_outages_are_not_recorded() {
        let t0 = Instant::now();
        let mut a = backup(t0);
        a.released(peer(2), t0 + ms(2000));
        a.heard(peer(2), 200, EVERY, t0 + ms(2000));
        assert_eq!(a.figures(t0 + ms(3000)).outages, 0);
        assert_eq!(a.ongoing(), None);
    }
}
