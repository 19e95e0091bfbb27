//! The termination summary: the exit's facts as one JSON object in a file, where Marathon's
//! task view (the Mesos sandbox) and log shippers find it. Written whole or not at all (a
//! temporary file beside it, then `rename`), so a reader never sees half of one; a failure is
//! a warning, never a reason to change the exit.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::supervise::exit::ExitReport;

/// Where the summary goes and for which role, once the configuration is known, so that a
/// run that ends before its command starts (64, 69, 70, 78, a stop while resolving) still
/// leaves its summary instead of the previous run's.
static DESTINATION: std::sync::OnceLock<(PathBuf, String)> = std::sync::OnceLock::new();
/// Whether this run wrote its summary already (a command that could not be started did).
static WRITTEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn remember(path: &Path, role: &str) {
    let _ = DESTINATION.set((path.to_path_buf(), role.to_string()));
}

/// The summary of a run that ended before its command started: `error` as spark-init logged
/// it, and the code it exits with.
pub fn not_started(error: &str, code: i32) {
    let Some((path, role)) = DESTINATION.get() else {
        return;
    };
    if WRITTEN.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut report = crate::supervise::exit::not_run::report("the command", error, code, role);
    report.summary = format!("command not started: {error}");
    report.not_run = Some(error.to_string());
    write(path, &report);
}

/// Writes `report` to `path`, replacing what a previous run left there.
pub fn write(path: &Path, report: &ExitReport) {
    WRITTEN.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Err(error) = try_write(path, report) {
        tracing::warn!(
            path = %path.display(),
            %error,
            "cannot write the termination summary (SPARK_INIT_TERMINATION_LOG)"
        );
    }
}

fn try_write(path: &Path, report: &ExitReport) -> std::io::Result<()> {
    let mut json = serde_json::to_vec(report)?;
    json.push(b'\n');
    let temporary = temporary_beside(path);
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(&json)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    renamed
}

/// `.<name>.<pid>.tmp` in the same folder, so that `rename` stays on one file system.
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or("termination".into(), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::exit::not_run;

    #[test]
    fn writes_one_object_and_replaces_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spark-init-termination.json");
        std::fs::write(&path, "old").unwrap();
        let report = not_run::report("jav", "not found on PATH (/bin)", 127, "exec");
        write(&path, &report);
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["code"], 127);
        assert_eq!(json["not_run"], "jav: not found on PATH (/bin)");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_folder_that_is_not_there_is_only_a_warning() {
        let report = not_run::report("jav", "x", 127, "exec");
        write(Path::new("/no/such/folder/summary.json"), &report);
    }
}
