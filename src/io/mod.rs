//! `io`: Linux adapters that execute what `proto` decides and decide nothing themselves.
//!
//! - [`vrrp_socket`]: the raw VRRP socket per (interface, family).
//! - [`announce`]: gratuitous ARP frames (`AF_PACKET`) and unsolicited NAs (raw ICMPv6).
//! - [`netlink`]: addresses and links (requests, dumps, notifications).
//! - [`caps`]: the start-up capability check.
//! - [`vmac`] and [`sysctl`]: virtual MAC interfaces and the kernel parameters they need.
//!
//! Everything is synchronous and non-blocking where it sits in the event loop, close-on-exec
//! (scripts must not inherit sockets), and registrable with mio. Only [`sys`] holds `unsafe`.

/// `mio::event::Source` for a type that owns one file descriptor (it implements `AsRawFd`), so
/// the event loop can register it.
macro_rules! impl_mio_source {
    ($type:ty) => {
        impl mio::event::Source for $type {
            fn register(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(self);
                mio::unix::SourceFd(&fd).register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(self);
                mio::unix::SourceFd(&fd).reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
                let fd = std::os::fd::AsRawFd::as_raw_fd(self);
                mio::unix::SourceFd(&fd).deregister(registry)
            }
        }
    };
}

pub mod announce;
pub mod caps;
pub mod netlink;
pub(crate) mod sys;
pub mod sysctl;
pub mod timer;
pub mod vmac;
pub mod vrrp_socket;

#[cfg(test)]
pub(crate) mod testns;
