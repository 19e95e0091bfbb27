use super::*;
use crate::config::user::parse;

/// A user database in memory: root, spark (185, also in `hadoop`), nobody-like 65534.
struct Db {
    current: (u32, u32),
    accounts: Vec<Account>,
    writable: bool,
    nss: Option<PathBuf>,
    setid_caps: bool,
}

fn db(current: (u32, u32)) -> Db {
    let account = |name: &str, uid, gid, home: &str| Account {
        name: name.into(),
        uid,
        gid,
        home: home.into(),
    };
    Db {
        current,
        accounts: vec![
            account("root", 0, 0, "/root"),
            account("spark", 185, 185, "/opt/spark"),
            account("nobody", 65534, 65534, "/nonexistent"),
        ],
        writable: true,
        nss: None,
        setid_caps: true,
    }
}

impl Accounts for Db {
    fn current(&self) -> (u32, u32) {
        self.current
    }
    fn by_name(&self, name: &str) -> Option<Account> {
        self.accounts.iter().find(|a| a.name == name).cloned()
    }
    fn by_uid(&self, uid: u32) -> Option<Account> {
        self.accounts.iter().find(|a| a.uid == uid).cloned()
    }
    fn group_by_name(&self, name: &str) -> Option<u32> {
        match name {
            "hadoop" => Some(500),
            "spark" => Some(185),
            _ => None,
        }
    }
    fn groups_of(&self, name: &str, gid: u32) -> Vec<u32> {
        match name {
            "spark" => vec![gid, 500],
            _ => vec![gid],
        }
    }
    fn passwd_writable(&self) -> bool {
        self.writable
    }
    fn nss_wrapper(&self) -> Option<PathBuf> {
        self.nss.clone()
    }
    fn can_switch_ids(&self) -> bool {
        self.setid_caps
    }
}

fn spec(raw: Option<&str>) -> Sourced<Option<UserSpec>> {
    let mut problems = Vec::new();
    let spec = parse(raw, &mut problems);
    assert!(problems.is_empty());
    spec
}

fn resolve_with(raw: Option<&str>, role: bool, db: &Db) -> Result<Identity, Problem> {
    let given = Given {
        spark_home: Some(Path::new("/opt/spark")),
        ..Given::default()
    };
    resolve(&spec(raw), role, given, db)
}

#[test]
fn a_role_started_as_root_drops_to_spark_with_its_groups_and_home() {
    let identity = resolve_with(None, true, &db((0, 0))).unwrap();
    assert_eq!(
        identity.switch,
        Some(RunAs {
            name: Some("spark".into()),
            uid: 185,
            gid: 185,
            groups: vec![185, 500],
            home: "/opt/spark".into(),
        })
    );
    assert_eq!(identity.passwd, None);
    let shown = identity.resolved.unwrap();
    assert_eq!(shown.value, json!("spark (uid 185, gid 185)"));
    assert!(shown.source.contains("gosu"), "{}", shown.source);
}

#[test]
fn a_plain_command_keeps_the_containers_user() {
    let identity = resolve_with(None, false, &db((0, 0))).unwrap();
    assert_eq!(identity.switch, None);
    assert_eq!(
        identity.resolved.unwrap().value,
        json!("root (uid 0, gid 0)")
    );
}

#[test]
fn a_role_in_an_image_without_spark_keeps_root_and_says_why() {
    let mut db = db((0, 0));
    db.accounts.retain(|a| a.name != "spark");
    let identity = resolve_with(None, true, &db).unwrap();
    assert_eq!(identity.switch, None);
    assert!(identity
        .resolved
        .unwrap()
        .source
        .contains("no user `spark`"));
}

#[test]
fn spark_init_user_root_keeps_root_on_purpose() {
    let identity = resolve_with(Some("root"), true, &db((0, 0))).unwrap();
    assert_eq!(identity.switch, None);
    assert_eq!(identity.resolved.unwrap().source, "SPARK_INIT_USER");
}

#[test]
fn spark_init_user_applies_to_plain_commands_and_takes_a_group() {
    let identity = resolve_with(Some("spark:hadoop"), false, &db((0, 0))).unwrap();
    let run_as = identity.switch.unwrap();
    assert_eq!((run_as.uid, run_as.gid), (185, 500));
    // runc's rule, which gosu follows: an explicit group is the only one.
    assert_eq!(run_as.groups, vec![500]);
}

#[test]
fn an_unknown_name_is_a_problem_naming_it() {
    let error = resolve_with(Some("sparky"), true, &db((0, 0))).unwrap_err();
    assert_eq!(error.name, "SPARK_INIT_USER");
    assert_eq!(error.value.as_deref(), Some("sparky"));
    assert!(error.message.contains("no `sparky`"), "{}", error.message);
    let error = resolve_with(Some("spark:nogroup"), true, &db((0, 0))).unwrap_err();
    assert!(error.message.contains("no `nogroup`"), "{}", error.message);
}

#[test]
fn switching_needs_root_but_naming_oneself_is_fine() {
    let error = resolve_with(Some("spark"), true, &db((1000, 1000))).unwrap_err();
    assert!(error.message.contains("uid 1000"), "{}", error.message);
    let identity = resolve_with(Some("spark"), true, &db((185, 185))).unwrap();
    assert_eq!(identity.switch, None);
    // Unset, a non-root role has nothing to drop.
    let identity = resolve_with(None, true, &db((1000, 1000))).unwrap();
    assert_eq!(identity.switch, None);
}

#[test]
fn an_anonymous_uid_gets_an_entry_appended_when_passwd_is_writable() {
    let identity = resolve_with(Some("4242"), true, &db((0, 0))).unwrap();
    let run_as = identity.switch.unwrap();
    assert_eq!(
        (run_as.uid, run_as.gid, &*run_as.home),
        (4242, 0, Path::new("/opt/spark"))
    );
    // `spark` is taken (uid 185), so the entry is named after the uid.
    let line = "spark-4242:x:4242:0:anonymous uid (spark-init):/opt/spark:/bin/false";
    assert_eq!(run_as.name.as_deref(), Some("spark-4242"));
    assert_eq!(
        identity.passwd,
        Some(PasswdFix::Append { line: line.into() })
    );
}

#[test]
fn an_anonymous_container_user_falls_back_to_nss_wrapper_then_to_a_warning() {
    let mut db = db((4242, 0));
    db.accounts.retain(|a| a.name != "spark");
    db.writable = false;
    db.nss = Some("/usr/lib/x86_64-linux-gnu/libnss_wrapper.so".into());
    let identity = resolve_with(None, true, &db).unwrap();
    assert_eq!(identity.switch, None);
    assert_eq!(
        identity.passwd,
        Some(PasswdFix::NssWrapper {
            library: "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so".into(),
            line: "spark:x:4242:0:anonymous uid (spark-init):/opt/spark:/bin/false".into(),
            file: "/tmp/spark-init-4242.passwd".into(),
            ld_preload_before: None,
        })
    );
    db.nss = None;
    let identity = resolve_with(None, true, &db).unwrap();
    assert_eq!(identity.passwd, None);
    assert!(identity.warnings[0].contains("invalid null input: name"));
}

#[test]
fn a_known_uid_needs_no_entry() {
    let identity = resolve_with(Some("185"), true, &db((0, 0))).unwrap();
    assert_eq!(identity.passwd, None);
    assert_eq!(identity.switch.unwrap().name.as_deref(), Some("spark"));
}

#[test]
fn root_without_the_setid_capabilities_keeps_root_by_default_and_refuses_a_named_user() {
    let mut db = db((0, 0));
    db.setid_caps = false;
    let identity = resolve_with(None, true, &db).unwrap();
    assert_eq!(identity.switch, None);
    assert!(
        identity.warnings[0].contains("CAP_SETUID"),
        "{:?}",
        identity.warnings
    );
    let error = resolve_with(Some("spark"), true, &db).unwrap_err();
    assert!(
        error.message.contains("SPARK_INIT_USER=root"),
        "{}",
        error.message
    );
    // Root named on purpose needs no switch, hence no capability.
    assert!(resolve_with(Some("root"), true, &db).is_ok());
}
