//! Causal LMs behind one type: GGUF files through the project's own decoder
//! (models::gguf_decoder: llama, also Mistral, SmolLM2, TinyLlama; qwen2,
//! qwen3, gemma3 and phi3), and safetensors checkpoints through
//! `models::safetensors`.
//!
//! The KV cache belongs to the model; `next_logits` is given the whole token
//! sequence of a generation and feeds only what the cache does not hold yet,
//! so a session that continues where the cache stands (the next token, or a
//! chat turn that extends the previous prompt) costs one step. A sequence
//! that diverges keeps the common prefix on the GGUF decoder (it cuts its
//! cache), and starts over from position 0 on candle-transformers' models
//! (they cannot).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama;

use crate::cancel::CancelToken;
use crate::err;
use crate::error::{Error, Result};
use crate::gguf::Metadata;
use crate::models::gguf_decoder::GgufDecoder;
use crate::models::safetensors::{self, FullModel};

/// `general.architecture` values this build can run, with what they cover.
pub const SUPPORTED_GGUF: &[(&str, &str)] = &[
    ("llama", "Llama 2/3, Mistral, SmolLM2, TinyLlama"),
    ("qwen2", "Qwen2, Qwen2.5"),
    ("qwen3", "Qwen3"),
    ("gemma3", "Gemma 3"),
    ("phi3", "Phi-3"),
];

/// candle-transformers' quantized llama precomputes RoPE for this many positions.
const LLAMA_MAX_POSITIONS: usize = quantized_llama::MAX_SEQ_LEN;

enum Weights {
    /// The project's own decoder (every supported family).
    Own(GgufDecoder),
    /// candle-transformers' quantized llama, for mixture-of-experts files.
    Llama(quantized_llama::ModelWeights),
    Full(FullModel),
}

/// A loaded causal LM plus the tokens its KV cache holds.
pub struct CausalLm {
    weights: Weights,
    pub architecture: String,
    /// Positions the model can attend to (prompt + generated).
    pub context_length: usize,
    pub device: Device,
    /// "GGUF" or the dtype safetensors weights were loaded in ("F32", "F16", "BF16").
    pub weights_format: String,
    /// EOS ids the model files declare beyond the tokenizer's (config.json).
    pub eos_token_ids: Vec<u32>,
    cached: Vec<u32>,
}

fn model_err(path: &Path, e: candle_core::Error) -> Error {
    err!(InvalidModelFile, "{}: {}", path.display(), e)
}

/// (block size in elements, bytes per block) of the GGML tensor types
/// candle can load.
fn ggml_block(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 36),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        30 => (1, 2),     // BF16
        _ => return None,
    })
}

/// Every tensor has a known type and fits in the file, checked with
/// overflow-safe arithmetic before candle allocates anything.
fn check_tensors(path: &Path, meta: &Metadata, file_len: u64) -> Result<()> {
    if meta.tensors.is_empty() {
        return Err(err!(InvalidModelFile, "{}: the GGUF has no tensors (a vocabulary-only file?)", path.display()));
    }
    for t in &meta.tensors {
        let (block, bytes) = ggml_block(t.ggml_type).ok_or_else(|| {
            err!(UnsupportedModel, "{}: tensor {} has GGML type {}, which this build cannot load", path.display(), t.name, t.ggml_type)
        })?;
        let elems = t.dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
        let size = elems.filter(|e| e % block == 0).and_then(|e| (e / block).checked_mul(bytes));
        let end = size.and_then(|s| meta.data_offset.checked_add(t.offset)?.checked_add(s));
        match end {
            Some(end) if end <= file_len => {}
            _ => {
                return Err(err!(
                    InvalidModelFile,
                    "{}: tensor {} (shape {:?}) does not fit in the file ({} bytes); the file is truncated or corrupt",
                    path.display(),
                    t.name,
                    t.dims,
                    file_len
                ))
            }
        }
    }
    Ok(())
}

impl CausalLm {
    /// Loads a GGUF (metadata already read and checked by `crate::gguf`).
    /// Reads a GGUF's metadata (bounded, checked) and loads it.
    pub fn open_gguf(path: &Path, device: &Device, threads: Option<usize>, cancel: &CancelToken) -> Result<CausalLm> {
        let meta = crate::gguf::read_metadata(path)?;
        CausalLm::from_gguf(path, &meta, device, threads, cancel)
    }

    /// `threads`: the model's own matmul thread pool size (None: the
    /// process-wide pool).
    pub fn from_gguf(path: &Path, meta: &Metadata, device: &Device, threads: Option<usize>, cancel: &CancelToken) -> Result<CausalLm> {
        let arch = meta
            .architecture()
            .ok_or_else(|| err!(InvalidModelFile, "{}: no general.architecture in the GGUF metadata", path.display()))?
            .to_string();
        if !SUPPORTED_GGUF.iter().any(|(a, _)| *a == arch) {
            return Err(err!(
                UnsupportedModel,
                "{}: architecture {:?} is not supported; supported GGUF architectures: {}",
                path.display(),
                arch,
                SUPPORTED_GGUF.iter().map(|(a, what)| format!("{a} ({what})")).collect::<Vec<_>>().join(", ")
            ));
        }
        let file = File::open(path).map_err(|e| err!(ModelLoad, "cannot open {}: {}", path.display(), e))?;
        let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
        check_tensors(path, meta, file_len)?;
        cancel.check()?;
        let mut reader = BufReader::new(file);
        let content = gguf_file::Content::read(&mut reader).map_err(|e| model_err(path, e))?;
        let declared = meta.get(&format!("{arch}.context_length")).and_then(|v| v.as_u64()).map_or(4096, |v| v as usize);
        let experts = meta.get(&format!("{arch}.expert_count")).and_then(|v| v.as_u64()).unwrap_or(0);
        let (weights, context_length) = if arch == "llama" && experts > 0 {
            // Mixtral-style mixture of experts: candle-transformers' model.
            (
                Weights::Llama(quantized_llama::ModelWeights::from_gguf(content, &mut reader, device).map_err(|e| model_err(path, e))?),
                declared.min(LLAMA_MAX_POSITIONS),
            )
        } else {
            let d = GgufDecoder::load(&arch, meta, &content, &mut reader, device, threads)
                .map_err(|e| err!(InvalidModelFile, "{}: {}", path.display(), e.message))?;
            (Weights::Own(d), declared)
        };
        Ok(CausalLm {
            weights,
            architecture: arch,
            context_length,
            device: device.clone(),
            weights_format: "GGUF".into(),
            eos_token_ids: Vec::new(),
            cached: Vec::new(),
        })
    }

    /// Loads a Hugging Face checkpoint: config.json and its safetensors
    /// files (memory-mapped), in `dtype` or the checkpoint's own.
    pub fn from_safetensors(
        config: &Path,
        weights: &[std::path::PathBuf],
        dtype: Option<candle_core::DType>,
        device: &Device,
        cancel: &CancelToken,
    ) -> Result<CausalLm> {
        cancel.check()?;
        let c = safetensors::load(config, weights, dtype, device)?;
        Ok(CausalLm {
            weights: Weights::Full(c.model),
            architecture: c.architecture,
            context_length: c.context_length,
            device: device.clone(),
            weights_format: format!("{:?}", c.dtype),
            eos_token_ids: c.eos_token_ids,
            cached: Vec::new(),
        })
    }

    /// Logits (F32, one per vocabulary entry) for the token after `tokens`,
    /// feeding the model only what its cache does not hold already; also
    /// returns how many tokens were fed.
    pub fn next_logits(&mut self, tokens: &[u32], cancel: &CancelToken) -> Result<(Vec<f32>, usize)> {
        if tokens.is_empty() {
            return Err(err!(Generation, "cannot generate from an empty prompt"));
        }
        if tokens.len() > self.context_length {
            return Err(err!(Generation, "{} tokens exceed the context length of {} tokens", tokens.len(), self.context_length));
        }
        cancel.check()?;
        // Keep what the cache holds of this sequence: all of it when the
        // sequence extends it, else (the own decoder can cut its cache) the
        // common prefix; at least one token is always fed.
        let common = self.cached.iter().zip(tokens).take_while(|(a, b)| a == b).count().min(tokens.len() - 1);
        let start = match &mut self.weights {
            Weights::Own(m) if common > 0 => {
                m.truncate_cache(common).map_err(|e| err!(Generation, "{}", e))?;
                common
            }
            _ if common == self.cached.len() => common,
            _ => 0,
        };
        // The cache is unknown until this forward succeeds.
        self.cached.clear();
        let input = Tensor::new(&tokens[start..], &self.device).and_then(|t| t.unsqueeze(0)).map_err(|e| err!(Generation, "{}", e))?;
        let logits = match &mut self.weights {
            Weights::Own(m) => m.forward(&input, start),
            Weights::Llama(m) => m.forward(&input, start),
            Weights::Full(m) => m.forward(&input, start),
        }
        .map_err(|e| err!(Generation, "forward pass failed: {}", e))?;
        // Every model returns the last position only: (1, vocab).
        let logits = logits
            .flatten_all()
            .and_then(|l| l.to_dtype(candle_core::DType::F32))
            .and_then(|l| l.to_vec1::<f32>())
            .map_err(|e| err!(Generation, "{}", e))?;
        self.cached = tokens.to_vec();
        Ok((logits, tokens.len() - start))
    }

    /// Forgets the KV cache (the next call starts at position 0).
    pub fn reset(&mut self) {
        self.cached.clear();
    }
}
