//! Elections between real agents in network namespaces: who holds the VIP, preemption, and the
//! best survivor after crashes. Needs root; see tests/support/mod.rs.

mod support;

use std::time::{Duration, Instant};
use support::*;

/// Generous bound for an election that the RFC settles within one Master_Down_Interval.
fn election_deadline(conf: &Conf) -> Duration {
    conf.master_down_interval() + Duration::from_secs(4)
}

/// How long an election outcome must hold before it counts: a tie-break between backups whose
/// Skew_Times differ by a few ms may legitimately give two masters for one advert interval.
const STABLE: Duration = Duration::from_secs(1);

#[test]
fn configured_master_holds_the_vip_and_answers_the_client() {
    let lab = Lab::new(2);
    let master = Conf::v3(200);
    let backup = Conf::v3(100);
    // Started together, as an operator would: the election, not the start order, decides.
    lab.start(1, &master);
    lab.start(2, &backup);

    lab.wait_stable(
        "r1 (priority 200) to be the only VIP holder",
        election_deadline(&backup) + STABLE,
        STABLE,
        || lab.only_holder_is(1),
    );
    let vip = lab
        .address(1, VIP)
        .unwrap_or_else(|| lab.fail("r1 lost the VIP"));
    if vip.cidr != VIP_CIDR {
        lab.fail(&format!(
            "r1 installed {} instead of the configured {VIP_CIDR}",
            vip.cidr
        ));
    }
    // No vip_lease configured: the VIP carries the default lease, renewed while master.
    match vip.valid_lft {
        Some(Lifetime::Secs(secs)) if Duration::from_secs(secs) <= master.default_lease() => {}
        other => lab.fail(&format!(
            "r1's VIP valid_lft is {other:?}; expected a finite lifetime of at most the default \
             lease ceil(Master_Down_Interval) + 2 s = {:?}",
            master.default_lease()
        )),
    }

    lab.wait_until(
        "the client's ping to the VIP to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
    let neigh = lab.client_neigh(VIP);
    if neigh.as_ref().and_then(|n| n.mac.as_deref()) != Some(router_mac(1).as_str()) {
        lab.fail(&format!(
            "after pinging the VIP the client's neighbour entry is {neigh:?}; expected r1's MAC {}",
            router_mac(1)
        ));
    }
    lab.assert_stays(
        "r1 alone holds the VIP (the backup must not install it)",
        Duration::from_millis(1500),
        || lab.only_holder_is(1),
    );
}

/// Waits until the client's entry for the VIP is old enough that the kernel accepts the next
/// gratuitous ARP (an update within `locktime`, 1 s by default, of the last change is ignored).
fn wait_client_entry_settles(lab: &Lab) {
    lab.wait_until(
        "the client's neighbour entry to be 2 s old",
        Duration::from_secs(10),
        || {
            lab.client_neigh(VIP)
                .and_then(|n| n.updated_secs)
                .is_some_and(|s| s >= 2)
        },
    );
}

#[test]
fn returning_master_preempts_the_backup() {
    let lab = Lab::new(2);
    let master = Conf::v3(200);
    let backup = Conf::v3(100);
    lab.start(1, &master);
    lab.wait_until("r1 to hold the VIP", election_deadline(&master), || {
        lab.only_holder_is(1)
    });
    lab.start(2, &backup);
    lab.assert_stays(
        "r1 alone holds the VIP with r2 running",
        Duration::from_secs(1),
        || lab.only_holder_is(1),
    );
    lab.wait_until(
        "the client's ping to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
    wait_client_entry_settles(&lab);

    lab.kill(1);
    lab.wait_until(
        "r2 to take the VIP after r1 was killed",
        election_deadline(&backup),
        || lab.has_vip(2),
    );
    lab.wait_until(
        "the client's entry to move to r2's MAC",
        Duration::from_secs(5),
        || lab.client_neigh(VIP).and_then(|n| n.mac) == Some(router_mac(2)),
    );
    wait_client_entry_settles(&lab);

    // r1 comes back with the higher priority and preempt on (the default).
    lab.start(1, &master);
    lab.wait_until(
        "r1 to preempt: r1 holds the VIP and r2 has removed it",
        election_deadline(&master),
        || lab.only_holder_is(1),
    );
    lab.wait_until(
        "the client's entry to move back to r1's MAC",
        Duration::from_secs(5),
        || lab.client_neigh(VIP).and_then(|n| n.mac) == Some(router_mac(1)),
    );
    lab.assert_stays(
        "r1 alone holds the VIP after preempting",
        Duration::from_secs(1),
        || lab.only_holder_is(1),
    );
    lab.wait_until(
        "the client's ping to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
}

#[test]
fn nopreempt_keeps_the_current_master() {
    let lab = Lab::new(2);
    let r1_notify = lab.recorder(1);
    let master = Conf::v3(200)
        .line("nopreempt")
        .line(format!("notify_backup {}", r1_notify.command("backup")))
        .line(format!("notify_master {}", r1_notify.command("master")));
    let backup = Conf::v3(100).line("nopreempt");
    lab.start(1, &master);
    lab.wait_until("r1 to hold the VIP", election_deadline(&master), || {
        lab.only_holder_is(1)
    });
    lab.start(2, &backup);
    lab.assert_stays(
        "r1 alone holds the VIP with r2 running",
        Duration::from_secs(1),
        || lab.only_holder_is(1),
    );

    lab.terminate(1);
    let (status, _) = lab.wait_exit(1, Duration::from_secs(3));
    if !status.success() {
        lab.fail(&format!("r1 exited with {status} on SIGTERM"));
    }
    lab.wait_until(
        "r2 to take the VIP after r1 stopped",
        election_deadline(&backup),
        || lab.only_holder_is(2),
    );

    let calls_before = r1_notify.calls().unwrap_or_else(|e| lab.fail(&e)).len();
    lab.start(1, &master);
    // The restarted r1 announces itself as BACKUP (notify backup at start-up) ...
    lab.wait_until(
        "the restarted r1 to run notify_backup",
        Duration::from_secs(5),
        || {
            r1_notify
                .calls()
                .unwrap_or_else(|e| lab.fail(&e))
                .iter()
                .skip(calls_before)
                .any(|c| c.args() == ["backup"])
        },
    );
    // ... and must stay there: with nopreempt a higher priority does not take over a live master.
    let window = master.master_down_interval() * 3 + Duration::from_secs(2);
    lab.assert_stays(
        "r2 keeps the VIP and r1 stays backup (nopreempt)",
        window,
        || lab.only_holder_is(2),
    );
    let calls = r1_notify.calls().unwrap_or_else(|e| lab.fail(&e));
    if calls
        .iter()
        .skip(calls_before)
        .any(|c| c.args() == ["master"])
    {
        lab.fail("the restarted r1 ran notify_master although nopreempt is set and r2 is master");
    }
}

#[test]
fn best_surviving_agent_wins_after_each_crash() {
    let lab = Lab::new(3);
    let confs = [Conf::v3(150), Conf::v3(200), Conf::v3(100)];
    for (router, conf) in (1u8..).zip(confs.iter()) {
        lab.start(router, conf);
    }
    let slowest = &confs[2];

    lab.wait_stable(
        "r2 (200) to be the only VIP holder",
        election_deadline(slowest) + STABLE,
        STABLE,
        || lab.only_holder_is(2),
    );

    // r2 is killed: its VIP lingers there until its lease ends, so look at the survivors only.
    lab.kill(2);
    lab.wait_stable(
        "r1 (150) to take over from the killed r2, with r3 (100) backup",
        election_deadline(slowest) + STABLE,
        STABLE,
        || lab.has_vip(1) && !lab.has_vip(3),
    );

    lab.kill(1);
    lab.wait_stable(
        "r3 (100), the last survivor, to take over",
        election_deadline(slowest) + STABLE,
        STABLE,
        || lab.has_vip(3),
    );
}

/// keepalived's `vrrp_startup_delay`: the agent is up (status answers) but its instances stay
/// in INIT, sending nothing and holding nothing, until the delay is over.
#[test]
fn vrrp_startup_delay_holds_the_instances_back() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200);
    let delay = Duration::from_millis(1500);
    let text = conf.render().replacen(
        "global_defs {\n",
        "global_defs {\n    vrrp_startup_delay 1.5\n",
        1,
    );
    let started = Instant::now();
    lab.start_text(1, &text, &[]);
    lab.wait_until("the agent to answer status", delay, || {
        lab.instance_state(1).is_some()
    });
    let seen = lab.instance_state(1);
    if started.elapsed() < delay && (seen.as_deref() != Some("INIT") || lab.has_vip(1)) {
        lab.fail(&format!(
            "during the startup delay the instance is {seen:?}"
        ));
    }
    let took = lab.wait_until(
        "r1 to hold the VIP after the delay",
        delay + election_deadline(&conf),
        || lab.has_vip(1),
    );
    let earliest = delay + conf.master_down_interval();
    if started.elapsed() < earliest {
        lab.fail(&format!(
            "r1 took the VIP ({took:?} into the wait), before the delay and a Master_Down_Interval \
             ({earliest:?})"
        ));
    }
    if !lab.log_text(1).contains("vrrp_startup_delay is over") {
        lab.fail("the agent did not log the end of the startup delay");
    }
}

/// keepalived's `dynamic_interfaces`, which keepvip always does: an instance whose interface
/// does not exist yet waits in FAULT, starts when it appears, goes to FAULT when it is deleted
/// and comes back when it is created again (with another index).
#[test]
fn an_interface_that_appears_late_or_is_recreated_is_used() {
    let lab = Lab::new(1);
    let ns = lab.router_ns(1);
    let ip = |args: &[&str]| {
        let status = std::process::Command::new("ip")
            .arg("-n")
            .arg(&ns)
            .args(args)
            .status();
        if !status.is_ok_and(|s| s.success()) {
            lab.fail(&format!("ip {args:?} failed"));
        }
    };
    let create = || {
        ip(&["link", "add", "vx0", "type", "veth", "peer", "name", "vx1"]);
        ip(&["addr", "add", "198.51.100.1/24", "dev", "vx0"]);
        ip(&["link", "set", "vx1", "up"]);
        ip(&["link", "set", "vx0", "up"]);
    };
    let vip_on_vx0 = || {
        std::process::Command::new("ip")
            .args(["-n", &ns, "-o", "addr", "show", "dev", "vx0"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("198.51.100.9/24"))
    };
    let text = "global_defs {\n    dynamic_interfaces allow_if_changes\n}\n\
                vrrp_instance VI_9 {\n    interface vx0\n    virtual_router_id 9\n    \
                priority 100\n    version 3\n    advert_int 0.1\n    \
                virtual_ipaddress {\n        198.51.100.9/24\n    }\n}\n";
    lab.start_text(1, text, &[]);
    let settle = Duration::from_secs(5);
    lab.wait_until("VI_9 to wait in FAULT for vx0", settle, || {
        lab.instance_state(1).as_deref() == Some("FAULT")
    });
    create();
    lab.wait_until("VI_9 to become master on the new vx0", settle, || {
        lab.instance_state(1).as_deref() == Some("MASTER") && vip_on_vx0()
    });
    ip(&["link", "del", "vx0"]);
    lab.wait_until("VI_9 to go to FAULT when vx0 is deleted", settle, || {
        lab.instance_state(1).as_deref() == Some("FAULT")
    });
    create();
    lab.wait_until(
        "VI_9 to be master again on the re-created vx0",
        settle,
        || lab.instance_state(1).as_deref() == Some("MASTER") && vip_on_vx0(),
    );
    if lab.log_text(1).contains("dynamic_interfaces") {
        lab.fail("dynamic_interfaces should be accepted silently: keepvip always does this");
    }
}

/// An empty `unicast_peer {}` means multicast, as in keepalived; with `unicast_fault_no_peer`
/// the instance stays in FAULT instead, holding nothing.
#[test]
fn unicast_fault_no_peer_keeps_a_peerless_instance_in_fault() {
    let lab = Lab::new(2);
    let conf = Conf::v3(200).line("unicast_peer {\n    }");
    lab.start(1, &conf);
    lab.start(
        2,
        &Conf::v3(100)
            .line("unicast_peer {\n    }")
            .line("unicast_fault_no_peer"),
    );
    lab.wait_until(
        "r1 (empty peer block: multicast) to hold the VIP",
        election_deadline(&conf),
        || lab.only_holder_is(1),
    );
    lab.wait_until("r2 to be in FAULT", Duration::from_secs(3), || {
        lab.instance_state(2).as_deref() == Some("FAULT")
    });
    lab.kill(1);
    lab.assert_stays(
        "r2 to stay in FAULT without a peer, holding nothing",
        election_deadline(&conf),
        || lab.instance_state(2).as_deref() == Some("FAULT") && !lab.has_vip(2),
    );
}

/// keepalived's `vrrp_mcast_group4`: routers on 224.0.0.19 elect among themselves and neither
/// hear nor are heard by a router on the default group (a better one there changes nothing).
#[test]
fn vrrp_mcast_group4_separates_the_elections() {
    let lab = Lab::new(3);
    let on_group = |priority: u8| {
        Conf::v3(priority).render().replacen(
            "global_defs {\n",
            "global_defs {\n    vrrp_mcast_group4 224.0.0.19\n",
            1,
        )
    };
    let conf = Conf::v3(200);
    lab.start_text(1, &on_group(200), &[]);
    lab.start_text(2, &on_group(100), &[]);
    lab.start(3, &Conf::v3(250));
    lab.wait_stable(
        "r1 master and r2 backup on 224.0.0.19, r3 master alone on 224.0.0.18",
        election_deadline(&conf),
        STABLE,
        || {
            lab.instance_state(1).as_deref() == Some("MASTER")
                && lab.instance_state(2).as_deref() == Some("BACKUP")
                && lab.instance_state(3).as_deref() == Some("MASTER")
        },
    );
    let value = lab.status_json(2).unwrap_or_default();
    if value["instances"][0]["master"]["address"] != router_ip(1) {
        lab.fail(&format!("r2 does not follow r1 on 224.0.0.19: {value}"));
    }
}

/// keepalived's `promote_secondaries`: on for the instance's interface while the agent runs,
/// and put back as it was when the agent stops.
#[test]
fn promote_secondaries_is_set_while_running_and_restored() {
    let lab = Lab::new(1);
    let ns = lab.router_ns(1);
    let value = || {
        std::process::Command::new("ip")
            .args(["netns", "exec", &ns, "cat"])
            .arg("/proc/sys/net/ipv4/conf/eth0/promote_secondaries")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    if value() != "0" {
        lab.fail(&format!(
            "promote_secondaries starts as {:?}, not 0",
            value()
        ));
    }
    let conf = Conf::v3(200).line("promote_secondaries");
    lab.start(1, &conf);
    lab.wait_until(
        "promote_secondaries to be on",
        Duration::from_secs(5),
        || value() == "1",
    );
    lab.terminate(1);
    lab.wait_exit(1, Duration::from_secs(5));
    if value() != "0" {
        lab.fail(&format!(
            "promote_secondaries left at {:?} after the stop",
            value()
        ));
    }
}

/// keepalived's `track_src_ip`: while the configured source address is gone from the host the
/// instance is in FAULT (and holds nothing); it comes back when the address does.
#[test]
fn track_src_ip_faults_while_the_source_address_is_gone() {
    let lab = Lab::new(1);
    let ns = lab.router_ns(1);
    let ip = |args: &[&str]| {
        let ok = std::process::Command::new("ip")
            .arg("-n")
            .arg(&ns)
            .args(args)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            lab.fail(&format!("ip {args:?} failed"));
        }
    };
    let src = router_ip(1);
    let conf = Conf::v3(200)
        .line(format!("mcast_src_ip {src}"))
        .line("track_src_ip");
    lab.start(1, &conf);
    let settle = election_deadline(&conf);
    lab.wait_until("r1 to be master", settle, || {
        lab.instance_state(1).as_deref() == Some("MASTER")
    });
    let cidr = format!("{src}/24");
    ip(&["addr", "del", &cidr, "dev", "eth0"]);
    lab.wait_until(
        "r1 to go to FAULT without its source address",
        settle,
        || lab.instance_state(1).as_deref() == Some("FAULT") && !lab.has_vip(1),
    );
    ip(&["addr", "add", &cidr, "dev", "eth0"]);
    lab.wait_until(
        "r1 to be master again with its source address back",
        settle,
        || lab.instance_state(1).as_deref() == Some("MASTER") && lab.has_vip(1),
    );
}
