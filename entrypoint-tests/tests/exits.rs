//! Issue 13, "every exit explained, in one line": spark-init as PID 1 says how its command
//! ended (an OOM kill read from fake cgroup v1 and v2 trees, spark-init's own SIGKILL against
//! one from outside, a real JVM's `System.exit(52)` and segfault, 127 inside the command) and
//! writes the same facts to the termination summary. Black-box: the built static binary.

use std::fs;
use std::path::{Path, PathBuf};

use entrypoint_tests::{
    children_of, executor_env, fixture, java_classes, wait_file, Finished, Init,
};
use serde_json::Value;

fn probe() -> &'static str {
    env!("CARGO_BIN_EXE_probe")
}

/// A copy of a fixture cgroup tree the command may change, as the kernel changes the real one.
fn cgroup_copy(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    copy_tree(&fixture(&format!("cgroup/{name}")), &to);
    to
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The one line that explains the exit (text logs).
fn exit_line(out: &Finished) -> &str {
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(" command exited ") || l.contains(" command killed by "))
        .collect();
    assert_eq!(lines.len(), 1, "one exit line: {}", out.stderr);
    lines[0]
}

fn summary(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The executor role over the fixtures, with `java` a stand-in: the probe (`PROBE_AS_JAVA`).
fn executor_with_probe_java(dir: &Path) -> Init {
    let java_home = dir.join("jdk");
    fs::create_dir_all(java_home.join("bin")).unwrap();
    fs::write(java_home.join("release"), "JAVA_VERSION=\"17.0.15\"\n").unwrap();
    std::os::unix::fs::symlink(probe(), java_home.join("bin/java")).unwrap();
    let mut init = Init::new(["--role", "executor"]);
    for (name, value) in executor_env() {
        init = init.env(name, value);
    }
    init.env("JAVA_HOME", java_home)
}

#[test]
fn an_oom_kill_on_cgroup_v2_is_named_with_the_memory_and_the_heap() {
    let dir = tempfile::tempdir().unwrap();
    // The fixture counts one OOM kill from before the command: only the new one counts.
    let root = cgroup_copy("oom-v2", dir.path());
    let file = dir.path().join("termination.json");
    let out = executor_with_probe_java(dir.path())
        .env("SPARK_INIT_CGROUP_ROOT", &root)
        .env("PROBE_AS_JAVA", "oom-kill")
        .env("PROBE_CGROUP_ROOT", &root)
        .env("SPARK_INIT_TERMINATION_LOG", &file)
        .run();
    assert_eq!(out.code, 137, "{}", out.stderr);
    let line = exit_line(&out);
    let events = root.join("memory.events").display().to_string();
    for words in [
        " WARN command killed by SIGKILL (signal 9): not from spark-init; ",
        &format!("the kernel's OOM killer killed 1 process in the container (oom_kill 1 → 2 in {events})"),
        "memory limit 2048 MiB, peak 2048 MiB",
        "the JVM had a heap of 1664 MiB (MARATHON_APP_RESOURCE_MEM=2048.0 minus the overhead) and 384 MiB beside it",
        "give the app more memory (mem in the Marathon app) or lower the heap",
    ] {
        assert!(line.contains(words), "{words:?} not in {line}");
    }
    let json = summary(&file);
    assert_eq!(json["oom_kills"], 1, "{json}");
    assert_eq!(json["signal_name"], "SIGKILL");
    assert_eq!(json["signal_sender"], "outside");
    assert_eq!(json["memory_limit_bytes"], 2_147_483_648u64);
    assert_eq!(json["memory_peak_bytes"], 2_147_483_648u64);
    assert_eq!(json["heap_mib"], 1664);
    assert_eq!(json["memory_overhead_mib"], 384);
    assert_eq!(json["role"], "executor");
    assert_eq!(json["spark_version"], "3.5.7");
    assert_eq!(json["exit_code"], 137);
    assert!(line.contains(json["summary"].as_str().unwrap()), "{json}");
}

#[test]
fn an_oom_kill_on_cgroup_v1_is_named_too() {
    let dir = tempfile::tempdir().unwrap();
    let root = cgroup_copy("oom-v1", dir.path());
    let out = Init::new([probe(), "oom-kill", root.to_str().unwrap()])
        .env("SPARK_INIT_CGROUP_ROOT", &root)
        .run();
    assert_eq!(out.code, 137, "{}", out.stderr);
    let line = exit_line(&out);
    let control = root.join("memory/memory.oom_control").display().to_string();
    for words in [
        &format!("the kernel's OOM killer killed 1 process in the container (oom_kill 0 → 1 in {control})"),
        "memory limit 1024 MiB, peak 1024 MiB",
        "oom_kills=1",
    ] {
        assert!(line.contains(words), "{words:?} not in {line}");
    }
}

#[test]
fn a_sigkill_from_outside_is_not_an_oom_kill_when_the_counter_stays() {
    let dir = tempfile::tempdir().unwrap();
    let root = cgroup_copy("oom-v2", dir.path());
    let stubborn = dir.path().join("stubborn");
    let init = Init::new([probe(), "stubborn", stubborn.to_str().unwrap()])
        .env("SPARK_INIT_CGROUP_ROOT", &root)
        .spawn();
    wait_file(&stubborn.with_extension("ready"));
    // The operator's `kill -9 <the JVM>`, straight to the command, past spark-init.
    let command = children_of(init.init_pid());
    assert_eq!(command.len(), 1, "{command:?}");
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(command[0], libc::SIGKILL) }, 0);
    let out = init.finish();
    assert_eq!(out.code, 137, "{}", out.stderr);
    let line = exit_line(&out);
    assert!(
        line.contains("command killed by SIGKILL (signal 9): not from spark-init, nor from the kernel's OOM killer in this container (oom_kill did not move)"),
        "{line}"
    );
    assert!(line.contains("signal_sender=\"outside\""), "{line}");
}

#[test]
fn spark_init_s_own_sigkill_is_named_in_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let stubborn = dir.path().join("stubborn");
    let init = Init::new([probe(), "stubborn", stubborn.to_str().unwrap()])
        .env("SPARK_INIT_GRACE_SECONDS", "0.5")
        .env("SPARK_INIT_LOG_FORMAT", "json")
        .spawn();
    wait_file(&stubborn.with_extension("ready"));
    // The stubborn command ignores SIGTERM: spark-init escalates after the grace.
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 137, "{}", out.stderr);
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let exit = lines
        .iter()
        .find(|l| l["target"] == "spark_init::supervise::exit")
        .unwrap_or_else(|| panic!("no exit line: {}", out.stderr));
    assert_eq!(exit["level"], "WARN");
    let fields = &exit["fields"];
    assert_eq!(fields["signal_sender"], "spark_init_escalation", "{exit}");
    assert_eq!(fields["signal_name"], "SIGKILL");
    assert_eq!(fields["code"], 137);
    let message = fields["message"].as_str().unwrap();
    assert!(
        message.contains("spark-init's own SIGKILL: it had not stopped 0.5 s after it was asked to (SPARK_INIT_GRACE_SECONDS)"),
        "{message}"
    );
}

/// A Java installation whose `java` runs a real JVM on the test's classes (`ExitWith 52`),
/// whatever the executor's arguments.
fn java_running(dir: &Path, main: &str) -> PathBuf {
    let java_home = dir.join("jdk");
    fs::create_dir_all(java_home.join("bin")).unwrap();
    fs::write(java_home.join("release"), "JAVA_VERSION=\"17.0.15\"\n").unwrap();
    let script = format!(
        "#!/bin/sh\nexec java -cp {} {main}\n",
        java_classes().display()
    );
    let java = java_home.join("bin/java");
    fs::write(&java, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&java, fs::Permissions::from_mode(0o755)).unwrap();
    java_home
}

#[test]
fn a_real_jvm_s_exit_52_is_spark_s_oom_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut init = Init::new(["--role", "executor"]);
    for (name, value) in executor_env() {
        init = init.env(name, value);
    }
    let out = init
        .env("JAVA_HOME", java_running(dir.path(), "ExitWith 52"))
        .run();
    assert_eq!(out.code, 52, "{}", out.stderr);
    let line = exit_line(&out);
    for words in [
        " WARN command exited 52: Spark 3.5.7's SparkExitCode.OOM (OutOfMemoryError): ",
        "the heap was 1664 MiB",
        "spark_exit_code_name=\"SparkExitCode.OOM\"",
    ] {
        assert!(line.contains(words), "{words:?} not in {line}");
    }

    // A plain command's 52 is named, as a guess.
    let classes = java_classes().display().to_string();
    let out = Init::new(["java", "-cp", &classes, "ExitWith", "52"]).run();
    assert_eq!(out.code, 52, "{}", out.stderr);
    assert!(
        exit_line(&out).contains("if the command is a Spark JVM, Spark's SparkExitCode.OOM"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_real_jvm_segfault_names_its_fatal_error_log() {
    let classes = java_classes().display().to_string();
    // In the working directory, HotSpot's default.
    let cwd = tempfile::tempdir().unwrap();
    let file = cwd.path().join("termination.json");
    let out = Init::new(["java", "-cp", &classes, "Crash"])
        .cwd(cwd.path())
        .env("SPARK_INIT_TERMINATION_LOG", &file)
        .run();
    assert_eq!(out.code, 128 + libc::SIGABRT, "{}", out.stderr);
    let line = exit_line(&out);
    let json = summary(&file);
    let log = json["hs_err_file"]
        .as_str()
        .unwrap_or_else(|| panic!("{json}"));
    let pid = json["pid"].as_i64().unwrap();
    let expected = cwd.path().join(format!("hs_err_pid{pid}.log"));
    assert_eq!(Path::new(log), expected);
    assert!(expected.is_file());
    assert!(
        line.contains("command killed by SIGABRT (signal 6"),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "the JVM crashed: {}: SIGSEGV (0xb) at pc=",
            expected.display()
        )),
        "{line}"
    );
    assert!(
        line.contains("; problematic frame: V  [libjvm.so+"),
        "{line}"
    );
    assert!(
        json["hs_err_frame"].as_str().unwrap().contains("Unsafe_"),
        "{json}"
    );

    // -XX:ErrorFile (here through SPARK_INIT_JAVA_OPTS, so in JAVA_TOOL_OPTIONS), %p expanded.
    let logs = tempfile::tempdir().unwrap();
    let pattern = logs.path().join("crash-%p.log");
    let cwd = tempfile::tempdir().unwrap();
    let out = Init::new(["java", "-cp", &classes, "Crash"])
        .cwd(cwd.path())
        .env(
            "SPARK_INIT_JAVA_OPTS",
            format!("-XX:ErrorFile={}", pattern.display()),
        )
        .env("SPARK_INIT_LOG_FORMAT", "json")
        .run();
    assert_eq!(out.code, 128 + libc::SIGABRT, "{}", out.stderr);
    let fields: Vec<Value> = out
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "spark_init::supervise::exit")
        .map(|l| l["fields"].clone())
        .collect();
    let pid = fields[0]["pid"].as_i64().unwrap();
    let expected = logs.path().join(format!("crash-{pid}.log"));
    assert_eq!(
        fields[0]["hs_err_file"],
        expected.display().to_string(),
        "{}",
        out.stderr
    );
    assert!(fields[0]["hs_err_problem"]
        .as_str()
        .unwrap()
        .starts_with("SIGSEGV (0xb)"));
}

#[test]
fn exit_127_from_a_missing_program_inside_the_command() {
    let out = Init::new(["sh", "-c", "no-such-program-in-the-script --flag"]).run();
    assert_eq!(out.code, 127, "{}", out.stderr);
    // The shell says which; spark-init says what 127 means.
    assert!(
        out.stderr.contains("no-such-program-in-the-script"),
        "{}",
        out.stderr
    );
    assert!(
        exit_line(&out).contains(
            "command exited 127: by the shell's convention a program the command ran was not found"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_command_that_cannot_start_says_why_and_leaves_a_summary_in_the_sandbox() {
    let sandbox = tempfile::tempdir().unwrap();
    let out = Init::new(["no-such-command-anywhere"])
        .env("MESOS_SANDBOX", sandbox.path())
        .run();
    assert_eq!(out.code, 127, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot run \"no-such-command-anywhere\": not found on PATH ("),
        "{}",
        out.stderr
    );
    let json = summary(&sandbox.path().join("spark-init-termination.json"));
    assert_eq!(json["code"], 127, "{json}");
    assert!(json["not_run"]
        .as_str()
        .unwrap()
        .starts_with("no-such-command-anywhere: not found on PATH"));

    // A script whose interpreter is missing: execve says ENOENT for a file that is there.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("entrypoint.sh");
    fs::write(&script, "#!/bin/no-such-shell\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let out = Init::new([&script]).run();
    assert_eq!(out.code, 127, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("its interpreter /bin/no-such-shell (the #! line) does not exist"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_clean_exit_is_an_info_line_and_a_summary() {
    let sandbox = tempfile::tempdir().unwrap();
    let out = Init::new([probe(), "exit", "0"])
        .env("SPARK_INIT_LOG", "info")
        .env("MESOS_SANDBOX", sandbox.path())
        .env("SPARK_INIT_CGROUP_ROOT", fixture("cgroup/none"))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        exit_line(&out).contains(" INFO command exited 0 pid="),
        "{}",
        out.stderr
    );
    let json = summary(&sandbox.path().join("spark-init-termination.json"));
    assert_eq!(json["abnormal"], false);
    assert_eq!(json["summary"], "command exited 0");
    // An empty SPARK_INIT_TERMINATION_LOG writes none, even with a sandbox.
    let sandbox = tempfile::tempdir().unwrap();
    let out = Init::new([probe(), "exit", "3"])
        .env("MESOS_SANDBOX", sandbox.path())
        .env("SPARK_INIT_TERMINATION_LOG", "")
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(fs::read_dir(sandbox.path()).unwrap().count(), 0);
}

/// Review finding: a run that ended before its command started (here 78) left the previous
/// run's summary ("command exited 0") in place.
#[test]
fn a_run_that_never_starts_its_command_replaces_the_summary() {
    let sandbox = tempfile::tempdir().unwrap();
    let out = Init::new([probe(), "exit", "0"])
        .env("MESOS_SANDBOX", sandbox.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = sandbox.path().join("spark-init-termination.json");
    assert_eq!(summary(&path)["code"], 0);
    let out = Init::new([probe(), "exit", "0"])
        .env("MESOS_SANDBOX", sandbox.path())
        .env("SPARK_INIT_GRACE_SECONDS", "soon")
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    let json = summary(&path);
    assert_eq!(json["code"], 78, "{json}");
    assert_eq!(json["abnormal"], true, "{json}");
    assert!(
        json["summary"]
            .as_str()
            .unwrap()
            .contains("SPARK_INIT_GRACE_SECONDS=\"soon\""),
        "{json}"
    );
}
