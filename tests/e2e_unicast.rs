//! Unicast mode (`unicast_peer`) on a switch that drops multicast, as clouds do: unicast pairs
//! elect and fail over where multicast pairs cannot, strangers and out-of-range TTLs are dropped
//! and counted, IPv6 works with global peers, and keepalived 2.2.7 is a unicast peer (IPv4 and
//! IPv6).
//! Needs root; see tests/support/mod.rs.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;
use support::*;

/// `unicast_src_ip` of router `me` and a `unicast_peer` block listing `peers` (one line each,
/// options included).
fn unicast_lines(conf: Conf, me: &str, peers: &[&str]) -> Conf {
    let mut block = "unicast_peer {\n".to_string();
    for peer in peers {
        block.push_str(&format!("        {peer}\n"));
    }
    block.push_str("    }");
    conf.line(format!("unicast_src_ip {me}")).line(block)
}

fn election_deadline(conf: &Conf) -> Duration {
    conf.master_down_interval() + Duration::from_secs(4)
}

const SETTLE: Duration = Duration::from_millis(1500);

#[test]
fn unicast_pair_elects_and_fails_over_where_the_switch_drops_multicast() {
    let lab = Lab::new(4);
    lab.drop_multicast();
    // r1/r2: a unicast pair for the usual VIP. r3/r4: a multicast pair for another VIP.
    let master = unicast_lines(Conf::v3(200), "192.0.2.1", &["192.0.2.2"]);
    let backup = unicast_lines(Conf::v3(100), "192.0.2.2", &["192.0.2.1"]);
    const OTHER_VIP: &str = "192.0.2.101";
    lab.start(3, &Conf::v3(200).vips(&["192.0.2.101/24"]));
    lab.start(4, &Conf::v3(100).vips(&["192.0.2.101/24"]));
    lab.start(1, &master);
    lab.wait_until("r1 to hold the VIP", election_deadline(&master), || {
        lab.has_vip(1)
    });
    lab.start(2, &backup);
    lab.wait_until(
        "r3 and r4 (multicast) both to become master",
        election_deadline(&backup),
        || lab.has_addr(3, OTHER_VIP) && lab.has_addr(4, OTHER_VIP),
    );
    lab.assert_stays(
        "r1 alone holds the VIP while the multicast pair stays split",
        SETTLE,
        || lab.only_holder_is(1) && lab.has_addr(3, OTHER_VIP) && lab.has_addr(4, OTHER_VIP),
    );
    let dropped = lab.multicast_dropped();
    if dropped == 0 {
        lab.fail("the switch dropped no multicast: the filter does not work");
    }
    eprintln!("the switch dropped {dropped} multicast packets");
    if lab.agent_counter(2, INSTANCE, "advert_rcvd") == 0 {
        lab.fail("r2 received no unicast advert");
    }

    // Crash: r2 takes over, and its gratuitous ARPs (broadcast) still reach the client.
    lab.wait_until(
        "the client's ping to the VIP to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
    lab.wait_until(
        "the client's entry to be 2 s old (past the ARP locktime)",
        Duration::from_secs(10),
        || {
            lab.client_neigh(VIP)
                .and_then(|n| n.updated_secs)
                .is_some_and(|s| s >= 2)
        },
    );
    lab.kill(1);
    let took = lab.wait_until(
        "r2 to take the VIP after r1 was killed",
        election_deadline(&backup),
        || lab.has_vip(2),
    );
    eprintln!("r2 holds the VIP {took:?} after r1 was reaped");
    lab.wait_until(
        "the client's entry for the VIP to move to r2's MAC (gratuitous ARP)",
        Duration::from_secs(3),
        || lab.client_neigh(VIP).and_then(|n| n.mac) == Some(router_mac(2)),
    );

    // r1 returns and preempts; then it stops cleanly and r2 takes over on its priority 0.
    lab.start(1, &master);
    lab.wait_stable(
        "r1 to preempt r2",
        election_deadline(&master),
        SETTLE,
        || lab.only_holder_is(1),
    );
    lab.terminate(1);
    let (status, _) = lab.wait_exit(1, Duration::from_secs(5));
    if !status.success() {
        lab.fail(&format!("r1 exited with {status} on SIGTERM"));
    }
    lab.wait_until(
        "r2 to take the VIP after r1 stopped",
        election_deadline(&backup),
        || lab.only_holder_is(2),
    );
    if !lab.log_text(2).contains("-> MASTER (priority_zero") {
        lab.fail("r2 did not take over on r1's priority-0 unicast advert");
    }
}

#[test]
fn adverts_from_strangers_and_outside_the_ttl_range_are_dropped_and_counted() {
    let lab = Lab::new(3);
    lab.drop_multicast();
    // r1 sends with TTL 64; r2 accepts 60..=64 from r1.
    let master = unicast_lines(Conf::v3(200), "192.0.2.1", &["192.0.2.2"]).line("unicast_ttl 64");
    let backup = |max_ttl: u8| {
        unicast_lines(
            Conf::v3(100),
            "192.0.2.2",
            &[&format!("192.0.2.1 min_ttl 60 max_ttl {max_ttl}")],
        )
    };
    // r3 is nobody's peer but sends priority 250 to r1 (for a VIP of its own).
    let stranger =
        unicast_lines(Conf::v3(250), "192.0.2.3", &["192.0.2.1"]).vips(&["192.0.2.103/24"]);
    lab.start(1, &master);
    lab.wait_until("r1 to hold the VIP", election_deadline(&master), || {
        lab.has_vip(1)
    });
    lab.start(2, &backup(64));
    lab.start(3, &stranger);
    lab.wait_until(
        "r3 to become master of its own VIP",
        election_deadline(&stranger),
        || lab.has_addr(3, "192.0.2.103"),
    );
    lab.assert_stays(
        "r1 keeps the VIP despite r3's priority 250, r2 stays backup at TTL 64",
        SETTLE,
        || lab.only_holder_is(1),
    );
    let r1 = lab.agent_counters(1, INSTANCE);
    let get = |counters: &BTreeMap<String, u64>, name: &str| {
        counters
            .get(name)
            .copied()
            .unwrap_or_else(|| lab.fail(&format!("no counter {name} in {counters:?}")))
    };
    if get(&r1, "unicast_src_err") < 5 {
        lab.fail(&format!(
            "r1 did not count r3's adverts as strangers: {r1:?}"
        ));
    }
    if !lab
        .log_text(1)
        .contains("dropped an advert from 192.0.2.3, which is not a unicast_peer")
    {
        lab.fail("r1 did not log the stranger");
    }
    let r2 = lab.agent_counters(2, INSTANCE);
    if get(&r2, "advert_rcvd") < 5 || get(&r2, "ip_ttl_err") != 0 {
        lab.fail(&format!(
            "r2 should accept r1's TTL-64 adverts within 60..=64: {r2:?}"
        ));
    }

    // With max_ttl 63, r1's TTL-64 adverts are dropped: r2 becomes master too.
    lab.reload_text(2, &backup(63).render());
    lab.wait_until(
        "r2 to become master once r1's adverts fall outside its TTL range",
        election_deadline(&backup(63)) + Duration::from_secs(2),
        || lab.has_vip(2),
    );
    if lab.agent_counter(2, INSTANCE, "ip_ttl_err") == 0 {
        lab.fail("r2 did not count the out-of-range TTLs");
    }
}

#[test]
fn ipv6_unicast_pair_sends_from_global_addresses_and_elects() {
    let lab = Lab::new(2);
    lab.drop_multicast();
    const VIP6: &str = "2001:db8::100";
    // No unicast_src_ip: with global peers, keepvip sends from its global address, which is
    // what the other router lists (and checks).
    let conf = |priority: u8, peer: &str| {
        Conf::v3(priority)
            .vips(&["2001:db8::100/64"])
            .line(format!("unicast_peer {{\n        {peer}\n    }}"))
    };
    let master = conf(200, "2001:db8::2");
    let backup = conf(100, "2001:db8::1");
    lab.start(1, &master);
    lab.wait_until(
        "r1 to hold the IPv6 VIP",
        election_deadline(&master),
        || lab.has_addr(1, VIP6),
    );
    lab.start(2, &backup);
    lab.assert_stays(
        "r1 alone holds the IPv6 VIP with r2 running",
        SETTLE + backup.master_down_interval(),
        || lab.has_addr(1, VIP6) && !lab.has_addr(2, VIP6),
    );
    let r2 = lab.agent_counters(2, INSTANCE);
    let rcvd = r2.get("advert_rcvd").copied();
    if rcvd.unwrap_or(0) < 5 {
        lab.fail(&format!("r2 should hear r1 by unicast: {r2:?}"));
    }
    lab.kill(1);
    lab.wait_until(
        "r2 to take the IPv6 VIP after r1 was killed",
        election_deadline(&backup),
        || lab.has_addr(2, VIP6),
    );
}

/// keepalived's side of the interop pair: `unicast_src_ip` set, as its IPv6 default
/// (link-local) and keepvip's default source check would not agree.
fn keepalived_conf(priority: u8) -> String {
    format!(
        "global_defs {{\n    vrrp_version 3\n}}\n\
         vrrp_instance {INSTANCE} {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id {VRID}\n    priority {priority}\n    advert_int 0.1\n    \
         unicast_src_ip 192.0.2.2\n    unicast_peer {{\n        192.0.2.1\n    }}\n    \
         virtual_ipaddress {{\n        {VIP_CIDR}\n    }}\n}}\n"
    )
}

#[test]
fn keepvip_and_keepalived_are_unicast_peers() {
    let lab = Lab::new(2);
    lab.drop_multicast();
    let keepvip = |priority: u8| unicast_lines(Conf::v3(priority), "192.0.2.1", &["192.0.2.2"]);
    let keepalived = lab.keepalived(2);
    keepalived.start_text(&keepalived_conf(100));
    lab.wait_until(
        "keepalived on r2 to hold the VIP",
        election_deadline(&Conf::v3(100)) + Duration::from_secs(3),
        || lab.has_vip(2),
    );
    // keepvip at 200 preempts: keepalived accepts its unicast adverts (v3 checksum included).
    lab.start(1, &keepvip(200));
    lab.wait_stable(
        "keepvip on r1 to preempt keepalived",
        election_deadline(&Conf::v3(200)),
        SETTLE,
        || lab.only_holder_is(1),
    );
    lab.kill(1);
    lab.wait_until(
        "keepalived to take the VIP back after keepvip was killed",
        election_deadline(&Conf::v3(100)),
        || lab.has_vip(2),
    );
    // keepvip at 50 stays backup: it accepts keepalived's unicast adverts.
    lab.start(1, &keepvip(50));
    lab.wait_until(
        "keepvip to remove the VIP its killed run left behind",
        Duration::from_secs(5),
        || lab.only_holder_is(2),
    );
    lab.assert_stays(
        "keepalived alone holds the VIP with keepvip at priority 50 running",
        SETTLE + Conf::v3(50).master_down_interval(),
        || lab.only_holder_is(2),
    );
    let counters = lab.agent_counters(1, INSTANCE);
    let value = |name: &str| counters.get(name).copied();
    if value("advert_rcvd").unwrap_or(0) < 5 || value("checksum_err") != Some(0) {
        lab.fail(&format!(
            "keepvip should accept keepalived's adverts: {counters:?}"
        ));
    }
    // keepalived stops: keepvip takes over on its priority-0 advert.
    keepalived.terminate();
    keepalived.wait_exit(Duration::from_secs(10));
    lab.wait_until(
        "keepvip to take the VIP after keepalived stopped",
        election_deadline(&Conf::v3(50)),
        || lab.only_holder_is(1),
    );
    if !lab.log_text(1).contains("-> MASTER (priority_zero") {
        lab.fail("keepvip did not take over on keepalived's priority-0 unicast advert");
    }
    let log = keepalived.log_text();
    if log.contains("checksum") || log.contains("not a unicast peer") {
        lab.fail(&format!(
            "keepalived complained about keepvip's adverts:\n{log}"
        ));
    }
}

#[test]
fn keepvip_and_keepalived_are_ipv6_unicast_peers() {
    let lab = Lab::new(2);
    lab.drop_multicast();
    const VIP6: &str = "2001:db8::100";
    let keepalived_conf = |priority: u8| {
        format!(
            "vrrp_instance {INSTANCE} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {VRID}\n    priority {priority}\n    advert_int 0.1\n    \
             unicast_src_ip 2001:db8::2\n    unicast_peer {{\n        2001:db8::1\n    }}\n    \
             virtual_ipaddress {{\n        2001:db8::100/64\n    }}\n}}\n"
        )
    };
    let keepvip = Conf::v3(100)
        .vips(&["2001:db8::100/64"])
        .line("unicast_peer {\n        2001:db8::2\n    }");
    // keepalived (200) is master; keepvip (100) hears it by unicast and stays backup.
    let keepalived = lab.keepalived(2);
    keepalived.start_text(&keepalived_conf(200));
    lab.wait_until(
        "keepalived on r2 to hold the IPv6 VIP",
        election_deadline(&keepvip) + Duration::from_secs(3),
        || lab.has_addr(2, VIP6),
    );
    lab.start(1, &keepvip);
    lab.assert_stays(
        "keepalived alone holds the IPv6 VIP with keepvip at priority 100 running",
        SETTLE + keepvip.master_down_interval(),
        || lab.has_addr(2, VIP6) && !lab.has_addr(1, VIP6),
    );
    keepalived.terminate();
    keepalived.wait_exit(Duration::from_secs(10));
    lab.wait_until(
        "keepvip to take the IPv6 VIP after keepalived stopped",
        election_deadline(&keepvip),
        || lab.has_addr(1, VIP6) && !lab.has_addr(2, VIP6),
    );
    if !lab.log_text(1).contains("-> MASTER (priority_zero") {
        lab.fail("keepvip did not take over on keepalived's priority-0 IPv6 unicast advert");
    }
    // keepalived back at 50 hears keepvip (checksummed for its address) and stays backup.
    let keepalived = lab.keepalived(2);
    keepalived.start_text(&keepalived_conf(50));
    lab.assert_stays(
        "keepvip keeps the IPv6 VIP with keepalived at priority 50 running",
        SETTLE + Conf::v3(50).master_down_interval() + Duration::from_secs(1),
        || lab.has_addr(1, VIP6) && !lab.has_addr(2, VIP6),
    );
    let log = keepalived.log_text();
    if !log.contains("Entering BACKUP STATE") || log.contains("Entering MASTER STATE") {
        lab.fail(&format!("keepalived should stay backup:\n{log}"));
    }
}
