//! spark-submit's command line as the driver's Marathon app gives it.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::config::{lossy, Problem};
use crate::sourced::Sourced;

/// The spark-submit options spark-init cares about, from the driver's args (the options
/// before the application resource; `SparkSubmitOptionParser`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubmitArgs {
    pub master: Option<String>,
    pub deploy_mode: Option<String>,
    pub properties_file: Option<String>,
    pub driver_java_options: Option<String>,
    pub driver_memory: Option<String>,
    /// `--total-executor-cores`: spark-submit sets `spark.cores.max` from it, over any
    /// `--conf spark.cores.max` (`SparkSubmit`'s `OptionAssigner` for standalone and Mesos).
    pub total_executor_cores: Option<String>,
    /// `--conf k=v` / `-c k=v`, later wins.
    pub conf: BTreeMap<String, String>,
    /// `spark.driver.extraLibraryPath` from `--driver-library-path` or `--conf`, the later
    /// one winning, as in spark-submit's launcher (`SparkSubmitCommandBuilder.OptionParser`
    /// puts both in one map, in order).
    pub library_path: Option<Sourced<String>>,
    /// `spark.driver.extraClassPath` from `--driver-class-path` or `--conf`, the later one
    /// winning (the launcher puts both in its confs, in order).
    pub driver_class_path: Option<Sourced<String>>,
    /// `--class`: a few of Spark's own classes take no application resource.
    pub main_class: Option<String>,
    /// The application resource: the first argument that is not an option (a jar, a `.py` or
    /// `.R` file, as a path or a URL); what follows belongs to the application.
    pub resource: Option<String>,
}

/// The driver's extra native library path, which spark-submit's launcher appends to
/// `LD_LIBRARY_PATH` for the driver's JVM in client mode.
pub const LIBRARY_PATH: &str = "spark.driver.extraLibraryPath";

/// The entries spark-submit's launcher puts first on the driver JVM's classpath, before the
/// conf directory and `jars/*` (`AbstractCommandBuilder.buildClassPath`).
pub const DRIVER_CLASS_PATH: &str = "spark.driver.extraClassPath";

/// Whether a master URL is Mesos' (`mesos://host:5050`, `mesos://zk://...`): the driver then
/// starts `MesosSchedulerDriver`, which loads the native Mesos library.
pub fn is_mesos_master(master: &str) -> bool {
    master.starts_with("mesos://")
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
                // The application resource: the rest belongs to the application.
                parsed.resource = Some(arg.clone());
                break;
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
                "--total-executor-cores" => parsed.total_executor_cores = Some(value),
                "--class" => parsed.main_class = Some(value),
                // The launcher puts it in the confs as it comes, so the later one wins
                // (`SparkSubmitCommandBuilder.OptionParser`).
                "--driver-class-path" => {
                    let source = "the app's args (--driver-class-path)";
                    parsed.driver_class_path = Some(Sourced::new(value.clone(), source));
                    parsed
                        .conf
                        .insert(DRIVER_CLASS_PATH.into(), value.trim().into());
                }
                "--driver-library-path" => {
                    let source = "the app's args (--driver-library-path)";
                    parsed.library_path = Some(Sourced::new(value, source));
                }
                "--conf" | "-c" => match value.split_once('=') {
                    Some((k, v)) => {
                        if k.trim() == DRIVER_CLASS_PATH {
                            let source = format!("the app's args (--conf {DRIVER_CLASS_PATH})");
                            parsed.driver_class_path = Some(Sourced::new(v.to_string(), source));
                        }
                        if k.trim() == LIBRARY_PATH {
                            let source = format!("the app's args (--conf {LIBRARY_PATH})");
                            parsed.library_path = Some(Sourced::new(v.to_string(), source));
                        }
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

/// Spark's classes that spark-submit runs without an application resource: their positional
/// arguments are theirs (`SparkSubmitCommandBuilder.specialClasses`).
const CLASSES_WITHOUT_RESOURCE: &[&str] = &[
    "org.apache.spark.repl.Main",
    "org.apache.spark.sql.hive.thriftserver.SparkSQLCLIDriver",
    "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
    "org.apache.spark.sql.connect.service.SparkConnectServer",
];

/// Spark's names for "no file" (`SparkLauncher.NO_RESOURCE`, the shells' resources in
/// `SparkSubmit`).
const INTERNAL_RESOURCES: &[&str] = &[
    "spark-internal",
    "spark-shell",
    "pyspark-shell",
    "sparkr-shell",
];

/// Where spark-submit reads the application resource from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceLocation {
    /// This container's file system: a `local:` or `file:` URL's path, or a path without a
    /// scheme (relative ones to the working directory), which `Utils.resolveURI` makes a
    /// `file:` URI (`new File(path).getCanonicalFile().toURI()`).
    Local(std::path::PathBuf),
    /// A `local:` or `file:` URL without an absolute path (`local:app.jar`): `URI.getPath()`
    /// is null and spark-submit fails on it.
    NoPath,
    /// Another scheme (`hdfs:`, `http:`, `s3a:`, ...): Spark fetches it; not checked here.
    Remote,
    /// No application resource, or one of Spark's names for none.
    Internal,
}

impl SubmitArgs {
    /// Where the application resource is, as spark-submit resolves it.
    pub fn resource_location(&self) -> ResourceLocation {
        let special = self
            .main_class
            .as_deref()
            .is_some_and(|class| CLASSES_WITHOUT_RESOURCE.contains(&class));
        match &self.resource {
            Some(resource) if !special => resource_location(resource),
            _ => ResourceLocation::Internal,
        }
    }
}

/// `Utils.resolveURI`: a URI with a scheme stays one (only `local:` and `file:` are this
/// container's files, with the path `java.net.URI.getPath` gives: authority, query and
/// fragment dropped, percent-escapes decoded); anything else is a file path, its `#fragment`
/// dropped (Spark's `Utils.resolveURI`, `SparkSubmit.addJarToClasspath`).
pub fn resource_location(resource: &str) -> ResourceLocation {
    if INTERNAL_RESOURCES.contains(&resource) {
        return ResourceLocation::Internal;
    }
    let Some((scheme, rest)) = split_scheme(resource) else {
        // With a fragment Spark takes `URI.getPath()` (decoded), else the text as it is.
        return ResourceLocation::Local(match resource.split_once('#') {
            Some((path, _)) => percent_decoded(path).into(),
            None => resource.into(),
        });
    };
    if scheme != "local" && scheme != "file" {
        return ResourceLocation::Remote;
    }
    let hierarchical = match rest.strip_prefix("//") {
        Some(authority_and_path) => authority_and_path
            .find('/')
            .map(|slash| &authority_and_path[slash..]),
        None => rest.starts_with('/').then_some(rest),
    };
    let Some(path) = hierarchical.and_then(|p| p.split(['?', '#']).next()) else {
        return ResourceLocation::NoPath;
    };
    ResourceLocation::Local(percent_decoded(path).into())
}

/// A URI's scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`) and the rest.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// `%XX` escapes decoded (as UTF-8, as `URI.getPath` decodes them); a stray `%` stays.
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    /// The driver's archive names where an extraClassPath came from: `--driver-class-path`
    /// and `--conf spark.driver.extraClassPath` are one setting, the later winning.
    #[test]
    fn the_driver_class_path_comes_from_either_option_the_later_winning() {
        let mut problems = Vec::new();
        let args = SubmitArgs::parse(
            &os(&[
                "--conf",
                "spark.driver.extraClassPath=/a.jar",
                "--driver-class-path",
                "/b.jar",
                "app.jar",
            ]),
            &mut problems,
        );
        let set = args.driver_class_path.unwrap();
        assert_eq!(
            (set.value.as_str(), set.source.as_str()),
            ("/b.jar", "the app's args (--driver-class-path)")
        );
        assert_eq!(args.conf[DRIVER_CLASS_PATH], "/b.jar");
        let args = SubmitArgs::parse(
            &os(&[
                "--driver-class-path",
                "/b.jar",
                "--conf",
                "spark.driver.extraClassPath=/a.jar",
                "app.jar",
            ]),
            &mut problems,
        );
        assert_eq!(
            args.driver_class_path.unwrap().source,
            "the app's args (--conf spark.driver.extraClassPath)"
        );
        assert!(problems.is_empty());
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
        assert_eq!(
            args.resource.as_deref(),
            Some("local:///opt/app/stream.jar")
        );
        assert_eq!(args.main_class.as_deref(), Some("com.example.Stream"));
    }

    #[test]
    fn the_later_library_path_option_wins_as_in_the_launcher() {
        let parse = |args: &[&str]| SubmitArgs::parse(&os(args), &mut Vec::new()).library_path;
        let flag = "--driver-library-path";
        let conf = format!("{LIBRARY_PATH}=/b");
        assert_eq!(
            parse(&[flag, "/a", "--conf", &conf, "x.jar"]),
            Some(Sourced::new(
                "/b".to_string(),
                format!("the app's args (--conf {LIBRARY_PATH})")
            ))
        );
        assert_eq!(
            parse(&["--conf", &conf, flag, "/a", "x.jar"]).map(|p| p.value),
            Some("/a".to_string())
        );
        assert_eq!(parse(&["x.jar", flag, "/a"]), None);
    }

    #[test]
    fn where_spark_submit_reads_the_application_resource() {
        use ResourceLocation::*;
        let local = |p: &str| Local(p.into());
        for (resource, location) in [
            ("local:///opt/app/x.jar", local("/opt/app/x.jar")),
            ("local:/opt/app/x.jar", local("/opt/app/x.jar")),
            // An authority is not part of the path (java.net.URI.getPath).
            ("local://opt/app/x.jar", local("/app/x.jar")),
            ("file:///opt/app/my%20job.py", local("/opt/app/my job.py")),
            ("local:///opt/app/x.jar#alias", local("/opt/app/x.jar")),
            ("/opt/app/job.py", local("/opt/app/job.py")),
            ("app.jar", local("app.jar")),
            ("app.jar#alias", local("app.jar")),
            ("my%20app.jar", local("my%20app.jar")),
            ("my%20app.jar#alias", local("my app.jar")),
            ("local:app.jar", NoPath),
            ("local://host", NoPath),
            ("hdfs:///apps/x.jar", Remote),
            ("s3a://bucket/x.jar", Remote),
            ("https://repo/x.jar", Remote),
            ("spark-internal", Internal),
            ("pyspark-shell", Internal),
        ] {
            assert_eq!(resource_location(resource), location, "{resource}");
        }
        let mut problems = Vec::new();
        let shell = SubmitArgs::parse(
            &os(&["--class", "org.apache.spark.repl.Main", "-i", "init.scala"]),
            &mut problems,
        );
        assert_eq!(shell.resource_location(), Internal);
        assert_eq!(SubmitArgs::default().resource_location(), Internal);
    }
}
