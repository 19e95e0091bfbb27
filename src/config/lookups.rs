//! Where and how to look things up: Marathon, Mesos, the framework store, with credentials,
//! a CA and deadlines.

use std::path::PathBuf;
use std::time::Duration;

use crate::clients::framework_store;
use crate::clients::http;
use crate::clients::marathon::AddressMode;
use crate::config::task_env;
use crate::config::{vars, EnvSnapshot, Problem};
use crate::facts::remote::{self, Lookups};

/// `SPARK_INIT_MARATHON_URL`, `SPARK_INIT_DRIVER_APP`, `SPARK_INIT_DRIVER_PORT_NAME`,
/// `SPARK_INIT_DRIVER_ADDRESS`, `SPARK_INIT_MESOS_URL`, `SPARK_INIT_FRAMEWORK_NAME`,
/// `SPARK_INIT_RESOLVE_TIMEOUT`, `SPARK_INIT_CA_FILE` and the `..._AUTH[_FILE]` credentials.
pub fn read_lookups(env: &EnvSnapshot, problems: &mut Vec<Problem>) -> Lookups {
    let mut var = |name: &str| task_env::text_var(env, name, problems).map(|v| v.value);
    let marathon_auth = var("SPARK_INIT_MARATHON_AUTH");
    let marathon_auth_file = var("SPARK_INIT_MARATHON_AUTH_FILE");
    let mesos_auth = var("SPARK_INIT_MESOS_AUTH");
    let mesos_auth_file = var("SPARK_INIT_MESOS_AUTH_FILE");
    let marathon_url = var("SPARK_INIT_MARATHON_URL");
    let mesos_url = var("SPARK_INIT_MESOS_URL");
    let driver_app = var("SPARK_INIT_DRIVER_APP");
    let port_name = var("SPARK_INIT_DRIVER_PORT_NAME").unwrap_or_else(|| "driver".into());
    let address = var("SPARK_INIT_DRIVER_ADDRESS");
    let framework_name = var("SPARK_INIT_FRAMEWORK_NAME");
    let timeout = var("SPARK_INIT_RESOLVE_TIMEOUT");
    let http_timeout = var("SPARK_INIT_HTTP_TIMEOUT");
    let ca_file = var("SPARK_INIT_CA_FILE").map(PathBuf::from);
    let store_text = var("SPARK_INIT_FRAMEWORK_STORE");
    let store_required = var("SPARK_INIT_STORE_REQUIRED");
    let need_executor_id = var("SPARK_EXECUTOR_ID").is_none();
    let executor_label = var("MESOS_TASK_ID").unwrap_or_default();
    let need_driver = var("SPARK_DRIVER_URL").is_none();
    let need_app_id = var("SPARK_APPLICATION_ID").is_none();
    let known_driver_host = var("SPARK_DRIVER_URL").and_then(|url| {
        let address = url.rsplit_once('@')?.1.split('/').next()?.to_string();
        Some(address.rsplit_once(':')?.0.to_string())
    });

    let marathon_auth = http::Auth::from_env(
        "SPARK_INIT_MARATHON_AUTH",
        marathon_auth.as_deref(),
        marathon_auth_file.as_deref(),
        problems,
    );
    let mesos_auth = http::Auth::from_env(
        "SPARK_INIT_MESOS_AUTH",
        mesos_auth.as_deref(),
        mesos_auth_file.as_deref(),
        problems,
    );
    let marathon = marathon_url.and_then(|text| {
        http::Service::parse(
            "Marathon",
            "SPARK_INIT_MARATHON_URL",
            &text,
            marathon_auth,
            problems,
        )
    });
    let mesos = mesos_url.and_then(|text| {
        http::Service::parse("Mesos", "SPARK_INIT_MESOS_URL", &text, mesos_auth, problems)
    });
    let address = match address.as_deref() {
        None | Some("host") => AddressMode::Host,
        Some("ip") => AddressMode::Ip,
        Some(other) => {
            problems.push(Problem::new(
                "SPARK_INIT_DRIVER_ADDRESS",
                Some(other),
                "is not host or ip; host uses the task's host, ip its first IP address",
            ));
            AddressMode::Host
        }
    };
    let timeout = match timeout {
        None => remote::DEFAULT_RESOLVE_TIMEOUT,
        Some(text) => match text.parse::<f64>() {
            Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Duration::from_secs_f64(s),
            _ => {
                problems.push(Problem::new(
                    "SPARK_INIT_RESOLVE_TIMEOUT",
                    Some(&text),
                    "is not a number of seconds (0 to 86400) such as 300",
                ));
                remote::DEFAULT_RESOLVE_TIMEOUT
            }
        },
    };
    let http_timeout = match http_timeout {
        None => http::READ_TIMEOUT,
        Some(text) => match text.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 && s <= 600.0 => Duration::from_secs_f64(s),
            _ => {
                problems.push(Problem::new(
                    "SPARK_INIT_HTTP_TIMEOUT",
                    Some(&text),
                    "is not a number of seconds (above 0, at most 600) such as 10",
                ));
                http::READ_TIMEOUT
            }
        },
    };
    let store = store_text.and_then(|text| match framework_store::parse_url(&text) {
        Ok(url) => Some(url),
        Err(why) => {
            problems.push(Problem::new("SPARK_INIT_FRAMEWORK_STORE", Some(&text), why));
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
        need_executor_id,
        executor_label,
        http_timeout,
        marathon,
        driver_app,
        port_name,
        address,
        mesos,
        framework_name,
        ca_file,
        timeout,
        need_driver,
        need_app_id,
        known_driver_host,
        once: false,
    }
}
