//! Discover: everything read from the world. The image's file system ([`discover_local`]:
//! the Spark and Java installations, `spark-defaults.conf`, the cgroup limits) and, in forked
//! child processes so that PID 1 stays one small thread, the services ([`discover_remote`]:
//! Marathon, Mesos, the driver's REST API and the framework store for an executor;
//! [`discover_stored`]: the driver's stored framework ID). The answers are plain serialisable
//! values, so the dry run shows them and tests replay them. After the command exits, the
//! supervisor reads two more facts to explain how it ended: the cgroup's memory counters
//! ([`cgroup::memory_counters`]) and a crashed JVM's fatal-error log ([`hs_err`]).

pub mod accounts;
pub mod cds;
pub mod cgroup;
pub mod child;
pub mod executors;
pub mod hadoop;
pub mod hs_err;
pub mod install;
pub mod mesos_library;
pub mod prerequisites;
pub mod remote;
pub mod spark_defaults;
pub mod stored;

use std::path::Path;

use serde::Serialize;

use crate::config::role::RoleConfig;
use crate::config::{Config, Problem};
use crate::error::Error;
use crate::facts::cgroup::CgroupLimits;
use crate::facts::child::ChildError;
use crate::facts::install::{JavaInstall, SparkInstall};
use crate::facts::prerequisites::Prerequisites;
use crate::facts::remote::{DiscoveryError, Lookups, RemoteFacts};
use crate::facts::spark_defaults::SparkDefaults;
use crate::facts::stored::BeforeLaunch;
use crate::supervise::signals::SignalSet;

/// What the image's file system says.
#[derive(Debug, Clone, Serialize)]
pub struct LocalFacts {
    pub spark: SparkInstall,
    pub java: JavaInstall,
    pub defaults: SparkDefaults,
    pub cgroup: CgroupLimits,
    pub available_cpus: u32,
    /// The working directory the command starts in (on the executor's classpath).
    pub working_dir: Option<std::path::PathBuf>,
    /// What `$HADOOP_HOME/bin/hadoop classpath` printed, when `HADOOP_HOME` is set and
    /// `SPARK_DIST_CLASSPATH` is not (as the official image's entrypoint does).
    pub hadoop_classpath: Option<crate::sourced::Sourced<String>>,
    /// The role's class-data sharing archive (`None`: a master, or none chosen).
    pub cds: Option<cds::CdsFacts>,
}

/// Everything a role's plan is resolved from, besides the configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub local: LocalFacts,
    /// The executor's lookups (empty for a driver).
    pub remote: RemoteFacts,
    /// The driver's stored framework ID (empty for an executor).
    pub stored: BeforeLaunch,
    /// The driver's master, found through Marathon (`SPARK_INIT_MASTER_APP`).
    pub master: remote::FoundMaster,
    /// The driver's executors' app (`SPARK_INIT_EXECUTOR_APP`), for the receiver barrier.
    pub executors: executors::FoundExecutors,
    /// What the driver needs in the image (empty for an executor).
    pub prerequisites: Prerequisites,
}

/// Reads the installations, the Spark configuration (the driver's `--properties-file` when
/// the args name one, as spark-submit does) and the cgroup limits.
pub fn discover_local(role: &RoleConfig) -> Result<LocalFacts, Vec<Problem>> {
    let mut problems = Vec::new();
    let spark = install::discover_spark(&role.spark_home.value, "SPARK_HOME")
        .map_err(|p| problems.push(p))
        .ok();
    let java = install::discover_java(role.java_home.as_deref(), role.path.as_deref())
        .map_err(|p| problems.push(p))
        .ok();
    let defaults = match &role.submit.properties_file {
        Some(file) => spark_defaults::load_file(Path::new(file), "--properties-file"),
        None => spark_defaults::load(&role.conf_dir.value),
    }
    .map_err(|p| problems.push(p))
    .unwrap_or_default();
    let cgroup = cgroup::read(&role.cgroup_root);
    let hadoop_classpath = match (&role.hadoop_home, &role.dist_classpath) {
        (Some(home), None) => hadoop::classpath(home).map_err(|p| problems.push(p)).ok(),
        _ => None,
    };
    match (spark, java) {
        (Some(spark), Some(java)) if problems.is_empty() => Ok(LocalFacts {
            cds: (role.cds_archive.value.as_ref()).map(|path| {
                let archive = crate::sourced::Sourced::new(path.clone(), &role.cds_archive.source);
                cds::discover(&archive, &java.java.value, &spark.home.join("jars"))
            }),
            spark,
            java,
            defaults,
            cgroup,
            available_cpus: cgroup::available_cpus(),
            working_dir: std::env::current_dir().ok(),
            hadoop_classpath,
        }),
        _ => Err(problems),
    }
}

/// The lookups an executor needs, in a child process; none when the environment says it all.
pub fn discover_remote(
    config: &Config,
    role: &RoleConfig,
    blocked: &SignalSet,
) -> Result<RemoteFacts, Error> {
    let lookups = Lookups {
        once: config.dry_run.value,
        ..role.lookups.clone()
    };
    let driver_lookup = lookups.need_driver && lookups.marathon.is_some();
    let app_id_lookup = lookups.need_app_id
        && (lookups.marathon.is_some() || lookups.mesos.is_some() || lookups.store.is_some());
    let id_lookup = lookups.need_executor_id && lookups.store.is_some();
    if !driver_lookup && !app_id_lookup && !id_lookup {
        return Ok(RemoteFacts::default());
    }
    in_child(blocked, "looking things up", || remote::run(&lookups))
}

/// The driver's stored framework ID, read (and checked with Mesos) in a child process.
pub fn discover_stored(
    config: &Config,
    role: &RoleConfig,
    spark: crate::spark::version::SparkVersion,
    blocked: &SignalSet,
) -> Result<BeforeLaunch, Error> {
    let lookups = &role.lookups;
    let Some(url) = &lookups.store else {
        return Ok(BeforeLaunch::default());
    };
    let lookup = stored::StoreLookup {
        url,
        required: lookups.store_required,
        mesos: lookups.mesos.as_ref(),
        ca_file: lookups.ca_file.as_deref(),
        http_timeout: lookups.http_timeout,
        timeout: lookups.timeout,
        dry_run: config.dry_run.value,
        new_application: spark.at_least(4, 0).then(|| {
            format!(
                "Spark {spark} starts a new application at every launch (no Mesos framework to \
                 re-register with); executors take the new one's ID from its REST API"
            )
        }),
    };
    in_child(blocked, "reading the framework store", || {
        stored::before_launch(&lookup)
    })
}

/// The driver's master through Marathon, waited for in a child process.
pub fn discover_master(
    config: &Config,
    role: &RoleConfig,
    blocked: &SignalSet,
) -> Result<remote::FoundMaster, Error> {
    let (Some(app), Some(_)) = (&role.master_app, &role.lookups.marathon) else {
        return Ok(remote::FoundMaster::default());
    };
    let lookups = Lookups {
        once: config.dry_run.value,
        ..role.lookups.clone()
    };
    in_child(blocked, "looking up the master", || {
        remote::run_master(&lookups, &app.value)
    })
}

/// The driver's executors' app, read in a child process when the receiver barrier may need
/// it: `SPARK_INIT_EXECUTOR_APP` with Marathon, and `SPARK_INIT_EXECUTOR_WAIT` not 0.
pub fn discover_executors(
    config: &Config,
    role: &RoleConfig,
    blocked: &SignalSet,
) -> Result<executors::FoundExecutors, Error> {
    let wanted = role.lookups.marathon.is_some() && !role.executor_wait.value.is_zero();
    let Some(app) = role.executor_app.clone().filter(|_| wanted) else {
        return Ok(executors::FoundExecutors::default());
    };
    // A dry run looks once, as for the other lookups.
    let lookups = Lookups {
        once: config.dry_run.value,
        ..role.lookups.clone()
    };
    in_child(blocked, "reading the executors' app", move || {
        Ok(executors::run(&lookups, &app))
    })
}

/// Runs a lookup in a forked child and maps what can go wrong to spark-init's errors.
fn in_child<T>(
    blocked: &SignalSet,
    what: &str,
    lookup: impl FnOnce() -> Result<T, DiscoveryError>,
) -> Result<T, Error>
where
    T: Serialize + for<'de> serde::Deserialize<'de>,
{
    match child::in_child(blocked, lookup) {
        Ok(Ok(facts)) => Ok(facts),
        Ok(Err(DiscoveryError::Unavailable(why))) => Err(Error::Unavailable(why)),
        Ok(Err(DiscoveryError::Refused(why))) => Err(Error::Refused(why)),
        Err(ChildError::Interrupted(sig)) => Err(Error::Interrupted(sig)),
        Err(ChildError::Failed(why)) => Err(Error::Internal(format!("{what}: {why}"))),
    }
}
