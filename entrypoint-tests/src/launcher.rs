//! A Marathon-compatible stand-in that really runs apps: the REST subset spark-init and the
//! tests use (`POST/GET/PUT/DELETE /v2/apps[/{id}]`, `GET /v2/apps/{id}/tasks`, `GET /v2/info`,
//! `GET /v2/leader`), answering with the shapes of the fixture JSON, and every instance the
//! built spark-init binary (the image's ENTRYPOINT, `spark-init -- <args>`) in a PID namespace
//! of its own, with the environment Marathon gives a task (docs/task-environment-vars.md).
//!
//! Like Marathon it relaunches an instance whose process exits (a new task ID), scales on
//! `PUT {"instances": n}`, and kills with SIGTERM, then SIGKILL after
//! `taskKillGracePeriodSeconds`. Unlike Marathon, a test can hold an app's launches back
//! ([`Launcher::hold_launches`]), as a slow image pull or a busy cluster would.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{children_of, comm, free_port, spark_init_bin};

/// One running (or stopping) instance.
struct Instance {
    task_id: String,
    /// `unshare`, whose child is spark-init as PID 1.
    child: Child,
    ports: Vec<u16>,
    started_at: String,
    /// Set once a kill was asked for: SIGKILL follows after the grace period.
    killing: Option<Instant>,
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
    stopping: bool,
}

pub struct Launcher {
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
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let work = tempfile::tempdir().expect("launcher folder");
        let state = Arc::new(Mutex::new(State {
            base_env,
            work: work.path().to_path_buf(),
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
            port,
            work,
            state,
            server,
            threads,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// spark-init's pids (outer namespace) of an app's running instances, by task ID.
    pub fn init_pids(&self, app: &str) -> Vec<(String, i32)> {
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

impl Drop for Launcher {
    fn drop(&mut self) {
        {
            let mut st = self.state.lock().unwrap();
            st.stopping = true;
            for app in st.apps.values_mut() {
                for i in &mut app.instances {
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

/// Whether an app is on the host's network, the only one the launcher gives its instances:
/// `networks: [{"mode": "host"}]` (Marathon 1.5+), the older `container.docker.network: "HOST"`
/// that Marathon still migrates, or neither (Marathon's default is host).
pub fn host_network(def: &Value) -> bool {
    match def["networks"].as_array() {
        Some(networks) => networks.iter().all(|n| n["mode"] == "host"),
        None => matches!(
            def["container"]["docker"]["network"].as_str(),
            None | Some("HOST")
        ),
    }
}

fn launch(app_id: &str, app: &mut App, base_env: &[(String, String)], work: &std::path::Path) {
    let def = &app.definition;
    assert!(
        host_network(def),
        "{app_id}: the launcher runs host-network apps only"
    );
    app.launches += 1;
    let task_id = format!("{}.instance-{}._app.1", safe_path(app_id), uuid());
    let defs = def["portDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ports: Vec<u16> = defs.iter().map(|_| free_port()).collect();
    let mut env: Vec<(String, String)> = base_env.to_vec();
    env.push(("MESOS_TASK_ID".into(), task_id.clone()));
    env.push(("MARATHON_APP_ID".into(), app_id.into()));
    env.push(("MARATHON_APP_VERSION".into(), app.version.clone()));
    env.push(("HOST".into(), "127.0.0.1".into()));
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
    for (i, port) in ports.iter().enumerate() {
        env.push((format!("PORT{i}"), port.to_string()));
        if let Some(name) = defs[i]["name"].as_str() {
            // Marathon upper-cases the name and keeps dashes.
            env.push((format!("PORT_{}", name.to_uppercase()), port.to_string()));
        }
    }
    if let Some(first) = ports.first() {
        env.push(("PORT".into(), first.to_string()));
    }
    env.push((
        "PORTS".into(),
        ports
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(","),
    ));
    // The app's env goes on top of Marathon's (string values; secrets are not resolved here).
    if let Some(user) = def["env"].as_object() {
        for (k, v) in user {
            if let Some(v) = v.as_str() {
                env.push((k.clone(), v.into()));
            }
        }
    }
    let args: Vec<String> = def["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    // Each task runs in a sandbox folder of its own, as Mesos gives it one: Spark executors
    // download the application's jars into their working directory.
    let sandbox = work.join(format!("sandbox-{task_id}"));
    let _ = std::fs::create_dir_all(&sandbox);
    let log = work.join(format!("{task_id}.log"));
    let stderr = std::fs::File::create(&log)
        .map(Stdio::from)
        .unwrap_or(Stdio::null());
    let child = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(spark_init_bin())
        .arg("--")
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env)
        .current_dir(&sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn();
    match child {
        Ok(child) => app.instances.push(Instance {
            task_id,
            child,
            ports,
            started_at: now_iso(),
            killing: None,
        }),
        Err(e) => eprintln!("launcher: cannot start {app_id}: {e}"),
    }
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

fn kill_grace(def: &Value) -> Duration {
    Duration::from_secs_f64(def["taskKillGracePeriodSeconds"].as_f64().unwrap_or(3.0))
}

/// SIGTERM to the instance's spark-init (PID 1 of its namespace), as Mesos does.
fn start_kill(instance: &mut Instance) {
    if instance.killing.is_none() {
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
            let base_env = st.base_env.clone();
            let work = st.work.clone();
            let State { apps, gates, .. } = &mut *st;
            for (id, app) in apps.iter_mut() {
                let grace = kill_grace(&app.definition);
                let mut gone = Vec::new();
                for (n, i) in app.instances.iter_mut().enumerate() {
                    if let Ok(Some(status)) = i.child.try_wait() {
                        gone.push((n, status.code()));
                    } else if i.killing.is_some_and(|t| t.elapsed() >= grace) {
                        kill_instance(&mut i.child);
                    }
                }
                for (n, code) in gone.into_iter().rev() {
                    let i = app.instances.remove(n);
                    app.exited.push((i.task_id, code));
                }
                let wanted = app.definition["instances"].as_u64().unwrap_or(1) as usize;
                let live = app.instances.iter().filter(|i| i.killing.is_none()).count();
                if live < wanted {
                    for _ in live..wanted {
                        let gate = gates.get(id).and_then(|g| g.get(app.launches as usize));
                        if gate.is_some_and(|open| !open()) {
                            break;
                        }
                        launch(id, app, &base_env, &work);
                    }
                } else if live > wanted {
                    // Marathon kills the youngest first by default (killSelection YOUNGEST_FIRST).
                    let mut extra = live - wanted;
                    for i in app.instances.iter_mut().rev() {
                        if extra == 0 {
                            break;
                        }
                        if i.killing.is_none() {
                            start_kill(i);
                            extra -= 1;
                        }
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
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
            let alive = !tcp
                || i.ports.get(index).is_some_and(|&port| {
                    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                });
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
        "host": "127.0.0.1",
        "id": i.task_id,
        "ports": i.ports,
        "slaveId": "launcher-agent",
        "stagedAt": i.started_at,
        "startedAt": i.started_at,
        "version": version,
        "state": if running { "TASK_RUNNING" } else { "TASK_KILLING" },
        "ipAddresses": [{ "ipAddress": "127.0.0.1", "protocol": "IPv4" }],
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
                        for i in &mut app.instances {
                            start_kill(i);
                        }
                    }
                    (200, json!({"deploymentId": uuid(), "version": app.version}))
                }
                ("DELETE", false) => {
                    app.definition["instances"] = json!(0);
                    app.definition["__deleted"] = json!(true);
                    for i in &mut app.instances {
                        start_kill(i);
                    }
                    (200, json!({"deploymentId": uuid(), "version": now_iso()}))
                }
                _ => error(405, format!("{method} {path} is not supported")),
            }
        }
    }
}
