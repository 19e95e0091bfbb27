//! A real Spark application's parts for the tests: the `TinyDriver` (`java-spark/`) compiled
//! against a release's jars, as classes and as an application jar for spark-submit, and a
//! standalone master with no workers (like the constrained Mesos framework, its driver only
//! has the executors that attach on their own).

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{free_port, module_options, poll, spark_jars, workspace_root, Killed, HANG};

/// Compiles `java-spark/<class>.java` against the jars of `spark` into
/// `target/java-spark-<spark>/`; returns that folder.
pub fn compiled(spark: &str, class: &str) -> PathBuf {
    let out = workspace_root().join(format!("target/java-spark-{spark}"));
    fs::create_dir_all(&out).unwrap();
    let status = Command::new("javac")
        .arg("-cp")
        .arg(format!("{}/*", spark_jars(spark).display()))
        .arg("-d")
        .arg(&out)
        .arg(workspace_root().join(format!("entrypoint-tests/java-spark/{class}.java")))
        .status()
        .expect("javac");
    assert!(status.success());
    out
}

/// `<class>` alone as an application jar for spark-submit, `target/<name>-<spark>.jar`.
pub fn application_jar(spark: &str, class: &str, name: &str) -> PathBuf {
    let classes = compiled(spark, class);
    let jar = workspace_root().join(format!("target/{name}-{spark}.jar"));
    // The class and its nested ones, not the other applications compiled beside it.
    let mut files: Vec<String> = fs::read_dir(&classes)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f == &format!("{class}.class") || f.starts_with(&format!("{class}$")))
        .collect();
    files.sort();
    let mut command = Command::new("jar");
    command.arg("cf").arg(&jar);
    for file in files {
        command.arg("-C").arg(&classes).arg(file);
    }
    let status = command.status().expect("jar");
    assert!(status.success());
    jar
}

/// `TinyDriver` compiled against the jars of `spark`; returns the classes' folder.
pub fn tiny_driver_classes(spark: &str) -> PathBuf {
    compiled(spark, "TinyDriver")
}

/// The same class as an application jar, `target/tiny-driver-<spark>.jar`.
pub fn tiny_driver_jar(spark: &str) -> PathBuf {
    application_jar(spark, "TinyDriver", "tiny-driver")
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
