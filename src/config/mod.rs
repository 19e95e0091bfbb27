//! Gather and parse: the process environment snapshot and argv become one typed [`Config`].
//!
//! Nothing below `main` reads the process environment; it reads the [`EnvSnapshot`] taken there.
//! Every problem is collected, so an operator sees all of them at once, each naming the
//! variable, the value (secrets redacted) and what would fix it.

pub mod cli;
mod env;
mod java;
mod log;
pub mod lookups;
pub mod metrics;
mod problems;
pub mod reference;
pub mod role;
pub mod spark_env;
mod subcommand;
pub mod task_env;
pub mod user;
pub mod vars;

pub use self::env::EnvSnapshot;
pub use self::log::{log_config_only, LogConfig, LogFormat};
pub use self::problems::{lossy, ConfigErrors, Problem};

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::cli::{Cli, OutputFormat, Role};
use crate::config::role::RoleConfig;
pub use crate::sourced::Sourced;
use crate::spark::java_options::OptionSource;

/// The generic `SPARK_INIT_*` variables as written (each read once, by [`vars::raw`]).
#[derive(Debug, Default)]
pub(crate) struct RawSparkInitVars {
    pub(crate) role: Option<String>,
    pub(crate) dry_run: Option<String>,
    pub(crate) encoding: Option<String>,
    pub(crate) timezone: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) java_opts: Option<String>,
    pub(crate) grace_seconds: Option<String>,
    pub(crate) signal_group: Option<String>,
    pub(crate) exit_remap: Option<String>,
    pub(crate) log: Option<String>,
    pub(crate) log_format: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) cgroup_root: Option<String>,
    pub(crate) termination_log: Option<String>,
    pub(crate) mesos_sandbox: Option<String>,
}

impl RawSparkInitVars {
    pub(crate) fn read(env: &EnvSnapshot, problems: &mut Vec<Problem>) -> Self {
        let mut var = |name: &str| vars::raw(env, name, problems);
        RawSparkInitVars {
            role: var("SPARK_INIT_ROLE"),
            dry_run: var("SPARK_INIT_DRY_RUN"),
            encoding: var("SPARK_INIT_ENCODING"),
            timezone: var("SPARK_INIT_TIMEZONE"),
            locale: var("SPARK_INIT_LOCALE"),
            java_opts: var("SPARK_INIT_JAVA_OPTS"),
            grace_seconds: var("SPARK_INIT_GRACE_SECONDS"),
            signal_group: var("SPARK_INIT_SIGNAL_GROUP"),
            exit_remap: var("SPARK_INIT_EXIT_REMAP"),
            log: var("SPARK_INIT_LOG"),
            log_format: var("SPARK_INIT_LOG_FORMAT"),
            user: var("SPARK_INIT_USER"),
            cgroup_root: var("SPARK_INIT_CGROUP_ROOT"),
            termination_log: var("SPARK_INIT_TERMINATION_LOG"),
            mesos_sandbox: var("MESOS_SANDBOX"),
        }
    }
}

/// Every `SPARK_INIT_*` variable spark-init reads; any other is reported as a likely typo. A
/// unit test keeps it in step with the names the code reads.
pub const SPARK_INIT_VARIABLES: &[&str] = &[
    "SPARK_INIT_CA_FILE",
    "SPARK_INIT_CDS_ARCHIVE",
    "SPARK_INIT_CDS_DRIVER_ARCHIVE",
    "SPARK_INIT_CGROUP_ROOT",
    "SPARK_INIT_DRIVER_ADDRESS",
    "SPARK_INIT_DRIVER_APP",
    "SPARK_INIT_DRIVER_PORT_NAME",
    "SPARK_INIT_DRY_RUN",
    "SPARK_INIT_ENCODING",
    "SPARK_INIT_EXECUTOR_APP",
    "SPARK_INIT_EXECUTOR_INSTANCES",
    "SPARK_INIT_EXECUTOR_WAIT",
    "SPARK_INIT_EXIT_REMAP",
    "SPARK_INIT_FAILOVER_TIMEOUT",
    "SPARK_INIT_FRAMEWORK_NAME",
    "SPARK_INIT_FRAMEWORK_STORE",
    "SPARK_INIT_GRACE_SECONDS",
    "SPARK_INIT_GRAPHITE",
    "SPARK_INIT_GRAPHITE_INTERVAL",
    "SPARK_INIT_GRAPHITE_PREFIX",
    "SPARK_INIT_HOSTNAME",
    "SPARK_INIT_HTTP_TIMEOUT",
    "SPARK_INIT_JAVA_OPTS",
    "SPARK_INIT_LOCALE",
    "SPARK_INIT_LOG",
    "SPARK_INIT_LOG_FORMAT",
    "SPARK_INIT_MARATHON_AUTH",
    "SPARK_INIT_MARATHON_AUTH_FILE",
    "SPARK_INIT_MARATHON_URL",
    "SPARK_INIT_MASTER_APP",
    "SPARK_INIT_MESOS_AUTH",
    "SPARK_INIT_MESOS_AUTH_FILE",
    "SPARK_INIT_MESOS_CONSTRAINTS",
    "SPARK_INIT_MESOS_URL",
    "SPARK_INIT_REREGISTER_WINDOW",
    "SPARK_INIT_RESOLVE_TIMEOUT",
    "SPARK_INIT_ROLE",
    "SPARK_INIT_SCALE_DOWN_ON_EXIT",
    "SPARK_INIT_SIGNAL_GROUP",
    "SPARK_INIT_STORE_REQUIRED",
    "SPARK_INIT_TERMINATION_LOG",
    "SPARK_INIT_TIMEZONE",
    "SPARK_INIT_USER",
];

/// Spark's own variables a role reads, which a `SPARK_INIT_` prefix turns into a typo.
const SPARK_ROLE_VARIABLES: &[&str] = &[
    "SPARK_DRIVER_URL",
    "SPARK_APPLICATION_ID",
    "SPARK_EXECUTOR_ID",
    "SPARK_EXECUTOR_CORES",
    "SPARK_EXECUTOR_MEMORY",
    "SPARK_CONF_DIR",
    "SPARK_HOME",
    "SPARK_CLASSPATH",
    "SPARK_EXTRA_CLASSPATH",
    "SPARK_DAEMON_MEMORY",
];

pub const DEFAULT_ENCODING: &str = "UTF-8";
/// Spark jobs here historically ran with China Standard Time; `PRC` is the JDK's alias of
/// `Asia/Shanghai`.
pub const DEFAULT_TIMEZONE: &str = "PRC";
/// The locale the command gets when the environment names none: without one the JVM takes
/// file names as ASCII (`sun.jnu.encoding`), whatever `-Dfile.encoding` says.
pub const DEFAULT_LOCALE: &str = "C.UTF-8";
/// How long what the command leaves behind gets after it exits (SIGTERM, then SIGKILL), so
/// the container ends; `SPARK_INIT_GRACE_SECONDS` replaces it with its one budget for the stop.
pub const LEFTOVER_GRACE: Duration = Duration::from_secs(10);
/// Where the cgroup files are when `SPARK_INIT_CGROUP_ROOT` is unset.
pub const DEFAULT_CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// The termination summary's file name in the Mesos sandbox.
pub const TERMINATION_LOG_NAME: &str = "spark-init-termination.json";
const NO_ESCALATION: &str = "default: no SIGKILL from spark-init while the command runs (the \
                             orchestrator's own grace, Marathon's taskKillGracePeriodSeconds, \
                             decides); 10 s for what it leaves behind";

/// Everything spark-init needs to know before it looks at the outside world.
#[derive(Debug, Clone)]
pub struct Config {
    pub role: Option<Sourced<Role>>,
    pub dry_run: Sourced<bool>,
    pub output: OutputFormat,
    pub command: Vec<OsString>,
    /// `None` when the operator emptied the variable: no `-Dfile.encoding` default at all.
    pub encoding: Sourced<Option<String>>,
    pub timezone: Sourced<Option<String>>,
    /// The locale spark-init sets for the command, and which variable it goes in (`LANG` by
    /// default, `LC_ALL` when the operator chose one); `None`: the environment's stays.
    pub locale: Sourced<Option<(&'static str, String)>>,
    /// Java option sources after the defaults, in merge order (image, SPARK_JAVA_OPT_*, ours).
    pub java_sources: Vec<OptionSource>,
    /// How long a stop may take before SIGKILL: `None` (the default) never escalates, leaving
    /// that to the orchestrator (Marathon's `taskKillGracePeriodSeconds`), as tini does.
    pub grace: Sourced<Option<Duration>>,
    pub signal_group: Sourced<bool>,
    pub exit_remap: Sourced<BTreeMap<u8, u8>>,
    /// `SPARK_INIT_USER`: who the command runs as (`None`: the default rule, README "Users").
    pub user: Sourced<Option<user::UserSpec>>,
    /// `SPARK_INIT_CGROUP_ROOT` (default `/sys/fs/cgroup`): the container's limits, and its
    /// memory counters around the command's run.
    pub cgroup_root: PathBuf,
    /// Where the termination summary goes: `SPARK_INIT_TERMINATION_LOG` (empty: nowhere),
    /// else `$MESOS_SANDBOX/spark-init-termination.json` when there is a sandbox.
    pub termination_log: Sourced<Option<PathBuf>>,
    /// `SPARK_INIT_GRAPHITE` and its companions: Spark's metrics and the container's
    /// statistics to Graphite (README "Metrics"); `None`: no metrics.
    pub metrics: Option<metrics::MetricsConfig>,
    pub log: LogConfig,
    /// A Spark role's own variables (with a role only).
    pub role_config: Option<RoleConfig>,
    /// What reading the variables found worth saying (the plan shows it and the log has it).
    pub warnings: Vec<String>,
}

impl Config {
    /// The configuration, or every problem with it.
    pub fn parse(cli: Cli, env: &EnvSnapshot) -> Result<Config, ConfigErrors> {
        let (config, problems) = Config::gather(cli, env);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors::new(problems))
        }
    }

    /// Reads every variable once, generic and role ones alike, and returns the configuration
    /// (with defaults in place of bad values) with every problem found, so that a role can add
    /// what its installation and resolving find and one run reports all of them.
    pub fn gather(mut cli: Cli, env: &EnvSnapshot) -> (Config, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let raw = RawSparkInitVars::read(env, &mut problems);
        let role = role(cli.role, raw.role.as_deref(), &mut problems);
        let role = subcommand::apply(role, &mut cli.command, env, &mut problems, &mut warnings);
        let dry_run = if cli.dry_run {
            Sourced::new(true, "--dry-run")
        } else {
            vars::flag(&mut problems, "SPARK_INIT_DRY_RUN", raw.dry_run.as_deref())
        };
        let log = log::log_config(raw.log.as_deref(), raw.log_format.as_deref(), &mut problems);
        let encoding =
            vars::default_property(raw.encoding, "SPARK_INIT_ENCODING", DEFAULT_ENCODING);
        let timezone = timezone(raw.timezone, env);
        let locale = locale(raw.locale, env);
        let java_sources =
            java::java_sources(env, raw.java_opts.as_deref(), &mut problems, &mut warnings);
        let grace = grace(raw.grace_seconds.as_deref(), &mut problems);
        let signal_group = vars::flag(
            &mut problems,
            "SPARK_INIT_SIGNAL_GROUP",
            raw.signal_group.as_deref(),
        );
        let exit_remap = exit_remap(raw.exit_remap.as_deref(), &mut problems);
        let user = user::parse(raw.user.as_deref(), &mut problems);
        let cgroup_root = raw
            .cgroup_root
            .as_deref()
            .map(str::trim)
            .filter(|root| !root.is_empty())
            .unwrap_or(DEFAULT_CGROUP_ROOT);
        let cgroup_root = PathBuf::from(cgroup_root);
        let termination_log = termination_log(raw.termination_log, raw.mesos_sandbox);
        let metrics = metrics::read(env, &mut problems, &mut warnings);
        unknown_variables(env, &mut warnings);
        if let (Some(_), false) = (cli.output, dry_run.value) {
            // Issue 18: it was ignored without a word.
            warnings.push(
                "--output is given without --dry-run (or SPARK_INIT_DRY_RUN=1): it only says \
                 how a dry run prints its plan, and nothing is printed when the command runs"
                    .into(),
            );
        }
        let role_config = role.as_ref().map(|role| {
            let root = cgroup_root.clone();
            RoleConfig::read(env, role.value, &cli.command, root, &mut problems)
        });
        let config = Config {
            role,
            dry_run,
            output: cli.output.unwrap_or_default(),
            command: cli.command,
            encoding,
            timezone,
            locale,
            java_sources,
            grace,
            signal_group,
            exit_remap,
            user,
            cgroup_root,
            termination_log,
            metrics,
            log,
            role_config,
            warnings,
        };
        (config, problems)
    }

    /// The option sources in merge order with Spark's own (`spark.*.defaultJavaOptions`,
    /// `spark.*.extraJavaOptions`) after the image's `JAVA_TOOL_OPTIONS` and before
    /// `SPARK_JAVA_OPT_*`: an operator's variable beats the image's configuration file.
    pub fn java_sources_with(&self, spark: Vec<OptionSource>) -> Vec<OptionSource> {
        let mut sources = self.all_java_sources();
        let after_image = sources
            .iter()
            .position(|s| s.name == "JAVA_TOOL_OPTIONS")
            .map_or(1, |i| i + 1);
        sources.splice(after_image..after_image, spark);
        sources
    }

    /// The option sources in merge order, starting with spark-init's defaults.
    pub fn all_java_sources(&self) -> Vec<OptionSource> {
        let mut defaults = Vec::new();
        if let Some(encoding) = &self.encoding.value {
            defaults.push(format!("-Dfile.encoding={encoding}"));
        }
        if let Some(timezone) = &self.timezone.value {
            defaults.push(format!("-Duser.timezone={timezone}"));
        }
        let mut sources = vec![OptionSource {
            name: "default".into(),
            tokens: defaults,
        }];
        sources.extend(self.java_sources.iter().cloned());
        sources
    }
}

/// `SPARK_INIT_TIMEZONE`, else an explicit `TZ` (the operator's choice: the JVM reads it
/// itself, so no `-Duser.timezone` goes on), else `PRC`.
fn timezone(raw: Option<String>, env: &EnvSnapshot) -> Sourced<Option<String>> {
    let tz = env.get("TZ").and_then(|v| v.to_str()).map(str::trim);
    match (raw, tz) {
        (None, Some(tz)) if !tz.is_empty() => Sourced::new(
            None,
            format!("TZ={tz} in the environment: the JVM reads it, so no -Duser.timezone default"),
        ),
        (raw, _) => vars::default_property(raw, "SPARK_INIT_TIMEZONE", DEFAULT_TIMEZONE),
    }
}

/// `SPARK_INIT_TERMINATION_LOG` (empty: none), else the Mesos sandbox's
/// `spark-init-termination.json`, where Mesos' sandbox browser and log shippers find it.
fn termination_log(raw: Option<String>, sandbox: Option<String>) -> Sourced<Option<PathBuf>> {
    match (raw, sandbox) {
        (Some(path), _) if path.trim().is_empty() => Sourced::new(
            None,
            "SPARK_INIT_TERMINATION_LOG (empty: no termination summary)",
        ),
        (Some(path), _) => Sourced::new(Some(PathBuf::from(path)), "SPARK_INIT_TERMINATION_LOG"),
        (None, Some(dir)) if !dir.trim().is_empty() => Sourced::new(
            Some(Path::new(&dir).join(TERMINATION_LOG_NAME)),
            "default: in the Mesos sandbox (MESOS_SANDBOX)",
        ),
        (None, _) => Sourced::new(
            None,
            "default: none (no MESOS_SANDBOX; set SPARK_INIT_TERMINATION_LOG)",
        ),
    }
}

/// `SPARK_INIT_LOCALE` (as `LC_ALL`; empty: none), else `LANG=C.UTF-8` when none of `LC_ALL`,
/// `LC_CTYPE`, `LANG` is set.
fn locale(raw: Option<String>, env: &EnvSnapshot) -> Sourced<Option<(&'static str, String)>> {
    if let Some(value) = raw {
        let value = value.trim().to_string();
        return if value.is_empty() {
            Sourced::new(
                None,
                "SPARK_INIT_LOCALE (empty: the environment's locale, if any)",
            )
        } else {
            Sourced::new(Some(("LC_ALL", value)), "SPARK_INIT_LOCALE")
        };
    }
    let set = ["LC_ALL", "LC_CTYPE", "LANG"]
        .into_iter()
        .find(|name| env.get(name).is_some_and(|v| !v.is_empty()));
    match set {
        Some(name) => Sourced::new(None, format!("{name} in the environment")),
        None => Sourced::new(
            Some(("LANG", DEFAULT_LOCALE.to_string())),
            "default: no LC_ALL, LC_CTYPE or LANG, so the JVM would take file names as ASCII",
        ),
    }
}

/// A `SPARK_INIT_*` variable spark-init does not read is most likely a typo
/// (`SPARK_INIT_ROLES`, `SPARK_INIT_GRACE_SECOND`): said, with the closest known name.
fn unknown_variables(env: &EnvSnapshot, warnings: &mut Vec<String>) {
    for (name, _) in env.vars() {
        let Some(name) = name.to_str().filter(|n| n.starts_with("SPARK_INIT_")) else {
            continue;
        };
        if !SPARK_INIT_VARIABLES.contains(&name) {
            warnings.push(format!(
                "{name} is not a variable spark-init reads (a typo?): did you mean {}?",
                closest_variable(name)
            ));
        }
    }
}

/// The known variable a typo most likely meant: one it extends or shortens (`..._ROLES`,
/// `..._GRACE_SECOND`, `..._LOG_LEVEL`), else the fewest edits away.
fn closest_variable(name: &str) -> &'static str {
    // `SPARK_INIT_DRIVER_URL` for Spark's own `SPARK_DRIVER_URL`.
    let spark_own = name.replacen("SPARK_INIT_", "SPARK_", 1);
    // `SPARK_HOME` for `SPARK_INIT_SPARK_HOME` (review nit: it suggested SPARK_INIT_CA_FILE).
    let bare = &name["SPARK_INIT_".len()..];
    let others = ["JAVA_HOME", "HADOOP_CONF_DIR", "HADOOP_HOME"];
    let mut role_variables = SPARK_ROLE_VARIABLES.iter().chain(others.iter());
    if let Some(known) = role_variables.find(|v| **v == spark_own || **v == bare) {
        return known;
    }
    SPARK_INIT_VARIABLES
        .iter()
        .copied()
        .filter(|known| name.starts_with(known) || known.starts_with(name))
        .max_by_key(|known| known.len().min(name.len()))
        .unwrap_or_else(|| log::closest(name, SPARK_INIT_VARIABLES))
}

/// `--role` beats `SPARK_INIT_ROLE`.
fn role(
    cli: Option<Role>,
    var: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Option<Sourced<Role>> {
    match (cli, var) {
        (Some(role), _) => Some(Sourced::new(role, "--role")),
        (None, None) => None,
        (None, Some(word)) if word.trim().is_empty() => None,
        (None, Some(word)) => match Role::from_word(word) {
            Some(role) => Some(Sourced::new(role, "SPARK_INIT_ROLE")),
            None => {
                problems.push(Problem {
                    name: "SPARK_INIT_ROLE".into(),
                    value: Some(word.into()),
                    message: "is not a role; set it to driver, executor or master, or unset it"
                        .into(),
                });
                None
            }
        },
    }
}

/// `SPARK_INIT_GRACE_SECONDS` (default 10 s).
fn grace(value: Option<&str>, problems: &mut Vec<Problem>) -> Sourced<Option<Duration>> {
    let Some(value) = value else {
        return Sourced::new(None, NO_ESCALATION);
    };
    match vars::parse_seconds(value) {
        Some(grace) => Sourced::new(Some(grace), "SPARK_INIT_GRACE_SECONDS"),
        None => {
            problems.push(Problem {
                name: "SPARK_INIT_GRACE_SECONDS".into(),
                value: Some(value.into()),
                message: "is not a number of seconds from 0 to 86400; set one such as 10 or 2.5"
                    .into(),
            });
            Sourced::new(None, NO_ESCALATION)
        }
    }
}

/// `SPARK_INIT_EXIT_REMAP`.
fn exit_remap(value: Option<&str>, problems: &mut Vec<Problem>) -> Sourced<BTreeMap<u8, u8>> {
    let Some(value) = value else {
        return Sourced::new(BTreeMap::new(), "default");
    };
    match vars::parse_exit_remap(value) {
        Ok(map) => Sourced::new(map, "SPARK_INIT_EXIT_REMAP"),
        Err(why) => {
            problems.push(Problem {
                name: "SPARK_INIT_EXIT_REMAP".into(),
                value: Some(value.into()),
                message: format!(
                    "{why}; write FROM=TO pairs of exit codes 0-255, comma-separated, such as \
                     143=0,130=0"
                ),
            });
            Sourced::new(BTreeMap::new(), "default")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn cli(command: &[&str]) -> Cli {
        Cli {
            role: None,
            dry_run: false,
            output: None,
            command: command.iter().map(OsString::from).collect(),
        }
    }

    fn env(pairs: &[(&str, &str)]) -> EnvSnapshot {
        EnvSnapshot::new(pairs.iter().map(|(k, v)| (k.into(), v.into())))
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        Config::parse(cli(&["java"]), &env(pairs))
    }

    fn problem_names(pairs: &[(&str, &str)]) -> Vec<String> {
        parse(pairs)
            .unwrap_err()
            .0
            .into_iter()
            .map(|p| p.name)
            .collect()
    }

    #[test]
    fn defaults() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.encoding.value.as_deref(), Some("UTF-8"));
        assert_eq!(config.timezone.value.as_deref(), Some("PRC"));
        assert_eq!(config.grace.value, None);
        assert!(!config.signal_group.value);
        assert!(!config.dry_run.value);
        assert!(config.exit_remap.value.is_empty());
        assert_eq!(
            config.all_java_sources()[0].tokens,
            ["-Dfile.encoding=UTF-8", "-Duser.timezone=PRC"]
        );
    }

    #[test]
    fn overrides_and_empty_values() {
        let config = parse(&[
            ("SPARK_INIT_ENCODING", "GBK"),
            ("SPARK_INIT_TIMEZONE", ""),
            ("SPARK_INIT_GRACE_SECONDS", "2.5"),
            ("SPARK_INIT_SIGNAL_GROUP", "1"),
            ("SPARK_INIT_EXIT_REMAP", "143=0, 130=0"),
            ("SPARK_INIT_DRY_RUN", "true"),
        ])
        .unwrap();
        assert_eq!(config.encoding.value.as_deref(), Some("GBK"));
        assert_eq!(config.timezone.value, None);
        assert_eq!(config.grace.value, Some(Duration::from_millis(2500)));
        assert!(config.signal_group.value);
        assert!(config.dry_run.value);
        assert_eq!(
            config.exit_remap.value,
            BTreeMap::from([(143, 0), (130, 0)])
        );
        assert_eq!(config.all_java_sources()[0].tokens, ["-Dfile.encoding=GBK"]);
    }

    #[test]
    fn bad_numbers_name_the_variable() {
        for bad in ["abc", "-1", "NaN", "inf", "1e9", ""] {
            assert_eq!(
                problem_names(&[("SPARK_INIT_GRACE_SECONDS", bad)]),
                ["SPARK_INIT_GRACE_SECONDS"],
                "{bad:?}"
            );
        }
        for bad in ["143", "143=", "=0", "256=0", "143=0,143=1", "a=b", "-1=0"] {
            assert_eq!(
                problem_names(&[("SPARK_INIT_EXIT_REMAP", bad)]),
                ["SPARK_INIT_EXIT_REMAP"],
                "{bad:?}"
            );
        }
        assert_eq!(
            problem_names(&[("SPARK_INIT_SIGNAL_GROUP", "maybe")]),
            ["SPARK_INIT_SIGNAL_GROUP"]
        );
        assert_eq!(
            problem_names(&[("SPARK_INIT_LOG_FORMAT", "xml")]),
            ["SPARK_INIT_LOG_FORMAT"]
        );
        assert_eq!(
            problem_names(&[("SPARK_INIT_LOG", "info,=x=y")]),
            ["SPARK_INIT_LOG"]
        );
        assert_eq!(
            problem_names(&[("SPARK_INIT_ROLE", "worker")]),
            ["SPARK_INIT_ROLE"]
        );
    }

    #[test]
    fn several_problems_are_reported_together() {
        let names = problem_names(&[
            ("SPARK_INIT_GRACE_SECONDS", "x"),
            ("SPARK_INIT_JAVA_OPTS", "-Dx='open"),
            ("SPARK_JAVA_OPT_1", "--add-opens"),
        ]);
        assert_eq!(
            names,
            [
                "SPARK_JAVA_OPT_1",
                "SPARK_INIT_JAVA_OPTS",
                "SPARK_INIT_GRACE_SECONDS"
            ]
        );
    }

    #[test]
    fn java_sources_in_merge_order() {
        let config = parse(&[
            ("SPARK_INIT_JAVA_OPTS", "-Dlast=1"),
            ("SPARK_JAVA_OPT_10", "-Dten=1"),
            ("SPARK_JAVA_OPT_2", "-Dtwo='a b'"),
            ("SPARK_JAVA_OPT_X", "-Dx=1"),
            ("JAVA_TOOL_OPTIONS", "-Dimage='c d'"),
        ])
        .unwrap();
        let names: Vec<_> = config
            .java_sources
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "JAVA_TOOL_OPTIONS",
                "SPARK_JAVA_OPT_2",
                "SPARK_JAVA_OPT_10",
                "SPARK_JAVA_OPT_X",
                "SPARK_INIT_JAVA_OPTS"
            ]
        );
        assert_eq!(config.java_sources[0].tokens, ["-Dimage=c d"]);
        // Verbatim, as Spark's Kubernetes backend writes them: quotes are part of the value.
        assert_eq!(config.java_sources[1].tokens, ["-Dtwo='a b'"]);
    }

    /// Issue 10: one option per variable, verbatim (a space is part of the value); a
    /// two-token JVM option is joined with its value, in one variable or over two.
    #[test]
    fn spark_java_opts_are_verbatim_and_two_token_options_are_joined() {
        let config = parse(&[
            ("SPARK_JAVA_OPT_0", "-Dfoo=a b"),
            ("SPARK_JAVA_OPT_1", "--add-opens"),
            ("SPARK_JAVA_OPT_2", "java.base/sun.nio.ch=ALL-UNNAMED"),
            (
                "SPARK_JAVA_OPT_3",
                "--add-exports java.base/sun.nio.ch=ALL-UNNAMED",
            ),
            ("SPARK_JAVA_OPT_4", ""),
        ])
        .unwrap();
        let shown: Vec<(&str, &[String])> = config
            .java_sources
            .iter()
            .map(|s| (s.name.as_str(), s.tokens.as_slice()))
            .collect();
        assert_eq!(
            shown,
            [
                ("SPARK_JAVA_OPT_0", &["-Dfoo=a b".to_string()][..]),
                (
                    "SPARK_JAVA_OPT_1 and SPARK_JAVA_OPT_2",
                    &["--add-opens=java.base/sun.nio.ch=ALL-UNNAMED".to_string()][..]
                ),
                (
                    "SPARK_JAVA_OPT_3",
                    &["--add-exports=java.base/sun.nio.ch=ALL-UNNAMED".to_string()][..]
                ),
            ]
        );
        assert!(
            config.warnings[0].contains("SPARK_JAVA_OPT_4 is empty"),
            "{:?}",
            config.warnings
        );
        let err = parse(&[
            ("SPARK_JAVA_OPT_0", "-Da=1"),
            ("SPARK_JAVA_OPT_1", "--add-modules"),
        ])
        .unwrap_err();
        assert_eq!(err.0[0].name, "SPARK_JAVA_OPT_1");
        assert!(
            err.0[0].message.contains("--add-modules needs its value"),
            "{err}"
        );
    }

    #[test]
    fn image_java_tool_options_with_unmatched_quote() {
        let err = parse(&[("JAVA_TOOL_OPTIONS", "-Dx='a")]).unwrap_err();
        assert_eq!(err.0[0].name, "JAVA_TOOL_OPTIONS");
    }

    #[test]
    fn non_utf8_values_we_parse_are_errors_and_others_are_ignored() {
        let snapshot = EnvSnapshot::new([
            (
                OsString::from("SPARK_INIT_ENCODING"),
                OsString::from_vec(vec![0xff]),
            ),
            (OsString::from("OTHER"), OsString::from_vec(vec![0xfe])),
        ]);
        let err = Config::parse(cli(&["java"]), &snapshot).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].name, "SPARK_INIT_ENCODING");
    }

    #[test]
    fn secrets_are_redacted_in_problems() {
        let err = parse(&[("SPARK_INIT_JAVA_OPTS", "-Dapi.token=hunter2 -Dx='")]).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("SPARK_INIT_JAVA_OPTS"), "{text}");
    }

    /// Issue 10: an explicit `TZ` was silently overridden by the `PRC` default.
    #[test]
    fn tz_in_the_environment_wins_over_the_default_and_loses_to_spark_init_timezone() {
        let tz = parse(&[("TZ", "Asia/Tehran")]).unwrap();
        assert_eq!(tz.timezone.value, None);
        assert!(
            tz.timezone.source.contains("TZ=Asia/Tehran"),
            "{}",
            tz.timezone.source
        );
        assert_eq!(tz.all_java_sources()[0].tokens, ["-Dfile.encoding=UTF-8"]);
        let ours = parse(&[("TZ", "Asia/Tehran"), ("SPARK_INIT_TIMEZONE", "UTC")]).unwrap();
        assert_eq!(ours.timezone.value.as_deref(), Some("UTC"));
    }

    #[test]
    fn the_command_gets_a_utf8_locale_only_when_none_is_set() {
        let none = parse(&[]).unwrap();
        assert_eq!(none.locale.value, Some(("LANG", "C.UTF-8".to_string())));
        for name in ["LC_ALL", "LC_CTYPE", "LANG"] {
            let set = parse(&[(name, "en_US.UTF-8")]).unwrap();
            assert_eq!(set.locale.value, None, "{name}");
            assert!(set.locale.source.starts_with(name), "{}", set.locale.source);
        }
        let chosen = parse(&[("LANG", "C"), ("SPARK_INIT_LOCALE", "de_DE.UTF-8")]).unwrap();
        assert_eq!(
            chosen.locale.value,
            Some(("LC_ALL", "de_DE.UTF-8".to_string()))
        );
        let off = parse(&[("SPARK_INIT_LOCALE", "")]).unwrap();
        assert_eq!(off.locale.value, None);
    }

    /// Review finding: `SPARK_INIT_JAVA_OPTS=--add-opens` passed, and the JVM then stopped
    /// with "Unrecognized option: --add-opens".
    #[test]
    fn a_two_token_option_without_its_value_is_a_problem() {
        for text in ["--add-opens", "--add-opens -Dx=1", "-Da=1 --module-path"] {
            assert_eq!(
                problem_names(&[("SPARK_INIT_JAVA_OPTS", text)]),
                ["SPARK_INIT_JAVA_OPTS"]
            );
        }
        assert!(parse(&[(
            "SPARK_INIT_JAVA_OPTS",
            "--add-opens java.base/x=ALL-UNNAMED"
        )])
        .is_ok());
    }

    /// Issue 11: an unknown `SPARK_INIT_*` variable is a warning naming the closest known one.
    #[test]
    fn unknown_spark_init_variables_are_warned_about_with_the_closest() {
        let config = parse(&[
            ("SPARK_INIT_ROLES", "driver"),
            ("SPARK_INIT_GRACE_SECOND", "30"),
            ("SPARK_INIT_LOG_LEVEL", "debug"),
            (
                "SPARK_INIT_DRIVER_URL",
                "spark://CoarseGrainedScheduler@h:1",
            ),
            ("SPARK_INIT_SPARK_HOME", "/opt/spark"),
            ("SPARK_INIT_JAVA_HOME", "/opt/java"),
        ])
        .unwrap();
        let all = config.warnings.join("\n");
        for (typo, near) in [
            ("SPARK_INIT_ROLES", "SPARK_INIT_ROLE"),
            ("SPARK_INIT_GRACE_SECOND", "SPARK_INIT_GRACE_SECONDS"),
            ("SPARK_INIT_LOG_LEVEL", "SPARK_INIT_LOG"),
            // Spark's own variable with spark-init's prefix (review finding).
            ("SPARK_INIT_DRIVER_URL", "SPARK_DRIVER_URL"),
            // A role variable behind the prefix (review nit: SPARK_INIT_CA_FILE was suggested).
            ("SPARK_INIT_SPARK_HOME", "SPARK_HOME"),
            ("SPARK_INIT_JAVA_HOME", "JAVA_HOME"),
        ] {
            let line = format!(
                "{typo} is not a variable spark-init reads (a typo?): did you mean {near}?"
            );
            assert!(all.contains(&line), "{typo}: {all}");
        }
        assert!(parse(&[("SPARK_INIT_ROLE", "")])
            .unwrap()
            .warnings
            .is_empty());
        // Spaces around a role are not part of it (review finding).
        let config = parse(&[("SPARK_INIT_ROLE", " driver ")]).unwrap();
        assert_eq!(config.role.map(|r| r.value), Some(Role::Driver));
    }

    /// The list of known variables is every `SPARK_INIT_*` name the code reads.
    #[test]
    fn the_known_variables_are_the_ones_the_code_reads() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = std::collections::BTreeSet::new();
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // The code's names, not the typos its tests make on purpose.
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                for piece in code.split('"').skip(1).step_by(2) {
                    let read = piece.starts_with("SPARK_INIT_")
                        && piece.len() > "SPARK_INIT_".len()
                        && piece.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
                    if read {
                        found.insert(piece.to_string());
                    }
                }
            }
        }
        let known: std::collections::BTreeSet<String> =
            SPARK_INIT_VARIABLES.iter().map(|s| s.to_string()).collect();
        let missing: Vec<_> = found.difference(&known).collect();
        assert!(
            missing.is_empty(),
            "read but not in SPARK_INIT_VARIABLES: {missing:?}"
        );
    }
}
