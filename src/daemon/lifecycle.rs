//! keepalived's `startup_script` and `shutdown_script` (`global_defs`).
//!
//! keepalived runs the startup script before any of its children (so before any VRRP instance)
//! and the shutdown script after all of them have ended. keepvip does the same around its
//! loop: the startup script runs before [`Daemon::start`] (no stale-VIP sweep, no instance, no
//! VMAC yet), the shutdown script after `run_loop` returned (instances stopped, priority-0
//! adverts sent, VIPs released, notify scripts finished or killed). Each runs through its own
//! [`ScriptRunner`] (security-checked program, `script_user`, the notify environment, the
//! timeout: SIGTERM to its process group, SIGKILL after the runner's grace) on its own small
//! poll that wakes on the script's pipes, SIGCHLD and the timeout, never on a fixed sleep.
//! A failing startup script is logged and the instances start anyway. SIGTERM / SIGINT while
//! the startup script runs stops the agent: the script gets SIGTERM, no instance starts, and
//! the shutdown script still runs.

use std::os::fd::AsRawFd;

use mio::unix::SourceFd;

use super::spec::ScriptSpec;
use super::*;
use crate::config::Config;
use crate::script::Job;

/// `startup_script` or `shutdown_script`, ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleScript {
    /// `startup_script` or `shutdown_script`: the runner key and the log prefix.
    pub keyword: &'static str,
    pub script: ScriptSpec,
    /// `*_script_timeout`.
    pub timeout: Duration,
}

/// Both scripts of a configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LifecycleScripts {
    pub startup: Option<LifecycleScript>,
    pub shutdown: Option<LifecycleScript>,
}

/// Checks the configured scripts (security, user) as every other script is checked.
pub(super) fn lifecycle_scripts(config: &Config, errors: &mut Vec<String>) -> LifecycleScripts {
    let global = &config.global;
    let check = |keyword: &'static str,
                 script: &Option<crate::config::NotifyScript>,
                 timeout: Duration,
                 errors: &mut Vec<String>| {
        let script = script.as_ref()?;
        let spec = load::script_spec_in(config, "global_defs", keyword, script, errors)?;
        Some(LifecycleScript {
            keyword,
            script: spec,
            timeout,
        })
    };
    LifecycleScripts {
        startup: check(
            "startup_script",
            &global.startup_script,
            global.startup_script_timeout,
            errors,
        ),
        shutdown: check(
            "shutdown_script",
            &global.shutdown_script,
            global.shutdown_script_timeout,
            errors,
        ),
    }
}

/// Signals and the runner share one poll; the runner's pipes follow this token.
const LIFECYCLE_SIGNALS: Token = Token(0);
const LIFECYCLE_RUNNER: Token = Token(1);

impl Daemon {
    /// Runs `script` to its end (or its timeout). Returns whether SIGTERM / SIGINT arrived
    /// while it ran and `stoppable` was set (the script was then sent SIGTERM at once).
    /// Other signals are logged and dropped: nothing else runs yet (or any more).
    pub(super) fn run_lifecycle_script(
        &mut self,
        script: &LifecycleScript,
        stoppable: bool,
    ) -> Result<bool, String> {
        let keyword = script.keyword;
        let setup = |e: io::Error| format!("{keyword}: cannot wait for the script: {e}");
        let mut poll = Poll::new().map_err(setup)?;
        let signal_fd = self.signals.as_raw_fd();
        poll.registry()
            .register(
                &mut SourceFd(&signal_fd),
                LIFECYCLE_SIGNALS,
                Interest::READABLE,
            )
            .map_err(setup)?;
        let mut runner = ScriptRunner::new(LIFECYCLE_RUNNER, 1);
        let job = Job {
            program: Some(script.script.program.clone()),
            argv: script.script.argv.clone(),
            env: self.notify_settings.base_env.clone(),
            timeout: script.timeout,
            user: script.script.user,
        };
        info!(
            "{keyword}: running {} (at most {} s)",
            script.script.argv.join(" "),
            script.timeout.as_secs()
        );
        runner.enqueue(keyword, job, Instant::now(), poll.registry());
        let mut stop = false;
        let mut events = Events::with_capacity(16);
        loop {
            log_lifecycle_events(&mut runner);
            if runner.is_idle() {
                break;
            }
            let now = Instant::now();
            let timeout = runner
                .poll_timeout()
                .map(|at| at.saturating_duration_since(now));
            match poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("{keyword}: waiting for the script failed: {e}")),
            }
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    LIFECYCLE_SIGNALS => {
                        let asked =
                            self.lifecycle_signals(&mut runner, &poll, keyword, stoppable, now);
                        stop |= asked;
                    }
                    token if runner.owns_token(token) => {
                        runner.handle_event(token, poll.registry())
                    }
                    _ => {}
                }
            }
            runner.handle_timeout(now, poll.registry());
        }
        let _ = poll.registry().deregister(&mut SourceFd(&signal_fd));
        Ok(stop)
    }

    /// Reads the pending signals; true when a stop was asked for (and the script signalled).
    fn lifecycle_signals(
        &mut self,
        runner: &mut ScriptRunner,
        poll: &Poll,
        keyword: &str,
        stoppable: bool,
        now: Instant,
    ) -> bool {
        let mut stop = false;
        loop {
            match self.signals.read_signal() {
                Ok(Some(info)) => match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) => runner.reap(now, poll.registry()),
                    Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) if stoppable => {
                        info!("{keyword}: stop asked for while the script runs: sending it SIGTERM; no instance will start");
                        runner.shutdown(now);
                        stop = true;
                    }
                    Ok(signal) => {
                        info!("{keyword}: {signal} ignored while the script runs")
                    }
                    Err(_) => info!(
                        "{keyword}: signal {} ignored while the script runs",
                        info.ssi_signo
                    ),
                },
                Ok(None) => return stop,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    error!("{keyword}: reading signals failed: {e}");
                    return stop;
                }
            }
        }
    }
}

fn log_lifecycle_events(runner: &mut ScriptRunner) {
    while let Some(event) = runner.poll_event() {
        match event {
            ScriptEvent::Started { key, pid, .. } => info!("{key}: script started (pid {pid})"),
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
                    info!("{key}: script (pid {pid}) finished in {duration:?}");
                } else {
                    warn!("{key}: script (pid {pid}) failed after {duration:?}: {outcome:?}");
                }
            }
            ScriptEvent::SpawnFailed { key, argv, error } => {
                error!("{key}: cannot run script {}: {error}", argv.join(" "))
            }
            ScriptEvent::Cancelled { key, argv } | ScriptEvent::Dropped { key, argv } => {
                warn!("{key}: script {} not run", argv.join(" "))
            }
        }
    }
}
