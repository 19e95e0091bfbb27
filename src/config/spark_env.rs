//! `$SPARK_CONF_DIR/spark-env.sh`, loaded for executors as `spark-class` loads it for every JVM
//! it starts (`bin/load-spark-env.sh`: `set -a; . spark-env.sh; set +a`, once, guarded by
//! `SPARK_ENV_LOADED`). It runs in `/bin/sh` in a child process; the variables it sets or
//! changes join the environment before anything is parsed, and reach the JVM. (A driver's
//! spark-submit loads it itself.)

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::config::role::DEFAULT_SPARK_HOME;
use crate::config::{EnvSnapshot, Problem};
use crate::facts::child::{run_bounded, Ran};

/// How long spark-env.sh may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Where spark-class would find it: `$SPARK_CONF_DIR`, else `$SPARK_HOME/conf`.
pub fn script(env: &EnvSnapshot) -> PathBuf {
    match env.get("SPARK_CONF_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Path::new(dir).join("spark-env.sh"),
        None => {
            let home = env.get("SPARK_HOME").filter(|v| !v.is_empty());
            let home = home.map_or_else(|| PathBuf::from(DEFAULT_SPARK_HOME), PathBuf::from);
            home.join("conf/spark-env.sh")
        }
    }
}

/// The environment with what spark-env.sh sets, or the environment as it is when there is no
/// script (or it was loaded already).
pub fn load(env: EnvSnapshot) -> Result<EnvSnapshot, Problem> {
    if env.get("SPARK_ENV_LOADED").is_some_and(|v| !v.is_empty()) {
        return Ok(env);
    }
    let path = script(&env);
    if !path.is_file() {
        return Ok(env);
    }
    let fail = |why: String| {
        Problem::new(
            "SPARK_CONF_DIR",
            Some(&path.display().to_string()),
            format!(
                "{} {why}; fix the script, as spark-class would fail on it too",
                path.display()
            ),
        )
    };
    let ran = run(&env, &path).map_err(&fail)?;
    if let Some(why) = ran.failure() {
        return Err(fail(why));
    }
    let out = ran.stdout;
    let mut vars: Vec<(OsString, OsString)> = env.vars().to_vec();
    for entry in out.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        let Some(eq) = entry.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (name, value) = (&entry[..eq], &entry[eq + 1..]);
        let known = env.get_bytes(name);
        if known != Some(value) && !matches!(name, b"PWD" | b"SHLVL" | b"_" | b"OLDPWD") {
            vars.push((
                OsString::from_vec(name.to_vec()),
                OsString::from_vec(value.to_vec()),
            ));
        }
    }
    vars.push(("SPARK_ENV_LOADED".into(), "1".into()));
    Ok(EnvSnapshot::new(vars))
}

/// `sh -c 'set -a; . <script>; env -0'` with the snapshot's environment, bounded.
fn run(env: &EnvSnapshot, path: &Path) -> Result<Ran, String> {
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", "set -a; . \"$1\" && env -0", "spark-env.sh"])
        .arg(path)
        .env_clear()
        .envs(env.vars().iter().map(|(k, v)| (k, v)));
    run_bounded(command, TIMEOUT)
}

impl EnvSnapshot {
    /// A variable's value as bytes, by a name given as bytes.
    fn get_bytes(&self, name: &[u8]) -> Option<&[u8]> {
        self.vars()
            .iter()
            .rev()
            .find(|(k, _)| k.as_bytes() == name)
            .map(|(_, v)| v.as_bytes())
    }
}
