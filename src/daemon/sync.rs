//! Sync groups at run time: after any member executed its actions, its group reconciles all
//! members (`proto::sync`), the members execute what that made them do, and the group's own
//! notify scripts run for each change of the group's state (`GROUP <name> <STATE> 0` for the
//! generic `notify`).

use super::spec::SyncGroupSpec;
use super::*;
use crate::proto::sync::{GroupNotification, SyncGroup};

/// A bound on reconcile rounds per event: one normally settles it, a second confirms.
const MAX_ROUNDS: usize = 4;

/// One configured sync group at run time.
pub(super) struct RunningGroup {
    pub(super) spec: SyncGroupSpec,
    pub(super) group: SyncGroup,
}

impl Daemon {
    /// Starts (or, on a reload, replaces) the sync groups; unchanged groups keep their state.
    pub(super) fn configure_groups(&mut self, specs: Vec<SyncGroupSpec>) {
        let mut old = std::mem::take(&mut self.groups);
        self.groups = specs
            .into_iter()
            .map(|spec| match old.iter().position(|g| g.spec == spec) {
                Some(i) => old.swap_remove(i),
                None => {
                    info!(
                        "vrrp_sync_group {}: members {}",
                        spec.name,
                        spec.members.join(" ")
                    );
                    RunningGroup {
                        group: SyncGroup::new(spec.name.clone()),
                        spec,
                    }
                }
            })
            .collect();
        for gone in old {
            info!("vrrp_sync_group {}: removed by the reload", gone.spec.name);
        }
    }

    /// After instance `idx` executed its actions: reconcile its group, if it has one.
    pub(super) fn sync_group_of(&mut self, idx: usize, now: Instant) {
        if self.syncing {
            return;
        }
        let Some(name) = self
            .instances
            .get(idx)
            .and_then(|r| r.spec.sync_group.clone())
        else {
            return;
        };
        if let Some(g) = self.groups.iter().position(|g| g.spec.name == name) {
            self.reconcile_group(g, now);
        }
    }

    pub(super) fn sync_all_groups(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            self.reconcile_group(g, now);
        }
    }

    fn reconcile_group(&mut self, g: usize, now: Instant) {
        let Some(group) = self.groups.get(g) else {
            return;
        };
        let members: Vec<usize> = group
            .spec
            .members
            .iter()
            .filter_map(|name| self.instances.iter().position(|r| r.spec.name == *name))
            .collect();
        // Until every member runs (start-up, reload), the group waits.
        if members.len() != group.spec.members.len() {
            return;
        }
        self.syncing = true;
        for _ in 0..MAX_ROUNDS {
            let states = |d: &Daemon| -> Vec<StateKind> {
                members
                    .iter()
                    .map(|&i| d.instances[i].instance.state())
                    .collect()
            };
            let before = states(self);
            let Daemon {
                instances, groups, ..
            } = self;
            let mut refs: Vec<&mut Instance> = instances
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| members.contains(i))
                .map(|(_, r)| &mut r.instance)
                .collect();
            groups[g].group.reconcile(&mut refs, now);
            for &i in &members {
                self.drain(i, now);
            }
            self.run_group_notifications(g, now);
            if states(self) == before {
                break;
            }
        }
        self.syncing = false;
    }

    /// SIGTERM: the members have stopped; each group reports STOP.
    pub(super) fn stop_groups(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            self.groups[g].group.handle_shutdown();
            self.run_group_notifications(g, now);
        }
    }

    fn run_group_notifications(&mut self, g: usize, now: Instant) {
        while let Some(n) = self.groups[g].group.poll_notification() {
            self.group_notify(g, &n, now);
        }
    }

    /// The group's notify scripts, in keepalived's order (the state's own, then `notify`),
    /// queued under the group's name so they run one after the other.
    fn group_notify(&mut self, g: usize, n: &GroupNotification, now: Instant) {
        let spec = &self.groups[g].spec;
        info!(
            "vrrp_sync_group {}: {} -> {} ({})",
            spec.name,
            n.previous,
            n.state_word(),
            n.reason
        );
        let vips = self
            .instances
            .iter()
            .filter(|r| spec.members.contains(&r.spec.name))
            .flat_map(|r| r.spec.vips.iter().map(VipSpec::display))
            .collect();
        let notification = script::Notification {
            subject: script::NotifySubject::Group,
            name: spec.name.clone(),
            state: n.state_word().to_string(),
            prev_state: n.previous.as_str().to_string(),
            reason: n.reason.as_str().to_string(),
            priority: 0,
            vips,
        };
        let jobs = super::actions::notify_jobs_for(
            &spec.scripts,
            n.state,
            &notification,
            &self.notify_settings,
        );
        let key = super::actions::notify_key(&spec.name, n.state);
        let name = spec.name.clone();
        for job in jobs {
            self.runner.enqueue(&key, job, now, self.poll.registry());
        }
        let event = crate::status::Event {
            time: super::snapshot::Clock::now().unix(now),
            kind: "sync_group".into(),
            name: name.clone(),
            from: n.previous.as_str().into(),
            to: n.state_word().into(),
            reason: n.reason.as_str().into(),
            priority: 0,
            master: None,
            outage_seconds: None,
        };
        self.fifo_event(true, &name, n.state_word(), 0);
        self.broadcast_event(event, now);
    }

    /// SIGUSR1: one line per group.
    pub(super) fn log_group_status(&self) {
        for g in &self.groups {
            info!(
                "vrrp_sync_group {}: {} (members {})",
                g.spec.name,
                g.group.state(),
                g.spec.members.join(" ")
            );
        }
    }
}
