//! The receiver barrier (README "The receiver barrier"): a driver whose executors' Marathon app
//! is known waits, inside `SparkContext`, until every executor has attached, so that a
//! streaming application's receivers spread over all of them instead of piling onto the first.
//!
//! No application code: Spark's own readiness rule does it. `TaskSchedulerImpl.waitBackendReady`
//! blocks the `SparkContext` constructor until the backend `isReady`
//! (`CoarseGrainedSchedulerBackend`: `sufficientResourcesRegistered`, or
//! `spark.scheduler.maxRegisteredResourcesWaitingTime` passed since the backend was created).
//! Both backends spark-init's drivers use decide `sufficientResourcesRegistered` as
//! `totalCoreCount >= spark.cores.max × spark.scheduler.minRegisteredResourcesRatio`, where
//! `totalCoreCount` sums the cores of every executor that registered, attached ones included
//! (read with javap in spark-core 3.5.7 and 4.3.0 and spark-mesos 3.5.7; the standalone
//! backend has had this rule since SPARK-2635, Spark 1.1). The Mesos backend of Spark 1.6, 2.0
//! and 2.1.0 counted `totalCoresAcquired` instead, the cores of the offers it accepted, which
//! the constrained framework never does: the rule changed in SPARK-19373 (apache/spark#17045,
//! backported to 2.1 as #17129), so on Mesos the barrier holds from 2.1.1.

use std::time::Duration;

use serde_json::json;

use crate::config::role::RoleConfig;
use crate::config::task_env::MAX_CPUS;
use crate::facts::executors::{ExecutorsApp, FoundExecutors};
use crate::plan::driver::confs::Wanted;
use crate::plan::executor::cores::whole_cores;
use crate::plan::{sourced, ExecutorBarrier, Findings, Resolved};
use crate::sourced::Sourced;
use crate::spark::version::SparkVersion;

/// The first Spark whose Mesos backend counts registered cores (SPARK-19373 in 2.1.1).
const MESOS_COUNTS_REGISTERED: SparkVersion = SparkVersion::new(2, 1, 1);

/// What the barrier adds: the confs, what the dry run shows (`executor_barrier`), and what the
/// companion watches while the driver waits.
#[derive(Default)]
pub struct Planned {
    pub confs: Vec<Wanted>,
    pub shown: Option<Resolved>,
    pub duty: Option<ExecutorBarrier>,
}

/// The barrier for this driver: nothing without `SPARK_INIT_EXECUTOR_APP` (and Marathon); off
/// with `SPARK_INIT_EXECUTOR_WAIT=0`; a warning and nothing where it cannot work.
pub fn plan(
    role: &RoleConfig,
    master: Option<&Sourced<String>>,
    version: SparkVersion,
    executors: &FoundExecutors,
    found: &mut Findings,
) -> Planned {
    if role.executor_app.is_none() || role.lookups.marathon.is_none() {
        return Planned::default();
    }
    let wait = &role.executor_wait;
    if wait.value.is_zero() {
        let off = sourced(json!(null), format!("off: {}=0", wait.source));
        return Planned {
            shown: Some(off),
            ..Planned::default()
        };
    }
    // SPARK_INIT_MASTER_APP's master is a standalone one, found or not yet (a dry run).
    let standalone = role.master_app.as_ref().map(|_| "spark://".to_string());
    let url = master.map(|m| m.value.clone()).or(standalone);
    let reason = where_it_holds(url.as_deref().unwrap_or(""), version)
        .and_then(|holds| counted(role, executors).map(|count| (holds, count)));
    let (holds, (instances, cores)) = match reason {
        Ok(planned) => planned,
        Err(why) => {
            found.warn(format!(
                "no receiver barrier (receivers may start on the first executors only): {why}"
            ));
            return Planned {
                shown: Some(sourced(json!(null), why)),
                ..Planned::default()
            };
        }
    };
    let cores_max = u64::from(instances.value) * u64::from(cores.value);
    let shown = sourced(
        json!({
            "executors": instances.value,
            "cores_per_executor": cores.value,
            "cores_max": cores_max,
            "wait_seconds": wait.value.as_secs_f64(),
        }),
        holds,
    );
    Planned {
        confs: confs(&instances, &cores, cores_max, wait),
        shown: Some(shown),
        duty: Some(ExecutorBarrier {
            executors: instances.value,
            wait: wait.value,
        }),
    }
}

/// Whether Spark's readiness rule counts attached executors with this master; why, or why not.
fn where_it_holds(url: &str, version: SparkVersion) -> Result<String, String> {
    if url.starts_with("spark://") {
        Ok(format!(
            "Spark {version}'s standalone backend counts the cores of every executor that \
             registered (StandaloneSchedulerBackend.sufficientResourcesRegistered)"
        ))
    } else if url.starts_with("mesos://") && version >= MESOS_COUNTS_REGISTERED {
        Ok(format!(
            "Spark {version}'s Mesos backend counts the cores of every executor that registered \
             (MesosCoarseGrainedSchedulerBackend.sufficientResourcesRegistered, since 2.1.1)"
        ))
    } else if url.starts_with("mesos://") {
        Err(format!(
            "Spark {version}'s Mesos backend counts only the cores it accepted from Mesos offers \
             (totalCoresAcquired, until SPARK-19373 in 2.1.1), and the constrained framework \
             accepts none: spark.scheduler.minRegisteredResourcesRatio cannot wait for executors \
             that attach on their own; use Spark 2.1.1 or later"
        ))
    } else if url.is_empty() {
        Err("no master is set (spark-submit's default is local[*], without executors)".into())
    } else {
        Err(format!(
            "the master {url} is neither spark:// nor mesos://, where executors attach on their \
             own"
        ))
    }
}

/// The executors' instances and cores per executor, each with where it came from.
fn counted(
    role: &RoleConfig,
    executors: &FoundExecutors,
) -> Result<(Sourced<u32>, Sourced<u32>), String> {
    let Some(app) = &executors.app else {
        let why = executors.not_found.as_deref().unwrap_or("not looked up");
        return Err(format!("the executors' app is unknown: {why}"));
    };
    let instances = match role.executor_instances {
        Some(n) => Sourced::new(n, "SPARK_INIT_EXECUTOR_INSTANCES"),
        None => Sourced::new(
            app.instances.unwrap_or(1),
            format!("instances of the Marathon app {}", app.id),
        ),
    };
    if instances.value == 0 {
        return Err(format!(
            "{} is 0: there are no executors to wait for",
            instances.source
        ));
    }
    Ok((instances, cores_per_executor(app)?))
}

/// The cores each executor registers with, as spark-init's executor role computes them
/// (`plan::executor::cores`): `SPARK_EXECUTOR_CORES` in the app's `env`, else its `cpus`
/// (Marathon's `MARATHON_APP_RESOURCE_CPUS` in each task) rounded down, at least 1. The
/// cgroup's quota, the executor's last resort, is the same `cpus` under Mesos.
fn cores_per_executor(app: &ExecutorsApp) -> Result<Sourced<u32>, String> {
    if let Some(text) = &app.executor_cores {
        return match text.trim().parse::<u32>() {
            Ok(n) if n >= 1 && f64::from(n) <= MAX_CPUS => Ok(Sourced::new(
                n,
                format!("SPARK_EXECUTOR_CORES={text} in the env of {}", app.id),
            )),
            _ => Err(format!(
                "SPARK_EXECUTOR_CORES={text:?} in the env of {} is not a whole number of cores \
                 from 1 to {MAX_CPUS} (its executors will refuse to start too)",
                app.id
            )),
        };
    }
    let cpus = app.cpus.unwrap_or(1.0);
    Ok(whole_cores(cpus, format!("cpus={cpus} of {}", app.id)))
}

/// The three confs, each showing its arithmetic or reason.
fn confs(
    instances: &Sourced<u32>,
    cores: &Sourced<u32>,
    cores_max: u64,
    wait: &Sourced<Duration>,
) -> Vec<Wanted> {
    let wait_source = if wait.source == "default" {
        "default (SPARK_INIT_EXECUTOR_WAIT): as long as executors look for their driver \
         (SPARK_INIT_RESOLVE_TIMEOUT's default); then Spark starts with the executors it has"
            .to_string()
    } else {
        wait.source.clone()
    };
    vec![
        Wanted::new(
            "spark.cores.max",
            cores_max.to_string(),
            format!(
                "{} executors ({}) × {} cores each ({})",
                instances.value, instances.source, cores.value, cores.source
            ),
        ),
        Wanted::new(
            "spark.scheduler.minRegisteredResourcesRatio",
            "1.0".into(),
            "spark-init's receiver barrier: SparkContext waits for all of spark.cores.max",
        ),
        Wanted::new(
            "spark.scheduler.maxRegisteredResourcesWaitingTime",
            spark_time(wait.value),
            wait_source,
        ),
    ]
}

/// A duration as Spark reads a time conf: `300s`, `2500ms`; a wait under a millisecond is
/// `1ms`, not `0s` (which would turn the wait off while the other confs stay).
fn spark_time(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fresh-eyes trial): SPARK_INIT_EXECUTOR_WAIT=0.0001 was written `0s`.
    #[test]
    fn waits_are_written_as_spark_reads_them_and_never_as_zero() {
        assert_eq!(spark_time(Duration::from_secs(300)), "300s");
        assert_eq!(spark_time(Duration::from_millis(2500)), "2500ms");
        assert_eq!(spark_time(Duration::from_micros(100)), "1ms");
    }
    use crate::config::cli::Role;
    use crate::plan::testing::role_config;

    const MARATHON: (&str, &str) = ("SPARK_INIT_MARATHON_URL", "http://marathon:8080");
    const APP: (&str, &str) = ("SPARK_INIT_EXECUTOR_APP", "/spark/executors");

    fn app(instances: u32, cpus: f64, cores: Option<&str>) -> FoundExecutors {
        FoundExecutors {
            app: Some(ExecutorsApp {
                id: "/spark/executors".into(),
                instances: Some(instances),
                cpus: Some(cpus),
                executor_cores: cores.map(String::from),
            }),
            not_found: None,
        }
    }

    fn planned(
        env: &[(&str, &str)],
        master: &str,
        spark: &str,
        found: &FoundExecutors,
    ) -> (Vec<(String, String, String)>, Findings) {
        let role = role_config(Role::Driver, env, &["app.jar"]);
        let master = Sourced::new(master.to_string(), "args");
        let mut findings = Findings::default();
        let version = SparkVersion::parse(spark).unwrap();
        let planned = plan(&role, Some(&master), version, found, &mut findings);
        let confs = planned
            .confs
            .into_iter()
            .map(|w| (w.key, w.value.value.unwrap_or_default(), w.value.source))
            .collect();
        (confs, findings)
    }

    #[test]
    fn cores_max_is_instances_times_the_executors_cores_with_the_arithmetic_shown() {
        let (confs, findings) = planned(
            &[MARATHON, APP],
            "spark://m:7077",
            "3.5.7",
            &app(3, 2.5, None),
        );
        assert!(findings.warnings.is_empty(), "{:?}", findings.warnings);
        assert_eq!(confs[0].0, "spark.cores.max");
        assert_eq!(confs[0].1, "6");
        assert_eq!(
            confs[0].2,
            "3 executors (instances of the Marathon app /spark/executors) × 2 cores each \
             (cpus=2.5 of /spark/executors (rounded down))"
        );
        assert_eq!(confs[1].1, "1.0");
        assert_eq!(
            confs[2].0,
            "spark.scheduler.maxRegisteredResourcesWaitingTime"
        );
        assert_eq!(confs[2].1, "300s");
    }

    #[test]
    fn the_variables_beat_the_apps_definition() {
        let env = [
            MARATHON,
            APP,
            ("SPARK_INIT_EXECUTOR_INSTANCES", "4"),
            ("SPARK_INIT_EXECUTOR_WAIT", "2.5"),
        ];
        let (confs, _) = planned(
            &env,
            "mesos://zk://zk1:2181/mesos",
            "3.5.7",
            &app(3, 1.0, Some("8")),
        );
        assert_eq!(confs[0].1, "32");
        assert!(
            confs[0].2.contains("(SPARK_INIT_EXECUTOR_INSTANCES)"),
            "{}",
            confs[0].2
        );
        assert!(confs[0]
            .2
            .contains("SPARK_EXECUTOR_CORES=8 in the env of /spark/executors"));
        assert_eq!(
            confs[2],
            (
                "spark.scheduler.maxRegisteredResourcesWaitingTime".into(),
                "2500ms".into(),
                "SPARK_INIT_EXECUTOR_WAIT".into()
            )
        );
    }

    #[test]
    fn zero_turns_it_off_without_a_warning() {
        let env = [MARATHON, APP, ("SPARK_INIT_EXECUTOR_WAIT", "0")];
        let (confs, findings) = planned(&env, "spark://m:7077", "4.3.0", &app(3, 1.0, None));
        assert!(confs.is_empty());
        assert!(findings.warnings.is_empty());
    }

    #[test]
    fn mesos_before_2_1_1_counts_accepted_cores_only_so_nothing_is_added() {
        for spark in ["1.6.3", "2.0.2", "2.1.0"] {
            let (confs, findings) = planned(
                &[MARATHON, APP],
                "mesos://m:5050",
                spark,
                &app(3, 1.0, None),
            );
            assert!(confs.is_empty(), "{spark}");
            assert!(
                findings.warnings[0].contains("totalCoresAcquired"),
                "{spark}: {:?}",
                findings.warnings
            );
        }
        let (confs, _) = planned(
            &[MARATHON, APP],
            "mesos://m:5050",
            "2.1.1",
            &app(3, 1.0, None),
        );
        assert_eq!(confs.len(), 3);
        let (confs, _) = planned(
            &[MARATHON, APP],
            "spark://m:7077",
            "1.6.3",
            &app(3, 1.0, None),
        );
        assert_eq!(
            confs.len(),
            3,
            "the standalone backend counts registered cores since 1.1"
        );
    }

    #[test]
    fn what_cannot_be_counted_is_a_warning_and_adds_nothing() {
        let unknown = FoundExecutors {
            app: None,
            not_found: Some("Marathon has no app /spark/executors".into()),
        };
        for (found, master, says) in [
            (
                unknown,
                "spark://m:7077",
                "Marathon has no app /spark/executors",
            ),
            (
                app(0, 1.0, None),
                "spark://m:7077",
                "is 0: there are no executors",
            ),
            (
                app(3, 1.0, Some("many")),
                "spark://m:7077",
                "SPARK_EXECUTOR_CORES=\"many\"",
            ),
            (
                app(3, 1.0, None),
                "local[4]",
                "neither spark:// nor mesos://",
            ),
        ] {
            let (confs, findings) = planned(&[MARATHON, APP], master, "3.5.7", &found);
            assert!(confs.is_empty(), "{says}");
            assert!(
                findings.warnings[0].contains(says),
                "{says}: {:?}",
                findings.warnings
            );
        }
        let role = role_config(Role::Driver, &[MARATHON, APP], &["app.jar"]);
        let mut findings = Findings::default();
        let version = SparkVersion::parse("3.5.7").unwrap();
        let none = plan(&role, None, version, &app(3, 1.0, None), &mut findings);
        assert!(none.confs.is_empty());
        assert!(
            findings.warnings[0].contains("no master is set"),
            "{findings:?}"
        );
    }

    #[test]
    fn a_master_not_found_yet_through_marathon_is_a_standalone_one() {
        let env = [MARATHON, APP, ("SPARK_INIT_MASTER_APP", "/spark/master")];
        let role = role_config(Role::Driver, &env, &["app.jar"]);
        let mut findings = Findings::default();
        let version = SparkVersion::parse("4.3.0").unwrap();
        let planned = plan(&role, None, version, &app(3, 1.0, None), &mut findings);
        assert_eq!(planned.confs.len(), 3, "{:?}", findings.warnings);
    }
}
