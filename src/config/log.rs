//! `SPARK_INIT_LOG` and `SPARK_INIT_LOG_FORMAT`.

use tracing_subscriber::filter::Targets;

use crate::config::{EnvSnapshot, Problem, RawSparkInitVars};

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

/// `SPARK_INIT_LOG` and `SPARK_INIT_LOG_FORMAT`, usable even when other variables are bad so
/// the errors can be logged in the chosen format.
pub(crate) fn log_config(raw: &RawSparkInitVars, problems: &mut Vec<Problem>) -> LogConfig {
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
