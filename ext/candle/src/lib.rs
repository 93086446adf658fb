//! Rust core of the candle Ruby gem.
//!
//! Core modules (`hub`, `tokenizer`, `gguf`, `device`, `error`, `cancel`, ...) know nothing of Ruby and
//! are covered by `cargo test`; `bindings` is the thin magnus layer on top.

pub mod cancel;
pub mod device;
pub mod error;
pub mod generation;
pub mod gguf;
pub mod hub;
pub mod json_file;
pub mod kernels;
pub mod models;
pub mod tokenizer;

mod bindings;

#[magnus::init]
fn init(ruby: &magnus::Ruby) -> Result<(), magnus::Error> {
    bindings::init(ruby)
}
