//! Spark's own exit codes, by name and by version, so that an exit such as 52 or 56 is named
//! the way Spark names it (`org.apache.spark.util.SparkExitCode`,
//! `org.apache.spark.executor.ExecutorExitCode`, `org.apache.spark.deploy.SparkSubmit`).
//!
//! Read from what each release ships, not from memory:
//! - 1.6.3: `core/src/main/scala/org/apache/spark/util/SparkExitCode.scala`,
//!   `.../executor/ExecutorExitCode.scala` and `.../deploy/SparkSubmit.scala` of a copy of the
//!   1.6.3 source tree (its `pom.xml` says 1.6.3; no 1.6 release ships on PyPI): 50, 51, 52; 53,
//!   54, 55, 56 (`HEARTBEAT_FAILURE`, SPARK-13522, merged in February 2016; 1.6.0 and 1.6.1 were
//!   not checked); `SparkSubmit.CLASS_NOT_FOUND_EXIT_STATUS = 101`.
//! - 2.4.8 (`spark-core_2.11-2.4.8.jar` of PyPI pyspark 2.4.8, its bytecode): the same.
//! - 3.5.7 (`spark-core_2.12-3.5.7.jar`, pyspark 3.5.7): `SparkExitCode` adds `EXIT_SUCCESS`
//!   0, `EXIT_FAILURE` 1, `ERROR_MISUSE_SHELL_BUILTIN` 2, `ERROR_PATH_NOT_FOUND` 3,
//!   `EXCEED_MAX_EXECUTOR_FAILURES` 11 and `ERROR_COMMAND_NOT_FOUND` 127 (SPARK-41210,
//!   apache/spark#40774, for 3.5.0).
//! - 4.0.0 (`spark-core_2.13-4.0.0.jar`, `spark-common-utils_2.13-4.0.0.jar`, pyspark 4.0.0):
//!   `SparkExitCode.DRIVER_TIMEOUT` 124; `ExecutorExitCode.KILLED_BY_TASK_REAPER` 57
//!   (SPARK-48541) and `BLOCK_MANAGER_REREGISTRATION_FAILED` 58.
//! - 4.3.0 (pyspark 4.3.0): `SparkExitCode.CLASS_NOT_FOUND` 101, SparkSubmit's old code under
//!   an official name (SPARK-53165, "for Apache Spark 4.1.0").
//!
//! `meaning` is `ExecutorExitCode.explainExitCode`'s text where it has one (the same in every
//! release above), else the constant's doc comment. Left out on purpose: 0, 1, 2, 3 and 127,
//! which Spark only names after the shell's conventions; they are explained as such.

use crate::spark::version::SparkVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparkExitCode {
    pub code: i32,
    /// `Object.CONSTANT` as the version names it.
    pub name: &'static str,
    /// Spark's own words for it.
    pub meaning: &'static str,
    /// What an operator can do about it.
    pub advice: &'static str,
    /// The first release line with this name for the code, and the first without it.
    since: (u32, u32),
    until: Option<(u32, u32)>,
}

const fn code(
    code: i32,
    name: &'static str,
    meaning: &'static str,
    advice: &'static str,
    since: (u32, u32),
) -> SparkExitCode {
    SparkExitCode {
        code,
        name,
        meaning,
        advice,
        since,
        until: None,
    }
}

const CLASS_NOT_FOUND_MEANING: &str =
    "spark-submit could not load the application's main class (ClassNotFoundException or \
     NoClassDefFoundError)";
const CLASS_NOT_FOUND_ADVICE: &str =
    "check --class and that the application jar (or --jars) holds it";

/// Every named code, oldest name first.
pub const TABLE: &[SparkExitCode] = &[
    code(
        11,
        "SparkExitCode.EXCEED_MAX_EXECUTOR_FAILURES",
        "too many executors failed (spark.executor.maxNumFailures)",
        "the executors' own exits say why they failed",
        (3, 5),
    ),
    code(
        50,
        "SparkExitCode.UNCAUGHT_EXCEPTION",
        "Uncaught exception",
        "the exception and its stack trace are in the JVM's log above",
        (1, 6),
    ),
    code(
        51,
        "SparkExitCode.UNCAUGHT_EXCEPTION_TWICE",
        "Uncaught exception, and logging the exception failed",
        "the JVM's stderr may hold what could not be logged",
        (1, 6),
    ),
    code(
        52,
        "SparkExitCode.OOM",
        "OutOfMemoryError",
        "the JVM ran out of heap (or metaspace or direct memory): raise the heap \
         (spark.executor.memory, SPARK_EXECUTOR_MEMORY, --driver-memory) or make each task \
         hold less (more partitions)",
        (1, 6),
    ),
    code(
        53,
        "ExecutorExitCode.DISK_STORE_FAILED_TO_CREATE_DIR",
        "Failed to create local directory (bad spark.local.dir?)",
        "check that spark.local.dir (SPARK_LOCAL_DIRS) exists, is writable by the JVM's user \
         and has space",
        (1, 6),
    ),
    code(
        54,
        "ExecutorExitCode.EXTERNAL_BLOCK_STORE_FAILED_TO_INITIALIZE",
        "ExternalBlockStore failed to initialize.",
        "check the external block store's configuration (unused since Spark 2.0)",
        (1, 6),
    ),
    code(
        55,
        "ExecutorExitCode.EXTERNAL_BLOCK_STORE_FAILED_TO_CREATE_DIR",
        "ExternalBlockStore failed to create a local temporary directory.",
        "check the external block store's directories (unused since Spark 2.0)",
        (1, 6),
    ),
    code(
        56,
        "ExecutorExitCode.HEARTBEAT_FAILURE",
        "Unable to send heartbeats to driver.",
        "the driver was gone or unreachable for spark.executor.heartbeat.maxFailures \
         heartbeats: see how the driver ended, and the network between them",
        (1, 6),
    ),
    code(
        57,
        "ExecutorExitCode.KILLED_BY_TASK_REAPER",
        "Executor killed by TaskReaper.",
        "a killed task did not stop within spark.task.reaper.killTimeout: its thread dump is \
         in the log above",
        (4, 0),
    ),
    code(
        58,
        "ExecutorExitCode.BLOCK_MANAGER_REREGISTRATION_FAILED",
        "Executor killed due to a failure of block manager re-registration.",
        "the driver no longer knew this executor: see the driver's log",
        (4, 0),
    ),
    SparkExitCode {
        until: Some((4, 1)),
        ..code(
            101,
            "SparkSubmit.CLASS_NOT_FOUND_EXIT_STATUS",
            CLASS_NOT_FOUND_MEANING,
            CLASS_NOT_FOUND_ADVICE,
            (1, 6),
        )
    },
    code(
        101,
        "SparkExitCode.CLASS_NOT_FOUND",
        CLASS_NOT_FOUND_MEANING,
        CLASS_NOT_FOUND_ADVICE,
        (4, 1),
    ),
    code(
        124,
        "SparkExitCode.DRIVER_TIMEOUT",
        "the driver ran longer than spark.driver.timeout",
        "raise spark.driver.timeout, or find what keeps the application from finishing",
        (4, 0),
    ),
];

/// Spark's name for `exit_code` in `version`; with the version unknown (a plain command), the
/// newest name of any release.
pub fn lookup(exit_code: i32, version: Option<SparkVersion>) -> Option<&'static SparkExitCode> {
    let mut named = TABLE.iter().filter(|c| c.code == exit_code);
    match version {
        Some(v) => named.find(|c| {
            v.at_least(c.since.0, c.since.1) && c.until.map_or(true, |(m, n)| !v.at_least(m, n))
        }),
        None => named.next_back(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(code: i32, version: &str) -> Option<&'static str> {
        lookup(code, SparkVersion::parse(version)).map(|c| c.name)
    }

    #[test]
    fn every_release_names_the_codes_it_ships() {
        for version in ["1.6.3", "2.4.8", "3.5.7", "4.0.0"] {
            assert_eq!(name(52, version), Some("SparkExitCode.OOM"), "{version}");
            assert_eq!(
                name(56, version),
                Some("ExecutorExitCode.HEARTBEAT_FAILURE"),
                "{version}"
            );
        }
        assert_eq!(name(57, "3.5.7"), None);
        assert_eq!(
            name(57, "4.0.0"),
            Some("ExecutorExitCode.KILLED_BY_TASK_REAPER")
        );
        assert_eq!(name(11, "3.4.4"), None);
        assert_eq!(
            name(11, "3.5.7"),
            Some("SparkExitCode.EXCEED_MAX_EXECUTOR_FAILURES")
        );
        assert_eq!(name(124, "3.5.7"), None);
        assert_eq!(name(124, "4.0.0"), Some("SparkExitCode.DRIVER_TIMEOUT"));
    }

    #[test]
    fn class_not_found_got_its_official_name_in_4_1() {
        assert_eq!(
            name(101, "2.4.8"),
            Some("SparkSubmit.CLASS_NOT_FOUND_EXIT_STATUS")
        );
        assert_eq!(
            name(101, "4.0.0"),
            Some("SparkSubmit.CLASS_NOT_FOUND_EXIT_STATUS")
        );
        assert_eq!(name(101, "4.1.0"), Some("SparkExitCode.CLASS_NOT_FOUND"));
        assert_eq!(
            lookup(101, None).map(|c| c.name),
            Some("SparkExitCode.CLASS_NOT_FOUND")
        );
    }

    #[test]
    fn generic_codes_are_not_spark_s() {
        for code in [0, 1, 2, 3, 126, 127, 137, 143] {
            assert_eq!(lookup(code, None), None, "{code}");
        }
    }
}
