//! The executor's command line: `java`, the classpath and heap, Spark's module options when the
//! JVM needs them, the block manager port, `CoarseGrainedExecutorBackend` and its flags, then
//! the app's own args (checked against the flags that version accepts).

use crate::facts::LocalFacts;
use crate::plan::Findings;
use crate::spark::executor_backend::{executor_flags, EXECUTOR_CLASS, FLAGS_WE_SET};
use crate::spark::module_options;
use crate::spark::version::SparkVersion;

/// Whether the JVM needs Spark's module options: Spark ≥ 3.3 on Java ≥ 17, as `spark-class`
/// adds them. An unknown Java version is a problem there: Java 8 refuses those options.
pub fn module_options_needed(facts: &LocalFacts, findings: &mut Findings) -> bool {
    let version = facts.spark.version.value;
    if !version.at_least(3, 3) {
        return false;
    }
    match facts.java.feature.value {
        Some(feature) => feature >= 17,
        None => {
            findings.problem(
                "JAVA_HOME",
                Some(&facts.java.java.value.display().to_string()),
                format!(
                    "the Java version is unknown ({}); Spark {version} on Java 17 needs module \
                     options that Java 8 refuses: point JAVA_HOME at an installation with a \
                     release file",
                    facts.java.feature.source
                ),
            );
            false
        }
    }
}

/// The flags given in the app's args: each must be one that `CoarseGrainedExecutorBackend`
/// accepts, since otherwise it prints its usage and exits 1 (and Marathon restarts it forever).
pub fn check_executor_args(args: &[String], version: SparkVersion, findings: &mut Findings) {
    let accepted = executor_flags(version);
    for pair in args.chunks(2) {
        let flag = pair[0].as_str();
        if !accepted.contains(&flag) {
            findings.problem(
                "args",
                Some(flag),
                format!(
                    "CoarseGrainedExecutorBackend of Spark {version} does not accept this flag \
                     (it accepts {}); remove it from the Marathon app's args",
                    accepted.join(" ")
                ),
            );
        } else if pair.len() < 2 {
            findings.problem("args", Some(flag), "needs a value after it");
        } else if FLAGS_WE_SET.contains(&flag) {
            findings.warn(format!(
                "the app's args set {flag} {}, which overrides the value spark-init resolved",
                pair[1]
            ));
        }
    }
}

/// The resolved values the command line is made of.
pub struct ExecutorArgs<'a> {
    /// `-XX:SharedArchiveFile=<archive>` when the class-data sharing archive is used.
    pub cds_option: Option<&'a str>,
    pub classpath: &'a str,
    pub heap_mib: u64,
    pub module_options: bool,
    pub block_manager_port: Option<u16>,
    pub driver_url: &'a str,
    pub executor_id: &'a str,
    pub hostname: &'a str,
    pub cores: u32,
    pub app_id: &'a str,
    /// Spark's `GraphiteSink` for the `executor` instance, as `-D` options (with
    /// `SPARK_INIT_GRAPHITE`; see `crate::plan::metrics`).
    pub metrics_options: &'a [String],
    pub extra: &'a [String],
}

pub fn executor_argv(facts: &LocalFacts, a: &ExecutorArgs<'_>) -> Vec<String> {
    let version = facts.spark.version.value;
    let mut argv: Vec<String> = vec![facts.java.java.value.display().to_string()];
    argv.extend(a.cds_option.map(str::to_string));
    argv.extend([
        "-cp".into(),
        a.classpath.to_string(),
        format!("-Xms{}m", a.heap_mib),
        format!("-Xmx{}m", a.heap_mib),
    ]);
    if a.module_options {
        argv.extend(
            module_options::for_version(version)
                .iter()
                .map(|s| s.to_string()),
        );
    }
    if let Some(port) = a.block_manager_port {
        // On the executor JVM: CoarseGrainedExecutorBackend keeps an executor's own
        // spark.*.port over the driver's (SparkConf.isExecutorStartupConf → setIfMissing).
        argv.push(format!("-Dspark.blockManager.port={port}"));
    }
    // Also the executor's own: the driver's `*` settings do not replace them, and only the
    // executor knows its Marathon task, which the prefix names.
    argv.extend(a.metrics_options.iter().cloned());
    argv.push(EXECUTOR_CLASS.into());
    for (flag, value) in [
        ("--driver-url", a.driver_url.to_string()),
        ("--executor-id", a.executor_id.to_string()),
        ("--hostname", a.hostname.to_string()),
        ("--cores", a.cores.to_string()),
        ("--app-id", a.app_id.to_string()),
    ] {
        argv.extend([flag.to_string(), value]);
    }
    if version.at_least(3, 0) {
        // Bind everywhere, advertise --hostname: with Docker's bridge networking the host's
        // address does not exist inside the container.
        argv.extend(["--bind-address".into(), "0.0.0.0".into()]);
    }
    if version.at_least(3, 1) {
        argv.extend(["--resourceProfileId".into(), "0".into()]);
    }
    argv.extend(a.extra.iter().cloned());
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &[&str], version: &str) -> (Vec<String>, Vec<String>) {
        let mut findings = Findings::default();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        check_executor_args(&args, SparkVersion::parse(version).unwrap(), &mut findings);
        (
            findings
                .problems
                .into_iter()
                .map(|p| p.value.unwrap())
                .collect(),
            findings.warnings,
        )
    }

    #[test]
    fn app_args_must_be_flags_the_backend_accepts() {
        assert_eq!(names(&["--bogus", "x"], "3.5.7").0, ["--bogus"]);
        assert_eq!(
            names(&["--user-class-path", "x"], "3.5.7").0,
            ["--user-class-path"]
        );
        assert!(names(&["--user-class-path", "x"], "2.4.8").0.is_empty());
        assert_eq!(names(&["--worker-url"], "3.5.7").0, ["--worker-url"]);
        let (problems, warnings) = names(&["--cores", "3"], "3.5.7");
        assert!(problems.is_empty());
        assert!(warnings[0].contains("--cores 3"), "{warnings:?}");
    }
}
