//! keepalived's dump files, for the exporters and scripts that already read them:
//! `keepalived.data` (SIGUSR1), `keepalived.stats` (SIGUSR2) and `keepalived.json`
//! (SIGRTMIN+2). The layouts are keepalived 2.2.7's for the VRRP sections (what exporters parse:
//! ` VRRP Instance = NAME`, three-space `Key = value` lines, five-space list items, and in the
//! stats file integer values only); the global section lists keepvip's own settings in the same
//! `Key = value` form. Plain data in, text out: the daemon fills a [`Dump`] and writes the files.
//! Passwords never appear: `auth_pass` is shown as `********`.

use std::fmt::Write;

use serde::Serialize;

use super::format_time;

/// What `auth_pass` shows as, everywhere.
pub const MASKED: &str = "********";

/// Everything the three files show.
#[derive(Clone, Debug, Default)]
pub struct Dump {
    pub global: Vec<(String, String)>,
    pub instances: Vec<DumpInstance>,
    pub scripts: Vec<DumpScript>,
}

#[derive(Clone, Debug, Default)]
pub struct DumpInstance {
    pub name: String,
    /// 2 or 3.
    pub version: u8,
    /// keepalived's state number (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT) and word.
    pub state: u8,
    pub wantstate: u8,
    /// Unix time of the last transition (0 before any).
    pub last_transition: f64,
    pub interface: String,
    /// The VMAC interface, `use_vmac`.
    pub vmac_interface: Option<String>,
    pub source: Option<String>,
    /// `Multicast address 224.0.0.18` or the unicast peers.
    pub destination: Destination,
    pub garp: Garp,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub vrid: u8,
    pub base_priority: u8,
    pub effective_priority: u8,
    /// The master heard last (0: none, or this router).
    pub master_priority: u8,
    /// Seconds.
    pub advert_interval: f64,
    pub master_advert_interval: f64,
    pub master_down_interval_us: u64,
    /// `down_timer_adverts`.
    pub down_timer_adverts: u8,
    pub accept: bool,
    pub preempt: bool,
    /// Seconds.
    pub preempt_delay: f64,
    /// 0 none, 1 PASS, 2 AH.
    pub auth_type: u8,
    pub dont_track_primary: bool,
    /// keepalived's VIP lines: `192.0.2.1/24 dev eth0 scope global set`.
    pub vips: Vec<String>,
    pub excluded_vips: Vec<String>,
    /// (interface, weight).
    pub track_interfaces: Vec<(String, i32)>,
    /// (script name, weight).
    pub track_scripts: Vec<(String, i32)>,
    /// (file name, weight).
    pub track_files: Vec<(String, i32)>,
    /// Notify scripts, as keepalived quotes them (`'/bin/x' 'master'`).
    pub notify_master: Option<String>,
    pub notify_backup: Option<String>,
    pub notify_fault: Option<String>,
    pub notify_stop: Option<String>,
    pub notify: Option<String>,
    pub sync_group: Option<String>,
    /// keepalived's counter names and values, `Counters::named` order.
    pub counters: Vec<(&'static str, u64)>,
}

#[derive(Clone, Debug, Default)]
pub enum Destination {
    #[default]
    None,
    Multicast(String),
    Unicast(Vec<String>),
}

/// Gratuitous ARP / NA settings in keepalived's units (whole seconds, frame counts).
#[derive(Clone, Copy, Debug, Default)]
pub struct Garp {
    pub delay: u64,
    pub repeat: u32,
    pub refresh: u64,
    pub refresh_repeat: u32,
    pub lower_prio_delay: u64,
    pub lower_prio_repeat: u32,
}

#[derive(Clone, Debug, Default)]
pub struct DumpScript {
    pub name: String,
    /// Quoted as keepalived does: `'/usr/bin/true' 'arg'`.
    pub command: String,
    /// Seconds.
    pub interval: f64,
    pub timeout: f64,
    pub rise: u32,
    pub fall: u32,
    /// `GOOD`, `BAD` or `INIT` (not reported yet).
    pub status: &'static str,
    pub running: bool,
    /// (instance, weight).
    pub instances: Vec<(String, i32)>,
}

fn state_word(state: u8) -> &'static str {
    match state {
        0 => "INIT",
        1 => "BACKUP",
        2 => "MASTER",
        3 => "FAULT",
        _ => "STOP",
    }
}

fn enabled(on: bool) -> &'static str {
    if on {
        "enabled"
    } else {
        "disabled"
    }
}

fn auth_name(auth_type: u8) -> &'static str {
    match auth_type {
        1 => "SIMPLE_PASSWORD",
        2 => "IPSEC_AH",
        _ => "NONE",
    }
}

/// `1 sec` for whole seconds, `0.1 sec` otherwise (keepalived prints milliseconds as
/// fractions too).
fn interval(seconds: f64) -> String {
    if seconds.fract() == 0.0 {
        format!("{} sec", seconds as u64)
    } else {
        format!("{seconds} sec")
    }
}

fn list(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "   {title} ({}):", items.len());
    for item in items {
        let _ = writeln!(out, "     {item}");
    }
}

fn weighted(out: &mut String, title: &str, items: &[(String, i32)]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "   {title} :");
    for (name, weight) in items {
        let _ = writeln!(out, "     {name} weight {weight}");
    }
}

/// `keepalived.data`.
pub fn data(dump: &Dump) -> String {
    let mut out = String::with_capacity(256 + dump.instances.len() * 1024);
    out.push_str("------< Global definitions >------\n");
    for (key, value) in &dump.global {
        let _ = writeln!(out, " {key} = {value}");
    }
    out.push_str("------< VRRP Topology >------\n");
    for i in &dump.instances {
        let _ = writeln!(out, " VRRP Instance = {}", i.name);
        let _ = writeln!(out, "   VRRP Version = {}", i.version);
        let _ = writeln!(out, "   State = {}", state_word(i.state));
        let _ = writeln!(out, "   Wantstate = {}", state_word(i.wantstate));
        let _ = writeln!(
            out,
            "   Last transition = {:.6} ({})",
            i.last_transition,
            format_time(i.last_transition)
        );
        let _ = writeln!(
            out,
            "   Master down timer = {} usecs",
            i.master_down_interval_us
        );
        let _ = writeln!(out, "   Interface = {}", i.interface);
        if let Some(vmac) = &i.vmac_interface {
            let _ = writeln!(out, "   Use VMAC, i/f {vmac}");
        }
        if let Some(source) = &i.source {
            let _ = writeln!(out, "   Using src_ip = {source}");
        }
        match &i.destination {
            Destination::None => {}
            Destination::Multicast(group) => {
                let _ = writeln!(out, "   Multicast address {group}");
            }
            Destination::Unicast(peers) => list(&mut out, "Unicast Peer", peers),
        }
        let g = &i.garp;
        let _ = writeln!(out, "   Gratuitous ARP delay = {}", g.delay);
        let _ = writeln!(out, "   Gratuitous ARP repeat = {}", g.repeat);
        let _ = writeln!(out, "   Gratuitous ARP refresh = {}", g.refresh);
        let _ = writeln!(
            out,
            "   Gratuitous ARP refresh repeat = {}",
            g.refresh_repeat
        );
        let _ = writeln!(
            out,
            "   Gratuitous ARP lower priority delay = {}",
            g.lower_prio_delay
        );
        let _ = writeln!(
            out,
            "   Gratuitous ARP lower priority repeat = {}",
            g.lower_prio_repeat
        );
        let _ = writeln!(out, "   Down timer adverts = {}", i.down_timer_adverts);
        let _ = writeln!(
            out,
            "   Send advert after receive lower priority advert = {}",
            !i.lower_prio_no_advert
        );
        let _ = writeln!(
            out,
            "   Send advert after receive higher priority advert = {}",
            i.higher_prio_send_advert
        );
        let _ = writeln!(out, "   Virtual Router ID = {}", i.vrid);
        let _ = writeln!(out, "   Priority = {}", i.base_priority);
        let _ = writeln!(out, "   Effective priority = {}", i.effective_priority);
        let _ = writeln!(out, "   Advert interval = {}", interval(i.advert_interval));
        let _ = writeln!(out, "   Accept = {}", enabled(i.accept));
        let _ = writeln!(out, "   Preempt = {}", enabled(i.preempt));
        if i.preempt_delay > 0.0 {
            let _ = writeln!(out, "   Preempt delay = {} secs", i.preempt_delay);
        }
        let _ = writeln!(out, "   Authentication type = {}", auth_name(i.auth_type));
        if i.auth_type == 1 {
            let _ = writeln!(out, "   Password = {MASKED}");
        }
        list(&mut out, "Virtual IP", &i.vips);
        list(&mut out, "Virtual IP Excluded", &i.excluded_vips);
        weighted(&mut out, "Tracked interfaces", &i.track_interfaces);
        weighted(&mut out, "Tracked scripts", &i.track_scripts);
        weighted(&mut out, "Tracked files", &i.track_files);
        if let Some(group) = &i.sync_group {
            let _ = writeln!(out, "   Sync group = {group}");
        }
        for (what, script) in [
            ("Backup state transition script", &i.notify_backup),
            ("Master state transition script", &i.notify_master),
            ("Fault state transition script", &i.notify_fault),
            ("Stop state transition script", &i.notify_stop),
            ("Generic state transition script", &i.notify),
        ] {
            if let Some(script) = script {
                let _ = writeln!(out, "   {what} = {script}");
            }
        }
    }
    if !dump.scripts.is_empty() {
        out.push_str("------< VRRP Scripts >------\n");
    }
    for s in &dump.scripts {
        let _ = writeln!(out, " VRRP Script = {}", s.name);
        let _ = writeln!(out, "   Command = {}", s.command);
        let _ = writeln!(out, "   Interval = {}", interval(s.interval));
        let _ = writeln!(out, "   Timeout = {}", interval(s.timeout));
        let _ = writeln!(out, "   Rise = {}", s.rise);
        let _ = writeln!(out, "   Fall = {}", s.fall);
        let _ = writeln!(out, "   Status = {}", s.status);
        if !s.instances.is_empty() {
            out.push_str("   Tracking instances :\n");
            for (name, weight) in &s.instances {
                let _ = writeln!(out, "     {name}, weight {weight}");
            }
        }
        let _ = writeln!(
            out,
            "   State = {}",
            if s.running { "running" } else { "idle" }
        );
    }
    out
}

/// `keepalived.stats`: integer values only (exporters parse every value as a number).
pub fn stats(dump: &Dump) -> String {
    let mut out = String::with_capacity(dump.instances.len() * 420);
    for i in &dump.instances {
        let c = |name: &str| {
            i.counters
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, v)| *v)
        };
        let _ = writeln!(out, "VRRP Instance: {}", i.name);
        let _ = write!(
            out,
            "  Advertisements:\n    Received: {}\n    Sent: {}\n",
            c("advert_rcvd"),
            c("advert_sent")
        );
        let _ = writeln!(out, "  Became master: {}", c("become_master"));
        let _ = writeln!(out, "  Released master: {}", c("release_master"));
        let _ = write!(
            out,
            "  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    \
             Advertisement Interval: {}\n    Address List: {}\n",
            c("packet_len_err"),
            c("ip_ttl_err"),
            c("invalid_type_rcvd"),
            c("advert_interval_err"),
            c("addr_list_err")
        );
        let _ = write!(
            out,
            "  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    \
             Failure: {}\n",
            c("invalid_authtype"),
            c("authtype_mismatch"),
            c("auth_failure")
        );
        let _ = write!(
            out,
            "  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            c("pri_zero_rcvd"),
            c("pri_zero_sent")
        );
    }
    out
}

/// The fields of keepalived's JSON `data` object that keepvip has (names and encodings as
/// keepalived's: 0/1 integers where keepalived writes them, booleans where it writes those).
#[derive(Serialize)]
struct JsonData<'a> {
    iname: &'a str,
    dont_track_primary: u8,
    skip_check_adv_addr: u8,
    strict_mode: u8,
    vmac_ifname: &'a str,
    ifp_ifname: &'a str,
    master_priority: u8,
    last_transition: f64,
    garp_delay: u64,
    garp_refresh: u64,
    garp_rep: u32,
    garp_refresh_rep: u32,
    garp_lower_prio_delay: u64,
    garp_lower_prio_rep: u32,
    lower_prio_no_advert: u8,
    higher_prio_send_advert: u8,
    vrid: u8,
    base_priority: u8,
    effective_priority: u8,
    vipset: bool,
    promote_secondaries: bool,
    /// Whole seconds, as keepalived writes them (exporters decode these as integers).
    adver_int: u64,
    master_adver_int: u64,
    accept: u8,
    nopreempt: bool,
    preempt_delay: u64,
    state: u8,
    wantstate: u8,
    version: u8,
    smtp_alert: bool,
    notify_deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_backup: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_master: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_fault: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_stop: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script: Option<&'a str>,
    vips: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    evips: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_ifp: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_script: Vec<&'a str>,
    auth_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_data: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonInstance<'a> {
    data: JsonData<'a>,
    stats: serde_json::Map<String, serde_json::Value>,
}

/// `keepalived.json`: version 1 is keepalived's array of `{"data", "stats"}`; version 2 puts
/// it in an object, `{"vrrp": [...], "track_process": []}`.
pub fn json(dump: &Dump, json_version: u8) -> String {
    let instances: Vec<JsonInstance<'_>> = dump
        .instances
        .iter()
        .map(|i| JsonInstance {
            data: JsonData {
                iname: &i.name,
                dont_track_primary: u8::from(i.dont_track_primary),
                skip_check_adv_addr: 0,
                strict_mode: 0,
                vmac_ifname: i.vmac_interface.as_deref().unwrap_or(""),
                ifp_ifname: &i.interface,
                master_priority: i.master_priority,
                last_transition: i.last_transition,
                garp_delay: i.garp.delay,
                garp_refresh: i.garp.refresh,
                garp_rep: i.garp.repeat,
                garp_refresh_rep: i.garp.refresh_repeat,
                garp_lower_prio_delay: i.garp.lower_prio_delay,
                garp_lower_prio_rep: i.garp.lower_prio_repeat,
                lower_prio_no_advert: u8::from(i.lower_prio_no_advert),
                higher_prio_send_advert: u8::from(i.higher_prio_send_advert),
                vrid: i.vrid,
                base_priority: i.base_priority,
                effective_priority: i.effective_priority,
                vipset: i.state == 2,
                promote_secondaries: false,
                adver_int: i.advert_interval as u64,
                master_adver_int: i.master_advert_interval as u64,
                accept: u8::from(i.accept),
                nopreempt: !i.preempt,
                preempt_delay: i.preempt_delay as u64,
                state: i.state,
                wantstate: i.wantstate,
                version: i.version,
                smtp_alert: false,
                notify_deleted: false,
                script_backup: i.notify_backup.as_deref(),
                script_master: i.notify_master.as_deref(),
                script_fault: i.notify_fault.as_deref(),
                script_stop: i.notify_stop.as_deref(),
                script: i.notify.as_deref(),
                vips: &i.vips,
                evips: &i.excluded_vips,
                track_ifp: i.track_interfaces.iter().map(|(n, _)| n.as_str()).collect(),
                track_script: i.track_scripts.iter().map(|(n, _)| n.as_str()).collect(),
                auth_type: i.auth_type,
                auth_data: (i.auth_type == 1).then_some(MASKED),
            },
            // keepalived's 14 counters (keepvip's own are in its metrics and status).
            stats: i
                .counters
                .iter()
                .take(14)
                .map(|(name, value)| ((*name).to_string(), serde_json::Value::from(*value)))
                .collect(),
        })
        .collect();
    let value = if json_version >= 2 {
        serde_json::json!({ "vrrp": instances, "track_process": [] })
    } else {
        serde_json::to_value(&instances).unwrap_or_default()
    };
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Dump {
        let counters = crate::proto::Counters {
            advert_rcvd: 7,
            advert_sent: 3,
            become_master: 1,
            pri_zero_sent: 1,
            checksum_err: 4,
            ..Default::default()
        };
        Dump {
            global: vec![("Router ID".into(), "r1".into())],
            instances: vec![DumpInstance {
                name: "VI_1".into(),
                version: 2,
                state: 2,
                wantstate: 2,
                last_transition: 1_796_347_669.405_823,
                interface: "eth0".into(),
                source: Some("192.0.2.1".into()),
                destination: Destination::Multicast("224.0.0.18".into()),
                garp: Garp {
                    delay: 5,
                    repeat: 5,
                    refresh: 0,
                    refresh_repeat: 1,
                    lower_prio_delay: 5,
                    lower_prio_repeat: 5,
                },
                vrid: 51,
                base_priority: 100,
                effective_priority: 90,
                advert_interval: 1.0,
                master_advert_interval: 1.0,
                master_down_interval_us: 3_609_375,
                accept: true,
                preempt: true,
                auth_type: 1,
                vips: vec!["192.0.2.100/24 dev eth0 scope global set".into()],
                track_scripts: vec![("chk".into(), -10)],
                notify_master: Some("'/bin/true' 'master'".into()),
                counters: counters.named().to_vec(),
                ..Default::default()
            }],
            scripts: vec![DumpScript {
                name: "chk".into(),
                command: "'/bin/true'".into(),
                interval: 1.0,
                timeout: 0.5,
                rise: 1,
                fall: 1,
                status: "BAD",
                running: false,
                instances: vec![("VI_1".into(), -10)],
            }],
        }
    }

    #[test]
    fn data_has_keepalived_layout_and_no_password() {
        let text = data(&sample());
        for line in [
            "------< VRRP Topology >------",
            " VRRP Instance = VI_1",
            "   State = MASTER",
            "   Wantstate = MASTER",
            "   Last transition = 1796347669.405823 (2026-12-04T01:27:49.406Z)",
            "   Interface = eth0",
            "   Virtual Router ID = 51",
            "   Priority = 100",
            "   Effective priority = 90",
            "   Advert interval = 1 sec",
            "   Gratuitous ARP delay = 5",
            "   Authentication type = SIMPLE_PASSWORD",
            "   Password = ********",
            "   Virtual IP (1):",
            "     192.0.2.100/24 dev eth0 scope global set",
            "   Tracked scripts :",
            "     chk weight -10",
            " VRRP Script = chk",
            "   Status = BAD",
            "   State = idle",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    /// What exporters do with the stats file: every `Key: value` line is an integer.
    #[test]
    fn stats_values_are_all_integers() {
        let text = stats(&sample());
        assert!(text.starts_with("VRRP Instance: VI_1\n  Advertisements:\n    Received: 7\n"));
        assert!(text.contains("\n  Became master: 1\n"));
        assert!(text.contains("\n  Priority Zero:\n    Received: 0\n    Sent: 1\n"));
        for line in text.lines().skip(1) {
            let (_, value) = line.split_once(':').unwrap();
            let value = value.trim();
            assert!(value.is_empty() || value.parse::<u64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn json_v1_is_an_array_and_v2_an_object_with_keepalived_names() {
        let v1: serde_json::Value = serde_json::from_str(&json(&sample(), 1)).unwrap();
        let data = &v1[0]["data"];
        assert_eq!(data["iname"], "VI_1");
        assert_eq!(data["state"], 2);
        assert_eq!(data["vrid"], 51);
        assert_eq!(data["effective_priority"], 90);
        assert_eq!(data["auth_data"], MASKED);
        assert_eq!(data["vips"][0], "192.0.2.100/24 dev eth0 scope global set");
        assert_eq!(data["script_master"], "'/bin/true' 'master'");
        // Go exporters decode these into int: 1.0 would not do.
        for key in [
            "adver_int",
            "master_adver_int",
            "preempt_delay",
            "garp_delay",
        ] {
            assert!(data[key].is_u64(), "{key} = {}", data[key]);
        }
        let stats = v1[0]["stats"].as_object().unwrap();
        assert_eq!(stats.len(), 14);
        assert_eq!(stats["advert_rcvd"], 7);
        assert_eq!(stats["pri_zero_sent"], 1);
        assert!(!stats.contains_key("checksum_err"));
        let v2: serde_json::Value = serde_json::from_str(&json(&sample(), 2)).unwrap();
        assert_eq!(v2["vrrp"][0], v1[0]);
        assert!(v2["track_process"].as_array().unwrap().is_empty());
        assert!(!json(&sample(), 1).contains("secret"));
    }
}
