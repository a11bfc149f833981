//! Real-kernel tests: two hosts (network namespaces created by the test) joined by a veth pair.

use std::io::IoSliceMut;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::socket::{recv, recvmsg, ControlMessageOwned, SockaddrIn6};

use super::*;
use crate::io::testns::{in_new_netns, two_hosts, wait_readable_until, End, PROMPT};

const ETH_P_ARP: u16 = 0x0806;
const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
const IPPROTO_ICMPV6: u8 = 58;

/// A gratuitous ARP request for `ip` from `mac`, built by hand (the real builder is `wire`'s).
fn gratuitous_arp(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ip.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&ip.octets());
    frame
}

/// An unsolicited Neighbor Advertisement (Override flag, target link-layer address option)
/// whose checksum field holds garbage: the kernel must compute the real one.
fn unsolicited_na(target: Ipv6Addr, mac: [u8; 6]) -> Vec<u8> {
    let mut message = vec![ICMPV6_NEIGHBOR_ADVERT, 0, 0xde, 0xad, 0x20, 0, 0, 0];
    message.extend_from_slice(&target.octets());
    message.extend_from_slice(&[2, 1]);
    message.extend_from_slice(&mac);
    message
}

/// The Internet checksum over the IPv6 pseudo-header and `message`: 0 when it is correct.
fn icmpv6_checksum_residue(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&src.octets());
    bytes.extend_from_slice(&dst.octets());
    bytes.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, IPPROTO_ICMPV6]);
    bytes.extend_from_slice(message);
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An `AF_PACKET` socket receiving ARP frames on one interface (tests only).
fn arp_listener(ifindex: u32) -> Socket {
    let socket = Socket::new(
        Domain::PACKET,
        Type::RAW.nonblocking(),
        Some(Protocol::from(i32::from(ETH_P_ARP.to_be()))),
    )
    .unwrap();
    socket
        .bind(&sys::packet_sockaddr(ifindex, ETH_P_ARP, [0; 6]).unwrap())
        .unwrap();
    socket
}

/// A raw ICMPv6 socket on one interface reporting hop limits (tests only).
fn icmpv6_listener(end: &End) -> Socket {
    let socket = Socket::new(
        Domain::IPV6,
        Type::RAW.nonblocking(),
        Some(Protocol::ICMPV6),
    )
    .unwrap();
    socket.bind_device(Some(end.name.as_bytes())).unwrap();
    socket.set_recv_hoplimit_v6(true).unwrap();
    socket
}

/// Waits for a Neighbor Advertisement on `socket`: (source, hop limit, message).
fn recv_na(socket: &Socket) -> Option<(Ipv6Addr, i32, Vec<u8>)> {
    let mut buf = [0u8; 1500];
    wait_readable_until(socket.as_raw_fd(), PROMPT, || loop {
        let mut cmsg = nix::cmsg_space!(libc::c_int);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = match recvmsg::<SockaddrIn6>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        ) {
            Ok(msg) => msg,
            Err(Errno::EAGAIN) => return None,
            Err(e) => panic!("recvmsg: {e}"),
        };
        let hop_limit = msg.cmsgs().unwrap().find_map(|c| match c {
            ControlMessageOwned::Ipv6HopLimit(h) => Some(h),
            _ => None,
        });
        let src = msg.address.map(|a| a.ip());
        let len = msg.bytes;
        // Other ICMPv6 traffic (MLD reports) may share the link: wait for the NA.
        if buf.first() == Some(&ICMPV6_NEIGHBOR_ADVERT) {
            return Some((src.unwrap(), hop_limit.unwrap(), buf[..len].to_vec()));
        }
    })
}

#[test]
fn senders_are_cloexec_and_nonblocking() {
    in_new_netns(|| {
        let frames = FrameSender::open().unwrap();
        let icmp = Icmpv6Sender::open().unwrap();
        for fd in [frames.as_fd(), icmp.as_fd()] {
            let flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap());
            assert!(flags.contains(FdFlag::FD_CLOEXEC));
            let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL).unwrap());
            assert!(flags.contains(OFlag::O_NONBLOCK));
        }
    });
}

#[test]
fn gratuitous_arp_frame_crosses_the_link() {
    in_new_netns(|| {
        let hosts = two_hosts("kvN0", "kvN1");
        let (a, b) = (&hosts.a, &hosts.b);
        let listener = hosts.b_ns.run(|| arp_listener(b.ifindex));
        let sender = FrameSender::open().unwrap();
        let frame = gratuitous_arp(a.mac, Ipv4Addr::new(192, 0, 2, 100));

        sender.send_frame(a.ifindex, &frame).unwrap();
        let got = wait_readable_until(listener.as_raw_fd(), PROMPT, || loop {
            let mut buf = [0u8; 1600];
            match recv(listener.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) if buf[..n] == frame[..] => return Some(buf[..n].to_vec()),
                Ok(_) => continue,
                Err(Errno::EAGAIN) => return None,
                Err(e) => panic!("recv: {e}"),
            }
        });
        assert_eq!(
            got.as_deref(),
            Some(&frame[..]),
            "the frame arrives byte for byte"
        );

        // Protocol 0: not even our own outgoing frame is queued on the sender.
        let mut buf = [0u8; 64];
        assert_eq!(
            recv(sender.as_raw_fd(), &mut buf, MsgFlags::empty()),
            Err(Errno::EAGAIN)
        );

        let e = sender.send_frame(a.ifindex, &frame[..13]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = sender.send_frame(9999, &frame).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENXIO), "{e}");
    });
}

#[test]
fn unsolicited_na_crosses_the_link_with_hop_limit_255() {
    in_new_netns(|| {
        let hosts = two_hosts("kvO0", "kvO1");
        let (a, b) = (&hosts.a, &hosts.b);
        let listener = hosts.b_ns.run(|| icmpv6_listener(b));
        let sender = Icmpv6Sender::open().unwrap();
        let message = unsolicited_na(a.v6, a.mac);

        sender
            .send_all_nodes(a.ifindex, a.link_local, &message)
            .unwrap();
        let (src, hop_limit, got) = recv_na(&listener).expect("NA received");
        assert_eq!(src, a.link_local);
        assert_eq!(hop_limit, 255);
        assert_eq!(got.len(), message.len());
        assert_eq!(
            got[4..],
            message[4..],
            "everything but the checksum unchanged"
        );
        assert_eq!(
            icmpv6_checksum_residue(src, ALL_NODES, &got),
            0,
            "kernel checksum is valid"
        );

        // From another source (a VIP's own address would do) on the same socket.
        sender.send_all_nodes(a.ifindex, a.v6, &message).unwrap();
        let (src, _, _) = recv_na(&listener).expect("second NA");
        assert_eq!(src, a.v6);

        // A non-local source is refused.
        let foreign = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99);
        let e = sender
            .send_all_nodes(a.ifindex, foreign, &message)
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
    });
}

#[test]
fn icmpv6_sender_queues_nothing() {
    in_new_netns(|| {
        let hosts = two_hosts("kvP0", "kvP1");
        let (a, b) = (&hosts.a, &hosts.b);
        let sender_a = Icmpv6Sender::open().unwrap();
        let control_a = icmpv6_listener(a);
        let sender_b = hosts.b_ns.run(|| Icmpv6Sender::open().unwrap());

        // b announces to all nodes; host a receives it (the control socket proves it)...
        sender_b
            .send_all_nodes(b.ifindex, b.link_local, &unsolicited_na(b.v6, b.mac))
            .unwrap();
        assert!(recv_na(&control_a).is_some());
        // ...but a's sender socket, with its ICMP6_FILTER, has nothing queued.
        let mut buf = [0u8; 64];
        assert_eq!(
            recv(sender_a.as_raw_fd(), &mut buf, MsgFlags::empty()),
            Err(Errno::EAGAIN)
        );
    });
}
