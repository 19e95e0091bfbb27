//! The command line, configuration errors, the dry run and logging, seen from outside.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use entrypoint_tests::Init;

fn probe() -> &'static str {
    env!("CARGO_BIN_EXE_probe")
}

/// A command that leaves a mark when started, to prove bad configuration starts nothing.
fn marker_command(dir: &tempfile::TempDir) -> (Vec<String>, std::path::PathBuf) {
    let mark = dir.path().join("started");
    (
        vec![probe().into(), "touch".into(), mark.display().to_string()],
        mark,
    )
}

#[test]
fn unknown_flag_is_a_usage_error_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (command, mark) = marker_command(&dir);
    let out = Init::new(["--bogus".to_string()].into_iter().chain(command)).run();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(out.stderr.contains("--bogus"), "{}", out.stderr);
    assert!(out.stderr.contains("Usage: spark-init"), "{}", out.stderr);
    assert!(!mark.exists());
}

#[test]
fn no_command_and_no_role_is_a_usage_error() {
    let out = Init::new(Vec::<String>::new()).run();
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(out.stderr.contains("nothing to run"), "{}", out.stderr);
    assert!(out.stderr.contains("Usage: spark-init"), "{}", out.stderr);
}

#[test]
fn help_and_version_exit_0() {
    let out = Init::new(["--help"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("--dry-run"), "{}", out.stdout);
    let out = Init::new(["--version"]).run();
    assert_eq!(out.code, 0);
    // Issue 18: the commit it was built from (one of this repository's, when built from a
    // checkout) and the Spark releases it runs.
    let first = out.stdout.lines().next().unwrap_or_default();
    let prefix = format!("spark-init {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = first
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    let known = std::process::Command::new("git")
        .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
        .current_dir(entrypoint_tests::workspace_root())
        .status();
    if let Ok(status) = known {
        assert!(
            status.success(),
            "{commit} is not a commit of this repository"
        );
    }
    assert!(
        out.stdout.contains("Spark 1.6, 2.x, 3.x and 4.0 to 4.3"),
        "{}",
        out.stdout
    );
}

/// Issue 18: `--help` ends with the environment, the exit codes and the Spark releases, the
/// same rows as the README's tables (src/config/reference.rs checks the README holds them).
#[test]
fn help_has_the_environment_and_exit_code_sections_of_the_readme() {
    let out = Init::new(["--help"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let readme =
        std::fs::read_to_string(entrypoint_tests::workspace_root().join("README.md")).unwrap();
    let section = |title: &str| {
        let start = readme.find(title).expect(title);
        readme[start..].split("\n\n").nth(1).unwrap().to_string()
    };
    let env = out
        .stdout
        .split("ENVIRONMENT:\n")
        .nth(1)
        .expect(&out.stdout);
    for row in section("## Environment variables\n").lines().skip(2) {
        let name = row.split('`').nth(1).unwrap();
        assert!(
            env.contains(&format!("\n  {name} (default: "))
                || env.starts_with(&format!("  {name} ")),
            "{name}"
        );
    }
    let codes = out.stdout.split("EXIT CODES:\n").nth(1).expect(&out.stdout);
    for row in section("## Exit codes\n").lines().skip(2) {
        let code = row.trim_start_matches("| ").split(" | ").next().unwrap();
        assert!(codes.contains(&format!("  {code}\n")), "{code}\n{codes}");
    }
    assert!(
        out.stdout.contains("SPARK:\n  Runs Spark 1.6"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_role_needs_no_command_but_its_inputs() {
    // Not a usage error: with a role the command line is optional, and what is missing is
    // configuration, reported as such.
    let out = Init::new(["--role", "executor"])
        .env("SPARK_HOME", "/nonexistent/spark")
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("SPARK_HOME"), "{}", out.stderr);
    assert!(out.stderr.contains("SPARK_DRIVER_URL"), "{}", out.stderr);
}

/// Each bad variable: exit 78, the variable and its value named, nothing started.
#[test]
fn bad_configuration_is_78_naming_variable_and_value() {
    let cases: &[(&str, &str, &str)] = &[
        ("SPARK_INIT_JAVA_OPTS", r#"-Dx="unclosed"#, "never closed"),
        // SPARK_JAVA_OPT_<n> are verbatim (issue 10): only a dangling two-token option is bad.
        ("SPARK_JAVA_OPT_0", "--add-opens", "needs its value"),
        ("SPARK_INIT_GRACE_SECONDS", "ten", "number of seconds"),
        ("SPARK_INIT_GRACE_SECONDS", "-1", "number of seconds"),
        ("SPARK_INIT_EXIT_REMAP", "143:0", "FROM=TO"),
        ("SPARK_INIT_EXIT_REMAP", "143=256", "FROM=TO"),
        (
            "SPARK_INIT_SIGNAL_GROUP",
            "maybe",
            "SPARK_INIT_SIGNAL_GROUP",
        ),
        ("SPARK_INIT_ROLE", "worker", "driver, executor or master"),
        ("SPARK_INIT_LOG_FORMAT", "xml", "text or json"),
        ("JAVA_TOOL_OPTIONS", "-Dz='open", "JAVA_TOOL_OPTIONS"),
    ];
    for &(name, value, hint) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (command, mark) = marker_command(&dir);
        let out = Init::new(command).env(name, value).run();
        assert_eq!(out.code, 78, "{name}={value}: {}", out.stderr);
        assert!(out.stderr.contains(name), "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("{value:?}")),
            "{name}={value}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(hint), "{name}={value}: {}", out.stderr);
        assert!(!mark.exists(), "{name}={value} started the command");
    }
}

#[test]
fn all_problems_are_reported_together_and_secrets_are_redacted() {
    let out = Init::new([probe(), "exit", "0"])
        .env(
            "SPARK_INIT_JAVA_OPTS",
            "-Djavax.net.ssl.keyStorePassword=hunter2 -Dx='",
        )
        .env("SPARK_INIT_GRACE_SECONDS", "soon")
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("SPARK_INIT_JAVA_OPTS"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("SPARK_INIT_GRACE_SECONDS"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

#[test]
fn non_utf8_environment_passes_to_the_child_untouched() {
    let value = OsStr::from_bytes(b"caf\xe9 \xff\xfe end");
    let out = Init::new([probe(), "env-hex", "LEGACY_LATIN1"])
        .env("LEGACY_LATIN1", value)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let hex: String = value
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(out.stdout.trim(), hex);
}

#[test]
fn non_utf8_in_a_variable_spark_init_parses_is_78() {
    let out = Init::new([probe(), "exit", "0"])
        .env("SPARK_INIT_TIMEZONE", OsStr::from_bytes(b"\xff"))
        .run();
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("SPARK_INIT_TIMEZONE"), "{}", out.stderr);
}

fn dry_run_json(init: Init) -> serde_json::Value {
    let out = init.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn dry_run_json_has_the_documented_shape_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (command, mark) = marker_command(&dir);
    let plan = dry_run_json(
        Init::new(
            ["--dry-run", "--output", "json", "--"]
                .map(String::from)
                .into_iter()
                .chain(command.clone()),
        )
        .env("JAVA_TOOL_OPTIONS", "-Xss4m -Duser.timezone=UTC")
        .env("SPARK_JAVA_OPT_10", "-Dten=10")
        .env("SPARK_JAVA_OPT_9", "-Dnine=9")
        .env("SPARK_INIT_JAVA_OPTS", "-Da=\"x y\" -Dapi.token=hunter2"),
    );
    assert!(!mark.exists(), "the dry run started the command");
    assert_eq!(plan["role"], "exec");
    assert_eq!(plan["argv"], serde_json::json!(command));
    assert_eq!(
        plan["env"]["JAVA_TOOL_OPTIONS"],
        "-Dfile.encoding=UTF-8 -Xss4m -Duser.timezone=UTC -Dnine=9 -Dten=10 \
         \"-Da=x y\" -Dapi.token=***"
    );
    assert_eq!(plan["resolved"]["user_timezone"]["value"], "UTC");
    assert_eq!(
        plan["resolved"]["user_timezone"]["source"],
        "JAVA_TOOL_OPTIONS"
    );
    assert_eq!(plan["resolved"]["file_encoding"]["value"], "UTF-8");
    assert_eq!(plan["resolved"]["file_encoding"]["source"], "default");
    // Issue 11: by default no grace of spark-init's own: the orchestrator's decides.
    assert_eq!(
        plan["resolved"]["grace_seconds"]["value"],
        serde_json::Value::Null
    );
    assert!(plan["resolved"]["grace_seconds"]["source"]
        .as_str()
        .unwrap()
        .starts_with("default: no SIGKILL"));
    assert!(plan["warnings"].is_array());
    assert!(!plan.to_string().contains("hunter2"));
}

#[test]
fn dry_run_from_the_environment_and_text_output() {
    let out = Init::new(["java", "-version"])
        .env("SPARK_INIT_DRY_RUN", "1")
        .env("SPARK_INIT_TIMEZONE", "Asia/Tokyo")
        .env("SPARK_INIT_JAVA_OPTS", "-Ddb.password=hunter2")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("started nothing"), "{}", out.stdout);
    assert!(
        out.stdout.contains("-Duser.timezone=Asia/Tokyo"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("SPARK_INIT_TIMEZONE"), "{}", out.stdout);
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
}

#[test]
fn log_lines_say_they_are_spark_inits_in_text_and_json() {
    let out = Init::new([probe(), "exit", "0"])
        .env("SPARK_INIT_LOG", "info")
        .run();
    assert!(!out.stderr.is_empty());
    for line in out.stderr.lines() {
        assert!(line.contains(" spark-init["), "{line}");
    }
    let out = Init::new([probe(), "exit", "0"])
        .env("SPARK_INIT_LOG", "info")
        .env("SPARK_INIT_LOG_FORMAT", "json")
        .run();
    assert!(!out.stderr.is_empty());
    for line in out.stderr.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["target"].as_str().unwrap().starts_with("spark_init"),
            "{line}"
        );
    }
    let out = Init::new([probe(), "exit", "0"])
        .env("SPARK_INIT_LOG", "off")
        .run();
    assert_eq!(out.stderr, "");
}

/// Issue 18: `--output` without a dry run was ignored without a word; the command still runs.
#[test]
fn output_without_dry_run_is_a_warning_and_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (command, mark) = marker_command(&dir);
    let out = Init::new(
        ["--output".to_string(), "json".into(), "--".into()]
            .into_iter()
            .chain(command),
    )
    .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(mark.exists());
    assert!(
        out.stderr
            .contains("WARN --output is given without --dry-run"),
        "{}",
        out.stderr
    );
}

/// Issue 18: enum words in any case, from the environment as from the command line.
#[test]
fn enum_words_take_any_case() {
    let out = Init::new(["--role", "EXECUTOR", "--dry-run", "--output", "JSON"])
        .env("SPARK_INIT_LOG_FORMAT", "Json")
        .env("SPARK_INIT_LOG", "info");
    let out = entrypoint_tests::executor_env()
        .into_iter()
        .fold(out, |i, (k, v)| i.env(k, v))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(plan["role"], "executor", "{}", out.stdout);
    let out = Init::new(["--", "true"])
        .env("SPARK_INIT_LOG_FORMAT", "JSON")
        .env("SPARK_INIT_LOG", "INFO")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let first = out.stderr.lines().next().expect("an info line");
    let line: serde_json::Value = serde_json::from_str(first).expect(first);
    assert_eq!(line["level"], "INFO", "{first}");
}

/// Issue 18: `MARATHON_APP_RESOURCE_CPUS=0.1` became `--cores 1` without a word.
#[test]
fn an_executor_below_one_cpu_is_warned_about() {
    let init = Init::new(["--role", "executor", "--dry-run", "--output", "json"]);
    let out = entrypoint_tests::executor_env()
        .into_iter()
        .fold(init, |i, (k, v)| i.env(k, v))
        .env("MARATHON_APP_RESOURCE_CPUS", "0.1")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("MARATHON_APP_RESOURCE_CPUS=0.1 is less than one CPU"),
        "{warnings}"
    );
}

/// Issue 18: a real run logs, at info, what it resolved: the command (an array in JSON) and one
/// line per value with its source; JSON lines carry numbers as numbers and say they are
/// spark-init's (`process`, `pid`).
#[test]
fn a_role_logs_each_resolved_value_with_its_source() {
    let env = entrypoint_tests::executor_env();
    let init = env
        .iter()
        .fold(Init::new(["--role", "executor"]), |i, (k, v)| i.env(k, v))
        .env("SPARK_INIT_LOG", "info");
    let out = init.run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(" INFO resolved cores = 2 (from MARATHON_APP_RESOURCE_CPUS=2.0)\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(" INFO resolved ports = {\"blockmanager\":31005} (from PORT0)\n"),
        "{}",
        out.stderr
    );
    let init = env
        .iter()
        .fold(Init::new(["--role", "executor"]), |i, (k, v)| i.env(k, v))
        .env("SPARK_INIT_LOG", "info")
        .env("SPARK_INIT_LOG_FORMAT", "json");
    let out = init.run();
    assert_eq!(out.code, 99, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for line in &lines {
        assert_eq!(line["process"], "spark-init", "{line}");
        assert_eq!(line["pid"], 1, "{line}");
    }
    let field = |message: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} line: {}", out.stderr))["fields"]
            .clone()
    };
    let argv = field("command")["argv"].clone();
    assert!(argv.is_array(), "{argv}");
    assert_eq!(
        argv.as_array().unwrap().last().unwrap(),
        "0",
        "the executor's last flag's value: {argv}"
    );
    let cores = field("resolved cores");
    assert_eq!(cores["value"], 2, "{cores}");
    assert_eq!(cores["source"], "MARATHON_APP_RESOURCE_CPUS=2.0", "{cores}");
    assert_eq!(field("resolved ports")["value"]["blockmanager"], 31005);
    assert_eq!(field("command exited 99")["code"], 99);
}

/// Issue 18: the lines of the lookup processes spark-init forks are marked as spark-init's,
/// with its pid, in JSON as in text.
#[test]
fn a_lookup_processs_lines_are_spark_inits() {
    let init = entrypoint_tests::executor_env()
        .iter()
        .filter(|(k, _)| k != "SPARK_DRIVER_URL")
        .fold(Init::new(["--role", "executor"]), |i, (k, v)| i.env(k, v))
        .env("SPARK_INIT_MARATHON_URL", "http://127.0.0.1:1")
        .env("SPARK_INIT_DRIVER_APP", "/spark/driver")
        .env("SPARK_INIT_RESOLVE_TIMEOUT", "1")
        .env("SPARK_INIT_LOG", "info")
        .env("SPARK_INIT_LOG_FORMAT", "json");
    let out = init.run();
    assert_eq!(out.code, 69, "{}", out.stderr);
    let waiting = out
        .stderr
        .lines()
        .find(|l| l.contains("waiting for the driver"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    let line: serde_json::Value = serde_json::from_str(waiting).unwrap();
    assert_eq!(line["process"], "spark-init", "{waiting}");
    assert_eq!(line["pid"], 1, "{waiting}");
}
