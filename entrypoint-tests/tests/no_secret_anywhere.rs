//! Issue 16: no secret in any message. Secret values given every way spark-init accepts them
//! (variables, an auth file, URL userinfo, Java options in every source, spark-defaults.conf,
//! the app's args) go through every kind of run — the dry run as text and JSON, a real start at
//! every log level and in both log formats, configuration errors (78), a refusal, an
//! unavailable service (69) — and none of them may appear in stdout or stderr.

use std::os::unix::ffi::OsStrExt;

use entrypoint_tests::{executor_env, fixture, free_port, Finished, Init};

/// Every secret, each findable on its own.
const SECRETS: &[&str] = &[
    "Hunter2Auth",
    "Hunter2File",
    "Hunter2Url",
    "Hunter2Jto",
    "Hunter2Opt",
    "Hunter2Tail",
    "Hunter2Over",
    "Hunter2Conf",
    "Hunter2Dflt",
    "Hunter2Arg",
    "Hunter2Flag",
    "Hunter2Drv",
    "Hunter2Jdbc",
    "Hunter2Key",
    "Hunter2Bytes",
];

struct Setup {
    _dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

fn f(rel: &str) -> String {
    fixture(rel).display().to_string()
}

/// An executor environment carrying every secret.
fn setup(marathon_port: u16) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(
        conf.join("spark-defaults.conf"),
        "spark.executor.extraJavaOptions -Dapp.secret=Hunter2Conf -Dapp.x=1\n\
         spark.driver.extraJavaOptions -Dapp.secret=Hunter2Conf\n\
         spark.authenticate.secret Hunter2Dflt\n",
    )
    .unwrap();
    let auth_file = dir.path().join("mesos-auth");
    std::fs::write(&auth_file, "ops:Hunter2File\n").unwrap();
    let mut env = executor_env();
    let secrets = [
        ("SPARK_CONF_DIR", conf.display().to_string()),
        (
            "SPARK_INIT_MARATHON_URL",
            format!("http://ops:Hunter2Url@127.0.0.1:{marathon_port}"),
        ),
        ("SPARK_INIT_DRIVER_APP", "/spark/driver".into()),
        (
            "SPARK_INIT_MESOS_URL",
            format!("http://127.0.0.1:{marathon_port}"),
        ),
        (
            "SPARK_INIT_MESOS_AUTH_FILE",
            auth_file.display().to_string(),
        ),
        ("JAVA_TOOL_OPTIONS", "-Dimage.password=Hunter2Jto".into()),
        (
            "SPARK_JAVA_OPT_0",
            "-Dspark.ssl.keyPassword=Hunter2Opt".into(),
        ),
        ("SPARK_JAVA_OPT_1", "-Dapi.token=first".into()),
        (
            "SPARK_INIT_JAVA_OPTS",
            r"-Dapp.token=abc\ Hunter2Tail -Dapi.token='x Hunter2Over'".into(),
        ),
    ];
    env.extend(secrets.into_iter().map(|(k, v)| (k.to_string(), v)));
    Setup { _dir: dir, env }
}

fn run(env: &[(String, String)], changes: &[(&str, &str)], args: &[&str]) -> Finished {
    let mut init = Init::new(args.iter());
    for (k, v) in env {
        if !changes.iter().any(|(name, _)| name == k) {
            init = init.env(k, v);
        }
    }
    for (k, v) in changes {
        if !v.is_empty() {
            init = init.env(k, v);
        }
    }
    init.run()
}

fn assert_no_secret(what: &str, out: &Finished) {
    for secret in SECRETS {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{what}: {secret} leaked\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn no_secret_appears_in_any_output() {
    // Nothing listens there: the dry run's one look fails, and a real lookup waits in vain.
    let closed = free_port();
    let s = setup(closed);
    let executor_args = ["--role", "executor", "--"];
    let mut runs: Vec<(String, Finished)> = Vec::new();
    for output in ["text", "json"] {
        let args = ["--role", "executor", "--dry-run", "--output", output, "--"];
        runs.push((format!("dry run {output}"), run(&s.env, &[], &args)));
    }
    for (level, format) in [("info", "text"), ("debug", "text"), ("trace", "json")] {
        let changes = [("SPARK_INIT_LOG", level), ("SPARK_INIT_LOG_FORMAT", format)];
        let out = run(&s.env, &changes, &executor_args);
        // The fixture's java stand-in ran: the whole start was logged.
        assert_eq!(out.code, 99, "{level}/{format}: {}", out.stderr);
        runs.push((format!("start at {level} in {format}"), out));
    }
    // Configuration errors (78), with the secrets in the values that are refused.
    let errors: [(&str, &[(&str, &str)]); 4] = [
        ("bad grace", &[("SPARK_INIT_GRACE_SECONDS", "soon")]),
        (
            "unclosed quote",
            &[(
                "SPARK_INIT_JAVA_OPTS",
                r"-Dapi.token=abc\ Hunter2Tail -Dx='open",
            )],
        ),
        (
            "bad auth",
            &[
                ("SPARK_INIT_MARATHON_AUTH", "Hunter2Auth"),
                ("SPARK_INIT_DRY_RUN", "1"),
            ],
        ),
        (
            "both auths",
            &[("SPARK_INIT_MESOS_AUTH", "ops:Hunter2Auth")],
        ),
    ];
    for (what, changes) in errors {
        let out = run(
            &s.env,
            changes,
            &["--role", "executor", "--", "--password", "Hunter2Flag"],
        );
        assert_eq!(out.code, 78, "{what}: {}", out.stderr);
        runs.push((what.to_string(), out));
    }
    // A credential variable that is not UTF-8 is named, its value not shown.
    let out = Init::new(["--role", "executor", "--dry-run", "--", "x"])
        .env("SPARK_HOME", f("spark/3.5.7"))
        .env(
            "SPARK_INIT_MARATHON_AUTH",
            std::ffi::OsStr::from_bytes(b"ops:Hunter2Bytes\xff"),
        )
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    runs.push(("non-UTF-8 credentials".into(), out));
    // An unavailable Marathon (69): its URL, with the password, is in the message.
    let out = run(
        &s.env,
        // At info, so that the "waiting for the driver" lines, which quote the URL, are seen.
        &[
            ("SPARK_DRIVER_URL", ""),
            ("SPARK_INIT_RESOLVE_TIMEOUT", "1.5"),
            ("SPARK_INIT_LOG", "info"),
        ],
        &executor_args,
    );
    assert_eq!(out.code, 69, "{}", out.stderr);
    runs.push(("unavailable Marathon".into(), out));
    // A driver refused for a Spark option in its Java options, with secrets in its args.
    let app_jar = fixture("app/app.jar").display().to_string();
    let driver_args = [
        "--role",
        "driver",
        "--dry-run",
        "--",
        "--driver-java-options",
        "-Dspark.ssl.trustStorePassword=Hunter2Drv -Dx=1",
        "--conf",
        "spark.ssl.keyPassword=Hunter2Arg",
        "--conf",
        "spark.app.x=-Dapi.key=Hunter2Key",
        &app_jar,
        "--password",
        "Hunter2Flag",
        "--db",
        "jdbc:postgresql://h/db?user=u&password=Hunter2Jdbc",
    ];
    let out = run(&s.env, &[], &driver_args);
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("trustStorePassword=***"),
        "{}",
        out.stderr
    );
    runs.push(("driver refused".into(), out));
    let mut driver_ok = driver_args.to_vec();
    driver_ok.splice(4..6, []);
    let out = run(&s.env, &[], &driver_ok);
    assert_eq!(out.code, 0, "{}", out.stderr);
    runs.push(("driver dry run".into(), out));
    for (what, out) in &runs {
        assert_no_secret(what, out);
    }
    // The secrets did flow through: their masked forms are there.
    let all: String = runs
        .iter()
        .map(|(_, o)| format!("{}{}", o.stdout, o.stderr))
        .collect();
    for masked in [
        "ops:***@127.0.0.1",
        "-Dspark.ssl.keyPassword=***",
        "-Dimage.password=***",
        "-Dapp.token=***",
        "-Dapi.token=***",
        "-Dapp.secret=***",
        "spark.ssl.keyPassword=***",
        "--password '***'",
        "password=***",
        "waiting for the driver",
    ] {
        assert!(all.contains(masked), "{masked} never shown:\n{all}");
    }
}
