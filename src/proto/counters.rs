//! Per-instance counters, named as keepalived names them (its `vrrp_stats`), plus the drops the
//! codec reports before a packet reaches an instance.

use crate::wire::DecodeError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub packet_len_err: u64,
    pub advert_interval_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    pub addr_list_err: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    pub checksum_err: u64,
    pub version_err: u64,
    pub vrid_err: u64,
    /// Unicast adverts from an address that is not a `unicast_peer` (keepvip; keepalived drops
    /// them without counting).
    pub unicast_src_err: u64,
    /// Adverts whose source is our own primary address: another host uses it (an address
    /// conflict), or our own adverts come back by some path (keepvip; dropped).
    pub src_addr_conflict: u64,
}

impl Counters {
    /// Counts a packet the codec rejected after it was demultiplexed to this instance.
    pub fn record_decode_error(&mut self, error: &DecodeError) {
        match error {
            DecodeError::TooShort { .. }
            | DecodeError::LengthMismatch { .. }
            | DecodeError::BadIpHeader => self.packet_len_err += 1,
            DecodeError::BadVersion { .. } => self.version_err += 1,
            DecodeError::BadType { .. } => self.invalid_type_rcvd += 1,
            DecodeError::BadChecksum => self.checksum_err += 1,
            DecodeError::FamilyMismatch => self.addr_list_err += 1,
            DecodeError::NotVrrp { .. } => self.invalid_type_rcvd += 1,
        }
    }

    /// (name, value) pairs in a stable order, for status output and logs.
    pub fn named(&self) -> [(&'static str, u64); 19] {
        [
            ("advert_rcvd", self.advert_rcvd),
            ("advert_sent", self.advert_sent),
            ("become_master", self.become_master),
            ("release_master", self.release_master),
            ("packet_len_err", self.packet_len_err),
            ("advert_interval_err", self.advert_interval_err),
            ("ip_ttl_err", self.ip_ttl_err),
            ("invalid_type_rcvd", self.invalid_type_rcvd),
            ("addr_list_err", self.addr_list_err),
            ("invalid_authtype", self.invalid_authtype),
            ("authtype_mismatch", self.authtype_mismatch),
            ("auth_failure", self.auth_failure),
            ("pri_zero_rcvd", self.pri_zero_rcvd),
            ("pri_zero_sent", self.pri_zero_sent),
            ("checksum_err", self.checksum_err),
            ("version_err", self.version_err),
            ("vrid_err", self.vrid_err),
            ("unicast_src_err", self.unicast_src_err),
            ("src_addr_conflict", self.src_addr_conflict),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_map_to_keepalived_counters() {
        let mut c = Counters::default();
        c.record_decode_error(&DecodeError::TooShort { len: 3 });
        c.record_decode_error(&DecodeError::LengthMismatch {
            len: 20,
            expected: 24,
        });
        c.record_decode_error(&DecodeError::BadType { kind: 7 });
        c.record_decode_error(&DecodeError::BadChecksum);
        c.record_decode_error(&DecodeError::BadVersion { version: 9 });
        assert_eq!(c.packet_len_err, 2);
        assert_eq!(c.invalid_type_rcvd, 1);
        assert_eq!(c.checksum_err, 1);
        assert_eq!(c.version_err, 1);
        assert_eq!(c.advert_rcvd, 0);
    }

    #[test]
    fn named_lists_every_counter_once() {
        let names: std::collections::BTreeSet<_> = Counters::default()
            .named()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(names.len(), 19);
    }
}
