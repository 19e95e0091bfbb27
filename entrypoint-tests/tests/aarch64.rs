//! Issue 18: the arm64 binary (`make build ARCH=aarch64`, which `make test` runs) is static and
//! works, run here under Debian's qemu-user-static as PID 1 of a new PID namespace: `--version`,
//! a dry run and a supervised command. Skips, saying so, only when qemu-user is missing.

use std::path::PathBuf;

use entrypoint_tests::{executor_env, workspace_root, Init};

const QEMU: &str = "/usr/bin/qemu-aarch64-static";

/// The arm64 binary under qemu, or `None` (said on stderr) when qemu-user is not installed.
fn aarch64_init(args: &[&str]) -> Option<Init> {
    if !std::path::Path::new(QEMU).is_file() {
        eprintln!("SKIPPED: {QEMU} is missing (Debian's qemu-user-static; make test installs it)");
        return None;
    }
    let bin: PathBuf =
        workspace_root().join("target/aarch64-unknown-linux-musl/release/spark-init");
    assert!(
        bin.is_file(),
        "{} does not exist: run `make build ARCH=aarch64` (make test does)",
        bin.display()
    );
    Some(Init::new(args).binary(bin).wrapped_in([QEMU]))
}

#[test]
fn the_aarch64_binary_is_static_arm64() {
    let Some(_) = aarch64_init(&[]) else { return };
    let bin = workspace_root().join("target/aarch64-unknown-linux-musl/release/spark-init");
    let elf = std::fs::read(&bin).unwrap();
    // ELF header: e_machine at offset 18, little-endian; 183 is EM_AARCH64.
    assert_eq!(
        u16::from_le_bytes([elf[18], elf[19]]),
        183,
        "not an arm64 ELF"
    );
    let headers = std::process::Command::new("readelf")
        .args(["-l", "-d"])
        .arg(&bin)
        .output()
        .expect("readelf (binutils)");
    let headers = String::from_utf8_lossy(&headers.stdout);
    assert!(
        !headers.contains("INTERP"),
        "has a program interpreter:\n{headers}"
    );
    assert!(
        !headers.contains("NEEDED"),
        "needs shared libraries:\n{headers}"
    );
}

#[test]
fn the_aarch64_binary_prints_its_version_under_qemu() {
    let Some(init) = aarch64_init(&["--version"]) else {
        return;
    };
    let out = init.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(&format!(
            "spark-init {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn the_aarch64_binary_resolves_an_executor_dry_run_under_qemu() {
    let Some(init) = aarch64_init(&["--role", "executor", "--dry-run", "--output", "json"]) else {
        return;
    };
    let init = executor_env()
        .into_iter()
        .fold(init, |i, (k, v)| i.env(k, v));
    let out = init.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect(&out.stdout);
    let argv = plan["argv"].to_string();
    assert!(
        argv.contains("org.apache.spark.executor.CoarseGrainedExecutorBackend"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_aarch64_binary_supervises_a_command_as_pid_1_under_qemu() {
    let Some(init) = aarch64_init(&["--", "sh", "-c", "echo supervised; exit 3"]) else {
        return;
    };
    let out = init.env("SPARK_INIT_LOG", "info").run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(out.stdout, "supervised\n");
    assert!(out.stderr.contains("spark-init[1] "), "{}", out.stderr);
}
