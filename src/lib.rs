//! spark-init: PID 1 for Spark drivers, executors and masters that Marathon runs.
//!
//! The pipeline, one folder a stage (see `../shared/STYLE.md` and [`main_with`]):
//! gather (`main`: argv, an [`config::EnvSnapshot`]) → parse every variable once into a typed
//! [`config::Config`] ([`config`]) → discover the facts ([`facts`]: the installations,
//! `spark-defaults.conf`, cgroup limits; the lookups in forked children over [`clients`]) →
//! resolve a pure [`plan::Plan`] ([`plan`]; the dry run prints it) → [`supervise::run`] it in a
//! tini-style loop, with the driver's companion ([`driver_lifecycle`]) as a side task.
//! Spark's own formats and rules live in [`spark`].
//!
//! The contract with operators, kept in README.md:
//! - exit codes: [`exit_code`] (the command's, 128+N, 64 usage, 69 unavailable, 70 internal,
//!   78 configuration, 126, 127);
//! - variables: `SPARK_INIT_*` in [`config`]; the JVM options (`JAVA_TOOL_OPTIONS`,
//!   `SPARK_JAVA_OPT_*`, `SPARK_INIT_JAVA_OPTS`) in [`config`]'s `java`; the role modes'
//!   (`SPARK_HOME`, `SPARK_CONF_DIR`, `JAVA_HOME`, `SPARK_DRIVER_URL`, `SPARK_APPLICATION_ID`,
//!   `SPARK_EXECUTOR_*`, `SPARK_CLASSPATH`, `SPARK_EXTRA_CLASSPATH`, a Mesos driver's
//!   `MESOS_NATIVE_JAVA_LIBRARY`, `MESOS_NATIVE_LIBRARY`, `LD_LIBRARY_PATH`, a driver's
//!   `SPARK_INIT_MASTER_APP`, a master's `SPARK_DAEMON_MEMORY`, `SPARK_DAEMON_JAVA_OPTS`,
//!   `SPARK_MASTER_OPTS`) in [`config::role`], the lookups' in [`config::lookups`]; Marathon's
//!   task variables (`HOST`, `PORT<n>`, `PORT_<NAME>`, `MESOS_TASK_ID`,
//!   `MARATHON_APP_RESOURCE_*`) in [`config::task_env`]; who the command runs as
//!   (`SPARK_INIT_USER`) in [`config::user`];
//! - files read besides: `/etc/passwd` and `/etc/group` ([`facts::accounts`]);
//! - written before the command starts, for a uid without a passwd entry: a line at the end of
//!   `/etc/passwd`, else nss_wrapper's copy in `TMPDIR` ([`plan::user`]);
//! - files read: `$SPARK_HOME/RELEASE`, `$SPARK_HOME/jars/`, `$JAVA_HOME/release`,
//!   `$SPARK_CONF_DIR/spark-defaults.conf`, the cgroup files under `SPARK_INIT_CGROUP_ROOT`
//!   ([`facts`]; its memory counters also before the command starts and after it exits); a
//!   driver's application resource when it is a file here, and on Mesos its native library
//!   where the JVM will look, the JDK's `libjvm.so` (its default `java.library.path`) and
//!   `spark-env.sh` ([`facts::prerequisites`]); a crashed JVM's `hs_err_pid<pid>.log`
//!   ([`facts::hs_err`]);
//! - APIs called (in child processes): Marathon `GET /v2/apps/{id}[/tasks]` (a driver's
//!   executors' app too, [`facts::executors`]), Mesos `GET /master/frameworks`, the driver's
//!   `GET /api/v1/applications` ([`facts::remote`], [`facts::stored`]) and, while it waits for
//!   its executors, `GET /api/v1/applications/{id}/executors` ([`driver_lifecycle`]); the one write, when asked for, is Marathon `PUT /v2/apps/{executors}`
//!   ([`driver_lifecycle`]);
//! - written: the framework store ([`clients::framework_store`]: the znode
//!   `<path>/framework-id`, sequential znodes `<path>/executor-ids/id-N`, or a `file://`
//!   store's file); the termination summary (`SPARK_INIT_TERMINATION_LOG`, default
//!   `$MESOS_SANDBOX/spark-init-termination.json`; [`supervise::exit`]);
//! - the executor's and the driver's class-data sharing archives (`SPARK_INIT_CDS_ARCHIVE`,
//!   default `/opt/spark-init/executor.jsa`; `SPARK_INIT_CDS_DRIVER_ARCHIVE`, default
//!   `/opt/spark-init/driver.jsa`) and their manifests `<archive>.json`, read by the executor
//!   and driver roles and written by `spark-init cds build` at image build time ([`cds`]; exit
//!   73 when it cannot make an archive);
//! - logged when the command ends: one line explaining its exit ([`supervise::exit`]);
//! - sent, with `SPARK_INIT_GRAPHITE`: Spark's metrics (its `GraphiteSink`, configured through
//!   `spark.metrics.conf.*`, [`plan::metrics`]) and the container's cgroup statistics, from a
//!   child process ([`metrics`]), to Graphite's plaintext listener.

pub mod cds;
pub mod clients;
pub mod config;
pub mod driver_lifecycle;
pub mod error;
pub mod exit_code;
pub mod facts;
pub mod logging;
pub mod metrics;
#[cfg(test)]
mod parser_properties;
pub mod plan;
pub mod redact;
pub mod sourced;
pub mod spark;
pub mod supervise;

use std::ffi::OsString;
use std::io::Write;

use crate::config::cli::{self, OutputFormat, Parsed, Role};
use crate::config::role::RoleConfig;
use crate::config::{Config, ConfigErrors, EnvSnapshot, Problem};
use crate::error::Error;
use crate::facts::remote::RemoteFacts;
use crate::facts::stored::BeforeLaunch;
use crate::facts::Facts;
use crate::supervise::signals::SignalSet;

/// What `main` does after it has taken over the signals: returns the process exit code.
pub fn main_with(args: Vec<OsString>, env: EnvSnapshot, blocked: &SignalSet) -> i32 {
    match run(args, env, blocked) {
        Ok(code) => code,
        Err(error) => {
            // Logged once, as an error line, in the operator's chosen format; stderr
            // always gets it even when logging is filtered off. A URL's password is masked
            // once more on this path (the log's writer does it for the logged line).
            let shown = redact::url_passwords(&error.to_string()).into_owned();
            tracing::error!("{shown}");
            if !tracing::enabled!(tracing::Level::ERROR) {
                let _ = writeln!(std::io::stderr(), "spark-init: error: {shown}");
            }
            let code = i32::from(error.exit_code());
            supervise::exit::termination_log::not_started(&shown, code);
            code
        }
    }
}

fn run(args: Vec<OsString>, env: EnvSnapshot, blocked: &SignalSet) -> Result<i32, Error> {
    // Logging first, from the log variables alone, so every later error is shown in the
    // format the operator chose.
    logging::init(&config::log_config_only(&env));
    let cli = match cli::parse(args) {
        Ok(Parsed::Run(cli)) => cli,
        Ok(Parsed::Info(text)) => return print_info(&text),
        Err(usage) => return Err(Error::Usage(usage)),
    };
    if cli.role.is_none() && cds::build::is_requested(&cli.command) {
        return cds::build::run(&env);
    }
    if let Some(said) = cli
        .role
        .is_none()
        .then(|| cds::build::misused(&cli.command))
        .flatten()
    {
        return said;
    }
    let env = with_spark_env(&cli, env)?;
    let (config, problems) = Config::gather(cli, &env);
    if let (Some(path), false) = (&config.termination_log.value, config.dry_run.value) {
        let role = config.role.as_ref().map_or("exec", |r| r.value.name());
        supervise::exit::termination_log::remember(path, role);
    }
    let plan = match resolve(&config, problems, &env, blocked) {
        Err(Error::Interrupted(sig)) => return Ok(stopped_while_resolving(&config, sig)),
        plan => plan?,
    };
    if config.dry_run.value {
        let out = match config.output {
            OutputFormat::Text => plan.to_text(),
            OutputFormat::Json => plan.to_json(),
        };
        return print_plan(&out);
    }
    execute(&plan, &env, blocked)
}

/// A stop (SIGTERM, SIGINT) that came while a role was still resolving: the orchestrator's
/// ordinary stop (a Marathon scale-down of executors still waiting for their driver), so an
/// info line and the exit a stopped command gives, 128+N through `SPARK_INIT_EXIT_REMAP`
/// (issue 18: it was an ERROR line and 143 whatever the remap said).
fn stopped_while_resolving(config: &Config, sig: i32) -> i32 {
    let signal = supervise::signals::name(sig);
    let code = config::vars::remapped(&config.exit_remap.value, exit_code::SIGNALED_BASE + sig);
    let message = format!("stopped by {signal} while resolving, before the command was started");
    tracing::info!(code, signal = %signal, "{message}");
    supervise::exit::termination_log::not_started(&message, code);
    code
}

/// `--help` or `--version` on stdout. A reader that stops early (`spark-init --help | head`,
/// `| true`) is no failure: exit 0, as with the whole text read; another write error is.
fn print_info(text: &str) -> Result<i32, Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Error::Internal(format!("cannot write to stdout: {e}"))),
    }
}

/// The dry run's plan on stdout. A reader that stops early (`spark-init --dry-run | head`) is
/// no failure, as for `--help`: exit 0. Any other write error stays what `println!` made it,
/// an internal error (`a_panic_is_an_internal_error_said_once` relies on it).
fn print_plan(out: &str) -> Result<i32, Error> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{out}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => panic!("failed printing to stdout: {e}"),
    }
}

/// An executor's (and a master's) JVM gets what spark-env.sh sets, as spark-class gives it;
/// before anything is parsed, since it may set the variables spark-init reads.
fn with_spark_env(cli: &cli::Cli, env: EnvSnapshot) -> Result<EnvSnapshot, Error> {
    let daemon = match cli.role {
        Some(role) => role != Role::Driver,
        None => {
            let var = env.get("SPARK_INIT_ROLE").and_then(|r| r.to_str());
            let first = cli.command.first().and_then(|a| a.to_str());
            var.and_then(Role::from_word)
                .or_else(|| {
                    first
                        .filter(|w| ["executor", "master"].contains(w))
                        .and_then(Role::from_word)
                })
                .is_some_and(|role| role != Role::Driver)
        }
    };
    if daemon {
        Ok(config::spark_env::load(env).map_err(|p| ConfigErrors::new(vec![p]))?)
    } else {
        Ok(env)
    }
}

/// The plan: who the command runs as, then the role's plan or the command as it is.
fn resolve(
    config: &Config,
    mut problems: Vec<Problem>,
    env: &EnvSnapshot,
    blocked: &SignalSet,
) -> Result<plan::Plan, Error> {
    let given = plan::user::Given {
        spark_home: (config.role_config.as_ref()).map(|r| r.spark_home.value.as_path()),
        ld_preload: env.get("LD_PRELOAD").and_then(|p| p.to_str()),
        tmp_dir: env.get("TMPDIR").and_then(|p| p.to_str()),
    };
    let identity = plan::user::resolve(
        &config.user,
        config.role_config.is_some(),
        given,
        &facts::accounts::System,
    )
    .map_err(|problem| problems.push(problem))
    .unwrap_or_default();
    let plan = match (&config.role, &config.role_config) {
        (Some(role), Some(role_config)) => {
            let given = Given { env, problems };
            role_plan(config, role.value, role_config, given, blocked)?
        }
        _ if !problems.is_empty() => return Err(ConfigErrors::new(problems).into()),
        _ if config.command.is_empty() => {
            return Err(Error::Usage(format!(
                "nothing to run: give a command after the options (spark-init -- java ...), \
                 or a role (--role driver|executor|master, or SPARK_INIT_ROLE for Marathon apps, \
                 which cannot pass flags)\n\n{}",
                cli::usage()
            )))
        }
        _ => plan::resolve(config),
    };
    Ok(plan.with_identity(identity))
}

/// Runs the plan: the command under supervision, with the side tasks the plan asks for (the
/// driver's companion, the metrics sender), then the driver's duties after its exit.
fn execute(plan: &plan::Plan, env: &EnvSnapshot, blocked: &SignalSet) -> Result<i32, Error> {
    for warning in &plan.warnings {
        tracing::warn!("{}", redact::text(warning));
    }
    if plan.role != "exec" {
        // What spark-init resolved, for whoever reads the container log later.
        plan.log();
    }
    // The driver's companion learns and stores its framework ID and publishes it.
    let companion = plan
        .store_duty
        .as_ref()
        .filter(|duty| duty.ui_port.is_some())
        .map(|duty| move || driver_lifecycle::learn_framework_id(duty));
    // The container's statistics go to Graphite from a process of their own.
    let sender = plan
        .metrics
        .as_ref()
        .map(|duty| move || metrics::send_container_stats(duty));
    let mut side_tasks: Vec<supervise::SideTask<'_>> = Vec::new();
    if let Some(work) = &companion {
        side_tasks.push(supervise::SideTask {
            name: "the driver's companion (the framework ID will not be stored)",
            work,
        });
    }
    if let Some(work) = &sender {
        side_tasks.push(supervise::SideTask {
            name: "the metrics sender (no container statistics will be sent)",
            work,
        });
    }
    let started = std::time::Instant::now();
    let outcome = supervise::run(plan, env.vars(), blocked, &side_tasks)?;
    if let Some(duty) = &plan.store_duty {
        driver_lifecycle::after_exit(duty, &outcome, started.elapsed(), blocked);
    }
    Ok(outcome.code)
}

/// What a role's plan starts from besides the configuration: the environment (spark-submit
/// gets it, spark-env.sh applied) and the problems reading the variables found.
struct Given<'a> {
    env: &'a EnvSnapshot,
    problems: Vec<Problem>,
}

/// A Spark role: the image's facts → the lookups → the plan. Every configuration problem (the
/// variables', the installation's, the driver's prerequisites', resolving's) is reported
/// together, before any lookup starts.
fn role_plan(
    config: &Config,
    role: Role,
    role_config: &RoleConfig,
    given: Given<'_>,
    blocked: &SignalSet,
) -> Result<plan::Plan, Error> {
    let Given { env, mut problems } = given;
    let local = facts::discover_local(role_config).map_err(|more| {
        problems.extend(more);
        // Without the installation nothing else can be resolved, but say what else is
        // missing so that one round of fixes is enough.
        problems.extend(plan::role::missing_inputs(role, role_config));
        ConfigErrors::new(std::mem::take(&mut problems))
    })?;
    let prerequisites = match role {
        Role::Driver => facts::prerequisites::discover(role_config, &local, env),
        Role::Executor | Role::Master => Default::default(),
    };
    let mut facts = Facts {
        local,
        remote: RemoteFacts::default(),
        stored: BeforeLaunch::default(),
        master: Default::default(),
        executors: Default::default(),
        prerequisites,
    };
    // Report what resolving would also find, without looking anything up: every problem
    // when there are some already; a driver's own (its application, its Mesos library) in
    // any case, since what its lookups find cannot fix them.
    if !problems.is_empty() || role == Role::Driver {
        let more = plan::resolve_role(config, role, role_config, &facts).err();
        problems.extend(plan::role::without_lookup_gaps(
            role,
            role_config,
            more.unwrap_or_default(),
        ));
        if !problems.is_empty() {
            return Err(ConfigErrors::new(problems).into());
        }
    }
    match role {
        Role::Executor => facts.remote = facts::discover_remote(config, role_config, blocked)?,
        Role::Driver => {
            facts.master = facts::discover_master(config, role_config, blocked)?;
            facts.executors = facts::discover_executors(config, role_config, blocked)?;
            let spark = facts.local.spark.version.value;
            facts.stored = facts::discover_stored(config, role_config, spark, blocked)?;
        }
        Role::Master => {}
    }
    let mode = plan::resolve_role(config, role, role_config, &facts).map_err(ConfigErrors::new)?;
    Ok(plan::assemble(config, mode))
}
