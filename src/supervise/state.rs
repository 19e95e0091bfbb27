//! The supervisor's decisions as a pure state machine: an [`Event`] in, [`Action`]s out, driven
//! by tests without forking. It also remembers what spark-init itself did to the command (the
//! signals it forwarded, its own SIGKILL), so the exit can be explained ([`Supervisor::sender`]).

use std::time::{Duration, Instant};

use crate::exit_code;
use crate::supervise::signals::SignalSet;

/// How the main child ended, as `waitpid` reported it. Kept raw: a death by SIGKILL and an
/// `exit(137)` are both 137 to a shell, but only the first can be the kernel's OOM killer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(i32),
    Signaled { signal: i32, core_dumped: bool },
}

impl ChildStatus {
    /// From a `waitpid` status word (`WIFSIGNALED`, `WTERMSIG`, `WCOREDUMP`, `WEXITSTATUS`).
    pub fn from_wait_status(status: i32) -> Self {
        if libc::WIFSIGNALED(status) {
            ChildStatus::Signaled {
                signal: libc::WTERMSIG(status),
                core_dumped: libc::WCOREDUMP(status),
            }
        } else {
            ChildStatus::Exited(libc::WEXITSTATUS(status))
        }
    }

    /// The code as a shell reports it: the exit code, or 128+N for a death by signal N.
    pub fn code(self) -> i32 {
        match self {
            ChildStatus::Exited(code) => code,
            ChildStatus::Signaled { signal, .. } => exit_code::SIGNALED_BASE + signal,
        }
    }

    pub fn signal(self) -> Option<i32> {
        match self {
            ChildStatus::Signaled { signal, .. } => Some(signal),
            ChildStatus::Exited(_) => None,
        }
    }
}

/// Who sent the command a signal, as far as spark-init knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Sender {
    /// spark-init's own SIGKILL: the command outlived the stop's grace.
    #[serde(rename = "spark_init_escalation")]
    Escalation,
    /// spark-init passed on a signal it was sent.
    #[serde(rename = "spark_init_forwarded")]
    Forwarded,
    /// Not spark-init: the kernel (its OOM killer, a fault) or another process.
    #[serde(rename = "outside")]
    Outside,
}

impl Sender {
    /// As the log's `signal_sender` field and the termination summary write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Escalation => "spark_init_escalation",
            Sender::Forwarded => "spark_init_forwarded",
            Sender::Outside => "outside",
        }
    }
}

/// What happened, as the loop saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An asynchronous signal other than SIGCHLD.
    Signal(i32),
    /// The main child was reaped.
    MainExited(ChildStatus),
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
    /// The stop's grace before SIGKILL; `None`: never escalate (the orchestrator will).
    grace: Option<Duration>,
    /// What is left behind gets this long after the command exits (or what is left of the
    /// stop's grace, when one runs).
    leftover: Duration,
    phase: Phase,
    /// The signals passed on to the command (bit n-1 for signal n).
    forwarded: SignalSet,
    /// Whether spark-init sent the command its own SIGKILL.
    killed_main: bool,
}

impl Supervisor {
    pub fn new(grace: Option<Duration>, leftover: Duration) -> Self {
        Self {
            grace,
            leftover,
            phase: Phase::Running {
                stop_deadline: None,
                killed: false,
            },
            forwarded: SignalSet::EMPTY,
            killed_main: false,
        }
    }

    /// Who sent `sig` to the command: spark-init's escalation, a signal it forwarded (also
    /// one forwarded outside the loop, `also_forwarded`: the synchronous ones), or neither.
    pub fn sender(&self, sig: i32, also_forwarded: SignalSet) -> Sender {
        if sig == libc::SIGKILL && self.killed_main {
            Sender::Escalation
        } else if self.forwarded.contains(sig) || also_forwarded.contains(sig) {
            Sender::Forwarded
        } else {
            Sender::Outside
        }
    }

    /// The stop signal (TERM or INT) spark-init was sent and forwarded, if any.
    pub fn stop_requested(&self) -> Option<i32> {
        [libc::SIGTERM, libc::SIGINT]
            .into_iter()
            .find(|&sig| self.forwarded.contains(sig))
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
                    *stop_deadline = self.grace.map(|grace| now + grace);
                }
                self.forwarded = self.forwarded.or(SignalSet::of([sig]));
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
                    self.killed_main = true;
                    vec![Action::KillMain]
                }
                _ => vec![],
            },
            (Phase::Running { stop_deadline, .. }, Event::MainExited(status)) => {
                // One budget for the whole stop: what is left of the stop grace, if any.
                let deadline = match stop_deadline {
                    Some(stop) => (*stop).max(now).min(now + self.leftover),
                    None => now + self.leftover,
                };
                self.phase = Phase::Draining {
                    code: status.code(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(10);
    const KILLED: ChildStatus = ChildStatus::Signaled {
        signal: libc::SIGKILL,
        core_dumped: false,
    };
    const NONE: SignalSet = SignalSet::EMPTY;

    #[test]
    fn forwards_signals_while_running() {
        let mut s = Supervisor::new(Some(GRACE), GRACE);
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
        let mut s = Supervisor::new(Some(GRACE), GRACE);
        let t0 = Instant::now();
        assert_eq!(
            s.step(Event::MainExited(ChildStatus::Exited(3)), t0),
            [Action::TermRemaining]
        );
        assert_eq!(s.deadline(), Some(t0 + GRACE));
        assert_eq!(s.step(Event::Signal(libc::SIGTERM), t0), []);
        assert_eq!(s.step(Event::NothingLeft, t0), [Action::Exit(3)]);
    }

    #[test]
    fn leftovers_are_killed_after_the_grace() {
        let mut s = Supervisor::new(Some(GRACE), GRACE);
        let t0 = Instant::now();
        s.step(Event::MainExited(ChildStatus::Exited(0)), t0);
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
        let mut s = Supervisor::new(Some(GRACE), GRACE);
        let t0 = Instant::now();
        s.step(Event::MainExited(ChildStatus::Exited(1)), t0);
        s.step(Event::Timeout, t0 + GRACE);
        let later = t0 + GRACE + AFTER_KILL;
        assert_eq!(s.deadline(), Some(later));
        assert_eq!(s.step(Event::Timeout, later), [Action::Exit(1)]);
    }

    #[test]
    fn stop_request_escalates_to_sigkill_after_the_grace() {
        let mut s = Supervisor::new(Some(GRACE), GRACE);
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
            s.step(Event::MainExited(KILLED), t0 + GRACE),
            [Action::TermRemaining]
        );
        // The stop budget is spent: leftovers are killed at the next wake-up.
        assert_eq!(s.deadline(), Some(t0 + GRACE));
        assert_eq!(s.step(Event::Timeout, t0 + GRACE), [Action::KillRemaining]);
    }

    #[test]
    fn leftovers_get_what_is_left_of_the_stop_grace() {
        let mut s = Supervisor::new(Some(GRACE), GRACE);
        let t0 = Instant::now();
        s.step(Event::Signal(libc::SIGINT), t0);
        let exit = t0 + Duration::from_secs(4);
        s.step(Event::MainExited(ChildStatus::Exited(130)), exit);
        assert_eq!(s.deadline(), Some(t0 + GRACE));
    }

    /// Issue 11: by default a stop never escalates: Marathon sends SIGKILL itself after the
    /// app's taskKillGracePeriodSeconds, and a JVM shutdown hook must not be cut short first.
    #[test]
    fn without_a_grace_a_stop_never_escalates_but_leftovers_are_bounded() {
        let mut s = Supervisor::new(None, GRACE);
        let t0 = Instant::now();
        assert_eq!(
            s.step(Event::Signal(libc::SIGTERM), t0),
            [Action::Forward(libc::SIGTERM)]
        );
        assert_eq!(s.deadline(), None);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(s.step(Event::Timeout, later), []);
        assert_eq!(
            s.step(Event::MainExited(ChildStatus::Exited(143)), later),
            [Action::TermRemaining]
        );
        assert_eq!(s.deadline(), Some(later + GRACE));
        assert_eq!(
            s.step(Event::Timeout, later + GRACE),
            [Action::KillRemaining]
        );
    }

    #[test]
    fn its_own_sigkill_is_told_from_one_sent_from_outside() {
        let mut s = Supervisor::new(Some(GRACE), GRACE);
        let t0 = Instant::now();
        assert_eq!(s.sender(libc::SIGKILL, NONE), Sender::Outside);
        s.step(Event::Signal(libc::SIGTERM), t0);
        assert_eq!(s.sender(libc::SIGKILL, NONE), Sender::Outside, "not yet");
        assert_eq!(s.sender(libc::SIGTERM, NONE), Sender::Forwarded);
        assert_eq!(s.stop_requested(), Some(libc::SIGTERM));
        s.step(Event::Timeout, t0 + GRACE);
        assert_eq!(s.sender(libc::SIGKILL, NONE), Sender::Escalation);
        assert_eq!(KILLED.code(), 137);
    }

    #[test]
    fn signals_forwarded_outside_the_loop_count_as_forwarded() {
        let s = Supervisor::new(None, GRACE);
        assert_eq!(s.sender(libc::SIGSEGV, NONE), Sender::Outside);
        let segv = SignalSet::of([libc::SIGSEGV]);
        assert_eq!(s.sender(libc::SIGSEGV, segv), Sender::Forwarded);
        assert_eq!(s.stop_requested(), None);
    }

    #[test]
    fn wait_status_keeps_a_signal_apart_from_exit_128_plus_n() {
        // The kernel's encoding (<bits/waitstatus.h>): exit code << 8; signal in the low 7
        // bits, 0x80 for a core dump.
        assert_eq!(
            ChildStatus::from_wait_status(137 << 8),
            ChildStatus::Exited(137)
        );
        assert_eq!(ChildStatus::from_wait_status(9), KILLED);
        assert_eq!(
            ChildStatus::from_wait_status(0x80 | 11),
            ChildStatus::Signaled {
                signal: 11,
                core_dumped: true
            }
        );
        assert_eq!(ChildStatus::from_wait_status(0x80 | 11).code(), 139);
    }
}
