//! A real ZooKeeper for the tests: Debian's `zookeeper` package (`make test` installs it),
//! a standalone server on a free loopback port with a temporary data folder and the admin
//! server off, stopped (and its folder removed) when dropped. It can be stopped and started
//! again on the same port and data, to test a ZooKeeper restart.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::{poll, HANG};

const CLASSPATH: &str = "/usr/share/java/zookeeper.jar:/usr/share/java/*";

pub struct ZooKeeper {
    pub port: u16,
    data: tempfile::TempDir,
    child: Option<Child>,
}

impl ZooKeeper {
    pub fn start() -> Self {
        assert!(
            std::path::Path::new("/usr/share/java/zookeeper.jar").is_file(),
            "Debian's zookeeper package is not installed: run `make test` (it installs it)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut zk = ZooKeeper {
            port,
            data: tempfile::tempdir().unwrap(),
            child: None,
        };
        zk.restart();
        zk
    }

    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) and waits until it answers `ruok`.
    pub fn restart(&mut self) {
        self.stop();
        let log: PathBuf = self.data.path().join("server.log");
        let child = Command::new("java")
            .args(["-XX:-UsePerfData", "-Xmx256m", "-cp", CLASSPATH])
            .arg("-Dzookeeper.admin.enableServer=false")
            .arg("-Dzookeeper.4lw.commands.whitelist=ruok,srvr")
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(self.port.to_string())
            .arg(self.data.path().join("data"))
            .env_remove("JAVA_TOOL_OPTIONS")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ZooKeeper");
        self.child = Some(child);
        let port = self.port;
        poll("ZooKeeper to answer ruok", HANG, || {
            use std::io::{Read, Write};
            let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
            // A server still starting may accept and then say nothing: do not wait on it.
            s.set_read_timeout(Some(std::time::Duration::from_secs(1)))
                .ok()?;
            s.write_all(b"ruok").ok()?;
            let mut answer = String::new();
            s.read_to_string(&mut answer).ok()?;
            (answer == "imok").then_some(())
        });
    }

    /// Runs ZooKeeper's own command-line client (`ZooKeeperMain`) once, e.g. `ls /path`;
    /// returns what it printed.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("java")
            .args(["-XX:-UsePerfData", "-Xmx64m", "-cp", CLASSPATH])
            .arg("org.apache.zookeeper.ZooKeeperMain")
            .args(["-server", &self.connect_string()])
            .args(args)
            .env_remove("JAVA_TOOL_OPTIONS")
            .stdin(Stdio::null())
            .output()
            .expect("ZooKeeperMain");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        self.stop();
    }
}
