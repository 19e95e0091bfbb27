//! Test-only builders for the plan's rules: a role's configuration from environment pairs and
//! args (read as `main` reads them), and the local facts of a made-up installation, so that a
//! rule is tested without files.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::config::cli::Role;
use crate::config::role::RoleConfig;
use crate::config::EnvSnapshot;
use crate::facts::install::{JavaInstall, SparkInstall};
use crate::facts::spark_defaults::SparkDefaults;
use crate::facts::LocalFacts;
use crate::sourced::Sourced;
use crate::spark::version::SparkVersion;

/// The role's configuration from `env`, with `args` as the command line after the options.
pub fn role_config(role: Role, env: &[(&str, &str)], args: &[&str]) -> RoleConfig {
    let env = EnvSnapshot::new(env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let mut problems = Vec::new();
    let config = RoleConfig::read(&env, role, &args, "/sys/fs/cgroup".into(), &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    config
}

/// Spark `spark` in `/opt/spark` (Spark 4's `slf4j-api` jar included), Java `java` in
/// `/opt/java` found through `JAVA_HOME`, `spark-defaults.conf` holding `defaults`.
pub fn local_facts(spark: &str, java: Option<u32>, defaults: &[(&str, &str)]) -> LocalFacts {
    let version = SparkVersion::parse(spark).expect("a Spark version");
    LocalFacts {
        spark: SparkInstall {
            home: PathBuf::from("/opt/spark"),
            version: Sourced::new(version, "/opt/spark/RELEASE"),
            jars: "/opt/spark/jars/*".into(),
            slf4j_api: vec!["/opt/spark/jars/slf4j-api-2.0.17.jar".into()],
        },
        java: JavaInstall {
            java: Sourced::new(PathBuf::from("/opt/java/bin/java"), "JAVA_HOME"),
            feature: Sourced::new(java, "/opt/java/release"),
        },
        defaults: SparkDefaults {
            path: Some(PathBuf::from("/opt/spark/conf/spark-defaults.conf")),
            entries: defaults
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        cgroup: Default::default(),
        available_cpus: 2,
        working_dir: None,
        hadoop_classpath: None,
        cds: None,
    }
}
