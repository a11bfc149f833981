//! Values of `use_vmac [NAME] [MAC]` and `vmac_prefix`, checked as keepalived checks them
//! (where keepalived logs "ignoring" and carries on, keepvip refuses the file).

use crate::wire::{is_vrrp_virtual_mac, MacAddr};

/// The longest VRID suffix a generated name gets: `.255`.
const VRID_SUFFIX_MAX: usize = 4;
/// `IFNAMSIZ - 1`.
const MAX_IFNAME_BYTES: usize = 15;

/// A MAC address as `use_vmac` takes it: six octets, or five with the VRID as the sixth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MacSpec {
    octets: [u8; 6],
    vrid_last: bool,
}

impl MacSpec {
    /// The address for virtual router `vrid`.
    pub(crate) fn resolve(self, vrid: u8) -> MacAddr {
        let mut octets = self.octets;
        if self.vrid_last {
            octets[5] = vrid;
        }
        MacAddr(octets)
    }
}

/// Parses `aa:bb:cc:dd:ee:ff` or `aa:bb:cc:dd:ee` (a trailing `:` allowed), each octet one or
/// two hex digits; refuses what cannot be a VMAC's own unicast address.
pub(crate) fn parse_vmac_mac(text: &str) -> Result<MacSpec, String> {
    let trimmed = text.strip_suffix(':').unwrap_or(text);
    let parts: Vec<&str> = trimmed.split(':').collect();
    let malformed = || {
        format!(
            "'{text}' is not a MAC address: expected six hex octets (aa:bb:cc:dd:ee:ff), or five \
             to take the VRID as the sixth"
        )
    };
    if !(5..=6).contains(&parts.len()) || (trimmed.len() != text.len() && parts.len() == 6) {
        return Err(malformed());
    }
    let mut octets = [0u8; 6];
    for (slot, part) in octets.iter_mut().zip(&parts) {
        if part.is_empty() || part.len() > 2 || !part.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(malformed());
        }
        *slot = u8::from_str_radix(part, 16).map_err(|_| malformed())?;
    }
    let vrid_last = parts.len() == 5;
    if octets[0] & 0x01 != 0 {
        return Err(format!(
            "{text} is a multicast MAC address: a VMAC needs a unicast one"
        ));
    }
    if !vrid_last && octets == [0; 6] {
        return Err(format!("{text} is the all-zero MAC address"));
    }
    // With five octets any VRID completes it, so the reserved prefix is refused outright.
    if is_vrrp_virtual_mac(MacAddr(octets)) {
        return Err(format!(
            "{text} is in the VRRP virtual MAC range 00:00:5e:00:01/02:xx, which belongs to \
             each VRID: leave the MAC out to get the instance's own"
        ));
    }
    Ok(MacSpec { octets, vrid_last })
}

/// Why `prefix` cannot start generated VMAC names (`PREFIX.VRID`), if it cannot.
pub(crate) fn vmac_prefix_problem(prefix: &str) -> Option<String> {
    if let Some(problem) = super::values::interface_name_problem(prefix) {
        return Some(format!(
            "'{prefix}' cannot start an interface name: {problem}"
        ));
    }
    let max = MAX_IFNAME_BYTES - VRID_SUFFIX_MAX;
    (prefix.len() > max).then(|| {
        format!(
            "'{prefix}' is longer than {max} bytes: '{prefix}.255' would not fit an interface name"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_and_five_octets() {
        let six = parse_vmac_mac("02:aa:bb:cc:dd:ee").unwrap();
        assert_eq!(six.resolve(7).to_string(), "02:aa:bb:cc:dd:ee");
        let five = parse_vmac_mac("2:A:bb:c:d").unwrap();
        assert_eq!(five.resolve(51).to_string(), "02:0a:bb:0c:0d:33");
        assert_eq!(parse_vmac_mac("02:0a:bb:0c:0d:"), Ok(five));
    }

    #[test]
    fn malformed_and_unusable_addresses() {
        for bad in [
            "02:aa:bb:cc",
            "02:aa:bb:cc:dd:ee:ff",
            "02:aa:bb:cc:dd:ee:",
            "02:aa::cc:dd:ee",
            "02:aaa:bb:cc:dd:ee",
            "02:aa:bb:cc:dd:eg",
            ":",
        ] {
            let e = parse_vmac_mac(bad).unwrap_err();
            assert!(e.contains("not a MAC address"), "{bad}: {e}");
        }
        assert!(parse_vmac_mac("01:00:5e:00:00:12")
            .unwrap_err()
            .contains("multicast"));
        assert!(parse_vmac_mac("0:0:0:0:0:0")
            .unwrap_err()
            .contains("all-zero"));
        assert!(parse_vmac_mac("00:00:5e:00:01:33")
            .unwrap_err()
            .contains("VRRP virtual MAC range"));
        assert!(parse_vmac_mac("00:00:5e:00:02")
            .unwrap_err()
            .contains("VRRP virtual MAC range"));
        assert!(parse_vmac_mac("00:00:5e:00:03").is_ok());
    }

    #[test]
    fn prefixes_must_leave_room_for_the_vrid() {
        assert_eq!(vmac_prefix_problem("vrrp"), None);
        assert_eq!(vmac_prefix_problem("abcdefghijk"), None);
        assert!(vmac_prefix_problem("abcdefghijkl")
            .unwrap()
            .contains("11 bytes"));
        assert!(vmac_prefix_problem("a/b").is_some());
        assert!(vmac_prefix_problem("").is_some());
    }
}
