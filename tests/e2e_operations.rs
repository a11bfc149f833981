//! Operating the agent: an interface that appears late, SIGHUP reloads (good and bad), the
//! status and counter dumps, and a panic that still releases the VIPs.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output();
    match out {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "ip {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("cannot run ip: {e}"),
    }
}

fn has_addr_on(ns: &str, dev: &str, addr: &str) -> bool {
    Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", dev])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(" {addr}/")))
        .unwrap_or(false)
}

#[test]
fn missing_interface_waits_in_fault_and_starts_when_it_appears() {
    let lab = Lab::new(1);
    let recorder = lab.recorder(1);
    let conf = Conf::v3(200)
        .vips(&["198.51.100.100/24"])
        .line(format!("notify {}", recorder.command("")));
    let text = conf.render().replace("interface eth0", "interface eth1");
    lab.start_text(1, &text, &[]);
    lab.wait_until(
        "the agent to say eth1 is missing and that it waits in FAULT",
        Duration::from_secs(5),
        || {
            lab.log_text(1)
                .contains("interface eth1 does not exist; waiting in FAULT")
        },
    );
    lab.wait_until(
        "notify FAULT for the missing interface",
        Duration::from_secs(5),
        || {
            recorder
                .calls()
                .is_ok_and(|calls| calls.iter().any(|c| c.args().get(2) == Some(&"FAULT")))
        },
    );

    // The interface appears, wired to the switch, with an address of its own.
    let r1 = lab.router_ns(1);
    let sw = lab.switch_ns();
    ip(&[
        "-n", &r1, "link", "add", "eth1", "type", "veth", "peer", "name", "q1", "netns", &sw,
    ]);
    ip(&["-n", &sw, "link", "set", "q1", "master", "br0", "up"]);
    ip(&["-n", &r1, "addr", "add", "198.51.100.1/24", "dev", "eth1"]);
    ip(&["-n", &r1, "link", "set", "eth1", "up"]);
    lab.wait_until(
        "the instance to start on the new eth1 and take the VIP",
        conf.master_down_interval() + Duration::from_secs(4),
        || has_addr_on(&r1, "eth1", "198.51.100.100"),
    );
}

fn two_instances(vi2_priority: u8) -> String {
    format!(
        "global_defs {{\n  vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 200\n  \
         advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n\
         vrrp_instance VI_2 {{\n  interface eth0\n  virtual_router_id 52\n  priority {vi2_priority}\n  \
         advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.101/24\n  }}\n}}\n"
    )
}

#[test]
fn sighup_keeps_unchanged_instances_and_survives_a_bad_config() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200);
    lab.start_text(1, &two_instances(150), &[]);
    lab.wait_until(
        "r1 to hold both VIPs",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1) && lab.has_addr(1, "192.0.2.101"),
    );

    // A broken file: every error logged, the old configuration keeps running.
    lab.reload_text(1, "vrrp_instance VI_1 {\n  priorty 100\n");
    lab.wait_until(
        "the agent to log that it keeps the previous configuration",
        Duration::from_secs(5),
        || {
            lab.log_text(1)
                .contains("still running the previous configuration")
        },
    );
    let log = lab.log_text(1);
    if !log.contains("priorty: unknown keyword, did you mean 'priority'?") {
        lab.fail("the reload error does not name the bad keyword");
    }
    if !(lab.has_vip(1) && lab.has_addr(1, "192.0.2.101")) {
        lab.fail("a bad reload took VIPs away");
    }

    // VI_2's priority changes, VI_1 does not: neither restarts, nor leaves MASTER.
    let master_lines = |log: &str| log.matches("BACKUP -> MASTER").count();
    let before = master_lines(&lab.log_text(1));
    lab.reload_text(1, &two_instances(160));
    lab.wait_until("the reload to finish", Duration::from_secs(5), || {
        lab.log_text(1).contains("reload done: 2 instances")
    });
    lab.assert_stays(
        "both VIPs stay on r1 through the reload",
        conf.master_down_interval() + Duration::from_millis(500),
        || lab.has_vip(1) && lab.has_addr(1, "192.0.2.101"),
    );
    let log = lab.log_text(1);
    if master_lines(&log) != before || log.contains("removed or changed by the reload") {
        lab.fail("an instance was restarted by a reload that only changed a priority");
    }
    if !log.contains("VI_2: updated in place by the reload (priority 160") {
        lab.fail("VI_2's new priority was not applied in place");
    }
}

#[test]
fn status_and_counters_are_logged_on_sigusr1_and_sigusr2() {
    let lab = Lab::new(1);
    let conf = Conf::v3(200);
    lab.start(1, &conf);
    lab.wait_until(
        "r1 to hold the VIP",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1),
    );
    lab.poke(1, Signal::SIGUSR1);
    lab.wait_until("the status line", Duration::from_secs(5), || {
        lab.log_text(1)
            .contains("VI_1: MASTER since master_down (priority 200, interval 0.10s, VIPs held)")
    });
    lab.poke(1, Signal::SIGUSR2);
    lab.wait_until("the counters line", Duration::from_secs(5), || {
        let log = lab.log_text(1);
        log.contains("VI_1: advert_rcvd=0 advert_sent=") && log.contains("become_master=1")
    });
}

#[test]
fn a_panic_still_releases_the_vips() {
    let lab = Lab::new(1);
    // Permanent VIPs: only the panic handler can take them away quickly.
    let conf = Conf::v3(200).line("vip_lease 0");
    lab.start_text(1, &conf.render(), &[("KEEPVIP_TEST_PANIC_ON_SIGUSR2", "1")]);
    lab.wait_until(
        "r1 to hold the VIP",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1),
    );
    lab.signal_expecting_exit(1, Signal::SIGUSR2);
    let (status, _) = lab.wait_exit(1, Duration::from_secs(5));
    if status.success() {
        lab.fail("the agent exited 0 after a panic");
    }
    if lab.has_vip(1) {
        lab.fail("the VIP is still on r1 after the agent panicked");
    }
    if !lab
        .log_text(1)
        .contains("released 192.0.2.100/24 after an internal error")
    {
        lab.fail("the release after the panic was not logged");
    }
}

#[test]
fn an_address_owner_keeps_the_host_s_own_address_through_start_and_stop() {
    let lab = Lab::new(1);
    // r1's own address is 192.0.2.1/24: as its owner (priority 255) r1 advertises it.
    let conf = Conf::v3(255).vips(&["192.0.2.1/24"]);
    lab.start(1, &conf);
    lab.wait_until(
        "r1 to become master at once",
        Duration::from_secs(5),
        || lab.log_text(1).contains("-> MASTER (owner"),
    );
    let own = lab.address(1, "192.0.2.1");
    if own.as_ref().and_then(|a| a.valid_lft) != Some(Lifetime::Forever) {
        lab.fail(&format!(
            "r1's own address was changed (it must stay permanent, never leased): {own:?}"
        ));
    }
    if !lab.client_ping("192.0.2.1") {
        lab.fail("the client cannot reach r1's own address while r1 is its owner");
    }
    lab.terminate(1);
    let (status, _) = lab.wait_exit(1, Duration::from_secs(3));
    if !status.success() || !lab.has_addr(1, "192.0.2.1") {
        lab.fail(&format!(
            "stopping the owner took the host's own address away ({status})"
        ));
    }
}

#[test]
fn a_vip_shared_by_two_instances_stays_until_the_last_one_releases_it() {
    let lab = Lab::new(1);
    let both = "global_defs {\n  vrrp_version 3\n}\n\
                vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 200\n  \
                advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n\
                vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 52\n  priority 200\n  \
                advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n";
    lab.start_text(1, both, &[]);
    lab.wait_until(
        "both instances to be master",
        Duration::from_secs(5),
        || lab.log_text(1).matches("-> MASTER").count() == 2,
    );
    // VI_2 goes away: VI_1 still holds the address, so it must stay.
    let only_vi1 = both[..both.find("vrrp_instance VI_2").unwrap_or(both.len())].to_string();
    lab.reload_text(1, &only_vi1);
    lab.wait_until("the reload to finish", Duration::from_secs(5), || {
        lab.log_text(1).contains("reload done: 1 instances")
    });
    lab.assert_stays(
        "the shared VIP stays on r1 while VI_1 holds it",
        Duration::from_secs(1),
        || lab.has_vip(1),
    );
}

#[test]
fn notify_stop_runs_at_sigterm_even_behind_a_running_script() {
    let lab = Lab::new(1);
    let slow = lab.shell_script("slow-master", "exec sleep 5");
    let marker = lab.out_path("stopped");
    let stop = lab.shell_script("stop", &format!("touch '{}'", marker.display()));
    let conf = Conf::v3(200)
        .line(format!("notify_master \"{}\"", slow.display()))
        .line(format!("notify_stop \"{}\"", stop.display()));
    lab.start(1, &conf);
    lab.wait_until(
        "r1 to become master (its notify_master now sleeps 5 s)",
        conf.master_down_interval() + Duration::from_secs(4),
        || lab.has_vip(1),
    );
    lab.terminate(1);
    lab.wait_exit(1, Duration::from_secs(3));
    lab.wait_until("notify_stop to have run", Duration::from_secs(2), || {
        marker.exists()
    });
}
