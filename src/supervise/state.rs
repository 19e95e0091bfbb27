//! The supervisor's decisions as a pure state machine: an [`Event`] in, [`Action`]s out, driven
//! by tests without forking.

use std::time::{Duration, Instant};

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
    /// The stop's grace before SIGKILL; `None`: never escalate (the orchestrator will).
    grace: Option<Duration>,
    /// What is left behind gets this long after the command exits (or what is left of the
    /// stop's grace, when one runs).
    leftover: Duration,
    phase: Phase,
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
                    *stop_deadline = self.grace.map(|grace| now + grace);
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
                    Some(stop) => (*stop).max(now).min(now + self.leftover),
                    None => now + self.leftover,
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

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(10);

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
        assert_eq!(s.step(Event::MainExited(3), t0), [Action::TermRemaining]);
        assert_eq!(s.deadline(), Some(t0 + GRACE));
        assert_eq!(s.step(Event::Signal(libc::SIGTERM), t0), []);
        assert_eq!(s.step(Event::NothingLeft, t0), [Action::Exit(3)]);
    }

    #[test]
    fn leftovers_are_killed_after_the_grace() {
        let mut s = Supervisor::new(Some(GRACE), GRACE);
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
        let mut s = Supervisor::new(Some(GRACE), GRACE);
        let t0 = Instant::now();
        s.step(Event::MainExited(1), t0);
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
            s.step(Event::MainExited(137), t0 + GRACE),
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
        s.step(Event::MainExited(130), exit);
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
            s.step(Event::MainExited(143), later),
            [Action::TermRemaining]
        );
        assert_eq!(s.deadline(), Some(later + GRACE));
        assert_eq!(
            s.step(Event::Timeout, later + GRACE),
            [Action::KillRemaining]
        );
    }
}
