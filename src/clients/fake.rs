//! In-crate fakes of the outside world, for unit tests that fork nothing and need no network:
//! a clock that only pretends to sleep, and scripted answers for every client trait.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::clients::retry::Clock;

/// A clock whose `sleep` moves its time on at once, and remembers each pause.
pub struct FakeClock {
    now: Cell<Instant>,
    slept: RefCell<Vec<Duration>>,
}

impl Default for FakeClock {
    fn default() -> Self {
        Self {
            now: Cell::new(Instant::now()),
            slept: RefCell::new(Vec::new()),
        }
    }
}

impl FakeClock {
    /// The pauses so far.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.borrow().clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.now.get()
    }

    fn sleep(&self, pause: Duration) {
        self.now.set(self.now.get() + pause);
        self.slept.borrow_mut().push(pause);
    }
}

/// Answers given in turn; the last one repeats for ever.
pub struct Script<T>(RefCell<VecDeque<T>>);

impl<T: Clone> Script<T> {
    pub fn new(answers: impl IntoIterator<Item = T>) -> Self {
        let answers: VecDeque<T> = answers.into_iter().collect();
        assert!(!answers.is_empty(), "a script needs an answer");
        Self(RefCell::new(answers))
    }

    pub fn next(&self) -> T {
        let mut answers = self.0.borrow_mut();
        if answers.len() > 1 {
            answers.pop_front().expect("not empty")
        } else {
            answers[0].clone()
        }
    }
}
