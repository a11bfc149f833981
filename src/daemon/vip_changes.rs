//! VIP adds, lease renewals and deletes on their way to the kernel.
//!
//! The changes themselves are made by the io address worker, off the loop (see
//! `io::netlink::AddressWorker` for why a thread). This component remembers why each change
//! was asked for, which addresses have an add or a delete in flight, the announcements that
//! wait for their address's add to be confirmed (a gratuitous ARP for an address the kernel
//! does not have yet would draw traffic to a host that drops it), and which instances have a
//! renewal in flight (one at a time each). Route and rule changes share the worker's queue
//! (so they land after the addresses submitted before them); nothing waits for them.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Waker;

use crate::io::netlink::{
    AddressChange, AddressWorker, ChangeKind, Completed, NetChange, RequestSocket,
};

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

/// A route or rule change the kernel answered.
#[derive(Debug)]
pub(super) struct RouteDone {
    pub change: NetChange,
    /// The instance it is for, or `static`.
    pub holder: String,
    pub result: io::Result<()>,
    pub took: Duration,
}

/// What the worker answered.
#[derive(Debug)]
pub(super) enum Answer {
    Address(Done),
    Route(RouteDone),
}

pub(super) struct VipChanges {
    worker: AddressWorker,
    /// The origin of the renewal grid.
    epoch: Instant,
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
            epoch: Instant::now(),
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
    ) -> Result<(), Box<(NetChange, Purpose)>> {
        let pending_key = key(&change);
        let is_add = matches!(change.kind, ChangeKind::Add { .. });
        // A renewal that succeeds changes nothing the loop must act on: it is collected on the
        // next turn without a wake-up of its own.
        let wake = !purpose.renew;
        match self.worker.submit(NetChange::Address(change), wake) {
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
            Err(change) => Err(Box::new((change, purpose))),
        }
    }

    /// Hands a route or rule change to the worker, behind everything submitted before it;
    /// gives it back if the worker is gone.
    pub(super) fn submit_route(
        &mut self,
        change: NetChange,
        holder: &str,
    ) -> Result<(), Box<(NetChange, Purpose)>> {
        let purpose = Purpose {
            holder: holder.to_string(),
            renew: false,
        };
        match self.worker.submit(change, true) {
            Ok(tag) => {
                self.purposes.insert(tag, purpose);
                Ok(())
            }
            Err(change) => Err(Box::new((change, purpose))),
        }
    }

    /// When a lease taken (or renewed) `now` is renewed next; see [`renew_at`].
    pub(super) fn next_renewal(&self, now: Instant, lease: Duration) -> Instant {
        renew_at(self.epoch, now, lease)
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
    pub(super) fn next(&mut self) -> Option<Answer> {
        let completed = self.worker.try_completed()?;
        Some(self.settle(completed))
    }

    /// Changes not answered yet.
    pub(super) fn in_flight(&self) -> usize {
        self.worker.in_flight()
    }

    /// At stop: waits (bounded) for what is in flight.
    pub(super) fn wait_idle(&mut self, deadline: Instant) -> Vec<Answer> {
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
        change: NetChange,
        purpose: Purpose,
        result: io::Result<()>,
        took: Duration,
    ) -> Answer {
        let change = match change {
            NetChange::Address(change) => change,
            other => {
                return Answer::Route(RouteDone {
                    change: other,
                    holder: purpose.holder,
                    result,
                    took,
                })
            }
        };
        let first_add = matches!(change.kind, ChangeKind::Add { .. }) && !purpose.renew;
        let (released, dropped) = self.take_parked(key(&change), first_add, result.is_ok());
        Answer::Address(Done {
            change,
            purpose,
            result,
            took,
            released,
            dropped,
        })
    }

    fn settle(&mut self, completed: Completed) -> Answer {
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
        let change = match change {
            NetChange::Address(change) => change,
            other => {
                return Answer::Route(RouteDone {
                    change: other,
                    holder: purpose.holder,
                    result,
                    took,
                })
            }
        };
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
        Answer::Address(Done {
            change,
            purpose,
            result,
            took,
            released,
            dropped,
        })
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

/// When an instance renews its lease next: a quarter of the lease from `now` (at least
/// 500 ms), rounded up to the next point of a grid of twelfths of the lease counted from
/// `epoch`, so between a quarter and a third of the lease. The grid batches renewals: the
/// instances due in one slot are handed to the worker in one loop turn, and the worker makes
/// them back to back instead of waking (and waking the loop) once per address.
pub(super) fn renew_at(epoch: Instant, now: Instant, lease: Duration) -> Instant {
    let earliest = now + (lease / 4).max(Duration::from_millis(500));
    let slot = (lease / 12).max(Duration::from_millis(100));
    let since = earliest.saturating_duration_since(epoch).as_nanos();
    let slot_ns = slot.as_nanos().max(1);
    let slots = since.div_ceil(slot_ns);
    let offset = slots.saturating_mul(slot_ns);
    epoch + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::testns::{in_new_netns, veth_pair, PROMPT};
    use std::net::Ipv4Addr;

    fn add(ifindex: u32, last: u8) -> AddressChange {
        AddressChange {
            ifindex,
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
            prefix_len: 32,
            kind: ChangeKind::Add {
                label: None,
                lifetime: None,
                scope: 0,
                broadcast: None,
                deprecated: false,
                flags: 0,
                preferred: None,
                replace: true,
            },
        }
    }

    fn first(holder: &str) -> Purpose {
        Purpose {
            holder: holder.into(),
            renew: false,
        }
    }

    fn parked() -> Parked {
        Parked {
            count: 5,
            interval: Duration::ZERO,
            owner: "VI_1".into(),
        }
    }

    fn wait_next(changes: &mut VipChanges) -> Done {
        let deadline = Instant::now() + PROMPT;
        loop {
            if let Some(answer) = changes.next() {
                let Answer::Address(done) = answer else {
                    panic!("a route answer where an address one was expected: {answer:?}");
                };
                return done;
            }
            assert!(Instant::now() < deadline, "no answer from the worker");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn announcements_wait_for_the_add_and_go_or_are_dropped_with_its_answer() {
        in_new_netns(|| {
            let mut nl = RequestSocket::open().unwrap();
            let (a, _b) = veth_pair(&mut nl, "kvP0", "kvP1", 1, 2);
            let poll = mio::Poll::new().unwrap();
            let waker = Arc::new(Waker::new(poll.registry(), mio::Token(9)).unwrap());
            let mut changes = VipChanges::spawn(waker).unwrap();

            // An add that succeeds releases what waited for it.
            let change = add(a.ifindex, 50);
            let addr = change.addr;
            changes.submit(change, first("VI_1")).unwrap();
            assert!(changes.is_adding(a.ifindex, addr));
            changes.park(a.ifindex, addr, parked());
            let done = wait_next(&mut changes);
            assert!(done.result.is_ok());
            assert_eq!(done.released, vec![parked()]);
            assert!(done.dropped.is_empty());
            assert!(!changes.is_adding(a.ifindex, addr));

            // One that fails gives its announcements up.
            let change = add(999_999, 51);
            let addr = change.addr;
            changes.submit(change, first("VI_1")).unwrap();
            changes.park(999_999, addr, parked());
            let done = wait_next(&mut changes);
            assert!(done.result.is_err());
            assert!(done.released.is_empty());
            assert_eq!(done.dropped, vec![parked()]);

            // A renewal is not an add anything waits for, and is tracked per holder.
            let renewal = Purpose {
                holder: "VI_2".into(),
                renew: true,
            };
            let change = add(a.ifindex, 50);
            let addr = change.addr;
            changes.submit(change, renewal).unwrap();
            assert!(changes.is_renewing("VI_2"));
            assert!(!changes.is_adding(a.ifindex, addr));
            let done = wait_next(&mut changes);
            assert!(done.purpose.renew && done.result.is_ok());
            assert!(!changes.is_renewing("VI_2"));
            assert_eq!(changes.in_flight(), 0);
        });
    }

    #[test]
    fn a_route_submitted_after_its_source_address_lands_after_it() {
        in_new_netns(|| {
            let mut nl = RequestSocket::open().unwrap();
            let (a, _b) = veth_pair(&mut nl, "kvQ0", "kvQ1", 1, 2);
            let poll = mio::Poll::new().unwrap();
            let waker = Arc::new(Waker::new(poll.registry(), mio::Token(9)).unwrap());
            let mut changes = VipChanges::spawn(waker).unwrap();
            let vip = add(a.ifindex, 100);
            let route = crate::io::netlink::RouteSpec {
                dst: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 0)),
                dst_len: 24,
                kind: crate::io::netlink::RTN_UNICAST,
                src: Some(vip.addr),
                via: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254))),
                oif: Some(a.ifindex),
                scope: None,
                table: 100,
                metric: None,
                protocol: 18,
                onlink: false,
            };
            // Queued back to back: the route's `src` only exists once the add before it ran.
            changes.submit(vip, first("VI_1")).unwrap();
            changes
                .submit_route(NetChange::AddRoute(route.clone()), "VI_1")
                .unwrap();
            assert!(wait_next(&mut changes).result.is_ok());
            let deadline = Instant::now() + PROMPT;
            let answer = loop {
                if let Some(answer) = changes.next() {
                    break answer;
                }
                assert!(Instant::now() < deadline, "no answer from the worker");
                std::thread::sleep(Duration::from_millis(1));
            };
            let Answer::Route(done) = answer else {
                panic!("expected the route's answer, got {answer:?}");
            };
            assert_eq!(done.holder, "VI_1");
            assert_eq!(done.change, NetChange::AddRoute(route));
            assert!(done.result.is_ok(), "{:?}", done.result);
            assert_eq!(changes.in_flight(), 0);
        });
    }

    #[test]
    fn renewals_fall_between_a_quarter_and_a_third_of_the_lease_on_a_shared_grid() {
        let epoch = Instant::now();
        let lease = Duration::from_secs(60);
        let mut slots = std::collections::BTreeSet::new();
        for ms in (0..10_000).step_by(7) {
            let now = epoch + Duration::from_millis(ms);
            let at = renew_at(epoch, now, lease);
            let period = at - now;
            assert!(period >= lease / 4 && period <= lease / 3, "{period:?}");
            assert_eq!((at - epoch).as_nanos() % (lease / 12).as_nanos(), 0);
            slots.insert(at);
        }
        // 10 s of installs share the few slots 5 s apart.
        assert!(slots.len() <= 3, "{slots:?}");
        let short = renew_at(epoch, epoch, Duration::from_secs(1));
        assert!(short - epoch >= Duration::from_millis(500));
        assert!(short - epoch <= Duration::from_millis(600));
    }
}
