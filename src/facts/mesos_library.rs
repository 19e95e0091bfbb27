//! Where a driver's JVM will find Mesos' native library, found the way it will look.
//!
//! A driver with a `mesos://` master starts `MesosSchedulerDriver`, whose static initialiser
//! calls `MesosNativeLibrary.load()` (apache/mesos
//! `src/java/generated/org/apache/mesos/MesosNativeLibrary.java.in`):
//! 1. `MESOS_NATIVE_JAVA_LIBRARY`, else the deprecated `MESOS_NATIVE_LIBRARY`: `System.load` of
//!    that path (an absolute one: the JVM refuses a relative or empty path, "Expecting an
//!    absolute path of the library");
//! 2. neither set: `System.loadLibrary("mesos")`, which looks for `libmesos.so`
//!    (`System.mapLibraryName`; Mesos' versioned `libmesos-1.4.3.so` is not it) in the JDK's own
//!    library folder (`sun.boot.library.path`) and then in each entry of `java.library.path`
//!    (JDK 17 `jdk.internal.loader.NativeLibraries.loadLibrary`: `SYS_PATHS`, then
//!    `USER_PATHS`; an empty entry is the working directory, `ClassLoaderHelper.parsePath`).
//!
//! Otherwise `UnsatisfiedLinkError: no mesos in java.library.path`, and Marathon restarts the
//! driver for ever.
//!
//! HotSpot builds `java.library.path` on Linux as `LD_LIBRARY_PATH` (when set, even empty),
//! then `/usr/java/packages/lib`, then the JDK's built-in default path
//! (`os::init_system_properties_values`: `"%s%s/usr/java/packages/lib:" DEFAULT_LIBPATH`).
//! That default differs between builds (upstream `/usr/lib64:/lib64:/lib:/usr/lib`; Debian's
//! adds its multiarch folders), so it is read from the literal in the JDK's `libjvm.so`. And the
//! driver's `LD_LIBRARY_PATH` is not quite the container's: spark-submit's launcher appends
//! `spark.driver.extraLibraryPath` (`--driver-library-path`) to it for a client-mode driver
//! (`SparkSubmitCommandBuilder.buildSparkSubmitCommand` → `CommandBuilderUtils
//! .mergeEnvPathList`: `join(":", firstNonEmpty(env), extra)`).

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::role::NativeLibraryVars;
use crate::facts::prerequisites::{file_state, FileState};
use crate::sourced::Sourced;

/// The file `System.loadLibrary("mesos")` looks for on Linux.
pub const LIBRARY_FILE: &str = "libmesos.so";

/// The JVM option that replaces `java.library.path` (and so the folders searched).
pub const JAVA_LIBRARY_PATH: &str = "-Djava.library.path=";

/// What `MesosNativeLibrary.load()` would load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MesosLibrary {
    /// A variable names the file (`System.load`): its path, which variable, and what is there.
    Variable {
        path: String,
        source: String,
        state: FileState,
    },
    /// Neither variable is set (`System.loadLibrary`): the folders searched, in order, each
    /// with where it comes from, and the index of the first holding `libmesos.so`.
    Searched {
        dirs: Vec<Sourced<String>>,
        found: Option<usize>,
        /// `SPARK_SUBMIT_OPTS` sets `-Djava.library.path`, which replaces those folders but
        /// the JDK's own: its source.
        replaced_by: Option<String>,
    },
    /// What the driver's JVM will see is not known (spark-env.sh failed here): why.
    Unknown(String),
}

/// What the search depends on besides the file system.
pub struct Inputs<'a> {
    /// The variables as the driver's JVM gets them (spark-env.sh applied).
    pub vars: &'a NativeLibraryVars,
    /// `spark.driver.extraLibraryPath`, when set.
    pub extra_library_path: Option<&'a Sourced<String>>,
    /// The `java` that runs the driver.
    pub java: &'a Path,
    /// spark-submit's working directory: relative folders are searched from there.
    pub working_dir: &'a Path,
}

/// Finds the library as `MesosNativeLibrary.load()` would.
pub fn discover(inputs: &Inputs<'_>) -> MesosLibrary {
    let vars = inputs.vars;
    let variable = vars.mesos_native_java_library.as_ref();
    if let Some(var) = variable.or(vars.mesos_native_library.as_ref()) {
        let path = Path::new(&var.value);
        let state = if path.is_absolute() {
            file_state(path)
        } else {
            FileState::NotAbsolute
        };
        return MesosLibrary::Variable {
            path: path.display().to_string(),
            source: var.source.clone(),
            state,
        };
    }
    let dirs = search_path(inputs);
    let found = dirs.iter().position(|dir| {
        let folder = inputs.working_dir.join(&dir.value);
        folder.join(LIBRARY_FILE).is_file()
    });
    let replaced_by = vars.submit_opts.as_ref().and_then(|opts| {
        let set = opts
            .value
            .split_whitespace()
            .any(|o| o.starts_with(JAVA_LIBRARY_PATH));
        set.then(|| opts.source.clone())
    });
    MesosLibrary::Searched {
        dirs: dirs
            .into_iter()
            .map(|dir| dir.map(|d| d.display().to_string()))
            .collect(),
        found,
        replaced_by,
    }
}

/// The folders `System.loadLibrary` searches, in order, with where each comes from.
fn search_path(inputs: &Inputs<'_>) -> Vec<Sourced<PathBuf>> {
    let jdk = Jdk::of(inputs.java);
    let mut dirs = Vec::new();
    if let Some(boot) = jdk.boot {
        let source = "the JDK's own libraries (sun.boot.library.path), searched first";
        dirs.push(Sourced::new(boot, source));
    }
    let ld = driver_ld_library_path(
        inputs.vars.ld_library_path.as_ref(),
        inputs.extra_library_path,
    );
    dirs.extend(ld.unwrap_or_default());
    let default = jdk.default_path;
    dirs.extend((default.value.into_iter()).map(|dir| Sourced::new(dir, default.source.clone())));
    dirs
}

/// The driver JVM's `LD_LIBRARY_PATH` entries, `None` when it is unset: the container's, with
/// `spark.driver.extraLibraryPath` appended by spark-submit's launcher when that is not empty
/// (an empty `LD_LIBRARY_PATH` then drops out: `firstNonEmpty`).
pub fn driver_ld_library_path(
    ld: Option<&Sourced<std::ffi::OsString>>,
    extra: Option<&Sourced<String>>,
) -> Option<Vec<Sourced<PathBuf>>> {
    let Some(extra) = extra.filter(|e| !e.value.is_empty()) else {
        return ld.map(|ld| entries(ld.value.as_bytes(), &ld.source));
    };
    let mut all = match ld.filter(|ld| !ld.value.is_empty()) {
        Some(ld) => entries(ld.value.as_bytes(), &ld.source),
        None => Vec::new(),
    };
    let source = format!(
        "{} {}, appended to LD_LIBRARY_PATH by spark-submit",
        extra.source,
        crate::spark::submit::LIBRARY_PATH
    );
    all.extend(entries(extra.value.as_bytes(), &source));
    Some(all)
}

/// A path list's entries; an empty one is the working directory (`ClassLoaderHelper.parsePath`).
fn entries(list: &[u8], source: &str) -> Vec<Sourced<PathBuf>> {
    list.split(|&b| b == b':')
        .map(|entry| match entry {
            [] => Sourced::new(
                PathBuf::from("."),
                format!("{source} (an empty entry: the working directory)"),
            ),
            _ => Sourced::new(PathBuf::from(OsStr::from_bytes(entry)), source),
        })
        .collect()
}

/// What the JDK adds to the search: its own library folder and its built-in default path.
struct Jdk {
    boot: Option<PathBuf>,
    default_path: Sourced<Vec<PathBuf>>,
}

impl Jdk {
    /// The JDK of `java` (through the `/usr/bin/java` → `/etc/alternatives` links).
    fn of(java: &Path) -> Jdk {
        let real = std::fs::canonicalize(java).unwrap_or_else(|_| java.to_path_buf());
        let libjvm = real.parent().and_then(Path::parent).and_then(find_libjvm);
        let read = libjvm
            .as_deref()
            .and_then(|libjvm| Some((libjvm, default_library_path(libjvm)?)));
        match read {
            Some((libjvm, default)) => Jdk {
                // lib/server/libjvm.so → lib (JDK 9+); jre/lib/amd64/server → jre/lib/amd64 (8).
                boot: libjvm
                    .parent()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf),
                default_path: Sourced::new(
                    default,
                    format!(
                        "the JDK's default java.library.path (in {})",
                        libjvm.display()
                    ),
                ),
            },
            None => Jdk {
                boot: None,
                default_path: Sourced::new(
                    known_default_paths(),
                    format!(
                        "the default java.library.path of OpenJDK builds (the JDK of {} has no \
                         libjvm.so that says its own)",
                        java.display()
                    ),
                ),
            },
        }
    }
}

/// `libjvm.so` under a Java home: `lib/server` (JDK 9+), `jre/lib/<arch>/server` (JDK 8), or
/// `lib/<arch>/server` (a Java 8 JRE); `client` VMs likewise.
fn find_libjvm(home: &Path) -> Option<PathBuf> {
    let mut folders = vec![home.join("lib")];
    for base in [home.join("jre/lib"), home.join("lib")] {
        let mut arches: Vec<PathBuf> = std::fs::read_dir(&base)
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        arches.sort();
        folders.extend(arches);
    }
    folders.iter().find_map(|folder| {
        ["server", "client"]
            .iter()
            .map(|vm| folder.join(vm).join("libjvm.so"))
            .find(|libjvm| libjvm.is_file())
    })
}

/// HotSpot's format of `java.library.path`, whose tail is the built-in default path.
const DEFAULT_PATH_FORMAT: &[u8] = b"%s%s/usr/java/packages/lib";

/// The default path in `libjvm.so`'s literal `"%s%s/usr/java/packages/lib:<default>"`; JDK 8
/// writes `/usr/java/packages/lib/%s` with the CPU architecture, which is the folder name
/// between `lib/` and `/server` there.
pub fn default_library_path(libjvm: &Path) -> Option<Vec<PathBuf>> {
    let file = File::open(libjvm).ok()?;
    let literal = find_c_string(file, DEFAULT_PATH_FORMAT)?;
    let list = String::from_utf8_lossy(&literal["%s%s".len()..]).into_owned();
    let arch = libjvm
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .map(|a| a.to_string_lossy().into_owned());
    let dirs = list
        .split(':')
        .filter_map(|dir| match (dir.contains("%s"), &arch) {
            (false, _) => Some(PathBuf::from(dir)),
            (true, Some(arch)) => Some(PathBuf::from(dir.replace("%s", arch))),
            (true, None) => None,
        })
        .collect();
    Some(dirs)
}

/// The NUL-terminated string that starts with `prefix` in `reader`, read in 64 KiB pieces
/// (`libjvm.so` is about 20 MB; PID 1 does not hold it whole).
pub(crate) fn find_c_string(mut reader: impl Read, prefix: &[u8]) -> Option<Vec<u8>> {
    const LONGEST: usize = 4096;
    let mut piece = vec![0; 64 * 1024];
    let mut window: Vec<u8> = Vec::new();
    let mut found: Option<Vec<u8>> = None;
    loop {
        let n = reader.read(&mut piece).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(text) = found.as_mut() {
            text.extend_from_slice(&piece[..n]);
        } else {
            window.extend_from_slice(&piece[..n]);
            if let Some(at) = position(&window, prefix) {
                found = Some(window.split_off(at));
            } else {
                // Keep what could be the start of `prefix` cut by the piece's end.
                window.drain(..window.len().saturating_sub(prefix.len() - 1));
            }
        }
        if let Some(text) = &found {
            if let Some(end) = text.iter().position(|&b| b == 0) {
                return Some(text[..end].to_vec());
            }
            if text.len() > LONGEST {
                return None;
            }
        }
    }
}

fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = haystack[from..].iter().position(|&b| b == needle[0]) {
        let at = from + i;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// When the JDK's own default cannot be read: the defaults of upstream OpenJDK
/// (`/usr/lib64:/lib64:/lib:/usr/lib`) and of Debian's and Ubuntu's builds (the multiarch
/// folders), so that a library in any of them is not taken for missing.
fn known_default_paths() -> Vec<PathBuf> {
    let triplet = format!("{}-linux-gnu", std::env::consts::ARCH);
    [
        "/usr/java/packages/lib".to_string(),
        format!("/usr/lib/{triplet}/jni"),
        format!("/lib/{triplet}"),
        format!("/usr/lib/{triplet}"),
        "/usr/lib/jni".into(),
        "/usr/lib64".into(),
        "/lib64".into(),
        "/lib".into(),
        "/usr/lib".into(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    /// A folder tree: each path ending in `/` is a folder, anything else an empty file.
    fn tree(paths: &[&str]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for path in paths {
            let full = root.path().join(path);
            if path.ends_with('/') {
                std::fs::create_dir_all(&full).unwrap();
            } else {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(&full, b"").unwrap();
            }
        }
        root
    }

    fn var(name: &str, value: &str) -> Option<Sourced<OsString>> {
        Some(Sourced::new(value.into(), name))
    }

    /// What is found with these variables, a JDK at `java` and the working directory `cwd`.
    fn look(vars: NativeLibraryVars, extra: Option<&str>, java: &Path, cwd: &Path) -> MesosLibrary {
        let extra =
            extra.map(|e| Sourced::new(e.to_string(), "the app's args (--driver-library-path)"));
        discover(&Inputs {
            vars: &vars,
            extra_library_path: extra.as_ref(),
            java,
            working_dir: cwd,
        })
    }

    /// The folder `found` points at, relative to `root` when under it.
    fn found_in(library: &MesosLibrary, root: &Path) -> Option<String> {
        let MesosLibrary::Searched { dirs, found, .. } = library else {
            panic!("not searched: {library:?}");
        };
        found.map(|at| {
            let dir = &dirs[at].value;
            dir.strip_prefix(&format!("{}/", root.display()))
                .unwrap_or(dir)
                .to_string()
        })
    }

    #[test]
    fn a_variable_names_the_file_and_must_be_an_absolute_path_to_one() {
        let root = tree(&["lib/libmesos.so", "dir/"]);
        let at = |rel: &str| root.path().join(rel).display().to_string();
        let java = Path::new("/nonexistent/bin/java");
        let state = |vars: NativeLibraryVars| match look(vars, None, java, root.path()) {
            MesosLibrary::Variable { state, source, .. } => (state, source),
            other => panic!("{other:?}"),
        };
        let java_library = |value: &str| NativeLibraryVars {
            mesos_native_java_library: var("MESOS_NATIVE_JAVA_LIBRARY", value),
            ..NativeLibraryVars::default()
        };
        let file = || FileState::File;
        assert_eq!(state(java_library(&at("lib/libmesos.so"))).0, file());
        assert_eq!(
            state(java_library(&at("lib/nope.so"))).0,
            FileState::Missing
        );
        assert_eq!(state(java_library(&at("dir"))).0, FileState::NotAFile);
        // System.load refuses a relative path, and an empty one, even where it exists.
        assert_eq!(
            state(java_library("lib/libmesos.so")).0,
            FileState::NotAbsolute
        );
        assert_eq!(state(java_library("")).0, FileState::NotAbsolute);
        // The deprecated name counts only without the new one.
        let both = NativeLibraryVars {
            mesos_native_library: var("MESOS_NATIVE_LIBRARY", &at("lib/nope.so")),
            ..java_library(&at("lib/libmesos.so"))
        };
        assert_eq!(state(both).1, "MESOS_NATIVE_JAVA_LIBRARY");
        let old = NativeLibraryVars {
            mesos_native_library: var("MESOS_NATIVE_LIBRARY", &at("lib/libmesos.so")),
            ..NativeLibraryVars::default()
        };
        assert_eq!(state(old), (file(), "MESOS_NATIVE_LIBRARY".into()));
    }

    /// The search as the real JVM made it (checked with Java 17 here, and by the oracle test in
    /// entrypoint-tests/tests/java_oracle.rs): LD_LIBRARY_PATH's folders in order, an empty
    /// entry (or an empty LD_LIBRARY_PATH) the working directory, only `libmesos.so`.
    #[test]
    fn loadlibrary_searches_ld_library_path_then_the_extra_path_for_libmesos_so_only() {
        let root = tree(&[
            "a/libmesos-1.4.3.so",
            "b/libmesos.so",
            "c/libmesos.so",
            "cwd/libmesos.so",
            "empty/",
        ]);
        let (r, java) = (root.path(), Path::new("/nonexistent/bin/java"));
        let cwd = r.join("cwd");
        let ld = |value: &str| NativeLibraryVars {
            ld_library_path: var("LD_LIBRARY_PATH", value),
            ..NativeLibraryVars::default()
        };
        let dirs = |names: &[&str]| {
            let full: Vec<String> = names
                .iter()
                .map(|n| r.join(n).display().to_string())
                .collect();
            full.join(":")
        };
        let find =
            |vars, extra: Option<&str>, cwd: &Path| found_in(&look(vars, extra, java, cwd), r);
        assert_eq!(
            find(ld(&dirs(&["a", "b", "c"])), None, &cwd).as_deref(),
            Some("b")
        );
        assert_eq!(
            find(ld(&dirs(&["a"])), None, r).as_deref(),
            None,
            "versioned only"
        );
        assert_eq!(
            find(
                ld(&format!("{}::{}", dirs(&["a"]), dirs(&["c"]))),
                None,
                &cwd
            )
            .as_deref(),
            Some(".")
        );
        assert_eq!(find(ld(""), None, &cwd).as_deref(), Some("."));
        assert_eq!(
            find(ld("b"), None, r).as_deref(),
            Some("b"),
            "relative to the working dir"
        );
        assert_eq!(find(NativeLibraryVars::default(), None, &cwd), None);
        // spark.driver.extraLibraryPath comes after LD_LIBRARY_PATH ...
        let extra = dirs(&["c"]);
        assert_eq!(
            find(ld(&dirs(&["b"])), Some(&extra), &cwd).as_deref(),
            Some("b")
        );
        assert_eq!(
            find(ld(&dirs(&["empty"])), Some(&extra), &cwd).as_deref(),
            Some("c")
        );
        // ... and an empty LD_LIBRARY_PATH is dropped, not the working directory, then.
        assert_eq!(find(ld(""), Some(&extra), &cwd).as_deref(), Some("c"));
        let MesosLibrary::Searched { dirs, .. } = look(ld(""), Some(&extra), java, &cwd) else {
            panic!()
        };
        assert_eq!(
            dirs[0].source,
            "the app's args (--driver-library-path) spark.driver.extraLibraryPath, appended to \
             LD_LIBRARY_PATH by spark-submit"
        );
    }

    /// A fake JDK: `java` and a `libjvm.so` holding HotSpot's java.library.path format.
    fn jdk(libjvm_at: &str, format: &str) -> tempfile::TempDir {
        let home = tree(&["bin/java"]);
        let libjvm = home.path().join(libjvm_at);
        std::fs::create_dir_all(libjvm.parent().unwrap()).unwrap();
        let mut bytes = vec![0x7f, b'E', b'L', b'F', 0, b'%', b's', 0];
        bytes.extend(std::iter::repeat(0xAB).take(70_000));
        bytes.extend_from_slice(format.as_bytes());
        bytes.extend_from_slice(b"\0%s/lib/ext\0");
        std::fs::write(libjvm, bytes).unwrap();
        home
    }

    #[test]
    fn the_jdks_own_folder_and_default_path_come_from_its_libjvm() {
        let home = jdk(
            "lib/server/libjvm.so",
            "%s%s/usr/java/packages/lib:/opt/debian/jni:/lib",
        );
        let found = look(
            NativeLibraryVars::default(),
            None,
            &home.path().join("bin/java"),
            Path::new("/"),
        );
        let MesosLibrary::Searched { dirs, found, .. } = found else {
            panic!("{found:?}")
        };
        let folders: Vec<&str> = dirs.iter().map(|d| d.value.as_str()).collect();
        let lib = home.path().join("lib").display().to_string();
        assert_eq!(
            folders,
            [
                lib.as_str(),
                "/usr/java/packages/lib",
                "/opt/debian/jni",
                "/lib"
            ]
        );
        assert!(
            dirs[1].source.contains("lib/server/libjvm.so"),
            "{}",
            dirs[1].source
        );
        assert_eq!(found, None);

        // JDK 8: the CPU architecture in the path, taken from the folder libjvm.so is in.
        let home = jdk(
            "jre/lib/amd64/server/libjvm.so",
            "%s%s/usr/java/packages/lib/%s:/usr/lib64:/lib64:/lib:/usr/lib",
        );
        let libjvm = home.path().join("jre/lib/amd64/server/libjvm.so");
        assert_eq!(find_libjvm(home.path()), Some(libjvm.clone()));
        assert_eq!(
            default_library_path(&libjvm).unwrap(),
            [
                "/usr/java/packages/lib/amd64",
                "/usr/lib64",
                "/lib64",
                "/lib",
                "/usr/lib"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn without_a_libjvm_the_known_defaults_are_searched() {
        let home = tree(&["bin/java"]);
        let MesosLibrary::Searched { dirs, .. } = look(
            NativeLibraryVars::default(),
            None,
            &home.path().join("bin/java"),
            Path::new("/"),
        ) else {
            panic!()
        };
        let folders: Vec<&str> = dirs.iter().map(|d| d.value.as_str()).collect();
        for debian_and_upstream in ["/usr/lib/x86_64-linux-gnu/jni", "/usr/lib64", "/usr/lib"] {
            assert!(folders.contains(&debian_and_upstream), "{folders:?}");
        }
        assert!(
            dirs[0].source.contains("has no libjvm.so"),
            "{}",
            dirs[0].source
        );
    }

    /// The literal is found wherever the 64 KiB pieces cut it.
    #[test]
    fn a_c_string_is_found_across_the_pieces_it_is_read_in() {
        let literal = b"%s%s/usr/java/packages/lib:/x";
        for at in [0, 1, 65_530, 65_536 - literal.len(), 65_535, 131_000] {
            let mut bytes = vec![b'%'; at];
            bytes.extend_from_slice(literal);
            bytes.push(0);
            bytes.extend_from_slice(b"tail");
            let found = find_c_string(&bytes[..], DEFAULT_PATH_FORMAT);
            assert_eq!(found.as_deref(), Some(&literal[..]), "at {at}");
        }
        assert_eq!(
            find_c_string(&b"%s%s/usr/java/packages/li"[..], DEFAULT_PATH_FORMAT),
            None
        );
        let unterminated = [DEFAULT_PATH_FORMAT, &[b'x'; 5000]].concat();
        assert_eq!(find_c_string(&unterminated[..], DEFAULT_PATH_FORMAT), None);
    }

    #[test]
    fn a_submit_opts_java_library_path_is_reported() {
        let vars = NativeLibraryVars {
            submit_opts: Some(Sourced::new(
                "-Xss4m -Djava.library.path=/opt/native".to_string(),
                "SPARK_SUBMIT_OPTS",
            )),
            ..NativeLibraryVars::default()
        };
        let java = Path::new("/nonexistent/bin/java");
        let MesosLibrary::Searched { replaced_by, .. } = look(vars, None, java, Path::new("/"))
        else {
            panic!()
        };
        assert_eq!(replaced_by.as_deref(), Some("SPARK_SUBMIT_OPTS"));
    }
}
