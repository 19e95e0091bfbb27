//! The driver's prerequisites in the image, decided before anything starts: an application
//! resource that spark-submit reads from this container must be a file here, and a driver with
//! a `mesos://` master must find Mesos' native library. Either missing is a configuration
//! problem (78) that names the path or variable and the fix; found, the dry run shows where.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::facts::mesos_library::{MesosLibrary, JAVA_LIBRARY_PATH, LIBRARY_FILE};
use crate::facts::prerequisites::{FileState, LocalFile, Prerequisites};
use crate::plan::{sourced, Findings, Resolved};
use crate::sourced::Sourced;
use crate::spark::java_options::OptionSource;
use crate::spark::submit::{ResourceLocation, SubmitArgs};

/// What the driver's prerequisites add to the dry run (`application`,
/// `mesos_native_library`), problems and warnings into `found`.
pub fn check(
    config: &Config,
    submit: &SubmitArgs,
    spark_java_sources: &[OptionSource],
    facts: &Prerequisites,
    found: &mut Findings,
) -> BTreeMap<String, Resolved> {
    let mut resolved = BTreeMap::new();
    if let Some(app) = application(submit, facts.application.as_ref(), found) {
        resolved.insert("application".to_string(), app);
    }
    if let Some(library) = &facts.mesos_library {
        let replaced = java_library_path_option(config, spark_java_sources);
        let shown = mesos_library(library, replaced, found);
        resolved.insert("mesos_native_library".to_string(), shown);
    }
    resolved
}

/// The application resource: a file in the image when spark-submit reads it from here.
fn application(
    submit: &SubmitArgs,
    file: Option<&LocalFile>,
    found: &mut Findings,
) -> Option<Resolved> {
    let Some(resource) = submit.resource.as_deref() else {
        found.problem(
            "args",
            None,
            "name no application resource: spark-submit would exit 1 (\"Error: Missing \
             application resource.\", seen with Spark 3.5.7) and Marathon would restart it \
             for ever; give the application after the spark-submit options in the app's args \
             (local:///opt/app/app.jar, or a .py file)",
        );
        return None;
    };
    let local_url = resource.starts_with("local:");
    match (submit.resource_location(), file) {
        (ResourceLocation::Internal, _) => None,
        (ResourceLocation::Remote, _) => Some(sourced(
            resource,
            "the app's args: the application resource, which Spark fetches (not checked here)",
        )),
        (ResourceLocation::NoPath, _) => {
            found.problem(
                "args",
                Some(resource),
                "is the application resource, a URL without an absolute path, which \
                 spark-submit cannot open; write local:///<path in the image>",
            );
            None
        }
        (ResourceLocation::Local(_), Some(file)) if file.state == FileState::File => Some(sourced(
            file.path.as_str(),
            format!("the app's args ({resource}): a file in the image"),
        )),
        (ResourceLocation::Local(_), Some(file)) => {
            let why = missing_application(&file.path, &file.state, local_url);
            found.problem("args", Some(resource), why);
            None
        }
        (ResourceLocation::Local(_), None) => None,
    }
}

/// Why a local application resource is not usable, and the fix.
fn missing_application(path: &str, state: &FileState, local_url: bool) -> String {
    let what = match state {
        FileState::NotAFile => format!("{path} is not a file"),
        FileState::Unreadable(why) => format!("{path} cannot be read: {why}"),
        _ => format!("{path} does not exist"),
    };
    let read_from = if local_url {
        "for local: URLs the application jar must be in the image: spark-submit reads them from \
         the container's file system and never fetches them"
    } else {
        "spark-submit reads a path without a scheme (or a file: URL) from the container's file \
         system, a relative one from the working directory"
    };
    format!(
        "is the application resource, and {what}; {read_from}. Put the application (jar, .py \
         or .R file) in the image at that path, or give a URL Spark fetches (hdfs:, https:, \
         s3a:)"
    )
}

/// Where Mesos' native library comes from, or the problem: a variable naming what is not a
/// loadable file, or nothing where `System.loadLibrary` looks.
fn mesos_library(
    library: &MesosLibrary,
    replaced: Option<String>,
    found: &mut Findings,
) -> Resolved {
    match library {
        MesosLibrary::Variable {
            path,
            source,
            state: FileState::File,
        } => sourced(
            path.as_str(),
            format!("{source}: MesosNativeLibrary.load() loads it (System.load)"),
        ),
        MesosLibrary::Variable {
            path,
            source,
            state,
        } => {
            found.problem(source, Some(path), bad_variable(state));
            sourced(None::<String>, "see the problem")
        }
        MesosLibrary::Unknown(why) => not_checked(
            format!("what spark-env.sh sets is not known here ({why})"),
            found,
        ),
        MesosLibrary::Searched {
            replaced_by: Some(source),
            ..
        } => not_checked(replaced_search(source), found),
        MesosLibrary::Searched { .. } if replaced.is_some() => {
            not_checked(replaced_search(&replaced.unwrap_or_default()), found)
        }
        MesosLibrary::Searched {
            dirs,
            found: Some(at),
            ..
        } => sourced(
            format!("{}/{LIBRARY_FILE}", dirs[*at].value.trim_end_matches('/')),
            format!(
                "System.loadLibrary(\"mesos\") (MESOS_NATIVE_JAVA_LIBRARY is unset): the folder \
                 {} from {}",
                dirs[*at].value, dirs[*at].source
            ),
        ),
        MesosLibrary::Searched {
            dirs, found: None, ..
        } => {
            found.problem("MESOS_NATIVE_JAVA_LIBRARY", None, not_found(dirs));
            sourced(None::<String>, "see the problem")
        }
    }
}

fn replaced_search(source: &str) -> String {
    format!("-Djava.library.path ({source}) replaces the folders the JVM searches")
}

/// The fix for a variable that names no loadable file.
fn bad_variable(state: &FileState) -> String {
    let what = match state {
        FileState::NotAbsolute => "is not an absolute path, which the JVM's System.load refuses \
                                   (\"Expecting an absolute path of the library\")"
            .to_string(),
        FileState::NotAFile => "is not a file (a folder?)".into(),
        FileState::Unreadable(why) => format!("cannot be read: {why}"),
        FileState::File | FileState::Missing => "does not exist".into(),
    };
    format!(
        "{what}; a driver with a mesos:// master loads this file at start \
         (MesosNativeLibrary.load()) and dies with UnsatisfiedLinkError without it. {FIX}"
    )
}

/// What to do about a missing libmesos.
const FIX: &str = "Put libmesos in the image (images/Dockerfile: --build-arg \
                   LIBMESOS_DIR=<a folder with libmesos.so and the libraries it needs>) and set \
                   MESOS_NATIVE_JAVA_LIBRARY to its absolute path (that image sets \
                   /opt/mesos/lib/libmesos.so)";

/// No variable, and no `libmesos.so` in any folder searched.
fn not_found(dirs: &[Sourced<String>]) -> String {
    let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
    for dir in dirs {
        match groups.last_mut() {
            Some((folders, source)) if *source == dir.source => folders.push(&dir.value),
            _ => groups.push((vec![&dir.value], &dir.source)),
        }
    }
    let searched: Vec<String> = groups
        .iter()
        .map(|(folders, source)| format!("{} ({source})", folders.join(", ")))
        .collect();
    format!(
        "is not set, and no {LIBRARY_FILE} (the name System.loadLibrary(\"mesos\") looks for; \
         a versioned libmesos-<version>.so is not it) is in the folders the driver's JVM \
         searches: {}. A driver with a mesos:// master dies at start with \
         UnsatisfiedLinkError: no mesos in java.library.path, and Marathon restarts it for \
         ever. {FIX}",
        searched.join("; ")
    )
}

/// The library is not checked: a warning says why, and the dry run shows it.
fn not_checked(why: String, found: &mut Findings) -> Resolved {
    found.warn(format!(
        "not checked whether the driver's JVM finds Mesos' native library: {why}"
    ));
    sourced(None::<String>, format!("not checked: {why}"))
}

/// Where the driver's JVM options set `-Djava.library.path` (which replaces
/// `LD_LIBRARY_PATH` and the JDK's default in the search), if anywhere: `JAVA_TOOL_OPTIONS`
/// as spark-init builds it, or the driver's Java options (`SPARK_SUBMIT_OPTS`: the facts).
fn java_library_path_option(
    config: &Config,
    spark_java_sources: &[OptionSource],
) -> Option<String> {
    let sources = config.java_sources_with(spark_java_sources.to_vec());
    sources
        .iter()
        .find(|s| s.tokens.iter().any(|t| t.starts_with(JAVA_LIBRARY_PATH)))
        .map(|s| s.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn args(args: &[&str]) -> SubmitArgs {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        SubmitArgs::parse(&args, &mut Vec::new())
    }

    fn file(path: &str, state: FileState) -> LocalFile {
        LocalFile {
            path: path.into(),
            state,
        }
    }

    #[test]
    fn a_local_application_must_be_a_file_in_the_image() {
        let mut found = Findings::default();
        let local = args(&["--class", "Main", "local:///opt/app/x.jar", "--in", "a"]);
        let here = file("/opt/app/x.jar", FileState::File);
        let shown = application(&local, Some(&here), &mut found).unwrap();
        assert_eq!(shown.value, "/opt/app/x.jar");
        assert_eq!(
            shown.source,
            "the app's args (local:///opt/app/x.jar): a file in the image"
        );
        let gone = file("/opt/app/x.jar", FileState::Missing);
        assert!(application(&local, Some(&gone), &mut found).is_none());
        let plain = args(&["app/job.py"]);
        let folder = file("/work/app/job.py", FileState::NotAFile);
        assert!(application(&plain, Some(&folder), &mut found).is_none());
        let [missing, not_a_file] = &found.problems[..] else {
            panic!("{:?}", found.problems)
        };
        assert_eq!(
            missing.to_string(),
            "args=\"local:///opt/app/x.jar\": is the application resource, and /opt/app/x.jar \
             does not exist; for local: URLs the application jar must be in the image: \
             spark-submit reads them from the container's file system and never fetches them. \
             Put the application (jar, .py or .R file) in the image at that path, or give a URL \
             Spark fetches (hdfs:, https:, s3a:)"
        );
        assert!(
            not_a_file.to_string().starts_with(
                "args=\"app/job.py\": is the application resource, and /work/app/job.py is not \
                 a file; spark-submit reads a path without a scheme"
            ),
            "{not_a_file}"
        );
    }

    #[test]
    fn remote_and_internal_resources_are_not_checked_and_a_url_without_a_path_is() {
        let mut found = Findings::default();
        let remote = application(&args(&["hdfs:///apps/x.jar"]), None, &mut found).unwrap();
        assert!(remote.source.contains("not checked"), "{}", remote.source);
        assert!(application(&args(&["spark-internal"]), None, &mut found).is_none());
        assert!(found.problems.is_empty());
        assert!(application(&args(&["local:x.jar"]), None, &mut found).is_none());
        assert!(found.problems[0].message.contains("local:///"), "{found:?}");
        // No resource at all: spark-submit's "Error: Missing application resource."
        assert!(application(&args(&["--master", "local"]), None, &mut found).is_none());
        assert!(
            found.problems[1]
                .message
                .contains("no application resource"),
            "{found:?}"
        );
    }

    fn searched(found: Option<usize>, replaced_by: Option<&str>) -> MesosLibrary {
        let dir = |dir: &str, source: &str| Sourced::new(dir.to_string(), source);
        MesosLibrary::Searched {
            dirs: vec![
                dir("/jdk/lib", "the JDK's own libraries"),
                dir("/opt/mesos/lib", "LD_LIBRARY_PATH"),
                dir("/usr/java/packages/lib", "the JDK's default"),
                dir("/usr/lib", "the JDK's default"),
            ],
            found,
            replaced_by: replaced_by.map(String::from),
        }
    }

    #[test]
    fn the_library_found_is_shown_with_where_it_came_from() {
        let mut found = Findings::default();
        let shown = mesos_library(&searched(Some(1), None), None, &mut found);
        assert_eq!(shown.value, "/opt/mesos/lib/libmesos.so");
        assert_eq!(
            shown.source,
            "System.loadLibrary(\"mesos\") (MESOS_NATIVE_JAVA_LIBRARY is unset): the folder \
             /opt/mesos/lib from LD_LIBRARY_PATH"
        );
        let variable = MesosLibrary::Variable {
            path: "/usr/local/lib/libmesos.so".into(),
            source: "MESOS_NATIVE_JAVA_LIBRARY".into(),
            state: FileState::File,
        };
        let shown = mesos_library(&variable, None, &mut found);
        assert_eq!(shown.value, "/usr/local/lib/libmesos.so");
        assert!(found.problems.is_empty() && found.warnings.is_empty());
    }

    #[test]
    fn no_library_is_78_naming_the_variable_the_folders_and_the_fix() {
        let mut found = Findings::default();
        mesos_library(&searched(None, None), None, &mut found);
        assert_eq!(
            found.problems[0].to_string(),
            "MESOS_NATIVE_JAVA_LIBRARY: is not set, and no libmesos.so (the name \
             System.loadLibrary(\"mesos\") looks for; a versioned libmesos-<version>.so is not \
             it) is in the folders the driver's JVM searches: /jdk/lib (the JDK's own \
             libraries); /opt/mesos/lib (LD_LIBRARY_PATH); /usr/java/packages/lib, /usr/lib (the \
             JDK's default). A driver with a mesos:// master dies at start with \
             UnsatisfiedLinkError: no mesos in java.library.path, and Marathon restarts it for \
             ever. Put libmesos in the image (images/Dockerfile: --build-arg \
             LIBMESOS_DIR=<a folder with libmesos.so and the libraries it needs>) and set \
             MESOS_NATIVE_JAVA_LIBRARY to its absolute path (that image sets \
             /opt/mesos/lib/libmesos.so)"
        );
        let bad = MesosLibrary::Variable {
            path: "lib/libmesos.so".into(),
            source: "MESOS_NATIVE_JAVA_LIBRARY (set by /opt/spark/conf/spark-env.sh)".into(),
            state: FileState::NotAbsolute,
        };
        mesos_library(&bad, None, &mut found);
        assert!(
            found.problems[1].to_string().starts_with(
                "MESOS_NATIVE_JAVA_LIBRARY (set by /opt/spark/conf/spark-env.sh)=\
                 \"lib/libmesos.so\": is not an absolute path"
            ),
            "{}",
            found.problems[1]
        );
    }

    #[test]
    fn a_replaced_search_path_or_an_unknown_environment_is_not_checked_with_a_warning() {
        let mut found = Findings::default();
        let by_option = Some("SPARK_INIT_JAVA_OPTS".to_string());
        let shown = mesos_library(&searched(None, None), by_option, &mut found);
        assert!(shown.value.is_null());
        mesos_library(&searched(None, Some("SPARK_SUBMIT_OPTS")), None, &mut found);
        let unknown = MesosLibrary::Unknown("spark-env.sh failed".into());
        mesos_library(&unknown, None, &mut found);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!(found.warnings.len(), 3);
        assert!(found.warnings[0].contains("-Djava.library.path (SPARK_INIT_JAVA_OPTS)"));
        assert!(found.warnings[1].contains("(SPARK_SUBMIT_OPTS)"));
    }
}
