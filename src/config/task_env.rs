//! What Marathon tells a task through its environment (Marathon's `EnvironmentHelper`, see
//! docs/task-environment-vars.md): `HOST`, `PORT0..n`, `PORT_<NAME>` for named ports (the
//! name upper-cased, dashes kept), `MESOS_TASK_ID`, `MARATHON_APP_ID` and the app's resources
//! as Java doubles (`MARATHON_APP_RESOURCE_CPUS="1.0"`, `..._MEM="2048.0"`, in MiB). The app's
//! own `env` is applied on top, so any of these may have been overridden by the operator.

use std::collections::BTreeMap;

use crate::config::{vars, EnvSnapshot, Problem};
use crate::sourced::Sourced;

/// A resource as Marathon wrote it: a Java double (`"2048.0"`, `"1.0E-4"`), kept as written
/// so the dry run shows what was given.
#[derive(Debug, Clone, PartialEq)]
pub struct MarathonDouble {
    pub value: f64,
    pub written: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskEnv {
    pub host: Option<Sourced<String>>,
    /// `PORT0`, `PORT1`, ... by index.
    pub ports: BTreeMap<usize, Sourced<u16>>,
    /// `PORT_<NAME>` by upper-case name.
    pub named_ports: BTreeMap<String, Sourced<u16>>,
    pub task_id: Option<Sourced<String>>,
    pub app_id: Option<Sourced<String>>,
    pub cpus: Option<Sourced<MarathonDouble>>,
    pub mem_mib: Option<Sourced<MarathonDouble>>,
}

impl TaskEnv {
    /// The port named `name` (e.g. `blockmanager`), else the port at `index`.
    pub fn port(&self, name: &str, index: Option<usize>) -> Option<&Sourced<u16>> {
        self.named_ports
            .get(&name.to_ascii_uppercase())
            .or_else(|| index.and_then(|i| self.ports.get(&i)))
    }
}

/// Reads the task environment; every malformed value is a problem naming its variable.
pub fn read(env: &EnvSnapshot, problems: &mut Vec<Problem>) -> TaskEnv {
    let mut task = TaskEnv::default();
    for (name, value) in env.vars() {
        let Some(name) = name.to_str() else { continue };
        let is_port_index = name
            .strip_prefix("PORT")
            .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
        let named = name.strip_prefix("PORT_").filter(|n| !n.is_empty());
        if !is_port_index && named.is_none() {
            continue;
        }
        let Some(text) = value.to_str() else {
            problems.push(Problem::new(
                name,
                Some(&value.to_string_lossy()),
                "is not valid UTF-8; write it as UTF-8 text",
            ));
            continue;
        };
        let Some(port) = parse_port(text) else {
            problems.push(Problem {
                name: name.into(),
                value: Some(text.into()),
                message: "is not a port number (1-65535); Marathon sets it to the host port it \
                          assigned: do not override it in the app's env"
                    .into(),
            });
            continue;
        };
        let entry = Sourced::new(port, name);
        if is_port_index {
            if let Ok(index) = name["PORT".len()..].parse() {
                task.ports.insert(index, entry);
            }
        } else if let Some(named) = named {
            task.named_ports.insert(named.to_string(), entry);
        }
    }
    task.host = text_var(env, "HOST", problems);
    task.task_id = text_var(env, "MESOS_TASK_ID", problems);
    task.app_id = text_var(env, "MARATHON_APP_ID", problems);
    task.cpus = double_var(
        env,
        "MARATHON_APP_RESOURCE_CPUS",
        "CPUs",
        MAX_CPUS,
        problems,
    );
    let max_mib = crate::spark::memory::MAX_MIB as f64;
    task.mem_mib = double_var(env, "MARATHON_APP_RESOURCE_MEM", "MiB", max_mib, problems);
    task
}

/// A non-empty UTF-8 variable, trimmed.
pub fn text_var(
    env: &EnvSnapshot,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<Sourced<String>> {
    let text = vars::raw(env, name, problems)?;
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| Sourced::new(trimmed.to_string(), name))
}

/// A Java double as Marathon writes it (`"1.0"`, `"2.5"`, `"1.0E-4"`), positive and finite.
/// The most CPUs an app may ask for that spark-init takes (and the most `--cores`).
pub const MAX_CPUS: f64 = 65536.0;

fn double_var(
    env: &EnvSnapshot,
    name: &str,
    unit: &str,
    max: f64,
    problems: &mut Vec<Problem>,
) -> Option<Sourced<MarathonDouble>> {
    let text = text_var(env, name, problems)?;
    match parse_java_double(&text.value) {
        Some(value) if value > 0.0 && value <= max => Some(Sourced::new(
            MarathonDouble {
                value,
                written: text.value,
            },
            text.source,
        )),
        _ => {
            problems.push(Problem {
                name: name.into(),
                value: Some(text.value),
                message: format!(
                    "is not a positive number of {unit} (at most {max}); Marathon writes the \
                     app's resources here as decimals such as 1.0 or 2048.0: fix the app's \
                     definition"
                ),
            });
            None
        }
    }
}

/// `Double.toString` output: decimal digits with an optional exponent. Not `inf` or `NaN`.
pub fn parse_java_double(text: &str) -> Option<f64> {
    let t = text.trim();
    let ok = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    ok.then(|| t.parse::<f64>().ok())
        .flatten()
        .filter(|v| v.is_finite())
}

fn parse_port(text: &str) -> Option<u16> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u16>().ok().filter(|&p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvSnapshot {
        EnvSnapshot::new(vars.iter().map(|(k, v)| (k.into(), v.into())))
    }

    #[test]
    fn ports_by_index_and_name() {
        let mut problems = Vec::new();
        let task = read(
            &env(&[
                ("PORT0", "31000"),
                ("PORT1", "31001"),
                ("PORT_BLOCKMANAGER", "31001"),
                ("PORT_UI-PROXY", "31002"),
                ("PORTS", "31000,31001"),
                ("PORT", "31000"),
            ]),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(task.ports.len(), 2);
        assert_eq!(
            task.port("blockmanager", Some(0)).unwrap().source,
            "PORT_BLOCKMANAGER"
        );
        assert_eq!(task.port("ui-proxy", None).unwrap().value, 31002);
        assert_eq!(task.port("driver", Some(0)).unwrap().source, "PORT0");
        assert!(task.port("driver", Some(5)).is_none());
    }

    #[test]
    fn bad_ports_and_resources_are_problems() {
        let mut problems = Vec::new();
        read(
            &env(&[
                ("PORT0", "http"),
                ("PORT_UI", "70000"),
                ("MARATHON_APP_RESOURCE_CPUS", "abc"),
                ("MARATHON_APP_RESOURCE_MEM", "0"),
            ]),
            &mut problems,
        );
        let names: Vec<&str> = problems.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "PORT0",
                "PORT_UI",
                "MARATHON_APP_RESOURCE_CPUS",
                "MARATHON_APP_RESOURCE_MEM"
            ]
        );
    }

    #[test]
    fn java_doubles() {
        assert_eq!(parse_java_double("1.0"), Some(1.0));
        assert_eq!(parse_java_double("2.5"), Some(2.5));
        assert_eq!(parse_java_double("1.0E-4"), Some(0.0001));
        assert_eq!(parse_java_double("2048.0"), Some(2048.0));
        assert_eq!(parse_java_double("Infinity"), None);
        assert_eq!(parse_java_double("NaN"), None);
        assert_eq!(parse_java_double("inf"), None);
        assert_eq!(parse_java_double("1,5"), None);
    }
}
