//! Spark releases: which version an installation is, and which lines spark-init knows.

use std::fmt;

/// A Spark release, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct SparkVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl SparkVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// `3.5.7`, also `3.5.7-SNAPSHOT` or `2.4.8.2` vendor builds (extra parts ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Self::new(major, minor, patch))
    }

    /// The lines spark-init knows the executor flags of: 1.6, 2.x and 3.x.
    pub fn is_supported(&self) -> bool {
        matches!((self.major, self.minor), (1, 6) | (2, _) | (3, _))
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl fmt::Display for SparkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}
