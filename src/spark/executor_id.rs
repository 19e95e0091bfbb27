//! Executor IDs. Spark ≥ 2 reads `--executor-id` with `toInt`
//! (`CoarseGrainedSchedulerBackend`/`BlockManagerId` paths call `executorId.toInt`), so it
//! must be a decimal integer that fits in an `i32`, and it must be unique among the live
//! executors of the application ("Duplicate executor ID" otherwise).
//!
//! Without an explicit ID we derive one from `MESOS_TASK_ID`: a hash of the task ID mapped
//! onto 1..=2147483647. Marathon gives every launch, restarts included, a new task ID, so a
//! restarted executor gets a new executor ID. Two live executors collide with probability
//! about n²/(2·2147483647) for n executors: 2.3e-6 for 100, 2.3e-4 for 1,000. The framework
//! store (ZooKeeper) hands out IDs without collisions.

use std::fmt;

/// The largest executor ID Spark can parse (`Int.MaxValue`).
pub const MAX_ID: u32 = i32::MAX as u32;

/// A Marathon task ID, in one of the formats Marathon has used (`mesosphere.marathon.state.
/// Task.Id` / `core.task.Task.Id`): the app path with `/` replaced by `_`, then
/// - `app.<uuid>` (Marathon ≤ 1.3),
/// - `app.instance-<uuid>._app` (1.4+),
/// - `app.instance-<uuid>._app.<incarnation>` (1.6+ with resident tasks).
///
/// App IDs may contain `.` and `-`, so the formats are matched from the right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarathonTaskId<'a> {
    pub app: &'a str,
    pub uuid: &'a str,
    pub incarnation: Option<u64>,
}

impl fmt::Display for MarathonTaskId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app {}, instance {}", self.app, self.uuid)?;
        if let Some(n) = self.incarnation {
            write!(f, ", incarnation {n}")?;
        }
        Ok(())
    }
}

pub fn parse_task_id(id: &str) -> Option<MarathonTaskId<'_>> {
    let (rest, incarnation) = match id.rsplit_once("._app.") {
        Some((rest, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (rest, Some(n.parse().ok()?))
        }
        _ => match id.strip_suffix("._app") {
            Some(rest) => (rest, None),
            None => {
                let (app, uuid) = id.rsplit_once('.')?;
                return (is_uuid(uuid) && !app.is_empty()).then_some(MarathonTaskId {
                    app,
                    uuid,
                    incarnation: None,
                });
            }
        },
    };
    let (app, instance) = rest.rsplit_once(".instance-")?;
    (is_uuid(instance) && !app.is_empty()).then_some(MarathonTaskId {
        app,
        uuid: instance,
        incarnation,
    })
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The executor ID for a task ID: FNV-1a (64-bit) of its bytes, mapped onto 1..=MAX_ID.
/// FNV-1a is fixed by its specification, so every spark-init version derives the same ID.
pub fn derive(task_id: &str) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = task_id
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    (hash % u64::from(MAX_ID)) as u32 + 1
}

/// Checks an explicit `SPARK_EXECUTOR_ID` the way Spark ≥ 2 will read it: decimal digits
/// only, 1..=2147483647.
pub fn parse_explicit(value: &str) -> Result<u32, String> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not a decimal integer".into());
    }
    match value.parse::<u64>() {
        Ok(n) if (1..=u64::from(MAX_ID)).contains(&n) => Ok(n as u32),
        _ => Err(format!("is outside 1..={MAX_ID}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "6e7a5b2c-1f3d-11ef-9a4b-0242ac120002";

    #[test]
    fn marathon_task_id_formats() {
        let legacy = format!("spark_orders_executor.{UUID}");
        assert_eq!(
            parse_task_id(&legacy),
            Some(MarathonTaskId {
                app: "spark_orders_executor",
                uuid: UUID,
                incarnation: None
            })
        );
        let instance = format!("spark_orders.v2-exec.instance-{UUID}._app");
        assert_eq!(
            parse_task_id(&instance),
            Some(MarathonTaskId {
                app: "spark_orders.v2-exec",
                uuid: UUID,
                incarnation: None
            })
        );
        let incarnation = format!("spark_orders.v2-exec.instance-{UUID}._app.3");
        assert_eq!(parse_task_id(&incarnation).unwrap().incarnation, Some(3));
        assert_eq!(parse_task_id("not-a-task"), None);
        assert_eq!(parse_task_id("app.1234"), None);
        assert_eq!(parse_task_id(&format!(".{UUID}")), None);
    }

    #[test]
    fn derived_ids_are_in_range_deterministic_and_spread() {
        const N: u32 = 100_000;
        const BUCKETS: usize = 16;
        let mut buckets = [0u32; BUCKETS];
        let mut seen = std::collections::HashSet::new();
        for i in 0..N {
            let task = format!(
                "spark_orders_executor.instance-{i:08x}-1f3d-11ef-9a4b-0242ac120002._app.{}",
                i % 3
            );
            let id = derive(&task);
            assert!((1..=MAX_ID).contains(&id));
            assert_eq!(id, derive(&task));
            seen.insert(id);
            buckets[(u64::from(id) * BUCKETS as u64 / u64::from(MAX_ID + 1)) as usize] += 1;
        }
        // Birthday bound for 100,000 draws from 2^31: about 2.3 collisions expected.
        assert!(
            N as usize - seen.len() <= 12,
            "{} collisions",
            N as usize - seen.len()
        );
        // Chi-square over 16 equal buckets, 15 degrees of freedom: 37.7 is the 0.1% tail.
        let expected = f64::from(N) / BUCKETS as f64;
        let chi2: f64 = buckets
            .iter()
            .map(|&c| (f64::from(c) - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 37.7, "chi-square {chi2}: {buckets:?}");
    }

    #[test]
    fn a_restarted_task_gets_a_new_id() {
        let first = derive(&format!("app.instance-{UUID}._app.1"));
        let second = derive(&format!("app.instance-{UUID}._app.2"));
        assert_ne!(first, second);
    }

    #[test]
    fn explicit_ids() {
        assert_eq!(parse_explicit("1"), Ok(1));
        assert_eq!(parse_explicit("2147483647"), Ok(MAX_ID));
        assert!(parse_explicit("0").is_err());
        assert!(parse_explicit("2147483648").is_err());
        assert!(parse_explicit("-1").is_err());
        assert!(parse_explicit("exec-1").is_err());
        assert!(parse_explicit(" 7").is_err());
    }
}
