//! Interfaces and addresses: netlink events, which instance can run where, its socket and
//! source address.

use super::*;

impl Daemon {
    pub(super) fn on_netlink(&mut self, now: Instant) {
        let events = match self.events.recv_events() {
            Ok(events) => events,
            Err(e) => {
                // The socket's state is unknown: read the whole picture again.
                error!("reading netlink events failed: {e}; re-reading links and addresses");
                vec![NetEvent::Overrun]
            }
        };
        // Link changes and overruns re-examine every instance (they are rare); an address
        // change only the instances on its interface, and a change that cannot move a source
        // address (one of our VIPs, or a lifetime renewal) none: a master's lease renewals
        // echo one event per VIP, which must stay O(1) each.
        let mut everything = false;
        let mut touched: BTreeSet<u32> = BTreeSet::new();
        // Masters whose VIPs vanished: put back once the whole batch is applied (deleting an
        // IPv4 primary removes its secondaries first, and a no_track primary must be seen gone
        // before a secondary's re-add runs).
        let mut readd: BTreeSet<usize> = BTreeSet::new();
        for event in events {
            match event {
                NetEvent::LinkAdded(link)
                | NetEvent::LinkUp(link)
                | NetEvent::LinkDown(link)
                | NetEvent::LinkChanged(link) => {
                    self.links.insert(link);
                    everything = true;
                }
                NetEvent::LinkRemoved(link) => {
                    self.links.remove(&link.ifindex);
                    self.announcements.cancel_interface(link.ifindex);
                    self.addresses.remove_interface(link.ifindex);
                    everything = true;
                }
                NetEvent::AddressAdded(addr) => {
                    if !self.addresses.is_same(&addr) && self.may_be_source(&addr) {
                        touched.insert(addr.ifindex);
                    }
                    self.addresses.upsert(addr);
                }
                NetEvent::AddressRemoved(addr) => {
                    if self.may_be_source(&addr) {
                        touched.insert(addr.ifindex);
                    }
                    self.addresses.remove(addr.ifindex, addr.addr);
                    readd.extend(self.on_address_removed(&addr));
                }
                NetEvent::Overrun => {
                    self.resync();
                    everything = true;
                }
            }
        }
        for idx in readd {
            self.install_vips(idx, true, now);
        }
        if everything {
            self.reconcile(now);
            // Interface tracking follows links; scripts and files have their own events.
            self.retrack_all(now);
        } else if !touched.is_empty() {
            self.reconcile_interfaces(&touched, now);
        }
    }

    /// Whether an address can be (or stop being) an instance's source: anything but a VIP,
    /// unless the VIP is the host's own address.
    fn may_be_source(&self, addr: &AddrInfo) -> bool {
        !self.vip_addrs.contains(&addr.addr)
            || self.installed.is_host_owned(addr.ifindex, addr.addr)
    }

    /// The kernel dropped events: read the whole picture again.
    pub(super) fn resync(&mut self) {
        warn!("netlink event queue overran; re-reading links and addresses");
        match (self.netlink.get_links(), self.netlink.dump_addresses(None)) {
            (Ok(links), Ok(addresses)) => {
                self.events.seed_links(&links);
                self.links = links.into_iter().collect();
                self.addresses = addresses.into_iter().collect();
                // A VIP may have vanished while events were lost: holders put theirs back now.
                for idx in 0..self.instances.len() {
                    let running = &self.instances[idx];
                    let missing = self.installed.held_by(&running.spec.name).iter().any(
                        |&(ifindex, addr)| {
                            self.addresses.get(ifindex, addr).is_none()
                                && !running
                                    .spec
                                    .all_vips()
                                    .any(|v| v.addr == addr && v.no_track)
                        },
                    );
                    if running.holds_vips && missing {
                        self.set_lease_renew(idx, Some(Instant::now()));
                    }
                }
            }
            (Err(e), _) | (_, Err(e)) => error!("re-reading links and addresses failed: {e}"),
        }
    }

    /// One of our VIPs vanished while we hold it (removed by hand, or its lease ran out because
    /// renewal failed): put it back, unless it is `no_track` (then lease renewals leave it out
    /// too, until the instance next becomes master).
    /// Returns the instance whose VIPs to install again.
    pub(super) fn on_address_removed(&mut self, addr: &AddrInfo) -> Option<usize> {
        if !self.installed.contains(addr.ifindex, addr.addr) {
            return None;
        }
        if let Some(running) = self
            .instances
            .iter()
            .find(|r| r.holds_vips && r.spec.all_vips().any(|v| v.addr == addr.addr && v.no_track))
        {
            warn!(
                "{}: {} disappeared from {} while master; no_track: it stays deleted until the \
                 instance next becomes master",
                running.spec.name,
                addr.addr,
                self.link_name(addr.ifindex)
            );
            return None;
        }
        let idx = self
            .instances
            .iter()
            .position(|r| r.holds_vips && r.spec.all_vips().any(|v| v.addr == addr.addr))?;
        warn!(
            "{}: {} disappeared from {} while master; adding it back",
            self.instances[idx].spec.name,
            addr.addr,
            self.link_name(addr.ifindex)
        );
        Some(idx)
    }

    /// Brings every instance in line with the interfaces and addresses the kernel has now.
    pub(super) fn reconcile(&mut self, now: Instant) {
        for idx in 0..self.instances.len() {
            self.reconcile_one(idx, now);
        }
        self.close_unused_sockets();
    }

    /// [`reconcile`](Self::reconcile) for the instances whose interface, VMAC or parent is one
    /// of `ifindexes` (an address changed there).
    fn reconcile_interfaces(&mut self, ifindexes: &BTreeSet<u32>, now: Instant) {
        for idx in 0..self.instances.len() {
            let running = &self.instances[idx];
            let parent = self
                .links
                .by_name(&running.spec.interface)
                .map(|l| l.ifindex);
            let on_it = [running.ifindex, parent]
                .into_iter()
                .flatten()
                .any(|i| ifindexes.contains(&i));
            if on_it {
                self.reconcile_one(idx, now);
            }
        }
    }

    fn reconcile_one(&mut self, idx: usize, now: Instant) {
        {
            let was_usable = self.instances[idx].usable;
            let result = self.attach(idx);
            let running = &mut self.instances[idx];
            match (was_usable, result) {
                (true, Err(why)) => {
                    warn!("{}: {why}", running.spec.name);
                    running.instance.handle_link_down(now);
                }
                (false, Ok(())) => {
                    info!(
                        "{}: interface {} is usable",
                        running.spec.name, running.spec.interface
                    );
                    running.instance.handle_link_up(now);
                }
                _ => {}
            }
            self.drain(idx, now);
        }
    }

    /// Finds the instance's interface, socket and source address and sets `usable`; the error
    /// says why the instance cannot run now.
    pub(super) fn attach(&mut self, idx: usize) -> Result<(), String> {
        let result = self.try_attach(idx);
        self.instances[idx].usable = result.is_ok();
        if result.is_ok() && self.instances[idx].spec.promote_secondaries {
            self.promote_secondaries(idx);
        }
        result
    }

    /// keepalived's `promote_secondaries`: on for the interface (IPv4) while we run; the value
    /// found is put back at stop.
    fn promote_secondaries(&mut self, idx: usize) {
        let ifname = self.instances[idx].spec.interface.clone();
        if self.promoted.contains_key(&ifname) {
            return;
        }
        match crate::io::sysctl::ipv4_conf(&ifname, "promote_secondaries") {
            Ok(1) => {
                self.promoted.insert(ifname, 1);
            }
            Ok(old) => match crate::io::sysctl::set_ipv4_conf(&ifname, "promote_secondaries", 1) {
                Ok(()) => {
                    info!("{ifname}: promote_secondaries on (was {old})");
                    self.promoted.insert(ifname, old);
                }
                Err(e) => warn!("{ifname}: cannot set promote_secondaries: {e}"),
            },
            Err(e) => warn!("{ifname}: cannot read promote_secondaries: {e}"),
        }
    }

    /// Puts back the promote_secondaries values we changed.
    pub(super) fn restore_promote_secondaries(&mut self) {
        for (ifname, old) in std::mem::take(&mut self.promoted) {
            if old != 1 {
                if let Err(e) =
                    crate::io::sysctl::set_ipv4_conf(&ifname, "promote_secondaries", old)
                {
                    warn!("{ifname}: cannot restore promote_secondaries {old}: {e}");
                }
            }
        }
    }

    pub(super) fn try_attach(&mut self, idx: usize) -> Result<(), String> {
        let spec = &self.instances[idx].spec;
        if spec.unicast_fault_no_peer {
            return Err(
                "unicast_fault_no_peer and no unicast_peer: this instance stays in FAULT".into(),
            );
        }
        if let (true, Some(src)) = (spec.track_src_ip, spec.mcast_src_ip) {
            if !self.addresses.is_local(src) {
                return Err(format!(
                    "track_src_ip: the source address {src} is not on this host"
                ));
            }
        }
        let family = spec.family();
        let interface = spec.interface.clone();
        let Some(link) = self.links.by_name(&interface).cloned() else {
            self.instances[idx].ifindex = None;
            return Err(format!("interface {interface} does not exist"));
        };
        // use_vmac: the VMAC carries the VIPs and, unless vmac_xmit_base, the adverts; the
        // parent's link state still decides. IPv6 sends from the VMAC's own link-local address.
        let parent = link;
        let (link, source_ifindex, vmac_down) = match self.instances[idx].spec.vmac.clone() {
            None => (parent.clone(), parent.ifindex, None),
            Some(vmac) => match self.ensure_vmac(idx, &parent) {
                Ok(made) => {
                    let down = (!made.oper_up && parent.oper_up).then(|| made.name.clone());
                    let source = if family == Family::V6 && !vmac.xmit_base {
                        made.ifindex
                    } else {
                        parent.ifindex
                    };
                    let vrrp_link = if vmac.xmit_base { parent.clone() } else { made };
                    (vrrp_link, source, down)
                }
                Err(why) => {
                    self.instances[idx].ifindex = None;
                    return Err(why);
                }
            },
        };
        self.instances[idx].ifindex = Some(link.ifindex);
        let source = self.source_address(idx, source_ifindex);
        if !self.ensure_socket(link.ifindex, &link.name, family) {
            return Err(format!("cannot open the VRRP socket on {}", link.name));
        }
        let Some(source) = source else {
            return Err(format!(
                "no usable {family} address on {} to send adverts from",
                self.link_name(source_ifindex)
            ));
        };
        let running = &mut self.instances[idx];
        if running.instance.config().primary_address != source {
            info!(
                "{}: sending adverts from {source} on {}",
                running.spec.name, link.name
            );
            running.instance.handle_primary_address(source);
        }
        if !parent.oper_up && !running.spec.dont_track_primary {
            return Err(format!("interface {} is down", parent.name));
        }
        if let Some(vmac) = vmac_down {
            return Err(format!("the VMAC {vmac} is down"));
        }
        Ok(())
    }

    /// keepalived's choice: `mcast_src_ip` / `unicast_src_ip`, else the interface's first primary
    /// IPv4 address (not a VIP), or for IPv6 its link-local address once DAD is done (a global
    /// one for unicast to global peers: see `unicast_global_source`).
    pub(super) fn source_address(&self, idx: usize, ifindex: u32) -> Option<IpAddr> {
        let spec = &self.instances[idx].spec;
        if let Some(src) = spec.mcast_src_ip {
            return Some(src);
        }
        if let Some(src) = self.unicast_global_source(idx, ifindex) {
            return Some(src);
        }
        // A VIP is never the source, unless it is the host's own address (an owner's).
        let is_vip = |addr: &IpAddr| {
            self.vip_addrs.contains(addr) && !self.installed.is_host_owned(ifindex, *addr)
        };
        self.addresses
            .on(ifindex)
            .filter(|a| !is_vip(&a.addr))
            .find(|a| match (spec.family(), a.addr) {
                (Family::V4, IpAddr::V4(_)) => !a.flags.secondary(),
                (Family::V6, IpAddr::V6(v6)) => {
                    v6.segments()[0] & 0xffc0 == 0xfe80
                        && !a.flags.tentative()
                        && !a.flags.dad_failed()
                }
                _ => false,
            })
            .map(|a| a.addr)
    }

    /// The group multicast adverts go to: `vrrp_mcast_group4` / `vrrp_mcast_group6`, or VRRP's.
    pub(super) fn multicast_group(&self, family: Family) -> IpAddr {
        match family {
            Family::V4 => IpAddr::V4(self.global.mcast_group4),
            Family::V6 => IpAddr::V6(self.global.mcast_group6),
        }
    }

    pub(super) fn ensure_socket(&mut self, ifindex: u32, ifname: &str, family: Family) -> bool {
        if self
            .sockets
            .iter()
            .flatten()
            .any(|s| s.ifindex == ifindex && s.family == family)
        {
            return true;
        }
        let group = self.multicast_group(family);
        let mut socket = match VrrpSocket::open_with_group(ifindex, ifname, family, None, group) {
            Ok(socket) => socket,
            Err(e) => {
                error!("cannot open the {family} VRRP socket on {ifname}: {e}");
                return false;
            }
        };
        let slot = self
            .sockets
            .iter()
            .position(Option::is_none)
            .unwrap_or_else(|| {
                self.sockets.push(None);
                self.sockets.len() - 1
            });
        if let Err(e) = self.poll.registry().register(
            &mut socket,
            Token(SOCKET_BASE + slot),
            Interest::READABLE,
        ) {
            error!("cannot watch the VRRP socket on {ifname}: {e}");
            return false;
        }
        debug!("opened the {family} VRRP socket on {ifname}");
        self.sockets[slot] = Some(SocketSlot {
            ifindex,
            family,
            socket,
        });
        true
    }

    pub(super) fn close_unused_sockets(&mut self) {
        for slot in &mut self.sockets {
            let unused = slot.as_ref().is_some_and(|s| {
                !self
                    .instances
                    .iter()
                    .any(|r| r.ifindex == Some(s.ifindex) && r.spec.family() == s.family)
            });
            if unused {
                if let Some(mut s) = slot.take() {
                    let _ = self.poll.registry().deregister(&mut s.socket);
                }
            }
        }
    }
}
