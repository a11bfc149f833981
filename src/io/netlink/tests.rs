//! Real-kernel tests, each in a private network namespace (see `io::testns`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use netlink_packet_route::address::{AddressAttribute, AddressMessage, CacheInfo};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use nix::errno::Errno;

use super::*;
use crate::io::testns::{in_new_netns, veth_pair, wait_until_oper_up, Watcher, PROMPT};

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

fn find(nl: &mut RequestSocket, ifindex: u32, addr: IpAddr) -> Option<AddrInfo> {
    nl.dump_addresses(Some(ifindex))
        .expect("dump")
        .into_iter()
        .find(|a| a.addr == addr)
}

fn errno(e: &std::io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno::from_raw)
}

// ---- pure conversions ----

#[test]
fn lifetimes_round_up_to_whole_seconds_and_saturate_to_forever() {
    assert_eq!(lifetime_to_kernel(None), u32::MAX);
    assert_eq!(lifetime_to_kernel(Some(Duration::ZERO)), 1);
    assert_eq!(lifetime_to_kernel(Some(Duration::from_millis(1))), 1);
    assert_eq!(lifetime_to_kernel(Some(Duration::from_millis(2001))), 3);
    assert_eq!(lifetime_to_kernel(Some(Duration::from_secs(3))), 3);
    assert_eq!(
        lifetime_to_kernel(Some(Duration::from_secs(u64::MAX))),
        u32::MAX
    );
    assert_eq!(lifetime_from_kernel(u32::MAX), None);
    assert_eq!(lifetime_from_kernel(7), Some(Duration::from_secs(7)));
}

#[test]
fn address_message_prefers_local_and_full_flags() {
    let mut msg = AddressMessage::default();
    msg.header.index = 3;
    msg.header.prefix_len = 64;
    msg.attributes.push(AddressAttribute::Address(v6(2)));
    msg.attributes.push(AddressAttribute::Local(v6(1)));
    msg.attributes.push(AddressAttribute::Flags(
        netlink_packet_route::address::AddressFlags::Nodad
            | netlink_packet_route::address::AddressFlags::Noprefixroute,
    ));
    let mut ci = CacheInfo::default();
    ci.ifa_valid = 9;
    ci.ifa_preferred = u32::MAX;
    msg.attributes.push(AddressAttribute::CacheInfo(ci));
    let info = addr_info_from(&msg).unwrap();
    assert_eq!(info.addr, v6(1));
    assert_eq!(info.ifindex, 3);
    assert!(info.flags.nodad());
    assert!(!info.flags.tentative());
    // IFA_F_NOPREFIXROUTE (0x200) does not fit the header byte: it must come from IFA_FLAGS.
    assert_eq!(info.flags.0 & 0x200, 0x200);
    assert_eq!(info.valid_lifetime, Some(Duration::from_secs(9)));
    assert_eq!(info.preferred_lifetime, None);
}

#[test]
fn address_message_without_address_is_ignored() {
    assert_eq!(addr_info_from(&AddressMessage::default()), None);
}

#[test]
fn link_message_conversion() {
    let mut msg = LinkMessage::default();
    msg.header.index = 4;
    msg.header.flags = LinkFlags::Up;
    msg.attributes.push(LinkAttribute::IfName("eth9".into()));
    msg.attributes
        .push(LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]));
    msg.attributes.push(LinkAttribute::Mtu(1500));
    let info = link_info_from(&msg).unwrap();
    assert_eq!(info.name, "eth9");
    assert_eq!(info.mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
    assert!(info.admin_up);
    assert!(
        !info.oper_up,
        "IFF_UP without IFF_RUNNING is not operational"
    );
    msg.header.flags = LinkFlags::Up | LinkFlags::Running;
    assert!(link_info_from(&msg).unwrap().oper_up);
    // A link-layer address that is not 6 bytes (tunnels, lo is 6 zero bytes) gives no MAC.
    msg.attributes
        .push(LinkAttribute::Address(vec![1, 2, 3, 4]));
    assert_eq!(link_info_from(&msg).unwrap().mac, None);
    msg.attributes
        .retain(|a| !matches!(a, LinkAttribute::IfName(_)));
    assert_eq!(link_info_from(&msg), None);
}

#[test]
fn macvlan_lower_and_mode_are_reported() {
    use netlink_packet_route::link::{
        InfoData, InfoKind, InfoMacVlan, LinkInfo as NlLinkInfo, MacVlanMode,
    };
    let mut msg = LinkMessage::default();
    msg.header.index = 9;
    msg.attributes.push(LinkAttribute::IfName("vrrp.51".into()));
    msg.attributes.push(LinkAttribute::Link(4));
    assert_eq!(
        link_info_from(&msg).unwrap().macvlan,
        None,
        "no LINKINFO: not a macvlan"
    );
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        NlLinkInfo::Kind(InfoKind::MacVlan),
        NlLinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
            MacVlanMode::Private,
        )])),
    ]));
    let info = link_info_from(&msg).unwrap();
    assert_eq!(
        info.macvlan,
        Some(MacvlanInfo {
            lower: Some(4),
            mode: MACVLAN_MODE_PRIVATE
        })
    );
    // The lower interface lives in another namespace: its index means nothing here.
    msg.attributes.push(LinkAttribute::LinkNetNsId(0));
    assert_eq!(link_info_from(&msg).unwrap().macvlan.unwrap().lower, None);
}

#[test]
fn split_messages_rejects_bad_lengths() {
    // A header claiming 64 bytes in a 16-byte datagram.
    let mut datagram = [0u8; 16];
    datagram[0] = 64;
    let parts: Vec<_> = request::split_messages(&datagram).collect();
    assert_eq!(parts.len(), 1);
    assert!(parts[0].is_err());
    // Too short for a header at all.
    let parts: Vec<_> = request::split_messages(&[1, 2, 3]).collect();
    assert!(parts.len() == 1 && parts[0].is_err());
}

// ---- real kernel ----

#[test]
fn veth_lifecycle_and_link_queries() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let names: Vec<String> = nl
            .get_links()
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(names, ["lo"], "a fresh namespace holds only lo");

        nl.create_veth("kvA0", "kvA1").unwrap();
        let a = nl.link_by_name("kvA0").unwrap().expect("kvA0 exists");
        let b = nl.link_by_name("kvA1").unwrap().expect("kvA1 exists");
        assert_ne!(a.ifindex, b.ifindex);
        assert!(a.mac.is_some() && a.mac != b.mac);
        assert!(!a.admin_up && !a.oper_up);
        assert_eq!(a.mtu, 1500);
        assert_eq!(nl.link_by_index(a.ifindex).unwrap().as_ref(), Some(&a));
        let e = nl.create_veth("kvA0", "kvA9").unwrap_err();
        assert_eq!(errno(&e), Some(Errno::EEXIST), "{e}");

        let mut events = Watcher::open();
        nl.set_link_up(a.ifindex).unwrap();
        nl.set_link_up(b.ifindex).unwrap();
        wait_until_oper_up(&mut nl, &mut events, a.ifindex);
        let a_up = nl.link_by_index(a.ifindex).unwrap().unwrap();
        assert!(a_up.admin_up && a_up.oper_up);

        nl.delete_link(a.ifindex).unwrap();
        assert_eq!(nl.link_by_name("kvA0").unwrap(), None);
        assert_eq!(
            nl.link_by_name("kvA1").unwrap(),
            None,
            "deleting one end removes the peer"
        );
        assert_eq!(nl.link_by_index(b.ifindex).unwrap(), None);
        let e = nl.delete_link(a.ifindex).unwrap_err();
        assert_eq!(errno(&e), Some(Errno::ENODEV), "{e}");
        assert!(nl.link_by_name("bad/name").is_err());
        assert!(nl.link_by_name("sixteen-bytes-xx").is_err());
    });
}

#[test]
fn errors_keep_the_kernel_errno() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let e = nl.set_link_up(9999).unwrap_err();
        assert_eq!(errno(&e), Some(Errno::ENODEV), "{e}");
        let e = nl
            .add_address(9999, v4(10), 24, None, None, false)
            .unwrap_err();
        assert_eq!(errno(&e), Some(Errno::ENODEV), "{e}");
        let e = nl.del_address(9999, v4(10), 24).unwrap_err();
        assert_eq!(errno(&e), Some(Errno::ENODEV), "{e}");
        let e = nl
            .add_address(1, v4(10), 33, None, None, false)
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        // The socket still works after errors: sequence numbers stay in step.
        assert_eq!(nl.get_links().unwrap().len(), 1);
    });
}

#[test]
fn address_add_del_dump_with_label() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvB0", "kvB1", 1, 2);

        nl.add_address(a.ifindex, v4(10), 24, Some("kvB0:vip"), None, false)
            .unwrap();
        let info = find(&mut nl, a.ifindex, v4(10)).expect("added");
        assert_eq!(info.prefix_len, 24);
        assert_eq!(info.label.as_deref(), Some("kvB0:vip"));
        assert!(info.flags.permanent());
        assert!(info.flags.secondary(), "192.0.2.1/24 was there first");
        assert_eq!(info.valid_lifetime, None);
        // Unlabelled IPv4 addresses carry the interface name.
        assert_eq!(
            find(&mut nl, a.ifindex, IpAddr::V4(a.v4))
                .unwrap()
                .label
                .as_deref(),
            Some("kvB0")
        );

        // Adding again is success, with or without replace.
        nl.add_address(a.ifindex, v4(10), 24, Some("kvB0:vip"), None, false)
            .unwrap();
        nl.add_address(a.ifindex, v4(10), 24, Some("kvB0:vip"), None, true)
            .unwrap();
        assert_eq!(
            nl.dump_addresses(Some(a.ifindex))
                .unwrap()
                .iter()
                .filter(|x| x.addr == v4(10))
                .count(),
            1
        );

        let e = nl
            .add_address(
                a.ifindex,
                v4(11),
                32,
                Some("much-too-long-label"),
                None,
                false,
            )
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);

        nl.del_address(a.ifindex, v4(10), 24).unwrap();
        assert_eq!(find(&mut nl, a.ifindex, v4(10)), None);
        // Removing what is not there is success (the kernel says EADDRNOTAVAIL).
        nl.del_address(a.ifindex, v4(10), 24).unwrap();

        // IPv6: NODAD, usable at once; a label is ignored rather than rejected.
        nl.add_address(a.ifindex, v6(10), 128, Some("kvB0:v6"), None, false)
            .unwrap();
        let info = find(&mut nl, a.ifindex, v6(10)).expect("added");
        assert_eq!(info.prefix_len, 128);
        assert!(info.flags.nodad() && !info.flags.tentative() && info.flags.permanent());
        assert_eq!(info.label, None);
        nl.add_address(a.ifindex, v6(10), 128, None, None, false)
            .unwrap();
        nl.del_address(a.ifindex, v6(10), 128).unwrap();
        assert_eq!(find(&mut nl, a.ifindex, v6(10)), None);
        nl.del_address(a.ifindex, v6(10), 128).unwrap();

        // The dump without a filter covers every interface.
        let all = nl.dump_addresses(None).unwrap();
        assert!(all
            .iter()
            .any(|x| x.addr == IpAddr::V4(_b.v4) && x.ifindex == _b.ifindex));
        assert!(all.iter().any(|x| x.addr == IpAddr::V6(a.link_local)));
    });
}

/// How early the kernel may expire an address (its timer fuzz is 20 ms; margin for our clock).
const EXPIRY_FUZZ: Duration = Duration::from_millis(100);

/// Adds `addr` with a finite lifetime and measures when the kernel removes it by itself.
fn measure_expiry(addr: IpAddr, prefix: u8, names: (&str, &str)) {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, names.0, names.1, 1, 2);
        let mut events = Watcher::open();
        let lifetime = Duration::from_secs(2);

        let added_at = Instant::now();
        nl.add_address(a.ifindex, addr, prefix, None, Some(lifetime), false)
            .unwrap();
        let info = find(&mut nl, a.ifindex, addr).expect("added");
        assert!(!info.flags.permanent());
        assert_eq!(info.valid_lifetime, Some(lifetime));
        assert_eq!(info.preferred_lifetime, Some(lifetime));

        let removed = events.wait(
            lifetime + Duration::from_secs(10),
            |e| matches!(e, NetEvent::AddressRemoved(x) if x.addr == addr),
        );
        let elapsed = added_at.elapsed();
        assert!(
            removed.is_some(),
            "{addr} still there {elapsed:?} after a {lifetime:?} lifetime"
        );
        // The kernel compares ages with up to 20 ms of fuzz (ADDRCONF_TIMER_FUZZ_MINUS).
        assert!(
            elapsed + EXPIRY_FUZZ >= lifetime,
            "{addr} removed after {elapsed:?}, before its lifetime"
        );
        assert_eq!(find(&mut nl, a.ifindex, addr), None);
        println!("KERNEL FACT: {addr} with a {lifetime:?} lifetime disappeared after {elapsed:?}");
    });
}

#[test]
fn ipv4_address_expires_by_itself() {
    measure_expiry(v4(20), 32, ("kvC0", "kvC1"));
}

#[test]
fn ipv6_address_expires_by_itself() {
    measure_expiry(v6(20), 128, ("kvD0", "kvD1"));
}

/// Re-adding with `replace` extends the lifetime; re-adding without it does not.
fn check_renewal(addr: IpAddr, prefix: u8, names: (&str, &str)) {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, names.0, names.1, 1, 2);
        let mut events = Watcher::open();
        let short = Duration::from_secs(2);
        let long = Duration::from_secs(6);

        nl.add_address(a.ifindex, addr, prefix, None, Some(short), false)
            .unwrap();
        // Without replace the existing address is left alone: "already there" is success.
        nl.add_address(a.ifindex, addr, prefix, None, Some(long), false)
            .unwrap();
        assert_eq!(
            find(&mut nl, a.ifindex, addr).unwrap().valid_lifetime,
            Some(short)
        );

        let renewed_at = Instant::now();
        nl.add_address(a.ifindex, addr, prefix, None, Some(long), true)
            .unwrap();
        let info = find(&mut nl, a.ifindex, addr).unwrap();
        assert_eq!(info.valid_lifetime, Some(long));
        assert_eq!(info.preferred_lifetime, Some(long));

        let removed = events.wait(
            long + Duration::from_secs(10),
            |e| matches!(e, NetEvent::AddressRemoved(x) if x.addr == addr),
        );
        let elapsed = renewed_at.elapsed();
        assert!(removed.is_some(), "{addr} never expired");
        assert!(
            elapsed + EXPIRY_FUZZ >= long,
            "{addr} removed {elapsed:?} after renewal to {long:?}: the renewal did not take"
        );
        println!("KERNEL FACT: {addr} renewed to {long:?} disappeared {elapsed:?} after renewal");

        // Replacing with no lifetime makes it permanent again.
        nl.add_address(a.ifindex, addr, prefix, None, Some(short), false)
            .unwrap();
        nl.add_address(a.ifindex, addr, prefix, None, None, true)
            .unwrap();
        let info = find(&mut nl, a.ifindex, addr).unwrap();
        assert!(info.flags.permanent() && info.valid_lifetime.is_none());
    });
}

#[test]
fn ipv4_lifetime_renewal_with_replace() {
    check_renewal(v4(30), 32, ("kvE0", "kvE1"));
}

#[test]
fn ipv6_lifetime_renewal_with_replace() {
    check_renewal(v6(30), 128, ("kvF0", "kvF1"));
}

#[test]
fn events_for_links_and_addresses() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, b) = veth_pair(&mut nl, "kvG0", "kvG1", 1, 2);
        let mut events = Watcher::open();
        events.socket.seed_links(&nl.get_links().unwrap());

        nl.set_link_down(b.ifindex).unwrap();
        let down = events.wait(
            PROMPT,
            |e| matches!(e, NetEvent::LinkDown(l) if l.ifindex == b.ifindex),
        );
        assert!(matches!(down, Some(NetEvent::LinkDown(ref l)) if !l.admin_up && l.name == "kvG1"));
        // The peer loses its carrier: operationally down although still administratively up.
        let peer_down = events.wait(
            PROMPT,
            |e| matches!(e, NetEvent::LinkDown(l) if l.ifindex == a.ifindex),
        );
        assert!(matches!(peer_down, Some(NetEvent::LinkDown(ref l)) if l.admin_up));

        nl.set_link_up(b.ifindex).unwrap();
        let up = events.wait(
            PROMPT,
            |e| matches!(e, NetEvent::LinkUp(l) if l.ifindex == b.ifindex),
        );
        assert!(
            matches!(up, Some(NetEvent::LinkUp(ref l)) if l.oper_up && l.mac == Some(MacAddr(b.mac)))
        );

        nl.add_address(a.ifindex, v4(40), 32, Some("kvG0:x"), None, false)
            .unwrap();
        let added = events.wait(
            PROMPT,
            |e| matches!(e, NetEvent::AddressAdded(x) if x.addr == v4(40)),
        );
        assert!(matches!(added, Some(NetEvent::AddressAdded(ref x))
            if x.ifindex == a.ifindex && x.label.as_deref() == Some("kvG0:x")));
        nl.del_address(a.ifindex, v4(40), 32).unwrap();
        assert!(events
            .wait(PROMPT, |e| {
                matches!(e, NetEvent::AddressRemoved(x) if x.addr == v4(40))
            })
            .is_some());

        nl.add_address(b.ifindex, v6(40), 64, None, None, false)
            .unwrap();
        assert!(events
            .wait(PROMPT, |e| {
                matches!(e, NetEvent::AddressAdded(x) if x.addr == v6(40) && x.ifindex == b.ifindex)
            })
            .is_some());

        nl.create_veth("kvH0", "kvH1").unwrap();
        let created = events.wait(
            PROMPT,
            |e| matches!(e, NetEvent::LinkAdded(l) if l.name == "kvH0"),
        );
        let Some(NetEvent::LinkAdded(h)) = created else {
            panic!("no LinkAdded for kvH0");
        };
        nl.delete_link(h.ifindex).unwrap();
        assert!(events
            .wait(PROMPT, |e| {
                matches!(e, NetEvent::LinkRemoved(l) if l.ifindex == h.ifindex && l.name == "kvH0")
            })
            .is_some());

        // Nothing left queued: the drain really drains.
        assert!(events
            .drain()
            .iter()
            .all(|e| !matches!(e, NetEvent::Overrun)));
    });
}

#[test]
fn tiny_receive_buffer_reports_overrun() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvI0", "kvI1", 1, 2);
        let mut events = EventSocket::open().unwrap();
        // Shrink the buffer (the kernel's minimum is about 2 KiB) and flood it with address
        // notifications without reading.
        socket2::SockRef::from(&events)
            .set_recv_buffer_size(0)
            .unwrap();
        for host in 100..140u8 {
            nl.add_address(a.ifindex, v4(host), 32, None, None, false)
                .unwrap();
        }
        let batch = events.recv_events().unwrap();
        assert!(
            batch.contains(&NetEvent::Overrun),
            "no overrun in {} events",
            batch.len()
        );
    });
}

#[test]
fn proc_sys_net_follows_the_thread_namespace() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        nl.create_veth("kvJ0", "kvJ1").unwrap();
        let mut seen: Vec<String> = std::fs::read_dir("/proc/sys/net/ipv6/conf")
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        seen.sort();
        assert_eq!(seen, ["all", "default", "kvJ0", "kvJ1", "lo"]);
    });
}

#[test]
fn dad_keeps_a_kernel_generated_link_local_tentative() {
    use crate::io::vrrp_socket::VrrpSocket;
    use crate::wire::{Family, MCAST_V6};
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let mut events = Watcher::open();
        // Default address generation this time: the kernel makes an EUI-64 link-local and
        // runs DAD on it once the link is up.
        nl.create_veth("kvK0", "kvK1").unwrap();
        let a = nl.link_by_name("kvK0").unwrap().unwrap();
        let b = nl.link_by_name("kvK1").unwrap().unwrap();
        nl.set_link_up(a.ifindex).unwrap();
        nl.set_link_up(b.ifindex).unwrap();
        // The kernel creates the link-local when the carrier comes up, before it reports the
        // link operational; it notifies the address only once DAD is over, so look it up.
        wait_until_oper_up(&mut nl, &mut events, a.ifindex);
        let ll = nl
            .dump_addresses(Some(a.ifindex))
            .unwrap()
            .into_iter()
            .find(|x| x.addr.is_ipv6())
            .expect("a kernel-generated link-local on kvK0");
        assert!(
            ll.flags.tentative(),
            "a fresh link-local must start tentative: {ll:?}"
        );
        let started = Instant::now();

        let socket = VrrpSocket::open(a.ifindex, "kvK0", Family::V6, Some(ll.addr)).unwrap();
        let e = socket.send(&[0u8; 8], IpAddr::V6(MCAST_V6)).unwrap_err();
        assert_eq!(
            errno(&e),
            Some(Errno::EINVAL),
            "a tentative source is refused: {e}"
        );

        let settled = events.wait(
            PROMPT,
            |e| matches!(e, NetEvent::AddressAdded(x) if x.addr == ll.addr && !x.flags.tentative()),
        );
        assert!(settled.is_some(), "DAD did not finish within {PROMPT:?}");
        println!(
            "KERNEL FACT: DAD on a kernel link-local took {:?}",
            started.elapsed()
        );
        socket.send(&[0u8; 8], IpAddr::V6(MCAST_V6)).unwrap();
    });
}

#[test]
fn address_options_set_scope_broadcast_and_deprecation() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvO0", "kvO1", 1, 2);
        let options = AddressOptions {
            label: None,
            lifetime: Some(Duration::from_secs(30)),
            scope: 253,
            broadcast: Some(Ipv4Addr::new(198, 51, 100, 255)),
            deprecated: false,
            flags: 0,
            preferred: None,
        };
        // Another subnet: the kernel refuses a secondary address whose scope differs from its
        // primary's (EINVAL), exactly as it does for `ip addr add`.
        let vip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20));
        nl.add_address_with(a.ifindex, vip, 24, &options, false)
            .unwrap();
        let info = find(&mut nl, a.ifindex, vip).expect("added");
        assert_eq!(info.scope, 253);
        assert_eq!(info.broadcast, Some(Ipv4Addr::new(198, 51, 100, 255)));
        assert!(!info.flags.deprecated());
        assert!(info
            .valid_lifetime
            .is_some_and(|l| l <= Duration::from_secs(30)));

        // keepalived's IPv6 /128 VIPs: preferred lifetime 0, so never a source address.
        let options = AddressOptions {
            deprecated: true,
            ..AddressOptions::default()
        };
        nl.add_address_with(a.ifindex, v6(20), 128, &options, false)
            .unwrap();
        let info = find(&mut nl, a.ifindex, v6(20)).expect("added");
        assert!(info.flags.deprecated(), "{info:?}");
        assert_eq!(info.scope, 0);
        assert_eq!(info.preferred_lifetime, Some(Duration::ZERO));
    });
}

#[test]
fn address_options_set_home_mngtmpaddr_noprefixroute_and_nodad_flags() {
    use netlink_packet_route::address::AddressFlags;
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvF0", "kvF1", 1, 2);
        // Each flag alone on its own address, then none: a flag shows only where it was asked.
        let cases = [
            (v6(31), AddressFlags::Homeaddress),
            (v6(32), AddressFlags::Managetempaddr),
            (v6(33), AddressFlags::Noprefixroute),
            (v6(34), AddressFlags::Nodad),
            (
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, 33)),
                AddressFlags::Noprefixroute,
            ),
            (v6(35), AddressFlags::empty()),
        ];
        for (addr, flag) in cases {
            let options = AddressOptions {
                flags: flag.bits(),
                ..AddressOptions::default()
            };
            let prefix = if addr.is_ipv6() { 64 } else { 24 };
            nl.add_address_with(a.ifindex, addr, prefix, &options, false)
                .unwrap();
        }
        let mut info = |addr| find(&mut nl, a.ifindex, addr).expect("added");
        let home = info(v6(31));
        assert!(
            home.flags.home() && !home.flags.mngtmpaddr() && !home.flags.noprefixroute(),
            "{home:?}"
        );
        let mngt = info(v6(32));
        assert!(mngt.flags.mngtmpaddr() && !mngt.flags.home(), "{mngt:?}");
        let nopr = info(v6(33));
        assert!(nopr.flags.noprefixroute() && !nopr.flags.home(), "{nopr:?}");
        let v4 = info(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 33)));
        assert!(v4.flags.noprefixroute(), "{v4:?}");
        // keepvip adds every IPv6 VIP without DAD; `-nodad` asks for the same.
        for addr in [v6(34), v6(35)] {
            let got = info(addr);
            assert!(got.flags.nodad() && !got.flags.tentative(), "{got:?}");
            assert!(!got.flags.home() && !got.flags.mngtmpaddr() && !got.flags.noprefixroute());
        }
        // noprefixroute means what it says: no 198.51.100.0/24 route on kvF0 (a plain
        // address of that subnet would have brought one).
        let routes = std::process::Command::new("ip")
            .args(["-4", "route", "show", "dev", "kvF0"])
            .output()
            .unwrap();
        let routes = String::from_utf8_lossy(&routes.stdout);
        assert!(!routes.contains("198.51.100.0/24"), "{routes}");
    });
}

#[test]
fn address_options_set_a_preferred_lifetime_bounded_by_the_valid_one() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvP0", "kvP1", 1, 2);
        let with = |preferred, lifetime| AddressOptions {
            preferred: Some(preferred),
            lifetime,
            ..AddressOptions::default()
        };
        nl.add_address_with(a.ifindex, v6(41), 64, &with(30, None), false)
            .unwrap();
        nl.add_address_with(
            a.ifindex,
            v6(42),
            64,
            &with(300, Some(Duration::from_secs(20))),
            false,
        )
        .unwrap();
        nl.add_address_with(a.ifindex, v6(43), 128, &with(u32::MAX, None), false)
            .unwrap();
        let thirty = find(&mut nl, a.ifindex, v6(41)).expect("added");
        assert!(
            thirty
                .preferred_lifetime
                .is_some_and(|p| p > Duration::from_secs(25) && p <= Duration::from_secs(30)),
            "{thirty:?}"
        );
        assert_eq!(thirty.valid_lifetime, None, "{thirty:?}");
        assert!(!thirty.flags.deprecated());
        let bounded = find(&mut nl, a.ifindex, v6(42)).expect("added");
        assert!(
            bounded
                .preferred_lifetime
                .is_some_and(|p| p <= Duration::from_secs(20)),
            "the preferred lifetime is cut to the valid one: {bounded:?}"
        );
        // `preferred_lft forever` on a /128: not deprecated, unlike keepalived's default.
        let forever = find(&mut nl, a.ifindex, v6(43)).expect("added");
        assert_eq!(forever.preferred_lifetime, None, "{forever:?}");
        assert!(!forever.flags.deprecated());
    });
}

// ---- the address worker ----

fn add_change(ifindex: u32, addr: IpAddr, prefix_len: u8, replace: bool) -> AddressChange {
    AddressChange {
        ifindex,
        addr,
        prefix_len,
        kind: ChangeKind::Add {
            label: None,
            lifetime: Some(Duration::from_secs(30)),
            scope: 0,
            broadcast: None,
            deprecated: false,
            flags: 0,
            preferred: None,
            replace,
        },
    }
}

/// Waits (on the loop's poll, woken by the worker) for `n` completions.
fn completions(poll: &mut mio::Poll, worker: &mut AddressWorker, n: usize) -> Vec<Completed> {
    let mut got = Vec::new();
    let mut events = mio::Events::with_capacity(8);
    let deadline = Instant::now() + PROMPT;
    while got.len() < n {
        while let Some(c) = worker.try_completed() {
            got.push(c);
        }
        if got.len() >= n {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {n} completions came back",
            got.len()
        );
        poll.poll(&mut events, Some(left)).unwrap();
    }
    got
}

#[test]
fn the_worker_makes_changes_in_order_and_wakes_the_loop() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvW0", "kvW1", 1, 2);
        let mut poll = mio::Poll::new().unwrap();
        let waker = std::sync::Arc::new(mio::Waker::new(poll.registry(), mio::Token(7)).unwrap());
        let mut worker = AddressWorker::spawn(RequestSocket::open().unwrap(), waker).unwrap();

        // Add, renew, delete, and an add on an interface that does not exist.
        let tags = [
            worker
                .submit(add_change(a.ifindex, v4(50), 24, false), true)
                .unwrap(),
            worker
                .submit(add_change(a.ifindex, v4(50), 24, true), true)
                .unwrap(),
            worker
                .submit(
                    AddressChange {
                        ifindex: a.ifindex,
                        addr: v4(50),
                        prefix_len: 24,
                        kind: ChangeKind::Delete,
                    },
                    true,
                )
                .unwrap(),
            worker
                .submit(add_change(999_999, v4(51), 24, false), true)
                .unwrap(),
        ];
        assert_eq!(worker.in_flight(), 4);
        let done = completions(&mut poll, &mut worker, 4);
        assert_eq!(done.iter().map(|c| c.tag).collect::<Vec<_>>(), tags);
        assert!(done[0].result.is_ok() && done[1].result.is_ok() && done[2].result.is_ok());
        assert_eq!(
            errno(done[3].result.as_ref().unwrap_err()),
            Some(Errno::ENODEV)
        );
        assert_eq!(worker.in_flight(), 0);
        assert!(
            find(&mut nl, a.ifindex, v4(50)).is_none(),
            "the delete came last"
        );

        // An add the loop has seen completed is on the interface.
        worker
            .submit(add_change(a.ifindex, v4(52), 24, false), true)
            .unwrap();
        let done = completions(&mut poll, &mut worker, 1);
        assert!(done[0].result.is_ok());
        assert!(find(&mut nl, a.ifindex, v4(52)).is_some());
    });
}

#[test]
fn a_batch_answers_each_change_in_its_place() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvY0", "kvY1", 1, 2);
        let delete = |addr| AddressChange {
            ifindex: a.ifindex,
            addr,
            prefix_len: 24,
            kind: ChangeKind::Delete,
        };
        let changes = [
            add_change(a.ifindex, v4(70), 24, false),
            add_change(999_999, v4(71), 24, false),
            // Already there: success, as a single add says.
            add_change(a.ifindex, v4(70), 24, false),
            // Not there: success too.
            delete(v4(73)),
            add_change(a.ifindex, v4(72), 24, false),
            // An invalid request never reaches the kernel and fails alone.
            add_change(a.ifindex, v4(74), 33, false),
            add_change(a.ifindex, v4(70), 24, true),
        ];
        let refs: Vec<&AddressChange> = changes.iter().collect();
        let results = apply_changes(&mut nl, &refs);
        assert_eq!(results.len(), changes.len());
        assert!(results[0].is_ok(), "{:?}", results[0]);
        assert_eq!(errno(results[1].as_ref().unwrap_err()), Some(Errno::ENODEV));
        assert!(results[2].is_ok() && results[3].is_ok() && results[4].is_ok());
        assert_eq!(
            results[5].as_ref().unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        assert!(results[6].is_ok());
        assert!(find(&mut nl, a.ifindex, v4(70)).is_some());
        assert!(find(&mut nl, a.ifindex, v4(72)).is_some());
        // The socket is still in step: a single request after the batch is answered.
        apply_change(&mut nl, &delete(v4(70))).unwrap();
        assert!(find(&mut nl, a.ifindex, v4(70)).is_none());
    });
}

#[test]
fn cancelled_changes_come_back_unmade() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvX0", "kvX1", 1, 2);
        let poll = mio::Poll::new().unwrap();
        let waker = std::sync::Arc::new(mio::Waker::new(poll.registry(), mio::Token(7)).unwrap());
        let mut worker = AddressWorker::spawn(RequestSocket::open().unwrap(), waker).unwrap();
        worker.cancel_queued();
        worker
            .submit(add_change(a.ifindex, v4(60), 24, false), true)
            .unwrap();
        let done = worker.wait_idle(Instant::now() + PROMPT);
        assert_eq!(done.len(), 1);
        assert_eq!(
            done[0].result.as_ref().unwrap_err().kind(),
            std::io::ErrorKind::Interrupted
        );
        assert!(find(&mut nl, a.ifindex, v4(60)).is_none());
    });
}

#[test]
fn a_quiet_success_does_not_wake_the_loop_but_a_failure_does() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvQ0", "kvQ1", 1, 2);
        let mut poll = mio::Poll::new().unwrap();
        let waker = std::sync::Arc::new(mio::Waker::new(poll.registry(), mio::Token(7)).unwrap());
        let mut worker = AddressWorker::spawn(RequestSocket::open().unwrap(), waker).unwrap();
        let mut events = mio::Events::with_capacity(8);

        worker
            .submit(add_change(a.ifindex, v4(70), 24, true), false)
            .unwrap();
        let done = worker.wait_idle(Instant::now() + PROMPT);
        assert!(done.len() == 1 && done[0].result.is_ok());
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty(), "a quiet success woke the loop");

        worker
            .submit(add_change(999_999, v4(71), 24, true), false)
            .unwrap();
        let failed = completions(&mut poll, &mut worker, 1);
        assert!(failed[0].result.is_err());
    });
}

// ---- routes and rules ----

fn net(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, a, b.wrapping_add(c)))
}

fn route_via(table: u32) -> RouteSpec {
    RouteSpec {
        dst: net(100, 0, 0),
        dst_len: 26,
        kind: RTN_UNICAST,
        src: Some(v4(1)),
        via: Some(v4(254)),
        oif: None,
        scope: None,
        table,
        metric: Some(5),
        protocol: 18,
        onlink: false,
    }
}

fn ours(nl: &mut RequestSocket, route: &RouteSpec) -> Option<RouteInfo> {
    nl.dump_routes()
        .expect("dump routes")
        .into_iter()
        .find(|r| r.dst == Some(route.dst) && r.dst_len == route.dst_len && r.table == route.table)
}

#[test]
fn routes_are_added_once_deleted_once_and_refused_with_the_kernel_s_reason() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvR0", "kvR1", 1, 2);
        let mut route = route_via(100);
        route.oif = Some(a.ifindex);
        nl.add_route(&route).unwrap();
        let seen = ours(&mut nl, &route).expect("the route is in table 100");
        assert_eq!(seen.via, Some(v4(254)));
        assert_eq!(seen.src, Some(v4(1)));
        assert_eq!(seen.oif, Some(a.ifindex));
        assert_eq!(
            (seen.metric, seen.protocol, seen.kind),
            (Some(5), 18, RTN_UNICAST)
        );
        // Added again: already there is success.
        nl.add_route(&route).unwrap();
        nl.del_route(&route).unwrap();
        assert_eq!(ours(&mut nl, &route), None);
        // Deleted again: not there is success.
        nl.del_route(&route).unwrap();

        // A table above 255 and a blackhole route.
        let hole = RouteSpec {
            dst: net(100, 128, 0),
            dst_len: 25,
            kind: RTN_BLACKHOLE,
            src: None,
            via: None,
            oif: None,
            scope: None,
            table: 70_000,
            metric: None,
            protocol: 18,
            onlink: false,
        };
        nl.add_route(&hole).unwrap();
        assert_eq!(ours(&mut nl, &hole).map(|r| r.kind), Some(RTN_BLACKHOLE));
        nl.del_route(&hole).unwrap();
        assert_eq!(ours(&mut nl, &hole), None);

        // IPv6, through the link's gateway.
        let v6route = RouteSpec {
            dst: "2001:db8:1::".parse().unwrap(),
            dst_len: 48,
            via: Some(v6(254)),
            src: None,
            oif: Some(a.ifindex),
            metric: Some(1024),
            ..route_via(100)
        };
        nl.add_route(&v6route).unwrap();
        assert!(ours(&mut nl, &v6route).is_some());
        nl.del_route(&v6route).unwrap();
        assert_eq!(ours(&mut nl, &v6route), None);

        // A gateway on no connected network, and a source that is not ours.
        let e = nl
            .add_route(&RouteSpec {
                via: Some("203.0.113.1".parse().unwrap()),
                src: None,
                ..route_via(100)
            })
            .unwrap_err();
        assert_eq!(errno(&e), Some(Errno::ENETUNREACH), "{e}");
        let e = nl
            .add_route(&RouteSpec {
                src: Some(v4(99)),
                ..route_via(100)
            })
            .unwrap_err();
        assert_eq!(errno(&e), Some(Errno::EINVAL), "{e}");
    });
}

#[test]
fn rules_are_added_once_and_deleted_once() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let rule = RuleSpec {
            ipv6: false,
            from: Some((net(100, 0, 0), 24)),
            to: None,
            iif: Some("lo".into()),
            oif: None,
            fwmark: Some(0x10),
            fwmask: Some(0xff),
            table: 100,
            priority: 1000,
            protocol: 18,
        };
        let find = |nl: &mut RequestSocket, rule: &RuleSpec| {
            nl.dump_rules()
                .unwrap()
                .into_iter()
                .find(|r| r.priority == rule.priority && r.ipv6 == rule.ipv6)
        };
        nl.add_rule(&rule).unwrap();
        let seen = find(&mut nl, &rule).expect("the rule is there");
        assert_eq!((seen.table, seen.from, seen.protocol), (100, rule.from, 18));
        nl.add_rule(&rule).unwrap();
        let count = nl
            .dump_rules()
            .unwrap()
            .iter()
            .filter(|r| r.priority == 1000)
            .count();
        assert_eq!(
            count, 1,
            "an add of a rule that is there adds no second one"
        );
        nl.del_rule(&rule).unwrap();
        assert_eq!(find(&mut nl, &rule), None);
        nl.del_rule(&rule).unwrap();

        let v6rule = RuleSpec {
            ipv6: true,
            from: Some(("2001:db8:1::".parse().unwrap(), 48)),
            to: Some(("2001:db8:2::".parse().unwrap(), 48)),
            iif: None,
            fwmark: None,
            fwmask: None,
            priority: 1001,
            ..rule
        };
        nl.add_rule(&v6rule).unwrap();
        assert_eq!(find(&mut nl, &v6rule).map(|r| r.to), Some(v6rule.to));
        nl.del_rule(&v6rule).unwrap();
        assert_eq!(find(&mut nl, &v6rule), None);
    });
}
