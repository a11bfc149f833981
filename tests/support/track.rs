//! Lab additions for the tracking and sync-group tests: a second interface per router on a
//! second switch, check scripts, track files and named notify recorders.

use std::path::PathBuf;
use std::process::Command;

use super::{checked, notify, write_file, Lab, Recorder};

impl Lab {
    /// Gives `router` an interface `ifname` with `cidr` (if any), wired to bridge br1 of the
    /// switch (a second LAN segment, created on first use). Removed with the lab's namespaces.
    pub fn add_link(&self, router: u8, ifname: &str, cidr: Option<&str>) {
        self.check_router(router);
        let (ns, sw) = (self.router_ns(router), self.switch_ns());
        let port = format!("q{router}{ifname}");
        let has_br1 = Command::new("ip")
            .args(["-n", &sw, "link", "show", "br1"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_br1 {
            checked(Command::new("ip").args([
                "-n",
                &sw,
                "link",
                "add",
                "br1",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ]));
            checked(Command::new("ip").args(["-n", &sw, "link", "set", "br1", "up"]));
        }
        checked(Command::new("ip").args([
            "-n", &ns, "link", "add", ifname, "type", "veth", "peer", "name", &port, "netns", &sw,
        ]));
        if let Some(cidr) = cidr {
            checked(Command::new("ip").args(["-n", &ns, "addr", "add", cidr, "dev", ifname]));
        }
        checked(Command::new("ip").args(["-n", &ns, "link", "set", ifname, "up"]));
        checked(Command::new("ip").args(["-n", &sw, "link", "set", &port, "master", "br1", "up"]));
    }

    /// `ip -n rN link set IFNAME up|down`.
    pub fn set_iface(&self, router: u8, ifname: &str, up: bool) {
        self.check_router(router);
        let ns = self.router_ns(router);
        checked(Command::new("ip").args([
            "-n",
            &ns,
            "link",
            "set",
            ifname,
            if up { "up" } else { "down" },
        ]));
    }

    /// True when `router` has `addr` on `ifname`.
    pub fn has_addr_on(&self, router: u8, ifname: &str, addr: &str) -> bool {
        self.check_router(router);
        let ns = self.router_ns(router);
        super::net::parse_addrs(&checked(
            Command::new("ip").args(["-n", &ns, "-o", "addr", "show", "dev", ifname]),
        ))
        .iter()
        .any(|a| a.address() == addr)
    }

    /// Writes an executable shell script `scripts/NAME.sh` with `body` after the `#!/bin/sh`.
    pub fn shell_script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir().join("scripts").join(format!("{name}.sh"));
        write_file(&path, &format!("#!/bin/sh\n{body}\n"), 0o755);
        path
    }

    /// A path under the lab's world-writable `out/` directory.
    pub fn out_path(&self, name: &str) -> PathBuf {
        self.dir().join("out").join(name)
    }

    /// A notify recorder with its own name (several per router).
    pub fn named_recorder(&self, name: &str) -> Recorder {
        let script = self.dir().join("scripts").join(format!("record-{name}.sh"));
        let log = self.out_path(&format!("notify-{name}.log"));
        write_file(&script, &notify::recorder_script(&log), 0o755);
        self.watched
            .borrow_mut()
            .push((format!("notify calls recorded by {name}"), log.clone()));
        Recorder { script, log }
    }
}
