//! Builds the [`Snapshot`] the control socket and the metrics serve, from `proto` and the
//! daemon's components; answers the control requests.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::proto::availability::{state_index, OutageCause, OUTAGE_BUCKETS};
use crate::proto::track::Effect;
use crate::proto::Availability;
use crate::status::protocol::{Command, Response};
use crate::status::{
    self, Agent, Counter, GroupStatus, InstanceStatus, Master, PeerChecksum, Priority, Snapshot,
    Tracker, TransitionCount, Vip,
};

use super::control::Incoming;
use super::*;

/// keepalived's state numbers (its JSON dump and exporters use them).
pub(super) fn state_number(state: StateKind) -> u8 {
    match state {
        StateKind::Initialize => 0,
        StateKind::Backup => 1,
        StateKind::Master => 2,
        StateKind::Fault => 3,
    }
}

/// Wall-clock view of the loop's monotonic instants.
#[derive(Clone, Copy)]
pub(super) struct Clock {
    instant: Instant,
    unix: f64,
}

impl Clock {
    pub(super) fn now() -> Clock {
        Clock {
            instant: Instant::now(),
            unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }

    pub(super) fn unix(&self, at: Instant) -> f64 {
        match at.checked_duration_since(self.instant) {
            Some(later) => self.unix + later.as_secs_f64(),
            None => self.unix - self.instant.duration_since(at).as_secs_f64(),
        }
    }
}

impl Daemon {
    pub(super) fn snapshot(&self, only: Option<&str>) -> Snapshot {
        let clock = Clock::now();
        Snapshot {
            agent: Agent {
                version: env!("CARGO_PKG_VERSION").to_string(),
                pid: std::process::id(),
                config: self.config_path.display().to_string(),
                started: clock.unix(self.started_at),
                now: clock.unix,
                reloads: self.reloads,
                reload_failures: self.reload_failures,
                dropped: [
                    ("truncated", self.dropped.truncated),
                    ("ip_header", self.dropped.ip_header),
                    ("too_short", self.dropped.too_short),
                    ("unknown_vrid", self.dropped.unknown_vrid),
                ]
                .into_iter()
                .map(|(name, value)| Counter {
                    name: name.into(),
                    value,
                })
                .collect(),
            },
            instances: (0..self.instances.len())
                .filter(|&idx| only.is_none_or(|name| self.instances[idx].spec.name == name))
                .map(|idx| self.instance_status(idx, &clock))
                .collect(),
            sync_groups: self
                .groups
                .iter()
                .filter(|g| only.is_none_or(|name| g.spec.members.iter().any(|m| m == name)))
                .map(|g| GroupStatus {
                    name: g.spec.name.clone(),
                    state: g.group.state().as_str().to_string(),
                    members: g.spec.members.clone(),
                })
                .collect(),
        }
    }

    fn instance_status(&self, idx: usize, clock: &Clock) -> InstanceStatus {
        let running = &self.instances[idx];
        let spec = &running.spec;
        let instance = &running.instance;
        let state = instance.state();
        let stopping = self.stop_deadline.is_some();
        let trackers = if spec.tracking.is_empty() {
            Vec::new()
        } else {
            self.track_effects(idx)
                .into_iter()
                .map(|(object, effect)| {
                    let (effect, adjust) = match effect {
                        Effect::Fault => ("fault", 0),
                        Effect::Pending => ("pending", 0),
                        Effect::Adjust(n) => ("adjust", i64::from(n)),
                    };
                    Tracker {
                        object,
                        effect: effect.into(),
                        adjust,
                    }
                })
                .collect()
        };
        let master = if state == StateKind::Master {
            Some(Master {
                address: instance.config().primary_address.to_string(),
                priority: instance.effective_priority(),
                advert_interval: spec.advert_interval.as_duration().as_secs_f64(),
                local: true,
            })
        } else {
            instance.last_master().map(|m| Master {
                address: m.address.to_string(),
                priority: m.priority,
                advert_interval: m.interval.as_duration().as_secs_f64(),
                local: false,
            })
        };
        let lease_left = |installed: bool| -> Option<f64> {
            let lease = spec.vip_lease?;
            let given = running.lease_given_at.filter(|_| installed)?;
            let age = clock.instant.saturating_duration_since(given);
            Some(lease.saturating_sub(age).as_secs_f64())
        };
        let vips = spec
            .vips
            .iter()
            .map(|v| (v, false))
            .chain(spec.excluded_vips.iter().map(|v| (v, true)))
            .map(|(v, excluded)| {
                let ifindex = self.vip_ifindex(spec, v);
                let installed = ifindex.is_some_and(|i| {
                    self.installed.is_host_owned(i, v.addr)
                        || (running.holds_vips && self.installed.contains(i, v.addr))
                });
                Vip {
                    address: v.addr.to_string(),
                    prefix_len: v.prefix_len,
                    dev: v.dev.clone().unwrap_or_else(|| spec.interface.clone()),
                    excluded,
                    installed,
                    lease_remaining: lease_left(installed),
                }
            })
            .collect();
        let scripts = [spec.name.clone(), actions::notify_key(&spec.name, None)]
            .iter()
            .filter_map(|key| self.script_stats.get(key))
            .fold(status::ScriptStats::default(), |sum, s| {
                status::ScriptStats {
                    runs: sum.runs + s.runs,
                    failures: sum.failures + s.failures,
                    timeouts: sum.timeouts + s.timeouts,
                }
            });
        InstanceStatus {
            name: spec.name.clone(),
            interface: spec.interface.clone(),
            vrid: spec.vrid,
            family: match spec.family() {
                wire::Family::V4 => "inet",
                wire::Family::V6 => "inet6",
            }
            .into(),
            version: spec.version.number(),
            state: if stopping {
                "STOP".into()
            } else {
                state.as_str().into()
            },
            state_number: state_number(state),
            since: running.state_since.map(|at| clock.unix(at)),
            previous_state: running.previous_state.map(|s| s.as_str().to_string()),
            reason: instance.last_reason().as_str().into(),
            priority: Priority {
                base: spec.priority,
                effective: instance.effective_priority(),
                trackers,
            },
            advert_interval: spec.advert_interval.as_duration().as_secs_f64(),
            master,
            vips,
            preempt: spec.preempt,
            preempt_delay: spec.preempt_delay.as_secs_f64(),
            sync_group: spec.sync_group.clone(),
            peer_checksums: running
                .peer_checksums
                .sorted()
                .into_iter()
                .map(|(peer, variant)| PeerChecksum {
                    peer: peer.to_string(),
                    variant: peers::short_name(variant).into(),
                })
                .collect(),
            counters: instance
                .counters()
                .named()
                .iter()
                .map(|&(name, value)| Counter {
                    name: name.into(),
                    value,
                })
                .collect(),
            scripts,
            transitions: running
                .transitions
                .iter()
                .map(|((to, reason), &count)| TransitionCount {
                    to: to.clone(),
                    reason: reason.clone(),
                    count,
                })
                .collect(),
            availability: availability_status(instance.availability(), clock),
        }
    }

    /// Records a transition for status and metrics, and tells the events followers.
    pub(super) fn record_transition(
        &mut self,
        idx: usize,
        n: &crate::proto::Notification,
        now: Instant,
    ) {
        let running = &mut self.instances[idx];
        running.previous_state = Some(n.previous);
        running.state_since = Some(now);
        *running
            .transitions
            .entry((n.state_word().to_string(), n.reason.as_str().to_string()))
            .or_insert(0) += 1;
        let master = match n.state {
            Some(StateKind::Master) => Some(running.instance.config().primary_address),
            _ => running.instance.last_master().map(|m| m.address),
        };
        let event = status::Event {
            time: Clock::now().unix(now),
            kind: "instance".into(),
            name: running.spec.name.clone(),
            from: n.previous.as_str().into(),
            to: n.state_word().into(),
            reason: n.reason.as_str().into(),
            priority: n.priority,
            master: master.map(|m| m.to_string()),
            outage_seconds: n.outage.map(|d| d.as_secs_f64()),
        };
        self.broadcast_event(event, now);
    }

    pub(super) fn broadcast_event(&mut self, event: status::Event, now: Instant) {
        let Some(control) = self.control.as_mut() else {
            return;
        };
        if !control.has_followers() {
            return;
        }
        let response = Response {
            event: Some(event),
            ..Response::ok()
        };
        control.broadcast(&response, self.poll.registry(), now);
    }

    /// Answers what the control socket and the metrics listener read this turn.
    pub(super) fn serve_control(&mut self, now: Instant) {
        let Some(incoming) = self.control.as_mut().map(|c| c.take_incoming()) else {
            return;
        };
        for request in incoming {
            match request {
                Incoming::Scrape(slot) => {
                    let body = crate::status::metrics::render(&self.snapshot(None));
                    if let Some(control) = self.control.as_mut() {
                        control.respond_scrape(slot, &body, self.poll.registry(), now);
                    }
                }
                Incoming::Request(slot, command) => {
                    let (response, follow) = self.answer(command, now);
                    if let Some(control) = self.control.as_mut() {
                        control.respond(slot, &response, follow, self.poll.registry(), now);
                    }
                }
            }
        }
    }

    /// The error for an instance name this agent does not run.
    fn unknown_instance(&self, instance: Option<&str>) -> Option<Response> {
        let name = instance?;
        if self.instances.iter().any(|r| r.spec.name == name) {
            return None;
        }
        let known: Vec<&str> = self
            .instances
            .iter()
            .map(|r| r.spec.name.as_str())
            .collect();
        Some(Response::error(format!(
            "no instance named {name:?}; this agent runs {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )))
    }

    fn answer(&mut self, command: Command, now: Instant) -> (Response, bool) {
        match command {
            Command::Status { instance } => {
                if let Some(error) = self.unknown_instance(instance.as_deref()) {
                    return (error, false);
                }
                let status = self.snapshot(instance.as_deref());
                (
                    Response {
                        status: Some(status),
                        ..Response::ok()
                    },
                    false,
                )
            }
            Command::Metrics => (
                Response {
                    metrics: Some(crate::status::metrics::render(&self.snapshot(None))),
                    ..Response::ok()
                },
                false,
            ),
            Command::Events => (
                Response {
                    events: Some("following".into()),
                    ..Response::ok()
                },
                true,
            ),
            Command::ResetAvailability { instance } => {
                if let Some(error) = self.unknown_instance(instance.as_deref()) {
                    return (error, false);
                }
                let mut reset = Vec::new();
                for running in &mut self.instances {
                    if instance
                        .as_deref()
                        .is_none_or(|name| running.spec.name == name)
                    {
                        running.instance.reset_availability(now);
                        reset.push(running.spec.name.clone());
                    }
                }
                info!(
                    "availability figures reset through the control socket: {}",
                    reset.join(", ")
                );
                (
                    Response {
                        reset: Some(reset),
                        ..Response::ok()
                    },
                    false,
                )
            }
            Command::Reload => {
                if self.stop_deadline.is_some() {
                    return (Response::error("the agent is stopping"), false);
                }
                info!("reload requested through the control socket");
                let outcome = self.reload(now);
                (
                    Response {
                        reload: Some(outcome),
                        ..Response::ok()
                    },
                    false,
                )
            }
        }
    }
}

/// The status form of what `proto` recorded: instants become Unix times, durations seconds.
fn availability_status(a: &Availability, clock: &Clock) -> status::Availability {
    let now = clock.instant;
    let f = a.figures(now);
    let life = a.lifetime(now);
    let outage = |start: Instant, length: Duration, cause: OutageCause| status::Outage {
        start: clock.unix(start),
        seconds: length.as_secs_f64(),
        cause: cause.as_str().into(),
    };
    let histogram = a.histogram();
    status::Availability {
        since_reset: a.since_reset().map(|at| clock.unix(at)),
        state_seconds: state_seconds(&f.state_time),
        outages: f.outages,
        outage_seconds_total: f.outage_time.as_secs_f64(),
        longest_outage_seconds: f.longest.as_secs_f64(),
        mtbf_seconds: f.mtbf.map(|d| d.as_secs_f64()),
        mttr_seconds: f.mttr.map(|d| d.as_secs_f64()),
        ratio: f.ratio,
        master_changes: f.master_changes,
        recent: a
            .recent()
            .map(|o| outage(o.start, o.duration, o.cause))
            .collect(),
        ongoing: a
            .ongoing()
            .map(|o| outage(o.start, now.saturating_duration_since(o.start), o.cause)),
        lifetime: status::AvailabilityLifetime {
            state_seconds: state_seconds(&life.state_time),
            outages: life.outages,
            outage_seconds_total: life.outage_time.as_secs_f64(),
            master_changes: life.master_changes,
        },
        histogram: status::OutageHistogram {
            buckets: OUTAGE_BUCKETS
                .iter()
                .copied()
                .zip(histogram.cumulative)
                .collect(),
            sum: histogram.sum.as_secs_f64(),
            count: histogram.count,
        },
    }
}

fn state_seconds(time: &[Duration; 4]) -> status::StateSeconds {
    let of = |state| time[state_index(state)].as_secs_f64();
    status::StateSeconds {
        init: of(StateKind::Initialize),
        backup: of(StateKind::Backup),
        master: of(StateKind::Master),
        fault: of(StateKind::Fault),
    }
}

/// Runs and failures of the scripts of one key (an instance, its stop, a group).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ScriptCount {
    pub(super) runs: u64,
    pub(super) failures: u64,
    pub(super) timeouts: u64,
}
