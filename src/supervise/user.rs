//! Carrying out the plan's user part: the passwd entry before the command starts, and the
//! switch in the child between fork and exec (supplementary groups, gid, uid: gosu's order).

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::facts::accounts::PASSWD;
use crate::plan::user::{PasswdFix, RunAs};

/// Writes the passwd entry the plan gives a uid without one. A failure is a warning: the
/// command still runs, without the entry (and without nss_wrapper, which would only print
/// errors for a copy that is not there); `command` gets the environment that goes with it.
pub fn give_passwd_entry(fix: &PasswdFix, command: &mut std::process::Command) {
    let (result, target) = match fix {
        PasswdFix::Append { line } => (append(line), PASSWD.to_string()),
        PasswdFix::NssWrapper { line, file, .. } => {
            (copy_with(line, file), file.display().to_string())
        }
    };
    let Err(error) = result else {
        tracing::info!("gave the command's uid a passwd entry in {target}");
        return;
    };
    tracing::warn!(
        "cannot write the passwd entry to {target} ({error}): the JVM will get no user name and \
         Hadoop's login will fail; run as a user the image has"
    );
    if let PasswdFix::NssWrapper {
        ld_preload_before, ..
    } = fix
    {
        match ld_preload_before {
            Some(theirs) => command.env("LD_PRELOAD", theirs),
            None => command.env_remove("LD_PRELOAD"),
        };
        command
            .env_remove("NSS_WRAPPER_PASSWD")
            .env_remove("NSS_WRAPPER_GROUP");
    }
}

fn append(line: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).append(true).open(PASSWD)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let newline = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    file.write_all(format!("{newline}{line}\n").as_bytes())
}

/// A fresh copy of `/etc/passwd` plus `line` at `file`: whatever was there (an earlier run's
/// copy, another user's file, a planted link) is removed first, and the new file is created
/// exclusively, never through a link.
fn copy_with(line: &str, file: &Path) -> io::Result<()> {
    let mut text = std::fs::read_to_string(PASSWD)
        .map_err(|e| io::Error::new(e.kind(), format!("reading {PASSWD}: {e}")))?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(file)?;
    out.write_all(text.as_bytes())
}

/// The ids the child switches to, ready before fork so the child allocates nothing.
pub struct Switch {
    groups: Vec<libc::gid_t>,
    gid: libc::gid_t,
    uid: libc::uid_t,
}

impl Switch {
    pub fn new(run_as: &RunAs) -> Self {
        Switch {
            groups: run_as.groups.clone(),
            gid: run_as.gid,
            uid: run_as.uid,
        }
    }

    /// In the child: only system calls. Regaining root afterwards must fail, or the switch
    /// did not happen.
    pub fn apply(&self) -> io::Result<()> {
        let check = |rc: libc::c_int| {
            if rc == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        };
        // SAFETY: setgroups reads `groups.len()` gids from a live Vec; the other calls take
        // plain integers. All are async-signal-safe system calls.
        unsafe {
            check(libc::setgroups(self.groups.len(), self.groups.as_ptr()))?;
            check(libc::setgid(self.gid))?;
            check(libc::setuid(self.uid))?;
            if self.uid != 0 && libc::setuid(0) == 0 {
                return Err(io::Error::from_raw_os_error(libc::EPERM));
            }
        }
        Ok(())
    }
}
