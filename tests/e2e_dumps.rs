//! keepalived's dump files from real agents: SIGUSR1 / SIGUSR2 / SIGRTMIN+2 (sent the way
//! exporters do, `kill -s $(keepvip --signum=...)`) write `keepalived.data`, `.stats` and
//! `.json` where `*_file_location` say or in `$TMPDIR`, parsed here the way the common
//! exporters parse them; the password never appears; `--signum` agrees with keepalived's.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

const PASSWORD: &str = "secret12";

fn signum(function: &str) -> String {
    let out = Command::new(KEEPVIP)
        .arg(format!("--signum={function}"))
        .output()
        .expect("keepvip runs");
    assert!(out.status.success(), "keepvip --signum={function} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Signals the agent as an exporter does.
fn send(lab: &Lab, router: u8, function: &str) {
    let pid = lab.agent_pid(router).to_string();
    let status = Command::new("kill")
        .args(["-s", &signum(function), &pid])
        .status()
        .expect("kill runs");
    if !status.success() {
        lab.fail(&format!("kill -s {function} {pid} failed"));
    }
}

/// Waits for `path` to appear (written to a temporary name and renamed: complete once there).
fn read_when_written(lab: &Lab, path: &Path) -> String {
    lab.wait_for(
        &format!("{} to be written", path.display()),
        Duration::from_secs(5),
        || std::fs::read_to_string(path).ok(),
    )
}

/// keepalived.data the way exporters read it: ` VRRP Instance = NAME` starts an instance,
/// three-space `Key = value` lines belong to it, five-space lines are list items.
fn parse_data(text: &str) -> HashMap<String, (HashMap<String, String>, Vec<String>)> {
    let mut instances = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix(" VRRP Instance = ") {
            current = Some(name.trim().to_string());
            instances.insert(name.trim().to_string(), (HashMap::new(), Vec::new()));
        } else if let (Some(name), true) = (&current, line.starts_with("   ")) {
            let entry = instances.get_mut(name).expect("instance entry");
            if line.starts_with("     ") {
                entry.1.push(line.trim().to_string());
            } else if let Some((key, value)) = line.split_once('=') {
                entry
                    .0
                    .insert(key.trim().to_string(), value.trim().to_string());
            }
        } else {
            current = None;
        }
    }
    instances
}

/// keepalived.stats the way exporters read it: every value an integer, keyed by section.
fn parse_stats(lab: &Lab, text: &str) -> HashMap<String, u64> {
    let mut values = HashMap::new();
    let mut section = String::new();
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("VRRP Instance: "))
    {
        if line.starts_with("VRRP Instance: ") {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            lab.fail(&format!("keepalived.stats line without ':': {line:?}"));
        };
        if value.trim().is_empty() {
            section = key.trim().to_string();
            continue;
        }
        let Ok(number) = value.trim().parse::<u64>() else {
            lab.fail(&format!(
                "keepalived.stats value is not an integer: {line:?}"
            ));
        };
        let key = if line.starts_with("    ") {
            format!("{section}/{}", key.trim())
        } else {
            key.trim().to_string()
        };
        values.insert(key, number);
    }
    values
}

fn check_secret_kept(lab: &Lab, files: &[&PathBuf]) {
    for path in files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(PASSWORD) {
            lab.fail(&format!("{} shows the password:\n{text}", path.display()));
        }
        let mode = std::fs::metadata(path).map_or(0, |m| m.permissions().mode()) & 0o777;
        if mode != 0o600 {
            lab.fail(&format!("{} has mode {mode:o}, not 0600", path.display()));
        }
    }
}

#[test]
fn signals_write_keepalived_dumps_that_exporters_can_parse() {
    let lab = Lab::new(2);
    let dumps = lab.dir().join("dumps");
    let tmp = lab.dir().join("r2-tmp");
    for dir in [&dumps, &tmp] {
        std::fs::create_dir(dir).expect("dump directory");
    }
    let check = lab.dir().join("scripts").join("check.sh");
    std::fs::write(&check, "#!/bin/sh\nexit 0\n").expect("check script");
    std::fs::set_permissions(&check, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let auth =
        format!("authentication {{\n        auth_type PASS\n        auth_pass {PASSWORD}\n    }}");
    let master = Conf::v2(200)
        .line(auth.clone())
        .line("track_script {\n        chk\n    }");
    let master_text = master
        .render()
        .replacen(
            "global_defs {\n",
            &format!(
                "global_defs {{\n    router_id r1\n    state_file_location {}\n    \
                 stats_file_location {}\n    json_file_location {}\n",
                dumps.display(),
                dumps.join("ka.stats").display(),
                dumps.display()
            ),
            1,
        )
        .replacen(
            "vrrp_instance",
            &format!(
                "vrrp_script chk {{\n    script \"{}\"\n    interval 1\n    weight -10\n}}\n\n\
                 vrrp_instance",
                check.display()
            ),
            1,
        );
    lab.start_text(1, &master_text, &[]);
    let backup_text = Conf::v2(100).line(auth).render().replacen(
        "global_defs {\n",
        "global_defs {\n    json_version 2\n",
        1,
    );
    lab.start_text(
        2,
        &backup_text,
        &[("TMPDIR", tmp.to_str().unwrap_or_default())],
    );
    lab.wait_until(
        "r1 to hold the VIP",
        master.master_down_interval() + Duration::from_secs(5),
        || lab.only_holder_is(1),
    );
    // r2 has heard r1 (its master priority is known) once it logged the backup transition.
    lab.wait_until("r2 to be backup", Duration::from_secs(5), || {
        lab.log_text(2).contains("BACKUP")
    });

    // The master: files where global_defs says.
    send(&lab, 1, "DATA");
    send(&lab, 1, "STATS");
    send(&lab, 1, "JSON");
    let data_path = dumps.join("keepalived.data");
    let stats_path = dumps.join("ka.stats");
    let json_path = dumps.join("keepalived.json");
    let data = read_when_written(&lab, &data_path);
    let stats = read_when_written(&lab, &stats_path);
    let json = read_when_written(&lab, &json_path);
    check_secret_kept(&lab, &[&data_path, &stats_path, &json_path]);

    let parsed = parse_data(&data);
    let Some((fields, items)) = parsed.get(INSTANCE) else {
        lab.fail(&format!("keepalived.data has no {INSTANCE}:\n{data}"));
    };
    for (key, want) in [
        ("State", "MASTER"),
        ("Interface", "eth0"),
        ("Virtual Router ID", "51"),
        ("Priority", "200"),
        ("Effective priority", "200"),
        ("Advert interval", "1 sec"),
        ("Authentication type", "SIMPLE_PASSWORD"),
        ("Password", "********"),
        ("Gratuitous ARP delay", "1"),
    ] {
        if fields.get(key).map(String::as_str) != Some(want) {
            lab.fail(&format!("keepalived.data: {key} is not {want}:\n{data}"));
        }
    }
    if !items.contains(&format!("{VIP_CIDR} dev eth0 scope global set"))
        || !items.contains(&"chk weight -10".to_string())
    {
        lab.fail(&format!("keepalived.data lists {items:?}:\n{data}"));
    }
    if !data.contains("\n VRRP Script = chk\n") || !data.contains("   Status = GOOD\n") {
        lab.fail(&format!(
            "keepalived.data has no healthy chk script:\n{data}"
        ));
    }
    if !data.contains(" Router ID = r1\n") {
        lab.fail(&format!("keepalived.data's global section:\n{data}"));
    }

    let counters = parse_stats(&lab, &stats);
    if counters.get("Became master") != Some(&1)
        || counters.get("Advertisements/Sent").is_none_or(|&n| n == 0)
        || counters.get("Packet Errors/TTL") != Some(&0)
        || counters.get("Priority Zero/Sent") != Some(&0)
    {
        lab.fail(&format!(
            "keepalived.stats parsed as {counters:?}:\n{stats}"
        ));
    }

    let value: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => lab.fail(&format!("keepalived.json is not JSON ({e}):\n{json}")),
    };
    let vi = &value[0];
    if vi["data"]["iname"] != INSTANCE
        || vi["data"]["state"] != 2
        || vi["data"]["vrid"] != 51
        || vi["data"]["base_priority"] != 200
        || vi["data"]["auth_type"] != 1
        || vi["data"]["auth_data"] != "********"
        || vi["data"]["vips"][0] != format!("{VIP_CIDR} dev eth0 scope global set")
        || vi["stats"]["become_master"] != 1
        || vi["stats"]["advert_sent"].as_u64().is_none_or(|n| n == 0)
    {
        lab.fail(&format!("keepalived.json (version 1):\n{json}"));
    }

    // The journal still gets the state and the counters.
    let log = lab.log_text(1);
    if !log.contains("VI_1: MASTER since") || !log.contains("advert_sent=") {
        lab.fail("SIGUSR1 / SIGUSR2 no longer log the state and the counters");
    }

    // The backup: keepalived's default place, ${TMPDIR}, and json_version 2.
    send(&lab, 2, "DATA");
    send(&lab, 2, "JSON");
    let data = read_when_written(&lab, &tmp.join("keepalived.data"));
    let json = read_when_written(&lab, &tmp.join("keepalived.json"));
    check_secret_kept(
        &lab,
        &[&tmp.join("keepalived.data"), &tmp.join("keepalived.json")],
    );
    let parsed = parse_data(&data);
    if parsed
        .get(INSTANCE)
        .and_then(|(f, _)| f.get("State"))
        .map(String::as_str)
        != Some("BACKUP")
    {
        lab.fail(&format!("r2's keepalived.data:\n{data}"));
    }
    if !data.contains(&format!("     {VIP_CIDR} dev eth0 scope global\n")) {
        lab.fail(&format!("r2's VIP is not shown as not set:\n{data}"));
    }
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    let vi = &value["vrrp"][0]["data"];
    if vi["state"] != 1
        || vi["master_priority"] != 200
        || value["track_process"] != serde_json::json!([])
    {
        lab.fail(&format!("r2's keepalived.json (version 2):\n{json}"));
    }
}

/// Exporters ask `keepalived --signum`: keepvip must answer the same numbers.
#[test]
fn signum_agrees_with_keepalived() {
    for function in ["STOP", "RELOAD", "DATA", "STATS", "JSON"] {
        let out = Command::new("keepalived")
            .arg(format!("--signum={function}"))
            .output()
            .expect("keepalived is installed (scripts/install-deps.sh test)");
        let theirs = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(signum(function), theirs, "--signum={function}");
    }
    let out = Command::new(KEEPVIP)
        .arg("--signum=STATS_CLEAR")
        .output()
        .expect("keepvip runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never go backwards"));
}
