//! Discover the Spark and Java installations in the image: where they are and which versions,
//! because the executor's flags and JVM options depend on both.

use std::path::{Path, PathBuf};

use crate::config::Problem;
use crate::sourced::Sourced;
use crate::spark::version::{SparkVersion, Support};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SparkInstall {
    pub home: PathBuf,
    /// The version, and how it was found: `RELEASE` or the jar's name.
    pub version: Sourced<SparkVersion>,
    /// The classpath entry for Spark's own jars: `jars/*` (2.x and later) or the assembly jar
    /// (1.6).
    pub jars: String,
    /// `jars/slf4j-api-*.jar`, by name: Spark 4's launcher puts it before `jars/*`.
    pub slf4j_api: Vec<String>,
}

/// Finds the Spark version: the first line of `$SPARK_HOME/RELEASE` ("Spark 3.5.7 built for
/// Hadoop 3.3.4"), else the name of the `spark-core_<scala>-<version>.jar` in `jars/`, else
/// (Spark 1.6) `lib/spark-assembly-<version>-hadoop<h>.jar`.
pub fn discover_spark(home: &Path, home_source: &str) -> Result<SparkInstall, Problem> {
    let problem = |message: String| Problem {
        name: home_source.into(),
        value: Some(home.display().to_string()),
        message,
    };
    if !home.is_dir() {
        return Err(problem(
            "is not a directory; set SPARK_HOME to the Spark installation in the image".into(),
        ));
    }
    let jars_dir = home.join("jars");
    let lib_dir = home.join("lib");
    let release = home.join("RELEASE");
    let from_release = std::fs::read_to_string(&release).ok().and_then(|text| {
        let first = text.lines().next()?.trim();
        let version = first.strip_prefix("Spark ")?.split_whitespace().next()?;
        SparkVersion::parse(version).map(|v| (v, format!("{} ({first:?})", release.display())))
    });
    let core_jar = list(&jars_dir).into_iter().find_map(|name| {
        let rest = name.strip_prefix("spark-core_")?.strip_suffix(".jar")?;
        let (_, version) = rest.split_once('-')?;
        SparkVersion::parse(version).map(|v| (v, name.clone()))
    });
    let assembly = list(&lib_dir).into_iter().find_map(|name| {
        let rest = name.strip_prefix("spark-assembly-")?.strip_suffix(".jar")?;
        SparkVersion::parse(rest.split("-hadoop").next()?).map(|v| (v, name.clone()))
    });

    let (version, version_source) = match (&from_release, &core_jar, &assembly) {
        (Some((v, source)), _, _) => (*v, source.clone()),
        (None, Some((v, name)), _) => (*v, format!("jar name {}", jars_dir.join(name).display())),
        (None, None, Some((v, name))) => (*v, format!("jar name {}", lib_dir.join(name).display())),
        (None, None, None) => {
            return Err(problem(
                "holds no Spark: no RELEASE file, no jars/spark-core_*.jar, no \
                 lib/spark-assembly-*.jar; set SPARK_HOME to the folder that has Spark's jars/"
                    .into(),
            ))
        }
    };
    if version.support() == Support::Unsupported {
        return Err(problem(unsupported(version, &version_source)));
    }
    let jars = if version.major >= 2 {
        if core_jar.is_none() {
            return Err(problem(format!(
                "has no jars/spark-core_*.jar although RELEASE says Spark {version}; the \
                 installation is incomplete"
            )));
        }
        format!("{}/*", jars_dir.display())
    } else {
        match &assembly {
            Some((_, name)) => lib_dir.join(name).display().to_string(),
            None => {
                return Err(problem(
                    "has no lib/spark-assembly-*.jar (Spark 1.6 keeps its classes there); the \
                     installation is incomplete"
                        .into(),
                ))
            }
        }
    };
    Ok(SparkInstall {
        home: home.to_path_buf(),
        version: Sourced::new(version, version_source),
        jars,
        slf4j_api: slf4j_api_jars(&jars_dir),
    })
}

/// Why a Spark release is refused, and what to do.
fn unsupported(version: SparkVersion, version_source: &str) -> String {
    format!(
        "holds Spark {version} (from {version_source}), which spark-init does not support: it \
         knows {}; use an image with one of those, or a spark-init that knows Spark {}.x",
        crate::spark::version::SUPPORTED,
        version.major
    )
}

/// The files of `jars/` whose name starts with `slf4j-api-`, as Spark 4's launcher picks them.
fn slf4j_api_jars(jars_dir: &Path) -> Vec<String> {
    list(jars_dir)
        .into_iter()
        .filter(|name| name.starts_with("slf4j-api-"))
        .map(|name| jars_dir.join(name).display().to_string())
        .collect()
}

fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JavaInstall {
    pub java: Sourced<PathBuf>,
    /// The feature version (8, 11, 17, ...), `None` when the installation has no `release`.
    pub feature: Sourced<Option<u32>>,
}

/// `$JAVA_HOME/bin/java`, else `java` on `PATH`; the feature version from the `release` file
/// of the installation (`JAVA_VERSION="17.0.15"`, `JAVA_VERSION="1.8.0_392"` for 8).
pub fn discover_java(java_home: Option<&Path>, path: Option<&str>) -> Result<JavaInstall, Problem> {
    let (java, java_source, home) = match java_home {
        Some(home) => {
            let java = home.join("bin/java");
            if !is_executable(&java) {
                return Err(Problem {
                    name: "JAVA_HOME".into(),
                    value: Some(home.display().to_string()),
                    message: format!(
                        "has no executable {}; set JAVA_HOME to a JDK or JRE, or unset it to \
                         use java from PATH",
                        java.display()
                    ),
                });
            }
            (java, "JAVA_HOME".to_string(), home.to_path_buf())
        }
        None => {
            let found = path.unwrap_or_default().split(':').find_map(|dir| {
                let candidate = Path::new(if dir.is_empty() { "." } else { dir }).join("java");
                is_executable(&candidate).then_some(candidate)
            });
            let Some(java) = found else {
                return Err(Problem {
                    name: "JAVA_HOME".into(),
                    value: None,
                    message: "is not set and there is no java on PATH; set JAVA_HOME to the \
                              JDK or JRE in the image"
                        .into(),
                });
            };
            // /usr/bin/java -> /etc/alternatives/java -> /usr/lib/jvm/<jdk>/bin/java.
            let real = std::fs::canonicalize(&java).unwrap_or_else(|_| java.clone());
            let home = real
                .parent()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            (java, "PATH".to_string(), home)
        }
    };
    let release = home.join("release");
    let (feature, feature_source) = match std::fs::read_to_string(&release)
        .ok()
        .and_then(|text| java_feature_version(&text))
    {
        Some(feature) => (Some(feature), release.display().to_string()),
        None => (
            None,
            format!("unknown: no JAVA_VERSION in {}", release.display()),
        ),
    };
    Ok(JavaInstall {
        java: Sourced::new(java, java_source),
        feature: Sourced::new(feature, feature_source),
    })
}

/// The feature version from a `release` file: `JAVA_VERSION="17.0.15"` → 17, `"1.8.0_392"` → 8.
pub fn java_feature_version(release: &str) -> Option<u32> {
    let value = release
        .lines()
        .find_map(|l| l.trim().strip_prefix("JAVA_VERSION="))?
        .trim()
        .trim_matches('"');
    let mut parts = value.split(['.', '_', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// A regular file with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            SparkVersion::parse("3.5.7"),
            Some(SparkVersion::new(3, 5, 7))
        );
        assert_eq!(SparkVersion::parse("2.4"), Some(SparkVersion::new(2, 4, 0)));
        assert_eq!(
            SparkVersion::parse("3.3.0-SNAPSHOT"),
            Some(SparkVersion::new(3, 3, 0))
        );
        assert_eq!(SparkVersion::parse("x.y"), None);
        assert!(SparkVersion::new(3, 3, 0).at_least(3, 3));
        assert!(!SparkVersion::new(3, 2, 9).at_least(3, 3));
    }

    /// A Spark home with `RELEASE` saying `release` and empty jars named `jars`.
    fn spark_home(release: &str, jars: &[&str]) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("RELEASE"), release).unwrap();
        std::fs::create_dir(home.path().join("jars")).unwrap();
        for jar in jars {
            std::fs::write(home.path().join("jars").join(jar), "").unwrap();
        }
        home
    }

    #[test]
    fn spark_4_is_found_with_its_slf4j_api_jar() {
        let jars = [
            "spark-core_2.13-4.3.0.jar",
            "slf4j-api-2.0.17.jar",
            "jul-to-slf4j-2.0.17.jar",
        ];
        let home = spark_home("Spark 4.3.0 built for Hadoop 3.5.0\n", &jars);
        let spark = discover_spark(home.path(), "SPARK_HOME").unwrap();
        assert_eq!(spark.version.value, SparkVersion::new(4, 3, 0));
        let jars = home.path().join("jars");
        assert_eq!(spark.jars, format!("{}/*", jars.display()));
        assert_eq!(
            spark.slf4j_api,
            [jars.join("slf4j-api-2.0.17.jar").display().to_string()]
        );
    }

    #[test]
    fn spark_5_is_refused_naming_what_spark_init_knows() {
        let home = spark_home(
            "Spark 5.0.0 built for Hadoop 3.5.0\n",
            &["spark-core_2.13-5.0.0.jar"],
        );
        let problem = discover_spark(home.path(), "SPARK_HOME").unwrap_err();
        assert_eq!(problem.name, "SPARK_HOME");
        assert!(problem.message.contains("holds Spark 5.0.0"), "{problem}");
        assert!(problem.message.contains("4.0 to 4.3"), "{problem}");
        assert!(problem.message.contains("knows Spark 5.x"), "{problem}");
        // A newer 4.x is found (the plan warns).
        let home = spark_home("Spark 4.4.0\n", &["spark-core_2.13-4.4.0.jar"]);
        assert!(discover_spark(home.path(), "SPARK_HOME").is_ok());
    }

    #[test]
    fn java_release_files() {
        assert_eq!(java_feature_version("JAVA_VERSION=\"17.0.15\"\n"), Some(17));
        assert_eq!(
            java_feature_version("IMPLEMENTOR=x\nJAVA_VERSION=\"1.8.0_392\""),
            Some(8)
        );
        assert_eq!(java_feature_version("JAVA_VERSION=\"11\""), Some(11));
        assert_eq!(java_feature_version("JAVA_VERSION=\"21-ea\""), Some(21));
        assert_eq!(java_feature_version("OS_NAME=Linux"), None);
    }
}
