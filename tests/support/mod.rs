//! Real-kernel end-to-end harness for keepvip.
//!
//! A [`Lab`] is a throw-away LAN built by `scripts/lab.sh` in network namespaces of its own
//! (unique prefix per test, so tests of one file can run in parallel threads), a private temp
//! directory for configs, logs and notify scripts, and the keepvip agents started in it. Dropping
//! the lab (also while unwinding from a failed assertion) stops those agents by PID (SIGTERM, then
//! SIGKILL after a grace period), ends the helpers it started, deletes the namespaces and removes
//! the temp directory. Every wait polls a real condition against a deadline; on failure the panic
//! message carries the agents' log tails and the lab's addresses and neighbour state.
//!
//! Needs root. If the lab cannot be built the test fails: it never skips.

// Each e2e_*.rs file uses a different part of the harness.
#![allow(dead_code, unused_imports)]

pub mod conf;
pub mod garp;
pub mod keepalived;
pub mod net;
pub mod notify;
pub mod rtnl;
pub mod track;
pub mod unicast;
pub mod vmac;
pub mod vrrp;

pub use conf::{Conf, INSTANCE, VIP, VIP_CIDR, VRID};
pub use keepalived::Keepalived;
pub use net::{IfAddr, Lifetime, Neigh, SeenAdvert};
pub use notify::{Call, Recorder, UNSET};
pub use vmac::{FrameCapture, SeenFrame};
pub use vrrp::{TimedAdvert, TimedCapture};

use std::cell::{Cell, RefCell};
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The agent under test.
pub const KEEPVIP: &str = env!("CARGO_BIN_EXE_keepvip");
const LAB_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lab.sh");

/// How often conditions are polled: fine enough to time failovers, coarse enough to leave the
/// two shared cores to the agents.
const POLL: Duration = Duration::from_millis(20);
/// Grace between SIGTERM and SIGKILL when tearing down.
const TEARDOWN_GRACE: Duration = Duration::from_secs(2);
const LOG_TAIL_LINES: usize = 40;

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// MAC of router `i` in the lab (lab.sh assigns 02:00:00:00:00:0i).
pub fn router_mac(router: u8) -> String {
    format!("02:00:00:00:00:{router:02x}")
}

/// Primary IPv4 address of router `i`.
pub fn router_ip(router: u8) -> String {
    format!("192.0.2.{router}")
}

/// A directory removed on drop (kept when KEEPVIP_E2E_KEEP is set, for post-mortems).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("keepvip-e2e-{}-{id}", std::process::id()));
        if let Err(e) = fs::create_dir(&path) {
            panic!("cannot create the test directory {}: {e}", path.display());
        }
        // Notify scripts live below: script security wants no group/other write on the way.
        set_mode(&path, 0o755);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("KEEPVIP_E2E_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    if let Err(e) = fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        panic!("cannot chmod {:o} {}: {e}", mode, path.display());
    }
}

fn write_file(path: &Path, text: &str, mode: u32) {
    if let Err(e) = fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
    set_mode(path, mode);
}

/// Runs a command to completion, failing the test if it cannot be started.
fn output(cmd: &mut Command) -> Output {
    match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    }
}

/// Stdout of a command that must succeed.
fn checked(cmd: &mut Command) -> String {
    let out = output(cmd);
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The last `lines` lines of a file, or why it could not be read.
pub fn tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            let mut out = String::new();
            for line in all.iter().skip(start) {
                out.push_str("    | ");
                out.push_str(line);
                out.push('\n');
            }
            if out.is_empty() {
                out.push_str("    (empty)\n");
            }
            out
        }
        Err(e) => format!("    (cannot read {}: {e})\n", path.display()),
    }
}

fn signal_pid(pid: u32, signal: Signal) -> nix::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| nix::errno::Errno::ESRCH)?;
    kill(Pid::from_raw(pid), signal)
}

/// One run of keepvip on one router.
struct Agent {
    router: u8,
    run: u32,
    child: Child,
    conf_path: PathBuf,
    log: PathBuf,
    /// Set when the test signalled it: its exit is then expected, not a failure.
    signalled: Option<Signal>,
    /// Exit status and the first instant the harness saw it.
    exited: Option<(ExitStatus, Instant)>,
}

impl Agent {
    fn describe(&self) -> String {
        let status = match (&self.exited, self.signalled) {
            (Some((status, _)), _) => format!("exited: {status}"),
            (None, Some(signal)) => format!("running, sent {signal}"),
            (None, None) => "running".to_string(),
        };
        format!(
            "agent r{} run {} (pid {}, {status})\n  config {}\n  log {} (last {LOG_TAIL_LINES} lines):\n{}",
            self.router,
            self.run,
            self.child.id(),
            self.conf_path.display(),
            self.log.display(),
            tail(&self.log, LOG_TAIL_LINES)
        )
    }
}

/// A background helper (tcpdump) ended by PID on drop.
struct Helper {
    name: String,
    child: Child,
}

/// tcpdump on the switch's bridge, printing every VRRP packet.
pub struct Capture {
    out: PathBuf,
}

impl Capture {
    /// The raw tcpdump lines so far.
    pub fn lines(&self) -> Vec<String> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Every VRRP advertisement seen so far, in order.
    pub fn adverts(&self) -> Vec<SeenAdvert> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(net::parse_tcpdump_vrrp)
            .collect()
    }
}

/// See the module documentation.
pub struct Lab {
    prefix: String,
    routers: u8,
    dir: TempDir,
    agents: RefCell<Vec<Agent>>,
    helpers: RefCell<Vec<Helper>>,
    /// Notify recorder logs and captures, shown in failure reports.
    watched: RefCell<Vec<(String, PathBuf)>>,
    /// PID files of hanging scripts: the test ends those processes itself.
    hang_pidfiles: RefCell<Vec<PathBuf>>,
    report_shown: Cell<bool>,
}

impl Lab {
    /// Builds a lab of `routers` routers plus the client. Fails the test if it cannot.
    pub fn new(routers: u8) -> Lab {
        let dir = TempDir::new();
        let mut last_error = String::new();
        // A prefix may be taken by another run (or a crashed one): try a few.
        for _ in 0..8 {
            let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
            let mix = std::process::id()
                .wrapping_mul(0x9e37)
                .wrapping_add(id.wrapping_mul(0x61));
            let prefix = format!("kve{:04x}", mix & 0xffff);
            let out = output(Command::new(LAB_SH).args(["up", &prefix, &routers.to_string()]));
            if out.status.success() {
                let lab = Lab {
                    prefix,
                    routers,
                    dir,
                    agents: RefCell::new(Vec::new()),
                    helpers: RefCell::new(Vec::new()),
                    watched: RefCell::new(Vec::new()),
                    hang_pidfiles: RefCell::new(Vec::new()),
                    report_shown: Cell::new(false),
                };
                for sub in ["scripts", "run"] {
                    let path = lab.dir().join(sub);
                    if let Err(e) = fs::create_dir(&path) {
                        panic!("cannot create {}: {e}", path.display());
                    }
                    set_mode(&path, 0o755);
                }
                // Scripts write their records here; sticky and world-writable like /tmp so that
                // recording works even if the agent runs scripts as an unprivileged user.
                let out_dir = lab.dir().join("out");
                if let Err(e) = fs::create_dir(&out_dir) {
                    panic!("cannot create {}: {e}", out_dir.display());
                }
                set_mode(&out_dir, 0o1777);
                return lab;
            }
            last_error = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if !last_error.contains("exist already") {
                break;
            }
        }
        panic!(
            "cannot build the namespace lab with {LAB_SH} (these tests need root and network \
             namespaces; they do not skip): {last_error}"
        );
    }

    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// How many routers the lab has.
    pub fn routers(&self) -> u8 {
        self.routers
    }

    pub fn router_ns(&self, router: u8) -> String {
        format!("{}-r{router}", self.prefix)
    }

    pub fn client_ns(&self) -> String {
        format!("{}-c", self.prefix)
    }

    pub fn switch_ns(&self) -> String {
        format!("{}-sw", self.prefix)
    }

    fn check_router(&self, router: u8) {
        if router == 0 || router > self.routers {
            panic!("this lab has routers 1..={}, not r{router}", self.routers);
        }
    }

    // ---- agents ---------------------------------------------------------------------------

    /// Starts keepvip on `router` with `conf`:
    /// `ip netns exec NS keepvip -f CONF --run-dir DIR -l debug`, output to a log file.
    /// The run directory is the same for every run on a router, as it would be on a real host.
    pub fn start(&self, router: u8, conf: &Conf) {
        self.start_text(router, &conf.render(), &[]);
    }

    /// [`Lab::start`] with a configuration written out in full and extra environment variables.
    pub fn start_text(&self, router: u8, config: &str, env: &[(&str, &str)]) {
        self.start_with_args(router, config, env, &[]);
    }

    /// The directory `router`'s agents get as `--run-dir` (their control socket is there).
    pub fn run_dir(&self, router: u8) -> PathBuf {
        self.dir().join("run").join(format!("r{router}"))
    }

    /// `keepvip status --json` of `router`'s agent (`None` while it does not answer).
    pub fn status_json(&self, router: u8) -> Option<serde_json::Value> {
        let out = Command::new(KEEPVIP)
            .arg("--run-dir")
            .arg(self.run_dir(router))
            .args(["status", "--json"])
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    /// The state of `router`'s first instance as `keepvip status --json` reports it.
    pub fn instance_state(&self, router: u8) -> Option<String> {
        let value = self.status_json(router)?;
        value["instances"][0]["state"].as_str().map(String::from)
    }

    /// The configuration file of `router`'s latest agent.
    pub fn conf_path(&self, router: u8) -> PathBuf {
        let agents = self.agents.borrow();
        match agents.iter().rev().find(|a| a.router == router) {
            Some(agent) => agent.conf_path.clone(),
            None => panic!("r{router} never ran an agent"),
        }
    }

    /// [`Lab::start_text`] with extra command-line arguments for the agent.
    pub fn start_with_args(&self, router: u8, config: &str, env: &[(&str, &str)], args: &[&str]) {
        self.check_router(router);
        self.reap();
        let run = {
            let agents = self.agents.borrow();
            if let Some(live) = agents
                .iter()
                .find(|a| a.router == router && a.exited.is_none())
            {
                panic!("r{router} already runs an agent (pid {})", live.child.id());
            }
            agents.iter().filter(|a| a.router == router).count() as u32 + 1
        };
        let conf_path = self.dir().join(format!("r{router}.{run}.conf"));
        write_file(&conf_path, config, 0o644);
        let run_dir = self.run_dir(router);
        if !run_dir.exists() {
            if let Err(e) = fs::create_dir(&run_dir) {
                panic!("cannot create {}: {e}", run_dir.display());
            }
        }
        let log = self.dir().join(format!("r{router}.{run}.log"));
        let (stdout, stderr) = match File::create(&log).and_then(|f| Ok((f.try_clone()?, f))) {
            Ok(files) => files,
            Err(e) => panic!("cannot create {}: {e}", log.display()),
        };
        let mut cmd = Command::new("ip");
        // `ip netns exec` execs the program in place: the child's PID is the agent's PID.
        cmd.args(["netns", "exec", &self.router_ns(router), KEEPVIP, "-f"])
            .arg(&conf_path)
            .arg("--run-dir")
            .arg(&run_dir)
            .args(["-l", "debug"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot start {cmd:?}: {e}"),
        };
        self.agents.borrow_mut().push(Agent {
            router,
            run,
            child,
            conf_path,
            log,
            signalled: None,
            exited: None,
        });
    }

    /// Sends `signal` to the running agent of `router`; returns when it was sent.
    /// The PID of `router`'s latest agent (`ip netns exec` execs it in place).
    pub fn agent_pid(&self, router: u8) -> u32 {
        let agents = self.agents.borrow();
        match agents.iter().rev().find(|a| a.router == router) {
            Some(agent) => agent.child.id(),
            None => {
                drop(agents);
                self.fail(&format!("no agent was started on r{router}"))
            }
        }
    }

    fn signal(&self, router: u8, signal: Signal) -> Instant {
        self.reap();
        let mut agents = self.agents.borrow_mut();
        let Some(agent) = agents.iter_mut().rev().find(|a| a.router == router) else {
            drop(agents);
            self.fail(&format!("no agent was started on r{router}"));
        };
        if let Some((status, _)) = agent.exited {
            drop(agents);
            self.fail(&format!(
                "cannot send {signal} to r{router}: its agent already exited ({status})"
            ));
        }
        agent.signalled = Some(signal);
        let pid = agent.child.id();
        let sent = Instant::now();
        if let Err(e) = signal_pid(pid, signal) {
            drop(agents);
            self.fail(&format!(
                "cannot send {signal} to r{router}'s agent (pid {pid}): {e}"
            ));
        }
        sent
    }

    /// Rewrites the running agent's configuration file with `config` and sends SIGHUP.
    pub fn reload_text(&self, router: u8, config: &str) -> Instant {
        self.reap();
        let (pid, path) = {
            let agents = self.agents.borrow();
            match agents
                .iter()
                .rev()
                .find(|a| a.router == router && a.exited.is_none())
            {
                Some(agent) => (agent.child.id(), agent.conf_path.clone()),
                None => {
                    drop(agents);
                    self.fail(&format!("no running agent on r{router} to reload"))
                }
            }
        };
        write_file(&path, config, 0o644);
        let sent = Instant::now();
        if let Err(e) = signal_pid(pid, Signal::SIGHUP) {
            self.fail(&format!(
                "cannot send SIGHUP to r{router}'s agent (pid {pid}): {e}"
            ));
        }
        sent
    }

    /// Sends a signal that the agent must survive (SIGHUP, SIGUSR1 ...).
    pub fn poke(&self, router: u8, signal: Signal) {
        self.reap();
        let pid = self
            .agents
            .borrow()
            .iter()
            .rev()
            .find(|a| a.router == router && a.exited.is_none())
            .map(|a| a.child.id());
        let Some(pid) = pid else {
            self.fail(&format!("no running agent on r{router} to signal"))
        };
        if let Err(e) = signal_pid(pid, signal) {
            self.fail(&format!(
                "cannot send {signal} to r{router}'s agent (pid {pid}): {e}"
            ));
        }
    }

    /// Sends a signal after which the agent is expected to exit.
    pub fn signal_expecting_exit(&self, router: u8, signal: Signal) -> Instant {
        self.signal(router, signal)
    }

    /// Everything the latest agent of `router` has logged so far.
    pub fn log_text(&self, router: u8) -> String {
        let path = self
            .agents
            .borrow()
            .iter()
            .rev()
            .find(|a| a.router == router)
            .map(|a| a.log.clone());
        path.and_then(|p| fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// SIGKILLs the agent of `router` and waits until it is gone (its VIPs stay behind).
    pub fn kill(&self, router: u8) -> Instant {
        let sent = self.signal(router, Signal::SIGKILL);
        self.wait_exit(router, Duration::from_secs(5));
        sent
    }

    /// Sends SIGTERM to the agent of `router`; returns when it was sent. See [`Lab::wait_exit`].
    pub fn terminate(&self, router: u8) -> Instant {
        self.signal(router, Signal::SIGTERM)
    }

    /// Waits for the signalled agent of `router` to exit: its status and when the harness first
    /// saw it gone (to within one poll, as long as the test keeps polling through this lab).
    pub fn wait_exit(&self, router: u8, timeout: Duration) -> (ExitStatus, Instant) {
        let what = format!("the agent on r{router} to exit");
        self.wait_for(&what, timeout, || {
            self.agents
                .borrow()
                .iter()
                .rev()
                .find(|a| a.router == router)
                .and_then(|a| a.exited)
        })
    }

    /// Records exits; an agent the test did not signal must not exit: fail at once, with its log.
    fn reap(&self) {
        let mut unexpected = Vec::new();
        for agent in self.agents.borrow_mut().iter_mut() {
            if agent.exited.is_some() {
                continue;
            }
            if let Ok(Some(status)) = agent.child.try_wait() {
                agent.exited = Some((status, Instant::now()));
                if agent.signalled.is_none() {
                    unexpected.push(format!(
                        "the agent on r{} exited on its own ({status})",
                        agent.router
                    ));
                }
            }
        }
        if !unexpected.is_empty() {
            self.fail(&unexpected.join("; "));
        }
    }

    // ---- waiting --------------------------------------------------------------------------

    /// Polls `probe` until it yields a value; fails the test with `what` and the lab report at
    /// the deadline, or as soon as an agent dies unexpectedly.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut() -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            self.reap();
            if let Some(value) = probe() {
                return value;
            }
            if start.elapsed() >= timeout {
                self.fail(&format!("timed out after {timeout:?} waiting for {what}"));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Polls `condition` until true; returns how long that took. Fails at the deadline.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut() -> bool,
    ) -> Duration {
        let start = Instant::now();
        self.wait_for(what, timeout, || condition().then_some(()));
        start.elapsed()
    }

    /// Waits until `condition` has held at every poll for `hold` in a row; returns how long
    /// that took from the call. For outcomes the RFC reaches through a legitimate transient
    /// (two backups whose Skew_Times differ by a few ms may both become master for one advert
    /// interval before the lower one yields).
    pub fn wait_stable(
        &self,
        what: &str,
        timeout: Duration,
        hold: Duration,
        mut condition: impl FnMut() -> bool,
    ) -> Duration {
        let start = Instant::now();
        let mut held_since: Option<Instant> = None;
        let mut longest = Duration::ZERO;
        loop {
            self.reap();
            if condition() {
                let since = *held_since.get_or_insert_with(Instant::now);
                longest = longest.max(since.elapsed());
                if since.elapsed() >= hold {
                    return start.elapsed();
                }
            } else {
                held_since = None;
            }
            if start.elapsed() >= timeout {
                self.fail(&format!(
                    "timed out after {timeout:?} waiting for {what} to hold for {hold:?} in a row \
                     (it held for {longest:?} at most)"
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Checks that `condition` holds at every poll for `duration`.
    pub fn assert_stays(
        &self,
        what: &str,
        duration: Duration,
        mut condition: impl FnMut() -> bool,
    ) {
        let start = Instant::now();
        loop {
            self.reap();
            if !condition() {
                self.fail(&format!(
                    "{what}: stopped holding after {:?}",
                    start.elapsed()
                ));
            }
            if start.elapsed() >= duration {
                return;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Fails the test with `message` and the full lab report.
    pub fn fail(&self, message: &str) -> ! {
        self.report_shown.set(true);
        panic!("{message}\n\n{}", self.report());
    }

    /// Everything useful to diagnose a failure: agents and their log tails, addresses, the
    /// client's neighbour entry, notify records and captures.
    pub fn report(&self) -> String {
        let mut out = format!(
            "===== lab {} (files in {}) =====\n",
            self.prefix,
            self.dir().display()
        );
        if let Ok(agents) = self.agents.try_borrow() {
            if agents.is_empty() {
                out.push_str("no agent started\n");
            }
            for agent in agents.iter() {
                out.push_str(&agent.describe());
            }
        }
        for router in 1..=self.routers {
            let text = self.ip_text(&[
                "-n",
                &self.router_ns(router),
                "-o",
                "addr",
                "show",
                "dev",
                "eth0",
            ]);
            out.push_str(&format!("r{router} eth0 addresses:\n{text}"));
        }
        let neigh = self.ip_text(&[
            "-s",
            "-n",
            &self.client_ns(),
            "neigh",
            "show",
            VIP,
            "dev",
            "eth0",
        ]);
        out.push_str(&format!("client neighbour entry for {VIP}:\n{neigh}"));
        if let Ok(watched) = self.watched.try_borrow() {
            for (name, path) in watched.iter() {
                out.push_str(&format!(
                    "{name} ({}):\n{}",
                    path.display(),
                    tail(path, LOG_TAIL_LINES)
                ));
            }
        }
        out
    }

    /// Output of an `ip` command for a report (never fails).
    fn ip_text(&self, args: &[&str]) -> String {
        match Command::new("ip").args(args).stdin(Stdio::null()).output() {
            Ok(out) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                if text.trim().is_empty() {
                    "    (none)\n".to_string()
                } else {
                    text.lines().map(|l| format!("    {l}\n")).collect()
                }
            }
            Err(e) => format!("    (cannot run ip: {e})\n"),
        }
    }

    // ---- observing the network -------------------------------------------------------------

    /// The output of `ip -n ROUTER'S-NAMESPACE ARGS...`, which must succeed; a routing table
    /// the kernel has not created yet (no route was ever in it) shows as empty.
    pub fn ip(&self, router: u8, args: &[&str]) -> String {
        self.check_router(router);
        let ns = self.router_ns(router);
        let mut cmd = Command::new("ip");
        cmd.args(["-n", &ns]).args(args);
        let out = output(&mut cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && !stderr.contains("FIB table does not exist") {
            panic!("{cmd:?} failed ({}): {stderr}", out.status);
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Addresses on `router`'s eth0.
    pub fn addresses(&self, router: u8) -> Vec<IfAddr> {
        self.check_router(router);
        let ns = self.router_ns(router);
        net::parse_addrs(&checked(
            Command::new("ip").args(["-n", &ns, "-o", "addr", "show", "dev", "eth0"]),
        ))
    }

    /// The entry for `addr` on `router`'s eth0, if present.
    pub fn address(&self, router: u8, addr: &str) -> Option<IfAddr> {
        self.addresses(router)
            .into_iter()
            .find(|a| a.address() == addr)
    }

    pub fn has_addr(&self, router: u8, addr: &str) -> bool {
        self.address(router, addr).is_some()
    }

    pub fn has_vip(&self, router: u8) -> bool {
        self.has_addr(router, VIP)
    }

    /// Routers (1-based) holding the VIP right now.
    pub fn vip_holders(&self) -> Vec<u8> {
        (1..=self.routers).filter(|r| self.has_vip(*r)).collect()
    }

    /// True when exactly `router` holds the VIP.
    pub fn only_holder_is(&self, router: u8) -> bool {
        self.vip_holders() == [router]
    }

    /// One ping from the client (1 s timeout).
    pub fn client_ping(&self, addr: &str) -> bool {
        output(Command::new("ip").args([
            "netns",
            "exec",
            &self.client_ns(),
            "ping",
            "-n",
            "-q",
            "-c",
            "1",
            "-W",
            "1",
            addr,
        ]))
        .status
        .success()
    }

    /// The client's neighbour entry for `addr` (reading it sends nothing on the wire).
    pub fn client_neigh(&self, addr: &str) -> Option<Neigh> {
        let ns = self.client_ns();
        net::parse_neigh(&checked(
            Command::new("ip").args(["-s", "-n", &ns, "neigh", "show", addr, "dev", "eth0"]),
        ))
    }

    // ---- acting on the network -------------------------------------------------------------

    /// `ip -n rN link set eth0 up|down`.
    pub fn set_link(&self, router: u8, up: bool) {
        self.check_router(router);
        let ns = self.router_ns(router);
        checked(Command::new("ip").args([
            "-n",
            &ns,
            "link",
            "set",
            "eth0",
            if up { "up" } else { "down" },
        ]));
    }

    /// `ip -n rN addr add CIDR dev eth0` (a permanent address, as a stale VIP would be).
    pub fn add_address(&self, router: u8, cidr: &str) {
        self.check_router(router);
        let ns = self.router_ns(router);
        checked(Command::new("ip").args(["-n", &ns, "addr", "add", cidr, "dev", "eth0"]));
    }

    /// Starts tcpdump on the switch's bridge for VRRP and waits until it is listening.
    pub fn capture_vrrp(&self) -> Capture {
        self.capture_vrrp_with(&[])
    }

    /// [`Lab::capture_vrrp`] with extra tcpdump options (e.g. `-tt` for epoch timestamps).
    pub fn capture_vrrp_with(&self, extra: &[&str]) -> Capture {
        let mut args = extra.to_vec();
        args.push("ip proto 112");
        Capture {
            out: self.tcpdump_on_switch("vrrp-capture", "VRRP capture on br0", &args),
        }
    }

    /// Starts `tcpdump -i br0 -n -l ARGS` in the switch namespace, writing to a file of its own
    /// (shown in failure reports), stopped with the lab; waits until it listens.
    pub(crate) fn tcpdump_on_switch(&self, name: &str, label: &str, args: &[&str]) -> PathBuf {
        let id = self.helpers.borrow().len();
        let out = self.dir().join(format!("{name}-{id}.txt"));
        let err = self.dir().join(format!("{name}-{id}.err"));
        let (out_file, err_file) = match (File::create(&out), File::create(&err)) {
            (Ok(o), Ok(e)) => (o, e),
            (Err(e), _) | (_, Err(e)) => panic!(
                "cannot create capture files in {}: {e}",
                self.dir().display()
            ),
        };
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.switch_ns()])
            .args(["tcpdump", "-i", "br0", "-n", "-l"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out_file)
            .stderr(err_file);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot start {cmd:?} (tcpdump must be installed): {e}"),
        };
        self.helpers.borrow_mut().push(Helper {
            name: format!("tcpdump ({label})"),
            child,
        });
        self.watched.borrow_mut().push((label.into(), out.clone()));
        self.watched
            .borrow_mut()
            .push((format!("{label}: tcpdump stderr"), err.clone()));
        self.wait_until("tcpdump to listen on br0", Duration::from_secs(10), || {
            fs::read_to_string(&err)
                .unwrap_or_default()
                .contains("listening on")
        });
        out
    }

    /// Installs a notify recorder for `router` (root-owned, 0755, in a 0755 directory).
    pub fn recorder(&self, router: u8) -> Recorder {
        let script = self
            .dir()
            .join("scripts")
            .join(format!("record-r{router}.sh"));
        let log = self.dir().join("out").join(format!("notify-r{router}.log"));
        write_file(&script, &notify::recorder_script(&log), 0o755);
        self.watched
            .borrow_mut()
            .push((format!("notify calls recorded on r{router}"), log.clone()));
        Recorder { script, log }
    }

    /// Installs an executable script `name` with `body` where scripts pass script security
    /// (root-owned, 0755, in a 0755 directory); returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let script = self.dir().join("scripts").join(name);
        write_file(&script, body, 0o755);
        script
    }

    /// Installs a script that hangs (sleep 60) for `router`; returns the script and its PID file.
    /// The lab ends the hanging process on drop.
    pub fn hanging_script(&self, router: u8) -> (PathBuf, PathBuf) {
        let script = self
            .dir()
            .join("scripts")
            .join(format!("hang-r{router}.sh"));
        let pidfile = self.dir().join("out").join(format!("hang-r{router}.pid"));
        write_file(&script, &notify::hanging_script(&pidfile), 0o755);
        self.hang_pidfiles.borrow_mut().push(pidfile.clone());
        (script, pidfile)
    }

    // ---- teardown ---------------------------------------------------------------------------

    fn stop_children(children: &mut [(String, &mut Child)]) {
        for (_, child) in children.iter_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = signal_pid(child.id(), Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + TEARDOWN_GRACE;
        for (name, child) in children.iter_mut() {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if matches!(child.try_wait(), Ok(None)) {
                eprintln!(
                    "teardown: {name} (pid {}) ignored SIGTERM for {TEARDOWN_GRACE:?}: SIGKILL",
                    child.id()
                );
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The PID in `pidfile` if it still names a `sleep` (so a recycled PID is never signalled).
fn hanging_pid(pidfile: &Path) -> Option<u32> {
    let pid: u32 = fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    cmdline.starts_with(b"sleep\0").then_some(pid)
}

/// True while the hanging script recorded in `pidfile` is still hanging.
pub fn still_hanging(pidfile: &Path) -> bool {
    hanging_pid(pidfile).is_some()
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.report_shown.get() {
            eprintln!("{}", self.report());
        }
        // Agents first (they must not outlive the lab), then helpers, then stuck scripts.
        let mut agents = self.agents.borrow_mut();
        let mut children: Vec<(String, &mut Child)> = agents
            .iter_mut()
            .filter(|a| a.exited.is_none())
            .map(|a| (format!("agent r{}", a.router), &mut a.child))
            .collect();
        Lab::stop_children(&mut children);
        drop(children);
        drop(agents);
        let mut helpers = self.helpers.borrow_mut();
        let mut children: Vec<(String, &mut Child)> = helpers
            .iter_mut()
            .map(|h| (h.name.clone(), &mut h.child))
            .collect();
        Lab::stop_children(&mut children);
        drop(children);
        drop(helpers);
        for pidfile in self.hang_pidfiles.borrow().iter() {
            if let Some(pid) = hanging_pid(pidfile) {
                let _ = signal_pid(pid, Signal::SIGKILL);
            }
        }
        match Command::new(LAB_SH)
            .args(["down", &self.prefix])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "teardown: {LAB_SH} down {} failed: {}",
                self.prefix,
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("teardown: cannot run {LAB_SH} down {}: {e}", self.prefix),
        }
    }
}
