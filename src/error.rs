//! The top-level error, transparent over each module's, and its exit code: the one place that
//! maps failures to the documented codes (see `exit_code`).

use crate::config::ConfigErrors;
use crate::exit_code;
use crate::supervise::SuperviseError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line; clap's message includes the usage line.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Supervise(#[from] SuperviseError),
    #[error("cannot take over signal handling: {0}")]
    Signals(nix::Error),
    /// A required service did not answer usefully before its deadline.
    #[error("{0}")]
    Unavailable(String),
    /// A service refused in a way waiting cannot fix (credentials, a wrong URL).
    #[error("{0}")]
    Refused(String),
    /// Stopped by signal N before the command was started.
    #[error("stopped by signal {0} before the command was started")]
    Interrupted(i32),
    #[error("{0}")]
    Internal(String),
    /// `spark-init cds build` could not make the archive.
    #[error("{0}")]
    CdsBuild(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit_code::USAGE,
            Error::Config(_) => exit_code::CONFIG,
            Error::Supervise(e) => e.exit_code(),
            Error::Signals(_) | Error::Internal(_) => exit_code::INTERNAL,
            Error::Unavailable(_) => exit_code::UNAVAILABLE,
            Error::CdsBuild(_) => exit_code::CANNOT_CREATE,
            Error::Refused(_) => exit_code::CONFIG,
            Error::Interrupted(sig) => (exit_code::SIGNALED_BASE + sig) as u8,
        }
    }
}
