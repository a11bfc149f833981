//! Send-only sockets for announcing VIPs: whole Ethernet frames (gratuitous ARP) through
//! `AF_PACKET`, and ICMPv6 messages (unsolicited Neighbor Advertisements) through a raw ICMPv6
//! socket. The frames and messages come ready-made from `wire`.
//!
//! Neither socket ever queues received traffic: the `AF_PACKET` socket is opened with protocol
//! 0, so the kernel hands it no frames (and it does not make the interface promiscuous); the
//! ICMPv6 socket filters out every ICMPv6 type with `ICMP6_FILTER`.

use std::io::{self, IoSlice};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn6};
use socket2::{Domain, Protocol, Socket, Type};

use super::sys;

/// Length of an Ethernet header (destination, source, EtherType).
const ETHERNET_HEADER_LEN: usize = 14;
/// The all-nodes group unsolicited Neighbor Advertisements go to.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// RFC 4861 requires hop limit 255 on neighbor discovery messages (receivers drop others).
const ND_HOP_LIMIT: u32 = 255;

/// Sends whole Ethernet frames on any interface. Non-blocking: `WouldBlock` means the device
/// queue is full and the frame was not sent.
pub struct FrameSender {
    socket: Socket,
}

impl FrameSender {
    pub fn open() -> io::Result<Self> {
        // Protocol 0: no packet type is registered, so nothing is ever queued for reading.
        let socket = Socket::new(
            Domain::PACKET,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::from(0)),
        )?;
        Ok(FrameSender { socket })
    }

    /// Sends `frame` (destination MAC, source MAC, EtherType, payload) out of `ifindex` as is.
    pub fn send_frame(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        let header = |range: std::ops::Range<usize>| frame.get(range);
        let dst_mac = header(0..6).and_then(|b| <[u8; 6]>::try_from(b).ok());
        let ethertype = header(12..ETHERNET_HEADER_LEN).and_then(|b| <[u8; 2]>::try_from(b).ok());
        let (Some(dst_mac), Some(ethertype)) = (dst_mac, ethertype) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {}-byte frame has no complete Ethernet header",
                    frame.len()
                ),
            ));
        };
        let ethertype = u16::from_be_bytes(ethertype);
        let addr = sys::packet_sockaddr(ifindex, ethertype, dst_mac)?;
        let sent = loop {
            match self.socket.send_to(frame, &addr) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        check_sent(sent, frame.len(), "frame")
    }
}

/// Sends ICMPv6 messages with hop limit 255 from a chosen source on a chosen interface. The
/// kernel fills in the ICMPv6 checksum (whatever the message's checksum field holds).
pub struct Icmpv6Sender {
    socket: Socket,
}

impl Icmpv6Sender {
    pub fn open() -> io::Result<Self> {
        let socket = Socket::new(
            Domain::IPV6,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::ICMPV6),
        )?;
        socket.set_multicast_hops_v6(ND_HOP_LIMIT)?;
        socket.set_unicast_hops_v6(ND_HOP_LIMIT)?;
        socket.set_multicast_loop_v6(false)?;
        sys::icmpv6_block_all(socket.as_fd())?;
        Ok(Icmpv6Sender { socket })
    }

    /// Sends `message` (an ICMPv6 message) to ff02::1 on `ifindex` from `src` (normally the
    /// interface's link-local address; the kernel refuses a tentative or non-local source).
    pub fn send_all_nodes(&self, ifindex: u32, src: Ipv6Addr, message: &[u8]) -> io::Result<()> {
        self.send_to(ifindex, src, ALL_NODES, message)
    }

    /// Sends `message` to `dst` on `ifindex` from `src`.
    pub fn send_to(
        &self,
        ifindex: u32,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        message: &[u8],
    ) -> io::Result<()> {
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: ifindex,
        };
        let to = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, ifindex));
        let iov = [IoSlice::new(message)];
        let sent = loop {
            match sendmsg(
                self.socket.as_raw_fd(),
                &iov,
                &[ControlMessage::Ipv6PacketInfo(&info)],
                MsgFlags::empty(),
                Some(&to),
            ) {
                Err(Errno::EINTR) => continue,
                other => break other?,
            }
        };
        check_sent(sent, message.len(), "ICMPv6 message")
    }
}

fn check_sent(sent: usize, len: usize, what: &str) -> io::Result<()> {
    if sent == len {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "sent {sent} of {len} bytes of a {what}"
        )))
    }
}

macro_rules! fd_traits {
    ($t:ty) => {
        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.socket.as_raw_fd()
            }
        }
        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.socket.as_fd()
            }
        }
    };
}
fd_traits!(FrameSender);
fd_traits!(Icmpv6Sender);

#[cfg(test)]
mod tests;
