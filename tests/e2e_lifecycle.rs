//! `startup_script` / `shutdown_script` run by a real agent: the startup script before any
//! instance (the instances wait for it, bounded by its timeout), the shutdown script after the
//! instances stopped and released their VIPs, in order with the notify scripts.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

/// A wrapper that waits `delay`, notes whether the VIP is on eth0 at that moment, then
/// records itself through the notify recorder with `tag` and that observation.
fn observing_wrapper(lab: &Lab, rec: &Recorder, name: &str, tag: &str, delay: &str) -> String {
    let body = format!(
        "#!/bin/sh\n\
         sleep {delay}\n\
         if ip -o addr show dev eth0 | grep -q ' {VIP}/'; then vip=vip-present; else vip=vip-absent; fi\n\
         exec '{rec}' {tag} \"$vip\"\n",
        rec = rec.script.display(),
    );
    lab.script(name, &body).display().to_string()
}

fn with_globals(conf: &Conf, lines: &[String]) -> String {
    let mut globals = String::from("global_defs {\n");
    for line in lines {
        globals.push_str(&format!("    {line}\n"));
    }
    conf.render().replacen("global_defs {\n", &globals, 1)
}

#[test]
fn startup_runs_before_the_instances_and_shutdown_after_the_vips_are_released() {
    let lab = Lab::new(1);
    let rec = lab.recorder(1);
    // The startup script takes 1 s: a notify call or the VIP before its record means the
    // instances did not wait for it.
    let startup = observing_wrapper(&lab, &rec, "startup.sh", "startup", "1");
    let shutdown = observing_wrapper(&lab, &rec, "shutdown.sh", "shutdown", "0");
    let conf = Conf::v3(200)
        .line(format!("notify_master {}", rec.command("master")))
        .line(format!("notify_stop {}", rec.command("stop")));
    let text = with_globals(
        &conf,
        &[
            format!("startup_script {startup}"),
            "startup_script_timeout 5".to_string(),
            format!("shutdown_script {shutdown}"),
        ],
    );
    lab.start_text(1, &text, &[]);
    lab.wait_until(
        "r1, alone, to hold the VIP after its startup script",
        Duration::from_secs(1) + conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1),
    );
    let calls = || rec.calls().unwrap_or_else(|e| lab.fail(&e));
    lab.wait_until("the MASTER notify call", Duration::from_secs(5), || {
        calls().len() >= 2
    });
    lab.terminate(1);
    let (status, _) = lab.wait_exit(1, Duration::from_secs(8));
    if !status.success() {
        lab.fail(&format!("r1 exited with {status} on SIGTERM"));
    }
    if lab.has_vip(1) {
        lab.fail("r1 exited but left the VIP behind");
    }
    // The agent waited for its shutdown script: everything is recorded once it is gone.
    let seen: Vec<Vec<String>> = calls().iter().map(|c| c.argv[1..].to_vec()).collect();
    let expected: Vec<Vec<String>> = [
        &["startup", "vip-absent"][..],
        &["master"],
        &["stop"],
        &["shutdown", "vip-absent"],
    ]
    .iter()
    .map(|args| args.iter().map(|a| a.to_string()).collect())
    .collect();
    if seen != expected {
        lab.fail(&format!(
            "calls {seen:?}, expected startup, MASTER, STOP, shutdown: {expected:?}"
        ));
    }
}

#[test]
fn a_hanging_startup_script_holds_the_instances_until_its_timeout() {
    let lab = Lab::new(1);
    let (hang, pidfile) = lab.hanging_script(1);
    let conf = Conf::v3(200);
    let text = with_globals(
        &conf,
        &[
            format!("startup_script {}", hang.display()),
            "startup_script_timeout 2".to_string(),
        ],
    );
    lab.start_text(1, &text, &[]);
    lab.wait_until(
        "the startup script to be running (and hanging)",
        Duration::from_secs(5),
        || still_hanging(&pidfile),
    );
    // Well past Master_Down_Interval: an instance that had started would hold the VIP.
    lab.assert_stays(
        "no VIP while the startup script runs",
        conf.master_down_interval() + Duration::from_millis(500),
        || !lab.has_vip(1),
    );
    lab.wait_until(
        "the startup script to be killed at its 2 s timeout and r1 to take the VIP",
        Duration::from_secs(2) + conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1) && !still_hanging(&pidfile),
    );
    let log = lab.log_text(1);
    if !log.contains("startup_script: script") || !log.contains("TimedOut") {
        lab.fail("the log does not say that the startup script timed out");
    }
}

#[test]
fn sigterm_during_the_startup_script_stops_before_any_instance_and_runs_shutdown() {
    let lab = Lab::new(1);
    let rec = lab.recorder(1);
    let (hang, pidfile) = lab.hanging_script(1);
    let shutdown = observing_wrapper(&lab, &rec, "shutdown.sh", "shutdown", "0");
    let conf = Conf::v3(200).line(format!("notify {}", rec.command("notify")));
    let text = with_globals(
        &conf,
        &[
            format!("startup_script {}", hang.display()),
            "startup_script_timeout 60".to_string(),
            format!("shutdown_script {shutdown}"),
        ],
    );
    lab.start_text(1, &text, &[]);
    lab.wait_until(
        "the startup script to be running (and hanging)",
        Duration::from_secs(5),
        || still_hanging(&pidfile),
    );
    lab.terminate(1);
    let (status, _) = lab.wait_exit(1, Duration::from_secs(5));
    if !status.success() {
        lab.fail(&format!("r1 exited with {status} on SIGTERM"));
    }
    if still_hanging(&pidfile) {
        lab.fail("the startup script outlived the agent");
    }
    let seen: Vec<Vec<String>> = rec
        .calls()
        .unwrap_or_else(|e| lab.fail(&e))
        .iter()
        .map(|c| c.argv[1..].to_vec())
        .collect();
    if seen != vec![vec!["shutdown".to_string(), "vip-absent".to_string()]] {
        lab.fail(&format!(
            "calls {seen:?}: expected only the shutdown script (no instance started)"
        ));
    }
}
