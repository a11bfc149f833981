//! The synchronous rtnetlink request socket.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoKind, InfoMacVlan, InfoVeth,
    LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::errno::Errno;

use super::{addr_info_from, lifetime_to_kernel, link_info_from, AddrInfo, LinkInfo};

/// How long one request may wait for the kernel before it is reported as timed out.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Dumps whose answer the kernel marks inconsistent (`NLM_F_DUMP_INTR`: the table changed
/// while it was being read) are retried this many times before giving up.
const DUMP_ATTEMPTS: usize = 3;
/// Large enough for the biggest datagram the kernel builds for a dump (32 KiB).
const RECV_BUFFER: usize = 64 * 1024;
/// `IFNAMSIZ - 1`.
const MAX_IFNAME_LEN: usize = 15;

/// A synchronous rtnetlink socket: one request at a time, each answered before the call
/// returns. Replies to other sequence numbers (late answers to a request that timed out) are
/// skipped. Every wait is bounded by the timeout, so a misbehaving kernel cannot hang the caller.
pub struct RequestSocket {
    socket: Socket,
    seq: u32,
    timeout: Duration,
    buf: Vec<u8>,
}

/// What a request expects back.
pub(super) enum Reply {
    /// An `NLMSG_ERROR` with code 0 for our sequence number.
    Ack,
    /// Messages up to `NLMSG_DONE`.
    Dump,
    /// Exactly one answer message (a `GET` without `NLM_F_DUMP`).
    One,
}

impl RequestSocket {
    /// Opens a rtnetlink socket (CLOEXEC) bound to a kernel-assigned port.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        // Short ACKs: do not echo our whole request back inside error messages.
        socket.set_cap_ack(true)?;
        let mut this = RequestSocket {
            socket,
            seq: 0,
            timeout: DEFAULT_TIMEOUT,
            buf: vec![0; RECV_BUFFER],
        };
        this.set_timeout(DEFAULT_TIMEOUT)?;
        Ok(this)
    }

    /// Sets how long one request may wait for the kernel (at least 1 ms).
    pub fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        let timeout = timeout.max(Duration::from_millis(1));
        socket2::SockRef::from(&self.socket).set_read_timeout(Some(timeout))?;
        self.timeout = timeout;
        Ok(())
    }

    /// Adds `addr/prefix_len` on `ifindex`.
    ///
    /// - IPv6 addresses get `IFA_F_NODAD`: a VIP must be usable at once, and DAD would find the
    ///   previous master's copy during a takeover anyway.
    /// - `label` applies to IPv4 only (the kernel has no IPv6 labels) and is ignored for IPv6.
    /// - `lifetime`: `None` = permanent; otherwise valid = preferred = the lifetime in whole
    ///   seconds (rounded up, at least 1 s); the kernel then removes the address by itself once
    ///   it expires, so a crashed daemon's VIPs disappear.
    /// - `replace`: with `true` an existing address takes the new lifetime (renewal); with
    ///   `false` an existing address is left as it is. Either way "already there" is success.
    pub fn add_address(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
        lifetime: Option<Duration>,
        replace: bool,
    ) -> io::Result<()> {
        let options = AddressOptions {
            label,
            lifetime,
            ..AddressOptions::default()
        };
        self.add_address_with(ifindex, addr, prefix_len, &options, replace)
    }

    /// [`add_address`](Self::add_address) with everything keepalived's `virtual_ipaddress`
    /// line can say: scope, IPv4 broadcast, and an IPv6 address kept deprecated (preferred
    /// lifetime 0) so the kernel never picks it as a source.
    pub fn add_address_with(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        options: &AddressOptions<'_>,
        replace: bool,
    ) -> io::Result<()> {
        let (msg, flags) = add_address_request(ifindex, addr, prefix_len, options, replace)?;
        add_outcome(self.request(msg, flags, Reply::Ack).map(drop))
    }

    /// Removes `addr/prefix_len` from `ifindex`. An address that is not there is success.
    /// `ENODEV` (no such interface) is reported: the caller should know its interface is gone.
    pub fn del_address(&mut self, ifindex: u32, addr: IpAddr, prefix_len: u8) -> io::Result<()> {
        let (msg, flags) = del_address_request(ifindex, addr, prefix_len)?;
        del_outcome(self.request(msg, flags, Reply::Ack).map(drop))
    }

    /// Sends `requests` (each a message and its flags, as the builders below make them) in one
    /// datagram and returns each one's outcome, in order. The kernel handles the messages of a
    /// datagram one after the other and answers an error for each that fails; only the last
    /// asks for an acknowledgement, which therefore comes after every error of the batch. So a
    /// batch costs one `sendmsg` and, when all goes well, one `recvmsg`, instead of two
    /// system calls per request (at 1,000 instances the lease renewals are ~1,000 a second).
    pub fn request_batch(
        &mut self,
        requests: Vec<(RouteNetlinkMessage, u16)>,
    ) -> Vec<io::Result<()>> {
        let count = requests.len();
        let first_seq = self.seq.wrapping_add(1);
        let mut out = Vec::new();
        for (i, (msg, flags)) in requests.into_iter().enumerate() {
            self.seq = self.seq.wrapping_add(1);
            let mut header = NetlinkHeader::default();
            let ack = if i + 1 == count { NLM_F_ACK } else { 0 };
            header.flags = NLM_F_REQUEST | (flags & !NLM_F_ACK) | ack;
            header.sequence_number = self.seq;
            let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
            packet.finalize();
            let start = out.len();
            out.resize(start + packet.buffer_len(), 0);
            if let Some(slot) = out.get_mut(start..) {
                packet.serialize(slot);
            }
        }
        let last_seq = self.seq;
        let mut results: Vec<Option<io::Result<()>>> = (0..count).map(|_| None).collect();
        let index_of = |seq: u32| {
            let i = usize::try_from(seq.wrapping_sub(first_seq)).ok()?;
            (i < count).then_some(i)
        };
        let finish = |results: Vec<Option<io::Result<()>>>, failure: Option<&io::Error>| {
            results
                .into_iter()
                .map(|r| match (r, failure) {
                    (Some(r), _) => r,
                    (None, Some(e)) => Err(io::Error::new(e.kind(), e.to_string())),
                    // No error before the final acknowledgement: it succeeded.
                    (None, None) => Ok(()),
                })
                .collect()
        };
        if count == 0 {
            return Vec::new();
        }
        match self.socket.send_to(&out, &SocketAddr::new(0, 0), 0) {
            Ok(sent) if sent == out.len() => {}
            Ok(sent) => {
                let e = io::Error::other(format!(
                    "netlink: sent {sent} of {} bytes of a batch of {count} requests",
                    out.len()
                ));
                return finish(results, Some(&e));
            }
            Err(e) => return finish(results, Some(&e)),
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            let len = match self.recv_datagram(last_seq, deadline) {
                Ok(len) => len,
                Err(e) => return finish(results, Some(&e)),
            };
            let Some(datagram) = self.buf.get(..len) else {
                let e = io::Error::other("netlink: datagram length out of range");
                return finish(results, Some(&e));
            };
            let mut acknowledged = false;
            for message in split_messages(datagram) {
                let Ok(message) = message else { break };
                let Ok(view) = NetlinkBuffer::new_checked(message) else {
                    continue;
                };
                let seq = view.sequence_number();
                let Some(i) = index_of(seq) else {
                    // A late answer to an earlier request that timed out.
                    continue;
                };
                let Ok(parsed) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(message) else {
                    continue;
                };
                if let NetlinkPayload::Error(err) = parsed.payload {
                    if let Some(slot) = results.get_mut(i) {
                        *slot = Some(match err.code {
                            None => Ok(()),
                            Some(_) => Err(err.to_io()),
                        });
                    }
                    acknowledged |= seq == last_seq;
                }
            }
            if acknowledged {
                return finish(results, None);
            }
        }
    }

    /// All IPv4 and IPv6 addresses, or those of one interface.
    pub fn dump_addresses(&mut self, ifindex: Option<u32>) -> io::Result<Vec<AddrInfo>> {
        let replies = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
            Reply::Dump,
        )?;
        Ok(replies
            .iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewAddress(m) => addr_info_from(m),
                _ => None,
            })
            .filter(|a| ifindex.is_none_or(|i| a.ifindex == i))
            .collect())
    }

    /// All network interfaces.
    pub fn get_links(&mut self) -> io::Result<Vec<LinkInfo>> {
        let replies = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
            Reply::Dump,
        )?;
        Ok(replies
            .iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(m) => link_info_from(m),
                _ => None,
            })
            .collect())
    }

    /// The interface called `name`, or `None` if there is none.
    pub fn link_by_name(&mut self, name: &str) -> io::Result<Option<LinkInfo>> {
        check_ifname(name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_one_link(msg)
    }

    /// The interface with index `ifindex`, or `None` if there is none.
    pub fn link_by_index(&mut self, ifindex: u32) -> io::Result<Option<LinkInfo>> {
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        self.get_one_link(msg)
    }

    fn get_one_link(&mut self, msg: LinkMessage) -> io::Result<Option<LinkInfo>> {
        match self.request(RouteNetlinkMessage::GetLink(msg), 0, Reply::One) {
            Ok(replies) => Ok(replies.iter().find_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(m) => link_info_from(m),
                _ => None,
            })),
            Err(e) if e.raw_os_error() == Some(Errno::ENODEV as i32) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a veth pair `name` <-> `peer` (both down).
    pub fn create_veth(&mut self, name: &str, peer: &str) -> io::Result<()> {
        check_ifname(name)?;
        check_ifname(peer)?;
        let mut peer_msg = LinkMessage::default();
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            NlLinkInfo::Kind(InfoKind::Veth),
            NlLinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            Reply::Ack,
        )
        .map(drop)
    }

    /// Creates the macvlan `name` on `lower` with hardware address `mac` and mode `mode`
    /// (`MACVLAN_MODE_*`), down. Fails with `EEXIST` if the name is taken; with
    /// `EADDRINUSE` if another macvlan of `lower` already has that MAC (seen when it goes up).
    pub fn create_macvlan(
        &mut self,
        name: &str,
        lower: u32,
        mac: crate::wire::MacAddr,
        mode: u32,
    ) -> io::Result<()> {
        check_ifname(name)?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::Link(lower));
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            NlLinkInfo::Kind(InfoKind::MacVlan),
            NlLinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::from(mode),
            )])),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            Reply::Ack,
        )
        .map(drop)
    }

    /// Deletes an interface (for a veth, both ends go).
    pub fn delete_link(&mut self, ifindex: u32) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        self.request(RouteNetlinkMessage::DelLink(msg), NLM_F_ACK, Reply::Ack)
            .map(drop)
    }

    /// Moves an interface into the network namespace `netns` refers to (an open
    /// `/proc/<pid>/ns/net` or `/run/netns/<name>`). It leaves this namespace's tables.
    pub fn set_link_netns(&mut self, ifindex: u32, netns: BorrowedFd<'_>) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        msg.attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK, Reply::Ack)
            .map(drop)
    }

    /// Sets `IFF_UP`.
    pub fn set_link_up(&mut self, ifindex: u32) -> io::Result<()> {
        self.set_link_flag(ifindex, LinkFlags::Up, true)
    }

    /// Clears `IFF_UP`.
    pub fn set_link_down(&mut self, ifindex: u32) -> io::Result<()> {
        self.set_link_flag(ifindex, LinkFlags::Up, false)
    }

    fn set_link_flag(&mut self, ifindex: u32, flag: LinkFlags, on: bool) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        msg.header.flags = if on { flag } else { LinkFlags::empty() };
        msg.header.change_mask = flag;
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK, Reply::Ack)
            .map(drop)
    }

    /// Stops the kernel from generating IPv6 addresses (the EUI-64 link-local) on `ifindex`
    /// (`ip link set addrgenmode none`). For interfaces whose link-local address keepvip
    /// manages itself (VMACs, test links), so none is ever left tentative behind our back.
    pub fn disable_ipv6_addr_gen(&mut self, ifindex: u32) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        msg.attributes
            .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
            )]));
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK, Reply::Ack)
            .map(drop)
    }

    /// Sends one request and collects its answer. Dumps the kernel marks interrupted are
    /// retried. Errors keep the kernel's errno.
    pub(super) fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        reply: Reply,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let attempts = if matches!(reply, Reply::Dump) {
            DUMP_ATTEMPTS
        } else {
            1
        };
        for _ in 0..attempts {
            if let Answer::Complete(replies) = self.request_once(msg.clone(), flags, &reply)? {
                return Ok(replies);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::Interrupted,
            format!("netlink dump changed while being read, {attempts} times in a row"),
        ))
    }

    fn request_once(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        reply: &Reply,
    ) -> io::Result<Answer> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        let sent = self.socket.send_to(&out, &SocketAddr::new(0, 0), 0)?;
        if sent != out.len() {
            return Err(io::Error::other(format!(
                "netlink: sent {sent} of {} bytes of request {seq}",
                out.len()
            )));
        }

        let deadline = Instant::now() + self.timeout;
        let mut replies = Vec::new();
        let mut interrupted = false;
        loop {
            let len = self.recv_datagram(seq, deadline)?;
            let Some(datagram) = self.buf.get(..len) else {
                return Err(io::Error::other("netlink: datagram length out of range"));
            };
            for message in split_messages(datagram) {
                let message = message?;
                let Ok(view) = NetlinkBuffer::new_checked(message) else {
                    continue;
                };
                if view.sequence_number() != seq {
                    // A late answer to an earlier request that timed out.
                    continue;
                }
                interrupted |= view.flags() & NLM_F_DUMP_INTR != 0;
                let parsed = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(message) {
                    Ok(parsed) => parsed,
                    Err(e) => {
                        // One message the library cannot parse must not lose the whole answer.
                        log::warn!(
                            "netlink: skipping a reply to request {seq} that does not parse: {e}"
                        );
                        continue;
                    }
                };
                match parsed.payload {
                    NetlinkPayload::Error(err) => {
                        return match err.code {
                            None if matches!(reply, Reply::Ack) => Ok(Answer::Complete(replies)),
                            None => Err(io::Error::other(format!(
                                "netlink: unexpected ACK to request {seq}"
                            ))),
                            Some(_) => Err(err.to_io()),
                        };
                    }
                    NetlinkPayload::Done(done) => {
                        if done.code != 0 {
                            return Err(io::Error::from_raw_os_error(done.code.abs()));
                        }
                        return Ok(if interrupted {
                            Answer::Interrupted
                        } else {
                            Answer::Complete(replies)
                        });
                    }
                    NetlinkPayload::InnerMessage(inner) => {
                        replies.push(inner);
                        if matches!(reply, Reply::One) {
                            return Ok(Answer::Complete(replies));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Receives one datagram into `self.buf`, bounded by `deadline`.
    fn recv_datagram(&mut self, seq: u32, deadline: Instant) -> io::Result<usize> {
        loop {
            if Instant::now() >= deadline {
                return Err(self.timed_out(seq));
            }
            let mut view = self.buf.as_mut_slice();
            match self.socket.recv(&mut view, nix::libc::MSG_TRUNC) {
                Ok(len) if len > self.buf.len() => {
                    return Err(io::Error::other(format!(
                        "netlink: a {len}-byte reply to request {seq} did not fit the buffer"
                    )))
                }
                Ok(len) => return Ok(len),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(self.timed_out(seq)),
                Err(e) => return Err(e),
            }
        }
    }

    fn timed_out(&self, seq: u32) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "netlink: no answer from the kernel to request {seq} within {:?}",
                self.timeout
            ),
        )
    }
}

enum Answer {
    Complete(Vec<RouteNetlinkMessage>),
    Interrupted,
}

/// Splits a datagram into its netlink messages (each `nlmsg_len` long, 4-byte aligned).
pub(super) fn split_messages(datagram: &[u8]) -> impl Iterator<Item = io::Result<&[u8]>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let result = NetlinkBuffer::new_checked(rest)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("netlink: {e}")))
            .and_then(|view| {
                let len = usize::try_from(view.length()).unwrap_or(usize::MAX);
                let message = rest.get(..len).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "netlink: truncated message")
                })?;
                let aligned = len.saturating_add(3) & !3;
                rest = rest.get(aligned..).unwrap_or(&[]);
                Ok(message)
            });
        if result.is_err() {
            rest = &[];
        }
        Some(result)
    })
}

/// How to add an address beyond its value and prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressOptions<'a> {
    /// IPv4 `IFA_LABEL` (keepalived's `label`).
    pub label: Option<&'a str>,
    /// Valid lifetime; `None` = forever.
    pub lifetime: Option<Duration>,
    /// `rt_scope_t`: 0 = global (the default), 253 = link, 254 = host.
    pub scope: u8,
    /// IPv4 broadcast address.
    pub broadcast: Option<std::net::Ipv4Addr>,
    /// Preferred lifetime 0: keepalived adds IPv6 /128 VIPs this way.
    pub deprecated: bool,
    /// More `IFA_F_*` flags (`home`, `mngtmpaddr`, `noprefixroute`, `-nodad`), sent in
    /// `IFA_FLAGS` (and their low byte in the header). IPv6 addresses always get `IFA_F_NODAD`.
    pub flags: u32,
    /// Preferred lifetime in seconds (`preferred_lft`, `u32::MAX` = forever), at most the
    /// valid one; `None` = the valid one. `deprecated` wins (0).
    pub preferred: Option<u32>,
}

/// The request [`RequestSocket::add_address_with`] sends, for [`RequestSocket::request_batch`];
/// its outcome goes through [`add_outcome`].
pub fn add_address_request(
    ifindex: u32,
    addr: IpAddr,
    prefix_len: u8,
    options: &AddressOptions<'_>,
    replace: bool,
) -> io::Result<(RouteNetlinkMessage, u16)> {
    let AddressOptions {
        label,
        lifetime,
        scope,
        broadcast,
        deprecated,
        flags,
        preferred,
    } = *options;
    let mut msg = address_message(ifindex, addr, prefix_len)?;
    if let (IpAddr::V4(_), Some(label)) = (addr, label) {
        if label.is_empty() || label.len() > MAX_IFNAME_LEN {
            return Err(invalid_input(format!(
                "address label {label:?} must be 1 to {MAX_IFNAME_LEN} bytes long"
            )));
        }
        msg.attributes
            .push(AddressAttribute::Label(label.to_string()));
    }
    let mut ifa_flags = AddressFlags::from_bits_retain(flags);
    if addr.is_ipv6() {
        ifa_flags |= AddressFlags::Nodad;
    }
    if !ifa_flags.is_empty() {
        let low_byte = u8::try_from(ifa_flags.bits() & 0xff).unwrap_or(0);
        msg.header.flags = AddressHeaderFlags::from_bits_retain(low_byte);
        msg.attributes.push(AddressAttribute::Flags(ifa_flags));
    }
    msg.header.scope = AddressScope::from(scope);
    if let (IpAddr::V4(_), Some(broadcast)) = (addr, broadcast) {
        msg.attributes.push(AddressAttribute::Broadcast(broadcast));
    }
    if lifetime.is_some() || deprecated || preferred.is_some() {
        let secs = lifetime_to_kernel(lifetime);
        let mut cache_info = CacheInfo::default();
        cache_info.ifa_valid = secs;
        cache_info.ifa_preferred = if deprecated {
            0
        } else {
            preferred.map_or(secs, |p| p.min(secs))
        };
        msg.attributes.push(AddressAttribute::CacheInfo(cache_info));
    }
    let mode = if replace { NLM_F_REPLACE } else { NLM_F_EXCL };
    Ok((
        RouteNetlinkMessage::NewAddress(msg),
        NLM_F_ACK | NLM_F_CREATE | mode,
    ))
}

/// An add of an address that is already there is success.
pub fn add_outcome(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.raw_os_error() == Some(Errno::EEXIST as i32) => Ok(()),
        other => other,
    }
}

/// The request [`RequestSocket::del_address`] sends; its outcome goes through [`del_outcome`].
pub fn del_address_request(
    ifindex: u32,
    addr: IpAddr,
    prefix_len: u8,
) -> io::Result<(RouteNetlinkMessage, u16)> {
    let msg = address_message(ifindex, addr, prefix_len)?;
    Ok((RouteNetlinkMessage::DelAddress(msg), NLM_F_ACK))
}

/// Deleting an address that is not there is success.
pub fn del_outcome(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e)
            if [Errno::EADDRNOTAVAIL, Errno::ENOENT, Errno::ESRCH]
                .iter()
                .any(|errno| e.raw_os_error() == Some(*errno as i32)) =>
        {
            Ok(())
        }
        other => other,
    }
}

fn address_message(ifindex: u32, addr: IpAddr, prefix_len: u8) -> io::Result<AddressMessage> {
    let max_prefix = if addr.is_ipv4() { 32 } else { 128 };
    if prefix_len > max_prefix {
        return Err(invalid_input(format!(
            "prefix length /{prefix_len} is too long for {addr} (at most /{max_prefix})"
        )));
    }
    let mut msg = AddressMessage::default();
    msg.header.family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.header.prefix_len = prefix_len;
    msg.header.scope = AddressScope::Universe;
    msg.header.index = ifindex;
    msg.attributes.push(AddressAttribute::Local(addr));
    msg.attributes.push(AddressAttribute::Address(addr));
    Ok(msg)
}

fn check_ifname(name: &str) -> io::Result<()> {
    if name.is_empty() || name.len() > MAX_IFNAME_LEN || name.contains(['/', '\0']) {
        Err(invalid_input(format!(
            "interface name {name:?} must be 1 to {MAX_IFNAME_LEN} bytes without '/'"
        )))
    } else {
        Ok(())
    }
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::testns::in_new_netns;

    /// Index of `lo` in a fresh namespace.
    const LOOPBACK: u32 = 1;

    fn set_lo_up_message() -> RouteNetlinkMessage {
        let mut msg = LinkMessage::default();
        msg.header.index = LOOPBACK;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        RouteNetlinkMessage::SetLink(msg)
    }

    #[test]
    fn a_request_the_kernel_never_answers_times_out() {
        in_new_netns(|| {
            let mut nl = RequestSocket::open().unwrap();
            nl.set_timeout(Duration::from_millis(200)).unwrap();
            // Without NLM_F_ACK a successful SETLINK gets no answer at all.
            let started = Instant::now();
            let e = nl
                .request(set_lo_up_message(), 0, Reply::Ack)
                .map(drop)
                .unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
            let waited = started.elapsed();
            assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(2));
            // The request did reach the kernel, and the socket is still usable.
            let lo = nl.link_by_index(LOOPBACK).unwrap().unwrap();
            assert!(lo.admin_up);
        });
    }

    #[test]
    fn stale_answers_to_other_sequence_numbers_are_skipped() {
        in_new_netns(|| {
            let mut nl = RequestSocket::open().unwrap();
            // An acknowledged request whose answer nobody reads, as after a timeout.
            let mut header = NetlinkHeader::default();
            header.flags = NLM_F_REQUEST | NLM_F_ACK;
            header.sequence_number = 4242;
            let mut packet =
                NetlinkMessage::new(header, NetlinkPayload::InnerMessage(set_lo_up_message()));
            packet.finalize();
            let mut out = vec![0u8; packet.buffer_len()];
            packet.serialize(&mut out);
            nl.socket.send_to(&out, &SocketAddr::new(0, 0), 0).unwrap();
            // The stale ACK is queued first; a dump must not take it for its own answer.
            let links = nl.get_links().unwrap();
            assert_eq!(links.len(), 1);
            assert!(links[0].admin_up);
        });
    }
}
