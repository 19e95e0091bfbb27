//! The fake Marathon checked against a client nobody here wrote: PyPI `marathon` (0.13.0,
//! installed by `make pyspark` into `.cache/`) must read the fake's app and tasks answers into
//! its models (`MarathonApp.from_json`, `MarathonTask.from_json`) without error.

use std::process::Command;

use entrypoint_tests::fake::{AppSpec, FakeServer, TaskSpec};
use entrypoint_tests::workspace_root;

#[test]
fn the_python_marathon_client_reads_the_fakes_answers() {
    let lib = workspace_root().join(".cache/python-marathon-0.13.0");
    assert!(
        lib.join("marathon/__init__.py").is_file(),
        "{} is missing: run `make pyspark`",
        lib.display()
    );
    let marathon = FakeServer::start();
    let mut healthy = TaskSpec::running(
        "spark_orders_driver.instance-1._app.1",
        &[31000, 31001, 31002],
    );
    healthy.health = Some(vec![true]);
    healthy.ip = Some("10.0.0.9".into());
    marathon.app(
        "/spark/orders/driver",
        AppSpec {
            port_names: vec!["driver".into(), "blockmanager".into(), "ui".into()],
            health_checks: true,
            tasks: vec![healthy],
            ..Default::default()
        },
    );
    let script = r#"
import sys
from marathon import MarathonClient
c = MarathonClient(sys.argv[1])
app = c.get_app("/spark/orders/driver")
tasks = c.list_tasks("/spark/orders/driver")
assert app.id == "/spark/orders/driver", app.id
assert [p.name for p in app.port_definitions] == ["driver", "blockmanager", "ui"], app.port_definitions
assert len(app.health_checks) == 1
assert len(tasks) == 1
t = tasks[0]
assert t.ports == [31000, 31001, 31002], t.ports
assert t.state == "TASK_RUNNING", t.state
assert t.health_check_results[0].alive is True
assert t.ip_addresses[0].ip_address == "10.0.0.9"
info = c.get_info()
print("ok", app.id, t.id, t.host, info.leader)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(marathon.url())
        .env("PYTHONPATH", &lib)
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout
            .starts_with("ok /spark/orders/driver spark_orders_driver.instance-1._app.1 127.0.0.1"),
        "{stdout}"
    );
}
