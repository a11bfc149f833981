//! Types shared by the codec and its users.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IPv4 multicast group for VRRP adverts.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group for VRRP adverts.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every VRRP advert is sent with and (in multicast mode) must arrive with.
pub const VRRP_TTL: u8 = 255;

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// RFC 3768: IPv4 only, interval in whole seconds, authentication fields.
    V2,
    /// RFC 9568: IPv4 and IPv6, 12-bit interval in centiseconds.
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.number())
    }
}

/// Address family of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// An advertisement interval in centiseconds, the v3 unit. v2 intervals are whole seconds and
/// are carried here multiplied by 100, so that `proto` does one kind of arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Centis(pub u16);

impl Centis {
    /// The largest interval v3 can carry (12 bits): 40.95 s.
    pub const V3_MAX: Centis = Centis(0x0fff);
    /// The largest interval v2 can carry (8 bits of seconds): 255 s.
    pub const V2_MAX: Centis = Centis(255 * 100);

    pub fn from_secs(secs: u8) -> Centis {
        Centis(u16::from(secs) * 100)
    }

    pub fn as_micros(self) -> u64 {
        u64::from(self.0) * 10_000
    }

    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.as_micros())
    }
}

impl fmt::Display for Centis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}s", self.0 / 100, self.0 % 100)
    }
}

/// The addresses an advert carries: all of one family, by construction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Addresses {
    V4(Vec<Ipv4Addr>),
    V6(Vec<Ipv6Addr>),
}

impl Addresses {
    pub fn family(&self) -> Family {
        match self {
            Addresses::V4(_) => Family::V4,
            Addresses::V6(_) => Family::V6,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Addresses::V4(v) => v.len(),
            Addresses::V6(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn to_ip_addrs(&self) -> Vec<IpAddr> {
        match self {
            Addresses::V4(v) => v.iter().copied().map(IpAddr::V4).collect(),
            Addresses::V6(v) => v.iter().copied().map(IpAddr::V6).collect(),
        }
    }

    /// Builds from a list that must be all of one family; `None` if mixed or empty.
    pub fn from_ip_addrs(addrs: &[IpAddr]) -> Option<Addresses> {
        match addrs.first()? {
            IpAddr::V4(_) => addrs
                .iter()
                .map(|a| match a {
                    IpAddr::V4(v4) => Some(*v4),
                    IpAddr::V6(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Addresses::V4),
            IpAddr::V6(_) => addrs
                .iter()
                .map(|a| match a {
                    IpAddr::V6(v6) => Some(*v6),
                    IpAddr::V4(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Addresses::V6),
        }
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). The wire layer passes any type through; `proto`
/// decides what is acceptable and counts the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct V2Auth {
    /// 0 = none, 1 = simple text password (keepalived `PASS`), 2 = IP AH (obsolete).
    pub auth_type: u8,
    pub data: [u8; 8],
}

impl V2Auth {
    pub const NONE: V2Auth = V2Auth {
        auth_type: 0,
        data: [0; 8],
    };
    pub const TYPE_NONE: u8 = 0;
    pub const TYPE_PASS: u8 = 1;
    pub const TYPE_AH: u8 = 2;
}

/// Which checksum a v3/IPv4 advert carries. v2 adverts always use [`Checksum::Plain`], v3/IPv6
/// adverts always [`Checksum::PseudoHeader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Checksum {
    /// Over the VRRP message only (v2; v3/IPv4 as RFC 9568 specifies).
    Plain,
    /// With the IP pseudo-header (v3/IPv6; v3/IPv4 as keepalived and FRR send by default).
    PseudoHeader,
}

/// A validated VRRP advertisement: what `parse` yields and `emit` writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// v3: Max Advert Int (12 bits of centiseconds); v2: Adver Int seconds × 100.
    pub interval: Centis,
    pub addresses: Addresses,
    /// `Some` exactly for v2.
    pub auth: Option<V2Auth>,
}

/// Why a received packet was dropped by the codec. Each maps to one counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// Shorter than the fixed VRRP header.
    TooShort { len: usize },
    /// The length does not match what the address count (and v2 auth data) require.
    LengthMismatch { len: usize, expected: usize },
    /// Version field is neither 2 nor 3, or v2 arrived over IPv6.
    BadVersion { version: u8 },
    /// Type field is not 1 (ADVERTISEMENT).
    BadType { kind: u8 },
    /// The checksum matches no variant allowed for this version and family.
    BadChecksum,
    /// The addresses do not match the family of the IP header they arrived in.
    FamilyMismatch,
    /// The IPv4 header is malformed (too short, wrong version, bad IHL or total length).
    BadIpHeader,
    /// The IP protocol is not 112.
    NotVrrp { protocol: u8 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort { len } => write!(f, "packet too short ({len} bytes)"),
            DecodeError::LengthMismatch { len, expected } => {
                write!(
                    f,
                    "length {len} does not match address count (expected {expected})"
                )
            }
            DecodeError::BadVersion { version } => write!(f, "unsupported VRRP version {version}"),
            DecodeError::BadType { kind } => write!(f, "invalid VRRP packet type {kind}"),
            DecodeError::BadChecksum => f.write_str("bad checksum"),
            DecodeError::FamilyMismatch => f.write_str("address family does not match IP header"),
            DecodeError::BadIpHeader => f.write_str("malformed IPv4 header"),
            DecodeError::NotVrrp { protocol } => write!(f, "IP protocol {protocol} is not VRRP"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Why an [`Advert`] (or another frame) could not be written. Each names the field at fault, so
/// that the caller can say which configuration value to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is shorter than the message.
    BufferTooSmall { needed: usize, available: usize },
    /// VRRPv2 is defined for IPv4 only (RFC 3768).
    V2OverIpv6,
    /// A v2 interval must be whole seconds, at most 255 s.
    V2IntervalUnrepresentable { interval: Centis },
    /// A v3 interval must fit 12 bits of centiseconds (at most 40.95 s).
    V3IntervalTooLarge { interval: Centis },
    /// The count field is one byte.
    TooManyAddresses { count: usize },
    /// The addresses, the source and the destination must all be of one family.
    FamilyMismatch,
    /// `auth` must be `Some` for v2 and `None` for v3.
    AuthMismatch { version: Version },
    /// An IPv4 datagram cannot carry this many payload bytes.
    PayloadTooLarge { len: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "buffer of {available} bytes is too small ({needed} needed)"
                )
            }
            EncodeError::V2OverIpv6 => {
                f.write_str("VRRPv2 cannot carry IPv6: use version 3 for IPv6 instances")
            }
            EncodeError::V2IntervalUnrepresentable { interval } => write!(
                f,
                "VRRPv2 advert interval {interval} is not whole seconds between 0 and 255"
            ),
            EncodeError::V3IntervalTooLarge { interval } => write!(
                f,
                "VRRPv3 advert interval {interval} exceeds the maximum of {}",
                Centis::V3_MAX
            ),
            EncodeError::TooManyAddresses { count } => {
                write!(f, "{count} virtual addresses in one advert (at most 255)")
            }
            EncodeError::FamilyMismatch => f.write_str(
                "virtual addresses, source and destination are not all of one address family",
            ),
            EncodeError::AuthMismatch { version } => write!(
                f,
                "{version} advert with {} authentication fields",
                if *version == Version::V2 { "no" } else { "v2" }
            ),
            EncodeError::PayloadTooLarge { len } => {
                write!(f, "{len} bytes do not fit in one IPv4 datagram")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
