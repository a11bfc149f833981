//! The operations surface against real agents: `keepvip status` before and after a failover,
//! `keepvip events` showing the transition as it happens, `keepvip reload` with a good and a bad
//! file, the metrics (checked by Prometheus's own `promtool`, and scraped over HTTP), the
//! availability the backup saw of the failover (and its reset), and stuck clients that neither
//! delay adverts nor lock operators out for long.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::*;

fn keepvip(args: &[&str]) -> Output {
    match Command::new(KEEPVIP).args(args).output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run keepvip {args:?}: {e}"),
    }
}

fn client(lab: &Lab, router: u8, args: &[&str]) -> Output {
    let run_dir = lab.run_dir(router);
    let mut all = vec!["--run-dir", run_dir.to_str().unwrap_or_default()];
    all.extend_from_slice(args);
    keepvip(&all)
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn status_json(lab: &Lab, router: u8) -> serde_json::Value {
    let out = client(lab, router, &["status", "--json"]);
    if !out.status.success() {
        lab.fail(&format!(
            "keepvip status --json failed on r{router}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    match serde_json::from_slice(&out.stdout) {
        Ok(value) => value,
        Err(e) => lab.fail(&format!("status --json is not JSON ({e}): {}", text(&out))),
    }
}

/// Follows `keepvip events --json` of `router`; lines arrive on the channel.
fn follow_events(lab: &Lab, router: u8) -> (Child, mpsc::Receiver<String>) {
    let run_dir = lab.run_dir(router);
    let mut child = match Command::new(KEEPVIP)
        .arg("--run-dir")
        .arg(&run_dir)
        .args(["events", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => lab.fail(&format!("cannot run keepvip events: {e}")),
    };
    let stdout = child.stdout.take().expect("piped stdout");
    // It says so on stderr once the agent took the request: from then on, nothing is missed.
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut first = String::new();
    let _ = stderr.read_line(&mut first);
    if !first.contains("following the agent") {
        lab.fail(&format!("keepvip events did not start: {first}"));
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

fn promtool_check(lab: &Lab, exposition: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => lab.fail(&format!(
            "cannot run promtool (Debian package prometheus): {e}"
        )),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(exposition.as_bytes());
    }
    let out = child.wait_with_output().expect("promtool runs");
    if !out.status.success() {
        lab.fail(&format!(
            "promtool check metrics refused the exposition:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
}

#[test]
fn status_events_and_metrics_follow_a_failover() {
    let lab = Lab::new(2);
    let conf = Conf::v3(200);
    let backup_conf = Conf::v3(100);
    lab.start(1, &conf);
    lab.start_with_args(
        2,
        &backup_conf.render(),
        &[],
        &["--metrics-listen", "127.0.0.1:9650"],
    );
    lab.wait_until(
        "r1 to be master and r2 backup, as status says",
        conf.master_down_interval() + Duration::from_secs(5),
        || {
            lab.instance_state(1).as_deref() == Some("MASTER")
                && lab.instance_state(2).as_deref() == Some("BACKUP")
        },
    );

    // The table, on both routers.
    let table = text(&client(&lab, 1, &["status"]));
    if !(table.contains("VI_1") && table.contains("MASTER") && table.contains("this router")) {
        lab.fail(&format!("r1's status table:\n{table}"));
    }
    if table.lines().any(|l| l.chars().count() > 100) {
        lab.fail(&format!(
            "the status table is wider than 100 columns:\n{table}"
        ));
    }
    let backup = status_json(&lab, 2);
    let vi = &backup["instances"][0];
    if vi["master"]["address"] != "192.0.2.1" || vi["master"]["priority"] != 200 {
        lab.fail(&format!("r2 does not name r1 as master: {vi}"));
    }
    if vi["vips"][0]["installed"] != false || vi["priority"]["effective"] != 100 {
        lab.fail(&format!("r2's VIPs or priority are wrong: {vi}"));
    }
    let master = status_json(&lab, 1);
    if master["instances"][0]["vips"][0]["installed"] != true {
        lab.fail(&format!("r1's VIP is not shown installed: {master}"));
    }

    // An unknown instance is one clear line.
    let out = client(&lab, 1, &["status", "VI_9"]);
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !err.contains("no instance named \"VI_9\"; this agent runs VI_1") {
        lab.fail(&format!("status VI_9 answered: {err}"));
    }

    // Follow r2's events, then crash r1.
    let (mut follower, events) = follow_events(&lab, 2);
    let killed = lab.kill(1);
    let deadline = conf.master_down_interval() + Duration::from_secs(3);
    let event = loop {
        let left = deadline.saturating_sub(killed.elapsed());
        match events.recv_timeout(left) {
            Ok(line) => {
                let value: serde_json::Value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(e) => lab.fail(&format!(
                        "events --json printed a non-JSON line ({e}): {line}"
                    )),
                };
                if value["to"] == "MASTER" {
                    break value;
                }
            }
            Err(_) => lab.fail("keepvip events showed no transition to MASTER after the crash"),
        }
    };
    let _ = follower.kill();
    let _ = follower.wait();
    if event["from"] != "BACKUP" || event["reason"] != "master_down" || event["name"] != "VI_1" {
        lab.fail(&format!("the transition event is wrong: {event}"));
    }

    let after = status_json(&lab, 2);
    let vi = &after["instances"][0];
    if vi["state"] != "MASTER"
        || vi["previous_state"] != "BACKUP"
        || vi["reason"] != "master_down"
        || vi["master"]["local"] != true
        || vi["vips"][0]["installed"] != true
    {
        lab.fail(&format!("r2's status after the failover: {vi}"));
    }

    // Metrics: the CLI's and a real scrape, both valid for promtool.
    let exposition = text(&client(&lab, 2, &["metrics"]));
    promtool_check(&lab, &exposition);
    for expected in [
        "keepvip_vrrp_state{instance=\"VI_1\",interface=\"eth0\",vrid=\"51\",family=\"inet\"} 2",
        "keepvip_instance_state{instance=\"VI_1\",interface=\"eth0\",vrid=\"51\",family=\"inet\",state=\"MASTER\"} 1",
        "keepvip_become_master_total{instance=\"VI_1\",interface=\"eth0\",vrid=\"51\",family=\"inet\"} 1",
        "to=\"MASTER\",reason=\"master_down\"} 1",
    ] {
        if !exposition.contains(expected) {
            lab.fail(&format!("metrics lack {expected}:\n{exposition}"));
        }
    }
    let scrape = Command::new("ip")
        .args(["netns", "exec", &lab.router_ns(2), "bash", "-c"])
        .arg(
            "exec 3<>/dev/tcp/127.0.0.1/9650 && printf 'GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3 && timeout 5 cat <&3",
        )
        .output()
        .expect("bash runs");
    let response = String::from_utf8_lossy(&scrape.stdout).into_owned();
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        lab.fail(&format!("the scrape got no HTTP response: {response:?}"));
    };
    if !head.starts_with("HTTP/1.1 200") || !head.contains("text/plain; version=0.0.4") {
        lab.fail(&format!("the scrape's response head: {head}"));
    }
    promtool_check(&lab, body);

    // The outage r2 saw: from r1's last advert to its own takeover, one Master_Down_Interval
    // (its own: 3 × interval + its skew), give or take the scheduling of a shared machine.
    let mdi = backup_conf.master_down_interval().as_secs_f64();
    let slack = 0.060 + backup_conf.advert_interval().as_secs_f64();
    let about_mdi =
        |seconds: &serde_json::Value| seconds.as_f64().is_some_and(|s| (s - mdi).abs() <= slack);
    if !about_mdi(&event["outage_seconds"]) {
        lab.fail(&format!(
            "the takeover event should carry an outage of about {mdi} s: {event}"
        ));
    }
    let a = &vi["availability"];
    let outage = &a["recent"][0];
    if a["outages"] != 1
        || a["recent"].as_array().map(Vec::len) != Some(1)
        || !about_mdi(&outage["seconds"])
        || outage["cause"] != "master-down"
        || a["mttr_seconds"] != outage["seconds"]
        || a["longest_outage_seconds"] != outage["seconds"]
        || !a["ratio"].as_f64().is_some_and(|r| r > 0.0 && r < 1.0)
        || a["master_changes"] != 1
        || !a["ongoing"].is_null()
        || a["histogram"]["count"] != 1
    {
        lab.fail(&format!(
            "r2 should show one master-down outage of about {mdi} s: {a}"
        ));
    }
    let labels = "instance=\"VI_1\",interface=\"eth0\",vrid=\"51\",family=\"inet\"";
    for expected in [
        format!("keepvip_outages_total{{{labels}}} 1\n"),
        format!("keepvip_outage_seconds_count{{{labels}}} 1\n"),
        format!("keepvip_master_changes_total{{{labels}}} 1\n"),
    ] {
        if !body.contains(&expected) {
            lab.fail(&format!("the scrape lacks {expected}:\n{body}"));
        }
    }
    let detail = text(&client(&lab, 2, &["status", "VI_1"]));
    if !(detail.contains("  availability ")
        && detail.contains("  outages     1, ")
        && detail
            .lines()
            .any(|l| l.starts_with("  outage      ") && l.ends_with(" master-down")))
    {
        lab.fail(&format!(
            "r2's detail lacks the availability block:\n{detail}"
        ));
    }
    eprintln!("r2's detail after the failover:\n{detail}");

    // A reset starts the figures afresh; the lifetime counters stay.
    let out = client(&lab, 2, &["reset-availability", "VI_9"]);
    if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("no instance named") {
        lab.fail("reset-availability of an unknown instance should fail");
    }
    let out = client(&lab, 2, &["reset-availability"]);
    if !out.status.success() || text(&out) != "availability reset: VI_1\n" {
        lab.fail(&format!(
            "reset-availability: {}{}",
            text(&out),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let a = status_json(&lab, 2)["instances"][0]["availability"].clone();
    if a["outages"] != 0
        || a["ratio"] != 1.0
        || a["recent"].as_array().map(Vec::len) != Some(0)
        || !a["mtbf_seconds"].is_null()
        || !a["mttr_seconds"].is_null()
        || a["master_changes"] != 0
        || a["lifetime"]["outages"] != 1
        || a["histogram"]["count"] != 1
    {
        lab.fail(&format!("after the reset: {a}"));
    }
    let exposition = text(&client(&lab, 2, &["metrics"]));
    promtool_check(&lab, &exposition);
    for expected in [
        format!("keepvip_outages_total{{{labels}}} 1\n"),
        format!("keepvip_outage_seconds_count{{{labels}}} 1\n"),
        format!("keepvip_availability_ratio{{{labels}}} 1\n"),
    ] {
        if !exposition.contains(&expected) {
            lab.fail(&format!(
                "after the reset, metrics lack {expected}:\n{exposition}"
            ));
        }
    }
    if exposition.contains("keepvip_mttr_seconds{") {
        lab.fail(&format!("MTTR is undefined after a reset:\n{exposition}"));
    }
}

#[test]
fn reload_through_the_socket_reports_changes_and_errors() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200);
    lab.start(1, &conf);
    lab.wait_until(
        "r1 to be master",
        conf.master_down_interval() + Duration::from_secs(5),
        || lab.instance_state(1).as_deref() == Some("MASTER"),
    );
    let path = lab.conf_path(1);
    let good = Conf::v3(150).render();
    std::fs::write(&path, &good).expect("rewrite the configuration");
    let out = client(&lab, 1, &["reload"]);
    if !out.status.success() || !text(&out).contains("reload applied: VI_1 updated") {
        lab.fail(&format!(
            "a good reload: {}{}",
            text(&out),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if status_json(&lab, 1)["instances"][0]["priority"]["base"] != 150 {
        lab.fail("the reload did not change the priority");
    }

    std::fs::write(&path, "vrrp_instance VI_1 {\n  priorty 100\n").expect("write");
    let out = client(&lab, 1, &["reload"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let file_line = format!("{}:2:3", path.display());
    if out.status.success() || !err.contains(&file_line) || !err.contains("reload refused") {
        lab.fail(&format!(
            "a bad reload should fail naming {file_line}: {err}"
        ));
    }
    if status_json(&lab, 1)["agent"]["reload_failures"] != 1 {
        lab.fail("the refused reload is not counted");
    }
}

#[test]
fn stuck_clients_neither_delay_adverts_nor_lock_out_for_long() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200);
    lab.start(1, &conf);
    lab.wait_until(
        "r1 to be master",
        conf.master_down_interval() + Duration::from_secs(5),
        || lab.instance_state(1).as_deref() == Some("MASTER"),
    );
    let capture = lab.capture_vrrp();
    let socket = lab.run_dir(1).join("keepvip.sock");
    // More connections than the agent takes, sending nothing; one follower that never reads
    // and one request that is never read back.
    let mut stuck: Vec<UnixStream> = (0..40)
        .filter_map(|_| UnixStream::connect(&socket).ok())
        .collect();
    if let Some(first) = stuck.first_mut() {
        let _ = first.write_all(b"{\"keepvip\":1,\"command\":\"events\"}\n");
    }
    let started = Instant::now();
    // Refused at once while they hold every slot: a clear line, no hang.
    let out = client(&lab, 1, &["status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !err.contains("busy") {
        lab.fail(&format!(
            "with every slot taken, status should say busy: {err}"
        ));
    }
    // Within the 5 s request deadline (plus a turn) the silent ones are gone.
    lab.wait_until(
        "status to answer again once the silent clients were dropped",
        Duration::from_secs(8),
        || client(&lab, 1, &["status"]).status.success(),
    );
    if started.elapsed() < Duration::from_secs(4) {
        lab.fail("silent clients were dropped before their deadline");
    }
    // The follower that never reads is still there (no deadline while it has nothing to read).
    let mut buf = [0u8; 256];
    if let Some(first) = stuck.first_mut() {
        let _ = first.set_read_timeout(Some(Duration::from_secs(1)));
        match first.read(&mut buf) {
            Ok(n) if n > 0 && String::from_utf8_lossy(&buf[..n]).contains("following") => {}
            other => lab.fail(&format!("the events follower was not answered: {other:?}")),
        }
    }
    drop(stuck);
    // Adverts kept their rhythm throughout.
    let stamps: Vec<f64> = capture
        .lines()
        .iter()
        .filter(|l| l.contains("VRRPv3") && l.contains("192.0.2.1 >"))
        .filter_map(|l| {
            let t = l.split_whitespace().next()?;
            let mut parts = t.split(':');
            let h: f64 = parts.next()?.parse().ok()?;
            let m: f64 = parts.next()?.parse().ok()?;
            let s: f64 = parts.next()?.parse().ok()?;
            Some(h * 3600.0 + m * 60.0 + s)
        })
        .collect();
    if stamps.len() < 30 {
        lab.fail(&format!("only {} adverts captured", stamps.len()));
    }
    let worst = stamps
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(0.0f64, f64::max);
    if worst > 0.25 {
        lab.fail(&format!(
            "an advert gap of {worst:.3} s at a 0.1 s interval while clients were stuck"
        ));
    }
}

#[test]
fn no_agent_is_one_clear_line() {
    let dir = std::env::temp_dir().join(format!("keepvip-no-agent-{}", std::process::id()));
    let out = keepvip(&["--run-dir", dir.to_str().unwrap_or_default(), "status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(
        err.trim_end(),
        format!(
            "keepvip: no keepvip running with run directory {} (give the agent's --run-dir)",
            dir.display()
        )
    );
}
