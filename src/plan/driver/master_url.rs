//! The driver's master URL against its Spark. Spark 4 removed Mesos (SPARK-44442,
//! apache/spark#43135, in 4.0): its spark-submit refuses a `mesos://` master and exits 1
//! ("Master must either be yarn or start with spark, k8s, or local", seen with 4.3.0). On
//! Spark 4 such a master is a configuration error that points at the Mesos-free deployment,
//! and nothing of Mesos reaches spark-submit: no `spark.mesos.*` confs, and no stored
//! framework ID (only Mesos' scheduler backend ever read it).

use crate::facts::stored::BeforeLaunch;
use crate::plan::Findings;
use crate::sourced::Sourced;
use crate::spark::version::SparkVersion;

/// Where the README says how to run Spark 4 drivers and executors without Mesos.
pub const MESOS_FREE_DEPLOYMENT: &str = "README \"Spark 4: the Mesos-free deployment\"";

/// Whether the driver runs on Mesos: a `mesos://` master on Spark < 4.0. On Spark ≥ 4.0 such
/// a master is a problem naming where it was set.
pub fn on_mesos(
    master: Option<&Sourced<String>>,
    version: SparkVersion,
    found: &mut Findings,
) -> bool {
    let Some(master) = master.filter(|m| m.value.starts_with("mesos://")) else {
        return false;
    };
    if !version.at_least(4, 0) {
        return true;
    }
    found.problem(
        &master.source,
        Some(&master.value),
        format!(
            "is a Mesos master, and Spark {version} has no Mesos support (removed in Spark 4.0, \
             SPARK-44442; its spark-submit exits 1 on a mesos:// master): run the driver \
             against a Spark standalone master with no workers instead ({MESOS_FREE_DEPLOYMENT}: \
             spark-init --role master), or keep a Spark 3 image to stay on Mesos"
        ),
    );
    false
}

/// The stored framework ID to pass to spark-submit: on Spark < 4.0 whatever the master (on the
/// command line it shows which framework a driver resumes); none on Spark 4, which has no
/// Mesos backend to read it.
pub fn framework_id_to_pass(
    stored: &BeforeLaunch,
    version: SparkVersion,
) -> Option<&Sourced<String>> {
    stored.reuse.as_ref().filter(|_| !version.at_least(4, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(master: &str, version: &str) -> (bool, Findings) {
        let mut found = Findings::default();
        let master = Sourced::new(master.to_string(), "the app's args (--master)");
        let version = SparkVersion::parse(version).unwrap();
        (on_mesos(Some(&master), version, &mut found), found)
    }

    #[test]
    fn a_mesos_master_on_spark_4_is_a_problem_pointing_at_the_mesos_free_deployment() {
        let (mesos, found) = check("mesos://zk://zk1:2181/mesos", "4.3.0");
        assert!(!mesos);
        let problem = &found.problems[0];
        assert_eq!(problem.name, "the app's args (--master)");
        assert_eq!(
            problem.value.as_deref(),
            Some("mesos://zk://zk1:2181/mesos")
        );
        assert!(problem.message.contains("Spark 4.3.0 has no Mesos support"));
        assert!(problem.message.contains(MESOS_FREE_DEPLOYMENT));
        assert!(problem.message.contains("--role master"));
    }

    #[test]
    fn mesos_stays_on_spark_3_and_other_masters_pass() {
        assert!(check("mesos://10.0.0.1:5050", "3.5.7").0);
        for master in ["spark://master:7077", "local[*]", "k8s://https://api:6443"] {
            let (mesos, found) = check(master, "4.0.0");
            assert!(!mesos && found.problems.is_empty(), "{master}");
        }
        let mut found = Findings::default();
        assert!(!on_mesos(None, SparkVersion::new(4, 0, 0), &mut found));
    }

    #[test]
    fn the_stored_framework_id_is_passed_before_spark_4_only() {
        let stored = BeforeLaunch {
            reuse: Some(Sourced::new("fw-0001".to_string(), "zk://zk1:2181/x")),
            ..BeforeLaunch::default()
        };
        let passed = |v: &str| framework_id_to_pass(&stored, SparkVersion::parse(v).unwrap());
        assert_eq!(passed("3.5.7").map(|id| id.value.as_str()), Some("fw-0001"));
        assert!(passed("4.0.0").is_none());
    }
}
