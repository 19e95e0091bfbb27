//! What a driver needs in the image before it starts, looked at where Spark will look: the
//! application resource when it is a file in the container (a `local:` or `file:` URL, or a
//! path without a scheme), and, for a `mesos://` master, Mesos' native library
//! ([`super::mesos_library`]). The plan decides what is missing.

use std::path::Path;

use serde::Serialize;

use crate::config::role::{NativeLibraryVars, RoleConfig};
use crate::config::{spark_env, EnvSnapshot};
use crate::facts::mesos_library::{self, MesosLibrary};
use crate::facts::LocalFacts;
use crate::sourced::Sourced;
use crate::spark::submit::{is_mesos_master, ResourceLocation, LIBRARY_PATH};

/// What is at a path that must be a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FileState {
    File,
    Missing,
    /// A folder, or another kind of file.
    NotAFile,
    /// It could not be looked at (permissions, a file where a folder should be): why.
    Unreadable(String),
    /// A path that must be absolute is not (the JVM's `System.load`).
    NotAbsolute,
}

/// What is at `path` (symbolic links followed).
pub fn file_state(path: &Path) -> FileState {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => FileState::File,
        Ok(_) => FileState::NotAFile,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileState::Missing,
        Err(e) => FileState::Unreadable(e.to_string()),
    }
}

/// A file the driver needs: the path looked at (relative ones from the working directory)
/// and what is there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalFile {
    pub path: String,
    pub state: FileState,
}

/// The driver's prerequisites in the image (empty for an executor).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Prerequisites {
    /// The application resource, when spark-submit reads it from this container.
    pub application: Option<LocalFile>,
    /// Mesos' native library, for a `mesos://` master only.
    pub mesos_library: Option<MesosLibrary>,
}

/// Looks at the driver's application resource and, on Mesos, for its native library. `env`
/// is the environment spark-submit gets (it loads spark-env.sh itself, so that is applied
/// here for the library's variables).
pub fn discover(role: &RoleConfig, local: &LocalFacts, env: &EnvSnapshot) -> Prerequisites {
    let working_dir = local.working_dir.as_deref().unwrap_or(Path::new("."));
    let application = match role.submit.resource_location() {
        ResourceLocation::Local(path) => {
            let path = working_dir.join(path);
            Some(LocalFile {
                path: path.display().to_string(),
                state: file_state(&path),
            })
        }
        _ => None,
    };
    // As spark-submit: --master, else --conf spark.master, else the properties file's.
    let submit = &role.submit;
    let master = (submit.master.as_deref())
        .or_else(|| submit.conf.get("spark.master").map(String::as_str))
        .or_else(|| local.defaults.get("spark.master"));
    // Spark 4 has no Mesos backend: such a master is refused as such, libmesos is not needed.
    let mesos = !local.spark.version.value.at_least(4, 0);
    let mesos_library = master.filter(|m| mesos && is_mesos_master(m)).map(|_| {
        let vars = match spark_submit_vars(role, env) {
            Ok(vars) => vars,
            Err(why) => return MesosLibrary::Unknown(why),
        };
        let extra = role.submit.library_path.clone().or_else(|| {
            let defaults = &local.defaults;
            (defaults.get(LIBRARY_PATH))
                .map(|v| Sourced::new(v.to_string(), defaults.source(LIBRARY_PATH)))
        });
        mesos_library::discover(&mesos_library::Inputs {
            vars: &vars,
            extra_library_path: extra.as_ref(),
            java: &local.java.java.value,
            working_dir,
        })
    });
    Prerequisites {
        application,
        mesos_library,
    }
}

/// The native-library variables as spark-submit's JVMs get them: what spark-env.sh sets
/// (`bin/load-spark-env.sh`, run by spark-submit) over the container's. A script that fails
/// here leaves them unknown.
fn spark_submit_vars(role: &RoleConfig, env: &EnvSnapshot) -> Result<NativeLibraryVars, String> {
    let given = &role.native_library;
    let script = spark_env::script(env);
    let loaded = spark_env::load(env.clone()).map_err(|problem| problem.to_string())?;
    let set_by = NativeLibraryVars::read(&loaded, &format!(" (set by {})", script.display()));
    Ok(NativeLibraryVars {
        mesos_native_java_library: pick(
            &given.mesos_native_java_library,
            &set_by.mesos_native_java_library,
        ),
        mesos_native_library: pick(&given.mesos_native_library, &set_by.mesos_native_library),
        ld_library_path: pick(&given.ld_library_path, &set_by.ld_library_path),
        submit_opts: pick(&given.submit_opts, &set_by.submit_opts),
    })
}

/// The variable as given when spark-env.sh left it as it was, else as the script set it.
fn pick<T: Clone + PartialEq>(
    given: &Option<Sourced<T>>,
    loaded: &Option<Sourced<T>>,
) -> Option<Sourced<T>> {
    match (given, loaded) {
        (Some(g), Some(l)) if g.value == l.value => given.clone(),
        _ => loaded.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cli::Role;
    use std::ffi::OsString;

    fn env_with_script(script: &str, more: &[(&str, &str)]) -> (tempfile::TempDir, EnvSnapshot) {
        let conf = tempfile::tempdir().unwrap();
        std::fs::write(conf.path().join("spark-env.sh"), script).unwrap();
        let mut vars: Vec<(OsString, OsString)> = vec![
            ("SPARK_CONF_DIR".into(), conf.path().into()),
            ("PATH".into(), "/usr/bin:/bin".into()),
        ];
        vars.extend(more.iter().map(|(k, v)| (k.into(), v.into())));
        (conf, EnvSnapshot::new(vars))
    }

    fn vars(env: &EnvSnapshot) -> Result<NativeLibraryVars, String> {
        let role = RoleConfig::read(
            env,
            Role::Driver,
            &[],
            "/sys/fs/cgroup".into(),
            &mut Vec::new(),
        );
        spark_submit_vars(&role, env)
    }

    /// Spark's Mesos guide puts MESOS_NATIVE_JAVA_LIBRARY in spark-env.sh, which spark-submit
    /// loads: what it sets counts, and says where it came from.
    #[test]
    fn what_spark_env_sh_sets_is_what_the_driver_sees() {
        let script = "MESOS_NATIVE_JAVA_LIBRARY=/usr/local/lib/libmesos.so\n";
        let (conf, env) = env_with_script(script, &[("LD_LIBRARY_PATH", "/opt/lib")]);
        let seen = vars(&env).unwrap();
        let java_library = seen.mesos_native_java_library.unwrap();
        assert_eq!(java_library.value, "/usr/local/lib/libmesos.so");
        assert_eq!(
            java_library.source,
            format!(
                "MESOS_NATIVE_JAVA_LIBRARY (set by {}/spark-env.sh)",
                conf.path().display()
            )
        );
        let ld = seen.ld_library_path.unwrap();
        assert_eq!(
            (ld.value.to_str(), ld.source.as_str()),
            (Some("/opt/lib"), "LD_LIBRARY_PATH")
        );
    }

    #[test]
    fn a_failing_spark_env_sh_leaves_the_library_unknown() {
        let (_conf, env) = env_with_script("exit 3\n", &[]);
        let why = vars(&env).unwrap_err();
        assert!(why.contains("spark-env.sh"), "{why}");
    }
}
