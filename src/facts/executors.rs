//! The executors' Marathon app as the driver sees it before launch (`SPARK_INIT_EXECUTOR_APP`):
//! how many instances it runs and what each gets (`cpus`, `SPARK_EXECUTOR_CORES` in its `env`),
//! for the receiver barrier's `spark.cores.max` ([`crate::plan`]'s driver `barrier`).
//! `GET /v2/apps/{id}` in a child process, on the lookups' retry schedule for up to a minute;
//! no answer is not an error: the driver starts without the barrier, with a warning.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clients::http;
use crate::clients::marathon::{App, HttpMarathon, MarathonApi};
use crate::clients::retry::{self, Attempt, Backoff, Clock, SystemClock, Waited, LOOKUP};
use crate::facts::remote::Lookups;

/// What the executors' app definition says; each field as Marathon wrote it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutorsApp {
    pub id: String,
    /// `instances` (Marathon's default is 1).
    pub instances: Option<u32>,
    /// `cpus` per instance (Marathon's default is 1.0).
    pub cpus: Option<f64>,
    /// `SPARK_EXECUTOR_CORES` in the app's `env`, as written (a secret reference is not).
    pub executor_cores: Option<String>,
}

/// The app, or why it is unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FoundExecutors {
    pub app: Option<ExecutorsApp>,
    pub not_found: Option<String>,
}

/// How long the driver waits for the executors' app before it starts without the barrier
/// (at most `SPARK_INIT_RESOLVE_TIMEOUT`): long enough for a Marathon leader election or an
/// app posted just after the driver's, short enough not to hold up a driver that can go on.
pub const EXECUTORS_APP_WAIT: Duration = Duration::from_secs(60);

/// Reads the app with the real client (in this process; see [`crate::facts::child::in_child`]).
pub fn run(lookups: &Lookups, app: &str) -> FoundExecutors {
    let Some(service) = lookups.marathon.as_ref() else {
        return FoundExecutors::default();
    };
    match http::client(lookups.ca_file.as_deref(), lookups.http_timeout) {
        Ok(client) => {
            let api = HttpMarathon { client, service };
            let wait = lookups.timeout.min(EXECUTORS_APP_WAIT);
            let mut backoff = Backoff::new(LOOKUP, wait);
            look(&api, app, lookups, &mut backoff, &SystemClock)
        }
        Err(problem) => not_found(problem.to_string()),
    }
}

/// Looks at the app on the lookups' retry schedule until `backoff`'s deadline (once in a dry
/// run): an answer Marathon may soon give otherwise (a 5xx, no leader, a timeout, no such app
/// yet) is tried again (found by a fresh-eyes trial: one 502 took the barrier away for the
/// driver's whole life); a refusal is not. What never came is a reason, not a failure.
pub fn look(
    api: &dyn MarathonApi,
    app: &str,
    lookups: &Lookups,
    backoff: &mut Backoff,
    clock: &dyn Clock,
) -> FoundExecutors {
    let what = format!("the executors' app {app} (the receiver barrier)");
    let waited = retry::until(backoff, clock, lookups.once, Some(&what), || {
        match api.app(app, lookups.http_timeout) {
            Ok(Some(found)) => Attempt::Done(found_app(found)),
            Ok(None) => Attempt::Retry(format!("Marathon has no app {app}")),
            Err(e) if e.retryable() => {
                Attempt::Retry(format!("cannot read the app {app} from Marathon: {e}"))
            }
            Err(e) => Attempt::Fail(format!("cannot read the app {app} from Marathon: {e}")),
        }
    });
    match waited {
        Ok(found) => found,
        Err(Waited::Failed(why) | Waited::LookedOnce(why) | Waited::Deadline(why)) => {
            not_found(why)
        }
    }
}

fn found_app(found: App) -> FoundExecutors {
    FoundExecutors {
        app: Some(ExecutorsApp {
            id: found.id,
            instances: found.instances,
            cpus: found.cpus,
            executor_cores: found
                .env
                .get("SPARK_EXECUTOR_CORES")
                .and_then(|v| v.as_str())
                .map(String::from),
        }),
        not_found: None,
    }
}

fn not_found(why: String) -> FoundExecutors {
    FoundExecutors {
        app: None,
        not_found: Some(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::fake::{FakeClock, FakeMarathon, Script};
    use crate::clients::http::{HttpError, Method};
    use crate::clients::marathon::AddressMode;

    fn lookups(once: bool) -> Lookups {
        Lookups {
            marathon: None,
            driver_app: None,
            port_name: "driver".into(),
            address: AddressMode::Host,
            mesos: None,
            framework_name: None,
            ca_file: None,
            timeout: Duration::from_secs(300),
            http_timeout: Duration::from_secs(10),
            need_driver: false,
            need_app_id: false,
            known_driver_host: None,
            once,
            store: None,
            store_required: false,
            need_executor_id: false,
            executor_label: "driver".into(),
        }
    }

    fn status(status: u16) -> HttpError {
        HttpError::Status {
            method: Method::Get,
            url: "http://marathon:8080/v2/apps/spark/executors".into(),
            status,
            message: "Could not determine the current leader".into(),
        }
    }

    fn executors() -> App {
        let mut env = serde_json::Map::new();
        env.insert("SPARK_EXECUTOR_CORES".into(), "4".into());
        env.insert("TOKEN".into(), serde_json::json!({"secret": "/t"}));
        App {
            id: "/spark/executors".into(),
            instances: Some(3),
            cpus: Some(0.5),
            env,
            ..App::default()
        }
    }

    /// Looks with a minute's schedule on a fake clock; returns what was found and the pauses.
    fn looked(answers: Vec<Result<Option<App>, HttpError>>, once: bool) -> (FoundExecutors, usize) {
        let marathon = FakeMarathon {
            app: Script::new(answers),
            ..FakeMarathon::default()
        };
        let clock = FakeClock::default();
        let mut backoff = Backoff::starting_at(LOOKUP, EXECUTORS_APP_WAIT, clock.now());
        let found = look(
            &marathon,
            "/spark/executors",
            &lookups(once),
            &mut backoff,
            &clock,
        );
        (found, clock.slept().len())
    }

    #[test]
    fn the_apps_instances_cpus_and_executor_cores_are_read() {
        let (found, pauses) = looked(vec![Ok(Some(executors()))], false);
        assert_eq!(pauses, 0);
        assert_eq!(
            found.app,
            Some(ExecutorsApp {
                id: "/spark/executors".into(),
                instances: Some(3),
                cpus: Some(0.5),
                executor_cores: Some("4".into()),
            })
        );
    }

    /// Regression (fresh-eyes trial): one 502 from Marathon took the barrier away.
    #[test]
    fn marathon_trouble_and_an_app_not_posted_yet_are_waited_out() {
        let answers = vec![Err(status(502)), Ok(None), Ok(Some(executors()))];
        let (found, pauses) = looked(answers, false);
        assert_eq!(pauses, 2);
        assert_eq!(found.app.map(|a| a.instances), Some(Some(3)));
    }

    #[test]
    fn a_refusal_is_not_retried_and_the_wait_ends_with_its_reason() {
        let (found, pauses) = looked(vec![Err(status(401))], false);
        assert_eq!((found.app, pauses), (None, 0));
        assert!(found.not_found.unwrap().contains("401"));
        let (found, pauses) = looked(vec![Ok(None)], false);
        assert!(pauses > 5, "{pauses}");
        assert_eq!(
            found.not_found.as_deref(),
            Some("Marathon has no app /spark/executors")
        );
    }

    #[test]
    fn a_dry_run_looks_once() {
        let (found, pauses) = looked(vec![Err(status(503)), Ok(Some(executors()))], true);
        assert_eq!((found.app, pauses), (None, 0));
    }
}
