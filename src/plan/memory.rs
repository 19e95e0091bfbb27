//! How Spark sizes the memory of a JVM and of the container around it, for executors and
//! drivers alike: the overhead beside the heap, off-heap and PySpark memory, the container's
//! size. A setting is looked up with a [`Lookup`] (spark-defaults.conf for an executor, the
//! app's args then spark-defaults.conf for a driver).

use crate::config::role::RoleConfig;
use crate::facts::LocalFacts;
use crate::plan::Findings;
use crate::sourced::Sourced;
use crate::spark::memory::{self, DEFAULT_OVERHEAD_FACTOR, MAX_OVERHEAD_FACTOR, MIN_OVERHEAD_MIB};
use crate::spark::version::SparkVersion;

/// A Spark setting by key, with where it was set.
pub type Lookup<'a> = dyn Fn(&str) -> Option<Sourced<String>> + 'a;

/// How Spark sizes the memory beside the heap: a fixed `spark.executor.memoryOverhead`
/// (`spark.mesos.executor.memoryOverhead` on Spark 1.6–2.x), else max(384 MiB, factor × heap)
/// with `spark.executor.memoryOverheadFactor` (Spark ≥ 3.3, default 0.10).
#[derive(Debug, Clone, PartialEq)]
pub struct Overhead {
    fixed: Option<Sourced<u64>>,
    factor: f64,
    /// Where a non-default factor came from.
    factor_source: Option<String>,
}

impl Overhead {
    /// The overhead settings of `role` (`executor` or `driver`), looked up with `get`.
    pub fn read(
        get: &Lookup<'_>,
        role: &str,
        version: SparkVersion,
        findings: &mut Findings,
    ) -> Option<Self> {
        // Mesos' own overhead key came first (Spark 1.6–2.x); the generic one wins.
        let fixed_conf = [
            format!("spark.{role}.memoryOverhead"),
            format!("spark.mesos.{role}.memoryOverhead"),
        ]
        .into_iter()
        .find_map(|key| get(&key).map(|v| (key, v)));
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
        let (factor, factor_source) = match get(&format!("spark.{role}.memoryOverheadFactor")) {
            Some(conf) if version.at_least(3, 3) => match conf.value.parse::<f64>() {
                Ok(f) if f > 0.0 && f <= MAX_OVERHEAD_FACTOR => (f, Some(conf.source)),
                _ => {
                    findings.problem(
                        &conf.source,
                        Some(&conf.value),
                        format!(
                            "spark.{role}.memoryOverheadFactor is not a number above 0 and \
                                 at most 100 such as 0.1"
                        ),
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
    pub fn for_heap(&self, heap: u64) -> Sourced<u64> {
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
    pub fn heap_within(&self, limit: u64) -> u64 {
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
pub fn container_mib(config: &RoleConfig, facts: &LocalFacts) -> Option<(Sourced<u64>, String)> {
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
pub struct Beside {
    pub mib: u64,
    /// "off-heap 1024 MiB (file (key)) and PySpark 512 MiB (file (key))", empty for none.
    pub shown: String,
}

impl Beside {
    /// What `role` puts beside its heap (PySpark memory is the executors' only).
    pub fn read(get: &Lookup<'_>, role: &str, findings: &mut Findings) -> Option<Beside> {
        let mut terms: Vec<(u64, String)> = Vec::new();
        // A Spark boolean conf: "true" or "false" (any case); anything else Spark refuses.
        let enabled = match get("spark.memory.offHeap.enabled") {
            None => false,
            Some(v) if v.value.eq_ignore_ascii_case("true") => true,
            Some(v) if v.value.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                findings.problem(
                    &v.source,
                    Some(&v.value),
                    "spark.memory.offHeap.enabled is not true or false, as Spark requires",
                );
                return None;
            }
        };
        if enabled {
            let size = get("spark.memory.offHeap.size");
            match size
                .as_ref()
                .map(|s| memory::planned_mib_from_bytes(&s.value))
            {
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
                        "spark.memory.offHeap.size must be at least 1 MiB when \
                         spark.memory.offHeap.enabled is true, as Spark requires (a bare number \
                         is bytes): set it such as 1g",
                    );
                    return None;
                }
            }
        }
        let pyspark = (role == "executor")
            .then(|| get("spark.executor.pyspark.memory"))
            .flatten();
        if let Some(py) = pyspark {
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

/// ", off-heap 1024 MiB (...) and PySpark 512 MiB (...)", or nothing.
pub fn plus(beside: &Beside) -> String {
    if beside.shown.is_empty() {
        String::new()
    } else {
        format!(", {}", beside.shown)
    }
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
}
