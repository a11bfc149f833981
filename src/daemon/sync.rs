//! Sync groups at run time: after any member executed its actions, its group reconciles all
//! members (`proto::sync`), the members execute what that made them do, and the group's own
//! notify scripts run for each change of the group's state (`GROUP <name> <STATE> 0` for the
//! generic `notify`).

use super::spec::SyncGroupSpec;
use super::*;
use crate::proto::sync::{GroupNotification, SyncGroup};

/// One configured sync group at run time.
pub(super) struct RunningGroup {
    pub(super) spec: SyncGroupSpec,
    pub(super) group: SyncGroup,
    /// The members' indices in `Daemon::instances`, ascending; checked against the names at
    /// each use and found again after a reload renumbered the instances.
    members_at: Vec<usize>,
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
                        members_at: Vec::new(),
                    }
                }
            })
            .collect();
        for gone in old {
            info!("vrrp_sync_group {}: removed by the reload", gone.spec.name);
        }
        self.group_index = self
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| (group.spec.name.clone(), g))
            .collect();
    }

    /// After instance `idx` executed its actions: reconcile its group, if it has one. O(members)
    /// for an instance in a group, nothing for the others (this runs after every advert).
    pub(super) fn sync_group_of(&mut self, idx: usize, now: Instant) {
        if self.syncing {
            return;
        }
        let Some(name) = self
            .instances
            .get(idx)
            .and_then(|r| r.spec.sync_group.as_deref())
        else {
            return;
        };
        if let Some(&g) = self.group_index.get(name) {
            self.reconcile_group(g, now);
        }
    }

    pub(super) fn sync_all_groups(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            self.reconcile_group(g, now);
        }
    }

    /// The members' instance indices, ascending, or `None` while some member does not run
    /// (start-up, reload). Cached; a stale cache is found out by the name check and rebuilt.
    fn group_members(&mut self, g: usize) -> Option<Vec<usize>> {
        let group = self.groups.get(g)?;
        let cached = &group.members_at;
        let valid = cached.len() == group.spec.members.len()
            && cached.iter().all(|&i| {
                self.instances
                    .get(i)
                    .is_some_and(|r| group.spec.members.contains(&r.spec.name))
            });
        if valid {
            return Some(cached.clone());
        }
        let mut found: Vec<usize> = group
            .spec
            .members
            .iter()
            .filter_map(|name| self.instances.iter().position(|r| r.spec.name == *name))
            .collect();
        found.sort_unstable();
        found.dedup();
        if found.len() != group.spec.members.len() {
            return None;
        }
        if let Some(group) = self.groups.get_mut(g) {
            group.members_at.clone_from(&found);
        }
        Some(found)
    }

    fn reconcile_group(&mut self, g: usize, now: Instant) {
        // Until every member runs (start-up, reload), the group waits.
        let Some(members) = self.group_members(g) else {
            return;
        };
        self.syncing = true;
        let Daemon {
            instances, groups, ..
        } = self;
        let mut refs = members_mut(instances, &members);
        if let Some(group) = groups.get_mut(g) {
            // proto settles the group (the same code the simulator runs); the members then
            // execute what it made them do, in order.
            group.group.settle(&mut refs, now);
        }
        for &i in &members {
            self.drain(i, now);
        }
        self.run_group_notifications(g, now);
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

/// The proto instances at `sorted` (ascending, distinct indices into `running`).
fn members_mut<'a>(running: &'a mut [Running], sorted: &[usize]) -> Vec<&'a mut Instance> {
    disjoint_mut(running, sorted)
        .into_iter()
        .map(|r| &mut r.instance)
        .collect()
}

/// Mutable references to the elements at `sorted` (ascending, distinct indices), without a
/// visit of the others; an index out of order or out of range ends the list there.
fn disjoint_mut<'a, T>(slice: &'a mut [T], sorted: &[usize]) -> Vec<&'a mut T> {
    let mut out = Vec::with_capacity(sorted.len());
    let mut rest = slice;
    let mut offset = 0;
    for &i in sorted {
        let Some(skip) = i.checked_sub(offset) else {
            break;
        };
        let Some((_, tail)) = rest.split_at_mut_checked(skip) else {
            break;
        };
        let Some((element, tail)) = tail.split_first_mut() else {
            break;
        };
        out.push(element);
        rest = tail;
        offset = i + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::disjoint_mut;

    #[test]
    fn disjoint_mut_hands_out_exactly_the_indices_asked_for() {
        let mut values: Vec<u32> = (0..10).collect();
        for v in disjoint_mut(&mut values, &[0, 3, 4, 9]) {
            *v += 100;
        }
        assert_eq!(values, [100, 1, 2, 103, 104, 5, 6, 7, 8, 109]);
        assert_eq!(
            disjoint_mut(&mut values, &[2, 11]).len(),
            1,
            "out of range ends it"
        );
        assert_eq!(
            disjoint_mut(&mut values, &[5, 5]).len(),
            1,
            "a repeat ends it"
        );
        assert!(disjoint_mut(&mut values, &[]).is_empty());
    }
}
