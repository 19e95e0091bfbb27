//! Running a lookup in a short-lived child process: the HTTP and ZooKeeper clients bring
//! threads and megabytes, and PID 1 must stay single-threaded and small while it supervises.
//! The child's threads and memory go away with it; its answer comes back serialised.

use std::io::{Read, Seek, Write};
use std::os::fd::FromRawFd;

use serde::{Deserialize, Serialize};

use crate::supervise::signals::{self, SignalSet, Wake};

/// Why the child did not deliver.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("stopped by signal {0} while looking things up")]
    Interrupted(i32),
    #[error("the lookup process failed: {0}")]
    Failed(String),
}

/// Runs `f` in a forked child and returns its result. PID 1 stays single-threaded: the
/// child's threads and memory go away with it. A stop request (TERM or INT) kills the child
/// and ends the wait. Every other signal is left pending, blocked, for the supervisor to
/// forward once the command exists: an operator's HUP, QUIT, USR1 or WINCH sent while an
/// executor waits for its driver is meant for the JVM. The result travels through an
/// anonymous memory file, so its size cannot block the child.
pub fn in_child<T, F>(blocked: &SignalSet, f: F) -> Result<T, ChildError>
where
    T: Serialize + for<'de> Deserialize<'de>,
    F: FnOnce() -> T,
{
    let mut file = memory_file(c"spark-init-lookup")
        .map_err(|e| ChildError::Failed(format!("memfd_create: {e}")))?;
    // SAFETY: this process is single-threaded here (main has started no thread), so the child
    // may run ordinary code after fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(ChildError::Failed(format!(
            "fork: {}",
            std::io::Error::last_os_error()
        )));
    }
    if pid == 0 {
        // PID 1 blocks the signals libc keeps for itself; the lookup's threads need them.
        signals::raw_set_mask(
            libc::SIG_UNBLOCK,
            SignalSet::of(signals::LIBC_RESERVED).bits(),
        );
        let result = f();
        let code = match serde_json::to_vec(&result)
            .map_err(|e| e.to_string())
            .and_then(|bytes| file.write_all(&bytes).map_err(|e| e.to_string()))
        {
            Ok(()) => 0,
            Err(_) => 1,
        };
        // SAFETY: leave at once, without running the parent's exit handlers twice.
        unsafe { libc::_exit(code) };
    }
    let taken = blocked.and(SignalSet::of([libc::SIGCHLD, libc::SIGTERM, libc::SIGINT]));
    loop {
        match signals::wait(taken, None) {
            Wake::Signal(libc::SIGCHLD) => {
                let mut status = 0;
                // SAFETY: waits for our own child only.
                let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
                if done != pid {
                    continue;
                }
                if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
                    return Err(ChildError::Failed(ended(status)));
                }
                let mut bytes = Vec::new();
                file.rewind()
                    .and_then(|()| file.read_to_end(&mut bytes))
                    .map_err(|e| ChildError::Failed(e.to_string()))?;
                return serde_json::from_slice(&bytes)
                    .map_err(|e| ChildError::Failed(e.to_string()));
            }
            Wake::Signal(sig @ (libc::SIGTERM | libc::SIGINT)) => {
                signals::send(pid, libc::SIGKILL);
                let mut status = 0;
                // SAFETY: reaps our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                return Err(ChildError::Interrupted(sig));
            }
            _ => continue,
        }
    }
}

/// How a lookup child that did not deliver ended, as an operator reads it (a raw wait status
/// `0x9` was shown for a child killed by SIGKILL).
fn ended(status: libc::c_int) -> String {
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        format!("it was killed by signal {sig} ({})", signals::name(sig))
    } else if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        format!("it exited {code} without an answer (it could not write its result)")
    } else {
        format!("it ended with wait status {status:#x}")
    }
}

/// An anonymous file in memory (closed on exec), for output whose size must not block the
/// process that writes it (a pipe would, once full, while nobody reads it).
pub fn memory_file(name: &std::ffi::CStr) -> std::io::Result<std::fs::File> {
    // SAFETY: memfd_create with a NUL-terminated name; the fd is owned by the File below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nothing else owns.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// What a bounded run of a program gave: its exit status, stdout and stderr.
pub struct Ran {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Ran {
    /// "failed (exit status: 3): `<the last line it wrote to stderr>`", when it did not succeed.
    pub fn failure(&self) -> Option<String> {
        if self.status.success() {
            return None;
        }
        let lines = self.stderr.lines().rev();
        let last = lines
            .into_iter()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        // The line may quote a secret (a script's credentials): masked like any value.
        Some(format!(
            "failed ({}): {}",
            self.status,
            crate::redact::text(last)
        ))
    }
}

/// Runs `command` to its end or `timeout` (then kills it), its signals back to normal and its
/// output in memory files, so a large output cannot block it while nobody reads. For short
/// programs spark-init needs before it resolves (`hadoop classpath`, spark-env.sh).
pub fn run_bounded(
    mut command: std::process::Command,
    timeout: std::time::Duration,
) -> Result<Ran, String> {
    use std::io::{Read, Seek};
    use std::os::unix::process::CommandExt;
    let out = memory_file(c"spark-init-out").map_err(|e| e.to_string())?;
    let err = memory_file(c"spark-init-err").map_err(|e| e.to_string())?;
    command
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(err.try_clone().map_err(|e| e.to_string())?);
    // SAFETY: reset_in_child makes only async-signal-safe calls and allocates nothing.
    unsafe { command.pre_exec(|| crate::supervise::signals::reset_in_child()) };
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot be run ({e})"))?;
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not finish within {} s", timeout.as_secs()));
            }
        }
    };
    let read = |mut file: std::fs::File| {
        let mut bytes = Vec::new();
        let _ = file.rewind().and_then(|()| file.read_to_end(&mut bytes));
        bytes
    };
    Ok(Ran {
        status,
        stdout: read(out),
        stderr: String::from_utf8_lossy(&read(err)).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review finding (issue 18): a lookup child killed by SIGKILL was "status 0x9".
    #[test]
    fn a_childs_end_is_said_in_words() {
        let status = |f: fn() -> !| {
            // SAFETY: the child only calls async-signal-safe functions, then ends.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                f();
            }
            let mut status = 0;
            // SAFETY: waits for the child just forked.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            status
        };
        let killed = status(|| {
            // SAFETY: raise and _exit are async-signal-safe.
            unsafe {
                libc::raise(libc::SIGKILL);
                libc::_exit(0)
            }
        });
        assert_eq!(ended(killed), "it was killed by signal 9 (SIGKILL)");
        // SAFETY: _exit is async-signal-safe.
        let exited = status(|| unsafe { libc::_exit(1) });
        assert!(
            ended(exited).starts_with("it exited 1 "),
            "{}",
            ended(exited)
        );
    }
}
