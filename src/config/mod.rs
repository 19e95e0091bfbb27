//! Gather and parse: the process environment snapshot and argv become one typed [`Config`].
//!
//! Nothing below `main` reads the process environment; it reads the [`EnvSnapshot`] taken there.
//! Every problem is collected, so an operator sees all of them at once, each naming the
//! variable, the value (secrets redacted) and what would fix it.

pub mod cli;
pub mod lookups;
pub mod role;
pub mod task_env;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use tracing_subscriber::filter::Targets;

use crate::config::cli::{Cli, OutputFormat, Role};
use crate::redact;
pub use crate::sourced::Sourced;
use crate::spark::java_options::{self, OptionSource};

/// The environment as `main` found it. Values stay `OsString`: what spark-init does not parse
/// passes to the child byte for byte, UTF-8 or not.
#[derive(Debug, Clone, Default)]
pub struct EnvSnapshot {
    vars: Vec<(OsString, OsString)>,
}

impl EnvSnapshot {
    pub fn new(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        Self {
            vars: vars.into_iter().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_os_str())
    }

    pub fn vars(&self) -> &[(OsString, OsString)] {
        &self.vars
    }

    /// The variables whose name and value are both UTF-8, for `envy`.
    fn utf8_vars(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.vars
            .iter()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v.to_str()?.to_string())))
    }
}

/// One bad input: which variable or flag, the offending value, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub name: String,
    pub value: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(name: &str, value: Option<&str>, message: impl Into<String>) -> Problem {
        Problem {
            name: name.into(),
            value: value.map(String::from),
            message: message.into(),
        }
    }
}

/// Arguments as text for parsing and display; what is not UTF-8 still reaches the child
/// byte for byte through the plan's argv.
pub fn lossy(args: &[OsString]) -> Vec<String> {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => {
                let shown = redact::value_of(&self.name, value);
                write!(f, "{}={:?}: {}", self.name, shown, self.message)
            }
            None => write!(f, "{}: {}", self.name, self.message),
        }
    }
}

/// Every configuration problem found, reported together (exit code 78).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad configuration, nothing was started")?;
        for problem in &self.0 {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// The variables spark-init reads (after the `SPARK_INIT_` prefix), as `envy` finds them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawSparkInitVars {
    role: Option<String>,
    dry_run: Option<String>,
    encoding: Option<String>,
    timezone: Option<String>,
    java_opts: Option<String>,
    grace_seconds: Option<String>,
    signal_group: Option<String>,
    exit_remap: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
}

/// Names of every `SPARK_INIT_*` variable this version reads (for the UTF-8 check).
const SPARK_INIT_VARS: &[&str] = &[
    "SPARK_INIT_ROLE",
    "SPARK_INIT_DRY_RUN",
    "SPARK_INIT_ENCODING",
    "SPARK_INIT_TIMEZONE",
    "SPARK_INIT_JAVA_OPTS",
    "SPARK_INIT_GRACE_SECONDS",
    "SPARK_INIT_SIGNAL_GROUP",
    "SPARK_INIT_EXIT_REMAP",
    "SPARK_INIT_LOG",
    "SPARK_INIT_LOG_FORMAT",
];

pub const DEFAULT_ENCODING: &str = "UTF-8";
/// Spark jobs here historically ran with China Standard Time; `PRC` is the JDK's alias of
/// `Asia/Shanghai`.
pub const DEFAULT_TIMEZONE: &str = "PRC";
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub filter: Targets,
    pub format: LogFormat,
}

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
    /// Java option sources after the defaults, in merge order (image, SPARK_JAVA_OPT_*, ours).
    pub java_sources: Vec<OptionSource>,
    pub grace: Sourced<Duration>,
    pub signal_group: Sourced<bool>,
    pub exit_remap: Sourced<BTreeMap<u8, u8>>,
    pub log: LogConfig,
}

impl Config {
    pub fn parse(cli: Cli, env: &EnvSnapshot) -> Result<Config, ConfigErrors> {
        let mut problems = Vec::new();
        for name in SPARK_INIT_VARS {
            if let Some(value) = env.get(name) {
                if value.to_str().is_none() {
                    problems.push(Problem {
                        name: name.to_string(),
                        value: Some(value.to_string_lossy().into_owned()),
                        message: "is not valid UTF-8; write it as UTF-8 text".into(),
                    });
                }
            }
        }
        // `envy` cannot fail here: every field is an optional string.
        let raw: RawSparkInitVars = envy::prefixed("SPARK_INIT_")
            .from_iter(env.utf8_vars())
            .unwrap_or_default();

        let role = match (cli.role, raw.role.as_deref()) {
            (Some(role), _) => Some(Sourced::new(role, "--role")),
            (None, None | Some("")) => None,
            (None, Some("driver")) => Some(Sourced::new(Role::Driver, "SPARK_INIT_ROLE")),
            (None, Some("executor")) => Some(Sourced::new(Role::Executor, "SPARK_INIT_ROLE")),
            (None, Some(other)) => {
                problems.push(Problem {
                    name: "SPARK_INIT_ROLE".into(),
                    value: Some(other.into()),
                    message: "is not a role; set it to driver or executor, or unset it".into(),
                });
                None
            }
        };

        let dry_run = if cli.dry_run {
            Sourced::new(true, "--dry-run")
        } else {
            flag(&mut problems, "SPARK_INIT_DRY_RUN", raw.dry_run.as_deref())
        };

        let log = log_config(&raw, &mut problems);
        let encoding = default_property(raw.encoding, "SPARK_INIT_ENCODING", DEFAULT_ENCODING);
        let timezone = default_property(raw.timezone, "SPARK_INIT_TIMEZONE", DEFAULT_TIMEZONE);
        let java_sources = java_sources(env, raw.java_opts.as_deref(), &mut problems);

        let grace = match raw.grace_seconds.as_deref() {
            None => Sourced::new(DEFAULT_GRACE, "default"),
            Some(value) => match parse_seconds(value) {
                Some(grace) => Sourced::new(grace, "SPARK_INIT_GRACE_SECONDS"),
                None => {
                    problems.push(Problem {
                        name: "SPARK_INIT_GRACE_SECONDS".into(),
                        value: Some(value.into()),
                        message: "is not a number of seconds; set a non-negative number such \
                                  as 10 or 2.5"
                            .into(),
                    });
                    Sourced::new(DEFAULT_GRACE, "default")
                }
            },
        };
        let signal_group = flag(
            &mut problems,
            "SPARK_INIT_SIGNAL_GROUP",
            raw.signal_group.as_deref(),
        );
        let exit_remap = match raw.exit_remap.as_deref() {
            None => Sourced::new(BTreeMap::new(), "default"),
            Some(value) => match parse_exit_remap(value) {
                Ok(map) => Sourced::new(map, "SPARK_INIT_EXIT_REMAP"),
                Err(why) => {
                    problems.push(Problem {
                        name: "SPARK_INIT_EXIT_REMAP".into(),
                        value: Some(value.into()),
                        message: format!(
                            "{why}; write FROM=TO pairs of exit codes 0-255, comma-separated, \
                             such as 143=0,130=0"
                        ),
                    });
                    Sourced::new(BTreeMap::new(), "default")
                }
            },
        };

        if !problems.is_empty() {
            return Err(ConfigErrors(problems));
        }
        Ok(Config {
            role,
            dry_run,
            output: cli.output,
            command: cli.command,
            encoding,
            timezone,
            java_sources,
            grace,
            signal_group,
            exit_remap,
            log,
        })
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

/// `SPARK_INIT_LOG` and `SPARK_INIT_LOG_FORMAT`, usable even when other variables are bad so
/// the errors can be logged in the chosen format.
fn log_config(raw: &RawSparkInitVars, problems: &mut Vec<Problem>) -> LogConfig {
    let filter = match raw.log.as_deref() {
        // The ZooKeeper client logs every session at info; its warnings are what matters.
        None | Some("") => Targets::new()
            .with_default(tracing::Level::INFO)
            .with_target("zookeeper_client", tracing::Level::WARN),
        Some(value) => value.parse::<Targets>().unwrap_or_else(|e| {
            problems.push(Problem {
                name: "SPARK_INIT_LOG".into(),
                value: Some(value.into()),
                message: format!(
                    "is not a log filter ({e}); use a level (error, warn, info, debug, trace) \
                     or target=level pairs"
                ),
            });
            Targets::new().with_default(tracing::Level::INFO)
        }),
    };
    let format = match raw.log_format.as_deref() {
        None | Some("") | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            problems.push(Problem {
                name: "SPARK_INIT_LOG_FORMAT".into(),
                value: Some(other.into()),
                message: "is not a log format; set text or json".into(),
            });
            LogFormat::Text
        }
    };
    LogConfig { filter, format }
}

/// Reads the log settings alone, for logging errors before the whole config is valid.
pub fn log_config_only(env: &EnvSnapshot) -> LogConfig {
    let raw: RawSparkInitVars = envy::prefixed("SPARK_INIT_")
        .from_iter(env.utf8_vars())
        .unwrap_or_default();
    log_config(&raw, &mut Vec::new())
}

fn default_property(raw: Option<String>, name: &str, default: &str) -> Sourced<Option<String>> {
    match raw {
        None => Sourced::new(Some(default.to_string()), "default"),
        Some(value) if value.trim().is_empty() => {
            Sourced::new(None, format!("{name} (empty: no default)"))
        }
        Some(value) => Sourced::new(Some(value.trim().to_string()), name),
    }
}

fn flag(problems: &mut Vec<Problem>, name: &str, value: Option<&str>) -> Sourced<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => Sourced::new(false, "default"),
        Some("1" | "true" | "yes" | "on") => Sourced::new(true, name),
        Some("" | "0" | "false" | "no" | "off") => Sourced::new(false, name),
        Some(_) => {
            problems.push(Problem {
                name: name.into(),
                value: value.map(str::to_string),
                message: "is not a yes/no value; set 1 or 0".into(),
            });
            Sourced::new(false, "default")
        }
    }
}

/// Seconds as a non-negative decimal (`10`, `2.5`); at most a day, which no orchestrator's
/// kill grace period comes near.
fn parse_seconds(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && (0.0..=86_400.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

/// `143=0,130=0` → {143: 0, 130: 0}.
fn parse_exit_remap(value: &str) -> Result<BTreeMap<u8, u8>, String> {
    let mut map = BTreeMap::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (from, to) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} has no '='"))?;
        let code = |s: &str| {
            s.trim()
                .parse::<u8>()
                .map_err(|_| format!("{s:?} in {pair:?} is not an exit code 0-255"))
        };
        let (from, to) = (code(from)?, code(to)?);
        if map.insert(from, to).is_some() {
            return Err(format!("exit code {from} is remapped twice"));
        }
    }
    Ok(map)
}

/// The image's `JAVA_TOOL_OPTIONS`, `SPARK_JAVA_OPT_*` and `SPARK_INIT_JAVA_OPTS`, in merge order.
fn java_sources(
    env: &EnvSnapshot,
    init_java_opts: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Vec<OptionSource> {
    let mut sources = Vec::new();

    // The image's own value is read by HotSpot, so it is split with HotSpot's rules.
    if let Some(value) = env.get("JAVA_TOOL_OPTIONS") {
        match value.to_str() {
            None => problems.push(Problem {
                name: "JAVA_TOOL_OPTIONS".into(),
                value: Some(value.to_string_lossy().into_owned()),
                message: "is not valid UTF-8; write it as UTF-8 text".into(),
            }),
            Some(text) => match java_options::split_hotspot(text) {
                Ok(tokens) => sources.push(OptionSource {
                    name: "JAVA_TOOL_OPTIONS".into(),
                    tokens,
                }),
                Err(e) => problems.push(Problem {
                    name: "JAVA_TOOL_OPTIONS".into(),
                    value: Some(text.into()),
                    message: format!("{e}; close the quote"),
                }),
            },
        }
    }

    // SPARK_JAVA_OPT_<n>: one option each, ordered as Spark's Kubernetes entrypoint orders
    // them (`sort -t_ -k4 -n`: by the numeric suffix), names that are not numbers after those.
    let mut numbered: Vec<(Option<u64>, String, &OsStr)> = env
        .vars()
        .iter()
        .filter_map(|(k, v)| {
            let name = k.to_str()?;
            let suffix = name.strip_prefix("SPARK_JAVA_OPT_")?;
            Some((suffix.parse().ok(), name.to_string(), v.as_os_str()))
        })
        .collect();
    numbered.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
    numbered.dedup_by(|a, b| a.1 == b.1);
    for (_, name, value) in numbered {
        let Some(text) = value.to_str() else {
            problems.push(Problem {
                name,
                value: Some(value.to_string_lossy().into_owned()),
                message: "is not valid UTF-8; write it as UTF-8 text".into(),
            });
            continue;
        };
        match java_options::parse_option_string(text) {
            Ok(tokens) if tokens.len() <= 1 => sources.push(OptionSource { name, tokens }),
            Ok(tokens) => problems.push(Problem {
                name,
                value: Some(text.into()),
                message: format!(
                    "holds {} options; set one option per SPARK_JAVA_OPT_<n> variable, or \
                     quote a value that contains spaces",
                    tokens.len()
                ),
            }),
            Err(e) => problems.push(Problem {
                name,
                value: Some(text.into()),
                message: format!("{e}; close the quote or escape it with a backslash"),
            }),
        }
    }

    if let Some(text) = init_java_opts {
        match java_options::parse_option_string(text) {
            Ok(tokens) => sources.push(OptionSource {
                name: "SPARK_INIT_JAVA_OPTS".into(),
                tokens,
            }),
            Err(e) => problems.push(Problem {
                name: "SPARK_INIT_JAVA_OPTS".into(),
                value: Some(text.into()),
                message: format!(
                    "{e}; it is split like Spark's extraJavaOptions, so close the quote or \
                     escape it with a backslash"
                ),
            }),
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn cli(command: &[&str]) -> Cli {
        Cli {
            role: None,
            dry_run: false,
            output: OutputFormat::Text,
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
        assert_eq!(config.grace.value, Duration::from_secs(10));
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
        assert_eq!(config.grace.value, Duration::from_millis(2500));
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
            ("SPARK_JAVA_OPT_1", "\"open"),
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
        assert_eq!(config.java_sources[1].tokens, ["-Dtwo=a b"]);
    }

    #[test]
    fn one_option_per_spark_java_opt() {
        let err = parse(&[("SPARK_JAVA_OPT_0", "-Da=1 -Db=2")]).unwrap_err();
        assert!(err.to_string().contains("holds 2 options"), "{err}");
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
}
