//! Executing what the instances decide: VIPs, adverts, announcements, notify scripts.

use super::installed::Release;
use super::vip_changes::{self, Parked, Purpose};
use super::*;
use crate::io::netlink::{AddressChange, ChangeKind};

/// Gratuitous ARPs / NAs sent in one loop turn at most.
const MAX_FRAMES_PER_TURN: u32 = 256;
/// An address change slower than this is logged: the kernel's RTNL lock was busy.
const SLOW_KERNEL: Duration = Duration::from_millis(250);

impl Daemon {
    pub(super) fn drain(&mut self, idx: usize, now: Instant) {
        while let Some(action) = self.instances[idx].instance.poll_action() {
            match action {
                Action::InstallVips(_) => self.install_vips(idx, false, now),
                Action::RemoveVips(_) => self.remove_vips(idx),
                Action::Transmit(advert) => self.transmit(idx, &advert),
                Action::Announce { addresses, count } => self.announce(idx, &addresses, count, now),
                Action::Notify(notification) => self.notify(idx, &notification, now),
                Action::MasterHeardLowerPriority { from, priority } => {
                    self.master_heard_lower_priority(idx, from, priority, now)
                }
            }
        }
        self.reschedule(idx);
        self.sync_group_of(idx, now);
    }

    pub(super) fn vip_ifindex(&self, spec: &InstanceSpec, vip: &VipSpec) -> Option<u32> {
        // use_vmac: addresses without `dev` live on the VMAC (none until it has a name).
        let name = match (&vip.dev, &spec.vmac) {
            (Some(dev), _) => dev.as_str(),
            (None, Some(_)) => self.vmac_name(&spec.name)?,
            (None, None) => spec.interface.as_str(),
        };
        self.links.by_name(name).map(|l| l.ifindex)
    }

    pub(super) fn link_name(&self, ifindex: u32) -> String {
        self.links
            .get(&ifindex)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("ifindex {ifindex}"))
    }

    /// Adds (or, with `renew`, refreshes the lease of) every VIP of the instance, through the
    /// address worker: nothing here waits for the kernel. An add counts as installed from now
    /// on (a release right after it queues the delete behind it); its announcements wait for
    /// the kernel's answer (see [`announce`](Self::announce)).
    pub(super) fn install_vips(&mut self, idx: usize, renew: bool, now: Instant) {
        let name = self.instances[idx].spec.name.clone();
        let lease = self.instances[idx].spec.vip_lease;
        if renew && self.vip_changes.is_renewing(&name) {
            // The last renewal is still waiting for the kernel: one at a time, try again soon
            // (a third of the lease leaves two more chances before it expires).
            let retry = lease.map(|lease| now + (lease / 12).max(Duration::from_millis(500)));
            self.set_lease_renew(idx, retry);
            return;
        }
        let mut changes = Vec::new();
        let spec = &self.instances[idx].spec;
        for vip in spec.all_vips() {
            let Some(ifindex) = self.vip_ifindex(spec, vip) else {
                error!(
                    "{}: cannot add {}: interface {} does not exist",
                    spec.name,
                    vip.display(),
                    vip.dev.as_deref().unwrap_or(&spec.interface)
                );
                continue;
            };
            if self.installed.is_host_owned(ifindex, vip.addr) {
                continue;
            }
            // no_track: a renewal does not bring back what someone else deleted.
            if renew && vip.no_track && self.addresses.get(ifindex, vip.addr).is_none() {
                continue;
            }
            changes.push(AddressChange {
                ifindex,
                addr: vip.addr,
                prefix_len: vip.prefix_len,
                kind: ChangeKind::Add {
                    label: vip.label.clone(),
                    lifetime: lease,
                    scope: vip.scope,
                    broadcast: vip.broadcast,
                    deprecated: vip.deprecated,
                    flags: vip.flags,
                    preferred: vip.preferred,
                    replace: true,
                },
            });
        }
        for change in changes {
            if !renew {
                self.installed
                    .added(change.ifindex, change.addr, change.prefix_len, &name);
            }
            let purpose = Purpose {
                holder: name.clone(),
                renew,
            };
            self.submit_vip_change(change, purpose, now);
        }
        self.instances[idx].holds_vips = true;
        if lease.is_some() {
            self.instances[idx].lease_given_at = Some(now);
        }
        let renew_at = lease.map(|lease| self.vip_changes.next_renewal(now, lease));
        self.set_lease_renew(idx, renew_at);
        // Behind the VIP adds: a route may use a VIP as its source.
        self.sync_instance_routes(idx);
    }

    /// Queues a change on the worker, or makes it here if the worker is gone.
    pub(super) fn submit_vip_change(
        &mut self,
        change: AddressChange,
        purpose: Purpose,
        now: Instant,
    ) {
        if let Err(refused) = self.vip_changes.submit(change, purpose) {
            let (change, purpose) = *refused;
            warn!("the address worker is gone: changing an address on the event loop");
            let started = Instant::now();
            let result = crate::io::netlink::apply_net_change(&mut self.netlink, &change);
            let answer = self
                .vip_changes
                .done_inline(change, purpose, result, started.elapsed());
            self.answered(answer, now);
        }
    }

    /// The worker answered: what each answer means for the addresses and their announcements.
    pub(super) fn on_vip_changes(&mut self, now: Instant) {
        let mut released = false;
        while let Some(answer) = self.vip_changes.next() {
            released |= self.answered(answer, now);
        }
        if released {
            self.send_due_announcements();
        }
    }

    /// At stop, after the grace: waits (bounded) for the changes in flight, then the caller
    /// sweeps whatever is left itself.
    pub(super) fn finish_vip_changes(&mut self, deadline: Instant) {
        let now = Instant::now();
        for answer in self.vip_changes.wait_idle(deadline) {
            self.answered(answer, now);
        }
        self.vip_changes.cancel_queued();
    }

    pub(super) fn vip_change_done(&mut self, done: vip_changes::Done, now: Instant) {
        let vip_changes::Done {
            change,
            purpose,
            result,
            took,
            released,
            dropped,
        } = done;
        let AddressChange {
            ifindex,
            addr,
            prefix_len,
            ..
        } = change;
        let holder = purpose.holder.as_str();
        if took > SLOW_KERNEL {
            warn!(
                "{holder}: the kernel took {took:?} to change {addr} on {} (RTNL busy?); \
                 adverts were not held up",
                self.link_name(ifindex)
            );
        }
        match (&change.kind, result) {
            (ChangeKind::Add { .. }, Ok(())) => {
                if !purpose.renew {
                    info!(
                        "{holder}: added {addr}/{prefix_len} to {}",
                        self.link_name(ifindex)
                    );
                }
                for parked in released {
                    self.announcements.request(
                        ifindex,
                        addr,
                        parked.count,
                        parked.interval,
                        &parked.owner,
                        now,
                    );
                }
            }
            (ChangeKind::Add { .. }, Err(e)) => {
                let what = if purpose.renew {
                    "renew the lease of"
                } else {
                    "add"
                };
                error!(
                    "{holder}: cannot {what} {addr}/{prefix_len} on {}: {e}",
                    self.link_name(ifindex)
                );
                if !dropped.is_empty() {
                    debug!("{holder}: not announcing {addr}: it could not be added");
                }
                // A first add that failed is not ours to delete later (unless another holder's
                // add, or a delete, is still on its way).
                if !purpose.renew
                    && !self.vip_changes.is_adding(ifindex, addr)
                    && !self.vip_changes.is_deleting(ifindex, addr)
                    && self.installed.release(ifindex, addr, holder) != Release::StillHeld
                {
                    self.installed.deleted(ifindex, addr);
                }
            }
            (ChangeKind::Delete, result) => {
                let gone_with_interface =
                    matches!(&result, Err(e) if e.raw_os_error() == Some(nix::libc::ENODEV));
                match result {
                    Ok(()) => {
                        info!(
                            "{holder}: removed {addr}/{prefix_len} from {}",
                            self.link_name(ifindex)
                        );
                        self.installed.deleted_if_unheld(ifindex, addr);
                    }
                    Err(_) if gone_with_interface => {
                        debug!("{holder}: {addr} went with its interface");
                        self.installed.deleted_if_unheld(ifindex, addr);
                    }
                    Err(e) => error!(
                        "{holder}: cannot remove {addr}/{prefix_len} from {} (will retry): {e}",
                        self.link_name(ifindex)
                    ),
                }
            }
        }
    }

    pub(super) fn remove_vips(&mut self, idx: usize) {
        let name = self.instances[idx].spec.name.clone();
        // Before the VIP deletes: a route may use a VIP as its source.
        self.release_routes(&name);
        // What this instance holds, on the interfaces it went on (a name may be gone by now).
        for (ifindex, addr) in self.installed.held_by(&name) {
            self.release_address(&name, ifindex, addr);
        }
        self.retry_orphans();
        self.instances[idx].holds_vips = false;
        self.set_lease_renew(idx, None);
    }

    /// `holder` lets go of one address; the kernel's copy goes once nobody holds it.
    pub(super) fn release_address(&mut self, holder: &str, ifindex: u32, addr: IpAddr) {
        self.announcements.cancel(ifindex, addr);
        match self.installed.release(ifindex, addr, holder) {
            Release::Delete { prefix_len } => {
                self.vip_changes.unpark(ifindex, addr);
                let change = AddressChange {
                    ifindex,
                    addr,
                    prefix_len,
                    kind: ChangeKind::Delete,
                };
                let purpose = Purpose {
                    holder: holder.to_string(),
                    renew: false,
                };
                self.submit_vip_change(change, purpose, Instant::now());
            }
            Release::StillHeld => debug!(
                "{holder}: {addr} stays on {}: another instance holds it too",
                self.link_name(ifindex)
            ),
            Release::NotOurs => {}
        }
    }

    /// Deletes that failed before (and are not being retried already): try again.
    pub(super) fn retry_orphans(&mut self) {
        for (ifindex, addr, prefix_len) in self.installed.orphans() {
            if self.vip_changes.is_deleting(ifindex, addr) {
                continue;
            }
            let change = AddressChange {
                ifindex,
                addr,
                prefix_len,
                kind: ChangeKind::Delete,
            };
            let purpose = Purpose {
                holder: "retry".to_string(),
                renew: false,
            };
            self.submit_vip_change(change, purpose, Instant::now());
        }
    }

    /// At a clean stop: anything still installed (a failed delete) goes now.
    pub(super) fn sweep_installed(&mut self) {
        for (ifindex, addr, prefix_len) in self.installed.all() {
            match self.netlink.del_address(ifindex, addr, prefix_len) {
                Ok(()) => {
                    self.installed.deleted(ifindex, addr);
                    warn!(
                        "removed leftover {addr}/{prefix_len} from {} at stop",
                        self.link_name(ifindex)
                    );
                }
                Err(e) => error!("cannot remove {addr}/{prefix_len} at stop: {e}"),
            }
        }
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
        let Some(slot) = self
            .sockets
            .iter()
            .flatten()
            .find(|s| s.ifindex == ifindex && s.family == family)
        else {
            return;
        };
        let link_up = self.links.get(&ifindex).is_some_and(|l| l.oper_up);
        // Encoded into a buffer kept across adverts: no allocation per advert.
        let mut buf = std::mem::take(&mut self.tx_buf);
        buf.resize(advert.buffer_len(), 0);
        // The group, or each unicast peer; the v3 checksum covers the destination it goes to.
        for (dst, ttl) in self.advert_destinations(idx) {
            let bytes = match advert.emit(&mut buf, src, dst, running.spec.v3_ipv4_checksum) {
                Ok(len) => buf.get(..len).unwrap_or_default(),
                Err(e) => {
                    error!("{}: cannot encode an advert: {e:?}", running.spec.name);
                    break;
                }
            };
            if let Err(e) = slot.socket.send_with_ttl(bytes, Some(src), dst, ttl) {
                if !link_up {
                    // dont_track_primary keeps the instance running on a link that is down.
                    debug!(
                        "{}: not sent, {} is down: {e}",
                        running.spec.name, running.spec.interface
                    );
                    break;
                }
                warn!(
                    "{}: sending an advert to {dst} on {} failed: {e}",
                    running.spec.name, running.spec.interface
                );
            }
        }
        self.tx_buf = buf;
    }

    /// Queues `count` announcements of each address, and of the excluded VIPs (keepalived
    /// announces both), paced per interface by the announce queue; sends what is due now.
    pub(super) fn announce(&mut self, idx: usize, addresses: &[IpAddr], count: u32, now: Instant) {
        let spec = &self.instances[idx].spec;
        let excluded = spec.excluded_vips.iter().map(|v| v.addr);
        let mut requests = Vec::new();
        for addr in addresses.iter().copied().chain(excluded) {
            let Some(vip) = spec.all_vips().find(|v| v.addr == addr) else {
                continue;
            };
            let Some(ifindex) = self.vip_ifindex(spec, vip) else {
                continue;
            };
            let interval = match addr {
                IpAddr::V4(_) => spec.garp_interval,
                IpAddr::V6(_) => spec.gna_interval,
            };
            requests.push((ifindex, addr, interval));
        }
        let name = spec.name.clone();
        debug!("{name}: announcing {} address(es) x{count}", requests.len());
        for (ifindex, addr, interval) in requests {
            if self.vip_changes.is_adding(ifindex, addr) {
                // Announced once the kernel has it.
                let parked = Parked {
                    count,
                    interval,
                    owner: name.clone(),
                };
                self.vip_changes.park(ifindex, addr, parked);
                continue;
            }
            self.announcements
                .request(ifindex, addr, count, interval, &name, now);
        }
        // Queued only: the loop sends one bounded batch per turn after the turn's timers
        // (`fire_timers`), so a thousand instances asking at once (the second burst
        // `garp_master_delay` after a common take-over) cannot hold their adverts back.
    }

    /// Sends every announcement that is due, reading the clock for each so that the spacing
    /// on the wire is never shorter than the configured interval.
    pub(super) fn send_due_announcements(&mut self) {
        // A bounded batch per loop turn: a huge burst (garp_master_repeat is a u32) must not
        // hold the loop; what is left is still due, so the next turn comes at once.
        let mut budget = MAX_FRAMES_PER_TURN;
        while budget > 0 {
            budget -= 1;
            let Some(due) = self.announcements.pop_due(Instant::now()) else {
                break;
            };
            let (ifindex, addr, owner) = (due.ifindex, due.addr, &due.owner);
            // Only an address we hold is announced (its add may have failed, or it is gone).
            let held = self.installed.contains(ifindex, addr)
                || self.installed.is_host_owned(ifindex, addr);
            let mac = self.links.get(&ifindex).and_then(|l| l.mac);
            let Some(mac) = mac.filter(|_| held) else {
                debug!(
                    "{owner}: not announcing {addr} on {}: {}",
                    self.link_name(ifindex),
                    if held {
                        "the interface has no MAC address"
                    } else {
                        "the address is not installed"
                    }
                );
                self.announcements.cancel(ifindex, addr);
                continue;
            };
            // IPv6: like keepalived and the kernel, the NA comes from the VIP itself, with the
            // Router flag copied from the interface's forwarding setting.
            let sent = match addr {
                IpAddr::V4(v4) => self
                    .frames
                    .send_frame(ifindex, &wire::gratuitous_arp(mac, v4)),
                IpAddr::V6(v6) => {
                    let router = ipv6_forwarding(&self.link_name(ifindex));
                    let frame = wire::unsolicited_na(mac, v6, v6, router);
                    self.icmpv6.send_all_nodes(ifindex, v6, &frame)
                }
            };
            if let Err(e) = sent {
                warn!(
                    "{owner}: announcing {addr} on {} failed: {e}",
                    self.link_name(ifindex)
                );
                // The rest of its burst would fail the same way.
                self.announcements.cancel(ifindex, addr);
            }
        }
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
        // keepalived's notify_deleted: a STOP because a reload removed the instance is DELETED,
        // and the notify_deleted script (if any) runs instead of notify_stop.
        let deleted = n.state.is_none() && running.deleted && spec.scripts.deleted.is_some();
        let word = if deleted { "DELETED" } else { n.state_word() };
        let notification = script::Notification {
            subject: script::NotifySubject::Instance,
            name: spec.name.clone(),
            state: word.to_string(),
            prev_state: n.previous.as_str().to_string(),
            reason: n.reason.as_str().to_string(),
            priority: n.priority,
            vips: spec.vips.iter().map(VipSpec::display).collect(),
        };
        let jobs = if deleted {
            let deleted_script = spec.scripts.deleted.as_ref().and_then(Option::as_ref);
            let generic = spec.scripts.generic.as_ref();
            script_jobs(
                deleted_script,
                generic,
                &notification,
                &self.notify_settings,
            )
        } else {
            notify_jobs_for(&spec.scripts, n.state, &notification, &self.notify_settings)
        };
        let key = notify_key(&spec.name, n.state);
        let name = spec.name.clone();
        for job in jobs {
            self.runner.enqueue(&key, job, now, self.poll.registry());
        }
        self.fifo_event(false, &name, word, n.priority);
        self.record_transition(idx, n, now);
    }

    pub(super) fn log_script_events(&mut self) {
        while let Some(event) = self.runner.poll_event() {
            self.count_script_event(&event);
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
                ScriptEvent::Dropped { key, argv } => warn!(
                    "{key}: script {} dropped unstarted: more than {} were waiting behind a \
                     running one",
                    argv.join(" "),
                    script::MAX_QUEUED_PER_KEY
                ),
                ScriptEvent::Cancelled { key, argv } => {
                    warn!("{key}: script {} not run: stopping", argv.join(" "))
                }
            }
        }
    }

    fn count_script_event(&mut self, event: &ScriptEvent) {
        let (key, run, failed, timed_out) = match event {
            ScriptEvent::Started { key, .. } => (key, true, false, false),
            ScriptEvent::SpawnFailed { key, .. } => (key, true, true, false),
            ScriptEvent::Finished { key, outcome, .. } => (
                key,
                false,
                !outcome.is_success(),
                matches!(outcome, script::Outcome::TimedOut { .. }),
            ),
            _ => return,
        };
        if !self.script_stats.contains_key(key) {
            self.script_stats.insert(key.clone(), Default::default());
        }
        if let Some(count) = self.script_stats.get_mut(key) {
            count.runs += u64::from(run);
            count.failures += u64::from(failed);
            count.timeouts += u64::from(timed_out);
        }
    }

    /// After a panic: take every VIP we added off the interfaces, with a fresh socket.
    pub(super) fn emergency_release(&mut self) {
        // Queued adds must not land after the deletes below.
        self.vip_changes.cancel_queued();
        let _ = self
            .vip_changes
            .wait_idle(Instant::now() + VIP_CHANGES_AT_STOP);
        let mut netlink = match RequestSocket::open() {
            Ok(socket) => socket,
            Err(e) => {
                error!("cannot release virtual addresses after an internal error: {e}");
                return;
            }
        };
        self.emergency_release_routes(&mut netlink);
        for (ifindex, addr, prefix_len) in self.installed.all() {
            match netlink.del_address(ifindex, addr, prefix_len) {
                Ok(()) => {
                    self.installed.deleted(ifindex, addr);
                    error!("released {addr}/{prefix_len} after an internal error");
                }
                Err(e) => error!("cannot release {addr}/{prefix_len}: {e}"),
            }
        }
    }
}

/// Whether the kernel routes IPv6 on this interface (the NA's Router flag follows it).
fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|value| value.trim() == "1")
        .unwrap_or(false)
}

/// The jobs for one notification: the state's own script, then the generic `notify`, to run one
/// after the other under one key (keepalived starts both at once; keepvip keeps every script of
/// an instance or group in order).
pub(super) fn notify_jobs_for(
    scripts: &spec::NotifyScripts,
    state: Option<StateKind>,
    notification: &script::Notification,
    settings: &NotifySettings,
) -> Vec<script::Job> {
    let specific = match state {
        Some(StateKind::Master) => scripts.master.as_ref(),
        Some(StateKind::Backup) => scripts.backup.as_ref(),
        Some(StateKind::Fault) => scripts.fault.as_ref(),
        None => scripts.stop.as_ref(),
        Some(StateKind::Initialize) => None,
    };
    script_jobs(specific, scripts.generic.as_ref(), notification, settings)
}

/// The jobs of one notification: `specific` with its configured arguments, then `generic`
/// (keepalived's `notify`) with `INSTANCE|GROUP name STATE priority` appended; each runs as its
/// own user.
pub(super) fn script_jobs(
    specific: Option<&spec::ScriptSpec>,
    generic: Option<&spec::ScriptSpec>,
    notification: &script::Notification,
    settings: &NotifySettings,
) -> Vec<script::Job> {
    let mut jobs = Vec::new();
    for (script, generic) in [(specific, false), (generic, true)] {
        let Some(script) = script else { continue };
        let settings = NotifySettings {
            user: script.user,
            ..settings.clone()
        };
        let argv = Some(script.argv.as_slice());
        let (specific, generic) = if generic { (None, argv) } else { (argv, None) };
        for mut job in script::notify_jobs(notification, specific, generic, &settings) {
            job.program = Some(script.program.clone());
            jobs.push(job);
        }
    }
    jobs
}

/// The queue a notification's scripts run in: one per instance or group, so its scripts run in
/// order; but STOP gets its own, so that at SIGTERM notify_stop starts at once instead of
/// waiting (past the stop grace) behind a script still running for an earlier transition, as
/// keepalived also runs it on its own.
pub(super) fn notify_key(name: &str, state: Option<StateKind>) -> String {
    match state {
        None => format!("{name} (stop)"),
        Some(_) => name.to_string(),
    }
}
