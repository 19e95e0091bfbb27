//! The driver's framework ID across restarts (README "Framework store"):
//! - before launch ([`crate::facts::stored`], a fact read before the plan): read the stored
//!   ID; with `SPARK_INIT_MESOS_URL`, drop one the master lists as completed (it can never be
//!   reused: "Framework has been removed");
//! - alongside the driver ([`learn_framework_id`], in a companion process): learn the actual
//!   ID from the driver's REST API and store it if it differs;
//! - after it exits ([`after_exit`]): exit 0 means the application finished, so the ID goes;
//!   a non-zero exit soon after a launch that reused an ID clears it too, so the next restart
//!   starts fresh instead of crash-looping, unless spark-init was asked to stop (Marathon's
//!   SIGTERM: a restart or redeployment, not a crash); otherwise it stays for Marathon's restart.
//!
//! Store trouble never disturbs the driver: the companion only logs, and an unreachable store
//! at start is a warning unless `SPARK_INIT_STORE_REQUIRED=1`.

mod companion;
mod publish;

use std::time::Duration;

use crate::clients::framework_store::Store;
use crate::clients::marathon::MarathonApi;
use crate::facts::child;
use crate::plan::{Publish, StoreDuty};
use crate::supervise::signals::SignalSet;
use crate::supervise::Outcome;

pub use companion::learn_framework_id;
pub use publish::publish_driver;

/// After the driver exits: clears the stored ID when the application finished (exit 0) or
/// when a launch that reused it failed within the re-register window; on a clean exit with
/// `SPARK_INIT_SCALE_DOWN_ON_EXIT=1`, scales the executors' app to 0. Runs in a child.
pub fn after_exit(duty: &StoreDuty, outcome: &Outcome, ran: Duration, blocked: &SignalSet) {
    let command_code = outcome.command;
    if let (Some(publish), 0) = (&duty.publish, command_code) {
        if publish.scale_down_on_exit {
            scale_down(publish, blocked);
        }
    }
    let Some(url) = duty.url.clone() else { return };
    let Some(why) = clear_reason(duty, command_code, outcome.stop_requested, ran) else {
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
    match result.unwrap_or_else(|e| Err(e.to_string())) {
        Ok(()) => tracing::info!(store = %shown, "cleared the stored framework ID: {why}"),
        Err(e) => tracing::warn!("could not clear the stored framework ID ({why}): {e}"),
    }
}

/// Why the stored ID goes after the driver ran `ran` and exited `command_code`; `None` keeps
/// it for Marathon's restart. A stop spark-init was asked for (`stop_requested`: Marathon
/// restarting or redeploying the driver) is not a failed re-registration, however soon it came.
fn clear_reason(
    duty: &StoreDuty,
    command_code: i32,
    stop_requested: bool,
    ran: Duration,
) -> Option<String> {
    if command_code == 0 {
        Some("the application finished (exit 0): the next run is a new application".to_string())
    } else if duty.reused.is_some() && ran < duty.reregister_window && !stop_requested {
        Some(format!(
            "the driver exited {command_code} {:.0} s after re-registering with the stored \
             framework ID (within SPARK_INIT_REREGISTER_WINDOW={} s): the next restart starts \
             fresh instead of crash-looping",
            ran.as_secs_f64(),
            duty.reregister_window.as_secs_f64()
        ))
    } else {
        None
    }
}

/// Scales the executors' app to 0 (forced: the application is over), in a child.
fn scale_down(publish: &Publish, blocked: &SignalSet) {
    let owned = publish.clone();
    let result = child::in_child(blocked, move || {
        let api = publish::marathon_for(&owned)?;
        let instances = serde_json::json!({"instances": 0});
        api.update_app(&owned.app, &instances, true, owned.http_timeout)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    match result.unwrap_or_else(|e| Err(e.to_string())) {
        Ok(()) => tracing::info!(app = %publish.app, "scaled the executors' app to 0"),
        Err(e) => tracing::warn!("could not scale the executors' app to 0: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver that reused the stored ID, with a 60 s re-register window.
    fn reused() -> StoreDuty {
        StoreDuty {
            url: None,
            publish: None,
            reused: Some("5349f49b-68b3-4638-aab2-fc4ec845f993-0001".into()),
            reregister_window: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            ui_port: None,
            barrier: None,
        }
    }

    #[test]
    fn the_id_is_cleared_after_a_clean_exit_or_an_early_failure_of_a_reuse() {
        let secs = Duration::from_secs;
        assert_eq!(
            clear_reason(&reused(), 0, false, secs(3600)).as_deref(),
            Some("the application finished (exit 0): the next run is a new application")
        );
        assert_eq!(
            clear_reason(&reused(), 1, false, secs(10)).as_deref(),
            Some(
                "the driver exited 1 10 s after re-registering with the stored framework ID \
                 (within SPARK_INIT_REREGISTER_WINDOW=60 s): the next restart starts fresh \
                 instead of crash-looping"
            )
        );
        assert_eq!(clear_reason(&reused(), 1, false, secs(60)), None);
        let fresh = StoreDuty {
            reused: None,
            ..reused()
        };
        assert_eq!(clear_reason(&fresh, 1, false, secs(10)), None);
    }

    /// Regression (found by a fresh-eyes trial): Marathon stopping a driver soon after it
    /// re-registered (a restart, a redeployment) made its SIGTERM's 143 look like a failed
    /// re-registration, and the next launch became a new framework.
    #[test]
    fn a_stop_marathon_asked_for_keeps_the_id_however_soon() {
        let secs = Duration::from_secs;
        assert_eq!(clear_reason(&reused(), 143, true, secs(5)), None);
        assert!(clear_reason(&reused(), 143, false, secs(5)).is_some());
        // A clean exit still ends the application, stopped or not.
        assert!(clear_reason(&reused(), 0, true, secs(5)).is_some());
    }
}
