//! A Marathon-compatible stand-in that really runs apps: the REST subset spark-init and the
//! tests use (`POST/GET/PUT/DELETE /v2/apps[/{id}]`, `GET /v2/apps/{id}/tasks`, `GET /v2/info`,
//! `GET /v2/leader`), answering with the shapes of the fixture JSON, and every instance the
//! built spark-init binary (the image's ENTRYPOINT, `spark-init -- <args>`) in a PID namespace
//! of its own, with the environment Marathon gives a task (docs/task-environment-vars.md).
//!
//! Like Marathon it relaunches an instance whose process exits (a new task ID), scales on
//! `PUT {"instances": n}`, kills with SIGTERM, then SIGKILL after
//! `taskKillGracePeriodSeconds`, and kills a task that fails its TCP health check
//! `maxConsecutiveFailures` times in a row. Unlike Marathon, a test can hold an app's launches
//! back ([`Launcher::hold_launches`]), as a slow image pull or a busy cluster would.
//!
//! Started with a [`Containerizer`] ([`Launcher::start_with`]), it runs apps with
//! `container.type: DOCKER` as Marathon's Docker containerizer does: each task `docker run` of
//! the app's image with `--cpus`/`--memory`, on the host's network or at an address of its own
//! on a user-defined bridge network, stopped with `docker stop -t <grace>` (README "Images").

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{children_of, comm, free_port, spark_init_bin};

/// One running (or stopping) instance.
struct Instance {
    task_id: String,
    /// `unshare`, whose child is spark-init as PID 1; for a container, the attached `docker
    /// run`, which exits with the container's code.
    child: Child,
    ports: Vec<u16>,
    /// The task's `host` and `ipAddresses`: 127.0.0.1, or its own on a container network.
    address: String,
    /// The container's name (Marathon's Docker containerizer), else `None`.
    container: Option<String>,
    /// `docker stop -t <grace>` once a container's kill was asked for.
    stopper: Option<Child>,
    started_at: String,
    /// Set once a kill was asked for: SIGKILL follows after the grace period.
    killing: Option<Instant>,
    /// Marathon's health bookkeeping of the task's first TCP health check.
    health: HealthTrack,
}

/// What Marathon keeps to kill an unhealthy task: failures count only after the task passed
/// once or its `gracePeriodSeconds` ran out, checked every `intervalSeconds`, and
/// `maxConsecutiveFailures` in a row kill it (`docker stop` for a container), to be relaunched.
struct HealthTrack {
    started: Instant,
    passed_once: bool,
    failures: u64,
    last: Option<Instant>,
}

struct App {
    definition: Value,
    version: String,
    instances: Vec<Instance>,
    /// Task IDs of instances that exited, with their exit status (for the tests).
    exited: Vec<(String, Option<i32>)>,
    launches: u64,
}

/// Whether a held launch may go now.
pub type Gate = Box<dyn Fn() -> bool + Send>;

#[derive(Default)]
struct State {
    apps: BTreeMap<String, App>,
    /// Per app, the gate of its n-th launch (counting from 0); launches past the list go freely.
    gates: BTreeMap<String, Vec<Gate>>,
    /// Extra environment for every task (e.g. `SPARK_HOME` of the test's Spark).
    base_env: Vec<(String, String)>,
    /// Where the tasks' sandboxes and logs go (removed with the launcher).
    work: std::path::PathBuf,
    containerizer: Option<Containerizer>,
    stopping: bool,
}

/// Marathon's Docker containerizer (apps with `container.type: DOCKER`): every container is
/// named `<prefix>-<app>-<launch>` and labelled `label`; `network` is the user-defined bridge
/// network of apps with `networks: [{"mode":"container","name":...}]`.
#[derive(Clone)]
pub struct Containerizer {
    pub prefix: String,
    pub label: String,
    pub network: Option<crate::docker::Network>,
}

pub struct Launcher {
    host: String,
    pub port: u16,
    work: tempfile::TempDir,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn now_iso() -> String {
    // Seconds since the epoch are enough for ordering; Marathon's format is ISO-8601.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

fn uuid() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut bytes);
    }
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `/spark/orders/driver` → `spark_orders_driver` (Marathon's `PathId.safePath`).
fn safe_path(id: &str) -> String {
    id.trim_matches('/').replace('/', "_")
}

/// Marathon writes resources with Java's `Double.toString`: `1.0`, `2048.0`, `0.5`.
fn java_double(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

impl Launcher {
    /// Starts the launcher on a free loopback port; `base_env` goes to every task.
    pub fn start(base_env: Vec<(String, String)>) -> Self {
        Self::start_with(base_env, None)
    }

    /// With Marathon's Docker containerizer for `container.type: DOCKER` apps; with a network,
    /// the launcher listens on its gateway, where the tasks on it (and on the host's network)
    /// reach it.
    pub fn start_with(
        base_env: Vec<(String, String)>,
        containerizer: Option<Containerizer>,
    ) -> Self {
        let host = containerizer
            .as_ref()
            .and_then(|c| c.network.as_ref())
            .map_or("127.0.0.1".to_string(), |n| n.gateway());
        let server = Arc::new(tiny_http::Server::http(format!("{host}:0")).expect("bind"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let work = tempfile::tempdir().expect("launcher folder");
        // Containers' users write their sandboxes below it.
        let _ = std::fs::set_permissions(
            work.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        );
        let state = Arc::new(Mutex::new(State {
            base_env,
            work: work.path().to_path_buf(),
            containerizer,
            ..State::default()
        }));
        let mut threads = Vec::new();
        let (srv, st) = (server.clone(), state.clone());
        threads.push(std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                handle(request, &st);
            }
        }));
        let st = state.clone();
        threads.push(std::thread::spawn(move || reconcile_loop(&st)));
        Launcher {
            host,
            port,
            work,
            state,
            server,
            threads,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// The names of an app's running containers, by task ID.
    pub fn containers(&self, app: &str) -> Vec<(String, String)> {
        let st = self.state.lock().unwrap();
        st.apps
            .get(app)
            .map(|a| {
                a.instances
                    .iter()
                    .filter_map(|i| Some((i.task_id.clone(), i.container.clone()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// spark-init's pids (outer namespace) of an app's running instances, by task ID.
    /// For a container, its PID 1 as `docker inspect` gives it (the container's process seen
    /// from the host).
    pub fn init_pids(&self, app: &str) -> Vec<(String, i32)> {
        let containers = self.containers(app);
        if !containers.is_empty() {
            return containers
                .into_iter()
                .filter_map(|(task, name)| {
                    let out = crate::docker::docker(&["inspect", "-f", "{{.State.Pid}}", &name]);
                    let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
                    (pid > 0 && comm(pid).as_deref() == Some("spark-init")).then_some((task, pid))
                })
                .collect();
        }
        let st = self.state.lock().unwrap();
        st.apps
            .get(app)
            .map(|a| {
                a.instances
                    .iter()
                    .filter_map(|i| {
                        let init = children_of(i.child.id() as i32)
                            .into_iter()
                            .find(|&p| comm(p).as_deref() == Some("spark-init"))?;
                        Some((i.task_id.clone(), init))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Holds the launches of `app` (posted now or later): its n-th launch (counting from 0,
    /// relaunches included) waits until `gates[n]` says yes; later ones go at once.
    pub fn hold_launches(&self, app: &str, gates: Vec<Gate>) {
        let mut st = self.state.lock().unwrap();
        st.gates.insert(app.to_string(), gates);
    }

    /// The folder holding the tasks' sandboxes (`sandbox-<task>`) and logs (`<task>.log`).
    pub fn work_dir(&self) -> &std::path::Path {
        self.work.path()
    }

    /// Every task's stderr so far, concatenated.
    pub fn logs(&self) -> String {
        std::fs::read_dir(self.work.path())
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Task IDs that exited, with their exit codes.
    pub fn exited(&self, app: &str) -> Vec<(String, Option<i32>)> {
        let st = self.state.lock().unwrap();
        st.apps
            .get(app)
            .map(|a| a.exited.clone())
            .unwrap_or_default()
    }
}

impl Launcher {
    /// When a test fails with tasks running: the end of every task's log, so that a failure
    /// seen once (in CI, say) can be read afterwards rather than guessed at.
    fn tell_task_logs(&self) {
        let Ok(entries) = std::fs::read_dir(self.work.path()) else {
            return;
        };
        let mut logs: Vec<std::path::PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!(
                "---- launcher: the last {} lines of {}",
                tail.len(),
                log.display()
            );
            for line in tail {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.tell_task_logs();
        }
        {
            let mut st = self.state.lock().unwrap();
            st.stopping = true;
            for app in st.apps.values_mut() {
                for i in &mut app.instances {
                    if let Some(name) = &i.container {
                        let _ = crate::docker::docker(&["rm", "-f", name]);
                    }
                    kill_instance(&mut i.child);
                    let _ = i.child.wait();
                }
            }
        }
        self.server.unblock();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Where and how a task runs: its address (the task's `host` and `ipAddresses`, and `HOST`)
/// and ports, and for a container its name and network.
struct Placement {
    address: String,
    ports: Vec<u16>,
    container: Option<(String, Option<String>)>,
}

/// Decides where a new task of `def` runs. Marathon's Docker containerizer for apps with
/// `container.type: DOCKER` (when the launcher has one): host networking (`networks:
/// [{"mode":"host"}]`, the older `container.docker.network: "HOST"`, and Marathon's default)
/// takes free loopback ports like a process; a container network (`{"mode":"container",
/// "name":...}`) gives the task its own address on the launcher's network, where it is its own
/// host, and its ports are the `container.portMappings`' `containerPort`s (the
/// `portDefinitions`' count, from 31000, when 0 or absent).
fn place(def: &Value, containerizer: Option<&Containerizer>, name: String) -> Placement {
    let docker = def["container"]["type"].as_str() == Some("DOCKER");
    let network = def["networks"][0].clone();
    let on_network = docker && network["mode"].as_str() == Some("container");
    assert!(
        on_network || host_network(def),
        "the launcher runs apps on the host's network, and Docker apps on its own container network"
    );
    let port_count = def["portDefinitions"].as_array().map_or(0, Vec::len);
    match containerizer.filter(|_| docker) {
        Some(c) if on_network => {
            let net = c
                .network
                .as_ref()
                .expect("a launcher network for container networking");
            let wanted = network["name"].as_str().unwrap_or_default();
            assert_eq!(wanted, net.name, "the app's network is not the launcher's");
            let mappings = def["container"]["portMappings"].as_array().cloned();
            let ports = (0..mappings.as_ref().map_or(port_count, Vec::len))
                .map(|i| {
                    let given = mappings
                        .as_ref()
                        .and_then(|m| m[i]["containerPort"].as_u64());
                    given.filter(|&p| p != 0).unwrap_or(31000 + i as u64) as u16
                })
                .collect();
            Placement {
                address: net.address(),
                ports,
                container: Some((name, Some(net.name.clone()))),
            }
        }
        found => Placement {
            address: "127.0.0.1".into(),
            ports: (0..port_count).map(|_| free_port()).collect(),
            container: found.map(|_| (name, None)),
        },
    }
}

/// The environment Marathon gives a task (docs/task-environment-vars.md), the app's `env` on
/// top. `MARATHON_APP_RESOURCE_*` are left out when the app asks the stand-in so
/// (`"x-launcher": {"omitResourceEnv": true}`, as Marathon before 1.5 did), to test what
/// spark-init reads from the cgroup instead.
fn task_env(app_id: &str, app: &App, task_id: &str, at: &Placement) -> Vec<(String, String)> {
    let def = &app.definition;
    let mut env = vec![
        ("MESOS_TASK_ID".to_string(), task_id.to_string()),
        ("MARATHON_APP_ID".into(), app_id.into()),
        ("MARATHON_APP_VERSION".into(), app.version.clone()),
        ("HOST".into(), at.address.clone()),
    ];
    if def["x-launcher"]["omitResourceEnv"].as_bool() != Some(true) {
        for (key, name) in [
            ("cpus", "CPUS"),
            ("mem", "MEM"),
            ("disk", "DISK"),
            ("gpus", "GPUS"),
        ] {
            let v = def[key].as_f64().unwrap_or(0.0);
            let text = if key == "gpus" {
                format!("{}", v as i64)
            } else {
                java_double(v)
            };
            env.push((format!("MARATHON_APP_RESOURCE_{name}"), text));
        }
    }
    if let Some(labels) = def["labels"].as_object() {
        let names: Vec<String> = labels
            .keys()
            .map(|k| {
                k.to_uppercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            })
            .collect();
        env.push(("MARATHON_APP_LABELS".into(), names.join(" ")));
        for ((_, v), name) in labels.iter().zip(&names) {
            env.push((
                format!("MARATHON_APP_LABEL_{name}"),
                v.as_str().unwrap_or("").into(),
            ));
        }
    }
    let names = port_names(def);
    for (i, port) in at.ports.iter().enumerate() {
        env.push((format!("PORT{i}"), port.to_string()));
        if let Some(Some(name)) = names.get(i) {
            // Marathon upper-cases the name and keeps dashes.
            env.push((format!("PORT_{}", name.to_uppercase()), port.to_string()));
        }
    }
    if let Some(first) = at.ports.first() {
        env.push(("PORT".into(), first.to_string()));
    }
    let ports: Vec<String> = at.ports.iter().map(|p| p.to_string()).collect();
    env.push(("PORTS".into(), ports.join(",")));
    // The app's env goes on top of Marathon's (string values; secrets are not resolved here).
    if let Some(user) = def["env"].as_object() {
        for (k, v) in user {
            if let Some(v) = v.as_str() {
                env.push((k.clone(), v.into()));
            }
        }
    }
    env
}

/// The ports' names: `container.portMappings`' on a container network, else `portDefinitions`'.
fn port_names(def: &Value) -> Vec<Option<String>> {
    let mappings = def["container"]["portMappings"].as_array();
    let on_network = def["networks"][0]["mode"].as_str() == Some("container");
    let defs = match mappings {
        Some(m) if on_network => m.clone(),
        _ => def["portDefinitions"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    };
    defs.iter()
        .map(|d| d["name"].as_str().map(String::from))
        .collect()
}

fn launch(app_id: &str, app: &mut App, st: &State) {
    app.launches += 1;
    let task_id = format!("{}.instance-{}._app.1", safe_path(app_id), uuid());
    let name = st
        .containerizer
        .as_ref()
        .map(|c| format!("{}-{}-{}", c.prefix, safe_path(app_id), app.launches))
        .unwrap_or_default();
    let at = place(&app.definition, st.containerizer.as_ref(), name);
    let mut env: Vec<(String, String)> = st.base_env.clone();
    env.extend(task_env(app_id, app, &task_id, &at));
    let args: Vec<String> = app.definition["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    // Each task runs in a sandbox folder of its own, as Mesos gives it one: Spark executors
    // download the application's jars into their working directory.
    let sandbox = st.work.join(format!("sandbox-{task_id}"));
    let _ = std::fs::create_dir_all(&sandbox);
    let log = st.work.join(format!("{task_id}.log"));
    let stderr = std::fs::File::create(&log)
        .map(Stdio::from)
        .unwrap_or(Stdio::null());
    let mut command = match (&at.container, &st.containerizer) {
        (Some((name, network)), Some(c)) => docker_run(
            &app.definition,
            c,
            name,
            network.as_deref(),
            &at,
            &sandbox,
            env,
        ),
        _ => {
            let mut command = Command::new("unshare");
            command
                .args(["--pid", "--fork", "--mount-proc"])
                .arg(spark_init_bin())
                .arg("--")
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .envs(env)
                .current_dir(&sandbox);
            command
        }
    };
    let child = command
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn();
    match child {
        Ok(child) => app.instances.push(Instance {
            task_id,
            child,
            ports: at.ports,
            address: at.address,
            container: at.container.map(|(name, _)| name),
            stopper: None,
            started_at: now_iso(),
            killing: None,
            health: HealthTrack {
                started: Instant::now(),
                passed_once: false,
                failures: 0,
                last: None,
            },
        }),
        Err(e) => eprintln!("launcher: cannot start {app_id}: {e}"),
    }
}

/// `docker run` of the app's image as Mesos' Docker containerizer runs it: attached (the CLI
/// exits with the container's code), `cpus` → `--cpus`, `mem` → `--memory` (MiB, no swap
/// beyond it), the app's labels, its `container.volumes`, the sandbox at `/mnt/mesos/sandbox`
/// (`MESOS_SANDBOX`), the task's environment (passed by name, the values in the CLI's own
/// environment, so none shows in `ps`), and the launcher's label and name prefix.
fn docker_run(
    def: &Value,
    c: &Containerizer,
    name: &str,
    network: Option<&str>,
    at: &Placement,
    sandbox: &std::path::Path,
    mut env: Vec<(String, String)>,
) -> Command {
    let image = def["container"]["docker"]["image"]
        .as_str()
        .unwrap_or_default();
    let mem = def["mem"].as_f64().unwrap_or(128.0) as u64;
    let mut command = Command::new("docker");
    command.args(["run", "--rm", "--name", name, "--label", &c.label]);
    command.arg(format!("--cpus={}", def["cpus"].as_f64().unwrap_or(1.0)));
    command
        .arg(format!("--memory={mem}m"))
        .arg(format!("--memory-swap={mem}m"));
    match network {
        Some(net) => command.args(["--network", net, "--ip", &at.address]),
        None => command.args(["--network", "host"]),
    };
    if let Some(labels) = def["labels"].as_object() {
        for (k, v) in labels {
            command
                .arg("--label")
                .arg(format!("{k}={}", v.as_str().unwrap_or("")));
        }
    }
    for v in def["container"]["volumes"].as_array().into_iter().flatten() {
        let mode = if v["mode"].as_str() == Some("RW") {
            "rw"
        } else {
            "ro"
        };
        let (host, inside) = (v["hostPath"].as_str(), v["containerPath"].as_str());
        if let (Some(host), Some(inside)) = (host, inside) {
            command.arg("-v").arg(format!("{host}:{inside}:{mode}"));
        }
    }
    command
        .arg("-v")
        .arg(format!("{}:/mnt/mesos/sandbox", sandbox.display()));
    // The sandbox is written by the task's user too (spark, 185).
    let _ = std::fs::set_permissions(sandbox, std::os::unix::fs::PermissionsExt::from_mode(0o777));
    env.push(("MESOS_SANDBOX".into(), "/mnt/mesos/sandbox".into()));
    // The CLI's own settings stay (the engine it talks to); the task's are passed by name.
    command.env_clear();
    for name in [
        "PATH",
        "HOME",
        "DOCKER_HOST",
        "DOCKER_CONFIG",
        "DOCKER_CONTEXT",
    ] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    for (k, v) in env {
        command.arg("-e").arg(&k);
        command.env(k, v);
    }
    command.arg(image);
    command
}

/// SIGKILL to an instance: its spark-init (PID 1 of its namespace, so the kernel kills
/// everything in it) and `unshare`. spark-init is looked up first: once `unshare` is gone it
/// is no longer its child, and would be left running with the whole task (a leak found by the
/// receiver-barrier test, whose tasks are never stopped politely).
fn kill_instance(child: &mut Child) {
    for pid in children_of(child.id() as i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = child.kill();
}

/// Whether an app is on the host's network: `networks: [{"mode": "host"}]` (Marathon 1.5+),
/// the older `container.docker.network: "HOST"` that Marathon still migrates, or neither
/// (Marathon's default is host).
pub fn host_network(def: &Value) -> bool {
    match def["networks"].as_array() {
        Some(networks) => networks.iter().all(|n| n["mode"] == "host"),
        None => matches!(
            def["container"]["docker"]["network"].as_str(),
            None | Some("HOST")
        ),
    }
}

fn kill_grace(def: &Value) -> Duration {
    Duration::from_secs_f64(def["taskKillGracePeriodSeconds"].as_f64().unwrap_or(3.0))
}

/// SIGTERM to the instance's spark-init (PID 1 of its namespace), as Mesos does; for a
/// container `docker stop -t <grace>` (SIGTERM, SIGKILL after the grace), as Mesos' Docker
/// executor does.
fn start_kill(instance: &mut Instance, grace: Duration) {
    if instance.killing.is_some() {
        return;
    }
    if let Some(name) = &instance.container {
        let seconds = grace.as_secs().to_string();
        instance.stopper = Command::new("docker")
            .args(["stop", "-t", &seconds, name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        instance.killing = Some(Instant::now());
    } else {
        for pid in children_of(instance.child.id() as i32) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        instance.killing = Some(Instant::now());
    }
}

/// Keeps every app at its instance count: reaps exits (relaunching), finishes kills.
fn reconcile_loop(state: &Mutex<State>) {
    loop {
        {
            let mut st = state.lock().unwrap();
            if st.stopping {
                return;
            }
            let mut apps = std::mem::take(&mut st.apps);
            for (id, app) in apps.iter_mut() {
                let grace = kill_grace(&app.definition);
                let mut gone = Vec::new();
                for (n, i) in app.instances.iter_mut().enumerate() {
                    if let Some(stopper) = &mut i.stopper {
                        let _ = stopper.try_wait();
                    }
                    if let Ok(Some(status)) = i.child.try_wait() {
                        gone.push((n, status.code()));
                    } else if i.container.is_none()
                        && i.killing.is_some_and(|t| t.elapsed() >= grace)
                    {
                        kill_instance(&mut i.child);
                    }
                }
                for (n, code) in gone.into_iter().rev() {
                    let i = app.instances.remove(n);
                    app.exited.push((i.task_id, code));
                }
                for i in app.instances.iter_mut() {
                    if i.killing.is_none() && unhealthy(&app.definition, i) {
                        eprintln!("launcher: killing the unhealthy task {}", i.task_id);
                        start_kill(i, grace);
                    }
                }
                let wanted = app.definition["instances"].as_u64().unwrap_or(1) as usize;
                let live = app.instances.iter().filter(|i| i.killing.is_none()).count();
                if live < wanted {
                    for _ in live..wanted {
                        let gate = st.gates.get(id).and_then(|g| g.get(app.launches as usize));
                        if gate.is_some_and(|open| !open()) {
                            break;
                        }
                        launch(id, app, &st);
                    }
                } else if live > wanted {
                    // Marathon kills the youngest first by default (killSelection YOUNGEST_FIRST).
                    let mut extra = live - wanted;
                    for i in app.instances.iter_mut().rev() {
                        if extra == 0 {
                            break;
                        }
                        if i.killing.is_none() {
                            start_kill(i, grace);
                            extra -= 1;
                        }
                    }
                }
            }
            st.apps = apps;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the task's first TCP health check, run now if its interval has passed, has failed
/// `maxConsecutiveFailures` times in a row (Marathon's defaults: 300 s grace, 60 s interval, 3).
fn unhealthy(def: &Value, i: &mut Instance) -> bool {
    let Some(check) = def["healthChecks"]
        .as_array()
        .and_then(|c| c.first())
        .filter(|c| matches!(c["protocol"].as_str(), Some("TCP" | "MESOS_TCP")))
    else {
        return false;
    };
    let seconds =
        |key: &str, default: f64| Duration::from_secs_f64(check[key].as_f64().unwrap_or(default));
    let h = &mut i.health;
    if h.last
        .is_some_and(|t| t.elapsed() < seconds("intervalSeconds", 60.0))
    {
        return false;
    }
    h.last = Some(Instant::now());
    let index = check["portIndex"].as_u64().unwrap_or(0) as usize;
    if tcp_alive(&i.address, i.ports.get(index).copied()) {
        h.passed_once = true;
        h.failures = 0;
    } else if h.passed_once || h.started.elapsed() >= seconds("gracePeriodSeconds", 300.0) {
        h.failures += 1;
    }
    h.failures >= check["maxConsecutiveFailures"].as_u64().unwrap_or(3).max(1)
}

/// A TCP connection to the task's port succeeds (within 200 ms).
fn tcp_alive(address: &str, port: Option<u16>) -> bool {
    let (Ok(ip), Some(port)) = (address.parse::<std::net::IpAddr>(), port) else {
        return false;
    };
    let addr = std::net::SocketAddr::from((ip, port));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Marathon's health check results for a task: TCP checks (`TCP`, `MESOS_TCP`) connect to the
/// task's port at `portIndex`; other protocols are reported alive.
fn health(def: &Value, i: &Instance) -> Option<Value> {
    let checks = def["healthChecks"].as_array().filter(|c| !c.is_empty())?;
    let results: Vec<Value> = checks
        .iter()
        .map(|check| {
            let tcp = matches!(check["protocol"].as_str(), Some("TCP" | "MESOS_TCP"));
            let index = check["portIndex"].as_u64().unwrap_or(0) as usize;
            let alive = !tcp || tcp_alive(&i.address, i.ports.get(index).copied());
            json!({
                "alive": alive,
                "consecutiveFailures": if alive { 0 } else { 1 },
                "firstSuccess": if alive { json!(i.started_at) } else { Value::Null },
                "lastFailure": Value::Null,
                "lastSuccess": if alive { json!(now_iso()) } else { Value::Null },
                "taskId": i.task_id
            })
        })
        .collect();
    Some(json!(results))
}

fn task_json(app_id: &str, def: &Value, i: &Instance, version: &str) -> Value {
    let running = i.killing.is_none();
    let mut task = json!({
        "appId": app_id,
        "host": i.address,
        "id": i.task_id,
        "ports": i.ports,
        "slaveId": "launcher-agent",
        "stagedAt": i.started_at,
        "startedAt": i.started_at,
        "version": version,
        "state": if running { "TASK_RUNNING" } else { "TASK_KILLING" },
        "ipAddresses": [{ "ipAddress": i.address, "protocol": "IPv4" }],
        "region": "local",
        "zone": "a",
        "role": "*"
    });
    if let Some(results) = health(def, i) {
        task["healthCheckResults"] = results;
    }
    task
}

fn app_json(id: &str, app: &App) -> Value {
    let mut def = app.definition.clone();
    if let Some(o) = def.as_object_mut() {
        o.remove("__deleted");
    }
    def["id"] = json!(id);
    def["version"] = json!(app.version);
    def["tasksRunning"] = json!(app.instances.iter().filter(|i| i.killing.is_none()).count());
    def["tasksStaged"] = json!(0);
    def["tasksHealthy"] = json!(0);
    def["tasksUnhealthy"] = json!(0);
    def["deployments"] = json!([]);
    def
}

fn deleted(app: &App) -> bool {
    app.definition["__deleted"].as_bool() == Some(true)
}

fn error(status: u16, message: String) -> (u16, Value) {
    (status, json!({ "message": message }))
}

fn handle(mut request: tiny_http::Request, state: &Mutex<State>) {
    let url = request.url().to_string();
    let path = url.split('?').next().unwrap_or("").to_string();
    let method = request.method().as_str().to_string();
    let mut body = String::new();
    let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
    let (status, value) = route(&method, &path, &body, state);
    let mut response = tiny_http::Response::from_string(value.to_string()).with_status_code(status);
    response.add_header(
        tiny_http::Header::from_bytes("Content-Type", "application/json").expect("header"),
    );
    let _ = request.respond(response);
}

fn normalize(id: &str) -> String {
    format!(
        "/{}",
        id.split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/")
    )
}

fn route(method: &str, path: &str, body: &str, state: &Mutex<State>) -> (u16, Value) {
    let mut st = state.lock().unwrap();
    match (method, path) {
        ("GET", "/v2/info") => (
            200,
            json!({"name": "marathon", "version": "1.10.0-launcher", "leader": "127.0.0.1", "elected": true,
                   "frameworkId": "launcher-0000", "marathon_config": {}, "zookeeper_config": {}, "http_config": {}}),
        ),
        ("GET", "/v2/leader") => (200, json!({"leader": "127.0.0.1"})),
        ("GET", "/v2/apps") => (
            200,
            json!({"apps": st.apps.iter().filter(|(_, a)| !deleted(a)).map(|(id, a)| app_json(id, a)).collect::<Vec<_>>()}),
        ),
        ("POST", "/v2/apps") => {
            let Ok(def) = serde_json::from_str::<Value>(body) else {
                return error(400, "Invalid JSON".into());
            };
            let Some(id) = def["id"].as_str().map(normalize) else {
                return error(422, "Object is not valid: /id missing".into());
            };
            if st.apps.get(&id).is_some_and(|a| !deleted(a)) {
                return error(409, format!("An app with id [{id}] already exists."));
            }
            let app = App {
                definition: def,
                version: now_iso(),
                instances: Vec::new(),
                exited: Vec::new(),
                launches: 0,
            };
            let answer = app_json(&id, &app);
            st.apps.insert(id, app);
            (201, answer)
        }
        _ => {
            let Some(rest) = path.strip_prefix("/v2/apps/") else {
                // Marathon's answer for a path it does not serve, since 1.6.486
                // (MarathonExceptionMapper: NotFoundException → 500 "URI not found").
                return error(500, "URI not found".into());
            };
            let (id, tasks) = match rest.strip_suffix("/tasks") {
                Some(id) => (normalize(id), true),
                None => (normalize(rest), false),
            };
            let Some(app) = st.apps.get_mut(&id).filter(|a| !deleted(a)) else {
                return error(404, format!("App '{id}' does not exist"));
            };
            match (method, tasks) {
                ("GET", true) => (
                    200,
                    json!({"tasks": app.instances.iter().map(|i| task_json(&id, &app.definition, i, &app.version)).collect::<Vec<_>>()}),
                ),
                ("GET", false) => (200, json!({ "app": app_json(&id, app) })),
                ("PUT", false) => {
                    let Ok(update) = serde_json::from_str::<Value>(body) else {
                        return error(400, "Invalid JSON".into());
                    };
                    let mut restart = false;
                    if let Some(fields) = update.as_object() {
                        for (k, v) in fields {
                            if k != "instances" && k != "id" {
                                restart = true;
                            }
                            app.definition[k] = v.clone();
                        }
                    }
                    app.version = now_iso();
                    if restart {
                        // A changed definition replaces every instance, as a deployment does.
                        let grace = kill_grace(&app.definition);
                        for i in &mut app.instances {
                            start_kill(i, grace);
                        }
                    }
                    (200, json!({"deploymentId": uuid(), "version": app.version}))
                }
                ("DELETE", false) => {
                    app.definition["instances"] = json!(0);
                    app.definition["__deleted"] = json!(true);
                    let grace = kill_grace(&app.definition);
                    for i in &mut app.instances {
                        start_kill(i, grace);
                    }
                    (200, json!({"deploymentId": uuid(), "version": now_iso()}))
                }
                _ => error(405, format!("{method} {path} is not supported")),
            }
        }
    }
}
