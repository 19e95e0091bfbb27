//! Spark's facts and formats: versions, Java option syntaxes, executor IDs, sizes, exit codes.

pub mod executor_backend;
pub mod executor_id;
pub mod exit_codes;
pub mod java_options;
pub mod memory;
pub mod module_options;
pub mod properties;
pub mod rpc;
pub mod size;
pub mod submit;
pub mod version;
