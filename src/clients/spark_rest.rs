//! The driver's REST API, the calls spark-init makes to it: `GET /api/v1/applications`
//! (Spark's `ApplicationListResource`: a list of `ApplicationInfo`, each with its `attempts`),
//! to learn the running application's ID (on Mesos that ID is the framework ID); and
//! `GET /api/v1/applications/{id}/executors` (`AbstractApplicationResource.executorList`: the
//! active `ExecutorSummary`s, the driver's own among them as `"id": "driver"`), to count the
//! executors attached while the driver waits for them.

use std::time::Duration;

use reqwest::blocking::Client;
use serde::Deserialize;

use crate::clients::http::{self, HttpError, Service};

const APPLICATIONS: &str = "/api/v1/applications";

/// The driver's application list: the running application's ID, if one runs yet, and the URL
/// that answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub running: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SparkRestError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Something answered, but not with Spark's application list.
    #[error("GET {url}: not Spark's application list: {reason}")]
    NotAList { url: String, reason: String },
}

/// The narrow view of a driver's REST API; `None` is a 404 (the API is not up yet). One
/// request, given up after `timeout`.
pub trait SparkRestApi {
    fn applications(
        &self,
        driver: &Service,
        timeout: Duration,
    ) -> Result<Option<Listed>, SparkRestError>;

    /// How many executors (not the driver) application `app_id` has attached.
    fn executors(
        &self,
        driver: &Service,
        app_id: &str,
        timeout: Duration,
    ) -> Result<Option<usize>, SparkRestError>;
}

/// The real one. A reqwest `Client` is a handle: clones share one connection pool.
pub struct HttpSparkRest {
    pub client: Client,
}

impl SparkRestApi for HttpSparkRest {
    fn applications(
        &self,
        driver: &Service,
        timeout: Duration,
    ) -> Result<Option<Listed>, SparkRestError> {
        let Some((answer, url)) =
            http::get_json(&self.client, driver, APPLICATIONS, timeout, http::any_404)?
        else {
            return Ok(None);
        };
        match running_application(answer) {
            Ok(running) => Ok(Some(Listed { running, url })),
            Err(reason) => Err(SparkRestError::NotAList { url, reason }),
        }
    }

    fn executors(
        &self,
        driver: &Service,
        app_id: &str,
        timeout: Duration,
    ) -> Result<Option<usize>, SparkRestError> {
        let path = format!("{APPLICATIONS}/{app_id}/executors");
        let Some((answer, url)) =
            http::get_json(&self.client, driver, &path, timeout, http::any_404)?
        else {
            return Ok(None);
        };
        attached_executors(answer)
            .map(Some)
            .map_err(|reason| SparkRestError::NotAList { url, reason })
    }
}

#[derive(Deserialize)]
struct ExecutorSummary {
    id: String,
    #[serde(default = "active", rename = "isActive")]
    is_active: bool,
}

fn active() -> bool {
    true
}

/// The executors in a `/executors` answer that are active and not the driver.
pub fn attached_executors(answer: serde_json::Value) -> Result<usize, String> {
    let list: Vec<ExecutorSummary> = serde_json::from_value(answer).map_err(|e| e.to_string())?;
    Ok(list
        .iter()
        .filter(|e| e.is_active && e.id != "driver")
        .count())
}

#[derive(Deserialize)]
struct SparkApplication {
    id: String,
    #[serde(default)]
    attempts: Vec<SparkAttempt>,
}

#[derive(Deserialize)]
struct SparkAttempt {
    #[serde(default)]
    completed: bool,
}

/// The running application in the driver's `/api/v1/applications` answer (one with an
/// attempt not `completed`); `Err` when the answer is not such a list.
pub fn running_application(answer: serde_json::Value) -> Result<Option<String>, String> {
    let apps: Vec<SparkApplication> = serde_json::from_value(answer).map_err(|e| e.to_string())?;
    Ok(apps
        .into_iter()
        .find(|a| a.attempts.iter().any(|t| !t.completed))
        .map(|a| a.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_application_is_one_with_an_attempt_not_completed() {
        let list = |completed: bool| {
            serde_json::json!([
                {"id": "old-0001", "attempts": [{"completed": true}]},
                {"id": "fw-0002", "attempts": [{"completed": completed}]},
            ])
        };
        assert_eq!(running_application(list(false)), Ok(Some("fw-0002".into())));
        assert_eq!(running_application(list(true)), Ok(None));
        assert!(running_application(serde_json::json!({"id": "x"})).is_err());
    }

    #[test]
    fn attached_executors_are_the_active_ones_but_the_driver() {
        let list = serde_json::json!([
            {"id": "driver", "isActive": true, "totalCores": 0},
            {"id": "0", "isActive": true, "totalCores": 4},
            {"id": "1", "isActive": false, "totalCores": 4},
            {"id": "2", "isActive": true, "totalCores": 4},
        ]);
        assert_eq!(attached_executors(list), Ok(2));
        assert!(attached_executors(serde_json::json!({"id": "x"})).is_err());
    }
}
