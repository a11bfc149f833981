//! Prometheus text exposition (format 0.0.4) of a [`Snapshot`].
//!
//! Conventions: `keepvip_` prefix, `_total` counters, seconds, the labels `instance`,
//! `interface`, `vrid` and `family` on every per-instance series, and no label whose value
//! changes with the state: `keepvip_vrrp_state` holds keepalived's state number, and
//! `keepvip_instance_state{state=…}` is 1 for the current state and 0 for the others.
//! The counters keep keepalived's statistics under the names its common exporters use.

use std::fmt::Write;

use super::{InstanceStatus, Snapshot};

/// The content type a scrape is answered with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// keepalived's statistics → (metric name, help).
const COUNTERS: &[(&str, &str, &str)] = &[
    (
        "advert_rcvd",
        "advertisements_received_total",
        "Adverts received.",
    ),
    ("advert_sent", "advertisements_sent_total", "Adverts sent."),
    (
        "become_master",
        "become_master_total",
        "Transitions to MASTER.",
    ),
    (
        "release_master",
        "release_master_total",
        "Transitions out of MASTER.",
    ),
    (
        "packet_len_err",
        "packet_length_errors_total",
        "Adverts dropped: bad length.",
    ),
    (
        "advert_interval_err",
        "advertisements_interval_errors_total",
        "Adverts with another advert interval.",
    ),
    (
        "ip_ttl_err",
        "ip_ttl_errors_total",
        "Adverts dropped: TTL / hop limit not 255.",
    ),
    (
        "invalid_type_rcvd",
        "invalid_type_received_total",
        "Adverts dropped: bad type.",
    ),
    (
        "addr_list_err",
        "address_list_errors_total",
        "Adverts whose address list differs from ours.",
    ),
    (
        "invalid_authtype",
        "authentication_invalid_total",
        "Adverts dropped: unknown authentication type.",
    ),
    (
        "authtype_mismatch",
        "authentication_mismatch_total",
        "Adverts dropped: other authentication type.",
    ),
    (
        "auth_failure",
        "authentication_failure_total",
        "Adverts dropped: wrong password.",
    ),
    (
        "pri_zero_rcvd",
        "priority_zero_received_total",
        "Priority 0 adverts received (a master resigned).",
    ),
    (
        "pri_zero_sent",
        "priority_zero_sent_total",
        "Priority 0 adverts sent.",
    ),
    (
        "checksum_err",
        "checksum_errors_total",
        "Adverts dropped: bad checksum.",
    ),
    (
        "version_err",
        "version_errors_total",
        "Adverts dropped: other VRRP version.",
    ),
    (
        "vrid_err",
        "vrid_errors_total",
        "Adverts dropped: VRID of no instance here.",
    ),
    (
        "unicast_src_err",
        "unicast_source_errors_total",
        "Unicast adverts dropped: source is no unicast_peer.",
    ),
    (
        "src_addr_conflict",
        "source_address_conflicts_total",
        "Adverts dropped: source is our own primary address.",
    ),
];

const STATES: [(&str, u8); 4] = [("INIT", 0), ("BACKUP", 1), ("MASTER", 2), ("FAULT", 3)];

/// Escapes a label value (backslash, double quote, newline).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn labels(i: &InstanceStatus) -> String {
    format!(
        "instance=\"{}\",interface=\"{}\",vrid=\"{}\",family=\"{}\"",
        escape(&i.name),
        escape(&i.interface),
        i.vrid,
        escape(&i.family)
    )
}

/// Writes `# HELP` and `# TYPE` and then one sample per instance.
fn family(
    out: &mut String,
    snapshot: &Snapshot,
    name: &str,
    kind: &str,
    help: &str,
    value: impl Fn(&InstanceStatus) -> Option<f64>,
) {
    let _ = writeln!(
        out,
        "# HELP keepvip_{name} {help}\n# TYPE keepvip_{name} {kind}"
    );
    for i in &snapshot.instances {
        if let Some(v) = value(i) {
            let _ = writeln!(out, "keepvip_{name}{{{}}} {v}", labels(i));
        }
    }
}

pub fn render(snapshot: &Snapshot) -> String {
    let mut out = String::with_capacity(4096 + snapshot.instances.len() * 4096);
    let agent = &snapshot.agent;
    let _ = writeln!(
        out,
        "# HELP keepvip_build_info The running keepvip.\n# TYPE keepvip_build_info gauge\n\
         keepvip_build_info{{version=\"{}\"}} 1",
        escape(&agent.version)
    );
    let _ = writeln!(
        out,
        "# HELP keepvip_start_time_seconds When the agent started, Unix time.\n\
         # TYPE keepvip_start_time_seconds gauge\nkeepvip_start_time_seconds {}",
        agent.started
    );
    let _ = writeln!(
        out,
        "# HELP keepvip_reloads_total Configuration reloads applied.\n\
         # TYPE keepvip_reloads_total counter\nkeepvip_reloads_total {}\n\
         # HELP keepvip_reload_failures_total Configuration reloads refused (errors in the file).\n\
         # TYPE keepvip_reload_failures_total counter\nkeepvip_reload_failures_total {}",
        agent.reloads, agent.reload_failures
    );
    let _ = writeln!(
        out,
        "# HELP keepvip_dropped_packets_total VRRP packets dropped before reaching an instance, \
         by reason.\n# TYPE keepvip_dropped_packets_total counter"
    );
    for counter in &agent.dropped {
        let _ = writeln!(
            out,
            "keepvip_dropped_packets_total{{reason=\"{}\"}} {}",
            counter.name, counter.value
        );
    }
    let _ = writeln!(
        out,
        "# HELP keepvip_instances Configured VRRP instances.\n# TYPE keepvip_instances gauge\n\
         keepvip_instances {}",
        snapshot.instances.len()
    );
    family(
        &mut out,
        snapshot,
        "vrrp_state",
        "gauge",
        "State number as keepalived numbers it: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.",
        |i| Some(f64::from(i.state_number)),
    );
    let _ = writeln!(
        out,
        "# HELP keepvip_instance_state 1 for the instance's current state, 0 for the others.\n\
         # TYPE keepvip_instance_state gauge"
    );
    for i in &snapshot.instances {
        for (state, _) in STATES {
            let _ = writeln!(
                out,
                "keepvip_instance_state{{{},state=\"{state}\"}} {}",
                labels(i),
                u8::from(i.state == state)
            );
        }
    }
    family(
        &mut out,
        snapshot,
        "state_since_timestamp_seconds",
        "gauge",
        "When the current state was entered, Unix time.",
        |i| i.since,
    );
    family(
        &mut out,
        snapshot,
        "priority",
        "gauge",
        "Effective priority (base priority plus tracking).",
        |i| Some(f64::from(i.priority.effective)),
    );
    family(
        &mut out,
        snapshot,
        "base_priority",
        "gauge",
        "Configured priority.",
        |i| Some(f64::from(i.priority.base)),
    );
    family(
        &mut out,
        snapshot,
        "advert_interval_seconds",
        "gauge",
        "This router's advert interval.",
        |i| Some(i.advert_interval),
    );
    family(
        &mut out,
        snapshot,
        "master_priority",
        "gauge",
        "Priority of the current master (this router's while it is master).",
        |i| i.master.as_ref().map(|m| f64::from(m.priority)),
    );
    family(
        &mut out,
        snapshot,
        "vips",
        "gauge",
        "Virtual addresses configured.",
        |i| Some(i.vips.len() as f64),
    );
    family(
        &mut out,
        snapshot,
        "vips_installed",
        "gauge",
        "Virtual addresses on the interface now.",
        |i| Some(i.vips.iter().filter(|v| v.installed).count() as f64),
    );
    for &(counter, name, help) in COUNTERS {
        family(&mut out, snapshot, name, "counter", help, |i| {
            i.counters
                .iter()
                .find(|c| c.name == counter)
                .map(|c| c.value as f64)
        });
    }
    family(
        &mut out,
        snapshot,
        "notify_script_runs_total",
        "counter",
        "Notify scripts run.",
        |i| Some(i.scripts.runs as f64),
    );
    family(
        &mut out,
        snapshot,
        "notify_script_failures_total",
        "counter",
        "Notify scripts that failed (non-zero exit, signal, timeout, could not start).",
        |i| Some(i.scripts.failures as f64),
    );
    family(
        &mut out,
        snapshot,
        "notify_script_timeouts_total",
        "counter",
        "Notify scripts killed for running too long.",
        |i| Some(i.scripts.timeouts as f64),
    );
    let _ = writeln!(
        out,
        "# HELP keepvip_transitions_total State transitions, by the state entered and the reason.\n\
         # TYPE keepvip_transitions_total counter"
    );
    for i in &snapshot.instances {
        for t in &i.transitions {
            let _ = writeln!(
                out,
                "keepvip_transitions_total{{{},to=\"{}\",reason=\"{}\"}} {}",
                labels(i),
                escape(&t.to),
                escape(&t.reason),
                t.count
            );
        }
    }
    availability(&mut out, snapshot);
    let _ = writeln!(
        out,
        "# HELP keepvip_sync_group_state State number of each sync group (as keepvip_vrrp_state).\n\
         # TYPE keepvip_sync_group_state gauge"
    );
    for g in &snapshot.sync_groups {
        let number = STATES
            .iter()
            .find(|(s, _)| *s == g.state)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(
            out,
            "keepvip_sync_group_state{{sync_group=\"{}\"}} {number}",
            escape(&g.name)
        );
    }
    out
}

/// The availability families. Counters and the histogram are lifetime figures (a reset must
/// not make them go backwards); the gauges are the since-reset ones `keepvip status` shows.
fn availability(out: &mut String, snapshot: &Snapshot) {
    family(
        out,
        snapshot,
        "outages_total",
        "counter",
        "Outages this router saw end (no master heard nor held), since start-up.",
        |i| Some(i.availability.lifetime.outages as f64),
    );
    let _ = writeln!(
        out,
        "# HELP keepvip_outage_seconds Durations of the outages this router saw, since start-up.\n\
         # TYPE keepvip_outage_seconds histogram"
    );
    for i in &snapshot.instances {
        let h = &i.availability.histogram;
        let labels = labels(i);
        for (le, count) in &h.buckets {
            let _ = writeln!(
                out,
                "keepvip_outage_seconds_bucket{{{labels},le=\"{le}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "keepvip_outage_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
             keepvip_outage_seconds_sum{{{labels}}} {}\n\
             keepvip_outage_seconds_count{{{labels}}} {}",
            h.count, h.sum, h.count
        );
    }
    family(
        out,
        snapshot,
        "availability_ratio",
        "gauge",
        "MTBF / (MTBF + MTTR) since start-up or the last reset; 1 with no outage.",
        |i| Some(i.availability.ratio),
    );
    family(
        out,
        snapshot,
        "mttr_seconds",
        "gauge",
        "Mean outage since start-up or the last reset (absent with no outage).",
        |i| i.availability.mttr_seconds,
    );
    family(
        out,
        snapshot,
        "mtbf_seconds",
        "gauge",
        "Mean up time between outages since start-up or the last reset (absent with no outage).",
        |i| i.availability.mtbf_seconds,
    );
    family(
        out,
        snapshot,
        "longest_outage_seconds",
        "gauge",
        "Longest outage since start-up or the last reset.",
        |i| Some(i.availability.longest_outage_seconds),
    );
    family(
        out,
        snapshot,
        "master_changes_total",
        "counter",
        "Times the master this router knows changed (another router, or this one), since start-up.",
        |i| Some(i.availability.lifetime.master_changes as f64),
    );
    let _ = writeln!(
        out,
        "# HELP keepvip_state_seconds_total Time spent in each state since start-up.\n\
         # TYPE keepvip_state_seconds_total counter"
    );
    for i in &snapshot.instances {
        let t = &i.availability.lifetime.state_seconds;
        for (state, seconds) in [
            ("INIT", t.init),
            ("BACKUP", t.backup),
            ("MASTER", t.master),
            ("FAULT", t.fault),
        ] {
            let _ = writeln!(
                out,
                "keepvip_state_seconds_total{{{},state=\"{state}\"}} {seconds}",
                labels(i)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instance_has_every_family_and_one_state() {
        let snapshot = super::super::table::tests::sample();
        let text = render(&snapshot);
        let states: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("keepvip_instance_state{") && l.ends_with(" 1"))
            .collect();
        assert_eq!(states.len(), 2, "{text}");
        assert!(text.contains(
            "keepvip_advertisements_received_total{instance=\"VI_2\",interface=\"eth0-with-a-long-name\",vrid=\"255\",family=\"inet6\"} 7"
        ));
        assert!(text.contains("reason=\"master_down\"} 1"), "{text}");
        // No family is declared twice.
        let mut types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
        let before = types.len();
        types.sort();
        types.dedup();
        assert_eq!(before, types.len());
    }

    #[test]
    fn availability_counts_lifetime_and_gauges_since_reset() {
        let mut snapshot = super::super::table::tests::sample();
        let a = &mut snapshot.instances[1].availability;
        a.lifetime.outages = 9;
        a.lifetime.master_changes = 4;
        a.lifetime.state_seconds.backup = 12.5;
        a.histogram = super::super::OutageHistogram {
            buckets: vec![(0.05, 0), (3.5, 1), (5.0, 2)],
            sum: 7.2,
            count: 3,
        };
        snapshot.instances[0].availability.mttr_seconds = None;
        snapshot.instances[0].availability.mtbf_seconds = None;
        let text = render(&snapshot);
        let l =
            "instance=\"VI_2\",interface=\"eth0-with-a-long-name\",vrid=\"255\",family=\"inet6\"";
        for expected in [
            format!("keepvip_outages_total{{{l}}} 9"),
            format!("keepvip_outage_seconds_bucket{{{l},le=\"0.05\"}} 0"),
            format!("keepvip_outage_seconds_bucket{{{l},le=\"3.5\"}} 1"),
            format!("keepvip_outage_seconds_bucket{{{l},le=\"5\"}} 2"),
            format!("keepvip_outage_seconds_bucket{{{l},le=\"+Inf\"}} 3"),
            format!("keepvip_outage_seconds_sum{{{l}}} 7.2"),
            format!("keepvip_outage_seconds_count{{{l}}} 3"),
            format!("keepvip_availability_ratio{{{l}}} {}", 13.0 / 14.0),
            format!("keepvip_mttr_seconds{{{l}}} 1"),
            format!("keepvip_mtbf_seconds{{{l}}} 13"),
            format!("keepvip_longest_outage_seconds{{{l}}} 3.609375"),
            format!("keepvip_master_changes_total{{{l}}} 4"),
            format!("keepvip_state_seconds_total{{{l},state=\"BACKUP\"}} 12.5"),
            format!("keepvip_state_seconds_total{{{l},state=\"FAULT\"}} 0"),
        ] {
            assert!(text.contains(&expected), "missing {expected} in\n{text}");
        }
        // Undefined with no outage: absent, not 0 or NaN.
        assert_eq!(text.matches("keepvip_mttr_seconds{").count(), 1, "{text}");
        assert_eq!(text.matches("keepvip_mtbf_seconds{").count(), 1, "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
