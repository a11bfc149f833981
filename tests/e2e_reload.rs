//! Hitless reload: SIGHUP never disturbs what did not change. A burst of reloads on a master
//! with 20 ms adverts causes no transition on either host and no gap in its adverts; a reload
//! that changes priority and VIPs applies them in place.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

/// (epoch seconds, source, priority) of each advert in a `tcpdump -tt -n` capture.
fn timed_adverts(lines: &[String]) -> Vec<(f64, String, u8)> {
    lines
        .iter()
        .filter_map(|line| {
            let (time, rest) = line.split_once(' ')?;
            let seen = support::net::parse_tcpdump_vrrp(rest)?;
            Some((time.parse().ok()?, seen.src, seen.priority))
        })
        .collect()
}

fn config(advert: &str, priority: u8, vips: &[&str]) -> String {
    let vips: String = vips.iter().map(|v| format!("    {v}\n")).collect();
    format!(
        "global_defs {{\n  vrrp_version 3\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  \
         virtual_router_id 51\n  priority {priority}\n  advert_int {advert}\n  \
         virtual_ipaddress {{\n{vips}  }}\n}}\n"
    )
}

#[test]
fn twenty_reloads_in_two_seconds_cause_no_transition_and_no_advert_gap() {
    let lab = Lab::new(2);
    let master = config("0.02", 200, &[VIP_CIDR]);
    lab.start_text(1, &master, &[]);
    lab.start_text(2, &config("0.02", 100, &[VIP_CIDR]), &[]);
    lab.wait_stable(
        "r1 to be the only VIP holder",
        Duration::from_secs(10),
        Duration::from_secs(1),
        || lab.only_holder_is(1),
    );
    // Under load r2 may win a moment at start-up before r1's first advert arrives (20 ms
    // adverts): count only the transitions the reloads would cause.
    let settled: Vec<usize> = [1, 2]
        .iter()
        .map(|&router| lab.log_text(router).matches(" -> ").count())
        .collect();
    let capture = lab.capture_vrrp_with(&["-tt"]);
    for i in 0..20 {
        // Alternate between two texts that differ only in a comment, so every SIGHUP really
        // re-reads and re-applies a file.
        lab.reload_text(1, &format!("# reload {i}\n{master}"));
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.wait_until("the 20th reload to finish", Duration::from_secs(5), || {
        lab.log_text(1).matches("reload done: 1 instances").count() >= 20
    });
    std::thread::sleep(Duration::from_millis(300));
    let adverts = timed_adverts(&capture.lines());
    let from_r1: Vec<f64> = adverts
        .iter()
        .filter(|(_, src, _)| src == "192.0.2.1")
        .map(|(t, _, _)| *t)
        .collect();
    if from_r1.len() < 80 {
        lab.fail(&format!(
            "only {} adverts from r1 were captured",
            from_r1.len()
        ));
    }
    let worst = from_r1
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(0.0_f64, f64::max);
    eprintln!(
        "{} adverts from r1 during the reloads; largest gap {:.1} ms",
        from_r1.len(),
        worst * 1000.0
    );
    if worst > 0.060 {
        lab.fail(&format!(
            "a gap of {:.1} ms between r1's adverts (3 intervals = 60 ms)",
            worst * 1000.0
        ));
    }
    if adverts.iter().any(|(_, src, _)| src == "192.0.2.2") {
        lab.fail("r2 advertised: it left BACKUP during the reloads");
    }
    for (router, before) in [1, 2].into_iter().zip(settled) {
        let transitions = lab.log_text(router).matches(" -> ").count();
        if transitions != before {
            lab.fail(&format!(
                "r{router} logged {} transitions during the reloads; expected none",
                transitions.saturating_sub(before)
            ));
        }
    }
}

#[test]
fn reload_changes_priority_and_vips_in_place() {
    let lab = Lab::new(2);
    lab.start_text(1, &config("0.1", 200, &[VIP_CIDR]), &[]);
    lab.start_text(2, &config("0.1", 100, &[VIP_CIDR]), &[]);
    lab.wait_stable(
        "r1 to be the only VIP holder",
        Duration::from_secs(10),
        Duration::from_secs(1),
        || lab.only_holder_is(1),
    );
    let capture = lab.capture_vrrp();
    lab.reload_text(1, &config("0.1", 180, &[VIP_CIDR, "192.0.2.101/24"]));
    lab.wait_until("r1 to add the new VIP", Duration::from_secs(5), || {
        lab.has_addr(1, "192.0.2.101")
    });
    lab.wait_until(
        "r1's adverts to carry priority 180",
        Duration::from_secs(5),
        || {
            capture
                .adverts()
                .iter()
                .any(|a| a.src == "192.0.2.1" && a.priority == 180)
        },
    );
    lab.wait_until(
        "the client to reach the new VIP",
        Duration::from_secs(5),
        || lab.client_ping("192.0.2.101"),
    );
    // Dropping a VIP releases it at once, still without a transition.
    lab.reload_text(1, &config("0.1", 180, &["192.0.2.101/24"]));
    lab.wait_until(
        "r1 to release the dropped VIP",
        Duration::from_secs(5),
        || !lab.has_vip(1),
    );
    let log = lab.log_text(1);
    if log.matches(" -> ").count() != 2 || lab.log_text(2).matches(" -> ").count() != 1 {
        lab.fail("a reload caused a transition");
    }
    if !log.contains("released 192.0.2.100/24") {
        lab.fail("the release of the dropped VIP was not logged");
    }
}

/// keepalived's `notify_deleted`: an instance a reload removes says DELETED (to `notify`) and
/// runs the notify_deleted script instead of notify_stop (an instance it restarts says STOP).
#[test]
fn a_reload_that_deletes_an_instance_notifies_deleted() {
    let lab = Lab::new(1);
    let rec = lab.recorder(1);
    let conf = Conf::v3(200)
        .line(format!("notify_deleted {}", rec.command("deleted")))
        .line(format!("notify_stop {}", rec.command("stop")))
        .line(format!("notify {}", rec.command("any")));
    lab.start(1, &conf);
    // The STOP scripts have a queue of their own: let the MASTER ones finish first, so that
    // the recorder sees one call at a time.
    lab.wait_until(
        "r1's MASTER notify to finish",
        Duration::from_secs(5),
        || {
            rec.calls()
                .is_ok_and(|calls| calls.iter().any(|c| c.args().contains(&"MASTER")))
        },
    );
    let other = "vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    \
                 priority 100\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {\n        \
                 198.51.100.52/24\n    }\n}\n";
    lab.reload_text(1, other);
    lab.wait_until("the DELETED notifications", Duration::from_secs(5), || {
        rec.calls().is_ok_and(|calls| {
            calls.iter().any(|c| c.args() == ["deleted"])
                && calls
                    .iter()
                    .any(|c| c.args() == ["any", "INSTANCE", "VI_1", "DELETED", "200"])
        })
    });
    let calls = rec.calls().unwrap_or_default();
    if calls.iter().any(|c| c.args().first() == Some(&"stop")) {
        lab.fail(&format!(
            "notify_stop ran for a deleted instance: {calls:?}"
        ));
    }
}
