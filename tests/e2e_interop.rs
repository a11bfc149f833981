//! Interop with keepalived (Debian's package, 2.2.7) in the same namespaces: a mixed pair both
//! ways round (keepalived master / keepvip backup and the reverse) for VRRPv2 (1 s), VRRPv3 over
//! IPv4 and VRRPv3 over IPv6 (0.1 s), the VRRPv3/IPv4 checksum variants, and a mixed group of
//! three. Needs root and /usr/sbin/keepalived; see tests/support/mod.rs and
//! tests/support/keepalived.rs.
//!
//! Takeover times are measured on the wire (tcpdump on the bridge): from the master's last
//! advert (crash) or its priority-0 advert (graceful stop) to the new master's first advert.
//!
//! Known keepalived 2.2.7 behaviour, documented here and in README.md: it sends VRRPv3/IPv4
//! checksums with the IPv4 pseudo-header, does not know `v3_checksum_as_v2`, and drops adverts
//! whose checksum leaves the pseudo-header out (RFC 9568's variant, which keepvip sends with
//! `v3_checksum_as_v2`): see `keepalived_2_2_7_drops_checksums_without_the_pseudo_header`.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::*;

const VIP6: &str = "2001:db8::100";
const VIP6_CIDR: &str = "2001:db8::100/64";
const PSEUDO_HEADER_LINE: &str =
    "VI_1: peer 192.0.2.1 sends VRRPv3 checksums with the IPv4 pseudo-header";

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// VRRPv2, 1 s adverts.
    V2,
    /// VRRPv3 over IPv4, 0.1 s adverts.
    V3Ipv4,
    /// VRRPv3 over IPv6, 0.1 s adverts, sent from the link-local address.
    V3Ipv6,
}

impl Mode {
    fn conf(self, priority: u8) -> Conf {
        match self {
            Mode::V2 => Conf::v2(priority),
            Mode::V3Ipv4 => Conf::v3(priority),
            Mode::V3Ipv6 => Conf::v3(priority).vips(&[VIP6_CIDR]),
        }
    }

    fn vip(self) -> &'static str {
        match self {
            Mode::V3Ipv6 => VIP6,
            Mode::V2 | Mode::V3Ipv4 => VIP,
        }
    }
}

/// Generous slack for an election on two loaded, shared cores.
fn deadline(conf: &Conf) -> Duration {
    conf.master_down_interval() + Duration::from_secs(4)
}

/// Long enough for a backup to hear many adverts and, were it deaf to them, to take over.
fn settle(conf: &Conf) -> Duration {
    conf.master_down_interval() + Duration::from_millis(500)
}

/// How long a new master must hold the VIP alone to count as elected: three intervals covers
/// the RFC's transient of two backups claiming it at once (three-router groups, 0.1 s), capped
/// at 1 s so that the 1 s VRRPv2 cells stay short (pairs have no such transient).
fn hold(conf: &Conf) -> Duration {
    (conf.advert_interval() * 3).min(Duration::from_secs(1))
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Routers of one lab, each running keepvip or keepalived; r1 is the higher priority.
struct Group<'lab> {
    lab: &'lab Lab,
    mode: Mode,
    keepalived: Vec<Keepalived<'lab>>,
    capture: TimedCapture,
    /// Whether each router's current process is running (index 0 = r1).
    running: Vec<bool>,
}

impl<'lab> Group<'lab> {
    /// `keepalived_on`: the routers that run keepalived; the others run keepvip.
    fn new(lab: &'lab Lab, mode: Mode, routers: u8, keepalived_on: &[u8]) -> Group<'lab> {
        Group {
            lab,
            mode,
            keepalived: keepalived_on.iter().map(|r| lab.keepalived(*r)).collect(),
            capture: lab.capture_vrrp_timed(),
            running: vec![false; usize::from(routers)],
        }
    }

    fn keepalived_of(&self, router: u8) -> Option<&Keepalived<'lab>> {
        self.keepalived.iter().find(|k| k.router() == router)
    }

    fn name(&self, router: u8) -> String {
        let what = if self.keepalived_of(router).is_some() {
            "keepalived"
        } else {
            "keepvip"
        };
        format!("r{router} ({what})")
    }

    fn set_running(&mut self, router: u8, running: bool) {
        if let Some(slot) = self.running.get_mut(usize::from(router) - 1) {
            *slot = running;
        }
    }

    fn start(&mut self, router: u8, conf: &Conf) {
        match self.keepalived_of(router) {
            Some(keepalived) => keepalived.start(conf),
            None => self.lab.start(router, conf),
        }
        self.set_running(router, true);
    }

    /// SIGKILL (keepalived: both of its processes, see tests/support/keepalived.rs).
    fn crash(&mut self, router: u8) {
        match self.keepalived_of(router) {
            Some(keepalived) => {
                keepalived.kill();
            }
            None => {
                self.lab.kill(router);
            }
        }
        self.set_running(router, false);
    }

    /// SIGTERM, then waits for a clean exit (status 0) without the VIP left behind.
    fn stop_gracefully(&mut self, router: u8) {
        let status = match self.keepalived_of(router) {
            Some(keepalived) => {
                keepalived.terminate();
                keepalived.wait_exit(Duration::from_secs(6))
            }
            None => {
                self.lab.terminate(router);
                self.lab.wait_exit(router, Duration::from_secs(6)).0
            }
        };
        self.set_running(router, false);
        if !status.success() {
            self.lab.fail(&format!(
                "{} exited with {status} after SIGTERM; expected 0",
                self.name(router)
            ));
        }
        if self.lab.has_addr(router, self.mode.vip()) {
            self.lab.fail(&format!(
                "{} stopped gracefully but left the VIP behind",
                self.name(router)
            ));
        }
    }

    /// Running routers holding the VIP (a crashed one may have left its copy behind). Fails
    /// at once if a keepalived that should run exited.
    fn live_holders(&self) -> Vec<u8> {
        for keepalived in &self.keepalived {
            if self.running.get(usize::from(keepalived.router()) - 1) == Some(&true) {
                keepalived.assert_running();
            }
        }
        (1..=self.running.len() as u8)
            .filter(|r| self.running.get(usize::from(*r) - 1) == Some(&true))
            .filter(|r| self.lab.has_addr(*r, self.mode.vip()))
            .collect()
    }

    /// What tcpdump prints as `router`'s advert source.
    fn source(&self, router: u8) -> String {
        match self.mode {
            Mode::V3Ipv6 => self.lab.link_local(&self.lab.router_ns(router)).to_string(),
            Mode::V2 | Mode::V3Ipv4 => router_ip(router),
        }
    }

    /// Waits until `router` alone (among running routers) holds the VIP, for three advert
    /// intervals in a row (two backups may both claim it for an interval: RFC behaviour).
    fn wait_master(&self, router: u8, conf: &Conf, why: &str) {
        self.lab.wait_stable(
            &format!("{} alone to hold the VIP ({why})", self.name(router)),
            deadline(conf),
            hold(conf),
            || self.live_holders() == [router],
        );
    }

    /// Checks that `router` keeps the VIP alone while the others run, and that over the last
    /// `window` only `router` advertised (at `priority`).
    fn assert_sole_master(&self, router: u8, priority: u8, window: Duration) {
        self.lab.assert_stays(
            &format!("{} alone holds the VIP", self.name(router)),
            window,
            || self.live_holders() == [router],
        );
        let since = now_epoch() - window.as_secs_f64();
        let source = self.source(router);
        let adverts: Vec<TimedAdvert> = self
            .capture
            .adverts()
            .into_iter()
            .filter(|a| a.at >= since && a.vrid == VRID)
            .collect();
        if adverts.is_empty() {
            self.lab
                .fail(&format!("no advert on the wire in the last {window:?}"));
        }
        if let Some(other) = adverts
            .iter()
            .find(|a| a.src != source || a.priority != priority)
        {
            self.lab.fail(&format!(
                "only {} ({source}, priority {priority}) should advertise, but the wire had {other:?}",
                self.name(router)
            ));
        }
    }

    /// The first advert from `router` at a priority other than 0 after instant `after`.
    fn first_advert_after(&self, router: u8, after: f64) -> Option<TimedAdvert> {
        let source = self.source(router);
        self.capture
            .adverts()
            .into_iter()
            .find(|a| a.at > after && a.src == source && a.vrid == VRID && a.priority != 0)
    }

    /// The last advert from `router` (priority 0 if `goodbye`, else any other).
    fn last_advert_of(&self, router: u8, goodbye: bool) -> Option<TimedAdvert> {
        let source = self.source(router);
        self.capture
            .adverts()
            .into_iter()
            .rev()
            .find(|a| a.src == source && a.vrid == VRID && (a.priority == 0) == goodbye)
    }

    /// Measures on the wire how long `to` took to advertise after `from`'s last advert
    /// (priority 0 when `goodbye`).
    fn takeover_on_wire(&self, from: u8, to: u8, goodbye: bool) -> Duration {
        let what = if goodbye {
            "priority-0 advert"
        } else {
            "last advert"
        };
        let last = self.lab.wait_for(
            &format!("{}'s {what} in the capture", self.name(from)),
            Duration::from_secs(3),
            || self.last_advert_of(from, goodbye),
        );
        let first = self.lab.wait_for(
            &format!(
                "an advert from {} after {}'s {what}",
                self.name(to),
                self.name(from)
            ),
            Duration::from_secs(3),
            || self.first_advert_after(to, last.at),
        );
        first.since(&last)
    }
}

/// One cell: r1 (priority 200) and r2 (priority 100), keepalived on `keepalived_on`, keepvip
/// on the other. Election, crash failover, preemption by the returning master, and a graceful
/// handover at Skew_Time.
fn mixed_pair(mode: Mode, keepalived_on: u8) {
    let lab = Lab::new(2);
    let mut group = Group::new(&lab, mode, 2, &[keepalived_on]);
    let high = mode.conf(200);
    let low = mode.conf(100);
    let keepvip_router = 3 - keepalived_on;

    // The right master: r1 takes over, then r2 joins and stays backup.
    group.start(1, &high);
    group.wait_master(1, &high, "alone on the LAN");
    group.start(2, &low);
    group.assert_sole_master(1, 200, settle(&low));
    check_checksums(&lab, &group, mode, keepvip_router);

    // A crash of the master: r2 takes over after Master_Down_Interval.
    group.crash(1);
    group.wait_master(2, &low, "r1 crashed");
    let took = group.takeover_on_wire(1, 2, false);
    eprintln!(
        "{mode:?}: {} took over {took:?} after {}'s last advert (Master_Down_Interval {:?})",
        group.name(2),
        group.name(1),
        low.master_down_interval()
    );
    // The backup's timer runs from the last advert it heard (the last one on the wire, or the
    // one before if that was lost): anything earlier means it was not waiting for r1 at all.
    let floor = low.master_down_interval() - low.advert_interval();
    if took < floor {
        lab.fail(&format!(
            "r2 advertised {took:?} after r1's last advert, before Master_Down_Interval {:?}",
            low.master_down_interval()
        ));
    }

    // The returning higher priority preempts.
    group.start(1, &high);
    group.wait_master(1, &high, "r1 came back with the higher priority");
    group.assert_sole_master(1, 200, high.advert_interval() * 5 / 2);

    // A graceful stop: the priority-0 advert hands over at Skew_Time.
    group.stop_gracefully(1);
    group.wait_master(2, &low, "r1 stopped gracefully");
    let took = group.takeover_on_wire(1, 2, true);
    let skew = low.skew_time();
    let mdi = low.master_down_interval();
    eprintln!(
        "{mode:?}: {} took over {took:?} after {}'s priority-0 advert (Skew_Time {skew:?}, \
         Master_Down_Interval {mdi:?})",
        group.name(2),
        group.name(1),
    );
    // Well before Master_Down_Interval: closer to Skew_Time than to it.
    let bound = skew + (mdi - skew) / 2;
    if took > bound {
        lab.fail(&format!(
            "r2 took {took:?} to take over after the priority-0 advert; expected about \
             Skew_Time {skew:?} and at most {bound:?} (Master_Down_Interval is {mdi:?})"
        ));
    }
    group.live_holders();
}

/// VRRPv3/IPv4 checksums once the pair settled with r1 master: keepvip (default mode) as backup
/// verified keepalived's pseudo-header variant; keepalived as backup had nothing to complain
/// about in keepvip's default variant.
fn check_checksums(lab: &Lab, group: &Group<'_>, mode: Mode, keepvip_router: u8) {
    if !matches!(mode, Mode::V3Ipv4 | Mode::V3Ipv6) {
        return;
    }
    if let Some(keepalived) = group.keepalived_of(3 - keepvip_router) {
        let log = keepalived.log_text();
        if let Some(line) = log
            .lines()
            .find(|l| l.to_ascii_lowercase().contains("checksum"))
        {
            lab.fail(&format!(
                "keepalived complained about a checksum of keepvip's adverts: {line}"
            ));
        }
    }
    if matches!(mode, Mode::V3Ipv4) && keepvip_router == 2 {
        let log = lab.log_text(2);
        if !log.contains(PSEUDO_HEADER_LINE) {
            lab.fail(&format!(
                "keepvip did not log which checksum keepalived sends ('{PSEUDO_HEADER_LINE}')"
            ));
        }
    }
}

#[test]
fn v2_keepalived_master_keepvip_backup() {
    mixed_pair(Mode::V2, 1);
}

#[test]
fn v2_keepvip_master_keepalived_backup() {
    mixed_pair(Mode::V2, 2);
}

#[test]
fn v3_ipv4_keepalived_master_keepvip_backup() {
    mixed_pair(Mode::V3Ipv4, 1);
}

#[test]
fn v3_ipv4_keepvip_master_keepalived_backup() {
    mixed_pair(Mode::V3Ipv4, 2);
}

#[test]
fn v3_ipv6_keepalived_master_keepvip_backup() {
    mixed_pair(Mode::V3Ipv6, 1);
}

#[test]
fn v3_ipv6_keepvip_master_keepalived_backup() {
    mixed_pair(Mode::V3Ipv6, 2);
}

/// keepvip accepts keepalived's VRRPv3/IPv4 adverts whichever variant it sends itself, and
/// keepalived accepts keepvip's default variant.
#[test]
fn v3_ipv4_checksums_keepvip_in_both_send_modes() {
    let lab = Lab::new(3);
    let mut group = Group::new(&lab, Mode::V3Ipv4, 3, &[1]);
    let master = Conf::v3(200);
    let pseudo_header = Conf::v3(100);
    let plain = Conf::v3(50).line("v3_checksum_as_v2");
    group.start(1, &master);
    group.wait_master(1, &master, "alone on the LAN");
    group.start(2, &pseudo_header);
    group.start(3, &plain);
    group.assert_sole_master(1, 200, settle(&plain));

    for router in [2, 3] {
        if !lab.log_text(router).contains(PSEUDO_HEADER_LINE) {
            lab.fail(&format!("r{router} did not log '{PSEUDO_HEADER_LINE}'"));
        }
        let counters = lab.agent_counters(router, INSTANCE);
        let received = counters.get("advert_rcvd").copied().unwrap_or(0);
        let bad = counters.get("checksum_err").copied().unwrap_or(u64::MAX);
        if received < 5 || bad != 0 {
            lab.fail(&format!(
                "r{router} counted advert_rcvd={received} checksum_err={bad}; expected many \
                 adverts and no checksum error"
            ));
        }
    }
    // r3 sends the other variant: it says so, since keepalived 2.2.7 would drop its adverts.
    if !lab
        .log_text(3)
        .contains("this instance sends them without the IPv4 pseudo-header")
    {
        lab.fail("r3 (v3_checksum_as_v2) did not point out that it sends the other variant");
    }
    let status = lab.agent_status(3, INSTANCE);
    if !status.contains("peer checksums 192.0.2.1 pseudo-header") {
        lab.fail(&format!(
            "r3's SIGUSR1 status line does not show keepalived's checksum variant: {status}"
        ));
    }

    // keepvip in the default mode as master; keepalived, back with the lowest priority, stays
    // backup without a checksum complaint. (r3 stays backup: its adverts are never sent.)
    group.stop_gracefully(1);
    group.wait_master(2, &pseudo_header, "r1 stopped");
    group.start(1, &Conf::v3(20));
    group.assert_sole_master(2, 100, settle(&Conf::v3(20)));
    let log = group.keepalived[0].log_text();
    if let Some(line) = log
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("checksum"))
    {
        lab.fail(&format!(
            "keepalived complained about keepvip's checksum: {line}"
        ));
    }
    if !log.contains("Entering BACKUP STATE") || log.contains("Entering MASTER STATE") {
        lab.fail("keepalived should have entered BACKUP and stayed there behind keepvip");
    }
}

/// keepalived 2.2.7 verifies VRRPv3/IPv4 checksums with the pseudo-header only: a keepvip
/// master configured with `v3_checksum_as_v2` (RFC 9568's variant) is not heard, and keepalived
/// becomes master too. This documents keepalived's limitation (README: Interop); keepvip itself
/// hears keepalived and says what is wrong.
#[test]
fn keepalived_2_2_7_drops_checksums_without_the_pseudo_header() {
    let lab = Lab::new(2);
    let mut group = Group::new(&lab, Mode::V3Ipv4, 2, &[2]);
    let master = Conf::v3(200).line("v3_checksum_as_v2");
    let backup = Conf::v3(100);
    group.start(1, &master);
    group.wait_master(1, &master, "alone on the LAN");
    group.start(2, &backup);
    let keepalived = &group.keepalived[0];
    lab.wait_until(
        "keepalived to reject keepvip's RFC 9568 checksum",
        Duration::from_secs(5),
        || keepalived.log_text().contains("Invalid VRRPv3 checksum"),
    );
    lab.wait_until(
        "keepalived, deaf to keepvip, to become master as well",
        deadline(&backup),
        || keepalived.log_text().contains("Entering MASTER STATE"),
    );
    lab.wait_until(
        "keepvip to name the mismatch",
        Duration::from_secs(5),
        || {
            lab.log_text(1).contains(
                "VI_1: peer 192.0.2.2 sends VRRPv3 checksums with the IPv4 pseudo-header; \
                 this instance sends them without",
            )
        },
    );
}

/// Two keepalived and one keepvip with distinct priorities: the best is elected, and after
/// each crash the best survivor wins; the best router preempts when it returns.
#[test]
fn mixed_group_of_three_elects_the_best_survivor() {
    let lab = Lab::new(3);
    let mut group = Group::new(&lab, Mode::V3Ipv4, 3, &[1, 3]);
    let best = Conf::v3(200);
    let middle = Conf::v3(150);
    let worst = Conf::v3(100);
    group.start(1, &best);
    group.wait_master(1, &best, "alone on the LAN");
    group.start(2, &middle);
    group.start(3, &worst);
    group.assert_sole_master(1, 200, settle(&worst));

    group.crash(1);
    group.wait_master(
        2,
        &middle,
        "keepalived r1 crashed: keepvip is the best survivor",
    );
    group.assert_sole_master(2, 150, middle.advert_interval() * 5);
    if !lab.log_text(2).contains(PSEUDO_HEADER_LINE) {
        lab.fail(&format!("keepvip did not log '{PSEUDO_HEADER_LINE}'"));
    }

    group.crash(2);
    group.wait_master(
        3,
        &worst,
        "keepvip r2 crashed: keepalived r3 is the last survivor",
    );
    group.assert_sole_master(3, 100, worst.advert_interval() * 5);

    group.start(1, &best);
    group.wait_master(1, &best, "r1 came back with the best priority");
    group.assert_sole_master(1, 200, best.advert_interval() * 5);
}

/// `vrrp_mcast_group4` on both sides: keepvip and keepalived 2.2.7 elect on 224.0.0.19, with
/// keepalived as backup following keepvip (and taking over when keepvip stops).
#[test]
fn keepvip_and_keepalived_share_a_configured_multicast_group() {
    let lab = Lab::new(2);
    let conf = |priority: u8| {
        Conf::v3(priority).render().replacen(
            "global_defs {\n",
            "global_defs {\n    vrrp_mcast_group4 224.0.0.19\n",
            1,
        )
    };
    let high = Conf::v3(200);
    lab.start_text(1, &conf(200), &[]);
    lab.wait_until("keepvip to hold the VIP", deadline(&high), || {
        lab.only_holder_is(1)
    });
    let keepalived = lab.keepalived(2);
    keepalived.start_text(&conf(100));
    lab.assert_stays(
        "keepvip to stay the only holder: keepalived hears it on 224.0.0.19",
        settle(&high),
        || lab.only_holder_is(1),
    );
    lab.terminate(1);
    lab.wait_until(
        "keepalived to take the VIP after keepvip's priority-0 advert",
        deadline(&high),
        || lab.only_holder_is(2),
    );
    keepalived.assert_running();
}
