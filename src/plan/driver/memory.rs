//! `--driver-memory`, the driver JVM's heap (spark-submit starts the driver with it in client
//! mode): what the user set is kept, with a warning when it cannot fit the container; unset,
//! it is derived from Marathon's memory the way an executor's is, minus the driver's overhead
//! (`spark.driver.memoryOverhead[Factor]`) and off-heap memory.

use crate::config::role::RoleConfig;
use crate::facts::LocalFacts;
use crate::plan::driver::settings::UserSettings;
use crate::plan::memory::{container_mib, plus, Beside, Overhead};
use crate::plan::{Findings, JvmMemory};
use crate::sourced::Sourced;
use crate::spark::memory::{planned_mib, MIN_HEAP_MIB};

/// The setting that leaves the driver more memory beside its heap.
const OVERHEAD_KEY: &str = "spark.driver.memoryOverhead";

/// The driver's heap and overhead; `None` when the container's memory is unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverMemory {
    pub jvm: JvmMemory,
    /// spark-init chose the heap (`--driver-memory`); the user set none.
    pub ours: bool,
}

/// The driver's memory the user set: `--driver-memory`, `spark.driver.memory`, then the
/// variables `SPARK_DRIVER_MEMORY` and `SPARK_MEM`, in the order spark-submit's launcher reads
/// them (`SparkSubmitCommandBuilder.buildSparkSubmitCommand`).
pub fn users_driver_memory(role: &RoleConfig, user: &UserSettings<'_>) -> Option<Sourced<String>> {
    (user.args.driver_memory.clone())
        .map(|m| Sourced::new(m, "the app's args (--driver-memory)"))
        .or_else(|| user.get("spark.driver.memory"))
        .or_else(|| role.driver_memory_env.clone())
}

/// The heap spark-init gives the driver, or the user's (`ours: false`).
pub fn driver_memory(
    role: &RoleConfig,
    user: &UserSettings<'_>,
    facts: &LocalFacts,
    found: &mut Findings,
) -> Option<DriverMemory> {
    let get = |key: &str| user.get(key);
    let overhead = Overhead::read(&get, "driver", facts.spark.version.value, found)?;
    let beside = Beside::read(&get, "driver", found)?;
    let set = users_driver_memory(role, user);
    // The user's size is checked whatever the container's memory: spark-submit would refuse
    // it after the lookups (review nit: `--driver-memory abc` passed the dry run).
    let set_mib = match set.as_ref().map(|s| planned_mib(&s.value)) {
        Some(Err(why)) => {
            let set = set.as_ref().expect("a size was set");
            found.problem(
                &set.source,
                Some(&set.value),
                format!("{why}; spark-submit would refuse it"),
            );
            return None;
        }
        Some(Ok(mib)) => Some(mib),
        None => None,
    };
    let (limit, name, written) = container_mib(role, facts)?;
    if let (Some(set), Some(heap)) = (set, set_mib) {
        let needs = heap + overhead.for_heap(heap).value + beside.mib;
        if needs > limit.value {
            found.warn(format!(
                "the driver's memory {} ({}) plus Spark's overhead{} needs {needs} MiB, more \
                 than the container's {} MiB ({}): the driver may be OOM-killed",
                set.value,
                set.source,
                plus(&beside),
                limit.value,
                limit.source
            ));
        }
        let jvm = JvmMemory::new(Sourced::new(heap, set.source), &overhead, OVERHEAD_KEY);
        return Some(DriverMemory { jvm, ours: false });
    }
    let heap = overhead.heap_within(limit.value.saturating_sub(beside.mib));
    if heap < MIN_HEAP_MIB {
        let least = MIN_HEAP_MIB + overhead.for_heap(MIN_HEAP_MIB).value + beside.mib;
        found.problem(
            &name,
            Some(&written),
            format!(
                "leaves the driver a heap of {heap} MiB; Spark needs at least {MIN_HEAP_MIB} MiB: \
                 give the app at least {least} MiB of memory (mem in the Marathon app)"
            ),
        );
        return None;
    }
    let source = format!(
        "{} minus the driver's overhead{}",
        limit.source,
        plus(&beside)
    );
    let jvm = JvmMemory::new(Sourced::new(heap, source), &overhead, OVERHEAD_KEY);
    Some(DriverMemory { jvm, ours: true })
}
