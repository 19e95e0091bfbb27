//! The driver: `spark-submit --deploy-mode client --conf ... <the app's args>`, with the confs
//! that make it reachable through Marathon's ports and, on Mesos, keep its framework without
//! offers and resumable; plus the duties of its companion.

mod confs;
mod duties;
mod settings;

use std::ffi::OsString;

use serde_json::{json, Value};

use crate::config::role::RoleConfig;
use crate::config::{lossy, Config, Problem};
use crate::facts::install;
use crate::facts::stored::BeforeLaunch;
use crate::facts::LocalFacts;
use crate::plan::role::{common_resolved, spark_java_sources, MISSING_HOSTNAME};
use crate::plan::{sourced, Findings, ModePlan};

use self::settings::UserSettings;

pub use self::confs::{DEFAULT_FAILOVER_TIMEOUT_SECONDS, DEFAULT_MESOS_CONSTRAINTS};

/// Resolves the driver's plan; every problem found is reported together.
pub fn resolve(
    config: &Config,
    role: &RoleConfig,
    facts: &LocalFacts,
    stored: &BeforeLaunch,
) -> Result<ModePlan, Vec<Problem>> {
    let mut found = Findings {
        warnings: stored.warnings.clone(),
        ..Findings::default()
    };
    let mut resolved = common_resolved(role, facts);
    let submit = facts.spark.home.join("bin/spark-submit");
    if !install::is_executable(&submit) {
        found.problem(
            "SPARK_HOME",
            Some(&facts.spark.home.display().to_string()),
            format!(
                "has no executable {}; the image's Spark is incomplete",
                submit.display()
            ),
        );
    }
    let hostname = found.require(&role.hostname, MISSING_HOSTNAME);
    let user = UserSettings {
        args: &role.submit,
        facts,
    };
    let master = user.master();
    if user.deploy_mode().as_deref() == Some("cluster") {
        found.problem(
            "args",
            Some("--deploy-mode cluster"),
            "spark-init runs the driver in this container (client mode); remove the cluster \
             deploy mode",
        );
    }
    let failover = confs::failover_timeout(role, &mut found);
    let mut wanted = confs::network_confs(role, facts, hostname.as_ref());
    if master
        .as_ref()
        .is_some_and(|m| m.value.starts_with("mesos://"))
    {
        let reusing = stored.reuse.is_some();
        wanted.extend(confs::mesos_confs(
            role, &user, &failover, reusing, &mut found,
        ));
    }
    wanted.extend(confs::stored_id_conf(stored.reuse.as_ref()));
    let added = confs::apply(wanted, &user, &mut resolved, &mut found);
    resolved.insert(
        "master".into(),
        match &master {
            Some(m) => m.clone().map(Into::into),
            None => sourced(Value::Null, "not set: spark-submit's default (local[*])"),
        },
    );
    if let Some(host) = &hostname {
        resolved.insert("hostname".into(), host.clone().map(Into::into));
    }
    let spark_java_sources = spark_java_sources(&user.java_confs(), "driver", &mut found);
    if !found.problems.is_empty() {
        return Err(found.problems);
    }
    let mut argv: Vec<String> = vec![submit.display().to_string()];
    if role.submit.deploy_mode.is_none() {
        argv.extend(["--deploy-mode".into(), "client".into()]);
    }
    for conf in added {
        argv.extend(["--conf".into(), conf]);
    }
    argv.extend(lossy(&config.command));
    let ui_port = duties::ui_port(role, &user);
    let publish = duties::publish(role, &user, hostname.as_ref(), &mut found);
    if let Some(p) = &publish {
        resolved.insert(
            "publish_to".into(),
            sourced(
                json!({ "app": p.app, "driver_url": p.driver_url, "instances": p.instances }),
                "SPARK_INIT_EXECUTOR_APP (with the application ID once the driver runs)",
            ),
        );
    }
    if !found.problems.is_empty() {
        return Err(found.problems);
    }
    let reused = stored.reuse.as_ref().map(|(id, _)| id.clone());
    let store_duty = duties::store_duty(role, publish, reused, ui_port);
    if let Some(url) = &role.lookups.store {
        resolved.insert(
            "framework_store".into(),
            sourced(url.to_string(), "SPARK_INIT_FRAMEWORK_STORE"),
        );
    }
    Ok(ModePlan {
        role: "driver".into(),
        argv: argv.into_iter().map(OsString::from).collect(),
        spark_java_sources,
        resolved,
        warnings: found.warnings,
        store_duty,
    })
}
