//! The container's CPU and memory limits from its cgroup, for when Marathon's variables are
//! absent (a plain `docker run`). The root is a parameter (`SPARK_INIT_CGROUP_ROOT`, default
//! `/sys/fs/cgroup`), so the tests read fixture trees.
//!
//! cgroup v2 (the root has `cgroup.controllers`): `cpu.max` is `"<quota> <period>"` or
//! `"max <period>"`; `memory.max` is bytes or `"max"`. cgroup v1: `cpu/cpu.cfs_quota_us`
//! (`-1`: none) over `cpu/cpu.cfs_period_us`; `memory/memory.limit_in_bytes`, where "no limit"
//! is a huge page-rounded number (`9223372036854771712` on x86_64). Both per the kernel's
//! Documentation/admin-guide/cgroup-v{1,2}.
//!
//! The memory counters ([`memory_counters`]) are read twice by PID 1, before the command starts
//! and after it exits, to tell an OOM kill: a few small files, nothing else.
//!
//! The container statistics ([`container_stats`]) are read by the metrics sender, a child
//! process of PID 1 (`crate::metrics`), every `SPARK_INIT_GRAPHITE_INTERVAL` seconds: CPU
//! usage and throttling, memory current, peak and limit, OOM kills, pids. Named as cgroup v2
//! names them (`cpu.stat` `usage_usec`, `memory.current`, ...); v1's files give the same
//! figures in its own units, converted (nanoseconds to microseconds).

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

/// The container's memory counters at one moment, each `None` where the file is missing (a
/// kernel without it, no memory controller) or unreadable.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryCounters {
    /// Processes the kernel's OOM killer killed in the cgroup, its descendants included: v2
    /// `memory.events` `oom_kill`; v1 `memory.oom_control` `oom_kill` (Linux ≥ 4.13).
    pub oom_kill: Option<u64>,
    /// Times the usage reached the limit: v2 `memory.events` `max`; v1 `memory.failcnt`.
    pub limit_hits: Option<u64>,
    /// The most memory the cgroup used: v2 `memory.peak` (Linux ≥ 5.19); v1
    /// `memory.max_usage_in_bytes`.
    pub peak_bytes: Option<u64>,
    /// The limit (`memory.max`, v1 `memory.limit_in_bytes`); `None` when unlimited.
    pub limit_bytes: Option<u64>,
    /// The file the OOM counter comes from, to name in the explanation.
    pub oom_file: Option<String>,
}

/// Reads the memory counters under `root` (v2 when it has `cgroup.controllers`, else v1's
/// `memory/`).
pub fn memory_counters(root: &Path) -> MemoryCounters {
    let text = |rel: &str| std::fs::read_to_string(root.join(rel)).ok();
    let number = |rel: &str| text(rel).and_then(|t| t.trim().parse::<u64>().ok());
    let limit = |bytes: Option<u64>| bytes.filter(|&b| b < UNLIMITED_FROM);
    if root.join("cgroup.controllers").exists() {
        let events = text("memory.events");
        let event = |key: &str| events.as_deref().and_then(|e| keyed(e, key));
        return MemoryCounters {
            oom_kill: event("oom_kill"),
            limit_hits: event("max"),
            peak_bytes: number("memory.peak"),
            limit_bytes: limit(number("memory.max")),
            oom_file: event("oom_kill").map(|_| root.join("memory.events").display().to_string()),
        };
    }
    let oom_control = text("memory/memory.oom_control");
    let oom_kill = oom_control.as_deref().and_then(|c| keyed(c, "oom_kill"));
    MemoryCounters {
        oom_kill,
        limit_hits: number("memory/memory.failcnt"),
        peak_bytes: number("memory/memory.max_usage_in_bytes"),
        limit_bytes: limit(number("memory/memory.limit_in_bytes")),
        oom_file: oom_kill.map(|_| root.join("memory/memory.oom_control").display().to_string()),
    }
}

/// The number after `key` in a flat-keyed file (`oom_kill 3`, one pair a line).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

/// One sample of the container's statistics, each `None` where the kernel has no such file
/// (no controller, an older kernel) or it does not parse. The names are cgroup v2's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContainerStats {
    /// CPU time used, in µs: v2 `cpu.stat` `usage_usec`; v1 `cpuacct/cpuacct.usage` (ns).
    pub cpu_usage_usec: Option<u64>,
    /// Enforcement periods of the CPU quota: v2 `cpu.stat` `nr_periods`; v1 `cpu/cpu.stat`.
    pub cpu_nr_periods: Option<u64>,
    /// Periods in which the quota ran out: v2 `cpu.stat` `nr_throttled`; v1 `cpu/cpu.stat`.
    pub cpu_nr_throttled: Option<u64>,
    /// Time throttled, in µs: v2 `cpu.stat` `throttled_usec`; v1 `cpu/cpu.stat`
    /// `throttled_time` (ns).
    pub cpu_throttled_usec: Option<u64>,
    /// Memory in use, in bytes: v2 `memory.current`; v1 `memory/memory.usage_in_bytes`.
    pub memory_current: Option<u64>,
    /// The memory counters of the OOM explanation: `memory.peak`, `memory.max`, `oom_kill`.
    pub memory: MemoryCounters,
    /// Processes (and threads) in the cgroup: `pids.current`; v1 `pids/pids.current`.
    pub pids_current: Option<u64>,
}

impl ContainerStats {
    /// Every figure that was read, with its series name (cgroup v2's), in a fixed order.
    pub fn series(&self) -> Vec<(&'static str, u64)> {
        let values = [
            self.cpu_usage_usec,
            self.cpu_nr_periods,
            self.cpu_nr_throttled,
            self.cpu_throttled_usec,
            self.memory_current,
            self.memory.peak_bytes,
            self.memory.limit_bytes,
            self.memory.oom_kill,
            self.pids_current,
        ];
        CONTAINER_SERIES
            .into_iter()
            .zip(values)
            .filter_map(|(name, value)| Some((name, value?)))
            .collect()
    }
}

/// The names of [`ContainerStats::series`], in its order.
pub const CONTAINER_SERIES: [&str; 9] = [
    "cpu.usage_usec",
    "cpu.nr_periods",
    "cpu.nr_throttled",
    "cpu.throttled_usec",
    "memory.current",
    "memory.peak",
    "memory.max",
    "memory.oom_kill",
    "pids.current",
];

/// Reads one sample of the container's statistics under `root` (v2 when it has
/// `cgroup.controllers`, else v1's per-controller folders).
pub fn container_stats(root: &Path) -> ContainerStats {
    let text = |rel: &str| std::fs::read_to_string(root.join(rel)).ok();
    let number = |rel: &str| text(rel).and_then(|t| t.trim().parse::<u64>().ok());
    let memory = memory_counters(root);
    if root.join("cgroup.controllers").exists() {
        let cpu = text("cpu.stat");
        let stat = |key: &str| cpu.as_deref().and_then(|c| keyed(c, key));
        return ContainerStats {
            cpu_usage_usec: stat("usage_usec"),
            cpu_nr_periods: stat("nr_periods"),
            cpu_nr_throttled: stat("nr_throttled"),
            cpu_throttled_usec: stat("throttled_usec"),
            memory_current: number("memory.current"),
            memory,
            pids_current: number("pids.current"),
        };
    }
    let cpu = text("cpu/cpu.stat");
    let stat = |key: &str| cpu.as_deref().and_then(|c| keyed(c, key));
    ContainerStats {
        cpu_usage_usec: number("cpuacct/cpuacct.usage").map(|ns| ns / 1000),
        cpu_nr_periods: stat("nr_periods"),
        cpu_nr_throttled: stat("nr_throttled"),
        cpu_throttled_usec: stat("throttled_time").map(|ns| ns / 1000),
        memory_current: number("memory/memory.usage_in_bytes"),
        memory,
        pids_current: number("pids/pids.current"),
    }
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
    fn v2_memory_counters() {
        let dir = tree(&[
            ("cgroup.controllers", "cpu memory"),
            ("memory.max", "2147483648\n"),
            ("memory.peak", "2147479552\n"),
            (
                "memory.events",
                "low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n",
            ),
        ]);
        let counters = memory_counters(dir.path());
        assert_eq!(counters.oom_kill, Some(1));
        assert_eq!(counters.limit_hits, Some(17));
        assert_eq!(counters.peak_bytes, Some(2147479552));
        assert_eq!(counters.limit_bytes, Some(2 << 30));
        let file = dir.path().join("memory.events").display().to_string();
        assert_eq!(counters.oom_file, Some(file));
    }

    #[test]
    fn v1_memory_counters() {
        let dir = tree(&[
            ("memory/memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory/memory.max_usage_in_bytes", "1048576\n"),
            ("memory/memory.failcnt", "4\n"),
            (
                "memory/memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
            ),
        ]);
        let counters = memory_counters(dir.path());
        assert_eq!(counters.oom_kill, Some(2));
        assert_eq!(counters.limit_hits, Some(4));
        assert_eq!(counters.peak_bytes, Some(1 << 20));
        assert_eq!(counters.limit_bytes, None, "unlimited");
    }

    #[test]
    fn an_old_v1_kernel_has_no_oom_kill_counter() {
        // Before Linux 4.13 memory.oom_control had no oom_kill line.
        let dir = tree(&[(
            "memory/memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\n",
        )]);
        let counters = memory_counters(dir.path());
        assert_eq!(counters.oom_kill, None);
        assert_eq!(counters.oom_file, None);
        assert_eq!(memory_counters(tree(&[]).path()), MemoryCounters::default());
    }

    #[test]
    fn v2_container_stats() {
        let dir = tree(&[
            ("cgroup.controllers", "cpu memory pids"),
            (
                "cpu.stat",
                "usage_usec 7250000\nuser_usec 5000000\nsystem_usec 2250000\n\
                 nr_periods 120\nnr_throttled 7\nthrottled_usec 350000\n",
            ),
            ("memory.current", "536870912\n"),
            ("memory.peak", "805306368\n"),
            ("memory.max", "1073741824\n"),
            ("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"),
            ("pids.current", "42\n"),
        ]);
        let stats = container_stats(dir.path());
        assert_eq!(
            stats.series(),
            [
                ("cpu.usage_usec", 7250000),
                ("cpu.nr_periods", 120),
                ("cpu.nr_throttled", 7),
                ("cpu.throttled_usec", 350000),
                ("memory.current", 512 << 20),
                ("memory.peak", 768 << 20),
                ("memory.max", 1 << 30),
                ("memory.oom_kill", 1),
                ("pids.current", 42),
            ]
        );
    }

    #[test]
    fn v1_container_stats_in_v2_units() {
        let dir = tree(&[
            ("cpuacct/cpuacct.usage", "7250000123\n"),
            (
                "cpu/cpu.stat",
                "nr_periods 120\nnr_throttled 7\nthrottled_time 350000999\n",
            ),
            ("memory/memory.usage_in_bytes", "536870912\n"),
            ("memory/memory.max_usage_in_bytes", "805306368\n"),
            ("memory/memory.limit_in_bytes", "9223372036854771712\n"),
            (
                "memory/memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\n",
            ),
            ("pids/pids.current", "42\n"),
        ]);
        let stats = container_stats(dir.path());
        assert_eq!(
            stats.series(),
            [
                ("cpu.usage_usec", 7250000),
                ("cpu.nr_periods", 120),
                ("cpu.nr_throttled", 7),
                ("cpu.throttled_usec", 350000),
                ("memory.current", 512 << 20),
                ("memory.peak", 768 << 20),
                ("pids.current", 42),
            ],
            "no limit and no oom_kill counter (Linux < 4.13): not sent"
        );
        assert!(container_stats(tree(&[]).path()).series().is_empty());
    }

    #[test]
    fn no_cgroup_files_no_limits() {
        let dir = tree(&[]);
        assert_eq!(read(dir.path()), CgroupLimits::default());
        assert!(available_cpus() >= 1);
    }
}
