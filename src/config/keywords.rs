//! Which keepalived keywords keepvip understands, per block.
//!
//! Every keyword keepalived 2.2.x accepts in these blocks has a row. Moving a keyword from
//! [`Support::Unsupported`] to [`Support::Implemented`] means adding its handler in `build.rs`;
//! a test checks that every `Implemented` row has one.
//!
//! - `Implemented`: parsed into the model.
//! - `Ignored`: does not change VRRP behaviour (email, LVS, SNMP, process tuning ...): a warning
//!   saying so, nothing else.
//! - `Unsupported`: keepalived would behave differently with it and keepvip cannot yet: an
//!   error, so that nobody runs a configuration that silently means something else.

/// How keepvip treats a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    Implemented,
    /// With the reason given in the warning.
    Ignored(&'static str),
    Unsupported,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyword {
    pub name: &'static str,
    pub support: Support,
}

const fn imp(name: &'static str) -> Keyword {
    Keyword {
        name,
        support: Support::Implemented,
    }
}

const fn ign(name: &'static str, why: &'static str) -> Keyword {
    Keyword {
        name,
        support: Support::Ignored(why),
    }
}

const fn no(name: &'static str) -> Keyword {
    Keyword {
        name,
        support: Support::Unsupported,
    }
}

const LVS: &str = "keepvip does not do LVS or health checking";
const BFD: &str = "keepvip does not do BFD";
const EMAIL: &str = "keepvip sends no email; use notify scripts";
const SNMP: &str =
    "keepvip has no SNMP or D-Bus interface; use `keepvip status`, its Prometheus metrics, or the keepalived.data / .stats / .json dumps (SIGUSR1, SIGUSR2, SIGRTMIN+2)";
const ADDR_CHECK: &str =
    "keepvip never drops an advert for its address list (it counts addr_list_err)";
const PROCESS: &str = "keepalived process tuning; keepvip is a single process";
const BUFFERS: &str = "socket buffer tuning; keepvip re-reads state after a netlink overrun";
const DEBUG: &str = "keepalived debugging aid";

/// Top level.
pub const ROOT: &[Keyword] = &[
    imp("global_defs"),
    imp("vrrp_instance"),
    imp("vrrp_sync_group"),
    imp("vrrp_script"),
    imp("track_file"),
    imp("vrrp_track_file"),
    no("vrrp_track_process"),
    no("garp_group"),
    no("linkbeat_interfaces"),
    no("interface_up_down_delays"),
    no("track_group"),
    imp("static_ipaddress"),
    imp("static_routes"),
    imp("static_rules"),
    no("net_namespace"),
    no("linkbeat_use_polling"),
    ign("net_namespace_ipvs", LVS),
    ign("namespace_with_ipsets", PROCESS),
    ign("instance", "only names keepalived's pid files"),
    ign("use_pid_dir", "only places keepalived's pid files"),
    ign("child_wait_time", PROCESS),
    ign("virtual_server", LVS),
    ign("virtual_server_group", LVS),
    ign("real_server", LVS),
    ign("SSL", LVS),
    ign("HTTP_GET", LVS),
    ign("SSL_GET", LVS),
    ign("TCP_CHECK", LVS),
    ign("SMTP_CHECK", LVS),
    ign("DNS_CHECK", LVS),
    ign("MISC_CHECK", LVS),
    ign("BFD_CHECK", LVS),
    ign("PING_CHECK", LVS),
    ign("UDP_CHECK", LVS),
    ign("FILE_CHECK", LVS),
    ign("bfd_instance", BFD),
];

/// `global_defs { ... }`.
pub const GLOBAL_DEFS: &[Keyword] = &[
    imp("router_id"),
    imp("vrrp_version"),
    imp("vrrp_garp_master_delay"),
    imp("vrrp_garp_master_repeat"),
    imp("vrrp_garp_master_refresh"),
    imp("vrrp_garp_master_refresh_repeat"),
    imp("vrrp_lower_prio_no_advert"),
    imp("vrrp_higher_prio_send_advert"),
    imp("v3_checksum_as_v2"),
    imp("script_user"),
    imp("enable_script_security"),
    imp("vrrp_vip_lease"),
    imp("vrrp_garp_lower_prio_delay"),
    imp("vrrp_garp_lower_prio_repeat"),
    imp("vrrp_garp_interval"),
    imp("vrrp_gna_interval"),
    imp("vrrp_check_unicast_src"),
    imp("vmac_prefix"),
    imp("state_file_location"),
    imp("stats_file_location"),
    imp("json_file_location"),
    imp("json_version"),
    imp("vrrp_min_garp"),
    imp("vrrp_startup_delay"),
    imp("vrrp_down_timer_adverts"),
    imp("vrrp_mcast_group4"),
    imp("vrrp_mcast_group6"),
    imp("dynamic_interfaces"),
    imp("notify_fifo"),
    imp("notify_fifo_script"),
    imp("vrrp_notify_fifo"),
    imp("vrrp_notify_fifo_script"),
    imp("vrrp_notify_priority_changes"),
    imp("fifo_write_vrrp_states_on_reload"),
    imp("startup_script"),
    imp("startup_script_timeout"),
    imp("shutdown_script"),
    imp("shutdown_script_timeout"),
    // Change VRRP behaviour: errors until implemented.
    no("vrrp_garp_extra_if"),
    no("vrrp_iptables"),
    no("vrrp_ipsets"),
    no("nftables"),
    no("nftables_priority"),
    no("nftables_counters"),
    no("nftables_ifindex"),
    no("disable_local_igmp"),
    ign("vrrp_skip_check_adv_addr", ADDR_CHECK),
    no("vrrp_strict"),
    no("vmac_addr_prefix"),
    no("reload_time_file"),
    no("reload_repeat"),
    no("reload_file"),
    // Email.
    ign("notification_email", EMAIL),
    ign("notification_email_from", EMAIL),
    ign("smtp_server", EMAIL),
    ign("smtp_helo_name", EMAIL),
    ign("smtp_connect_timeout", EMAIL),
    ign("smtp_alert", EMAIL),
    ign("smtp_alert_vrrp", EMAIL),
    ign("smtp_alert_checker", EMAIL),
    ign("no_email_faults", EMAIL),
    // LVS and checkers.
    ign("lvs_sync_daemon", LVS),
    ign("lvs_timeouts", LVS),
    ign("lvs_flush", LVS),
    ign("lvs_flush_on_stop", LVS),
    ign("lvs_notify_fifo", LVS),
    ign("lvs_notify_fifo_script", LVS),
    ign("lvs_netlink_cmd_rcv_bufs", LVS),
    ign("lvs_netlink_cmd_rcv_bufs_force", LVS),
    ign("lvs_netlink_monitor_rcv_bufs", LVS),
    ign("lvs_netlink_monitor_rcv_bufs_force", LVS),
    ign("checker_log_all_failures", LVS),
    ign("checker_process_name", LVS),
    ign("checker_priority", LVS),
    ign("checker_no_swap", LVS),
    ign("checker_cpu_affinity", LVS),
    ign("checker_rt_priority", LVS),
    ign("checker_rlimit_rttime", LVS),
    ign("rs_init_notifies", LVS),
    ign("no_checker_emails", LVS),
    ign("nftables_ipvs", LVS),
    ign("nftables_ipvs_priority", LVS),
    ign("nftables_ipvs_start_fwmark", LVS),
    // BFD.
    ign("bfd_process_name", BFD),
    ign("bfd_priority", BFD),
    ign("bfd_no_swap", BFD),
    ign("bfd_cpu_affinity", BFD),
    ign("bfd_rt_priority", BFD),
    ign("bfd_rlimit_rttime", BFD),
    // SNMP and D-Bus.
    ign("snmp_socket", SNMP),
    ign("enable_snmp_vrrp", SNMP),
    ign("enable_snmp_keepalived", SNMP),
    ign("enable_snmp_checker", SNMP),
    ign("enable_snmp_rfc", SNMP),
    ign("enable_snmp_rfcv2", SNMP),
    ign("enable_snmp_rfcv3", SNMP),
    ign("enable_traps", SNMP),
    ign("enable_dbus", SNMP),
    ign("dbus_service_name", SNMP),
    // keepalived's processes, files and buffers.
    ign("process_names", PROCESS),
    ign("process_name", PROCESS),
    ign("vrrp_process_name", PROCESS),
    imp("vrrp_priority"),
    imp("vrrp_no_swap"),
    imp("vrrp_cpu_affinity"),
    imp("vrrp_rt_priority"),
    imp("vrrp_rlimit_rttime"),
    ign("max_auto_priority", PROCESS),
    ign("min_auto_priority_delay", PROCESS),
    ign("umask", PROCESS),
    ign("tmp_config_directory", PROCESS),
    ign("config_save_dir", DEBUG),
    ign("data_use_instance", DEBUG),
    ign("log_unknown_vrids", DEBUG),
    ign("random_seed", "only seeds ${_RANDOM}, which keepvip does not support"),
    ign("reload_check_config", "keepvip always checks a configuration before using it"),
    ign(
        "include_check",
        "keepvip always treats a missing literal include file as an error",
    ),
    ign(
        "default_interface",
        "only used by static addresses and interface-less unicast instances, which keepvip does not support",
    ),
    ign("vrrp_netlink_cmd_rcv_bufs", BUFFERS),
    ign("vrrp_netlink_cmd_rcv_bufs_force", BUFFERS),
    ign("vrrp_netlink_monitor_rcv_bufs", BUFFERS),
    ign("vrrp_netlink_monitor_rcv_bufs_force", BUFFERS),
    ign("process_monitor_rcv_bufs", BUFFERS),
    ign("process_monitor_rcv_bufs_force", BUFFERS),
    ign("vrrp_rx_bufs_policy", BUFFERS),
    ign("vrrp_rx_bufs_multiplier", BUFFERS),
];

/// `vrrp_instance NAME { ... }`.
pub const INSTANCE: &[Keyword] = &[
    imp("state"),
    imp("interface"),
    imp("virtual_router_id"),
    imp("priority"),
    imp("advert_int"),
    imp("version"),
    imp("nopreempt"),
    imp("preempt"),
    imp("preempt_delay"),
    imp("virtual_ipaddress"),
    imp("virtual_ipaddress_excluded"),
    imp("mcast_src_ip"),
    imp("accept"),
    imp("no_accept"),
    imp("garp_master_delay"),
    imp("garp_master_repeat"),
    imp("garp_master_refresh"),
    imp("garp_master_refresh_repeat"),
    imp("lower_prio_no_advert"),
    imp("higher_prio_send_advert"),
    imp("v3_checksum_as_v2"),
    imp("notify_master"),
    imp("notify_backup"),
    imp("notify_fault"),
    imp("notify_stop"),
    imp("notify"),
    imp("vip_lease"),
    imp("native_ipv6"),
    imp("garp_lower_prio_delay"),
    imp("garp_lower_prio_repeat"),
    // keepvip extensions: keepalived sets these only per interface, in a `garp_group`.
    imp("garp_interval"),
    imp("gna_interval"),
    imp("authentication"),
    imp("unicast_src_ip"),
    imp("unicast_peer"),
    imp("unicast_ttl"),
    imp("check_unicast_src"),
    imp("use_vmac"),
    imp("vmac_xmit_base"),
    no("use_vmac_addr"),
    no("use_ipvlan"),
    no("vrf"),
    imp("dont_track_primary"),
    imp("track_interface"),
    imp("track_script"),
    imp("track_file"),
    no("track_process"),
    no("track_bfd"),
    imp("track_src_ip"),
    imp("unicast_fault_no_peer"),
    no("mcast_dst_ip"),
    no("old_unicast_checksum"),
    no("garp_extra_if"),
    imp("down_timer_adverts"),
    imp("virtual_routes"),
    imp("virtual_rules"),
    imp("promote_secondaries"),
    ign("skip_check_adv_addr", ADDR_CHECK),
    no("strict_mode"),
    imp("notify_master_rx_lower_pri"),
    imp("notify_priority_changes"),
    imp("notify_deleted"),
    ign("smtp_alert", EMAIL),
    no("linkbeat_use_polling"),
    no("no_virtual_ipaddress"),
    ign("debug", "keepalived does not implement it either"),
    ign("kernel_rx_buf_size", BUFFERS),
];

/// `authentication { ... }` inside a `vrrp_instance` (VRRPv2 only).
pub const AUTHENTICATION: &[Keyword] = &[imp("auth_type"), imp("auth_pass")];
/// Options after an address in `unicast_peer { ... }`.
pub const UNICAST_PEER_OPTIONS: &[Keyword] = &[imp("min_ttl"), imp("max_ttl")];

/// Options after an address in `virtual_ipaddress` / `virtual_ipaddress_excluded`.
pub const VIP_OPTIONS: &[Keyword] = &[
    imp("brd"),
    imp("dev"),
    imp("scope"),
    imp("label"),
    imp("home"),
    imp("-nodad"),
    imp("mngtmpaddr"),
    imp("noprefixroute"),
    imp("preferred_lft"),
    imp("no_track"),
    no("use_vmac"),
    no("peer"),
    no("autojoin"),
    no("track_group"),
];

/// Words of a `virtual_routes` / `static_routes` line (after the optional leading type:
/// `blackhole`, `unreachable`, `prohibit`, `throw`).
pub const ROUTE_OPTIONS: &[Keyword] = &[
    imp("src"),
    imp("to"),
    imp("via"),
    imp("gw"),
    imp("dev"),
    imp("scope"),
    imp("table"),
    imp("metric"),
    imp("priority"),
    imp("preference"),
    imp("protocol"),
    imp("onlink"),
    imp("no_track"),
    no("or"),
    no("nexthop"),
    no("inet6"),
    no("append"),
    no("tos"),
    no("dsfield"),
    no("mtu"),
    no("hoplimit"),
    no("advmss"),
    no("rtt"),
    no("rttvar"),
    no("reordering"),
    no("window"),
    no("cwnd"),
    no("ssthresh"),
    no("realms"),
    no("rto_min"),
    no("initcwnd"),
    no("initrwnd"),
    no("features"),
    no("quickack"),
    no("congctl"),
    no("pref"),
    no("fastopen_no_cookie"),
    no("ttl-propagate"),
    no("encap"),
    no("expires"),
    no("vrf"),
    no("track_group"),
];

/// Words of a `virtual_rules` / `static_rules` line.
pub const RULE_OPTIONS: &[Keyword] = &[
    imp("from"),
    imp("to"),
    imp("table"),
    imp("lookup"),
    imp("priority"),
    imp("preference"),
    imp("iif"),
    imp("oif"),
    imp("fwmark"),
    imp("no_track"),
    no("not"),
    no("inet6"),
    no("tos"),
    no("dsfield"),
    no("realms"),
    no("goto"),
    no("nop"),
    no("blackhole"),
    no("unreachable"),
    no("prohibit"),
    no("suppress_prefixlength"),
    no("suppress_ifgroup"),
    no("uidrange"),
    no("l3mdev"),
    no("protocol"),
    no("ip_proto"),
    no("sport"),
    no("dport"),
    no("tun_id"),
    no("track_group"),
];

/// `vrrp_script NAME { ... }`.
pub const VRRP_SCRIPT: &[Keyword] = &[
    imp("script"),
    imp("interval"),
    imp("timeout"),
    imp("weight"),
    imp("rise"),
    imp("fall"),
    imp("user"),
    imp("init_fail"),
];

/// `track_file NAME { ... }` and its deprecated synonym `vrrp_track_file`.
pub const TRACK_FILE: &[Keyword] = &[imp("file"), imp("weight"), imp("init_file")];

/// `vrrp_sync_group NAME { ... }`.
pub const SYNC_GROUP: &[Keyword] = &[
    imp("group"),
    imp("notify_master"),
    imp("notify_backup"),
    imp("notify_fault"),
    imp("notify_stop"),
    imp("notify"),
    imp("track_interface"),
    imp("track_script"),
    imp("track_file"),
    imp("sync_group_tracking_weight"),
    imp("global_tracking"),
    no("track_process"),
    no("track_bfd"),
    no("notify_deleted"),
    no("notify_priority_changes"),
    ign("smtp_alert", EMAIL),
];

pub fn lookup(table: &'static [Keyword], name: &str) -> Option<Keyword> {
    table.iter().copied().find(|k| k.name == name)
}

/// The keyword of `table` closest to `word`, if it is close enough to be a likely typo.
pub fn suggest(table: &'static [Keyword], word: &str) -> Option<&'static str> {
    let len = word.chars().count();
    let limit = (len / 3).clamp(1, 3);
    let counts = AsciiCounts::of(word);
    table
        .iter()
        // The distance is at least the difference in length: skip the rest unmeasured (a long
        // word, say from a substitution, would cost its length times each keyword's).
        .filter(|k| k.name.chars().count().abs_diff(len) <= limit)
        // So is the difference in which characters they hold: a cheap count that spares the
        // table for almost every word that is not a typo.
        .filter(|k| counts.bag_distance(k.name) <= limit)
        .filter_map(|k| Some((edit_distance_at_most(word, k.name, limit)?, k.name)))
        .min_by_key(|&(d, _)| d)
        .map(|(_, name)| name)
}

/// How often each ASCII character occurs in a string, and how many ASCII characters it has.
struct AsciiCounts {
    counts: [u32; 128],
    total: usize,
}

impl AsciiCounts {
    fn of(text: &str) -> AsciiCounts {
        let mut counts = [0u32; 128];
        let mut total = 0;
        for c in text.chars() {
            if let Some(n) = counts.get_mut(c as usize) {
                *n = n.saturating_add(1);
                total += 1;
            }
        }
        AsciiCounts { counts, total }
    }

    /// A lower bound of [`edit_distance`] to `other`: how many characters one string holds
    /// that the other lacks, counted with repetition (the larger of the two counts). Each edit
    /// changes either count by at most one; a transposition changes neither. Over the ASCII
    /// characters only: leaving the same characters out of both strings never makes their
    /// distance larger, so the bound holds. Costs a pass over `other` only.
    fn bag_distance(&self, other: &str) -> usize {
        let mut left = self.counts;
        let (mut other_total, mut other_only) = (0usize, 0usize);
        for c in other.chars() {
            if let Some(n) = left.get_mut(c as usize) {
                other_total += 1;
                match n.checked_sub(1) {
                    Some(rest) => *n = rest,
                    None => other_only += 1,
                }
            }
        }
        let shared = other_total - other_only;
        self.total.saturating_sub(shared).max(other_only)
    }
}

/// [`edit_distance`] if it is at most `limit`, else `None`; gives up as soon as two rows of the
/// table exceed the limit (every later cell is built from them plus something), so that
/// measuring a word against every keyword costs little when nothing is close. (Fuzzing the
/// configuration spent most of its time here.)
pub fn edit_distance_at_most(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // Rows i-2, i-1 and i of the table, rolled.
    let mut rows = [
        vec![0usize; width],
        (0..width).collect(),
        vec![0usize; width],
    ];
    let mut previous_min = 0;
    for i in 1..=a.len() {
        let [before, above, row] = &mut rows;
        let mut row_min = i;
        if let Some(first) = row.first_mut() {
            *first = i;
        }
        for j in 1..width {
            let get = |r: &[usize], j: usize| r.get(j).copied().unwrap_or(usize::MAX / 2);
            let same = a.get(i - 1) == b.get(j - 1);
            let mut best = (get(above, j) + 1)
                .min(get(row, j - 1) + 1)
                .min(get(above, j - 1) + usize::from(!same));
            if i > 1 && j > 1 && a.get(i - 1) == b.get(j - 2) && a.get(i - 2) == b.get(j - 1) {
                best = best.min(get(before, j - 2) + 1);
            }
            if let Some(cell) = row.get_mut(j) {
                *cell = best;
            }
            row_min = row_min.min(best);
        }
        if row_min > limit && previous_min > limit {
            return None;
        }
        previous_min = row_min;
        rows.rotate_left(1);
    }
    // After the last rotation the last row computed is the middle one.
    let distance = rows[1].get(b.len()).copied().unwrap_or(0);
    (distance <= limit).then_some(distance)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions each cost 1.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        if let Some(cell) = d.get_mut(at(i, 0)) {
            *cell = i;
        }
    }
    for j in 0..=b.len() {
        if let Some(cell) = d.get_mut(at(0, j)) {
            *cell = j;
        }
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let get = |i: usize, j: usize| d.get(at(i, j)).copied().unwrap_or(usize::MAX / 2);
            let same = a.get(i - 1) == b.get(j - 1);
            let mut best = (get(i - 1, j) + 1)
                .min(get(i, j - 1) + 1)
                .min(get(i - 1, j - 1) + usize::from(!same));
            if i > 1 && j > 1 && a.get(i - 1) == b.get(j - 2) && a.get(i - 2) == b.get(j - 1) {
                best = best.min(get(i - 2, j - 2) + 1);
            }
            if let Some(cell) = d.get_mut(at(i, j)) {
                *cell = best;
            }
        }
    }
    d.get(at(a.len(), b.len())).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("priorty", "priority"), 1);
        assert_eq!(edit_distance("prioirty", "priority"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn bounded_distance_agrees_with_the_full_one() {
        let words = [
            "",
            "a",
            "ab",
            "ba",
            "abc",
            "priorty",
            "prioirty",
            "priority",
            "kitten",
            "sitting",
            "virtual_ipadress",
            "virtual_ipaddress",
            "xyzzy",
            "advert_itn",
            "advert_int",
            "é",
            "aé",
            "priorité",
            "aab",
            "abb",
        ];
        for a in words {
            for b in words {
                let d = edit_distance(a, b);
                let bag = AsciiCounts::of(a).bag_distance(b);
                assert!(bag <= d, "{a:?} {b:?}");
                assert_eq!(bag, AsciiCounts::of(b).bag_distance(a), "{a:?} {b:?}");
                for limit in 0..=4 {
                    let bounded = edit_distance_at_most(a, b, limit);
                    assert_eq!(bounded, (d <= limit).then_some(d), "{a:?} {b:?} {limit}");
                }
            }
        }
    }

    #[test]
    fn suggestions_come_from_the_right_table() {
        assert_eq!(suggest(INSTANCE, "priorty"), Some("priority"));
        assert_eq!(
            suggest(INSTANCE, "virtual_ipadress"),
            Some("virtual_ipaddress")
        );
        assert_eq!(suggest(INSTANCE, "advert_itn"), Some("advert_int"));
        assert_eq!(suggest(GLOBAL_DEFS, "router-id"), Some("router_id"));
        assert_eq!(suggest(ROOT, "vrrp_instanse"), Some("vrrp_instance"));
        assert_eq!(suggest(INSTANCE, "completely_unrelated"), None);
        assert_eq!(suggest(INSTANCE, "priorité"), Some("priority"));
    }

    #[test]
    fn no_keyword_is_listed_twice() {
        for table in [
            ROOT,
            GLOBAL_DEFS,
            INSTANCE,
            AUTHENTICATION,
            VIP_OPTIONS,
            ROUTE_OPTIONS,
            RULE_OPTIONS,
            UNICAST_PEER_OPTIONS,
            VRRP_SCRIPT,
            TRACK_FILE,
            SYNC_GROUP,
        ] {
            let mut names: Vec<&str> = table.iter().map(|k| k.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len());
        }
    }
}
