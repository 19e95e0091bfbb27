//! Lookups an executor needs from the outside world: the driver's address through Marathon
//! (waiting for it, on the `retry::LOOKUP` schedule, up to `SPARK_INIT_RESOLVE_TIMEOUT`), and
//! the application ID through the driver's REST API or the Mesos master.
//!
//! It runs in a short-lived child process ([`crate::facts::child::in_child`]): the HTTP client brings threads and
//! megabytes, and PID 1 must stay single-threaded and small while it supervises. The child
//! hands back one serialisable [`RemoteFacts`], which the dry run shows.

// The old paths, until src/roles.rs uses `facts::child`.
pub use crate::facts::child::{in_child, ChildError};

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clients::framework_store::{is_framework_id, Store, StoreError, StoreUrl};
use crate::clients::http::{self, HttpError, Service};
use crate::clients::marathon::{self, AddressMode, HttpMarathon, MarathonApi};
use crate::clients::mesos::{HttpMesos, MesosApi};
use crate::clients::retry::{Backoff, LOOKUP};
use crate::clients::spark_rest::running_application;

pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(300);
const TCP_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What to look up and where.
#[derive(Debug, Clone)]
pub struct Lookups {
    pub marathon: Option<Service>,
    pub driver_app: Option<String>,
    pub port_name: String,
    pub address: AddressMode,
    pub mesos: Option<Service>,
    pub framework_name: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// Per request (`SPARK_INIT_HTTP_TIMEOUT`).
    pub http_timeout: Duration,
    /// `SPARK_DRIVER_URL` is unset: find the driver through Marathon.
    pub need_driver: bool,
    /// `SPARK_APPLICATION_ID` is unset: ask the driver, then Mesos.
    pub need_app_id: bool,
    /// The driver's host from `SPARK_DRIVER_URL` when that is set (for the Mesos lookup).
    pub known_driver_host: Option<String>,
    /// The dry run looks once and reports; it never waits, and never writes.
    pub once: bool,
    /// `SPARK_INIT_FRAMEWORK_STORE`: the application ID is read there first, and executor IDs
    /// are allocated there.
    pub store: Option<StoreUrl>,
    /// `SPARK_INIT_STORE_REQUIRED=1`: an unreachable store is fatal (69), not a warning.
    pub store_required: bool,
    /// `SPARK_EXECUTOR_ID` is unset: allocate one from a ZooKeeper store.
    pub need_executor_id: bool,
    /// What the executor-ID znode holds (the task ID), for operators.
    pub executor_label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FoundDriver {
    pub host: String,
    pub port: u16,
    pub ui_port: Option<u16>,
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteFacts {
    pub driver: Option<FoundDriver>,
    /// The application ID and where it came from.
    pub app_id: Option<(String, String)>,
    /// An executor ID from the store, and where it came from.
    pub executor_id: Option<(u32, String)>,
    /// Why a value is missing (dry run only: it does not wait).
    pub not_found: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum DiscoveryError {
    /// A service did not give what is needed before the deadline (exit 69).
    #[error("{0}")]
    Unavailable(String),
    /// A service refused us in a way waiting cannot fix: credentials, a bad URL (exit 78).
    #[error("{0}")]
    Refused(String),
}

fn refused_or_unavailable(e: HttpError, what: &str) -> DiscoveryError {
    match &e {
        HttpError::Tls { .. } => DiscoveryError::Refused(format!("{what}: {e}")),
        HttpError::Status { status, .. } if (400..500).contains(status) => DiscoveryError::Refused(
            format!("{what}: {e}; check the URL and the credentials (SPARK_INIT_*_AUTH)"),
        ),
        _ => DiscoveryError::Unavailable(format!("{what}: {e}")),
    }
}

/// Runs the lookups (in this process; see [`in_child`]).
pub fn run(lookups: &Lookups) -> Result<RemoteFacts, DiscoveryError> {
    let client = http::client(lookups.ca_file.as_deref(), lookups.http_timeout)
        .map_err(|p| DiscoveryError::Refused(p.to_string()))?;
    let mut facts = RemoteFacts::default();
    let mut backoff = Backoff::new(LOOKUP, lookups.timeout);
    if let Some(url) = &lookups.store {
        store_lookups(url, lookups, &mut facts)?;
    }
    if lookups.need_driver {
        if let (Some(service), Some(app)) = (&lookups.marathon, &lookups.driver_app) {
            let api = HttpMarathon {
                client: client.clone(),
                service,
            };
            match find_driver(&api, app, lookups, &mut backoff)? {
                Ok((driver, mut warnings)) => {
                    facts.driver = Some(driver);
                    facts.warnings.append(&mut warnings);
                }
                Err(reason) => facts.not_found.push(reason),
            }
        }
    }
    if lookups.need_app_id && facts.app_id.is_none() {
        let host = facts
            .driver
            .as_ref()
            .map(|d| d.host.clone())
            .or_else(|| lookups.known_driver_host.clone());
        let ui = facts.driver.as_ref().and_then(|d| d.ui_port);
        match find_app_id(&client, lookups, host.as_deref(), ui, &mut backoff)? {
            Ok(found) => facts.app_id = Some(found),
            Err(reason) => facts.not_found.push(reason),
        }
    }
    Ok(facts)
}

/// The executor's share of the framework store: the application ID (the stored framework
/// ID) and a collision-free executor ID. An unreachable store is a warning, or fatal with
/// `SPARK_INIT_STORE_REQUIRED=1`.
fn store_lookups(
    url: &StoreUrl,
    lookups: &Lookups,
    facts: &mut RemoteFacts,
) -> Result<(), DiscoveryError> {
    let store = Store::new(url.clone(), lookups.timeout);
    let unreachable = |e: StoreError, facts: &mut RemoteFacts| {
        if lookups.store_required {
            Err(DiscoveryError::Unavailable(format!(
                "{e} (SPARK_INIT_STORE_REQUIRED=1)"
            )))
        } else {
            facts.warnings.push(format!(
                "the framework store is not usable, going on without it: {e}"
            ));
            Ok(())
        }
    };
    if lookups.need_app_id {
        match store.read() {
            Ok(Some(stored)) if is_framework_id(&stored.framework_id) => {
                facts.app_id = Some((
                    stored.framework_id,
                    format!("the framework store {url} (framework-id)"),
                ));
            }
            Ok(Some(stored)) => facts.warnings.push(format!(
                "the framework store {url} holds {:?}, which is not a framework ID; ignored",
                stored.framework_id
            )),
            Ok(None) => {}
            Err(e) => return unreachable(e, facts),
        }
    }
    if lookups.need_executor_id && matches!(url, StoreUrl::Zk { .. }) {
        if lookups.once {
            facts.not_found.push(format!(
                "the executor ID would be allocated from {url} (executor-ids/); a dry run \
                 writes nothing"
            ));
        } else {
            match store.allocate_executor_id(&lookups.executor_label) {
                Ok(Some(id)) => {
                    facts.executor_id = Some((
                        id,
                        format!("the framework store {url} (executor-ids/id-{:010})", id - 1),
                    ))
                }
                Ok(None) => {}
                Err(e) => return unreachable(e, facts),
            }
        }
    }
    Ok(())
}

type Found<T> = Result<T, String>;

/// Waits until Marathon has a driver task that accepts TCP connections on its driver port.
fn find_driver(
    api: &dyn MarathonApi,
    app: &str,
    lookups: &Lookups,
    backoff: &mut Backoff,
) -> Result<Found<(FoundDriver, Vec<String>)>, DiscoveryError> {
    let service = lookups.marathon.as_ref().expect("checked by the caller");
    let where_ = service
        .bases
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut last;
    loop {
        let attempt: Result<Found<marathon::DriverTask>, HttpError> = (|| {
            let Some(found) = api.app(app)? else {
                return Ok(Err(format!("Marathon ({where_}) has no app {app}")));
            };
            let tasks = api.tasks(app)?.unwrap_or_default();
            Ok(marathon::pick_driver(
                &found,
                &tasks,
                &lookups.port_name,
                lookups.address,
            ))
        })();
        last = match attempt {
            Ok(Ok(task)) => match tcp_probe(&task.host, task.port) {
                Ok(()) => {
                    let driver = FoundDriver {
                        host: task.host.clone(),
                        port: task.port,
                        ui_port: task.ui_port,
                        source: format!(
                            "Marathon ({where_}): app {app}, task {}, {}",
                            task.task_id, task.port_choice
                        ),
                    };
                    return Ok(Ok((driver, task.warnings)));
                }
                Err(e) => format!(
                    "the driver task {} at {}:{} does not accept connections yet ({e})",
                    task.task_id, task.host, task.port
                ),
            },
            Ok(Err(reason)) => reason,
            Err(e) if e.retryable() => e.to_string(),
            Err(e) => {
                return Err(refused_or_unavailable(
                    e,
                    "looking up the driver in Marathon",
                ))
            }
        };
        if lookups.once {
            return Ok(Err(last));
        }
        let now = Instant::now();
        if backoff.progress_due(now) {
            tracing::info!("waiting for the driver: {last}");
        }
        match backoff.next_pause(now) {
            Some(pause) => std::thread::sleep(pause),
            None => {
                return Err(DiscoveryError::Unavailable(format!(
                    "the driver was not reachable within {} s (SPARK_INIT_RESOLVE_TIMEOUT); \
                     last seen: {last}",
                    lookups.timeout.as_secs_f64()
                )))
            }
        }
    }
}

fn tcp_probe(host: &str, port: u16) -> Result<(), String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, TCP_PROBE_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// The running application's ID: the driver's REST API (`/api/v1/applications`, Spark's
/// `ApplicationListResource`; on Mesos the ID is the framework ID), else the one active Mesos
/// framework on the driver's host (named `SPARK_INIT_FRAMEWORK_NAME` when set).
fn find_app_id(
    client: &reqwest::blocking::Client,
    lookups: &Lookups,
    host: Option<&str>,
    ui_port: Option<u16>,
    backoff: &mut Backoff,
) -> Result<Found<(String, String)>, DiscoveryError> {
    let Some(host) = host else {
        return Ok(Err(
            "the driver's host is not known, so its application ID cannot be asked for".into(),
        ));
    };
    let driver_api = ui_port.and_then(|port| {
        let url = format!("http://{host}:{port}");
        Service::parse("the driver", "driver", &url, None, &mut Vec::new())
    });
    if driver_api.is_none() && lookups.mesos.is_none() {
        return Ok(Err(
            "no way to ask for the application ID: the driver task has no port named ui (or \
             at index 2) and SPARK_INIT_MESOS_URL is not set; set SPARK_APPLICATION_ID"
                .into(),
        ));
    }
    let mut last;
    loop {
        last = String::new();
        if let Some(service) = &driver_api {
            match http::get_json(client, service, "/api/v1/applications") {
                Ok(Some((value, url))) => {
                    let running = running_application(value).map_err(|e| {
                        DiscoveryError::Unavailable(format!(
                            "GET {url}: not Spark's application list: {e}"
                        ))
                    })?;
                    if let Some(id) = running {
                        return Ok(Ok((id, format!("the driver's REST API, GET {url}"))));
                    }
                    last = format!("GET {url}: no running application yet");
                }
                Ok(None) => last = format!("the driver at {host} has no REST API yet (404)"),
                Err(e) => last = e.to_string(),
            }
        }
        if let Some(service) = &lookups.mesos {
            let api = HttpMesos {
                client: client.clone(),
                service,
            };
            match api.frameworks() {
                Ok(all) => {
                    let mut active = all.active_on(host);
                    if let Some(name) = &lookups.framework_name {
                        active.retain(|f| &f.name == name);
                    }
                    match active.as_slice() {
                        [one] => {
                            return Ok(Ok((
                                one.id.clone(),
                                format!("Mesos: the active framework {:?} on {host}", one.name),
                            )))
                        }
                        [] => last = format!("{last}; Mesos has no active framework on {host}"),
                        several => {
                            return Err(DiscoveryError::Refused(format!(
                                "Mesos has {} active frameworks on {host} ({}); set \
                                 SPARK_INIT_FRAMEWORK_NAME to the application's name",
                                several.len(),
                                several
                                    .iter()
                                    .map(|f| f.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )))
                        }
                    }
                }
                Err(e) if e.retryable() => last = format!("{last}; {e}"),
                Err(e) => return Err(refused_or_unavailable(e, "looking up frameworks in Mesos")),
            }
        }
        if lookups.once {
            return Ok(Err(last));
        }
        let now = Instant::now();
        if backoff.progress_due(now) {
            tracing::info!("waiting for the application ID: {last}");
        }
        match backoff.next_pause(now) {
            Some(pause) => std::thread::sleep(pause),
            None => {
                return Err(DiscoveryError::Unavailable(format!(
                    "no application ID within {} s (SPARK_INIT_RESOLVE_TIMEOUT); last seen: {last}",
                    lookups.timeout.as_secs_f64()
                )))
            }
        }
    }
}
