//! What keepvip has put on the interfaces, and for whom.
//!
//! Each address is recorded with the interface it went on, its prefix, and the instances that
//! hold it (two instances may share a VIP: the address stays until the last one releases it).
//! An entry leaves only once the kernel confirmed the delete, so a failed delete is retried at
//! the next release and at stop, never forgotten. Addresses that were the host's own before
//! keepvip started (an address owner's VIP, priority 255) are never added, leased or removed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

#[derive(Debug, Default)]
pub(super) struct Installed {
    entries: BTreeMap<(u32, IpAddr), Entry>,
    /// The host's own addresses that owner instances advertise: never touched.
    host_owned: BTreeSet<(u32, IpAddr)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    prefix_len: u8,
    holders: BTreeSet<String>,
}

/// What to do with the kernel's copy after a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Release {
    /// Nobody holds it any more: delete it (then call [`Installed::deleted`]).
    Delete { prefix_len: u8 },
    /// Another instance still holds it.
    StillHeld,
    /// Not ours (never installed, or the host's own address).
    NotOurs,
}

impl Installed {
    pub(super) fn mark_host_owned(&mut self, ifindex: u32, addr: IpAddr) {
        self.host_owned.insert((ifindex, addr));
    }

    pub(super) fn is_host_owned(&self, ifindex: u32, addr: IpAddr) -> bool {
        self.host_owned.contains(&(ifindex, addr))
    }

    pub(super) fn added(&mut self, ifindex: u32, addr: IpAddr, prefix_len: u8, holder: &str) {
        let entry = self.entries.entry((ifindex, addr)).or_insert(Entry {
            prefix_len,
            holders: BTreeSet::new(),
        });
        entry.prefix_len = prefix_len;
        entry.holders.insert(holder.to_string());
    }

    /// `holder` lets go of the address.
    pub(super) fn release(&mut self, ifindex: u32, addr: IpAddr, holder: &str) -> Release {
        match self.entries.get_mut(&(ifindex, addr)) {
            None => Release::NotOurs,
            Some(entry) => {
                entry.holders.remove(holder);
                if entry.holders.is_empty() {
                    Release::Delete {
                        prefix_len: entry.prefix_len,
                    }
                } else {
                    Release::StillHeld
                }
            }
        }
    }

    /// The kernel confirmed the delete (or the interface is gone with it).
    pub(super) fn deleted(&mut self, ifindex: u32, addr: IpAddr) {
        self.entries.remove(&(ifindex, addr));
    }

    /// A delete was confirmed: the entry goes unless somebody took the address again
    /// meanwhile (their add is queued behind the delete).
    pub(super) fn deleted_if_unheld(&mut self, ifindex: u32, addr: IpAddr) {
        if self
            .entries
            .get(&(ifindex, addr))
            .is_some_and(|e| e.holders.is_empty())
        {
            self.entries.remove(&(ifindex, addr));
        }
    }

    pub(super) fn forget_interface(&mut self, ifindex: u32) {
        self.entries.retain(|&(i, _), _| i != ifindex);
        self.host_owned.retain(|&(i, _)| i != ifindex);
    }

    pub(super) fn contains(&self, ifindex: u32, addr: IpAddr) -> bool {
        self.entries.contains_key(&(ifindex, addr))
    }

    /// The addresses `holder` holds, wherever they went.
    pub(super) fn held_by(&self, holder: &str) -> Vec<(u32, IpAddr)> {
        self.entries
            .iter()
            .filter(|(_, e)| e.holders.contains(holder))
            .map(|(&key, _)| key)
            .collect()
    }

    /// Entries nobody holds (their delete failed): retried at release and at stop.
    pub(super) fn orphans(&self) -> Vec<(u32, IpAddr, u8)> {
        self.entries
            .iter()
            .filter(|(_, e)| e.holders.is_empty())
            .map(|(&(i, a), e)| (i, a, e.prefix_len))
            .collect()
    }

    /// Everything still installed, for the sweep at stop and after a panic.
    pub(super) fn all(&self) -> Vec<(u32, IpAddr, u8)> {
        self.entries
            .iter()
            .map(|(&(i, a), e)| (i, a, e.prefix_len))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_shared_address_is_deleted_when_its_last_holder_lets_go() {
        let mut installed = Installed::default();
        installed.added(2, ip(100), 24, "A");
        installed.added(2, ip(100), 24, "B");
        assert_eq!(installed.release(2, ip(100), "B"), Release::StillHeld);
        assert_eq!(
            installed.release(2, ip(100), "A"),
            Release::Delete { prefix_len: 24 }
        );
        assert!(installed.contains(2, ip(100)), "until the kernel confirms");
        installed.deleted(2, ip(100));
        assert!(!installed.contains(2, ip(100)));
        assert_eq!(installed.release(2, ip(100), "A"), Release::NotOurs);
    }

    #[test]
    fn a_failed_delete_stays_as_an_orphan_for_the_sweep() {
        let mut installed = Installed::default();
        installed.added(2, ip(100), 24, "A");
        installed.added(3, ip(101), 32, "A");
        assert!(matches!(
            installed.release(2, ip(100), "A"),
            Release::Delete { .. }
        ));
        assert_eq!(installed.orphans(), vec![(2, ip(100), 24)]);
        assert_eq!(installed.all().len(), 2);
        installed.forget_interface(2);
        assert!(installed.orphans().is_empty());
    }

    #[test]
    fn host_addresses_are_remembered_per_interface() {
        let mut installed = Installed::default();
        installed.mark_host_owned(2, ip(1));
        assert!(installed.is_host_owned(2, ip(1)));
        assert!(!installed.is_host_owned(3, ip(1)));
        assert_eq!(installed.release(2, ip(1), "GW"), Release::NotOurs);
    }
}
