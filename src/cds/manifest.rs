//! The archive's manifest (`<archive>.json`): what the archive depends on, written by
//! `spark-init cds build`, and the pure check of it against what an executor is about to run.
//!
//! The rules are HotSpot's (JDK 17, `FileMapInfo::validate_shared_path_table` and
//! `SharedClassPathEntry::validate`), found by trying each against the real JVM (see the tests
//! in `entrypoint-tests/tests/cds.rs`): the dump-time classpath must be a prefix of the runtime
//! one, entry by entry in order; each jar must have the size and modification time it had; a
//! directory on it must still be empty (or still absent); the JVM must be the same build; and
//! a heap too large for compressed oops drops the archive silently. Checked here first, so the
//! JVM is only ever given an archive it will map.

use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// The manifest's format; a manifest of another format is not used (1: the dynamic archives
/// of the first release, executors only).
pub const FORMAT: u32 = 2;

/// The largest heap (MiB) at which HotSpot still uses compressed oops with G1, the executor's
/// GC: the real JDK 17 prints `UseCompressedOops = true` for `-Xmx32736m` and `false` for
/// `-Xmx32737m` and above (`Arguments::max_heap_for_compressed_oops`: 32 GiB minus the null
/// page rounded up to the heap alignment), and an archive dumped with compressed oops is
/// dropped without one ("The saved state of UseCompressedOops and UseCompressedClassPointers
/// is different from runtime, CDS will be disabled").
pub const MAX_HEAP_MIB_FOR_COMPRESSED_OOPS: u64 = 32 * 1024 - 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `static` (`-Xshare:dump` from a class list; it replaces the JDK's default archive).
    pub kind: String,
    /// The role whose JVM it was trained on: `executor` or `driver`.
    pub role: String,
    /// The JVM's `libjvm.so`: its build, by size and modification time.
    pub jvm: PathState,
    /// `JAVA_RUNTIME_VERSION` from the JDK's `release` file, for people.
    pub java_runtime_version: Option<String>,
    pub spark_version: String,
    /// The classpath the archive was dumped with, entry by entry.
    pub classpath: Vec<PathState>,
    /// The training JVM's options (the ones that matter: module options, the heap).
    pub options: Vec<String>,
    /// The heap (MiB) above which compressed oops, so the archive, are off.
    pub max_heap_mib: u64,
    /// How long the build took (training run, dump and check), in milliseconds.
    pub build_ms: u64,
    pub archive_bytes: u64,
}

/// A path as the JVM sees it when it checks a shared classpath entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathState {
    pub path: String,
    #[serde(flatten)]
    pub state: State,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum State {
    /// A file: its size in bytes, its modification time in whole seconds since the epoch
    /// (what `SharedClassPathEntry` keeps: `st_mtime`).
    File {
        size: u64,
        mtime: i64,
    },
    EmptyDir,
    /// A directory with something in it: the first name, to say so.
    Dir {
        first: String,
    },
    Absent,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::File { size, mtime } => write!(f, "a file of {size} bytes, mtime {mtime}"),
            State::EmptyDir => write!(f, "an empty directory"),
            State::Dir { first } => write!(f, "a directory holding {first}"),
            State::Absent => write!(f, "absent"),
        }
    }
}

/// The path's state now, as the JVM would see it (symbolic links followed).
pub fn observe(path: &str) -> PathState {
    let state = match std::fs::metadata(path) {
        Err(_) => State::Absent,
        Ok(meta) if meta.is_dir() => {
            let mut names: Vec<String> = std::fs::read_dir(path)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            match names.into_iter().next() {
                None => State::EmptyDir,
                Some(first) => State::Dir { first },
            }
        }
        Ok(meta) => State::File {
            size: meta.len(),
            mtime: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs() as i64),
        },
    };
    PathState {
        path: path.to_string(),
        state,
    }
}

/// The JVM library behind a `java` launcher: `<home>/lib/server/libjvm.so`, `<home>` being the
/// folder above the launcher's `bin` once links are followed (`/usr/bin/java` is one).
pub fn libjvm(java: &Path) -> String {
    let real = std::fs::canonicalize(java).unwrap_or_else(|_| java.to_path_buf());
    let home = real
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    home.join("lib/server/libjvm.so").display().to_string()
}

/// What a role's JVM is about to run, for the check.
pub struct Runtime<'a> {
    /// The role about to run (`executor`, `driver`): an archive trained on another is not used.
    pub role: &'a str,
    /// What, in this role, puts an entry before Spark's jars (for the message when one does).
    pub prepended_by: &'a str,
    pub jvm: &'a PathState,
    /// The runtime classpath, entry by entry, as it will be given.
    pub classpath: &'a [String],
    /// The state now of the manifest's classpath entries, in the manifest's order.
    pub now: &'a [PathState],
    pub heap_mib: u64,
    /// The JVM options besides the command line (`JAVA_TOOL_OPTIONS` as merged).
    pub java_options: &'a [String],
    /// The archive file's size now.
    pub archive_bytes: u64,
}

/// `Ok` when the JVM will map the archive for this run, else why not (one sentence).
pub fn check(manifest: &Manifest, run: &Runtime<'_>) -> Result<(), String> {
    if manifest.format != FORMAT {
        return Err(format!(
            "its manifest is of format {}, this spark-init reads {FORMAT}; rebuild it with \
             spark-init cds build",
            manifest.format
        ));
    }
    if manifest.role != run.role {
        return Err(format!(
            "it was built for the {} (its manifest says so), not the {}",
            manifest.role, run.role
        ));
    }
    if manifest.jvm != *run.jvm {
        return Err(format!(
            "it was built for another JVM ({} was {}, is {} now); rebuild it with spark-init \
             cds build in the image",
            manifest.jvm.path, manifest.jvm.state, run.jvm.state
        ));
    }
    if run.archive_bytes != manifest.archive_bytes {
        return Err(format!(
            "the archive is {} bytes and its manifest says {}: it was cut short or replaced \
             (the JVM refuses a truncated archive, and may crash on a foreign one); rebuild it \
             with spark-init cds build",
            run.archive_bytes, manifest.archive_bytes
        ));
    }
    if let Some(option) = run.java_options.iter().find(|o| turns_cds_off(o)) {
        return Err(format!(
            "the JVM options set {option}, with which the JVM decides class data sharing \
             itself or refuses the archive"
        ));
    }
    let mut heap_options = run
        .java_options
        .iter()
        .filter_map(|o| Some((o, heap_option_mib(o)?)));
    if let Some((option, mib)) = heap_options.rfind(|(_, mib)| *mib > manifest.max_heap_mib) {
        return Err(format!(
            "the JVM options set {option}, a heap of {mib} MiB, above {} MiB, where the JVM \
             turns compressed oops off and drops the archive",
            manifest.max_heap_mib
        ));
    }
    if run.heap_mib > manifest.max_heap_mib {
        return Err(format!(
            "the heap of {} MiB is above {} MiB, where the JVM turns compressed oops off and \
             drops the archive",
            run.heap_mib, manifest.max_heap_mib
        ));
    }
    for (then, now) in manifest.classpath.iter().zip(run.now) {
        if then != now {
            return Err(format!(
                "{} was {} when the archive was built and is {} now (the JVM rejects the \
                 archive then); rebuild it with spark-init cds build",
                then.path, then.state, now.state
            ));
        }
    }
    classpath_prefix(manifest, run.classpath, run.prepended_by)
}

/// The heap an option sets, in MiB: `-Xmx<size>` or `-XX:MaxHeapSize=<size>`, HotSpot's sizes
/// (a number of bytes, or with `k`, `m`, `g` or `t` in either case), rounded up to whole MiB.
fn heap_option_mib(option: &str) -> Option<u64> {
    let size = option
        .strip_prefix("-Xmx")
        .or_else(|| option.strip_prefix("-XX:MaxHeapSize="))?;
    let digits = size.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = size[..digits].parse().ok()?;
    let shift = match &size[digits..] {
        "" => -20,
        "k" | "K" => -10,
        "m" | "M" => 0,
        "g" | "G" => 10,
        "t" | "T" => 20,
        _ => return None,
    };
    // Rounded up: the JVM rounds a heap up to its alignment, never down.
    Some(if shift < 0 {
        n.div_ceil(1 << -shift)
    } else {
        n.saturating_mul(1 << shift)
    })
}

/// The archive's classpath must open the runtime one, entry by entry in order.
fn classpath_prefix(
    manifest: &Manifest,
    runtime: &[String],
    prepended_by: &str,
) -> Result<(), String> {
    for (i, then) in manifest.classpath.iter().enumerate() {
        match runtime.get(i) {
            Some(now) if *now == then.path => {}
            Some(now) if same_folder(now, &then.path) => {
                return Err(format!(
                    "{now} is among Spark's jars and the archive was not built with it (entry \
                     {} was {} then): Spark's jars changed; rebuild it with spark-init cds \
                     build",
                    i + 1,
                    then.path
                ))
            }
            Some(now) => {
                return Err(format!(
                    "the classpath differs from the archive's at entry {} ({now} instead of \
                     {}): the archive's classpath must open the JVM's, entry by entry (an \
                     entry put before Spark's jars, by {prepended_by}, does that)",
                    i + 1,
                    then.path
                ))
            }
            None => {
                return Err(format!(
                    "the classpath has {} entries, fewer than the archive's {}",
                    runtime.len(),
                    manifest.classpath.len()
                ))
            }
        }
    }
    Ok(())
}

fn same_folder(a: &str, b: &str) -> bool {
    let parent = |p: &str| std::path::Path::new(p).parent().map(|d| d.to_path_buf());
    parent(a).is_some() && parent(a) == parent(b)
}

/// Options with which the JVM decides class data sharing differently or refuses the archive
/// (each tried with JDK 17): the operator's own choice then stands. ZGC has no compressed
/// oops ("The saved state of UseCompressedOops ... is different from runtime"); an appended
/// boot classpath is a mismatch.
fn turns_cds_off(option: &str) -> bool {
    option.starts_with("-Xshare:")
        || option.starts_with("-XX:SharedArchiveFile=")
        || option.starts_with("-XX:ArchiveClassesAtExit=")
        || option.starts_with("-Xbootclasspath")
        || [
            "-XX:-UseCompressedOops",
            "-XX:-UseCompressedClassPointers",
            "-XX:-UseSharedSpaces",
            "-XX:+UseZGC",
        ]
        .contains(&option)
        || option.starts_with("-XX:ObjectAlignmentInBytes=")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar(path: &str, size: u64) -> PathState {
        PathState {
            path: path.into(),
            state: State::File { size, mtime: 7 },
        }
    }

    fn base() -> Manifest {
        Manifest {
            format: FORMAT,
            kind: "static".into(),
            role: "executor".into(),
            jvm: jar("/jdk/lib/server/libjvm.so", 100),
            java_runtime_version: None,
            spark_version: "3.5.7".into(),
            classpath: vec![
                PathState {
                    path: "/opt/spark/conf".into(),
                    state: State::Absent,
                },
                jar("/opt/spark/jars/a.jar", 1),
                jar("/opt/spark/jars/b.jar", 2),
            ],
            options: vec![],
            max_heap_mib: MAX_HEAP_MIB_FOR_COMPRESSED_OOPS,
            build_ms: 1,
            archive_bytes: 1,
        }
    }

    fn check_with(
        classpath: &[&str],
        now: &[PathState],
        heap_mib: u64,
        options: &[&str],
    ) -> Result<(), String> {
        let manifest = base();
        let classpath: Vec<String> = classpath.iter().map(|s| s.to_string()).collect();
        let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        check(
            &manifest,
            &Runtime {
                role: "executor",
                prepended_by: "SPARK_CLASSPATH",
                jvm: &manifest.jvm,
                classpath: &classpath,
                now,
                heap_mib,
                java_options: &options,
                archive_bytes: 1,
            },
        )
    }

    const CP: [&str; 4] = [
        "/opt/spark/conf",
        "/opt/spark/jars/a.jar",
        "/opt/spark/jars/b.jar",
        "/opt/app/later.jar",
    ];

    #[test]
    fn the_archive_is_used_when_everything_matches_and_entries_come_after() {
        let now = base().classpath;
        assert_eq!(check_with(&CP, &now, 4096, &["-Dx=y"]), Ok(()));
    }

    #[test]
    fn each_rule_says_why_the_archive_is_not_used() {
        let now = base().classpath;
        let prepended = ["/opt/app/first.jar", CP[0], CP[1], CP[2]];
        let why = check_with(&prepended, &now, 4096, &[]).unwrap_err();
        assert!(why.contains("entry 1 (/opt/app/first.jar"), "{why}");
        let reordered = [CP[0], CP[2], CP[1]];
        assert!(check_with(&reordered, &now, 4096, &[])
            .unwrap_err()
            .contains("entry 2"));
        let why = check_with(&CP[..2], &now, 4096, &[]).unwrap_err();
        assert!(why.contains("fewer"), "{why}");
        let mut conf_gained_a_file = now.clone();
        conf_gained_a_file[0].state = State::Dir {
            first: "spark-defaults.conf".into(),
        };
        let why = check_with(&CP, &conf_gained_a_file, 4096, &[]).unwrap_err();
        assert!(why.contains("holding spark-defaults.conf"), "{why}");
        let mut jar_replaced = now.clone();
        jar_replaced[2] = jar("/opt/spark/jars/b.jar", 3);
        assert!(check_with(&CP, &jar_replaced, 4096, &[]).is_err());
        let why = check_with(&CP, &now, 32 * 1024, &[]).unwrap_err();
        assert!(why.contains("compressed oops"), "{why}");
        assert_eq!(
            check_with(&CP, &now, MAX_HEAP_MIB_FOR_COMPRESSED_OOPS, &[]),
            Ok(())
        );
        for option in [
            "-Xshare:off",
            "-XX:-UseCompressedOops",
            "-XX:SharedArchiveFile=x",
            "-XX:+UseZGC",
            "-XX:-UseSharedSpaces",
            "-Xbootclasspath/a:/x.jar",
            "-XX:MaxHeapSize=40g",
            "-Xmx32737m",
            "-Xmx34326183937",
        ] {
            let why = check_with(&CP, &now, 4096, &[option]).expect_err(option);
            assert!(why.contains(option), "{why}");
        }
        for fine in [
            "-Xmx32736m",
            "-XX:MaxHeapSize=31g",
            "-Xmx1024k",
            "-XX:+UseG1GC",
        ] {
            assert_eq!(check_with(&CP, &now, 4096, &[fine]), Ok(()), "{fine}");
        }
        let mut jar_removed = now.clone();
        jar_removed[2].state = State::Absent;
        let why = check_with(&CP[..2], &jar_removed, 4096, &[]).unwrap_err();
        assert!(
            why.contains("is absent now") && why.contains("rebuild"),
            "{why}"
        );
        let added = [CP[0], CP[1], "/opt/spark/jars/a2.jar", CP[2]];
        let why = check_with(&added, &now, 4096, &[]).unwrap_err();
        assert!(why.contains("Spark's jars changed"), "{why}");
    }

    #[test]
    fn another_jvm_build_or_format_is_not_used() {
        let manifest = base();
        let other = jar("/jdk/lib/server/libjvm.so", 101);
        let classpath: Vec<String> = CP.iter().map(|s| s.to_string()).collect();
        let run = Runtime {
            role: "executor",
            prepended_by: "SPARK_CLASSPATH",
            jvm: &other,
            classpath: &classpath,
            now: &manifest.classpath,
            heap_mib: 1024,
            java_options: &[],
            archive_bytes: 1,
        };
        assert!(check(&manifest, &run).unwrap_err().contains("another JVM"));
        let old = Manifest {
            format: 0,
            ..base()
        };
        let run = Runtime {
            jvm: &manifest.jvm,
            ..run
        };
        assert!(check(&old, &run).unwrap_err().contains("format 0"));
        let truncated = Runtime {
            archive_bytes: 0,
            ..run
        };
        let why = check(&manifest, &truncated).unwrap_err();
        assert!(why.contains("cut short or replaced"), "{why}");
        let drivers = Manifest {
            role: "driver".into(),
            ..base()
        };
        let why = check(&drivers, &run).unwrap_err();
        assert!(why.contains("built for the driver"), "{why}");
    }
}
