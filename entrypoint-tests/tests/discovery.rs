//! The executor finds its driver through (fake) Marathon, its application ID through the
//! driver's REST API or (fake) Mesos, waits sensibly, and fails clearly. The fakes answer with
//! the shapes of the real services (`entrypoint_tests::fake`); a plain TCP listener stands in
//! for the driver's RPC port. A real run starts the fixture's `java` stand-in, which exits 99:
//! exit 99 proves the command was started after resolving.

use std::net::TcpListener;
use std::time::Duration;

use entrypoint_tests::fake::{AppSpec, FakeServer, RawServer, Reply, TaskSpec};
use entrypoint_tests::{poll, status_field, Finished, Init, HANG};
use serde_json::Value;

const APP: &str = "/spark/orders/driver";

fn fixture(rel: &str) -> String {
    entrypoint_tests::fixture(rel).display().to_string()
}

/// A stand-in driver: its RPC port (a listener) and its UI serving the REST API.
struct Driver {
    rpc: TcpListener,
    ui: FakeServer,
}

impl Driver {
    fn start(app_id: &str) -> Self {
        let ui = FakeServer::start();
        ui.spark_app("app-20261125090000-0007", false)
            .spark_app(app_id, true);
        Driver {
            rpc: TcpListener::bind("127.0.0.1:0").unwrap(),
            ui,
        }
    }

    fn rpc_port(&self) -> u16 {
        self.rpc.local_addr().unwrap().port()
    }

    fn task(&self, id: &str) -> TaskSpec {
        TaskSpec::running(id, &[self.rpc_port(), 31001, self.ui.port])
    }
}

fn driver_app(tasks: Vec<TaskSpec>) -> AppSpec {
    AppSpec {
        port_names: vec!["driver".into(), "blockmanager".into(), "ui".into()],
        health_checks: false,
        tasks,
        ..Default::default()
    }
}

fn executor(marathon: &str) -> Init {
    Init::new(["--role", "executor"])
        .env("SPARK_HOME", fixture("spark/3.5.7"))
        .env("JAVA_HOME", fixture("java/17"))
        .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
        .env(
            "MESOS_TASK_ID",
            "spark_orders_executor.instance-6e7a5b2c-1f3d-11ef-9a4b-0242ac120002._app.1",
        )
        .env("MARATHON_APP_RESOURCE_CPUS", "1.0")
        .env("MARATHON_APP_RESOURCE_MEM", "2048.0")
        .env("HOST", "127.0.0.1")
        .env("PORT0", "31005")
        .env("SPARK_INIT_MARATHON_URL", marathon)
        .env("SPARK_INIT_DRIVER_APP", APP)
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "20")
        .env("SPARK_INIT_HTTP_TIMEOUT", "1")
        .env("SPARK_INIT_LOG", "info")
}

fn dry_run(init: Init) -> (Value, Finished) {
    let out = init
        .env("SPARK_INIT_DRY_RUN", "1")
        .env("SPARK_INIT_LOG", "warn")
        .arg("--output")
        .arg("json")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    (plan, out)
}

fn resolved<'a>(plan: &'a Value, key: &str) -> (&'a str, &'a str) {
    (
        plan["resolved"][key]["value"]
            .as_str()
            .unwrap_or("(not a string)"),
        plan["resolved"][key]["source"].as_str().unwrap_or(""),
    )
}

#[test]
fn finds_the_driver_and_the_application_id() {
    let driver = Driver::start("app-20261125100000-0042");
    let marathon = FakeServer::start();
    marathon.app(
        APP,
        driver_app(vec![driver.task("spark_orders_driver.instance-1._app.1")]),
    );
    let (plan, _) = dry_run(executor(&marathon.url()));
    let (url, source) = resolved(&plan, "driver_url");
    assert_eq!(
        url,
        format!(
            "spark://CoarseGrainedScheduler@127.0.0.1:{}",
            driver.rpc_port()
        )
    );
    assert!(
        source.contains("spark_orders_driver.instance-1._app.1"),
        "{source}"
    );
    assert!(source.contains("the port named driver"), "{source}");
    let (app_id, source) = resolved(&plan, "app_id");
    assert_eq!(app_id, "app-20261125100000-0042");
    assert!(source.contains("/api/v1/applications"), "{source}");

    // For real: resolved, then started.
    let out = executor(&marathon.url()).run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "--driver-url spark://CoarseGrainedScheduler@127.0.0.1:{}",
            driver.rpc_port()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn base_urls_are_tried_in_turn_and_5xx_is_retried() {
    let driver = Driver::start("app-1");
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![driver.task("t1")]));
    let path = format!("/v2/apps{APP}");
    marathon.script(
        &path,
        vec![
            Reply::Json(
                502,
                serde_json::json!({"message": "Could not determine the current leader"}),
            ),
            Reply::Json(503, serde_json::json!({"message": "Service Unavailable"})),
            Reply::Raw(500, "<html>Internal Server Error</html>".into()),
            Reply::Slow(
                Duration::from_secs(3),
                Box::new(Reply::Raw(500, "late".into())),
            ),
        ],
    );
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let urls = format!("http://127.0.0.1:{closed},{}", marathon.url());
    let out = executor(&urls).run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    let asked = marathon
        .requests()
        .iter()
        .filter(|(p, _)| *p == path)
        .count();
    assert_eq!(asked, 5, "four faults, then the answer");
}

#[test]
fn credentials_are_sent_kept_across_redirects_and_never_shown() {
    let driver = Driver::start("app-1");
    let leader = FakeServer::start();
    leader.app(APP, driver_app(vec![driver.task("t1")]));
    leader.require_auth("Basic b3BzOmh1bnRlcjI="); // ops:hunter2
    let follower = FakeServer::start();
    // A non-leader answers 307 with a protocol-relative Location, to a URL configured for
    // Marathon too: the credentials go along.
    follower.redirect_all_to(&format!("//127.0.0.1:{}", leader.port));
    let both = format!("{},{}", follower.url(), leader.url());
    let (plan, out) = dry_run(executor(&both).env("SPARK_INIT_MARATHON_AUTH", "ops:hunter2"));
    assert!(
        resolved(&plan, "driver_url").0.starts_with("spark://"),
        "{plan}"
    );
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    assert!(leader
        .requests()
        .iter()
        .all(|(_, auth)| auth.as_deref() == Some("Basic b3BzOmh1bnRlcjI=")));

    // A DC/OS token from a file.
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "token=eyJhbGciOi\n").unwrap();
    leader.require_auth("token=eyJhbGciOi");
    let out = executor(&leader.url())
        .env("SPARK_INIT_MARATHON_AUTH_FILE", &token)
        .run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(!out.stderr.contains("eyJhbGciOi"));
}

const BASIC_OPS_HUNTER2: &str = "Basic b3BzOmh1bnRlcjI=";

/// Regression: every redirect kept the credentials, to any host, even from https to http.
#[test]
fn credentials_go_only_to_the_same_origin_or_a_configured_url() {
    let driver = Driver::start("app-1");
    let path = format!("/v2/apps{APP}");
    // Same origin: Marathon's PathId drops the empty segment, so this is the same app.
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![driver.task("t1")]));
    marathon.require_auth(BASIC_OPS_HUNTER2);
    let same_origin = "/v2/apps//spark/orders/driver";
    marathon.script(&path, vec![Reply::Redirect(307, same_origin.into())]);
    let (plan, _) =
        dry_run(executor(&marathon.url()).env("SPARK_INIT_MARATHON_AUTH", "ops:hunter2"));
    assert!(resolved(&plan, "driver_url").0.starts_with("spark://"));
    let redirected = (same_origin.to_string(), Some(BASIC_OPS_HUNTER2.to_string()));
    assert!(marathon.requests().contains(&redirected));

    // Another host, not in SPARK_INIT_MARATHON_URL: followed, without the credentials (here
    // written into the URL), and a warning says so with the password masked.
    let stranger = FakeServer::start();
    stranger.app(APP, driver_app(vec![driver.task("t1")]));
    let first = FakeServer::start();
    first.redirect_all_to(&stranger.url());
    let with_password = first.url().replace("http://", "http://ops:hunter2@");
    let (plan, out) = dry_run(executor(&with_password));
    assert!(resolved(&plan, "driver_url").0.starts_with("spark://"));
    assert_eq!(first.requests()[0].1.as_deref(), Some(BASIC_OPS_HUNTER2));
    assert!(stranger.requests().iter().all(|(_, auth)| auth.is_none()));
    let warning = format!(
        "GET http://ops:***@127.0.0.1:{}{path} is redirected to {}{path}",
        first.port,
        stranger.url()
    );
    assert!(out.stderr.contains(&warning), "{}", out.stderr);
    assert!(
        out.stderr.contains("without the credentials"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hunter2") && !out.stdout.contains("hunter2"));
}

#[test]
fn a_redirect_from_https_to_http_is_refused_with_78() {
    let (ca, cert, key) = private_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let plain = FakeServer::start();
    let marathon = FakeServer::start_tls(&cert, &key);
    marathon.redirect_all_to(&plain.url());
    let url = format!("https://127.0.0.1:{}", marathon.port);
    let out = executor(&url)
        .env("SPARK_INIT_CA_FILE", &ca_file)
        .env("SPARK_INIT_MARATHON_AUTH", "ops:hunter2")
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    let path = format!("/v2/apps{APP}");
    let refused = format!("GET {url}{path}: redirected to {}{path}", plain.url());
    assert!(out.stderr.contains(&refused), "{}", out.stderr);
    assert!(out.stderr.contains("clear text"), "{}", out.stderr);
    assert!(plain.requests().is_empty(), "{:?}", plain.requests());
}

#[test]
fn refusals_are_78_at_once_with_marathons_message() {
    let marathon = FakeServer::start();
    marathon.require_auth("Basic nothing-matches");
    let out = executor(&marathon.url())
        .env("SPARK_INIT_MARATHON_AUTH", "ops:wrong")
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("HTTP 401"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Invalid username or password"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("ops:wrong"));
    assert_eq!(marathon.requests().len(), 1, "a 401 is not retried");

    let marathon = FakeServer::start();
    marathon.script(
        &format!("/v2/apps{APP}"),
        vec![Reply::Json(
            403,
            serde_json::json!({"message": "Not Authorized to perform this action!"}),
        )],
    );
    let out = executor(&marathon.url()).run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("Not Authorized"), "{}", out.stderr);
}

/// nginx's own 404 page, as a proxy in front of nothing at that path answers.
const NGINX_404: &str = "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n\
                         <center><h1>404 Not Found</h1></center>\r\n\
                         <hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n";

/// Issue 11: a 404 that is not Marathon's `{"message": "App '/x' does not exist"}` was taken
/// for an app not there yet, and the executor waited the whole SPARK_INIT_RESOLVE_TIMEOUT. A
/// wrong URL is 78 at once, naming the URL (password masked), the answer and the variable,
/// in a real run and in a dry run; an app that does not exist yet is still waited for
/// (`no_usable_driver_task_is_69_at_the_deadline_saying_why`).
#[test]
fn a_url_that_does_not_lead_to_marathon_is_78_at_once() {
    let nginx = RawServer::start(
        format!(
            "HTTP/1.1 404 Not Found\r\nServer: nginx/1.25.3\r\nContent-Type: text/html\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{NGINX_404}",
            NGINX_404.len()
        )
        .into_bytes(),
    );
    let url = nginx.url().replace("http://", "http://ops:hunter2@");
    for dry_run in ["0", "1"] {
        let out = executor(&url).env("SPARK_INIT_DRY_RUN", dry_run).run();
        assert_eq!(out.code, 78, "{}", out.stderr);
        let wrong = format!(
            "GET http://ops:***@127.0.0.1:{}/v2/apps{APP}: HTTP 404 (\"<html> <head><title>404 \
             Not Found</title></head> <body> <center><h1>404 Not Found</h1></center>",
            nginx.port
        );
        assert!(out.stderr.contains(&wrong), "{}", out.stderr);
        assert!(
            out.stderr.contains(
                "no Marathon API at this URL; check SPARK_INIT_MARATHON_URL (its host, port \
                 and path prefix)"
            ),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
        assert!(!out.stderr.contains("fixture stand-in"), "started anyway");
    }
    assert_eq!(nginx.connections(), 2, "one request a run: no waiting");

    // Marathon itself under a path prefix it does not have answers (since 1.6.486) HTTP 500
    // {"message": "URI not found"}: not an outage to wait out either.
    let marathon = FakeServer::start();
    marathon.script(
        &format!("/marathon/v2/apps{APP}"),
        vec![Reply::Json(
            500,
            serde_json::json!({"message": "URI not found"}),
        )],
    );
    let out = executor(&format!("{}/marathon", marathon.url())).run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "GET {}/marathon/v2/apps{APP}: HTTP 500 (\"Marathon: URI not found\"): no Marathon \
             API at this URL",
            marathon.url()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(marathon.requests().len(), 1, "not retried");
}

#[test]
fn invalid_json_is_69_naming_the_url() {
    let marathon = FakeServer::start();
    marathon.script(
        &format!("/v2/apps{APP}"),
        vec![Reply::Raw(200, "<html>proxy login</html>".into())],
    );
    let out = executor(&marathon.url()).run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("/v2/apps{APP}")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("not the JSON expected"),
        "{}",
        out.stderr
    );
}

/// Regression: a 50 MB JSON array was read whole (the lookup process grew to 873 MB).
#[test]
fn an_answer_over_4_mib_is_69_at_once_naming_the_url_and_the_limit() {
    let marathon = FakeServer::start();
    let path = format!("/v2/apps{APP}");
    // Sent chunked, without a Content-Length: the cap holds while reading.
    let array = format!("[{}0]", "0,".repeat(5 << 19));
    marathon.script(&path, vec![Reply::Raw(200, array)]);
    let out = executor(&marathon.url()).run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    let refused = format!(
        "GET {}{path}: the answer is larger than 4 MiB",
        marathon.url()
    );
    assert!(out.stderr.contains(&refused), "{}", out.stderr);
    assert_eq!(marathon.requests().len(), 1, "not retried");
}

/// Regression: an answer cut short was reported as "cannot connect".
#[test]
fn a_truncated_answer_is_an_incomplete_answer() {
    let marathon = RawServer::start(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\
          Connection: close\r\n\r\n{\"app\": {\"id\": \"/spark"
            .to_vec(),
    );
    let out = executor(&marathon.url())
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "1")
        .run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    let incomplete = format!("incomplete answer from GET {}/v2/apps{APP}", marathon.url());
    assert!(out.stderr.contains(&incomplete), "{}", out.stderr);
    assert!(!out.stderr.contains("cannot connect"), "{}", out.stderr);
    assert!(marathon.connections() > 1, "retried");
}

/// Regression: a \xff inside a JSON string was decoded as U+FFFD and accepted.
#[test]
fn invalid_utf8_in_a_json_string_is_invalid_json() {
    let driver = Driver::start("app-1");
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![driver.task("t1")]));
    let body = b"{\"app\": {\"id\": \"/spark/orders/driv\xffer\", \"portDefinitions\": []}}";
    marathon.script(
        &format!("/v2/apps{APP}"),
        vec![Reply::Bytes(200, body.to_vec())],
    );
    let out = executor(&marathon.url()).run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("not the JSON expected"),
        "{}",
        out.stderr
    );
}

/// Regression: with SPARK_INIT_RESOLVE_TIMEOUT=5 and SPARK_INIT_HTTP_TIMEOUT=4, a hanging
/// Marathon was given up on after 8.3 s: the last request had its full 4 s.
#[test]
fn a_hanging_marathon_is_given_up_on_at_the_deadline() {
    let marathon = FakeServer::start();
    let hang = || {
        Reply::Slow(
            Duration::from_secs(30),
            Box::new(Reply::Raw(500, "late".into())),
        )
    };
    marathon.script(&format!("/v2/apps{APP}"), (0..5).map(|_| hang()).collect());
    let out = executor(&marathon.url())
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "5")
        .env("SPARK_INIT_HTTP_TIMEOUT", "4")
        .run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(out.stderr.contains("no answer in time"), "{}", out.stderr);
    // A deadline, not a speed: requests at 0 s (4 s) and 4.25 s (the 0.75 s left, raised to
    // the 1 s last look) end by 5.25 s; the other 1.75 s cover starting and stopping the
    // processes. One request too many would take it past 8 s.
    assert!(out.elapsed < Duration::from_secs(7), "{:?}", out.elapsed);
}

/// Waits that cannot succeed end at the deadline with exit 69 and what was seen last.
#[test]
fn no_usable_driver_task_is_69_at_the_deadline_saying_why() {
    let driver = Driver::start("app-1");
    let mut staging = driver.task("t-staging");
    staging.state = "TASK_STAGING".into();
    let mut killing = driver.task("t-killing");
    killing.state = "TASK_KILLING".into();
    let mut sick = driver.task("t-sick");
    sick.health = Some(vec![true, false]);
    let silent = TaskSpec::running(
        "t-silent",
        &[{
            // A port nobody listens on.
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        }],
    );
    let cases: Vec<(AppSpec, &str)> = vec![
        (driver_app(vec![]), "has no task"),
        (driver_app(vec![staging]), "TASK_STAGING"),
        (driver_app(vec![killing]), "TASK_KILLING"),
        (
            AppSpec {
                health_checks: true,
                ..driver_app(vec![sick])
            },
            "health checks",
        ),
        (driver_app(vec![silent]), "does not accept connections"),
    ];
    for (app, why) in cases {
        let marathon = FakeServer::start();
        marathon.app(APP, app);
        let out = executor(&marathon.url())
            .env("SPARK_INIT_RESOLVE_TIMEOUT", "1.5")
            .run();
        assert_eq!(out.code, 69, "{why}: {}", out.stderr);
        assert!(
            out.stderr.contains("SPARK_INIT_RESOLVE_TIMEOUT"),
            "{why}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(why), "{why}: {}", out.stderr);
        assert!(
            !out.stderr.contains("fixture stand-in"),
            "{why}: started anyway"
        );
        assert!(marathon.requests().len() > 2, "{why}: it retried");
    }
    // No such app at all.
    let marathon = FakeServer::start();
    let out = executor(&marathon.url())
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "1")
        .run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("has no app {APP}")),
        "{}",
        out.stderr
    );
}

#[test]
fn two_running_tasks_pick_the_newest_with_a_warning() {
    let old_driver = Driver::start("app-old");
    let new_driver = Driver::start("app-new");
    let mut old = old_driver.task("t-old");
    old.started_at = "2026-11-25T09:00:00.000Z".into();
    let mut new = new_driver.task("t-new");
    new.started_at = "2026-11-25T10:30:00.000Z".into();
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![new, old]));
    let (plan, _) = dry_run(executor(&marathon.url()));
    assert!(resolved(&plan, "driver_url").1.contains("t-new"));
    assert_eq!(resolved(&plan, "app_id").0, "app-new");
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("2 tasks"), "{warnings}");
}

#[test]
fn waits_for_a_driver_that_appears_late_with_progress_lines() {
    let driver = Driver::start("app-late");
    let mut late = driver.task("t-late");
    late.appears_after = Duration::from_secs(1);
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![late]));
    let out = executor(&marathon.url()).run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("waiting for the driver: app /spark/orders/driver has no task"),
        "{}",
        out.stderr
    );
}

#[test]
fn ip_address_mode_uses_the_tasks_ip() {
    let driver = Driver::start("app-ip");
    let mut task = driver.task("t-ip");
    task.host = "agent-that-does-not-resolve.invalid".into();
    task.ip = Some("127.0.0.1".into());
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![task]));
    // `IP`: enum words take any case (issue 18).
    let (plan, _) = dry_run(executor(&marathon.url()).env("SPARK_INIT_DRIVER_ADDRESS", "IP"));
    assert_eq!(
        resolved(&plan, "driver_url").0,
        format!(
            "spark://CoarseGrainedScheduler@127.0.0.1:{}",
            driver.rpc_port()
        )
    );
}

#[test]
fn the_application_id_from_mesos_through_a_redirecting_master() {
    // The driver task has no ui port: the app ID comes from the Mesos master.
    let rpc = TcpListener::bind("127.0.0.1:0").unwrap();
    let marathon = FakeServer::start();
    marathon.app(
        APP,
        AppSpec {
            port_names: vec!["driver".into()],
            health_checks: false,
            tasks: vec![TaskSpec::running("t1", &[rpc.local_addr().unwrap().port()])],
            ..Default::default()
        },
    );
    let leader = FakeServer::start();
    leader
        .framework("fw-old", "orders", "127.0.0.1", "completed")
        .framework("fw-other-host", "orders", "10.9.9.9", "active")
        .framework("fw-now", "orders", "127.0.0.1", "active");
    leader.script(
        "/master/frameworks",
        vec![Reply::Raw(503, "no leader yet".into())],
    );
    let follower = FakeServer::start();
    follower.redirect_all_to(&format!("//127.0.0.1:{}", leader.port));
    let out = executor(&marathon.url())
        .env("SPARK_INIT_MESOS_URL", follower.url())
        .run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(out.stderr.contains("--app-id fw-now"), "{}", out.stderr);

    // Two applications on that host: the name must say which.
    leader.framework("fw-second", "reports", "127.0.0.1", "active");
    let out = executor(&marathon.url())
        .env("SPARK_INIT_MESOS_URL", leader.url())
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("SPARK_INIT_FRAMEWORK_NAME"),
        "{}",
        out.stderr
    );
    let out = executor(&marathon.url())
        .env("SPARK_INIT_MESOS_URL", leader.url())
        .env("SPARK_INIT_FRAMEWORK_NAME", "reports")
        .run();
    assert!(out.stderr.contains("--app-id fw-second"), "{}", out.stderr);
}

#[test]
fn set_values_skip_the_lookups() {
    let marathon = FakeServer::start();
    let out = executor(&marathon.url())
        .env(
            "SPARK_DRIVER_URL",
            "spark://CoarseGrainedScheduler@10.0.0.2:31000",
        )
        .env("SPARK_APPLICATION_ID", "app-set")
        .run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(marathon.requests().is_empty(), "{:?}", marathon.requests());
}

#[test]
fn sigterm_while_waiting_stops_at_once() {
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![]));
    let init = executor(&marathon.url())
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "600")
        .spawn();
    poll("spark-init to ask Marathon", HANG, || {
        (!marathon.requests().is_empty()).then_some(())
    });
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 128 + libc::SIGTERM, "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(60));
}

/// Issue 18: a stop while an executor still waits for its driver is Marathon's ordinary
/// scale-down: an INFO line, not an ERROR, and the exit goes through SPARK_INIT_EXIT_REMAP
/// like a stopped command's (it was 143 whatever the remap said).
#[test]
fn a_stop_while_resolving_is_info_and_remapped() {
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![]));
    let init = executor(&marathon.url())
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "600")
        .env("SPARK_INIT_EXIT_REMAP", "143=0")
        .env("SPARK_INIT_LOG", "info")
        .spawn();
    poll("spark-init to ask Marathon", HANG, || {
        (!marathon.requests().is_empty()).then_some(())
    });
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("stopped by SIGTERM while resolving"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("code=0"), "{line}");
    assert!(!out.stderr.contains(" ERROR "), "{}", out.stderr);
}

/// After lookups with the HTTP client, PID 1 still has one thread and a small RSS: the
/// lookups ran in a child process that is gone.
#[test]
fn pid1_stays_single_threaded_after_lookups() {
    let driver = Driver::start("app-1");
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![driver.task("t1")]));
    // A Java installation whose java waits, so the init can be looked at while it supervises.
    let dir = tempfile::tempdir().unwrap();
    let java_home = dir.path().join("jdk");
    std::fs::create_dir_all(java_home.join("bin")).unwrap();
    std::fs::write(java_home.join("release"), "JAVA_VERSION=\"17.0.15\"\n").unwrap();
    let ready = dir.path().join("java.ready");
    let script = format!("#!/bin/sh\ntouch {}\nexec sleep 600\n", ready.display());
    let java = java_home.join("bin/java");
    std::fs::write(&java, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&java, std::fs::Permissions::from_mode(0o755)).unwrap();
    let init = executor(&marathon.url())
        .env("JAVA_HOME", &java_home)
        .spawn();
    poll("java to start", HANG, || ready.exists().then_some(()));
    let pid = init.init_pid();
    assert_eq!(status_field(pid, "Threads").as_deref(), Some("1"));
    let rss_kib: u64 = status_field(pid, "VmRSS")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert!(rss_kib < 4096, "PID 1 RSS {rss_kib} KiB after lookups");
    init.signal(libc::SIGTERM);
    assert_eq!(init.finish().code, 128 + libc::SIGTERM);
}

/// A private CA and a server certificate it signed, for 127.0.0.1.
fn private_ca() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn https_with_a_private_ca_needs_the_ca_file_and_never_skips_verification() {
    let (ca, cert, key) = private_ca();
    let driver = Driver::start("app-tls");
    let marathon = FakeServer::start_tls(&cert, &key);
    marathon.app(APP, driver_app(vec![driver.task("t1")]));
    let url = format!("https://127.0.0.1:{}", marathon.port);

    // Not trusted: refused at once (waiting does not help), saying what to do.
    let out = executor(&url).run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("SPARK_INIT_CA_FILE"), "{}", out.stderr);

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let out = executor(&url).env("SPARK_INIT_CA_FILE", &ca_file).run();
    assert_eq!(out.code, 99, "{}", out.stderr);

    // A CA file that is not one is a configuration error naming it.
    std::fs::write(&ca_file, "not a certificate").unwrap();
    let out = executor(&url).env("SPARK_INIT_CA_FILE", &ca_file).run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("SPARK_INIT_CA_FILE"), "{}", out.stderr);
}

#[test]
fn requests_say_who_asks() {
    let driver = Driver::start("app-ua");
    let marathon = FakeServer::start();
    marathon.app(APP, driver_app(vec![driver.task("t1")]));
    let out = executor(&marathon.url()).run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    let agents = marathon.user_agents();
    assert!(!agents.is_empty());
    assert!(
        agents
            .iter()
            .all(|a| a == &format!("spark-init/{}", env!("CARGO_PKG_VERSION"))),
        "{agents:?}"
    );
}
