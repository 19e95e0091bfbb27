//! `make demo`: the whole story on local stand-ins, narrated for a newcomer. A Marathon
//! stand-in runs a Spark driver and executors, each behind spark-init as PID 1; the executors
//! find and attach to the driver, scale up, the driver is killed and comes back as the same
//! framework, an executor is replaced, everything stops cleanly. Ends with a summary table.
//! Everything lives in temporary folders removed on exit (Ctrl-C included: the launcher, the
//! master and ZooKeeper are children of this process and die with its process group).

use std::time::Instant;

fn main() {
    let started = Instant::now();
    println!("spark-init demo: Marathon, Mesos-style driver and executors, all on this machine");
    println!("(Spark 3.5.7 from PyPI pyspark on Java 17; ZooKeeper from Debian; about a minute)\n");
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
