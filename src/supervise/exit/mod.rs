//! Every exit explained, in one line: when the command ends, spark-init says what happened from
//! what it can know (README "When an executor dies"), as one log line (warn when abnormal,
//! info when clean; the same facts as fields in JSON logs) and as a termination summary, one
//! JSON object in a file (`SPARK_INIT_TERMINATION_LOG`, default the Mesos sandbox's
//! `spark-init-termination.json`).
//!
//! [`explain`] is a pure function of [`ExitFacts`]; `run` gathers them: the raw wait status,
//! who sent the signal ([`crate::supervise::Supervisor::sender`]), the cgroup's memory
//! counters before and after ([`crate::facts::cgroup::memory_counters`]), a crashed JVM's
//! `hs_err_pid<pid>.log` ([`crate::facts::hs_err`]) and what the plan gave the JVM.

mod explain;
pub mod not_run;
pub mod termination_log;

use std::time::Duration;

use serde::Serialize;

pub use self::explain::{crashed, explain};
use crate::facts::cgroup::MemoryCounters;
use crate::facts::hs_err::HsErr;
use crate::plan::ExitContext;
use crate::supervise::state::{ChildStatus, Sender};

/// Everything known about the command's end.
#[derive(Debug, Clone)]
pub struct ExitFacts<'a> {
    pub pid: i32,
    pub status: ChildStatus,
    /// Who sent the signal it died of; `None` when it exited.
    pub sender: Option<Sender>,
    /// The stop signal (TERM, INT) spark-init was sent and forwarded, if any.
    pub stop_requested: Option<i32>,
    /// `SPARK_INIT_GRACE_SECONDS`, for an escalation's explanation.
    pub grace: Option<Duration>,
    pub before: &'a MemoryCounters,
    pub after: &'a MemoryCounters,
    pub context: &'a ExitContext,
    pub hs_err: Option<&'a HsErr>,
    /// Where a crashed JVM's log was looked for, when none was found.
    pub hs_err_searched: &'a [std::path::PathBuf],
    /// What spark-init exits with (after `SPARK_INIT_EXIT_REMAP`).
    pub exit_code: i32,
    pub role: &'a str,
}

/// The explanation: one line for people, the same facts as fields for machines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExitReport {
    /// The line, as logged.
    pub summary: String,
    /// Warn rather than info: not 0, and not the stop spark-init was asked for.
    pub abnormal: bool,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// The command's code as a shell reports it (128+N for signal N).
    pub code: i32,
    /// What spark-init exits with.
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_dumped: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_sender: Option<Sender>,
    /// OOM kills in the container's cgroup during the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kills: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_peak_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap_mib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_overhead_mib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_exit_code_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hs_err_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hs_err_problem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hs_err_frame: Option<String>,
    /// What could not be run, when the command never started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
}

/// The one log line; its level says whether the exit was abnormal.
pub fn log(report: &ExitReport) {
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                pid = report.pid,
                code = report.code,
                signal = report.signal,
                signal_name = report.signal_name.as_deref(),
                core_dumped = report.core_dumped,
                signal_sender = report.signal_sender.map(Sender::as_str),
                oom_kills = report.oom_kills,
                memory_limit_bytes = report.memory_limit_bytes,
                memory_peak_bytes = report.memory_peak_bytes,
                heap_mib = report.heap_mib,
                memory_overhead_mib = report.memory_overhead_mib,
                spark_exit_code_name = report.spark_exit_code_name.as_deref(),
                hs_err_file = report.hs_err_file.as_deref(),
                hs_err_problem = report.hs_err_problem.as_deref(),
                hs_err_frame = report.hs_err_frame.as_deref(),
                "{}",
                report.summary
            )
        };
    }
    if report.abnormal {
        line!(warn);
    } else {
        line!(info);
    }
}
