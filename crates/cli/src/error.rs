//! The error type of the command line.

use pressio_ml::PressioError;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Result alias of the command line.
pub type CliResult<T> = std::result::Result<T, CliError>;

/// Everything the command line can report. Every variant prints a message meant for a user; the
/// binary prints it after `pressio-ml: error: ` and exits with a non-zero status.
#[derive(Debug, Error)]
pub enum CliError {
    /// A failure reported by a compressor, a metric or the registry.
    #[error(transparent)]
    Pressio(#[from] PressioError),
    /// A library failure with a sentence saying what was being done.
    #[error("{context}: {source}")]
    Step {
        /// What the command line was doing.
        context: String,
        /// The library error.
        #[source]
        source: PressioError,
    },
    /// A file that cannot be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing to standard output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// Arguments that parse but do not make sense together (or refer to something absent).
    #[error("{0}")]
    Usage(String),
    /// A training run that failed.
    #[error("training failed: {0}")]
    Train(String),
    /// Input data that cannot be used as described.
    #[error("{0}")]
    Input(String),
    /// A `-O`/`-C`/`-M` pattern that is not a valid regular expression.
    #[error("invalid pattern `{pattern}`: {source}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// What the regex engine reported.
        #[source]
        source: regex::Error,
    },
    /// Drawing the benchmark plot failed.
    #[error("cannot draw {}: {message}", path.display())]
    Plot {
        /// The image being drawn.
        path: PathBuf,
        /// What the plotting library reported.
        message: String,
    },
}

impl CliError {
    /// A library error with context.
    pub fn step(context: impl Into<String>, source: PressioError) -> Self {
        CliError::Step {
            context: context.into(),
            source,
        }
    }

    /// An I/O error on `path`.
    pub fn file(path: &Path, source: std::io::Error) -> Self {
        CliError::File {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// An input error.
    pub fn input(message: impl Into<String>) -> Self {
        CliError::Input(message.into())
    }
}

/// Attach a context sentence to library errors.
pub trait Context<T> {
    /// Wrap the error with `what` (evaluated only on error).
    fn context<S: Into<String>>(self, what: impl FnOnce() -> S) -> CliResult<T>;
}

impl<T> Context<T> for Result<T, PressioError> {
    fn context<S: Into<String>>(self, what: impl FnOnce() -> S) -> CliResult<T> {
        self.map_err(|e| CliError::step(what(), e))
    }
}
