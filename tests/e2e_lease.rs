//! VIP leases: a crashed agent's VIPs leave its host by themselves (kernel address lifetime),
//! and an agent that starts removes stale copies of its VIPs before electing.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::time::Duration;
use support::*;

#[test]
fn killed_master_vip_expires_within_its_lease() {
    let lab = Lab::new(1);
    let lease = Duration::from_secs(2);
    let conf = Conf::v3(200).line(format!("vip_lease {}", lease.as_secs()));
    lab.start(1, &conf);
    lab.wait_until(
        "r1 to hold the VIP",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1),
    );
    let lifetime_ok = |vip: Option<IfAddr>| matches!(vip.and_then(|v| v.valid_lft), Some(Lifetime::Secs(s)) if Duration::from_secs(s) <= lease);
    if !lifetime_ok(lab.address(1, VIP)) {
        lab.fail(&format!(
            "r1's VIP is {:?}; expected a valid lifetime of at most the {lease:?} lease",
            lab.address(1, VIP)
        ));
    }
    // Renewed while master: present, and still leased, well past one lease.
    lab.assert_stays(
        "the VIP stays on r1, with a lifetime within the lease, while r1 is master",
        lease + Duration::from_secs(1),
        || lifetime_ok(lab.address(1, VIP)),
    );

    lab.kill(1);
    let gone = lab.wait_until(
        "the killed master's VIP to expire from r1 by itself (lease + 3 s)",
        lease + Duration::from_secs(3),
        || !lab.has_vip(1),
    );
    eprintln!("the VIP left r1 {gone:?} after its agent was killed");
}

#[test]
fn starting_agent_removes_a_stale_vip_before_electing() {
    let lab = Lab::new(2);
    let master = Conf::v3(200);
    let backup = Conf::v3(100);
    lab.start(1, &master);
    lab.wait_until(
        "r1 to hold the VIP",
        master.master_down_interval() + Duration::from_secs(4),
        || lab.only_holder_is(1),
    );
    // A copy left behind on r2, e.g. by a crashed agent with a permanent address.
    lab.add_address(2, VIP_CIDR);
    if !lab.has_vip(2) {
        lab.fail("could not plant the stale VIP on r2");
    }

    lab.start(2, &backup);
    let took = lab.wait_until(
        "r2's agent to remove the stale VIP at start",
        Duration::from_secs(3),
        || !lab.has_vip(2),
    );
    eprintln!("r2 removed the stale VIP {took:?} after start");
    lab.assert_stays(
        "r1 alone holds the VIP; r2 stays backup",
        Duration::from_secs(1),
        || lab.only_holder_is(1),
    );
    lab.wait_until(
        "the client's ping to the VIP to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
    let neigh = lab.client_neigh(VIP);
    if neigh.as_ref().and_then(|n| n.mac.as_deref()) != Some(router_mac(1).as_str()) {
        lab.fail(&format!(
            "the client resolved the VIP to {neigh:?}; expected r1's MAC {}",
            router_mac(1)
        ));
    }
}
