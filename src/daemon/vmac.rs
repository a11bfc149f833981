//! Virtual MAC interfaces (`use_vmac`): naming, creating or adopting, configuring and removing
//! them, and the host-wide kernel parameters they need while they exist.
//!
//! Decisions (keepalived's, except where marked):
//! - Name: the configured one; else an existing VMAC of this instance (its MAC on its parent,
//!   private mode) under any name, as left by an earlier run; else the first free name of
//!   `PREFIX.VRID`, `PREFIX1.VRID`, `PREFIX2.VRID` … (IPv6 tries `PREFIX6.VRID` second).
//!   A configured name held by an interface that is not a macvlan is passed over for a
//!   generated one, with a warning.
//! - Made before the election (the instance attaches to it at start), removed when the
//!   instance stops (SIGTERM, or removed or changed by a reload) and left behind on a crash.
//! - A VMAC left behind that matches (macvlan, private mode, our MAC, our parent) is reused and
//!   configured again at start: no link flap, a keepalived VMAC is taken over as keepalived
//!   would, and the stale VIPs on it go with the others before the election. A macvlan under
//!   our name that does not match is deleted and made anew; so is any other macvlan with our
//!   MAC on our parent (keepvip: keepalived adopts it under its old name instead), since two
//!   cannot be up at once.
//! - Made again whenever it disappears while its parent exists (deleted by hand, or the parent
//!   deleted and re-created); configured again if someone sets it down.
//! - IPv4: the parent's `arp_ignore` / `arp_filter` / `arp_announce` are set while any of our
//!   IPv4 VMACs uses it, and `all.rp_filter` is relaxed once (see `io::sysctl`); both are
//!   restored at a clean stop, only where they still hold what keepvip set.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use super::*;
use crate::io::sysctl::{self, SavedParentArp, SavedRpFilter};
use crate::io::vmac::{configure_vmac, create_vmac, is_vmac_for, VmacConfig};
use crate::wire::{eui64_link_local, MacAddr};
use netstate::Links;
use spec::VmacSpec;

/// `IFNAMSIZ - 1`.
const MAX_IFNAME_LEN: usize = 15;
/// Generated names stop at `PREFIX99.VRID`.
const MAX_NAME_NUMBER: u32 = 99;

/// One instance's VMAC.
#[derive(Debug)]
pub(super) struct VmacState {
    pub(super) name: String,
    /// The interface index we configured, while it lasts.
    configured: Option<u32>,
    /// The interface index we created, even if configuring it then failed: ours to delete.
    created: Option<u32>,
}

#[derive(Debug, Default)]
enum RpFilter {
    #[default]
    Untouched,
    /// `all.rp_filter` was 0 already, or relaxing it failed: nothing to restore.
    LeftAlone,
    Relaxed(SavedRpFilter),
}

/// The VMACs of all instances and the host-wide state they hold.
#[derive(Debug, Default)]
pub(super) struct Vmacs {
    /// By instance name (instance names are unique).
    by_instance: HashMap<String, VmacState>,
    /// Per parent interface index (a re-created parent is another one): its name, its ARP
    /// settings before ours, and our IPv4 VMACs on it.
    parents: HashMap<u32, (String, SavedParentArp, BTreeSet<String>)>,
    rp_filter: RpFilter,
}

/// Generated names, in keepalived's order: `vrrp.51`, then `vrrp1.51`, `vrrp2.51` … for IPv4
/// and `vrrp6.51`, `vrrp1.51` … `vrrp5.51`, `vrrp7.51` … for IPv6.
pub(super) fn generated_names(prefix: &str, vrid: u8, family: Family) -> Vec<String> {
    let mut numbers: Vec<u32> = Vec::new();
    if family == Family::V6 {
        numbers.push(6);
    }
    numbers.extend((1..=MAX_NAME_NUMBER).filter(|n| family == Family::V4 || *n != 6));
    std::iter::once(format!("{prefix}.{vrid}"))
        .chain(numbers.into_iter().map(|n| format!("{prefix}{n}.{vrid}")))
        .filter(|name| name.len() <= MAX_IFNAME_LEN)
        .collect()
}

/// The VMAC name for an instance (see the module documentation). `parent` is the instance's
/// interface if it exists; `taken` holds the names other instances use or have configured.
/// Returns the name and, if the configured name was passed over, why.
pub(super) fn choose_name(
    vmac: &VmacSpec,
    vrid: u8,
    family: Family,
    parent: Option<u32>,
    links: &Links,
    taken: &BTreeSet<String>,
) -> Result<(String, Option<String>), String> {
    let mut passed_over = None;
    if let Some(name) = &vmac.name {
        match links.by_name(name) {
            Some(link) if link.macvlan.is_none() => {
                passed_over = Some(format!(
                    "interface {name} exists and is not a macvlan, so it cannot be the VMAC; \
                     using a generated name instead (as keepalived does)"
                ));
            }
            _ => return Ok((name.clone(), None)),
        }
    }
    if let Some(parent) = parent {
        let mut ours: Vec<&LinkInfo> = links
            .values()
            .filter(|l| is_vmac_for(l, parent, vmac.mac) && !taken.contains(&l.name))
            .collect();
        ours.sort_by_key(|l| l.ifindex);
        if let Some(link) = ours.first() {
            return Ok((link.name.clone(), passed_over));
        }
    }
    generated_names(&vmac.prefix, vrid, family)
        .into_iter()
        .find(|name| !taken.contains(name) && links.by_name(name).is_none())
        .map(|name| (name, passed_over))
        .ok_or_else(|| {
            format!(
                "no free VMAC name: {}.{vrid} to {}{MAX_NAME_NUMBER}.{vrid} are all taken; name it in use_vmac",
                vmac.prefix, vmac.prefix
            )
        })
}

impl Daemon {
    /// The VMAC name of the instance called `instance`, once chosen.
    pub(super) fn vmac_name(&self, instance: &str) -> Option<&str> {
        self.vmacs
            .by_instance
            .get(instance)
            .map(|state| state.name.as_str())
    }

    /// Chooses the VMAC names of `specs` (in order), before their instances start.
    pub(super) fn prepare_vmacs(&mut self, specs: &[InstanceSpec]) {
        for spec in specs {
            let Some(vmac) = &spec.vmac else { continue };
            // Names other instances have, or have configured (instance names are unique).
            let mut taken: BTreeSet<String> = self
                .vmacs
                .by_instance
                .iter()
                .filter(|(instance, _)| **instance != spec.name)
                .map(|(_, state)| state.name.clone())
                .collect();
            let configured = self.instances.iter().map(|r| &r.spec).chain(specs);
            taken.extend(
                configured
                    .filter(|other| other.name != spec.name)
                    .filter_map(|other| other.vmac.as_ref()?.name.clone()),
            );
            let parent = self.links.by_name(&spec.interface).map(|l| l.ifindex);
            match choose_name(vmac, spec.vrid, spec.family(), parent, &self.links, &taken) {
                Ok((name, passed_over)) => {
                    if let Some(why) = passed_over {
                        warn!("{}: {why}", spec.name);
                    }
                    debug!("{}: its VMAC is {name}", spec.name);
                    self.vmacs.by_instance.insert(
                        spec.name.clone(),
                        VmacState {
                            name,
                            configured: None,
                            created: None,
                        },
                    );
                }
                Err(why) => error!("{}: {why}", spec.name),
            }
        }
    }

    /// Makes sure the instance's VMAC exists on `parent`, configured and up; returns it.
    pub(super) fn ensure_vmac(
        &mut self,
        idx: usize,
        parent: &LinkInfo,
    ) -> Result<LinkInfo, String> {
        if self.stop_deadline.is_some() {
            // Its VMAC is gone for good.
            return Err("keepvip is stopping".into());
        }
        let spec = &self.instances[idx].spec;
        let (instance, Some(vmac)) = (spec.name.clone(), spec.vmac.clone()) else {
            return Err("no use_vmac".into());
        };
        let Some(state) = self.vmacs.by_instance.get(&instance) else {
            return Err("no name could be chosen for its VMAC (see above)".into());
        };
        let (name, configured) = (state.name.clone(), state.configured);
        let existing = self.links.by_name(&name).cloned();
        match existing {
            Some(link) if is_vmac_for(&link, parent.ifindex, vmac.mac) => {
                if configured == Some(link.ifindex) && link.admin_up && self.vmac_has_its_address(idx, &link) {
                    return Ok(link);
                }
                if configured == Some(link.ifindex) {
                    // A deleted interface is first reported down: ask before acting on it.
                    match self.netlink.link_by_index(link.ifindex) {
                        Ok(None) => {
                            self.forget_link(link.ifindex);
                            return self.create_vmac(idx, &name, vmac.mac, parent);
                        }
                        Ok(Some(fresh)) if fresh.admin_up && self.vmac_has_its_address(idx, &fresh) => {
                            self.links.insert(fresh.clone());
                            return Ok(fresh);
                        }
                        _ => {}
                    }
                    warn!("{instance}: the VMAC {name} was set down or lost its address; configuring it again");
                } else {
                    info!("{instance}: using the existing VMAC {name} ({}) on {}", vmac.mac, parent.name);
                }
                self.configure_vmac(idx, &link, parent)
            }
            Some(link) if link.macvlan.is_some() => {
                warn!(
                    "{instance}: {name} is a macvlan with another MAC, parent or mode; deleting it to make the VMAC"
                );
                self.delete_vmac_link(&link);
                self.create_vmac(idx, &name, vmac.mac, parent)
            }
            Some(_) => Err(format!(
                "interface {name} exists and is not a macvlan: rename it, or name the VMAC in use_vmac"
            )),
            None => self.create_vmac(idx, &name, vmac.mac, parent),
        }
    }

    /// An IPv6 VMAC that sends adverts needs its link-local address.
    fn vmac_has_its_address(&self, idx: usize, link: &LinkInfo) -> bool {
        let spec = &self.instances[idx].spec;
        let needs_link_local =
            spec.family() == Family::V6 && spec.vmac.as_ref().is_some_and(|v| !v.xmit_base);
        !needs_link_local
            || self
                .addresses
                .on(link.ifindex)
                .any(|a| is_link_local(&a.addr))
    }

    fn create_vmac(
        &mut self,
        idx: usize,
        name: &str,
        mac: MacAddr,
        parent: &LinkInfo,
    ) -> Result<LinkInfo, String> {
        let instance = self.instances[idx].spec.name.clone();
        // Our MAC on our parent under another name (an earlier run's VMAC): two cannot be up.
        let rivals: Vec<LinkInfo> = self
            .links
            .values()
            .filter(|l| l.name != name && is_vmac_for(l, parent.ifindex, mac))
            .cloned()
            .collect();
        for rival in rivals {
            warn!(
                "{instance}: {} already has the VMAC's MAC {mac} on {}; deleting it",
                rival.name, parent.name
            );
            self.delete_vmac_link(&rival);
        }
        create_vmac(&mut self.netlink, name, parent.ifindex, mac)
            .map_err(|e| format!("cannot create the VMAC {name} on {}: {e}", parent.name))?;
        let link = match self.netlink.link_by_name(name) {
            Ok(Some(link)) => link,
            Ok(None) => return Err(format!("the VMAC {name} vanished as soon as it was made")),
            Err(e) => return Err(format!("cannot read the new VMAC {name}: {e}")),
        };
        info!(
            "{instance}: created the VMAC {name} ({mac}) on {}",
            parent.name
        );
        self.links.insert(link.clone());
        if let Some(state) = self.vmacs.by_instance.get_mut(&instance) {
            state.created = Some(link.ifindex);
        }
        if self.instances[idx].holds_vips {
            // It replaces one that vanished with our VIPs: put them back on the next turn.
            self.set_lease_renew(idx, Some(Instant::now()));
        }
        self.configure_vmac(idx, &link, parent)
    }

    fn configure_vmac(
        &mut self,
        idx: usize,
        link: &LinkInfo,
        parent: &LinkInfo,
    ) -> Result<LinkInfo, String> {
        let spec = &self.instances[idx].spec;
        let instance = spec.name.clone();
        let family = spec.family();
        let xmit_base = spec.vmac.as_ref().is_some_and(|v| v.xmit_base);
        // IPv6 excluded addresses of an IPv4 instance live on the VMAC too (keepalived's rule).
        let ipv6 =
            family == Family::V6 || spec.all_vips().any(|v| v.dev.is_none() && v.addr.is_ipv6());
        let link_local = if family == Family::V6 && !xmit_base {
            Some(self.vmac_link_local(idx, parent)?)
        } else {
            None
        };
        if family == Family::V4 {
            self.relax_rp_filter_once();
            self.hold_parent(&instance, parent, &link.name);
        }
        let config = VmacConfig {
            name: &link.name,
            ifindex: link.ifindex,
            ipv4: family == Family::V4,
            ipv6,
            link_local,
        };
        configure_vmac(&mut self.netlink, &config)
            .map_err(|e| format!("cannot configure the VMAC {}: {e}", link.name))?;
        // Learn the outcome now rather than from the notifications that follow, so that the
        // instance can use the VMAC at once.
        let fresh = match self.netlink.link_by_index(link.ifindex) {
            Ok(Some(fresh)) => fresh,
            Ok(None) => return Err(format!("the VMAC {} vanished", link.name)),
            Err(e) => return Err(format!("cannot read the VMAC {}: {e}", link.name)),
        };
        self.links.insert(fresh.clone());
        if link_local.is_some() {
            match self.netlink.dump_addresses(Some(fresh.ifindex)) {
                Ok(addresses) => {
                    self.addresses.replace_interface(fresh.ifindex, addresses);
                }
                Err(e) => warn!(
                    "{instance}: cannot read the addresses of {}: {e}",
                    fresh.name
                ),
            }
        }
        if let Some(state) = self.vmacs.by_instance.get_mut(&instance) {
            state.configured = Some(fresh.ifindex);
        }
        Ok(fresh)
    }

    /// keepalived's source for an IPv6 VMAC: `mcast_src_ip`, else the parent's own link-local
    /// address, else the EUI-64 address of the parent's MAC.
    fn vmac_link_local(&self, idx: usize, parent: &LinkInfo) -> Result<Ipv6Addr, String> {
        let spec = &self.instances[idx].spec;
        if let Some(IpAddr::V6(src)) = spec.mcast_src_ip {
            return Ok(src);
        }
        let parents_own = self
            .addresses
            .on(parent.ifindex)
            .find_map(|a| match a.addr {
                IpAddr::V6(v6)
                    if is_link_local(&a.addr)
                        && !a.flags.dad_failed()
                        && !spec.all_vips().any(|v| v.addr == a.addr) =>
                {
                    Some(v6)
                }
                _ => None,
            });
        match (parents_own, parent.mac) {
            (Some(own), _) => Ok(own),
            (None, Some(mac)) => Ok(eui64_link_local(mac)),
            (None, None) => Err(format!(
                "{} has no MAC address: a VMAC needs an Ethernet parent",
                parent.name
            )),
        }
    }

    fn relax_rp_filter_once(&mut self) {
        if !matches!(self.vmacs.rp_filter, RpFilter::Untouched) {
            return;
        }
        self.vmacs.rp_filter = match sysctl::relax_all_rp_filter() {
            Ok(Some(saved)) => {
                warn!(
                    "net.ipv4.conf.all.rp_filter was {}: moved onto default and each interface \
                     and set to 0, so that VMACs can hear adverts (restored at exit)",
                    saved.all
                );
                RpFilter::Relaxed(saved)
            }
            Ok(None) => RpFilter::LeftAlone,
            Err(e) => {
                error!("cannot relax net.ipv4.conf.all.rp_filter for the VMACs: {e}");
                RpFilter::LeftAlone
            }
        };
    }

    /// Sets the parent's ARP parameters for its first IPv4 VMAC of ours.
    fn hold_parent(&mut self, instance: &str, parent: &LinkInfo, vmac: &str) {
        if let Some((_, _, users)) = self.vmacs.parents.get_mut(&parent.ifindex) {
            users.insert(vmac.to_string());
            return;
        }
        match sysctl::configure_vmac_parent(&parent.name) {
            Ok(saved) => {
                let users = BTreeSet::from([vmac.to_string()]);
                self.vmacs
                    .parents
                    .insert(parent.ifindex, (parent.name.clone(), saved, users));
            }
            Err(e) => error!(
                "{instance}: cannot set the ARP parameters of {} (it may answer ARP for the \
                 VIPs with its own MAC): {e}",
                parent.name
            ),
        }
    }

    /// Restores the parent's ARP parameters once its last IPv4 VMAC of ours is gone (if the
    /// parent is still the same interface).
    fn release_parent(&mut self, vmac: &str) {
        let emptied: Vec<u32> = self
            .vmacs
            .parents
            .iter_mut()
            .filter_map(|(ifindex, (_, _, users))| {
                (users.remove(vmac) && users.is_empty()).then_some(*ifindex)
            })
            .collect();
        for ifindex in emptied {
            let Some((name, saved, _)) = self.vmacs.parents.remove(&ifindex) else {
                continue;
            };
            if self.links.get(&ifindex).is_none_or(|l| l.name != name) {
                continue;
            }
            if let Err(e) = sysctl::restore_vmac_parent(&name, saved) {
                warn!("cannot restore the ARP parameters of {name}: {e}");
            }
        }
    }

    fn delete_vmac_link(&mut self, link: &LinkInfo) {
        match self.netlink.delete_link(link.ifindex) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENODEV as i32) => {}
            Err(e) => error!("cannot delete {}: {e}", link.name),
        }
        self.forget_link(link.ifindex);
    }

    /// The interface is gone, and its addresses with it.
    fn forget_link(&mut self, ifindex: u32) {
        self.links.remove(&ifindex);
        self.addresses.remove_interface(ifindex);
        self.installed.forget_interface(ifindex);
    }

    /// Deletes the VMAC of `instance` (if we configured it and it is still there) and forgets it.
    pub(super) fn remove_vmac(&mut self, instance: &str) {
        let Some(state) = self.vmacs.by_instance.remove(instance) else {
            return;
        };
        let ours = state
            .configured
            .or(state.created)
            .and_then(|ifindex| self.links.get(&ifindex))
            .filter(|link| link.name == state.name)
            .cloned();
        if let Some(link) = ours {
            self.delete_vmac_link(&link);
            info!("{instance}: removed the VMAC {}", state.name);
        }
        self.release_parent(&state.name);
    }

    /// At a clean stop: every VMAC goes, and the host's parameters come back.
    pub(super) fn remove_all_vmacs(&mut self) {
        let instances: Vec<String> = self.vmacs.by_instance.keys().cloned().collect();
        for instance in instances {
            self.remove_vmac(&instance);
        }
        if let RpFilter::Relaxed(saved) = std::mem::take(&mut self.vmacs.rp_filter) {
            match sysctl::restore_rp_filter(&saved) {
                Ok(()) => info!("restored net.ipv4.conf.all.rp_filter to {}", saved.all),
                Err(e) => warn!("cannot restore the rp_filter settings: {e}"),
            }
        }
    }
}

fn is_link_local(addr: &IpAddr) -> bool {
    matches!(addr, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::netlink::{MacvlanInfo, MACVLAN_MODE_PRIVATE};
    use crate::wire::virtual_mac;

    fn link(
        ifindex: u32,
        name: &str,
        mac: Option<MacAddr>,
        macvlan: Option<(u32, u32)>,
    ) -> LinkInfo {
        LinkInfo {
            ifindex,
            name: name.to_string(),
            mac,
            admin_up: true,
            oper_up: true,
            mtu: 1500,
            macvlan: macvlan.map(|(lower, mode)| MacvlanInfo {
                lower: Some(lower),
                mode,
            }),
        }
    }

    fn table(links: Vec<LinkInfo>) -> Links {
        links.into_iter().collect()
    }

    fn spec(name: Option<&str>, mac: MacAddr) -> VmacSpec {
        VmacSpec {
            name: name.map(str::to_string),
            prefix: "vrrp".into(),
            mac,
            xmit_base: false,
        }
    }

    const ETH0: u32 = 2;

    #[test]
    fn generated_names_follow_keepalived() {
        let v4 = generated_names("vrrp", 51, Family::V4);
        assert_eq!(&v4[..3], ["vrrp.51", "vrrp1.51", "vrrp2.51"]);
        let v6 = generated_names("vrrp", 51, Family::V6);
        assert_eq!(&v6[..4], ["vrrp.51", "vrrp6.51", "vrrp1.51", "vrrp2.51"]);
        assert!(!v6[2..].contains(&"vrrp6.51".to_string()));
        assert_eq!(v4.last().map(String::as_str), Some("vrrp99.51"));
        // Names that would not fit IFNAMSIZ are skipped, not truncated.
        let long = generated_names("abcdefghijk", 255, Family::V4);
        assert_eq!(long, ["abcdefghijk.255"]);
    }

    #[test]
    fn the_configured_name_wins_unless_a_real_interface_has_it() {
        let mac = virtual_mac(Family::V4, 51);
        let links = table(vec![
            link(1, "lo", None, None),
            link(ETH0, "eth0", Some(MacAddr([2, 0, 0, 0, 0, 1])), None),
        ]);
        let none = BTreeSet::new();
        assert_eq!(
            choose_name(
                &spec(Some("lan0"), mac),
                51,
                Family::V4,
                Some(ETH0),
                &links,
                &none
            ),
            Ok(("lan0".to_string(), None))
        );
        let (name, why) = choose_name(
            &spec(Some("eth0"), mac),
            51,
            Family::V4,
            Some(ETH0),
            &links,
            &none,
        )
        .unwrap();
        assert_eq!(name, "vrrp.51");
        assert!(why.unwrap().contains("eth0 exists and is not a macvlan"));
        // A macvlan under the configured name is ours to fix: the name stays.
        let links = table(vec![link(7, "lan0", Some(mac), Some((9, 4)))]);
        assert_eq!(
            choose_name(
                &spec(Some("lan0"), mac),
                51,
                Family::V4,
                Some(ETH0),
                &links,
                &none
            )
            .unwrap()
            .0,
            "lan0"
        );
    }

    #[test]
    fn a_vmac_left_behind_is_adopted_under_its_name() {
        let mac = virtual_mac(Family::V4, 51);
        let links = table(vec![
            link(ETH0, "eth0", Some(MacAddr([2, 0, 0, 0, 0, 1])), None),
            link(
                5,
                "vrrp.51",
                Some(MacAddr([2, 9, 9, 9, 9, 9])),
                Some((ETH0, MACVLAN_MODE_PRIVATE)),
            ),
            link(6, "vrrp3.51", Some(mac), Some((ETH0, MACVLAN_MODE_PRIVATE))),
            link(8, "other", Some(mac), Some((3, MACVLAN_MODE_PRIVATE))),
        ]);
        let none = BTreeSet::new();
        assert_eq!(
            choose_name(&spec(None, mac), 51, Family::V4, Some(ETH0), &links, &none),
            Ok(("vrrp3.51".to_string(), None))
        );
        // Without a parent (not there yet), or when another instance has it, nothing is adopted
        // and the first free generated name is taken.
        assert_eq!(
            choose_name(&spec(None, mac), 51, Family::V4, None, &links, &none),
            Ok(("vrrp1.51".to_string(), None))
        );
        let taken = BTreeSet::from(["vrrp3.51".to_string(), "vrrp1.51".to_string()]);
        assert_eq!(
            choose_name(&spec(None, mac), 51, Family::V4, Some(ETH0), &links, &taken),
            Ok(("vrrp2.51".to_string(), None))
        );
    }

    #[test]
    fn ipv6_and_ipv4_of_one_vrid_get_distinct_names() {
        let links = table(vec![link(
            ETH0,
            "eth0",
            Some(MacAddr([2, 0, 0, 0, 0, 1])),
            None,
        )]);
        let taken = BTreeSet::from(["vrrp.51".to_string()]);
        assert_eq!(
            choose_name(
                &spec(None, virtual_mac(Family::V6, 51)),
                51,
                Family::V6,
                Some(ETH0),
                &links,
                &taken
            ),
            Ok(("vrrp6.51".to_string(), None))
        );
    }

    #[test]
    fn running_out_of_names_is_an_error() {
        let links = table(vec![]);
        let taken: BTreeSet<String> = generated_names("vrrp", 1, Family::V4).into_iter().collect();
        let e = choose_name(
            &spec(None, virtual_mac(Family::V4, 1)),
            1,
            Family::V4,
            None,
            &links,
            &taken,
        )
        .unwrap_err();
        assert!(e.contains("no free VMAC name"), "{e}");
    }
}
