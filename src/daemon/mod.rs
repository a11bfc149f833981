//! `daemon`: the single-threaded event loop that puts the protocol on real interfaces.
//!
//! One mio `Poll` watches the signalfd, the netlink event socket, one raw VRRP socket per
//! (interface, family) and the pipes of running scripts. After every wake-up the loop fires the
//! deadlines that have passed (instances, VIP lease renewals, script timeouts), comparing them
//! with the clock: never "poll returned no events".

mod actions;
mod announce_queue;
mod control;
mod dumps;
mod fifos;
mod installed;
mod lifecycle;
mod links;
mod load;
mod netstate;
mod peers;
mod pidfile;
mod receive;
mod reload;
mod routes;
mod snapshot;
pub mod spec;
mod sync;
mod track;
mod tuning;
mod unicast;
mod vip_changes;
mod vmac;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;

use crate::io::announce::{FrameSender, Icmpv6Sender};
use crate::io::netlink::{AddrInfo, EventSocket, LinkInfo, NetEvent, RequestSocket};
use crate::io::timer::DeadlineTimer;
use crate::io::vrrp_socket::VrrpSocket;
use crate::proto::{Action, Instance, Notification, Received, StateKind};
use crate::script::{self, NotifySettings, ScriptEvent, ScriptRunner};
use crate::wire::{self, Advert, Family, Ipv4Header};

use announce_queue::AnnounceQueue;
pub use load::{check_config, load_specs, load_specs_with, Loaded};
use pidfile::PidFile;
use spec::{InstanceSpec, VipSpec};

const SIGNALS: Token = Token(0);
const NETLINK: Token = Token(1);
const TIMER: Token = Token(3);
/// The address worker finished a change.
const VIP_CHANGES: Token = Token(4);
const SOCKET_BASE: usize = 16;
const SCRIPT_BASE: usize = 1 << 20;
/// At most this many scripts run at once across all instances.
const MAX_CONCURRENT_SCRIPTS: usize = 64;
/// SIGTERM must end the process within a second: adverts and VIP removal are immediate, this is
/// what notify_stop scripts get.
const STOP_GRACE: Duration = Duration::from_millis(800);
/// After the grace, how long the stop still waits for address changes in flight before it
/// deletes what is left itself.
const VIP_CHANGES_AT_STOP: Duration = Duration::from_secs(2);

/// Where the daemon's files are.
#[derive(Clone, Debug)]
pub struct Options {
    pub config: PathBuf,
    pub run_dir: PathBuf,
    /// How the configuration is read (the config id), at start and on every reload.
    pub load: crate::config::LoadOptions,
    /// `--metrics-listen`: serve Prometheus metrics over HTTP there.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// The signals the daemon handles; `main` blocks them before anything else runs.
pub fn handled_signals() -> nix::sys::signal::SigSet {
    let mut set = nix::sys::signal::SigSet::empty();
    for signal in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGCHLD,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        set.add(signal);
    }
    crate::io::sys::with_realtime_signal(set, json_signal())
}

/// keepalived's JSON dump signal, SIGRTMIN+2 (`keepalived --signum=JSON`).
pub fn json_signal() -> i32 {
    crate::io::sys::sigrtmin() + 2
}

/// Runs the agent until SIGTERM / SIGINT. `signals` reads the (already blocked) handled signals.
pub fn run(options: &Options, signals: SignalFd) -> Result<(), String> {
    let loaded = load_specs_with(&options.config, &options.load).map_err(|report| {
        format!(
            "{} has errors, not starting:\n{report}",
            options.config.display()
        )
    })?;
    for warning in &loaded.warnings {
        warn!("{warning}");
    }
    crate::io::caps::check_capabilities()?;
    let _pid_file = PidFile::create(&options.run_dir)?;
    tuning::apply_to_process(&loaded.process);
    let mut daemon = Daemon::new(options.config.clone(), options.load.clone(), signals)
        .map_err(|e| format!("cannot set up the event loop: {e}"))?;
    match control::Control::open(
        &options.run_dir,
        options.metrics_listen,
        daemon.poll.registry(),
    ) {
        Ok(control) => daemon.control = Some(control),
        // The metrics listener was asked for explicitly: not having it is an error.
        Err(message) if message.starts_with("--metrics-listen") => return Err(message),
        Err(message) => warn!("{message}; `keepvip status` will not reach this agent"),
    }
    // After the netlink worker started: it keeps the normal (lower) priority.
    tuning::apply_to_loop_thread(&loaded.process);
    daemon.process = loaded.process.clone();
    // Start-up installs an owner's VIPs: it is inside the net that releases them on a panic.
    let lifecycle = loaded.lifecycle.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // keepalived runs its startup script before any instance, and waits for it.
        if let Some(script) = &lifecycle.startup {
            if daemon.run_lifecycle_script(script, true)? {
                info!("stopped before the instances started");
                return Ok(());
            }
        }
        daemon.start(loaded, Instant::now());
        daemon.run_loop()
    }));
    match outcome {
        Ok(result) => {
            // After the instances stopped and released their addresses.
            if let Some(script) = &lifecycle.shutdown {
                if let Err(message) = daemon.run_lifecycle_script(script, false) {
                    error!("{message}");
                }
            }
            result
        }
        Err(_) => {
            daemon.emergency_release();
            Err(
                "internal error (a bug: please report it with the log above); virtual addresses \
                 were released"
                    .into(),
            )
        }
    }
}

/// One configured instance at run time.
struct Running {
    spec: InstanceSpec,
    instance: Instance,
    /// The interface, while it exists.
    ifindex: Option<u32>,
    /// The interface is up and we have a source address on it.
    usable: bool,
    holds_vips: bool,
    /// Set through [`Daemon::set_lease_renew`], which keeps the deadline queue in step.
    lease_renew_at: Option<Instant>,
    /// This instance's entry in [`Daemon::deadlines`].
    queued_at: Option<Instant>,
    /// VRRPv3-over-IPv4 checksum variant of each peer heard (bounded).
    peer_checksums: peers::PeerChecksums,
    /// Sources whose adverts were dropped as not unicast peers, already logged at `warn`.
    strangers_logged: BTreeSet<IpAddr>,
    /// What tracking last said (`None` before the first evaluation).
    verdict: Option<crate::proto::track::Verdict>,
    /// When the current state was entered, and the one before.
    state_since: Option<Instant>,
    previous_state: Option<StateKind>,
    /// Transitions by (state entered, reason), for metrics.
    transitions: BTreeMap<(String, String), u64>,
    /// When the VIPs' lease was last given (added or renewed).
    lease_given_at: Option<Instant>,
    /// Removed by a reload (its STOP is keepalived's DELETED with `notify_deleted`).
    deleted: bool,
}

struct SocketSlot {
    ifindex: u32,
    family: Family,
    socket: VrrpSocket,
}

struct Daemon {
    config_path: PathBuf,
    /// The command line's config id, for reloads.
    load_options: crate::config::LoadOptions,
    poll: Poll,
    /// Wakes the loop at its next deadline with microsecond precision.
    timer: DeadlineTimer,
    signals: SignalFd,
    events: EventSocket,
    netlink: RequestSocket,
    frames: FrameSender,
    icmpv6: Icmpv6Sender,
    sockets: Vec<Option<SocketSlot>>,
    links: netstate::Links,
    addresses: netstate::Addresses,
    /// Every address some instance configures as a VIP: never a source address.
    vip_addrs: HashSet<IpAddr>,
    instances: Vec<Running>,
    /// Each instance's next deadline (protocol timer or lease renewal), earliest first: the loop
    /// finds what is due without visiting every instance. Kept by [`Daemon::reschedule`].
    deadlines: BTreeSet<(Instant, usize)>,
    /// Reused by `fire_timers` for the instances due in one turn.
    due: Vec<usize>,
    /// (ifindex, family, VRID) -> index in `instances`; see `instance_for`.
    demux: HashMap<(u32, Family, u8), usize>,
    runner: ScriptRunner,
    notify_settings: NotifySettings,
    /// Every VIP we put on an interface and have not removed: (ifindex, address, prefix).
    installed: installed::Installed,
    /// VIP adds, renewals and deletes in flight on the address worker.
    vip_changes: vip_changes::VipChanges,
    /// The routes and rules installed, by holder, and the `static_*` blocks.
    routes: routes::Routes,
    /// The last received advert's address vector, reused by the next (no allocation per advert).
    rx_addresses: Option<wire::Addresses>,
    /// VRRP sockets (slots) left readable when their batch ran out: read again next turn.
    backlog: Vec<usize>,
    stop_deadline: Option<Instant>,
    rx_buf: Vec<u8>,
    /// Adverts are encoded here (kept across adverts).
    tx_buf: Vec<u8>,
    /// Gratuitous ARPs / NAs waiting for their interface's garp_interval / gna_interval.
    announcements: AnnounceQueue,
    /// Track scripts and files.
    tracker: track::Tracker,
    groups: Vec<sync::RunningGroup>,
    /// Group name -> index in `groups` (rebuilt with them).
    group_index: HashMap<String, usize>,
    /// A sync group is being reconciled (its members' actions do not start another round).
    syncing: bool,
    /// `use_vmac`: the instances' virtual MAC interfaces.
    vmacs: vmac::Vmacs,
    /// The process settings applied at start (a reload cannot change them).
    process: crate::config::ProcessTuning,
    /// The control socket and the metrics listener (`None` if the socket could not be made).
    control: Option<control::Control>,
    started_at: Instant,
    reloads: u64,
    reload_failures: u64,
    /// Notify script runs by runner key.
    script_stats: HashMap<String, snapshot::ScriptCount>,
    /// `global_defs` of the configuration running now.
    global: crate::config::GlobalDefs,
    /// keepalived-style dump files being written.
    dump_writers: dumps::Writers,
    /// `vrrp_startup_delay`: when the instances start (`None`: started).
    startup_at: Option<Instant>,
    /// `notify_fifo` / `vrrp_notify_fifo`, open.
    fifos: Vec<fifos::OpenFifo>,
    /// Packets no instance could be charged with.
    dropped: UnattributedDrops,
    /// Interfaces whose promote_secondaries we manage, with the value to put back.
    promoted: HashMap<String, u32>,
}

/// VRRP packets dropped before an instance was found for them.
#[derive(Default)]
struct UnattributedDrops {
    truncated: u64,
    ip_header: u64,
    too_short: u64,
    unknown_vrid: u64,
}

impl Daemon {
    fn new(
        config_path: PathBuf,
        load_options: crate::config::LoadOptions,
        signals: SignalFd,
    ) -> io::Result<Daemon> {
        let poll = Poll::new()?;
        let mut events = EventSocket::open()?;
        let mut netlink = RequestSocket::open()?;
        // A kernel that takes longer than this to answer an address change stalls the loop: keep
        // it short; a failed add is retried at the next lease renewal.
        netlink.set_timeout(Duration::from_secs(1))?;
        let links = netlink.get_links()?;
        events.seed_links(&links);
        let addresses = netlink.dump_addresses(None)?;
        let mut timer = DeadlineTimer::new()?;
        poll.registry()
            .register(&mut timer, TIMER, Interest::READABLE)?;
        poll.registry().register(
            &mut SourceFd(&signals.as_raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        poll.registry()
            .register(&mut events, NETLINK, Interest::READABLE)?;
        let waker = std::sync::Arc::new(mio::Waker::new(poll.registry(), VIP_CHANGES)?);
        let vip_changes = vip_changes::VipChanges::spawn(waker)?;
        Ok(Daemon {
            config_path,
            load_options,
            poll,
            timer,
            signals,
            events,
            netlink,
            frames: FrameSender::open()?,
            icmpv6: Icmpv6Sender::open()?,
            sockets: Vec::new(),
            links: links.into_iter().collect(),
            addresses: addresses.into_iter().collect(),
            vip_addrs: HashSet::new(),
            instances: Vec::new(),
            deadlines: BTreeSet::new(),
            due: Vec::new(),
            demux: HashMap::new(),
            runner: ScriptRunner::new(Token(SCRIPT_BASE), MAX_CONCURRENT_SCRIPTS),
            notify_settings: NotifySettings::default(),
            installed: installed::Installed::default(),
            vip_changes,
            routes: routes::Routes::default(),
            rx_addresses: None,
            backlog: Vec::new(),
            stop_deadline: None,
            rx_buf: vec![0; 65_536],
            tx_buf: Vec::new(),
            announcements: AnnounceQueue::new(),
            tracker: track::Tracker::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            syncing: false,
            vmacs: vmac::Vmacs::default(),
            process: crate::config::ProcessTuning::default(),
            control: None,
            started_at: Instant::now(),
            reloads: 0,
            reload_failures: 0,
            script_stats: HashMap::new(),
            global: crate::config::GlobalDefs::default(),
            dump_writers: dumps::Writers::default(),
            startup_at: None,
            fifos: Vec::new(),
            dropped: UnattributedDrops::default(),
            promoted: HashMap::new(),
        })
    }

    fn start(&mut self, loaded: Loaded, now: Instant) {
        self.global = loaded.global;
        self.configure_fifos(loaded.fifos, now);
        if let Some(delay) = self.global.startup_delay {
            info!(
                "vrrp_startup_delay: the instances start in {:.3} s",
                delay.as_secs_f64()
            );
            self.startup_at = Some(now + delay);
        }
        let specs = loaded.specs;
        // VMAC names first: a VMAC left by a crash may hold stale VIPs.
        self.prepare_vmacs(&specs);
        self.remove_stale_vips(&specs);
        self.remove_stale_routes(&specs);
        self.set_statics(loaded.statics);
        self.configure_tracking(loaded.check_scripts, loaded.track_files, false, now);
        self.configure_groups(loaded.sync_groups);
        for spec in specs {
            self.add_instance(spec, now);
        }
        self.sync_all_groups(now);
    }

    /// A crash (or an operator) may have left our VIPs behind: remove them before electing, so
    /// a backup never answers for an address it does not own.
    fn remove_stale_vips(&mut self, specs: &[InstanceSpec]) {
        for spec in specs {
            for vip in spec.all_vips() {
                let Some(ifindex) = self.vip_ifindex(spec, vip) else {
                    continue;
                };
                // The dumped copy, whatever its prefix (the configuration may have changed).
                let Some(present) = self.addresses.get(ifindex, vip.addr).cloned() else {
                    continue;
                };
                if spec.priority == crate::proto::PRIORITY_OWNER && present.valid_lifetime.is_none()
                {
                    // An address owner's VIP is the host's own address: keep it, never lease it.
                    info!(
                        "{}: {} on {} is this host's own address (priority 255): left as it is",
                        spec.name,
                        vip.addr,
                        self.link_name(ifindex)
                    );
                    self.installed.mark_host_owned(ifindex, vip.addr);
                    continue;
                }
                match self
                    .netlink
                    .del_address(ifindex, present.addr, present.prefix_len)
                {
                    Ok(()) => warn!(
                        "{}: removed stale {}/{} from {} (left behind by an earlier run or by hand)",
                        spec.name,
                        present.addr,
                        present.prefix_len,
                        self.link_name(ifindex)
                    ),
                    Err(e) => error!(
                        "{}: cannot remove stale {}/{} from {}: {e}",
                        spec.name,
                        present.addr,
                        present.prefix_len,
                        self.link_name(ifindex)
                    ),
                }
                self.addresses.remove(ifindex, vip.addr);
            }
        }
    }

    fn add_instance(&mut self, spec: InstanceSpec, now: Instant) {
        let config = spec.instance_config(spec.mcast_src_ip.unwrap_or(spec.placeholder_source()));
        let mut instance = match Instance::new(config) {
            Ok(instance) => instance,
            Err(e) => {
                // The config layer validates first; this is a last line of defence.
                error!("{e}; instance not started");
                return;
            }
        };
        instance.set_sync_member(spec.sync_group.is_some());
        self.vip_addrs.extend(spec.all_vips().map(|v| v.addr));
        info!(
            "{}: VRRP{} {} VRID {} on {}, priority {}, advert interval {}, VIPs {}",
            spec.name,
            spec.version,
            spec.family(),
            spec.vrid,
            spec.interface,
            spec.priority,
            spec.advert_interval,
            spec.vips
                .iter()
                .map(VipSpec::display)
                .collect::<Vec<_>>()
                .join(" ")
        );
        self.instances.push(Running {
            spec,
            instance,
            ifindex: None,
            usable: false,
            holds_vips: false,
            lease_renew_at: None,
            queued_at: None,
            peer_checksums: peers::PeerChecksums::default(),
            strangers_logged: BTreeSet::new(),
            verdict: None,
            state_since: Some(now),
            previous_state: None,
            transitions: BTreeMap::new(),
            lease_given_at: None,
            deleted: false,
        });
        let idx = self.instances.len() - 1;
        self.log_unicast_setup(idx);
        if !self.instances[idx].spec.tracking.is_empty() {
            info!(
                "{}: tracking {}",
                self.instances[idx].spec.name,
                track::describe(&self.instances[idx].spec.tracking)
            );
            // Before start-up, so that the instance starts in the state tracking calls for.
            self.retrack(idx, now);
        }
        let usable = match self.attach(idx) {
            Ok(()) => true,
            Err(why) => {
                warn!("{}: {why}; waiting in FAULT", self.instances[idx].spec.name);
                false
            }
        };
        if self.startup_at.is_none() {
            self.instances[idx].instance.handle_startup(usable, now);
            self.drain(idx, now);
        }
    }

    /// `vrrp_startup_delay` is over: start every instance that waited for it.
    fn start_delayed(&mut self, now: Instant) {
        if self.startup_at.is_none_or(|at| at > now) || self.stop_deadline.is_some() {
            return;
        }
        self.startup_at = None;
        info!("vrrp_startup_delay is over: starting the instances");
        for idx in 0..self.instances.len() {
            if !self.instances[idx].instance.is_started() {
                let usable = self.instances[idx].usable;
                self.instances[idx].instance.handle_startup(usable, now);
                self.drain(idx, now);
            }
        }
        self.sync_all_groups(now);
    }

    fn run_loop(&mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(256);
        loop {
            let now = Instant::now();
            if let Some(deadline) = self.stop_deadline {
                let changes_done = self.vip_changes.in_flight() == 0;
                if (self.runner.is_idle() && changes_done) || deadline <= now {
                    // Scripts still running are killed with their process groups when the
                    // runner is dropped.
                    self.finish_vip_changes(Instant::now() + VIP_CHANGES_AT_STOP);
                    self.sweep_installed();
                    self.restore_promote_secondaries();
                    self.log_script_events();
                    info!("stopped");
                    return Ok(());
                }
            }
            let timeout = self.arm_timer(now);
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("event loop failed: {e}")),
            }
            let now = Instant::now();
            // The worker's answers first: a new master's gratuitous ARPs wait for them, and the
            // kernel's own address notification (NETLINK) is usually ready in the same wake-up.
            if events.iter().any(|e| e.token() == VIP_CHANGES) {
                self.on_vip_changes(now);
            }
            for event in events.iter() {
                match event.token() {
                    SIGNALS => self.on_signals(now),
                    TIMER => self.timer.acknowledge(),
                    NETLINK => self.on_netlink(now),
                    VIP_CHANGES => {}
                    token if self.runner.owns_token(token) => {
                        self.runner.handle_event(token, self.poll.registry())
                    }
                    token if self.tracker.runner.owns_token(token) => self
                        .tracker
                        .runner
                        .handle_event(token, self.poll.registry()),
                    track::INOTIFY => self.on_inotify(now),
                    token if self.control.as_ref().is_some_and(|c| c.owns_token(token)) => {
                        if let Some(control) = self.control.as_mut() {
                            control.handle_event(token, self.poll.registry(), now);
                        }
                    }
                    Token(t) if t >= SOCKET_BASE => self.on_socket(t - SOCKET_BASE, now),
                    _ => {}
                }
            }
            for slot in std::mem::take(&mut self.backlog) {
                self.on_socket(slot, Instant::now());
            }
            // Renewals that succeeded come back without a wake-up: collect them every turn.
            if self.vip_changes.in_flight() > 0 {
                self.on_vip_changes(Instant::now());
            }
            self.start_delayed(Instant::now());
            self.fire_timers(Instant::now());
            self.on_check_events(Instant::now());
            self.log_script_events();
            // Last: the answers show what this turn did.
            self.serve_control(Instant::now());
        }
    }

    /// Arms the timerfd for the next deadline; returns the poll timeout: a fallback a little
    /// after the deadline, in case the timerfd could not be set.
    fn arm_timer(&self, now: Instant) -> Option<Duration> {
        let Some(deadline) = self.next_deadline() else {
            let _ = self.timer.disarm();
            return None;
        };
        let wait = deadline.saturating_duration_since(now);
        match self.timer.arm_in(wait) {
            Ok(()) => Some(wait + Duration::from_millis(20)),
            Err(e) => {
                warn!("cannot arm the deadline timer ({e}); timers may fire up to a few ms late");
                Some(wait)
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let instances = self.deadlines.first().map(|&(at, _)| at);
        #[cfg(debug_assertions)]
        {
            // The queue must agree with a visit of every instance (debug builds only: O(N)).
            let scanned = self
                .instances
                .iter()
                .flat_map(|r| [r.instance.poll_timeout(), r.lease_renew_at])
                .flatten()
                .min();
            debug_assert_eq!(instances, scanned, "the deadline queue is out of step");
        }
        [
            instances,
            self.runner.poll_timeout(),
            self.stop_deadline,
            self.startup_at,
            self.tracker.next_deadline(),
            self.announcements.poll_timeout(),
            self.control.as_ref().and_then(|c| c.next_deadline()),
            (!self.backlog.is_empty()).then(Instant::now),
            // Stopping waits for renewals in flight, which come back without a wake-up.
            (self.stop_deadline.is_some() && self.vip_changes.in_flight() > 0)
                .then(|| Instant::now() + Duration::from_millis(5)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Puts instance `idx` in the deadline queue at its next deadline (after anything that may
    /// have moved it: every `drain`, every lease change).
    pub(super) fn reschedule(&mut self, idx: usize) {
        let Some(running) = self.instances.get_mut(idx) else {
            return;
        };
        let next = [running.instance.poll_timeout(), running.lease_renew_at]
            .into_iter()
            .flatten()
            .min();
        if next == running.queued_at {
            return;
        }
        if let Some(old) = running.queued_at.take() {
            self.deadlines.remove(&(old, idx));
        }
        if let Some(at) = next {
            self.deadlines.insert((at, idx));
        }
        running.queued_at = next;
    }

    /// After the instances were renumbered (a reload removed some).
    pub(super) fn rebuild_deadlines(&mut self) {
        self.deadlines.clear();
        for idx in 0..self.instances.len() {
            self.instances[idx].queued_at = None;
            self.reschedule(idx);
        }
    }

    pub(super) fn set_lease_renew(&mut self, idx: usize, at: Option<Instant>) {
        if let Some(running) = self.instances.get_mut(idx) {
            running.lease_renew_at = at;
            self.reschedule(idx);
        }
    }

    /// Whether the socket instance `idx` hears on still holds packets this turn's budget left
    /// unread.
    fn adverts_queued_for(&self, idx: usize) -> bool {
        let running = &self.instances[idx];
        let family = running.spec.family();
        self.backlog.iter().any(|&slot| {
            self.sockets.get(slot).is_some_and(|s| {
                s.as_ref()
                    .is_some_and(|s| Some(s.ifindex) == running.ifindex && s.family == family)
            })
        })
    }

    fn fire_timers(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        // Instances due within the largest advert slack are visited too: a master whose advert
        // is that close sends it now (proto decides, `timers::advert_slack`), so that the
        // adverts due within a millisecond leave from one wake-up. Anything else that is not
        // due yet does nothing and goes back in the queue.
        let horizon = crate::proto::timers::deadline(now, crate::proto::timers::MAX_ADVERT_SLACK);
        while let Some(&(at, idx)) = self.deadlines.first() {
            if at > horizon {
                break;
            }
            self.deadlines.pop_first();
            if let Some(running) = self.instances.get_mut(idx) {
                running.queued_at = None;
            }
            due.push(idx);
        }
        for &idx in &due {
            if let Some(at) = self.instances[idx]
                .instance
                .poll_timeout()
                .filter(|at| *at <= horizon)
            {
                let waits = self.instances[idx].instance.state() == StateKind::Backup
                    && take_over_waits(at, now, self.adverts_queued_for(idx));
                if !waits {
                    self.instances[idx].instance.handle_timeout(now);
                    self.drain(idx, now);
                }
            }
            if self.instances[idx]
                .lease_renew_at
                .is_some_and(|at| at <= now)
            {
                self.install_vips(idx, true, now);
            }
            self.reschedule(idx);
        }
        self.due = due;
        if self.runner.poll_timeout().is_some_and(|at| at <= now) {
            self.runner.handle_timeout(now, self.poll.registry());
        }
        self.send_due_announcements();
        if self
            .tracker
            .runner
            .poll_timeout()
            .is_some_and(|at| at <= now)
        {
            self.tracker
                .runner
                .handle_timeout(now, self.poll.registry());
        }
        self.run_due_checks(now);
        if let Some(control) = self.control.as_mut() {
            if control.next_deadline().is_some_and(|at| at <= now) {
                control.handle_timeout(self.poll.registry(), now);
            }
        }
    }

    // ----- signals -----

    fn on_signals(&mut self, now: Instant) {
        loop {
            match self.signals.read_signal() {
                Ok(Some(info)) if info.ssi_signo as i32 == json_signal() => {
                    self.write_dump(dumps::DumpKind::Json)
                }
                Ok(Some(info)) => match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => self.begin_stop(now),
                    Ok(Signal::SIGHUP) => {
                        self.reload(now);
                    }
                    Ok(Signal::SIGCHLD) => {
                        self.runner.reap(now, self.poll.registry());
                        self.tracker.runner.reap(now, self.poll.registry());
                    }
                    Ok(Signal::SIGUSR1) => {
                        self.log_status();
                        self.write_dump(dumps::DumpKind::Data);
                    }
                    Ok(Signal::SIGUSR2) => {
                        // Test hook (debug builds only): proves that a panic releases VIPs.
                        if cfg!(debug_assertions)
                            && std::env::var_os("KEEPVIP_TEST_PANIC_ON_SIGUSR2").is_some()
                        {
                            panic!("KEEPVIP_TEST_PANIC_ON_SIGUSR2 is set: panicking on purpose");
                        }
                        self.log_counters();
                        self.write_dump(dumps::DumpKind::Stats);
                    }
                    _ => {}
                },
                Ok(None) => return,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    error!("reading signals failed: {e}");
                    return;
                }
            }
        }
    }

    fn begin_stop(&mut self, now: Instant) {
        if self.stop_deadline.is_some() {
            return;
        }
        info!("stopping: masters send priority 0 and release their addresses");
        for idx in 0..self.instances.len() {
            self.instances[idx].instance.handle_shutdown(now);
            self.drain(idx, now);
        }
        self.stop_groups(now);
        self.remove_statics();
        // After the STOP lines: the FIFO scripts read them, then see end-of-file.
        self.close_fifos();
        self.stop_deadline = Some(now + STOP_GRACE);
        self.remove_all_vmacs();
        self.runner.shutdown(now + STOP_GRACE);
        self.stop_checks(now + STOP_GRACE);
    }

    /// SIGUSR1: one line per instance with what an operator asks first.
    fn log_status(&self) {
        self.log_group_status();
        for running in &self.instances {
            let instance = &running.instance;
            let master = instance
                .last_master()
                .map(|m| format!(", master {} priority {}", m.address, m.priority))
                .unwrap_or_default();
            let checksums = running.peer_checksums.sorted();
            let checksums = if checksums.is_empty() {
                String::new()
            } else {
                let peers: Vec<String> = checksums
                    .iter()
                    .map(|(peer, variant)| format!("{peer} {}", peers::short_name(*variant)))
                    .collect();
                format!(", peer checksums {}", peers.join(" "))
            };
            info!(
                "{}: {} since {} (priority {}, interval {}, VIPs {}{master}{checksums})",
                running.spec.name,
                instance.state(),
                instance.last_reason(),
                instance.effective_priority(),
                instance.master_interval(),
                if running.holds_vips {
                    "held"
                } else {
                    "not held"
                },
            );
        }
    }

    /// SIGUSR2: the counters of every instance, with keepalived's names.
    fn log_counters(&self) {
        for running in &self.instances {
            let counters = running
                .instance
                .counters()
                .named()
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join(" ");
            info!("{}: {counters}", running.spec.name);
        }
    }
}

/// How long an expired Master_Down_Timer may wait for the packets still queued on its socket.
const TAKE_OVER_WAITS_FOR_QUEUE: Duration = Duration::from_millis(20);

/// A backup whose Master_Down_Timer has expired while packets are still queued on its socket
/// (a flood outran the per-turn budget) reads them first, since its master's advert may be
/// among them; but for no longer than [`TAKE_OVER_WAITS_FOR_QUEUE`] past the deadline, so that
/// a flood can delay a take-over by that much at most and never prevent it.
fn take_over_waits(deadline: Instant, now: Instant, queued: bool) -> bool {
    queued && now.saturating_duration_since(deadline) < TAKE_OVER_WAITS_FOR_QUEUE
}

/// Prints `keepvip --config-test` output; returns whether the configuration is usable.
pub fn config_test(path: &Path, options: &crate::config::LoadOptions) -> bool {
    check_config(path, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_take_over_waits_for_queued_adverts_but_never_past_its_bound() {
        let deadline = Instant::now();
        let ms = Duration::from_millis;
        assert!(take_over_waits(deadline, deadline, true));
        assert!(take_over_waits(deadline, deadline + ms(19), true));
        assert!(
            !take_over_waits(deadline, deadline + ms(20), true),
            "bounded"
        );
        assert!(
            !take_over_waits(deadline, deadline, false),
            "nothing queued"
        );
        // A clock read before the deadline (the horizon) still waits only while queued.
        assert!(take_over_waits(deadline + ms(1), deadline, true));
    }
}
