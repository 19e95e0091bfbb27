//! The receiver barrier on real Spark (3.5.7 and 4.3.0): a DStream application with as many
//! receivers as executors (`java-spark/ReceiversDriver.java`), its driver and executors run by
//! the launcher (spark-init as PID 1 of each), in each deployment as `story.rs` tells it: on
//! Spark 3 a standalone master with no workers stands in for the constrained Mesos framework
//! (no Mesos master runs here); on Spark 4 the master is a Marathon app too (`--role master`),
//! found by the driver through `SPARK_INIT_MASTER_APP`. The driver publishes itself to the
//! executors' app (`SPARK_INIT_EXECUTOR_APP`), which then starts three executors one after
//! another: each launch is held until the one before has attached (the application's own
//! `executor-added` lines), as a slow cluster would stagger them.
//!
//! - With the barrier (spark-init's confs): the streaming context exists only after the third
//!   executor attached, every receiver runs on a different executor, and the companion logs how
//!   many have attached while the driver waits. A scale-up afterwards blocks nothing: a fourth
//!   executor attaches and batches go on.
//! - With `SPARK_INIT_EXECUTOR_WAIT=0` (no barrier): the second and third executors are held
//!   until the receivers have started, so every receiver runs on the first executor — the pile-up
//!   the barrier prevents. (Holding them on the receivers makes this certain rather than a race.)
//!
//! Assertions come from the application's own event lines (the driver's clock). One run at a
//! time: two cores.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use entrypoint_tests::launcher::{Gate, Launcher};
use entrypoint_tests::spark_app::{application_jar, start_master};
use entrypoint_tests::{poll, pyspark_home, Killed, SPARK_3, SPARK_4};
use serde_json::{json, Value};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Spark starts slowly on two shared cores; a hang guard, not a performance bound.
const SLOW: Duration = Duration::from_secs(240);
const EXECUTORS: &str = "/barrier/executors";
const DRIVER: &str = "/barrier/driver";
const MASTER: &str = "/barrier/master";

/// The application's event lines, split into words.
fn events(file: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn count(file: &Path, kind: &str) -> usize {
    events(file).iter().filter(|e| e[0] == kind).count()
}

/// The driver-clock time of each event of `kind`, in order.
fn times(file: &Path, kind: &str) -> Vec<u64> {
    events(file)
        .iter()
        .filter(|e| e[0] == kind)
        .map(|e| e.last().unwrap().parse().unwrap())
        .collect()
}

/// A gate that opens once the events file holds `n` lines of `kind`.
fn after(file: &Path, kind: &'static str, n: usize) -> Gate {
    let file = file.to_path_buf();
    Box::new(move || count(&file, kind) >= n)
}

struct Run {
    launcher: Launcher,
    events: PathBuf,
    _keep: (Option<Killed>, tempfile::TempDir),
}

/// How the driver finds its master: Spark 3's in its args, Spark 4's through Marathon.
enum Master {
    Url(String),
    App,
}

/// Starts the master (Spark 3: here; Spark 4: as a Marathon app), the launcher and the apps;
/// the executors' launches held by `gates`.
fn start(spark: &str, wait: &str, gates: impl FnOnce(&Path) -> Vec<Gate>) -> Run {
    let jar = application_jar(spark, "ReceiversDriver", "receivers-app");
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let (kept, master) = if spark.starts_with("4.") {
        (None, Master::App)
    } else {
        let (master, port) = start_master(spark, dir.path());
        (
            Some(master),
            Master::Url(format!("spark://127.0.0.1:{port}")),
        )
    };
    let home = pyspark_home(spark).display().to_string();
    let launcher = Launcher::start(vec![
        ("SPARK_HOME".into(), home),
        ("SPARK_INIT_LOG".into(), "info".into()),
    ]);
    launcher.hold_launches(EXECUTORS, gates(&events));
    let mut apps = Vec::new();
    if let Master::App = master {
        apps.push(master_app());
    }
    apps.push(executors_app(&jar));
    apps.push(driver_app(&launcher, &jar, &events, &master, wait));
    let client = reqwest::blocking::Client::new();
    for app in apps {
        let answer = client
            .post(format!("{}/v2/apps", launcher.url()))
            .json(&app)
            .send()
            .unwrap();
        assert_eq!(answer.status().as_u16(), 201);
    }
    Run {
        launcher,
        events,
        _keep: (kept, dir),
    }
}

/// Spark 4's standalone master with no workers, run by spark-init (`--role master`).
fn master_app() -> Value {
    json!({
        "id": MASTER,
        "instances": 1,
        "cpus": 0.5,
        "mem": 768,
        "portDefinitions": [
            {"port": 0, "protocol": "tcp", "name": "master"},
            {"port": 0, "protocol": "tcp", "name": "webui"}
        ],
        "env": {"SPARK_INIT_ROLE": "master", "SPARK_DAEMON_MEMORY": "256m"},
        "taskKillGracePeriodSeconds": 5
    })
}

/// No instances until the driver publishes itself (with `SPARK_INIT_EXECUTOR_INSTANCES=3`);
/// 4 cores each from `SPARK_EXECUTOR_CORES`, so one executor could hold every receiver.
fn executors_app(jar: &Path) -> Value {
    json!({
        "id": EXECUTORS,
        "instances": 0,
        "cpus": 0.5,
        "mem": 1024,
        "portDefinitions": [{"port": 0, "protocol": "tcp", "name": "blockmanager"}],
        "env": {
            "SPARK_INIT_ROLE": "executor",
            "SPARK_EXECUTOR_CORES": "4",
            "SPARK_EXTRA_CLASSPATH": jar.display().to_string(),
        },
        "taskKillGracePeriodSeconds": 5
    })
}

/// The driver: the app's events go to `events`; the barrier waits `wait` seconds at most.
fn driver_app(
    launcher: &Launcher,
    jar: &Path,
    events: &Path,
    master: &Master,
    wait: &str,
) -> Value {
    let events = events.display().to_string();
    let ports: Vec<Value> = ["driver", "blockmanager", "ui"]
        .iter()
        .map(|name| json!({"port": 0, "protocol": "tcp", "name": name}))
        .collect();
    let mut args = match master {
        Master::Url(url) => vec!["--master".to_string(), url.clone()],
        Master::App => Vec::new(),
    };
    let listener = format!("spark.receiverstest.events={events}");
    let jar = jar.display().to_string();
    args.extend(
        [
            "--driver-memory",
            "768m",
            "--conf",
            "spark.extraListeners=ReceiversDriver$Events",
            "--conf",
            &listener,
            "--class",
            "ReceiversDriver",
            &jar,
            &events,
            "3",
        ]
        .map(String::from),
    );
    let mut driver = json!({
        "id": DRIVER,
        "instances": 1,
        "cpus": 1,
        "mem": 1536,
        "portDefinitions": ports,
        "args": args,
        "env": {
            "SPARK_INIT_ROLE": "driver",
            "SPARK_INIT_MARATHON_URL": launcher.url(),
            "SPARK_INIT_EXECUTOR_APP": EXECUTORS,
            "SPARK_INIT_EXECUTOR_INSTANCES": "3",
            "SPARK_INIT_EXECUTOR_WAIT": wait,
        },
        "taskKillGracePeriodSeconds": 5
    });
    if let Master::App = master {
        driver["env"]["SPARK_INIT_MASTER_APP"] = json!(MASTER);
    }
    driver
}

/// The executor of each receiver, once `n` receivers have started.
fn receivers_executors(run: &Run, n: usize) -> Vec<String> {
    poll(&format!("{n} receivers to start"), SLOW, || {
        (count(&run.events, "receiver-started") >= n).then_some(())
    });
    events(&run.events)
        .into_iter()
        .filter(|e| e[0] == "receiver-started")
        .map(|e| e[2].clone())
        .collect()
}

fn with_the_barrier(spark: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The second and third executors start only after the one before attached.
    let run = start(spark, "600", |events| {
        vec![
            Box::new(|| true) as Gate,
            after(events, "executor-added", 1),
            after(events, "executor-added", 2),
        ]
    });
    let receivers = receivers_executors(&run, 3);
    let distinct: BTreeSet<&String> = receivers.iter().collect();
    assert_eq!(distinct.len(), 3, "receivers on {receivers:?}");
    let added = times(&run.events, "executor-added");
    assert_eq!(
        added.len(),
        3,
        "{}",
        fs::read_to_string(&run.events).unwrap()
    );
    let third = added[2];
    let ready = times(&run.events, "context-ready")[0];
    assert!(
        ready >= third,
        "the context was ready at {ready}, the third executor attached at {third}"
    );
    poll("a batch to complete", SLOW, || {
        (count(&run.events, "batch-completed") >= 1).then_some(())
    });
    let first_batch = times(&run.events, "batch-started")[0];
    assert!(
        first_batch >= third,
        "first batch at {first_batch}, third executor at {third}"
    );
    let logs = run.launcher.logs();
    for line in logs.lines().filter(|l| l.contains("executors attached")) {
        eprintln!("barrier {spark}: {line}");
    }
    assert!(
        logs.contains("executors attached: the driver goes on"),
        "the companion said nothing of the wait:\n{logs}"
    );
    assert!(logs.contains("--conf spark.cores.max=12"), "{logs}");
    scale_up_blocks_nothing(&run);
}

/// A fourth executor after the start attaches, and batches keep completing after it did.
fn scale_up_blocks_nothing(run: &Run) {
    let answer = reqwest::blocking::Client::new()
        .put(format!("{}/v2/apps{EXECUTORS}", run.launcher.url()))
        .json(&json!({"instances": 4}))
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    poll("the fourth executor to attach", SLOW, || {
        (count(&run.events, "executor-added") >= 4).then_some(())
    });
    let fourth = times(&run.events, "executor-added")[3];
    poll("a batch to complete after the scale-up", SLOW, || {
        times(&run.events, "batch-completed")
            .iter()
            .any(|&t| t > fourth)
            .then_some(())
    });
}

fn without_the_barrier(spark: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The second and third executors start only after every receiver started.
    let run = start(spark, "0", |events| {
        vec![
            Box::new(|| true) as Gate,
            after(events, "receiver-started", 3),
            after(events, "receiver-started", 3),
        ]
    });
    let receivers = receivers_executors(&run, 3);
    let distinct: BTreeSet<&String> = receivers.iter().collect();
    assert_eq!(distinct.len(), 1, "receivers on {receivers:?}");
    let logs = run.launcher.logs();
    assert!(!logs.contains("spark.cores.max"), "{logs}");
}

#[test]
fn spark_3_with_the_barrier_receivers_spread_over_every_executor() {
    with_the_barrier(SPARK_3);
}

#[test]
fn spark_4_with_the_barrier_receivers_spread_over_every_executor() {
    with_the_barrier(SPARK_4);
}

#[test]
fn spark_3_without_the_barrier_receivers_pile_onto_the_first_executor() {
    without_the_barrier(SPARK_3);
}

#[test]
fn spark_4_without_the_barrier_receivers_pile_onto_the_first_executor() {
    without_the_barrier(SPARK_4);
}
