//! Test doubles for Marathon, the Mesos master and the driver's REST API. Their answers are
//! built from the JSON copied from those projects (`fixtures/api/`, see its README): the
//! fixture objects are loaded and only the fields a scenario needs are changed, so every other
//! field keeps the shape the real service writes. Faults are scripted per path.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::workspace_root;

fn fixture(rel: &str) -> Value {
    let path: PathBuf = workspace_root()
        .join("entrypoint-tests/fixtures/api")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Json(u16, Value),
    /// A body as it is (invalid JSON, an HTML error page). tiny_http sends a body of 32 KiB
    /// or more chunked, without a `Content-Length`.
    Raw(u16, String),
    /// Bytes as they are, not UTF-8 perhaps.
    Bytes(u16, Vec<u8>),
    /// A redirect to `location` (e.g. `//127.0.0.1:5051/master/frameworks`).
    Redirect(u16, String),
    /// Answer after a pause (a slow service).
    Slow(Duration, Box<Reply>),
}

/// A driver task as a scenario describes it.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub id: String,
    pub host: String,
    pub ports: Vec<u16>,
    pub state: String,
    pub started_at: String,
    /// `Some(results)` puts `healthCheckResults` on the task.
    pub health: Option<Vec<bool>>,
    pub ip: Option<String>,
    /// The task shows up only this long after the server started.
    pub appears_after: Duration,
}

impl TaskSpec {
    pub fn running(id: &str, ports: &[u16]) -> Self {
        Self {
            id: id.into(),
            host: "127.0.0.1".into(),
            ports: ports.to_vec(),
            state: "TASK_RUNNING".into(),
            started_at: "2026-11-25T10:00:00.000Z".into(),
            health: None,
            ip: None,
            appears_after: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AppSpec {
    pub port_names: Vec<String>,
    pub health_checks: bool,
    pub tasks: Vec<TaskSpec>,
    /// `env` on top of the fixture app's (which has plain values and a secret reference).
    pub env: serde_json::Map<String, Value>,
    /// `instances`, when changed by a PUT.
    pub instances: Option<u64>,
    /// `cpus`, instead of the fixture app's.
    pub cpus: Option<f64>,
}

#[derive(Default)]
struct State {
    apps: HashMap<String, AppSpec>,
    frameworks: Vec<(String, String, String, &'static str)>,
    spark_apps: Vec<(String, bool)>,
    scripted: HashMap<String, VecDeque<Reply>>,
    /// Every path asked for, with its Authorization header.
    requests: Vec<(String, Option<String>)>,
    user_agents: Vec<String>,
    required_auth: Option<String>,
    /// Redirect everything here (a non-leading master or Marathon).
    redirect_all: Option<String>,
}

/// A fake service on a free loopback port, answering in a thread of the test.
pub struct FakeServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Default for FakeServer {
    fn default() -> Self {
        Self::start()
    }
}

impl FakeServer {
    pub fn start() -> Self {
        Self::serve(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"))
    }

    /// Over HTTPS with this certificate chain and key (PEM).
    pub fn start_tls(certificate: &str, private_key: &str) -> Self {
        let ssl = tiny_http::SslConfig {
            certificate: certificate.as_bytes().to_vec(),
            private_key: private_key.as_bytes().to_vec(),
        };
        Self::serve(tiny_http::Server::https("127.0.0.1:0", ssl).expect("bind a loopback port"))
    }

    fn serve(server: tiny_http::Server) -> Self {
        let server = Arc::new(server);
        let port = server.server_addr().to_ip().expect("ip").port();
        let state = Arc::new(Mutex::new(State::default()));
        let started = Instant::now();
        let (srv, st) = (server.clone(), state.clone());
        let thread = std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                let st = st.clone();
                // One thread a request, so a slow answer does not hold up the others.
                std::thread::spawn(move || serve(request, &st, started));
            }
        });
        Self {
            port,
            state,
            server,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn app(&self, id: &str, spec: AppSpec) -> &Self {
        self.state.lock().unwrap().apps.insert(id.into(), spec);
        self
    }

    /// A Mesos framework: (id, name, hostname, "active" | "inactive" | "completed").
    pub fn framework(&self, id: &str, name: &str, host: &str, status: &'static str) -> &Self {
        self.state
            .lock()
            .unwrap()
            .frameworks
            .push((id.into(), name.into(), host.into(), status));
        self
    }

    /// An application the driver's REST API lists: (id, still running).
    pub fn spark_app(&self, id: &str, running: bool) -> &Self {
        self.state
            .lock()
            .unwrap()
            .spark_apps
            .push((id.into(), running));
        self
    }

    /// Answers `path` with these replies first, in order, before its normal answer.
    pub fn script(&self, path: &str, replies: Vec<Reply>) -> &Self {
        self.state
            .lock()
            .unwrap()
            .scripted
            .entry(path.into())
            .or_default()
            .extend(replies);
        self
    }

    pub fn require_auth(&self, header: &str) -> &Self {
        self.state.lock().unwrap().required_auth = Some(header.into());
        self
    }

    pub fn redirect_all_to(&self, base: &str) -> &Self {
        self.state.lock().unwrap().redirect_all = Some(base.into());
        self
    }

    pub fn user_agents(&self) -> Vec<String> {
        self.state.lock().unwrap().user_agents.clone()
    }

    /// The app as a scenario sees it now (after PUTs).
    pub fn app_spec(&self, id: &str) -> Option<AppSpec> {
        self.state.lock().unwrap().apps.get(id).cloned()
    }

    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut request: tiny_http::Request, state: &Mutex<State>, started: Instant) {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let method = request.method().as_str().to_string();
    let mut body = String::new();
    let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
    let auth = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.to_string());
    let reply = {
        let mut st = state.lock().unwrap();
        st.requests.push((path.clone(), auth.clone()));
        if let Some(agent) = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("User-Agent"))
        {
            st.user_agents.push(agent.value.to_string());
        }
        if let Some(base) = &st.redirect_all {
            Reply::Redirect(307, format!("{base}{path}"))
        } else if let Some(reply) = st
            .scripted
            .get_mut(&format!("{method} {path}"))
            .and_then(VecDeque::pop_front)
            .or_else(|| st.scripted.get_mut(&path).and_then(VecDeque::pop_front))
        {
            reply
        } else if st.required_auth.is_some() && st.required_auth != auth {
            Reply::Json(401, fixture("marathon/v2-error-401-unauthorized.json"))
        } else if method == "PUT" {
            update(&mut st, &path, &body)
        } else {
            answer(&st, &path, started.elapsed())
        }
    };
    respond(request, reply);
}

fn respond(request: tiny_http::Request, reply: Reply) {
    let (status, body, location) = match reply {
        Reply::Json(status, value) => (status, value.to_string().into_bytes(), None),
        Reply::Raw(status, body) => (status, body.into_bytes(), None),
        Reply::Bytes(status, body) => (status, body, None),
        Reply::Redirect(status, location) => (status, Vec::new(), Some(location)),
        Reply::Slow(pause, inner) => {
            std::thread::sleep(pause);
            return respond(request, *inner);
        }
    };
    let mut response = tiny_http::Response::from_data(body).with_status_code(status);
    response.add_header(
        tiny_http::Header::from_bytes("Content-Type", "application/json").expect("header"),
    );
    if let Some(location) = location {
        response.add_header(tiny_http::Header::from_bytes("Location", location).expect("header"));
    }
    let _ = request.respond(response);
}

/// A server that answers every connection with the same bytes, as they are, and closes it:
/// for what tiny_http will not send, such as a body shorter than its `Content-Length`. Its
/// thread waits for connections until the test ends.
pub struct RawServer {
    pub port: u16,
    connections: Arc<Mutex<usize>>,
}

impl RawServer {
    pub fn start(answer: Vec<u8>) -> Self {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("address").port();
        let connections = Arc::new(Mutex::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                *counted.lock().unwrap() += 1;
                let mut reader = BufReader::new(stream);
                // The request's head, to its empty line (the lookups send no body).
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = reader.get_mut().write_all(&answer);
            }
        });
        Self { port, connections }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// The normal answers of Marathon (`/v2/apps/{id}`, `/v2/apps/{id}/tasks`, `/v2/info`,
/// `/v2/leader`), Mesos (`/master/frameworks`) and the driver (`/api/v1/applications`).
fn answer(st: &State, path: &str, uptime: Duration) -> Reply {
    if path == "/v2/info" {
        return Reply::Json(200, fixture("marathon/v2-info.json"));
    }
    if path == "/v2/leader" {
        return Reply::Json(200, fixture("marathon/v2-leader.json"));
    }
    if path == "/master/frameworks" {
        return Reply::Json(200, frameworks_json(st));
    }
    if path == "/api/v1/applications" {
        return Reply::Json(200, spark_apps_json(st));
    }
    if let Some(rest) = path.strip_prefix("/v2/apps/") {
        // Marathon's PathId drops empty segments: /v2/apps//a/b is app /a/b.
        let (rest, tasks) = match rest.strip_suffix("/tasks") {
            Some(id) => (id, true),
            None => (rest, false),
        };
        let id = format!(
            "/{}",
            rest.split('/')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("/")
        );
        let Some(spec) = st.apps.get(&id) else {
            let mut err = fixture("marathon/v2-error-404-app-not-found.json");
            err["message"] = json!(format!("App '{id}' does not exist"));
            return Reply::Json(404, err);
        };
        return if tasks {
            Reply::Json(200, tasks_json(&id, spec, uptime))
        } else {
            Reply::Json(200, json!({ "app": app_json(&id, spec) }))
        };
    }
    Reply::Raw(404, format!("no route {path}"))
}

/// `PUT /v2/apps/{id}`: applies `env` (replacing the whole object, as Marathon does) and
/// `instances`, and answers like Marathon (v2-deployments_result.json).
fn update(st: &mut State, path: &str, body: &str) -> Reply {
    let id = app_id_of(path.strip_prefix("/v2/apps/").unwrap_or(""));
    let Ok(update) = serde_json::from_str::<Value>(body) else {
        return Reply::Json(400, fixture("marathon/v2-error-400-invalid-json.json"));
    };
    let Some(spec) = st.apps.get_mut(&id) else {
        return Reply::Json(404, fixture("marathon/v2-error-404-app-not-found.json"));
    };
    if let Some(env) = update.get("env").and_then(Value::as_object) {
        spec.env = env.clone();
        spec.env.insert("__replaced".into(), json!(true));
    }
    if let Some(n) = update.get("instances").and_then(Value::as_u64) {
        spec.instances = Some(n);
    }
    Reply::Json(200, fixture("marathon/v2-deployments_result.json"))
}

/// Marathon's PathId drops empty segments: `a//b/` is `/a/b`.
fn app_id_of(rest: &str) -> String {
    format!(
        "/{}",
        rest.split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/")
    )
}

/// The fixture app (v2-app.json) with this id, these port names and health checks.
pub fn app_json(id: &str, spec: &AppSpec) -> Value {
    let mut app = fixture("marathon/v2-app.json");
    app["id"] = json!(id);
    app["instances"] = json!(1);
    // `tty` is an Option in Marathon's AppDefinition, written only when an app sets it; the
    // example sets it, a Spark app does not (and the Python client predates the field).
    if let Some(fields) = app.as_object_mut() {
        fields.remove("tty");
    }
    // Host networking with named port definitions, as the examples in images/marathon use.
    if let Some(container) = app.get_mut("container") {
        container["docker"]["network"] = json!("HOST");
        container["docker"]["portMappings"] = json!([]);
    }
    app["portDefinitions"] = json!(spec
        .port_names
        .iter()
        .map(|n| json!({ "port": 0, "protocol": "tcp", "name": n, "labels": {} }))
        .collect::<Vec<_>>());
    if !spec.health_checks {
        app["healthChecks"] = json!([]);
    }
    if spec.env.get("__replaced").is_some() {
        let mut env = spec.env.clone();
        env.remove("__replaced");
        app["env"] = Value::Object(env);
    } else {
        for (k, v) in &spec.env {
            app["env"][k] = v.clone();
        }
    }
    if let Some(n) = spec.instances {
        app["instances"] = json!(n);
    }
    if let Some(cpus) = spec.cpus {
        app["cpus"] = json!(cpus);
    }
    app
}

/// Tasks shaped like the fixture task (v2-app_tasks.json).
pub fn tasks_json(id: &str, spec: &AppSpec, uptime: Duration) -> Value {
    let template = fixture("marathon/v2-app_tasks.json")["tasks"][0].clone();
    let tasks: Vec<Value> = spec
        .tasks
        .iter()
        .filter(|t| uptime >= t.appears_after)
        .map(|t| {
            let mut task = template.clone();
            task["appId"] = json!(id);
            task["id"] = json!(t.id);
            task["host"] = json!(t.host);
            task["ports"] = json!(t.ports);
            task["state"] = json!(t.state);
            task["startedAt"] = json!(t.started_at);
            if let Some(results) = &t.health {
                task["healthCheckResults"] = json!(results
                    .iter()
                    .map(|alive| json!({
                        "alive": alive,
                        "consecutiveFailures": if *alive { 0 } else { 3 },
                        "firstSuccess": "2026-11-25T10:00:05.000Z",
                        "lastFailure": null,
                        "lastSuccess": "2026-11-25T10:00:15.000Z",
                        "taskId": t.id
                    }))
                    .collect::<Vec<_>>());
            }
            if let Some(ip) = &t.ip {
                task["ipAddresses"] = json!([{ "ipAddress": ip, "protocol": "IPv4" }]);
            }
            task
        })
        .collect();
    json!({ "tasks": tasks })
}

/// `/master/frameworks` built from the Mesos 1.2 fixture's framework object.
fn frameworks_json(st: &State) -> Value {
    let template = fixture("mesos/master-state-1.2-dcos-metrics.json")["frameworks"][0].clone();
    let make = |(id, name, host, status): &(String, String, String, &str)| {
        let mut f = template.clone();
        f["id"] = json!(id);
        f["name"] = json!(name);
        f["hostname"] = json!(host);
        f["active"] = json!(*status == "active");
        f["connected"] = json!(*status == "active");
        f
    };
    json!({
        "frameworks": st.frameworks.iter().filter(|f| f.3 != "completed").map(make).collect::<Vec<_>>(),
        "completed_frameworks": st.frameworks.iter().filter(|f| f.3 == "completed").map(make).collect::<Vec<_>>(),
        "unregistered_frameworks": []
    })
}

/// The driver's `/api/v1/applications` (Spark's ApplicationInfo / ApplicationAttemptInfo).
fn spark_apps_json(st: &State) -> Value {
    json!(st
        .spark_apps
        .iter()
        .map(|(id, running)| json!({
            "id": id,
            "name": "orders",
            "attempts": [{
                "startTime": "2026-11-25T10:00:00.000GMT",
                "endTime": if *running { "1969-12-31T23:59:59.999GMT" } else { "2026-11-25T11:00:00.000GMT" },
                "lastUpdated": "2026-11-25T10:00:00.000GMT",
                "duration": 0,
                "sparkUser": "root",
                "completed": !running,
                "appSparkVersion": "3.5.7",
                "startTimeEpoch": 1_795_600_000_000_u64,
                "endTimeEpoch": -1,
                "lastUpdatedEpoch": 1_795_600_000_000_u64
            }]
        }))
        .collect::<Vec<_>>())
}
