//! Notify scripts that record how they were called: argv exactly as received and the KEEPVIP_*
//! environment, one line per call, bracketed by begin/end markers so that two scripts of the same
//! agent running at once show up as an overlap.

use std::path::{Path, PathBuf};

/// Value the recorder writes for an environment variable that is not set at all.
pub const UNSET: &str = "(unset)";

/// The KEEPVIP_* variables, in the order the recorder writes them.
pub const ENV_NAMES: [&str; 6] = [
    "KEEPVIP_INSTANCE",
    "KEEPVIP_STATE",
    "KEEPVIP_PREV_STATE",
    "KEEPVIP_REASON",
    "KEEPVIP_PRIORITY",
    "KEEPVIP_VIPS",
];

const ENV_MARK: &str = "--env--";

/// Body of a recording script that appends to `log`.
pub fn recorder_script(log: &Path) -> String {
    let env_values: Vec<String> = ENV_NAMES
        .iter()
        .map(|name| format!("\"${{{name}-{UNSET}}}\""))
        .collect();
    format!(
        "#!/bin/sh\n\
         # Records one notify call for the keepvip e2e tests (argv, then the KEEPVIP_* environment).\n\
         log='{log}'\n\
         line=\"begin\t$0\"\n\
         for arg in \"$@\"; do line=\"$line\t$arg\"; done\n\
         line=\"$line\t{ENV_MARK}\"\n\
         for value in {values}; do line=\"$line\t$value\"; done\n\
         printf '%s\\n' \"$line\" >> \"$log\"\n\
         # Long enough for a concurrently started script to interleave its own begin line.\n\
         sleep 0.05\n\
         printf 'end\\n' >> \"$log\"\n",
        log = log.display(),
        values = env_values.join(" "),
    )
}

/// Body of a script that records its PID to `pidfile` then hangs for 60 s.
pub fn hanging_script(pidfile: &Path) -> String {
    format!(
        "#!/bin/sh\n\
         # Hangs like a stuck notify script; leaves its PID so the test can end it.\n\
         printf '%s\\n' \"$$\" > '{tmp}'\n\
         mv '{tmp}' '{pid}'\n\
         exec sleep 60\n",
        tmp = pidfile.with_extension("tmp").display(),
        pid = pidfile.display(),
    )
}

/// One completed notify call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// argv as the script saw it; argv[0] is the script path as executed.
    pub argv: Vec<String>,
    /// Values of ENV_NAMES, in that order; UNSET when absent.
    pub env: Vec<String>,
}

impl Call {
    /// The value of one KEEPVIP_* variable (UNSET when absent).
    pub fn var(&self, name: &str) -> &str {
        ENV_NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.env.get(i))
            .map(String::as_str)
            .unwrap_or(UNSET)
    }

    /// argv without argv[0].
    pub fn args(&self) -> Vec<&str> {
        self.argv.iter().skip(1).map(String::as_str).collect()
    }
}

/// A recorder installed for one router: the script to name in the config and its log.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub script: PathBuf,
    pub log: PathBuf,
}

impl Recorder {
    /// A config value for notify*: the script path followed by `args`, quoted.
    pub fn command(&self, args: &str) -> String {
        if args.is_empty() {
            format!("\"{}\"", self.script.display())
        } else {
            format!("\"{} {args}\"", self.script.display())
        }
    }

    /// The completed calls so far, in order. Err when two calls overlapped or a line is malformed.
    pub fn calls(&self) -> Result<Vec<Call>, String> {
        let text = match std::fs::read_to_string(&self.log) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", self.log.display())),
        };
        parse_calls(&text)
    }
}

/// Parses a recorder log. A trailing `begin` without `end` is a call still running: not returned.
pub fn parse_calls(text: &str) -> Result<Vec<Call>, String> {
    let mut calls = Vec::new();
    let mut open: Option<Call> = None;
    for (number, line) in text.lines().enumerate() {
        if line == "end" {
            match open.take() {
                Some(call) => calls.push(call),
                None => return Err(format!("line {}: `end` without a call running", number + 1)),
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("begin\t") else {
            return Err(format!("line {}: unexpected {line:?}", number + 1));
        };
        if let Some(running) = &open {
            return Err(format!(
                "line {}: a notify script started while another was still running \
                 (scripts of one instance must run one at a time): running {:?}, started {rest:?}",
                number + 1,
                running.argv
            ));
        }
        let fields: Vec<&str> = rest.split('\t').collect();
        let Some(mark) = fields.iter().position(|f| *f == ENV_MARK) else {
            return Err(format!("line {}: no environment in {line:?}", number + 1));
        };
        let (argv, env) = fields.split_at(mark);
        let env: Vec<String> = env.iter().skip(1).map(|v| (*v).to_string()).collect();
        if env.len() != ENV_NAMES.len() {
            return Err(format!(
                "line {}: expected {} environment values in {line:?}",
                number + 1,
                ENV_NAMES.len()
            ));
        }
        open = Some(Call {
            argv: argv.iter().map(|a| (*a).to_string()).collect(),
            env,
        });
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begin(args: &str) -> String {
        format!("begin\t/s/rec.sh\t{args}\t{ENV_MARK}\tVI_1\tMASTER\tBACKUP\tmaster_down\t200\t192.0.2.100/24\n")
    }

    #[test]
    fn completed_calls_in_order_and_running_one_left_out() {
        let text = format!("{}end\n{}end\n{}", begin("a"), begin("b\tc"), begin("d"));
        let calls = parse_calls(&text).unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].args(), vec!["b", "c"]);
        assert_eq!(calls[0].var("KEEPVIP_REASON"), "master_down");
        assert_eq!(calls[0].var("KEEPVIP_VIPS"), "192.0.2.100/24");
    }

    #[test]
    fn overlapping_calls_are_an_error() {
        let text = format!("{}{}end\nend\n", begin("a"), begin("b"));
        let err = parse_calls(&text).unwrap_err();
        assert!(err.contains("one at a time"), "{err}");
    }

    #[test]
    fn the_script_records_argv_and_environment() {
        let dir = std::env::temp_dir().join(format!("keepvip-e2e-recorder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("calls.log");
        let script = dir.join("rec.sh");
        std::fs::write(&script, recorder_script(&log)).unwrap();
        let status = std::process::Command::new("/bin/sh")
            .arg(&script)
            .args(["one", "*", "x;y"])
            .env_clear()
            .env("KEEPVIP_STATE", "FAULT")
            .env("KEEPVIP_VIPS", "192.0.2.100/24 192.0.2.101/24")
            .status()
            .unwrap();
        assert!(status.success());
        let calls = Recorder {
            script: script.clone(),
            log,
        }
        .calls()
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0].argv,
            vec![
                script.display().to_string(),
                "one".into(),
                "*".into(),
                "x;y".into()
            ]
        );
        assert_eq!(calls[0].var("KEEPVIP_STATE"), "FAULT");
        assert_eq!(calls[0].var("KEEPVIP_INSTANCE"), UNSET);
        assert_eq!(
            calls[0].var("KEEPVIP_VIPS"),
            "192.0.2.100/24 192.0.2.101/24"
        );
    }
}
