//! spark-init as PID 1 (and as a subreaper): exit codes, signals, reaping, the child's start
//! state. Black-box: the built static binary with the `probe` program as its command.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use entrypoint_tests::{alive, poll, status_field, wait_file, Init, Running, HANG};
use spark_init::supervise::signals::name as signal_name;

fn probe() -> &'static str {
    env!("CARGO_BIN_EXE_probe")
}

fn recorded(path: &Path) -> Vec<i32> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().expect("signal number"))
        .collect()
}

/// Starts `probe record <file> MARKER` under the init that `make` builds from the argv given to
/// it, and waits until the recorder is ready.
fn start_recorder(make: impl FnOnce(Vec<String>) -> Init) -> (tempfile::TempDir, PathBuf, Running) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signals");
    let argv = vec![
        probe().to_string(),
        "record".into(),
        file.display().to_string(),
        MARKER.to_string(),
    ];
    let init = make(argv).spawn();
    wait_file(&file.with_extension("ready"));
    (dir, file, init)
}

/// A real-time signal as the "stop recording" marker: higher than every standard signal, so
/// a recorder that has it pending takes every standard signal pending with it first.
const MARKER: i32 = 40;

/// Sends each signal to the init and waits until the recorder has it (one at a time, so "once"
/// is not hidden by coalescing), then the marker; returns how the init ended.
fn send_one_by_one(init: Running, file: &Path, signals: &[i32]) -> entrypoint_tests::Finished {
    for (i, &sig) in signals.iter().enumerate() {
        init.signal(sig);
        poll(&format!("signal {sig} to reach the child"), HANG, || {
            (recorded(file).len() > i).then_some(())
        });
    }
    init.signal(MARKER);
    init.finish()
}

#[test]
fn exit_codes_0_to_255_pass_through() {
    for code in 0..=255 {
        let out = Init::new([probe(), "exit", &code.to_string()]).run();
        assert_eq!(out.code, code, "child exit {code}: {}", out.stderr);
    }
}

#[test]
fn death_by_signal_is_128_plus_n() {
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGTERM,
        libc::SIGKILL,
        libc::SIGSEGV,
    ] {
        let out = Init::new([probe(), "kill-self", &sig.to_string()]).run();
        assert_eq!(out.code, 128 + sig, "signal {sig}: {}", out.stderr);
    }
}

#[test]
fn command_not_found_is_127_and_not_executable_is_126() {
    let out = Init::new(["no-such-command-anywhere"]).run();
    assert_eq!(out.code, 127, "{}", out.stderr);
    assert!(
        out.stderr.contains("no-such-command-anywhere"),
        "{}",
        out.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable");
    fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let out = Init::new([&script]).run();
    assert_eq!(out.code, 126, "{}", out.stderr);
    assert!(out.stderr.contains("not-executable"), "{}", out.stderr);
}

#[test]
fn exit_remap_rewrites_codes() {
    let out = Init::new([probe(), "exit", "143"])
        .env("SPARK_INIT_EXIT_REMAP", "143=0,130=0")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = Init::new([probe(), "kill-self", "2"])
        .env("SPARK_INIT_EXIT_REMAP", "143=0,130=0")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = Init::new([probe(), "exit", "3"])
        .env("SPARK_INIT_EXIT_REMAP", "143=0")
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
}

#[test]
fn every_signal_reaches_the_child_exactly_once() {
    let (_dir, file, init) = start_recorder(|argv| {
        // TERM and INT start the stop grace; keep it long so the recorder is not killed.
        Init::new(argv).env("SPARK_INIT_GRACE_SECONDS", "600")
    });
    let expected: Vec<i32> = (1..=31)
        .filter(|&s| ![libc::SIGKILL, libc::SIGSTOP, libc::SIGCHLD].contains(&s))
        .collect();
    let out = send_one_by_one(init, &file, &expected);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut expected = expected;
    expected.push(MARKER);
    assert_eq!(recorded(&file), expected);
}

/// Regression: 32-34 were never forwarded (musl's wrappers refuse them, so PID 1 neither
/// blocked nor waited for them, and as a namespace's init it dropped them). 34 is the JVM's
/// SIGRTMIN.
#[test]
fn signals_libc_keeps_for_itself_reach_the_child() {
    let (_dir, file, init) = start_recorder(Init::new);
    let out = send_one_by_one(init, &file, &[libc::SIGUSR1, 32, 33, 34]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(recorded(&file), [libc::SIGUSR1, 32, 33, 34, MARKER]);
}

#[test]
fn sigchld_is_never_forwarded() {
    let (_dir, file, init) = start_recorder(Init::new);
    init.signal(libc::SIGCHLD);
    // Had CHLD been forwarded, it would reach the recorder before the marker sent after it.
    init.signal(MARKER);
    let out = init.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(recorded(&file), [MARKER]);
}

#[test]
fn group_mode_reaches_a_grandchild_the_child_ignores_the_signal_for() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signals");
    let usr1 = libc::SIGUSR1.to_string();
    let init = Init::new([probe(), "group", file.to_str().unwrap(), &usr1])
        .env("SPARK_INIT_SIGNAL_GROUP", "1")
        .spawn();
    wait_file(&file.with_extension("ready"));
    init.signal(libc::SIGUSR1);
    let out = init.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(recorded(&file), [libc::SIGUSR1]);
}

#[test]
fn without_group_mode_only_the_child_gets_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signals");
    let marker = MARKER.to_string();
    // The child (probe group) ignores the marker; the grandchild records until it.
    let init = Init::new([probe(), "group", file.to_str().unwrap(), &marker])
        // The recorder outlives the TERM it records; the grace ends it.
        .env("SPARK_INIT_GRACE_SECONDS", "0.5")
        .spawn();
    wait_file(&file.with_extension("ready"));
    init.signal(MARKER);
    // The child ignores it and nobody passes it on. Then TERM: the child dies of it and the
    // grandchild gets the TERM the init sends to what is left, and records it.
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 128 + libc::SIGTERM, "{}", out.stderr);
    assert_eq!(recorded(&file), [libc::SIGTERM]);
}

#[test]
fn five_thousand_orphans_leave_no_zombie() {
    let out = Init::new([probe(), "orphans", "5000"]).run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.trim(), "zombies=0");
}

#[test]
fn orphans_are_reaped_by_a_subreaper_when_not_pid1() {
    let out = Init::new([probe(), "orphans", "500"]).not_pid1().run();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.trim(), "zombies=0");
}

#[test]
fn main_child_and_orphan_dying_together_do_not_hang() {
    for _ in 0..30 {
        // A long grace: had the init missed the orphan's exit it would sit out all of it and
        // the hang guard would fail the test.
        let out = Init::new([probe(), "die-with-orphan"])
            .env("SPARK_INIT_GRACE_SECONDS", "600")
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
}

/// The child reads its own status: grep, a C program that changes no disposition at start
/// (a Rust program ignores SIGPIPE before `main`).
const STATUS: [&str; 3] = ["grep", "-E", "^Sig(Blk|Ign)"];

fn status_masks(stdout: &str) -> (u64, u64) {
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| u64::from_str_radix(v.trim(), 16).expect("hex mask"))
            .unwrap_or_else(|| panic!("no {name} in {stdout:?}"))
    };
    (field("SigBlk:"), field("SigIgn:"))
}

fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

#[test]
fn child_starts_with_empty_mask_and_no_ignored_signals() {
    let out = Init::new(STATUS.iter().copied().chain(["/proc/self/status"])).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status_masks(&out.stdout), (0, 0), "{}", out.stdout);
}

#[test]
fn child_starts_clean_even_when_the_init_started_with_int_ignored_and_term_blocked() {
    let wrapper = [
        probe(),
        "exec-with",
        "--ignore",
        "INT",
        "--ignore",
        "33",
        "--block",
        "TERM",
        "--block",
        "33",
        "--",
    ];
    // Check that the wrapper really does what the test relies on.
    let control = std::process::Command::new(wrapper[0])
        .args(&wrapper[1..])
        .args(STATUS)
        .arg("/proc/self/status")
        .output()
        .unwrap();
    let (blocked, ignored) = status_masks(&String::from_utf8_lossy(&control.stdout));
    assert_eq!(blocked, bit(libc::SIGTERM) | bit(33));
    assert_eq!(
        ignored & (bit(libc::SIGINT) | bit(33)),
        bit(libc::SIGINT) | bit(33)
    );

    let out = Init::new(STATUS.iter().copied().chain(["/proc/self/status"]))
        .wrapped_in(wrapper)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status_masks(&out.stdout), (0, 0), "{}", out.stdout);
}

#[test]
fn grandchildren_get_term_and_finish_their_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cleaner");
    let out = Init::new([probe(), "leave-cleaner", file.to_str().unwrap(), "7"])
        .env("SPARK_INIT_GRACE_SECONDS", "600")
        .run();
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert_eq!(fs::read_to_string(&file).unwrap(), "cleaned\n");
}

#[test]
fn a_term_ignoring_grandchild_is_killed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stubborn");
    let out = Init::new([probe(), "leave-stubborn", file.to_str().unwrap(), "5"])
        .env("SPARK_INIT_GRACE_SECONDS", "0.5")
        .env("SPARK_INIT_LOG", "info")
        .run();
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("SIGKILL"), "{}", out.stderr);
    // It sat out the grace before the SIGKILL (a lower bound: not flaky on a slow machine).
    assert!(
        out.elapsed >= Duration::from_millis(500),
        "{:?}",
        out.elapsed
    );
}

#[test]
fn not_pid1_a_term_ignoring_grandchild_is_killed_too() {
    // As a subreaper no namespace takes the grandchild down with us: spark-init must.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stubborn");
    let out = Init::new([probe(), "leave-stubborn", file.to_str().unwrap(), "5"])
        .env("SPARK_INIT_GRACE_SECONDS", "0.5")
        .not_pid1()
        .run();
    assert_eq!(out.code, 5, "{}", out.stderr);
    let pid: i32 = fs::read_to_string(&file).unwrap().trim().parse().unwrap();
    assert!(!alive(pid), "the stubborn grandchild {pid} survived");
}

#[test]
fn stop_request_kills_a_child_that_outlives_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stubborn");
    let init = Init::new([probe(), "stubborn", file.to_str().unwrap()])
        .env("SPARK_INIT_GRACE_SECONDS", "0.5")
        .spawn();
    wait_file(&file.with_extension("ready"));
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 128 + libc::SIGKILL, "{}", out.stderr);
}

#[test]
fn a_java_style_term_stop_exits_143_or_remapped() {
    for (remap, expected) in [(None, 143), (Some("143=0"), 0)] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wait-term");
        let mut init = Init::new([probe(), "wait-term", file.to_str().unwrap()]);
        if let Some(remap) = remap {
            init = init.env("SPARK_INIT_EXIT_REMAP", remap);
        }
        let init = init.spawn();
        wait_file(&file.with_extension("ready"));
        init.signal(libc::SIGTERM);
        assert_eq!(init.finish().code, expected);
    }
}

#[test]
fn the_child_keeps_cwd_and_gets_no_extra_fds() {
    let dir = tempfile::tempdir().unwrap();
    let out = Init::new([probe(), "report"]).cwd(dir.path()).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(
        out.stdout,
        format!("cwd={}\nfds=0,1,2\n", cwd.display()),
        "{}",
        out.stderr
    );
}

#[test]
fn the_init_has_one_thread_and_does_not_wake_up_while_supervising() {
    let (_dir, _file, init) = start_recorder(Init::new);
    let pid = init.init_pid();
    assert_eq!(status_field(pid, "Threads").as_deref(), Some("1"));
    let switches = || status_field(pid, "voluntary_ctxt_switches").unwrap();
    // PID 1 finishes starting (page release reads /proc) after the child is ready; on a busy
    // machine that work can still be running here. Poll until the count holds still.
    poll("spark-init to settle", Duration::from_secs(10), || {
        let a = switches();
        std::thread::sleep(Duration::from_millis(100));
        (switches() == a).then_some(())
    });
    let before = switches();
    // A measurement window, not a synchronisation: an init that polled would switch in it.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(switches(), before, "spark-init woke up while idle");
    init.signal(MARKER);
    assert_eq!(init.finish().code, 0);
}

/// A Java installation whose `java` is the probe waiting for SIGTERM (`PROBE_AS_JAVA=wait`):
/// it never exits on its own, and any other signal ends it at its default action.
fn waiting_java(dir: &Path) -> PathBuf {
    let java_home = dir.join("jdk");
    fs::create_dir_all(java_home.join("bin")).unwrap();
    fs::write(java_home.join("release"), "JAVA_VERSION=\"17.0.15\"\n").unwrap();
    std::os::unix::fs::symlink(probe(), java_home.join("bin/java")).unwrap();
    java_home
}

/// Regression: USR1 sent to an executor while it looked up its driver was consumed and lost,
/// and HUP ended the start (129, the command never ran). Both are now held and forwarded once
/// the command exists. A held signal reaches the command as it starts, before any program can
/// have installed a handler, so the test's command dies of it: its status names the signal.
#[test]
fn signals_sent_while_an_executor_looks_up_its_driver_reach_the_command() {
    use entrypoint_tests::fake::{AppSpec, FakeServer, TaskSpec};
    const APP: &str = "/spark/orders/driver";
    let rpc = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let driver_app = |tasks| AppSpec {
        port_names: vec!["driver".into()],
        tasks,
        ..Default::default()
    };
    for sig in [libc::SIGUSR1, libc::SIGHUP] {
        let dir = tempfile::tempdir().unwrap();
        let marathon = FakeServer::start();
        marathon.app(APP, driver_app(vec![]));
        let init = Init::new(["--role", "executor"])
            .env("SPARK_HOME", entrypoint_tests::fixture("spark/3.5.7"))
            .env("JAVA_HOME", waiting_java(dir.path()))
            .env("PROBE_AS_JAVA", "wait")
            .env(
                "SPARK_INIT_CGROUP_ROOT",
                entrypoint_tests::fixture("cgroup/none"),
            )
            .env("SPARK_EXECUTOR_ID", "1")
            .env("SPARK_APPLICATION_ID", "app-1")
            .env("MARATHON_APP_RESOURCE_MEM", "2048.0")
            .env("HOST", "127.0.0.1")
            .env("SPARK_INIT_MARATHON_URL", marathon.url())
            .env("SPARK_INIT_DRIVER_APP", APP)
            .env("SPARK_INIT_RESOLVE_TIMEOUT", "600")
            .env("SPARK_INIT_LOG", "info")
            .spawn();
        poll("the executor to ask Marathon for its driver", HANG, || {
            (!marathon.requests().is_empty()).then_some(())
        });
        init.signal(sig);
        // Only now can the lookup succeed.
        let port = rpc.local_addr().unwrap().port();
        marathon.app(APP, driver_app(vec![TaskSpec::running("t1", &[port])]));
        let out = init.finish();
        let code = 128 + sig;
        assert_eq!(out.code, code, "signal {sig}: {}", out.stderr);
        let killed = format!("command killed by {} (signal {sig})", signal_name(sig));
        let exited = out.stderr.lines().find(|l| l.contains(&killed));
        assert!(
            exited.is_some_and(|l| l.contains(&format!(" code={code} "))),
            "signal {sig}: the command did not die of it: {}",
            out.stderr
        );
    }
}

/// Regression: a panic in the release build (`panic = "abort"`) ended PID 1 as 139,
/// "Segmentation fault" (SIGABRT cannot kill a namespace's init; musl's abort then crashes).
/// A real one: std's `println!` panics when stdout is full, here on a dry run's plan (`--help`
/// and `--version` handle their write errors since issue 18).
#[test]
fn a_panic_is_an_internal_error_said_once() {
    let out = Init::new(["--dry-run", "--", "true"])
        .wrapped_in(["sh", "-c", "exec \"$@\" >/dev/full", "sh"])
        .run();
    assert_eq!(out.code, 70, "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("spark-init: internal error: ").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("failed printing to stdout") && out.stderr.contains("please report it"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked at"), "{}", out.stderr);
}

/// Issue 18: `spark-init --help | true` exited 70 (std's `print!` panicked on the closed pipe)
/// and `>/dev/full` was a panic too: a reader that goes away is exit 0, a full disk an error
/// that says so.
#[test]
fn help_to_a_closed_pipe_is_0_and_to_a_full_disk_an_error() {
    // stdout a pipe whose reader is gone before spark-init writes, so the write is EPIPE
    // every time (`| true` is a race with the reader's exit).
    let closed_pipe = "import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); \
                       os.execvp(sys.argv[1], sys.argv[1:])";
    let out = Init::new(["--help"])
        .wrapped_in(["python3", "-c", closed_pipe])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("internal error"), "{}", out.stderr);
    let out = Init::new(["--help"])
        .wrapped_in(["sh", "-c", "exec \"$@\" >/dev/full", "sh"])
        .run();
    assert_eq!(out.code, 70, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot write to stdout"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("please report it"), "{}", out.stderr);
}

/// Review of issue 18: a dry run read by `| head` exited 70 with "internal error ... please
/// report it" (`println!` panicked on the closed pipe), as `--help` did before issue 18.
#[test]
fn a_dry_run_to_a_closed_pipe_is_0() {
    let closed_pipe = "import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); \
                       os.execvp(sys.argv[1], sys.argv[1:])";
    for output in ["text", "json"] {
        let out = Init::new(["--dry-run", "--output", output, "--", "true"])
            .wrapped_in(["python3", "-c", closed_pipe])
            .run();
        assert_eq!(out.code, 0, "{output}: {}", out.stderr);
        assert!(!out.stderr.contains("internal error"), "{}", out.stderr);
    }
}

/// Issue 11: spark-init's own 10 s default cut a JVM shutdown hook that needed 15 s (exit 137)
/// although Marathon would have waited its taskKillGracePeriodSeconds. By default a stop never
/// escalates: SIGTERM to PID 1, a command that needs 15 s to stop, exit 143 once it has.
#[test]
fn by_default_a_stop_waits_for_the_command_however_long_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let script = format!(
        "trap 'sleep 15; exit 143' TERM; echo ready > {}; while :; do sleep 0.1; done",
        ready.display()
    );
    let init = Init::new(["--", "sh", "-c", &script])
        .env("SPARK_INIT_LOG", "info")
        .spawn();
    wait_file(&ready);
    let asked = std::time::Instant::now();
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 143, "{}", out.stderr);
    // A lower bound, not a timing assertion: the command's own 15 s were not cut short.
    assert!(
        asked.elapsed() >= Duration::from_secs(15),
        "{:?}",
        asked.elapsed()
    );
    assert!(!out.stderr.contains("SIGKILL"), "{}", out.stderr);
    // The stop is in the log, with what happens next.
    assert!(
        out.stderr
            .contains("asked to stop (SIGTERM): forwarded to the command; spark-init waits"),
        "{}",
        out.stderr
    );
}

/// Review finding: with stderr a closed pipe (a log collector gone), each log line raised a
/// SIGPIPE on spark-init itself, which it forwarded as if sent from outside: the command died
/// of it before it ran, or PID 1 span forever forwarding them. Its own SIGPIPE is not a signal
/// for the command: the command runs and its code comes back.
#[test]
fn a_closed_stderr_does_not_signal_the_command() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ran");
    let script = format!("echo ran > {}; exit 5", mark.display());
    // --kill-child: if spark-init spins (the bug this pins), the guard below ends it too.
    let child = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(entrypoint_tests::spark_init_bin())
        .args(["--", "sh", "-c", &script])
        .env("SPARK_INIT_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = entrypoint_tests::Killed(child);
    // Close the read end at once: every line spark-init writes meets a broken pipe.
    drop(child.0.stderr.take());
    let status = poll("spark-init to exit", HANG, || child.0.try_wait().unwrap());
    assert_eq!(status.code(), Some(5));
    assert_eq!(std::fs::read_to_string(&mark).unwrap(), "ran\n");
}
