//! Models: which architecture a file holds (from its metadata, never from the
//! repo id) and the loaded networks.
//!
//! - `decoder`: causal LMs behind one type (GGUF or safetensors)
//! - `safetensors`: Hugging Face checkpoints (config.json + safetensors) for
//!   llama, mistral, qwen2, qwen3, gemma3 and phi3

pub mod decoder;
pub mod gguf_decoder;
pub mod safetensors;
#[cfg(test)]
mod tests;

pub use decoder::{CausalLm, SUPPORTED_GGUF};
pub use safetensors::SUPPORTED_CONFIG;

use candle_core::{DType, Device};

use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;
use crate::hub::repo::summarize;
use crate::hub::{ModelRepo, ProgressSink, WeightFiles};

/// A causal LM from a repo (Hub or local directory): the GGUF asked for,
/// else the resolver's choice of weights (`ModelRepo::pick_weights`), every
/// file at the repo's one pinned commit. Returns the model and what it was
/// loaded from (the GGUF's name, or the safetensors files).
pub fn open_causal_lm(
    repo: &mut ModelRepo,
    gguf: Option<String>,
    dtype: Option<DType>,
    device: &Device,
    threads: Option<usize>,
    progress: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<(CausalLm, WeightFiles)> {
    let weights = match gguf {
        Some(f) => WeightFiles::Gguf(f),
        None => repo.pick_weights(progress, cancel)?.ok_or_else(|| {
            err!(
                UnsupportedModel,
                "{} has no .gguf, model.safetensors or model.safetensors.index.json; it has: {}",
                repo.describe(),
                summarize(repo.files())
            )
        })?,
    };
    let model = match &weights {
        WeightFiles::Gguf(f) => {
            if dtype.is_some() {
                return Err(err!(Argument, "dtype: applies to safetensors checkpoints; {f} keeps its own (quantized) types"));
            }
            CausalLm::open_gguf(&repo.get(f, progress, cancel)?, device, threads, cancel)?
        }
        WeightFiles::Safetensors(files) => {
            if threads.is_some() {
                return Err(err!(
                    Argument,
                    "threads: applies to GGUF models; safetensors checkpoints run on candle's thread pool (CANDLE_NUM_THREADS)"
                ));
            }
            let config = repo.get("config.json", progress, cancel)?;
            let mut paths = Vec::with_capacity(files.len());
            for f in files {
                paths.push(repo.get(f, progress, cancel)?);
            }
            let mut m = CausalLm::from_safetensors(&config, &paths, dtype, device, cancel)?;
            // generation_config.json's eos_token_id lists every id the model
            // ends a turn with (Llama 3: <|eot_id|> and <|end_of_text|>).
            if let Some(p) = repo.get_optional("generation_config.json", progress, cancel)? {
                if let Ok(v) = safetensors::read_config(&p) {
                    for id in safetensors::eos_ids(&v) {
                        if !m.eos_token_ids.contains(&id) {
                            m.eos_token_ids.push(id);
                        }
                    }
                }
            }
            m
        }
    };
    Ok((model, weights))
}
