//! What the driver's companion does beside it (README "Framework store"): store the framework
//! ID it learns from the driver's REST API on this host, and publish the driver's address to
//! the executors' Marathon app (`SPARK_INIT_EXECUTOR_APP`).

use std::collections::BTreeMap;

use serde_json::json;

use crate::config::role::RoleConfig;
use crate::plan::driver::settings::UserSettings;
use crate::plan::{sourced, ExecutorBarrier, Findings, Publish, Resolved, StoreDuty};
use crate::sourced::Sourced;

/// The driver's UI port on this host: the user's `spark.ui.port`, else Marathon's `ui` port.
pub fn ui_port(role: &RoleConfig, user: &UserSettings<'_>) -> Option<u16> {
    user.port_text("spark.ui.port")
        .and_then(|p| p.parse::<u16>().ok())
        .or_else(|| role.task.port("ui", Some(2)).map(|p| p.value))
}

/// Publishing to the executors' app needs Marathon and the driver's address.
pub fn publish(
    role: &RoleConfig,
    user: &UserSettings<'_>,
    hostname: Option<&Sourced<String>>,
    found: &mut Findings,
) -> Option<Publish> {
    let app = role.executor_app.as_ref()?;
    let Some(marathon) = &role.lookups.marathon else {
        found.problem(
            "SPARK_INIT_EXECUTOR_APP",
            Some(app),
            "is set but SPARK_INIT_MARATHON_URL is not: set the Marathon to publish to",
        );
        return None;
    };
    let host = hostname?;
    let port = user.port_text("spark.driver.port").or_else(|| {
        role.task
            .port("driver", Some(0))
            .map(|p| p.value.to_string())
    });
    let Some(port) = port else {
        found.problem(
            "SPARK_INIT_EXECUTOR_APP",
            Some(app),
            "is set but the driver's port is unknown (no spark.driver.port, no PORT_DRIVER or \
             PORT0): executors could not be told where it is",
        );
        return None;
    };
    Some(Publish {
        marathon: marathon.clone(),
        app: app.clone(),
        instances: role.executor_instances,
        driver_url: format!("spark://CoarseGrainedScheduler@{}:{port}", host.value),
        scale_down_on_exit: role.scale_down_on_exit,
        ca_file: role.lookups.ca_file.clone(),
        http_timeout: role.lookups.http_timeout,
    })
}

/// What the dry run shows of the duties: where the driver is published, and the store.
pub fn shown(role: &RoleConfig, publish: Option<&Publish>) -> BTreeMap<String, Resolved> {
    let mut shown = BTreeMap::new();
    if let Some(p) = publish {
        shown.insert(
            "publish_to".to_string(),
            sourced(
                json!({ "app": p.app, "driver_url": p.driver_url, "instances": p.instances }),
                "SPARK_INIT_EXECUTOR_APP (with the application ID once the driver runs)",
            ),
        );
    }
    if let Some(url) = &role.lookups.store {
        shown.insert(
            "framework_store".to_string(),
            sourced(url.to_string(), "SPARK_INIT_FRAMEWORK_STORE"),
        );
    }
    shown
}

/// The companion's duty, when there is a store or somewhere to publish to.
pub fn store_duty(
    role: &RoleConfig,
    publish: Option<Publish>,
    reused: Option<String>,
    ui_port: Option<u16>,
    barrier: Option<ExecutorBarrier>,
) -> Option<StoreDuty> {
    let lookups = &role.lookups;
    (lookups.store.is_some() || publish.is_some()).then(|| StoreDuty {
        url: lookups.store.clone(),
        publish,
        reused,
        reregister_window: role.reregister_window,
        timeout: lookups.timeout,
        ui_port,
        barrier,
    })
}
