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
use crate::spark::version::{newest_known_line, SparkVersion, Support};

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

/// What resolving before the lookups reports, less the inputs the lookups would provide
/// (`SPARK_DRIVER_URL`, `SPARK_APPLICATION_ID`, `SPARK_EXECUTOR_ID` "is not set" while
/// Marathon, Mesos or the store is there to find them): only what [`missing_inputs`] agrees
/// is missing stays.
pub fn without_lookup_gaps(role: Role, config: &RoleConfig, found: Vec<Problem>) -> Vec<Problem> {
    let missing = missing_inputs(role, config);
    let looked_up = [
        MISSING_DRIVER_URL.0,
        MISSING_APP_ID.0,
        MISSING_EXECUTOR_ID.0,
    ];
    found
        .into_iter()
        .filter(|p| {
            !(p.value.is_none()
                && looked_up.contains(&p.name.as_str())
                && !missing.iter().any(|m| m.name == p.name))
        })
        .collect()
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

/// Spark and Java together: a 4.x newer than spark-init knows runs with the newest known
/// settings and a warning; Spark 4 needs Java 17 or later (SPARK-44112 dropped 8 and 11; its
/// classes are Java 17 bytecode, class file version 61), so an older Java is a problem naming
/// it and the fix, and an unknown one a warning.
pub fn check_spark_and_java(facts: &LocalFacts, findings: &mut Findings) {
    let version = facts.spark.version.value;
    if version.support() == Support::Newer {
        let newest = newest_known_line();
        findings.warn(format!(
            "Spark {version} ({}) is newer than the Spark lines spark-init knows (up to \
             {newest}): it runs with {newest}'s module options, classpath and memory rules; \
             check them against this release",
            facts.spark.version.source
        ));
    }
    if !version.at_least(4, 0) {
        return;
    }
    let java = &facts.java;
    let path = java.java.value.display().to_string();
    match java.feature.value {
        Some(feature) if feature < 17 => {
            let is = format!("Java {feature} (from {})", java.feature.source);
            let (value, what, fix) = if java.java.source == "JAVA_HOME" {
                // $JAVA_HOME/bin/java
                let home = java.java.value.parent().and_then(Path::parent);
                let home = home.map(|h| h.display().to_string());
                (home, format!("is {is}"), "point JAVA_HOME at")
            } else {
                let what = format!("is not set, and the java found on PATH ({path}) is {is}");
                (None, what, "set JAVA_HOME to")
            };
            findings.problem(
                "JAVA_HOME",
                value.as_deref(),
                format!(
                    "{what}, and Spark {version} needs Java 17 or later (Spark 4 dropped Java 8 \
                     and 11): {fix} a Java 17 or 21 installation"
                ),
            );
        }
        Some(_) => {}
        None => findings.warn(format!(
            "the Java version of {path} is {}: Spark {version} needs Java 17 or later",
            java.feature.source
        )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::local_facts;

    fn check(spark: &str, java: Option<u32>) -> Findings {
        let mut findings = Findings::default();
        check_spark_and_java(&local_facts(spark, java, &[]), &mut findings);
        findings
    }

    #[test]
    fn spark_4_on_java_below_17_names_java_home_and_the_fix() {
        for java in [8, 11] {
            let found = check("4.0.0", Some(java));
            let problem = &found.problems[0];
            assert_eq!(problem.name, "JAVA_HOME");
            assert_eq!(problem.value.as_deref(), Some("/opt/java"));
            assert!(
                problem.message.starts_with(&format!(
                    "is Java {java} (from /opt/java/release), and Spark 4.0.0 needs Java 17"
                )),
                "{problem}"
            );
            assert!(problem
                .message
                .ends_with("point JAVA_HOME at a Java 17 or 21 installation"));
        }
        for ok in [17, 21, 25] {
            assert_eq!(check("4.3.0", Some(ok)), Findings::default(), "{ok}");
        }
        // Spark 3 keeps running on Java 8 and 11.
        assert_eq!(check("3.5.7", Some(8)), Findings::default());
    }

    #[test]
    fn a_java_from_path_is_named_with_how_to_choose_another() {
        let mut facts = local_facts("4.3.0", Some(11), &[]);
        facts.java.java.source = "PATH".into();
        let mut found = Findings::default();
        check_spark_and_java(&facts, &mut found);
        let problem = &found.problems[0];
        assert_eq!(problem.value, None);
        assert!(
            problem.message.starts_with(
                "is not set, and the java found on PATH (/opt/java/bin/java) is Java 11"
            ),
            "{problem}"
        );
        assert!(problem
            .message
            .ends_with("set JAVA_HOME to a Java 17 or 21 installation"));
    }

    #[test]
    fn an_unknown_java_or_a_newer_spark_4_is_a_warning() {
        let found = check("4.0.0", None);
        assert!(found.problems.is_empty());
        assert!(
            found.warnings[0].contains("needs Java 17 or later"),
            "{found:?}"
        );
        let found = check("4.4.1", Some(17));
        assert!(found.problems.is_empty());
        assert!(
            found.warnings[0].starts_with("Spark 4.4.1 (/opt/spark/RELEASE) is newer than"),
            "{found:?}"
        );
        assert!(found.warnings[0].contains("runs with 4.3's module options"));
    }
}
