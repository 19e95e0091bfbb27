//! Whether the executor's JVM gets the image's class-data sharing archive: only when its
//! manifest matches what is about to run (`crate::cds::manifest::check`); then the JVM gets
//! `-XX:SharedArchiveFile=<archive>` and Spark's jars as the archive's explicit sorted list
//! instead of `jars/*`. Otherwise the executor runs without it, and a warning says why once
//! (none when there is simply no archive at the default path, which is an image without one).

use serde_json::Value;

use crate::cds::manifest::{check, Runtime};
use crate::cds::with_explicit_jars;
use crate::facts::cds::Found;
use crate::facts::LocalFacts;
use crate::plan::{sourced, Findings, Resolved};

/// The archive in use: the JVM option and the classpath that goes with it.
pub struct CdsUse {
    pub option: String,
    pub classpath: String,
}

/// What the JVM is about to run with, besides the facts.
pub struct Run<'a> {
    pub classpath: &'a str,
    pub heap_mib: u64,
    /// The merged JVM options (`JAVA_TOOL_OPTIONS`).
    pub java_options: &'a [String],
}

/// The decision, and what the dry run shows about it (`cds_archive`).
pub fn decide(
    facts: &LocalFacts,
    run: &Run<'_>,
    found: &mut Findings,
) -> (Option<CdsUse>, Resolved) {
    let Some(cds) = &facts.cds else {
        return (
            None,
            sourced(Value::Null, "none (SPARK_INIT_CDS_ARCHIVE is empty)"),
        );
    };
    let archive = cds.archive.value.display().to_string();
    let mut without = |why: String, warn: bool| {
        if warn {
            found.warn(format!(
                "the class-data sharing archive {archive} is not used: {why}; the executor \
                 starts without it"
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
        } => {
            let wildcard = &facts.spark.jars;
            let entries = with_explicit_jars(run.classpath, wildcard, jars);
            let runtime = Runtime {
                jvm,
                classpath: &entries,
                now,
                heap_mib: run.heap_mib,
                java_options: run.java_options,
            };
            match check(manifest, &runtime) {
                Err(why) => without(why, true),
                Ok(()) => (
                    Some(CdsUse {
                        option: format!("-XX:SharedArchiveFile={archive}"),
                        classpath: entries.join(":"),
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
