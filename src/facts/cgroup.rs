//! The container's CPU and memory limits from its cgroup, for when Marathon's variables are
//! absent (a plain `docker run`). The root is a parameter (`SPARK_INIT_CGROUP_ROOT`, default
//! `/sys/fs/cgroup`), so the tests read fixture trees.
//!
//! cgroup v2 (the root has `cgroup.controllers`): `cpu.max` is `"<quota> <period>"` or
//! `"max <period>"`; `memory.max` is bytes or `"max"`. cgroup v1: `cpu/cpu.cfs_quota_us`
//! (`-1`: none) over `cpu/cpu.cfs_period_us`; `memory/memory.limit_in_bytes`, where "no limit"
//! is a huge page-rounded number (`9223372036854771712` on x86_64). Both per the kernel's
//! Documentation/admin-guide/cgroup-v{1,2}.

use std::path::Path;

use crate::sourced::Sourced;

/// Anything at or above this is "no limit" (v1 writes LONG_MAX rounded down to a page).
const UNLIMITED_FROM: u64 = 1 << 62;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CgroupLimits {
    /// CPUs as a fraction (quota / period).
    pub cpus: Option<Sourced<f64>>,
    pub memory_bytes: Option<Sourced<u64>>,
}

pub fn read(root: &Path) -> CgroupLimits {
    let text = |rel: &str| {
        std::fs::read_to_string(root.join(rel))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let shown = |rel: &str| root.join(rel).display().to_string();
    if root.join("cgroup.controllers").exists() {
        let cpus = text("cpu.max").and_then(|line| {
            let mut parts = line.split_whitespace();
            let quota: f64 = parts.next()?.parse().ok()?;
            let period: f64 = parts.next().unwrap_or("100000").parse().ok()?;
            (quota > 0.0 && period > 0.0).then(|| Sourced {
                value: quota / period,
                source: format!("{} ({line})", shown("cpu.max")),
            })
        });
        let memory_bytes = text("memory.max").and_then(|v| {
            let bytes: u64 = v.parse().ok()?;
            (bytes < UNLIMITED_FROM).then(|| Sourced {
                value: bytes,
                source: shown("memory.max"),
            })
        });
        return CgroupLimits { cpus, memory_bytes };
    }
    let cpus = (|| {
        let quota: i64 = text("cpu/cpu.cfs_quota_us")?.parse().ok()?;
        let period: i64 = text("cpu/cpu.cfs_period_us")?.parse().ok()?;
        (quota > 0 && period > 0).then(|| Sourced {
            value: quota as f64 / period as f64,
            source: format!(
                "{} / {} ({quota} / {period})",
                shown("cpu/cpu.cfs_quota_us"),
                shown("cpu/cpu.cfs_period_us")
            ),
        })
    })();
    let memory_bytes = text("memory/memory.limit_in_bytes").and_then(|v| {
        let bytes: u64 = v.parse().ok()?;
        (bytes < UNLIMITED_FROM).then(|| Sourced {
            value: bytes,
            source: shown("memory/memory.limit_in_bytes"),
        })
    });
    CgroupLimits { cpus, memory_bytes }
}

/// The CPUs this process may run on (`sched_getaffinity`), at least 1.
pub fn available_cpus() -> u32 {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    let count = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            libc::CPU_COUNT(&set)
        } else {
            1
        }
    };
    u32::try_from(count).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, content) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    #[test]
    fn v2_limits_and_no_limits() {
        let dir = tree(&[
            ("cgroup.controllers", "cpu memory"),
            ("cpu.max", "250000 100000\n"),
            ("memory.max", "4294967296\n"),
        ]);
        let limits = read(dir.path());
        assert_eq!(limits.cpus.unwrap().value, 2.5);
        assert_eq!(limits.memory_bytes.unwrap().value, 4 << 30);

        let dir = tree(&[
            ("cgroup.controllers", "cpu memory"),
            ("cpu.max", "max 100000\n"),
            ("memory.max", "max\n"),
        ]);
        assert_eq!(read(dir.path()), CgroupLimits::default());
    }

    #[test]
    fn v1_limits_and_no_limits() {
        let dir = tree(&[
            ("cpu/cpu.cfs_quota_us", "150000\n"),
            ("cpu/cpu.cfs_period_us", "100000\n"),
            ("memory/memory.limit_in_bytes", "2147483648\n"),
        ]);
        let limits = read(dir.path());
        assert_eq!(limits.cpus.unwrap().value, 1.5);
        assert_eq!(limits.memory_bytes.unwrap().value, 2 << 30);

        let dir = tree(&[
            ("cpu/cpu.cfs_quota_us", "-1\n"),
            ("cpu/cpu.cfs_period_us", "100000\n"),
            ("memory/memory.limit_in_bytes", "9223372036854771712\n"),
        ]);
        assert_eq!(read(dir.path()), CgroupLimits::default());
    }

    #[test]
    fn no_cgroup_files_no_limits() {
        let dir = tree(&[]);
        assert_eq!(read(dir.path()), CgroupLimits::default());
        assert!(available_cpus() >= 1);
    }
}
