//! The executor's heap (`-Xms`/`-Xmx`): `SPARK_EXECUTOR_MEMORY`, else the container's memory
//! (Marathon's `mem`, else the cgroup limit) minus the overhead Spark reserves beside the heap,
//! else `spark.executor.memory`.

use crate::config::role::RoleConfig;
use crate::facts::LocalFacts;
use crate::plan::memory::{container_mib, plus, Beside, Overhead};
use crate::plan::role::from_defaults;
use crate::plan::{Findings, JvmMemory};
use crate::sourced::Sourced;
use crate::spark::memory::{self, MIN_HEAP_MIB};
use crate::spark::version::SparkVersion;

#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    pub heap_mib: Sourced<u64>,
    pub overhead_mib: Sourced<u64>,
}

impl Memory {
    /// What the exit's explanation sets beside an OOM kill.
    pub fn jvm(&self) -> JvmMemory {
        JvmMemory {
            heap_mib: self.heap_mib.clone(),
            overhead_mib: Some(self.overhead_mib.clone()),
            overhead_key: Some("spark.executor.memoryOverhead"),
        }
    }
}

pub fn executor_memory(
    config: &RoleConfig,
    facts: &LocalFacts,
    version: SparkVersion,
    findings: &mut Findings,
) -> Option<Memory> {
    let get = |key: &str| from_defaults(facts, key);
    let overhead = Overhead::read(&get, "executor", version, findings)?;
    let beside = Beside::read(&get, "executor", findings)?;
    let container = container_mib(config, facts);
    let needs = |heap: u64| heap.saturating_add(overhead.for_heap(heap).value) + beside.mib;
    // The heap an operator set: SPARK_EXECUTOR_MEMORY, else spark.executor.memory.
    let set = match &config.executor_memory {
        Some(var) => Some((var.clone(), var.source.clone(), false)),
        None => from_defaults(facts, "spark.executor.memory")
            .map(|conf| (conf.clone(), "spark.executor.memory".to_string(), true)),
    };
    if let Some((given, key, from_conf)) = set {
        let heap = match memory::planned_mib(&given.value) {
            Ok(mib) => mib,
            Err(why) => {
                let why = if from_conf {
                    format!("{key} {why}")
                } else {
                    why
                };
                findings.problem(&given.source, Some(&given.value), why);
                return None;
            }
        };
        if let Some((limit, ..)) = container.as_ref().filter(|(l, ..)| needs(heap) > l.value) {
            let what = format!(
                "{key}={} plus Spark's overhead of {} MiB{} needs {} MiB, more than the \
                 container's {} MiB ({})",
                given.value,
                overhead.for_heap(heap).value,
                plus(&beside),
                needs(heap),
                limit.value,
                limit.source
            );
            if from_conf {
                // A setting of the image's that cannot fit: the container or the file is wrong.
                let fix = "give the app more memory or lower spark.executor.memory";
                findings.problem(&given.source, Some(&given.value), format!("{what}: {fix}"));
                return None;
            }
            findings.warn(format!("{what}: the JVM may be OOM-killed"));
        }
        let extra = overhead.for_heap(heap);
        let heap = given.as_ref().map(|_| heap);
        let fix = format!("set {key} to at least {MIN_HEAP_MIB}m");
        return check_heap(heap, &given.source, &given.value, extra, &fix, findings);
    }
    if let Some((limit, name, written)) = container {
        let given = (name.as_str(), written.as_str());
        return container_heap(&limit, given, &overhead, &beside, findings);
    }
    findings.problem(
        "SPARK_EXECUTOR_MEMORY",
        None,
        "is not set, and the container's memory is unknown (no MARATHON_APP_RESOURCE_MEM, no \
         cgroup limit, no spark.executor.memory); set SPARK_EXECUTOR_MEMORY such as 4g",
    );
    None
}

/// The heap that fills the container with what goes beside it.
fn container_heap(
    limit: &Sourced<u64>,
    (name, raw): (&str, &str),
    overhead: &Overhead,
    beside: &Beside,
    findings: &mut Findings,
) -> Option<Memory> {
    let heap = overhead.heap_within(limit.value.saturating_sub(beside.mib));
    let source = format!("{} minus the overhead{}", limit.source, plus(beside));
    let least = MIN_HEAP_MIB + overhead.for_heap(MIN_HEAP_MIB).value + beside.mib;
    let mut fix = format!("give the app at least {least} MiB of memory (mem in the Marathon app)");
    if !beside.shown.is_empty() {
        fix.push_str(&format!(
            ", or lower what goes beside the heap: {}",
            beside.shown
        ));
    }
    let extra = overhead.for_heap(heap);
    check_heap(Sourced::new(heap, source), name, raw, extra, &fix, findings)
}

/// Spark refuses a heap under `MIN_HEAP_MIB`: name what to change, and how.
fn check_heap(
    heap: Sourced<u64>,
    name: &str,
    raw: &str,
    overhead: Sourced<u64>,
    fix: &str,
    findings: &mut Findings,
) -> Option<Memory> {
    if heap.value < MIN_HEAP_MIB {
        findings.problem(
            name,
            Some(raw),
            format!(
                "leaves a heap of {} MiB (beside Spark's overhead of {} MiB); a Spark executor \
                 needs at least {MIN_HEAP_MIB} MiB of heap: {fix}",
                heap.value, overhead.value
            ),
        );
        return None;
    }
    Some(Memory {
        heap_mib: heap,
        overhead_mib: overhead,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heap_spark_would_refuse_names_what_the_app_needs() {
        let mut findings = Findings::default();
        let heap = Sourced::new(216, "MARATHON_APP_RESOURCE_MEM=600 minus the overhead");
        let overhead = Sourced::new(384, "default");
        let fix = "give the app at least 849 MiB";
        let name = "MARATHON_APP_RESOURCE_MEM";
        assert!(check_heap(heap, name, "600", overhead.clone(), fix, &mut findings).is_none());
        let problem = &findings.problems[0];
        assert_eq!(problem.name, "MARATHON_APP_RESOURCE_MEM");
        assert!(problem.message.ends_with(fix), "{problem}");
        let min = Sourced::new(MIN_HEAP_MIB, "x");
        let ok = check_heap(min, "x", "x", overhead, fix, &mut findings);
        assert_eq!(ok.unwrap().heap_mib.value, MIN_HEAP_MIB);
    }
}
