//! How Spark sizes an executor's memory (`org.apache.spark.memory.UnifiedMemoryManager`,
//! `spark.executor.memoryOverhead`, `spark.executor.memoryOverheadFactor`).

/// The smallest `-Xmx` with which a Spark executor starts. `UnifiedMemoryManager.getMaxMemory`
/// refuses a JVM whose `Runtime.maxMemory()` is under 1.5 × its 300 MiB reserved memory
/// ("System memory ... must be at least 471859200"), and the JVM reports less than `-Xmx`
/// there: in a container with one CPU or under 1792 MiB it picks SerialGC, which leaves one
/// survivor space out (-Xmx450m gives 435 MiB). Measured with OpenJDK 17: -Xmx464m gives
/// 470351872 bytes, refused; -Xmx465m gives 472383488, accepted. The oracle test runs Spark's
/// own check at this value and one MiB under.
pub const MIN_HEAP_MIB: u64 = 465;
/// Spark's default executor memory overhead: max(384 MiB, 10% of the heap)
/// (`spark.executor.memoryOverhead`, `spark.executor.memoryOverheadFactor`). From Spark 4.0 the
/// 384 MiB floor is `spark.{executor,driver}.minMemoryOverhead` (SPARK-47208, apache/spark#45240;
/// `bytesConf(MiB)`, default `384m`, ignored when `memoryOverhead` is set), and
/// `ResourceProfile.calculateOverHeadMemory(overhead, minOverhead, heap, factor)` is
/// `overhead.getOrElse(max((factor * heap).toInt, minOverhead))` (read in the bytecode of 4.0.0
/// and 4.3.0; the oracle test runs 4.3.0's).
pub const MIN_OVERHEAD_MIB: u64 = 384;
pub const DEFAULT_OVERHEAD_FACTOR: f64 = 0.10;

/// The most memory spark-init plans for one JVM: 16 TiB, in MiB. Far above any machine
/// Marathon schedules on; it keeps every sum of heap and overhead far from overflowing.
pub const MAX_MIB: u64 = 16 * 1024 * 1024;
/// The largest `spark.executor.memoryOverheadFactor` taken (Spark asks only for > 0).
pub const MAX_OVERHEAD_FACTOR: f64 = 100.0;

/// A Spark size (`4g`, `512m`; a bare number is MiB) in MiB, at most [`MAX_MIB`].
pub fn planned_mib(text: &str) -> Result<u64, String> {
    checked(crate::spark::size::parse_mib(text))
}

/// A Spark size whose bare number is bytes (`spark.memory.offHeap.size`, a `bytesConf`:
/// `1073741824` is 1 GiB, as `Utils.executorOffHeapMemorySizeAsMb` reads it), in MiB.
pub fn planned_mib_from_bytes(text: &str) -> Result<u64, String> {
    let bare = text.trim().bytes().all(|b| b.is_ascii_digit());
    if bare {
        checked(crate::spark::size::parse_mib(&format!("{}b", text.trim())))
    } else {
        planned_mib(text)
    }
}

fn checked(mib: Result<u64, String>) -> Result<u64, String> {
    let too_large =
        format!("is more than 16 TiB ({MAX_MIB} MiB), the most spark-init plans for one JVM");
    let mib = mib.map_err(|e| {
        if e == "is too large" {
            too_large.clone()
        } else {
            e
        }
    })?;
    if mib > MAX_MIB {
        return Err(too_large);
    }
    Ok(mib)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review finding: a bare `spark.memory.offHeap.size` is bytes to Spark, not MiB.
    #[test]
    fn off_heap_sizes_without_a_unit_are_bytes() {
        assert_eq!(planned_mib_from_bytes("1073741824"), Ok(1024));
        assert_eq!(planned_mib_from_bytes("1048576"), Ok(1));
        assert_eq!(planned_mib_from_bytes("1024"), Ok(0));
        assert_eq!(planned_mib_from_bytes("1g"), Ok(1024));
        assert_eq!(planned_mib("1024"), Ok(1024));
        assert!(planned_mib("99999999999999999999g")
            .unwrap_err()
            .contains("16 TiB"));
    }
}
