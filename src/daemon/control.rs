//! The control socket (`<run-dir>/keepvip.sock`) and the optional metrics listener, served from
//! the event loop without ever blocking it.
//!
//! Every connection is non-blocking and bounded: at most [`MAX_CLIENTS`] control clients and
//! [`MAX_SCRAPERS`] scrapers at once, a request of at most `MAX_REQUEST_BYTES`, [`DEADLINE`] to
//! send it and to read the answer; an `events` follower that lets [`MAX_BACKLOG`] bytes pile up
//! is dropped. One request per connection (events: one request, then the stream). This module
//! owns the connections; the daemon answers the requests it hands out ([`Incoming`]).

use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use log::{debug, warn};
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use crate::status::protocol::{self, Command, Response, MAX_REQUEST_BYTES};

pub(super) const CONTROL: Token = Token(5);
pub(super) const METRICS: Token = Token(6);
const CLIENT_BASE: usize = 1 << 18;
const SCRAPER_BASE: usize = CLIENT_BASE + 4096;
const MAX_CLIENTS: usize = 32;
const MAX_SCRAPERS: usize = 8;
/// To send a request, and to take each answer.
const DEADLINE: Duration = Duration::from_secs(5);
/// Unread event lines a follower may leave behind before it is dropped.
const MAX_BACKLOG: usize = 1 << 20;
const MAX_HTTP_REQUEST_BYTES: usize = 8 * 1024;

/// A request the daemon must answer (with [`Control::respond`] or [`Control::respond_scrape`]).
#[derive(Debug)]
pub(super) enum Incoming {
    Request(usize, Command),
    Scrape(usize),
}

struct Conn<S> {
    stream: S,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    /// Dropped when this passes (`None`: an events follower with nothing to write).
    deadline: Option<Instant>,
    /// The request was read: input from now on only tells us when the peer leaves.
    answered: bool,
    following: bool,
    /// An answer was queued.
    responded: bool,
    wants_write: bool,
}

impl<S: Read + Write + mio::event::Source> Conn<S> {
    fn new(stream: S, now: Instant) -> Conn<S> {
        Conn {
            stream,
            input: Vec::new(),
            output: Vec::new(),
            written: 0,
            deadline: Some(now + DEADLINE),
            answered: false,
            following: false,
            responded: false,
            wants_write: false,
        }
    }

    /// Reads what is there; `Ok(false)` when the peer closed.
    fn read_available(&mut self, limit: usize) -> io::Result<bool> {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    if !self.answered && self.input.len() <= limit {
                        self.input
                            .extend_from_slice(buf.get(..n).unwrap_or_default());
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn pending(&self) -> usize {
        self.output.len().saturating_sub(self.written)
    }

    /// Writes what it can; `Ok(true)` when everything was written.
    fn flush(&mut self) -> io::Result<bool> {
        while self.written < self.output.len() {
            let rest = self.output.get(self.written..).unwrap_or_default();
            match self.stream.write(rest) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.output.clear();
        self.written = 0;
        Ok(true)
    }

    /// Queues `bytes` and writes what it can; registers for writability if some is left.
    fn send(
        &mut self,
        bytes: &[u8],
        token: Token,
        registry: &Registry,
        now: Instant,
    ) -> io::Result<()> {
        self.output.extend_from_slice(bytes);
        self.responded = true;
        self.after_write(token, registry, now)
    }

    fn after_write(&mut self, token: Token, registry: &Registry, now: Instant) -> io::Result<()> {
        let done = self.flush()?;
        // Before the answer, the deadline is the request's; after it, an answer not taken in
        // time (an events follower with nothing pending has none).
        if self.responded {
            if done {
                self.deadline = None;
            } else if self.deadline.is_none() {
                self.deadline = Some(now + DEADLINE);
            }
        }
        if done == self.wants_write {
            self.wants_write = !done;
            let interest = if done {
                Interest::READABLE
            } else {
                Interest::READABLE | Interest::WRITABLE
            };
            registry.reregister(&mut self.stream, token, interest)?;
        }
        Ok(())
    }
}

pub(super) struct Control {
    path: PathBuf,
    listener: UnixListener,
    clients: Vec<Option<Conn<UnixStream>>>,
    metrics: Option<TcpListener>,
    scrapers: Vec<Option<Conn<TcpStream>>>,
    incoming: Vec<Incoming>,
}

impl Control {
    /// Binds `<run_dir>/keepvip.sock` (mode 0600; a stale one from a crash is replaced: the pid
    /// file already proved no other agent uses this run directory) and, if asked, the metrics
    /// listener.
    pub(super) fn open(
        run_dir: &Path,
        metrics_listen: Option<std::net::SocketAddr>,
        registry: &Registry,
    ) -> Result<Control, String> {
        let path = run_dir.join(protocol::SOCKET_NAME);
        match std::fs::remove_file(&path) {
            Ok(()) => debug!("removed a stale {}", path.display()),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove the stale {}: {e}", path.display())),
        }
        let mut listener = UnixListener::bind(&path)
            .map_err(|e| format!("cannot create the control socket {}: {e}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make {} private: {e}", path.display()))?;
        registry
            .register(&mut listener, CONTROL, Interest::READABLE)
            .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
        let metrics = match metrics_listen {
            None => None,
            Some(addr) => {
                let mut listener = TcpListener::bind(addr)
                    .map_err(|e| format!("--metrics-listen {addr}: cannot listen there: {e}"))?;
                registry
                    .register(&mut listener, METRICS, Interest::READABLE)
                    .map_err(|e| format!("--metrics-listen {addr}: {e}"))?;
                Some(listener)
            }
        };
        Ok(Control {
            path,
            listener,
            clients: (0..MAX_CLIENTS).map(|_| None).collect(),
            metrics,
            scrapers: (0..MAX_SCRAPERS).map(|_| None).collect(),
            incoming: Vec::new(),
        })
    }

    pub(super) fn owns_token(&self, token: Token) -> bool {
        token == CONTROL
            || token == METRICS
            || (CLIENT_BASE..SCRAPER_BASE + MAX_SCRAPERS).contains(&token.0)
    }

    pub(super) fn handle_event(&mut self, token: Token, registry: &Registry, now: Instant) {
        match token {
            CONTROL => self.accept_clients(registry, now),
            METRICS => self.accept_scrapers(registry, now),
            Token(t) if t >= SCRAPER_BASE => self.on_scraper(t - SCRAPER_BASE, registry, now),
            Token(t) => self.on_client(t - CLIENT_BASE, registry, now),
        }
    }

    /// The requests read since the last call.
    pub(super) fn take_incoming(&mut self) -> Vec<Incoming> {
        std::mem::take(&mut self.incoming)
    }

    fn accept_clients(&mut self, registry: &Registry, now: Instant) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("control socket: accept failed: {e}");
                    return;
                }
            };
            let Some(slot) = self.clients.iter().position(Option::is_none) else {
                let line =
                    Response::error(format!("busy: {MAX_CLIENTS} clients are connected")).to_line();
                let _ = stream.write(&line);
                warn!("control socket: refused a client, {MAX_CLIENTS} are connected");
                continue;
            };
            let token = Token(CLIENT_BASE + slot);
            if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
                warn!("control socket: cannot watch a client: {e}");
                continue;
            }
            if let Some(entry) = self.clients.get_mut(slot) {
                *entry = Some(Conn::new(stream, now));
            }
            // Data may already be there: edge-triggered readiness would not tell us again.
            self.on_client(slot, registry, now);
        }
    }

    fn accept_scrapers(&mut self, registry: &Registry, now: Instant) {
        let mut accepted = Vec::new();
        if let Some(listener) = &self.metrics {
            loop {
                match listener.accept() {
                    Ok(pair) => accepted.push(pair),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        warn!("metrics listener: accept failed: {e}");
                        break;
                    }
                }
            }
        }
        for (mut stream, peer) in accepted {
            let Some(slot) = self.scrapers.iter().position(Option::is_none) else {
                let _ = stream.write(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                debug!("metrics listener: refused {peer}, {MAX_SCRAPERS} scrapes in progress");
                continue;
            };
            let token = Token(SCRAPER_BASE + slot);
            if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
                warn!("metrics listener: cannot watch {peer}: {e}");
                continue;
            }
            if let Some(entry) = self.scrapers.get_mut(slot) {
                *entry = Some(Conn::new(stream, now));
            }
            self.on_scraper(slot, registry, now);
        }
    }

    fn drop_client(&mut self, slot: usize, registry: &Registry, why: &str) {
        if let Some(mut conn) = self.clients.get_mut(slot).and_then(Option::take) {
            let _ = registry.deregister(&mut conn.stream);
            if !why.is_empty() {
                warn!("control socket: dropped a client: {why}");
            }
        }
    }

    fn drop_scraper(&mut self, slot: usize, registry: &Registry, why: &str) {
        if let Some(mut conn) = self.scrapers.get_mut(slot).and_then(Option::take) {
            let _ = registry.deregister(&mut conn.stream);
            if !why.is_empty() {
                debug!("metrics listener: dropped a scraper: {why}");
            }
        }
    }

    fn on_client(&mut self, slot: usize, registry: &Registry, now: Instant) {
        let token = Token(CLIENT_BASE + slot);
        let Some(conn) = self.clients.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let open = match conn.read_available(MAX_REQUEST_BYTES) {
            Ok(open) => open,
            Err(e) => return self.drop_client(slot, registry, &e.to_string()),
        };
        if let Err(e) = conn.after_write(token, registry, now) {
            return self.drop_client(slot, registry, &e.to_string());
        }
        if !conn.answered {
            if let Some(end) = conn.input.iter().position(|&b| b == b'\n') {
                conn.answered = true;
                let line = conn.input.get(..end).unwrap_or_default().to_vec();
                conn.input = Vec::new();
                match protocol::parse_request(&line) {
                    Ok(request) => self.incoming.push(Incoming::Request(slot, request.command)),
                    Err(message) => {
                        let line = Response::error(message).to_line();
                        if let Err(e) = conn.send(&line, token, registry, now) {
                            return self.drop_client(slot, registry, &e.to_string());
                        }
                    }
                }
            } else if conn.input.len() > MAX_REQUEST_BYTES {
                conn.answered = true;
                let line = Response::error(format!(
                    "request longer than {MAX_REQUEST_BYTES} bytes without a newline"
                ))
                .to_line();
                let _ = conn.send(&line, token, registry, now);
                return self.drop_client(slot, registry, "request too long");
            } else if !open {
                return self.drop_client(slot, registry, "");
            }
        }
        self.close_if_done(slot, open, registry);
    }

    /// A client whose answer is written (and that does not follow events) is closed; a follower
    /// that left is forgotten.
    fn close_if_done(&mut self, slot: usize, open: bool, registry: &Registry) {
        let Some(conn) = self.clients.get(slot).and_then(Option::as_ref) else {
            return;
        };
        let done = conn.responded && !conn.following && conn.pending() == 0;
        if done || (!open && conn.following) {
            self.drop_client(slot, registry, "");
        }
    }

    fn on_scraper(&mut self, slot: usize, registry: &Registry, now: Instant) {
        let token = Token(SCRAPER_BASE + slot);
        let Some(conn) = self.scrapers.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let open = match conn.read_available(MAX_HTTP_REQUEST_BYTES) {
            Ok(open) => open,
            Err(e) => return self.drop_scraper(slot, registry, &e.to_string()),
        };
        match conn.after_write(token, registry, now) {
            Ok(()) if conn.responded && conn.pending() == 0 => {
                return self.drop_scraper(slot, registry, "")
            }
            Ok(()) => {}
            Err(e) => return self.drop_scraper(slot, registry, &e.to_string()),
        }
        if conn.answered {
            return;
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        let reply: Option<&[u8]> = match request.parse(&conn.input) {
            Ok(httparse::Status::Complete(_)) => {
                let path = request.path.unwrap_or("").split('?').next().unwrap_or("");
                match (request.method, path) {
                    (Some("GET"), "/metrics" | "/") => {
                        conn.answered = true;
                        self.incoming.push(Incoming::Scrape(slot));
                        return;
                    }
                    (Some("GET"), _) => Some(
                        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 31\r\nConnection: close\r\n\r\nkeepvip serves only /metrics.\r\n",
                    ),
                    _ => Some(
                        b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    ),
                }
            }
            Ok(httparse::Status::Partial) if conn.input.len() > MAX_HTTP_REQUEST_BYTES => Some(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ),
            Ok(httparse::Status::Partial) if open => None,
            Ok(httparse::Status::Partial) => return self.drop_scraper(slot, registry, "left"),
            Err(_) => Some(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ),
        };
        if let Some(reply) = reply {
            conn.answered = true;
            match conn.send(reply, token, registry, now) {
                Ok(()) if conn.pending() == 0 => self.drop_scraper(slot, registry, ""),
                Ok(()) => {}
                Err(e) => self.drop_scraper(slot, registry, &e.to_string()),
            }
        }
    }

    /// Answers a control request; `follow` keeps the connection open for events.
    pub(super) fn respond(
        &mut self,
        slot: usize,
        response: &Response,
        follow: bool,
        registry: &Registry,
        now: Instant,
    ) {
        let token = Token(CLIENT_BASE + slot);
        let Some(conn) = self.clients.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        conn.following = follow;
        let line = response.to_line();
        match conn.send(&line, token, registry, now) {
            Ok(()) if conn.pending() == 0 && !follow => self.drop_client(slot, registry, ""),
            Ok(()) => {}
            Err(e) => self.drop_client(slot, registry, &e.to_string()),
        }
    }

    /// Answers a scrape with the exposition text.
    pub(super) fn respond_scrape(
        &mut self,
        slot: usize,
        body: &str,
        registry: &Registry,
        now: Instant,
    ) {
        let token = Token(SCRAPER_BASE + slot);
        let Some(conn) = self.scrapers.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let mut reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            crate::status::metrics::CONTENT_TYPE,
            body.len()
        )
        .into_bytes();
        reply.extend_from_slice(body.as_bytes());
        match conn.send(&reply, token, registry, now) {
            Ok(()) if conn.pending() == 0 => self.drop_scraper(slot, registry, ""),
            Ok(()) => {}
            Err(e) => self.drop_scraper(slot, registry, &e.to_string()),
        }
    }

    /// Whether anyone follows events (the daemon builds an event only then).
    pub(super) fn has_followers(&self) -> bool {
        self.clients.iter().flatten().any(|c| c.following)
    }

    /// Sends one response line to every events follower; a follower too far behind is dropped.
    pub(super) fn broadcast(&mut self, response: &Response, registry: &Registry, now: Instant) {
        let line = response.to_line();
        for slot in 0..self.clients.len() {
            let Some(conn) = self.clients.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if !conn.following {
                continue;
            }
            if conn.pending() + line.len() > MAX_BACKLOG {
                self.drop_client(
                    slot,
                    registry,
                    &format!("an events follower did not read {MAX_BACKLOG} bytes"),
                );
                continue;
            }
            if let Err(e) = conn.send(&line, Token(CLIENT_BASE + slot), registry, now) {
                self.drop_client(slot, registry, &e.to_string());
            }
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let clients = self.clients.iter().flatten().filter_map(|c| c.deadline);
        let scrapers = self.scrapers.iter().flatten().filter_map(|c| c.deadline);
        clients.chain(scrapers).min()
    }

    /// Drops the connections whose deadline passed (no request, or an answer nobody reads).
    pub(super) fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        for slot in 0..self.clients.len() {
            let late = self
                .clients
                .get(slot)
                .and_then(Option::as_ref)
                .and_then(|c| c.deadline)
                .is_some_and(|at| at <= now);
            if late {
                self.drop_client(
                    slot,
                    registry,
                    &format!(
                        "no request, or its answer not read, within {} s",
                        DEADLINE.as_secs()
                    ),
                );
            }
        }
        for slot in 0..self.scrapers.len() {
            let late = self
                .scrapers
                .get(slot)
                .and_then(Option::as_ref)
                .and_then(|c| c.deadline)
                .is_some_and(|at| at <= now);
            if late {
                self.drop_scraper(slot, registry, "too slow");
            }
        }
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
