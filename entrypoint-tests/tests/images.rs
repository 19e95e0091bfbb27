//! The Marathon app examples in `images/marathon/` are real app definitions that spark-init
//! understands: a Marathon client nobody here wrote reads them, and spark-init, given the task
//! environment Marathon builds from them (with the cluster's URLs pointed at local stand-ins),
//! resolves a complete plan for each.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Command;

use entrypoint_tests::fake::{AppSpec, FakeServer, TaskSpec};
use entrypoint_tests::launcher;
use entrypoint_tests::zookeeper::ZooKeeper;
use entrypoint_tests::{fixture, workspace_root, Init};
use serde_json::{json, Value};

fn app(name: &str) -> Value {
    let path = workspace_root().join("images/marathon").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn the_python_marathon_client_reads_the_examples() {
    let lib = workspace_root().join(".cache/python-marathon-0.13.0");
    for name in [
        "driver.json",
        "executors.json",
        "master.json",
        "driver-spark4.json",
        "executors-spark4.json",
    ] {
        let script = "import json,sys\nfrom marathon.models.app import MarathonApp\n\
                      a = MarathonApp.from_json(json.load(open(sys.argv[1])))\nprint(a.id)";
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(workspace_root().join("images/marathon").join(name))
            .env("PYTHONPATH", &lib)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The environment Marathon gives a task of `app` (docs/task-environment-vars.md), ports
/// assigned from `ports`, the app's `env` on top, then `overrides`.
fn task_env(app: &Value, ports: &[u16], overrides: &[(&str, String)]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let id = app["id"].as_str().unwrap();
    env.insert("MARATHON_APP_ID".into(), id.into());
    env.insert(
        "MESOS_TASK_ID".into(),
        format!(
            "{}.instance-6e7a5b2c-1f3d-11ef-9a4b-0242ac120002._app.1",
            id.trim_matches('/').replace('/', "_")
        ),
    );
    env.insert("HOST".into(), "127.0.0.1".into());
    for key in ["cpus", "mem", "disk"] {
        let value = app[key].as_f64().unwrap();
        // Java's Double.toString.
        env.insert(
            format!("MARATHON_APP_RESOURCE_{}", key.to_uppercase()),
            format!("{value:.1}"),
        );
    }
    let defs = app["portDefinitions"].as_array().unwrap();
    for (i, def) in defs.iter().enumerate() {
        env.insert(format!("PORT{i}"), ports[i].to_string());
        if let Some(name) = def["name"].as_str() {
            env.insert(
                format!("PORT_{}", name.to_uppercase()),
                ports[i].to_string(),
            );
        }
    }
    for (k, v) in app["env"].as_object().unwrap() {
        env.insert(k.clone(), v.as_str().unwrap().to_string());
    }
    env.insert(
        "SPARK_HOME".into(),
        fixture("spark/3.5.7").display().to_string(),
    );
    env.insert("JAVA_HOME".into(), fixture("java/17").display().to_string());
    env.insert(
        "MESOS_NATIVE_JAVA_LIBRARY".into(),
        fixture("mesos/libmesos.so").display().to_string(),
    );
    env.insert(
        "SPARK_INIT_CGROUP_ROOT".into(),
        fixture("cgroup/none").display().to_string(),
    );
    for (k, v) in overrides {
        env.insert(k.to_string(), v.clone());
    }
    env
}

/// The image's files the examples name, as the fixtures' stand-ins: the application under
/// `/opt/app/` (which the application's image adds, README "Images"), and libmesos where
/// `MESOS_NATIVE_JAVA_LIBRARY` says (`task_env`; the Dockerfile's `ENV` names
/// `/opt/mesos/lib/libmesos.so`).
fn in_the_image(arg: &str) -> String {
    let app = fixture("app").display().to_string();
    arg.replace("/opt/app", &app)
}

/// Marathon has `id` with one running task `task` on `ports`, named `port_names`.
fn running_app(marathon: &FakeServer, id: &str, port_names: &[&str], task: &str, ports: &[u16]) {
    marathon.app(
        id,
        AppSpec {
            port_names: port_names.iter().map(|n| n.to_string()).collect(),
            tasks: vec![TaskSpec::running(task, ports)],
            ..Default::default()
        },
    );
}

fn dry_run(app: &Value, env: BTreeMap<String, String>) -> Value {
    let mut init = Init::new(["--dry-run", "--output", "json", "--"]);
    for arg in app["args"].as_array().unwrap() {
        init = init.arg(in_the_image(arg.as_str().unwrap()));
    }
    for (k, v) in env {
        init = init.env(k, v);
    }
    let out = init.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn spark_init_resolves_both_examples() {
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark-init/orders", zk.connect_string());
    let mesos = FakeServer::start();
    let marathon = FakeServer::start();

    let driver = app("driver.json");
    let rpc = TcpListener::bind("127.0.0.1:0").unwrap();
    let ui = FakeServer::start();
    ui.spark_app("app-20261125100000-0001", true);
    let ports = [rpc.local_addr().unwrap().port(), 31001, ui.port];
    let plan = dry_run(
        &driver,
        task_env(
            &driver,
            &ports,
            &[
                ("SPARK_INIT_FRAMEWORK_STORE", store.clone()),
                ("SPARK_INIT_MESOS_URL", mesos.url()),
                ("SPARK_INIT_MARATHON_URL", marathon.url()),
            ],
        ),
    );
    assert_eq!(plan["role"], "driver");
    assert_eq!(
        plan["resolved"]["conf.spark.driver.port"]["value"],
        ports[0].to_string()
    );
    assert_eq!(
        plan["resolved"]["conf.spark.ui.port"]["value"],
        ports[2].to_string()
    );
    assert_eq!(
        plan["resolved"]["conf.spark.mesos.constraints"]["value"],
        "spark_init_placement:marathon"
    );
    assert_eq!(
        plan["resolved"]["publish_to"]["value"]["app"],
        "/spark/orders/executors"
    );

    // The executors find that driver through Marathon.
    running_app(
        &marathon,
        "/spark/orders/driver",
        &["driver", "blockmanager", "ui"],
        "spark_orders_driver.instance-1._app.1",
        &ports,
    );
    let executors = app("executors.json");
    let plan = dry_run(
        &executors,
        task_env(
            &executors,
            &[31005],
            &[
                ("SPARK_INIT_FRAMEWORK_STORE", store),
                ("SPARK_INIT_MARATHON_URL", marathon.url()),
            ],
        ),
    );
    assert_eq!(plan["role"], "executor");
    assert_eq!(
        plan["resolved"]["driver_url"]["value"],
        format!("spark://CoarseGrainedScheduler@127.0.0.1:{}", ports[0])
    );
    assert_eq!(
        plan["resolved"]["app_id"]["value"],
        "app-20261125100000-0001"
    );
    assert_eq!(plan["resolved"]["cores"]["value"], 2);
    assert_eq!(plan["resolved"]["ports"]["value"]["blockmanager"], 31005);
}

/// On Spark 4.3.0 (the fixture's installation): Marathon's environment for `app`.
fn spark4_env(
    app: &Value,
    ports: &[u16],
    overrides: &[(&str, String)],
) -> BTreeMap<String, String> {
    let mut env = task_env(app, ports, overrides);
    env.insert(
        "SPARK_HOME".into(),
        fixture("spark/4.3.0").display().to_string(),
    );
    env.remove("MESOS_NATIVE_JAVA_LIBRARY");
    env
}

/// The Mesos-free deployment's three examples: the master app resolves on its own, the driver
/// finds it through Marathon, the executors find the driver.
#[test]
fn spark_init_resolves_the_spark_4_examples() {
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark-init/orders4", zk.connect_string());
    let master = app("master.json");
    let overrides = [("SPARK_INIT_FRAMEWORK_STORE", store.clone())];
    let plan = dry_run(&master, spark4_env(&master, &[31500, 31501], &overrides));
    assert_eq!(plan["role"], "master");
    assert_eq!(plan["resolved"]["spark_version"]["value"], "4.3.0");
    assert_eq!(plan["resolved"]["master_port"]["value"], 31500);
    assert_eq!(plan["resolved"]["webui_port"]["value"], 31501);
    let argv = plan["argv"].to_string();
    assert!(
        argv.contains("-Dspark.deploy.recoveryMode=ZOOKEEPER"),
        "{argv}"
    );
    assert!(argv.contains("-Dspark.master.rest.enabled=false"), "{argv}");

    let marathon = FakeServer::start();
    let master_rpc = TcpListener::bind("127.0.0.1:0").unwrap();
    let master_port = master_rpc.local_addr().unwrap().port();
    running_app(
        &marathon,
        master["id"].as_str().unwrap(),
        &["master", "webui"],
        "spark_orders4_master.instance-1._app.1",
        &[master_port, 31501],
    );
    let driver = app("driver-spark4.json");
    let rpc = TcpListener::bind("127.0.0.1:0").unwrap();
    let ui = FakeServer::start();
    ui.spark_app("app-20261129100000-0001", true);
    let ports = [rpc.local_addr().unwrap().port(), 31001, ui.port];
    let overrides = [
        ("SPARK_INIT_MARATHON_URL", marathon.url()),
        ("SPARK_INIT_FRAMEWORK_STORE", store.clone()),
    ];
    let plan = dry_run(&driver, spark4_env(&driver, &ports, &overrides));
    assert_eq!(plan["role"], "driver");
    assert_eq!(
        plan["resolved"]["master"]["value"],
        format!("spark://127.0.0.1:{master_port}")
    );
    assert!(!plan["argv"].to_string().contains("spark.mesos."), "{plan}");

    running_app(
        &marathon,
        driver["id"].as_str().unwrap(),
        &["driver", "blockmanager", "ui"],
        "spark_orders4_driver.instance-1._app.1",
        &ports,
    );
    let executors = app("executors-spark4.json");
    let overrides = [
        ("SPARK_INIT_MARATHON_URL", marathon.url()),
        ("SPARK_INIT_FRAMEWORK_STORE", store),
    ];
    let plan = dry_run(&executors, spark4_env(&executors, &[31005], &overrides));
    assert_eq!(plan["role"], "executor");
    assert_eq!(
        plan["resolved"]["driver_url"]["value"],
        format!("spark://CoarseGrainedScheduler@127.0.0.1:{}", ports[0])
    );
    assert_eq!(
        plan["resolved"]["app_id"]["value"],
        "app-20261129100000-0001"
    );
}

#[test]
fn spark_init_resolves_the_master_example() {
    let master = app("master.json");
    let env = task_env(&master, &[31500, 31501], &[]);
    let plan = dry_run(&master, env);
    assert_eq!(plan["role"], "master");
    assert_eq!(plan["resolved"]["master_port"]["value"], 31500);
    assert_eq!(plan["resolved"]["webui_port"]["value"], 31501);
    let argv = plan["argv"].to_string();
    assert!(
        argv.contains("-Dspark.deploy.recoveryMode=ZOOKEEPER"),
        "{argv}"
    );
    assert!(argv.contains("-Dspark.master.rest.enabled=false"), "{argv}");
}

const EXAMPLES: [&str; 5] = [
    "driver.json",
    "executors.json",
    "master.json",
    "driver-spark4.json",
    "executors-spark4.json",
];

/// Issue 18: the examples write host networking as current Marathon documents it
/// (`networks: [{"mode": "host"}]`), not the pre-1.5 `container.docker.network: "HOST"` it
/// migrates; the launcher reads both forms as host networking, and neither bridge form.
#[test]
fn the_examples_use_marathons_networks_field_and_the_launcher_reads_both_forms() {
    for name in EXAMPLES {
        let app = app(name);
        assert_eq!(app["networks"], json!([{ "mode": "host" }]), "{name}");
        assert_eq!(app["container"]["docker"].get("network"), None, "{name}");
        assert!(launcher::host_network(&app), "{name}");
        let mut old = app.clone();
        old.as_object_mut().unwrap().remove("networks");
        old["container"]["docker"]["network"] = json!("HOST");
        assert!(launcher::host_network(&old), "{name}: the pre-1.5 form");
        old["container"]["docker"]["network"] = json!("BRIDGE");
        assert!(!launcher::host_network(&old), "{name}: BRIDGE");
        let mut bridge = app.clone();
        bridge["networks"] = json!([{ "mode": "container/bridge" }]);
        assert!(!launcher::host_network(&bridge), "{name}: container/bridge");
    }
}

/// Issue 18: each example's spark-init variables agree with its Marathon settings: spark-init's
/// own stop grace ends before Marathon's SIGKILL (`taskKillGracePeriodSeconds`, default 3 s),
/// so the exit line and the termination summary are written; a role that waits for a lookup
/// (`SPARK_INIT_RESOLVE_TIMEOUT`, default 300 s) gives up, saying why, before a health check
/// whose grace has run out has Marathon kill it.
#[test]
fn the_examples_set_spark_init_consistently_with_their_marathon_settings() {
    for name in EXAMPLES {
        let app = app(name);
        let env = &app["env"];
        let seconds = |var: &str| env[var].as_str().map(|v| v.parse::<f64>().unwrap());
        let kill_grace = app["taskKillGracePeriodSeconds"].as_f64().unwrap_or(3.0);
        let grace = seconds("SPARK_INIT_GRACE_SECONDS");
        assert!(
            grace.is_some_and(|g| g < kill_grace),
            "{name}: {grace:?} vs {kill_grace}"
        );
        let waits = env["SPARK_INIT_ROLE"] != "master";
        let resolve = seconds("SPARK_INIT_RESOLVE_TIMEOUT").unwrap_or(300.0);
        for check in app["healthChecks"].as_array().into_iter().flatten() {
            let health_grace = check["gracePeriodSeconds"].as_f64().unwrap_or(300.0);
            assert!(
                !waits || resolve < health_grace,
                "{name}: {resolve} vs {health_grace}"
            );
        }
    }
}
