//! The executor: `java ... CoarseGrainedExecutorBackend --driver-url ... --executor-id ...
//! --hostname ... --cores ... --app-id ...`, as a hand-tuned operator would write it, from
//! Marathon's task environment, the installations, `spark-defaults.conf` and the lookups.

pub(crate) mod argv;
pub(crate) mod classpath;
pub(crate) mod cores;
mod identity;
mod memory;

use std::collections::BTreeMap;
use std::ffi::OsString;

use serde_json::json;

use crate::cds::with_explicit_jars;
use crate::config::cli::Role;
use crate::config::role::RoleConfig;
use crate::config::{lossy, Config, Problem};
use crate::facts::remote::RemoteFacts;
use crate::facts::LocalFacts;
use crate::plan::role::{
    check_spark_and_java, common_resolved, from_defaults, spark_java_sources, MISSING_HOSTNAME,
};
use crate::plan::{cds, metrics, sourced, Findings, ModePlan, Resolved};
use crate::sourced::Sourced;

use self::argv::ExecutorArgs;
use self::memory::Memory;

/// Resolves the executor's plan; every problem found is reported together.
pub fn resolve(
    config: &Config,
    role: &RoleConfig,
    facts: &LocalFacts,
    remote: &RemoteFacts,
) -> Result<ModePlan, Vec<Problem>> {
    let mut found = Findings::default();
    check_spark_and_java(facts, &mut found);
    let version = facts.spark.version.value;
    let dry_run = config.dry_run.value;
    let executor_id = identity::executor_id(role, remote, version, &mut found);
    found.warnings.extend(remote.warnings.iter().cloned());
    let driver_url = identity::driver_url(role, remote, version, dry_run, &mut found);
    let app_id = identity::app_id(role, remote, dry_run, &mut found);
    let hostname = found.require(&role.hostname, MISSING_HOSTNAME);
    let cores = cores::executor_cores(role, facts, &mut found);
    let memory = memory::executor_memory(role, facts, version, &mut found);
    let port = block_manager_port(role, &mut found);
    let spark_java_sources = spark_java_sources(&java_confs(facts), "executor", &mut found);
    let module_options = argv::module_options_needed(facts, &mut found);
    let extra = checked_args(config, version, &mut found);
    let (
        Some(executor_id),
        Some(driver_url),
        Some(app_id),
        Some(hostname),
        Some(cores),
        Some(memory),
    ) = (executor_id, driver_url, app_id, hostname, cores, memory)
    else {
        return Err(found.problems);
    };
    if !found.problems.is_empty() {
        return Err(found.problems);
    }
    let mut classpath = classpath::executor_classpath(role, facts);
    let java_options = crate::plan::cds::merged_java_options(config, &spark_java_sources);
    let with_jars = |jars: &[String]| with_explicit_jars(&classpath.value, &facts.spark.jars, jars);
    let run = cds::Run {
        role: "executor",
        prepended_by: "SPARK_CLASSPATH or spark.executor.extraClassPath; SPARK_EXTRA_CLASSPATH \
            goes after them",
        classpath: &with_jars,
        heap_mib: memory.heap_mib.value,
        java_options: &java_options,
    };
    let (cds_use, cds_shown) = cds::decide(facts, &run, &mut found);
    if let Some(listed) = cds_use.as_ref().map(|c| with_jars(&c.jars).join(":")) {
        classpath.value = listed;
    }
    let metrics_options = metrics_options(config);
    let argv = argv::executor_argv(
        facts,
        &ExecutorArgs {
            cds_option: cds_use.as_ref().map(|c| c.option.as_str()),
            classpath: &classpath.value,
            heap_mib: memory.heap_mib.value,
            module_options,
            block_manager_port: port.as_ref().map(|p| p.value),
            driver_url: &driver_url.value,
            executor_id: &executor_id.value,
            hostname: &hostname.value,
            cores: cores.value,
            app_id: &app_id.value,
            metrics_options: &metrics_options,
            extra: &extra,
        },
    );
    let mut resolved = common_resolved(role, facts);
    resolved.extend(
        [
            ("executor_id", executor_id.map(Into::into)),
            ("driver_url", driver_url.map(Into::into)),
            ("app_id", app_id.map(Into::into)),
            ("hostname", hostname.map(Into::into)),
            ("cores", cores.map(Into::into)),
            ("classpath", classpath.map(Into::into)),
            ("cds_archive", cds_shown),
            (
                "java_module_options",
                module_options_shown(facts, module_options),
            ),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    resolved.extend(memory_and_ports(&memory, port));
    Ok(ModePlan {
        role: "executor".into(),
        argv: argv.into_iter().map(OsString::from).collect(),
        spark_java_sources,
        resolved,
        warnings: found.warnings,
        store_duty: None,
        spark_version: Some(version),
        env: Default::default(),
        jvm_memory: Some(memory.jvm()),
    })
}

/// The app's args (extra `CoarseGrainedExecutorBackend` flags), checked against the version.
fn checked_args(
    config: &Config,
    version: crate::spark::version::SparkVersion,
    found: &mut Findings,
) -> Vec<String> {
    let extra = lossy(&config.command);
    argv::check_executor_args(&extra, version, found);
    extra
}

/// The executor's own GraphiteSink settings as `-D` options (README "Metrics").
fn metrics_options(config: &Config) -> Vec<String> {
    config
        .metrics
        .as_ref()
        .map(|m| metrics::as_system_properties(&metrics::sink_settings(Role::Executor, m)))
        .unwrap_or_default()
}

/// `spark.executor.defaultJavaOptions` (Spark ≥ 3.0) and `spark.executor.extraJavaOptions`.
fn java_confs(facts: &LocalFacts) -> Vec<(&'static str, Option<Sourced<String>>)> {
    let mut confs = Vec::new();
    if facts.spark.version.value.at_least(3, 0) {
        let key = "spark.executor.defaultJavaOptions";
        confs.push((key, from_defaults(facts, key)));
    }
    let key = "spark.executor.extraJavaOptions";
    confs.push((key, from_defaults(facts, key)));
    confs
}

/// The block manager's port: Marathon's port named `blockmanager`, else `PORT0`.
fn block_manager_port(role: &RoleConfig, found: &mut Findings) -> Option<Sourced<u16>> {
    let port = role.task.port("blockmanager", Some(0)).cloned();
    if port.is_none() {
        found.warn(
            "no port for the block manager (neither PORT_BLOCKMANAGER nor PORT0 is set): \
             Spark picks a random one, which Marathon does not map",
        );
    }
    port
}

fn memory_and_ports(memory: &Memory, port: Option<Sourced<u16>>) -> BTreeMap<String, Resolved> {
    BTreeMap::from([
        (
            "heap_mib".to_string(),
            memory.heap_mib.clone().map(Into::into),
        ),
        (
            "memory_overhead_mib".to_string(),
            memory.overhead_mib.clone().map(Into::into),
        ),
        (
            "ports".to_string(),
            sourced(
                json!({ "blockmanager": port.as_ref().map(|p| p.value) }),
                port.map_or("none set".to_string(), |p| p.source),
            ),
        ),
    ])
}

fn module_options_shown(facts: &LocalFacts, needed: bool) -> Resolved {
    sourced(
        needed,
        format!(
            "Spark {} on Java {}: {}",
            facts.spark.version.value,
            facts
                .java
                .feature
                .value
                .map_or("?".to_string(), |f| f.to_string()),
            if needed {
                "JavaModuleOptions as spark-class adds them"
            } else {
                "not needed"
            }
        ),
    )
}
