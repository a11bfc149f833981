//! Virtual MAC (`use_vmac`): the VIP lives on a private macvlan with the VRRP virtual MAC, so
//! clients keep one MAC for it whichever router holds it. Needs root; see tests/support/mod.rs.

mod support;

use std::cell::RefCell;
use std::time::Duration;
use support::*;

const VMAC_V4: &str = "00:00:5e:00:01:33";
const VMAC_V6: &str = "00:00:5e:00:02:33";
/// keepalived's generated name for VRID 51.
const VMAC_DEV: &str = "vrrp.51";

fn election_deadline(conf: &Conf) -> Duration {
    conf.master_down_interval() + Duration::from_secs(4)
}

/// True when `router` holds the VIP on its VMAC and not on eth0.
fn holds_on_vmac(lab: &Lab, router: u8, vip: &str) -> bool {
    lab.dev_has_addr(router, VMAC_DEV, vip) && !lab.has_addr(router, vip)
}

/// The client's MAC for `addr`, remembering any MAC other than `expected` ever seen.
struct NeighWatch<'a> {
    lab: &'a Lab,
    addr: &'a str,
    expected: &'a str,
    others: RefCell<Vec<String>>,
}

impl NeighWatch<'_> {
    fn mac(&self) -> Option<String> {
        let mac = self.lab.client_neigh(self.addr).and_then(|n| n.mac);
        if let Some(mac) = &mac {
            if mac != self.expected {
                self.others.borrow_mut().push(mac.clone());
            }
        }
        mac
    }

    fn check(&self, when: &str) {
        let others = self.others.borrow();
        if !others.is_empty() {
            self.lab.fail(&format!(
                "{when}: the client's entry for {} showed {:?}, not only the virtual MAC {}",
                self.addr, *others, self.expected
            ));
        }
    }
}

#[test]
fn failover_keeps_the_virtual_mac_and_sigterm_removes_the_vmac() {
    let lab = Lab::new(2);
    let capture = lab.capture_frames();
    let master = Conf::v3(200).line("use_vmac");
    let backup = Conf::v3(100).line("use_vmac");
    lab.start(1, &master);
    lab.wait_until(
        "r1 to hold the VIP on its VMAC",
        election_deadline(&master),
        || holds_on_vmac(&lab, 1, VIP),
    );
    let details = lab.link_details(1, VMAC_DEV).unwrap_or_default();
    for expected in [
        "vrrp.51@eth0",
        &format!("link/ether {VMAC_V4}"),
        "macvlan mode private",
    ] {
        if !details.contains(expected) {
            lab.fail(&format!(
                "r1's VMAC is not what keepalived makes ({expected} missing): {details}"
            ));
        }
    }
    // Strict reverse-path filtering host-wide (a common hardening) would drop every advert the
    // VMAC receives: keepvip moves it onto the interfaces, as keepalived does.
    lab.set_sysctl(2, "net.ipv4.conf.all.rp_filter", "1");
    lab.start(2, &backup);
    lab.wait_until("r2 to create its VMAC", Duration::from_secs(5), || {
        lab.link_index(2, VMAC_DEV).is_some()
    });
    // r2 hears r1 on its own VMAC (same source MAC, private mode) and stays backup.
    lab.assert_stays(
        "r1 alone holds the VIP with r2 running",
        backup.advert_interval() * 3 + Duration::from_millis(700),
        || holds_on_vmac(&lab, 1, VIP) && !lab.dev_has_addr(2, VMAC_DEV, VIP),
    );
    for (key, value) in [
        ("net.ipv4.conf.eth0.arp_ignore", "1"),
        ("net.ipv4.conf.eth0.arp_filter", "1"),
        ("net.ipv4.conf.eth0.arp_announce", "2"),
        ("net.ipv4.conf.vrrp/51.arp_ignore", "1"),
        ("net.ipv4.conf.vrrp/51.accept_local", "1"),
        ("net.ipv4.conf.vrrp/51.rp_filter", "0"),
        ("net.ipv6.conf.vrrp/51.disable_ipv6", "1"),
        ("net.ipv4.conf.all.rp_filter", "0"),
        ("net.ipv4.conf.eth0.rp_filter", "1"),
    ] {
        let got = lab.sysctl(2, key);
        if got != value {
            lab.fail(&format!("r2: {key} is {got}, expected {value}"));
        }
    }

    let from_r1 = |f: &SeenFrame| f.src == router_ip(1) && f.priority() == Some(200);
    lab.wait_until("r1's adverts on the wire", Duration::from_secs(3), || {
        capture.adverts().iter().any(from_r1)
    });
    lab.wait_until(
        "r1's gratuitous ARP for the VIP",
        Duration::from_secs(3),
        || capture.frames().iter().any(|f| f.is_garp_for(VIP)),
    );
    let neigh = NeighWatch {
        lab: &lab,
        addr: VIP,
        expected: VMAC_V4,
        others: RefCell::new(Vec::new()),
    };
    lab.wait_until(
        "the client's pings to the VIP to succeed",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
    // Several replies: each may make r1 resolve the client from eth0, which must not name
    // the VIP with eth0's MAC.
    for _ in 0..3 {
        lab.client_ping(VIP);
    }
    if neigh.mac().as_deref() != Some(VMAC_V4) {
        lab.fail(&format!(
            "the client's entry for the VIP is {:?}; expected the virtual MAC {VMAC_V4}",
            lab.client_neigh(VIP)
        ));
    }
    neigh.check("while r1 was master");

    lab.kill(1);
    lab.set_link(1, false);
    lab.wait_until(
        "r2 to take the VIP on its VMAC",
        election_deadline(&backup),
        || {
            neigh.mac();
            holds_on_vmac(&lab, 2, VIP)
        },
    );
    lab.wait_until(
        "the client's pings to the VIP to resume",
        Duration::from_secs(5),
        || {
            neigh.mac();
            lab.client_ping(VIP)
        },
    );
    if neigh.mac().as_deref() != Some(VMAC_V4) {
        lab.fail(&format!(
            "after the failover the client's entry for the VIP is {:?}; expected the virtual MAC {VMAC_V4}",
            lab.client_neigh(VIP)
        ));
    }
    neigh.check("across the failover");
    let from_r2 = |f: &SeenFrame| f.src == router_ip(2) && f.priority() == Some(100);
    lab.wait_until("r2's adverts on the wire", Duration::from_secs(3), || {
        capture.adverts().iter().any(from_r2)
    });
    let adverts = capture.adverts();
    if let Some(wrong) = adverts.iter().find(|f| f.src_mac != VMAC_V4) {
        lab.fail(&format!(
            "an advert left with source MAC {} instead of the virtual MAC {VMAC_V4}: {wrong:?}",
            wrong.src_mac
        ));
    }
    if let Some(wrong) = capture
        .frames()
        .iter()
        .find(|f| f.is_garp_for(VIP) && f.src_mac != VMAC_V4)
    {
        lab.fail(&format!("a gratuitous ARP for the VIP came from {wrong:?}"));
    }
    // A crash leaves the VMAC behind (a restart reuses it: see the next test).
    if lab.link_index(1, VMAC_DEV).is_none() {
        lab.fail("r1's VMAC vanished with the SIGKILLed agent; a crash leaves it");
    }

    lab.terminate(2);
    let (status, _) = lab.wait_exit(2, Duration::from_secs(5));
    if !status.success() {
        lab.fail(&format!("r2 exited with {status} on SIGTERM"));
    }
    if let Some(details) = lab.link_details(2, VMAC_DEV) {
        lab.fail(&format!(
            "r2's VMAC is still there after SIGTERM: {details}"
        ));
    }
    for key in ["arp_ignore", "arp_filter", "arp_announce"] {
        let key = format!("net.ipv4.conf.eth0.{key}");
        let got = lab.sysctl(2, &key);
        if got != "0" {
            lab.fail(&format!(
                "r2: {key} is {got} after SIGTERM; expected it restored to 0"
            ));
        }
    }
}

#[test]
fn a_vmac_left_by_a_crash_is_reused_and_its_stale_vip_removed_before_the_election() {
    let lab = Lab::new(2);
    // A permanent VIP, so that only keepvip's start-up sweep can remove it.
    let r1 = Conf::v3(100).line("use_vmac").line("vip_lease 0");
    let r2 = Conf::v3(200).line("use_vmac");
    lab.start(1, &r1);
    lab.wait_until(
        "r1 to hold the VIP on its VMAC",
        election_deadline(&r1),
        || holds_on_vmac(&lab, 1, VIP),
    );
    let index = lab.link_index(1, VMAC_DEV);
    lab.kill(1);
    lab.start(2, &r2);
    lab.wait_until(
        "r2 to hold the VIP on its VMAC",
        election_deadline(&r2),
        || holds_on_vmac(&lab, 2, VIP),
    );
    if !lab.dev_has_addr(1, VMAC_DEV, VIP) {
        lab.fail("r1's stale VIP went before r1 restarted; the test cannot tell anything");
    }

    lab.start(1, &r1);
    lab.wait_until(
        "the restarted r1 to remove its stale VIP from the VMAC",
        Duration::from_secs(5),
        || !lab.dev_has_addr(1, VMAC_DEV, VIP),
    );
    lab.wait_until(
        "r1 to say it reuses the VMAC",
        Duration::from_secs(5),
        || lab.log_text(1).contains("using the existing VMAC vrrp.51"),
    );
    let reused = lab.link_index(1, VMAC_DEV);
    if reused != index {
        lab.fail(&format!(
            "r1's VMAC has index {reused:?} after the restart, {index:?} before: it was made anew, not reused"
        ));
    }
    lab.assert_stays(
        "r2 alone holds the VIP with r1 back",
        r1.advert_interval() * 3 + Duration::from_millis(700),
        || holds_on_vmac(&lab, 2, VIP) && !lab.dev_has_addr(1, VMAC_DEV, VIP),
    );
}

#[test]
fn with_vmac_xmit_base_adverts_carry_the_parent_mac_and_the_vip_the_virtual_one() {
    let lab = Lab::new(2);
    let capture = lab.capture_frames();
    let master = Conf::v3(200).line("use_vmac").line("vmac_xmit_base");
    let backup = Conf::v3(100).line("use_vmac").line("vmac_xmit_base");
    lab.start(1, &master);
    lab.start(2, &backup);
    lab.wait_stable(
        "r1 to be the only VIP holder (r2 hears it on eth0)",
        election_deadline(&backup) + Duration::from_secs(1),
        Duration::from_secs(1),
        || holds_on_vmac(&lab, 1, VIP) && !lab.dev_has_addr(2, VMAC_DEV, VIP),
    );
    lab.wait_until("r1's adverts on the wire", Duration::from_secs(3), || {
        capture.adverts().iter().any(|f| f.src == router_ip(1))
    });
    let adverts = capture.adverts();
    if let Some(wrong) = adverts
        .iter()
        .find(|f| f.src == router_ip(1) && f.src_mac != router_mac(1))
    {
        lab.fail(&format!(
            "with vmac_xmit_base r1's adverts must carry eth0's MAC {}: {wrong:?}",
            router_mac(1)
        ));
    }
    lab.wait_until(
        "a gratuitous ARP for the VIP from the virtual MAC",
        Duration::from_secs(3),
        || {
            capture
                .frames()
                .iter()
                .any(|f| f.is_garp_for(VIP) && f.src_mac == VMAC_V4)
        },
    );
    lab.wait_until(
        "the client's pings to the VIP",
        Duration::from_secs(5),
        || lab.client_ping(VIP),
    );
    let mac = lab.client_neigh(VIP).and_then(|n| n.mac);
    if mac.as_deref() != Some(VMAC_V4) {
        lab.fail(&format!(
            "the client reaches the VIP at {mac:?}; expected the virtual MAC {VMAC_V4}"
        ));
    }
    // The group is joined on eth0: no IGMP report ever leaves with the virtual MAC (which
    // would point learning switches at a backup).
    if let Some(report) = capture
        .frames()
        .iter()
        .find(|f| f.is_igmp() && f.src_mac == VMAC_V4)
    {
        lab.fail(&format!(
            "an IGMP report left with the virtual MAC: {report:?}"
        ));
    }
}

#[test]
fn an_ipv6_vmac_sends_from_its_parent_s_link_local_address_with_the_ipv6_virtual_mac() {
    let lab = Lab::new(2);
    let capture = lab.capture_frames();
    let vip = "2001:db8::64";
    let conf = |priority: u8| {
        format!(
            "vrrp_instance V6 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
             priority {priority}\n    advert_int 0.1\n    use_vmac\n    \
             virtual_ipaddress {{\n        {vip}/64\n    }}\n}}\n"
        )
    };
    lab.start_text(1, &conf(200), &[]);
    lab.wait_until(
        "r1 to hold the IPv6 VIP on its VMAC",
        Duration::from_secs(5),
        || holds_on_vmac(&lab, 1, vip),
    );
    lab.start_text(2, &conf(100), &[]);
    lab.wait_until("r2 to create its VMAC", Duration::from_secs(5), || {
        lab.link_index(2, VMAC_DEV).is_some()
    });
    lab.assert_stays(
        "r1 alone holds the IPv6 VIP with r2 running",
        Duration::from_millis(1000),
        || holds_on_vmac(&lab, 1, vip) && !lab.dev_has_addr(2, VMAC_DEV, vip),
    );
    // The VMAC holds r1's own link-local address (no address made from the virtual MAC).
    let parent_ll = lab
        .addresses(1)
        .into_iter()
        .find(|a| a.family == "inet6" && a.address().starts_with("fe80:"))
        .map(|a| a.address().to_string())
        .unwrap_or_else(|| lab.fail("r1's eth0 has no link-local address"));
    let on_vmac: Vec<String> = lab
        .dev_addresses(1, VMAC_DEV)
        .unwrap_or_default()
        .iter()
        .filter(|a| a.address().starts_with("fe80:"))
        .map(|a| a.address().to_string())
        .collect();
    if on_vmac != [parent_ll.clone()] {
        lab.fail(&format!(
            "r1's VMAC link-local addresses are {on_vmac:?}; expected only eth0's {parent_ll}"
        ));
    }
    lab.wait_until(
        "r1's IPv6 adverts on the wire",
        Duration::from_secs(3),
        || {
            capture
                .adverts()
                .iter()
                .any(|f| f.src == parent_ll && f.src_mac == VMAC_V6)
        },
    );
    if let Some(wrong) = capture.adverts().iter().find(|f| f.src_mac != VMAC_V6) {
        lab.fail(&format!(
            "an IPv6 advert left from {}: {wrong:?}",
            wrong.src_mac
        ));
    }
    lab.wait_until(
        "an unsolicited NA for the VIP from the virtual MAC",
        Duration::from_secs(3),
        || {
            capture
                .frames()
                .iter()
                .any(|f| f.is_na_for(vip) && f.src_mac == VMAC_V6)
        },
    );
    lab.wait_until(
        "the client's pings to the IPv6 VIP",
        Duration::from_secs(5),
        || lab.client_ping(vip),
    );
    let mac = lab.client_neigh(vip).and_then(|n| n.mac);
    if mac.as_deref() != Some(VMAC_V6) {
        lab.fail(&format!(
            "the client reaches {vip} at {mac:?}; expected the IPv6 virtual MAC {VMAC_V6}"
        ));
    }
}

#[test]
fn a_deleted_vmac_is_made_again_its_parent_s_link_drives_fault_and_reloads_keep_or_replace_it() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200).line("use_vmac");
    lab.start(1, &conf);
    lab.wait_until(
        "r1 to hold the VIP on its VMAC",
        election_deadline(&conf),
        || holds_on_vmac(&lab, 1, VIP),
    );
    let first = lab.link_index(1, VMAC_DEV);

    lab.delete_link(1, VMAC_DEV);
    lab.wait_until(
        "r1 to make its VMAC again and put the VIP back on it",
        Duration::from_secs(5),
        || {
            lab.link_index(1, VMAC_DEV)
                .is_some_and(|i| Some(i) != first)
                && holds_on_vmac(&lab, 1, VIP)
        },
    );
    let second = lab.link_index(1, VMAC_DEV);

    // The parent's link state drives FAULT, as without a VMAC (which follows its parent).
    lab.set_link(1, false);
    lab.wait_until(
        "r1 to go to FAULT and release the VIP when eth0 goes down",
        Duration::from_secs(5),
        || {
            lab.log_text(1).contains("MASTER -> FAULT (link_down")
                && !lab.dev_has_addr(1, VMAC_DEV, VIP)
        },
    );
    lab.set_link(1, true);
    lab.wait_until(
        "r1 to hold the VIP again once eth0 is back",
        election_deadline(&conf),
        || holds_on_vmac(&lab, 1, VIP),
    );
    if lab.link_index(1, VMAC_DEV) != second {
        lab.fail("the VMAC was made anew across a link flap of its parent; it should have stayed");
    }

    // An unchanged instance keeps its VMAC across a reload.
    lab.reload_text(1, &conf.render());
    lab.wait_until("the first reload to finish", Duration::from_secs(5), || {
        lab.log_text(1).matches("reload done").count() == 1
    });
    lab.assert_stays(
        "the VMAC and the VIP stay as they are",
        Duration::from_millis(500),
        || lab.link_index(1, VMAC_DEV) == second && holds_on_vmac(&lab, 1, VIP),
    );

    // A changed one (here: a VMAC name) starts anew on a new VMAC; the old one goes.
    lab.reload_text(1, &Conf::v3(200).line("use_vmac vlan51").render());
    lab.wait_until(
        "the VIP to move to the renamed VMAC and vrrp.51 to go",
        election_deadline(&conf),
        || lab.dev_has_addr(1, "vlan51", VIP) && lab.link_index(1, VMAC_DEV).is_none(),
    );
}
