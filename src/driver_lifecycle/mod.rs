//! The driver's framework ID across restarts (README "Framework store"):
//! - before launch ([`crate::facts::stored`], a fact read before the plan): read the stored
//!   ID; with `SPARK_INIT_MESOS_URL`, drop one the master lists as completed (it can never be
//!   reused: "Framework has been removed");
//! - alongside the driver ([`learn_framework_id`], in a companion process): learn the actual
//!   ID from the driver's REST API and store it if it differs;
//! - after it exits ([`after_exit`]): exit 0 means the application finished, so the ID goes;
//!   a non-zero exit soon after a launch that reused an ID clears it too, so the next restart
//!   starts fresh instead of crash-looping; otherwise it stays for Marathon's restart.
//!
//! Store trouble never disturbs the driver: the companion only logs, and an unreachable store
//! at start is a warning unless `SPARK_INIT_STORE_REQUIRED=1`.

use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;

use crate::clients::framework_store::{is_framework_id, Store};
use crate::clients::http::{self, Service};
use crate::clients::retry::{Backoff, LOOKUP};
use crate::clients::spark_rest;
use crate::facts::child;
use crate::plan::{Publish, StoreDuty};

// The old paths, until src/roles.rs uses `facts::stored`.
pub use crate::facts::stored::{before_launch, BeforeLaunch, StoreLookup};

/// The companion's work: waits (on the `LOOKUP` schedule, up to the duty's timeout) for the
/// driver's REST API on this host to name the running application; stores its ID if the store
/// holds another; then publishes the driver to its executors' app. Store and Marathon failures
/// are retried until the deadline (a ZooKeeper restart or session expiry reconnects), then
/// logged: the driver itself is never disturbed.
pub fn learn_framework_id(duty: &StoreDuty) {
    let Some(port) = duty.ui_port else { return };
    let Ok(client) = http::client(None, http::READ_TIMEOUT) else {
        return;
    };
    let Some(service) = Service::parse(
        "the driver",
        "spark.ui.port",
        &format!("http://127.0.0.1:{port}"),
        None,
        &mut Vec::new(),
    ) else {
        return;
    };
    let store = duty
        .url
        .as_ref()
        .map(|url| Store::new(url.clone(), duty.timeout.min(Duration::from_secs(30))));
    let mut backoff = Backoff::new(LOOKUP, duty.timeout);
    let mut learned: Option<String> = None;
    let mut stored = store.is_none();
    let mut published = duty.publish.is_none();
    loop {
        if learned.is_none() {
            if let Ok(Some((value, _))) = http::get_json(&client, &service, "/api/v1/applications")
            {
                learned = spark_rest::running_application(value).ok().flatten();
            }
        }
        if let Some(id) = &learned {
            if !stored {
                let store = store.as_ref().expect("stored is false only with a store");
                if !is_framework_id(id) {
                    tracing::info!(id = %id, "the application ID is not a Mesos framework ID (not on Mesos?); nothing to store");
                    stored = true;
                } else {
                    let result = store.read().and_then(|current| match &current {
                        Some(s) if &s.framework_id == id => Ok(()),
                        _ => store.write(id, current.as_ref()).map(|()| {
                            tracing::info!(framework_id = %id, store = %store.url(), "stored the driver's framework ID");
                        }),
                    });
                    match result {
                        Ok(()) => stored = true,
                        Err(e) => tracing::warn!("cannot store the framework ID yet: {e}"),
                    }
                }
            }
            if !published {
                let publish = duty
                    .publish
                    .as_ref()
                    .expect("published is false only with a duty");
                match publish_driver(publish, id, &backoff) {
                    Ok(()) => published = true,
                    Err(e) => {
                        tracing::warn!("cannot publish the driver to {} yet: {e}", publish.app)
                    }
                }
            }
            if stored && published {
                return;
            }
        }
        match backoff.next_pause(Instant::now()) {
            Some(pause) => std::thread::sleep(pause),
            None => {
                tracing::warn!(
                    "gave up on the framework store / publishing after {} s",
                    duty.timeout.as_secs_f64()
                );
                return;
            }
        }
    }
}

/// Sets `SPARK_DRIVER_URL` and `SPARK_APPLICATION_ID` in the executors' app `env` — merged
/// with the env already there, never replacing it — and `instances` when asked, with
/// `PUT /v2/apps/{id}`. A 409 ("locked by one or more deployments") is retried on the
/// schedule for at most half the remaining time, then sent again with `force=true`.
pub fn publish_driver(publish: &Publish, app_id: &str, backoff: &Backoff) -> Result<(), String> {
    let client = http::client(publish.ca_file.as_deref(), publish.http_timeout)
        .map_err(|p| p.to_string())?;
    let path = format!("/v2/apps/{}", publish.app.trim_matches('/'));
    let (app, _) = http::get_json(&client, &publish.marathon, &path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("Marathon has no app {}", publish.app))?;
    let mut env = app["app"]["env"].as_object().cloned().unwrap_or_default();
    env.insert(
        "SPARK_DRIVER_URL".into(),
        serde_json::json!(publish.driver_url),
    );
    env.insert("SPARK_APPLICATION_ID".into(), serde_json::json!(app_id));
    let mut body = serde_json::json!({ "env": env });
    if let Some(n) = publish.instances {
        body["instances"] = serde_json::json!(n);
    }
    let give_up_polite =
        Instant::now() + backoff.deadline.saturating_duration_since(Instant::now()) / 2;
    let mut polite = Backoff::new(
        LOOKUP,
        give_up_polite.saturating_duration_since(Instant::now()),
    );
    loop {
        let force = Instant::now() >= give_up_polite;
        let target = if force {
            format!("{path}?force=true")
        } else {
            path.clone()
        };
        let (status, answer) = http::put_json(&client, &publish.marathon, &target, &body)
            .map_err(|e| e.to_string())?;
        if status != 409 {
            tracing::info!(
                app = %publish.app,
                driver_url = %publish.driver_url,
                app_id = %app_id,
                force,
                "published the driver to its executors"
            );
            return Ok(());
        }
        tracing::info!(
            "the executors' app {} is locked by a deployment ({}); retrying",
            publish.app,
            answer["message"].as_str().unwrap_or("409")
        );
        if force {
            return Err("Marathon refused even with force=true (409)".into());
        }
        if let Some(pause) = polite.next_pause(Instant::now()) {
            std::thread::sleep(pause);
        }
    }
}

/// After the driver exits: clears the stored ID when the application finished (exit 0) or
/// when a launch that reused it failed within the re-register window; on a clean exit with
/// `SPARK_INIT_SCALE_DOWN_ON_EXIT=1`, scales the executors' app to 0. Runs in a child.
pub fn after_exit(duty: &StoreDuty, command_code: i32, ran: Duration, blocked: &SigSet) {
    if let (Some(publish), 0) = (&duty.publish, command_code) {
        if publish.scale_down_on_exit {
            let publish = publish.clone();
            let result = child::in_child(blocked, move || {
                let client = http::client(publish.ca_file.as_deref(), publish.http_timeout)
                    .map_err(|p| p.to_string())?;
                let path = format!("/v2/apps/{}?force=true", publish.app.trim_matches('/'));
                http::put_json(
                    &client,
                    &publish.marathon,
                    &path,
                    &serde_json::json!({"instances": 0}),
                )
                .map(|_| ())
                .map_err(|e| e.to_string())
            });
            match result {
                Ok(Ok(())) => {
                    tracing::info!(app = %duty.publish.as_ref().map_or("", |p| p.app.as_str()), "scaled the executors' app to 0")
                }
                Ok(Err(e)) => tracing::warn!("could not scale the executors' app to 0: {e}"),
                Err(e) => tracing::warn!("could not scale the executors' app to 0: {e}"),
            }
        }
    }
    let Some(url) = duty.url.clone() else { return };
    let why = if command_code == 0 {
        Some("the application finished (exit 0): the next run is a new application".to_string())
    } else if duty.reused.is_some() && ran < duty.reregister_window {
        Some(format!(
            "the driver exited {command_code} {:.0} s after re-registering with the stored \
             framework ID (within SPARK_INIT_REREGISTER_WINDOW={} s): the next restart starts \
             fresh instead of crash-looping",
            ran.as_secs_f64(),
            duty.reregister_window.as_secs_f64()
        ))
    } else {
        None
    };
    let Some(why) = why else {
        tracing::info!(
            code = command_code,
            "keeping the stored framework ID for the restart"
        );
        return;
    };
    let shown = url.to_string();
    let timeout = duty.timeout.min(Duration::from_secs(30));
    let result = child::in_child(blocked, move || {
        Store::new(url, timeout).clear().map_err(|e| e.to_string())
    });
    match result {
        Ok(Ok(())) => tracing::info!(store = %shown, "cleared the stored framework ID: {why}"),
        Ok(Err(e)) => tracing::warn!("could not clear the stored framework ID ({why}): {e}"),
        Err(e) => tracing::warn!("could not clear the stored framework ID ({why}): {e}"),
    }
}
