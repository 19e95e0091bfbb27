//! In real containers (README "Images"): the launcher's Docker containerizer, and the end-to-end
//! story (`entrypoint_tests::story::run_in_containers`) with every task a container of the
//! image `make image` built. Each test runs when a Docker engine answers and the image holds the
//! binary under test, and says plainly on stderr when it cannot; `SPARK_INIT_TEST_REQUIRE_DOCKER=1`
//! (`.ci/run`) makes that a failure. Every container and network a test makes carries a unique
//! prefix and is removed when the test ends, pass or fail (`docker::Scope`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use entrypoint_tests::docker::{self, docker_ok, Scope};
use entrypoint_tests::launcher::{Containerizer, Launcher};
use entrypoint_tests::{poll, HANG, SPARK_3, SPARK_4};
use serde_json::{json, Value};

/// Two cores: one Spark story at a time (also against `end_to_end.rs`'s, in another process,
/// the machine decides).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An app whose one task writes its environment to the sandbox and then sleeps, run by
/// spark-init (no role: a plain command) in `spark-init:<SPARK_3>`.
fn env_app(id: &str, networks: Value) -> Value {
    json!({
        "id": id,
        "instances": 1,
        "cpus": 0.5,
        "mem": 96,
        "container": {"type": "DOCKER", "docker": {"image": docker::image(SPARK_3)}},
        "networks": networks,
        "portDefinitions": [{"port": 0, "name": "rpc"}, {"port": 0, "name": "ui"}],
        "args": ["sh", "-c", "env > /mnt/mesos/sandbox/env.tmp && mv /mnt/mesos/sandbox/env.tmp /mnt/mesos/sandbox/env && exec sleep 600"],
        "labels": {"team": "data"},
        "taskKillGracePeriodSeconds": 7
    })
}

fn task_env(launcher: &Launcher, task: &str) -> BTreeMap<String, String> {
    let file = launcher.work_dir().join(format!("sandbox-{task}/env"));
    let text = poll("the task's environment file", HANG, || {
        std::fs::read_to_string(&file).ok()
    });
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn tasks(client: &reqwest::blocking::Client, launcher: &Launcher, app: &str) -> Vec<Value> {
    let answer: Value = client
        .get(format!("{}/v2/apps{app}/tasks", launcher.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    answer["tasks"].as_array().unwrap().clone()
}

/// Marathon's Docker containerizer: `docker run` of the app's image with `--cpus`, `--memory`
/// and the labels; HOST networking gives loopback ports, a container network the task's own
/// address (`HOST`, the task's `host` and `ipAddresses`); an exited container is relaunched
/// under a new task ID; scaling down is `docker stop -t <taskKillGracePeriodSeconds>`, which
/// spark-init answers with the command's 143.
#[test]
fn the_launcher_runs_docker_apps_on_host_and_container_networks() {
    if !docker::ready(
        "the_launcher_runs_docker_apps_on_host_and_container_networks",
        SPARK_3,
    ) {
        return;
    }
    let mut scope = Scope::new("launcher");
    let network = scope.network();
    let launcher = Launcher::start_with(
        Vec::new(),
        Some(Containerizer {
            prefix: scope.prefix.clone(),
            label: scope.label(),
            network: Some(network.clone()),
        }),
    );
    let client = reqwest::blocking::Client::new();
    for app in [
        env_app("/c/host", json!([{"mode": "host"}])),
        env_app(
            "/c/bridge",
            json!([{"mode": "container", "name": network.name}]),
        ),
    ] {
        let posted = client
            .post(format!("{}/v2/apps", launcher.url()))
            .json(&app)
            .send()
            .unwrap();
        assert_eq!(posted.status().as_u16(), 201);
    }
    let host_task = poll("the host app's task", HANG, || {
        tasks(&client, &launcher, "/c/host").pop()
    });
    let env = task_env(&launcher, host_task["id"].as_str().unwrap());
    assert_eq!(env["HOST"], "127.0.0.1");
    assert_eq!(host_task["host"], "127.0.0.1");
    assert_eq!(env["PORT_RPC"], host_task["ports"][0].to_string());
    assert_eq!(env["MARATHON_APP_RESOURCE_MEM"], "96.0");
    assert_eq!(env["MARATHON_APP_LABEL_TEAM"], "data");

    let bridge_task = poll("the bridge app's task", HANG, || {
        tasks(&client, &launcher, "/c/bridge").pop()
    });
    let env = task_env(&launcher, bridge_task["id"].as_str().unwrap());
    let address = bridge_task["ipAddresses"][0]["ipAddress"].as_str().unwrap();
    assert!(
        address.starts_with(network.gateway().trim_end_matches(".1")),
        "{bridge_task}"
    );
    assert_eq!(env["HOST"], address);
    assert_eq!(bridge_task["host"], address);
    assert_eq!(env["PORT_RPC"], "31000");
    assert_eq!(env["PORT_UI"], "31001");

    let (task, name) = launcher.containers("/c/bridge")[0].clone();
    let inspect = docker_ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{index .Config.Labels \"team\"}}",
        &name,
    ]);
    assert_eq!(inspect, format!("500000000 {} data", 96 * 1024 * 1024));

    // An exited task comes back under a new task ID.
    let (_, init) = launcher.init_pids("/c/bridge")[0].clone();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(init, libc::SIGKILL) };
    poll("the killed container's relaunch", HANG, || {
        let now = launcher.containers("/c/bridge");
        (now.len() == 1 && now[0].0 != task).then_some(())
    });
    assert_eq!(launcher.exited("/c/bridge")[0].1, Some(137));

    // Scaled to 0: docker stop; spark-init forwards the SIGTERM, sleep dies of it, 143.
    let scaled = client
        .put(format!("{}/v2/apps/c/host", launcher.url()))
        .json(&json!({"instances": 0}))
        .send()
        .unwrap();
    assert_eq!(scaled.status().as_u16(), 200);
    let exited = poll("the host app's task to stop", HANG, || {
        launcher.exited("/c/host").first().cloned()
    });
    assert_eq!(exited.1, Some(143));
    drop(launcher);
    scope.remove_all();
    assert!(scope.left().is_empty(), "{:?}", scope.left());
}

fn story(spark: &str) -> Option<entrypoint_tests::story::Summary> {
    let test = format!("the Spark {spark} story in containers");
    if !docker::ready(&test, spark) {
        return None;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    Some(entrypoint_tests::story::run_in_containers(
        spark,
        &mut |line| eprintln!("containers {spark}: {line}"),
    ))
}

#[test]
fn spark_3_drivers_and_executors_in_containers() {
    let Some(summary) = story(SPARK_3) else {
        return;
    };
    // Attach, cgroup sizing, scale, driver killed, executor replaced, OOM kill, network cut
    // with ZooKeeper's restart, stop.
    assert_eq!(summary.steps.len(), 8, "{summary:?}");
    assert_eq!(summary.cgroup_sized, Some(("1".into(), "1664m".into())));
    // Killed in step 3, cut off in step 5.
    assert!(summary.driver_restarts >= 2, "{summary:?}");
    assert_eq!(summary.final_exit_codes.len(), 4, "{summary:?}");
}

#[test]
fn spark_4_master_driver_and_executors_in_containers() {
    let Some(summary) = story(SPARK_4) else {
        return;
    };
    assert_eq!(summary.steps.len(), 8, "{summary:?}");
    assert_eq!(summary.cgroup_sized, Some(("1".into(), "1664m".into())));
    assert!(summary.driver_restarts >= 2, "{summary:?}");
    let (before, after) = &summary.app_ids;
    assert_ne!(before, after, "{summary:?}");
    // The master, the driver and three executors, each stopped by SIGTERM.
    assert_eq!(summary.final_exit_codes.len(), 5, "{summary:?}");
}
