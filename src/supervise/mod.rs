//! Supervise: start the command and stay with it until everything it left behind is gone.
//!
//! The decisions live in [`Supervisor::step`], a pure state machine that tests drive without
//! forking; [`run`] performs its actions. The loop is tini's (`src/tini.c`): one thread, signals
//! taken with `sigtimedwait` (no timeout unless a grace period is running, so no periodic
//! wake-ups), every asynchronous signal but SIGCHLD forwarded, zombies reaped with
//! `waitpid(-1, WNOHANG)` until none is left (SIGCHLD coalesces).
//!
//! Beyond tini: when the main child exits, everything it left behind gets one SIGTERM and up to
//! the grace period to finish, then SIGKILL; spark-init exits as soon as nothing is left. When
//! spark-init itself is asked to stop (TERM or INT), the child gets the same grace before
//! SIGKILL. The whole stop shares one grace budget: what the child did not use is left for the
//! processes it leaves behind.

pub mod signals;

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;

use self::signals::Wake;
use crate::exit_code;
use crate::plan::{Plan, Supervision};

#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    #[error("cannot become a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so orphans could not be reaped: {0}")]
    Subreaper(nix::Error),
    #[error("cannot run {program:?}: {source}")]
    Spawn { program: String, source: io::Error },
    #[error("nothing to run: the plan has an empty command")]
    EmptyCommand,
}

impl SuperviseError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SuperviseError::Spawn { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                exit_code::NOT_FOUND
            }
            SuperviseError::Spawn { .. } => exit_code::CANNOT_EXECUTE,
            SuperviseError::Subreaper(_) | SuperviseError::EmptyCommand => exit_code::INTERNAL,
        }
    }
}

/// What happened, as the loop saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An asynchronous signal other than SIGCHLD.
    Signal(i32),
    /// The main child was reaped; its shell-style code (128+N when killed by signal N).
    MainExited(i32),
    /// `waitpid` says there are no children left.
    NothingLeft,
    /// The current deadline passed.
    Timeout,
}

/// What to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Forward(i32),
    /// The child outlived the stop grace: SIGKILL it (its group in group mode).
    KillMain,
    /// SIGTERM to every process left behind.
    TermRemaining,
    /// SIGKILL to every process left behind.
    KillRemaining,
    Exit(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The main child runs; `stop_deadline` is set once we were asked to stop.
    Running {
        stop_deadline: Option<Instant>,
        killed: bool,
    },
    /// The main child is gone; waiting for what it left behind.
    Draining {
        code: i32,
        deadline: Instant,
        killed: bool,
    },
}

/// After SIGKILL, how long to wait for the kernel to finish the processes before giving up on
/// them (a process stuck in uninterruptible sleep cannot be reaped; as PID 1 our exit takes the
/// namespace with it anyway).
const AFTER_KILL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct Supervisor {
    grace: Duration,
    phase: Phase,
}

impl Supervisor {
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            phase: Phase::Running {
                stop_deadline: None,
                killed: false,
            },
        }
    }

    /// When the loop must wake up even if no signal comes; `None` means wait forever.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Running {
                stop_deadline,
                killed: false,
            } => stop_deadline,
            Phase::Running { killed: true, .. } => None,
            Phase::Draining { deadline, .. } => Some(deadline),
        }
    }

    pub fn step(&mut self, event: Event, now: Instant) -> Vec<Action> {
        match (&mut self.phase, event) {
            (Phase::Running { stop_deadline, .. }, Event::Signal(sig)) => {
                if (sig == libc::SIGTERM || sig == libc::SIGINT) && stop_deadline.is_none() {
                    *stop_deadline = Some(now + self.grace);
                }
                vec![Action::Forward(sig)]
            }
            (
                Phase::Running {
                    stop_deadline,
                    killed,
                },
                Event::Timeout,
            ) => match stop_deadline {
                Some(deadline) if now >= *deadline && !*killed => {
                    *killed = true;
                    vec![Action::KillMain]
                }
                _ => vec![],
            },
            (Phase::Running { stop_deadline, .. }, Event::MainExited(code)) => {
                // One budget for the whole stop: what is left of the stop grace, if any.
                let deadline = match stop_deadline {
                    Some(stop) => (*stop).max(now).min(now + self.grace),
                    None => now + self.grace,
                };
                self.phase = Phase::Draining {
                    code,
                    deadline,
                    killed: false,
                };
                vec![Action::TermRemaining]
            }
            // Cannot happen before the main child is reaped: it is a child.
            (Phase::Running { .. }, Event::NothingLeft) => vec![],
            (Phase::Draining { code, .. }, Event::NothingLeft) => vec![Action::Exit(*code)],
            (
                Phase::Draining {
                    code,
                    deadline,
                    killed,
                },
                Event::Timeout,
            ) => {
                if now < *deadline {
                    vec![]
                } else if !*killed {
                    *killed = true;
                    *deadline = now + AFTER_KILL;
                    vec![Action::KillRemaining]
                } else {
                    vec![Action::Exit(*code)]
                }
            }
            // Already stopping everything; there is no main child to forward to.
            (Phase::Draining { .. }, Event::Signal(_) | Event::MainExited(_)) => vec![],
        }
    }
}

/// Starts the plan's command and supervises it; returns spark-init's exit code.
/// How the run ended: the command's own code and spark-init's (after the remap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub command: i32,
    pub code: i32,
}

pub fn run(
    plan: &Plan,
    env: &[(OsString, OsString)],
    blocked: &SigSet,
    companion: Option<&dyn Fn()>,
) -> Result<Outcome, SuperviseError> {
    let pid1 = std::process::id() == 1;
    if !pid1 {
        nix::sys::prctl::set_child_subreaper(true).map_err(SuperviseError::Subreaper)?;
    }
    let (program, args) = plan
        .argv
        .split_first()
        .ok_or(SuperviseError::EmptyCommand)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    for (name, value) in &plan.env {
        command.env(name, value);
    }
    // SAFETY: reset_in_child makes only async-signal-safe calls and allocates nothing.
    unsafe { command.pre_exec(|| signals::reset_in_child()) };
    let child = command.spawn().map_err(|source| SuperviseError::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    })?;
    let main = child.id() as i32;
    // std's Child neither waits nor kills on drop; the loop below owns the process now.
    drop(child);
    let Supervision {
        grace,
        signal_group,
        ..
    } = plan.supervision;
    let target = if signal_group { -main } else { main };
    signals::forward_to(target);
    tracing::info!(pid = main, pid1, "started {}", program.to_string_lossy());
    if let Some(work) = companion {
        start_companion(work);
    }
    release_code_pages();

    let mut supervisor = Supervisor::new(grace);
    loop {
        let timeout = supervisor
            .deadline()
            .map(|d| d.saturating_duration_since(Instant::now()));
        let events = match signals::wait(blocked, timeout) {
            Wake::Signal(libc::SIGCHLD) => reap(main),
            Wake::Signal(sig) => vec![Event::Signal(sig)],
            Wake::TimedOut => vec![Event::Timeout],
            Wake::Interrupted => continue,
        };
        for event in events {
            if let Event::MainExited(code) = event {
                signals::stop_forwarding();
                tracing::info!(pid = main, code, "command exited");
            }
            for action in supervisor.step(event, Instant::now()) {
                match action {
                    Action::Forward(sig) => {
                        tracing::debug!(sig, target, "forwarding signal");
                        signals::send(target, sig);
                    }
                    Action::KillMain => {
                        tracing::warn!(
                            pid = main,
                            grace_seconds = grace.as_secs_f64(),
                            "the command did not stop within the grace period; sending SIGKILL"
                        );
                        signals::send(target, libc::SIGKILL);
                    }
                    Action::TermRemaining => {
                        let n = signal_remaining(pid1, libc::SIGTERM);
                        if n > 0 {
                            tracing::info!(
                                processes = n,
                                "sent SIGTERM to the processes the command left behind"
                            );
                        }
                    }
                    Action::KillRemaining => {
                        let n = signal_remaining(pid1, libc::SIGKILL);
                        tracing::warn!(
                            processes = n,
                            "processes left behind outlived the grace period; sent SIGKILL"
                        );
                    }
                    Action::Exit(command_code) => {
                        let code = plan.supervision.exit_code(command_code);
                        if code == command_code {
                            tracing::info!(code, "exiting");
                        } else {
                            tracing::info!(code, command_code, "exiting (SPARK_INIT_EXIT_REMAP)");
                        }
                        return Ok(Outcome {
                            command: command_code,
                            code,
                        });
                    }
                }
            }
        }
    }
}

/// Forks a companion process for work alongside the command (the driver's framework-ID
/// bookkeeping). It is one more child: reaped like any other, sent SIGTERM with the rest when
/// the command exits. PID 1 stays single-threaded: the companion's threads are its own.
fn start_companion(work: &dyn Fn()) {
    // SAFETY: PID 1 is single-threaded here, so the child may run ordinary code after fork.
    match unsafe { libc::fork() } {
        0 => {
            // Signals back to normal, so the SIGTERM sent to what is left ends it.
            signals::raw_set_mask(libc::SIG_SETMASK, 0);
            for sig in 1..=64 {
                // SAFETY: SIG_DFL needs no restorer.
                unsafe { signals::raw_set_disposition(sig, libc::SIG_DFL) };
            }
            work();
            // SAFETY: leave without running PID 1's exit handlers.
            unsafe { libc::_exit(0) }
        }
        pid if pid < 0 => tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "cannot start the companion process; the framework ID will not be updated"
        ),
        _ => {}
    }
}

/// Drops this process's page-table entries for the read-only parts of its binary (code,
/// constants), found in `/proc/self/smaps`: mappings of a file, not writable, and without a
/// single private (anonymous) page, so nothing can be lost — the pages stay in the page cache
/// and the next access reads them back. Parsing, resolving and HTTP code ran once and will not
/// run again; the supervisor loop faults back the little it uses, and PID 1's resident set
/// drops from the whole binary to that little.
fn release_code_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    // Collect first, then advise in a tight loop: code run after an madvise is faulted back.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let perms = fields.next().unwrap_or("");
            let path = fields.nth(3).unwrap_or("");
            let read_only = perms.starts_with('r') && perms.as_bytes().get(1) == Some(&b'-');
            current = match (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                (Ok(start), Ok(end)) if read_only && path.starts_with('/') => Some((start, end)),
                _ => None,
            };
        } else if first == "Anonymous:" {
            if let Some(range) = current.take() {
                if fields.next() == Some("0") {
                    ranges.push(range);
                }
            }
        }
    }
    for (start, end) in ranges {
        // SAFETY: a private, file-backed, read-only mapping of ours with no anonymous pages:
        // MADV_DONTNEED only unmaps its pages; the next access reads them from the file.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Reaps every child that has exited; SIGCHLD coalesces, so loop until none is ready.
fn reap(main: i32) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`. __WALL also reaps clone() children
        // whose exit signal is not SIGCHLD.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::__WALL) };
        if pid > 0 {
            if pid == main {
                let code = if libc::WIFSIGNALED(status) {
                    exit_code::SIGNALED_BASE + libc::WTERMSIG(status)
                } else {
                    libc::WEXITSTATUS(status)
                };
                events.push(Event::MainExited(code));
            }
            continue;
        }
        if pid == 0 {
            return events;
        }
        match nix::errno::Errno::last() {
            nix::errno::Errno::EINTR => continue,
            nix::errno::Errno::ECHILD => {
                events.push(Event::NothingLeft);
                return events;
            }
            e => {
                tracing::error!(error = %e, "waitpid failed");
                return events;
            }
        }
    }
}

/// Signals every process the command left behind; returns how many were signalled (as PID 1,
/// 1 when `kill(-1)` reached at least one).
fn signal_remaining(pid1: bool, sig: i32) -> usize {
    if !has_children() {
        // Every descendant is a child of ours or below one (orphans are reparented to us),
        // so no children means nothing is left; skip the /proc scan.
        return 0;
    }
    if pid1 {
        // PID 1 of a namespace: kill(-1) reaches every other process in it.
        return usize::from(signals::send(-1, sig));
    }
    let me = std::process::id() as i32;
    descendants(me)
        .into_iter()
        .filter(|&pid| signals::send(pid, sig))
        .count()
}

/// Whether any child, running or exited but not yet reaped, is left.
fn has_children() -> bool {
    // SAFETY: siginfo_t is plain data; all zeroes is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid with WNOWAIT only peeks; `info` is written by the kernel.
    let rc = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL,
        )
    };
    !(rc < 0 && nix::errno::Errno::last() == nix::errno::Errno::ECHILD)
}

/// Every process below `root`, from the parent links in `/proc/<pid>/stat`.
fn descendants(root: i32) -> Vec<i32> {
    let mut parents = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                if let Some(ppid) = parse_ppid(&stat) {
                    parents.push((pid, ppid));
                }
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The 4th field of `/proc/<pid>/stat`, after the command name in parentheses (which may
/// itself contain spaces and parentheses, hence the last `)`).
fn parse_ppid(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(10);

    #[test]
    fn forwards_signals_while_running() {
        let mut s = Supervisor::new(GRACE);
        let t0 = Instant::now();
        assert_eq!(
            s.step(Event::Signal(libc::SIGUSR1), t0),
            [Action::Forward(libc::SIGUSR1)]
        );
        assert_eq!(s.deadline(), None, "no wake-ups while nothing is stopping");
        assert_eq!(
            s.step(Event::Signal(libc::SIGQUIT), t0),
            [Action::Forward(libc::SIGQUIT)]
        );
    }

    #[test]
    fn main_exit_drains_then_exits_when_nothing_is_left() {
        let mut s = Supervisor::new(GRACE);
        let t0 = Instant::now();
        assert_eq!(s.step(Event::MainExited(3), t0), [Action::TermRemaining]);
        assert_eq!(s.deadline(), Some(t0 + GRACE));
        assert_eq!(s.step(Event::Signal(libc::SIGTERM), t0), []);
        assert_eq!(s.step(Event::NothingLeft, t0), [Action::Exit(3)]);
    }

    #[test]
    fn leftovers_are_killed_after_the_grace() {
        let mut s = Supervisor::new(GRACE);
        let t0 = Instant::now();
        s.step(Event::MainExited(0), t0);
        assert_eq!(
            s.step(Event::Timeout, t0 + Duration::from_secs(1)),
            [],
            "early wake-up"
        );
        assert_eq!(s.step(Event::Timeout, t0 + GRACE), [Action::KillRemaining]);
        assert_eq!(s.step(Event::NothingLeft, t0 + GRACE), [Action::Exit(0)]);
    }

    #[test]
    fn gives_up_on_unkillable_leftovers() {
        let mut s = Supervisor::new(GRACE);
        let t0 = Instant::now();
        s.step(Event::MainExited(1), t0);
        s.step(Event::Timeout, t0 + GRACE);
        let later = t0 + GRACE + AFTER_KILL;
        assert_eq!(s.deadline(), Some(later));
        assert_eq!(s.step(Event::Timeout, later), [Action::Exit(1)]);
    }

    #[test]
    fn stop_request_escalates_to_sigkill_after_the_grace() {
        let mut s = Supervisor::new(GRACE);
        let t0 = Instant::now();
        assert_eq!(
            s.step(Event::Signal(libc::SIGTERM), t0),
            [Action::Forward(libc::SIGTERM)]
        );
        assert_eq!(s.deadline(), Some(t0 + GRACE));
        // A second TERM does not move the deadline.
        s.step(Event::Signal(libc::SIGTERM), t0 + Duration::from_secs(5));
        assert_eq!(s.deadline(), Some(t0 + GRACE));
        assert_eq!(s.step(Event::Timeout, t0 + GRACE), [Action::KillMain]);
        assert_eq!(s.deadline(), None);
        assert_eq!(
            s.step(Event::MainExited(137), t0 + GRACE),
            [Action::TermRemaining]
        );
        // The stop budget is spent: leftovers are killed at the next wake-up.
        assert_eq!(s.deadline(), Some(t0 + GRACE));
        assert_eq!(s.step(Event::Timeout, t0 + GRACE), [Action::KillRemaining]);
    }

    #[test]
    fn leftovers_get_what_is_left_of_the_stop_grace() {
        let mut s = Supervisor::new(GRACE);
        let t0 = Instant::now();
        s.step(Event::Signal(libc::SIGINT), t0);
        let exit = t0 + Duration::from_secs(4);
        s.step(Event::MainExited(130), exit);
        assert_eq!(s.deadline(), Some(t0 + GRACE));
    }

    #[test]
    fn parses_ppid_after_odd_command_names() {
        assert_eq!(parse_ppid("42 (a) b (c)) S 7 42 42 0"), Some(7));
        assert_eq!(parse_ppid("1 (init) S 0 1 1"), Some(0));
        assert_eq!(parse_ppid("garbage"), None);
    }

    #[test]
    fn finds_its_own_descendants() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let found = descendants(std::process::id() as i32);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.contains(&(child.id() as i32)), "{found:?}");
    }
}
