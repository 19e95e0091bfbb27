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

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad configuration, nothing was started")?;
        for problem in &self.0 {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}
