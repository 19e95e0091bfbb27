//! Resolve: a pure function from [`Config`] to the [`Plan`] that a dry run prints and execute
//! runs. Every value carries its source so an operator can see why it is what it is.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

pub mod driver;
pub mod executor;
pub mod role;

use serde_json::{json, Value};

use crate::config::cli::Role;
use crate::config::role::RoleConfig;
use crate::config::{lossy, Config, Problem};
use crate::facts::Facts;
use crate::redact;
use crate::sourced::Sourced;
use crate::spark::java_options;

/// A resolved value as the dry run shows it.
pub type Resolved = Sourced<Value>;

/// How the supervisor behaves; part of the plan so the dry run shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Supervision {
    pub grace: Duration,
    pub signal_group: bool,
    pub exit_remap: BTreeMap<u8, u8>,
}

impl Supervision {
    /// The code spark-init exits with for a child code, after `SPARK_INIT_EXIT_REMAP`.
    pub fn exit_code(&self, child_code: i32) -> i32 {
        u8::try_from(child_code)
            .ok()
            .and_then(|code| self.exit_remap.get(&code))
            .map_or(child_code, |&to| i32::from(to))
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
    pub spark_java_sources: Vec<java_options::OptionSource>,
    pub resolved: BTreeMap<String, Resolved>,
    pub warnings: Vec<String>,
    pub store_duty: Option<StoreDuty>,
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
        Role::Driver => driver::resolve(config, role_config, &facts.local, &facts.stored),
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

/// Adds the shared parts to a mode's plan.
pub fn assemble(config: &Config, mode: ModePlan) -> Plan {
    let ModePlan {
        role,
        argv,
        spark_java_sources,
        mut resolved,
        warnings: mode_warnings,
        store_duty,
    } = mode;
    let mut warnings = Vec::new();
    let mut env = BTreeMap::new();

    let merged = java_options::merge(&config.java_sources_with(spark_java_sources));
    let java_tokens: Vec<String> = merged.tokens().iter().map(|t| t.to_string()).collect();
    if let Some(value) = merged.java_tool_options() {
        env.insert("JAVA_TOOL_OPTIONS".to_string(), value);
    }
    // "default: -Dfile.encoding=UTF-8 -Duser.timezone=PRC; SPARK_INIT_JAVA_OPTS: -Da=b", in
    // the order the options end up in.
    let mut by_source: Vec<String> = Vec::new();
    let mut last_source: Option<&str> = None;
    for option in &merged.options {
        let shown = redact::option(&option.text);
        match (last_source, by_source.last_mut()) {
            (Some(source), Some(group)) if source == option.source => {
                group.push(' ');
                group.push_str(&shown);
            }
            _ => by_source.push(format!("{}: {}", option.source, shown)),
        }
        last_source = Some(&option.source);
    }
    resolved.insert(
        "java_options".into(),
        sourced(
            java_tokens
                .iter()
                .map(|t| redact::option(t).into_owned())
                .collect::<Vec<_>>(),
            if by_source.is_empty() {
                "nothing to set".to_string()
            } else {
                by_source.join("; ")
            },
        ),
    );
    for note in &merged.notes {
        warnings.push(format!("java options: {}", redact::text(note)));
    }
    // HotSpot echoes the whole variable to stderr at start ("Picked up JAVA_TOOL_OPTIONS: ...",
    // `Arguments::parse_java_tool_options_environment_variable`), so a secret put there ends
    // up in the container log whatever we mask.
    let secrets: Vec<String> = merged
        .options
        .iter()
        .filter(|o| redact::option(&o.text) != o.text.as_str())
        .map(|o| format!("{} (from {})", redact::option(&o.text), o.source))
        .collect();
    if !secrets.is_empty() {
        warnings.push(format!(
            "secret-looking Java options go into JAVA_TOOL_OPTIONS, which the JVM prints to \
             stderr when it starts (\"Picked up JAVA_TOOL_OPTIONS\"), so they will appear in \
             the container log: {}; pass secrets in a file instead (for Spark, a properties \
             file or a keystore password file)",
            secrets.join(", ")
        ));
    }

    // The effective values, after the merge: an image's or operator's -Duser.timezone beats
    // the default, and the dry run must say which one the JVM will see.
    for (name, property, config_value) in [
        ("file_encoding", "file.encoding", &config.encoding),
        ("user_timezone", "user.timezone", &config.timezone),
    ] {
        let prefix = format!("-D{property}=");
        let effective = merged
            .options
            .iter()
            .rev()
            .find_map(|o| Some((o.text.strip_prefix(&prefix)?, o.source.as_str())));
        let value = match effective {
            Some((value, "default")) => sourced(value, config_value.source.clone()),
            Some((value, source)) => sourced(value, source),
            None => sourced(Value::Null, config_value.source.clone()),
        };
        resolved.insert(name.into(), value);
    }
    resolved.insert(
        "grace_seconds".into(),
        sourced(
            config.grace.value.as_secs_f64(),
            config.grace.source.clone(),
        ),
    );
    resolved.insert(
        "signal_group".into(),
        sourced(
            config.signal_group.value,
            config.signal_group.source.clone(),
        ),
    );
    resolved.insert(
        "exit_remap".into(),
        sourced(
            config
                .exit_remap
                .value
                .iter()
                .map(|(from, to)| (from.to_string(), json!(to)))
                .collect::<serde_json::Map<_, _>>(),
            config.exit_remap.source.clone(),
        ),
    );
    resolved.insert(
        "dry_run".into(),
        sourced(config.dry_run.value, config.dry_run.source.clone()),
    );

    warnings.extend(mode_warnings);
    Plan {
        role,
        argv,
        env,
        java_tokens,
        resolved,
        warnings,
        supervision: Supervision {
            grace: config.grace.value,
            signal_group: config.signal_group.value,
            exit_remap: config.exit_remap.value.clone(),
        },
        store_duty,
    }
}

/// The plan as printed: secrets masked.
#[derive(Debug, Serialize)]
struct Shown<'a> {
    role: &'a str,
    argv: Vec<String>,
    env: BTreeMap<&'a str, String>,
    resolved: &'a BTreeMap<String, Resolved>,
    warnings: &'a [String],
}

impl Plan {
    fn shown(&self) -> Shown<'_> {
        let env = self
            .env
            .iter()
            .map(|(name, value)| {
                let shown = if name == "JAVA_TOOL_OPTIONS" {
                    let masked: Vec<_> =
                        self.java_tokens.iter().map(|t| redact::option(t)).collect();
                    java_options::encode_hotspot(&masked)
                } else {
                    redact::value_of(name, value)
                };
                (name.as_str(), shown)
            })
            .collect();
        Shown {
            role: &self.role,
            argv: redact::argv(&lossy(&self.argv)),
            env,
            resolved: &self.resolved,
            warnings: &self.warnings,
        }
    }

    /// The command line as a shell would read it, secrets masked (for the log).
    pub fn shown_command(&self) -> String {
        shell_words(&redact::argv(&lossy(&self.argv)))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.shown())
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// For people: aligned columns, each value with its source.
    pub fn to_text(&self) -> String {
        let shown = self.shown();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "spark-init dry run: resolved the plan below and started nothing.\n"
        );
        let _ = writeln!(out, "role     {}", shown.role);
        let _ = writeln!(out, "command  {}", shell_words(&shown.argv));
        for (name, value) in &shown.env {
            let _ = writeln!(out, "env      {name}={}", shell_quote(value));
        }
        let width = shown.resolved.keys().map(String::len).max().unwrap_or(0);
        let _ = writeln!(out, "\nresolved");
        for (name, r) in shown.resolved {
            let value = match &r.value {
                Value::String(s) => s.clone(),
                Value::Null => "(none)".to_string(),
                other => other.to_string(),
            };
            let _ = writeln!(out, "  {name:<width$}  {value}");
            let _ = writeln!(out, "  {:<width$}    from {}", "", r.source);
        }
        if !shown.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings");
            for w in shown.warnings {
                let _ = writeln!(out, "  - {w}");
            }
        }
        out
    }
}

/// POSIX shell quoting, so a printed command can be pasted into a shell.
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
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
            output: OutputFormat::Json,
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
            .ends_with("; SPARK_INIT_JAVA_OPTS: -Dssl.keyPassword=*** -Dx=a b"));
    }

    #[test]
    fn exit_remap() {
        let plan = plan(&[("SPARK_INIT_EXIT_REMAP", "143=0,1=2")], &["x"]);
        assert_eq!(plan.supervision.exit_code(143), 0);
        assert_eq!(plan.supervision.exit_code(1), 2);
        assert_eq!(plan.supervision.exit_code(137), 137);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("-Dx=1"), "-Dx=1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
