//! The explanation itself: a pure function from the facts to one line and its fields.

use crate::exit_code::SIGNALED_BASE;
use crate::spark::exit_codes::{self, SparkExitCode};
use crate::supervise::exit::{ExitFacts, ExitReport};
use crate::supervise::signals;
use crate::supervise::state::{ChildStatus, Sender};

/// The signals a crashing process (a JVM's fatal error ends in SIGABRT) dies of.
const CRASHES: [i32; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The line and its fields for how the command ended.
pub fn explain(facts: &ExitFacts<'_>) -> ExitReport {
    let oom_kills = oom_kills(facts);
    let spark = match facts.status {
        ChildStatus::Exited(code) => exit_codes::lookup(code, facts.context.spark_version),
        ChildStatus::Signaled { .. } => None,
    };
    let mut clauses: Vec<String> = Vec::new();
    clauses.extend(sender_clause(facts, oom_kills));
    clauses.extend(oom_clause(facts, oom_kills));
    clauses.extend(spark.map(|code| spark_clause(facts, code)));
    if spark.is_none() {
        clauses.extend(shell_clause(facts));
    }
    clauses.extend(crash_clause(facts));
    let mut summary = what(facts.status);
    if !clauses.is_empty() {
        summary = format!("{summary}: {}", clauses.join("; "));
    }
    let jvm = facts.context.jvm_memory.as_ref();
    let (signal, core_dumped) = match facts.status {
        ChildStatus::Signaled {
            signal,
            core_dumped,
        } => (Some(signal), Some(core_dumped)),
        ChildStatus::Exited(_) => (None, None),
    };
    ExitReport {
        summary,
        // An OOM kill in the container is never clean, whatever the command's code (a Python
        // worker killed under an executor that exits 0).
        abnormal: (facts.status != ChildStatus::Exited(0) && !stopped_as_asked(facts))
            || oom_kills.is_some_and(|n| n > 0),
        role: facts.role.to_string(),
        pid: Some(facts.pid),
        code: facts.status.code(),
        exit_code: facts.exit_code,
        signal,
        signal_name: signal.map(signals::name),
        core_dumped,
        signal_sender: facts.sender,
        oom_kills,
        memory_limit_bytes: facts.after.limit_bytes,
        memory_peak_bytes: facts.after.peak_bytes,
        heap_mib: jvm.map(|j| j.heap_mib.value),
        memory_overhead_mib: jvm.and_then(|j| j.overhead_mib.as_ref()).map(|o| o.value),
        spark_version: facts.context.spark_version.map(|v| v.to_string()),
        spark_exit_code_name: spark.map(|code| code.name.to_string()),
        hs_err_file: facts.hs_err.map(|h| h.path.display().to_string()),
        hs_err_problem: facts.hs_err.and_then(|h| h.problem.clone()),
        hs_err_frame: facts.hs_err.and_then(|h| h.frame.clone()),
        not_run: None,
    }
}

/// `command exited 52`, `command killed by SIGKILL (signal 9)`.
fn what(status: ChildStatus) -> String {
    match status {
        ChildStatus::Exited(code) => format!("command exited {code}"),
        ChildStatus::Signaled {
            signal,
            core_dumped,
        } => {
            let core = if core_dumped { ", core dumped" } else { "" };
            format!(
                "command killed by {} (signal {signal}{core})",
                signals::name(signal)
            )
        }
    }
}

/// The OOM kills in the cgroup during the run: the counter's growth, so that kills from before
/// the command started do not count.
fn oom_kills(facts: &ExitFacts<'_>) -> Option<u64> {
    Some(facts.after.oom_kill?.saturating_sub(facts.before.oom_kill?))
}

/// Who sent the signal it died of.
fn sender_clause(facts: &ExitFacts<'_>, oom_kills: Option<u64>) -> Option<String> {
    let signal = facts.status.signal()?;
    let name = signals::name(signal);
    let clause = match facts.sender? {
        Sender::Escalation => {
            let grace = facts.grace.map_or(0.0, |g| g.as_secs_f64());
            format!(
                "spark-init's own SIGKILL: it had not stopped {grace} s after it was asked to \
                 (SPARK_INIT_GRACE_SECONDS); its shutdown was cut short"
            )
        }
        Sender::Forwarded if facts.stop_requested == Some(signal) => format!(
            "the {name} spark-init forwarded when it was asked to stop (Marathon's kill, docker \
             stop), at its default action (no handler)"
        ),
        Sender::Forwarded => format!("the {name} was sent to spark-init, which forwarded it"),
        Sender::Outside if signal == libc::SIGKILL => match oom_kills {
            Some(0) => "not from spark-init, nor from the kernel's OOM killer in this container \
                        (oom_kill did not move): another process sent it (kill -9, the \
                        orchestrator)"
                .to_string(),
            Some(_) => "not from spark-init".to_string(),
            None => "not from spark-init: the kernel's OOM killer (no cgroup OOM counter here to \
                     tell) or another process (kill -9)"
                .to_string(),
        },
        Sender::Outside if CRASHES.contains(&signal) => {
            format!("not from spark-init: a fault in the process itself ({name})")
        }
        Sender::Outside => format!("not from spark-init: another process sent {name}"),
    };
    Some(clause)
}

/// An OOM kill in the container, with its memory and what the plan gave the JVM.
fn oom_clause(facts: &ExitFacts<'_>, oom_kills: Option<u64>) -> Option<String> {
    let kills = oom_kills.filter(|&n| n > 0)?;
    let (before, after) = (facts.before.oom_kill?, facts.after.oom_kill?);
    let file = facts.after.oom_file.as_deref().unwrap_or("the cgroup");
    let processes = if kills == 1 { "process" } else { "processes" };
    let mut clause = format!(
        "the kernel's OOM killer killed {kills} {processes} in the container (oom_kill {before} \
         → {after} in {file})"
    );
    let mib = |bytes: u64| bytes >> 20;
    match (facts.after.limit_bytes, facts.after.peak_bytes) {
        (Some(limit), Some(peak)) => clause.push_str(&format!(
            "; memory limit {} MiB, peak {} MiB",
            mib(limit),
            mib(peak)
        )),
        (Some(limit), None) => clause.push_str(&format!("; memory limit {} MiB", mib(limit))),
        _ => {}
    }
    match &facts.context.jvm_memory {
        Some(jvm) => {
            clause.push_str(&format!(
                "; the JVM had a heap of {} MiB ({})",
                jvm.heap_mib.value, jvm.heap_mib.source
            ));
            if let Some(overhead) = &jvm.overhead_mib {
                clause.push_str(&format!(" and {} MiB beside it", overhead.value));
            }
            clause
                .push_str(": give the app more memory (mem in the Marathon app) or lower the heap");
            if let Some(key) = jvm.overhead_key {
                clause.push_str(&format!(" (a larger {key} leaves more beside it)"));
            }
        }
        None => clause.push_str(": give the app more memory (mem in the Marathon app)"),
    }
    Some(clause)
}

/// Spark's own name for the code, and what to do about it.
fn spark_clause(facts: &ExitFacts<'_>, code: &SparkExitCode) -> String {
    let whose = match facts.context.spark_version {
        Some(version) => format!("Spark {version}'s"),
        None => "if the command is a Spark JVM, Spark's".to_string(),
    };
    let mut clause = format!("{whose} {} ({}): {}", code.name, code.meaning, code.advice);
    if let (52, Some(jvm)) = (code.code, &facts.context.jvm_memory) {
        clause.push_str(&format!(
            "; the heap was {} MiB ({})",
            jvm.heap_mib.value, jvm.heap_mib.source
        ));
    }
    clause
}

/// What a code means by the shell's and the JVM's conventions.
fn shell_clause(facts: &ExitFacts<'_>) -> Option<String> {
    let ChildStatus::Exited(code) = facts.status else {
        return None;
    };
    let clause = match code {
        // Review nit: said of every command; only a JVM's 1 means this.
        1 if facts.context.jvm => {
            "a JVM exits 1 when main throws or when it cannot start (bad option, missing class): \
             its error is in the log above"
                .to_string()
        }
        126 => "by the shell's convention a program the command ran was found but could not be \
                executed (permissions, a directory, another architecture): the shell's message \
                above names it"
            .to_string(),
        127 => {
            "by the shell's convention a program the command ran was not found (a typo, PATH, a \
                missing #! interpreter): the shell's message above names it"
                .to_string()
        }
        129..=192 => {
            let signal = code - SIGNALED_BASE;
            let name = signals::name(signal);
            if facts.stop_requested == Some(signal) {
                format!(
                    "128+{signal}: the command's exit after the {name} spark-init forwarded \
                     when it was asked to stop"
                )
            } else {
                format!(
                    "128+{signal}: the command reports {name} (a JVM exits so after its shutdown \
                     hooks; a shell when what it ran died of it)"
                )
            }
        }
        _ => return None,
    };
    Some(clause)
}

/// A crashed JVM's fatal-error log, or where none was found.
fn crash_clause(facts: &ExitFacts<'_>) -> Option<String> {
    if let Some(hs_err) = facts.hs_err {
        let mut clause = format!("the JVM crashed: {}", hs_err.path.display());
        if let Some(problem) = &hs_err.problem {
            clause.push_str(&format!(": {problem}"));
        }
        if let Some(frame) = &hs_err.frame {
            clause.push_str(&format!("; problematic frame: {frame}"));
        }
        return Some(clause);
    }
    let from_spark_init = matches!(facts.sender, Some(Sender::Forwarded | Sender::Escalation));
    if !crashed(facts.status) || from_spark_init {
        return None;
    }
    let searched: Vec<String> = facts
        .hs_err_searched
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    Some(format!(
        "no JVM fatal-error log ({}): not a JVM, or it could not write one",
        searched.join(", ")
    ))
}

/// Whether the status is a crash's: a fault signal, or a shell's 128+N for one.
pub fn crashed(status: ChildStatus) -> bool {
    let signal = match status {
        ChildStatus::Signaled { signal, .. } => signal,
        ChildStatus::Exited(code) => code - SIGNALED_BASE,
    };
    CRASHES.contains(&signal)
}

/// The command ended the way a stop ends: of the stop signal spark-init forwarded, or 128+N
/// after it (a JVM's shutdown hooks), or 0.
fn stopped_as_asked(facts: &ExitFacts<'_>) -> bool {
    let Some(stop) = facts.stop_requested else {
        return false;
    };
    match facts.status {
        ChildStatus::Signaled { signal, .. } => {
            signal == stop && facts.sender == Some(Sender::Forwarded)
        }
        ChildStatus::Exited(code) => code == SIGNALED_BASE + stop,
    }
}

#[cfg(test)]
mod tests;
