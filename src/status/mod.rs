//! `status`: a read-only snapshot of the agent (every instance and sync group, as `proto` and the
//! daemon's components see them) and the ways it is served: the control socket's versioned JSON
//! protocol ([`protocol`]), `keepvip status`'s table ([`table`]) and Prometheus text
//! ([`metrics`]). Plain data: the daemon builds a [`Snapshot`], nothing here touches the loop.

pub mod client;
pub mod keepalived;
pub mod metrics;
pub mod protocol;
pub mod table;

use serde::{Deserialize, Serialize};

/// One look at the whole agent. Field names are part of the stable `--json` format
/// (README, "Operations"): add fields, never rename or remove them within a protocol version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub agent: Agent,
    pub instances: Vec<InstanceStatus>,
    pub sync_groups: Vec<GroupStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub version: String,
    pub pid: u32,
    pub config: String,
    /// Unix time (seconds) the agent started, and of this snapshot.
    pub started: f64,
    pub now: f64,
    /// Configuration reloads applied and refused since start.
    pub reloads: u64,
    pub reload_failures: u64,
    /// Packets dropped before they reached an instance, by reason (`truncated`, `ip_header`,
    /// `too_short`, `unknown_vrid`); the instances' own counters hold the rest.
    #[serde(default)]
    pub dropped: Vec<Counter>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    /// `inet` or `inet6`.
    pub family: String,
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// INIT, BACKUP, MASTER, FAULT (or STOP while stopping).
    pub state: String,
    /// keepalived's state number: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.
    pub state_number: u8,
    /// Unix time the current state was entered (`None` before start-up).
    pub since: Option<f64>,
    pub previous_state: Option<String>,
    /// Why the last transition happened (`master_down`, `preempted`, `link_down`, …; the notify scripts' `KEEPVIP_REASON` words).
    pub reason: String,
    pub priority: Priority,
    /// Our own advert interval, seconds.
    pub advert_interval: f64,
    /// The master: the last one heard, or this router while it is master.
    pub master: Option<Master>,
    pub vips: Vec<Vip>,
    pub preempt: bool,
    /// Seconds.
    pub preempt_delay: f64,
    pub sync_group: Option<String>,
    /// VRRPv3-over-IPv4 checksum variant each peer uses (`rfc` or `v2-style`).
    pub peer_checksums: Vec<PeerChecksum>,
    /// keepalived's statistics names, plus keepvip's own, in a stable order.
    pub counters: Vec<Counter>,
    /// Notify scripts of this instance.
    pub scripts: ScriptStats,
    /// Transitions since start, by the state entered and the reason.
    pub transitions: Vec<TransitionCount>,
    /// What this router saw of the service (README, "Availability"). Defaulted when an older
    /// agent does not send it.
    #[serde(default)]
    pub availability: Availability,
}

/// Outages and master changes this router saw, since start-up or the last reset
/// (`keepvip reset-availability`), plus the lifetime figures a reset leaves alone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// Unix time the since-reset figures start from (start-up or the last reset).
    pub since_reset: Option<f64>,
    pub state_seconds: StateSeconds,
    /// Outages that ended.
    pub outages: u64,
    pub outage_seconds_total: f64,
    pub longest_outage_seconds: f64,
    /// Mean up time between outages; `None` with no outage.
    pub mtbf_seconds: Option<f64>,
    /// Mean outage; `None` with no outage.
    pub mttr_seconds: Option<f64>,
    /// MTBF / (MTBF + MTTR); 1 with no outage.
    pub ratio: f64,
    pub master_changes: u64,
    /// The last 32 outages, oldest first.
    pub recent: Vec<Outage>,
    /// The outage going on now (`seconds` so far), not counted above until it ends.
    pub ongoing: Option<Outage>,
    /// Since start-up, never reset (what the Prometheus counters show).
    pub lifetime: AvailabilityLifetime,
    /// Durations of every outage since start-up: `[le, count]` pairs, cumulative; the +Inf
    /// bucket is `count`.
    pub histogram: OutageHistogram,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StateSeconds {
    pub init: f64,
    pub backup: f64,
    pub master: f64,
    pub fault: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// Unix time it began.
    pub start: f64,
    pub seconds: f64,
    /// `master-down`, `master-released`, `link-down` or `fault`.
    pub cause: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityLifetime {
    pub state_seconds: StateSeconds,
    pub outages: u64,
    pub outage_seconds_total: f64,
    pub master_changes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutageHistogram {
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransitionCount {
    pub to: String,
    pub reason: String,
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Priority {
    pub base: u8,
    pub effective: u8,
    /// Each tracked object and what it does to the priority now.
    pub trackers: Vec<Tracker>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    /// The object and its condition now, for example `track_script chk_haproxy down` or
    /// `track_file f = 5`.
    pub object: String,
    /// `adjust`, `fault` or `pending`.
    pub effect: String,
    /// The priority change it makes (0 unless `effect` is `adjust`).
    pub adjust: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Master {
    pub address: String,
    pub priority: u8,
    /// Seconds.
    pub advert_interval: f64,
    /// This router is the master.
    pub local: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Vip {
    pub address: String,
    pub prefix_len: u8,
    pub dev: String,
    /// `virtual_ipaddress_excluded`: installed, not advertised.
    pub excluded: bool,
    /// On the interface now (added by this agent, or the owner's own address).
    pub installed: bool,
    /// Seconds left of the lease this agent last gave it (`None`: permanent or not installed).
    pub lease_remaining: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerChecksum {
    pub peer: String,
    pub variant: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub name: String,
    pub value: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScriptStats {
    pub runs: u64,
    pub failures: u64,
    pub timeouts: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub name: String,
    pub state: String,
    pub members: Vec<String>,
}

/// One state change, as `keepvip events` prints it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unix time, seconds.
    pub time: f64,
    /// `instance` or `sync_group`.
    pub kind: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub priority: u8,
    /// The master heard last, if any (for a new master: this router).
    pub master: Option<String>,
    /// The outage this transition ended (this router's takeover), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage_seconds: Option<f64>,
}

impl Event {
    /// The one-line form `keepvip events` prints.
    pub fn line(&self) -> String {
        let master = self
            .master
            .as_deref()
            .map(|m| format!(" master {m}"))
            .unwrap_or_default();
        let outage = self
            .outage_seconds
            .map(|s| format!(" outage {}", format_outage(s)))
            .unwrap_or_default();
        let kind = if self.kind == "sync_group" {
            "sync group "
        } else {
            ""
        };
        format!(
            "{} {kind}{}: {} -> {} ({}, priority {}){master}{outage}",
            format_time(self.time),
            self.name,
            self.from,
            self.to,
            self.reason,
            self.priority
        )
    }
}

/// An outage's length: milliseconds under a second (`361ms`), else seconds to 10 ms (`3.61s`),
/// fine enough to compare with a Master_Down_Interval.
pub fn format_outage(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        "-".into()
    } else if seconds < 1.0 {
        format!("{}ms", (seconds * 1000.0).round() as u64)
    } else if seconds < 60.0 {
        format!("{seconds:.2}s")
    } else {
        format_duration(seconds)
    }
}

/// Unix time as `2026-12-03T15:04:05.123Z` (UTC; no time zone database needed).
pub fn format_time(unix: f64) -> String {
    if !unix.is_finite() || unix < 0.0 {
        return "-".into();
    }
    let millis_total = (unix * 1000.0).round() as u64;
    let (secs, millis) = (millis_total / 1000, millis_total % 1000);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's well-known algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A duration in seconds the way the table shows it: `850ms`, `12.3s`, `4m05s`, `3h12m`, `5d02h`.
pub fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".into();
    }
    if seconds < 1.0 {
        return format!("{}ms", (seconds * 1000.0).round() as u64);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let s = seconds as u64;
    if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_iso8601() {
        assert_eq!(format_time(0.0), "1970-01-01T00:00:00.000Z");
        // date -u -d @1796310245 → 2026-12-03T15:04:05Z
        assert_eq!(format_time(1_796_310_245.25), "2026-12-03T15:04:05.250Z");
        assert_eq!(format_time(951_782_400.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_time(-1.0), "-");
        assert_eq!(format_time(f64::NAN), "-");
    }

    #[test]
    fn durations_are_compact() {
        assert_eq!(format_duration(0.8504), "850ms");
        assert_eq!(format_duration(12.34), "12.3s");
        assert_eq!(format_duration(245.0), "4m05s");
        assert_eq!(format_duration(3.0 * 3600.0 + 720.0), "3h12m");
        assert_eq!(format_duration(5.0 * 86_400.0 + 7200.0), "5d02h");
        assert_eq!(format_duration(-3.0), "-");
        assert_eq!(format_outage(0.3609), "361ms");
        assert_eq!(format_outage(3.609375), "3.61s");
        assert_eq!(format_outage(245.0), "4m05s");
        assert_eq!(format_outage(f64::NAN), "-");
    }

    #[test]
    fn an_event_line_names_everything() {
        let event = Event {
            time: 0.5,
            kind: "instance".into(),
            name: "VI_1".into(),
            from: "BACKUP".into(),
            to: "MASTER".into(),
            reason: "master_down".into(),
            priority: 100,
            master: Some("192.0.2.2".into()),
            outage_seconds: None,
        };
        assert_eq!(
            event.line(),
            "1970-01-01T00:00:00.500Z VI_1: BACKUP -> MASTER (master_down, priority 100) master 192.0.2.2"
        );
        let ended = Event {
            outage_seconds: Some(3.609375),
            ..event
        };
        assert!(
            ended.line().ends_with("master 192.0.2.2 outage 3.61s"),
            "{}",
            ended.line()
        );
        // Older agents send no outage: still an event.
        let old: Event = serde_json::from_str(
            r#"{"time":1,"kind":"instance","name":"VI_1","from":"BACKUP","to":"MASTER","reason":"x","priority":1,"master":null}"#,
        )
        .unwrap();
        assert_eq!(old.outage_seconds, None);
    }
}
