//! keepvip: the VRRP agent's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use nix::sys::signalfd::{SfdFlags, SignalFd};

use keepvip::daemon::{self, Options};

/// A VRRP (v2/v3) agent for Linux that reads keepalived.conf.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Configuration file (keepalived.conf syntax).
    #[arg(
        short = 'f',
        long = "config",
        default_value = "/etc/keepvip/keepvip.conf"
    )]
    config: PathBuf,

    /// Check the configuration, print every error and warning, and exit (non-zero on errors).
    #[arg(short = 't', long = "config-test")]
    config_test: bool,

    /// With -t: first print the configuration as keepvip understood it, after keepalived's
    /// preprocessing (@ID lines, $NAME definitions, ~SEQ/~LST, includes), to stdout.
    #[arg(long = "dump", requires = "config_test")]
    dump: bool,

    /// keepalived's config id: `@ID` lines of the configuration are kept only when ID matches,
    /// `@^ID` lines only when it does not, and `${_INSTANCE}` is replaced by it. Default: the
    /// host name up to its first '.', as in keepalived.
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    config_id: Option<String>,

    /// Directory for the pid file and other runtime files; one per agent.
    #[arg(long = "run-dir", default_value = "/run/keepvip")]
    run_dir: PathBuf,

    /// Log level: error, warn, info, debug or trace (RUST_LOG, if set, takes precedence).
    #[arg(short = 'l', long = "log-level", default_value = "info")]
    log_level: log::LevelFilter,
}

fn main() -> ExitCode {
    // Before anything else (and before any thread exists): the handled signals are read from a
    // signalfd, so they must never be delivered the classic way. Children get a clean mask.
    let signals = daemon::handled_signals();
    if let Err(e) = signals.thread_block() {
        eprintln!("keepvip: cannot block signals: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    let mut logger = env_logger::Builder::new();
    logger.filter_level(cli.log_level);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        logger.parse_filters(&spec);
    }
    logger.format_target(false).init();

    let load = keepvip::config::LoadOptions {
        config_id: match cli.config_id {
            Some(id) => Some(id),
            None => host_config_id(),
        },
    };
    if cli.config_test {
        if cli.dump {
            print!("{}", keepvip::config::dump(&cli.config, &load));
        }
        return if daemon::config_test(&cli.config, &load) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let signal_fd =
        match SignalFd::with_flags(&signals, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC) {
            Ok(fd) => fd,
            Err(e) => {
                eprintln!("keepvip: cannot create a signalfd: {e}");
                return ExitCode::FAILURE;
            }
        };
    let options = Options {
        config: cli.config,
        run_dir: cli.run_dir,
        load,
    };
    match daemon::run(&options, signal_fd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            log::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// keepalived's default config id: the node name (uname) up to its first '.'.
fn host_config_id() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    keepvip::config::default_config_id(&name)
}
