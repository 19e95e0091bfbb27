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
//!
//! The same story runs in real containers ([`run_in_containers`], `make demo-containers`): the
//! launcher's Docker containerizer runs every task as `docker run` of the image `make image`
//! built (`spark-init:<version>`) on a user-defined bridge network where each task has its own
//! address, with `--cpus`/`--memory` from the app; ZooKeeper (and Spark 3's master) are
//! containers on that network. The executors get no `MARATHON_APP_RESOURCE_*` there: spark-init
//! sizes them from the container's real cgroup. At the end every container and the network are
//! gone.

use std::collections::BTreeSet;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::docker::{docker_ok, Network, Scope, ZooKeeperContainer};
use crate::launcher::{Containerizer, Launcher};
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

/// The command line of the relaunched driver's own JVM (SparkSubmit), once spark-init
/// `driver_init` was replaced: not spark-submit's launcher JVM, which may be the java child for
/// a moment and then be gone, its command line read empty (a CI failure).
fn relaunched_driver_cmdline(launcher: &Launcher, driver_init: i32) -> String {
    poll("the relaunched driver's JVM", SLOW, || {
        let (_, init) = launcher.init_pids("/e2e/driver").into_iter().next()?;
        (init != driver_init).then_some(())?;
        let jvm = java_child(init)?;
        let cmdline = fs::read(format!("/proc/{jvm}/cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        cmdline.contains("SparkSubmit").then_some(cmdline)
    })
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
    /// In containers: the executor's `--cores` and heap (`-Xmx`) spark-init derived from the
    /// container's cgroup (`--cpus 1.5 --memory 2048m`, no `MARATHON_APP_RESOURCE_*`).
    pub cgroup_sized: Option<(String, String)>,
}

/// Where the tasks run: processes under `unshare` on loopback, or containers on a network.
struct Containers {
    network: Network,
    zookeeper: ZooKeeperContainer,
    /// Every container and the network: removed when dropped, pass or fail.
    scope: Scope,
}

/// Everything the story's steps share.
struct Stage {
    spark: String,
    spark4: bool,
    launcher: Launcher,
    client: reqwest::blocking::Client,
    control: PathBuf,
    store: String,
    /// In containers, their network, ZooKeeper's container and the scope that removes them.
    containers: Option<Containers>,
    /// Keeps the local ZooKeeper, the Spark 3 master and the temporary folder alive.
    _keep: (Option<ZooKeeper>, Option<Killed>, tempfile::TempDir),
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
    run_on(spark, false, say)
}

/// The same story with every task a container (see the module's documentation); needs a
/// Docker engine and the image `spark-init:<spark>` (`crate::docker::ready` checks both).
pub fn run_in_containers(spark: &str, say: &mut dyn FnMut(String)) -> Summary {
    run_on(spark, true, say)
}

fn run_on(spark: &str, in_containers: bool, say: &mut dyn FnMut(String)) -> Summary {
    let mut summary = Summary::default();
    let stage = set_up(spark, in_containers, say);
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
    if stage.containers.is_some() {
        let sized = cgroup_sized(&stage, say);
        step(
            &mut summary,
            "cores and heap from the cgroup",
            format!("--cores {} -Xmx{}", sized.0, sized.1),
        );
        summary.cgroup_sized = Some(sized);
    }
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
    if let Some(c) = &stage.containers {
        let shown = oom_killed(&stage, say);
        step(&mut summary, "an executor OOM-killed by the kernel", shown);
        let ids = cut_off(&stage, c, &ids4, say);
        step(
            &mut summary,
            "ZooKeeper restarted, the driver cut off, all relaunched, job",
            id_list(&ids),
        );
    }
    let last = stop_all(&stage, say);
    step(&mut summary, "stop all with SIGTERM", exit_codes(&last));
    summary.driver_restarts = stage.launcher.exited("/e2e/driver").len() - 1;
    summary.executor_launches = stage.launcher.exited("/e2e/executors").len();
    summary.final_exit_codes = last;
    if let Some(containers) = &stage.containers {
        nothing_left_in_docker(containers, say);
    }
    summary
}

fn deployment(stage: &Stage) -> &'static str {
    if stage.containers.is_some() {
        if stage.spark4 {
            "Spark 4 in containers: master, driver and executors as Marathon apps, each a \
             container with its own address"
        } else {
            "Spark 3 in containers: driver and executors as Marathon apps, each a container with \
             its own address, a worker-less master container standing in for the constrained \
             Mesos framework"
        }
    } else if stage.spark4 {
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
fn set_up(spark: &str, in_containers: bool, say: &mut dyn FnMut(String)) -> Stage {
    let spark4 = spark.starts_with("4.");
    say(format!(
        "building the application jar (E2EDriver) against Spark {spark}'s jars"
    ));
    let built = application_jar(spark, "E2EDriver", "e2e-app");
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    fs::create_dir_all(&control).unwrap();
    let jar = dir.path().join(built.file_name().unwrap());
    fs::copy(&built, &jar).unwrap();
    let conf = executor_conf(dir.path());
    let (zk, containers, store_hosts) = if in_containers {
        // The folder is mounted into the containers, whose user (spark, 185) reads the jar and
        // the configuration and (the driver) writes the results.
        open_to_the_containers(dir.path(), &control);
        let containers = start_containers(say);
        let hosts = containers.zookeeper.connect_string();
        (None, Some(containers), hosts)
    } else {
        say("starting ZooKeeper (Debian's package) on a free loopback port".into());
        let zk = ZooKeeper::start();
        let hosts = zk.connect_string();
        (Some(zk), None, hosts)
    };
    let store = format!("zk://{store_hosts}/spark-init/e2e");
    let (master, master_url) = match (&containers, spark4) {
        (_, true) => (None, None),
        (Some(c), false) => (None, Some(spark3_master_container(spark, c, say))),
        (None, false) => {
            let (master, url) = spark3_master(spark, dir.path(), say);
            (Some(master), Some(url))
        }
    };
    let launcher = start_launcher(spark, containers.as_ref(), say);
    let stage = Stage {
        spark: spark.to_string(),
        spark4,
        launcher,
        client: reqwest::blocking::Client::new(),
        control,
        store,
        containers,
        _keep: (zk, master, dir),
    };
    post_apps(&stage, &jar, &conf, master_url.as_deref(), say);
    stage
}

fn open_to_the_containers(dir: &Path, control: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(control, fs::Permissions::from_mode(0o777)).unwrap();
}

/// The test's network (each container its own address) and ZooKeeper's container on it.
fn start_containers(say: &mut dyn FnMut(String)) -> Containers {
    let mut scope = Scope::new("e2e");
    let network = scope.network();
    say(format!(
        "created the bridge network {} (gateway {}: the launcher listens there); every \
         container and network of this story is named {}-* and removed at the end",
        network.name,
        network.gateway(),
        scope.prefix
    ));
    let zookeeper = ZooKeeperContainer::start(&scope, &network);
    say(format!(
        "ZooKeeper runs in its own container {} at {} (Debian's jars, Java 17 of \
         spark-init-os:bookworm)",
        zookeeper.name,
        zookeeper.connect_string()
    ));
    Containers {
        network,
        zookeeper,
        scope,
    }
}

/// Spark 3's worker-less master as a container of the image, on the network (spark-init as
/// PID 1 in front of a plain command).
fn spark3_master_container(spark: &str, c: &Containers, say: &mut dyn FnMut(String)) -> String {
    let address = c.network.address();
    let name = c.scope.name("spark-master");
    c.scope.run_detached(
        &name,
        &c.network,
        &address,
        &[
            "--memory=768m",
            "-e",
            "SPARK_DAEMON_MEMORY=256m",
            &crate::docker::image(spark),
            "/opt/spark/bin/spark-class",
            "org.apache.spark.deploy.master.Master",
            "--host",
            &address,
            "--port",
            "7077",
            "--webui-port",
            "8080",
        ],
    );
    poll("the Spark master's container to listen", SLOW, || {
        TcpStream::connect((address.as_str(), 7077)).ok()
    });
    say(format!(
        "a Spark standalone master with no workers runs in the container {name} at \
         spark://{address}:7077: the cluster manager stand-in"
    ));
    format!("spark://{address}:7077")
}

fn start_launcher(
    spark: &str,
    containers: Option<&Containers>,
    say: &mut dyn FnMut(String),
) -> Launcher {
    let log = ("SPARK_INIT_LOG".to_string(), "info".to_string());
    let Some(c) = containers else {
        say(
            "starting the launcher: a Marathon stand-in that runs each task as spark-init (PID 1 \
             of its own namespace) with Marathon's task environment"
                .into(),
        );
        let home = pyspark_home(spark).display().to_string();
        return Launcher::start(vec![("SPARK_HOME".into(), home), log]);
    };
    say(format!(
        "starting the launcher with Marathon's Docker containerizer: each task is `docker run` \
         of {} on {}, --cpus and --memory from the app, Marathon's task environment",
        crate::docker::image(spark),
        c.network.name
    ));
    Launcher::start_with(
        vec![log],
        Some(Containerizer {
            prefix: c.scope.prefix.clone(),
            label: c.scope.label(),
            network: Some(c.network.clone()),
        }),
    )
}

/// In containers: the app as a Docker app of the image on the test's network, the stage's
/// folder mounted at the same path, the `portDefinitions` as `container.portMappings`.
fn containerized(stage: &Stage, app: &mut Value, mounted: &Path) {
    let Some(c) = &stage.containers else {
        return;
    };
    let mappings: Vec<Value> = app["portDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| json!({"containerPort": 0, "protocol": "tcp", "name": d["name"]}))
        .collect();
    let folder = mounted.display().to_string();
    app["container"] = json!({
        "type": "DOCKER",
        "docker": {"image": crate::docker::image(&stage.spark), "forcePullImage": false},
        "portMappings": mappings,
        "volumes": [{"containerPath": folder, "hostPath": folder, "mode": "RW"}]
    });
    app["networks"] = json!([{"mode": "container", "name": c.network.name}]);
    if let Some(o) = app.as_object_mut() {
        o.remove("portDefinitions");
    }
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
    let mounted = stage.control.parent().unwrap();
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
        containerized(stage, &mut master, mounted);
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
    let mut driver = driver;
    containerized(stage, &mut driver, mounted);
    containerized(stage, &mut executors, mounted);
    if stage.containers.is_some() {
        // Sized by the container's cgroup alone (step 2).
        executors["cpus"] = json!(1.5);
        executors["mem"] = json!(2048);
        executors["x-launcher"] = json!({"omitResourceEnv": true});
    }
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
    if stage.containers.is_some() {
        // A driver cut off from the network sends no RST: its executors notice through
        // failed heartbeats (each waits one interval), 3 in a row, not Spark's default 60.
        // The other way round too: an executor whose container went may never be heard of
        // again, and the driver drops an executor that stopped heart-beating only after
        // spark.network.timeout (120 s), checked every spark.network.timeoutInterval (60 s),
        // so a job started meanwhile waits up to three minutes, the story's whole poll (a
        // Spark 4 run in CI timed out so in step 4, cause not proven): 30 s, checked every 5 s.
        args.extend(
            [
                "--conf",
                "spark.executor.heartbeatInterval=2s",
                "--conf",
                "spark.executor.heartbeat.maxFailures=3",
                "--conf",
                "spark.network.timeout=30s",
                "--conf",
                "spark.network.timeoutInterval=5s",
            ]
            .map(String::from),
        );
        driver["healthChecks"][0]["intervalSeconds"] = json!(2);
        driver["healthChecks"][0]["gracePeriodSeconds"] = json!(120);
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
    let cmdline = relaunched_driver_cmdline(launcher, driver_init);
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
    let driver_task = stage
        .client
        .get(format!("{}/v2/apps/e2e/driver/tasks", launcher.url()))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["tasks"][0]
        .clone();
    let driver_host = driver_task["host"].as_str().unwrap().to_string();
    let driver_ports: Vec<u16> = driver_task["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u16)
        .collect();
    let how = if stage.containers.is_some() {
        "`docker stop -t <taskKillGracePeriodSeconds>` of every container: SIGTERM to every \
         spark-init, SIGKILL after the grace"
    } else {
        "SIGTERM to every spark-init"
    };
    say(format!("DELETE the apps ({}): {how}", apps.join(", ")));
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
    // 143, not 137: each stopped within its grace (the SIGKILL after it would be 137). An
    // executor told to shut down by its stopping driver before its own SIGTERM came exits 0,
    // as cleanly (seen once in CI).
    assert!(
        last.iter().all(|c| matches!(c, Some(143) | Some(0))),
        "{last:?}"
    );
    for port in driver_ports {
        let addr = std::net::SocketAddr::new(driver_host.parse().unwrap(), port);
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
            "{addr} still listens"
        );
    }
    if stage.containers.is_none() {
        nothing_left(launcher);
    }
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

/// In containers, step 2: the executors got no `MARATHON_APP_RESOURCE_*`; spark-init sized
/// them from the real cgroup of `--cpus 1.5 --memory 2048m`: 1 core (1.5 rounded down, as
/// `MARATHON_APP_RESOURCE_CPUS` is) and a heap of 2048 − 384 MiB (Spark's minimum overhead,
/// more than 10 % of the heap) = 1664 MiB. Returns (`--cores`, `-Xmx`).
fn cgroup_sized(stage: &Stage, say: &mut dyn FnMut(String)) -> (String, String) {
    let (_, init) = stage.launcher.init_pids("/e2e/executors")[0].clone();
    let jvm = poll("an executor's JVM", SLOW, || java_child(init));
    let environ = fs::read(format!("/proc/{jvm}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(!environ.contains("MARATHON_APP_RESOURCE_"), "{environ}");
    let cmdline = fs::read(format!("/proc/{jvm}/cmdline")).unwrap();
    let argv: Vec<String> = String::from_utf8_lossy(&cmdline)
        .split('\0')
        .map(String::from)
        .collect();
    let after = |flag: &str| {
        let at = argv
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{argv:?}"));
        argv[at + 1].clone()
    };
    let cores = after("--cores");
    let heap = argv
        .iter()
        .find_map(|a| a.strip_prefix("-Xmx"))
        .unwrap_or_else(|| panic!("no -Xmx: {argv:?}"))
        .to_string();
    assert_eq!((cores.as_str(), heap.as_str()), ("1", "1664m"), "{argv:?}");
    // The JVM runs as spark (185): spark-init, root in the container, dropped to it.
    let uid = crate::status_field(jvm, "Uid").unwrap_or_default();
    assert!(uid.starts_with("185"), "the executor's JVM runs as {uid}");
    say(format!(
        "no MARATHON_APP_RESOURCE_* in the executors' containers (--cpus 1.5 --memory 2048m): \
         spark-init read the cgroup and started the JVM (uid 185) with --cores {cores} -Xmx{heap}"
    ));
    (cores, heap)
}

/// In containers, the end: the apps' containers are gone; then ZooKeeper's (and Spark 3's
/// master's) container and the network are removed, and nothing with the story's label is
/// left.
fn nothing_left_in_docker(c: &Containers, say: &mut dyn FnMut(String)) {
    let apps: Vec<String> = c
        .scope
        .left()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{}-e2e_", c.scope.prefix)))
        .collect();
    assert!(apps.is_empty(), "the apps' containers left: {apps:?}");
    c.scope.remove_all();
    let left = c.scope.left();
    assert!(left.is_empty(), "left after the story: {left:?}");
    say(format!(
        "no container or network named {}-* is left",
        c.scope.prefix
    ));
}

/// In containers: an executor given too little memory for what it runs (a 1 GiB heap, touched
/// at start, `-XX:+AlwaysPreTouch`, in a 640 MiB container) is OOM-killed by the kernel; its
/// exit line and termination summary (in the sandbox, `MESOS_SANDBOX`) say so with the
/// cgroup's figures. Returns what the summary shows: the code, the OOM kills and the limit.
fn oom_killed(stage: &Stage, say: &mut dyn FnMut(String)) -> String {
    let launcher = &stage.launcher;
    let mut app: Value = stage
        .client
        .get(format!("{}/v2/apps/e2e/executors", launcher.url()))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["app"]
        .clone();
    app["id"] = json!("/e2e/oom");
    app["instances"] = json!(1);
    app["mem"] = json!(640);
    app["x-launcher"] = json!({});
    app["env"]["SPARK_EXECUTOR_MEMORY"] = json!("1g");
    app["env"]["SPARK_INIT_JAVA_OPTS"] = json!("-XX:+AlwaysPreTouch");
    say(
        "POST an executor app with mem 640 (--memory 640m) and SPARK_EXECUTOR_MEMORY=1g, \
         -XX:+AlwaysPreTouch: its JVM touches a 1 GiB heap at start"
            .into(),
    );
    post(&stage.client, launcher, &app);
    let (task, code) = poll("the OOM executor to exit", SLOW, || {
        launcher.exited("/e2e/oom").first().cloned()
    });
    let deleted = stage
        .client
        .delete(format!("{}/v2/apps/e2e/oom", launcher.url()))
        .send()
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    assert_eq!(code, Some(137), "{task}");
    let log = fs::read_to_string(launcher.work_dir().join(format!("{task}.log"))).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("OOM killer"))
        .unwrap_or_else(|| panic!("no OOM line in the executor's log:\n{log}"))
        .to_string();
    assert!(line.contains("memory limit 640 MiB"), "{line}");
    let summary = launcher
        .work_dir()
        .join(format!("sandbox-{task}/spark-init-termination.json"));
    let summary: Value = serde_json::from_str(&fs::read_to_string(&summary).unwrap()).unwrap();
    assert!(summary["oom_kills"].as_u64() >= Some(1), "{summary}");
    assert_eq!(
        summary["memory_limit_bytes"],
        json!(640u64 << 20),
        "{summary}"
    );
    assert_eq!(summary["abnormal"], json!(true), "{summary}");
    poll("the OOM app's container to be gone", SLOW, || {
        launcher.containers("/e2e/oom").is_empty().then_some(())
    });
    say(format!(
        "the kernel OOM-killed its JVM; spark-init said: {line}"
    ));
    format!(
        "137; termination summary: oom_kills {}, memory_limit_bytes {}",
        summary["oom_kills"], summary["memory_limit_bytes"]
    )
}

/// In containers: ZooKeeper's container restarted (the store's data survives it), then the
/// driver's container cut off from the network (`docker network disconnect`): its executors'
/// heartbeats fail and they exit; the launcher's health check kills the driver and relaunches
/// it (on Spark 3 with the stored framework ID, read after ZooKeeper's restart); the relaunched
/// executors take new IDs from the store and attach to it. Returns the last job's executors.
fn cut_off(
    stage: &Stage,
    c: &Containers,
    before: &BTreeSet<i64>,
    say: &mut dyn FnMut(String),
) -> BTreeSet<i64> {
    let launcher = &stage.launcher;
    let (file, app_id) = current_app_id(&stage.control);
    say(format!(
        "docker restart of ZooKeeper's container {}",
        c.zookeeper.name
    ));
    c.zookeeper.restart();
    let zk_store = Store::new(parse_url(&stage.store).unwrap(), Duration::from_secs(10));
    let stored = poll("the store after ZooKeeper's restart", SLOW, || {
        zk_store.read().ok().flatten()
    });
    assert_eq!(
        stored.framework_id, app_id,
        "the stored framework ID survives"
    );
    if stage.spark4 {
        master_alive_after_restart(stage, say);
    }
    let executors_before = launcher.exited("/e2e/executors").len();
    let (_, driver) = launcher.containers("/e2e/driver")[0].clone();
    let (_, driver_init) = launcher.init_pids("/e2e/driver")[0].clone();
    fs::remove_file(file).unwrap();
    say(format!(
        "ZooKeeper answers again with {app_id} stored; now docker network disconnect {} {driver}",
        c.network.name
    ));
    docker_ok(&["network", "disconnect", "-f", &c.network.name, &driver]);
    let codes = poll("the cut-off driver's executors to exit", SLOW, || {
        let exited = launcher.exited("/e2e/executors");
        (exited.len() >= executors_before + 3).then(|| {
            exited[executors_before..]
                .iter()
                .map(|(_, code)| *code)
                .collect::<Vec<_>>()
        })
    });
    say(format!(
        "its executors noticed (heartbeats failed) and exited: {}",
        exit_codes(&codes)
    ));
    let cmdline = relaunched_driver_cmdline(launcher, driver_init);
    if !stage.spark4 {
        let passed = format!("spark.mesos.driver.frameworkId={app_id}");
        assert!(cmdline.contains(&passed), "{cmdline}");
    }
    let ids = executor_ids(&run_job(&stage.control, 100, 3));
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.is_disjoint(before), "{before:?} {ids:?}");
    say(format!(
        "the health check killed the cut-off driver, the launcher relaunched it, the executors \
         came back under new IDs and attached: job on {ids:?}"
    ));
    ids
}

/// Spark 4, after ZooKeeper's restart: the master, which takes its leadership from ZooKeeper
/// (`spark.deploy.recoveryMode=ZOOKEEPER`), may lose it and exit (Spark's `Master` on
/// `RevokedLeadership`), to be relaunched by the launcher and recover its state from
/// ZooKeeper. Waits until the app's running master says `ALIVE` on its web UI (`/json/`,
/// `JsonProtocol.writeMasterState`'s `status`), so that a driver started next registers with a
/// leader; says whether the master was relaunched.
fn master_alive_after_restart(stage: &Stage, say: &mut dyn FnMut(String)) {
    let launcher = &stage.launcher;
    let exits = launcher.exited("/e2e/master").len();
    let url = launcher.url();
    poll(
        "the master to be ALIVE after ZooKeeper's restart",
        SLOW,
        || {
            let tasks: Value = stage
                .client
                .get(format!("{url}/v2/apps/e2e/master/tasks"))
                .send()
                .ok()?
                .json()
                .ok()?;
            let task = tasks["tasks"]
                .as_array()?
                .iter()
                .find(|t| t["state"] == "TASK_RUNNING")?
                .clone();
            let state: Value = stage
                .client
                .get(format!(
                    "http://{}:{}/json/",
                    task["host"].as_str()?,
                    task["ports"][1]
                ))
                .timeout(Duration::from_secs(2))
                .send()
                .ok()?
                .json()
                .ok()?;
            (state["status"] == "ALIVE").then_some(())
        },
    );
    let relaunched = launcher.exited("/e2e/master").len() - exits;
    say(format!(
        "the master answers ALIVE after ZooKeeper's restart (master tasks that exited \
         meanwhile: {relaunched})"
    ));
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
