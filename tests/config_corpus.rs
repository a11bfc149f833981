//! The configuration corpus in `tests/configs`: keepalived.conf files an operator might run
//! (cloud unicast pair, active-active pair, IPv6 gateway, sync group, tracked HAProxy, VMAC,
//! split configuration, VRRPv2 with a password, GARP tuning, maintenance file, an LVS director,
//! one preprocessor template for both routers of a pair, routes and rules, a Kubernetes API VIP,
//! nginx and fast HAProxy pairs, a dual-stack gateway sync group, VLAN gateways sharing the load,
//! a database pair driven by track files, a fleet generated with ~SEQ, a pair in one file with
//! conditional lines, a late-booting router with notify FIFOs, a private multicast group, and a
//! storage pair with promoted secondaries and a longer down timer).
//!
//! - keepvip's `--config-test` must accept every one of them;
//! - Debian's keepalived 2.2.7 (`keepalived -t`) must accept them too, except for the
//!   keepvip-only keywords a file declares in a header line `# keepvip-only keywords: a, b`,
//!   which it must report as unknown and nothing else. keepalived -t insists that the
//!   interfaces exist, so it runs in a network namespace of its own (`unshare --net`, which
//!   goes away with the process) holding a veth pair, down, for each interface the file names;
//!   this test needs root and keepalived, like the other real-kernel tests;
//! - README.md's "keepalived keyword reference" must list exactly the decisions of the tables
//!   in `src/config/keywords.rs`.
//!
//! A corpus file is a top-level `*.conf`, or the `keepalived.conf` main file of a
//! subdirectory (a configuration split with `include`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use keepvip::config::keywords::{self, Keyword, Support};

const KEEPVIP: &str = env!("CARGO_BIN_EXE_keepvip");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The files this suite was written around: deleting or renaming one must be deliberate.
const EXPECTED_FILES: &[&str] = &[
    "active-active-a.conf",
    "active-active-b.conf",
    "anycast-service-noprefixroute.conf",
    "cloud-unicast-a.conf",
    "cloud-unicast-b.conf",
    "conditional-pair.conf",
    "database-maintenance.conf",
    "dual-stack-gateway.conf",
    "firewall-marks.conf",
    "garp-tuned.conf",
    "haproxy-tracked.conf",
    "haproxy-v3-fast.conf",
    "ipv6-gateway.conf",
    "ipv6-routes.conf",
    "k8s-control-plane.conf",
    "lvs-leftover.conf",
    "maintenance-track-file.conf",
    "nginx-active-passive.conf",
    "office-pass-a.conf",
    "office-pass-b.conf",
    "private-mcast-group.conf",
    "routed-uplink.conf",
    "slow-boot-fifo.conf",
    "split-config/keepalived.conf",
    "static-and-virtual.conf",
    "storage-secondaries.conf",
    "sync-group-wan-lan.conf",
    "templated-fleet.conf",
    "templated-pair.conf",
    "vlan-gateways.conf",
    "vmac.conf",
];

fn corpus_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("tests/configs")
}

/// Every corpus file, sorted. Panics on anything unreadable, or on a subdirectory without a
/// main file, so that nothing is skipped silently.
fn corpus() -> Vec<PathBuf> {
    let dir = corpus_dir();
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
        let path = entry.path();
        let kind = entry
            .file_type()
            .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
        if kind.is_dir() {
            let main = path.join("keepalived.conf");
            assert!(
                main.is_file(),
                "{} is a corpus subdirectory without a keepalived.conf main file",
                path.display()
            );
            files.push(main);
        } else if path.extension().is_some_and(|ext| ext == "conf") {
            files.push(path);
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no configuration in {}", dir.display());
    for expected in EXPECTED_FILES {
        assert!(
            files.contains(&dir.join(expected)),
            "corpus file {expected} is missing from {}",
            dir.display()
        );
    }
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn keepvip_config_test(path: &Path) -> Output {
    Command::new(KEEPVIP)
        .args(["--config-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {KEEPVIP}: {e}"))
}

#[test]
fn keepvip_accepts_every_corpus_file() {
    let mut failures = Vec::new();
    for path in corpus() {
        // Read it here too: an unreadable file must fail the test even if keepvip were to
        // treat it leniently.
        read(&path);
        let out = keepvip_config_test(&path);
        let text = output_text(&out);
        let ok_line = format!("{}: configuration OK", path.display());
        if !out.status.success() || !text.contains(&ok_line) {
            failures.push(format!("{} ({}):\n{text}", path.display(), out.status));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn lvs_blocks_are_ignored_with_a_warning() {
    let path = corpus_dir().join("lvs-leftover.conf");
    let out = keepvip_config_test(&path);
    let text = output_text(&out);
    assert!(out.status.success(), "{}:\n{text}", path.display());
    let shown = path.display().to_string();
    let ignored_block = "warning: virtual_server: block ignored: keepvip does not do LVS";
    let expected = [
        format!("{shown}:10:5: warning: global_defs > lvs_flush: ignored: keepvip does not do LVS"),
        format!("{shown}:24:1: {ignored_block}"),
        format!("{shown}:52:1: {ignored_block}"),
    ];
    for line in &expected {
        assert!(
            text.lines().any(|l| l.starts_with(line.as_str())),
            "missing `{line}` in:\n{text}"
        );
    }
    assert!(
        text.contains("configuration OK (1 instance, 3 warnings)"),
        "{text}"
    );
}

// ---- keepalived -t ------------------------------------------------------------------------

/// The keywords a file's header declares as keepvip-only (`# keepvip-only keywords: a, b`).
fn keepvip_only_keywords(path: &Path, text: &str) -> BTreeSet<String> {
    const MARK: &str = "keepvip-only keywords:";
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if !(trimmed.starts_with('#') || trimmed.starts_with('!')) {
            continue;
        }
        let Some((_, list)) = trimmed.split_once(MARK) else {
            continue;
        };
        for word in list.split(',').map(str::trim) {
            let is_keyword = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            assert!(
                is_keyword,
                "{}: `{MARK}` wants a comma-separated list of keywords, not `{list}`",
                path.display()
            );
            found.insert(word.to_string());
        }
    }
    found
}

/// Every interface a configuration names (instances, VIP `dev`s, tracked interfaces), or
/// keepvip's report if it cannot load the file.
fn interfaces_of(path: &Path) -> Result<BTreeSet<String>, String> {
    let config = keepvip::config::load(path)
        .map_err(|report| report.to_string())?
        .config;
    let mut names = BTreeSet::new();
    for instance in &config.instances {
        names.insert(instance.interface.clone());
        for vip in instance.vips.iter().chain(&instance.excluded_vips) {
            names.extend(vip.dev.clone());
        }
        names.extend(instance.tracking.interfaces.iter().map(|i| i.name.clone()));
        names.extend(instance.routes.iter().filter_map(|r| r.dev.clone()));
        for rule in &instance.rules {
            names.extend(rule.iif.iter().chain(&rule.oif).cloned());
        }
    }
    let statics = &config.statics;
    names.extend(statics.addresses.iter().filter_map(|a| a.dev.clone()));
    names.extend(statics.routes.iter().filter_map(|r| r.dev.clone()));
    for rule in &statics.rules {
        names.extend(rule.iif.iter().chain(&rule.oif).cloned());
    }
    // The namespace has its own loopback already.
    names.remove("lo");
    for group in &config.sync_groups {
        names.extend(group.tracking.interfaces.iter().map(|i| i.name.clone()));
    }
    Ok(names)
}

/// `keepalived -t -f PATH` in a fresh network namespace where `interfaces` exist.
fn keepalived_config_test(path: &Path, interfaces: &BTreeSet<String>) -> Output {
    // The peers get names no configuration uses; every link stays down, so nothing is sent.
    let script = r#"file=$1; shift; n=0
for name in "$@"; do
    n=$((n + 1))
    ip link add "$name" type veth peer name "kvcorpus$n" || exit 97
done
exec timeout 60 keepalived -t -f "$file""#;
    Command::new("unshare")
        .args(["--net", "--", "sh", "-c", script, "sh"])
        .arg(path)
        .args(interfaces)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run unshare (util-linux): {e}"))
}

#[test]
fn keepalived_accepts_the_corpus_except_declared_keepvip_keywords() {
    let mut failures = Vec::new();
    for path in corpus() {
        let text = read(&path);
        let declared = keepvip_only_keywords(&path, &text);
        let interfaces = match interfaces_of(&path) {
            Ok(names) => names,
            Err(report) => {
                failures.push(format!(
                    "{}: keepvip cannot load it, so its interfaces are unknown:\n{report}",
                    path.display()
                ));
                continue;
            }
        };
        let out = keepalived_config_test(&path, &interfaces);
        let report = output_text(&out);
        assert_ne!(
            out.status.code(),
            Some(97),
            "could not create the interfaces of {} in a private network namespace \
             (this test needs root):\n{report}",
            path.display()
        );
        let mut unknown = BTreeSet::new();
        let mut other = Vec::new();
        for line in report.lines() {
            let keyword = line
                .split_once(") Unknown keyword '")
                .and_then(|(_, rest)| rest.strip_suffix('\''));
            match keyword {
                Some(k) if declared.contains(k) => {
                    unknown.insert(k.to_string());
                }
                _ => other.push(line),
            }
        }
        let clean = other.is_empty() && unknown == declared;
        // With nothing to complain about keepalived must also exit 0.
        if !clean || (declared.is_empty() && !out.status.success()) {
            failures.push(format!(
                "{} (declared keepvip-only: {declared:?}; keepalived: {}):\n{report}",
                path.display(),
                out.status
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Small preprocessor files: keepvip -t and keepalived -t agree on accepting or refusing each.
#[test]
fn preprocessor_verdicts_match_keepalived() {
    let instance = |body: &str| {
        format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n{body}\n  \
             virtual_ipaddress {{\n    192.0.2.1/24\n  }}\n}}\n"
        )
    };
    let cases: Vec<(&str, String, bool)> = vec![
        (
            "definitions",
            format!(
                "$P=120\n$E=\n{}",
                instance("  priority $P $E\n  ${_HASH} comment")
            ),
            true,
        ),
        (
            "multi-line definition",
            format!(
                "$V= \\\n  advert_int 1 \\\n  priority ${{P}}0\n$P=12\n{}",
                instance("  $V")
            ),
            true,
        ),
        (
            "generators",
            instance(
                "  virtual_ipaddress_excluded {\n    ~LST(A, 2, 3) 192.0.2.${A}/24\n  }\n  \
                 ~SEQ(i, 1) priority 10$i",
            ),
            true,
        ),
        (
            "conditional line",
            instance("  @no_such_host_id priority 300"),
            true,
        ),
        (
            "bad ~SEQ step",
            instance("  ~SEQ(i, 1, 0, 2) priority 100"),
            false,
        ),
        ("bad ~LST", instance("  ~LST(l) priority 100"), false),
        (
            "substituted value out of range",
            format!("$P=300\n{}", instance("  priority $P")),
            false,
        ),
    ];
    let dir = std::env::temp_dir().join(format!("keepvip-preproc-verdicts-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("create the test directory");
    let interfaces = BTreeSet::from(["eth0".to_string()]);
    let mut failures = Vec::new();
    for (name, text, accepted) in &cases {
        let path = dir.join(format!("{}.conf", name.replace(' ', "-")));
        fs::write(&path, text).expect("write the case");
        let keepvip = keepvip_config_test(&path);
        let keepalived = keepalived_config_test(&path, &interfaces);
        assert_ne!(keepalived.status.code(), Some(97), "this test needs root");
        let verdicts = (keepvip.status.success(), keepalived.status.success());
        if verdicts != (*accepted, *accepted) {
            failures.push(format!(
                "{name}: expected {}, keepvip {} / keepalived {}\n{text}\nkeepvip:\n{}\nkeepalived:\n{}",
                if *accepted { "accept" } else { "refuse" },
                verdicts.0,
                verdicts.1,
                output_text(&keepvip),
                output_text(&keepalived)
            ));
        }
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---- what the corpus means ----------------------------------------------------------------

fn load(name: &str) -> keepvip::config::Config {
    let path = corpus_dir().join(name);
    keepvip::config::load(&path)
        .unwrap_or_else(|report| panic!("{}:\n{report}", path.display()))
        .config
}

/// The two sides of each pair describe the same routers: same VRIDs, versions, intervals,
/// VIPs and passwords, different priorities, and for unicast each side's source is the
/// other's peer.
#[test]
fn pairs_agree_with_each_other() {
    for (a, b) in [
        ("cloud-unicast-a.conf", "cloud-unicast-b.conf"),
        ("active-active-a.conf", "active-active-b.conf"),
        ("office-pass-a.conf", "office-pass-b.conf"),
    ] {
        let (side_a, side_b) = (load(a), load(b));
        assert_eq!(side_a.instances.len(), side_b.instances.len(), "{a} / {b}");
        for x in &side_a.instances {
            let y = side_b
                .instance(&x.name)
                .unwrap_or_else(|| panic!("{b} lacks instance {}", x.name));
            let what = format!("{a} / {b}, {}", x.name);
            assert_eq!(x.vrid, y.vrid, "{what}");
            assert_eq!(x.version, y.version, "{what}");
            assert_eq!(x.advert_interval, y.advert_interval, "{what}");
            assert_eq!(x.addresses(), y.addresses(), "{what}");
            assert_eq!(x.auth_pass, y.auth_pass, "{what}");
            assert_ne!(x.priority, y.priority, "{what}");
            if let (Some(ux), Some(uy)) = (&x.unicast, &y.unicast) {
                let peers_of_x: Vec<IpAddr> = ux.peers.iter().map(|p| p.addr).collect();
                let peers_of_y: Vec<IpAddr> = uy.peers.iter().map(|p| p.addr).collect();
                assert_eq!(x.mcast_src_ip.map(|s| vec![s]), Some(peers_of_y), "{what}");
                assert_eq!(y.mcast_src_ip.map(|s| vec![s]), Some(peers_of_x), "{what}");
            } else {
                assert_eq!(x.unicast.is_some(), y.unicast.is_some(), "{what}");
            }
        }
    }
    // Active-active: each router is the preferred master of exactly one of the two VIPs.
    let (a, b) = (load("active-active-a.conf"), load("active-active-b.conf"));
    let preferred = |config: &keepvip::config::Config, other: &keepvip::config::Config| {
        config
            .instances
            .iter()
            .filter(|i| {
                other
                    .instance(&i.name)
                    .is_some_and(|o| i.priority > o.priority)
            })
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(preferred(&a, &b), ["WEB_1"]);
    assert_eq!(preferred(&b, &a), ["WEB_2"]);
}

/// Spot checks that the files mean what their header comments say.
#[test]
fn corpus_files_mean_what_their_comments_say() {
    use keepvip::wire::Family;

    let gateway = load("ipv6-gateway.conf");
    let gw6 = &gateway.instances[..];
    let [gw6] = gw6 else {
        panic!("ipv6-gateway.conf: one instance expected")
    };
    assert_eq!(gw6.family, Family::V6);
    let first_vip = gw6.vips.first().map(|v| v.addr.to_string());
    assert_eq!(first_vip.as_deref(), Some("fe80::1"));

    let haproxy = load("haproxy-tracked.conf");
    let drain = haproxy
        .scripts
        .iter()
        .find(|s| s.name == "chk_drain")
        .expect("chk_drain");
    // The shell gets the whole test as one argument, as keepalived splits the line.
    assert_eq!(
        drain.command.argv().expect("split"),
        ["/bin/sh", "-c", "! /usr/bin/test -e /etc/keepalived/drain"]
    );
    let haproxy_check = haproxy
        .scripts
        .iter()
        .find(|s| s.name == "chk_haproxy")
        .expect("chk_haproxy");
    assert_eq!(
        (
            haproxy_check.weight.weight,
            haproxy_check.fall,
            haproxy_check.rise
        ),
        (-60, 2, 3)
    );

    let sync = load("sync-group-wan-lan.conf");
    let members: Vec<&str> = sync
        .sync_groups
        .iter()
        .flat_map(|g| g.members.iter().map(String::as_str))
        .collect();
    assert_eq!(members, ["OUTSIDE", "INSIDE"]);
    let interfaces: BTreeSet<&str> = sync
        .instances
        .iter()
        .map(|i| i.interface.as_str())
        .collect();
    assert_eq!(interfaces, BTreeSet::from(["wan0", "lan0"]));

    let split = load("split-config/keepalived.conf");
    assert_eq!(split.files.len(), 3, "main file and two conf.d files");
    let tracked: Vec<(String, i32)> = split
        .instances
        .iter()
        .flat_map(|i| {
            i.tracking
                .scripts
                .iter()
                .map(|s| (format!("{} {}", i.name, s.name), s.weight.weight))
        })
        .collect();
    assert_eq!(
        tracked,
        [
            ("WWW chk_nginx".to_string(), -30),
            ("API chk_nginx".to_string(), -10)
        ]
    );

    let office = load("office-pass-a.conf");
    assert!(office.instances.iter().all(|i| i.auth_pass.is_some()));
    assert!(office.instances.iter().all(|i| !i.preempt));

    let garp = load("garp-tuned.conf");
    let voip = garp.instance("VOIP").expect("VOIP");
    assert_eq!(voip.garp.master_repeat, 5);
    assert_eq!(
        voip.garp.master_refresh,
        Some(std::time::Duration::from_secs(20))
    );

    let maintenance = load("maintenance-track-file.conf");
    let file = maintenance.track_files.first().expect("a track_file");
    assert_eq!(file.weight.weight, -100);

    // One template, two routers: the config id picks the priority and router_id.
    let templated = |id: &str| {
        let path = corpus_dir().join("templated-pair.conf");
        let options = keepvip::config::LoadOptions {
            config_id: Some(id.to_string()),
        };
        keepvip::config::load_with_options(&path, &options)
            .unwrap_or_else(|report| panic!("{} as {id}:\n{report}", path.display()))
            .config
    };
    for (id, router_id, priority) in [("lb1", "lb1", 150), ("lb2", "lb2", 100)] {
        let config = templated(id);
        assert_eq!(config.global.router_id.as_deref(), Some(router_id));
        let shape: Vec<(String, u8, u8, Vec<String>)> = config
            .instances
            .iter()
            .map(|i| {
                let vips = i.vips.iter().map(|v| v.addr.to_string()).collect();
                (i.name.clone(), i.vrid, i.priority, vips)
            })
            .collect();
        let vips = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shape,
            [
                (
                    "WEB".to_string(),
                    1,
                    priority,
                    vips(&["192.0.2.11", "192.0.2.12", "192.0.2.13"])
                ),
                (
                    "API".to_string(),
                    2,
                    priority,
                    vips(&["192.0.2.21", "192.0.2.22"])
                ),
            ],
            "templated-pair.conf as {id}"
        );
    }

    let vmac = load("vmac.conf");
    let vmac_instance = vmac.instances.first().expect("an instance");
    let vmac_settings = vmac_instance.vmac.as_ref().expect("use_vmac");
    assert!(vmac_settings.xmit_base);

    let uplink = load("routed-uplink.conf");
    let gw = uplink.instances.first().expect("an instance");
    let routes: Vec<String> = gw.routes.iter().map(ToString::to_string).collect();
    assert_eq!(
        routes,
        [
            "0.0.0.0/0 via 198.51.100.9 dev wan0 table 100 src 198.51.100.10",
            "198.51.100.128/25 via 192.0.2.254 dev lan0 metric 10",
            "blackhole 198.51.100.0/24 table 100",
        ]
    );
    let rules: Vec<String> = gw.rules.iter().map(ToString::to_string).collect();
    assert_eq!(
        rules,
        [
            "1000: from 192.0.2.0/24 lookup 100",
            "1001: from all fwmark 0x1/0xff iif lan0 lookup 100",
        ]
    );

    let statics = load("static-and-virtual.conf").statics;
    assert_eq!(statics.addresses.len(), 1);
    assert_eq!(statics.routes.len(), 2);
    assert_eq!(
        statics.rules[0].to_string(),
        "530: from 198.51.100.53/32 lookup 53"
    );

    let v6 = load("ipv6-routes.conf");
    let cust = v6.instances.first().expect("an instance");
    assert_eq!(cust.routes.len(), 3);
    assert!(cust
        .rules
        .iter()
        .all(|r| r.family == keepvip::wire::Family::V6));
}

// ---- README keyword reference -------------------------------------------------------------

const README_SECTION: &str = "## keepalived keyword reference";

/// The README's heading for each table of `keywords.rs`, by the table's name there.
const TABLES: &[(&str, &str, &[Keyword])] = &[
    ("ROOT", "Top level", keywords::ROOT),
    ("GLOBAL_DEFS", "`global_defs`", keywords::GLOBAL_DEFS),
    ("INSTANCE", "`vrrp_instance`", keywords::INSTANCE),
    (
        "VIP_OPTIONS",
        "`virtual_ipaddress` and `virtual_ipaddress_excluded` options",
        keywords::VIP_OPTIONS,
    ),
    (
        "ROUTE_OPTIONS",
        "`virtual_routes` and `static_routes` options",
        keywords::ROUTE_OPTIONS,
    ),
    (
        "RULE_OPTIONS",
        "`virtual_rules` and `static_rules` options",
        keywords::RULE_OPTIONS,
    ),
    (
        "AUTHENTICATION",
        "`authentication` (in `vrrp_instance`)",
        keywords::AUTHENTICATION,
    ),
    (
        "UNICAST_PEER_OPTIONS",
        "`unicast_peer` options",
        keywords::UNICAST_PEER_OPTIONS,
    ),
    ("VRRP_SCRIPT", "`vrrp_script`", keywords::VRRP_SCRIPT),
    (
        "TRACK_FILE",
        "`track_file` and `vrrp_track_file`",
        keywords::TRACK_FILE,
    ),
    ("SYNC_GROUP", "`vrrp_sync_group`", keywords::SYNC_GROUP),
];

/// The decisions as the README words them, in the order it lists them.
const DECISIONS: &[(&str, Decision)] = &[
    ("Implemented", Decision::Implemented),
    ("Ignored with a warning", Decision::Ignored),
    ("Error (not supported yet)", Decision::Unsupported),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Decision {
    Implemented,
    Ignored,
    Unsupported,
}

fn decision_of(support: Support) -> Decision {
    match support {
        Support::Implemented => Decision::Implemented,
        Support::Ignored(_) => Decision::Ignored,
        Support::Unsupported => Decision::Unsupported,
    }
}

/// The section's list as written: heading -> decision -> keywords. Panics on anything in the
/// section it cannot read.
fn readme_reference(readme: &str) -> BTreeMap<String, BTreeMap<Decision, Vec<String>>> {
    let start = readme
        .find(&format!("\n{README_SECTION}\n"))
        .unwrap_or_else(|| panic!("README.md has no `{README_SECTION}` section"));
    let section = readme.get(start + 1..).unwrap_or_default();
    let mut lines = section.lines().skip(1);
    let mut blocks: BTreeMap<String, BTreeMap<Decision, Vec<String>>> = BTreeMap::new();
    let mut heading: Option<String> = None;
    // A list item and its continuation lines, joined.
    let mut items: Vec<(String, String)> = Vec::new();
    for line in lines.by_ref() {
        if line.starts_with("## ") {
            break;
        }
        if let Some(h) = line.strip_prefix("### ") {
            let h = h.trim().to_string();
            assert!(
                !blocks.contains_key(&h),
                "README: `### {h}` appears twice in the keyword reference"
            );
            blocks.insert(h.clone(), BTreeMap::new());
            heading = Some(h);
        } else if let (Some(h), Some(item)) = (&heading, line.strip_prefix("- ")) {
            items.push((h.clone(), item.to_string()));
        } else if line.starts_with("  ") && heading.is_some() {
            if let Some((_, item)) = items.last_mut() {
                item.push(' ');
                item.push_str(line.trim());
            }
        } else if heading.is_some() && !line.trim().is_empty() {
            panic!("README keyword reference, under `### {heading:?}`: unexpected line `{line}`");
        }
    }
    for (heading, item) in items {
        let (label, list) = item
            .split_once(": ")
            .unwrap_or_else(|| panic!("README `### {heading}`: `- {item}` has no `DECISION: `"));
        let decision = DECISIONS
            .iter()
            .find(|(name, _)| *name == label)
            .map(|&(_, d)| d)
            .unwrap_or_else(|| {
                let names: Vec<&str> = DECISIONS.iter().map(|(n, _)| *n).collect();
                panic!("README `### {heading}`: `{label}` is none of {names:?}")
            });
        let words: Vec<String> = list
            .trim_end_matches('.')
            .split(", ")
            .map(|w| {
                w.trim()
                    .strip_prefix('`')
                    .and_then(|w| w.strip_suffix('`'))
                    .unwrap_or_else(|| {
                        panic!("README `### {heading}`, {label}: `{w}` is not a `keyword`")
                    })
                    .to_string()
            })
            .collect();
        let block = blocks.entry(heading.clone()).or_default();
        assert!(
            !block.contains_key(&decision),
            "README `### {heading}`: two `{label}` lines"
        );
        block.insert(decision, words);
    }
    blocks
}

/// What the README should say for a table, wrapped at 100 columns (for the failure message).
fn rendered(heading: &str, table: &[Keyword]) -> String {
    const WIDTH: usize = 100;
    let mut text = format!("### {heading}\n\n");
    for &(label, decision) in DECISIONS {
        let words: Vec<String> = table
            .iter()
            .filter(|k| decision_of(k.support) == decision)
            .map(|k| format!("`{}`", k.name))
            .collect();
        let count = words.len();
        let mut line = format!("- {label}:");
        for (i, word) in words.into_iter().enumerate() {
            let word = if i + 1 == count {
                format!("{word}.")
            } else {
                format!("{word},")
            };
            if line.len() + 1 + word.len() > WIDTH {
                text.push_str(&line);
                text.push('\n');
                line = format!("  {word}");
            } else {
                line.push(' ');
                line.push_str(&word);
            }
        }
        if count > 0 {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

/// Where README.md's keyword reference and the tables disagree, each with the fix.
fn reference_problems(readme: &str) -> Vec<String> {
    let mut written = readme_reference(readme);
    let mut problems = Vec::new();
    for &(_, heading, table) in TABLES {
        let Some(decisions) = written.remove(heading) else {
            problems.push(format!(
                "no `### {heading}`; add:\n\n{}",
                rendered(heading, table)
            ));
            continue;
        };
        let mut block_problems = Vec::new();
        for keyword in table {
            let decision = decision_of(keyword.support);
            let listed: Vec<Decision> = decisions
                .iter()
                .filter(|(_, words)| words.iter().any(|w| w == keyword.name))
                .map(|(&d, _)| d)
                .collect();
            if listed != [decision] {
                block_problems.push(format!(
                    "`{}` is {decision:?} in keywords.rs, listed as {listed:?}",
                    keyword.name
                ));
            }
        }
        for (decision, words) in &decisions {
            let mut seen = BTreeSet::new();
            for word in words {
                if !seen.insert(word) {
                    block_problems.push(format!("`{word}` listed twice under {decision:?}"));
                }
                if !table.iter().any(|k| k.name == word) {
                    block_problems.push(format!("`{word}` is not in keywords.rs's table"));
                }
            }
        }
        if !block_problems.is_empty() {
            problems.push(format!(
                "`### {heading}`: {}; it should read:\n\n{}",
                block_problems.join("; "),
                rendered(heading, table)
            ));
        }
    }
    for heading in written.keys() {
        problems.push(format!("`### {heading}` matches no table of keywords.rs"));
    }
    problems
}

#[test]
fn readme_keyword_reference_matches_the_tables() {
    // Every table in keywords.rs must be covered here, so that a new one cannot be forgotten.
    let source = read(&Path::new(MANIFEST_DIR).join("src/config/keywords.rs"));
    let declared: BTreeSet<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split_once(": &[Keyword]"))
        .map(|(name, _)| name)
        .collect();
    let covered: BTreeSet<&str> = TABLES.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        declared, covered,
        "src/config/keywords.rs's tables and this test's TABLES differ: add the new table to \
         TABLES and to README.md's keyword reference"
    );
    let readme = read(&Path::new(MANIFEST_DIR).join("README.md"));
    let problems = reference_problems(&readme);
    assert!(
        problems.is_empty(),
        "README.md's keyword reference is out of date:\n{}",
        problems.join("\n")
    );
}

/// A README whose keyword reference is rendered from the tables, `change` applied to the
/// `vrrp_instance` one.
fn synthetic_readme(change: impl Fn(&mut Vec<Keyword>)) -> String {
    let blocks: Vec<String> = TABLES
        .iter()
        .map(|&(name, heading, table)| {
            let mut table = table.to_vec();
            if name == "INSTANCE" {
                change(&mut table);
            }
            rendered(heading, &table)
        })
        .collect();
    format!(
        "# keepvip\n\n{README_SECTION}\n\nProse.\n\n{}\n## Next\n\n- Implemented: `x`.\n",
        blocks.join("\n")
    )
}

/// The README check itself: the rendering reads back clean, and a keyword listed under the
/// wrong decision, a missing one, an unknown one, a duplicate and a missing block are noticed.
#[test]
fn readme_check_notices_each_kind_of_drift() {
    let problems = |readme: String| reference_problems(&readme);
    assert_eq!(problems(synthetic_readme(|_| {})), Vec::<String>::new());
    let first = keywords::INSTANCE.first().copied().expect("a keyword");
    let elsewhere = if first.support == Support::Unsupported {
        Support::Implemented
    } else {
        Support::Unsupported
    };
    let moved = synthetic_readme(|t| {
        if let Some(k) = t.first_mut() {
            k.support = elsewhere;
        }
    });
    let missing = synthetic_readme(|t| {
        t.remove(0);
    });
    let unknown = synthetic_readme(|t| {
        t.push(Keyword {
            name: "no_such_keyword",
            support: Support::Implemented,
        })
    });
    let twice = synthetic_readme(|t| t.push(first));
    for (what, readme) in [
        ("moved", moved),
        ("missing", missing),
        ("unknown", unknown),
        ("twice", twice),
    ] {
        let found = problems(readme);
        assert_eq!(found.len(), 1, "{what}: {found:#?}");
        let only = found.first().map(String::as_str).unwrap_or_default();
        assert!(only.starts_with("`### `vrrp_instance``"), "{what}: {only}");
    }
    let renamed = synthetic_readme(|_| {}).replace("### `vrrp_script`", "### `vrrp_scripts`");
    assert_eq!(
        problems(renamed).len(),
        2,
        "a missing block and an unknown one"
    );
    // Continuation lines are joined, and the section ends at the next `## `.
    let parsed = readme_reference(&synthetic_readme(|_| {}));
    let instance = parsed.get("`vrrp_instance`").expect("the block");
    let listed: usize = instance.values().map(Vec::len).sum();
    assert_eq!(listed, keywords::INSTANCE.len());
    assert!(!parsed
        .values()
        .any(|b| b.values().any(|words| words.iter().any(|w| w == "x"))));
}
