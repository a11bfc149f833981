//! Virtual MAC interfaces (keepalived's `use_vmac`): a private-mode macvlan on the instance's
//! interface whose hardware address is the VRRP virtual MAC, so that the VIPs keep one MAC
//! whichever router holds them.
//!
//! [`create_vmac`] makes the interface (down); [`configure_vmac`] gives it what keepalived gives
//! it, in keepalived's order, and brings it up:
//! - IPv4 instance: the IPv4 parameters of [`sysctl::configure_vmac_ipv4`]; IPv6 disabled
//!   unless IPv6 addresses will live on it (no link-local address, MLD or router solicitation
//!   leaves with the virtual MAC).
//! - IPv6 instance: IPv6 enabled, address generation mode `none` (the kernel must not make an
//!   EUI-64 link-local address from the virtual MAC: every router would own the same one), and
//!   the link-local address adverts are sent from added instead, without DAD.
//!
//! The parent's ARP parameters and `all.rp_filter` are host-wide concerns with a lifetime
//! longer than one VMAC; the caller manages them with [`sysctl`]'s save / restore pairs.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use super::netlink::{LinkInfo, RequestSocket, MACVLAN_MODE_PRIVATE};
use super::sysctl;
use crate::wire::MacAddr;

/// Creates the macvlan `name` on `parent` with hardware address `mac`, in private mode, down.
pub fn create_vmac(
    nl: &mut RequestSocket,
    name: &str,
    parent: u32,
    mac: MacAddr,
) -> io::Result<()> {
    nl.create_macvlan(name, parent, mac, MACVLAN_MODE_PRIVATE)
}

/// Whether `link` is a VMAC as [`create_vmac`] makes it for `parent` and `mac`.
pub fn is_vmac_for(link: &LinkInfo, parent: u32, mac: MacAddr) -> bool {
    link.mac == Some(mac)
        && link
            .macvlan
            .is_some_and(|m| m.lower == Some(parent) && m.mode == MACVLAN_MODE_PRIVATE)
}

/// How to configure one VMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmacConfig<'a> {
    pub name: &'a str,
    pub ifindex: u32,
    /// An IPv4 instance runs on it: set keepalived's IPv4 parameters.
    pub ipv4: bool,
    /// IPv6 addresses will live on it (an IPv6 instance, or IPv6 excluded addresses of an IPv4
    /// one): keep IPv6 on, without kernel-generated addresses. Otherwise IPv6 is turned off.
    pub ipv6: bool,
    /// The link-local address to add (/64, no DAD): the source of an IPv6 instance's adverts.
    pub link_local: Option<Ipv6Addr>,
}

/// Configures the VMAC as the module documentation says and sets it up. Idempotent: a VMAC
/// left by an earlier run is brought to the same state.
pub fn configure_vmac(nl: &mut RequestSocket, config: &VmacConfig<'_>) -> io::Result<()> {
    if config.ipv4 {
        sysctl::configure_vmac_ipv4(config.name)?;
    }
    match sysctl::set_ipv6_disabled(config.name, !config.ipv6) {
        // A kernel without IPv6 has nothing to turn off.
        Err(e) if !config.ipv6 && e.kind() == io::ErrorKind::NotFound => {}
        other => other?,
    }
    if config.ipv6 {
        nl.disable_ipv6_addr_gen(config.ifindex)?;
        if let Some(link_local) = config.link_local {
            nl.add_address(
                config.ifindex,
                IpAddr::V6(link_local),
                64,
                None,
                None,
                false,
            )?;
        }
    }
    nl.set_link_up(config.ifindex)
}

#[cfg(test)]
mod tests;
