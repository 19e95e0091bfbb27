//! `make bench`: spark-init side by side with tini-static, dumb-init and catatonit (Debian's
//! packages), each as PID 1 of its own PID namespace. Writes a markdown report (BENCH.md by
//! default, or the path given) with the machine it ran on. Measurements, not tests: nothing
//! here fails on a slow number; the report states the targets and the ratios.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use entrypoint_tests::{
    children_of, comm, monotonic_ns, poll, spark_init_bin, stat, status_field, HANG,
};

struct InitUnderTest {
    name: &'static str,
    path: PathBuf,
    /// Arguments between the init and the command.
    args: &'static [&'static str],
}

impl InitUnderTest {
    fn comm(&self) -> String {
        // /proc/<pid>/comm holds the first 15 bytes of the executable's name.
        let name = self.path.file_name().unwrap().to_string_lossy();
        name.chars().take(15).collect()
    }

    /// Starts the init as PID 1 of a new PID namespace; returns unshare and the init's pid.
    fn start(&self, command: &[&str], stdout: Stdio) -> (Child, i32) {
        let mut child = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(&self.path)
            .args(self.args)
            .args(command)
            .env("SPARK_INIT_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare");
        let outer = child.id() as i32;
        let comm = self.comm();
        let pid = poll("the init to start", HANG, || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited early: {status}", self.name);
            }
            children_of(outer)
                .into_iter()
                .find(|&p| self::comm(p).as_deref() == Some(comm.as_str()))
        });
        (child, pid)
    }
}

fn comm_of(pid: i32) -> Option<String> {
    comm(pid)
}

fn inits() -> Vec<InitUnderTest> {
    vec![
        InitUnderTest {
            name: "spark-init",
            path: spark_init_bin(),
            args: &["--"],
        },
        InitUnderTest {
            name: "tini-static",
            path: "/usr/bin/tini-static".into(),
            args: &["--"],
        },
        InitUnderTest {
            name: "dumb-init",
            path: "/usr/bin/dumb-init".into(),
            args: &["--"],
        },
        InitUnderTest {
            name: "catatonit",
            path: "/usr/bin/catatonit".into(),
            args: &["--"],
        },
    ]
}

fn probe() -> PathBuf {
    let path = std::env::current_exe().unwrap().with_file_name("probe");
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

fn stop(mut child: Child, init: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(init, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: as above.
    unsafe { libc::kill(init, libc::SIGKILL) };
    let _ = child.wait();
}

struct Row {
    size: u64,
    linkage: String,
    rss_kib: u64,
    threads: u64,
    orphan_cpu_ms: f64,
    zombies: usize,
    latency_p50_us: f64,
    latency_p90_us: f64,
    overhead_ms: f64,
}

fn kib(field: Option<String>) -> u64 {
    field
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn linkage(path: &Path) -> String {
    let out = Command::new("file").arg("-L").arg(path).output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if text.contains("static-pie linked") {
        "static-pie".into()
    } else if text.contains("statically linked") {
        "static".into()
    } else if text.contains("dynamically linked") {
        "dynamic".into()
    } else {
        "?".into()
    }
}

/// RSS and threads of the init while it supervises `sleep`.
fn rss(init: &InitUnderTest) -> (u64, u64) {
    let (child, pid) = init.start(&["sleep", "1000"], Stdio::null());
    poll("sleep to start", HANG, || {
        children_of(pid)
            .into_iter()
            .find(|&p| comm_of(p).as_deref() == Some("sleep"))
    });
    settle(pid);
    let rss = kib(status_field(pid, "VmRSS"));
    let threads = kib(status_field(pid, "Threads"));
    stop(child, pid);
    (rss, threads)
}

/// Waits until the init sleeps in its main wait: the same system call, with the same
/// arguments, seen twice in a row in `/proc/<pid>/syscall` while the process sleeps. Before
/// that it may still be setting up (spark-init drops its read-only pages only then).
fn settle(pid: i32) {
    let sample = || {
        let call = fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
        let sleeping = stat(pid).is_some_and(|(s, _)| s == 'S');
        (sleeping && !call.starts_with("running")).then_some(call)
    };
    poll("the init to settle in its wait", HANG, || {
        let first = sample()?;
        std::thread::sleep(Duration::from_millis(20));
        (sample()? == first).then_some(())
    });
}

fn cpu_ticks(pid: i32) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the comm: state(0) ppid(1) ... utime(11) stime(12).
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    utime + stime
}

/// The init's CPU time for reaping 5,000 orphans, and the zombies it left.
fn orphans(init: &InitUnderTest) -> (f64, usize) {
    let probe = probe();
    let (child, pid) = init.start(
        &[probe.to_str().unwrap(), "orphans-then-wait", "5000"],
        Stdio::piped(),
    );
    let mut child = child;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ticks = cpu_ticks(pid);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let zombies = children_of(pid)
        .into_iter()
        .filter(|&p| stat(p).is_some_and(|(s, _)| s == 'Z'))
        .count();
    stop(child, pid);
    (ticks as f64 * 1000.0 / hz, zombies)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Time from kill(init, USR1) to the child's `sigwaitinfo` returning, in microseconds, for
/// every init at once: all run side by side and the rounds alternate between them, so drift
/// on a shared machine (frequency, other load) hits them alike and the ratios mean something.
fn latencies(inits: &[InitUnderTest], rounds: usize) -> Vec<(f64, f64)> {
    let probe = probe();
    let mut running = Vec::new();
    for init in inits {
        let (mut child, pid) = init.start(&[probe.to_str().unwrap(), "latency"], Stdio::piped());
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        settle(pid);
        running.push((child, pid, reader, Vec::with_capacity(rounds)));
    }
    let mut line = String::new();
    for _ in 0..rounds {
        for (_, pid, reader, samples) in running.iter_mut() {
            line.clear();
            let sent = monotonic_ns();
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(*pid, libc::SIGUSR1) };
            reader.read_line(&mut line).unwrap();
            let received: i128 = line.trim().parse().expect("timestamp");
            samples.push((received - sent) as f64 / 1000.0);
        }
    }
    running
        .into_iter()
        .map(|(child, pid, _, mut samples)| {
            stop(child, pid);
            samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
            (percentile(&samples, 0.5), percentile(&samples, 0.9))
        })
        .collect()
}

/// Milliseconds from spawning `argv` to the probe's `main` (`probe now` at the end of argv).
fn start_to_main(argv: &[&str]) -> f64 {
    let sent = monotonic_ns();
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .env("SPARK_INIT_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{argv:?}: {}", out.status);
    let started: i128 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("time");
    (started - sent) as f64 / 1e6
}

/// Start-to-exec overhead: the median time from spawning `init -- probe now` to the probe's
/// `main`, minus the same for `probe now` spawned directly. Both as plain processes: unshare's
/// own cost would swamp the difference.
fn overhead(init: &InitUnderTest, rounds: usize) -> f64 {
    let probe = probe();
    let probe = probe.to_str().unwrap();
    let path = init.path.to_str().unwrap();
    // tini must be told that it is not PID 1 (subreaper mode).
    let argv: Vec<&str> = match init.name {
        "tini-static" => vec![path, "-s", "--", probe, "now"],
        _ => vec![path, "--", probe, "now"],
    };
    let mut direct = Vec::with_capacity(rounds);
    let mut wrapped = Vec::with_capacity(rounds);
    // Interleaved, so drift on a shared machine hits both alike.
    for _ in 0..rounds {
        direct.push(start_to_main(&[probe, "now"]));
        wrapped.push(start_to_main(&argv));
    }
    direct.sort_by(|a, b| a.partial_cmp(b).unwrap());
    wrapped.sort_by(|a, b| a.partial_cmp(b).unwrap());
    percentile(&wrapped, 0.5) - percentile(&direct, 0.5)
}

/// The executor role against the loopback fakes: start-to-exec with lookups (Marathon, then
/// the driver's REST API) against the same without (the values set), and PID 1's RSS and
/// threads afterwards.
struct Lookups {
    without_ms: f64,
    with_ms: f64,
    rss_kib: u64,
    threads: u64,
}

fn lookups(rounds: usize) -> Lookups {
    use entrypoint_tests::fake::{AppSpec, FakeServer, TaskSpec};
    let root = entrypoint_tests::workspace_root().join("entrypoint-tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let java_home = dir.path().join("jdk");
    fs::create_dir_all(java_home.join("bin")).unwrap();
    fs::write(java_home.join("release"), "JAVA_VERSION=\"17.0.15\"\n").unwrap();
    std::os::unix::fs::symlink(probe(), java_home.join("bin/java")).unwrap();

    let rpc = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ui = FakeServer::start();
    ui.spark_app("app-20261125100000-0001", true);
    let marathon = FakeServer::start();
    marathon.app(
        "/spark/driver",
        AppSpec {
            port_names: vec!["driver".into(), "blockmanager".into(), "ui".into()],
            health_checks: false,
            tasks: vec![TaskSpec::running(
                "driver.instance-1._app.1",
                &[rpc.local_addr().unwrap().port(), 31001, ui.port],
            )],
            ..Default::default()
        },
    );
    let base = |cmd: &mut Command| {
        cmd.arg("--role")
            .arg("executor")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SPARK_INIT_LOG", "warn")
            .env("SPARK_HOME", root.join("spark/3.5.7"))
            .env("JAVA_HOME", &java_home)
            .env("SPARK_INIT_CGROUP_ROOT", root.join("cgroup/none"))
            .env("SPARK_EXECUTOR_ID", "1")
            .env("MARATHON_APP_RESOURCE_CPUS", "1.0")
            .env("MARATHON_APP_RESOURCE_MEM", "2048.0")
            .env("HOST", "127.0.0.1")
            .env("PORT0", "31005");
    };
    let with_lookups = |cmd: &mut Command| {
        base(cmd);
        cmd.env("SPARK_INIT_MARATHON_URL", marathon.url())
            .env("SPARK_INIT_DRIVER_APP", "/spark/driver");
    };
    let without = |cmd: &mut Command| {
        base(cmd);
        cmd.env(
            "SPARK_DRIVER_URL",
            "spark://CoarseGrainedScheduler@127.0.0.1:1",
        )
        .env("SPARK_APPLICATION_ID", "app-1");
    };
    let time_one = |setup: &dyn Fn(&mut Command)| {
        let mut cmd = Command::new(spark_init_bin());
        setup(&mut cmd);
        let sent = monotonic_ns();
        let out = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", out.status);
        let started: i128 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("time");
        (started - sent) as f64 / 1e6
    };
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..rounds {
        a.push(time_one(&without));
        b.push(time_one(&with_lookups));
    }
    a.sort_by(|x, y| x.partial_cmp(y).unwrap());
    b.sort_by(|x, y| x.partial_cmp(y).unwrap());

    // RSS and threads of PID 1 while it supervises, after lookups.
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(spark_init_bin());
    with_lookups(&mut cmd);
    cmd.env("PROBE_AS_JAVA", "wait");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let outer = child.id() as i32;
    let pid = poll("spark-init to start", HANG, || {
        children_of(outer)
            .into_iter()
            .find(|&p| comm_of(p).as_deref() == Some("spark-init"))
    });
    poll("the stand-in java to start", HANG, || {
        children_of(pid)
            .into_iter()
            .find(|&p| comm_of(p).as_deref() == Some("java"))
    });
    settle(pid);
    let rss_kib = kib(status_field(pid, "VmRSS"));
    let threads = kib(status_field(pid, "Threads"));
    stop(child, pid);
    Lookups {
        without_ms: percentile(&a, 0.5),
        with_ms: percentile(&b, 0.5),
        rss_kib,
        threads,
    }
}

/// PID 1 with metrics on (`SPARK_INIT_GRAPHITE` to a loopback listener that reads and
/// discards, standing in for carbon, every second) against the same without, side by side
/// over the same window while each supervises `sleep`: PID 1's RSS and wake-ups (voluntary
/// context switches), and the sender's.
struct MetricsCost {
    window: Duration,
    off_rss_kib: u64,
    on_rss_kib: u64,
    off_wakeups: u64,
    on_wakeups: u64,
    on_threads: u64,
    sender_rss_kib: u64,
    sender_wakeups: u64,
    received_lines: usize,
}

fn wakeups(pid: i32) -> u64 {
    kib(status_field(pid, "voluntary_ctxt_switches"))
}

/// A listener that accepts every connection and counts the lines it reads.
fn discarding_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Read;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let lines = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = lines.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counted = counted.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut stream = stream;
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let new = buf[..n].iter().filter(|&&b| b == b'\n').count();
                    counted.fetch_add(new, Ordering::Relaxed);
                }
            });
        }
    });
    (port, lines)
}

fn metrics_cost(window: Duration) -> MetricsCost {
    let (port, lines) = discarding_listener();
    let start = |metrics: bool| {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc"])
            .arg(spark_init_bin())
            .args(["--", "sleep", "1000"])
            .env("SPARK_INIT_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if metrics {
            cmd.env("SPARK_INIT_GRAPHITE", format!("127.0.0.1:{port}"))
                .env("SPARK_INIT_GRAPHITE_INTERVAL", "1")
                .env("SPARK_INIT_GRAPHITE_PREFIX", "bench");
        }
        let child = cmd.spawn().expect("unshare");
        let outer = child.id() as i32;
        let pid = poll("spark-init to start", HANG, || {
            children_of(outer)
                .into_iter()
                .find(|&p| comm_of(p).as_deref() == Some("spark-init"))
        });
        poll("sleep to start", HANG, || {
            children_of(pid)
                .into_iter()
                .find(|&p| comm_of(p).as_deref() == Some("sleep"))
        });
        settle(pid);
        (child, pid)
    };
    let (off, off_pid) = start(false);
    let (on, on_pid) = start(true);
    let sender = poll("the metrics sender", HANG, || {
        children_of(on_pid)
            .into_iter()
            .find(|&p| comm_of(p).as_deref() == Some("graphite-sender"))
    });
    let before = (wakeups(off_pid), wakeups(on_pid), wakeups(sender));
    std::thread::sleep(window);
    let cost = MetricsCost {
        window,
        off_rss_kib: kib(status_field(off_pid, "VmRSS")),
        on_rss_kib: kib(status_field(on_pid, "VmRSS")),
        off_wakeups: wakeups(off_pid) - before.0,
        on_wakeups: wakeups(on_pid) - before.1,
        on_threads: kib(status_field(on_pid, "Threads")),
        sender_rss_kib: kib(status_field(sender, "VmRSS")),
        sender_wakeups: wakeups(sender) - before.2,
        received_lines: lines.load(std::sync::atomic::Ordering::Relaxed),
    };
    stop(off, off_pid);
    stop(on, on_pid);
    cost
}

/// The rows and the note of [`metrics_cost`] in the report.
fn metrics_rows(md: &mut String, m: &MetricsCost) {
    let _ = writeln!(
        md,
        "| PID 1 with metrics on (`SPARK_INIT_GRAPHITE`, a sample every second), against off | RSS and wake-ups as with metrics off, one thread | {} KiB ({} KiB off), {} wake-ups in {} s ({} off), {} thread(s) | {:.2}× RSS | {} |",
        m.on_rss_kib,
        m.off_rss_kib,
        m.on_wakeups,
        m.window.as_secs(),
        m.off_wakeups,
        m.on_threads,
        m.on_rss_kib as f64 / m.off_rss_kib.max(1) as f64,
        if m.on_rss_kib <= 1024 && m.on_wakeups <= m.off_wakeups && m.on_threads == 1 {
            "met"
        } else {
            "**missed**"
        }
    );
    let _ = writeln!(
        md,
        "| the metrics sender (`graphite-sender`, a child of PID 1) | (report) | {} KiB, {} wake-ups in {} s; {} lines received | — | — |",
        m.sender_rss_kib,
        m.sender_wakeups,
        m.window.as_secs(),
        m.received_lines
    );
    let _ = writeln!(
        md,
        "\nMetrics: two spark-inits as PID 1 side by side, each supervising `sleep`, one with \
         `SPARK_INIT_GRAPHITE` pointing at a loopback listener that reads and discards (standing \
         in for carbon) and `SPARK_INIT_GRAPHITE_INTERVAL=1`, the other without; RSS is `VmRSS` \
         at the end of the window, wake-ups the growth of `voluntary_ctxt_switches` over it, \
         both from `/proc/<pid>/status`. The sender's figures are its own process's: its RSS \
         counts the pages it still shares with PID 1 after the fork."
    );
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = Command::new("uname")
        .arg("-sr")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let os = fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores; {os}; {kernel}; {date}")
}

/// The executors' and drivers' figures with and without class-data sharing, each release.
fn cds_sections() -> Vec<String> {
    use entrypoint_tests::{cds_bench, SPARK_3, SPARK_4};
    let mut sections = Vec::new();
    for spark in [SPARK_3, SPARK_4] {
        sections.push(cds_bench::section(spark, 12));
        sections.push(cds_bench::driver_section(spark, 12));
    }
    sections
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--cds-only") {
        // The class-data sharing section alone, to stdout (BENCH.md is left as it is).
        let mut md = String::new();
        // The class-data sharing section alone, in place of the one BENCH.md has (it is the
        // file's last), with the machine it ran on; the rest of the file is left as it is.
        let cds = cds_sections();
        entrypoint_tests::cds_bench::write_section(&mut md, &cds);
        let _ = writeln!(md, "\nMeasured by `bench --cds-only` on {}.", machine());
        let path = entrypoint_tests::workspace_root().join("BENCH.md");
        let old = fs::read_to_string(&path).unwrap_or_default();
        let kept = old
            .split(entrypoint_tests::cds_bench::HEADER)
            .next()
            .unwrap_or("");
        fs::write(&path, format!("{}{md}", kept.trim_end())).expect("write report");
        print!("{md}");
        return;
    }
    let out_path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| entrypoint_tests::workspace_root().join("BENCH.md"));
    let rounds_latency = 2000;
    let rounds_overhead = 300;
    let inits = inits();
    for init in &inits {
        assert!(
            init.path.is_file(),
            "{} is missing: `make bench` installs Debian's tini, dumb-init and catatonit",
            init.path.display()
        );
    }
    let mut rows = Vec::new();
    for init in &inits {
        eprintln!("bench: {} ...", init.name);
        let (rss_kib, threads) = rss(init);
        let (orphan_cpu_ms, zombies) = orphans(init);
        let (p50, p90) = (0.0, 0.0);
        let overhead_ms = overhead(init, rounds_overhead);
        rows.push(Row {
            size: fs::metadata(&init.path).map(|m| m.len()).unwrap_or(0),
            linkage: linkage(&init.path),
            rss_kib,
            threads,
            orphan_cpu_ms,
            zombies,
            latency_p50_us: p50,
            latency_p90_us: p90,
            overhead_ms,
        });
    }
    eprintln!("bench: signal-forward latency, all inits side by side ...");
    for (row, (p50, p90)) in rows.iter_mut().zip(latencies(&inits, rounds_latency)) {
        row.latency_p50_us = p50;
        row.latency_p90_us = p90;
    }
    eprintln!("bench: executor role with lookups ...");
    let lookups = lookups(100);
    eprintln!("bench: metrics on and off ...");
    let metrics = metrics_cost(Duration::from_secs(30));
    eprintln!("bench: executors with and without class-data sharing ...");
    let cds = cds_sections();
    let ours = &rows[0];
    let tini = &rows[1];
    let mut md = String::new();
    let _ = writeln!(md, "# spark-init benchmark\n");
    let _ = writeln!(md, "Machine: {}\n", machine());
    let _ = writeln!(
        md,
        "Made by `make bench` (`entrypoint-tests/src/bin/bench.rs`). Every init runs as PID 1 \
         of its own PID namespace (`unshare --pid --fork --mount-proc`), except for the \
         start-to-exec overhead, measured as a plain process (`tini -s`), because unshare's own \
         cost would swamp it. Latency: {rounds_latency} SIGUSR1s sent to each init, timed until \
         the child's `sigwaitinfo` returns (CLOCK_MONOTONIC on both sides), the four inits \
         running side by side with the rounds alternating between them. Overhead: the median, over \
         {rounds_overhead} runs, of the time from spawning `init -- probe now` to the probe's \
         `main`, minus the same for `probe now` spawned directly.\n"
    );
    let _ = writeln!(
        md,
        "| init | binary | linkage | RSS supervising `sleep` | threads | CPU to reap 5,000 orphans | zombies left | forward latency p50 | p90 | start-to-exec overhead |"
    );
    let _ = writeln!(md, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for (init, r) in inits.iter().zip(&rows) {
        let _ = writeln!(
            md,
            "| {} | {:.1} KiB | {} | {} KiB | {} | {:.0} ms | {} | {:.1} µs | {:.1} µs | {:.2} ms |",
            init.name,
            r.size as f64 / 1024.0,
            r.linkage,
            r.rss_kib,
            r.threads,
            r.orphan_cpu_ms,
            r.zombies,
            r.latency_p50_us,
            r.latency_p90_us,
            r.overhead_ms
        );
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let _ = writeln!(md, "\n## spark-init against the targets\n");
    let _ = writeln!(
        md,
        "| measure | target | spark-init | ratio to tini-static | verdict |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---|");
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let mib = ours.size as f64 / 1024.0 / 1024.0;
    let _ = writeln!(
        md,
        "| binary size | ≤ 3 MiB, static | {:.2} MiB, {} | {:.2}× | {} |",
        mib,
        ours.linkage,
        ratio(ours.size as f64, tini.size as f64),
        verdict(mib <= 3.0 && ours.linkage.starts_with("static"))
    );
    let _ = writeln!(
        md,
        "| PID 1 RSS | ≤ 1 MiB, one thread | {} KiB, {} thread(s) | {:.2}× | {} |",
        ours.rss_kib,
        ours.threads,
        ratio(ours.rss_kib as f64, tini.rss_kib as f64),
        verdict(ours.rss_kib <= 1024 && ours.threads == 1)
    );
    let _ = writeln!(
        md,
        "| zombies after 5,000 orphans | 0 | {} | — | {} |",
        ours.zombies,
        verdict(ours.zombies == 0)
    );
    let _ = writeln!(
        md,
        "| reaping CPU, 5,000 orphans | (report) | {:.0} ms | {:.2}× | — |",
        ours.orphan_cpu_ms,
        ratio(ours.orphan_cpu_ms, tini.orphan_cpu_ms)
    );
    let lat = ratio(ours.latency_p50_us, tini.latency_p50_us);
    let _ = writeln!(
        md,
        "| forward latency p50 | ≤ 1.2× tini's | {:.1} µs (p90 {:.1} µs) | {:.2}× (p90 {:.2}×) | {} |",
        ours.latency_p50_us,
        ours.latency_p90_us,
        lat,
        ratio(ours.latency_p90_us, tini.latency_p90_us),
        verdict(lat <= 1.2)
    );
    let _ = writeln!(
        md,
        "| start-to-exec overhead | ≤ 1 ms median | {:.2} ms | {:.2}× | {} |",
        ours.overhead_ms,
        ratio(ours.overhead_ms, tini.overhead_ms),
        verdict(ours.overhead_ms <= 1.0)
    );
    let added = lookups.with_ms - lookups.without_ms;
    let _ = writeln!(
        md,
        "| lookups added to start-to-exec (executor role: Marathon, then the driver's REST API, on loopback fakes) | ≤ 20 ms p50 | {added:.2} ms ({:.2} ms with, {:.2} ms without) | — | {} |",
        lookups.with_ms,
        lookups.without_ms,
        verdict(added <= 20.0)
    );
    let _ = writeln!(
        md,
        "| PID 1 after lookups (they run in a child process) | ≤ 1 MiB, one thread | {} KiB, {} thread(s) | — | {} |",
        lookups.rss_kib,
        lookups.threads,
        verdict(lookups.rss_kib <= 1024 && lookups.threads == 1)
    );
    metrics_rows(&mut md, &metrics);
    let _ = writeln!(
        md,
        "\nBinary size (issue 15), what each step saved, measured on the musl release \
         build: 4,383,184 bytes (4.18 MiB) before; the `spark-defaults.conf` reader written \
         to `java.util.Properties`' rules (`src/spark/properties.rs`, held to the JDK by the \
         oracle and a differential fuzz test in `spark_oracles.rs`) instead of the \
         `java-properties` crate, which took a regex engine and `encoding_rs` with it: \
         3,240,304 bytes (−1,142,880); `url`'s host parsing without Unicode tables \
         (`idna_adapter` 1.0, the ASCII-only back end: hosts here are DNS names and \
         addresses): 3,113,328 bytes (−126,976), 2.97 MiB. The receiver barrier then added \
         28,704 bytes; linking with rust-lld and identical code folding (`--icf=all`) took \
         55,896 off that tree (3,142,032 → 3,086,136). With the rest of issues 14–18 (the \
         help's tables, the logs' provenance, class-data sharing) it was 3,166,072; leaving \
         debug and trace lines out of the release build (`tracing`'s \
         `release_max_level_info`, ours and the HTTP and ZooKeeper clients') took 32,192 off, \
         3,134,840 with the two debug lines that mattered raised to info. The driver's \
         class-data sharing and the static archives took it to 3,146,616, over again; \
         linking without `.eh_frame_hdr`, the unwinder's index that nothing in a binary \
         that never unwinds (`panic = \"abort\"`, a panic hook without backtraces) searches, \
         took 51,792 off: 3,094,824; the rules a trial of the driver's archive added (ZGC, \
         heap options, the archive's size, stopping on SIGTERM) brought it to 3,101,736. What is left is mostly the HTTPS stack (rustls and ring \
         about 430 KiB of code, reqwest and hyper about 180 KiB), std and the unwind tables \
         of the prebuilt std and ring (`.eh_frame`, about 350 KiB); `make build` refuses a \
         binary over 3 MiB. It is built non-PIE without unwind tables of its own \
         (`.cargo/config.toml`). PID 1's resident set is what the \
         container pays for, and it stays under 1 MiB: PID 1 drops its read-only pages once \
         it supervises (`MADV_DONTNEED` on file-backed mappings without private pages) and \
         every lookup runs in a child process."
    );
    let _ = writeln!(
        md,
        "\nNotes: the RSS is what the kernel reports (`VmRSS`), shared pages of a dynamic \
         libc included (dumb-init is dynamically linked in Debian). Wall-clock numbers vary \
         from run to run on a shared 2-core machine; compare the ratios of one run."
    );
    // Last, so that `bench --cds-only` can replace it alone.
    entrypoint_tests::cds_bench::write_section(&mut md, &cds);
    fs::write(&out_path, &md).expect("write report");
    print!("{md}");
    eprintln!("bench: wrote {}", out_path.display());
}
