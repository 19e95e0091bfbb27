//! A command that could not be started (126, 127): what could not be run, and why, in terms
//! an operator can act on rather than the bare `execve` error.

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::supervise::exit::ExitReport;

/// Why `program` could not be started, from the `execve` error and a look at the file.
/// `path` is the `PATH` the command got (a bare name is looked up there).
pub fn why(program: &OsStr, error: &io::Error, path: Option<&OsStr>) -> String {
    let shown = Path::new(program);
    let bare = !program.to_string_lossy().contains('/');
    match error.kind() {
        io::ErrorKind::NotFound if bare => format!(
            "not found on PATH ({})",
            path.map_or("unset".into(), |p| p.to_string_lossy())
        ),
        io::ErrorKind::NotFound => match interpreter(shown) {
            // execve says ENOENT for a script whose #! interpreter is missing.
            Some(interpreter) if shown.is_file() => {
                format!("its interpreter {interpreter} (the #! line) does not exist")
            }
            _ => "no such file".to_string(),
        },
        _ if error.raw_os_error() == Some(libc::EACCES) => permission_denied(shown),
        _ if error.raw_os_error() == Some(libc::ENOEXEC) => {
            "not a format the kernel can run (a script without a #! line, or a binary for \
             another architecture)"
                .to_string()
        }
        _ => error.to_string(),
    }
}

/// EACCES: a directory, a file without an execute bit, or a mount or folder in the way.
fn permission_denied(program: &Path) -> String {
    match std::fs::metadata(program) {
        Ok(meta) if meta.is_dir() => "it is a directory".to_string(),
        Ok(meta) if meta.permissions().mode() & 0o111 == 0 => format!(
            "not executable (mode {:04o}): chmod +x it in the image",
            meta.permissions().mode() & 0o7777
        ),
        _ => "permission denied (a noexec mount, or a folder on the way the user cannot search)"
            .to_string(),
    }
}

/// The interpreter a script's `#!` line names.
fn interpreter(script: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = String::from_utf8_lossy(&head[..n]);
    let rest = line.strip_prefix("#!")?;
    let first = rest.split('\n').next()?;
    let interpreter = first.split([' ', '\t']).find(|w| !w.is_empty())?;
    // A CRLF file: the kernel looks for `/bin/sh\r`, which is not there.
    Some(match interpreter.strip_suffix('\r') {
        Some(name) => format!("{name}\\r (the file has CRLF line endings: convert it to LF)"),
        None => interpreter.to_string(),
    })
}

/// The report for a command that never ran.
pub fn report(program: &str, why: &str, code: i32, role: &str) -> ExitReport {
    ExitReport {
        summary: format!("command not started: cannot run {program:?}: {why}"),
        abnormal: true,
        role: role.to_string(),
        pid: None,
        code,
        exit_code: code,
        signal: None,
        signal_name: None,
        core_dumped: None,
        signal_sender: None,
        oom_kills: None,
        memory_limit_bytes: None,
        memory_peak_bytes: None,
        heap_mib: None,
        memory_overhead_mib: None,
        spark_version: None,
        spark_exit_code_name: None,
        hs_err_file: None,
        hs_err_problem: None,
        hs_err_frame: None,
        not_run: Some(format!("{program}: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn spawn_error(program: &Path) -> io::Error {
        Command::new(program).spawn().unwrap_err()
    }

    #[test]
    fn a_bare_name_is_looked_up_on_path() {
        let error = io::Error::from(io::ErrorKind::NotFound);
        let why = why(OsStr::new("jav"), &error, Some(OsStr::new("/usr/bin:/bin")));
        assert_eq!(why, "not found on PATH (/usr/bin:/bin)");
    }

    #[test]
    fn a_script_whose_interpreter_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "#!/no/such/bash -e\necho hi\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = spawn_error(&script);
        assert_eq!(
            why(script.as_os_str(), &error, None),
            "its interpreter /no/such/bash (the #! line) does not exist"
        );
        let missing = dir.path().join("missing");
        let error = spawn_error(&missing);
        assert_eq!(why(missing.as_os_str(), &error, None), "no such file");
        // Review finding: a CRLF script was told its /bin/sh does not exist.
        let crlf = dir.path().join("crlf.sh");
        std::fs::write(&crlf, "#!/bin/sh\r\necho hi\r\n").unwrap();
        std::fs::set_permissions(&crlf, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = spawn_error(&crlf);
        assert_eq!(
            why(crlf.as_os_str(), &error, None),
            "its interpreter /bin/sh\\r (the file has CRLF line endings: convert it to LF) (the \
             #! line) does not exist"
        );
    }

    #[test]
    fn a_file_without_an_execute_bit_or_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = spawn_error(&script);
        assert_eq!(
            why(script.as_os_str(), &error, None),
            "not executable (mode 0644): chmod +x it in the image"
        );
        let error = spawn_error(dir.path());
        assert_eq!(
            why(dir.path().as_os_str(), &error, None),
            "it is a directory"
        );
    }

    #[test]
    fn the_report_says_what_and_why() {
        let report = report("jav", "not found on PATH (/bin)", 127, "exec");
        assert_eq!(
            report.summary,
            "command not started: cannot run \"jav\": not found on PATH (/bin)"
        );
        assert!(report.abnormal);
        assert_eq!(
            report.not_run.as_deref(),
            Some("jav: not found on PATH (/bin)")
        );
    }
}
