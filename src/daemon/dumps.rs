//! keepalived's dump files: SIGUSR1 writes `keepalived.data`, SIGUSR2 `keepalived.stats`,
//! SIGRTMIN+2 `keepalived.json`, where `state_file_location` / `stats_file_location` /
//! `json_file_location` say (default `${TMPDIR:-/tmp}`, as keepalived). The text is rendered on
//! the loop from the same snapshot `keepvip status` shows (microseconds per instance); the file
//! is written by a short-lived thread, to a temporary name then renamed, so neither a slow disk
//! nor a reader ever sees the loop wait or a half-written file.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::{DumpLocations, GlobalDefs};
use crate::proto::track::Condition;
use crate::status::keepalived::{self as ka, Destination, Dump, DumpInstance, DumpScript};

use super::*;

/// Dump writers in flight at once; a burst of signals beyond it is refused with a warning.
const MAX_WRITERS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DumpKind {
    Data,
    Stats,
    Json,
}

impl DumpKind {
    fn file_name(self) -> &'static str {
        match self {
            DumpKind::Data => "keepalived.data",
            DumpKind::Stats => "keepalived.stats",
            DumpKind::Json => "keepalived.json",
        }
    }

    fn configured(self, locations: &DumpLocations) -> Option<&Path> {
        match self {
            DumpKind::Data => locations.state.as_deref(),
            DumpKind::Stats => locations.stats.as_deref(),
            DumpKind::Json => locations.json.as_deref(),
        }
    }
}

/// The writers in flight, shared with them.
#[derive(Default)]
pub(super) struct Writers {
    in_flight: Arc<AtomicUsize>,
}

/// The file to write: the configured file, the default name inside a configured directory, or
/// keepalived's default `${TMPDIR:-/tmp}/keepalived.*`.
fn target(kind: DumpKind, locations: &DumpLocations) -> PathBuf {
    match kind.configured(locations) {
        Some(path) if path.is_dir() => path.join(kind.file_name()),
        Some(path) => path.to_path_buf(),
        None => std::env::var_os("TMPDIR")
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
            .join(kind.file_name()),
    }
}

/// Writes `text` to `path` through a fresh temporary file in the same directory (created
/// exclusively, never through a symlink, mode 0600: /tmp is world-writable) and a rename.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.as_deref().unwrap_or("keepvip"),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&tmp)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// keepalived's quoting of a command in its dumps: each word in single quotes.
fn quoted(script: &spec::ScriptSpec) -> String {
    std::iter::once(script.program.display().to_string())
        .chain(script.argv.iter().skip(1).cloned())
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn scope_name(scope: u8) -> String {
    match scope {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        other => other.to_string(),
    }
}

/// The global section: keepvip's settings in keepalived's `Key = value` form.
fn global_lines(global: &GlobalDefs) -> Vec<(String, String)> {
    let g = &global.garp;
    let secs = |d: Option<Duration>| d.map_or(0, |d| d.as_secs()).to_string();
    let pairs: Vec<(&str, String)> = vec![
        ("Network namespace", "(default)".into()),
        (
            "Router ID",
            global.router_id.clone().unwrap_or_else(|| "(unset)".into()),
        ),
        ("VRRP IPv4 mcast group", global.mcast_group4.to_string()),
        ("VRRP IPv6 mcast group", global.mcast_group6.to_string()),
        ("Gratuitous ARP delay", secs(g.master_delay)),
        ("Gratuitous ARP repeat", g.master_repeat.to_string()),
        ("Gratuitous ARP refresh timer", secs(g.master_refresh)),
        (
            "Gratuitous ARP refresh repeat",
            g.master_refresh_repeat.to_string(),
        ),
        (
            "Gratuitous ARP lower priority delay",
            secs(g.lower_prio_delay),
        ),
        (
            "Gratuitous ARP lower priority repeat",
            g.lower_prio_repeat.to_string(),
        ),
        (
            "Send advert after receive lower priority advert",
            (!global.lower_prio_no_advert).to_string(),
        ),
        (
            "Send advert after receive higher priority advert",
            global.higher_prio_send_advert.to_string(),
        ),
        (
            "Gratuitous ARP interval",
            format!("{:.6}", g.interval.as_secs_f64()),
        ),
        (
            "Gratuitous NA interval",
            format!("{:.6}", g.gna_interval.as_secs_f64()),
        ),
        (
            "VRRP default protocol version",
            global.vrrp_version.number().to_string(),
        ),
        (
            "VRRP check unicast_src",
            global.check_unicast_src.to_string(),
        ),
        ("VRRP strict mode", "false".into()),
        (
            "VRRP process priority",
            global.process.nice.unwrap_or(0).to_string(),
        ),
        ("VRRP don't swap", global.process.no_swap.to_string()),
        (
            "VRRP realtime priority",
            global.process.rt_priority.unwrap_or(0).to_string(),
        ),
        (
            "Script security",
            if global.script_security {
                "enabled"
            } else {
                "disabled"
            }
            .into(),
        ),
        ("VMAC prefix", global.vmac_prefix.clone()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

impl Daemon {
    /// What the three files show, from the status snapshot and the instances' settings.
    fn dump(&self) -> Dump {
        let snapshot = self.snapshot(None);
        let stopping = self.stop_deadline.is_some();
        let instances = self
            .instances
            .iter()
            .zip(&snapshot.instances)
            .map(|(running, status)| {
                let spec = &running.spec;
                let instance = &running.instance;
                let a = &spec.announce;
                let vip_line = |v: &crate::status::Vip| {
                    let vip = spec
                        .all_vips()
                        .find(|s| s.addr.to_string() == v.address && s.prefix_len == v.prefix_len);
                    let scope = vip.map_or(0, |s| s.scope);
                    let label = vip
                        .and_then(|s| s.label.as_deref())
                        .map(|l| format!(" label {l}"))
                        .unwrap_or_default();
                    format!(
                        "{}/{} dev {} scope {}{label}{}",
                        v.address,
                        v.prefix_len,
                        v.dev,
                        scope_name(scope),
                        if v.installed { " set" } else { "" }
                    )
                };
                let weights = |list: &[(String, crate::proto::track::Weight)]| {
                    list.iter()
                        .map(|(name, w)| (name.clone(), w.weight))
                        .collect::<Vec<_>>()
                };
                let state = if stopping { 4 } else { status.state_number };
                let master = status.master.as_ref().filter(|m| !m.local);
                DumpInstance {
                    name: spec.name.clone(),
                    version: spec.version.number(),
                    state,
                    wantstate: state,
                    last_transition: status.since.unwrap_or(0.0),
                    interface: spec.interface.clone(),
                    vmac_interface: self.vmac_name(&spec.name).map(String::from),
                    source: Some(instance.config().primary_address)
                        .filter(|a| !a.is_unspecified())
                        .map(|a| a.to_string()),
                    destination: match &spec.unicast {
                        Some(unicast) => Destination::Unicast(
                            unicast
                                .peers
                                .iter()
                                .map(|p| p.address.to_string())
                                .collect(),
                        ),
                        None => {
                            Destination::Multicast(self.multicast_group(spec.family()).to_string())
                        }
                    },
                    garp: ka::Garp {
                        delay: a.master_delay.as_secs(),
                        repeat: a.master_repeat,
                        refresh: a.refresh.map_or(0, |d| d.as_secs()),
                        refresh_repeat: a.refresh_repeat,
                        lower_prio_delay: a.lower_prio_delay.as_secs(),
                        lower_prio_repeat: a.lower_prio_repeat,
                    },
                    lower_prio_no_advert: spec.lower_prio_no_advert,
                    higher_prio_send_advert: spec.higher_prio_send_advert,
                    vrid: spec.vrid,
                    base_priority: spec.priority,
                    effective_priority: status.priority.effective,
                    master_priority: master.map_or(0, |m| m.priority),
                    advert_interval: status.advert_interval,
                    master_advert_interval: master
                        .map_or(status.advert_interval, |m| m.advert_interval),
                    master_down_interval_us: crate::proto::timers::master_down_interval_n(
                        spec.down_timer_adverts,
                        spec.version,
                        instance.effective_priority(),
                        instance.master_interval(),
                    )
                    .as_micros()
                    .try_into()
                    .unwrap_or(u64::MAX),
                    down_timer_adverts: spec.down_timer_adverts,
                    // keepvip does not filter traffic to the VIPs (no_accept is not enforced).
                    accept: true,
                    preempt: spec.preempt,
                    preempt_delay: status.preempt_delay,
                    auth_type: spec.auth.auth_type,
                    dont_track_primary: spec.dont_track_primary,
                    vips: status
                        .vips
                        .iter()
                        .filter(|v| !v.excluded)
                        .map(vip_line)
                        .collect(),
                    excluded_vips: status
                        .vips
                        .iter()
                        .filter(|v| v.excluded)
                        .map(vip_line)
                        .collect(),
                    track_interfaces: weights(&spec.tracking.interfaces),
                    track_scripts: weights(&spec.tracking.scripts),
                    track_files: weights(&spec.tracking.files),
                    notify_master: spec.scripts.master.as_ref().map(quoted),
                    notify_backup: spec.scripts.backup.as_ref().map(quoted),
                    notify_fault: spec.scripts.fault.as_ref().map(quoted),
                    notify_stop: spec.scripts.stop.as_ref().map(quoted),
                    notify: spec.scripts.generic.as_ref().map(quoted),
                    sync_group: spec.sync_group.clone(),
                    counters: instance.counters().named().to_vec(),
                }
            })
            .collect();
        let scripts = self
            .tracker
            .script_views()
            .map(|(script, condition, running)| DumpScript {
                name: script.name.clone(),
                command: quoted(&script.script),
                interval: script.interval.as_secs_f64(),
                timeout: script.timeout.as_secs_f64(),
                rise: script.rise,
                fall: script.fall,
                status: match condition {
                    Condition::Up => "GOOD",
                    Condition::Down => "BAD",
                    Condition::Pending => "INIT",
                },
                running,
                instances: self
                    .instances
                    .iter()
                    .filter_map(|r| {
                        r.spec
                            .tracking
                            .scripts
                            .iter()
                            .find(|(name, _)| *name == script.name)
                            .map(|(_, w)| (r.spec.name.clone(), w.weight))
                    })
                    .collect(),
            })
            .collect();
        Dump {
            global: global_lines(&self.global),
            instances,
            scripts,
        }
    }

    /// Renders one dump and hands it to a writer thread.
    pub(super) fn write_dump(&mut self, kind: DumpKind) {
        let in_flight = Arc::clone(&self.dump_writers.in_flight);
        if in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_WRITERS {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            warn!(
                "{} not written: {MAX_WRITERS} dumps are still being written (slow disk?)",
                kind.file_name()
            );
            return;
        }
        let dump = self.dump();
        let text = match kind {
            DumpKind::Data => ka::data(&dump),
            DumpKind::Stats => ka::stats(&dump),
            DumpKind::Json => ka::json(&dump, self.global.dumps.json_version),
        };
        let locations = self.global.dumps.clone();
        let writer = move || {
            let path = target(kind, &locations);
            match write_atomically(&path, &text) {
                Ok(()) => info!("wrote {}", path.display()),
                Err(e) => warn!(
                    "cannot write {}: {e} (set {} in global_defs to a writable place)",
                    path.display(),
                    match kind {
                        DumpKind::Data => "state_file_location",
                        DumpKind::Stats => "stats_file_location",
                        DumpKind::Json => "json_file_location",
                    }
                ),
            }
        };
        let spawned = std::thread::Builder::new()
            .name("keepvip-dump".into())
            .spawn({
                let in_flight = Arc::clone(&in_flight);
                move || {
                    writer();
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                }
            });
        if let Err(e) = spawned {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            warn!(
                "{} not written: cannot start a thread: {e}",
                kind.file_name()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_keepalived_defaults_and_directories() {
        let dir = std::env::temp_dir();
        let mut locations = DumpLocations {
            state: Some(dir.clone()),
            stats: Some(PathBuf::from("/var/lib/x/ka.stats")),
            ..DumpLocations::default()
        };
        assert_eq!(
            target(DumpKind::Data, &locations),
            dir.join("keepalived.data")
        );
        assert_eq!(
            target(DumpKind::Stats, &locations),
            PathBuf::from("/var/lib/x/ka.stats")
        );
        locations.json = None;
        assert!(target(DumpKind::Json, &locations).ends_with("keepalived.json"));
    }

    #[test]
    fn writes_replace_the_file_and_never_follow_a_planted_link() {
        let dir = std::env::temp_dir().join(format!("keepvip-dump-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keepalived.data");
        write_atomically(&path, "one\n").unwrap();
        write_atomically(&path, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A symlink planted at the target is replaced, its target untouched.
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_atomically(&path, "three\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
