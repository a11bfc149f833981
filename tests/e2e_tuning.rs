//! keepalived's process settings, checked in /proc: `vrrp_priority`, `vrrp_rt_priority`,
//! `vrrp_rlimit_rttime`, `vrrp_no_swap`, `vrrp_cpu_affinity`. The event loop's thread gets the
//! priorities; the netlink worker stays at normal scheduling below it.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::fs;
use std::time::Duration;
use support::*;

/// Fields of /proc/PID/task/TID/stat after the command name: nice is field 19, rt_priority 40
/// and policy 41 (man 5 proc).
fn stat_fields(pid: u32, tid: &str) -> Vec<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
    after.split_whitespace().map(str::to_string).collect()
}

fn field(fields: &[String], number: usize) -> String {
    fields.get(number - 3).cloned().unwrap_or_default()
}

fn status_line(pid: u32, key: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l.trim_start_matches(key).trim().to_string())
        .unwrap_or_default()
}

#[test]
fn process_settings_reach_the_kernel() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200);
    let text = conf.render().replacen(
        "global_defs {\n",
        "global_defs {\n    vrrp_priority -7\n    vrrp_rt_priority 20\n    vrrp_rlimit_rttime 500000\n    vrrp_no_swap\n    vrrp_cpu_affinity 0\n",
        1,
    );
    lab.start_text(1, &text, &[]);
    lab.wait_until(
        "r1 to hold the VIP",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1),
    );
    let pid = lab.agent_pid(1);
    let main = stat_fields(pid, &pid.to_string());
    let tasks: Vec<String> = fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let worker = tasks
        .iter()
        .find(|tid| {
            fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
                .is_ok_and(|c| c.trim() == "keepvip-netlink")
        })
        .map(|tid| stat_fields(pid, tid))
        .unwrap_or_default();
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let rttime = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .unwrap_or("")
        .to_string();
    let report = format!(
        "main thread policy {} rt_priority {} nice {}; worker policy {} nice {}; VmLck {}; \
         Cpus_allowed_list {}; {rttime}",
        field(&main, 41),
        field(&main, 40),
        field(&main, 19),
        field(&worker, 41),
        field(&worker, 19),
        status_line(pid, "VmLck:"),
        status_line(pid, "Cpus_allowed_list:"),
    );
    eprintln!("{report}");
    // SCHED_RR is 2 (SCHED_RESET_ON_FORK is not shown in the policy field); SCHED_OTHER 0.
    // Under SCHED_RR the nice value is kept for a later return to SCHED_OTHER.
    let ok = field(&main, 41) == "2"
        && field(&main, 40) == "20"
        && field(&main, 19) == "-7"
        && field(&worker, 41) == "0"
        && field(&worker, 19) == "10"
        && status_line(pid, "VmLck:") != "0 kB"
        && status_line(pid, "Cpus_allowed_list:") == "0"
        && rttime.split_whitespace().filter(|w| *w == "500000").count() == 2;
    if !ok {
        lab.fail(&format!("the process settings did not all apply: {report}"));
    }
    // The agent still works under them: it stays master.
    lab.assert_stays("r1 keeps the VIP", Duration::from_secs(1), || {
        lab.has_vip(1)
    });
}
