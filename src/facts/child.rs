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
                    return Err(ChildError::Failed(format!(
                        "it ended with status {status:#x}"
                    )));
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
