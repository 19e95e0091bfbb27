//! `SPARK_INIT_LOG` and `SPARK_INIT_LOG_FORMAT`.

use tracing_subscriber::filter::Targets;

use crate::config::{vars, EnvSnapshot, Problem};

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
pub(crate) fn log_config(
    log: Option<&str>,
    log_format: Option<&str>,
    problems: &mut Vec<Problem>,
) -> LogConfig {
    // Empty directives (`info,`, a lone space) are nothing: `Targets` would take them for a
    // filter that turns every line off.
    let directives: Vec<&str> = log
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let filter = match log {
        // The ZooKeeper client logs every session at info; its warnings are what matters.
        _ if directives.is_empty() => Targets::new()
            .with_default(tracing::Level::INFO)
            .with_target("zookeeper_client", tracing::Level::WARN),
        None => unreachable!("no value has no directives"),
        Some(value) => match checked_filter(&directives.join(",")) {
            Ok(filter) => filter,
            Err(message) => {
                problems.push(Problem::new("SPARK_INIT_LOG", Some(value), message));
                Targets::new().with_default(tracing::Level::INFO)
            }
        },
    };
    // Any case, as every other word spark-init reads (`JSON`, `Text`).
    let format = match log_format.map(|f| (f, f.trim().to_ascii_lowercase())) {
        None => LogFormat::Text,
        Some((_, word)) if word.is_empty() || word == "text" => LogFormat::Text,
        Some((_, word)) if word == "json" => LogFormat::Json,
        Some((other, _)) => {
            problems.push(Problem {
                name: "SPARK_INIT_LOG_FORMAT".into(),
                value: Some(other.into()),
                message: "is not a log format; set text or json (any case)".into(),
            });
            LogFormat::Text
        }
    };
    LogConfig { filter, format }
}

/// Reads the log settings alone, for logging errors before the whole config is valid.
pub fn log_config_only(env: &EnvSnapshot) -> LogConfig {
    let mut ignored = Vec::new();
    let log = vars::raw(env, "SPARK_INIT_LOG", &mut ignored);
    let format = vars::raw(env, "SPARK_INIT_LOG_FORMAT", &mut ignored);
    log_config(log.as_deref(), format.as_deref(), &mut ignored)
}

pub const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// A level, or `target=level` pairs, each level one of [`LEVELS`] in any case. `Targets` alone
/// takes a lone unknown word (`debg`, `warning`) as a target name, which turns every line off.
fn checked_filter(value: &str) -> Result<Targets, String> {
    let lower = value.trim().to_ascii_lowercase();
    for directive in lower.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, level)| level);
        if !LEVELS.contains(&level) {
            return Err(format!(
                "{level:?} is not a log level; use one of {} (any case), or target=level pairs: \
                 did you mean {}?",
                LEVELS.join(", "),
                closest(level, &LEVELS)
            ));
        }
    }
    lower
        .parse::<Targets>()
        .map_err(|e| format!("is not a log filter ({e}); use a level or target=level pairs"))
}

/// The candidate fewest single-character edits away from `word`.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> &'a str {
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    };
    candidates
        .iter()
        .copied()
        .min_by_key(|c| distance(word, c))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review finding / issue 11: `SPARK_INIT_LOG=debg` or `=warning` turned every line off.
    #[test]
    fn unknown_level_words_are_problems_naming_the_closest() {
        for (word, near) in [("debg", "debug"), ("warning", "warn"), ("verbose", "error")] {
            let err = checked_filter(word).unwrap_err();
            assert!(
                err.contains(&format!("did you mean {near}?")),
                "{word}: {err}"
            );
        }
        for ok in [
            "INFO",
            "warn",
            "off",
            "spark_init=debug,zookeeper_client=warn",
            "Debug",
        ] {
            assert!(checked_filter(ok).is_ok(), "{ok}");
        }
        assert!(checked_filter("spark_init=loud").is_err());
    }

    /// Review finding: `SPARK_INIT_LOG='info,'` or `' '` silently showed errors only.
    #[test]
    fn empty_directives_are_nothing_and_a_blank_value_is_the_default() {
        for value in [" ", ",", "info,", " info , "] {
            let mut problems = Vec::new();
            let config = log_config(Some(value), None, &mut problems);
            assert!(problems.is_empty(), "{value:?}: {problems:?}");
            assert_eq!(
                config.filter.default_level(),
                Some(tracing::level_filters::LevelFilter::INFO),
                "{value:?}"
            );
        }
    }

    /// Issue 18: `SPARK_INIT_LOG_FORMAT=JSON` was refused; enum words take any case.
    #[test]
    fn log_formats_take_any_case() {
        for (word, want) in [
            ("JSON", LogFormat::Json),
            (" Json ", LogFormat::Json),
            ("TEXT", LogFormat::Text),
        ] {
            let mut problems = Vec::new();
            let config = log_config(None, Some(word), &mut problems);
            assert!(problems.is_empty(), "{word:?}: {problems:?}");
            assert_eq!(config.format, want, "{word:?}");
        }
        let mut problems = Vec::new();
        log_config(None, Some("XML"), &mut problems);
        assert_eq!(problems[0].value.as_deref(), Some("XML"));
    }
}
