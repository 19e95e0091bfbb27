//! The metrics variables (README "Metrics"): `SPARK_INIT_GRAPHITE` (`host:port` of a Graphite
//! plaintext listener, carbon's `LINE_RECEIVER_PORT`), `SPARK_INIT_GRAPHITE_PREFIX` (the
//! series' root, by default named after the Marathon app and task) and
//! `SPARK_INIT_GRAPHITE_INTERVAL` (whole seconds, default 10).

use std::fmt;
use std::time::Duration;

use crate::config::{task_env, vars, EnvSnapshot, Problem};
use crate::sourced::Sourced;
use crate::spark::executor_id::parse_task_id;

/// How often Spark's sink reports and the container's statistics are sent, by default.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 10;
/// At most an hour: Graphite's retentions are set up for far shorter steps.
const MAX_INTERVAL_SECONDS: u64 = 3600;

/// Where Graphite's plaintext protocol listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphiteEndpoint {
    /// A host name, or an IP address (IPv6 without its brackets).
    pub host: String,
    pub port: u16,
}

impl fmt::Display for GraphiteEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The metrics configuration, when `SPARK_INIT_GRAPHITE` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    pub graphite: Sourced<GraphiteEndpoint>,
    /// Dot-separated Graphite path every series of this container starts with.
    pub prefix: Sourced<String>,
    /// Whole seconds: Spark's `GraphiteSink` takes its `period` as an `Int` of a `unit`.
    pub interval: Sourced<Duration>,
}

/// Reads the three variables; `None` when `SPARK_INIT_GRAPHITE` is unset or empty (the others
/// alone are a warning: they have no effect).
pub fn read(
    env: &EnvSnapshot,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) -> Option<MetricsConfig> {
    let graphite = vars::raw(env, "SPARK_INIT_GRAPHITE", problems);
    let prefix = vars::raw(env, "SPARK_INIT_GRAPHITE_PREFIX", problems);
    let interval = vars::raw(env, "SPARK_INIT_GRAPHITE_INTERVAL", problems);
    let Some(graphite) = graphite.filter(|g| !g.trim().is_empty()) else {
        for (name, value) in [
            ("SPARK_INIT_GRAPHITE_PREFIX", &prefix),
            ("SPARK_INIT_GRAPHITE_INTERVAL", &interval),
        ] {
            if value.is_some() {
                warnings.push(format!(
                    "{name} has no effect without SPARK_INIT_GRAPHITE (host:port of a Graphite \
                     plaintext listener)"
                ));
            }
        }
        return None;
    };
    let endpoint = match parse_endpoint(&graphite) {
        Ok(endpoint) => endpoint,
        Err(why) => {
            problems.push(Problem::new(
                "SPARK_INIT_GRAPHITE",
                Some(&graphite),
                format!(
                    "{why}; write host:port of a Graphite plaintext listener (carbon's \
                     LINE_RECEIVER_PORT), such as graphite.example:2003 or [fd00::5]:2003"
                ),
            ));
            return None;
        }
    };
    let prefix = match prefix {
        Some(given) => given_prefix(&given, problems)?,
        None => default_prefix(env, problems),
    };
    let interval = match interval {
        None => Sourced::new(Duration::from_secs(DEFAULT_INTERVAL_SECONDS), "default"),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(s) if (1..=MAX_INTERVAL_SECONDS).contains(&s) => {
                Sourced::new(Duration::from_secs(s), "SPARK_INIT_GRAPHITE_INTERVAL")
            }
            _ => {
                problems.push(Problem::new(
                    "SPARK_INIT_GRAPHITE_INTERVAL",
                    Some(&text),
                    "is not a whole number of seconds from 1 to 3600 (Spark's GraphiteSink takes \
                     its period as a whole number); set it such as 10, or unset it for 10",
                ));
                return None;
            }
        },
    };
    Some(MetricsConfig {
        graphite: Sourced::new(endpoint, "SPARK_INIT_GRAPHITE"),
        prefix,
        interval,
    })
}

/// `host:port`, `[v6]:port`.
fn parse_endpoint(text: &str) -> Result<GraphiteEndpoint, String> {
    let text = text.trim();
    if text.contains("://") || text.contains('/') {
        return Err("is a URL, not host:port (the plaintext protocol has no scheme)".into());
    }
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest
                .split_once(']')
                .ok_or("has no ']' after the IPv6 address")?;
            let port = after.strip_prefix(':').ok_or("has no :port after ']'")?;
            (host, port)
        }
        None => {
            let (host, port) = text.rsplit_once(':').ok_or("has no :port")?;
            if host.contains(':') {
                return Err("has an IPv6 address without brackets".into());
            }
            (host, port)
        }
    };
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return Err(format!("has no usable host ({host:?})"));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("has no port number 1-65535 ({port:?})"))?;
    Ok(GraphiteEndpoint {
        host: host.to_string(),
        port,
    })
}

/// `SPARK_INIT_GRAPHITE_PREFIX`: dot-separated components of letters, digits, `_` and `-`.
fn given_prefix(given: &str, problems: &mut Vec<Problem>) -> Option<Sourced<String>> {
    let prefix = given.trim();
    let valid = !prefix.is_empty()
        && prefix
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(is_path_char));
    if valid {
        return Some(Sourced::new(
            prefix.to_string(),
            "SPARK_INIT_GRAPHITE_PREFIX",
        ));
    }
    problems.push(Problem::new(
        "SPARK_INIT_GRAPHITE_PREFIX",
        Some(given),
        "is not a Graphite path: write dot-separated names of letters, digits, '_' and '-', \
         such as spark.orders.executors (no empty names, spaces or slashes), or unset it for \
         the Marathon app and task",
    ));
    None
}

/// What a Graphite path component may hold here: carbon maps dots to folders, and the
/// plaintext protocol splits a line on whitespace.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// One Graphite path component: every other character becomes `_`.
pub fn path_component(text: &str) -> String {
    text.chars()
        .map(|c| if is_path_char(c) { c } else { '_' })
        .collect()
}

/// The default prefix: the Marathon app (`MARATHON_APP_ID`, `/spark/orders/executors` →
/// `spark.orders.executors`) and the task (the instance of `MESOS_TASK_ID`), so that every
/// executor of an app has series of its own; without Marathon's variables, the host name.
fn default_prefix(env: &EnvSnapshot, problems: &mut Vec<Problem>) -> Sourced<String> {
    let app_id = task_env::text_var(env, "MARATHON_APP_ID", problems).map(|v| v.value);
    let task_id = task_env::text_var(env, "MESOS_TASK_ID", problems).map(|v| v.value);
    let hostname = task_env::text_var(env, "HOSTNAME", problems)
        .map(|v| v.value)
        .or_else(kernel_hostname);
    derive_prefix(app_id.as_deref(), task_id.as_deref(), hostname.as_deref())
}

/// [`default_prefix`] from the values.
fn derive_prefix(
    app_id: Option<&str>,
    task_id: Option<&str>,
    hostname: Option<&str>,
) -> Sourced<String> {
    let parsed = task_id.and_then(parse_task_id);
    let app = match (app_id, &parsed) {
        (Some(app), _) => {
            let parts: Vec<String> = app
                .split('/')
                .filter(|p| !p.is_empty())
                .map(path_component)
                .collect();
            (!parts.is_empty()).then(|| parts.join("."))
        }
        (None, Some(task)) => Some(path_component(task.app)),
        (None, None) => None,
    };
    let task = match (&parsed, task_id) {
        (Some(task), _) => Some(match task.incarnation {
            Some(n) => format!("{}_{n}", task.uuid),
            None => task.uuid.to_string(),
        }),
        (None, Some(id)) => Some(path_component(id)),
        (None, None) => None,
    };
    let host = hostname.map(path_component);
    let source = match (app_id.is_some(), task_id.is_some()) {
        (true, true) => "default: MARATHON_APP_ID and the instance of MESOS_TASK_ID",
        (false, true) => "default: the app and instance of MESOS_TASK_ID",
        (true, false) => "default: MARATHON_APP_ID and the host name (no MESOS_TASK_ID)",
        (false, false) => "default: the host name (no MARATHON_APP_ID, no MESOS_TASK_ID)",
    };
    let parts: Vec<String> = [app, task.or(host)].into_iter().flatten().collect();
    let prefix = if parts.is_empty() {
        "spark-init".to_string()
    } else {
        parts.join(".")
    };
    Sourced::new(prefix, source)
}

/// The kernel's host name (`gethostname`), for a container started without `HOSTNAME`.
fn kernel_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "6e7a5b2c-1f3d-11ef-9a4b-0242ac120002";

    fn read_env(pairs: &[(&str, &str)]) -> (Option<MetricsConfig>, Vec<Problem>, Vec<String>) {
        let env = EnvSnapshot::new(pairs.iter().map(|(k, v)| (k.into(), v.into())));
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        let config = read(&env, &mut problems, &mut warnings);
        (config, problems, warnings)
    }

    /// A valid base: Graphite set, Marathon's variables of an executor.
    fn base() -> Vec<(&'static str, String)> {
        vec![
            ("SPARK_INIT_GRAPHITE", "graphite.example:2003".into()),
            ("MARATHON_APP_ID", "/spark/orders/executors".into()),
            (
                "MESOS_TASK_ID",
                format!("spark_orders_executors.instance-{UUID}._app.1"),
            ),
        ]
    }

    fn with(changes: &[(&'static str, &str)]) -> (Option<MetricsConfig>, Vec<Problem>) {
        let mut env = base();
        for (name, value) in changes {
            env.retain(|(n, _)| n != name);
            env.push((name, value.to_string()));
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (config, problems, _) = read_env(&pairs);
        (config, problems)
    }

    #[test]
    fn the_default_prefix_names_the_marathon_app_and_task() {
        let (config, problems) = with(&[]);
        assert!(problems.is_empty(), "{problems:?}");
        let config = config.unwrap();
        assert_eq!(config.graphite.value.to_string(), "graphite.example:2003");
        assert_eq!(
            config.prefix.value,
            format!("spark.orders.executors.{UUID}_1")
        );
        assert_eq!(config.interval.value, Duration::from_secs(10));
    }

    #[test]
    fn prefixes_from_what_there_is() {
        let legacy = format!("spark_orders_driver.{UUID}");
        let cases = [
            (Some("/spark/v1.2/driver"), Some(legacy.as_str()), None),
            (None, Some(legacy.as_str()), None),
            (Some("/spark/orders/driver"), None, Some("c0ffee")),
            (None, None, Some("c0ffee.local")),
            (None, Some("not a marathon task"), None),
            (None, None, None),
        ];
        let got: Vec<String> = cases
            .iter()
            .map(|(app, task, host)| derive_prefix(*app, *task, *host).value)
            .collect();
        assert_eq!(
            got,
            [
                format!("spark.v1_2.driver.{UUID}"),
                format!("spark_orders_driver.{UUID}"),
                "spark.orders.driver.c0ffee".to_string(),
                "c0ffee_local".to_string(),
                "not_a_marathon_task".to_string(),
                "spark-init".to_string(),
            ]
        );
    }

    #[test]
    fn given_values() {
        let (config, problems) = with(&[
            ("SPARK_INIT_GRAPHITE", " [fd00::5]:2103 "),
            ("SPARK_INIT_GRAPHITE_PREFIX", "ops.spark-orders.exec_1"),
            ("SPARK_INIT_GRAPHITE_INTERVAL", "1"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let config = config.unwrap();
        assert_eq!(config.graphite.value.host, "fd00::5");
        assert_eq!(config.graphite.value.to_string(), "[fd00::5]:2103");
        assert_eq!(config.prefix.value, "ops.spark-orders.exec_1");
        assert_eq!(config.interval.value, Duration::from_secs(1));
    }

    #[test]
    fn bad_values_name_the_variable_and_the_fix() {
        for (name, bad) in [
            ("SPARK_INIT_GRAPHITE", "graphite.example"),
            ("SPARK_INIT_GRAPHITE", "tcp://graphite.example:2003"),
            ("SPARK_INIT_GRAPHITE", "graphite.example:0"),
            ("SPARK_INIT_GRAPHITE", "graphite.example:70000"),
            ("SPARK_INIT_GRAPHITE", ":2003"),
            ("SPARK_INIT_GRAPHITE", "fd00::5:2003"),
            ("SPARK_INIT_GRAPHITE_PREFIX", "spark..orders"),
            ("SPARK_INIT_GRAPHITE_PREFIX", "spark orders"),
            ("SPARK_INIT_GRAPHITE_PREFIX", "spark/orders"),
            ("SPARK_INIT_GRAPHITE_PREFIX", ""),
            ("SPARK_INIT_GRAPHITE_INTERVAL", "0"),
            ("SPARK_INIT_GRAPHITE_INTERVAL", "2.5"),
            ("SPARK_INIT_GRAPHITE_INTERVAL", "3601"),
            ("SPARK_INIT_GRAPHITE_INTERVAL", "ten"),
        ] {
            let (config, problems) = with(&[(name, bad)]);
            assert_eq!(config, None, "{name}={bad:?}");
            assert_eq!(problems.len(), 1, "{name}={bad:?}: {problems:?}");
            assert_eq!(problems[0].name, name);
            assert_eq!(problems[0].value.as_deref(), Some(bad));
            assert!(problems[0].message.contains("such as"), "{}", problems[0]);
        }
    }

    #[test]
    fn without_graphite_nothing_is_sent_and_the_others_are_warned_about() {
        let (config, problems, warnings) = read_env(&[
            ("SPARK_INIT_GRAPHITE", ""),
            ("SPARK_INIT_GRAPHITE_INTERVAL", "5"),
        ]);
        assert_eq!(config, None);
        assert!(problems.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("SPARK_INIT_GRAPHITE_INTERVAL has no effect"));
    }
}
