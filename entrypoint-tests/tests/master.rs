//! The Mesos-free deployment: `--role master` runs a real Spark standalone master (no workers)
//! with Marathon's host and ports and ZooKeeper recovery, and a driver finds it through
//! (fake) Marathon with `SPARK_INIT_MASTER_APP`, waiting for it like an executor waits for its
//! driver.

use std::net::TcpListener;
use std::time::Duration;

use entrypoint_tests::fake::{AppSpec, FakeServer, TaskSpec};
use entrypoint_tests::zookeeper::ZooKeeper;
use entrypoint_tests::{fixture, free_port, plan_argv, poll, pyspark_home, Init, HANG, SPARK_4};
use serde_json::Value;

const MASTER_APP: &str = "/spark/orders/master";

/// A driver; `flags` are spark-init's own (before `--`).
fn driver(marathon: &str, flags: &[&str]) -> Init {
    let mut args = vec!["--role", "driver"];
    args.extend(flags);
    let app = fixture("app/app.jar");
    let app = app.to_str().unwrap();
    args.extend(["--", "--class", "Main", app]);
    Init::new(args)
        .env("SPARK_HOME", fixture("spark/3.5.7"))
        .env("JAVA_HOME", fixture("java/17"))
        .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
        .env("HOST", "127.0.0.1")
        .env("PORT0", "31000")
        .env("PORT1", "31001")
        .env("SPARK_INIT_MARATHON_URL", marathon)
        .env("SPARK_INIT_MASTER_APP", MASTER_APP)
        .env("SPARK_INIT_HTTP_TIMEOUT", "1")
}

fn master_app(tasks: Vec<TaskSpec>) -> AppSpec {
    AppSpec {
        port_names: vec!["master".into(), "webui".into()],
        tasks,
        ..Default::default()
    }
}

#[test]
fn a_driver_finds_its_master_through_marathon() {
    let master = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = master.local_addr().unwrap().port();
    let marathon = FakeServer::start();
    marathon.app(
        MASTER_APP,
        master_app(vec![TaskSpec::running(
            "spark_orders_master.instance-1._app.1",
            &[port, 31501],
        )]),
    );
    let out = driver(&marathon.url(), &["--dry-run", "--output", "json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let master_url = format!("spark://127.0.0.1:{port}");
    assert_eq!(plan["resolved"]["master"]["value"], master_url.as_str());
    let source = plan["resolved"]["master"]["source"].as_str().unwrap();
    assert!(
        source.contains("spark_orders_master.instance-1._app.1")
            && source.contains("the port named master"),
        "{source}"
    );
    let argv = plan_argv(&plan);
    let at = argv.iter().position(|a| *a == "--master").unwrap();
    assert_eq!(argv[at + 1], master_url);
    // Not a Mesos master: no Mesos settings.
    assert!(!argv.iter().any(|a| a.contains("spark.mesos.")), "{argv:?}");
}

#[test]
fn a_driver_waits_for_its_master_and_exits_69_at_the_deadline() {
    let marathon = FakeServer::start();
    marathon.app(MASTER_APP, master_app(vec![]));
    let out = driver(&marathon.url(), &[])
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "3")
        .env("SPARK_INIT_LOG", "info")
        .run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("waiting for the master"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("the master was not reachable within 3 s (SPARK_INIT_RESOLVE_TIMEOUT)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_master_in_the_args_and_spark_init_master_app_contradict_each_other() {
    let marathon = FakeServer::start();
    let out = Init::new([
        "--role",
        "driver",
        "--",
        "--master",
        "spark://elsewhere:7077",
        "app.jar",
    ])
    .env("SPARK_HOME", fixture("spark/3.5.7"))
    .env("JAVA_HOME", fixture("java/17"))
    .env("HOST", "127.0.0.1")
    .env("SPARK_INIT_MARATHON_URL", marathon.url())
    .env("SPARK_INIT_MASTER_APP", MASTER_APP)
    .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("both choose the master"),
        "{}",
        out.stderr
    );
    // Nothing was looked up.
    assert!(marathon.requests().is_empty(), "{:?}", marathon.requests());
}

/// The master's web UI answers `/json` (Spark's `MasterWebUI` `JsonProtocol`) with its status.
fn master_status(webui: u16) -> Option<Value> {
    let body = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{webui}/json"))
        .timeout(Duration::from_secs(2))
        .send()
        .ok()?
        .text()
        .ok()?;
    serde_json::from_str(&body).ok()
}

#[test]
fn the_master_role_runs_a_real_spark_4_master_with_zookeeper_recovery() {
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark-init/master-test", zk.connect_string());
    let (port, webui) = (free_port(), free_port());
    let init = Init::new(["--role", "master"])
        .env("SPARK_HOME", pyspark_home(SPARK_4))
        .env("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
        .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
        .env("HOST", "127.0.0.1")
        .env("PORT_MASTER", port.to_string())
        .env("PORT_WEBUI", webui.to_string())
        .env("SPARK_DAEMON_MEMORY", "256m")
        .env("SPARK_INIT_FRAMEWORK_STORE", &store)
        .env("SPARK_INIT_LOG", "info")
        .spawn();
    let status = poll("the master's web UI", HANG, || {
        master_status(webui).filter(|s| s["status"] == "ALIVE")
    });
    assert_eq!(status["url"], format!("spark://127.0.0.1:{port}"));
    assert_eq!(status["workers"].as_array().map(Vec::len), Some(0));
    // Its state is in ZooKeeper, under the store's path.
    let znodes = poll("the master's znodes", HANG, || {
        let out = zk.cli(&["ls", "/spark-init/master-test/master"]);
        out.contains("master_status").then_some(out)
    });
    assert!(znodes.contains("leader_election"), "{znodes}");
    init.signal(libc::SIGTERM);
    let finished = init.finish();
    assert_eq!(finished.code, 143, "{}", finished.stderr);
    assert!(
        finished
            .stderr
            .contains("-Dspark.deploy.recoveryMode=ZOOKEEPER"),
        "{}",
        finished.stderr
    );
}
