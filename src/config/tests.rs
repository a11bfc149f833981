//! End-to-end tests of the configuration layer: text in, model or exact diagnostics out.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;

use super::keywords::{self, Support};
use super::model::{Prefix, Route, RouteType, Rule};
use super::source::MemFs;
use super::*;
use crate::wire::{Addresses, Centis, Checksum, Family, Version};

const PATH: &str = "/k.conf";

/// Parses `text` as `/k.conf` over `fs`; the config if it loaded, and every diagnostic rendered.
fn run_fs(fs: &MemFs, text: &str) -> (Option<Config>, Vec<String>) {
    match parse_with(fs, text, Path::new(PATH)) {
        Ok(loaded) => (
            Some(loaded.config),
            loaded.warnings.iter().map(ToString::to_string).collect(),
        ),
        Err(report) => (
            None,
            report.diagnostics.iter().map(ToString::to_string).collect(),
        ),
    }
}

fn run(text: &str) -> (Option<Config>, Vec<String>) {
    run_fs(&MemFs::new(), text)
}

/// A valid instance with `extra` inserted after `virtual_router_id` (so its first line is
/// line 4 of the file).
fn instance_with(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n{extra}\n  virtual_ipaddress {{\n    192.0.2.1\n  }}\n}}\n"
    )
}

fn only(text: &str) -> Instance {
    let (config, diags) = run(text);
    assert_eq!(diags, Vec::<String>::new());
    config.and_then(|c| c.instances.into_iter().next()).unwrap()
}

fn errors(text: &str) -> Vec<String> {
    let (config, diags) = run(text);
    assert!(config.is_none(), "expected errors, got a config");
    diags
}

fn warnings(text: &str) -> (Instance, Vec<String>) {
    let (config, diags) = run(text);
    let instance = config.and_then(|c| c.instances.into_iter().next()).unwrap();
    (instance, diags)
}

// ---- defaults ------------------------------------------------------------------------------

#[test]
fn instance_defaults_are_keepalived_s() {
    let i = only(&instance_with(""));
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.state, InitialState::Backup);
    assert_eq!(i.interface, "eth0");
    assert_eq!(i.vrid, 51);
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_interval, Centis(100));
    assert_eq!(i.version, Version::V2);
    assert_eq!(i.family, Family::V4);
    assert!(i.preempt);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert_eq!(i.mcast_src_ip, None);
    assert!(
        i.accept,
        "keepalived's default is accept mode on outside strict mode"
    );
    assert_eq!(i.garp, Garp::default());
    assert!(!i.lower_prio_no_advert);
    assert!(
        !i.higher_prio_send_advert,
        "off by default, as in keepalived"
    );
    assert!(!i.v3_checksum_as_v2);
    assert_eq!(i.v3_ipv4_checksum(), Checksum::PseudoHeader);
    assert_eq!(i.notify, Notify::default());
    assert_eq!(i.vip_lease, None);
    assert!(i.excluded_vips.is_empty());
    assert_eq!(
        i.addresses(),
        Addresses::V4(vec!["192.0.2.1".parse().unwrap()])
    );
    let vip = &i.vips[0];
    assert_eq!(vip.prefix_len, 32, "no prefix means /32");
    assert_eq!(vip.scope, Scope::Global);
    assert_eq!((vip.span.line, vip.span.col), (6, 5));
    assert_eq!((i.span.line, i.span.col), (1, 1));
}

#[test]
fn global_defaults_are_keepalived_s_and_script_security_is_on() {
    let (config, _) = run(&instance_with(""));
    assert_eq!(config.unwrap().global, GlobalDefs::default());
}

#[test]
fn state_master_without_priority_becomes_the_address_owner() {
    let (i, w) = warnings(&instance_with("  state MASTER"));
    assert_eq!(i.priority, 255);
    assert_eq!(i.state, InitialState::Master);
    assert_eq!(
        w,
        vec!["/k.conf:4:3: warning: vrrp_instance VI_1 > state: MASTER without a 'priority' makes this router the address owner (priority 255), as in keepalived; set 'priority' explicitly"]
    );
}

#[test]
fn priority_255_without_state_starts_as_master() {
    let i = only(&instance_with("  priority 255"));
    assert_eq!(i.state, InitialState::Master);
    assert!(i.is_address_owner());
    let i = only(&instance_with("  priority 254\n  state MASTER"));
    assert_eq!((i.priority, i.state), (254, InitialState::Master));
    let i = only(&instance_with("  priority 255\n  state BACKUP"));
    assert_eq!((i.priority, i.state), (255, InitialState::Backup));
}

#[test]
fn globals_are_inherited_whatever_the_order_and_overridden_per_instance() {
    let text = format!(
        "{}global_defs {{\n  vrrp_garp_master_delay 0\n  vrrp_garp_master_repeat 2\n  vrrp_garp_master_refresh 60\n  vrrp_garp_master_refresh_repeat 3\n  vrrp_lower_prio_no_advert\n  v3_checksum_as_v2 on\n  vrrp_version 3\n  vrrp_vip_lease 30\n  router_id r1\n  script_user nobody nogroup\n  enable_script_security off\n}}\n",
        instance_with("  garp_master_repeat 7\n  lower_prio_no_advert false\n  vip_lease 0\n  advert_int 0.2")
    );
    let (config, diags) = run(&text);
    assert_eq!(diags, Vec::<String>::new());
    let config = config.unwrap();
    let g = &config.global;
    assert_eq!(g.router_id.as_deref(), Some("r1"));
    assert_eq!(g.vrrp_version, Version::V3);
    assert_eq!(
        g.script_user,
        Some(ScriptUser {
            user: "nobody".to_string(),
            group: Some("nogroup".to_string())
        })
    );
    assert!(!g.script_security);
    assert_eq!(g.vip_lease, Some(VipLease::Secs(30)));
    let i = &config.instances[0];
    assert_eq!(
        i.garp,
        Garp {
            master_delay: None,
            master_repeat: 7,
            master_refresh: Some(Duration::from_secs(60)),
            master_refresh_repeat: 3,
            lower_prio_delay: None,
            lower_prio_repeat: 2,
            interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
        }
    );
    assert!(!i.lower_prio_no_advert);
    assert!(i.v3_checksum_as_v2);
    assert_eq!(i.v3_ipv4_checksum(), Checksum::Plain);
    assert_eq!(i.version, Version::V3);
    assert_eq!(i.advert_interval, Centis(20));
    assert_eq!(i.vip_lease, Some(VipLease::Permanent));
}

#[test]
fn higher_prio_send_advert_is_global_and_per_instance() {
    let with_global = |global: &str, local: &str| {
        let text = format!("global_defs {{\n{global}\n}}\n{}", instance_with(local));
        let (config, diags) = run(&text);
        assert_eq!(diags, Vec::<String>::new());
        config.unwrap().instances[0].higher_prio_send_advert
    };
    assert!(with_global("  vrrp_higher_prio_send_advert", ""));
    assert!(!with_global("  vrrp_higher_prio_send_advert off", ""));
    assert!(with_global("", "  higher_prio_send_advert"));
    assert!(with_global("", "  higher_prio_send_advert on"));
    assert!(!with_global(
        "  vrrp_higher_prio_send_advert",
        "  higher_prio_send_advert false"
    ));
    let (_, diags) = run(&instance_with("  higher_prio_send_advert maybe"));
    assert_eq!(
        diags,
        vec!["/k.conf:4:27: error: vrrp_instance VI_1 > higher_prio_send_advert: 'maybe' is not a boolean: use on/off, true/false or yes/no"]
    );
}

// ---- advert_int, version, family -----------------------------------------------------------

#[test]
fn advert_int_ranges_per_version() {
    assert_eq!(
        only(&instance_with("  advert_int 255")).advert_interval,
        Centis(25500)
    );
    assert_eq!(
        only(&instance_with("  version 3\n  advert_int 0.01")).advert_interval,
        Centis(1)
    );
    assert_eq!(
        only(&instance_with("  version 3\n  advert_int 40.95")).advert_interval,
        Centis::V3_MAX
    );
    let cases = [
        ("  advert_int 1.5", "/k.conf:4:14: error: vrrp_instance VI_1 > advert_int: 1.5: VRRPv2 intervals are whole seconds (keepalived would round it); use 'version 3' for fractions"),
        ("  advert_int 256", "/k.conf:4:14: error: vrrp_instance VI_1 > advert_int: 256 is out of range: VRRPv2 intervals are 1-255 seconds"),
        ("  advert_int 0", "/k.conf:4:14: error: vrrp_instance VI_1 > advert_int: 0 is out of range: VRRPv2 intervals are 1-255 seconds"),
        ("  advert_int 0.015\n  version 3", "/k.conf:4:14: error: vrrp_instance VI_1 > advert_int: 0.015: VRRPv3 intervals are in steps of 0.01 s (keepalived would round it)"),
        ("  advert_int 41\n  version 3", "/k.conf:4:14: error: vrrp_instance VI_1 > advert_int: 41 is out of range: VRRPv3 intervals are 0.01-40.95 seconds"),
        ("  advert_int 1e0", "/k.conf:4:14: error: vrrp_instance VI_1 > advert_int: '1e0' is not a number: expected seconds, e.g. 1 or 0.5"),
        ("  advert_int -1", "/k.conf:4:14: error: vrrp_instance VI_1 > advert_int: '-1' is negative: expected seconds, e.g. 1 or 0.5"),
        ("  version 4", "/k.conf:4:11: error: vrrp_instance VI_1 > version: 4 is out of range: expected 2 or 3"),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&instance_with(extra)), vec![expected], "{extra}");
    }
}

fn v6_instance(extra: &str, vips: &str) -> String {
    format!("vrrp_instance V6 {{\n  interface eth0\n  virtual_router_id 60\n{extra}\n  virtual_ipaddress {{\n{vips}\n  }}\n}}\n")
}

#[test]
fn ipv6_instances_use_version_3() {
    let i = only(&v6_instance("", "    fe80::1\n    2001:db8::1/64"));
    assert_eq!(i.family, Family::V6);
    assert_eq!(i.version, Version::V3);
    assert_eq!(i.vips[0].prefix_len, 128);
    assert!(i.vips[0].deprecated_by_default());
    assert_eq!(i.vips[1].prefix_len, 64);

    // keepalived errors on 'version 2' before or after the addresses in different ways; keepvip
    // always refuses it.
    assert_eq!(
        errors(&v6_instance("  version 2", "    fe80::1")),
        vec!["/k.conf:4:11: error: vrrp_instance V6 > version: VRRP version 2 cannot carry IPv6 addresses: remove 'version 2' (IPv6 instances use version 3)"]
    );

    // A global 'vrrp_version 2' written out does not apply: say so.
    let text = format!(
        "global_defs {{\n  vrrp_version 2\n}}\n{}",
        v6_instance("", "    fe80::1")
    );
    let (config, diags) = run(&text);
    assert_eq!(config.unwrap().instances[0].version, Version::V3);
    assert_eq!(
        diags,
        vec!["/k.conf:4:1: warning: vrrp_instance V6: uses VRRP version 3 because its addresses are IPv6 ('vrrp_version 2' at /k.conf:2:3 only applies to IPv4 instances)"]
    );
}

#[test]
fn ipv6_first_address_should_be_link_local() {
    let (i, w) = warnings(&v6_instance("", "    2001:db8::1\n    fe80::1"));
    assert_eq!(i.version, Version::V3);
    assert_eq!(
        w,
        vec!["/k.conf:6:5: warning: vrrp_instance V6 > virtual_ipaddress: the first IPv6 address should be a link-local (fe80::/10) address (RFC 9568 section 5.2.9; keepalived logs this when it starts)"]
    );
}

#[test]
fn mixed_families_are_refused_naming_the_address() {
    assert_eq!(
        errors(&v6_instance("", "    fe80::1\n    192.0.2.7/24")),
        vec!["/k.conf:7:5: error: vrrp_instance V6 > virtual_ipaddress: 192.0.2.7 is IPv4 but the first address fe80::1 (at /k.conf:6:5) is IPv6: an instance advertises one family; move it to its own vrrp_instance or to virtual_ipaddress_excluded"]
    );
    // Excluded addresses may mix families, as in keepalived.
    let i = only(&instance_with(
        "  virtual_ipaddress_excluded {\n    2001:db8::5\n    198.51.100.5\n  }",
    ));
    assert_eq!(i.excluded_vips.len(), 2);
    assert_eq!(
        errors(&instance_with("  mcast_src_ip 2001:db8::9")),
        vec!["/k.conf:4:16: error: vrrp_instance VI_1 > mcast_src_ip: 2001:db8::9 is IPv6 but the instance's addresses are IPv4"]
    );
    assert_eq!(
        only(&instance_with("  mcast_src_ip 192.0.2.9")).mcast_src_ip,
        Some("192.0.2.9".parse::<IpAddr>().unwrap())
    );
}

// ---- required settings and ranges ------------------------------------------------------------

#[test]
fn required_settings() {
    assert_eq!(
        errors("vrrp_instance X {\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n"),
        vec![
            "/k.conf:1:1: error: vrrp_instance X: missing 'interface': the interface to run VRRP on (keepvip needs it in unicast mode too)",
            "/k.conf:1:1: error: vrrp_instance X: missing 'virtual_router_id' (1-255, the same on every router of this virtual router)",
        ]
    );
    assert_eq!(
        errors("vrrp_instance X {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    192.0.2.300\n  }\n}\n"),
        vec![
            "/k.conf:4:21: error: vrrp_instance X: no usable address in virtual_ipaddress (see the address errors): an instance needs at least one",
            "/k.conf:5:5: error: vrrp_instance X > virtual_ipaddress: '192.0.2.300' is not an IP address",
        ]
    );
}

/// keepalived runs VRRPv2 instances without addresses (clouds do: notify scripts move the
/// address) and refuses VRRPv3 ones ("at least one is required").
#[test]
fn instances_without_addresses_are_election_only_in_v2_and_refused_in_v3() {
    let warning = "warning: vrrp_instance X: no virtual address: this instance only elects a master (adverts carry none, as keepalived's do); its notify scripts must move the service address, as in a cloud (see etc/cloud/)";
    let (i, diags) = warnings("vrrp_instance X {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n  }\n}\n");
    assert_eq!(diags, vec![format!("/k.conf:4:21: {warning}")]);
    assert!(i.vips.is_empty());
    let (_, diags) = warnings("vrrp_instance X {\n  interface eth0\n  virtual_router_id 1\n}\n");
    assert_eq!(diags, vec![format!("/k.conf:1:1: {warning}")]);
    let v3 = "error: vrrp_instance X: no virtual address: VRRPv3 adverts carry at least one (RFC 9568 section 5.2.5; keepalived refuses this too): add a virtual_ipaddress, or use 'version 2' for an election-only IPv4 instance";
    assert_eq!(
        errors("vrrp_instance X {\n  interface eth0\n  virtual_router_id 1\n  version 3\n}\n"),
        vec![format!("/k.conf:1:1: {v3}")]
    );
    assert_eq!(
        errors("vrrp_instance X {\n  interface eth0\n  virtual_router_id 1\n  native_ipv6\n}\n")[0],
        format!("/k.conf:1:1: {v3}")
    );
    assert_eq!(
        errors("vrrp_instance {\n}\n"),
        vec!["/k.conf:1:1: error: vrrp_instance: needs a name: 'vrrp_instance NAME { ... }'"]
    );
}

#[test]
fn number_ranges() {
    let cases = [
        ("  virtual_router_id 0", "/k.conf:4:21: error: vrrp_instance VI_1 > virtual_router_id: 0 is out of range: expected 1-255"),
        ("  virtual_router_id 256", "/k.conf:4:21: error: vrrp_instance VI_1 > virtual_router_id: 256 is out of range: expected 1-255"),
        ("  priority 0", "/k.conf:4:12: error: vrrp_instance VI_1 > priority: 0 is out of range: expected 1-255 (255 = address owner)"),
        ("  priority 256", "/k.conf:4:12: error: vrrp_instance VI_1 > priority: 256 is out of range: expected 1-255 (255 = address owner)"),
        ("  priority 0x10", "/k.conf:4:12: error: vrrp_instance VI_1 > priority: '0x10' is not a whole number: expected 1-255 (255 = address owner)"),
        ("  preempt_delay 1001", "/k.conf:4:17: error: vrrp_instance VI_1 > preempt_delay: 1001 is out of range: expected seconds 0-1000"),
        ("  garp_master_delay 4295", "/k.conf:4:21: error: vrrp_instance VI_1 > garp_master_delay: 4295 is out of range: expected whole seconds 0-4294 (0 = no second burst)"),
        ("  garp_master_delay 1.5", "/k.conf:4:21: error: vrrp_instance VI_1 > garp_master_delay: '1.5' is not a whole number: expected whole seconds 0-4294 (0 = no second burst)"),
        ("  garp_master_repeat 0", "/k.conf:4:22: error: vrrp_instance VI_1 > garp_master_repeat: 0 is out of range: expected a count of at least 1"),
        ("  garp_master_refresh 4294967296", "/k.conf:4:23: error: vrrp_instance VI_1 > garp_master_refresh: 4294967296 is out of range: expected whole seconds (0 = no refresh)"),
        ("  vip_lease -5", "/k.conf:4:13: error: vrrp_instance VI_1 > vip_lease: '-5' is negative: expected whole seconds 0-4294967294 (0 = permanent)"),
        ("  lower_prio_no_advert maybe", "/k.conf:4:24: error: vrrp_instance VI_1 > lower_prio_no_advert: 'maybe' is not a boolean: use on/off, true/false or yes/no"),
        ("  state master", "/k.conf:4:9: error: vrrp_instance VI_1 > state: 'master' is not a state: use MASTER or BACKUP (upper case; keepalived would fall back to BACKUP)"),
        ("  interface eth0:1", "/k.conf:4:13: error: vrrp_instance VI_1 > interface: 'eth0:1' is not a valid interface name: it contains '/', ':' or white space"),
        ("  mcast_src_ip ff02::12", "/k.conf:4:16: error: vrrp_instance VI_1 > mcast_src_ip: ff02::12 is a multicast address: adverts need a unicast source"),
        ("  mcast_src_ip 192.0.2", "/k.conf:4:16: error: vrrp_instance VI_1 > mcast_src_ip: '192.0.2' is not an IP address"),
    ];
    for (extra, expected) in cases {
        // The template already sets interface and virtual_router_id: drop the "set again".
        let got: Vec<String> = errors(&instance_with(extra))
            .into_iter()
            .filter(|d| !d.contains("set again"))
            .collect();
        assert_eq!(got, vec![expected], "{extra}");
    }
    let i = only(&instance_with(
        "  preempt_delay 0.5\n  garp_master_refresh 4294967295",
    ));
    assert_eq!(i.preempt_delay, Duration::from_millis(500));
    assert_eq!(i.garp.master_refresh, Some(Duration::from_secs(4294967295)));
}

#[test]
fn what_keepalived_ignores_is_accepted_with_a_warning() {
    // A word after a flag: keepalived reads none there.
    let (i, diags) = warnings(&instance_with("  nopreempt true"));
    assert!(!i.preempt);
    assert_eq!(diags, vec!["/k.conf:4:13: warning: vrrp_instance VI_1 > nopreempt: 'true' is ignored, as keepalived ignores it: 'nopreempt' takes no value"]);
    let (i, diags) = warnings(&instance_with("  nopreempt off"));
    assert!(
        !i.preempt,
        "keepalived: nopreempt is in effect whatever follows"
    );
    assert_eq!(diags, vec!["/k.conf:4:13: warning: vrrp_instance VI_1 > nopreempt: 'off' is ignored, as keepalived ignores it: 'nopreempt' takes no value and is in effect; remove the keyword to turn it off"]);
    // keepvip's [BOOL] extension of a keepalived flag: a non-boolean word is ignored.
    let (config, diags) = run(&format!(
        "global_defs {{\n  enable_script_security 1\n  vrrp_check_unicast_src 0\n}}\n{}",
        instance_with("")
    ));
    let global = config.unwrap().global;
    assert!(global.script_security && global.check_unicast_src);
    assert_eq!(diags, vec![
        "/k.conf:2:26: warning: global_defs > enable_script_security: '1' is ignored, as keepalived ignores it: 'enable_script_security' takes no value",
        "/k.conf:3:26: warning: global_defs > vrrp_check_unicast_src: '0' is ignored, as keepalived ignores it: 'vrrp_check_unicast_src' takes no value and is in effect; remove the keyword to turn it off",
    ]);
    // A prefix length on a unicast address: keepalived drops it.
    let (i, diags) = warnings(&instance_with(
        "  unicast_src_ip 192.0.2.1/24\n  unicast_peer {\n    192.0.2.2/24\n  }",
    ));
    let unicast = i.unicast.unwrap();
    assert_eq!(unicast.peers[0].addr.to_string(), "192.0.2.2");
    assert_eq!(diags, vec![
        "/k.conf:4:18: warning: vrrp_instance VI_1 > unicast_src_ip: prefix length /24 ignored, as keepalived ignores it: the source is one address, 192.0.2.1",
        "/k.conf:6:5: warning: vrrp_instance VI_1 > unicast_peer: prefix length /24 ignored, as keepalived ignores it: a peer is one address, 192.0.2.2",
    ]);
    // smtp_alert in an instance, like the email keywords elsewhere.
    let (_, diags) = warnings(&instance_with("  smtp_alert"));
    assert_eq!(diags, vec!["/k.conf:4:3: warning: vrrp_instance VI_1 > smtp_alert: ignored: keepvip sends no email; use notify scripts"]);
}

#[test]
fn argument_counts_and_blocks() {
    let cases = [
        ("  priority", "/k.conf:4:3: error: vrrp_instance VI_1 > priority: missing value: expected 'priority 1-255'"),
        ("  priority 100 200", "/k.conf:4:16: error: vrrp_instance VI_1 > priority: too many arguments: expected 'priority 1-255', got 2 arguments"),
        ("  priority 100 {\n  }", "/k.conf:4:16: error: vrrp_instance VI_1 > priority: takes no '{ ... }' block"),
        ("  virtual_ipaddress_excluded", "/k.conf:4:3: error: vrrp_instance VI_1 > virtual_ipaddress_excluded: needs a '{ ... }' block of addresses"),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&instance_with(extra)), vec![expected], "{extra}");
    }
    assert_eq!(
        errors("global_defs {\n  router_id\n  script_user a b c\n}\n"),
        vec![
            "/k.conf: warning: no vrrp_instance is configured: keepvip has nothing to do",
            "/k.conf:2:3: error: global_defs > router_id: missing value: expected 'router_id NAME'",
            "/k.conf:3:19: error: global_defs > script_user: too many arguments: expected 'script_user USER [GROUP]', got 3 arguments",
        ]
    );
}

// ---- keywords: unknown, unsupported, ignored -----------------------------------------------------

#[test]
fn unknown_keywords_get_suggestions_from_their_block() {
    // The example of the brief, at line 12, column 5.
    let text = format!(
        "{}vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priorty 150\n    virtual_ipaddress {{\n        192.0.2.1\n    }}\n}}\n",
        "# comment\n".repeat(8)
    );
    let report =
        parse_with(&MemFs::new(), &text, Path::new("/etc/keepvip/keepvip.conf")).unwrap_err();
    assert_eq!(
        report.to_string(),
        "/etc/keepvip/keepvip.conf:12:5: error: vrrp_instance VI_1 > priorty: unknown keyword, did you mean 'priority'?\n1 error, 0 warnings\n"
    );
    assert_eq!(
        errors("global_defs {\n  router-id x\n  frobnicate\n}\nvrrp_instanse X {\n}\n"),
        vec![
            "/k.conf: warning: no vrrp_instance is configured: keepvip has nothing to do",
            "/k.conf:2:3: error: global_defs > router-id: unknown keyword, did you mean 'router_id'?",
            "/k.conf:3:3: error: global_defs > frobnicate: unknown keyword",
            "/k.conf:5:1: error: vrrp_instanse: unknown keyword, did you mean 'vrrp_instance'?",
        ]
    );
    // Hints are remembered per block table and word (fuzz/config: a generator repeating an
    // unknown keyword spent minutes on the same hint): a repeated word gets the same hint, a
    // word of another block its own.
    assert_eq!(
        errors("prioirty\nprioirty\nglobal_defs {\n  prioirty\n  router-id x\n}\nrouter-id\n"),
        vec![
            "/k.conf: warning: no vrrp_instance is configured: keepvip has nothing to do",
            "/k.conf:1:1: error: prioirty: unknown keyword",
            "/k.conf:2:1: error: prioirty: unknown keyword",
            "/k.conf:4:3: error: global_defs > prioirty: unknown keyword",
            "/k.conf:5:3: error: global_defs > router-id: unknown keyword, did you mean 'router_id'?",
            "/k.conf:7:1: error: router-id: unknown keyword",
        ]
    );
}

#[test]
fn unsupported_keywords_are_errors_and_their_blocks_are_not_descended() {
    let text = format!(
        "global_defs {{\n  vrrp_strict\n}}\nvrrp_track_process G {{\n  group {{\n    VI_1\n  }}\n}}\n{}",
        instance_with("  track_process {\n    chk\n  }\n  track_bfd {\n    bfd1\n  }")
    );
    assert_eq!(
        errors(&text),
        vec![
            "/k.conf:2:3: error: global_defs > vrrp_strict: not supported by keepvip yet",
            "/k.conf:4:1: error: vrrp_track_process: not supported by keepvip yet",
            "/k.conf:12:3: error: vrrp_instance VI_1 > track_process: not supported by keepvip yet",
            "/k.conf:15:3: error: vrrp_instance VI_1 > track_bfd: not supported by keepvip yet",
        ]
    );
}

#[test]
fn ignored_keywords_and_lvs_blocks_warn_once() {
    let text = format!(
        "global_defs {{\n  notification_email {{\n    a@example.com\n  }}\n  smtp_server 192.0.2.25\n  enable_snmp_vrrp\n}}\n{}virtual_server 192.0.2.1 80 {{\n  real_server 10.0.0.1 80 {{\n    TCP_CHECK {{\n      connect_timeout 3\n    }}\n  }}\n}}\nvirtual_server_group G {{\n  192.0.2.1 80\n}}\n",
        instance_with("  debug 2")
    );
    let (config, diags) = run(&text);
    assert!(config.is_some());
    assert_eq!(
        diags,
        vec![
            "/k.conf:2:3: warning: global_defs > notification_email: block ignored: keepvip sends no email; use notify scripts",
            "/k.conf:5:3: warning: global_defs > smtp_server: ignored: keepvip sends no email; use notify scripts",
            "/k.conf:6:3: warning: global_defs > enable_snmp_vrrp: ignored: keepvip has no SNMP or D-Bus interface; use `keepvip status`, its Prometheus metrics, or the keepalived.data / .stats / .json dumps (SIGUSR1, SIGUSR2, SIGRTMIN+2)",
            "/k.conf:11:3: warning: vrrp_instance VI_1 > debug: ignored: keepalived does not implement it either",
            "/k.conf:16:1: warning: virtual_server: block ignored: keepvip does not do LVS or health checking",
            "/k.conf:23:1: warning: virtual_server_group: block ignored: keepvip does not do LVS or health checking",
        ]
    );
}

#[test]
fn every_implemented_keyword_has_a_handler() {
    let sample = |kw: &str| -> &'static str {
        match kw {
            "state" => "MASTER",
            "interface" | "dev" => "eth1",
            "virtual_router_id" | "priority" | "version" => "3",
            "script_user" | "router_id" | "label" => "eth0:x",
            "mcast_src_ip" | "unicast_src_ip" => "192.0.2.3",
            "unicast_peer" => "{\n 192.0.2.9 min_ttl 1\n }",
            "brd" => "192.0.2.255",
            "scope" => "link",
            k if k.starts_with("notify") => "/bin/true",
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => "{\n 192.0.2.9\n }",
            "vrrp_version" => "3",
            k if k.contains("garp_lower_prio") => "1",
            "authentication" => "{\n auth_type PASS\n auth_pass secret\n }",
            "auth_type" => "PASS",
            k if k.contains("lower_prio") || k.contains("checksum") || k.contains("security") => {
                "on"
            }
            "nopreempt" | "preempt" | "accept" | "no_accept" | "native_ipv6" => "",
            "home" | "-nodad" | "mngtmpaddr" | "noprefixroute" | "no_track" => "",
            _ => "1",
        }
    };
    let bug = "keepvip bug";
    let implemented = |table: &'static [keywords::Keyword]| {
        table
            .iter()
            .filter(|k| k.support == Support::Implemented)
            .map(|k| k.name)
            .collect::<Vec<_>>()
    };
    for kw in implemented(keywords::GLOBAL_DEFS) {
        let text = format!("global_defs {{\n {kw} {}\n}}\n", sample(kw));
        let (_, diags) = run(&text);
        assert!(diags.iter().all(|d| !d.contains(bug)), "{kw}: {diags:?}");
    }
    for kw in implemented(keywords::INSTANCE) {
        let (_, diags) = run(&instance_with(&format!(" {kw} {}", sample(kw))));
        assert!(diags.iter().all(|d| !d.contains(bug)), "{kw}: {diags:?}");
    }
    for kw in implemented(keywords::AUTHENTICATION) {
        let (_, diags) = run(&instance_with(&format!(
            " authentication {{\n {kw} {}\n }}",
            sample(kw)
        )));
        assert!(diags.iter().all(|d| !d.contains(bug)), "{kw}: {diags:?}");
    }
    for kw in implemented(keywords::VIP_OPTIONS) {
        let line = format!("    192.0.2.1/24 {kw} {}", sample(kw));
        let text = format!("vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{\n{line}\n }}\n}}\n");
        let (config, diags) = run(&text);
        assert!(config.is_some(), "{kw}: {diags:?}");
    }
    for kw in implemented(keywords::UNICAST_PEER_OPTIONS) {
        let (config, diags) = run(&instance_with(&format!(
            "  unicast_peer {{\n    192.0.2.9 {kw} 7\n  }}"
        )));
        assert!(config.is_some(), "{kw}: {diags:?}");
    }
}

// ---- virtual addresses ---------------------------------------------------------------------------

fn vips(lines: &str) -> String {
    format!("vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {{\n{lines}\n  }}\n}}\n")
}

#[test]
fn address_options() {
    let i = only(&vips(
        "    192.0.2.1/24 brd + dev eth1 scope link label eth1:v\n    192.0.2.2/24 brd 192.0.2.255 scope 200\n    192.0.2.3/24 brd -",
    ));
    assert_eq!(i.vips[0].broadcast, Some(Broadcast::SetHostBits));
    assert_eq!(i.vips[0].dev.as_deref(), Some("eth1"));
    assert_eq!(i.vips[0].scope, Scope::Link);
    assert_eq!(i.vips[0].label.as_deref(), Some("eth1:v"));
    assert_eq!(i.vips[0].prefix_len, 24);
    assert_eq!(
        i.vips[1].broadcast,
        Some(Broadcast::Addr("192.0.2.255".parse().unwrap()))
    );
    assert_eq!(i.vips[1].scope, Scope::Site);
    assert_eq!(i.vips[2].broadcast, Some(Broadcast::ClearHostBits));
}

#[test]
fn valueless_address_flags() {
    let v6 = |lines: &str| {
        format!("vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {{\n{lines}\n  }}\n}}\n")
    };
    let i = only(&v6(
        "    fe80::1/64 home mngtmpaddr dev eth1 noprefixroute -nodad\n    2001:db8::2/64 noprefixroute\n    2001:db8::3/64",
    ));
    assert_eq!(
        i.vips[0].flags,
        VipFlags {
            home: true,
            nodad: true,
            mngtmpaddr: true,
            noprefixroute: true
        }
    );
    assert_eq!(i.vips[0].dev.as_deref(), Some("eth1"));
    assert_eq!(
        i.vips[1].flags,
        VipFlags {
            noprefixroute: true,
            ..VipFlags::default()
        }
    );
    assert_eq!(i.vips[2].flags, VipFlags::default());
    let i = only(&vips(
        "    192.0.2.1/24 no_track dev eth1\n    192.0.2.2/24",
    ));
    assert!(i.vips[0].no_track && !i.vips[1].no_track);
    assert_eq!(i.vips[0].dev.as_deref(), Some("eth1"));
    // keepalived drops the IPv6-only ones for an IPv4 address: so does keepvip, saying so.
    let (i, diags) = warnings(&vips(
        "    192.0.2.1/24 home noprefixroute\n    192.0.2.2/24 mngtmpaddr -nodad",
    ));
    assert_eq!(
        diags,
        vec![
            "/k.conf:5:18: warning: vrrp_instance VI_1 > virtual_ipaddress: 'home' only applies to IPv6 addresses: ignored for 192.0.2.1",
            "/k.conf:6:18: warning: vrrp_instance VI_1 > virtual_ipaddress: 'mngtmpaddr' only applies to IPv6 addresses: ignored for 192.0.2.2",
            "/k.conf:6:29: warning: vrrp_instance VI_1 > virtual_ipaddress: '-nodad' only applies to IPv6 addresses: ignored for 192.0.2.2",
        ]
    );
    assert_eq!(
        i.vips[0].flags,
        VipFlags {
            noprefixroute: true,
            ..VipFlags::default()
        }
    );
    assert_eq!(i.vips[1].flags, VipFlags::default());
    assert_eq!(
        errors(&vips("    192.0.2.1/24 noprefixroute noprefixroute")),
        vec![
            "/k.conf:4:21: error: vrrp_instance VI_1: no usable address in virtual_ipaddress (see the address errors): an instance needs at least one",
            "/k.conf:5:32: error: vrrp_instance VI_1 > virtual_ipaddress: 'noprefixroute' is given twice",
        ]
    );
}

#[test]
fn preferred_lifetimes() {
    let text = |lines: &str| {
        format!("vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {{\n{lines}\n  }}\n}}\n")
    };
    let i = only(&text(
        "    fe80::1/64 preferred_lft 30\n    2001:db8::1/128 preferred_lft forever\n    2001:db8::2/64 preferred_lft 0\n    2001:db8::3/128",
    ));
    let got: Vec<_> = i.vips.iter().map(|v| v.preferred_lft).collect();
    assert_eq!(got, vec![Some(30), Some(u32::MAX), Some(0), None]);
    let (i, diags) = warnings(&vips("    192.0.2.1/24 preferred_lft 20"));
    assert_eq!(
        diags,
        vec!["/k.conf:5:18: warning: vrrp_instance VI_1 > virtual_ipaddress: 'preferred_lft' only applies to IPv6 addresses: ignored for 192.0.2.1"]
    );
    assert_eq!(i.vips[0].preferred_lft, None);
    for (value, col) in [("x", 34), ("-1", 34), ("4294967296", 34), ("1.5", 34)] {
        assert_eq!(
            errors(&text(&format!("    2001:db8::1/64 preferred_lft {value}"))),
            vec![
                "/k.conf:4:21: error: vrrp_instance VI_1: no usable address in virtual_ipaddress (see the address errors): an instance needs at least one".to_string(),
                format!("/k.conf:5:{col}: error: vrrp_instance VI_1 > virtual_ipaddress: '{value}' is not a preferred lifetime: use 0-4294967295 seconds or 'forever'"),
            ]
        );
    }
    assert_eq!(
        errors(&text("    2001:db8::1/64 preferred_lft")),
        vec![
            "/k.conf:4:21: error: vrrp_instance VI_1: no usable address in virtual_ipaddress (see the address errors): an instance needs at least one",
            "/k.conf:5:20: error: vrrp_instance VI_1 > virtual_ipaddress: 'preferred_lft' needs a value",
        ]
    );
}

#[test]
fn address_errors() {
    let cases = [
        ("    192.0.2.300", "/k.conf:5:5: error: vrrp_instance VI_1 > virtual_ipaddress: '192.0.2.300' is not an IP address"),
        ("    fe80::1%eth0", "/k.conf:5:5: error: vrrp_instance VI_1 > virtual_ipaddress: 'fe80::1%eth0' is not an IP address (zone indexes are not allowed; use 'dev')"),
        ("    224.0.0.18", "/k.conf:5:5: error: vrrp_instance VI_1 > virtual_ipaddress: 224.0.0.18 is a multicast address, not an address a host can own"),
        ("    0.0.0.0/0", "/k.conf:5:5: error: vrrp_instance VI_1 > virtual_ipaddress: 0.0.0.0 is the unspecified address, not an address a host can own"),
        ("    255.255.255.255", "/k.conf:5:5: error: vrrp_instance VI_1 > virtual_ipaddress: 255.255.255.255 is the broadcast address, not an address a host can own"),
        ("    192.0.2.1/33", "/k.conf:5:5: error: vrrp_instance VI_1 > virtual_ipaddress: '/33' is not a prefix length for IPv4: expected 0-32"),
        ("    192.0.2.1 192.0.2.2", "/k.conf:5:15: error: vrrp_instance VI_1 > virtual_ipaddress: unknown address option '192.0.2.2': expected brd, dev, scope, label, home, -nodad, mngtmpaddr, noprefixroute, preferred_lft or no_track (one address per line)"),
        ("    192.0.2.1 lable x", "/k.conf:5:15: error: vrrp_instance VI_1 > virtual_ipaddress: unknown address option 'lable', did you mean 'label'?"),
        ("    192.0.2.1/24 dev", "/k.conf:5:18: error: vrrp_instance VI_1 > virtual_ipaddress: 'dev' needs a value"),
        ("    192.0.2.1/24 dev a dev b", "/k.conf:5:24: error: vrrp_instance VI_1 > virtual_ipaddress: 'dev' is given twice"),
        ("    192.0.2.1 brd +", "/k.conf:5:19: error: vrrp_instance VI_1 > virtual_ipaddress: 'brd +' needs a prefix shorter than /31 (this address is /32)"),
        ("    192.0.2.1 brd 2001:db8::1", "/k.conf:5:19: error: vrrp_instance VI_1 > virtual_ipaddress: '2001:db8::1' is not an IPv4 broadcast address (or '+'/'-')"),
        ("    192.0.2.1 scope bogus", "/k.conf:5:21: error: vrrp_instance VI_1 > virtual_ipaddress: 'bogus' is not a scope: use global, site, link, host, nowhere or 0-255"),
        ("    192.0.2.1 label waytoolonglabelname", "/k.conf:5:21: error: vrrp_instance VI_1 > virtual_ipaddress: label 'waytoolonglabelname' is longer than 15 bytes"),
        ("    192.0.2.1 peer 192.0.2.9 no_track", "/k.conf:5:15: error: vrrp_instance VI_1 > virtual_ipaddress: address option 'peer' is not supported by keepvip yet"),
        ("    192.0.2.1 {\n    }", "/k.conf:5:15: error: vrrp_instance VI_1 > virtual_ipaddress: an address line takes no '{ ... }' block"),
    ];
    for (lines, expected) in cases {
        let mut got: Vec<String> = errors(&vips(lines))
            .into_iter()
            .filter(|d| !d.contains("no usable address"))
            .collect();
        // 'peer ... no_track' reports both options; keep the first for the table.
        got.truncate(1);
        assert_eq!(got, vec![expected], "{lines}");
    }
    assert_eq!(
        errors(&v6_instance("", "    fe80::1 brd 1.2.3.4")),
        vec![
            "/k.conf:5:21: error: vrrp_instance V6: no usable address in virtual_ipaddress (see the address errors): an instance needs at least one",
            "/k.conf:6:13: error: vrrp_instance V6 > virtual_ipaddress: 'brd' is for IPv4 addresses only",
        ]
    );
}

#[test]
fn repeated_addresses_warn() {
    let text = format!(
        "{}vrrp_instance VI_2 {{\n  interface eth0\n  virtual_router_id 52\n  virtual_ipaddress {{\n    192.0.2.1/24\n  }}\n}}\n",
        vips("    192.0.2.1\n    192.0.2.1/24")
    );
    let (config, diags) = run(&text);
    assert!(config.is_some());
    assert_eq!(
        diags,
        vec![
            "/k.conf:6:5: warning: vrrp_instance VI_1 > virtual_ipaddress: 192.0.2.1 is already listed at /k.conf:5:5",
            "/k.conf:13:5: warning: vrrp_instance VI_2: 192.0.2.1 is also an address of vrrp_instance VI_1 (at /k.conf:5:5)",
        ]
    );
}

#[test]
fn several_virtual_ipaddress_blocks_add_up() {
    let i = only(&instance_with("  virtual_ipaddress {\n    192.0.2.2\n  }"));
    assert_eq!(i.vips.len(), 2);
}

// ---- duplicates --------------------------------------------------------------------------------

#[test]
fn duplicate_names_and_vrids() {
    let block = |name: &str, iface: &str, vrid: u8, vip: &str| {
        format!("vrrp_instance {name} {{\n  interface {iface}\n  virtual_router_id {vrid}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n")
    };
    let text = [
        block("A", "eth0", 1, "192.0.2.1"),
        block("A", "eth0", 2, "192.0.2.2"),
        block("B", "eth0", 1, "192.0.2.3"),
        block("C", "eth0", 1, "fe80::1"),
        block("D", "eth1", 1, "192.0.2.4"),
    ]
    .concat();
    assert_eq!(
        errors(&text),
        vec![
            "/k.conf:8:1: error: vrrp_instance A: an instance with this name is already defined at /k.conf:1:1 (keepalived skips this block): rename one",
            "/k.conf:15:1: error: vrrp_instance B: VRID 1 for IPv4 on eth0 is already used by vrrp_instance A at /k.conf:1:1: each virtual router on a link needs its own VRID",
        ]
    );
}

#[test]
fn repeated_settings() {
    let (i, w) = warnings(&instance_with("  priority 10\n  priority 20"));
    assert_eq!(i.priority, 20);
    assert_eq!(
        w,
        vec!["/k.conf:5:3: warning: vrrp_instance VI_1 > priority: set again: this replaces the setting at /k.conf:4:3"]
    );
    assert_eq!(
        errors(&instance_with("  notify_master /bin/a\n  notify_master /bin/b")),
        vec!["/k.conf:5:3: error: vrrp_instance VI_1 > notify_master: already set at /k.conf:4:3; keepalived keeps the first and ignores this one: remove one"]
    );
    assert_eq!(
        errors(&instance_with("  state BACKUP\n  state MASTER")),
        vec!["/k.conf:5:3: error: vrrp_instance VI_1 > state: contradicts the state set at /k.conf:4:3: keep one"]
    );
}

// ---- announcement schedule and pacing ------------------------------------------------------

#[test]
fn lower_prio_schedule_defaults_like_keepalived() {
    // Unset: the global master values, even when the instance overrides its own master values.
    let text = format!(
        "global_defs {{\n  vrrp_garp_master_delay 7\n  vrrp_garp_master_repeat 2\n}}\n{}",
        instance_with("  garp_master_repeat 9\n  garp_master_delay 3")
    );
    let i = only(&text);
    assert_eq!(i.garp.lower_prio_delay, Some(Duration::from_secs(7)));
    assert_eq!(i.garp.lower_prio_repeat, 2);
    // The global lower_prio values, in any order, then per-instance overrides; 0 means none.
    let text = format!(
        "global_defs {{\n  vrrp_garp_lower_prio_repeat 0\n  vrrp_garp_lower_prio_delay 0\n  vrrp_garp_master_repeat 4\n}}\n{}",
        instance_with("")
    );
    let i = only(&text);
    assert_eq!(
        (i.garp.lower_prio_delay, i.garp.lower_prio_repeat),
        (None, 0)
    );
    assert_eq!(i.garp.master_repeat, 4);
    let text = format!(
        "global_defs {{\n  vrrp_garp_lower_prio_repeat 0\n}}\n{}",
        instance_with("  garp_lower_prio_repeat 3\n  garp_lower_prio_delay 2")
    );
    let i = only(&text);
    assert_eq!(i.garp.lower_prio_repeat, 3);
    assert_eq!(i.garp.lower_prio_delay, Some(Duration::from_secs(2)));
}

#[test]
fn announce_intervals_global_and_per_instance() {
    let text = format!(
        "global_defs {{\n  vrrp_garp_interval 0.2\n  vrrp_gna_interval 0.000001\n}}\n{}",
        instance_with("  garp_interval 0.05")
    );
    let (config, diags) = run(&text);
    assert_eq!(diags, Vec::<String>::new());
    let config = config.unwrap();
    assert_eq!(config.global.garp.interval, Duration::from_millis(200));
    let i = &config.instances[0];
    assert_eq!(i.garp.interval, Duration::from_millis(50));
    assert_eq!(i.garp.gna_interval, Duration::from_micros(1));
    let (i, w) = warnings(&instance_with("  gna_interval 1.5"));
    assert_eq!(i.garp.gna_interval, Duration::from_millis(1500));
    assert_eq!(
        w,
        vec!["/k.conf:4:16: warning: vrrp_instance VI_1 > gna_interval: is very large (keepalived warns about vrrp_garp_interval and vrrp_gna_interval over 1 s too): a burst of N messages per address takes N times this long"]
    );
    assert_eq!(
        only(&instance_with("  garp_interval 0")).garp.interval,
        Duration::ZERO
    );
    for (line, message) in [
        ("  garp_interval 4295", "/k.conf:4:17: error: vrrp_instance VI_1 > garp_interval: 4295 is out of range: expected seconds 0-4294, e.g. 0.01 (0 = back to back)"),
        ("  garp_interval -1", "/k.conf:4:17: error: vrrp_instance VI_1 > garp_interval: '-1' is negative: expected seconds 0-4294, e.g. 0.01 (0 = back to back)"),
        ("  gna_interval 0.0000001", "/k.conf:4:16: error: vrrp_instance VI_1 > gna_interval: '0.0000001' has more than 6 decimals: expected seconds 0-4294, e.g. 0.01 (0 = back to back)"),
        ("  garp_lower_prio_repeat 2147483648", "/k.conf:4:26: error: vrrp_instance VI_1 > garp_lower_prio_repeat: 2147483648 is out of range: expected a count 0-2147483647 (0 = none)"),
        ("  garp_lower_prio_delay 4295", "/k.conf:4:25: error: vrrp_instance VI_1 > garp_lower_prio_delay: 4295 is out of range: expected whole seconds 0-4294 (0 = no second burst)"),
    ] {
        assert_eq!(errors(&instance_with(line)), vec![message], "{line}");
    }
}

// ---- authentication (VRRPv2) ----------------------------------------------------------------

fn auth_block(lines: &str) -> String {
    instance_with(&format!("  authentication {{\n{lines}\n  }}"))
}

#[test]
fn pass_authentication_is_padded_or_truncated_to_8_bytes() {
    let i = only(&auth_block("    auth_type PASS\n    auth_pass secret"));
    assert_eq!(i.auth_pass, Some(*b"secret\0\0"));
    assert_eq!(only(&instance_with("")).auth_pass, None);
    let (i, w) = warnings(&auth_block(
        "    auth_pass \"0123456789\"\n    auth_type PASS",
    ));
    assert_eq!(i.auth_pass, Some(*b"01234567"));
    assert_eq!(
        w,
        vec!["/k.conf:5:15: warning: vrrp_instance VI_1 > authentication > auth_pass: is 10 bytes long: only the first 8 are sent and checked (keepalived truncates it too), so every router must agree on those"]
    );
}

#[test]
fn authentication_errors_say_what_to_do() {
    let ah = "IPsec AH authentication is not supported (RFC 3768 removed it from VRRPv2's security model); use PASS for keepalived compatibility, or rely on TTL 255 and network isolation";
    for (lines, message) in [
        ("    auth_type AH\n    auth_pass secret", format!("/k.conf:5:15: error: vrrp_instance VI_1 > authentication > auth_type: {ah}")),
        ("    auth_type pass\n    auth_pass secret", "/k.conf:5:15: error: vrrp_instance VI_1 > authentication > auth_type: 'pass' is not an authentication type: use PASS (upper case; keepalived would run without authentication)".into()),
        ("    auth_type PASS", "/k.conf:5:5: error: vrrp_instance VI_1 > authentication > auth_type: 'auth_type PASS' needs 'auth_pass PASSWORD' in the same block (keepalived would run without authentication)".into()),
        ("    auth_pass secret", "/k.conf:4:18: error: vrrp_instance VI_1 > authentication: 'auth_pass' without 'auth_type PASS' (keepalived would send no authentication): add 'auth_type PASS'".into()),
        ("", "/k.conf:4:18: error: vrrp_instance VI_1 > authentication: empty block: expected 'auth_type PASS' and 'auth_pass PASSWORD', or remove the block".into()),
        ("    auth_type PASS\n    auth_pass \"\"", "/k.conf:6:15: error: vrrp_instance VI_1 > authentication > auth_pass: the password is empty (keepalived would run without authentication): give 1 to 8 characters".into()),
        ("    auth_typ PASS\n    auth_pass secret", "/k.conf:5:5: error: vrrp_instance VI_1 > authentication > auth_typ: unknown keyword, did you mean 'auth_type'?".into()),
    ] {
        assert_eq!(errors(&auth_block(lines)), vec![message], "{lines}");
    }
    assert_eq!(
        errors(&instance_with("  authentication PASS")),
        vec![
            "/k.conf:4:3: error: vrrp_instance VI_1 > authentication: needs a block: 'authentication { auth_type PASS  auth_pass PASSWORD }'",
            "/k.conf:4:18: error: vrrp_instance VI_1 > authentication: takes no arguments: 'authentication { auth_type PASS  auth_pass PASSWORD }'",
        ]
    );
}

#[test]
fn authentication_is_refused_with_version_3() {
    let v3 = "/k.conf:4:3: error: vrrp_instance VI_1 > authentication: VRRPv3 has no authentication (RFC 9568; keepalived ignores this block with version 3): remove it, or use version 2 (IPv4 only)";
    let text = instance_with(
        "  authentication {\n    auth_type PASS\n    auth_pass secret\n  }\n  version 3",
    );
    assert_eq!(errors(&text), vec![v3]);
    let text = format!(
        "global_defs {{\n  vrrp_version 3\n}}\n{}",
        auth_block("    auth_type PASS\n    auth_pass secret")
    );
    assert_eq!(errors(&text), vec![v3.replace(":4:3:", ":7:3:")]);
}

// ---- preemption fix-ups, as keepalived does them -------------------------------------------

#[test]
fn preemption_fix_ups() {
    let (i, w) = warnings(&instance_with(
        "  state MASTER\n  priority 200\n  nopreempt\n  preempt_delay 3",
    ));
    assert!(i.preempt);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert_eq!(
        w,
        vec![
            "/k.conf:6:3: warning: vrrp_instance VI_1 > nopreempt: has no effect with 'state MASTER' (keepalived clears it): use 'state BACKUP' on every router",
            "/k.conf:7:3: warning: vrrp_instance VI_1 > preempt_delay: has no effect with 'state MASTER' (keepalived clears it): use 'state BACKUP'",
        ]
    );
    let (i, w) = warnings(&instance_with(
        "  priority 255\n  state BACKUP\n  nopreempt",
    ));
    assert!(i.preempt);
    assert_eq!(
        w,
        vec!["/k.conf:6:3: warning: vrrp_instance VI_1 > nopreempt: has no effect with priority 255: the address owner always takes over (keepalived ignores it too)"]
    );
    let (i, w) = warnings(&instance_with("  nopreempt\n  preempt_delay 3"));
    assert!(!i.preempt);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert_eq!(
        w,
        vec!["/k.conf:5:3: warning: vrrp_instance VI_1 > preempt_delay: has no effect with 'nopreempt' (keepalived clears it)"]
    );
    let (i, w) = warnings(&instance_with("  nopreempt\n  preempt"));
    assert!(i.preempt);
    assert_eq!(
        w,
        vec!["/k.conf:5:3: warning: vrrp_instance VI_1 > preempt: undoes 'nopreempt' at /k.conf:4:3: the last one wins"]
    );
    let i = only(&instance_with("  nopreempt\n  preempt_delay 0"));
    assert!(!i.preempt);
    let i = only(&instance_with("  preempt_delay 12.5"));
    assert_eq!(i.preempt_delay, Duration::from_millis(12500));
}

// ---- notify scripts ------------------------------------------------------------------------------

#[test]
fn notify_scripts_keep_the_raw_string_and_split_like_keepalived() {
    let i = only(&instance_with(
        "  notify_master \"/usr/bin/logger -t 'vrrp x' up\" root wheel\n  notify_backup /bin/backup.sh alice\n  notify '/bin/n.sh'\n  notify_fault \"/bin/f.sh a\\\\ b\"\n  notify_stop /bin/stop",
    ));
    let master = i.notify.master.as_ref().unwrap();
    assert_eq!(master.command, "/usr/bin/logger -t 'vrrp x' up");
    assert_eq!(master.raw, "\"/usr/bin/logger -t 'vrrp x' up\" root wheel");
    assert_eq!(master.user.as_deref(), Some("root"));
    assert_eq!(master.group.as_deref(), Some("wheel"));
    assert_eq!((master.span.line, master.span.col), (4, 17));
    assert_eq!(
        master.argv().unwrap(),
        vec!["/usr/bin/logger", "-t", "vrrp x", "up"]
    );
    // keepalived's rule: without quotes, the second word is the user.
    let backup = i.notify.backup.as_ref().unwrap();
    assert_eq!(backup.command, "/bin/backup.sh");
    assert_eq!(backup.user.as_deref(), Some("alice"));
    assert_eq!(i.notify.any.as_ref().unwrap().command, "/bin/n.sh");
    assert_eq!(
        i.notify.fault.as_ref().unwrap().argv().unwrap(),
        vec!["/bin/f.sh", "a b"],
        "escapes are processed twice, as keepalived does"
    );
    assert_eq!(
        i.notify.stop.as_ref().unwrap().argv().unwrap(),
        vec!["/bin/stop"]
    );
}

#[test]
fn notify_errors() {
    let cases = [
        ("  notify_master /bin/a b c d", "/k.conf:4:17: error: vrrp_instance VI_1 > notify_master: too many arguments: expected 'notify_master COMMAND [USER [GROUP]]'; quote a command that has arguments, e.g. notify_master \"/path/to/script arg\""),
        ("  notify_master '/bin/a", "/k.conf:4:17: error: vrrp_instance VI_1 > notify_master: cannot split the line: missing closing ' for the quote opened at character 1: close the quote, or write \\' for a literal '"),
        ("  notify_master \"/bin/a 'b\"", "/k.conf:4:17: error: vrrp_instance VI_1 > notify_master: cannot split the command into arguments: missing closing ' for the quote opened at character 8: close the quote, or write \\' for a literal '"),
        ("  notify_master \"\"", "/k.conf:4:17: error: vrrp_instance VI_1 > notify_master: the command is empty"),
        ("  notify", "/k.conf:4:3: error: vrrp_instance VI_1 > notify: missing value: expected 'notify COMMAND [USER [GROUP]]'"),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&instance_with(extra)), vec![expected], "{extra}");
    }
}

// ---- lexical errors through the whole pipeline ---------------------------------------------------

#[test]
fn unterminated_blocks_and_strings() {
    assert_eq!(
        errors("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  notify \"/bin/x\n  virtual_ipaddress {\n    192.0.2.1\n  }\n"),
        vec![
            "/k.conf:1:20: error: vrrp_instance VI_1: this '{' is never closed: a '}' is missing",
            "/k.conf:4:10: error: unterminated string: this '\"' has no closing '\"' on the line",
            "/k.conf:4:10: error: vrrp_instance VI_1 > notify: cannot split the line: missing closing \" for the quote opened at character 1: close the quote, or write \\\" for a literal \"",
        ]
    );
    assert_eq!(
        errors(&format!("{}}}\n", instance_with(""))),
        vec!["/k.conf:9:1: error: unexpected '}': no block is open here"]
    );
}

#[test]
fn glued_braces_and_same_line_blocks() {
    let i = only("vrrp_instance VI_1{\ninterface eth0\nvirtual_router_id 9\nvirtual_ipaddress { 192.0.2.1/24\n192.0.2.2}}\n");
    assert_eq!(i.vips.len(), 2);
    let i = only("vrrp_instance VI_1\n{\n interface eth0 # the LAN\n virtual_router_id 9 ! VRID\n virtual_ipaddress\n {\n  192.0.2.1\n }\n}\n");
    assert_eq!((i.vrid, i.interface.as_str()), (9, "eth0"));
}

// ---- includes ------------------------------------------------------------------------------------

#[test]
fn includes_relative_to_the_including_file_with_errors_in_the_right_file() {
    let fs = MemFs::new()
        .file(
            "/etc/k/conf.d/10-a.conf",
            &instance_with("").replace("VI_1", "A"),
        )
        .file(
            "/etc/k/conf.d/20-b.conf",
            "vrrp_instance B {\n  include ../parts/b-body.conf\n}\n",
        )
        .file(
            "/etc/k/parts/b-body.conf",
            "interface eth0\nvirtual_router_id 52\npriorty 9\nvirtual_ipaddress {\n 192.0.2.2\n}\n",
        );
    let report = parse_with(
        &fs,
        "include conf.d/*.conf\n",
        Path::new("/etc/k/keepalived.conf"),
    )
    .unwrap_err();
    assert_eq!(
        report.to_string(),
        "/etc/k/conf.d/../parts/b-body.conf:3:1: error: vrrp_instance B > priorty: unknown keyword, did you mean 'priority'?\n1 error, 0 warnings\n"
    );

    let fs = fs.file(
        "/etc/k/parts/b-body.conf",
        "interface eth0\nvirtual_router_id 52\nvirtual_ipaddress {\n 192.0.2.2\n}\n",
    );
    let loaded = parse_with(
        &fs,
        "include conf.d/*.conf\n",
        Path::new("/etc/k/keepalived.conf"),
    )
    .unwrap();
    let names: Vec<&str> = loaded
        .config
        .instances
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, vec!["A", "B"]);
    assert_eq!(
        loaded.config.files,
        vec![
            PathBuf::from("/etc/k/keepalived.conf"),
            PathBuf::from("/etc/k/conf.d/10-a.conf"),
            PathBuf::from("/etc/k/conf.d/20-b.conf"),
            PathBuf::from("/etc/k/conf.d/../parts/b-body.conf"),
        ]
    );
    let b = loaded.config.instance("B").unwrap();
    assert_eq!(
        loaded.config.location(b.vips[0].span).to_string(),
        "/etc/k/conf.d/../parts/b-body.conf:4:2"
    );
}

#[test]
fn include_cycles_and_missing_files_are_errors_empty_globs_are_not() {
    let fs = MemFs::new()
        .file("/k/a.conf", "include b.conf\n")
        .file("/k/b.conf", "include a.conf\n");
    let (_, diags) = run_fs(&fs, &format!("include /k/a.conf\ninclude none.conf\ninclude /k/empty-dir-glob/*.conf\ninclude /k/*.none\n{}", instance_with("")));
    assert_eq!(
        diags,
        vec![
            "/k.conf:2:9: error: include: no such file 'none.conf'",
            "/k.conf:3:9: warning: include: no file matches '/k/empty-dir-glob/*.conf': directory /k/empty-dir-glob does not exist",
            "/k/b.conf:1:9: error: include: include cycle: /k/a.conf -> /k/b.conf -> /k/a.conf",
        ]
    );
}

#[test]
fn main_file_problems() {
    let fs = MemFs::new()
        .executable("/k/x.conf", "")
        .file("/k/d/y.conf", "");
    let render = |r: Result<Loaded, Report>| r.unwrap_err().to_string();
    assert_eq!(
        render(load_with(&fs, Path::new("/k/none.conf"))),
        "/k/none.conf: error: cannot read the configuration: entity not found\n1 error, 0 warnings\n"
    );
    assert_eq!(
        render(load_with(&fs, Path::new("/k/x.conf"))),
        "/k/x.conf: error: is executable; keepalived skips an executable configuration file (\"is not a regular non-executable file - skipping\") and would run without it: chmod a-x it\n1 error, 0 warnings\n"
    );
    assert_eq!(
        render(load_with(&fs, Path::new("/k/d"))),
        "/k/d: error: is a directory, not a configuration file\n1 error, 0 warnings\n"
    );
}

#[test]
fn many_errors_are_collected_in_one_pass() {
    let text = "global_defs {\n  vrrp_version 5\n}\nvrrp_instance A {\n  priority 0\n  advert_int x\n  virtual_ipaddress {\n    bogus\n  }\n}\nvrrp_instance B {\n  interface eth0\n  virtual_router_id 300\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n";
    let found = errors(text);
    assert_eq!(found.len(), 8, "{found:#?}");
}

// ---- sample configurations -----------------------------------------------------------------------

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(name)
}

/// Loads a sample, which must have no errors and exactly these warnings (`{}` = the path).
fn load_sample(name: &str, expected_warnings: &[&str]) -> Config {
    match load(&sample(name)) {
        Ok(loaded) => {
            let path = sample(name).display().to_string();
            let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
            let expected: Vec<String> = expected_warnings
                .iter()
                .map(|w| w.replace("{}", &path))
                .collect();
            assert_eq!(warnings, expected, "{name}");
            loaded.config
        }
        Err(report) => panic!("{name}:\n{report}"),
    }
}

fn load_clean(name: &str) -> Config {
    load_sample(name, &[])
}

#[test]
fn sample_v2_pair() {
    let master = load_sample(
        "v2-master.conf",
        &[
            "{}:5:4: warning: global_defs > notification_email: block ignored: keepvip sends no email; use notify scripts",
            "{}:8:4: warning: global_defs > notification_email_from: ignored: keepvip sends no email; use notify scripts",
            "{}:9:4: warning: global_defs > smtp_server: ignored: keepvip sends no email; use notify scripts",
            "{}:10:4: warning: global_defs > smtp_connect_timeout: ignored: keepvip sends no email; use notify scripts",
        ],
    );
    let backup = load_clean("v2-backup.conf");
    let (m, b) = (&master.instances[0], &backup.instances[0]);
    assert_eq!((m.vrid, b.vrid), (51, 51));
    assert_eq!(
        (m.state, b.state),
        (InitialState::Master, InitialState::Backup)
    );
    assert_eq!((m.priority, b.priority), (150, 100));
    assert_eq!((m.version, b.version), (Version::V2, Version::V2));
    assert_eq!(m.addresses(), b.addresses());
    assert_eq!(m.garp.master_delay, Some(Duration::from_secs(10)));
    assert_eq!(m.garp.master_refresh, Some(Duration::from_secs(60)));
    assert_eq!(b.garp.master_repeat, 3);
    assert_eq!(b.preempt_delay, Duration::from_secs(5));
    assert_eq!(
        m.notify.master.as_ref().unwrap().argv().unwrap(),
        vec![
            "/usr/bin/logger",
            "-t",
            "keepalived",
            "VI_1",
            "is",
            "MASTER"
        ]
    );
    assert_eq!(m.excluded_vips[0].dev.as_deref(), Some("eth1"));
}

#[test]
fn sample_v3_pair() {
    let master = load_clean("v3-master.conf");
    let backup = load_clean("v3-backup.conf");
    for config in [&master, &backup] {
        let gateway = config.instance("gateway").unwrap();
        assert_eq!(gateway.version, Version::V3);
        assert_eq!(gateway.advert_interval, Centis(50));
        let services = config.instance("services").unwrap();
        assert_eq!(services.advert_interval, Centis(25));
        assert!(!services.preempt);
    }
    assert_eq!(master.instance("gateway").unwrap().priority, 200);
}

#[test]
fn sample_ipv6() {
    let config = load_clean("ipv6.conf");
    let v6 = config.instance("V6").unwrap();
    assert_eq!((v6.family, v6.version), (Family::V6, Version::V3));
    let v4 = config.instance("V4").unwrap();
    assert_eq!(
        (v4.family, v4.version, v4.vrid),
        (Family::V4, Version::V2, 60)
    );
}

#[test]
fn sample_with_includes() {
    let config = load_clean("with-includes/keepalived.conf");
    let names: Vec<&str> = config.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["web", "db"]);
    assert_eq!(config.files.len(), 3);
}

#[test]
fn samples_parse_from_text_too() {
    for (name, text) in [
        (
            "v2-master.conf",
            include_str!("../../tests/configs/v2-master.conf"),
        ),
        (
            "v2-backup.conf",
            include_str!("../../tests/configs/v2-backup.conf"),
        ),
        (
            "v3-master.conf",
            include_str!("../../tests/configs/v3-master.conf"),
        ),
        (
            "v3-backup.conf",
            include_str!("../../tests/configs/v3-backup.conf"),
        ),
        ("ipv6.conf", include_str!("../../tests/configs/ipv6.conf")),
    ] {
        let from_text = parse_str(text, &sample(name)).unwrap();
        let from_file = load(&sample(name)).unwrap();
        assert_eq!(from_text, from_file);
    }
}

// ---- unicast ------------------------------------------------------------------------------------

#[test]
fn unicast_settings_are_parsed() {
    let i = only(&instance_with(
        "  unicast_src_ip 192.0.2.1\n  unicast_ttl 64\n  unicast_peer {\n    192.0.2.2\n    192.0.2.3 min_ttl 60 max_ttl 64\n    192.0.2.4 max_ttl 200\n  }",
    ));
    assert_eq!(i.mcast_src_ip, Some("192.0.2.1".parse().unwrap()));
    let unicast = i.unicast.expect("unicast mode");
    assert_eq!(unicast.ttl, Some(64));
    assert!(unicast.check_src);
    let peers: Vec<(IpAddr, u8, u8)> = unicast
        .peers
        .iter()
        .map(|p| (p.addr, p.min_ttl, p.max_ttl))
        .collect();
    assert_eq!(
        peers,
        vec![
            ("192.0.2.2".parse().unwrap(), 0, 255),
            ("192.0.2.3".parse().unwrap(), 60, 64),
            ("192.0.2.4".parse().unwrap(), 0, 200),
        ]
    );
    // Without a unicast_peer block the instance is a multicast one.
    assert_eq!(only(&instance_with("")).unicast, None);
}

#[test]
fn unicast_source_checking_defaults_on_and_follows_the_keywords() {
    let check = |global: &str, extra: &str| {
        let text = format!(
            "global_defs {{\n{global}\n}}\n{}",
            instance_with(&format!("  unicast_peer {{\n    192.0.2.2{extra}\n  }}"))
        );
        let (config, diags) = run(&text);
        assert!(
            diags.iter().all(|d| !d.contains("error")),
            "{global} {extra}: {diags:?}"
        );
        config.unwrap().instances[0]
            .unicast
            .as_ref()
            .unwrap()
            .check_src
    };
    assert!(check("", ""), "keepvip checks by default");
    assert!(check("  vrrp_check_unicast_src", ""));
    assert!(!check("  vrrp_check_unicast_src off", ""));
    // As in keepalived, a TTL range turns the check on for the instance.
    assert!(check("  vrrp_check_unicast_src off", " min_ttl 2"));
    let off = only(&instance_with(
        "  check_unicast_src off\n  unicast_peer {\n    192.0.2.2\n  }",
    ));
    assert!(!off.unicast.unwrap().check_src);
    let on = only(&format!(
        "global_defs {{\n  vrrp_check_unicast_src no\n}}\n{}",
        instance_with("  check_unicast_src\n  unicast_peer {\n    192.0.2.2\n  }")
    ));
    assert!(on.unicast.unwrap().check_src);
}

#[test]
fn unicast_peers_are_validated_where_they_are_written() {
    // instance_with puts its text at line 4; the block's lines follow.
    let peers = |lines: &str| {
        errors(&instance_with(&format!(
            "  mcast_src_ip 192.0.2.1\n  unicast_peer {{\n{lines}\n  }}"
        )))
    };
    let at = |line: u32, col: u32, message: &str| {
        format!("/k.conf:{line}:{col}: error: vrrp_instance VI_1 > unicast_peer: {message}")
    };
    assert_eq!(
        peers("    192.0.2.2\n    2001:db8::2\n    192.0.2.2\n    192.0.2.1"),
        vec![
            at(7, 5, "2001:db8::2 is IPv6 but the instance's addresses are IPv4"),
            at(8, 5, "192.0.2.2 is already listed at /k.conf:6:5"),
            at(9, 5, "192.0.2.1 is this router's own source address (unicast_src_ip / mcast_src_ip): list the other routers"),
        ]
    );
    assert_eq!(
        errors(&instance_with("  unicast_peer {\n    192.0.2.1\n  }")),
        vec!["/k.conf:5:5: error: vrrp_instance VI_1 > unicast_peer: 192.0.2.1 is a virtual address of this instance: list the other routers' own addresses"]
    );
    assert_eq!(
        peers("    192.0.2.2 min_ttl 65 max_ttl 64\n    192.0.2.3 min_tll 1\n    192.0.2.4 max_ttl\n    192.0.2.5 max_ttl 256\n    192.0.2.6 max_ttl x\n    192.0.2.7 max_ttl 1 max_ttl 2\n    192.0.2.0/24\n    fe80::1%eth0\n    224.0.0.18"),
        vec![
            at(6, 5, "min_ttl 65 is above max_ttl 64: every advert from 192.0.2.2 would be dropped"),
            at(7, 15, "unknown peer option 'min_tll', did you mean 'min_ttl'?"),
            at(8, 15, "'max_ttl' needs a value 0-255"),
            at(9, 23, "256 is out of range: expected 0-255"),
            at(10, 23, "'x' is not a whole number: expected 0-255"),
            at(11, 25, "'max_ttl' is given twice"),
            at(12, 5, "'192.0.2.0/24' is not an IP address (a peer is one address: no prefix length)"),
            at(13, 5, "'fe80::1%eth0' is not an IP address (no zone index: link-local peers are reached on the instance's interface)"),
            at(14, 5, "224.0.0.18 is a multicast address: a peer is the unicast address of another router"),
        ]
    );
    assert_eq!(
        warnings(&instance_with("  unicast_peer {\n  }")).1,
        vec!["/k.conf:4:16: warning: vrrp_instance VI_1 > unicast_peer: the block is empty: this instance uses multicast, as keepalived does (it calls this usage deprecated); list the other routers' addresses, or remove the block"]
    );
}

#[test]
fn unicast_companions_are_checked() {
    assert_eq!(
        errors(&instance_with("  unicast_ttl 64")),
        vec!["/k.conf:4:15: error: vrrp_instance VI_1 > unicast_ttl: needs unicast_peer: multicast adverts always go out with TTL 255"]
    );
    assert_eq!(
        errors(&instance_with("  unicast_ttl 0\n  unicast_peer {\n    192.0.2.2\n  }")),
        vec!["/k.conf:4:15: error: vrrp_instance VI_1 > unicast_ttl: 0 is out of range: expected 1-255 (a TTL of 0 never leaves this host)"]
    );
    assert_eq!(
        errors(&instance_with("  mcast_src_ip 192.0.2.7\n  unicast_src_ip 192.0.2.8\n  unicast_peer {\n    192.0.2.2\n  }")),
        vec!["/k.conf:5:18: error: vrrp_instance VI_1 > unicast_src_ip: mcast_src_ip 192.0.2.7 at /k.conf:4:16 sets the same source address (keepalived keeps whichever comes last): keep one"]
    );
    assert_eq!(
        errors(&instance_with("  unicast_src_ip 2001:db8::1\n  unicast_peer {\n    192.0.2.2\n  }")),
        vec!["/k.conf:4:18: error: vrrp_instance VI_1 > unicast_src_ip: 2001:db8::1 is IPv6 but the instance's addresses are IPv4"]
    );
    assert_eq!(
        errors(&instance_with("  check_unicast_src off\n  unicast_peer {\n    192.0.2.2 max_ttl 9\n  }")),
        vec!["/k.conf:6:15: error: vrrp_instance VI_1 > unicast_peer: min_ttl / max_ttl are checked only with source checking, which 'check_unicast_src off' at /k.conf:4:3 turns off: remove one"]
    );
    // The same address twice is one setting, as keepalived sees it.
    let same = only(&instance_with("  mcast_src_ip 192.0.2.7\n  unicast_src_ip 192.0.2.7\n  unicast_peer {\n    192.0.2.2\n  }"));
    assert_eq!(same.mcast_src_ip, Some("192.0.2.7".parse().unwrap()));
    let (_, diags) = warnings(&instance_with("  check_unicast_src"));
    assert_eq!(
        diags,
        vec!["/k.conf:4:3: warning: vrrp_instance VI_1 > check_unicast_src: has no effect without unicast_peer"]
    );
    // IPv6 peers for an IPv6 instance, link-local ones included.
    let v6 = only(
        "vrrp_instance V6 {\n  interface eth0\n  virtual_router_id 5\n  unicast_peer {\n    fe80::2\n    2001:db8::2\n  }\n  virtual_ipaddress {\n    fe80::100/64\n  }\n}\n",
    );
    assert_eq!(v6.unicast.unwrap().peers.len(), 2);
}

// ---- no input panics -------------------------------------------------------------------------------

fn soup_word() -> impl Strategy<Value = String> {
    let mut words: Vec<String> = [
        keywords::ROOT,
        keywords::GLOBAL_DEFS,
        keywords::INSTANCE,
        keywords::VIP_OPTIONS,
        keywords::ROUTE_OPTIONS,
        keywords::RULE_OPTIONS,
        keywords::UNICAST_PEER_OPTIONS,
    ]
    .iter()
    .flat_map(|t| t.iter().map(|k| k.name.to_string()))
    .collect();
    words.extend(
        [
            "{",
            "}",
            "\n",
            "\n",
            "\n",
            "\"",
            "'",
            "#",
            "!",
            "\\",
            "\\#",
            "include",
            "includew",
            "a.conf",
            "*.conf",
            "{a,b}",
            "@main",
            "@^main",
            "$X=1",
            "$X=$X",
            "$Y=${X}${X}",
            "$M=\\",
            "\\",
            "$X",
            "${X}",
            "$Y",
            "$M",
            "${_PWD}",
            "${_RANDOM 1 9}",
            "${_HASH}",
            "~SEQ(i,1,2)",
            "~SEQx(i,0x10)",
            "~SEQ(i,",
            "~LST(i,a,b)",
            "~LST({i,j},{1,2})",
            "$i",
            ")",
            ",",
            "0",
            "1",
            "255",
            "256",
            "0.5",
            "1.0000001",
            "-1",
            "192.0.2.1",
            "192.0.2.1/24",
            "2001:db8::1",
            "fe80::1/64",
            "198.51.100.0/24",
            "2001:db8::/32",
            "default",
            "blackhole",
            "0x10/0xff",
            "MASTER",
            "BACKUP",
            "eth0",
            "on",
            "/bin/true",
            "é",
            "\t",
            "\r",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    prop::sample::select(words)
}

fn include_fs() -> MemFs {
    MemFs::new()
        .file("/a.conf", "vrrp_instance I {\n include b.conf\n")
        .file("/b.conf", "interface eth0 }\ninclude a.conf\n")
}

// ---- use_vmac, vmac_xmit_base, vmac_prefix ------------------------------------------------

#[test]
fn use_vmac_defaults_to_the_rfc_virtual_mac_and_a_generated_name() {
    let i = only(&instance_with("  use_vmac"));
    let vmac = i.vmac.expect("use_vmac");
    assert_eq!(vmac.name, None);
    assert_eq!(vmac.mac.to_string(), "00:00:5e:00:01:33");
    assert!(!vmac.xmit_base);
    let v6 = only(&v6_instance("  use_vmac", "    fe80::1\n    2001:db8::1"));
    assert_eq!(v6.vmac.unwrap().mac.to_string(), "00:00:5e:00:02:3c");
    assert_eq!(only(&instance_with("")).vmac, None);
    let (config, _) = run(&instance_with(""));
    assert_eq!(config.unwrap().global.vmac_prefix, "vrrp");
}

#[test]
fn use_vmac_takes_a_name_and_a_mac_in_either_order() {
    let i = only(&instance_with("  use_vmac vrrp-lan\n  vmac_xmit_base"));
    let vmac = i.vmac.unwrap();
    assert_eq!(vmac.name.as_deref(), Some("vrrp-lan"));
    assert!(vmac.xmit_base);
    let i = only(&instance_with("  use_vmac 02:aa:bb:cc:dd lan0"));
    let vmac = i.vmac.unwrap();
    assert_eq!(vmac.name.as_deref(), Some("lan0"));
    assert_eq!(
        vmac.mac.to_string(),
        "02:aa:bb:cc:dd:33",
        "five octets: the VRID is the sixth"
    );
    let i = only(&instance_with("  use_vmac 02:aa:bb:cc:dd:ee"));
    assert_eq!(i.vmac.unwrap().mac.to_string(), "02:aa:bb:cc:dd:ee");
}

#[test]
fn vmac_xmit_base_without_use_vmac_warns() {
    let (i, diags) = warnings(&instance_with("  vmac_xmit_base"));
    assert_eq!(i.vmac, None);
    assert_eq!(
        diags,
        ["/k.conf:4:3: warning: vrrp_instance VI_1 > vmac_xmit_base: has no effect without 'use_vmac' (keepalived ignores it too)"]
    );
}

#[test]
fn use_vmac_errors() {
    let cases = [
        ("  use_vmac a/b", "/k.conf:4:12: error: vrrp_instance VI_1 > use_vmac: 'a/b' is not a valid interface name: it contains '/', ':' or white space"),
        ("  use_vmac a b", "/k.conf:4:14: error: vrrp_instance VI_1 > use_vmac: a second interface name: give one"),
        ("  use_vmac a 02:00:00:00:00:01 b", "/k.conf:4:32: error: vrrp_instance VI_1 > use_vmac: too many arguments: expected 'use_vmac [NAME] [MAC]', got 3 arguments"),
        ("  use_vmac 03:00:00:00:00:01", "/k.conf:4:12: error: vrrp_instance VI_1 > use_vmac: 03:00:00:00:00:01 is a multicast MAC address: a VMAC needs a unicast one"),
        ("  use_vmac 00:00:5e:00:01:07", "/k.conf:4:12: error: vrrp_instance VI_1 > use_vmac: 00:00:5e:00:01:07 is in the VRRP virtual MAC range 00:00:5e:00:01/02:xx, which belongs to each VRID: leave the MAC out to get the instance's own"),
        ("  use_vmac eth0", "/k.conf:4:3: error: vrrp_instance VI_1 > use_vmac: 'eth0' is the instance's own interface: name the VMAC something else, or leave the name out"),
        ("  use_vmac_addr", "/k.conf:4:3: error: vrrp_instance VI_1 > use_vmac_addr: not supported by keepvip yet"),
    ];
    for (extra, expected) in cases {
        let diags = errors(&instance_with(extra));
        assert!(diags.iter().any(|d| d == expected), "{extra}: {diags:#?}");
    }
}

#[test]
fn vmacs_of_different_instances_must_not_collide() {
    let two = |a: &str, b: &str, b_if: &str, b_vrid: u8| {
        format!(
            "vrrp_instance A {{\n  interface eth0\n  virtual_router_id 51\n  {a}\n  virtual_ipaddress {{\n    192.0.2.1\n  }}\n}}\n\
             vrrp_instance B {{\n  interface {b_if}\n  virtual_router_id {b_vrid}\n  {b}\n  virtual_ipaddress {{\n    192.0.2.2\n  }}\n}}\n"
        )
    };
    let diags = errors(&two("use_vmac lan", "use_vmac lan", "eth1", 51));
    assert!(
        diags.iter().any(|d| d.starts_with("/k.conf:12:3: error: vrrp_instance B > use_vmac: 'lan' is already the VMAC of vrrp_instance A (at /k.conf:4:3)")),
        "{diags:#?}"
    );
    let diags = errors(&two("use_vmac eth1", "", "eth1", 52));
    assert!(
        diags.iter().any(|d| d
            .contains("vrrp_instance A > use_vmac: 'eth1' is the interface of vrrp_instance B")),
        "{diags:#?}"
    );
    let diags = errors(&two(
        "use_vmac 02:00:00:00:00:09",
        "use_vmac 02:00:00:00:00:09",
        "eth0",
        52,
    ));
    assert!(
        diags.iter().any(|d| d.contains("vrrp_instance B > use_vmac: vrrp_instance A (at /k.conf:4:3) already puts a VMAC with MAC 02:00:00:00:00:09 on eth0")),
        "{diags:#?}"
    );
    // The same VRID on two interfaces, or for both families, is fine: names are generated.
    let (config, diags) = run(&two("use_vmac", "use_vmac", "eth1", 51));
    assert_eq!(diags, Vec::<String>::new());
    assert_eq!(config.unwrap().instances.len(), 2);
}

#[test]
fn vmac_prefix_is_checked() {
    let (config, diags) = run(&format!(
        "global_defs {{\n  vmac_prefix vr\n}}\n{}",
        instance_with("  use_vmac")
    ));
    assert_eq!(diags, Vec::<String>::new());
    assert_eq!(config.unwrap().global.vmac_prefix, "vr");
    let diags = errors(&format!(
        "global_defs {{\n  vmac_prefix abcdefghijkl\n}}\n{}",
        instance_with("")
    ));
    assert_eq!(
        diags[0],
        "/k.conf:2:15: error: global_defs > vmac_prefix: 'abcdefghijkl' is longer than 11 bytes: 'abcdefghijkl.255' would not fit an interface name"
    );
}

// ---- process tuning ------------------------------------------------------------------------

#[test]
fn process_tuning_keywords_take_keepalived_s_values() {
    let (config, diags) = run(&format!(
        "global_defs {{\n  vrrp_priority -15\n  vrrp_rt_priority 40\n  vrrp_rlimit_rttime 20000\n  vrrp_no_swap\n  vrrp_cpu_affinity 1 0 1\n}}\n{}",
        instance_with("")
    ));
    assert_eq!(diags, Vec::<String>::new());
    let process = config.unwrap().global.process;
    assert_eq!(
        process,
        super::model::ProcessTuning {
            nice: Some(-15),
            rt_priority: Some(40),
            rlimit_rttime_us: Some(20000),
            no_swap: true,
            cpu_affinity: vec![0, 1],
        }
    );
    let (config, _) = run(&instance_with(""));
    assert_eq!(config.unwrap().global.process, Default::default());
}

#[test]
fn process_tuning_values_out_of_range_are_errors() {
    let diags = errors(&format!(
        "global_defs {{\n  vrrp_priority -21\n  vrrp_rt_priority 100\n  vrrp_rlimit_rttime 1\n  vrrp_no_swap yes\n  vrrp_cpu_affinity 0 x 4096\n}}\n{}",
        instance_with("")
    ));
    let joined = diags.join("\n");
    assert!(
        joined.contains(
            "/k.conf:2:17: error: global_defs > vrrp_priority: '-21' is not a nice value"
        ),
        "{joined}"
    );
    assert!(
        joined.contains("/k.conf:3:20: error: global_defs > vrrp_rt_priority: 100 is out of range"),
        "{joined}"
    );
    assert!(
        joined.contains("/k.conf:4:22: error: global_defs > vrrp_rlimit_rttime: 1 is out of range"),
        "{joined}"
    );
    assert!(
        joined.contains("/k.conf:5:") && joined.contains("vrrp_no_swap"),
        "{joined}"
    );
    assert!(
        joined.contains(
            "/k.conf:6:23: error: global_defs > vrrp_cpu_affinity: 'x' is not a CPU number"
        ),
        "{joined}"
    );
    assert!(joined.contains("'4096' is not a CPU number"), "{joined}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn keyword_soup_never_panics(words in prop::collection::vec(soup_word(), 0..200)) {
        let text = words.join(" ");
        let fs = include_fs();
        let result = parse_with(&fs, &text, Path::new("/main.conf"));
        // Rendering must not panic either, and every diagnostic is one line.
        let rendered = match &result {
            Ok(loaded) => loaded.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            Err(report) => {
                prop_assert!(report.has_errors());
                report.diagnostics.iter().map(ToString::to_string).collect()
            }
        };
        for line in rendered {
            prop_assert!(!line.contains('\n'), "{}", line);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = parse_with(&include_fs(), &text, Path::new("/main.conf"));
    }

    #[test]
    fn command_splitting_never_panics(text in "\\PC{0,100}") {
        let _ = crate::argv::split_command(&text);
    }
}

#[test]
fn use_vmac_with_unicast_peers_implies_vmac_xmit_base() {
    let (i, warnings) = warnings(&instance_with(
        "  use_vmac\n  unicast_peer {\n    192.0.2.2\n  }",
    ));
    assert!(i.vmac.expect("use_vmac").xmit_base);
    assert!(
        warnings
            .iter()
            .any(|w| w
                .contains("use_vmac: with unicast_peer, adverts go out on the parent interface")),
        "{warnings:?}"
    );
}

// ---- preprocessor --------------------------------------------------------------------------

fn run_with_id(id: &str, text: &str) -> (Option<Config>, Vec<String>) {
    let options = LoadOptions {
        config_id: Some(id.to_string()),
    };
    match parse_fs(&MemFs::new(), text, Path::new(PATH), &options) {
        Ok(loaded) => (
            Some(loaded.config),
            loaded.warnings.iter().map(ToString::to_string).collect(),
        ),
        Err(report) => (
            None,
            report.diagnostics.iter().map(ToString::to_string).collect(),
        ),
    }
}

/// One file for two hosts, as in keepalived.conf(5).
const TEMPLATE: &str = "@main $PRIO=150\n@backup $PRIO=100\n$IF=eth0\n$VI= \\\n\
    vrrp_instance VI_${N} { \\\n  interface $IF \\\n  virtual_router_id ${N} \\\n  priority $PRIO \\\n\
    virtual_ipaddress { \\\n    192.0.2.${N} \\\n  } \\\n}\n\n$N=1\n$VI\n$N=2\n$VI\n";

#[test]
fn one_template_for_two_hosts() {
    for (id, priority) in [("main", 150), ("backup", 100)] {
        let (config, diags) = run_with_id(id, TEMPLATE);
        assert_eq!(diags, Vec::<String>::new());
        let config = config.unwrap();
        let seen: Vec<(String, u8, u8, String)> = config
            .instances
            .iter()
            .map(|i| (i.name.clone(), i.vrid, i.priority, i.interface.clone()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("VI_1".to_string(), 1, priority, "eth0".to_string()),
                ("VI_2".to_string(), 2, priority, "eth0".to_string())
            ]
        );
    }
}

#[test]
fn errors_in_substituted_text_point_at_the_use() {
    // No priority for a host that is neither main nor backup: `$PRIO` stays as written.
    let (config, diags) = run_with_id("other", TEMPLATE);
    assert!(config.is_none());
    assert_eq!(
        diags.first().map(String::as_str),
        Some(
            "/k.conf:15:1: error: vrrp_instance VI_1 > priority: '$PRIO' is not a whole number: \
             expected 1-255 (255 = address owner)"
        ),
        "{diags:?}"
    );
    let (_, diags) = run_with_id("x", "$P=300\nvrrp_instance VI_1 {\n  priority $P\n}\n");
    assert!(
        diags
            .iter()
            .any(|d| d.starts_with("/k.conf:3:12: error: vrrp_instance VI_1 > priority")),
        "{diags:?}"
    );
}

#[test]
fn dump_shows_the_configuration_after_preprocessing() {
    let fs = MemFs::new()
        .file("/k/keepalived.conf", TEMPLATE)
        .file("/k/bad.conf", "x { y");
    let options = LoadOptions {
        config_id: Some("backup".to_string()),
    };
    let text = dump_fs(&fs, Path::new("/k/keepalived.conf"), &options);
    let instance = |n: u8| {
        format!(
            "vrrp_instance VI_{n} {{\n  interface eth0\n  virtual_router_id {n}\n  priority 100\n  \
             virtual_ipaddress {{\n    192.0.2.{n}\n  }}\n}}\n"
        )
    };
    assert_eq!(text, format!("{}{}", instance(1), instance(2)));
    assert_eq!(
        dump_fs(&fs, Path::new("/k/bad.conf"), &options),
        "x {\n  y\n}\n"
    );
    assert_eq!(dump_fs(&fs, Path::new("/k/none.conf"), &options), "");
    let fs = MemFs::new().file(
        "/k/auth.conf",
        "authentication {\n  auth_type PASS\n  auth_pass \"s3cret\"\n}\n",
    );
    assert_eq!(
        dump_fs(&fs, Path::new("/k/auth.conf"), &options),
        "authentication {\n  auth_type PASS\n  auth_pass ********\n}\n"
    );
}

#[test]
fn dump_locations_and_json_version() {
    let text = format!(
        "global_defs {{\n  state_file_location /var/run/k\n  stats_file_location /tmp/s.stats\n  json_version 2\n}}\n{}",
        instance_with("")
    );
    let (config, diags) = run(&text);
    assert_eq!(diags, Vec::<String>::new());
    let dumps = config.unwrap().global.dumps;
    assert_eq!(dumps.state, Some(std::path::PathBuf::from("/var/run/k")));
    assert_eq!(dumps.stats, Some(std::path::PathBuf::from("/tmp/s.stats")));
    assert_eq!((dumps.json, dumps.json_version), (None, 2));
    let (_, diags) = run(&format!(
        "global_defs {{\n  json_file_location tmp/k.json\n  json_version 3\n}}\n{}",
        instance_with("")
    ));
    assert_eq!(
        diags,
        vec![
            "/k.conf:2:22: error: global_defs > json_file_location: 'tmp/k.json' is not an absolute path: write it from '/'",
            "/k.conf:3:16: error: global_defs > json_version: 3 is out of range: expected 1 or 2",
        ]
    );
}

#[test]
fn vrrp_min_garp_sends_one_message_unless_already_set() {
    let garp = |global: &str| {
        let text = format!("global_defs {{\n{global}\n}}\n{}", instance_with(""));
        let (config, diags) = run(&text);
        assert_eq!(diags, Vec::<String>::new());
        config.unwrap().instances[0].garp
    };
    let g = garp("  vrrp_min_garp");
    assert_eq!((g.master_repeat, g.master_delay), (1, None));
    assert_eq!((g.lower_prio_repeat, g.lower_prio_delay), (1, None));
    let g = garp("  vrrp_garp_master_repeat 3\n  vrrp_min_garp true");
    assert_eq!((g.master_repeat, g.master_delay), (3, None));
    let g = garp("  vrrp_min_garp\n  vrrp_garp_master_delay 2");
    assert_eq!(
        (g.master_repeat, g.master_delay),
        (1, Some(Duration::from_secs(2)))
    );
    assert_eq!(garp("  vrrp_min_garp off"), garp(""));
}

#[test]
fn vrrp_startup_delay_takes_seconds() {
    let delay = |value: &str| {
        let text = format!(
            "global_defs {{\n  vrrp_startup_delay {value}\n}}\n{}",
            instance_with("")
        );
        run(&text)
    };
    let (config, diags) = delay("5.5");
    assert_eq!(diags, Vec::<String>::new());
    assert_eq!(
        config.unwrap().global.startup_delay,
        Some(Duration::from_millis(5500))
    );
    assert_eq!(delay("0").0.unwrap().global.startup_delay, None);
    assert_eq!(
        delay("3601").1,
        vec!["/k.conf:2:22: error: global_defs > vrrp_startup_delay: 3601 is out of range: expected seconds 0-3600"]
    );
}

#[test]
fn startup_and_shutdown_scripts_with_their_timeouts() {
    // The timeout may come before its script, as in keepalived.
    let text = format!(
        "global_defs {{\n  startup_script_timeout 3\n  startup_script \"/bin/setup --all\" nobody nogroup\n  shutdown_script /bin/teardown\n}}\n{}",
        instance_with("")
    );
    let (config, diags) = run(&text);
    assert_eq!(diags, Vec::<String>::new());
    let g = config.unwrap().global;
    let startup = g.startup_script.unwrap();
    assert_eq!(startup.command, "/bin/setup --all");
    assert_eq!(
        (startup.user.as_deref(), startup.group.as_deref()),
        (Some("nobody"), Some("nogroup"))
    );
    assert_eq!(g.startup_script_timeout, Duration::from_secs(3));
    assert_eq!(
        g.shutdown_script.map(|s| s.command),
        Some("/bin/teardown".to_string())
    );
    assert_eq!(g.shutdown_script_timeout, Duration::from_secs(10));
    let defaults = run(&instance_with("")).0.unwrap().global;
    assert!(defaults.startup_script.is_none() && defaults.shutdown_script.is_none());
    assert_eq!(defaults.startup_script_timeout, Duration::from_secs(10));

    let (_, diags) = run(&format!(
        "global_defs {{\n  startup_script /bin/a\n  startup_script /bin/b\n  shutdown_script_timeout 0\n  startup_script_timeout 1001\n  shutdown_script_timeout x\n  shutdown_script\n  shutdown_script /bin/a u g extra\n}}\n{}",
        instance_with("")
    ));
    assert_eq!(
        diags,
        vec![
            "/k.conf:3:3: warning: global_defs > startup_script: set again: this replaces the setting at /k.conf:2:3",
            "/k.conf:4:27: error: global_defs > shutdown_script_timeout: 0 is out of range: expected 1-1000 (seconds)",
            "/k.conf:5:26: error: global_defs > startup_script_timeout: 1001 is out of range: expected 1-1000 (seconds)",
            "/k.conf:6:3: warning: global_defs > shutdown_script_timeout: set again: this replaces the setting at /k.conf:4:3",
            "/k.conf:6:27: error: global_defs > shutdown_script_timeout: 'x' is not a whole number: expected 1-1000 (seconds)",
            "/k.conf:7:3: error: global_defs > shutdown_script: missing value: expected 'shutdown_script COMMAND [USER [GROUP]]'",
            "/k.conf:8:3: warning: global_defs > shutdown_script: set again: this replaces the setting at /k.conf:7:3",
            "/k.conf:8:19: error: global_defs > shutdown_script: too many arguments: expected 'shutdown_script COMMAND [USER [GROUP]]'; quote a command that has arguments, e.g. shutdown_script \"/path/to/script arg\"",
        ]
    );
}

#[test]
fn notify_fifos_and_their_scripts() {
    let text = format!(
        "global_defs {{\n  notify_fifo /run/k.fifo nobody\n  notify_fifo_script /bin/reader\n  vrrp_notify_fifo /run/v.fifo\n  vrrp_notify_priority_changes\n  fifo_write_vrrp_states_on_reload\n}}\n{}",
        instance_with("  notify_master_rx_lower_pri /bin/true\n  notify_priority_changes off")
    );
    let (config, diags) = run(&text);
    assert_eq!(diags, Vec::<String>::new());
    let config = config.unwrap();
    let g = &config.global;
    assert_eq!(g.fifos.len(), 2);
    assert_eq!(
        (g.fifos[0].keyword, g.fifos[0].path.command.as_str()),
        ("notify_fifo", "/run/k.fifo")
    );
    assert_eq!(g.fifos[0].path.user.as_deref(), Some("nobody"));
    assert_eq!(
        g.fifos[0].script.as_ref().map(|s| s.command.as_str()),
        Some("/bin/reader")
    );
    assert!(g.fifos[1].script.is_none());
    assert!(g.notify_priority_changes && g.fifo_states_on_reload);
    let i = &config.instances[0];
    assert!(!i.notify_priority_changes);
    assert!(i.notify.master_rx_lower_pri.is_some());
    let (_, diags) = run(&format!(
        "global_defs {{\n  vrrp_notify_fifo_script /bin/reader\n  notify_fifo fifo\n}}\n{}",
        instance_with("")
    ));
    assert_eq!(
        diags,
        vec![
            "/k.conf:2:27: error: global_defs > vrrp_notify_fifo_script: needs a 'vrrp_notify_fifo PATH' before it: the script reads that FIFO",
            "/k.conf:3:15: error: global_defs > notify_fifo: 'fifo' is not an absolute path: write it from '/'",
        ]
    );
}

#[test]
fn unicast_fault_no_peer_and_dynamic_interfaces() {
    let (i, diags) = warnings(&instance_with(
        "  unicast_peer {\n  }\n  unicast_fault_no_peer",
    ));
    assert!(i.unicast_fault_no_peer && i.unicast.is_none());
    assert_eq!(diags, vec!["/k.conf:4:16: warning: vrrp_instance VI_1 > unicast_peer: the block is empty: with unicast_fault_no_peer this instance stays in FAULT (list the other routers' addresses)"]);
    let (i, _) = warnings(&instance_with("  unicast_peer {\n  }"));
    assert!(!i.unicast_fault_no_peer);
    let (i, diags) = warnings(&instance_with(
        "  unicast_src_ip 192.0.2.1\n  unicast_fault_no_peer",
    ));
    assert!(i.unicast_fault_no_peer);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let (i, diags) = warnings(&instance_with(
        "  unicast_fault_no_peer\n  unicast_peer {\n    192.0.2.2\n  }",
    ));
    assert!(!i.unicast_fault_no_peer && i.unicast.is_some());
    assert_eq!(diags, Vec::<String>::new());
    let (config, diags) = run(&format!(
        "global_defs {{\n  dynamic_interfaces allow_if_changes\n}}\n{}",
        instance_with("")
    ));
    assert!(config.is_some());
    assert_eq!(diags, Vec::<String>::new());
    assert_eq!(
        errors(&format!(
            "global_defs {{\n  dynamic_interfaces sometimes\n}}\n{}",
            instance_with("")
        )),
        vec!["/k.conf:2:22: error: global_defs > dynamic_interfaces: 'sometimes': expected 'allow_if_changes' or nothing"]
    );
}

#[test]
fn notify_deleted_with_or_without_a_script() {
    let (i, diags) = warnings(&instance_with("  notify_deleted"));
    assert_eq!(diags, Vec::<String>::new());
    assert_eq!(i.notify_deleted, Some(None));
    let (i, _) = warnings(&instance_with("  notify_deleted \"/bin/true gone\""));
    assert_eq!(
        i.notify_deleted.flatten().map(|s| s.command),
        Some("/bin/true gone".to_string())
    );
    assert_eq!(only(&instance_with("")).notify_deleted, None);
}

#[test]
fn down_timer_adverts_global_and_per_instance() {
    let adverts = |global: &str, local: &str| {
        let text = format!("global_defs {{\n{global}\n}}\n{}", instance_with(local));
        let (config, diags) = run(&text);
        assert_eq!(diags, Vec::<String>::new());
        config.unwrap().instances[0].down_timer_adverts
    };
    assert_eq!(adverts("", ""), 3);
    assert_eq!(adverts("  vrrp_down_timer_adverts 5", ""), 5);
    assert_eq!(
        adverts("  vrrp_down_timer_adverts 5", "  down_timer_adverts 10"),
        10
    );
    assert_eq!(
        errors(&instance_with("  down_timer_adverts 0")),
        vec!["/k.conf:4:22: error: vrrp_instance VI_1 > down_timer_adverts: 0 is out of range: expected 1-100 (adverts missed before the master is down; 3 in the RFCs)"]
    );
}

#[test]
fn vrrp_mcast_groups() {
    let (config, diags) = run(&format!(
        "global_defs {{\n  vrrp_mcast_group4 224.0.0.19\n  vrrp_mcast_group6 ff02::13\n}}\n{}",
        instance_with("")
    ));
    assert_eq!(diags, Vec::<String>::new());
    let g = config.unwrap().global;
    assert_eq!(g.mcast_group4.to_string(), "224.0.0.19");
    assert_eq!(g.mcast_group6.to_string(), "ff02::13");
    assert_eq!(
        errors(&format!(
            "global_defs {{\n  vrrp_mcast_group4 192.0.2.1\n}}\n{}",
            instance_with("")
        )),
        vec!["/k.conf:2:21: error: global_defs > vrrp_mcast_group4: '192.0.2.1' is not an IPv4 multicast address"]
    );
}

#[test]
fn promote_secondaries_is_a_flag() {
    assert!(only(&instance_with("  promote_secondaries")).promote_secondaries);
    assert!(!only(&instance_with("")).promote_secondaries);
}

/// `no_accept` is not enforced: refused unless the instance owns the address (where keepalived
/// accepts anyway).
#[test]
fn no_accept_is_refused_below_the_owner() {
    assert_eq!(
        errors(&instance_with("  no_accept")),
        vec!["/k.conf:4:3: error: vrrp_instance VI_1 > no_accept: not enforced by keepvip yet: keepalived drops traffic to the VIPs of a master that is not the address owner (with nftables), keepvip would accept it; remove no_accept (or drop that traffic with a firewall rule of your own)"]
    );
    assert!(!only(&instance_with("  priority 255\n  no_accept")).accept);
    assert!(only(&instance_with("  accept")).accept);
}

#[test]
fn track_src_ip_needs_a_source() {
    assert!(only(&instance_with("  mcast_src_ip 192.0.2.1\n  track_src_ip")).track_src_ip);
    let (i, diags) = warnings(&instance_with("  track_src_ip"));
    assert!(i.track_src_ip);
    assert_eq!(diags, vec!["/k.conf:4:3: warning: vrrp_instance VI_1 > track_src_ip: has no effect without unicast_src_ip / mcast_src_ip (as in keepalived)"]);
    assert_eq!(
        errors(&format!("global_defs {{\n  vrrp_mcast_group6 ff05::12\n}}\n{}", instance_with(""))),
        vec!["/k.conf:2:21: error: global_defs > vrrp_mcast_group6: 'ff05::12' is not an IPv6 link-local (ffX2::) multicast address"]
    );
}

// ---- routes, rules and static_* ------------------------------------------------------------------

fn routes_of(lines: &str) -> Vec<Route> {
    only(&instance_with(&format!(
        "  virtual_routes {{\n{lines}\n  }}"
    )))
    .routes
}

fn rules_of(lines: &str) -> Vec<Rule> {
    only(&instance_with(&format!(
        "  virtual_rules {{\n{lines}\n  }}"
    )))
    .rules
}

/// The errors of one `virtual_routes` line (it is line 5 of the file).
fn route_errors(line: &str) -> Vec<String> {
    errors(&instance_with(&format!(
        "  virtual_routes {{\n    {line}\n  }}"
    )))
}

fn rule_errors(line: &str) -> Vec<String> {
    errors(&instance_with(&format!(
        "  virtual_rules {{\n    {line}\n  }}"
    )))
}

fn prefix(text: &str) -> Prefix {
    let (addr, len) = text.split_once('/').unwrap();
    Prefix {
        addr: addr.parse().unwrap(),
        len: len.parse().unwrap(),
    }
}

#[test]
fn route_lines_take_keepalived_s_words_in_any_order() {
    let routes = routes_of(
        "    src 192.0.2.100 to 198.51.100.0/26 via 192.0.2.254 dev eth0 table 100 metric 5\n    198.51.100.64/26 dev eth0 scope link no_track protocol static\n    198.51.100.128/26 gw 192.0.2.254 priority 7 onlink table main\n    default via 192.0.2.254 table 300\n    198.51.100.1 via 192.0.2.254",
    );
    assert_eq!(routes.len(), 5);
    let r = &routes[0];
    assert_eq!(r.kind, RouteType::Unicast);
    assert_eq!(r.dst, prefix("198.51.100.0/26"));
    assert_eq!(r.src, Some("192.0.2.100".parse().unwrap()));
    assert_eq!(r.via, Some("192.0.2.254".parse().unwrap()));
    assert_eq!(r.dev.as_deref(), Some("eth0"));
    assert_eq!(
        (r.table, r.metric, r.protocol),
        (100, Some(5), PROTO_KEEPALIVED)
    );
    assert!(!r.onlink && !r.no_track);
    let r = &routes[1];
    assert_eq!(r.scope, Some(Scope::Link));
    // no_track: the protocol stays as given (static = 4).
    assert!(r.no_track);
    assert_eq!(r.protocol, 4);
    let r = &routes[2];
    assert_eq!((r.table, r.metric, r.onlink), (TABLE_MAIN, Some(7), true));
    assert_eq!(r.via, Some("192.0.2.254".parse().unwrap()));
    assert_eq!(routes[3].dst, prefix("0.0.0.0/0"));
    assert_eq!(routes[3].table, 300);
    assert_eq!(routes[4].dst, prefix("198.51.100.1/32"));
    assert_eq!(
        routes[0].to_string(),
        "198.51.100.0/26 via 192.0.2.254 dev eth0 table 100 src 192.0.2.100 metric 5"
    );
}

#[test]
fn route_types_and_ipv6_routes() {
    let routes = routes_of(
        "    blackhole 198.51.100.0/24\n    unreachable 198.51.100.0/25 table 5\n    prohibit 2001:db8:5::/48\n    throw 198.51.100.128/25 table 5\n    2001:db8:1::/48 via 2001:db8::fe dev eth0 metric 1024\n    default via 2001:db8::fe",
    );
    let kinds: Vec<RouteType> = routes.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RouteType::Blackhole,
            RouteType::Unreachable,
            RouteType::Prohibit,
            RouteType::Throw,
            RouteType::Unicast,
            RouteType::Unicast
        ]
    );
    assert_eq!(routes[2].family(), Family::V6);
    assert_eq!(routes[4].dst, prefix("2001:db8:1::/48"));
    assert_eq!(routes[4].metric, Some(1024));
    // `default` takes the family of its gateway.
    assert_eq!(routes[5].dst, prefix("::/0"));
    assert_eq!(routes[0].to_string(), "blackhole 198.51.100.0/24");
}

#[test]
fn a_tracked_route_gets_keepalived_s_protocol_with_a_warning() {
    let (instance, diags) = warnings(&instance_with(
        "  virtual_routes {\n    198.51.100.0/24 dev eth0 protocol bird\n    198.51.100.0/25 via 192.0.2.254 protocol 99\n  }",
    ));
    assert_eq!(instance.routes[0].protocol, PROTO_KEEPALIVED);
    // Without dev too (keepalived 2.2.7 installs it with protocol 18).
    assert_eq!(instance.routes[1].protocol, PROTO_KEEPALIVED);
    assert_eq!(
        diags,
        vec![
            "/k.conf:5:30: warning: vrrp_instance VI_1 > virtual_routes: protocol 12 becomes 18 (keepalived), as keepalived does for a route without 'no_track'; add no_track to keep protocol 12",
            "/k.conf:6:37: warning: vrrp_instance VI_1 > virtual_routes: protocol 99 becomes 18 (keepalived), as keepalived does for a route without 'no_track'; add no_track to keep protocol 99",
        ]
    );
}

#[test]
fn route_errors_name_the_word() {
    let ctx = "error: vrrp_instance VI_1 > virtual_routes:";
    assert_eq!(
        route_errors("198.51.100.0/24 nexthop via 192.0.2.254"),
        vec![format!(
            "/k.conf:5:21: {ctx} route option 'nexthop' is not supported by keepvip yet"
        )]
    );
    assert_eq!(
        route_errors("198.51.100.0/24 via 192.0.2.254 or 192.0.2.253"),
        vec![format!(
            "/k.conf:5:37: {ctx} route option 'or' is not supported by keepvip yet"
        )]
    );
    assert_eq!(
        route_errors("198.51.100.0/24 via 192.0.2.254 mtu 1400"),
        vec![format!(
            "/k.conf:5:37: {ctx} route option 'mtu' is not supported by keepvip yet"
        )]
    );
    assert_eq!(
        route_errors("198.51.100.0/24 via 192.0.2.254 metrc 5"),
        vec![format!(
            "/k.conf:5:37: {ctx} unknown route option 'metrc', did you mean 'metric'?"
        )]
    );
    assert_eq!(
        route_errors("198.51.100.1/24 via 192.0.2.254"),
        vec![format!("/k.conf:5:5: {ctx} 198.51.100.1/24 has host bits set (the kernel refuses such a route): write 198.51.100.0/24")]
    );
    assert_eq!(
        route_errors("src 192.0.2.100 default via 192.0.2.254 dev eth0"),
        vec![format!("/k.conf:5:21: {ctx} keepalived 2.2.7 refuses 'default' after 'src' (it mixes up the families): put 'default' first, or write 0.0.0.0/0")]
    );
    assert_eq!(
        route_errors("2001:db8:5::5/48 dev eth0"),
        vec![format!("/k.conf:5:5: {ctx} 2001:db8:5::5/48 has host bits set (the kernel would quietly route 2001:db8:5::/48): write 2001:db8:5::/48")]
    );
    assert_eq!(
        route_errors("198.51.100.0/24"),
        vec![format!("/k.conf:5:5: {ctx} the route to 198.51.100.0/24 needs 'via ADDRESS' or 'dev INTERFACE'")]
    );
    assert_eq!(
        route_errors("198.51.100.0/24 via 2001:db8::1"),
        vec![format!("/k.conf:5:25: {ctx} 2001:db8::1 is IPv6 but the route to 198.51.100.0/24 is IPv4: a route is one family")]
    );
    assert_eq!(
        route_errors("blackhole 198.51.100.0/24 via 192.0.2.254"),
        vec![format!(
            "/k.conf:5:5: {ctx} a blackhole route has no gateway: remove 'via'"
        )]
    );
    assert_eq!(
        route_errors("198.51.100.0/24 dev eth0 table wan"),
        vec![format!("/k.conf:5:36: {ctx} 'wan' is not a routing table: use 1-4294967295, main, local or default (keepvip does not read /etc/iproute2/rt_tables)")]
    );
    assert_eq!(
        route_errors("198.51.100.0/24 dev eth0 metric 1 priority 2"),
        vec![format!("/k.conf:5:39: {ctx} 'priority' is given twice")]
    );
    assert_eq!(
        route_errors("198.51.100.0/24 dev"),
        vec![format!("/k.conf:5:21: {ctx} 'dev' needs a value")]
    );
    assert_eq!(
        route_errors("via 192.0.2.254 dev eth0"),
        vec![format!("/k.conf:5:5: {ctx} no destination: a route needs 'PREFIX' (or 'to PREFIX', or 'default')")]
    );
    assert_eq!(
        route_errors("198.51.100.0/33 dev eth0"),
        vec![format!(
            "/k.conf:5:5: {ctx} '/33' is not a prefix length for IPv4: expected 0-32"
        )]
    );
    assert_eq!(
        route_errors("local 198.51.100.0/24 dev eth0"),
        vec![format!("/k.conf:5:5: {ctx} 'local' routes are not supported by keepvip: use unicast, blackhole, unreachable, prohibit or throw")]
    );
    assert_eq!(
        route_errors("198.51.100.0/24 dev eth0 protocol nonsense"),
        vec![format!("/k.conf:5:39: {ctx} 'nonsense' is not a route protocol: use 0-255 or a name of /etc/iproute2/rt_protos (static, kernel, boot, bird, zebra, keepalived ...)")]
    );
}

#[test]
fn rule_lines() {
    let rules = rules_of(
        "    from 192.0.2.100/32 table 100 priority 100\n    to 198.51.100.0/24 lookup 101 preference 101 no_track\n    iif eth0 oif eth1 table main priority 102\n    fwmark 0x10/0xff table 8 priority 103\n    fwmark 5 from all table 9 priority 104\n    from 2001:db8:1::/48 to 2001:db8:2::/48 table 100 priority 105",
    );
    assert_eq!(rules.len(), 6);
    assert_eq!(rules[0].from, Some(prefix("192.0.2.100/32")));
    assert_eq!((rules[0].table, rules[0].priority), (100, 100));
    assert_eq!(rules[0].family, Family::V4);
    assert_eq!(rules[1].to, Some(prefix("198.51.100.0/24")));
    assert!(rules[1].no_track);
    assert_eq!((rules[1].table, rules[1].priority), (101, 101));
    assert_eq!(rules[2].iif.as_deref(), Some("eth0"));
    assert_eq!(rules[2].oif.as_deref(), Some("eth1"));
    assert_eq!(rules[2].table, TABLE_MAIN);
    assert_eq!(rules[3].fwmark, Some((16, Some(255))));
    assert_eq!(rules[4].fwmark, Some((5, None)));
    assert_eq!(rules[4].from, None);
    assert_eq!(rules[5].family, Family::V6);
    assert_eq!(
        rules[3].to_string(),
        "103: from all fwmark 0x10/0xff lookup 8"
    );
}

#[test]
fn rule_errors_name_the_word() {
    let ctx = "error: vrrp_instance VI_1 > virtual_rules:";
    assert_eq!(
        rule_errors("from 198.51.100.0/24 table 100"),
        vec![format!("/k.conf:5:5: {ctx} the rule needs 'priority N': keepalived would pick 16384 (then 16383 ...) and warn that it is probably not what you want")]
    );
    assert_eq!(
        rule_errors("from 198.51.100.0/24 priority 100"),
        vec![format!("/k.conf:5:5: {ctx} the rule needs 'table N' (keepvip implements the lookup action only)")]
    );
    assert_eq!(
        rule_errors("from 198.51.100.0/24 table 1 prio 100"),
        vec![format!(
            "/k.conf:5:34: {ctx} unknown rule option 'prio' (one rule per line)"
        )]
    );
    assert_eq!(
        rule_errors("not from 198.51.100.0/24 table 1 priority 100"),
        vec![format!(
            "/k.conf:5:5: {ctx} rule option 'not' is not supported by keepvip yet"
        )]
    );
    assert_eq!(
        rule_errors("from 198.51.100.0/24 table 1 priority 100 goto 5"),
        vec![format!(
            "/k.conf:5:47: {ctx} rule option 'goto' is not supported by keepvip yet"
        )]
    );
    assert_eq!(
        rule_errors("from 198.51.100.0/24 to 2001:db8::/32 table 1 priority 100"),
        vec![format!(
            "/k.conf:5:29: {ctx} 2001:db8::/32 is IPv6 but this rule is IPv4: a rule is one family"
        )]
    );
    assert_eq!(
        rule_errors("fwmark 0xzz table 1 priority 100"),
        vec![format!("/k.conf:5:12: {ctx} '0xzz' is not a mark: expected MARK or MARK/MASK, decimal or 0x hexadecimal")]
    );
    assert_eq!(
        rule_errors("from 198.51.100.0/24 table 1 priority 100 table 2"),
        vec![format!("/k.conf:5:47: {ctx} 'table' is given twice")]
    );
}

#[test]
fn static_blocks_are_read_at_top_level() {
    let text = format!(
        "static_ipaddress {{\n  198.51.100.5/32 dev eth0 label eth0:st\n}}\nstatic_routes {{\n  198.51.100.0/26 via 192.0.2.254 dev eth0 table 100\n}}\nstatic_rules {{\n  from 198.51.100.0/24 table 100 priority 100\n}}\n{}",
        instance_with("")
    );
    let (config, diags) = run(&text);
    assert_eq!(diags, Vec::<String>::new());
    let statics = config.unwrap().statics;
    assert_eq!(statics.addresses.len(), 1);
    assert_eq!(statics.addresses[0].label.as_deref(), Some("eth0:st"));
    assert_eq!(statics.routes[0].table, 100);
    assert_eq!(statics.rules[0].priority, 100);
}

#[test]
fn static_errors() {
    let text = format!(
        "static_ipaddress {{\n  198.51.100.5/32\n  192.0.2.1/32 dev eth0\n}}\nstatic_routes 1 {{\n}}\nstatic_rules\n{}",
        instance_with("")
    );
    assert_eq!(
        errors(&text),
        vec![
            "/k.conf:2:3: error: static_ipaddress: 198.51.100.5 needs 'dev INTERFACE': a static address belongs to no instance",
            "/k.conf:3:3: error: static_ipaddress > 192.0.2.1: 192.0.2.1 is also a virtual address of VI_1 (at /k.conf:13:5): the instance would remove it on leaving MASTER",
            "/k.conf:5:15: error: static_routes: routes go inside the block, one per line",
            "/k.conf:7:1: error: static_rules: needs a '{ ... }' block of rules",
        ]
    );
}
