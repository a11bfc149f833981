//! From the statement tree to the model: keyword dispatch by the tables in `keywords`, argument
//! parsing, keepalived's defaults and fix-ups, and the checks that need the whole picture
//! (family, version, duplicate names and VRIDs).
//!
//! Per-instance values are collected into a draft first and resolved once every `global_defs`
//! block has been read, as keepalived resolves them after reading everything.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::time::Duration;

use super::diag::{locate, Diags, Span};
use super::keywords::{self, Keyword, Support};
use super::model::{
    Broadcast, Config, Fifo, Garp, GlobalDefs, InitialState, Instance, Notify, NotifyScript, Route,
    Rule, Scope, ScriptUser, Statics, Vip, VipFlags, VipLease, Vmac,
};
use super::source::SourceMap;
use super::tree::Statement;
use super::values::{
    interface_name_problem, parse_decimal_micros, parse_scope, parse_uint, NumError,
    MAX_IFNAME_BYTES,
};
use super::vmac::{parse_vmac_mac, vmac_prefix_problem, MacSpec};
use crate::argv::{split_command, SplitError};
use crate::wire::{Centis, Family, Version};

mod routes;
mod unicast;

const MICROS_PER_SEC: u64 = 1_000_000;
const MICROS_PER_CENTI: u64 = 10_000;
/// keepalived's limit for `garp_master_delay`: UINT_MAX microseconds, in whole seconds.
const MAX_GARP_DELAY_SECS: u64 = 4294;
const MAX_PREEMPT_DELAY_SECS: u64 = 1000;
/// `vrrp_startup_delay`: an hour is already far beyond any boot.
const MAX_STARTUP_DELAY_SECS: u64 = 3600;
/// The kernel reads 0xffffffff as "forever"; a lease must be finite.
const MAX_VIP_LEASE_SECS: u64 = u32::MAX as u64 - 1;
/// The count field of an advert is 8 bits wide.
const MAX_VIPS: usize = 255;
/// keepalived reads `garp_lower_prio_repeat` as a C int.
const MAX_LOWER_PRIO_REPEAT: u64 = i32::MAX as u64;
/// `vrrp_cpu_affinity`: CPU numbers below this (the kernel's CPU_SETSIZE).
const MAX_CPUS: usize = 1024;
/// The v2 authentication data field.
const AUTH_PASS_BYTES: usize = 8;

mod track;
use track::{TrackBuilder, TrackDraft};

pub(crate) fn build(root: &[Statement], sources: &SourceMap, diags: &mut Diags) -> Config {
    let mut builder = Builder {
        sources,
        diags,
        global: GlobalDefs::default(),
        global_version: None,
        global_seen: HashMap::new(),
        hints: HashMap::new(),
        drafts: Vec::new(),
        saw_instance: false,
        track: TrackBuilder::default(),
        statics: Statics::default(),
    };
    builder.root(root);
    // keepalived: unset vrrp_garp_lower_prio_* take the global master values, whatever the order.
    if !builder
        .global_seen
        .contains_key("vrrp_garp_lower_prio_delay")
    {
        builder.global.garp.lower_prio_delay = builder.global.garp.master_delay;
    }
    if !builder
        .global_seen
        .contains_key("vrrp_garp_lower_prio_repeat")
    {
        builder.global.garp.lower_prio_repeat = builder.global.garp.master_repeat;
    }
    let drafts = std::mem::take(&mut builder.drafts);
    let instance_names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
    if !builder.saw_instance {
        builder.diags.warning(
            None,
            &[],
            "no vrrp_instance is configured: keepvip has nothing to do",
        );
    }
    let mut instances: Vec<Instance> = drafts
        .into_iter()
        .filter_map(|d| builder.resolve(d))
        .collect();
    builder.cross_checks(&instances);
    builder.vmac_cross_checks(&instances);
    builder.static_cross_checks(&instances);
    let tracking = builder.finish_tracking(&mut instances, &instance_names);
    Config {
        global: builder.global,
        instances,
        scripts: tracking.scripts,
        track_files: tracking.files,
        sync_groups: tracking.groups,
        statics: std::mem::take(&mut builder.statics),
        files: sources.paths(),
    }
}

/// What an instance block said, before defaults and cross-checks.
struct Draft {
    name: String,
    span: Span,
    state: Option<(InitialState, Span)>,
    interface: Option<(String, Span)>,
    vrid: Option<(u8, Span)>,
    priority: Option<(u8, Span)>,
    /// Microseconds, as written, where.
    advert: Option<(u64, String, Span)>,
    version: Option<(Version, Span)>,
    /// Set by `preempt` (true) / `nopreempt` (false); the last wins.
    preempt: Option<(bool, Span)>,
    preempt_delay: Option<(u64, Span)>,
    vips: Vec<Vip>,
    /// Where the `virtual_ipaddress` blocks open, for "empty" messages.
    vip_blocks: Vec<Span>,
    /// Address lines seen in those blocks, valid or not.
    vip_lines: usize,
    excluded_vips: Vec<Vip>,
    mcast_src_ip: Option<(IpAddr, Span)>,
    accept: Option<(bool, Span)>,
    garp_delay: Option<Option<Duration>>,
    garp_repeat: Option<u32>,
    garp_refresh: Option<Option<Duration>>,
    garp_refresh_repeat: Option<u32>,
    lower_prio_no_advert: Option<bool>,
    higher_prio_send_advert: Option<bool>,
    notify_priority_changes: Option<bool>,
    /// `unicast_fault_no_peer`, and whether it applies (unicast keywords, no peer).
    unicast_fault_no_peer: Option<Span>,
    no_peer_fault: bool,
    notify_deleted: Option<Option<NotifyScript>>,
    down_timer_adverts: Option<u8>,
    promote_secondaries: bool,
    track_src_ip: Option<Span>,
    v3_checksum_as_v2: Option<bool>,
    notify: Notify,
    vip_lease: Option<VipLease>,
    native_ipv6: Option<Span>,
    garp_lower_prio_delay: Option<Option<Duration>>,
    garp_lower_prio_repeat: Option<u32>,
    garp_interval: Option<Duration>,
    gna_interval: Option<Duration>,
    /// The password and where the `authentication` block is.
    auth: Option<([u8; AUTH_PASS_BYTES], Span)>,
    unicast: unicast::UnicastDraft,
    track: TrackDraft,
    /// `use_vmac`: the name and MAC given, if any, and the keyword.
    vmac: Option<(Option<String>, Option<MacSpec>, Span)>,
    vmac_xmit_base: Option<Span>,
    /// `virtual_routes`, `virtual_rules`.
    routes: Vec<Route>,
    rules: Vec<Rule>,
    seen: HashMap<String, Span>,
}

impl Draft {
    fn new(name: String, span: Span) -> Draft {
        Draft {
            name,
            span,
            state: None,
            interface: None,
            vrid: None,
            priority: None,
            advert: None,
            version: None,
            preempt: None,
            preempt_delay: None,
            vips: Vec::new(),
            vip_blocks: Vec::new(),
            vip_lines: 0,
            excluded_vips: Vec::new(),
            mcast_src_ip: None,
            accept: None,
            garp_delay: None,
            garp_repeat: None,
            garp_refresh: None,
            garp_refresh_repeat: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            notify_priority_changes: None,
            unicast_fault_no_peer: None,
            no_peer_fault: false,
            notify_deleted: None,
            down_timer_adverts: None,
            promote_secondaries: false,
            track_src_ip: None,
            v3_checksum_as_v2: None,
            notify: Notify::default(),
            vip_lease: None,
            native_ipv6: None,
            garp_lower_prio_delay: None,
            garp_lower_prio_repeat: None,
            garp_interval: None,
            gna_interval: None,
            auth: None,
            unicast: unicast::UnicastDraft::default(),
            track: TrackDraft::default(),
            vmac: None,
            vmac_xmit_base: None,
            routes: Vec::new(),
            rules: Vec::new(),
            seen: HashMap::new(),
        }
    }
}

struct Builder<'a> {
    sources: &'a SourceMap,
    diags: &'a mut Diags,
    global: GlobalDefs,
    /// Where `vrrp_version` was set, if it was.
    global_version: Option<Span>,
    global_seen: HashMap<String, Span>,
    /// "Did you mean" hints already worked out, by table and unknown word: a generator can
    /// repeat one unknown keyword thousands of times (fuzz/config found a file spending
    /// minutes on the same hint).
    hints: HashMap<(usize, String), Option<&'static str>>,
    drafts: Vec<Draft>,
    /// A `vrrp_instance` statement was seen, valid or not.
    saw_instance: bool,
    /// `vrrp_script`, `track_file`, `vrrp_sync_group` blocks.
    track: TrackBuilder,
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    statics: Statics,
}

/// Stores a parsed value; `None` means the parser already reported why there is none.
fn set<T>(value: Option<T>, slot: &mut T) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn with(ctx: &[String], step: &str) -> Vec<String> {
    let mut out = ctx.to_vec();
    out.push(step.to_string());
    out
}

fn first_arg(st: &Statement) -> &str {
    st.args.first().map_or("", |a| a.text.as_str())
}

fn first_arg_span(st: &Statement) -> Span {
    st.args.first().map_or(st.keyword.span, |a| a.span)
}

impl Builder<'_> {
    fn loc(&self, span: Span) -> String {
        locate(&self.sources.paths(), span).to_string()
    }

    fn err(&mut self, span: Span, ctx: &[String], message: impl Into<String>) {
        self.diags.error(Some(span), ctx, message);
    }

    fn warn(&mut self, span: Span, ctx: &[String], message: impl Into<String>) {
        self.diags.warning(Some(span), ctx, message);
    }

    // ---- generic checks ------------------------------------------------------------------

    /// Reports keywords that are not implemented. Returns true if `st` is to be handled.
    fn classify(&mut self, st: &Statement, ctx: &[String], table: &'static [Keyword]) -> bool {
        let kw = st.keyword.text.as_str();
        let here = with(ctx, kw);
        match keywords::lookup(table, kw) {
            None => {
                let key = (table.as_ptr() as usize, kw.to_string());
                let hint = *self
                    .hints
                    .entry(key)
                    .or_insert_with(|| keywords::suggest(table, kw));
                let message = match hint {
                    Some(s) => format!("unknown keyword, did you mean '{s}'?"),
                    None => "unknown keyword".to_string(),
                };
                self.err(st.keyword.span, &here, message);
                false
            }
            Some(Keyword {
                support: Support::Ignored(why),
                ..
            }) => {
                let what = if st.block.is_some() {
                    "block ignored"
                } else {
                    "ignored"
                };
                self.warn(st.keyword.span, &here, format!("{what}: {why}"));
                false
            }
            Some(Keyword {
                support: Support::Unsupported,
                ..
            }) => {
                self.err(st.keyword.span, &here, "not supported by keepvip yet");
                false
            }
            Some(Keyword {
                support: Support::Implemented,
                ..
            }) => true,
        }
    }

    /// Argument count in `range`, else an error quoting `usage`.
    fn arity(
        &mut self,
        st: &Statement,
        ctx: &[String],
        range: RangeInclusive<usize>,
        usage: &str,
    ) -> bool {
        let n = st.args.len();
        if range.contains(&n) {
            return true;
        }
        let message = if n < *range.start() {
            format!("missing value: expected '{usage}'")
        } else {
            format!(
                "too many arguments: expected '{usage}', got {n} argument{}",
                if n == 1 { "" } else { "s" }
            )
        };
        let span = st
            .args
            .get(*range.end())
            .map_or(st.keyword.span, |a| a.span);
        self.err(span, ctx, message);
        false
    }

    /// A keyword that takes no block; reports one if present.
    fn no_block(&mut self, st: &Statement, ctx: &[String]) -> bool {
        match &st.block {
            Some(block) => {
                self.err(block.open, ctx, "takes no '{ ... }' block");
                false
            }
            None => true,
        }
    }

    fn simple(
        &mut self,
        st: &Statement,
        ctx: &[String],
        range: RangeInclusive<usize>,
        usage: &str,
    ) -> bool {
        let block_ok = self.no_block(st, ctx);
        if *range.end() == 0 && !st.args.is_empty() {
            // A flag with a word after it: keepalived reads no value there and ignores it.
            self.ignored_words_after_flag(st, ctx);
            return block_ok;
        }
        self.arity(st, ctx, range, usage) && block_ok
    }

    fn ignored_words_after_flag(&mut self, st: &Statement, ctx: &[String]) {
        let kw = &st.keyword.text;
        let words: Vec<&str> = st.args.iter().map(|a| a.text.as_str()).collect();
        let words = words.join(" ");
        let negative = st
            .args
            .iter()
            .any(|a| matches!(a.text.as_str(), "off" | "false" | "no" | "0" | "disabled"));
        let message = if negative {
            format!(
                "'{words}' is ignored, as keepalived ignores it: '{kw}' takes no value and is in effect; remove the keyword to turn it off"
            )
        } else {
            format!("'{words}' is ignored, as keepalived ignores it: '{kw}' takes no value")
        };
        let span = first_arg_span(st);
        self.warn(span, ctx, message);
    }

    fn uint(
        &mut self,
        st: &Statement,
        ctx: &[String],
        range: RangeInclusive<u64>,
        expected: &str,
    ) -> Option<u64> {
        let text = first_arg(st);
        let span = first_arg_span(st);
        match parse_uint(text) {
            Ok(v) if range.contains(&v) => Some(v),
            Ok(_) | Err(NumError::TooLarge) => {
                self.err(
                    span,
                    ctx,
                    format!("{} is out of range: expected {expected}", text.trim()),
                );
                None
            }
            Err(NumError::Negative) => {
                self.err(
                    span,
                    ctx,
                    format!("'{text}' is negative: expected {expected}"),
                );
                None
            }
            Err(_) => {
                self.err(
                    span,
                    ctx,
                    format!("'{text}' is not a whole number: expected {expected}"),
                );
                None
            }
        }
    }

    /// Seconds with up to six decimals, in microseconds.
    fn seconds(&mut self, st: &Statement, ctx: &[String], expected: &str) -> Option<u64> {
        let text = first_arg(st);
        let span = first_arg_span(st);
        match parse_decimal_micros(text) {
            Ok(v) => Some(v),
            Err(NumError::Negative) => {
                self.err(
                    span,
                    ctx,
                    format!("'{text}' is negative: expected {expected}"),
                );
                None
            }
            Err(NumError::TooPrecise) => {
                self.err(
                    span,
                    ctx,
                    format!("'{text}' has more than 6 decimals: expected {expected}"),
                );
                None
            }
            Err(NumError::TooLarge) => {
                self.err(
                    span,
                    ctx,
                    format!("{text} is out of range: expected {expected}"),
                );
                None
            }
            Err(NumError::NotNumber) => {
                self.err(
                    span,
                    ctx,
                    format!("'{text}' is not a number: expected {expected}"),
                );
                None
            }
        }
    }

    /// A keepalived flag that keepvip lets take `[BOOL]` as well (`enable_script_security off`):
    /// a word that is not a boolean is ignored with a warning, as keepalived ignores it.
    fn flag_or_boolean(&mut self, st: &Statement, ctx: &[String], kw: &str) -> Option<bool> {
        match st.args.first().map(|a| a.text.as_str()) {
            Some("on" | "true" | "yes" | "off" | "false" | "no") | None => {
                self.boolean(st, ctx, kw)
            }
            Some(_) => {
                let block_ok = self.no_block(st, ctx);
                self.ignored_words_after_flag(st, ctx);
                block_ok.then_some(true)
            }
        }
    }

    /// `KEYWORD [BOOL]`: no argument means true.
    fn boolean(&mut self, st: &Statement, ctx: &[String], kw: &str) -> Option<bool> {
        if !self.simple(st, ctx, 0..=1, &format!("{kw} [on|off]")) {
            return None;
        }
        let Some(arg) = st.args.first() else {
            return Some(true);
        };
        match arg.text.as_str() {
            "on" | "true" | "yes" => Some(true),
            "off" | "false" | "no" => Some(false),
            other => {
                self.err(
                    arg.span,
                    ctx,
                    format!("'{other}' is not a boolean: use on/off, true/false or yes/no"),
                );
                None
            }
        }
    }

    fn interface_name(&mut self, text: &str, span: Span, ctx: &[String]) -> bool {
        match interface_name_problem(text) {
            None => true,
            Some(problem) => {
                self.err(
                    span,
                    ctx,
                    format!("'{text}' is not a valid interface name: {problem}"),
                );
                false
            }
        }
    }

    // ---- top level -----------------------------------------------------------------------

    fn root(&mut self, statements: &[Statement]) {
        for st in statements {
            if !self.classify(st, &[], keywords::ROOT) {
                continue;
            }
            match st.keyword.text.as_str() {
                "global_defs" => self.global_defs(st),
                "vrrp_instance" => self.instance(st),
                "vrrp_script" => self.vrrp_script(st),
                "track_file" | "vrrp_track_file" => self.track_file_block(st),
                "vrrp_sync_group" => self.sync_group(st),
                "static_ipaddress" | "static_routes" | "static_rules" => self.static_block(st),
                _ => self.unhandled(st, &[]),
            }
        }
    }

    /// A keyword marked implemented in `keywords` without a handler here: a keepvip bug.
    fn unhandled(&mut self, st: &Statement, ctx: &[String]) {
        self.err(
            st.keyword.span,
            &with(ctx, &st.keyword.text),
            "keepvip bug: keyword listed as implemented has no handler",
        );
    }

    // ---- global_defs ---------------------------------------------------------------------

    fn global_defs(&mut self, st: &Statement) {
        let ctx = vec!["global_defs".to_string()];
        if let Some(arg) = st.args.first() {
            self.err(arg.span, &ctx, "takes no arguments: 'global_defs { ... }'");
        }
        let Some(block) = &st.block else {
            self.err(st.keyword.span, &ctx, "needs a '{ ... }' block");
            return;
        };
        for item in &block.items {
            if !self.classify(item, &ctx, keywords::GLOBAL_DEFS) {
                continue;
            }
            let kw = item.keyword.text.clone();
            let here = with(&ctx, &kw);
            if let Some(previous) = self.global_seen.insert(kw.clone(), item.keyword.span) {
                let at = self.loc(previous);
                self.warn(
                    item.keyword.span,
                    &here,
                    format!("set again: this replaces the setting at {at}"),
                );
            }
            self.global_keyword(item, &here);
        }
    }

    fn global_keyword(&mut self, st: &Statement, ctx: &[String]) {
        match st.keyword.text.as_str() {
            "router_id" => {
                if self.simple(st, ctx, 1..=1, "router_id NAME") {
                    self.global.router_id = Some(first_arg(st).to_string());
                }
            }
            "vrrp_version" => {
                if let Some(v) = self.version_arg(st, ctx, "vrrp_version 2|3") {
                    self.global.vrrp_version = v;
                    self.global_version = Some(st.keyword.span);
                }
            }
            "vrrp_garp_master_delay" => set(
                self.garp_delay(st, ctx, "vrrp_garp_master_delay"),
                &mut self.global.garp.master_delay,
            ),
            "vrrp_garp_master_repeat" => set(
                self.garp_count(st, ctx, "vrrp_garp_master_repeat"),
                &mut self.global.garp.master_repeat,
            ),
            "vrrp_garp_master_refresh" => set(
                self.garp_refresh(st, ctx, "vrrp_garp_master_refresh"),
                &mut self.global.garp.master_refresh,
            ),
            "vrrp_garp_master_refresh_repeat" => set(
                self.garp_count(st, ctx, "vrrp_garp_master_refresh_repeat"),
                &mut self.global.garp.master_refresh_repeat,
            ),
            "vrrp_lower_prio_no_advert" => set(
                self.boolean(st, ctx, "vrrp_lower_prio_no_advert"),
                &mut self.global.lower_prio_no_advert,
            ),
            "vrrp_higher_prio_send_advert" => set(
                self.boolean(st, ctx, "vrrp_higher_prio_send_advert"),
                &mut self.global.higher_prio_send_advert,
            ),
            "v3_checksum_as_v2" => {
                if let Some(b) = self.boolean(st, ctx, "v3_checksum_as_v2") {
                    self.global.v3_checksum_as_v2 = b;
                }
            }
            "script_user" => {
                if self.simple(st, ctx, 1..=2, "script_user USER [GROUP]") {
                    self.global.script_user = Some(ScriptUser {
                        user: first_arg(st).to_string(),
                        group: st.args.get(1).map(|a| a.text.clone()),
                    });
                }
            }
            "enable_script_security" => set(
                self.flag_or_boolean(st, ctx, "enable_script_security"),
                &mut self.global.script_security,
            ),
            "vrrp_vip_lease" => set(
                self.vip_lease(st, ctx, "vrrp_vip_lease").map(Some),
                &mut self.global.vip_lease,
            ),
            "vrrp_garp_lower_prio_delay" => set(
                self.garp_delay(st, ctx, "vrrp_garp_lower_prio_delay"),
                &mut self.global.garp.lower_prio_delay,
            ),
            "vrrp_garp_lower_prio_repeat" => set(
                self.lower_prio_count(st, ctx, "vrrp_garp_lower_prio_repeat"),
                &mut self.global.garp.lower_prio_repeat,
            ),
            "vrrp_garp_interval" => set(
                self.announce_interval(st, ctx, "vrrp_garp_interval"),
                &mut self.global.garp.interval,
            ),
            "vrrp_gna_interval" => set(
                self.announce_interval(st, ctx, "vrrp_gna_interval"),
                &mut self.global.garp.gna_interval,
            ),
            "vrrp_check_unicast_src" => set(
                self.flag_or_boolean(st, ctx, "vrrp_check_unicast_src"),
                &mut self.global.check_unicast_src,
            ),
            "vrrp_priority" => {
                if self.simple(st, ctx, 1..=1, "vrrp_priority -20..19") {
                    let text = first_arg(st);
                    match text.parse::<i8>() {
                        Ok(nice) if (-20..=19).contains(&nice) => {
                            self.global.process.nice = Some(nice)
                        }
                        _ => self.err(
                            first_arg_span(st),
                            ctx,
                            format!(
                                "'{text}' is not a nice value: expected a whole number from -20 \
                                 (most favoured) to 19"
                            ),
                        ),
                    }
                }
            }
            "vrrp_rt_priority" => {
                if self.simple(st, ctx, 1..=1, "vrrp_rt_priority 1..99") {
                    if let Some(p) = self.uint(st, ctx, 1..=99, "a real-time priority 1-99") {
                        self.global.process.rt_priority = u8::try_from(p).ok();
                    }
                }
            }
            "vrrp_rlimit_rttime" => {
                if self.simple(st, ctx, 1..=1, "vrrp_rlimit_rttime MICROSECONDS") {
                    let range = 2..=u64::from(u32::MAX);
                    let expected = "microseconds, at least 2";
                    if let Some(us) = self.uint(st, ctx, range, expected) {
                        self.global.process.rlimit_rttime_us = Some(us);
                    }
                }
            }
            "vrrp_no_swap" => {
                if self.simple(st, ctx, 0..=0, "vrrp_no_swap") {
                    self.global.process.no_swap = true;
                }
            }
            "vrrp_cpu_affinity" => {
                if self.simple(st, ctx, 1..=MAX_CPUS, "vrrp_cpu_affinity CPU [CPU]...") {
                    let mut cpus = Vec::new();
                    for arg in &st.args {
                        match parse_uint(&arg.text) {
                            Ok(cpu) if cpu < MAX_CPUS as u64 => cpus.push(cpu as usize),
                            _ => self.err(
                                arg.span,
                                ctx,
                                format!(
                                    "'{}' is not a CPU number: expected 0-{} as in \
                                     /proc/cpuinfo's 'processor' lines",
                                    arg.text,
                                    MAX_CPUS - 1
                                ),
                            ),
                        }
                    }
                    cpus.sort_unstable();
                    cpus.dedup();
                    self.global.process.cpu_affinity = cpus;
                }
            }
            "vmac_prefix" => {
                if self.simple(st, ctx, 1..=1, "vmac_prefix PREFIX") {
                    match vmac_prefix_problem(first_arg(st)) {
                        Some(problem) => self.err(first_arg_span(st), ctx, problem),
                        None => self.global.vmac_prefix = first_arg(st).to_string(),
                    }
                }
            }
            "state_file_location" | "stats_file_location" | "json_file_location" => {
                if let Some(path) = self.dump_location(st, ctx) {
                    let dumps = &mut self.global.dumps;
                    match st.keyword.text.as_str() {
                        "state_file_location" => dumps.state = Some(path),
                        "stats_file_location" => dumps.stats = Some(path),
                        _ => dumps.json = Some(path),
                    }
                }
            }
            "notify_fifo" | "vrrp_notify_fifo" => {
                let keyword = if st.keyword.text == "notify_fifo" {
                    "notify_fifo"
                } else {
                    "vrrp_notify_fifo"
                };
                if let Some(path) = self.notify(st, ctx) {
                    if !path.command.starts_with('/') {
                        let text = path.command.clone();
                        self.err(
                            path.span,
                            ctx,
                            format!("'{text}' is not an absolute path: write it from '/'"),
                        );
                    } else if self.global.fifos.iter().any(|f| f.keyword == keyword) {
                        self.err(
                            path.span,
                            ctx,
                            format!("{keyword} is given twice: keep one"),
                        );
                    } else {
                        self.global.fifos.push(Fifo {
                            keyword,
                            path,
                            script: None,
                        });
                    }
                }
            }
            "notify_fifo_script" | "vrrp_notify_fifo_script" => {
                let fifo = st.keyword.text.trim_end_matches("_script").to_string();
                if let Some(script) = self.notify(st, ctx) {
                    match self.global.fifos.iter_mut().find(|f| f.keyword == fifo) {
                        Some(f) if f.script.is_none() => f.script = Some(script),
                        Some(_) => self.err(script.span, ctx, "given twice: keep one"),
                        None => self.err(
                            script.span,
                            ctx,
                            format!("needs a '{fifo} PATH' before it: the script reads that FIFO"),
                        ),
                    }
                }
            }
            "vrrp_notify_priority_changes" => set(
                self.boolean(st, ctx, "vrrp_notify_priority_changes"),
                &mut self.global.notify_priority_changes,
            ),
            "fifo_write_vrrp_states_on_reload" => {
                if self.simple(st, ctx, 0..=0, "fifo_write_vrrp_states_on_reload") {
                    self.global.fifo_states_on_reload = true;
                }
            }
            "dynamic_interfaces" => {
                // keepvip always runs instances whose interface is missing (in FAULT until it
                // appears) and follows an interface deleted and created again, of any type.
                if self.simple(st, ctx, 0..=1, "dynamic_interfaces [allow_if_changes]") {
                    if let Some(arg) = st.args.first() {
                        if arg.text != "allow_if_changes" {
                            let text = arg.text.clone();
                            self.err(
                                arg.span,
                                ctx,
                                format!("'{text}': expected 'allow_if_changes' or nothing"),
                            );
                        }
                    }
                }
            }
            "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
                let v4 = st.keyword.text == "vrrp_mcast_group4";
                let usage = if v4 {
                    "vrrp_mcast_group4 224.0.0.0/4 ADDRESS"
                } else {
                    "vrrp_mcast_group6 ff00::/8 ADDRESS"
                };
                if self.simple(st, ctx, 1..=1, usage) {
                    let text = first_arg(st);
                    match (text.parse::<std::net::IpAddr>(), v4) {
                        (Ok(std::net::IpAddr::V4(a)), true) if a.is_multicast() => {
                            self.global.mcast_group4 = a
                        }
                        // keepalived: IPv6 VRRP groups are link-local scope (ffX2::).
                        (Ok(std::net::IpAddr::V6(a)), false)
                            if a.is_multicast() && a.segments()[0] & 0x000f == 2 =>
                        {
                            self.global.mcast_group6 = a
                        }
                        _ => self.err(
                            first_arg_span(st),
                            ctx,
                            format!(
                                "'{text}' is not an {} multicast address",
                                if v4 {
                                    "IPv4"
                                } else {
                                    "IPv6 link-local (ffX2::)"
                                }
                            ),
                        ),
                    }
                }
            }
            "startup_script" | "shutdown_script" => {
                let shutdown = st.keyword.text == "shutdown_script";
                if let Some(script) = self.notify(st, ctx) {
                    let slot = if shutdown {
                        &mut self.global.shutdown_script
                    } else {
                        &mut self.global.startup_script
                    };
                    // Given twice: the later one replaces it (warned as every repeat is).
                    *slot = Some(script);
                }
            }
            "startup_script_timeout" | "shutdown_script_timeout" => {
                let kw = st.keyword.text.clone();
                if self.simple(st, ctx, 1..=1, &format!("{kw} 1-1000")) {
                    if let Some(n) = self.uint(st, ctx, 1..=1000, "1-1000 (seconds)") {
                        let timeout = Duration::from_secs(n);
                        if kw == "shutdown_script_timeout" {
                            self.global.shutdown_script_timeout = timeout;
                        } else {
                            self.global.startup_script_timeout = timeout;
                        }
                    }
                }
            }
            "vrrp_down_timer_adverts" => {
                if self.simple(st, ctx, 1..=1, "vrrp_down_timer_adverts 1-100") {
                    let expected =
                        "1-100 (adverts missed before the master is down; 3 in the RFCs)";
                    if let Some(n) = self.uint(st, ctx, 1..=100, expected) {
                        self.global.down_timer_adverts = u8::try_from(n).unwrap_or(3);
                    }
                }
            }
            "vrrp_startup_delay" => {
                if self.simple(st, ctx, 1..=1, "vrrp_startup_delay SECONDS") {
                    let expected = format!("seconds 0-{MAX_STARTUP_DELAY_SECS}");
                    if let Some(micros) = self.seconds(st, ctx, &expected) {
                        if micros > MAX_STARTUP_DELAY_SECS * MICROS_PER_SEC {
                            let text = first_arg(st);
                            self.err(
                                first_arg_span(st),
                                ctx,
                                format!("{text} is out of range: expected {expected}"),
                            );
                        } else {
                            self.global.startup_delay =
                                (micros > 0).then(|| Duration::from_micros(micros));
                        }
                    }
                }
            }
            "vrrp_min_garp" => {
                // As keepalived: one burst of one message, no second burst, for whatever is
                // still at its default when the keyword is read (later keywords still apply).
                if self.boolean(st, ctx, "vrrp_min_garp") == Some(true) {
                    let defaults = Garp::default();
                    let garp = &mut self.global.garp;
                    if garp.master_repeat == defaults.master_repeat {
                        garp.master_repeat = 1;
                    }
                    if garp.master_delay == defaults.master_delay {
                        garp.master_delay = None;
                    }
                }
            }
            "json_version" => {
                if self.simple(st, ctx, 1..=1, "json_version 1|2") {
                    if let Some(v) = self.uint(st, ctx, 1..=2, "1 or 2") {
                        self.global.dumps.json_version = if v == 1 { 1 } else { 2 };
                    }
                }
            }
            _ => self.unhandled(st, &ctx[..ctx.len().saturating_sub(1)]),
        }
    }

    /// A dump file or directory: absolute, so that it does not depend on the agent's cwd.
    fn dump_location(&mut self, st: &Statement, ctx: &[String]) -> Option<std::path::PathBuf> {
        let usage = format!(
            "{} /ABSOLUTE/PATH (a file, or a directory)",
            st.keyword.text
        );
        if !self.simple(st, ctx, 1..=1, &usage) {
            return None;
        }
        let text = first_arg(st);
        if !text.starts_with('/') {
            self.err(
                first_arg_span(st),
                ctx,
                format!("'{text}' is not an absolute path: write it from '/'"),
            );
            return None;
        }
        Some(std::path::PathBuf::from(text))
    }

    fn version_arg(&mut self, st: &Statement, ctx: &[String], usage: &str) -> Option<Version> {
        if !self.simple(st, ctx, 1..=1, usage) {
            return None;
        }
        match self.uint(st, ctx, 2..=3, "2 or 3")? {
            2 => Some(Version::V2),
            _ => Some(Version::V3),
        }
    }

    fn garp_delay(&mut self, st: &Statement, ctx: &[String], kw: &str) -> Option<Option<Duration>> {
        if !self.simple(st, ctx, 1..=1, &format!("{kw} SECONDS")) {
            return None;
        }
        let secs = self.uint(
            st,
            ctx,
            0..=MAX_GARP_DELAY_SECS,
            &format!("whole seconds 0-{MAX_GARP_DELAY_SECS} (0 = no second burst)"),
        )?;
        Some((secs > 0).then(|| Duration::from_secs(secs)))
    }

    fn garp_refresh(
        &mut self,
        st: &Statement,
        ctx: &[String],
        kw: &str,
    ) -> Option<Option<Duration>> {
        if !self.simple(st, ctx, 1..=1, &format!("{kw} SECONDS")) {
            return None;
        }
        let secs = self.uint(
            st,
            ctx,
            0..=u64::from(u32::MAX),
            "whole seconds (0 = no refresh)",
        )?;
        Some((secs > 0).then(|| Duration::from_secs(secs)))
    }

    fn garp_count(&mut self, st: &Statement, ctx: &[String], kw: &str) -> Option<u32> {
        if !self.simple(st, ctx, 1..=1, &format!("{kw} COUNT")) {
            return None;
        }
        let n = self.uint(st, ctx, 1..=u64::from(u32::MAX), "a count of at least 1")?;
        u32::try_from(n).ok()
    }

    /// `garp_lower_prio_repeat`: unlike the other counts, 0 (no announcement) is allowed.
    fn lower_prio_count(&mut self, st: &Statement, ctx: &[String], kw: &str) -> Option<u32> {
        if !self.simple(st, ctx, 1..=1, &format!("{kw} COUNT")) {
            return None;
        }
        let n = self.uint(
            st,
            ctx,
            0..=MAX_LOWER_PRIO_REPEAT,
            &format!("a count 0-{MAX_LOWER_PRIO_REPEAT} (0 = none)"),
        )?;
        u32::try_from(n).ok()
    }

    /// `garp_interval` / `gna_interval`: seconds with microsecond resolution.
    fn announce_interval(&mut self, st: &Statement, ctx: &[String], kw: &str) -> Option<Duration> {
        if !self.simple(st, ctx, 1..=1, &format!("{kw} SECONDS")) {
            return None;
        }
        let expected = format!("seconds 0-{MAX_GARP_DELAY_SECS}, e.g. 0.01 (0 = back to back)");
        let micros = self.seconds(st, ctx, &expected)?;
        if micros > MAX_GARP_DELAY_SECS * MICROS_PER_SEC {
            self.err(
                first_arg_span(st),
                ctx,
                format!("{} is out of range: expected {expected}", first_arg(st)),
            );
            return None;
        }
        if micros >= MICROS_PER_SEC {
            self.warn(
                first_arg_span(st),
                ctx,
                "is very large (keepalived warns about vrrp_garp_interval and vrrp_gna_interval over 1 s too): a burst of N messages per address takes N times this long",
            );
        }
        Some(Duration::from_micros(micros))
    }

    /// `authentication { auth_type PASS  auth_pass PASSWORD }`: the password, NUL-padded (or
    /// truncated, with a warning) to 8 bytes as keepalived does.
    fn authentication(&mut self, st: &Statement, ctx: &[String]) -> Option<[u8; AUTH_PASS_BYTES]> {
        if let Some(arg) = st.args.first() {
            self.err(
                arg.span,
                ctx,
                "takes no arguments: 'authentication { auth_type PASS  auth_pass PASSWORD }'",
            );
        }
        let Some(block) = &st.block else {
            self.err(
                st.keyword.span,
                ctx,
                "needs a block: 'authentication { auth_type PASS  auth_pass PASSWORD }'",
            );
            return None;
        };
        let mut ok = true;
        let mut pass_type = None;
        let mut password = None;
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for item in &block.items {
            if !self.classify(item, ctx, keywords::AUTHENTICATION) {
                ok = false;
                continue;
            }
            let kw = item.keyword.text.as_str();
            let here = with(ctx, kw);
            if let Some(previous) = seen.insert(kw, item.keyword.span) {
                let at = self.loc(previous);
                self.warn(
                    item.keyword.span,
                    &here,
                    format!("set again: this replaces the setting at {at}"),
                );
            }
            match kw {
                "auth_type" => {
                    if !self.simple(item, &here, 1..=1, "auth_type PASS") {
                        ok = false;
                        continue;
                    }
                    match first_arg(item) {
                        "PASS" => pass_type = Some(item.keyword.span),
                        "AH" => {
                            self.err(
                                first_arg_span(item),
                                &here,
                                "IPsec AH authentication is not supported (RFC 3768 removed it from VRRPv2's security model); use PASS for keepalived compatibility, or rely on TTL 255 and network isolation",
                            );
                            ok = false;
                        }
                        other => {
                            self.err(
                                first_arg_span(item),
                                &here,
                                format!("'{other}' is not an authentication type: use PASS (upper case; keepalived would run without authentication)"),
                            );
                            ok = false;
                        }
                    }
                }
                "auth_pass" => {
                    if !self.simple(item, &here, 1..=1, "auth_pass PASSWORD") {
                        ok = false;
                        continue;
                    }
                    let bytes = first_arg(item).as_bytes();
                    if bytes.is_empty() {
                        self.err(
                            first_arg_span(item),
                            &here,
                            "the password is empty (keepalived would run without authentication): give 1 to 8 characters",
                        );
                        ok = false;
                        continue;
                    }
                    if bytes.len() > AUTH_PASS_BYTES {
                        self.warn(
                            first_arg_span(item),
                            &here,
                            format!("is {} bytes long: only the first {AUTH_PASS_BYTES} are sent and checked (keepalived truncates it too), so every router must agree on those", bytes.len()),
                        );
                    }
                    let mut data = [0u8; AUTH_PASS_BYTES];
                    for (slot, byte) in data.iter_mut().zip(bytes) {
                        *slot = *byte;
                    }
                    password = Some(data);
                }
                _ => self.unhandled(item, ctx),
            }
        }
        if !ok {
            return None;
        }
        match (pass_type, password) {
            (Some(_), Some(data)) => Some(data),
            (Some(at), None) => {
                self.err(
                    at,
                    &with(ctx, "auth_type"),
                    "'auth_type PASS' needs 'auth_pass PASSWORD' in the same block (keepalived would run without authentication)",
                );
                None
            }
            (None, Some(_)) => {
                self.err(
                    block.open,
                    ctx,
                    "'auth_pass' without 'auth_type PASS' (keepalived would send no authentication): add 'auth_type PASS'",
                );
                None
            }
            (None, None) => {
                self.err(
                    block.open,
                    ctx,
                    "empty block: expected 'auth_type PASS' and 'auth_pass PASSWORD', or remove the block",
                );
                None
            }
        }
    }

    fn vip_lease(&mut self, st: &Statement, ctx: &[String], kw: &str) -> Option<VipLease> {
        if !self.simple(st, ctx, 1..=1, &format!("{kw} SECONDS")) {
            return None;
        }
        let secs = self.uint(
            st,
            ctx,
            0..=MAX_VIP_LEASE_SECS,
            &format!("whole seconds 0-{MAX_VIP_LEASE_SECS} (0 = permanent)"),
        )?;
        Some(match u32::try_from(secs) {
            Ok(0) | Err(_) => VipLease::Permanent,
            Ok(s) => VipLease::Secs(s),
        })
    }

    // ---- vrrp_instance -------------------------------------------------------------------

    fn instance(&mut self, st: &Statement) {
        self.saw_instance = true;
        let Some(name) = st.args.first() else {
            self.err(
                st.keyword.span,
                &["vrrp_instance".to_string()],
                "needs a name: 'vrrp_instance NAME { ... }'",
            );
            return;
        };
        let ctx = vec![format!("vrrp_instance {}", name.text)];
        if let Some(extra) = st.args.get(1) {
            self.err(
                extra.span,
                &ctx,
                "takes exactly one name; quote a name with spaces",
            );
        }
        let Some(block) = &st.block else {
            self.err(st.keyword.span, &ctx, "needs a '{ ... }' block");
            return;
        };
        let mut draft = Draft::new(name.text.clone(), st.keyword.span);
        for item in &block.items {
            if !self.classify(item, &ctx, keywords::INSTANCE) {
                continue;
            }
            let kw = item.keyword.text.clone();
            let here = with(&ctx, &kw);
            if let Some(previous) = draft.seen.get(&kw).copied() {
                let at = self.loc(previous);
                match kw.as_str() {
                    "virtual_ipaddress" | "virtual_ipaddress_excluded" | "state" => {}
                    "virtual_routes" | "virtual_rules" => {}
                    "track_interface" | "track_script" | "track_file" => {}
                    k if k.starts_with("notify") => {
                        self.err(
                            item.keyword.span,
                            &here,
                            format!(
                                "already set at {at}; keepalived keeps the first and ignores this one: remove one"
                            ),
                        );
                        continue;
                    }
                    _ => self.warn(
                        item.keyword.span,
                        &here,
                        format!("set again: this replaces the setting at {at}"),
                    ),
                }
            } else {
                draft.seen.insert(kw.clone(), item.keyword.span);
            }
            self.instance_keyword(&mut draft, item, &here);
        }
        self.drafts.push(draft);
    }

    fn instance_keyword(&mut self, d: &mut Draft, st: &Statement, ctx: &[String]) {
        let span = st.keyword.span;
        match st.keyword.text.as_str() {
            "state" => {
                if !self.simple(st, ctx, 1..=1, "state MASTER|BACKUP") {
                    return;
                }
                let state = match first_arg(st) {
                    "MASTER" => InitialState::Master,
                    "BACKUP" => InitialState::Backup,
                    other => {
                        self.err(
                            first_arg_span(st),
                            ctx,
                            format!(
                                "'{other}' is not a state: use MASTER or BACKUP (upper case; keepalived would fall back to BACKUP)"
                            ),
                        );
                        return;
                    }
                };
                match d.state {
                    Some((previous, at)) if previous != state => {
                        let at = self.loc(at);
                        self.err(
                            span,
                            ctx,
                            format!("contradicts the state set at {at}: keep one"),
                        );
                    }
                    _ => d.state = Some((state, span)),
                }
            }
            "interface" => {
                if self.simple(st, ctx, 1..=1, "interface NAME")
                    && self.interface_name(first_arg(st), first_arg_span(st), ctx)
                {
                    d.interface = Some((first_arg(st).to_string(), first_arg_span(st)));
                }
            }
            "virtual_router_id" => {
                if self.simple(st, ctx, 1..=1, "virtual_router_id 1-255") {
                    if let Some(v) = self.uint(st, ctx, 1..=255, "1-255") {
                        d.vrid = u8::try_from(v).ok().map(|v| (v, first_arg_span(st)));
                    }
                }
            }
            "priority" => {
                if self.simple(st, ctx, 1..=1, "priority 1-255") {
                    if let Some(v) = self.uint(st, ctx, 1..=255, "1-255 (255 = address owner)") {
                        d.priority = u8::try_from(v).ok().map(|v| (v, first_arg_span(st)));
                    }
                }
            }
            "advert_int" => {
                if self.simple(st, ctx, 1..=1, "advert_int SECONDS") {
                    if let Some(micros) = self.seconds(st, ctx, "seconds, e.g. 1 or 0.5") {
                        d.advert = Some((micros, first_arg(st).to_string(), first_arg_span(st)));
                    }
                }
            }
            "version" => {
                if let Some(v) = self.version_arg(st, ctx, "version 2|3") {
                    d.version = Some((v, first_arg_span(st)));
                }
            }
            "nopreempt" | "preempt" => {
                if !self.simple(st, ctx, 0..=0, st.keyword.text.as_str()) {
                    return;
                }
                let preempt = st.keyword.text == "preempt";
                if let Some((previous, at)) = d.preempt {
                    if previous != preempt {
                        let at = self.loc(at);
                        let other = if previous { "preempt" } else { "nopreempt" };
                        self.warn(
                            span,
                            ctx,
                            format!("undoes '{other}' at {at}: the last one wins"),
                        );
                    }
                }
                d.preempt = Some((preempt, span));
            }
            "preempt_delay" => {
                if self.simple(st, ctx, 1..=1, "preempt_delay SECONDS") {
                    let expected = format!("seconds 0-{MAX_PREEMPT_DELAY_SECS}");
                    if let Some(micros) = self.seconds(st, ctx, &expected) {
                        if micros > MAX_PREEMPT_DELAY_SECS * MICROS_PER_SEC {
                            self.err(
                                first_arg_span(st),
                                ctx,
                                format!("{} is out of range: expected {expected}", first_arg(st)),
                            );
                        } else {
                            d.preempt_delay = Some((micros, span));
                        }
                    }
                }
            }
            "virtual_routes" => {
                let routes = self.routes_block(st, ctx);
                d.routes.extend(routes);
            }
            "virtual_rules" => {
                let rules = self.rules_block(st, ctx);
                d.rules.extend(rules);
            }
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                let excluded = st.keyword.text == "virtual_ipaddress_excluded";
                if let Some(arg) = st.args.first() {
                    self.err(arg.span, ctx, "addresses go inside the block, one per line");
                }
                let Some(block) = &st.block else {
                    self.err(span, ctx, "needs a '{ ... }' block of addresses");
                    return;
                };
                if !excluded {
                    d.vip_blocks.push(block.open);
                    d.vip_lines += block.items.len();
                }
                for line in &block.items {
                    if let Some(vip) = self.vip(line, ctx) {
                        if excluded {
                            d.excluded_vips.push(vip);
                        } else {
                            d.vips.push(vip);
                        }
                    }
                }
            }
            "mcast_src_ip" => {
                if self.simple(st, ctx, 1..=1, "mcast_src_ip ADDRESS") {
                    match first_arg(st).parse::<IpAddr>() {
                        Ok(ip) => match not_unicast(&ip) {
                            Some(problem) => self.err(
                                first_arg_span(st),
                                ctx,
                                format!("{ip} is {problem}: adverts need a unicast source"),
                            ),
                            None => d.mcast_src_ip = Some((ip, first_arg_span(st))),
                        },
                        Err(_) => self.err(
                            first_arg_span(st),
                            ctx,
                            format!("'{}' is not an IP address", first_arg(st)),
                        ),
                    }
                }
            }
            "accept" | "no_accept" => {
                if self.simple(st, ctx, 0..=0, st.keyword.text.as_str()) {
                    d.accept = Some((st.keyword.text == "accept", st.keyword.span));
                }
            }
            "garp_master_delay" => set(
                self.garp_delay(st, ctx, "garp_master_delay").map(Some),
                &mut d.garp_delay,
            ),
            "garp_master_repeat" => set(
                self.garp_count(st, ctx, "garp_master_repeat").map(Some),
                &mut d.garp_repeat,
            ),
            "garp_master_refresh" => set(
                self.garp_refresh(st, ctx, "garp_master_refresh").map(Some),
                &mut d.garp_refresh,
            ),
            "garp_master_refresh_repeat" => set(
                self.garp_count(st, ctx, "garp_master_refresh_repeat")
                    .map(Some),
                &mut d.garp_refresh_repeat,
            ),
            "lower_prio_no_advert" => set(
                self.boolean(st, ctx, "lower_prio_no_advert").map(Some),
                &mut d.lower_prio_no_advert,
            ),
            "higher_prio_send_advert" => set(
                self.boolean(st, ctx, "higher_prio_send_advert").map(Some),
                &mut d.higher_prio_send_advert,
            ),
            "v3_checksum_as_v2" => {
                if let Some(b) = self.boolean(st, ctx, "v3_checksum_as_v2") {
                    d.v3_checksum_as_v2 = Some(b);
                }
            }
            "notify_master" => d.notify.master = self.notify(st, ctx),
            "notify_backup" => d.notify.backup = self.notify(st, ctx),
            "notify_fault" => d.notify.fault = self.notify(st, ctx),
            "notify_stop" => d.notify.stop = self.notify(st, ctx),
            "notify" => d.notify.any = self.notify(st, ctx),
            "notify_master_rx_lower_pri" => d.notify.master_rx_lower_pri = self.notify(st, ctx),
            "track_src_ip" => {
                if self.simple(st, ctx, 0..=0, "track_src_ip") {
                    d.track_src_ip = Some(span);
                }
            }
            "promote_secondaries" => {
                if self.simple(st, ctx, 0..=0, "promote_secondaries") {
                    d.promote_secondaries = true;
                }
            }
            "down_timer_adverts" => {
                if self.simple(st, ctx, 1..=1, "down_timer_adverts 1-100") {
                    let expected =
                        "1-100 (adverts missed before the master is down; 3 in the RFCs)";
                    if let Some(n) = self.uint(st, ctx, 1..=100, expected) {
                        d.down_timer_adverts = u8::try_from(n).ok();
                    }
                }
            }
            "notify_deleted" => {
                if st.args.is_empty() {
                    if self.no_block(st, ctx) {
                        d.notify_deleted = Some(None);
                    }
                } else if let Some(script) = self.notify(st, ctx) {
                    d.notify_deleted = Some(Some(script));
                }
            }
            "unicast_fault_no_peer" => {
                if self.simple(st, ctx, 0..=0, "unicast_fault_no_peer") {
                    d.unicast_fault_no_peer = Some(span);
                }
            }
            "notify_priority_changes" => set(
                self.boolean(st, ctx, "notify_priority_changes").map(Some),
                &mut d.notify_priority_changes,
            ),
            "vip_lease" => set(
                self.vip_lease(st, ctx, "vip_lease").map(Some),
                &mut d.vip_lease,
            ),
            "garp_lower_prio_delay" => set(
                self.garp_delay(st, ctx, "garp_lower_prio_delay").map(Some),
                &mut d.garp_lower_prio_delay,
            ),
            "garp_lower_prio_repeat" => set(
                self.lower_prio_count(st, ctx, "garp_lower_prio_repeat")
                    .map(Some),
                &mut d.garp_lower_prio_repeat,
            ),
            "garp_interval" => set(
                self.announce_interval(st, ctx, "garp_interval").map(Some),
                &mut d.garp_interval,
            ),
            "gna_interval" => set(
                self.announce_interval(st, ctx, "gna_interval").map(Some),
                &mut d.gna_interval,
            ),
            "authentication" => {
                d.auth = self.authentication(st, ctx).map(|pass| (pass, span));
            }
            "unicast_src_ip" | "unicast_peer" | "unicast_ttl" | "check_unicast_src" => {
                self.unicast_keyword(d, st, ctx)
            }
            "track_interface" | "track_script" | "track_file" | "dont_track_primary" => {
                self.track_keyword(&mut d.track, st, ctx)
            }
            "use_vmac" => self.use_vmac(d, st, ctx),
            "vmac_xmit_base" => {
                if self.simple(st, ctx, 0..=0, "vmac_xmit_base") {
                    d.vmac_xmit_base = Some(span);
                }
            }
            "native_ipv6" => {
                if self.simple(st, ctx, 0..=0, "native_ipv6") {
                    self.warn(
                        span,
                        ctx,
                        "deprecated in keepalived: the addresses decide the family",
                    );
                    d.native_ipv6 = Some(span);
                }
            }
            _ => self.unhandled(st, &ctx[..ctx.len().saturating_sub(1)]),
        }
    }

    /// `use_vmac [NAME] [MAC]`, in either order: an argument with a ':' is the MAC (interface
    /// names cannot hold one), as keepalived tells them apart.
    fn use_vmac(&mut self, d: &mut Draft, st: &Statement, ctx: &[String]) {
        if !self.simple(st, ctx, 0..=2, "use_vmac [NAME] [MAC]") {
            return;
        }
        let (mut name, mut mac) = (None, None);
        for arg in &st.args {
            let text = arg.text.as_str();
            if text.contains(':') {
                if mac.is_some() {
                    self.err(arg.span, ctx, "a second MAC address: give one");
                    return;
                }
                match parse_vmac_mac(text) {
                    Ok(parsed) => mac = Some(parsed),
                    Err(problem) => {
                        self.err(arg.span, ctx, problem);
                        return;
                    }
                }
            } else {
                if name.is_some() {
                    self.err(arg.span, ctx, "a second interface name: give one");
                    return;
                }
                if !self.interface_name(text, arg.span, ctx) {
                    return;
                }
                name = Some(text.to_string());
            }
        }
        d.vmac = Some((name, mac, st.keyword.span));
    }

    fn notify(&mut self, st: &Statement, ctx: &[String]) -> Option<NotifyScript> {
        let kw = st.keyword.text.as_str();
        let usage = format!("{kw} COMMAND [USER [GROUP]]");
        if !self.no_block(st, ctx) || !self.arity(st, ctx, 1..=usize::MAX, &usage) {
            return None;
        }
        let span = first_arg_span(st);
        // keepalived re-splits the line with its script rules: COMMAND [USER [GROUP]].
        let words = match split_command(&st.raw_args) {
            Ok(words) => words,
            Err(e) => {
                self.err(span, ctx, format!("cannot split the line: {e}"));
                return None;
            }
        };
        if words.len() > 3 {
            self.err(
                span,
                ctx,
                format!(
                    "too many arguments: expected '{usage}'; quote a command that has arguments, e.g. {kw} \"/path/to/script arg\""
                ),
            );
            return None;
        }
        let command = words.first().cloned().unwrap_or_default();
        match split_command(&command) {
            Err(SplitError::Empty) => {
                self.err(span, ctx, "the command is empty");
                return None;
            }
            Ok(_) => {}
            Err(e) => {
                self.err(
                    span,
                    ctx,
                    format!("cannot split the command into arguments: {e}"),
                );
                return None;
            }
        }
        Some(NotifyScript {
            command,
            raw: st.raw_args.clone(),
            user: words.get(1).cloned(),
            group: words.get(2).cloned(),
            span,
        })
    }

    /// One address line: `ADDR[/PREFIX] [brd X] [dev IF] [scope S] [label L]`.
    fn vip(&mut self, line: &Statement, ctx: &[String]) -> Option<Vip> {
        let text = line.keyword.text.as_str();
        let span = line.keyword.span;
        if let Some(block) = &line.block {
            self.err(block.open, ctx, "an address line takes no '{ ... }' block");
            return None;
        }
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let Ok(addr) = addr_text.parse::<IpAddr>() else {
            let hint = if addr_text.contains('%') {
                " (zone indexes are not allowed; use 'dev')"
            } else {
                ""
            };
            self.err(span, ctx, format!("'{text}' is not an IP address{hint}"));
            return None;
        };
        if let Some(problem) = not_unicast(&addr) {
            self.err(
                span,
                ctx,
                format!("{addr} is {problem}, not an address a host can own"),
            );
            return None;
        }
        let max_prefix: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix_text {
            None => max_prefix,
            Some(p) => match parse_uint(p) {
                Ok(n) if n <= u64::from(max_prefix) => u8::try_from(n).unwrap_or(max_prefix),
                _ => {
                    self.err(
                        span,
                        ctx,
                        format!(
                            "'/{p}' is not a prefix length for {}: expected 0-{max_prefix}",
                            Family::of(&addr)
                        ),
                    );
                    return None;
                }
            },
        };
        let mut vip = Vip {
            addr,
            prefix_len,
            broadcast: None,
            dev: None,
            scope: Scope::Global,
            label: None,
            flags: VipFlags::default(),
            preferred_lft: None,
            no_track: false,
            span,
        };
        let mut seen: Vec<&str> = Vec::new();
        let mut ok = true;
        let mut args = line.args.iter();
        while let Some(option) = args.next() {
            let name = option.text.as_str();
            let support = keywords::lookup(keywords::VIP_OPTIONS, name);
            match support {
                None => {
                    let message = match keywords::suggest(keywords::VIP_OPTIONS, name) {
                        Some(s) => format!("unknown address option '{name}', did you mean '{s}'?"),
                        None => format!(
                            "unknown address option '{name}': expected brd, dev, scope, label, home, -nodad, mngtmpaddr, noprefixroute, preferred_lft or no_track (one address per line)"
                        ),
                    };
                    self.err(option.span, ctx, message);
                    return None;
                }
                Some(Keyword {
                    support: Support::Unsupported,
                    ..
                }) => {
                    self.err(
                        option.span,
                        ctx,
                        format!("address option '{name}' is not supported by keepvip yet"),
                    );
                    ok = false;
                    if matches!(name, "peer" | "track_group") {
                        args.next();
                    }
                    continue;
                }
                Some(_) => {}
            }
            if seen.contains(&name) {
                self.err(option.span, ctx, format!("'{name}' is given twice"));
                return None;
            }
            seen.push(name);
            if name == "no_track" {
                vip.no_track = true;
                continue;
            }
            if let Some(flag) = vip_flag(&mut vip.flags, name) {
                if addr.is_ipv4() && name != "noprefixroute" {
                    // keepalived drops these for IPv4 (the kernel would ignore most anyway).
                    self.warn(
                        option.span,
                        ctx,
                        format!("'{name}' only applies to IPv6 addresses: ignored for {addr}"),
                    );
                } else {
                    *flag = true;
                }
                continue;
            }
            let Some(value) = args.next() else {
                self.err(option.span, ctx, format!("'{name}' needs a value"));
                return None;
            };
            let v = value.text.as_str();
            match name {
                "brd" => {
                    if addr.is_ipv6() {
                        self.err(option.span, ctx, "'brd' is for IPv4 addresses only");
                        ok = false;
                        continue;
                    }
                    vip.broadcast = match v {
                        "+" | "-" if prefix_len >= 31 => {
                            self.err(
                                value.span,
                                ctx,
                                format!("'brd {v}' needs a prefix shorter than /31 (this address is /{prefix_len})"),
                            );
                            ok = false;
                            None
                        }
                        "+" => Some(Broadcast::SetHostBits),
                        "-" => Some(Broadcast::ClearHostBits),
                        _ => match v.parse::<Ipv4Addr>() {
                            Ok(b) => Some(Broadcast::Addr(b)),
                            Err(_) => {
                                self.err(
                                    value.span,
                                    ctx,
                                    format!("'{v}' is not an IPv4 broadcast address (or '+'/'-')"),
                                );
                                ok = false;
                                None
                            }
                        },
                    };
                }
                "dev" => {
                    if self.interface_name(v, value.span, ctx) {
                        vip.dev = Some(v.to_string());
                    } else {
                        ok = false;
                    }
                }
                "scope" => match parse_scope(v) {
                    Some(scope) => vip.scope = scope,
                    None => {
                        self.err(
                            value.span,
                            ctx,
                            format!("'{v}' is not a scope: use global, site, link, host, nowhere or 0-255"),
                        );
                        ok = false;
                    }
                },
                "preferred_lft" => {
                    let secs = if v == "forever" {
                        Some(u32::MAX)
                    } else {
                        v.parse::<u32>().ok()
                    };
                    match secs {
                        None => {
                            self.err(
                                value.span,
                                ctx,
                                format!("'{v}' is not a preferred lifetime: use 0-4294967295 seconds or 'forever'"),
                            );
                            ok = false;
                        }
                        // keepalived leaves an IPv4 address's preferred lifetime alone.
                        Some(_) if addr.is_ipv4() => self.warn(
                            option.span,
                            ctx,
                            format!("'preferred_lft' only applies to IPv6 addresses: ignored for {addr}"),
                        ),
                        Some(secs) => vip.preferred_lft = Some(secs),
                    }
                }
                "label" => {
                    if v.len() > MAX_IFNAME_BYTES {
                        self.err(
                            value.span,
                            ctx,
                            format!("label '{v}' is longer than {MAX_IFNAME_BYTES} bytes"),
                        );
                        ok = false;
                    } else {
                        if addr.is_ipv6() {
                            self.warn(
                                option.span,
                                ctx,
                                "labels only apply to IPv4 addresses; the kernel ignores this one",
                            );
                        }
                        vip.label = Some(v.to_string());
                    }
                }
                _ => self.err(
                    option.span,
                    ctx,
                    format!("keepvip bug: address option '{name}' is listed as implemented but has no handler"),
                ),
            }
        }
        ok.then_some(vip)
    }

    // ---- resolution ----------------------------------------------------------------------

    fn resolve(&mut self, mut d: Draft) -> Option<Instance> {
        let ctx = vec![format!("vrrp_instance {}", d.name)];
        let vips_ctx = with(&ctx, "virtual_ipaddress");

        // A setting that was present but invalid has been reported already.
        let given = |kw: &str| d.seen.contains_key(kw);
        let interface = match d.interface.take() {
            Some((name, _)) => Some(name),
            None if given("interface") => None,
            None => {
                self.err(
                    d.span,
                    &ctx,
                    "missing 'interface': the interface to run VRRP on (keepvip needs it in unicast mode too)",
                );
                None
            }
        };
        let vrid = match d.vrid {
            Some((v, _)) => Some(v),
            None if given("virtual_router_id") => None,
            None => {
                self.err(
                    d.span,
                    &ctx,
                    "missing 'virtual_router_id' (1-255, the same on every router of this virtual router)",
                );
                None
            }
        };

        // Family: that of the first VIP; the others must match it.
        let mut no_vips: Option<Span> = None;
        let family = match d.vips.first() {
            Some(first) => {
                let family = Family::of(&first.addr);
                let (first_addr, first_span) = (first.addr, first.span);
                let at = self.loc(first_span);
                let mut kept = Vec::with_capacity(d.vips.len());
                for vip in std::mem::take(&mut d.vips) {
                    if Family::of(&vip.addr) == family {
                        kept.push(vip);
                    } else {
                        self.err(
                            vip.span,
                            &vips_ctx,
                            format!(
                                "{} is {} but the first address {first_addr} (at {at}) is {family}: an instance advertises one family; move it to its own vrrp_instance or to virtual_ipaddress_excluded",
                                vip.addr,
                                Family::of(&vip.addr),
                            ),
                        );
                    }
                }
                d.vips = kept;
                family
            }
            None if d.vip_lines > 0 => {
                let open = d.vip_blocks.first().copied().unwrap_or(d.span);
                self.err(
                    open,
                    &ctx,
                    "no usable address in virtual_ipaddress (see the address errors): an instance needs at least one",
                );
                d.mcast_src_ip.map_or(Family::V4, |(ip, _)| Family::of(&ip))
            }
            None => {
                // Election only (clouds move addresses from notify scripts): judged once the
                // version is known, as keepalived does.
                no_vips = Some(d.vip_blocks.first().copied().unwrap_or(d.span));
                match (d.native_ipv6, d.mcast_src_ip) {
                    (Some(_), _) => Family::V6,
                    (None, Some((ip, _))) => Family::of(&ip),
                    (None, None) => Family::V4,
                }
            }
        };
        if let Some((ip, span)) = d.mcast_src_ip {
            if Family::of(&ip) != family {
                self.err(
                    span,
                    &with(&ctx, "mcast_src_ip"),
                    format!(
                        "{ip} is {} but the instance's addresses are {family}",
                        Family::of(&ip)
                    ),
                );
            }
        }
        let unicast = self.resolve_unicast(&mut d, family, &ctx);
        if let (Some(span), Family::V4) = (d.native_ipv6, family) {
            if !d.vips.is_empty() {
                self.err(
                    span,
                    &with(&ctx, "native_ipv6"),
                    "contradicts the IPv4 addresses of this instance",
                );
            }
        }
        if d.vips.len() > MAX_VIPS {
            let span = d.vips.get(MAX_VIPS).map_or(d.span, |v| v.span);
            self.err(
                span,
                &vips_ctx,
                format!(
                    "{} addresses, but an advert carries at most {MAX_VIPS}: move the rest to virtual_ipaddress_excluded",
                    d.vips.len()
                ),
            );
        }
        if family == Family::V6 {
            if let Some(first) = d.vips.first() {
                if !is_link_local(&first.addr) {
                    self.warn(
                        first.span,
                        &vips_ctx,
                        "the first IPv6 address should be a link-local (fe80::/10) address (RFC 9568 section 5.2.9; keepalived logs this when it starts)",
                    );
                }
            }
        }
        self.duplicate_addresses(&d, &ctx);

        // Version: IPv6 needs 3.
        let version = match (d.version, family) {
            (Some((Version::V2, span)), Family::V6) => {
                self.err(
                    span,
                    &with(&ctx, "version"),
                    "VRRP version 2 cannot carry IPv6 addresses: remove 'version 2' (IPv6 instances use version 3)",
                );
                Version::V3
            }
            (Some((v, _)), _) => v,
            (None, Family::V6) => {
                if let (Some(at), Version::V2) = (self.global_version, self.global.vrrp_version) {
                    let at = self.loc(at);
                    self.warn(
                        d.span,
                        &ctx,
                        format!("uses VRRP version 3 because its addresses are IPv6 ('vrrp_version 2' at {at} only applies to IPv4 instances)"),
                    );
                }
                Version::V3
            }
            (None, Family::V4) => self.global.vrrp_version,
        };

        if let (Some(span), None) = (d.track_src_ip, d.mcast_src_ip) {
            self.warn(
                span,
                &with(&ctx, "track_src_ip"),
                "has no effect without unicast_src_ip / mcast_src_ip (as in keepalived)",
            );
        }
        if let Some(span) = no_vips {
            if version == Version::V3 {
                self.err(
                    span,
                    &ctx,
                    "no virtual address: VRRPv3 adverts carry at least one (RFC 9568 section 5.2.5; keepalived refuses this too): add a virtual_ipaddress, or use 'version 2' for an election-only IPv4 instance",
                );
            } else {
                self.warn(
                    span,
                    &ctx,
                    "no virtual address: this instance only elects a master (adverts carry none, as keepalived's do); its notify scripts must move the service address, as in a cloud (see etc/cloud/)",
                );
            }
        }

        if let (Some((_, span)), Version::V3) = (d.auth, version) {
            self.err(
                span,
                &with(&ctx, "authentication"),
                "VRRPv3 has no authentication (RFC 9568; keepalived ignores this block with version 3): remove it, or use version 2 (IPv4 only)",
            );
        }

        let advert_interval = match d.advert.clone() {
            None => Centis(100),
            Some((micros, text, span)) => self
                .advert_interval(micros, &text, version, span, &with(&ctx, "advert_int"))
                .unwrap_or(Centis(100)),
        };

        // Priority and state, derived from each other as keepalived does.
        let priority = match (d.priority, d.state) {
            (Some((p, _)), _) => p,
            (None, Some((InitialState::Master, span))) => {
                self.warn(
                    span,
                    &with(&ctx, "state"),
                    "MASTER without a 'priority' makes this router the address owner (priority 255), as in keepalived; set 'priority' explicitly",
                );
                255
            }
            (None, _) => 100,
        };
        if let (Some((false, span)), true) = (d.accept, priority < 255) {
            self.err(
                span,
                &with(&ctx, "no_accept"),
                "not enforced by keepvip yet: keepalived drops traffic to the VIPs of a master that is not the address owner (with nftables), keepvip would accept it; remove no_accept (or drop that traffic with a firewall rule of your own)",
            );
        }
        let state = match d.state {
            Some((s, _)) => s,
            None if priority == 255 => InitialState::Master,
            None => InitialState::Backup,
        };

        let mut preempt = d.preempt.is_none_or(|(p, _)| p);
        let nopreempt_span = d.preempt.map_or(d.span, |(_, s)| s);
        let mut preempt_delay = d.preempt_delay.map_or(0, |(m, _)| m);
        let delay_span = d.preempt_delay.map_or(d.span, |(_, s)| s);
        if priority == 255 && !preempt {
            self.warn(
                nopreempt_span,
                &with(&ctx, "nopreempt"),
                "has no effect with priority 255: the address owner always takes over (keepalived ignores it too)",
            );
            preempt = true;
        }
        if state == InitialState::Master && !preempt {
            self.warn(
                nopreempt_span,
                &with(&ctx, "nopreempt"),
                "has no effect with 'state MASTER' (keepalived clears it): use 'state BACKUP' on every router",
            );
            preempt = true;
        }
        if preempt_delay > 0 && state == InitialState::Master {
            self.warn(
                delay_span,
                &with(&ctx, "preempt_delay"),
                "has no effect with 'state MASTER' (keepalived clears it): use 'state BACKUP'",
            );
            preempt_delay = 0;
        }
        if preempt_delay > 0 && !preempt {
            self.warn(
                delay_span,
                &with(&ctx, "preempt_delay"),
                "has no effect with 'nopreempt' (keepalived clears it)",
            );
            preempt_delay = 0;
        }

        let tracking = self.resolve_tracking(&d.track, &ctx);
        let mut vmac = self.resolve_vmac(&mut d, &ctx, interface.as_deref(), vrid, family);
        // keepalived sends unicast adverts from the parent interface: a VMAC only carries VIPs.
        if let (Some(vmac), Some(_)) = (vmac.as_mut(), unicast.as_ref()) {
            if !vmac.xmit_base {
                vmac.xmit_base = true;
                self.warn(
                    vmac.span,
                    &with(&ctx, "use_vmac"),
                    "with unicast_peer, adverts go out on the parent interface \
                     (vmac_xmit_base is implied, as keepalived does)",
                );
            }
        }
        let global = &self.global;
        let garp = Garp {
            master_delay: d.garp_delay.unwrap_or(global.garp.master_delay),
            master_repeat: d.garp_repeat.unwrap_or(global.garp.master_repeat),
            master_refresh: d.garp_refresh.unwrap_or(global.garp.master_refresh),
            master_refresh_repeat: d
                .garp_refresh_repeat
                .unwrap_or(global.garp.master_refresh_repeat),
            // keepalived: an instance's unset lower_prio values take the global lower_prio ones,
            // not the instance's own master values.
            lower_prio_delay: d
                .garp_lower_prio_delay
                .unwrap_or(global.garp.lower_prio_delay),
            lower_prio_repeat: d
                .garp_lower_prio_repeat
                .unwrap_or(global.garp.lower_prio_repeat),
            interval: d.garp_interval.unwrap_or(global.garp.interval),
            gna_interval: d.gna_interval.unwrap_or(global.garp.gna_interval),
        };
        Some(Instance {
            name: d.name,
            span: d.span,
            state,
            interface: interface?,
            vrid: vrid?,
            priority,
            advert_interval,
            version,
            family,
            preempt,
            preempt_delay: Duration::from_micros(preempt_delay),
            vips: d.vips,
            excluded_vips: d.excluded_vips,
            mcast_src_ip: d.mcast_src_ip.map(|(ip, _)| ip),
            unicast,
            accept: d.accept.is_none_or(|(accept, _)| accept),
            garp,
            lower_prio_no_advert: d
                .lower_prio_no_advert
                .unwrap_or(global.lower_prio_no_advert),
            higher_prio_send_advert: d
                .higher_prio_send_advert
                .unwrap_or(global.higher_prio_send_advert),
            v3_checksum_as_v2: d.v3_checksum_as_v2.unwrap_or(global.v3_checksum_as_v2),
            down_timer_adverts: d.down_timer_adverts.unwrap_or(global.down_timer_adverts),
            notify: d.notify,
            notify_priority_changes: d
                .notify_priority_changes
                .unwrap_or(global.notify_priority_changes),
            unicast_fault_no_peer: d.no_peer_fault,
            notify_deleted: d.notify_deleted.take(),
            promote_secondaries: d.promote_secondaries,
            track_src_ip: d.track_src_ip.is_some(),
            vip_lease: d.vip_lease.or(global.vip_lease),
            auth_pass: d.auth.map(|(pass, _)| pass),
            tracking,
            dont_track_primary: d.track.dont_track_primary,
            vmac,
            routes: d.routes,
            rules: d.rules,
        })
    }

    fn resolve_vmac(
        &mut self,
        d: &mut Draft,
        ctx: &[String],
        interface: Option<&str>,
        vrid: Option<u8>,
        family: Family,
    ) -> Option<Vmac> {
        let Some((name, mac, span)) = d.vmac.take() else {
            if let Some(span) = d.vmac_xmit_base {
                self.warn(
                    span,
                    &with(ctx, "vmac_xmit_base"),
                    "has no effect without 'use_vmac' (keepalived ignores it too)",
                );
            }
            return None;
        };
        if let (Some(name), Some(interface)) = (&name, interface) {
            if name == interface {
                self.err(
                    span,
                    &with(ctx, "use_vmac"),
                    format!("'{name}' is the instance's own interface: name the VMAC something else, or leave the name out"),
                );
            }
        }
        let vrid = vrid?;
        Some(Vmac {
            name,
            mac: match mac {
                Some(mac) => mac.resolve(vrid),
                None => crate::wire::virtual_mac(family, vrid),
            },
            xmit_base: d.vmac_xmit_base.is_some(),
            span,
        })
    }

    /// VMACs of different instances must not collide: one name each, one MAC per parent, and
    /// no VMAC named like an instance's interface.
    fn vmac_cross_checks(&mut self, instances: &[Instance]) {
        let mut names: HashMap<&str, (&str, Span)> = HashMap::new();
        let mut macs: HashMap<(&str, crate::wire::MacAddr), (&str, Span)> = HashMap::new();
        for instance in instances {
            let Some(vmac) = &instance.vmac else { continue };
            let ctx = vec![
                format!("vrrp_instance {}", instance.name),
                "use_vmac".to_string(),
            ];
            if let Some(name) = &vmac.name {
                if let Some(&(other, at)) = names.get(name.as_str()) {
                    let at = self.loc(at);
                    self.err(
                        vmac.span,
                        &ctx,
                        format!("'{name}' is already the VMAC of vrrp_instance {other} (at {at}): give each its own name"),
                    );
                } else {
                    names.insert(name, (&instance.name, vmac.span));
                }
                if let Some(other) = instances.iter().find(|i| i.interface == *name) {
                    self.err(
                        vmac.span,
                        &ctx,
                        format!("'{name}' is the interface of vrrp_instance {}: name the VMAC something else", other.name),
                    );
                }
            }
            let key = (instance.interface.as_str(), vmac.mac);
            if let Some(&(other, at)) = macs.get(&key) {
                let at = self.loc(at);
                self.err(
                    vmac.span,
                    &ctx,
                    format!(
                        "vrrp_instance {other} (at {at}) already puts a VMAC with MAC {} on {}: the kernel allows one per interface",
                        vmac.mac, instance.interface
                    ),
                );
            } else {
                macs.insert(key, (&instance.name, vmac.span));
            }
        }
    }

    fn advert_interval(
        &mut self,
        micros: u64,
        text: &str,
        version: Version,
        span: Span,
        ctx: &[String],
    ) -> Option<Centis> {
        match version {
            Version::V2 => {
                if micros % MICROS_PER_SEC != 0 {
                    self.err(
                        span,
                        ctx,
                        format!("{text}: VRRPv2 intervals are whole seconds (keepalived would round it); use 'version 3' for fractions"),
                    );
                    return None;
                }
                let secs = micros / MICROS_PER_SEC;
                if !(1..=255).contains(&secs) {
                    self.err(
                        span,
                        ctx,
                        format!("{text} is out of range: VRRPv2 intervals are 1-255 seconds"),
                    );
                    return None;
                }
                u8::try_from(secs).ok().map(Centis::from_secs)
            }
            Version::V3 => {
                if micros % MICROS_PER_CENTI != 0 {
                    self.err(
                        span,
                        ctx,
                        format!("{text}: VRRPv3 intervals are in steps of 0.01 s (keepalived would round it)"),
                    );
                    return None;
                }
                let centis = micros / MICROS_PER_CENTI;
                if !(1..=u64::from(Centis::V3_MAX.0)).contains(&centis) {
                    self.err(
                        span,
                        ctx,
                        format!("{text} is out of range: VRRPv3 intervals are 0.01-40.95 seconds"),
                    );
                    return None;
                }
                u16::try_from(centis).ok().map(Centis)
            }
        }
    }

    fn duplicate_addresses(&mut self, d: &Draft, ctx: &[String]) {
        let mut first_seen: HashMap<IpAddr, Span> = HashMap::new();
        let all = d.vips.iter().map(|v| (v, "virtual_ipaddress")).chain(
            d.excluded_vips
                .iter()
                .map(|v| (v, "virtual_ipaddress_excluded")),
        );
        for (vip, block) in all {
            match first_seen.get(&vip.addr) {
                Some(&at) => {
                    let at = self.loc(at);
                    self.warn(
                        vip.span,
                        &with(ctx, block),
                        format!("{} is already listed at {at}", vip.addr),
                    );
                }
                None => {
                    first_seen.insert(vip.addr, vip.span);
                }
            }
        }
    }

    /// Checks across instances: names, VRIDs, shared addresses.
    fn cross_checks(&mut self, instances: &[Instance]) {
        let mut names: HashMap<&str, Span> = HashMap::new();
        let mut vrids: HashMap<(&str, u8, Family), (&str, Span)> = HashMap::new();
        let mut addresses: HashMap<IpAddr, (&str, Span)> = HashMap::new();
        for instance in instances {
            let ctx = vec![format!("vrrp_instance {}", instance.name)];
            if let Some(&first) = names.get(instance.name.as_str()) {
                let at = self.loc(first);
                self.err(
                    instance.span,
                    &ctx,
                    format!("an instance with this name is already defined at {at} (keepalived skips this block): rename one"),
                );
            } else {
                names.insert(&instance.name, instance.span);
            }
            let key = (instance.interface.as_str(), instance.vrid, instance.family);
            if let Some(&(other, at)) = vrids.get(&key) {
                let at = self.loc(at);
                self.err(
                    instance.span,
                    &ctx,
                    format!(
                        "VRID {} for {} on {} is already used by vrrp_instance {other} at {at}: each virtual router on a link needs its own VRID",
                        instance.vrid, instance.family, instance.interface
                    ),
                );
            } else {
                vrids.insert(key, (&instance.name, instance.span));
            }
            for vip in instance.vips.iter().chain(&instance.excluded_vips) {
                match addresses.get(&vip.addr) {
                    Some(&(other, at)) if other != instance.name => {
                        let at = self.loc(at);
                        self.warn(
                            vip.span,
                            &ctx,
                            format!(
                                "{} is also an address of vrrp_instance {other} (at {at})",
                                vip.addr
                            ),
                        );
                    }
                    Some(_) => {}
                    None => {
                        addresses.insert(vip.addr, (&instance.name, vip.span));
                    }
                }
            }
        }
    }
}

/// Why `addr` cannot be a virtual or source address, if it cannot.
fn not_unicast(addr: &IpAddr) -> Option<&'static str> {
    if addr.is_unspecified() {
        Some("the unspecified address")
    } else if addr.is_multicast() {
        Some("a multicast address")
    } else if matches!(addr, IpAddr::V4(v4) if v4.is_broadcast()) {
        Some("the broadcast address")
    } else {
        None
    }
}

fn is_link_local(addr: &IpAddr) -> bool {
    match addr {
        IpAddr::V6(v6) => v6.segments().first().is_some_and(|s| s & 0xffc0 == 0xfe80),
        IpAddr::V4(_) => false,
    }
}

/// The flag a valueless `virtual_ipaddress` option sets, if `name` is one.
fn vip_flag<'a>(flags: &'a mut VipFlags, name: &str) -> Option<&'a mut bool> {
    match name {
        "home" => Some(&mut flags.home),
        "-nodad" => Some(&mut flags.nodad),
        "mngtmpaddr" => Some(&mut flags.mngtmpaddr),
        "noprefixroute" => Some(&mut flags.noprefixroute),
        _ => None,
    }
}
