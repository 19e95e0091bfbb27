//! `make bench`'s class-data sharing figures: how long a real Spark executor takes from the
//! JVM's start to "Successfully registered with driver" (a real driver, `TinyDriver` on a
//! standalone master with no workers, on loopback), without an archive, with the dynamic one
//! `spark-init cds build` makes, and with a static one from a class list; the three alternate
//! within each round (the order rotating), so the machine's load falls on all of them alike.
//! Also the archive's size and build time. Measurements only: nothing fails on a slow number.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::spark_app::{spark_jvm, start_master, tiny_driver_classes};
use crate::{
    free_port, plan_argv, poll, pyspark_home, spark_init_bin, spark_jars, wait_file,
    workspace_root, Killed,
};

const REGISTERED: &str = "Successfully registered with driver";
/// How long one executor may take to register on a loaded machine.
const REGISTER_LIMIT: Duration = Duration::from_secs(120);

/// One way of starting the executor.
struct Variant {
    name: &'static str,
    argv: Vec<String>,
    seconds: Vec<f64>,
    cpu_seconds: Vec<f64>,
}

/// `spark-init cds build` for `spark` into a fresh `dir` (an absent conf directory
/// `dir/conf`, the archive `dir/executor.jsa`), as a plain process, as an image build's RUN
/// runs it: its output and the archive's path.
pub fn cds_build(spark: &str, dir: &Path) -> (std::process::Output, PathBuf) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    let archive = dir.join("executor.jsa");
    let out = Command::new(spark_init_bin())
        .args(["cds", "build"])
        .env("SPARK_HOME", pyspark_home(spark))
        .env("SPARK_CONF_DIR", dir.join("conf"))
        .env("SPARK_INIT_CDS_ARCHIVE", &archive)
        .output()
        .unwrap();
    (out, archive)
}

/// The markdown section for `spark` with `rounds` rounds of the three variants.
pub fn section(spark: &str, rounds: usize) -> String {
    let dir = workspace_root().join(format!("target/bench-cds/{spark}"));
    let started = Instant::now();
    let (out, archive) = cds_build(spark, &dir);
    let build_s = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "cds build: {out:?}");
    let archive_mib = fs::metadata(&archive).unwrap().len() as f64 / 1_048_576.0;

    let classes = tiny_driver_classes(spark);
    let (_master, master_port) = start_master(spark, &dir);
    let driver_port = free_port();
    let _driver = Killed(
        spark_jvm(
            spark,
            &format!("{}:{}/*", classes.display(), spark_jars(spark).display()),
            &dir.join("driver.log"),
        )
        .arg("TinyDriver")
        .arg(format!("spark://127.0.0.1:{master_port}"))
        .arg(&dir)
        .args(["100000", &driver_port.to_string(), &free_port().to_string()])
        .spawn()
        .unwrap(),
    );
    let driver = wait_file(&dir.join("driver"));
    let app_id = driver.split_whitespace().next().unwrap().to_string();
    let plan = |archive: &str| executor_argv(spark, &dir, archive, driver_port, &app_id);
    let with_dynamic = plan(archive.to_str().unwrap());
    assert!(with_dynamic
        .iter()
        .any(|a| a.starts_with("-XX:SharedArchiveFile=")));
    let without = plan("");
    let static_archive = static_archive(&dir, &without, &with_dynamic);
    let with_static: Vec<String> = with_dynamic
        .iter()
        .map(|a| match a.starts_with("-XX:SharedArchiveFile=") {
            true => format!("-XX:SharedArchiveFile={}", static_archive.display()),
            false => a.clone(),
        })
        .collect();
    let mut variants = [
        Variant::new("without an archive", without),
        Variant::new("dynamic archive (`cds build`)", with_dynamic),
        Variant::new("static archive (class list)", with_static),
    ];
    for round in 0..rounds {
        for i in 0..variants.len() {
            let variant = &mut variants[(round + i) % 3];
            let (wall, cpu) = time_to_register(&variant.argv, &dir.join("executor.err"));
            variant.seconds.push(wall);
            variant.cpu_seconds.push(cpu);
        }
    }
    let static_mib = fs::metadata(&static_archive).map_or(0.0, |m| m.len() as f64 / 1_048_576.0);
    report(spark, &variants, build_s, archive_mib, static_mib)
}

impl Variant {
    fn new(name: &'static str, argv: Vec<String>) -> Variant {
        Variant {
            name,
            argv,
            seconds: Vec::new(),
            cpu_seconds: Vec::new(),
        }
    }
}

/// The executor's command line from spark-init's dry run, with `SPARK_INIT_CDS_ARCHIVE`.
fn executor_argv(spark: &str, dir: &Path, archive: &str, port: u16, app: &str) -> Vec<String> {
    let out = Command::new(spark_init_bin())
        .args(["--role", "executor", "--dry-run", "--output", "json"])
        .env("SPARK_HOME", pyspark_home(spark))
        .env("SPARK_CONF_DIR", dir.join("conf"))
        .env("SPARK_INIT_CDS_ARCHIVE", archive)
        .env("SPARK_INIT_CGROUP_ROOT", crate::fixture("cgroup/none"))
        .env(
            "SPARK_DRIVER_URL",
            format!("spark://CoarseGrainedScheduler@127.0.0.1:{port}"),
        )
        .env("SPARK_APPLICATION_ID", app)
        .env("SPARK_EXECUTOR_ID", "1")
        .env("HOST", "127.0.0.1")
        .env("PORT0", free_port().to_string())
        .env("MARATHON_APP_RESOURCE_CPUS", "1")
        .env("MARATHON_APP_RESOURCE_MEM", "1024")
        .output()
        .unwrap();
    assert!(out.status.success(), "dry run: {out:?}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    plan_argv(&plan).iter().map(|a| a.to_string()).collect()
}

/// A static archive of the classes one plain executor loads until it has registered
/// (`-XX:DumpLoadedClassList`, then `-Xshare:dump`), on the archive's explicit classpath.
fn static_archive(dir: &Path, without: &[String], with_dynamic: &[String]) -> PathBuf {
    let list = dir.join("executor.classlist");
    let mut traced = without.to_vec();
    traced.insert(1, format!("-XX:DumpLoadedClassList={}", list.display()));
    time_to_register(&traced, &dir.join("classlist.err"));
    let cp_at = with_dynamic.iter().position(|a| a == "-cp").unwrap() + 1;
    let main = with_dynamic
        .iter()
        .position(|a| a.ends_with("CoarseGrainedExecutorBackend"))
        .unwrap();
    let archive = dir.join("static.jsa");
    let status = Command::new(&with_dynamic[0])
        .args([
            "-Xshare:dump",
            &format!("-XX:SharedClassListFile={}", list.display()),
        ])
        .arg(format!("-XX:SharedArchiveFile={}", archive.display()))
        .args(["-cp", &with_dynamic[cp_at]])
        .args(
            with_dynamic[cp_at + 1..main]
                .iter()
                .filter(|a| !a.starts_with("-XX:Shared")),
        )
        .env_remove("JAVA_TOOL_OPTIONS")
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("static-dump.log")).unwrap())
        .status()
        .unwrap();
    assert!(status.success(), "static dump: see {}", dir.display());
    archive
}

/// Starts the executor, polls its log for the registration; returns the wall-clock and CPU
/// seconds to it, then stops the executor.
fn time_to_register(argv: &[String], log: &Path) -> (f64, f64) {
    // A new executor ID each start: the driver may not have noticed the last one's end yet
    // ("Duplicate executor ID").
    static NEXT_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut argv = argv.to_vec();
    if let Some(at) = argv.iter().position(|a| a == "--executor-id") {
        argv[at + 1] = id.to_string();
    }
    let started = Instant::now();
    let mut child = Killed(
        Command::new(&argv[0])
            .args(&argv[1..])
            .env_remove("JAVA_TOOL_OPTIONS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id() as i32;
    let cpu = poll("the executor to register", REGISTER_LIMIT, || {
        let text = fs::read_to_string(log).unwrap_or_default();
        if text.contains(REGISTERED) {
            return Some(cpu_seconds(pid));
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("the executor exited {status} before registering: {text}");
        }
        None
    });
    let wall = started.elapsed().as_secs_f64();
    // SIGTERM, so that a JVM writing a class list flushes it as it exits.
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let _ = child.0.wait();
    (wall, cpu)
}

fn cpu_seconds(pid: i32) -> f64 {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime, the 12th and 13th fields after the comm, in clock ticks (100 a second).
    (fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0)) as f64 / 100.0
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn report(spark: &str, v: &[Variant; 3], build_s: f64, mib: f64, static_mib: f64) -> String {
    let mut md = String::new();
    let base = median(&v[0].seconds);
    let base_cpu = median(&v[0].cpu_seconds);
    let _ = writeln!(
        md,
        "\n### Spark {spark}: JVM start → \"{REGISTERED}\" ({} rounds)\n",
        v[0].seconds.len()
    );
    let _ = writeln!(
        md,
        "| executor | median | min – max | ratio of medians | CPU to registration (median) | CPU ratio | faster in rounds |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for variant in v {
        let wins = (variant.seconds.iter().zip(&v[0].seconds))
            .filter(|(a, b)| a < b)
            .count();
        let (min, max) = (
            variant.seconds.iter().copied().fold(f64::MAX, f64::min),
            variant.seconds.iter().copied().fold(0.0, f64::max),
        );
        let _ = writeln!(
            md,
            "| {} | {:.2} s | {min:.2} – {max:.2} s | {:.2}× | {:.2} s | {:.2}× | {wins} of {} |",
            variant.name,
            median(&variant.seconds),
            median(&variant.seconds) / base,
            median(&variant.cpu_seconds),
            median(&variant.cpu_seconds) / base_cpu,
            variant.seconds.len()
        );
    }
    let _ = writeln!(
        md,
        "\n`spark-init cds build` for Spark {spark}: {build_s:.1} s (the training run: master, \
         driver and executor on loopback, one shuffle job; the dump; the JVM's check), archive \
         {mib:.1} MiB (static one from the class list: {static_mib:.1} MiB)."
    );
    md
}

/// The section's header in BENCH.md.
pub const HEADER: &str = "\n\n## Executor start with class-data sharing";

/// The section of BENCH.md: the goal, then each release's table.
pub fn write_section(md: &mut String, sections: &[String]) {
    let _ = writeln!(
        md,
        "{HEADER}\n\n\
         Goal: an executor registered with its driver in ≤ 0.6× the time without an archive \
         (README \"Class-data sharing\"). Each round starts the executor once without an \
         archive, once with `spark-init cds build`'s dynamic archive and once with a static \
         archive from a class list, in a rotating order, each to \"{REGISTERED}\" in its log \
         and then stopped; the command lines are spark-init's dry-run plans (Spark's jars \
         listed explicitly with an archive, `jars/*` without). The driver is a real one \
         (`TinyDriver` on a standalone master with no workers, on loopback). The static \
         archive's class list comes from one executor run to registration (no tasks); \
         it replaces the JDK's default archive, where the dynamic one sits on top of it."
    );
    for section in sections {
        md.push_str(section);
    }
}

/// The driver's figure, to decide whether an archive would pay there too: a real driver
/// (`TinyDriver`'s jar on a standalone master) from the JVM's start to its SparkContext being
/// ready (the report file it writes right after `new JavaSparkContext`), with and without a
/// dynamic archive from one training run of the same driver (registering one executor and
/// running its job), alternating. The driver role itself gets no archive (README).
pub fn driver_section(spark: &str, rounds: usize) -> String {
    let dir = workspace_root().join(format!("target/bench-cds/{spark}-driver"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let jar = crate::spark_app::tiny_driver_jar(spark);
    let jars = spark_init::cds::explicit_jars(&spark_jars(spark));
    let classpath = format!("{}:{}", jar.display(), jars.join(":"));
    let (_master, master_port) = start_master(spark, &dir);
    let archive = dir.join("driver.jsa");
    let run = |folder: &Path, executors: &str, extra: &[String]| {
        fs::create_dir_all(folder).unwrap();
        let port = free_port();
        let mut jvm = spark_jvm(spark, &classpath, &folder.join("driver.log"));
        jvm.args(extra)
            .arg("TinyDriver")
            .arg(format!("spark://127.0.0.1:{master_port}"))
            .arg(folder)
            .args([executors, &port.to_string(), &free_port().to_string()]);
        (Killed(jvm.spawn().unwrap()), port)
    };
    // Training: the driver with -XX:ArchiveClassesAtExit, one executor, its job, then it stops.
    let training = dir.join("training");
    let (mut driver, port) = run(
        &training,
        "1",
        &[format!("-XX:ArchiveClassesAtExit={}", archive.display())],
    );
    let report = wait_file(&training.join("driver"));
    let app_id = report.split_whitespace().next().unwrap().to_string();
    let executor = executor_argv(spark, &dir, "", port, &app_id);
    let _executor = Killed(
        Command::new(&executor[0])
            .args(&executor[1..])
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("executor.err")).unwrap())
            .spawn()
            .unwrap(),
    );
    poll("the training driver to stop", REGISTER_LIMIT, || {
        driver.0.try_wait().ok().flatten()
    });
    assert!(
        archive.is_file(),
        "no driver archive: see {}",
        dir.display()
    );
    let with = [format!("-XX:SharedArchiveFile={}", archive.display())];
    let (mut plain, mut shared) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with_archive in order {
            let folder = dir.join(format!("run-{round}-{with_archive}"));
            let started = Instant::now();
            let extra: &[String] = if with_archive { &with } else { &[] };
            let (_driver, _) = run(&folder, "0", extra);
            wait_file(&folder.join("driver"));
            let seconds = started.elapsed().as_secs_f64();
            if with_archive {
                shared.push(seconds);
            } else {
                plain.push(seconds);
            }
        }
    }
    let ratio = median(&shared) / median(&plain);
    format!(
        "\n### Spark {spark}: a driver's JVM start → SparkContext ready ({rounds} rounds)\n\n\
         | driver | median | ratio |\n|---|---:|---:|\n\
         | without an archive | {:.2} s | 1.00× |\n\
         | dynamic archive of a training run | {:.2} s | {ratio:.2}× |\n\n\
         Driver archive: {:.1} MiB.\n",
        median(&plain),
        median(&shared),
        fs::metadata(&archive).map_or(0.0, |m| m.len() as f64 / 1_048_576.0)
    )
}
