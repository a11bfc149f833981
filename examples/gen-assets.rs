//! Writes what the Debian package ships besides the binary, into the directory given (default
//! `target/assets`):
//!
//! - `keepvip.8`: the man page, from the clap definition `keepvip::cli::Cli` (clap_mangen) plus
//!   the commands, signals, files and exit status;
//! - `keepvip.conf.5`: the configuration reference, from the keyword tables of
//!   `keepvip::config::keywords` (the same tables README.md's keyword reference is checked
//!   against), grouped as the README groups them;
//! - `keepvip.bash`, `_keepvip`, `keepvip.fish`: shell completions (clap_complete);
//! - `keepvip.service`: `etc/keepvip.service` with the packaged binary's path, /usr/sbin.
//!
//! Run by `scripts/build-deb.sh` as `cargo run --example gen-assets -- target/assets`.
//! An example, not a binary, so that clap_mangen and clap_complete stay dev-dependencies and
//! out of the daemon's dependency tree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use keepvip::cli::Cli;
use keepvip::config::keywords::{self, Keyword, Support};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the unit in etc/ expects the binary (README's manual install) and where the package
/// puts it.
const MANUAL_BINARY: &str = "/usr/local/sbin/keepvip";
const PACKAGED_BINARY: &str = "/usr/sbin/keepvip";

/// The tables of keywords.rs with the man page's heading for each, in the README's order.
/// `check_tables` fails the build when keywords.rs gains a table that is not listed here.
const TABLES: &[(&str, &str, &[Keyword])] = &[
    ("ROOT", "Top level", keywords::ROOT),
    ("GLOBAL_DEFS", "global_defs", keywords::GLOBAL_DEFS),
    ("INSTANCE", "vrrp_instance", keywords::INSTANCE),
    (
        "VIP_OPTIONS",
        "virtual_ipaddress and virtual_ipaddress_excluded options",
        keywords::VIP_OPTIONS,
    ),
    (
        "ROUTE_OPTIONS",
        "virtual_routes and static_routes options",
        keywords::ROUTE_OPTIONS,
    ),
    (
        "RULE_OPTIONS",
        "virtual_rules and static_rules options",
        keywords::RULE_OPTIONS,
    ),
    (
        "AUTHENTICATION",
        "authentication (in vrrp_instance)",
        keywords::AUTHENTICATION,
    ),
    (
        "UNICAST_PEER_OPTIONS",
        "unicast_peer options",
        keywords::UNICAST_PEER_OPTIONS,
    ),
    ("VRRP_SCRIPT", "vrrp_script", keywords::VRRP_SCRIPT),
    (
        "TRACK_FILE",
        "track_file and vrrp_track_file",
        keywords::TRACK_FILE,
    ),
    ("SYNC_GROUP", "vrrp_sync_group", keywords::SYNC_GROUP),
];

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/assets"), PathBuf::from);
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gen-assets: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path) -> Result<(), String> {
    check_tables()?;
    fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    write(&dir.join("keepvip.8"), &keepvip_8()?)?;
    write(&dir.join("keepvip.conf.5"), &keepvip_conf_5())?;
    for (shell, name) in [
        (Shell::Bash, "keepvip.bash"),
        (Shell::Zsh, "_keepvip"),
        (Shell::Fish, "keepvip.fish"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "keepvip", &mut out);
        write(&dir.join(name), &String::from_utf8_lossy(&out))?;
    }
    write(&dir.join("keepvip.service"), &packaged_unit()?)?;
    println!("{}", dir.display());
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// keywords.rs's tables must all be in TABLES (as tests/config_corpus.rs checks for the README).
fn check_tables() -> Result<(), String> {
    let path = Path::new(MANIFEST_DIR).join("src/config/keywords.rs");
    let source = fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    for name in source
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split_once(": &[Keyword]"))
        .map(|(name, _)| name)
    {
        if !TABLES.iter().any(|(table, _, _)| *table == name) {
            return Err(format!(
                "src/config/keywords.rs has a table {name} that examples/gen-assets.rs's TABLES \
                 lacks: add it, so that keepvip.conf(5) lists its keywords"
            ));
        }
    }
    Ok(())
}

/// The unit as packaged: the binary in /usr/sbin, and the man pages in Documentation=.
fn packaged_unit() -> Result<String, String> {
    let path = Path::new(MANIFEST_DIR).join("etc/keepvip.service");
    let unit = fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    if !unit.contains(MANUAL_BINARY) {
        return Err(format!(
            "{} no longer runs {MANUAL_BINARY}: update gen-assets' packaged_unit",
            path.display()
        ));
    }
    Ok(unit.replace(MANUAL_BINARY, PACKAGED_BINARY).replace(
        "Documentation=man:keepalived.conf(5)",
        "Documentation=man:keepvip(8) man:keepvip.conf(5) man:keepalived.conf(5)",
    ))
}

fn paragraph(roff: &mut Roff, text: impl Into<Vec<Inline>>) {
    roff.control("PP", []);
    roff.text(text);
}

/// `.TP`: a tag and its indented body.
fn item(roff: &mut Roff, tag: impl Into<Vec<Inline>>, body: impl Into<Vec<Inline>>) {
    roff.control("TP", []);
    roff.text(tag);
    roff.text(body);
}

/// keepvip(8): clap_mangen's sections, with the commands written out in this page (clap_mangen
/// would point at a page per command), then signals, files, exit status and see also.
fn keepvip_8() -> Result<String, String> {
    let mut command = Cli::command();
    // Built, as clap_mangen builds it: help and the global options are then in place (and
    // filtered out of the commands below).
    command.build();
    let man = clap_mangen::Man::new(command.clone())
        .section("8")
        .source(format!("keepvip {VERSION}"))
        .manual("System Administration");
    let mut out = Vec::new();
    let rendered = man
        .render_title(&mut out)
        .and_then(|()| man.render_name_section(&mut out))
        .and_then(|()| man.render_synopsis_section(&mut out))
        .and_then(|()| man.render_description_section(&mut out));
    rendered.map_err(|e| format!("render keepvip.8: {e}"))?;

    let mut roff = Roff::new();
    paragraph(
        &mut roff,
        [roman(
            "Without a command, keepvip runs the agent: it reads the configuration, runs \
             every VRRP instance of it (VRRPv2, RFC 3768, and VRRPv3, RFC 9568), installs the \
             virtual addresses while master and announces them with gratuitous ARP or \
             unsolicited Neighbor Advertisements, and runs the notify scripts on every state \
             change. It stays in the foreground and logs to stderr. It needs CAP_NET_RAW and \
             CAP_NET_ADMIN. With a command, keepvip asks the agent of --run-dir through its \
             control socket.",
        )],
    );
    roff.to_writer(&mut out)
        .map_err(|e| format!("render keepvip.8: {e}"))?;
    man.render_options_section(&mut out)
        .map_err(|e| format!("render keepvip.8: {e}"))?;

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    let shown = |arg: &&clap::Arg| {
        !arg.is_hide_set()
            && !arg.is_global_set()
            && !["help", "version"].contains(&arg.get_id().as_str())
    };
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let mut tag = vec![bold(format!("keepvip {}", sub.get_name()))];
        for arg in sub.get_arguments().filter(shown) {
            tag.push(roman(" "));
            let (open, close) = if arg.is_required_set() {
                ("", "")
            } else {
                ("[", "]")
            };
            if arg.is_positional() {
                let name = arg
                    .get_value_names()
                    .and_then(|names| names.first())
                    .map_or_else(|| arg.get_id().as_str().to_uppercase(), |n| n.to_string());
                tag.extend([roman(open), italic(name), roman(close)]);
            } else if let Some(long) = arg.get_long() {
                tag.extend([roman(open), bold(format!("--{long}")), roman(close)]);
            }
        }
        roff.control("TP", []);
        roff.text(tag);
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        roff.text([roman(about)]);
        let args: Vec<_> = sub.get_arguments().filter(shown).collect();
        if !args.is_empty() {
            roff.control("RS", []);
            for arg in args {
                let name = match arg.get_long() {
                    Some(long) => bold(format!("--{long}")),
                    None => italic(arg.get_id().as_str().to_uppercase()),
                };
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                roff.control("TP", []);
                roff.text([name]);
                roff.text([roman(help)]);
            }
            roff.control("RE", []);
        }
    }

    roff.control("SH", ["SIGNALS"]);
    let signals = [
        (
            "SIGTERM, SIGINT",
            "Every master sends a priority-0 advert and removes its virtual addresses, \
             notify_stop runs, and keepvip exits 0.",
        ),
        (
            "SIGHUP",
            "Re-read the configuration (as keepvip reload). If it has errors, keepvip logs each \
             and keeps running the previous one; otherwise the changes are applied without \
             disturbing unchanged instances.",
        ),
        ("SIGUSR1", "Log each instance's state, priority and master."),
        ("SIGUSR2", "Log each instance's counters."),
    ];
    for (signal, what) in signals {
        item(&mut roff, [bold(signal)], [roman(what)]);
    }

    roff.control("SH", ["FILES"]);
    let files = [
        (
            "/etc/keepvip/keepvip.conf",
            "The configuration (-f), in keepalived.conf syntax; see keepvip.conf(5).",
        ),
        (
            "/etc/keepvip/keepvip-backup.conf, /etc/keepvip/notify.sh",
            "The example pair's backup side and its notify script.",
        ),
        (
            "/run/keepvip/keepvip.pid, /run/keepvip/keepvip.sock",
            "The pid file and the control socket (mode 0600) of the agent of --run-dir.",
        ),
        (
            "/lib/systemd/system/keepvip.service",
            "The systemd unit: checks the configuration before every start; systemctl reload \
             sends SIGHUP. The package neither enables nor starts it.",
        ),
        (
            "/usr/share/doc/keepvip/",
            "README.md (the full manual), the examples, and keepvip-grafana.json, a Grafana \
             dashboard for the metrics.",
        ),
    ];
    for (file, what) in files {
        item(&mut roff, [italic(file)], [roman(what)]);
    }

    roff.control("SH", ["EXIT STATUS"]);
    paragraph(
        &mut roff,
        [roman(
            "0 when the agent stopped on SIGTERM or SIGINT, or a check or command succeeded; \
             1 on configuration errors (with -t, or at start), when a command fails, or when \
             the agent stops on an error.",
        )],
    );

    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("keepvip.conf"),
        roman("(5), "),
        bold("keepalived"),
        roman("(8), "),
        bold("keepalived.conf"),
        roman("(5), "),
        bold("systemctl"),
        roman("(1)"),
    ]);
    roff.to_writer(&mut out)
        .map_err(|e| format!("render keepvip.8: {e}"))?;
    man.render_version_section(&mut out)
        .map_err(|e| format!("render keepvip.8: {e}"))?;
    String::from_utf8(out).map_err(|e| format!("keepvip.8 is not UTF-8: {e}"))
}

/// The words of `keywords`, bold and separated by commas.
fn keyword_list(keywords: &[&Keyword]) -> Vec<Inline> {
    let mut out = Vec::new();
    for (i, keyword) in keywords.iter().enumerate() {
        if i > 0 {
            out.push(roman(", "));
        }
        out.push(bold(keyword.name));
    }
    out
}

/// keepvip.conf(5): the syntax in short and every keyword of every block with keepvip's
/// decision (the ignored ones with the reason their warning gives).
fn keepvip_conf_5() -> String {
    let mut roff = Roff::new();
    roff.control(
        "TH",
        [
            "KEEPVIP.CONF",
            "5",
            "",
            &format!("keepvip {VERSION}"),
            "File Formats",
        ],
    );
    // Keyword names are long and full of underscores: no hyphenation, no justification.
    roff.control("nh", []);
    roff.control("ad", ["l"]);
    roff.control("SH", ["NAME"]);
    roff.text([roman(
        "keepvip.conf - configuration of keepvip, the VRRP agent, in keepalived.conf syntax",
    )]);
    roff.control("SH", ["SYNOPSIS"]);
    roff.text([italic("/etc/keepvip/keepvip.conf")]);

    roff.control("SH", ["DESCRIPTION"]);
    paragraph(
        &mut roff,
        [
            bold("keepvip"),
            roman("(8) reads the VRRP half of "),
            bold("keepalived.conf"),
            roman(
                "(5): the same syntax, keywords, defaults and meanings, so that an existing \
                 keepalived.conf works as long as it uses only keywords that keepvip \
                 implements or ignores (listed below).",
            ),
        ],
    );
    paragraph(
        &mut roff,
        [roman(
            "A file is a sequence of keywords, each with its values on one line, and blocks \
             (keyword, optional name, then { ... }). Comments start with # or ! and run to the \
             end of the line; strings with blanks are quoted. include PATTERN splices in other \
             files (glob patterns, relative to the including file). keepalived's preprocessor \
             works as in keepalived 2.2: conditional lines @ID ... and @^ID ... (see keepvip \
             -i), $NAME=value definitions used as $NAME or ${NAME}, and the line generators \
             ~SEQ(...) and ~LST(...).",
        )],
    );
    paragraph(
        &mut roff,
        [
            bold("keepvip -t -f FILE"),
            roman(
                " checks a file and prints every error and warning as \
                 file:line:column: error|warning: block > keyword: message; ",
            ),
            bold("keepvip -t --dump"),
            roman(
                " also prints the configuration as keepvip understood it, after the preprocessor.",
            ),
        ],
    );
    paragraph(
        &mut roff,
        [roman(
            "keepvip's own keywords: vip_lease in vrrp_instance and vrrp_vip_lease in \
             global_defs (virtual addresses are installed with a lease, renewed while master, \
             so that they expire by themselves when the agent dies; 0 = permanent), \
             garp_interval and gna_interval in vrrp_instance, v3_checksum_as_v2, and \
             check_unicast_src / vrrp_check_unicast_src off (they are on by default in \
             keepvip). /usr/share/doc/keepvip/README.md describes every keyword's meaning and \
             each difference from keepalived.",
        )],
    );

    roff.control("SH", ["KEYWORDS"]);
    paragraph(
        &mut roff,
        [roman(
            "Every keyword keepalived 2.2 accepts in the blocks keepvip reads, and keepvip's \
             own, by block, with keepvip's decision. Implemented: as in keepalived. Ignored \
             with a warning: it does not change VRRP behaviour; the warning gives the reason. \
             Error (not supported yet): keepalived would behave differently with it, so the \
             file is refused. A keyword listed nowhere is unknown: an error, with the closest \
             keyword of the block suggested when it looks like a typo.",
        )],
    );
    for &(_, heading, table) in TABLES {
        roff.control("SS", [heading]);
        let implemented: Vec<&Keyword> = table
            .iter()
            .filter(|k| k.support == Support::Implemented)
            .collect();
        let unsupported: Vec<&Keyword> = table
            .iter()
            .filter(|k| k.support == Support::Unsupported)
            .collect();
        if !implemented.is_empty() {
            item(&mut roff, [bold("Implemented")], keyword_list(&implemented));
        }
        // The ignored ones grouped by the reason their warning gives, in table order.
        let mut reasons: Vec<&str> = Vec::new();
        for keyword in table {
            if let Support::Ignored(why) = keyword.support {
                if !reasons.contains(&why) {
                    reasons.push(why);
                }
            }
        }
        if !reasons.is_empty() {
            roff.control("TP", []);
            roff.text([bold("Ignored with a warning")]);
            roff.control("RS", []);
            for why in reasons {
                let words: Vec<&Keyword> = table
                    .iter()
                    .filter(|k| k.support == Support::Ignored(why))
                    .collect();
                roff.control("TP", []);
                roff.text(keyword_list(&words));
                roff.text([roman(format!("{why}."))]);
            }
            roff.control("RE", []);
        }
        if !unsupported.is_empty() {
            item(
                &mut roff,
                [bold("Error (not supported yet)")],
                keyword_list(&unsupported),
            );
        }
    }

    roff.control("SH", ["EXAMPLE"]);
    paragraph(
        &mut roff,
        [roman(
            "The master of a pair, /etc/keepvip/keepvip.conf as packaged (its backup is \
             keepvip-backup.conf):",
        )],
    );
    roff.control("PP", []);
    roff.control("nf", []);
    roff.control("RS", ["4"]);
    for line in include_str!("../etc/keepvip.conf").lines() {
        roff.text([roman(line)]);
    }
    roff.control("RE", []);
    roff.control("fi", []);

    roff.control("SH", ["FILES"]);
    item(
        &mut roff,
        [italic("/etc/keepvip/keepvip.conf")],
        [roman("The configuration the packaged systemd unit runs.")],
    );
    item(
        &mut roff,
        [italic("/usr/share/doc/keepvip/examples/")],
        [roman(
            "The example pair (keepvip.conf, keepvip-backup.conf), notify.sh and the Grafana \
             dashboard.",
        )],
    );

    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("keepvip"),
        roman("(8), "),
        bold("keepalived.conf"),
        roman("(5)"),
    ]);
    roff.render()
}
