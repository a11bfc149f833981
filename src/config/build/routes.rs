//! `virtual_routes`, `virtual_rules` (in `vrrp_instance`) and the top-level `static_ipaddress`,
//! `static_routes` and `static_rules` blocks.
//!
//! keepalived 2.2.7 semantics (checked with `keepalived -t`), and where keepvip refuses what
//! keepalived would accept:
//! - A route line is `[blackhole|unreachable|prohibit|throw] [src IP] [to] PREFIX [via|gw IP]
//!   [dev IF] [scope S] [table T] [metric|priority|preference N] [protocol P] [onlink]
//!   [no_track]`, the words after the type in any order. `default` is 0.0.0.0/0.
//! - keepalived forces protocol 18 (`keepalived`) on a route without `no_track`, with a
//!   warning (it tracks such routes): keepvip does the same.
//! - A rule is `[from PREFIX|all] [to PREFIX|all] [iif IF] [oif IF] [fwmark N[/M]] table T
//!   priority|preference N [no_track]`; IPv4 unless an address says IPv6.
//! - keepvip refuses a rule without a priority (keepalived picks 16384, then 16383, ... with a
//!   warning that this is "probably not what you want") and one without a table (keepvip
//!   implements the lookup action only).
//! - A route prefix with host bits set is refused (keepalived accepts it; the kernel then
//!   refuses an IPv4 one and quietly masks an IPv6 one). keepalived refuses `default` after
//!   `src`, and so does keepvip.
//! - Every other word of keepalived's syntax (`nexthop`, `or`, `tos`, `mtu`, `goto`, `not`,
//!   `inet6`, `track_group` ...) is an error naming it.

use std::net::IpAddr;

use super::super::diag::Span;
use super::super::keywords::{self, Keyword, Support};
use super::super::model::{Prefix, Route, RouteType, Rule, Vip, PROTO_KEEPALIVED, TABLE_MAIN};
use super::super::tree::Statement;
use super::super::values::{parse_scope, parse_uint};
use super::{with, Builder};
use crate::wire::Family;

/// One word of a line, the keyword included.
struct W<'a> {
    text: &'a str,
    span: Span,
}

fn words(line: &Statement) -> Vec<W<'_>> {
    std::iter::once(&line.keyword)
        .chain(line.args.iter())
        .map(|w| W {
            text: w.text.as_str(),
            span: w.span,
        })
        .collect()
}

/// `ADDR[/LEN]`: the address and the prefix length (the full length without one).
fn parse_prefix(text: &str) -> Result<Prefix, String> {
    if text == "default" {
        return Ok(Prefix {
            addr: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            len: 0,
        });
    }
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| format!("'{text}' is not an address or prefix (ADDRESS[/LENGTH])"))?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_text {
        None => max,
        Some(l) => match parse_uint(l) {
            Ok(n) if n <= u64::from(max) => u8::try_from(n).unwrap_or(max),
            _ => {
                return Err(format!(
                    "'/{l}' is not a prefix length for {}: expected 0-{max}",
                    Family::of(&addr)
                ))
            }
        },
    };
    Ok(Prefix { addr, len })
}

/// The prefix with its host bits cleared.
fn network_of(p: Prefix) -> Prefix {
    let addr = match p.addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(p.len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(p.len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    Prefix { addr, len: p.len }
}

/// A routing table: a number 1-4294967295, or `main`, `local`, `default`.
fn parse_table(text: &str) -> Option<u32> {
    match text {
        "main" => Some(TABLE_MAIN),
        "local" => Some(255),
        "default" => Some(253),
        _ => parse_uint(text)
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n != 0),
    }
}

/// `/etc/iproute2/rt_protos` as iproute2 ships it, and keepalived's own.
const PROTOCOLS: &[(&str, u8)] = &[
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

fn parse_protocol(text: &str) -> Option<u8> {
    PROTOCOLS
        .iter()
        .find(|(name, _)| *name == text)
        .map(|&(_, n)| n)
        .or_else(|| parse_uint(text).ok().and_then(|n| u8::try_from(n).ok()))
}

/// A 32-bit number, decimal or `0x` hexadecimal (as `ip rule fwmark`).
fn parse_u32_any(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u32::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None => parse_uint(text).ok().and_then(|n| u32::try_from(n).ok()),
    }
}

impl Builder<'_> {
    /// The lines of a `*_routes` / `*_rules` / `static_ipaddress` block; reports arguments
    /// on the keyword and a missing block.
    fn lines<'s>(&mut self, st: &'s Statement, ctx: &[String], what: &str) -> &'s [Statement] {
        if let Some(arg) = st.args.first() {
            self.err(
                arg.span,
                ctx,
                format!("{what} go inside the block, one per line"),
            );
        }
        match &st.block {
            Some(block) => &block.items,
            None => {
                self.err(
                    st.keyword.span,
                    ctx,
                    format!("needs a '{{ ... }}' block of {what}"),
                );
                &[]
            }
        }
    }

    /// `virtual_routes { ... }` or `static_routes { ... }`.
    pub(super) fn routes_block(&mut self, st: &Statement, ctx: &[String]) -> Vec<Route> {
        let lines = self.lines(st, ctx, "routes");
        lines.iter().filter_map(|l| self.route(l, ctx)).collect()
    }

    /// `virtual_rules { ... }` or `static_rules { ... }`.
    pub(super) fn rules_block(&mut self, st: &Statement, ctx: &[String]) -> Vec<Rule> {
        let lines = self.lines(st, ctx, "rules");
        lines.iter().filter_map(|l| self.rule(l, ctx)).collect()
    }

    /// `static_ipaddress { ... }`: address lines as in `virtual_ipaddress`, each with `dev`.
    pub(super) fn static_addresses(&mut self, st: &Statement, ctx: &[String]) -> Vec<Vip> {
        let lines = self.lines(st, ctx, "addresses");
        let mut out = Vec::new();
        for line in lines {
            let Some(vip) = self.vip(line, ctx) else {
                continue;
            };
            if vip.dev.is_none() {
                self.err(
                    vip.span,
                    ctx,
                    format!(
                        "{} needs 'dev INTERFACE': a static address belongs to no instance",
                        vip.addr
                    ),
                );
                continue;
            }
            out.push(vip);
        }
        out
    }

    /// Checks a word against `table`: `Some(true)` = an implemented option, `Some(false)` = a
    /// known option keepvip does not implement (reported here), `None` = not an option (the
    /// caller decides: a destination, or an unknown word).
    fn option_word(
        &mut self,
        table: &'static [Keyword],
        what: &str,
        w: &W<'_>,
        ctx: &[String],
    ) -> Option<bool> {
        match keywords::lookup(table, w.text) {
            Some(Keyword {
                support: Support::Implemented,
                ..
            }) => Some(true),
            Some(_) => {
                self.err(
                    w.span,
                    ctx,
                    format!("{what} option '{}' is not supported by keepvip yet", w.text),
                );
                Some(false)
            }
            None => None,
        }
    }

    fn unknown_word(&mut self, table: &'static [Keyword], what: &str, w: &W<'_>, ctx: &[String]) {
        let message = match keywords::suggest(table, w.text) {
            Some(s) => format!("unknown {what} option '{}', did you mean '{s}'?", w.text),
            None => format!("unknown {what} option '{}' (one {what} per line)", w.text),
        };
        self.err(w.span, ctx, message);
    }

    fn route(&mut self, line: &Statement, ctx: &[String]) -> Option<Route> {
        if let Some(block) = &line.block {
            self.err(block.open, ctx, "a route line takes no '{ ... }' block");
            return None;
        }
        let words = words(line);
        let mut rest = words.iter().peekable();
        let mut kind = RouteType::Unicast;
        if let Some(first) = rest.peek() {
            let typed = match first.text {
                "blackhole" => Some(RouteType::Blackhole),
                "unreachable" => Some(RouteType::Unreachable),
                "prohibit" => Some(RouteType::Prohibit),
                "throw" => Some(RouteType::Throw),
                "unicast" => Some(RouteType::Unicast),
                "local" | "broadcast" | "multicast" | "anycast" | "nat" => {
                    self.err(
                        first.span,
                        ctx,
                        format!(
                            "'{}' routes are not supported by keepvip: use unicast, blackhole, unreachable, prohibit or throw",
                            first.text
                        ),
                    );
                    return None;
                }
                _ => None,
            };
            if let Some(t) = typed {
                kind = t;
                rest.next();
            }
        }
        let mut dst: Option<(Prefix, Span)> = None;
        let mut route = Route {
            kind,
            dst: Prefix {
                addr: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                len: 0,
            },
            src: None,
            via: None,
            dev: None,
            scope: None,
            table: TABLE_MAIN,
            metric: None,
            protocol: PROTO_KEEPALIVED,
            onlink: false,
            no_track: false,
            span: line.keyword.span,
        };
        let mut protocol: Option<(u8, Span)> = None;
        let mut seen: Vec<&str> = Vec::new();
        let mut ok = true;
        let mut addrs: Vec<(IpAddr, Span)> = Vec::new();
        while let Some(w) = rest.next() {
            let option = match self.option_word(keywords::ROUTE_OPTIONS, "route", w, ctx) {
                Some(true) => w.text,
                Some(false) => return None,
                None if dst.is_none() => {
                    if w.text == "default" && route.src.is_some() {
                        self.err(
                            w.span,
                            ctx,
                            "keepalived 2.2.7 refuses 'default' after 'src' (it mixes up the families): put 'default' first, or write 0.0.0.0/0",
                        );
                        return None;
                    }
                    match parse_prefix(w.text) {
                        Ok(p) => dst = Some((p, w.span)),
                        Err(e) => {
                            self.err(w.span, ctx, e);
                            return None;
                        }
                    }
                    continue;
                }
                None => {
                    self.unknown_word(keywords::ROUTE_OPTIONS, "route", w, ctx);
                    return None;
                }
            };
            // Synonyms count as one option.
            let canonical = match option {
                "gw" => "via",
                "priority" | "preference" => "metric",
                o => o,
            };
            if seen.contains(&canonical) {
                self.err(w.span, ctx, format!("'{option}' is given twice"));
                return None;
            }
            seen.push(canonical);
            match option {
                "onlink" => {
                    route.onlink = true;
                    continue;
                }
                "no_track" => {
                    route.no_track = true;
                    continue;
                }
                _ => {}
            }
            let Some(value) = rest.next() else {
                self.err(w.span, ctx, format!("'{option}' needs a value"));
                return None;
            };
            let v = value.text;
            match canonical {
                "to" => {
                    if dst.is_some() {
                        self.err(w.span, ctx, "the destination is given twice");
                        return None;
                    }
                    match parse_prefix(v) {
                        Ok(p) => dst = Some((p, value.span)),
                        Err(e) => {
                            self.err(value.span, ctx, e);
                            return None;
                        }
                    }
                }
                "src" | "via" => match v.parse::<IpAddr>() {
                    Ok(a) => {
                        addrs.push((a, value.span));
                        if canonical == "src" {
                            route.src = Some(a);
                        } else {
                            route.via = Some(a);
                        }
                    }
                    Err(_) => {
                        self.err(value.span, ctx, format!("'{v}' is not an IP address"));
                        ok = false;
                    }
                },
                "dev" => {
                    if self.interface_name(v, value.span, ctx) {
                        route.dev = Some(v.to_string());
                    } else {
                        ok = false;
                    }
                }
                "scope" => match parse_scope(v) {
                    Some(s) => route.scope = Some(s),
                    None => {
                        self.err(
                            value.span,
                            ctx,
                            format!("'{v}' is not a scope: use global, site, link, host, nowhere or 0-255"),
                        );
                        ok = false;
                    }
                },
                "table" => match parse_table(v) {
                    Some(t) => route.table = t,
                    None => {
                        self.err(value.span, ctx, format!("'{v}' is not a routing table: use 1-4294967295, main, local or default (keepvip does not read /etc/iproute2/rt_tables)"));
                        ok = false;
                    }
                },
                "metric" => match parse_uint(v).ok().and_then(|n| u32::try_from(n).ok()) {
                    Some(m) => route.metric = Some(m),
                    None => {
                        self.err(
                            value.span,
                            ctx,
                            format!("'{v}' is not a metric: expected 0-4294967295"),
                        );
                        ok = false;
                    }
                },
                "protocol" => match parse_protocol(v) {
                    Some(p) => protocol = Some((p, w.span)),
                    None => {
                        self.err(value.span, ctx, format!("'{v}' is not a route protocol: use 0-255 or a name of /etc/iproute2/rt_protos (static, kernel, boot, bird, zebra, keepalived ...)"));
                        ok = false;
                    }
                },
                _ => {
                    self.err(
                        w.span,
                        ctx,
                        format!("keepvip bug: route option '{option}' is listed as implemented but has no handler"),
                    );
                    ok = false;
                }
            }
        }
        let Some((dst, dst_span)) = dst else {
            self.err(
                line.keyword.span,
                ctx,
                "no destination: a route needs 'PREFIX' (or 'to PREFIX', or 'default')",
            );
            return None;
        };
        if !ok {
            return None;
        }
        route.dst = dst;
        let network = network_of(dst);
        if network != dst {
            self.err(
                dst_span,
                ctx,
                if dst.addr.is_ipv4() {
                    format!("{dst} has host bits set (the kernel refuses such a route): write {network}")
                } else {
                    format!("{dst} has host bits set (the kernel would quietly route {network}): write {network}")
                },
            );
            return None;
        }
        // `default` takes the family of the addresses given with it.
        let mut family = Family::of(&dst.addr);
        if dst.len == 0 && addrs.first().is_some_and(|(a, _)| a.is_ipv6()) {
            route.dst.addr = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
            family = Family::V6;
        }
        for (a, span) in &addrs {
            if Family::of(a) != family {
                self.err(
                    *span,
                    ctx,
                    format!(
                        "{a} is {} but the route to {} is {family}: a route is one family",
                        Family::of(a),
                        route.dst
                    ),
                );
                return None;
            }
        }
        if kind != RouteType::Unicast && route.via.is_some() {
            self.err(
                line.keyword.span,
                ctx,
                format!("a {} route has no gateway: remove 'via'", kind.name()),
            );
            return None;
        }
        if kind == RouteType::Unicast && route.via.is_none() && route.dev.is_none() {
            self.err(
                line.keyword.span,
                ctx,
                format!(
                    "the route to {} needs 'via ADDRESS' or 'dev INTERFACE'",
                    route.dst
                ),
            );
            return None;
        }
        let tracked = !route.no_track;
        match protocol {
            Some((p, span)) if tracked && p != PROTO_KEEPALIVED => {
                self.warn(
                    span,
                    ctx,
                    format!("protocol {p} becomes 18 (keepalived), as keepalived does for a route without 'no_track'; add no_track to keep protocol {p}"),
                );
            }
            Some((p, _)) => route.protocol = p,
            None => {}
        }
        Some(route)
    }

    fn rule(&mut self, line: &Statement, ctx: &[String]) -> Option<Rule> {
        if let Some(block) = &line.block {
            self.err(block.open, ctx, "a rule line takes no '{ ... }' block");
            return None;
        }
        let words = words(line);
        let mut rest = words.iter();
        let mut rule = Rule {
            family: Family::V4,
            from: None,
            to: None,
            iif: None,
            oif: None,
            fwmark: None,
            table: 0,
            priority: 0,
            no_track: false,
            span: line.keyword.span,
        };
        let mut table = None;
        let mut priority = None;
        let mut seen: Vec<&str> = Vec::new();
        let mut ok = true;
        let mut addrs: Vec<(Prefix, Span)> = Vec::new();
        while let Some(w) = rest.next() {
            let option = match self.option_word(keywords::RULE_OPTIONS, "rule", w, ctx) {
                Some(true) => w.text,
                Some(false) => return None,
                None => {
                    self.unknown_word(keywords::RULE_OPTIONS, "rule", w, ctx);
                    return None;
                }
            };
            let canonical = match option {
                "lookup" => "table",
                "preference" => "priority",
                o => o,
            };
            if seen.contains(&canonical) {
                self.err(w.span, ctx, format!("'{option}' is given twice"));
                return None;
            }
            seen.push(canonical);
            if option == "no_track" {
                rule.no_track = true;
                continue;
            }
            let Some(value) = rest.next() else {
                self.err(w.span, ctx, format!("'{option}' needs a value"));
                return None;
            };
            let v = value.text;
            match canonical {
                "from" | "to" => {
                    if v == "all" {
                        continue;
                    }
                    match parse_prefix(v) {
                        Ok(p) if v != "default" => {
                            addrs.push((p, value.span));
                            if canonical == "from" {
                                rule.from = Some(p);
                            } else {
                                rule.to = Some(p);
                            }
                        }
                        Ok(_) => {
                            self.err(
                                value.span,
                                ctx,
                                "write 'all' (or 0.0.0.0/0) for every address",
                            );
                            ok = false;
                        }
                        Err(e) => {
                            self.err(value.span, ctx, e);
                            ok = false;
                        }
                    }
                }
                "iif" | "oif" => {
                    if self.interface_name(v, value.span, ctx) {
                        if canonical == "iif" {
                            rule.iif = Some(v.to_string());
                        } else {
                            rule.oif = Some(v.to_string());
                        }
                    } else {
                        ok = false;
                    }
                }
                "fwmark" => {
                    let (mark, mask) = match v.split_once('/') {
                        Some((m, k)) => (parse_u32_any(m), Some(parse_u32_any(k))),
                        None => (parse_u32_any(v), None),
                    };
                    match (mark, mask) {
                        (Some(mark), None) => rule.fwmark = Some((mark, None)),
                        (Some(mark), Some(Some(mask))) => rule.fwmark = Some((mark, Some(mask))),
                        _ => {
                            self.err(
                                value.span,
                                ctx,
                                format!("'{v}' is not a mark: expected MARK or MARK/MASK, decimal or 0x hexadecimal"),
                            );
                            ok = false;
                        }
                    }
                }
                "table" => match parse_table(v) {
                    Some(t) => table = Some(t),
                    None => {
                        self.err(value.span, ctx, format!("'{v}' is not a routing table: use 1-4294967295, main, local or default (keepvip does not read /etc/iproute2/rt_tables)"));
                        ok = false;
                    }
                },
                "priority" => match parse_uint(v).ok().and_then(|n| u32::try_from(n).ok()) {
                    Some(p) => priority = Some(p),
                    None => {
                        self.err(
                            value.span,
                            ctx,
                            format!("'{v}' is not a rule priority: expected 0-4294967295"),
                        );
                        ok = false;
                    }
                },
                _ => {
                    self.err(
                        w.span,
                        ctx,
                        format!("keepvip bug: rule option '{option}' is listed as implemented but has no handler"),
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        if let Some((first, _)) = addrs.first() {
            rule.family = Family::of(&first.addr);
        }
        for (p, span) in &addrs {
            if Family::of(&p.addr) != rule.family {
                self.err(
                    *span,
                    ctx,
                    format!(
                        "{p} is {} but this rule is {}: a rule is one family",
                        Family::of(&p.addr),
                        rule.family
                    ),
                );
                return None;
            }
        }
        let Some(table) = table else {
            self.err(
                line.keyword.span,
                ctx,
                "the rule needs 'table N' (keepvip implements the lookup action only)",
            );
            return None;
        };
        let Some(priority) = priority else {
            self.err(
                line.keyword.span,
                ctx,
                "the rule needs 'priority N': keepalived would pick 16384 (then 16383 ...) and warn that it is probably not what you want",
            );
            return None;
        };
        rule.table = table;
        rule.priority = priority;
        Some(rule)
    }

    /// A top-level `static_*` block.
    pub(super) fn static_block(&mut self, st: &Statement) {
        let kw = st.keyword.text.as_str();
        let ctx = vec![kw.to_string()];
        match kw {
            "static_ipaddress" => {
                let addresses = self.static_addresses(st, &ctx);
                self.statics.addresses.extend(addresses);
            }
            "static_routes" => {
                let routes = self.routes_block(st, &ctx);
                self.statics.routes.extend(routes);
            }
            _ => {
                let rules = self.rules_block(st, &ctx);
                self.statics.rules.extend(rules);
            }
        }
    }

    /// Static addresses that are also an instance's VIP: the instance would delete them.
    pub(super) fn static_cross_checks(&mut self, instances: &[crate::config::model::Instance]) {
        let statics = self.statics.addresses.clone();
        for s in &statics {
            for i in instances {
                if let Some(v) = i
                    .vips
                    .iter()
                    .chain(&i.excluded_vips)
                    .find(|v| v.addr == s.addr)
                {
                    let at = self.loc(v.span);
                    self.err(
                        s.span,
                        &with(&["static_ipaddress".to_string()], &s.addr.to_string()),
                        format!("{} is also a virtual address of {} (at {at}): the instance would remove it on leaving MASTER", s.addr, i.name),
                    );
                }
            }
        }
    }
}
