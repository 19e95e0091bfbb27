//! The executors' Marathon app as the driver sees it before launch (`SPARK_INIT_EXECUTOR_APP`):
//! how many instances it runs and what each gets (`cpus`, `SPARK_EXECUTOR_CORES` in its `env`),
//! for the receiver barrier's `spark.cores.max` ([`crate::plan`]'s driver `barrier`). One
//! `GET /v2/apps/{id}`, in a child process; no answer is not an error: the driver starts
//! without the barrier, with a warning.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clients::http;
use crate::clients::marathon::{HttpMarathon, MarathonApi};
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

/// Reads the app with the real client (in this process; see [`crate::facts::child::in_child`]).
pub fn run(lookups: &Lookups, app: &str) -> FoundExecutors {
    let Some(service) = lookups.marathon.as_ref() else {
        return FoundExecutors::default();
    };
    match http::client(lookups.ca_file.as_deref(), lookups.http_timeout) {
        Ok(client) => look(&HttpMarathon { client, service }, app, lookups.http_timeout),
        Err(problem) => not_found(problem.to_string()),
    }
}

/// One look at the app: an absent app, an error or a timeout is a reason, not a failure.
pub fn look(api: &dyn MarathonApi, app: &str, timeout: Duration) -> FoundExecutors {
    match api.app(app, timeout) {
        Ok(Some(found)) => FoundExecutors {
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
        },
        Ok(None) => not_found(format!("Marathon has no app {app}")),
        Err(e) => not_found(format!("cannot read the app {app} from Marathon: {e}")),
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
    use crate::clients::fake::{FakeMarathon, Script};
    use crate::clients::marathon::App;

    #[test]
    fn the_apps_instances_cpus_and_executor_cores_are_read() {
        let mut env = serde_json::Map::new();
        env.insert("SPARK_EXECUTOR_CORES".into(), "4".into());
        env.insert("TOKEN".into(), serde_json::json!({"secret": "/t"}));
        let marathon = FakeMarathon {
            app: Script::new([Ok(Some(App {
                id: "/spark/executors".into(),
                instances: Some(3),
                cpus: Some(0.5),
                env,
                ..App::default()
            }))]),
            ..FakeMarathon::default()
        };
        let found = look(&marathon, "/spark/executors", Duration::from_secs(1));
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

    #[test]
    fn an_absent_app_is_a_reason_not_an_error() {
        let marathon = FakeMarathon {
            app: Script::new([Ok(None)]),
            ..FakeMarathon::default()
        };
        let found = look(&marathon, "/spark/executors", Duration::from_secs(1));
        assert_eq!(found.app, None);
        assert_eq!(
            found.not_found.as_deref(),
            Some("Marathon has no app /spark/executors")
        );
    }
}
