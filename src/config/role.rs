//! The Spark role's variables (`SPARK_HOME`, `SPARK_CONF_DIR`, `JAVA_HOME`, `SPARK_DRIVER_URL`,
//! `SPARK_APPLICATION_ID`, `SPARK_EXECUTOR_*`, `SPARK_CLASSPATH`, `SPARK_EXTRA_CLASSPATH`, the
//! driver's `SPARK_INIT_*` settings and Marathon's task environment), read once from the
//! snapshot, before anything is looked at.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::cli::Role;
use crate::config::lookups::read_lookups;
use crate::config::task_env::{self, TaskEnv};
use crate::config::{vars, EnvSnapshot, Problem};
use crate::facts::remote::Lookups;
use crate::sourced::Sourced;
use crate::spark::submit::SubmitArgs;

pub const DEFAULT_SPARK_HOME: &str = "/opt/spark";
pub const DEFAULT_REREGISTER_WINDOW: Duration = Duration::from_secs(60);

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
    /// The driver's spark-submit options (drivers only).
    pub submit: SubmitArgs,
}

impl RoleConfig {
    pub fn read(
        env: &EnvSnapshot,
        role: Role,
        command: &[OsString],
        problems: &mut Vec<Problem>,
    ) -> RoleConfig {
        let mut var = |name: &str| task_env::text_var(env, name, problems);
        let spark_home = match var("SPARK_HOME") {
            Some(v) => v.map(PathBuf::from),
            None => Sourced::new(PathBuf::from(DEFAULT_SPARK_HOME), "SPARK_HOME (default)"),
        };
        let conf_dir = match var("SPARK_CONF_DIR") {
            Some(v) => v.map(PathBuf::from),
            None => Sourced::new(spark_home.value.join("conf"), "$SPARK_HOME/conf"),
        };
        let java_home = var("JAVA_HOME").map(|v| PathBuf::from(v.value));
        let path = var("PATH").map(|v| v.value);
        let cgroup_root = var("SPARK_INIT_CGROUP_ROOT").map_or_else(
            || PathBuf::from("/sys/fs/cgroup"),
            |v| PathBuf::from(v.value),
        );
        let hostname = var("SPARK_INIT_HOSTNAME").or_else(|| var("HOST"));
        let spark_classpath = var("SPARK_CLASSPATH");
        let extra_classpath = var("SPARK_EXTRA_CLASSPATH");
        let driver_url = var("SPARK_DRIVER_URL");
        let app_id = var("SPARK_APPLICATION_ID");
        let executor_id = var("SPARK_EXECUTOR_ID");
        let executor_cores = var("SPARK_EXECUTOR_CORES");
        let executor_memory = var("SPARK_EXECUTOR_MEMORY");
        let mesos_constraints = var("SPARK_INIT_MESOS_CONSTRAINTS");
        let failover_timeout = var("SPARK_INIT_FAILOVER_TIMEOUT");
        let lookups = read_lookups(env, problems);
        let reregister_window =
            match task_env::text_var(env, "SPARK_INIT_REREGISTER_WINDOW", problems) {
                None => DEFAULT_REREGISTER_WINDOW,
                Some(v) => match v.value.parse::<f64>() {
                    Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => {
                        Duration::from_secs_f64(s)
                    }
                    _ => {
                        problems.push(Problem::new(
                            &v.source,
                            Some(&v.value),
                            "is not a number of seconds (0 to 86400) such as 60",
                        ));
                        DEFAULT_REREGISTER_WINDOW
                    }
                },
            };
        let executor_app =
            task_env::text_var(env, "SPARK_INIT_EXECUTOR_APP", problems).map(|v| v.value);
        let executor_instances = task_env::text_var(env, "SPARK_INIT_EXECUTOR_INSTANCES", problems)
            .and_then(|v| match v.value.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push(Problem::new(
                        &v.source,
                        Some(&v.value),
                        "is not a whole number of instances",
                    ));
                    None
                }
            });
        let scale_down_on_exit =
            task_env::text_var(env, "SPARK_INIT_SCALE_DOWN_ON_EXIT", problems).map(|v| v.value);
        let scale_down_on_exit = vars::flag(
            problems,
            "SPARK_INIT_SCALE_DOWN_ON_EXIT",
            scale_down_on_exit.as_deref(),
        )
        .value;
        let task = task_env::read(env, problems);
        let submit = match role {
            Role::Driver => SubmitArgs::parse(command, problems),
            Role::Executor => SubmitArgs::default(),
        };
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
            driver_url,
            app_id,
            executor_id,
            executor_cores,
            executor_memory,
            mesos_constraints,
            failover_timeout,
            lookups,
            reregister_window,
            executor_app,
            executor_instances,
            scale_down_on_exit,
            submit,
        }
    }
}
