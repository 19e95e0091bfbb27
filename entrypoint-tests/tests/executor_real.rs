//! The executor role for real: spark-init (as PID 1) finds a real driver through the fake
//! Marathon and its application ID through the driver's real REST API, then starts a Spark
//! executor from the PyPI pyspark jars, on Java 17, that attaches and runs its tasks; once with
//! Spark 3 (`SPARK_3`) and once with Spark 4 (`SPARK_4`), driver, master and executor of the
//! same release. The driver (`java-spark/TinyDriver.java`) uses a standalone master with no
//! workers, so it never gets executors of its own: like the constrained Mesos framework, it
//! only has the ones that register on their own.

use std::fs;
use std::path::Path;
use std::sync::Mutex;

use entrypoint_tests::fake::{AppSpec, FakeServer, TaskSpec};
use entrypoint_tests::spark_app::{spark_jvm, start_master, tiny_driver_classes};
use entrypoint_tests::{
    free_port, module_options, poll, pyspark_home, spark_jars, Init, Killed, HANG, SPARK_3, SPARK_4,
};
use spark_init::spark::executor_id;

/// One real Spark application at a time: each is a master, a driver and an executor JVM, on
/// two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn a_spark_3_executor_started_by_spark_init_runs_a_drivers_tasks() {
    a_spark_executor_started_by_spark_init_runs_a_drivers_tasks(SPARK_3);
}

#[test]
fn a_spark_4_executor_started_by_spark_init_runs_a_drivers_tasks() {
    a_spark_executor_started_by_spark_init_runs_a_drivers_tasks(SPARK_4);
}

const TASK_ID: &str = "spark_orders_executor.instance-6e7a5b2c-1f3d-11ef-9a4b-0242ac120002._app.1";

fn a_spark_executor_started_by_spark_init_runs_a_drivers_tasks(spark: &str) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let classes = tiny_driver_classes(spark);
    let (_master, master_port) = start_master(spark, dir.path());
    let mut driver = Driver::start(spark, &classes, dir.path(), master_port);

    // Only what Marathon and the image would give: an executor's spark-defaults.conf with an
    // option that Spark alone would never deliver to a JVM that Marathon starts.
    let conf = dir.path().join("conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        conf.join("spark-defaults.conf"),
        "spark.executor.extraJavaOptions -Dspark_init.marker=from-extraJavaOptions\n",
    )
    .unwrap();
    let marathon = marathon_with(&driver);
    let out = Init::new(["--role", "executor"])
        .env("SPARK_INIT_LOG", "info")
        .env("SPARK_HOME", pyspark_home(spark))
        .env("SPARK_CONF_DIR", &conf)
        .env("SPARK_EXTRA_CLASSPATH", &classes)
        .env("HOST", "127.0.0.1")
        .env("PORT0", free_port().to_string())
        .env("MARATHON_APP_RESOURCE_CPUS", "2.0")
        .env("MARATHON_APP_RESOURCE_MEM", "1024.0")
        .env("MESOS_TASK_ID", TASK_ID)
        .env("SPARK_INIT_MARATHON_URL", marathon.url())
        .env("SPARK_INIT_DRIVER_APP", "/spark/orders/driver")
        .run();
    let driver_log = driver.log();
    assert!(
        out.stderr.contains(&format!("--app-id {}", driver.app_id)),
        "the application ID from the driver's REST API: {}",
        out.stderr
    );
    assert_eq!(
        out.code, 0,
        "executor: {}\n--- driver:\n{driver_log}",
        out.stderr
    );
    // The command spark-init logged is that release's: its module options, and on Spark 4
    // slf4j-api ahead of the jars.
    let last_option = module_options(spark).last().unwrap();
    assert!(out.stderr.contains(last_option), "{}", out.stderr);
    assert_eq!(
        out.stderr.contains("/jars/slf4j-api-"),
        spark.starts_with("4."),
        "{}",
        out.stderr
    );
    check_tasks(dir.path(), &driver_log);
    poll("the driver to finish", HANG, || {
        driver.jvm.0.try_wait().unwrap()
    });
}

/// The TinyDriver JVM, once it has reported its application ID and port.
struct Driver {
    jvm: Killed,
    dir: std::path::PathBuf,
    app_id: String,
    port: u16,
    ui_port: u16,
}

impl Driver {
    fn start(spark: &str, classes: &Path, dir: &Path, master_port: u16) -> Driver {
        let (port, ui_port) = (free_port(), free_port());
        let classpath = format!("{}/*:{}", spark_jars(spark).display(), classes.display());
        let jvm = spark_jvm(spark, &classpath, &dir.join("driver.log"))
            .args(["TinyDriver", &format!("spark://127.0.0.1:{master_port}")])
            .arg(dir)
            .args(["1", &port.to_string(), &ui_port.to_string()])
            .spawn()
            .expect("start the driver");
        let mut driver = Driver {
            jvm: Killed(jvm),
            dir: dir.to_path_buf(),
            app_id: String::new(),
            port,
            ui_port,
        };
        let report = poll("the driver to report its address", HANG, || {
            if let Some(status) = driver.jvm.0.try_wait().unwrap() {
                panic!("the driver exited ({status}):\n{}", driver.log());
            }
            fs::read_to_string(dir.join("driver")).ok()
        });
        let (app_id, reported) = report.trim().split_once(' ').unwrap();
        assert_eq!(reported, port.to_string());
        driver.app_id = app_id.to_string();
        driver
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("driver.err")).unwrap_or_default()
    }
}

/// The fake Marathon, with the driver's app running on its ports.
fn marathon_with(driver: &Driver) -> FakeServer {
    let marathon = FakeServer::start();
    marathon.app(
        "/spark/orders/driver",
        AppSpec {
            port_names: vec!["driver".into(), "blockmanager".into(), "ui".into()],
            health_checks: false,
            tasks: vec![TaskSpec::running(
                "spark_orders_driver.instance-1f2e3d4c-1f3d-11ef-9a4b-0242ac120002._app.1",
                &[driver.port, free_port(), driver.ui_port],
            )],
            ..Default::default()
        },
    );
    marathon
}

/// Every task ran on spark-init's executor, with the JVM options spark-init delivered.
fn check_tasks(dir: &Path, driver_log: &str) {
    let tasks = fs::read_to_string(dir.join("tasks"))
        .unwrap_or_else(|_| panic!("no task report; driver:\n{driver_log}"));
    let id = executor_id::derive(TASK_ID);
    let lines: Vec<&str> = tasks.lines().collect();
    assert_eq!(lines.len(), 4, "{tasks}");
    for line in lines {
        assert!(
            line.ends_with(&format!(
                "executor={id} file.encoding=UTF-8 user.timezone=PRC marker=from-extraJavaOptions"
            )),
            "{line}"
        );
    }
}
