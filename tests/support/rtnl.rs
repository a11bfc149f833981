//! Holding the kernel's RTNL lock from outside the agent, as a busy host does (a flood of
//! address or link changes by another process).

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{checked, Helper, Lab};

/// IPv6 addresses on the hog's interface: each down or up of it walks them all under RTNL.
const HOG_ADDRESSES: u32 = 3000;

impl Lab {
    /// Starts a process that keeps RTNL held most of the time: in a namespace of its own
    /// (`PREFIX-r9`, which the lab removes with the others), a veth with 3,000 IPv6 addresses
    /// kept across down, set down and up in a loop. Each down or up holds RTNL for about
    /// 25 ms on the development machine. Stopped with the lab.
    pub fn hold_rtnl(&self) {
        assert!(self.routers() < 9, "the RTNL hog uses namespace r9");
        let ns = self.router_ns(9);
        checked(Command::new("ip").args(["netns", "add", &ns]));
        checked(Command::new("ip").args([
            "-n", &ns, "link", "add", "hog0", "type", "veth", "peer", "name", "hog1",
        ]));
        checked(Command::new("ip").args([
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.hog0.keep_addr_on_down=1",
        ]));
        checked(Command::new("ip").args(["-n", &ns, "link", "set", "hog0", "up"]));
        let adds: String = (0..HOG_ADDRESSES)
            .map(|i| format!("address add 2001:db8:f::{i:x}/128 dev hog0 nodad\n"))
            .collect();
        let add_file = self.dir().join("rtnl-hog-add.batch");
        let flap_file = self.dir().join("rtnl-hog-flap.batch");
        let flaps = "link set hog0 down\nlink set hog0 up\n".repeat(5000);
        for (file, text) in [(&add_file, adds), (&flap_file, flaps)] {
            if let Err(e) = fs::write(file, text) {
                panic!("cannot write {}: {e}", file.display());
            }
        }
        let started = Instant::now();
        checked(
            Command::new("ip")
                .args(["-n", &ns, "-batch"])
                .arg(&add_file),
        );
        eprintln!(
            "RTNL hog: {HOG_ADDRESSES} addresses in {:?}",
            started.elapsed()
        );
        let child = Command::new("ip")
            .args(["-n", &ns, "-batch"])
            .arg(&flap_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the RTNL hog: {e}"));
        self.helpers.borrow_mut().push(Helper {
            name: "RTNL hog".into(),
            child,
        });
    }

    /// How long one address change takes from outside the agent (an `ip` process, so a few
    /// ms even when RTNL is free): the evidence that [`hold_rtnl`](Self::hold_rtnl) holds it.
    pub fn time_address_change(&self, router: u8) -> Duration {
        let started = Instant::now();
        checked(Command::new("ip").args([
            "-n",
            &self.router_ns(router),
            "addr",
            "replace",
            "198.51.100.250/32",
            "dev",
            "lo",
        ]));
        started.elapsed()
    }
}
