//! Who the executor is and whom it joins: `--executor-id`, `--driver-url`, `--app-id`,
//! `--hostname`, from the variables, else from the lookups (a dry run shows what it could not
//! find instead of waiting for it).

use crate::config::role::RoleConfig;
use crate::facts::remote::RemoteFacts;
use crate::plan::role::{MISSING_APP_ID, MISSING_DRIVER_URL, MISSING_EXECUTOR_ID};
use crate::plan::Findings;
use crate::sourced::Sourced;
use crate::spark::executor_id;
use crate::spark::rpc::check_driver_url;
use crate::spark::version::SparkVersion;

/// `SPARK_EXECUTOR_ID` (a whole number on Spark ≥ 2, which reads it with `toInt`), else one
/// allocated by the framework store, else a hash of Marathon's task ID.
pub fn executor_id(
    config: &RoleConfig,
    remote: &RemoteFacts,
    version: SparkVersion,
    findings: &mut Findings,
) -> Option<Sourced<String>> {
    match (&config.executor_id, &config.task.task_id) {
        (None, _) if remote.executor_id.is_some() => remote
            .executor_id
            .clone()
            .map(|id| id.map(|n| n.to_string())),
        (Some(id), _) if version.major >= 2 => match executor_id::parse_explicit(&id.value) {
            Ok(n) => Some(Sourced::new(n.to_string(), id.source.clone())),
            Err(why) => {
                findings.problem(
                    &id.source,
                    Some(&id.value),
                    format!(
                        "{why}; Spark {version} reads executor IDs with toInt: set a whole \
                         number in 1..=2147483647, unique among the application's live \
                         executors, or unset it to derive one from MESOS_TASK_ID"
                    ),
                );
                None
            }
        },
        (Some(id), _) => Some(id.clone()),
        (None, Some(task)) => Some(hashed_task_id(&task.value, findings)),
        (None, None) => {
            findings.missing(MISSING_EXECUTOR_ID);
            None
        }
    }
}

/// The executor ID derived from Marathon's task ID (see `spark::executor_id`).
fn hashed_task_id(task_id: &str, findings: &mut Findings) -> Sourced<String> {
    let id = executor_id::derive(task_id);
    let how = match executor_id::parse_task_id(task_id) {
        Some(parsed) => format!("MESOS_TASK_ID ({parsed}), hashed"),
        None => {
            findings.warn(format!(
                "MESOS_TASK_ID={task_id:?} is not in a Marathon format; the executor ID is a \
                 hash of it as it is"
            ));
            "MESOS_TASK_ID, hashed".to_string()
        }
    };
    Sourced::new(id.to_string(), how)
}

/// What a dry run shows for a value it did not wait for, with a warning saying why.
fn unresolved(what: &str, remote: &RemoteFacts, findings: &mut Findings) -> Sourced<String> {
    let why = if remote.not_found.is_empty() {
        "not looked up".to_string()
    } else {
        remote.not_found.join("; ")
    };
    findings.warn(format!("{what} is not resolved yet: {why}"));
    Sourced::new(format!("<{what} unresolved>"), format!("unresolved: {why}"))
}

/// `SPARK_DRIVER_URL` (checked against Spark's address syntax), else the driver Marathon runs.
pub fn driver_url(
    config: &RoleConfig,
    remote: &RemoteFacts,
    version: SparkVersion,
    dry_run: bool,
    findings: &mut Findings,
) -> Option<Sourced<String>> {
    let lookups = &config.lookups;
    if lookups.marathon.is_some() && lookups.driver_app.is_none() && config.driver_url.is_none() {
        findings.problem(
            "SPARK_INIT_DRIVER_APP",
            None,
            "is not set although SPARK_INIT_MARATHON_URL is; set it to the driver's Marathon \
             app id, such as /spark/orders/driver",
        );
    }
    if let Some(url) = &config.driver_url {
        if let Err(why) = check_driver_url(&url.value, version) {
            findings.problem(&url.source, Some(&url.value), why);
        }
        return Some(url.clone());
    }
    match &remote.driver {
        Some(d) => Some(Sourced::new(
            format!("spark://CoarseGrainedScheduler@{}:{}", d.host, d.port),
            d.source.clone(),
        )),
        None if dry_run && lookups.marathon.is_some() => {
            Some(unresolved("the driver URL", remote, findings))
        }
        None => findings.require(&None, MISSING_DRIVER_URL),
    }
}

/// `SPARK_APPLICATION_ID`, else the one the lookups found (store, driver's REST API, Mesos).
pub fn app_id(
    config: &RoleConfig,
    remote: &RemoteFacts,
    dry_run: bool,
    findings: &mut Findings,
) -> Option<Sourced<String>> {
    let lookups = &config.lookups;
    let configured =
        lookups.marathon.is_some() || lookups.mesos.is_some() || lookups.store.is_some();
    match (&config.app_id, &remote.app_id) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(found)) => Some(found.clone()),
        (None, None) if dry_run && configured => {
            Some(unresolved("the application ID", remote, findings))
        }
        (None, None) => findings.require(&None, MISSING_APP_ID),
    }
}
