//! SIGHUP: apply a new configuration without disturbing what did not change.
//!
//! Instances are matched by (interface, VRID, family). Identical ones are left alone; ones whose
//! changes the protocol tolerates on the fly (priority, VIPs, preemption, scripts, announcement
//! schedule, lease) are updated in place, keeping their state and timers; the rest (name,
//! version, interval, source address) stop and start anew, as do added and removed ones.

use super::*;
use crate::status::protocol::{InstanceChange, ReloadOutcome};

/// What identifies an instance across reloads.
fn key(spec: &InstanceSpec) -> (&str, u8, Family) {
    (&spec.interface, spec.vrid, spec.family())
}

/// Changes that cannot be made to a running instance.
fn needs_restart(old: &InstanceSpec, new: &InstanceSpec) -> bool {
    old.name != new.name
        || old.sync_group != new.sync_group
        || old.vmac != new.vmac
        || old.version != new.version
        || old.advert_interval != new.advert_interval
        || old.mcast_src_ip != new.mcast_src_ip
}

fn same_address(a: &VipSpec, b: &VipSpec) -> bool {
    a.addr == b.addr && a.prefix_len == b.prefix_len && a.dev == b.dev
}

impl Daemon {
    /// Reads the configuration again and applies it; says what it did.
    pub(super) fn reload(&mut self, now: Instant) -> ReloadOutcome {
        let mut outcome = ReloadOutcome::default();
        if self.stop_deadline.is_some() {
            outcome.errors.push("the agent is stopping".into());
            return outcome;
        }
        info!("reloading {}", self.config_path.display());
        let loaded = match load_specs_with(&self.config_path, &self.load_options) {
            Ok(loaded) => loaded,
            Err(report) => {
                error!(
                    "{} has errors; still running the previous configuration:\n{report}",
                    self.config_path.display()
                );
                self.reload_failures += 1;
                outcome.errors = report
                    .lines()
                    .map(str::trim_end)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
                return outcome;
            }
        };
        for warning in &loaded.warnings {
            warn!("{warning}");
        }
        outcome.warnings = loaded.warnings.clone();
        outcome.applied = true;
        self.set_statics(loaded.statics.clone());
        self.reloads += 1;
        let mut keep = vec![false; self.instances.len()];
        let (mut updates, mut start) = (Vec::new(), Vec::new());
        let Loaded {
            specs,
            check_scripts,
            track_files,
            sync_groups,
            process,
            mut global,
            fifos,
            ..
        } = loaded;
        if (global.mcast_group4, global.mcast_group6)
            != (self.global.mcast_group4, self.global.mcast_group6)
        {
            // The open sockets joined the old groups: all instances must keep one group.
            warn!(
                "vrrp_mcast_group4 / vrrp_mcast_group6 changed: they take effect at the next \
                 restart"
            );
            global.mcast_group4 = self.global.mcast_group4;
            global.mcast_group6 = self.global.mcast_group6;
        }
        let lifecycle = |g: &crate::config::GlobalDefs| {
            (
                g.startup_script
                    .as_ref()
                    .map(|s| (s.raw.clone(), s.user.clone(), s.group.clone())),
                g.startup_script_timeout,
                g.shutdown_script
                    .as_ref()
                    .map(|s| (s.raw.clone(), s.user.clone(), s.group.clone())),
                g.shutdown_script_timeout,
            )
        };
        if lifecycle(&global) != lifecycle(&self.global) {
            // They run once per agent: the start-time ones stay in force.
            warn!(
                "startup_script / shutdown_script or their timeouts changed: they take effect at \
                 the next restart"
            );
        }
        global.startup_script = self.global.startup_script.take();
        global.startup_script_timeout = self.global.startup_script_timeout;
        global.shutdown_script = self.global.shutdown_script.take();
        global.shutdown_script_timeout = self.global.shutdown_script_timeout;
        self.global = global;
        self.configure_fifos(fifos, now);
        if process != self.process {
            warn!(
                "vrrp_priority / vrrp_rt_priority / vrrp_rlimit_rttime / vrrp_no_swap / \
                 vrrp_cpu_affinity changed: they take effect at the next restart"
            );
        }
        for spec in specs {
            let found = self
                .instances
                .iter()
                .enumerate()
                .position(|(i, r)| !keep[i] && key(&r.spec) == key(&spec));
            match found {
                Some(i) if self.instances[i].spec == spec => keep[i] = true,
                Some(i) if !needs_restart(&self.instances[i].spec, &spec) => {
                    keep[i] = true;
                    updates.push((i, spec));
                }
                _ => start.push(spec),
            }
        }
        let mut changes: Vec<(String, &str)> = Vec::new();
        for (idx, spec) in updates {
            changes.push((spec.name.clone(), "updated"));
            self.update_in_place(idx, spec, now);
        }
        for (idx, &kept) in keep.iter().enumerate() {
            if !kept {
                let old = &self.instances[idx].spec;
                let restarted = start.iter().any(|s| key(s) == key(old));
                changes.push((
                    old.name.clone(),
                    if restarted { "restarted" } else { "removed" },
                ));
                info!(
                    "{}: removed or changed by the reload; stopping it",
                    self.instances[idx].spec.name
                );
                // keepalived's notify_deleted: a removed (not restarted) instance says DELETED.
                self.instances[idx].deleted = !restarted;
                self.instances[idx].instance.handle_shutdown(now);
                self.drain(idx, now);
                let name = self.instances[idx].spec.name.clone();
                self.remove_vmac(&name);
            }
        }
        let mut idx = 0;
        self.instances.retain(|_| {
            idx += 1;
            keep[idx - 1]
        });
        self.rebuild_deadlines();
        self.vip_addrs = self
            .instances
            .iter()
            .flat_map(|r| r.spec.all_vips().map(|v| v.addr))
            .collect();
        self.close_unused_sockets();
        self.prepare_vmacs(&start);
        self.remove_stale_vips(&start);
        // Unchanged track scripts and files keep their state; groups are rebuilt.
        self.configure_tracking(check_scripts, track_files, true, now);
        self.configure_groups(sync_groups);
        self.retrack_all(now);
        for spec in start {
            if !changes.iter().any(|(name, _)| *name == spec.name) {
                changes.push((spec.name.clone(), "added"));
            }
            self.add_instance(spec, now);
        }
        self.sync_all_groups(now);
        if self.global.fifo_states_on_reload {
            self.fifo_states();
        }
        info!("reload done: {} instances", self.instances.len());
        outcome.changes = changes
            .into_iter()
            .map(|(instance, change)| InstanceChange {
                instance,
                change: change.into(),
            })
            .collect();
        outcome
    }

    fn update_in_place(&mut self, idx: usize, spec: InstanceSpec, now: Instant) {
        let old = std::mem::replace(&mut self.instances[idx].spec, spec);
        let primary = self.instances[idx].instance.config().primary_address;
        let config = self.instances[idx].spec.instance_config(primary);
        if let Err(e) = self.instances[idx]
            .instance
            .handle_config_update(config, now)
        {
            // needs_restart() already sorted these out; keep running the old values.
            error!("{e}; keeping the previous settings");
            self.instances[idx].spec = old;
            return;
        }
        let new = self.instances[idx].spec.clone();
        let dropped: Vec<VipSpec> = old
            .all_vips()
            .filter(|v| !new.all_vips().any(|n| same_address(v, n)))
            .cloned()
            .collect();
        let added: Vec<IpAddr> = new
            .vips
            .iter()
            .filter(|v| !old.all_vips().any(|o| same_address(v, o)))
            .map(|v| v.addr)
            .collect();
        if self.instances[idx].holds_vips {
            for vip in &dropped {
                let held = self.installed.held_by(&new.name);
                for (ifindex, addr) in held.into_iter().filter(|&(_, a)| a == vip.addr) {
                    self.release_address(&new.name, ifindex, addr);
                }
            }
            // Adds the new ones and refreshes every lease; announce only what is new.
            self.install_vips(idx, true, now);
            if !added.is_empty() {
                self.announce(idx, &added, new.announce.master_repeat.max(1), now);
            }
        }
        self.drain(idx, now);
        info!(
            "{}: updated in place by the reload (priority {}, VIPs {}{})",
            new.name,
            new.priority,
            new.vips
                .iter()
                .map(VipSpec::display)
                .collect::<Vec<_>>()
                .join(" "),
            if dropped.is_empty() {
                String::new()
            } else {
                format!(
                    "; released {}",
                    dropped
                        .iter()
                        .map(VipSpec::display)
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        );
    }
}
