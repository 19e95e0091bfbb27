//! Lookups an executor needs from the outside world: the driver's address through Marathon
//! (waiting for it, on the `retry::LOOKUP` schedule, up to `SPARK_INIT_RESOLVE_TIMEOUT`), and
//! the application ID through the driver's REST API or the Mesos master.
//!
//! It runs in a short-lived child process ([`crate::facts::child::in_child`]): the HTTP client brings threads and
//! megabytes, and PID 1 must stay single-threaded and small while it supervises. The child
//! hands back one serialisable [`RemoteFacts`], which the dry run shows.

// The old paths, until src/roles.rs uses `facts::child`.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clients::framework_store::{
    is_framework_id, FrameworkStore, Store, StoreError, StoreUrl,
};
use crate::clients::http::{self, HttpError, Service};
use crate::clients::marathon::{self, AddressMode, DriverTask, HttpMarathon, MarathonApi};
use crate::clients::mesos::{Frameworks, HttpMesos, MesosApi};
use crate::clients::retry::{self, Attempt, Backoff, Budget, Clock, SystemClock, Waited, LOOKUP};
use crate::clients::spark_rest::{HttpSparkRest, Listed, SparkRestApi, SparkRestError};
use crate::clients::tcp_probe::{TcpConnect, TcpProbe};
use crate::sourced::Sourced;

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
    pub app_id: Option<Sourced<String>>,
    /// An executor ID from the store, and where it came from.
    pub executor_id: Option<Sourced<u32>>,
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
        // A 404 that is not the service's "absent" names the variable to fix itself.
        HttpError::Tls { .. } | HttpError::InsecureRedirect { .. } | HttpError::WrongUrl { .. } => {
            DiscoveryError::Refused(format!("{what}: {e}"))
        }
        HttpError::Status { status, .. } if (400..500).contains(status) => DiscoveryError::Refused(
            format!("{what}: {e}; check the URL and the credentials (SPARK_INIT_*_AUTH)"),
        ),
        _ => DiscoveryError::Unavailable(format!("{what}: {e}")),
    }
}

/// The outside world as the lookups see it: the real clients in [`run`], fakes in the tests.
struct World<'a> {
    marathon: Option<&'a dyn MarathonApi>,
    mesos: Option<&'a dyn MesosApi>,
    driver: &'a dyn SparkRestApi,
    store: Option<&'a dyn FrameworkStore>,
    probe: &'a dyn TcpProbe,
    clock: &'a dyn Clock,
}

/// Runs the lookups (in this process; see [`crate::facts::child::in_child`]) with the real
/// clients: HTTP, ZooKeeper, TCP and the system clock.
pub fn run(lookups: &Lookups) -> Result<RemoteFacts, DiscoveryError> {
    let client = http::client(lookups.ca_file.as_deref(), lookups.http_timeout)
        .map_err(|p| DiscoveryError::Refused(p.to_string()))?;
    let marathon = lookups.marathon.as_ref().map(|service| HttpMarathon {
        client: client.clone(),
        service,
    });
    let mesos = lookups.mesos.as_ref().map(|service| HttpMesos {
        client: client.clone(),
        service,
    });
    let store = (lookups.store.as_ref()).map(|url| Store::new(url.clone(), lookups.timeout));
    let world = World {
        marathon: marathon.as_ref().map(|m| m as &dyn MarathonApi),
        mesos: mesos.as_ref().map(|m| m as &dyn MesosApi),
        driver: &HttpSparkRest { client },
        store: store.as_ref().map(|s| s as &dyn FrameworkStore),
        probe: &TcpConnect {
            timeout: TCP_PROBE_TIMEOUT,
        },
        clock: &SystemClock,
    };
    discover(lookups, &world)
}

/// The store first (it may hold the application ID), then the driver, then the application
/// ID; the waits share one deadline.
fn discover(lookups: &Lookups, world: &World<'_>) -> Result<RemoteFacts, DiscoveryError> {
    let mut facts = RemoteFacts::default();
    let mut backoff = Backoff::starting_at(LOOKUP, lookups.timeout, world.clock.now());
    if let Some(store) = world.store {
        store_lookups(store, lookups, &mut facts)?;
    }
    if lookups.need_driver {
        if let (Some(api), Some(app)) = (world.marathon, &lookups.driver_app) {
            match find_driver(world, api, app, lookups, &mut backoff, "the driver")? {
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
        match find_app_id(world, lookups, host.as_deref(), ui, &mut backoff)? {
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
    store: &dyn FrameworkStore,
    lookups: &Lookups,
    facts: &mut RemoteFacts,
) -> Result<(), DiscoveryError> {
    let url = store.url();
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
                facts.app_id = Some(Sourced::new(
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
                    facts.executor_id = Some(Sourced::new(
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

/// What a wait came to, as the lookups report it: found; not found (a dry run looks once and
/// says why); or an error, the deadline's worded by `timed_out` from the last reason.
fn settle<T>(
    waited: Result<T, Waited<DiscoveryError>>,
    timed_out: impl FnOnce(String) -> String,
) -> Result<Found<T>, DiscoveryError> {
    match waited {
        Ok(found) => Ok(Ok(found)),
        Err(Waited::LookedOnce(reason)) => Ok(Err(reason)),
        Err(Waited::Failed(e)) => Err(e),
        Err(Waited::Deadline(last)) => Err(DiscoveryError::Unavailable(timed_out(last))),
    }
}

/// Waits until Marathon has a driver task that accepts TCP connections on its driver port.
fn find_driver(
    world: &World<'_>,
    api: &dyn MarathonApi,
    app: &str,
    lookups: &Lookups,
    backoff: &mut Backoff,
    what: &str,
) -> Result<Found<(FoundDriver, Vec<String>)>, DiscoveryError> {
    let service = lookups.marathon.as_ref().expect("checked by the caller");
    let where_ = service.to_string();
    let budget = budget(world, lookups, backoff);
    let look = Look {
        app,
        what,
        where_: &where_,
    };
    let waited = retry::until(backoff, world.clock, lookups.once, Some(what), || {
        driver_attempt(api, world.probe, &look, lookups, &budget)
    });
    settle(waited, |last| {
        format!(
            "{what} was not reachable within {} s (SPARK_INIT_RESOLVE_TIMEOUT); \
             last seen: {last}",
            lookups.timeout.as_secs_f64()
        )
    })
}

/// What a wait looks for: the app, its name in messages, and which Marathon.
struct Look<'a> {
    app: &'a str,
    what: &'a str,
    where_: &'a str,
}

/// The master a driver registers with (`SPARK_INIT_MASTER_APP`), found through Marathon as
/// an executor finds its driver: a task whose port named `master` accepts connections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FoundMaster {
    pub master: Option<FoundDriver>,
    /// Why it is missing (dry run only: it does not wait).
    pub not_found: Option<String>,
    pub warnings: Vec<String>,
}

/// Looks for the master (in this process; see [`crate::facts::child::in_child`]).
pub fn run_master(lookups: &Lookups, app: &str) -> Result<FoundMaster, DiscoveryError> {
    let client = http::client(lookups.ca_file.as_deref(), lookups.http_timeout)
        .map_err(|p| DiscoveryError::Refused(p.to_string()))?;
    let Some(service) = lookups.marathon.as_ref() else {
        return Ok(FoundMaster::default());
    };
    let marathon = HttpMarathon {
        client: client.clone(),
        service,
    };
    let world = World {
        marathon: Some(&marathon),
        mesos: None,
        driver: &HttpSparkRest { client },
        store: None,
        probe: &TcpConnect {
            timeout: TCP_PROBE_TIMEOUT,
        },
        clock: &SystemClock,
    };
    find_master(&world, lookups, app)
}

fn find_master(
    world: &World<'_>,
    lookups: &Lookups,
    app: &str,
) -> Result<FoundMaster, DiscoveryError> {
    let api = world.marathon.expect("run_master gives one");
    let lookups = Lookups {
        port_name: "master".into(),
        ..lookups.clone()
    };
    let mut backoff = Backoff::starting_at(LOOKUP, lookups.timeout, world.clock.now());
    Ok(
        match find_driver(world, api, app, &lookups, &mut backoff, "the master")? {
            Ok((master, warnings)) => FoundMaster {
                master: Some(master),
                not_found: None,
                warnings,
            },
            Err(reason) => FoundMaster {
                not_found: Some(reason),
                ..FoundMaster::default()
            },
        },
    )
}

/// The time each request of a wait on `backoff` may take.
fn budget<'a>(world: &World<'a>, lookups: &Lookups, backoff: &Backoff) -> Budget<'a> {
    Budget {
        per_request: lookups.http_timeout,
        deadline: backoff.deadline,
        clock: world.clock,
    }
}

/// One look: Marathon's driver task, then whether its driver port accepts connections.
fn driver_attempt(
    api: &dyn MarathonApi,
    probe: &dyn TcpProbe,
    look: &Look<'_>,
    lookups: &Lookups,
    budget: &Budget<'_>,
) -> Attempt<(FoundDriver, Vec<String>), DiscoveryError> {
    let Look { app, what, where_ } = *look;
    let task = match driver_task(api, app, lookups, where_, budget) {
        Ok(Ok(task)) => task,
        Ok(Err(reason)) => return Attempt::Retry(reason),
        Err(e) if e.retryable() => return Attempt::Retry(e.to_string()),
        Err(e) => {
            return Attempt::Fail(refused_or_unavailable(
                e,
                &format!("looking up {what} in Marathon"),
            ))
        }
    };
    if let Err(e) = probe.connect(&task.host, task.port) {
        return Attempt::Retry(format!(
            "{what}'s task {} at {}:{} does not accept connections yet ({e})",
            task.task_id, task.host, task.port
        ));
    }
    let driver = FoundDriver {
        host: task.host.clone(),
        port: task.port,
        ui_port: task.ui_port,
        source: format!(
            "Marathon ({where_}): app {app}, task {}, {}",
            task.task_id, task.port_choice
        ),
    };
    Attempt::Done((driver, task.warnings))
}

/// The app's driver task, or why there is none yet.
fn driver_task(
    api: &dyn MarathonApi,
    app: &str,
    lookups: &Lookups,
    where_: &str,
    budget: &Budget<'_>,
) -> Result<Found<DriverTask>, HttpError> {
    let Some(found) = api.app(app, budget.request_timeout())? else {
        return Ok(Err(format!("Marathon ({where_}) has no app {app}")));
    };
    let tasks = api
        .tasks(app, budget.request_timeout())?
        .unwrap_or_default();
    Ok(marathon::pick_driver(
        &found,
        &tasks,
        &lookups.port_name,
        lookups.address,
    ))
}

/// The running application's ID: the driver's REST API (`/api/v1/applications`, Spark's
/// `ApplicationListResource`; on Mesos the ID is the framework ID), else the one active Mesos
/// framework on the driver's host (named `SPARK_INIT_FRAMEWORK_NAME` when set).
fn find_app_id(
    world: &World<'_>,
    lookups: &Lookups,
    host: Option<&str>,
    ui_port: Option<u16>,
    backoff: &mut Backoff,
) -> Result<Found<Sourced<String>>, DiscoveryError> {
    let Some(host) = host else {
        return Ok(Err(
            "the driver's host is not known, so its application ID cannot be asked for".into(),
        ));
    };
    let driver_api = ui_port.and_then(|port| {
        let url = format!("http://{host}:{port}");
        Service::parse("the driver", "driver", &url, None, &mut Vec::new())
    });
    if driver_api.is_none() && world.mesos.is_none() {
        return Ok(Err(
            "no way to ask for the application ID: the driver task has no port named ui (or \
             at index 2) and SPARK_INIT_MESOS_URL is not set; set SPARK_APPLICATION_ID"
                .into(),
        ));
    }
    let budget = budget(world, lookups, backoff);
    let waited = retry::until(
        backoff,
        world.clock,
        lookups.once,
        Some("the application ID"),
        || app_id_attempt(world, lookups, host, driver_api.as_ref(), &budget),
    );
    settle(waited, |last| {
        format!(
            "no application ID within {} s (SPARK_INIT_RESOLVE_TIMEOUT); last seen: {last}",
            lookups.timeout.as_secs_f64()
        )
    })
}

/// One ask: the driver's REST API, then Mesos. A retry's reason says what each answered.
fn app_id_attempt(
    world: &World<'_>,
    lookups: &Lookups,
    host: &str,
    driver_api: Option<&Service>,
    budget: &Budget<'_>,
) -> Attempt<Sourced<String>, DiscoveryError> {
    let mut last = String::new();
    if let Some(service) = driver_api {
        match world.driver.applications(service, budget.request_timeout()) {
            Ok(Some(Listed {
                running: Some(id),
                url,
            })) => {
                return Attempt::Done(Sourced::new(
                    id,
                    format!("the driver's REST API, GET {url}"),
                ))
            }
            Ok(Some(Listed { running: None, url })) => {
                last = format!("GET {url}: no running application yet")
            }
            Ok(None) => last = format!("the driver at {host} has no REST API yet (404)"),
            Err(SparkRestError::Http(e)) => last = e.to_string(),
            Err(e) => return Attempt::Fail(DiscoveryError::Unavailable(e.to_string())),
        }
    }
    let Some(mesos) = world.mesos else {
        return Attempt::Retry(last);
    };
    match mesos.frameworks(budget.request_timeout()) {
        Ok(all) => active_framework(&all, lookups.framework_name.as_deref(), host, &last),
        Err(e) if e.retryable() => Attempt::Retry(format!("{last}; {e}")),
        Err(e) => Attempt::Fail(refused_or_unavailable(e, "looking up frameworks in Mesos")),
    }
}

/// The one active framework on `host` (named `name` when given); several are refused, since
/// waiting will not tell them apart.
fn active_framework(
    all: &Frameworks,
    name: Option<&str>,
    host: &str,
    last: &str,
) -> Attempt<Sourced<String>, DiscoveryError> {
    let mut active = all.active_on(host);
    if let Some(name) = name {
        active.retain(|f| f.name == name);
    }
    match active.as_slice() {
        [one] => Attempt::Done(Sourced::new(
            one.id.clone(),
            format!("Mesos: the active framework {:?} on {host}", one.name),
        )),
        [] => Attempt::Retry(format!("{last}; Mesos has no active framework on {host}")),
        several => Attempt::Fail(DiscoveryError::Refused(format!(
            "Mesos has {} active frameworks on {host} ({}); set SPARK_INIT_FRAMEWORK_NAME to \
             the application's name",
            several.len(),
            several
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::fake::{
        FakeClock, FakeMarathon, FakeMesos, FakeProbe, FakeSparkRest, FakeStore, Script,
    };
    use crate::clients::marathon::{App, PortName, Task};
    use crate::clients::mesos::Framework;

    const FW: &str = "5349f49b-68b3-4638-aab2-fc4ec845f993-0001";

    fn service(name: &str, url: &str) -> Service {
        Service::parse(name, "URL", url, None, &mut Vec::new()).unwrap()
    }

    /// An executor that needs its driver and its application ID, with Marathon and Mesos.
    fn lookups() -> Lookups {
        Lookups {
            marathon: Some(service("Marathon", "http://marathon:8080")),
            driver_app: Some("/spark/driver".into()),
            port_name: "driver".into(),
            address: AddressMode::Host,
            mesos: Some(service("Mesos", "http://master:5050")),
            framework_name: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            http_timeout: Duration::from_secs(10),
            need_driver: true,
            need_app_id: true,
            known_driver_host: None,
            once: false,
            store: None,
            store_required: false,
            need_executor_id: false,
            executor_label: "exec.1".into(),
        }
    }

    /// The driver app, with ports named ui and driver.
    fn driver_app() -> App {
        let named = |name: &str| PortName {
            name: Some(name.into()),
        };
        App {
            id: "/spark/driver".into(),
            port_definitions: vec![named("ui"), named("driver")],
            ..App::default()
        }
    }

    fn running_task() -> Task {
        Task {
            id: "driver.1".into(),
            host: "agent1".into(),
            ports: vec![31000, 31001],
            state: Some("TASK_RUNNING".into()),
            started_at: Some("2026-11-25T10:00:00.000Z".into()),
            ..Task::default()
        }
    }

    fn framework(id: &str, name: &str) -> Framework {
        Framework {
            id: id.into(),
            name: name.into(),
            hostname: "agent1".into(),
            active: true,
        }
    }

    /// A world where the driver runs and answers: Marathon has it, its port is open, its
    /// REST API names the application, and Mesos lists nothing.
    struct Fakes {
        marathon: FakeMarathon,
        mesos: FakeMesos,
        driver: FakeSparkRest,
        store: FakeStore,
        probe: FakeProbe,
        clock: FakeClock,
    }

    impl Default for Fakes {
        fn default() -> Self {
            Self {
                marathon: FakeMarathon {
                    app: Script::new([Ok(Some(driver_app()))]),
                    tasks: Script::new([Ok(Some(vec![running_task()]))]),
                    ..FakeMarathon::default()
                },
                mesos: FakeMesos(Script::new([Ok(Frameworks::default())])),
                driver: FakeSparkRest::running(Some(FW)),
                store: FakeStore::holding(None),
                probe: FakeProbe::default(),
                clock: FakeClock::default(),
            }
        }
    }

    impl Fakes {
        /// Discovers with the services `lookups` names.
        fn discover(&self, lookups: &Lookups) -> Result<RemoteFacts, DiscoveryError> {
            let world = World {
                marathon: lookups.marathon.as_ref().map(|_| &self.marathon as _),
                mesos: lookups.mesos.as_ref().map(|_| &self.mesos as _),
                driver: &self.driver,
                store: lookups.store.as_ref().map(|_| &self.store as _),
                probe: &self.probe,
                clock: &self.clock,
            };
            discover(lookups, &world)
        }
    }

    /// The application ID found, and where.
    fn fw_from(source: &str) -> Option<Sourced<String>> {
        Some(Sourced::new(FW.into(), source))
    }

    fn with_store() -> Lookups {
        Lookups {
            store: Some(FakeStore::holding(None).url),
            ..lookups()
        }
    }

    fn http_status(status: u16) -> HttpError {
        HttpError::Status {
            method: http::Method::Get,
            url: "http://marathon:8080/v2/apps/spark/driver".into(),
            status,
            message: String::new(),
        }
    }

    #[test]
    fn the_driver_is_waited_for_until_marathon_has_it_and_its_port_answers() {
        let fakes = Fakes {
            probe: FakeProbe(Script::new([Err("Connection refused".into()), Ok(())])),
            ..Fakes::default()
        };
        fakes.marathon.app.push_front(Ok(None));
        let facts = fakes.discover(&lookups()).unwrap();
        let driver = facts.driver.unwrap();
        assert_eq!(
            (driver.host.as_str(), driver.port, driver.ui_port),
            ("agent1", 31001, Some(31000))
        );
        assert_eq!(
            driver.source,
            "Marathon (http://marathon:8080/): app /spark/driver, task driver.1, the port \
             named driver"
        );
        assert_eq!(fakes.clock.slept(), &LOOKUP[..2]);
    }

    #[test]
    fn a_4xx_from_marathon_is_refused_at_once() {
        let fakes = Fakes::default();
        fakes.marathon.app.push_front(Err(http_status(401)));
        let Err(DiscoveryError::Refused(why)) = fakes.discover(&lookups()) else {
            panic!("not refused");
        };
        assert_eq!(
            why,
            "looking up the driver in Marathon: GET http://marathon:8080/v2/apps/spark/driver: \
             HTTP 401; check the URL and the credentials (SPARK_INIT_*_AUTH)"
        );
        assert!(fakes.clock.slept().is_empty());
    }

    /// Issue 11: a 404 that is not Marathon's "App '/x' does not exist" (a wrong path prefix,
    /// a proxy's page) was taken for an app not there yet, and the executor waited the whole
    /// SPARK_INIT_RESOLVE_TIMEOUT.
    #[test]
    fn a_404_that_is_not_marathons_is_refused_at_once() {
        let fakes = Fakes::default();
        fakes.marathon.app.push_front(Err(HttpError::WrongUrl {
            method: http::Method::Get,
            url: "http://marathon:8080/wrong/v2/apps/spark/driver".into(),
            status: 404,
            answer: "\"<html>\"".into(),
            service: "Marathon".into(),
            var: "SPARK_INIT_MARATHON_URL".into(),
        }));
        let Err(DiscoveryError::Refused(why)) = fakes.discover(&lookups()) else {
            panic!("not refused");
        };
        assert!(
            why.starts_with(
                "looking up the driver in Marathon: GET \
                 http://marathon:8080/wrong/v2/apps/spark/driver: HTTP 404"
            ) && why.ends_with(
                "no Marathon API at this URL; check SPARK_INIT_MARATHON_URL (its host, port \
                 and path prefix)"
            ),
            "{why}"
        );
        assert!(fakes.clock.slept().is_empty());
    }

    #[test]
    fn a_driver_that_never_comes_is_unavailable_at_the_deadline() {
        let fakes = Fakes {
            marathon: FakeMarathon::default(),
            ..Fakes::default()
        };
        assert_eq!(
            fakes.discover(&lookups()),
            Err(DiscoveryError::Unavailable(
                "the driver was not reachable within 30 s (SPARK_INIT_RESOLVE_TIMEOUT); last \
                 seen: Marathon (http://marathon:8080/) has no app /spark/driver"
                    .into()
            ))
        );
        let waited: Duration = fakes.clock.slept().iter().sum();
        assert_eq!(waited, Duration::from_secs(30));
    }

    #[test]
    fn each_request_gets_at_most_the_time_left_before_the_deadline() {
        // Regression: with SPARK_INIT_RESOLVE_TIMEOUT=5 and SPARK_INIT_HTTP_TIMEOUT=4, a
        // hanging Marathon was given up on after 8.3 s: the last request had its full 4 s.
        let fakes = Fakes {
            marathon: FakeMarathon::default(),
            ..Fakes::default()
        };
        let hurried = Lookups {
            timeout: Duration::from_secs(5),
            http_timeout: Duration::from_secs(4),
            ..lookups()
        };
        assert!(fakes.discover(&hurried).is_err());
        // Asked at 0, 0.25, 0.75, 1.75, 3.75 and 5 s (the deadline: a last look).
        let ms = Duration::from_millis;
        assert_eq!(
            *fakes.marathon.timeouts.borrow(),
            [
                ms(4000),
                ms(4000),
                ms(4000),
                ms(3250),
                ms(1250),
                retry::LAST_LOOK
            ]
        );
    }

    #[test]
    fn a_dry_run_looks_once_and_says_why() {
        let fakes = Fakes {
            marathon: FakeMarathon::default(),
            ..Fakes::default()
        };
        let facts = fakes
            .discover(&Lookups {
                once: true,
                ..lookups()
            })
            .unwrap();
        assert_eq!(
            facts.not_found,
            [
                "Marathon (http://marathon:8080/) has no app /spark/driver",
                "the driver's host is not known, so its application ID cannot be asked for",
            ]
        );
        assert!(fakes.clock.slept().is_empty());
    }

    #[test]
    fn the_application_id_comes_from_the_drivers_rest_api() {
        let facts = Fakes::default().discover(&lookups()).unwrap();
        assert_eq!(
            facts.app_id,
            fw_from("the driver's REST API, GET http://driver:4040/api/v1/applications")
        );
    }

    #[test]
    fn without_a_rest_api_the_application_id_comes_from_mesos() {
        let fakes = Fakes {
            driver: FakeSparkRest(Script::new([Ok(None)]), Script::new([Ok(None)])),
            mesos: FakeMesos(Script::new([
                Ok(Frameworks::default()),
                Ok(Frameworks {
                    frameworks: vec![framework(FW, "orders")],
                    ..Frameworks::default()
                }),
            ])),
            ..Fakes::default()
        };
        let facts = fakes.discover(&lookups()).unwrap();
        assert_eq!(
            facts.app_id,
            fw_from("Mesos: the active framework \"orders\" on agent1")
        );
        assert_eq!(fakes.clock.slept(), &LOOKUP[..1]);
    }

    #[test]
    fn several_active_frameworks_are_refused_unless_one_is_named() {
        let several = || Fakes {
            driver: FakeSparkRest(Script::new([Ok(None)]), Script::new([Ok(None)])),
            mesos: FakeMesos(Script::new([Ok(Frameworks {
                frameworks: vec![framework(FW, "orders"), framework("other-0001", "billing")],
                ..Frameworks::default()
            })])),
            ..Fakes::default()
        };
        assert_eq!(
            several().discover(&lookups()),
            Err(DiscoveryError::Refused(
                "Mesos has 2 active frameworks on agent1 (orders, billing); set \
                 SPARK_INIT_FRAMEWORK_NAME to the application's name"
                    .into()
            ))
        );
        let named = Lookups {
            framework_name: Some("orders".into()),
            ..lookups()
        };
        let facts = several().discover(&named).unwrap();
        assert_eq!(facts.app_id.unwrap().value, FW);
    }

    #[test]
    fn an_answer_that_is_not_sparks_list_is_unavailable() {
        let fakes = Fakes {
            driver: FakeSparkRest(
                Script::new([Err(SparkRestError::NotAList {
                    url: "http://agent1:31000/api/v1/applications".into(),
                    reason: "expected a sequence".into(),
                })]),
                Script::new([Ok(None)]),
            ),
            ..Fakes::default()
        };
        assert_eq!(
            fakes.discover(&lookups()),
            Err(DiscoveryError::Unavailable(
                "GET http://agent1:31000/api/v1/applications: not Spark's application list: \
                 expected a sequence"
                    .into()
            ))
        );
    }

    #[test]
    fn the_stored_framework_id_is_the_application_id() {
        let fakes = Fakes {
            store: FakeStore::holding(Some(FW)),
            driver: FakeSparkRest::running(None),
            ..Fakes::default()
        };
        let facts = fakes.discover(&with_store()).unwrap();
        assert_eq!(
            facts.app_id,
            fw_from("the framework store zk://zk1:2181/spark/orders (framework-id)")
        );
        let invalid = Fakes {
            store: FakeStore::holding(Some("hello")),
            ..Fakes::default()
        };
        let facts = invalid.discover(&with_store()).unwrap();
        assert_eq!(
            facts.warnings,
            [
                "the framework store zk://zk1:2181/spark/orders holds \"hello\", which is not a \
              framework ID; ignored"
            ]
        );
    }

    #[test]
    fn an_unreachable_store_is_a_warning_unless_required() {
        let fakes = Fakes {
            store: FakeStore::unreachable(),
            ..Fakes::default()
        };
        let facts = fakes.discover(&with_store()).unwrap();
        assert_eq!(
            facts.warnings,
            ["the framework store is not usable, going on without it: \
              zk://zk1:2181/spark/orders: unreachable: no session within 5 s"]
        );
        assert_eq!(facts.app_id.unwrap().value, FW);
        let required = Lookups {
            store_required: true,
            ..with_store()
        };
        assert_eq!(
            fakes.discover(&required),
            Err(DiscoveryError::Unavailable(
                "zk://zk1:2181/spark/orders: unreachable: no session within 5 s \
                 (SPARK_INIT_STORE_REQUIRED=1)"
                    .into()
            ))
        );
    }

    #[test]
    fn executor_ids_are_allocated_but_a_dry_run_writes_nothing() {
        let needs_id = Lookups {
            need_executor_id: true,
            ..with_store()
        };
        let fakes = Fakes::default();
        let facts = fakes.discover(&needs_id).unwrap();
        assert_eq!(
            facts.executor_id,
            Some(Sourced::new(
                1,
                "the framework store zk://zk1:2181/spark/orders (executor-ids/id-0000000000)"
            ))
        );
        assert_eq!(*fakes.store.allocated.borrow(), ["exec.1"]);

        let fakes = Fakes::default();
        let facts = fakes
            .discover(&Lookups {
                once: true,
                ..needs_id
            })
            .unwrap();
        assert_eq!(facts.executor_id, None);
        assert!(fakes.store.allocated.borrow().is_empty());
        assert_eq!(
            facts.not_found,
            [
                "the executor ID would be allocated from zk://zk1:2181/spark/orders \
              (executor-ids/); a dry run writes nothing"
            ]
        );
    }
}
