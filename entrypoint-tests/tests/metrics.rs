//! Metrics over TCP against a real carbon daemon (Debian's `graphite-carbon`, read back with
//! `python3-whisper`): the container's cgroup series arrive under their names with the values
//! of a fake cgroup tree (v2 and v1), sample after sample; a killed or stopped carbon changes
//! nothing for the supervised command; the sender never outlives spark-init. The real Spark
//! run is in `metrics_spark.rs`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use entrypoint_tests::carbon::Carbon;
use entrypoint_tests::{alive, children_of, comm, poll, wait_file, Init, Running, HANG};

fn probe() -> &'static str {
    env!("CARGO_BIN_EXE_probe")
}

const UUID: &str = "6e7a5b2c-1f3d-11ef-9a4b-0242ac120002";

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

/// A v2 tree: 2 CPUs' quota, 1 GiB limit, one OOM kill so far.
fn v2_tree(root: &Path) {
    write_tree(
        root,
        &[
            ("cgroup.controllers", "cpu memory pids\n"),
            ("cpu.max", "200000 100000\n"),
            (
                "cpu.stat",
                "usage_usec 7250000\nuser_usec 5000000\nsystem_usec 2250000\nnr_periods 120\n\
                 nr_throttled 7\nthrottled_usec 350000\n",
            ),
            ("memory.current", "536870912\n"),
            ("memory.peak", "805306368\n"),
            ("memory.max", "1073741824\n"),
            ("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"),
            ("pids.current", "42\n"),
        ],
    );
}

/// A v1 tree with the same figures in v1's units (nanoseconds) and files.
fn v1_tree(root: &Path) {
    write_tree(
        root,
        &[
            ("cpuacct/cpuacct.usage", "7250000000\n"),
            (
                "cpu/cpu.stat",
                "nr_periods 120\nnr_throttled 7\nthrottled_time 350000000\n",
            ),
            ("memory/memory.usage_in_bytes", "536870912\n"),
            ("memory/memory.max_usage_in_bytes", "805306368\n"),
            ("memory/memory.limit_in_bytes", "1073741824\n"),
            (
                "memory/memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
            ),
            ("pids/pids.current", "42\n"),
        ],
    );
}

/// What both trees say, by series name.
const EXPECTED: [(&str, f64); 9] = [
    ("cpu.usage_usec", 7250000.0),
    ("cpu.nr_periods", 120.0),
    ("cpu.nr_throttled", 7.0),
    ("cpu.throttled_usec", 350000.0),
    ("memory.current", 536870912.0),
    ("memory.peak", 805306368.0),
    ("memory.max", 1073741824.0),
    ("memory.oom_kill", 1.0),
    ("pids.current", 42.0),
];

/// spark-init with metrics to `carbon` every second, supervising `probe wait-term`, as PID 1
/// or not; returns it once the probe is ready.
fn start(carbon: &Carbon, root: &Path, dir: &Path, pid1: bool, setup: &[(&str, &str)]) -> Running {
    let ready = dir.join("wait-term");
    let mut init = Init::new([probe(), "wait-term", ready.to_str().unwrap()])
        .env("SPARK_INIT_GRAPHITE", carbon.endpoint())
        .env("SPARK_INIT_GRAPHITE_INTERVAL", "1")
        .env("SPARK_INIT_CGROUP_ROOT", root);
    for (name, value) in setup {
        init = init.env(name, value);
    }
    if !pid1 {
        init = init.not_pid1();
    }
    let running = init.spawn();
    wait_file(&ready.with_extension("ready"));
    running
}

/// Bytes received on established loopback connections to `port` that nobody has read yet
/// (`/proc/net/tcp`: the local address's port and `rx_queue`, in hex).
fn unread_bytes(port: u16) -> u64 {
    let table = fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit_once(':')?.1;
            let established = *fields.get(3)? == "01";
            let rx = fields.get(4)?.split_once(':')?.1;
            let ours = u16::from_str_radix(local_port, 16).ok()? == port && established;
            ours.then(|| u64::from_str_radix(rx, 16).ok()).flatten()
        })
        .sum()
}

/// The sender process under spark-init.
fn sender_of(init: i32) -> i32 {
    poll("the graphite-sender process", HANG, || {
        children_of(init)
            .into_iter()
            .find(|&pid| comm(pid).as_deref() == Some("graphite-sender"))
    })
}

#[test]
fn container_series_of_cgroup_v2_arrive_sample_after_sample() {
    let carbon = Carbon::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cgroup");
    v2_tree(&root);
    let init = start(
        &carbon,
        &root,
        dir.path(),
        true,
        &[("SPARK_INIT_GRAPHITE_PREFIX", "ops.v2-test")],
    );
    for (name, value) in EXPECTED {
        carbon.wait_for(&format!("ops.v2-test.cgroup.{name}"), HANG, |v| v == value);
    }
    // Read again every interval: a new figure in the tree reaches carbon.
    fs::write(root.join("memory.current"), "629145600\n").unwrap();
    let points = carbon.wait_for("ops.v2-test.cgroup.memory.current", HANG, |v| {
        v == 629145600.0
    });
    assert!(points.len() >= 2, "{points:?}");
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 143, "{}", out.stderr);
    let expected: Vec<String> = EXPECTED
        .iter()
        .map(|(name, _)| format!("ops.v2-test.cgroup.{name}"))
        .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(carbon.series(), expected, "nothing else was sent");
}

/// cgroup v1, the default prefix from Marathon's variables, spark-init not PID 1: the sender
/// is its child and is gone when spark-init is.
#[test]
fn container_series_of_cgroup_v1_under_the_marathon_app_and_task() {
    let carbon = Carbon::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cgroup");
    v1_tree(&root);
    let task = format!("spark_orders_executors.instance-{UUID}._app.1");
    let init = start(
        &carbon,
        &root,
        dir.path(),
        false,
        &[
            ("MARATHON_APP_ID", "/spark/orders/executors"),
            ("MESOS_TASK_ID", &task),
        ],
    );
    let sender = sender_of(init.init_pid());
    let prefix = format!("spark.orders.executors.{UUID}_1");
    for (name, value) in EXPECTED {
        carbon.wait_for(&format!("{prefix}.cgroup.{name}"), HANG, |v| v == value);
    }
    init.signal(libc::SIGTERM);
    let out = init.finish();
    assert_eq!(out.code, 143, "{}", out.stderr);
    assert!(!alive(sender), "the sender outlived spark-init");
}

/// Carbon killed (connections refused) or stopped (connections accepted, never read): the
/// command's exit code and a SIGTERM's handling are what they are without metrics.
#[test]
fn a_killed_or_stopped_carbon_changes_nothing_for_the_command() {
    for (sig, name) in [(libc::SIGKILL, "killed"), (libc::SIGSTOP, "stopped")] {
        let carbon = Carbon::start();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cgroup");
        v2_tree(&root);
        let mut init = start(
            &carbon,
            &root,
            dir.path(),
            true,
            &[("SPARK_INIT_GRAPHITE_PREFIX", "ops.down")],
        );
        carbon.wait_for("ops.down.cgroup.pids.current", HANG, |v| v == 42.0);
        carbon.signal(sig);
        if sig == libc::SIGKILL {
            // The sender has found carbon gone and is backing off.
            poll("the sender to notice", HANG, || {
                let log = init.stderr_so_far();
                log.contains("cannot send the container statistics to Graphite")
                    .then_some(())
            });
        } else {
            // The sender goes on writing into the stopped carbon's socket, which nobody reads.
            poll(
                "points to pile up unread at the stopped carbon",
                HANG,
                || (unread_bytes(carbon.port) > 0).then_some(()),
            );
        }
        let asked = Instant::now();
        init.signal(libc::SIGTERM);
        let out = init.finish();
        let took = asked.elapsed();
        assert_eq!(out.code, 143, "carbon {name}: {}", out.stderr);
        assert!(
            took < Duration::from_secs(2),
            "carbon {name}: the stop took {took:?}: {}",
            out.stderr
        );
        // A command that exits on its own keeps its code.
        let plain = Init::new([probe(), "exit", "7"])
            .env("SPARK_INIT_GRAPHITE", carbon.endpoint())
            .env("SPARK_INIT_CGROUP_ROOT", &root)
            .run();
        assert_eq!(plain.code, 7, "carbon {name}: {}", plain.stderr);
    }
}

/// The dry run says where metrics go and what the executor's JVM gets for Spark's sink.
#[test]
fn the_dry_run_shows_the_sink_options_and_the_series() {
    let mut init = Init::new(["--role", "executor", "--dry-run", "--output", "json"])
        .env("SPARK_INIT_GRAPHITE", "graphite.example:2003")
        .env("MARATHON_APP_ID", "/spark/orders/executor");
    for (name, value) in entrypoint_tests::executor_env() {
        init = init.env(name, value);
    }
    let out = init.run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let argv: Vec<&str> = plan["argv"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .filter(|a| a.starts_with("-Dspark.metrics.conf."))
        .collect();
    let prefix = format!("spark.orders.executor.{UUID}_1");
    assert_eq!(
        argv,
        [
            "-Dspark.metrics.conf.executor.sink.graphite.class=org.apache.spark.metrics.sink.GraphiteSink",
            "-Dspark.metrics.conf.executor.sink.graphite.host=graphite.example",
            "-Dspark.metrics.conf.executor.sink.graphite.port=2003",
            "-Dspark.metrics.conf.executor.sink.graphite.period=10",
            "-Dspark.metrics.conf.executor.sink.graphite.unit=seconds",
            &format!("-Dspark.metrics.conf.executor.sink.graphite.prefix={prefix}"),
        ]
    );
    let shown = &plan["resolved"]["metrics"]["value"];
    assert_eq!(shown["graphite"], "graphite.example:2003");
    assert_eq!(shown["prefix"], prefix.as_str());
    assert_eq!(
        shown["spark_series"],
        format!(
            "{prefix}.<spark.metrics.namespace, default the application ID>.<executor ID>.<source>.<metric>"
        )
    );
}
