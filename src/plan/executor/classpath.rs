//! The executor's classpath, in the order the official Spark image's entrypoint builds it
//! (apache/spark-docker `entrypoint.sh`): `SPARK_CONF_DIR` (else `$SPARK_HOME/conf`),
//! `HADOOP_CONF_DIR`, `SPARK_CLASSPATH` (where Spark's Kubernetes backend puts
//! `spark.executor.extraClassPath`, so that comes first there), Spark's jars,
//! `SPARK_EXTRA_CLASSPATH`, the working directory (SPARK-43540), then `SPARK_DIST_CLASSPATH`
//! (or, when it is unset and `HADOOP_HOME` is set, what `$HADOOP_HOME/bin/hadoop classpath`
//! printed).

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
    add(Sourced::new(facts.spark.jars.clone(), "Spark's jars"));
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
