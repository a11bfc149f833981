//! `wire`: the pure VRRP codec (v2 per RFC 3768, v3 per RFC 9568), the IPv4 header view used on
//! the receive path, and the gratuitous ARP / unsolicited NA frame builders.
//!
//! This layer checks syntax and checksums only. Semantics (interval ranges, priorities, address
//! lists, authentication policy) belong to `proto`, which counts each drop by reason.

mod types;

pub use types::*;
