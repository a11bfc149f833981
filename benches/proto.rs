//! Cost of the core: 1,000 masters and 1,000 backups driven in virtual time.
//! Prints the time per received advert and per timer event (target: under 1 µs each).
//! Run with `scripts/bench-proto.sh` (or `cargo bench --bench proto`).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use keepvip::proto::{
    AnnounceSchedule, InitialState, Instance, InstanceConfig, Received, StateKind,
};
use keepvip::wire::{Advert, Centis, V2Auth, Version};

const INSTANCES: usize = 1_000;
const ROUNDS: usize = 200;

fn config(index: usize, priority: u8, host: u8) -> InstanceConfig {
    InstanceConfig {
        name: format!("VI_{index}"),
        version: Version::V3,
        vrid: (index % 255) as u8 + 1,
        priority,
        advert_interval: Centis(100),
        preempt: true,
        preempt_delay: Duration::ZERO,
        initial_state: InitialState::Backup,
        primary_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, host)),
        vips: vec![IpAddr::V4(Ipv4Addr::new(
            198,
            51,
            100,
            (index % 250) as u8 + 1,
        ))],
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        down_timer_adverts: 3,
        announce: AnnounceSchedule::default(),
        auth: V2Auth::NONE,
        unicast: None,
    }
}

fn main() {
    let start = Instant::now();
    let build = |priority, host| -> Vec<Instance> {
        (0..INSTANCES)
            .map(|i| Instance::new(config(i, priority, host)).expect("valid bench config"))
            .collect()
    };
    let mut masters = build(200, 1);
    let mut backups = build(100, 2);
    for instance in masters.iter_mut().chain(backups.iter_mut()) {
        instance.handle_startup(true, start);
        while instance.poll_action().is_some() {}
    }
    // Bring the masters up: their down timers fire.
    for master in &mut masters {
        let at = master.poll_timeout().expect("backup has a down timer");
        master.handle_timeout(at);
        while master.poll_action().is_some() {}
        assert_eq!(master.state(), StateKind::Master);
    }
    let adverts: Vec<Advert> = masters
        .iter_mut()
        .map(|m| {
            let at = m.poll_timeout().expect("master has an advert timer");
            m.handle_timeout(at);
            let mut advert = None;
            while let Some(action) = m.poll_action() {
                if let keepvip::proto::Action::Transmit(a) = action {
                    advert = Some(Advert::clone(&a));
                }
            }
            advert.expect("master transmits on its timer")
        })
        .collect();
    let master_addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    // Received adverts: every backup hears its master, ROUNDS times.
    let mut now = start + Duration::from_secs(10);
    let t0 = Instant::now();
    for _ in 0..ROUNDS {
        now += Duration::from_secs(1);
        for (backup, advert) in backups.iter_mut().zip(&adverts) {
            backup.handle_advert(
                Received {
                    src: master_addr,
                    dst: IpAddr::V4(keepvip::wire::MCAST_V4),
                    ttl: 255,
                    advert,
                },
                now,
            );
            while let Some(action) = backup.poll_action() {
                black_box(action);
            }
        }
    }
    let rx = t0.elapsed();
    for backup in &backups {
        assert_eq!(backup.state(), StateKind::Backup);
        assert_eq!(backup.counters().advert_rcvd, ROUNDS as u64);
    }

    // Timer events: every master's advert timer fires ROUNDS times (each builds an advert).
    let mut events = 0u64;
    let t0 = Instant::now();
    for _ in 0..ROUNDS {
        for master in &mut masters {
            if let Some(at) = master.poll_timeout() {
                master.handle_timeout(at);
                events += 1;
                while let Some(action) = master.poll_action() {
                    black_box(action);
                }
            }
        }
    }
    let timers = t0.elapsed();

    let per = |d: Duration, n: u64| d.as_nanos() as f64 / n as f64;
    let rx_n = (INSTANCES * ROUNDS) as u64;
    println!("proto bench: {INSTANCES} masters + {INSTANCES} backups, {ROUNDS} rounds");
    println!(
        "received advert: {:8.1} ns/advert  ({rx_n} adverts)",
        per(rx, rx_n)
    );
    println!(
        "timer event:     {:8.1} ns/event   ({events} events, each transmits an advert)",
        per(timers, events)
    );
    println!("target: under 1000 ns each");
}
