//! The control socket's protocol, version 1: newline-delimited JSON over a Unix stream socket
//! (`<run-dir>/keepvip.sock`, mode 0600).
//!
//! A client sends one request line, `{"keepvip":1,"command":"status","instance":"VI_1"}`, and
//! reads one response line, `{"keepvip":1,"ok":true,"status":{…}}` or
//! `{"keepvip":1,"ok":false,"error":"…"}`. `events` is answered with
//! `{"keepvip":1,"ok":true,"events":"following"}` and then one `{"keepvip":1,"ok":true,"event":{…}}`
//! line per transition, for as long as the client stays. Commands: `status` (optional
//! `instance`), `events`, `reload`, `metrics`, `reset_availability` (optional `instance`;
//! answered with `"reset":[names]`). A request with another `keepvip` version is
//! answered with an error naming the version this agent speaks.

use serde::{Deserialize, Serialize};

use super::{Event, Snapshot};

pub const PROTOCOL_VERSION: u32 = 1;
/// The socket's file name in the run directory.
pub const SOCKET_NAME: &str = "keepvip.sock";
/// A request line longer than this is refused and the client dropped.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub keepvip: u32,
    #[serde(flatten)]
    pub command: Command,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Status {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    Events,
    Reload,
    Metrics,
    /// Clears the since-reset availability figures of one instance, or of all.
    ResetAvailability {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub keepvip: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Snapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<ReloadOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// The instances whose availability figures were reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<Vec<String>>,
}

/// What a reload did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// The new configuration runs (false: refused, the previous one still runs).
    pub applied: bool,
    /// Every error, `file:line:col: …`, when refused.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// What changed, per instance (unchanged instances are not listed).
    pub changes: Vec<InstanceChange>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceChange {
    pub instance: String,
    /// `added`, `removed`, `restarted` (a change the protocol cannot take on the fly) or
    /// `updated` (changed in place, state kept).
    pub change: String,
}

impl Response {
    pub fn ok() -> Response {
        Response {
            keepvip: PROTOCOL_VERSION,
            ok: true,
            ..Response::default()
        }
    }

    pub fn error(message: impl Into<String>) -> Response {
        Response {
            keepvip: PROTOCOL_VERSION,
            ok: false,
            error: Some(message.into()),
            ..Response::default()
        }
    }

    /// The response as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        // Serializing plain data with string keys cannot fail; fall back to an error line anyway.
        let mut line = serde_json::to_vec(self).unwrap_or_else(|e| {
            format!(r#"{{"keepvip":{PROTOCOL_VERSION},"ok":false,"error":"cannot encode: {e}"}}"#)
                .into_bytes()
        });
        line.push(b'\n');
        line
    }
}

/// Parses a request line; the error is what the client is told.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    let value: serde_json::Value = serde_json::from_slice(line)
        .map_err(|e| format!("the request is not JSON ({e}); see the README, \"Operations\""))?;
    match value.get("keepvip").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "protocol mismatch: the request speaks version {v}, this agent speaks \
                 {PROTOCOL_VERSION}; use the keepvip binary of the running agent"
            ))
        }
        None => {
            return Err(format!(
                "the request has no \"keepvip\" protocol version (this agent speaks \
                 {PROTOCOL_VERSION})"
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| format!("bad request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for command in [
            Command::Status { instance: None },
            Command::Status {
                instance: Some("VI_1".into()),
            },
            Command::Events,
            Command::Reload,
            Command::Metrics,
            Command::ResetAvailability { instance: None },
            Command::ResetAvailability {
                instance: Some("VI_1".into()),
            },
        ] {
            let request = Request {
                keepvip: PROTOCOL_VERSION,
                command,
            };
            let line = serde_json::to_vec(&request).unwrap();
            assert_eq!(parse_request(&line), Ok(request));
        }
        assert_eq!(
            serde_json::to_string(&Request {
                keepvip: 1,
                command: Command::Status {
                    instance: Some("VI_1".into())
                }
            })
            .unwrap(),
            r#"{"keepvip":1,"command":"status","instance":"VI_1"}"#
        );
        assert_eq!(
            parse_request(br#"{"keepvip":1,"command":"reset_availability"}"#),
            Ok(Request {
                keepvip: 1,
                command: Command::ResetAvailability { instance: None }
            })
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let err = parse_request(br#"{"keepvip":2,"command":"status"}"#).unwrap_err();
        assert!(
            err.contains("protocol mismatch") && err.contains("speaks 1"),
            "{err}"
        );
        let err = parse_request(br#"{"command":"status"}"#).unwrap_err();
        assert!(err.contains("no \"keepvip\" protocol version"), "{err}");
        let err = parse_request(br#"{"keepvip":1,"command":"dance"}"#).unwrap_err();
        assert!(err.starts_with("bad request"), "{err}");
        let err = parse_request(b"status\n").unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
    }

    #[test]
    fn responses_are_one_line() {
        let line = Response::error("no such instance \"x\"").to_line();
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let back: Response = serde_json::from_slice(&line).unwrap();
        assert!(!back.ok);
        assert_eq!(back.error.as_deref(), Some("no such instance \"x\""));
    }
}
