//! A real carbon daemon for the tests: Debian's `graphite-carbon` (`make test` installs it),
//! `carbon-cache` in the foreground with a temporary `carbon.conf` — its line receiver (the
//! plaintext protocol) on a free loopback port, the pickle receiver and cache query port on
//! ports the kernel picks, no UDP, no tags, no limit on creates — and a `storage-schemas.conf`
//! of one-second points kept for an hour. What it stored is read back from its whisper files
//! with Debian's `python3-whisper`, as Graphite's own web app reads them.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{free_port, poll, HANG};

pub struct Carbon {
    /// The line receiver's port: `SPARK_INIT_GRAPHITE=127.0.0.1:<port>`.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Carbon {
    pub fn start() -> Self {
        assert!(
            Path::new("/usr/bin/carbon-cache").is_file(),
            "Debian's graphite-carbon is not installed: run `make test` (it installs it with \
             python3-whisper)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let root = dir.path().display().to_string();
        fs::write(
            dir.path().join("carbon.conf"),
            format!(
                "[cache]\n\
                 STORAGE_DIR = {root}/storage/\n\
                 LOCAL_DATA_DIR = {root}/storage/whisper/\n\
                 CONF_DIR = {root}/\n\
                 LOG_DIR = {root}/log/\n\
                 PID_DIR = {root}/\n\
                 DATABASE = whisper\n\
                 USER =\n\
                 ENABLE_TAGS = False\n\
                 MAX_CACHE_SIZE = inf\n\
                 MAX_UPDATES_PER_SECOND = inf\n\
                 MAX_CREATES_PER_MINUTE = inf\n\
                 LINE_RECEIVER_INTERFACE = 127.0.0.1\n\
                 LINE_RECEIVER_PORT = {port}\n\
                 ENABLE_UDP_LISTENER = False\n\
                 PICKLE_RECEIVER_INTERFACE = 127.0.0.1\n\
                 PICKLE_RECEIVER_PORT = 0\n\
                 CACHE_QUERY_INTERFACE = 127.0.0.1\n\
                 CACHE_QUERY_PORT = 0\n\
                 LOG_LISTENER_CONN_SUCCESS = False\n"
            ),
        )
        .unwrap();
        fs::write(
            dir.path().join("storage-schemas.conf"),
            "[everything]\npattern = .*\nretentions = 1s:1h\n",
        )
        .unwrap();
        let log = fs::File::create(dir.path().join("carbon.out")).unwrap();
        let child = Command::new("carbon-cache")
            .arg(format!("--config={root}/carbon.conf"))
            .arg(format!("--pidfile={root}/carbon.pid"))
            .args(["--nodaemon", "start"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start carbon-cache");
        let mut carbon = Carbon { port, dir, child };
        poll("carbon's line receiver to listen", HANG, || {
            if let Ok(Some(status)) = carbon.child.try_wait() {
                panic!("carbon-cache exited ({status}):\n{}", carbon.log());
            }
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        carbon
    }

    /// `SPARK_INIT_GRAPHITE` for it.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends carbon a signal (SIGSTOP to stall it, SIGKILL to end it).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("carbon.out")).unwrap_or_default()
    }

    /// Every series carbon has a whisper file for, as dotted paths, sorted.
    pub fn series(&self) -> Vec<String> {
        let root = self.dir.path().join("storage/whisper");
        let mut found = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Some(rel) = path
                    .strip_prefix(&root)
                    .ok()
                    .and_then(|r| r.to_str()?.strip_suffix(".wsp"))
                {
                    found.push(rel.replace('/', "."));
                }
            }
        }
        found.sort();
        found
    }

    fn file(&self, series: &str) -> PathBuf {
        let rel = series.replace('.', "/") + ".wsp";
        self.dir.path().join("storage/whisper").join(rel)
    }

    /// The points stored for `series`, oldest first: `(timestamp, value)`; empty when carbon
    /// has no such series (yet).
    pub fn points(&self, series: &str) -> Vec<(u64, f64)> {
        let file = self.file(series);
        if !file.is_file() {
            return Vec::new();
        }
        // Debian's python3, which python3-whisper is installed for (not one earlier on PATH).
        let out = Command::new("/usr/bin/python3")
            .args([
                "-c",
                "import sys, whisper\n\
                 (start, end, step), values = whisper.fetch(sys.argv[1], 0)\n\
                 for i, v in enumerate(values):\n\
                 \x20   if v is not None: print(start + i * step, v)\n",
            ])
            .arg(&file)
            .output()
            .expect("Debian's python3 (with python3-whisper)");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("No module named"),
            "reading {}: {err}: install Debian's python3-whisper",
            file.display()
        );
        if !out.status.success() {
            // A file carbon is still creating: not there yet.
            return Vec::new();
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let (t, v) = line.split_once(' ')?;
                Some((t.parse().ok()?, v.parse().ok()?))
            })
            .collect()
    }

    /// Waits until carbon has stored a point of `series` for which `wanted` holds; returns
    /// the points.
    pub fn wait_for(
        &self,
        series: &str,
        limit: Duration,
        wanted: impl Fn(f64) -> bool,
    ) -> Vec<(u64, f64)> {
        poll(&format!("carbon to store {series}"), limit, || {
            let points = self.points(series);
            points.iter().any(|&(_, v)| wanted(v)).then_some(points)
        })
    }
}

impl Drop for Carbon {
    fn drop(&mut self) {
        // A stopped carbon must be continued for SIGKILL to reap it promptly.
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.pid(), libc::SIGCONT) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
