//! From a configuration file to what the daemon runs: the pure config model plus the checks that
//! need the system (script files and their permissions, user and group names).

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::unistd::{Group, User};

use crate::config::{self, Config, NotifyScript, VipLease};
use crate::proto::track::Weight;
use crate::proto::{AnnounceSchedule, InitialState, Unicast, UnicastPeer};
use crate::script::{check_script_security, ScriptUser};
use crate::wire::V2Auth;

use super::spec::{
    CheckScriptSpec, FifoSpec, InstanceSpec, NotifyScripts, ScriptSpec, SyncGroupSpec,
    TrackFileSpec, TrackingSpec, VipSpec, VmacSpec,
};

/// keepalived runs scripts as this user when it exists and no `script_user` is given.
const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// A configuration ready to run, and the warnings to log.
pub struct Loaded {
    pub specs: Vec<InstanceSpec>,
    pub warnings: Vec<String>,
    /// The `vrrp_script`s and `track_file`s some instance tracks (keepalived runs no other).
    pub check_scripts: Vec<CheckScriptSpec>,
    pub track_files: Vec<TrackFileSpec>,
    pub sync_groups: Vec<SyncGroupSpec>,
    /// `vrrp_priority`, `vrrp_rt_priority` ...: applied once, at start.
    pub process: config::ProcessTuning,
    /// `global_defs` as loaded (the dumps show it and say where they go).
    pub global: config::GlobalDefs,
    /// `notify_fifo` / `vrrp_notify_fifo`.
    pub fifos: Vec<FifoSpec>,
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    pub statics: StaticSpecs,
    /// `startup_script` / `shutdown_script`, checked like every script.
    pub lifecycle: super::lifecycle::LifecycleScripts,
}

/// The `static_*` blocks as the daemon installs them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticSpecs {
    /// Every one has `dev`.
    pub addresses: Vec<VipSpec>,
    pub routes: Vec<config::Route>,
    pub rules: Vec<config::Rule>,
}

/// Loads `path` and checks its scripts. The error is the full report, one line per diagnostic
/// (`file:line:col: error: …`) and a summary line.
pub fn load_specs(path: &Path) -> Result<Loaded, String> {
    load_specs_with(path, &config::LoadOptions::default())
}

/// [`load_specs`] with the command line's config id.
pub fn load_specs_with(path: &Path, options: &config::LoadOptions) -> Result<Loaded, String> {
    let loaded = config::load_with_options(path, options).map_err(|report| report.to_string())?;
    let warnings: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
    let config = &loaded.config;
    let mut errors = Vec::new();
    let mut specs: Vec<InstanceSpec> = config
        .instances
        .iter()
        .map(|instance| instance_spec(config, instance, &mut errors))
        .collect();
    let (check_scripts, track_files) = tracking_specs(config, &mut specs, &mut errors);
    let sync_groups = sync_group_specs(config, &mut specs, &mut errors);
    let fifos = fifo_specs(config, &mut errors);
    let lifecycle = super::lifecycle::lifecycle_scripts(config, &mut errors);
    if errors.is_empty() {
        Ok(Loaded {
            specs,
            warnings,
            check_scripts,
            track_files,
            sync_groups,
            process: config.global.process.clone(),
            global: config.global.clone(),
            fifos,
            statics: StaticSpecs {
                addresses: config.statics.addresses.iter().map(vip_spec).collect(),
                routes: config.statics.routes.clone(),
                rules: config.statics.rules.clone(),
            },
            lifecycle,
        })
    } else {
        let summary = summary_line(errors.len(), warnings.len());
        let mut report = warnings;
        report.extend(errors);
        report.push(summary);
        Err(report.join("\n"))
    }
}

/// The FIFOs of `global_defs`, their owners and scripts (checked like every script).
fn fifo_specs(config: &Config, errors: &mut Vec<String>) -> Vec<FifoSpec> {
    config
        .global
        .fifos
        .iter()
        .map(|fifo| {
            let owner = match resolve_user(config, &fifo.path) {
                Ok(user) => user.map(|u| (u.uid, u.gid)),
                Err(message) => {
                    let at = config.location(fifo.path.span);
                    errors.push(format!(
                        "{at}: error: global_defs > {}: {message}",
                        fifo.keyword
                    ));
                    None
                }
            };
            let script_keyword = format!("{}_script", fifo.keyword);
            FifoSpec {
                keyword: fifo.keyword,
                path: PathBuf::from(&fifo.path.command),
                owner,
                script: fifo.script.as_ref().and_then(|script| {
                    script_spec_in(config, "global_defs", &script_keyword, script, errors)
                }),
            }
        })
        .collect()
}

/// The last line of a refused configuration's report: `2 errors, 1 warning`.
fn summary_line(errors: usize, warnings: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "{errors} error{}, {warnings} warning{}",
        plural(errors),
        plural(warnings)
    )
}

/// The last line of an accepted configuration's report: `k.conf: configuration OK (2 instances,
/// 1 warning)`.
fn ok_line(path: &Path, instances: usize, warnings: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "{}: configuration OK ({instances} instance{}, {warnings} warning{})",
        path.display(),
        plural(instances),
        plural(warnings)
    )
}

/// `keepvip --config-test`: prints every error and warning to stderr; true if the file is usable.
pub fn check_config(path: &Path, options: &config::LoadOptions) -> bool {
    match load_specs_with(path, options) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            eprintln!(
                "{}",
                ok_line(path, loaded.specs.len(), loaded.warnings.len())
            );
            true
        }
        Err(report) => {
            eprintln!("{}", report.trim_end());
            false
        }
    }
}

fn instance_spec(
    config: &Config,
    instance: &config::Instance,
    errors: &mut Vec<String>,
) -> InstanceSpec {
    let vip = vip_spec;
    let garp = instance.garp;
    let second_burst = garp.master_delay.unwrap_or(Duration::ZERO);
    let auth = match instance.auth_pass {
        Some(data) => V2Auth {
            auth_type: V2Auth::TYPE_PASS,
            data,
        },
        None => V2Auth::NONE,
    };
    let mut script = |which: &str, s: &Option<NotifyScript>| {
        s.as_ref()
            .and_then(|s| script_spec(config, &instance.name, which, s, errors))
    };
    let scripts = NotifyScripts {
        master: script("notify_master", &instance.notify.master),
        backup: script("notify_backup", &instance.notify.backup),
        fault: script("notify_fault", &instance.notify.fault),
        stop: script("notify_stop", &instance.notify.stop),
        generic: script("notify", &instance.notify.any),
        master_rx_lower_pri: script(
            "notify_master_rx_lower_pri",
            &instance.notify.master_rx_lower_pri,
        ),
        deleted: instance
            .notify_deleted
            .as_ref()
            .map(|s| script("notify_deleted", s)),
    };
    InstanceSpec {
        name: instance.name.clone(),
        interface: instance.interface.clone(),
        version: instance.version,
        vrid: instance.vrid,
        priority: instance.priority,
        advert_interval: instance.advert_interval,
        preempt: instance.preempt,
        preempt_delay: instance.preempt_delay,
        initial_state: match instance.state {
            config::InitialState::Master => InitialState::Master,
            config::InitialState::Backup => InitialState::Backup,
        },
        vips: instance.vips.iter().map(vip).collect(),
        excluded_vips: instance.excluded_vips.iter().map(vip).collect(),
        mcast_src_ip: instance.mcast_src_ip,
        lower_prio_no_advert: instance.lower_prio_no_advert,
        higher_prio_send_advert: instance.higher_prio_send_advert,
        down_timer_adverts: instance.down_timer_adverts,
        announce: AnnounceSchedule {
            master_delay: second_burst,
            master_repeat: garp.master_repeat,
            refresh: garp.master_refresh,
            refresh_repeat: garp.master_refresh_repeat,
            lower_prio_delay: garp.lower_prio_delay.unwrap_or(Duration::ZERO),
            lower_prio_repeat: garp.lower_prio_repeat,
        },
        auth,
        v3_ipv4_checksum: instance.v3_ipv4_checksum(),
        vip_lease: match instance.vip_lease {
            Some(VipLease::Permanent) => None,
            Some(VipLease::Secs(secs)) => Some(Duration::from_secs(u64::from(secs))),
            None => Some(InstanceSpec::default_vip_lease(
                instance.version,
                instance.advert_interval,
                instance.down_timer_adverts,
            )),
        },
        scripts,
        notify_priority_changes: instance.notify_priority_changes,
        unicast_fault_no_peer: instance.unicast_fault_no_peer,
        promote_secondaries: instance.promote_secondaries,
        track_src_ip: instance.track_src_ip,
        garp_interval: garp.interval,
        gna_interval: garp.gna_interval,
        unicast: instance.unicast.as_ref().map(|u| Unicast {
            peers: u
                .peers
                .iter()
                .map(|p| UnicastPeer {
                    address: p.addr,
                    min_ttl: p.min_ttl,
                    max_ttl: p.max_ttl,
                })
                .collect(),
            check_src: u.check_src,
        }),
        unicast_ttl: instance.unicast.as_ref().and_then(|u| u.ttl),
        tracking: Default::default(),
        dont_track_primary: instance.dont_track_primary,
        sync_group: None,
        vmac: instance.vmac.as_ref().map(|v| VmacSpec {
            name: v.name.clone(),
            prefix: config.global.vmac_prefix.clone(),
            mac: v.mac,
            xmit_base: v.xmit_base,
        }),
        routes: instance.routes.clone(),
        rules: instance.rules.clone(),
    }
}

fn vip_spec(v: &config::Vip) -> VipSpec {
    VipSpec {
        addr: v.addr,
        prefix_len: v.prefix_len,
        dev: v.dev.clone(),
        label: v.label.clone(),
        scope: v.scope.as_u8(),
        broadcast: broadcast_of(v),
        deprecated: v
            .preferred_lft
            .map_or(v.deprecated_by_default(), |secs| secs == 0),
        flags: vip_flag_bits(v.flags),
        preferred: v.preferred_lft.filter(|&secs| secs != 0),
        no_track: v.no_track,
    }
}

/// The `IFA_F_*` bits of a VIP's valueless options.
fn vip_flag_bits(flags: config::VipFlags) -> u32 {
    use netlink_packet_route::address::AddressFlags;
    [
        (flags.home, AddressFlags::Homeaddress),
        (flags.nodad, AddressFlags::Nodad),
        (flags.mngtmpaddr, AddressFlags::Managetempaddr),
        (flags.noprefixroute, AddressFlags::Noprefixroute),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .fold(0, |bits, (_, flag)| bits | flag.bits())
}

fn broadcast_of(vip: &config::Vip) -> Option<std::net::Ipv4Addr> {
    let std::net::IpAddr::V4(addr) = vip.addr else {
        return None;
    };
    let host_mask = u32::MAX.checked_shr(u32::from(vip.prefix_len)).unwrap_or(0);
    match vip.broadcast? {
        config::Broadcast::Addr(a) => Some(a),
        config::Broadcast::SetHostBits => Some((u32::from(addr) | host_mask).into()),
        config::Broadcast::ClearHostBits => Some((u32::from(addr) & !host_mask).into()),
    }
}

/// Splits the command, finds the user it runs as and applies keepalived's script security.
fn script_spec(
    config: &Config,
    instance: &str,
    keyword: &str,
    script: &NotifyScript,
    errors: &mut Vec<String>,
) -> Option<ScriptSpec> {
    let owner = format!("vrrp_instance {instance}");
    script_spec_in(config, &owner, keyword, script, errors)
}

/// [`script_spec`] for a script of any block: `owner` names it (`vrrp_script chk`).
pub(super) fn script_spec_in(
    config: &Config,
    owner: &str,
    keyword: &str,
    script: &NotifyScript,
    errors: &mut Vec<String>,
) -> Option<ScriptSpec> {
    let location = config.location(script.span);
    let mut fail = |message: String| {
        errors.push(format!("{location}: error: {owner} > {keyword}: {message}"));
        None
    };
    let argv = match crate::script::split_command(&script.command) {
        Ok(argv) => argv,
        Err(e) => return fail(e.to_string()),
    };
    let Some(program) = argv.first() else {
        return fail("empty command".into());
    };
    let user = match resolve_user(config, script) {
        Ok(user) => user,
        Err(message) => return fail(message),
    };
    let runs_as_root = match user {
        Some(u) => u.uid == 0 || u.gid == 0,
        None => nix::unistd::geteuid().is_root(),
    };
    let resolved: PathBuf = if config.global.script_security {
        match check_script_security(Path::new(program), runs_as_root) {
            Ok(path) => path,
            Err(e) => return fail(e.to_string()),
        }
    } else {
        match crate::script::locate_script(program) {
            Ok(path) => path,
            Err(e) => return fail(e.to_string()),
        }
    };
    Some(ScriptSpec {
        argv,
        program: resolved,
        user,
    })
}

/// The user a script runs as: its own `USER [GROUP]`, else `global_defs script_user`, else
/// keepalived's default (`keepalived_script` if that user exists, otherwise root = `None`).
fn resolve_user(config: &Config, script: &NotifyScript) -> Result<Option<ScriptUser>, String> {
    let (name, group) = match (&script.user, &config.global.script_user) {
        (Some(user), _) => (user.clone(), script.group.clone()),
        (None, Some(global)) => (global.user.clone(), global.group.clone()),
        (None, None) => match User::from_name(DEFAULT_SCRIPT_USER) {
            Ok(Some(_)) => (DEFAULT_SCRIPT_USER.to_string(), None),
            _ => return Ok(None),
        },
    };
    let user = match User::from_name(&name) {
        Ok(Some(user)) => user,
        _ => {
            return Err(format!(
                "user '{name}' does not exist; create it or change script_user"
            ))
        }
    };
    let gid = match group {
        None => user.gid,
        Some(group) => match Group::from_name(&group) {
            Ok(Some(g)) => g.gid,
            _ => {
                return Err(format!(
                    "group '{group}' does not exist; create it or name another"
                ))
            }
        },
    };
    Ok(Some(ScriptUser {
        uid: user.uid.as_raw(),
        gid: gid.as_raw(),
    }))
}

/// From the configuration: each instance's tracked objects (its own and its sync group's), and
/// the scripts and files that some instance tracks, checked like notify scripts.
pub(super) fn tracking_specs(
    config: &config::Config,
    specs: &mut [InstanceSpec],
    errors: &mut Vec<String>,
) -> (Vec<CheckScriptSpec>, Vec<TrackFileSpec>) {
    let weight = |w: config::TrackWeight| Weight::new(w.weight, w.reverse);
    for spec in specs.iter_mut() {
        let Some(instance) = config.instance(&spec.name) else {
            continue;
        };
        let mut tracking = TrackingSpec::default();
        let group = config
            .sync_groups
            .iter()
            .find(|g| g.members.contains(&spec.name));
        // keepalived: an object tracked by the instance and by its group takes the group's
        // weight, unless the instance's own entry is unweighted.
        let merge =
            |list: &mut Vec<(String, Weight)>, name: &str, w: config::TrackWeight| match list
                .iter_mut()
                .find(|(n, _)| n == name)
            {
                Some((_, existing)) if existing.weight != 0 => *existing = weight(w),
                Some(_) => {}
                None => list.push((name.to_string(), weight(w))),
            };
        for source in std::iter::once(&instance.tracking).chain(group.map(|g| &g.tracking)) {
            for e in &source.interfaces {
                merge(&mut tracking.interfaces, &e.name, e.weight);
            }
            for e in &source.scripts {
                merge(&mut tracking.scripts, &e.name, e.weight);
            }
            for e in &source.files {
                merge(&mut tracking.files, &e.name, e.weight);
            }
        }
        spec.tracking = tracking;
    }
    let tracked = |kind: fn(&TrackingSpec) -> &Vec<(String, Weight)>, name: &str| {
        specs
            .iter()
            .any(|s| kind(&s.tracking).iter().any(|(n, _)| n == name))
    };
    let mut scripts = Vec::new();
    for script in &config.scripts {
        if !tracked(|t| &t.scripts, &script.name) {
            continue;
        }
        let owner = format!("vrrp_script {}", script.name);
        let Some(spec) = script_spec_in(config, &owner, "script", &script.command, errors) else {
            continue;
        };
        scripts.push(CheckScriptSpec {
            name: script.name.clone(),
            script: spec,
            interval: script.interval,
            timeout: script.timeout,
            rise: script.rise,
            fall: script.fall,
            init_fail: script.init_fail,
        });
    }
    let files = config
        .track_files
        .iter()
        .filter(|f| tracked(|t| &t.files, &f.name))
        .map(|f| TrackFileSpec {
            name: f.name.clone(),
            path: f.path.clone(),
            init: f.init.map(|i| (i.value, i.overwrite)),
        })
        .collect();
    (scripts, files)
}

/// The sync groups of `config`, their notify scripts checked; marks each member's spec.
pub(super) fn sync_group_specs(
    config: &config::Config,
    specs: &mut [InstanceSpec],
    errors: &mut Vec<String>,
) -> Vec<SyncGroupSpec> {
    let mut groups = Vec::new();
    for group in &config.sync_groups {
        for spec in specs.iter_mut() {
            if group.members.contains(&spec.name) {
                spec.sync_group = Some(group.name.clone());
            }
        }
        let owner = format!("vrrp_sync_group {}", group.name);
        let mut script = |keyword: &str, s: &Option<config::NotifyScript>| {
            s.as_ref()
                .and_then(|s| script_spec_in(config, &owner, keyword, s, errors))
        };
        let scripts = NotifyScripts {
            master: script("notify_master", &group.notify.master),
            backup: script("notify_backup", &group.notify.backup),
            fault: script("notify_fault", &group.notify.fault),
            stop: script("notify_stop", &group.notify.stop),
            generic: script("notify", &group.notify.any),
            master_rx_lower_pri: None,
            deleted: None,
        };
        groups.push(SyncGroupSpec {
            name: group.name.clone(),
            members: group.members.clone(),
            scripts,
        });
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_of(text: &str) -> InstanceSpec {
        let loaded = match config::parse_str(text, Path::new("/k.conf")) {
            Ok(loaded) => loaded,
            Err(report) => panic!("{report}"),
        };
        let mut errors = Vec::new();
        let spec = instance_spec(&loaded.config, &loaded.config.instances[0], &mut errors);
        assert_eq!(errors, Vec::<String>::new());
        spec
    }

    #[test]
    fn authentication_and_announce_policy_reach_the_spec() {
        let spec = spec_of(
            "global_defs {\n vrrp_garp_interval 0.2\n vrrp_garp_lower_prio_repeat 2\n}\n\
             vrrp_instance V {\n interface eth0\n virtual_router_id 1\n gna_interval 0.01\n \
             garp_lower_prio_delay 0\n authentication {\n  auth_type PASS\n  auth_pass pw\n }\n \
             virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
        );
        assert_eq!(
            spec.auth,
            V2Auth {
                auth_type: V2Auth::TYPE_PASS,
                data: *b"pw\0\0\0\0\0\0"
            }
        );
        assert_eq!(spec.announce.lower_prio_repeat, 2);
        assert_eq!(spec.announce.lower_prio_delay, Duration::ZERO);
        assert_eq!(spec.announce.master_repeat, 5);
        assert_eq!(spec.garp_interval, Duration::from_millis(200));
        assert_eq!(spec.gna_interval, Duration::from_millis(10));
        let plain = spec_of(
            "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
        );
        assert_eq!(plain.auth, V2Auth::NONE);
        assert_eq!(plain.announce, AnnounceSchedule::default());
        assert_eq!(plain.garp_interval, Duration::ZERO);
    }

    #[test]
    fn summary_line_counts_errors_and_warnings_for_every_mix() {
        assert_eq!(summary_line(1, 0), "1 error, 0 warnings");
        assert_eq!(summary_line(1, 1), "1 error, 1 warning");
        assert_eq!(summary_line(1, 2), "1 error, 2 warnings");
        assert_eq!(summary_line(2, 0), "2 errors, 0 warnings");
        assert_eq!(summary_line(2, 1), "2 errors, 1 warning");
        assert_eq!(summary_line(2, 2), "2 errors, 2 warnings");
    }

    #[test]
    fn an_accepted_configuration_counts_instances_and_warnings_for_every_mix() {
        let path = Path::new("/k.conf");
        assert_eq!(
            ok_line(path, 1, 0),
            "/k.conf: configuration OK (1 instance, 0 warnings)"
        );
        assert_eq!(
            ok_line(path, 1, 1),
            "/k.conf: configuration OK (1 instance, 1 warning)"
        );
        assert_eq!(
            ok_line(path, 2, 2),
            "/k.conf: configuration OK (2 instances, 2 warnings)"
        );
        assert_eq!(
            ok_line(path, 0, 0),
            "/k.conf: configuration OK (0 instances, 0 warnings)"
        );
    }

    /// Loads a file of `instances` instances, each naming a missing user in `bad_users` of
    /// its notify scripts, each with `warnings` ignored keywords; returns the report.
    fn load_report(instances: usize, bad_users: usize, warnings: usize) -> Result<String, String> {
        let mut text = String::new();
        for i in 0..instances {
            text.push_str(&format!(
                "vrrp_instance V{i} {{\n interface eth0\n virtual_router_id {}\n priority 100\n",
                i + 1
            ));
            for _ in 0..warnings {
                text.push_str(" debug\n");
            }
            let scripts = ["notify_master", "notify_backup", "notify_fault"];
            for which in scripts.iter().take(bad_users) {
                text.push_str(&format!(" {which} \"/bin/true\" keepvip_no_such_user_x\n"));
            }
            text.push_str(&format!(
                " virtual_ipaddress {{\n  192.0.2.{}\n }}\n}}\n",
                i + 1
            ));
        }
        let path = std::env::temp_dir().join(format!(
            "keepvip-load-{}-{instances}-{bad_users}-{warnings}.conf",
            std::process::id()
        ));
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let outcome = load_specs(&path);
        let _ = std::fs::remove_file(&path);
        match outcome {
            Ok(loaded) => Ok(ok_line(&path, loaded.specs.len(), loaded.warnings.len())),
            Err(report) => Err(report),
        }
    }

    #[test]
    fn errors_found_while_building_instances_are_summarised_for_every_mix() {
        // (errors, warnings) = 0/1/many of each; errors come only from building instances
        // (a missing script user), warnings only from the parser (an ignored keyword).
        for (bad_users, warnings, summary) in [
            (1, 0, "1 error, 0 warnings"),
            (1, 1, "1 error, 1 warning"),
            (1, 2, "1 error, 2 warnings"),
            (2, 0, "2 errors, 0 warnings"),
            (2, 1, "2 errors, 1 warning"),
            (3, 2, "3 errors, 2 warnings"),
        ] {
            let report =
                load_report(1, bad_users, warnings).expect_err("a missing user is an error");
            assert!(report.contains("keepvip_no_such_user_x"), "{report}");
            assert_eq!(report.lines().last(), Some(summary), "{report}");
            assert_eq!(
                report.lines().count(),
                bad_users + warnings + 1,
                "one line per diagnostic: {report}"
            );
        }
        for (warnings, summary) in [(0, "0 warnings"), (1, "1 warning"), (2, "2 warnings")] {
            let line = load_report(1, 0, warnings).expect("no error");
            assert!(
                line.ends_with(&format!("(1 instance, {summary})")),
                "{line}"
            );
        }
        // Two instances, each with an error: counted across instances.
        let report = load_report(2, 1, 1).expect_err("two missing users");
        assert_eq!(
            report.lines().last(),
            Some("2 errors, 2 warnings"),
            "{report}"
        );
    }
}
