//! The driver tells its executors' Marathon app where it is: `SPARK_DRIVER_URL` and
//! `SPARK_APPLICATION_ID` merged into the app's `env` (never replacing it), and `instances`
//! when asked, with `PUT /v2/apps/{id}`.

use std::time::{Duration, Instant};

use crate::clients::http;
use crate::clients::marathon::{HttpMarathon, MarathonApi};
use crate::clients::retry::{self, Attempt, Backoff, Budget, Clock, SystemClock, Waited, LOOKUP};
use crate::plan::Publish;

/// Publishes the driver to its executors' app. A 409 ("locked by one or more deployments") is
/// retried on the `LOOKUP` schedule for at most half the time left before `backoff`'s
/// deadline, then sent again with `force=true`.
pub fn publish_driver(publish: &Publish, app_id: &str, backoff: &Backoff) -> Result<(), String> {
    let api = marathon_for(publish)?;
    publish_with(&api, &SystemClock, publish, app_id, backoff.deadline)
}

/// The executors' Marathon, with its own CA file and timeout.
pub(super) fn marathon_for(publish: &Publish) -> Result<HttpMarathon<'_>, String> {
    let client = http::client(publish.ca_file.as_deref(), publish.http_timeout)
        .map_err(|p| p.to_string())?;
    Ok(HttpMarathon {
        client,
        service: &publish.marathon,
    })
}

/// [`publish_driver`] on any Marathon and clock, until `deadline`: no request outlasts it.
pub(super) fn publish_with(
    api: &dyn MarathonApi,
    clock: &dyn Clock,
    publish: &Publish,
    app_id: &str,
    deadline: Instant,
) -> Result<(), String> {
    let budget = Budget {
        per_request: publish.http_timeout,
        deadline,
        clock,
    };
    let mut env = api
        .app_env(&publish.app, budget.request_timeout())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("Marathon has no app {}", publish.app))?;
    env.insert(
        "SPARK_DRIVER_URL".into(),
        serde_json::json!(publish.driver_url),
    );
    env.insert("SPARK_APPLICATION_ID".into(), serde_json::json!(app_id));
    let mut body = serde_json::json!({ "env": env });
    if let Some(n) = publish.instances {
        body["instances"] = serde_json::json!(n);
    }
    let now = clock.now();
    let give_up_polite = now + deadline.saturating_duration_since(now) / 2;
    let mut polite = Backoff::starting_at(LOOKUP, give_up_polite - now, now);
    let put = |force| update(api, publish, app_id, &body, force, budget.request_timeout());
    match retry::until(&mut polite, clock, false, None, || {
        put(clock.now() >= give_up_polite)
    }) {
        Ok(()) => Ok(()),
        Err(Waited::Failed(e)) => Err(e),
        // Half the time is gone: once more, past the deployment's lock.
        Err(Waited::Deadline(_) | Waited::LookedOnce(_)) => match put(true) {
            Attempt::Done(()) => Ok(()),
            Attempt::Retry(e) | Attempt::Fail(e) => Err(e),
        },
    }
}

/// One PUT of the update. A 409 is retried, unless the PUT was forced already.
fn update(
    api: &dyn MarathonApi,
    publish: &Publish,
    app_id: &str,
    body: &serde_json::Value,
    force: bool,
    timeout: Duration,
) -> Attempt<(), String> {
    let (status, answer) = match api.update_app(&publish.app, body, force, timeout) {
        Ok(answer) => answer,
        Err(e) => return Attempt::Fail(e.to_string()),
    };
    if status != 409 {
        tracing::info!(
            app = %publish.app,
            driver_url = %publish.driver_url,
            app_id = %app_id,
            force,
            "published the driver to its executors"
        );
        return Attempt::Done(());
    }
    tracing::info!(
        "the executors' app {} is locked by a deployment ({}); retrying",
        publish.app,
        answer["message"].as_str().unwrap_or("409")
    );
    if force {
        Attempt::Fail("Marathon refused even with force=true (409)".into())
    } else {
        Attempt::Retry("409".into())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::clients::fake::{FakeClock, FakeMarathon, Script};
    use crate::clients::http::Service;

    pub(crate) const FW: &str = "5349f49b-68b3-4638-aab2-fc4ec845f993-0001";

    /// The executors' app, to get 3 instances.
    pub(crate) fn executors() -> Publish {
        Publish {
            marathon: Service::parse("Marathon", "URL", "http://m:8080", None, &mut Vec::new())
                .unwrap(),
            app: "/spark/orders/executor".into(),
            instances: Some(3),
            driver_url: "spark://CoarseGrainedScheduler@agent1:31001".into(),
            scale_down_on_exit: false,
            ca_file: None,
            http_timeout: Duration::from_secs(10),
        }
    }

    /// Marathon answering `statuses` to the PUTs in turn.
    fn answering(statuses: &[u16]) -> FakeMarathon {
        let answer = |&status| Ok((status, serde_json::json!({"message": "locked"})));
        FakeMarathon {
            update: Script::new(statuses.iter().map(answer)),
            ..FakeMarathon::default()
        }
    }

    /// Publishes with `timeout` left; the result and whether each PUT was forced.
    fn publish(marathon: &FakeMarathon, timeout: u64) -> (Result<(), String>, Vec<bool>) {
        let clock = FakeClock::default();
        let deadline = clock.now() + Duration::from_secs(timeout);
        let result = publish_with(marathon, &clock, &executors(), FW, deadline);
        let forced = marathon.updates.borrow().iter().map(|u| u.2).collect();
        (result, forced)
    }

    #[test]
    fn the_env_is_merged_and_the_instances_set() {
        let mut env = serde_json::Map::new();
        env.insert("XPS1".into(), serde_json::json!("Test"));
        let marathon = FakeMarathon {
            env: Script::new([Ok(Some(env))]),
            ..FakeMarathon::default()
        };
        assert_eq!(publish(&marathon, 30), (Ok(()), vec![false]));
        let (app, body, _) = marathon.updates.borrow()[0].clone();
        assert_eq!(app, "/spark/orders/executor");
        assert_eq!(
            body,
            serde_json::json!({
                "env": {
                    "XPS1": "Test",
                    "SPARK_DRIVER_URL": "spark://CoarseGrainedScheduler@agent1:31001",
                    "SPARK_APPLICATION_ID": FW,
                },
                "instances": 3,
            })
        );
    }

    #[test]
    fn a_locked_app_is_retried_then_forced_after_half_the_time() {
        // 2 s left: polite PUTs at 0, 0.25 and 0.75 s; at 1 s, force=true.
        let marathon = answering(&[409, 409, 409, 200]);
        assert_eq!(
            publish(&marathon, 2),
            (Ok(()), vec![false, false, false, true])
        );
        let marathon = answering(&[409, 200]);
        assert_eq!(publish(&marathon, 2), (Ok(()), vec![false, false]));
    }

    #[test]
    fn a_lock_that_even_force_cannot_pass_is_an_error() {
        let (result, forced) = publish(&answering(&[409]), 2);
        assert_eq!(
            result,
            Err("Marathon refused even with force=true (409)".into())
        );
        assert_eq!(forced.last(), Some(&true));
    }

    #[test]
    fn a_missing_app_is_an_error() {
        let marathon = FakeMarathon {
            env: Script::new([Ok(None)]),
            ..FakeMarathon::default()
        };
        assert_eq!(
            publish(&marathon, 30),
            (
                Err("Marathon has no app /spark/orders/executor".into()),
                vec![]
            )
        );
    }
}
