//! The valueless `virtual_ipaddress` options (`home`, `mngtmpaddr`, `noprefixroute`, `-nodad`)
//! from the configuration to the kernel: a master's addresses carry exactly the flags asked
//! for, and `noprefixroute` leaves no prefix route behind. Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

#[test]
fn a_masters_vips_carry_their_flags_into_the_kernel() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200).line(
        "virtual_ipaddress_excluded {\n        198.51.100.7/24 noprefixroute\n        \
         198.51.100.8/25\n        2001:db8::7/64 home mngtmpaddr noprefixroute -nodad\n    }",
    );
    lab.start(1, &conf);
    lab.wait_until(
        "r1, alone, to hold its VIP and excluded VIPs",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1) && lab.has_addr(1, "198.51.100.7") && lab.has_addr(1, "2001:db8::7"),
    );
    let lines = lab.ip(1, &["-o", "addr", "show", "dev", "eth0"]);
    let line_of = |addr: &str| {
        lines
            .lines()
            .find(|l| l.contains(&format!(" {addr}/")))
            .unwrap_or_else(|| lab.fail(&format!("{addr} missing from:\n{lines}")))
            .to_string()
    };
    let words = |line: &str| {
        line.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let v4 = words(&line_of("198.51.100.7"));
    let plain = words(&line_of("198.51.100.8"));
    let v6 = words(&line_of("2001:db8::7"));
    let has = |w: &[String], flag: &str| w.iter().any(|x| x == flag);
    if !has(&v4, "noprefixroute") || has(&plain, "noprefixroute") {
        lab.fail(&format!(
            "noprefixroute on the wrong IPv4 address:\n{lines}"
        ));
    }
    for flag in ["home", "mngtmpaddr", "noprefixroute"] {
        if !has(&v6, flag) {
            lab.fail(&format!("2001:db8::7 lacks {flag}:\n{lines}"));
        }
    }
    if has(&v6, "tentative") || has(&v6, "dadfailed") {
        lab.fail(&format!("2001:db8::7 went through DAD:\n{lines}"));
    }
    let routes = lab.ip(1, &["-4", "route", "show", "dev", "eth0"]);
    if routes.contains("198.51.100.0/24") || !routes.contains("198.51.100.0/25") {
        lab.fail(&format!(
            "expected the /25's prefix route and none for the noprefixroute /24:\n{routes}"
        ));
    }
}

#[test]
fn preferred_lft_reaches_the_kernel_and_overrides_the_host_route_default() {
    let lab = Lab::new(1);
    // Permanent VIPs, as keepalived's: with keepvip's lease the preferred lifetime is cut
    // to the lease (the netlink test checks that bound).
    let conf = Conf::v3(200).line("vip_lease 0").line(
        "virtual_ipaddress_excluded {\n        2001:db8::8/128 preferred_lft forever\n        \
         2001:db8::9/64 preferred_lft 30\n        2001:db8::a/128\n    }",
    );
    lab.start(1, &conf);
    lab.wait_until(
        "r1, alone, to hold its VIP and excluded VIPs",
        conf.master_down_interval() + Duration::from_secs(4),
        || {
            lab.has_vip(1)
                && ["2001:db8::8", "2001:db8::9", "2001:db8::a"]
                    .iter()
                    .all(|a| lab.has_addr(1, a))
        },
    );
    let lines = lab.ip(1, &["-o", "-6", "addr", "show", "dev", "eth0"]);
    let line_of = |addr: &str| {
        lines
            .lines()
            .find(|l| l.contains(&format!(" {addr}/")))
            .unwrap_or_else(|| lab.fail(&format!("{addr} missing from:\n{lines}")))
            .to_string()
    };
    let forever = line_of("2001:db8::8");
    if forever.contains("deprecated") || !forever.contains("preferred_lft forever") {
        lab.fail(&format!(
            "preferred_lft forever on a /128 is not honoured:\n{lines}"
        ));
    }
    let thirty = line_of("2001:db8::9");
    let secs: Option<u32> = thirty
        .split("preferred_lft ")
        .nth(1)
        .and_then(|rest| rest.split("sec").next())
        .and_then(|n| n.trim().parse().ok());
    if !secs.is_some_and(|s| (20..=30).contains(&s)) {
        lab.fail(&format!("2001:db8::9 should prefer for 30 s:\n{lines}"));
    }
    // The default stays keepalived's: a /128 without preferred_lft is deprecated.
    let default = line_of("2001:db8::a");
    if !default.contains("deprecated") {
        lab.fail(&format!("2001:db8::a/128 should be deprecated:\n{lines}"));
    }
}

#[test]
fn a_no_track_vip_deleted_by_hand_stays_deleted_until_the_next_master_transition() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200).line(
        "virtual_ipaddress_excluded {\n        198.51.100.9/24 no_track\n        \
         198.51.100.10/24\n    }",
    );
    lab.start(1, &conf);
    lab.wait_until(
        "r1, alone, to hold its VIP and excluded VIPs",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1) && lab.has_addr(1, "198.51.100.9") && lab.has_addr(1, "198.51.100.10"),
    );
    lab.ip(1, &["addr", "del", "198.51.100.9/24", "dev", "eth0"]);
    lab.ip(1, &["addr", "del", "198.51.100.10/24", "dev", "eth0"]);
    lab.wait_until(
        "the tracked 198.51.100.10 to be put back",
        Duration::from_secs(2),
        || lab.has_addr(1, "198.51.100.10"),
    );
    // Longer than a lease (renewals run every third of it): none brings it back.
    lab.assert_stays(
        "198.51.100.9 (no_track) to stay deleted, r1 master",
        conf.default_lease() + Duration::from_millis(500),
        || !lab.has_addr(1, "198.51.100.9") && lab.has_vip(1),
    );
    // Down and up: FAULT, then master again, which installs every VIP.
    lab.set_link(1, false);
    lab.wait_until(
        "r1 to release its VIPs in FAULT",
        Duration::from_secs(3),
        || !lab.has_vip(1),
    );
    lab.set_link(1, true);
    lab.wait_until(
        "r1, master again, to add 198.51.100.9 back",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1) && lab.has_addr(1, "198.51.100.9"),
    );
}
