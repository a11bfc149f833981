//! Routes and policy rules through rtnetlink: `RTM_NEWROUTE` / `RTM_DELROUTE`,
//! `RTM_NEWRULE` / `RTM_DELRULE`, and dumps of both (for tests and diagnostics).
//!
//! Kernel behaviour relied on (checked by the tests in `tests.rs`):
//! - An add with `NLM_F_EXCL` of a route or rule that exists fails with `EEXIST`: that is
//!   success here, as for addresses (a restart after a crash finds its own leftovers).
//! - A delete of a route or rule that is not there fails with `ESRCH` (routes) or `ENOENT`
//!   (rules): success too.
//! - A route through a gateway the kernel cannot reach fails with `ENETUNREACH`; a `src` that
//!   is not a local address with `EINVAL`.

use std::io;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::errno::Errno;

use super::request::{Reply, RequestSocket};

/// `RTN_*` values.
pub const RTN_UNICAST: u8 = 1;
pub const RTN_BLACKHOLE: u8 = 6;
pub const RTN_UNREACHABLE: u8 = 7;
pub const RTN_PROHIBIT: u8 = 8;
pub const RTN_THROW: u8 = 9;
/// `RT_TABLE_COMPAT`: the header's table byte when the table does not fit in it.
const RT_TABLE_COMPAT: u8 = 252;
const RT_SCOPE_LINK: u8 = 253;

/// One route as the kernel takes it, interfaces resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub dst: IpAddr,
    pub dst_len: u8,
    /// `RTN_*`.
    pub kind: u8,
    /// `RTA_PREFSRC`.
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    /// `None`: link for a unicast route without a gateway, else global (as `ip route`).
    pub scope: Option<u8>,
    pub table: u32,
    pub metric: Option<u32>,
    pub protocol: u8,
    pub onlink: bool,
}

/// One policy rule with the lookup action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    pub ipv6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub table: u32,
    pub priority: u32,
    pub protocol: u8,
}

fn family_of(ipv6: bool) -> AddressFamily {
    if ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    }
}

fn table_byte(table: u32) -> u8 {
    u8::try_from(table).unwrap_or(RT_TABLE_COMPAT)
}

fn check_prefix(addr: IpAddr, len: u8) -> io::Result<()> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("prefix length /{len} is too long for {addr} (at most /{max})"),
        ));
    }
    Ok(())
}

fn route_message(route: &RouteSpec) -> io::Result<RouteMessage> {
    check_prefix(route.dst, route.dst_len)?;
    let mut msg = RouteMessage::default();
    msg.header.address_family = family_of(route.dst.is_ipv6());
    msg.header.destination_prefix_length = route.dst_len;
    msg.header.table = table_byte(route.table);
    msg.header.protocol = RouteProtocol::from(route.protocol);
    let scope = route
        .scope
        .unwrap_or(if route.kind == RTN_UNICAST && route.via.is_none() {
            RT_SCOPE_LINK
        } else {
            0
        });
    msg.header.scope = RouteScope::from(scope);
    msg.header.kind = RouteType::from(route.kind);
    if route.onlink {
        msg.header.flags = RouteFlags::Onlink;
    }
    if route.dst_len > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(route.dst)));
    }
    msg.attributes.push(RouteAttribute::Table(route.table));
    if let Some(via) = route.via {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(via)));
    }
    if let Some(oif) = route.oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    if let Some(src) = route.src {
        msg.attributes
            .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
    }
    if let Some(metric) = route.metric {
        msg.attributes.push(RouteAttribute::Priority(metric));
    }
    Ok(msg)
}

fn rule_message(rule: &RuleSpec) -> io::Result<RuleMessage> {
    let mut msg = RuleMessage::default();
    msg.header.family = family_of(rule.ipv6);
    msg.header.table = table_byte(rule.table);
    msg.header.action = RuleAction::ToTable;
    if let Some((addr, len)) = rule.from {
        check_prefix(addr, len)?;
        msg.header.src_len = len;
        msg.attributes.push(RuleAttribute::Source(addr));
    }
    if let Some((addr, len)) = rule.to {
        check_prefix(addr, len)?;
        msg.header.dst_len = len;
        msg.attributes.push(RuleAttribute::Destination(addr));
    }
    if let Some(iif) = &rule.iif {
        msg.attributes.push(RuleAttribute::Iifname(iif.clone()));
    }
    if let Some(oif) = &rule.oif {
        msg.attributes.push(RuleAttribute::Oifname(oif.clone()));
    }
    if let Some(mark) = rule.fwmark {
        msg.attributes.push(RuleAttribute::FwMark(mark));
    }
    if let Some(mask) = rule.fwmask {
        msg.attributes.push(RuleAttribute::FwMask(mask));
    }
    msg.attributes.push(RuleAttribute::Priority(rule.priority));
    msg.attributes.push(RuleAttribute::Table(rule.table));
    msg.attributes
        .push(RuleAttribute::Protocol(RouteProtocol::from(rule.protocol)));
    Ok(msg)
}

fn is_errno(e: &io::Error, errnos: &[Errno]) -> bool {
    errnos
        .iter()
        .any(|errno| e.raw_os_error() == Some(*errno as i32))
}

/// A route as a dump reports it: enough to find ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    pub dst: Option<IpAddr>,
    pub dst_len: u8,
    pub table: u32,
    pub kind: u8,
    pub protocol: u8,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    pub src: Option<IpAddr>,
    pub metric: Option<u32>,
}

/// A rule as a dump reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub ipv6: bool,
    pub priority: u32,
    pub table: u32,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub protocol: u8,
}

fn ip_of(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

fn route_info(msg: &RouteMessage) -> RouteInfo {
    let header: &RouteHeader = &msg.header;
    let mut info = RouteInfo {
        dst: None,
        dst_len: header.destination_prefix_length,
        table: u32::from(header.table),
        kind: u8::from(header.kind),
        protocol: u8::from(header.protocol),
        via: None,
        oif: None,
        src: None,
        metric: None,
    };
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(a) => info.dst = ip_of(a),
            RouteAttribute::Gateway(a) => info.via = ip_of(a),
            RouteAttribute::PrefSource(a) => info.src = ip_of(a),
            RouteAttribute::Oif(i) => info.oif = Some(*i),
            RouteAttribute::Table(t) => info.table = *t,
            RouteAttribute::Priority(m) => info.metric = Some(*m),
            _ => {}
        }
    }
    info
}

fn rule_info(msg: &RuleMessage) -> RuleInfo {
    let mut info = RuleInfo {
        ipv6: msg.header.family == AddressFamily::Inet6,
        priority: 0,
        table: u32::from(msg.header.table),
        from: None,
        to: None,
        protocol: 0,
    };
    for attr in &msg.attributes {
        match attr {
            RuleAttribute::Priority(p) => info.priority = *p,
            RuleAttribute::Table(t) => info.table = *t,
            RuleAttribute::Source(a) => info.from = Some((*a, msg.header.src_len)),
            RuleAttribute::Destination(a) => info.to = Some((*a, msg.header.dst_len)),
            RuleAttribute::Protocol(p) => info.protocol = u8::from(*p),
            _ => {}
        }
    }
    info
}

impl RequestSocket {
    /// Adds a route (`ip route add`: an existing identical route is success).
    pub fn add_route(&mut self, route: &RouteSpec) -> io::Result<()> {
        let msg = route_message(route)?;
        match self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            Reply::Ack,
        ) {
            Err(e) if is_errno(&e, &[Errno::EEXIST]) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Deletes a route; one that is not there is success.
    pub fn del_route(&mut self, route: &RouteSpec) -> io::Result<()> {
        let mut msg = route_message(route)?;
        // The kernel matches a delete on what it is given; the scope only narrows it.
        msg.header.scope = RouteScope::NoWhere;
        match self.request(RouteNetlinkMessage::DelRoute(msg), NLM_F_ACK, Reply::Ack) {
            Err(e) if is_errno(&e, &[Errno::ESRCH, Errno::ENOENT]) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Adds a rule (an identical rule already there is success).
    pub fn add_rule(&mut self, rule: &RuleSpec) -> io::Result<()> {
        let msg = rule_message(rule)?;
        match self.request(
            RouteNetlinkMessage::NewRule(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            Reply::Ack,
        ) {
            Err(e) if is_errno(&e, &[Errno::EEXIST]) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Deletes a rule; one that is not there is success.
    pub fn del_rule(&mut self, rule: &RuleSpec) -> io::Result<()> {
        let msg = rule_message(rule)?;
        match self.request(RouteNetlinkMessage::DelRule(msg), NLM_F_ACK, Reply::Ack) {
            Err(e) if is_errno(&e, &[Errno::ESRCH, Errno::ENOENT]) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Every route of both families, all tables.
    pub fn dump_routes(&mut self) -> io::Result<Vec<RouteInfo>> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut msg = RouteMessage::default();
            msg.header.address_family = family;
            let replies =
                self.request(RouteNetlinkMessage::GetRoute(msg), NLM_F_DUMP, Reply::Dump)?;
            out.extend(replies.iter().filter_map(|r| match r {
                RouteNetlinkMessage::NewRoute(m) => Some(route_info(m)),
                _ => None,
            }));
        }
        Ok(out)
    }

    /// Every rule of both families.
    pub fn dump_rules(&mut self) -> io::Result<Vec<RuleInfo>> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut msg = RuleMessage::default();
            msg.header.family = family;
            let replies =
                self.request(RouteNetlinkMessage::GetRule(msg), NLM_F_DUMP, Reply::Dump)?;
            out.extend(replies.iter().filter_map(|r| match r {
                RouteNetlinkMessage::NewRule(m) => Some(rule_info(m)),
                _ => None,
            }));
        }
        Ok(out)
    }
}
