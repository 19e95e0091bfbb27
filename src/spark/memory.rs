//! How Spark sizes an executor's memory (`org.apache.spark.memory.UnifiedMemoryManager`,
//! `spark.executor.memoryOverhead`, `spark.executor.memoryOverheadFactor`).

/// Spark's smallest usable executor heap: `UnifiedMemoryManager` refuses less than 1.5 × its
/// 300 MiB reserved memory ("Executor memory ... must be at least 471859200").
pub const MIN_HEAP_MIB: u64 = 450;
/// Spark's default executor memory overhead: max(384 MiB, 10% of the heap)
/// (`spark.executor.memoryOverhead`, `spark.executor.memoryOverheadFactor`).
pub const MIN_OVERHEAD_MIB: u64 = 384;
pub const DEFAULT_OVERHEAD_FACTOR: f64 = 0.10;
