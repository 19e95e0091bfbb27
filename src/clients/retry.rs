//! The one retry policy for lookups: a named, bounded schedule and an overall deadline.
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
        let now = Instant::now();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
