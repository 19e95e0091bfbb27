//! The image's user database, as the command will see it: `/etc/passwd` and `/etc/group`
//! (read through musl's `getpwnam`/`getpwuid`/`getgrnam`/`getgrouplist`, which read those
//! files), whether spark-init may append to `/etc/passwd`, and where `libnss_wrapper.so` is.

use std::path::{Path, PathBuf};

/// One `/etc/passwd` entry, the fields spark-init uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The narrow view of the user database that choosing the command's user needs.
pub trait Accounts {
    /// spark-init's own effective uid and gid.
    fn current(&self) -> (u32, u32);
    fn by_name(&self, name: &str) -> Option<Account>;
    fn by_uid(&self, uid: u32) -> Option<Account>;
    fn group_by_name(&self, name: &str) -> Option<u32>;
    /// The groups `/etc/group` lists the user in, with `gid` (as `initgroups` would set).
    fn groups_of(&self, name: &str, gid: u32) -> Vec<u32>;
    /// Whether spark-init can append to `/etc/passwd` (writable file, writable mount).
    fn passwd_writable(&self) -> bool;
    /// A non-empty `libnss_wrapper.so`, searched where the official image's entrypoint looks.
    fn nss_wrapper(&self) -> Option<PathBuf>;
    /// Whether spark-init holds CAP_SETUID and CAP_SETGID (a container may drop them even
    /// for root: `docker run --cap-drop`, a security policy).
    fn can_switch_ids(&self) -> bool;
}

pub const PASSWD: &str = "/etc/passwd";
pub const GROUP: &str = "/etc/group";

/// The real database of the image spark-init runs in.
pub struct System;

fn account(user: nix::unistd::User) -> Account {
    Account {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir,
    }
}

impl Accounts for System {
    fn current(&self) -> (u32, u32) {
        (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    }

    fn by_name(&self, name: &str) -> Option<Account> {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(account)
    }

    fn by_uid(&self, uid: u32) -> Option<Account> {
        nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map(account)
    }

    fn group_by_name(&self, name: &str) -> Option<u32> {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    }

    fn groups_of(&self, name: &str, gid: u32) -> Vec<u32> {
        let Ok(name) = std::ffi::CString::new(name) else {
            return vec![gid];
        };
        nix::unistd::getgrouplist(&name, gid.into()).map_or_else(
            |_| vec![gid],
            |groups| groups.into_iter().map(|g| g.as_raw()).collect(),
        )
    }

    fn passwd_writable(&self) -> bool {
        nix::unistd::access(PASSWD, nix::unistd::AccessFlags::W_OK).is_ok()
    }

    fn nss_wrapper(&self) -> Option<PathBuf> {
        nss_wrapper_in(&[Path::new("/usr/lib"), Path::new("/lib")])
    }

    fn can_switch_ids(&self) -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        effective_caps(&status).map_or(true, has_setid_caps)
    }
}

/// `CapEff` of `/proc/<pid>/status` (proc(5)).
fn effective_caps(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// CAP_SETGID (6) and CAP_SETUID (7), capabilities(7).
fn has_setid_caps(caps: u64) -> bool {
    caps & (1 << 6) != 0 && caps & (1 << 7) != 0
}

/// `{/usr,}/lib{/*,}/libnss_wrapper.so`, the first non-empty one (apache/spark-docker
/// `entrypoint.sh.template`, `attempt_setup_fake_passwd_entry`).
pub fn nss_wrapper_in(roots: &[&Path]) -> Option<PathBuf> {
    const NAME: &str = "libnss_wrapper.so";
    let non_empty = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0);
    roots.iter().find_map(|root| {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        dirs.sort();
        dirs.into_iter()
            .map(|dir| dir.join(NAME))
            .chain(std::iter::once(root.join(NAME)))
            .find(|p| non_empty(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setid_capabilities_are_read_from_cap_eff() {
        let status = |caps: &str| format!("Name:\tspark-init\nCapInh:\t0\nCapEff:\t{caps}\n");
        assert_eq!(
            effective_caps(&status("000001ffffffffff")),
            Some(0x1ff_ffff_ffff)
        );
        assert!(has_setid_caps(0x1ff_ffff_ffff));
        // docker run --cap-drop SETUID --cap-drop SETGID: root's default set without them.
        let docker = effective_caps(&status("00000000a80425fb")).unwrap();
        assert!(has_setid_caps(docker));
        assert!(!has_setid_caps(docker & !(1 << 7)));
        assert!(!has_setid_caps(docker & !(1 << 6)));
        assert_eq!(effective_caps("Name:\tx\n"), None);
    }

    #[test]
    fn nss_wrapper_is_found_in_a_multiarch_directory_and_empty_files_do_not_count() {
        let root = tempfile::tempdir().unwrap();
        let arch = root.path().join("lib/x86_64-linux-gnu");
        std::fs::create_dir_all(&arch).unwrap();
        let lib_dir = root.path().join("lib");
        assert_eq!(nss_wrapper_in(&[&lib_dir]), None);
        std::fs::write(arch.join("libnss_wrapper.so"), b"").unwrap();
        assert_eq!(
            nss_wrapper_in(&[&lib_dir]),
            None,
            "an empty file is not a library"
        );
        std::fs::write(arch.join("libnss_wrapper.so"), b"\x7fELF").unwrap();
        assert_eq!(
            nss_wrapper_in(&[&lib_dir]),
            Some(arch.join("libnss_wrapper.so"))
        );
    }
}
