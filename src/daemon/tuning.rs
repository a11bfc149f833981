//! keepalived's VRRP process settings: `vrrp_cpu_affinity`, `vrrp_no_swap`,
//! `vrrp_rlimit_rttime` (process-wide, before any thread starts, so the netlink worker shares
//! them) and `vrrp_priority`, `vrrp_rt_priority` (the event loop's thread only: the worker
//! stays at normal, lower priority, and scripts start at normal priority).
//!
//! A setting the kernel refuses (no CAP_SYS_NICE, CAP_IPC_LOCK, a CPU that does not exist) is
//! logged as an error and the agent runs without it, as keepalived does.

use log::{error, info};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::mman::{mlockall, MlockAllFlags};
use nix::sys::resource::{setrlimit, Resource};
use nix::unistd::Pid;

use crate::config::ProcessTuning;

/// keepalived's RLIMIT_RTTIME when `vrrp_rt_priority` is set without `vrrp_rlimit_rttime`.
const DEFAULT_RLIMIT_RTTIME_US: u64 = 10_000;

/// Process-wide settings; call before any thread is started.
pub(super) fn apply_to_process(tuning: &ProcessTuning) {
    if !tuning.cpu_affinity.is_empty() {
        let mut set = CpuSet::new();
        let mut ok = true;
        for &cpu in &tuning.cpu_affinity {
            if let Err(e) = set.set(cpu) {
                error!("vrrp_cpu_affinity: CPU {cpu}: {e}; running on any CPU");
                ok = false;
            }
        }
        if ok {
            match sched_setaffinity(Pid::from_raw(0), &set) {
                Ok(()) => info!(
                    "vrrp_cpu_affinity: running on CPUs {:?}",
                    tuning.cpu_affinity
                ),
                Err(e) => error!(
                    "vrrp_cpu_affinity {:?}: {e}; running on any CPU (are those CPUs online?)",
                    tuning.cpu_affinity
                ),
            }
        }
    }
    if tuning.no_swap {
        match mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE) {
            Ok(()) => info!("vrrp_no_swap: memory locked"),
            Err(e) => error!("vrrp_no_swap: cannot lock memory: {e} (needs CAP_IPC_LOCK)"),
        }
    }
    let rttime = tuning
        .rlimit_rttime_us
        .or(tuning.rt_priority.map(|_| DEFAULT_RLIMIT_RTTIME_US));
    if let Some(us) = rttime {
        match setrlimit(Resource::RLIMIT_RTTIME, us, us) {
            Ok(()) => info!("vrrp_rlimit_rttime: {us} µs of real-time CPU between blocking calls"),
            Err(e) => error!("vrrp_rlimit_rttime {us}: {e}"),
        }
    }
}

/// The event loop's own priority; call on the loop's thread once the worker has started.
pub(super) fn apply_to_loop_thread(tuning: &ProcessTuning) {
    if let Some(nice) = tuning.nice {
        match crate::io::sys::set_current_thread_nice(i32::from(nice)) {
            Ok(()) => info!("vrrp_priority: nice {nice}"),
            Err(e) => error!(
                "vrrp_priority {nice}: {e}; running at the default priority (a negative value \
                 needs CAP_SYS_NICE)"
            ),
        }
    }
    if let Some(priority) = tuning.rt_priority {
        match crate::io::sys::set_current_thread_round_robin(i32::from(priority)) {
            Ok(()) => info!("vrrp_rt_priority: SCHED_RR priority {priority}"),
            Err(e) => error!(
                "vrrp_rt_priority {priority}: {e}; running without real-time scheduling (needs \
                 CAP_SYS_NICE)"
            ),
        }
    }
}
