//! The Debian package: `scripts/build-deb.sh` builds it, `dpkg -i` installs it on this host, the
//! files are checked (binary, unit, conffiles, man pages, completions), `keepvip --version` and
//! `keepvip -t` run from /usr/sbin, no agent is started, and `dpkg --purge` removes everything.
//!
//! Needs root (dpkg installs into /): without it the test fails, it never skips. It refuses to
//! run if a keepvip package is installed or any file the package ships already exists (it would
//! clobber or later purge an operator's files), and a guard purges the package on every exit
//! path, so the host is left as it was found. One test function: it runs a release build and
//! installs into the host's own root, so it must not run twice at once.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const PACKAGE: &str = "keepvip";
const BINARY: &str = "/usr/sbin/keepvip";
const CONFIG: &str = "/etc/keepvip/keepvip.conf";
const UNIT: &str = "/lib/systemd/system/keepvip.service";

/// The conffiles, exactly: everything the package puts under /etc.
const CONFFILES: &[&str] = &[
    "/etc/keepvip/cloud/move-address.sh",
    "/etc/keepvip/keepvip-backup.conf",
    "/etc/keepvip/keepvip.conf",
    "/etc/keepvip/notify.sh",
];

/// Files the package must ship (besides the conffiles and the binary).
const SHIPPED: &[&str] = &[
    UNIT,
    "/usr/share/man/man8/keepvip.8.gz",
    "/usr/share/man/man5/keepvip.conf.5.gz",
    "/usr/share/bash-completion/completions/keepvip",
    "/usr/share/zsh/vendor-completions/_keepvip",
    "/usr/share/fish/vendor_completions.d/keepvip.fish",
    "/usr/share/doc/keepvip/copyright",
    "/usr/share/doc/keepvip/README.md",
    "/usr/share/doc/keepvip/examples/keepvip.conf",
    "/usr/share/doc/keepvip/examples/keepvip-backup.conf",
    "/usr/share/doc/keepvip/examples/notify.sh",
    "/usr/share/doc/keepvip/examples/keepvip-grafana.json",
    "/usr/share/doc/keepvip/examples/keepvip-cloud.conf",
];

/// Directories only this package uses: gone after the purge.
const OWN_DIRS: &[&str] = &["/etc/keepvip", "/usr/share/doc/keepvip"];

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a command to completion, stdin closed, within `limit` (killed after it: a check that
/// hangs must fail, not stall CI).
fn run(program: &str, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    // Read both pipes on threads, so that a chatty command cannot block on a full pipe.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{program} {args:?} did not finish within {limit:?}");
            }
            Err(e) => panic!("waiting for {program}: {e}"),
        }
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

fn ok(program: &str, args: &[&str], limit: Duration) -> String {
    let out = run(program, args, limit);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}",
        out.status,
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const QUICK: Duration = Duration::from_secs(60);

/// dpkg's idea of the package: `None` when it knows nothing of it.
fn package_status() -> Option<String> {
    let out = run(
        "dpkg-query",
        &["--showformat=${Status}", "--show", PACKAGE],
        QUICK,
    );
    let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !status.is_empty() && !status.ends_with("not-installed"))
        .then_some(status)
}

/// Processes running the installed binary (an agent the package would have started). Agents of
/// other tests run from target/, not from /usr/sbin.
fn packaged_agents() -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(exe) = fs::read_link(entry.path().join("exe")) {
            if exe.to_string_lossy().starts_with(BINARY) {
                found.push(format!("pid {pid} ({})", exe.display()));
            }
        }
    }
    found
}

/// Purges the package when dropped, also while unwinding from a failed check, so that the host
/// is left as it was found.
struct Installed {
    purged: bool,
}

impl Installed {
    fn purge(&mut self) -> String {
        self.purged = true;
        ok("dpkg", &["--purge", PACKAGE], Duration::from_secs(300))
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.purged {
            let out = run("dpkg", &["--purge", PACKAGE], Duration::from_secs(300));
            if !out.status.success() {
                eprintln!(
                    "e2e_package: dpkg --purge {PACKAGE} failed; remove it by hand:\n{}",
                    text(&out)
                );
            }
        }
    }
}

/// Builds the package with the one command the README gives; returns its path.
fn build() -> PathBuf {
    let script = Path::new(MANIFEST_DIR).join("scripts/build-deb.sh");
    let script = script.to_string_lossy().into_owned();
    // A release build on two shared cores: minutes, not hours.
    let out = run(&script, &[], Duration::from_secs(45 * 60));
    let log = text(&out);
    let tail: Vec<&str> = log.lines().rev().take(40).collect();
    assert!(
        out.status.success(),
        "scripts/build-deb.sh failed ({}):\n{}",
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    assert!(
        path.is_file() && path.extension().is_some_and(|e| e == "deb"),
        "scripts/build-deb.sh should print the .deb's path last, printed:\n{stdout}"
    );
    path
}

/// The regular files (and symlinks) in the package, as absolute paths.
fn files_of(deb: &str) -> BTreeSet<String> {
    ok("dpkg-deb", &["--contents", deb], QUICK)
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').to_string())
        .collect()
}

/// A gzip'd man page must render without a single warning.
fn check_man_page(path: &str, must_contain: &[&str]) {
    let roff = ok("gzip", &["-dc", path], QUICK);
    // roff writes a minus as `\-`.
    let source = roff.replace("\\-", "-");
    for word in must_contain {
        assert!(source.contains(word), "{path} does not mention `{word}`");
    }
    let plain =
        std::env::temp_dir().join(format!("keepvip-e2e-package-{}.man", std::process::id()));
    fs::write(&plain, &roff).unwrap_or_else(|e| panic!("write {}: {e}", plain.display()));
    let shown = plain.to_string_lossy().into_owned();
    let out = run("groff", &["-ww", "-z", "-man", "-Tutf8", &shown], QUICK);
    let _ = fs::remove_file(&plain);
    assert!(
        out.status.success() && text(&out).trim().is_empty(),
        "{path} does not render cleanly:\n{}",
        text(&out)
    );
}

#[test]
fn the_package_installs_runs_the_config_test_and_purges_cleanly() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test installs a Debian package into / and needs root (it does not skip); run it \
         as root, as scripts/test.sh does"
    );
    if let Some(status) = package_status() {
        panic!(
            "a {PACKAGE} package is already installed here ({status}); this test installs and \
             purges its own and will not touch it: remove it first (dpkg --purge {PACKAGE})"
        );
    }
    let agents_before = packaged_agents();
    assert!(
        agents_before.is_empty(),
        "{BINARY} already runs: {agents_before:?}"
    );

    let deb = build();
    let deb = deb.to_string_lossy().into_owned();
    let fields = ok(
        "dpkg-deb",
        &["--showformat=${Package} ${Version}", "--show", &deb],
        QUICK,
    );
    assert_eq!(fields.trim(), format!("{PACKAGE} {VERSION}-1"), "{deb}");
    let files = files_of(&deb);
    let mut expected: Vec<&str> = vec![BINARY];
    expected.extend_from_slice(CONFFILES);
    expected.extend_from_slice(SHIPPED);
    for file in &expected {
        assert!(
            files.contains(*file),
            "{deb} lacks {file}; it has {files:#?}"
        );
    }
    // Installing over an operator's files would overwrite them, and the purge would delete them.
    let existing: Vec<&String> = files.iter().filter(|f| Path::new(f).exists()).collect();
    assert!(
        existing.is_empty(),
        "files the package ships already exist here (a manual install?); this test will not \
         overwrite them: {existing:?}"
    );
    let existing_dirs: Vec<&&str> = OWN_DIRS.iter().filter(|d| Path::new(d).exists()).collect();
    assert!(
        existing_dirs.is_empty(),
        "{existing_dirs:?} exist already; this test will not install into them"
    );

    let mut installed = Installed { purged: false };
    ok("dpkg", &["--install", &deb], Duration::from_secs(300));
    assert_eq!(
        package_status().as_deref(),
        Some("install ok installed"),
        "dpkg's status after dpkg -i"
    );

    // The files, as dpkg records them.
    let listed: BTreeSet<String> = ok("dpkg", &["--listfiles", PACKAGE], QUICK)
        .lines()
        .map(str::to_string)
        .collect();
    for file in &expected {
        assert!(listed.contains(*file), "dpkg -L {PACKAGE} lacks {file}");
        assert!(Path::new(file).is_file(), "{file} is not installed");
    }
    let mode = |path: &str| {
        fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or_else(|e| panic!("stat {path}: {e}"))
    };
    assert_eq!(mode(BINARY), 0o755, "{BINARY}");
    assert_eq!(mode("/etc/keepvip/notify.sh"), 0o755);
    assert_eq!(mode("/etc/keepvip/cloud/move-address.sh"), 0o755);
    assert_eq!(mode(CONFIG), 0o644);

    // Exactly the files under /etc are conffiles (" /etc/keepvip/keepvip.conf <md5>" lines).
    let conffiles: Vec<String> = ok(
        "dpkg-query",
        &["--showformat=${Conffiles}", "--show", PACKAGE],
        QUICK,
    )
    .lines()
    .filter_map(|l| l.split_whitespace().next())
    .map(str::to_string)
    .collect();
    let mut sorted = conffiles.clone();
    sorted.sort();
    assert_eq!(sorted, CONFFILES, "conffiles");
    for file in CONFFILES {
        let shipped = Path::new(MANIFEST_DIR)
            .join("etc")
            .join(file.strip_prefix("/etc/keepvip/").unwrap_or(file));
        let (installed_text, source) = (fs::read(file), fs::read(&shipped));
        assert!(
            matches!((&installed_text, &source), (Ok(a), Ok(b)) if a == b),
            "{file} differs from {}",
            shipped.display()
        );
    }

    // The unit runs the packaged binary on the packaged configuration, and nobody enabled it.
    let unit = fs::read_to_string(UNIT).unwrap_or_else(|e| panic!("read {UNIT}: {e}"));
    for line in [
        format!("ExecStartPre={BINARY} --config-test -f {CONFIG}"),
        format!("ExecStart={BINARY} -f {CONFIG} --run-dir /run/keepvip"),
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "{UNIT} lacks `{line}`:\n{unit}"
        );
    }
    assert!(!unit.contains("/usr/local"), "{UNIT}:\n{unit}");
    for wants in [
        "/etc/systemd/system/multi-user.target.wants/keepvip.service",
        "/lib/systemd/system/multi-user.target.wants/keepvip.service",
    ] {
        assert!(
            fs::symlink_metadata(wants).is_err(),
            "the package enabled the service: {wants} exists"
        );
    }
    let maintainer_scripts = ["postinst", "prerm", "postrm", "preinst"]
        .iter()
        .map(|s| format!("/var/lib/dpkg/info/{PACKAGE}.{s}"))
        .filter(|p| Path::new(p).exists())
        .collect::<Vec<_>>();
    assert!(
        maintainer_scripts.is_empty(),
        "the package has maintainer scripts (which could start the service): {maintainer_scripts:?}"
    );

    // Man pages and completions, generated from the CLI definition and the keyword tables.
    check_man_page(
        "/usr/share/man/man8/keepvip.8.gz",
        &["--config-test", "keepvip status", "SIGHUP", "keepvip.conf"],
    );
    check_man_page(
        "/usr/share/man/man5/keepvip.conf.5.gz",
        &[
            "vrrp_instance",
            "virtual_router_id",
            "unicast_peer",
            "keepvip",
        ],
    );
    let read = |path: &str| fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    assert!(read("/usr/share/bash-completion/completions/keepvip").contains("complete -F _keepvip"));
    assert!(read("/usr/share/zsh/vendor-completions/_keepvip").starts_with("#compdef keepvip"));
    assert!(
        read("/usr/share/fish/vendor_completions.d/keepvip.fish").contains("complete -c keepvip")
    );

    // The installed binary: its version, and the packaged configuration passes the check (-t
    // only parses; it starts no agent).
    let version = ok(BINARY, &["--version"], QUICK);
    assert_eq!(version.trim(), format!("keepvip {VERSION}"));
    let out = run(BINARY, &["-t", "-f", CONFIG], QUICK);
    assert!(
        out.status.success() && text(&out).contains(&format!("{CONFIG}: configuration OK")),
        "{BINARY} -t -f {CONFIG} ({}):\n{}",
        out.status,
        text(&out)
    );
    // Without -f: the command line's default is the file the package ships.
    let out = run(BINARY, &["-t"], QUICK);
    assert!(
        out.status.success() && text(&out).contains(&format!("{CONFIG}: configuration OK")),
        "{BINARY} -t (the default configuration) ({}):\n{}",
        out.status,
        text(&out)
    );
    let agents = packaged_agents();
    assert!(agents.is_empty(), "an agent runs after install: {agents:?}");

    // Purge: every file, conffiles included, and the package's own directories are gone.
    installed.purge();
    assert_eq!(
        package_status(),
        None,
        "dpkg still knows {PACKAGE} after the purge"
    );
    let left: Vec<&String> = files
        .iter()
        .filter(|f| fs::symlink_metadata(f).is_ok())
        .collect();
    assert!(left.is_empty(), "left after dpkg --purge: {left:?}");
    let left_dirs: Vec<&&str> = OWN_DIRS.iter().filter(|d| Path::new(d).exists()).collect();
    assert!(
        left_dirs.is_empty(),
        "left after dpkg --purge: {left_dirs:?}"
    );
    let agents = packaged_agents();
    assert!(
        agents.is_empty(),
        "an agent runs after the purge: {agents:?}"
    );
}
