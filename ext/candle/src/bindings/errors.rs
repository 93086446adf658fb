//! Maps the core's `ErrorKind` to the Ruby exception classes declared in
//! lib/candle/errors.rb. The classes are looked up once and kept GC-safe.

use magnus::value::Lazy;
use magnus::{prelude::*, ExceptionClass, RModule, Ruby};

use crate::error::{Error as CoreError, ErrorKind};

fn lookup(ruby: &Ruby, name: &str) -> ExceptionClass {
    let candle: RModule = ruby
        .class_object()
        .const_get("Candle")
        .expect("Candle must be defined before the extension loads (require \"candle\")");
    candle
        .const_get(name)
        .unwrap_or_else(|_| panic!("Candle::{name} missing: lib/candle/errors.rb must load first"))
}

macro_rules! classes {
    ($($static:ident => $name:literal),* $(,)?) => {
        $(static $static: Lazy<ExceptionClass> = Lazy::new(|ruby| lookup(ruby, $name));)*
    };
}

classes! {
    ERROR => "Error",
    HUB_ERROR => "HubError",
    REPOSITORY_NOT_FOUND => "RepositoryNotFoundError",
    REVISION_NOT_FOUND => "RevisionNotFoundError",
    ENTRY_NOT_FOUND => "EntryNotFoundError",
    AUTHENTICATION => "AuthenticationError",
    RATE_LIMITED => "RateLimitedError",
    OFFLINE => "OfflineError",
    DOWNLOAD => "DownloadError",
    INTEGRITY => "IntegrityError",
    MODEL_LOAD => "ModelLoadError",
    UNSUPPORTED_MODEL => "UnsupportedModelError",
    INVALID_MODEL_FILE => "InvalidModelFileError",
    TOKENIZER => "TokenizerError",
    GENERATION => "GenerationError",
    DEVICE => "DeviceError",
    INTERRUPTED => "Interrupted",
}

pub fn class_for(ruby: &Ruby, kind: ErrorKind) -> ExceptionClass {
    let lazy = match kind {
        ErrorKind::Argument => return ruby.exception_arg_error(),
        ErrorKind::Generic => &ERROR,
        ErrorKind::Hub => &HUB_ERROR,
        ErrorKind::RepositoryNotFound => &REPOSITORY_NOT_FOUND,
        ErrorKind::RevisionNotFound => &REVISION_NOT_FOUND,
        ErrorKind::EntryNotFound => &ENTRY_NOT_FOUND,
        ErrorKind::Authentication => &AUTHENTICATION,
        ErrorKind::RateLimited => &RATE_LIMITED,
        ErrorKind::Offline => &OFFLINE,
        ErrorKind::Download => &DOWNLOAD,
        ErrorKind::Integrity => &INTEGRITY,
        ErrorKind::ModelLoad => &MODEL_LOAD,
        ErrorKind::UnsupportedModel => &UNSUPPORTED_MODEL,
        ErrorKind::InvalidModelFile => &INVALID_MODEL_FILE,
        ErrorKind::Tokenizer => &TOKENIZER,
        ErrorKind::Generation => &GENERATION,
        ErrorKind::Device => &DEVICE,
        ErrorKind::Interrupted => &INTERRUPTED,
    };
    ruby.get_inner(lazy)
}

pub fn to_ruby(e: CoreError) -> magnus::Error {
    let ruby = Ruby::get().expect("errors are converted on a Ruby thread");
    magnus::Error::new(class_for(&ruby, e.kind), e.message)
}

/// Every ErrorKind, for the test that checks each maps to a defined class.
pub const ALL_KINDS: &[ErrorKind] = &[
    ErrorKind::Generic,
    ErrorKind::Argument,
    ErrorKind::Hub,
    ErrorKind::RepositoryNotFound,
    ErrorKind::RevisionNotFound,
    ErrorKind::EntryNotFound,
    ErrorKind::Authentication,
    ErrorKind::RateLimited,
    ErrorKind::Offline,
    ErrorKind::Download,
    ErrorKind::Integrity,
    ErrorKind::ModelLoad,
    ErrorKind::UnsupportedModel,
    ErrorKind::InvalidModelFile,
    ErrorKind::Tokenizer,
    ErrorKind::Generation,
    ErrorKind::Device,
    ErrorKind::Interrupted,
];
