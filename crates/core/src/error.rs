//! The error type shared by every pressio-ml component.

use thiserror::Error;

/// Result alias used across pressio-ml.
pub type Result<T, E = PressioError> = std::result::Result<T, E>;

/// Everything that can go wrong in a compressor, metric, registry or stream.
///
/// Each variant maps to a stable, positive LibPressio-style error code through
/// [`PressioError::code`]; the C ABI reports that code and the `Display` text.
#[derive(Debug, Error)]
pub enum PressioError {
    /// An id that no registered compressor has.
    #[error("invalid compressor id {0}")]
    UnknownCompressor(String),
    /// An id that no registered metric has.
    #[error("failed to construct metrics plugin: {0}")]
    UnknownMetric(String),
    /// A key that the plugin does not declare.
    #[error("non existent option for the compressor: {0}")]
    UnknownOption(String),
    /// A key set with a type other than its declared one, or a value that cannot be converted.
    #[error("option {key}: expected {expected}, got {found}")]
    WrongOptionType {
        /// The option key.
        key: String,
        /// The declared type.
        expected: String,
        /// The type (or text) that was supplied.
        found: String,
    },
    /// A value of the right type that is out of its valid range.
    #[error("invalid value for {key}: {reason}")]
    InvalidOption {
        /// The option key.
        key: String,
        /// Why the value is refused.
        reason: String,
    },
    /// The plugin cannot handle this dtype.
    #[error("{plugin}: unsupported dtype {dtype}")]
    UnsupportedDType {
        /// Plugin id.
        plugin: String,
        /// Name of the refused dtype.
        dtype: String,
    },
    /// Dimensions that are empty, overflow, or do not match the data.
    #[error("invalid dimensions: {0}")]
    InvalidDims(String),
    /// Input data that cannot be compressed (empty, wrong size, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A stream that fails its structural or checksum checks.
    #[error("corrupt stream: {0}")]
    CorruptStream(String),
    /// A well-formed stream that this decoder must not decode (another plugin, version, model,
    /// device or platform).
    #[error("stream mismatch: {0}")]
    StreamMismatch(String),
    /// A model file that is missing, unreadable or inconsistent.
    #[error("model error: {0}")]
    Model(String),
    /// An operation the plugin does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A failure inside a wrapped third-party compressor.
    #[error("{plugin}: {message}")]
    Backend {
        /// Plugin id.
        plugin: String,
        /// What the backend reported.
        message: String,
    },
    /// A caller misuse such as a NULL handle or an argument out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An I/O failure (files, model files).
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    /// A panic caught at a boundary (never expected; reported instead of unwinding).
    #[error("internal error: {0}")]
    Internal(String),
}

impl PressioError {
    /// A stable positive error code, LibPressio style (0 is success, >0 an error).
    pub fn code(&self) -> i32 {
        match self {
            PressioError::UnknownCompressor(_) => 1,
            PressioError::UnknownMetric(_) => 2,
            PressioError::UnknownOption(_) => 3,
            PressioError::WrongOptionType { .. } => 4,
            PressioError::InvalidOption { .. } => 5,
            PressioError::UnsupportedDType { .. } => 6,
            PressioError::InvalidDims(_) => 7,
            PressioError::InvalidInput(_) => 8,
            PressioError::CorruptStream(_) => 9,
            PressioError::StreamMismatch(_) => 10,
            PressioError::Model(_) => 11,
            PressioError::Unsupported(_) => 12,
            PressioError::Backend { .. } => 13,
            PressioError::InvalidArgument(_) => 14,
            PressioError::Io(_) => 15,
            PressioError::Internal(_) => 16,
        }
    }

    /// Shorthand for [`PressioError::InvalidOption`].
    pub fn invalid_option(key: impl Into<String>, reason: impl Into<String>) -> Self {
        PressioError::InvalidOption {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`PressioError::Backend`].
    pub fn backend(plugin: impl Into<String>, message: impl Into<String>) -> Self {
        PressioError::Backend {
            plugin: plugin.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`PressioError::CorruptStream`].
    pub fn corrupt(message: impl Into<String>) -> Self {
        PressioError::CorruptStream(message.into())
    }
}
