//! Application class-data sharing (AppCDS) for the executor and the driver: for each, an
//! archive of the classes it loads until it has registered and run a job, made when the image
//! is built (`spark-init cds build`, [`build`]) and given to its JVM (`-XX:SharedArchiveFile`)
//! only when the archive's manifest ([`manifest`]) still matches what is about to run;
//! otherwise the role runs without it and the log says why once.
//!
//! The archives are static ones (`-Xshare:dump` from the class lists, `-XX:DumpLoadedClassList`,
//! of a training run spark-init drives on loopback): they replace the JDK's default archive,
//! JDK classes included. README "Class-data sharing" says why not dynamic ones.

pub mod build;
pub mod manifest;

use std::path::{Path, PathBuf};

/// Where the image keeps the executor's archive when `SPARK_INIT_CDS_ARCHIVE` is unset.
pub const DEFAULT_ARCHIVE: &str = "/opt/spark-init/executor.jsa";
/// Where the image keeps the driver's archive when `SPARK_INIT_CDS_DRIVER_ARCHIVE` is unset.
pub const DEFAULT_DRIVER_ARCHIVE: &str = "/opt/spark-init/driver.jsa";

/// The manifest beside an archive: `<archive>.json`.
pub fn manifest_path(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_os_string();
    name.push(".json");
    PathBuf::from(name)
}

/// `jars/*` as an explicit list, sorted by name: the JVM's launcher expands the wildcard in
/// directory order (`readdir`), which differs between file systems and copies of a folder,
/// while an archive needs the same order every time. The launcher takes the files whose names
/// end in `.jar` or `.JAR` (`JLI_WildcardExpandClasspath`).
pub fn explicit_jars(jars_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(jars_dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".jar") || n.ends_with(".JAR"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .map(|n| jars_dir.join(n).display().to_string())
        .collect()
}

/// A classpath with each `<dir>/*` wildcard that `jars` stands for replaced by `jars`.
pub fn with_explicit_jars(classpath: &str, wildcard: &str, jars: &[String]) -> Vec<String> {
    classpath
        .split(':')
        .flat_map(|entry| {
            if entry == wildcard {
                jars.to_vec()
            } else {
                vec![entry.to_string()]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wildcard_becomes_the_sorted_jars_and_the_rest_stays() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.jar", "a.jar", "C.JAR", "notes.txt"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.jar")).unwrap();
        let jars = explicit_jars(dir.path());
        let d = dir.path().display();
        assert_eq!(
            jars,
            [
                format!("{d}/C.JAR"),
                format!("{d}/a.jar"),
                format!("{d}/b.jar")
            ]
        );
        let wildcard = format!("{d}/*");
        let cp = format!("/conf:{wildcard}:/after");
        let entries = with_explicit_jars(&cp, &wildcard, &jars);
        assert_eq!(entries.first().unwrap(), "/conf");
        assert_eq!(entries[1..4], jars[..]);
        assert_eq!(entries.last().unwrap(), "/after");
        assert_eq!(
            manifest_path(Path::new("/x/e.jsa")),
            PathBuf::from("/x/e.jsa.json")
        );
    }
}
