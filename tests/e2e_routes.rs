//! virtual_routes / virtual_rules follow mastership, static_* stay whatever the state, and
//! everything goes at SIGTERM: two real agents, checked with `ip route` / `ip rule` in their
//! namespaces. Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

/// Routes and rules of the instance, each with the text `ip` prints for it.
const VIRTUAL: &str = "    virtual_routes {
        src 192.0.2.100 198.51.100.0/26 via 192.0.2.254 dev eth0 table 100 metric 5
        blackhole 198.51.100.128/25 table 100
        2001:db8:1::/48 via 2001:db8::fe dev eth0 table 100
        198.51.100.64/26 via 203.0.113.1 table 100
    }
    virtual_rules {
        from 192.0.2.100/32 table 100 priority 100
        fwmark 0x10/0xff table 100 priority 101
    }";

const STATIC: &str = "static_ipaddress {
    198.51.100.250/32 dev eth0
}
static_routes {
    198.51.100.192/27 via 192.0.2.254 dev eth0 table 200
}
static_rules {
    to 198.51.100.192/27 table 200 priority 200
}
";

fn config(priority: u8) -> String {
    let conf = Conf::v3(priority).line(VIRTUAL);
    format!("{STATIC}{}", conf.render())
}

fn election_deadline() -> Duration {
    Conf::v3(100).master_down_interval() + Duration::from_secs(4)
}

/// What `router` has of the instance's routes and rules: (routes in table 100, rules 100-101).
fn virtual_entries(lab: &Lab, router: u8) -> (Vec<String>, Vec<String>) {
    let mut routes: Vec<String> = lab
        .ip(router, &["-4", "route", "show", "table", "100"])
        .lines()
        .chain(
            lab.ip(router, &["-6", "route", "show", "table", "100"])
                .lines(),
        )
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    routes.sort();
    let rules = rules_with(lab, router, &["100:", "101:"]);
    (routes, rules)
}

fn rules_with(lab: &Lab, router: u8, priorities: &[&str]) -> Vec<String> {
    lab.ip(router, &["-4", "rule", "show"])
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| priorities.iter().any(|p| l.starts_with(p)))
        .collect()
}

fn expected_virtual() -> (Vec<String>, Vec<String>) {
    let mut routes = vec![
        "198.51.100.0/26 via 192.0.2.254 dev eth0 proto keepalived src 192.0.2.100 metric 5"
            .to_string(),
        "blackhole 198.51.100.128/25 proto keepalived".to_string(),
        "2001:db8:1::/48 via 2001:db8::fe dev eth0 proto keepalived metric 1024 pref medium"
            .to_string(),
    ];
    routes.sort();
    let rules = vec![
        "100: from 192.0.2.100 lookup 100 proto keepalived".to_string(),
        "101: from all fwmark 0x10/0xff lookup 100 proto keepalived".to_string(),
    ];
    (routes, rules)
}

fn has_statics(lab: &Lab, router: u8) -> bool {
    let routes = lab.ip(router, &["route", "show", "table", "200"]);
    routes.contains("198.51.100.192/27 via 192.0.2.254 dev eth0 proto keepalived")
        && rules_with(lab, router, &["200:"])
            == ["200: from all to 198.51.100.192/27 lookup 200 proto keepalived"]
        && lab.has_addr(router, "198.51.100.250")
}

fn has_no_statics(lab: &Lab, router: u8) -> bool {
    lab.ip(router, &["route", "show", "table", "200"])
        .trim()
        .is_empty()
        && rules_with(lab, router, &["200:"]).is_empty()
        && !lab.has_addr(router, "198.51.100.250")
}

fn none() -> (Vec<String>, Vec<String>) {
    (Vec::new(), Vec::new())
}

#[test]
fn virtual_routes_follow_the_master_and_statics_stay_until_stop() {
    let lab = Lab::new(2);
    lab.start_text(1, &config(200), &[]);
    lab.wait_until("r1 to hold the VIP", election_deadline(), || {
        lab.only_holder_is(1)
    });
    lab.start_text(2, &config(100), &[]);
    lab.wait_until(
        "r1's virtual routes and rules",
        Duration::from_secs(5),
        || virtual_entries(&lab, 1) == expected_virtual(),
    );
    lab.wait_until(
        "the static address, route and rule on both routers",
        Duration::from_secs(5),
        || has_statics(&lab, 1) && has_statics(&lab, 2),
    );
    // r2 is backup: statics only.
    lab.assert_stays(
        "r2, backup, without the virtual routes and rules",
        Conf::v3(100).advert_interval() * 5,
        || lab.only_holder_is(1) && virtual_entries(&lab, 2) == none(),
    );
    // The route through an unreachable gateway is refused, logged with the instance, and the
    // VIP and the other routes are there regardless.
    let refused = "VI_1: the kernel refused route 198.51.100.64/26 via 203.0.113.1 table 100";
    lab.wait_until(
        "r1 to log the refused route",
        Duration::from_secs(5),
        || lab.log_text(1).contains(refused),
    );

    // Failover with both running: r2's priority goes above r1's.
    lab.reload_text(2, &config(250));
    lab.wait_until("r2 to take over", election_deadline(), || {
        lab.only_holder_is(2)
    });
    lab.wait_until(
        "the virtual routes and rules to move to r2 and leave r1",
        Duration::from_secs(5),
        || virtual_entries(&lab, 2) == expected_virtual() && virtual_entries(&lab, 1) == none(),
    );
    if !(has_statics(&lab, 1) && has_statics(&lab, 2)) {
        lab.fail("a failover took static entries away");
    }

    // SIGTERM on the master: its routes, rules and statics go with it; r1 takes over.
    lab.terminate(2);
    lab.wait_exit(2, Duration::from_secs(10));
    if virtual_entries(&lab, 2) != none() || !has_no_statics(&lab, 2) {
        lab.fail(&format!(
            "r2 exited leaving {:?} and statics {}",
            virtual_entries(&lab, 2),
            !has_no_statics(&lab, 2)
        ));
    }
    lab.wait_until(
        "r1 to take the VIP and its routes back",
        election_deadline(),
        || lab.only_holder_is(1) && virtual_entries(&lab, 1) == expected_virtual(),
    );
    lab.terminate(1);
    lab.wait_exit(1, Duration::from_secs(10));
    if virtual_entries(&lab, 1) != none() || !has_no_statics(&lab, 1) || lab.has_vip(1) {
        lab.fail("r1 exited leaving routes, rules, statics or the VIP behind");
    }
}

#[test]
fn routes_left_by_a_crash_are_removed_at_start() {
    let lab = Lab::new(2);
    lab.start_text(1, &config(200), &[]);
    lab.wait_until(
        "r1 to hold the VIP and its routes",
        election_deadline() + Duration::from_secs(2),
        || lab.only_holder_is(1) && virtual_entries(&lab, 1) == expected_virtual(),
    );
    lab.kill(1);
    // SIGKILL leaves everything behind (the VIP until its lease runs out).
    let (routes, rules) = virtual_entries(&lab, 1);
    if rules.len() != 2 || !routes.iter().any(|r| r.starts_with("blackhole")) {
        lab.fail(&format!(
            "r1's routes and rules did not survive SIGKILL: {routes:?} {rules:?}"
        ));
    }
    lab.start_text(2, &config(250), &[]);
    lab.wait_until("r2 to take over", election_deadline(), || lab.has_vip(2));
    // r1 comes back as backup: what its crash left must go before it runs.
    lab.start_text(1, &config(200), &[]);
    lab.wait_until(
        "r1 to remove its stale routes and rules",
        Duration::from_secs(5),
        || virtual_entries(&lab, 1) == none() && lab.log_text(1).contains("removed stale"),
    );
    lab.assert_stays(
        "r2 alone with the virtual routes",
        Conf::v3(100).advert_interval() * 5,
        || {
            virtual_entries(&lab, 1) == none()
                && virtual_entries(&lab, 2) == expected_virtual()
                && lab.only_holder_is(2)
        },
    );
}

#[test]
fn a_reload_changes_only_the_routes_and_rules_that_changed() {
    let lab = Lab::new(1);
    lab.start_text(1, &config(200), &[]);
    lab.wait_until(
        "r1 to hold the VIP and its routes",
        election_deadline() + Duration::from_secs(2),
        || lab.has_vip(1) && virtual_entries(&lab, 1) == expected_virtual() && has_statics(&lab, 1),
    );
    let changed = config(200)
        .replace(
            "        blackhole 198.51.100.128/25 table 100\n",
            "        198.51.100.64/27 dev eth0 table 100\n",
        )
        .replace("        fwmark 0x10/0xff table 100 priority 101\n", "")
        .replace(
            "    198.51.100.192/27 via 192.0.2.254 dev eth0 table 200\n",
            "    198.51.100.224/27 via 192.0.2.254 dev eth0 table 200\n",
        );
    assert_ne!(changed, config(200));
    lab.reload_text(1, &changed);
    let mut routes = vec![
        "198.51.100.0/26 via 192.0.2.254 dev eth0 proto keepalived src 192.0.2.100 metric 5"
            .to_string(),
        "198.51.100.64/27 dev eth0 proto keepalived scope link".to_string(),
        "2001:db8:1::/48 via 2001:db8::fe dev eth0 proto keepalived metric 1024 pref medium"
            .to_string(),
    ];
    routes.sort();
    let rules = vec!["100: from 192.0.2.100 lookup 100 proto keepalived".to_string()];
    lab.wait_until(
        "the reloaded routes and rules",
        Duration::from_secs(5),
        || {
            virtual_entries(&lab, 1) == (routes.clone(), rules.clone())
                && lab
                    .ip(1, &["route", "show", "table", "200"])
                    .trim()
                    .starts_with("198.51.100.224/27 via 192.0.2.254 dev eth0 proto keepalived")
                && lab
                    .ip(1, &["route", "show", "table", "200"])
                    .lines()
                    .count()
                    == 1
        },
    );
    // What did not change was not touched.
    let log = lab.log_text(1);
    let removals = log.matches("VI_1: removed route").count();
    if removals != 1 || log.contains("VI_1: removed rule 100") {
        lab.fail(&format!(
            "the reload should remove one route of VI_1 and keep rule 100:\n{log}"
        ));
    }
    if !lab.has_vip(1) {
        lab.fail("the reload took the VIP away");
    }
}
