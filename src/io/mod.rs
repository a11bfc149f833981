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

pub mod announce;
pub mod caps;
pub mod netlink;
mod sys;
pub mod sysctl;
pub mod timer;
pub mod vmac;
pub mod vrrp_socket;

#[cfg(test)]
pub(crate) mod testns;
