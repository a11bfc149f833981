//! Election-only instances, as clouds run VRRP: no virtual_ipaddress (VRRPv2 adverts that carry
//! no address, as keepalived sends them), and etc/cloud/move-address.sh as notify_master moving
//! the service address through the provider's CLI (a recording stand-in for `aws` here). The
//! script must move the address when its router becomes master, and must not take it back when
//! it runs late, after its router already lost the election again.
//! Needs root; see tests/support/mod.rs.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::*;

const MOVE_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/cloud/move-address.sh");

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

/// A directory for the script's `--path` with a recording `aws` and the `keepvip` under test;
/// returns the file the calls are recorded in.
fn cloud_bin(lab: &Lab, router: u8) -> PathBuf {
    let bin = lab.dir().join(format!("bin-r{router}"));
    std::fs::create_dir(&bin).expect("bin dir");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let calls = lab.dir().join("out").join(format!("aws-r{router}.log"));
    write_executable(
        &bin.join("aws"),
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display()),
    );
    std::os::unix::fs::symlink(KEEPVIP, bin.join("keepvip")).expect("keepvip link");
    calls
}

fn aws_calls(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn config(lab: &Lab, router: u8, priority: u8, extra: &str) -> String {
    let script = lab.dir().join("scripts").join("move-address.sh");
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {priority}\n    advert_int 1\n    \
         notify_master \"{} --run-dir {} --settle 1 --path {} aws-secondary-ip eni-r{router} \
         10.0.1.10\"\n{extra}}}\n",
        script.display(),
        lab.run_dir(router).display(),
        lab.dir().join(format!("bin-r{router}")).display()
    )
}

#[test]
fn notify_master_moves_the_address_and_a_late_one_does_not_take_it_back() {
    let lab = Lab::new(2);
    let script = lab.dir().join("scripts").join("move-address.sh");
    let text = std::fs::read_to_string(MOVE_SCRIPT).expect("etc/cloud/move-address.sh");
    write_executable(&script, &text);
    // r2's first notify_backup (at start-up) takes 12 s, so the notify_master of its first
    // mastership runs late, when r1 is back and r2 is a backup again.
    let slow = lab.dir().join("scripts").join("slow-once.sh");
    let marker = lab.dir().join("out").join("slept");
    write_executable(
        &slow,
        &format!(
            "#!/bin/sh\nif mkdir {} 2>/dev/null; then sleep 12; fi\n",
            marker.display()
        ),
    );
    let calls1 = cloud_bin(&lab, 1);
    let calls2 = cloud_bin(&lab, 2);
    let r1 = config(&lab, 1, 200, "");
    let r2 = config(
        &lab,
        2,
        100,
        &format!("    notify_backup \"{}\"\n", slow.display()),
    );
    let conf = Conf::v2(200);
    let takeover = conf.master_down_interval() + Duration::from_secs(5);

    lab.start_text(1, &r1, &[]);
    lab.start_text(2, &r2, &[]);
    // r1 wins and moves the address to itself (moved, then asserted again after --settle).
    let want1 = "ec2 assign-private-ip-addresses --network-interface-id eni-r1 \
                 --private-ip-addresses 10.0.1.10 --allow-reassignment";
    lab.wait_until(
        "r1's notify_master to move the address twice",
        takeover,
        || aws_calls(&calls1).len() >= 2,
    );
    if aws_calls(&calls1).iter().any(|c| c != want1) {
        lab.fail(&format!("r1 called aws with {:?}", aws_calls(&calls1)));
    }
    if !lab.log_text(1).contains("no virtual address") {
        // The warning is logged at start.
        lab.fail("r1 did not warn about its election-only instance");
    }

    // r1 crashes: r2 becomes master, but its notify_master waits behind the slow notify_backup;
    // r1 comes back and wins again before that script runs.
    lab.kill(1);
    lab.wait_until("r2 to become master", takeover, || {
        lab.instance_state(2).as_deref() == Some("MASTER")
    });
    lab.start_text(1, &r1, &[]);
    lab.wait_until(
        "r1's second mastership to move the address",
        takeover,
        || aws_calls(&calls1).len() >= 4,
    );
    lab.wait_until(
        "r2's late notify_master to find it is no longer master",
        Duration::from_secs(20),
        || {
            lab.log_text(2)
                .contains("not moving the address: the instance is BACKUP now")
        },
    );
    if !aws_calls(&calls2).is_empty() {
        lab.fail(&format!(
            "r2's late notify_master took the address back: {:?}",
            aws_calls(&calls2)
        ));
    }

    // A real failover to r2 now (its scripts are prompt): r2 moves the address.
    lab.kill(1);
    lab.wait_until(
        "r2's notify_master to move the address",
        takeover + Duration::from_secs(3),
        || aws_calls(&calls2).len() >= 2,
    );
    let want2 = want1.replace("eni-r1", "eni-r2");
    if aws_calls(&calls2).iter().any(|c| *c != want2) {
        lab.fail(&format!("r2 called aws with {:?}", aws_calls(&calls2)));
    }
}
