//! Unicast keywords of `vrrp_instance`: `unicast_src_ip`, `unicast_peer { ADDR [min_ttl N]
//! [max_ttl N] ... }`, `unicast_ttl`, `check_unicast_src`, and their resolution against the
//! instance (family, duplicates, our own addresses).
//!
//! keepalived 2.2.7 semantics, and where keepvip refuses what keepalived logs and ignores:
//! - `unicast_src_ip` and `mcast_src_ip` are one setting; two different addresses are an error.
//! - A peer of the other family, a duplicate peer, a peer that is our source address or one of
//!   our VIPs, `min_ttl` above `max_ttl` and `unicast_ttl` without peers: errors.
//! - An empty `unicast_peer` block: multicast with a warning, as keepalived; with
//!   `unicast_fault_no_peer` the instance stays in FAULT instead.
//! - `min_ttl` / `max_ttl` turn source checking on for the instance, as in keepalived; keepvip
//!   checks by default anyway, and refuses them next to `check_unicast_src off`.

use std::collections::HashMap;
use std::net::IpAddr;

use super::super::diag::Span;
use super::super::keywords::{self, Keyword, Support};
use super::super::model::{Unicast, UnicastPeer};
use super::super::tree::Statement;
use super::super::values::{parse_uint, NumError};
use super::{first_arg, first_arg_span, not_unicast, with, Builder, Draft};
use crate::wire::Family;

/// What the unicast keywords of one instance said, before resolution.
#[derive(Default)]
pub(super) struct UnicastDraft {
    src_ip: Option<(IpAddr, Span)>,
    peers: Vec<DraftPeer>,
    /// Where `unicast_peer` blocks open, and how many lines they hold (valid or not).
    blocks: Vec<Span>,
    lines: usize,
    ttl: Option<(u8, Span)>,
    check_src: Option<(bool, Span)>,
}

struct DraftPeer {
    peer: UnicastPeer,
    /// Where the first `min_ttl` / `max_ttl` of the line is, if any.
    ttl_option: Option<Span>,
}

impl Builder<'_> {
    /// `unicast_src_ip`, `unicast_peer`, `unicast_ttl`, `check_unicast_src`.
    pub(super) fn unicast_keyword(&mut self, d: &mut Draft, st: &Statement, ctx: &[String]) {
        match st.keyword.text.as_str() {
            "unicast_src_ip" => {
                if self.simple(st, ctx, 1..=1, "unicast_src_ip ADDRESS") {
                    if let Some(ip) = self.source_address(st, ctx) {
                        d.unicast.src_ip = Some((ip, first_arg_span(st)));
                    }
                }
            }
            "unicast_ttl" => {
                if self.simple(st, ctx, 1..=1, "unicast_ttl 1-255") {
                    let expected = "1-255 (a TTL of 0 never leaves this host)";
                    if let Some(ttl) = self.uint(st, ctx, 1..=255, expected) {
                        d.unicast.ttl = u8::try_from(ttl).ok().map(|t| (t, first_arg_span(st)));
                    }
                }
            }
            "check_unicast_src" => {
                if let Some(on) = self.boolean(st, ctx, "check_unicast_src") {
                    d.unicast.check_src = Some((on, st.keyword.span));
                }
            }
            "unicast_peer" => self.unicast_peer_block(d, st, ctx),
            _ => self.unhandled(st, &ctx[..ctx.len().saturating_sub(1)]),
        }
    }

    /// `ADDRESS/PREFIX` where one address is meant: keepalived drops the prefix length, and so
    /// does keepvip, with a warning. Anything else stays an error for the caller to report.
    fn address_with_ignored_prefix(
        &mut self,
        text: &str,
        span: Span,
        ctx: &[String],
        what: &str,
    ) -> Result<IpAddr, ()> {
        let (addr, prefix) = text.split_once('/').ok_or(())?;
        let addr: IpAddr = addr.parse().map_err(|_| ())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let host_bits = |len: u8| -> bool {
            let bits: u128 = match addr {
                IpAddr::V4(v4) => u128::from(u32::from(v4)),
                IpAddr::V6(v6) => u128::from(v6),
            };
            let host = u32::from(max - len);
            host == 0 || bits & ((1u128 << host) - 1) != 0
        };
        match prefix.parse::<u8>() {
            // `192.0.2.0/24` names a network, not a router: that stays an error.
            Ok(len) if len <= max && host_bits(len) => {
                self.warn(
                    span,
                    ctx,
                    format!("prefix length /{len} ignored, as keepalived ignores it: {what} is one address, {addr}"),
                );
                Ok(addr)
            }
            _ => Err(()),
        }
    }

    fn source_address(&mut self, st: &Statement, ctx: &[String]) -> Option<IpAddr> {
        let text = first_arg(st);
        let span = first_arg_span(st);
        let parsed = match text.parse::<IpAddr>() {
            Ok(ip) => Ok(ip),
            Err(_) => self.address_with_ignored_prefix(text, span, ctx, "the source"),
        };
        match parsed {
            Ok(ip) => match not_unicast(&ip) {
                Some(problem) => {
                    self.err(
                        span,
                        ctx,
                        format!("{ip} is {problem}: adverts need a unicast source"),
                    );
                    None
                }
                None => Some(ip),
            },
            Err(_) => {
                self.err(span, ctx, format!("'{text}' is not an IP address"));
                None
            }
        }
    }

    fn unicast_peer_block(&mut self, d: &mut Draft, st: &Statement, ctx: &[String]) {
        if let Some(arg) = st.args.first() {
            self.err(arg.span, ctx, "peers go inside the block, one per line");
        }
        let Some(block) = &st.block else {
            self.err(
                st.keyword.span,
                ctx,
                "needs a '{ ... }' block of peer addresses",
            );
            return;
        };
        d.unicast.blocks.push(block.open);
        d.unicast.lines += block.items.len();
        for line in &block.items {
            if let Some(peer) = self.unicast_peer_line(line, ctx) {
                d.unicast.peers.push(peer);
            }
        }
    }

    /// `ADDRESS [min_ttl N] [max_ttl N]`.
    fn unicast_peer_line(&mut self, line: &Statement, ctx: &[String]) -> Option<DraftPeer> {
        let text = line.keyword.text.as_str();
        let span = line.keyword.span;
        if let Some(block) = &line.block {
            self.err(block.open, ctx, "a peer line takes no '{ ... }' block");
            return None;
        }
        let addr = match text.parse::<IpAddr>() {
            Ok(addr) => Ok(addr),
            Err(_) => self.address_with_ignored_prefix(text, span, ctx, "a peer"),
        };
        let Ok(addr) = addr else {
            let hint = if text.contains('/') {
                " (a peer is one address: no prefix length)"
            } else if text.contains('%') {
                " (no zone index: link-local peers are reached on the instance's interface)"
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
                format!("{addr} is {problem}: a peer is the unicast address of another router"),
            );
            return None;
        }
        let mut peer = DraftPeer {
            peer: UnicastPeer {
                addr,
                min_ttl: 0,
                max_ttl: u8::MAX,
                span,
            },
            ttl_option: None,
        };
        let mut seen: Vec<&str> = Vec::new();
        let mut args = line.args.iter();
        while let Some(option) = args.next() {
            let name = option.text.as_str();
            match keywords::lookup(keywords::UNICAST_PEER_OPTIONS, name) {
                Some(Keyword {
                    support: Support::Implemented,
                    ..
                }) => {}
                _ => {
                    let message = match keywords::suggest(keywords::UNICAST_PEER_OPTIONS, name) {
                        Some(s) => format!("unknown peer option '{name}', did you mean '{s}'?"),
                        None => format!(
                            "unknown peer option '{name}': expected min_ttl or max_ttl (one peer per line)"
                        ),
                    };
                    self.err(option.span, ctx, message);
                    return None;
                }
            }
            if seen.contains(&name) {
                self.err(option.span, ctx, format!("'{name}' is given twice"));
                return None;
            }
            seen.push(name);
            let Some(value) = args.next() else {
                self.err(option.span, ctx, format!("'{name}' needs a value 0-255"));
                return None;
            };
            let ttl = match parse_uint(&value.text) {
                Ok(n) => u8::try_from(n).ok(),
                Err(NumError::TooLarge) => None,
                Err(_) => {
                    self.err(
                        value.span,
                        ctx,
                        format!("'{}' is not a whole number: expected 0-255", value.text),
                    );
                    return None;
                }
            };
            let Some(ttl) = ttl else {
                self.err(
                    value.span,
                    ctx,
                    format!("{} is out of range: expected 0-255", value.text),
                );
                return None;
            };
            if name == "min_ttl" {
                peer.peer.min_ttl = ttl;
            } else {
                peer.peer.max_ttl = ttl;
            }
            peer.ttl_option.get_or_insert(option.span);
        }
        if peer.peer.min_ttl > peer.peer.max_ttl {
            self.err(
                span,
                ctx,
                format!(
                    "min_ttl {} is above max_ttl {}: every advert from {addr} would be dropped",
                    peer.peer.min_ttl, peer.peer.max_ttl
                ),
            );
            return None;
        }
        Some(peer)
    }

    /// Checks the unicast settings against the instance (its `family`, source and VIPs) and
    /// merges `unicast_src_ip` into the source address. `None` = multicast.
    pub(super) fn resolve_unicast(
        &mut self,
        d: &mut Draft,
        family: Family,
        ctx: &[String],
    ) -> Option<Unicast> {
        let peers_ctx = with(ctx, "unicast_peer");
        let draft = std::mem::take(&mut d.unicast);
        if let Some((ip, span)) = draft.src_ip {
            let here = with(ctx, "unicast_src_ip");
            if Family::of(&ip) != family {
                self.err(
                    span,
                    &here,
                    format!(
                        "{ip} is {} but the instance's addresses are {family}",
                        Family::of(&ip)
                    ),
                );
            }
            match d.mcast_src_ip {
                Some((other, at)) if other != ip => {
                    let at = self.loc(at);
                    self.err(
                        span,
                        &here,
                        format!(
                            "mcast_src_ip {other} at {at} sets the same source address (keepalived keeps whichever comes last): keep one"
                        ),
                    );
                }
                _ => d.mcast_src_ip = Some((ip, span)),
            }
        }
        if let (Some(_), true, Some((_, src))) = (
            d.unicast_fault_no_peer,
            draft.blocks.is_empty(),
            draft.src_ip,
        ) {
            d.no_peer_fault = true;
            self.warn(
                src,
                &with(ctx, "unicast_src_ip"),
                "no unicast_peer: with unicast_fault_no_peer this instance stays in FAULT",
            );
        }
        if let Some(&open) = draft.blocks.first() {
            if draft.lines == 0 && d.unicast_fault_no_peer.is_some() {
                d.no_peer_fault = true;
                self.warn(
                    open,
                    &peers_ctx,
                    "the block is empty: with unicast_fault_no_peer this instance stays in FAULT (list the other routers' addresses)",
                );
            } else if draft.lines == 0 {
                self.warn(
                    open,
                    &peers_ctx,
                    "the block is empty: this instance uses multicast, as keepalived does (it calls this usage deprecated); list the other routers' addresses, or remove the block",
                );
            }
        }
        let source = d.mcast_src_ip.map(|(ip, _)| ip);
        let mut first_seen: HashMap<IpAddr, Span> = HashMap::new();
        let mut peers = Vec::with_capacity(draft.peers.len());
        let mut ttl_option = None;
        for DraftPeer {
            peer,
            ttl_option: option,
        } in draft.peers
        {
            let addr = peer.addr;
            let problem = if Family::of(&addr) != family {
                Some(format!(
                    "{addr} is {} but the instance's addresses are {family}",
                    Family::of(&addr)
                ))
            } else if let Some(&at) = first_seen.get(&addr) {
                Some(format!("{addr} is already listed at {}", self.loc(at)))
            } else if source == Some(addr) {
                Some(format!(
                    "{addr} is this router's own source address (unicast_src_ip / mcast_src_ip): list the other routers"
                ))
            } else if d
                .vips
                .iter()
                .chain(&d.excluded_vips)
                .any(|v| v.addr == addr)
            {
                Some(format!(
                    "{addr} is a virtual address of this instance: list the other routers' own addresses"
                ))
            } else {
                None
            };
            match problem {
                Some(message) => self.err(peer.span, &peers_ctx, message),
                None => {
                    first_seen.insert(addr, peer.span);
                    ttl_option = ttl_option.or(option);
                    peers.push(peer);
                }
            }
        }
        if peers.is_empty() {
            if let Some((_, span)) = draft.ttl {
                self.err(
                    span,
                    &with(ctx, "unicast_ttl"),
                    "needs unicast_peer: multicast adverts always go out with TTL 255",
                );
            }
            if let (Some((_, span)), true) = (draft.check_src, draft.blocks.is_empty()) {
                self.warn(
                    span,
                    &with(ctx, "check_unicast_src"),
                    "has no effect without unicast_peer",
                );
            }
            return None;
        }
        let check_src = match (draft.check_src, ttl_option) {
            (Some((false, at)), Some(option)) => {
                let at = self.loc(at);
                self.err(
                    option,
                    &peers_ctx,
                    format!(
                        "min_ttl / max_ttl are checked only with source checking, which 'check_unicast_src off' at {at} turns off: remove one"
                    ),
                );
                false
            }
            (Some((on, _)), _) => on,
            // As in keepalived, a TTL range turns the check on whatever global_defs says.
            (None, Some(_)) => true,
            (None, None) => self.global.check_unicast_src,
        };
        Some(Unicast {
            peers,
            ttl: draft.ttl.map(|(ttl, _)| ttl),
            check_src,
        })
    }
}
