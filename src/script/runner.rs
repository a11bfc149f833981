//! [`ScriptRunner`]: runs scripts for the single-threaded event loop without ever blocking it.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mio::unix::pipe::Receiver;
use mio::{Interest, Registry, Token};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// A line longer than this (in bytes, without the newline) is cut to this length.
pub const MAX_LINE_BYTES: usize = 4096;

/// At most this many output lines of one job are reported; the rest are counted in
/// [`ScriptEvent::Finished::lines_dropped`].
pub const MAX_LINES_PER_JOB: u64 = 10_000;

/// Default time between SIGTERM and SIGKILL for a job that outlived its timeout.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);
/// Jobs that may wait behind a running one under one key; beyond that the oldest waiting job
/// is dropped (an instance flapping faster than its scripts run must not grow memory or push
/// its scripts minutes behind reality).
pub const MAX_QUEUED_PER_KEY: usize = 32;

/// How much is read from a finished job's pipes at most: a background process it left behind
/// may keep writing to them, and the loop must not spin on that.
const FINAL_DRAIN_BYTES: usize = 256 * 1024;

/// The uid and gid a script runs as (keepalived's `script_user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptUser {
    pub uid: u32,
    pub gid: u32,
}

/// One script run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The file to execute, if it differs from `argv[0]`: normally the canonical path returned
    /// by `check_script_security`, while `argv[0]` keeps the configured name (some programs,
    /// such as busybox applets, behave according to the name they are called by).
    pub program: Option<PathBuf>,
    /// Arguments, `argv[0]` first. `argv[0]` is executed when `program` is `None` (a name
    /// without `/` is looked up in the job's `PATH`).
    pub argv: Vec<String>,
    /// The complete environment of the script; nothing else is inherited.
    pub env: Vec<(String, String)>,
    /// SIGTERM after this long (measured from the start of the job, not from enqueueing).
    pub timeout: Duration,
    /// Run as this user instead of the daemon's.
    pub user: Option<ScriptUser>,
}

/// Which output pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exited by itself with this status (0 = success).
    Exited(i32),
    /// Killed by this signal, not sent by the runner.
    Signaled(i32),
    /// Outlived its timeout and was sent SIGTERM; `killed` when SIGKILL was needed as well.
    TimedOut { killed: bool },
    /// `try_wait` failed (another part of the process reaped the child): the status is unknown.
    Lost(String),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        *self == Outcome::Exited(0)
    }
}

/// What the runner reports, in order, through [`ScriptRunner::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptEvent {
    Started {
        key: String,
        argv: Vec<String>,
        pid: u32,
    },
    Output {
        key: String,
        pid: u32,
        stream: Stream,
        /// The line without its newline; invalid UTF-8 is replaced with U+FFFD.
        line: String,
        /// The line was longer than [`MAX_LINE_BYTES`]; the rest of it was discarded.
        truncated: bool,
    },
    Finished {
        key: String,
        pid: u32,
        outcome: Outcome,
        duration: Duration,
        /// Output lines beyond [`MAX_LINES_PER_JOB`] that were read but not reported.
        lines_dropped: u64,
    },
    /// The job could not be started; the next job of the key starts anyway.
    SpawnFailed {
        key: String,
        argv: Vec<String>,
        error: String,
    },
    /// The job was still queued when the shutdown deadline passed, and never started.
    Cancelled { key: String, argv: Vec<String> },
    /// The job was dropped unstarted: more than [`MAX_QUEUED_PER_KEY`] jobs waited under its key.
    Dropped { key: String, argv: Vec<String> },
}

/// Collects a pipe's bytes into lines, cutting long ones.
#[derive(Debug, Default)]
struct LineSplitter {
    partial: Vec<u8>,
    /// Inside a line that was already cut: drop bytes up to the next newline.
    discarding: bool,
}

impl LineSplitter {
    /// Feeds `data`; calls `emit(line, truncated)` for every finished (or cut) line.
    fn push(&mut self, mut data: &[u8], emit: &mut impl FnMut(&[u8], bool)) {
        while !data.is_empty() {
            let (piece, rest, ends_line) = match data.iter().position(|&byte| byte == b'\n') {
                Some(newline) => {
                    let (piece, rest) = data.split_at(newline);
                    (piece, rest.get(1..).unwrap_or_default(), true)
                }
                None => (data, &[][..], false),
            };
            data = rest;
            if self.discarding {
                self.discarding = !ends_line;
                continue;
            }
            let room = MAX_LINE_BYTES.saturating_sub(self.partial.len());
            if piece.len() > room {
                self.partial
                    .extend_from_slice(piece.get(..room).unwrap_or_default());
                emit(&self.partial, true);
                self.partial.clear();
                self.discarding = !ends_line;
            } else {
                self.partial.extend_from_slice(piece);
                if ends_line {
                    emit(&self.partial, false);
                    self.partial.clear();
                }
            }
        }
    }

    /// At the end of the output: a last line without a newline is still a line.
    fn flush(&mut self, emit: &mut impl FnMut(&[u8], bool)) {
        if !self.partial.is_empty() && !self.discarding {
            emit(&self.partial, false);
        }
        self.partial.clear();
        self.discarding = false;
    }
}

#[derive(Debug)]
struct OutputPipe {
    receiver: Receiver,
    token: Token,
    lines: LineSplitter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running { term_at: Instant },
    Terminating { kill_at: Instant },
    Killed,
}

#[derive(Debug)]
struct RunningJob {
    child: Child,
    pid: u32,
    started: Instant,
    phase: Phase,
    stdout: Option<OutputPipe>,
    stderr: Option<OutputPipe>,
    /// The two tokens this job holds until it is reaped.
    tokens: [Token; 2],
    lines_reported: u64,
    lines_dropped: u64,
}

impl RunningJob {
    /// Signals the job's whole process group. Errors (the group is gone) need no action: the
    /// child will be reaped on SIGCHLD.
    fn signal_group(&self, signal: Signal) {
        if let Ok(pid) = i32::try_from(self.pid) {
            let _ = killpg(Pid::from_raw(pid), signal);
        }
    }
}

#[derive(Debug, Default)]
struct KeyQueue {
    queued: VecDeque<Job>,
    running: Option<RunningJob>,
    /// The key is in `ScriptRunner::ready` (idle with queued jobs, waiting for a slot).
    ready: bool,
}

/// Runs scripts for the single-threaded event loop without ever blocking it: jobs are queued
/// per key (the instance or sync group name) and reported through [`ScriptRunner::poll_event`].
///
/// The runner owns the mio tokens `first_token .. first_token + 2 * max_concurrent` (two per
/// running job: stdout and stderr); the daemon must not use them for anything else.
///
/// # Call order for the daemon
///
/// ```text
/// let mut scripts = ScriptRunner::new(Token(SCRIPT_TOKENS_START), 32);
/// loop {
///     let timeout = earliest(other_deadlines, scripts.poll_timeout());
///     poll.poll(&mut events, timeout)?;
///     let now = Instant::now();
///     for event in &events {
///         if scripts.owns_token(event.token()) {
///             scripts.handle_event(event.token(), poll.registry());
///         }
///         // signalfd readable and SIGCHLD read: scripts.reap(now, poll.registry())
///     }
///     scripts.handle_timeout(now, poll.registry());    // on every wake-up; cheap
///     // proto actions -> scripts.enqueue(instance_name, job, now, poll.registry())
///     while let Some(event) = scripts.poll_event() { log / count it }
/// }
/// ```
///
/// Stopping: enqueue the `notify_stop` jobs, call [`ScriptRunner::shutdown`] with the deadline,
/// and keep running the same loop until [`ScriptRunner::is_idle`]. Every running job is sent
/// SIGTERM at that deadline at the latest and SIGKILL a grace period later; a queued job that
/// has not started by the deadline is cancelled. So the loop ends by deadline + grace (+ the
/// moment it takes the kernel to deliver SIGCHLD).
///
/// # Guarantees
/// - Jobs with the same key run one at a time, in the order they were enqueued; different keys
///   run concurrently (up to `max_concurrent`; the rest wait their turn in FIFO order).
/// - A job is started with `process_group(0)`, a clean environment (exactly `Job::env`), stdin
///   from /dev/null, the working directory `/`, an empty signal mask (std resets it, so the
///   daemon's blocked signals do not leak) and, if given, the script user's uid/gid (std then
///   drops the supplementary groups).
/// - stdout and stderr are pipes, read whenever readable; each line becomes an
///   [`ScriptEvent::Output`]. Lines longer than [`MAX_LINE_BYTES`] are cut, and after
///   [`MAX_LINES_PER_JOB`] lines the rest is read and counted but not reported.
/// - A job that outlives its timeout gets SIGTERM on its whole process group, then SIGKILL after
///   the grace period (2 s by default); it is reported as [`Outcome::TimedOut`], and whatever is
///   left of its process group is SIGKILLed when it is reaped.
/// - Starting a job is a fork/exec that returns as soon as the exec succeeded or failed (std
///   learns that over a close-on-exec pipe): it never waits for the script itself.
/// - The runner only ever `try_wait()`s its own children; it never calls `waitpid(-1)`.
/// - Dropping the runner SIGKILLs the process groups of the jobs still running and reaps them.
#[derive(Debug)]
pub struct ScriptRunner {
    first_token: usize,
    token_count: usize,
    free_tokens: Vec<Token>,
    token_owner: HashMap<Token, (String, Stream)>,
    keys: HashMap<String, KeyQueue>,
    /// Keys that are idle and have queued jobs, in the order they became ready.
    ready: VecDeque<String>,
    events: VecDeque<ScriptEvent>,
    kill_grace: Duration,
    shutdown_deadline: Option<Instant>,
}

impl ScriptRunner {
    /// A runner running at most `max_concurrent` (at least 1) jobs at once, owning the tokens
    /// `first_token .. first_token + 2 * max_concurrent`.
    pub fn new(first_token: Token, max_concurrent: usize) -> Self {
        let token_count = max_concurrent.max(1).saturating_mul(2);
        let first = first_token.0;
        let free_tokens = (0..token_count)
            .rev()
            .filter_map(|offset| first.checked_add(offset).map(Token))
            .collect();
        ScriptRunner {
            first_token: first,
            token_count,
            free_tokens,
            token_owner: HashMap::new(),
            keys: HashMap::new(),
            ready: VecDeque::new(),
            events: VecDeque::new(),
            kill_grace: DEFAULT_KILL_GRACE,
            shutdown_deadline: None,
        }
    }

    /// Changes the time between SIGTERM and SIGKILL (default [`DEFAULT_KILL_GRACE`]).
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Whether `token` is one of the runner's; if so, pass its events to [`Self::handle_event`].
    pub fn owns_token(&self, token: Token) -> bool {
        token
            .0
            .checked_sub(self.first_token)
            .is_some_and(|offset| offset < self.token_count)
    }

    /// Queues `job` under `key` and starts it at once if nothing else of that key is running
    /// (and a slot is free). Never waits for the script.
    pub fn enqueue(&mut self, key: &str, job: Job, now: Instant, registry: &Registry) {
        let entry = self.keys.entry(key.to_string()).or_default();
        entry.queued.push_back(job);
        while entry.queued.len() > MAX_QUEUED_PER_KEY {
            if let Some(oldest) = entry.queued.pop_front() {
                self.events.push_back(ScriptEvent::Dropped {
                    key: key.to_string(),
                    argv: oldest.argv,
                });
            }
        }
        if entry.running.is_none() && !entry.ready {
            entry.ready = true;
            self.ready.push_back(key.to_string());
        }
        self.start_ready(now, registry);
    }

    /// Reads the pipe behind `token` until it would block and turns its lines into events.
    pub fn handle_event(&mut self, token: Token, registry: &Registry) {
        let Some((key, stream)) = self.token_owner.get(&token).cloned() else {
            return;
        };
        let Some(job) = self
            .keys
            .get_mut(&key)
            .and_then(|queue| queue.running.as_mut())
        else {
            return;
        };
        drain_pipe(
            &key,
            job,
            stream,
            registry,
            usize::MAX,
            false,
            &mut self.events,
        );
    }

    /// Collects every child of the runner that has exited (call it on SIGCHLD), reports it and
    /// starts the next job of its key.
    pub fn reap(&mut self, now: Instant, registry: &Registry) {
        let mut exited = Vec::new();
        for (key, queue) in &mut self.keys {
            if let Some(job) = queue.running.as_mut() {
                match job.child.try_wait() {
                    Ok(Some(status)) => exited.push((key.clone(), Ok(status))),
                    Ok(None) => {}
                    Err(err) => exited.push((key.clone(), Err(err))),
                }
            }
        }
        // Report in a stable order when several children ended together.
        exited.sort_by_key(|(key, _)| {
            self.keys
                .get(key)
                .and_then(|queue| queue.running.as_ref())
                .map(|job| job.started)
        });
        for (key, status) in exited {
            self.finish(&key, status, now, registry);
        }
        self.start_ready(now, registry);
    }

    /// The earliest moment [`Self::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.keys
            .values()
            .filter_map(|queue| match queue.running.as_ref()?.phase {
                Phase::Running { term_at } => Some(term_at),
                Phase::Terminating { kill_at } => Some(kill_at),
                Phase::Killed => None,
            })
            .min()
    }

    /// Sends SIGTERM to jobs past their timeout and SIGKILL to those still alive a grace period
    /// later; cancels queued jobs once the shutdown deadline has passed. Safe to call on every
    /// wake-up. Also reaps, so an exit whose SIGCHLD was merged with another is not missed.
    pub fn handle_timeout(&mut self, now: Instant, registry: &Registry) {
        for queue in self.keys.values_mut() {
            let Some(job) = queue.running.as_mut() else {
                continue;
            };
            match job.phase {
                Phase::Running { term_at } if now >= term_at => {
                    job.signal_group(Signal::SIGTERM);
                    job.phase = Phase::Terminating {
                        kill_at: now + self.kill_grace,
                    };
                }
                Phase::Terminating { kill_at } if now >= kill_at => {
                    job.signal_group(Signal::SIGKILL);
                    job.phase = Phase::Killed;
                }
                _ => {}
            }
        }
        self.reap(now, registry);
    }

    /// The next thing to report, oldest first.
    pub fn poll_event(&mut self) -> Option<ScriptEvent> {
        self.events.pop_front()
    }

    /// No job running and none queued (events may still wait in [`Self::poll_event`]).
    pub fn is_idle(&self) -> bool {
        self.keys
            .values()
            .all(|queue| queue.running.is_none() && queue.queued.is_empty())
    }

    /// Bounds everything by `deadline`: running jobs get SIGTERM at the deadline at the latest
    /// (SIGKILL a grace period later); jobs enqueued before or after this call still start if
    /// their turn comes before the deadline, with the same bound; the others are cancelled.
    pub fn shutdown(&mut self, deadline: Instant) {
        self.shutdown_deadline = Some(deadline);
        for queue in self.keys.values_mut() {
            if let Some(RunningJob {
                phase: Phase::Running { term_at },
                ..
            }) = queue.running.as_mut()
            {
                *term_at = (*term_at).min(deadline);
            }
        }
    }

    /// Starts the next job of each ready key while slots are free.
    fn start_ready(&mut self, now: Instant, registry: &Registry) {
        while self.free_tokens.len() >= 2 {
            let Some(key) = self.ready.pop_front() else {
                return;
            };
            let Some(queue) = self.keys.get_mut(&key) else {
                continue;
            };
            queue.ready = false;
            self.start_next(&key, now, registry);
        }
    }

    /// Starts the first job of `key` that can be spawned (reporting those that cannot).
    fn start_next(&mut self, key: &str, now: Instant, registry: &Registry) {
        loop {
            let Some(queue) = self.keys.get_mut(key) else {
                return;
            };
            if queue.running.is_some() {
                return;
            }
            let Some(job) = queue.queued.pop_front() else {
                // Forget idle keys so the map does not grow with every name ever used.
                self.keys.remove(key);
                return;
            };
            if self
                .shutdown_deadline
                .is_some_and(|deadline| now >= deadline)
            {
                self.events.push_back(ScriptEvent::Cancelled {
                    key: key.to_string(),
                    argv: job.argv,
                });
                continue;
            }
            let (Some(stdout_token), Some(stderr_token)) =
                (self.free_tokens.pop(), self.free_tokens.pop())
            else {
                // start_ready checked for two free tokens; should that ever not hold, wait.
                queue.queued.push_front(job);
                queue.ready = true;
                self.ready.push_front(key.to_string());
                return;
            };
            let tokens = [stdout_token, stderr_token];
            let mut term_at = now + job.timeout;
            if let Some(deadline) = self.shutdown_deadline {
                term_at = term_at.min(deadline);
            }
            match spawn(&job, tokens, registry) {
                Ok((child, stdout, stderr)) => {
                    let pid = child.id();
                    for (pipe, stream) in [(&stdout, Stream::Stdout), (&stderr, Stream::Stderr)] {
                        if let Some(pipe) = pipe {
                            self.token_owner
                                .insert(pipe.token, (key.to_string(), stream));
                        }
                    }
                    queue.running = Some(RunningJob {
                        child,
                        pid,
                        started: now,
                        phase: Phase::Running { term_at },
                        stdout,
                        stderr,
                        tokens,
                        lines_reported: 0,
                        lines_dropped: 0,
                    });
                    self.events.push_back(ScriptEvent::Started {
                        key: key.to_string(),
                        argv: job.argv,
                        pid,
                    });
                    return;
                }
                Err(error) => {
                    self.free_tokens.extend(tokens);
                    self.events.push_back(ScriptEvent::SpawnFailed {
                        key: key.to_string(),
                        argv: job.argv,
                        error,
                    });
                }
            }
        }
    }

    /// Reports the end of `key`'s running job and makes the key ready for its next job.
    fn finish(
        &mut self,
        key: &str,
        status: io::Result<ExitStatus>,
        now: Instant,
        registry: &Registry,
    ) {
        let Some(queue) = self.keys.get_mut(key) else {
            return;
        };
        let Some(mut job) = queue.running.take() else {
            return;
        };
        // What the script wrote before it exited is still in the pipes.
        // A background process the script left behind may hold the pipes open: read what is
        // there and close them anyway.
        for stream in [Stream::Stdout, Stream::Stderr] {
            let budget = FINAL_DRAIN_BYTES;
            drain_pipe(
                key,
                &mut job,
                stream,
                registry,
                budget,
                true,
                &mut self.events,
            );
        }
        for token in job.tokens {
            self.token_owner.remove(&token);
        }
        self.free_tokens.extend(job.tokens);
        let timed_out = match job.phase {
            Phase::Running { .. } => None,
            Phase::Terminating { .. } => Some(false),
            Phase::Killed => Some(true),
        };
        if timed_out.is_some() {
            // The leader is gone; anything left of its group that ignored SIGTERM goes now. The
            // group id cannot belong to anyone else while a member of the group is alive.
            job.signal_group(Signal::SIGKILL);
        }
        let outcome = match (timed_out, status) {
            (Some(killed), _) => Outcome::TimedOut { killed },
            (None, Err(err)) => Outcome::Lost(err.to_string()),
            (None, Ok(status)) => match (status.code(), status.signal()) {
                (Some(code), _) => Outcome::Exited(code),
                (None, Some(signal)) => Outcome::Signaled(signal),
                (None, None) => Outcome::Lost(format!("unexpected wait status {status}")),
            },
        };
        self.events.push_back(ScriptEvent::Finished {
            key: key.to_string(),
            pid: job.pid,
            outcome,
            duration: now.saturating_duration_since(job.started),
            lines_dropped: job.lines_dropped,
        });
        if !queue.queued.is_empty() && !queue.ready {
            queue.ready = true;
            self.ready.push_back(key.to_string());
        } else if queue.queued.is_empty() {
            self.keys.remove(key);
        }
    }
}

impl Drop for ScriptRunner {
    fn drop(&mut self) {
        for queue in self.keys.values_mut() {
            if let Some(job) = queue.running.as_mut() {
                job.signal_group(Signal::SIGKILL);
                // Cannot block long: the child was just SIGKILLed.
                let _ = job.child.wait();
            }
        }
    }
}

type Spawned = (Child, Option<OutputPipe>, Option<OutputPipe>);

/// Starts `job` and registers its output pipes; on failure nothing is left running.
fn spawn(job: &Job, tokens: [Token; 2], registry: &Registry) -> Result<Spawned, String> {
    let Some(argv0) = job.argv.first() else {
        return Err("the job has no argv (not even a program name)".to_string());
    };
    let program = job
        .program
        .as_ref()
        .map_or_else(|| PathBuf::from(argv0), PathBuf::clone);
    let mut command = Command::new(&program);
    command
        .arg0(argv0)
        .args(job.argv.iter().skip(1))
        .env_clear()
        .envs(job.env.iter().map(|(name, value)| (name, value)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(user) = job.user {
        command.uid(user.uid).gid(user.gid);
    }
    let mut child = command
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", program.display()))?;
    let [stdout_token, stderr_token] = tokens;
    let stdout = child.stdout.take().map(Receiver::from);
    let stderr = child.stderr.take().map(Receiver::from);
    let watched = watch_pipe(stdout, stdout_token, registry)
        .and_then(|out| Ok((out, watch_pipe(stderr, stderr_token, registry)?)));
    match watched {
        Ok((stdout, stderr)) => Ok((child, stdout, stderr)),
        Err(err) => {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.wait();
            Err(format!(
                "started {} but could not watch its output, so stopped it: {err}",
                program.display()
            ))
        }
    }
}

fn watch_pipe(
    receiver: Option<Receiver>,
    token: Token,
    registry: &Registry,
) -> io::Result<Option<OutputPipe>> {
    let Some(mut receiver) = receiver else {
        return Ok(None);
    };
    receiver.set_nonblocking(true)?;
    registry.register(&mut receiver, token, Interest::READABLE)?;
    Ok(Some(OutputPipe {
        receiver,
        token,
        lines: LineSplitter::default(),
    }))
}

/// Where a job's lines go: events, or only a count once the job's line budget is spent.
struct LineSink<'a> {
    key: &'a str,
    pid: u32,
    stream: Stream,
    reported: &'a mut u64,
    dropped: &'a mut u64,
    events: &'a mut VecDeque<ScriptEvent>,
}

impl LineSink<'_> {
    fn emit(&mut self, line: &[u8], truncated: bool) {
        if *self.reported >= MAX_LINES_PER_JOB {
            *self.dropped += 1;
            return;
        }
        *self.reported += 1;
        self.events.push_back(ScriptEvent::Output {
            key: self.key.to_string(),
            pid: self.pid,
            stream: self.stream,
            line: String::from_utf8_lossy(line).into_owned(),
            truncated,
        });
    }
}

/// Reads `stream` of `job` until it would block (or `budget` bytes are read). At end of file
/// the pipe is closed and its last partial line reported; with `close` set, it is closed (and
/// its partial line reported) in any case.
fn drain_pipe(
    key: &str,
    job: &mut RunningJob,
    stream: Stream,
    registry: &Registry,
    mut budget: usize,
    close: bool,
    events: &mut VecDeque<ScriptEvent>,
) {
    let RunningJob {
        pid,
        stdout,
        stderr,
        lines_reported,
        lines_dropped,
        ..
    } = job;
    let slot = match stream {
        Stream::Stdout => stdout,
        Stream::Stderr => stderr,
    };
    let Some(pipe) = slot.as_mut() else {
        return;
    };
    let mut sink = LineSink {
        key,
        pid: *pid,
        stream,
        reported: lines_reported,
        dropped: lines_dropped,
        events,
    };
    let mut emit = |line: &[u8], truncated: bool| sink.emit(line, truncated);
    let mut buffer = [0u8; 16 * 1024];
    let at_end = loop {
        if budget == 0 {
            break false;
        }
        match pipe.receiver.read(&mut buffer) {
            Ok(0) => break true,
            Ok(read) => {
                budget = budget.saturating_sub(read);
                pipe.lines
                    .push(buffer.get(..read).unwrap_or_default(), &mut emit);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break false,
            // Any other read error ends this pipe like end of file.
            Err(_) => break true,
        }
    };
    if at_end || close {
        pipe.lines.flush(&mut emit);
        let _ = registry.deregister(&mut pipe.receiver);
        *slot = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::notify::{
        notify_env, notify_jobs, Notification, NotifySettings, NotifySubject,
    };
    use crate::script::test_dir::TestDir;
    use mio::{Events, Poll};
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};

    const FIRST_TOKEN: usize = 100;

    /// A miniature daemon loop around a runner, with a real mio::Poll.
    struct Harness {
        poll: Poll,
        events: Events,
        runner: ScriptRunner,
        seen: Vec<ScriptEvent>,
    }

    impl Harness {
        fn new(max_concurrent: usize) -> Self {
            let poll = match Poll::new() {
                Ok(poll) => poll,
                Err(err) => panic!("mio::Poll::new: {err}"),
            };
            Harness {
                poll,
                events: Events::with_capacity(64),
                runner: ScriptRunner::new(Token(FIRST_TOKEN), max_concurrent),
                seen: Vec::new(),
            }
        }

        fn enqueue(&mut self, key: &str, job: Job) {
            self.runner
                .enqueue(key, job, Instant::now(), self.poll.registry());
            self.collect();
        }

        fn collect(&mut self) {
            while let Some(event) = self.runner.poll_event() {
                self.seen.push(event);
            }
        }

        /// One turn of the loop. The daemon reaps on SIGCHLD from its signalfd; a test shares
        /// the process (and SIGCHLD) with other test threads, so it reaps on every wake-up and
        /// caps the wait at 10 ms instead. Output and timeouts are driven as in the daemon.
        fn turn(&mut self) {
            let tick = Instant::now() + Duration::from_millis(10);
            let wake = self.runner.poll_timeout().map_or(tick, |at| at.min(tick));
            let timeout = wake.saturating_duration_since(Instant::now());
            if let Err(err) = self.poll.poll(&mut self.events, Some(timeout)) {
                assert_eq!(err.kind(), io::ErrorKind::Interrupted, "poll: {err}");
            }
            let tokens: Vec<Token> = self.events.iter().map(|event| event.token()).collect();
            for token in tokens {
                assert!(self.runner.owns_token(token), "foreign token {token:?}");
                self.runner.handle_event(token, self.poll.registry());
            }
            self.runner
                .handle_timeout(Instant::now(), self.poll.registry());
            self.collect();
        }

        fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Harness) -> bool) {
            let give_up = Instant::now() + limit;
            while !done(self) {
                assert!(
                    Instant::now() < give_up,
                    "not done after {limit:?}; events so far: {:#?}",
                    self.seen
                );
                self.turn();
            }
        }

        fn run_until_idle(&mut self, limit: Duration) {
            self.run_until(limit, |harness| harness.runner.is_idle());
        }

        fn events_of(&self, key: &str) -> Vec<&ScriptEvent> {
            self.seen
                .iter()
                .filter(|event| event_key(event) == key)
                .collect()
        }

        fn output_of(&self, key: &str, wanted: Stream) -> Vec<String> {
            self.seen
                .iter()
                .filter_map(|event| match event {
                    ScriptEvent::Output {
                        key: k,
                        stream,
                        line,
                        ..
                    } if k == key && *stream == wanted => Some(line.clone()),
                    _ => None,
                })
                .collect()
        }

        fn outcomes_of(&self, key: &str) -> Vec<(Outcome, Duration)> {
            self.seen
                .iter()
                .filter_map(|event| match event {
                    ScriptEvent::Finished {
                        key: k,
                        outcome,
                        duration,
                        ..
                    } if k == key => Some((outcome.clone(), *duration)),
                    _ => None,
                })
                .collect()
        }
    }

    fn event_key(event: &ScriptEvent) -> &str {
        match event {
            ScriptEvent::Started { key, .. }
            | ScriptEvent::Output { key, .. }
            | ScriptEvent::Finished { key, .. }
            | ScriptEvent::SpawnFailed { key, .. }
            | ScriptEvent::Cancelled { key, .. }
            | ScriptEvent::Dropped { key, .. } => key,
        }
    }

    fn started_pid(harness: &Harness, key: &str) -> u32 {
        harness
            .seen
            .iter()
            .find_map(|event| match event {
                ScriptEvent::Started { key: k, pid, .. } if k == key => Some(*pid),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{key} never started: {:#?}", harness.seen))
    }

    /// Processes of process group `pgid` that are alive (zombies, waiting for their new parent
    /// to reap them, do not count).
    fn live_group_members(pgid: u32) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    return false;
                };
                // "pid (comm) state ppid pgrp ...": comm may hold anything, so split after ')'.
                let fields: Vec<&str> = stat
                    .rsplit_once(')')
                    .map(|(_, rest)| rest.split_whitespace().collect())
                    .unwrap_or_default();
                let state = fields.first().copied().unwrap_or("Z");
                fields.get(2).and_then(|pgrp| pgrp.parse::<u32>().ok()) == Some(pgid)
                    && state != "Z"
                    && state != "X"
            })
            .collect()
    }

    /// Waits (up to 5 s) for every process of group `pgid` to die: SIGKILL is delivered
    /// asynchronously.
    fn assert_group_dies(pgid: u32) {
        let give_up = Instant::now() + Duration::from_secs(5);
        loop {
            let members = live_group_members(pgid);
            if members.is_empty() {
                return;
            }
            assert!(
                Instant::now() < give_up,
                "process group {pgid} still has live members {members:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    /// A job running `/bin/sh -c script sh args...`.
    fn sh(script: &str, args: &[&str]) -> Job {
        let mut argv = strings(&["/bin/sh", "-c", script, "sh"]);
        argv.extend(strings(args));
        Job {
            program: None,
            argv,
            env: vec![("PATH".to_string(), "/usr/bin:/bin".to_string())],
            timeout: Duration::from_secs(20),
            user: None,
        }
    }

    #[test]
    fn notify_scripts_see_exactly_the_argv_and_env_built_for_them() {
        let dir = TestDir::new("argv");
        let args_file = dir.path().join("args");
        let script = dir.write_file(
            "notify.sh",
            &format!(
                "#!/bin/sh\nfor arg in \"$@\"; do printf '%s\\n' \"$arg\"; done > {}\n",
                args_file.display()
            ),
            0o755,
        );
        let notification = Notification {
            subject: NotifySubject::Instance,
            name: "VI_1".to_string(),
            state: "MASTER".to_string(),
            prev_state: "BACKUP".to_string(),
            reason: "master down timer expired".to_string(),
            priority: 100,
            vips: strings(&["192.0.2.10/24", "198.51.100.7"]),
        };
        let settings = NotifySettings::default();
        let script_path = script.display().to_string();
        let generic = strings(&["/bin/sh", &script_path, "two words", "it's"]);
        let specific = strings(&["/usr/bin/env"]);
        let jobs = notify_jobs(&notification, Some(&specific), Some(&generic), &settings);
        let mut harness = Harness::new(4);
        for job in jobs {
            harness.enqueue("VI_1", job);
        }
        harness.run_until_idle(Duration::from_secs(20));

        let args = std::fs::read_to_string(&args_file).unwrap_or_default();
        assert_eq!(args, "two words\nit's\nINSTANCE\nVI_1\nMASTER\n100\n");

        let mut printed_env = harness.output_of("VI_1", Stream::Stdout);
        printed_env.sort();
        let mut expected_env: Vec<String> = notify_env(&settings.base_env, &notification)
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        expected_env.sort();
        assert_eq!(printed_env, expected_env);
        assert_eq!(
            harness
                .outcomes_of("VI_1")
                .into_iter()
                .map(|(outcome, _)| outcome)
                .collect::<Vec<_>>(),
            [Outcome::Exited(0), Outcome::Exited(0)]
        );
    }

    #[test]
    fn program_overrides_what_is_executed_but_argv0_is_kept() {
        let mut harness = Harness::new(1);
        let mut job = sh("echo \"$0\"", &[]);
        job.program = Some(PathBuf::from("/bin/sh"));
        job.argv = strings(&["configured-name", "-c", "echo \"$0\""]);
        harness.enqueue("k", job);
        harness.run_until_idle(Duration::from_secs(10));
        assert_eq!(harness.output_of("k", Stream::Stdout), ["configured-name"]);
    }

    #[test]
    fn a_flood_of_jobs_on_one_key_keeps_only_the_newest_waiting() {
        let dir = TestDir::new("flood");
        let log = dir.path().join("log");
        let log_path = log.display().to_string();
        let mut harness = Harness::new(8);
        let total = MAX_QUEUED_PER_KEY + 11;
        for index in 0..total {
            harness.enqueue(
                "VI_1",
                sh("echo $1 >> \"$2\"", &[&index.to_string(), &log_path]),
            );
        }
        harness.run_until_idle(Duration::from_secs(30));
        let dropped = harness
            .events_of("VI_1")
            .iter()
            .filter(|e| matches!(e, ScriptEvent::Dropped { .. }))
            .count();
        // The first job starts at once; of the rest, only the newest MAX_QUEUED_PER_KEY wait.
        assert_eq!(dropped, total - 1 - MAX_QUEUED_PER_KEY);
        let ran: Vec<usize> = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect();
        let mut expected = vec![0];
        expected.extend(total - MAX_QUEUED_PER_KEY..total);
        assert_eq!(ran, expected);
    }

    #[test]
    fn twenty_rapid_jobs_on_one_key_run_one_at_a_time_in_order() {
        let dir = TestDir::new("order");
        let log = dir.path().join("log");
        let log_path = log.display().to_string();
        let mut harness = Harness::new(8);
        for index in 0..20 {
            let number = index.to_string();
            harness.enqueue(
                "VI_1",
                sh(
                    "echo start $1 >> \"$2\"; sleep 0.01; echo end $1 >> \"$2\"",
                    &[&number, &log_path],
                ),
            );
        }
        harness.run_until_idle(Duration::from_secs(30));

        let expected: String = (0..20)
            .map(|index| format!("start {index}\nend {index}\n"))
            .collect();
        assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), expected);
        // Started and Finished alternate, in enqueue order.
        let mut next_index = 0;
        let mut running = false;
        for event in harness.events_of("VI_1") {
            match event {
                ScriptEvent::Started { argv, .. } => {
                    assert!(!running, "two jobs of one key overlapped");
                    assert_eq!(argv.get(4), Some(&next_index.to_string()));
                    running = true;
                }
                ScriptEvent::Finished { outcome, .. } => {
                    assert!(running);
                    assert_eq!(*outcome, Outcome::Exited(0));
                    running = false;
                    next_index += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(next_index, 20);
    }

    #[test]
    fn different_keys_run_concurrently() {
        let dir = TestDir::new("concurrent");
        let base = dir.path().display().to_string();
        // Each script announces itself, then waits (up to 10 s) for the other one: both
        // succeed only if they run at the same time.
        let rendezvous = "touch \"$1/$2\"; i=0; \
                          while [ ! -e \"$1/$3\" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; \
                          [ -e \"$1/$3\" ]";
        let mut harness = Harness::new(4);
        harness.enqueue("VI_A", sh(rendezvous, &[&base, "a", "b"]));
        harness.enqueue("VI_B", sh(rendezvous, &[&base, "b", "a"]));
        harness.run_until_idle(Duration::from_secs(20));
        for key in ["VI_A", "VI_B"] {
            let outcomes: Vec<Outcome> = harness
                .outcomes_of(key)
                .into_iter()
                .map(|(outcome, _)| outcome)
                .collect();
            assert_eq!(outcomes, [Outcome::Exited(0)], "{key}");
        }
    }

    #[test]
    fn max_concurrent_makes_other_keys_wait_their_turn() {
        let mut harness = Harness::new(1);
        harness.enqueue("A", sh("sleep 0.1", &[]));
        harness.enqueue("B", sh("true", &[]));
        harness.run_until_idle(Duration::from_secs(10));
        let kinds: Vec<(&str, &str)> = harness
            .seen
            .iter()
            .map(|event| {
                let kind = match event {
                    ScriptEvent::Started { .. } => "started",
                    ScriptEvent::Finished { .. } => "finished",
                    _ => "other",
                };
                (event_key(event), kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("A", "started"),
                ("A", "finished"),
                ("B", "started"),
                ("B", "finished")
            ]
        );
    }

    #[test]
    fn a_script_ignoring_sigterm_is_killed_after_timeout_and_grace() {
        let mut harness = Harness::new(2);
        let mut job = sh("trap '' TERM; sleep 100", &[]);
        job.timeout = Duration::from_millis(300);
        harness.enqueue("VI_1", job);
        harness.enqueue("VI_1", sh("echo next", &[]));
        harness.run_until_idle(Duration::from_secs(20));

        let pid = started_pid(&harness, "VI_1");
        let outcomes = harness.outcomes_of("VI_1");
        let Some((outcome, duration)) = outcomes.first() else {
            panic!("no Finished: {:#?}", harness.seen);
        };
        assert_eq!(*outcome, Outcome::TimedOut { killed: true });
        assert!(
            *duration >= Duration::from_millis(300) + DEFAULT_KILL_GRACE,
            "{duration:?}"
        );
        // The `sleep` child, which ignored SIGTERM too, died with its group.
        assert_group_dies(pid);
        // And the key's queue went on.
        assert_eq!(harness.output_of("VI_1", Stream::Stdout), ["next"]);
    }

    #[test]
    fn stragglers_ignoring_sigterm_die_when_a_timed_out_leader_is_reaped() {
        let mut harness = Harness::new(1);
        // The leader dies of SIGTERM; its background subshell and that one's sleep ignore it.
        let mut job = sh("(trap '' TERM; sleep 100) & wait", &[]);
        job.timeout = Duration::from_millis(200);
        harness.enqueue("VI_1", job);
        harness.run_until_idle(Duration::from_secs(20));
        let pid = started_pid(&harness, "VI_1");
        let outcomes = harness.outcomes_of("VI_1");
        let Some((outcome, duration)) = outcomes.first() else {
            panic!("no Finished: {:#?}", harness.seen);
        };
        assert_eq!(*outcome, Outcome::TimedOut { killed: false });
        assert!(*duration < DEFAULT_KILL_GRACE, "{duration:?}");
        assert_group_dies(pid);
    }

    #[test]
    fn a_script_honouring_sigterm_stops_at_its_timeout() {
        let mut harness = Harness::new(1);
        let mut job = sh("sleep 100", &[]);
        job.timeout = Duration::from_millis(200);
        harness.enqueue("VI_1", job);
        harness.run_until_idle(Duration::from_secs(20));
        let outcomes = harness.outcomes_of("VI_1");
        let Some((outcome, duration)) = outcomes.first() else {
            panic!("no Finished: {:#?}", harness.seen);
        };
        assert_eq!(*outcome, Outcome::TimedOut { killed: false });
        assert!(*duration < DEFAULT_KILL_GRACE, "{duration:?}");
    }

    #[test]
    fn chatty_script_output_arrives_complete_and_in_order() {
        let mut harness = Harness::new(1);
        // 2000 lines of ~110 bytes on stdout (~220 KB, far more than a pipe holds) and 500 on
        // stderr.
        let padding = "x".repeat(100);
        let script = format!(
            "i=0; while [ $i -lt 2000 ]; do echo \"line $i {padding}\"; \
             if [ $((i % 4)) = 0 ]; then echo \"err $i\" >&2; fi; i=$((i+1)); done"
        );
        harness.enqueue("VI_1", sh(&script, &[]));
        harness.run_until_idle(Duration::from_secs(60));
        let expected_stdout: Vec<String> =
            (0..2000).map(|i| format!("line {i} {padding}")).collect();
        let expected_stderr: Vec<String> =
            (0..2000).step_by(4).map(|i| format!("err {i}")).collect();
        assert_eq!(harness.output_of("VI_1", Stream::Stdout), expected_stdout);
        assert_eq!(harness.output_of("VI_1", Stream::Stderr), expected_stderr);
        assert!(matches!(
            harness.seen.last(),
            Some(ScriptEvent::Finished {
                outcome: Outcome::Exited(0),
                lines_dropped: 0,
                ..
            })
        ));
    }

    #[test]
    fn long_lines_are_cut_and_a_last_partial_line_is_kept() {
        let mut harness = Harness::new(1);
        harness.enqueue(
            "VI_1",
            sh(
                "head -c 5000 /dev/zero | tr '\\000' a; echo; echo short; printf 'no newline'",
                &[],
            ),
        );
        harness.run_until_idle(Duration::from_secs(10));
        let output: Vec<(String, bool)> = harness
            .seen
            .iter()
            .filter_map(|event| match event {
                ScriptEvent::Output {
                    line, truncated, ..
                } => Some((line.clone(), *truncated)),
                _ => None,
            })
            .collect();
        assert_eq!(
            output,
            [
                ("a".repeat(MAX_LINE_BYTES), true),
                ("short".to_string(), false),
                ("no newline".to_string(), false)
            ]
        );
    }

    #[test]
    fn line_splitter_handles_boundaries() {
        let mut lines = Vec::new();
        let mut emit = |line: &[u8], truncated: bool| lines.push((line.len(), truncated));
        let mut splitter = LineSplitter::default();
        // Exactly MAX_LINE_BYTES is whole; one more byte is cut; pieces arrive in odd chunks.
        let exact = vec![b'e'; MAX_LINE_BYTES];
        splitter.push(exact.get(..1000).unwrap_or_default(), &mut emit);
        splitter.push(exact.get(1000..).unwrap_or_default(), &mut emit);
        splitter.push(b"\n", &mut emit);
        let over = vec![b'o'; MAX_LINE_BYTES + 1];
        splitter.push(&over, &mut emit);
        splitter.push(b"more of the same line\nnext\n\n", &mut emit);
        splitter.push(b"end", &mut emit);
        splitter.flush(&mut emit);
        assert_eq!(
            lines,
            [
                (MAX_LINE_BYTES, false),
                (MAX_LINE_BYTES, true),
                (4, false),
                (0, false),
                (3, false)
            ]
        );
    }

    #[test]
    fn output_beyond_the_line_budget_is_counted_not_reported() {
        let mut harness = Harness::new(1);
        let total = MAX_LINES_PER_JOB + 25;
        harness.enqueue("VI_1", sh("seq 1 \"$1\"", &[&total.to_string()]));
        harness.run_until_idle(Duration::from_secs(30));
        let stdout = harness.output_of("VI_1", Stream::Stdout);
        assert_eq!(stdout.len() as u64, MAX_LINES_PER_JOB);
        assert_eq!(stdout.last(), Some(&MAX_LINES_PER_JOB.to_string()));
        assert!(matches!(
            harness.seen.last(),
            Some(ScriptEvent::Finished {
                lines_dropped: 25,
                ..
            })
        ));
    }

    #[test]
    fn spawn_failure_is_reported_and_the_queue_goes_on() {
        let mut harness = Harness::new(1);
        let mut missing = sh("", &[]);
        missing.argv = strings(&["/nonexistent/keepvip-notify.sh", "MASTER"]);
        let mut empty = sh("", &[]);
        empty.argv = Vec::new();
        harness.enqueue("VI_1", missing);
        harness.enqueue("VI_1", empty);
        harness.enqueue("VI_1", sh("echo still running", &[]));
        harness.run_until_idle(Duration::from_secs(10));
        let events = harness.events_of("VI_1");
        match events.as_slice() {
            [ScriptEvent::SpawnFailed { argv, error, .. }, ScriptEvent::SpawnFailed {
                error: empty_error, ..
            }, ScriptEvent::Started { .. }, ScriptEvent::Output { line, .. }, ScriptEvent::Finished {
                outcome: Outcome::Exited(0),
                ..
            }] => {
                assert_eq!(
                    argv,
                    &strings(&["/nonexistent/keepvip-notify.sh", "MASTER"])
                );
                assert!(error.contains("/nonexistent/keepvip-notify.sh"), "{error}");
                assert!(error.contains("No such file"), "{error}");
                assert!(empty_error.contains("no argv"), "{empty_error}");
                assert_eq!(line, "still running");
            }
            other => panic!("unexpected events {other:#?}"),
        }
    }

    #[test]
    fn enqueue_never_waits_for_a_running_script() {
        let mut harness = Harness::new(2);
        let before = Instant::now();
        harness.enqueue("VI_1", sh("sleep 30", &[]));
        harness.enqueue("VI_1", sh("sleep 30", &[]));
        harness.enqueue("VI_2", sh("sleep 30", &[]));
        harness.turn();
        assert!(
            before.elapsed() < Duration::from_secs(5),
            "{:?}",
            before.elapsed()
        );
        assert!(!harness.runner.is_idle());
        let pids: Vec<u32> = harness
            .seen
            .iter()
            .filter_map(|event| match event {
                ScriptEvent::Started { pid, .. } => Some(*pid),
                _ => None,
            })
            .collect();
        assert_eq!(pids.len(), 2, "{:#?}", harness.seen);
        // Dropping the runner kills and reaps what is still running.
        drop(harness);
        for pid in pids {
            assert_group_dies(pid);
        }
    }

    #[test]
    fn scripts_start_clean_stdin_cwd_and_signal_mask() {
        // The daemon blocks its signals to read them from a signalfd; children must not
        // inherit that mask, or the runner's SIGTERM would never reach them.
        let mut blocked = SigSet::empty();
        blocked.add(Signal::SIGTERM);
        blocked.add(Signal::SIGCHLD);
        let mut previous = SigSet::empty();
        if let Err(err) =
            pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut previous))
        {
            panic!("pthread_sigmask: {err}");
        }
        let mut harness = Harness::new(1);
        harness.enqueue(
            "VI_1",
            sh(
                "grep SigBlk /proc/self/status; readlink /proc/self/fd/0; pwd",
                &[],
            ),
        );
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
        harness.run_until_idle(Duration::from_secs(10));
        assert_eq!(
            harness.output_of("VI_1", Stream::Stdout),
            ["SigBlk:\t0000000000000000", "/dev/null", "/"]
        );
    }

    #[test]
    fn a_background_process_holding_the_pipes_does_not_delay_finished() {
        let mut harness = Harness::new(1);
        harness.enqueue("VI_1", sh("sleep 30 & echo started", &[]));
        let before = Instant::now();
        harness.run_until_idle(Duration::from_secs(10));
        let pid = started_pid(&harness, "VI_1");
        // Clean up the background sleep: it is in the script's process group.
        let _ = killpg(
            Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX)),
            Signal::SIGKILL,
        );
        assert!(before.elapsed() < Duration::from_secs(10));
        assert_eq!(harness.output_of("VI_1", Stream::Stdout), ["started"]);
        assert_eq!(
            harness
                .outcomes_of("VI_1")
                .first()
                .map(|(outcome, _)| outcome.clone()),
            Some(Outcome::Exited(0))
        );
    }

    #[test]
    fn exit_codes_and_signals_are_reported() {
        let mut harness = Harness::new(2);
        harness.enqueue("exit", sh("exit 3", &[]));
        harness.enqueue("signal", sh("kill -USR1 $$", &[]));
        harness.run_until_idle(Duration::from_secs(10));
        let first = |key| {
            harness
                .outcomes_of(key)
                .first()
                .map(|(outcome, _)| outcome.clone())
        };
        assert_eq!(first("exit"), Some(Outcome::Exited(3)));
        assert_eq!(
            first("signal"),
            Some(Outcome::Signaled(Signal::SIGUSR1 as i32))
        );
        assert!(!Outcome::Exited(3).is_success());
        assert!(Outcome::Exited(0).is_success());
    }

    #[test]
    fn shutdown_bounds_running_jobs_and_cancels_late_ones() {
        let mut harness = Harness::new(2);
        harness.enqueue("VI_1", sh("sleep 100", &[]));
        harness.enqueue("VI_1", sh("echo too late", &[]));
        let deadline = Instant::now() + Duration::from_millis(300);
        harness.runner.shutdown(deadline);
        harness.run_until_idle(Duration::from_secs(10));
        assert!(Instant::now() < deadline + DEFAULT_KILL_GRACE);
        match harness.events_of("VI_1").as_slice() {
            [ScriptEvent::Started { .. }, ScriptEvent::Finished {
                outcome: Outcome::TimedOut { killed: false },
                ..
            }, ScriptEvent::Cancelled { argv, .. }] => {
                assert_eq!(argv.get(2).map(String::as_str), Some("echo too late"));
            }
            other => panic!("unexpected events {other:#?}"),
        }
        // After the deadline, new jobs are cancelled at once.
        harness.enqueue("VI_2", sh("true", &[]));
        assert!(harness.runner.is_idle());
        assert!(matches!(
            harness.seen.last(),
            Some(ScriptEvent::Cancelled { key, .. }) if key == "VI_2"
        ));
    }

    #[test]
    fn jobs_enqueued_after_shutdown_still_run_before_the_deadline() {
        let mut harness = Harness::new(1);
        harness
            .runner
            .shutdown(Instant::now() + Duration::from_secs(20));
        harness.enqueue("VI_1", sh("echo stopping", &[]));
        harness.run_until_idle(Duration::from_secs(10));
        assert_eq!(harness.output_of("VI_1", Stream::Stdout), ["stopping"]);
    }

    #[test]
    fn script_user_sets_uid_gid_and_drops_supplementary_groups() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test must run as root"
        );
        let mut harness = Harness::new(1);
        let mut job = sh("id -u; id -g; id -G", &[]);
        job.user = Some(ScriptUser {
            uid: 65534,
            gid: 65534,
        });
        harness.enqueue("VI_1", job);
        harness.run_until_idle(Duration::from_secs(10));
        assert_eq!(
            harness.output_of("VI_1", Stream::Stdout),
            ["65534", "65534", "65534"]
        );
    }

    #[test]
    fn the_runner_owns_exactly_its_token_range() {
        let runner = ScriptRunner::new(Token(10), 3);
        assert!(!runner.owns_token(Token(9)));
        assert!(runner.owns_token(Token(10)));
        assert!(runner.owns_token(Token(15)));
        assert!(!runner.owns_token(Token(16)));
        assert!(runner.is_idle());
        assert_eq!(runner.poll_timeout(), None);
    }
}
