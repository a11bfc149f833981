//! `etc/keepvip-grafana.json`, the Grafana dashboard, against what keepvip exports: every metric
//! a query names is one `keepvip::status::metrics::render` declares (read from its `# TYPE`
//! lines), every metric it declares is charted somewhere (so a new counter cannot be forgotten),
//! every panel has a title and a unique id, and the only datasource is the `datasource`
//! variable (no datasource UID of somebody's Grafana). A pure test: no root, no network.

use std::collections::{BTreeMap, BTreeSet};

use keepvip::status::{
    metrics, Agent, Availability, AvailabilityLifetime, Counter, GroupStatus, InstanceStatus,
    Master, Outage, OutageHistogram, Priority, ScriptStats, Snapshot, Tracker, TransitionCount,
    Vip,
};
use serde_json::Value;

const DASHBOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/keepvip-grafana.json");

/// The datasource every panel, target and query variable must use.
const DATASOURCE_UID: &str = "${datasource}";

/// A snapshot with everything filled in: a master and a backup, a sync group, every counter
/// keepalived names, scripts and transitions, so that every family has samples.
fn snapshot() -> Snapshot {
    let counters = [
        "advert_rcvd",
        "advert_sent",
        "become_master",
        "release_master",
        "packet_len_err",
        "advert_interval_err",
        "ip_ttl_err",
        "invalid_type_rcvd",
        "addr_list_err",
        "invalid_authtype",
        "authtype_mismatch",
        "auth_failure",
        "pri_zero_rcvd",
        "pri_zero_sent",
        "checksum_err",
        "version_err",
        "vrid_err",
        "unicast_src_err",
        "src_addr_conflict",
    ];
    let instance = |name: &str, state: &str, number: u8, local: bool| InstanceStatus {
        name: name.into(),
        interface: "eth0".into(),
        vrid: 51,
        family: "inet".into(),
        version: 3,
        state: state.into(),
        state_number: number,
        since: Some(1_796_310_000.0),
        previous_state: Some("BACKUP".into()),
        reason: "master_down".into(),
        priority: Priority {
            base: 200,
            effective: 190,
            trackers: vec![Tracker {
                object: "track_script chk_haproxy down".into(),
                effect: "adjust".into(),
                adjust: -10,
            }],
        },
        advert_interval: 0.1,
        master: Some(Master {
            address: "192.0.2.1".into(),
            priority: 190,
            advert_interval: 0.1,
            local,
        }),
        vips: vec![Vip {
            address: "192.0.2.100".into(),
            prefix_len: 24,
            dev: "eth0".into(),
            excluded: false,
            installed: local,
            lease_remaining: local.then_some(2.5),
        }],
        preempt: true,
        preempt_delay: 0.0,
        sync_group: Some("G".into()),
        peer_checksums: vec![],
        counters: counters
            .iter()
            .zip(1..)
            .map(|(name, value)| Counter {
                name: (*name).into(),
                value,
            })
            .collect(),
        scripts: ScriptStats {
            runs: 3,
            failures: 1,
            timeouts: 1,
        },
        transitions: vec![
            TransitionCount {
                to: "BACKUP".into(),
                reason: "startup".into(),
                count: 1,
            },
            TransitionCount {
                to: "MASTER".into(),
                reason: "master_down".into(),
                count: 2,
            },
        ],
        availability: Availability {
            outages: 1,
            outage_seconds_total: 0.36,
            longest_outage_seconds: 0.36,
            mtbf_seconds: Some(100.0),
            mttr_seconds: Some(0.36),
            ratio: 0.9964,
            master_changes: 2,
            recent: vec![Outage {
                start: 1_796_310_000.0,
                seconds: 0.36,
                cause: "master-down".into(),
            }],
            lifetime: AvailabilityLifetime {
                outages: 1,
                outage_seconds_total: 0.36,
                master_changes: 2,
                ..AvailabilityLifetime::default()
            },
            histogram: OutageHistogram {
                buckets: vec![(0.25, 0), (0.5, 1)],
                sum: 0.36,
                count: 1,
            },
            ..Availability::default()
        },
    };
    Snapshot {
        agent: Agent {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: 4242,
            config: "/etc/keepvip/keepvip.conf".into(),
            started: 1_796_300_000.0,
            now: 1_796_310_245.0,
            reloads: 2,
            reload_failures: 1,
            dropped: vec![Counter {
                name: "unknown_vrid".into(),
                value: 3,
            }],
        },
        instances: vec![
            instance("VI_1", "MASTER", 2, true),
            instance("VI_2", "BACKUP", 1, false),
        ],
        sync_groups: vec![GroupStatus {
            name: "G".into(),
            state: "MASTER".into(),
            members: vec!["VI_1".into(), "VI_2".into()],
        }],
    }
}

/// Metric families `render` declares, name -> type, from the `# TYPE` lines.
fn exported() -> BTreeMap<String, String> {
    let text = metrics::render(&snapshot());
    let mut families = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .unwrap_or_else(|| panic!("malformed TYPE line `{line}`"));
            families.insert(name.to_string(), kind.to_string());
        }
    }
    assert!(
        families.len() > 20,
        "render declared only {families:?}:\n{text}"
    );
    families
}

/// What the dashboard may name: the families the exporter declares.
fn known() -> BTreeMap<String, String> {
    exported()
}

fn load() -> Value {
    let text = std::fs::read_to_string(DASHBOARD).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DASHBOARD} is not JSON: {e}"))
}

/// Every panel, rows and the panels nested in (collapsed) rows included, depth first.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            if let Some(children) = panel.get("panels") {
                walk(children, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    assert!(
        out.len() > 10,
        "the dashboard has only {} panels",
        out.len()
    );
    out
}

fn title(panel: &Value) -> String {
    panel["title"].as_str().unwrap_or("(untitled)").to_string()
}

/// Every PromQL query of the dashboard: the targets' `expr` (with the panel's title) and the
/// query variables' queries.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("panel `{}`: a target without expr", title(panel)));
            out.push((title(panel), expr.to_string()));
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] == "query" {
            let name = format!("variable ${}", variable["name"].as_str().unwrap_or("?"));
            for query in [&variable["definition"], &variable["query"]["query"]] {
                if let Some(q) = query.as_str() {
                    out.push((name.clone(), q.to_string()));
                }
            }
        }
    }
    out
}

/// The identifiers of a PromQL expression that start with `keepvip_` (metric names; quoted
/// label values are skipped).
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = expr.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, names: &mut Vec<String>| {
        if word.starts_with("keepvip_") {
            names.push(word.clone());
        }
        word.clear();
    };
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' || c == '`' {
            flush(&mut word, &mut names);
            // A string: skip to its closing quote (backslash escapes, except in raw strings).
            while let Some(s) = chars.next() {
                if s == '\\' && c != '`' {
                    chars.next();
                } else if s == c {
                    break;
                }
            }
        } else if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            flush(&mut word, &mut names);
        }
    }
    flush(&mut word, &mut names);
    names
}

/// The family a name used in a query belongs to: itself, or a histogram's for its `_bucket`,
/// `_sum` and `_count` series.
fn family_of(name: &str, families: &BTreeMap<String, String>) -> Option<String> {
    if families.contains_key(name) {
        return Some(name.to_string());
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .find(|base| families.get(*base).is_some_and(|kind| kind == "histogram"))
        .map(str::to_string)
}

#[test]
fn the_tokenizer_finds_metrics_and_skips_label_values() {
    assert_eq!(
        metric_names(
            r#"sum by (le) (rate(keepvip_outage_seconds_bucket{job=~"keepvip_x",a='keepvip_y'}[5m])) / keepvip_b"#
        ),
        ["keepvip_outage_seconds_bucket", "keepvip_b"]
    );
    let families: BTreeMap<String, String> = [
        ("keepvip_h".to_string(), "histogram".to_string()),
        ("keepvip_g".to_string(), "gauge".to_string()),
    ]
    .into();
    assert_eq!(
        family_of("keepvip_h_count", &families).as_deref(),
        Some("keepvip_h")
    );
    // Only a histogram has _bucket / _sum / _count series.
    assert_eq!(family_of("keepvip_g_sum", &families), None);
    assert_eq!(family_of("keepvip_nope", &families), None);
}

#[test]
fn every_query_names_an_exported_metric_and_every_metric_is_charted() {
    let dashboard = load();
    let families = known();
    let mut unknown = Vec::new();
    let mut used = BTreeSet::new();
    for (place, expr) in queries(&dashboard) {
        for name in metric_names(&expr) {
            match family_of(&name, &families) {
                Some(family) => {
                    used.insert(family);
                }
                None => unknown.push(format!("{place}: `{name}` in `{expr}`")),
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "the dashboard names metrics keepvip does not export (exported: {:?}):\n{}",
        families.keys().collect::<Vec<_>>(),
        unknown.join("\n")
    );
    // Every family, so that a new counter (an error counter above all) gets a panel.
    let forgotten: Vec<String> = families
        .iter()
        .filter(|(name, _)| !used.contains(*name))
        .map(|(name, kind)| format!("{name} ({kind})"))
        .collect();
    assert!(
        forgotten.is_empty(),
        "keepvip exports metrics no panel of etc/keepvip-grafana.json shows; add them: {}",
        forgotten.join(", ")
    );
}

#[test]
fn panels_have_titles_unique_ids_and_fit_the_grid() {
    let dashboard = load();
    let mut ids = BTreeMap::new();
    let mut problems = Vec::new();
    for panel in panels(&dashboard) {
        let name = title(panel);
        if panel["title"].as_str().is_none_or(|t| t.trim().is_empty()) {
            problems.push(format!("a panel without a title: {panel}"));
        }
        match panel["id"].as_u64() {
            Some(id) => {
                if let Some(other) = ids.insert(id, name.clone()) {
                    problems.push(format!("id {id} is both `{other}` and `{name}`"));
                }
            }
            None => problems.push(format!("`{name}` has no numeric id")),
        }
        let grid = &panel["gridPos"];
        let (x, w) = (grid["x"].as_u64(), grid["w"].as_u64());
        match (x, w, grid["h"].as_u64(), grid["y"].as_u64()) {
            (Some(x), Some(w), Some(_), Some(_)) if x + w <= 24 && w > 0 => {}
            _ => problems.push(format!("`{name}`: gridPos {grid} is not within 24 columns")),
        }
        if panel["type"] == "row" {
            continue;
        }
        let targets = panel["targets"]
            .as_array()
            .map_or(&[][..], |t| t.as_slice());
        if targets.is_empty() {
            problems.push(format!("`{name}` has no query"));
        }
        let ref_ids: BTreeSet<&str> = targets.iter().filter_map(|t| t["refId"].as_str()).collect();
        if ref_ids.len() != targets.len() {
            problems.push(format!("`{name}`: targets need distinct refIds"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_only_datasource_is_the_variable() {
    let dashboard = load();
    assert!(
        dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 39),
        "schemaVersion {} is older than Grafana 10.4's",
        dashboard["schemaVersion"]
    );
    let inputs = dashboard["__inputs"]
        .as_array()
        .map_or(&[][..], |i| i.as_slice());
    assert!(
        inputs
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"),
        "no DS_PROMETHEUS input for the import dialog"
    );
    let variables = dashboard["templating"]["list"]
        .as_array()
        .map_or(&[][..], |v| v.as_slice());
    let variable = |name: &str| {
        variables
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no template variable `{name}`"))
    };
    let datasource = variable("datasource");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");
    // The scrape's labels: `job`, and `instance` (host:port) as $host.
    for (name, label) in [("job", "job"), ("host", "instance")] {
        let v = variable(name);
        let query = v["definition"].as_str().unwrap_or_default();
        assert!(
            v["type"] == "query"
                && query.starts_with("label_values(")
                && query.ends_with(&format!(", {label})")),
            "variable `{name}` should be label_values(…, {label}), not {v}"
        );
    }

    // Every panel and target names the variable.
    let mut problems = Vec::new();
    for panel in panels(&dashboard) {
        if panel["type"] == "row" {
            continue;
        }
        let name = title(panel);
        if panel["datasource"]["uid"] != DATASOURCE_UID {
            problems.push(format!(
                "panel `{name}`: datasource {}",
                panel["datasource"]
            ));
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            if target["datasource"]["uid"] != DATASOURCE_UID {
                problems.push(format!(
                    "panel `{name}`: target datasource {}",
                    target["datasource"]
                ));
            }
        }
    }
    // And no datasource anywhere else (variables, annotations, …) is a hard-coded UID. Grafana's
    // built-in annotation source is not a datasource of anybody's instance.
    fn walk(value: &Value, path: &str, problems: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let here = format!("{path}.{key}");
                    if key == "datasource" {
                        let uid = child.get("uid").and_then(Value::as_str);
                        let builtin = child.get("type").and_then(Value::as_str) == Some("grafana")
                            && uid == Some("-- Grafana --");
                        if uid != Some(DATASOURCE_UID) && !builtin {
                            problems.push(format!("{here} = {child}"));
                        }
                    }
                    walk(child, &here, problems);
                }
            }
            Value::Array(list) => {
                for (i, child) in list.iter().enumerate() {
                    walk(child, &format!("{path}[{i}]"), problems);
                }
            }
            _ => {}
        }
    }
    walk(&dashboard, "", &mut problems);
    assert!(
        problems.is_empty(),
        "datasources other than {DATASOURCE_UID}:\n{}",
        problems.join("\n")
    );
}
