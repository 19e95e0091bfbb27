//! Harness for the black-box tests: runs the built static spark-init binary, as PID 1 of a new
//! PID namespace (`unshare --pid --fork --mount-proc`) or as a plain process, with the `probe`
//! program as its command, and polls for conditions instead of sleeping.

pub mod carbon;
pub mod cds_bench;
pub mod docker;
pub mod fake;
pub mod launcher;
pub mod spark_app;
pub mod story;
pub mod zookeeper;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: `SPARK_INIT_BIN`, else the musl release build `make build` makes.
pub fn spark_init_bin() -> PathBuf {
    let path = match std::env::var_os("SPARK_INIT_BIN") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join("target/x86_64-unknown-linux-musl/release/spark-init"),
    };
    assert!(
        path.is_file(),
        "{} does not exist: run `make build` first (or set SPARK_INIT_BIN)",
        path.display()
    );
    path
}

/// A valid executor environment over the fixtures (Spark 3.5.7, Java 17, no cgroup limits,
/// Marathon's task variables, the driver's address and application ID given). Its `java` is
/// the fixture's stand-in, which says so on stderr and exits 99 when started.
pub fn executor_env() -> Vec<(String, String)> {
    let f = |rel: &str| fixture(rel).display().to_string();
    [
        ("SPARK_HOME", f("spark/3.5.7")),
        ("JAVA_HOME", f("java/17")),
        ("SPARK_INIT_CGROUP_ROOT", f("cgroup/none")),
        (
            "MESOS_TASK_ID",
            "spark_orders_executor.instance-6e7a5b2c-1f3d-11ef-9a4b-0242ac120002._app.1".into(),
        ),
        ("MARATHON_APP_RESOURCE_CPUS", "2.0".into()),
        ("MARATHON_APP_RESOURCE_MEM", "2048.0".into()),
        ("HOST", "10.0.0.7".into()),
        ("PORT0", "31005".into()),
        (
            "SPARK_DRIVER_URL",
            "spark://CoarseGrainedScheduler@10.0.0.2:31000".into(),
        ),
        ("SPARK_APPLICATION_ID", "app-20261125-0001".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A file or folder under `entrypoint-tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    workspace_root().join("entrypoint-tests/fixtures").join(rel)
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Polls `check` until it returns `Some`, failing the test with `what` after `limit`.
/// The limit is a hang guard, not a performance assertion.
pub fn poll<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Generous hang guard for anything that should happen promptly.
pub const HANG: Duration = Duration::from_secs(60);

/// How to start spark-init.
pub struct Init {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    pid1: bool,
    cwd: Option<PathBuf>,
    prefix: Vec<OsString>,
    binary: Option<PathBuf>,
}

impl Init {
    /// spark-init with `args` (its own options and the command), as PID 1 by default.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self {
            args: args
                .into_iter()
                .map(|a| a.as_ref().to_os_string())
                .collect(),
            // Quiet by default; tests that read the log lower it.
            env: vec![("SPARK_INIT_LOG".into(), "warn".into())],
            pid1: true,
            cwd: None,
            prefix: Vec::new(),
            binary: None,
        }
    }

    /// Another spark-init binary than [`spark_init_bin`] (the arm64 build, tests/aarch64.rs).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((name.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Appends an argument (after those given to `new`).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Run as a plain child of the test (spark-init becomes a subreaper) instead of PID 1.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn not_pid1(mut self) -> Self {
        self.pid1 = false;
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// A program that execs spark-init (for example `probe exec-with --ignore INT --`).
    pub fn wrapped_in<I, S>(mut self, prefix: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.prefix = prefix
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        self
    }

    pub fn spawn(self) -> Running {
        let mut argv: Vec<OsString> = Vec::new();
        if self.pid1 {
            argv.extend(["unshare", "--pid", "--fork", "--mount-proc"].map(OsString::from));
        }
        argv.extend(self.prefix);
        argv.push(self.binary.unwrap_or_else(spark_init_bin).into_os_string());
        argv.extend(self.args);
        let self_out = tempfile::tempfile().expect("stdout file");
        let self_err = tempfile::tempfile().expect("stderr file");
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            // Files, not pipes: nobody reads while the test polls, and a full pipe would block.
            .stdout(self_out.try_clone().expect("dup stdout file"))
            .stderr(self_err.try_clone().expect("dup stderr file"));
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        // spark-init gets exactly stdin, stdout and stderr, whatever the test runner leaked
        // to us, so an extra descriptor in its child can only be its own.
        // SAFETY: close_range is a single async-signal-safe system call.
        unsafe {
            command.pre_exec(|| {
                libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
                Ok(())
            });
        }
        let child = command.spawn().expect("start spark-init");
        Running {
            child,
            stdout: self_out,
            stderr: self_err,
            pid1: self.pid1,
            started: Instant::now(),
        }
    }

    /// Runs to completion.
    pub fn run(self) -> Finished {
        self.spawn().finish()
    }
}

pub struct Running {
    child: Child,
    stdout: fs::File,
    stderr: fs::File,
    pid1: bool,
    pub started: Instant,
}

pub struct Finished {
    pub status: ExitStatus,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Running {
    /// spark-init's pid as this (outer) namespace sees it.
    pub fn init_pid(&self) -> i32 {
        let outer = self.child.id() as i32;
        if !self.pid1 {
            return outer;
        }
        // unshare --fork: the namespace's PID 1 is unshare's only child; wait for its exec.
        poll("the namespace's init to exec spark-init", HANG, || {
            children_of(outer)
                .into_iter()
                .find(|&pid| comm(pid).as_deref() == Some("spark-init"))
        })
    }

    pub fn signal(&self, sig: i32) {
        let pid = self.init_pid();
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
    }

    pub fn try_finished(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// Waits (with the hang guard) for spark-init to exit and collects its output.
    pub fn finish(mut self) -> Finished {
        let child = &mut self.child;
        let status = poll("spark-init to exit", HANG, || {
            child.try_wait().expect("try_wait")
        });
        let elapsed = self.started.elapsed();
        Finished {
            status,
            code: status.code().unwrap_or(-1),
            stdout: read_all(&mut self.stdout),
            stderr: read_all(&mut self.stderr),
            elapsed,
        }
    }

    /// What spark-init has written to stderr so far.
    pub fn stderr_so_far(&mut self) -> String {
        read_all(&mut self.stderr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed test must not leave an init behind.
        if let Ok(None) = self.child.try_wait() {
            if self.pid1 {
                for pid in children_of(self.child.id() as i32) {
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_all(file: &mut fs::File) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).expect("seek");
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).expect("read output");
    text.push_str(&String::from_utf8_lossy(&bytes));
    text
}

/// `(state, ppid)` from `/proc/<pid>/stat`.
pub fn stat(pid: i32) -> Option<(char, i32)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = text.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

pub fn comm(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

pub fn children_of(parent: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|(_, ppid)| ppid == parent))
        .collect()
}

/// A field of `/proc/<pid>/status`, such as `Threads`.
pub fn status_field(pid: i32, name: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(state, _)| state != 'Z')
}

/// Waits until `path` exists and returns its content.
pub fn wait_file(path: &Path) -> String {
    poll(&format!("{} to appear", path.display()), HANG, || {
        fs::read_to_string(path).ok().filter(|s| s.ends_with('\n'))
    })
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process here (no time namespaces), so
/// times taken in different processes compare.
pub fn monotonic_ns() -> i128 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into `now`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    i128::from(now.tv_sec) * 1_000_000_000 + i128::from(now.tv_nsec)
}

/// Compiles the Java helpers in `entrypoint-tests/java/` once per test process, into
/// `target/java-oracle/`, and returns that folder.
pub fn java_classes() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let out = workspace_root().join("target/java-oracle");
        fs::create_dir_all(&out).expect("create target/java-oracle");
        let src = workspace_root().join("entrypoint-tests/java");
        let mut sources: Vec<PathBuf> = fs::read_dir(&src)
            .expect("entrypoint-tests/java")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "java"))
            .collect();
        sources.sort();
        let status = Command::new("javac")
            .arg("-d")
            .arg(&out)
            .args(&sources)
            .status()
            .expect("javac (a Java 17 JDK) must be installed");
        assert!(status.success(), "javac failed");
        out
    })
}

/// The Spark releases the tests run for real, from PyPI pyspark: `make pyspark`
/// (`scripts/ensure-pyspark.sh`, which reads the versions from these two lines) installs each
/// once into `.cache/pyspark-<version>`. Every test names them through these constants.
pub const SPARK_3: &str = "3.5.7";
pub const SPARK_4: &str = "4.3.0";

/// The Scala version a Spark release's jars are built for (`spark-core_<scala>-<version>.jar`):
/// 2.12 for Spark 3 (the PyPI build), 2.13 for Spark 4 (the only one).
pub fn scala_of(spark: &str) -> &'static str {
    if spark.starts_with("3.") {
        "2.12"
    } else {
        "2.13"
    }
}

/// The module options `spark-class` of a release adds on Java 17 (spark-init's copy, checked
/// against the release's own launcher by the oracle test).
pub fn module_options(spark: &str) -> &'static [&'static str] {
    let version = spark_init::spark::version::SparkVersion::parse(spark).expect("a Spark version");
    spark_init::spark::module_options::for_version(version)
}

/// The jars of an installed release (`SPARK_3` or `SPARK_4`), checked to be there.
pub fn spark_jars(spark: &str) -> PathBuf {
    let jars = pyspark_home(spark).join("jars");
    assert!(
        jars.join(launcher_jar_name(spark)).is_file(),
        "Spark {spark}'s jars are not in {}: run `make pyspark` (it installs PyPI pyspark \
         {SPARK_3} and {SPARK_4} into .cache/ once; PYSPARK_CACHE names another folder)",
        jars.display()
    );
    jars
}

/// `jars/spark-launcher_<scala>-<version>.jar` of an installed release.
pub fn launcher_jar(spark: &str) -> PathBuf {
    spark_jars(spark).join(launcher_jar_name(spark))
}

fn launcher_jar_name(spark: &str) -> String {
    format!("spark-launcher_{}-{spark}.jar", scala_of(spark))
}

/// The `pyspark` package folder of an installed release: a Spark home with `jars/` and no
/// `RELEASE`. Under `.cache/pyspark-<version>/`, or under `PYSPARK_CACHE` instead of `.cache`.
pub fn pyspark_home(spark: &str) -> PathBuf {
    std::env::var_os("PYSPARK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".cache"))
        .join(format!("pyspark-{spark}"))
        .join("pyspark")
}

/// A child process killed (and waited for) when dropped, pass or fail.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A dry-run plan's command line (`--output json`'s `argv`).
pub fn plan_argv(plan: &serde_json::Value) -> Vec<&str> {
    plan["argv"]
        .as_array()
        .expect("the plan's argv")
        .iter()
        .map(|a| a.as_str().expect("a string"))
        .collect()
}
