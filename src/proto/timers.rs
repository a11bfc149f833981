//! VRRP timer arithmetic (RFC 9568 §6.1, RFC 3768 §6.1), exact in integer nanoseconds.
//!
//! v3 divides the interval by 256 in its own unit; v2 uses whole-second intervals and a skew of
//! (256 - priority) / 256 s. Nanoseconds keep v2's fraction exact (3 + 156/256 s at priority 100)
//! and v3's to well under a microsecond.

use std::time::{Duration, Instant};

use crate::wire::{Centis, Version};

const NANOS_PER_CENTI: u64 = 10_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Skew_Time for a router of `priority` whose master advertises every `master_interval`.
pub fn skew_time(version: Version, priority: u8, master_interval: Centis) -> Duration {
    let weight = 256 - u64::from(priority);
    let nanos = match version {
        Version::V3 => weight * u64::from(master_interval.0) * NANOS_PER_CENTI / 256,
        Version::V2 => weight * NANOS_PER_SEC / 256,
    };
    Duration::from_nanos(nanos)
}

/// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time.
pub fn master_down_interval(version: Version, priority: u8, master_interval: Centis) -> Duration {
    master_down_interval_n(3, version, priority, master_interval)
}

/// keepalived's `down_timer_adverts`: `adverts` × Master_Adver_Interval + Skew_Time (3 in the
/// RFCs; every router of the virtual router must use the same).
pub fn master_down_interval_n(
    adverts: u8,
    version: Version,
    priority: u8,
    master_interval: Centis,
) -> Duration {
    master_interval.as_duration() * u32::from(adverts)
        + skew_time(version, priority, master_interval)
}

/// keepalived's shortcut for an instance configured `state MASTER` (not the owner): it starts as
/// backup but waits only one interval plus the minimal skew (that of priority 255) before taking
/// over, instead of a whole Master_Down_Interval.
pub fn initial_master_wait(version: Version, master_interval: Centis) -> Duration {
    master_interval.as_duration() + skew_time(version, 255, master_interval)
}

/// The longest delay an [`InstanceConfig`](super::InstanceConfig) may hold (preempt_delay, the
/// announcement delays and refresh period): u32::MAX seconds, about 136 years, the largest the
/// configuration accepts.
pub const MAX_DELAY: Duration = Duration::from_secs(u32::MAX as u64);

/// The most a master's advert may leave before its Adver_Timer expires ([`advert_slack`]).
pub const MAX_ADVERT_SLACK: Duration = Duration::from_millis(1);

/// How early a master may send an advert that is due: a hundredth of the interval, at most
/// [`MAX_ADVERT_SLACK`]. It lets an agent running many instances send all the adverts due
/// within the same millisecond from one wake-up instead of one wake-up each (at 1,000
/// instances every 100 ms that is most of the cost of a master). A backup only ever hears an
/// advert this much early, which shortens one gap by at most 1 %; its Master_Down_Interval is
/// three intervals and a skew. Timers that decide a take-over (Master_Down_Timer) never fire
/// early.
pub fn advert_slack(interval: Duration) -> Duration {
    (interval / 100).min(MAX_ADVERT_SLACK)
}

/// `now + after`, or the latest instant that can be represented if that overflows (a deadline
/// that far away never comes). Never panics.
pub fn deadline(now: Instant, after: Duration) -> Instant {
    if let Some(at) = now.checked_add(after) {
        return at;
    }
    // Binary search for the largest addable duration: at most ~96 halvings of a Duration.
    let (mut fits, mut overflows) = (Duration::ZERO, after);
    while overflows.saturating_sub(fits) > Duration::from_nanos(1) {
        let mid = fits.saturating_add(overflows.saturating_sub(fits) / 2);
        if now.checked_add(mid).is_some() {
            fits = mid;
        } else {
            overflows = mid;
        }
    }
    now.checked_add(fits).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advert_slack_is_a_hundredth_of_the_interval_and_at_most_a_millisecond() {
        assert_eq!(
            advert_slack(Duration::from_millis(20)),
            Duration::from_micros(200)
        );
        assert_eq!(
            advert_slack(Duration::from_millis(100)),
            Duration::from_millis(1)
        );
        assert_eq!(advert_slack(Duration::from_secs(1)), MAX_ADVERT_SLACK);
        assert_eq!(advert_slack(Duration::from_secs(40)), MAX_ADVERT_SLACK);
        assert_eq!(
            advert_slack(Duration::from_millis(10)),
            Duration::from_micros(100)
        );
    }

    #[test]
    fn deadline_adds_or_saturates_at_the_end_of_time() {
        let now = Instant::now();
        assert_eq!(
            deadline(now, Duration::from_secs(3)),
            now + Duration::from_secs(3)
        );
        let end = deadline(now, Duration::MAX);
        assert!(end > now + MAX_DELAY);
        assert_eq!(
            end.checked_add(Duration::from_nanos(1)),
            None,
            "the last instant"
        );
        assert_eq!(deadline(end, Duration::from_secs(1)), end);
        assert_eq!(deadline(end, Duration::ZERO), end);
    }

    #[test]
    fn v2_skew_keeps_the_fraction() {
        // 156/256 s = 0.609375 s exactly.
        assert_eq!(
            skew_time(Version::V2, 100, Centis(100)),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            master_down_interval(Version::V2, 100, Centis(100)),
            Duration::from_micros(3_609_375)
        );
    }

    #[test]
    fn v2_skew_ignores_the_interval() {
        // RFC 3768: Skew_Time = (256 - Priority) / 256 seconds, whatever the interval.
        assert_eq!(
            skew_time(Version::V2, 200, Centis(500)),
            skew_time(Version::V2, 200, Centis(100))
        );
        assert_eq!(
            master_down_interval(Version::V2, 200, Centis(500)),
            Duration::from_nanos(15_000_000_000 + 56 * NANOS_PER_SEC / 256)
        );
    }

    #[test]
    fn v3_skew_scales_with_the_interval() {
        // 100 ms at priority 100: 156 × 100 ms / 256 = 60.9375 ms.
        assert_eq!(
            skew_time(Version::V3, 100, Centis(10)),
            Duration::from_micros(60_937) + Duration::from_nanos(500)
        );
        assert_eq!(
            master_down_interval(Version::V3, 100, Centis(10)),
            Duration::from_micros(360_937) + Duration::from_nanos(500)
        );
        // The smallest interval, 10 ms, priority 1: 255 × 10 ms / 256.
        assert_eq!(
            skew_time(Version::V3, 1, Centis(1)),
            Duration::from_nanos(255 * 10_000_000 / 256)
        );
    }

    #[test]
    fn owner_skew_is_smallest_and_never_zero_for_nonzero_interval() {
        for version in [Version::V2, Version::V3] {
            let owner = skew_time(version, 255, Centis(100));
            assert!(owner > Duration::ZERO);
            assert!(owner < skew_time(version, 254, Centis(100)));
        }
    }

    #[test]
    fn initial_master_wait_is_one_interval_plus_minimal_skew() {
        assert_eq!(
            initial_master_wait(Version::V3, Centis(100)),
            Duration::from_millis(1000) + Duration::from_nanos(1_000_000_000 / 256)
        );
        assert_eq!(
            initial_master_wait(Version::V2, Centis(100)),
            Duration::from_nanos(1_000_000_000 + 1_000_000_000 / 256)
        );
    }

    #[test]
    fn largest_values_do_not_overflow() {
        let d = master_down_interval(Version::V3, 1, Centis::V3_MAX);
        assert!(d > Duration::from_secs(122) && d < Duration::from_secs(164));
        let d = master_down_interval(Version::V2, 1, Centis::V2_MAX);
        assert!(d > Duration::from_secs(765));
    }
}
