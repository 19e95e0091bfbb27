//! A real Spark run's metrics reach a real carbon daemon (Debian's `graphite-carbon`): a
//! worker-less standalone master, the `TinyDriver` run by spark-init (`--role driver`, through
//! the release's own spark-submit) and two executors run by spark-init (`--role executor`),
//! all with Marathon's task variables. The driver and the first executor have
//! `SPARK_INIT_GRAPHITE`; the second has not, and reports all the same with the sink it takes
//! from the driver (`spark.metrics.conf.*`), without a prefix: which settings an executor
//! takes from the driver and which it needs itself, checked for real. Once with Spark 3
//! (`SPARK_3`), once with Spark 4 (`SPARK_4`).

use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use entrypoint_tests::carbon::Carbon;
use entrypoint_tests::spark_app::{start_master, tiny_driver_classes, tiny_driver_jar};
use entrypoint_tests::{free_port, poll, pyspark_home, Finished, Init, Running, SPARK_3, SPARK_4};
use spark_init::spark::executor_id;

/// One real Spark application at a time (see `executor_real.rs`).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Spark starts slowly on two cores; a hang guard, not a performance bound.
const SLOW: Duration = Duration::from_secs(120);

const DRIVER_UUID: &str = "1f2e3d4c-1f3d-11ef-9a4b-0242ac120002";
const EXECUTOR_UUID: &str = "6e7a5b2c-1f3d-11ef-9a4b-0242ac120002";
const OTHER_UUID: &str = "7f8b6c3d-1f3d-11ef-9a4b-0242ac120002";

#[test]
fn spark_3_driver_and_executor_metrics_reach_carbon() {
    driver_and_executor_metrics_reach_carbon(SPARK_3);
}

#[test]
fn spark_4_driver_and_executor_metrics_reach_carbon() {
    driver_and_executor_metrics_reach_carbon(SPARK_4);
}

/// A cgroup v2 tree with a few known figures.
fn cgroup_tree(root: &Path) {
    fs::create_dir_all(root).unwrap();
    for (file, content) in [
        ("cgroup.controllers", "cpu memory pids\n"),
        ("memory.current", "536870912\n"),
        ("pids.current", "42\n"),
    ] {
        fs::write(root.join(file), content).unwrap();
    }
}

fn driver_and_executor_metrics_reach_carbon(spark: &str) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let carbon = Carbon::start();
    let dir = tempfile::tempdir().unwrap();
    let cgroup = dir.path().join("cgroup");
    cgroup_tree(&cgroup);
    let classes = tiny_driver_classes(spark);
    let jar = tiny_driver_jar(spark);
    let (_master, master_port) = start_master(spark, dir.path());
    let with_metrics = |init: Init| {
        init.env("SPARK_INIT_GRAPHITE", carbon.endpoint())
            .env("SPARK_INIT_GRAPHITE_INTERVAL", "1")
    };
    let (driver_port, ui_port) = (free_port(), free_port());
    let driver = with_metrics(
        Init::new([
            "--role".to_string(),
            "driver".into(),
            "--".into(),
            "--master".into(),
            format!("spark://127.0.0.1:{master_port}"),
            "--class".into(),
            "TinyDriver".into(),
            jar.display().to_string(),
            format!("spark://127.0.0.1:{master_port}"),
            dir.path().display().to_string(),
            "2".into(),
            driver_port.to_string(),
            ui_port.to_string(),
        ])
        .env("SPARK_HOME", pyspark_home(spark))
        .env("SPARK_INIT_CGROUP_ROOT", &cgroup)
        .env("HOST", "127.0.0.1")
        .env("PORT0", driver_port.to_string())
        .env("PORT1", free_port().to_string())
        .env("PORT2", ui_port.to_string())
        .env("MARATHON_APP_RESOURCE_MEM", "1024.0")
        .env("MARATHON_APP_ID", "/spark/orders/driver")
        .env(
            "MESOS_TASK_ID",
            format!("spark_orders_driver.instance-{DRIVER_UUID}._app.1"),
        ),
    )
    .spawn();
    let report = poll("the driver to report its application ID", SLOW, || {
        fs::read_to_string(dir.path().join("driver")).ok()
    });
    let app_id = report.split_whitespace().next().unwrap().to_string();
    // Each executor in a sandbox of its own, as Mesos gives it: an executor fetches the
    // application jar into its working directory.
    let executor = |uuid: &str| {
        let sandbox = dir.path().join(uuid);
        fs::create_dir_all(&sandbox).unwrap();
        Init::new(["--role", "executor"])
            .cwd(&sandbox)
            .env("SPARK_HOME", pyspark_home(spark))
            .env("SPARK_EXTRA_CLASSPATH", &classes)
            .env("SPARK_INIT_CGROUP_ROOT", &cgroup)
            .env("HOST", "127.0.0.1")
            .env("PORT0", free_port().to_string())
            .env("MARATHON_APP_RESOURCE_CPUS", "1.0")
            .env("MARATHON_APP_RESOURCE_MEM", "1024.0")
            .env("MARATHON_APP_ID", "/spark/orders/executors")
            .env(
                "MESOS_TASK_ID",
                format!("spark_orders_executors.instance-{uuid}._app.1"),
            )
            .env(
                "SPARK_DRIVER_URL",
                format!("spark://CoarseGrainedScheduler@127.0.0.1:{driver_port}"),
            )
            .env("SPARK_APPLICATION_ID", &app_id)
    };
    let ours = with_metrics(executor(EXECUTOR_UUID)).spawn();
    let other = executor(OTHER_UUID).spawn();
    let [driver, ours, other] = finish_all([driver, ours, other]);
    for (what, out) in [("driver", &driver), ("executor", &ours), ("other", &other)] {
        assert_eq!(out.code, 0, "{what}: {}", out.stderr);
    }
    check_series(&carbon, &app_id);
}

/// Waits (up to `SLOW`) for the three spark-inits to exit; on a hang, fails with what each
/// has written.
fn finish_all(mut all: [Running; 3]) -> [Finished; 3] {
    let started = Instant::now();
    while !all.iter_mut().all(Running::try_finished) {
        if started.elapsed() > SLOW {
            let logs: Vec<String> = all.iter_mut().map(Running::stderr_so_far).collect();
            panic!(
                "not every spark-init exited:\n--- driver:\n{}\n--- executor:\n{}\n--- \
                 other executor:\n{}",
                logs[0], logs[1], logs[2]
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    all.map(Running::finish)
}

/// The driver's, both executors' and the containers' series, under the documented names.
fn check_series(carbon: &Carbon, app_id: &str) {
    let driver = format!("spark.orders.driver.{DRIVER_UUID}_1");
    let executor = format!("spark.orders.executors.{EXECUTOR_UUID}_1");
    let ours = executor_id::derive(&format!(
        "spark_orders_executors.instance-{EXECUTOR_UUID}._app.1"
    ));
    let other = executor_id::derive(&format!(
        "spark_orders_executors.instance-{OTHER_UUID}._app.1"
    ));
    let wait = |series: &str, wanted: fn(f64) -> bool| {
        carbon.wait_for(series, SLOW, wanted);
    };
    // The driver ran one job; Spark's own series: <prefix>.<app ID>.driver.<source>.<metric>.
    wait(
        &format!("{driver}.{app_id}.driver.DAGScheduler.job.allJobs"),
        |v| v == 1.0,
    );
    // The four tasks ran on the two executors, each reporting under its own name: ours under
    // its Marathon app and task, the other (no SPARK_INIT_GRAPHITE) with the driver's sink and
    // no prefix.
    let done = |series: String| {
        let points = carbon.points(&series);
        points.last().map_or(0.0, |&(_, v)| v)
    };
    let ours_series = format!("{executor}.{app_id}.{ours}.executor.threadpool.completeTasks");
    let other_series = format!("{app_id}.{other}.executor.threadpool.completeTasks");
    wait(&other_series, |v| v >= 0.0);
    poll("both executors' completed tasks in carbon", SLOW, || {
        let total = done(ours_series.clone()) + done(other_series.clone());
        (total == 4.0).then_some(())
    });
    // The containers: spark-init's own series beside Spark's.
    for prefix in [&driver, &executor] {
        wait(&format!("{prefix}.cgroup.memory.current"), |v| {
            v == 536870912.0
        });
        wait(&format!("{prefix}.cgroup.pids.current"), |v| v == 42.0);
    }
    let series = carbon.series();
    if std::env::var_os("SHOW_SERIES").is_some() {
        eprintln!("{}", series.join("\n"));
    }
    assert!(
        !series
            .iter()
            .any(|s| s.starts_with(&format!("{app_id}.{other}.cgroup"))),
        "no container series without SPARK_INIT_GRAPHITE: {series:?}"
    );
}
