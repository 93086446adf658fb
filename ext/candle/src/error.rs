//! The crate-wide error: a kind (which Ruby class it becomes) and a message
//! written for the user (what failed, which repo/file, what to do next).
//! Free of magnus so every core module can use it under `cargo test`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `Candle::Error`
    Generic,
    /// `ArgumentError` (bad input detected before any work is done)
    Argument,
    /// `Candle::HubError`
    Hub,
    /// `Candle::RepositoryNotFoundError` < `Candle::NotFoundError`
    RepositoryNotFound,
    /// `Candle::RevisionNotFoundError` < `Candle::NotFoundError`
    RevisionNotFound,
    /// `Candle::EntryNotFoundError` < `Candle::NotFoundError`
    EntryNotFound,
    /// `Candle::AuthenticationError`
    Authentication,
    /// `Candle::RateLimitedError`
    RateLimited,
    /// `Candle::OfflineError`
    Offline,
    /// `Candle::DownloadError`
    Download,
    /// `Candle::IntegrityError`
    Integrity,
    /// `Candle::ModelLoadError`
    ModelLoad,
    /// `Candle::UnsupportedModelError`
    UnsupportedModel,
    /// `Candle::InvalidModelFileError`
    InvalidModelFile,
    /// `Candle::TokenizerError`
    Tokenizer,
    /// `Candle::GenerationError`
    Generation,
    /// `Candle::DeviceError`
    Device,
    /// `Candle::Interrupted`
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    pub fn interrupted() -> Self {
        Self::new(ErrorKind::Interrupted, "interrupted")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand: `err!(Kind, "format {}", args)`.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($arg:tt)*) => {
        $crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)*))
    };
}
