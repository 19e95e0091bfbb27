//! Snapshots of what an operator reads when several things are wrong at once: the whole stderr
//! of a run, compared byte for byte with `golden/stderr/<case>.txt` (the fixture folder is
//! written as `<fixtures>`). Pinned before the source tree was reorganised (issue 9), so a
//! change of wording or order shows up as a reviewed diff. `UPDATE_GOLDEN=1 cargo test -p
//! entrypoint-tests --test problems_snapshot` rewrites them.

use entrypoint_tests::{fixture, workspace_root, Init};

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    env: Vec<(&'static str, String)>,
}

fn f(rel: &str) -> String {
    fixture(rel).display().to_string()
}

fn cases() -> Vec<Case> {
    let install = |spark: &str| {
        vec![
            ("SPARK_HOME", f(&format!("spark/{spark}"))),
            ("JAVA_HOME", f("java/17")),
            ("SPARK_INIT_CGROUP_ROOT", f("cgroup/none")),
        ]
    };
    let with = |mut base: Vec<(&'static str, String)>, more: &[(&'static str, &str)]| {
        base.extend(more.iter().map(|(k, v)| (*k, v.to_string())));
        base
    };
    vec![
        // Generic variables only: every one of them wrong.
        Case {
            name: "generic-several",
            args: &["--", "true"],
            env: vec![
                ("SPARK_INIT_GRACE_SECONDS", "soon".into()),
                ("SPARK_INIT_SIGNAL_GROUP", "maybe".into()),
                ("SPARK_INIT_EXIT_REMAP", "143".into()),
                ("SPARK_INIT_JAVA_OPTS", "-Dx='open".into()),
                ("SPARK_JAVA_OPT_0", "--add-opens".into()),
                ("SPARK_INIT_LOG_FORMAT", "xml".into()),
            ],
        },
        // An executor with bad role variables and bad generic ones together.
        Case {
            name: "executor-generic-and-role",
            args: &["--role", "executor", "--", "--bogus", "x"],
            env: with(
                install("3.5.7"),
                &[
                    ("SPARK_INIT_GRACE_SECONDS", "soon"),
                    ("SPARK_INIT_STORE_REQUIRED", "on"),
                    ("PORT0", "http"),
                    ("MARATHON_APP_RESOURCE_CPUS", "abc"),
                    ("MARATHON_APP_RESOURCE_MEM", "2048.0"),
                    ("SPARK_EXECUTOR_ID", "0x1f"),
                    ("SPARK_DRIVER_URL", "http://driver:7077"),
                    ("SPARK_APPLICATION_ID", "app-1"),
                    ("HOST", "10.0.0.7"),
                ],
            ),
        },
        // An executor with role problems only: every one reported in one run.
        Case {
            name: "executor-role-several",
            args: &["--role", "executor"],
            env: with(
                install("3.5.7"),
                &[
                    ("PORT0", "0"),
                    ("MARATHON_APP_RESOURCE_MEM", "600.0"),
                    ("SPARK_EXECUTOR_CORES", "two"),
                    ("SPARK_INIT_RESOLVE_TIMEOUT", "-3"),
                    ("SPARK_INIT_MARATHON_URL", "ftp://marathon"),
                ],
            ),
        },
        // A driver whose publishing settings are wrong as well as other things.
        Case {
            name: "driver-several",
            args: &[
                "--role",
                "driver",
                "--",
                "--deploy-mode",
                "cluster",
                "app.jar",
            ],
            env: with(
                install("3.5.7"),
                &[
                    ("HOST", "10.0.0.2"),
                    ("SPARK_INIT_EXECUTOR_APP", "/spark/executors"),
                    ("SPARK_INIT_FAILOVER_TIMEOUT", "never"),
                    ("SPARK_INIT_EXECUTOR_INSTANCES", "many"),
                    ("SPARK_INIT_SCALE_DOWN_ON_EXIT", "maybe"),
                ],
            ),
        },
        // Issue 11: a Mesos driver whose image lacks its application and libmesos, with a
        // bad variable besides: all in one run.
        Case {
            name: "driver-prerequisites",
            args: &[
                "--role",
                "driver",
                "--",
                "--master",
                "mesos://zk://zk1:2181/mesos",
                "--class",
                "com.example.Stream",
                "local:///opt/app/not-in-the-image.jar",
            ],
            env: with(
                install("3.5.7"),
                &[
                    ("HOST", "10.0.0.2"),
                    ("SPARK_INIT_FAILOVER_TIMEOUT", "never"),
                ],
            ),
        },
        // The installation itself is missing: what else is missing is said in the same run.
        Case {
            name: "executor-no-install",
            args: &["--role", "executor"],
            env: vec![
                ("SPARK_HOME", f("spark/none")),
                ("JAVA_HOME", f("java/none")),
                ("SPARK_INIT_CGROUP_ROOT", f("cgroup/none")),
            ],
        },
    ]
}

fn run(case: &Case) -> (i32, String) {
    // A driver's relative application (app.jar) is in its working directory.
    let mut init = Init::new(case.args.iter())
        .env("SPARK_INIT_LOG_FORMAT", "text")
        .cwd(&fixture("app"));
    for (k, v) in &case.env {
        init = init.env(k, v);
    }
    let out = init.run();
    let fixtures = fixture("").display().to_string();
    let fixtures = fixtures.trim_end_matches('/');
    let stderr = out
        .stderr
        .replace(fixtures, "<fixtures>")
        .lines()
        .map(without_timestamp)
        .collect::<Vec<_>>()
        .join("\n");
    (out.code, stderr)
}

/// `2026-11-29T17:00:49.242916Z spark-init[1] ERROR ...` → `<time> spark-init[1] ERROR ...`.
fn without_timestamp(line: &str) -> String {
    match line.split_once(' ') {
        Some((first, rest)) if first.len() > 20 && first.ends_with('Z') && first.contains('T') => {
            format!("<time> {rest}")
        }
        _ => line.to_string(),
    }
}

#[test]
fn several_problems_at_once_read_as_pinned() {
    let dir = workspace_root().join("entrypoint-tests/golden/stderr");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for case in cases() {
        let (code, stderr) = run(&case);
        let got = format!("exit {code}\n{stderr}");
        let path = dir.join(format!("{}.txt", case.name));
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!("{} is missing (UPDATE_GOLDEN=1 writes it)", path.display())
        });
        if got != want {
            mismatches.push(format!("{}:\n--- want\n{want}\n--- got\n{got}", case.name));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
