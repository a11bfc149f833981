//! Addresses and links through rtnetlink (`netlink-packet-route` over `netlink-sys`), all
//! synchronous: a [`RequestSocket`] for requests and dumps (sequence numbers, read to the ACK,
//! bounded by a receive timeout) and a non-blocking [`EventSocket`] for link and address
//! notifications, registrable with mio; an [`AddressWorker`] thread makes address changes for
//! the event loop, so that no request waits on RTNL there.
//!
//! Kernel behaviour these wrappers rely on (verified by the tests in this module, which run in a
//! private network namespace):
//! - Adding an address that exists fails with `EEXIST` unless `NLM_F_REPLACE` is set; with it,
//!   the address keeps its identity and takes the new lifetimes (how a VIP lifetime is renewed).
//! - A finite lifetime is whole seconds in `IFA_CACHEINFO`; the kernel removes the address by
//!   itself once it expires, with an `RTM_DELADDR` notification.
//! - IPv6 addresses added with `IFA_F_NODAD` are usable at once; without it they stay
//!   `tentative` until DAD finishes, and a tentative source is refused for sending.

mod events;
mod request;
mod routes;
mod worker;

pub use events::{EventSocket, NetEvent};
pub use request::{AddressOptions, RequestSocket};
pub use routes::{
    RouteInfo, RouteSpec, RuleInfo, RuleSpec, RTN_BLACKHOLE, RTN_PROHIBIT, RTN_THROW, RTN_UNICAST,
    RTN_UNREACHABLE,
};
pub use worker::{
    apply_change, apply_changes, apply_net_change, apply_net_changes, AddressChange, AddressWorker,
    ChangeKind, Completed, NetChange,
};

use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage,
};

use crate::wire::MacAddr;

/// Lifetime value the kernel uses for "forever" in `IFA_CACHEINFO`.
const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// One network interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    /// The hardware address, when the link has a 6-byte one (Ethernet, veth, macvlan).
    pub mac: Option<MacAddr>,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFF_UP && IFF_RUNNING`: up and the kernel considers it operational (operstate UP or
    /// UNKNOWN, carrier present). This is what VRRP interface tracking should follow.
    pub oper_up: bool,
    pub mtu: u32,
    /// Set when the interface is a macvlan (keepvip's virtual MAC interfaces are).
    pub macvlan: Option<MacvlanInfo>,
}

/// `IFA_F_*` flags of an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AddrFlags(pub u32);

impl AddrFlags {
    fn has(self, flag: AddressFlags) -> bool {
        self.0 & flag.bits() != 0
    }
    /// IPv6 duplicate address detection has not finished: the address cannot be a source yet.
    pub fn tentative(self) -> bool {
        self.has(AddressFlags::Tentative)
    }
    /// IPv6 duplicate address detection found a duplicate: the address is unusable.
    pub fn dad_failed(self) -> bool {
        self.has(AddressFlags::Dadfailed)
    }
    /// Added with `IFA_F_NODAD`.
    pub fn nodad(self) -> bool {
        self.has(AddressFlags::Nodad)
    }
    /// No lifetime: the address never expires.
    pub fn permanent(self) -> bool {
        self.has(AddressFlags::Permanent)
    }
    /// The preferred lifetime has run out.
    pub fn deprecated(self) -> bool {
        self.has(AddressFlags::Deprecated)
    }
    /// An IPv4 secondary address (another address of the same subnet came first).
    pub fn secondary(self) -> bool {
        self.has(AddressFlags::Secondary)
    }
    /// `IFA_F_HOMEADDRESS` (`home`).
    pub fn home(self) -> bool {
        self.has(AddressFlags::Homeaddress)
    }
    /// `IFA_F_MANAGETEMPADDR` (`mngtmpaddr`).
    pub fn mngtmpaddr(self) -> bool {
        self.has(AddressFlags::Managetempaddr)
    }
    /// `IFA_F_NOPREFIXROUTE` (`noprefixroute`).
    pub fn noprefixroute(self) -> bool {
        self.has(AddressFlags::Noprefixroute)
    }
}

/// `MACVLAN_MODE_PRIVATE`: the mode keepalived gives its virtual MAC interfaces. Besides
/// isolating macvlans of one parent from each other, it makes the parent hand a multicast frame
/// whose source MAC is one of its own macvlans' to that macvlan alone: so a backup's VMAC hears
/// the master's adverts, which carry the very same virtual MAC.
pub const MACVLAN_MODE_PRIVATE: u32 = 1;

/// What makes a macvlan: its lower interface and its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacvlanInfo {
    /// The lower (parent) interface; `None` when it is in another network namespace.
    pub lower: Option<u32>,
    /// `MACVLAN_MODE_*` (1 private, 2 vepa, 4 bridge, 8 passthru, 16 source).
    pub mode: u32,
}

/// One interface address as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 only (`IFA_LABEL`, keepalived's `label`); the kernel reports the interface name
    /// when none was given.
    pub label: Option<String>,
    pub flags: AddrFlags,
    /// `rt_scope_t`: 0 = global, 253 = link, 254 = host.
    pub scope: u8,
    /// IPv4 broadcast address, if set.
    pub broadcast: Option<std::net::Ipv4Addr>,
    /// Remaining valid lifetime, whole seconds as the kernel counts them; `None` = forever.
    pub valid_lifetime: Option<Duration>,
    /// Remaining preferred lifetime; `None` = forever.
    pub preferred_lifetime: Option<Duration>,
}

fn lifetime_from_kernel(secs: u32) -> Option<Duration> {
    (secs != INFINITY_LIFE_TIME).then(|| Duration::from_secs(u64::from(secs)))
}

/// The kernel's view of a lifetime we ask for: whole seconds, at least 1 (0 is rejected),
/// `u32::MAX` and above mean forever.
fn lifetime_to_kernel(lifetime: Option<Duration>) -> u32 {
    match lifetime {
        None => INFINITY_LIFE_TIME,
        Some(d) => {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            u32::try_from(secs.max(1)).unwrap_or(INFINITY_LIFE_TIME)
        }
    }
}

/// Converts an rtnetlink link message; `None` when it lacks a name (never seen from the kernel
/// for `AF_UNSPEC` link messages, but not worth trusting).
fn link_info_from(msg: &LinkMessage) -> Option<LinkInfo> {
    let mut name = None;
    let mut mac = None;
    let mut mtu = 0;
    let mut lower = None;
    let mut lower_elsewhere = false;
    let mut macvlan_mode = None;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(bytes) => {
                mac = <[u8; 6]>::try_from(bytes.as_slice()).ok().map(MacAddr)
            }
            LinkAttribute::Mtu(m) => mtu = *m,
            LinkAttribute::Link(index) => lower = Some(*index),
            // IFLA_LINK then counts in another namespace's index space.
            LinkAttribute::LinkNetNsId(_) => lower_elsewhere = true,
            LinkAttribute::LinkInfo(infos) => macvlan_mode = macvlan_mode_of(infos),
            _ => {}
        }
    }
    let flags = msg.header.flags;
    let admin_up = flags.contains(LinkFlags::Up);
    Some(LinkInfo {
        ifindex: msg.header.index,
        name: name?,
        mac,
        admin_up,
        oper_up: admin_up && flags.contains(LinkFlags::Running),
        mtu,
        macvlan: macvlan_mode.map(|mode| MacvlanInfo {
            lower: lower.filter(|_| !lower_elsewhere),
            mode,
        }),
    })
}

/// `Some(mode)` when `IFLA_LINKINFO` says macvlan (mode 0 if the kernel did not report one).
fn macvlan_mode_of(infos: &[NlLinkInfo]) -> Option<u32> {
    let is_macvlan = infos
        .iter()
        .any(|info| matches!(info, NlLinkInfo::Kind(InfoKind::MacVlan)));
    if !is_macvlan {
        return None;
    }
    let mode = infos.iter().find_map(|info| match info {
        NlLinkInfo::Data(InfoData::MacVlan(data)) => data.iter().find_map(|d| match d {
            InfoMacVlan::Mode(mode) => Some(u32::from(*mode)),
            _ => None,
        }),
        _ => None,
    });
    Some(mode.unwrap_or(0))
}

/// Converts an rtnetlink address message; `None` when it carries no address.
fn addr_info_from(msg: &AddressMessage) -> Option<AddrInfo> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut broadcast = None;
    let mut flags = AddrFlags(u32::from(msg.header.flags.bits()));
    let mut valid_lifetime = None;
    let mut preferred_lifetime = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Broadcast(b) => broadcast = Some(*b),
            // IFA_FLAGS holds all 32 bits; the header byte only the low 8.
            AddressAttribute::Flags(f) => flags = AddrFlags(f.bits()),
            AddressAttribute::CacheInfo(ci) => {
                valid_lifetime = lifetime_from_kernel(ci.ifa_valid);
                preferred_lifetime = lifetime_from_kernel(ci.ifa_preferred);
            }
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point
    // links and equal to IFA_LOCAL otherwise (IPv6 sends IFA_LOCAL only with a peer).
    Some(AddrInfo {
        ifindex: msg.header.index,
        addr: local.or(address)?,
        prefix_len: msg.header.prefix_len,
        label,
        flags,
        scope: u8::from(msg.header.scope),
        broadcast,
        valid_lifetime,
        preferred_lifetime,
    })
}

#[cfg(test)]
mod tests;
