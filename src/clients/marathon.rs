//! Marathon's REST API, the part an executor needs to find its driver: `GET /v2/apps/{id}`
//! (`{"app": {...}}`, AppsResource.scala) and `GET /v2/apps/{id}/tasks` (`{"tasks": [...]}`),
//! with field names as in docs/docs/rest-api/public/api/v2/types/{app,task}.raml.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::clients::http::{self, HttpError, Service};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: String,
    #[serde(default)]
    pub port_definitions: Vec<PortName>,
    #[serde(default)]
    pub container: Option<Container>,
    #[serde(default)]
    pub health_checks: Vec<serde_json::Value>,
    /// How many tasks the app should have, and each one's CPU share (`AppDefinition`:
    /// `instances` default 1, `cpus` default 1.0; absent in answers that omit them).
    #[serde(default)]
    pub instances: Option<u32>,
    #[serde(default)]
    pub cpus: Option<f64>,
    /// The app's `env`: a string each, or `{"secret": …}` for a secret reference.
    #[serde(default)]
    pub env: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub docker: Option<Docker>,
    /// Marathon ≥ 1.5 keeps port mappings on the container itself.
    #[serde(default)]
    pub port_mappings: Option<Vec<PortName>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Docker {
    #[serde(default)]
    pub port_mappings: Option<Vec<PortName>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct PortName {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Absent before Marathon 1.4; then a started task is a running one.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub health_check_results: Vec<HealthResult>,
    #[serde(default)]
    pub ip_addresses: Vec<IpAddress>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct HealthResult {
    #[serde(default)]
    pub alive: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    pub ip_address: String,
}

impl App {
    /// The port names in index order: `portDefinitions`, else the container's port mappings.
    pub fn port_names(&self) -> Vec<Option<String>> {
        let mappings = self.container.as_ref().and_then(|c| {
            c.port_mappings
                .clone()
                .or_else(|| c.docker.as_ref().and_then(|d| d.port_mappings.clone()))
        });
        let names = if self.port_definitions.is_empty() {
            mappings.unwrap_or_default()
        } else {
            self.port_definitions.clone()
        };
        names.into_iter().map(|p| p.name).collect()
    }
}

/// The narrow view of Marathon that spark-init needs: an executor finds its driver
/// (`app`, `tasks`); a driver publishes itself to its executors' app (`app_env`,
/// `update_app`). `None` is Marathon's 404 for an app it does not have ([`is_unknown_app`]);
/// any other 404, and Marathon's "URI not found", is [`HttpError::WrongUrl`]. Each call is one
/// request, given up after `timeout`.
pub trait MarathonApi {
    fn app(&self, id: &str, timeout: Duration) -> Result<Option<App>, HttpError>;
    fn tasks(&self, id: &str, timeout: Duration) -> Result<Option<Vec<Task>>, HttpError>;
    /// The app's `env` as Marathon holds it (secrets as `{"secret": …}` objects), to merge
    /// into rather than replace.
    fn app_env(&self, id: &str, timeout: Duration)
        -> Result<Option<Map<String, Value>>, HttpError>;
    /// `PUT /v2/apps/{id}` of a partial app, with `?force=true` past a deployment's lock: the
    /// status (2xx, or 409 "locked by one or more deployments") and Marathon's answer.
    fn update_app(&self, id: &str, body: &Value, force: bool, timeout: Duration) -> Updated;
}

/// What Marathon answered an app update: the status and its JSON (or `null`).
pub type Updated = Result<(u16, Value), HttpError>;

/// The real one. A reqwest `Client` is a handle: clones share one connection pool.
pub struct HttpMarathon<'a> {
    pub client: reqwest::blocking::Client,
    pub service: &'a Service,
}

#[derive(Deserialize)]
struct AppEnvelope {
    app: App,
}

#[derive(Deserialize)]
struct TasksEnvelope {
    tasks: Vec<Task>,
}

/// Whether a 404's answer is Marathon's own for an app it does not have: `GET /v2/apps/{id}`
/// and `GET /v2/apps/{id}/tasks` both answer `RestResource.unknownApp`, HTTP 404 with
/// `{"message": "App '/id' does not exist"}` (the message of Marathon's `AppNotFoundException`
/// since 0.5, 2014; mesosphere/marathon `src/main/scala/mesosphere/marathon/api/RestResource.scala`
/// and `api/v2/AppsResource.scala`, `api/v2/AppTasksResource.scala`). Any other 404 — a path
/// Marathon does not serve (`{"message": "Not Found"}`), a proxy's HTML page, another server —
/// means the URL is wrong, which waiting cannot fix.
pub fn is_unknown_app(body: &[u8]) -> bool {
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    answer["message"].as_str().is_some_and(|message| {
        message
            .strip_prefix("App '")
            .and_then(|rest| rest.strip_suffix("' does not exist"))
            .is_some_and(|id| id.starts_with('/'))
    })
}

/// Marathon's answer for a path it does not serve (a wrong path prefix in the URL): since
/// 1.6.486 (Jersey 2) HTTP 500 `{"message": "URI not found"}`, before it HTTP 404
/// `{"message": "URI not found: /path"}` (`MarathonExceptionMapper`, `NotFoundException`). The
/// 500 is not a failure to wait out: it becomes [`HttpError::WrongUrl`] like any other wrong
/// URL's answer.
fn uri_not_found(e: HttpError, service: &Service) -> HttpError {
    match e {
        HttpError::Status {
            method,
            url,
            status,
            message,
        } if status >= 500 && message == "URI not found" => HttpError::WrongUrl {
            method,
            url,
            status,
            answer: format!("{:?}", format!("Marathon: {message}")),
            service: service.name.clone(),
            var: service.var.clone(),
        },
        other => other,
    }
}

/// `/spark/orders/driver` → `/v2/apps/spark/orders/driver`.
fn app_path(id: &str) -> String {
    format!("/v2/apps/{}", id.trim_matches('/'))
}

impl HttpMarathon<'_> {
    /// A GET of an app's resource: `None` when Marathon says the app does not exist.
    fn get(&self, path: &str, timeout: Duration) -> Result<Option<(Value, String)>, HttpError> {
        http::get_json(&self.client, self.service, path, timeout, is_unknown_app)
            .map_err(|e| uri_not_found(e, self.service))
    }
}

impl MarathonApi for HttpMarathon<'_> {
    fn app(&self, id: &str, timeout: Duration) -> Result<Option<App>, HttpError> {
        match self.get(&app_path(id), timeout)? {
            Some((value, url)) => http::decode::<AppEnvelope>(value, url).map(|e| Some(e.app)),
            None => Ok(None),
        }
    }

    fn tasks(&self, id: &str, timeout: Duration) -> Result<Option<Vec<Task>>, HttpError> {
        match self.get(&format!("{}/tasks", app_path(id)), timeout)? {
            Some((value, url)) => http::decode::<TasksEnvelope>(value, url).map(|e| Some(e.tasks)),
            None => Ok(None),
        }
    }

    fn app_env(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<Option<Map<String, Value>>, HttpError> {
        let found = self.get(&app_path(id), timeout)?;
        Ok(found.map(|(app, _)| app["app"]["env"].as_object().cloned().unwrap_or_default()))
    }

    fn update_app(&self, id: &str, body: &Value, force: bool, timeout: Duration) -> Updated {
        let query = if force { "?force=true" } else { "" };
        let target = format!("{}{query}", app_path(id));
        http::put_json(&self.client, self.service, &target, body, timeout)
    }
}

/// How to reach the driver: the task's `host`, or its first IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressMode {
    Host,
    Ip,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriverTask {
    pub task_id: String,
    pub host: String,
    pub port: u16,
    /// How the port was chosen: `named driver` or `index 0`.
    pub port_choice: String,
    /// The port named `ui`, else index 2 (for the driver's REST API).
    pub ui_port: Option<u16>,
    pub warnings: Vec<String>,
}

/// Picks the driver task: running; healthy when the app has health checks; the newest
/// `startedAt` when several qualify (a deployment in progress). `Err` says why none does, for
/// the progress lines and the final error.
pub fn pick_driver(
    app: &App,
    tasks: &[Task],
    port_name: &str,
    address: AddressMode,
) -> Result<DriverTask, String> {
    let healthy = qualifying_tasks(app, tasks)?;
    let mut warnings = Vec::new();
    let task = *healthy
        .iter()
        .max_by(|a, b| a.started_at.cmp(&b.started_at))
        .expect("not empty");
    if healthy.len() > 1 {
        warnings.push(format!(
            "{} tasks of app {} are running (a deployment in progress? the app should have \
             one instance); chose the newest, {} started at {}",
            healthy.len(),
            app.id,
            task.id,
            task.started_at.as_deref().unwrap_or("?")
        ));
    }
    let names = app.port_names();
    let by_name = |name: &str| names.iter().position(|n| n.as_deref() == Some(name));
    let (index, port_choice) = match by_name(port_name) {
        Some(i) => (i, format!("the port named {port_name}")),
        None => (0, format!("index 0 (no port named {port_name})")),
    };
    let Some(&port) = task.ports.get(index) else {
        return Err(format!(
            "task {} of app {} has no port at index {index} ({port_choice})",
            task.id, app.id
        ));
    };
    let ui_port = by_name("ui")
        .or(Some(2))
        .and_then(|i| task.ports.get(i).copied());
    let host = match address {
        AddressMode::Host => task.host.clone(),
        AddressMode::Ip => match task.ip_addresses.first() {
            Some(ip) => ip.ip_address.clone(),
            None => {
                return Err(format!(
                    "task {} has no ipAddresses (SPARK_INIT_DRIVER_ADDRESS=ip)",
                    task.id
                ))
            }
        },
    };
    if host.is_empty() {
        return Err(format!("task {} has no host yet", task.id));
    }
    Ok(DriverTask {
        task_id: task.id.clone(),
        host,
        port,
        port_choice,
        ui_port,
        warnings,
    })
}

/// The running tasks, healthy ones only when the app has health checks; `Err` says why there
/// is none.
fn qualifying_tasks<'t>(app: &App, tasks: &'t [Task]) -> Result<Vec<&'t Task>, String> {
    let running: Vec<&Task> = tasks
        .iter()
        .filter(|t| match &t.state {
            Some(state) => state == "TASK_RUNNING",
            None => t.started_at.is_some(),
        })
        .collect();
    if running.is_empty() {
        let states: Vec<String> = tasks
            .iter()
            .map(|t| format!("{} {}", t.id, t.state.as_deref().unwrap_or("(staged)")))
            .collect();
        return Err(if tasks.is_empty() {
            format!("app {} has no task", app.id)
        } else {
            format!(
                "no task of app {} is TASK_RUNNING ({})",
                app.id,
                states.join(", ")
            )
        });
    }
    if app.health_checks.is_empty() {
        return Ok(running);
    }
    let healthy: Vec<&Task> = running
        .iter()
        .copied()
        .filter(|t| {
            !t.health_check_results.is_empty() && t.health_check_results.iter().all(|h| h.alive)
        })
        .collect();
    if healthy.is_empty() {
        return Err(format!(
            "no running task of app {} passes its health checks yet ({})",
            app.id,
            running
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(healthy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, state: &str, started: &str, ports: &[u16]) -> Task {
        Task {
            id: id.into(),
            host: format!("{id}.agents"),
            ports: ports.to_vec(),
            state: Some(state.into()),
            started_at: Some(started.into()),
            ..Task::default()
        }
    }

    fn app(names: &[&str]) -> App {
        App {
            id: "/spark/driver".into(),
            port_definitions: names
                .iter()
                .map(|n| PortName {
                    name: Some(n.to_string()),
                })
                .collect(),
            ..App::default()
        }
    }

    #[test]
    fn picks_the_running_task_and_the_named_port() {
        let tasks = [
            task("a", "TASK_STAGING", "", &[1, 2, 3]),
            task(
                "b",
                "TASK_RUNNING",
                "2026-11-25T10:00:00.000Z",
                &[31000, 31001, 31002],
            ),
        ];
        let got = pick_driver(
            &app(&["ui", "driver", "blockmanager"]),
            &tasks,
            "driver",
            AddressMode::Host,
        )
        .unwrap();
        assert_eq!(
            (got.task_id.as_str(), got.port, got.ui_port),
            ("b", 31001, Some(31000))
        );
        let got = pick_driver(&app(&[]), &tasks, "driver", AddressMode::Host).unwrap();
        assert_eq!((got.port, got.ui_port), (31000, Some(31002)));
    }

    #[test]
    fn no_running_task_killing_and_unhealthy_are_reasons() {
        let killing = [task("a", "TASK_KILLING", "2026", &[1])];
        assert!(
            pick_driver(&app(&[]), &killing, "driver", AddressMode::Host)
                .unwrap_err()
                .contains("TASK_KILLING")
        );
        assert!(pick_driver(&app(&[]), &[], "driver", AddressMode::Host)
            .unwrap_err()
            .contains("no task"));
        let mut checked = app(&[]);
        checked.health_checks = vec![serde_json::json!({"protocol": "TCP"})];
        let mut sick = task("a", "TASK_RUNNING", "2026", &[1]);
        sick.health_check_results = vec![HealthResult { alive: false }];
        assert!(
            pick_driver(&checked, &[sick.clone()], "driver", AddressMode::Host)
                .unwrap_err()
                .contains("health")
        );
        sick.health_check_results = vec![HealthResult { alive: true }];
        assert!(pick_driver(&checked, &[sick], "driver", AddressMode::Host).is_ok());
    }

    #[test]
    fn several_running_tasks_pick_the_newest_with_a_warning() {
        let tasks = [
            task("old", "TASK_RUNNING", "2026-11-25T09:00:00.000Z", &[1]),
            task("new", "TASK_RUNNING", "2026-11-25T10:00:00.000Z", &[2]),
        ];
        let got = pick_driver(&app(&[]), &tasks, "driver", AddressMode::Host).unwrap();
        assert_eq!(got.task_id, "new");
        assert_eq!(got.warnings.len(), 1);
    }

    #[test]
    fn ip_address_mode() {
        let mut t = task("a", "TASK_RUNNING", "2026", &[1]);
        assert!(pick_driver(&app(&[]), &[t.clone()], "driver", AddressMode::Ip).is_err());
        t.ip_addresses = vec![IpAddress {
            ip_address: "10.0.0.9".into(),
        }];
        assert_eq!(
            pick_driver(&app(&[]), &[t], "driver", AddressMode::Ip)
                .unwrap()
                .host,
            "10.0.0.9"
        );
    }

    #[test]
    fn only_marathons_own_404_means_the_app_does_not_exist() {
        let fixture = include_bytes!(
            "../../entrypoint-tests/fixtures/api/marathon/v2-error-404-app-not-found.json"
        );
        assert!(is_unknown_app(fixture));
        assert!(is_unknown_app(
            br#"{"message":"App '/spark/orders/driver' does not exist"}"#
        ));
        for other in [
            // Marathon's answer for a path it does not serve (a wrong prefix).
            &br#"{"message":"Not Found"}"#[..],
            br#"{"message":"Group '/spark' does not exist"}"#,
            br#"{"message":"App '/a' does not exist in version 2026-11-25"}"#,
            b"<html><head><title>404 Not Found</title></head><body>nginx</body></html>",
            b"no route /x/v2/apps/a",
            b"",
            br#"["App '/a' does not exist"]"#,
        ] {
            assert!(!is_unknown_app(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn marathons_uri_not_found_is_a_wrong_url_not_a_failure_to_wait_out() {
        let service = Service::parse(
            "Marathon",
            "SPARK_INIT_MARATHON_URL",
            "http://m:8080/marathon",
            None,
            &mut Vec::new(),
        )
        .unwrap();
        let status = |status, message: &str| HttpError::Status {
            method: http::Method::Get,
            url: "http://m:8080/marathon/v2/apps/a".into(),
            status,
            message: message.into(),
        };
        let e = uri_not_found(status(500, "URI not found"), &service);
        assert!(!e.retryable());
        assert_eq!(
            e.to_string(),
            "GET http://m:8080/marathon/v2/apps/a: HTTP 500 (\"Marathon: URI not found\"): no \
             Marathon API at this URL; check SPARK_INIT_MARATHON_URL (its host, port and path \
             prefix)"
        );
        // Marathon's other 5xx still wait: no leader yet, a proxy's gateway error.
        let leader = status(502, "Could not determine the current leader");
        assert_eq!(uri_not_found(leader.clone(), &service), leader);
    }

    #[test]
    fn the_fixture_shapes_decode() {
        let app: serde_json::Value = serde_json::from_str(include_str!(
            "../../entrypoint-tests/fixtures/api/marathon/v2-app.json"
        ))
        .unwrap();
        let app: App = serde_json::from_value(app).unwrap();
        assert_eq!(app.port_names(), [Some("http".to_string())]);
        let tasks: TasksEnvelope = serde_json::from_str(include_str!(
            "../../entrypoint-tests/fixtures/api/marathon/v2-app_tasks.json"
        ))
        .unwrap();
        assert_eq!(tasks.tasks[0].ports, [31756]);
        assert_eq!(tasks.tasks[0].state.as_deref(), Some("TASK_STAGING"));
    }
}
