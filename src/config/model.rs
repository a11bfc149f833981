//! The validated configuration. Every value is resolved: keepalived's defaults filled in, global
//! defaults copied into instances, family and version decided. Nothing here needs checking again.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use super::diag::{locate, Location, Span};
use crate::argv::{split_command, SplitError};
use crate::wire::{Addresses, Centis, Checksum, Family, MacAddr, Version};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub global: GlobalDefs,
    /// In configuration order.
    pub instances: Vec<Instance>,
    /// `vrrp_script` blocks, `track_file` blocks and `vrrp_sync_group` blocks.
    pub scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    pub sync_groups: Vec<SyncGroup>,
    /// `static_ipaddress`, `static_routes`, `static_rules`: set up at start, kept whatever the
    /// instances' states, removed at stop (as keepalived does).
    pub statics: Statics,
    /// Every file read, indexed by [`super::FileId`]; `files[0]` is the main file.
    pub files: Vec<PathBuf>,
}

impl Config {
    /// Where a span points, for messages at run time ("notify_master at ...:12:3 failed").
    pub fn location(&self, span: Span) -> Location {
        locate(&self.files, span)
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name == name)
    }
}

/// `global_defs`: the parts that matter to VRRP, with keepalived's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalDefs {
    /// Cosmetic (keepalived uses it in emails); `None` = unset (keepalived: the host name).
    pub router_id: Option<String>,
    /// `vrrp_version`, default 2. IPv6 instances use 3 whatever this says.
    pub vrrp_version: Version,
    /// `vrrp_garp_master_*`, `vrrp_garp_lower_prio_*`, `vrrp_garp_interval`,
    /// `vrrp_gna_interval`: defaults for every instance.
    pub garp: Garp,
    /// `vrrp_lower_prio_no_advert [BOOL]`, default false (a bare keyword means true).
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert [BOOL]`, default false (a bare keyword means true).
    pub higher_prio_send_advert: bool,
    /// `v3_checksum_as_v2 [BOOL]` (keepalived 2.2.8+), default false: v3 over IPv4 includes the
    /// pseudo-header in the checksum as keepalived does.
    pub v3_checksum_as_v2: bool,
    /// `script_user USER [GROUP]`; `None` = keepalived's rule (user `keepalived_script` if it
    /// exists, otherwise root), resolved by the script runner.
    pub script_user: Option<ScriptUser>,
    /// keepvip: **on by default** (keepalived: off unless `enable_script_security`). Only
    /// `enable_script_security off` (a keepvip extension) turns it off.
    pub script_security: bool,
    /// keepvip extension `vrrp_vip_lease SECS`: default lifetime of installed VIPs for
    /// instances without `vip_lease`.
    pub vip_lease: Option<VipLease>,
    /// `vrrp_check_unicast_src [BOOL]`: unicast instances drop adverts from non-peers.
    /// keepvip: **on by default** (keepalived: off unless set); `off` is a keepvip extension.
    pub check_unicast_src: bool,
    /// `vmac_prefix`: generated VMAC names are `PREFIX.VRID` (then `PREFIXn.VRID`), default
    /// `vrrp`.
    pub vmac_prefix: String,
    /// `vrrp_priority`, `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_no_swap`,
    /// `vrrp_cpu_affinity`: how the agent asks the kernel for CPU and memory.
    pub process: ProcessTuning,
    /// Where SIGUSR1 / SIGUSR2 / SIGRTMIN+2 write keepalived's dumps.
    pub dumps: DumpLocations,
    /// `vrrp_startup_delay SECS`: the instances start this long after the agent (interfaces or
    /// routing still settling at boot); `None` = at once.
    pub startup_delay: Option<std::time::Duration>,
    /// `notify_fifo` and `vrrp_notify_fifo` (both get the VRRP lines), each with its
    /// `*_script`.
    pub fifos: Vec<Fifo>,
    /// `vrrp_notify_priority_changes [BOOL]`: the default of the instances'
    /// `notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// `fifo_write_vrrp_states_on_reload`: after a reload, write every state to the FIFOs.
    pub fifo_states_on_reload: bool,
    /// `vrrp_down_timer_adverts 1..100`: the instances' default `down_timer_adverts`, 3.
    pub down_timer_adverts: u8,
    /// `vrrp_mcast_group4` / `vrrp_mcast_group6`: the groups adverts go to and are heard on
    /// (default 224.0.0.18 and ff02::12).
    pub mcast_group4: std::net::Ipv4Addr,
    pub mcast_group6: std::net::Ipv6Addr,
    /// `startup_script COMMAND [USER [GROUP]]`: run once before any instance starts; the
    /// instances wait for it (at most `startup_script_timeout`).
    pub startup_script: Option<NotifyScript>,
    /// `startup_script_timeout 1..1000` seconds, default 10: SIGTERM after it.
    pub startup_script_timeout: Duration,
    /// `shutdown_script`: run once when the agent stops, after the instances stopped and
    /// their addresses were released.
    pub shutdown_script: Option<NotifyScript>,
    /// `shutdown_script_timeout 1..1000` seconds, default 10.
    pub shutdown_script_timeout: Duration,
}

/// keepalived's default `startup_script_timeout` / `shutdown_script_timeout`.
pub const DEFAULT_LIFECYCLE_TIMEOUT: Duration = Duration::from_secs(10);

/// `notify_fifo PATH [USER [GROUP]]` (or `vrrp_notify_fifo`) and its `*_script`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fifo {
    /// `notify_fifo` or `vrrp_notify_fifo`.
    pub keyword: &'static str,
    /// The path is `command`; `user` / `group` own the FIFO when keepvip creates it.
    pub path: NotifyScript,
    /// Started with the FIFO's path as its last argument, to read the lines.
    pub script: Option<NotifyScript>,
}

/// `state_file_location`, `stats_file_location`, `json_file_location`, `json_version`:
/// keepalived's `keepalived.data`, `.stats` and `.json`. `None` = keepalived's default,
/// `${TMPDIR:-/tmp}/keepalived.*`; a path naming a directory gets the default file name in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpLocations {
    pub state: Option<std::path::PathBuf>,
    pub stats: Option<std::path::PathBuf>,
    pub json: Option<std::path::PathBuf>,
    /// 1: keepalived's array of instances; 2: the array inside an object (`{"vrrp": [...]}`).
    pub json_version: u8,
}

impl Default for DumpLocations {
    fn default() -> DumpLocations {
        DumpLocations {
            state: None,
            stats: None,
            json: None,
            json_version: 1,
        }
    }
}

/// keepalived's VRRP process settings, applied by the daemon at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessTuning {
    /// `vrrp_priority -20..19`: the event loop's nice value.
    pub nice: Option<i8>,
    /// `vrrp_rt_priority 1..99`: the event loop runs SCHED_RR at this priority.
    pub rt_priority: Option<u8>,
    /// `vrrp_rlimit_rttime USECS` (>= 2): RLIMIT_RTTIME; keepalived's default with
    /// `vrrp_rt_priority` is 10000.
    pub rlimit_rttime_us: Option<u64>,
    /// `vrrp_no_swap`: all memory locked (mlockall).
    pub no_swap: bool,
    /// `vrrp_cpu_affinity CPU...`: the CPUs the agent may run on; empty = any.
    pub cpu_affinity: Vec<usize>,
}

impl Default for GlobalDefs {
    fn default() -> GlobalDefs {
        GlobalDefs {
            router_id: None,
            vrrp_version: Version::V2,
            garp: Garp::default(),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            v3_checksum_as_v2: false,
            script_user: None,
            script_security: true,
            vip_lease: None,
            check_unicast_src: true,
            vmac_prefix: "vrrp".to_string(),
            process: ProcessTuning::default(),
            dumps: DumpLocations::default(),
            startup_delay: None,
            fifos: Vec::new(),
            notify_priority_changes: false,
            fifo_states_on_reload: false,
            down_timer_adverts: 3,
            mcast_group4: crate::wire::MCAST_V4,
            mcast_group6: crate::wire::MCAST_V6,
            startup_script: None,
            startup_script_timeout: DEFAULT_LIFECYCLE_TIMEOUT,
            shutdown_script: None,
            shutdown_script_timeout: DEFAULT_LIFECYCLE_TIMEOUT,
        }
    }
}

/// Gratuitous ARP / unsolicited NA timing (keepalived.conf(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Garp {
    /// `garp_master_delay`: when to send the second burst; `None` = no second burst
    /// (keepalived's 0). Default 5 s. Whole seconds, at most 4294.
    pub master_delay: Option<Duration>,
    /// `garp_master_repeat`: messages per burst, default 5, at least 1.
    pub master_repeat: u32,
    /// `garp_master_refresh`: re-announce this often while master; `None` = never (keepalived's
    /// 0, the default). Whole seconds.
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`: messages per refresh, default 1, at least 1.
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`: second burst after a master hears a lower priority; `None` =
    /// none. Defaults to `vrrp_garp_lower_prio_delay`, itself defaulting to
    /// `vrrp_garp_master_delay` (keepalived resolves both that way).
    pub lower_prio_delay: Option<Duration>,
    /// `garp_lower_prio_repeat`: messages per burst after a lower-priority advert, 0 = none.
    /// Defaults to `vrrp_garp_lower_prio_repeat`, itself defaulting to `vrrp_garp_master_repeat`.
    pub lower_prio_repeat: u32,
    /// `vrrp_garp_interval` (per instance: keepvip's `garp_interval`): the least time between two
    /// gratuitous ARPs on an interface; zero = back to back (the default).
    pub interval: Duration,
    /// `vrrp_gna_interval` (per instance: keepvip's `gna_interval`): the same for unsolicited
    /// neighbour advertisements.
    pub gna_interval: Duration,
}

impl Default for Garp {
    fn default() -> Garp {
        Garp {
            master_delay: Some(Duration::from_secs(5)),
            master_repeat: 5,
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_delay: Some(Duration::from_secs(5)),
            lower_prio_repeat: 5,
            interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptUser {
    pub user: String,
    /// `None`: the user's primary group.
    pub group: Option<String>,
}

/// Lifetime of installed VIPs (keepvip extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VipLease {
    /// `0`: permanent addresses, as keepalived installs them.
    Permanent,
    /// Valid lifetime in seconds, renewed by the agent while master.
    Secs(u32),
}

/// `vrrp_instance NAME { ... }`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub name: String,
    /// The `vrrp_instance` keyword.
    pub span: Span,
    /// `state`: keepalived's default is MASTER if the priority is 255, else BACKUP.
    pub state: InitialState,
    pub interface: String,
    /// `virtual_router_id`, 1-255, required.
    pub vrid: u8,
    /// `priority`, 1-255. Default 100, except that keepalived makes an instance with
    /// `state MASTER` and no `priority` the address owner (255); a warning says so.
    pub priority: u8,
    /// `advert_int`, default 1 s. v2: whole seconds 1-255; v3: 0.01-40.95 s.
    pub advert_interval: Centis,
    /// `version`, else 3 for IPv6, else `global_defs vrrp_version`.
    pub version: Version,
    /// The family of the VIPs (all VIPs of an instance share it).
    pub family: Family,
    /// `nopreempt` clears it; `preempt` sets it; the last one written wins. Default true.
    /// Forced true (with a warning) for priority 255 or `state MASTER`, as keepalived does.
    pub preempt: bool,
    /// `preempt_delay`, 0-1000 s, microsecond resolution, default 0. Cleared (with a warning)
    /// with `state MASTER` or `nopreempt`, as keepalived does.
    pub preempt_delay: Duration,
    /// `virtual_ipaddress`: advertised and installed. Never empty.
    pub vips: Vec<Vip>,
    /// `virtual_ipaddress_excluded`: installed, not advertised; may mix families.
    pub excluded_vips: Vec<Vip>,
    /// `mcast_src_ip` or `unicast_src_ip` (one setting in keepalived): source address of
    /// adverts; `None` = the interface's primary address.
    pub mcast_src_ip: Option<IpAddr>,
    /// `unicast_peer { ... }`: `None` = multicast.
    pub unicast: Option<Unicast>,
    /// `accept` / `no_accept`. keepalived's default (outside strict mode) is accept mode
    /// **on**, unlike RFC 9568's default.
    pub accept: bool,
    /// Per-instance `garp_*` / `gna_interval`, defaulting to `global_defs`.
    pub garp: Garp,
    /// `lower_prio_no_advert [BOOL]`, defaulting to `global_defs`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert [BOOL]`, defaulting to `global_defs`: a master that yields to
    /// a better router first sends one advert at its own priority.
    pub higher_prio_send_advert: bool,
    /// `v3_checksum_as_v2 [BOOL]`, defaulting to `global_defs`.
    pub v3_checksum_as_v2: bool,
    /// `down_timer_adverts 1..100`, defaulting to `global_defs vrrp_down_timer_adverts` (3).
    pub down_timer_adverts: u8,
    pub notify: Notify,
    /// `notify_priority_changes [BOOL]`, defaulting to `global_defs
    /// vrrp_notify_priority_changes`: FIFO lines when the effective priority changes.
    pub notify_priority_changes: bool,
    /// `unicast_fault_no_peer` with an empty `unicast_peer` block: the instance stays in FAULT
    /// (instead of keepalived's default, multicast).
    pub unicast_fault_no_peer: bool,
    /// `notify_deleted [SCRIPT [USER [GROUP]]]`: `Some` = given.
    pub notify_deleted: Option<Option<NotifyScript>>,
    /// `promote_secondaries`: set the interface's IPv4 promote_secondaries while running, so
    /// removing a VIP never takes the other addresses of its subnet with it.
    pub promote_secondaries: bool,
    /// `track_src_ip`: FAULT while the configured source address is not on the host.
    pub track_src_ip: bool,
    /// keepvip extension `vip_lease SECS`, defaulting to `global_defs vrrp_vip_lease`; `None` =
    /// the agent chooses.
    pub vip_lease: Option<VipLease>,
    /// `authentication { auth_type PASS  auth_pass P }` (VRRPv2 only): the password as adverts
    /// carry it, truncated or NUL-padded to 8 bytes as keepalived does. `None` = no
    /// authentication.
    pub auth_pass: Option<[u8; 8]>,
    /// `track_interface`, `track_script`, `track_file`.
    pub tracking: Tracking,
    /// `dont_track_primary`: the instance's own interface going down is not a FAULT.
    pub dont_track_primary: bool,
    /// `use_vmac`: the instance runs on a virtual MAC interface.
    pub vmac: Option<Vmac>,
    /// `virtual_routes`: added after the VIPs on becoming master, removed before them.
    pub routes: Vec<Route>,
    /// `virtual_rules`: added after the routes on becoming master, removed before them.
    pub rules: Vec<Rule>,
}

/// `use_vmac [NAME] [MAC]` (and `vmac_xmit_base`): a private macvlan on the instance's
/// interface carries the VIPs (those without `dev`) with one MAC on every router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmac {
    /// `None`: generated at run time as keepalived does (`vrrp.VRID`, see `vmac_prefix`).
    pub name: Option<String>,
    /// The configured MAC (five octets take the VRID as the sixth), else the VRRP virtual MAC
    /// 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6).
    pub mac: MacAddr,
    /// `vmac_xmit_base`: adverts go out (and are heard) on the parent interface, with its MAC.
    pub xmit_base: bool,
    /// The `use_vmac` keyword.
    pub span: Span,
}

impl Instance {
    /// Priority 255: the owner of the virtual addresses.
    pub fn is_address_owner(&self) -> bool {
        self.priority == 255
    }

    /// The addresses an advert carries.
    pub fn addresses(&self) -> Addresses {
        let ips: Vec<IpAddr> = self.vips.iter().map(|v| v.addr).collect();
        Addresses::from_ip_addrs(&ips).unwrap_or(match self.family {
            Family::V4 => Addresses::V4(Vec::new()),
            Family::V6 => Addresses::V6(Vec::new()),
        })
    }

    /// The checksum to send on v3/IPv4 adverts.
    pub fn v3_ipv4_checksum(&self) -> Checksum {
        if self.v3_checksum_as_v2 {
            Checksum::Plain
        } else {
            Checksum::PseudoHeader
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialState {
    Master,
    Backup,
}

/// One line of `virtual_ipaddress` / `virtual_ipaddress_excluded`:
/// `ADDR[/PREFIX] [brd ADDR|+|-] [dev IF] [scope SCOPE] [label LABEL]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    pub addr: IpAddr,
    /// Default /32 or /128, as keepalived.
    pub prefix_len: u8,
    /// IPv4 only.
    pub broadcast: Option<Broadcast>,
    /// `dev`; `None` = the instance's interface.
    pub dev: Option<String>,
    /// Default `global`.
    pub scope: Scope,
    /// IPv4 alias label, at most 15 bytes.
    pub label: Option<String>,
    /// `home`, `mngtmpaddr`, `noprefixroute`, `-nodad`.
    pub flags: VipFlags,
    /// `preferred_lft SECS|forever` (IPv6 only): `None` = the default, 0 for a /128 (see
    /// [`Vip::deprecated_by_default`]) and forever otherwise. `Some(u32::MAX)` = forever.
    pub preferred_lft: Option<u32>,
    /// `no_track`: deleted by someone else while master, the VIP stays deleted (the instance
    /// stays master) until the instance next becomes master.
    pub no_track: bool,
    pub span: Span,
}

/// The valueless `virtual_ipaddress` options, each an `IFA_F_*` flag of the address. `home`
/// and `mngtmpaddr` are IPv6 only (set on an IPv4 address they are dropped with a warning, as
/// keepalived drops them); `-nodad` is what keepvip does for every IPv6 VIP anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VipFlags {
    /// `IFA_F_HOMEADDRESS` (Mobile IPv6 home address).
    pub home: bool,
    /// `IFA_F_NODAD`.
    pub nodad: bool,
    /// `IFA_F_MANAGETEMPADDR`: the kernel derives privacy (temporary) addresses from it.
    pub mngtmpaddr: bool,
    /// `IFA_F_NOPREFIXROUTE`: the kernel adds no prefix route for it.
    pub noprefixroute: bool,
}

impl Vip {
    /// keepalived installs IPv6 /128 VIPs with preferred lifetime 0 (deprecated, so the kernel
    /// does not pick them as source addresses); the address layer should do the same.
    pub fn deprecated_by_default(&self) -> bool {
        self.addr.is_ipv6() && self.prefix_len == 128
    }
}

/// The top-level `static_*` blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statics {
    /// `static_ipaddress`: every line names its `dev`.
    pub addresses: Vec<Vip>,
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
}

impl Statics {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }
}

/// An address and prefix length, the host bits cleared (`198.51.100.0/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// `RTN_*`: what a route does with what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteType {
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
}

impl RouteType {
    pub fn name(self) -> &'static str {
        match self {
            RouteType::Unicast => "unicast",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
            RouteType::Throw => "throw",
        }
    }
}

/// keepalived's route protocol (`RTPROT_KEEPALIVED`), the default of its routes and rules.
pub const PROTO_KEEPALIVED: u8 = 18;
/// `RT_TABLE_MAIN`.
pub const TABLE_MAIN: u32 = 254;

/// One line of `virtual_routes` / `static_routes`: `[TYPE] [src IP] [to] PREFIX [via IP]
/// [dev IF] [scope S] [table T] [metric N] [protocol P] [onlink] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteType,
    pub dst: Prefix,
    /// `src`: the preferred source address (`RTA_PREFSRC`).
    pub src: Option<IpAddr>,
    /// `via` / `gw`.
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// `scope`; `None` = the kernel's choice (link without a gateway, else global).
    pub scope: Option<Scope>,
    /// `table`, default main (254).
    pub table: u32,
    /// `metric` (also `priority` / `preference`, as `ip route`).
    pub metric: Option<u32>,
    /// `protocol`: keepalived forces 18 (its own) on a route without `no_track`, and so does
    /// keepvip.
    pub protocol: u8,
    pub onlink: bool,
    pub no_track: bool,
    pub span: Span,
}

impl Route {
    pub fn family(&self) -> Family {
        Family::of(&self.dst.addr)
    }
}

impl std::fmt::Display for Route {
    /// As `ip route` would print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.kind != RouteType::Unicast {
            write!(f, "{} ", self.kind.name())?;
        }
        write!(f, "{}", self.dst)?;
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(src) = self.src {
            write!(f, " src {src}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        if let Some(scope) = self.scope {
            write!(f, " scope {}", scope.as_u8())?;
        }
        if self.onlink {
            write!(f, " onlink")?;
        }
        Ok(())
    }
}

/// One line of `virtual_rules` / `static_rules`: `[from PREFIX] [to PREFIX] [iif IF] [oif IF]
/// [fwmark N[/M]] table T priority N [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// IPv4 unless an address says IPv6 (keepalived's rule).
    pub family: Family,
    /// `None` = all.
    pub from: Option<Prefix>,
    pub to: Option<Prefix>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `table` / `lookup`.
    pub table: u32,
    /// `priority` / `preference`.
    pub priority: u32,
    pub no_track: bool,
    pub span: Span,
}

impl std::fmt::Display for Rule {
    /// As `ip rule` would print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: from ", self.priority)?;
        match self.from {
            Some(p) => write!(f, "{p}")?,
            None => write!(f, "all")?,
        }
        if let Some(p) = self.to {
            write!(f, " to {p}")?;
        }
        if let Some((mark, mask)) = self.fwmark {
            write!(f, " fwmark {mark:#x}")?;
            if let Some(mask) = mask {
                write!(f, "/{mask:#x}")?;
            }
        }
        if let Some(iif) = &self.iif {
            write!(f, " iif {iif}")?;
        }
        if let Some(oif) = &self.oif {
            write!(f, " oif {oif}")?;
        }
        write!(f, " lookup {}", self.table)
    }
}

/// Unicast mode: `unicast_peer`, `unicast_ttl`, `check_unicast_src`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unicast {
    /// Never empty, no duplicates, all of the instance's family, none our source address.
    pub peers: Vec<UnicastPeer>,
    /// `unicast_ttl`, 1-255: TTL / hop limit of sent adverts; `None` = 255.
    pub ttl: Option<u8>,
    /// `check_unicast_src [BOOL]`, defaulting to `global_defs vrrp_check_unicast_src` (on).
    pub check_src: bool,
}

/// One `unicast_peer` line: `ADDRESS [min_ttl N] [max_ttl N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    /// Default 0.
    pub min_ttl: u8,
    /// Default 255; never below `min_ttl`.
    pub max_ttl: u8,
    pub span: Span,
}

/// `brd` values: an address, or `+`/`-` to set/clear the host bits of the VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    Addr(Ipv4Addr),
    SetHostBits,
    ClearHostBits,
}

/// Address scope (`ip address ... scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    /// The kernel's `rt_scope_t` value.
    pub fn as_u8(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }

    pub fn from_u8(n: u8) -> Scope {
        match n {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            n => Scope::Other(n),
        }
    }
}

/// The notify scripts of an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    pub master: Option<NotifyScript>,
    pub backup: Option<NotifyScript>,
    pub fault: Option<NotifyScript>,
    pub stop: Option<NotifyScript>,
    /// `notify`: gets `INSTANCE name STATE priority` appended by the runner.
    pub any: Option<NotifyScript>,
    /// `notify_master_rx_lower_pri`: run each time this router, as master, hears a lower
    /// priority (another router took over during a split; clouds re-claim their address).
    pub master_rx_lower_pri: Option<NotifyScript>,
}

/// `notify_* COMMAND [USER [GROUP]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyScript {
    /// The command line as keepalived hands it to its argv splitter: outer quotes removed and
    /// escapes processed once. Split it with [`NotifyScript::argv`].
    pub command: String,
    /// The arguments as written, quotes included.
    pub raw: String,
    /// `None`: `global_defs script_user`.
    pub user: Option<String>,
    pub group: Option<String>,
    /// The command's first character.
    pub span: Span,
}

impl NotifyScript {
    /// The argv, split as keepalived splits it (checked at load time, so it succeeds for a
    /// loaded configuration).
    pub fn argv(&self) -> Result<Vec<String>, SplitError> {
        split_command(&self.command)
    }
}

// ---- tracking and sync groups ---------------------------------------------------------------

/// A tracking weight as configured: `weight N [reverse]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackWeight {
    /// 0: the object's failure means FAULT.
    pub weight: i32,
    pub reverse: bool,
}

/// `vrrp_script NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpScript {
    pub name: String,
    pub span: Span,
    /// `script`, with `user USER [GROUP]` as its user and group.
    pub command: NotifyScript,
    /// `interval`, whole seconds, default 1.
    pub interval: Duration,
    /// `timeout`, whole seconds; defaults to the interval (keepalived's rule).
    pub timeout: Duration,
    /// `weight N [reverse]`, default 0: the default for `track_script` entries naming it.
    pub weight: TrackWeight,
    /// `rise`, `fall`: default 1.
    pub rise: u32,
    pub fall: u32,
    /// `init_fail`: the script counts as failed until it has succeeded `rise` times.
    pub init_fail: bool,
}

/// `track_file NAME { ... }` (`vrrp_track_file` is keepalived's deprecated synonym).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFile {
    pub name: String,
    pub span: Span,
    /// `file`: an absolute path.
    pub path: PathBuf,
    /// `weight N [reverse]`, default 1: the default for `track_file` entries naming it.
    pub weight: TrackWeight,
    /// `init_file [VALUE] [overwrite]`.
    pub init: Option<TrackFileInit>,
}

/// Write VALUE to the file at start-up if it does not exist (always, with `overwrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackFileInit {
    pub value: i32,
    pub overwrite: bool,
}

/// One `track_interface` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedInterface {
    pub name: String,
    pub weight: TrackWeight,
    pub span: Span,
}

/// One `track_script` / `track_file` line, its weight resolved (the line's, else the
/// definition's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedRef {
    /// The `vrrp_script` or `track_file` it names (known to exist).
    pub name: String,
    pub weight: TrackWeight,
    pub span: Span,
}

/// What an instance or a sync group tracks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    pub interfaces: Vec<TrackedInterface>,
    pub scripts: Vec<TrackedRef>,
    pub files: Vec<TrackedRef>,
}

impl Tracking {
    pub fn is_empty(&self) -> bool {
        self.interfaces.is_empty() && self.scripts.is_empty() && self.files.is_empty()
    }
}

/// `vrrp_sync_group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub span: Span,
    /// `group { ... }`: instance names, each defined and in no other group.
    pub members: Vec<String>,
    pub notify: Notify,
    /// Applies to every member, in addition to the member's own tracking.
    pub tracking: Tracking,
    /// `sync_group_tracking_weight`: keep tracking weights; without it keepalived (and keepvip)
    /// sets every tracking weight of the members to 0, so that all of them move together.
    pub tracking_weight: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileId;

    #[test]
    fn defaults_are_keepalived_s() {
        // keepalived.conf(5): vrrp_garp_master_delay 5, vrrp_garp_master_repeat 5,
        // vrrp_garp_master_refresh 0 (off), vrrp_garp_master_refresh_repeat 1, vrrp_version 2,
        // vrrp_lower_prio_no_advert false, vrrp_higher_prio_send_advert false.
        let g = GlobalDefs::default();
        assert_eq!(g.vrrp_version, Version::V2);
        assert_eq!(g.garp.master_delay, Some(Duration::from_secs(5)));
        assert_eq!(g.garp.master_repeat, 5);
        assert_eq!(g.garp.master_refresh, None);
        assert_eq!(g.garp.master_refresh_repeat, 1);
        // vrrp_garp_lower_prio_* follow the master values; the intervals are 0.
        assert_eq!(g.garp.lower_prio_delay, g.garp.master_delay);
        assert_eq!(g.garp.lower_prio_repeat, g.garp.master_repeat);
        assert_eq!(g.garp.interval, Duration::ZERO);
        assert_eq!(g.garp.gna_interval, Duration::ZERO);
        assert!(!g.lower_prio_no_advert);
        assert!(!g.higher_prio_send_advert);
        assert!(!g.v3_checksum_as_v2);
        assert!(
            g.script_security,
            "keepvip turns script security on by default"
        );
        assert_eq!(g.script_user, None);
        assert_eq!(g.vip_lease, None);
        assert!(
            g.check_unicast_src,
            "keepvip checks unicast sources by default"
        );
    }

    #[test]
    fn scopes_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(Scope::from_u8(n).as_u8(), n);
        }
    }

    #[test]
    fn ipv6_host_vips_are_deprecated_by_default() {
        let span = Span {
            file: FileId(0),
            line: 1,
            col: 1,
        };
        let vip = |addr: &str, prefix_len| Vip {
            addr: addr.parse().unwrap(),
            prefix_len,
            broadcast: None,
            dev: None,
            scope: Scope::Global,
            label: None,
            flags: VipFlags::default(),
            preferred_lft: None,
            no_track: false,
            span,
        };
        assert!(vip("2001:db8::1", 128).deprecated_by_default());
        assert!(!vip("2001:db8::1", 64).deprecated_by_default());
        assert!(!vip("192.0.2.1", 32).deprecated_by_default());
    }
}
