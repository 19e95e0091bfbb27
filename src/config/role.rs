//! The Spark role's variables (`SPARK_HOME`, `SPARK_CONF_DIR`, `JAVA_HOME`, `SPARK_DRIVER_URL`,
//! `SPARK_APPLICATION_ID`, `SPARK_EXECUTOR_*`, `SPARK_CLASSPATH`, `SPARK_EXTRA_CLASSPATH`, the
//! driver's `SPARK_INIT_*` settings and Marathon's task environment), each read once from the
//! snapshot, before anything is looked at.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::cli::Role;
use crate::config::lookups::{read_lookups, Known};
use crate::config::task_env::{self, TaskEnv};
use crate::config::{vars, EnvSnapshot, Problem};
use crate::facts::remote::Lookups;
use crate::sourced::Sourced;
use crate::spark::submit::SubmitArgs;

pub const DEFAULT_SPARK_HOME: &str = "/opt/spark";
pub const DEFAULT_REREGISTER_WINDOW: Duration = Duration::from_secs(60);
/// The most executor instances spark-init asks Marathon for.
pub const MAX_INSTANCES: u32 = 100_000;
/// How long a driver waits for its executors to attach before Spark schedules anything
/// (`spark.scheduler.maxRegisteredResourcesWaitingTime`, README "The receiver barrier"): the
/// executors start only after the driver published itself, then pull their image and start a
/// JVM; executors find their driver within `SPARK_INIT_RESOLVE_TIMEOUT` (default 300 s), and
/// the barrier allows them as long. Past it Spark starts with the executors it has.
pub const DEFAULT_EXECUTOR_WAIT: Duration = Duration::from_secs(300);

/// The role variables, read from the snapshot without touching anything else.
#[derive(Debug, Clone)]
pub struct RoleConfig {
    pub spark_home: Sourced<PathBuf>,
    pub conf_dir: Sourced<PathBuf>,
    pub java_home: Option<PathBuf>,
    pub path: Option<String>,
    pub cgroup_root: PathBuf,
    pub task: TaskEnv,
    /// `SPARK_INIT_HOSTNAME`, else Marathon's `HOST`.
    pub hostname: Option<Sourced<String>>,
    pub spark_classpath: Option<Sourced<String>>,
    pub extra_classpath: Option<Sourced<String>>,
    pub hadoop_conf_dir: Option<Sourced<String>>,
    pub dist_classpath: Option<Sourced<String>>,
    pub hadoop_home: Option<Sourced<String>>,
    pub driver_url: Option<Sourced<String>>,
    pub app_id: Option<Sourced<String>>,
    pub executor_id: Option<Sourced<String>>,
    pub executor_cores: Option<Sourced<String>>,
    pub executor_memory: Option<Sourced<String>>,
    pub mesos_constraints: Option<Sourced<String>>,
    pub failover_timeout: Option<Sourced<String>>,
    /// Where and how to look things up (Marathon, Mesos, the driver's REST API).
    pub lookups: Lookups,
    /// `SPARK_INIT_REREGISTER_WINDOW` (default 60 s).
    pub reregister_window: Duration,
    /// `SPARK_INIT_EXECUTOR_APP`, `SPARK_INIT_EXECUTOR_INSTANCES`, `SPARK_INIT_SCALE_DOWN_ON_EXIT`.
    pub executor_app: Option<String>,
    pub executor_instances: Option<u32>,
    pub scale_down_on_exit: bool,
    /// `SPARK_INIT_EXECUTOR_WAIT` (default [`DEFAULT_EXECUTOR_WAIT`]; zero turns the receiver
    /// barrier off).
    pub executor_wait: Sourced<Duration>,
    /// The driver's spark-submit options (drivers only).
    pub submit: SubmitArgs,
    /// `SPARK_INIT_MASTER_APP`: the driver's master is this Marathon app's task (drivers only).
    pub master_app: Option<Sourced<String>>,
    /// `SPARK_DAEMON_MEMORY` (the master's heap, as spark-class reads it).
    pub daemon_memory: Option<Sourced<String>>,
    /// `SPARK_DAEMON_JAVA_OPTS`, `SPARK_MASTER_OPTS` (the master's options, in that order).
    pub daemon_opts: Vec<Sourced<String>>,
    /// Where the driver's JVM looks for Mesos' native library.
    pub native_library: NativeLibraryVars,
    /// The role's class-data sharing archive: `SPARK_INIT_CDS_ARCHIVE` (executors),
    /// `SPARK_INIT_CDS_DRIVER_ARCHIVE` (drivers); empty: none.
    pub cds_archive: Sourced<Option<PathBuf>>,
    /// `SPARK_SUBMIT_OPTS`: JVM options spark-submit's launcher gives the driver's JVM (not its
    /// own) in client mode; the driver's archive option joins them.
    pub submit_opts: Option<Sourced<String>>,
    /// `SPARK_DRIVER_MEMORY`, else `SPARK_MEM`: the driver's heap when no conf sets one.
    pub driver_memory_env: Option<Sourced<String>>,
}

/// The variables that decide where a driver's JVM finds Mesos' native library
/// (`MesosNativeLibrary.load()`, then the JVM's `java.library.path`), as they are: empty is
/// not unset (the JVM reads `MESOS_NATIVE_JAVA_LIBRARY=""` as a path, `LD_LIBRARY_PATH=""` as
/// the working directory), and paths are bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NativeLibraryVars {
    pub mesos_native_java_library: Option<Sourced<OsString>>,
    /// Mesos' deprecated name, read when `MESOS_NATIVE_JAVA_LIBRARY` is unset.
    pub mesos_native_library: Option<Sourced<OsString>>,
    pub ld_library_path: Option<Sourced<OsString>>,
    /// spark-submit's own JVM options (`SparkSubmitCommandBuilder` adds them): a
    /// `-Djava.library.path` there replaces the JVM's search path.
    pub submit_opts: Option<Sourced<String>>,
}

impl NativeLibraryVars {
    /// Reads them from `env`, each with its name and `how` it was set (e.g. " (set by
    /// spark-env.sh)"; empty for the environment spark-init was given).
    pub fn read(env: &EnvSnapshot, how: &str) -> NativeLibraryVars {
        let var = |name: &str| {
            env.get(name)
                .map(|v| Sourced::new(v.to_os_string(), format!("{name}{how}")))
        };
        NativeLibraryVars {
            mesos_native_java_library: var("MESOS_NATIVE_JAVA_LIBRARY"),
            mesos_native_library: var("MESOS_NATIVE_LIBRARY"),
            ld_library_path: var("LD_LIBRARY_PATH"),
            submit_opts: var("SPARK_SUBMIT_OPTS").map(|v| v.map(|o| o.to_string_lossy().into())),
        }
    }
}

impl RoleConfig {
    pub fn read(
        env: &EnvSnapshot,
        role: Role,
        command: &[OsString],
        cgroup_root: PathBuf,
        problems: &mut Vec<Problem>,
    ) -> RoleConfig {
        let task = task_env::read(env, problems);
        let mut var = |name: &str| task_env::text_var(env, name, problems);
        let spark_home = var("SPARK_HOME").map_or_else(
            || Sourced::new(PathBuf::from(DEFAULT_SPARK_HOME), "SPARK_HOME (default)"),
            |v| v.map(PathBuf::from),
        );
        let conf_dir = var("SPARK_CONF_DIR").map_or_else(
            || Sourced::new(spark_home.value.join("conf"), "$SPARK_HOME/conf"),
            |v| v.map(PathBuf::from),
        );
        let java_home = var("JAVA_HOME").map(|v| PathBuf::from(v.value));
        let path = var("PATH").map(|v| v.value);
        let hostname = var("SPARK_INIT_HOSTNAME").or_else(|| task.host.clone());
        let spark_classpath = var("SPARK_CLASSPATH");
        let extra_classpath = var("SPARK_EXTRA_CLASSPATH");
        let hadoop_conf_dir = var("HADOOP_CONF_DIR");
        let dist_classpath = var("SPARK_DIST_CLASSPATH");
        let hadoop_home = var("HADOOP_HOME");
        let driver_url = var("SPARK_DRIVER_URL");
        let app_id = var("SPARK_APPLICATION_ID");
        let executor_id = var("SPARK_EXECUTOR_ID");
        let executor_cores = var("SPARK_EXECUTOR_CORES");
        let executor_memory = var("SPARK_EXECUTOR_MEMORY");
        let mesos_constraints = var("SPARK_INIT_MESOS_CONSTRAINTS");
        let failover_timeout = var("SPARK_INIT_FAILOVER_TIMEOUT");
        let submit_opts = var("SPARK_SUBMIT_OPTS");
        // spark-submit's launcher reads them after the confs (`SparkSubmitCommandBuilder`).
        let driver_memory_env = var("SPARK_DRIVER_MEMORY").or_else(|| var("SPARK_MEM"));
        let known = Known {
            driver_url: driver_url.as_ref(),
            app_id: app_id.as_ref(),
            executor_id: executor_id.as_ref(),
            task_id: task.task_id.as_ref(),
        };
        let standalone = Standalone::read(env, role, problems);
        let submit = match role {
            Role::Driver => SubmitArgs::parse(command, problems),
            Role::Executor | Role::Master => SubmitArgs::default(),
        };
        let lookups = read_lookups(env, &known, problems);
        if let Some(app) = &standalone.master_app {
            master_app_problems(app, &submit, &lookups, problems);
        }
        let publishing = Publishing::read(env, problems);
        RoleConfig {
            spark_home,
            conf_dir,
            java_home,
            path,
            cgroup_root,
            task,
            hostname,
            spark_classpath,
            extra_classpath,
            hadoop_conf_dir,
            dist_classpath,
            hadoop_home,
            driver_url,
            app_id,
            executor_id,
            executor_cores,
            executor_memory,
            mesos_constraints,
            failover_timeout,
            lookups,
            reregister_window: publishing.reregister_window,
            executor_app: publishing.executor_app,
            executor_instances: publishing.executor_instances,
            scale_down_on_exit: publishing.scale_down_on_exit,
            executor_wait: publishing.executor_wait,
            submit,
            master_app: standalone.master_app,
            daemon_memory: standalone.daemon_memory,
            daemon_opts: standalone.daemon_opts,
            native_library: NativeLibraryVars::read(env, ""),
            cds_archive: cds_archive(env, role, problems),
            submit_opts,
            driver_memory_env,
        }
    }
}

/// The role's class-data sharing archive: the executor's `SPARK_INIT_CDS_ARCHIVE`, the
/// driver's `SPARK_INIT_CDS_DRIVER_ARCHIVE`, else the image's default path; empty: none
/// (README "Class-data sharing").
fn cds_archive(
    env: &EnvSnapshot,
    role: Role,
    problems: &mut Vec<Problem>,
) -> Sourced<Option<PathBuf>> {
    match role {
        Role::Executor => archive_var(
            env,
            "SPARK_INIT_CDS_ARCHIVE",
            crate::cds::DEFAULT_ARCHIVE,
            problems,
        ),
        Role::Driver => driver_cds_archive(env, problems),
        Role::Master => Sourced::new(None, "executors and drivers only"),
    }
}

/// `SPARK_INIT_CDS_DRIVER_ARCHIVE`, else the image's default path; empty: none.
pub fn driver_cds_archive(
    env: &EnvSnapshot,
    problems: &mut Vec<Problem>,
) -> Sourced<Option<PathBuf>> {
    archive_var(
        env,
        "SPARK_INIT_CDS_DRIVER_ARCHIVE",
        crate::cds::DEFAULT_DRIVER_ARCHIVE,
        problems,
    )
}

fn archive_var(
    env: &EnvSnapshot,
    name: &str,
    default: &str,
    problems: &mut Vec<Problem>,
) -> Sourced<Option<PathBuf>> {
    match vars::raw(env, name, problems) {
        None => Sourced::new(Some(PathBuf::from(default)), "default"),
        Some(path) if path.trim().is_empty() => Sourced::new(None, format!("{name} (empty: none)")),
        Some(path) => Sourced::new(Some(PathBuf::from(path.trim())), name),
    }
}

/// The Mesos-free deployment's variables: the driver's master app, the master's own.
struct Standalone {
    master_app: Option<Sourced<String>>,
    daemon_memory: Option<Sourced<String>>,
    daemon_opts: Vec<Sourced<String>>,
}

impl Standalone {
    fn read(env: &EnvSnapshot, role: Role, problems: &mut Vec<Problem>) -> Standalone {
        let mut var = |name: &str| task_env::text_var(env, name, problems);
        match role {
            Role::Driver => Standalone {
                master_app: var("SPARK_INIT_MASTER_APP"),
                daemon_memory: None,
                daemon_opts: Vec::new(),
            },
            Role::Master => Standalone {
                master_app: None,
                daemon_memory: var("SPARK_DAEMON_MEMORY"),
                daemon_opts: ["SPARK_DAEMON_JAVA_OPTS", "SPARK_MASTER_OPTS"]
                    .into_iter()
                    .filter_map(var)
                    .collect(),
            },
            Role::Executor => Standalone {
                master_app: None,
                daemon_memory: None,
                daemon_opts: Vec::new(),
            },
        }
    }
}

/// `SPARK_INIT_MASTER_APP` needs Marathon to look in, and is the only way the master is
/// chosen (spark-defaults.conf's `spark.master` gives way to it; the app's `--master` cannot).
fn master_app_problems(
    app: &Sourced<String>,
    submit: &SubmitArgs,
    lookups: &Lookups,
    problems: &mut Vec<Problem>,
) {
    if let Some(theirs) = &submit.master {
        problems.push(Problem::new(
            "args",
            Some(&format!("--master {theirs}")),
            format!(
                "and SPARK_INIT_MASTER_APP ({}) both choose the master: remove --master from \
                 the app's args, or unset SPARK_INIT_MASTER_APP",
                app.value
            ),
        ));
    }
    if lookups.marathon.is_none() {
        problems.push(Problem::new(
            "SPARK_INIT_MASTER_APP",
            Some(&app.value),
            "needs SPARK_INIT_MARATHON_URL to find the master's task; set it, or give the \
             master with --master in the app's args",
        ));
    }
}

/// The driver's settings for its companion: the re-register window and the executors' app.
struct Publishing {
    reregister_window: Duration,
    executor_app: Option<String>,
    executor_instances: Option<u32>,
    scale_down_on_exit: bool,
    executor_wait: Sourced<Duration>,
}

impl Publishing {
    fn read(env: &EnvSnapshot, problems: &mut Vec<Problem>) -> Publishing {
        let mut var = |name: &str| task_env::text_var(env, name, problems);
        let reregister_window = var("SPARK_INIT_REREGISTER_WINDOW");
        let executor_app = var("SPARK_INIT_EXECUTOR_APP").map(|v| v.value);
        let executor_instances = var("SPARK_INIT_EXECUTOR_INSTANCES");
        let scale_down_on_exit = var("SPARK_INIT_SCALE_DOWN_ON_EXIT").map(|v| v.value);
        let executor_wait = var("SPARK_INIT_EXECUTOR_WAIT");
        let executor_wait = Sourced::new(
            vars::seconds_var(
                executor_wait.clone(),
                0.0..=86_400.0,
                DEFAULT_EXECUTOR_WAIT,
                "is not a number of seconds (0 to 86400) such as 300; 0 turns the receiver \
                 barrier off",
                problems,
            ),
            executor_wait.map_or("default".into(), |v| v.source),
        );
        let reregister_window = vars::seconds_var(
            reregister_window,
            0.0..=86_400.0,
            DEFAULT_REREGISTER_WINDOW,
            "is not a number of seconds (0 to 86400) such as 60",
            problems,
        );
        let executor_instances = executor_instances.and_then(|v| match v.value.parse::<u32>() {
            Ok(n) if n <= MAX_INSTANCES => Some(n),
            _ => {
                problems.push(Problem::new(
                    &v.source,
                    Some(&v.value),
                    format!("is not a whole number of instances from 0 to {MAX_INSTANCES}"),
                ));
                None
            }
        });
        let scale_down_on_exit = vars::flag(
            problems,
            "SPARK_INIT_SCALE_DOWN_ON_EXIT",
            scale_down_on_exit.as_deref(),
        )
        .value;
        Publishing {
            reregister_window,
            executor_app,
            executor_instances,
            scale_down_on_exit,
            executor_wait,
        }
    }
}
