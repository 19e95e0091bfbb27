//! The executor's classpath, in the order the official Spark image's entrypoint builds it
//! (apache/spark-docker `entrypoint.sh`): `SPARK_CONF_DIR` (else `$SPARK_HOME/conf`),
//! `HADOOP_CONF_DIR`, `SPARK_CLASSPATH` (where Spark's Kubernetes backend puts
//! `spark.executor.extraClassPath`, so that comes first there), Spark's jars,
//! `SPARK_EXTRA_CLASSPATH`, the working directory (SPARK-43540), then `SPARK_DIST_CLASSPATH`
//! (or, when it is unset and `HADOOP_HOME` is set, what `$HADOOP_HOME/bin/hadoop classpath`
//! printed).
//!
//! Spark 4's launcher puts `jars/slf4j-api-<version>.jar` before `jars/*` (SPARK-47491,
//! apache/spark#45618: a jar in `jars/` that bundles an older SLF4J must not win):
//! `AbstractCommandBuilder.buildClassPath` adds every file of `jars/` whose name starts with
//! `slf4j-api-`, then `jars/*`. Read in the bytecode of the 4.0.0, 4.1.0, 4.2.0 and 4.3.0
//! launcher jars (3.5.7's has no such step), and seen in what `org.apache.spark.launcher.Main`
//! of 4.3.0 prints for `CoarseGrainedExecutorBackend`: `-cp <conf>/:<jars>/slf4j-api-2.0.17.jar:
//! <jars>/*`. `bin/spark-class` itself is the same file in 3.5.7 and 4.0.0–4.3.0.

use crate::config::role::RoleConfig;
use crate::facts::LocalFacts;
use crate::plan::role::from_defaults;
use crate::sourced::Sourced;

/// Spark's jars as its launcher puts them on a classpath: on Spark ≥ 4.0 `slf4j-api` first
/// (SPARK-47491), then `jars/*`.
pub fn spark_jars(facts: &LocalFacts) -> Vec<Sourced<String>> {
    let mut entries = Vec::new();
    if facts.spark.version.value.at_least(4, 0) {
        entries.extend(facts.spark.slf4j_api.iter().map(|jar| {
            Sourced::new(
                jar.clone(),
                "slf4j-api before Spark's jars, as Spark 4's launcher puts it (SPARK-47491)",
            )
        }));
    }
    entries.push(Sourced::new(facts.spark.jars.clone(), "Spark's jars"));
    entries
}

pub fn executor_classpath(config: &RoleConfig, facts: &LocalFacts) -> Sourced<String> {
    let mut entries: Vec<String> = Vec::new();
    let mut sources = Vec::new();
    let mut add = |entry: Sourced<String>| {
        entries.push(entry.value);
        sources.push(entry.source);
    };
    add(config.conf_dir.as_ref().map(|d| d.display().to_string()));
    if let Some(dir) = &config.hadoop_conf_dir {
        add(dir.clone());
    }
    if let Some(conf) = from_defaults(facts, "spark.executor.extraClassPath") {
        add(conf);
    }
    if let Some(cp) = &config.spark_classpath {
        add(cp.clone());
    }
    for entry in spark_jars(facts) {
        add(entry);
    }
    if let Some(cp) = &config.extra_classpath {
        add(cp.clone());
    }
    if let Some(dir) = &facts.working_dir {
        add(Sourced::new(
            dir.display().to_string(),
            "the working directory (SPARK-43540)",
        ));
    }
    if let Some(cp) = config
        .dist_classpath
        .clone()
        .or_else(|| facts.hadoop_classpath.clone())
    {
        add(cp);
    }
    Sourced::new(entries.join(":"), sources.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cli::Role;
    use crate::plan::testing::{local_facts, role_config};

    fn classpath(spark: &str) -> String {
        let env = [("SPARK_CLASSPATH", "/opt/app/app.jar")];
        let config = role_config(Role::Executor, &env, &[]);
        executor_classpath(&config, &local_facts(spark, Some(17), &[])).value
    }

    #[test]
    fn spark_4_puts_slf4j_api_before_its_jars() {
        assert_eq!(
            classpath("4.0.0"),
            "/opt/spark/conf:/opt/app/app.jar:/opt/spark/jars/slf4j-api-2.0.17.jar:/opt/spark/jars/*"
        );
        assert_eq!(
            classpath("3.5.7"),
            "/opt/spark/conf:/opt/app/app.jar:/opt/spark/jars/*"
        );
    }
}
