//! The only place in keepvip allowed `unsafe`: a few socket calls that neither `socket2` nor
//! `nix` expose safely. Each function is safe to call; each `unsafe` block says why it is sound.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::libc;
use socket2::{SockAddr, SockAddrStorage};

/// `ICMP6_FILTER` from `<linux/icmpv6.h>` (level `IPPROTO_ICMPV6`); `libc` does not define it.
const ICMP6_FILTER: libc::c_int = 1;

/// A `sockaddr_ll` for an `AF_PACKET` socket: the interface to send on (or bind to), the
/// EtherType in host order, and the destination hardware address (ignored by the kernel for
/// `SOCK_RAW` sends, where the frame carries it, but filled in for tools that trace the call).
pub(crate) fn packet_sockaddr(
    ifindex: u32,
    ethertype: u16,
    dst_mac: [u8; 6],
) -> io::Result<SockAddr> {
    let ifindex = libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))?;
    let mut sll_addr = [0u8; 8];
    sll_addr[..6].copy_from_slice(&dst_mac);
    let sll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as libc::c_ushort,
        sll_protocol: ethertype.to_be(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr,
    };
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `SockAddrStorage` is a `sockaddr_storage` (128 bytes, alignment of the widest
    // sockaddr), larger than and aligned for `sockaddr_ll` (20 bytes), and every bit pattern of
    // `sockaddr_ll` (plain integers and a byte array) is valid.
    let view: &mut libc::sockaddr_ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    *view = sll;
    let len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised `sockaddr_ll` (family AF_PACKET) and `len` is its
    // exact size, which is what `SockAddr::new` requires.
    Ok(unsafe { SockAddr::new(storage, len) })
}

/// Sets an `ICMP6_FILTER` that blocks every ICMPv6 type, so a send-only raw ICMPv6 socket
/// never queues received packets (which would otherwise pile up unread until the buffer fills).
pub(crate) fn icmpv6_block_all(fd: BorrowedFd<'_>) -> io::Result<()> {
    // Linux semantics: a set bit blocks the type (ICMP6_FILTER_WILLBLOCK tests the bit).
    let filter = [u32::MAX; 8];
    // SAFETY: `fd` is a live descriptor borrowed for the call; the option value points to 32
    // readable bytes (`struct icmp6_filter` is `__u32 data[8]`) and the length says exactly that.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            filter.as_ptr().cast::<libc::c_void>(),
            mem::size_of_val(&filter) as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the calling thread's nice value (Linux keeps one per thread, so the rest of the
/// process keeps its own).
pub(crate) fn set_current_thread_nice(nice: i32) -> io::Result<()> {
    let tid = nix::unistd::gettid().as_raw();
    let who = libc::id_t::try_from(tid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "thread id out of range"))?;
    // SAFETY: setpriority takes plain integers and touches no memory of ours; `who` is this
    // thread's own id, so it can affect nothing else.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, who, nice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Puts the calling thread under SCHED_RR at `priority` (1-99), with SCHED_RESET_ON_FORK so
/// that the processes it starts (scripts) run at normal priority.
pub(crate) fn set_current_thread_round_robin(priority: i32) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` is a live, initialised sched_param the call only reads; pid 0 is the
    // calling thread.
    let rc =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The first real-time signal number of this C library (glibc reserves two for threads, so
/// 34 on glibc, as keepalived sees it).
pub fn sigrtmin() -> i32 {
    libc::SIGRTMIN()
}

/// `set` plus the real-time signal `signo`, which nix's `Signal` cannot name.
pub fn with_realtime_signal(set: nix::sys::signal::SigSet, signo: i32) -> nix::sys::signal::SigSet {
    let mut raw: libc::sigset_t = *set.as_ref();
    // SAFETY: `raw` is a copy of an initialised sigset_t; sigaddset only sets a bit in it and
    // fails (EINVAL, ignored: the set is then unchanged) for a number out of range.
    unsafe {
        libc::sigaddset(&mut raw, signo);
    }
    // SAFETY: `raw` was initialised by nix (sigemptyset) and only modified by sigaddset.
    unsafe { nix::sys::signal::SigSet::from_sigset_t_unchecked(raw) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_lowers_only_its_own_priority() {
        let before = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let lowered = std::thread::spawn(|| {
            set_current_thread_nice(5).unwrap();
            std::fs::read_to_string("/proc/thread-self/stat").unwrap()
        })
        .join()
        .unwrap();
        // Field 19 of stat is the nice value (after the parenthesised command name).
        let nice = |stat: &str| -> i64 {
            let after = stat.rsplit_once(") ").unwrap().1;
            after.split_whitespace().nth(16).unwrap().parse().unwrap()
        };
        assert_eq!(nice(&lowered), (nice(&before) + 5).min(19));
        let after = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        assert_eq!(nice(&after), nice(&before));
    }

    #[test]
    fn packet_sockaddr_has_family_protocol_and_index() {
        let addr = packet_sockaddr(7, 0x0806, [0xff; 6]).unwrap();
        assert_eq!(addr.family(), libc::AF_PACKET as libc::sa_family_t);
        assert_eq!(addr.len() as usize, mem::size_of::<libc::sockaddr_ll>());
    }

    #[test]
    fn packet_sockaddr_rejects_out_of_range_index() {
        assert!(packet_sockaddr(u32::MAX, 0x0806, [0; 6]).is_err());
    }
}
