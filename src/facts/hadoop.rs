//! `$HADOOP_HOME/bin/hadoop classpath`, run once, bounded, as the official Spark image's
//! entrypoint runs it when `SPARK_DIST_CLASSPATH` is unset ("so Hadoop jars are available to the
//! executor").

use std::process::Command;
use std::time::Duration;

use crate::config::Problem;
use crate::facts::child::run_bounded;
use crate::sourced::Sourced;

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
    let mut command = Command::new(&program);
    command.arg("classpath");
    let ran = run_bounded(command, TIMEOUT).map_err(&fail)?;
    if let Some(why) = ran.failure() {
        return Err(fail(why));
    }
    let out = String::from_utf8_lossy(&ran.stdout);
    Ok(Sourced::new(
        out.trim().to_string(),
        format!("{program} classpath"),
    ))
}
