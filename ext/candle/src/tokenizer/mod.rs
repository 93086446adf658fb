//! Tokenizers: one `Tokenizer` type over HuggingFace `tokenizers`, built from
//! whatever a repo carries (tokenizer.json, tokenizer.model, vocab.txt or a
//! GGUF's own vocabulary), with its special tokens and chat templates.
//! Free of Ruby; the bindings add the GVL handling and the Ruby classes.
//!
//! - `load`: choosing and reading the files (through `hub::ModelRepo`)
//! - `gguf_vocab`: a tokenizer from GGUF `tokenizer.ggml.*` metadata
//! - `sentencepiece`: a tokenizer from a SentencePiece `tokenizer.model`
//! - `chat_template`: Jinja chat templates rendered as transformers does
//! - `decode_stream`: incremental decoding that never splits a character

pub mod chat_template;
pub mod decode_stream;
pub mod gguf_vocab;
pub mod load;
pub mod sentencepiece;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use tokenizers::{
    Encoding, PaddingDirection, PaddingParams, PaddingStrategy, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

use crate::err;
use crate::error::{Error, Result};

pub use chat_template::{ChatTemplates, RenderOptions};
pub use decode_stream::DecodeStream;
pub use load::{from_gguf, from_repo, from_sentencepiece, from_tokenizer_json, from_vocab, LoadOptions};

pub type HfTokenizer = tokenizers::Tokenizer;

/// Names of the special tokens, as transformers' `special_tokens_map` has them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    pub bos: Option<String>,
    pub eos: Option<String>,
    pub unk: Option<String>,
    pub sep: Option<String>,
    pub pad: Option<String>,
    pub cls: Option<String>,
    pub mask: Option<String>,
    pub additional: Vec<String>,
    /// Named extras (transformers 5's `extra_special_tokens` dict, e.g.
    /// `image_token`); templates see them as variables too.
    pub extra: Vec<(String, String)>,
}

impl SpecialTokens {
    /// `(name, token)` pairs in transformers' order, e.g. `("bos_token", "<s>")`.
    pub fn named(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        for (name, v) in [
            ("bos_token", &self.bos),
            ("eos_token", &self.eos),
            ("unk_token", &self.unk),
            ("sep_token", &self.sep),
            ("pad_token", &self.pad),
            ("cls_token", &self.cls),
            ("mask_token", &self.mask),
        ] {
            if let Some(t) = v {
                out.push((name, t.as_str()));
            }
        }
        out
    }

    /// `named()` plus the named extras (template variables).
    pub fn variables(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self.named();
        out.extend(self.extra.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        out
    }

    /// Fills what is still unset from `other`.
    pub fn fill_from(&mut self, other: &SpecialTokens) {
        for (mine, theirs) in [
            (&mut self.bos, &other.bos),
            (&mut self.eos, &other.eos),
            (&mut self.unk, &other.unk),
            (&mut self.sep, &other.sep),
            (&mut self.pad, &other.pad),
            (&mut self.cls, &other.cls),
            (&mut self.mask, &other.mask),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        if self.additional.is_empty() {
            self.additional.clone_from(&other.additional);
        }
        if self.extra.is_empty() {
            self.extra.clone_from(&other.extra);
        }
    }
}

/// A loaded tokenizer: the pipeline, its special tokens, its chat templates,
/// and where it came from.
#[derive(Clone)]
pub struct Tokenizer {
    pub hf: HfTokenizer,
    pub specials: SpecialTokens,
    pub chat_templates: ChatTemplates,
    /// Every id that ends generation (eos, eot, eom ...); may be empty.
    pub eos_token_ids: Vec<u32>,
    /// "tokenizer.json from org/name@abc1234" and the like.
    pub source: String,
}

fn tk_err(what: &str, e: impl std::fmt::Display) -> Error {
    err!(Tokenizer, "{}: {}", what, e)
}

/// Padding options (`None` length: pad to the longest in the batch).
#[derive(Clone, Debug)]
pub struct Padding {
    pub length: Option<usize>,
    pub left: bool,
    pub pad_id: Option<u32>,
    pub pad_token: Option<String>,
    pub pad_type_id: u32,
    pub pad_to_multiple_of: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Truncation {
    pub max_length: usize,
    /// "longest_first", "only_first" or "only_second".
    pub strategy: String,
    pub left: bool,
    pub stride: usize,
}

impl Tokenizer {
    pub fn new(hf: HfTokenizer, specials: SpecialTokens, chat_templates: ChatTemplates, source: String) -> Self {
        let mut t = Tokenizer { hf, specials, chat_templates, eos_token_ids: Vec::new(), source };
        if let Some(id) = t.specials.eos.as_deref().and_then(|e| t.hf.token_to_id(e)) {
            t.eos_token_ids.push(id);
        }
        t
    }

    /// Character offsets (not bytes): `text[a...b]` in Ruby is the token's text.
    pub fn encode(&self, text: &str, pair: Option<&str>, add_special_tokens: bool) -> Result<Encoding> {
        let r = match pair {
            Some(p) => self.hf.encode_char_offsets((text, p), add_special_tokens),
            None => self.hf.encode_char_offsets(text, add_special_tokens),
        };
        r.map_err(|e| tk_err("cannot encode", e))
    }

    /// Parallel across cores (tokenizers' rayon pool); padding applies to the batch.
    pub fn encode_batch(&self, texts: Vec<String>, pairs: Option<Vec<String>>, add_special_tokens: bool) -> Result<Vec<Encoding>> {
        let r = match pairs {
            Some(pairs) => {
                if pairs.len() != texts.len() {
                    return Err(err!(Argument, "got {} texts but {} pairs", texts.len(), pairs.len()));
                }
                let inputs: Vec<(String, String)> = texts.into_iter().zip(pairs).collect();
                self.hf.encode_batch_char_offsets(inputs, add_special_tokens)
            }
            None => self.hf.encode_batch_char_offsets(texts, add_special_tokens),
        };
        r.map_err(|e| tk_err("cannot encode batch", e))
    }

    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.check_ids(ids)?;
        self.hf.decode(ids, skip_special_tokens).map_err(|e| tk_err("cannot decode", e))
    }

    pub fn decode_batch(&self, seqs: &[Vec<u32>], skip_special_tokens: bool) -> Result<Vec<String>> {
        for s in seqs {
            self.check_ids(s)?;
        }
        let refs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
        self.hf.decode_batch(&refs, skip_special_tokens).map_err(|e| tk_err("cannot decode batch", e))
    }

    /// Ids outside the vocabulary are an argument error, not silently dropped.
    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        let size = self.vocab_size() as u32;
        if let Some(bad) = ids.iter().find(|&&id| id >= size && self.hf.id_to_token(id).is_none()) {
            return Err(err!(Argument, "token id {} is out of range (vocabulary size {})", bad, size));
        }
        Ok(())
    }

    pub fn vocab_size(&self) -> usize {
        self.hf.get_vocab_size(true)
    }

    pub fn vocab(&self) -> BTreeMap<String, u32> {
        self.hf.get_vocab(true).into_iter().collect()
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.hf.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.hf.id_to_token(id)
    }

    /// All special added tokens (content, id), sorted by id.
    pub fn special_added_tokens(&self) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = self
            .hf
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, t)| t.special)
            .map(|(id, t)| (t.content, id))
            .collect();
        v.sort_by_key(|(_, id)| *id);
        v
    }

    pub fn set_padding(&mut self, p: Option<Padding>) -> Result<()> {
        let Some(p) = p else {
            self.hf.with_padding(None);
            return Ok(());
        };
        let (pad_id, pad_token) = match (p.pad_id, p.pad_token) {
            (Some(id), Some(tok)) => (id, tok),
            (Some(id), None) => {
                let tok = self.hf.id_to_token(id).ok_or_else(|| err!(Argument, "pad_id {} is not in the vocabulary", id))?;
                (id, tok)
            }
            (None, Some(tok)) => {
                let id = self.hf.token_to_id(&tok).ok_or_else(|| err!(Argument, "pad_token {:?} is not in the vocabulary", tok))?;
                (id, tok)
            }
            (None, None) => {
                let tok = self.specials.pad.clone().or_else(|| {
                    self.hf.get_padding().map(|p| p.pad_token.clone())
                });
                match tok.and_then(|t| self.hf.token_to_id(&t).map(|id| (id, t))) {
                    Some(x) => x,
                    None => {
                        return Err(err!(
                            Argument,
                            "this tokenizer has no pad token; pass pad_id: or pad_token:"
                        ))
                    }
                }
            }
        };
        if p.length == Some(0) {
            return Err(err!(Argument, "padding length must be positive"));
        }
        self.hf.with_padding(Some(PaddingParams {
            strategy: match p.length {
                Some(n) => PaddingStrategy::Fixed(n),
                None => PaddingStrategy::BatchLongest,
            },
            direction: if p.left { PaddingDirection::Left } else { PaddingDirection::Right },
            pad_to_multiple_of: p.pad_to_multiple_of,
            pad_id,
            pad_type_id: p.pad_type_id,
            pad_token,
        }));
        Ok(())
    }

    pub fn set_truncation(&mut self, t: Option<Truncation>) -> Result<()> {
        let Some(t) = t else {
            self.hf.with_truncation(None).map_err(|e| tk_err("cannot turn truncation off", e))?;
            return Ok(());
        };
        if t.max_length == 0 {
            return Err(err!(Argument, "max_length must be positive"));
        }
        let strategy = match t.strategy.as_str() {
            "longest_first" => TruncationStrategy::LongestFirst,
            "only_first" => TruncationStrategy::OnlyFirst,
            "only_second" => TruncationStrategy::OnlySecond,
            s => return Err(err!(Argument, "unknown truncation strategy {:?}: expected longest_first, only_first or only_second", s)),
        };
        if t.stride >= t.max_length {
            return Err(err!(Argument, "stride ({}) must be smaller than max_length ({})", t.stride, t.max_length));
        }
        self.hf
            .with_truncation(Some(TruncationParams {
                max_length: t.max_length,
                strategy,
                stride: t.stride,
                direction: if t.left { TruncationDirection::Left } else { TruncationDirection::Right },
            }))
            .map_err(|e| err!(Argument, "invalid truncation: {}", e))?;
        Ok(())
    }

    pub fn padding(&self) -> Option<&PaddingParams> {
        self.hf.get_padding()
    }

    pub fn truncation(&self) -> Option<&TruncationParams> {
        self.hf.get_truncation()
    }

    /// Renders the chat template (see `chat_template::RenderOptions`).
    pub fn apply_chat_template(&self, messages: &serde_json::Value, opts: &RenderOptions) -> Result<String> {
        self.chat_templates.render(messages, opts, &self.specials)
    }
}
