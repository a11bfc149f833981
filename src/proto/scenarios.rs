//! Scenario tests on the simulated LAN, each named after the rule it proves, with exact virtual
//! times. Router i has address 192.0.2.(10 + i) unless a test says otherwise.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::sim::{Lan, TraceEvent};
use super::timers::{master_down_interval, skew_time};
use super::track::Verdict;
use super::{AnnounceSchedule, InitialState, InstanceConfig, Reason, StateKind};
use crate::wire::{Centis, V2Auth, Version};

const LATENCY: Duration = Duration::from_micros(100);
/// Two hops: sender to switch, switch to receiver.
const HOP2: Duration = Duration::from_micros(200);

fn router(index: u8, priority: u8, version: Version, interval: Centis) -> InstanceConfig {
    InstanceConfig {
        name: format!("VI_{index}"),
        version,
        vrid: 51,
        priority,
        advert_interval: interval,
        preempt: true,
        preempt_delay: Duration::ZERO,
        initial_state: InitialState::Backup,
        primary_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + index)),
        vips: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))],
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        down_timer_adverts: 3,
        announce: AnnounceSchedule::default(),
        auth: V2Auth::NONE,
        unicast: None,
    }
}

fn v3(index: u8, priority: u8) -> InstanceConfig {
    router(index, priority, Version::V3, Centis(100))
}

fn lan_of(configs: Vec<InstanceConfig>) -> Lan {
    let mut lan = Lan::new(7);
    for config in configs {
        lan.add_router(config, LATENCY);
    }
    lan
}

/// When `router` last entered `state`, if ever.
fn entered(lan: &Lan, router: usize, state: StateKind) -> Option<(Duration, Reason)> {
    lan.trace().iter().rev().find_map(|e| match e.event {
        TraceEvent::Transition { to, reason, .. } if e.router == router && to == Some(state) => {
            Some((e.at, reason))
        }
        _ => None,
    })
}

/// When `router` last transmitted before `before`.
fn last_transmit_before(lan: &Lan, router: usize, before: Duration) -> Duration {
    lan.trace()
        .iter()
        .rev()
        .find(|e| {
            e.router == router && e.at <= before && matches!(e.event, TraceEvent::Transmit { .. })
        })
        .map(|e| e.at)
        .expect("router never transmitted")
}

fn mdi(version: Version, priority: u8, interval: Centis) -> Duration {
    master_down_interval(version, priority, interval)
}

#[test]
fn cold_start_of_two_highest_priority_ends_master() {
    let mut lan = lan_of(vec![v3(0, 100), v3(1, 200)]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![1]);
    assert_eq!(lan.state(0), Some(StateKind::Backup));
    assert!(lan.holds_vips(1) && !lan.holds_vips(0));
    // Nobody is master until the best router's down timer runs out.
    let (at, reason) = entered(&lan, 1, StateKind::Master).unwrap();
    assert_eq!(at, mdi(Version::V3, 200, Centis(100)));
    assert_eq!(reason, Reason::MasterDown);
    assert_eq!(entered(&lan, 0, StateKind::Master), None);
}

#[test]
fn cold_start_of_three_highest_priority_ends_master() {
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let mut lan = lan_of(vec![v3(0, 150), v3(1, 100), v3(2, 250)]);
        for r in order {
            lan.start(r);
        }
        lan.run_until(Duration::from_secs(10));
        assert_eq!(lan.masters(), vec![2], "start order {order:?}");
        assert_eq!(lan.state(0), Some(StateKind::Backup));
        assert_eq!(lan.state(1), Some(StateKind::Backup));
    }
}

#[test]
fn master_crash_best_backup_takes_over_at_master_down_interval() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 150), v3(2, 100)]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![0]);
    let crash_at = Duration::from_millis(10_500);
    lan.run_until(crash_at);
    lan.crash(0);
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![1]);
    let last_advert = last_transmit_before(&lan, 0, crash_at);
    let (took_over, reason) = entered(&lan, 1, StateKind::Master).unwrap();
    assert_eq!(
        took_over,
        last_advert + HOP2 + mdi(Version::V3, 150, Centis(100))
    );
    assert_eq!(reason, Reason::MasterDown);
    assert!(lan.holds_vips(1));
}

#[test]
fn master_crash_v2_takeover_uses_fractional_skew() {
    let interval = Centis(100);
    let mut lan = lan_of(vec![
        router(0, 200, Version::V2, interval),
        router(1, 100, Version::V2, interval),
    ]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    let crash_at = Duration::from_millis(10_300);
    lan.run_until(crash_at);
    lan.crash(0);
    lan.run_until(Duration::from_secs(20));
    let last_advert = last_transmit_before(&lan, 0, crash_at);
    let (took_over, _) = entered(&lan, 1, StateKind::Master).unwrap();
    // 3 s + 156/256 s, not 3 s.
    assert_eq!(
        took_over - last_advert - HOP2,
        Duration::from_micros(3_609_375)
    );
}

#[test]
fn graceful_stop_hands_over_at_skew_time() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 100)]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    let stop_at = Duration::from_millis(10_250);
    lan.run_until(stop_at);
    lan.shutdown(0);
    assert!(!lan.holds_vips(0));
    lan.run_until(Duration::from_secs(20));
    let (took_over, reason) = entered(&lan, 1, StateKind::Master).unwrap();
    assert_eq!(
        took_over,
        stop_at + HOP2 + skew_time(Version::V3, 100, Centis(100))
    );
    assert_eq!(reason, Reason::PriorityZero);
    let stop = lan.trace().iter().find(|e| {
        e.router == 0 && e.at == stop_at && e.event == TraceEvent::Transmit { priority: 0 }
    });
    assert!(stop.is_some(), "the leaving master sends priority 0");
}

#[test]
fn returning_master_preempts() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 100)]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    lan.crash(0);
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![1]);
    lan.start(0);
    lan.run_until(Duration::from_secs(30));
    assert_eq!(lan.masters(), vec![0]);
    let (at, reason) = entered(&lan, 0, StateKind::Master).unwrap();
    assert_eq!(reason, Reason::Preempted);
    // It hears the lower master within one interval, ignores it, and its down timer (started at
    // boot) runs out: preemption takes one Master_Down_Interval from the restart.
    assert_eq!(
        at,
        Duration::from_secs(20) + mdi(Version::V3, 200, Centis(100))
    );
    let (back, reason) = entered(&lan, 1, StateKind::Backup).unwrap();
    assert_eq!(reason, Reason::HigherPriority);
    assert_eq!(back, at + HOP2);
    assert!(!lan.holds_vips(1));
}

#[test]
fn returning_master_with_nopreempt_stays_backup() {
    let mut returning = v3(0, 200);
    returning.preempt = false;
    let mut lan = lan_of(vec![returning, v3(1, 100)]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![0], "nopreempt still wins a cold start");
    lan.crash(0);
    lan.run_until(Duration::from_secs(20));
    lan.start(0);
    lan.run_until(Duration::from_secs(60));
    assert_eq!(lan.masters(), vec![1]);
    assert_eq!(lan.state(0), Some(StateKind::Backup));
}

#[test]
fn returning_master_with_preempt_delay_waits_for_the_delay() {
    let mut returning = v3(0, 200);
    returning.preempt_delay = Duration::from_secs(15);
    let mut lan = lan_of(vec![returning, v3(1, 100)]);
    lan.start(1);
    lan.run_until(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![1]);
    lan.start(0);
    lan.run_until(Duration::from_secs(24));
    assert_eq!(lan.masters(), vec![1], "still within the preempt delay");
    lan.run_until(Duration::from_secs(40));
    assert_eq!(lan.masters(), vec![0]);
    let (at, reason) = entered(&lan, 0, StateKind::Master).unwrap();
    assert_eq!(reason, Reason::Preempted);
    // The delay counts from the first lower advert heard after the restart; after it the lower
    // adverts are ignored and the down timer set by the last accepted one runs out.
    let first_heard = Duration::from_secs(10) + HOP2;
    assert!(at >= first_heard + Duration::from_secs(15));
    assert!(
        at <= first_heard
            + Duration::from_secs(15)
            + mdi(Version::V3, 200, Centis(100))
            + Duration::from_secs(1)
    );
}

#[test]
fn equal_priorities_higher_address_wins_every_run() {
    for seed in 0..20u64 {
        let mut lan = Lan::new(seed);
        for i in 0..3u8 {
            // Latencies differ per seed so the adverts cross in every possible order.
            let latency = Duration::from_micros(50 + (seed * 37 + u64::from(i) * 101) % 900);
            lan.add_router(v3(i, 100), latency);
        }
        lan.start_all();
        lan.run_until(Duration::from_secs(10));
        assert_eq!(lan.masters(), vec![2], "seed {seed}");
    }
}

#[test]
fn owner_is_master_at_once() {
    let mut lan = lan_of(vec![v3(0, 255), v3(1, 200)]);
    lan.start(1);
    lan.run_until(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![1]);
    let owner_start = Duration::from_millis(10_010);
    lan.run_until(owner_start);
    lan.start(0);
    let (at, reason) = entered(&lan, 0, StateKind::Master).unwrap();
    assert_eq!((at, reason), (owner_start, Reason::Owner));
    lan.run_until(Duration::from_secs(11));
    assert_eq!(lan.masters(), vec![0]);
    assert_eq!(
        entered(&lan, 1, StateKind::Backup).unwrap().0,
        owner_start + HOP2
    );
}

#[test]
fn configured_master_starts_after_one_interval() {
    let mut configured = v3(0, 150);
    configured.initial_state = InitialState::Master;
    let mut lan = lan_of(vec![configured]);
    lan.start_all();
    lan.run_until(Duration::from_secs(5));
    let (at, _) = entered(&lan, 0, StateKind::Master).unwrap();
    assert_eq!(
        at,
        Duration::from_secs(1) + skew_time(Version::V3, 255, Centis(100))
    );
}

#[test]
fn partition_then_heal_leaves_exactly_one_master_within_one_interval() {
    for parting_advert in [false, true] {
        let mut loser = v3(1, 100);
        loser.higher_prio_send_advert = parting_advert;
        let mut lan = lan_of(vec![v3(0, 200), loser]);
        lan.start_all();
        lan.run_until(Duration::from_secs(10));
        lan.partition(&[&[0], &[1]]);
        lan.run_until(Duration::from_secs(20));
        assert_eq!(
            lan.masters(),
            vec![0, 1],
            "both sides elect a master while cut"
        );
        let heal_at = Duration::from_millis(20_123);
        lan.run_until(heal_at);
        lan.heal();
        lan.run_until(heal_at + Duration::from_secs(1) + HOP2);
        assert_eq!(lan.masters(), vec![0]);
        let (back, reason) = entered(&lan, 1, StateKind::Backup).unwrap();
        assert!(back > heal_at && back <= heal_at + Duration::from_secs(1) + HOP2);
        assert_eq!(reason, Reason::HigherPriority);
        // The master that never changed state re-announces once it hears the lower one: from
        // the loser's regular advert if that came first, or from its parting advert with
        // higher_prio_send_advert.
        let loser_spoke_after_heal = lan.trace().iter().any(|e| {
            e.router == 1 && e.at > heal_at && matches!(e.event, TraceEvent::Transmit { .. })
        });
        let announced_after_heal = lan.trace().iter().any(|e| {
            e.router == 0 && e.at > heal_at && matches!(e.event, TraceEvent::Announce { .. })
        });
        assert_eq!(announced_after_heal, loser_spoke_after_heal);
        if parting_advert {
            assert!(
                announced_after_heal,
                "the parting advert makes the winner re-announce"
            );
        }
    }
}

#[test]
fn higher_prio_send_advert_off_no_spurious_takeover_with_mixed_intervals() {
    // Router 0: the best, adverts every 3 s, lower_prio_no_advert (it answers no lower advert).
    // Router 1: adverts every 100 ms. Router 2: the lowest, a v3 backup that learns the
    // interval of whoever it follows. Cut {0} | {1, 2}: 1 becomes master, 2 follows it. On
    // heal, 0's next advert deposes 1. With keepalived's opt-in higher_prio_send_advert, 1's
    // parting advert (priority 100 > 2's 50) makes 2 re-learn 100 ms, so 2's down timer fires
    // after ~0.4 s while 0 is silent for 3 s: a spurious takeover. Off (the default): none.
    for parting_advert in [false, true] {
        let mut best = router(0, 200, Version::V3, Centis(300));
        best.lower_prio_no_advert = true;
        let mut fast = router(1, 100, Version::V3, Centis(10));
        fast.higher_prio_send_advert = parting_advert;
        let mut lowest = router(2, 50, Version::V3, Centis(100));
        lowest.higher_prio_send_advert = parting_advert;
        let mut lan = lan_of(vec![best, fast, lowest]);
        lan.start_all();
        lan.run_until(Duration::from_secs(20));
        assert_eq!(lan.masters(), vec![0]);
        lan.partition(&[&[0], &[1, 2]]);
        lan.run_until(Duration::from_secs(40));
        assert_eq!(
            lan.masters(),
            vec![0, 1],
            "both sides elect a master while cut"
        );
        assert_eq!(lan.instance(2).unwrap().master_interval(), Centis(10));
        let heal_at = Duration::from_millis(40_050);
        lan.run_until(heal_at);
        lan.heal();
        lan.run_until(heal_at + Duration::from_secs(30));
        assert_eq!(lan.masters(), vec![0], "parting advert {parting_advert}");
        let deposed = entered(&lan, 1, StateKind::Backup).unwrap();
        assert!(deposed.0 > heal_at);
        assert_eq!(deposed.1, Reason::HigherPriority);
        let lowest_took_over =
            entered(&lan, 2, StateKind::Master).is_some_and(|(at, _)| at > heal_at);
        assert_eq!(
            lowest_took_over, parting_advert,
            "router 2 took over after the heal (parting advert {parting_advert})"
        );
        if !parting_advert {
            // Every backup follows the real master's interval.
            assert_eq!(lan.instance(1).unwrap().master_interval(), Centis(300));
            assert_eq!(lan.instance(2).unwrap().master_interval(), Centis(300));
            let transitions_after_heal = lan
                .trace()
                .iter()
                .filter(|e| e.at > heal_at && matches!(e.event, TraceEvent::Transition { .. }))
                .count();
            assert_eq!(transitions_after_heal, 1, "only router 1 stepping down");
        }
    }
}

#[test]
fn heal_with_lower_prio_no_advert_still_converges_on_the_next_advert() {
    // No answering advert, but keepalived still re-announces (garp_lower_prio_repeat) unless
    // that is 0.
    for (lower_prio_repeat, reannounces) in [(5, true), (0, false)] {
        let mut quiet = v3(0, 200);
        quiet.lower_prio_no_advert = true;
        quiet.announce.lower_prio_repeat = lower_prio_repeat;
        // The loser's parting advert makes sure the winner hears a lower advert even when its
        // own advert reaches the loser first.
        let mut loser = v3(1, 100);
        loser.higher_prio_send_advert = true;
        let mut lan = lan_of(vec![quiet, loser]);
        lan.start_all();
        lan.run_until(Duration::from_secs(10));
        lan.partition(&[&[0], &[1]]);
        lan.run_until(Duration::from_secs(20));
        lan.heal();
        lan.run_until(Duration::from_secs(22));
        assert_eq!(lan.masters(), vec![0]);
        let announced_after_heal = lan.trace().iter().any(|e| {
            e.router == 0
                && e.at > Duration::from_secs(20)
                && matches!(e.event, TraceEvent::Announce { .. })
        });
        assert_eq!(
            announced_after_heal, reannounces,
            "garp_lower_prio_repeat {lower_prio_repeat}"
        );
    }
}

#[test]
fn v3_backup_learns_the_master_interval() {
    // The backup is configured with 1 s but the master advertises every 300 ms.
    let mut lan = lan_of(vec![
        router(0, 200, Version::V3, Centis(30)),
        router(1, 100, Version::V3, Centis(100)),
    ]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    assert_eq!(lan.instance(1).unwrap().master_interval(), Centis(30));
    let crash_at = Duration::from_millis(10_050);
    lan.run_until(crash_at);
    lan.crash(0);
    lan.run_until(Duration::from_secs(20));
    let last = last_transmit_before(&lan, 0, crash_at);
    let (took_over, _) = entered(&lan, 1, StateKind::Master).unwrap();
    assert_eq!(took_over, last + HOP2 + mdi(Version::V3, 100, Centis(30)));
    // As master it advertises at its own configured interval again.
    assert_eq!(lan.instance(1).unwrap().master_interval(), Centis(100));
}

#[test]
fn v2_interval_mismatch_is_dropped_and_counted() {
    let mut lan = lan_of(vec![
        router(0, 200, Version::V2, Centis(100)),
        router(1, 100, Version::V2, Centis(200)),
    ]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    // The backup never accepts the master's adverts, so it becomes master too: exactly what
    // keepalived and the RFC do, visible to the operator through the counter.
    let counters = *lan.instance(1).unwrap().counters();
    assert!(counters.advert_interval_err >= 5, "{counters:?}");
    assert_eq!(lan.state(1), Some(StateKind::Master));
}

#[test]
fn link_down_on_master_moves_the_vip_and_link_up_recovers() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 100)]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    lan.link_down(0);
    assert_eq!(lan.state(0), Some(StateKind::Fault));
    assert!(!lan.holds_vips(0));
    lan.run_until(Duration::from_secs(15));
    assert_eq!(lan.masters(), vec![1]);
    lan.link_up(0);
    assert_eq!(lan.state(0), Some(StateKind::Backup));
    lan.run_until(Duration::from_secs(25));
    assert_eq!(lan.masters(), vec![0]);
}

#[test]
fn lowered_priority_lets_the_backup_preempt() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 150)]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    lan.set_priority(0, 100);
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![1]);
}

fn adjust(by: i64) -> Verdict {
    Verdict {
        adjust: by,
        ..Verdict::default()
    }
}

#[test]
fn tracking_drop_moves_the_master_and_recovery_moves_it_back() {
    let (r0, r1) = (v3(0, 200), v3(1, 150));
    let mut lan = lan_of(vec![r0, r1]);
    lan.start_all();
    let dropped_at = Duration::from_millis(10_050);
    lan.run_until(dropped_at);
    lan.track(0, adjust(-100));
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![1]);
    // r1 discards r0's adverts at 100 from the next one on: its timer, last restarted by r0's
    // advert at 200, runs out.
    let last_at_200 = last_transmit_before(&lan, 0, dropped_at);
    assert_eq!(
        entered(&lan, 1, StateKind::Master),
        Some((
            last_at_200 + HOP2 + mdi(Version::V3, 150, Centis(100)),
            Reason::Preempted
        ))
    );
    assert_eq!(lan.state(0), Some(StateKind::Backup));

    let recovered_at = Duration::from_millis(20_030);
    lan.run_until(recovered_at);
    lan.track(0, Verdict::default());
    lan.run_until(Duration::from_secs(30));
    assert_eq!(lan.masters(), vec![0]);
    // r0's timer, restarted by r1's last advert it accepted, moved with r0's new Skew_Time.
    let last_from_r1 = last_transmit_before(&lan, 1, recovered_at);
    assert_eq!(
        entered(&lan, 0, StateKind::Master),
        Some((
            last_from_r1 + HOP2 + mdi(Version::V3, 200, Centis(100)),
            Reason::Preempted
        ))
    );
}

#[test]
fn tracking_fault_hands_over_at_skew_time_and_its_end_preempts_back() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 150)]);
    lan.start_all();
    let fault_at = Duration::from_millis(10_020);
    lan.run_until(fault_at);
    lan.track(
        0,
        Verdict {
            fault: true,
            ..Verdict::default()
        },
    );
    assert_eq!(lan.state(0), Some(StateKind::Fault));
    assert!(!lan.holds_vips(0));
    lan.run_until(Duration::from_secs(15));
    assert_eq!(
        entered(&lan, 1, StateKind::Master),
        Some((
            fault_at + HOP2 + skew_time(Version::V3, 150, Centis(100)),
            Reason::PriorityZero
        ))
    );
    let cleared_at = Duration::from_millis(15_010);
    lan.run_until(cleared_at);
    lan.track(0, Verdict::default());
    assert_eq!(lan.state(0), Some(StateKind::Backup));
    lan.run_until(Duration::from_secs(25));
    assert_eq!(lan.masters(), vec![0]);
    assert_eq!(
        entered(&lan, 0, StateKind::Master),
        Some((
            cleared_at + mdi(Version::V3, 200, Centis(100)),
            Reason::Preempted
        ))
    );
}

#[test]
fn tracking_raise_without_preempt_does_not_take_over() {
    let mut r1 = v3(1, 150);
    r1.preempt = false;
    let mut lan = lan_of(vec![v3(0, 200), r1]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    lan.track(1, adjust(80));
    assert_eq!(lan.instance(1).map(|i| i.effective_priority()), Some(230));
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![0]);
    // With preemption it would have.
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 150)]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    lan.track(1, adjust(80));
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![1]);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Fault {
        Crash(usize),
        Restart(usize),
        Partition(u8),
        Heal,
        LinkDown(usize),
        LinkUp(usize),
        Loss(u32),
        Stop(usize),
        Wait(u64),
    }

    fn fault(routers: usize) -> impl Strategy<Value = Fault> {
        prop_oneof![
            (0..routers).prop_map(Fault::Crash),
            (0..routers).prop_map(Fault::Restart),
            any::<u8>().prop_map(Fault::Partition),
            Just(Fault::Heal),
            (0..routers).prop_map(Fault::LinkDown),
            (0..routers).prop_map(Fault::LinkUp),
            (0u32..=50_000).prop_map(Fault::Loss),
            (0..routers).prop_map(Fault::Stop),
            (1u64..5_000).prop_map(Fault::Wait),
        ]
    }

    fn scenario() -> impl Strategy<Value = (Vec<(u8, u16)>, Version, u64, Vec<Fault>)> {
        (2usize..=4).prop_flat_map(|n| {
            (
                // Distinct priorities (equal ones need the tie-break, proved above), and a
                // per-router interval so v3 interval learning is exercised.
                proptest::sample::subsequence((1u8..=254).collect::<Vec<_>>(), n)
                    .prop_shuffle()
                    .prop_flat_map(move |prios| {
                        let len = prios.len();
                        (Just(prios), proptest::collection::vec(1u16..=20, len))
                    })
                    .prop_map(|(prios, intervals)| {
                        prios
                            .into_iter()
                            .zip(intervals.into_iter().map(|i| i * 5))
                            .collect::<Vec<_>>()
                    }),
                prop_oneof![Just(Version::V2), Just(Version::V3)],
                any::<u64>(),
                proptest::collection::vec(fault(n), 0..16),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

        #[test]
        fn after_faults_heal_the_best_reachable_router_is_the_only_master(
            (routers, version, seed, faults) in scenario()
        ) {
            let mut lan = Lan::new(seed);
            for (i, &(priority, interval)) in routers.iter().enumerate() {
                let interval = match version {
                    Version::V2 => Centis(100),
                    Version::V3 => Centis(interval),
                };
                let latency = Duration::from_micros(20 + (seed.rotate_left(i as u32) % 500));
                lan.add_router(router(i as u8, priority, version, interval), latency);
            }
            lan.start_all();
            let mut alive = vec![true; routers.len()];
            for fault in &faults {
                match *fault {
                    Fault::Crash(r) => { lan.crash(r); alive[r] = false; }
                    Fault::Stop(r) => { lan.shutdown(r); alive[r] = false; }
                    Fault::Restart(r) => { if !alive[r] { lan.start(r); alive[r] = true; } }
                    Fault::Partition(mask) => {
                        let (a, b): (Vec<usize>, Vec<usize>) =
                            (0..routers.len()).partition(|r| mask & (1 << r) != 0);
                        lan.partition(&[&a, &b]);
                    }
                    Fault::Heal => lan.heal(),
                    Fault::LinkDown(r) => lan.link_down(r),
                    Fault::LinkUp(r) => lan.link_up(r),
                    Fault::Loss(per_million) => lan.set_loss(per_million),
                    Fault::Wait(ms) => lan.run_for(Duration::from_millis(ms)),
                }
            }
            // Every fault heals; crashed routers stay dead.
            lan.heal();
            lan.set_loss(0);
            for r in 0..routers.len() {
                lan.link_up(r);
            }
            let slowest = routers.iter().map(|&(_, i)| i).max().unwrap_or(100);
            let slowest = match version { Version::V2 => 100, Version::V3 => slowest };
            lan.run_for(2 * master_down_interval(version, 1, Centis(slowest)));

            let best = (0..routers.len())
                .filter(|&r| alive[r])
                .max_by_key(|&r| (routers[r].0, lan.config(r).primary_address));
            let masters = lan.masters();
            match best {
                Some(best) => {
                    prop_assert_eq!(masters, vec![best]);
                    prop_assert!(lan.holds_vips(best));
                    for r in (0..routers.len()).filter(|&r| r != best) {
                        prop_assert!(!lan.holds_vips(r), "router {} still holds the VIP", r);
                    }
                }
                None => prop_assert!(masters.is_empty()),
            }
        }
    }
}

/// Unicast mode on a LAN that drops multicast, as clouds do.
mod unicast {
    use super::*;
    use crate::proto::{Unicast, UnicastPeer};

    fn address(index: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + index))
    }

    /// Router `index` sending to (and, with `check_src`, accepting only) the routers `peers`.
    fn unicast(index: u8, priority: u8, peers: &[u8], check_src: bool) -> InstanceConfig {
        InstanceConfig {
            unicast: Some(Unicast {
                peers: peers
                    .iter()
                    .map(|&p| UnicastPeer::new(address(p)))
                    .collect(),
                check_src,
            }),
            ..v3(index, priority)
        }
    }

    #[test]
    fn unicast_pair_elects_and_fails_over_where_multicast_pairs_cannot() {
        let mut lan = lan_of(vec![
            unicast(0, 200, &[1], true),
            unicast(1, 100, &[0], true),
            v3(2, 200),
            v3(3, 100),
        ]);
        lan.block_multicast(true);
        lan.start_all();
        lan.run_until(Duration::from_secs(10));
        // The multicast pair hears nothing: both are master. The unicast pair elects.
        assert_eq!(lan.masters(), vec![0, 2, 3]);
        assert!(lan.instance(1).unwrap().counters().advert_rcvd >= 5);
        let crash_at = Duration::from_millis(10_500);
        lan.run_until(crash_at);
        lan.crash(0);
        lan.run_until(Duration::from_secs(20));
        let last_advert = last_transmit_before(&lan, 0, crash_at);
        let (took_over, reason) = entered(&lan, 1, StateKind::Master).unwrap();
        assert_eq!(
            took_over,
            last_advert + HOP2 + mdi(Version::V3, 100, Centis(100))
        );
        assert_eq!(reason, Reason::MasterDown);
        // Back again, router 0 preempts; then it stops gracefully and 1 takes over at Skew_Time.
        lan.start(0);
        lan.run_until(Duration::from_secs(30));
        assert_eq!(lan.masters(), vec![0, 2, 3]);
        let stop_at = Duration::from_millis(30_250);
        lan.run_until(stop_at);
        lan.shutdown(0);
        lan.run_until(Duration::from_secs(40));
        let (took_over, reason) = entered(&lan, 1, StateKind::Master).unwrap();
        assert_eq!(
            took_over,
            stop_at + HOP2 + skew_time(Version::V3, 100, Centis(100))
        );
        assert_eq!(reason, Reason::PriorityZero);
    }

    #[test]
    fn a_stranger_cannot_depose_a_unicast_master() {
        // Router 2 sends its priority 250 to router 0, which does not list it.
        let mut lan = lan_of(vec![
            unicast(0, 200, &[1], true),
            unicast(1, 100, &[0], true),
            unicast(2, 250, &[0], true),
        ]);
        lan.block_multicast(true);
        lan.start_all();
        lan.run_until(Duration::from_secs(10));
        assert_eq!(lan.masters(), vec![0, 2]);
        let counters = *lan.instance(0).unwrap().counters();
        assert!(counters.unicast_src_err >= 5, "{counters:?}");
        assert_eq!(lan.instance(1).unwrap().counters().unicast_src_err, 0);
    }

    #[test]
    fn without_source_checking_a_stranger_deposes_the_master() {
        // keepalived's default: router 0 obeys router 2, goes silent, and router 1 takes over.
        let mut lan = lan_of(vec![
            unicast(0, 200, &[1], false),
            unicast(1, 100, &[0], false),
            unicast(2, 250, &[0], false),
        ]);
        lan.block_multicast(true);
        lan.start_all();
        lan.run_until(Duration::from_secs(10));
        assert_eq!(lan.masters(), vec![1, 2]);
        assert_eq!(lan.state(0), Some(StateKind::Backup));
    }
}

// ---- sync groups ---------------------------------------------------------------------------

/// Two hosts A (routers 0, 1) and B (routers 2, 3), each running VRID 1 and VRID 2.
fn two_hosts(a: u8, b: u8) -> Lan {
    let member = |index: u8, vrid: u8, priority: u8| {
        let mut config = v3(index, priority);
        config.vrid = vrid;
        config.name = format!("VI_{vrid}");
        config.vips = vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99 + vrid))];
        config
    };
    lan_of(vec![
        member(0, 1, a),
        member(1, 2, a),
        member(2, 1, b),
        member(3, 2, b),
    ])
}

/// When the sync group `group` last entered `state`, and why.
fn group_entered(lan: &Lan, group: usize, state: StateKind) -> Option<(Duration, Reason)> {
    lan.trace().iter().rev().find_map(|e| match e.event {
        TraceEvent::Group {
            group: g,
            to,
            reason,
            ..
        } if g == group && to == Some(state) => Some((e.at, reason)),
        _ => None,
    })
}

#[test]
fn sync_group_fails_over_together_when_one_link_goes_down_and_comes_back_together() {
    let mut lan = two_hosts(200, 100);
    let ga = lan.add_sync_group("A", &[0, 1]);
    let gb = lan.add_sync_group("B", &[2, 3]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    assert_eq!(lan.masters(), vec![0, 1]);
    assert_eq!(
        (lan.group_state(ga), lan.group_state(gb)),
        (StateKind::Master, StateKind::Backup)
    );
    // A's members wanted to take over at the same instant and did.
    let mdi_a = mdi(Version::V3, 200, Centis(100));
    assert_eq!(
        group_entered(&lan, ga, StateKind::Master),
        Some((mdi_a, Reason::MasterDown))
    );

    let down_at = Duration::from_millis(10_050);
    lan.run_until(down_at);
    lan.link_down(0);
    assert_eq!(
        (lan.state(0), lan.state(1)),
        (Some(StateKind::Fault), Some(StateKind::Fault))
    );
    assert!(
        !lan.holds_vips(1),
        "the healthy member released its VIP too"
    );
    assert_eq!(
        entered(&lan, 1, StateKind::Fault),
        Some((down_at, Reason::SyncGroup))
    );
    assert_eq!(
        group_entered(&lan, ga, StateKind::Fault),
        Some((down_at, Reason::LinkDown))
    );
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![2, 3]);
    // B2 heard A2's priority 0 and wanted to take over after Skew_Time, but waited for B1,
    // whose master (A1) went silent: both took over together, when B1's timer ran out.
    // (A1's priority-0 advert at down_at never left: its link was down.)
    let a1_last = last_transmit_before(&lan, 0, down_at - Duration::from_nanos(1));
    let b_took_over = a1_last + HOP2 + mdi(Version::V3, 100, Centis(100));
    assert_eq!(
        entered(&lan, 2, StateKind::Master),
        Some((b_took_over, Reason::MasterDown))
    );
    assert_eq!(
        entered(&lan, 3, StateKind::Master),
        Some((b_took_over, Reason::PriorityZero))
    );
    assert_eq!(
        group_entered(&lan, gb, StateKind::Master),
        Some((b_took_over, Reason::MasterDown))
    );

    let up_at = Duration::from_secs(20);
    lan.link_up(0);
    assert_eq!(
        (lan.state(0), lan.state(1)),
        (Some(StateKind::Backup), Some(StateKind::Backup))
    );
    assert_eq!(
        group_entered(&lan, ga, StateKind::Backup),
        Some((up_at, Reason::SyncGroup))
    );
    lan.run_until(Duration::from_secs(30));
    assert_eq!(lan.masters(), vec![0, 1]);
    assert_eq!(
        group_entered(&lan, ga, StateKind::Master),
        Some((up_at + mdi_a, Reason::Preempted))
    );
    assert_eq!(lan.group_state(gb), StateKind::Backup);
}

#[test]
fn sync_group_takes_over_only_when_every_member_wants_to() {
    let mut lan = two_hosts(200, 100);
    lan.add_sync_group("A", &[0, 1]);
    let gb = lan.add_sync_group("B", &[2, 3]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    // B1 now outranks A1, but B2 still follows A2: B prefers backup.
    lan.track(2, adjust(101));
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![0, 1]);
    assert!(lan.instance(2).is_some_and(|i| i.wants_master()));
    assert_eq!(lan.group_state(gb), StateKind::Backup);
    // Once B2 outranks A2 as well, B takes over whole.
    let raised_at = Duration::from_millis(20_010);
    lan.run_until(raised_at);
    lan.track(3, adjust(101));
    lan.run_until(Duration::from_secs(30));
    assert_eq!(lan.masters(), vec![2, 3]);
    let (at, _) = group_entered(&lan, gb, StateKind::Master).unwrap();
    assert_eq!(
        at,
        last_transmit_before(&lan, 1, raised_at) + HOP2 + mdi(Version::V3, 201, Centis(100))
    );
    assert_eq!(
        entered(&lan, 2, StateKind::Master).map(|(t, _)| t),
        Some(at)
    );
}

#[test]
fn sync_group_member_leaving_master_takes_the_others_along_silently() {
    // A is a group; B's instances are not, so B2 only takes over once A2 goes quiet.
    let mut lan = two_hosts(200, 100);
    let ga = lan.add_sync_group("A", &[0, 1]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    lan.track(2, adjust(150));
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![2, 3]);
    let (a1_left, reason) = entered(&lan, 0, StateKind::Backup).unwrap();
    assert_eq!(reason, Reason::HigherPriority);
    assert_eq!(
        entered(&lan, 1, StateKind::Backup),
        Some((a1_left, Reason::SyncGroup))
    );
    assert_eq!(
        group_entered(&lan, ga, StateKind::Backup),
        Some((a1_left, Reason::HigherPriority))
    );
    // A2 sent nothing when it stepped down: B2 took over when its timer ran out.
    let a2_last = last_transmit_before(&lan, 1, a1_left);
    assert!(a2_last < a1_left);
    assert_eq!(
        entered(&lan, 3, StateKind::Master),
        Some((
            a2_last + HOP2 + mdi(Version::V3, 100, Centis(100)),
            Reason::MasterDown
        ))
    );
    // A2 outranks B2 and wants to take over, but A1 does not: A stays backup.
    assert!(lan.instance(1).is_some_and(|i| i.wants_master()));
    assert_eq!(lan.group_state(ga), StateKind::Backup);
}

// ---- availability: what each router saw, exact in virtual time ------------------------------

fn first_transmit_after(lan: &Lan, router: usize, after: Duration) -> Duration {
    lan.trace()
        .iter()
        .find(|e| {
            e.router == router && e.at > after && matches!(e.event, TraceEvent::Transmit { .. })
        })
        .map(|e| e.at)
        .expect("router never transmitted")
}

fn availability(lan: &Lan, router: usize) -> &super::Availability {
    lan.instance(router)
        .expect("router is running")
        .availability()
}

fn outages(lan: &Lan, router: usize) -> Vec<(Duration, Duration, &'static str)> {
    let start = lan.at(Duration::ZERO);
    availability(lan, router)
        .recent()
        .map(|o| (o.start - start, o.duration, o.cause.as_str()))
        .collect()
}

fn nanos_div(total: Duration, n: u32) -> Duration {
    Duration::from_nanos((total.as_nanos() / u128::from(n)) as u64)
}

#[test]
fn availability_of_a_backup_through_two_crashes_and_a_graceful_stop() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 100)]);
    let mdi = mdi(Version::V3, 100, Centis(100));
    let skew = skew_time(Version::V3, 100, Centis(100));
    lan.start_all();
    let mut expected = Vec::new();
    for (crash_at, restart_at) in [(10_500, 20_000), (30_500, 40_000)] {
        let crash_at = Duration::from_millis(crash_at);
        lan.run_until(crash_at);
        lan.crash(0);
        expected.push((
            last_transmit_before(&lan, 0, crash_at) + HOP2,
            mdi,
            "master-down",
        ));
        lan.run_until(Duration::from_millis(restart_at));
        assert_eq!(lan.masters(), vec![1]);
        lan.start(0);
    }
    let stop_at = Duration::from_millis(50_250);
    lan.run_until(stop_at);
    assert_eq!(lan.masters(), vec![0], "the returning master preempted");
    lan.shutdown(0);
    expected.push((stop_at + HOP2, skew, "master-released"));
    lan.run_until(Duration::from_secs(60));

    assert_eq!(outages(&lan, 1), expected);
    let f = availability(&lan, 1).figures(lan.at(Duration::from_secs(60)));
    let total = mdi * 2 + skew;
    assert_eq!(f.outages, 3);
    assert_eq!(f.outage_time, total);
    assert_eq!(f.longest, mdi);
    // r0 → r1, back to r0 (preempted, no outage), r1, r0, r1.
    assert_eq!(f.master_changes, 5);
    let (mtbf, mttr) = (
        nanos_div(Duration::from_secs(60) - total, 3),
        nanos_div(total, 3),
    );
    assert_eq!((f.mtbf, f.mttr), (Some(mtbf), Some(mttr)));
    let ratio = mtbf.as_nanos() as f64 / (mtbf.as_nanos() + mttr.as_nanos()) as f64;
    assert_eq!(f.ratio, ratio);
    assert!(f.ratio < 1.0 && f.ratio > 0.8, "{}", f.ratio);
    assert_eq!(
        f.state_time.iter().sum::<Duration>(),
        Duration::from_secs(60)
    );
    let h = availability(&lan, 1).histogram();
    // 3.609 s twice (≤ 5 s), 0.609 s once (≤ 1 s).
    assert_eq!(h.cumulative, [0, 0, 0, 0, 1, 1, 1, 3, 3, 3, 3, 3]);
    assert_eq!((h.count, h.sum), (3, total));
}

#[test]
fn availability_of_a_third_router_sees_the_crash_and_not_the_preemption() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 150), v3(2, 100)]);
    lan.start_all();
    let crash_at = Duration::from_millis(10_500);
    lan.run_until(crash_at);
    lan.crash(0);
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![1]);
    lan.start(0);
    lan.run_until(Duration::from_secs(30));
    assert_eq!(lan.masters(), vec![0]);

    let last = last_transmit_before(&lan, 0, crash_at) + HOP2;
    let mdi150 = mdi(Version::V3, 150, Centis(100));
    // r2 never took over: r1's first advert ended its outage, r1's takeover plus one hop.
    for (router, length) in [(1, mdi150), (2, mdi150 + HOP2)] {
        assert_eq!(
            outages(&lan, router),
            vec![(last, length, "master-down")],
            "r{router}"
        );
        assert_eq!(
            availability(&lan, router)
                .figures(lan.at(Duration::from_secs(30)))
                .master_changes,
            2,
            "r{router}"
        );
    }
    // The returning router heard r1 (its first master) and preempted it: no outage.
    let back = availability(&lan, 0).figures(lan.at(Duration::from_secs(30)));
    assert_eq!((back.outages, back.master_changes), (0, 1));
}

#[test]
fn availability_through_link_failures_of_a_backup_and_of_the_master() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 100)]);
    lan.start_all();
    let backup_down = Duration::from_millis(10_050);
    lan.run_until(backup_down);
    lan.link_down(1);
    lan.run_until(Duration::from_secs(12));
    lan.link_up(1);
    let master_down = Duration::from_millis(20_500);
    lan.run_until(master_down);
    lan.link_down(0);
    lan.run_until(Duration::from_secs(30));
    assert_eq!(lan.masters(), vec![1]);
    lan.link_up(0);
    lan.run_until(Duration::from_secs(40));
    assert_eq!(lan.masters(), vec![0]);

    let heard_again = first_transmit_after(&lan, 0, Duration::from_secs(12)) + HOP2;
    // (Its priority 0 at the link loss never left.)
    let last = last_transmit_before(&lan, 0, master_down - Duration::from_millis(1)) + HOP2;
    assert_eq!(
        outages(&lan, 1),
        vec![
            (backup_down, heard_again - backup_down, "link-down"),
            (last, mdi(Version::V3, 100, Centis(100)), "master-down"),
        ]
    );
    let r1 = availability(&lan, 1).figures(lan.at(Duration::from_secs(40)));
    // Same master after its own link loss; then r1 took over and r0 preempted back.
    assert_eq!(r1.master_changes, 2);
    let r0_heard = first_transmit_after(&lan, 1, Duration::from_secs(30)) + HOP2;
    assert_eq!(
        outages(&lan, 0),
        vec![(master_down, r0_heard - master_down, "link-down")]
    );
    let r0 = availability(&lan, 0).figures(lan.at(Duration::from_secs(40)));
    assert_eq!(r0.master_changes, 2);
    assert_eq!(
        r0.state_time[super::availability::state_index(StateKind::Fault)],
        Duration::from_secs(30) - master_down
    );
}

#[test]
fn availability_keeps_the_last_32_outages_and_reset_keeps_the_lifetime_figures() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 100)]);
    let mdi = mdi(Version::V3, 100, Centis(100));
    lan.start_all();
    let mut starts = Vec::new();
    for k in 0..40u64 {
        let crash_at = Duration::from_secs(10 + 10 * k);
        lan.run_until(crash_at);
        lan.crash(0);
        starts.push(last_transmit_before(&lan, 0, crash_at) + HOP2);
        lan.run_until(crash_at + Duration::from_secs(5));
        lan.start(0);
    }
    let end = Duration::from_secs(410);
    lan.run_until(end);
    assert_eq!(lan.masters(), vec![0]);
    let kept = outages(&lan, 1);
    assert_eq!(kept.len(), 32);
    let expected: Vec<_> = starts[8..]
        .iter()
        .map(|&s| (s, mdi, "master-down"))
        .collect();
    assert_eq!(kept, expected);
    let f = availability(&lan, 1).figures(lan.at(end));
    assert_eq!((f.outages, f.outage_time), (40, mdi * 40));
    assert_eq!(f.longest, mdi);

    lan.reset_availability(1);
    let f = availability(&lan, 1).figures(lan.at(end));
    assert_eq!((f.outages, f.master_changes, f.ratio), (0, 0, 1.0));
    assert_eq!((f.mtbf, f.mttr), (None, None));
    assert!(outages(&lan, 1).is_empty());
    lan.run_until(Duration::from_millis(410_500));
    lan.crash(0);
    lan.run_until(Duration::from_secs(420));
    let f = availability(&lan, 1).figures(lan.at(Duration::from_secs(420)));
    assert_eq!((f.outages, f.outage_time, f.master_changes), (1, mdi, 1));
    assert_eq!(
        f.state_time.iter().sum::<Duration>(),
        Duration::from_secs(10)
    );
    assert_eq!(
        f.mtbf,
        Some(Duration::from_secs(10) - mdi),
        "observed since the reset"
    );
    let life = availability(&lan, 1).lifetime(lan.at(Duration::from_secs(420)));
    assert_eq!((life.outages, life.outage_time), (41, mdi * 41));
    assert_eq!(life.master_changes, 81);
    assert_eq!(availability(&lan, 1).histogram().count, 41);
}

#[test]
fn availability_of_a_sync_member_that_steps_down_silently() {
    // As above: A2 leaves master with its group and says nothing; B2 takes over on its timer.
    let mut lan = two_hosts(200, 100);
    lan.add_sync_group("A", &[0, 1]);
    lan.start_all();
    lan.run_until(Duration::from_secs(10));
    lan.track(2, adjust(150));
    lan.run_until(Duration::from_secs(20));
    assert_eq!(lan.masters(), vec![2, 3]);
    let (a1_left, _) = entered(&lan, 0, StateKind::Backup).unwrap();
    let a2_last = last_transmit_before(&lan, 1, a1_left) + HOP2;
    let mdi = mdi(Version::V3, 100, Centis(100));
    let (b2_took_over, _) = entered(&lan, 3, StateKind::Master).unwrap();
    // B2 followed A2 and saw it go silent.
    assert_eq!(outages(&lan, 3), vec![(a2_last, mdi, "master-down")]);
    // A2 held the address until it stepped down; nobody did until B2's first advert.
    assert_eq!(
        outages(&lan, 1),
        vec![(a1_left, b2_took_over + HOP2 - a1_left, "master-down")]
    );
    // A1 yielded to B1's advert: a handover, no outage.
    let a1 = availability(&lan, 0).figures(lan.at(Duration::from_secs(20)));
    assert_eq!((a1.outages, a1.master_changes), (0, 1));
}

#[test]
fn availability_of_a_master_faulting_on_tracking_and_of_its_backup() {
    let mut lan = lan_of(vec![v3(0, 200), v3(1, 150)]);
    lan.start_all();
    let fault_at = Duration::from_millis(10_020);
    lan.run_until(fault_at);
    let fault = Verdict {
        fault: true,
        ..Verdict::default()
    };
    lan.track(0, fault);
    lan.run_until(Duration::from_secs(15));
    let skew = skew_time(Version::V3, 150, Centis(100));
    // The backup: from the priority 0 to its takeover.
    assert_eq!(
        outages(&lan, 1),
        vec![(fault_at + HOP2, skew, "master-released")]
    );
    // The old master, in FAULT with its link up, hears the new one's first advert.
    assert_eq!(
        outages(&lan, 0),
        vec![(fault_at, HOP2 + skew + HOP2, "fault")]
    );
    let f = availability(&lan, 0).figures(lan.at(Duration::from_secs(15)));
    assert_eq!(
        f.state_time[super::availability::state_index(StateKind::Fault)],
        Duration::from_secs(15) - fault_at
    );
    // Its backup faulting on tracking meanwhile still hears it: no outage.
    lan.track(0, Verdict::default());
    lan.run_until(Duration::from_secs(25));
    assert_eq!(lan.masters(), vec![0]);
    lan.track(1, fault);
    lan.run_until(Duration::from_secs(30));
    assert_eq!(outages(&lan, 1).len(), 1);
    assert_eq!(availability(&lan, 1).ongoing(), None);
}
