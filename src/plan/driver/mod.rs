//! The driver: `spark-submit --deploy-mode client --conf ... <the app's args>`, with the confs
//! that make it reachable through Marathon's ports and, on Mesos, keep its framework without
//! offers and resumable; plus the duties of its companion.

mod barrier;
mod cds;
mod confs;
mod duties;
mod master_url;
mod memory;
mod prerequisites;
mod settings;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::role::RoleConfig;
use crate::config::{lossy, Config, Problem};
use crate::facts::install;
use crate::facts::remote::FoundMaster;
use crate::facts::{Facts, LocalFacts};
use crate::plan::role::{common_resolved, spark_java_sources, MISSING_HOSTNAME};
use crate::plan::{sourced, Findings, ModePlan, Resolved};
use crate::sourced::Sourced;

use self::settings::UserSettings;
use super::role::check_spark_and_java;

pub use self::confs::{DEFAULT_FAILOVER_TIMEOUT_SECONDS, DEFAULT_MESOS_CONSTRAINTS};

/// Resolves the driver's plan; every problem found is reported together.
pub fn resolve(config: &Config, role: &RoleConfig, all: &Facts) -> Result<ModePlan, Vec<Problem>> {
    let (facts, stored) = (&all.local, &all.stored);
    let mut found = Findings {
        warnings: stored.warnings.clone(),
        ..Findings::default()
    };
    check_spark_and_java(facts, &mut found);
    let submit = spark_submit(facts, &mut found);
    let hostname = found.require(&role.hostname, MISSING_HOSTNAME);
    let user = UserSettings {
        args: &role.submit,
        facts,
    };
    let (master, master_from_marathon) = chosen_master(role, &user, all, &mut found);
    client_mode_only(&user, &mut found);
    let failover = confs::failover_timeout(role, &mut found);
    let version = facts.spark.version.value;
    let mesos = master_url::on_mesos(master.as_ref(), version, &mut found);
    let reuse = master_url::framework_id_to_pass(stored, version);
    let mut wanted = confs::all(
        role,
        &user,
        hostname.as_ref(),
        mesos,
        &failover,
        reuse,
        &mut found,
    );
    wanted.extend(confs::metrics_confs(config.metrics.as_ref()));
    let barrier = barrier::plan(role, master.as_ref(), version, &all.executors, &mut found);
    wanted.extend(barrier.confs);
    let mut resolved = common_resolved(role, facts);
    resolved.extend(barrier.shown.map(|b| ("executor_barrier".to_string(), b)));
    let added = confs::apply(wanted, &user, &mut resolved, &mut found);
    resolved.insert("master".into(), master_shown(master, role, all));
    if let Some(host) = &hostname {
        resolved.insert("hostname".into(), host.clone().map(Into::into));
    }
    let spark_java_sources = spark_java_sources(&user.java_confs(), "driver", &mut found);
    let needs = &all.prerequisites;
    let sources = &spark_java_sources;
    resolved.extend(prerequisites::check(
        config,
        &role.submit,
        sources,
        needs,
        &mut found,
    ));
    let driver_memory = memory::driver_memory(role, &user, facts, &mut found);
    let java_options = crate::plan::cds::merged_java_options(config, &spark_java_sources);
    let heap = driver_memory.as_ref().map(|m| m.jvm.heap_mib.value);
    let cds = cds::plan(role, &user, heap, &java_options, &mut found);
    let publish = duties::publish(role, &user, hostname.as_ref(), &mut found);
    if !found.problems.is_empty() {
        return Err(found.problems);
    }
    resolved.extend(duties::shown(role, publish.as_ref()));
    resolved.extend(cds.resolved);
    let mut added = added;
    added.extend(cds.conf);
    let ours = driver_memory.as_ref().filter(|m| m.ours);
    if let Some(memory) = ours {
        let heap = memory.jvm.heap_mib.clone();
        resolved.insert("driver_memory_mib".into(), heap.map(Into::into));
    }
    let heap_arg = ours.map(|m| m.jvm.heap_mib.value);
    let reused = reuse.map(|id| id.value.clone());
    let ui_port = duties::ui_port(role, &user);
    Ok(ModePlan {
        role: "driver".into(),
        argv: submit_argv(
            &submit,
            role,
            master_from_marathon,
            heap_arg,
            added,
            &config.command,
        ),
        spark_java_sources,
        resolved,
        warnings: found.warnings,
        store_duty: duties::store_duty(role, publish, reused, ui_port, barrier.duty),
        spark_version: Some(facts.spark.version.value),
        jvm_memory: driver_memory.map(|m| m.jvm),
        env: cds.env,
    })
}

/// The driver's master: found through Marathon (`SPARK_INIT_MASTER_APP`; also given to
/// spark-submit, the second value), else the user's `--master` or `spark.master`.
fn chosen_master(
    role: &RoleConfig,
    user: &UserSettings<'_>,
    all: &Facts,
    found: &mut Findings,
) -> (Option<Sourced<String>>, Option<String>) {
    match &role.master_app {
        Some(_) => {
            let from_marathon = master_from_marathon(role, user, &all.master, found);
            (from_marathon.clone(), from_marathon.map(|m| m.value))
        }
        None => {
            let master = user.master();
            if master.is_none() {
                found.warn(NO_MASTER);
            }
            (master, None)
        }
    }
}

/// Issue 18: a driver without a master passed without a word and ran alone.
const NO_MASTER: &str = "the driver has no master (no --master in the app's args, no \
    spark.master in spark-defaults.conf, no SPARK_INIT_MASTER_APP): spark-submit will use \
    local[*], running every task in this container and never Marathon's executors; add \
    --master to the app's args (mesos://... on Spark 3) or set SPARK_INIT_MASTER_APP to the \
    Marathon app of its standalone master";

/// The master as the dry run shows it: the URL, or why there is none.
fn master_shown(master: Option<Sourced<String>>, role: &RoleConfig, all: &Facts) -> Resolved {
    match master {
        Some(m) => m.map(Into::into),
        None => match (&role.master_app, &all.master.not_found) {
            (Some(_), Some(why)) => sourced(Value::Null, format!("not found yet: {why}")),
            _ => sourced(Value::Null, "not set: spark-submit's default (local[*])"),
        },
    }
}

/// `SPARK_INIT_MASTER_APP`: the master's task found through Marathon, as
/// `spark://<host>:<port>`. The app's own `--master` would contradict it.
fn master_from_marathon(
    role: &RoleConfig,
    user: &UserSettings<'_>,
    master: &FoundMaster,
    found: &mut Findings,
) -> Option<Sourced<String>> {
    // RoleConfig::read refused `--master` with it, and it without Marathon.
    if role.submit.master.is_some() || role.lookups.marathon.is_none() {
        return None;
    }
    if let Some(theirs) = user.get("spark.master") {
        found.warn(format!(
            "spark.master {} ({}) is replaced by the master found through \
             SPARK_INIT_MASTER_APP",
            theirs.value, theirs.source
        ));
    }
    found.warnings.extend(master.warnings.iter().cloned());
    let task = master.master.as_ref()?;
    Some(Sourced::new(
        format!("spark://{}:{}", task.host, task.port),
        task.source.clone(),
    ))
}

/// `--deploy-mode cluster` would run the driver elsewhere: refused.
fn client_mode_only(user: &UserSettings<'_>, found: &mut Findings) {
    if user.deploy_mode().as_deref() == Some("cluster") {
        found.problem(
            "args",
            Some("--deploy-mode cluster"),
            "spark-init runs the driver in this container (client mode); remove the cluster \
             deploy mode",
        );
    }
}

/// `$SPARK_HOME/bin/spark-submit`, which must be there.
fn spark_submit(facts: &LocalFacts, found: &mut Findings) -> PathBuf {
    let submit = facts.spark.home.join("bin/spark-submit");
    if !install::is_executable(&submit) {
        found.problem(
            "SPARK_HOME",
            Some(&facts.spark.home.display().to_string()),
            format!(
                "has no executable {}; the image's Spark is incomplete",
                submit.display()
            ),
        );
    }
    submit
}

/// `spark-submit [--deploy-mode client] [--driver-memory Nm] --conf k=v ... <the app's args>`.
fn submit_argv(
    submit: &Path,
    role: &RoleConfig,
    master: Option<String>,
    driver_memory: Option<u64>,
    added: Vec<String>,
    command: &[OsString],
) -> Vec<OsString> {
    let mut argv: Vec<String> = vec![submit.display().to_string()];
    if let Some(master) = master {
        argv.extend(["--master".into(), master]);
    }
    if role.submit.deploy_mode.is_none() {
        argv.extend(["--deploy-mode".into(), "client".into()]);
    }
    if let Some(heap) = driver_memory {
        argv.extend(["--driver-memory".into(), format!("{heap}m")]);
    }
    for conf in added {
        argv.extend(["--conf".into(), conf]);
    }
    argv.extend(lossy(command));
    argv.into_iter().map(OsString::from).collect()
}
