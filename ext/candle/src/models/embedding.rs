//! Sentence embeddings: tokenize, batch by length, run the encoder, pool,
//! normalize. Pooling and the input length come from the repo's
//! sentence-transformers files (`modules.json` → the Pooling module's
//! `config.json`, `sentence_bert_config.json`) when it has them, else mean
//! pooling and the model's own limit — so a sentence-transformers model
//! gives sentence-transformers' vectors.
//!
//! Each row of a batch is computed independently (pads are masked out of
//! attention and pooling), so a text's embedding does not depend on what it
//! is batched with beyond float rounding.

use std::collections::BTreeMap;

use serde_json::Value;

use super::encoder::{Batch, Encoder, Seq};
use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;
use crate::tokenizer::Tokenizer;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Average of the real tokens' hidden states.
    Mean,
    /// The first token's ([CLS]).
    Cls,
    /// Per-feature maximum over the real tokens.
    Max,
    /// The last real token's (decoder embedders).
    LastToken,
}

impl Pooling {
    pub fn parse(s: &str) -> Result<Pooling> {
        Ok(match s {
            "mean" => Pooling::Mean,
            "cls" => Pooling::Cls,
            "max" => Pooling::Max,
            "last_token" | "lasttoken" => Pooling::LastToken,
            _ => return Err(err!(Argument, "unknown pooling {s:?}: expected mean, cls, max or last_token")),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Cls => "cls",
            Pooling::Max => "max",
            Pooling::LastToken => "last_token",
        }
    }

    /// From a sentence-transformers Pooling `config.json`.
    pub fn from_sentence_transformers(c: &Value) -> Option<Pooling> {
        let on = |k: &str| c.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        if on("pooling_mode_lasttoken") {
            Some(Pooling::LastToken)
        } else if on("pooling_mode_cls_token") {
            Some(Pooling::Cls)
        } else if on("pooling_mode_max_tokens") {
            Some(Pooling::Max)
        } else if on("pooling_mode_mean_tokens") {
            Some(Pooling::Mean)
        } else {
            c.get("pooling_mode").and_then(|v| v.as_str()).and_then(|s| Pooling::parse(s).ok())
        }
    }
}

/// What a repo's sentence-transformers files say.
#[derive(Clone, Debug, Default)]
pub struct SentenceTransformers {
    pub pooling: Option<Pooling>,
    pub max_seq_length: Option<usize>,
    /// `prompts` from config_sentence_transformers.json (name → prefix).
    pub prompts: BTreeMap<String, String>,
}

pub struct EmbeddingModel {
    pub encoder: Encoder,
    /// Truncates to `max_length`; never pads (batches are padded here).
    pub tokenizer: Tokenizer,
    pub pooling: Pooling,
    pub max_length: usize,
    pub prompts: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct EmbedOptions {
    pub batch_size: usize,
    pub pooling: Option<Pooling>,
    pub normalize: bool,
    /// Keep the first n features (Matryoshka), then normalize.
    pub dimensions: Option<usize>,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions { batch_size: 32, pooling: None, normalize: true, dimensions: None }
    }
}

/// Turns a tokenizer into one that truncates to `max_length` and never pads.
pub fn prepare_tokenizer(mut t: Tokenizer, max_length: usize) -> Result<Tokenizer> {
    t.set_padding(None)?;
    t.set_truncation(Some(crate::tokenizer::Truncation { max_length, strategy: "longest_first".into(), left: false, stride: 0 }))?;
    Ok(t)
}

/// Texts tokenized per call of the (parallel, uninterruptible) tokenizer.
const ENCODE_CHUNK: usize = 512;

/// Tokenizes `texts` (or pairs) into model inputs, in chunks so that an
/// interrupt is seen between them.
pub fn encode(t: &Tokenizer, texts: Vec<String>, pairs: Option<Vec<String>>, cancel: &CancelToken) -> Result<Vec<Seq>> {
    let mut out = Vec::with_capacity(texts.len());
    let mut pairs = pairs.map(|p| p.into_iter());
    let mut texts = texts.into_iter().peekable();
    while texts.peek().is_some() {
        cancel.check()?;
        let chunk: Vec<String> = texts.by_ref().take(ENCODE_CHUNK).collect();
        let pair_chunk = pairs.as_mut().map(|p| p.by_ref().take(chunk.len()).collect());
        let encs = t.encode_batch(chunk, pair_chunk, true)?;
        out.extend(encs.into_iter().map(|e| Seq { ids: e.get_ids().to_vec(), type_ids: e.get_type_ids().to_vec() }));
    }
    Ok(out)
}

/// Indices of `seqs` in descending length, cut into batches of `size`: the
/// least padding for the work.
pub fn length_batches(seqs: &[Seq], size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(seqs[i].ids.len()));
    order.chunks(size.max(1)).map(|c| c.to_vec()).collect()
}

impl EmbeddingModel {
    pub fn new(encoder: Encoder, tokenizer: Tokenizer, st: SentenceTransformers) -> Result<EmbeddingModel> {
        let max_length = st.max_seq_length.unwrap_or(encoder.max_tokens).min(encoder.max_tokens);
        let pooling = st.pooling.unwrap_or(if encoder.pad_left { Pooling::LastToken } else { Pooling::Mean });
        let tokenizer = prepare_tokenizer(tokenizer, max_length)?;
        Ok(EmbeddingModel { encoder, tokenizer, pooling, max_length, prompts: st.prompts })
    }

    pub fn dimensions(&self) -> usize {
        self.encoder.hidden_size
    }

    /// One vector per text, in order.
    pub fn embed(&self, texts: Vec<String>, opts: &EmbedOptions, cancel: &CancelToken) -> Result<Vec<Vec<f32>>> {
        if opts.batch_size == 0 {
            return Err(err!(Argument, "batch_size must be positive"));
        }
        let dims = self.dimensions();
        if let Some(d) = opts.dimensions {
            if d == 0 || d > dims {
                return Err(err!(Argument, "dimensions must be between 1 and {dims}, got {d}"));
            }
        }
        let pooling = opts.pooling.unwrap_or(self.pooling);
        let seqs = encode(&self.tokenizer, texts, None, cancel)?;
        let mut out = vec![Vec::new(); seqs.len()];
        for rows in length_batches(&seqs, opts.batch_size) {
            cancel.check()?;
            let batch_seqs: Vec<&Seq> = rows.iter().map(|&i| &seqs[i]).collect();
            let batch = Batch::pad(&batch_seqs, self.encoder.pad_id, self.encoder.pad_left);
            let hidden = self.encoder.hidden_host(&batch, cancel)?;
            for (r, &i) in rows.iter().enumerate() {
                let mut v = pool(&hidden, &batch, r, dims, pooling);
                if let Some(d) = opts.dimensions {
                    v.truncate(d);
                }
                if opts.normalize {
                    normalize(&mut v);
                }
                out[i] = v;
            }
        }
        Ok(out)
    }
}

/// Pools row `r` of `hidden` (`[rows][len][dims]`).
pub fn pool(hidden: &[f32], batch: &Batch, r: usize, dims: usize, pooling: Pooling) -> Vec<f32> {
    let t = batch.len;
    let row = &hidden[r * t * dims..(r + 1) * t * dims];
    let mask = &batch.mask[r * t..(r + 1) * t];
    let real = || (0..t).filter(move |&j| mask[j] != 0);
    match pooling {
        Pooling::Mean => {
            let mut acc = vec![0f64; dims];
            let mut n = 0usize;
            for j in real() {
                n += 1;
                for (a, &x) in acc.iter_mut().zip(&row[j * dims..(j + 1) * dims]) {
                    *a += x as f64;
                }
            }
            let n = n.max(1) as f64;
            acc.into_iter().map(|a| (a / n) as f32).collect()
        }
        Pooling::Max => {
            let mut acc = vec![f32::NEG_INFINITY; dims];
            for j in real() {
                for (a, &x) in acc.iter_mut().zip(&row[j * dims..(j + 1) * dims]) {
                    *a = a.max(x);
                }
            }
            acc
        }
        Pooling::Cls => {
            let j = real().next().unwrap_or(0);
            row[j * dims..(j + 1) * dims].to_vec()
        }
        Pooling::LastToken => {
            let j = real().last().unwrap_or(t.saturating_sub(1));
            row[j * dims..(j + 1) * dims].to_vec()
        }
    }
}

/// L2-normalizes in place (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();
    if n > 0.0 {
        for x in v.iter_mut() {
            *x = (*x as f64 / n) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_respects_the_mask() {
        // 2 rows, len 3, dims 2; row 1 has one pad.
        let hidden = [1., 2., 3., 4., 5., 6., /* row 1 */ 1., -1., 3., 5., 100., 100.];
        let b = Batch { ids: vec![0; 6], type_ids: vec![0; 6], mask: vec![1, 1, 1, 1, 1, 0], rows: 2, len: 3 };
        assert_eq!(pool(&hidden, &b, 0, 2, Pooling::Mean), vec![3., 4.]);
        assert_eq!(pool(&hidden, &b, 1, 2, Pooling::Mean), vec![2., 2.]);
        assert_eq!(pool(&hidden, &b, 1, 2, Pooling::Max), vec![3., 5.]);
        assert_eq!(pool(&hidden, &b, 1, 2, Pooling::Cls), vec![1., -1.]);
        assert_eq!(pool(&hidden, &b, 1, 2, Pooling::LastToken), vec![3., 5.]);
        // Left padding: the first real token is CLS.
        let b = Batch { mask: vec![1, 1, 1, 0, 1, 1], ..b };
        assert_eq!(pool(&hidden, &b, 1, 2, Pooling::Cls), vec![3., 5.]);
        assert_eq!(pool(&hidden, &b, 1, 2, Pooling::LastToken), vec![100., 100.]);
    }

    #[test]
    fn sentence_transformers_pooling_config() {
        let c = serde_json::json!({"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": false});
        assert_eq!(Pooling::from_sentence_transformers(&c), Some(Pooling::Mean));
        let c = serde_json::json!({"pooling_mode_lasttoken": true});
        assert_eq!(Pooling::from_sentence_transformers(&c), Some(Pooling::LastToken));
        assert_eq!(Pooling::from_sentence_transformers(&serde_json::json!({})), None);
    }

    #[test]
    fn batches_sort_by_length() {
        let s = |n| Seq { ids: vec![1; n], type_ids: vec![] };
        let seqs = vec![s(2), s(5), s(1), s(4)];
        assert_eq!(length_batches(&seqs, 3), vec![vec![1, 3, 0], vec![2]]);
    }
}
