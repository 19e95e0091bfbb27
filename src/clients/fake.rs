//! In-crate fakes of the outside world, for unit tests that fork nothing and need no network:
//! a clock that only pretends to sleep, and scripted answers for every client trait.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::clients::framework_store::{FrameworkStore, StoreError, StoreUrl, Stored};
use crate::clients::http::{HttpError, Service};
use crate::clients::marathon::{App, MarathonApi, Task, Updated};
use crate::clients::mesos::{Frameworks, MesosApi};
use crate::clients::retry::Clock;
use crate::clients::spark_rest::{Listed, SparkRestApi, SparkRestError};
use crate::clients::tcp_probe::TcpProbe;

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

    /// An answer to give before the scripted ones.
    pub fn push_front(&self, answer: T) {
        self.0.borrow_mut().push_front(answer);
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

/// Marathon: scripted answers for each call; the updates asked for are recorded.
pub struct FakeMarathon {
    pub app: Script<Result<Option<App>, HttpError>>,
    pub tasks: Script<Result<Option<Vec<Task>>, HttpError>>,
    pub env: Script<Result<Option<Map<String, Value>>, HttpError>>,
    pub update: Script<Updated>,
    /// Each update: the app, the body and whether it was forced.
    pub updates: RefCell<Vec<(String, Value, bool)>>,
    /// The timeout each call was given, in turn.
    pub timeouts: RefCell<Vec<Duration>>,
}

impl Default for FakeMarathon {
    /// No app; an executors' app with an empty env that takes every update.
    fn default() -> Self {
        Self {
            app: Script::new([Ok(None)]),
            tasks: Script::new([Ok(None)]),
            env: Script::new([Ok(Some(Map::new()))]),
            update: Script::new([Ok((200, Value::Null))]),
            updates: RefCell::new(Vec::new()),
            timeouts: RefCell::new(Vec::new()),
        }
    }
}

impl MarathonApi for FakeMarathon {
    fn app(&self, _: &str, timeout: Duration) -> Result<Option<App>, HttpError> {
        self.timeouts.borrow_mut().push(timeout);
        self.app.next()
    }

    fn tasks(&self, _: &str, timeout: Duration) -> Result<Option<Vec<Task>>, HttpError> {
        self.timeouts.borrow_mut().push(timeout);
        self.tasks.next()
    }

    fn app_env(&self, _: &str, timeout: Duration) -> Result<Option<Map<String, Value>>, HttpError> {
        self.timeouts.borrow_mut().push(timeout);
        self.env.next()
    }

    fn update_app(&self, id: &str, body: &Value, force: bool, timeout: Duration) -> Updated {
        self.timeouts.borrow_mut().push(timeout);
        let update = (id.to_string(), body.clone(), force);
        self.updates.borrow_mut().push(update);
        self.update.next()
    }
}

/// A Mesos master with scripted framework lists.
pub struct FakeMesos(pub Script<Result<Frameworks, HttpError>>);

impl MesosApi for FakeMesos {
    fn frameworks(&self, _: Duration) -> Result<Frameworks, HttpError> {
        self.0.next()
    }
}

/// A driver's REST API with scripted answers.
/// The driver's REST API: scripted application lists, then scripted executor counts.
pub struct FakeSparkRest(
    pub Script<Result<Option<Listed>, SparkRestError>>,
    pub Script<Result<Option<usize>, SparkRestError>>,
);

impl FakeSparkRest {
    /// An API that lists `running` as the running application.
    pub fn running(running: Option<&str>) -> Self {
        let listed = Listed {
            running: running.map(String::from),
            url: "http://driver:4040/api/v1/applications".into(),
        };
        Self(Script::new([Ok(Some(listed))]), Script::new([Ok(None)]))
    }
}

impl SparkRestApi for FakeSparkRest {
    fn applications(&self, _: &Service, _: Duration) -> Result<Option<Listed>, SparkRestError> {
        self.0.next()
    }

    fn executors(
        &self,
        _: &Service,
        _: &str,
        _: Duration,
    ) -> Result<Option<usize>, SparkRestError> {
        self.1.next()
    }
}

/// A port that accepts connections, or not, as scripted.
pub struct FakeProbe(pub Script<Result<(), String>>);

impl Default for FakeProbe {
    fn default() -> Self {
        Self(Script::new([Ok(())]))
    }
}

impl TcpProbe for FakeProbe {
    fn connect(&self, _: &str, _: u16) -> Result<(), String> {
        self.0.next()
    }
}

/// A framework store in memory. `failure` is scripted per operation (`None`: it works);
/// writes, clears and allocations are recorded.
pub struct FakeStore {
    pub url: StoreUrl,
    pub value: RefCell<Option<String>>,
    pub failure: Script<Option<StoreError>>,
    pub writes: RefCell<Vec<String>>,
    pub clears: Cell<usize>,
    /// The labels of the executor IDs allocated.
    pub allocated: RefCell<Vec<String>>,
}

impl FakeStore {
    /// A working ZooKeeper store that holds `value`.
    pub fn holding(value: Option<&str>) -> Self {
        Self {
            url: StoreUrl::Zk {
                hosts: "zk1:2181".into(),
                path: "/spark/orders".into(),
            },
            value: RefCell::new(value.map(String::from)),
            failure: Script::new([None]),
            writes: RefCell::new(Vec::new()),
            clears: Cell::new(0),
            allocated: RefCell::new(Vec::new()),
        }
    }

    /// A store that cannot be reached.
    pub fn unreachable() -> Self {
        let failure = StoreError::Unreachable {
            store: "zk://zk1:2181/spark/orders".into(),
            reason: "no session within 5 s".into(),
        };
        Self {
            failure: Script::new([Some(failure)]),
            ..Self::holding(None)
        }
    }

    fn works(&self) -> Result<(), StoreError> {
        self.failure.next().map_or(Ok(()), Err)
    }
}

impl FrameworkStore for FakeStore {
    fn url(&self) -> &StoreUrl {
        &self.url
    }

    fn read(&self) -> Result<Option<Stored>, StoreError> {
        self.works()?;
        Ok(self.value.borrow().clone().map(|framework_id| Stored {
            framework_id,
            version: Some(0),
        }))
    }

    fn write(&self, id: &str, _: Option<&Stored>) -> Result<(), StoreError> {
        self.works()?;
        self.writes.borrow_mut().push(id.into());
        *self.value.borrow_mut() = Some(id.into());
        Ok(())
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.works()?;
        self.clears.set(self.clears.get() + 1);
        *self.value.borrow_mut() = None;
        Ok(())
    }

    fn allocate_executor_id(&self, label: &str) -> Result<Option<u32>, StoreError> {
        self.works()?;
        if matches!(self.url, StoreUrl::File { .. }) {
            return Ok(None);
        }
        let mut allocated = self.allocated.borrow_mut();
        allocated.push(label.into());
        Ok(Some(allocated.len() as u32))
    }
}
