//! What a notify script receives: its argv and environment (pure functions). The keepalived
//! contract they follow is described in the `script` module documentation.

use std::ffi::OsString;
use std::time::Duration;

use super::runner::{Job, ScriptUser};

/// `PATH` given to every script and used to resolve bare script names.
///
/// The systemd default service PATH (which keepalived's scripts inherit when keepalived runs
/// under systemd) followed by `/sbin:/bin` for systems without a merged /usr. Keeping
/// `/usr/local/*` means scripts that call locally installed tools by bare name keep working.
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Default time a notify script may run before it is sent SIGTERM (then SIGKILL after the
/// runner's grace period).
///
/// keepalived has no limit for notify scripts (only `notify_stop` at shutdown is killed after
/// 1 s). keepvip runs an instance's scripts one at a time and in order, so one hung script would
/// hold back every later notification of that instance: a bound is needed. 30 s leaves room for
/// the slow things notify scripts really do (cloud API calls to move a floating IP, with a few
/// retries; restarting a service) while making sure a stuck script delays the next transition's
/// script by half a minute, not forever.
pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a notification is about a VRRP instance or a sync group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifySubject {
    Instance,
    Group,
}

/// One state change to announce to the operator's scripts. The daemon builds it from proto's
/// action (converting proto's enums to the words below) and hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subject: NotifySubject,
    /// The instance (or sync group) name from the configuration.
    pub name: String,
    /// `MASTER`, `BACKUP`, `FAULT` or `STOP`, as keepalived spells them.
    pub state: String,
    /// The state before this change, same spelling (`INIT` at start-up is fine).
    pub prev_state: String,
    /// Why the state changed, free text for humans (e.g. `higher priority advert from 192.0.2.2`).
    pub reason: String,
    /// The effective priority (0..=255). Ignored for groups: keepalived passes 0.
    pub priority: u8,
    /// The virtual addresses of the instance, as text (`192.0.2.10/24`, `2001:db8::10`).
    pub vips: Vec<String>,
}

impl Notification {
    /// The priority keepalived passes: the effective priority for an instance, 0 for a group.
    fn passed_priority(&self) -> u8 {
        match self.subject {
            NotifySubject::Instance => self.priority,
            NotifySubject::Group => 0,
        }
    }
}

/// argv for a state-specific script (`notify_master` etc.): exactly what was configured.
pub fn specific_notify_argv(configured: &[String]) -> Vec<String> {
    configured.to_vec()
}

/// argv for the generic `notify` script: the configured argv followed by
/// `INSTANCE|GROUP <name> <STATE> <priority>`.
pub fn generic_notify_argv(configured: &[String], notification: &Notification) -> Vec<String> {
    let subject = match notification.subject {
        NotifySubject::Instance => "INSTANCE",
        NotifySubject::Group => "GROUP",
    };
    let mut argv = configured.to_vec();
    argv.extend([
        subject.to_string(),
        notification.name.clone(),
        notification.state.clone(),
        notification.passed_priority().to_string(),
    ]);
    argv
}

fn is_passed_through(name: &str) -> bool {
    matches!(name, "LANG" | "LANGUAGE" | "TZ") || name.starts_with("LC_")
}

/// The clean base environment for a script, built from the daemon's environment `vars`:
/// `PATH` = [`SCRIPT_PATH`] plus locale and time zone variables. Variables that are not UTF-8
/// are left out.
pub fn base_env_from(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(String, String)> {
    let mut env = vec![("PATH".to_string(), SCRIPT_PATH.to_string())];
    let mut passed: Vec<(String, String)> = vars
        .into_iter()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(name, _)| is_passed_through(name))
        .collect();
    passed.sort();
    env.extend(passed);
    env
}

/// [`base_env_from`] applied to this process's environment.
pub fn base_env() -> Vec<(String, String)> {
    base_env_from(std::env::vars_os())
}

/// The environment of a notify script: `base` (normally [`base_env`]) plus
/// `KEEPVIP_INSTANCE` (or `KEEPVIP_GROUP` for a sync group), `KEEPVIP_STATE`,
/// `KEEPVIP_PREV_STATE`, `KEEPVIP_REASON`, `KEEPVIP_PRIORITY` (as in argv) and `KEEPVIP_VIPS`
/// (space separated).
pub fn notify_env(base: &[(String, String)], notification: &Notification) -> Vec<(String, String)> {
    let name_var = match notification.subject {
        NotifySubject::Instance => "KEEPVIP_INSTANCE",
        NotifySubject::Group => "KEEPVIP_GROUP",
    };
    let mut env = base.to_vec();
    env.extend([
        (name_var.to_string(), notification.name.clone()),
        ("KEEPVIP_STATE".to_string(), notification.state.clone()),
        (
            "KEEPVIP_PREV_STATE".to_string(),
            notification.prev_state.clone(),
        ),
        ("KEEPVIP_REASON".to_string(), notification.reason.clone()),
        (
            "KEEPVIP_PRIORITY".to_string(),
            notification.passed_priority().to_string(),
        ),
        ("KEEPVIP_VIPS".to_string(), notification.vips.join(" ")),
    ]);
    env
}

/// How notify jobs run: the limit and the optional `script_user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    pub timeout: Duration,
    pub user: Option<ScriptUser>,
    /// The base environment, normally [`base_env`] captured once at start-up.
    pub base_env: Vec<(String, String)>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            timeout: DEFAULT_NOTIFY_TIMEOUT,
            user: None,
            base_env: base_env(),
        }
    }
}

/// The jobs for one notification, in keepalived's order: the state-specific script (the
/// configured `notify_master|backup|fault|stop` matching the new state, if any) and then the
/// generic `notify` script (if any). Enqueue them under one key (the instance or group name)
/// so they run one after the other.
pub fn notify_jobs(
    notification: &Notification,
    specific: Option<&[String]>,
    generic: Option<&[String]>,
    settings: &NotifySettings,
) -> Vec<Job> {
    let env = notify_env(&settings.base_env, notification);
    let job = |argv: Vec<String>| Job {
        program: None,
        argv,
        env: env.clone(),
        timeout: settings.timeout,
        user: settings.user,
    };
    let mut jobs = Vec::new();
    if let Some(configured) = specific {
        jobs.push(job(specific_notify_argv(configured)));
    }
    if let Some(configured) = generic {
        jobs.push(job(generic_notify_argv(configured, notification)));
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    fn notification(subject: NotifySubject, state: &str) -> Notification {
        Notification {
            subject,
            name: "VI_1".to_string(),
            state: state.to_string(),
            prev_state: "BACKUP".to_string(),
            reason: "master down timer expired".to_string(),
            priority: 90,
            vips: strings(&["192.0.2.10/24", "2001:db8::10"]),
        }
    }

    #[test]
    fn specific_scripts_get_exactly_the_configured_argv() {
        let configured = strings(&["/etc/keepalived/master.sh", "eth0", "two words"]);
        assert_eq!(specific_notify_argv(&configured), configured);
    }

    #[test]
    fn generic_notify_appends_instance_name_state_and_effective_priority() {
        let configured = strings(&["/etc/keepalived/notify.sh", "--verbose"]);
        for state in ["MASTER", "BACKUP", "FAULT", "STOP"] {
            assert_eq!(
                generic_notify_argv(&configured, &notification(NotifySubject::Instance, state)),
                strings(&[
                    "/etc/keepalived/notify.sh",
                    "--verbose",
                    "INSTANCE",
                    "VI_1",
                    state,
                    "90"
                ])
            );
        }
    }

    #[test]
    fn generic_notify_for_a_group_passes_priority_zero() {
        let configured = strings(&["/n.sh"]);
        let mut group = notification(NotifySubject::Group, "MASTER");
        group.name = "G1".to_string();
        assert_eq!(
            generic_notify_argv(&configured, &group),
            strings(&["/n.sh", "GROUP", "G1", "MASTER", "0"])
        );
    }

    #[test]
    fn priority_extremes_are_printed_in_decimal() {
        let mut n = notification(NotifySubject::Instance, "MASTER");
        for (priority, text) in [(0u8, "0"), (255, "255")] {
            n.priority = priority;
            assert_eq!(
                generic_notify_argv(&[], &n).last().map(String::as_str),
                Some(text)
            );
        }
    }

    #[test]
    fn base_env_is_clean_path_plus_locale_and_tz() {
        let daemon_env = [
            ("HOME", "/root"),
            ("PATH", "/home/me/bin:/usr/bin"),
            ("LC_TIME", "C"),
            ("SUDO_USER", "me"),
            ("TZ", "UTC"),
            ("LANG", "C.UTF-8"),
            ("LD_PRELOAD", "/tmp/evil.so"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        assert_eq!(
            base_env_from(daemon_env),
            [
                ("PATH", SCRIPT_PATH),
                ("LANG", "C.UTF-8"),
                ("LC_TIME", "C"),
                ("TZ", "UTC")
            ]
            .map(|(name, value)| (name.to_string(), value.to_string()))
        );
    }

    #[test]
    fn notify_env_adds_keepvip_variables() {
        let base = vec![("PATH".to_string(), SCRIPT_PATH.to_string())];
        let env = notify_env(&base, &notification(NotifySubject::Instance, "MASTER"));
        let expected = [
            ("PATH", SCRIPT_PATH),
            ("KEEPVIP_INSTANCE", "VI_1"),
            ("KEEPVIP_STATE", "MASTER"),
            ("KEEPVIP_PREV_STATE", "BACKUP"),
            ("KEEPVIP_REASON", "master down timer expired"),
            ("KEEPVIP_PRIORITY", "90"),
            ("KEEPVIP_VIPS", "192.0.2.10/24 2001:db8::10"),
        ]
        .map(|(name, value)| (name.to_string(), value.to_string()));
        assert_eq!(env, expected);
    }

    #[test]
    fn group_env_names_the_group() {
        let env = notify_env(&[], &notification(NotifySubject::Group, "FAULT"));
        assert!(env.contains(&("KEEPVIP_GROUP".to_string(), "VI_1".to_string())));
        assert!(env.contains(&("KEEPVIP_PRIORITY".to_string(), "0".to_string())));
        assert!(!env.iter().any(|(name, _)| name == "KEEPVIP_INSTANCE"));
    }

    #[test]
    fn notify_jobs_put_the_specific_script_before_the_generic_one() {
        let settings = NotifySettings {
            timeout: Duration::from_secs(7),
            user: Some(ScriptUser {
                uid: 65534,
                gid: 65534,
            }),
            base_env: Vec::new(),
        };
        let n = notification(NotifySubject::Instance, "BACKUP");
        let specific = strings(&["/backup.sh", "x"]);
        let generic = strings(&["/notify.sh"]);
        let jobs = notify_jobs(&n, Some(&specific), Some(&generic), &settings);
        let argvs: Vec<&[String]> = jobs.iter().map(|job| job.argv.as_slice()).collect();
        assert_eq!(
            argvs,
            [
                &strings(&["/backup.sh", "x"])[..],
                &strings(&["/notify.sh", "INSTANCE", "VI_1", "BACKUP", "90"])[..]
            ]
        );
        for job in &jobs {
            assert_eq!(job.timeout, Duration::from_secs(7));
            assert_eq!(job.user, settings.user);
            assert_eq!(job.env, notify_env(&[], &n));
        }
        assert_eq!(notify_jobs(&n, None, Some(&generic), &settings).len(), 1);
        assert!(notify_jobs(&n, None, None, &settings).is_empty());
    }
}
