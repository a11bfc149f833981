//! VRRP advertisements: a zero-copy [`VrrpPacket`] view over the bytes of one VRRP message (the
//! IP payload), and [`Advert::parse`] / [`Advert::emit`] between those bytes and the validated
//! [`Advert`].
//!
//! Layouts (all multi-byte fields big-endian):
//!
//! ```text
//! v2 (RFC 3768 §5.1)                       v3 (RFC 9568 §5.1)
//! 0: version 2 | type 1                    0: version 3 | type 1
//! 1: VRID                                  1: VRID
//! 2: priority                              2: priority
//! 3: count of IPv4 addresses               3: count of IPvX addresses
//! 4: auth type                             4..6: 4 reserved bits | 12-bit max advert int (cs)
//! 5: advert interval (s)                   6..8: checksum
//! 6..8: checksum                           8..: count × 4 (IPv4) or × 16 (IPv6) bytes
//! 8..: count × 4 bytes of IPv4
//! then 8 bytes of auth data
//! ```
//!
//! Checksums: v2 covers the VRRP message only. v3 over IPv6 adds the RFC 8200 §8.1 pseudo-header
//! (next header 112). v3 over IPv4 is plain per RFC 9568, but keepalived and FRR add the IPv4
//! pseudo-header by default, so [`Advert::parse`] accepts either and reports which one matched.
//!
//! The codec checks syntax and checksums only: a zero interval, a zero count, priority 0 or 255
//! and the v2 auth type pass through for `proto` to judge.
//!
//! Lengths must be exact. keepalived (`vrrp_check_packet`) drops any advert whose received length
//! differs from what the count requires, in either direction, logging "vrrp packet too long";
//! accepting trailing bytes here would make keepvip take adverts that a keepalived peer rejects,
//! and nothing legitimate pads a VRRP message (Ethernet padding is trimmed by the kernel using
//! the IP total length before a raw socket sees the datagram).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum::{self, Sum};
use super::types::{
    Addresses, Advert, Centis, Checksum, DecodeError, EncodeError, Family, V2Auth, Version,
    IPPROTO_VRRP,
};

/// Length of the fixed VRRP header, common to v2 and v3.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data that follows the addresses.
pub const V2_AUTH_DATA_LEN: usize = 8;
/// The only VRRP message type: ADVERTISEMENT.
pub const TYPE_ADVERTISEMENT: u8 = 1;

/// Byte positions of the fixed header. Everything after it depends on the count and the family.
mod field {
    use std::ops::Range;

    /// Version in the high nibble, type in the low nibble.
    pub const VERSION_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const ADDR_COUNT: usize = 3;
    /// v2 only.
    pub const V2_AUTH_TYPE: usize = 4;
    /// v2 only, seconds.
    pub const V2_ADVER_INT: usize = 5;
    /// v3 only: 4 reserved bits, then 12 bits of centiseconds.
    pub const V3_MAX_ADVER_INT: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// Mask of the 12 interval bits in the v3 interval word; the other 4 bits are reserved.
const V3_INTERVAL_MASK: u16 = 0x0fff;

/// The interval as the wire carries it, per version.
enum IntervalField {
    V2Secs(u8),
    V3Centis(u16),
}

/// Bytes one address takes on the wire.
fn addr_len(family: Family) -> usize {
    match family {
        Family::V4 => 4,
        Family::V6 => 16,
    }
}

/// The exact message length a header promises: fixed header, `count` addresses of the family,
/// and for v2 the auth data.
fn message_len(version: Version, family: Family, count: usize) -> usize {
    let auth = match version {
        Version::V2 => V2_AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    // Saturating: a count above 255 is refused before it matters, but a `Vec` of any length
    // must not make this overflow first.
    count
        .saturating_mul(addr_len(family))
        .saturating_add(HEADER_LEN.saturating_add(auth))
}

/// A read (and, for mutable buffers, write) view of one VRRP message.
///
/// [`VrrpPacket::new_checked`] guarantees the fixed 8-byte header is present, so the header
/// accessors need no `Option`; accessors for the variable part (addresses, v2 auth data) return
/// `None` when the buffer ends first. Nothing here panics, whatever the buffer holds. The view
/// does not know the address family: that comes from the IP header, so callers pick
/// [`ipv4_addr`](Self::ipv4_addr) or [`ipv6_addr`](Self::ipv6_addr).
#[derive(Debug, Clone)]
pub struct VrrpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VrrpPacket<T> {
    /// Wraps `buffer`, which must hold at least the fixed header.
    pub fn new_checked(buffer: T) -> Result<VrrpPacket<T>, DecodeError> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(DecodeError::TooShort { len });
        }
        Ok(VrrpPacket { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer the view was made over.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    // `new_checked` established that the header is present; the fallbacks below only keep these
    // reads total should an `AsRef` implementation hand back a shorter slice later.
    fn byte(&self, at: usize) -> u8 {
        self.buffer.as_ref().get(at).copied().unwrap_or(0)
    }

    fn word(&self, at: std::ops::Range<usize>) -> u16 {
        match self.buffer.as_ref().get(at) {
            Some(&[high, low]) => u16::from_be_bytes([high, low]),
            _ => 0,
        }
    }

    fn array<const N: usize>(&self, start: usize) -> Option<[u8; N]> {
        let end = start.checked_add(N)?;
        self.buffer.as_ref().get(start..end)?.try_into().ok()
    }

    /// The version nibble (2 or 3 for anything [`Advert::parse`] accepts).
    pub fn version(&self) -> u8 {
        self.byte(field::VERSION_TYPE) >> 4
    }

    /// The type nibble ([`TYPE_ADVERTISEMENT`] is the only one defined).
    pub fn kind(&self) -> u8 {
        self.byte(field::VERSION_TYPE) & 0x0f
    }

    /// The Virtual Router ID.
    pub fn vrid(&self) -> u8 {
        self.byte(field::VRID)
    }

    pub fn priority(&self) -> u8 {
        self.byte(field::PRIORITY)
    }

    /// The number of addresses the header announces.
    pub fn addr_count(&self) -> u8 {
        self.byte(field::ADDR_COUNT)
    }

    /// v2: the authentication type.
    pub fn v2_auth_type(&self) -> u8 {
        self.byte(field::V2_AUTH_TYPE)
    }

    /// v2: the advertisement interval in seconds.
    pub fn v2_adver_int(&self) -> u8 {
        self.byte(field::V2_ADVER_INT)
    }

    /// v3: the 12-bit Max Advert Int in centiseconds, reserved bits dropped.
    pub fn v3_max_adver_int(&self) -> u16 {
        self.word(field::V3_MAX_ADVER_INT) & V3_INTERVAL_MASK
    }

    /// v3: the 4 reserved bits (sent as zero, ignored on receive).
    pub fn v3_reserved(&self) -> u8 {
        // The shift leaves 4 bits, so the conversion cannot fail.
        u8::try_from(self.word(field::V3_MAX_ADVER_INT) >> 12).unwrap_or(0)
    }

    /// The checksum field as stored.
    pub fn checksum(&self) -> u16 {
        self.word(field::CHECKSUM)
    }

    /// The `index`-th address read as IPv4, if the buffer holds it.
    pub fn ipv4_addr(&self, index: usize) -> Option<Ipv4Addr> {
        let start = index.checked_mul(4)?.checked_add(field::ADDRESSES)?;
        self.array::<4>(start).map(Ipv4Addr::from)
    }

    /// The `index`-th address read as IPv6, if the buffer holds it.
    pub fn ipv6_addr(&self, index: usize) -> Option<Ipv6Addr> {
        let start = index.checked_mul(16)?.checked_add(field::ADDRESSES)?;
        self.array::<16>(start).map(Ipv6Addr::from)
    }

    /// Where the v2 auth data starts: right after the announced IPv4 addresses.
    fn v2_auth_data_start(&self) -> usize {
        field::ADDRESSES.saturating_add(usize::from(self.addr_count()).saturating_mul(4))
    }

    /// v2: the 8 bytes of authentication data after the announced addresses, if present.
    pub fn v2_auth_data(&self) -> Option<[u8; V2_AUTH_DATA_LEN]> {
        self.array::<V2_AUTH_DATA_LEN>(self.v2_auth_data_start())
    }

    /// True if the stored checksum is right for `variant`, summing the whole buffer (so the
    /// buffer must be exactly the message). `src` and `dst` are used only for
    /// [`Checksum::PseudoHeader`].
    pub fn checksum_matches(&self, variant: Checksum, src: IpAddr, dst: IpAddr) -> bool {
        let bytes = self.buffer.as_ref();
        let initial = match variant {
            Checksum::Plain => Sum::default(),
            Checksum::PseudoHeader => checksum::pseudo_header(src, dst, IPPROTO_VRRP, bytes.len()),
        };
        initial.add_bytes(bytes).verifies()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VrrpPacket<T> {
    fn set_byte(&mut self, at: usize, value: u8) {
        if let Some(slot) = self.buffer.as_mut().get_mut(at) {
            *slot = value;
        }
    }

    fn set_word(&mut self, at: std::ops::Range<usize>, value: u16) {
        if let Some(slot) = self.buffer.as_mut().get_mut(at) {
            slot.copy_from_slice(&value.to_be_bytes());
        }
    }

    fn set_bytes(&mut self, start: usize, value: &[u8]) -> Result<(), EncodeError> {
        let available = self.buffer.as_ref().len();
        let needed = start.saturating_add(value.len());
        match self.buffer.as_mut().get_mut(start..needed) {
            Some(slot) => {
                slot.copy_from_slice(value);
                Ok(())
            }
            None => Err(EncodeError::BufferTooSmall { needed, available }),
        }
    }

    /// Sets the version nibble (the low 4 bits of `version`).
    pub fn set_version(&mut self, version: u8) {
        let kind = self.kind();
        self.set_byte(field::VERSION_TYPE, (version << 4) | kind);
    }

    /// Sets the type nibble (the low 4 bits of `kind`).
    pub fn set_kind(&mut self, kind: u8) {
        let version = self.version();
        self.set_byte(field::VERSION_TYPE, (version << 4) | (kind & 0x0f));
    }

    pub fn set_vrid(&mut self, vrid: u8) {
        self.set_byte(field::VRID, vrid);
    }

    pub fn set_priority(&mut self, priority: u8) {
        self.set_byte(field::PRIORITY, priority);
    }

    pub fn set_addr_count(&mut self, count: u8) {
        self.set_byte(field::ADDR_COUNT, count);
    }

    pub fn set_v2_auth_type(&mut self, auth_type: u8) {
        self.set_byte(field::V2_AUTH_TYPE, auth_type);
    }

    pub fn set_v2_adver_int(&mut self, secs: u8) {
        self.set_byte(field::V2_ADVER_INT, secs);
    }

    /// Sets the v3 interval (its low 12 bits) and zeroes the reserved bits.
    pub fn set_v3_max_adver_int(&mut self, centis: u16) {
        self.set_word(field::V3_MAX_ADVER_INT, centis & V3_INTERVAL_MASK);
    }

    pub fn set_checksum(&mut self, checksum: u16) {
        self.set_word(field::CHECKSUM, checksum);
    }

    pub fn set_ipv4_addr(&mut self, index: usize, addr: Ipv4Addr) -> Result<(), EncodeError> {
        let start = index.saturating_mul(4).saturating_add(field::ADDRESSES);
        self.set_bytes(start, &addr.octets())
    }

    pub fn set_ipv6_addr(&mut self, index: usize, addr: Ipv6Addr) -> Result<(), EncodeError> {
        let start = index.saturating_mul(16).saturating_add(field::ADDRESSES);
        self.set_bytes(start, &addr.octets())
    }

    /// Writes the v2 auth data after the addresses; set the count first.
    pub fn set_v2_auth_data(&mut self, data: &[u8; V2_AUTH_DATA_LEN]) -> Result<(), EncodeError> {
        let start = self.v2_auth_data_start();
        self.set_bytes(start, data)
    }

    /// Computes and stores the checksum for `variant` over the whole buffer (which must be
    /// exactly the message).
    pub fn fill_checksum(&mut self, variant: Checksum, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let bytes = self.buffer.as_ref();
        let initial = match variant {
            Checksum::Plain => Sum::default(),
            Checksum::PseudoHeader => checksum::pseudo_header(src, dst, IPPROTO_VRRP, bytes.len()),
        };
        let value = initial.add_bytes(bytes).checksum_field();
        self.set_checksum(value);
    }
}

impl Advert {
    /// Reads the version nibble and the VRID of a VRRP message without validating anything
    /// else, so that a socket shared by many instances can hand the message to the instance it
    /// concerns before [`Advert::parse`] (whose errors are then counted on that instance).
    /// `None` if the message is shorter than the fixed header; [`Advert::parse`] reports that as
    /// [`DecodeError::TooShort`], to be counted on the socket since no instance can be told.
    pub fn peek_version_vrid(payload: &[u8]) -> Option<(u8, u8)> {
        let packet = VrrpPacket::new_checked(payload).ok()?;
        Some((packet.version(), packet.vrid()))
    }

    /// Parses and validates one VRRP message (the IP payload) that arrived from `src` to `dst`.
    ///
    /// The address family of `src` decides the address size and which versions and checksums
    /// are allowed; the returned [`Checksum`] says which variant verified (always
    /// [`Checksum::Plain`] for v2 and [`Checksum::PseudoHeader`] for v3/IPv6). When both would
    /// verify a v3/IPv4 message (the pseudo-header sums to zero in one's complement, about one
    /// source/destination pair in 65535) the pseudo-header is reported, as keepalived and FRR
    /// send it by default; both variants then produce the same bytes.
    ///
    /// Checks, in order: `src` and `dst` of one family, the fixed header present, version (2
    /// over IPv4 or 3), type, exact length for the count, checksum.
    pub fn parse(
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<(Advert, Checksum), DecodeError> {
        Advert::parse_reusing(payload, src, dst, None)
    }

    /// [`parse`](Self::parse), filling `spare`'s vector with the addresses instead of a new one
    /// when it is of the right family: a receiver that hands back the last advert's addresses
    /// each time allocates nothing per advert.
    pub fn parse_reusing(
        payload: &[u8],
        src: IpAddr,
        dst: IpAddr,
        spare: Option<Addresses>,
    ) -> Result<(Advert, Checksum), DecodeError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family {
            return Err(DecodeError::FamilyMismatch);
        }
        let packet = VrrpPacket::new_checked(payload)?;
        let version = match (packet.version(), family) {
            (2, Family::V4) => Version::V2,
            (3, _) => Version::V3,
            (version, _) => return Err(DecodeError::BadVersion { version }),
        };
        if packet.kind() != TYPE_ADVERTISEMENT {
            return Err(DecodeError::BadType {
                kind: packet.kind(),
            });
        }
        let count = usize::from(packet.addr_count());
        let expected = message_len(version, family, count);
        if payload.len() != expected {
            return Err(DecodeError::LengthMismatch {
                len: payload.len(),
                expected,
            });
        }

        // VRRPv3 over IPv4 has two variants in the field (RFC 9568's pseudo-header one, and
        // keepalived's old plain one): the first is tried first, and computed only once.
        let first = match version {
            Version::V2 => Checksum::Plain,
            Version::V3 => Checksum::PseudoHeader,
        };
        let checksum = if packet.checksum_matches(first, src, dst) {
            first
        } else if (version, family) == (Version::V3, Family::V4)
            && packet.checksum_matches(Checksum::Plain, src, dst)
        {
            Checksum::Plain
        } else {
            return Err(DecodeError::BadChecksum);
        };

        // The length check above guarantees every address and the auth data are present; the
        // `filter_map`s cannot drop anything and only keep this code free of panicking paths.
        let addresses = match (family, spare) {
            (Family::V4, Some(Addresses::V4(mut reuse))) => {
                reuse.clear();
                reuse.extend((0..count).filter_map(|i| packet.ipv4_addr(i)));
                Addresses::V4(reuse)
            }
            (Family::V6, Some(Addresses::V6(mut reuse))) => {
                reuse.clear();
                reuse.extend((0..count).filter_map(|i| packet.ipv6_addr(i)));
                Addresses::V6(reuse)
            }
            (Family::V4, _) => {
                Addresses::V4((0..count).filter_map(|i| packet.ipv4_addr(i)).collect())
            }
            (Family::V6, _) => {
                Addresses::V6((0..count).filter_map(|i| packet.ipv6_addr(i)).collect())
            }
        };
        let (interval, auth) = match version {
            Version::V2 => (
                Centis::from_secs(packet.v2_adver_int()),
                Some(V2Auth {
                    auth_type: packet.v2_auth_type(),
                    data: packet.v2_auth_data().unwrap_or_default(),
                }),
            ),
            Version::V3 => (Centis(packet.v3_max_adver_int()), None),
        };
        let advert = Advert {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            interval,
            addresses,
            auth,
        };
        Ok((advert, checksum))
    }

    /// The length of the message [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        message_len(self.version, self.addresses.family(), self.addresses.len())
    }

    /// Checks that this advert can be written from `src` to `dst`, and returns the values whose
    /// wire form needs converting: the one-byte count and the interval field.
    fn validate_for_emit(
        &self,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<(u8, IntervalField), EncodeError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family || self.addresses.family() != family {
            return Err(EncodeError::FamilyMismatch);
        }
        if self.version == Version::V2 && family == Family::V6 {
            return Err(EncodeError::V2OverIpv6);
        }
        if self.auth.is_some() != (self.version == Version::V2) {
            return Err(EncodeError::AuthMismatch {
                version: self.version,
            });
        }
        let count =
            u8::try_from(self.addresses.len()).map_err(|_| EncodeError::TooManyAddresses {
                count: self.addresses.len(),
            })?;
        let interval = match self.version {
            Version::V2 => {
                let secs = u8::try_from(self.interval.0 / 100).ok();
                match secs {
                    Some(secs) if self.interval.0 % 100 == 0 => IntervalField::V2Secs(secs),
                    _ => {
                        return Err(EncodeError::V2IntervalUnrepresentable {
                            interval: self.interval,
                        })
                    }
                }
            }
            Version::V3 if self.interval <= Centis::V3_MAX => {
                IntervalField::V3Centis(self.interval.0)
            }
            Version::V3 => {
                return Err(EncodeError::V3IntervalTooLarge {
                    interval: self.interval,
                })
            }
        };
        Ok((count, interval))
    }

    /// Writes this advert as sent from `src` to `dst` into the start of `buf` and returns its
    /// length ([`buffer_len`](Self::buffer_len)); bytes past it are left alone.
    ///
    /// The checksum is plain for v2 and includes the pseudo-header for v3/IPv6; `v3_ipv4` picks
    /// the variant for v3/IPv4 only. Reserved bits are written as zero.
    pub fn emit(
        &self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        v3_ipv4: Checksum,
    ) -> Result<usize, EncodeError> {
        let (count, interval) = self.validate_for_emit(src, dst)?;
        let len = self.buffer_len();
        let available = buf.len();
        let message = buf.get_mut(..len).ok_or(EncodeError::BufferTooSmall {
            needed: len,
            available,
        })?;
        let mut packet =
            VrrpPacket::new_checked(message).map_err(|_| EncodeError::BufferTooSmall {
                needed: len,
                available,
            })?;

        packet.set_version(self.version.number());
        packet.set_kind(TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        packet.set_addr_count(count);
        match interval {
            IntervalField::V2Secs(secs) => packet.set_v2_adver_int(secs),
            IntervalField::V3Centis(centis) => packet.set_v3_max_adver_int(centis),
        }
        if let Some(auth) = &self.auth {
            packet.set_v2_auth_type(auth.auth_type);
        }
        match &self.addresses {
            Addresses::V4(addrs) => {
                for (index, addr) in addrs.iter().enumerate() {
                    packet.set_ipv4_addr(index, *addr)?;
                }
            }
            Addresses::V6(addrs) => {
                for (index, addr) in addrs.iter().enumerate() {
                    packet.set_ipv6_addr(index, *addr)?;
                }
            }
        }
        if let Some(auth) = &self.auth {
            packet.set_v2_auth_data(&auth.data)?;
        }
        let variant = match (self.version, Family::of(&src)) {
            (Version::V2, _) => Checksum::Plain,
            (Version::V3, Family::V6) => Checksum::PseudoHeader,
            (Version::V3, Family::V4) => v3_ipv4,
        };
        packet.fill_checksum(variant, src, dst);
        Ok(len)
    }

    /// [`emit`](Self::emit) into a new buffer of exactly the right size.
    pub fn to_bytes(
        &self,
        src: IpAddr,
        dst: IpAddr,
        v3_ipv4: Checksum,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut buf = vec![0; self.buffer_len()];
        self.emit(&mut buf, src, dst, v3_ipv4)?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const R1_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const VIP_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    const R1_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xc0ff, 0xfe00, 0x0201);
    const VIP_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);

    fn src4() -> IpAddr {
        IpAddr::V4(R1_V4)
    }
    fn dst4() -> IpAddr {
        IpAddr::V4(super::super::types::MCAST_V4)
    }
    fn src6() -> IpAddr {
        IpAddr::V6(R1_V6)
    }
    fn dst6() -> IpAddr {
        IpAddr::V6(super::super::types::MCAST_V6)
    }

    // keepalived 2.2.7, `version 2`, VRID 51, priority 200, advert_int 1, VIP 192.0.2.100,
    // from 192.0.2.1 to 224.0.0.18 (tests/data/keepalived-v2-ipv4.hex).
    static V2_BYTES: [u8; 20] = [
        0x21, 0x33, 0xc8, 0x01, 0x00, 0x01, 0x54, 0x65, // header
        0xc0, 0x00, 0x02, 0x64, // 192.0.2.100
        0, 0, 0, 0, 0, 0, 0, 0, // auth data
    ];

    // keepalived 2.2.7, `version 3`, advert_int 0.1, same VRID/priority/VIP, with the IPv4
    // pseudo-header checksum (tests/data/keepalived-v3-ipv4.hex).
    static V3_IPV4_BYTES: [u8; 12] = [
        0x31, 0x33, 0xc8, 0x01, 0x00, 0x0a, 0xa1, 0xcb, // header
        0xc0, 0x00, 0x02, 0x64, // 192.0.2.100
    ];

    // keepalived 2.2.7, `version 3` over IPv6, VIP 2001:db8::100, from fe80::c0ff:fe00:201 to
    // ff02::12 (tests/data/keepalived-v3-ipv6.hex).
    static V3_IPV6_BYTES: [u8; 24] = [
        0x31, 0x33, 0xc8, 0x01, 0x00, 0x0a, 0x18, 0xe8, // header
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
    ];

    #[test]
    fn parse_reusing_fills_the_spare_vector_and_agrees_with_parse() {
        let (first, _) = Advert::parse(&V3_IPV4_BYTES, src4(), dst4()).unwrap();
        let Addresses::V4(ref vector) = first.addresses else {
            panic!("IPv4 advert")
        };
        let buffer = vector.as_ptr();
        let (second, checksum) = Advert::parse_reusing(
            &V3_IPV4_BYTES,
            src4(),
            dst4(),
            Some(first.addresses.clone()),
        )
        .unwrap();
        assert_eq!(second, first);
        assert_eq!(checksum, Checksum::PseudoHeader);
        // The same allocation when handed back, a new one for the other family.
        let spare = first.addresses;
        let (third, _) =
            Advert::parse_reusing(&V3_IPV4_BYTES, src4(), dst4(), Some(spare)).unwrap();
        let Addresses::V4(ref reused) = third.addresses else {
            panic!("IPv4 advert")
        };
        assert_eq!(reused.as_ptr(), buffer, "the spare vector was not reused");
        let (v6, _) =
            Advert::parse_reusing(&V3_IPV6_BYTES, src6(), dst6(), Some(third.addresses)).unwrap();
        assert_eq!(v6.addresses, Addresses::V6(vec![VIP_V6]));
    }

    fn v2_advert() -> Advert {
        Advert {
            version: Version::V2,
            vrid: 51,
            priority: 200,
            interval: Centis(100),
            addresses: Addresses::V4(vec![VIP_V4]),
            auth: Some(V2Auth::NONE),
        }
    }

    fn v3_ipv4_advert() -> Advert {
        Advert {
            version: Version::V3,
            vrid: 51,
            priority: 200,
            interval: Centis(10),
            addresses: Addresses::V4(vec![VIP_V4]),
            auth: None,
        }
    }

    fn v3_ipv6_advert() -> Advert {
        Advert {
            addresses: Addresses::V6(vec![VIP_V6]),
            ..v3_ipv4_advert()
        }
    }

    /// Recomputes the checksum of `bytes` for `variant` after an edit.
    fn refill(bytes: &mut [u8], variant: Checksum, src: IpAddr, dst: IpAddr) {
        let mut packet = VrrpPacket::new_checked(bytes).unwrap();
        packet.fill_checksum(variant, src, dst);
    }

    #[test]
    fn test_deconstruct_v2() {
        let packet = VrrpPacket::new_checked(&V2_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 2);
        assert_eq!(packet.kind(), TYPE_ADVERTISEMENT);
        assert_eq!(packet.vrid(), 51);
        assert_eq!(packet.priority(), 200);
        assert_eq!(packet.addr_count(), 1);
        assert_eq!(packet.v2_auth_type(), 0);
        assert_eq!(packet.v2_adver_int(), 1);
        assert_eq!(packet.checksum(), 0x5465);
        assert_eq!(packet.ipv4_addr(0), Some(VIP_V4));
        // The view reads what the buffer holds; the count is for `Advert::parse` to enforce.
        assert_eq!(packet.ipv4_addr(3), None);
        assert_eq!(packet.v2_auth_data(), Some([0; 8]));
        assert!(packet.checksum_matches(Checksum::Plain, src4(), dst4()));
    }

    #[test]
    fn test_deconstruct_v3() {
        let packet = VrrpPacket::new_checked(&V3_IPV6_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 3);
        assert_eq!(packet.kind(), TYPE_ADVERTISEMENT);
        assert_eq!(packet.vrid(), 51);
        assert_eq!(packet.priority(), 200);
        assert_eq!(packet.addr_count(), 1);
        assert_eq!(packet.v3_max_adver_int(), 10);
        assert_eq!(packet.v3_reserved(), 0);
        assert_eq!(packet.checksum(), 0x18e8);
        assert_eq!(packet.ipv6_addr(0), Some(VIP_V6));
        assert_eq!(packet.ipv6_addr(1), None);
        assert!(packet.checksum_matches(Checksum::PseudoHeader, src6(), dst6()));
        assert!(!packet.checksum_matches(Checksum::Plain, src6(), dst6()));
    }

    #[test]
    fn test_construct_v2() {
        let mut bytes = [0xa5; 20];
        let mut packet = VrrpPacket::new_checked(&mut bytes[..]).unwrap();
        packet.set_version(2);
        packet.set_kind(TYPE_ADVERTISEMENT);
        packet.set_vrid(51);
        packet.set_priority(200);
        packet.set_addr_count(1);
        packet.set_v2_auth_type(0);
        packet.set_v2_adver_int(1);
        packet.set_ipv4_addr(0, VIP_V4).unwrap();
        packet.set_v2_auth_data(&[0; 8]).unwrap();
        packet.fill_checksum(Checksum::Plain, src4(), dst4());
        assert_eq!(packet.into_inner(), &V2_BYTES[..]);
    }

    #[test]
    fn test_construct_v3() {
        let mut bytes = [0xa5; 24];
        let mut packet = VrrpPacket::new_checked(&mut bytes[..]).unwrap();
        packet.set_version(3);
        packet.set_kind(TYPE_ADVERTISEMENT);
        packet.set_vrid(51);
        packet.set_priority(200);
        packet.set_addr_count(1);
        packet.set_v3_max_adver_int(10);
        packet.set_ipv6_addr(0, VIP_V6).unwrap();
        packet.fill_checksum(Checksum::PseudoHeader, src6(), dst6());
        assert_eq!(packet.into_inner(), &V3_IPV6_BYTES[..]);
    }

    #[test]
    fn setters_past_the_end_report_the_shortfall() {
        let mut bytes = [0u8; 10];
        let mut packet = VrrpPacket::new_checked(&mut bytes[..]).unwrap();
        assert_eq!(
            packet.set_ipv4_addr(0, VIP_V4),
            Err(EncodeError::BufferTooSmall {
                needed: 12,
                available: 10
            })
        );
        assert!(packet.set_v2_auth_data(&[1; 8]).is_err());
        assert_eq!(packet.into_inner(), &[0u8; 10]);
    }

    #[test]
    fn test_parse_v2() {
        let (advert, checksum) = Advert::parse(&V2_BYTES, src4(), dst4()).unwrap();
        assert_eq!(advert, v2_advert());
        assert_eq!(checksum, Checksum::Plain);
    }

    #[test]
    fn test_parse_v3_ipv4() {
        let (advert, checksum) = Advert::parse(&V3_IPV4_BYTES, src4(), dst4()).unwrap();
        assert_eq!(advert, v3_ipv4_advert());
        assert_eq!(checksum, Checksum::PseudoHeader);
    }

    #[test]
    fn test_parse_v3_ipv6() {
        let (advert, checksum) = Advert::parse(&V3_IPV6_BYTES, src6(), dst6()).unwrap();
        assert_eq!(advert, v3_ipv6_advert());
        assert_eq!(checksum, Checksum::PseudoHeader);
    }

    #[test]
    fn test_emit_v2() {
        let mut bytes = [0xa5; 24];
        let len = v2_advert()
            .emit(&mut bytes, src4(), dst4(), Checksum::PseudoHeader)
            .unwrap();
        assert_eq!(len, 20);
        assert_eq!(v2_advert().buffer_len(), 20);
        assert_eq!(&bytes[..len], &V2_BYTES[..]);
        // Bytes past the message are not the codec's.
        assert_eq!(&bytes[len..], &[0xa5; 4]);
    }

    #[test]
    fn test_emit_v3_ipv4_both_checksums() {
        let mut bytes = [0xa5; 12];
        let advert = v3_ipv4_advert();
        advert
            .emit(&mut bytes, src4(), dst4(), Checksum::PseudoHeader)
            .unwrap();
        assert_eq!(bytes, V3_IPV4_BYTES);

        let plain = advert.to_bytes(src4(), dst4(), Checksum::Plain).unwrap();
        assert_eq!(&plain[..6], &V3_IPV4_BYTES[..6]);
        assert_eq!(&plain[8..], &V3_IPV4_BYTES[8..]);
        assert_ne!(plain[6..8], V3_IPV4_BYTES[6..8]);
        assert_eq!(
            Advert::parse(&plain, src4(), dst4()),
            Ok((advert, Checksum::Plain))
        );
    }

    #[test]
    fn test_emit_v3_ipv6() {
        let mut bytes = [0xa5; 24];
        // The v3/IPv4 choice does not apply to IPv6: the pseudo-header is mandatory there.
        let len = v3_ipv6_advert()
            .emit(&mut bytes, src6(), dst6(), Checksum::Plain)
            .unwrap();
        assert_eq!(len, 24);
        assert_eq!(bytes, V3_IPV6_BYTES);
    }

    #[test]
    fn v3_reserved_bits_are_ignored_on_receive_and_sent_as_zero() {
        let mut bytes = V3_IPV4_BYTES;
        bytes[4] |= 0xf0;
        refill(&mut bytes, Checksum::PseudoHeader, src4(), dst4());
        let packet = VrrpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.v3_reserved(), 0x0f);
        let (advert, _) = Advert::parse(&bytes, src4(), dst4()).unwrap();
        assert_eq!(advert, v3_ipv4_advert());

        let mut out = [0xff; 12];
        advert
            .emit(&mut out, src4(), dst4(), Checksum::PseudoHeader)
            .unwrap();
        assert_eq!(out, V3_IPV4_BYTES);
    }

    #[test]
    fn semantics_pass_through() {
        // Priority 0, interval 0, no addresses, v2 PASS auth: syntax is fine, judging is proto's.
        let v2 = Advert {
            version: Version::V2,
            vrid: 0,
            priority: 0,
            interval: Centis(0),
            addresses: Addresses::V4(vec![]),
            auth: Some(V2Auth {
                auth_type: V2Auth::TYPE_PASS,
                data: *b"secret\0\0",
            }),
        };
        let bytes = v2.to_bytes(src4(), dst4(), Checksum::Plain).unwrap();
        assert_eq!(bytes.len(), 16);
        assert_eq!(
            Advert::parse(&bytes, src4(), dst4()),
            Ok((v2, Checksum::Plain))
        );

        let v3 = Advert {
            version: Version::V3,
            vrid: 255,
            priority: 255,
            interval: Centis::V3_MAX,
            addresses: Addresses::V6(vec![]),
            auth: None,
        };
        let bytes = v3.to_bytes(src6(), dst6(), Checksum::Plain).unwrap();
        assert_eq!(bytes.len(), 8);
        assert_eq!(
            Advert::parse(&bytes, src6(), dst6()),
            Ok((v3, Checksum::PseudoHeader))
        );
    }

    #[test]
    fn peek_reads_version_and_vrid_without_validating() {
        assert_eq!(Advert::peek_version_vrid(&V2_BYTES), Some((2, 51)));
        assert_eq!(Advert::peek_version_vrid(&V3_IPV6_BYTES), Some((3, 51)));
        // A bad checksum or a bad length does not stop the demultiplexing.
        let mut corrupt = V2_BYTES;
        corrupt[6] ^= 0xff;
        assert_eq!(Advert::peek_version_vrid(&corrupt[..12]), Some((2, 51)));
        assert_eq!(
            Advert::peek_version_vrid(&[0x41, 7, 0, 0, 0, 0, 0, 0]),
            Some((4, 7))
        );
        assert_eq!(Advert::peek_version_vrid(&V2_BYTES[..7]), None);
    }

    // One crafted packet per DecodeError the VRRP codec produces (BadIpHeader and NotVrrp come
    // from the IPv4 header and are tested in ipv4.rs).

    #[test]
    fn error_too_short() {
        assert_eq!(
            Advert::parse(&V2_BYTES[..7], src4(), dst4()),
            Err(DecodeError::TooShort { len: 7 })
        );
        assert_eq!(
            Advert::parse(&[], src6(), dst6()),
            Err(DecodeError::TooShort { len: 0 })
        );
    }

    #[test]
    fn error_length_mismatch() {
        // One byte missing from the auth data.
        assert_eq!(
            Advert::parse(&V2_BYTES[..19], src4(), dst4()),
            Err(DecodeError::LengthMismatch {
                len: 19,
                expected: 20
            })
        );
        // Trailing bytes are refused, as keepalived refuses them.
        let mut long = V3_IPV4_BYTES.to_vec();
        long.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            Advert::parse(&long, src4(), dst4()),
            Err(DecodeError::LengthMismatch {
                len: 16,
                expected: 12
            })
        );
        // The same count means 16-byte addresses over IPv6.
        assert_eq!(
            Advert::parse(&V3_IPV4_BYTES, src6(), dst6()),
            Err(DecodeError::LengthMismatch {
                len: 12,
                expected: 24
            })
        );
        // A count the message does not hold.
        let mut overcount = V3_IPV4_BYTES;
        overcount[3] = 255;
        assert_eq!(
            Advert::parse(&overcount, src4(), dst4()),
            Err(DecodeError::LengthMismatch {
                len: 12,
                expected: 8 + 255 * 4
            })
        );
    }

    #[test]
    fn error_bad_version() {
        for version in [0u8, 1, 4, 15] {
            let mut bytes = V3_IPV4_BYTES;
            bytes[0] = (version << 4) | 1;
            assert_eq!(
                Advert::parse(&bytes, src4(), dst4()),
                Err(DecodeError::BadVersion { version })
            );
        }
        // v2 is IPv4 only.
        let mut v2_over_v6 = V3_IPV6_BYTES;
        v2_over_v6[0] = 0x21;
        assert_eq!(
            Advert::parse(&v2_over_v6, src6(), dst6()),
            Err(DecodeError::BadVersion { version: 2 })
        );
    }

    #[test]
    fn error_bad_type() {
        let mut bytes = V2_BYTES;
        bytes[0] = 0x22;
        refill(&mut bytes, Checksum::Plain, src4(), dst4());
        assert_eq!(
            Advert::parse(&bytes, src4(), dst4()),
            Err(DecodeError::BadType { kind: 2 })
        );
    }

    #[test]
    fn error_bad_checksum() {
        let mut bytes = V2_BYTES;
        bytes[11] ^= 0x01; // 192.0.2.101
        assert_eq!(
            Advert::parse(&bytes, src4(), dst4()),
            Err(DecodeError::BadChecksum)
        );
        // The v3/IPv4 pseudo-header covers the addresses: another source fails both variants.
        let other_src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(
            Advert::parse(&V3_IPV4_BYTES, other_src, dst4()),
            Err(DecodeError::BadChecksum)
        );
    }

    #[test]
    fn error_family_mismatch() {
        assert_eq!(
            Advert::parse(&V3_IPV4_BYTES, src4(), dst6()),
            Err(DecodeError::FamilyMismatch)
        );
        assert_eq!(
            Advert::parse(&V3_IPV6_BYTES, src6(), dst4()),
            Err(DecodeError::FamilyMismatch)
        );
    }

    #[test]
    fn checksum_variants_are_told_apart() {
        // v3/IPv4: either variant is accepted and reported.
        let mut plain = V3_IPV4_BYTES;
        refill(&mut plain, Checksum::Plain, src4(), dst4());
        assert_eq!(
            Advert::parse(&plain, src4(), dst4()).map(|(_, c)| c),
            Ok(Checksum::Plain)
        );
        assert_eq!(
            Advert::parse(&V3_IPV4_BYTES, src4(), dst4()).map(|(_, c)| c),
            Ok(Checksum::PseudoHeader)
        );
        // v3/IPv6: the pseudo-header is mandatory.
        let mut v6_plain = V3_IPV6_BYTES;
        refill(&mut v6_plain, Checksum::Plain, src6(), dst6());
        assert_eq!(
            Advert::parse(&v6_plain, src6(), dst6()),
            Err(DecodeError::BadChecksum)
        );
        // v2: plain only.
        let mut v2_pseudo = V2_BYTES;
        refill(&mut v2_pseudo, Checksum::PseudoHeader, src4(), dst4());
        assert_eq!(
            Advert::parse(&v2_pseudo, src4(), dst4()),
            Err(DecodeError::BadChecksum)
        );
    }

    #[test]
    fn emit_errors() {
        let mut small = [0u8; 19];
        assert_eq!(
            v2_advert().emit(&mut small, src4(), dst4(), Checksum::Plain),
            Err(EncodeError::BufferTooSmall {
                needed: 20,
                available: 19
            })
        );
        assert_eq!(small, [0u8; 19]);

        let v2_v6 = Advert {
            addresses: Addresses::V6(vec![VIP_V6]),
            ..v2_advert()
        };
        assert_eq!(
            v2_v6.to_bytes(src6(), dst6(), Checksum::Plain),
            Err(EncodeError::V2OverIpv6)
        );

        for centis in [150, 25_600, u16::MAX] {
            let advert = Advert {
                interval: Centis(centis),
                ..v2_advert()
            };
            assert_eq!(
                advert.to_bytes(src4(), dst4(), Checksum::Plain),
                Err(EncodeError::V2IntervalUnrepresentable {
                    interval: Centis(centis)
                })
            );
        }
        let slowest_v2 = Advert {
            interval: Centis::V2_MAX,
            ..v2_advert()
        };
        assert!(slowest_v2.to_bytes(src4(), dst4(), Checksum::Plain).is_ok());

        let too_slow = Advert {
            interval: Centis(0x1000),
            ..v3_ipv4_advert()
        };
        assert_eq!(
            too_slow.to_bytes(src4(), dst4(), Checksum::Plain),
            Err(EncodeError::V3IntervalTooLarge {
                interval: Centis(0x1000)
            })
        );

        let crowded = Advert {
            addresses: Addresses::V4(vec![VIP_V4; 256]),
            ..v3_ipv4_advert()
        };
        assert_eq!(
            crowded.to_bytes(src4(), dst4(), Checksum::Plain),
            Err(EncodeError::TooManyAddresses { count: 256 })
        );

        assert_eq!(
            v3_ipv4_advert().to_bytes(src6(), dst6(), Checksum::Plain),
            Err(EncodeError::FamilyMismatch)
        );
        assert_eq!(
            v3_ipv4_advert().to_bytes(src4(), dst6(), Checksum::Plain),
            Err(EncodeError::FamilyMismatch)
        );

        let v2_without_auth = Advert {
            auth: None,
            ..v2_advert()
        };
        assert_eq!(
            v2_without_auth.to_bytes(src4(), dst4(), Checksum::Plain),
            Err(EncodeError::AuthMismatch {
                version: Version::V2
            })
        );
        let v3_with_auth = Advert {
            auth: Some(V2Auth::NONE),
            ..v3_ipv4_advert()
        };
        assert_eq!(
            v3_with_auth.to_bytes(src4(), dst4(), Checksum::Plain),
            Err(EncodeError::AuthMismatch {
                version: Version::V3
            })
        );
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
            any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
        ]
    }

    /// Bytes that often get past the early checks: a plausible header and a length near the
    /// one the count requires.
    fn vrrp_like_bytes() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![Just(0x21u8), Just(0x31u8), any::<u8>()],
            0u8..8,
            any::<[u8; 6]>(),
            prop::collection::vec(any::<u8>(), 0..80),
        )
            .prop_map(|(version_type, count, rest, tail)| {
                let mut bytes = vec![version_type, rest[0], rest[1], count];
                bytes.extend_from_slice(&rest[2..]);
                bytes.extend_from_slice(&tail);
                bytes
            })
    }

    /// A valid advert together with a source and destination it can be sent between.
    fn valid_advert() -> impl Strategy<Value = (Advert, IpAddr, IpAddr)> {
        let v2 = (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<[u8; 4]>(), 0..20),
            any::<u8>(),
            any::<[u8; 8]>(),
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
        )
            .prop_map(|(vrid, priority, secs, addrs, auth_type, data, src, dst)| {
                let advert = Advert {
                    version: Version::V2,
                    vrid,
                    priority,
                    interval: Centis::from_secs(secs),
                    addresses: Addresses::V4(addrs.into_iter().map(Ipv4Addr::from).collect()),
                    auth: Some(V2Auth { auth_type, data }),
                };
                let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
                (advert, IpAddr::V4(src), IpAddr::V4(dst))
            });
        let v3_v4 = (
            any::<u8>(),
            any::<u8>(),
            0u16..=0x0fff,
            prop::collection::vec(any::<[u8; 4]>(), 0..20),
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
        )
            .prop_map(|(vrid, priority, centis, addrs, src, dst)| {
                let advert = Advert {
                    version: Version::V3,
                    vrid,
                    priority,
                    interval: Centis(centis),
                    addresses: Addresses::V4(addrs.into_iter().map(Ipv4Addr::from).collect()),
                    auth: None,
                };
                let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
                (advert, IpAddr::V4(src), IpAddr::V4(dst))
            });
        let v3_v6 = (
            any::<u8>(),
            any::<u8>(),
            0u16..=0x0fff,
            prop::collection::vec(any::<[u8; 16]>(), 0..10),
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
        )
            .prop_map(|(vrid, priority, centis, addrs, src, dst)| {
                let advert = Advert {
                    version: Version::V3,
                    vrid,
                    priority,
                    interval: Centis(centis),
                    addresses: Addresses::V6(addrs.into_iter().map(Ipv6Addr::from).collect()),
                    auth: None,
                };
                let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
                (advert, IpAddr::V6(src), IpAddr::V6(dst))
            });
        prop_oneof![v2, v3_v4, v3_v6]
    }

    fn any_checksum() -> impl Strategy<Value = Checksum> {
        prop_oneof![Just(Checksum::Plain), Just(Checksum::PseudoHeader)]
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            src in any_ip(),
            dst in any_ip(),
        ) {
            let _ = Advert::parse(&bytes, src, dst);
            let _ = Advert::peek_version_vrid(&bytes);
        }

        #[test]
        fn plausible_bytes_parse_without_panic_and_re_emit_identically(
            bytes in vrrp_like_bytes(),
            src in any_ip(),
            dst in any_ip(),
            exact_length in any::<bool>(),
            variant in any_checksum(),
        ) {
            // Half the cases get the length the count requires and a correct checksum, so that
            // the success path is exercised as much as the error paths.
            let mut bytes = bytes;
            if exact_length && bytes.len() >= HEADER_LEN {
                let version = if bytes[0] >> 4 == 2 { Version::V2 } else { Version::V3 };
                bytes.resize(message_len(version, Family::of(&src), usize::from(bytes[3])), 0);
                refill(&mut bytes, variant, src, dst);
            }
            if let Ok((advert, checksum)) = Advert::parse(&bytes, src, dst) {
                // Whatever parses re-emits to the very same bytes, reserved bits aside.
                let mut expected = bytes.clone();
                if advert.version == Version::V3 {
                    expected[4] &= 0x0f;
                    refill(&mut expected, checksum, src, dst);
                }
                prop_assert_eq!(advert.to_bytes(src, dst, checksum).unwrap(), expected);
            }
        }

        #[test]
        fn emit_then_parse_round_trips(
            (advert, src, dst) in valid_advert(),
            v3_ipv4 in any_checksum(),
        ) {
            let bytes = advert.to_bytes(src, dst, v3_ipv4).unwrap();
            prop_assert_eq!(bytes.len(), advert.buffer_len());
            let (parsed, reported) = Advert::parse(&bytes, src, dst).unwrap();
            prop_assert_eq!(&parsed, &advert);
            let chosen = match (advert.version, Family::of(&src)) {
                (Version::V2, _) => Checksum::Plain,
                (Version::V3, Family::V6) => Checksum::PseudoHeader,
                (Version::V3, Family::V4) => v3_ipv4,
            };
            if reported != chosen {
                // Only when the pseudo-header sums to one's-complement zero, and then both
                // variants must give the same bytes.
                prop_assert_eq!(advert.to_bytes(src, dst, reported).unwrap(), bytes);
            }
        }
    }

    #[test]
    fn a_pseudo_header_summing_to_zero_makes_both_variants_verify() {
        // Pick a source whose pseudo-header (with 224.0.0.18, protocol 112, length 12) folds to
        // 0xffff: the two variants then write the same checksum, and parse reports the
        // pseudo-header.
        let dst = dst4();
        let base =
            checksum::pseudo_header(IpAddr::V4(Ipv4Addr::UNSPECIFIED), dst, IPPROTO_VRRP, 12);
        let needed = 0xffff - base.fold();
        let src = IpAddr::V4(Ipv4Addr::from(u32::from(needed)));
        assert_eq!(
            checksum::pseudo_header(src, dst, IPPROTO_VRRP, 12).fold(),
            0xffff
        );
        let advert = v3_ipv4_advert();
        let plain = advert.to_bytes(src, dst, Checksum::Plain).unwrap();
        let pseudo = advert.to_bytes(src, dst, Checksum::PseudoHeader).unwrap();
        assert_eq!(plain, pseudo);
        assert_eq!(
            Advert::parse(&plain, src, dst),
            Ok((advert, Checksum::PseudoHeader))
        );
    }
}
