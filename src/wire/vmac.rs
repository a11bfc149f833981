//! The VRRP virtual MAC (RFC 3768 section 7.3, RFC 9568 section 7.3) and the EUI-64 link-local
//! address keepalived derives from a MAC.

use std::net::Ipv6Addr;

use super::{Family, MacAddr};

/// `00-00-5E-00-01-{VRID}` for IPv4, `00-00-5E-00-02-{VRID}` for IPv6.
pub fn virtual_mac(family: Family, vrid: u8) -> MacAddr {
    let kind = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    MacAddr([0x00, 0x00, 0x5e, 0x00, kind, vrid])
}

/// Whether `mac` is in one of the two blocks RFC 9568 reserves for virtual routers (keepalived
/// refuses such an address as an explicit `use_vmac` MAC: it belongs to a VRID).
pub fn is_vrrp_virtual_mac(mac: MacAddr) -> bool {
    matches!(mac.0, [0x00, 0x00, 0x5e, 0x00, 0x01 | 0x02, _])
}

/// `fe80::/64` with the modified EUI-64 interface identifier of `mac` (RFC 4291 appendix A):
/// what the kernel would generate, and what keepalived puts on an IPv6 VMAC when the parent
/// interface has no link-local address of its own to lend.
pub fn eui64_link_local(mac: MacAddr) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_macs_per_family() {
        assert_eq!(virtual_mac(Family::V4, 51).to_string(), "00:00:5e:00:01:33");
        assert_eq!(virtual_mac(Family::V6, 1).to_string(), "00:00:5e:00:02:01");
        assert_eq!(
            virtual_mac(Family::V4, 255).to_string(),
            "00:00:5e:00:01:ff"
        );
    }

    #[test]
    fn reserved_blocks() {
        assert!(is_vrrp_virtual_mac(virtual_mac(Family::V4, 7)));
        assert!(is_vrrp_virtual_mac(virtual_mac(Family::V6, 7)));
        assert!(!is_vrrp_virtual_mac(MacAddr([0, 0, 0x5e, 0, 0x03, 7])));
        assert!(!is_vrrp_virtual_mac(MacAddr([2, 0, 0x5e, 0, 0x01, 7])));
    }

    #[test]
    fn eui64_flips_the_universal_local_bit() {
        // As `ip -6 addr` shows for a kernel-generated address.
        let ll = eui64_link_local(MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]));
        assert_eq!(ll, "fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap());
        let ll = eui64_link_local(MacAddr([0x00, 0x00, 0x5e, 0x00, 0x02, 0x33]));
        assert_eq!(ll, "fe80::200:5eff:fe00:233".parse::<Ipv6Addr>().unwrap());
    }
}
