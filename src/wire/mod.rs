//! `wire`: the pure VRRP codec (v2 per RFC 3768, v3 per RFC 9568), the IPv4 header view used on
//! the receive path, and the gratuitous ARP / unsolicited NA frame builders.
//!
//! This layer checks syntax and checksums only. Semantics (interval ranges, priorities, address
//! lists, authentication policy) belong to `proto`, which counts each drop by reason.
//!
//! Nothing here may panic on any input: the lints below make that mechanical (tests exempt).

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod announce;
mod checksum;
#[cfg(test)]
mod golden;
mod ipv4;
mod types;
mod vmac;
mod vrrp;

pub use announce::{
    gratuitous_arp, unsolicited_na, unsolicited_na_frame, write_gratuitous_arp,
    write_unsolicited_na, write_unsolicited_na_frame, GRATUITOUS_ARP_LEN, UNSOLICITED_NA_FRAME_LEN,
    UNSOLICITED_NA_LEN,
};
pub use ipv4::{Ipv4Header, Ipv4Packet};
pub use types::*;
pub use vmac::{eui64_link_local, is_vrrp_virtual_mac, virtual_mac};
pub use vrrp::{VrrpPacket, HEADER_LEN as VRRP_HEADER_LEN, TYPE_ADVERTISEMENT, V2_AUTH_DATA_LEN};
