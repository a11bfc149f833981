//! Gratuitous ARP / unsolicited NA policy on the wire: counts, spacing (garp_interval,
//! gna_interval), the second burst (garp_master_delay) and the lower-priority re-announcement
//! (garp_lower_prio_repeat), as captured with timestamps on the switch.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::FrameCapture;
use support::*;

/// tcpdump timestamps frames on the bridge; the agent stamps its pacing before the send.
const EARLY: Duration = Duration::from_millis(3);
/// How late a paced frame may be on two shared, busy cores.
const LATE: Duration = Duration::from_millis(150);

fn with_globals(conf: &Conf, lines: &str) -> String {
    conf.render()
        .replacen("global_defs {\n", &format!("global_defs {{\n{lines}"), 1)
}

/// Waits until exactly `count` announcements of `addr` by r1 have been captured and no more
/// follow for `quiet`; returns their timestamps.
fn settled_announcements(
    lab: &Lab,
    capture: &FrameCapture,
    addr: &str,
    count: usize,
    within: Duration,
    quiet: Duration,
) -> Vec<Duration> {
    let mac = router_mac(1);
    lab.wait_until(
        &format!("{count} announcements of {addr} from r1"),
        within,
        || capture.announcements(&mac, addr).len() >= count,
    );
    lab.assert_stays(
        &format!("no more than {count} announcements of {addr} from r1"),
        quiet,
        || capture.announcements(&mac, addr).len() == count,
    );
    capture.announcements(&mac, addr)
}

/// Fails unless every gap between consecutive `times` is `interval` (not shorter, a little
/// longer at most).
fn assert_spacing(lab: &Lab, what: &str, times: &[Duration], interval: Duration) {
    for pair in times.windows(2) {
        let gap = pair[1].saturating_sub(pair[0]);
        if gap + EARLY < interval || gap > interval + LATE {
            lab.fail(&format!(
                "{what}: frames {times:?} are {gap:?} apart, expected {interval:?}"
            ));
        }
    }
}

#[test]
fn takeover_garps_follow_repeat_interval_and_master_delay() {
    let lab = Lab::new(1);
    let capture = lab.capture_frames();
    let conf = Conf::v3(200)
        .line("garp_master_repeat 3")
        .line("garp_master_delay 2");
    // The keepalived keyword, globally.
    lab.start_text(1, &with_globals(&conf, "    vrrp_garp_interval 0.2\n"), &[]);
    let times = settled_announcements(
        &lab,
        &capture,
        VIP,
        6,
        conf.master_down_interval() + Duration::from_secs(8),
        Duration::from_millis(1500),
    );
    eprintln!("gratuitous ARPs at {times:?}");
    let interval = Duration::from_millis(200);
    assert_spacing(&lab, "first burst", &times[..3], interval);
    assert_spacing(&lab, "second burst", &times[3..], interval);
    // The second burst starts garp_master_delay after the first, not after the last frame.
    let delay = times[3].saturating_sub(times[0]);
    let expected = Duration::from_secs(2);
    if delay + EARLY < expected || delay > expected + LATE {
        lab.fail(&format!(
            "the second burst began {delay:?} after the first, expected {expected:?}"
        ));
    }
}

#[test]
fn unsolicited_nas_follow_the_instance_gna_interval() {
    let lab = Lab::new(1);
    let capture = lab.capture_frames();
    let vip6 = "2001:db8::100";
    let conf = Conf::v3(200)
        .vips(&["2001:db8::100/64"])
        .line("garp_master_repeat 4")
        .line("garp_master_delay 0")
        .line("gna_interval 0.15");
    // The instance's gna_interval (keepvip extension) overrides the global one.
    lab.start_text(1, &with_globals(&conf, "    vrrp_gna_interval 0.4\n"), &[]);
    lab.wait_until("r1 to hold the IPv6 VIP", Duration::from_secs(8), || {
        lab.has_addr(1, vip6)
    });
    let times = settled_announcements(
        &lab,
        &capture,
        vip6,
        4,
        Duration::from_secs(5),
        Duration::from_millis(1500),
    );
    eprintln!("unsolicited NAs at {times:?}");
    assert_spacing(&lab, "NA burst", &times, Duration::from_millis(150));
}

#[test]
fn master_hearing_a_lower_priority_reannounces_garp_lower_prio_repeat_times() {
    let lab = Lab::new(2);
    let capture = lab.capture_frames();
    let master = Conf::v3(200)
        .line("garp_master_repeat 1")
        .line("garp_master_delay 0")
        .line("garp_lower_prio_repeat 3")
        .line("garp_lower_prio_delay 0")
        .line("garp_interval 0.1");
    lab.start(1, &master);
    lab.wait_until(
        "r1 to take the VIP and announce it once",
        master.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1) && capture.announcements(&router_mac(1), VIP).len() == 1,
    );
    // r2 cannot hear r1, so it becomes master too and advertises priority 100 every second.
    lab.drop_vrrp_from(2, &router_ip(1));
    let mut lower = Conf::v3(100);
    lower.advert_cs = 100;
    lab.start(2, &lower);
    let first_lower = lab.wait_for(
        "r2 (deaf to r1) to advertise priority 100",
        lower.master_down_interval() + Duration::from_secs(4),
        || capture.advert_times(&router_ip(2), 100).first().copied(),
    );
    // Two lower adverts, each answered by its own burst of 3 (r2 adverts are 1 s apart): the
    // third advert closes the window of the second.
    lab.wait_until(
        "r2's third priority-100 advert",
        Duration::from_secs(5),
        || capture.advert_times(&router_ip(2), 100).len() >= 3,
    );
    let adverts = capture.advert_times(&router_ip(2), 100);
    let garps = capture.announcements(&router_mac(1), VIP);
    eprintln!("r2 adverts at {adverts:?}; r1 gratuitous ARPs at {garps:?}");
    let before: Vec<_> = garps.iter().filter(|t| **t < first_lower).collect();
    if before.len() != 1 {
        lab.fail(&format!(
            "r1 sent {} gratuitous ARPs before hearing a lower priority, expected its one takeover ARP",
            before.len()
        ));
    }
    for advert in adverts.iter().take(2) {
        let burst: Vec<Duration> = garps
            .iter()
            .copied()
            .filter(|t| *t >= *advert && *t < *advert + Duration::from_millis(900))
            .collect();
        if burst.len() != 3 {
            lab.fail(&format!(
                "after r2's advert at {advert:?}, r1 sent {} gratuitous ARPs ({burst:?}), expected garp_lower_prio_repeat = 3",
                burst.len()
            ));
        }
        assert_spacing(
            &lab,
            "lower-priority burst",
            &burst,
            Duration::from_millis(100),
        );
        if burst[0] - *advert > LATE {
            lab.fail(&format!(
                "r1's first answer came {:?} after the lower advert",
                burst[0] - *advert
            ));
        }
    }
    if !lab.has_vip(1) {
        lab.fail("r1 (priority 200) lost the VIP to a lower priority");
    }
}
