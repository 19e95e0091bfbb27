//! The processes under PID 1: reaping them and signalling what the command left behind.

use crate::supervise::signals;
use crate::supervise::state::{ChildStatus, Event};

/// Reaps every child that has exited; SIGCHLD coalesces, so loop until none is ready.
pub fn reap(main: i32) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`. __WALL also reaps clone() children
        // whose exit signal is not SIGCHLD.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::__WALL) };
        if pid > 0 {
            if pid == main {
                events.push(Event::MainExited(ChildStatus::from_wait_status(status)));
            }
            continue;
        }
        if pid == 0 {
            return events;
        }
        match nix::errno::Errno::last() {
            nix::errno::Errno::EINTR => continue,
            nix::errno::Errno::ECHILD => {
                events.push(Event::NothingLeft);
                return events;
            }
            e => {
                tracing::error!(error = %e, "waitpid failed");
                return events;
            }
        }
    }
}

/// Signals every process the command left behind; returns how many were signalled (as PID 1,
/// 1 when `kill(-1)` reached at least one).
pub fn signal_remaining(pid1: bool, sig: i32) -> usize {
    if !has_children() {
        // Every descendant is a child of ours or below one (orphans are reparented to us),
        // so no children means nothing is left; skip the /proc scan.
        return 0;
    }
    if pid1 {
        // PID 1 of a namespace: kill(-1) reaches every other process in it.
        return usize::from(signals::send(-1, sig));
    }
    let me = std::process::id() as i32;
    descendants(me)
        .into_iter()
        .filter(|&pid| signals::send(pid, sig))
        .count()
}

/// Whether any child, running or exited but not yet reaped, is left.
fn has_children() -> bool {
    // SAFETY: siginfo_t is plain data; all zeroes is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid with WNOWAIT only peeks; `info` is written by the kernel.
    let rc = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL,
        )
    };
    !(rc < 0 && nix::errno::Errno::last() == nix::errno::Errno::ECHILD)
}

/// Every process below `root`, from the parent links in `/proc/<pid>/stat`.
fn descendants(root: i32) -> Vec<i32> {
    let mut parents = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                if let Some(ppid) = parse_ppid(&stat) {
                    parents.push((pid, ppid));
                }
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The 4th field of `/proc/<pid>/stat`, after the command name in parentheses (which may
/// itself contain spaces and parentheses, hence the last `)`).
fn parse_ppid(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn parses_ppid_after_odd_command_names() {
        assert_eq!(parse_ppid("42 (a) b (c)) S 7 42 42 0"), Some(7));
        assert_eq!(parse_ppid("1 (init) S 0 1 1"), Some(0));
        assert_eq!(parse_ppid("garbage"), None);
    }

    #[test]
    fn finds_its_own_descendants() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let found = descendants(std::process::id() as i32);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.contains(&(child.id() as i32)), "{found:?}");
    }
}
