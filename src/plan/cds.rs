//! Whether a role's JVM (the executor's, the driver's) gets the image's class-data sharing
//! archive: only when its manifest matches what is about to run
//! (`crate::cds::manifest::check`); then the JVM gets `-XX:SharedArchiveFile=<archive>` and
//! Spark's jars as the archive's explicit sorted list (the executor's `-cp` instead of
//! `jars/*`; the driver's `spark.driver.extraClassPath`). Otherwise the role runs without it,
//! and a warning says why once (none when there is simply no archive at the default path,
//! which is an image without one).

use serde_json::Value;

use crate::cds::manifest::{check, Runtime};
use crate::config::Config;
use crate::facts::cds::Found;
use crate::facts::LocalFacts;
use crate::plan::{sourced, Findings, Resolved};
use crate::spark::java_options::{self, OptionSource};

/// The archive in use: the JVM option, and Spark's jars in the order the archive needs.
pub struct CdsUse {
    pub option: String,
    pub jars: Vec<String>,
}

/// What the JVM is about to run with, besides the facts.
pub struct Run<'a> {
    /// `executor` or `driver`.
    pub role: &'a str,
    /// What, in this role, would put an entry before Spark's jars (for the message).
    pub prepended_by: &'a str,
    /// The runtime classpath, entry by entry, with Spark's jars listed as given.
    pub classpath: &'a dyn Fn(&[String]) -> Vec<String>,
    pub heap_mib: u64,
    /// The JVM options besides the command line's (`JAVA_TOOL_OPTIONS` as merged, and the
    /// driver's `SPARK_SUBMIT_OPTS` and `extraJavaOptions`).
    pub java_options: &'a [String],
}

/// The JVM options a role's JVM gets besides its command line: the image's and spark-init's
/// `JAVA_TOOL_OPTIONS` merged with the role's Spark options, token by token.
pub fn merged_java_options(config: &Config, spark: &[OptionSource]) -> Vec<String> {
    java_options::merge(&config.java_sources_with(spark.to_vec()))
        .tokens()
        .iter()
        .map(|t| t.to_string())
        .collect()
}

/// The decision, and what the dry run shows about it (`cds_archive`).
pub fn decide(
    facts: &LocalFacts,
    run: &Run<'_>,
    found: &mut Findings,
) -> (Option<CdsUse>, Resolved) {
    let Some(cds) = &facts.cds else {
        return (None, sourced(Value::Null, "none (its variable is empty)"));
    };
    let archive = cds.archive.value.display().to_string();
    let mut without = |why: String, warn: bool| {
        if warn {
            found.warn(format!(
                "the class-data sharing archive {archive} is not used: {why}; the {} starts \
                 without it",
                run.role
            ));
        }
        (
            None,
            sourced(Value::Null, format!("{archive}: not used, {why}")),
        )
    };
    match &cds.found {
        Found::NoArchive => {
            let explicit = cds.archive.source != "default";
            without(
                format!("there is no such file ({})", cds.archive.source),
                explicit,
            )
        }
        Found::NoManifest(why) => without(why.clone(), true),
        Found::Present {
            manifest,
            jvm,
            now,
            jars,
            archive_bytes,
        } => {
            let entries = (run.classpath)(jars);
            let runtime = Runtime {
                role: run.role,
                prepended_by: run.prepended_by,
                jvm,
                classpath: &entries,
                now,
                heap_mib: run.heap_mib,
                java_options: run.java_options,
                archive_bytes: *archive_bytes,
            };
            match check(manifest, &runtime) {
                Err(why) => without(why, true),
                Ok(()) => (
                    Some(CdsUse {
                        option: format!("-XX:SharedArchiveFile={archive}"),
                        jars: jars.clone(),
                    }),
                    sourced(
                        archive.clone(),
                        format!(
                            "{}; its manifest matches (Spark's jars listed as when it was built)",
                            cds.archive.source
                        ),
                    ),
                ),
            }
        }
    }
}
