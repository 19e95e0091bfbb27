//! Where and how to look things up: Marathon, Mesos, the framework store, with credentials,
//! a CA and deadlines (`SPARK_INIT_MARATHON_URL`, `SPARK_INIT_DRIVER_APP`,
//! `SPARK_INIT_DRIVER_PORT_NAME`, `SPARK_INIT_DRIVER_ADDRESS`, `SPARK_INIT_MESOS_URL`,
//! `SPARK_INIT_FRAMEWORK_NAME`, `SPARK_INIT_RESOLVE_TIMEOUT`, `SPARK_INIT_HTTP_TIMEOUT`,
//! `SPARK_INIT_CA_FILE`, `SPARK_INIT_FRAMEWORK_STORE`, `SPARK_INIT_STORE_REQUIRED` and the
//! `..._AUTH[_FILE]` credentials).

use std::path::PathBuf;

use crate::clients::framework_store;
use crate::clients::http;
use crate::clients::marathon::AddressMode;
use crate::config::task_env;
use crate::config::{vars, EnvSnapshot, Problem};
use crate::facts::remote::{self, Lookups};
use crate::redact;
use crate::sourced::Sourced;

/// The role variables the lookups depend on, already read (each variable is read once).
pub struct Known<'a> {
    pub driver_url: Option<&'a Sourced<String>>,
    pub app_id: Option<&'a Sourced<String>>,
    pub executor_id: Option<&'a Sourced<String>>,
    pub task_id: Option<&'a Sourced<String>>,
}

pub fn read_lookups(env: &EnvSnapshot, known: &Known<'_>, problems: &mut Vec<Problem>) -> Lookups {
    let mut var = |name: &str| task_env::text_var(env, name, problems);
    let driver_app = var("SPARK_INIT_DRIVER_APP").map(|v| v.value);
    let port_name = var("SPARK_INIT_DRIVER_PORT_NAME").map_or_else(|| "driver".into(), |v| v.value);
    let address = var("SPARK_INIT_DRIVER_ADDRESS");
    let framework_name = var("SPARK_INIT_FRAMEWORK_NAME").map(|v| v.value);
    let timeout = var("SPARK_INIT_RESOLVE_TIMEOUT");
    let http_timeout = var("SPARK_INIT_HTTP_TIMEOUT");
    let ca_file = var("SPARK_INIT_CA_FILE").map(|v| PathBuf::from(v.value));
    let store = var("SPARK_INIT_FRAMEWORK_STORE");
    let store_required = var("SPARK_INIT_STORE_REQUIRED").map(|v| v.value);
    let (marathon, mesos) = services(env, problems);
    // Any case, as every word spark-init reads (issue 18).
    let given = address.as_ref().map(|v| v.value.as_str());
    let address = match given.map(|v| (v, v.trim().to_ascii_lowercase())) {
        None => AddressMode::Host,
        Some((_, word)) if word == "host" => AddressMode::Host,
        Some((_, word)) if word == "ip" => AddressMode::Ip,
        Some((other, _)) => {
            problems.push(Problem::new(
                "SPARK_INIT_DRIVER_ADDRESS",
                Some(other),
                "is not host or ip (any case); host uses the task's host, ip its first IP \
                 address",
            ));
            AddressMode::Host
        }
    };
    let timeout = vars::seconds_var(
        timeout,
        0.0..=86_400.0,
        remote::DEFAULT_RESOLVE_TIMEOUT,
        "is not a number of seconds (0 to 86400) such as 300",
        problems,
    );
    let http_timeout = vars::seconds_var(
        http_timeout,
        f64::MIN_POSITIVE..=600.0,
        http::READ_TIMEOUT,
        "is not a number of seconds (above 0, at most 600) such as 10",
        problems,
    );
    let store = store.and_then(|v| match framework_store::parse_url(&v.value) {
        Ok(url) => Some(url),
        Err(why) => {
            problems.push(Problem::new(
                &v.source,
                Some(&redact::url_lenient(&v.value)),
                why,
            ));
            None
        }
    });
    let store_required = vars::flag(
        problems,
        "SPARK_INIT_STORE_REQUIRED",
        store_required.as_deref(),
    )
    .value;
    Lookups {
        store,
        store_required,
        need_executor_id: known.executor_id.is_none(),
        executor_label: known.task_id.map(|t| t.value.clone()).unwrap_or_default(),
        http_timeout,
        marathon,
        driver_app,
        port_name,
        address,
        mesos,
        framework_name,
        ca_file,
        timeout,
        need_driver: known.driver_url.is_none(),
        need_app_id: known.app_id.is_none(),
        known_driver_host: known.driver_url.and_then(|url| driver_host(&url.value)),
        once: false,
    }
}

/// The host in `spark://CoarseGrainedScheduler@host:port` (for the Mesos lookup).
fn driver_host(url: &str) -> Option<String> {
    let address = url.rsplit_once('@')?.1.split('/').next()?;
    Some(address.rsplit_once(':')?.0.to_string())
}

/// Marathon and Mesos, each with its credentials.
fn services(
    env: &EnvSnapshot,
    problems: &mut Vec<Problem>,
) -> (Option<http::Service>, Option<http::Service>) {
    let mut service = |what: &str, name: &str, auth_name: &str| {
        let url = task_env::text_var(env, name, problems);
        let auth = task_env::text_var(env, auth_name, problems).map(|v| v.value);
        let auth_file_name = format!("{auth_name}_FILE");
        let auth_file = task_env::text_var(env, &auth_file_name, problems).map(|v| v.value);
        let auth = http::Auth::from_env(auth_name, auth.as_deref(), auth_file.as_deref(), problems);
        url.and_then(|url| http::Service::parse(what, name, &url.value, auth, problems))
    };
    let marathon = service(
        "Marathon",
        "SPARK_INIT_MARATHON_URL",
        "SPARK_INIT_MARATHON_AUTH",
    );
    let mesos = service("Mesos", "SPARK_INIT_MESOS_URL", "SPARK_INIT_MESOS_AUTH");
    (marathon, mesos)
}
