//! What both Spark roles resolve the same way: the values every plan shows, Spark's Java option
//! settings, settings from `spark-defaults.conf`, and the required inputs.

use std::collections::BTreeMap;
use std::path::Path;

use crate::clients::framework_store::StoreUrl;
use crate::config::cli::Role;
use crate::config::role::RoleConfig;
use crate::config::task_env::MAX_CPUS;
use crate::config::Problem;
use crate::facts::LocalFacts;
use crate::plan::{sourced, Findings, Resolved};
use crate::redact;
use crate::sourced::Sourced;
use crate::spark::java_options::{self, OptionSource};
use crate::spark::memory::planned_mib;
use crate::spark::rpc::check_driver_url;
use crate::spark::version::SparkVersion;

/// A required input that is missing: the variable and the message that says how to set it.
pub type Missing = (&'static str, &'static str);

pub const MISSING_DRIVER_URL: Missing = (
    "SPARK_DRIVER_URL",
    "is not set; set SPARK_INIT_MARATHON_URL and SPARK_INIT_DRIVER_APP to find the driver \
     through Marathon, or set it to the driver's address, \
     spark://CoarseGrainedScheduler@<host>:<port> (the port is the driver's spark.driver.port)",
);
pub const MISSING_APP_ID: Missing = (
    "SPARK_APPLICATION_ID",
    "is not set and cannot be looked up (no SPARK_INIT_MARATHON_URL or SPARK_INIT_MESOS_URL); \
     set it to the application's ID (on Mesos, the driver's framework ID)",
);
pub const MISSING_HOSTNAME: Missing = (
    "SPARK_INIT_HOSTNAME",
    "is not set and neither is Marathon's HOST; set SPARK_INIT_HOSTNAME to the address the \
     other side (driver or executors) can reach this container at",
);
pub const MISSING_EXECUTOR_ID: Missing = (
    "SPARK_EXECUTOR_ID",
    "is not set and there is no MESOS_TASK_ID to derive it from; set SPARK_EXECUTOR_ID to a \
     whole number unique among the application's executors",
);

/// The required inputs that are missing, checked without the installation (so that one round
/// of fixes is enough when the installation is missing too).
pub fn missing_inputs(role: Role, config: &RoleConfig) -> Vec<Problem> {
    let mut findings = Findings::default();
    findings.require(&config.hostname, MISSING_HOSTNAME);
    if role == Role::Executor {
        let lookups = &config.lookups;
        if lookups.marathon.is_none() {
            findings.require(&config.driver_url, MISSING_DRIVER_URL);
        }
        if lookups.marathon.is_none() && lookups.mesos.is_none() && lookups.store.is_none() {
            findings.require(&config.app_id, MISSING_APP_ID);
        }
        let zk_store = matches!(lookups.store, Some(StoreUrl::Zk { .. }));
        if config.executor_id.is_none() && config.task.task_id.is_none() && !zk_store {
            findings.missing(MISSING_EXECUTOR_ID);
        }
        checked_without_spark(config, &mut findings);
    }
    findings.problems
}

/// What can be checked without knowing the Spark version: the cores, the heap's size, and a
/// driver URL that is not Spark 1.6's Akka form.
fn checked_without_spark(config: &RoleConfig, findings: &mut Findings) {
    if let Some(cores) = &config.executor_cores {
        if cores
            .value
            .parse::<u32>()
            .map_or(true, |n| n == 0 || f64::from(n) > MAX_CPUS)
        {
            let why = format!("is not a whole number of cores from 1 to {MAX_CPUS}");
            findings.problem(&cores.source, Some(&cores.value), why);
        }
    }
    if let Some(memory) = &config.executor_memory {
        if let Err(why) = planned_mib(&memory.value) {
            findings.problem(&memory.source, Some(&memory.value), why);
        }
    }
    if let Some(url) = config
        .driver_url
        .as_ref()
        .filter(|u| !u.value.starts_with("akka"))
    {
        if let Err(why) = check_driver_url(&url.value, SparkVersion::new(3, 0, 0)) {
            findings.problem(&url.source, Some(&url.value), why);
        }
    }
}

/// The resolved values every role shows.
pub fn common_resolved(config: &RoleConfig, facts: &LocalFacts) -> BTreeMap<String, Resolved> {
    let shown = |path: &Path| path.display().to_string();
    let defaults = &facts.defaults;
    let defaults_source = match &defaults.path {
        Some(_) => format!("{} entries", defaults.entries.len()),
        None => "no spark-defaults.conf".to_string(),
    };
    let (spark, java) = (&facts.spark, &facts.java);
    [
        (
            "spark_home",
            sourced(shown(&spark.home), &config.spark_home.source),
        ),
        (
            "spark_conf_dir",
            sourced(shown(&config.conf_dir.value), &config.conf_dir.source),
        ),
        (
            "spark_defaults",
            sourced(defaults.path.as_deref().map(shown), defaults_source),
        ),
        (
            "spark_version",
            spark.version.as_ref().map(|v| v.to_string().into()),
        ),
        ("java", java.java.as_ref().map(|p| shown(p).into())),
        ("java_version", java.feature.clone().map(Into::into)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect()
}

/// A Spark conf value from spark-defaults.conf with its source.
pub fn from_defaults(facts: &LocalFacts, key: &str) -> Option<Sourced<String>> {
    facts
        .defaults
        .get(key)
        .map(|v| Sourced::new(v.to_string(), facts.defaults.source(key)))
}

/// `spark.<role>.defaultJavaOptions` (Spark ≥ 3.0) and `spark.<role>.extraJavaOptions` as
/// option sources, split as Spark splits them.
pub fn spark_java_sources(
    confs: &[(&str, Option<Sourced<String>>)],
    role: &str,
    findings: &mut Findings,
) -> Vec<OptionSource> {
    let mut sources = Vec::new();
    for (key, found) in confs {
        let Some(Sourced { value, source }) = found else {
            continue;
        };
        match java_options::parse_option_string(value) {
            Ok(tokens) => {
                for token in &tokens {
                    refused_java_option(key, role, token, source, value, findings);
                }
                if let Some(option) = java_options::dangling_option(&tokens) {
                    findings.problem(
                        source,
                        Some(value),
                        format!("{key}: {option} has no value after it; write {option}=<value>"),
                    );
                }
                sources.push(OptionSource {
                    name: source.clone(),
                    tokens,
                });
            }
            Err(e) => findings.problem(
                source,
                Some(value),
                format!("{key}: {e}; fix the quoting as you would for Spark"),
            ),
        }
    }
    sources
}

/// `SparkConf.validateSettings` refuses a heap size in `spark.<role>.extraJavaOptions` (and
/// spark-init in the default options too), and Spark options in `extraJavaOptions`.
fn refused_java_option(
    key: &str,
    role: &str,
    token: &str,
    source: &str,
    value: &str,
    findings: &mut Findings,
) {
    if token.starts_with("-Xmx") {
        findings.problem(
            source,
            Some(value),
            format!(
                "{key} sets the heap ({token}); Spark refuses that (\"Not allowed to specify max \
                 heap(Xmx) memory settings through java options\"): set spark.{role}.memory{} \
                 instead",
                if role == "executor" {
                    " or SPARK_EXECUTOR_MEMORY"
                } else {
                    ""
                }
            ),
        );
    } else if token.starts_with("-Dspark.") && key == format!("spark.{role}.extraJavaOptions") {
        findings.problem(
            source,
            Some(value),
            format!(
                "{key} sets a Spark option ({}); Spark refuses that (\"is not allowed to set \
                 Spark options\"): set it in spark-defaults.conf or with --conf",
                redact::option(token)
            ),
        );
    }
}
