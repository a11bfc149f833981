//! A timerfd that wakes the event loop at its next deadline.
//!
//! epoll_wait's own timeout is rounded up to whole milliseconds and, for a normal task, may
//! expire up to 0.1 % of the wait late (3.6 ms on a 3.6 s VRRPv2 down timer, measured by
//! scripts/bench-failover.sh); a timerfd is an hrtimer and fires within microseconds.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

pub struct DeadlineTimer {
    fd: TimerFd,
}

impl DeadlineTimer {
    /// A non-blocking, close-on-exec timer on CLOCK_MONOTONIC (the clock `Instant` uses).
    pub fn new() -> io::Result<DeadlineTimer> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        Ok(DeadlineTimer { fd })
    }

    /// Fires once, `after` from now (a zero wait fires at once rather than disarming).
    pub fn arm_in(&self, after: Duration) -> io::Result<()> {
        let after = after.max(Duration::from_nanos(1));
        self.fd.set(
            Expiration::OneShot(TimeSpec::from_duration(after)),
            TimerSetTimeFlags::empty(),
        )?;
        Ok(())
    }

    pub fn disarm(&self) -> io::Result<()> {
        self.fd.unset()?;
        Ok(())
    }

    /// Clears the readiness after it fired (nothing to clear is fine).
    pub fn acknowledge(&self) {
        let mut expirations = [0u8; 8];
        let _ = nix::unistd::read(self.fd.as_fd(), &mut expirations);
    }
}

impl AsRawFd for DeadlineTimer {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_fd().as_raw_fd()
    }
}

impl_mio_source!(DeadlineTimer);

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Interest, Poll, Token};
    use std::time::Instant;

    #[test]
    fn wakes_a_poll_at_the_deadline_to_well_under_a_millisecond() {
        let mut poll = Poll::new().unwrap();
        let mut timer = DeadlineTimer::new().unwrap();
        poll.registry()
            .register(&mut timer, Token(7), Interest::READABLE)
            .unwrap();
        let mut events = Events::with_capacity(4);
        let wait = Duration::from_micros(2_500);
        let start = Instant::now();
        timer.arm_in(wait).unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let woke = start.elapsed();
        assert!(events.iter().any(|e| e.token() == Token(7)));
        assert!(woke >= wait, "woke early: {woke:?}");
        // Generous for a loaded CI machine; epoll's own timeout would round 2.5 ms up to 3 ms.
        assert!(woke < wait + Duration::from_millis(50), "woke at {woke:?}");
        timer.acknowledge();
        // Disarmed: nothing more arrives.
        timer.disarm().unwrap();
        poll.poll(&mut events, Some(Duration::from_millis(20)))
            .unwrap();
        assert!(events.is_empty());
    }
}
