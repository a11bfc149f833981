//! Address, route and rule changes made off the event loop, by a thread that owns its own
//! [`RequestSocket`].
//!
//! Why a thread rather than a non-blocking socket: the kernel handles an rtnetlink request
//! inside `sendmsg()` itself, under the global `rtnl_lock` mutex, and only then queues the
//! answer. `MSG_DONTWAIT` makes the *reply* optional, not the work: while another process holds
//! RTNL (a flood of address or route changes, a namespace being torn down), a non-blocking
//! `sendmsg()` still sleeps on that mutex. The only way for the loop never to wait on RTNL is
//! for somebody else to make the call.
//!
//! Changes run one at a time in submission order (FIFO), so a delete submitted after an add
//! of the same address lands after it. Each finished change comes back as a [`Completed`] with
//! the tag [`AddressWorker::submit`] returned, and the worker wakes the loop's [`mio::Waker`].

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::Waker;

use netlink_packet_route::RouteNetlinkMessage;

use super::request::{add_address_request, add_outcome, del_address_request, del_outcome};
use super::{AddressOptions, RequestSocket, RouteSpec, RuleSpec};

/// The worker's nice value relative to the loop's: on a busy host the loop's timers must win
/// the CPU over hundreds of renewals (each a few hundred µs of kernel time), which are late by
/// a second with no harm under a lease of tens.
const WORKER_NICE: i32 = 10;

/// Changes sent in one datagram at most (each ~80 bytes: a few KiB, far below the socket's
/// buffer, and a failure report per change fits the receive buffer).
const MAX_BATCH: usize = 64;

/// One address change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressChange {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub kind: ChangeKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// [`RequestSocket::add_address_with`], `replace` = renew an existing address's lifetime.
    Add {
        label: Option<String>,
        lifetime: Option<Duration>,
        scope: u8,
        broadcast: Option<Ipv4Addr>,
        deprecated: bool,
        /// [`AddressOptions::flags`].
        flags: u32,
        /// [`AddressOptions::preferred`].
        preferred: Option<u32>,
        replace: bool,
    },
    /// [`RequestSocket::del_address`].
    Delete,
}

/// Whatever the worker makes: addresses, and routes and rules, which share its queue so that
/// a route submitted after the address it uses as `src` lands after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetChange {
    Address(AddressChange),
    AddRoute(RouteSpec),
    DelRoute(RouteSpec),
    AddRule(RuleSpec),
    DelRule(RuleSpec),
}

impl From<AddressChange> for NetChange {
    fn from(change: AddressChange) -> NetChange {
        NetChange::Address(change)
    }
}

/// A change the kernel answered (or that could not be made).
#[derive(Debug)]
pub struct Completed {
    pub tag: u64,
    pub change: NetChange,
    pub result: io::Result<()>,
    /// From submission to the kernel's answer: queueing plus any wait for RTNL.
    pub took: Duration,
}

pub struct AddressWorker {
    jobs: Option<Sender<Job>>,
    done: Receiver<Completed>,
    cancelled: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    next_tag: u64,
    in_flight: usize,
}

struct Job {
    tag: u64,
    change: NetChange,
    submitted: Instant,
    /// Wake the loop when done even if it succeeded.
    wake: bool,
}

impl AddressWorker {
    /// Starts the thread. `socket` is opened by the caller, so that it belongs to the caller's
    /// network namespace whatever thread uses it.
    pub fn spawn(mut socket: RequestSocket, waker: Arc<Waker>) -> io::Result<AddressWorker> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancelled);
        let thread = std::thread::Builder::new()
            .name("keepvip-netlink".into())
            .spawn(move || {
                if let Err(e) = crate::io::sys::set_current_thread_nice(WORKER_NICE) {
                    log::debug!("the netlink worker keeps the loop's priority: {e}");
                }
                while let Ok(first) = job_rx.recv() {
                    // Whatever else is queued goes in the same datagram (renewals are
                    // submitted in groups: see `daemon::vip_changes`).
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match job_rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let results = if stop.load(Ordering::Relaxed) {
                        batch
                            .iter()
                            .map(|_| Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled")))
                            .collect()
                    } else {
                        let changes: Vec<&NetChange> = batch.iter().map(|j| &j.change).collect();
                        apply_net_changes(&mut socket, &changes)
                    };
                    let mut wake = false;
                    for (job, result) in batch.into_iter().zip(results) {
                        wake |= job.wake || result.is_err();
                        let completed = Completed {
                            tag: job.tag,
                            change: job.change,
                            result,
                            took: job.submitted.elapsed(),
                        };
                        if done_tx.send(completed).is_err() {
                            return;
                        }
                    }
                    // Without a wake (or if it fails) the completion waits for the loop's next
                    // turn, which collects whatever is there.
                    if wake {
                        let _ = waker.wake();
                    }
                }
            })?;
        Ok(AddressWorker {
            jobs: Some(jobs),
            done,
            cancelled,
            thread: Some(thread),
            next_tag: 0,
            in_flight: 0,
        })
    }

    /// Queues a change; returns its tag, or the change back if the thread is gone (the caller
    /// then makes it itself). With `wake` false a success does not wake the loop (a failure
    /// always does): the caller collects it with [`try_completed`](Self::try_completed) later.
    pub fn submit(&mut self, change: impl Into<NetChange>, wake: bool) -> Result<u64, NetChange> {
        let change = change.into();
        let tag = self.next_tag;
        let job = Job {
            tag,
            change,
            submitted: Instant::now(),
            wake,
        };
        let Some(jobs) = &self.jobs else {
            return Err(job.change);
        };
        match jobs.send(job) {
            Ok(()) => {
                self.next_tag = self.next_tag.wrapping_add(1);
                self.in_flight += 1;
                Ok(tag)
            }
            Err(mpsc::SendError(job)) => {
                self.jobs = None;
                Err(job.change)
            }
        }
    }

    /// A finished change, if one is waiting.
    pub fn try_completed(&mut self) -> Option<Completed> {
        let completed = self.done.try_recv().ok()?;
        self.in_flight = self.in_flight.saturating_sub(1);
        Some(completed)
    }

    /// Changes submitted and not yet handed back by [`try_completed`](Self::try_completed).
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Waits until every submitted change is answered or `deadline` passes; returns what came
    /// back meanwhile.
    pub fn wait_idle(&mut self, deadline: Instant) -> Vec<Completed> {
        let mut completed = Vec::new();
        while self.in_flight > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.done.recv_timeout(left) {
                Ok(c) => {
                    self.in_flight -= 1;
                    completed.push(c);
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        completed
    }

    /// Changes still queued come back failed ("cancelled") instead of being made; the one the
    /// thread is making finishes. For a last sweep that must not race queued adds.
    pub fn cancel_queued(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether the thread has exited (it only does when it cannot report any more).
    pub fn is_dead(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for AddressWorker {
    fn drop(&mut self) {
        // The thread ends once its queue is empty; never wait for it here (RTNL may be held).
        self.jobs = None;
        self.cancelled.store(true, Ordering::Relaxed);
        drop(self.thread.take());
    }
}

/// Makes one change of any kind with `socket`.
pub fn apply_net_change(socket: &mut RequestSocket, change: &NetChange) -> io::Result<()> {
    match change {
        NetChange::Address(change) => apply_change(socket, change),
        NetChange::AddRoute(route) => socket.add_route(route),
        NetChange::DelRoute(route) => socket.del_route(route),
        NetChange::AddRule(rule) => socket.add_rule(rule),
        NetChange::DelRule(rule) => socket.del_rule(rule),
    }
}

/// Makes `changes` in order: each run of address changes in one datagram
/// ([`apply_changes`]), routes and rules one by one.
pub fn apply_net_changes(
    socket: &mut RequestSocket,
    changes: &[&NetChange],
) -> Vec<io::Result<()>> {
    let mut results = Vec::with_capacity(changes.len());
    let mut run: Vec<&AddressChange> = Vec::new();
    for change in changes {
        if let NetChange::Address(address) = change {
            run.push(address);
            continue;
        }
        results.extend(apply_changes(socket, &run));
        run.clear();
        results.push(apply_net_change(socket, change));
    }
    results.extend(apply_changes(socket, &run));
    results
}

/// Makes `changes` in order with one datagram ([`RequestSocket::request_batch`]); each
/// outcome is what [`apply_change`] would have returned for it.
pub fn apply_changes(
    socket: &mut RequestSocket,
    changes: &[&AddressChange],
) -> Vec<io::Result<()>> {
    let mut results: Vec<Option<io::Result<()>>> = Vec::with_capacity(changes.len());
    let mut requests = Vec::with_capacity(changes.len());
    let mut sent = Vec::with_capacity(changes.len());
    for (i, change) in changes.iter().enumerate() {
        match change_request(change) {
            Ok(request) => {
                requests.push(request);
                sent.push(i);
                results.push(None);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    for (i, result) in sent.into_iter().zip(socket.request_batch(requests)) {
        let outcome = match changes.get(i).map(|c| &c.kind) {
            Some(ChangeKind::Delete) => del_outcome(result),
            _ => add_outcome(result),
        };
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(outcome);
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(io::Error::other("netlink: no answer in the batch"))))
        .collect()
}

fn change_request(change: &AddressChange) -> io::Result<(RouteNetlinkMessage, u16)> {
    match &change.kind {
        ChangeKind::Add {
            label,
            lifetime,
            scope,
            broadcast,
            deprecated,
            flags,
            preferred,
            replace,
        } => {
            let options = AddressOptions {
                label: label.as_deref(),
                lifetime: *lifetime,
                scope: *scope,
                broadcast: *broadcast,
                deprecated: *deprecated,
                flags: *flags,
                preferred: *preferred,
            };
            add_address_request(
                change.ifindex,
                change.addr,
                change.prefix_len,
                &options,
                *replace,
            )
        }
        ChangeKind::Delete => del_address_request(change.ifindex, change.addr, change.prefix_len),
    }
}

/// Makes one change with `socket` (the worker's, or the loop's own if the worker is gone).
pub fn apply_change(socket: &mut RequestSocket, change: &AddressChange) -> io::Result<()> {
    apply_changes(socket, &[change])
        .pop()
        .unwrap_or_else(|| Err(io::Error::other("netlink: no answer")))
}
