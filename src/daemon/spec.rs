//! What the daemon runs: one [`InstanceSpec`] per configured `vrrp_instance`, everything
//! resolved except what only the kernel knows (interface index, source address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::proto::track::Weight;
use crate::proto::{timers, AnnounceSchedule, InitialState, InstanceConfig, Unicast};
use crate::wire::{Centis, Checksum, Family, MacAddr, V2Auth, Version};

/// One virtual address and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipSpec {
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// `dev`: another interface than the instance's (announced there too).
    pub dev: Option<String>,
    /// IPv4 `label`.
    pub label: Option<String>,
    /// `rt_scope_t` (0 = global).
    pub scope: u8,
    /// IPv4 broadcast address (`brd`).
    pub broadcast: Option<Ipv4Addr>,
    /// Installed with preferred lifetime 0 (keepalived does this for IPv6 /128 VIPs).
    pub deprecated: bool,
    /// Extra `IFA_F_*` flags (`home`, `mngtmpaddr`, `noprefixroute`, `-nodad`).
    pub flags: u32,
    /// `preferred_lft` in seconds when given and not 0 (0 is `deprecated`).
    pub preferred: Option<u32>,
    /// `no_track`: not put back when deleted by someone else while master (see
    /// `Daemon::on_address_removed`).
    pub no_track: bool,
}

impl VipSpec {
    pub fn display(&self) -> String {
        format!("{}/{}", self.addr, self.prefix_len)
    }
}

/// A script, split and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptSpec {
    /// As configured (argv[0] as written).
    pub argv: Vec<String>,
    /// The file that passed the security check; this is what runs.
    pub program: std::path::PathBuf,
    /// `None`: the daemon's own user.
    pub user: Option<crate::script::ScriptUser>,
}

/// Scripts for one instance.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NotifyScripts {
    pub master: Option<ScriptSpec>,
    pub backup: Option<ScriptSpec>,
    pub fault: Option<ScriptSpec>,
    pub stop: Option<ScriptSpec>,
    pub generic: Option<ScriptSpec>,
    /// `notify_master_rx_lower_pri` (instances only).
    pub master_rx_lower_pri: Option<ScriptSpec>,
    /// `notify_deleted [SCRIPT]` (instances only): `Some` = the keyword is given; the script
    /// runs instead of `notify_stop` when a reload removes the instance.
    pub deleted: Option<Option<ScriptSpec>>,
}

/// `notify_fifo` / `vrrp_notify_fifo` as the daemon runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoSpec {
    pub keyword: &'static str,
    pub path: std::path::PathBuf,
    /// (uid, gid) a FIFO that keepvip creates belongs to.
    pub owner: Option<(u32, u32)>,
    /// `*_script`: started with the path as its last argument.
    pub script: Option<ScriptSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSpec {
    pub name: String,
    pub interface: String,
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    pub advert_interval: Centis,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub initial_state: InitialState,
    /// Advertised and installed.
    pub vips: Vec<VipSpec>,
    /// Installed with the others but not advertised (`virtual_ipaddress_excluded`).
    pub excluded_vips: Vec<VipSpec>,
    pub mcast_src_ip: Option<IpAddr>,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    /// `down_timer_adverts` (3 unless configured).
    pub down_timer_adverts: u8,
    pub announce: AnnounceSchedule,
    pub auth: V2Auth,
    /// What we send for v3 over IPv4 (`v3_checksum_as_v2` selects [`Checksum::Plain`]).
    pub v3_ipv4_checksum: Checksum,
    /// Valid lifetime of installed VIPs; `None` = permanent (keepalived's behaviour).
    pub vip_lease: Option<Duration>,
    pub scripts: NotifyScripts,
    /// `notify_priority_changes`: FIFO lines when the effective priority changes.
    pub notify_priority_changes: bool,
    /// `unicast_fault_no_peer` without peers: never usable, always in FAULT.
    pub unicast_fault_no_peer: bool,
    /// `promote_secondaries` on the instance's interface while the agent runs.
    pub promote_secondaries: bool,
    /// `track_src_ip`: FAULT while `mcast_src_ip` is not an address of the host.
    pub track_src_ip: bool,
    /// Least time between two gratuitous ARPs / unsolicited NAs this instance sends on an
    /// interface (`garp_interval` / `gna_interval`); zero = back to back.
    pub garp_interval: Duration,
    pub gna_interval: Duration,
    /// `unicast_peer`: adverts go to each peer instead of the VRRP group; `None` = multicast.
    pub unicast: Option<Unicast>,
    /// `unicast_ttl`: TTL / hop limit of unicast adverts; `None` = 255, as multicast.
    pub unicast_ttl: Option<u8>,
    /// The instance's tracked objects plus those of its sync group.
    pub tracking: TrackingSpec,
    /// `dont_track_primary`: the interface going down is not a FAULT.
    pub dont_track_primary: bool,
    /// The `vrrp_sync_group` it belongs to.
    pub sync_group: Option<String>,
    /// `use_vmac`: VIPs without `dev` live on a virtual MAC interface.
    pub vmac: Option<VmacSpec>,
    /// `virtual_routes` and `virtual_rules`: in the kernel while the instance holds its VIPs.
    pub routes: Vec<crate::config::Route>,
    pub rules: Vec<crate::config::Rule>,
}

/// `use_vmac [NAME] [MAC]` and `vmac_xmit_base`, with `vmac_prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacSpec {
    /// The configured name; `None`: generated from `prefix` and the VRID at run time.
    pub name: Option<String>,
    pub prefix: String,
    pub mac: MacAddr,
    /// Adverts are sent and heard on the parent interface instead of the VMAC.
    pub xmit_base: bool,
}

impl InstanceSpec {
    pub fn family(&self) -> Family {
        self.vips
            .first()
            .map(|v| Family::of(&v.addr))
            .unwrap_or(Family::V4)
    }

    /// A source address of the right family to start with, until the interface tells us ours.
    pub fn placeholder_source(&self) -> IpAddr {
        match self.family() {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    /// Every address this instance installs, advertised ones first.
    pub fn all_vips(&self) -> impl Iterator<Item = &VipSpec> {
        self.vips.iter().chain(&self.excluded_vips)
    }

    pub fn instance_config(&self, primary_address: IpAddr) -> InstanceConfig {
        InstanceConfig {
            name: self.name.clone(),
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            advert_interval: self.advert_interval,
            preempt: self.preempt,
            preempt_delay: self.preempt_delay,
            initial_state: self.initial_state,
            primary_address,
            vips: self.vips.iter().map(|v| v.addr).collect(),
            lower_prio_no_advert: self.lower_prio_no_advert,
            higher_prio_send_advert: self.higher_prio_send_advert,
            down_timer_adverts: self.down_timer_adverts,
            announce: self.announce,
            auth: self.auth,
            unicast: self.unicast.clone(),
        }
    }

    /// The lease keepvip picks when `vip_lease` is not set: the longest Master_Down_Interval any
    /// backup can have (priority 1) rounded up to whole seconds, plus 2 s for the kernel's
    /// one-second lifetime granularity and a late renewal.
    pub fn default_vip_lease(version: Version, interval: Centis, down_adverts: u8) -> Duration {
        let mdi = timers::master_down_interval_n(down_adverts, version, 1, interval);
        let whole = mdi.as_secs() + u64::from(mdi.subsec_nanos() > 0);
        Duration::from_secs(whole + 2)
    }
}

/// What an instance tracks, by name, with the weight that applies to it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TrackingSpec {
    pub interfaces: Vec<(String, Weight)>,
    /// `vrrp_script` names.
    pub scripts: Vec<(String, Weight)>,
    /// `track_file` names.
    pub files: Vec<(String, Weight)>,
}

impl TrackingSpec {
    pub fn is_empty(&self) -> bool {
        self.interfaces.is_empty() && self.scripts.is_empty() && self.files.is_empty()
    }
}

/// A `vrrp_script` some instance tracks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckScriptSpec {
    pub name: String,
    pub script: ScriptSpec,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

/// A `vrrp_sync_group`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupSpec {
    pub name: String,
    /// Instance names, each in no other group.
    pub members: Vec<String>,
    pub scripts: NotifyScripts,
}

/// A `track_file` some instance tracks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFileSpec {
    pub name: String,
    pub path: std::path::PathBuf,
    /// `init_file VALUE [overwrite]`: (value, overwrite).
    pub init: Option<(i32, bool)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lease_covers_any_backup_down_interval() {
        // v3 100 ms: MDI at priority 1 is 0.3996 s -> 1 s + 2 s.
        assert_eq!(
            InstanceSpec::default_vip_lease(Version::V3, Centis(10), 3),
            Duration::from_secs(3)
        );
        // v2 1 s: 3 + 255/256 s -> 4 s + 2 s.
        assert_eq!(
            InstanceSpec::default_vip_lease(Version::V2, Centis(100), 3),
            Duration::from_secs(6)
        );
    }
}
