//! keepalived (Debian's package, 2.2.7) as a peer of keepvip agents in the lab.
//!
//! keepalived runs as two processes: the parent (the PID we start, via `ip netns exec`, which
//! execs in place) and its VRRP child, whose PID it writes to the `-r` file. Facts that shape
//! this module, checked against 2.2.7:
//! - The child has a parent-death signal (SIGTERM): killing only the parent makes the child
//!   stop *gracefully*, with a priority-0 advert. A crash is therefore simulated by stopping the
//!   parent (SIGSTOP, so it can react to nothing), SIGKILLing the child, then the parent.
//! - SIGTERM to the parent stops the child gracefully (priority 0, VIPs removed); the parent
//!   exits about a second later.
//! - At start-up keepalived removes its VIPs if present ("removing VIPs"), as keepvip does.
//! - A restarted keepalived refuses to start if its pid file names a live process, so every run
//!   gets its own pid files.
//!
//! A [`Keepalived`] handle borrows the lab, so the compiler drops it (stopping its processes by
//! PID) before the lab deletes the namespaces. Its logs are listed in the lab's failure report.

use std::cell::RefCell;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{signal_pid, write_file, Conf, Lab, POLL};

/// Debian's keepalived.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// keepalived's graceful stop takes about a second; this is the teardown's patience.
const KEEPALIVED_STOP_GRACE: Duration = Duration::from_secs(4);

/// One run of keepalived on a router.
struct Run {
    run: u32,
    parent: Child,
    conf: PathBuf,
    log: PathBuf,
    vrrp_pidfile: PathBuf,
    /// The VRRP child, once it wrote its pid file.
    vrrp_pid: Option<u32>,
    signalled: Option<Signal>,
    exited: Option<(ExitStatus, Instant)>,
}

impl Run {
    fn reap(&mut self) {
        if self.exited.is_none() {
            if let Ok(Some(status)) = self.parent.try_wait() {
                self.exited = Some((status, Instant::now()));
            }
        }
    }

    /// True when `pid` is a live (not zombie) process started with this run's config file:
    /// never signal a recycled PID.
    fn is_ours(&self, pid: u32) -> bool {
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let conf = self.conf.as_os_str().as_encoded_bytes();
        let mentions_conf = cmdline.split(|b| *b == 0).any(|arg| arg == conf);
        mentions_conf && !is_zombie(pid)
    }

    /// The VRRP child's PID from its pid file, if it is ours and alive.
    fn read_vrrp_pid(&mut self) -> Option<u32> {
        if self.vrrp_pid.is_none() {
            let text = fs::read_to_string(&self.vrrp_pidfile).ok()?;
            self.vrrp_pid = text.trim().parse().ok();
        }
        self.vrrp_pid.filter(|pid| self.is_ours(*pid))
    }

    /// Crash both processes: no priority-0 advert, VIPs left behind.
    fn crash(&mut self) {
        let parent = self.parent.id();
        if self.exited.is_none() {
            let _ = signal_pid(parent, Signal::SIGSTOP);
        }
        if let Some(child) = self.read_vrrp_pid() {
            let _ = signal_pid(child, Signal::SIGKILL);
        }
        if self.exited.is_none() {
            let _ = self.parent.kill();
            if let Ok(status) = self.parent.wait() {
                self.exited = Some((status, Instant::now()));
            }
        }
    }

    fn describe(&self) -> String {
        let status = match (&self.exited, self.signalled) {
            (Some((status, _)), _) => format!("exited: {status}"),
            (None, Some(signal)) => format!("running, sent {signal}"),
            (None, None) => "running".to_string(),
        };
        format!(
            "keepalived run {} (pid {}, VRRP child {:?}, {status}), config {}",
            self.run,
            self.parent.id(),
            self.vrrp_pid,
            self.conf.display()
        )
    }
}

fn is_zombie(pid: u32) -> bool {
    // /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces or parentheses, so split at the
    // last ')'.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(|state| state == "Z")
        })
        .unwrap_or(false)
}

/// keepalived on one router of a lab; see the module documentation.
pub struct Keepalived<'lab> {
    lab: &'lab Lab,
    router: u8,
    runs: RefCell<Vec<Run>>,
}

impl Lab {
    /// A handle to run keepalived on `router` (nothing starts until [`Keepalived::start`]).
    pub fn keepalived(&self, router: u8) -> Keepalived<'_> {
        self.check_router(router);
        Keepalived {
            lab: self,
            router,
            runs: RefCell::new(Vec::new()),
        }
    }
}

impl Keepalived<'_> {
    pub fn router(&self) -> u8 {
        self.router
    }

    /// Starts keepalived with `conf` (keepalived.conf syntax; keepvip-only keywords must not be
    /// in it) and waits until its VRRP child runs.
    pub fn start(&self, conf: &Conf) {
        self.start_text(&conf.render());
    }

    /// [`Keepalived::start`] with a configuration written out in full:
    /// `ip netns exec NS keepalived -n -l -D -P -G -f CONF -p PID -r VRRP_PID`, that is in the
    /// foreground, logging in detail to stderr (the log file) and not to syslog, VRRP only.
    pub fn start_text(&self, config: &str) {
        let lab = self.lab;
        let router = self.router;
        let live = self.runs.borrow_mut().iter_mut().find_map(|r| {
            r.reap();
            r.exited.is_none().then(|| r.parent.id())
        });
        if let Some(live) = live {
            lab.fail(&format!("r{router} already runs keepalived (pid {live})"));
        }
        let run = self.runs.borrow().len() as u32 + 1;
        let base = format!("keepalived-r{router}.{run}");
        let file = |ext: &str| lab.dir().join(format!("{base}.{ext}"));
        let (conf, log, pidfile, vrrp_pidfile) =
            (file("conf"), file("log"), file("pid"), file("vrrp.pid"));
        write_file(&conf, config, 0o644);
        let (stdout, stderr) = match File::create(&log).and_then(|f| Ok((f.try_clone()?, f))) {
            Ok(files) => files,
            Err(e) => panic!("cannot create {}: {e}", log.display()),
        };
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &lab.router_ns(router), KEEPALIVED])
            .args(["-n", "-l", "-D", "-P", "-G", "-f"])
            .arg(&conf)
            .arg("-p")
            .arg(&pidfile)
            .arg("-r")
            .arg(&vrrp_pidfile)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let parent = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot start {cmd:?} (Debian's keepalived must be installed): {e}"),
        };
        lab.watched
            .borrow_mut()
            .push((format!("keepalived on r{router}, run {run}"), log.clone()));
        self.runs.borrow_mut().push(Run {
            run,
            parent,
            conf,
            log,
            vrrp_pidfile,
            vrrp_pid: None,
            signalled: None,
            exited: None,
        });
        lab.wait_until(
            &format!("keepalived on r{router} to start its VRRP child"),
            Duration::from_secs(10),
            || {
                let mut runs = self.runs.borrow_mut();
                let Some(current) = runs.last_mut() else {
                    return false;
                };
                current.reap();
                if let Some((status, _)) = current.exited {
                    let what = current.describe();
                    drop(runs);
                    lab.fail(&format!(
                        "keepalived on r{router} exited during start-up ({status}): {what}"
                    ));
                }
                current.read_vrrp_pid().is_some()
            },
        );
    }

    /// The running run; fails the test if there is none (it was never started, or it exited
    /// although the test did not stop it).
    fn with_running<T>(&self, what: &str, f: impl FnOnce(&mut Run) -> T) -> T {
        let mut runs = self.runs.borrow_mut();
        let Some(current) = runs.last_mut() else {
            drop(runs);
            self.lab.fail(&format!(
                "cannot {what}: keepalived never started on r{}",
                self.router
            ));
        };
        current.reap();
        if current.exited.is_some() {
            let why = current.describe();
            drop(runs);
            self.lab.fail(&format!(
                "cannot {what}: keepalived on r{} is not running: {why}",
                self.router
            ));
        }
        f(current)
    }

    /// Fails the test if keepalived exited without being told to.
    pub fn assert_running(&self) {
        self.with_running("check keepalived", |_| ());
    }

    /// Crashes keepalived (see the module documentation): it sends nothing more, its VIPs stay.
    /// Returns when the VRRP child was killed.
    pub fn kill(&self) -> Instant {
        let router = self.router;
        let (sent, child) = self.with_running("crash keepalived", |run| {
            run.signalled = Some(Signal::SIGKILL);
            let child = run.read_vrrp_pid();
            let sent = Instant::now();
            run.crash();
            (sent, child)
        });
        let Some(child) = child else {
            self.lab.fail(&format!(
                "keepalived on r{router} had no VRRP child to crash"
            ));
        };
        self.lab.wait_until(
            &format!("keepalived's VRRP child (pid {child}) on r{router} to die"),
            Duration::from_secs(5),
            || !Path::new(&format!("/proc/{child}")).exists() || is_zombie(child),
        );
        sent
    }

    /// Sends SIGTERM (a graceful stop: priority 0, VIPs removed); returns when it was sent.
    pub fn terminate(&self) -> Instant {
        let router = self.router;
        self.with_running("stop keepalived", |run| {
            run.signalled = Some(Signal::SIGTERM);
            let sent = Instant::now();
            if let Err(e) = signal_pid(run.parent.id(), Signal::SIGTERM) {
                panic!("cannot send SIGTERM to keepalived on r{router}: {e}");
            }
            sent
        })
    }

    /// Waits for the stopped keepalived to exit; its status.
    pub fn wait_exit(&self, timeout: Duration) -> ExitStatus {
        let router = self.router;
        self.lab
            .wait_for(&format!("keepalived on r{router} to exit"), timeout, || {
                let mut runs = self.runs.borrow_mut();
                let current = runs.last_mut()?;
                current.reap();
                current.exited.map(|(status, _)| status)
            })
    }

    /// Everything the latest run logged so far.
    pub fn log_text(&self) -> String {
        self.runs
            .borrow()
            .last()
            .and_then(|r| fs::read_to_string(&r.log).ok())
            .unwrap_or_default()
    }

    /// Every run's log, concatenated.
    pub fn all_logs(&self) -> String {
        self.runs
            .borrow()
            .iter()
            .filter_map(|r| fs::read_to_string(&r.log).ok())
            .collect()
    }
}

impl Drop for Keepalived<'_> {
    fn drop(&mut self) {
        let mut runs = self.runs.borrow_mut();
        for run in runs.iter_mut() {
            run.reap();
            if run.exited.is_none() {
                let _ = signal_pid(run.parent.id(), Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + KEEPALIVED_STOP_GRACE;
        for run in runs.iter_mut() {
            while run.exited.is_none() && Instant::now() < deadline {
                std::thread::sleep(POLL);
                run.reap();
            }
            if run.exited.is_none() {
                eprintln!(
                    "teardown: keepalived on r{} ignored SIGTERM for {KEEPALIVED_STOP_GRACE:?}: \
                     SIGKILL",
                    self.router
                );
            }
            // Also ends a VRRP child that outlived its parent.
            run.crash();
        }
    }
}
