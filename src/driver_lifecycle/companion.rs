//! The companion process beside the driver: learns the running application's ID from the
//! driver's REST API on this host, stores it if the store holds another, and publishes the
//! driver to its executors' app; then, with the receiver barrier, says how many executors have
//! attached while the driver waits for them.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use crate::clients::framework_store::{is_framework_id, FrameworkStore, Store};
use crate::clients::http::{self, Service};
use crate::clients::marathon::MarathonApi;
use crate::clients::retry::{self, Attempt, Backoff, Budget, Clock, SystemClock, Waited, LOOKUP};
use crate::clients::spark_rest::{HttpSparkRest, SparkRestApi};
use crate::plan::{ExecutorBarrier, Publish, StoreDuty};

use super::publish;

/// The companion's view of the world: the real clients in [`learn_framework_id`], fakes in
/// the tests.
struct World<'a> {
    driver: &'a dyn SparkRestApi,
    /// The driver's REST API on this host.
    driver_api: &'a Service,
    store: Option<&'a dyn FrameworkStore>,
    /// Where to publish the driver, and the executors' Marathon (or why it has no client).
    publish: Option<(&'a Publish, Result<&'a dyn MarathonApi, String>)>,
    clock: &'a dyn Clock,
}

/// The companion's work: waits (on the `LOOKUP` schedule, up to the duty's timeout) for the
/// driver's REST API on this host to name the running application; stores its ID if the store
/// holds another; then publishes the driver to its executors' app. Store and Marathon failures
/// are retried until the deadline (a ZooKeeper restart or session expiry reconnects), then
/// logged: the driver itself is never disturbed.
pub fn learn_framework_id(duty: &StoreDuty) {
    let Some(port) = duty.ui_port else { return };
    let Ok(client) = http::client(None, http::READ_TIMEOUT) else {
        return;
    };
    let Some(driver_api) = Service::parse(
        "the driver",
        "spark.ui.port",
        &format!("http://127.0.0.1:{port}"),
        None,
        &mut Vec::new(),
    ) else {
        return;
    };
    let store = duty
        .url
        .as_ref()
        .map(|url| Store::new(url.clone(), duty.timeout.min(Duration::from_secs(30))));
    let marathon = duty.publish.as_ref().map(|p| (p, publish::marathon_for(p)));
    let world = World {
        driver: &HttpSparkRest { client },
        driver_api: &driver_api,
        store: store.as_ref().map(|s| s as &dyn FrameworkStore),
        publish: marathon.as_ref().map(|(p, api)| {
            let api = api.as_ref().map(|a| a as &dyn MarathonApi);
            (*p, api.map_err(String::clone))
        }),
        clock: &SystemClock,
    };
    accompany(duty, &world)
}

/// [`learn_framework_id`] in any world: the ID's duties, then the barrier's progress.
fn accompany(duty: &StoreDuty, world: &World<'_>) {
    let started = world.clock.now();
    let learned = store_and_publish(duty, world);
    if let (Some(barrier), Some(id)) = (&duty.barrier, learned) {
        watch_barrier(barrier, &id, started, world);
    }
}

/// While the driver's `SparkContext` waits for its executors (the receiver barrier, at most
/// `SPARK_INIT_EXECUTOR_WAIT` from the driver's start), logs how many have attached, from its
/// REST API, at the first look and then every 10 s ([`retry::PROGRESS_EVERY`]).
fn watch_barrier(barrier: &ExecutorBarrier, id: &str, started: Instant, world: &World<'_>) {
    let wanted = barrier.executors as usize;
    let mut backoff = Backoff::starting_at(LOOKUP, barrier.wait, started);
    let budget = Budget {
        per_request: http::READ_TIMEOUT,
        deadline: backoff.deadline,
        clock: world.clock,
    };
    let what = "the executors to attach (the receiver barrier)";
    let waited: Result<usize, Waited<Infallible>> =
        retry::until(&mut backoff, world.clock, false, Some(what), || {
            let timeout = budget.request_timeout();
            match world.driver.executors(world.driver_api, id, timeout) {
                Ok(Some(n)) if n >= wanted => Attempt::Done(n),
                Ok(Some(n)) => Attempt::Retry(format!("{n} of {wanted} executors attached")),
                Ok(None) => Attempt::Retry(format!("0 of {wanted} executors attached")),
                Err(e) => Attempt::Retry(format!("the driver's REST API: {e}")),
            }
        });
    match waited {
        Ok(n) => tracing::info!("{n} of {wanted} executors attached: the driver goes on"),
        Err(Waited::Deadline(reason) | Waited::LookedOnce(reason)) => tracing::warn!(
            "after SPARK_INIT_EXECUTOR_WAIT ({} s) {reason}: Spark goes on with the executors \
             it has (spark.scheduler.maxRegisteredResourcesWaitingTime)",
            barrier.wait.as_secs_f64()
        ),
        Err(Waited::Failed(never)) => match never {},
    }
}

/// Learns the application's ID, stores and publishes it; returns the ID if one was learned.
fn store_and_publish(duty: &StoreDuty, world: &World<'_>) -> Option<String> {
    let mut backoff = Backoff::starting_at(LOOKUP, duty.timeout, world.clock.now());
    let deadline = backoff.deadline;
    let budget = Budget {
        per_request: http::READ_TIMEOUT,
        deadline,
        clock: world.clock,
    };
    let mut learned: Option<String> = None;
    let mut stored = world.store.is_none();
    let mut published = world.publish.is_none();
    let waited: Result<(), Waited<Infallible>> =
        retry::until(&mut backoff, world.clock, false, None, || {
            if learned.is_none() {
                let listed = world
                    .driver
                    .applications(world.driver_api, budget.request_timeout());
                learned = listed.ok().flatten().and_then(|l| l.running);
            }
            let Some(id) = &learned else {
                return Attempt::Retry("no running application yet".into());
            };
            if let (false, Some(store)) = (stored, world.store) {
                stored = store_if_different(store, id);
            }
            if let (false, Some((publish, api))) = (published, &world.publish) {
                let result = match api {
                    Ok(api) => publish::publish_with(*api, world.clock, publish, id, deadline),
                    Err(e) => Err(e.clone()),
                };
                match result {
                    Ok(()) => published = true,
                    Err(e) => {
                        tracing::warn!("cannot publish the driver to {} yet: {e}", publish.app)
                    }
                }
            }
            if stored && published {
                Attempt::Done(())
            } else {
                Attempt::Retry("not stored or not published yet".into())
            }
        });
    if waited.is_err() {
        tracing::warn!(
            "gave up on the framework store / publishing after {} s",
            duty.timeout.as_secs_f64()
        );
    }
    learned
}

/// Stores `id` unless the store holds it already; whether that is settled (a failure is
/// logged, to be tried again).
fn store_if_different(store: &dyn FrameworkStore, id: &str) -> bool {
    if !is_framework_id(id) {
        tracing::info!(id = %id, "the application ID is not a Mesos framework ID (not on Mesos?); nothing to store");
        return true;
    }
    let result = store.read().and_then(|current| match &current {
        Some(s) if s.framework_id == id => Ok(()),
        _ => store.write(id, current.as_ref()).map(|()| {
            tracing::info!(framework_id = %id, store = %store.url(), "stored the driver's framework ID");
        }),
    });
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("cannot store the framework ID yet: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::fake::{FakeClock, FakeMarathon, FakeSparkRest, FakeStore, Script};
    use crate::clients::framework_store::StoreError;
    use crate::driver_lifecycle::publish::tests::{executors, FW};

    /// A driver with a store and an executors' app to publish to.
    fn duty() -> StoreDuty {
        StoreDuty {
            url: Some(FakeStore::holding(None).url),
            publish: Some(executors()),
            reused: None,
            reregister_window: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            ui_port: Some(4040),
            barrier: None,
        }
    }

    /// A driver whose REST API names `FW`, a store that holds another ID, a Marathon that
    /// takes every update.
    struct Fakes {
        driver: FakeSparkRest,
        store: FakeStore,
        marathon: FakeMarathon,
        clock: FakeClock,
    }

    impl Default for Fakes {
        fn default() -> Self {
            Self {
                driver: FakeSparkRest::running(Some(FW)),
                store: FakeStore::holding(Some("old-0001")),
                marathon: FakeMarathon::default(),
                clock: FakeClock::default(),
            }
        }
    }

    impl Fakes {
        /// Runs the companion: what it wrote to the store, and how many updates it sent.
        fn accompany(&self, duty: &StoreDuty) -> (Vec<String>, usize) {
            let driver_api = executors().marathon;
            let world = World {
                driver: &self.driver,
                driver_api: &driver_api,
                store: duty.url.as_ref().map(|_| &self.store as _),
                publish: duty.publish.as_ref().map(|p| (p, Ok(&self.marathon as _))),
                clock: &self.clock,
            };
            accompany(duty, &world);
            let writes = self.store.writes.borrow().clone();
            (writes, self.marathon.updates.borrow().len())
        }
    }

    fn stored(ids: &[&str], published: usize) -> (Vec<String>, usize) {
        (ids.iter().map(|id| id.to_string()).collect(), published)
    }

    #[test]
    fn the_learned_id_is_stored_when_different_and_published() {
        let fakes = Fakes::default();
        assert_eq!(fakes.accompany(&duty()), stored(&[FW], 1));
        assert!(fakes.clock.slept().is_empty());
        let same = Fakes {
            store: FakeStore::holding(Some(FW)),
            ..Fakes::default()
        };
        assert_eq!(same.accompany(&duty()), stored(&[], 1));
    }

    #[test]
    fn it_waits_for_the_rest_api_and_retries_the_store() {
        let fakes = Fakes::default();
        fakes.driver.0.push_front(Ok(None));
        let lost = StoreError::Unreachable {
            store: "zk://zk1:2181/spark/orders".into(),
            reason: "connection loss".into(),
        };
        fakes.store.failure.push_front(Some(lost));
        assert_eq!(fakes.accompany(&duty()), stored(&[FW], 1));
        assert_eq!(fakes.clock.slept(), &LOOKUP[..2]);
    }

    #[test]
    fn an_id_that_is_not_a_framework_id_is_published_but_not_stored() {
        let fakes = Fakes {
            driver: FakeSparkRest::running(Some("app-20261125-00a1")),
            ..Fakes::default()
        };
        assert_eq!(fakes.accompany(&duty()), stored(&[], 1));
    }

    #[test]
    fn it_gives_up_at_the_deadline() {
        let fakes = Fakes {
            driver: FakeSparkRest(Script::new([Ok(None)]), Script::new([Ok(None)])),
            ..Fakes::default()
        };
        assert_eq!(fakes.accompany(&duty()), stored(&[], 0));
        let waited: Duration = fakes.clock.slept().iter().sum();
        assert_eq!(waited, Duration::from_secs(30));
    }

    /// The Fakes' driver REST API, counting `attached` executors in turn (the last repeats).
    fn counting(attached: &[usize]) -> Fakes {
        let fakes = Fakes::default();
        let counts: Vec<_> = attached.iter().map(|n| Ok(Some(*n))).collect();
        Fakes {
            driver: FakeSparkRest(fakes.driver.0, Script::new(counts)),
            ..fakes
        }
    }

    fn with_barrier(executors: u32, wait: u64) -> StoreDuty {
        StoreDuty {
            barrier: Some(ExecutorBarrier {
                executors,
                wait: Duration::from_secs(wait),
            }),
            ..duty()
        }
    }

    #[test]
    fn with_the_barrier_it_watches_the_executors_attach_until_all_have() {
        let fakes = counting(&[0, 1, 2, 3]);
        assert_eq!(fakes.accompany(&with_barrier(3, 300)), stored(&[FW], 1));
        assert_eq!(fakes.clock.slept(), &LOOKUP[..3]);
    }

    #[test]
    fn the_barriers_watch_ends_with_spark_s_waiting_time() {
        let fakes = counting(&[1]);
        assert_eq!(fakes.accompany(&with_barrier(3, 120)), stored(&[FW], 1));
        let waited: Duration = fakes.clock.slept().iter().sum();
        assert_eq!(waited, Duration::from_secs(120));
    }

    #[test]
    fn without_a_store_it_only_publishes() {
        let no_store = StoreDuty {
            url: None,
            ..duty()
        };
        assert_eq!(Fakes::default().accompany(&no_store), stored(&[], 1));
    }
}
