//! Notify scripts run by a real agent: argv, environment and order over a whole life
//! (start -> master -> stop), and a hanging script that must not hold up a failover.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

/// What one notify call must look like.
struct Expected {
    args: Vec<String>,
    state: &'static str,
    /// None: the agent's name for "no previous state" (see `is_initial_prev_state`).
    prev_state: Option<&'static str>,
    reason: &'static str,
}

/// Before the first transition the previous state is INIT (README, notify contract).
fn is_initial_prev_state(value: &str) -> bool {
    value == "INIT"
}

/// KEEPVIP_VIPS lists the instance's VIPs, space separated, as ADDR/PREFIX (README).
fn vips_match(value: &str) -> bool {
    value == "192.0.2.100/24 192.0.2.101/24"
}

fn check_call(call: &Expected, seen: &Call, script: &str) -> Result<(), String> {
    let mut argv = vec![script.to_string()];
    argv.extend(call.args.iter().cloned());
    let mut problems = Vec::new();
    if seen.argv != argv {
        problems.push(format!("argv {:?}, expected {argv:?}", seen.argv));
    }
    if seen.var("KEEPVIP_INSTANCE") != INSTANCE {
        problems.push(format!(
            "KEEPVIP_INSTANCE={:?}, expected {INSTANCE}",
            seen.var("KEEPVIP_INSTANCE")
        ));
    }
    if seen.var("KEEPVIP_STATE") != call.state {
        problems.push(format!(
            "KEEPVIP_STATE={:?}, expected {}",
            seen.var("KEEPVIP_STATE"),
            call.state
        ));
    }
    let prev = seen.var("KEEPVIP_PREV_STATE");
    let prev_ok = match call.prev_state {
        Some(expected) => prev == expected,
        None => is_initial_prev_state(prev),
    };
    if !prev_ok {
        problems.push(format!(
            "KEEPVIP_PREV_STATE={prev:?}, expected {}",
            call.prev_state.unwrap_or("INIT")
        ));
    }
    if seen.var("KEEPVIP_REASON") != call.reason {
        problems.push(format!(
            "KEEPVIP_REASON={:?}, expected {}",
            seen.var("KEEPVIP_REASON"),
            call.reason
        ));
    }
    if seen.var("KEEPVIP_PRIORITY") != "200" {
        problems.push(format!(
            "KEEPVIP_PRIORITY={:?}, expected 200",
            seen.var("KEEPVIP_PRIORITY")
        ));
    }
    if !vips_match(seen.var("KEEPVIP_VIPS")) {
        problems.push(format!(
            "KEEPVIP_VIPS={:?}, expected the two VIPs space separated",
            seen.var("KEEPVIP_VIPS")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_string()).collect()
}

/// The two calls of one transition: the state's own script, then-or-before the generic
/// `notify` with `INSTANCE VI_1 STATE 200` appended.
fn transition(
    own_args: &[&str],
    state: &'static str,
    prev: Option<&'static str>,
    reason: &'static str,
) -> [Expected; 2] {
    let mut generic = strings(&["generic", "INSTANCE", INSTANCE, state]);
    generic.push("200".to_string());
    [
        Expected {
            args: strings(own_args),
            state,
            prev_state: prev,
            reason,
        },
        Expected {
            args: generic,
            state,
            prev_state: prev,
            reason,
        },
    ]
}

#[test]
fn notify_scripts_get_exact_argv_and_environment_in_order() {
    let lab = Lab::new(1);
    let rec = lab.recorder(1);
    // Arguments a shell would mangle (glob, separator): keepalived splits on blanks, no shell.
    let conf = Conf::v3(200)
        .vips(&["192.0.2.100/24", "192.0.2.101/24"])
        .line(format!(
            "notify_backup {}",
            rec.command("backup-hook --flag=x * a;b")
        ))
        .line(format!("notify_master {}", rec.command("master-hook")))
        .line(format!("notify_fault {}", rec.command("fault-hook")))
        .line(format!("notify_stop {}", rec.command("stop-hook")))
        .line(format!("notify {}", rec.command("generic")));
    lab.start(1, &conf);
    lab.wait_until(
        "r1, alone, to hold both VIPs",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1) && lab.has_addr(1, "192.0.2.101"),
    );
    let calls = || rec.calls().unwrap_or_else(|e| lab.fail(&e));
    lab.wait_until(
        "the BACKUP and MASTER notify calls (4) to complete",
        Duration::from_secs(5),
        || calls().len() >= 4,
    );

    lab.terminate(1);
    let (status, _) = lab.wait_exit(1, Duration::from_secs(3));
    if !status.success() {
        lab.fail(&format!("r1 exited with {status} on SIGTERM"));
    }
    if lab.has_vip(1) || lab.has_addr(1, "192.0.2.101") {
        lab.fail("r1 exited but left a VIP behind");
    }
    // notify_stop may still be running after the agent is gone; give it time to finish.
    lab.wait_until(
        "the STOP notify calls to complete (6 calls in all)",
        Duration::from_secs(5),
        || calls().len() >= 6,
    );
    // Nothing may follow the STOP pair.
    lab.assert_stays(
        "no further notify calls",
        Duration::from_millis(500),
        || calls().len() == 6,
    );

    let script = rec.script.display().to_string();
    let expected: Vec<[Expected; 2]> = vec![
        transition(
            &["backup-hook", "--flag=x", "*", "a;b"],
            "BACKUP",
            None,
            "startup",
        ),
        transition(&["master-hook"], "MASTER", Some("BACKUP"), "master_down"),
        transition(&["stop-hook"], "STOP", Some("MASTER"), "shutdown"),
    ];
    let seen = calls();
    let mut report = Vec::new();
    for (pair_index, (pair, got)) in expected.iter().zip(seen.chunks(2)).enumerate() {
        // Transitions are strictly ordered; within one, the two scripts may come in either order.
        let straight = got.len() == 2
            && check_call(&pair[0], &got[0], &script).is_ok()
            && check_call(&pair[1], &got[1], &script).is_ok();
        let swapped = got.len() == 2
            && check_call(&pair[0], &got[1], &script).is_ok()
            && check_call(&pair[1], &got[0], &script).is_ok();
        if !straight && !swapped {
            for (want, call) in pair.iter().zip(got.iter()) {
                if let Err(problem) = check_call(want, call, &script) {
                    report.push(format!(
                        "transition {} ({}): {problem}",
                        pair_index + 1,
                        want.state
                    ));
                }
            }
            if report.is_empty() {
                report.push(format!(
                    "transition {}: calls {got:?} do not match",
                    pair_index + 1
                ));
            }
        }
    }
    if !report.is_empty() {
        lab.fail(&format!(
            "notify calls differ from start -> master -> stop:\n  {}\nall calls: {seen:#?}",
            report.join("\n  ")
        ));
    }
}

#[test]
fn hanging_notify_backup_does_not_delay_failover() {
    let lab = Lab::new(2);
    let (hang, pidfile) = lab.hanging_script(2);
    let master = Conf::v3(200);
    let backup = Conf::v3(100).line(format!("notify_backup \"{}\"", hang.display()));
    lab.start(1, &master);
    lab.wait_until(
        "r1 to hold the VIP",
        master.master_down_interval() + Duration::from_secs(4),
        || lab.only_holder_is(1),
    );
    lab.start(2, &backup);
    lab.wait_until(
        "r2's notify_backup to be running (and hanging)",
        Duration::from_secs(5),
        || still_hanging(&pidfile),
    );
    lab.assert_stays(
        "r1 alone holds the VIP with r2 running",
        Duration::from_millis(500),
        || lab.only_holder_is(1),
    );

    lab.kill(1);
    let bound = backup.master_down_interval() + Duration::from_millis(1500);
    let took = lab.wait_until(
        &format!(
            "r2 to take over within Master_Down_Interval {:?} + 1.5 s although its notify_backup hangs",
            backup.master_down_interval()
        ),
        bound,
        || lab.has_vip(2),
    );
    eprintln!("r2 took over {took:?} after r1 was reaped");
    if !still_hanging(&pidfile) {
        lab.fail("the hanging notify_backup is gone: this test no longer shows that it did not block the failover");
    }
}
