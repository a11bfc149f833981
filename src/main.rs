//! keepvip: the VRRP agent's command line.

use std::process::ExitCode;

use clap::Parser;
use nix::sys::signalfd::{SfdFlags, SignalFd};

use keepvip::cli::Cli;
use keepvip::daemon::{self, Options};

fn main() -> ExitCode {
    // Before anything else (and before any thread exists): the handled signals are read from a
    // signalfd, so they must never be delivered the classic way. Children get a clean mask.
    // (Parsing starts no thread.) The client commands keep the default signal handling.
    let cli = Cli::parse();
    if let Some(function) = &cli.signum {
        return match keepvip::cli::signal_number(function) {
            Ok(number) => {
                println!("{number}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("keepvip: {message}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(command) = &cli.command {
        return keepvip::cli::run_client(command, &cli.run_dir);
    }
    let signals = daemon::handled_signals();
    if let Err(e) = signals.thread_block() {
        eprintln!("keepvip: cannot block signals: {e}");
        return ExitCode::FAILURE;
    }
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
        metrics_listen: cli.metrics_listen,
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
