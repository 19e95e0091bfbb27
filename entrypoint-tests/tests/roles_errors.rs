//! Bad input in the role modes: exit 78, the variable (or file) and its value named with the
//! fix, every problem reported at once, and nothing started. Each case changes one thing of a
//! valid executor (or driver) environment, which is checked to work first.

use entrypoint_tests::{executor_env, Finished, Init};

fn fixture(rel: &str) -> String {
    entrypoint_tests::fixture(rel).display().to_string()
}

fn with(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = executor_env();
    for (k, v) in changes {
        env.retain(|(name, _)| name != k);
        if !v.is_empty() {
            env.push((k.to_string(), v.to_string()));
        }
    }
    env
}

/// Runs the executor role (for real, not a dry run): with a good environment the fixture's
/// `java` stand-in runs and exits 99, so a 78 proves nothing was started.
fn run(env: &[(String, String)], args: &[&str], role: &str) -> entrypoint_tests::Finished {
    let mut init = Init::new(["--role", role, "--"].iter().chain(args.iter()));
    for (k, v) in env {
        init = init.env(k, v);
    }
    if role == "driver" {
        init = in_the_apps_folder(init);
    }
    init.run()
}

/// A driver started where its application (`app.jar`, a relative path spark-submit reads
/// from the working directory) is, as in an image that puts it there.
fn in_the_apps_folder(init: Init) -> Init {
    init.cwd(&entrypoint_tests::fixture("app"))
}

#[test]
fn the_base_environment_is_valid_and_starts_the_command() {
    let out = run(&executor_env(), &[], "executor");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(out.stderr.contains("fixture stand-in"), "{}", out.stderr);
}

#[test]
fn each_bad_input_is_78_naming_it_and_starts_nothing() {
    // (environment, extra args, the name the message must carry, a hint it must carry)
    type Case = (
        Vec<(String, String)>,
        &'static [&'static str],
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (with(&[("PORT0", "http")]), &[], "PORT0", "\"http\""),
        (
            with(&[("MARATHON_APP_RESOURCE_CPUS", "abc")]),
            &[],
            "MARATHON_APP_RESOURCE_CPUS",
            "\"abc\"",
        ),
        (
            with(&[("MARATHON_APP_RESOURCE_CPUS", "0")]),
            &[],
            "MARATHON_APP_RESOURCE_CPUS",
            "positive",
        ),
        (
            with(&[("MARATHON_APP_RESOURCE_MEM", "512.0")]),
            &[],
            "MARATHON_APP_RESOURCE_MEM",
            "at least 849 MiB",
        ),
        (
            with(&[("SPARK_EXECUTOR_MEMORY", "256m")]),
            &[],
            "SPARK_EXECUTOR_MEMORY",
            "at least",
        ),
        (
            with(&[("SPARK_EXECUTOR_MEMORY", "1.5g")]),
            &[],
            "SPARK_EXECUTOR_MEMORY",
            "fraction",
        ),
        (
            with(&[("SPARK_HOME", "/nonexistent/spark")]),
            &[],
            "SPARK_HOME",
            "not a directory",
        ),
        (
            with(&[("SPARK_HOME", &fixture("spark/no-jars"))]),
            &[],
            "SPARK_HOME",
            "incomplete",
        ),
        (
            with(&[("SPARK_HOME", &fixture("spark/5.0.0"))]),
            &[],
            "SPARK_HOME",
            "holds Spark 5.0.0",
        ),
        (
            with(&[
                ("SPARK_HOME", &fixture("spark/4.3.0")),
                ("JAVA_HOME", &fixture("java/11")),
            ]),
            &[],
            "JAVA_HOME",
            "is Java 11 (from",
        ),
        (
            with(&[("JAVA_HOME", &fixture("cgroup"))]),
            &[],
            "JAVA_HOME",
            "no executable",
        ),
        (
            with(&[("JAVA_HOME", &fixture("java/no-release"))]),
            &[],
            "JAVA_HOME",
            "Java version is unknown",
        ),
        (
            with(&[("SPARK_DRIVER_URL", "")]),
            &[],
            "SPARK_DRIVER_URL",
            "is not set",
        ),
        (
            with(&[("SPARK_DRIVER_URL", "http://10.0.0.2:31000")]),
            &[],
            "SPARK_DRIVER_URL",
            "spark://CoarseGrainedScheduler@",
        ),
        (
            with(&[("SPARK_APPLICATION_ID", "")]),
            &[],
            "SPARK_APPLICATION_ID",
            "is not set",
        ),
        (
            with(&[("SPARK_EXECUTOR_ID", "exec-1")]),
            &[],
            "SPARK_EXECUTOR_ID",
            "toInt",
        ),
        (
            with(&[("SPARK_EXECUTOR_ID", "2147483648")]),
            &[],
            "SPARK_EXECUTOR_ID",
            "1..=2147483647",
        ),
        (
            with(&[("MESOS_TASK_ID", "")]),
            &[],
            "SPARK_EXECUTOR_ID",
            "MESOS_TASK_ID",
        ),
        (with(&[("HOST", "")]), &[], "SPARK_INIT_HOSTNAME", "HOST"),
        (
            with(&[("SPARK_EXECUTOR_CORES", "two")]),
            &[],
            "SPARK_EXECUTOR_CORES",
            "whole number",
        ),
        (
            with(&[("SPARK_CONF_DIR", &fixture("conf/malformed"))]),
            &[],
            "SPARK_CONF_DIR",
            "line 2",
        ),
        (
            with(&[("SPARK_CONF_DIR", &fixture("conf/xmx"))]),
            &[],
            "spark.executor.extraJavaOptions",
            "-Xmx8g",
        ),
        (
            with(&[]),
            &["--user-class-path", "file:/x.jar"],
            "args",
            "does not accept",
        ),
        (
            with(&[("SPARK_INIT_FRAMEWORK_STORE", "redis://10.0.0.1/x")]),
            &[],
            "SPARK_INIT_FRAMEWORK_STORE",
            "zk://",
        ),
        (
            with(&[("SPARK_INIT_FRAMEWORK_STORE", "zk://zk1/spark")]),
            &[],
            "SPARK_INIT_FRAMEWORK_STORE",
            "host:port",
        ),
        (
            with(&[("SPARK_INIT_STORE_REQUIRED", "maybe")]),
            &[],
            "SPARK_INIT_STORE_REQUIRED",
            "yes/no",
        ),
        (
            with(&[("SPARK_INIT_RESOLVE_TIMEOUT", "soon")]),
            &[],
            "SPARK_INIT_RESOLVE_TIMEOUT",
            "seconds",
        ),
        (
            with(&[("SPARK_INIT_MARATHON_URL", "marathon:8080")]),
            &[],
            "SPARK_INIT_MARATHON_URL",
            "http://",
        ),
        (
            with(&[("SPARK_INIT_MARATHON_AUTH", "nocolon")]),
            &[],
            "SPARK_INIT_MARATHON_AUTH",
            "user:password",
        ),
    ];
    for (env, args, name, hint) in cases {
        let out = run(&env, args, "executor");
        let case = format!("{name} ({hint})");
        assert_eq!(out.code, 78, "{case}: {}", out.stderr);
        assert!(out.stderr.contains(name), "{case}: {}", out.stderr);
        assert!(out.stderr.contains(hint), "{case}: {}", out.stderr);
        assert!(
            !out.stderr.contains("fixture stand-in"),
            "{case}: the command was started"
        );
    }
}

#[test]
fn several_problems_are_reported_together() {
    let env = with(&[
        ("PORT0", "x"),
        ("SPARK_DRIVER_URL", ""),
        ("SPARK_APPLICATION_ID", ""),
        ("SPARK_EXECUTOR_ID", "abc"),
    ]);
    let out = run(&env, &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    for name in [
        "PORT0",
        "SPARK_DRIVER_URL",
        "SPARK_APPLICATION_ID",
        "SPARK_EXECUTOR_ID",
    ] {
        assert!(out.stderr.contains(name), "{name}: {}", out.stderr);
    }
    // And when the installation itself is missing, the other missing inputs still show.
    let env = with(&[("SPARK_HOME", "/nonexistent"), ("SPARK_DRIVER_URL", "")]);
    let out = run(&env, &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("SPARK_HOME"), "{}", out.stderr);
    assert!(out.stderr.contains("SPARK_DRIVER_URL"), "{}", out.stderr);
}

#[test]
fn driver_refuses_cluster_mode_and_missing_host() {
    let driver_env: Vec<(String, String)> =
        with(&[("SPARK_DRIVER_URL", ""), ("SPARK_APPLICATION_ID", "")]);
    let out = run(
        &driver_env,
        &["--deploy-mode", "cluster", "--class", "Main", "app.jar"],
        "driver",
    );
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("client mode"), "{}", out.stderr);

    let env: Vec<(String, String)> = driver_env
        .into_iter()
        .filter(|(k, _)| k != "HOST")
        .collect();
    let out = run(&env, &["app.jar"], "driver");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("SPARK_INIT_HOSTNAME"), "{}", out.stderr);

    // The same environment with a host is valid: spark-submit (a stand-in) is started.
    let mut env = env;
    env.push(("HOST".into(), "10.0.0.2".into()));
    let out = run(&env, &["app.jar"], "driver");
    assert_eq!(out.code, 99, "{}", out.stderr);
}

/// Spark 4 removed Mesos: a `mesos://` master there is 78 naming where it was set and pointing
/// at the Mesos-free deployment, and Java 11 is 78 for a driver too; the same driver on a
/// Spark standalone master starts (the spark-submit stand-in exits 99).
#[test]
fn a_spark_4_driver_refuses_mesos_and_java_below_17() {
    let spark_4 = with(&[
        ("SPARK_HOME", &fixture("spark/4.3.0")),
        ("SPARK_DRIVER_URL", ""),
        ("SPARK_APPLICATION_ID", ""),
    ]);
    let jar = format!("local://{}", fixture("app/app.jar"));
    let app = ["--class", "Main", jar.as_str()];
    let mesos = [&["--master", "mesos://zk://zk1:2181/mesos"][..], &app].concat();
    let out = run(&spark_4, &mesos, "driver");
    assert_eq!(out.code, 78, "{}", out.stderr);
    for hint in [
        "the app's args (--master)=\"mesos://zk://zk1:2181/mesos\"",
        "Spark 4.3.0 has no Mesos support",
        "README \"Spark 4: the Mesos-free deployment\"",
    ] {
        assert!(out.stderr.contains(hint), "{hint}: {}", out.stderr);
    }
    assert!(!out.stderr.contains("fixture stand-in"), "{}", out.stderr);

    let standalone = [&["--master", "spark://master:7077"][..], &app].concat();
    let mut java_11 = spark_4.clone();
    java_11.retain(|(k, _)| k != "JAVA_HOME");
    java_11.push(("JAVA_HOME".into(), fixture("java/11")));
    let out = run(&java_11, &standalone, "driver");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("needs Java 17 or later") && out.stderr.contains("JAVA_HOME"),
        "{}",
        out.stderr
    );

    let out = run(&spark_4, &standalone, "driver");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(out.stderr.contains("fixture stand-in"), "{}", out.stderr);
}

/// A Spark 4 newer than spark-init knows (4.4) runs with 4.3's settings, and says so.
#[test]
fn a_newer_spark_4_runs_with_the_newest_known_settings_and_a_warning() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("RELEASE"),
        "Spark 4.4.0 built for Hadoop 3.5.0\n",
    )
    .unwrap();
    std::fs::create_dir(home.path().join("jars")).unwrap();
    for jar in ["spark-core_2.13-4.4.0.jar", "slf4j-api-2.0.17.jar"] {
        std::fs::write(home.path().join("jars").join(jar), "").unwrap();
    }
    let home = home.path().display().to_string();
    let env = with(&[("SPARK_HOME", &home), ("SPARK_INIT_DRY_RUN", "1")]);
    let out = run(&env, &[], "executor");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("Spark 4.4.0") && out.stdout.contains("is newer than the Spark lines"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("--sun-misc-unsafe-memory-access=allow"),
        "{}",
        out.stdout
    );
}

/// Regression (issue 9): `SPARK_INIT_SIGNAL_GROUP=on` was accepted, `SPARK_INIT_STORE_REQUIRED=on`
/// exited 78 and `SPARK_INIT_SCALE_DOWN_ON_EXIT=maybe` was silently false. Every yes/no
/// variable now takes the same words in any case, and refuses anything else by name.
#[test]
fn every_yes_no_variable_takes_the_same_words() {
    let yes = with(&[
        ("SPARK_INIT_SIGNAL_GROUP", "On"),
        ("SPARK_INIT_STORE_REQUIRED", "on"),
        ("SPARK_INIT_SCALE_DOWN_ON_EXIT", "YES"),
        ("SPARK_INIT_DRY_RUN", "True"),
    ]);
    let out = run(&yes, &[], "executor");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("spark-init dry run"), "{}", out.stdout);
    for name in [
        "SPARK_INIT_SIGNAL_GROUP",
        "SPARK_INIT_STORE_REQUIRED",
        "SPARK_INIT_SCALE_DOWN_ON_EXIT",
        "SPARK_INIT_DRY_RUN",
    ] {
        let out = run(&with(&[(name, "maybe")]), &[], "executor");
        assert_eq!(out.code, 78, "{name}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("{name}=\"maybe\": is not a yes/no value"))
                && out.stderr.contains("1, true, yes, on")
                && out.stderr.contains("0, false, no, off"),
            "{name}: {}",
            out.stderr
        );
    }
}

/// Regression (issue 9): a non-UTF-8 `SPARK_DRIVER_URL` was reported three times (three
/// readers of the variable) plus a contradictory "is not set". Every bad variable once.
#[test]
fn a_bad_variable_is_reported_exactly_once() {
    use std::os::unix::ffi::OsStrExt;
    let mut init = Init::new(["--role", "executor"]);
    for (k, v) in with(&[("SPARK_DRIVER_URL", ""), ("HOST", "")]) {
        init = init.env(k, v);
    }
    let bad = std::ffi::OsStr::from_bytes(b"spark://CoarseGrainedScheduler@h\xff:7077");
    let out = init
        .env("SPARK_DRIVER_URL", bad)
        .env("HOST", std::ffi::OsStr::from_bytes(b"\xfehost"))
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    for name in ["SPARK_DRIVER_URL", "HOST"] {
        let lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains(&format!("- {name}")))
            .collect();
        assert_eq!(lines.len(), 1, "{name}: {}", out.stderr);
        assert!(lines[0].contains("is not valid UTF-8"), "{}", out.stderr);
    }
    assert!(!out.stderr.contains("is not set"), "{}", out.stderr);
}

/// Regression (issue 9): bad generic variables and bad role variables came out in two separate
/// runs (the generic ones first, the role's only once those were fixed). One run reports all.
#[test]
fn generic_and_role_problems_come_out_in_one_run() {
    let env = with(&[
        ("SPARK_INIT_GRACE_SECONDS", "soon"),
        ("SPARK_INIT_EXIT_REMAP", "143"),
        ("PORT0", "http"),
        ("SPARK_EXECUTOR_CORES", "two"),
    ]);
    let out = run(&env, &["--bogus", "x"], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    for name in [
        "SPARK_INIT_GRACE_SECONDS=",
        "SPARK_INIT_EXIT_REMAP=",
        "PORT0=",
        "SPARK_EXECUTOR_CORES=",
        "args=\"--bogus\"",
    ] {
        assert!(
            out.stderr.contains(&format!("- {name}")),
            "{name}: {}",
            out.stderr
        );
    }
}

/// Regression (issue 9): a driver's problems with publishing to its executors' Marathon app
/// showed only once every other problem was fixed. They come in the same report now.
#[test]
fn a_drivers_publishing_problems_come_with_the_others() {
    let env = with(&[
        ("SPARK_DRIVER_URL", ""),
        ("SPARK_APPLICATION_ID", ""),
        ("SPARK_INIT_EXECUTOR_APP", "/spark/executors"),
        ("SPARK_INIT_FAILOVER_TIMEOUT", "never"),
    ]);
    let out = run(&env, &["--deploy-mode", "cluster", "app.jar"], "driver");
    assert_eq!(out.code, 78, "{}", out.stderr);
    for expected in [
        "client mode",
        "SPARK_INIT_FAILOVER_TIMEOUT=\"never\"",
        "SPARK_INIT_EXECUTOR_APP=\"/spark/executors\": is set but SPARK_INIT_MARATHON_URL is not",
    ] {
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
    }
}

/// Regression (issue 16): a `spark-defaults.conf` (or `--properties-file`) starting with a
/// UTF-16 byte-order mark panicked the release binary. It is a 78 naming the file.
#[test]
fn a_utf16_properties_file_is_78_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spark-defaults.conf");
    let mut bytes = vec![0xff, 0xfe];
    for c in "spark.master=local\n".bytes() {
        bytes.extend([c, 0]);
    }
    std::fs::write(&file, bytes).unwrap();
    let conf = dir.path().display().to_string();
    let out = run(&with(&[("SPARK_CONF_DIR", &conf)]), &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains(&file.display().to_string()) && out.stderr.contains("UTF-16"),
        "{}",
        out.stderr
    );
    let env = with(&[("SPARK_DRIVER_URL", ""), ("SPARK_APPLICATION_ID", "")]);
    let path = file.display().to_string();
    let out = run(&env, &["--properties-file", &path, "app.jar"], "driver");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("UTF-16"), "{}", out.stderr);
}

/// Regression (issue 16): out-of-range numbers were taken (`--cores 4294967295`, a memory of
/// 1e308 MiB) or overflowed the heap arithmetic. Each is a 78 that states the range.
#[test]
fn numbers_out_of_range_are_78_stating_the_range() {
    let cases: [(&str, &str, &str); 8] = [
        ("SPARK_EXECUTOR_CORES", "4294967295", "from 1 to 65536"),
        ("MARATHON_APP_RESOURCE_CPUS", "1.0E308", "at most 65536"),
        ("MARATHON_APP_RESOURCE_MEM", "1e308", "at most 16777216"),
        ("SPARK_EXECUTOR_MEMORY", "18446744073709551615g", "16 TiB"),
        ("SPARK_EXECUTOR_MEMORY", "17t", "16 TiB"),
        (
            "SPARK_INIT_EXECUTOR_INSTANCES",
            "4294967296",
            "from 0 to 100000",
        ),
        ("SPARK_INIT_FAILOVER_TIMEOUT", "1e300", "at most 31536000"),
        ("SPARK_INIT_EXECUTOR_WAIT", "1e9", "(0 to 86400)"),
    ];
    for (name, value, range) in cases {
        let out = run(&with(&[(name, value)]), &[], "executor");
        let out = if name == "SPARK_INIT_FAILOVER_TIMEOUT" || name == "SPARK_INIT_EXECUTOR_WAIT" {
            let env = with(&[
                (name, value),
                ("SPARK_DRIVER_URL", ""),
                ("SPARK_APPLICATION_ID", ""),
            ]);
            run(&env, &["app.jar"], "driver")
        } else {
            out
        };
        assert_eq!(out.code, 78, "{name}={value}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("{name}=")) && out.stderr.contains(range),
            "{name}={value}: {}",
            out.stderr
        );
    }
}

/// A `SPARK_CONF_DIR` holding a spark-defaults.conf with `lines`.
fn conf_dir(lines: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spark-defaults.conf"), lines).unwrap();
    dir
}

/// Issue 10: a 4 GiB container with 1 GiB off-heap, 1 GiB of PySpark memory and a 512 MiB
/// overhead got -Xmx3584m (6 GiB planned for 4). The heap is what is left of the container
/// after everything Spark puts beside it (`ResourceProfile.ExecutorResourcesOrDefaults
/// .totalMemMiB`): 4096 - 512 - 1024 - 1024.
#[test]
fn the_heap_leaves_room_for_everything_spark_puts_in_the_container() {
    let conf = conf_dir(
        "spark.memory.offHeap.enabled true\nspark.memory.offHeap.size 1g\n\
         spark.executor.pyspark.memory 1g\nspark.executor.memoryOverhead 512m\n",
    );
    let dir = conf.path().display().to_string();
    let env = with(&[
        ("SPARK_CONF_DIR", &dir),
        ("MARATHON_APP_RESOURCE_MEM", "4096.0"),
    ]);
    let out = run(&env, &[], "executor");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(out.stderr.contains(" -Xmx1536m "), "{}", out.stderr);
    // Off-heap enabled with no size is refused, as Spark refuses it.
    let conf = conf_dir("spark.memory.offHeap.enabled true\n");
    let dir = conf.path().display().to_string();
    let out = run(&with(&[("SPARK_CONF_DIR", &dir)]), &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("spark.memory.offHeap.size must be"),
        "{}",
        out.stderr
    );
}

/// Issue 10: `spark.executor.memory` in spark-defaults.conf is a setting: honoured when it fits
/// the container with everything else, a 78 naming both values when it cannot.
#[test]
fn spark_executor_memory_is_honoured_when_it_fits() {
    let fits = conf_dir("spark.executor.memory 1g\n");
    let dir = fits.path().display().to_string();
    let out = run(&with(&[("SPARK_CONF_DIR", &dir)]), &[], "executor");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(out.stderr.contains(" -Xmx1024m "), "{}", out.stderr);
    let too_big = conf_dir("spark.executor.memory 8g\n");
    let dir = too_big.path().display().to_string();
    let out = run(&with(&[("SPARK_CONF_DIR", &dir)]), &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    for part in [
        "spark.executor.memory=8g",
        "container's 2048 MiB",
        "lower spark.executor.memory",
    ] {
        assert!(out.stderr.contains(part), "{part}: {}", out.stderr);
    }
}

/// Review finding: a too-small SPARK_EXECUTOR_MEMORY was told to raise the app's mem; the
/// variable is the heap, so the fix is the variable.
#[test]
fn a_heap_too_small_names_the_setting_to_raise() {
    let out = run(&with(&[("SPARK_EXECUTOR_MEMORY", "449m")]), &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("SPARK_EXECUTOR_MEMORY=\"449m\"")
            && out
                .stderr
                .contains("set SPARK_EXECUTOR_MEMORY to at least 465m"),
        "{}",
        out.stderr
    );
    let out = run(
        &with(&[("MARATHON_APP_RESOURCE_MEM", "700.0")]),
        &[],
        "executor",
    );
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("give the app at least 849 MiB"),
        "{}",
        out.stderr
    );
    // Issue 18: the value as Marathon gave it, not the whole MiB it is taken as ("700").
    assert!(
        out.stderr
            .contains("MARATHON_APP_RESOURCE_MEM=\"700.0\": leaves a heap"),
        "{}",
        out.stderr
    );
}

/// Issue 10: the driver's heap follows Marathon's memory like an executor's, unless set.
#[test]
fn the_drivers_memory_follows_the_container_unless_set() {
    let env = with(&[("SPARK_DRIVER_URL", ""), ("SPARK_APPLICATION_ID", "")]);
    let out = run(&env, &["app.jar"], "driver");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(
        out.stderr.contains(" --driver-memory 1664m "),
        "{}",
        out.stderr
    );
    // Issue 13: the exit's explanation has what the plan gave the JVM.
    let exit = |out: &Finished| {
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains(" command exited 99"));
        line.unwrap_or_else(|| panic!("no exit line: {}", out.stderr))
            .to_string()
    };
    assert!(
        exit(&out).contains(" heap_mib=1664 memory_overhead_mib=384"),
        "{}",
        out.stderr
    );
    let out = run(&env, &["--driver-memory", "4g", "app.jar"], "driver");
    assert!(
        exit(&out).contains(" heap_mib=4096 memory_overhead_mib=409"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, 99, "{}", out.stderr);
    let submitted = out
        .stderr
        .lines()
        .find(|l| l.starts_with("fixture stand-in"));
    let submitted = submitted.unwrap_or_default();
    assert_eq!(
        submitted.matches("--driver-memory").count(),
        1,
        "{submitted}"
    );
    assert!(
        out.stderr
            .contains("the driver's memory 4g (the app's args (--driver-memory))")
            && out.stderr.contains("more than the container's 2048 MiB"),
        "{}",
        out.stderr
    );
}

/// Fresh-eyes trial of issue 15: `SPARK_DRIVER_MEMORY` (spark-submit's launcher reads it after
/// the confs, then `SPARK_MEM`) was overridden by spark-init's own `--driver-memory`.
#[test]
fn spark_driver_memory_in_the_environment_is_the_users_setting() {
    for name in ["SPARK_DRIVER_MEMORY", "SPARK_MEM"] {
        let mut env = with(&[("SPARK_DRIVER_URL", ""), ("SPARK_APPLICATION_ID", "")]);
        env.push((name.to_string(), "1g".to_string()));
        let out = run(&env, &["app.jar"], "driver");
        assert_eq!(out.code, 99, "{}", out.stderr);
        let submitted = out
            .stderr
            .lines()
            .find(|l| l.starts_with("fixture stand-in"))
            .unwrap_or_default();
        assert!(
            !submitted.contains("--driver-memory"),
            "{name}: {submitted}"
        );
        assert!(
            out.stderr.contains(" heap_mib=1024 "),
            "{name}: {}",
            out.stderr
        );
    }
}

/// Issue 18: a driver with no master ran spark-submit on local[*] without a word; with one
/// (from the args here) it says nothing.
#[test]
fn a_driver_without_a_master_is_warned_about() {
    let env = with(&[("SPARK_DRIVER_URL", ""), ("SPARK_APPLICATION_ID", "")]);
    let out = run(&env, &["app.jar"], "driver");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(
        out.stderr.contains("WARN the driver has no master") && out.stderr.contains("local[*]"),
        "{}",
        out.stderr
    );
    let out = run(&env, &["--master", "spark://m:7077", "app.jar"], "driver");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(!out.stderr.contains("has no master"), "{}", out.stderr);
}

/// Review nit (issue 18): `--driver-memory abc` passed; spark-submit refused it after the
/// lookups. The size is checked like any other, with the container's memory known or not.
#[test]
fn a_drivers_memory_that_is_not_a_size_is_78() {
    let env = with(&[("SPARK_DRIVER_URL", ""), ("SPARK_APPLICATION_ID", "")]);
    for env in [
        env.clone(),
        with(&[
            ("SPARK_DRIVER_URL", ""),
            ("SPARK_APPLICATION_ID", ""),
            ("MARATHON_APP_RESOURCE_MEM", ""),
        ]),
    ] {
        let out = run(&env, &["--driver-memory", "abc", "app.jar"], "driver");
        assert_eq!(out.code, 78, "{}", out.stderr);
        assert!(
            out.stderr.contains(
                "the app's args (--driver-memory)=\"abc\": is not a size such as 4g or 512m; \
                 spark-submit would refuse it"
            ),
            "{}",
            out.stderr
        );
    }
    let out = run(&env, &["--driver-memory", "1.5g", "app.jar"], "driver");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("write 1536m, not 1.5g"),
        "{}",
        out.stderr
    );
}

/// A `HADOOP_HOME` whose `bin/hadoop` runs `script` (a `sh` body).
fn hadoop_home(script: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    let hadoop = dir.path().join("bin/hadoop");
    std::fs::write(&hadoop, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&hadoop, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Issue 10: the classpath as the official image's entrypoint builds it (apache/spark-docker
/// entrypoint.sh): SPARK_CONF_DIR, HADOOP_CONF_DIR, SPARK_CLASSPATH, Spark's jars,
/// SPARK_EXTRA_CLASSPATH, the working directory, then SPARK_DIST_CLASSPATH, which
/// `$HADOOP_HOME/bin/hadoop classpath` fills when it is unset.
#[test]
fn the_classpath_follows_the_official_image() {
    let conf = tempfile::tempdir().unwrap();
    let conf_dir = conf.path().display().to_string();
    let hadoop = hadoop_home("echo /hadoop/etc:/hadoop/share/*");
    let home = hadoop.path().display().to_string();
    let env = with(&[
        ("SPARK_CONF_DIR", &conf_dir),
        ("HADOOP_CONF_DIR", "/etc/hadoop"),
        ("SPARK_CLASSPATH", "/app/lib/*"),
        ("SPARK_EXTRA_CLASSPATH", "/extra/*"),
        ("HADOOP_HOME", &home),
    ]);
    let out = run(&env, &[], "executor");
    assert_eq!(out.code, 99, "{}", out.stderr);
    let jars = fixture("spark/3.5.7/jars/*");
    let want = format!(
        " -cp {conf_dir}:/etc/hadoop:/app/lib/*:{jars}:/extra/*:{}:/hadoop/etc:/hadoop/share/* ",
        std::env::current_dir().unwrap().display()
    );
    assert!(out.stderr.contains(&want), "{want}\n{}", out.stderr);
    // SPARK_DIST_CLASSPATH set: hadoop is not asked.
    let mut dist = env.clone();
    dist.push(("SPARK_DIST_CLASSPATH".into(), "/dist/*".into()));
    let out = run(&dist, &[], "executor");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(out.stderr.contains(":/dist/* "), "{}", out.stderr);
    assert!(!out.stderr.contains("/hadoop/share"), "{}", out.stderr);
}

#[test]
fn a_failing_hadoop_classpath_is_78_naming_it() {
    let hadoop = hadoop_home("echo 'Error: JAVA_HOME is not set' >&2; exit 1");
    let home = hadoop.path().display().to_string();
    let out = run(&with(&[("HADOOP_HOME", &home)]), &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("HADOOP_HOME=")
            && out.stderr.contains("bin/hadoop classpath failed")
            && out.stderr.contains("Error: JAVA_HOME is not set"),
        "{}",
        out.stderr
    );
}

/// Issue 10: `$SPARK_CONF_DIR/spark-env.sh` is loaded for executors as `spark-class` loads it:
/// what it sets is read by spark-init (here the heap) and reaches the JVM; a script that fails
/// is a 78 naming it with the last line it wrote to stderr.
#[test]
fn spark_env_sh_is_loaded_for_executors() {
    let conf = conf_dir("");
    std::fs::write(
        conf.path().join("spark-env.sh"),
        "SPARK_EXECUTOR_MEMORY=1g\nMY_SETTING=\"from spark-env\"\n",
    )
    .unwrap();
    let dir = conf.path().display().to_string();
    let out = run(&with(&[("SPARK_CONF_DIR", &dir)]), &[], "executor");
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(out.stderr.contains(" -Xmx1024m "), "{}", out.stderr);
    let failing = conf_dir("");
    std::fs::write(
        failing.path().join("spark-env.sh"),
        "echo 'spark-env.sh: line 3: hadoop: not found' >&2\nexit 3\n",
    )
    .unwrap();
    let dir = failing.path().display().to_string();
    let out = run(&with(&[("SPARK_CONF_DIR", &dir)]), &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("spark-env.sh failed") && out.stderr.contains("hadoop: not found"),
        "{}",
        out.stderr
    );
}

/// Issue 11: the official image's habits. `executor` as the first argument chooses the role
/// (it was exit 127, "executor" not found); `driver ...` repeating SPARK_INIT_ROLE=driver is
/// consumed, not given to spark-submit as the application; a program given to an image whose
/// role comes from SPARK_INIT_ROLE runs as a plain command, with a warning saying why.
#[test]
fn the_official_images_subcommands_and_pass_through() {
    let out = run_plain(&executor_env(), &["executor"]);
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(
        out.stderr.contains("CoarseGrainedExecutorBackend"),
        "{}",
        out.stderr
    );
    let mut env = with(&[("SPARK_DRIVER_URL", ""), ("SPARK_APPLICATION_ID", "")]);
    env.push(("SPARK_INIT_ROLE".into(), "driver".into()));
    let out = run_plain(&env, &["driver", "app.jar"]);
    assert_eq!(out.code, 99, "{}", out.stderr);
    let submitted = out
        .stderr
        .lines()
        .find(|l| l.starts_with("fixture stand-in"))
        .unwrap();
    assert!(
        submitted.ends_with(" app.jar") && !submitted.contains(" driver "),
        "{submitted}"
    );
    let out = run_plain(&env, &["sh", "-c", "exit 7"]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("sh is a program, so it runs as a plain command"),
        "{}",
        out.stderr
    );
}

/// spark-init with no `--role` and no `--` before the arguments, as Marathon starts it.
fn run_plain(env: &[(String, String)], args: &[&str]) -> entrypoint_tests::Finished {
    let mut init = Init::new(["--"].iter().chain(args.iter()));
    for (k, v) in env {
        init = init.env(k, v);
    }
    in_the_apps_folder(init).run()
}

/// Review finding: with the installation missing, bad cores, heap and driver URL came out only
/// in a second run. What does not depend on the Spark version is reported with it.
#[test]
fn a_missing_installation_comes_with_the_other_problems() {
    let env = with(&[
        ("SPARK_HOME", "/nonexistent"),
        ("SPARK_EXECUTOR_CORES", "0"),
        ("SPARK_EXECUTOR_MEMORY", "lots"),
        ("SPARK_DRIVER_URL", "http://x"),
    ]);
    let out = run(&env, &[], "executor");
    assert_eq!(out.code, 78, "{}", out.stderr);
    for name in [
        "SPARK_HOME=",
        "SPARK_EXECUTOR_CORES=",
        "SPARK_EXECUTOR_MEMORY=",
        "SPARK_DRIVER_URL=",
    ] {
        assert!(
            out.stderr.contains(&format!("- {name}")),
            "{name}: {}",
            out.stderr
        );
    }
}
