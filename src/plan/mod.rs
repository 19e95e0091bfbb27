//! Resolve: a pure function from [`Config`] to the [`Plan`] that a dry run prints and execute
//! runs. Every value carries its source so an operator can see why it is what it is.

mod cds;
pub mod driver;
pub mod executor;
mod java_options;
pub mod master;
pub mod memory;
pub mod metrics;
pub mod render;
pub mod role;
#[cfg(test)]
pub mod testing;
pub mod user;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::cli::Role;
use crate::config::role::RoleConfig;
use crate::config::{lossy, Config, Problem};
use crate::facts::Facts;
use crate::redact;
use crate::sourced::Sourced;
use crate::spark::version::SparkVersion;

pub use self::render::shell_quote;

/// A resolved value as the dry run shows it.
pub type Resolved = Sourced<Value>;

/// How the supervisor behaves; part of the plan so the dry run shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Supervision {
    /// The stop's grace before SIGKILL; `None`: never (the orchestrator decides).
    pub grace: Option<Duration>,
    pub signal_group: bool,
    pub exit_remap: BTreeMap<u8, u8>,
}

impl Supervision {
    /// The code spark-init exits with for a child code, after `SPARK_INIT_EXIT_REMAP`.
    pub fn exit_code(&self, child_code: i32) -> i32 {
        crate::config::vars::remapped(&self.exit_remap, child_code)
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// `exec` for the generic init, else the Spark role.
    pub role: String,
    pub argv: Vec<OsString>,
    /// The variables spark-init sets or changes for the child; all others pass untouched.
    pub env: BTreeMap<String, String>,
    /// The tokens behind `JAVA_TOOL_OPTIONS`, kept to redact them one by one for display.
    pub java_tokens: Vec<String>,
    pub resolved: BTreeMap<String, Resolved>,
    pub warnings: Vec<String>,
    pub supervision: Supervision,
    /// The driver's framework-store work around the run, if any.
    pub store_duty: Option<StoreDuty>,
    /// Who the command runs as, and the passwd entry it gets (README "Users").
    pub identity: user::Identity,
    /// What explaining the command's exit needs (README "When an executor dies").
    pub exit: ExitContext,
    /// The container statistics to send to Graphite, if asked for (README "Metrics").
    pub metrics: Option<metrics::MetricsDuty>,
}

/// What the supervisor needs, beyond what it sees, to explain how the command ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExitContext {
    /// Where the cgroup's memory counters are (`SPARK_INIT_CGROUP_ROOT`).
    pub cgroup_root: PathBuf,
    /// Where the termination summary goes, if anywhere.
    pub termination_log: Option<PathBuf>,
    /// The role's Spark release, which names its exit codes; `None` for a plain command.
    pub spark_version: Option<SparkVersion>,
    /// What the plan gave the JVM, to set beside an OOM kill.
    pub jvm_memory: Option<JvmMemory>,
    /// The command is a JVM (a role's, or a plain command whose program is `java`): its exit
    /// codes are read by the JVM's conventions.
    pub jvm: bool,
}

/// The memory the plan gave a Spark JVM.
#[derive(Debug, Clone, PartialEq)]
pub struct JvmMemory {
    pub heap_mib: Sourced<u64>,
    /// What Spark keeps for the JVM beside the heap (executors and drivers).
    pub overhead_mib: Option<Sourced<u64>>,
    /// The setting that leaves more room beside the heap.
    pub overhead_key: Option<&'static str>,
}

impl JvmMemory {
    /// A heap with Spark's overhead for it; `overhead_key` is the setting that raises it.
    pub fn new(
        heap_mib: Sourced<u64>,
        overhead: &memory::Overhead,
        overhead_key: &'static str,
    ) -> Self {
        JvmMemory {
            overhead_mib: Some(overhead.for_heap(heap_mib.value)),
            heap_mib,
            overhead_key: Some(overhead_key),
        }
    }
}

/// What a driver does with the framework store around its run (README "Framework store").
#[derive(Debug, Clone, PartialEq)]
pub struct StoreDuty {
    /// `SPARK_INIT_FRAMEWORK_STORE`, when set.
    pub url: Option<crate::clients::framework_store::StoreUrl>,
    /// Publishing the driver to its executors' Marathon app, when asked for.
    pub publish: Option<Publish>,
    /// The stored framework ID the driver was started with, if one was reused.
    pub reused: Option<String>,
    /// A non-zero exit this soon after a launch that reused an ID clears it.
    pub reregister_window: Duration,
    /// Deadline for each store operation and for learning the actual ID.
    pub timeout: Duration,
    /// The driver's UI port on this host, to learn the actual ID from its REST API.
    pub ui_port: Option<u16>,
    /// The receiver barrier the driver waits on, for the companion's progress lines.
    pub barrier: Option<ExecutorBarrier>,
}

/// The receiver barrier (`plan::driver`'s `barrier`): the driver's `SparkContext` waits for
/// this many executors, at most `wait` (`SPARK_INIT_EXECUTOR_WAIT`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExecutorBarrier {
    pub executors: u32,
    pub wait: Duration,
}

/// `SPARK_INIT_EXECUTOR_APP`: the driver tells its executors' app where it is.
#[derive(Debug, Clone)]
pub struct Publish {
    pub marathon: crate::clients::http::Service,
    pub app: String,
    pub instances: Option<u32>,
    /// `spark://CoarseGrainedScheduler@<spark.driver.host>:<spark.driver.port>`.
    pub driver_url: String,
    pub scale_down_on_exit: bool,
    pub ca_file: Option<std::path::PathBuf>,
    pub http_timeout: Duration,
}

impl PartialEq for Publish {
    fn eq(&self, other: &Self) -> bool {
        self.app == other.app
            && self.driver_url == other.driver_url
            && self.instances == other.instances
    }
}

pub fn sourced(value: impl Into<Value>, source: impl Into<String>) -> Resolved {
    Sourced::new(value.into(), source)
}

/// What the decisions of a role found: problems (exit 78, all reported together) and warnings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

impl Findings {
    pub fn problem(&mut self, name: &str, value: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem::new(name, value, message));
    }

    pub fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    /// A required input that is missing.
    pub fn missing(&mut self, (name, message): role::Missing) {
        self.problem(name, None, message);
    }

    /// The value, or a problem saying how to set it.
    pub fn require<T: Clone>(&mut self, value: &Option<T>, missing: role::Missing) -> Option<T> {
        if value.is_none() {
            self.missing(missing);
        }
        value.clone()
    }
}

/// What a mode adds to the parts every plan shares (Java options, supervision).
#[derive(Debug, Clone, Default)]
pub struct ModePlan {
    /// `exec`, `driver` or `executor`.
    pub role: String,
    pub argv: Vec<OsString>,
    /// Spark's Java options for this role, merged after the image's `JAVA_TOOL_OPTIONS`.
    pub spark_java_sources: Vec<crate::spark::java_options::OptionSource>,
    pub resolved: BTreeMap<String, Resolved>,
    pub warnings: Vec<String>,
    pub store_duty: Option<StoreDuty>,
    /// The role's Spark release (its exit codes).
    pub spark_version: Option<SparkVersion>,
    /// What the role gives the JVM (its heap, Spark's overhead).
    pub jvm_memory: Option<JvmMemory>,
    /// Variables the command gets besides `JAVA_TOOL_OPTIONS` (the driver's
    /// `SPARK_SUBMIT_OPTS` with its archive).
    pub env: BTreeMap<String, String>,
}

/// A Spark role's part of the plan: a pure function of the configuration and the facts.
pub fn resolve_role(
    config: &Config,
    role: Role,
    role_config: &RoleConfig,
    facts: &Facts,
) -> Result<ModePlan, Vec<Problem>> {
    match role {
        Role::Executor => executor::resolve(config, role_config, &facts.local, &facts.remote),
        Role::Driver => driver::resolve(config, role_config, facts),
        Role::Master => master::resolve(config, role_config, &facts.local),
    }
}

/// The generic init: run the command line as it is.
pub fn resolve(config: &Config) -> Plan {
    let mut resolved = BTreeMap::new();
    resolved.insert(
        "command".into(),
        sourced(
            redact::argv(&lossy(&config.command)),
            "command line".to_string(),
        ),
    );
    assemble(
        config,
        ModePlan {
            role: "exec".into(),
            argv: config.command.clone(),
            resolved,
            ..ModePlan::default()
        },
    )
}

/// Adds the shared parts to a mode's plan: the merged Java options and the supervision.
pub fn assemble(config: &Config, mode: ModePlan) -> Plan {
    let ModePlan {
        role,
        argv,
        spark_java_sources,
        mut resolved,
        warnings: mode_warnings,
        store_duty,
        spark_version,
        jvm_memory,
        env: mode_env,
    } = mode;
    let java = java_options::resolve(config, spark_java_sources);
    resolved.extend(java.resolved);
    resolved.extend(supervision_resolved(config));
    if let Some(m) = &config.metrics {
        let spark_role = Role::ALL.into_iter().find(|r| r.name() == role);
        resolved.insert("metrics".into(), metrics::resolved(m, spark_role));
    }
    let mut warnings = config.warnings.clone();
    warnings.extend(java.warnings);
    warnings.extend(mode_warnings);
    let mut env: BTreeMap<String, String> = java
        .java_tool_options
        .map(|value| ("JAVA_TOOL_OPTIONS".to_string(), value))
        .into_iter()
        .collect();
    if let Some((name, value)) = &config.locale.value {
        env.insert(name.to_string(), value.clone());
    }
    env.extend(mode_env);
    let program = argv.first().and_then(|p| Path::new(p).file_name());
    let jvm = role != "exec" || program == Some("java".as_ref());
    Plan {
        role,
        argv,
        env,
        java_tokens: java.tokens,
        resolved,
        warnings,
        supervision: Supervision {
            grace: config.grace.value,
            signal_group: config.signal_group.value,
            exit_remap: config.exit_remap.value.clone(),
        },
        store_duty,
        identity: user::Identity::default(),
        exit: ExitContext {
            cgroup_root: config.cgroup_root.clone(),
            termination_log: config.termination_log.value.clone(),
            spark_version,
            jvm_memory,
            jvm,
        },
        metrics: config
            .metrics
            .as_ref()
            .map(|m| metrics::MetricsDuty::new(m, config.cgroup_root.clone())),
    }
}

impl Plan {
    /// Adds who the command runs as: the dry run's `user`, its warnings, and the variables it
    /// sets for the command.
    pub fn with_identity(mut self, identity: user::Identity) -> Self {
        if let Some(resolved) = &identity.resolved {
            self.resolved.insert("user".into(), resolved.clone());
        }
        self.warnings.extend(identity.warnings.iter().cloned());
        self.env
            .extend(identity.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.identity = identity;
        self
    }
}

/// How the supervisor will behave, as the dry run shows it.
fn supervision_resolved(config: &Config) -> BTreeMap<String, Resolved> {
    let exit_remap: serde_json::Map<_, _> = config
        .exit_remap
        .value
        .iter()
        .map(|(from, to)| (from.to_string(), json!(to)))
        .collect();
    BTreeMap::from([
        (
            "grace_seconds".to_string(),
            sourced(
                config.grace.value.map(|g| g.as_secs_f64()),
                config.grace.source.clone(),
            ),
        ),
        (
            "signal_group".to_string(),
            config.signal_group.clone().map(Into::into),
        ),
        (
            "exit_remap".to_string(),
            sourced(exit_remap, config.exit_remap.source.clone()),
        ),
        (
            "dry_run".to_string(),
            config.dry_run.clone().map(Into::into),
        ),
        (
            "termination_log".to_string(),
            config
                .termination_log
                .clone()
                .map(|path| path.map(|p| p.display().to_string()).into()),
        ),
        (
            "locale".to_string(),
            config
                .locale
                .clone()
                .map(|l| l.map(|(name, value)| format!("{name}={value}")).into()),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cli::{Cli, OutputFormat};
    use crate::config::EnvSnapshot;

    fn plan(env: &[(&str, &str)], command: &[&str]) -> Plan {
        let cli = Cli {
            role: None,
            dry_run: true,
            output: Some(OutputFormat::Json),
            command: command.iter().map(OsString::from).collect(),
        };
        let env = EnvSnapshot::new(env.iter().map(|(k, v)| (k.into(), v.into())));
        resolve(&Config::parse(cli, &env).unwrap())
    }

    #[test]
    fn default_java_tool_options() {
        let plan = plan(&[], &["java", "-version"]);
        assert_eq!(
            plan.env["JAVA_TOOL_OPTIONS"],
            "-Dfile.encoding=UTF-8 -Duser.timezone=PRC"
        );
        assert_eq!(plan.role, "exec");
        assert_eq!(plan.resolved["file_encoding"].source, "default");
    }

    #[test]
    fn json_has_the_contract_fields_and_masks_secrets() {
        let plan = plan(
            &[(
                "SPARK_INIT_JAVA_OPTS",
                "-Dssl.keyPassword=hunter2 -Dx='a b'",
            )],
            &["app", "--token", "abc"],
        );
        let json: Value = serde_json::from_str(&plan.to_json()).unwrap();
        for field in ["role", "argv", "env", "resolved", "warnings"] {
            assert!(json.get(field).is_some(), "{field} missing");
        }
        let text = plan.to_json() + &plan.to_text();
        assert!(!text.contains("hunter2") && !text.contains("abc"), "{text}");
        assert_eq!(json["argv"], json!(["app", "--token", "***"]));
        assert!(
            json["warnings"][0]
                .as_str()
                .unwrap()
                .contains("-Dssl.keyPassword=*** (from SPARK_INIT_JAVA_OPTS)"),
            "{json}"
        );
        assert_eq!(
            json["env"]["JAVA_TOOL_OPTIONS"],
            "-Dfile.encoding=UTF-8 -Duser.timezone=PRC -Dssl.keyPassword=*** \"-Dx=a b\""
        );
        // The child still gets the real value.
        assert!(plan.env["JAVA_TOOL_OPTIONS"].contains("hunter2"));
        assert!(json["resolved"]["java_options"]["source"]
            .as_str()
            .unwrap()
            .ends_with("; SPARK_INIT_JAVA_OPTS: -Dssl.keyPassword=*** '-Dx=a b'"));
    }

    /// A plain command's exit is read as a JVM's only when its program is `java`.
    #[test]
    fn a_plain_command_is_a_jvm_when_its_program_is_java() {
        assert!(plan(&[], &["/usr/bin/java", "-jar", "x.jar"]).exit.jvm);
        assert!(!plan(&[], &["sh", "-c", "exit 1"]).exit.jvm);
    }

    #[test]
    fn exit_remap() {
        let plan = plan(&[("SPARK_INIT_EXIT_REMAP", "143=0,1=2")], &["x"]);
        assert_eq!(plan.supervision.exit_code(143), 0);
        assert_eq!(plan.supervision.exit_code(1), 2);
        assert_eq!(plan.supervision.exit_code(137), 137);
    }
}
