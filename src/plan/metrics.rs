//! Metrics over TCP (README "Metrics"): Spark's own metrics system reports to Graphite through
//! its `GraphiteSink`, configured with `spark.metrics.conf.<instance>.sink.graphite.*`, and the
//! container's cgroup statistics go to the same endpoint from a side task ([`MetricsDuty`],
//! `crate::metrics`).
//!
//! What Spark does with those settings (read from the 3.5.7 and 4.3.0 jars):
//! - `MetricsConfig.initialize` takes every SparkConf entry starting `spark.metrics.conf.`
//!   (since Spark 1.5, SPARK-7169), after `metrics.properties`, so they win over the file;
//!   the key's first word is the instance (`INSTANCE_REGEX` `^(\*|[a-zA-Z]+)\.(.+)`: `*` or
//!   `driver`, `executor`, `master`, `applications`, `worker`, `shuffleService`,
//!   `applicationMaster`), and `*` fills in what an instance does not set itself.
//! - `GraphiteSink` takes `host` and `port` (required), `period` (default 10) in `unit`
//!   (default SECONDS, at least 1 s: `MetricsSystem.checkMinimalPollingPeriod`), `prefix`
//!   (default none) and `protocol` (`tcp`, the plaintext protocol, by default).
//! - A driver's or executor's series are `<prefix>.<namespace>.<executor ID>.<source>.<metric>`
//!   (`MetricsSystem.buildRegistryName`): the namespace is `spark.metrics.namespace`, by
//!   default `spark.app.id` (since 2.1, SPARK-5847; the application ID before); the driver's
//!   executor ID is `driver`. Other instances' are `<prefix>.<source>.<metric>`.
//! - An executor's SparkConf is its own `spark.*` system properties, then every `spark.*`
//!   entry of the driver's (`DriverEndpoint.sparkProperties`, fetched with
//!   `RetrieveSparkAppConfig` by `CoarseGrainedExecutorBackend.run`) set over them — only the
//!   startup confs (`SparkConf.isExecutorStartupConf`: `spark.auth*`, `spark.rpc*`,
//!   `spark.network*`, ports, and from 4.0 `spark.ssl*`) keep the executor's own value. So an
//!   executor takes the driver's `spark.metrics.conf.*`, and a key the driver also sets
//!   replaces the executor's.
//!
//! Hence: the driver sets the sink for every instance (`*`: class, host, port, period, unit),
//! which its executors inherit, and its own prefix for the `driver` instance only; an
//! executor started by spark-init sets all of it for the `executor` instance (`-D` on its
//! JVM), which beats the driver's `*` and names its own Marathon task; the master sets `*`.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::config::cli::Role;
use crate::config::metrics::{GraphiteEndpoint, MetricsConfig};
use crate::facts::cgroup::CONTAINER_SERIES;
use crate::plan::{sourced, Resolved};

pub const GRAPHITE_SINK_CLASS: &str = "org.apache.spark.metrics.sink.GraphiteSink";

/// What the container statistics sender needs: where, under which prefix, how often, and
/// where the cgroup files are.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsDuty {
    pub graphite: GraphiteEndpoint,
    pub prefix: String,
    pub interval: Duration,
    pub cgroup_root: PathBuf,
}

impl MetricsDuty {
    pub fn new(config: &MetricsConfig, cgroup_root: PathBuf) -> Self {
        MetricsDuty {
            graphite: config.graphite.value.clone(),
            prefix: config.prefix.value.clone(),
            interval: config.interval.value,
            cgroup_root,
        }
    }
}

/// One `spark.metrics.conf.…` setting spark-init adds, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkSetting {
    pub key: String,
    pub value: String,
    pub source: String,
}

/// The `GraphiteSink` settings for a Spark role (see the module's comment for which instance
/// each goes to); none for a plain command.
pub fn sink_settings(role: Role, config: &MetricsConfig) -> Vec<SinkSetting> {
    let (shared, own) = match role {
        Role::Driver => ("*", "driver"),
        Role::Executor => ("executor", "executor"),
        Role::Master => ("*", "*"),
    };
    let endpoint = &config.graphite.value;
    let seconds = config.interval.value.as_secs().to_string();
    let setting = |instance: &str, key: &str, value: String, source: &str| SinkSetting {
        key: format!("spark.metrics.conf.{instance}.sink.graphite.{key}"),
        value,
        source: source.to_string(),
    };
    let shared_source = match role {
        Role::Driver => {
            "SPARK_INIT_GRAPHITE: for every instance (*), so the driver's executors \
                         inherit it"
        }
        _ => "SPARK_INIT_GRAPHITE",
    };
    vec![
        setting(shared, "class", GRAPHITE_SINK_CLASS.into(), shared_source),
        setting(shared, "host", endpoint.host.clone(), shared_source),
        setting(shared, "port", endpoint.port.to_string(), shared_source),
        setting(shared, "period", seconds, &config.interval.source),
        setting(
            shared,
            "unit",
            "seconds".into(),
            "spark-init: period in seconds",
        ),
        setting(
            own,
            "prefix",
            config.prefix.value.clone(),
            &config.prefix.source,
        ),
    ]
}

/// The settings as JVM system properties (`-Dkey=value`): a JVM's `spark.*` properties are
/// its SparkConf's defaults.
pub fn as_system_properties(settings: &[SinkSetting]) -> Vec<String> {
    settings
        .iter()
        .map(|s| format!("-D{}={}", s.key, s.value))
        .collect()
}

/// What the dry run shows: where the metrics go and under which names.
pub fn resolved(config: &MetricsConfig, role: Option<Role>) -> Resolved {
    let prefix = &config.prefix.value;
    let spark = match role {
        Some(Role::Driver) => json!(format!(
            "{prefix}.<spark.metrics.namespace, default the application ID>.driver.<source>.<metric>"
        )),
        Some(Role::Executor) => json!(format!(
            "{prefix}.<spark.metrics.namespace, default the application ID>.<executor ID>.<source>.<metric>"
        )),
        Some(Role::Master) => json!(format!("{prefix}.<source>.<metric>")),
        None => json!(null),
    };
    let mut shown = json!({
        "graphite": config.graphite.value.to_string(),
        "prefix": prefix,
        "prefix_source": config.prefix.source,
        "interval_seconds": config.interval.value.as_secs(),
        "container_series": format!("{prefix}.cgroup.<{}>", CONTAINER_SERIES.join(", ")),
    });
    if !spark.is_null() {
        shown["spark_series"] = spark;
    }
    sourced(
        shown,
        format!(
            "SPARK_INIT_GRAPHITE; every {} s ({})",
            config.interval.value.as_secs(),
            config.interval.source
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sourced::Sourced;

    fn config() -> MetricsConfig {
        MetricsConfig {
            graphite: Sourced::new(
                GraphiteEndpoint {
                    host: "graphite.example".into(),
                    port: 2003,
                },
                "SPARK_INIT_GRAPHITE",
            ),
            prefix: Sourced::new("spark.orders.executors.abc".into(), "default"),
            interval: Sourced::new(Duration::from_secs(10), "default"),
        }
    }

    fn keys(role: Role) -> Vec<String> {
        sink_settings(role, &config())
            .into_iter()
            .map(|s| format!("{}={}", s.key, s.value))
            .collect()
    }

    #[test]
    fn the_driver_shares_the_sink_and_keeps_its_prefix() {
        assert_eq!(
            keys(Role::Driver),
            [
                "spark.metrics.conf.*.sink.graphite.class=org.apache.spark.metrics.sink.GraphiteSink",
                "spark.metrics.conf.*.sink.graphite.host=graphite.example",
                "spark.metrics.conf.*.sink.graphite.port=2003",
                "spark.metrics.conf.*.sink.graphite.period=10",
                "spark.metrics.conf.*.sink.graphite.unit=seconds",
                "spark.metrics.conf.driver.sink.graphite.prefix=spark.orders.executors.abc",
            ]
        );
    }

    #[test]
    fn an_executor_sets_its_own_instance() {
        let options = as_system_properties(&sink_settings(Role::Executor, &config()));
        assert!(options
            .iter()
            .all(|o| o.starts_with("-Dspark.metrics.conf.executor.sink.graphite.")));
        assert_eq!(
            options.last().unwrap(),
            "-Dspark.metrics.conf.executor.sink.graphite.prefix=spark.orders.executors.abc"
        );
        assert!(keys(Role::Master)
            .iter()
            .all(|k| k.starts_with("spark.metrics.conf.*.sink.graphite.")));
    }
}
