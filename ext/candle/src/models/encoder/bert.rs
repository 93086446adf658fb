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
use rayon::prelude::*;
use serde_json::Value;

use super::fast::{self, HostLinear, HostNorm};
use super::nn::{attention, padding_mask, Act, LayerNorm, Linear};
use super::weights::{Table, Weights};
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
    engine: Engine,
}

/// Which forward the model runs; each holds only its own weights.
enum Engine {
    /// CPU F32: the project's kernels (`fast`).
    Host(Host),
    /// candle ops: other devices and dtypes, or `CANDLE_ENCODER_CANDLE_OPS=1`.
    Candle(Tensors),
}

struct Tensors {
    word: Tensor,
    pos: Tensor,
    types: Option<Tensor>,
    ln: LayerNorm,
    layers: Vec<Layer>,
}

struct Host {
    word: Table,
    pos: Vec<f32>,
    types: Option<Vec<f32>>,
    ln: HostNorm,
    layers: Vec<HostLayer>,
}

struct HostLayer {
    qkv: HostLinear,
    out: HostLinear,
    ln1: HostNorm,
    up: HostLinear,
    down: HostLinear,
    ln2: HostNorm,
}

impl HostLayer {
    fn of(l: &Layer) -> Result<HostLayer> {
        Ok(HostLayer {
            qkv: HostLinear::of(&l.qkv)?,
            out: HostLinear::of(&l.out)?,
            ln1: HostNorm::of(&l.ln1)?,
            up: HostLinear::of(&l.up)?,
            down: HostLinear::of(&l.down)?,
            ln2: HostNorm::of(&l.ln2)?,
        })
    }
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
        let word_name = "embeddings.word_embeddings.weight";
        let pos = ws.backbone("embeddings.position_embeddings.weight", &[c.max_positions, h])?;
        let types = if c.type_vocab > 0 { Some(ws.backbone("embeddings.token_type_embeddings.weight", &[c.type_vocab, h])?) } else { None };
        let emb_ln = ln("embeddings.LayerNorm")?;
        let host = fast::host_path(ws);
        let mut layers = Vec::new();
        let mut host_layers = Vec::new();
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
            // The host path packs each layer as it is read and drops the
            // tensors, so load never holds two copies of the model.
            if host {
                host_layers.push(HostLayer::of(&layer)?);
            } else {
                layers.push(layer);
            }
        }
        let engine = if host {
            Engine::Host(Host {
                word: ws.table(&format!("{p}{word_name}"), &[c.vocab_size, h])?,
                pos: fast::host_vec(&pos)?,
                types: match &types {
                    Some(t) => Some(fast::host_vec(t)?),
                    None => None,
                },
                ln: HostNorm::of(&emb_ln)?,
                layers: host_layers,
            })
        } else {
            let word = ws.backbone(word_name, &[c.vocab_size, h])?;
            Engine::Candle(Tensors { word, pos, types, ln: emb_ln, layers })
        };
        Ok(Bert { config, engine })
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

    fn check(&self, batch: &Batch) -> Result<Vec<u32>> {
        let c = &self.config;
        if let Some(&bad) = batch.ids.iter().find(|&&id| id as usize >= c.vocab_size) {
            return Err(err!(Argument, "token id {bad} is outside the model's vocabulary ({})", c.vocab_size));
        }
        let pos = self.position_ids(batch);
        if let Some(&p) = pos.iter().max() {
            if p as usize >= c.max_positions {
                return Err(err!(Argument, "input of {} tokens is longer than the model's {} positions", batch.len, c.max_tokens()));
            }
        }
        Ok(pos)
    }

    /// Hidden states `[rows * len, hidden]` on the host (F32), where the
    /// model has the host path; pad positions hold zeros.
    pub fn forward_host(&self, batch: &Batch, cancel: &CancelToken) -> Result<Option<Vec<f32>>> {
        let Engine::Host(host) = &self.engine else { return Ok(None) };
        let pos = self.check(batch)?;
        let c = &self.config;
        let h = c.hidden;
        // Only real tokens go through the layers; pads come back as zeros.
        let compact = fast::Compact::of(&batch.mask, batch.rows, batch.len);
        let threads = candle_core::utils::get_num_threads();
        fast::by_parts(&compact, h, threads, |part, threads| self.layers_host(host, batch, &pos, part, threads, cancel)).map(Some)
    }

    /// The embeddings and every layer for the tokens of `compact` (whole
    /// rows of `batch`), `[tokens, hidden]`; `threads` splits each GEMM.
    fn layers_host(&self, host: &Host, batch: &Batch, pos: &[u32], compact: &fast::Compact, threads: usize, cancel: &CancelToken) -> Result<Vec<f32>> {
        let c = &self.config;
        let (h, f) = (c.hidden, c.intermediate);
        let n = compact.tokens();
        let mut x = vec![0f32; n * h];
        let (word, posw, types) = (host.word.get(), &host.pos[..], host.types.as_deref());
        x.par_chunks_mut(h).enumerate().for_each(|(row_i, row)| {
            let i = compact.keep[row_i];
            let id = batch.ids[i] as usize;
            let p = pos[i] as usize;
            row.copy_from_slice(&word[id * h..(id + 1) * h]);
            row.iter_mut().zip(&posw[p * h..(p + 1) * h]).for_each(|(v, w)| *v += w);
            if let Some(types) = types {
                let tt = (batch.type_ids[i] as usize).min(c.type_vocab - 1);
                row.iter_mut().zip(&types[tt * h..(tt + 1) * h]).for_each(|(v, w)| *v += w);
            }
        });
        host.ln.forward_inplace(&mut x, h);
        let mut qkv = vec![0f32; n * 3 * h];
        let mut ctx = vec![0f32; n * h];
        let mut up = vec![0f32; n * f];
        for l in &host.layers {
            cancel.check()?;
            l.qkv.forward_into(&x, n, &mut qkv, false, threads);
            fast::attention(&qkv, compact, c.heads, h, None, &mut ctx);
            // x = ln1(x + ctx · Woᵀ + bo)
            l.out.forward_into(&ctx, n, &mut x, true, threads);
            l.ln1.forward_inplace(&mut x, h);
            l.up.forward_act(&x, n, &mut up, c.act, threads);
            // x = ln2(x + act(up) · W2ᵀ + b2)
            l.down.forward_into(&up, n, &mut x, true, threads);
            l.ln2.forward_inplace(&mut x, h);
        }
        Ok(x)
    }

    /// Hidden states `[rows * len, hidden]` of a padded batch.
    pub fn forward(&self, batch: &Batch, cancel: &CancelToken) -> Result<Tensor> {
        let fail = |e: candle_core::Error| err!(Generic, "encoder forward failed: {}", super::nn::one_line(&e));
        let c = &self.config;
        let (b, t) = (batch.rows, batch.len);
        let m = match &self.engine {
            Engine::Host(_) => {
                let x = self.forward_host(batch, cancel)?.expect("host engine");
                return Tensor::from_vec(x, (b * t, c.hidden), &candle_core::Device::Cpu).map_err(fail);
            }
            Engine::Candle(m) => m,
        };
        let dev = m.word.device();
        let pos = self.check(batch)?;
        let x: CResult<Tensor> = (|| {
            let ids = Tensor::from_slice(&batch.ids, b * t, dev)?;
            let mut x = m.word.index_select(&ids, 0)?;
            x = (x + m.pos.index_select(&Tensor::from_vec(pos, b * t, dev)?, 0)?)?;
            if let Some(types) = &m.types {
                let tt: Vec<u32> = batch.type_ids.iter().map(|&v| v.min(c.type_vocab as u32 - 1)).collect();
                x = (x + types.index_select(&Tensor::from_vec(tt, b * t, dev)?, 0)?)?;
            }
            m.ln.forward(&x)
        })();
        let mut x = x.map_err(fail)?;
        let mask = padding_mask(&batch.mask, b, t, x.dtype(), dev).map_err(fail)?;
        for layer in &m.layers {
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
