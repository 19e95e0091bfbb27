//! Spark releases: which version an installation is, and which lines spark-init knows.

use std::fmt;

/// The newest Spark line whose settings spark-init knows (module options, classpath, memory):
/// a newer release of the same major version runs with them, and a warning.
pub const NEWEST_KNOWN: (u32, u32) = (4, 3);

/// The releases spark-init runs, for `--version`, `--help` and the refusal of another one
/// (a test keeps it in step with [`NEWEST_KNOWN`] and [`SparkVersion::support`]).
pub const SUPPORTED: &str =
    "Spark 1.6, 2.x, 3.x and 4.0 to 4.3 (a newer 4.x runs with 4.3's settings)";

/// What spark-init makes of a Spark release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// 1.6, 2.x, 3.x, 4.0–4.3: every setting checked against that line.
    Known,
    /// A 4.x newer than [`NEWEST_KNOWN`]: run with the newest known settings, with a warning.
    Newer,
    /// Anything else (1.5 and older, 5.x and later): refused.
    Unsupported,
}

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

    /// Whether spark-init knows this release's settings (README "Installations").
    pub fn support(&self) -> Support {
        let (newest_major, newest_minor) = NEWEST_KNOWN;
        match (self.major, self.minor) {
            (1, 6) | (2, _) | (3, _) => Support::Known,
            (major, minor) if major == newest_major && minor <= newest_minor => Support::Known,
            (major, _) if major == newest_major => Support::Newer,
            _ => Support::Unsupported,
        }
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

/// `4.3`, the newest known line, for messages.
pub fn newest_known_line() -> String {
    format!("{}.{}", NEWEST_KNOWN.0, NEWEST_KNOWN.1)
}

impl fmt::Display for SparkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support(version: &str) -> Support {
        SparkVersion::parse(version).unwrap().support()
    }

    #[test]
    fn the_supported_text_says_what_support_decides() {
        let newest = newest_known_line();
        assert!(
            SUPPORTED.contains(&format!("4.0 to {newest}")),
            "{SUPPORTED}"
        );
        assert!(
            SUPPORTED.contains(&format!("with {newest}'s settings")),
            "{SUPPORTED}"
        );
        for known in ["1.6.3", "2.0.0", "3.0.0", "3.5.7", "4.0.0"] {
            assert_eq!(support(known), Support::Known, "{known}");
        }
        assert_eq!(support("1.5.2"), Support::Unsupported);
    }

    #[test]
    fn spark_4_is_known_up_to_4_3_newer_4_x_runs_and_5_is_refused() {
        for known in [
            "1.6.3", "2.4.8", "3.5.7", "4.0.0", "4.1.4", "4.2.1", "4.3.0", "4.3.9",
        ] {
            assert_eq!(support(known), Support::Known, "{known}");
        }
        assert_eq!(support("4.4.0"), Support::Newer);
        assert_eq!(support("4.10.1"), Support::Newer);
        for refused in ["1.5.2", "0.9.0", "5.0.0", "6.1.0"] {
            assert_eq!(support(refused), Support::Unsupported, "{refused}");
        }
        assert_eq!(newest_known_line(), "4.3");
    }
}
