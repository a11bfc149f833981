//! `virtual_routes` / `virtual_rules` of the instances and the `static_*` blocks, on their way
//! to the kernel through the address worker (so the loop never waits for RTNL, and a route
//! lands after the addresses submitted before it: a `src VIP` route needs its VIP first).
//!
//! What each holder (an instance, or [`STATIC_HOLDER`]) has in the kernel is kept here, as the
//! kernel took it (interfaces resolved then), and brought in line with what its configuration
//! asks for by [`Daemon::sync_routes`]: on becoming master (after the VIP adds), at each lease
//! renewal and reload (what changed), and on release (everything goes, before the VIP
//! deletes). Rules go in after routes and come out before them. A route or rule the kernel
//! refuses is logged with its holder and left out (the next sync tries again); it never holds
//! the VIPs up.

use super::load::StaticSpecs;
use super::vip_changes::{Answer, Purpose, RouteDone};
use super::*;
use crate::config::{Route, RouteType, Rule};
use crate::io::netlink::{
    AddressChange, ChangeKind, NetChange, RouteSpec, RuleSpec, RTN_BLACKHOLE, RTN_PROHIBIT,
    RTN_THROW, RTN_UNICAST, RTN_UNREACHABLE,
};

/// The holder of the `static_*` entries.
pub(super) const STATIC_HOLDER: &str = "static";

/// A route or a rule, as the kernel took it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    Route(RouteSpec),
    Rule(RuleSpec),
}

/// What every holder has in the kernel, and the static configuration.
#[derive(Default)]
pub(super) struct Routes {
    held: HashMap<String, Vec<Entry>>,
    statics: StaticSpecs,
}

fn route_kind(kind: RouteType) -> u8 {
    match kind {
        RouteType::Unicast => RTN_UNICAST,
        RouteType::Blackhole => RTN_BLACKHOLE,
        RouteType::Unreachable => RTN_UNREACHABLE,
        RouteType::Prohibit => RTN_PROHIBIT,
        RouteType::Throw => RTN_THROW,
    }
}

/// How a dump reports a default route's destination: absent.
fn unspecified_like(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

fn rule_spec(rule: &Rule) -> RuleSpec {
    RuleSpec {
        ipv6: rule.family == Family::V6,
        from: rule.from.map(|p| (p.addr, p.len)),
        to: rule.to.map(|p| (p.addr, p.len)),
        iif: rule.iif.clone(),
        oif: rule.oif.clone(),
        fwmark: rule.fwmark.map(|(mark, _)| mark),
        fwmask: rule.fwmark.and_then(|(_, mask)| mask),
        table: rule.table,
        priority: rule.priority,
        protocol: crate::config::PROTO_KEEPALIVED,
    }
}

impl Daemon {
    /// The kernel's form of `route`; `None` (logged) if its interface does not exist.
    fn route_spec(&self, holder: &str, route: &Route) -> Option<RouteSpec> {
        let oif = match &route.dev {
            Some(dev) => match self.links.by_name(dev) {
                Some(link) => Some(link.ifindex),
                None => {
                    error!("{holder}: cannot add route {route}: interface {dev} does not exist");
                    return None;
                }
            },
            None => None,
        };
        Some(RouteSpec {
            dst: route.dst.addr,
            dst_len: route.dst.len,
            kind: route_kind(route.kind),
            src: route.src,
            via: route.via,
            oif,
            scope: route.scope.map(|s| s.as_u8()),
            table: route.table,
            metric: route.metric,
            protocol: route.protocol,
            onlink: route.onlink,
        })
    }

    /// `holder`'s routes and rules as they should be in the kernel now.
    fn wanted(&self, holder: &str, routes: &[Route], rules: &[Rule]) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for route in routes {
            if let Some(spec) = self.route_spec(holder, route) {
                let entry = Entry::Route(spec);
                if !out.contains(&entry) {
                    out.push(entry);
                }
            }
        }
        for rule in rules {
            let entry = Entry::Rule(rule_spec(rule));
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        out
    }

    /// Brings `holder`'s routes and rules in the kernel in line with `wanted`: deletes first
    /// (rules, then routes), then adds (routes, then rules), all behind what is queued.
    fn sync_routes(&mut self, holder: &str, wanted: Vec<Entry>) {
        let held = self.routes.held.remove(holder).unwrap_or_default();
        let mut going: Vec<&Entry> = held.iter().filter(|e| !wanted.contains(e)).collect();
        // Rules before routes.
        going.sort_by_key(|e| matches!(e, Entry::Route(_)));
        let deletes: Vec<NetChange> = going
            .into_iter()
            .map(|e| match e {
                Entry::Route(r) => NetChange::DelRoute(r.clone()),
                Entry::Rule(r) => NetChange::DelRule(r.clone()),
            })
            .collect();
        let adds: Vec<NetChange> = wanted
            .iter()
            .filter(|e| !held.contains(e))
            .map(|e| match e {
                Entry::Route(r) => NetChange::AddRoute(r.clone()),
                Entry::Rule(r) => NetChange::AddRule(r.clone()),
            })
            .collect();
        if !wanted.is_empty() {
            self.routes.held.insert(holder.to_string(), wanted);
        }
        for change in deletes.into_iter().chain(adds) {
            self.submit_route_change(change, holder);
        }
    }

    /// An instance that holds its VIPs: its routes and rules as configured (called after its
    /// VIP adds were queued).
    pub(super) fn sync_instance_routes(&mut self, idx: usize) {
        let spec = &self.instances[idx].spec;
        if spec.routes.is_empty()
            && spec.rules.is_empty()
            && !self.routes.held.contains_key(&spec.name)
        {
            return;
        }
        let name = spec.name.clone();
        let wanted = self.wanted(&name, &spec.routes, &spec.rules);
        self.sync_routes(&name, wanted);
    }

    /// `holder` lets go of its routes and rules (before its VIP deletes are queued).
    pub(super) fn release_routes(&mut self, holder: &str) {
        if self.routes.held.contains_key(holder) {
            self.sync_routes(holder, Vec::new());
        }
    }

    /// At start and after a reload: the `static_*` blocks as `statics` says. Addresses first,
    /// then routes and rules; what a reload dropped goes first, in the reverse order.
    pub(super) fn set_statics(&mut self, statics: StaticSpecs) {
        let wanted = self.wanted(STATIC_HOLDER, &statics.routes, &statics.rules);
        let wanted_addrs: Vec<(u32, &VipSpec)> = statics
            .addresses
            .iter()
            .filter_map(|vip| {
                let dev = vip.dev.as_deref().unwrap_or_default();
                match self.links.by_name(dev) {
                    Some(link) => Some((link.ifindex, vip)),
                    None => {
                        error!(
                            "{STATIC_HOLDER}: cannot add {}: interface {dev} does not exist",
                            vip.display()
                        );
                        None
                    }
                }
            })
            .collect();
        let held_addrs = self.installed.held_by(STATIC_HOLDER);
        let dropped: Vec<(u32, IpAddr)> = held_addrs
            .iter()
            .copied()
            .filter(|&(i, a)| !wanted_addrs.iter().any(|(wi, v)| *wi == i && v.addr == a))
            .collect();
        let added: Vec<AddressChange> = wanted_addrs
            .iter()
            .filter(|(i, v)| !held_addrs.contains(&(*i, v.addr)))
            .map(|(ifindex, vip)| AddressChange {
                ifindex: *ifindex,
                addr: vip.addr,
                prefix_len: vip.prefix_len,
                kind: ChangeKind::Add {
                    label: vip.label.clone(),
                    lifetime: None,
                    scope: vip.scope,
                    broadcast: vip.broadcast,
                    deprecated: vip.deprecated,
                    flags: vip.flags,
                    preferred: vip.preferred,
                    replace: true,
                },
            })
            .collect();
        self.routes.statics = statics;
        // Rules and routes that go, before the addresses they may use.
        let keep: Vec<Entry> = self
            .routes
            .held
            .get(STATIC_HOLDER)
            .map(|held| {
                held.iter()
                    .filter(|e| wanted.contains(e))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        self.sync_routes(STATIC_HOLDER, keep);
        for (ifindex, addr) in dropped {
            self.release_address(STATIC_HOLDER, ifindex, addr);
        }
        let now = Instant::now();
        for change in added {
            self.installed.added(
                change.ifindex,
                change.addr,
                change.prefix_len,
                STATIC_HOLDER,
            );
            let purpose = Purpose {
                holder: STATIC_HOLDER.to_string(),
                renew: false,
            };
            self.submit_vip_change(change, purpose, now);
        }
        self.sync_routes(STATIC_HOLDER, wanted);
    }

    /// At stop: the static rules, routes and addresses go, in that order (keepalived removes
    /// them at exit too).
    pub(super) fn remove_statics(&mut self) {
        self.release_routes(STATIC_HOLDER);
        for (ifindex, addr) in self.installed.held_by(STATIC_HOLDER) {
            self.release_address(STATIC_HOLDER, ifindex, addr);
        }
    }

    /// At start, before any instance runs: the virtual routes and rules a crash (or an
    /// operator) left behind go, so that a backup never routes for the master. Synchronous,
    /// like the stale-VIP sweep next to it; only entries with the configured destination,
    /// table, type and protocol (18 unless `no_track` says otherwise) are touched.
    pub(super) fn remove_stale_routes(&mut self, specs: &[InstanceSpec]) {
        if specs
            .iter()
            .all(|s| s.routes.is_empty() && s.rules.is_empty())
        {
            return;
        }
        let (routes, rules) = match (self.netlink.dump_routes(), self.netlink.dump_rules()) {
            (Ok(routes), Ok(rules)) => (routes, rules),
            (Err(e), _) | (_, Err(e)) => {
                error!("cannot read the routes and rules to remove stale ones: {e}");
                return;
            }
        };
        let mut stale = Vec::new();
        for spec in specs {
            for entry in self.wanted(&spec.name, &spec.routes, &spec.rules) {
                let present = match &entry {
                    Entry::Route(r) => routes.iter().any(|p| {
                        p.dst_len == r.dst_len
                            && p.dst.unwrap_or(unspecified_like(r.dst)) == r.dst
                            && p.table == r.table
                            && p.kind == r.kind
                            && p.protocol == r.protocol
                            && (r.via.is_none() || p.via == r.via)
                    }),
                    Entry::Rule(r) => rules.iter().any(|p| {
                        p.ipv6 == r.ipv6
                            && p.priority == r.priority
                            && p.table == r.table
                            && p.protocol == r.protocol
                            && p.from == r.from
                            && p.to == r.to
                    }),
                };
                if present {
                    stale.push((spec.name.clone(), entry));
                }
            }
        }
        // Rules before the routes they lead to.
        stale.sort_by_key(|(_, e)| matches!(e, Entry::Route(_)));
        for (holder, entry) in stale {
            let (change, result) = match entry {
                Entry::Route(r) => {
                    let result = self.netlink.del_route(&r);
                    (NetChange::DelRoute(r), result)
                }
                Entry::Rule(r) => {
                    let result = self.netlink.del_rule(&r);
                    (NetChange::DelRule(r), result)
                }
            };
            let what = self.describe(&change);
            match result {
                Ok(()) => warn!(
                    "{holder}: removed stale {what} (left behind by an earlier run or by hand)"
                ),
                Err(e) => error!("{holder}: cannot remove stale {what}: {e}"),
            }
        }
    }

    /// After a panic: what is held goes, with the caller's fresh socket, rules first.
    pub(super) fn emergency_release_routes(&mut self, netlink: &mut RequestSocket) {
        let mut entries: Vec<Entry> = self.routes.held.drain().flat_map(|(_, e)| e).collect();
        entries.sort_by_key(|e| matches!(e, Entry::Route(_)));
        for entry in entries {
            let result = match &entry {
                Entry::Route(r) => netlink.del_route(r),
                Entry::Rule(r) => netlink.del_rule(r),
            };
            if let Err(e) = result {
                error!("cannot release a route or rule after an internal error: {e}");
            }
        }
    }

    /// Queues a route or rule change, or makes it here if the worker is gone.
    fn submit_route_change(&mut self, change: NetChange, holder: &str) {
        if let Err(refused) = self.vip_changes.submit_route(change, holder) {
            let (change, purpose) = *refused;
            warn!("the address worker is gone: changing a route on the event loop");
            let started = Instant::now();
            let result = crate::io::netlink::apply_net_change(&mut self.netlink, &change);
            let answer = self
                .vip_changes
                .done_inline(change, purpose, result, started.elapsed());
            self.answered(answer, Instant::now());
        }
    }

    /// Any answer of the worker.
    pub(super) fn answered(&mut self, answer: Answer, now: Instant) -> bool {
        match answer {
            Answer::Address(done) => {
                let released = !done.released.is_empty();
                self.vip_change_done(done, now);
                released
            }
            Answer::Route(done) => {
                self.route_change_done(done);
                false
            }
        }
    }

    fn describe(&self, change: &NetChange) -> String {
        match change {
            NetChange::AddRoute(r) | NetChange::DelRoute(r) => {
                let mut text = match r.kind {
                    RTN_BLACKHOLE => "blackhole ".to_string(),
                    RTN_UNREACHABLE => "unreachable ".to_string(),
                    RTN_PROHIBIT => "prohibit ".to_string(),
                    RTN_THROW => "throw ".to_string(),
                    _ => String::new(),
                };
                text.push_str(&format!("{}/{}", r.dst, r.dst_len));
                if let Some(via) = r.via {
                    text.push_str(&format!(" via {via}"));
                }
                if let Some(oif) = r.oif {
                    text.push_str(&format!(" dev {}", self.link_name(oif)));
                }
                text.push_str(&format!(" table {}", r.table));
                if let Some(src) = r.src {
                    text.push_str(&format!(" src {src}"));
                }
                if let Some(metric) = r.metric {
                    text.push_str(&format!(" metric {metric}"));
                }
                format!("route {text}")
            }
            NetChange::AddRule(r) | NetChange::DelRule(r) => {
                let mut text = format!("rule {}: from ", r.priority);
                match r.from {
                    Some((a, l)) => text.push_str(&format!("{a}/{l}")),
                    None => text.push_str("all"),
                }
                if let Some((a, l)) = r.to {
                    text.push_str(&format!(" to {a}/{l}"));
                }
                if let Some(mark) = r.fwmark {
                    text.push_str(&format!(" fwmark {mark:#x}"));
                    if let Some(mask) = r.fwmask {
                        text.push_str(&format!("/{mask:#x}"));
                    }
                }
                if let Some(iif) = &r.iif {
                    text.push_str(&format!(" iif {iif}"));
                }
                if let Some(oif) = &r.oif {
                    text.push_str(&format!(" oif {oif}"));
                }
                text.push_str(&format!(" lookup {}", r.table));
                text
            }
            NetChange::Address(a) => format!("{}/{}", a.addr, a.prefix_len),
        }
    }

    fn route_change_done(&mut self, done: RouteDone) {
        let RouteDone {
            change,
            holder,
            result,
            took,
        } = done;
        let what = self.describe(&change);
        let adding = matches!(change, NetChange::AddRoute(_) | NetChange::AddRule(_));
        match result {
            Ok(()) if adding => info!("{holder}: added {what}"),
            Ok(()) => info!("{holder}: removed {what}"),
            Err(e) if adding => {
                error!("{holder}: the kernel refused {what}: {e}");
                // Not ours to delete; the next sync (lease renewal, reload) tries again.
                let entry = match change {
                    NetChange::AddRoute(r) => Some(Entry::Route(r)),
                    NetChange::AddRule(r) => Some(Entry::Rule(r)),
                    _ => None,
                };
                if let (Some(entry), Some(held)) = (entry, self.routes.held.get_mut(&holder)) {
                    held.retain(|e| *e != entry);
                    if held.is_empty() {
                        self.routes.held.remove(&holder);
                    }
                }
            }
            Err(e) => error!("{holder}: cannot remove {what}: {e}"),
        }
        if took > Duration::from_millis(250) {
            warn!("{holder}: the kernel took {took:?} for {what} (RTNL busy?)");
        }
    }
}
