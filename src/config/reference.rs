//! The operator's reference tables, in one place: README.md's "Environment variables" and "Exit
//! codes" tables and `--help`'s ENVIRONMENT and EXIT CODES sections are both rendered from
//! them, and a test checks the README holds exactly what [`variables_markdown`] and
//! [`exit_codes_markdown`] render, so the two cannot drift.
//!
//! The cells are Markdown as the README shows them; `--help` drops the backticks and the links'
//! targets.

use crate::spark::version;

/// A row of the variables table.
pub struct Variable {
    pub name: &'static str,
    /// Markdown: what applies when the variable is unset.
    pub default: &'static str,
    /// Markdown.
    pub meaning: &'static str,
}

/// The variables every mode reads (role modes read more, listed under the README's table).
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "SPARK_INIT_ROLE",
        default: "unset",
        meaning: "`driver`, `executor` or `master` (same as `--role`).",
    },
    Variable {
        name: "SPARK_INIT_DRY_RUN",
        default: "`0`",
        meaning: "yes (`1`, `true`, `yes`, `on`): dry run.",
    },
    Variable {
        name: "SPARK_INIT_ENCODING",
        default: "`UTF-8`",
        meaning: "the `-Dfile.encoding` default; empty: none.",
    },
    Variable {
        name: "SPARK_INIT_TIMEZONE",
        default: "`PRC`",
        meaning: "the `-Duser.timezone` default; empty: none. An explicit `TZ` in the environment is the operator's choice and wins over `PRC` (the JVM reads `TZ` itself, so no `-Duser.timezone` goes on); `SPARK_INIT_TIMEZONE` wins over both.",
    },
    Variable {
        name: "SPARK_INIT_LOCALE",
        default: "`LANG=C.UTF-8` when none of `LC_ALL`, `LC_CTYPE`, `LANG` is set",
        meaning: "the locale the command gets. Without one the JVM encodes file names as ASCII (`sun.jnu.encoding`) whatever `-Dfile.encoding` says, and a non-ASCII file name throws `InvalidPathException`. Set: given as `LC_ALL`; empty: none.",
    },
    Variable {
        name: "JAVA_TOOL_OPTIONS",
        default: "unset",
        meaning: "the image's JVM options, merged (the README's section JAVA_TOOL_OPTIONS).",
    },
    Variable {
        name: "SPARK_JAVA_OPT_<n>",
        default: "unset",
        meaning: "one JVM option each, verbatim, merged in order of `n` (the README's section JAVA_TOOL_OPTIONS).",
    },
    Variable {
        name: "SPARK_INIT_JAVA_OPTS",
        default: "unset",
        meaning: "JVM options, split as Spark splits `extraJavaOptions`; merged last.",
    },
    Variable {
        name: "SPARK_INIT_USER",
        default: "unset",
        meaning: "who the command runs as, `user[:group]` (names or numbers, as gosu takes them); `root` keeps root. Unset: a Spark role started as root runs as `spark` when the image has that user, a plain command as the container's user. See [Users](#users).",
    },
    Variable {
        name: "SPARK_INIT_MASTER_APP",
        default: "unset",
        meaning: "driver: the Marathon app of its standalone master (see [Spark 4: the Mesos-free deployment](#spark-4-the-mesos-free-deployment)).",
    },
    Variable {
        name: "SPARK_INIT_EXECUTOR_WAIT",
        default: "`300`",
        meaning: "driver with `SPARK_INIT_EXECUTOR_APP`: seconds (decimal, 0–86400) its `SparkContext` waits for every executor to attach, as `spark.scheduler.maxRegisteredResourcesWaitingTime`; `0` turns the barrier off (see [The receiver barrier](#the-receiver-barrier)).",
    },
    Variable {
        name: "SPARK_INIT_GRACE_SECONDS",
        default: "unset",
        meaning: "opt-in grace (decimal seconds, 0–86400) before spark-init SIGKILLs a command that does not stop, one budget for the stop and for what it leaves behind. Unset, a stop never escalates while the command runs — Marathon sends SIGKILL itself after the app's `taskKillGracePeriodSeconds` (Docker after `stop -t`), as tini and dumb-init leave it to them, so a JVM's shutdown hooks get all of the orchestrator's grace — and what the command leaves behind gets 10 s (SIGTERM, then SIGKILL) so the container ends.",
    },
    Variable {
        name: "SPARK_INIT_SIGNAL_GROUP",
        default: "`0`",
        meaning: "`1`: forward signals to the command's whole process group.",
    },
    Variable {
        name: "SPARK_INIT_EXIT_REMAP",
        default: "unset",
        meaning: "`FROM=TO[,FROM=TO...]`, codes 0–255; e.g. `143=0` (a JVM stopped by SIGTERM exits 143).",
    },
    Variable {
        name: "SPARK_INIT_LOG",
        default: "`info`",
        meaning: "log filter: a level (`error`, `warn`, `info`, `debug`, `trace`, `off`, any case) or `target=level` pairs; any other word (`warning`, `debg`) is a configuration error naming the closest level. The release binary has no `debug` or `trace` lines (compiled out to keep it under 3 MiB): those levels log what `info` does.",
    },
    Variable {
        name: "SPARK_INIT_LOG_FORMAT",
        default: "`text`",
        meaning: "`json` (any case) for log shippers: one object a line, `\"target\": \"spark_init::…\"`, `\"process\": \"spark-init\"` and its `pid` (also on the lines of the lookup processes it forks), numbers as numbers, the command as an array (`argv`), a resolved value as JSON (`value`).",
    },
    Variable {
        name: "SPARK_INIT_TERMINATION_LOG",
        default: "`$MESOS_SANDBOX/spark-init-termination.json` when `MESOS_SANDBOX` is set, else none",
        meaning: "where the termination summary goes: one JSON object with the facts of the exit line (see [When an executor dies](#when-an-executor-dies)); empty: none. Written whole (a temporary file, then a rename); a failure to write it is a warning.",
    },
    Variable {
        name: "SPARK_INIT_CDS_ARCHIVE",
        default: "`/opt/spark-init/executor.jsa`",
        meaning: "executor: the class-data sharing archive `spark-init cds build` writes and the executor uses when its manifest `<archive>.json` matches (see [Class-data sharing](#class-data-sharing-appcds)); empty: none.",
    },
    Variable {
        name: "SPARK_INIT_CDS_DRIVER_ARCHIVE",
        default: "`/opt/spark-init/driver.jsa`",
        meaning: "driver: the same for the driver's JVM, which then gets Spark's jars as `spark.driver.extraClassPath` and the archive in `SPARK_SUBMIT_OPTS`; empty: none.",
    },
    Variable {
        name: "SPARK_INIT_CGROUP_ROOT",
        default: "`/sys/fs/cgroup`",
        meaning: "where the container's cgroup is mounted: its limits (role modes), its memory counters, read before the command starts and after it exits (every mode), and the container statistics sent with `SPARK_INIT_GRAPHITE`.",
    },
    Variable {
        name: "SPARK_INIT_GRAPHITE",
        default: "unset",
        meaning: "`host:port` (`[v6]:port`) of a Graphite plaintext listener (carbon's `LINE_RECEIVER_PORT`, usually 2003): Spark's metrics for the role and the container's cgroup statistics go there (see [Metrics](#metrics)). Empty: none.",
    },
    Variable {
        name: "SPARK_INIT_GRAPHITE_PREFIX",
        default: "the Marathon app and task: `MARATHON_APP_ID` with `/` as `.`, then the instance of `MESOS_TASK_ID` (`spark.orders.executors.<uuid>_<incarnation>`); without Marathon's variables the host name",
        meaning: "the Graphite path every series of this container starts with: dot-separated names of letters, digits, `_` and `-`.",
    },
    Variable {
        name: "SPARK_INIT_GRAPHITE_INTERVAL",
        default: "`10`",
        meaning: "seconds (a whole number, 1–3600) between two samples of the container statistics, and Spark's sink `period`.",
    },
];

/// The exit-code contract: (code, meaning), Markdown; the codes are [`crate::exit_code`]'s.
pub const EXIT_CODES: &[(&str, &str)] = &[
    ("the command's", "the command exited with it (after `SPARK_INIT_EXIT_REMAP`)"),
    ("128+N", "the command died of signal N (e.g. 137 for SIGKILL, 143 for SIGTERM); also a stop (SIGTERM 143, SIGINT 130) that arrived while a role was still resolving, before the command started (an INFO line, Marathon's ordinary stop); both after `SPARK_INIT_EXIT_REMAP`"),
    ("64", "usage: unknown flag or value, no command and no role"),
    ("69", "a required service did not give what was needed before its deadline (the driver or, for a driver, its master through Marathon; the application ID), or answered with something that is not the JSON expected"),
    ("70", "internal error (e.g. cannot become a subreaper, cannot take over signals, the lookup process failed, a bug: \"internal error … please report it\")"),
    ("73", "`spark-init cds build` could not make an archive (its training run, a dump or the JVM's check failed; the message names the step and the logs)"),
    ("78", "bad configuration: a variable, file or argument that does not parse or is missing, an unsupported Spark or Java (Spark 5, Spark 4 below Java 17 or with a `mesos://` master), a missing installation, a user `SPARK_INIT_USER` names that the image lacks or that spark-init cannot switch to, a file the driver needs missing from the image (its application, Mesos' native library), a URL that does not lead to the service (a 404 that is not Marathon's own), or a service refusing us (401, 403, other 4xx, an untrusted certificate); nothing was started"),
    ("126", "the command was found but cannot be executed (the error line says why: not executable, a directory, …)"),
    ("127", "the command was not found (the error line says where it was looked for, or which `#!` interpreter is missing)"),
];

/// The README's variables table.
pub fn variables_markdown() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for v in VARIABLES {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            v.name, v.default, v.meaning
        ));
    }
    out
}

/// The README's exit-code table.
pub fn exit_codes_markdown() -> String {
    let mut out = String::from("| code | meaning |\n|---|---|\n");
    for (code, meaning) in EXIT_CODES {
        out.push_str(&format!("| {code} | {meaning} |\n"));
    }
    out
}

/// `--help`'s text after the options: the environment, the exit codes, the supported Spark
/// releases and where the rest is.
pub fn help_sections() -> String {
    let mut out = String::from("ENVIRONMENT:\n");
    for v in VARIABLES {
        let head = format!("{} (default: {})", v.name, plain(v.default));
        out.push_str(&wrap(&head, 2, 100));
        out.push_str(&wrap(&plain(v.meaning), 6, 100));
    }
    out.push_str(&wrap(
        "Role modes read more (SPARK_HOME, JAVA_HOME, Marathon's task variables, the discovery \
         and framework-store variables): README.md, \"Environment variables\".",
        2,
        100,
    ));
    out.push_str("\nEXIT CODES:\n");
    for (code, meaning) in EXIT_CODES {
        out.push_str(&format!("  {}\n", plain(code)));
        out.push_str(&wrap(&plain(meaning), 6, 100));
    }
    out.push_str("\nSPARK:\n");
    out.push_str(&wrap(&format!("Runs {}.", version::SUPPORTED), 2, 100));
    out.push_str(
        "\nThe whole reference, with the roles' variables: README.md in spark-init's source.\n",
    );
    out
}

/// Markdown cell → plain text: no backticks, a link's text without its target.
fn plain(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(i) = rest.find(['`', '[']) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if rest.as_bytes()[i] == b'`' {
            rest = after;
            continue;
        }
        // `[text](target)` → `text`; a lone `[` stays.
        match after.split_once("](").and_then(|(text, tail)| {
            let (_, tail) = tail.split_once(')')?;
            (!text.contains(']')).then_some((text, tail))
        }) {
            Some((text, tail)) => {
                out.push_str(text);
                rest = tail;
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Words filled into lines of at most `width` columns, each indented by `indent`.
fn wrap(text: &str, indent: usize, width: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > width {
            out.push_str(&format!("{pad}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{pad}{line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = include_str!("../../README.md");

    /// Issue 18: `--help` and the README give the same tables; a change to one side only
    /// fails here, printing the table the README must hold.
    #[test]
    fn the_readme_holds_the_tables_help_prints() {
        for table in [variables_markdown(), exit_codes_markdown()] {
            assert!(
                README.contains(&table),
                "README.md does not hold this table (src/config/reference.rs renders it):\n{table}"
            );
        }
    }

    #[test]
    fn help_names_every_variable_and_exit_code_in_plain_text() {
        let help = help_sections();
        for v in VARIABLES {
            assert!(
                help.contains(&format!("  {} (default: ", v.name)),
                "{}",
                v.name
            );
        }
        for code in ["64", "69", "70", "78", "126", "127", "128+N"] {
            assert!(help.contains(&format!("\n  {code}\n")), "{code}\n{help}");
        }
        assert!(!help.contains('`'), "{help}");
        let long = help
            .lines()
            .find(|l| l.chars().count() > 100 && l.trim().contains(' '));
        assert_eq!(long, None);
    }

    #[test]
    fn markdown_cells_become_plain_text() {
        assert_eq!(plain("`1`: see [Users](#users)."), "1: see Users.");
        assert_eq!(plain("a [b] c"), "a [b] c");
        assert_eq!(plain("`[v6]:port`"), "[v6]:port");
    }

    #[test]
    fn exit_codes_in_the_table_are_the_contracts() {
        use crate::exit_code::*;
        let codes: Vec<&str> = EXIT_CODES.iter().map(|(c, _)| *c).collect();
        for code in [
            USAGE,
            UNAVAILABLE,
            INTERNAL,
            CONFIG,
            CANNOT_EXECUTE,
            NOT_FOUND,
        ] {
            assert!(codes.contains(&code.to_string().as_str()), "{code}");
        }
    }
}
