//! The client half of the control socket, for `keepvip status`, `events`, `reload` and
//! `metrics`. Blocking: it runs in the CLI, never in the agent.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{Command, Request, Response, PROTOCOL_VERSION, SOCKET_NAME};

/// How long a request may take (a status of thousands of instances takes milliseconds).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Connection {
    reader: BufReader<UnixStream>,
    path: PathBuf,
}

pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join(SOCKET_NAME)
}

impl Connection {
    /// Connects to the agent of `run_dir`; the error is one line for the user.
    pub fn open(run_dir: &Path) -> Result<Connection, String> {
        let path = socket_path(run_dir);
        let stream = UnixStream::connect(&path).map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::ConnectionRefused => format!(
                "no keepvip running with run directory {} (give the agent's --run-dir)",
                run_dir.display()
            ),
            ErrorKind::PermissionDenied => format!(
                "permission denied on {}: run this as root or as the agent's user",
                path.display()
            ),
            _ => format!("cannot connect to {}: {e}", path.display()),
        })?;
        stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(ANSWER_TIMEOUT)))
            .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        Ok(Connection {
            reader: BufReader::new(stream),
            path,
        })
    }

    pub fn send(&mut self, command: Command) -> Result<(), String> {
        let request = Request {
            keepvip: PROTOCOL_VERSION,
            command,
        };
        let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.reader
            .get_mut()
            .write_all(&line)
            .map_err(|e| format!("cannot send to {}: {e}", self.path.display()))
    }

    /// Reads one response; `Ok(None)` when the agent closed the connection.
    pub fn receive(&mut self) -> Result<Option<Response>, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(format!(
                    "the agent did not answer within {} s on {}",
                    ANSWER_TIMEOUT.as_secs(),
                    self.path.display()
                ))
            }
            Err(e) => return Err(format!("cannot read from {}: {e}", self.path.display())),
        }
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|_| {
            format!(
                "protocol mismatch: {} did not answer in keepvip's JSON protocol",
                self.path.display()
            )
        })?;
        match value.get("keepvip").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
            other => {
                return Err(format!(
                    "protocol mismatch: the agent speaks version {}, this keepvip speaks \
                     {PROTOCOL_VERSION}; use the keepvip binary of the running agent",
                    other.map_or("unknown".to_string(), |v| v.to_string())
                ))
            }
        }
        let response: Response = serde_json::from_value(value)
            .map_err(|e| format!("protocol mismatch: cannot read the agent's answer: {e}"))?;
        Ok(Some(response))
    }

    /// Sends `command` and returns its (successful) response.
    pub fn request(&mut self, command: Command) -> Result<Response, String> {
        if let Err(send_error) = self.send(command) {
            // A busy agent answers before it reads and closes: its reason beats EPIPE.
            return match self.receive() {
                Ok(Some(Response {
                    error: Some(error), ..
                })) => Err(error),
                _ => Err(send_error),
            };
        }
        match self.receive()? {
            Some(response) if response.ok => Ok(response),
            Some(response) => Err(response
                .error
                .unwrap_or_else(|| "the agent refused the request".into())),
            None => Err(format!(
                "the agent closed {} without answering",
                self.path.display()
            )),
        }
    }

    /// For `events`: no timeout while waiting for the next transition.
    pub fn wait_forever(&mut self) -> Result<(), String> {
        self.reader
            .get_ref()
            .set_read_timeout(None)
            .map_err(|e| e.to_string())
    }
}
