//! The executor's classpath, in the order Spark's Kubernetes entrypoint builds it
//! (resource-managers/kubernetes/docker/src/main/dockerfiles/spark/entrypoint.sh):
//! `spark.executor.extraClassPath`, `SPARK_CLASSPATH`, the conf dir, Spark's jars,
//! `SPARK_EXTRA_CLASSPATH`.

use crate::config::role::RoleConfig;
use crate::facts::LocalFacts;
use crate::plan::role::from_defaults;
use crate::sourced::Sourced;

pub fn executor_classpath(config: &RoleConfig, facts: &LocalFacts) -> Sourced<String> {
    let mut entries: Vec<String> = Vec::new();
    let mut sources = Vec::new();
    let mut add = |entry: Sourced<String>| {
        entries.push(entry.value);
        sources.push(entry.source);
    };
    if let Some(conf) = from_defaults(facts, "spark.executor.extraClassPath") {
        add(conf);
    }
    if let Some(cp) = &config.spark_classpath {
        add(cp.clone());
    }
    add(Sourced::new(
        format!("{}:{}", config.conf_dir.value.display(), facts.spark.jars),
        "SPARK_CONF_DIR and Spark's jars",
    ));
    if let Some(cp) = &config.extra_classpath {
        add(cp.clone());
    }
    Sourced::new(entries.join(":"), sources.join(", "))
}
