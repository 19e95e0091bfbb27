use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::facts::cgroup::MemoryCounters;
use crate::facts::hs_err::HsErr;
use crate::plan::{ExitContext, JvmMemory};
use crate::sourced::Sourced;
use crate::spark::version::SparkVersion;

const KILLED: ChildStatus = ChildStatus::Signaled {
    signal: libc::SIGKILL,
    core_dumped: false,
};

fn counters(oom_kill: u64) -> MemoryCounters {
    MemoryCounters {
        oom_kill: Some(oom_kill),
        limit_hits: Some(0),
        peak_bytes: Some(2147479552),
        limit_bytes: Some(2 << 30),
        oom_file: Some("/sys/fs/cgroup/memory.events".into()),
    }
}

fn executor() -> ExitContext {
    ExitContext {
        cgroup_root: PathBuf::from("/sys/fs/cgroup"),
        termination_log: None,
        spark_version: SparkVersion::parse("3.5.7"),
        jvm_memory: Some(JvmMemory {
            heap_mib: Sourced::new(1664, "MARATHON_APP_RESOURCE_MEM=2048.0 minus the overhead"),
            overhead_mib: Some(Sourced::new(384, "max(384 MiB, 10% of the heap)")),
            overhead_key: Some("spark.executor.memoryOverhead"),
        }),
        jvm: true,
    }
}

/// Explains `status` for an executor (3.5.7, 1664 MiB of heap in 2 GiB) whose cgroup counted
/// `oom` OOM kills before and after; `change` adjusts the facts first.
fn explained(
    status: ChildStatus,
    sender: Option<Sender>,
    oom: (u64, u64),
    change: impl FnOnce(&mut ExitFacts<'_>),
) -> ExitReport {
    let (before, after, context) = (counters(oom.0), counters(oom.1), executor());
    let searched = [PathBuf::from("/opt/spark/work/hs_err_pid7.log")];
    let mut facts = ExitFacts {
        pid: 7,
        status,
        sender,
        stop_requested: None,
        grace: None,
        before: &before,
        after: &after,
        context: &context,
        hs_err: None,
        hs_err_searched: &searched,
        exit_code: status.code(),
        role: "executor",
    };
    change(&mut facts);
    explain(&facts)
}

fn has(report: &ExitReport, words: &str) {
    assert!(
        report.summary.contains(words),
        "{words:?} not in {:?}",
        report.summary
    );
}

#[test]
fn an_oom_kill_says_so_with_the_memory_and_the_heap() {
    let report = explained(KILLED, Some(Sender::Outside), (0, 1), |_| {});
    assert!(report.abnormal);
    assert_eq!(report.code, 137);
    assert_eq!(report.signal_name.as_deref(), Some("SIGKILL"));
    assert_eq!(report.oom_kills, Some(1));
    assert_eq!(report.heap_mib, Some(1664));
    assert!(report.summary.starts_with("command killed by SIGKILL (signal 9): not from spark-init; the kernel's OOM killer killed 1 process in the container (oom_kill 0 → 1 in /sys/fs/cgroup/memory.events); memory limit 2048 MiB, peak 2047 MiB; the JVM had a heap of 1664 MiB"), "{}", report.summary);
    has(
        &report,
        "give the app more memory (mem in the Marathon app) or lower the heap",
    );
    has(&report, "a larger spark.executor.memoryOverhead");
}

#[test]
fn oom_kills_before_the_command_started_do_not_count() {
    let report = explained(KILLED, Some(Sender::Outside), (3, 3), |_| {});
    assert_eq!(report.oom_kills, Some(0));
    has(
        &report,
        "nor from the kernel's OOM killer in this container",
    );
    assert!(
        !report.summary.contains("killed 1 process"),
        "{}",
        report.summary
    );
}

#[test]
fn without_a_counter_both_causes_are_named() {
    let report = explained(KILLED, Some(Sender::Outside), (0, 0), |facts| {
        facts.after = Box::leak(Box::new(MemoryCounters::default()));
    });
    assert_eq!(report.oom_kills, None);
    has(
        &report,
        "the kernel's OOM killer (no cgroup OOM counter here to tell) or another process",
    );
}

#[test]
fn its_own_sigkill_is_named_with_the_grace() {
    let report = explained(KILLED, Some(Sender::Escalation), (0, 0), |facts| {
        facts.grace = Some(Duration::from_millis(2500));
        facts.stop_requested = Some(libc::SIGTERM);
    });
    assert!(report.abnormal, "a cut-short stop is abnormal");
    assert_eq!(report.signal_sender, Some(Sender::Escalation));
    has(&report, "spark-init's own SIGKILL: it had not stopped 2.5 s after it was asked to (SPARK_INIT_GRACE_SECONDS)");
}

#[test]
fn spark_s_exit_codes_by_name_for_the_role_s_release() {
    let report = explained(ChildStatus::Exited(52), None, (0, 0), |_| {});
    assert_eq!(
        report.spark_exit_code_name.as_deref(),
        Some("SparkExitCode.OOM")
    );
    has(
        &report,
        "command exited 52: Spark 3.5.7's SparkExitCode.OOM (OutOfMemoryError)",
    );
    has(&report, "the heap was 1664 MiB");
    let report = explained(ChildStatus::Exited(56), None, (0, 0), |_| {});
    has(
        &report,
        "ExecutorExitCode.HEARTBEAT_FAILURE (Unable to send heartbeats to driver.)",
    );
}

#[test]
fn a_plain_command_s_spark_code_is_hedged() {
    let plain = ExitContext::default();
    let report = explained(ChildStatus::Exited(52), None, (0, 0), |facts| {
        facts.context = Box::leak(Box::new(plain));
    });
    has(
        &report,
        "if the command is a Spark JVM, Spark's SparkExitCode.OOM",
    );
    assert_eq!(report.heap_mib, None);
}

/// Review nit (issue 18): "a JVM exits 1 when main throws" was said of any command's 1.
#[test]
fn only_a_jvms_1_is_read_as_a_jvms() {
    let report = explained(ChildStatus::Exited(1), None, (0, 0), |_| {});
    has(&report, "a JVM exits 1 when main throws");
    let plain = ExitContext::default();
    let report = explained(ChildStatus::Exited(1), None, (0, 0), |facts| {
        facts.context = Box::leak(Box::new(plain));
    });
    assert!(!report.summary.contains("JVM"), "{}", report.summary);
}

#[test]
fn a_stop_as_asked_is_clean_and_one_not_asked_for_is_not() {
    for status in [
        ChildStatus::Exited(143),
        ChildStatus::Signaled {
            signal: libc::SIGTERM,
            core_dumped: false,
        },
    ] {
        let sender = status.signal().map(|_| Sender::Forwarded);
        let report = explained(status, sender, (0, 0), |facts| {
            facts.stop_requested = Some(libc::SIGTERM);
        });
        assert!(!report.abnormal, "{}", report.summary);
        has(
            &report,
            "SIGTERM spark-init forwarded when it was asked to stop",
        );
    }
    let report = explained(ChildStatus::Exited(143), None, (0, 0), |_| {});
    assert!(report.abnormal);
    has(&report, "128+15: the command reports SIGTERM");
}

/// Fresh-user finding: an OOM kill of another process under a command that exits 0 was an
/// INFO line and `"abnormal": false`, so alerts on WARN missed it.
#[test]
fn an_oom_kill_under_a_clean_exit_is_abnormal() {
    let report = explained(ChildStatus::Exited(0), None, (0, 2), |_| {});
    assert!(report.abnormal);
    has(&report, "the kernel's OOM killer killed 2 processes");
}

#[test]
fn a_clean_exit_is_one_short_line() {
    let report = explained(ChildStatus::Exited(0), None, (0, 0), |_| {});
    assert!(!report.abnormal);
    assert_eq!(report.summary, "command exited 0");
    assert_eq!(report.memory_limit_bytes, Some(2 << 30));
}

#[test]
fn not_found_inside_the_command_is_the_shell_s_127() {
    let report = explained(ChildStatus::Exited(127), None, (0, 0), |_| {});
    assert!(report.abnormal);
    assert_eq!(report.spark_exit_code_name, None);
    has(&report, "a program the command ran was not found");
}

#[test]
fn a_jvm_crash_names_its_fatal_error_log() {
    let hs_err = HsErr {
        path: PathBuf::from("/opt/spark/work/hs_err_pid7.log"),
        problem: Some("SIGSEGV (0xb) at pc=0x1, pid=7, tid=8".into()),
        frame: Some("V  [libjvm.so+0xe9ef4e]  Unsafe_PutLong+0x7e".into()),
    };
    let abort = ChildStatus::Signaled {
        signal: libc::SIGABRT,
        core_dumped: true,
    };
    let report = explained(abort, Some(Sender::Outside), (0, 0), |facts| {
        facts.hs_err = Some(Box::leak(Box::new(hs_err)));
    });
    has(&report, "command killed by SIGABRT (signal 6, core dumped)");
    has(&report, "the JVM crashed: /opt/spark/work/hs_err_pid7.log: SIGSEGV (0xb) at pc=0x1, pid=7, tid=8; problematic frame: V  [libjvm.so+0xe9ef4e]  Unsafe_PutLong+0x7e");
    assert_eq!(
        report.hs_err_file.as_deref(),
        Some("/opt/spark/work/hs_err_pid7.log")
    );

    let report = explained(abort, Some(Sender::Outside), (0, 0), |_| {});
    has(
        &report,
        "no JVM fatal-error log (/opt/spark/work/hs_err_pid7.log)",
    );
}

#[test]
fn a_forwarded_fault_signal_is_not_a_crash() {
    let segv = ChildStatus::Signaled {
        signal: libc::SIGSEGV,
        core_dumped: false,
    };
    let report = explained(segv, Some(Sender::Forwarded), (0, 0), |_| {});
    has(
        &report,
        "the SIGSEGV was sent to spark-init, which forwarded it",
    );
    assert!(
        !report.summary.contains("fatal-error"),
        "{}",
        report.summary
    );
}

#[test]
fn the_summary_serialises_without_absent_facts() {
    let report = explained(ChildStatus::Exited(0), None, (0, 0), |_| {});
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["code"], 0);
    assert_eq!(json["role"], "executor");
    assert!(
        json.get("signal").is_none() && json.get("hs_err_file").is_none(),
        "{json}"
    );
}
