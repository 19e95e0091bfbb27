//! Spark role modes: the executor and driver commands a hand-tuned operator would write,
//! resolved from Marathon's task environment, the Spark and Java installations in the image
//! and Spark's `spark-defaults.conf`.
//!
//! gather ([`RoleEnv::read`], no I/O) → discover ([`discover`]: the file system) → resolve
//! ([`resolve_executor`], [`resolve_driver`]: pure) → [`plan::assemble`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use std::time::Duration;

use nix::sys::signal::SigSet;

use crate::clients::framework_store::{self, StoreUrl};
use crate::clients::http;
use crate::clients::marathon::AddressMode;
use crate::config::cli::Role;
use crate::config::task_env::{self, FromVar, TaskEnv};
use crate::config::{Config, ConfigErrors, EnvSnapshot, Problem};
use crate::driver_lifecycle::{self, BeforeLaunch};
use crate::error::Error;
use crate::facts::cgroup::{self, CgroupLimits};
use crate::facts::install::{self, JavaInstall, SparkInstall, SparkVersion};
use crate::facts::remote::{self, ChildError, DiscoveryError, Lookups, RemoteFacts};
use crate::facts::spark_defaults::{self, SparkDefaults};
use crate::plan::{self, sourced, ModePlan, Plan, Publish, Resolved, StoreDuty};
use crate::spark::executor_id;
use crate::spark::java_options::{self, OptionSource};
use crate::spark::size;

pub const DEFAULT_SPARK_HOME: &str = "/opt/spark";
/// A Mesos attribute no agent has: the driver's framework never gets offers, so Marathon alone
/// places executors. `spark.mesos.constraints` syntax: `attribute:value[;...]`.
pub const DEFAULT_MESOS_CONSTRAINTS: &str = "spark_init_placement:marathon";
/// How long Mesos keeps declined offers from the driver's framework (Spark time syntax).
pub const REJECT_OFFER_DURATION: &str = "3650d";
pub const DEFAULT_FAILOVER_TIMEOUT_SECONDS: f64 = 3600.0;
pub const DEFAULT_REREGISTER_WINDOW: Duration = Duration::from_secs(60);
/// Spark's smallest usable executor heap: `UnifiedMemoryManager` refuses less than 1.5 × its
/// 300 MiB reserved memory ("Executor memory ... must be at least 471859200").
pub const MIN_HEAP_MIB: u64 = 450;
/// Spark's default executor memory overhead: max(384 MiB, 10% of the heap)
/// (`spark.executor.memoryOverhead`, `spark.executor.memoryOverheadFactor`).
pub const MIN_OVERHEAD_MIB: u64 = 384;
pub const DEFAULT_OVERHEAD_FACTOR: f64 = 0.10;
const EXECUTOR_CLASS: &str = "org.apache.spark.executor.CoarseGrainedExecutorBackend";

/// What `spark-class` adds to every JVM on Spark ≥ 3.3
/// (`org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptions()`, Spark 3.5.7 — the
/// oracle test reads it from the jar). Without them an executor on Java 17 dies with
/// `IllegalAccessError` (e.g. `sun.nio.ch.DirectBuffer`). The list of 3.5 is a superset of
/// 3.3's and 3.4's, and harmless on them.
pub const JAVA_MODULE_OPTIONS: &[&str] = &[
    "-XX:+IgnoreUnrecognizedVMOptions",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
    "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
    "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
    "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "-Djdk.reflect.useDirectMethodHandle=false",
];

/// The role variables, read from the snapshot without touching anything else.
#[derive(Debug, Clone)]
pub struct RoleEnv {
    pub spark_home: (PathBuf, String),
    pub conf_dir: (PathBuf, String),
    pub java_home: Option<PathBuf>,
    pub path: Option<String>,
    pub cgroup_root: PathBuf,
    pub task: TaskEnv,
    /// `SPARK_INIT_HOSTNAME`, else Marathon's `HOST`.
    pub hostname: Option<FromVar<String>>,
    pub spark_classpath: Option<FromVar<String>>,
    pub extra_classpath: Option<FromVar<String>>,
    pub driver_url: Option<FromVar<String>>,
    pub app_id: Option<FromVar<String>>,
    pub executor_id: Option<FromVar<String>>,
    pub executor_cores: Option<FromVar<String>>,
    pub executor_memory: Option<FromVar<String>>,
    pub mesos_constraints: Option<FromVar<String>>,
    pub failover_timeout: Option<FromVar<String>>,
    /// Where and how to look things up (Marathon, Mesos, the driver's REST API).
    pub lookups: Lookups,
    /// `SPARK_INIT_REREGISTER_WINDOW` (default 60 s).
    pub reregister_window: Duration,
    /// `SPARK_INIT_EXECUTOR_APP`, `SPARK_INIT_EXECUTOR_INSTANCES`, `SPARK_INIT_SCALE_DOWN_ON_EXIT`.
    pub executor_app: Option<String>,
    pub executor_instances: Option<u32>,
    pub scale_down_on_exit: bool,
}

impl RoleEnv {
    pub fn read(env: &EnvSnapshot, problems: &mut Vec<Problem>) -> RoleEnv {
        let mut var = |name: &str| task_env::text_var(env, name, problems);
        let spark_home = match var("SPARK_HOME") {
            Some(v) => (PathBuf::from(v.value), "SPARK_HOME".to_string()),
            None => (
                PathBuf::from(DEFAULT_SPARK_HOME),
                "SPARK_HOME (default)".to_string(),
            ),
        };
        let conf_dir = match var("SPARK_CONF_DIR") {
            Some(v) => (PathBuf::from(v.value), "SPARK_CONF_DIR".to_string()),
            None => (spark_home.0.join("conf"), "$SPARK_HOME/conf".to_string()),
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
                        problems.push(problem(
                            &v.var,
                            Some(&v.raw),
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
                    problems.push(problem(
                        &v.var,
                        Some(&v.raw),
                        "is not a whole number of instances",
                    ));
                    None
                }
            });
        let scale_down_on_exit = task_env::text_var(env, "SPARK_INIT_SCALE_DOWN_ON_EXIT", problems)
            .is_some_and(|v| matches!(v.value.as_str(), "1" | "true" | "yes"));
        let task = task_env::read(env, problems);
        RoleEnv {
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
        }
    }
}

/// `SPARK_INIT_MARATHON_URL`, `SPARK_INIT_DRIVER_APP`, `SPARK_INIT_DRIVER_PORT_NAME`,
/// `SPARK_INIT_DRIVER_ADDRESS`, `SPARK_INIT_MESOS_URL`, `SPARK_INIT_FRAMEWORK_NAME`,
/// `SPARK_INIT_RESOLVE_TIMEOUT`, `SPARK_INIT_CA_FILE` and the `..._AUTH[_FILE]` credentials.
fn read_lookups(env: &EnvSnapshot, problems: &mut Vec<Problem>) -> Lookups {
    let mut var = |name: &str| task_env::text_var(env, name, problems).map(|v| v.value);
    let marathon_auth = var("SPARK_INIT_MARATHON_AUTH");
    let marathon_auth_file = var("SPARK_INIT_MARATHON_AUTH_FILE");
    let mesos_auth = var("SPARK_INIT_MESOS_AUTH");
    let mesos_auth_file = var("SPARK_INIT_MESOS_AUTH_FILE");
    let marathon_url = var("SPARK_INIT_MARATHON_URL");
    let mesos_url = var("SPARK_INIT_MESOS_URL");
    let driver_app = var("SPARK_INIT_DRIVER_APP");
    let port_name = var("SPARK_INIT_DRIVER_PORT_NAME").unwrap_or_else(|| "driver".into());
    let address = var("SPARK_INIT_DRIVER_ADDRESS");
    let framework_name = var("SPARK_INIT_FRAMEWORK_NAME");
    let timeout = var("SPARK_INIT_RESOLVE_TIMEOUT");
    let http_timeout = var("SPARK_INIT_HTTP_TIMEOUT");
    let ca_file = var("SPARK_INIT_CA_FILE").map(PathBuf::from);
    let store_text = var("SPARK_INIT_FRAMEWORK_STORE");
    let store_required = var("SPARK_INIT_STORE_REQUIRED");
    let need_executor_id = var("SPARK_EXECUTOR_ID").is_none();
    let executor_label = var("MESOS_TASK_ID").unwrap_or_default();
    let need_driver = var("SPARK_DRIVER_URL").is_none();
    let need_app_id = var("SPARK_APPLICATION_ID").is_none();
    let known_driver_host = var("SPARK_DRIVER_URL").and_then(|url| {
        let address = url.rsplit_once('@')?.1.split('/').next()?.to_string();
        Some(address.rsplit_once(':')?.0.to_string())
    });

    let marathon_auth = http::Auth::from_env(
        "SPARK_INIT_MARATHON_AUTH",
        marathon_auth.as_deref(),
        marathon_auth_file.as_deref(),
        problems,
    );
    let mesos_auth = http::Auth::from_env(
        "SPARK_INIT_MESOS_AUTH",
        mesos_auth.as_deref(),
        mesos_auth_file.as_deref(),
        problems,
    );
    let marathon = marathon_url.and_then(|text| {
        http::Service::parse(
            "Marathon",
            "SPARK_INIT_MARATHON_URL",
            &text,
            marathon_auth,
            problems,
        )
    });
    let mesos = mesos_url.and_then(|text| {
        http::Service::parse("Mesos", "SPARK_INIT_MESOS_URL", &text, mesos_auth, problems)
    });
    let address = match address.as_deref() {
        None | Some("host") => AddressMode::Host,
        Some("ip") => AddressMode::Ip,
        Some(other) => {
            problems.push(problem(
                "SPARK_INIT_DRIVER_ADDRESS",
                Some(other),
                "is not host or ip; host uses the task's host, ip its first IP address",
            ));
            AddressMode::Host
        }
    };
    let timeout = match timeout {
        None => remote::DEFAULT_RESOLVE_TIMEOUT,
        Some(text) => match text.parse::<f64>() {
            Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Duration::from_secs_f64(s),
            _ => {
                problems.push(problem(
                    "SPARK_INIT_RESOLVE_TIMEOUT",
                    Some(&text),
                    "is not a number of seconds (0 to 86400) such as 300",
                ));
                remote::DEFAULT_RESOLVE_TIMEOUT
            }
        },
    };
    let http_timeout = match http_timeout {
        None => http::READ_TIMEOUT,
        Some(text) => match text.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 && s <= 600.0 => Duration::from_secs_f64(s),
            _ => {
                problems.push(problem(
                    "SPARK_INIT_HTTP_TIMEOUT",
                    Some(&text),
                    "is not a number of seconds (above 0, at most 600) such as 10",
                ));
                http::READ_TIMEOUT
            }
        },
    };
    let store = store_text.and_then(|text| match framework_store::parse_url(&text) {
        Ok(url) => Some(url),
        Err(why) => {
            problems.push(problem("SPARK_INIT_FRAMEWORK_STORE", Some(&text), why));
            None
        }
    });
    let store_required = match store_required.as_deref() {
        None | Some("0" | "false" | "no" | "") => false,
        Some("1" | "true" | "yes") => true,
        Some(other) => {
            problems.push(problem(
                "SPARK_INIT_STORE_REQUIRED",
                Some(other),
                "is not a yes/no value; set 1 or 0",
            ));
            false
        }
    };
    Lookups {
        store,
        store_required,
        need_executor_id,
        executor_label,
        http_timeout,
        marathon,
        driver_app,
        port_name,
        address,
        mesos,
        framework_name,
        ca_file,
        timeout,
        need_driver,
        need_app_id,
        known_driver_host,
        once: false,
    }
}

/// What the image's file system says.
#[derive(Debug, Clone)]
pub struct Facts {
    pub spark: SparkInstall,
    pub java: JavaInstall,
    pub defaults: SparkDefaults,
    pub cgroup: CgroupLimits,
    pub available_cpus: u32,
}

/// Reads the installations, the Spark configuration (the driver's `--properties-file` when
/// the args name one, as spark-submit does) and the cgroup limits.
pub fn discover(env: &RoleEnv, args: &SubmitArgs) -> Result<Facts, Vec<Problem>> {
    let mut problems = Vec::new();
    let spark = install::discover_spark(&env.spark_home.0, "SPARK_HOME")
        .map_err(|p| problems.push(p))
        .ok();
    let java = install::discover_java(env.java_home.as_deref(), env.path.as_deref())
        .map_err(|p| problems.push(p))
        .ok();
    let defaults = match &args.properties_file {
        Some(file) => spark_defaults::load_file(Path::new(file), "--properties-file"),
        None => spark_defaults::load(&env.conf_dir.0),
    }
    .map_err(|p| problems.push(p))
    .unwrap_or_default();
    let cgroup = cgroup::read(&env.cgroup_root);
    match (spark, java) {
        (Some(spark), Some(java)) if problems.is_empty() => Ok(Facts {
            spark,
            java,
            defaults,
            cgroup,
            available_cpus: cgroup::available_cpus(),
        }),
        _ => Err(problems),
    }
}

/// Resolves a role mode into the full plan; every configuration problem found is reported
/// together, before any lookup starts.
pub fn plan(
    config: &Config,
    role: Role,
    env: &EnvSnapshot,
    blocked: &SigSet,
) -> Result<Plan, Error> {
    let mut problems = Vec::new();
    let role_env = RoleEnv::read(env, &mut problems);
    let args = match role {
        Role::Driver => SubmitArgs::parse(&config.command, &mut problems),
        Role::Executor => SubmitArgs::default(),
    };
    let facts = discover(&role_env, &args).map_err(|mut p| {
        problems.append(&mut p);
        // Without the installation nothing else can be resolved, but say what else is
        // missing so that one round of fixes is enough.
        problems.extend(missing_inputs(role, &role_env));
        ConfigErrors(std::mem::take(&mut problems))
    })?;
    if !problems.is_empty() {
        // Report what resolving would also find, without looking anything up.
        let more = match role {
            Role::Executor => resolve_executor(config, &role_env, &facts, &RemoteFacts::default()),
            Role::Driver => {
                resolve_driver(config, &role_env, &facts, &args, &BeforeLaunch::default())
            }
        };
        for problem in more.err().unwrap_or_default() {
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
        return Err(ConfigErrors(problems).into());
    }
    let remote = match role {
        Role::Executor => remote_facts(config, &role_env, blocked)?,
        Role::Driver => RemoteFacts::default(),
    };
    let stored = match (role, &role_env.lookups.store) {
        (Role::Driver, Some(url)) => driver_store_facts(config, &role_env, url, blocked)?,
        _ => BeforeLaunch::default(),
    };
    let mode = match role {
        Role::Executor => resolve_executor(config, &role_env, &facts, &remote),
        Role::Driver => resolve_driver(config, &role_env, &facts, &args, &stored),
    };
    Ok(plan::assemble(config, mode.map_err(ConfigErrors)?))
}

/// The driver's stored framework ID, read (and checked with Mesos) in a child process.
fn driver_store_facts(
    config: &Config,
    env: &RoleEnv,
    url: &StoreUrl,
    blocked: &SigSet,
) -> Result<BeforeLaunch, Error> {
    let lookups = &env.lookups;
    let lookup = driver_lifecycle::StoreLookup {
        url,
        required: lookups.store_required,
        mesos: lookups.mesos.as_ref(),
        ca_file: lookups.ca_file.as_deref(),
        http_timeout: lookups.http_timeout,
        timeout: lookups.timeout,
        dry_run: config.dry_run.value,
    };
    match remote::in_child(blocked, || driver_lifecycle::before_launch(&lookup)) {
        Ok(Ok(facts)) => Ok(facts),
        Ok(Err(DiscoveryError::Unavailable(why))) => Err(Error::Unavailable(why)),
        Ok(Err(DiscoveryError::Refused(why))) => Err(Error::Refused(why)),
        Err(ChildError::Interrupted(sig)) => Err(Error::Interrupted(sig)),
        Err(ChildError::Failed(why)) => Err(Error::Internal(format!(
            "reading the framework store: {why}"
        ))),
    }
}

/// The lookups an executor needs, in a child process; none when the environment says it all.
fn remote_facts(config: &Config, env: &RoleEnv, blocked: &SigSet) -> Result<RemoteFacts, Error> {
    let lookups = Lookups {
        once: config.dry_run.value,
        ..env.lookups.clone()
    };
    let driver_lookup = lookups.need_driver && lookups.marathon.is_some();
    let app_id_lookup = lookups.need_app_id
        && (lookups.marathon.is_some() || lookups.mesos.is_some() || lookups.store.is_some());
    let id_lookup = lookups.need_executor_id && lookups.store.is_some();
    if !driver_lookup && !app_id_lookup && !id_lookup {
        return Ok(RemoteFacts::default());
    }
    match remote::in_child(blocked, || remote::run(&lookups)) {
        Ok(Ok(facts)) => Ok(facts),
        Ok(Err(DiscoveryError::Unavailable(why))) => Err(Error::Unavailable(why)),
        Ok(Err(DiscoveryError::Refused(why))) => Err(Error::Refused(why)),
        Err(ChildError::Interrupted(sig)) => Err(Error::Interrupted(sig)),
        Err(ChildError::Failed(why)) => Err(Error::Internal(format!("looking things up: {why}"))),
    }
}

/// The resolved values every role shows.
fn common_resolved(env: &RoleEnv, facts: &Facts) -> BTreeMap<String, Resolved> {
    let mut resolved = BTreeMap::new();
    resolved.insert(
        "spark_home".into(),
        sourced(
            facts.spark.home.display().to_string(),
            env.spark_home.1.clone(),
        ),
    );
    resolved.insert(
        "spark_conf_dir".into(),
        sourced(env.conf_dir.0.display().to_string(), env.conf_dir.1.clone()),
    );
    resolved.insert(
        "spark_defaults".into(),
        sourced(
            facts
                .defaults
                .path
                .as_ref()
                .map(|p| p.display().to_string()),
            if facts.defaults.path.is_some() {
                format!("{} entries", facts.defaults.entries.len())
            } else {
                "no spark-defaults.conf".to_string()
            },
        ),
    );
    resolved.insert(
        "spark_version".into(),
        sourced(
            facts.spark.version.to_string(),
            facts.spark.version_source.clone(),
        ),
    );
    resolved.insert(
        "java".into(),
        sourced(
            facts.java.java.display().to_string(),
            facts.java.java_source.clone(),
        ),
    );
    resolved.insert(
        "java_version".into(),
        sourced(facts.java.feature, facts.java.feature_source.clone()),
    );
    resolved
}

fn problem(name: &str, value: Option<&str>, message: impl Into<String>) -> Problem {
    Problem {
        name: name.into(),
        value: value.map(String::from),
        message: message.into(),
    }
}

/// `spark.<role>.defaultJavaOptions` (Spark ≥ 3.0) and `spark.<role>.extraJavaOptions` as
/// option sources, split as Spark splits them.
fn spark_java_sources(
    confs: &[(&str, Option<(String, String)>)],
    role: &str,
    problems: &mut Vec<Problem>,
) -> Vec<OptionSource> {
    let mut sources = Vec::new();
    for (key, found) in confs {
        let Some((value, source)) = found else {
            continue;
        };
        match java_options::parse_option_string(value) {
            Ok(tokens) => {
                for token in &tokens {
                    // SparkConf.validateSettings refuses these for spark.<role>.extraJavaOptions.
                    if token.starts_with("-Xmx") {
                        problems.push(problem(
                            source,
                            Some(value),
                            format!(
                                "{key} sets the heap ({token}); Spark refuses that (\"Not allowed \
                                 to specify max heap(Xmx) memory settings through java \
                                 options\"): set spark.{role}.memory{} instead",
                                if role == "executor" {
                                    " or SPARK_EXECUTOR_MEMORY"
                                } else {
                                    ""
                                }
                            ),
                        ));
                    } else if token.starts_with("-Dspark.")
                        && *key == format!("spark.{role}.extraJavaOptions")
                    {
                        problems.push(problem(
                            source,
                            Some(value),
                            format!(
                                "{key} sets a Spark option ({token}); Spark refuses that (\"is \
                                 not allowed to set Spark options\"): set it in \
                                 spark-defaults.conf or with --conf"
                            ),
                        ));
                    }
                }
                sources.push(OptionSource {
                    name: source.clone(),
                    tokens,
                });
            }
            Err(e) => problems.push(problem(
                source,
                Some(value),
                format!("{key}: {e}; fix the quoting as you would for Spark"),
            )),
        }
    }
    sources
}

/// A Spark conf value from spark-defaults.conf with its source.
fn from_defaults(facts: &Facts, key: &str) -> Option<(String, String)> {
    facts
        .defaults
        .get(key)
        .map(|v| (v.to_string(), facts.defaults.source(key)))
}

pub fn resolve_executor(
    config: &Config,
    env: &RoleEnv,
    facts: &Facts,
    remote: &RemoteFacts,
) -> Result<ModePlan, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut resolved = common_resolved(env, facts);
    let version = facts.spark.version;

    // --executor-id
    let executor_id: Option<(String, String)> = match (&env.executor_id, &env.task.task_id) {
        (None, _) if remote.executor_id.is_some() => remote
            .executor_id
            .as_ref()
            .map(|(id, source)| (id.to_string(), source.clone())),
        (Some(id), _) if version.major >= 2 => match executor_id::parse_explicit(&id.value) {
            Ok(n) => Some((n.to_string(), id.var.clone())),
            Err(why) => {
                problems.push(problem(
                    &id.var,
                    Some(&id.raw),
                    format!(
                        "{why}; Spark {version} reads executor IDs with toInt: set a whole \
                         number in 1..=2147483647, unique among the application's live \
                         executors, or unset it to derive one from MESOS_TASK_ID"
                    ),
                ));
                None
            }
        },
        (Some(id), _) => Some((id.value.clone(), id.var.clone())),
        (None, Some(task)) => {
            let id = executor_id::derive(&task.value);
            let how = match executor_id::parse_task_id(&task.value) {
                Some(parsed) => format!("MESOS_TASK_ID ({parsed}), hashed"),
                None => {
                    warnings.push(format!(
                        "MESOS_TASK_ID={:?} is not in a Marathon format; the executor ID is a \
                         hash of it as it is",
                        task.value
                    ));
                    "MESOS_TASK_ID, hashed".to_string()
                }
            };
            Some((id.to_string(), how))
        }
        (None, None) => {
            problems.push(problem(MISSING_EXECUTOR_ID.0, None, MISSING_EXECUTOR_ID.1));
            None
        }
    };

    warnings.extend(remote.warnings.iter().cloned());
    // The dry run looks once and does not wait: what it could not find is shown, not fatal.
    let unresolved = |what: &str, warnings: &mut Vec<String>| {
        let why = if remote.not_found.is_empty() {
            "not looked up".to_string()
        } else {
            remote.not_found.join("; ")
        };
        warnings.push(format!("{what} is not resolved yet: {why}"));
        FromVar {
            value: format!("<{what} unresolved>"),
            var: format!("unresolved: {why}"),
            raw: String::new(),
        }
    };
    let from_remote_driver = remote.driver.as_ref().map(|d| FromVar {
        value: format!("spark://CoarseGrainedScheduler@{}:{}", d.host, d.port),
        var: d.source.clone(),
        raw: String::new(),
    });
    if env.lookups.marathon.is_some()
        && env.lookups.driver_app.is_none()
        && env.driver_url.is_none()
    {
        problems.push(problem(
            "SPARK_INIT_DRIVER_APP",
            None,
            "is not set although SPARK_INIT_MARATHON_URL is; set it to the driver's Marathon \
             app id, such as /spark/orders/driver",
        ));
    }
    let driver_url = match (&env.driver_url, from_remote_driver) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(found)) => Some(found),
        (None, None) if config.dry_run.value && env.lookups.marathon.is_some() => {
            Some(unresolved("the driver URL", &mut warnings))
        }
        (None, None) => required(&None::<FromVar<String>>, MISSING_DRIVER_URL, &mut problems),
    };
    if let Some(url) = driver_url.as_ref().filter(|u| !u.raw.is_empty()) {
        if let Err(why) = check_driver_url(&url.value, version) {
            problems.push(problem(&url.var, Some(&url.raw), why));
        }
    }
    let from_remote_app = remote.app_id.as_ref().map(|(id, source)| FromVar {
        value: id.clone(),
        var: source.clone(),
        raw: String::new(),
    });
    let lookups_configured = env.lookups.marathon.is_some()
        || env.lookups.mesos.is_some()
        || env.lookups.store.is_some();
    let app_id = match (&env.app_id, from_remote_app) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(found)) => Some(found),
        (None, None) if config.dry_run.value && lookups_configured => {
            Some(unresolved("the application ID", &mut warnings))
        }
        (None, None) => required(&None::<FromVar<String>>, MISSING_APP_ID, &mut problems),
    };
    let hostname = required(&env.hostname, MISSING_HOSTNAME, &mut problems);

    let cores = executor_cores(env, facts, &mut problems);
    let memory = executor_memory(env, facts, version, &mut problems, &mut warnings);

    let port = env.task.port("blockmanager", Some(0));
    if port.is_none() {
        warnings.push(
            "no port for the block manager (neither PORT_BLOCKMANAGER nor PORT0 is set): \
             Spark picks a random one, which Marathon does not map"
                .into(),
        );
    }

    let mut java_confs = Vec::new();
    if version.at_least(3, 0) {
        java_confs.push((
            "spark.executor.defaultJavaOptions",
            from_defaults(facts, "spark.executor.defaultJavaOptions"),
        ));
    }
    java_confs.push((
        "spark.executor.extraJavaOptions",
        from_defaults(facts, "spark.executor.extraJavaOptions"),
    ));
    let spark_java_sources = spark_java_sources(&java_confs, "executor", &mut problems);

    let module_options = version.at_least(3, 3)
        && match facts.java.feature {
            Some(feature) => feature >= 17,
            None => {
                problems.push(problem(
                    "JAVA_HOME",
                    Some(&facts.java.java.display().to_string()),
                    format!(
                        "the Java version is unknown ({}); Spark {version} on Java 17 needs \
                         module options that Java 8 refuses: point JAVA_HOME at an installation \
                         with a release file",
                        facts.java.feature_source
                    ),
                ));
                false
            }
        };

    // The extra flags from the app's args.
    let extra = plan::lossy(&config.command);
    check_executor_args(&extra, version, &mut problems, &mut warnings);

    if !problems.is_empty() {
        return Err(problems);
    }
    let (
        Some((executor_id, id_source)),
        Some(driver_url),
        Some(app_id),
        Some(hostname),
        Some(cores),
        Some(memory),
    ) = (executor_id, driver_url, app_id, hostname, cores, memory)
    else {
        unreachable!("every missing value added a problem");
    };

    // Classpath as Spark's Kubernetes entrypoint builds it (resource-managers/kubernetes/
    // docker/src/main/dockerfiles/spark/entrypoint.sh): extraClassPath first, then
    // SPARK_CLASSPATH, the conf dir, Spark's jars, SPARK_EXTRA_CLASSPATH.
    let mut classpath: Vec<String> = Vec::new();
    let mut classpath_sources = Vec::new();
    if let Some((cp, source)) = from_defaults(facts, "spark.executor.extraClassPath") {
        classpath.push(cp);
        classpath_sources.push(source);
    }
    if let Some(cp) = &env.spark_classpath {
        classpath.push(cp.value.clone());
        classpath_sources.push(cp.var.clone());
    }
    classpath.push(env.conf_dir.0.display().to_string());
    classpath.push(facts.spark.jars.clone());
    classpath_sources.push("SPARK_CONF_DIR and Spark's jars".into());
    if let Some(cp) = &env.extra_classpath {
        classpath.push(cp.value.clone());
        classpath_sources.push(cp.var.clone());
    }
    let classpath = classpath.join(":");

    let mut argv: Vec<String> = vec![
        facts.java.java.display().to_string(),
        "-cp".into(),
        classpath.clone(),
        format!("-Xms{}m", memory.heap_mib),
        format!("-Xmx{}m", memory.heap_mib),
    ];
    if module_options {
        argv.extend(JAVA_MODULE_OPTIONS.iter().map(|s| s.to_string()));
    }
    if let Some(port) = port {
        // On the executor JVM: CoarseGrainedExecutorBackend keeps an executor's own
        // spark.*.port over the driver's (SparkConf.isExecutorStartupConf → setIfMissing).
        argv.push(format!("-Dspark.blockManager.port={}", port.value));
    }
    argv.push(EXECUTOR_CLASS.into());
    argv.extend([
        "--driver-url".into(),
        driver_url.value.clone(),
        "--executor-id".into(),
        executor_id.clone(),
        "--hostname".into(),
        hostname.value.clone(),
        "--cores".into(),
        cores.0.to_string(),
        "--app-id".into(),
        app_id.value.clone(),
    ]);
    if version.at_least(3, 0) {
        // Bind everywhere, advertise --hostname: with Docker's bridge networking the host's
        // address does not exist inside the container.
        argv.extend(["--bind-address".into(), "0.0.0.0".into()]);
    }
    if version.at_least(3, 1) {
        argv.extend(["--resourceProfileId".into(), "0".into()]);
    }
    argv.extend(extra);

    resolved.insert("executor_id".into(), sourced(executor_id, id_source));
    resolved.insert(
        "driver_url".into(),
        sourced(driver_url.value.clone(), driver_url.var.clone()),
    );
    resolved.insert(
        "app_id".into(),
        sourced(app_id.value.clone(), app_id.var.clone()),
    );
    resolved.insert(
        "hostname".into(),
        sourced(hostname.value.clone(), hostname.var.clone()),
    );
    resolved.insert("cores".into(), sourced(cores.0, cores.1));
    resolved.insert(
        "heap_mib".into(),
        sourced(memory.heap_mib, memory.heap_source),
    );
    resolved.insert(
        "memory_overhead_mib".into(),
        sourced(memory.overhead_mib, memory.overhead_source),
    );
    resolved.insert(
        "ports".into(),
        sourced(
            json!({ "blockmanager": port.map(|p| p.value) }),
            port.map_or("none set".to_string(), |p| p.var.clone()),
        ),
    );
    resolved.insert(
        "classpath".into(),
        sourced(classpath, classpath_sources.join(", ")),
    );
    resolved.insert(
        "java_module_options".into(),
        sourced(
            module_options,
            format!(
                "Spark {version} on Java {}: {}",
                facts
                    .java
                    .feature
                    .map_or("?".to_string(), |f| f.to_string()),
                if module_options {
                    "JavaModuleOptions as spark-class adds them"
                } else {
                    "not needed"
                }
            ),
        ),
    );

    Ok(ModePlan {
        role: "executor".into(),
        argv: argv.into_iter().map(OsString::from).collect(),
        spark_java_sources,
        resolved,
        warnings,
        store_duty: None,
    })
}

type Missing = (&'static str, &'static str);
const MISSING_DRIVER_URL: Missing = (
    "SPARK_DRIVER_URL",
    "is not set; set SPARK_INIT_MARATHON_URL and SPARK_INIT_DRIVER_APP to find the driver \
     through Marathon, or set it to the driver's address, \
     spark://CoarseGrainedScheduler@<host>:<port> (the port is the driver's spark.driver.port)",
);
const MISSING_APP_ID: Missing = (
    "SPARK_APPLICATION_ID",
    "is not set and cannot be looked up (no SPARK_INIT_MARATHON_URL or SPARK_INIT_MESOS_URL); \
     set it to the application's ID (on Mesos, the driver's framework ID)",
);
const MISSING_HOSTNAME: Missing = (
    "SPARK_INIT_HOSTNAME",
    "is not set and neither is Marathon's HOST; set SPARK_INIT_HOSTNAME to the address the \
     other side (driver or executors) can reach this container at",
);
const MISSING_EXECUTOR_ID: Missing = (
    "SPARK_EXECUTOR_ID",
    "is not set and there is no MESOS_TASK_ID to derive it from; set SPARK_EXECUTOR_ID to a \
     whole number unique among the application's executors",
);

fn required<T: Clone>(
    value: &Option<T>,
    missing: Missing,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    if value.is_none() {
        problems.push(problem(missing.0, None, missing.1));
    }
    value.clone()
}

/// The required inputs that are missing, checked without the installation.
fn missing_inputs(role: Role, env: &RoleEnv) -> Vec<Problem> {
    let mut problems = Vec::new();
    required(&env.hostname, MISSING_HOSTNAME, &mut problems);
    if role == Role::Executor {
        if env.lookups.marathon.is_none() {
            required(&env.driver_url, MISSING_DRIVER_URL, &mut problems);
        }
        if env.lookups.marathon.is_none()
            && env.lookups.mesos.is_none()
            && env.lookups.store.is_none()
        {
            required(&env.app_id, MISSING_APP_ID, &mut problems);
        }
        let zk_store = matches!(env.lookups.store, Some(StoreUrl::Zk { .. }));
        if env.executor_id.is_none() && env.task.task_id.is_none() && !zk_store {
            problems.push(problem(MISSING_EXECUTOR_ID.0, None, MISSING_EXECUTOR_ID.1));
        }
    }
    problems
}

/// `spark://CoarseGrainedScheduler@host:port` (Spark's `RpcEndpointAddress`); Spark 1.6 may
/// also use Akka's `akka.tcp://sparkDriver@host:port/user/CoarseGrainedScheduler`.
fn check_driver_url(url: &str, version: SparkVersion) -> Result<(), String> {
    let fix = "write it as spark://CoarseGrainedScheduler@<host>:<port>";
    let rest = if let Some(rest) = url.strip_prefix("spark://") {
        rest
    } else if let (Some(rest), 1) = (url.strip_prefix("akka.tcp://"), version.major) {
        rest.split('/').next().unwrap_or_default()
    } else {
        return Err(format!("is not a Spark driver URL; {fix}"));
    };
    let (name, address) = rest
        .split_once('@')
        .ok_or_else(|| format!("has no endpoint name before '@'; {fix}"))?;
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("has no port; {fix}"))?;
    if name.is_empty() || host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(format!("is incomplete; {fix}"));
    }
    Ok(())
}

/// `--cores`: `SPARK_EXECUTOR_CORES`, else Marathon's cpus, else the cgroup quota, else the
/// CPUs available; fractions rounded down, at least 1.
fn executor_cores(
    env: &RoleEnv,
    facts: &Facts,
    problems: &mut Vec<Problem>,
) -> Option<(u32, String)> {
    let round = |cpus: f64, what: String| {
        let whole = cpus.floor();
        if whole < 1.0 {
            (1, format!("{what} (below 1: 1)"))
        } else if whole < cpus {
            (whole as u32, format!("{what} (rounded down)"))
        } else {
            (whole as u32, what)
        }
    };
    if let Some(cores) = &env.executor_cores {
        return match cores.value.parse::<u32>() {
            Ok(n) if n >= 1 => Some((n, cores.var.clone())),
            _ => {
                problems.push(problem(
                    &cores.var,
                    Some(&cores.raw),
                    "is not a whole number of cores (1 or more)",
                ));
                None
            }
        };
    }
    if let Some(cpus) = &env.task.cpus {
        return Some(round(cpus.value, format!("{}={}", cpus.var, cpus.raw)));
    }
    if let Some(limit) = &facts.cgroup.cpus {
        return Some(round(limit.value, limit.source.clone()));
    }
    Some((
        facts.available_cpus,
        "CPUs available to the container".into(),
    ))
}

struct Memory {
    heap_mib: u64,
    heap_source: String,
    overhead_mib: u64,
    overhead_source: String,
}

/// The heap: `SPARK_EXECUTOR_MEMORY`, else the container's memory minus the overhead Spark
/// reserves, else `spark.executor.memory`.
fn executor_memory(
    env: &RoleEnv,
    facts: &Facts,
    version: SparkVersion,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) -> Option<Memory> {
    // Mesos' own overhead key came first (Spark 1.6–2.x); the generic one wins.
    let overhead_conf = [
        "spark.executor.memoryOverhead",
        "spark.mesos.executor.memoryOverhead",
    ]
    .into_iter()
    .find_map(|key| from_defaults(facts, key).map(|v| (key, v)));
    let fixed_overhead = match overhead_conf {
        Some((key, (value, source))) => match size::parse_mib(&value) {
            Ok(mib) => Some((mib, source)),
            Err(why) => {
                problems.push(problem(&source, Some(&value), format!("{key} {why}")));
                return None;
            }
        },
        None => None,
    };
    let factor = match from_defaults(facts, "spark.executor.memoryOverheadFactor") {
        Some((value, source)) if version.at_least(3, 3) => match value.parse::<f64>() {
            Ok(f) if f > 0.0 && f.is_finite() => (f, source),
            _ => {
                problems.push(problem(
                    &source,
                    Some(&value),
                    "spark.executor.memoryOverheadFactor is not a positive number such as 0.1",
                ));
                return None;
            }
        },
        _ => (DEFAULT_OVERHEAD_FACTOR, String::new()),
    };
    let overhead_for = |heap: u64| -> (u64, String) {
        match &fixed_overhead {
            Some((mib, source)) => (*mib, source.clone()),
            None => {
                let scaled = (heap as f64 * factor.0) as u64;
                let how = if factor.1.is_empty() {
                    "max(384 MiB, 10% of the heap), Spark's default".to_string()
                } else {
                    format!("max(384 MiB, {} × heap) from {}", factor.0, factor.1)
                };
                (scaled.max(MIN_OVERHEAD_MIB), how)
            }
        }
    };

    let container: Option<(u64, String)> = env
        .task
        .mem_mib
        .as_ref()
        .map(|m| (m.value.floor() as u64, format!("{}={}", m.var, m.raw)))
        .or_else(|| {
            facts
                .cgroup
                .memory_bytes
                .as_ref()
                .map(|l| (l.value >> 20, l.source.clone()))
        });

    if let Some(memory) = &env.executor_memory {
        let heap = match size::parse_mib(&memory.value) {
            Ok(mib) => mib,
            Err(why) => {
                problems.push(problem(&memory.var, Some(&memory.raw), why));
                return None;
            }
        };
        let (overhead, overhead_source) = overhead_for(heap);
        if let Some((limit, limit_source)) = &container {
            if heap + overhead > *limit {
                warnings.push(format!(
                    "{}={} plus Spark's overhead of {overhead} MiB exceeds the container's \
                     {limit} MiB ({limit_source}): the JVM may be OOM-killed",
                    memory.var, memory.raw
                ));
            }
        }
        return check_heap(
            heap,
            memory.var.clone(),
            &memory.raw,
            overhead,
            overhead_source,
            problems,
        );
    }
    if let Some((limit, source)) = container {
        let heap = match &fixed_overhead {
            Some((overhead, _)) => limit.saturating_sub(*overhead),
            None => {
                let with_floor = limit.saturating_sub(MIN_OVERHEAD_MIB);
                if (with_floor as f64 * factor.0) <= MIN_OVERHEAD_MIB as f64 {
                    with_floor
                } else {
                    (limit as f64 / (1.0 + factor.0)).floor() as u64
                }
            }
        };
        let (overhead, overhead_source) = overhead_for(heap);
        let heap_source = format!("{source} minus the overhead");
        return check_heap(
            heap,
            heap_source,
            &limit.to_string(),
            overhead,
            overhead_source,
            problems,
        );
    }
    if let Some((value, source)) = from_defaults(facts, "spark.executor.memory") {
        return match size::parse_mib(&value) {
            Ok(heap) => {
                let (overhead, overhead_source) = overhead_for(heap);
                check_heap(heap, source, &value, overhead, overhead_source, problems)
            }
            Err(why) => {
                problems.push(problem(
                    &source,
                    Some(&value),
                    format!("spark.executor.memory {why}"),
                ));
                None
            }
        };
    }
    problems.push(problem(
        "SPARK_EXECUTOR_MEMORY",
        None,
        "is not set, and the container's memory is unknown (no MARATHON_APP_RESOURCE_MEM, no \
         cgroup limit, no spark.executor.memory); set SPARK_EXECUTOR_MEMORY such as 4g",
    ));
    None
}

fn check_heap(
    heap: u64,
    heap_source: String,
    raw: &str,
    overhead: u64,
    overhead_source: String,
    problems: &mut Vec<Problem>,
) -> Option<Memory> {
    if heap < MIN_HEAP_MIB {
        let name = heap_source
            .split([' ', '='])
            .next()
            .unwrap_or("memory")
            .to_string();
        problems.push(problem(
            &name,
            Some(raw),
            format!(
                "leaves a heap of {heap} MiB after Spark's overhead of {overhead} MiB; Spark \
                 needs at least {MIN_HEAP_MIB} MiB of heap: give the app at least {} MiB of \
                 memory (mem in the Marathon app)",
                MIN_HEAP_MIB + overhead.max(MIN_OVERHEAD_MIB)
            ),
        ));
        return None;
    }
    Some(Memory {
        heap_mib: heap,
        heap_source,
        overhead_mib: overhead,
        overhead_source,
    })
}

/// `CoarseGrainedExecutorBackend`'s flags, by Spark version (its `parseArguments`): anything
/// else makes it print its usage and exit 1, and Marathon would restart it forever.
fn executor_flags(version: SparkVersion) -> Vec<&'static str> {
    let mut flags = vec![
        "--driver-url",
        "--executor-id",
        "--hostname",
        "--cores",
        "--app-id",
        "--worker-url",
    ];
    if !version.at_least(3, 3) {
        flags.push("--user-class-path");
    }
    if version.at_least(3, 0) {
        flags.extend(["--bind-address", "--resourcesFile"]);
    }
    if version.at_least(3, 1) {
        flags.push("--resourceProfileId");
    }
    flags
}

const FLAGS_WE_SET: &[&str] = &[
    "--driver-url",
    "--executor-id",
    "--hostname",
    "--cores",
    "--app-id",
    "--bind-address",
    "--resourceProfileId",
];

fn check_executor_args(
    args: &[String],
    version: SparkVersion,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) {
    let accepted = executor_flags(version);
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        if !accepted.contains(&flag) {
            problems.push(problem(
                "args",
                Some(flag),
                format!(
                    "CoarseGrainedExecutorBackend of Spark {version} does not accept this flag \
                     (it accepts {}); remove it from the Marathon app's args",
                    accepted.join(" ")
                ),
            ));
        } else if i + 1 >= args.len() {
            problems.push(problem("args", Some(flag), "needs a value after it"));
        } else if FLAGS_WE_SET.contains(&flag) {
            warnings.push(format!(
                "the app's args set {flag} {}, which overrides the value spark-init resolved",
                args[i + 1]
            ));
        }
        i += 2;
    }
}

/// The spark-submit options spark-init cares about, from the driver's args (the options
/// before the application resource; `SparkSubmitOptionParser`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmitArgs {
    pub master: Option<String>,
    pub deploy_mode: Option<String>,
    pub properties_file: Option<String>,
    pub driver_java_options: Option<String>,
    /// `--conf k=v` / `-c k=v`, later wins.
    pub conf: BTreeMap<String, String>,
}

/// spark-submit's options that take no value (`SparkSubmitOptionParser` switches).
const SUBMIT_SWITCHES: &[&str] = &[
    "--verbose",
    "-v",
    "--supervise",
    "--help",
    "-h",
    "--version",
    "--usage-error",
];

impl SubmitArgs {
    pub fn parse(args: &[OsString], problems: &mut Vec<Problem>) -> SubmitArgs {
        let args = plan::lossy(args);
        let mut parsed = SubmitArgs::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if !arg.starts_with('-') {
                break; // the application resource: the rest belongs to the application
            }
            if SUBMIT_SWITCHES.contains(&arg.as_str()) {
                i += 1;
                continue;
            }
            let (name, value, step) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => {
                    (name.to_string(), Some(value.to_string()), 1)
                }
                _ => (arg.clone(), args.get(i + 1).cloned(), 2),
            };
            let Some(value) = value else {
                problems.push(problem("args", Some(arg), "needs a value after it"));
                break;
            };
            match name.as_str() {
                "--master" => parsed.master = Some(value),
                "--deploy-mode" => parsed.deploy_mode = Some(value),
                "--properties-file" => parsed.properties_file = Some(value),
                "--driver-java-options" => parsed.driver_java_options = Some(value),
                "--conf" | "-c" => match value.split_once('=') {
                    Some((k, v)) => {
                        parsed
                            .conf
                            .insert(k.trim().to_string(), v.trim().to_string());
                    }
                    None => problems.push(problem(
                        "args",
                        Some(&value),
                        "is not a key=value pair after --conf",
                    )),
                },
                _ => {}
            }
            i += step;
        }
        parsed
    }
}

pub fn resolve_driver(
    config: &Config,
    env: &RoleEnv,
    facts: &Facts,
    args: &SubmitArgs,
    stored: &BeforeLaunch,
) -> Result<ModePlan, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut warnings = stored.warnings.clone();
    let mut resolved = common_resolved(env, facts);
    let version = facts.spark.version;

    let submit = facts.spark.home.join("bin/spark-submit");
    if !install::is_executable(&submit) {
        problems.push(problem(
            "SPARK_HOME",
            Some(&facts.spark.home.display().to_string()),
            format!(
                "has no executable {}; the image's Spark is incomplete",
                submit.display()
            ),
        ));
    }
    let hostname = required(&env.hostname, MISSING_HOSTNAME, &mut problems);

    // What the user set: the args beat spark-defaults.conf, as in spark-submit.
    let user_value = |key: &str| -> Option<(String, String)> {
        args.conf
            .get(key)
            .map(|v| (v.clone(), format!("the app's args (--conf {key})")))
            .or_else(|| from_defaults(facts, key))
    };
    let master = args
        .master
        .clone()
        .map(|m| (m, "the app's args (--master)".to_string()))
        .or_else(|| user_value("spark.master"));
    let deploy_mode = args
        .deploy_mode
        .clone()
        .or_else(|| user_value("spark.submit.deployMode").map(|v| v.0));
    if deploy_mode.as_deref() == Some("cluster") {
        problems.push(problem(
            "args",
            Some("--deploy-mode cluster"),
            "spark-init runs the driver in this container (client mode); remove the cluster \
             deploy mode",
        ));
    }

    let failover = match &env.failover_timeout {
        Some(v) => match v.value.parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => (s, v.var.clone()),
            _ => {
                problems.push(problem(
                    &v.var,
                    Some(&v.raw),
                    "is not a positive number of seconds such as 3600",
                ));
                (DEFAULT_FAILOVER_TIMEOUT_SECONDS, String::new())
            }
        },
        None => (DEFAULT_FAILOVER_TIMEOUT_SECONDS, "default".into()),
    };

    // The Spark conf spark-init adds, each unless the user set it.
    let mut wanted: Vec<(String, Option<String>, String)> = Vec::new();
    if let Some(host) = &hostname {
        wanted.push((
            "spark.driver.host".into(),
            Some(host.value.clone()),
            host.var.clone(),
        ));
    }
    if version.at_least(2, 1) {
        wanted.push((
            "spark.driver.bindAddress".into(),
            Some("0.0.0.0".into()),
            "spark-init: bind everywhere inside the container, advertise the host".into(),
        ));
    }
    let blockmanager_key = if version.at_least(2, 1) {
        "spark.driver.blockManager.port"
    } else {
        "spark.blockManager.port"
    };
    for (key, name, index) in [
        ("spark.driver.port", "driver", 0),
        (blockmanager_key, "blockmanager", 1),
        ("spark.ui.port", "ui", 2),
    ] {
        let port = env.task.port(name, Some(index));
        wanted.push((
            key.into(),
            port.map(|p| p.value.to_string()),
            port.map_or_else(
                || format!("no PORT_{} or PORT{index}", name.to_ascii_uppercase()),
                |p| p.var.clone(),
            ),
        ));
    }
    let mesos = master
        .as_ref()
        .is_some_and(|(m, _)| m.starts_with("mesos://"));
    if mesos {
        let constraints = env.mesos_constraints.as_ref().map_or(
            (
                DEFAULT_MESOS_CONSTRAINTS.to_string(),
                "default: an attribute no agent has".to_string(),
            ),
            |c| (c.value.clone(), c.var.clone()),
        );
        wanted.push((
            "spark.mesos.constraints".into(),
            Some(constraints.0),
            constraints.1,
        ));
        wanted.push((
            "spark.mesos.rejectOfferDurationForUnmetConstraints".into(),
            Some(REJECT_OFFER_DURATION.into()),
            "spark-init: Marathon alone places executors".into(),
        ));
        if let Some((_, _)) = &stored.reuse {
            // Re-registering needs a failover timeout above 0 (Mesos drops a framework with
            // none at once when its driver disconnects).
            if user_value("spark.mesos.driver.failoverTimeout")
                .is_some_and(|(v, _)| v.parse::<f64>().map_or(true, |s| s <= 0.0))
            {
                warnings.push(
                    "spark.mesos.driver.failoverTimeout is 0 or invalid where it is set, so the \
                     stored framework ID could not be reused after a restart: set it above 0"
                        .into(),
                );
            }
        }
        wanted.push((
            "spark.mesos.driver.failoverTimeout".into(),
            Some(format_seconds(failover.0)),
            if failover.1 == "default" {
                "default (SPARK_INIT_FAILOVER_TIMEOUT), so a restarted driver can re-register"
                    .into()
            } else {
                failover.1.clone()
            },
        ));
    }

    // The stored ID goes on whatever the master: only Mesos' scheduler backend reads it, and
    // elsewhere it still shows on the command line which framework the driver would resume.
    if let Some((id, source)) = &stored.reuse {
        wanted.push((
            "spark.mesos.driver.frameworkId".into(),
            Some(id.clone()),
            source.clone(),
        ));
    }
    let mut confs: Vec<String> = Vec::new();
    for (key, value, source) in wanted {
        let entry = format!("conf.{key}");
        if let Some((user, user_source)) = user_value(&key) {
            resolved.insert(
                entry,
                sourced(user, format!("{user_source}; kept over spark-init's")),
            );
            continue;
        }
        match value {
            Some(value) => {
                resolved.insert(entry, sourced(value.clone(), source));
                confs.push(format!("{key}={value}"));
            }
            None => {
                warnings.push(format!(
                    "{key} is not set ({source}): Spark picks a random port, which Marathon \
                     does not map"
                ));
                resolved.insert(entry, sourced(Value::Null, source));
            }
        }
    }
    resolved.insert(
        "master".into(),
        match &master {
            Some((m, source)) => sourced(m.clone(), source.clone()),
            None => sourced(Value::Null, "not set: spark-submit's default (local[*])"),
        },
    );
    if let Some(host) = &hostname {
        resolved.insert(
            "hostname".into(),
            sourced(host.value.clone(), host.var.clone()),
        );
    }

    // spark.driver.defaultJavaOptions (≥ 3.0) then extraJavaOptions; --driver-java-options
    // beats --conf, which beats spark-defaults.conf (SparkSubmitArguments).
    let mut java_confs = Vec::new();
    if version.at_least(3, 0) {
        java_confs.push((
            "spark.driver.defaultJavaOptions",
            user_value("spark.driver.defaultJavaOptions"),
        ));
    }
    let extra = args
        .driver_java_options
        .clone()
        .map(|v| (v, "the app's args (--driver-java-options)".to_string()))
        .or_else(|| user_value("spark.driver.extraJavaOptions"));
    java_confs.push(("spark.driver.extraJavaOptions", extra));
    let spark_java_sources = spark_java_sources(&java_confs, "driver", &mut problems);

    if !problems.is_empty() {
        return Err(problems);
    }
    let mut argv: Vec<String> = vec![submit.display().to_string()];
    if args.deploy_mode.is_none() {
        argv.extend(["--deploy-mode".into(), "client".into()]);
    }
    for conf in confs {
        argv.extend(["--conf".into(), conf]);
    }
    argv.extend(plan::lossy(&config.command));
    let ui_port = args
        .conf
        .get("spark.ui.port")
        .cloned()
        .or_else(|| facts.defaults.get("spark.ui.port").map(String::from))
        .and_then(|p| p.parse::<u16>().ok())
        .or_else(|| env.task.port("ui", Some(2)).map(|p| p.value));
    let publish = match (&env.executor_app, &env.lookups.marathon, &hostname) {
        (Some(app), Some(marathon), Some(host)) => {
            let port = args
                .conf
                .get("spark.driver.port")
                .cloned()
                .or_else(|| facts.defaults.get("spark.driver.port").map(String::from))
                .or_else(|| {
                    env.task
                        .port("driver", Some(0))
                        .map(|p| p.value.to_string())
                });
            match port {
                Some(port) => Some(Publish {
                    marathon: marathon.clone(),
                    app: app.clone(),
                    instances: env.executor_instances,
                    driver_url: format!("spark://CoarseGrainedScheduler@{}:{port}", host.value),
                    scale_down_on_exit: env.scale_down_on_exit,
                    ca_file: env.lookups.ca_file.clone(),
                    http_timeout: env.lookups.http_timeout,
                }),
                None => {
                    problems.push(problem(
                        "SPARK_INIT_EXECUTOR_APP",
                        Some(app),
                        "is set but the driver's port is unknown (no spark.driver.port, no \
                         PORT_DRIVER or PORT0): executors could not be told where it is",
                    ));
                    None
                }
            }
        }
        (Some(app), None, _) => {
            problems.push(problem(
                "SPARK_INIT_EXECUTOR_APP",
                Some(app),
                "is set but SPARK_INIT_MARATHON_URL is not: set the Marathon to publish to",
            ));
            None
        }
        _ => None,
    };
    if let Some(p) = &publish {
        resolved.insert(
            "publish_to".into(),
            sourced(
                json!({ "app": p.app, "driver_url": p.driver_url, "instances": p.instances }),
                "SPARK_INIT_EXECUTOR_APP (with the application ID once the driver runs)",
            ),
        );
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let store_duty = (env.lookups.store.is_some() || publish.is_some()).then(|| StoreDuty {
        url: env.lookups.store.clone(),
        publish,
        reused: stored.reuse.as_ref().map(|(id, _)| id.clone()),
        reregister_window: env.reregister_window,
        timeout: env.lookups.timeout,
        ui_port,
    });
    if let Some(url) = &env.lookups.store {
        resolved.insert(
            "framework_store".into(),
            sourced(url.to_string(), "SPARK_INIT_FRAMEWORK_STORE"),
        );
    }
    Ok(ModePlan {
        role: "driver".into(),
        argv: argv.into_iter().map(OsString::from).collect(),
        spark_java_sources,
        resolved,
        warnings,
        store_duty,
    })
}

/// Seconds as Spark reads a double: `3600`, `2.5`.
fn format_seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn submit_args_stop_at_the_application_resource() {
        let mut problems = Vec::new();
        let args = SubmitArgs::parse(
            &os(&[
                "--master",
                "mesos://zk://zk1:2181/mesos",
                "--conf",
                "spark.ui.port=4444",
                "--conf=spark.driver.port=7000",
                "--verbose",
                "--class",
                "com.example.Stream",
                "local:///opt/app/stream.jar",
                "--master",
                "not-ours",
                "--conf",
                "x=y",
            ]),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(args.master.as_deref(), Some("mesos://zk://zk1:2181/mesos"));
        assert_eq!(args.conf.len(), 2);
        assert_eq!(args.conf["spark.driver.port"], "7000");
    }

    #[test]
    fn driver_urls() {
        let v3 = SparkVersion::new(3, 5, 7);
        let v1 = SparkVersion::new(1, 6, 3);
        assert!(check_driver_url("spark://CoarseGrainedScheduler@10.0.0.5:7001", v3).is_ok());
        assert!(check_driver_url("spark://CoarseGrainedScheduler@10.0.0.5", v3).is_err());
        assert!(check_driver_url("http://10.0.0.5:7001", v3).is_err());
        assert!(check_driver_url("spark://@h:1", v3).is_err());
        assert!(check_driver_url(
            "akka.tcp://sparkDriver@10.0.0.5:7001/user/CoarseGrainedScheduler",
            v1
        )
        .is_ok());
        assert!(check_driver_url("akka.tcp://sparkDriver@10.0.0.5:7001/user/x", v3).is_err());
    }

    #[test]
    fn executor_flags_follow_the_version() {
        let flags = |v| executor_flags(SparkVersion::parse(v).unwrap());
        assert!(flags("2.4.8").contains(&"--user-class-path"));
        assert!(!flags("3.3.0").contains(&"--user-class-path"));
        assert!(!flags("2.4.8").contains(&"--bind-address"));
        assert!(flags("3.0.0").contains(&"--bind-address"));
        assert!(!flags("3.0.3").contains(&"--resourceProfileId"));
        assert!(flags("3.1.1").contains(&"--resourceProfileId"));
    }
}
