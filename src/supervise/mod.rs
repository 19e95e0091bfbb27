//! Supervise: start the command and stay with it until everything it left behind is gone.
//!
//! The decisions live in [`Supervisor::step`], a pure state machine that tests drive without
//! forking; [`run`] performs its actions. The loop is tini's (`src/tini.c`): one thread, signals
//! taken with `sigtimedwait` (no timeout unless a grace period is running, so no periodic
//! wake-ups), every asynchronous signal but SIGCHLD forwarded, zombies reaped with
//! `waitpid(-1, WNOHANG)` until none is left (SIGCHLD coalesces).
//!
//! Beyond tini: when the main child exits, everything it left behind gets one SIGTERM and up to
//! the grace period to finish, then SIGKILL; spark-init exits as soon as nothing is left. When
//! spark-init itself is asked to stop (TERM or INT), the child gets the same grace before
//! SIGKILL. The whole stop shares one grace budget: what the child did not use is left for the
//! processes it leaves behind.

pub mod exit;
pub mod internal_error;
mod pages;
mod processes;
pub mod signals;
mod state;
mod user;

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use self::exit::{not_run, termination_log, ExitFacts};
use self::signals::{SignalSet, Wake};
pub use self::state::{Action, ChildStatus, Event, Sender, Supervisor};
use crate::exit_code;
use crate::facts::cgroup::{self, MemoryCounters};
use crate::facts::hs_err;
use crate::plan::Plan;

#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    #[error("cannot become a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so orphans could not be reaped: {0}")]
    Subreaper(nix::Error),
    #[error("cannot run {program:?}: {why}")]
    Spawn {
        program: String,
        source: io::Error,
        /// What `source` means for this program (`not found on PATH (...)`).
        why: String,
    },
    #[error("nothing to run: the plan has an empty command")]
    EmptyCommand,
}

impl SuperviseError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SuperviseError::Spawn { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                exit_code::NOT_FOUND
            }
            SuperviseError::Spawn { .. } => exit_code::CANNOT_EXECUTE,
            SuperviseError::Subreaper(_) | SuperviseError::EmptyCommand => exit_code::INTERNAL,
        }
    }
}

/// How the run ended: the command's own code and spark-init's (after the remap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub command: i32,
    pub code: i32,
    /// spark-init was asked to stop (SIGTERM or SIGINT, forwarded): the command's end was
    /// wanted, not a crash.
    pub stop_requested: bool,
}

/// Work a role hands the supervisor to run beside the command, in a forked process of its own
/// (PID 1 stays single-threaded: the side task's threads are its own). It is one more child:
/// reaped like any other, sent SIGTERM with the rest when the command exits, and killed by the
/// kernel if spark-init itself dies first (`PR_SET_PDEATHSIG`): it never outlives spark-init.
pub struct SideTask<'a> {
    /// What it does, for the log if it cannot be started.
    pub name: &'a str,
    pub work: &'a dyn Fn(),
}

/// Starts the plan's command and supervises it until everything it left behind is gone.
pub fn run(
    plan: &Plan,
    env: &[(OsString, OsString)],
    blocked: &SignalSet,
    side_tasks: &[SideTask<'_>],
) -> Result<Outcome, SuperviseError> {
    let pid1 = std::process::id() == 1;
    if !pid1 {
        nix::sys::prctl::set_child_subreaper(true).map_err(SuperviseError::Subreaper)?;
    }
    // The OOM counter before the command runs: only the kills during its run count.
    let before = cgroup::memory_counters(&plan.exit.cgroup_root);
    let main = spawn(plan, env).inspect_err(|error| record_not_run(plan, error))?;
    // Where a crashing JVM would write its log, and what is there already (an earlier run's,
    // with the same pid): a few stat calls, long before a JVM could have crashed.
    let hs_err_paths = hs_err_candidates(plan, env, main);
    let hs_err_before = hs_err::existing(&hs_err_paths);
    let target = if plan.supervision.signal_group {
        -main
    } else {
        main
    };
    signals::forward_to(target);
    for task in side_tasks {
        start_side_task(task);
    }
    pages::release_code_pages();
    let leftover = plan
        .supervision
        .grace
        .unwrap_or(crate::config::LEFTOVER_GRACE);
    let mut supervisor = Supervisor::new(plan.supervision.grace, leftover);
    loop {
        let timeout = supervisor
            .deadline()
            .map(|d| d.saturating_duration_since(Instant::now()));
        let events = match signals::wait(*blocked, timeout) {
            Wake::Signal(libc::SIGCHLD) => processes::reap(main),
            Wake::Signal(sig) => vec![Event::Signal(sig)],
            Wake::TimedOut => vec![Event::Timeout],
            Wake::Interrupted => continue,
        };
        for event in events {
            if let Event::MainExited(status) = event {
                signals::stop_forwarding();
                let run = Run {
                    plan,
                    main,
                    before: &before,
                    hs_err_paths: &hs_err_paths,
                    hs_err_before: &hs_err_before,
                };
                explain_exit(&run, status, &supervisor);
            }
            for action in supervisor.step(event, Instant::now()) {
                if let Some(mut outcome) = perform(action, plan, main, target, pid1) {
                    outcome.stop_requested = supervisor.stop_requested().is_some();
                    return Ok(outcome);
                }
            }
        }
    }
}

/// What is known of the command's run, to explain its end.
struct Run<'a> {
    plan: &'a Plan,
    main: i32,
    before: &'a MemoryCounters,
    hs_err_paths: &'a [PathBuf],
    hs_err_before: &'a hs_err::Existing,
}

/// Says how the command ended, in one line and in the termination summary: the rest of the
/// facts are read now (the memory counters, a crashed JVM's fatal-error log).
fn explain_exit(run: &Run<'_>, status: ChildStatus, supervisor: &Supervisor) {
    let plan = run.plan;
    let after = cgroup::memory_counters(&plan.exit.cgroup_root);
    let forwarded = signals::forwarded_synchronous();
    let sender = status.signal().map(|sig| supervisor.sender(sig, forwarded));
    // A crashed JVM ends in SIGABRT, or exits 1 with -XX:-CreateCoredumpOnCrash
    // (HotSpot's os::abort): look for its log after any failure.
    let found = (status != ChildStatus::Exited(0))
        .then(|| hs_err::find(run.hs_err_paths, run.hs_err_before))
        .flatten();
    let report = exit::explain(&ExitFacts {
        pid: run.main,
        status,
        sender,
        stop_requested: supervisor.stop_requested(),
        grace: plan.supervision.grace,
        before: run.before,
        after: &after,
        context: &plan.exit,
        hs_err: found.as_ref(),
        hs_err_searched: run.hs_err_paths,
        exit_code: plan.supervision.exit_code(status.code()),
        role: &plan.role,
    });
    exit::log(&report);
    if let Some(path) = &plan.exit.termination_log {
        termination_log::write(path, &report);
    }
}

/// Where the command, if it is a JVM that crashes, writes its fatal-error log.
fn hs_err_candidates(plan: &Plan, env: &[(OsString, OsString)], main: i32) -> Vec<PathBuf> {
    // A variable as the command got it: the plan's value, else the one spark-init was given.
    let var = |name: &str| match plan.env.get(name) {
        Some(value) => Some(value.clone()),
        None => env
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.to_str().map(str::to_string)),
    };
    let argv = plan.argv.iter().filter_map(|a| a.to_str());
    let error_file = hs_err::error_file_option(argv, var);
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    hs_err::candidates(error_file.as_deref(), main, &cwd)
}

/// A command that never started still gets its termination summary (the error line itself is
/// logged once, by `main`).
fn record_not_run(plan: &Plan, error: &SuperviseError) {
    if let (SuperviseError::Spawn { program, why, .. }, Some(path)) =
        (error, &plan.exit.termination_log)
    {
        let code = i32::from(error.exit_code());
        termination_log::write(path, &not_run::report(program, why, code, &plan.role));
    }
}

/// Starts the command with the plan's environment over the one spark-init was given, signals
/// back to normal in the child; returns its pid.
fn spawn(plan: &Plan, env: &[(OsString, OsString)]) -> Result<i32, SuperviseError> {
    let (program, args) = plan
        .argv
        .split_first()
        .ok_or(SuperviseError::EmptyCommand)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    for (name, value) in &plan.env {
        command.env(name, value);
    }
    if let Some(fix) = &plan.identity.passwd {
        user::give_passwd_entry(fix, &mut command);
    }
    let switch = plan.identity.switch.as_ref().map(user::Switch::new);
    // SAFETY: reset_in_child and Switch::apply make only async-signal-safe calls and
    // allocate nothing.
    unsafe {
        command.pre_exec(move || {
            signals::reset_in_child()?;
            switch.as_ref().map_or(Ok(()), user::Switch::apply)
        })
    };
    let child = command.spawn().map_err(|source| {
        let path = plan.env.get("PATH").map(OsStr::new).or_else(|| {
            env.iter()
                .find(|(key, _)| key == "PATH")
                .map(|(_, value)| value.as_os_str())
        });
        SuperviseError::Spawn {
            program: program.to_string_lossy().into_owned(),
            why: not_run::why(program, &source, path),
            source,
        }
    })?;
    let main = child.id() as i32;
    // std's Child neither waits nor kills on drop; the loop owns the process now.
    drop(child);
    let pid1 = std::process::id() == 1;
    tracing::info!(pid = main, pid1, "started {}", program.to_string_lossy());
    Ok(main)
}

/// Carries out one decision of the state machine; `Some` when spark-init is done.
fn perform(action: Action, plan: &Plan, main: i32, target: i32, pid1: bool) -> Option<Outcome> {
    let grace = plan.supervision.grace;
    match action {
        Action::Forward(sig) if sig == libc::SIGTERM || sig == libc::SIGINT => {
            // A stop request: worth a line at info, with what happens next.
            let name = if sig == libc::SIGTERM {
                "SIGTERM"
            } else {
                "SIGINT"
            };
            match grace {
                Some(g) => tracing::info!(
                    sig,
                    "asked to stop ({name}): forwarded to the command, SIGKILL after {} s \
                     (SPARK_INIT_GRACE_SECONDS)",
                    g.as_secs_f64()
                ),
                None => tracing::info!(
                    sig,
                    "asked to stop ({name}): forwarded to the command; spark-init waits for it \
                     however long it takes (the orchestrator's own grace decides when to kill)"
                ),
            }
            signals::send(target, sig);
        }
        Action::Forward(sig) => {
            // At info: the release binary carries no debug lines (Cargo.toml), and a forwarded
            // SIGQUIT (the JVM's thread dump) or SIGHUP is worth a line.
            tracing::info!(
                sig,
                target,
                "forwarding {} to the command",
                signals::name(sig)
            );
            signals::send(target, sig);
        }
        Action::KillMain => {
            tracing::warn!(
                pid = main,
                grace_seconds = grace.map_or(0.0, |g| g.as_secs_f64()),
                "the command did not stop within the grace period; sending SIGKILL"
            );
            signals::send(target, libc::SIGKILL);
        }
        Action::TermRemaining => {
            let n = processes::signal_remaining(pid1, libc::SIGTERM);
            if n > 0 {
                tracing::info!(
                    processes = n,
                    "sent SIGTERM to the processes the command left behind"
                );
            }
        }
        Action::KillRemaining => {
            let n = processes::signal_remaining(pid1, libc::SIGKILL);
            tracing::warn!(
                processes = n,
                "processes left behind outlived the grace period; sent SIGKILL"
            );
        }
        Action::Exit(command_code) => {
            let code = plan.supervision.exit_code(command_code);
            if code == command_code {
                tracing::info!(code, "exiting");
            } else {
                tracing::info!(code, command_code, "exiting (SPARK_INIT_EXIT_REMAP)");
            }
            return Some(Outcome {
                command: command_code,
                code,
                stop_requested: false,
            });
        }
    }
    None
}

fn start_side_task(task: &SideTask<'_>) {
    let parent = std::process::id() as i32;
    // SAFETY: PID 1 is single-threaded here, so the child may run ordinary code after fork.
    match unsafe { libc::fork() } {
        0 => {
            // Dies with spark-init (outside a PID namespace nothing else would end it); if
            // spark-init is already gone, the parent is someone else: leave now.
            let orphaned = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .is_err()
                || nix::unistd::getppid().as_raw() != parent;
            if orphaned {
                // SAFETY: leave without running PID 1's exit handlers.
                unsafe { libc::_exit(0) }
            }
            // Signals back to normal, so the SIGTERM sent to what is left ends it.
            signals::raw_set_mask(libc::SIG_SETMASK, 0);
            for sig in 1..=64 {
                // SAFETY: SIG_DFL needs no restorer.
                unsafe { signals::raw_set_disposition(sig, libc::SIG_DFL) };
            }
            (task.work)();
            // SAFETY: leave without running PID 1's exit handlers.
            unsafe { libc::_exit(0) }
        }
        pid if pid < 0 => tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "cannot start {}", task.name
        ),
        _ => {}
    }
}
