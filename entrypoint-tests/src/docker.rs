//! The Docker engine for the container tests: whether one answers, the images they need (and
//! that the image's spark-init is the binary under test), and a [`Scope`] that names every
//! container and network a test makes with one unique prefix and removes them all when dropped,
//! pass or fail. ZooKeeper in a container ([`ZooKeeperContainer`]) runs on the test's network.
//!
//! No registry here: every image is local (`make image`). ZooKeeper's container is the OS base
//! image `spark-init-os:bookworm` (Java 17) with the host's Debian `zookeeper` jars mounted
//! read-only: the same ZooKeeper the local tests run, and nothing to build or keep in step.

use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::{poll, spark_init_bin, HANG};

/// The variable that makes a missing engine a failure (`.ci/run` sets it).
pub const REQUIRE: &str = "SPARK_INIT_TEST_REQUIRE_DOCKER";

/// The OS base image `make image` builds (Debian 12, Java 17).
pub const OS_IMAGE: &str = "spark-init-os:bookworm";

/// `docker <args>`, its output collected.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the docker command")
}

/// `docker <args>`, which must succeed; returns its trimmed stdout.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether a Docker engine answers (`docker version` reaches the server).
pub fn engine_answers() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a container test can run: `true` with an engine and the image `spark-init:<spark>`
/// holding the binary under test. Without them it says so plainly on stderr and returns
/// `false` (the test then passes without running), unless `SPARK_INIT_TEST_REQUIRE_DOCKER=1`,
/// when it fails. A stale image (another spark-init than `make build`'s) always fails.
pub fn ready(test: &str, spark: &str) -> bool {
    let required = std::env::var(REQUIRE).is_ok_and(|v| v == "1");
    let missing = if !engine_answers() {
        Some("no Docker engine answers (`docker version` failed)".to_string())
    } else {
        [OS_IMAGE.to_string(), image(spark)]
            .into_iter()
            .find(|tag| !docker(&["image", "inspect", tag]).status.success())
            .map(|tag| format!("no image {tag} (`make image` builds it; `make test` does)"))
    };
    if let Some(why) = missing {
        assert!(!required, "{test}: {why}, and {REQUIRE}=1");
        // Straight to the process's stderr, not through the test harness's capture of
        // `eprintln!`, so that `cargo test` shows it for a test that passes.
        let line = format!("SKIPPED {test}: {why}; set {REQUIRE}=1 to make this a failure\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        return false;
    }
    assert_binary_matches(&image(spark));
    true
}

/// The image of spark-init in front of Spark `spark`, as `make image` tags it.
pub fn image(spark: &str) -> String {
    format!("spark-init:{spark}")
}

/// The image's `/usr/local/bin/spark-init` is the binary under test, byte for byte: otherwise
/// the tests would check an older build (`make image` after `make build` refreshes it).
fn assert_binary_matches(image: &str) {
    let out = Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "cat", image])
        .arg("/usr/local/bin/spark-init")
        .stdin(Stdio::null())
        .output()
        .expect("docker run");
    let local = std::fs::read(spark_init_bin()).expect("the binary under test");
    assert!(
        out.status.success() && out.stdout == local,
        "{image}'s /usr/local/bin/spark-init is not {} (run `make image`, which `make test` \
         runs, to rebuild the image with the binary under test)",
        spark_init_bin().display()
    );
}

/// A test's containers and networks: each named `<prefix>-<name>` and labelled
/// `org.spark-init.test=<prefix>`; all removed when the scope is dropped.
pub struct Scope {
    pub prefix: String,
    networks: Vec<String>,
}

pub const LABEL: &str = "org.spark-init.test";

impl Scope {
    /// A new scope whose prefix names the test (`sit-<what>-<pid>-<random>`).
    pub fn new(what: &str) -> Self {
        let mut random = [0u8; 3];
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            let _ = std::io::Read::read_exact(&mut f, &mut random);
        }
        let tag: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Scope {
            prefix: format!("sit-{what}-{}-{tag}", std::process::id()),
            networks: Vec::new(),
        }
    }

    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    pub fn label(&self) -> String {
        format!("{LABEL}={}", self.prefix)
    }

    /// `docker run -d` of a container `name` (see [`Scope::name`]) of this scope at `address`
    /// on `network`; `rest` is the options after those, then the image and its command.
    pub fn run_detached(&self, name: &str, network: &Network, address: &str, rest: &[&str]) {
        let label = self.label();
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name,
            "--label",
            &label,
            "--network",
            &network.name,
            "--ip",
            address,
        ];
        args.extend_from_slice(rest);
        docker_ok(&args);
    }

    /// A user-defined bridge network with a /24 of its own (so tasks can be given addresses):
    /// a free one among 10.213.0.0/16 … 10.252.0.0/16, tried until the engine takes one.
    pub fn network(&mut self) -> Network {
        let name = self.name("net");
        let mut random = [0u8; 16];
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            let _ = std::io::Read::read_exact(&mut f, &mut random);
        }
        for pair in random.chunks(2) {
            let (a, b) = (213 + pair[0] % 40, pair[1]);
            let subnet = format!("10.{a}.{b}.0/24");
            let out = docker(&[
                "network",
                "create",
                "--driver",
                "bridge",
                "--subnet",
                &subnet,
                "--label",
                &self.label(),
                &name,
            ]);
            if out.status.success() {
                self.networks.push(name.clone());
                return Network {
                    name,
                    base: format!("10.{a}.{b}"),
                    next: std::sync::Arc::new(std::sync::atomic::AtomicU8::new(2)),
                };
            }
        }
        panic!("no free /24 in 10.213-252.x.0 for the test network {name}");
    }

    /// The test's containers and networks that exist now (what `docker ps -a` and `docker
    /// network ls` list with the scope's label).
    pub fn left(&self) -> Vec<String> {
        let filter = format!("label={}", self.label());
        let mut left: Vec<String> =
            docker_ok(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])
                .lines()
                .map(String::from)
                .collect();
        left.extend(
            docker_ok(&[
                "network",
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.Name}}",
            ])
            .lines()
            .map(String::from),
        );
        left
    }

    /// Removes the scope's containers (then its networks).
    pub fn remove_all(&self) {
        let filter = format!("label={}", self.label());
        let ids = docker_ok(&["ps", "-aq", "--filter", &filter]);
        for id in ids.lines() {
            let _ = docker(&["rm", "-f", "-v", id]);
        }
        for net in &self.networks {
            let _ = docker(&["network", "rm", net]);
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// Removes every container, then every network, whose name starts with `start` and that
/// carries the tests' label (for a process that exits without dropping its [`Scope`]).
pub fn remove_named(start: &str) {
    let filter = format!("label={LABEL}");
    let listed = docker(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]);
    for name in String::from_utf8_lossy(&listed.stdout).lines() {
        if name.starts_with(start) {
            let _ = docker(&["rm", "-f", "-v", name]);
        }
    }
    let listed = docker(&[
        "network",
        "ls",
        "--filter",
        &filter,
        "--format",
        "{{.Name}}",
    ]);
    for name in String::from_utf8_lossy(&listed.stdout).lines() {
        if name.starts_with(start) {
            let _ = docker(&["network", "rm", name]);
        }
    }
}

/// A user-defined bridge network: the gateway (the host's side, `<base>.1`) and an address for
/// each container in turn (`<base>.2` on), never given twice in the network's life.
#[derive(Clone, Debug)]
pub struct Network {
    pub name: String,
    base: String,
    next: std::sync::Arc<std::sync::atomic::AtomicU8>,
}

impl Network {
    /// The host's address on the network (where the launcher listens for the tasks).
    pub fn gateway(&self) -> String {
        format!("{}.1", self.base)
    }

    /// A new address for a container.
    pub fn address(&self) -> String {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert!(n < 255, "network {} has no address left", self.name);
        format!("{}.{n}", self.base)
    }
}

/// ZooKeeper (Debian's jars from the host, mounted read-only) in a container of its own on
/// `network`, port 2181 at its own address; `docker restart` keeps its data (in the container).
pub struct ZooKeeperContainer {
    pub name: String,
    pub address: String,
}

impl ZooKeeperContainer {
    pub fn start(scope: &Scope, network: &Network) -> Self {
        assert!(
            std::path::Path::new("/usr/share/java/zookeeper.jar").is_file(),
            "Debian's zookeeper package is not installed: run `make test` (it installs it)"
        );
        let name = scope.name("zookeeper");
        let address = network.address();
        scope.run_detached(
            &name,
            network,
            &address,
            &[
                "-v",
                "/usr/share/java:/usr/share/java:ro",
                OS_IMAGE,
                "java",
                "-XX:-UsePerfData",
                "-Xmx256m",
                "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.4lw.commands.whitelist=ruok,srvr",
                "-cp",
                "/usr/share/java/zookeeper.jar:/usr/share/java/*",
                "org.apache.zookeeper.server.ZooKeeperServerMain",
                "2181",
                "/var/lib/zookeeper-test",
            ],
        );
        let zk = ZooKeeperContainer { name, address };
        zk.wait_ready();
        zk
    }

    pub fn connect_string(&self) -> String {
        format!("{}:2181", self.address)
    }

    /// `docker restart` (SIGTERM, then the same container again), then waits for `ruok`.
    pub fn restart(&self) {
        docker_ok(&["restart", "-t", "5", &self.name]);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let address = self.address.clone();
        poll("ZooKeeper's container to answer ruok", HANG, || {
            use std::io::{Read, Write};
            let mut s = TcpStream::connect((address.as_str(), 2181)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
            s.write_all(b"ruok").ok()?;
            let mut answer = String::new();
            s.read_to_string(&mut answer).ok()?;
            (answer == "imok").then_some(())
        });
    }
}
