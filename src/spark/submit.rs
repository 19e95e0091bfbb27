//! spark-submit's command line as the driver's Marathon app gives it.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::config::{lossy, Problem};

/// The spark-submit options spark-init cares about, from the driver's args (the options
/// before the application resource; `SparkSubmitOptionParser`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmitArgs {
    pub master: Option<String>,
    pub deploy_mode: Option<String>,
    pub properties_file: Option<String>,
    pub driver_java_options: Option<String>,
    pub driver_memory: Option<String>,
    /// `--conf k=v` / `-c k=v`, later wins.
    pub conf: BTreeMap<String, String>,
}

/// spark-submit's options that take no value (`SparkSubmitOptionParser` switches).
const SUBMIT_SWITCHES: &[&str] = &[
    "--verbose",
    "-v",
    "--supervise",
    "--help",
    "-h",
    "--version",
    "--usage-error",
];

impl SubmitArgs {
    pub fn parse(args: &[OsString], problems: &mut Vec<Problem>) -> SubmitArgs {
        let args = lossy(args);
        let mut parsed = SubmitArgs::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if !arg.starts_with('-') {
                break; // the application resource: the rest belongs to the application
            }
            if SUBMIT_SWITCHES.contains(&arg.as_str()) {
                i += 1;
                continue;
            }
            let (name, value, step) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => {
                    (name.to_string(), Some(value.to_string()), 1)
                }
                _ => (arg.clone(), args.get(i + 1).cloned(), 2),
            };
            let Some(value) = value else {
                problems.push(Problem::new("args", Some(arg), "needs a value after it"));
                break;
            };
            match name.as_str() {
                "--master" => parsed.master = Some(value),
                "--deploy-mode" => parsed.deploy_mode = Some(value),
                "--properties-file" => parsed.properties_file = Some(value),
                "--driver-java-options" => parsed.driver_java_options = Some(value),
                "--driver-memory" => parsed.driver_memory = Some(value),
                "--conf" | "-c" => match value.split_once('=') {
                    Some((k, v)) => {
                        parsed
                            .conf
                            .insert(k.trim().to_string(), v.trim().to_string());
                    }
                    None => problems.push(Problem::new(
                        "args",
                        Some(&value),
                        "is not a key=value pair after --conf",
                    )),
                },
                _ => {}
            }
            i += step;
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn submit_args_stop_at_the_application_resource() {
        let mut problems = Vec::new();
        let args = SubmitArgs::parse(
            &os(&[
                "--master",
                "mesos://zk://zk1:2181/mesos",
                "--conf",
                "spark.ui.port=4444",
                "--conf=spark.driver.port=7000",
                "--verbose",
                "--class",
                "com.example.Stream",
                "local:///opt/app/stream.jar",
                "--master",
                "not-ours",
                "--conf",
                "x=y",
            ]),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(args.master.as_deref(), Some("mesos://zk://zk1:2181/mesos"));
        assert_eq!(args.conf.len(), 2);
        assert_eq!(args.conf["spark.driver.port"], "7000");
    }
}
