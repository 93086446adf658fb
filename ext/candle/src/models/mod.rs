//! Models: which architecture a file holds (from its metadata, never from the
//! repo id) and the loaded networks.
//!
//! - `decoder`: causal LMs behind one type (GGUF or safetensors)
//! - `safetensors`: Hugging Face checkpoints (config.json + safetensors) for
//!   llama, mistral, qwen2, qwen3, gemma3 and phi3
//! - `encoder`: BERT-family encoders and their heads; `embedding`,
//!   `reranker` and `ner` are the capabilities built on them

pub mod decoder;
pub mod embedding;
pub mod encoder;
pub mod gguf_decoder;
pub mod ner;
pub mod reranker;
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

/// An encoder from a repo for `task`: config.json, the resolver's
/// safetensors (single or sharded), the repo's tokenizer, and what its
/// sentence-transformers files say (pooling, input length, prompts).
pub fn open_encoder(
    repo: &mut ModelRepo,
    task: encoder::Task,
    dtype: Option<DType>,
    device: &Device,
    progress: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<(encoder::Encoder, crate::tokenizer::Tokenizer, embedding::SentenceTransformers)> {
    let files = match repo.pick_weights(progress, cancel)? {
        Some(WeightFiles::Safetensors(files)) => files,
        Some(WeightFiles::Gguf(f)) => {
            return Err(err!(UnsupportedModel, "{} holds {f}: encoders load safetensors checkpoints, not GGUF", repo.describe()))
        }
        None => {
            return Err(err!(
                UnsupportedModel,
                "{} has no model.safetensors or model.safetensors.index.json; it has: {}",
                repo.describe(),
                summarize(repo.files())
            ))
        }
    };
    let config = repo.get("config.json", progress, cancel)?;
    let mut paths = Vec::with_capacity(files.len());
    for f in &files {
        paths.push(repo.get(f, progress, cancel)?);
    }
    let enc = encoder::Encoder::load(&config, &paths, task, dtype, device)?;
    let tokenizer = crate::tokenizer::from_repo(repo, &Default::default(), progress, cancel)?;
    let st = if task == encoder::Task::Embedding { sentence_transformers(repo, progress, cancel)? } else { Default::default() };
    Ok((enc, tokenizer, st))
}

/// The parts of a sentence-transformers repo that change the vectors.
fn sentence_transformers(repo: &ModelRepo, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<embedding::SentenceTransformers> {
    use crate::error::ErrorKind;
    const MAX: u64 = 1 << 20;
    let read = |name: &str| -> Result<Option<serde_json::Value>> {
        match repo.get_optional(name, progress, cancel)? {
            Some(p) => Ok(Some(crate::json_file::read_json(&p, MAX, ErrorKind::InvalidModelFile)?)),
            None => Ok(None),
        }
    };
    let mut st = embedding::SentenceTransformers::default();
    let mut pooling_dir = None;
    if let Some(modules) = read("modules.json")? {
        for m in modules.as_array().into_iter().flatten() {
            let kind = m.get("type").and_then(|v| v.as_str()).unwrap_or("");
            let path = m.get("path").and_then(|v| v.as_str()).unwrap_or("");
            match kind.rsplit('.').next().unwrap_or("") {
                "Pooling" => pooling_dir = Some(path.to_string()),
                "Transformer" | "Normalize" => {}
                other => {
                    return Err(err!(
                        UnsupportedModel,
                        "{}: sentence-transformers module {other:?} ({path}) is not supported (only Transformer, Pooling and Normalize)",
                        repo.describe()
                    ))
                }
            }
        }
    }
    if let Some(dir) = pooling_dir.filter(|d| !d.is_empty() && !d.contains("..")) {
        if let Some(c) = read(&format!("{dir}/config.json"))? {
            st.pooling = embedding::Pooling::from_sentence_transformers(&c);
        }
    }
    if let Some(c) = read("sentence_bert_config.json")? {
        st.max_seq_length = c.get("max_seq_length").and_then(|v| v.as_u64()).map(|v| v as usize);
    }
    if let Some(c) = read("config_sentence_transformers.json")? {
        if let Some(p) = c.get("prompts").and_then(|v| v.as_object()) {
            for (k, v) in p {
                if let Some(s) = v.as_str() {
                    st.prompts.insert(k.clone(), s.to_string());
                }
            }
        }
    }
    Ok(st)
}
