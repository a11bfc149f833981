//! The non-blocking rtnetlink notification socket.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use nix::libc;
use nix::sys::socket::{setsockopt, sockopt};

use super::request::split_messages;
use super::{addr_info_from, link_info_from, AddrInfo, LinkInfo};

/// Asked-for receive buffer: bursts (many VIPs added at once, an interface flapping with many
/// addresses) should not overrun it; when they do, [`NetEvent::Overrun`] says so.
const RECV_BUFFER_BYTES: usize = 4 * 1024 * 1024;
const DATAGRAM_BUFFER: usize = 64 * 1024;

/// What changed in the kernel's link and address tables.
///
/// Link events compare each notification with what this socket last knew of the interface
/// (see [`EventSocket::seed_links`]): a batch from [`EventSocket::recv_events`] may hold an
/// old state followed by the current one (notifications queued before the caller's dump), so
/// apply a whole batch in order before acting on the resulting state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// An interface this socket did not know of (new, or first heard of since seeding).
    LinkAdded(LinkInfo),
    /// A known interface became operational (`IFF_UP && IFF_RUNNING`).
    LinkUp(LinkInfo),
    /// A known interface stopped being operational.
    LinkDown(LinkInfo),
    /// A known interface changed something else (name, MAC, MTU, admin state alone).
    LinkChanged(LinkInfo),
    /// An interface went away (deleted, or moved to another network namespace).
    LinkRemoved(LinkInfo),
    /// An address appeared or changed (lifetime renewed, DAD finished: the kernel sends
    /// `RTM_NEWADDR` for both); `AddrInfo` is its whole current state.
    AddressAdded(AddrInfo),
    /// An address went away (deleted, expired, or its interface went down for IPv6).
    AddressRemoved(AddrInfo),
    /// The kernel dropped notifications (`ENOBUFS`): dump links and addresses again, reconcile,
    /// and [`EventSocket::seed_links`] with the fresh dump.
    Overrun,
}

/// A non-blocking rtnetlink socket subscribed to link, IPv4 address and IPv6 address
/// notifications. Register it with mio (readable, edge-triggered) and call
/// [`recv_events`](Self::recv_events) on every wake-up: it drains the socket.
pub struct EventSocket {
    socket: Socket,
    buf: Vec<u8>,
    links: HashMap<u32, LinkInfo>,
}

impl EventSocket {
    /// Opens the socket. Open it *before* dumping links and addresses with a
    /// [`super::RequestSocket`], so that no change between the dump and the subscription is lost.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.set_non_blocking(true)?;
        // As root the buffer may exceed net.core.rmem_max; otherwise take what the limit allows.
        if setsockopt(&socket, sockopt::RcvBufForce, &RECV_BUFFER_BYTES).is_err() {
            socket2::SockRef::from(&socket).set_recv_buffer_size(RECV_BUFFER_BYTES)?;
        }
        for group in [
            libc::RTNLGRP_LINK,
            libc::RTNLGRP_IPV4_IFADDR,
            libc::RTNLGRP_IPV6_IFADDR,
        ] {
            socket.add_membership(group)?;
        }
        Ok(EventSocket {
            socket,
            buf: vec![0; DATAGRAM_BUFFER],
            links: HashMap::new(),
        })
    }

    /// Replaces what this socket knows of the interfaces (from a fresh dump), so that later
    /// notifications are reported as up/down/changed relative to it.
    pub fn seed_links(&mut self, links: &[LinkInfo]) {
        self.links = links.iter().map(|l| (l.ifindex, l.clone())).collect();
    }

    /// Reads every queued notification (until the socket would block). An `Err` means the
    /// socket failed; the events of this batch are lost, so treat it like [`NetEvent::Overrun`].
    pub fn recv_events(&mut self) -> io::Result<Vec<NetEvent>> {
        // The buffer is taken out so that decoding can update `self.links` while reading it.
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.drain(&mut buf);
        self.buf = buf;
        result
    }

    fn drain(&mut self, buf: &mut [u8]) -> io::Result<Vec<NetEvent>> {
        let mut events = Vec::new();
        loop {
            let mut view = &mut *buf;
            let (len, from) = match self.socket.recv_from(&mut view, libc::MSG_TRUNC) {
                Ok(received) => received,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(events),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    events.push(NetEvent::Overrun);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if from.port_number() != 0 {
                // Only the kernel speaks on these groups; anything else is not a notification.
                continue;
            }
            let Some(datagram) = buf.get(..len) else {
                // Larger than the buffer: part of it is lost, as in an overrun.
                log::warn!("netlink: a {len}-byte notification did not fit the buffer");
                events.push(NetEvent::Overrun);
                continue;
            };
            for message in split_messages(datagram) {
                match message {
                    Ok(message) => self.handle_message(message, &mut events),
                    Err(e) => log::warn!("netlink: malformed notification: {e}"),
                }
            }
        }
    }

    fn handle_message(&mut self, message: &[u8], events: &mut Vec<NetEvent>) {
        let parsed = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(message) {
            Ok(parsed) => parsed,
            Err(e) => {
                log::warn!("netlink: skipping a notification that does not parse: {e}");
                return;
            }
        };
        let NetlinkPayload::InnerMessage(inner) = parsed.payload else {
            return;
        };
        match inner {
            // Bridge port (AF_BRIDGE) notifications share the link group; only AF_UNSPEC
            // messages describe the interface itself.
            RouteNetlinkMessage::NewLink(m)
                if m.header.interface_family == AddressFamily::Unspec =>
            {
                if let Some(info) = link_info_from(&m) {
                    events.extend(self.link_changed(info));
                }
            }
            RouteNetlinkMessage::DelLink(m)
                if m.header.interface_family == AddressFamily::Unspec =>
            {
                if let Some(info) = link_info_from(&m) {
                    self.links.remove(&info.ifindex);
                    events.push(NetEvent::LinkRemoved(info));
                }
            }
            RouteNetlinkMessage::NewAddress(m) => {
                events.extend(addr_info_from(&m).map(NetEvent::AddressAdded));
            }
            RouteNetlinkMessage::DelAddress(m) => {
                events.extend(addr_info_from(&m).map(NetEvent::AddressRemoved));
            }
            _ => {}
        }
    }

    fn link_changed(&mut self, info: LinkInfo) -> Option<NetEvent> {
        let event = match self.links.get(&info.ifindex) {
            None => NetEvent::LinkAdded(info.clone()),
            Some(known) if known.oper_up != info.oper_up => {
                if info.oper_up {
                    NetEvent::LinkUp(info.clone())
                } else {
                    NetEvent::LinkDown(info.clone())
                }
            }
            Some(known) if *known != info => NetEvent::LinkChanged(info.clone()),
            // The kernel also notifies for changes we do not track (statistics, qdisc...).
            Some(_) => return None,
        };
        self.links.insert(info.ifindex, info);
        Some(event)
    }
}

impl AsRawFd for EventSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsFd for EventSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl_mio_source!(EventSocket);
