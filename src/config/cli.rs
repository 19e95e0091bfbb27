//! The command line: `spark-init [OPTIONS] [--] [COMMAND [ARG...]]`.
//!
//! Marathon starts the image's ENTRYPOINT with the app's `args` appended and no flags of ours,
//! so every option here also has an environment variable (see `config`).

use std::ffi::OsString;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Driver,
    Executor,
    /// A Spark standalone master with no workers: the driver's cluster manager on Spark 4,
    /// which removed Mesos (README "Spark 4: the Mesos-free deployment").
    Master,
}

impl Role {
    /// The role's word: `--role`, `SPARK_INIT_ROLE` and the first argument use it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Executor => "executor",
            Role::Master => "master",
        }
    }

    /// `SPARK_INIT_ROLE`'s word, in any case and trimmed, as `--role` takes it.
    pub fn from_word(word: &str) -> Option<Role> {
        let word = word.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(word))
    }

    /// Every role, for messages.
    pub const ALL: [Role; 3] = [Role::Driver, Role::Executor, Role::Master];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// spark-init: PID 1 for Spark drivers and executors on Marathon/Mesos.
///
/// With a COMMAND and no role it is a generic init: it builds JAVA_TOOL_OPTIONS, starts
/// COMMAND (looked up on PATH), forwards signals to it, reaps zombies and exits with its code.
///
/// `spark-init cds build` makes the executor's and the driver's class-data sharing archives (for
/// image builds).
#[derive(Debug, Clone, Parser)]
#[command(name = "spark-init", version)]
pub struct Cli {
    /// Spark role to resolve and run (also SPARK_INIT_ROLE).
    #[arg(long, value_enum, ignore_case = true)]
    pub role: Option<Role>,

    /// Resolve everything, print the plan and start nothing (also SPARK_INIT_DRY_RUN=1).
    #[arg(long)]
    pub dry_run: bool,

    /// How the dry-run plan is printed [default: text]; only with --dry-run.
    #[arg(long, value_enum, ignore_case = true)]
    pub output: Option<OutputFormat>,

    /// The command to supervise, and its arguments.
    #[arg(value_name = "COMMAND", trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

/// The outcome of reading argv: options to run with, or text clap wants shown before exiting.
#[derive(Debug)]
pub enum Parsed {
    Run(Cli),
    /// `--help` or `--version`: print to stdout, exit 0.
    Info(String),
}

/// The one-line usage, for errors that clap cannot see (no command and no role).
pub fn usage() -> String {
    command().render_usage().to_string()
}

/// `--version`'s text after the name: the release, the commit it was built from (build.rs)
/// and the Spark releases it runs.
pub fn version() -> String {
    format!(
        "{} (commit {})\nRuns {}",
        env!("CARGO_PKG_VERSION"),
        env!("BUILD_COMMIT"),
        crate::spark::version::SUPPORTED
    )
}

/// The options, with `--version`'s text and `--help`'s sections after the options.
fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
        .version(version())
        .after_help(super::reference::help_sections())
}

/// Parses argv; a usage error carries clap's message (with the usage line).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    use clap::FromArgMatches;
    match (command().try_get_matches_from(args)).and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => Ok(Parsed::Run(cli)),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                Ok(Parsed::Info(e.to_string()))
            }
            // clap starts its message with "error: "; ours adds its own prefix.
            _ => {
                let text = e.to_string();
                Err(text
                    .strip_prefix("error: ")
                    .unwrap_or(&text)
                    .trim_end()
                    .to_string())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Cli, String> {
        match parse(
            std::iter::once("spark-init")
                .chain(args.iter().copied())
                .map(OsString::from),
        )? {
            Parsed::Run(cli) => Ok(cli),
            Parsed::Info(text) => Err(format!("info: {text}")),
        }
    }

    #[test]
    fn command_arguments_are_not_ours() {
        let cli = run(&["java", "-version", "--dry-run"]).unwrap();
        assert_eq!(cli.command, ["java", "-version", "--dry-run"]);
        assert!(!cli.dry_run);
        let cli = run(&["--dry-run", "--", "--weird-name", "-x"]).unwrap();
        assert_eq!(cli.command, ["--weird-name", "-x"]);
        assert!(cli.dry_run);
    }

    #[test]
    fn options_before_the_command() {
        let cli = run(&["--role", "executor", "--output", "json", "--dry-run"]).unwrap();
        assert_eq!(cli.role, Some(Role::Executor));
        assert_eq!(cli.output, Some(OutputFormat::Json));
        assert!(cli.command.is_empty());
    }

    #[test]
    fn unknown_flags_and_values_are_usage_errors() {
        assert!(run(&["--bogus", "java"]).unwrap_err().contains("--bogus"));
        assert!(run(&["--role", "worker", "java"])
            .unwrap_err()
            .contains("worker"));
        assert!(run(&["--output", "yaml"]).unwrap_err().contains("yaml"));
    }

    /// Issue 18: `--role EXECUTOR`, `--output JSON` were usage errors.
    #[test]
    fn enum_values_take_any_case() {
        let cli = run(&["--role", "EXECUTOR", "--output", "Json"]).unwrap();
        assert_eq!(cli.role, Some(Role::Executor));
        assert_eq!(cli.output, Some(OutputFormat::Json));
        assert_eq!(Role::from_word(" Driver "), Some(Role::Driver));
        assert_eq!(Role::from_word("worker"), None);
    }

    #[test]
    fn help_and_version_are_information() {
        assert!(run(&["--version"])
            .unwrap_err()
            .starts_with("info: spark-init "));
        assert!(run(&["--help"]).unwrap_err().contains("--dry-run"));
        // Issue 18: the commit and the Spark releases; the reference after the options.
        let version = run(&["--version"]).unwrap_err();
        assert!(
            version.contains(&format!("(commit {})", env!("BUILD_COMMIT"))),
            "{version}"
        );
        assert!(
            version.contains(crate::spark::version::SUPPORTED),
            "{version}"
        );
        let help = run(&["--help"]).unwrap_err();
        assert!(
            help.contains(&crate::config::reference::help_sections()),
            "{help}"
        );
    }
}
