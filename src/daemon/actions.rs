//! Executing what the instances decide: VIPs, adverts, announcements, notify scripts.

use super::*;

impl Daemon {
    pub(super) fn drain(&mut self, idx: usize, now: Instant) {
        while let Some(action) = self.instances[idx].instance.poll_action() {
            match action {
                Action::InstallVips(_) => self.install_vips(idx, false, now),
                Action::RemoveVips(_) => self.remove_vips(idx),
                Action::Transmit(advert) => self.transmit(idx, &advert),
                Action::Announce { addresses, count } => self.announce(idx, &addresses, count),
                Action::Notify(notification) => self.notify(idx, &notification, now),
            }
        }
    }

    pub(super) fn vip_ifindex(&self, spec: &InstanceSpec, vip: &VipSpec) -> Option<u32> {
        // use_vmac: addresses without `dev` live on the VMAC (none until it has a name).
        let name = match (&vip.dev, &spec.vmac) {
            (Some(dev), _) => dev.as_str(),
            (None, Some(_)) => self.vmac_name(&spec.name)?,
            (None, None) => spec.interface.as_str(),
        };
        self.links
            .values()
            .find(|l| l.name == name)
            .map(|l| l.ifindex)
    }

    pub(super) fn link_name(&self, ifindex: u32) -> String {
        self.links
            .get(&ifindex)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("ifindex {ifindex}"))
    }

    /// Adds (or, with `renew`, refreshes the lease of) every VIP of the instance.
    pub(super) fn install_vips(&mut self, idx: usize, renew: bool, now: Instant) {
        let spec = self.instances[idx].spec.clone();
        let lease = spec.vip_lease;
        for vip in spec.all_vips() {
            let Some(ifindex) = self.vip_ifindex(&spec, vip) else {
                error!(
                    "{}: cannot add {}: interface {} does not exist",
                    spec.name,
                    vip.display(),
                    vip.dev.as_deref().unwrap_or(&spec.interface)
                );
                continue;
            };
            let options = AddressOptions {
                label: vip.label.as_deref(),
                lifetime: lease,
                scope: vip.scope,
                broadcast: vip.broadcast,
                deprecated: vip.deprecated,
            };
            match self
                .netlink
                .add_address_with(ifindex, vip.addr, vip.prefix_len, &options, true)
            {
                Ok(()) => {
                    if !renew {
                        info!(
                            "{}: added {} to {}",
                            spec.name,
                            vip.display(),
                            self.link_name(ifindex)
                        );
                    }
                    self.installed.insert((ifindex, vip.addr, vip.prefix_len));
                }
                Err(e) => error!(
                    "{}: cannot add {} to {}: {e}",
                    spec.name,
                    vip.display(),
                    self.link_name(ifindex)
                ),
            }
        }
        let running = &mut self.instances[idx];
        running.holds_vips = true;
        // Renew at a third of the lease: two renewals may fail before the kernel expires it.
        running.lease_renew_at =
            lease.map(|lease| now + (lease / 3).max(Duration::from_millis(500)));
    }

    pub(super) fn remove_vips(&mut self, idx: usize) {
        let spec = self.instances[idx].spec.clone();
        for vip in spec.all_vips() {
            let Some(ifindex) = self.vip_ifindex(&spec, vip) else {
                continue;
            };
            self.installed.remove(&(ifindex, vip.addr, vip.prefix_len));
            match self.netlink.del_address(ifindex, vip.addr, vip.prefix_len) {
                Ok(()) => info!(
                    "{}: removed {} from {}",
                    spec.name,
                    vip.display(),
                    self.link_name(ifindex)
                ),
                Err(e) => error!(
                    "{}: cannot remove {} from {}: {e}",
                    spec.name,
                    vip.display(),
                    self.link_name(ifindex)
                ),
            }
        }
        let running = &mut self.instances[idx];
        running.holds_vips = false;
        running.lease_renew_at = None;
    }

    pub(super) fn transmit(&mut self, idx: usize, advert: &Advert) {
        let running = &self.instances[idx];
        let (Some(ifindex), true) = (running.ifindex, running.usable) else {
            debug!(
                "{}: not sending (interface {} unusable)",
                running.spec.name, running.spec.interface
            );
            return;
        };
        let family = running.spec.family();
        let src = running.instance.config().primary_address;
        let dst = match family {
            Family::V4 => IpAddr::V4(MCAST_V4),
            Family::V6 => IpAddr::V6(MCAST_V6),
        };
        let bytes = match advert.to_bytes(src, dst, running.spec.v3_ipv4_checksum) {
            Ok(bytes) => bytes,
            Err(e) => {
                error!("{}: cannot encode an advert: {e:?}", running.spec.name);
                return;
            }
        };
        let Some(slot) = self
            .sockets
            .iter()
            .flatten()
            .find(|s| s.ifindex == ifindex && s.family == family)
        else {
            return;
        };
        if let Err(e) = slot.socket.send_from(&bytes, Some(src), dst) {
            warn!(
                "{}: sending an advert on {} failed: {e}",
                running.spec.name, running.spec.interface
            );
        }
    }

    pub(super) fn announce(&mut self, idx: usize, addresses: &[IpAddr], count: u32) {
        let running = &self.instances[idx];
        let spec = &running.spec;
        for addr in addresses {
            let Some(vip) = spec.all_vips().find(|v| v.addr == *addr) else {
                continue;
            };
            let Some(ifindex) = self.vip_ifindex(spec, vip) else {
                continue;
            };
            let Some(mac) = self.links.get(&ifindex).and_then(|l| l.mac) else {
                debug!(
                    "{}: {} has no MAC address; not announcing",
                    spec.name,
                    self.link_name(ifindex)
                );
                continue;
            };
            // IPv6: like keepalived and the kernel, the NA comes from the VIP itself, with the
            // Router flag copied from the interface's forwarding setting.
            let frame = match *addr {
                IpAddr::V4(v4) => wire::gratuitous_arp(mac, v4),
                IpAddr::V6(v6) => {
                    wire::unsolicited_na(mac, v6, v6, ipv6_forwarding(&self.link_name(ifindex)))
                }
            };
            for _ in 0..count {
                let sent = match *addr {
                    IpAddr::V4(_) => self.frames.send_frame(ifindex, &frame),
                    IpAddr::V6(v6) => self.icmpv6.send_all_nodes(ifindex, v6, &frame),
                };
                if let Err(e) = sent {
                    warn!(
                        "{}: announcing {addr} on {} failed: {e}",
                        spec.name,
                        self.link_name(ifindex)
                    );
                    break;
                }
            }
        }
        debug!(
            "{}: announced {} address(es) x{count}",
            spec.name,
            addresses.len()
        );
    }

    pub(super) fn notify(&mut self, idx: usize, n: &Notification, now: Instant) {
        let running = &self.instances[idx];
        let spec = &running.spec;
        let master = running.instance.last_master();
        let from = master
            .map(|m| format!(", master {} priority {}", m.address, m.priority))
            .unwrap_or_default();
        info!(
            "{}: {} -> {} ({}, priority {}{from})",
            spec.name,
            n.previous,
            n.state_word(),
            n.reason,
            n.priority
        );
        let specific = match n.state {
            Some(StateKind::Master) => spec.scripts.master.as_ref(),
            Some(StateKind::Backup) => spec.scripts.backup.as_ref(),
            Some(StateKind::Fault) => spec.scripts.fault.as_ref(),
            None => spec.scripts.stop.as_ref(),
            Some(StateKind::Initialize) => None,
        };
        let notification = script::Notification {
            subject: script::NotifySubject::Instance,
            name: spec.name.clone(),
            state: n.state_word().to_string(),
            prev_state: n.previous.as_str().to_string(),
            reason: n.reason.as_str().to_string(),
            priority: n.priority,
            vips: spec.vips.iter().map(VipSpec::display).collect(),
        };
        // The state's own script first, then the generic one, one after the other (keepalived
        // starts both at once; keepvip keeps every script of an instance in order).
        let mut jobs = Vec::new();
        for (script, generic) in [(specific, false), (spec.scripts.generic.as_ref(), true)] {
            let Some(script) = script else { continue };
            let settings = NotifySettings {
                user: script.user,
                ..self.notify_settings.clone()
            };
            let argv = Some(script.argv.as_slice());
            let (specific, generic) = if generic { (None, argv) } else { (argv, None) };
            for mut job in script::notify_jobs(&notification, specific, generic, &settings) {
                job.program = Some(script.program.clone());
                jobs.push(job);
            }
        }
        let key = spec.name.clone();
        for job in jobs {
            self.runner.enqueue(&key, job, now, self.poll.registry());
        }
    }

    pub(super) fn log_script_events(&mut self) {
        while let Some(event) = self.runner.poll_event() {
            match event {
                ScriptEvent::Started { key, argv, pid } => {
                    debug!("{key}: script started (pid {pid}): {}", argv.join(" "))
                }
                ScriptEvent::Output { key, pid, line, .. } => {
                    info!("{key}: script (pid {pid}): {line}")
                }
                ScriptEvent::Finished {
                    key,
                    pid,
                    outcome,
                    duration,
                    ..
                } => {
                    if outcome.is_success() {
                        debug!("{key}: script (pid {pid}) finished in {duration:?}");
                    } else {
                        warn!("{key}: script (pid {pid}) failed after {duration:?}: {outcome:?}");
                    }
                }
                ScriptEvent::SpawnFailed { key, argv, error } => {
                    error!("{key}: cannot run script {}: {error}", argv.join(" "))
                }
                ScriptEvent::Cancelled { key, argv } => {
                    warn!("{key}: script {} not run: stopping", argv.join(" "))
                }
            }
        }
    }

    /// After a panic: take every VIP we added off the interfaces, with a fresh socket.
    pub(super) fn emergency_release(&mut self) {
        let mut netlink = match RequestSocket::open() {
            Ok(socket) => socket,
            Err(e) => {
                error!("cannot release virtual addresses after an internal error: {e}");
                return;
            }
        };
        for &(ifindex, addr, prefix_len) in &self.installed {
            match netlink.del_address(ifindex, addr, prefix_len) {
                Ok(()) => error!("released {addr}/{prefix_len} after an internal error"),
                Err(e) => error!("cannot release {addr}/{prefix_len}: {e}"),
            }
        }
        self.installed.clear();
    }
}

/// Whether the kernel routes IPv6 on this interface (the NA's Router flag follows it).
fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|value| value.trim() == "1")
        .unwrap_or(false)
}
