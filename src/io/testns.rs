//! Test support for the real-kernel tests: a private, empty network namespace per test, and
//! veth pairs inside it. Nothing here can see or touch the host's interfaces: the namespace is
//! entered (on a fresh thread) before any socket is opened, and disappears with the thread and
//! its sockets, on every exit path including a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sched::{setns, unshare, CloneFlags};

use super::netlink::{EventSocket, NetEvent, RequestSocket};

/// How long a test waits for something the kernel does at once (a packet, a notification).
pub(crate) const PROMPT: Duration = Duration::from_secs(5);

/// Runs `f` on a new thread that first moves into a new, empty network namespace.
/// `unshare(CLONE_NEWNET)` affects only the calling thread, so the test process and the other
/// tests stay where they are. Panics in `f` are propagated.
pub(crate) fn in_new_netns<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| {
                panic!("unshare(CLONE_NEWNET) failed: {e}; these tests need root (CAP_SYS_ADMIN)")
            });
            f()
        });
        match handle.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// One end of a test veth pair, with the addresses the harness gave it.
#[derive(Clone, Debug)]
pub(crate) struct End {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    pub link_local: Ipv6Addr,
}

/// A network namespace created by a test, kept alive by this handle (and by any socket or
/// interface inside it).
pub(crate) struct Netns {
    fd: OwnedFd,
}

impl Netns {
    /// A new, empty namespace. A helper thread creates it (so the caller stays where it is)
    /// and hands back a descriptor that keeps it alive after that thread ends.
    pub(crate) fn new() -> Netns {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
                    Netns::current()
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// The namespace of the calling thread.
    pub(crate) fn current() -> Netns {
        let file = std::fs::File::open("/proc/thread-self/ns/net").expect("open own netns");
        Netns { fd: file.into() }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Runs `f` with the calling thread inside this namespace, then moves it back (also on a
    /// panic). Sockets opened by `f` stay in this namespace for their whole life.
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        struct GoBack(Netns);
        impl Drop for GoBack {
            fn drop(&mut self) {
                if let Err(e) = setns(self.0.fd.as_fd(), CloneFlags::CLONE_NEWNET) {
                    // Still inside a namespace this test created: nothing outside is at risk.
                    eprintln!("setns back to the test's namespace failed: {e}");
                }
            }
        }
        let _back = GoBack(Netns::current());
        setns(self.fd.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns into test namespace");
        f()
    }
}

/// Two "hosts" joined by a veth pair: end `a` in the calling thread's namespace, end `b` in a
/// namespace of its own (`b_ns`), so that traffic between them really crosses the link
/// (between two addresses of one namespace the kernel would short-cut through `lo`).
pub(crate) struct TwoHosts {
    pub a: End,
    pub b: End,
    pub b_ns: Netns,
    pub nl_a: RequestSocket,
}

/// Builds [`TwoHosts`] with hosts 1 (`a`) and 2 (`b`), configured as [`configure_end`] does,
/// both operational.
pub(crate) fn two_hosts(a: &str, b: &str) -> TwoHosts {
    let mut nl_a = RequestSocket::open().expect("netlink");
    let b_ns = Netns::new();
    let (mut nl_b, mut events_b) =
        b_ns.run(|| (RequestSocket::open().expect("netlink"), Watcher::open()));
    let mut events_a = Watcher::open();
    nl_a.create_veth(a, b).expect("create veth");
    let b_index = nl_a
        .link_by_name(b)
        .expect("link_by_name")
        .expect("peer exists")
        .ifindex;
    nl_a.set_link_netns(b_index, b_ns.fd()).expect("move peer");
    let a_end = configure_end(&mut nl_a, a, 1);
    let b_end = configure_end(&mut nl_b, b, 2);
    wait_until_oper_up(&mut nl_a, &mut events_a, a_end.ifindex);
    wait_until_oper_up(&mut nl_b, &mut events_b, b_end.ifindex);
    TwoHosts {
        a: a_end,
        b: b_end,
        b_ns,
        nl_a,
    }
}

/// Creates the veth pair `a` <-> `b` in the current namespace, configures both ends as
/// [`configure_end`] does (host numbers `host_a` and `host_b`) and waits until both are
/// operational: only then does the kernel attach a queue that transmits.
pub(crate) fn veth_pair(
    nl: &mut RequestSocket,
    a: &str,
    b: &str,
    host_a: u8,
    host_b: u8,
) -> (End, End) {
    let mut events = Watcher::open();
    nl.create_veth(a, b).expect("create veth");
    let a_end = configure_end(nl, a, host_a);
    let b_end = configure_end(nl, b, host_b);
    wait_until_oper_up(nl, &mut events, a_end.ifindex);
    wait_until_oper_up(nl, &mut events, b_end.ifindex);
    (a_end, b_end)
}

/// Turns off kernel-generated IPv6 addresses on `name`, brings it up and gives it
/// 192.0.2.`host`/24, 2001:db8::`host`/64 and fe80::`host`/64 (NODAD, so usable at once).
pub(crate) fn configure_end(nl: &mut RequestSocket, name: &str, host: u8) -> End {
    let link = nl
        .link_by_name(name)
        .expect("link_by_name")
        .unwrap_or_else(|| panic!("{name} does not exist"));
    nl.disable_ipv6_addr_gen(link.ifindex)
        .expect("addrgenmode none");
    nl.set_link_up(link.ifindex).expect("link up");
    let end = End {
        name: name.to_string(),
        ifindex: link.ifindex,
        mac: link.mac.expect("veth has a MAC").0,
        v4: Ipv4Addr::new(192, 0, 2, host),
        v6: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(host)),
        link_local: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(host)),
    };
    for (addr, prefix) in [
        (IpAddr::V4(end.v4), 24),
        (IpAddr::V6(end.v6), 64),
        (IpAddr::V6(end.link_local), 64),
    ] {
        nl.add_address(end.ifindex, addr, prefix, None, None, false)
            .unwrap_or_else(|e| panic!("add {addr}/{prefix} on {name}: {e}"));
    }
    end
}

/// Waits (on notifications, not by polling the table) until `ifindex` is operational.
pub(crate) fn wait_until_oper_up(nl: &mut RequestSocket, events: &mut Watcher, ifindex: u32) {
    let link = nl
        .link_by_index(ifindex)
        .expect("link_by_index")
        .expect("link exists");
    if link.oper_up {
        return;
    }
    let up = events.wait(PROMPT, |e| match e {
        NetEvent::LinkUp(l) | NetEvent::LinkAdded(l) | NetEvent::LinkChanged(l) => {
            l.ifindex == ifindex && l.oper_up
        }
        _ => false,
    });
    assert!(
        up.is_some(),
        "interface {ifindex} did not become operational within {PROMPT:?}"
    );
}

/// An [`EventSocket`] plus the events read but not yet asked for, so that waiting for one
/// event does not lose the others that arrived in the same batch.
pub(crate) struct Watcher {
    pub socket: EventSocket,
    pending: Vec<NetEvent>,
}

impl Watcher {
    pub(crate) fn open() -> Self {
        Watcher {
            socket: EventSocket::open().expect("event socket"),
            pending: Vec::new(),
        }
    }

    /// Waits up to `timeout` for the first event (in arrival order) matching `pred`, and
    /// removes it; the events before it stay pending.
    pub(crate) fn wait(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&NetEvent) -> bool,
    ) -> Option<NetEvent> {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.socket);
        let socket = &mut self.socket;
        let pending = &mut self.pending;
        wait_readable_until(fd, timeout, || {
            pending.extend(socket.recv_events().expect("recv_events"));
            let at = pending.iter().position(&mut pred)?;
            Some(pending.remove(at))
        })
    }

    /// Everything read so far and not yet taken, plus whatever is queued now.
    pub(crate) fn drain(&mut self) -> Vec<NetEvent> {
        self.pending
            .extend(self.socket.recv_events().expect("recv_events"));
        std::mem::take(&mut self.pending)
    }
}

/// Calls `attempt` (which must drain the descriptor) until it yields something, sleeping in
/// `epoll` between attempts until `fd` is readable again or `timeout` has passed.
pub(crate) fn wait_readable_until<T>(
    fd: RawFd,
    timeout: Duration,
    mut attempt: impl FnMut() -> Option<T>,
) -> Option<T> {
    let mut poll = Poll::new().expect("mio poll");
    poll.registry()
        .register(&mut SourceFd(&fd), Token(0), Interest::READABLE)
        .expect("register");
    let deadline = Instant::now() + timeout;
    let mut events = Events::with_capacity(4);
    loop {
        if let Some(found) = attempt() {
            return Some(found);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        match poll.poll(&mut events, Some(deadline - now)) {
            // A signal (a test's child exiting) interrupts the wait: just wait again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            result => result.expect("poll"),
        }
    }
}
