//! keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`, their `*_script`,
//! `notify_priority_changes`, `fifo_write_vrrp_states_on_reload`) and
//! `notify_master_rx_lower_pri`. Writing a line never blocks (see `script::fifo`); the FIFO
//! scripts run under the script runner, one per FIFO, for as long as the FIFO is open.

use crate::script::fifo::{self, NotifyFifo};

use super::spec::FifoSpec;
use super::*;

/// A FIFO reader runs as long as the agent: its job's time limit is effectively none.
const FIFO_SCRIPT_LIMIT: Duration = Duration::from_secs(100 * 365 * 86_400);

/// One open notify FIFO and what it was opened from.
pub(super) struct OpenFifo {
    spec: FifoSpec,
    fifo: NotifyFifo,
    /// Drops already reported (warnings are rate-limited to a change of this count).
    reported_drops: u64,
}

impl Daemon {
    /// Opens the configured FIFOs (keeping those whose settings did not change) and starts their
    /// scripts. A FIFO that cannot be opened is logged and left out: the agent still runs.
    pub(super) fn configure_fifos(&mut self, specs: Vec<FifoSpec>, now: Instant) {
        let old = std::mem::take(&mut self.fifos);
        let (keep, close): (Vec<_>, Vec<_>) =
            old.into_iter().partition(|f| specs.contains(&f.spec));
        // Closing our end gives the old scripts end-of-file: they exit by themselves.
        drop(close);
        self.fifos = keep;
        for spec in specs {
            if self.fifos.iter().any(|f| f.spec == spec) {
                continue;
            }
            match NotifyFifo::open(&spec.path, spec.owner) {
                Ok(fifo) => {
                    info!(
                        "{}: writing events to {}",
                        spec.keyword,
                        spec.path.display()
                    );
                    if let Some(script) = &spec.script {
                        let mut argv = script.argv.clone();
                        argv.push(spec.path.display().to_string());
                        let job = script::Job {
                            program: Some(script.program.clone()),
                            argv,
                            env: self.notify_settings.base_env.clone(),
                            timeout: FIFO_SCRIPT_LIMIT,
                            user: script.user,
                        };
                        let key = format!("{}_script", spec.keyword);
                        self.runner.enqueue(&key, job, now, self.poll.registry());
                    }
                    self.fifos.push(OpenFifo {
                        spec,
                        fifo,
                        reported_drops: 0,
                    });
                }
                Err(message) => error!("{}: {message}; no events go there", spec.keyword),
            }
        }
    }

    /// Closes every FIFO (at stop, after the STOP lines): their scripts see end-of-file.
    pub(super) fn close_fifos(&mut self) {
        self.fifos.clear();
    }

    /// One event line to every FIFO.
    pub(super) fn fifo_event(&mut self, group: bool, name: &str, event: &str, priority: u8) {
        if self.fifos.is_empty() {
            return;
        }
        let line = fifo::line(group, name, event, priority);
        for open in &mut self.fifos {
            if !open.fifo.write_line(&line) && open.fifo.dropped >= open.reported_drops * 2 {
                // Doubling: a reader that stopped reading costs a handful of lines in the log.
                warn!(
                    "{}: {} is full (its reader is not reading): {} line(s) dropped so far",
                    open.spec.keyword,
                    open.fifo.path().display(),
                    open.fifo.dropped
                );
                open.reported_drops = open.fifo.dropped.max(1);
            }
        }
    }

    /// `fifo_write_vrrp_states_on_reload`: every instance's and group's state, after a reload.
    pub(super) fn fifo_states(&mut self) {
        let lines: Vec<(bool, String, &'static str, u8)> = self
            .instances
            .iter()
            .map(|r| {
                (
                    false,
                    r.spec.name.clone(),
                    r.instance.state().as_str(),
                    r.instance.effective_priority(),
                )
            })
            .chain(
                self.groups
                    .iter()
                    .map(|g| (true, g.spec.name.clone(), g.group.state().as_str(), 0)),
            )
            .collect();
        for (group, name, state, priority) in lines {
            self.fifo_event(group, &name, state, priority);
        }
    }

    /// `notify_priority_changes`: `MASTER_PRIORITY` / `BACKUP_PRIORITY` lines.
    pub(super) fn priority_changed(&mut self, idx: usize) {
        let running = &self.instances[idx];
        if !running.spec.notify_priority_changes {
            return;
        }
        let event = match running.instance.state() {
            StateKind::Master => "MASTER_PRIORITY",
            StateKind::Backup => "BACKUP_PRIORITY",
            _ => return,
        };
        let (name, priority) = (
            running.spec.name.clone(),
            running.instance.effective_priority(),
        );
        self.fifo_event(false, &name, event, priority);
    }

    /// A master heard a lower priority: keepalived's `MASTER_RX_LOWER_PRI` line and the
    /// `notify_master_rx_lower_pri` script (queued with the instance's other scripts).
    pub(super) fn master_heard_lower_priority(
        &mut self,
        idx: usize,
        from: IpAddr,
        priority: u8,
        now: Instant,
    ) {
        let running = &self.instances[idx];
        let (name, ours) = (
            running.spec.name.clone(),
            running.instance.effective_priority(),
        );
        debug!("{name}: as master, heard {from} claim mastership at priority {priority}");
        self.fifo_event(false, &name, "MASTER_RX_LOWER_PRI", ours);
        let Some(script) = self.instances[idx].spec.scripts.master_rx_lower_pri.clone() else {
            return;
        };
        let notification = script::Notification {
            subject: script::NotifySubject::Instance,
            name: name.clone(),
            state: "MASTER".into(),
            prev_state: "MASTER".into(),
            reason: "master_rx_lower_pri".into(),
            priority: ours,
            vips: self.instances[idx]
                .spec
                .vips
                .iter()
                .map(VipSpec::display)
                .collect(),
        };
        let jobs =
            super::actions::script_jobs(Some(&script), None, &notification, &self.notify_settings);
        for job in jobs {
            self.runner.enqueue(&name, job, now, self.poll.registry());
        }
    }
}
