//! A vrrp_sync_group on real agents: two instances on two interfaces (eth0 and an extra eth1
//! on a second switch) that fail over together when one link of the master goes down, and the
//! group's notify scripts with keepalived's arguments. Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

const VIP2: &str = "198.51.100.100";
const MOVE: Duration = Duration::from_secs(10);

fn config(priority: u8, group_notify: &Recorder) -> String {
    let instance = |name: &str, interface: &str, vrid: u8, vip: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface {interface}\n    \
             virtual_router_id {vrid}\n    priority {priority}\n    advert_int 0.1\n    \
             virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n    vrrp_version 3\n    vrrp_garp_master_delay 1\n}}\n\n\
         vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    \
         notify_master {}\n    notify_backup {}\n    notify_fault {}\n    notify_stop {}\n    \
         notify {}\n}}\n\n{}{}",
        group_notify.command("master"),
        group_notify.command("backup"),
        group_notify.command("fault"),
        group_notify.command("stop"),
        group_notify.command(""),
        instance("VI_1", "eth0", 51, VIP_CIDR),
        instance("VI_2", "eth1", 52, &format!("{VIP2}/24")),
    )
}

/// The group notify calls keepalived makes for one change: the state's script, then `notify`
/// with `GROUP G <STATE> 0`.
fn change(state: &str) -> Vec<Vec<String>> {
    vec![
        vec![state.to_lowercase()],
        ["GROUP", "G", state, "0"].map(String::from).to_vec(),
    ]
}

fn calls(lab: &Lab, recorder: &Recorder) -> Vec<Vec<String>> {
    recorder
        .calls()
        .unwrap_or_else(|e| lab.fail(&e))
        .iter()
        .map(|c| c.args().iter().map(|a| a.to_string()).collect())
        .collect()
}

fn holds_both(lab: &Lab, router: u8) -> bool {
    lab.has_addr_on(router, "eth0", VIP) && lab.has_addr_on(router, "eth1", VIP2)
}

fn holds_none(lab: &Lab, router: u8) -> bool {
    !lab.has_addr_on(router, "eth0", VIP) && !lab.has_addr_on(router, "eth1", VIP2)
}

#[test]
fn sync_group_fails_over_together_and_runs_group_notify_scripts() {
    let lab = Lab::new(2);
    lab.add_link(1, "eth1", Some("198.51.100.1/24"));
    lab.add_link(2, "eth1", Some("198.51.100.2/24"));
    let (n1, n2) = (
        lab.named_recorder("group-r1"),
        lab.named_recorder("group-r2"),
    );
    lab.start_text(1, &config(200, &n1), &[]);
    lab.wait_until("r1 to hold both VIPs", MOVE, || holds_both(&lab, 1));
    lab.start_text(2, &config(100, &n2), &[]);
    let expected_r1: Vec<Vec<String>> = [change("BACKUP"), change("MASTER")].concat();
    lab.wait_until("r2's group to report BACKUP", MOVE, || {
        calls(&lab, &n2) == change("BACKUP")
    });
    lab.assert_stays(
        "r1 alone holds both VIPs with r2 running",
        Duration::from_secs(1),
        || holds_both(&lab, 1) && holds_none(&lab, 2),
    );
    if calls(&lab, &n1) != expected_r1 {
        lab.fail(&format!("r1's group notify calls: {:?}", calls(&lab, &n1)));
    }

    // r1's eth0 goes down: VI_1 faults, and VI_2, whose eth1 is fine, faults with it.
    lab.set_link(1, false);
    lab.wait_until("r2 to hold both VIPs, r1 none", MOVE, || {
        holds_both(&lab, 2) && holds_none(&lab, 1)
    });
    let expected_r1 = [expected_r1, change("FAULT")].concat();
    lab.wait_until("r1's group to report FAULT", MOVE, || {
        calls(&lab, &n1) == expected_r1
    });
    let fault = n1.calls().unwrap_or_else(|e| lab.fail(&e));
    let generic = fault.last().map(|c| {
        (
            c.var("KEEPVIP_STATE"),
            c.var("KEEPVIP_REASON"),
            c.var("KEEPVIP_PRIORITY"),
        )
    });
    if generic != Some(("FAULT", "link_down", "0")) {
        lab.fail(&format!("r1's group FAULT notify environment: {generic:?}"));
    }
    let expected_r2 = [change("BACKUP"), change("MASTER")].concat();
    lab.wait_until("r2's group to report MASTER", MOVE, || {
        calls(&lab, &n2) == expected_r2
    });

    // Back up: r1 (priority 200) takes both back together.
    lab.set_link(1, true);
    lab.wait_until("r1 to hold both VIPs again, r2 none", MOVE, || {
        holds_both(&lab, 1) && holds_none(&lab, 2)
    });
    let expected_r1 = [expected_r1, change("BACKUP"), change("MASTER")].concat();
    lab.wait_until("r1's group to report BACKUP then MASTER", MOVE, || {
        calls(&lab, &n1) == expected_r1
    });
    let expected_r2 = [expected_r2, change("BACKUP")].concat();
    lab.wait_until("r2's group to report BACKUP", MOVE, || {
        calls(&lab, &n2) == expected_r2
    });

    lab.terminate(1);
    lab.wait_exit(1, Duration::from_secs(5));
    let expected_r1 = [expected_r1, change("STOP")].concat();
    lab.wait_until("r1's group to report STOP", MOVE, || {
        calls(&lab, &n1) == expected_r1
    });
}
