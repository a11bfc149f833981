//! `daemon`: the single-threaded event loop that puts the protocol on real interfaces.
//!
//! One mio `Poll` watches the signalfd, the netlink event socket, one raw VRRP socket per
//! (interface, family) and the pipes of running scripts. After every wake-up the loop fires the
//! deadlines that have passed (instances, VIP lease renewals, script timeouts), comparing them
//! with the clock: never "poll returned no events".

mod load;
mod pidfile;
pub mod spec;

use std::collections::{BTreeSet, HashMap};
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
use crate::io::netlink::{
    AddrInfo, AddressOptions, EventSocket, LinkInfo, NetEvent, RequestSocket,
};
use crate::io::vrrp_socket::VrrpSocket;
use crate::proto::{Action, Instance, Notification, Received, StateKind};
use crate::script::{self, NotifySettings, ScriptEvent, ScriptRunner};
use crate::wire::{self, Advert, Family, Ipv4Header, MCAST_V4, MCAST_V6};

pub use load::{check_config, load_specs, Loaded};
use pidfile::PidFile;
use spec::{InstanceSpec, VipSpec};

const SIGNALS: Token = Token(0);
const NETLINK: Token = Token(1);
const SOCKET_BASE: usize = 16;
const SCRIPT_BASE: usize = 1 << 20;
/// At most this many scripts run at once across all instances.
const MAX_CONCURRENT_SCRIPTS: usize = 64;
/// SIGTERM must end the process within a second: adverts and VIP removal are immediate, this is
/// what notify_stop scripts get.
const STOP_GRACE: Duration = Duration::from_millis(800);

/// Where the daemon's files are.
#[derive(Clone, Debug)]
pub struct Options {
    pub config: PathBuf,
    pub run_dir: PathBuf,
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
    set
}

/// Runs the agent until SIGTERM / SIGINT. `signals` reads the (already blocked) handled signals.
pub fn run(options: &Options, signals: SignalFd) -> Result<(), String> {
    let loaded = load_specs(&options.config).map_err(|report| {
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
    let mut daemon = Daemon::new(options.config.clone(), signals)
        .map_err(|e| format!("cannot set up the event loop: {e}"))?;
    daemon.start(loaded.specs, Instant::now());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| daemon.run_loop()));
    match outcome {
        Ok(result) => result,
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
    lease_renew_at: Option<Instant>,
}

struct SocketSlot {
    ifindex: u32,
    family: Family,
    socket: VrrpSocket,
}

struct Daemon {
    config_path: PathBuf,
    poll: Poll,
    signals: SignalFd,
    events: EventSocket,
    netlink: RequestSocket,
    frames: FrameSender,
    icmpv6: Icmpv6Sender,
    sockets: Vec<Option<SocketSlot>>,
    links: HashMap<u32, LinkInfo>,
    addresses: Vec<AddrInfo>,
    instances: Vec<Running>,
    runner: ScriptRunner,
    notify_settings: NotifySettings,
    /// Every VIP we put on an interface and have not removed: (ifindex, address, prefix).
    installed: BTreeSet<(u32, IpAddr, u8)>,
    stop_deadline: Option<Instant>,
    rx_buf: Vec<u8>,
}

impl Daemon {
    fn new(config_path: PathBuf, signals: SignalFd) -> io::Result<Daemon> {
        let poll = Poll::new()?;
        let mut events = EventSocket::open()?;
        let mut netlink = RequestSocket::open()?;
        netlink.set_timeout(Duration::from_secs(2))?;
        let links = netlink.get_links()?;
        events.seed_links(&links);
        let addresses = netlink.dump_addresses(None)?;
        poll.registry().register(
            &mut SourceFd(&signals.as_raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        poll.registry()
            .register(&mut events, NETLINK, Interest::READABLE)?;
        Ok(Daemon {
            config_path,
            poll,
            signals,
            events,
            netlink,
            frames: FrameSender::open()?,
            icmpv6: Icmpv6Sender::open()?,
            sockets: Vec::new(),
            links: links.into_iter().map(|l| (l.ifindex, l)).collect(),
            addresses,
            instances: Vec::new(),
            runner: ScriptRunner::new(Token(SCRIPT_BASE), MAX_CONCURRENT_SCRIPTS),
            notify_settings: NotifySettings::default(),
            installed: BTreeSet::new(),
            stop_deadline: None,
            rx_buf: vec![0; 65_536],
        })
    }

    fn start(&mut self, specs: Vec<InstanceSpec>, now: Instant) {
        self.remove_stale_vips(&specs);
        for spec in specs {
            self.add_instance(spec, now);
        }
    }

    /// A crash (or an operator) may have left our VIPs behind: remove them before electing, so
    /// a backup never answers for an address it does not own.
    fn remove_stale_vips(&mut self, specs: &[InstanceSpec]) {
        for spec in specs {
            for vip in spec.all_vips() {
                let Some(ifindex) = self.vip_ifindex(spec, vip) else {
                    continue;
                };
                let present = self
                    .addresses
                    .iter()
                    .any(|a| a.ifindex == ifindex && a.addr == vip.addr);
                if !present {
                    continue;
                }
                match self.netlink.del_address(ifindex, vip.addr, vip.prefix_len) {
                    Ok(()) => warn!(
                        "{}: removed stale {} from {} (left behind by an earlier run or by hand)",
                        spec.name,
                        vip.display(),
                        self.link_name(ifindex)
                    ),
                    Err(e) => error!(
                        "{}: cannot remove stale {} from {}: {e}",
                        spec.name,
                        vip.display(),
                        self.link_name(ifindex)
                    ),
                }
                self.addresses
                    .retain(|a| !(a.ifindex == ifindex && a.addr == vip.addr));
            }
        }
    }

    fn add_instance(&mut self, spec: InstanceSpec, now: Instant) {
        let config = spec.instance_config(spec.mcast_src_ip.unwrap_or(spec.placeholder_source()));
        let instance = match Instance::new(config) {
            Ok(instance) => instance,
            Err(e) => {
                // The config layer validates first; this is a last line of defence.
                error!("{e}; instance not started");
                return;
            }
        };
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
        });
        let idx = self.instances.len() - 1;
        let usable = match self.attach(idx) {
            Ok(()) => true,
            Err(why) => {
                warn!("{}: {why}; waiting in FAULT", self.instances[idx].spec.name);
                false
            }
        };
        self.instances[idx].instance.handle_startup(usable, now);
        self.drain(idx, now);
    }

    fn run_loop(&mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(256);
        loop {
            let now = Instant::now();
            if let Some(deadline) = self.stop_deadline {
                if self.runner.is_idle() || deadline <= now {
                    // Scripts still running are killed with their process groups when the
                    // runner is dropped.
                    self.log_script_events();
                    info!("stopped");
                    return Ok(());
                }
            }
            let timeout = self
                .next_deadline()
                .map(|at| at.saturating_duration_since(now));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("event loop failed: {e}")),
            }
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    SIGNALS => self.on_signals(now),
                    NETLINK => self.on_netlink(now),
                    token if self.runner.owns_token(token) => {
                        self.runner.handle_event(token, self.poll.registry())
                    }
                    Token(t) if t >= SOCKET_BASE => self.on_socket(t - SOCKET_BASE, now),
                    _ => {}
                }
            }
            self.fire_timers(Instant::now());
            self.log_script_events();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.instances
            .iter()
            .flat_map(|r| [r.instance.poll_timeout(), r.lease_renew_at])
            .chain([self.runner.poll_timeout(), self.stop_deadline])
            .flatten()
            .min()
    }

    fn fire_timers(&mut self, now: Instant) {
        for idx in 0..self.instances.len() {
            if self.instances[idx]
                .instance
                .poll_timeout()
                .is_some_and(|at| at <= now)
            {
                self.instances[idx].instance.handle_timeout(now);
                self.drain(idx, now);
            }
            if self.instances[idx]
                .lease_renew_at
                .is_some_and(|at| at <= now)
            {
                self.install_vips(idx, true, now);
            }
        }
        if self.runner.poll_timeout().is_some_and(|at| at <= now) {
            self.runner.handle_timeout(now, self.poll.registry());
        }
    }

    // ----- signals -----

    fn on_signals(&mut self, now: Instant) {
        loop {
            match self.signals.read_signal() {
                Ok(Some(info)) => match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => self.begin_stop(now),
                    Ok(Signal::SIGHUP) => self.reload(now),
                    Ok(Signal::SIGCHLD) => self.runner.reap(now, self.poll.registry()),
                    Ok(Signal::SIGUSR1) => self.log_status(),
                    Ok(Signal::SIGUSR2) => {
                        // Test hook (debug builds only): proves that a panic releases VIPs.
                        if cfg!(debug_assertions)
                            && std::env::var_os("KEEPVIP_TEST_PANIC_ON_SIGUSR2").is_some()
                        {
                            panic!("KEEPVIP_TEST_PANIC_ON_SIGUSR2 is set: panicking on purpose");
                        }
                        self.log_counters();
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
        self.stop_deadline = Some(now + STOP_GRACE);
        self.runner.shutdown(now + STOP_GRACE);
    }

    fn reload(&mut self, now: Instant) {
        if self.stop_deadline.is_some() {
            return;
        }
        info!("SIGHUP: reloading {}", self.config_path.display());
        let loaded = match load_specs(&self.config_path) {
            Ok(loaded) => loaded,
            Err(report) => {
                error!(
                    "{} has errors; still running the previous configuration:\n{report}",
                    self.config_path.display()
                );
                return;
            }
        };
        for warning in &loaded.warnings {
            warn!("{warning}");
        }
        // Unchanged instances keep their state and timers; the others stop and start anew.
        let (mut keep, mut start) = (vec![false; self.instances.len()], Vec::new());
        for spec in loaded.specs {
            match self
                .instances
                .iter()
                .enumerate()
                .position(|(i, r)| !keep[i] && r.spec == spec)
            {
                Some(i) => keep[i] = true,
                None => start.push(spec),
            }
        }
        for (idx, &kept) in keep.iter().enumerate() {
            if !kept {
                info!(
                    "{}: removed or changed by the reload; stopping it",
                    self.instances[idx].spec.name
                );
                self.instances[idx].instance.handle_shutdown(now);
                self.drain(idx, now);
            }
        }
        let mut idx = 0;
        self.instances.retain(|_| {
            idx += 1;
            keep[idx - 1]
        });
        self.close_unused_sockets();
        self.remove_stale_vips(&start);
        for spec in start {
            self.add_instance(spec, now);
        }
        info!("reload done: {} instances", self.instances.len());
    }

    /// SIGUSR1: one line per instance with what an operator asks first.
    fn log_status(&self) {
        for running in &self.instances {
            let instance = &running.instance;
            let master = instance
                .last_master()
                .map(|m| format!(", master {} priority {}", m.address, m.priority))
                .unwrap_or_default();
            info!(
                "{}: {} since {} (priority {}, interval {}, VIPs {}{master})",
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

    // ----- netlink -----

    fn on_netlink(&mut self, now: Instant) {
        let events = match self.events.recv_events() {
            Ok(events) => events,
            Err(e) => {
                error!("reading netlink events failed: {e}");
                return;
            }
        };
        for event in events {
            match event {
                NetEvent::LinkAdded(link)
                | NetEvent::LinkUp(link)
                | NetEvent::LinkDown(link)
                | NetEvent::LinkChanged(link) => {
                    self.links.insert(link.ifindex, link);
                }
                NetEvent::LinkRemoved(link) => {
                    self.links.remove(&link.ifindex);
                    self.addresses.retain(|a| a.ifindex != link.ifindex);
                }
                NetEvent::AddressAdded(addr) => {
                    self.addresses
                        .retain(|a| !(a.ifindex == addr.ifindex && a.addr == addr.addr));
                    self.addresses.push(addr);
                }
                NetEvent::AddressRemoved(addr) => {
                    self.addresses
                        .retain(|a| !(a.ifindex == addr.ifindex && a.addr == addr.addr));
                    self.on_address_removed(&addr, now);
                }
                NetEvent::Overrun => self.resync(),
            }
        }
        self.reconcile(now);
    }

    /// The kernel dropped events: read the whole picture again.
    fn resync(&mut self) {
        warn!("netlink event queue overran; re-reading links and addresses");
        match (self.netlink.get_links(), self.netlink.dump_addresses(None)) {
            (Ok(links), Ok(addresses)) => {
                self.events.seed_links(&links);
                self.links = links.into_iter().map(|l| (l.ifindex, l)).collect();
                self.addresses = addresses;
            }
            (Err(e), _) | (_, Err(e)) => error!("re-reading links and addresses failed: {e}"),
        }
    }

    /// One of our VIPs vanished while we hold it (removed by hand, or its lease ran out because
    /// renewal failed): put it back.
    fn on_address_removed(&mut self, addr: &AddrInfo, now: Instant) {
        if !self
            .installed
            .iter()
            .any(|&(ifindex, a, _)| ifindex == addr.ifindex && a == addr.addr)
        {
            return;
        }
        if let Some(idx) = self
            .instances
            .iter()
            .position(|r| r.holds_vips && r.spec.all_vips().any(|v| v.addr == addr.addr))
        {
            warn!(
                "{}: {} disappeared from {} while master; adding it back",
                self.instances[idx].spec.name,
                addr.addr,
                self.link_name(addr.ifindex)
            );
            self.install_vips(idx, true, now);
        }
    }

    /// Brings every instance in line with the interfaces and addresses the kernel has now.
    fn reconcile(&mut self, now: Instant) {
        for idx in 0..self.instances.len() {
            let was_usable = self.instances[idx].usable;
            let result = self.attach(idx);
            let running = &mut self.instances[idx];
            match (was_usable, result) {
                (true, Err(why)) => {
                    warn!("{}: {why}", running.spec.name);
                    running.instance.handle_link_down(now);
                }
                (false, Ok(())) => {
                    info!(
                        "{}: interface {} is usable",
                        running.spec.name, running.spec.interface
                    );
                    running.instance.handle_link_up(now);
                }
                _ => {}
            }
            self.drain(idx, now);
        }
        self.close_unused_sockets();
    }

    /// Finds the instance's interface, socket and source address and sets `usable`; the error
    /// says why the instance cannot run now.
    fn attach(&mut self, idx: usize) -> Result<(), String> {
        let result = self.try_attach(idx);
        self.instances[idx].usable = result.is_ok();
        result
    }

    fn try_attach(&mut self, idx: usize) -> Result<(), String> {
        let spec = &self.instances[idx].spec;
        let family = spec.family();
        let interface = spec.interface.clone();
        let Some(link) = self.links.values().find(|l| l.name == interface).cloned() else {
            self.instances[idx].ifindex = None;
            return Err(format!("interface {interface} does not exist"));
        };
        self.instances[idx].ifindex = Some(link.ifindex);
        let source = self.source_address(idx, link.ifindex);
        if !self.ensure_socket(link.ifindex, &link.name, family) {
            return Err(format!("cannot open the VRRP socket on {}", link.name));
        }
        let Some(source) = source else {
            return Err(format!(
                "no usable {family} address on {} to send adverts from",
                link.name
            ));
        };
        let running = &mut self.instances[idx];
        if running.instance.config().primary_address != source {
            info!(
                "{}: sending adverts from {source} on {}",
                running.spec.name, link.name
            );
            running.instance.handle_primary_address(source);
        }
        if !link.oper_up {
            return Err(format!("interface {} is down", link.name));
        }
        Ok(())
    }

    /// keepalived's choice: `mcast_src_ip`, else the interface's first primary IPv4 address (not
    /// a VIP), or for IPv6 its link-local address once DAD is done.
    fn source_address(&self, idx: usize, ifindex: u32) -> Option<IpAddr> {
        let spec = &self.instances[idx].spec;
        if let Some(src) = spec.mcast_src_ip {
            return Some(src);
        }
        let is_vip = |addr: &IpAddr| {
            self.instances
                .iter()
                .any(|r| r.spec.all_vips().any(|v| v.addr == *addr))
        };
        self.addresses
            .iter()
            .filter(|a| a.ifindex == ifindex && !is_vip(&a.addr))
            .find(|a| match (spec.family(), a.addr) {
                (Family::V4, IpAddr::V4(_)) => !a.flags.secondary(),
                (Family::V6, IpAddr::V6(v6)) => {
                    v6.segments()[0] & 0xffc0 == 0xfe80
                        && !a.flags.tentative()
                        && !a.flags.dad_failed()
                }
                _ => false,
            })
            .map(|a| a.addr)
    }

    fn ensure_socket(&mut self, ifindex: u32, ifname: &str, family: Family) -> bool {
        if self
            .sockets
            .iter()
            .flatten()
            .any(|s| s.ifindex == ifindex && s.family == family)
        {
            return true;
        }
        let mut socket = match VrrpSocket::open(ifindex, ifname, family, None) {
            Ok(socket) => socket,
            Err(e) => {
                error!("cannot open the {family} VRRP socket on {ifname}: {e}");
                return false;
            }
        };
        let slot = self
            .sockets
            .iter()
            .position(Option::is_none)
            .unwrap_or_else(|| {
                self.sockets.push(None);
                self.sockets.len() - 1
            });
        if let Err(e) = self.poll.registry().register(
            &mut socket,
            Token(SOCKET_BASE + slot),
            Interest::READABLE,
        ) {
            error!("cannot watch the VRRP socket on {ifname}: {e}");
            return false;
        }
        debug!("opened the {family} VRRP socket on {ifname}");
        self.sockets[slot] = Some(SocketSlot {
            ifindex,
            family,
            socket,
        });
        true
    }

    fn close_unused_sockets(&mut self) {
        for slot in &mut self.sockets {
            let unused = slot.as_ref().is_some_and(|s| {
                !self
                    .instances
                    .iter()
                    .any(|r| r.ifindex == Some(s.ifindex) && r.spec.family() == s.family)
            });
            if unused {
                if let Some(mut s) = slot.take() {
                    let _ = self.poll.registry().deregister(&mut s.socket);
                }
            }
        }
    }

    // ----- receive -----

    fn on_socket(&mut self, slot: usize, now: Instant) {
        let mut buf = std::mem::take(&mut self.rx_buf);
        while let Some(Some(socket)) = self.sockets.get(slot) {
            let (ifindex, family) = (socket.ifindex, socket.family);
            let received = match socket.socket.recv(&mut buf) {
                Ok(Some(received)) => received,
                Ok(None) => break,
                Err(e) => {
                    warn!("receiving on {} failed: {e}", self.link_name(ifindex));
                    break;
                }
            };
            if received.truncated {
                debug!("dropped a truncated packet from {}", received.src);
                continue;
            }
            let Some(datagram) = buf.get(..received.len) else {
                continue;
            };
            let payload = match family {
                Family::V4 => match Ipv4Header::parse(datagram) {
                    Ok(header) => header.payload(datagram),
                    Err(e) => {
                        debug!("dropped a packet from {}: {e}", received.src);
                        continue;
                    }
                },
                Family::V6 => datagram,
            };
            let Some((_version, vrid)) = Advert::peek_version_vrid(payload) else {
                debug!("dropped a runt packet from {}", received.src);
                continue;
            };
            let Some(idx) = self.instances.iter().position(|r| {
                r.ifindex == Some(ifindex) && r.spec.family() == family && r.spec.vrid == vrid
            }) else {
                debug!(
                    "advert for VRID {vrid} from {} on {}: no instance of ours",
                    received.src,
                    self.link_name(ifindex)
                );
                continue;
            };
            match Advert::parse(payload, received.src, received.dst) {
                Ok((advert, _checksum)) => {
                    self.instances[idx].instance.handle_advert(
                        Received {
                            src: received.src,
                            ttl: received.ttl_or_hoplimit,
                            advert: &advert,
                        },
                        now,
                    );
                    self.drain(idx, now);
                }
                Err(e) => {
                    let running = &mut self.instances[idx];
                    running.instance.counters_mut().record_decode_error(&e);
                    debug!(
                        "{}: dropped a packet from {}: {e}",
                        running.spec.name, received.src
                    );
                }
            }
        }
        self.rx_buf = buf;
    }

    // ----- actions -----

    fn drain(&mut self, idx: usize, now: Instant) {
        while let Some(action) = self.instances[idx].instance.poll_action() {
            match action {
                Action::InstallVips(_) => self.install_vips(idx, false, now),
                Action::RemoveVips(_) => self.remove_vips(idx),
                Action::Transmit(advert) => self.transmit(idx, &advert),
                Action::Announce { addresses, count } => self.announce(idx, &addresses, count),
                Action::Notify(notification) => self.notify(idx, &notification, now),
            }
        }
    }

    fn vip_ifindex(&self, spec: &InstanceSpec, vip: &VipSpec) -> Option<u32> {
        let name = vip.dev.as_deref().unwrap_or(&spec.interface);
        self.links
            .values()
            .find(|l| l.name == name)
            .map(|l| l.ifindex)
    }

    fn link_name(&self, ifindex: u32) -> String {
        self.links
            .get(&ifindex)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("ifindex {ifindex}"))
    }

    /// Adds (or, with `renew`, refreshes the lease of) every VIP of the instance.
    fn install_vips(&mut self, idx: usize, renew: bool, now: Instant) {
        let spec = self.instances[idx].spec.clone();
        let lease = spec.vip_lease;
        for vip in spec.all_vips() {
            let Some(ifindex) = self.vip_ifindex(&spec, vip) else {
                error!(
                    "{}: cannot add {}: interface {} does not exist",
                    spec.name,
                    vip.display(),
                    vip.dev.as_deref().unwrap_or(&spec.interface)
                );
                continue;
            };
            let options = AddressOptions {
                label: vip.label.as_deref(),
                lifetime: lease,
                scope: vip.scope,
                broadcast: vip.broadcast,
                deprecated: vip.deprecated,
            };
            match self
                .netlink
                .add_address_with(ifindex, vip.addr, vip.prefix_len, &options, true)
            {
                Ok(()) => {
                    if !renew {
                        info!(
                            "{}: added {} to {}",
                            spec.name,
                            vip.display(),
                            self.link_name(ifindex)
                        );
                    }
                    self.installed.insert((ifindex, vip.addr, vip.prefix_len));
                }
                Err(e) => error!(
                    "{}: cannot add {} to {}: {e}",
                    spec.name,
                    vip.display(),
                    self.link_name(ifindex)
                ),
            }
        }
        let running = &mut self.instances[idx];
        running.holds_vips = true;
        // Renew at a third of the lease: two renewals may fail before the kernel expires it.
        running.lease_renew_at =
            lease.map(|lease| now + (lease / 3).max(Duration::from_millis(500)));
    }

    fn remove_vips(&mut self, idx: usize) {
        let spec = self.instances[idx].spec.clone();
        for vip in spec.all_vips() {
            let Some(ifindex) = self.vip_ifindex(&spec, vip) else {
                continue;
            };
            self.installed.remove(&(ifindex, vip.addr, vip.prefix_len));
            match self.netlink.del_address(ifindex, vip.addr, vip.prefix_len) {
                Ok(()) => info!(
                    "{}: removed {} from {}",
                    spec.name,
                    vip.display(),
                    self.link_name(ifindex)
                ),
                Err(e) => error!(
                    "{}: cannot remove {} from {}: {e}",
                    spec.name,
                    vip.display(),
                    self.link_name(ifindex)
                ),
            }
        }
        let running = &mut self.instances[idx];
        running.holds_vips = false;
        running.lease_renew_at = None;
    }

    fn transmit(&mut self, idx: usize, advert: &Advert) {
        let running = &self.instances[idx];
        let (Some(ifindex), true) = (running.ifindex, running.usable) else {
            debug!(
                "{}: not sending (interface {} unusable)",
                running.spec.name, running.spec.interface
            );
            return;
        };
        let family = running.spec.family();
        let src = running.instance.config().primary_address;
        let dst = match family {
            Family::V4 => IpAddr::V4(MCAST_V4),
            Family::V6 => IpAddr::V6(MCAST_V6),
        };
        let bytes = match advert.to_bytes(src, dst, running.spec.v3_ipv4_checksum) {
            Ok(bytes) => bytes,
            Err(e) => {
                error!("{}: cannot encode an advert: {e:?}", running.spec.name);
                return;
            }
        };
        let Some(slot) = self
            .sockets
            .iter()
            .flatten()
            .find(|s| s.ifindex == ifindex && s.family == family)
        else {
            return;
        };
        if let Err(e) = slot.socket.send_from(&bytes, Some(src), dst) {
            warn!(
                "{}: sending an advert on {} failed: {e}",
                running.spec.name, running.spec.interface
            );
        }
    }

    fn announce(&mut self, idx: usize, addresses: &[IpAddr], count: u32) {
        let running = &self.instances[idx];
        let spec = &running.spec;
        for addr in addresses {
            let Some(vip) = spec.all_vips().find(|v| v.addr == *addr) else {
                continue;
            };
            let Some(ifindex) = self.vip_ifindex(spec, vip) else {
                continue;
            };
            let Some(mac) = self.links.get(&ifindex).and_then(|l| l.mac) else {
                debug!(
                    "{}: {} has no MAC address; not announcing",
                    spec.name,
                    self.link_name(ifindex)
                );
                continue;
            };
            // IPv6: like keepalived and the kernel, the NA comes from the VIP itself, with the
            // Router flag copied from the interface's forwarding setting.
            let frame = match *addr {
                IpAddr::V4(v4) => wire::gratuitous_arp(mac, v4),
                IpAddr::V6(v6) => {
                    wire::unsolicited_na(mac, v6, v6, ipv6_forwarding(&self.link_name(ifindex)))
                }
            };
            for _ in 0..count {
                let sent = match *addr {
                    IpAddr::V4(_) => self.frames.send_frame(ifindex, &frame),
                    IpAddr::V6(v6) => self.icmpv6.send_all_nodes(ifindex, v6, &frame),
                };
                if let Err(e) = sent {
                    warn!(
                        "{}: announcing {addr} on {} failed: {e}",
                        spec.name,
                        self.link_name(ifindex)
                    );
                    break;
                }
            }
        }
        debug!(
            "{}: announced {} address(es) x{count}",
            spec.name,
            addresses.len()
        );
    }

    fn notify(&mut self, idx: usize, n: &Notification, now: Instant) {
        let running = &self.instances[idx];
        let spec = &running.spec;
        let master = running.instance.last_master();
        let from = master
            .map(|m| format!(", master {} priority {}", m.address, m.priority))
            .unwrap_or_default();
        info!(
            "{}: {} -> {} ({}, priority {}{from})",
            spec.name,
            n.previous,
            n.state_word(),
            n.reason,
            n.priority
        );
        let specific = match n.state {
            Some(StateKind::Master) => spec.scripts.master.as_ref(),
            Some(StateKind::Backup) => spec.scripts.backup.as_ref(),
            Some(StateKind::Fault) => spec.scripts.fault.as_ref(),
            None => spec.scripts.stop.as_ref(),
            Some(StateKind::Initialize) => None,
        };
        let notification = script::Notification {
            subject: script::NotifySubject::Instance,
            name: spec.name.clone(),
            state: n.state_word().to_string(),
            prev_state: n.previous.as_str().to_string(),
            reason: n.reason.as_str().to_string(),
            priority: n.priority,
            vips: spec.vips.iter().map(VipSpec::display).collect(),
        };
        // The state's own script first, then the generic one, one after the other (keepalived
        // starts both at once; keepvip keeps every script of an instance in order).
        let mut jobs = Vec::new();
        for (script, generic) in [(specific, false), (spec.scripts.generic.as_ref(), true)] {
            let Some(script) = script else { continue };
            let settings = NotifySettings {
                user: script.user,
                ..self.notify_settings.clone()
            };
            let argv = Some(script.argv.as_slice());
            let (specific, generic) = if generic { (None, argv) } else { (argv, None) };
            for mut job in script::notify_jobs(&notification, specific, generic, &settings) {
                job.program = Some(script.program.clone());
                jobs.push(job);
            }
        }
        let key = spec.name.clone();
        for job in jobs {
            self.runner.enqueue(&key, job, now, self.poll.registry());
        }
    }

    fn log_script_events(&mut self) {
        while let Some(event) = self.runner.poll_event() {
            match event {
                ScriptEvent::Started { key, argv, pid } => {
                    debug!("{key}: script started (pid {pid}): {}", argv.join(" "))
                }
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
                        debug!("{key}: script (pid {pid}) finished in {duration:?}");
                    } else {
                        warn!("{key}: script (pid {pid}) failed after {duration:?}: {outcome:?}");
                    }
                }
                ScriptEvent::SpawnFailed { key, argv, error } => {
                    error!("{key}: cannot run script {}: {error}", argv.join(" "))
                }
                ScriptEvent::Cancelled { key, argv } => {
                    warn!("{key}: script {} not run: stopping", argv.join(" "))
                }
            }
        }
    }

    /// After a panic: take every VIP we added off the interfaces, with a fresh socket.
    fn emergency_release(&mut self) {
        let mut netlink = match RequestSocket::open() {
            Ok(socket) => socket,
            Err(e) => {
                error!("cannot release virtual addresses after an internal error: {e}");
                return;
            }
        };
        for &(ifindex, addr, prefix_len) in &self.installed {
            match netlink.del_address(ifindex, addr, prefix_len) {
                Ok(()) => error!("released {addr}/{prefix_len} after an internal error"),
                Err(e) => error!("cannot release {addr}/{prefix_len}: {e}"),
            }
        }
        self.installed.clear();
    }
}

/// Whether the kernel routes IPv6 on this interface (the NA's Router flag follows it).
fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|value| value.trim() == "1")
        .unwrap_or(false)
}

/// Prints `keepvip --config-test` output; returns whether the configuration is usable.
pub fn config_test(path: &Path) -> bool {
    check_config(path)
}
