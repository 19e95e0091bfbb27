//! `spark-init cds build`: the executor's and the driver's class-data sharing archives, made
//! when the image is built. It reads the executor's variables as the executor role does
//! (`SPARK_HOME`, `SPARK_CONF_DIR`, `JAVA_HOME`, `SPARK_CLASSPATH`, `SPARK_INIT_CDS_ARCHIVE`,
//! ...) and `SPARK_INIT_CDS_DRIVER_ARCHIVE`, then:
//!
//! 1. the classpaths: the executor's, up to and with Spark's jars, the jars listed explicitly
//!    in name order (what comes after them — `SPARK_EXTRA_CLASSPATH`, the working directory,
//!    the Hadoop classpath — may differ at run time: the archive's classpath only has to open
//!    the runtime one); the driver's, Spark's jars alone in that order (the driver role puts
//!    them first, as `spark.driver.extraClassPath`: `crate::plan::driver::cds`);
//! 2. a training run on loopback, three real JVMs: a standalone master with no workers, a
//!    driver (`SparkSubmit` running Spark's REPL, `org.apache.spark.repl.Main`, which every
//!    Spark distribution carries, as `spark-shell` does) running one shuffle job, and the
//!    executor, started as the executor role starts it (its module options, `-Xms`/`-Xmx`,
//!    `CoarseGrainedExecutorBackend` and its flags); the driver and the executor write the
//!    classes they loaded (`-XX:DumpLoadedClassList`) as they exit after the job;
//! 3. for each archive, the static dump of its class list: `java -Xshare:dump
//!    -XX:SharedClassListFile=<list> -XX:SharedArchiveFile=<archive> -cp <classpath> <options>`
//!    (the driver's without the REPL's own classes and the Scala compiler's, [`REPL_ONLY`]);
//! 4. the JVM's own check, `java -Xshare:on -XX:SharedArchiveFile=<archive> -cp <classpath>
//!    <options> -version`, which exits non-zero on any mismatch, so a broken archive fails the
//!    build;
//! 5. the manifest `<archive>.json` (`crate::cds::manifest`).
//!
//! Exit codes: 0 built; 78 the configuration is wrong (as for the executor role); 73 (`EX_CANTCREAT`)
//! an archive could not be made (the training run, a dump or a check failed: the message names
//! the step and the logs, kept in `<archive>.training/`).

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::cds::manifest::{self, Manifest, MAX_HEAP_MIB_FOR_COMPRESSED_OOPS};
use crate::cds::{explicit_jars, manifest_path, with_explicit_jars};
use crate::config::cli::Role;
use crate::config::role::{driver_cds_archive, RoleConfig};
use crate::config::{ConfigErrors, EnvSnapshot, Problem};
use crate::error::Error;
use crate::facts::LocalFacts;
use crate::plan::executor::argv::{executor_argv, module_options_needed, ExecutorArgs};
use crate::plan::executor::classpath::executor_classpath;
use crate::plan::Findings;
use crate::spark::module_options;
use crate::supervise::signals::{self, SignalSet, Wake};

/// The training JVMs' heap: any heap with compressed oops gives the same archive.
const TRAINING_HEAP_MIB: u64 = 1024;
/// How long each step of the training may take on a loaded machine.
const STEP_DEADLINE: Duration = Duration::from_secs(300);
/// The driver's script: one job with a shuffle, so the executor loads what running tasks,
/// shuffling and fetching results need, and the driver what scheduling them needs.
const TRAINING_SCRIPT: &str = "val n = sc.parallelize(1 to 1000, 4).map(i => (i % 10, i))\
    .reduceByKey(_ + _).count()\nprintln(\"spark-init cds training: \" + n + \" keys\")\n:quit\n";
/// Classes only the training driver loads, being Spark's REPL (the REPL and the Scala
/// compiler it runs, `scala-compiler.jar`, and its line editor): an application's driver
/// never does, so the driver's archive leaves them out (class-list lines, lambda proxies
/// included, that start with these).
pub const REPL_ONLY: &[&str] = &[
    "org/apache/spark/repl/",
    "scala/tools/",
    "jline/",
    "org/jline/",
];

/// The words after `spark-init` that ask for this.
pub fn is_requested(command: &[std::ffi::OsString]) -> bool {
    command.len() == 2 && command[0] == "cds" && command[1] == "build"
}

/// `cds build` with more words (`--help` among them), or `cds` with an option: what to say
/// instead of running a program called `cds`.
pub fn misused(command: &[std::ffi::OsString]) -> Option<Result<i32, Error>> {
    let second = command.get(1)?.to_string_lossy();
    if command[0] != "cds" || !(second == "build" || second.starts_with('-')) {
        return None;
    }
    let help = command.iter().any(|w| w == "--help" || w == "-h");
    let text = "spark-init cds build: makes the executor's and the driver's class-data sharing \
        archives (for image builds). It takes no options: its settings are variables \
        (SPARK_HOME, SPARK_CONF_DIR, JAVA_HOME, SPARK_INIT_CDS_ARCHIVE, \
        SPARK_INIT_CDS_DRIVER_ARCHIVE, ...); see the README's \"Class-data sharing (AppCDS)\".";
    Some(match help {
        true => {
            println!("{text}");
            Ok(0)
        }
        false => Err(Error::Usage(format!(
            "{text} Run it as: spark-init cds build"
        ))),
    })
}

/// The signals that stop a build: the training JVMs are killed, and spark-init exits
/// 128 + the signal. spark-init keeps every signal blocked (`main`), so they are waited for.
fn stop_signals() -> SignalSet {
    SignalSet::of([libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT])
}

/// Waits `step` unless a stop signal comes; then `Err(signal)`.
fn pause(step: Duration) -> Result<(), i32> {
    let deadline = Instant::now() + step;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match signals::wait(stop_signals(), Some(left)) {
            Wake::Signal(sig) => return Err(sig),
            Wake::TimedOut => return Ok(()),
            Wake::Interrupted if left.is_zero() => return Ok(()),
            Wake::Interrupted => {}
        }
    }
}

/// A stop signal that came while the build ran a JVM to its end, if one did.
fn stopped() -> Option<i32> {
    pause(Duration::ZERO).err()
}

/// The stop signal that ended the build, once one did (0: none).
static STOPPED: AtomicI32 = AtomicI32::new(0);

fn stopped_by(sig: i32) -> String {
    STOPPED.store(sig, Ordering::SeqCst);
    format!("stopped by {}", signals::name(sig))
}

/// One archive to make: for which role, where, on which classpath.
struct Target {
    role: &'static str,
    archive: PathBuf,
    classpath: Vec<String>,
}

/// Builds the archives; 0 when they are there and the JVM maps each.
pub fn run(env: &EnvSnapshot) -> Result<i32, Error> {
    let started = Instant::now();
    let (targets, facts) = inputs(env)?;
    let work = PathBuf::from(format!("{}.training", targets[0].archive.display()));
    let failed = |step: &str, why: String| match STOPPED.load(Ordering::SeqCst) {
        0 => Error::CdsBuild(format!(
            "spark-init cds build: {step} failed: {why} (logs in {})",
            work.display()
        )),
        sig => Error::Interrupted(sig),
    };
    let _ = fs::remove_dir_all(&work);
    if let Err(e) = fs::create_dir_all(&work) {
        let name = match targets[0].role {
            "executor" => "SPARK_INIT_CDS_ARCHIVE",
            _ => "SPARK_INIT_CDS_DRIVER_ARCHIVE",
        };
        let archive = targets[0].archive.display().to_string();
        let why = format!(
            "cannot be written: the work folder {} beside it cannot be made ({e}); name a \
             folder spark-init can write",
            work.display()
        );
        return Err(ConfigErrors::new(vec![Problem::new(name, Some(&archive), why)]).into());
    }
    println!(
        "spark-init cds build: training on loopback (a master, a driver and an executor of \
         Spark {}), then {} dump(s); about a minute or two",
        facts.spark.version.value,
        targets.len()
    );
    let options = training_options(&facts);
    let jars = explicit_jars(&facts.spark.home.join("jars")).join(":");
    let executor = targets.iter().find(|t| t.role == "executor");
    let training = Training {
        facts: &facts,
        jars: &jars,
        executor_classpath: &executor.map_or(jars.clone(), |t| t.classpath.join(":")),
        options: &options,
        work: &work,
    };
    let wanted = |role: &str| targets.iter().any(|t| t.role == role);
    training
        .run(wanted("driver"), wanted("executor"))
        .map_err(|why| failed("the training run", why))?;
    for target in &targets {
        let role = target.role;
        let fresh = PathBuf::from(format!("{}.new", target.archive.display()));
        let _ = fs::remove_file(&fresh);
        let list = training.class_list(target)?;
        let dumped = training.java(target, &fresh, &["-Xshare:dump", &list]);
        if let Some(sig) = stopped() {
            let _ = fs::remove_file(&fresh);
            return Err(Error::Interrupted(sig));
        }
        dumped.map_err(|why| failed(&format!("the {role}'s dump (-Xshare:dump)"), why))?;
        fs::rename(&fresh, &target.archive)
            .map_err(|e| failed("moving the archive", e.to_string()))?;
        let check = training.java(target, &target.archive, &["-Xshare:on", "-version"]);
        if let Err(why) = check {
            let _ = fs::remove_file(&target.archive);
            return Err(failed(
                &format!("the JVM's check (-Xshare:on) of the {role}'s archive"),
                why,
            ));
        }
        let manifest = Manifest {
            format: manifest::FORMAT,
            kind: "static".into(),
            role: role.into(),
            jvm: manifest::observe(&manifest::libjvm(&facts.java.java.value)),
            java_runtime_version: java_runtime_version(&facts.java.java.value),
            spark_version: facts.spark.version.value.to_string(),
            classpath: target
                .classpath
                .iter()
                .map(|e| manifest::observe(e))
                .collect(),
            options: options.clone(),
            max_heap_mib: MAX_HEAP_MIB_FOR_COMPRESSED_OOPS,
            build_ms: started.elapsed().as_millis() as u64,
            archive_bytes: fs::metadata(&target.archive).map_or(0, |m| m.len()),
        };
        write_manifest(&target.archive, &manifest)
            .map_err(|e| failed("writing the manifest", e))?;
        println!(
            "spark-init cds build: the {role}'s archive {} ({:.1} MiB, Spark {}, {} classpath \
             entries) after {:.1} s; manifest {}",
            target.archive.display(),
            manifest.archive_bytes as f64 / 1_048_576.0,
            manifest.spark_version,
            manifest.classpath.len(),
            manifest.build_ms as f64 / 1000.0,
            manifest_path(&target.archive).display()
        );
    }
    let _ = fs::remove_dir_all(&work);
    Ok(0)
}

/// The archives to make (the executor's, then the driver's, each unless its variable is
/// empty) and the installation; every configuration problem at once.
fn inputs(env: &EnvSnapshot) -> Result<(Vec<Target>, LocalFacts), Error> {
    let mut problems = Vec::new();
    let role = RoleConfig::read(
        env,
        Role::Executor,
        &[],
        "/sys/fs/cgroup".into(),
        &mut problems,
    );
    let driver_archive = driver_cds_archive(env, &mut problems).value;
    if role.cds_archive.value.is_none() && driver_archive.is_none() {
        problems.push(Problem::new(
            "SPARK_INIT_CDS_ARCHIVE",
            Some(""),
            "is empty, and so is SPARK_INIT_CDS_DRIVER_ARCHIVE: there is nowhere to write an \
             archive; unset them for the default paths or name files",
        ));
    }
    let facts = crate::facts::discover_local(&role).map_err(|more| {
        problems.extend(more);
        ConfigErrors::new(std::mem::take(&mut problems))
    })?;
    let mut targets = Vec::new();
    if let Some(archive) = role.cds_archive.value.clone() {
        let classpath = archive_classpath(&role, &facts);
        for entry in &classpath {
            if let manifest::State::Dir { first } = manifest::observe(entry).state {
                problems.push(Problem::new(
                    "classpath",
                    Some(entry),
                    format!(
                        "is a directory holding {first}, on the executor's classpath before \
                         Spark's jars: the JVM archives no classpath with a non-empty directory \
                         on it; build the archives before files go there, point SPARK_CONF_DIR \
                         (HADOOP_CONF_DIR) elsewhere, or set SPARK_INIT_CDS_ARCHIVE= (empty) to \
                         build the driver's archive alone, which the directory does not touch"
                    ),
                ));
            }
        }
        targets.push(Target {
            role: "executor",
            archive,
            classpath,
        });
    }
    if let Some(archive) = driver_archive {
        targets.push(Target {
            role: "driver",
            archive,
            classpath: explicit_jars(&facts.spark.home.join("jars")),
        });
    }
    match problems.is_empty() {
        true => Ok((targets, facts)),
        false => Err(ConfigErrors::new(problems).into()),
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

/// The training run's JVMs, logging into `work`.
struct Training<'a> {
    facts: &'a LocalFacts,
    /// Spark's jars, listed in name order: the master's and the driver's classpath.
    jars: &'a str,
    /// The executor's classpath (its archive's).
    executor_classpath: &'a str,
    options: &'a [String],
    work: &'a Path,
}

impl Training<'_> {
    /// Master, driver, then the executor; the driver and the executor write the classes they
    /// loaded into `<work>/<role>.classlist` (when their archive is wanted) as they exit after
    /// the job.
    fn run(&self, driver_list: bool, executor_list: bool) -> Result<(), String> {
        let list = |role: &str, wanted: bool| {
            let path = self.work.join(format!("{role}.classlist"));
            wanted.then(|| format!("-XX:DumpLoadedClassList={}", path.display()))
        };
        let master_port = free_port()?.to_string();
        let webui_port = free_port()?.to_string();
        let master = [
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            &master_port,
            "--webui-port",
            &webui_port,
        ];
        let mut master = self.spawn("master", &self.jvm(None, &master), None)?;
        wait_for_port(&mut master, &master_port)?;
        let driver_port = free_port()?.to_string();
        let script = self.work.join("training.scala");
        fs::write(&script, TRAINING_SCRIPT).map_err(|e| e.to_string())?;
        let master_url = format!("spark://127.0.0.1:{master_port}");
        let port_conf = format!("spark.driver.port={driver_port}");
        // An empty properties file: the image's spark-defaults.conf (an event log folder, a
        // Mesos master) stays out of the training (SparkSubmitArguments reads one or the
        // other; Spark 4 reads both only with --load-spark-defaults).
        let properties = self.work.join("training.conf");
        fs::write(&properties, "").map_err(|e| e.to_string())?;
        let properties = properties.display().to_string();
        let mut args = vec![
            "-Dscala.usejavacp=true",
            "org.apache.spark.deploy.SparkSubmit",
            "--properties-file",
            &properties,
            "--master",
            &master_url,
            "--class",
            "org.apache.spark.repl.Main",
            "--name",
            "spark-init-cds-training",
        ];
        for conf in [
            &port_conf,
            "spark.driver.host=127.0.0.1",
            "spark.driver.bindAddress=127.0.0.1",
            "spark.ui.enabled=false",
            // No worker will offer cores; the training executor registers on its own.
            "spark.scheduler.minRegisteredResourcesRatio=0",
        ] {
            args.extend(["--conf", conf]);
        }
        // spark-shell's resource name: SparkSubmit runs the REPL for it.
        args.push("spark-shell");
        let driver_argv = self.jvm(list("driver", driver_list), &args);
        let mut driver = self.spawn("driver", &driver_argv, Some(&script))?;
        wait_for_port(&mut driver, &driver_port)?;
        let executor_argv = self.executor(&driver_port, list("executor", executor_list));
        let mut executor = self.spawn("executor", &executor_argv, None)?;
        let status = wait_until_exit(&mut executor.child, STEP_DEADLINE)?
            .ok_or_else(|| "the executor did not finish the training job".to_string())?;
        let driver_status = wait_until_exit(&mut driver.child, STEP_DEADLINE)?;
        drop(master);
        if status.success() && driver_status.is_some_and(|s| s.success()) {
            return Ok(());
        }
        Err(format!(
            "the executor exited {status}, the driver {}",
            driver_status.map_or("did not stop".into(), |s| format!("exited {s}"))
        ))
    }

    /// The master's or the driver's JVM: the options but the heap, a small heap, the class
    /// list option, Spark's jars, the main class and its args.
    fn jvm(&self, class_list: Option<String>, args: &[&str]) -> Vec<String> {
        let mut argv = vec![self.facts.java.java.value.display().to_string()];
        let options = self.options.iter().filter(|o| !o.starts_with("-Xm"));
        argv.extend(options.cloned());
        argv.extend(class_list);
        argv.extend(["-Xmx512m".into(), "-cp".into(), self.jars.into()]);
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }

    /// The executor as the executor role starts it, with the class list option.
    fn executor(&self, driver_port: &str, class_list: Option<String>) -> Vec<String> {
        let driver_url = format!("spark://CoarseGrainedScheduler@127.0.0.1:{driver_port}");
        let mut argv = executor_argv(
            self.facts,
            &ExecutorArgs {
                cds_option: None,
                classpath: self.executor_classpath,
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
        if let Some(option) = class_list {
            argv.insert(1, option);
        }
        argv
    }

    /// The `-XX:SharedClassListFile` option for the target: its role's class list, the
    /// driver's without the REPL's own classes ([`REPL_ONLY`]).
    fn class_list(&self, target: &Target) -> Result<String, Error> {
        let path = self.work.join(format!("{}.classlist", target.role));
        let text = fs::read_to_string(&path).map_err(|e| {
            Error::CdsBuild(format!(
                "spark-init cds build: the training run wrote no class list {} ({e})",
                path.display()
            ))
        })?;
        if target.role != "driver" {
            return Ok(format!("-XX:SharedClassListFile={}", path.display()));
        }
        let kept: String = (text.lines())
            .filter(|line| {
                let name = line.strip_prefix("@lambda-proxy ").unwrap_or(line);
                !REPL_ONLY.iter().any(|p| name.starts_with(p))
            })
            .flat_map(|line| [line, "\n"])
            .collect();
        let filtered = self.work.join("driver.app.classlist");
        fs::write(&filtered, kept)
            .map_err(|e| Error::CdsBuild(format!("{}: {e}", filtered.display())))?;
        Ok(format!("-XX:SharedClassListFile={}", filtered.display()))
    }

    /// `java <first> -XX:SharedArchiveFile=<archive> -cp <classpath> <options> <rest>`: the
    /// dump (`-Xshare:dump -XX:SharedClassListFile=...`) or the check (`-Xshare:on ...
    /// -version`); its output goes to `<work>/<role>.<first>.log`.
    fn java(&self, target: &Target, archive: &Path, args: &[&str]) -> Result<(), String> {
        let mut argv = vec![self.facts.java.java.value.display().to_string()];
        argv.extend(
            args.iter()
                .filter(|a| **a != "-version")
                .map(|a| a.to_string()),
        );
        argv.push(format!("-XX:SharedArchiveFile={}", archive.display()));
        argv.extend(["-cp".into(), target.classpath.join(":")]);
        argv.extend(self.options.iter().cloned());
        argv.extend(
            args.iter()
                .filter(|a| **a == "-version")
                .map(|a| a.to_string()),
        );
        let log = self.work.join(format!(
            "{}.{}.log",
            target.role,
            args[0].trim_start_matches("-Xshare:")
        ));
        let out = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let status = Command::new(&argv[0])
            .args(&argv[1..])
            .env_remove("JAVA_TOOL_OPTIONS")
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() && archive.is_file() {
            return Ok(());
        }
        let text = fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(4).collect();
        Err(format!(
            "{} exited {status}: {}",
            argv[..2].join(" "),
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ))
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
fn wait_for_port(jvm: &mut Jvm, port: &str) -> Result<(), String> {
    let deadline = Instant::now() + STEP_DEADLINE;
    while Instant::now() < deadline {
        if TcpStream::connect(format!("127.0.0.1:{port}")).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = jvm.child.try_wait() {
            return Err(format!("the {} exited {status} before listening", jvm.name));
        }
        pause(Duration::from_millis(100)).map_err(stopped_by)?;
    }
    Err(format!("the {} did not listen on port {port}", jvm.name))
}

fn wait_until_exit(
    child: &mut Child,
    limit: Duration,
) -> Result<Option<std::process::ExitStatus>, String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(Some(status));
        }
        pause(Duration::from_millis(100)).map_err(stopped_by)?;
    }
    Ok(None)
}
