//! The raw VRRP socket: one per (interface, family), shared by every VRID on that interface.
//!
//! Choices, and the kernel behaviour behind them:
//! - Bound to the device (`SO_BINDTODEVICE`): unicast VRRP arriving on other interfaces is not
//!   seen (a raw socket otherwise gets every protocol-112 packet of the namespace).
//! - `IP_MULTICAST_ALL` / `IPV6_MULTICAST_ALL` off, then 224.0.0.18 / ff02::12 joined by
//!   interface index: with the default (on) a raw socket also receives multicast sent to groups
//!   joined by any other socket on the host. The kernel honours `IPV6_MULTICAST_ALL` only for
//!   raw IPv6 sockets bound to an address (`raw_v6_match`), which this one cannot be (it must
//!   hear the group and unicast alike), so [`VrrpSocket::recv`] also drops any multicast
//!   destination other than the VRRP group itself.
//! - TTL / hop limit 255 for multicast and unicast, multicast loopback off, TOS / traffic class
//!   0xc0 (network control), as RFC 9568 and keepalived send.
//! - Source address: each send carries `IP_PKTINFO` / `IPV6_PKTINFO` ancillary data with the
//!   interface and the source, so instances with different source addresses share one socket.
//!   The kernel accepts only a source that is a local address, and for IPv6 one that is not
//!   tentative (DAD unfinished) — see the tests.
//! - IPv6 checksum: `IPV6_CHECKSUM` stays off. For a raw IPv6 socket of a protocol other than
//!   ICMPv6 the kernel then neither computes nor verifies checksums; `wire` computes the VRRP
//!   checksum (with the pseudo-header) itself and checks it on receive.
//! - Unicast mode (`unicast_peer`) uses this same socket; it needs no socket of its own. The
//!   socket is bound to the device but to no address, so the kernel's raw delivery
//!   (`raw_v4_input` / `raw_v6_input`) hands it every protocol-112 packet addressed to any
//!   local address that arrives on the device, besides the joined group: the tests prove it
//!   (`unicast_adverts_carry_ttl_255_and_the_unicast_destination` for global and link-local
//!   unicast, `a_socket_hears_only_its_own_interface` for the device binding). Sending to a
//!   peer is the same `sendmsg` with a unicast destination and `IP_PKTINFO` /
//!   `IPV6_PKTINFO`; `unicast_ttl` rides on the same message (`IP_TTL` / `IPV6_HOPLIMIT`
//!   ancillary data). Each instance tells unicast from multicast by the destination reported
//!   with each packet. Unlike keepalived, which opens a socket per unicast source address and
//!   binds it there, a unicast instance therefore also sees adverts sent to other local
//!   addresses of the device: the instance's peer check (on by default) is what filters them.
//! - Receive: source, destination, TTL / hop limit and interface come from the kernel
//!   (`IP_PKTINFO` + `IP_RECVTTL`, `IPV6_RECVPKTINFO` + `IPV6_RECVHOPLIMIT`), so no IP header
//!   is parsed here. IPv4 raw sockets hand over the whole datagram, header included; this
//!   module passes it on unchanged for `wire` to check and strip.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
    SockaddrIn, SockaddrIn6, SockaddrStorage,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use crate::wire::{Family, IPPROTO_VRRP, MCAST_V4, MCAST_V6, VRRP_TTL};

/// DSCP CS6 ("network control"), what RFC 9568 routers and keepalived send with.
/// Receive buffer of a VRRP socket (the kernel doubles it for bookkeeping): about 2,500 adverts.
const RECEIVE_BUFFER_BYTES: usize = 1 << 20;
const TOS_NETWORK_CONTROL: u32 = 0xc0;

/// One received VRRP packet. The bytes are in the caller's buffer, `buf[..len]`:
/// for IPv4 the whole datagram as the kernel delivers it (IPv4 header, then the VRRP message);
/// for IPv6 the VRRP message alone (the kernel strips the IPv6 header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    /// The destination address of the IP header (the VRRP group, or ours for unicast).
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6) the packet arrived with.
    pub ttl_or_hoplimit: u8,
    /// The interface it arrived on.
    pub ifindex: u32,
    /// Bytes written to the buffer.
    pub len: usize,
    /// The packet was longer than the buffer and was cut (`MSG_TRUNC`): drop it.
    pub truncated: bool,
}

/// What one [`VrrpSocket::receive`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Receive {
    Packet(Received),
    /// A packet was read and dropped (another group, or without the expected ancillary data).
    Skipped,
    /// Nothing queued.
    Empty,
}

/// A raw IP protocol 112 socket on one interface, non-blocking and close-on-exec.
pub struct VrrpSocket {
    socket: Socket,
    ifindex: u32,
    family: Family,
    default_src: Option<IpAddr>,
    /// The multicast group joined (VRRP's, unless configured otherwise).
    group: IpAddr,
    /// Ancillary data space, kept across receives: no allocation per packet.
    cmsg: std::cell::RefCell<Vec<u8>>,
}

impl VrrpSocket {
    /// Opens the socket for `family` on the interface `ifname` (index `ifindex`, checked to
    /// match) and joins the VRRP group there. `src` is the source used by [`send`](Self::send);
    /// `None` lets the kernel choose.
    pub fn open(
        ifindex: u32,
        ifname: &str,
        family: Family,
        src: Option<IpAddr>,
    ) -> io::Result<Self> {
        let group = match family {
            Family::V4 => IpAddr::V4(MCAST_V4),
            Family::V6 => IpAddr::V6(MCAST_V6),
        };
        Self::open_with_group(ifindex, ifname, family, src, group)
    }

    /// [`open`](Self::open) with another multicast group than VRRP's own
    /// (keepalived's `vrrp_mcast_group4` / `vrrp_mcast_group6`): joined, sent to, and the only
    /// group heard.
    pub fn open_with_group(
        ifindex: u32,
        ifname: &str,
        family: Family,
        src: Option<IpAddr>,
        group: IpAddr,
    ) -> io::Result<Self> {
        if let Some(src) = src {
            check_family(family, &src, "source")?;
        }
        check_family(family, &group, "multicast group")?;
        if !group.is_multicast() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{group} is not a multicast group"),
            ));
        }
        let actual = nix::net::if_::if_nametoindex(ifname).map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("interface {ifname:?}: {}", io::Error::from(e)),
            )
        })?;
        if actual != ifindex {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("interface {ifname:?} has index {actual}, not {ifindex} (renamed?)"),
            ));
        }
        let domain = match family {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let socket = Socket::new(
            domain,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        socket.bind_device(Some(ifname.as_bytes()))?;
        // Room for a burst: junk on the VRRP group must not crowd out the master's adverts
        // while the loop catches up. SO_RCVBUFFORCE (we have CAP_NET_ADMIN) goes past
        // rmem_max; if refused, the kernel's default stays.
        let _ = setsockopt(&socket, sockopt::RcvBufForce, &RECEIVE_BUFFER_BYTES);
        match family {
            Family::V4 => {
                socket.set_multicast_all_v4(false)?;
                if let IpAddr::V4(group) = group {
                    socket.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))?;
                }
                socket.set_multicast_ttl_v4(u32::from(VRRP_TTL))?;
                socket.set_ttl_v4(u32::from(VRRP_TTL))?;
                socket.set_multicast_loop_v4(false)?;
                socket.set_tos_v4(TOS_NETWORK_CONTROL)?;
                setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)?;
                setsockopt(&socket, sockopt::Ipv4RecvTtl, &true)?;
            }
            Family::V6 => {
                socket.set_multicast_all_v6(false)?;
                if let IpAddr::V6(group) = group {
                    socket.join_multicast_v6(&group, ifindex)?;
                }
                socket.set_multicast_if_v6(ifindex)?;
                socket.set_multicast_hops_v6(u32::from(VRRP_TTL))?;
                socket.set_unicast_hops_v6(u32::from(VRRP_TTL))?;
                socket.set_multicast_loop_v6(false)?;
                socket.set_tclass_v6(TOS_NETWORK_CONTROL)?;
                socket.set_recv_hoplimit_v6(true)?;
                setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)?;
            }
        }
        let this = VrrpSocket {
            socket,
            ifindex,
            family,
            default_src: src,
            group,
            cmsg: std::cell::RefCell::new(cmsg_space_for(family)),
        };
        this.discard_queued()?;
        Ok(this)
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The multicast group of this socket.
    pub fn group(&self) -> IpAddr {
        self.group
    }

    /// Sends `payload` (a VRRP message, checksum included) to `dst` from the source given at
    /// [`open`](Self::open). The kernel builds the IP header.
    pub fn send(&self, payload: &[u8], dst: IpAddr) -> io::Result<()> {
        self.send_from(payload, self.default_src, dst)
    }

    /// Sends `payload` to `dst` from `src` (`None`: the kernel's choice). `WouldBlock` means the
    /// socket buffer is full: the advert is lost, as it would be on the wire.
    pub fn send_from(&self, payload: &[u8], src: Option<IpAddr>, dst: IpAddr) -> io::Result<()> {
        self.send_with_ttl(payload, src, dst, None)
    }

    /// [`send_from`](Self::send_from) with the TTL / hop limit of this one packet (`None`: 255,
    /// the socket's setting). keepalived's `unicast_ttl`; the kernel refuses 0 for IPv4.
    pub fn send_with_ttl(
        &self,
        payload: &[u8],
        src: Option<IpAddr>,
        dst: IpAddr,
        ttl: Option<u8>,
    ) -> io::Result<()> {
        check_family(self.family, &dst, "destination")?;
        if let Some(src) = &src {
            check_family(self.family, src, "source")?;
        }
        let iov = [IoSlice::new(payload)];
        let fd = self.socket.as_raw_fd();
        let sent = match (src, dst) {
            (src, IpAddr::V4(dst)) => {
                let src = match src {
                    Some(IpAddr::V4(s)) => s,
                    _ => Ipv4Addr::UNSPECIFIED,
                };
                let info = libc::in_pktinfo {
                    ipi_ifindex: ifindex_c_int(self.ifindex)?,
                    // For sending, ipi_spec_dst is the source address to use.
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(src).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let to = SockaddrIn::from(SocketAddrV4::new(dst, 0));
                let ttl = ttl.map(libc::c_int::from);
                // Slices of a fixed array: no allocation of ours per advert.
                let ttl_value = ttl.unwrap_or(0);
                let both = [
                    ControlMessage::Ipv4PacketInfo(&info),
                    ControlMessage::Ipv4Ttl(&ttl_value),
                ];
                let cmsgs = both.get(..if ttl.is_some() { 2 } else { 1 }).unwrap_or(&[]);
                retry_eintr(|| sendmsg(fd, &iov, cmsgs, MsgFlags::empty(), Some(&to)))?
            }
            (src, IpAddr::V6(dst)) => {
                let src = match src {
                    Some(IpAddr::V6(s)) => s,
                    _ => Ipv6Addr::UNSPECIFIED,
                };
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: src.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                // The scope id matters for link-local destinations; the kernel ignores it
                // for global ones.
                let to = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, self.ifindex));
                let hop_limit = ttl.map(libc::c_int::from);
                let hop_value = hop_limit.unwrap_or(0);
                let both = [
                    ControlMessage::Ipv6PacketInfo(&info),
                    ControlMessage::Ipv6HopLimit(&hop_value),
                ];
                let cmsgs = both
                    .get(..if hop_limit.is_some() { 2 } else { 1 })
                    .unwrap_or(&[]);
                retry_eintr(|| sendmsg(fd, &iov, cmsgs, MsgFlags::empty(), Some(&to)))?
            }
        };
        if sent == payload.len() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "sent {sent} of {} bytes of a VRRP advert",
                payload.len()
            )))
        }
    }

    /// Receives one packet into `buf`; `Ok(None)` when nothing is queued. Call until `None`
    /// after every readiness event. Packets the kernel delivers without the expected ancillary
    /// data are skipped (logged), never returned half-described.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        loop {
            match self.receive(buf)? {
                Receive::Packet(received) => return Ok(Some(received)),
                Receive::Skipped => continue,
                Receive::Empty => return Ok(None),
            }
        }
    }

    /// At most one packet: what [`recv`](Self::recv) does, except that a packet it skips is
    /// reported, so that a caller with a budget counts it (a flood of packets for other groups
    /// must not hold the caller in here).
    pub fn receive(&self, buf: &mut [u8]) -> io::Result<Receive> {
        loop {
            match self.recv_one(buf) {
                Ok(Some(received)) => return Ok(Receive::Packet(received)),
                Ok(None) => return Ok(Receive::Skipped),
                Err(Errno::EAGAIN) => return Ok(Receive::Empty),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One `recvmsg`; `Ok(None)` for a packet that had to be skipped.
    fn recv_one(&self, buf: &mut [u8]) -> nix::Result<Option<Received>> {
        let mut own_space = Vec::new();
        let mut kept = self.cmsg.try_borrow_mut();
        let cmsg_space = match kept.as_deref_mut() {
            Ok(space) => space,
            // Never happens (receives do not nest); a fresh buffer rather than a panic.
            Err(_) => &mut own_space,
        };
        if cmsg_space.capacity() == 0 {
            *cmsg_space = cmsg_space_for(self.family);
        }
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrStorage>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(cmsg_space),
            MsgFlags::empty(),
        )?;
        let len = msg.bytes;
        let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
        let src: Option<IpAddr> = msg.address.as_ref().and_then(|a| {
            a.as_sockaddr_in()
                .map(|s| IpAddr::V4(s.ip()))
                .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
        });
        let mut dst = None;
        let mut ifindex = None;
        let mut ttl = None;
        let Ok(cmsgs) = msg.cmsgs() else {
            log::warn!(
                "VRRP socket on ifindex {}: ancillary data truncated; packet skipped",
                self.ifindex
            );
            return Ok(None);
        };
        for cmsg in cmsgs {
            match cmsg {
                ControlMessageOwned::Ipv4PacketInfo(info) => {
                    dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        info.ipi_addr.s_addr,
                    ))));
                    ifindex = u32::try_from(info.ipi_ifindex).ok();
                }
                ControlMessageOwned::Ipv6PacketInfo(info) => {
                    dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                    ifindex = Some(info.ipi6_ifindex);
                }
                ControlMessageOwned::Ipv4Ttl(t) | ControlMessageOwned::Ipv6HopLimit(t) => {
                    ttl = u8::try_from(t).ok();
                }
                _ => {}
            }
        }
        match (src, dst, ttl, ifindex) {
            (_, Some(dst), _, _) if dst.is_multicast() && dst != self.group() => {
                // Another group joined by someone else on this interface. IPv4 never gets
                // here (IP_MULTICAST_ALL off filters it in the kernel); IPv6 does, because
                // the kernel applies IPV6_MULTICAST_ALL only to raw sockets bound to an
                // address, and this one is not (it must hear the group and unicast alike).
                log::trace!(
                    "VRRP socket on ifindex {}: dropped a packet for {dst}",
                    self.ifindex
                );
                Ok(None)
            }
            (Some(src), Some(dst), Some(ttl_or_hoplimit), Some(ifindex)) => Ok(Some(Received {
                src,
                dst,
                ttl_or_hoplimit,
                ifindex,
                len: len.min(buf.len()),
                truncated,
            })),
            _ => {
                log::warn!(
                    "VRRP socket on ifindex {}: packet without source, destination, TTL or \
                     interface information; skipped",
                    self.ifindex
                );
                Ok(None)
            }
        }
    }

    /// Drops whatever arrived between `socket()` and the filters taking effect (other
    /// interfaces, other groups). Losing a genuine advert here is harmless: they repeat.
    fn discard_queued(&self) -> io::Result<()> {
        let mut scratch = [0u8; 64];
        loop {
            match nix::sys::socket::recv(self.socket.as_raw_fd(), &mut scratch, MsgFlags::empty()) {
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Room for the ancillary data a receive asks for: the packet info and the TTL / hop limit.
fn cmsg_space_for(family: Family) -> Vec<u8> {
    match family {
        Family::V4 => nix::cmsg_space!(libc::in_pktinfo, libc::c_int),
        Family::V6 => nix::cmsg_space!(libc::in6_pktinfo, libc::c_int),
    }
}

fn check_family(family: Family, addr: &IpAddr, what: &str) -> io::Result<()> {
    if Family::of(addr) == family {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} address {addr} is not {family} like the socket"),
        ))
    }
}

fn ifindex_c_int(ifindex: u32) -> io::Result<libc::c_int> {
    libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))
}

fn retry_eintr<T>(mut f: impl FnMut() -> nix::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl_mio_source!(VrrpSocket);

#[cfg(test)]
mod tests;
