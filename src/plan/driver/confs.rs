//! The Spark confs spark-init adds to the driver's spark-submit, each only where the user did
//! not set it: the advertised host and bind address, the ports Marathon mapped, and on Mesos
//! the constraint that keeps offers away, the failover timeout and the stored framework ID.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::cli::Role;
use crate::config::metrics::MetricsConfig;
use crate::config::role::RoleConfig;
use crate::facts::LocalFacts;
use crate::plan::driver::settings::UserSettings;
use crate::plan::metrics::sink_settings;
use crate::plan::{sourced, Findings, Resolved};
use crate::sourced::Sourced;

/// A Mesos attribute no agent has: the driver's framework never gets offers, so Marathon alone
/// places executors. `spark.mesos.constraints` syntax: `attribute:value[;...]`.
pub const DEFAULT_MESOS_CONSTRAINTS: &str = "spark_init_placement:marathon";
/// How long Mesos keeps declined offers from the driver's framework (Spark time syntax).
pub const REJECT_OFFER_DURATION: &str = "3650d";
pub const DEFAULT_FAILOVER_TIMEOUT_SECONDS: f64 = 3600.0;
/// A year: Mesos keeps a disconnected framework that long at the most spark-init asks for.
pub const MAX_FAILOVER_TIMEOUT_SECONDS: f64 = 31_536_000.0;

/// A conf spark-init wants: its value (none when the port it needs is not mapped) and why.
pub struct Wanted {
    pub key: String,
    pub value: Sourced<Option<String>>,
}

impl Wanted {
    pub fn new(key: &str, value: String, source: impl Into<String>) -> Wanted {
        conf(key, Some(value), source)
    }
}

fn conf(key: &str, value: Option<String>, source: impl Into<String>) -> Wanted {
    Wanted {
        key: key.into(),
        value: Sourced::new(value, source),
    }
}

/// `SPARK_INIT_FAILOVER_TIMEOUT` as seconds, or a problem (default 3600 s).
pub fn failover_timeout(role: &RoleConfig, found: &mut Findings) -> Sourced<f64> {
    match &role.failover_timeout {
        Some(v) => match v.value.parse::<f64>() {
            Ok(s) if s > 0.0 && s <= MAX_FAILOVER_TIMEOUT_SECONDS => {
                Sourced::new(s, v.source.clone())
            }
            _ => {
                found.problem(
                    &v.source,
                    Some(&v.value),
                    "is not a number of seconds above 0 and at most 31536000 (a year) such as \
                     3600",
                );
                Sourced::new(DEFAULT_FAILOVER_TIMEOUT_SECONDS, "")
            }
        },
        None => Sourced::new(DEFAULT_FAILOVER_TIMEOUT_SECONDS, "default"),
    }
}

/// Everything spark-init would add, in the order the dry run shows it.
pub fn all(
    role: &RoleConfig,
    user: &UserSettings<'_>,
    hostname: Option<&Sourced<String>>,
    mesos: bool,
    failover: &Sourced<f64>,
    reuse: Option<&Sourced<String>>,
    found: &mut Findings,
) -> Vec<Wanted> {
    let mut confs = network_confs(role, user.facts, hostname);
    if mesos {
        confs.extend(mesos_confs(role, user, failover, reuse.is_some(), found));
    }
    confs.extend(stored_id_conf(reuse));
    confs
}

/// The host, bind address and ports every driver gets.
fn network_confs(
    role: &RoleConfig,
    facts: &LocalFacts,
    hostname: Option<&Sourced<String>>,
) -> Vec<Wanted> {
    let version = facts.spark.version.value;
    let mut confs = Vec::new();
    if let Some(host) = hostname {
        confs.push(conf(
            "spark.driver.host",
            Some(host.value.clone()),
            &host.source,
        ));
    }
    if version.at_least(2, 1) {
        confs.push(conf(
            "spark.driver.bindAddress",
            Some("0.0.0.0".into()),
            "spark-init: bind everywhere inside the container, advertise the host",
        ));
    }
    let blockmanager_key = if version.at_least(2, 1) {
        "spark.driver.blockManager.port"
    } else {
        "spark.blockManager.port"
    };
    for (key, name, index) in [
        ("spark.driver.port", "driver", 0),
        (blockmanager_key, "blockmanager", 1),
        ("spark.ui.port", "ui", 2),
    ] {
        let port = role.task.port(name, Some(index));
        confs.push(conf(
            key,
            port.map(|p| p.value.to_string()),
            port.map_or_else(
                || format!("no PORT_{} or PORT{index}", name.to_ascii_uppercase()),
                |p| p.source.clone(),
            ),
        ));
    }
    confs
}

/// On a `mesos://` master: the constraint no agent meets, long offer refusals, and a failover
/// timeout so a restarted driver can re-register with the stored framework ID.
fn mesos_confs(
    role: &RoleConfig,
    user: &UserSettings<'_>,
    failover: &Sourced<f64>,
    reusing: bool,
    found: &mut Findings,
) -> Vec<Wanted> {
    let (constraints, source) = match &role.mesos_constraints {
        Some(c) => (c.value.clone(), c.source.clone()),
        None => (
            DEFAULT_MESOS_CONSTRAINTS.to_string(),
            "default: an attribute no agent has".to_string(),
        ),
    };
    let mut confs = vec![
        conf("spark.mesos.constraints", Some(constraints), source),
        conf(
            "spark.mesos.rejectOfferDurationForUnmetConstraints",
            Some(REJECT_OFFER_DURATION.into()),
            "spark-init: Marathon alone places executors",
        ),
    ];
    // Re-registering needs a failover timeout above 0 (Mesos drops a framework with none at
    // once when its driver disconnects).
    if reusing
        && user
            .get("spark.mesos.driver.failoverTimeout")
            .is_some_and(|v| v.value.parse::<f64>().map_or(true, |s| s <= 0.0))
    {
        found.warn(
            "spark.mesos.driver.failoverTimeout is 0 or invalid where it is set, so the stored \
             framework ID could not be reused after a restart: set it above 0",
        );
    }
    confs.push(conf(
        "spark.mesos.driver.failoverTimeout",
        Some(format_seconds(failover.value)),
        if failover.source == "default" {
            "default (SPARK_INIT_FAILOVER_TIMEOUT), so a restarted driver can re-register"
                .to_string()
        } else {
            failover.source.clone()
        },
    ));
    confs
}

/// The stored framework ID goes on whatever the master (before Spark 4: see
/// `master_url::framework_id_to_pass`): only Mesos' scheduler backend reads it, and elsewhere it
/// still shows on the command line which framework the driver would resume.
fn stored_id_conf(reuse: Option<&Sourced<String>>) -> Option<Wanted> {
    reuse.map(|id| {
        conf(
            "spark.mesos.driver.frameworkId",
            Some(id.value.clone()),
            &id.source,
        )
    })
}

/// With `SPARK_INIT_GRAPHITE`: Spark's `GraphiteSink` for every instance, the driver's own
/// prefix for the `driver` instance (see `crate::plan::metrics`).
pub fn metrics_confs(metrics: Option<&MetricsConfig>) -> Vec<Wanted> {
    let Some(metrics) = metrics else {
        return Vec::new();
    };
    sink_settings(Role::Driver, metrics)
        .into_iter()
        .map(|s| conf(&s.key, Some(s.value), s.source))
        .collect()
}

/// Applies the wanted confs under the user's: returns the `--conf key=value` words to add, and
/// shows every one (kept, added, or missing with a warning).
pub fn apply(
    confs: Vec<Wanted>,
    user: &UserSettings<'_>,
    resolved: &mut BTreeMap<String, Resolved>,
    found: &mut Findings,
) -> Vec<String> {
    let mut added = Vec::new();
    for Wanted {
        key,
        value: Sourced { value, source },
    } in confs
    {
        let entry = format!("conf.{key}");
        if let Some(set) = user.get(&key) {
            if let Some(warning) = barrier_mismatch(&key, value.as_deref(), &set) {
                found.warn(warning);
            }
            let shown = sourced(set.value, format!("{}; kept over spark-init's", set.source));
            resolved.insert(entry, shown);
            continue;
        }
        match value {
            Some(value) => {
                resolved.insert(entry, sourced(value.clone(), source));
                added.push(format!("{key}={value}"));
            }
            None => {
                found.warn(format!(
                    "{key} is not set ({source}): Spark picks a random port, which Marathon \
                     does not map"
                ));
                resolved.insert(entry, sourced(Value::Null, source));
            }
        }
    }
    added
}

/// The user's `spark.cores.max` kept against the receiver barrier's: above what the executors'
/// app gives, every start waits the whole `maxRegisteredResourcesWaitingTime`; below, the
/// driver goes on before every executor attached (found by a fresh-eyes trial).
fn barrier_mismatch(key: &str, wanted: Option<&str>, set: &Sourced<String>) -> Option<String> {
    let wanted: u64 = wanted?.parse().ok()?;
    if key != "spark.cores.max" || set.value.trim().parse::<u64>().ok() == Some(wanted) {
        return None;
    }
    Some(format!(
        "spark.cores.max={} ({}) is not the {wanted} cores the executors' app gives: with the \
         receiver barrier's minRegisteredResourcesRatio a driver with more waits the whole \
         maxRegisteredResourcesWaitingTime on every start, and one with fewer goes on before \
         every executor attached; leave spark.cores.max to spark-init or set \
         SPARK_INIT_EXECUTOR_WAIT=0",
        set.value, set.source
    ))
}

/// Seconds as Spark reads a double: `3600`, `2.5`.
fn format_seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fresh-eyes trial): a user's spark.cores.max above what the executors give
    /// made every start wait out maxRegisteredResourcesWaitingTime, silently.
    #[test]
    fn a_users_cores_max_other_than_the_barriers_is_warned_about() {
        let set = |v: &str| Sourced::new(v.to_string(), "spark-defaults.conf".to_string());
        let more = barrier_mismatch("spark.cores.max", Some("6"), &set("10")).unwrap();
        assert!(
            more.contains("spark.cores.max=10 (spark-defaults.conf)"),
            "{more}"
        );
        assert!(more.contains("the 6 cores"), "{more}");
        assert!(barrier_mismatch("spark.cores.max", Some("6"), &set("4")).is_some());
        assert_eq!(
            barrier_mismatch("spark.cores.max", Some("6"), &set(" 6")),
            None
        );
        assert_eq!(barrier_mismatch("spark.cores.max", None, &set("10")), None);
        assert_eq!(
            barrier_mismatch("spark.app.name", Some("a"), &set("b")),
            None
        );
    }

    #[test]
    fn seconds_as_spark_reads_them() {
        assert_eq!(format_seconds(3600.0), "3600");
        assert_eq!(format_seconds(2.5), "2.5");
    }
}
