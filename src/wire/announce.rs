//! Frames that tell the LAN where a virtual address now lives: the gratuitous ARP (IPv4) and the
//! unsolicited Neighbor Advertisement (IPv6) a new master sends for each of its addresses.
//!
//! Built with `pnet_packet`'s packet views. Each builder comes in two forms: `write_*` into a
//! caller's buffer (every byte of the frame is written, so a reused buffer is fine) and a
//! `Vec`-returning convenience.
//!
//! Field choices, compared with keepalived 2.2.7 and FRR 8.4.4 (captured bytes under
//! `tests/data/`, checked in `golden.rs`):
//!
//! Gratuitous ARP (an RFC 5227 §2.3 ARP Announcement, for an `AF_PACKET` socket):
//! - Ethernet destination ff:ff:ff:ff:ff:ff: as both. Source and sender hardware address: the
//!   caller's MAC, the interface's (keepalived without `use_vmac`) or a virtual MAC (FRR sends
//!   from its macvlan's 00:00:5e:00:01:VRID).
//! - Opcode 1 (request): as both, as RFC 5798 §6.4.1 words it, and as RFC 5227 announcements
//!   are.
//! - Sender IP = target IP = the VIP: as both.
//! - Target hardware 00:00:00:00:00:00, where keepalived and FRR put ff:ff:ff:ff:ff:ff. RFC 5227
//!   says the field is ignored and SHOULD be zero, and the Linux kernel's own gratuitous ARP on
//!   an address change (`arp_notify`) carries zero; receivers do not look at it in a request.
//! - 42 bytes, unpadded, as both: the driver pads to the Ethernet minimum.
//!
//! Unsolicited Neighbor Advertisement (RFC 4861 §7.2.6, RFC 9568 §6.4.1):
//! - To ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255: as both.
//! - Source address: the caller's choice; keepalived and FRR use the target address itself, as
//!   the Linux kernel does for its own unsolicited NAs, and callers should do the same.
//! - Flags: Solicited clear, Override set: as both. Router is the caller's `is_router`: pass the
//!   interface's IPv6 forwarding setting, as keepalived does, so that our NA agrees with the NAs
//!   the kernel itself sends for the same address. FRR always sets it, following RFC 9568, which
//!   assumes the virtual router is a router; but an NA with R clear for an address that hosts
//!   use as their default router removes it from their default router list (RFC 4861 §7.2.5),
//!   and one with R set for a mere service address would be contradicted by the kernel's next NA.
//! - One Target Link-Layer Address option with the sending MAC: as both.
//! - [`unsolicited_na`] is the ICMPv6 message alone, for a raw ICMPv6 socket that adds the IPv6
//!   header and overwrites the checksum; it still carries the correct checksum for `src` to
//!   ff02::1 so that it can be compared with captures. [`unsolicited_na_frame`] is the whole
//!   Ethernet + IPv6 + ICMPv6 frame as keepalived and FRR send it on `AF_PACKET`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    Icmpv6Codes, MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::Icmpv6Types;
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use pnet_packet::{MutablePacket, Packet};

use super::checksum;
use super::types::{EncodeError, MacAddr};

const ETHERNET_HEADER_LEN: usize = 14;
const ARP_ETHERNET_IPV4_LEN: usize = 28;
const IPV6_HEADER_LEN: usize = 40;
/// ICMPv6 header (4) + flags and reserved (4) + target address (16).
const NA_FIXED_LEN: usize = 24;
/// Type, length (in 8-octet units) and a 6-byte MAC.
const TARGET_LL_OPTION_LEN: usize = 8;
const NEXT_HEADER_ICMPV6: u8 = 58;

/// Length of a gratuitous ARP frame (Ethernet header + ARP for Ethernet/IPv4).
pub const GRATUITOUS_ARP_LEN: usize = ETHERNET_HEADER_LEN + ARP_ETHERNET_IPV4_LEN;
/// Length of an unsolicited NA message (ICMPv6, no IP header).
pub const UNSOLICITED_NA_LEN: usize = NA_FIXED_LEN + TARGET_LL_OPTION_LEN;
/// Length of an unsolicited NA as a whole Ethernet frame.
pub const UNSOLICITED_NA_FRAME_LEN: usize =
    ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + UNSOLICITED_NA_LEN;

const ETHERNET_BROADCAST: [u8; 6] = [0xff; 6];
/// RFC 5227 §2.1.1: ignored, SHOULD be zero.
const ARP_TARGET_HW_ADDR: [u8; 6] = [0; 6];
/// RFC 2464 §7: 33:33 followed by the low 32 bits of ff02::1.
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// RFC 4861 §7.1.2: ND messages are sent and accepted only with hop limit 255.
const ND_HOP_LIMIT: u8 = 255;

/// Takes the first `len` bytes of `buf`, or says how many were missing.
fn prefix(buf: &mut [u8], len: usize) -> Result<&mut [u8], EncodeError> {
    let available = buf.len();
    buf.get_mut(..len).ok_or(EncodeError::BufferTooSmall {
        needed: len,
        available,
    })
}

/// `pnet` views return `None` only for buffers below their minimum size, which `prefix` has
/// already ruled out; this turns that impossible case into an error rather than a panic.
fn view<V>(view: Option<V>, needed: usize) -> Result<V, EncodeError> {
    view.ok_or(EncodeError::BufferTooSmall {
        needed,
        available: 0,
    })
}

/// The first `len` bytes of `buf` as an Ethernet frame with its header filled in.
fn ethernet_frame(
    buf: &mut [u8],
    len: usize,
    dst: [u8; 6],
    src: MacAddr,
    ethertype: pnet_packet::ethernet::EtherType,
) -> Result<MutableEthernetPacket<'_>, EncodeError> {
    let mut ethernet = view(MutableEthernetPacket::new(prefix(buf, len)?), len)?;
    ethernet.set_destination(dst.into());
    ethernet.set_source(src.0.into());
    ethernet.set_ethertype(ethertype);
    Ok(ethernet)
}

/// Writes a gratuitous ARP announcing `vip` at `src_mac` into the start of `buf` and returns its
/// length ([`GRATUITOUS_ARP_LEN`]). See the module documentation for the field choices.
pub fn write_gratuitous_arp(
    buf: &mut [u8],
    src_mac: MacAddr,
    vip: Ipv4Addr,
) -> Result<usize, EncodeError> {
    let mut ethernet = ethernet_frame(
        buf,
        GRATUITOUS_ARP_LEN,
        ETHERNET_BROADCAST,
        src_mac,
        EtherTypes::Arp,
    )?;

    let mut arp = view(
        MutableArpPacket::new(ethernet.payload_mut()),
        GRATUITOUS_ARP_LEN,
    )?;
    arp.set_hardware_type(ArpHardwareTypes::Ethernet);
    arp.set_protocol_type(EtherTypes::Ipv4);
    arp.set_hw_addr_len(6);
    arp.set_proto_addr_len(4);
    arp.set_operation(ArpOperations::Request);
    arp.set_sender_hw_addr(src_mac.0.into());
    arp.set_sender_proto_addr(vip);
    arp.set_target_hw_addr(ARP_TARGET_HW_ADDR.into());
    arp.set_target_proto_addr(vip);
    Ok(GRATUITOUS_ARP_LEN)
}

/// A gratuitous ARP for `vip` from `src_mac`: a whole Ethernet frame for an `AF_PACKET` socket.
pub fn gratuitous_arp(src_mac: MacAddr, vip: Ipv4Addr) -> Vec<u8> {
    let mut frame = vec![0; GRATUITOUS_ARP_LEN];
    match write_gratuitous_arp(&mut frame, src_mac, vip) {
        Ok(len) => frame.truncate(len),
        // Unreachable: the buffer has exactly the length the writer needs (tests pin this).
        Err(_) => frame.clear(),
    }
    frame
}

/// Writes the ICMPv6 unsolicited Neighbor Advertisement for `target` at `src_mac`, sent from
/// `src` to ff02::1, into the start of `buf`; returns its length ([`UNSOLICITED_NA_LEN`]).
/// `is_router` sets the Router flag: pass the interface's IPv6 forwarding setting.
pub fn write_unsolicited_na(
    buf: &mut [u8],
    src_mac: MacAddr,
    src: Ipv6Addr,
    target: Ipv6Addr,
    is_router: bool,
) -> Result<usize, EncodeError> {
    let message = prefix(buf, UNSOLICITED_NA_LEN)?;
    let mut advert = view(
        MutableNeighborAdvertPacket::new(message),
        UNSOLICITED_NA_LEN,
    )?;
    advert.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
    advert.set_icmpv6_code(Icmpv6Codes::NoCode);
    advert.set_checksum(0);
    let router = if is_router {
        NeighborAdvertFlags::Router
    } else {
        0
    };
    advert.set_flags(router | NeighborAdvertFlags::Override);
    advert.set_reserved(0);
    advert.set_target_addr(target);
    advert.set_options(&[NdpOption {
        option_type: NdpOptionTypes::TargetLLAddr,
        // In units of 8 octets: type, length and the 6-byte MAC.
        length: 1,
        data: src_mac.0.to_vec(),
    }]);

    let sum = checksum::pseudo_header(
        IpAddr::V6(src),
        IpAddr::V6(ALL_NODES),
        NEXT_HEADER_ICMPV6,
        UNSOLICITED_NA_LEN,
    );
    let value = sum.add_bytes(advert.packet()).checksum_field();
    advert.set_checksum(value);
    Ok(UNSOLICITED_NA_LEN)
}

/// The ICMPv6 unsolicited Neighbor Advertisement for `target` at `src_mac`, as sent from `src` to
/// ff02::1 on a raw ICMPv6 socket (the kernel adds the IPv6 header).
pub fn unsolicited_na(
    src_mac: MacAddr,
    src: Ipv6Addr,
    target: Ipv6Addr,
    is_router: bool,
) -> Vec<u8> {
    let mut message = vec![0; UNSOLICITED_NA_LEN];
    match write_unsolicited_na(&mut message, src_mac, src, target, is_router) {
        Ok(len) => message.truncate(len),
        // Unreachable: the buffer has exactly the length the writer needs (tests pin this).
        Err(_) => message.clear(),
    }
    message
}

/// Writes [`unsolicited_na`] as a whole Ethernet frame (IPv6 hop limit 255) into the start of
/// `buf`; returns its length ([`UNSOLICITED_NA_FRAME_LEN`]).
pub fn write_unsolicited_na_frame(
    buf: &mut [u8],
    src_mac: MacAddr,
    src: Ipv6Addr,
    target: Ipv6Addr,
    is_router: bool,
) -> Result<usize, EncodeError> {
    let mut ethernet = ethernet_frame(
        buf,
        UNSOLICITED_NA_FRAME_LEN,
        ALL_NODES_MAC,
        src_mac,
        EtherTypes::Ipv6,
    )?;

    let mut ipv6 = view(
        MutableIpv6Packet::new(ethernet.payload_mut()),
        UNSOLICITED_NA_FRAME_LEN,
    )?;
    ipv6.set_version(6);
    ipv6.set_traffic_class(0);
    ipv6.set_flow_label(0);
    // UNSOLICITED_NA_LEN is a small constant.
    ipv6.set_payload_length(u16::try_from(UNSOLICITED_NA_LEN).unwrap_or(u16::MAX));
    ipv6.set_next_header(IpNextHeaderProtocols::Icmpv6);
    ipv6.set_hop_limit(ND_HOP_LIMIT);
    ipv6.set_source(src);
    ipv6.set_destination(ALL_NODES);
    write_unsolicited_na(ipv6.payload_mut(), src_mac, src, target, is_router)?;
    Ok(UNSOLICITED_NA_FRAME_LEN)
}

/// [`unsolicited_na`] as a whole Ethernet + IPv6 + ICMPv6 frame for an `AF_PACKET` socket.
pub fn unsolicited_na_frame(
    src_mac: MacAddr,
    src: Ipv6Addr,
    target: Ipv6Addr,
    is_router: bool,
) -> Vec<u8> {
    let mut frame = vec![0; UNSOLICITED_NA_FRAME_LEN];
    match write_unsolicited_na_frame(&mut frame, src_mac, src, target, is_router) {
        Ok(len) => frame.truncate(len),
        // Unreachable: the buffer has exactly the length the writer needs (tests pin this).
        Err(_) => frame.clear(),
    }
    frame
}

/// True if an ICMPv6 message from `src` to `dst` carries a correct checksum. Used by the tests
/// to check our messages and captured ones alike.
#[cfg(test)]
pub(crate) fn icmpv6_checksum_ok(message: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> bool {
    checksum::pseudo_header(
        IpAddr::V6(src),
        IpAddr::V6(dst),
        NEXT_HEADER_ICMPV6,
        message.len(),
    )
    .add_bytes(message)
    .verifies()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnet_packet::arp::ArpPacket;
    use pnet_packet::ethernet::EthernetPacket;
    use pnet_packet::icmpv6::ndp::NeighborAdvertPacket;
    use pnet_packet::ipv6::Ipv6Packet;

    const MAC: MacAddr = MacAddr([0x02, 0x00, 0xc0, 0x00, 0x02, 0x01]);
    const VIP_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    const VIP_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);

    /// keepalived 2.2.7's gratuitous ARP for 192.0.2.100 (tests/data/keepalived-v2-ipv4.hex)
    /// with the target hardware address zeroed, as RFC 5227 asks.
    static GARP: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x08,
        0x06, // Ethernet
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet/IPv4, request
        0x02, 0x00, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x64, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x64, // target
    ];

    /// keepalived 2.2.7's unsolicited NA for 2001:db8::100 from itself, forwarding off
    /// (tests/data/keepalived-v3-ipv6.hex): byte for byte what we build.
    static NA_FRAME: [u8; 86] = [
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x86,
        0xdd, // Ethernet
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a,
        0xff, // IPv6: length 32, ICMPv6, hop limit 255
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // src
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // dst
        0x88, 0x00, 0x35, 0x2c, 0x20, 0x00, 0x00, 0x00, // NA, checksum, Override
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // target
        0x02, 0x01, 0x02, 0x00, 0xc0, 0x00, 0x02, 0x01, // target link-layer address option
    ];

    fn na_message() -> &'static [u8] {
        &NA_FRAME[54..]
    }

    #[test]
    fn test_deconstruct_gratuitous_arp() {
        let frame = gratuitous_arp(MAC, VIP_V4);
        let ethernet = EthernetPacket::new(&frame).unwrap();
        assert_eq!(ethernet.get_destination().octets(), ETHERNET_BROADCAST);
        assert_eq!(ethernet.get_source().octets(), MAC.0);
        assert_eq!(ethernet.get_ethertype(), EtherTypes::Arp);
        let arp = ArpPacket::new(ethernet.payload()).unwrap();
        assert_eq!(arp.get_hardware_type(), ArpHardwareTypes::Ethernet);
        assert_eq!(arp.get_protocol_type(), EtherTypes::Ipv4);
        assert_eq!(arp.get_hw_addr_len(), 6);
        assert_eq!(arp.get_proto_addr_len(), 4);
        assert_eq!(arp.get_operation(), ArpOperations::Request);
        assert_eq!(arp.get_sender_hw_addr().octets(), MAC.0);
        assert_eq!(arp.get_sender_proto_addr(), VIP_V4);
        assert_eq!(arp.get_target_hw_addr().octets(), [0; 6]);
        assert_eq!(arp.get_target_proto_addr(), VIP_V4);
    }

    #[test]
    fn test_construct_gratuitous_arp() {
        let mut buf = [0xa5; 50];
        assert_eq!(write_gratuitous_arp(&mut buf, MAC, VIP_V4), Ok(42));
        assert_eq!(&buf[..42], &GARP[..]);
        assert_eq!(&buf[42..], &[0xa5; 8]);
    }

    #[test]
    fn test_emit_gratuitous_arp() {
        assert_eq!(gratuitous_arp(MAC, VIP_V4), GARP.to_vec());
        assert_eq!(
            write_gratuitous_arp(&mut [0; 41], MAC, VIP_V4),
            Err(EncodeError::BufferTooSmall {
                needed: 42,
                available: 41
            })
        );
    }

    #[test]
    fn test_deconstruct_unsolicited_na() {
        let frame = unsolicited_na_frame(MAC, VIP_V6, VIP_V6, true);
        let ethernet = EthernetPacket::new(&frame).unwrap();
        assert_eq!(ethernet.get_destination().octets(), ALL_NODES_MAC);
        assert_eq!(ethernet.get_source().octets(), MAC.0);
        assert_eq!(ethernet.get_ethertype(), EtherTypes::Ipv6);
        let ipv6 = Ipv6Packet::new(ethernet.payload()).unwrap();
        assert_eq!(ipv6.get_version(), 6);
        assert_eq!(ipv6.get_traffic_class(), 0);
        assert_eq!(ipv6.get_flow_label(), 0);
        assert_eq!(usize::from(ipv6.get_payload_length()), UNSOLICITED_NA_LEN);
        assert_eq!(ipv6.get_next_header(), IpNextHeaderProtocols::Icmpv6);
        assert_eq!(ipv6.get_hop_limit(), 255);
        assert_eq!(ipv6.get_source(), VIP_V6);
        assert_eq!(ipv6.get_destination(), ALL_NODES);
        let advert = NeighborAdvertPacket::new(ipv6.payload()).unwrap();
        assert_eq!(advert.get_icmpv6_type(), Icmpv6Types::NeighborAdvert);
        assert_eq!(advert.get_icmpv6_code(), Icmpv6Codes::NoCode);
        assert_eq!(
            advert.get_flags(),
            NeighborAdvertFlags::Router | NeighborAdvertFlags::Override
        );
        assert_eq!(advert.get_reserved(), 0);
        assert_eq!(advert.get_target_addr(), VIP_V6);
        let options = advert.get_options();
        assert_eq!(options.len(), 1);
        assert_eq!(options[0].option_type, NdpOptionTypes::TargetLLAddr);
        assert_eq!(options[0].length, 1);
        assert_eq!(options[0].data, MAC.0.to_vec());
        assert!(icmpv6_checksum_ok(ipv6.payload(), VIP_V6, ALL_NODES));
    }

    #[test]
    fn test_construct_unsolicited_na() {
        let mut buf = [0xa5; 40];
        assert_eq!(
            write_unsolicited_na(&mut buf, MAC, VIP_V6, VIP_V6, false),
            Ok(32)
        );
        assert_eq!(&buf[..32], na_message());
        assert_eq!(&buf[32..], &[0xa5; 8]);

        let mut frame = [0xa5; 90];
        assert_eq!(
            write_unsolicited_na_frame(&mut frame, MAC, VIP_V6, VIP_V6, false),
            Ok(86)
        );
        assert_eq!(&frame[..86], &NA_FRAME[..]);
        assert_eq!(&frame[86..], &[0xa5; 4]);
    }

    #[test]
    fn test_emit_unsolicited_na() {
        assert_eq!(unsolicited_na(MAC, VIP_V6, VIP_V6, false), na_message());
        assert_eq!(
            unsolicited_na_frame(MAC, VIP_V6, VIP_V6, false),
            NA_FRAME.to_vec()
        );
        assert!(write_unsolicited_na(&mut [0; 31], MAC, VIP_V6, VIP_V6, false).is_err());
        assert!(write_unsolicited_na_frame(&mut [0; 85], MAC, VIP_V6, VIP_V6, false).is_err());
    }

    #[test]
    fn router_flag_follows_the_caller_and_the_checksum_follows_the_source() {
        let host = unsolicited_na(MAC, VIP_V6, VIP_V6, false);
        let router = unsolicited_na(MAC, VIP_V6, VIP_V6, true);
        assert_eq!(host[4], 0x20);
        assert_eq!(router[4], 0xa0);
        assert!(icmpv6_checksum_ok(&router, VIP_V6, ALL_NODES));

        // Sent from a link-local address instead, the message differs only in its checksum.
        let link_local = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xc0ff, 0xfe00, 0x0201);
        let from_link_local = unsolicited_na(MAC, link_local, VIP_V6, false);
        assert!(icmpv6_checksum_ok(&from_link_local, link_local, ALL_NODES));
        assert!(!icmpv6_checksum_ok(&from_link_local, VIP_V6, ALL_NODES));
        assert_eq!(from_link_local[4..], host[4..]);
    }
}
