//! The Internet checksum (RFC 1071) and the IPv4 / IPv6 upper-layer pseudo-headers
//! (RFC 768-style for IPv4, RFC 8200 §8.1 for IPv6), shared by the VRRP codec and the
//! Neighbor Advertisement builder.

use std::net::IpAddr;

/// A running one's-complement sum. A `u64` accumulator cannot overflow for any buffer we could
/// hold in memory two bytes at a time (2^48 words of 0xffff), so folding happens once at the end
/// and the adds wrap rather than check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sum(u64);

impl Sum {
    /// Adds `data` as big-endian 16-bit words; an odd trailing byte is padded with a zero byte.
    pub(crate) fn add_bytes(mut self, data: &[u8]) -> Sum {
        let mut words = data.chunks_exact(2);
        for word in &mut words {
            if let [high, low] = word {
                self.0 = self
                    .0
                    .wrapping_add(u64::from(u16::from_be_bytes([*high, *low])));
            }
        }
        if let [last] = words.remainder() {
            self.0 = self
                .0
                .wrapping_add(u64::from(u16::from_be_bytes([*last, 0])));
        }
        self
    }

    pub(crate) fn add_u16(mut self, word: u16) -> Sum {
        self.0 = self.0.wrapping_add(u64::from(word));
        self
    }

    pub(crate) fn add_u32(self, value: u32) -> Sum {
        let [a, b, c, d] = value.to_be_bytes();
        self.add_u16(u16::from_be_bytes([a, b]))
            .add_u16(u16::from_be_bytes([c, d]))
    }

    /// Folds the carries back in (end-around carry) to a 16-bit one's-complement sum.
    pub(crate) fn fold(self) -> u16 {
        let mut sum = self.0;
        while sum > 0xffff {
            // At most 0xffff + 0xffff_ffff_ffff: no wrap.
            sum = (sum & 0xffff).wrapping_add(sum >> 16);
        }
        // The loop leaves at most 0xffff, so the conversion cannot fail.
        u16::try_from(sum).unwrap_or(0xffff)
    }

    /// The value to store in a checksum field, given the sum of everything it covers with the
    /// field itself zeroed.
    pub(crate) fn checksum_field(self) -> u16 {
        !self.fold()
    }

    /// True if the data summed (checksum field included) verifies: a correct checksum makes the
    /// folded sum all ones. Accepts both representations of zero, as RFC 1071 receivers do.
    pub(crate) fn verifies(self) -> bool {
        self.fold() == 0xffff
    }
}

/// Sum of the upper-layer pseudo-header for `protocol` carrying `upper_len` bytes: the IPv4 form
/// (src, dst, zero, protocol, 16-bit length) or the IPv6 form of RFC 8200 §8.1 (src, dst, 32-bit
/// length, three zero bytes, next header). `src` and `dst` must be of one family; a mixed pair
/// sums both addresses as given, which callers rule out before asking.
pub(crate) fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, upper_len: usize) -> Sum {
    let sum = Sum::default()
        .add_bytes(&ip_octets(src))
        .add_bytes(&ip_octets(dst))
        .add_u16(u16::from(protocol));
    match src {
        // Callers pass lengths of messages they have already bounded (VRRP is at most 4088 bytes),
        // so saturating never changes a real value; it only keeps this function total.
        IpAddr::V4(_) => sum.add_u16(u16::try_from(upper_len).unwrap_or(u16::MAX)),
        IpAddr::V6(_) => sum.add_u32(u32::try_from(upper_len).unwrap_or(u32::MAX)),
    }
}

fn ip_octets(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn rfc1071_worked_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2 (one's complement).
        let sum = Sum::default().add_bytes(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(sum.fold(), 0xddf2);
        assert_eq!(sum.checksum_field(), !0xddf2);
    }

    #[test]
    fn odd_length_is_padded_with_zero() {
        let odd = Sum::default().add_bytes(&[0x12, 0x34, 0x56]);
        let padded = Sum::default().add_bytes(&[0x12, 0x34, 0x56, 0x00]);
        assert_eq!(odd.fold(), padded.fold());
    }

    #[test]
    fn stored_checksum_verifies_and_a_flipped_bit_does_not() {
        let mut data = vec![0x45, 0x00, 0x00, 0x00, 0x12, 0x34, 0xab, 0xcd];
        let field = Sum::default().add_bytes(&data).checksum_field();
        data[2..4].copy_from_slice(&field.to_be_bytes());
        assert!(Sum::default().add_bytes(&data).verifies());
        data[5] ^= 0x01;
        assert!(!Sum::default().add_bytes(&data).verifies());
    }

    #[test]
    fn pseudo_headers_sum_the_documented_fields() {
        let v4 = pseudo_header(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            112,
            20,
        );
        let by_hand = Sum::default().add_bytes(&[192, 0, 2, 1, 224, 0, 0, 18, 0, 112, 0, 20]);
        assert_eq!(v4.fold(), by_hand.fold());

        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
        let v6 = pseudo_header(IpAddr::V6(src), IpAddr::V6(dst), 112, 24);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&[0, 0, 0, 24, 0, 0, 0, 112]);
        assert_eq!(v6.fold(), Sum::default().add_bytes(&bytes).fold());
    }
}
