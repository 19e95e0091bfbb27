//! Parsers of one variable each, shared by every variable of that kind.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::Problem;
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

pub fn flag(problems: &mut Vec<Problem>, name: &str, value: Option<&str>) -> Sourced<bool> {
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
