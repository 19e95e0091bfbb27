//! Users and privileges (README "Users"), as PID 1 of a new PID and mount namespace whose
//! `/etc/passwd` and `/etc/group` are the test's own (bind mounts), so the image's user
//! database is exactly what each test says: `root`, `spark` (185, also in `hadoop`, 500).
//! spark-init starts as root there (the tests run as root) or, through `setpriv`, as another
//! uid, as `docker run --user` and Marathon's `user` would start it.
//!
//! The last tests run a real Spark 3 (`SPARK_3`) executor (`CoarseGrainedExecutorBackend`, Java 17) as
//! a uid the image has no entry for: without one, Hadoop's login fails before the executor even
//! looks for its driver.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use entrypoint_tests::{
    executor_env, fixture, free_port, module_options, spark_init_bin, spark_jars, workspace_root,
    SPARK_3,
};

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nspark:x:185:185:Spark:/opt/spark:/bin/false\n";
const GROUP: &str = "root:x:0:\nspark:x:185:\nhadoop:x:500:spark\n";

/// The image's user database for one test, and how the namespace treats it.
struct Image {
    dir: tempfile::TempDir,
    /// `/etc/passwd` mounted read-only (a read-only image layer or root file system).
    passwd_read_only: bool,
    /// `libnss_wrapper.so` hidden (an image without libnss-wrapper).
    without_nss_wrapper: bool,
    /// spark-init started as this uid:gid instead of root.
    start_as: Option<&'static str>,
    /// Root without CAP_SETUID and CAP_SETGID (`docker run --cap-drop`).
    without_setid_caps: bool,
    /// The temporary folder (`TMPDIR`) mounted read-only (no room for nss_wrapper's copy).
    tmp_read_only: bool,
}

fn image(passwd: &str) -> Image {
    // In the workspace, like the binary: the command's user must reach what the test puts
    // here.
    let parent = workspace_root().join("target/users-tests");
    fs::create_dir_all(&parent).unwrap();
    let dir = tempfile::tempdir_in(parent).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.path().join("passwd"), passwd).unwrap();
    fs::write(dir.path().join("group"), GROUP).unwrap();
    Image {
        dir,
        passwd_read_only: false,
        without_nss_wrapper: false,
        start_as: None,
        without_setid_caps: false,
        tmp_read_only: false,
    }
}

fn nss_wrapper() -> Option<PathBuf> {
    spark_init::facts::accounts::nss_wrapper_in(&[Path::new("/usr/lib"), Path::new("/lib")])
}

impl Image {
    fn passwd(&self) -> String {
        fs::read_to_string(self.dir.path().join("passwd")).unwrap()
    }

    /// spark-init as PID 1 with `env` only (and PATH), in this image.
    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let dir = self.dir.path().display();
        // The namespace's temporary folder (TMPDIR, where nss_wrapper's copy goes) is a tmpfs
        // of its own inside the image's folder: never /tmp itself, which may hold the
        // checkout (and with it the binary under test).
        let mut setup = format!(
            "mount --bind {dir}/passwd /etc/passwd && mount --bind {dir}/group /etc/group && \
             mkdir -p {dir}/tmp && mount -t tmpfs tmpfs {dir}/tmp && export TMPDIR={dir}/tmp"
        );
        if self.tmp_read_only {
            setup += &format!(" && mount -o remount,ro {dir}/tmp");
        }
        if self.passwd_read_only {
            setup += " && mount -o remount,bind,ro /etc/passwd";
        }
        if self.without_nss_wrapper {
            if let Some(library) = nss_wrapper() {
                setup += &format!(" && mount --bind /dev/null {}", library.display());
            }
        }
        let mut start = match self.start_as {
            Some(ids) => {
                let (uid, gid) = ids.split_once(':').unwrap();
                format!("setpriv --reuid {uid} --regid {gid} --clear-groups ")
            }
            None => String::new(),
        };
        if self.without_setid_caps {
            start += "setpriv --bounding-set -setuid,-setgid --inh-caps -setuid,-setgid ";
        }
        let script = format!("{setup} && exec {start}\"$@\"");
        Command::new("unshare")
            .args(["--mount", "--pid", "--fork", "--mount-proc", "--kill-child"])
            .args(["sh", "-c", &script, "sh"])
            .arg(spark_init_bin())
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .envs(env.iter().copied())
            .output()
            .expect("unshare")
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const WHO: &[&str] = &["--", "sh", "-c", "id; echo HOME=$HOME; echo PID=$PPID"];

#[test]
fn a_plain_command_keeps_the_containers_user() {
    let out = image(PASSWD).run(&[], WHO);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("uid=0(root) gid=0(root)"),
        "{}",
        stdout(&out)
    );
    // The command's parent is spark-init, PID 1 of the namespace.
    assert!(stdout(&out).contains("PID=1\n"), "{}", stdout(&out));
}

#[test]
fn spark_init_user_drops_root_to_groups_gid_uid_and_home() {
    let out = image(PASSWD).run(&[("SPARK_INIT_USER", "spark"), ("HOME", "/root")], WHO);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "uid=185(spark) gid=185(spark) groups=185(spark),500(hadoop)\nHOME=/opt/spark\n"
        ),
        "{text}"
    );
    let out = image(PASSWD).run(&[("SPARK_INIT_USER", "185:500")], WHO);
    assert!(
        stdout(&out).starts_with("uid=185(spark) gid=500(hadoop)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn spark_init_user_root_keeps_root_on_purpose() {
    let out = image(PASSWD).run(&[("SPARK_INIT_USER", "root")], WHO);
    assert!(stdout(&out).starts_with("uid=0(root)"), "{}", stdout(&out));
}

/// The fixtures' executor environment, with a `java` that says who it runs as.
fn executor_in(dir: &Path) -> Vec<(String, String)> {
    let java_home = dir.join("java");
    fs::create_dir_all(java_home.join("bin")).unwrap();
    fs::copy(fixture("java/17/release"), java_home.join("release")).unwrap();
    let java = java_home.join("bin/java");
    fs::write(&java, "#!/bin/sh\nid\necho HOME=$HOME\n").unwrap();
    fs::set_permissions(&java, fs::Permissions::from_mode(0o755)).unwrap();
    let mut env = executor_env();
    env.retain(|(k, _)| k != "JAVA_HOME");
    env.push(("JAVA_HOME".into(), java_home.display().to_string()));
    env
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn a_spark_role_started_as_root_runs_as_spark_and_the_dry_run_says_so() {
    let image = image(PASSWD);
    let env = executor_in(image.dir.path());
    let out = image.run(&pairs(&env), &["executor"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(
            "uid=185(spark) gid=185(spark) groups=185(spark),500(hadoop)\nHOME=/opt/spark"
        ),
        "{}",
        stdout(&out)
    );
    let out = image.run(&pairs(&env), &["--dry-run", "--output", "json", "executor"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["resolved"]["user"]["value"],
        "spark (uid 185, gid 185)"
    );
    assert!(plan["resolved"]["user"]["source"]
        .as_str()
        .unwrap()
        .contains("gosu"));
    assert_eq!(plan["env"]["HOME"], "/opt/spark");
}

#[test]
fn a_spark_role_in_an_image_without_spark_keeps_root_and_says_why() {
    let image = image("root:x:0:0:root:/root:/bin/sh\n");
    let env = executor_in(image.dir.path());
    let out = image.run(&pairs(&env), &["--dry-run", "--output", "json", "executor"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["resolved"]["user"]["value"], "root (uid 0, gid 0)");
    let source = plan["resolved"]["user"]["source"].as_str().unwrap();
    assert!(source.contains("no user `spark`"), "{source}");
}

#[test]
fn root_without_the_setid_capabilities_keeps_root_for_a_role_and_refuses_a_named_user() {
    let mut image = image(PASSWD);
    image.without_setid_caps = true;
    let env = executor_in(image.dir.path());
    let out = image.run(&pairs(&env), &["executor"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("uid=0(root)"), "{}", stdout(&out));
    assert!(stderr(&out).contains("CAP_SETUID"), "{}", stderr(&out));
    let out = image.run(&[("SPARK_INIT_USER", "spark")], WHO);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("SPARK_INIT_USER=root"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).is_empty(),
        "nothing may start: {}",
        stdout(&out)
    );
}

#[test]
fn a_user_or_group_the_image_lacks_is_78_naming_it() {
    for (value, named) in [("sparky", "no `sparky`"), ("spark:nogroup", "no `nogroup`")] {
        let out = image(PASSWD).run(&[("SPARK_INIT_USER", value)], WHO);
        assert_eq!(out.status.code(), Some(78), "{value}");
        let text = stderr(&out);
        assert!(
            text.contains(&format!("SPARK_INIT_USER=\"{value}\"")),
            "{text}"
        );
        assert!(text.contains(named), "{text}");
        assert!(
            stdout(&out).is_empty(),
            "nothing may start: {}",
            stdout(&out)
        );
    }
    let out = image(PASSWD).run(&[("SPARK_INIT_USER", "spark:")], WHO);
    assert_eq!(out.status.code(), Some(78));
}

#[test]
fn without_root_only_the_own_user_may_be_named() {
    let mut not_root = image(PASSWD);
    not_root.start_as = Some("185:185");
    let out = not_root.run(&[("SPARK_INIT_USER", "root:hadoop")], WHO);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("needs root to switch"),
        "{}",
        stderr(&out)
    );
    let out = not_root.run(&[("SPARK_INIT_USER", "spark")], WHO);
    assert!(
        stdout(&out).starts_with("uid=185(spark) gid=185(spark)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_anonymous_uid_gets_a_passwd_entry_appended_when_passwd_is_writable() {
    let image = image(PASSWD);
    let out = image.run(&[("SPARK_INIT_USER", "4242")], &["--", "id"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "uid=4242(spark-4242) gid=0(root) groups=0(root)\n"
    );
    assert!(
        image
            .passwd()
            .ends_with("spark:x:185:185:Spark:/opt/spark:/bin/false\nspark-4242:x:4242:0:anonymous uid (spark-init):/:/bin/false\n"),
        "{}",
        image.passwd()
    );
    // Started again in the same container, the entry is there: nothing is added twice.
    image.run(&[("SPARK_INIT_USER", "4242")], &["--", "id"]);
    assert_eq!(image.passwd().matches("spark-4242").count(), 1);
}

#[test]
fn an_anonymous_container_user_gets_an_entry_through_nss_wrapper_when_passwd_is_read_only() {
    assert!(
        nss_wrapper().is_some(),
        "libnss_wrapper.so is not installed: run entrypoint-tests/scripts/ensure-deps.sh test"
    );
    let mut image = image(PASSWD);
    image.passwd_read_only = true;
    image.start_as = Some("4242:0");
    let out = image.run(&[], &["--", "id", "-un"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // `spark` is taken by uid 185, so the entry is named after the uid.
    assert_eq!(stdout(&out), "spark-4242\n");
    assert_eq!(image.passwd(), PASSWD, "the read-only passwd is untouched");
}

#[test]
fn an_nss_wrapper_copy_that_cannot_be_written_leaves_the_command_without_nss_wrapper() {
    let mut image = image(PASSWD);
    image.passwd_read_only = true;
    image.tmp_read_only = true;
    image.start_as = Some("4242:0");
    let out = image.run(
        &[],
        &["--", "sh", "-c", "echo LD_PRELOAD=$LD_PRELOAD; id -un"],
    );
    let text = stderr(&out);
    assert!(text.contains("cannot write the passwd entry"), "{text}");
    // nss_wrapper would print NWRAP_ERROR on every lookup of a copy that is not there.
    assert!(!text.contains("NWRAP_ERROR"), "{text}");
    assert!(
        stdout(&out).starts_with("LD_PRELOAD=\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_anonymous_uid_with_no_way_to_get_an_entry_is_a_warning_with_the_fix() {
    let mut image = image(PASSWD);
    image.passwd_read_only = true;
    image.without_nss_wrapper = true;
    let out = image.run(&[("SPARK_INIT_USER", "4242")], &["--", "id"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "uid=4242 gid=0(root) groups=0(root)\n");
    let text = stderr(&out);
    assert!(
        text.contains("WARN") && text.contains("uid 4242 has no entry"),
        "{text}"
    );
    assert!(text.contains("install libnss-wrapper"), "{text}");
}

/// A real Spark 3 executor started by spark-init as uid 4242, attaching to a driver port
/// nobody listens on: it gets as far as the driver only if Hadoop's login found a user name.
fn real_executor(image: &Image) -> String {
    let mut command = vec![
        "--".to_string(),
        "/usr/lib/jvm/java-17-openjdk-amd64/bin/java".into(),
    ];
    command.extend(module_options(SPARK_3).iter().map(|o| o.to_string()));
    command.extend([
        "-Xmx256m".into(),
        "-XX:-UsePerfData".into(),
        "-cp".into(),
        format!("{}/*", spark_jars(SPARK_3).display()),
        "org.apache.spark.executor.CoarseGrainedExecutorBackend".into(),
        "--driver-url".into(),
        format!("spark://CoarseGrainedScheduler@127.0.0.1:{}", free_port()),
        "--executor-id".into(),
        "1".into(),
        "--hostname".into(),
        "127.0.0.1".into(),
        "--cores".into(),
        "1".into(),
        "--app-id".into(),
        "app-20261129-0001".into(),
    ]);
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    let out = image.run(
        &[
            ("SPARK_INIT_USER", "4242"),
            ("SPARK_INIT_ENCODING", ""),
            ("SPARK_INIT_TIMEZONE", ""),
        ],
        &args,
    );
    assert!(
        !out.status.success(),
        "no driver listens, so the executor must fail"
    );
    stderr(&out)
}

const NO_NAME: &str = "invalid null input: name";

#[test]
fn a_real_executor_as_an_anonymous_uid_fails_hadoops_login_without_an_entry() {
    let mut image = image(PASSWD);
    image.passwd_read_only = true;
    image.without_nss_wrapper = true;
    let log = real_executor(&image);
    assert!(log.contains(NO_NAME), "{log}");
}

#[test]
fn a_real_executor_as_an_anonymous_uid_logs_in_with_the_appended_entry() {
    let log = real_executor(&image(PASSWD));
    assert!(!log.contains(NO_NAME), "{log}");
    // Past the login: it tried its driver.
    assert!(log.contains("Failed to connect to /127.0.0.1"), "{log}");
}

#[test]
fn a_real_executor_as_an_anonymous_uid_logs_in_through_nss_wrapper() {
    let mut image = image(PASSWD);
    image.passwd_read_only = true;
    let log = real_executor(&image);
    assert!(!log.contains(NO_NAME), "{log}");
    assert!(log.contains("Failed to connect to /127.0.0.1"), "{log}");
}
