//! Models: which architecture a file holds (from its metadata, never from the
//! repo id) and the loaded networks.
//!
//! - `decoder`: causal LMs from GGUF (llama, qwen2, qwen3, gemma3, phi3)

pub mod decoder;

pub use decoder::{CausalLm, SUPPORTED_GGUF};
