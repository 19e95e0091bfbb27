//! The driver's class-data sharing archive (README "Class-data sharing"). spark-submit's
//! launcher builds the driver JVM's classpath as `spark.driver.extraClassPath`, then the conf
//! directory, then `jars/*` in directory order (`AbstractCommandBuilder.buildClassPath`), and
//! gives the driver's JVM, not its own, `SPARK_SUBMIT_OPTS` in client mode
//! (`SparkSubmitCommandBuilder.buildSparkSubmitCommand`; `bin/spark-class` starts the launcher
//! with `SPARK_LAUNCHER_OPTS` only). So with the archive the driver gets Spark's jars, in the
//! archive's order, as `spark.driver.extraClassPath`, and `-XX:SharedArchiveFile=<archive>`
//! after the image's `SPARK_SUBMIT_OPTS`. The conf directory then comes after the jars, where
//! its files (spark-defaults.conf, log4j2.properties) change nothing for the archive; no jar of
//! Spark's carries a file of those names at its root (checked in `tests/cds.rs`).

use std::collections::BTreeMap;

use crate::config::role::RoleConfig;
use crate::facts::LocalFacts;
use crate::plan::cds::{self, Run};
use crate::plan::driver::memory::users_driver_memory;
use crate::plan::driver::settings::UserSettings;
use crate::plan::{sourced, Findings, Resolved};
use crate::spark::memory::planned_mib;
use crate::spark::submit::DRIVER_CLASS_PATH;

/// spark-submit's default `spark.driver.memory` (1g).
const DEFAULT_HEAP_MIB: u64 = 1024;

/// What the driver gets for the archive.
#[derive(Default)]
pub struct DriverCds {
    /// `spark.driver.extraClassPath=<Spark's jars>`, for spark-submit's `--conf`.
    pub conf: Option<String>,
    /// `SPARK_SUBMIT_OPTS` with the archive's option.
    pub env: BTreeMap<String, String>,
    /// What the dry run shows.
    pub resolved: BTreeMap<String, Resolved>,
}

/// The decision for the driver's JVM, whose heap is `heap_mib` (`None`: spark-submit's
/// default, or the user's setting) and whose options besides spark-submit's are
/// `java_options` (`JAVA_TOOL_OPTIONS` as merged, `extraJavaOptions` included).
pub fn plan(
    role: &RoleConfig,
    user: &UserSettings<'_>,
    heap_mib: Option<u64>,
    java_options: &[String],
    found: &mut Findings,
) -> DriverCds {
    let facts: &LocalFacts = user.facts;
    let theirs = user.get(DRIVER_CLASS_PATH);
    let mut options = java_options.to_vec();
    if let Some(opts) = &role.submit_opts {
        options.extend(opts.value.split_whitespace().map(String::from));
    }
    let conf_dir = role.conf_dir.value.display().to_string();
    let classpath = |jars: &[String]| {
        let mut entries: Vec<String> = match &theirs {
            Some(set) => (set.value.split(':'))
                .filter(|e| !e.is_empty())
                .map(String::from)
                .collect(),
            None => jars.to_vec(),
        };
        entries.push(conf_dir.clone());
        entries
    };
    let heap = heap_mib.unwrap_or_else(|| {
        let set = users_driver_memory(role, user);
        set.and_then(|s| planned_mib(&s.value).ok())
            .unwrap_or(DEFAULT_HEAP_MIB)
    });
    let prepended_by = match &theirs {
        Some(set) => format!(
            "spark.driver.extraClassPath={:?} from {}",
            set.value, set.source
        ),
        None => "spark.driver.extraClassPath or --driver-class-path".to_string(),
    };
    let run = Run {
        role: "driver",
        prepended_by: &prepended_by,
        classpath: &classpath,
        heap_mib: heap,
        java_options: &options,
    };
    let (used, shown) = cds::decide(facts, &run, found);
    let mut planned = DriverCds::default();
    planned.resolved.insert("cds_archive".into(), shown);
    let Some(used) = used else {
        return planned;
    };
    if theirs.is_none() {
        let jars = used.jars.join(":");
        planned.resolved.insert(
            format!("conf.{DRIVER_CLASS_PATH}"),
            sourced(
                jars.clone(),
                "spark-init: Spark's jars first, in the class-data sharing archive's order",
            ),
        );
        planned.conf = Some(format!("{DRIVER_CLASS_PATH}={jars}"));
    }
    let submit_opts = match &role.submit_opts {
        Some(opts) if !opts.value.trim().is_empty() => format!("{} {}", opts.value, used.option),
        _ => used.option,
    };
    planned.env.insert("SPARK_SUBMIT_OPTS".into(), submit_opts);
    planned
}
