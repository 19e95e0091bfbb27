//! What is wrong with the configuration: each problem names the variable (or file, or flag),
//! the value (secrets masked) and the fix; all of them are reported together (exit 78).

use std::ffi::OsString;
use std::fmt;

use crate::redact;

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

impl ConfigErrors {
    /// Every bad variable once: a problem said twice (a variable read by two decisions) is
    /// said once, and "is not set" goes when that variable, or one its message offers instead
    /// (`HOST` for `SPARK_INIT_HOSTNAME`), was already reported as bad: a value that is not
    /// UTF-8 or not a URL is unusable, but it is set.
    pub fn new(problems: Vec<Problem>) -> ConfigErrors {
        let mut kept: Vec<Problem> = Vec::new();
        for problem in problems {
            let bad = |name: &str| kept.iter().any(|k| k.name == name && k.value.is_some());
            let said = kept.contains(&problem)
                || (problem.value.is_none()
                    && (bad(&problem.name) || variables_in(&problem.message).any(bad)));
            if !said {
                kept.push(problem);
            }
        }
        ConfigErrors(kept)
    }
}

/// The variable names a message mentions (upper-case words with an underscore, or `HOST`).
fn variables_in(message: &str) -> impl Iterator<Item = &str> {
    message
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|w| w.contains('_') || *w == "HOST")
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad configuration, nothing was started")?;
        for problem in &self.0 {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_variable_is_reported_once() {
        let bad = Problem::new("SPARK_DRIVER_URL", Some("\u{fffd}"), "is not valid UTF-8");
        let unset = Problem::new("SPARK_DRIVER_URL", None, "is not set; set it");
        let other = Problem::new("args", Some("--x"), "no");
        let host = Problem::new("HOST", Some("\u{fffd}"), "is not valid UTF-8");
        let no_host = Problem::new(
            "SPARK_INIT_HOSTNAME",
            None,
            "is not set and neither is HOST",
        );
        let errors = ConfigErrors::new(vec![
            bad.clone(),
            other.clone(),
            bad.clone(),
            unset,
            other.clone(),
            host.clone(),
            no_host,
        ]);
        assert_eq!(errors.0, [bad, other, host]);
    }
}
