//! The fatal-error log a HotSpot JVM writes when it crashes (`hs_err_pid<pid>.log`): where it
//! is and what its first lines say, for the exit's explanation.
//!
//! Where, in HotSpot's own order (`VMError::report_and_die`, `prepare_log_file` in
//! `src/hotspot/share/utilities/vmError.cpp`): `-XX:ErrorFile=<pattern>` when given (`%p` is
//! the pid, `%%` a percent sign; `Arguments::copy_expand_pid`); if that cannot be opened, or
//! none was given, `hs_err_pid<pid>.log` in the working directory; if that fails too, in the
//! temporary directory (`/tmp` on Linux). The option counts from `JAVA_TOOL_OPTIONS`, the
//! command line (`JDK_JAVA_OPTIONS` is put there by the launcher) and `_JAVA_OPTIONS`, the
//! last one read winning, as HotSpot reads them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::spark::java_options::split_hotspot;

/// What a crashed JVM left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsErr {
    pub path: PathBuf,
    /// The first problem line(s): `SIGSEGV (0xb) at pc=0x…, pid=7, tid=8`, or `Internal Error
    /// (…); fatal error: OutOfMemory encountered: Java heap space`.
    pub problem: Option<String>,
    /// The line after `# Problematic frame:`, e.g. `V  [libjvm.so+0x…]  Unsafe_PutLong+0x…`.
    pub frame: Option<String>,
}

/// How much of the file is read: the header is in the first few hundred bytes.
const READ_AT_MOST: u64 = 16 * 1024;

/// The candidates that already exist, with their modification times, taken as the command
/// starts: in a container the JVM has the same pid every run, so a log left in the same
/// folder by an earlier run has the very name this run's would have.
pub type Existing = Vec<(PathBuf, SystemTime)>;

pub fn existing(candidates: &[PathBuf]) -> Existing {
    candidates
        .iter()
        .filter_map(|path| Some((path.clone(), modified(path)?)))
        .collect()
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The `-XX:ErrorFile` pattern the JVM will use, from the variables (`JAVA_TOOL_OPTIONS`,
/// `JDK_JAVA_OPTIONS`, `_JAVA_OPTIONS`, looked up with `var`) and the command line, in
/// HotSpot's order.
pub fn error_file_option<'a>(
    argv: impl IntoIterator<Item = &'a str>,
    var: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let words = |name: &str| {
        var(name)
            .and_then(|value| split_hotspot(&value).ok())
            .unwrap_or_default()
    };
    let mut tokens = words("JAVA_TOOL_OPTIONS");
    tokens.extend(words("JDK_JAVA_OPTIONS"));
    tokens.extend(argv.into_iter().map(str::to_string));
    tokens.extend(words("_JAVA_OPTIONS"));
    tokens
        .iter()
        .rev()
        .find_map(|t| t.strip_prefix("-XX:ErrorFile="))
        .map(str::to_string)
}

/// Where the JVM with `pid` would have written its log, in the order it tries.
pub fn candidates(error_file: Option<&str>, pid: i32, cwd: &Path) -> Vec<PathBuf> {
    let default = format!("hs_err_pid{pid}.log");
    let mut paths: Vec<PathBuf> = error_file
        .map(|pattern| cwd.join(expand_pid(pattern, pid)))
        .into_iter()
        .collect();
    paths.push(cwd.join(&default));
    paths.push(Path::new("/tmp").join(&default));
    paths
}

/// HotSpot's `%p` (the pid) and `%%` (a percent sign); any other `%` stays as it is.
fn expand_pid(pattern: &str, pid: i32) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('%', Some('p')) => {
                chars.next();
                out.push_str(&pid.to_string());
            }
            ('%', Some('%')) => {
                chars.next();
                out.push('%');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The first candidate written during the run: new, or changed since `before` (the JVM
/// truncates an old one), with its first lines read.
pub fn find(candidates: &[PathBuf], before: &Existing) -> Option<HsErr> {
    candidates.iter().find_map(|path| {
        let now = modified(path)?;
        if before.iter().any(|(old, then)| old == path && *then == now) {
            return None;
        }
        let mut head = Vec::new();
        let file = std::fs::File::open(path).ok()?;
        file.take(READ_AT_MOST).read_to_end(&mut head).ok()?;
        let (problem, frame) = first_problem(&String::from_utf8_lossy(&head));
        Some(HsErr {
            path: path.clone(),
            problem,
            frame,
        })
    })
}

/// The header's problem line (with the line right after it, when it goes on) and the
/// problematic frame. The header is the `#` block at the top of the file.
pub fn first_problem(text: &str) -> (Option<String>, Option<String>) {
    let header: Vec<&str> = text
        .lines()
        .take_while(|line| line.starts_with('#'))
        .map(|line| line.trim_start_matches('#').trim())
        .collect();
    let intro = |line: &&str| {
        line.is_empty() || line.starts_with("A fatal error has been detected by the Java Runtime")
    };
    let start = header.iter().position(|line| !intro(line));
    let problem = start.map(|i| {
        let following = header[i + 1..].iter().take_while(|line| !line.is_empty());
        std::iter::once(header[i])
            .chain(following.copied())
            .take(2)
            .collect::<Vec<_>>()
            .join("; ")
    });
    let frame = header
        .iter()
        .position(|line| *line == "Problematic frame:")
        .and_then(|i| header.get(i + 1))
        .filter(|line| !line.is_empty())
        .map(|line| line.to_string());
    (problem, frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of a real one: OpenJDK 17.0.15 after `Unsafe.putAddress(0, 0)`.
    const SEGV: &str = "#
# A fatal error has been detected by the Java Runtime Environment:
#
#  SIGSEGV (0xb) at pc=0x00007f3c8d5e0f4e, pid=7, tid=8
#
# JRE version: OpenJDK Runtime Environment (17.0.15+6) (build 17.0.15+6-Debian-1deb12u1)
# Java VM: OpenJDK 64-Bit Server VM (17.0.15+6-Debian-1deb12u1, mixed mode, sharing, tiered, compressed oops, compressed class ptrs, g1 gc, linux-amd64)
# Problematic frame:
# V  [libjvm.so+0xe9ef4e]  Unsafe_PutLong+0x7e
#
# No core dump will be written. Core dumps have been disabled.
#

---------------  S U M M A R Y ------------
";

    #[test]
    fn reads_the_problem_and_the_frame() {
        let (problem, frame) = first_problem(SEGV);
        assert_eq!(
            problem.as_deref(),
            Some("SIGSEGV (0xb) at pc=0x00007f3c8d5e0f4e, pid=7, tid=8")
        );
        assert_eq!(
            frame.as_deref(),
            Some("V  [libjvm.so+0xe9ef4e]  Unsafe_PutLong+0x7e")
        );
    }

    #[test]
    fn an_internal_error_keeps_the_line_that_says_which() {
        let text = "#\n# A fatal error has been detected by the Java Runtime Environment:\n#\n\
                    #  Internal Error (debug.cpp:362), pid=7, tid=21\n\
                    #  fatal error: OutOfMemory encountered: Java heap space\n#\n# JRE version: x\n";
        let (problem, frame) = first_problem(text);
        assert_eq!(
            problem.as_deref(),
            Some("Internal Error (debug.cpp:362), pid=7, tid=21; fatal error: OutOfMemory encountered: Java heap space")
        );
        assert_eq!(frame, None);
        let native = "#\n# There is insufficient memory for the Java Runtime Environment to continue.\n\
                      # Native memory allocation (mmap) failed to map 65536 bytes for committing reserved memory.\n";
        assert_eq!(
            first_problem(native).0.as_deref(),
            Some("There is insufficient memory for the Java Runtime Environment to continue.; Native memory allocation (mmap) failed to map 65536 bytes for committing reserved memory.")
        );
        assert_eq!(first_problem("not a header\n"), (None, None));
    }

    #[test]
    fn the_last_error_file_option_wins_in_hotspot_order() {
        let env = |name: &str| match name {
            "JAVA_TOOL_OPTIONS" => Some("-XX:ErrorFile=/a/%p.log -Dx=1".to_string()),
            "_JAVA_OPTIONS" => Some("-XX:ErrorFile='/c/d e.log'".to_string()),
            _ => None,
        };
        assert_eq!(
            error_file_option(["java", "-XX:ErrorFile=/b.log"], env).as_deref(),
            Some("/c/d e.log")
        );
        assert_eq!(
            error_file_option(["java", "-XX:ErrorFile=/b.log"], |_| None).as_deref(),
            Some("/b.log")
        );
        let tool = |name: &str| (name == "JAVA_TOOL_OPTIONS").then(|| "-XX:ErrorFile=/a".into());
        assert_eq!(error_file_option(["java"], tool).as_deref(), Some("/a"));
        assert_eq!(error_file_option(["java"], |_| None), None);
    }

    #[test]
    fn candidates_in_hotspot_order_with_the_pid_expanded() {
        let cwd = Path::new("/opt/app");
        assert_eq!(
            candidates(Some("logs/crash-%p-%%p.log"), 7, cwd),
            [
                PathBuf::from("/opt/app/logs/crash-7-%p.log"),
                PathBuf::from("/opt/app/hs_err_pid7.log"),
                PathBuf::from("/tmp/hs_err_pid7.log"),
            ]
        );
        assert_eq!(candidates(None, 7, cwd)[0], cwd.join("hs_err_pid7.log"));
    }

    #[test]
    fn a_file_there_before_the_run_is_another_run_s_unless_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hs_err_pid7.log");
        let paths = [dir.path().join("missing.log"), path.clone()];
        assert_eq!(existing(&paths), []);
        std::fs::write(&path, SEGV).unwrap();
        let found = find(&paths, &Vec::new()).unwrap();
        assert_eq!(found.path, path);
        assert!(found.problem.unwrap().starts_with("SIGSEGV (0xb)"));
        let before = existing(&paths);
        assert_eq!(find(&paths, &before), None, "an earlier run's log");
        let earlier = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(earlier).unwrap();
        assert!(
            find(&paths, &before).is_some(),
            "written again during the run"
        );
    }
}
