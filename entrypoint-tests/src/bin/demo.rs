//! `make demo`: the whole story on local stand-ins, narrated for a newcomer. A Marathon
//! stand-in runs a Spark driver and executors (and on Spark 4 its master), each behind
//! spark-init as PID 1; the executors find and attach to the driver, scale up, the driver is
//! killed and comes back, an executor is replaced, everything stops cleanly. Ends with a
//! summary table. `SPARK_VERSION` (3.5.7, the default, or 4.3.0) chooses the Spark.
//! `demo --containers` (`make demo-containers`) tells the same story with every task a Docker
//! container of the image `make image` built, and adds the steps only containers have: sizing
//! from the real cgroup, a kernel OOM kill, a driver cut off the network and ZooKeeper's
//! container restarted; its containers and network are removed on exit and on Ctrl-C too.
//! Everything lives in one temporary folder (`TMPDIR` points into it for every helper), removed
//! on exit and on Ctrl-C, when every process the demo started is killed first.

use std::time::Instant;

use entrypoint_tests::{children_of, SPARK_3, SPARK_4};

/// Every process below `pid`, deepest first.
fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for child in children_of(pid) {
        out.extend(descendants(child));
        out.push(child);
    }
    out
}

fn kill_everything_we_started() {
    for pid in descendants(std::process::id() as i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

fn main() {
    let root = tempfile::Builder::new()
        .prefix("spark-init-demo-")
        .tempdir()
        .expect("a temporary folder");
    // Before any thread exists: every temporary folder of the story goes under the root.
    std::env::set_var("TMPDIR", root.path());
    // Ctrl-C (and SIGTERM): blocked here, so every thread inherits the mask, and taken by one
    // thread that cleans up.
    // SAFETY: plain signal-mask calls on an initialised set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let root_path = root.path().to_path_buf();
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: the set is initialised; sigwait writes the signal number.
        unsafe { libc::sigwait(&set, &mut sig) };
        eprintln!(
            "\ndemo interrupted: stopping everything and removing {}",
            root_path.display()
        );
        kill_everything_we_started();
        entrypoint_tests::docker::remove_named(&format!("sit-e2e-{}-", std::process::id()));
        let _ = std::fs::remove_dir_all(&root_path);
        std::process::exit(128 + sig);
    });
    let in_containers = std::env::args().any(|a| a == "--containers");
    let started = Instant::now();
    let spark = match std::env::var("SPARK_VERSION") {
        Ok(v) if v == SPARK_3 || v == SPARK_4 => v,
        Ok(v) if !v.is_empty() => {
            eprintln!("make demo: SPARK_VERSION={v} is not one the demo installs: use {SPARK_3} or {SPARK_4}");
            std::process::exit(64);
        }
        _ => SPARK_3.to_string(),
    };
    if in_containers && !entrypoint_tests::docker::ready("make demo-containers", &spark) {
        std::process::exit(69);
    }
    let deployment = if in_containers {
        "every task a Docker container of spark-init:<version> on a bridge network of its own, each with its own address; ZooKeeper in a container too"
    } else if spark.starts_with("4.") {
        "the Mesos-free deployment: a worker-less standalone master, the driver and the executors, each a Marathon app"
    } else {
        "Marathon runs the driver and the executors; a worker-less standalone master stands in for the constrained Mesos framework"
    };
    println!("spark-init demo: Spark {spark} (PyPI pyspark on Java 17), all on this machine; ZooKeeper from Debian");
    println!("{deployment} (SPARK_VERSION={SPARK_3} or {SPARK_4} chooses; a few minutes)\n");
    let mut say = |line: String| {
        println!("[{:>5.1}s] {line}", started.elapsed().as_secs_f64());
    };
    let summary = if in_containers {
        entrypoint_tests::story::run_in_containers(&spark, &mut say)
    } else {
        entrypoint_tests::story::run(&spark, &mut say)
    };
    print_summary(&spark, &summary);
    println!(
        "\ndemo finished in {:.0} s: every step checked.",
        started.elapsed().as_secs_f64()
    );
}

/// The closing table: each step, how long it took, what it showed.
fn print_summary(spark: &str, summary: &entrypoint_tests::story::Summary) {
    // As wide as the longest step's name, so every row's time lines up.
    let width = summary
        .steps
        .iter()
        .map(|(name, ..)| name.len())
        .max()
        .unwrap_or(4);
    println!(
        "\n{:<width$} {:>8}  result (executor IDs; exit codes)",
        "step", "took"
    );
    println!("{}", "-".repeat(100));
    for (name, result, took) in &summary.steps {
        println!("{name:<width$} {:>7.1}s  {result}", took.as_secs_f64());
    }
    println!("{}", "-".repeat(100));
    let (before, after) = &summary.app_ids;
    if before == after {
        println!("application (framework) ID kept across the driver's restart: {after}");
    } else if spark.starts_with("3.") {
        // The relaunched driver was given the stored ID (the story checks its command line);
        // only a Mesos master re-registers a framework under it, and none can run here.
        println!(
            "the relaunched driver was given the stored ID {before} (spark.mesos.driver.frameworkId, \
             which a Mesos master would re-register it under); the standalone master standing in \
             for Mesos names its applications itself: {after}"
        );
    } else {
        println!("application ID before the driver's restart: {before}; after: {after} (a new application)");
    }
    println!(
        "driver restarts: {}; executor tasks that ended: {}",
        summary.driver_restarts, summary.executor_launches
    );
    println!(
        "exit codes at the final SIGTERM stop: {}",
        entrypoint_tests::story::exit_codes(&summary.final_exit_codes)
    );
}
