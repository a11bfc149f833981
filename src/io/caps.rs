//! Start-up check that the process holds the capabilities the I/O layer needs, so a missing
//! privilege is one clear line at start instead of an `EPERM` deep inside the first socket call.

/// `CAP_NET_ADMIN` (addresses, links, `SO_BINDTODEVICE` on some kernels) from `<linux/capability.h>`.
const CAP_NET_ADMIN: u32 = 12;
/// `CAP_NET_RAW` (raw VRRP, ICMPv6 and `AF_PACKET` sockets).
const CAP_NET_RAW: u32 = 13;

/// Checks the effective capability set of this process (from `/proc/self/status`).
///
/// Returns a one-line message naming what is missing and what to do about it.
pub fn check_capabilities() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| {
        format!("cannot read /proc/self/status to check capabilities: {e}; is /proc mounted?")
    })?;
    check_status(&status)
}

/// The pure part of [`check_capabilities`]: `status` is the text of `/proc/<pid>/status`.
fn check_status(status: &str) -> Result<(), String> {
    let hex = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .map(str::trim)
        .ok_or_else(|| {
            "/proc/self/status has no CapEff line; cannot check capabilities".to_string()
        })?;
    let effective = u64::from_str_radix(hex, 16)
        .map_err(|_| format!("/proc/self/status: CapEff value {hex:?} is not hexadecimal"))?;
    let missing: Vec<&str> = [
        (CAP_NET_RAW, "CAP_NET_RAW"),
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
    ]
    .into_iter()
    .filter(|(bit, _)| effective & (1u64 << bit) == 0)
    .map(|(_, name)| name)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "missing capability {}: keepvip needs CAP_NET_RAW and CAP_NET_ADMIN; run it as root \
             or grant them (systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN)",
            missing.join(" and ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_with(cap_eff: &str) -> String {
        format!("Name:\tkeepvip\nCapInh:\t0000000000000000\nCapEff:\t{cap_eff}\nCapBnd:\t000001ffffffffff\n")
    }

    #[test]
    fn full_root_set_passes() {
        assert_eq!(check_status(&status_with("000001ffffffffff")), Ok(()));
    }

    #[test]
    fn exactly_the_two_needed_bits_pass() {
        assert_eq!(check_status(&status_with("0000000000003000")), Ok(()));
    }

    #[test]
    fn missing_net_raw_is_named() {
        let err = check_status(&status_with("0000000000001000")).unwrap_err();
        assert!(err.contains("missing capability CAP_NET_RAW:"), "{err}");
        assert!(!err.contains("CAP_NET_RAW and CAP_NET_ADMIN:"), "{err}");
    }

    #[test]
    fn missing_both_names_both() {
        let err = check_status(&status_with("0000000000000000")).unwrap_err();
        assert!(
            err.starts_with("missing capability CAP_NET_RAW and CAP_NET_ADMIN:"),
            "{err}"
        );
    }

    #[test]
    fn absent_or_garbled_line_is_an_error() {
        assert!(check_status("Name:\tx\n").is_err());
        assert!(check_status(&status_with("zz")).is_err());
    }

    #[test]
    fn this_process_reads_its_own_status() {
        // Whatever the privileges of the test run, the file must be readable and parsable:
        // the result is Ok or a "missing capability" message, never a read/parse failure.
        match check_capabilities() {
            Ok(()) => {}
            Err(e) => assert!(e.starts_with("missing capability"), "{e}"),
        }
    }
}
