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
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit_code::USAGE,
            Error::Config(_) => exit_code::CONFIG,
            Error::Supervise(e) => e.exit_code(),
            Error::Signals(_) => exit_code::INTERNAL,
        }
    }
}
