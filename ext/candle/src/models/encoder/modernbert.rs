//! ModernBERT: pre-LayerNorm blocks without biases, rotary positions
//! (a global θ for full-attention layers, a local θ for sliding-window
//! layers that see `local_attention / 2` tokens each side), a gated GELU
//! MLP (`Wi` → input, gate), and a final norm. Layer 0 has no attention
//! norm. transformers 5 writes `layer_types` and per-type
//! `rope_parameters`; older configs `global_attn_every_n_layers`,
//! `global_rope_theta` and `local_rope_theta` — both are read.

use candle_core::{DType, Device, Result as CResult, Tensor};
use serde_json::Value;

use rayon::prelude::*;

use super::fast::{self, HostLinear, HostNorm};
use super::nn::{attend, one_line, padding_mask, split_qkv, Act, LayerNorm, Linear};
use super::weights::{Table, Weights};
use super::Batch;
use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;

#[derive(Clone, Debug)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub eps: f64,
    pub act: Act,
    pub norm_bias: bool,
    pub attention_bias: bool,
    pub mlp_bias: bool,
    /// Per layer: Some(half window) for sliding-window layers.
    pub windows: Vec<Option<usize>>,
    pub global_theta: f64,
    pub local_theta: f64,
    pub pad_id: u32,
    pub classifier_bias: bool,
    pub classifier_act: Act,
    /// "cls" or "mean" pooling before the sequence-classification head.
    pub classifier_mean: bool,
}

fn uint(c: &Value, k: &str) -> Option<usize> {
    c.get(k).and_then(|v| v.as_u64()).map(|v| v as usize)
}

fn flag(c: &Value, k: &str, default: bool) -> bool {
    c.get(k).and_then(|v| v.as_bool()).unwrap_or(default)
}

impl Config {
    pub fn parse(c: &Value, source: &str) -> Result<Config> {
        let need = |k: &str| uint(c, k).ok_or_else(|| err!(InvalidModelFile, "{source}: config.json has no {k}"));
        let (hidden, layers, heads) = (need("hidden_size")?, need("num_hidden_layers")?, need("num_attention_heads")?);
        if heads == 0 || hidden % heads != 0 || (hidden / heads) % 2 != 0 {
            return Err(err!(InvalidModelFile, "{source}: hidden size {hidden} does not split into {heads} even-sized heads"));
        }
        let act_of = |k: &str| -> Result<Act> {
            let name = c.get(k).and_then(|v| v.as_str()).unwrap_or("gelu");
            Act::parse(name).ok_or_else(|| err!(UnsupportedModel, "{source}: activation {name:?} is not supported"))
        };
        let half = uint(c, "local_attention").unwrap_or(128) / 2;
        let windows: Vec<Option<usize>> = match c.get("layer_types").and_then(|v| v.as_array()) {
            Some(types) => {
                if types.len() != layers {
                    return Err(err!(InvalidModelFile, "{source}: layer_types has {} entries for {layers} layers", types.len()));
                }
                types
                    .iter()
                    .map(|t| match t.as_str() {
                        Some("full_attention") => Ok(None),
                        Some("sliding_attention") => Ok(Some(half)),
                        other => Err(err!(UnsupportedModel, "{source}: layer type {other:?} is not supported")),
                    })
                    .collect::<Result<_>>()?
            }
            None => {
                let every = uint(c, "global_attn_every_n_layers").unwrap_or(3).max(1);
                (0..layers).map(|i| if i % every != 0 { Some(half) } else { None }).collect()
            }
        };
        let theta = |kind: &str, old: &str, default: f64| -> Result<f64> {
            if let Some(p) = c.get("rope_parameters").and_then(|p| p.get(kind)) {
                let rt = p.get("rope_type").and_then(|v| v.as_str()).unwrap_or("default");
                if rt != "default" {
                    return Err(err!(UnsupportedModel, "{source}: RoPE scaling {rt:?} is not supported for ModernBERT"));
                }
                if let Some(t) = p.get("rope_theta").and_then(|v| v.as_f64()) {
                    return Ok(t);
                }
            }
            Ok(c.get(old).and_then(|v| v.as_f64()).unwrap_or(default))
        };
        Ok(Config {
            vocab_size: need("vocab_size")?,
            hidden,
            layers,
            heads,
            intermediate: need("intermediate_size")?,
            max_positions: need("max_position_embeddings")?,
            eps: c.get("norm_eps").and_then(|v| v.as_f64()).unwrap_or(1e-5),
            act: act_of("hidden_activation")?,
            norm_bias: flag(c, "norm_bias", false),
            attention_bias: flag(c, "attention_bias", false),
            mlp_bias: flag(c, "mlp_bias", false),
            windows,
            global_theta: theta("full_attention", "global_rope_theta", 160_000.0)?,
            local_theta: theta("sliding_attention", "local_rope_theta", 10_000.0)?,
            pad_id: uint(c, "pad_token_id").unwrap_or(0) as u32,
            classifier_bias: flag(c, "classifier_bias", false),
            classifier_act: act_of("classifier_activation")?,
            classifier_mean: c.get("classifier_pooling").and_then(|v| v.as_str()) == Some("mean"),
        })
    }
}

struct Layer {
    attn_norm: Option<LayerNorm>,
    qkv: Linear,
    out: Linear,
    mlp_norm: LayerNorm,
    wi: Linear,
    wo: Linear,
    window: Option<usize>,
}

pub struct ModernBert {
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
    embed: Tensor,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    final_norm: LayerNorm,
}

struct Host {
    embed: Table,
    embed_norm: HostNorm,
    layers: Vec<HostLayer>,
    final_norm: HostNorm,
}

struct HostLayer {
    attn_norm: Option<HostNorm>,
    qkv: HostLinear,
    out: HostLinear,
    mlp_norm: HostNorm,
    wi: HostLinear,
    wo: HostLinear,
    window: Option<usize>,
}

impl HostLayer {
    fn of(l: &Layer) -> Result<HostLayer> {
        Ok(HostLayer {
            attn_norm: match &l.attn_norm {
                Some(n) => Some(HostNorm::of(n)?),
                None => None,
            },
            qkv: HostLinear::of(&l.qkv)?,
            out: HostLinear::of(&l.out)?,
            mlp_norm: HostNorm::of(&l.mlp_norm)?,
            wi: HostLinear::of(&l.wi)?,
            wo: HostLinear::of(&l.wo)?,
            window: l.window,
        })
    }
}

/// The classification head's transform (`head.dense` → act → `head.norm`).
pub struct PredictionHead {
    dense: Linear,
    act: Act,
    norm: LayerNorm,
}

impl PredictionHead {
    pub fn load(ws: &Weights, c: &Config) -> Result<PredictionHead> {
        Ok(PredictionHead {
            dense: Linear::load(ws, "head.dense", c.hidden, c.hidden, c.classifier_bias)?,
            act: c.classifier_act,
            norm: LayerNorm::load(ws, "head.norm", c.hidden, c.eps, c.norm_bias)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        self.norm.forward(&self.act.forward(&self.dense.forward(x)?)?)
    }
}

/// cos and sin `[t, head_dim / 2]` for positions 0..t, as tensors.
fn rope_tables(t: usize, hd: usize, theta: f64, dtype: DType, dev: &Device) -> CResult<(Tensor, Tensor)> {
    let (cos, sin) = fast::rope_tables(t, hd, theta);
    let half = hd / 2;
    Ok((Tensor::from_vec(cos, (t, half), dev)?.to_dtype(dtype)?, Tensor::from_vec(sin, (t, half), dev)?.to_dtype(dtype)?))
}

impl ModernBert {
    pub fn load(config: Config, ws: &Weights) -> Result<ModernBert> {
        let c = &config;
        let (h, f) = (c.hidden, c.intermediate);
        let p = ws.prefix().to_string();
        let ln = |name: &str| LayerNorm::load(ws, &format!("{p}{name}"), h, c.eps, c.norm_bias);
        let embed_name = "embeddings.tok_embeddings.weight";
        let embed_norm = ln("embeddings.norm")?;
        let host = fast::host_path(ws);
        let mut layers = Vec::new();
        let mut host_layers = Vec::new();
        for (i, window) in c.windows.iter().enumerate() {
            let a = format!("{p}layers.{i}");
            let layer = Layer {
                attn_norm: if i == 0 { None } else { Some(ln(&format!("layers.{i}.attn_norm"))?) },
                qkv: Linear::load(ws, &format!("{a}.attn.Wqkv"), h, 3 * h, c.attention_bias)?,
                out: Linear::load(ws, &format!("{a}.attn.Wo"), h, h, c.attention_bias)?,
                mlp_norm: ln(&format!("layers.{i}.mlp_norm"))?,
                wi: Linear::load(ws, &format!("{a}.mlp.Wi"), h, 2 * f, c.mlp_bias)?,
                wo: Linear::load(ws, &format!("{a}.mlp.Wo"), f, h, c.mlp_bias)?,
                window: *window,
            };
            // Packed as read; the tensors are dropped (see bert.rs).
            if host {
                host_layers.push(HostLayer::of(&layer)?);
            } else {
                layers.push(layer);
            }
        }
        let final_norm = ln("final_norm")?;
        let engine = if host {
            Engine::Host(Host {
                embed: ws.table(&format!("{p}{embed_name}"), &[c.vocab_size, h])?,
                embed_norm: HostNorm::of(&embed_norm)?,
                layers: host_layers,
                final_norm: HostNorm::of(&final_norm)?,
            })
        } else {
            let embed = ws.backbone(embed_name, &[c.vocab_size, h])?;
            Engine::Candle(Tensors { embed, embed_norm, layers, final_norm })
        };
        Ok(ModernBert { config, engine })
    }

    /// Hidden states `[rows * len, hidden]` on the host (F32) where the model
    /// has the host path; pad positions hold zeros.
    pub fn forward_host(&self, batch: &Batch, cancel: &CancelToken) -> Result<Option<Vec<f32>>> {
        let Engine::Host(host) = &self.engine else { return Ok(None) };
        let c = &self.config;
        if let Some(&bad) = batch.ids.iter().find(|&&id| id as usize >= c.vocab_size) {
            return Err(err!(Argument, "token id {bad} is outside the model's vocabulary ({})", c.vocab_size));
        }
        let (t, h) = (batch.len, c.hidden);
        // Only real tokens go through the layers; pads come back as zeros.
        let compact = fast::Compact::of(&batch.mask, batch.rows, t);
        let hd = h / c.heads;
        let threads = candle_core::utils::get_num_threads();
        let global = fast::rope_tables(t, hd, c.global_theta);
        let local = fast::rope_tables(t, hd, c.local_theta);
        let tables = [&global, &local];
        fast::by_parts(&compact, h, threads, |part, threads| self.layers_host(host, batch, part, tables, threads, cancel)).map(Some)
    }

    /// The embeddings and every layer for the tokens of `compact` (whole
    /// rows of `batch`), `[tokens, hidden]`; `threads` splits each GEMM.
    /// `rope`: the global and the local (cos, sin) tables.
    fn layers_host(
        &self,
        host: &Host,
        batch: &Batch,
        compact: &fast::Compact,
        rope: [&(Vec<f32>, Vec<f32>); 2],
        threads: usize,
        cancel: &CancelToken,
    ) -> Result<Vec<f32>> {
        let c = &self.config;
        let (h, f) = (c.hidden, c.intermediate);
        let n = compact.tokens();
        let embed = host.embed.get();
        let mut x = vec![0f32; n * h];
        x.par_chunks_mut(h).enumerate().for_each(|(i, row)| {
            let id = batch.ids[compact.keep[i]] as usize;
            row.copy_from_slice(&embed[id * h..(id + 1) * h]);
        });
        host.embed_norm.forward_inplace(&mut x, h);
        let mut normed = vec![0f32; n * h];
        let mut qkv = vec![0f32; n * 3 * h];
        let mut ctx = vec![0f32; n * h];
        let mut wi = vec![0f32; n * 2 * f];
        let mut gated = vec![0f32; n * f];
        for l in &host.layers {
            cancel.check()?;
            let input: &[f32] = match &l.attn_norm {
                Some(norm) => {
                    normed.copy_from_slice(&x);
                    norm.forward_inplace(&mut normed, h);
                    &normed
                }
                None => &x,
            };
            l.qkv.forward_into(input, n, &mut qkv, false, threads);
            let (cos, sin) = rope[l.window.is_some() as usize];
            fast::apply_rope(&mut qkv, compact, c.heads, h, cos, sin);
            fast::attention(&qkv, compact, c.heads, h, l.window, &mut ctx);
            l.out.forward_into(&ctx, n, &mut x, true, threads);
            normed.copy_from_slice(&x);
            l.mlp_norm.forward_inplace(&mut normed, h);
            l.wi.forward_into(&normed, n, &mut wi, false, threads);
            gated.par_chunks_mut(f).zip(wi.par_chunks(2 * f)).for_each(|(g, w)| {
                g.copy_from_slice(&w[..f]);
                fast::activate_serial(c.act, g);
                g.iter_mut().zip(&w[f..]).for_each(|(a, b)| *a *= b);
            });
            l.wo.forward_into(&gated, n, &mut x, true, threads);
        }
        host.final_norm.forward_inplace(&mut x, h);
        Ok(x)
    }

    /// Hidden states `[rows * len, hidden]` (after the final norm).
    pub fn forward(&self, batch: &Batch, cancel: &CancelToken) -> Result<Tensor> {
        let c = &self.config;
        let (b, t) = (batch.rows, batch.len);
        let m = match &self.engine {
            Engine::Host(_) => {
                let x = self.forward_host(batch, cancel)?.expect("host engine");
                return Tensor::from_vec(x, (b * t, c.hidden), &Device::Cpu)
                    .map_err(|e| err!(Generic, "encoder forward failed: {}", one_line(&e)));
            }
            Engine::Candle(m) => m,
        };
        if let Some(&bad) = batch.ids.iter().find(|&&id| id as usize >= c.vocab_size) {
            return Err(err!(Argument, "token id {bad} is outside the model's vocabulary ({})", c.vocab_size));
        }
        let fail = |e: candle_core::Error| err!(Generic, "encoder forward failed: {}", one_line(&e));
        let dev = m.embed.device();
        let dtype = m.embed.dtype();
        let hd = c.hidden / c.heads;
        let global = padding_mask(&batch.mask, b, t, dtype, dev).map_err(fail)?;
        let local = (|| {
            let half = c.windows.iter().flatten().next().copied().unwrap_or(t);
            let mut v = vec![0f32; t * t];
            for i in 0..t {
                for j in 0..t {
                    if i.abs_diff(j) > half {
                        v[i * t + j] = f32::MIN;
                    }
                }
            }
            let w = Tensor::from_vec(v, (1, 1, t, t), dev)?.to_dtype(dtype)?;
            // Both masks: the sum saturates at the most negative value.
            global.broadcast_add(&w)?.clamp(f32::MIN, 0f32)
        })()
        .map_err(fail)?;
        let (gcos, gsin) = rope_tables(t, hd, c.global_theta, dtype, dev).map_err(fail)?;
        let (lcos, lsin) = rope_tables(t, hd, c.local_theta, dtype, dev).map_err(fail)?;
        let ids = Tensor::from_slice(&batch.ids, b * t, dev).map_err(fail)?;
        let mut x = (|| m.embed_norm.forward(&m.embed.index_select(&ids, 0)?))().map_err(fail)?;
        for layer in &m.layers {
            cancel.check()?;
            x = (|| {
                let normed = match &layer.attn_norm {
                    Some(n) => n.forward(&x)?,
                    None => x.clone(),
                };
                let (q, k, v) = split_qkv(&layer.qkv.forward(&normed)?, b, t, c.heads)?;
                let (cos, sin, mask) = if layer.window.is_some() { (&lcos, &lsin, &local) } else { (&gcos, &gsin, &global) };
                let q = candle_nn::rotary_emb::rope(&q, cos, sin)?;
                let k = candle_nn::rotary_emb::rope(&k, cos, sin)?;
                let a = layer.out.forward(&attend(&q, &k, &v, mask)?)?;
                let x = (x.clone() + a)?;
                let wi = layer.wi.forward(&layer.mlp_norm.forward(&x)?)?;
                let f = c.intermediate;
                let gated = (c.act.forward(&wi.narrow(1, 0, f)?)? * wi.narrow(1, f, f)?)?;
                x + layer.wo.forward(&gated)?
            })()
            .map_err(fail)?;
        }
        m.final_norm.forward(&x).map_err(fail)
    }
}
