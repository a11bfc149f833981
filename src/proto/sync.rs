//! keepalived's `vrrp_sync_group`: instances that move together.
//!
//! Rules, as in keepalived's `vrrp_sync.c`:
//! - A fault in one member (its link, its tracking) puts every member in FAULT; masters leave
//!   with a priority-0 advert. When no member has a fault of its own any more, all of them
//!   return to backup together.
//! - No member becomes master by itself: a member whose down timer runs out (or an address
//!   owner) waits in backup, *wanting* to take over. When every member wants to, they all take
//!   over at once. Until then the group prefers backup (no thrashing between routers).
//! - When one member leaves master (it heard a better router), the others leave too.
//!
//! [`SyncGroup`] holds the group's own state and nothing else; the caller owns the member
//! [`Instance`]s, marks them with [`Instance::set_sync_member`] before starting them, and calls
//! [`SyncGroup::reconcile`] with all of them after any of them handled an input. reconcile only
//! calls the members' `handle_group_*` methods: drain their actions afterwards as usual, then
//! drain [`SyncGroup::poll_notification`] for the group's notify scripts.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Instance, Reason, StateKind};

/// A change of the group's state, for its notify scripts (keepalived passes priority 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupNotification {
    /// `None` = stopped.
    pub state: Option<StateKind>,
    pub previous: StateKind,
    /// What moved the group: the reason of the member that moved first.
    pub reason: Reason,
}

impl GroupNotification {
    /// MASTER, BACKUP, FAULT or STOP.
    pub fn state_word(&self) -> &'static str {
        self.state.map_or("STOP", StateKind::as_str)
    }
}

/// A bound on [`SyncGroup::settle`]'s rounds.
pub const MAX_SETTLE_ROUNDS: usize = 4;

/// One sync group. See the module documentation for the call order.
#[derive(Debug)]
pub struct SyncGroup {
    name: String,
    state: StateKind,
    stopped: bool,
    notifications: VecDeque<GroupNotification>,
}

impl SyncGroup {
    pub fn new(name: impl Into<String>) -> SyncGroup {
        SyncGroup {
            name: name.into(),
            state: StateKind::Initialize,
            stopped: false,
            notifications: VecDeque::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Initialize until the members have started, then Backup, Master or Fault.
    pub fn state(&self) -> StateKind {
        self.state
    }

    /// The next change to run the group's notify scripts for.
    pub fn poll_notification(&mut self) -> Option<GroupNotification> {
        self.notifications.pop_front()
    }

    /// Reconciles until the members' states stop changing (one round normally settles a
    /// group and a second confirms it; at most [`MAX_SETTLE_ROUNDS`]). What the members were
    /// made to do waits in their action queues, in order, for the caller to execute afterwards:
    /// executing actions never changes a member's state, so it cannot change the outcome.
    pub fn settle(&mut self, members: &mut [&mut Instance], now: Instant) {
        for _ in 0..MAX_SETTLE_ROUNDS {
            let before: Vec<StateKind> = members.iter().map(|m| m.state()).collect();
            self.reconcile(members, now);
            if members.iter().map(|m| m.state()).eq(before) {
                break;
            }
        }
    }

    /// Brings the members in line with each other, once. Does nothing until every member has
    /// started, nor after [`SyncGroup::handle_shutdown`].
    pub fn reconcile(&mut self, members: &mut [&mut Instance], now: Instant) {
        if self.stopped || members.is_empty() || !members.iter().all(|m| m.is_started()) {
            return;
        }
        if let Some(faulty) = members.iter().find(|m| m.own_fault()) {
            let reason = faulty.last_reason();
            for member in members.iter_mut() {
                member.handle_group_fault(true, now);
            }
            self.set_state(StateKind::Fault, reason);
            return;
        }
        for member in members.iter_mut() {
            member.handle_group_fault(false, now);
        }
        if members.iter().all(|m| m.wants_master()) {
            // The group's reason is that of the first member that takes over now.
            let mut reason = None;
            for member in members.iter_mut() {
                if member.state() != StateKind::Master {
                    member.handle_group_take_over(now);
                    reason.get_or_insert(member.last_reason());
                }
            }
            self.set_state(StateKind::Master, reason.unwrap_or(Reason::SyncGroup));
            return;
        }
        // Not everyone wants to be master, so nobody is. The group's reason is that of a
        // member that is backup by itself (startup, a better master heard ...).
        let reason = members
            .iter()
            .filter(|m| m.state() == StateKind::Backup)
            .map(|m| m.last_reason())
            .find(|r| *r != Reason::SyncGroup)
            .unwrap_or(Reason::SyncGroup);
        for member in members.iter_mut() {
            member.handle_group_step_down(now);
        }
        self.set_state(StateKind::Backup, reason);
    }

    /// The members have been stopped: the group stops too (keepalived's STOP notification).
    pub fn handle_shutdown(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if self.state != StateKind::Initialize {
            self.notifications.push_back(GroupNotification {
                state: None,
                previous: self.state,
                reason: Reason::Shutdown,
            });
        }
        self.state = StateKind::Initialize;
    }

    fn set_state(&mut self, state: StateKind, reason: Reason) {
        if self.state == state {
            return;
        }
        self.notifications.push_back(GroupNotification {
            state: Some(state),
            previous: self.state,
            reason,
        });
        self.state = state;
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use super::*;
    use crate::proto::{Action, AnnounceSchedule, InitialState, InstanceConfig, Notification};
    use crate::proto::{Received, PRIORITY_STOP};
    use crate::wire::{Addresses, Advert, Centis, V2Auth, Version};

    fn member(vrid: u8, priority: u8) -> Instance {
        let mut instance = Instance::new(InstanceConfig {
            name: format!("VI_{vrid}"),
            version: Version::V3,
            vrid,
            priority,
            advert_interval: Centis(100),
            preempt: true,
            preempt_delay: Duration::ZERO,
            initial_state: InitialState::Backup,
            primary_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            vips: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, vrid))],
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            down_timer_adverts: 3,
            announce: AnnounceSchedule::default(),
            auth: V2Auth::NONE,
            unicast: None,
        })
        .unwrap();
        instance.set_sync_member(true);
        instance
    }

    fn actions(instance: &mut Instance) -> Vec<Action> {
        std::iter::from_fn(|| instance.poll_action()).collect()
    }

    fn notifications(group: &mut SyncGroup) -> Vec<(StateKind, &'static str, Reason)> {
        std::iter::from_fn(|| group.poll_notification())
            .map(|n| (n.previous, n.state_word(), n.reason))
            .collect()
    }

    fn fire(instance: &mut Instance) {
        let at = instance.poll_timeout().expect("a running timer");
        instance.handle_timeout(at);
    }

    fn advert(vrid: u8, priority: u8) -> Advert {
        Advert {
            version: Version::V3,
            vrid,
            priority,
            interval: Centis(100),
            addresses: Addresses::V4(vec![Ipv4Addr::new(192, 0, 2, vrid)]),
            auth: None,
        }
    }

    fn hear(instance: &mut Instance, vrid: u8, priority: u8, now: Instant) {
        let advert = advert(vrid, priority);
        instance.handle_advert(
            Received {
                src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)),
                dst: IpAddr::V4(crate::wire::MCAST_V4),
                ttl: 255,
                advert: &advert,
            },
            now,
        );
    }

    /// Two started members and their group, settled in Backup.
    fn started() -> (SyncGroup, Instance, Instance, Instant) {
        let now = Instant::now();
        let (mut a, mut b) = (member(1, 200), member(2, 200));
        let mut group = SyncGroup::new("G");
        a.handle_startup(true, now);
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!(
            group.state(),
            StateKind::Initialize,
            "waits for every member"
        );
        b.handle_startup(true, now);
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!(
            notifications(&mut group),
            vec![(StateKind::Initialize, "BACKUP", Reason::Startup)]
        );
        actions(&mut a);
        actions(&mut b);
        (group, a, b, now)
    }

    fn masters() -> (SyncGroup, Instance, Instance, Instant) {
        let (mut group, mut a, mut b, now) = started();
        fire(&mut a);
        fire(&mut b);
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!(group.state(), StateKind::Master);
        notifications(&mut group);
        actions(&mut a);
        actions(&mut b);
        (group, a, b, now)
    }

    #[test]
    fn a_member_takes_over_only_when_every_member_wants_to() {
        let (mut group, mut a, mut b, now) = started();
        fire(&mut a);
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!(a.state(), StateKind::Backup, "waits for b");
        assert!(a.wants_master() && !b.wants_master());
        assert_eq!(a.poll_timeout(), None, "no timer while waiting");
        assert!(actions(&mut a).is_empty());
        fire(&mut b);
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!(
            (a.state(), b.state()),
            (StateKind::Master, StateKind::Master)
        );
        assert_eq!(a.last_reason(), Reason::MasterDown);
        assert!(matches!(
            actions(&mut a).as_slice(),
            [Action::Transmit(_), Action::InstallVips(_), ..]
        ));
        assert_eq!(
            notifications(&mut group),
            vec![(StateKind::Backup, "MASTER", Reason::MasterDown)]
        );
    }

    #[test]
    fn hearing_a_master_again_withdraws_the_wish() {
        let (mut group, mut a, mut b, now) = started();
        fire(&mut a);
        hear(&mut a, 1, 250, now);
        assert!(!a.wants_master());
        assert!(a.poll_timeout().is_some(), "its down timer runs again");
        fire(&mut b);
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!(group.state(), StateKind::Backup);
        assert_eq!(b.state(), StateKind::Backup);
    }

    #[test]
    fn a_fault_in_one_member_faults_all_and_its_end_returns_all_to_backup() {
        let (mut group, mut a, mut b, now) = masters();
        a.handle_link_down(now);
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!((a.state(), b.state()), (StateKind::Fault, StateKind::Fault));
        let got = actions(&mut b);
        assert!(matches!(got[0], Action::Transmit(ref adv) if adv.priority == PRIORITY_STOP));
        assert!(matches!(got[1], Action::RemoveVips(_)));
        assert!(matches!(
            got[2],
            Action::Notify(Notification {
                state: Some(StateKind::Fault),
                reason: Reason::SyncGroup,
                ..
            })
        ));
        assert_eq!(
            notifications(&mut group),
            vec![(StateKind::Master, "FAULT", Reason::LinkDown)]
        );
        actions(&mut a);
        a.handle_link_up(now);
        assert_eq!(
            a.state(),
            StateKind::Fault,
            "held by the group until it reconciles"
        );
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!(
            (a.state(), b.state()),
            (StateKind::Backup, StateKind::Backup)
        );
        assert_eq!(
            notifications(&mut group),
            vec![(StateKind::Fault, "BACKUP", Reason::SyncGroup)]
        );
    }

    #[test]
    fn when_one_member_leaves_master_the_others_follow_without_an_advert() {
        let (mut group, mut a, mut b, now) = masters();
        hear(&mut a, 1, 250, now);
        assert_eq!(a.state(), StateKind::Backup);
        group.reconcile(&mut [&mut a, &mut b], now);
        assert_eq!(b.state(), StateKind::Backup);
        let got = actions(&mut b);
        assert!(matches!(got[0], Action::RemoveVips(_)));
        assert!(matches!(
            got[1],
            Action::Notify(Notification {
                state: Some(StateKind::Backup),
                previous: StateKind::Master,
                reason: Reason::SyncGroup,
                ..
            })
        ));
        assert_eq!(got.len(), 2);
        assert_eq!(
            notifications(&mut group),
            vec![(StateKind::Master, "BACKUP", Reason::HigherPriority)]
        );
    }

    #[test]
    fn an_owner_member_waits_for_its_group_too() {
        let now = Instant::now();
        let (mut owner, mut other) = (member(1, 255), member(2, 100));
        let mut group = SyncGroup::new("G");
        owner.handle_startup(true, now);
        other.handle_startup(true, now);
        assert_eq!(owner.state(), StateKind::Backup);
        assert!(owner.wants_master());
        group.reconcile(&mut [&mut owner, &mut other], now);
        assert_eq!(group.state(), StateKind::Backup);
        fire(&mut other);
        group.reconcile(&mut [&mut owner, &mut other], now);
        assert_eq!(owner.state(), StateKind::Master);
        assert_eq!(owner.last_reason(), Reason::Owner);
    }

    #[test]
    fn shutdown_reports_stop_once_and_ends_reconciling() {
        let (mut group, mut a, mut b, now) = masters();
        a.handle_shutdown(now);
        b.handle_shutdown(now);
        group.reconcile(&mut [&mut a, &mut b], now);
        group.handle_shutdown();
        group.handle_shutdown();
        assert_eq!(
            notifications(&mut group),
            vec![(StateKind::Master, "STOP", Reason::Shutdown)]
        );
    }
}
