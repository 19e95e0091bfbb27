//! The Marathon-compatible launcher: it really runs apps (spark-init as the ENTRYPOINT, each
//! instance in its own PID namespace) with Marathon's task environment, relaunches what exits,
//! scales, and kills with SIGTERM; a Marathon client nobody here wrote reads its answers.

use std::process::Command;

use entrypoint_tests::launcher::Launcher;
use entrypoint_tests::{poll, workspace_root, HANG};
use serde_json::{json, Value};
use spark_init::spark::executor_id::parse_task_id;

fn get(url: &str) -> Value {
    reqwest::blocking::get(url).unwrap().json().unwrap()
}

fn tasks(launcher: &Launcher) -> Vec<Value> {
    get(&format!("{}/v2/apps/test/app/tasks", launcher.url()))["tasks"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn runs_relaunches_scales_and_kills_apps_like_marathon() {
    let dir = tempfile::tempdir().unwrap();
    let launcher = Launcher::start(vec![(
        "REPORT_DIR".into(),
        dir.path().display().to_string(),
    )]);
    let client = reqwest::blocking::Client::new();
    let app = json!({
        "id": "/test/app",
        "instances": 2,
        "cpus": 0.5,
        "mem": 64,
        "portDefinitions": [{"port": 0, "name": "blockmanager"}, {"port": 0, "name": "ui-proxy"}],
        "labels": {"team": "data"},
        "env": {"FROM_APP": "yes"},
        "taskKillGracePeriodSeconds": 5,
        "args": ["sh", "-c",
                 // Written aside and renamed: `>` creates the file before sort has written
                 // it, and a test that saw the name then read an empty report.
                 "env | grep -E '^(MESOS_TASK_ID|MARATHON_|PORT|HOST|FROM_APP)' | sort > $REPORT_DIR/.$MESOS_TASK_ID && mv $REPORT_DIR/.$MESOS_TASK_ID $REPORT_DIR/$MESOS_TASK_ID; exec sleep 1000"]
    });
    let created = client
        .post(format!("{}/v2/apps", launcher.url()))
        .json(&app)
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let again = client
        .post(format!("{}/v2/apps", launcher.url()))
        .json(&app)
        .send()
        .unwrap();
    assert_eq!(again.status().as_u16(), 409);

    let report = |task: &str| std::fs::read_to_string(dir.path().join(task)).ok();
    let first = poll("two running tasks that reported", HANG, || {
        let t = tasks(&launcher);
        (t.len() == 2
            && t.iter()
                .all(|t| report(t["id"].as_str().unwrap()).is_some()))
        .then_some(t)
    });
    for t in &first {
        let id = t["id"].as_str().unwrap();
        assert!(parse_task_id(id).is_some(), "{id}");
        let env = report(id).unwrap();
        let ports = t["ports"].as_array().unwrap();
        assert!(env.contains(&format!("PORT0={}", ports[0])), "{env}");
        assert!(
            env.contains(&format!("PORT_BLOCKMANAGER={}", ports[0])),
            "{env}"
        );
        assert!(env.contains("MARATHON_APP_RESOURCE_CPUS=0.5"), "{env}");
        assert!(env.contains("MARATHON_APP_RESOURCE_MEM=64.0"), "{env}");
        assert!(env.contains("MARATHON_APP_LABEL_TEAM=data"), "{env}");
        assert!(env.contains("MARATHON_APP_ID=/test/app"), "{env}");
        assert!(env.contains("FROM_APP=yes"), "{env}");
        assert_eq!(t["state"], "TASK_RUNNING");
    }

    // A port name with a dash: shells drop such variables, spark-init (PID 1) has it.
    let (task, pid) = launcher.init_pids("/test/app")[0].clone();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    let ports = first.iter().find(|t| t["id"] == task.as_str()).unwrap()["ports"].clone();
    assert!(
        environ
            .split('\0')
            .any(|kv| kv == format!("PORT_UI-PROXY={}", ports[1])),
        "{environ}"
    );

    // An instance that dies is replaced under a new task ID.
    let (victim, pid) = launcher.init_pids("/test/app")[0].clone();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    poll("the killed instance to be replaced", HANG, || {
        let t = tasks(&launcher);
        (t.len() == 2 && t.iter().all(|t| t["id"] != victim.as_str())).then_some(())
    });

    // Scale up.
    let put = client
        .put(format!("{}/v2/apps/test/app", launcher.url()))
        .json(&json!({"instances": 3}))
        .send()
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    poll("three running tasks", HANG, || {
        (tasks(&launcher).len() == 3).then_some(())
    });

    // A Marathon client nobody here wrote reads the answers.
    let lib = workspace_root().join(".cache/python-marathon-0.13.0");
    let out = Command::new("python3")
        .arg("-c")
        .arg("import sys\nfrom marathon import MarathonClient\nc = MarathonClient(sys.argv[1])\n\
              a = c.get_app('/test/app'); t = c.list_tasks('/test/app')\nprint(a.instances, len(t))")
        .arg(launcher.url())
        .env("PYTHONPATH", &lib)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3 3");

    // Delete: every instance gets SIGTERM; spark-init passes it on and exits 143 as the
    // command did.
    let deleted = client
        .delete(format!("{}/v2/apps/test/app", launcher.url()))
        .send()
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    poll("the app to be gone", HANG, || {
        let code = client
            .get(format!("{}/v2/apps/test/app", launcher.url()))
            .send()
            .unwrap()
            .status()
            .as_u16();
        (code == 404).then_some(())
    });
    let exited = poll("every instance to exit", HANG, || {
        let exited = launcher.exited("/test/app");
        (exited.len() == 4).then_some(exited)
    });
    // The SIGKILLed one first (its code is unshare's business), then three clean stops.
    assert_eq!(exited[0].0, victim, "{exited:?}");
    assert!(
        exited[1..].iter().all(|(_, code)| *code == Some(143)),
        "{exited:?}"
    );
}
