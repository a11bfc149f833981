//! Real-kernel tests: two hosts (network namespaces created by the test) joined by a veth pair.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::socket::{recv, MsgFlags};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use super::*;
use crate::io::testns::{in_new_netns, two_hosts, wait_readable_until, PROMPT};

/// A VRRPv3 advert for VRID 7, priority 100, one address (192.0.2.100); the checksum is not
/// this layer's business, so it is left zero.
const ADVERT_V4: [u8; 12] = [0x31, 7, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100];
const ADVERT_V6: [u8; 24] = [
    0x31, 7, 100, 1, 0, 100, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x64,
];
const GROUP_ELSEWHERE_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 99);
const GROUP_ELSEWHERE_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x99);

/// Waits for the next packet on `socket`.
fn recv_within(socket: &VrrpSocket, buf: &mut [u8]) -> Option<Received> {
    wait_readable_until(socket.as_raw_fd(), PROMPT, || {
        socket.recv(buf).expect("recv")
    })
}

/// Waits for the next packet on a plain socket, returning its bytes.
fn raw_recv_within(socket: &Socket) -> Option<Vec<u8>> {
    let mut buf = [0u8; 2048];
    wait_readable_until(socket.as_raw_fd(), PROMPT, || {
        match recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => buf.get(..n).map(<[u8]>::to_vec),
            Err(Errno::EAGAIN) => None,
            Err(e) => panic!("recv: {e}"),
        }
    })
}

/// A raw protocol-112 socket with every kernel default (`MULTICAST_ALL` on, no device bound):
/// it shows what arrives at the host, to compare with what a `VrrpSocket` is given.
fn control_socket(domain: Domain) -> Socket {
    Socket::new(
        domain,
        Type::RAW.nonblocking(),
        Some(Protocol::from(i32::from(IPPROTO_VRRP))),
    )
    .expect("control socket")
}

/// Splits an IPv4 datagram into (header, payload), checking the fields the kernel must have
/// set for a VRRP advert.
fn check_ipv4_datagram(datagram: &[u8]) -> &[u8] {
    assert_eq!(datagram[0] >> 4, 4, "IPv4");
    let ihl = usize::from(datagram[0] & 0x0f) * 4;
    assert_eq!(datagram[1], 0xc0, "TOS network control");
    assert_eq!(datagram[8], 255, "TTL");
    assert_eq!(datagram[9], IPPROTO_VRRP, "protocol");
    &datagram[ihl..]
}

#[test]
fn sockets_are_cloexec_and_nonblocking() {
    in_new_netns(|| {
        let hosts = two_hosts("kvS0", "kvS1");
        for family in [Family::V4, Family::V6] {
            let socket = VrrpSocket::open(hosts.a.ifindex, &hosts.a.name, family, None).unwrap();
            let fd_flags = FdFlag::from_bits_retain(fcntl(&socket, FcntlArg::F_GETFD).unwrap());
            assert!(fd_flags.contains(FdFlag::FD_CLOEXEC));
            let fl_flags = OFlag::from_bits_retain(fcntl(&socket, FcntlArg::F_GETFL).unwrap());
            assert!(fl_flags.contains(OFlag::O_NONBLOCK));
            // Room for a burst beyond the kernel's default (the kernel reports it doubled).
            let rcvbuf =
                nix::sys::socket::getsockopt(&socket, nix::sys::socket::sockopt::RcvBuf).unwrap();
            assert!(
                rcvbuf >= super::RECEIVE_BUFFER_BYTES,
                "SO_RCVBUF is {rcvbuf}"
            );
            assert_eq!(
                socket.recv(&mut [0u8; 64]).unwrap(),
                None,
                "empty queue is None"
            );
        }
    });
}

#[test]
fn open_checks_name_index_and_families() {
    in_new_netns(|| {
        let hosts = two_hosts("kvT0", "kvT1");
        let e = VrrpSocket::open(hosts.a.ifindex + 100, "kvT0", Family::V4, None)
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(VrrpSocket::open(hosts.a.ifindex, "nonexistent0", Family::V4, None).is_err());
        let v6_src = Some(IpAddr::V6(hosts.a.link_local));
        assert!(VrrpSocket::open(hosts.a.ifindex, &hosts.a.name, Family::V4, v6_src).is_err());
        let socket = VrrpSocket::open(hosts.a.ifindex, &hosts.a.name, Family::V4, None).unwrap();
        let e = socket.send(&ADVERT_V4, IpAddr::V6(MCAST_V6)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn ipv4_multicast_advert_crosses_the_link() {
    in_new_netns(|| {
        let hosts = two_hosts("kvU0", "kvU1");
        let (a, b) = (&hosts.a, &hosts.b);
        let tx = VrrpSocket::open(a.ifindex, &a.name, Family::V4, Some(IpAddr::V4(a.v4))).unwrap();
        let rx = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V4, None))
            .unwrap();

        tx.send(&ADVERT_V4, IpAddr::V4(MCAST_V4)).unwrap();
        let mut buf = [0u8; 1500];
        let got = recv_within(&rx, &mut buf).expect("advert received");
        assert_eq!(got.src, IpAddr::V4(a.v4));
        assert_eq!(got.dst, IpAddr::V4(MCAST_V4));
        assert_eq!(got.ttl_or_hoplimit, 255);
        assert_eq!(got.ifindex, b.ifindex);
        assert!(!got.truncated);
        assert_eq!(check_ipv4_datagram(&buf[..got.len]), ADVERT_V4);

        // Multicast loopback is off: the sender never hears itself, even though it is a
        // member of the group on that interface.
        assert_eq!(tx.recv(&mut buf).unwrap(), None);

        // A buffer too small for the datagram is reported, not silently accepted.
        tx.send(&ADVERT_V4, IpAddr::V4(MCAST_V4)).unwrap();
        let mut small = [0u8; 16];
        let got = recv_within(&rx, &mut small).expect("second advert");
        assert!(got.truncated && got.len == 16);
    });
}

#[test]
fn ipv6_multicast_advert_crosses_the_link() {
    in_new_netns(|| {
        let hosts = two_hosts("kvV0", "kvV1");
        let (a, b) = (&hosts.a, &hosts.b);
        let tx = VrrpSocket::open(
            a.ifindex,
            &a.name,
            Family::V6,
            Some(IpAddr::V6(a.link_local)),
        )
        .unwrap();
        let rx = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V6, None))
            .unwrap();

        tx.send(&ADVERT_V6, IpAddr::V6(MCAST_V6)).unwrap();
        let mut buf = [0u8; 1500];
        let got = recv_within(&rx, &mut buf).expect("advert received");
        assert_eq!(got.src, IpAddr::V6(a.link_local));
        assert_eq!(got.dst, IpAddr::V6(MCAST_V6));
        assert_eq!(got.ttl_or_hoplimit, 255);
        assert_eq!(got.ifindex, b.ifindex);
        // IPv6 raw sockets deliver the payload alone, unchanged: no checksum was inserted.
        assert_eq!(&buf[..got.len], ADVERT_V6);
        assert_eq!(tx.recv(&mut buf).unwrap(), None, "no multicast loopback");
    });
}

#[test]
fn unicast_adverts_carry_ttl_255_and_the_unicast_destination() {
    in_new_netns(|| {
        let hosts = two_hosts("kvW0", "kvW1");
        let (a, b) = (&hosts.a, &hosts.b);
        let mut buf = [0u8; 1500];

        let tx4 = VrrpSocket::open(a.ifindex, &a.name, Family::V4, Some(IpAddr::V4(a.v4))).unwrap();
        let rx4 = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V4, None))
            .unwrap();
        tx4.send(&ADVERT_V4, IpAddr::V4(b.v4)).unwrap();
        let got = recv_within(&rx4, &mut buf).expect("unicast v4 advert");
        assert_eq!((got.src, got.dst), (IpAddr::V4(a.v4), IpAddr::V4(b.v4)));
        assert_eq!(got.ttl_or_hoplimit, 255);
        assert_eq!(check_ipv4_datagram(&buf[..got.len]), ADVERT_V4);

        let tx6 = VrrpSocket::open(a.ifindex, &a.name, Family::V6, Some(IpAddr::V6(a.v6))).unwrap();
        let rx6 = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V6, None))
            .unwrap();
        tx6.send(&ADVERT_V6, IpAddr::V6(b.v6)).unwrap();
        let got = recv_within(&rx6, &mut buf).expect("unicast v6 advert");
        assert_eq!((got.src, got.dst), (IpAddr::V6(a.v6), IpAddr::V6(b.v6)));
        assert_eq!(got.ttl_or_hoplimit, 255);
        // Link-local unicast needs the scope the socket supplies.
        tx6.send_from(
            &ADVERT_V6,
            Some(IpAddr::V6(a.link_local)),
            IpAddr::V6(b.link_local),
        )
        .unwrap();
        let got = recv_within(&rx6, &mut buf).expect("link-local unicast v6 advert");
        assert_eq!(got.dst, IpAddr::V6(b.link_local));
    });
}

#[test]
fn unicast_ttl_is_set_per_packet() {
    in_new_netns(|| {
        let hosts = two_hosts("kvU0", "kvU1");
        let (a, b) = (&hosts.a, &hosts.b);
        let mut buf = [0u8; 1500];
        let tx4 = VrrpSocket::open(a.ifindex, &a.name, Family::V4, None).unwrap();
        let rx4 = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V4, None))
            .unwrap();
        tx4.send_with_ttl(
            &ADVERT_V4,
            Some(IpAddr::V4(a.v4)),
            IpAddr::V4(b.v4),
            Some(64),
        )
        .unwrap();
        let got = recv_within(&rx4, &mut buf).expect("unicast v4 advert");
        assert_eq!(got.ttl_or_hoplimit, 64);
        assert_eq!(buf[8], 64, "TTL in the IPv4 header");
        // The next packet without a TTL goes out with the socket's 255 again.
        tx4.send_from(&ADVERT_V4, Some(IpAddr::V4(a.v4)), IpAddr::V4(b.v4))
            .unwrap();
        assert_eq!(recv_within(&rx4, &mut buf).unwrap().ttl_or_hoplimit, 255);

        let tx6 = VrrpSocket::open(a.ifindex, &a.name, Family::V6, None).unwrap();
        let rx6 = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V6, None))
            .unwrap();
        tx6.send_with_ttl(
            &ADVERT_V6,
            Some(IpAddr::V6(a.v6)),
            IpAddr::V6(b.v6),
            Some(7),
        )
        .unwrap();
        let got = recv_within(&rx6, &mut buf).expect("unicast v6 advert");
        assert_eq!((got.src, got.ttl_or_hoplimit), (IpAddr::V6(a.v6), 7));
    });
}

#[test]
fn several_sources_share_one_socket() {
    in_new_netns(|| {
        let mut hosts = two_hosts("kvX0", "kvX1");
        let (a, b) = (hosts.a.clone(), hosts.b.clone());
        let second_v4 = Ipv4Addr::new(192, 0, 2, 11);
        let second_v6 = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 11);
        hosts
            .nl_a
            .add_address(a.ifindex, IpAddr::V4(second_v4), 24, None, None, false)
            .unwrap();
        hosts
            .nl_a
            .add_address(a.ifindex, IpAddr::V6(second_v6), 64, None, None, false)
            .unwrap();
        let mut buf = [0u8; 1500];

        let tx4 = VrrpSocket::open(a.ifindex, &a.name, Family::V4, None).unwrap();
        let rx4 = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V4, None))
            .unwrap();
        for src in [a.v4, second_v4] {
            tx4.send_from(&ADVERT_V4, Some(IpAddr::V4(src)), IpAddr::V4(MCAST_V4))
                .unwrap();
            let got = recv_within(&rx4, &mut buf).expect("advert");
            assert_eq!(got.src, IpAddr::V4(src));
        }
        // Without a source the kernel picks the interface's primary address.
        tx4.send(&ADVERT_V4, IpAddr::V4(MCAST_V4)).unwrap();
        assert_eq!(
            recv_within(&rx4, &mut buf).expect("advert").src,
            IpAddr::V4(a.v4)
        );
        // A source that is not a local address is refused.
        let foreign = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99));
        let e = tx4
            .send_from(&ADVERT_V4, Some(foreign), IpAddr::V4(MCAST_V4))
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENETUNREACH), "{e}");

        let tx6 = VrrpSocket::open(a.ifindex, &a.name, Family::V6, None).unwrap();
        let rx6 = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V6, None))
            .unwrap();
        for src in [a.link_local, second_v6] {
            tx6.send_from(&ADVERT_V6, Some(IpAddr::V6(src)), IpAddr::V6(MCAST_V6))
                .unwrap();
            assert_eq!(
                recv_within(&rx6, &mut buf).expect("advert").src,
                IpAddr::V6(src)
            );
        }
        let foreign = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 99));
        let e = tx6
            .send_from(&ADVERT_V6, Some(foreign), IpAddr::V6(MCAST_V6))
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
    });
}

#[test]
fn a_socket_hears_only_its_own_interface() {
    in_new_netns(|| {
        let hosts = two_hosts("kvY0", "kvY1");
        let (a, b) = (&hosts.a, &hosts.b);
        // A second interface on host b, with its own VRRP socket.
        let (other, control, rx_b, rx_other) = hosts.b_ns.run(|| {
            let mut nl = crate::io::netlink::RequestSocket::open().unwrap();
            nl.create_veth("kvYo0", "kvYo1").unwrap();
            let other = nl.link_by_name("kvYo0").unwrap().unwrap();
            nl.set_link_up(other.ifindex).unwrap();
            (
                other.ifindex,
                control_socket(Domain::IPV4),
                VrrpSocket::open(b.ifindex, &b.name, Family::V4, None).unwrap(),
                VrrpSocket::open(other.ifindex, "kvYo0", Family::V4, None).unwrap(),
            )
        });
        let tx = VrrpSocket::open(a.ifindex, &a.name, Family::V4, Some(IpAddr::V4(a.v4))).unwrap();
        tx.send(&ADVERT_V4, IpAddr::V4(b.v4)).unwrap();

        let mut buf = [0u8; 1500];
        assert!(
            recv_within(&rx_b, &mut buf).is_some(),
            "the socket on kvY1 hears it"
        );
        // An unbound raw socket hears it too (every protocol-112 packet of the namespace)...
        assert!(
            raw_recv_within(&control).is_some(),
            "unbound socket hears it"
        );
        // ...but the socket bound to the other interface does not.
        assert_eq!(
            rx_other.recv(&mut buf).unwrap(),
            None,
            "ifindex {other} heard kvY1's traffic"
        );
    });
}

#[test]
fn groups_joined_elsewhere_do_not_leak_in() {
    in_new_netns(|| {
        let hosts = two_hosts("kvZ0", "kvZ1");
        let (a, b) = (&hosts.a, &hosts.b);
        // On host b, some other program joins other groups on the same interface, so the
        // kernel accepts those packets; a default raw socket then receives them.
        let (_joined, control4, control6, rx4, rx6) = hosts.b_ns.run(|| {
            let udp4 = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
            udp4.join_multicast_v4_n(
                &GROUP_ELSEWHERE_V4,
                &InterfaceIndexOrAddress::Index(b.ifindex),
            )
            .unwrap();
            let udp6 = Socket::new(Domain::IPV6, Type::DGRAM, None).unwrap();
            udp6.join_multicast_v6(&GROUP_ELSEWHERE_V6, b.ifindex)
                .unwrap();
            (
                (udp4, udp6),
                control_socket(Domain::IPV4),
                control_socket(Domain::IPV6),
                VrrpSocket::open(b.ifindex, &b.name, Family::V4, None).unwrap(),
                VrrpSocket::open(b.ifindex, &b.name, Family::V6, None).unwrap(),
            )
        });
        let tx4 = VrrpSocket::open(a.ifindex, &a.name, Family::V4, Some(IpAddr::V4(a.v4))).unwrap();
        let tx6 = VrrpSocket::open(
            a.ifindex,
            &a.name,
            Family::V6,
            Some(IpAddr::V6(a.link_local)),
        )
        .unwrap();
        let mut buf = [0u8; 1500];

        tx4.send(&ADVERT_V4, IpAddr::V4(GROUP_ELSEWHERE_V4))
            .unwrap();
        let seen = raw_recv_within(&control4).expect("the default socket hears 224.0.0.99");
        assert_eq!(check_ipv4_datagram(&seen), ADVERT_V4);
        assert_eq!(
            rx4.recv(&mut buf).unwrap(),
            None,
            "224.0.0.99 leaked into the VRRP socket"
        );

        tx6.send(&ADVERT_V6, IpAddr::V6(GROUP_ELSEWHERE_V6))
            .unwrap();
        assert_eq!(raw_recv_within(&control6).as_deref(), Some(&ADVERT_V6[..]));
        assert_eq!(
            rx6.recv(&mut buf).unwrap(),
            None,
            "ff02::99 leaked into the VRRP socket"
        );

        // The VRRP groups themselves still arrive.
        tx4.send(&ADVERT_V4, IpAddr::V4(MCAST_V4)).unwrap();
        assert!(recv_within(&rx4, &mut buf).is_some());
        tx6.send(&ADVERT_V6, IpAddr::V6(MCAST_V6)).unwrap();
        assert!(recv_within(&rx6, &mut buf).is_some());
    });
}

#[test]
fn registers_with_mio() {
    in_new_netns(|| {
        let hosts = two_hosts("kvR0", "kvR1");
        let (a, b) = (&hosts.a, &hosts.b);
        let tx = VrrpSocket::open(a.ifindex, &a.name, Family::V4, Some(IpAddr::V4(a.v4))).unwrap();
        let mut rx = hosts
            .b_ns
            .run(|| VrrpSocket::open(b.ifindex, &b.name, Family::V4, None))
            .unwrap();
        let mut poll = mio::Poll::new().unwrap();
        poll.registry()
            .register(&mut rx, mio::Token(7), mio::Interest::READABLE)
            .unwrap();
        tx.send(&ADVERT_V4, IpAddr::V4(MCAST_V4)).unwrap();
        let mut events = mio::Events::with_capacity(4);
        poll.poll(&mut events, Some(PROMPT)).unwrap();
        assert!(events
            .iter()
            .any(|e| e.token() == mio::Token(7) && e.is_readable()));
        let mut buf = [0u8; 1500];
        assert!(rx.recv(&mut buf).unwrap().is_some());
        assert_eq!(rx.recv(&mut buf).unwrap(), None);
        poll.registry().deregister(&mut rx).unwrap();
    });
}
