//! The daemon's copy of the kernel's interfaces and addresses, indexed so that a netlink event
//! and the lookups of one instance cost O(1) or O(addresses on one interface), never O(all).
//!
//! With 1,000 instances a master holds 1,000 VIPs and every lease renewal echoes an
//! `RTM_NEWADDR`: scanning flat lists per event made each renewal wave O(N²) (perf: `attach` and
//! the address scans were the largest self-time of the loop).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::io::netlink::{AddrInfo, LinkInfo};

/// Interfaces by index, with a name index (names change: a rename updates both).
#[derive(Debug, Default)]
pub(super) struct Links {
    by_index: HashMap<u32, LinkInfo>,
    by_name: HashMap<String, u32>,
}

impl Links {
    pub(super) fn get(&self, ifindex: &u32) -> Option<&LinkInfo> {
        self.by_index.get(ifindex)
    }

    pub(super) fn by_name(&self, name: &str) -> Option<&LinkInfo> {
        self.by_name.get(name).and_then(|i| self.by_index.get(i))
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &LinkInfo> {
        self.by_index.values()
    }

    pub(super) fn insert(&mut self, link: LinkInfo) {
        if let Some(old) = self.by_index.get(&link.ifindex) {
            if old.name != link.name && self.by_name.get(&old.name) == Some(&link.ifindex) {
                self.by_name.remove(&old.name);
            }
        }
        self.by_name.insert(link.name.clone(), link.ifindex);
        self.by_index.insert(link.ifindex, link);
    }

    pub(super) fn remove(&mut self, ifindex: &u32) -> Option<LinkInfo> {
        let link = self.by_index.remove(ifindex)?;
        if self.by_name.get(&link.name) == Some(ifindex) {
            self.by_name.remove(&link.name);
        }
        Some(link)
    }
}

impl FromIterator<LinkInfo> for Links {
    fn from_iter<I: IntoIterator<Item = LinkInfo>>(iter: I) -> Links {
        let mut links = Links::default();
        for link in iter {
            links.insert(link);
        }
        links
    }
}

/// Addresses per interface, in the order the kernel reported them (the first primary IPv4
/// address is keepalived's source: order matters), with O(log n) updates.
#[derive(Debug, Default)]
pub(super) struct Addresses {
    /// (ifindex, arrival number) -> address: a range per interface, in arrival order.
    ordered: BTreeMap<(u32, u64), AddrInfo>,
    /// (ifindex, address) -> arrival number.
    index: HashMap<(u32, IpAddr), u64>,
    /// How many interfaces carry each address (for "is this address local anywhere").
    anywhere: HashMap<IpAddr, u32>,
    next: u64,
}

impl Addresses {
    /// Adds an address, or updates it in place (a lifetime renewal keeps its position, as in the
    /// kernel's own list).
    pub(super) fn upsert(&mut self, addr: AddrInfo) {
        let key = (addr.ifindex, addr.addr);
        if let Some(&seq) = self.index.get(&key) {
            self.ordered.insert((addr.ifindex, seq), addr);
            return;
        }
        let seq = self.next;
        self.next += 1;
        self.index.insert(key, seq);
        *self.anywhere.entry(addr.addr).or_default() += 1;
        self.ordered.insert((addr.ifindex, seq), addr);
    }

    /// Whether `addr` was known on that interface with exactly these flags, prefix, label, scope
    /// and broadcast (an update that only changes lifetimes).
    pub(super) fn is_same(&self, addr: &AddrInfo) -> bool {
        self.get(addr.ifindex, addr.addr).is_some_and(|a| {
            a.flags == addr.flags
                && a.prefix_len == addr.prefix_len
                && a.label == addr.label
                && a.scope == addr.scope
                && a.broadcast == addr.broadcast
        })
    }

    pub(super) fn remove(&mut self, ifindex: u32, addr: IpAddr) -> Option<AddrInfo> {
        let seq = self.index.remove(&(ifindex, addr))?;
        self.forget_anywhere(addr);
        self.ordered.remove(&(ifindex, seq))
    }

    pub(super) fn remove_interface(&mut self, ifindex: u32) {
        let keys: Vec<(u32, u64)> = self
            .ordered
            .range((ifindex, 0)..=(ifindex, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            if let Some(a) = self.ordered.remove(&key) {
                self.index.remove(&(ifindex, a.addr));
                self.forget_anywhere(a.addr);
            }
        }
    }

    /// Replaces what is known about one interface (a fresh dump of it).
    pub(super) fn replace_interface(&mut self, ifindex: u32, fresh: Vec<AddrInfo>) {
        self.remove_interface(ifindex);
        for addr in fresh.into_iter().filter(|a| a.ifindex == ifindex) {
            self.upsert(addr);
        }
    }

    fn forget_anywhere(&mut self, addr: IpAddr) {
        if let Some(count) = self.anywhere.get_mut(&addr) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.anywhere.remove(&addr);
            }
        }
    }

    pub(super) fn get(&self, ifindex: u32, addr: IpAddr) -> Option<&AddrInfo> {
        let seq = self.index.get(&(ifindex, addr))?;
        self.ordered.get(&(ifindex, *seq))
    }

    /// The addresses of one interface, in kernel order.
    pub(super) fn on(&self, ifindex: u32) -> impl Iterator<Item = &AddrInfo> {
        self.ordered
            .range((ifindex, 0)..=(ifindex, u64::MAX))
            .map(|(_, a)| a)
    }

    /// Whether any interface has `addr`.
    pub(super) fn is_local(&self, addr: IpAddr) -> bool {
        self.anywhere.contains_key(&addr)
    }
}

impl FromIterator<AddrInfo> for Addresses {
    fn from_iter<I: IntoIterator<Item = AddrInfo>>(iter: I) -> Addresses {
        let mut addresses = Addresses::default();
        for addr in iter {
            addresses.upsert(addr);
        }
        addresses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::netlink::AddrFlags;

    fn addr(ifindex: u32, last: u8, flags: u32) -> AddrInfo {
        AddrInfo {
            ifindex,
            addr: IpAddr::from([192, 0, 2, last]),
            prefix_len: 24,
            label: None,
            flags: AddrFlags(flags),
            scope: 0,
            broadcast: None,
            valid_lifetime: None,
            preferred_lifetime: None,
        }
    }

    fn link(ifindex: u32, name: &str) -> LinkInfo {
        LinkInfo {
            ifindex,
            name: name.into(),
            mac: None,
            admin_up: true,
            oper_up: true,
            mtu: 1500,
            macvlan: None,
        }
    }

    #[test]
    fn a_renamed_link_is_found_under_its_new_name_only() {
        let mut links: Links = [link(2, "eth0"), link(3, "eth1")].into_iter().collect();
        links.insert(link(2, "uplink"));
        assert!(links.by_name("eth0").is_none());
        assert_eq!(links.by_name("uplink").map(|l| l.ifindex), Some(2));
        // Another link taking the old name keeps it when the first goes.
        links.insert(link(4, "eth0"));
        links.remove(&2);
        assert_eq!(links.by_name("eth0").map(|l| l.ifindex), Some(4));
        assert!(links.by_name("uplink").is_none());
        assert_eq!(links.values().count(), 2);
    }

    #[test]
    fn addresses_keep_kernel_order_per_interface_through_updates() {
        let mut addresses: Addresses = [addr(2, 1, 0), addr(3, 9, 0), addr(2, 2, 0)]
            .into_iter()
            .collect();
        // A renewal of the first address keeps it first.
        let mut renewed = addr(2, 1, 0);
        renewed.valid_lifetime = Some(std::time::Duration::from_secs(30));
        assert!(addresses.is_same(&renewed));
        addresses.upsert(renewed);
        let on2: Vec<u8> = addresses
            .on(2)
            .map(|a| match a.addr {
                IpAddr::V4(v4) => v4.octets()[3],
                IpAddr::V6(_) => 0,
            })
            .collect();
        assert_eq!(on2, vec![1, 2]);
        assert!(!addresses.is_same(&addr(2, 1, 0x80)), "flags changed");
        assert_eq!(addresses.on(3).count(), 1);
    }

    #[test]
    fn an_address_on_two_interfaces_stays_local_until_both_lose_it() {
        let mut addresses: Addresses = [addr(2, 5, 0), addr(3, 5, 0)].into_iter().collect();
        let five = IpAddr::from([192, 0, 2, 5]);
        addresses.remove(2, five);
        assert!(addresses.is_local(five));
        addresses.remove_interface(3);
        assert!(!addresses.is_local(five));
        assert!(addresses.get(3, five).is_none());
        addresses.replace_interface(2, vec![addr(2, 7, 0), addr(3, 8, 0)]);
        assert_eq!(addresses.on(2).count(), 1, "only the interface's own");
        assert_eq!(addresses.on(3).count(), 0);
    }
}
