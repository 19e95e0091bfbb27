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

/// The container's memory in MiB (Marathon's `mem`, else the cgroup limit), with the name an
/// operator changes to give it more.
fn container_mib(config: &RoleConfig, facts: &LocalFacts) -> Option<(Sourced<u64>, String)> {
    match &config.task.mem_mib {
        Some(m) => Some((
            Sourced::new(
                m.value.value.floor() as u64,
                format!("{}={}", m.source, m.value.written),
            ),
            m.source.clone(),
        )),
        None => facts.cgroup.memory_bytes.as_ref().map(|l| {
            (
                Sourced::new(l.value >> 20, l.source.clone()),
                l.source.clone(),
            )
        }),
    }
}

/// What Spark puts in an executor's container beside the heap and its overhead: off-heap
/// memory (`spark.memory.offHeap.size` when `spark.memory.offHeap.enabled`) and the Python
/// workers' (`spark.executor.pyspark.memory`). Spark sizes a YARN or Kubernetes container as
/// heap + overhead + off-heap + PySpark memory (`ResourceProfile.ExecutorResourcesOrDefaults.
/// totalMemMiB`, Spark 3.x), and so does spark-init within Marathon's.
#[derive(Debug, Clone, Default, PartialEq)]
struct Beside {
    mib: u64,
    /// "off-heap 1024 MiB (file (key)) and PySpark 512 MiB (file (key))", empty for none.
    shown: String,
}

impl Beside {
    fn read(facts: &LocalFacts, findings: &mut Findings) -> Option<Beside> {
        let mut terms: Vec<(u64, String)> = Vec::new();
        let enabled = from_defaults(facts, "spark.memory.offHeap.enabled")
            .is_some_and(|v| v.value.eq_ignore_ascii_case("true"));
        if enabled {
            let size = from_defaults(facts, "spark.memory.offHeap.size");
            match size.as_ref().map(|s| memory::planned_mib(&s.value)) {
                Some(Ok(mib)) if mib > 0 => {
                    let source = size.map(|s| s.source).unwrap_or_default();
                    terms.push((mib, format!("off-heap {mib} MiB ({source})")));
                }
                _ => {
                    // Utils.checkOffHeapEnabled: "spark.memory.offHeap.size must be > 0 when
                    // spark.memory.offHeap.enabled == true".
                    let (name, value) = size
                        .map_or(("spark.memory.offHeap.size".to_string(), None), |s| {
                            (s.source, Some(s.value))
                        });
                    findings.problem(
                        &name,
                        value.as_deref(),
                        "spark.memory.offHeap.size must be a size above 0 when \
                         spark.memory.offHeap.enabled is true, as Spark requires: set it such \
                         as 1g",
                    );
                    return None;
                }
            }
        }
        if let Some(py) = from_defaults(facts, "spark.executor.pyspark.memory") {
            match memory::planned_mib(&py.value) {
                Ok(mib) => terms.push((mib, format!("PySpark {mib} MiB ({})", py.source))),
                Err(why) => {
                    let why = format!("spark.executor.pyspark.memory {why}");
                    findings.problem(&py.source, Some(&py.value), why);
                    return None;
                }
            }
        }
        Some(Beside {
            mib: terms.iter().map(|(mib, _)| mib).sum(),
            shown: terms
                .into_iter()
                .map(|(_, s)| s)
                .collect::<Vec<_>>()
                .join(" and "),
        })
    }
}

pub fn executor_memory(
    config: &RoleConfig,
    facts: &LocalFacts,
    version: SparkVersion,
    findings: &mut Findings,
) -> Option<Memory> {
    let overhead = Overhead::read(facts, version, findings)?;
    let beside = Beside::read(facts, findings)?;
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
        if let Some((limit, _)) = container.as_ref().filter(|(l, _)| needs(heap) > l.value) {
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
    if let Some((limit, name)) = container {
        let heap = overhead.heap_within(limit.value.saturating_sub(beside.mib));
        let source = format!("{} minus the overhead{}", limit.source, plus(&beside));
        let least = MIN_HEAP_MIB + overhead.for_heap(MIN_HEAP_MIB).value + beside.mib;
        let fix = format!("give the app at least {least} MiB of memory (mem in the Marathon app)");
        let extra = overhead.for_heap(heap);
        return check_heap(
            Sourced::new(heap, source),
            &name,
            &limit.value.to_string(),
            extra,
            &fix,
            findings,
        );
    }
    findings.problem(
        "SPARK_EXECUTOR_MEMORY",
        None,
        "is not set, and the container's memory is unknown (no MARATHON_APP_RESOURCE_MEM, no \
         cgroup limit, no spark.executor.memory); set SPARK_EXECUTOR_MEMORY such as 4g",
    );
    None
}

/// ", off-heap 1024 MiB (...) and PySpark 512 MiB (...)", or nothing.
fn plus(beside: &Beside) -> String {
    if beside.shown.is_empty() {
        String::new()
    } else {
        format!(", {}", beside.shown)
    }
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
