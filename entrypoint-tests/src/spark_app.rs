//! A real Spark application's parts for the tests: the `TinyDriver` (`java-spark/`) compiled
//! against a release's jars, as classes and as an application jar for spark-submit, and a
//! standalone master with no workers (like the constrained Mesos framework, its driver only
//! has the executors that attach on their own).

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{free_port, module_options, poll, spark_jars, workspace_root, Killed, HANG};

/// Compiles `TinyDriver.java` against the jars of `spark` into `target/java-spark-<spark>/`;
/// returns that folder.
pub fn tiny_driver_classes(spark: &str) -> PathBuf {
    let out = workspace_root().join(format!("target/java-spark-{spark}"));
    fs::create_dir_all(&out).unwrap();
    let status = Command::new("javac")
        .arg("-cp")
        .arg(format!("{}/*", spark_jars(spark).display()))
        .arg("-d")
        .arg(&out)
        .arg(workspace_root().join("entrypoint-tests/java-spark/TinyDriver.java"))
        .status()
        .expect("javac");
    assert!(status.success());
    out
}

/// The same classes as an application jar, `target/tiny-driver-<spark>.jar`.
pub fn tiny_driver_jar(spark: &str) -> PathBuf {
    let classes = tiny_driver_classes(spark);
    let jar = workspace_root().join(format!("target/tiny-driver-{spark}.jar"));
    let status = Command::new("jar")
        .arg("cf")
        .arg(&jar)
        .arg("-C")
        .arg(&classes)
        .arg(".")
        .status()
        .expect("jar");
    assert!(status.success());
    jar
}

/// `java` with the release's module options and a small heap, its output to `log` and
/// `log.err`.
pub fn spark_jvm(spark: &str, classpath: &str, log: &Path) -> Command {
    let mut cmd = Command::new("java");
    cmd.args(module_options(spark))
        .args(["-XX:-UsePerfData", "-Xmx512m", "-cp", classpath])
        .env_remove("JAVA_TOOL_OPTIONS")
        .stdin(Stdio::null())
        .stdout(fs::File::create(log).unwrap())
        .stderr(fs::File::create(log.with_extension("err")).unwrap());
    cmd
}

/// A standalone master with no workers, listening on a free loopback port.
pub fn start_master(spark: &str, dir: &Path) -> (Killed, u16) {
    let port = free_port();
    let jars = format!("{}/*", spark_jars(spark).display());
    let master = Killed(
        spark_jvm(spark, &jars, &dir.join("master.log"))
            .args([
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
            ])
            .args(["--port", &port.to_string()])
            .args(["--webui-port", &free_port().to_string()])
            .spawn()
            .expect("start the Spark master"),
    );
    poll("the Spark master to listen", HANG, || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    (master, port)
}
