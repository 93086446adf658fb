//! The few layers the encoders are made of, on 2-D activations
//! (`[tokens, features]`): one GEMM per linear layer, candle's fused layer
//! norm and softmax.

use candle_core::{Result as CResult, Tensor};

use super::weights::Weights;
use crate::err;
use crate::error::Result;

/// `x · wᵀ + b` for `x: [n, in]`, `w: [out, in]`.
#[derive(Clone)]
pub struct Linear {
    pub w: Tensor,
    pub b: Option<Tensor>,
}

impl Linear {
    pub fn load(ws: &Weights, name: &str, inp: usize, out: usize, bias: bool) -> Result<Linear> {
        let w = ws.get(&format!("{name}.weight"), &[out, inp])?;
        let b = if bias { Some(ws.get(&format!("{name}.bias"), &[out])?) } else { None };
        Ok(Linear { w, b })
    }

    /// Several linear layers over the same input as one (`[q; k; v]`).
    pub fn concat(parts: &[Linear]) -> Result<Linear> {
        let ws: Vec<&Tensor> = parts.iter().map(|p| &p.w).collect();
        let w = Tensor::cat(&ws, 0).map_err(|e| err!(ModelLoad, "cannot fuse weights: {e}"))?;
        let b = if parts.iter().all(|p| p.b.is_some()) {
            let bs: Vec<&Tensor> = parts.iter().map(|p| p.b.as_ref().unwrap()).collect();
            Some(Tensor::cat(&bs, 0).map_err(|e| err!(ModelLoad, "cannot fuse biases: {e}"))?)
        } else {
            None
        };
        Ok(Linear { w, b })
    }

    pub fn out_features(&self) -> usize {
        self.w.dims()[0]
    }

    pub fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let y = x.matmul(&self.w.t()?)?;
        match &self.b {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

#[derive(Clone)]
pub struct LayerNorm {
    pub w: Tensor,
    pub b: Option<Tensor>,
    pub eps: f32,
}

impl LayerNorm {
    pub fn load(ws: &Weights, name: &str, dim: usize, eps: f64, bias: bool) -> Result<LayerNorm> {
        let w = ws.get(&format!("{name}.weight"), &[dim])?;
        let b = if bias { Some(ws.get(&format!("{name}.bias"), &[dim])?) } else { None };
        Ok(LayerNorm { w, b, eps: eps as f32 })
    }

    pub fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let x = x.contiguous()?;
        match &self.b {
            Some(b) => candle_nn::ops::layer_norm(&x, &self.w, b, self.eps),
            None => {
                let zeros = self.w.zeros_like()?;
                candle_nn::ops::layer_norm(&x, &self.w, &zeros, self.eps)
            }
        }
    }
}

/// transformers' `hidden_act` names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    /// "gelu": the exact erf form.
    Gelu,
    /// "gelu_new", "gelu_pytorch_tanh", "gelu_fast": the tanh approximation.
    GeluTanh,
    Relu,
    Silu,
    Tanh,
}

impl Act {
    pub fn parse(name: &str) -> Option<Act> {
        Some(match name {
            "gelu" | "gelu_python" => Act::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Act::GeluTanh,
            "relu" => Act::Relu,
            "silu" | "swish" => Act::Silu,
            "tanh" => Act::Tanh,
            _ => return None,
        })
    }

    pub fn forward(self, x: &Tensor) -> CResult<Tensor> {
        match self {
            Act::Gelu => x.gelu_erf(),
            Act::GeluTanh => x.gelu(),
            Act::Relu => x.relu(),
            Act::Silu => x.silu(),
            Act::Tanh => x.tanh(),
        }
    }
}

/// Splits fused projections `[b * t, 3 * hidden]` into q, k, v, each
/// `[b, heads, t, head_dim]`.
pub fn split_qkv(qkv: &Tensor, b: usize, t: usize, heads: usize) -> CResult<(Tensor, Tensor, Tensor)> {
    let hd = qkv.dim(1)? / 3 / heads;
    // [b, t, 3, heads, hd] -> [3, b, heads, t, hd]
    let qkv = qkv.reshape((b, t, 3, heads, hd))?.permute((2, 0, 3, 1, 4))?.contiguous()?;
    Ok((qkv.get(0)?, qkv.get(1)?, qkv.get(2)?))
}

/// softmax(q kᵀ / √d + mask) v for `[b, heads, t, hd]` inputs and an
/// additive mask broadcast to `[b, heads, t, t]`; returns `[b * t, heads * hd]`.
pub fn attend(q: &Tensor, k: &Tensor, v: &Tensor, mask: &Tensor) -> CResult<Tensor> {
    let (b, heads, t, hd) = q.dims4()?;
    let scale = 1.0 / (hd as f64).sqrt();
    let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(mask)?;
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    probs.matmul(v)?.transpose(1, 2)?.reshape((b * t, heads * hd))
}

/// Multi-head attention over `[b * t, 3 * hidden]` fused projections, with
/// an additive mask `[b, 1, 1 | t, t]`; returns `[b * t, hidden]`.
pub fn attention(qkv: &Tensor, b: usize, t: usize, heads: usize, mask: &Tensor) -> CResult<Tensor> {
    let (q, k, v) = split_qkv(qkv, b, t, heads)?;
    attend(&q, &k, &v, mask)
}

/// The additive attention mask for right- or left-padded rows: 0 where a
/// token may be attended to, the dtype's most negative value where not.
pub fn padding_mask(mask: &[u32], b: usize, t: usize, dtype: candle_core::DType, device: &candle_core::Device) -> CResult<Tensor> {
    let v: Vec<f32> = mask.iter().map(|&m| if m == 0 { f32::MIN } else { 0.0 }).collect();
    Tensor::from_vec(v, (b, 1, 1, t), device)?.to_dtype(dtype)
}

/// A candle error as one line (candle appends a backtrace when captured).
pub fn one_line(e: &candle_core::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}
