//! The VRRP codec and the IPv4 header view on arbitrary bytes.
//!
//! Input: one mode byte, then either an IPv4 datagram (mode bit 0 clear: the header view
//! decides source, destination and payload, as on the daemon's IPv4 sockets) or a source and
//! destination address followed by a bare VRRP message (bit 0 set; bit 1 picks IPv6, whose
//! sockets deliver no IP header).
//!
//! Beyond "no panic": a message that parses re-encodes to the same bytes (reserved bits and the
//! checksum they change aside, and 0xffff for a zero checksum, which one's complement allows)
//! and parses back to the same advert and checksum variant; a header that parses re-emits to a
//! header that parses to the same values with the same payload and a checksum that verifies.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepvip::wire::{Advert, Ipv4Header, Ipv4Packet, Version, VrrpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check_ipv4_datagram(rest);
    } else if mode & 2 == 0 {
        let Some((addrs, payload)) = split(rest, 8) else {
            return;
        };
        let src = Ipv4Addr::from(<[u8; 4]>::try_from(&addrs[..4]).unwrap());
        let dst = Ipv4Addr::from(<[u8; 4]>::try_from(&addrs[4..]).unwrap());
        check_vrrp(payload, src.into(), dst.into());
    } else {
        let Some((addrs, payload)) = split(rest, 32) else {
            return;
        };
        let src = Ipv6Addr::from(<[u8; 16]>::try_from(&addrs[..16]).unwrap());
        let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&addrs[16..]).unwrap());
        check_vrrp(payload, src.into(), dst.into());
        // A family mismatch is refused, never misread.
        assert!(Advert::parse(payload, IpAddr::V4(Ipv4Addr::LOCALHOST), dst.into()).is_err());
    }
});

fn split(data: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    (data.len() >= at).then(|| data.split_at(at))
}

fn check_ipv4_datagram(datagram: &[u8]) {
    if let Ok(view) = Ipv4Packet::new_checked(datagram) {
        // Every accessor of the raw view is total on a checked buffer.
        let _ = (
            view.version(),
            view.header_len(),
            view.tos(),
            view.total_len(),
        );
        let _ = (view.ident(), view.more_fragments(), view.fragment_offset());
        let _ = (view.flags_fragment_offset(), view.ttl(), view.protocol());
        let _ = (view.header_checksum(), view.src(), view.dst());
    }
    let Ok(header) = Ipv4Header::parse(datagram) else {
        return;
    };
    let payload = header.payload(datagram);
    assert_eq!(
        payload.len(),
        usize::from(header.total_len()) - header.header_len(),
        "the payload is what the total length promises after the header"
    );
    assert!(header.header_len() >= 20 && header.header_len() <= 60);
    if let Ok(vrrp) = header.vrrp_payload(datagram) {
        assert_eq!(vrrp, payload);
    }
    // Re-emit without options and re-parse: the same header values and payload.
    let mut again = vec![0; header.buffer_len()];
    let written = header.emit(&mut again).expect("a parsed header re-emits");
    assert_eq!(written, 20);
    again.extend_from_slice(payload);
    let reparsed = Ipv4Header::parse(&again).expect("an emitted header parses");
    assert_eq!(reparsed.payload(&again), payload);
    assert_eq!(
        (
            reparsed.src(),
            reparsed.dst(),
            reparsed.ttl(),
            reparsed.protocol(),
            reparsed.tos()
        ),
        (
            header.src(),
            header.dst(),
            header.ttl(),
            header.protocol(),
            header.tos()
        )
    );
    let checked = Ipv4Packet::new_checked(&again[..]).expect("20 bytes");
    let sum = again[..20].chunks(2).fold(0u32, |sum, pair| {
        sum + u32::from(u16::from_be_bytes([pair[0], pair[1]]))
    });
    let folded = (sum & 0xffff) + (sum >> 16);
    assert_eq!(
        (folded & 0xffff) + (folded >> 16),
        0xffff,
        "emitted header checksum {:#06x} does not verify",
        checked.header_checksum()
    );
    check_vrrp(payload, header.src().into(), header.dst().into());
}

fn check_vrrp(payload: &[u8], src: IpAddr, dst: IpAddr) {
    if let Ok(view) = VrrpPacket::new_checked(payload) {
        let _ = (view.version(), view.kind(), view.vrid(), view.priority());
        let _ = (view.addr_count(), view.v2_auth_type(), view.v2_adver_int());
        let _ = (view.v3_max_adver_int(), view.v3_reserved(), view.checksum());
        for index in [0, 1, usize::from(view.addr_count()), usize::MAX] {
            let _ = (view.ipv4_addr(index), view.ipv6_addr(index));
        }
        let _ = view.v2_auth_data();
    }
    let peeked = Advert::peek_version_vrid(payload);
    let Ok((advert, variant)) = Advert::parse(payload, src, dst) else {
        return;
    };
    assert_eq!(peeked, Some((advert.version.number(), advert.vrid)));
    assert_eq!(advert.buffer_len(), payload.len());
    assert_eq!(advert.auth.is_some(), advert.version == Version::V2);
    let bytes = advert
        .to_bytes(src, dst, variant)
        .unwrap_or_else(|e| panic!("{advert:?} parsed but does not re-encode: {e}"));
    let reserved_clear = VrrpPacket::new_checked(payload)
        .is_ok_and(|v| advert.version == Version::V2 || v.v3_reserved() == 0);
    if reserved_clear {
        // One's complement has two zeros: a sender may write 0xffff where emit writes 0.
        let checksum = |m: &[u8]| u16::from_be_bytes([m[6], m[7]]);
        let zeros = [0x0000, 0xffff];
        if checksum(&bytes) != checksum(payload)
            && zeros.contains(&checksum(&bytes))
            && zeros.contains(&checksum(payload))
        {
            assert_eq!((&bytes[..6], &bytes[8..]), (&payload[..6], &payload[8..]));
        } else {
            assert_eq!(bytes, payload, "re-encoding changed the message");
        }
    } else {
        assert_eq!(bytes.len(), payload.len());
        assert_eq!(bytes[..4], payload[..4]);
        assert_eq!(bytes[8..], payload[8..]);
    }
    let (again, again_variant) = Advert::parse(&bytes, src, dst)
        .unwrap_or_else(|e| panic!("re-encoded {advert:?} does not parse: {e}"));
    assert_eq!(again, advert);
    assert_eq!(again_variant, variant);
}
