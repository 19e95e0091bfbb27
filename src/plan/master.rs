//! The master: a Spark standalone master with no workers, the driver's cluster manager in the
//! Mesos-free deployment (README "Spark 4: the Mesos-free deployment"). Like the constrained
//! Mesos framework, it never gives the driver executors of its own: the driver only has the
//! ones Marathon places, which attach straight to it.
//!
//! `java -Xmx<SPARK_DAEMON_MEMORY> -cp <conf>:<jars> [-D...] org.apache.spark.deploy.master.Master
//! --host <HOST> --port <PORT_MASTER> --webui-port <PORT_WEBUI>`, as `sbin/start-master.sh`
//! runs it through `spark-class` (`SparkClassCommandBuilder`: `SPARK_DAEMON_MEMORY`, default
//! `1g`; `SPARK_DAEMON_JAVA_OPTS` and `SPARK_MASTER_OPTS`; Spark's module options on Java 17+).

use std::ffi::OsString;

use serde_json::json;

use crate::clients::framework_store::StoreUrl;
use crate::config::role::RoleConfig;
use crate::config::{lossy, Config, Problem};
use crate::facts::LocalFacts;
use crate::plan::role::{check_spark_and_java, common_resolved, from_defaults, MISSING_HOSTNAME};
use crate::plan::{sourced, Findings, JvmMemory, ModePlan};
use crate::sourced::Sourced;
use crate::spark::java_options::parse_option_string;
use crate::spark::memory::planned_mib;
use crate::spark::module_options;

pub const MASTER_CLASS: &str = "org.apache.spark.deploy.master.Master";
/// `SparkClassCommandBuilder`'s default for the daemons (`DEFAULT_MEM`).
const DEFAULT_DAEMON_MEMORY: &str = "1g";

/// Resolves the master's plan; every problem found is reported together.
pub fn resolve(
    config: &Config,
    role: &RoleConfig,
    facts: &LocalFacts,
) -> Result<ModePlan, Vec<Problem>> {
    let mut found = Findings::default();
    check_spark_and_java(facts, &mut found);
    let hostname = found.require(&role.hostname, MISSING_HOSTNAME);
    let master_port = named_port(role, "master", 0, &mut found);
    let webui = named_port(role, "webui", 1, &mut found);
    let heap = daemon_memory(role, &mut found);
    let module_options = crate::plan::executor::argv::module_options_needed(facts, &mut found);
    let mut confs = recovery_confs(role, facts);
    confs.extend(rest_confs(role, facts));
    confs.extend(metrics_confs(config, facts));
    let opts = daemon_opts(role, &mut found);
    let extra = lossy(&config.command);
    if !extra.is_empty() {
        found.warn(format!(
            "the app's args ({}) are passed to the Master after spark-init's flags",
            extra.join(" ")
        ));
    }
    let (Some(hostname), Some(port), Some(webui), Some(heap)) =
        (hostname, master_port, webui, heap)
    else {
        return Err(found.problems);
    };
    if !found.problems.is_empty() {
        return Err(found.problems);
    }
    let classpath = classpath(role, facts);
    let argv = master_argv(
        facts,
        module_options,
        &MasterArgs {
            heap_mib: heap.value,
            classpath: &classpath.value,
            confs: &confs,
            opts: &opts,
            hostname: &hostname.value,
            port: port.value,
            webui: webui.value,
            extra,
        },
    );
    let jvm_memory = JvmMemory {
        heap_mib: heap.clone(),
        overhead_mib: None,
        overhead_key: None,
    };
    let mut resolved = common_resolved(role, facts);
    resolved.extend(
        [
            ("hostname", hostname.map(Into::into)),
            ("master_port", port.map(Into::into)),
            ("webui_port", webui.map(Into::into)),
            ("daemon_memory_mib", heap.map(Into::into)),
            ("classpath", classpath.map(Into::into)),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    let shown: Vec<_> = confs
        .into_iter()
        .map(|c| json!({"option": c.value, "source": c.source}))
        .collect();
    resolved.insert(
        "master_confs".into(),
        sourced(shown, "what spark-init adds (each with why)"),
    );
    Ok(ModePlan {
        role: "master".into(),
        argv: argv.into_iter().map(OsString::from).collect(),
        resolved,
        warnings: found.warnings,
        spark_version: Some(facts.spark.version.value),
        env: Default::default(),
        jvm_memory: Some(jvm_memory),
        ..ModePlan::default()
    })
}

/// What the Master's command line is made of.
struct MasterArgs<'a> {
    heap_mib: u64,
    classpath: &'a str,
    confs: &'a [Conf],
    opts: &'a [Sourced<Vec<String>>],
    hostname: &'a str,
    port: u16,
    webui: u16,
    extra: Vec<String>,
}

/// `java [module options] -Xmx -cp [-D...] [daemon opts] Master --host --port --webui-port [args]`.
fn master_argv(facts: &LocalFacts, module_options: bool, a: &MasterArgs<'_>) -> Vec<String> {
    let mut argv = vec![facts.java.java.value.display().to_string()];
    if module_options {
        let version = facts.spark.version.value;
        argv.extend(
            module_options::for_version(version)
                .iter()
                .map(|o| o.to_string()),
        );
    }
    argv.push(format!("-Xmx{}m", a.heap_mib));
    argv.extend(["-cp".to_string(), a.classpath.to_string()]);
    argv.extend(a.confs.iter().filter_map(|c| c.value.clone()));
    argv.extend(a.opts.iter().flat_map(|o| o.value.clone()));
    argv.push(MASTER_CLASS.into());
    argv.extend(["--host".into(), a.hostname.to_string()]);
    argv.extend(["--port".into(), a.port.to_string()]);
    argv.extend(["--webui-port".into(), a.webui.to_string()]);
    argv.extend(a.extra.iter().cloned());
    argv
}

/// Marathon's port named `name`, else `PORT<index>`.
fn named_port(
    role: &RoleConfig,
    name: &str,
    index: usize,
    found: &mut Findings,
) -> Option<Sourced<u16>> {
    let port = role.task.port(name, Some(index)).cloned();
    if port.is_none() {
        let variable = format!("PORT_{}", name.to_ascii_uppercase());
        found.problem(
            &variable,
            None,
            format!(
                "is not set and neither is PORT{index}: give the master's Marathon app a port \
                 named {name} (portDefinitions or the container's portMappings)"
            ),
        );
    }
    port
}

/// `SPARK_DAEMON_MEMORY` (default 1g), in MiB.
fn daemon_memory(role: &RoleConfig, found: &mut Findings) -> Option<Sourced<u64>> {
    let given = role.daemon_memory.clone().unwrap_or_else(|| {
        Sourced::new(
            DEFAULT_DAEMON_MEMORY.to_string(),
            "default (spark-class: SPARK_DAEMON_MEMORY unset)",
        )
    });
    match planned_mib(&given.value) {
        Ok(mib) => Some(given.map(|_| mib)),
        Err(why) => {
            found.problem(&given.source, Some(&given.value), why);
            None
        }
    }
}

/// `SPARK_DAEMON_JAVA_OPTS` then `SPARK_MASTER_OPTS`, split as Spark splits them; after
/// spark-init's `-D` options, so the operator's own win.
fn daemon_opts(role: &RoleConfig, found: &mut Findings) -> Vec<Sourced<Vec<String>>> {
    role.daemon_opts
        .iter()
        .filter_map(|v| match parse_option_string(&v.value) {
            Ok(tokens) => Some(Sourced::new(tokens, v.source.clone())),
            Err(e) => {
                found.problem(
                    &v.source,
                    Some(&v.value),
                    format!("{e}; fix the quoting as you would for Spark"),
                );
                None
            }
        })
        .collect()
}

/// A `-D` option spark-init adds, or `None` where the image's configuration already decides.
type Conf = Sourced<Option<String>>;

fn conf(facts: &LocalFacts, key: &str, value: String, why: &str) -> Conf {
    match from_defaults(facts, key) {
        Some(theirs) => Sourced::new(None, format!("{key} kept: {}", theirs.source)),
        None => Sourced::new(Some(format!("-D{key}={value}")), why),
    }
}

/// With a ZooKeeper framework store, the master keeps its state there
/// (`spark.deploy.recoveryMode=ZOOKEEPER`, Spark's `ZooKeeperPersistenceEngine`), so a
/// relaunched master knows the running application and its executors.
fn recovery_confs(role: &RoleConfig, facts: &LocalFacts) -> Vec<Conf> {
    let Some(StoreUrl::Zk { hosts, path }) = &role.lookups.store else {
        return Vec::new();
    };
    let why = "SPARK_INIT_FRAMEWORK_STORE is a ZooKeeper store: the master recovers from it";
    vec![
        conf(facts, "spark.deploy.recoveryMode", "ZOOKEEPER".into(), why),
        conf(facts, "spark.deploy.zookeeper.url", hosts.clone(), why),
        conf(
            facts,
            "spark.deploy.zookeeper.dir",
            format!("{}/master", path.trim_end_matches('/')),
            why,
        ),
    ]
}

/// The REST submission server (`spark.master.rest.enabled`, on by default from Spark 4.1):
/// on Marathon's port named `rest` when the app has one, else off, since nothing else maps
/// its port.
fn rest_confs(role: &RoleConfig, facts: &LocalFacts) -> Vec<Conf> {
    let key = "spark.master.rest.enabled";
    match role.task.port("rest", None) {
        Some(port) => {
            let why = format!("Marathon's port named rest ({})", port.source);
            vec![
                conf(facts, key, "true".into(), &why),
                conf(
                    facts,
                    "spark.master.rest.port",
                    port.value.to_string(),
                    &why,
                ),
            ]
        }
        None => vec![conf(
            facts,
            key,
            "false".into(),
            "no Marathon port named rest: the REST submission server would listen on a port \
             Marathon does not map",
        )],
    }
}

/// With `SPARK_INIT_GRAPHITE`, Spark's `GraphiteSink` for the master's instances (`master`,
/// `applications`: `*`), as `-D` options (see `crate::plan::metrics`).
fn metrics_confs(config: &Config, facts: &LocalFacts) -> Vec<Conf> {
    let Some(metrics) = &config.metrics else {
        return Vec::new();
    };
    crate::plan::metrics::sink_settings(crate::config::cli::Role::Master, metrics)
        .into_iter()
        .map(|s| conf(facts, &s.key, s.value, &s.source))
        .collect()
}

/// `SPARK_CONF_DIR`, (on Spark 4) `slf4j-api`, Spark's jars, `HADOOP_CONF_DIR`,
/// `SPARK_DIST_CLASSPATH`: the parts of `AbstractCommandBuilder.buildClassPath` a master uses.
fn classpath(role: &RoleConfig, facts: &LocalFacts) -> Sourced<String> {
    let mut entries = vec![role.conf_dir.as_ref().map(|d| d.display().to_string())];
    entries.extend(crate::plan::executor::classpath::spark_jars(facts));
    entries.extend(role.hadoop_conf_dir.clone());
    entries.extend(role.dist_classpath.clone());
    let (values, sources): (Vec<_>, Vec<_>) =
        entries.into_iter().map(|e| (e.value, e.source)).unzip();
    Sourced::new(values.join(":"), sources.join(", "))
}
