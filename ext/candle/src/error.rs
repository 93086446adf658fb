//! The crate-wide error: a kind (which Ruby class it becomes) and a message
//! written for the user (what failed, which repo/file, what to do next).
//! Free of magnus so every core module can use it under `cargo test`.

use std::fmt;

/// The one list of error kinds: each with the Ruby class it becomes (under
/// `Candle::`, declared in lib/candle/errors.rb; `None` = Ruby's ArgumentError).
macro_rules! error_kinds {
    ($($(#[$doc:meta])* $kind:ident => $class:expr,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[$doc])* $kind,)*
        }

        impl ErrorKind {
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind),*];

            /// The class name under `Candle::`, or None for `ArgumentError`.
            pub fn ruby_class(self) -> Option<&'static str> {
                match self {
                    $(ErrorKind::$kind => $class,)*
                }
            }
        }
    };
}

error_kinds! {
    Generic => Some("Error"),
    /// Bad input detected before any work is done.
    Argument => None,
    Hub => Some("HubError"),
    /// < `Candle::NotFoundError`
    RepositoryNotFound => Some("RepositoryNotFoundError"),
    /// < `Candle::NotFoundError`
    RevisionNotFound => Some("RevisionNotFoundError"),
    /// < `Candle::NotFoundError`
    EntryNotFound => Some("EntryNotFoundError"),
    Authentication => Some("AuthenticationError"),
    RateLimited => Some("RateLimitedError"),
    Offline => Some("OfflineError"),
    Download => Some("DownloadError"),
    Integrity => Some("IntegrityError"),
    ModelLoad => Some("ModelLoadError"),
    UnsupportedModel => Some("UnsupportedModelError"),
    InvalidModelFile => Some("InvalidModelFileError"),
    Tokenizer => Some("TokenizerError"),
    Generation => Some("GenerationError"),
    Device => Some("DeviceError"),
    Interrupted => Some("Interrupted"),
}

/// What a Hub error is about, for the readers of `Candle::HubError`
/// (`repo_id`, `filename`, `revision`, `status`, `retry_after`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubContext {
    pub repo_id: Option<String>,
    pub filename: Option<String>,
    pub revision: Option<String>,
    /// The HTTP status that decided the error.
    pub status: Option<u16>,
    /// The wait the server asked for (Retry-After), when it asked.
    pub retry_after: Option<std::time::Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hub: Option<Box<HubContext>>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), hub: None }
    }

    /// Fills in what is not known yet about the request this error is about.
    pub fn about(mut self, repo_id: &str, filename: &str, revision: &str) -> Self {
        let h = self.hub.get_or_insert_with(Box::default);
        let fill = |slot: &mut Option<String>, v: &str| {
            if slot.is_none() && !v.is_empty() {
                *slot = Some(v.to_string());
            }
        };
        fill(&mut h.repo_id, repo_id);
        fill(&mut h.filename, filename);
        fill(&mut h.revision, revision);
        self
    }

    pub fn with_status(mut self, status: u16, retry_after: Option<std::time::Duration>) -> Self {
        let h = self.hub.get_or_insert_with(Box::default);
        h.status = Some(status);
        h.retry_after = retry_after.or(h.retry_after);
        self
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
