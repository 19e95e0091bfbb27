//! Who the command runs as (README "Users").
//!
//! The official Spark image's entrypoint (apache/spark-docker `entrypoint.sh.template`) runs its
//! `driver` and `executor` subcommands with `gosu spark` when the container runs as root, and a
//! pass-through command as it is; and when the container's uid has no passwd entry it gives
//! the JVM one (`attempt_setup_fake_passwd_entry`), since Hadoop's login fails without a user
//! name (`KerberosAuthException: failure to login ... invalid null input: name`). The rules:
//! - `SPARK_INIT_USER` (`user[:group]`) applies to whatever spark-init runs; `root` keeps root.
//! - Unset, a Spark role started as root runs as `spark` when the image has that user; a plain
//!   command keeps the container's user.
//! - Switching needs root: otherwise only the user spark-init already is may be named.
//! - The user the command ends up as gets a passwd entry when it has none: appended to
//!   `/etc/passwd` when spark-init may write it, else through `libnss_wrapper.so` when the image
//!   has it, else a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::config::user::{UserSpec, Who};
use crate::config::Problem;
use crate::facts::accounts::{Account, Accounts, PASSWD};
use crate::plan::{sourced, Resolved};
use crate::sourced::Sourced;

/// The switch the child makes before exec, in this order: supplementary groups, gid, uid;
/// then `HOME` is the user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: Option<String>,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: PathBuf,
}

/// How the command's user gets a passwd entry it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswdFix {
    /// One line appended to `/etc/passwd`.
    Append { line: String },
    /// A copy of `/etc/passwd` plus the line, given to the command through nss_wrapper
    /// (`LD_PRELOAD`, `NSS_WRAPPER_PASSWD`, `NSS_WRAPPER_GROUP`).
    NssWrapper {
        library: PathBuf,
        line: String,
        /// The copy (`NSS_WRAPPER_PASSWD`), in the temporary folder; set with the environment.
        file: PathBuf,
        /// `LD_PRELOAD` as given, restored when the copy cannot be written.
        ld_preload_before: Option<String>,
    },
}

/// The user part of the plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Identity {
    /// `None`: the command runs as spark-init does.
    pub switch: Option<RunAs>,
    pub passwd: Option<PasswdFix>,
    /// What the dry run shows as `user`.
    pub resolved: Option<Resolved>,
    pub warnings: Vec<String>,
    /// The variables the switch sets (`HOME`) and nss_wrapper needs (`LD_PRELOAD` before any
    /// the image has, `NSS_WRAPPER_PASSWD`, `NSS_WRAPPER_GROUP`).
    pub env: BTreeMap<String, String>,
}

/// What of the command's environment the passwd entry depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Given<'a> {
    pub spark_home: Option<&'a Path>,
    /// `LD_PRELOAD` as the image has it.
    pub ld_preload: Option<&'a str>,
    /// `TMPDIR`, where nss_wrapper's copy goes (else `/tmp`).
    pub tmp_dir: Option<&'a str>,
}

const SPARK_USER: &str = "spark";
const FIX_NOT_ROOT: &str = "start the container as root (Marathon's `user` field, docker run \
                            --user) so spark-init can switch, or unset SPARK_INIT_USER";

fn problem(spec: &UserSpec, message: impl Into<String>) -> Problem {
    Problem::new("SPARK_INIT_USER", Some(&spec.written), message)
}

/// The user `SPARK_INIT_USER` names, looked up; a number without an entry is taken as it is,
/// with gid 0 as Docker's `--user <uid>` does.
fn named(spec: &UserSpec, db: &dyn Accounts) -> Result<(Option<Account>, u32, u32), Problem> {
    let account = match &spec.user {
        Who::Name(name) => Some(db.by_name(name).ok_or_else(|| {
            problem(
                spec,
                format!(
                    "names no user of the image ({PASSWD} has no `{name}`): add the user to \
                     the image (useradd), or give a uid (SPARK_INIT_USER=185 or 185:185)"
                ),
            )
        })?),
        Who::Id(uid) => db.by_uid(*uid),
    };
    let uid = account.as_ref().map_or_else(
        || match spec.user {
            Who::Id(uid) => uid,
            Who::Name(_) => unreachable!("a name without an account returned above"),
        },
        |a| a.uid,
    );
    let gid = match &spec.group {
        Some(Who::Id(gid)) => *gid,
        Some(Who::Name(group)) => db.group_by_name(group).ok_or_else(|| {
            problem(
                spec,
                format!(
                    "names no group of the image (/etc/group has no `{group}`): add it \
                     (groupadd), or give a gid"
                ),
            )
        })?,
        None => account.as_ref().map_or(0, |a| a.gid),
    };
    Ok((account, uid, gid))
}

fn describe(name: Option<&str>, uid: u32, gid: u32) -> String {
    match name {
        Some(name) => format!("{name} (uid {uid}, gid {gid})"),
        None => format!("uid {uid} (no passwd entry), gid {gid}"),
    }
}

/// The user the command would run as, before the passwd entry is looked at.
struct Chosen {
    switch: Option<RunAs>,
    uid: u32,
    gid: u32,
    shown: Sourced<String>,
    warning: Option<String>,
}

/// Who the user is before the switch is decided: the account (if any), uid, gid, and why.
type Target = (Option<Account>, u32, u32, String);

/// The target `SPARK_INIT_USER` names, or by the default rule; `Err` is the container's user
/// staying, with why.
fn target(
    spec: &Sourced<Option<UserSpec>>,
    role: bool,
    euid: u32,
    db: &dyn Accounts,
) -> Result<Result<Target, String>, Problem> {
    Ok(match &spec.value {
        Some(spec) => {
            let (account, uid, gid) = named(spec, db)?;
            Ok((account, uid, gid, "SPARK_INIT_USER".to_string()))
        }
        None if !role => {
            Err("the container's user (a plain command keeps it; SPARK_INIT_USER unset)".into())
        }
        None if euid != 0 => {
            Err("the container's user (not root, so there is nothing to drop)".into())
        }
        None => match db.by_name(SPARK_USER) {
            Some(account) => {
                let (uid, gid) = (account.uid, account.gid);
                let source = "the image's user `spark`: a Spark role started as root drops to \
                              it, as the official image's entrypoint does with gosu \
                              (SPARK_INIT_USER unset)";
                Ok((Some(account), uid, gid, source.to_string()))
            }
            None => Err(format!(
                "the container's user: the image has no user `spark` ({PASSWD}), so the role \
                 keeps root; set SPARK_INIT_USER to choose a user"
            )),
        },
    })
}

fn choose(
    spec: &Sourced<Option<UserSpec>>,
    role: bool,
    spark_home: Option<&Path>,
    db: &dyn Accounts,
) -> Result<Chosen, Problem> {
    let (euid, egid) = db.current();
    let (account, uid, gid, source) = match target(spec, role, euid, db)? {
        Ok(target) => target,
        Err(why) => {
            let own = db.by_uid(euid);
            let shown = describe(own.as_ref().map(|a| &*a.name), euid, egid);
            return Ok(Chosen {
                switch: None,
                uid: euid,
                gid: egid,
                shown: Sourced::new(shown, why),
                warning: None,
            });
        }
    };
    let shown = Sourced::new(
        describe(account.as_ref().map(|a| &*a.name), uid, gid),
        source,
    );
    if (uid, gid) == (euid, egid) {
        return Ok(Chosen {
            switch: None,
            uid: euid,
            gid: egid,
            shown,
            warning: None,
        });
    }
    if euid == 0 && !db.can_switch_ids() {
        return no_setid_caps(spec, euid, egid, shown);
    }
    if euid != 0 {
        let spec = spec.value.as_ref().expect("only a named user reaches here");
        return Err(problem(
            spec,
            format!("needs root to switch to: spark-init runs as uid {euid}; {FIX_NOT_ROOT}"),
        ));
    }
    let home = account
        .as_ref()
        .map(|a| a.home.clone())
        .or_else(|| spark_home.map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/"));
    // As runc's GetExecUser (gosu's): supplementary groups only in the implicit form; an
    // explicit group is the only one.
    let explicit_group = spec.value.as_ref().is_some_and(|s| s.group.is_some());
    let groups = match &account {
        Some(a) if !explicit_group => db.groups_of(&a.name, gid),
        _ => vec![gid],
    };
    let switch = RunAs {
        name: account.map(|a| a.name),
        uid,
        gid,
        groups,
        home,
    };
    Ok(Chosen {
        switch: Some(switch),
        uid,
        gid,
        shown,
        warning: None,
    })
}

const NO_SETID_CAPS: &str = "the container dropped CAP_SETUID or CAP_SETGID (docker run \
                             --cap-drop, a security policy), so even root cannot switch users";

/// Root without the capabilities to switch: `SPARK_INIT_USER` cannot be honoured (a problem);
/// the default rule keeps root and says so.
fn no_setid_caps(
    spec: &Sourced<Option<UserSpec>>,
    euid: u32,
    egid: u32,
    wanted: Sourced<String>,
) -> Result<Chosen, Problem> {
    if let Some(spec) = &spec.value {
        return Err(problem(
            spec,
            format!(
                "cannot be switched to: {NO_SETID_CAPS}; give the container CAP_SETUID and \
                 CAP_SETGID back, or set SPARK_INIT_USER=root"
            ),
        ));
    }
    Ok(Chosen {
        switch: None,
        uid: euid,
        gid: egid,
        shown: Sourced::new(
            describe(Some("root"), euid, egid),
            format!("the container's user: {NO_SETID_CAPS}"),
        ),
        warning: Some(format!(
            "the Spark role runs as root, not as {}: {NO_SETID_CAPS}; give them back, or set \
             SPARK_INIT_USER=root to say root is meant",
            wanted.value
        )),
    })
}

/// The passwd entry a uid without one gets, as the official image writes it.
fn passwd_line(uid: u32, gid: u32, spark_home: Option<&Path>, db: &dyn Accounts) -> String {
    let name = if db.by_name(SPARK_USER).is_none() {
        SPARK_USER.to_string()
    } else {
        format!("{SPARK_USER}-{uid}")
    };
    let home = spark_home
        .and_then(Path::to_str)
        .filter(|h| !h.contains([':', '\n']))
        .unwrap_or("/");
    format!("{name}:x:{uid}:{gid}:anonymous uid (spark-init):{home}:/bin/false")
}

/// nss_wrapper's copy of the passwd file for `uid` in the temporary folder (`TMPDIR`, else
/// `/tmp`; readable by the command's user).
fn nss_wrapper(library: PathBuf, line: String, uid: u32, given: Given<'_>) -> PasswdFix {
    let dir = given
        .tmp_dir
        .filter(|d| d.starts_with('/'))
        .unwrap_or("/tmp");
    PasswdFix::NssWrapper {
        library,
        line,
        file: Path::new(dir).join(format!("spark-init-{uid}.passwd")),
        ld_preload_before: given.ld_preload.map(str::to_string),
    }
}

/// The variables nss_wrapper reads; its library goes before any the image preloads.
fn nss_wrapper_env(fix: &PasswdFix) -> BTreeMap<String, String> {
    let PasswdFix::NssWrapper {
        library,
        file,
        ld_preload_before,
        ..
    } = fix
    else {
        return BTreeMap::new();
    };
    let library = library.to_string_lossy().into_owned();
    let preload = match ld_preload_before
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        Some(theirs) => format!("{library} {theirs}"),
        None => library,
    };
    BTreeMap::from([
        ("LD_PRELOAD".to_string(), preload),
        (
            "NSS_WRAPPER_PASSWD".to_string(),
            file.to_string_lossy().into_owned(),
        ),
        (
            "NSS_WRAPPER_GROUP".to_string(),
            crate::facts::accounts::GROUP.to_string(),
        ),
    ])
}

/// Decides who the command runs as and how it gets a passwd entry.
pub fn resolve(
    spec: &Sourced<Option<UserSpec>>,
    role: bool,
    given: Given<'_>,
    db: &dyn Accounts,
) -> Result<Identity, Problem> {
    let spark_home = given.spark_home;
    let chosen = choose(spec, role, spark_home, db)?;
    let mut identity = Identity {
        switch: chosen.switch,
        warnings: chosen.warning.into_iter().collect(),
        ..Identity::default()
    };
    if let Some(run_as) = &identity.switch {
        let home = run_as.home.to_string_lossy().into_owned();
        identity.env.insert("HOME".into(), home);
    }
    let mut shown = json!(chosen.shown.value);
    if db.by_uid(chosen.uid).is_none() {
        let line = passwd_line(chosen.uid, chosen.gid, spark_home, db);
        if let Some(run_as) = &mut identity.switch {
            run_as.name = line.split(':').next().map(str::to_string);
        }
        identity.passwd = if db.passwd_writable() {
            shown = json!(format!("{} + {PASSWD} entry `{line}`", chosen.shown.value));
            Some(PasswdFix::Append { line })
        } else if let Some(library) = db.nss_wrapper() {
            shown = json!(format!(
                "{} + entry `{line}` through {}",
                chosen.shown.value,
                library.display()
            ));
            let fix = nss_wrapper(library, line, chosen.uid, given);
            identity.env.extend(nss_wrapper_env(&fix));
            Some(fix)
        } else {
            identity.warnings.push(format!(
                "uid {} has no entry in {PASSWD}, which spark-init cannot write, and the image \
                 has no libnss_wrapper.so: the JVM gets no user name and Hadoop's login fails \
                 (KerberosAuthException: invalid null input: name); make {PASSWD} writable by \
                 the container's group (chmod g+w), install libnss-wrapper in the image, or \
                 run as a user the image has",
                chosen.uid
            ));
            None
        };
    }
    identity.resolved = Some(sourced(shown, chosen.shown.source));
    Ok(identity)
}

#[cfg(test)]
mod tests;
