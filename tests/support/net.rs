//! Parsers for what `ip` and `tcpdump` print, so tests assert on structured facts rather than
//! on substrings. Each parser was written against real output (iproute2 6.1, tcpdump 4.99).

/// An address's valid lifetime as `ip addr` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Forever,
    Secs(u64),
}

/// One address line of `ip -o addr show dev eth0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// "inet" or "inet6".
    pub family: String,
    /// As printed, with its prefix length: "192.0.2.100/24".
    pub cidr: String,
    pub valid_lft: Option<Lifetime>,
}

impl IfAddr {
    /// The address without its prefix length.
    pub fn address(&self) -> &str {
        self.cidr.split('/').next().unwrap_or("")
    }
}

/// Parses `ip -o addr show` output, one address per line.
pub fn parse_addrs(text: &str) -> Vec<IfAddr> {
    let mut addrs = Vec::new();
    for line in text.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = tokens.iter().position(|t| *t == "inet" || *t == "inet6") else {
            continue;
        };
        let (Some(family), Some(cidr)) = (tokens.get(at), tokens.get(at + 1)) else {
            continue;
        };
        let valid_lft = tokens
            .iter()
            .position(|t| *t == "valid_lft")
            .and_then(|i| tokens.get(i + 1))
            .and_then(|t| parse_lifetime(t));
        addrs.push(IfAddr {
            family: (*family).to_string(),
            cidr: (*cidr).to_string(),
            valid_lft,
        });
    }
    addrs
}

fn parse_lifetime(token: &str) -> Option<Lifetime> {
    if token == "forever" {
        return Some(Lifetime::Forever);
    }
    token.strip_suffix("sec")?.parse().ok().map(Lifetime::Secs)
}

/// One entry of `ip -s neigh show ADDR dev eth0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neigh {
    /// Absent while the entry is INCOMPLETE or FAILED.
    pub mac: Option<String>,
    /// REACHABLE, STALE, DELAY, PROBE, FAILED ...
    pub state: String,
    /// Whole seconds since the kernel last changed the entry (third "used" field). The kernel
    /// ignores an ARP update that arrives within `locktime` (1 s by default) of the last change.
    pub updated_secs: Option<u64>,
}

/// Parses the first entry of `ip -s neigh show` output; None when there is no entry.
pub fn parse_neigh(text: &str) -> Option<Neigh> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mac = tokens
        .iter()
        .position(|t| *t == "lladdr")
        .and_then(|i| tokens.get(i + 1))
        .map(|m| m.to_ascii_lowercase());
    // iproute2 6.1 prints "used 2/2/2probes 4", others "used 2/2/2 probes 4".
    let updated_secs = tokens
        .iter()
        .position(|t| *t == "used")
        .and_then(|i| tokens.get(i + 1))
        .and_then(|t| {
            let times: String = t
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '/')
                .collect();
            times.split('/').nth(2)?.parse().ok()
        });
    let state = (*tokens.last()?).to_string();
    Some(Neigh {
        mac,
        state,
        updated_secs,
    })
}

/// A VRRP advertisement as `tcpdump -n` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenAdvert {
    pub src: String,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
}

/// Parses a line such as
/// `15:20:17.170364 IP 192.0.2.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 0, ...`.
pub fn parse_tcpdump_vrrp(line: &str) -> Option<SeenAdvert> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let after = |key: &str| -> Option<&str> {
        let i = tokens.iter().position(|t| *t == key)?;
        tokens.get(i + 1).map(|t| t.trim_end_matches([',', ':']))
    };
    let version = tokens
        .iter()
        .find_map(|t| t.strip_prefix("VRRPv"))?
        .trim_end_matches(',')
        .parse()
        .ok()?;
    Some(SeenAdvert {
        src: after("IP")?.to_string(),
        version,
        vrid: after("vrid")?.parse().ok()?,
        priority: after("prio")?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_and_without_lifetimes() {
        let text = "2: eth0    inet 192.0.2.1/24 scope global eth0\\       valid_lft forever preferred_lft forever\n\
                    2: eth0    inet 192.0.2.100/24 scope global secondary dynamic eth0\\       valid_lft 3sec preferred_lft 3sec\n\
                    2: eth0    inet6 2001:db8::1/64 scope global nodad \\       valid_lft forever preferred_lft forever\n";
        let addrs = parse_addrs(text);
        assert_eq!(addrs.len(), 3);
        assert_eq!(addrs[1].cidr, "192.0.2.100/24");
        assert_eq!(addrs[1].address(), "192.0.2.100");
        assert_eq!(addrs[1].valid_lft, Some(Lifetime::Secs(3)));
        assert_eq!(addrs[0].valid_lft, Some(Lifetime::Forever));
        assert_eq!(addrs[2].family, "inet6");
    }

    #[test]
    fn neighbour_entries_in_both_iproute2_spellings() {
        let glued = parse_neigh(
            "192.0.2.100 lladdr 02:00:00:00:00:01  ref 1 used 2/2/2probes 4 REACHABLE \n",
        );
        assert_eq!(
            glued,
            Some(Neigh {
                mac: Some("02:00:00:00:00:01".into()),
                state: "REACHABLE".into(),
                updated_secs: Some(2),
            })
        );
        let spaced = parse_neigh("192.0.2.100 lladdr 02:00:00:00:00:02 used 2/60/0 probes 4 STALE");
        assert_eq!(spaced.as_ref().and_then(|n| n.updated_secs), Some(0));
        assert_eq!(spaced.map(|n| n.state), Some("STALE".to_string()));
        let failed = parse_neigh("192.0.2.100  used 5/5/5probes 6 FAILED");
        assert_eq!(failed.as_ref().and_then(|n| n.mac.clone()), None);
        assert_eq!(parse_neigh(""), None);
    }

    #[test]
    fn tcpdump_vrrp_lines() {
        let v2 = "15:20:17.170364 IP 192.0.2.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 0, authtype none, intvl 1s, length 20";
        assert_eq!(
            parse_tcpdump_vrrp(v2),
            Some(SeenAdvert {
                src: "192.0.2.1".into(),
                version: 2,
                vrid: 51,
                priority: 0,
            })
        );
        let v3 = "15:20:17.170437 IP 192.0.2.2 > 224.0.0.18: VRRPv3, Advertisement, vrid 7, prio 200, intvl 10cs, length 12";
        assert_eq!(
            parse_tcpdump_vrrp(v3).map(|a| (a.version, a.vrid, a.priority)),
            Some((3, 7, 200))
        );
        assert_eq!(
            parse_tcpdump_vrrp("listening on br0, link-type EN10MB"),
            None
        );
    }
}
