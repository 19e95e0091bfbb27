//! Class-data sharing for the executor and the driver, against the real JVM 17 and real Spark
//! 3.5.7 and 4.3.0: `spark-init cds build` makes the archives from a training run (a real
//! master, driver and executor on loopback), and each role's plan uses its archive only when
//! the real JVM would map it. Each rule of the issue is checked both ways: spark-init's decision, and the JVM's
//! own (`-Xshare:on ... -version` exits non-zero when it would not map the archive), so a rule
//! spark-init enforces that the JVM does not (or the other way round) fails here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{OnceLock, RwLock};

use entrypoint_tests::docker::REQUIRE;
use entrypoint_tests::spark_app::{spark_jvm, start_master, tiny_driver_classes};
use entrypoint_tests::{
    fixture, free_port, plan_argv, poll, pyspark_home, spark_jars, wait_file, workspace_root, Init,
    Killed, HANG, SPARK_3, SPARK_4,
};
use serde_json::Value;

/// The tests that give an archive's conf directory a file take this for writing; the others
/// read it, so they never see that file.
static CONF: RwLock<()> = RwLock::new(());

const EXECUTOR_CLASS: &str = "org.apache.spark.executor.CoarseGrainedExecutorBackend";

/// An archive built by `spark-init cds build` for a release, once per test run.
struct Built {
    dir: PathBuf,
    archive: PathBuf,
}

impl Built {
    fn conf(&self) -> PathBuf {
        self.dir.join("conf")
    }
}

fn built(spark: &str) -> &'static Built {
    static BUILT: [OnceLock<Built>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = if spark == SPARK_3 { 0 } else { 1 };
    BUILT[slot].get_or_init(|| {
        let dir = workspace_root().join(format!("target/cds-tests/{spark}"));
        // A plain process, not Init: the training takes about a minute here, longer than Init
        // waits.
        let (out, archive) = entrypoint_tests::cds_bench::cds_build(spark, &dir);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "cds build: {stdout}\n{stderr}");
        assert!(stdout.contains("spark-init cds build: "), "{stdout}");
        let manifest: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("executor.jsa.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["spark_version"], spark);
        assert_eq!(manifest["kind"], "static");
        assert_eq!(manifest["role"], "executor");
        assert_eq!(manifest["classpath"][0]["kind"], "absent", "{manifest}");
        let driver: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("driver.jsa.json")).unwrap())
                .unwrap();
        assert_eq!(driver["role"], "driver");
        assert!(
            (driver["classpath"].as_array().unwrap().iter())
                .all(|e| e["path"].as_str().unwrap().ends_with(".jar")),
            "the driver's archive: Spark's jars alone: {driver}"
        );
        assert!(
            !dir.join("executor.jsa.training").exists(),
            "work folder left"
        );
        Built { dir, archive }
    })
}

/// The executor's dry-run plan with the archive `built` made and `env` on top.
fn plan(spark: &str, built: &Built, env: &[(&str, &str)]) -> Value {
    let mut init = Init::new(["--role", "executor", "--dry-run", "--output", "json"])
        .env("SPARK_HOME", pyspark_home(spark))
        .env("SPARK_CONF_DIR", built.conf())
        .env("SPARK_INIT_CDS_ARCHIVE", &built.archive)
        .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
        .env(
            "SPARK_DRIVER_URL",
            "spark://CoarseGrainedScheduler@127.0.0.1:7078",
        )
        .env("SPARK_APPLICATION_ID", "app-20261129-0001")
        .env("SPARK_EXECUTOR_ID", "1")
        .env("HOST", "127.0.0.1")
        .env("PORT0", "31005")
        .env("MARATHON_APP_RESOURCE_CPUS", "1")
        .env("MARATHON_APP_RESOURCE_MEM", "2048");
    for (name, value) in env {
        init = init.env(name, value);
    }
    let out = init.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// The JVM's own check of the plan's JVM (everything before the main class, `-Xms` left out so
/// that a large heap is only reserved), with `-Xshare:on` and the archive: does it map it?
fn jvm_maps(plan: &Value, archive: &Path) -> (bool, String) {
    let argv = plan_argv(plan);
    let main = argv.iter().position(|a| *a == EXECUTOR_CLASS).unwrap();
    let mut command = Command::new(argv[0]);
    command.args(argv[1..main].iter().filter(|a| !a.starts_with("-Xms")));
    if !argv.iter().any(|a| a.starts_with("-XX:SharedArchiveFile=")) {
        command.arg(format!("-XX:SharedArchiveFile={}", archive.display()));
    }
    let out = command
        .args(["-Xshare:on", "-version"])
        .env_remove("JAVA_TOOL_OPTIONS")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), text)
}

fn uses_archive(plan: &Value) -> bool {
    plan_argv(plan)
        .iter()
        .any(|a| a.starts_with("-XX:SharedArchiveFile="))
}

fn warnings(plan: &Value) -> String {
    plan["warnings"].to_string()
}

#[test]
fn an_archive_whose_manifest_matches_is_used_with_sparks_jars_listed_and_the_jvm_maps_it() {
    for spark in [SPARK_3, SPARK_4] {
        let built = built(spark);
        let _read = CONF.read().unwrap_or_else(|e| e.into_inner());
        let plan = plan(spark, built, &[]);
        assert!(uses_archive(&plan), "{spark}: {plan}");
        let argv = plan_argv(&plan);
        let classpath = argv[argv.iter().position(|a| *a == "-cp").unwrap() + 1];
        assert!(
            !classpath.contains("/*"),
            "{spark}: an explicit jar list: {classpath}"
        );
        let (maps, why) = jvm_maps(&plan, &built.archive);
        assert!(
            maps,
            "{spark}: the JVM refuses what spark-init chose: {why}"
        );
        assert_eq!(warnings(&plan), "[]", "{spark}");
    }
}

#[test]
fn the_jars_wildcard_in_directory_order_is_what_the_jvm_refuses() {
    // Why the explicit list: `jars/*` expands in readdir order. Where that order is not the
    // sorted one (as on ext4 and overlayfs here), the JVM refuses the archive with it.
    let spark = SPARK_3;
    let built = built(spark);
    let _read = CONF.read().unwrap_or_else(|e| e.into_inner());
    let jars = pyspark_home(spark).join("jars");
    let in_dir_order: Vec<String> = fs::read_dir(&jars)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jar"))
        .collect();
    let mut sorted = in_dir_order.clone();
    sorted.sort();
    assert_ne!(in_dir_order, sorted, "this file system lists jars/ sorted");
    let plan = plan(spark, built, &[]);
    let mut with_wildcard = plan.clone();
    let argv = with_wildcard["argv"].as_array_mut().unwrap();
    let cp = argv.iter().position(|a| a == "-cp").unwrap() + 1;
    argv[cp] = Value::from(format!("{}:{}/*", built.conf().display(), jars.display()));
    let (maps, why) = jvm_maps(&with_wildcard, &built.archive);
    assert!(!maps, "the JVM mapped the archive with jars/*: {why}");
    assert!(why.contains("shared class paths mismatch"), "{why}");
}

#[test]
fn an_entry_put_before_sparks_jars_turns_the_archive_off_and_says_why() {
    for spark in [SPARK_3, SPARK_4] {
        let built = built(spark);
        let _read = CONF.read().unwrap_or_else(|e| e.into_inner());
        let app = built.dir.join("app.jar");
        fs::copy(workspace_root().join("Cargo.toml"), &app).unwrap();
        let plan = plan(spark, built, &[("SPARK_CLASSPATH", app.to_str().unwrap())]);
        assert!(!uses_archive(&plan), "{spark}: {plan}");
        assert!(
            warnings(&plan).contains("differs from the archive's at entry 2"),
            "{spark}: {}",
            warnings(&plan)
        );
        let (maps, why) = jvm_maps(&plan, &built.archive);
        assert!(!maps, "{spark}: the JVM would have mapped it: {why}");
        // After Spark's jars it is fine, for spark-init and for the JVM.
        let plan = plan_after(spark, built, &app);
        assert!(uses_archive(&plan), "{spark}: {}", warnings(&plan));
        assert!(jvm_maps(&plan, &built.archive).0, "{spark}");
    }
}

fn plan_after(spark: &str, built: &Built, jar: &Path) -> Value {
    plan(
        spark,
        built,
        &[("SPARK_EXTRA_CLASSPATH", jar.to_str().unwrap())],
    )
}

#[test]
fn a_conf_directory_that_gains_a_file_turns_the_archive_off_and_says_why() {
    for spark in [SPARK_3, SPARK_4] {
        let built = built(spark);
        let _write = CONF.write().unwrap_or_else(|e| e.into_inner());
        fs::create_dir_all(built.conf()).unwrap();
        // spark.executor.extraClassPath in it also prepends an entry: the first difference is
        // the one named.
        fs::write(
            built.conf().join("log4j2.properties"),
            "rootLogger.level = warn\n",
        )
        .unwrap();
        let plan = plan(spark, built, &[]);
        let (maps, why) = jvm_maps(&plan, &built.archive);
        fs::remove_dir_all(built.conf()).unwrap();
        assert!(!uses_archive(&plan), "{spark}: {plan}");
        assert!(
            warnings(&plan).contains("holding log4j2.properties"),
            "{spark}: {}",
            warnings(&plan)
        );
        assert!(!maps, "{spark}: the JVM would have mapped it: {why}");
    }
}

#[test]
fn a_heap_over_the_compressed_oops_limit_turns_the_archive_off_at_the_jvms_own_boundary() {
    let spark = SPARK_3;
    let built = built(spark);
    let _read = CONF.read().unwrap_or_else(|e| e.into_inner());
    let last = plan(spark, built, &[("SPARK_EXECUTOR_MEMORY", "32736m")]);
    assert!(uses_archive(&last), "{}", warnings(&last));
    assert!(jvm_maps(&last, &built.archive).0);
    let over = plan(spark, built, &[("SPARK_EXECUTOR_MEMORY", "32737m")]);
    assert!(!uses_archive(&over));
    assert!(
        warnings(&over).contains("compressed oops"),
        "{}",
        warnings(&over)
    );
    let (maps, why) = jvm_maps(&over, &built.archive);
    assert!(!maps, "the JVM would have mapped it: {why}");
}

#[test]
fn a_missing_archive_file_adds_no_flag_since_that_would_turn_off_the_jdks_own_archive() {
    let built = built(SPARK_3);
    let missing = built.dir.join("missing.jsa");
    let plan = plan(
        SPARK_3,
        built,
        &[("SPARK_INIT_CDS_ARCHIVE", missing.to_str().unwrap())],
    );
    assert!(!uses_archive(&plan));
    assert!(
        warnings(&plan).contains("there is no such file"),
        "{}",
        warnings(&plan)
    );
    // What the flag would cost: the JDK's default archive off ("sharing" gone).
    let version = |args: &[String]| {
        let out = Command::new("java")
            .args(args)
            .arg("-version")
            .env_remove("JAVA_TOOL_OPTIONS")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(version(&[]).contains("sharing"));
    let flag = format!("-XX:SharedArchiveFile={}", missing.display());
    assert!(!version(&[flag]).contains("sharing"));
}

#[test]
fn the_default_path_without_an_archive_is_silent() {
    // Unset: the image's default path, which holds nothing on this machine.
    let plan: Value = {
        let out = Init::new(["--role", "executor", "--dry-run", "--output", "json"])
            .env("SPARK_HOME", pyspark_home(SPARK_3))
            .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
            .env(
                "SPARK_DRIVER_URL",
                "spark://CoarseGrainedScheduler@127.0.0.1:7078",
            )
            .env("SPARK_APPLICATION_ID", "app-1")
            .env("SPARK_EXECUTOR_ID", "1")
            .env("HOST", "127.0.0.1")
            .env("MARATHON_APP_RESOURCE_MEM", "2048")
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    };
    assert!(!Path::new(spark_init::cds::DEFAULT_ARCHIVE).exists());
    assert!(!uses_archive(&plan));
    assert!(
        !warnings(&plan).contains("class-data"),
        "{}",
        warnings(&plan)
    );
}

/// `spark-init cds build` for Spark 3 writing into `dir`: `dir/conf`, `dir/executor.jsa`,
/// `dir/driver.jsa`.
fn cds_build_into(dir: &Path) -> Init {
    Init::new(["cds", "build"])
        .env("SPARK_HOME", pyspark_home(SPARK_3))
        .env("SPARK_CONF_DIR", dir.join("conf"))
        .env("SPARK_INIT_CDS_ARCHIVE", dir.join("executor.jsa"))
        .env("SPARK_INIT_CDS_DRIVER_ARCHIVE", dir.join("driver.jsa"))
}

#[test]
fn cds_build_refuses_a_non_empty_conf_directory_and_an_empty_archive_path() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("conf")).unwrap();
    fs::write(dir.path().join("conf/spark-defaults.conf"), "").unwrap();
    let archive = dir.path().join("executor.jsa");
    let out = cds_build_into(dir.path()).run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("holding spark-defaults.conf"),
        "{}",
        out.stderr
    );
    assert!(!archive.exists() && !dir.path().join("driver.jsa").exists());
    let out = Init::new(["cds", "build"])
        .env("SPARK_HOME", pyspark_home(SPARK_3))
        .env("SPARK_INIT_CDS_ARCHIVE", "")
        .env("SPARK_INIT_CDS_DRIVER_ARCHIVE", " ")
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    for name in ["SPARK_INIT_CDS_ARCHIVE", "SPARK_INIT_CDS_DRIVER_ARCHIVE"] {
        assert!(out.stderr.contains(name), "{}", out.stderr);
    }
}

/// The driver's dry-run plan with the archive `built` made, the conf directory `conf`, and
/// `env` and `args` on top (the app: TinyDriver's jar against `master`).
fn driver_plan(
    spark: &str,
    built: &Built,
    conf: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Value {
    let mut init = Init::new(["--role", "driver", "--dry-run", "--output", "json", "--"])
        .env("SPARK_HOME", pyspark_home(spark))
        .env("SPARK_CONF_DIR", conf)
        .env(
            "SPARK_INIT_CDS_DRIVER_ARCHIVE",
            built.dir.join("driver.jsa"),
        )
        .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
        .env("HOST", "127.0.0.1")
        .env("PORT0", "31000")
        .env("PORT1", "31001")
        .env("PORT2", "31002");
    for (name, value) in env {
        init = init.env(name, value);
    }
    for arg in args {
        init = init.arg(arg);
    }
    let jar = entrypoint_tests::spark_app::tiny_driver_jar(spark);
    let out = init
        .args([
            "--master",
            "spark://127.0.0.1:7077",
            "--class",
            "TinyDriver",
        ])
        .arg(&jar)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// A conf directory as an image has one: spark-defaults.conf, and a log4j2.properties whose
/// pattern marks every line the driver logs.
fn driver_conf(dir: &Path) -> PathBuf {
    let conf = dir.join("driver-conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(
        conf.join("spark-defaults.conf"),
        "spark.ui.showConsoleProgress false\n",
    )
    .unwrap();
    fs::write(
        conf.join("log4j2.properties"),
        "rootLogger.level = info\n\
         rootLogger.appenderRef.stderr.ref = console\n\
         appender.console.type = Console\n\
         appender.console.name = console\n\
         appender.console.target = SYSTEM_ERR\n\
         appender.console.layout.type = PatternLayout\n\
         appender.console.layout.pattern = FROM-CONF-DIR %p %c{1}: %m%n\n",
    )
    .unwrap();
    conf
}

/// Whether any process under `pid` whose command line names `class` maps `file`; its pid.
fn jvm_mapping(pid: i32, class: &str, file: &Path) -> Option<(i32, bool)> {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&cmdline).contains(class) {
        let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        return Some((pid, maps.contains(&file.display().to_string())));
    }
    entrypoint_tests::children_of(pid)
        .into_iter()
        .find_map(|child| jvm_mapping(child, class, file))
}

/// The driver role, as PID 1, runs spark-submit; the JVM spark-submit's launcher starts
/// (`SparkSubmit`) maps the driver's archive with it and not without it; its conf directory,
/// now after Spark's jars on the classpath, still configures it (its log4j2.properties
/// pattern is on the driver's lines).
#[test]
fn the_driver_jvm_spark_submit_starts_maps_the_drivers_archive_and_keeps_its_conf_directory() {
    for spark in [SPARK_3, SPARK_4] {
        let built = built(spark);
        let dir = built.dir.join("driver-run");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let conf = driver_conf(&dir);
        let (_master, master_port) = start_master(spark, &dir);
        let driver_archive = built.dir.join("driver.jsa");
        for (archive, mapped) in [(driver_archive.clone(), true), (PathBuf::new(), false)] {
            let folder = dir.join(format!("report-{mapped}"));
            fs::create_dir_all(&folder).unwrap();
            let port = free_port().to_string();
            let mut driver = Init::new(["--role", "driver", "--"])
                .env("SPARK_HOME", pyspark_home(spark))
                .env("SPARK_CONF_DIR", &conf)
                .env("SPARK_INIT_CDS_DRIVER_ARCHIVE", &archive)
                .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
                .env("HOST", "127.0.0.1")
                .env("PORT0", &port)
                .env("PORT1", free_port().to_string())
                .env("PORT2", free_port().to_string())
                .env("SPARK_INIT_LOG", "info")
                .args(["--master", &format!("spark://127.0.0.1:{master_port}")])
                .args(["--class", "TinyDriver"])
                .arg(entrypoint_tests::spark_app::tiny_driver_jar(spark))
                .arg(format!("spark://127.0.0.1:{master_port}"))
                .arg(&folder)
                .args(["0", &port, &free_port().to_string()])
                .spawn();
            let report = poll("the driver's SparkContext", HANG * 4, || {
                assert!(
                    !driver.try_finished(),
                    "{spark}: {}",
                    driver.stderr_so_far()
                );
                fs::read_to_string(folder.join("driver")).ok()
            });
            assert!(report.contains(&port), "{report}");
            let (pid, maps) = jvm_mapping(
                driver.init_pid(),
                "org.apache.spark.deploy.SparkSubmit",
                &driver_archive,
            )
            .expect("a SparkSubmit JVM under spark-init");
            let stderr = driver.stderr_so_far();
            assert_eq!(maps, mapped, "{spark}: SparkSubmit (pid {pid}): {stderr}");
            assert!(
                stderr.contains("FROM-CONF-DIR INFO SparkContext: Running Spark version"),
                "{spark}: the conf directory's log4j2.properties: {stderr}"
            );
            assert!(!stderr.contains("spark-init[1] WARN"), "{spark}: {stderr}");
        }
    }
}

/// With the driver's archive, Spark's jars come before the conf directory: no jar of
/// Spark's holds, at its root, a file an image puts in its conf directory, so each is found
/// where it was before.
#[test]
fn no_spark_jar_holds_a_conf_directory_file_at_its_root() {
    for spark in [SPARK_3, SPARK_4] {
        let out = Command::new("java")
            .arg("-cp")
            .arg(entrypoint_tests::java_classes())
            .arg("RootResources")
            .arg(spark_jars(spark))
            .args([
                "spark-defaults.conf",
                "spark-env.sh",
                "log4j2.properties",
                "log4j2.xml",
                "log4j.properties",
                "metrics.properties",
                "fairscheduler.xml",
                "core-site.xml",
                "hdfs-site.xml",
                "hive-site.xml",
                "yarn-site.xml",
            ])
            .env_remove("JAVA_TOOL_OPTIONS")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        let checked = text.lines().last().unwrap_or("");
        assert!(
            checked.starts_with("checked ") && checked != "checked 0 jars",
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{spark}: {text}");
    }
}

/// The image's driver uses the driver's archive its build made: the plan passes Spark's jars as spark.driver.extraClassPath
/// and the archive in SPARK_SUBMIT_OPTS, and the JVM in the container, as the user `spark`,
/// maps it with that classpath and the image's conf directory after it. Skips, saying so, when
/// Docker or the image is missing.
#[test]
fn the_images_driver_uses_the_archive_its_build_made() {
    for (spark, image) in images(&[SPARK_3, SPARK_4]) {
        let out = Command::new("docker")
            .args(["run", "--rm", "-e", "HOST=127.0.0.1", "-e", "PORT0=31000"])
            .args(["-e", "PORT1=31001", "-e", "PORT2=31002"])
            .args(["-e", "MARATHON_APP_RESOURCE_MEM=2048"])
            .args(["--entrypoint", "/usr/local/bin/spark-init", &image])
            .args(["--role", "driver", "--dry-run", "--output", "json", "--"])
            .args(["--master", "spark://127.0.0.1:7077"])
            .args(["--class", "Main"])
            .arg(format!(
                "local:///opt/spark/jars/spark-core_{}-{spark}.jar",
                entrypoint_tests::scala_of(spark)
            ))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{image}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: Value = serde_json::from_str(&text).unwrap();
        let option = format!(
            "-XX:SharedArchiveFile={}",
            spark_init::cds::DEFAULT_DRIVER_ARCHIVE
        );
        assert_eq!(
            plan["env"]["SPARK_SUBMIT_OPTS"],
            option.as_str(),
            "{image}: {plan}"
        );
        let argv = plan_argv(&plan);
        let jars = argv
            .iter()
            .find_map(|a| a.strip_prefix("spark.driver.extraClassPath="))
            .unwrap_or_else(|| panic!("{image}: {plan}"));
        let conf = plan["resolved"]["spark_conf_dir"]["value"]
            .as_str()
            .unwrap();
        let classpath = format!("{jars}:{conf}");
        let command = format!("java {option} -Xshare:on -cp {classpath} -version");
        the_jvm_maps_it_in(&image, &command);
    }
}

/// `--driver-class-path` (spark.driver.extraClassPath) puts the user's entries first: the
/// archive's classpath no longer opens the driver's, so spark-init leaves it out and says why,
/// as the JVM would refuse it; without it the plan passes Spark's jars and the JVM maps it.
#[test]
fn a_driver_class_path_turns_the_drivers_archive_off_and_says_why() {
    for spark in [SPARK_3, SPARK_4] {
        let built = built(spark);
        let conf = driver_conf(&built.dir.join("plans"));
        let driver_archive = built.dir.join("driver.jsa");
        let app = built.dir.join("extra.jar");
        fs::copy(workspace_root().join("Cargo.toml"), &app).unwrap();
        let jvm_maps = |classpath: &str| {
            let out = Command::new("java")
                .args(entrypoint_tests::module_options(spark))
                .arg(format!(
                    "-XX:SharedArchiveFile={}",
                    driver_archive.display()
                ))
                .args(["-Xshare:on", "-cp", classpath, "-version"])
                .env_remove("JAVA_TOOL_OPTIONS")
                .output()
                .unwrap();
            out.status.success()
        };
        let plan = driver_plan(spark, built, &conf, &[], &[]);
        let submit_opts = plan["env"]["SPARK_SUBMIT_OPTS"].as_str().unwrap_or("");
        assert!(
            submit_opts.ends_with(&format!(
                "-XX:SharedArchiveFile={}",
                driver_archive.display()
            )),
            "{spark}: {plan}"
        );
        let argv = plan_argv(&plan);
        let at = argv
            .iter()
            .position(|a| a.starts_with("spark.driver.extraClassPath="))
            .unwrap();
        let jars = argv[at].trim_start_matches("spark.driver.extraClassPath=");
        assert!(jvm_maps(&format!("{jars}:{}", conf.display())), "{spark}");
        assert_eq!(warnings(&plan), "[]", "{spark}");

        let app_arg = app.display().to_string();
        let plan = driver_plan(spark, built, &conf, &[], &["--driver-class-path", &app_arg]);
        assert!(
            plan["env"].get("SPARK_SUBMIT_OPTS").is_none(),
            "{spark}: {plan}"
        );
        assert!(!plan_argv(&plan)
            .iter()
            .any(|a| a.starts_with("spark.driver.extraClassPath=")));
        assert!(
            warnings(&plan).contains("differs from the archive's at entry 1")
                && warnings(&plan).contains("--driver-class-path"),
            "{spark}: {}",
            warnings(&plan)
        );
        let launcher_order = format!("{app_arg}:{}:{jars}", conf.display());
        assert!(
            !jvm_maps(&launcher_order),
            "{spark}: the JVM would have mapped it"
        );

        // The image's own SPARK_SUBMIT_OPTS stay, the archive's option after them.
        let plan = driver_plan(
            spark,
            built,
            &conf,
            &[("SPARK_SUBMIT_OPTS", "-Dimage=1")],
            &[],
        );
        let submit_opts = plan["env"]["SPARK_SUBMIT_OPTS"].as_str().unwrap();
        assert!(
            submit_opts.starts_with("-Dimage=1 -XX:SharedArchiveFile="),
            "{submit_opts}"
        );
        // ... unless they decide sharing themselves.
        let plan = driver_plan(
            spark,
            built,
            &conf,
            &[("SPARK_SUBMIT_OPTS", "-Xshare:off")],
            &[],
        );
        assert!(
            plan["env"].get("SPARK_SUBMIT_OPTS").is_none(),
            "{spark}: {plan}"
        );
        assert!(
            warnings(&plan).contains("-Xshare:off"),
            "{}",
            warnings(&plan)
        );
    }
}

/// `make image`'s image for each release (`IMAGE_REPOSITORY`, default `spark-init`, as
/// `images/local.sh` names it), those present; a missing one is said to be skipped, or fails
/// the test under `SPARK_INIT_TEST_REQUIRE_DOCKER=1` (CI), as the container tests do.
fn images(releases: &[&'static str]) -> Vec<(&'static str, String)> {
    let repository = std::env::var("IMAGE_REPOSITORY").unwrap_or_else(|_| "spark-init".into());
    let present = |image: &str| {
        let inspect = Command::new("docker")
            .args(["image", "inspect", image])
            .output();
        let found = inspect.is_ok_and(|o| o.status.success());
        let required = std::env::var(REQUIRE).is_ok_and(|v| v == "1");
        assert!(
            found || !required,
            "no Docker image {image} (make image), and {REQUIRE}=1"
        );
        if !found {
            eprintln!("skipped: no Docker image {image} (make image)");
        }
        found
    };
    (releases.iter())
        .map(|spark| (*spark, format!("{repository}:{spark}")))
        .filter(|(_, image)| present(image))
        .collect()
}

/// Runs the shell command `jvm` (a JVM with `-Xshare:on` and an archive) in `image` as the user
/// `spark` the roles run as: the JVM's own verdict there, which must be that it maps it.
fn the_jvm_maps_it_in(image: &str, jvm: &str) {
    let check = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--user",
            "spark",
            "--entrypoint",
            "sh",
            image,
            "-c",
            jvm,
        ])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{image}: the JVM refuses the archive: {jvm}: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The image's executor uses the archive its build made, and the JVM in
/// the container, as the user `spark` the executor runs as, maps it. Skips, saying so, when
/// Docker or the image is missing.
#[test]
fn the_images_executor_uses_the_archive_its_build_made() {
    for (_, image) in images(&[SPARK_3, SPARK_4]) {
        let out = Command::new("docker")
            .args(["run", "--rm", "-e", "SPARK_INIT_DRY_RUN=1"])
            .args([
                "-e",
                "SPARK_DRIVER_URL=spark://CoarseGrainedScheduler@127.0.0.1:7078",
            ])
            .args([
                "-e",
                "SPARK_APPLICATION_ID=app-1",
                "-e",
                "SPARK_EXECUTOR_ID=1",
            ])
            .args(["-e", "HOST=127.0.0.1", "-e", "PORT0=31005"])
            .args(["-e", "MARATHON_APP_RESOURCE_MEM=2048", &image, "executor"])
            .output()
            .unwrap();
        let plan = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{image}: {plan}");
        let shown = plan
            .lines()
            .find(|l| l.trim_start().starts_with("cds_archive"))
            .unwrap_or_default();
        assert!(
            shown.contains(spark_init::cds::DEFAULT_ARCHIVE),
            "{image}: {shown}\n{plan}"
        );
        let command = plan.lines().find(|l| l.starts_with("command")).unwrap();
        assert!(command.contains("-XX:SharedArchiveFile="), "{command}");
        // The plan's JVM up to the main class (shell-quoted as the plan shows it), checked by
        // the JVM itself in the container, as the executor's user.
        let jvm = command
            .trim_start_matches("command")
            .split(" org.apache.spark.executor.CoarseGrainedExecutorBackend")
            .next()
            .unwrap()
            .trim();
        the_jvm_maps_it_in(&image, &format!("{jvm} -Xshare:on -version"));
    }
}

/// The image's executor (spark-init as the container's PID 1, host networking) with the
/// archive its build made registers with a real driver on this machine's loopback and runs its
/// job: the archive in use changes nothing an executor does. Skips, saying so, when Docker or
/// the image is missing.
#[test]
fn the_images_executor_with_its_archive_registers_with_a_real_driver_and_runs_its_tasks() {
    let Some((spark, image)) = images(&[SPARK_3]).pop() else {
        return;
    };
    let dir = tempfile::tempdir_in(workspace_root().join("target")).unwrap();
    let (_master, master_port) = start_master(spark, dir.path());
    let (port, ui_port) = (free_port(), free_port());
    let classes = tiny_driver_classes(spark);
    let classpath = format!("{}/*:{}", spark_jars(spark).display(), classes.display());
    let mut driver = Killed(
        spark_jvm(spark, &classpath, &dir.path().join("driver.log"))
            .args(["TinyDriver", &format!("spark://127.0.0.1:{master_port}")])
            .arg(dir.path())
            .args(["1", &port.to_string(), &ui_port.to_string()])
            .spawn()
            .unwrap(),
    );
    let report = wait_file(&dir.path().join("driver"));
    let app_id = report.split_whitespace().next().unwrap();
    let out = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "host",
            "-e",
            "SPARK_INIT_LOG=info",
        ])
        // The driver's task classes, after Spark's jars, where the archive allows them.
        .arg("-v")
        .arg(format!("{}:/opt/app-classes:ro", classes.display()))
        .args(["-e", "SPARK_EXTRA_CLASSPATH=/opt/app-classes"])
        .arg("-e")
        .arg(format!(
            "SPARK_DRIVER_URL=spark://CoarseGrainedScheduler@127.0.0.1:{port}"
        ))
        .arg("-e")
        .arg(format!("SPARK_APPLICATION_ID={app_id}"))
        .args(["-e", "SPARK_EXECUTOR_ID=1", "-e", "HOST=127.0.0.1"])
        .args(["-e", &format!("PORT0={}", free_port())])
        .args([
            "-e",
            "MARATHON_APP_RESOURCE_MEM=1024",
            "-e",
            "MARATHON_APP_RESOURCE_CPUS=2",
        ])
        .args([&image, "executor"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{image}: {log}");
    assert!(
        log.contains("-XX:SharedArchiveFile=/opt/spark-init/executor.jsa"),
        "{log}"
    );
    assert!(
        !log.contains("class-data sharing archive"),
        "a warning: {log}"
    );
    assert!(log.contains("Successfully registered with driver"), "{log}");
    let tasks = fs::read_to_string(dir.path().join("tasks")).unwrap_or_else(|_| {
        let driver_log = fs::read_to_string(dir.path().join("driver.err")).unwrap_or_default();
        panic!("no tasks ran; executor:\n{log}\ndriver:\n{driver_log}")
    });
    assert_eq!(tasks.lines().count(), 4, "{tasks}");
    poll("the driver to finish", HANG, || {
        driver.0.try_wait().unwrap()
    });
}

/// The driver's environment, its spark-submit args, the JVM options they come to, and what the
/// warning names.
type Case<'a> = (
    &'a [(&'a str, &'a str)],
    &'a [&'a str],
    &'a [&'a str],
    &'a str,
);

/// Fresh-eyes trial of the driver's archive: options that take compressed oops away without
/// naming them (ZGC, a heap set by `-XX:MaxHeapSize` after the launcher's `-Xmx`, the
/// launcher's `SPARK_DRIVER_MEMORY`), or sharing itself (`-XX:-UseSharedSpaces`), were given
/// the archive, which the JVM then dropped silently. spark-init now leaves it out and says why,
/// as the real JVM refuses it with each of them.
#[test]
fn options_that_take_the_archive_away_from_the_driver_turn_it_off_as_the_jvm_does() {
    let spark = SPARK_3;
    let built = built(spark);
    let conf = driver_conf(&built.dir.join("options"));
    let archive = built.dir.join("driver.jsa");
    let plan = driver_plan(spark, built, &conf, &[], &[]);
    let jars = plan_argv(&plan)
        .iter()
        .find_map(|a| a.strip_prefix("spark.driver.extraClassPath="))
        .unwrap()
        .to_string();
    let jvm_maps = |options: &[&str]| {
        let out = Command::new("java")
            .arg(format!("-XX:SharedArchiveFile={}", archive.display()))
            .args(["-Xshare:on", "-cp", &format!("{jars}:{}", conf.display())])
            .args(options)
            .arg("-version")
            .env_remove("JAVA_TOOL_OPTIONS")
            .output()
            .unwrap();
        // `-version` says "sharing" when the JVM maps an archive (`-XX:-UseSharedSpaces`
        // after `-Xshare:on` runs without one, and exits 0).
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success() && text.contains(", sharing)"), text)
    };
    assert!(jvm_maps(&["-Xmx1g"]).0, "the base case maps");
    let cases: [Case<'_>; 5] = [
        (
            &[],
            &["--driver-java-options", "-XX:+UseZGC"],
            &["-XX:+UseZGC"],
            "-XX:+UseZGC",
        ),
        (
            &[],
            &["--driver-java-options", "-XX:MaxHeapSize=40g"],
            &["-Xmx1g", "-XX:MaxHeapSize=40g"],
            "-XX:MaxHeapSize=40g",
        ),
        (
            &[("SPARK_DRIVER_MEMORY", "40g")],
            &[],
            &["-Xmx40g"],
            "40960 MiB",
        ),
        (
            &[("SPARK_SUBMIT_OPTS", "-XX:-UseSharedSpaces")],
            &[],
            &["-XX:-UseSharedSpaces"],
            "-XX:-UseSharedSpaces",
        ),
        (
            &[("JAVA_TOOL_OPTIONS", "-XX:+UseZGC")],
            &[],
            &["-XX:+UseZGC"],
            "-XX:+UseZGC",
        ),
    ];
    for (env, args, jvm_options, named) in cases {
        let plan = driver_plan(spark, built, &conf, env, args);
        assert!(
            plan["env"].get("SPARK_SUBMIT_OPTS").is_none(),
            "{env:?} {args:?}: {plan}"
        );
        assert!(
            warnings(&plan).contains(named),
            "{env:?} {args:?}: {}",
            warnings(&plan)
        );
        let (maps, why) = jvm_maps(jvm_options);
        assert!(
            !maps,
            "{jvm_options:?}: the JVM would have mapped it: {why}"
        );
    }
}

/// Fresh-eyes trial: a truncated archive was given to the JVM, which refused it (a foreign one
/// of another size can crash it). The archive's size is checked against its manifest.
#[test]
fn an_archive_cut_short_is_not_used_and_says_so() {
    let spark = SPARK_3;
    let built = built(spark);
    let dir = built.dir.join("truncated");
    fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("driver.jsa");
    let bytes = fs::read(built.dir.join("driver.jsa")).unwrap();
    fs::write(&archive, &bytes[..1_000_000]).unwrap();
    fs::copy(
        built.dir.join("driver.jsa.json"),
        dir.join("driver.jsa.json"),
    )
    .unwrap();
    let conf = driver_conf(&dir);
    let archive_var = archive.display().to_string();
    let plan = driver_plan(
        spark,
        built,
        &conf,
        &[("SPARK_INIT_CDS_DRIVER_ARCHIVE", &archive_var)],
        &[],
    );
    assert!(plan["env"].get("SPARK_SUBMIT_OPTS").is_none(), "{plan}");
    assert!(warnings(&plan).contains("cut short"), "{}", warnings(&plan));
    let out = Command::new("java")
        .arg(format!("-XX:SharedArchiveFile={}", archive.display()))
        .args(["-Xshare:on", "-version"])
        .env_remove("JAVA_TOOL_OPTIONS")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the JVM mapped a truncated archive");
}

/// Fresh-eyes trial: `cds build` ignored SIGTERM (spark-init keeps signals blocked) and went
/// on for a minute. It now stops its training JVMs and exits 128 + 15, writing nothing.
#[test]
fn cds_build_stops_on_sigterm_and_leaves_no_jvm_behind() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("executor.jsa");
    let build = cds_build_into(dir.path()).not_pid1().spawn();
    let work = dir.path().join("executor.jsa.training");
    poll("the training's master to start", HANG, || {
        work.join("master.err").is_file().then_some(())
    });
    build.signal(libc::SIGTERM);
    let out = build.finish();
    assert_eq!(out.code, 143, "{}{}", out.stdout, out.stderr);
    assert!(!archive.exists());
    let left: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("spark-init-cds-training") || c.contains(&*work.to_string_lossy()))
        .collect();
    assert!(left.is_empty(), "JVMs left: {left:?}");
}

/// Fresh-eyes trial: `cds build --help` ran a program called `cds`; an archive folder that
/// cannot be written was exit 73 ("making the work folder failed"), not a configuration error.
#[test]
fn cds_build_help_and_an_unwritable_folder_are_answered_plainly() {
    let out = Init::new(["cds", "build", "--help"]).not_pid1().run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("SPARK_INIT_CDS_DRIVER_ARCHIVE"),
        "{}",
        out.stdout
    );
    let out = Init::new(["cds", "build", "now"]).not_pid1().run();
    assert_eq!(out.code, 64, "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "").unwrap();
    let out = Init::new(["cds", "build"])
        .not_pid1()
        .env("SPARK_HOME", pyspark_home(SPARK_3))
        .env("SPARK_INIT_CDS_ARCHIVE", file.join("executor.jsa"))
        .env("SPARK_INIT_CDS_DRIVER_ARCHIVE", "")
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("SPARK_INIT_CDS_ARCHIVE") && out.stderr.contains("cannot be written"),
        "{}",
        out.stderr
    );
}
