//! The official Spark image's habits (apache/spark-docker `entrypoint.sh`): `driver` or
//! `executor` as the first argument chooses the role, and any other command runs as it is
//! (its pass-through mode), which is how `docker run <image> bash` gets a shell.
//!
//! The rule, applied after `--role` and `SPARK_INIT_ROLE` are read:
//! - a first argument `driver` or `executor` with no role chosen chooses it, and is removed;
//! - the same word repeating the chosen role is removed too (it would reach spark-submit as
//!   the application: "File file:/.../driver does not exist");
//! - the other role's word contradicts the chosen one: a problem (and removed, so that it is
//!   not reported again as an argument the role's program does not take);
//! - with the role from `SPARK_INIT_ROLE` (an image's setting, not this command line's), a first
//!   argument that is a program — an executable on `PATH`, or a path to one, not a `.jar`,
//!   `.py` or `.R` application — runs as a plain command, with a warning saying why.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::config::cli::Role;
use crate::config::{EnvSnapshot, Problem};
use crate::sourced::Sourced;

fn role_word(arg: &OsString) -> Option<Role> {
    let word = arg.to_str()?;
    Role::ALL.into_iter().find(|role| role.name() == word)
}

/// Applies the rule to the role chosen so far and the command; returns the role to run.
pub fn apply(
    role: Option<Sourced<Role>>,
    command: &mut Vec<OsString>,
    env: &EnvSnapshot,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) -> Option<Sourced<Role>> {
    let Some(first) = command.first() else {
        return role;
    };
    match (role, role_word(first)) {
        (None, Some(word)) => {
            command.remove(0);
            Some(Sourced::new(
                word,
                "the first argument (the official image's subcommand)",
            ))
        }
        (Some(role), Some(word)) if word == role.value => {
            command.remove(0);
            Some(role)
        }
        (Some(role), Some(word)) => {
            problems.push(Problem::new(
                "args",
                first.to_str(),
                format!(
                    "names the {} role, but {} chose {}: remove one of them",
                    name(word),
                    role.source,
                    name(role.value)
                ),
            ));
            // Said once: not again as an argument the role's program refuses.
            command.remove(0);
            Some(role)
        }
        (Some(role), None) if role.source == "SPARK_INIT_ROLE" && is_program(first, env) => {
            warnings.push(format!(
                "{} is a program, so it runs as a plain command, not as the {} role \
                 SPARK_INIT_ROLE chose (as the official image runs a command that is not driver \
                 or executor)",
                first.to_string_lossy(),
                name(role.value)
            ));
            None
        }
        (role, None) => role,
    }
}

fn name(role: Role) -> &'static str {
    role.name()
}

/// An executable on `PATH`, or a path to one; never an option or a Spark application.
fn is_program(arg: &OsString, env: &EnvSnapshot) -> bool {
    let Some(text) = arg.to_str() else {
        return false;
    };
    let application = [".jar", ".py", ".R"].iter().any(|e| text.ends_with(e));
    if text.is_empty() || text.starts_with('-') || text.contains("://") || application {
        return false;
    }
    let executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if text.contains('/') {
        return executable(Path::new(text));
    }
    let path = env.get("PATH").and_then(|p| p.to_str()).unwrap_or("");
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .any(|dir| executable(&Path::new(dir).join(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(role: Option<(Role, &str)>, args: &[&str]) -> (Option<Role>, Vec<String>, usize, usize) {
        let env = EnvSnapshot::new([("PATH".into(), "/bin:/usr/bin".into())]);
        let mut command: Vec<OsString> = args.iter().map(OsString::from).collect();
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        let role = role.map(|(r, source)| Sourced::new(r, source));
        let got = apply(role, &mut command, &env, &mut problems, &mut warnings);
        let left = command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        (got.map(|r| r.value), left, problems.len(), warnings.len())
    }

    #[test]
    fn the_official_images_subcommands() {
        assert_eq!(
            run(None, &["executor"]),
            (Some(Role::Executor), vec![], 0, 0)
        );
        let (role, left, ..) = run(None, &["driver", "--class", "A", "app.jar"]);
        assert_eq!((role, left.len()), (Some(Role::Driver), 3));
        // Repeating the role chosen: consumed, not passed on as the application.
        let env_driver = Some((Role::Driver, "SPARK_INIT_ROLE"));
        assert_eq!(run(env_driver, &["driver", "app.jar"]).1, ["app.jar"]);
        // Contradicting it: a problem, said once (review nit: `driver` given to an executor
        // was also refused as an executor argument).
        let (_, left, problems, _) = run(
            Some((Role::Executor, "SPARK_INIT_ROLE")),
            &["driver", "--cores", "2"],
        );
        assert_eq!(
            (problems, left),
            (1, vec!["--cores".to_string(), "2".to_string()])
        );
        // A debugging shell in an image whose role comes from the environment.
        assert_eq!(
            run(env_driver, &["sh"]),
            (None, vec!["sh".to_string()], 0, 1)
        );
        // ... but not with --role, nor for an application or an option.
        assert_eq!(
            run(Some((Role::Driver, "--role")), &["sh"]).0,
            Some(Role::Driver)
        );
        assert_eq!(run(env_driver, &["app.jar"]).0, Some(Role::Driver));
        assert_eq!(run(env_driver, &["--class", "A"]).0, Some(Role::Driver));
        assert_eq!(run(None, &["sh", "-c", "x"]).0, None);
        // A role with no arguments at all stays.
        assert_eq!(
            run(Some((Role::Driver, "--role")), &[]).0,
            Some(Role::Driver)
        );
    }
}
