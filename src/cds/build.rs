//! `spark-init cds build`: the executor's class-data sharing archive, made when the image is
//! built. It reads the executor's variables as the executor role does (`SPARK_HOME`,
//! `SPARK_CONF_DIR`, `JAVA_HOME`, `SPARK_CLASSPATH`, `SPARK_INIT_CDS_ARCHIVE`, ...), then:
//!
//! 1. the classpath: the executor's, up to and with Spark's jars, the jars listed explicitly in
//!    name order (what comes after them — `SPARK_EXTRA_CLASSPATH`, the working directory, the
//!    Hadoop classpath — may differ at run time: the archive's classpath only has to open the
//!    runtime one);
//! 2. a training run on loopback, three real JVMs of that classpath: a standalone master with no
//!    workers, a driver (Spark's REPL, `org.apache.spark.repl.Main`, which every Spark
//!    distribution carries) running one shuffle job, and the executor itself, started as the
//!    executor role starts it (its module options, `-Xms`/`-Xmx`, `CoarseGrainedExecutorBackend`
//!    and its flags) plus `-XX:ArchiveClassesAtExit`: it registers, runs the job's tasks, and
//!    when the driver stops, exits and the JVM writes the archive;
//! 3. the JVM's own check, `java -Xshare:on -XX:SharedArchiveFile=<archive> -cp <classpath>
//!    -version`, which exits non-zero on any mismatch, so a broken archive fails the build;
//! 4. the manifest `<archive>.json` (`crate::cds::manifest`).
//!
//! Exit codes: 0 built; 78 the configuration is wrong (as for the executor role); 73 (`EX_CANTCREAT`)
//! the archive could not be made (the training run or the check failed: the message names the
//! step and the logs, kept in `<archive>.training/`).

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cds::manifest::{self, Manifest, MAX_HEAP_MIB_FOR_COMPRESSED_OOPS};
use crate::cds::{explicit_jars, manifest_path, with_explicit_jars};
use crate::config::cli::Role;
use crate::config::role::RoleConfig;
use crate::config::{ConfigErrors, EnvSnapshot, Problem};
use crate::error::Error;
use crate::facts::LocalFacts;
use crate::plan::executor::argv::{executor_argv, module_options_needed, ExecutorArgs};
use crate::plan::executor::classpath::executor_classpath;
use crate::plan::Findings;
use crate::spark::module_options;

/// The training executor's heap: any heap with compressed oops gives the same archive.
const TRAINING_HEAP_MIB: u64 = 1024;
/// How long each step of the training may take on a loaded machine.
const STEP_DEADLINE: Duration = Duration::from_secs(300);
/// The driver's script: one job with a shuffle, so the executor loads what running tasks,
/// shuffling and fetching results need.
const TRAINING_SCRIPT: &str = "val n = sc.parallelize(1 to 1000, 4).map(i => (i % 10, i))\
    .reduceByKey(_ + _).count()\nprintln(\"spark-init cds training: \" + n + \" keys\")\n:quit\n";

/// The words after `spark-init` that ask for this.
pub fn is_requested(command: &[std::ffi::OsString]) -> bool {
    command.len() == 2 && command[0] == "cds" && command[1] == "build"
}

/// Builds the archive; 0 when it is there and the JVM maps it.
pub fn run(env: &EnvSnapshot) -> Result<i32, Error> {
    let started = Instant::now();
    let (archive, facts, classpath) = inputs(env)?;
    let work = PathBuf::from(format!("{}.training", archive.display()));
    let failed = |step: &str, why: String| {
        Error::CdsBuild(format!(
            "spark-init cds build: {step} failed: {why} (logs in {})",
            work.display()
        ))
    };
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| failed("making the work folder", e.to_string()))?;
    let fresh = PathBuf::from(format!("{}.new", archive.display()));
    let _ = fs::remove_file(&fresh);
    let options = training_options(&facts);
    let training = Training {
        facts: &facts,
        classpath: &classpath.join(":"),
        options: &options,
        work: &work,
    };
    training
        .run(&fresh)
        .map_err(|why| failed("the training run", why))?;
    fs::rename(&fresh, &archive).map_err(|e| failed("moving the archive", e.to_string()))?;
    training
        .check(&archive)
        .map_err(|why| failed("the JVM's check (-Xshare:on)", why))?;
    let manifest = Manifest {
        format: manifest::FORMAT,
        kind: "dynamic".into(),
        jvm: manifest::observe(&manifest::libjvm(&facts.java.java.value)),
        java_runtime_version: java_runtime_version(&facts.java.java.value),
        spark_version: facts.spark.version.value.to_string(),
        classpath: classpath.iter().map(|e| manifest::observe(e)).collect(),
        options,
        max_heap_mib: MAX_HEAP_MIB_FOR_COMPRESSED_OOPS,
        build_ms: started.elapsed().as_millis() as u64,
        archive_bytes: fs::metadata(&archive).map_or(0, |m| m.len()),
    };
    write_manifest(&archive, &manifest).map_err(|e| failed("writing the manifest", e))?;
    let _ = fs::remove_dir_all(&work);
    println!(
        "spark-init cds build: {} ({:.1} MiB, Spark {}, {} classpath entries) in {:.1} s; \
         manifest {}",
        archive.display(),
        manifest.archive_bytes as f64 / 1_048_576.0,
        manifest.spark_version,
        manifest.classpath.len(),
        manifest.build_ms as f64 / 1000.0,
        manifest_path(&archive).display()
    );
    Ok(0)
}

/// The archive's path, the installation, and the archive's classpath (explicit, up to and with
/// Spark's jars); every configuration problem at once.
fn inputs(env: &EnvSnapshot) -> Result<(PathBuf, LocalFacts, Vec<String>), Error> {
    let mut problems = Vec::new();
    let role = RoleConfig::read(
        env,
        Role::Executor,
        &[],
        "/sys/fs/cgroup".into(),
        &mut problems,
    );
    let archive = role.cds_archive.value.clone();
    if archive.is_none() {
        problems.push(Problem::new(
            "SPARK_INIT_CDS_ARCHIVE",
            Some(""),
            "is empty, so there is nowhere to write the archive; unset it for the default \
             path or name a file",
        ));
    }
    let facts = crate::facts::discover_local(&role).map_err(|more| {
        problems.extend(more);
        ConfigErrors::new(std::mem::take(&mut problems))
    })?;
    let classpath = archive_classpath(&role, &facts);
    for entry in &classpath {
        if let manifest::State::Dir { first } = manifest::observe(entry).state {
            problems.push(Problem::new(
                "classpath",
                Some(entry),
                format!(
                    "is a directory holding {first}: the JVM archives no classpath with a \
                     non-empty directory on it; build the archive before files go there, or \
                     point SPARK_CONF_DIR (HADOOP_CONF_DIR) elsewhere"
                ),
            ));
        }
    }
    match archive {
        Some(archive) if problems.is_empty() => Ok((archive, facts, classpath)),
        _ => Err(ConfigErrors::new(problems).into()),
    }
}

/// The executor's classpath up to and with Spark's jars, `jars/*` listed in name order.
pub fn archive_classpath(role: &RoleConfig, facts: &LocalFacts) -> Vec<String> {
    let classpath = executor_classpath(role, facts).value;
    let jars = explicit_jars(&facts.spark.home.join("jars"));
    let mut entries = with_explicit_jars(&classpath, &facts.spark.jars, &jars);
    if let Some(last) = entries.iter().rposition(|e| jars.contains(e)) {
        entries.truncate(last + 1);
    }
    entries
}

/// The executor's JVM options that the archive depends on: Spark's module options when the
/// executor gets them, the training heap.
fn training_options(facts: &LocalFacts) -> Vec<String> {
    let mut options = vec![
        format!("-Xms{TRAINING_HEAP_MIB}m"),
        format!("-Xmx{TRAINING_HEAP_MIB}m"),
    ];
    if module_options_needed(facts, &mut Findings::default()) {
        let version = facts.spark.version.value;
        options.extend(
            module_options::for_version(version)
                .iter()
                .map(|s| s.to_string()),
        );
    }
    options
}

/// `JAVA_RUNTIME_VERSION` from the JDK's `release` file, beside `bin/java`.
fn java_runtime_version(java: &Path) -> Option<String> {
    let real = fs::canonicalize(java).ok()?;
    let text = fs::read_to_string(real.parent()?.parent()?.join("release")).ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix("JAVA_RUNTIME_VERSION=")?;
        Some(value.trim_matches('"').to_string())
    })
}

fn write_manifest(archive: &Path, manifest: &Manifest) -> Result<(), String> {
    let path = manifest_path(archive);
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let text = serde_json::to_string_pretty(manifest).map_err(|e| e.to_string())?;
    fs::write(&tmp, text + "\n").map_err(|e| format!("{}: {e}", tmp.display()))?;
    fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The training run's JVMs, all on this classpath, logging into `work`.
struct Training<'a> {
    facts: &'a LocalFacts,
    classpath: &'a str,
    options: &'a [String],
    work: &'a Path,
}

impl Training<'_> {
    /// Master, driver, then the executor writing `archive` when it exits.
    fn run(&self, archive: &Path) -> Result<(), String> {
        let master_port = free_port()?;
        let mut master = self.spawn(
            "master",
            &self.daemon(&[
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                &master_port.to_string(),
                "--webui-port",
                &free_port()?.to_string(),
            ]),
            None,
        )?;
        wait_for_port(&mut master, master_port)?;
        let driver_port = free_port()?;
        let script = self.work.join("training.scala");
        fs::write(&script, TRAINING_SCRIPT).map_err(|e| e.to_string())?;
        let driver_props = [
            "-Dscala.usejavacp=true".to_string(),
            format!("-Dspark.master=spark://127.0.0.1:{master_port}"),
            "-Dspark.app.name=spark-init-cds-training".into(),
            "-Dspark.driver.host=127.0.0.1".into(),
            "-Dspark.driver.bindAddress=127.0.0.1".into(),
            format!("-Dspark.driver.port={driver_port}"),
            "-Dspark.ui.enabled=false".into(),
            // No worker will offer cores; the training executor registers on its own.
            "-Dspark.scheduler.minRegisteredResourcesRatio=0".into(),
        ];
        let mut args: Vec<String> = driver_props.to_vec();
        args.push("org.apache.spark.repl.Main".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut driver = self.spawn("driver", &self.daemon(&args), Some(&script))?;
        wait_for_port(&mut driver, driver_port)?;
        let mut executor = self.spawn("executor", &self.executor(driver_port, archive), None)?;
        let status = wait_until_exit(&mut executor.child, STEP_DEADLINE)
            .ok_or_else(|| "the executor did not finish the training job".to_string())?;
        let driver_status = wait_until_exit(&mut driver.child, STEP_DEADLINE);
        drop(master);
        if !status.success() || !archive.is_file() {
            return Err(format!(
                "the executor exited {status} without writing {} (the driver {})",
                archive.display(),
                driver_status.map_or("did not stop".into(), |s| format!("exited {s}"))
            ));
        }
        Ok(())
    }

    /// A Spark daemon or driver JVM: module options, a small heap, the classpath.
    fn daemon(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec![self.facts.java.java.value.display().to_string()];
        argv.extend(
            self.options
                .iter()
                .filter(|o| !o.starts_with("-Xm"))
                .cloned(),
        );
        argv.extend(["-Xmx512m".into(), "-cp".into(), self.classpath.into()]);
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }

    /// The executor as the executor role starts it, plus `-XX:ArchiveClassesAtExit`.
    fn executor(&self, driver_port: u16, archive: &Path) -> Vec<String> {
        let driver_url = format!("spark://CoarseGrainedScheduler@127.0.0.1:{driver_port}");
        let mut argv = executor_argv(
            self.facts,
            &ExecutorArgs {
                cds_option: None,
                classpath: self.classpath,
                heap_mib: TRAINING_HEAP_MIB,
                module_options: module_options_needed(self.facts, &mut Findings::default()),
                block_manager_port: None,
                driver_url: &driver_url,
                executor_id: "1",
                hostname: "127.0.0.1",
                cores: 2,
                app_id: "spark-init-cds-training",
                metrics_options: &[],
                extra: &[],
            },
        );
        argv.insert(1, format!("-XX:ArchiveClassesAtExit={}", archive.display()));
        argv
    }

    fn spawn(&self, name: &str, argv: &[String], stdin: Option<&Path>) -> Result<Jvm, String> {
        let log = |suffix: &str| {
            fs::File::create(self.work.join(format!("{name}.{suffix}")))
                .map_err(|e| format!("{name}'s log: {e}"))
        };
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .env_remove("JAVA_TOOL_OPTIONS")
            .stdout(log("out")?)
            .stderr(log("err")?)
            .stdin(match stdin {
                Some(path) => Stdio::from(fs::File::open(path).map_err(|e| e.to_string())?),
                None => Stdio::null(),
            });
        // SAFETY: reset_in_child makes only async-signal-safe calls and allocates nothing.
        unsafe { command.pre_exec(|| crate::supervise::signals::reset_in_child()) };
        let child = command
            .spawn()
            .map_err(|e| format!("the {name} JVM ({}) cannot start: {e}", argv[0]))?;
        Ok(Jvm {
            name: name.into(),
            child,
        })
    }

    /// `java -Xshare:on -XX:SharedArchiveFile=<archive> -cp <classpath> <options> -version`.
    fn check(&self, archive: &Path) -> Result<(), String> {
        let mut argv = vec![self.facts.java.java.value.display().to_string()];
        argv.push("-Xshare:on".into());
        argv.push(format!("-XX:SharedArchiveFile={}", archive.display()));
        argv.extend(["-cp".into(), self.classpath.into()]);
        argv.extend(self.options.iter().cloned());
        argv.push("-version".into());
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .env_remove("JAVA_TOOL_OPTIONS")
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            return Ok(());
        }
        let _ = fs::remove_file(archive);
        Err(format!(
            "{} exited {}: {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A training JVM, killed (and reaped) when dropped.
struct Jvm {
    name: String,
    child: Child,
}

impl Drop for Jvm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Polls until `jvm` listens on `port`; an exit or the deadline first is an error.
fn wait_for_port(jvm: &mut Jvm, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + STEP_DEADLINE;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = jvm.child.try_wait() {
            return Err(format!("the {} exited {status} before listening", jvm.name));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("the {} did not listen on port {port}", jvm.name))
}

fn wait_until_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
