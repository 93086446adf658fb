//! The BERT family: BERT (MiniLM, BGE, E5, ...), RoBERTa / XLM-RoBERTa /
//! CamemBERT and DistilBERT. One post-LayerNorm transformer; the families
//! differ only in tensor names, token types and position ids:
//!
//! - BERT: positions 0..t, token types from the tokenizer.
//! - RoBERTa and XLM-R: positions count from `pad_token_id + 1` over
//!   non-pad tokens, pads sit at `pad_token_id` (transformers'
//!   `create_position_ids_from_input_ids`); one token type.
//! - DistilBERT: `transformer.layer.N.{attention.{q,k,v,out}_lin,
//!   sa_layer_norm, ffn.lin1/2, output_layer_norm}`, no token types.

use candle_core::{Result as CResult, Tensor};
use serde_json::Value;

use super::nn::{attention, padding_mask, Act, LayerNorm, Linear};
use super::weights::Weights;
use super::Batch;
use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    Bert,
    Roberta,
    DistilBert,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub family: Family,
    pub vocab_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f64,
    pub act: Act,
    pub pad_id: u32,
}

fn uint(c: &Value, keys: &[&str]) -> Option<usize> {
    keys.iter().find_map(|k| c.get(*k).and_then(|v| v.as_u64())).map(|v| v as usize)
}

impl Config {
    pub fn parse(family: Family, c: &Value, source: &str) -> Result<Config> {
        let need = |keys: &[&str]| uint(c, keys).ok_or_else(|| err!(InvalidModelFile, "{source}: config.json has no {}", keys[0]));
        let (hidden, layers, heads, intermediate, act_key) = match family {
            Family::DistilBert => (need(&["dim"])?, need(&["n_layers"])?, need(&["n_heads"])?, need(&["hidden_dim"])?, "activation"),
            _ => (
                need(&["hidden_size"])?,
                need(&["num_hidden_layers"])?,
                need(&["num_attention_heads"])?,
                need(&["intermediate_size"])?,
                "hidden_act",
            ),
        };
        let act_name = c.get(act_key).and_then(|v| v.as_str()).unwrap_or("gelu");
        let act = Act::parse(act_name).ok_or_else(|| err!(UnsupportedModel, "{source}: activation {act_name:?} is not supported"))?;
        if heads == 0 || hidden % heads != 0 {
            return Err(err!(InvalidModelFile, "{source}: hidden size {hidden} is not a multiple of {heads} heads"));
        }
        if let Some(p) = c.get("position_embedding_type").and_then(|v| v.as_str()) {
            if p != "absolute" {
                return Err(err!(UnsupportedModel, "{source}: position_embedding_type {p:?} is not supported (only \"absolute\")"));
            }
        }
        if family == Family::DistilBert && c.get("sinusoidal_pos_embds").and_then(|v| v.as_bool()) == Some(true) {
            // The sinusoids are stored in position_embeddings.weight all the same.
        }
        let pad_default = if family == Family::Roberta { 1 } else { 0 };
        Ok(Config {
            family,
            vocab_size: need(&["vocab_size"])?,
            hidden,
            layers,
            heads,
            intermediate,
            max_positions: need(&["max_position_embeddings"])?,
            type_vocab: if family == Family::DistilBert { 0 } else { uint(c, &["type_vocab_size"]).unwrap_or(2) },
            eps: c.get("layer_norm_eps").and_then(|v| v.as_f64()).unwrap_or(1e-12),
            act,
            pad_id: uint(c, &["pad_token_id"]).unwrap_or(pad_default) as u32,
        })
    }

    /// The longest input the position table allows.
    pub fn max_tokens(&self) -> usize {
        match self.family {
            Family::Roberta => self.max_positions.saturating_sub(self.pad_id as usize + 1),
            _ => self.max_positions,
        }
    }
}

struct Layer {
    qkv: Linear,
    out: Linear,
    ln1: LayerNorm,
    up: Linear,
    down: Linear,
    ln2: LayerNorm,
}

pub struct Bert {
    pub config: Config,
    word: Tensor,
    pos: Tensor,
    types: Option<Tensor>,
    ln: LayerNorm,
    layers: Vec<Layer>,
}

/// Backbone prefixes tried, in order, for each family.
pub fn prefixes(family: Family) -> &'static [&'static str] {
    match family {
        Family::Bert => &["", "bert.", "model."],
        Family::Roberta => &["", "roberta.", "model."],
        Family::DistilBert => &["", "distilbert.", "model."],
    }
}

impl Bert {
    pub fn load(config: Config, ws: &Weights) -> Result<Bert> {
        let c = &config;
        let (h, f) = (c.hidden, c.intermediate);
        let p = ws.prefix().to_string();
        let lin = |name: &str, i, o| Linear::load(ws, &format!("{p}{name}"), i, o, true);
        let ln = |name: &str| LayerNorm::load(ws, &format!("{p}{name}"), h, c.eps, true);
        let word = ws.backbone("embeddings.word_embeddings.weight", &[c.vocab_size, h])?;
        let pos = ws.backbone("embeddings.position_embeddings.weight", &[c.max_positions, h])?;
        let types = if c.type_vocab > 0 { Some(ws.backbone("embeddings.token_type_embeddings.weight", &[c.type_vocab, h])?) } else { None };
        let emb_ln = ln("embeddings.LayerNorm")?;
        let mut layers = Vec::with_capacity(c.layers);
        for i in 0..c.layers {
            let layer = if c.family == Family::DistilBert {
                let a = format!("transformer.layer.{i}");
                Layer {
                    qkv: Linear::concat(&[
                        lin(&format!("{a}.attention.q_lin"), h, h)?,
                        lin(&format!("{a}.attention.k_lin"), h, h)?,
                        lin(&format!("{a}.attention.v_lin"), h, h)?,
                    ])?,
                    out: lin(&format!("{a}.attention.out_lin"), h, h)?,
                    ln1: ln(&format!("{a}.sa_layer_norm"))?,
                    up: lin(&format!("{a}.ffn.lin1"), h, f)?,
                    down: lin(&format!("{a}.ffn.lin2"), f, h)?,
                    ln2: ln(&format!("{a}.output_layer_norm"))?,
                }
            } else {
                let a = format!("encoder.layer.{i}");
                Layer {
                    qkv: Linear::concat(&[
                        lin(&format!("{a}.attention.self.query"), h, h)?,
                        lin(&format!("{a}.attention.self.key"), h, h)?,
                        lin(&format!("{a}.attention.self.value"), h, h)?,
                    ])?,
                    out: lin(&format!("{a}.attention.output.dense"), h, h)?,
                    ln1: ln(&format!("{a}.attention.output.LayerNorm"))?,
                    up: lin(&format!("{a}.intermediate.dense"), h, f)?,
                    down: lin(&format!("{a}.output.dense"), f, h)?,
                    ln2: ln(&format!("{a}.output.LayerNorm"))?,
                }
            };
            layers.push(layer);
        }
        Ok(Bert { config, word, pos, types, ln: emb_ln, layers })
    }

    fn position_ids(&self, batch: &Batch) -> Vec<u32> {
        let (b, t) = (batch.rows, batch.len);
        let mut pos = Vec::with_capacity(b * t);
        for r in 0..b {
            let ids = &batch.ids[r * t..(r + 1) * t];
            match self.config.family {
                Family::Roberta => {
                    let pad = self.config.pad_id;
                    let mut n = 0;
                    for &id in ids {
                        if id == pad {
                            pos.push(pad);
                        } else {
                            n += 1;
                            pos.push(pad + n);
                        }
                    }
                }
                _ => pos.extend(0..t as u32),
            }
        }
        pos
    }

    /// Hidden states `[rows * len, hidden]` of a padded batch.
    pub fn forward(&self, batch: &Batch, cancel: &CancelToken) -> Result<Tensor> {
        let fail = |e: candle_core::Error| err!(Generic, "encoder forward failed: {}", super::nn::one_line(&e));
        let c = &self.config;
        let (b, t) = (batch.rows, batch.len);
        let dev = self.word.device();
        if let Some(&bad) = batch.ids.iter().find(|&&id| id as usize >= c.vocab_size) {
            return Err(err!(Argument, "token id {bad} is outside the model's vocabulary ({})", c.vocab_size));
        }
        let pos = self.position_ids(batch);
        if let Some(&p) = pos.iter().max() {
            if p as usize >= c.max_positions {
                return Err(err!(Argument, "input of {t} tokens is longer than the model's {} positions", c.max_tokens()));
            }
        }
        let x: CResult<Tensor> = (|| {
            let ids = Tensor::from_slice(&batch.ids, b * t, dev)?;
            let mut x = self.word.index_select(&ids, 0)?;
            x = (x + self.pos.index_select(&Tensor::from_vec(pos, b * t, dev)?, 0)?)?;
            if let Some(types) = &self.types {
                let tt: Vec<u32> = batch.type_ids.iter().map(|&v| v.min(c.type_vocab as u32 - 1)).collect();
                x = (x + types.index_select(&Tensor::from_vec(tt, b * t, dev)?, 0)?)?;
            }
            self.ln.forward(&x)
        })();
        let mut x = x.map_err(fail)?;
        let mask = padding_mask(&batch.mask, b, t, x.dtype(), dev).map_err(fail)?;
        for layer in &self.layers {
            cancel.check()?;
            x = (|| {
                let a = attention(&layer.qkv.forward(&x)?, b, t, c.heads, &mask)?;
                let h = layer.ln1.forward(&(layer.out.forward(&a)? + &x)?)?;
                let up = c.act.forward(&layer.up.forward(&h)?)?;
                layer.ln2.forward(&(layer.down.forward(&up)? + &h)?)
            })()
            .map_err(fail)?;
        }
        Ok(x)
    }
}
