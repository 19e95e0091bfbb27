//! The one retry policy for lookups: a named, bounded schedule and an overall deadline, and
//! the one loop ([`until`]) every wait runs on: the driver in Marathon, the application ID,
//! the companion's learn/store/publish, a Marathon app locked by a deployment (409).
//!
//! `LOOKUP`: wait 0.25 s, 0.5 s, 1 s, 2 s, 4 s, 8 s, then 10 s between attempts, never past the
//! deadline (`SPARK_INIT_RESOLVE_TIMEOUT`, default 300 s). Short first waits catch a driver that
//! is just starting; the 10 s cap keeps a long wait from hammering Marathon (a few hundred
//! executors poll it at once).

use std::time::{Duration, Instant};

pub const LOOKUP: &[Duration] = &[
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(10),
];

/// How often a long wait says what it waits for (the first time at the first miss).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// The least time a request in a wait gets: the schedule's last pause ends at the deadline, and
/// the look made there still deserves an answer, not a timeout, as the last reason reported. A
/// wait therefore ends at most this long after its deadline.
pub const LAST_LOOK: Duration = Duration::from_secs(1);

/// Walks a schedule; the last step repeats.
#[derive(Debug, Clone)]
pub struct Backoff {
    schedule: &'static [Duration],
    step: usize,
    pub deadline: Instant,
    last_progress: Option<Instant>,
}

impl Backoff {
    pub fn new(schedule: &'static [Duration], timeout: Duration) -> Self {
        Self::starting_at(schedule, timeout, Instant::now())
    }

    /// A schedule whose deadline is `timeout` after `now` (a [`Clock`]'s now).
    pub fn starting_at(schedule: &'static [Duration], timeout: Duration, now: Instant) -> Self {
        Self {
            schedule,
            step: 0,
            deadline: now + timeout,
            last_progress: None,
        }
    }

    /// The next pause, cut to the deadline; `None` once the deadline has passed.
    pub fn next_pause(&mut self, now: Instant) -> Option<Duration> {
        if now >= self.deadline {
            return None;
        }
        let pause = self.schedule[self.step.min(self.schedule.len() - 1)];
        self.step += 1;
        Some(pause.min(self.deadline - now))
    }

    /// Whether a progress line is due: at the first miss, then at most one every
    /// `PROGRESS_EVERY`.
    pub fn progress_due(&mut self, now: Instant) -> bool {
        match self.last_progress {
            Some(last) if now.duration_since(last) < PROGRESS_EVERY => false,
            _ => {
                self.last_progress = Some(now);
                true
            }
        }
    }
}

/// The time requests inside a wait may take: each gets `per_request` (`SPARK_INIT_HTTP_TIMEOUT`)
/// cut to the time left before the deadline, so that a hanging service ends the wait on time
/// rather than one request late; but at least [`LAST_LOOK`].
#[derive(Clone, Copy)]
pub struct Budget<'a> {
    pub per_request: Duration,
    pub deadline: Instant,
    pub clock: &'a dyn Clock,
}

impl Budget<'_> {
    /// The timeout for a request starting now.
    pub fn request_timeout(&self) -> Duration {
        let left = self.deadline.saturating_duration_since(self.clock.now());
        self.per_request.min(left.max(LAST_LOOK))
    }
}

/// Time as a wait sees it. Waits take it as an argument so that tests run them on a clock
/// that only pretends to sleep.
pub trait Clock {
    fn now(&self) -> Instant;
    fn sleep(&self, pause: Duration);
}

/// The real clock: `Instant::now` and `std::thread::sleep`.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, pause: Duration) {
        std::thread::sleep(pause)
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt<T, E> {
    /// Found: the wait is over.
    Done(T),
    /// Not yet, and why: the reason goes into the progress lines and, at the deadline, into
    /// the final error.
    Retry(String),
    /// Waiting cannot fix this (a refusal, an answer that makes no sense).
    Fail(E),
}

/// Why [`until`] returned without a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Waited<E> {
    /// An attempt failed for good.
    Failed(E),
    /// Asked to look once (the dry run): the reason the one attempt gave.
    LookedOnce(String),
    /// The deadline passed: the last attempt's reason.
    Deadline(String),
}

/// Runs `attempt` until it is done or fails, pausing between attempts on `backoff`'s schedule;
/// at the deadline returns the last reason. With `once`, one attempt and no pause. With
/// `progress` (what is awaited, "the driver"), logs `waiting for <progress>: <reason>` at the
/// first miss, then at most every `PROGRESS_EVERY`.
pub fn until<T, E>(
    backoff: &mut Backoff,
    clock: &dyn Clock,
    once: bool,
    progress: Option<&str>,
    mut attempt: impl FnMut() -> Attempt<T, E>,
) -> Result<T, Waited<E>> {
    loop {
        let reason = match attempt() {
            Attempt::Done(value) => return Ok(value),
            Attempt::Fail(e) => return Err(Waited::Failed(e)),
            Attempt::Retry(reason) => reason,
        };
        if once {
            return Err(Waited::LookedOnce(reason));
        }
        let now = clock.now();
        if let Some(what) = progress {
            if backoff.progress_due(now) {
                tracing::info!("waiting for {what}: {reason}");
            }
        }
        match backoff.next_pause(now) {
            Some(pause) => clock.sleep(pause),
            None => return Err(Waited::Deadline(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::fake::FakeClock;

    #[test]
    fn the_schedule_grows_caps_and_stops_at_the_deadline() {
        let mut b = Backoff::new(LOOKUP, Duration::from_secs(30));
        let start = b.deadline - Duration::from_secs(30);
        let mut now = start;
        let mut pauses = Vec::new();
        while let Some(p) = b.next_pause(now) {
            pauses.push(p);
            now += p;
        }
        assert_eq!(&pauses[..7], LOOKUP);
        assert!(pauses[7..].iter().all(|p| *p <= Duration::from_secs(10)));
        assert_eq!(now, b.deadline);
    }

    #[test]
    fn progress_lines_are_spaced() {
        let mut b = Backoff::new(LOOKUP, Duration::from_secs(300));
        let start = b.deadline - Duration::from_secs(300);
        assert!(b.progress_due(start + Duration::from_secs(1)));
        assert!(!b.progress_due(start + Duration::from_secs(5)));
        assert!(b.progress_due(start + Duration::from_secs(11)));
        assert!(!b.progress_due(start + Duration::from_secs(15)));
        assert!(b.progress_due(start + Duration::from_secs(21)));
    }

    #[test]
    fn until_pauses_on_the_schedule_and_returns_the_value() {
        let clock = FakeClock::default();
        let mut b = Backoff::starting_at(LOOKUP, Duration::from_secs(300), clock.now());
        let mut tries = 0;
        let got: Result<u32, Waited<()>> = until(&mut b, &clock, false, Some("x"), || {
            tries += 1;
            if tries < 4 {
                Attempt::Retry(format!("try {tries}"))
            } else {
                Attempt::Done(tries)
            }
        });
        assert_eq!(got, Ok(4));
        assert_eq!(clock.slept(), &LOOKUP[..3]);
    }

    #[test]
    fn until_gives_the_last_reason_at_the_deadline() {
        let clock = FakeClock::default();
        let mut b = Backoff::starting_at(LOOKUP, Duration::from_secs(30), clock.now());
        let mut tries = 0;
        let got: Result<(), Waited<()>> = until(&mut b, &clock, false, None, || {
            tries += 1;
            Attempt::Retry(format!("try {tries}"))
        });
        assert_eq!(got, Err(Waited::Deadline(format!("try {tries}"))));
        assert_eq!(
            clock.slept().iter().sum::<Duration>(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn until_stops_at_a_failure_and_looks_once_when_asked() {
        let clock = FakeClock::default();
        let mut b = Backoff::starting_at(LOOKUP, Duration::from_secs(30), clock.now());
        let failed: Result<(), Waited<&str>> =
            until(&mut b, &clock, false, None, || Attempt::Fail("refused"));
        assert_eq!(failed, Err(Waited::Failed("refused")));
        let once: Result<(), Waited<()>> = until(&mut b, &clock, true, None, || {
            Attempt::Retry("absent".into())
        });
        assert_eq!(once, Err(Waited::LookedOnce("absent".into())));
        assert!(clock.slept().is_empty());
    }

    #[test]
    fn a_request_gets_at_most_the_time_left_but_a_last_look() {
        let clock = FakeClock::default();
        let budget = Budget {
            per_request: Duration::from_secs(4),
            deadline: clock.now() + Duration::from_secs(5),
            clock: &clock,
        };
        let mut timeouts = Vec::new();
        for pause in [0, 250, 750, 2750, 1000] {
            clock.sleep(Duration::from_millis(pause));
            timeouts.push(budget.request_timeout());
        }
        let ms = Duration::from_millis;
        assert_eq!(
            timeouts,
            [ms(4000), ms(4000), ms(4000), ms(1250), LAST_LOOK]
        );
    }
}
