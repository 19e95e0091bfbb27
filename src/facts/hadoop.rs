//! `$HADOOP_HOME/bin/hadoop classpath`, run once, bounded, as the official Spark image's
//! entrypoint runs it when `SPARK_DIST_CLASSPATH` is unset ("so Hadoop jars are available to the
//! executor").

use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::Problem;
use crate::facts::child::memory_file;
use crate::sourced::Sourced;
use crate::supervise::signals;

/// How long `hadoop classpath` may take (it starts a JVM).
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub fn classpath(home: &Sourced<String>) -> Result<Sourced<String>, Problem> {
    let program = format!("{}/bin/hadoop", home.value);
    let fail = |why: String| {
        Problem::new(
            &home.source,
            Some(&home.value),
            format!(
                "{program} classpath {why}; spark-init runs it, as Spark's image does, when \
                 SPARK_DIST_CLASSPATH is unset: fix the Hadoop installation, set \
                 SPARK_DIST_CLASSPATH, or unset HADOOP_HOME"
            ),
        )
    };
    // Output into memory files, not pipes: nothing reads while it runs.
    let out_file = memory_file(c"hadoop-classpath-out").map_err(|e| fail(e.to_string()))?;
    let err_file = memory_file(c"hadoop-classpath-err").map_err(|e| fail(e.to_string()))?;
    let mut command = Command::new(&program);
    command
        .arg("classpath")
        .stdin(Stdio::null())
        .stdout(out_file.try_clone().map_err(|e| fail(e.to_string()))?)
        .stderr(err_file.try_clone().map_err(|e| fail(e.to_string()))?);
    // SAFETY: reset_in_child makes only async-signal-safe calls and allocates nothing.
    unsafe { command.pre_exec(|| signals::reset_in_child()) };
    let mut child = command
        .spawn()
        .map_err(|e| fail(format!("cannot be run ({e})")))?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "did not finish within {} s",
                    TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(fail(format!("could not be waited for ({e})"))),
        }
    };
    let read = |mut file: std::fs::File| {
        let mut text = String::new();
        let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
        text
    };
    let (out, err) = (read(out_file), read(err_file));
    if !status.success() {
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(fail(format!("failed ({status}): {last}")));
    }
    Ok(Sourced::new(
        out.trim().to_string(),
        format!("{program} classpath"),
    ))
}
