//! The process environment, snapshotted once by `main`.

use std::ffi::{OsStr, OsString};

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
}
