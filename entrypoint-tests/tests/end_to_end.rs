//! End to end on real Spark (see `entrypoint_tests::story`), once per deployment: the launcher
//! runs the example apps; executors attach, scale, the driver is killed and comes back (Spark
//! 3: as the same framework; Spark 4: as a new application, its master a Marathon app too), an
//! executor is replaced, and everything stops cleanly. One story at a time: two cores.

use std::sync::Mutex;

use entrypoint_tests::{SPARK_3, SPARK_4};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn story(spark: &str) -> entrypoint_tests::story::Summary {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    entrypoint_tests::story::run(spark, &mut |line| eprintln!("e2e {spark}: {line}"))
}

#[test]
fn spark_3_drivers_and_executors_on_marathon_stand_ins() {
    let summary = story(SPARK_3);
    assert_eq!(summary.steps.len(), 5, "{summary:?}");
    assert!(summary.driver_restarts >= 1, "{summary:?}");
    assert_eq!(summary.final_exit_codes.len(), 4, "{summary:?}");
}

#[test]
fn spark_4_master_driver_and_executors_on_marathon_stand_ins() {
    let summary = story(SPARK_4);
    assert_eq!(summary.steps.len(), 5, "{summary:?}");
    assert!(summary.driver_restarts >= 1, "{summary:?}");
    let (before, after) = &summary.app_ids;
    assert_ne!(before, after, "{summary:?}");
    // The master, the driver and three executors, each stopped by SIGTERM.
    assert_eq!(summary.final_exit_codes.len(), 5, "{summary:?}");
}
