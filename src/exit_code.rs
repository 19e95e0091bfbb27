//! The exit-code contract, in one place (the README's table repeats it).
//!
//! Codes below 64 and the `128 + N` range belong to the supervised command; spark-init's own
//! failures use the BSD `sysexits.h` values so they never look like a Java exit code.

/// The command line was wrong (unknown flag, missing command).
pub const USAGE: u8 = 64;
/// A service that had to answer did not before its deadline.
pub const UNAVAILABLE: u8 = 69;
/// A bug or an operating-system failure in spark-init itself.
pub const INTERNAL: u8 = 70;
/// `spark-init cds build` could not make the archive (`EX_CANTCREAT`).
pub const CANNOT_CREATE: u8 = 73;
/// The configuration (environment, files) is wrong; nothing was started.
pub const CONFIG: u8 = 78;
/// The command exists but cannot be executed (permissions, not an executable).
pub const CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
pub const NOT_FOUND: u8 = 127;
/// A child killed by signal N exits `SIGNALED_BASE + N`, as a shell reports it.
pub const SIGNALED_BASE: i32 = 128;
