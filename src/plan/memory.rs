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
/// (`spark.mesos.executor.memoryOverhead` on Spark 1.6–2.x), else max(floor, factor × heap)
/// with `spark.executor.memoryOverheadFactor` (Spark ≥ 3.3, default 0.10) and the floor
/// `spark.executor.minMemoryOverhead` (Spark ≥ 4.0, default 384 MiB; 384 MiB before):
/// `ResourceProfile.calculateOverHeadMemory` of Spark 4 (SPARK-47208).
#[derive(Debug, Clone, PartialEq)]
pub struct Overhead {
    fixed: Option<Sourced<u64>>,
    factor: f64,
    /// Where a non-default factor came from.
    factor_source: Option<String>,
    /// The floor under the factor's overhead, in MiB.
    min: u64,
    /// Where a non-default floor came from.
    min_source: Option<String>,
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
        let (min, min_source) = read_min(get, role, version, findings)?;
        Some(Overhead {
            fixed,
            factor,
            factor_source,
            min,
            min_source,
        })
    }

    /// The overhead Spark reserves beside a heap of `heap` MiB.
    pub fn for_heap(&self, heap: u64) -> Sourced<u64> {
        if let Some(fixed) = &self.fixed {
            return fixed.clone();
        }
        let how = match (&self.min_source, &self.factor_source) {
            (None, None) => "max(384 MiB, 10% of the heap), Spark's default".to_string(),
            (None, Some(source)) => format!("max(384 MiB, {} × heap) from {source}", self.factor),
            (Some(min_source), factor_source) => format!(
                "max({} MiB from {min_source}, {})",
                self.min,
                factor_source.as_ref().map_or_else(
                    || "10% of the heap".to_string(),
                    |source| format!("{} × heap from {source}", self.factor)
                )
            ),
        };
        Sourced::new(self.scaled(heap), how)
    }

    /// max(floor, factor × heap), as Spark computes it: `(factor * heap).toInt`, truncated.
    fn scaled(&self, heap: u64) -> u64 {
        ((heap as f64 * self.factor) as u64).max(self.min)
    }

    /// The largest heap whose heap + overhead fits in `limit` MiB.
    pub fn heap_within(&self, limit: u64) -> u64 {
        if let Some(fixed) = &self.fixed {
            return limit.saturating_sub(fixed.value);
        }
        let with_floor = limit.saturating_sub(self.min);
        if (with_floor as f64 * self.factor) <= self.min as f64 {
            return with_floor;
        }
        // heap × (1 + factor) = limit, then the exact answer next to it: the overhead is
        // truncated to whole MiB, so one more MiB of heap can still fit.
        let fits = |heap: u64| heap.saturating_add(self.scaled(heap)) <= limit;
        let mut heap = (limit as f64 / (1.0 + self.factor)).floor() as u64;
        while fits(heap + 1) {
            heap += 1;
        }
        while heap > 0 && !fits(heap) {
            heap -= 1;
        }
        heap
    }
}

/// The floor under the factor's overhead: `spark.<role>.minMemoryOverhead` on Spark ≥ 4.0 (a
/// size, a bare number MiB, default 384m: `EXECUTOR_MIN_MEMORY_OVERHEAD` and
/// `DRIVER_MIN_MEMORY_OVERHEAD` in Spark's `internal/config`), else 384 MiB; a value set for an
/// older Spark, which does not read it, draws a warning.
fn read_min(
    get: &Lookup<'_>,
    role: &str,
    version: SparkVersion,
    findings: &mut Findings,
) -> Option<(u64, Option<String>)> {
    let key = format!("spark.{role}.minMemoryOverhead");
    let Some(conf) = get(&key) else {
        return Some((MIN_OVERHEAD_MIB, None));
    };
    if !version.at_least(4, 0) {
        findings.warn(format!(
            "{key} is set ({}), but Spark {version} does not read it (it is new in Spark 4.0): \
             the overhead's floor stays 384 MiB",
            conf.source
        ));
        return Some((MIN_OVERHEAD_MIB, None));
    }
    match memory::planned_mib(&conf.value) {
        Ok(mib) => Some((mib, Some(conf.source))),
        Err(why) => {
            findings.problem(&conf.source, Some(&conf.value), format!("{key} {why}"));
            None
        }
    }
}

/// The container's memory in MiB (Marathon's `mem`, else the cgroup limit), with the name an
/// operator changes to give it more and its value as given there (`512.0`, not the `512` MiB
/// it is taken as: issue 18).
pub fn container_mib(
    config: &RoleConfig,
    facts: &LocalFacts,
) -> Option<(Sourced<u64>, String, String)> {
    match &config.task.mem_mib {
        Some(m) => Some((
            Sourced::new(
                m.value.value.floor() as u64,
                format!("{}={}", m.source, m.value.written),
            ),
            m.source.clone(),
            m.value.written.clone(),
        )),
        None => facts.cgroup.memory_bytes.as_ref().map(|l| {
            (
                Sourced::new(l.value >> 20, l.source.clone()),
                l.source.clone(),
                l.value.to_string(),
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
            min: MIN_OVERHEAD_MIB,
            min_source: None,
        }
    }

    fn read(version: &str, confs: &[(&str, &str)]) -> (Option<Overhead>, Findings) {
        let get = |key: &str| {
            confs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| Sourced::new(v.to_string(), format!("conf ({key})")))
        };
        let mut findings = Findings::default();
        let version = SparkVersion::parse(version).unwrap();
        let overhead = Overhead::read(&get, "executor", version, &mut findings);
        (overhead, findings)
    }

    #[test]
    fn spark_4_reads_the_overheads_floor() {
        let min = [("spark.executor.minMemoryOverhead", "1g")];
        let (overhead, findings) = read("4.0.0", &min);
        let overhead = overhead.unwrap();
        assert!(findings.warnings.is_empty(), "{findings:?}");
        let shown = overhead.for_heap(2048);
        assert_eq!(shown.value, 1024);
        assert_eq!(
            shown.source,
            "max(1024 MiB from conf (spark.executor.minMemoryOverhead), 10% of the heap)"
        );
        // Above the floor the factor decides, as before.
        assert_eq!(overhead.for_heap(20480).value, 2048);
        // The heap fills the container with the new floor beside it.
        assert_eq!(overhead.heap_within(4096), 3072);
        for limit in [1500_u64, 4096, 11264, 11265, 32768] {
            let heap = overhead.heap_within(limit);
            assert!(heap + overhead.for_heap(heap).value <= limit, "{limit}");
            assert!(
                heap + 1 + overhead.for_heap(heap + 1).value > limit,
                "{limit}"
            );
        }
        // Zero floor: the factor alone.
        let (zero, _) = read("4.3.0", &[("spark.executor.minMemoryOverhead", "0")]);
        assert_eq!(zero.unwrap().for_heap(1000).value, 100);
        // A fixed overhead wins over the floor, as Spark ignores the floor then.
        let fixed = [min[0], ("spark.executor.memoryOverhead", "512m")];
        assert_eq!(read("4.0.0", &fixed).0.unwrap().for_heap(100).value, 512);
    }

    #[test]
    fn the_floor_is_384_mib_before_spark_4_with_a_warning_when_set() {
        let (overhead, findings) = read("3.5.7", &[("spark.executor.minMemoryOverhead", "1g")]);
        assert_eq!(overhead.unwrap(), default_overhead());
        assert!(
            findings.warnings[0].contains("Spark 3.5.7 does not read it"),
            "{findings:?}"
        );
        let (overhead, findings) = read("4.0.0", &[]);
        assert_eq!(overhead.unwrap(), default_overhead());
        assert!(findings.warnings.is_empty());
    }

    #[test]
    fn a_floor_that_is_not_a_size_names_the_key() {
        let (overhead, findings) = read("4.1.0", &[("spark.executor.minMemoryOverhead", "lots")]);
        assert!(overhead.is_none());
        let problem = &findings.problems[0];
        assert_eq!(problem.name, "conf (spark.executor.minMemoryOverhead)");
        assert_eq!(problem.value.as_deref(), Some("lots"));
        assert!(
            problem
                .message
                .starts_with("spark.executor.minMemoryOverhead "),
            "{problem}"
        );
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
        // 4225: the first limit where 10% of (limit - 384) is above 384 MiB.
        for limit in [834_u64, 2048, 4096, 4225, 4226, 32768] {
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
