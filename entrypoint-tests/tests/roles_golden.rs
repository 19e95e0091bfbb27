//! Golden dry-run plans for the Spark roles: Spark 1.6, 2.4 and 3.5 installation trees (small
//! fakes with real `RELEASE` files and jar names, in `fixtures/`) × Java 8/11/17 `release`
//! files × Marathon environments, and the first release of each Spark 4 line (4.0–4.3, Java 17
//! only: Spark 4 refuses older ones; fakes with the jar names of that release and a `RELEASE`
//! of the same form). The built binary prints each plan as JSON; it must match
//! `golden/<case>.json` exactly. After an intended change, `UPDATE_GOLDEN=1 cargo test -p
//! entrypoint-tests --test roles_golden` rewrites them; review the diff before committing.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use entrypoint_tests::fake::{AppSpec, FakeServer};
use entrypoint_tests::{plan_argv, spark_init_bin, workspace_root};

const INSTANCE_TASK: &str =
    "spark_orders_executor.instance-6e7a5b2c-1f3d-11ef-9a4b-0242ac120002._app.1";
const LEGACY_TASK: &str = "spark_orders_executor.0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011";
const INSTANCE_NO_INCARNATION: &str =
    "spark.orders-v2_executor.instance-6e7a5b2c-1f3d-11ef-9a4b-0242ac120002._app";

/// The Marathon the receiver-barrier cases read their executors' apps from (the fixture app
/// with these instances, cpus and env); its URL is `$MARATHON` in the goldens.
fn marathon() -> &'static FakeServer {
    static MARATHON: OnceLock<FakeServer> = OnceLock::new();
    MARATHON.get_or_init(|| {
        let fake = FakeServer::start();
        let mut cores = serde_json::Map::new();
        cores.insert("SPARK_EXECUTOR_CORES".into(), "4".into());
        fake.app(
            "/spark/orders/executors",
            AppSpec {
                instances: Some(3),
                cpus: Some(2.5),
                ..AppSpec::default()
            },
        )
        .app(
            "/spark/orders/executors-4-cores",
            AppSpec {
                instances: Some(2),
                env: cores,
                ..AppSpec::default()
            },
        );
        fake
    })
}

fn fixtures() -> PathBuf {
    workspace_root().join("entrypoint-tests/fixtures")
}

struct Case {
    name: String,
    role: &'static str,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

fn fixture(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

/// What Marathon gives an executor task: named ports, fractional cpus, memory as doubles.
fn marathon_executor_env(task_id: &str) -> Vec<(String, String)> {
    [
        ("MESOS_TASK_ID", task_id),
        ("MARATHON_APP_ID", "/spark/orders/executor"),
        ("MARATHON_APP_VERSION", "2026-11-25T10:00:00.000Z"),
        ("MARATHON_APP_RESOURCE_CPUS", "2.5"),
        ("MARATHON_APP_RESOURCE_MEM", "4096.0"),
        ("MARATHON_APP_RESOURCE_DISK", "0.0"),
        ("MARATHON_APP_RESOURCE_GPUS", "0"),
        ("MARATHON_APP_LABELS", "TEAM SPARK_ROLE"),
        ("MARATHON_APP_LABEL_TEAM", "data"),
        ("MARATHON_APP_LABEL_SPARK_ROLE", "executor"),
        ("HOST", "agent-7.example.internal"),
        ("PORTS", "31005"),
        ("PORT", "31005"),
        ("PORT0", "31005"),
        ("PORT_BLOCKMANAGER", "31005"),
        (
            "SPARK_DRIVER_URL",
            "spark://CoarseGrainedScheduler@agent-2.example.internal:31000",
        ),
        (
            "SPARK_APPLICATION_ID",
            "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901-0042",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn marathon_driver_env() -> Vec<(String, String)> {
    [
        (
            "MESOS_TASK_ID",
            "spark_orders_driver.instance-1a2b3c4d-1f3d-11ef-9a4b-0242ac120002._app.1",
        ),
        ("MARATHON_APP_ID", "/spark/orders/driver"),
        ("MARATHON_APP_RESOURCE_CPUS", "1.0"),
        ("MARATHON_APP_RESOURCE_MEM", "2048.0"),
        ("HOST", "agent-2.example.internal"),
        ("PORTS", "31000,31001,31002"),
        ("PORT0", "31000"),
        ("PORT1", "31001"),
        ("PORT2", "31002"),
        ("PORT_DRIVER", "31000"),
        ("PORT_BLOCKMANAGER", "31001"),
        ("PORT_UI", "31002"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn install(spark: &str, java: &str) -> Vec<(String, String)> {
    vec![
        ("SPARK_HOME".into(), fixture(&format!("spark/{spark}"))),
        ("JAVA_HOME".into(), fixture(&format!("java/{java}"))),
        ("SPARK_INIT_CGROUP_ROOT".into(), fixture("cgroup/none")),
    ]
}

fn with(mut base: Vec<(String, String)>, more: &[(&str, &str)]) -> Vec<(String, String)> {
    for (k, v) in more {
        base.retain(|(name, _)| name != k);
        if !v.is_empty() {
            base.push((k.to_string(), v.to_string()));
        }
    }
    base
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for spark in ["1.6.3", "2.4.8", "3.5.7"] {
        for java in ["8", "11", "17"] {
            let mut env = install(spark, java);
            env.extend(marathon_executor_env(INSTANCE_TASK));
            cases.push(Case {
                name: format!("executor-spark{spark}-java{java}"),
                role: "executor",
                env,
                args: vec![],
            });
        }
    }
    for spark in ["4.0.0", "4.1.0", "4.2.0", "4.3.0"] {
        let mut env = install(spark, "17");
        env.extend(marathon_executor_env(INSTANCE_TASK));
        cases.push(Case {
            name: format!("executor-spark{spark}-java17"),
            role: "executor",
            env,
            args: vec![],
        });
    }
    cases.push(Case {
        name: "executor-spark4.3.0-min-memory-overhead".into(),
        role: "executor",
        env: with(
            [install("4.3.0", "17"), marathon_executor_env(INSTANCE_TASK)].concat(),
            &[("SPARK_CONF_DIR", &fixture("conf/spark4-min-overhead"))],
        ),
        args: vec![],
    });
    cases.push(Case {
        name: "driver-spark4.3.0-standalone".into(),
        role: "driver",
        env: [install("4.3.0", "17"), marathon_driver_env()].concat(),
        args: vec![
            "--master".into(),
            "spark://master.example.internal:7077".into(),
            "--class".into(),
            "com.example.Stream".into(),
            format!("local://{}", fixture("app/stream.jar")),
        ],
    });
    // The receiver barrier: the executors' app read from Marathon (3 instances × cpus 2.5).
    let barrier = |app: &str| {
        vec![
            ("SPARK_INIT_MARATHON_URL".to_string(), marathon().url()),
            ("SPARK_INIT_EXECUTOR_APP".to_string(), app.to_string()),
        ]
    };
    cases.push(Case {
        name: "driver-spark4.3.0-standalone-receiver-barrier".into(),
        role: "driver",
        env: [
            install("4.3.0", "17"),
            marathon_driver_env(),
            barrier("/spark/orders/executors"),
        ]
        .concat(),
        args: vec![
            "--master".into(),
            "spark://master.example.internal:7077".into(),
            "--class".into(),
            "com.example.Stream".into(),
            format!("local://{}", fixture("app/stream.jar")),
        ],
    });
    let base = || {
        let mut env = install("3.5.7", "17");
        env.extend(marathon_executor_env(INSTANCE_TASK));
        env
    };
    cases.push(Case {
        name: "executor-legacy-task-id-unnamed-ports".into(),
        role: "executor",
        env: with(
            base(),
            &[
                ("MESOS_TASK_ID", LEGACY_TASK),
                ("PORT_BLOCKMANAGER", ""),
                ("PORT0", "31777"),
                ("MARATHON_APP_RESOURCE_CPUS", "1.0E-4"),
            ],
        ),
        args: vec![],
    });
    cases.push(Case {
        name: "executor-instance-task-id-dotted-app".into(),
        role: "executor",
        env: with(
            base(),
            &[
                ("MESOS_TASK_ID", INSTANCE_NO_INCARNATION),
                ("MARATHON_APP_RESOURCE_CPUS", "8.0"),
                ("MARATHON_APP_RESOURCE_MEM", "32768.0"),
            ],
        ),
        args: vec![],
    });
    cases.push(Case {
        name: "executor-cgroup-v1-no-marathon-resources".into(),
        role: "executor",
        env: with(
            base(),
            &[
                ("MARATHON_APP_RESOURCE_CPUS", ""),
                ("MARATHON_APP_RESOURCE_MEM", ""),
                ("SPARK_INIT_CGROUP_ROOT", &fixture("cgroup/v1")),
            ],
        ),
        args: vec![],
    });
    cases.push(Case {
        name: "executor-cgroup-v2-no-marathon-resources".into(),
        role: "executor",
        env: with(
            base(),
            &[
                ("MARATHON_APP_RESOURCE_CPUS", ""),
                ("MARATHON_APP_RESOURCE_MEM", ""),
                ("SPARK_INIT_CGROUP_ROOT", &fixture("cgroup/v2")),
            ],
        ),
        args: vec![],
    });
    cases.push(Case {
        name: "executor-explicit-values-and-args".into(),
        role: "executor",
        env: with(
            base(),
            &[
                ("SPARK_EXECUTOR_ID", "17"),
                ("SPARK_EXECUTOR_CORES", "3"),
                ("SPARK_EXECUTOR_MEMORY", "6g"),
                ("SPARK_INIT_HOSTNAME", "10.1.2.3"),
                ("SPARK_CLASSPATH", "/opt/app/app.jar"),
                ("SPARK_EXTRA_CLASSPATH", "/opt/extra/*"),
            ],
        ),
        args: vec!["--resourcesFile".into(), "/etc/spark/resources.json".into()],
    });
    cases.push(Case {
        name: "executor-spark-defaults-tuned".into(),
        role: "executor",
        env: with(
            base(),
            &[
                ("SPARK_CONF_DIR", &fixture("conf/tuned")),
                ("JAVA_TOOL_OPTIONS", "-Dapp.region=image -Xss2m"),
                ("SPARK_JAVA_OPT_0", "-Dapp.region=us-west"),
                ("SPARK_INIT_JAVA_OPTS", "-XX:-UseG1GC -Dapi.token=hunter2"),
            ],
        ),
        args: vec![],
    });
    // The image's application, and its libmesos named by MESOS_NATIVE_JAVA_LIBRARY (or found
    // on LD_LIBRARY_PATH): the fixtures' empty stand-ins.
    let stream_jar = format!("local://{}", fixture("app/stream.jar"));
    let libmesos = fixture("mesos/libmesos.so");
    cases.push(Case {
        name: "driver-spark3.5.7-mesos".into(),
        role: "driver",
        env: with(
            [install("3.5.7", "17"), marathon_driver_env()].concat(),
            &[("MESOS_NATIVE_JAVA_LIBRARY", &libmesos)],
        ),
        args: [
            "--master",
            "mesos://zk://zk1:2181/mesos",
            "--class",
            "com.example.Stream",
            &stream_jar,
            "--topic",
            "orders",
        ]
        .map(String::from)
        .to_vec(),
    });
    // Instances and the wait from the variables, cores from the app's SPARK_EXECUTOR_CORES;
    // the user's own spark.scheduler.minRegisteredResourcesRatio is kept.
    cases.push(Case {
        name: "driver-spark3.5.7-mesos-receiver-barrier".into(),
        role: "driver",
        env: with(
            [
                install("3.5.7", "17"),
                marathon_driver_env(),
                barrier("/spark/orders/executors-4-cores"),
            ]
            .concat(),
            &[
                ("MESOS_NATIVE_JAVA_LIBRARY", &libmesos),
                ("SPARK_INIT_EXECUTOR_INSTANCES", "4"),
                ("SPARK_INIT_EXECUTOR_WAIT", "120"),
            ],
        ),
        args: [
            "--master",
            "mesos://zk://zk1:2181/mesos",
            "--conf",
            "spark.scheduler.minRegisteredResourcesRatio=0.75",
            "--class",
            "com.example.Stream",
            &stream_jar,
        ]
        .map(String::from)
        .to_vec(),
    });
    cases.push(Case {
        name: "driver-spark3.5.7-user-settings-kept".into(),
        role: "driver",
        env: with(
            [install("3.5.7", "17"), marathon_driver_env()].concat(),
            &[
                ("SPARK_CONF_DIR", &fixture("conf/tuned")),
                ("SPARK_INIT_MESOS_CONSTRAINTS", "rack:none-such"),
                ("SPARK_INIT_FAILOVER_TIMEOUT", "604800"),
                ("MESOS_NATIVE_JAVA_LIBRARY", &libmesos),
            ],
        ),
        args: [
            "--conf",
            "spark.driver.port=7077",
            "--driver-java-options",
            "-Dapp.role=submitted -Dx='a b'",
            "--class",
            "com.example.Stream",
            &stream_jar,
        ]
        .map(String::from)
        .to_vec(),
    });
    cases.push(Case {
        name: "driver-spark2.4.8-standalone-unnamed-ports".into(),
        role: "driver",
        env: with(
            [install("2.4.8", "8"), marathon_driver_env()].concat(),
            &[
                ("PORT_DRIVER", ""),
                ("PORT_BLOCKMANAGER", ""),
                ("PORT_UI", ""),
                ("PORT2", ""),
            ],
        ),
        // A path without a scheme, from the working directory (the fixtures).
        args: ["--master", "spark://master:7077", "app/job.py"]
            .map(String::from)
            .to_vec(),
    });
    cases.push(Case {
        name: "master-spark3.5.7-zookeeper-recovery".into(),
        role: "master",
        env: [
            install("3.5.7", "17"),
            [
                ("MESOS_TASK_ID", "spark_orders_master.instance-5c6d._app.1"),
                ("MARATHON_APP_ID", "/spark/orders/master"),
                ("HOST", "agent-3.example.internal"),
                ("PORT_MASTER", "31500"),
                ("PORT_WEBUI", "31501"),
                ("PORT_REST", "31502"),
                ("SPARK_DAEMON_MEMORY", "512m"),
                (
                    "SPARK_MASTER_OPTS",
                    "-Dspark.deploy.retainedApplications=10",
                ),
                (
                    "SPARK_INIT_FRAMEWORK_STORE",
                    "zk://zk1:2181,zk2:2181/spark-init/orders",
                ),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .to_vec(),
        ]
        .concat(),
        args: vec![],
    });
    // Spark 1.6's Mesos backend counts accepted cores only: a warning, nothing added.
    cases.push(Case {
        name: "driver-spark1.6.3-mesos-no-receiver-barrier".into(),
        role: "driver",
        env: with(
            [
                install("1.6.3", "8"),
                marathon_driver_env(),
                barrier("/spark/orders/executors"),
            ]
            .concat(),
            &[("LD_LIBRARY_PATH", &fixture("mesos"))],
        ),
        args: [
            "--master",
            "mesos://10.0.0.1:5050",
            "--class",
            "Main",
            "app/app.jar",
        ]
        .map(String::from)
        .to_vec(),
    });
    cases.push(Case {
        name: "driver-spark1.6.3-mesos".into(),
        role: "driver",
        env: with(
            [install("1.6.3", "8"), marathon_driver_env()].concat(),
            &[("LD_LIBRARY_PATH", &fixture("mesos"))],
        ),
        args: [
            "--master",
            "mesos://10.0.0.1:5050",
            "--class",
            "Main",
            "app/app.jar",
        ]
        .map(String::from)
        .to_vec(),
    });
    cases
}

fn run(case: &Case) -> String {
    let out = Command::new(spark_init_bin())
        .args(["--role", case.role, "--dry-run", "--output", "json", "--"])
        .args(&case.args)
        .env_clear()
        .envs(case.env.iter().map(|(k, v)| (k, v)))
        // Who runs the tests is not the plan's business: the user stays the test's own, and
        // its name is replaced below (tests/users.rs covers the choice).
        .env("SPARK_INIT_USER", own_ids())
        // The working directory goes on an executor's classpath: make it the fixtures'.
        .current_dir(fixtures())
        .output()
        .expect("run spark-init");
    let stdout = String::from_utf8(out.stdout)
        .unwrap()
        .replace(&marathon().url(), "$MARATHON");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}: exit {:?}\n{stderr}",
        case.name,
        out.status.code()
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let who = serde_json::to_string(&plan["resolved"]["user"]["value"]).unwrap();
    stdout
        .replace(&fixtures().display().to_string(), "$FIXTURES")
        .replace(&format!("\"value\": {who}"), "\"value\": \"$TEST_USER\"")
}

/// `uid:gid` of the process running the tests.
fn own_ids() -> String {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata("/proc/self").unwrap();
    format!("{}:{}", me.uid(), me.gid())
}

#[test]
fn dry_run_plans_match_the_golden_files() {
    let dir = workspace_root().join("entrypoint-tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for case in cases() {
        let got = run(&case);
        let path = dir.join(format!("{}.json", case.name));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!(
                "{}: the plan differs from {}\n--- want\n{want}\n--- got\n{got}",
                case.name,
                path.display()
            )),
            Err(_) => failures.push(format!(
                "{}: {} is missing (UPDATE_GOLDEN=1 writes it)",
                case.name,
                path.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The goldens are checked for meaning too, so a wrong plan cannot be blessed unnoticed.
#[test]
fn golden_plans_say_what_spark_needs() {
    for case in cases() {
        let plan: serde_json::Value = serde_json::from_str(&run(&case)).unwrap();
        let argv = plan_argv(&plan);
        let version = plan["resolved"]["spark_version"]["value"].as_str().unwrap();
        let java: u64 = plan["resolved"]["java_version"]["value"].as_u64().unwrap();
        if case.role == "executor" {
            let id = argv[argv.iter().position(|a| *a == "--executor-id").unwrap() + 1];
            let id: i64 = id.parse().expect("numeric executor id");
            assert!((1..=i64::from(i32::MAX)).contains(&id), "{}", case.name);
            let opens = argv.iter().any(|a| a.starts_with("--add-opens="));
            assert_eq!(opens, version >= "3.3" && java >= 17, "{}", case.name);
            assert_eq!(
                argv.contains(&"--bind-address"),
                version >= "3.0",
                "{}",
                case.name
            );
            assert_eq!(
                argv.contains(&"--resourceProfileId"),
                version >= "3.1",
                "{}",
                case.name
            );
            let spark_4 = version >= "4";
            assert_eq!(
                argv.contains(&"--add-modules=jdk.incubator.vector"),
                spark_4,
                "{}",
                case.name
            );
            let classpath = argv[argv.iter().position(|a| *a == "-cp").unwrap() + 1];
            assert_eq!(
                classpath.contains("/jars/slf4j-api-2.0.1"),
                spark_4,
                "{}: {classpath}",
                case.name
            );
            let xmx = argv.iter().find(|a| a.starts_with("-Xmx")).unwrap();
            let heap: u64 = xmx[4..xmx.len() - 1].parse().unwrap();
            assert!(heap >= 450, "{}: {xmx}", case.name);
        } else if case.role == "master" {
            let class = argv
                .iter()
                .position(|a| *a == "org.apache.spark.deploy.master.Master");
            let class = class.expect("the Master class");
            assert_eq!(
                argv[class + 1..class + 3],
                ["--host", "agent-3.example.internal"]
            );
            assert!(argv.contains(&"-Xmx512m"), "{}", case.name);
            let opens = argv.iter().any(|a| a.starts_with("--add-opens="));
            assert_eq!(opens, java >= 17, "{}", case.name);
        } else {
            assert!(argv[0].ends_with("/bin/spark-submit"), "{}", case.name);
            assert!(
                argv.windows(2).any(|w| w == ["--deploy-mode", "client"]),
                "{}",
                case.name
            );
            // Issue 11: what the driver needs in the image was found there, and is shown.
            let resolved = &plan["resolved"];
            let master = resolved["master"]["value"].as_str().unwrap_or_default();
            let library = resolved["mesos_native_library"]["value"].as_str();
            assert_eq!(
                library.is_some_and(|l| l.ends_with("/libmesos.so")),
                master.starts_with("mesos://"),
                "{}",
                case.name
            );
            // Issue 17: the receiver barrier's spark.cores.max is its own arithmetic.
            let barrier = &resolved["executor_barrier"]["value"];
            if let Some(cores_max) = barrier["cores_max"].as_u64() {
                let (n, cores) = (&barrier["executors"], &barrier["cores_per_executor"]);
                assert_eq!(cores_max, n.as_u64().unwrap() * cores.as_u64().unwrap());
                let conf = format!("spark.cores.max={cores_max}");
                assert!(argv.contains(&conf.as_str()), "{}", case.name);
            } else {
                assert!(!argv.iter().any(|a| a.starts_with("spark.cores.max=")));
            }
            let application = resolved["application"]["value"].as_str().unwrap();
            assert!(application.starts_with("$FIXTURES/app/"), "{}", case.name);
            // Spark 4 has no Mesos: nothing of it reaches spark-submit.
            if version >= "4" {
                assert!(
                    !argv.iter().any(|a| a.contains("spark.mesos.")),
                    "{}",
                    case.name
                );
            }
        }
        let tool = plan["env"]["JAVA_TOOL_OPTIONS"].as_str().unwrap();
        assert!(!plan.to_string().contains("hunter2"), "{}", case.name);
        assert!(tool.contains("-Dfile.encoding=UTF-8"), "{}", case.name);
    }
}
