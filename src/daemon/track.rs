//! Tracking at run time: track scripts run on their interval by a [`ScriptRunner`] of their own
//! (one queue key per script, so a slow check never delays a notify script or another check),
//! track files watched with inotify, tracked interfaces followed through the netlink link
//! table. Whenever an object changes, each instance's [`Verdict`] is recomputed with
//! `proto::track` and handed to the instance.
//!
//! Track files are watched with inotify on their directory (`IN_CLOSE_WRITE`, `IN_DELETE`,
//! `IN_MOVE`), exactly the events keepalived reacts to: a change is seen at once, without
//! polling, whether the file is rewritten in place or replaced by a rename. A deleted file
//! reads as 0, as in keepalived.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

use super::spec::{CheckScriptSpec, ScriptSpec, TrackFileSpec, TrackingSpec};
use super::*;
use crate::proto::track::{
    condition_effect, file_effect, parse_track_file, Condition, Effect, ScriptHealth, Verdict,
};
use crate::script::Job;

/// The inotify descriptor's token.
pub(super) const INOTIFY: Token = Token(2);
/// Track scripts' pipes: their own token range, above the notify runner's.
const CHECK_SCRIPT_BASE: usize = 1 << 21;
/// At most this many track scripts run at once.
const MAX_CONCURRENT_CHECKS: usize = 32;
/// keepalived reads at most this much of a track file.
const TRACK_FILE_READ_LIMIT: u64 = 127;

/// One track script at run time.
struct CheckScript {
    spec: CheckScriptSpec,
    health: ScriptHealth,
    /// `None` once stopping.
    next_run_at: Option<Instant>,
    running: bool,
}

/// One track file at run time.
struct WatchedFile {
    spec: TrackFileSpec,
    value: i64,
    /// The watch on its directory, and its name in there.
    watch: Option<(WatchDescriptor, OsString)>,
}

/// Tracked scripts and files, and the runner of the scripts.
pub(super) struct Tracker {
    scripts: Vec<CheckScript>,
    files: Vec<WatchedFile>,
    inotify: Option<Inotify>,
    pub(super) runner: ScriptRunner,
}

impl Tracker {
    pub(super) fn new() -> Tracker {
        Tracker {
            scripts: Vec::new(),
            files: Vec::new(),
            inotify: None,
            runner: ScriptRunner::new(Token(CHECK_SCRIPT_BASE), MAX_CONCURRENT_CHECKS),
        }
    }

    pub(super) fn script_condition(&self, name: &str) -> Condition {
        self.scripts
            .iter()
            .find(|s| s.spec.name == name)
            .map_or(Condition::Pending, |s| s.health.condition())
    }

    /// The track scripts as keepalived's data dump shows them: spec, condition, running now.
    pub(super) fn script_views(&self) -> impl Iterator<Item = (&CheckScriptSpec, Condition, bool)> {
        self.scripts
            .iter()
            .map(|s| (&s.spec, s.health.condition(), s.running))
    }

    pub(super) fn file_value(&self, name: &str) -> i64 {
        self.files
            .iter()
            .find(|f| f.spec.name == name)
            .map_or(0, |f| f.value)
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.scripts
            .iter()
            .filter_map(|s| s.next_run_at)
            .chain(self.runner.poll_timeout())
            .min()
    }
}

/// Reads a track file as keepalived does: the first 127 bytes; a missing file is 0; `None` when
/// the number does not fit (the previous value stays).
fn read_track_file(path: &Path) -> Result<Option<i64>, std::io::Error> {
    let mut text = Vec::new();
    // Non-blocking: a FIFO (or a link to one) with no writer must not freeze the loop.
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => {
            if !file.metadata()?.is_file() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a regular file",
                ));
            }
            file.take(TRACK_FILE_READ_LIMIT).read_to_end(&mut text)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(0)),
        Err(e) => return Err(e),
    }
    Ok(parse_track_file(&String::from_utf8_lossy(&text)))
}

/// `init_file`: writes VALUE if the file is missing, or always with `overwrite` (never on a
/// reload, as in keepalived).
fn init_track_file(spec: &TrackFileSpec, reload: bool) {
    let Some((value, overwrite)) = spec.init else {
        return;
    };
    let exists = spec.path.symlink_metadata().is_ok();
    if exists && (!overwrite || reload) {
        return;
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        // Never write through a link somebody put in our way.
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&spec.path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, format!("{value}\n").as_bytes()));
    match written {
        Ok(()) => info!(
            "track_file {}: wrote {value} to {}",
            spec.name,
            spec.path.display()
        ),
        Err(e) => error!(
            "track_file {}: cannot initialise {}: {e}",
            spec.name,
            spec.path.display()
        ),
    }
}

impl Daemon {
    /// Starts (or, on a reload, replaces) the tracked scripts and files. Scripts whose
    /// definition did not change keep their state; the others run at once.
    pub(super) fn configure_tracking(
        &mut self,
        scripts: Vec<CheckScriptSpec>,
        files: Vec<TrackFileSpec>,
        reload: bool,
        now: Instant,
    ) {
        let mut old: Vec<CheckScript> = std::mem::take(&mut self.tracker.scripts);
        self.tracker.scripts = scripts
            .into_iter()
            .map(|spec| match old.iter().position(|o| o.spec == spec) {
                Some(i) => old.swap_remove(i),
                None => CheckScript {
                    health: ScriptHealth::new(spec.rise, spec.fall, spec.init_fail),
                    spec,
                    next_run_at: Some(now),
                    running: false,
                },
            })
            .collect();
        if let Some(inotify) = self.tracker.inotify.take() {
            // Closing it below drops every watch with it.
            let _ = self
                .poll
                .registry()
                .deregister(&mut SourceFd(&inotify.as_fd().as_raw_fd()));
        }
        self.tracker.files = files
            .into_iter()
            .map(|spec| {
                init_track_file(&spec, reload);
                WatchedFile {
                    spec,
                    value: 0,
                    watch: None,
                }
            })
            .collect();
        if self.tracker.files.is_empty() {
            return;
        }
        match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
            Ok(inotify) => {
                let fd = inotify.as_fd().as_raw_fd();
                if let Err(e) =
                    self.poll
                        .registry()
                        .register(&mut SourceFd(&fd), INOTIFY, Interest::READABLE)
                {
                    error!("cannot watch track files: {e}");
                }
                self.tracker.inotify = Some(inotify);
            }
            Err(e) => error!("cannot watch track files (inotify): {e}"),
        }
        for i in 0..self.tracker.files.len() {
            self.watch_file(i);
            self.read_file(i);
        }
    }

    fn watch_file(&mut self, i: usize) {
        let (Some(inotify), Some(file)) = (&self.tracker.inotify, self.tracker.files.get_mut(i))
        else {
            return;
        };
        let path = &file.spec.path;
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            error!(
                "track_file {}: {} names no file",
                file.spec.name,
                path.display()
            );
            return;
        };
        let flags =
            AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVE;
        match inotify.add_watch(dir, flags) {
            Ok(wd) => file.watch = Some((wd, name.to_os_string())),
            Err(e) => error!(
                "track_file {}: cannot watch {}: {e}; its value stays 0",
                file.spec.name,
                dir.display()
            ),
        }
    }

    /// Reads file `i`; true if its value changed.
    fn read_file(&mut self, i: usize) -> bool {
        let Some(file) = self.tracker.files.get_mut(i) else {
            return false;
        };
        let value = match read_track_file(&file.spec.path) {
            Ok(Some(value)) => value,
            Ok(None) => {
                warn!(
                    "track_file {}: {} does not hold a 32-bit number; keeping {}",
                    file.spec.name,
                    file.spec.path.display(),
                    file.value
                );
                return false;
            }
            Err(e) => {
                warn!(
                    "track_file {}: cannot read {}: {e}; keeping {}",
                    file.spec.name,
                    file.spec.path.display(),
                    file.value
                );
                return false;
            }
        };
        if value == file.value {
            return false;
        }
        info!("track_file {}: {} -> {value}", file.spec.name, file.value);
        file.value = value;
        true
    }

    /// The inotify descriptor is readable: re-read the files that changed.
    pub(super) fn on_inotify(&mut self, now: Instant) {
        let mut changed = false;
        loop {
            let events = match self.tracker.inotify.as_ref().map(Inotify::read_events) {
                Some(Ok(events)) => events,
                Some(Err(nix::errno::Errno::EAGAIN)) | None => break,
                Some(Err(nix::errno::Errno::EINTR)) => continue,
                Some(Err(e)) => {
                    error!("reading inotify events failed: {e}");
                    break;
                }
            };
            for event in events {
                if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                    for i in 0..self.tracker.files.len() {
                        changed |= self.read_file(i);
                    }
                    continue;
                }
                if event.mask.contains(AddWatchFlags::IN_ISDIR) {
                    continue;
                }
                let Some(name) = event.name else { continue };
                let matching: Vec<usize> = (0..self.tracker.files.len())
                    .filter(|&i| {
                        self.tracker.files[i]
                            .watch
                            .as_ref()
                            .is_some_and(|(wd, n)| *wd == event.wd && *n == name)
                    })
                    .collect();
                for i in matching {
                    if event
                        .mask
                        .intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM)
                    {
                        let file = &mut self.tracker.files[i];
                        if file.value != 0 {
                            info!(
                                "track_file {}: {} is gone, reads as 0 (was {})",
                                file.spec.name,
                                file.spec.path.display(),
                                file.value
                            );
                            file.value = 0;
                            changed = true;
                        }
                    } else {
                        changed |= self.read_file(i);
                    }
                }
            }
        }
        if changed {
            self.retrack_all(now);
        }
    }

    /// Starts the track scripts that are due (skipping one still running, as keepalived does).
    pub(super) fn run_due_checks(&mut self, now: Instant) {
        for check in &mut self.tracker.scripts {
            if check.next_run_at.is_none_or(|at| at > now) {
                continue;
            }
            check.next_run_at = Some(now + check.spec.interval);
            if check.running {
                debug!(
                    "vrrp_script {}: still running after {:?}; skipping this run",
                    check.spec.name, check.spec.interval
                );
                continue;
            }
            let script: &ScriptSpec = &check.spec.script;
            let job = Job {
                program: Some(script.program.clone()),
                argv: script.argv.clone(),
                env: self.notify_settings.base_env.clone(),
                timeout: check.spec.timeout,
                user: script.user,
            };
            check.running = true;
            self.tracker
                .runner
                .enqueue(&check.spec.name, job, now, self.poll.registry());
        }
    }

    /// Results of finished track scripts; re-tracks the instances when a condition changed.
    pub(super) fn on_check_events(&mut self, now: Instant) {
        let mut changed = false;
        while let Some(event) = self.tracker.runner.poll_event() {
            let (key, success, what) = match event {
                ScriptEvent::Started { key, pid, .. } => {
                    debug!("vrrp_script {key}: started (pid {pid})");
                    continue;
                }
                ScriptEvent::Output { key, line, .. } => {
                    debug!("vrrp_script {key}: {line}");
                    continue;
                }
                ScriptEvent::Finished {
                    key,
                    outcome,
                    duration,
                    ..
                } => {
                    let what = match &outcome {
                        script::Outcome::Exited(code) => format!("exit status {code}"),
                        script::Outcome::Signaled(signal) => format!("killed by signal {signal}"),
                        script::Outcome::TimedOut { .. } => {
                            format!("timed out after {duration:?}, killed")
                        }
                        script::Outcome::Lost(why) => format!("status lost: {why}"),
                    };
                    (key, outcome.is_success(), what)
                }
                ScriptEvent::SpawnFailed { key, error, .. } => {
                    error!("vrrp_script {key}: cannot run: {error}");
                    (key, false, format!("cannot run: {error}"))
                }
                ScriptEvent::Cancelled { .. } | ScriptEvent::Dropped { .. } => continue,
            };
            let Some(check) = self.tracker.scripts.iter_mut().find(|c| c.spec.name == key) else {
                continue;
            };
            check.running = false;
            if check.health.record(success) {
                info!(
                    "vrrp_script {key}: now {} ({what})",
                    check.health.condition()
                );
                changed = true;
            } else if !success {
                debug!("vrrp_script {key}: failed ({what})");
            }
        }
        if changed {
            self.retrack_all(now);
        }
    }

    /// Stops starting track scripts; those running are bounded by `deadline`.
    pub(super) fn stop_checks(&mut self, deadline: Instant) {
        for check in &mut self.tracker.scripts {
            check.next_run_at = None;
        }
        self.tracker.runner.shutdown(deadline);
    }

    fn link_condition(&self, name: &str) -> Condition {
        match self.links.by_name(name) {
            Some(link) if link.oper_up => Condition::Up,
            _ => Condition::Down,
        }
    }

    /// Every tracked object of instance `idx` with its effect, described for logs.
    pub(super) fn track_effects(&self, idx: usize) -> Vec<(String, Effect)> {
        let tracking = &self.instances[idx].spec.tracking;
        let mut out = Vec::new();
        for (name, weight) in &tracking.interfaces {
            let condition = self.link_condition(name);
            out.push((
                format!("track_interface {name} {condition}"),
                condition_effect(*weight, condition),
            ));
        }
        for (name, weight) in &tracking.scripts {
            let condition = self.tracker.script_condition(name);
            out.push((
                format!("track_script {name} {condition}"),
                condition_effect(*weight, condition),
            ));
        }
        for (name, weight) in &tracking.files {
            let value = self.tracker.file_value(name);
            out.push((
                format!("track_file {name} = {value}"),
                file_effect(*weight, value),
            ));
        }
        out
    }

    /// Recomputes what tracking says about instance `idx` and hands it over if it changed.
    pub(super) fn retrack(&mut self, idx: usize, now: Instant) {
        let effects = self.track_effects(idx);
        let verdict = Verdict::of(effects.iter().map(|(_, e)| *e));
        let running = &mut self.instances[idx];
        if running.verdict == Some(verdict) {
            return;
        }
        let previous = running.verdict.replace(verdict);
        let name = &running.spec.name;
        let base = running.spec.priority;
        let old_priority = previous.map_or(base, |v| v.priority(base));
        if verdict.priority(base) != old_priority {
            info!(
                "{name}: effective priority {old_priority} -> {} (base {base}, tracking {:+})",
                verdict.priority(base),
                verdict.adjust
            );
        }
        if verdict.fault != previous.is_some_and(|v| v.fault) {
            let faults: Vec<&str> = effects
                .iter()
                .filter(|(_, e)| *e == Effect::Fault)
                .map(|(what, _)| what.as_str())
                .collect();
            if verdict.fault {
                warn!("{name}: tracking requires FAULT: {}", faults.join(", "));
            } else {
                info!("{name}: tracking no longer requires FAULT");
            }
        }
        let before = running.instance.effective_priority();
        running.instance.handle_tracking(&verdict, now);
        self.drain(idx, now);
        if self.instances[idx].instance.effective_priority() != before {
            self.priority_changed(idx);
        }
    }

    pub(super) fn retrack_all(&mut self, now: Instant) {
        for idx in 0..self.instances.len() {
            if !self.instances[idx].spec.tracking.is_empty() {
                self.retrack(idx, now);
            }
        }
    }
}

/// The names of everything `tracking` watches, for the start-up log line.
pub(super) fn describe(tracking: &TrackingSpec) -> String {
    let mut parts: HashMap<&str, Vec<String>> = HashMap::new();
    for (kind, list) in [
        ("interfaces", &tracking.interfaces),
        ("scripts", &tracking.scripts),
        ("files", &tracking.files),
    ] {
        for (name, weight) in list {
            parts
                .entry(kind)
                .or_default()
                .push(format!("{name} ({weight})"));
        }
    }
    ["interfaces", "scripts", "files"]
        .iter()
        .filter_map(|kind| Some(format!("{kind} {}", parts.get(kind)?.join(", "))))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::track::Weight;

    fn load(text: &str) -> Loaded {
        let dir = std::env::temp_dir().join(format!(
            "keepvip-track-specs-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.conf");
        std::fs::write(&path, text).unwrap();
        let loaded = load_specs(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        loaded.unwrap_or_else(|report| panic!("{report}"))
    }

    fn instance(name: &str, vrid: u8, extra: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n{extra}\n virtual_ipaddress {{\n  192.0.2.{vrid}\n }}\n}}\n"
        )
    }

    #[test]
    fn members_track_their_group_s_objects_too_and_unweighted_entries_stay_unweighted() {
        let text = format!(
            "vrrp_sync_group G {{\n group {{\n  VI_1 VI_2\n }}\n sync_group_tracking_weight\n track_interface {{\n  eth9 weight 5\n  eth7 weight -4\n }}\n}}\n{}{}{}",
            instance("VI_1", 1, " track_interface {\n  eth9\n  eth8 weight 3\n  eth7 weight 2\n }"),
            instance("VI_2", 2, ""),
            instance("VI_3", 3, " track_interface {\n  eth9 weight 1\n }\n track_script {\n  used\n }"),
        ) + "vrrp_script used {\n script /bin/true\n}\nvrrp_script unused {\n script /bin/false\n}\n";
        let loaded = load(&text);
        let tracking = |name: &str| {
            loaded
                .specs
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.tracking.interfaces.clone())
                .unwrap()
        };
        let w = |n| Weight::new(n, false);
        assert_eq!(
            tracking("VI_1"),
            vec![
                ("eth9".to_string(), w(0)),
                ("eth8".to_string(), w(3)),
                ("eth7".to_string(), w(-4)),
            ]
        );
        assert_eq!(
            tracking("VI_2"),
            vec![("eth9".to_string(), w(5)), ("eth7".to_string(), w(-4))]
        );
        assert_eq!(tracking("VI_3"), vec![("eth9".to_string(), w(1))]);
        let groups: Vec<_> = loaded.specs.iter().map(|s| s.sync_group.clone()).collect();
        assert_eq!(groups, vec![Some("G".into()), Some("G".into()), None]);
        let scripts: Vec<&str> = loaded
            .check_scripts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            scripts,
            vec!["used"],
            "keepalived runs only tracked scripts"
        );
        assert!(loaded.track_files.is_empty());
    }

    #[test]
    fn a_fifo_track_file_is_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("keepvip-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("value");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let result = read_track_file(&fifo);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(result.is_err(), "{result:?}");
    }
}
