//! Tracking on real agents: track scripts (weights, FAULT, a hanging script killed at its
//! timeout), track_interface on a second interface, and track files watched with inotify.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::fs;
use std::path::Path;
use std::time::Duration;
use support::*;

/// Plenty for one tracking change (a 1 s script interval, then 0.1 s adverts) on a busy machine.
const MOVE: Duration = Duration::from_secs(10);

fn start_with(lab: &Lab, router: u8, conf: &Conf, blocks: &str) {
    lab.start_text(router, &format!("{}\n{blocks}", conf.render()), &[]);
}

/// r2 at priority 100 and r1 (priority 200, with `tracking`) holding the VIP.
fn pair(lab: &Lab, r1: Conf, blocks: &str) {
    lab.start(2, &Conf::v3(100));
    start_with(lab, 1, &r1, blocks);
    lab.wait_until("r1 to hold the VIP", MOVE, || lab.only_holder_is(1));
}

/// A check script that fails while `flag` exists.
fn flag_check(lab: &Lab, name: &str, flag: &Path) -> String {
    let script = lab.shell_script(name, &format!("test ! -e '{}'", flag.display()));
    script.display().to_string()
}

/// A `Duration`'s `{:?}` text ("1.0012s", "999.5ms").
fn parse_debug_duration(text: &str) -> Option<Duration> {
    let (number, scale) = match text.strip_suffix("ms") {
        Some(ms) => (ms, 1e-3),
        None => (text.strip_suffix('s')?, 1.0),
    };
    number
        .parse::<f64>()
        .ok()
        .map(|n| Duration::from_secs_f64(n * scale))
}

fn write(path: &Path, text: &str) {
    if let Err(e) = fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
}

fn remove(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        panic!("cannot remove {}: {e}", path.display());
    }
}

#[test]
fn failing_track_script_with_negative_weight_moves_the_vip_and_recovery_moves_it_back() {
    let lab = Lab::new(2);
    let flag = lab.out_path("r1-check-fails");
    let check = flag_check(&lab, "check-r1", &flag);
    let r1 = Conf::v3(200).line("track_script {\n        chk\n    }");
    let blocks = format!(
        "vrrp_script chk {{\n    script \"{check}\"\n    interval 1\n    weight -150\n}}\n"
    );
    pair(&lab, r1, &blocks);

    write(&flag, "");
    let took = lab.wait_until("r2 to take the VIP after r1's check fails", MOVE, || {
        lab.only_holder_is(2)
    });
    eprintln!("the VIP moved {took:?} after the check started failing");
    let log = lab.log_text(1);
    for expected in ["vrrp_script chk: now down", "effective priority 200 -> 50"] {
        if !log.contains(expected) {
            lab.fail(&format!("r1's log lacks {expected:?}"));
        }
    }

    remove(&flag);
    lab.wait_until(
        "r1 to take the VIP back after its check recovers",
        MOVE,
        || lab.only_holder_is(1),
    );
    lab.wait_stable(
        "r1 alone to hold the VIP",
        MOVE,
        Duration::from_secs(1),
        || lab.only_holder_is(1),
    );
}

#[test]
fn weight_zero_track_script_sends_the_instance_to_fault_and_runs_notify_fault() {
    let lab = Lab::new(2);
    let flag = lab.out_path("r1-check-fails");
    let check = flag_check(&lab, "check-r1", &flag);
    let notify = lab.recorder(1);
    let r1 = Conf::v3(200)
        .line("track_script {\n        chk\n    }")
        .line(format!("notify_fault {}", notify.command("fault")))
        .line(format!("notify_master {}", notify.command("master")));
    let blocks = format!("vrrp_script chk {{\n    script \"{check}\"\n    interval 1\n}}\n");
    pair(&lab, r1, &blocks);

    write(&flag, "");
    lab.wait_until("r2 to take the VIP when r1 goes to FAULT", MOVE, || {
        lab.only_holder_is(2)
    });
    let fault = lab.wait_for("r1's notify_fault", MOVE, || {
        let calls = notify.calls().unwrap_or_else(|e| lab.fail(&e));
        calls.into_iter().find(|c| c.args() == ["fault"])
    });
    if fault.var("KEEPVIP_STATE") != "FAULT" || fault.var("KEEPVIP_REASON") != "tracking" {
        lab.fail(&format!("notify_fault ran with {fault:?}"));
    }

    remove(&flag);
    lab.wait_until("r1 to take the VIP back when it leaves FAULT", MOVE, || {
        lab.only_holder_is(1)
    });
    lab.wait_until("r1's notify_master after the FAULT", MOVE, || {
        let calls = notify.calls().unwrap_or_else(|e| lab.fail(&e));
        let after_fault = calls.iter().skip_while(|c| c.args() != ["fault"]);
        after_fault.filter(|c| c.args() == ["master"]).count() == 1
    });
}

#[test]
fn hanging_track_script_is_killed_at_its_timeout_and_counts_as_a_failure() {
    let lab = Lab::new(2);
    let (hang, pidfile) = lab.hanging_script(1);
    let r1 = Conf::v3(200).line("track_script {\n        hang\n    }");
    // Runs every 5 s, so between the kill at 1 s and the next run the script is not running.
    let blocks = format!(
        "vrrp_script hang {{\n    script \"{}\"\n    interval 5\n    timeout 1\n    weight -150\n}}\n",
        hang.display()
    );
    lab.start(2, &Conf::v3(100));
    lab.wait_until("r2 to hold the VIP", MOVE, || lab.only_holder_is(2));
    start_with(&lab, 1, &r1, &blocks);

    let pid = lab.wait_for("the hanging check to start", MOVE, || {
        fs::read_to_string(&pidfile)
            .ok()?
            .trim()
            .parse::<u32>()
            .ok()
    });
    let alive =
        || fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"));
    lab.wait_until(
        "the hanging check to be killed at its 1 s timeout",
        Duration::from_secs(4),
        || !alive(),
    );
    let marker = "vrrp_script hang: now down (timed out after ";
    let ran = lab.wait_for("r1 to log the timeout as a failure", MOVE, || {
        let log = lab.log_text(1);
        let rest = log.split(marker).nth(1)?;
        parse_debug_duration(rest.split(',').next()?)
    });
    eprintln!("the hanging check (pid {pid}) was killed after {ran:?}");
    // Killed at its timeout: not before, and not much later.
    if ran < Duration::from_secs(1) || ran > Duration::from_secs(3) {
        lab.fail(&format!(
            "the check was killed after {ran:?}, expected its 1 s timeout"
        ));
    }
    lab.wait_stable(
        "r2 to hold the VIP (r1 at 200 - 150)",
        MOVE,
        Duration::from_secs(1),
        || lab.only_holder_is(2),
    );
}

#[test]
fn track_interface_on_other_interfaces_weights_and_faults() {
    let lab = Lab::new(2);
    lab.add_link(1, "eth1", Some("198.51.100.1/25"));
    lab.add_link(1, "eth2", Some("198.51.100.129/25"));
    let r1 = Conf::v3(200).line("track_interface {\n        eth1 weight -150\n        eth2\n    }");
    pair(&lab, r1, "");

    lab.set_iface(1, "eth1", false);
    lab.wait_until("r2 to take the VIP when r1's eth1 goes down", MOVE, || {
        lab.only_holder_is(2)
    });
    if !lab.log_text(1).contains("effective priority 200 -> 50") {
        lab.fail("r1 did not log its lower priority");
    }
    lab.set_iface(1, "eth1", true);
    lab.wait_until("r1 to take the VIP back when eth1 is up", MOVE, || {
        lab.only_holder_is(1)
    });

    lab.set_iface(1, "eth2", false);
    lab.wait_until(
        "r2 to take the VIP when eth2 (weight 0) goes down",
        MOVE,
        || lab.only_holder_is(2),
    );
    if !lab
        .log_text(1)
        .contains("tracking requires FAULT: track_interface eth2 down")
    {
        lab.fail("r1 did not log its FAULT");
    }
    lab.set_iface(1, "eth2", true);
    lab.wait_until("r1 to take the VIP back when eth2 is up", MOVE, || {
        lab.only_holder_is(1)
    });
}

#[test]
fn track_file_values_move_the_vip() {
    let lab = Lab::new(2);
    let weighted = lab.out_path("r1-weighted.track");
    let faulting = lab.out_path("r1-fault.track");
    // init_file ... overwrite resets whatever was there before the start.
    write(&weighted, "77\n");
    let r1 = Conf::v3(200).line("track_file {\n        weighted\n        faulting weight 0\n    }");
    let blocks = format!(
        "track_file weighted {{\n    file \"{}\"\n    init_file 0 overwrite\n}}\n\
         track_file faulting {{\n    file \"{}\"\n}}\n",
        weighted.display(),
        faulting.display()
    );
    pair(&lab, r1, &blocks);
    if fs::read_to_string(&weighted).ok().as_deref() != Some("0\n") {
        lab.fail("init_file 0 overwrite did not rewrite the file");
    }

    // Replaced by a rename, as editors and careful scripts do.
    let tmp = lab.out_path("r1-weighted.tmp");
    write(&tmp, "-150\n");
    if let Err(e) = fs::rename(&tmp, &weighted) {
        panic!("cannot rename {}: {e}", tmp.display());
    }
    lab.wait_until("r2 to take the VIP at -150 x 1", MOVE, || {
        lab.only_holder_is(2)
    });
    // Rewritten in place.
    write(&weighted, "0\n");
    lab.wait_until("r1 to take the VIP back at 0", MOVE, || {
        lab.only_holder_is(1)
    });

    // Weight 0: any non-zero value is a FAULT; a deleted file reads as 0.
    write(&faulting, "1\n");
    lab.wait_until("r2 to take the VIP when r1 faults", MOVE, || {
        lab.only_holder_is(2)
    });
    remove(&faulting);
    lab.wait_until(
        "r1 to take the VIP back when the file is gone",
        MOVE,
        || lab.only_holder_is(1),
    );
}
