//! The whole story on real Spark, shared by the end-to-end test and `make demo`: the launcher (a Marathon stand-in that really runs apps) starts a
//! driver app and a scalable executor app from the examples in `images/marathon/`, each
//! instance spark-init as PID 1 in front of Spark 3 (`SPARK_3`, PyPI pyspark's jars) on Java 17. The
//! driver's cluster manager is a standalone master with no workers: like the constrained Mesos
//! framework it only gets the executors that attach on their own. ZooKeeper is real.

use std::collections::BTreeSet;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::launcher::Launcher;
use crate::zookeeper::ZooKeeper;
use crate::{
    children_of, comm, free_port, module_options, poll, pyspark_home, spark_jars, workspace_root,
    Killed, SPARK_3,
};
use serde_json::{json, Value};
use spark_init::clients::framework_store::{parse_url, Store};

/// Spark starts slowly on two cores; this is a hang guard, not a performance bound.
const SLOW: Duration = Duration::from_secs(180);

fn app_jar() -> PathBuf {
    let classes = workspace_root().join("target/java-spark-e2e");
    fs::create_dir_all(&classes).unwrap();
    let status = Command::new("javac")
        .arg("-cp")
        .arg(format!("{}/*", spark_jars(SPARK_3).display()))
        .arg("-d")
        .arg(&classes)
        .arg(workspace_root().join("entrypoint-tests/java-spark/E2EDriver.java"))
        .status()
        .unwrap();
    assert!(status.success());
    let jar = workspace_root().join("target/e2e-app.jar");
    let status = Command::new("jar")
        .arg("cf")
        .arg(&jar)
        .arg("-C")
        .arg(&classes)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    jar
}

fn example(name: &str) -> Value {
    let path = workspace_root().join("images/marathon").join(name);
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn post(client: &reqwest::blocking::Client, launcher: &Launcher, app: &Value) {
    let answer = client
        .post(format!("{}/v2/apps", launcher.url()))
        .json(app)
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 201);
}

/// Asks the driver for a job on at least `executors` executors; returns each task's line.
fn run_job(dir: &Path, k: u32, executors: usize) -> Vec<String> {
    fs::write(dir.join(format!("run-{k}")), format!("{executors}\n")).unwrap();
    let result = dir.join(format!("result-{k}"));
    let text = poll(&format!("job {k} on {executors} executors"), SLOW, || {
        fs::read_to_string(&result).ok()
    });
    text.lines().map(String::from).collect()
}

fn executor_ids(lines: &[String]) -> BTreeSet<i64> {
    lines
        .iter()
        .map(|l| {
            let id = l
                .split_whitespace()
                .next()
                .unwrap()
                .trim_start_matches("executor=");
            id.parse::<i64>()
                .unwrap_or_else(|_| panic!("not a numeric executor ID: {l}"))
        })
        .collect()
}

fn java_child(init: i32) -> Option<i32> {
    children_of(init)
        .into_iter()
        .find(|&p| comm(p).as_deref() == Some("java"))
}

/// What happened, for the demo's closing table.
#[derive(Debug, Default)]
pub struct Summary {
    pub steps: Vec<(String, String, Duration)>,
    pub framework_id: String,
    pub driver_restarts: usize,
    pub executor_launches: usize,
    pub final_exit_codes: Vec<Option<i32>>,
}

/// Runs the story, telling `say` what happens; panics (with what went wrong) if a step fails.
pub fn run(say: &mut dyn FnMut(String)) -> Summary {
    let mut summary = Summary::default();
    let started = std::time::Instant::now();
    let step = |summary: &mut Summary, name: &str, result: String| {
        summary
            .steps
            .push((name.to_string(), result, started.elapsed()));
    };
    say(format!(
        "building the application jar (E2EDriver) against Spark {SPARK_3}'s jars"
    ));
    let jar = app_jar();
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    fs::create_dir_all(&control).unwrap();
    say("starting ZooKeeper (Debian's package) on a free loopback port".into());
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark-init/e2e", zk.connect_string());

    say(
        "starting a Spark standalone master with no workers: the cluster manager stand-in; \
         like the constrained Mesos framework, the driver gets only executors that attach on \
         their own"
            .into(),
    );
    // The cluster manager stand-in.
    let master_port = free_port();
    let _master = Killed(
        Command::new("java")
            .args(module_options(SPARK_3))
            .args(["-XX:-UsePerfData", "-Xmx256m", "-cp"])
            .arg(format!("{}/*", spark_jars(SPARK_3).display()))
            .args([
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
            ])
            .args([
                "--port",
                &master_port.to_string(),
                "--webui-port",
                &free_port().to_string(),
            ])
            .env_remove("JAVA_TOOL_OPTIONS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    poll("the Spark master", SLOW, || {
        TcpStream::connect(("127.0.0.1", master_port)).ok()
    });

    // The executors' image configuration: an option only spark.executor.extraJavaOptions sets.
    let conf = dir.path().join("executor-conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        conf.join("spark-defaults.conf"),
        "spark.executor.extraJavaOptions -Dspark_init.marker=from-extraJavaOptions\n",
    )
    .unwrap();

    say(
        "starting the launcher: a Marathon stand-in that runs each task as spark-init (PID 1 of \
         its own namespace) with Marathon's task environment"
            .into(),
    );
    let launcher = Launcher::start(vec![
        (
            "SPARK_HOME".into(),
            pyspark_home(SPARK_3).display().to_string(),
        ),
        ("SPARK_INIT_LOG".into(), "info".into()),
    ]);
    let client = reqwest::blocking::Client::new();

    // The example apps, pointed at the local stand-ins.
    let mut driver = example("driver.json");
    driver["id"] = json!("/e2e/driver");
    driver["mem"] = json!(1536);
    driver["args"] = json!([
        "--master",
        format!("spark://127.0.0.1:{master_port}"),
        "--driver-memory",
        "768m",
        "--class",
        "E2EDriver",
        jar.display().to_string(),
        control.display().to_string()
    ]);
    driver["env"] = json!({
        "SPARK_INIT_ROLE": "driver",
        "SPARK_INIT_FRAMEWORK_STORE": store,
        "SPARK_INIT_GRACE_SECONDS": "20"
    });
    driver["taskKillGracePeriodSeconds"] = json!(25);
    let mut executors = example("executors.json");
    executors["id"] = json!("/e2e/executors");
    executors["instances"] = json!(2);
    executors["cpus"] = json!(1);
    executors["mem"] = json!(1024);
    executors["env"] = json!({
        "SPARK_INIT_ROLE": "executor",
        "SPARK_INIT_MARATHON_URL": launcher.url(),
        "SPARK_INIT_DRIVER_APP": "/e2e/driver",
        "SPARK_INIT_FRAMEWORK_STORE": store,
        "SPARK_INIT_RESOLVE_TIMEOUT": "300",
        "SPARK_CONF_DIR": conf.display().to_string(),
        "SPARK_EXTRA_CLASSPATH": jar.display().to_string(),
        "SPARK_INIT_GRACE_SECONDS": "20"
    });
    executors["taskKillGracePeriodSeconds"] = json!(25);
    say(format!(
        "POST {}/v2/apps: the driver app (images/marathon/driver.json) and 2 executors \
         (executors.json); the executors find the driver through the launcher's API and wait \
         for it while Spark starts",
        launcher.url()
    ));
    post(&client, &launcher, &driver);
    post(&client, &launcher, &executors);

    // 1. Two executors find the driver, attach, and run tasks with the JVM options.
    let first = run_job(&control, 1, 2);
    say(format!(
        "job 1 ran 12 tasks on 2 executors; inside their JVMs: {}",
        first[0].split_once(' ').map_or("", |(_, rest)| rest)
    ));
    assert_eq!(first.len(), 12);
    let ids1 = executor_ids(&first);
    assert_eq!(ids1.len(), 2, "{first:?}");
    for line in &first {
        assert!(
            line.ends_with("file.encoding=UTF-8 user.timezone=PRC marker=from-extraJavaOptions"),
            "{line}"
        );
    }

    // 2. Scale to three: the third has a new, distinct numeric ID.
    say("PUT instances=3 on the executors app".into());
    let scaled = client
        .put(format!("{}/v2/apps/e2e/executors", launcher.url()))
        .json(&json!({"instances": 3}))
        .send()
        .unwrap();
    assert_eq!(scaled.status().as_u16(), 200);
    let ids2 = executor_ids(&run_job(&control, 2, 3));
    assert_eq!(ids2.len(), 3);
    assert!(ids1.is_subset(&ids2));
    step(
        &mut summary,
        "2 executors attach, job 1",
        format!("{ids1:?}"),
    );
    step(&mut summary, "scale to 3, job 2", format!("{ids2:?}"));
    say(format!("job 2 ran on executors {ids2:?}"));

    // 3. SIGKILL the driver's JVM. The launcher relaunches it; spark-init passes the stored ID.
    let app_file = poll("the driver's application ID", SLOW, || {
        fs::read_dir(&control)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("app-"))
    });
    let app_id = fs::read_to_string(app_file.path())
        .unwrap()
        .trim()
        .to_string();
    let zk_store = Store::new(parse_url(&store).unwrap(), Duration::from_secs(10));
    poll("the driver's ID to be stored", SLOW, || {
        (zk_store.read().ok()??.framework_id == app_id).then_some(())
    });
    say(format!(
        "the driver's framework (application) ID {app_id} is in ZooKeeper; now SIGKILL the \
         driver's JVM"
    ));
    let (_, driver_init) = launcher.init_pids("/e2e/driver")[0].clone();
    let jvm = poll("the driver's JVM", SLOW, || java_child(driver_init));
    fs::remove_file(app_file.path()).unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(jvm, libc::SIGKILL) };
    let new_jvm = poll("the relaunched driver's JVM", SLOW, || {
        let (_, init) = launcher.init_pids("/e2e/driver").into_iter().next()?;
        (init != driver_init).then_some(())?;
        java_child(init)
    });
    let cmdline = fs::read(format!("/proc/{new_jvm}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains(&format!("spark.mesos.driver.frameworkId={app_id}")),
        "{cmdline}"
    );
    say(format!(
        "the launcher relaunched the driver; spark-init passed spark.mesos.driver.frameworkId={app_id}"
    ));
    let ids3 = executor_ids(&run_job(&control, 3, 3));
    assert_eq!(ids3.len(), 3);
    say(format!(
        "the old executors exited, came back and attached to the new driver: job 3 on {ids3:?}"
    ));
    step(
        &mut summary,
        "driver killed, back with the stored ID, job 3",
        format!("{ids3:?}"),
    );
    summary.framework_id = app_id.clone();

    // 4. SIGKILL one executor: it comes back with a new ID.
    say("SIGKILL one executor".into());
    let before = launcher.exited("/e2e/executors").len();
    let (victim_task, victim) = launcher.init_pids("/e2e/executors")[0].clone();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(victim, libc::SIGKILL) };
    // The driver drops the dead executor when its connection closes; the launcher replaces it.
    poll("the killed executor to be replaced", SLOW, || {
        let pids = launcher.init_pids("/e2e/executors");
        (launcher.exited("/e2e/executors").len() > before
            && pids.len() == 3
            && pids.iter().all(|(task, _)| *task != victim_task))
        .then_some(())
    });
    // Jobs until one runs on three executors: the driver may still list the dead one for a
    // moment, and a job started then runs on two.
    let mut k = 3;
    let ids4 = poll(
        "a job on three executors after the replacement",
        SLOW,
        || {
            k += 1;
            let ids = executor_ids(&run_job(&control, k, 3));
            (ids.len() == 3).then_some(ids)
        },
    );
    assert!(!ids4.is_subset(&ids3), "{ids3:?} {ids4:?}");
    say(format!(
        "replaced under a new ID: job on {ids4:?}, no \"Duplicate executor ID\""
    ));
    step(
        &mut summary,
        "executor killed, replaced, job",
        format!("{ids4:?}"),
    );
    let logs = launcher.logs();
    assert!(!logs.contains("Duplicate executor ID"));

    // 5. Stop everything with SIGTERM: every spark-init exits within its grace with the JVM's
    //    code for a SIGTERM stop, and nothing of the apps is left.
    let driver_before = launcher.exited("/e2e/driver").len();
    let executors_before = launcher.exited("/e2e/executors").len();
    let driver_ports: Vec<u16> = client
        .get(format!("{}/v2/apps/e2e/driver/tasks", launcher.url()))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["tasks"][0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u16)
        .collect();
    say("DELETE both apps: SIGTERM to every spark-init".into());
    for app in ["e2e/executors", "e2e/driver"] {
        let gone = client
            .delete(format!("{}/v2/apps/{app}", launcher.url()))
            .send()
            .unwrap();
        assert_eq!(gone.status().as_u16(), 200);
    }
    let last = poll("every instance to stop", SLOW, || {
        let driver = launcher.exited("/e2e/driver");
        let executors = launcher.exited("/e2e/executors");
        (driver.len() == driver_before + 1 && executors.len() == executors_before + 3).then(|| {
            [&driver[driver_before..], &executors[executors_before..]]
                .concat()
                .into_iter()
                .map(|(_, code)| code)
                .collect::<Vec<_>>()
        })
    });
    assert!(last.iter().all(|c| *c == Some(143)), "{last:?}");
    for port in driver_ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still listens"
        );
    }
    let sandbox = launcher.work_dir().join("sandbox-e2e_");
    let left: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cwd = fs::read_link(e.path().join("cwd")).ok()?;
            cwd.display()
                .to_string()
                .starts_with(&sandbox.display().to_string())
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    assert!(left.is_empty(), "processes left in the sandboxes: {left:?}");
    say(format!(
        "every spark-init exited with {last:?}; nothing left"
    ));
    step(&mut summary, "stop all with SIGTERM", format!("{last:?}"));
    summary.driver_restarts = launcher.exited("/e2e/driver").len() - 1;
    summary.executor_launches = launcher.exited("/e2e/executors").len();
    summary.final_exit_codes = last;
    summary
}
