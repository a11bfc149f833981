//! `keepvip --config-test` / `-t`: exit codes and diagnostics in the
//! `path:line:col: error|warning: message` form. Runs without namespaces or privileges.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use support::KEEPVIP;

/// A config file in a directory of its own, removed on drop.
struct ConfFile {
    dir: PathBuf,
    path: PathBuf,
}

impl ConfFile {
    fn new(name: &str, text: &str) -> ConfFile {
        let dir = std::env::temp_dir().join(format!(
            "keepvip-e2e-conftest-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the config directory");
        let path = dir.join("keepalived.conf");
        std::fs::write(&path, text).expect("write the config");
        ConfFile { dir, path }
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for ConfFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the config test; returns the exit code and stdout + stderr.
fn config_test(flag: &str, conf: &ConfFile) -> (Option<i32>, String) {
    let out = Command::new(KEEPVIP)
        .args([flag, "-f"])
        .arg(&conf.path)
        .stdin(Stdio::null())
        .output()
        .expect("run keepvip");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

const GOOD: &str = "\
global_defs {
    vrrp_version 3
    vrrp_garp_master_delay 1
}

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
    vip_lease 3
    nopreempt
}
";

#[test]
fn config_test_accepts_a_good_file() {
    let conf = ConfFile::new("good", GOOD);
    for flag in ["-t", "--config-test"] {
        let (code, text) = config_test(flag, &conf);
        assert_eq!(
            code,
            Some(0),
            "keepvip {flag} on a good file must exit 0; output:\n{text}"
        );
        assert!(
            !text.contains(": error:"),
            "keepvip {flag} reported errors on a good file:\n{text}"
        );
    }
}

#[test]
fn config_test_suggests_the_keyword_meant() {
    // `priorty` sits at line 10, column 5.
    let conf = ConfFile::new(
        "typo",
        &GOOD.replace("    priority 200\n", "    priorty 200\n"),
    );
    let (code, text) = config_test("--config-test", &conf);
    let expected = format!(
        "{}:10:5: error: vrrp_instance VI_1 > priorty: unknown keyword, did you mean 'priority'?",
        conf.shown()
    );
    assert!(
        text.lines().any(|line| line == expected),
        "missing the diagnostic line\n  {expected}\nin the output:\n{text}"
    );
    assert!(
        matches!(code, Some(c) if c != 0),
        "exit code {code:?}; an error must exit non-zero. Output:\n{text}"
    );
}

#[test]
fn config_test_rejects_a_vrid_out_of_range() {
    // `virtual_router_id 256` sits at line 9; its value starts at column 23.
    let conf = ConfFile::new(
        "vrid",
        &GOOD.replace("virtual_router_id 51", "virtual_router_id 256"),
    );
    let (code, text) = config_test("-t", &conf);
    let prefix = format!("{}:9:23: error: ", conf.shown());
    let line = text.lines().find(|line| line.starts_with(&prefix));
    let Some(line) = line else {
        panic!("no diagnostic starting with {prefix:?} (the out-of-range value) in the output:\n{text}");
    };
    for needed in ["virtual_router_id", "256", "255"] {
        assert!(
            line.contains(needed),
            "the diagnostic should mention {needed:?} (the keyword, the value, the limit): {line}"
        );
    }
    assert!(
        matches!(code, Some(c) if c != 0),
        "exit code {code:?}; an error must exit non-zero. Output:\n{text}"
    );
}

#[test]
fn config_test_warns_that_lvs_blocks_are_ignored() {
    // An LVS block (keepalived's other half) at line 19: accepted with a warning, never silently.
    let text_in =
        format!("{GOOD}\nvirtual_server 192.0.2.100 80 {{\n    delay_loop 6\n    lb_algo rr\n}}\n");
    let conf = ConfFile::new("lvs", &text_in);
    let (code, text) = config_test("-t", &conf);
    let prefix = format!("{}:19:1: warning: ", conf.shown());
    assert!(
        text.lines()
            .any(|line| line.starts_with(&prefix) && line.contains("virtual_server")),
        "no warning starting with {prefix:?} that names virtual_server in the output:\n{text}"
    );
    assert_eq!(code, Some(0), "warnings alone must exit 0; output:\n{text}");
}

/// Without CAP_NET_RAW and CAP_NET_ADMIN the agent refuses to start with one clear line (no
/// backtrace), before it touches any interface. `setpriv` (util-linux) drops both from the
/// bounding set, so even root lacks them after exec.
#[test]
fn starting_without_net_capabilities_is_one_clear_error() {
    let conf = ConfFile::new(
        "caps",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  \
         virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n",
    );
    let run_dir = conf.dir.join("run");
    let out = Command::new("setpriv")
        .args([
            "--bounding-set=-net_raw,-net_admin",
            "--inh-caps=-net_raw,-net_admin",
        ])
        .arg(KEEPVIP)
        .arg("-f")
        .arg(&conf.path)
        .arg("--run-dir")
        .arg(&run_dir)
        .stdin(Stdio::null())
        .output()
        .expect("setpriv (util-linux) must be installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{text}");
    assert!(
        lines[0].contains("CAP_NET_RAW") || lines[0].contains("CAP_NET_ADMIN"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn config_id_and_dump_show_the_preprocessed_configuration() {
    let conf = ConfFile::new(
        "preproc",
        "@a $PRIO=150\n@^a $PRIO=100\n\
         vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority $PRIO\n  \
         virtual_ipaddress {\n    ~SEQ(N, 2) 192.0.2.$N\n  }\n}\n",
    );
    let run = |id: &str| {
        let out = Command::new(KEEPVIP)
            .args(["-t", "--dump", "-i", id, "-f"])
            .arg(&conf.path)
            .stdin(Stdio::null())
            .output()
            .expect("run keepvip");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let dumped = |priority: u8| {
        format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
             virtual_ipaddress {{\n    192.0.2.1\n    192.0.2.2\n  }}\n}}\n"
        )
    };
    assert_eq!(run("a"), (Some(0), dumped(150)));
    assert_eq!(run("b"), (Some(0), dumped(100)));
    // --dump is for -t only.
    let out = Command::new(KEEPVIP)
        .args(["--dump", "-f"])
        .arg(&conf.path)
        .stdin(Stdio::null())
        .output()
        .expect("run keepvip");
    assert_eq!(out.status.code(), Some(2));
}
