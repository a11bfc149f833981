//! Pacing of gratuitous ARPs and unsolicited NAs (`garp_interval` / `gna_interval`).
//!
//! Pure and clock-free: the daemon asks for frames with [`AnnounceQueue::request`], sends what
//! [`AnnounceQueue::pop_due`] hands out, and sleeps until [`AnnounceQueue::poll_timeout`], so a
//! paced burst never blocks the event loop.
//!
//! Like keepalived, pacing is per interface and per kind: one *lane* per (interface, ARP or NA).
//! After a frame leaves a lane, the lane stays closed for that frame's interval, whichever
//! instance or address it belonged to; with interval zero a whole burst leaves at once. Within a
//! lane, addresses take turns (one frame each, round robin), as keepalived's bursts go "every
//! address once, then again".
//!
//! A new request for an address that still has frames pending in its lane is merged, not
//! queued behind: the entry keeps its place and the count of frames still to send becomes the
//! larger of the two, with the newer interval. A request means "send N frames from now on", and
//! frames already pending are sent after now just the same, so they count towards it. This
//! keeps the queue bounded when requests arrive faster than frames can leave (a lower-priority
//! master advertising every 10 ms asks for a burst at each advert), and it never delays a frame
//! that was already due. keepalived instead keeps a single pending flag per address, so that
//! with an interval its burst of N shrinks to two frames; keepvip sends all N.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Gratuitous ARP (IPv4) and unsolicited NA (IPv6) are paced separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnnounceKind {
    Arp,
    Na,
}

impl AnnounceKind {
    pub fn of(addr: &IpAddr) -> AnnounceKind {
        match addr {
            IpAddr::V4(_) => AnnounceKind::Arp,
            IpAddr::V6(_) => AnnounceKind::Na,
        }
    }
}

/// One frame to send now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueFrame {
    pub ifindex: u32,
    pub addr: IpAddr,
    /// The instance that asked (for logs).
    pub owner: String,
}

#[derive(Debug)]
struct Pending {
    addr: IpAddr,
    remaining: u32,
    interval: Duration,
    owner: String,
}

#[derive(Debug)]
struct Lane {
    /// No frame leaves this lane before this instant (the last frame plus its interval).
    open_at: Instant,
    /// The front entry sends next.
    pending: VecDeque<Pending>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct AnnounceQueue {
    lanes: BTreeMap<(u32, AnnounceKind), Lane>,
}

impl AnnounceQueue {
    pub fn new() -> AnnounceQueue {
        AnnounceQueue::default()
    }

    /// Asks for `count` frames announcing `addr` on `ifindex`, at least `interval` apart from
    /// any other frame of its kind on that interface. Merges with frames already pending for
    /// the address (see the module documentation).
    pub fn request(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        count: u32,
        interval: Duration,
        owner: &str,
        now: Instant,
    ) {
        if count == 0 {
            return;
        }
        let lane = self
            .lanes
            .entry((ifindex, AnnounceKind::of(&addr)))
            .or_insert_with(|| Lane {
                open_at: now,
                pending: VecDeque::new(),
            });
        match lane.pending.iter_mut().find(|p| p.addr == addr) {
            Some(pending) => {
                pending.remaining = pending.remaining.max(count);
                pending.interval = interval;
            }
            None => lane.pending.push_back(Pending {
                addr,
                remaining: count,
                interval,
                owner: owner.to_string(),
            }),
        }
    }

    /// Drops the frames still pending for `addr` on `ifindex` (the address was removed);
    /// returns how many were dropped.
    pub fn cancel(&mut self, ifindex: u32, addr: IpAddr) -> u32 {
        let Some(lane) = self.lanes.get_mut(&(ifindex, AnnounceKind::of(&addr))) else {
            return 0;
        };
        let mut dropped = 0;
        lane.pending.retain(|p| {
            let keep = p.addr != addr;
            if !keep {
                dropped += p.remaining;
            }
            keep
        });
        dropped
    }

    /// Drops everything pending on `ifindex` (the interface went away).
    pub fn cancel_interface(&mut self, ifindex: u32) {
        self.lanes.retain(|(index, _), _| *index != ifindex);
    }

    /// Frames still to send for `addr` on `ifindex`.
    #[cfg(test)]
    pub fn pending(&self, ifindex: u32, addr: IpAddr) -> u32 {
        self.lanes
            .get(&(ifindex, AnnounceKind::of(&addr)))
            .and_then(|lane| lane.pending.iter().find(|p| p.addr == addr))
            .map_or(0, |p| p.remaining)
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.lanes.values().all(|lane| lane.pending.is_empty())
    }

    /// When the next frame is due; `None` when nothing is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.lanes
            .values()
            .filter(|lane| !lane.pending.is_empty())
            .map(|lane| lane.open_at)
            .min()
    }

    /// The next frame to send at `now` (the caller sends it right away), or `None` when every
    /// lane is empty or still closed. Call it until it returns `None`.
    pub fn pop_due(&mut self, now: Instant) -> Option<DueFrame> {
        // An empty lane that has reopened remembers nothing worth keeping.
        self.lanes
            .retain(|_, lane| !lane.pending.is_empty() || lane.open_at > now);
        let (&(ifindex, _), lane) = self
            .lanes
            .iter_mut()
            .find(|(_, lane)| !lane.pending.is_empty() && lane.open_at <= now)?;
        let mut sent = lane.pending.pop_front()?;
        lane.open_at = now + sent.interval;
        sent.remaining = sent.remaining.saturating_sub(1);
        let frame = DueFrame {
            ifindex,
            addr: sent.addr,
            owner: sent.owner.clone(),
        };
        if sent.remaining > 0 {
            lane.pending.push_back(sent);
        }
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const MS: Duration = Duration::from_millis(1);

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn v6(last: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
    }

    /// Drives the queue like the daemon does, in virtual time, until `end`: every frame with
    /// the instant (relative to `start`) it left.
    fn run(
        queue: &mut AnnounceQueue,
        start: Instant,
        end: Instant,
    ) -> Vec<(Duration, u32, IpAddr)> {
        let mut sent = Vec::new();
        let mut now = start;
        loop {
            while let Some(frame) = queue.pop_due(now) {
                sent.push((now - start, frame.ifindex, frame.addr));
            }
            match queue.poll_timeout() {
                Some(at) if at <= end => {
                    assert!(at > now, "poll_timeout must move forward");
                    now = at;
                }
                _ => return sent,
            }
        }
    }

    #[test]
    fn zero_interval_sends_the_whole_burst_at_once_round_robin() {
        let start = Instant::now();
        let mut queue = AnnounceQueue::new();
        queue.request(2, v4(1), 2, Duration::ZERO, "VI_1", start);
        queue.request(2, v4(2), 2, Duration::ZERO, "VI_1", start);
        let sent = run(&mut queue, start, start + MS * 10);
        assert_eq!(
            sent,
            vec![
                (Duration::ZERO, 2, v4(1)),
                (Duration::ZERO, 2, v4(2)),
                (Duration::ZERO, 2, v4(1)),
                (Duration::ZERO, 2, v4(2)),
            ]
        );
        assert!(queue.is_empty());
        assert_eq!(queue.poll_timeout(), None);
    }

    #[test]
    fn interval_spaces_frames_of_one_lane() {
        let start = Instant::now();
        let mut queue = AnnounceQueue::new();
        queue.request(2, v4(1), 3, MS * 200, "VI_1", start);
        let sent = run(&mut queue, start, start + MS * 5000);
        let times: Vec<Duration> = sent.iter().map(|s| s.0).collect();
        assert_eq!(times, vec![Duration::ZERO, MS * 200, MS * 400]);
        // Two addresses share the lane: the interval is between any two frames of it.
        queue.request(2, v4(1), 2, MS * 100, "VI_1", start + MS * 1000);
        queue.request(2, v4(2), 2, MS * 100, "VI_1", start + MS * 1000);
        let sent = run(&mut queue, start + MS * 1000, start + MS * 5000);
        assert_eq!(
            sent,
            vec![
                (Duration::ZERO, 2, v4(1)),
                (MS * 100, 2, v4(2)),
                (MS * 200, 2, v4(1)),
                (MS * 300, 2, v4(2)),
            ]
        );
    }

    #[test]
    fn lanes_are_independent_per_interface_and_kind() {
        let start = Instant::now();
        let mut queue = AnnounceQueue::new();
        queue.request(2, v4(1), 2, MS * 100, "A", start);
        queue.request(3, v4(1), 2, MS * 300, "B", start);
        queue.request(2, v6(1), 2, MS * 50, "A", start);
        let sent = run(&mut queue, start, start + MS * 5000);
        let lane = |ifindex: u32, kind: AnnounceKind| -> Vec<Duration> {
            sent.iter()
                .filter(|s| s.1 == ifindex && AnnounceKind::of(&s.2) == kind)
                .map(|s| s.0)
                .collect()
        };
        assert_eq!(lane(2, AnnounceKind::Arp), vec![Duration::ZERO, MS * 100]);
        assert_eq!(lane(3, AnnounceKind::Arp), vec![Duration::ZERO, MS * 300]);
        assert_eq!(lane(2, AnnounceKind::Na), vec![Duration::ZERO, MS * 50]);
    }

    #[test]
    fn a_lane_stays_closed_after_its_burst_ends() {
        let start = Instant::now();
        let mut queue = AnnounceQueue::new();
        queue.request(2, v4(1), 1, MS * 200, "VI_1", start);
        assert_eq!(run(&mut queue, start, start).len(), 1);
        // A new request 50 ms later still waits for the interval after the last frame.
        let later = start + MS * 50;
        queue.request(2, v4(2), 1, MS * 200, "VI_1", later);
        assert_eq!(queue.pop_due(later), None);
        assert_eq!(queue.poll_timeout(), Some(start + MS * 200));
        let sent = run(&mut queue, later, start + MS * 1000);
        assert_eq!(sent, vec![(MS * 150, 2, v4(2))]);
    }

    #[test]
    fn a_newer_request_merges_keeping_its_place_and_the_larger_count() {
        let start = Instant::now();
        let mut queue = AnnounceQueue::new();
        queue.request(2, v4(1), 5, MS * 100, "VI_1", start);
        queue.request(2, v4(2), 1, MS * 100, "VI_1", start);
        // v4(1) leaves at 0; v4(2) is next in line.
        assert_eq!(queue.pop_due(start).map(|f| f.addr), Some(v4(1)));
        assert_eq!(queue.pending(2, v4(1)), 4);
        // A burst of 3 for v4(1): 4 are still to go, so nothing is added and nothing jumps ahead.
        queue.request(2, v4(1), 3, MS * 100, "VI_1", start + MS * 10);
        assert_eq!(queue.pending(2, v4(1)), 4);
        // A burst of 6 raises it to 6, with the newer interval.
        queue.request(2, v4(1), 6, MS * 50, "VI_1", start + MS * 20);
        assert_eq!(queue.pending(2, v4(1)), 6);
        let sent = run(&mut queue, start + MS * 20, start + MS * 5000);
        let order: Vec<IpAddr> = sent.iter().map(|s| s.2).collect();
        assert_eq!(order[0], v4(2), "the merged entry did not jump the queue");
        assert_eq!(order.iter().filter(|a| **a == v4(1)).count(), 6);
        // After v4(2) (interval 100 ms) the lane reopens at 100 ms; then 50 ms apart.
        let times: Vec<Duration> = sent.iter().map(|s| s.0).collect();
        assert_eq!(times[0], MS * 80);
        assert_eq!(times[1], MS * 180);
        assert_eq!(times[2], MS * 230);
    }

    #[test]
    fn repeated_requests_stay_bounded() {
        let start = Instant::now();
        let mut queue = AnnounceQueue::new();
        // A lower-priority master every 10 ms asking for 5 frames 100 ms apart, for 2 s.
        let mut now = start;
        let mut sent = 0;
        while now < start + MS * 2000 {
            queue.request(2, v4(1), 5, MS * 100, "VI_1", now);
            assert!(queue.pending(2, v4(1)) <= 5);
            while queue.pop_due(now).is_some() {
                sent += 1;
            }
            now += MS * 10;
        }
        assert_eq!(sent, 20, "one frame per interval, never a flood");
    }

    #[test]
    fn cancelling_drops_only_that_address_or_interface() {
        let start = Instant::now();
        let mut queue = AnnounceQueue::new();
        queue.request(2, v4(1), 3, MS * 100, "VI_1", start);
        queue.request(2, v4(2), 3, MS * 100, "VI_1", start);
        queue.request(3, v4(3), 3, MS * 100, "VI_2", start);
        assert_eq!(queue.pop_due(start).map(|f| f.addr), Some(v4(1)));
        assert_eq!(queue.cancel(2, v4(1)), 2);
        assert_eq!(queue.cancel(2, v4(1)), 0);
        assert_eq!(queue.cancel(9, v4(1)), 0);
        queue.cancel_interface(3);
        let sent = run(&mut queue, start, start + MS * 5000);
        assert!(sent.iter().all(|s| s.2 == v4(2)), "{sent:?}");
        assert_eq!(sent.len(), 3);
        assert!(queue.is_empty());
    }

    #[test]
    fn zero_counts_and_owners() {
        let start = Instant::now();
        let mut queue = AnnounceQueue::new();
        queue.request(2, v4(1), 0, MS, "VI_1", start);
        assert!(queue.is_empty());
        assert_eq!(queue.poll_timeout(), None);
        queue.request(2, v6(1), 1, MS, "VI_6", start);
        assert_eq!(
            queue.pop_due(start),
            Some(DueFrame {
                ifindex: 2,
                addr: v6(1),
                owner: "VI_6".into()
            })
        );
    }
}
