//! Failover between real agents: crash (SIGKILL), clean stop (SIGTERM, priority-0 advert) and
//! link failure (FAULT). Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

fn election_deadline(conf: &Conf) -> Duration {
    conf.master_down_interval() + Duration::from_secs(4)
}

/// Starts r1 as master, then r2 as backup, and waits until the pair is settled.
fn master_and_backup(lab: &Lab, master: &Conf, backup: &Conf) {
    lab.start(1, master);
    lab.wait_until("r1 to hold the VIP", election_deadline(master), || {
        lab.only_holder_is(1)
    });
    lab.start(2, backup);
    // Long enough for r2 to hear several adverts; r2 must stay backup meanwhile.
    let settle = backup.advert_interval() * 3 + Duration::from_millis(500);
    lab.assert_stays("r1 alone holds the VIP with r2 running", settle, || {
        lab.only_holder_is(1)
    });
}

#[test]
fn sigkill_of_master_moves_vip_and_client_neighbour_to_backup() {
    let lab = Lab::new(2);
    let backup = Conf::v3(100);
    master_and_backup(&lab, &Conf::v3(200), &backup);

    lab.wait_until(
        "the client's ping to the VIP to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
    let before = lab.client_neigh(VIP);
    if before.as_ref().and_then(|n| n.mac.as_deref()) != Some(router_mac(1).as_str()) {
        lab.fail(&format!(
            "the client's entry for the VIP is {before:?}, expected r1's MAC {}",
            router_mac(1)
        ));
    }
    // The kernel ignores an ARP update within `locktime` (1 s) of the entry's last change; let
    // that pass so the first gratuitous ARP of the new master is the one that must count.
    lab.wait_until(
        "the client's entry to be 2 s old",
        Duration::from_secs(10),
        || {
            lab.client_neigh(VIP)
                .and_then(|n| n.updated_secs)
                .is_some_and(|s| s >= 2)
        },
    );

    lab.kill(1);
    let took = lab.wait_until(
        "r2 to take the VIP after r1 was killed",
        election_deadline(&backup),
        || lab.has_vip(2),
    );
    eprintln!("r2 holds the VIP {took:?} after r1 was reaped");
    // The client sends nothing meanwhile: only r2's gratuitous ARP can move its entry.
    lab.wait_until(
        "the client's entry for the VIP to move to r2's MAC (gratuitous ARP)",
        Duration::from_secs(3),
        || lab.client_neigh(VIP).and_then(|n| n.mac) == Some(router_mac(2)),
    );
    lab.wait_until(
        "the client's pings to the VIP to resume",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
    let after = lab.client_neigh(VIP);
    if after.as_ref().and_then(|n| n.mac.as_deref()) != Some(router_mac(2).as_str()) {
        lab.fail(&format!(
            "after pinging, the client's entry is {after:?}, expected r2's MAC {}",
            router_mac(2)
        ));
    }
}

/// The one VRRPv2 test (1 s adverts), long enough to tell a priority-0 handover (Skew_Time)
/// from a timeout (Master_Down_Interval).
#[test]
fn sigterm_of_master_sends_priority_zero_and_hands_over_at_once() {
    let lab = Lab::new(2);
    let capture = lab.capture_vrrp();
    let r2_notify = lab.recorder(2);
    let master = Conf::v2(200);
    let backup = Conf::v2(100).line(format!("notify_backup {}", r2_notify.command("backup")));
    lab.start(1, &master);
    lab.wait_until("r1 to hold the VIP", election_deadline(&master), || {
        lab.only_holder_is(1)
    });
    lab.start(2, &backup);
    lab.wait_until("r2 to report BACKUP", Duration::from_secs(5), || {
        r2_notify
            .calls()
            .unwrap_or_else(|e| lab.fail(&e))
            .iter()
            .any(|c| c.args() == ["backup"])
    });
    lab.assert_stays(
        "r1 alone holds the VIP with r2 running",
        Duration::from_millis(1500),
        || lab.only_holder_is(1),
    );

    let sent = lab.terminate(1);
    // Takeover on a priority-0 advert waits Skew_Time, not Master_Down_Interval.
    let bound = backup.skew_time() + Duration::from_millis(1500);
    assert!(
        bound < backup.master_down_interval(),
        "the bound must separate the two cases"
    );
    lab.wait_until(
        &format!(
            "r2 to take the VIP within Skew_Time {:?} + 1.5 s of r1's SIGTERM (Master_Down_Interval is {:?})",
            backup.skew_time(),
            backup.master_down_interval()
        ),
        bound,
        || lab.has_vip(2),
    );
    let took = sent.elapsed();

    let (status, exited_at) = lab.wait_exit(1, Duration::from_secs(5));
    let exit_after = exited_at.duration_since(sent);
    eprintln!("r2 took over {took:?} after SIGTERM; r1 exited {exit_after:?} after it ({status})");
    if !status.success() {
        lab.fail(&format!("r1 exited with {status} on SIGTERM; expected 0"));
    }
    // 1 s is the contract; one poll period of measurement slack.
    if exit_after > Duration::from_millis(1050) {
        lab.fail(&format!(
            "r1 took {exit_after:?} to exit after SIGTERM; the limit is 1 s"
        ));
    }
    if lab.has_vip(1) {
        lab.fail("r1 exited but left the VIP on its eth0; a clean stop must remove it");
    }

    let is_goodbye = |a: &SeenAdvert| a.src == router_ip(1) && a.vrid == VRID && a.priority == 0;
    lab.wait_until(
        "a priority-0 VRRPv2 advert from r1 on the wire",
        Duration::from_secs(3),
        || capture.adverts().iter().any(is_goodbye),
    );
    let adverts = capture.adverts();
    if let Some(bad) = adverts.iter().find(|a| a.version != 2) {
        lab.fail(&format!(
            "a VRRPv{} advert was sent in a vrrp_version 2 setup: {bad:?}",
            bad.version
        ));
    }
    lab.wait_until(
        "the client's ping to the VIP to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
}

#[test]
fn link_down_faults_the_master_and_link_up_recovers() {
    let lab = Lab::new(2);
    let rec = lab.recorder(1);
    let master = Conf::v3(200)
        .line(format!("notify_backup {}", rec.command("backup")))
        .line(format!("notify_master {}", rec.command("master")))
        .line(format!("notify_fault {}", rec.command("fault")));
    let backup = Conf::v3(100);
    master_and_backup(&lab, &master, &backup);
    let calls = |lab: &Lab| rec.calls().unwrap_or_else(|e| lab.fail(&e));
    lab.wait_until(
        "r1's notify_master to have run",
        Duration::from_secs(5),
        || calls(&lab).iter().any(|c| c.args() == ["master"]),
    );

    lab.set_link(1, false);
    // The kernel keeps IPv4 addresses on a down link: only the agent removes the VIP.
    lab.wait_until(
        "r1 to remove the VIP after its link went down",
        Duration::from_secs(3),
        || !lab.has_vip(1),
    );
    lab.wait_until(
        "r1's notify_fault to have run",
        Duration::from_secs(3),
        || calls(&lab).iter().any(|c| c.args() == ["fault"]),
    );
    lab.wait_until("r2 to take the VIP", election_deadline(&backup), || {
        lab.has_vip(2)
    });
    lab.assert_stays(
        "r1 stays without the VIP while its link is down",
        Duration::from_secs(1),
        || !lab.has_vip(1),
    );

    lab.set_link(1, true);
    lab.wait_until(
        "r1 to recover and preempt back: r1 holds the VIP and r2 removed it",
        election_deadline(&master) + Duration::from_secs(2),
        || lab.only_holder_is(1),
    );
    lab.wait_until(
        "r1's second notify_master to have run",
        Duration::from_secs(5),
        || {
            calls(&lab)
                .iter()
                .filter(|c| c.args() == ["master"])
                .count()
                >= 2
        },
    );

    // FAULT reports the link as the reason; the recovery passes through BACKUP first.
    let seen: Vec<(String, String, String, String)> = calls(&lab)
        .iter()
        .map(|c| {
            (
                c.args().join(" "),
                c.var("KEEPVIP_STATE").to_string(),
                c.var("KEEPVIP_PREV_STATE").to_string(),
                c.var("KEEPVIP_REASON").to_string(),
            )
        })
        .collect();
    let hooks: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    if hooks != ["backup", "master", "fault", "backup", "master"] {
        lab.fail(&format!(
            "r1's notify calls were {seen:?}; expected backup, master, fault, backup, master"
        ));
    }
    let fault = &seen[2];
    if (fault.1.as_str(), fault.2.as_str(), fault.3.as_str()) != ("FAULT", "MASTER", "link_down") {
        lab.fail(&format!(
            "notify_fault saw STATE/PREV_STATE/REASON {fault:?}; expected FAULT, MASTER, link_down"
        ));
    }
    let recovered = &seen[3];
    if (
        recovered.1.as_str(),
        recovered.2.as_str(),
        recovered.3.as_str(),
    ) != ("BACKUP", "FAULT", "link_up")
    {
        lab.fail(&format!(
            "notify_backup after link up saw STATE/PREV_STATE/REASON {recovered:?}; expected BACKUP, FAULT, link_up"
        ));
    }
    let back = &seen[4];
    if (back.1.as_str(), back.2.as_str()) != ("MASTER", "BACKUP") {
        lab.fail(&format!(
            "the final notify_master saw {back:?}; expected MASTER after BACKUP"
        ));
    }
}

/// keepalived's `down_timer_adverts`: with 10 the backup waits ten advert intervals (plus its
/// skew) after the master's last advert, not three.
#[test]
fn down_timer_adverts_stretches_the_takeover() {
    let lab = Lab::new(2);
    let master = Conf::v3(200).line("down_timer_adverts 10");
    let backup = Conf::v3(100).line("down_timer_adverts 10");
    master_and_backup(&lab, &master, &backup);
    let killed = lab.kill(1);
    lab.wait_until(
        "r2 to take the VIP after r1 was killed",
        backup.advert_interval() * 10 + Duration::from_secs(4),
        || lab.has_vip(2),
    );
    let took = killed.elapsed();
    // From the kill (r1's last advert was at most one interval before it).
    let least = backup.advert_interval() * 9 + backup.skew_time();
    if took < least {
        lab.fail(&format!(
            "r2 took over {took:?} after the kill: sooner than 10 missed adverts allow ({least:?})"
        ));
    }
    eprintln!("down_timer_adverts 10: r2 took over {took:?} after the kill");
}
