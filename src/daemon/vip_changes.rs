//! VIP adds, lease renewals and deletes on their way to the kernel.
//!
//! The changes themselves are made by the io address worker, off the loop (see
//! `io::netlink::AddressWorker` for why a thread). This component remembers why each change
//! was asked for, which addresses have an add or a delete in flight, the announcements that
//! wait for their address's add to be confirmed (a gratuitous ARP for an address the kernel
//! does not have yet would draw traffic to a host that drops it), and which instances have a
//! renewal in flight (one at a time each).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Waker;

use crate::io::netlink::{AddressChange, AddressWorker, ChangeKind, Completed, RequestSocket};

/// Why a change was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Purpose {
    /// The instance that holds (or let go of) the address.
    pub holder: String,
    /// A lease renewal of an address already installed.
    pub renew: bool,
}

/// An announcement request waiting for its address's add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Parked {
    pub count: u32,
    pub interval: Duration,
    pub owner: String,
}

/// A change the kernel answered, with what waited for it.
#[derive(Debug)]
pub(super) struct Done {
    pub change: AddressChange,
    pub purpose: Purpose,
    pub result: io::Result<()>,
    pub took: Duration,
    /// Announcements of the address to send now: its last pending add succeeded.
    pub released: Vec<Parked>,
    /// Announcements given up: the add failed.
    pub dropped: Vec<Parked>,
}

pub(super) struct VipChanges {
    worker: AddressWorker,
    purposes: HashMap<u64, Purpose>,
    adds_pending: HashMap<(u32, IpAddr), u32>,
    deletes_pending: HashMap<(u32, IpAddr), u32>,
    parked: HashMap<(u32, IpAddr), Vec<Parked>>,
    renewing: HashMap<String, u32>,
}

type Key = (u32, IpAddr);

fn key(change: &AddressChange) -> Key {
    (change.ifindex, change.addr)
}

impl VipChanges {
    pub(super) fn spawn(waker: Arc<Waker>) -> io::Result<VipChanges> {
        Ok(VipChanges {
            worker: AddressWorker::spawn(RequestSocket::open()?, waker)?,
            purposes: HashMap::new(),
            adds_pending: HashMap::new(),
            deletes_pending: HashMap::new(),
            parked: HashMap::new(),
            renewing: HashMap::new(),
        })
    }

    /// Hands a change to the worker; gives it back if the worker is gone (the caller makes it
    /// itself and reports it with [`done_inline`](Self::done_inline)).
    pub(super) fn submit(
        &mut self,
        change: AddressChange,
        purpose: Purpose,
    ) -> Result<(), (AddressChange, Purpose)> {
        let pending_key = key(&change);
        let is_add = matches!(change.kind, ChangeKind::Add { .. });
        match self.worker.submit(change) {
            Ok(tag) => {
                // A renewal's address is confirmed already: nothing waits for it.
                if is_add && !purpose.renew {
                    *self.adds_pending.entry(pending_key).or_default() += 1;
                } else if !is_add {
                    *self.deletes_pending.entry(pending_key).or_default() += 1;
                }
                if purpose.renew {
                    *self.renewing.entry(purpose.holder.clone()).or_default() += 1;
                }
                self.purposes.insert(tag, purpose);
                Ok(())
            }
            Err(change) => Err((change, purpose)),
        }
    }

    pub(super) fn is_adding(&self, ifindex: u32, addr: IpAddr) -> bool {
        self.adds_pending.contains_key(&(ifindex, addr))
    }

    pub(super) fn is_deleting(&self, ifindex: u32, addr: IpAddr) -> bool {
        self.deletes_pending.contains_key(&(ifindex, addr))
    }

    /// Whether `holder` has a lease renewal in flight.
    pub(super) fn is_renewing(&self, holder: &str) -> bool {
        self.renewing.contains_key(holder)
    }

    /// Keeps an announcement until the address's pending add is answered.
    pub(super) fn park(&mut self, ifindex: u32, addr: IpAddr, parked: Parked) {
        self.parked.entry((ifindex, addr)).or_default().push(parked);
    }

    /// Forgets the parked announcements of an address (it is being released).
    pub(super) fn unpark(&mut self, ifindex: u32, addr: IpAddr) {
        self.parked.remove(&(ifindex, addr));
    }

    /// The next answered change, if any.
    pub(super) fn next(&mut self) -> Option<Done> {
        let completed = self.worker.try_completed()?;
        Some(self.settle(completed))
    }

    /// Changes not answered yet.
    pub(super) fn in_flight(&self) -> usize {
        self.worker.in_flight()
    }

    /// At stop: waits (bounded) for what is in flight.
    pub(super) fn wait_idle(&mut self, deadline: Instant) -> Vec<Done> {
        self.worker
            .wait_idle(deadline)
            .into_iter()
            .map(|c| self.settle(c))
            .collect()
    }

    /// Queued changes will not be made (they come back cancelled): before a last sweep.
    pub(super) fn cancel_queued(&self) {
        self.worker.cancel_queued();
    }

    /// The bookkeeping of a change made on the loop (the worker was gone).
    pub(super) fn done_inline(
        &mut self,
        change: AddressChange,
        purpose: Purpose,
        result: io::Result<()>,
        took: Duration,
    ) -> Done {
        let first_add = matches!(change.kind, ChangeKind::Add { .. }) && !purpose.renew;
        let (released, dropped) = self.take_parked(key(&change), first_add, result.is_ok());
        Done {
            change,
            purpose,
            result,
            took,
            released,
            dropped,
        }
    }

    fn settle(&mut self, completed: Completed) -> Done {
        let Completed {
            tag,
            change,
            result,
            took,
        } = completed;
        let purpose = self.purposes.remove(&tag).unwrap_or(Purpose {
            holder: String::new(),
            renew: false,
        });
        if purpose.renew {
            decrement(&mut self.renewing, &purpose.holder);
        }
        let pending_key = key(&change);
        let first_add = matches!(change.kind, ChangeKind::Add { .. }) && !purpose.renew;
        if first_add {
            decrement(&mut self.adds_pending, &pending_key);
        } else if matches!(change.kind, ChangeKind::Delete) {
            decrement(&mut self.deletes_pending, &pending_key);
        }
        let (released, dropped) = self.take_parked(pending_key, first_add, result.is_ok());
        Done {
            change,
            purpose,
            result,
            took,
            released,
            dropped,
        }
    }

    /// After an add: its announcements go once no add of the address is pending any more, or
    /// are given up if the last one failed.
    fn take_parked(
        &mut self,
        pending_key: Key,
        first_add: bool,
        ok: bool,
    ) -> (Vec<Parked>, Vec<Parked>) {
        if !first_add || self.adds_pending.contains_key(&pending_key) {
            return (Vec::new(), Vec::new());
        }
        let parked = self.parked.remove(&pending_key).unwrap_or_default();
        if ok {
            (parked, Vec::new())
        } else {
            (Vec::new(), parked)
        }
    }
}

fn decrement<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, u32>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(key);
        }
    }
}

/// When an instance renews its lease next: between a quarter and a third of the lease (at
/// least 500 ms), at a point fixed per instance, so that 1,000 instances that took over
/// together do not renew together for ever after.
pub(super) fn renew_period(holder: &str, lease: Duration) -> Duration {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same instance keeps its offset across restarts.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    holder.hash(&mut hasher);
    let spread = (hasher.finish() % 1024) as u32;
    let quarter = lease / 4;
    let twelfth = lease / 12;
    (quarter + twelfth * spread / 1024).max(Duration::from_millis(500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_fall_between_a_quarter_and_a_third_of_the_lease_and_spread() {
        let lease = Duration::from_secs(60);
        let periods: Vec<Duration> = (0..200)
            .map(|i| renew_period(&format!("VI_{i}"), lease))
            .collect();
        for p in &periods {
            assert!(*p >= lease / 4 && *p <= lease / 3, "{p:?}");
        }
        let distinct: std::collections::BTreeSet<_> = periods.iter().collect();
        assert!(
            distinct.len() > 150,
            "only {} distinct periods",
            distinct.len()
        );
        assert_eq!(renew_period("VI_1", lease), renew_period("VI_1", lease));
        assert_eq!(
            renew_period("VI_1", Duration::from_secs(1)),
            Duration::from_millis(500)
        );
    }
}
