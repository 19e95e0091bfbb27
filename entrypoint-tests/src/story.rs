//! The whole story on real Spark, shared by the end-to-end test and `make demo`: the launcher
//! (a Marathon stand-in that really runs apps) starts a driver app and a scalable executor app
//! from the examples in `images/marathon/`, each instance spark-init as PID 1 in front of real
//! Spark (PyPI pyspark's jars) on Java 17. ZooKeeper is real. Two deployments:
//! - Spark 3 (`SPARK_3`): the driver's cluster manager is a standalone master with no workers
//!   that the story starts itself, standing in for the constrained Mesos framework (no Mesos
//!   master can run here); the stored framework ID is passed to the relaunched driver.
//! - Spark 4 (`SPARK_4`), the Mesos-free deployment: the master is a third Marathon app run by
//!   spark-init (`--role master`, `images/marathon/master.json`), which the driver finds through
//!   Marathon (`SPARK_INIT_MASTER_APP`); a relaunched driver is a new application, whose ID
//!   the relaunched executors take.

use std::collections::BTreeSet;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::launcher::Launcher;
use crate::spark_app::{application_jar, start_master};
use crate::zookeeper::ZooKeeper;
use crate::{children_of, comm, poll, pyspark_home, workspace_root, Killed};
use serde_json::{json, Value};
use spark_init::clients::framework_store::{parse_url, Store};

/// Spark starts slowly on two cores; this is a hang guard, not a performance bound.
const SLOW: Duration = Duration::from_secs(180);

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
    /// Each step: its name, its result, and how long it took.
    pub steps: Vec<(String, String, Duration)>,
    /// The application ID before and after the driver's relaunch (the same on Spark 3, where
    /// the stored framework ID is passed on; a new one on Spark 4).
    pub app_ids: (String, String),
    pub driver_restarts: usize,
    pub executor_launches: usize,
    /// Each app's instances' exit codes at the final stop.
    pub final_exit_codes: Vec<Option<i32>>,
    /// Which deployment the story told.
    pub deployment: String,
}

/// Everything the story's steps share.
struct Stage {
    spark: String,
    spark4: bool,
    launcher: Launcher,
    client: reqwest::blocking::Client,
    control: PathBuf,
    store: String,
    /// Keeps ZooKeeper, the Spark 3 master and the temporary folder alive.
    _keep: (ZooKeeper, Option<Killed>, tempfile::TempDir),
}

impl Stage {
    fn apps(&self) -> Vec<&'static str> {
        let mut apps = vec!["/e2e/executors", "/e2e/driver"];
        if self.spark4 {
            apps.push("/e2e/master");
        }
        apps
    }
}

/// Runs the story on Spark `spark` (`SPARK_3` or `SPARK_4`), telling `say` what happens;
/// panics (with what went wrong) if a step fails.
pub fn run(spark: &str, say: &mut dyn FnMut(String)) -> Summary {
    let mut summary = Summary::default();
    let stage = set_up(spark, say);
    // Each row is its own step's time: the set-up (the jar, ZooKeeper, the apps) is not the
    // first job's (issue 18: its row said 26.0 s for a job done at 21.7 s).
    let mut step_started = Instant::now();
    let mut step = |summary: &mut Summary, name: &str, result: String| {
        summary
            .steps
            .push((name.to_string(), result, step_started.elapsed()));
        step_started = Instant::now();
    };
    summary.deployment = deployment(&stage).into();
    let ids1 = attach(&stage, say);
    step(&mut summary, "2 executors attach, job 1", id_list(&ids1));
    let ids2 = scale(&stage, &ids1, say);
    step(&mut summary, "scale to 3, job 2", id_list(&ids2));
    let (before, after, ids3) = driver_relaunched(&stage, say);
    let what = if stage.spark4 {
        "driver killed, a new application, job 3"
    } else {
        "driver killed, relaunched with the stored ID, job 3"
    };
    step(&mut summary, what, id_list(&ids3));
    summary.app_ids = (before, after);
    let ids4 = executor_replaced(&stage, ids3, say);
    step(
        &mut summary,
        "executor killed, replaced, job",
        id_list(&ids4),
    );
    let last = stop_all(&stage, say);
    step(&mut summary, "stop all with SIGTERM", exit_codes(&last));
    summary.driver_restarts = stage.launcher.exited("/e2e/driver").len() - 1;
    summary.executor_launches = stage.launcher.exited("/e2e/executors").len();
    summary.final_exit_codes = last;
    summary
}

fn deployment(stage: &Stage) -> &'static str {
    if stage.spark4 {
        "Spark 4, the Mesos-free deployment: master, driver and executors as Marathon apps"
    } else {
        "Spark 3: driver and executors as Marathon apps, a worker-less master standing in for \
         the constrained Mesos framework"
    }
}

/// Exit codes as an operator reads them: `143 (SIGTERM)`, a signal's 128+N by its name (not
/// Rust's `Some(143)`); `killed` when the process left no code.
pub fn exit_codes(codes: &[Option<i32>]) -> String {
    let shown: Vec<String> = codes
        .iter()
        .map(|code| match code {
            Some(c @ 129..=192) => {
                format!("{c} ({})", spark_init::supervise::signals::name(c - 128))
            }
            Some(c) => c.to_string(),
            None => "killed".to_string(),
        })
        .collect();
    shown.join(", ")
}

/// Executor IDs as a list (`1, 2`), not Rust's debug form of a set.
fn id_list(ids: &BTreeSet<i64>) -> String {
    let shown: Vec<String> = ids.iter().map(i64::to_string).collect();
    shown.join(", ")
}

/// ZooKeeper, the cluster manager (Spark 3: started here), the launcher, and the apps.
fn set_up(spark: &str, say: &mut dyn FnMut(String)) -> Stage {
    let spark4 = spark.starts_with("4.");
    say(format!(
        "building the application jar (E2EDriver) against Spark {spark}'s jars"
    ));
    let jar = application_jar(spark, "E2EDriver", "e2e-app");
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    fs::create_dir_all(&control).unwrap();
    say("starting ZooKeeper (Debian's package) on a free loopback port".into());
    let zk = ZooKeeper::start();
    let store = format!("zk://{}/spark-init/e2e", zk.connect_string());
    let (master, master_url) = if spark4 {
        (None, None)
    } else {
        let (master, url) = spark3_master(spark, dir.path(), say);
        (Some(master), Some(url))
    };
    let conf = executor_conf(dir.path());
    say(
        "starting the launcher: a Marathon stand-in that runs each task as spark-init (PID 1 of \
         its own namespace) with Marathon's task environment"
            .into(),
    );
    let launcher = Launcher::start(vec![
        (
            "SPARK_HOME".into(),
            pyspark_home(spark).display().to_string(),
        ),
        ("SPARK_INIT_LOG".into(), "info".into()),
    ]);
    let stage = Stage {
        spark: spark.to_string(),
        spark4,
        launcher,
        client: reqwest::blocking::Client::new(),
        control,
        store,
        _keep: (zk, master, dir),
    };
    post_apps(&stage, &jar, &conf, master_url.as_deref(), say);
    stage
}

/// Spark 3's cluster manager stand-in, started here: a standalone master with no workers.
fn spark3_master(spark: &str, dir: &Path, say: &mut dyn FnMut(String)) -> (Killed, String) {
    say(
        "starting a Spark standalone master with no workers: the cluster manager stand-in; \
         like the constrained Mesos framework, the driver gets only executors that attach on \
         their own"
            .into(),
    );
    let (master, port) = start_master(spark, dir);
    (master, format!("spark://127.0.0.1:{port}"))
}

/// The executors' image configuration: an option only `spark.executor.extraJavaOptions` sets.
fn executor_conf(dir: &Path) -> PathBuf {
    let conf = dir.join("executor-conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        conf.join("spark-defaults.conf"),
        "spark.executor.extraJavaOptions -Dspark_init.marker=from-extraJavaOptions\n",
    )
    .unwrap();
    conf
}

/// The example apps, pointed at the local stand-ins; on Spark 4 the master app first.
fn post_apps(
    stage: &Stage,
    jar: &Path,
    conf: &Path,
    master_url: Option<&str>,
    say: &mut dyn FnMut(String),
) {
    let url = stage.launcher.url();
    if stage.spark4 {
        let mut master = example("master.json");
        master["id"] = json!("/e2e/master");
        master["mem"] = json!(768);
        master["env"] = json!({
            "SPARK_INIT_ROLE": "master",
            "SPARK_INIT_FRAMEWORK_STORE": stage.store,
            "SPARK_DAEMON_MEMORY": "256m",
            "SPARK_INIT_GRACE_SECONDS": "20"
        });
        say(format!(
            "POST {url}/v2/apps: the master app (images/marathon/master.json): spark-init \
             --role master runs a Spark {} standalone master with no workers",
            stage.spark
        ));
        post(&stage.client, &stage.launcher, &master);
    }
    let driver = driver_app(stage, jar, master_url);
    let mut executors = example(if stage.spark4 {
        "executors-spark4.json"
    } else {
        "executors.json"
    });
    executors["id"] = json!("/e2e/executors");
    executors["instances"] = json!(2);
    executors["cpus"] = json!(1);
    executors["mem"] = json!(1024);
    executors["env"] = json!({
        "SPARK_INIT_ROLE": "executor",
        "SPARK_INIT_MARATHON_URL": url,
        "SPARK_INIT_DRIVER_APP": "/e2e/driver",
        "SPARK_INIT_FRAMEWORK_STORE": stage.store,
        "SPARK_INIT_RESOLVE_TIMEOUT": "300",
        "SPARK_CONF_DIR": conf.display().to_string(),
        "SPARK_EXTRA_CLASSPATH": jar.display().to_string(),
        "SPARK_INIT_GRACE_SECONDS": "20"
    });
    executors["taskKillGracePeriodSeconds"] = json!(25);
    let (driver_json, executors_json) = if stage.spark4 {
        ("driver-spark4.json", "executors-spark4.json")
    } else {
        ("driver.json", "executors.json")
    };
    say(format!(
        "POST {url}/v2/apps: the driver app (images/marathon/{driver_json}) and 2 executors \
         ({executors_json}); the executors find the driver through the launcher's API and wait \
         for it while Spark starts"
    ));
    post(&stage.client, &stage.launcher, &driver);
    post(&stage.client, &stage.launcher, &executors);
}

/// The driver app: on Spark 3 with the master in its args, on Spark 4 finding it through
/// Marathon.
fn driver_app(stage: &Stage, jar: &Path, master_url: Option<&str>) -> Value {
    let mut driver = example(if stage.spark4 {
        "driver-spark4.json"
    } else {
        "driver.json"
    });
    driver["id"] = json!("/e2e/driver");
    driver["mem"] = json!(1536);
    let mut args = Vec::new();
    if let Some(master) = master_url {
        args.extend(["--master".to_string(), master.to_string()]);
    }
    args.extend(["--driver-memory", "768m", "--class", "E2EDriver"].map(String::from));
    args.push(jar.display().to_string());
    args.push(stage.control.display().to_string());
    driver["args"] = json!(args);
    driver["env"] = json!({
        "SPARK_INIT_ROLE": "driver",
        "SPARK_INIT_FRAMEWORK_STORE": stage.store,
        "SPARK_INIT_GRACE_SECONDS": "20"
    });
    if stage.spark4 {
        driver["env"]["SPARK_INIT_MARATHON_URL"] = json!(stage.launcher.url());
        driver["env"]["SPARK_INIT_MASTER_APP"] = json!("/e2e/master");
        driver["env"]["SPARK_INIT_RESOLVE_TIMEOUT"] = json!("300");
    }
    driver["taskKillGracePeriodSeconds"] = json!(25);
    driver
}

/// Step 1: two executors find the driver, attach, and run tasks with the JVM options.
fn attach(stage: &Stage, say: &mut dyn FnMut(String)) -> BTreeSet<i64> {
    let first = run_job(&stage.control, 1, 2);
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
    ids1
}

/// Step 2: scaled to three, the third has a new, distinct numeric ID.
fn scale(stage: &Stage, ids1: &BTreeSet<i64>, say: &mut dyn FnMut(String)) -> BTreeSet<i64> {
    say("PUT instances=3 on the executors app".into());
    let scaled = stage
        .client
        .put(format!("{}/v2/apps/e2e/executors", stage.launcher.url()))
        .json(&json!({"instances": 3}))
        .send()
        .unwrap();
    assert_eq!(scaled.status().as_u16(), 200);
    let ids2 = executor_ids(&run_job(&stage.control, 2, 3));
    assert_eq!(ids2.len(), 3);
    assert!(ids1.is_subset(&ids2));
    say(format!("job 2 ran on executors {ids2:?}"));
    ids2
}

/// The running driver's application ID, from the file E2EDriver writes at start.
fn current_app_id(control: &Path) -> (PathBuf, String) {
    let file = poll("the driver's application ID", SLOW, || {
        fs::read_dir(control)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("app-"))
    });
    let id = fs::read_to_string(file.path()).unwrap().trim().to_string();
    (file.path(), id)
}

/// Step 3: SIGKILL the driver's JVM; the launcher relaunches it. Spark 3: spark-init passes
/// the stored ID. Spark 4: a new application, stored in its turn; the executors come back.
fn driver_relaunched(
    stage: &Stage,
    say: &mut dyn FnMut(String),
) -> (String, String, BTreeSet<i64>) {
    let (file, app_id) = current_app_id(&stage.control);
    let zk_store = Store::new(parse_url(&stage.store).unwrap(), Duration::from_secs(10));
    let stored =
        |id: &str| zk_store.read().ok().flatten().map(|s| s.framework_id) == Some(id.into());
    poll("the driver's ID to be stored", SLOW, || {
        stored(&app_id).then_some(())
    });
    say(format!(
        "the driver's application ID {app_id} is in ZooKeeper; now SIGKILL the driver's JVM"
    ));
    let launcher = &stage.launcher;
    let (_, driver_init) = launcher.init_pids("/e2e/driver")[0].clone();
    let jvm = poll("the driver's JVM", SLOW, || java_child(driver_init));
    fs::remove_file(file).unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(jvm, libc::SIGKILL) };
    let new_jvm = poll("the relaunched driver's JVM", SLOW, || {
        let (_, init) = launcher.init_pids("/e2e/driver").into_iter().next()?;
        (init != driver_init).then_some(())?;
        java_child(init)
    });
    let cmdline = fs::read(format!("/proc/{new_jvm}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let (_, new_id) = current_app_id(&stage.control);
    if stage.spark4 {
        assert!(!cmdline.contains("spark.mesos."), "{cmdline}");
        assert_ne!(
            new_id, app_id,
            "Spark 4: a relaunched driver is a new application"
        );
        poll("the new application's ID to be stored", SLOW, || {
            stored(&new_id).then_some(())
        });
        say(format!(
            "the launcher relaunched the driver: a new application {new_id}, stored in \
             ZooKeeper for the executors (the old ID was cleared before the launch)"
        ));
    } else {
        let passed = format!("spark.mesos.driver.frameworkId={app_id}");
        assert!(cmdline.contains(&passed), "{cmdline}");
        say(format!(
            "the launcher relaunched the driver; spark-init passed {passed}"
        ));
    }
    let ids3 = executor_ids(&run_job(&stage.control, 3, 3));
    assert_eq!(ids3.len(), 3);
    say(format!(
        "the old executors exited, came back and attached to the new driver: job 3 on {ids3:?}"
    ));
    (app_id, new_id, ids3)
}

/// Step 4: SIGKILL one executor: it comes back with a new ID.
fn executor_replaced(
    stage: &Stage,
    ids3: BTreeSet<i64>,
    say: &mut dyn FnMut(String),
) -> BTreeSet<i64> {
    say("SIGKILL one executor".into());
    let launcher = &stage.launcher;
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
            let ids = executor_ids(&run_job(&stage.control, k, 3));
            (ids.len() == 3).then_some(ids)
        },
    );
    assert!(!ids4.is_subset(&ids3), "{ids3:?} {ids4:?}");
    say(format!(
        "replaced under a new ID: job on {ids4:?}, no \"Duplicate executor ID\""
    ));
    assert!(!launcher.logs().contains("Duplicate executor ID"));
    ids4
}

/// Step 5: stop everything with SIGTERM: every spark-init exits within its grace with the JVM's
/// code for a SIGTERM stop, and nothing of the apps is left.
fn stop_all(stage: &Stage, say: &mut dyn FnMut(String)) -> Vec<Option<i32>> {
    let launcher = &stage.launcher;
    let apps = stage.apps();
    let before: Vec<usize> = apps.iter().map(|a| launcher.exited(a).len()).collect();
    let running: Vec<usize> = apps.iter().map(|a| launcher.init_pids(a).len()).collect();
    let driver_ports: Vec<u16> = stage
        .client
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
    say(format!(
        "DELETE the apps ({}): SIGTERM to every spark-init",
        apps.join(", ")
    ));
    for app in &apps {
        let gone = stage
            .client
            .delete(format!("{}/v2/apps{app}", launcher.url()))
            .send()
            .unwrap();
        assert_eq!(gone.status().as_u16(), 200);
    }
    let last = poll("every instance to stop", SLOW, || {
        let mut codes = Vec::new();
        for (i, app) in apps.iter().enumerate() {
            let exited = launcher.exited(app);
            (exited.len() >= before[i] + running[i]).then_some(())?;
            codes.extend(exited[before[i]..].iter().map(|(_, code)| *code));
        }
        Some(codes)
    });
    assert!(last.iter().all(|c| *c == Some(143)), "{last:?}");
    for port in driver_ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still listens"
        );
    }
    nothing_left(launcher);
    say(format!(
        "every spark-init exited with {}; nothing left",
        exit_codes(&last)
    ));
    last
}

/// No process is left in the tasks' sandboxes.
fn nothing_left(launcher: &Launcher) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18: the summary showed `[Some(143), Some(143)]` and `{1, 2}`.
    #[test]
    fn the_summary_reads_as_an_operator_writes_it() {
        let codes = [Some(143), Some(137), Some(130), Some(0), Some(1), None];
        assert_eq!(
            exit_codes(&codes),
            "143 (SIGTERM), 137 (SIGKILL), 130 (SIGINT), 0, 1, killed"
        );
        assert_eq!(id_list(&BTreeSet::from([2, 1])), "1, 2");
    }
}
