//! Golden vectors: every frame keepalived 2.2.7 and FRR 8.4.4 sent while becoming master,
//! announcing and stepping down, captured on a lab bridge (`tests/data/`, see its README).
//!
//! Each VRRP advert is parsed and re-emitted from the parsed [`Advert`] with the same source,
//! destination and checksum variant, and must come out byte for byte, checksum included. Each
//! gratuitous ARP and unsolicited NA is rebuilt with our builders and compared, with the one
//! deliberate difference (the ARP target hardware address) checked explicitly.
//!
//! The Ethernet and IPv6 decoding here is test-only and minimal; IPv4 goes through the real
//! [`Ipv4Header`] so that the receive path is exercised on real datagrams too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::announce::icmpv6_checksum_ok;
use super::{
    gratuitous_arp, unsolicited_na, unsolicited_na_frame, Addresses, Advert, Centis, Checksum,
    Ipv4Header, MacAddr, V2Auth, Version, VRRP_TTL,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sender {
    Keepalived,
    Frr,
}

/// One capture file and what it must contain.
struct Capture {
    name: &'static str,
    hex: &'static str,
    sender: Sender,
    version: Version,
    /// The checksum variant every advert in the file must verify with.
    checksum: Checksum,
    /// VRRP adverts in the file, the final priority-0 one included.
    adverts: usize,
    gratuitous_arps: usize,
    neighbor_adverts: usize,
}

macro_rules! data {
    ($file:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/", $file))
    };
}

const CAPTURES: [Capture; 7] = [
    Capture {
        name: "keepalived-v2-ipv4",
        hex: data!("keepalived-v2-ipv4.hex"),
        sender: Sender::Keepalived,
        version: Version::V2,
        checksum: Checksum::Plain,
        adverts: 7,
        gratuitous_arps: 10,
        neighbor_adverts: 0,
    },
    Capture {
        name: "keepalived-v3-ipv4",
        hex: data!("keepalived-v3-ipv4.hex"),
        sender: Sender::Keepalived,
        version: Version::V3,
        checksum: Checksum::PseudoHeader,
        adverts: 52,
        gratuitous_arps: 10,
        neighbor_adverts: 0,
    },
    Capture {
        name: "keepalived-v3-ipv4-rfc9568",
        hex: data!("keepalived-v3-ipv4-rfc9568.hex"),
        sender: Sender::Keepalived,
        version: Version::V3,
        checksum: Checksum::Plain,
        adverts: 52,
        gratuitous_arps: 0,
        neighbor_adverts: 0,
    },
    Capture {
        name: "keepalived-v3-ipv6",
        hex: data!("keepalived-v3-ipv6.hex"),
        sender: Sender::Keepalived,
        version: Version::V3,
        checksum: Checksum::PseudoHeader,
        adverts: 52,
        gratuitous_arps: 0,
        neighbor_adverts: 10,
    },
    Capture {
        name: "frr-v2-ipv4",
        hex: data!("frr-v2-ipv4.hex"),
        sender: Sender::Frr,
        version: Version::V2,
        checksum: Checksum::Plain,
        adverts: 6,
        gratuitous_arps: 1,
        neighbor_adverts: 0,
    },
    Capture {
        name: "frr-v3-ipv4",
        hex: data!("frr-v3-ipv4.hex"),
        sender: Sender::Frr,
        version: Version::V3,
        checksum: Checksum::PseudoHeader,
        adverts: 22,
        gratuitous_arps: 1,
        neighbor_adverts: 0,
    },
    Capture {
        name: "frr-v3-ipv6",
        hex: data!("frr-v3-ipv6.hex"),
        sender: Sender::Frr,
        version: Version::V3,
        checksum: Checksum::PseudoHeader,
        adverts: 23,
        gratuitous_arps: 0,
        neighbor_adverts: 1,
    },
];

const VIP_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const VIP_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const NEXT_HEADER_ICMPV6: u8 = 58;
const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;

/// What a captured frame carries, as far as these tests care.
enum Frame<'a> {
    Vrrp {
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: &'a [u8],
    },
    Arp,
    NeighborAdvert {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        message: &'a [u8],
    },
    /// IGMP, MLD, Router Advertisements: not made by the VRRP code.
    Other,
}

fn hex_lines(hex: &str) -> Vec<Vec<u8>> {
    hex.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let line = line.trim();
            assert!(line.len() % 2 == 0, "odd-length hex line {line}");
            (0..line.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&line[i..i + 2], 16).expect("hex digit"))
                .collect()
        })
        .collect()
}

fn be16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

fn decode(frame: &[u8]) -> Frame<'_> {
    let (mut ethertype, mut l3) = (be16(&frame[12..14]), &frame[14..]);
    if ethertype == ETHERTYPE_VLAN {
        (ethertype, l3) = (be16(&frame[16..18]), &frame[18..]);
    }
    match ethertype {
        ETHERTYPE_IPV4 => {
            let header = Ipv4Header::parse(l3).expect("captured IPv4 header parses");
            match header.vrrp_payload(l3) {
                Ok(payload) => Frame::Vrrp {
                    src: IpAddr::V4(header.src()),
                    dst: IpAddr::V4(header.dst()),
                    ttl: header.ttl(),
                    payload,
                },
                Err(_) => Frame::Other,
            }
        }
        ETHERTYPE_IPV6 => {
            let payload_len = usize::from(be16(&l3[4..6]));
            let next_header = l3[6];
            let hop_limit = l3[7];
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(&l3[8..24]).unwrap());
            let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&l3[24..40]).unwrap());
            // Bounded by the payload length, so Ethernet padding would not count.
            let payload = &l3[40..40 + payload_len];
            match next_header {
                super::IPPROTO_VRRP => Frame::Vrrp {
                    src: IpAddr::V6(src),
                    dst: IpAddr::V6(dst),
                    ttl: hop_limit,
                    payload,
                },
                NEXT_HEADER_ICMPV6 if payload[0] == ICMPV6_NEIGHBOR_ADVERT => {
                    Frame::NeighborAdvert {
                        src,
                        dst,
                        hop_limit,
                        message: payload,
                    }
                }
                _ => Frame::Other,
            }
        }
        ETHERTYPE_ARP => Frame::Arp,
        _ => Frame::Other,
    }
}

fn source_mac(frame: &[u8]) -> MacAddr {
    MacAddr(frame[6..12].try_into().unwrap())
}

#[test]
fn every_advert_re_emits_byte_for_byte() {
    for capture in &CAPTURES {
        let mut adverts = 0;
        for (line, frame) in hex_lines(capture.hex).iter().enumerate() {
            let Frame::Vrrp {
                src,
                dst,
                ttl,
                payload,
            } = decode(frame)
            else {
                continue;
            };
            let at = format!("{} line {}", capture.name, line + 1);
            let (advert, checksum) =
                Advert::parse(payload, src, dst).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(checksum, capture.checksum, "{at}");
            assert_eq!(ttl, VRRP_TTL, "{at}");
            let emitted = advert
                .to_bytes(src, dst, checksum)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(emitted, payload, "{at}");
            adverts += 1;
        }
        assert_eq!(adverts, capture.adverts, "{}", capture.name);
    }
}

#[test]
fn adverts_carry_the_configured_fields_and_end_with_priority_zero() {
    for capture in &CAPTURES {
        let frames = hex_lines(capture.hex);
        let adverts: Vec<(usize, Advert)> = frames
            .iter()
            .enumerate()
            .filter_map(|(line, frame)| match decode(frame) {
                Frame::Vrrp {
                    src, dst, payload, ..
                } => Some((line, Advert::parse(payload, src, dst).unwrap().0)),
                _ => None,
            })
            .collect();
        let (last_line, last) = adverts.last().expect("adverts");
        assert_eq!(
            *last_line,
            frames.len() - 1,
            "{}: ends with an advert",
            capture.name
        );
        assert_eq!(last.priority, 0, "{}", capture.name);
        for (line, advert) in &adverts {
            let at = format!("{} line {}", capture.name, line + 1);
            if line != last_line {
                assert_eq!(advert.priority, 200, "{at}");
            }
            assert_eq!(advert.version, capture.version, "{at}");
            assert_eq!(advert.vrid, 51, "{at}");
            match capture.version {
                Version::V2 => {
                    assert_eq!(advert.interval, Centis(100), "{at}");
                    assert_eq!(advert.auth, Some(V2Auth::NONE), "{at}");
                }
                Version::V3 => {
                    assert_eq!(advert.interval, Centis(10), "{at}");
                    assert_eq!(advert.auth, None, "{at}");
                }
            }
            let expected = match advert.addresses {
                Addresses::V4(_) => Addresses::V4(vec![VIP_V4]),
                Addresses::V6(_) => Addresses::V6(vec![VIP_V6]),
            };
            assert_eq!(advert.addresses, expected, "{at}");
        }
    }
}

#[test]
fn rfc9568_variant_differs_from_the_capture_only_in_the_checksum() {
    let pseudo: Vec<Vec<u8>> = hex_lines(CAPTURES[1].hex)
        .into_iter()
        .filter(|frame| matches!(decode(frame), Frame::Vrrp { .. }))
        .collect();
    let plain = hex_lines(CAPTURES[2].hex);
    assert_eq!(pseudo.len(), plain.len());
    for (pseudo, plain) in pseudo.iter().zip(&plain) {
        // Ethernet 14 + IPv4 20 + 6 bytes into the VRRP header.
        assert_eq!(pseudo[..40], plain[..40]);
        assert_ne!(pseudo[40..42], plain[40..42]);
        assert_eq!(pseudo[42..], plain[42..]);
    }
}

#[test]
fn keepalived_and_frr_send_identical_ipv4_adverts() {
    let first_advert = |capture: &Capture| {
        hex_lines(capture.hex)
            .iter()
            .find_map(|frame| match decode(frame) {
                Frame::Vrrp { payload, .. } => Some(payload.to_vec()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(first_advert(&CAPTURES[0]), first_advert(&CAPTURES[4]));
    assert_eq!(first_advert(&CAPTURES[1]), first_advert(&CAPTURES[5]));
}

#[test]
fn gratuitous_arps_match_ours_but_for_the_target_hardware_address() {
    for capture in &CAPTURES {
        let mut count = 0;
        for (line, frame) in hex_lines(capture.hex).iter().enumerate() {
            if !matches!(decode(frame), Frame::Arp) {
                continue;
            }
            let at = format!("{} line {}", capture.name, line + 1);
            // keepalived sends from the interface MAC, FRR from its virtual MAC; either way
            // the Ethernet source is the MAC being announced.
            let ours = gratuitous_arp(source_mac(frame), VIP_V4);
            assert_eq!(ours.len(), frame.len(), "{at}");
            // Everything up to the target hardware address, and the target IP after it.
            assert_eq!(ours[..32], frame[..32], "{at}");
            assert_eq!(ours[38..], frame[38..], "{at}");
            // Both daemons put broadcast there; RFC 5227 asks for zero (see announce.rs).
            assert_eq!(frame[32..38], [0xff; 6], "{at}");
            assert_eq!(ours[32..38], [0; 6], "{at}");
            count += 1;
        }
        assert_eq!(count, capture.gratuitous_arps, "{}", capture.name);
    }
}

#[test]
fn neighbor_adverts_match_ours_byte_for_byte() {
    for capture in &CAPTURES {
        let mut count = 0;
        for (line, frame) in hex_lines(capture.hex).iter().enumerate() {
            let Frame::NeighborAdvert {
                src,
                dst,
                hop_limit,
                message,
            } = decode(frame)
            else {
                continue;
            };
            let at = format!("{} line {}", capture.name, line + 1);
            assert_eq!(dst, Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), "{at}");
            assert_eq!(hop_limit, 255, "{at}");
            assert!(icmpv6_checksum_ok(message, src, dst), "{at}");
            // Both daemons send from the VIP itself, for the VIP.
            assert_eq!(src, VIP_V6, "{at}");
            let target = Ipv6Addr::from(<[u8; 16]>::try_from(&message[8..24]).unwrap());
            assert_eq!(target, VIP_V6, "{at}");
            // keepalived copies the interface's forwarding setting (off in the lab); FRR
            // always claims to be a router. Our builder takes it from the caller.
            let is_router = message[4] & 0x80 != 0;
            assert_eq!(is_router, capture.sender == Sender::Frr, "{at}");

            let mac = source_mac(frame);
            assert_eq!(unsolicited_na(mac, src, target, is_router), message, "{at}");
            assert_eq!(
                unsolicited_na_frame(mac, src, target, is_router),
                *frame,
                "{at}"
            );
            count += 1;
        }
        assert_eq!(count, capture.neighbor_adverts, "{}", capture.name);
    }
}
