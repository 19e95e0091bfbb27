//! `make demo`: the whole story on local stand-ins, narrated for a newcomer. A Marathon
//! stand-in runs a Spark driver and executors, each behind spark-init as PID 1; the executors
//! find and attach to the driver, scale up, the driver is killed and comes back as the same
//! framework, an executor is replaced, everything stops cleanly. Ends with a summary table.
//! Everything lives in one temporary folder (`TMPDIR` points into it for every helper), removed
//! on exit and on Ctrl-C, when every process the demo started is killed first.

use std::time::Instant;

use entrypoint_tests::children_of;

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
        let _ = std::fs::remove_dir_all(&root_path);
        std::process::exit(128 + sig);
    });
    let started = Instant::now();
    println!("spark-init demo: Marathon, Mesos-style driver and executors, all on this machine");
    println!(
        "(Spark {} from PyPI pyspark on Java 17; ZooKeeper from Debian; about a minute)\n",
        entrypoint_tests::SPARK_3
    );
    let summary = entrypoint_tests::story::run(&mut |line| {
        println!("[{:>5.1}s] {line}", started.elapsed().as_secs_f64());
    });
    println!(
        "\n{:<48} {:>8}  result (executor IDs; exit codes)",
        "step", "at"
    );
    println!("{}", "-".repeat(100));
    for (name, result, at) in &summary.steps {
        println!("{name:<48} {:>7.1}s  {result}", at.as_secs_f64());
    }
    println!("{}", "-".repeat(100));
    println!(
        "framework (application) ID kept across the driver's restart: {}",
        summary.framework_id
    );
    println!(
        "driver restarts: {}; executor tasks that ended: {}",
        summary.driver_restarts, summary.executor_launches
    );
    println!(
        "exit codes at the final SIGTERM stop: {:?}",
        summary.final_exit_codes
    );
    println!(
        "\ndemo finished in {:.0} s: every step checked.",
        started.elapsed().as_secs_f64()
    );
}
