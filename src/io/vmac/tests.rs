//! Real-kernel tests, each in private network namespaces (see `io::testns`).

use std::os::fd::AsRawFd;

use nix::errno::Errno;

use super::*;
use crate::io::netlink::NetEvent;
use crate::io::testns::{
    in_new_netns, two_hosts, veth_pair, wait_readable_until, wait_until_oper_up, Watcher, PROMPT,
};
use crate::io::vrrp_socket::{Received, VrrpSocket};
use crate::wire::{eui64_link_local, virtual_mac, Family, MCAST_V4, MCAST_V6};

/// VRRPv3, VRID 51, priority 100, one address; this layer does not look inside.
const ADVERT_V4: [u8; 12] = [0x31, 51, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100];
const ADVERT_V6: [u8; 24] = [
    0x31, 51, 100, 1, 0, 100, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x64,
];

fn link(nl: &mut RequestSocket, name: &str) -> LinkInfo {
    nl.link_by_name(name)
        .expect("link_by_name")
        .unwrap_or_else(|| panic!("{name} does not exist"))
}

fn recv_within(socket: &VrrpSocket, buf: &mut [u8]) -> Option<Received> {
    wait_readable_until(socket.as_raw_fd(), PROMPT, || {
        socket.recv(buf).expect("recv")
    })
}

/// Creates and configures a VMAC called `name` on `parent`, then waits until it is operational.
fn vmac_up(nl: &mut RequestSocket, name: &str, parent: u32, family: Family, ll: Option<Ipv6Addr>) {
    let mut events = Watcher::open();
    create_vmac(nl, name, parent, virtual_mac(family, 51)).expect("create the VMAC");
    let ifindex = link(nl, name).ifindex;
    configure_vmac(
        nl,
        &VmacConfig {
            name,
            ifindex,
            ipv4: family == Family::V4,
            ipv6: family == Family::V6,
            link_local: ll,
        },
    )
    .expect("configure the VMAC");
    wait_until_oper_up(nl, &mut events, ifindex);
}

#[test]
fn a_vmac_is_a_private_macvlan_with_the_virtual_mac() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        nl.create_veth("kvW0", "kvW1").unwrap();
        let parent = link(&mut nl, "kvW0");
        let other = link(&mut nl, "kvW1");
        assert_eq!(parent.macvlan, None, "a veth is not a macvlan");
        let mac = virtual_mac(Family::V4, 51);

        create_vmac(&mut nl, "vrrp.51", parent.ifindex, mac).unwrap();
        let vmac = link(&mut nl, "vrrp.51");
        assert_eq!(vmac.mac, Some(mac));
        assert_eq!(
            vmac.macvlan.map(|m| (m.lower, m.mode)),
            Some((Some(parent.ifindex), MACVLAN_MODE_PRIVATE))
        );
        assert!(!vmac.admin_up, "created down");
        assert!(is_vmac_for(&vmac, parent.ifindex, mac));
        assert!(!is_vmac_for(&vmac, other.ifindex, mac));
        assert!(!is_vmac_for(
            &vmac,
            parent.ifindex,
            virtual_mac(Family::V6, 51)
        ));
        assert!(!is_vmac_for(&parent, parent.ifindex, mac));

        let e = create_vmac(&mut nl, "vrrp.51", parent.ifindex, mac).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(Errno::EEXIST as i32), "{e}");
        // A bridge-mode macvlan with the right MAC is not one of ours.
        nl.create_macvlan("kvBr", other.ifindex, mac, 4).unwrap();
        let bridge = link(&mut nl, "kvBr");
        assert_eq!(bridge.macvlan.map(|m| m.mode), Some(4));
        assert!(!is_vmac_for(&bridge, other.ifindex, mac));

        nl.delete_link(vmac.ifindex).unwrap();
        assert_eq!(nl.link_by_name("vrrp.51").unwrap(), None);
        assert!(
            nl.link_by_index(parent.ifindex).unwrap().is_some(),
            "parent stays"
        );
    });
}

#[test]
fn an_ipv4_vmac_gets_keepalived_s_parameters_and_no_ipv6() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, _b) = veth_pair(&mut nl, "kvX0", "kvX1", 1, 2);
        vmac_up(&mut nl, "vrrp.51", a.ifindex, Family::V4, None);
        let vmac = link(&mut nl, "vrrp.51");
        assert!(vmac.admin_up && vmac.oper_up);
        for (key, value) in [
            ("arp_ignore", 1),
            ("accept_local", 1),
            ("rp_filter", 0),
            ("promote_secondaries", 1),
        ] {
            assert_eq!(sysctl::ipv4_conf("vrrp.51", key).unwrap(), value, "{key}");
        }
        assert_eq!(sysctl::ipv6_conf("vrrp.51", "disable_ipv6").unwrap(), 1);
        assert_eq!(
            nl.dump_addresses(Some(vmac.ifindex)).unwrap(),
            [],
            "no link-local address with the virtual MAC"
        );
        // Configuring again (a VMAC left by an earlier run) is harmless.
        configure_vmac(
            &mut nl,
            &VmacConfig {
                name: "vrrp.51",
                ifindex: vmac.ifindex,
                ipv4: true,
                ipv6: false,
                link_local: None,
            },
        )
        .unwrap();
    });
}

#[test]
fn an_ipv6_vmac_holds_only_the_link_local_address_it_is_given() {
    in_new_netns(|| {
        let mut nl = RequestSocket::open().unwrap();
        let (a, b) = veth_pair(&mut nl, "kvY0", "kvY1", 1, 2);
        let ours = a.link_local;
        vmac_up(&mut nl, "vrrp6.51", a.ifindex, Family::V6, Some(ours));
        let vmac = link(&mut nl, "vrrp6.51");
        let addrs = nl.dump_addresses(Some(vmac.ifindex)).unwrap();
        assert_eq!(
            addrs.iter().map(|x| x.addr).collect::<Vec<_>>(),
            [IpAddr::V6(ours)]
        );
        assert!(addrs[0].flags.nodad() && !addrs[0].flags.tentative());
        assert_eq!(sysctl::ipv6_conf("vrrp6.51", "disable_ipv6").unwrap(), 0);

        // Control: the same macvlan without our configuration gets the EUI-64 address of the
        // virtual MAC, which every router of the group would share.
        let mut events = Watcher::open();
        let mac = virtual_mac(Family::V6, 52);
        create_vmac(&mut nl, "kvCtl", b.ifindex, mac).unwrap();
        let control = link(&mut nl, "kvCtl");
        nl.set_link_up(control.ifindex).unwrap();
        let generated = IpAddr::V6(eui64_link_local(mac));
        let seen = events.wait(PROMPT, |e| {
            matches!(e, NetEvent::AddressAdded(x) if x.ifindex == control.ifindex && x.addr == generated)
        });
        assert!(seen.is_some(), "the kernel did not generate {generated}");
    });
}

#[test]
fn a_backup_s_vmac_hears_adverts_from_the_master_s_vmac_and_its_parent_does_not() {
    in_new_netns(|| {
        let mut hosts = two_hosts("kvZ0", "kvZ1");
        let (a, b) = (hosts.a.clone(), hosts.b.clone());
        for family in [Family::V4, Family::V6] {
            let name = match family {
                Family::V4 => "vrrp.51",
                Family::V6 => "vrrp6.51",
            };
            // Both routers own the same virtual MAC; IPv6 VMACs borrow their parent's
            // link-local address, as keepalived does.
            let ll =
                |end: &crate::io::testns::End| (family == Family::V6).then_some(end.link_local);
            vmac_up(&mut hosts.nl_a, name, a.ifindex, family, ll(&a));
            let (rx_vmac, rx_parent) = hosts.b_ns.run(|| {
                let mut nl = RequestSocket::open().unwrap();
                vmac_up(&mut nl, name, b.ifindex, family, ll(&b));
                let ifindex = link(&mut nl, name).ifindex;
                (
                    VrrpSocket::open(ifindex, name, family, None).unwrap(),
                    VrrpSocket::open(b.ifindex, &b.name, family, None).unwrap(),
                )
            });
            let tx_index = link(&mut hosts.nl_a, name).ifindex;
            let tx = VrrpSocket::open(tx_index, name, family, None).unwrap();
            // IPv4: the source is the parent's address, which the VMAC does not hold.
            let (payload, src, dst): (&[u8], IpAddr, IpAddr) = match family {
                Family::V4 => (&ADVERT_V4, IpAddr::V4(a.v4), IpAddr::V4(MCAST_V4)),
                Family::V6 => (&ADVERT_V6, IpAddr::V6(a.link_local), IpAddr::V6(MCAST_V6)),
            };
            tx.send_from(payload, Some(src), dst).unwrap();

            let mut buf = [0u8; 1500];
            let got = recv_within(&rx_vmac, &mut buf)
                .unwrap_or_else(|| panic!("{family}: the backup's VMAC heard nothing"));
            assert_eq!(got.src, src);
            assert_eq!(got.ifindex, rx_vmac.ifindex());
            // The parent hands a frame from its own VMAC's MAC to that VMAC alone (private
            // mode), synchronously before the VMAC's copy is queued: had it kept a copy, it
            // would be readable by now.
            assert_eq!(rx_parent.recv(&mut buf).unwrap(), None, "{family}");
        }
    });
}
