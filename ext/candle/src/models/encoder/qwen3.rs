//! Decoder embedders (Qwen3-Embedding): candle-transformers' Qwen3 base
//! model, run causally over each text alone, its final-norm hidden states
//! read at every position (pooled by the last token). Rows are left-padded
//! like the model's tokenizer does, and each row runs without padding, so
//! batching never changes a vector. config.json is normalized as for the
//! causal LMs (transformers 5's `rope_parameters`).

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_transformers::models::qwen3;
use serde_json::Value;

use super::nn::one_line;
use super::weights::Weights;
use super::Batch;
use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;
use crate::models::safetensors::{normalize, parse};

pub struct Qwen3Embedder {
    /// Pristine (empty KV cache); each row runs on a cheap clone.
    model: qwen3::Model,
    pub hidden: usize,
    pub max_positions: usize,
    pub vocab_size: usize,
}

impl Qwen3Embedder {
    pub fn load(config_path: &Path, raw: &Value, ws: &Weights) -> Result<Qwen3Embedder> {
        let cfg: qwen3::Config = parse(config_path, normalize(config_path, "qwen3", raw)?)?;
        // Qwen3Model checkpoints name tensors without the "model." prefix
        // candle's loader asks for; causal-LM checkpoints have it.
        let strip = !ws.has("model.embed_tokens.weight");
        if !ws.has("model.embed_tokens.weight") && !ws.has("embed_tokens.weight") {
            return Err(err!(InvalidModelFile, "{}: the weights have no embed_tokens.weight", config_path.display()));
        }
        let vb = ws.varbuilder().rename_f(move |n: &str| if strip { n.strip_prefix("model.").unwrap_or(n).to_string() } else { n.to_string() });
        let model = qwen3::Model::new(&cfg, vb).map_err(|e| err!(InvalidModelFile, "{}: {}", config_path.display(), one_line(&e)))?;
        Ok(Qwen3Embedder { model, hidden: cfg.hidden_size, max_positions: cfg.max_position_embeddings, vocab_size: cfg.vocab_size })
    }

    /// Hidden states `[rows * len, hidden]`; pad positions hold zeros.
    pub fn forward(&self, batch: &Batch, device: &Device, cancel: &CancelToken) -> Result<Tensor> {
        let fail = |e: candle_core::Error| err!(Generic, "encoder forward failed: {}", one_line(&e));
        if let Some(&bad) = batch.ids.iter().find(|&&id| id as usize >= self.vocab_size) {
            return Err(err!(Argument, "token id {bad} is outside the model's vocabulary ({})", self.vocab_size));
        }
        let (b, t) = (batch.rows, batch.len);
        let mut rows = Vec::with_capacity(b);
        for r in 0..b {
            cancel.check()?;
            let ids = &batch.ids[r * t..(r + 1) * t];
            let mask = &batch.mask[r * t..(r + 1) * t];
            let real: Vec<u32> = ids.iter().zip(mask).filter(|(_, &m)| m != 0).map(|(&i, _)| i).collect();
            let first = mask.iter().position(|&m| m != 0).unwrap_or(t);
            let row = (|| {
                let mut m = self.model.clone();
                let x = Tensor::from_vec(real.clone(), (1, real.len()), device)?;
                let h = m.forward(&x, 0)?.squeeze(0)?;
                let dtype = h.dtype();
                let before = Tensor::zeros((first, self.hidden), dtype, device)?;
                let after = Tensor::zeros((t - first - real.len(), self.hidden), dtype, device)?;
                Tensor::cat(&[&before, &h, &after], 0)
            })()
            .map_err(fail)?;
            rows.push(row);
        }
        Tensor::cat(&rows, 0).map_err(fail)
    }
}
