//! A panic in spark-init is an internal error: one line, the command stopped, exit 70.
//!
//! Without this hook the release build (`panic = "abort"`) prints the default hook's lines and
//! aborts: 134 (SIGABRT), or, as a PID namespace's init, which the kernel does not let SIGABRT
//! kill, 139 (musl's `abort` falls back to a crash): "Segmentation fault" for what is a bug.

use std::any::Any;
use std::io::Write;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::exit_code;
use crate::redact;
use crate::supervise::signals;

/// The process that installed the hook. Forked children (the lookups, the driver's companion)
/// inherit the hook but have no command of their own to stop.
static OWNER: AtomicU32 = AtomicU32::new(0);

/// Replaces the default panic hook; `main` calls it right after taking over the signals.
pub fn install_panic_hook() {
    OWNER.store(std::process::id(), Ordering::SeqCst);
    std::panic::set_hook(Box::new(|info| {
        let message = payload_text(info.payload());
        let command = if std::process::id() == OWNER.load(Ordering::SeqCst) {
            signals::forward_target()
        } else {
            None
        };
        let code = on_panic(&message, info.location(), command, &mut std::io::stderr());
        // SAFETY: _exit ends the process at once; nothing of ours needs to run after a bug,
        // and exit handlers could meet the state the panic left behind.
        unsafe { libc::_exit(code) }
    }));
}

/// What the hook does before it exits: says it once on `out` (secrets masked, as in every
/// message), sends SIGTERM to the command when there is one (`command`: its pid, or `-pgid`
/// in group mode) so that it can stop cleanly, and returns the exit code.
pub fn on_panic(
    message: &str,
    location: Option<&Location<'_>>,
    command: Option<i32>,
    out: &mut dyn Write,
) -> i32 {
    let at = location.map(|l| format!(" at {l}")).unwrap_or_default();
    let message = redact::text(message);
    // Nothing to do if stderr is gone too.
    let _ = writeln!(
        out,
        "spark-init: internal error: {message}{at}; please report it"
    );
    if let Some(target) = command {
        signals::send(target, libc::SIGTERM);
    }
    i32::from(exit_code::INTERNAL)
}

/// `panic!`'s payload: a `&str` for a literal message, a `String` for a formatted one.
fn payload_text(payload: &(dyn Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(text), _) => (*text).to_string(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn says_it_once_with_the_place_and_exits_70() {
        let mut out = Vec::new();
        let here = Location::caller();
        let code = on_panic("index out of bounds", Some(here), None, &mut out);
        assert_eq!(code, 70);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "spark-init: internal error: index out of bounds at {here}; please report it\n"
            )
        );
    }

    #[test]
    fn masks_secrets_in_the_message() {
        let mut out = Vec::new();
        on_panic("bad -Dspark.ssl.password=hunter2", None, None, &mut out);
        let line = String::from_utf8(out).unwrap();
        assert!(!line.contains("hunter2"), "{line}");
        assert!(
            line.starts_with("spark-init: internal error: bad "),
            "{line}"
        );
    }

    #[test]
    fn sends_sigterm_to_a_running_command() {
        let mut command = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let code = on_panic("boom", None, Some(command.id() as i32), &mut Vec::new());
        assert_eq!(code, 70);
        let status = command.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    }

    #[test]
    fn reads_both_kinds_of_payload() {
        let literal: Box<dyn Any + Send> = Box::new("literal");
        let formatted: Box<dyn Any + Send> = Box::new(format!("formatted {}", 1));
        let other: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(payload_text(literal.as_ref()), "literal");
        assert_eq!(payload_text(formatted.as_ref()), "formatted 1");
        assert_eq!(payload_text(other.as_ref()), "a panic without a message");
    }
}
