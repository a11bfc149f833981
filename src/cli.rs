//! The command line: the agent's options and the client commands that talk to a running agent
//! through its control socket. Here (not in main.rs) so that the man page and completions can
//! be generated from the same definition.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::status::client::Connection;
use crate::status::protocol::Command;
use crate::status::table;

/// A VRRP (v2/v3) agent for Linux that reads keepalived.conf.
#[derive(Parser, Debug)]
#[command(name = "keepvip", version, about)]
pub struct Cli {
    /// Configuration file (keepalived.conf syntax).
    #[arg(
        short = 'f',
        long = "config",
        default_value = "/etc/keepvip/keepvip.conf"
    )]
    pub config: PathBuf,

    /// Check the configuration, print every error and warning, and exit (non-zero on errors).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,

    /// With -t: first print the configuration as keepvip understood it, after keepalived's
    /// preprocessing (@ID lines, $NAME definitions, ~SEQ/~LST, includes), to stdout.
    #[arg(long = "dump", requires = "config_test")]
    pub dump: bool,

    /// keepalived's config id: `@ID` lines of the configuration are kept only when ID matches,
    /// `@^ID` lines only when it does not, and `${_INSTANCE}` is replaced by it. Default: the
    /// host name up to its first '.', as in keepalived.
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Directory for the pid file and the control socket; one per agent. The client commands
    /// find the agent there.
    #[arg(long = "run-dir", default_value = "/run/keepvip", global = true)]
    pub run_dir: PathBuf,

    /// Log level: error, warn, info, debug or trace (RUST_LOG, if set, takes precedence).
    #[arg(short = 'l', long = "log-level", default_value = "info")]
    pub log_level: log::LevelFilter,

    /// Serve Prometheus metrics over HTTP at ADDR:PORT (GET /metrics). Off by default; bind it
    /// to loopback or a management network.
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Print the number of the signal that asks for SIGFUNC (STOP, RELOAD, DATA, STATS or JSON)
    /// and exit, as `keepalived --signum` does, for exporters that signal the agent.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,

    #[command(subcommand)]
    pub command: Option<ClientCommand>,
}

/// `keepvip --signum=SIGFUNC`: the signal for each of keepalived's functions that keepvip has.
pub fn signal_number(function: &str) -> Result<i32, String> {
    match function.to_ascii_uppercase().as_str() {
        "STOP" => Ok(nix::libc::SIGTERM),
        "RELOAD" => Ok(nix::libc::SIGHUP),
        "DATA" => Ok(nix::libc::SIGUSR1),
        "STATS" => Ok(nix::libc::SIGUSR2),
        "JSON" => Ok(crate::daemon::json_signal()),
        "STATS_CLEAR" => Err(
            "keepvip does not clear its counters (its Prometheus counters never go backwards); \
             SIGFUNC is one of STOP, RELOAD, DATA, STATS, JSON"
                .into(),
        ),
        _ => Err(format!(
            "unknown SIGFUNC '{function}': use STOP, RELOAD, DATA, STATS or JSON"
        )),
    }
}

/// Commands that ask the agent of `--run-dir` (without one, keepvip runs the agent).
#[derive(Subcommand, Debug, Clone)]
pub enum ClientCommand {
    /// Show every instance (or one, in full) as the running agent sees it.
    Status {
        /// Show only this instance, every field.
        instance: Option<String>,
        /// Print the snapshot as JSON (the stable format of the README).
        #[arg(long)]
        json: bool,
    },
    /// Follow the agent: one line per state transition, as it happens.
    Events {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Ask the agent to reload its configuration and print what changed (or every error).
    Reload,
    /// Print the agent's metrics in Prometheus text format (for node_exporter's textfile
    /// collector).
    Metrics,
    /// Start the availability figures (outages, MTBF, MTTR, R) afresh, for every instance or
    /// one; the lifetime counters of the metrics are kept.
    ResetAvailability {
        /// Only this instance.
        instance: Option<String>,
    },
}

/// Writes to stdout; a closed pipe (`keepvip events | head`) ends the command quietly.
fn emit(text: &str) -> Result<(), ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|_| ExitCode::SUCCESS)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("keepvip: {message}");
    ExitCode::FAILURE
}

/// Runs a client command against the agent of `run_dir`.
pub fn run_client(command: &ClientCommand, run_dir: &std::path::Path) -> ExitCode {
    match client(command, run_dir) {
        Ok(code) => code,
        Err(message) => fail(&message),
    }
}

fn client(command: &ClientCommand, run_dir: &std::path::Path) -> Result<ExitCode, String> {
    let mut connection = Connection::open(run_dir)?;
    match command {
        ClientCommand::Status { instance, json } => {
            let response = connection.request(Command::Status {
                instance: instance.clone(),
            })?;
            let snapshot = response.status.unwrap_or_default();
            let text = if *json {
                serde_json::to_string_pretty(&snapshot).map_err(|e| e.to_string())? + "\n"
            } else {
                match instance
                    .as_deref()
                    .and_then(|name| snapshot.instances.iter().find(|i| i.name == name))
                {
                    Some(one) => table::detail(&snapshot, one),
                    None => table::summary(&snapshot),
                }
            };
            Ok(emit(&text).err().unwrap_or(ExitCode::SUCCESS))
        }
        ClientCommand::Metrics => {
            let response = connection.request(Command::Metrics)?;
            let text = response.metrics.unwrap_or_default();
            Ok(emit(&text).err().unwrap_or(ExitCode::SUCCESS))
        }
        ClientCommand::Events { json } => {
            connection.request(Command::Events)?;
            connection.wait_forever()?;
            eprintln!(
                "keepvip: following the agent of {} (Ctrl-C to stop)",
                run_dir.display()
            );
            loop {
                let Some(response) = connection.receive()? else {
                    return Err("the agent closed the connection (it stopped?)".into());
                };
                let Some(event) = response.event else {
                    continue;
                };
                let line = if *json {
                    serde_json::to_string(&event).map_err(|e| e.to_string())?
                } else {
                    event.line()
                };
                if let Err(code) = emit(&(line + "\n")) {
                    return Ok(code);
                }
            }
        }
        ClientCommand::Reload => {
            let response = connection.request(Command::Reload)?;
            let outcome = response.reload.unwrap_or_default();
            let mut text = String::new();
            for warning in &outcome.warnings {
                text.push_str(&format!("warning: {warning}\n"));
            }
            if outcome.applied {
                let changes: Vec<String> = outcome
                    .changes
                    .iter()
                    .map(|c| format!("{} {}", c.instance, c.change))
                    .collect();
                text.push_str(&format!(
                    "reload applied: {}\n",
                    if changes.is_empty() {
                        "nothing changed".to_string()
                    } else {
                        changes.join(", ")
                    }
                ));
                Ok(emit(&text).err().unwrap_or(ExitCode::SUCCESS))
            } else {
                let _ = emit(&text);
                let mut errors = String::new();
                for error in &outcome.errors {
                    errors.push_str(&format!("{error}\n"));
                }
                eprint!("{errors}");
                eprintln!(
                    "keepvip: reload refused; the agent still runs the previous configuration"
                );
                Ok(ExitCode::FAILURE)
            }
        }
        ClientCommand::ResetAvailability { instance } => {
            let response = connection.request(Command::ResetAvailability {
                instance: instance.clone(),
            })?;
            let names = response.reset.unwrap_or_default();
            let text = format!(
                "availability reset: {}\n",
                if names.is_empty() {
                    "no instance".to_string()
                } else {
                    names.join(", ")
                }
            );
            Ok(emit(&text).err().unwrap_or(ExitCode::SUCCESS))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers `keepalived --signum` prints on Linux with glibc.
    #[test]
    fn signal_numbers_match_keepalived() {
        for (function, number) in [
            ("STOP", 15),
            ("RELOAD", 1),
            ("DATA", 10),
            ("STATS", 12),
            ("JSON", 36),
            ("json", 36),
        ] {
            assert_eq!(signal_number(function), Ok(number), "{function}");
        }
        assert!(signal_number("STATS_CLEAR")
            .unwrap_err()
            .contains("never go backwards"));
        assert!(signal_number("TDATA")
            .unwrap_err()
            .contains("unknown SIGFUNC 'TDATA'"));
    }
}
