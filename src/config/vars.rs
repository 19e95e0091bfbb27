//! Parsers of one variable each, shared by every variable of that kind.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::config::{EnvSnapshot, Problem};
use crate::sourced::Sourced;

pub fn default_property(raw: Option<String>, name: &str, default: &str) -> Sourced<Option<String>> {
    match raw {
        None => Sourced::new(Some(default.to_string()), "default"),
        Some(value) if value.trim().is_empty() => {
            Sourced::new(None, format!("{name} (empty: no default)"))
        }
        Some(value) => Sourced::new(Some(value.trim().to_string()), name),
    }
}

/// A variable as written (empty kept: for some, empty means "none"), or a problem when it is
/// not UTF-8: the one way every variable spark-init parses is read.
pub fn raw(env: &EnvSnapshot, name: &str, problems: &mut Vec<Problem>) -> Option<String> {
    let value = env.get(name)?;
    match value.to_str() {
        Some(text) => Some(text.to_string()),
        None => {
            problems.push(Problem::new(
                name,
                Some(&value.to_string_lossy()),
                "is not valid UTF-8; write it as UTF-8 text",
            ));
            None
        }
    }
}

/// The words every yes/no variable accepts, in any case; empty or unset is no.
pub const YES: [&str; 4] = ["1", "true", "yes", "on"];
pub const NO: [&str; 4] = ["0", "false", "no", "off"];

/// The one parser of every yes/no variable (`SPARK_INIT_DRY_RUN`, `SPARK_INIT_SIGNAL_GROUP`,
/// `SPARK_INIT_STORE_REQUIRED`, `SPARK_INIT_SCALE_DOWN_ON_EXIT`): anything else is a problem
/// naming the variable and the accepted words.
pub fn flag(problems: &mut Vec<Problem>, name: &str, value: Option<&str>) -> Sourced<bool> {
    let Some(value) = value else {
        return Sourced::new(false, "default");
    };
    let word = value.trim().to_ascii_lowercase();
    if YES.contains(&word.as_str()) {
        Sourced::new(true, name)
    } else if word.is_empty() || NO.contains(&word.as_str()) {
        Sourced::new(false, name)
    } else {
        problems.push(Problem {
            name: name.into(),
            value: Some(value.to_string()),
            message: format!(
                "is not a yes/no value; set one of {} for yes, or {} for no (any case)",
                YES.join(", "),
                NO.join(", ")
            ),
        });
        Sourced::new(false, "default")
    }
}

/// Seconds as a non-negative decimal (`10`, `2.5`); at most a day, which no orchestrator's
/// kill grace period comes near.
pub fn parse_seconds(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && (0.0..=86_400.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

/// `143=0,130=0` → {143: 0, 130: 0}.
pub fn parse_exit_remap(value: &str) -> Result<BTreeMap<u8, u8>, String> {
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

/// `code` after `SPARK_INIT_EXIT_REMAP`'s map: the command's exit, or a stop's 128+N.
pub fn remapped(remap: &BTreeMap<u8, u8>, code: i32) -> i32 {
    u8::try_from(code)
        .ok()
        .and_then(|from| remap.get(&from))
        .map_or(code, |&to| i32::from(to))
}

/// A number of seconds within `range` from a variable already read, else `default`; outside
/// the range (or not a number) it is a problem with `message`.
pub fn seconds_var(
    var: Option<Sourced<String>>,
    range: RangeInclusive<f64>,
    default: Duration,
    message: &str,
    problems: &mut Vec<Problem>,
) -> Duration {
    let Some(var) = var else {
        return default;
    };
    match var.value.parse::<f64>() {
        Ok(s) if s.is_finite() && range.contains(&s) => Duration::from_secs_f64(s),
        _ => {
            problems.push(Problem::new(&var.source, Some(&var.value), message));
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_boolean_takes_the_same_words_in_any_case() {
        for (word, want) in [
            ("1", true),
            ("TRUE", true),
            ("Yes", true),
            ("on", true),
            (" ON ", true),
            ("0", false),
            ("False", false),
            ("NO", false),
            ("off", false),
            ("", false),
        ] {
            let mut problems = Vec::new();
            assert_eq!(flag(&mut problems, "V", Some(word)).value, want, "{word:?}");
            assert!(problems.is_empty(), "{word:?}");
        }
        let mut problems = Vec::new();
        flag(&mut problems, "V", Some("maybe"));
        assert_eq!(problems[0].name, "V");
        assert!(
            problems[0].message.contains("1, true, yes, on"),
            "{}",
            problems[0]
        );
        assert!(
            problems[0].message.contains("0, false, no, off"),
            "{}",
            problems[0]
        );
    }
}
