//! `probe`: the child that the black-box tests put under spark-init. Each mode does one
//! observable thing and reports through files, stdout or its exit code, so a test can poll for
//! a condition instead of sleeping.
//!
//! Started under the name `java`, it stands in for a JVM (see `main`).
//!
//! Modes (`probe MODE ARGS...`):
//! - `exit N`: exit with code N.
//! - `kill-self SIG`: die of signal SIG (core dumps off).
//! - `record FILE UNTIL`: block every signal (1-64, those libc keeps for itself too), append each one received to FILE (one number a
//!   line), create `FILE.ready` first; exit 0 after recording signal UNTIL.
//! - `group FILE UNTIL`: ignore UNTIL, run `record FILE UNTIL` as a child (which resets its
//!   dispositions), exit with its code.
//! - `orphans N`: double-fork N orphans, wait until all have exited, then poll until no zombie
//!   child of our parent (the init) is left; print the zombie count and exit 0 when it is 0.
//! - `orphans-then-wait N`: the same, then print the count and wait for SIGTERM (exit 143),
//!   so a benchmark can read the init's CPU time while it still runs.
//! - `latency`: print `ready`, then for each SIGUSR1 print the CLOCK_MONOTONIC time (ns) at
//!   which it arrived; exit 143 on SIGTERM.
//! - `now`: print the CLOCK_MONOTONIC time (ns) at which `main` started.
//! - `die-with-orphan`: fork a child that exits at the same moment as we do.
//! - `leave-cleaner FILE CODE`: start `cleaner FILE`, wait until it is ready, exit CODE.
//! - `cleaner FILE`: wait for SIGTERM, then write `cleaned` to FILE and exit 0.
//! - `leave-stubborn FILE CODE`: start `stubborn FILE`, wait until it is ready, exit CODE.
//! - `stubborn FILE`: ignore SIGTERM, write its pid to FILE, wait forever.
//! - `exec-with [--ignore SIG]... [--block SIG]... -- PROGRAM ARGS...`: exec PROGRAM with those
//!   signals ignored and blocked.
//! - `report`: print `cwd=<cwd>` and `fds=<n,n,...>`.
//! - `env-hex NAME`: print the value of NAME as hex bytes (or `unset`).
//! - `touch FILE`: create FILE, exit 0.
//! - `wait-term FILE`: block SIGTERM, create `FILE.ready`, wait for it and exit 143 (as a
//!   JVM does).
//! - `oom-kill ROOT`: play the kernel's OOM killer on a fake cgroup tree at ROOT (v2 when it has
//!   `cgroup.controllers`, else v1's `memory/`): one more `oom_kill`, one more limit hit, the
//!   peak at the limit; then die of SIGKILL. Started as `java` with `PROBE_AS_JAVA=oom-kill`,
//!   it takes ROOT from `PROBE_CGROUP_ROOT`.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use entrypoint_tests::monotonic_ns;
use spark_init::supervise::signals;

fn main() {
    // Started as `java` (a symlink in a fake JAVA_HOME, for the benchmark of the executor
    // role): PROBE_AS_JAVA=now prints the start time, =wait waits for SIGTERM.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if Path::new(&argv0).file_name() == Some(std::ffi::OsStr::new("java")) {
        match std::env::var("PROBE_AS_JAVA").as_deref() {
            Ok("wait") => wait_term(None),
            Ok("oom-kill") => oom_kill(Path::new(
                &std::env::var_os("PROBE_CGROUP_ROOT").expect("PROBE_CGROUP_ROOT"),
            )),
            _ => {
                println!("{}", monotonic_ns());
                return;
            }
        }
    }
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let arg = |i: usize| -> &str { text.get(i).map(String::as_str).unwrap_or_else(|| usage()) };
    let num = |i: usize| -> i32 { arg(i).parse().unwrap_or_else(|_| usage()) };
    match arg(0) {
        "exit" => std::process::exit(num(1)),
        "kill-self" => kill_self(num(1)),
        "record" => record(Path::new(arg(1)), num(2)),
        "group" => group(arg(1), num(2)),
        "orphans" => orphans(num(1) as usize, false),
        "orphans-then-wait" => orphans(num(1) as usize, true),
        "latency" => latency(),
        "now" => println!("{}", monotonic_ns()),
        "die-with-orphan" => die_with_orphan(),
        "leave-cleaner" => leave_helper("cleaner", arg(1), num(2)),
        "cleaner" => cleaner(Path::new(arg(1))),
        "leave-stubborn" => leave_helper("stubborn", arg(1), num(2)),
        "stubborn" => stubborn(Path::new(arg(1))),
        "exec-with" => exec_with(&args[1..]),
        "report" => report(),
        "env-hex" => env_hex(arg(1)),
        "touch" => {
            fs::write(arg(1), b"started\n").expect("touch");
        }
        "wait-term" => wait_term(Some(Path::new(arg(1)))),
        "oom-kill" => oom_kill(Path::new(arg(1))),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("probe: bad arguments; see the comment at the top of probe.rs");
    std::process::exit(2)
}

fn set_disposition(sig: i32, handler: libc::sighandler_t) {
    // SAFETY: SIG_DFL / SIG_IGN run no code of ours.
    unsafe {
        libc::signal(sig, handler);
    }
}

fn kill_self(sig: i32) -> ! {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on our own process.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
    }
    // SIGKILL and the default-terminating signals never return here; SIGSTOP etc. are not used.
    std::process::exit(3)
}

fn append(path: &Path, line: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open record file");
    file.write_all(line.as_bytes()).expect("append");
}

fn record(path: &Path, until: i32) -> ! {
    // spark-init's raw system calls: glibc's wrappers refuse 32 and 33, which it keeps for
    // itself, and the tests send those too.
    let every = signals::SignalSet::of(1..=64);
    assert!(signals::raw_set_mask(libc::SIG_SETMASK, every.bits()));
    for sig in 1..=31 {
        set_disposition(sig, libc::SIG_DFL);
    }
    let ready = path.with_extension("ready");
    fs::write(&ready, format!("{}\n", std::process::id())).expect("ready file");
    loop {
        let signals::Wake::Signal(sig) = signals::wait(every, None) else {
            continue;
        };
        append(path, &format!("{sig}\n"));
        if sig == until {
            std::process::exit(0);
        }
    }
}

fn group(path: &str, until: i32) -> ! {
    set_disposition(until, libc::SIG_IGN);
    let status = Command::new(std::env::current_exe().expect("own path"))
        .args(["record", path, &until.to_string()])
        .status()
        .expect("start recorder");
    std::process::exit(status.code().unwrap_or(1))
}

fn parent_zombies(parent: i32) -> usize {
    let mut count = 0;
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces and parentheses; split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let ppid: Option<i32> = fields.next().and_then(|p| p.parse().ok());
        if state == Some("Z") && ppid == Some(parent) {
            count += 1;
        }
    }
    count
}

fn orphans(n: usize, then_wait: bool) -> ! {
    // SAFETY: getppid has no preconditions.
    let init = unsafe { libc::getppid() };
    let mut fds = [0; 2];
    // SAFETY: pipe writes two fds into the array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read_end, write_end) = (fds[0], fds[1]);
    for _ in 0..n {
        // SAFETY: between fork and _exit the children call only fork and _exit.
        match unsafe { libc::fork() } {
            // SAFETY: only fork and _exit in the forked child.
            0 => unsafe {
                if libc::fork() < 0 {
                    libc::_exit(1);
                }
                // Both the middle process and the orphan exit at once; the orphan is
                // reparented to the init, which must reap it.
                libc::_exit(0);
            },
            pid if pid > 0 => {
                let mut status = 0;
                // SAFETY: waits for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
            }
            _ => panic!("fork failed"),
        }
    }
    // Every orphan held the write end; EOF means all of them have exited.
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(write_end) };
    let mut reader = unsafe_file(read_end);
    let mut sink = Vec::new();
    reader.read_to_end(&mut sink).expect("read pipe");
    // Poll (no fixed sleep) until the init has reaped them, for at most 60 s.
    let start = std::time::Instant::now();
    let mut left = parent_zombies(init);
    while left > 0 && start.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::yield_now();
        left = parent_zombies(init);
    }
    println!("zombies={left}");
    if then_wait {
        std::io::stdout().flush().expect("flush");
        wait_term(None);
    }
    std::process::exit(if left == 0 { 0 } else { 1 })
}

fn unsafe_file(fd: i32) -> fs::File {
    use std::os::fd::FromRawFd;
    // SAFETY: fd is a pipe end we own and nothing else closes.
    unsafe { fs::File::from_raw_fd(fd) }
}

fn die_with_orphan() -> ! {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two fds into the array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only reads and exits.
    match unsafe { libc::fork() } {
        // SAFETY: only close, read and _exit in the forked child.
        0 => unsafe {
            libc::close(fds[1]);
            let mut byte = 0u8;
            // Returns at EOF: the moment the parent exits.
            libc::read(fds[0], (&mut byte as *mut u8).cast(), 1);
            libc::_exit(0);
        },
        pid if pid > 0 => {
            // SAFETY: exiting; the kernel closes the write end and wakes the child.
            unsafe { libc::_exit(0) }
        }
        _ => panic!("fork failed"),
    }
}

fn leave_helper(mode: &str, file: &str, code: i32) -> ! {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .args([mode, file])
        .spawn()
        .expect("start helper");
    let ready = Path::new(file).with_extension("ready");
    while !ready.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("helper exited early: {status}");
        }
        std::thread::yield_now();
    }
    std::process::exit(code)
}

fn wait_for(sig: i32) {
    block(sig);
    // SAFETY: the set is initialised by sigemptyset; a null siginfo is allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        while libc::sigwaitinfo(&set, std::ptr::null_mut()) != sig {}
    }
}

fn block(sig: i32) {
    // SAFETY: plain signal-mask syscalls on our own process.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn cleaner(path: &Path) -> ! {
    // Block TERM before saying we are ready, so the init's TERM cannot come too early.
    block(libc::SIGTERM);
    fs::write(path.with_extension("ready"), b"ready\n").expect("ready file");
    wait_for(libc::SIGTERM);
    // The "cleanup": some real work that takes a moment, then the proof it finished.
    let scratch = path.with_extension("scratch");
    for i in 0..200 {
        fs::write(&scratch, format!("{i}\n")).expect("scratch");
        fs::File::open(&scratch).and_then(|f| f.sync_all()).ok();
    }
    fs::write(path, b"cleaned\n").expect("cleaned");
    std::process::exit(0)
}

fn stubborn(path: &Path) -> ! {
    set_disposition(libc::SIGTERM, libc::SIG_IGN);
    fs::write(path, format!("{}\n", std::process::id())).expect("pid file");
    fs::write(path.with_extension("ready"), b"ready\n").expect("ready file");
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

fn exec_with(args: &[OsString]) -> ! {
    let mut ignore = Vec::new();
    let mut block = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].to_str() {
            Some("--ignore") => ignore.push(parse_sig(&args[i + 1])),
            Some("--block") => block.push(parse_sig(&args[i + 1])),
            Some("--") => break,
            _ => usage(),
        }
        i += 2;
    }
    let rest = &args[i + 1..];
    // spark-init's raw system calls: glibc's wrappers refuse 32 and 33, which it keeps for
    // itself, and the test wants those covered too.
    for sig in ignore {
        // SAFETY: SIG_IGN needs no restorer.
        let ok = unsafe { signals::raw_set_disposition(sig, libc::SIG_IGN) };
        assert!(ok, "ignore signal {sig}");
    }
    let mask: u64 = block.iter().fold(0, |m, sig| m | 1 << (sig - 1));
    assert!(
        signals::raw_set_mask(libc::SIG_BLOCK, mask),
        "block {block:?}"
    );
    let error = Command::new(&rest[0]).args(&rest[1..]).exec();
    eprintln!("probe: exec {:?}: {error}", rest[0]);
    std::process::exit(127)
}

fn parse_sig(arg: &OsString) -> i32 {
    match arg.to_str() {
        Some("INT") => libc::SIGINT,
        Some("TERM") => libc::SIGTERM,
        Some(n) => n.parse().unwrap_or_else(|_| usage()),
        None => usage(),
    }
}

fn report() {
    let cwd = std::env::current_dir().expect("cwd");
    // Collect first, then drop the directory handle, whose own fd is in the listing.
    let dir = fs::read_dir("/proc/self/fd").expect("fd dir");
    let mut names: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    names.sort();
    // The listing's own fd was closed when the iterator was dropped; keep the open ones.
    let fds: Vec<String> = names
        .into_iter()
        .filter(|fd| fs::read_link(format!("/proc/self/fd/{fd}")).is_ok())
        .map(|fd| fd.to_string())
        .collect();
    println!("cwd={}", cwd.display());
    println!("fds={}", fds.join(","));
}

fn env_hex(name: &str) {
    match std::env::var_os(name) {
        None => println!("unset"),
        Some(value) => {
            let hex: String = value
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            println!("{hex}");
        }
    }
}

fn wait_term(ready: Option<&Path>) -> ! {
    block(libc::SIGTERM);
    if let Some(path) = ready {
        fs::write(path.with_extension("ready"), b"ready\n").expect("ready file");
    }
    wait_for(libc::SIGTERM);
    // Behave like a JVM stopped by SIGTERM: exit 143.
    std::process::exit(143)
}

fn latency() -> ! {
    // SAFETY: plain signal-mask syscalls; the set is initialised by sigemptyset.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").expect("write");
    out.flush().expect("flush");
    loop {
        // SAFETY: the set is initialised; a null siginfo is allowed.
        let sig = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if sig == libc::SIGTERM {
            std::process::exit(143);
        }
        if sig == libc::SIGUSR1 {
            writeln!(out, "{}", monotonic_ns()).expect("write");
            out.flush().expect("flush");
        }
    }
}

/// What the kernel's OOM killer leaves in a cgroup's files when it kills a process, then the
/// death itself (see the kernel's Documentation/admin-guide/cgroup-v{1,2}).
fn oom_kill(root: &Path) -> ! {
    if root.join("cgroup.controllers").exists() {
        let events = root.join("memory.events");
        for key in ["max", "oom", "oom_kill"] {
            bump(&events, key);
        }
        let limit = fs::read_to_string(root.join("memory.max")).expect("memory.max");
        fs::write(root.join("memory.peak"), limit).expect("memory.peak");
    } else {
        let memory = root.join("memory");
        bump(&memory.join("memory.oom_control"), "oom_kill");
        let failcnt = memory.join("memory.failcnt");
        let count: u64 = fs::read_to_string(&failcnt)
            .expect("failcnt")
            .trim()
            .parse()
            .unwrap();
        fs::write(&failcnt, format!("{}\n", count + 1)).expect("failcnt");
        let limit = fs::read_to_string(memory.join("memory.limit_in_bytes")).expect("limit");
        fs::write(memory.join("memory.max_usage_in_bytes"), limit).expect("max usage");
    }
    kill_self(libc::SIGKILL)
}

/// Adds one to `key`'s number in a flat-keyed cgroup file (`oom_kill 3`).
fn bump(path: &Path, key: &str) {
    let text = fs::read_to_string(path).expect("cgroup file");
    let bumped: String = text
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((name, n)) if name == key => format!("{name} {}\n", n.parse::<u64>().unwrap() + 1),
            _ => format!("{line}\n"),
        })
        .collect();
    fs::write(path, bumped).expect("write cgroup file");
}
