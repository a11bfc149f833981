//! A minimal IPv4 header reader for the raw-socket receive path: a zero-copy [`Ipv4Packet`] view
//! and the validated [`Ipv4Header`].
//!
//! Linux delivers the whole datagram, IP header included, on a raw `AF_INET` socket, exactly as
//! it arrived: `raw_rcv` only pushes the data pointer back to the network header, so the total
//! length is in network byte order and counts the header. (The host-order `ip_len` with the header
//! length subtracted is a BSD raw-socket habit, of FreeBSD before 11 and macOS; Linux never did
//! it.) Should a host-order length ever arrive, it reads as a length much larger than the buffer
//! (40 bytes in little-endian order reads as 10240) and is dropped as [`DecodeError::BadIpHeader`]
//! rather than misread. The kernel has already verified the header checksum (`ip_rcv` drops bad
//! ones) and reassembled fragments before a raw socket sees the datagram, and trimmed link-layer
//! padding using the total length; the checks here keep the codec total on any input all the same.
//!
//! [`Ipv4Header::emit`] writes a 20-byte header, for tests and simulations that need to hand the
//! receive path a datagram; keepvip itself lets the kernel build the header on send.

use std::net::Ipv4Addr;

use super::checksum::Sum;
use super::types::{DecodeError, EncodeError, IPPROTO_VRRP};

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = 20;

/// Byte positions of the IPv4 header fields (RFC 791 §3.1).
mod field {
    use std::ops::Range;

    /// Version in the high nibble, header length in 32-bit words in the low nibble.
    pub const VERSION_IHL: usize = 0;
    /// DSCP and ECN, the former TOS byte.
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    /// 3 flag bits (reserved, DF, MF), then a 13-bit fragment offset in 8-byte units.
    pub const FLAGS_FRAG_OFFSET: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const HEADER_CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// The More Fragments flag within the flags/offset word.
const MORE_FRAGMENTS: u16 = 0x2000;
/// The fragment offset bits within the flags/offset word.
const FRAGMENT_OFFSET_MASK: u16 = 0x1fff;

/// A read (and, for mutable buffers, write) view of an IPv4 header.
///
/// [`Ipv4Packet::new_checked`] guarantees the 20-byte fixed header is present, so every accessor
/// reads within the buffer; nothing here panics on any buffer.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps `buffer`, which must hold at least the 20-byte fixed header.
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>, DecodeError> {
        if buffer.as_ref().len() < MIN_HEADER_LEN {
            return Err(DecodeError::BadIpHeader);
        }
        Ok(Ipv4Packet { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    // `new_checked` established the fixed header is present; the fallbacks keep the reads total.
    fn byte(&self, at: usize) -> u8 {
        self.buffer.as_ref().get(at).copied().unwrap_or(0)
    }

    fn word(&self, at: std::ops::Range<usize>) -> u16 {
        match self.buffer.as_ref().get(at) {
            Some(&[high, low]) => u16::from_be_bytes([high, low]),
            _ => 0,
        }
    }

    fn addr(&self, at: std::ops::Range<usize>) -> Ipv4Addr {
        match self.buffer.as_ref().get(at) {
            Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
            _ => Ipv4Addr::UNSPECIFIED,
        }
    }

    pub fn version(&self) -> u8 {
        self.byte(field::VERSION_IHL) >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.byte(field::VERSION_IHL) & 0x0f) * 4
    }

    pub fn tos(&self) -> u8 {
        self.byte(field::TOS)
    }

    /// Length of the datagram, header included, as stored (network byte order).
    pub fn total_len(&self) -> u16 {
        self.word(field::TOTAL_LEN)
    }

    pub fn ident(&self) -> u16 {
        self.word(field::IDENT)
    }

    pub fn more_fragments(&self) -> bool {
        self.word(field::FLAGS_FRAG_OFFSET) & MORE_FRAGMENTS != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn fragment_offset(&self) -> u16 {
        self.word(field::FLAGS_FRAG_OFFSET) & FRAGMENT_OFFSET_MASK
    }

    /// The whole flags / fragment offset word.
    pub fn flags_fragment_offset(&self) -> u16 {
        self.word(field::FLAGS_FRAG_OFFSET)
    }

    pub fn ttl(&self) -> u8 {
        self.byte(field::TTL)
    }

    pub fn protocol(&self) -> u8 {
        self.byte(field::PROTOCOL)
    }

    pub fn header_checksum(&self) -> u16 {
        self.word(field::HEADER_CHECKSUM)
    }

    pub fn src(&self) -> Ipv4Addr {
        self.addr(field::SRC)
    }

    pub fn dst(&self) -> Ipv4Addr {
        self.addr(field::DST)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn set_byte(&mut self, at: usize, value: u8) {
        if let Some(slot) = self.buffer.as_mut().get_mut(at) {
            *slot = value;
        }
    }

    fn set_slice(&mut self, at: std::ops::Range<usize>, value: &[u8]) {
        if let Some(slot) = self.buffer.as_mut().get_mut(at) {
            if slot.len() == value.len() {
                slot.copy_from_slice(value);
            }
        }
    }

    /// Sets version 4 and the header length in bytes (rounded down to 32-bit words, at most 60).
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        let words = u8::try_from((header_len / 4).min(15)).unwrap_or(15);
        self.set_byte(field::VERSION_IHL, (4 << 4) | words);
    }

    pub fn set_tos(&mut self, tos: u8) {
        self.set_byte(field::TOS, tos);
    }

    pub fn set_total_len(&mut self, total_len: u16) {
        self.set_slice(field::TOTAL_LEN, &total_len.to_be_bytes());
    }

    pub fn set_ident(&mut self, ident: u16) {
        self.set_slice(field::IDENT, &ident.to_be_bytes());
    }

    pub fn set_flags_fragment_offset(&mut self, word: u16) {
        self.set_slice(field::FLAGS_FRAG_OFFSET, &word.to_be_bytes());
    }

    pub fn set_ttl(&mut self, ttl: u8) {
        self.set_byte(field::TTL, ttl);
    }

    pub fn set_protocol(&mut self, protocol: u8) {
        self.set_byte(field::PROTOCOL, protocol);
    }

    pub fn set_header_checksum(&mut self, checksum: u16) {
        self.set_slice(field::HEADER_CHECKSUM, &checksum.to_be_bytes());
    }

    pub fn set_src(&mut self, src: Ipv4Addr) {
        self.set_slice(field::SRC, &src.octets());
    }

    pub fn set_dst(&mut self, dst: Ipv4Addr) {
        self.set_slice(field::DST, &dst.octets());
    }

    /// Computes and stores the header checksum over the header length the packet declares.
    pub fn fill_header_checksum(&mut self) {
        self.set_header_checksum(0);
        let header_len = self.header_len();
        let sum = Sum::default().add_bytes(self.buffer.as_ref().get(..header_len).unwrap_or(&[]));
        self.set_header_checksum(sum.checksum_field());
    }
}

/// A validated IPv4 header: what the receive path needs to know about a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Header {
    header_len: usize,
    tos: u8,
    total_len: u16,
    ttl: u8,
    protocol: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
}

impl Ipv4Header {
    /// A header without options for a payload of `payload_len` bytes, as [`emit`](Self::emit)
    /// writes it.
    pub fn new(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        ttl: u8,
        tos: u8,
        payload_len: usize,
    ) -> Result<Ipv4Header, EncodeError> {
        let total_len = payload_len
            .checked_add(MIN_HEADER_LEN)
            .and_then(|total| u16::try_from(total).ok())
            .ok_or(EncodeError::PayloadTooLarge { len: payload_len })?;
        Ok(Ipv4Header {
            header_len: MIN_HEADER_LEN,
            tos,
            total_len,
            ttl,
            protocol,
            src,
            dst,
        })
    }

    /// Validates the header at the start of `datagram`: version 4, a header length of 20..=60
    /// bytes within the total length, a total length within the buffer, and not a fragment.
    /// Any failure is [`DecodeError::BadIpHeader`]. The header checksum is not verified: the
    /// kernel has done so (see the module documentation).
    pub fn parse(datagram: &[u8]) -> Result<Ipv4Header, DecodeError> {
        let packet = Ipv4Packet::new_checked(datagram)?;
        let header_len = packet.header_len();
        let total_len = packet.total_len();
        let malformed = packet.version() != 4
            || header_len < MIN_HEADER_LEN
            || header_len > usize::from(total_len)
            || usize::from(total_len) > datagram.len()
            // A fragment's payload is not the whole message; Linux reassembles before raw
            // delivery, so this only guards against input that did not come from it.
            || packet.more_fragments()
            || packet.fragment_offset() != 0;
        if malformed {
            return Err(DecodeError::BadIpHeader);
        }
        Ok(Ipv4Header {
            header_len,
            tos: packet.tos(),
            total_len,
            ttl: packet.ttl(),
            protocol: packet.protocol(),
            src: packet.src(),
            dst: packet.dst(),
        })
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    pub fn tos(&self) -> u8 {
        self.tos
    }

    /// Datagram length, header included.
    pub fn total_len(&self) -> u16 {
        self.total_len
    }

    /// The TTL the datagram arrived with (VRRP multicast requires 255).
    pub fn ttl(&self) -> u8 {
        self.ttl
    }

    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    pub fn src(&self) -> Ipv4Addr {
        self.src
    }

    pub fn dst(&self) -> Ipv4Addr {
        self.dst
    }

    /// The payload of `datagram` (the buffer this header was parsed from): from the end of the
    /// header to the total length, so anything after the datagram is excluded. Empty if
    /// `datagram` is not that buffer and is too short.
    pub fn payload<'a>(&self, datagram: &'a [u8]) -> &'a [u8] {
        datagram
            .get(self.header_len..usize::from(self.total_len))
            .unwrap_or(&[])
    }

    /// The payload if this is a VRRP datagram, else [`DecodeError::NotVrrp`].
    pub fn vrrp_payload<'a>(&self, datagram: &'a [u8]) -> Result<&'a [u8], DecodeError> {
        if self.protocol != IPPROTO_VRRP {
            return Err(DecodeError::NotVrrp {
                protocol: self.protocol,
            });
        }
        Ok(self.payload(datagram))
    }

    /// The length [`emit`](Self::emit) writes: the header alone.
    pub fn buffer_len(&self) -> usize {
        MIN_HEADER_LEN
    }

    /// Writes this header, without options, identification 0 and no flags, with its checksum,
    /// into the start of `buf`; returns its length. The payload is the caller's to append.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let available = buf.len();
        let header = buf
            .get_mut(..MIN_HEADER_LEN)
            .ok_or(EncodeError::BufferTooSmall {
                needed: MIN_HEADER_LEN,
                available,
            })?;
        let mut packet = Ipv4Packet { buffer: header };
        packet.set_version_and_header_len(MIN_HEADER_LEN);
        packet.set_tos(self.tos);
        // A parsed header with options keeps its total length; the payload still follows a
        // 20-byte header here, so shorten the total by the options not written.
        let options_len =
            u16::try_from(self.header_len.saturating_sub(MIN_HEADER_LEN)).unwrap_or(0);
        packet.set_total_len(self.total_len.saturating_sub(options_len));
        packet.set_ident(0);
        packet.set_flags_fragment_offset(0);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src(self.src);
        packet.set_dst(self.dst);
        packet.fill_header_checksum();
        Ok(MIN_HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The IPv4 header of keepalived 2.2.7's v2 advert (tests/data/keepalived-v2-ipv4.hex):
    // TOS 0xc0, total 40, id 1, TTL 255, protocol 112, 192.0.2.1 -> 224.0.0.18, then the
    // 20-byte VRRP message.
    static DATAGRAM: [u8; 40] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x91, 0xc0, 0x00, 0x02,
        0x01, 0xe0, 0x00, 0x00, 0x12, // header
        0x21, 0x33, 0xc8, 0x01, 0x00, 0x01, 0x54, 0x65, 0xc0, 0x00, 0x02, 0x64, 0, 0, 0, 0, 0, 0,
        0, 0, // VRRP
    ];

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

    fn header() -> Ipv4Header {
        Ipv4Header::new(SRC, DST, IPPROTO_VRRP, 255, 0xc0, 20).unwrap()
    }

    #[test]
    fn test_deconstruct() {
        let packet = Ipv4Packet::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.tos(), 0xc0);
        assert_eq!(packet.total_len(), 40);
        assert_eq!(packet.ident(), 1);
        assert_eq!(packet.flags_fragment_offset(), 0);
        assert!(!packet.more_fragments());
        assert_eq!(packet.fragment_offset(), 0);
        assert_eq!(packet.ttl(), 255);
        assert_eq!(packet.protocol(), IPPROTO_VRRP);
        assert_eq!(packet.header_checksum(), 0x1891);
        assert_eq!(packet.src(), SRC);
        assert_eq!(packet.dst(), DST);
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5; 20];
        let mut packet = Ipv4Packet::new_checked(&mut bytes[..]).unwrap();
        packet.set_version_and_header_len(20);
        packet.set_tos(0xc0);
        packet.set_total_len(40);
        packet.set_ident(1);
        packet.set_flags_fragment_offset(0);
        packet.set_ttl(255);
        packet.set_protocol(IPPROTO_VRRP);
        packet.set_src(SRC);
        packet.set_dst(DST);
        packet.fill_header_checksum();
        assert_eq!(packet.into_inner(), &DATAGRAM[..20]);
    }

    #[test]
    fn test_parse() {
        let parsed = Ipv4Header::parse(&DATAGRAM).unwrap();
        assert_eq!(parsed, header());
        assert_eq!(parsed.header_len(), 20);
        assert_eq!(parsed.total_len(), 40);
        assert_eq!(parsed.ttl(), 255);
        assert_eq!(parsed.tos(), 0xc0);
        assert_eq!(parsed.protocol(), IPPROTO_VRRP);
        assert_eq!(parsed.src(), SRC);
        assert_eq!(parsed.dst(), DST);
        assert_eq!(parsed.payload(&DATAGRAM), &DATAGRAM[20..]);
        assert_eq!(parsed.vrrp_payload(&DATAGRAM), Ok(&DATAGRAM[20..]));
    }

    #[test]
    fn test_emit() {
        let mut bytes = [0xa5; 24];
        assert_eq!(header().emit(&mut bytes), Ok(20));
        // Identification 0 where keepalived counts; otherwise the same header.
        let mut expected = DATAGRAM;
        expected[4..6].copy_from_slice(&[0, 0]);
        expected[10..12].copy_from_slice(&[0x18, 0x92]);
        assert_eq!(&bytes[..20], &expected[..20]);
        assert_eq!(&bytes[20..], &[0xa5; 4]);
        assert_eq!(
            header().emit(&mut [0; 19]),
            Err(EncodeError::BufferTooSmall {
                needed: 20,
                available: 19
            })
        );
    }

    #[test]
    fn payload_stops_at_total_length() {
        // Link-layer padding after the datagram is not payload.
        let mut padded = DATAGRAM.to_vec();
        padded.extend_from_slice(&[0; 6]);
        let parsed = Ipv4Header::parse(&padded).unwrap();
        assert_eq!(parsed.payload(&padded), &DATAGRAM[20..]);
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6: one 4-byte option (Router Alert) before the payload.
        let mut with_option = DATAGRAM[..20].to_vec();
        with_option[0] = 0x46;
        with_option[2..4].copy_from_slice(&44u16.to_be_bytes());
        with_option.extend_from_slice(&[0x94, 0x04, 0x00, 0x00]);
        with_option.extend_from_slice(&DATAGRAM[20..]);
        let parsed = Ipv4Header::parse(&with_option).unwrap();
        assert_eq!(parsed.header_len(), 24);
        assert_eq!(parsed.payload(&with_option), &DATAGRAM[20..]);
        // Re-emitted without the option, the total length shrinks with the header.
        let mut out = [0; 20];
        parsed.emit(&mut out).unwrap();
        assert_eq!(Ipv4Packet::new_checked(&out[..]).unwrap().total_len(), 40);
    }

    /// An edit that turns the sample datagram into a malformed one.
    type Corruption = fn(&mut Vec<u8>);

    #[test]
    fn error_bad_ip_header() {
        let bad = |edit: Corruption| {
            let mut bytes = DATAGRAM.to_vec();
            edit(&mut bytes);
            Ipv4Header::parse(&bytes)
        };
        let cases: [(&str, Corruption); 8] = [
            ("shorter than a header", |b| b.truncate(19)),
            ("version 6", |b| b[0] = 0x65),
            ("IHL below 5", |b| b[0] = 0x44),
            ("header longer than total", |b| {
                b[2..4].copy_from_slice(&[0, 16])
            }),
            ("total longer than buffer", |b| {
                b[2..4].copy_from_slice(&[0, 41])
            }),
            // 40 in host (little-endian) order, as BSD raw sockets would deliver it.
            ("host-order total length", |b| {
                b[2..4].copy_from_slice(&[0x28, 0x00])
            }),
            ("more fragments", |b| b[6] = 0x20),
            ("non-zero fragment offset", |b| b[7] = 0x01),
        ];
        for (what, edit) in cases {
            assert_eq!(bad(edit), Err(DecodeError::BadIpHeader), "{what}");
        }
        // IHL 15 (60 bytes) with a 40-byte buffer.
        assert_eq!(bad(|b| b[0] = 0x4f), Err(DecodeError::BadIpHeader));
        // Don't Fragment is fine.
        assert!(bad(|b| b[6] = 0x40).is_ok());
    }

    #[test]
    fn error_not_vrrp() {
        let mut igmp = DATAGRAM;
        igmp[9] = 2;
        let parsed = Ipv4Header::parse(&igmp).unwrap();
        assert_eq!(
            parsed.vrrp_payload(&igmp),
            Err(DecodeError::NotVrrp { protocol: 2 })
        );
    }

    #[test]
    fn new_refuses_oversized_payloads() {
        assert!(Ipv4Header::new(SRC, DST, IPPROTO_VRRP, 255, 0, 65_515).is_ok());
        assert_eq!(
            Ipv4Header::new(SRC, DST, IPPROTO_VRRP, 255, 0, 65_516),
            Err(EncodeError::PayloadTooLarge { len: 65_516 })
        );
    }

    #[test]
    fn payload_of_another_buffer_is_empty_not_a_panic() {
        let parsed = Ipv4Header::parse(&DATAGRAM).unwrap();
        assert_eq!(parsed.payload(&DATAGRAM[..10]), &[] as &[u8]);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
            if let Ok(parsed) = Ipv4Header::parse(&bytes) {
                prop_assert!(parsed.header_len() >= MIN_HEADER_LEN);
                prop_assert!(usize::from(parsed.total_len()) <= bytes.len());
                let payload = parsed.payload(&bytes);
                prop_assert_eq!(payload.len(), usize::from(parsed.total_len()) - parsed.header_len());
            }
        }

        #[test]
        fn emit_then_parse_round_trips(
            src in any::<[u8; 4]>(),
            dst in any::<[u8; 4]>(),
            protocol in any::<u8>(),
            ttl in any::<u8>(),
            tos in any::<u8>(),
            payload_len in 0usize..200,
        ) {
            let header = Ipv4Header::new(src.into(), dst.into(), protocol, ttl, tos, payload_len)
                .unwrap();
            let mut datagram = vec![0; header.buffer_len() + payload_len];
            header.emit(&mut datagram).unwrap();
            prop_assert_eq!(Ipv4Header::parse(&datagram), Ok(header));
            // The checksum we write verifies.
            prop_assert!(Sum::default().add_bytes(&datagram[..20]).verifies());
        }
    }
}
