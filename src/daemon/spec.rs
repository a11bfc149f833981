//! What the daemon runs: one [`InstanceSpec`] per configured `vrrp_instance`, everything
//! resolved except what only the kernel knows (interface index, source address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::proto::{timers, AnnounceSchedule, InitialState, InstanceConfig};
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
    pub announce: AnnounceSchedule,
    pub auth: V2Auth,
    /// What we send for v3 over IPv4 (`v3_checksum_as_v2` selects [`Checksum::Plain`]).
    pub v3_ipv4_checksum: Checksum,
    /// Valid lifetime of installed VIPs; `None` = permanent (keepalived's behaviour).
    pub vip_lease: Option<Duration>,
    pub scripts: NotifyScripts,
    /// `use_vmac`: VIPs without `dev` live on a virtual MAC interface.
    pub vmac: Option<VmacSpec>,
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
            announce: self.announce,
            auth: self.auth,
        }
    }

    /// The lease keepvip picks when `vip_lease` is not set: the longest Master_Down_Interval any
    /// backup can have (priority 1) rounded up to whole seconds, plus 2 s for the kernel's
    /// one-second lifetime granularity and a late renewal.
    pub fn default_vip_lease(version: Version, interval: Centis) -> Duration {
        let mdi = timers::master_down_interval(version, 1, interval);
        let whole = mdi.as_secs() + u64::from(mdi.subsec_nanos() > 0);
        Duration::from_secs(whole + 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lease_covers_any_backup_down_interval() {
        // v3 100 ms: MDI at priority 1 is 0.3996 s -> 1 s + 2 s.
        assert_eq!(
            InstanceSpec::default_vip_lease(Version::V3, Centis(10)),
            Duration::from_secs(3)
        );
        // v2 1 s: 3 + 255/256 s -> 4 s + 2 s.
        assert_eq!(
            InstanceSpec::default_vip_lease(Version::V2, Centis(100)),
            Duration::from_secs(6)
        );
    }
}
