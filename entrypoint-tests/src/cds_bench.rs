//! `make bench`'s class-data sharing figures: how long a real Spark executor takes from the
//! JVM's start to "Successfully registered with driver" (a real driver, `TinyDriver` on a
//! standalone master with no workers, on loopback), without an archive, with the static one
//! `spark-init cds build` makes, and with a dynamic one (`-XX:ArchiveClassesAtExit`) for
//! comparison; the three alternate within each round (the order rotating), so the machine's
//! load falls on all of them alike. Then the driver: spark-init's driver role, from its start
//! to the SparkContext being ready, with and without the driver's archive. Also the archives'
//! sizes and build time. Measurements only: nothing fails on a slow number.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::CommandExt;
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
/// `dir/conf`, the archives `dir/executor.jsa` and `dir/driver.jsa`), as a plain process, as
/// an image build's RUN runs it: its output and the executor's archive's path.
pub fn cds_build(spark: &str, dir: &Path) -> (std::process::Output, PathBuf) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    let archive = dir.join("executor.jsa");
    let out = Command::new(spark_init_bin())
        .args(["cds", "build"])
        .env("SPARK_HOME", pyspark_home(spark))
        .env("SPARK_CONF_DIR", dir.join("conf"))
        .env("SPARK_INIT_CDS_ARCHIVE", &archive)
        .env("SPARK_INIT_CDS_DRIVER_ARCHIVE", dir.join("driver.jsa"))
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
    let with_static = plan(archive.to_str().unwrap());
    assert!(with_static
        .iter()
        .any(|a| a.starts_with("-XX:SharedArchiveFile=")));
    let without = plan("");
    let dynamic_archive = dynamic_archive(&dir, &with_static);
    let with_dynamic: Vec<String> = with_static
        .iter()
        .map(|a| match a.starts_with("-XX:SharedArchiveFile=") {
            true => format!("-XX:SharedArchiveFile={}", dynamic_archive.display()),
            false => a.clone(),
        })
        .collect();
    let mut variants = [
        Variant::new("without an archive", without),
        Variant::new("static archive (`cds build`)", with_static),
        Variant::new("dynamic archive (one run to registration)", with_dynamic),
    ];
    for round in 0..rounds {
        for i in 0..variants.len() {
            let variant = &mut variants[(round + i) % 3];
            let (wall, cpu) = time_to_register(&variant.argv, &dir.join("executor.err"));
            variant.seconds.push(wall);
            variant.cpu_seconds.push(cpu);
        }
    }
    let dynamic_mib = fs::metadata(&dynamic_archive).map_or(0.0, |m| m.len() as f64 / 1_048_576.0);
    report(spark, &variants, build_s, archive_mib, dynamic_mib)
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

/// A dynamic archive of the classes one executor loads until it has registered
/// (`-XX:ArchiveClassesAtExit`, written as the JVM exits on SIGTERM), on top of the JDK's
/// default archive, with the same explicit classpath as the static one.
fn dynamic_archive(dir: &Path, with_static: &[String]) -> PathBuf {
    let archive = dir.join("dynamic.jsa");
    let _ = fs::remove_file(&archive);
    let mut traced: Vec<String> = (with_static.iter())
        .filter(|a| !a.starts_with("-XX:SharedArchiveFile="))
        .cloned()
        .collect();
    traced.insert(1, format!("-XX:ArchiveClassesAtExit={}", archive.display()));
    time_to_register(&traced, &dir.join("dynamic-dump.err"));
    assert!(archive.is_file(), "dynamic dump: see {}", dir.display());
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

fn report(spark: &str, v: &[Variant; 3], build_s: f64, mib: f64, dynamic_mib: f64) -> String {
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
        "\n`spark-init cds build` for Spark {spark}: {build_s:.1} s for both archives (the \
         training run: master, driver and executor on loopback, one shuffle job; each dump; \
         each JVM's check); the executor's archive {mib:.1} MiB (the dynamic one: \
         {dynamic_mib:.1} MiB, on top of the JDK's 13 MiB)."
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
         archive, once with `spark-init cds build`'s static archive and once with a dynamic \
         archive, in a rotating order, each to \"{REGISTERED}\" in its log and then stopped; \
         the command lines are spark-init's dry-run plans (Spark's jars listed explicitly \
         with an archive, `jars/*` without). The driver is a real one (`TinyDriver` on a \
         standalone master with no workers, on loopback). The static archive comes from the \
         class list of `cds build`'s training executor (registration and a shuffle job's \
         tasks) and replaces the JDK's default archive; the dynamic one is written when one \
         executor run to registration exits and sits on top of the JDK's."
    );
    for section in sections {
        md.push_str(section);
    }
}

/// The driver's figure: spark-init's driver role (a plain process here) running
/// `spark-submit` with `TinyDriver`'s jar against a standalone master, from spark-init's start
/// to the SparkContext being ready (the report file `TinyDriver` writes right after
/// `new JavaSparkContext`), with `cds build`'s driver archive and without
/// (`SPARK_INIT_CDS_DRIVER_ARCHIVE` empty), alternating. Each run is stopped, its process
/// group killed, once it is ready.
pub fn driver_section(spark: &str, rounds: usize) -> String {
    let built = workspace_root().join(format!("target/bench-cds/{spark}"));
    let archive = built.join("driver.jsa");
    assert!(
        archive.is_file(),
        "run section() first: {}",
        archive.display()
    );
    let dir = workspace_root().join(format!("target/bench-cds/{spark}-driver"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let (_master, master_port) = start_master(spark, &dir);
    let master = format!("spark://127.0.0.1:{master_port}");
    let jar = crate::spark_app::tiny_driver_jar(spark);
    let (mut plain, mut shared) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with_archive in order {
            let folder = dir.join(format!("run-{round}-{with_archive}"));
            fs::create_dir_all(&folder).unwrap();
            let started = Instant::now();
            let mut command = Command::new(spark_init_bin());
            command
                .args([
                    "--role",
                    "driver",
                    "--",
                    "--master",
                    &master,
                    "--class",
                    "TinyDriver",
                ])
                .arg(&jar)
                .arg(&master)
                .arg(&folder)
                .args(["0", &free_port().to_string(), &free_port().to_string()])
                .env("SPARK_HOME", pyspark_home(spark))
                .env("SPARK_CONF_DIR", dir.join("conf"))
                .env("SPARK_INIT_CGROUP_ROOT", crate::fixture("cgroup/none"))
                .env("HOST", "127.0.0.1")
                .env(
                    "SPARK_INIT_CDS_DRIVER_ARCHIVE",
                    if with_archive {
                        archive.as_os_str()
                    } else {
                        "".as_ref()
                    },
                )
                .env_remove("JAVA_TOOL_OPTIONS")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(folder.join("driver.err")).unwrap())
                .process_group(0);
            let child = Killed(command.spawn().unwrap());
            let pid = child.0.id() as i32;
            poll("the driver's SparkContext", REGISTER_LIMIT, || {
                folder.join("driver").is_file().then_some(())
            });
            let seconds = started.elapsed().as_secs_f64();
            // SAFETY: a plain kill(2) of the process group we made.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            drop(child);
            if with_archive {
                shared.push(seconds);
            } else {
                plain.push(seconds);
            }
        }
    }
    let wins = shared.iter().zip(&plain).filter(|(a, b)| a < b).count();
    let ratio = median(&shared) / median(&plain);
    let range = |v: &[f64]| {
        let min = v.iter().copied().fold(f64::MAX, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        format!("{min:.2} – {max:.2} s")
    };
    format!(
        "\n### Spark {spark}: the driver role's start → SparkContext ready ({rounds} rounds)\n\n\
         | driver (`spark-init --role driver`, `spark-submit`) | median | min – max | ratio | faster in rounds |\n\
         |---|---:|---:|---:|---:|\n\
         | without an archive | {:.2} s | {} | 1.00× | 0 of {rounds} |\n\
         | with `cds build`'s driver archive | {:.2} s | {} | {ratio:.2}× | {wins} of {rounds} |\n\n\
         Driver archive: {:.1} MiB. spark-submit's launcher JVM, which gets no archive, is in both.\n",
        median(&plain),
        range(&plain),
        median(&shared),
        range(&shared),
        fs::metadata(&archive).map_or(0.0, |m| m.len() as f64 / 1_048_576.0)
    )
}
