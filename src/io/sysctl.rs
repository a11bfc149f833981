//! Per-interface kernel parameters under `/proc/sys/net`, written as keepalived writes them for
//! its virtual MAC interfaces (`vrrp_if_config.c`).
//!
//! `/proc/sys/net` shows the network namespace of the thread that opens the file, so these
//! functions act on the caller's namespace (a test thread that `unshare`d sees its own).
//!
//! What a VMAC needs, and why:
//! - on the VMAC: `arp_ignore=1` (answer ARP only for its own addresses, the VIPs),
//!   `accept_local=1` (hear adverts sourced from an address of this host, as when two agents
//!   share a host), `rp_filter=0` (the VMAC holds no address while backup: reverse-path
//!   filtering would drop every advert it receives), `promote_secondaries=1`;
//! - on its parent: `arp_ignore=1` and `arp_filter=1` (never answer ARP for a VIP with the
//!   parent's own MAC), and, beyond keepalived, `arp_announce=2`: otherwise an ARP request the
//!   parent sends for a reply from the VIP names the VIP as sender with the parent's MAC, and
//!   every host on the LAN re-points the VIP at the real MAC (seen on Linux 6.x);
//! - the effective `rp_filter` of an interface is the larger of its own and `all`'s, so a
//!   non-zero `all.rp_filter` is moved onto `default` and each interface before `all` becomes 0
//!   ([`relax_all_rp_filter`]; undone by [`restore_rp_filter`]).

use std::fs;
use std::io;
use std::path::PathBuf;

const IPV4_CONF: &str = "/proc/sys/net/ipv4/conf";
const IPV6_CONF: &str = "/proc/sys/net/ipv6/conf";

/// `IFNAMSIZ - 1`.
const MAX_IFNAME_LEN: usize = 15;

/// The file of `key` for `ifname` (or `all` / `default`) under `base`, refusing names that
/// would leave the directory.
fn conf_path(base: &str, ifname: &str, key: &str) -> io::Result<PathBuf> {
    if ifname.is_empty()
        || ifname.len() > MAX_IFNAME_LEN
        || ifname == "."
        || ifname == ".."
        || ifname.contains(['/', '\0'])
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{ifname:?} is not an interface name"),
        ));
    }
    Ok(PathBuf::from(base).join(ifname).join(key))
}

fn read_path(path: &PathBuf) -> io::Result<u32> {
    let text = fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} holds {:?}, not a number", path.display(), text.trim()),
        )
    })
}

fn write_path(path: &PathBuf, value: u32) -> io::Result<()> {
    fs::write(path, value.to_string())
        .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", path.display())))
}

/// `net.ipv4.conf.IFNAME.KEY`.
pub fn ipv4_conf(ifname: &str, key: &str) -> io::Result<u32> {
    read_path(&conf_path(IPV4_CONF, ifname, key)?)
}

/// Sets `net.ipv4.conf.IFNAME.KEY`.
pub fn set_ipv4_conf(ifname: &str, key: &str, value: u32) -> io::Result<()> {
    write_path(&conf_path(IPV4_CONF, ifname, key)?, value)
}

/// `net.ipv6.conf.IFNAME.KEY`.
pub fn ipv6_conf(ifname: &str, key: &str) -> io::Result<u32> {
    read_path(&conf_path(IPV6_CONF, ifname, key)?)
}

/// Sets `net.ipv6.conf.IFNAME.KEY`.
pub fn set_ipv6_conf(ifname: &str, key: &str, value: u32) -> io::Result<()> {
    write_path(&conf_path(IPV6_CONF, ifname, key)?, value)
}

/// Turns IPv6 off (no link-local address, no MLD or router solicitation from the interface) or
/// back on (`net.ipv6.conf.IFNAME.disable_ipv6`).
pub fn set_ipv6_disabled(ifname: &str, disabled: bool) -> io::Result<()> {
    set_ipv6_conf(ifname, "disable_ipv6", u32::from(disabled))
}

/// The IPv4 parameters of a VMAC (see the module documentation).
pub fn configure_vmac_ipv4(vmac: &str) -> io::Result<()> {
    for (key, value) in [
        ("arp_ignore", 1),
        ("accept_local", 1),
        ("rp_filter", 0),
        ("promote_secondaries", 1),
    ] {
        set_ipv4_conf(vmac, key, value)?;
    }
    Ok(())
}

/// ARP settings of a VMAC's parent as they were before [`configure_vmac_parent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavedParentArp {
    pub arp_ignore: u32,
    pub arp_filter: u32,
    pub arp_announce: u32,
}

/// What [`configure_vmac_parent`] sets on the parent.
const PARENT_ARP: [(&str, u32); 3] = [("arp_ignore", 1), ("arp_filter", 1), ("arp_announce", 2)];

/// Sets the parent's ARP parameters (see the module documentation); returns what they were.
pub fn configure_vmac_parent(parent: &str) -> io::Result<SavedParentArp> {
    let saved = SavedParentArp {
        arp_ignore: ipv4_conf(parent, "arp_ignore")?,
        arp_filter: ipv4_conf(parent, "arp_filter")?,
        arp_announce: ipv4_conf(parent, "arp_announce")?,
    };
    for (key, value) in PARENT_ARP {
        set_ipv4_conf(parent, key, value)?;
    }
    Ok(saved)
}

/// Puts the parent's ARP parameters back, each only if it still holds what keepvip set (an
/// operator's later change wins).
pub fn restore_vmac_parent(parent: &str, saved: SavedParentArp) -> io::Result<()> {
    let originals = [saved.arp_ignore, saved.arp_filter, saved.arp_announce];
    for ((key, ours), original) in PARENT_ARP.into_iter().zip(originals) {
        if ipv4_conf(parent, key)? == ours {
            set_ipv4_conf(parent, key, original)?;
        }
    }
    Ok(())
}

/// `rp_filter` values [`relax_all_rp_filter`] replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedRpFilter {
    /// `all.rp_filter` before it was set to 0.
    pub all: u32,
    /// `default.rp_filter`, if it was raised to `all`.
    pub default: Option<u32>,
    /// Interfaces whose `rp_filter` was raised to `all`, with their own value.
    pub interfaces: Vec<(String, u32)>,
}

/// If `all.rp_filter` is not 0: raises `default` and every interface to at least its value
/// (so that no interface filters less than before), then sets `all` to 0 so that a VMAC's own
/// 0 takes effect. Returns what to restore, or `None` when `all` was 0 already.
pub fn relax_all_rp_filter() -> io::Result<Option<SavedRpFilter>> {
    let all = ipv4_conf("all", "rp_filter")?;
    if all == 0 {
        return Ok(None);
    }
    let mut saved = SavedRpFilter {
        all,
        default: None,
        interfaces: Vec::new(),
    };
    let default = ipv4_conf("default", "rp_filter")?;
    if default < all {
        set_ipv4_conf("default", "rp_filter", all)?;
        saved.default = Some(default);
    }
    for entry in fs::read_dir(IPV4_CONF)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name == "all" || name == "default" {
            continue;
        }
        // An interface may vanish between the listing and the read: skip it.
        let Ok(own) = ipv4_conf(&name, "rp_filter") else {
            continue;
        };
        if own < all {
            set_ipv4_conf(&name, "rp_filter", all)?;
            saved.interfaces.push((name, own));
        }
    }
    set_ipv4_conf("all", "rp_filter", 0)?;
    Ok(Some(saved))
}

/// Undoes [`relax_all_rp_filter`], value by value, wherever the value is still the one keepvip
/// set. Interfaces that are gone are skipped.
pub fn restore_rp_filter(saved: &SavedRpFilter) -> io::Result<()> {
    if ipv4_conf("all", "rp_filter")? == 0 {
        set_ipv4_conf("all", "rp_filter", saved.all)?;
    }
    if let Some(default) = saved.default {
        if ipv4_conf("default", "rp_filter")? == saved.all {
            set_ipv4_conf("default", "rp_filter", default)?;
        }
    }
    for (name, own) in &saved.interfaces {
        if ipv4_conf(name, "rp_filter").ok() == Some(saved.all) {
            set_ipv4_conf(name, "rp_filter", *own)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::netlink::RequestSocket;
    use crate::io::testns::in_new_netns;

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        for bad in ["", ".", "..", "../x", "a/b", "sixteen-bytes-xx"] {
            let e = ipv4_conf(bad, "rp_filter").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        assert_eq!(
            conf_path(IPV4_CONF, "vrrp.51", "arp_ignore").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore")
        );
    }

    #[test]
    fn a_missing_interface_is_an_error_naming_the_file() {
        in_new_netns(|| {
            let e = set_ipv4_conf("kvNone0", "arp_ignore", 1).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::NotFound);
            assert!(e.to_string().contains("kvNone0/arp_ignore"), "{e}");
        });
    }

    #[test]
    fn vmac_and_parent_parameters_are_set_and_restored() {
        in_new_netns(|| {
            let mut nl = RequestSocket::open().unwrap();
            nl.create_veth("kvS0", "kvS1").unwrap();
            set_ipv4_conf("kvS1", "arp_announce", 1).unwrap();

            configure_vmac_ipv4("kvS0").unwrap();
            for (key, value) in [
                ("arp_ignore", 1),
                ("accept_local", 1),
                ("rp_filter", 0),
                ("promote_secondaries", 1),
            ] {
                assert_eq!(ipv4_conf("kvS0", key).unwrap(), value, "{key}");
            }

            let saved = configure_vmac_parent("kvS1").unwrap();
            assert_eq!(
                saved,
                SavedParentArp {
                    arp_ignore: 0,
                    arp_filter: 0,
                    arp_announce: 1
                }
            );
            assert_eq!(ipv4_conf("kvS1", "arp_ignore").unwrap(), 1);
            assert_eq!(ipv4_conf("kvS1", "arp_filter").unwrap(), 1);
            assert_eq!(ipv4_conf("kvS1", "arp_announce").unwrap(), 2);
            // An operator changes one of them meanwhile: that change is kept.
            set_ipv4_conf("kvS1", "arp_filter", 0).unwrap();
            restore_vmac_parent("kvS1", saved).unwrap();
            assert_eq!(ipv4_conf("kvS1", "arp_ignore").unwrap(), 0);
            assert_eq!(ipv4_conf("kvS1", "arp_filter").unwrap(), 0);
            assert_eq!(ipv4_conf("kvS1", "arp_announce").unwrap(), 1);

            set_ipv6_disabled("kvS0", true).unwrap();
            assert_eq!(ipv6_conf("kvS0", "disable_ipv6").unwrap(), 1);
            set_ipv6_disabled("kvS0", false).unwrap();
            assert_eq!(ipv6_conf("kvS0", "disable_ipv6").unwrap(), 0);
        });
    }

    #[test]
    fn all_rp_filter_moves_onto_default_and_interfaces_and_back() {
        in_new_netns(|| {
            let mut nl = RequestSocket::open().unwrap();
            nl.create_veth("kvR0", "kvR1").unwrap();
            nl.create_veth("kvR2", "kvR3").unwrap();
            set_ipv4_conf("all", "rp_filter", 0).unwrap();
            assert_eq!(
                relax_all_rp_filter().unwrap(),
                None,
                "all = 0: nothing to do"
            );

            set_ipv4_conf("default", "rp_filter", 0).unwrap();
            for (name, value) in [("kvR0", 0), ("kvR1", 2), ("kvR2", 0), ("kvR3", 1)] {
                set_ipv4_conf(name, "rp_filter", value).unwrap();
            }
            set_ipv4_conf("all", "rp_filter", 1).unwrap();
            let saved = relax_all_rp_filter().unwrap().expect("all was 1");
            assert_eq!(saved.all, 1);
            assert_eq!(saved.default, Some(0));
            let mut raised = saved.interfaces.clone();
            raised.sort();
            assert_eq!(
                raised,
                [("kvR0".to_string(), 0), ("kvR2".to_string(), 0)],
                "only interfaces filtering less than all are raised"
            );
            assert_eq!(ipv4_conf("all", "rp_filter").unwrap(), 0);
            assert_eq!(ipv4_conf("default", "rp_filter").unwrap(), 1);
            for (name, value) in [("kvR0", 1), ("kvR1", 2), ("kvR2", 1), ("kvR3", 1)] {
                assert_eq!(ipv4_conf(name, "rp_filter").unwrap(), value, "{name}");
            }
            // A VMAC set up now gets 0, which takes effect since all is 0; an operator then
            // changes kvR2 by hand.
            configure_vmac_ipv4("kvR2").unwrap();
            assert_eq!(ipv4_conf("kvR2", "rp_filter").unwrap(), 0);
            set_ipv4_conf("kvR2", "rp_filter", 2).unwrap();

            restore_rp_filter(&saved).unwrap();
            assert_eq!(ipv4_conf("all", "rp_filter").unwrap(), 1);
            assert_eq!(ipv4_conf("default", "rp_filter").unwrap(), 0);
            assert_eq!(ipv4_conf("kvR0", "rp_filter").unwrap(), 0, "restored");
            assert_eq!(ipv4_conf("kvR1", "rp_filter").unwrap(), 2);
            assert_eq!(
                ipv4_conf("kvR2", "rp_filter").unwrap(),
                2,
                "changed since: left as it is"
            );
            assert_eq!(ipv4_conf("kvR3", "rp_filter").unwrap(), 1);
        });
    }
}
