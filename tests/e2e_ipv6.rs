//! VRRPv3 over IPv6 between two keepvip agents (0.1 s adverts, VIP 2001:db8::100/64): failover
//! after a crash and a link failure moves the client's neighbour entry through the unsolicited
//! Neighbor Advertisement, the VIP is installed without duplicate address detection, and an
//! advert that crossed a router (hop limit below 255) is dropped and counted.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::net::Ipv6Addr;
use std::time::Duration;

use support::vrrp::v6_advert;
use support::*;

const VIP6: &str = "2001:db8::100";
const VIP6_CIDR: &str = "2001:db8::100/64";

fn conf(priority: u8) -> Conf {
    Conf::v3(priority).vips(&[VIP6_CIDR])
}

fn election_deadline(conf: &Conf) -> Duration {
    conf.master_down_interval() + Duration::from_secs(4)
}

fn vip6() -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)
}

/// Fails unless the VIP on `router` carries the `nodad` flag.
fn assert_nodad(lab: &Lab, router: u8) {
    match lab.addr_flags(router, VIP6) {
        Some(flags) if flags.iter().any(|f| f == "nodad") => {}
        other => lab.fail(&format!(
            "r{router}'s {VIP6} should be installed with nodad (IFA_F_NODAD); its flags are {other:?}"
        )),
    }
}

#[test]
fn ipv6_sigkill_and_link_down_move_vip_and_client_neighbour_to_backup() {
    let lab = Lab::new(2);
    let master = conf(200);
    let backup = conf(100);
    lab.start(1, &master);
    lab.wait_until(
        "r1 to hold the IPv6 VIP",
        election_deadline(&master),
        || lab.has_addr(1, VIP6),
    );
    assert_nodad(&lab, 1);
    lab.start(2, &backup);
    lab.assert_stays(
        "r1 alone holds the IPv6 VIP with r2 running",
        backup.master_down_interval() + Duration::from_millis(500),
        || lab.has_addr(1, VIP6) && !lab.has_addr(2, VIP6),
    );

    lab.wait_until(
        "the client's ping to the IPv6 VIP to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP6),
    );
    let before = lab.client_neigh(VIP6);
    if before.as_ref().and_then(|n| n.mac.as_deref()) != Some(router_mac(1).as_str()) {
        lab.fail(&format!(
            "the client's neighbour entry for {VIP6} is {before:?}, expected r1's MAC {}",
            router_mac(1)
        ));
    }

    // A dead host: the agent killed (no priority-0 advert) and its link gone.
    lab.kill(1);
    lab.set_link(1, false);
    let took = lab.wait_until(
        "r2 to take the IPv6 VIP after r1 was killed and cut off",
        election_deadline(&backup),
        || lab.has_addr(2, VIP6),
    );
    eprintln!("r2 holds the IPv6 VIP {took:?} after r1 was reaped and cut off");
    assert_nodad(&lab, 2);
    // The client sends nothing meanwhile (its entry is still REACHABLE, so no probe either):
    // only r2's unsolicited Neighbor Advertisement (Override set) can move the entry.
    lab.wait_until(
        "the client's neighbour entry for the IPv6 VIP to move to r2's MAC (unsolicited NA)",
        Duration::from_secs(3),
        || lab.client_neigh(VIP6).and_then(|n| n.mac) == Some(router_mac(2)),
    );
    lab.wait_until(
        "the client's pings to the IPv6 VIP to resume",
        Duration::from_secs(5),
        || lab.client_ping(VIP6),
    );
    if lab.client_neigh(VIP6).and_then(|n| n.mac) != Some(router_mac(2)) {
        lab.fail("after pinging, the client's entry for the IPv6 VIP is not r2's MAC");
    }
}

/// RFC 9568 5.1.2.3: an advert whose hop limit is not 255 came through a router and must be
/// dropped. The test sends the same higher-priority advert twice from the client: with hop
/// limit 254 the master must ignore it (and count ip_ttl_err); with 255, as a control that the
/// crafted advert is otherwise valid, the master must yield to it.
#[test]
fn ipv6_advert_with_hop_limit_254_is_dropped_and_counted() {
    let lab = Lab::new(1);
    let master = conf(200);
    lab.start(1, &master);
    lab.wait_until("r1 to become master", election_deadline(&master), || {
        lab.has_addr(1, VIP6)
    });
    let before = lab.agent_counters(1, INSTANCE);
    let intruder = v6_advert(VRID, 254, &[vip6()]);

    lab.send_v6_advert_from_client(&intruder, 254);
    let counted = lab.wait_for(
        "r1 to count the hop-limit-254 advert in ip_ttl_err",
        Duration::from_secs(5),
        || {
            let now = lab.agent_counters(1, INSTANCE);
            let ttl_errors = now.get("ip_ttl_err").copied().unwrap_or(0);
            (ttl_errors > before.get("ip_ttl_err").copied().unwrap_or(0)).then_some(now)
        },
    );
    if counted.get("ip_ttl_err") != Some(&1)
        || counted.get("advert_rcvd") != before.get("advert_rcvd")
    {
        lab.fail(&format!(
            "after one hop-limit-254 advert r1 counts {counted:?}; expected ip_ttl_err=1 and \
             advert_rcvd unchanged from {before:?}"
        ));
    }
    lab.assert_stays(
        "r1 stays master after the hop-limit-254 advert",
        master.advert_interval() * 5,
        || lab.has_addr(1, VIP6) && !lab.log_text(1).contains("MASTER -> BACKUP"),
    );

    // Control: the same advert with hop limit 255 is accepted, and priority 254 wins.
    lab.send_v6_advert_from_client(&intruder, 255);
    lab.wait_until(
        "r1 to yield to the hop-limit-255 advert of priority 254",
        Duration::from_secs(5),
        || {
            lab.log_text(1)
                .contains("MASTER -> BACKUP (higher_priority")
        },
    );
    let after = lab.agent_counters(1, INSTANCE);
    if after.get("ip_ttl_err") != Some(&1) {
        lab.fail(&format!(
            "the hop-limit-255 advert changed ip_ttl_err: {after:?}"
        ));
    }
    // The intruder falls silent: r1 takes its VIP back after Master_Down_Interval.
    lab.wait_until(
        "r1 to take the VIP back once the intruder is silent",
        election_deadline(&master),
        || lab.log_text(1).matches("BACKUP -> MASTER").count() >= 2 && lab.has_addr(1, VIP6),
    );
}

/// A storm of junk on the VRRP group (bad checksums, an unknown VRID, runts, random bytes; 20,000
/// packets a second, far above any real VRRP traffic) is dropped and counted; it neither starves
/// the master's adverts nor moves the VIP. (A flood at line rate can out-run any receiver on a
/// 2-core machine running both agents and the flooder; that is a capacity question, measured
/// elsewhere, not a correctness one.)
#[test]
fn a_flood_of_bad_packets_changes_nothing() {
    let lab = Lab::new(2);
    let master = conf(200);
    lab.start(1, &master);
    lab.wait_until(
        "r1 to hold the IPv6 VIP",
        election_deadline(&master),
        || lab.has_addr(1, VIP6),
    );
    lab.start(2, &conf(100));
    lab.wait_until("r2 to settle as backup", Duration::from_secs(5), || {
        lab.log_text(2).contains("-> BACKUP (startup")
    });
    let src = lab.link_local(&lab.client_ns());
    let group = std::net::IpAddr::V6("ff02::12".parse().unwrap_or(Ipv6Addr::UNSPECIFIED));
    let good = v6_advert(51, 250, &[vip6()])
        .to_bytes(
            std::net::IpAddr::V6(src),
            group,
            keepvip::wire::Checksum::PseudoHeader,
        )
        .unwrap_or_default();
    let mut bad_checksum = good.clone();
    if let Some(byte) = bad_checksum.get_mut(6) {
        *byte ^= 0xff;
    }
    let unknown_vrid = v6_advert(99, 250, &[vip6()])
        .to_bytes(
            std::net::IpAddr::V6(src),
            group,
            keepvip::wire::Checksum::PseudoHeader,
        )
        .unwrap_or_default();
    let runt = good.get(..5).unwrap_or_default().to_vec();
    let random: Vec<u8> = (0..40u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let capture = lab.capture_vrrp_timed();
    let sent = lab.flood_v6_from_client(
        &[bad_checksum, unknown_vrid, runt, random],
        20_000,
        Duration::from_secs(2),
    );
    eprintln!("the client sent {sent} junk packets in 2 s");
    if sent < 20_000 {
        lab.fail(&format!(
            "the flood was too thin to prove anything ({sent} packets)"
        ));
    }
    let from_r1: Vec<_> = capture
        .adverts()
        .into_iter()
        .filter(|a| a.src != src.to_string() && a.priority == 200)
        .collect();
    let worst = from_r1
        .windows(2)
        .map(|w| w[1].since(&w[0]))
        .max()
        .unwrap_or_default();
    if from_r1.len() < 10 || worst > master.master_down_interval() {
        lab.fail(&format!(
            "r1's adverts faltered under the flood: {} adverts, largest gap {worst:?}",
            from_r1.len()
        ));
    }
    for router in [1, 2] {
        if lab.log_text(router).matches(" -> ").count() != 1 + usize::from(router == 1) {
            lab.fail(&format!("r{router} changed state during the flood"));
        }
    }
    let counters = lab.agent_counters(2, INSTANCE);
    let dropped = counters.get("checksum_err").copied().unwrap_or(0)
        + counters.get("packet_len_err").copied().unwrap_or(0);
    if dropped < 100 {
        lab.fail(&format!(
            "r2 did not count the junk it dropped: {counters:?}"
        ));
    }
    // The junk no instance can be charged with is counted by the agent, by reason.
    let status = lab.status_json(2).unwrap_or_default();
    let agent_dropped = |reason: &str| {
        status["agent"]["dropped"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["name"] == reason))
            .and_then(|c| c["value"].as_u64())
            .unwrap_or(0)
    };
    if agent_dropped("unknown_vrid") < 100 || agent_dropped("too_short") < 100 {
        lab.fail(&format!(
            "r2's agent did not count the unattributable junk: {}",
            status["agent"]
        ));
    }
}
