//! VRRPv2 simple-password authentication on the wire: two keepvip agents elect with PASS, a
//! wrong password is dropped and counted (so both become master), and keepalived 2.2.7 and
//! keepvip accept each other's PASS adverts. Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

fn with_password(conf: Conf, password: &str) -> Conf {
    conf.line("authentication {")
        .line("    auth_type PASS")
        .line(format!("    auth_pass {password}"))
        .line("}")
}

fn counter(lab: &Lab, router: u8, name: &str) -> u64 {
    let counters = lab.agent_counters(router, INSTANCE);
    match counters.get(name) {
        Some(value) => *value,
        None => lab.fail(&format!("r{router} logged no counter {name}: {counters:?}")),
    }
}

#[test]
fn pass_authentication_elects_and_a_wrong_password_is_dropped_and_counted() {
    let lab = Lab::new(2);
    let master = with_password(Conf::v2(200), "secret12");
    let backup = with_password(Conf::v2(100), "secret12");
    lab.start(1, &master);
    lab.wait_until(
        "r1 to hold the VIP",
        master.master_down_interval() + Duration::from_secs(4),
        || lab.only_holder_is(1),
    );
    lab.start(2, &backup);
    // Longer than r2's Master_Down_Interval: r2 would have taken over had it dropped r1.
    lab.assert_stays(
        "r1 alone holds the VIP with r2 (same password) running",
        backup.master_down_interval() + Duration::from_secs(1),
        || lab.only_holder_is(1),
    );
    let received = counter(&lab, 2, "advert_rcvd");
    let failures = counter(&lab, 2, "auth_failure");
    if received < 3 || failures != 0 {
        lab.fail(&format!(
            "r2 counted advert_rcvd={received} auth_failure={failures}; expected adverts accepted"
        ));
    }

    // r2 restarts with another password: r1's adverts are dropped and counted on both sides.
    lab.terminate(2);
    lab.wait_exit(2, Duration::from_secs(5));
    let wrong = with_password(Conf::v2(100), "other-pw");
    lab.start(2, &wrong);
    lab.wait_until(
        "r2 (wrong password) to take the VIP as well",
        wrong.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(2),
    );
    lab.wait_until(
        "both routers to hold the VIP, deaf to each other",
        Duration::from_secs(3),
        || lab.vip_holders() == [1, 2],
    );
    for router in [1, 2] {
        let failures = counter(&lab, router, "auth_failure");
        if failures == 0 {
            lab.fail(&format!(
                "r{router} counted no auth_failure although the other side uses another password"
            ));
        }
    }
    let received = counter(&lab, 2, "advert_rcvd");
    if received != 0 {
        lab.fail(&format!(
            "r2 accepted {received} adverts with the wrong password"
        ));
    }
}

#[test]
fn pass_authentication_interoperates_with_keepalived() {
    let lab = Lab::new(2);
    let password = "interop1";
    let ours = with_password(Conf::v2(200), password);
    lab.start(1, &ours);
    lab.wait_until(
        "keepvip on r1 to hold the VIP",
        ours.master_down_interval() + Duration::from_secs(4),
        || lab.only_holder_is(1),
    );
    let theirs = with_password(Conf::v2(100), password);
    let keepalived = lab.keepalived(2);
    keepalived.start_text(&theirs.render());
    lab.wait_until(
        "keepalived on r2 to enter BACKUP",
        Duration::from_secs(10),
        || keepalived.log_text().contains("Entering BACKUP STATE"),
    );
    // keepalived accepts our adverts: it stays backup past its Master_Down_Interval.
    lab.assert_stays(
        "keepvip alone holds the VIP with keepalived (same password) running",
        theirs.master_down_interval() + Duration::from_secs(1),
        || lab.only_holder_is(1),
    );

    // keepvip leaves (priority 0): keepalived takes over and advertises with the password.
    lab.terminate(1);
    lab.wait_exit(1, Duration::from_secs(5));
    lab.wait_until(
        "keepalived on r2 to take the VIP",
        Duration::from_secs(5),
        || lab.only_holder_is(2),
    );
    // keepvip comes back below keepalived: it must accept keepalived's adverts and stay backup.
    let low = with_password(Conf::v2(50), password);
    lab.start(1, &low);
    lab.assert_stays(
        "keepalived alone holds the VIP with keepvip (priority 50) running",
        low.master_down_interval() + Duration::from_secs(1),
        || lab.only_holder_is(2),
    );
    let received = counter(&lab, 1, "advert_rcvd");
    let failures = counter(&lab, 1, "auth_failure") + counter(&lab, 1, "authtype_mismatch");
    if received < 3 || failures != 0 {
        lab.fail(&format!(
            "keepvip counted {received} adverts from keepalived and {failures} authentication errors"
        ));
    }
    let log = keepalived.log_text();
    if log.contains("passwd") || log.contains(" auth") {
        lab.fail(&format!(
            "keepalived complained about authentication:\n{log}"
        ));
    }
}
