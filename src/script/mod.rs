//! Running operators' scripts (notify now, track scripts later) for the single-threaded event
//! loop, without ever blocking it.
//!
//! - [`split_command`]: a keepalived command string to argv (no shell), keepalived's rules.
//! - [`notify_jobs`] and the functions it uses: a [`Notification`] to [`Job`]s following the
//!   keepalived notify contract below.
//! - [`ScriptRunner`]: per-key ordered, bounded, non-blocking execution; its documentation
//!   gives the call order for the daemon.
//! - [`check_script_security`]: keepalived's `enable_script_security`.
//!
//! # Notify contract
//!
//! Mirrored from keepalived's `vrrp_notify.c`:
//! - `notify_master`, `notify_backup`, `notify_fault` and `notify_stop` run with exactly the
//!   configured argv.
//! - The generic `notify` gets four words appended:
//!   `INSTANCE <name> <MASTER|BACKUP|FAULT|STOP> <priority>`, where priority is the instance's
//!   *effective* priority (after track_script / track_interface weights) printed in decimal; at
//!   shutdown the state word is `STOP` and the priority is still the effective priority. A sync
//!   group's generic notify gets `GROUP <name> <STATE> 0`: keepalived always passes 0 for groups.
//! - keepalived launches the state-specific script first and then the generic one; the daemon keeps
//!   that order by queueing both under the instance's key (see [`notify_jobs`]).
//!
//! Environment: keepalived `execve`s scripts with its own whole environment. keepvip instead
//! starts from a small clean one, so nothing about how the daemon was started (a login shell,
//! sudo, a container runtime) leaks into scripts: `PATH` = [`SCRIPT_PATH`], plus the locale and
//! time zone variables (`LANG`, `LANGUAGE`, `LC_*`, `TZ`) if the daemon has them, because a
//! script's `date` or `sort` output depends on them exactly as it did under keepalived. On top
//! come `KEEPVIP_*` variables (see [`notify_env`]).

pub mod fifo;
mod notify;
mod runner;
mod security;
#[cfg(test)]
mod test_dir;

pub use notify::{
    base_env, base_env_from, generic_notify_argv, notify_env, notify_jobs, specific_notify_argv,
    Notification, NotifySettings, NotifySubject, DEFAULT_NOTIFY_TIMEOUT, SCRIPT_PATH,
};
pub use runner::{
    Job, Outcome, ScriptEvent, ScriptRunner, ScriptUser, Stream, DEFAULT_KILL_GRACE,
    MAX_LINES_PER_JOB, MAX_LINE_BYTES, MAX_QUEUED_PER_KEY,
};
pub use security::{check_script_security, locate_script, resolve_in_path, ScriptCheckError};
// The splitter is pure and below both `config` and `script` (crate::argv); re-exported here
// for the scripts' callers.
pub use crate::argv::{split_command, SplitError};
