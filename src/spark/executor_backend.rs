//! `org.apache.spark.executor.CoarseGrainedExecutorBackend`: the class an executor JVM runs and
//! the flags it accepts, by Spark version.

use crate::spark::version::SparkVersion;

pub const EXECUTOR_CLASS: &str = "org.apache.spark.executor.CoarseGrainedExecutorBackend";

/// `CoarseGrainedExecutorBackend`'s flags, by Spark version (its `parseArguments`): anything
/// else makes it print its usage and exit 1, and Marathon would restart it forever.
pub fn executor_flags(version: SparkVersion) -> Vec<&'static str> {
    let mut flags = vec![
        "--driver-url",
        "--executor-id",
        "--hostname",
        "--cores",
        "--app-id",
        "--worker-url",
    ];
    if !version.at_least(3, 3) {
        flags.push("--user-class-path");
    }
    if version.at_least(3, 0) {
        flags.extend(["--bind-address", "--resourcesFile"]);
    }
    if version.at_least(3, 1) {
        flags.push("--resourceProfileId");
    }
    flags
}

/// The flags spark-init itself sets (an app's args that set them again win, with a warning).
pub const FLAGS_WE_SET: &[&str] = &[
    "--driver-url",
    "--executor-id",
    "--hostname",
    "--cores",
    "--app-id",
    "--bind-address",
    "--resourceProfileId",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executor_flags_follow_the_version() {
        let flags = |v| executor_flags(SparkVersion::parse(v).unwrap());
        assert!(flags("2.4.8").contains(&"--user-class-path"));
        assert!(!flags("3.3.0").contains(&"--user-class-path"));
        assert!(!flags("2.4.8").contains(&"--bind-address"));
        assert!(flags("3.0.0").contains(&"--bind-address"));
        assert!(!flags("3.0.3").contains(&"--resourceProfileId"));
        assert!(flags("3.1.1").contains(&"--resourceProfileId"));
    }
}
