//! Spark's facts and formats: versions, Java option syntaxes, executor IDs, sizes.

pub mod executor_id;
pub mod java_options;
pub mod size;
