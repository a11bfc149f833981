//! `keepvip status`'s human form: a table of every instance that fits 100 columns, or every
//! field of one instance.

use std::fmt::Write;

use super::{format_duration, format_outage, format_time, Availability, InstanceStatus, Snapshot};

/// The widest line [`summary`] writes.
pub const MAX_WIDTH: usize = 100;

/// How many of the recent outages [`detail`] lists (all are in `--json`).
pub const DETAIL_OUTAGES: usize = 5;

/// Cuts `text` to `width` characters, marking the cut with `~`.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('~');
    cut
}

fn family_short(family: &str) -> &str {
    match family {
        "inet" => "ipv4",
        "inet6" => "ipv6",
        other => other,
    }
}

/// One row per instance, then one per sync group.
pub fn summary(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<10} {:>4} {:<3} {:<4} {:<6} {:>7} {:>7} {:<25} {:>5}",
        "INSTANCE", "INTERFACE", "VRID", "VER", "FAM", "STATE", "FOR", "PRIO", "MASTER", "VIPS"
    );
    for i in &snapshot.instances {
        let since = i
            .since
            .map(|s| format_duration(snapshot.agent.now - s))
            .unwrap_or_else(|| "-".into());
        let master = match &i.master {
            Some(m) if m.local => "this router".to_string(),
            Some(m) => format!("{} ({})", m.address, m.priority),
            None => "-".into(),
        };
        let installed = i.vips.iter().filter(|v| v.installed).count();
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:>4} {:<3} {:<4} {:<6} {:>7} {:>7} {:<25} {:>5}",
            fit(&i.name, 16),
            fit(&i.interface, 10),
            i.vrid,
            format!("v{}", i.version),
            family_short(&i.family),
            fit(&i.state, 6),
            since,
            format!("{}/{}", i.priority.effective, i.priority.base),
            fit(&master, 25),
            fit(&format!("{installed}/{}", i.vips.len()), 5),
        );
    }
    if !snapshot.sync_groups.is_empty() {
        let _ = writeln!(out, "\n{:<16} {:<6} MEMBERS", "SYNC GROUP", "STATE");
        for g in &snapshot.sync_groups {
            let _ = writeln!(
                out,
                "{:<16} {:<6} {}",
                fit(&g.name, 16),
                fit(&g.state, 6),
                fit(&g.members.join(" "), MAX_WIDTH - 24)
            );
        }
    }
    out
}

/// Every field of one instance, a line each.
pub fn detail(snapshot: &Snapshot, i: &InstanceStatus) -> String {
    let mut out = String::new();
    let now = snapshot.agent.now;
    let _ = writeln!(
        out,
        "{}: VRRPv{} {} VRID {} on {}",
        i.name,
        i.version,
        family_short(&i.family),
        i.vrid,
        i.interface
    );
    let since = i
        .since
        .map(|s| {
            format!(
                " since {} ({} ago)",
                format_time(s),
                format_duration(now - s)
            )
        })
        .unwrap_or_default();
    let previous = i
        .previous_state
        .as_deref()
        .map(|p| format!(", was {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  state       {}{since}{previous}, reason {}",
        i.state, i.reason
    );
    let _ = writeln!(
        out,
        "  priority    {} (base {}), advert interval {}s, {}",
        i.priority.effective,
        i.priority.base,
        i.advert_interval,
        if i.preempt {
            if i.preempt_delay > 0.0 {
                format!("preempt after {}s", i.preempt_delay)
            } else {
                "preempt".to_string()
            }
        } else {
            "nopreempt".to_string()
        }
    );
    for t in &i.priority.trackers {
        let effect = match t.effect.as_str() {
            "adjust" => format!("{:+}", t.adjust),
            other => other.to_string(),
        };
        let _ = writeln!(out, "  tracking    {}: {effect}", t.object);
    }
    match &i.master {
        Some(m) if m.local => {
            let _ = writeln!(out, "  master      this router");
        }
        Some(m) => {
            let _ = writeln!(
                out,
                "  master      {} priority {}, advert interval {}s",
                m.address, m.priority, m.advert_interval
            );
        }
        None => {
            let _ = writeln!(out, "  master      none heard");
        }
    }
    for v in &i.vips {
        let lease = v
            .lease_remaining
            .map(|s| format!(", lease {} left", format_duration(s)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  vip         {}/{} dev {}{}: {}{lease}",
            v.address,
            v.prefix_len,
            v.dev,
            if v.excluded { " (excluded)" } else { "" },
            if v.installed {
                "installed"
            } else {
                "not installed"
            }
        );
    }
    if let Some(group) = &i.sync_group {
        let _ = writeln!(out, "  sync group  {group}");
    }
    for p in &i.peer_checksums {
        let _ = writeln!(out, "  peer        {} checksum {}", p.peer, p.variant);
    }
    let _ = writeln!(
        out,
        "  scripts     {} runs, {} failed, {} timed out",
        i.scripts.runs, i.scripts.failures, i.scripts.timeouts
    );
    let counters: Vec<String> = i
        .counters
        .iter()
        .filter(|c| c.value != 0)
        .map(|c| format!("{}={}", c.name, c.value))
        .collect();
    let mut line = String::from("  counters   ");
    for c in &counters {
        if line.len() + 1 + c.len() > MAX_WIDTH {
            let _ = writeln!(out, "{line}");
            line = String::from("             ");
        }
        line.push(' ');
        line.push_str(c);
    }
    if counters.is_empty() {
        line.push_str(" all zero");
    }
    let _ = writeln!(out, "{line}");
    availability(&mut out, now, &i.availability);
    out
}

/// R as a percentage, never rounded up to 100% while there was an outage.
fn percent(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "-".into();
    }
    if ratio >= 1.0 {
        return "100%".into();
    }
    format!("{:.3}%", (ratio * 100_000.0).floor() / 1000.0)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The availability block of [`detail`].
fn availability(out: &mut String, now: f64, a: &Availability) {
    let since = a
        .since_reset
        .map(|s| format!(" since {} ({})", format_time(s), format_duration(now - s)))
        .unwrap_or_default();
    let _ = writeln!(out, "  availability {}{since}", percent(a.ratio));
    let mut line = format!(
        "  outages     {}, {} in all",
        a.outages,
        format_outage(a.outage_seconds_total)
    );
    if let (Some(mttr), Some(mtbf)) = (a.mttr_seconds, a.mtbf_seconds) {
        let _ = write!(
            line,
            ", MTTR {}, longest {}, MTBF {}",
            format_outage(mttr),
            format_outage(a.longest_outage_seconds),
            format_duration(mtbf)
        );
    }
    let _ = write!(
        line,
        "; {}",
        plural(a.master_changes, "master change", "master changes")
    );
    let _ = writeln!(out, "{line}");
    let s = &a.state_seconds;
    let _ = writeln!(
        out,
        "  time in     BACKUP {}, MASTER {}, FAULT {}",
        format_duration(s.backup),
        format_duration(s.master),
        format_duration(s.fault)
    );
    if let Some(o) = &a.ongoing {
        let _ = writeln!(
            out,
            "  outage now  since {} ({} so far) {}",
            format_time(o.start),
            format_outage(o.seconds),
            o.cause
        );
    }
    for o in a.recent.iter().rev().take(DETAIL_OUTAGES) {
        let _ = writeln!(
            out,
            "  outage      {} {} {}",
            format_time(o.start),
            format_outage(o.seconds),
            o.cause
        );
    }
    if a.recent.len() > DETAIL_OUTAGES {
        let _ = writeln!(
            out,
            "              ({} older in --json)",
            a.recent.len() - DETAIL_OUTAGES
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::*;
    use super::*;

    pub(crate) fn sample() -> Snapshot {
        let instance = |name: &str, state: &str, local: bool| InstanceStatus {
            name: name.into(),
            interface: "eth0-with-a-long-name".into(),
            vrid: 255,
            family: "inet6".into(),
            version: 3,
            state: state.into(),
            state_number: 2,
            since: Some(1000.0),
            previous_state: Some("BACKUP".into()),
            reason: "master_down".into(),
            priority: Priority {
                base: 100,
                effective: 90,
                trackers: vec![Tracker {
                    object: "track_script chk down".into(),
                    effect: "adjust".into(),
                    adjust: -10,
                }],
            },
            advert_interval: 1.0,
            master: Some(Master {
                address: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".into(),
                priority: 254,
                advert_interval: 1.0,
                local,
            }),
            vips: vec![Vip {
                address: "2001:db8::100".into(),
                prefix_len: 64,
                dev: "eth0".into(),
                excluded: false,
                installed: true,
                lease_remaining: Some(42.0),
            }],
            preempt: true,
            preempt_delay: 0.0,
            sync_group: Some("G".into()),
            peer_checksums: vec![],
            counters: vec![Counter {
                name: "advert_rcvd".into(),
                value: 7,
            }],
            scripts: ScriptStats::default(),
            transitions: vec![TransitionCount {
                to: "MASTER".into(),
                reason: "master_down".into(),
                count: 1,
            }],
            availability: Availability {
                since_reset: Some(1000.0),
                state_seconds: StateSeconds {
                    backup: 96.39,
                    master: 3.61,
                    ..StateSeconds::default()
                },
                outages: 7,
                outage_seconds_total: 7.0,
                longest_outage_seconds: 3.609375,
                mtbf_seconds: Some(13.0),
                mttr_seconds: Some(1.0),
                ratio: 13.0 / 14.0,
                master_changes: 1,
                recent: (0..7)
                    .map(|k| Outage {
                        start: 1010.0 + f64::from(k),
                        seconds: 0.5,
                        cause: "master-released".into(),
                    })
                    .collect(),
                ongoing: Some(Outage {
                    start: 1098.0,
                    seconds: 2.0,
                    cause: "link-down".into(),
                }),
                ..Availability::default()
            },
        };
        Snapshot {
            agent: Agent {
                now: 1100.0,
                ..Agent::default()
            },
            instances: vec![
                instance("a-very-long-instance-name-indeed", "MASTER", true),
                instance("VI_2", "BACKUP", false),
            ],
            sync_groups: vec![GroupStatus {
                name: "G".into(),
                state: "MASTER".into(),
                members: vec!["m".repeat(40), "n".repeat(60)],
            }],
        }
    }

    #[test]
    fn the_table_fits_100_columns() {
        let text = summary(&sample());
        for line in text.lines() {
            assert!(
                line.chars().count() <= MAX_WIDTH,
                "{} > 100: {line}",
                line.len()
            );
        }
        assert!(text.contains("a-very-long-ins~"), "{text}");
        assert!(text.contains("this router"), "{text}");
        assert!(text.contains("2001:db8:ffff:ffff:ffff:~"), "{text}");
        assert!(text.contains("1m40s"), "{text}");
        assert!(text.contains("90/100"), "{text}");
    }

    #[test]
    fn the_detail_shows_every_part() {
        let s = sample();
        let text = detail(&s, &s.instances[1]);
        for expected in [
            "VI_2: VRRPv3 ipv6 VRID 255 on eth0-with-a-long-name",
            "state       BACKUP since 1970-01-01T00:16:40.000Z (1m40s ago), was BACKUP",
            "priority    90 (base 100)",
            "tracking    track_script chk down: -10",
            "master      2001:db8:ffff:ffff:ffff:ffff:ffff:ffff priority 254",
            "vip         2001:db8::100/64 dev eth0: installed, lease 42.0s left",
            "advert_rcvd=7",
            "availability 92.857% since 1970-01-01T00:16:40.000Z (1m40s)",
            "outages     7, 7.00s in all, MTTR 1.00s, longest 3.61s, MTBF 13.0s; 1 master change",
            "time in     BACKUP 1m36s, MASTER 3.6s, FAULT 0ms",
            "outage now  since 1970-01-01T00:18:18.000Z (2.00s so far) link-down",
            "outage      1970-01-01T00:16:56.000Z 500ms master-released",
            "(2 older in --json)",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        // The newest five, newest first.
        let listed: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  outage      "))
            .collect();
        assert_eq!(listed.len(), DETAIL_OUTAGES, "{text}");
        assert!(listed[4].contains("00:16:52.000Z"), "{text}");
        assert!(
            text.lines().all(|l| l.chars().count() <= MAX_WIDTH),
            "{text}"
        );
    }

    #[test]
    fn r_is_never_rounded_up_to_100_percent() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.999_999_9), "99.999%");
        assert_eq!(percent(0.5), "50.000%");
        assert_eq!(percent(f64::NAN), "-");
    }
}
