//! The executor's heap (`-Xms`/`-Xmx`): `SPARK_EXECUTOR_MEMORY`, else the container's memory
//! (Marathon's `mem`, else the cgroup limit) minus the overhead Spark reserves beside the heap,
//! else `spark.executor.memory`.

use crate::config::role::RoleConfig;
use crate::facts::LocalFacts;
use crate::plan::role::from_defaults;
use crate::plan::Findings;
use crate::sourced::Sourced;
use crate::spark::memory::{
    self, DEFAULT_OVERHEAD_FACTOR, MAX_OVERHEAD_FACTOR, MIN_HEAP_MIB, MIN_OVERHEAD_MIB,
};
use crate::spark::version::SparkVersion;

#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    pub heap_mib: Sourced<u64>,
    pub overhead_mib: Sourced<u64>,
}

/// How Spark sizes the memory beside the heap: a fixed `spark.executor.memoryOverhead`
/// (`spark.mesos.executor.memoryOverhead` on Spark 1.6–2.x), else max(384 MiB, factor × heap)
/// with `spark.executor.memoryOverheadFactor` (Spark ≥ 3.3, default 0.10).
#[derive(Debug, Clone, PartialEq)]
struct Overhead {
    fixed: Option<Sourced<u64>>,
    factor: f64,
    /// Where a non-default factor came from.
    factor_source: Option<String>,
}

impl Overhead {
    fn read(facts: &LocalFacts, version: SparkVersion, findings: &mut Findings) -> Option<Self> {
        // Mesos' own overhead key came first (Spark 1.6–2.x); the generic one wins.
        let fixed_conf = [
            "spark.executor.memoryOverhead",
            "spark.mesos.executor.memoryOverhead",
        ]
        .into_iter()
        .find_map(|key| from_defaults(facts, key).map(|v| (key, v)));
        let fixed = match fixed_conf {
            Some((key, conf)) => match memory::planned_mib(&conf.value) {
                Ok(mib) => Some(Sourced::new(mib, conf.source)),
                Err(why) => {
                    findings.problem(&conf.source, Some(&conf.value), format!("{key} {why}"));
                    return None;
                }
            },
            None => None,
        };
        let (factor, factor_source) =
            match from_defaults(facts, "spark.executor.memoryOverheadFactor") {
                Some(conf) if version.at_least(3, 3) => match conf.value.parse::<f64>() {
                    Ok(f) if f > 0.0 && f <= MAX_OVERHEAD_FACTOR => (f, Some(conf.source)),
                    _ => {
                        findings.problem(
                            &conf.source,
                            Some(&conf.value),
                            "spark.executor.memoryOverheadFactor is not a number above 0 and at \
                             most 100 such as 0.1",
                        );
                        return None;
                    }
                },
                _ => (DEFAULT_OVERHEAD_FACTOR, None),
            };
        Some(Overhead {
            fixed,
            factor,
            factor_source,
        })
    }

    /// The overhead Spark reserves beside a heap of `heap` MiB.
    fn for_heap(&self, heap: u64) -> Sourced<u64> {
        if let Some(fixed) = &self.fixed {
            return fixed.clone();
        }
        let scaled = (heap as f64 * self.factor) as u64;
        let how = match &self.factor_source {
            None => "max(384 MiB, 10% of the heap), Spark's default".to_string(),
            Some(source) => format!("max(384 MiB, {} × heap) from {source}", self.factor),
        };
        Sourced::new(scaled.max(MIN_OVERHEAD_MIB), how)
    }

    /// The largest heap whose heap + overhead fits in `limit` MiB.
    fn heap_within(&self, limit: u64) -> u64 {
        if let Some(fixed) = &self.fixed {
            return limit.saturating_sub(fixed.value);
        }
        let with_floor = limit.saturating_sub(MIN_OVERHEAD_MIB);
        if (with_floor as f64 * self.factor) <= MIN_OVERHEAD_MIB as f64 {
            with_floor
        } else {
            (limit as f64 / (1.0 + self.factor)).floor() as u64
        }
    }
}

/// The container's memory in MiB: Marathon's `mem`, else the cgroup limit.
fn container_mib(config: &RoleConfig, facts: &LocalFacts) -> Option<Sourced<u64>> {
    match &config.task.mem_mib {
        Some(m) => Some(Sourced::new(
            m.value.value.floor() as u64,
            format!("{}={}", m.source, m.value.written),
        )),
        None => facts
            .cgroup
            .memory_bytes
            .as_ref()
            .map(|l| Sourced::new(l.value >> 20, l.source.clone())),
    }
}

pub fn executor_memory(
    config: &RoleConfig,
    facts: &LocalFacts,
    version: SparkVersion,
    findings: &mut Findings,
) -> Option<Memory> {
    let overhead = Overhead::read(facts, version, findings)?;
    let container = container_mib(config, facts);
    if let Some(memory) = &config.executor_memory {
        let heap = match memory::planned_mib(&memory.value) {
            Ok(mib) => mib,
            Err(why) => {
                findings.problem(&memory.source, Some(&memory.value), why);
                return None;
            }
        };
        let extra = overhead.for_heap(heap);
        if let Some(limit) = container
            .as_ref()
            .filter(|l| heap.saturating_add(extra.value) > l.value)
        {
            findings.warn(format!(
                "{}={} plus Spark's overhead of {} MiB exceeds the container's {} MiB ({}): \
                 the JVM may be OOM-killed",
                memory.source, memory.value, extra.value, limit.value, limit.source
            ));
        }
        return check_heap(
            memory.as_ref().map(|_| heap),
            &memory.value,
            extra,
            findings,
        );
    }
    if let Some(limit) = container {
        let heap = overhead.heap_within(limit.value);
        let extra = overhead.for_heap(heap);
        let heap = Sourced::new(heap, format!("{} minus the overhead", limit.source));
        return check_heap(heap, &limit.value.to_string(), extra, findings);
    }
    if let Some(conf) = from_defaults(facts, "spark.executor.memory") {
        return match memory::planned_mib(&conf.value) {
            Ok(heap) => {
                let extra = overhead.for_heap(heap);
                check_heap(conf.as_ref().map(|_| heap), &conf.value, extra, findings)
            }
            Err(why) => {
                findings.problem(
                    &conf.source,
                    Some(&conf.value),
                    format!("spark.executor.memory {why}"),
                );
                None
            }
        };
    }
    findings.problem(
        "SPARK_EXECUTOR_MEMORY",
        None,
        "is not set, and the container's memory is unknown (no MARATHON_APP_RESOURCE_MEM, no \
         cgroup limit, no spark.executor.memory); set SPARK_EXECUTOR_MEMORY such as 4g",
    );
    None
}

/// Spark refuses a heap under `MIN_HEAP_MIB`: say how much memory the app needs instead.
fn check_heap(
    heap: Sourced<u64>,
    raw: &str,
    overhead: Sourced<u64>,
    findings: &mut Findings,
) -> Option<Memory> {
    if heap.value < MIN_HEAP_MIB {
        let name = heap.source.split([' ', '=']).next().unwrap_or("memory");
        findings.problem(
            name,
            Some(raw),
            format!(
                "leaves a heap of {} MiB after Spark's overhead of {} MiB; Spark needs at least \
                 {MIN_HEAP_MIB} MiB of heap: give the app at least {} MiB of memory (mem in the \
                 Marathon app)",
                heap.value,
                overhead.value,
                MIN_HEAP_MIB.saturating_add(overhead.value.max(MIN_OVERHEAD_MIB))
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

    fn default_overhead() -> Overhead {
        Overhead {
            fixed: None,
            factor: DEFAULT_OVERHEAD_FACTOR,
            factor_source: None,
        }
    }

    #[test]
    fn the_overhead_is_at_least_384_mib_else_the_factor() {
        let o = default_overhead();
        assert_eq!(o.for_heap(1000).value, 384);
        assert_eq!(o.for_heap(8192).value, 819);
        let fixed = Overhead {
            fixed: Some(Sourced::new(512, "conf")),
            ..default_overhead()
        };
        assert_eq!(fixed.for_heap(100_000), Sourced::new(512, "conf"));
    }

    #[test]
    fn the_heap_fills_the_container_with_the_overhead_beside_it() {
        let o = default_overhead();
        for limit in [834_u64, 2048, 4096, 32768] {
            let heap = o.heap_within(limit);
            assert!(heap + o.for_heap(heap).value <= limit, "{limit}");
            assert!(heap + 1 + o.for_heap(heap + 1).value > limit, "{limit}");
        }
        assert_eq!(o.heap_within(2048), 1664);
        assert_eq!(o.heap_within(100), 0);
        let fixed = Overhead {
            fixed: Some(Sourced::new(1024, "conf")),
            ..default_overhead()
        };
        assert_eq!(fixed.heap_within(4096), 3072);
    }

    #[test]
    fn a_heap_spark_would_refuse_names_what_the_app_needs() {
        let mut findings = Findings::default();
        let heap = Sourced::new(216, "MARATHON_APP_RESOURCE_MEM=600 minus the overhead");
        let overhead = Sourced::new(384, "default");
        assert!(check_heap(heap, "600", overhead.clone(), &mut findings).is_none());
        let problem = &findings.problems[0];
        assert_eq!(problem.name, "MARATHON_APP_RESOURCE_MEM");
        assert!(problem.message.contains("at least 834 MiB"), "{problem}");
        let ok = check_heap(Sourced::new(450, "x"), "x", overhead, &mut findings);
        assert_eq!(ok.unwrap().heap_mib.value, 450);
    }
}
