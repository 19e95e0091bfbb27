//! End to end on real Spark (see `entrypoint_tests::story`): the launcher runs the example
//! driver and executor apps; executors attach, scale, the driver is killed and comes back as
//! the same framework, an executor is replaced, and everything stops cleanly.

#[test]
fn drivers_and_executors_on_marathon_stand_ins() {
    let summary = entrypoint_tests::story::run(&mut |line| eprintln!("e2e: {line}"));
    assert_eq!(summary.steps.len(), 5, "{summary:?}");
    assert!(summary.driver_restarts >= 1, "{summary:?}");
    assert!(!summary.framework_id.is_empty());
}
