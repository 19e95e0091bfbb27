//! The driver's framework ID in a real ZooKeeper across runs, and the executors' share of the
//! store. The driver is a stand-in `spark-submit` that records its arguments and exits with
//! the code the test releases it with; a fake serves the driver's REST API (its UI port).

use std::path::{Path, PathBuf};
use std::time::Duration;

use entrypoint_tests::fake::FakeServer;
use entrypoint_tests::zookeeper::ZooKeeper;
use entrypoint_tests::{fixture, poll, Init, Running, HANG};
use spark_init::clients::framework_store::{parse_url, Store};

const FW1: &str = "5349f49b-68b3-4638-aab2-fc4ec845f993-0001";
const FW2: &str = "5349f49b-68b3-4638-aab2-fc4ec845f993-0002";

/// A Spark home whose spark-submit records its arguments and waits for its exit code.
struct StubSpark {
    dir: tempfile::TempDir,
}

impl StubSpark {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("spark");
        for rel in ["RELEASE", "jars/spark-core_2.12-3.5.7.jar"] {
            let to = home.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(fixture("spark/3.5.7").join(rel), &to).unwrap();
        }
        std::fs::create_dir_all(home.join("bin")).unwrap();
        let submit = home.join("bin/spark-submit");
        // Waits for the test to write its exit code (a condition, polled).
        std::fs::write(
            &submit,
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$STUB_DIR/args.tmp\" && mv \"$STUB_DIR/args.tmp\" \"$STUB_DIR/args\"\n\
             while [ ! -s \"$STUB_DIR/exit\" ]; do sleep 0.02; done\nexit \"$(cat \"$STUB_DIR/exit\")\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&submit, std::fs::Permissions::from_mode(0o755)).unwrap();
        StubSpark { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("spark")
    }

    /// Written aside and renamed by the stub: `>` creates the file before printf writes it,
    /// and a reader once saw it empty.
    fn args(&self) -> String {
        let path = self.dir.path().join("args");
        poll("spark-submit to start", HANG, || {
            std::fs::read_to_string(&path).ok()
        })
    }

    fn release(&self, code: i32) {
        std::fs::write(self.dir.path().join("exit"), format!("{code}\n")).unwrap();
    }

    fn reset(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("args"));
        let _ = std::fs::remove_file(self.dir.path().join("exit"));
    }
}

fn driver(spark: &StubSpark, store: &str, ui: &FakeServer) -> Init {
    Init::new([
        "--role",
        "driver",
        "--",
        "--master",
        "mesos://zk://127.0.0.1:2181/mesos",
        "--conf",
        &format!("spark.ui.port={}", ui.port),
        "--class",
        "Main",
        "app.jar",
    ])
    .env("SPARK_INIT_LOG", "info")
    // The image's: the application (app.jar) in the working directory, libmesos for the
    // mesos:// master.
    .cwd(&fixture("app"))
    .env("MESOS_NATIVE_JAVA_LIBRARY", fixture("mesos/libmesos.so"))
    .env("SPARK_HOME", spark.home())
    .env("JAVA_HOME", fixture("java/17"))
    .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
    .env("HOST", "127.0.0.1")
    .env("PORT0", "31000")
    .env("PORT1", "31001")
    .env("STUB_DIR", spark.dir.path())
    .env("SPARK_INIT_FRAMEWORK_STORE", store)
    .env("SPARK_INIT_RESOLVE_TIMEOUT", "30")
}

fn stored(store: &str) -> Option<String> {
    Store::new(parse_url(store).unwrap(), Duration::from_secs(10))
        .read()
        .unwrap()
        .map(|s| s.framework_id)
}

fn wait_stored(store: &str, id: &str) {
    poll(&format!("{id} to be stored"), HANG, || {
        (stored(store).as_deref() == Some(id)).then_some(())
    });
}

fn finish(init: Running, spark: &StubSpark, code: i32) -> entrypoint_tests::Finished {
    spark.release(code);
    init.finish()
}

#[test]
fn the_framework_id_lives_across_runs() {
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark/orders", zk.connect_string());
    let spark = StubSpark::new();
    let ui = FakeServer::start();

    // 1. Fresh start: nothing stored, no frameworkId passed; the companion learns the ID from
    //    the driver's REST API and stores it. A crash (outside the window) keeps it.
    ui.spark_app(FW1, true);
    let init = driver(&spark, &store, &ui)
        .env("SPARK_INIT_REREGISTER_WINDOW", "0")
        .spawn();
    assert!(!spark.args().contains("spark.mesos.driver.frameworkId"));
    wait_stored(&store, FW1);
    let out = finish(init, &spark, 1);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(stored(&store).as_deref(), Some(FW1), "{}", out.stderr);

    // 2. Restart: the stored ID is passed; a clean exit clears it.
    spark.reset();
    let init = driver(&spark, &store, &ui).spawn();
    let args = spark.args();
    assert!(
        args.contains(&format!("spark.mesos.driver.frameworkId={FW1}")),
        "{args}"
    );
    assert!(
        args.contains("spark.mesos.driver.failoverTimeout=3600"),
        "{args}"
    );
    let out = finish(init, &spark, 0);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("the application finished"),
        "{}",
        out.stderr
    );
    assert_eq!(stored(&store), None);
}

#[test]
fn a_quick_crash_after_reuse_clears_and_a_later_crash_keeps() {
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark/quick", zk.connect_string());
    Store::new(parse_url(&store).unwrap(), Duration::from_secs(10))
        .write(FW2, None)
        .unwrap();
    let spark = StubSpark::new();
    let ui = FakeServer::start();
    let init = driver(&spark, &store, &ui).spawn();
    assert!(spark.args().contains(FW2));
    let out = finish(init, &spark, 1);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("SPARK_INIT_REREGISTER_WINDOW"),
        "{}",
        out.stderr
    );
    assert_eq!(stored(&store), None);

    // Outside the window (0 s) a crash keeps the ID for Marathon's restart.
    Store::new(parse_url(&store).unwrap(), Duration::from_secs(10))
        .write(FW2, None)
        .unwrap();
    spark.reset();
    let init = driver(&spark, &store, &ui)
        .env("SPARK_INIT_REREGISTER_WINDOW", "0")
        .spawn();
    let _ = spark.args();
    let out = finish(init, &spark, 137);
    assert_eq!(out.code, 137);
    assert_eq!(stored(&store).as_deref(), Some(FW2), "{}", out.stderr);
}

/// Regression (found by a fresh-eyes trial): Marathon stopping a driver soon after it
/// re-registered (a restart or redeployment: SIGTERM, then the command's 143) cleared the
/// stored ID as if the re-registration had failed, so the next launch was a new framework.
#[test]
fn a_stop_marathon_asks_for_soon_after_reuse_keeps_the_id() {
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark/stopped", zk.connect_string());
    Store::new(parse_url(&store).unwrap(), Duration::from_secs(10))
        .write(FW2, None)
        .unwrap();
    let spark = StubSpark::new();
    let ui = FakeServer::start();
    let init = driver(&spark, &store, &ui).spawn();
    assert!(spark.args().contains(FW2));
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 143, "{}", out.stderr);
    assert!(
        out.stderr.contains("keeping the stored framework ID"),
        "{}",
        out.stderr
    );
    assert_eq!(stored(&store).as_deref(), Some(FW2), "{}", out.stderr);
}

#[test]
fn a_completed_framework_is_discarded_and_garbage_is_ignored() {
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark/old", zk.connect_string());
    let s = Store::new(parse_url(&store).unwrap(), Duration::from_secs(10));
    s.write(FW1, None).unwrap();
    let mesos = FakeServer::start();
    mesos.framework(FW1, "orders", "127.0.0.1", "completed");
    let spark = StubSpark::new();
    let ui = FakeServer::start();
    let init = driver(&spark, &store, &ui)
        .env("SPARK_INIT_MESOS_URL", mesos.url())
        .spawn();
    assert!(!spark.args().contains("frameworkId"));
    let out = finish(init, &spark, 2);
    assert!(
        out.stderr.contains("Framework has been removed"),
        "{}",
        out.stderr
    );
    assert_eq!(stored(&store), None);

    s.write("not a framework id", None).unwrap();
    spark.reset();
    let init = driver(&spark, &store, &ui).spawn();
    assert!(!spark.args().contains("frameworkId"));
    let out = finish(init, &spark, 2);
    assert!(out.stderr.contains("not a framework ID"), "{}", out.stderr);
}

#[test]
fn zookeeper_down_at_start_warns_or_refuses() {
    let mut zk = ZooKeeper::start();
    let store = format!("zk://{}/spark/down", zk.connect_string());
    zk.stop();
    let spark = StubSpark::new();
    let ui = FakeServer::start();
    // Default: warn loudly and start without a stored ID.
    let init = driver(&spark, &store, &ui)
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "2")
        .spawn();
    let _ = spark.args();
    let out = finish(init, &spark, 3);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("THE FRAMEWORK STORE IS NOT USABLE"),
        "{}",
        out.stderr
    );
    // Required: 69 after the deadline, nothing started.
    spark.reset();
    let out = driver(&spark, &store, &ui)
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "2")
        .env("SPARK_INIT_STORE_REQUIRED", "1")
        .run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("SPARK_INIT_STORE_REQUIRED"),
        "{}",
        out.stderr
    );
    assert!(!Path::new(&spark.dir.path().join("args")).exists());
}

#[test]
fn the_id_is_stored_after_a_zookeeper_restart_mid_run() {
    let mut zk = ZooKeeper::start();
    let store = format!("zk://{}/spark/restart", zk.connect_string());
    let spark = StubSpark::new();
    let ui = FakeServer::start();
    let init = driver(&spark, &store, &ui).spawn();
    let _ = spark.args();
    zk.stop();
    // The driver's application appears while ZooKeeper is down; then ZooKeeper comes back.
    ui.spark_app(FW2, true);
    poll("the companion to ask the driver", HANG, || {
        ui.requests()
            .iter()
            .any(|(p, _)| p == "/api/v1/applications")
            .then_some(())
    });
    zk.restart();
    wait_stored(&store, FW2);
    let out = finish(init, &spark, 0);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn executors_take_ids_and_the_app_id_from_the_store() {
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark/exec", zk.connect_string());
    Store::new(parse_url(&store).unwrap(), Duration::from_secs(10))
        .write(FW1, None)
        .unwrap();
    let run = || {
        Init::new(["--role", "executor"])
            .env("SPARK_HOME", fixture("spark/3.5.7"))
            .env("JAVA_HOME", fixture("java/17"))
            .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
            .env("MARATHON_APP_RESOURCE_MEM", "2048.0")
            .env("MARATHON_APP_RESOURCE_CPUS", "1.0")
            .env("HOST", "127.0.0.1")
            .env(
                "MESOS_TASK_ID",
                "exec.instance-6e7a5b2c-1f3d-11ef-9a4b-0242ac120002._app.1",
            )
            .env(
                "SPARK_DRIVER_URL",
                "spark://CoarseGrainedScheduler@127.0.0.1:31000",
            )
            .env("SPARK_INIT_FRAMEWORK_STORE", &store)
            .env("SPARK_INIT_LOG", "info")
            .run()
    };
    for expected in 1..=3 {
        let out = run();
        assert_eq!(out.code, 99, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!("--executor-id {expected} ")),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("--app-id {FW1}")),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn the_driver_publishes_itself_to_its_executors_app() {
    let spark = StubSpark::new();
    let ui = FakeServer::start();
    ui.spark_app(FW1, true);
    let marathon = FakeServer::start();
    let executors = "/spark/orders/executor";
    marathon.app(executors, entrypoint_tests::fake::AppSpec::default());
    // A deployment holds the app: two 409s, then Marathon takes the update.
    let locked = entrypoint_tests::fake::Reply::Json(
        409,
        serde_json::json!({"message": "App is locked by one or more deployments."}),
    );
    marathon.script(
        &format!("PUT /v2/apps{executors}"),
        vec![locked.clone(), locked],
    );
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("framework-id").display());
    let init = driver(&spark, &store, &ui)
        .env("SPARK_INIT_MARATHON_URL", marathon.url())
        .env("SPARK_INIT_EXECUTOR_APP", executors)
        .env("SPARK_INIT_EXECUTOR_INSTANCES", "3")
        .env("SPARK_INIT_SCALE_DOWN_ON_EXIT", "1")
        .spawn();
    let _ = spark.args();
    let env = poll("the driver to publish itself", HANG, || {
        let spec = marathon.app_spec(executors)?;
        spec.env.contains_key("SPARK_DRIVER_URL").then_some(spec)
    });
    assert_eq!(
        env.env["SPARK_DRIVER_URL"],
        "spark://CoarseGrainedScheduler@127.0.0.1:31000"
    );
    assert_eq!(env.env["SPARK_APPLICATION_ID"], FW1);
    // Merged with what was there: the fixture app's plain and secret variables stay.
    assert_eq!(env.env["XPS1"], "Test");
    assert_eq!(
        env.env["PASSWORD"],
        serde_json::json!({"secret": "/db/password"})
    );
    assert_eq!(env.instances, Some(3));
    let puts = marathon
        .requests()
        .iter()
        .filter(|(p, _)| p == &format!("/v2/apps{executors}"))
        .count();
    assert!(
        puts >= 4,
        "a GET, two refused PUTs and the accepted one: {puts}"
    );
    // The file store got the ID too.
    wait_stored(&store, FW1);
    // A clean exit scales the executors to 0 and clears the ID.
    let out = finish(init, &spark, 0);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(marathon.app_spec(executors).unwrap().instances, Some(0));
    assert_eq!(stored(&store), None);
}
