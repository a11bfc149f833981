//! keepalived's notify FIFO from real agents: `vrrp_notify_fifo` with its `_script` (a reader
//! that appends each line to a file), keepalived's line format for transitions,
//! `notify_priority_changes` (`MASTER_PRIORITY`), a healing split brain
//! (`MASTER_RX_LOWER_PRI` and `notify_master_rx_lower_pri`), STOP at shutdown, the reader
//! ending at end-of-file and the FIFO removed. Needs root; see tests/support/mod.rs.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use support::*;

const MOVE: Duration = Duration::from_secs(6);

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn fifo_lines_follow_transitions_priority_changes_and_a_healing_split() {
    let lab = Lab::new(2);
    let out = lab.dir().join("out");
    let reader = lab.dir().join("scripts").join("fifo-reader.sh");
    let log1 = out.join("fifo-r1.log");
    let log2 = out.join("fifo-r2.log");
    // keepalived passes the FIFO's path as the script's last argument.
    std::fs::write(
        &reader,
        "#!/bin/sh\nlog=$1; fifo=$2\nwhile read -r line; do echo \"$line\" >> \"$log\"; done < \"$fifo\"\necho EOF >> \"$log\"\n",
    )
    .expect("reader script");
    std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let recorder = lab.recorder(1);
    let track = out.join("r1.track");
    std::fs::write(&track, "0\n").expect("track file");
    let fifo1 = out.join("r1.fifo");
    let fifo2 = out.join("r2.fifo");
    let globals = |fifo: &Path, log: &Path| {
        format!(
            "global_defs {{\n    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script \"{} {}\"\n",
            fifo.display(),
            reader.display(),
            log.display()
        )
    };
    let r1 = Conf::v3(200)
        .line("notify_priority_changes")
        .line(format!(
            "notify_master_rx_lower_pri {}",
            recorder.command("rx-lower")
        ))
        .line("track_file {\n        weighted\n    }")
        .render()
        .replacen("global_defs {\n", &globals(&fifo1, &log1), 1)
        + &format!(
            "track_file weighted {{\n    file \"{}\"\n}}\n",
            track.display()
        );
    let r2 = Conf::v3(100)
        .render()
        .replacen("global_defs {\n", &globals(&fifo2, &log2), 1);
    lab.start_text(1, &r1, &[]);
    lab.start_text(2, &r2, &[]);
    lab.wait_until("r1 to be master", MOVE, || lab.only_holder_is(1));
    lab.wait_until("both FIFO readers to see the election", MOVE, || {
        lines(&log1).contains(&"INSTANCE \"VI_1\" MASTER 200".to_string())
            && lines(&log2).contains(&"INSTANCE \"VI_1\" BACKUP 100".to_string())
    });
    if lines(&log1).first().map(String::as_str) != Some("INSTANCE \"VI_1\" BACKUP 200") {
        lab.fail(&format!("r1's FIFO began with {:?}", lines(&log1)));
    }

    // A tracked file lowers the master's priority: MASTER_PRIORITY.
    std::fs::write(&track, "-10\n").expect("track file");
    lab.wait_until("r1's MASTER_PRIORITY line", MOVE, || {
        lines(&log1).contains(&"INSTANCE \"VI_1\" MASTER_PRIORITY 190".to_string())
    });

    // r2 stops hearing r1 and takes over; r1, still master, hears the lower priority.
    lab.drop_vrrp_from(2, &router_ip(1));
    lab.wait_until("r1 to hear r2's lower priority", MOVE, || {
        lines(&log1).contains(&"INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 190".to_string())
    });
    lab.wait_until("notify_master_rx_lower_pri to run", MOVE, || {
        recorder
            .calls()
            .is_ok_and(|calls| calls.iter().any(|c| c.args() == ["rx-lower"]))
    });
    if !lines(&log2).contains(&"INSTANCE \"VI_1\" MASTER 100".to_string()) {
        lab.fail(&format!("r2's FIFO: {:?}", lines(&log2)));
    }

    // SIGTERM: the STOP line, then the reader sees end-of-file; the FIFO keepvip made is gone.
    lab.terminate(1);
    lab.wait_exit(1, Duration::from_secs(5));
    lab.wait_until("r1's reader to finish", MOVE, || {
        lines(&log1).last().map(String::as_str) == Some("EOF")
    });
    let got = lines(&log1);
    if !got.iter().any(|l| l.starts_with("INSTANCE \"VI_1\" STOP ")) {
        lab.fail(&format!("no STOP line on r1's FIFO: {got:?}"));
    }
    if fifo1.exists() {
        lab.fail("r1's FIFO is still there after the agent stopped");
    }
}
