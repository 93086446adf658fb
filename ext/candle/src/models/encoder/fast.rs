//! The BERT family's and ModernBERT's forward on the CPU in F32 without
//! candle's per-op dispatch:
//!
//! - only a batch's real tokens are computed ([`Compact`]); pads come back
//!   as zeros;
//! - linear layers run on the project's own f32 GEMM (`kernels::sgemm`,
//!   weights packed once at load), which starts each output tile from the
//!   bias — and the residual, where there is one — and applies the
//!   activation to finished rows while they are in cache;
//! - with enough rows, each thread takes whole rows through every layer
//!   ([`by_parts`]), so the threads never wait for each other between ops;
//! - attention per (row, head) on `kernels::attention`'s row kernel; GELU
//!   with a rational erf (|error| < 5e-7); layer norms in place.
//!
//! Where candle spent a batch-32 MiniLM forward (perf, 2 threads): GEMM 43 %,
//! its thread pool waiting between ops 18 %, erf 10 %, exp 3 %, broadcast
//! ops and copies the rest. Now the GEMM kernel is ~80 % (at the cores' FMA
//! limit), attention 7 %. The host path owns its weights (packed matrices,
//! norm vectors, an embedding table mapped from the file): a model that has
//! it keeps no candle tensors for its layers.

use candle_core::{DType, Tensor};
use rayon::prelude::*;

use crate::kernels::sgemm::{sgemm, Epilogue, PackedF32};

use super::nn::{Act, LayerNorm, Linear};
use super::weights::Weights;
use crate::err;
use crate::error::Result;

/// Whether a model loaded from `ws` runs on the host path (CPU, F32, and
/// not `CANDLE_ENCODER_CANDLE_OPS=1`).
pub fn host_path(ws: &Weights) -> bool {
    ws.device().is_cpu() && ws.dtype() == DType::F32 && std::env::var("CANDLE_ENCODER_CANDLE_OPS").as_deref() != Ok("1")
}

/// A tensor's values as F32 on the host (a copy).
pub fn host_vec(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()
        .and_then(|t| t.to_dtype(DType::F32))
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(|e| err!(ModelLoad, "cannot copy weights to the host: {}", super::nn::one_line(&e)))
}

pub struct HostLinear {
    w: PackedF32,
    b: Option<Vec<f32>>,
}

impl HostLinear {
    /// The layer's weights packed for [`sgemm`]; the caller may drop `l`.
    pub fn of(l: &Linear) -> Result<HostLinear> {
        let (out, inp) = l.w.dims2().map_err(|e| err!(ModelLoad, "linear weight: {}", super::nn::one_line(&e)))?;
        let b = match &l.b {
            Some(b) => Some(host_vec(b)?),
            None => None,
        };
        Ok(HostLinear { w: PackedF32::pack(&host_vec(&l.w)?, out, inp), b })
    }

    /// `dst[n, out] = base + bias + x[n, inp] · wᵀ`, where `base` is what
    /// `dst` already holds when `accumulate` (a residual), else zero.
    pub fn forward_into(&self, x: &[f32], n: usize, dst: &mut [f32], accumulate: bool, threads: usize) {
        let ep = Epilogue { bias: self.b.as_deref(), accumulate, post: None };
        sgemm(x, n, &self.w, dst, &ep, threads);
    }

    /// `dst[n, out] = act(bias + x[n, inp] · wᵀ)`, the activation applied
    /// to each tile as it is finished.
    pub fn forward_act(&self, x: &[f32], n: usize, dst: &mut [f32], act: Act, threads: usize) {
        let post = |row: &mut [f32]| activate_serial(act, row);
        let ep = Epilogue { bias: self.b.as_deref(), accumulate: false, post: Some(&post) };
        sgemm(x, n, &self.w, dst, &ep, threads);
    }
}

pub struct HostNorm {
    w: Vec<f32>,
    b: Option<Vec<f32>>,
    eps: f32,
}

impl HostNorm {
    pub fn of(n: &LayerNorm) -> Result<HostNorm> {
        let b = match &n.b {
            Some(b) => Some(host_vec(b)?),
            None => None,
        };
        Ok(HostNorm { w: host_vec(&n.w)?, b, eps: n.eps })
    }

    /// Normalizes every row of `x` (`[n, dim]`) in place.
    pub fn forward_inplace(&self, x: &mut [f32], dim: usize) {
        let (w, b) = (&self.w[..], self.b.as_deref());
        x.par_chunks_mut(dim).for_each(|row| {
            let mean = sum8(row, |x| x) / dim as f32;
            let var = sum8(row, |x| (x - mean) * (x - mean)) / dim as f32;
            let inv = 1.0 / (var + self.eps).sqrt();
            match b {
                Some(b) => row.iter_mut().zip(w).zip(b).for_each(|((v, w), b)| *v = (*v - mean) * inv * w + b),
                None => row.iter_mut().zip(w).for_each(|(v, w)| *v = (*v - mean) * inv * w),
            }
        });
    }
}

/// Σ f(v) with eight independent accumulators (vectorizes; no single long
/// dependency chain).
#[inline]
fn sum8(v: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            acc[i] += f(c[i]);
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().map(|&x| f(x)).sum::<f32>()
}

/// erf(x) as a rational function of x on [-4, 4] (±1 beyond, to f32
/// precision): |error| < 5e-7, no exp, vectorizes.
#[inline]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.726_142_3e-10f32;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 - 2.101_024e-6;
    let p = p * x2 - 5.692_506_4e-5;
    let p = p * x2 - 7.349_906_3e-4;
    let p = p * x2 - 2.954_599_8e-3;
    let p = p * x2 - 1.609_603_3e-2;
    let q = -1.456_607_2e-5f32;
    let q = q * x2 - 2.133_740_6e-4;
    let q = q * x2 - 1.682_827e-3;
    let q = q * x2 - 7.373_329_2e-3;
    let q = q * x2 - 1.426_473_9e-2;
    x * p / q
}

/// The activation in place, on this thread.
pub fn activate_serial(act: Act, c: &mut [f32]) {
    match act {
        Act::Gelu => c.iter_mut().for_each(|v| *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2))),
        Act::GeluTanh => c.iter_mut().for_each(|v| {
            let x = *v;
            *v = 0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044_715 * x * x * x)).tanh())
        }),
        Act::Relu => c.iter_mut().for_each(|v| *v = v.max(0.0)),
        Act::Silu => c.iter_mut().for_each(|v| *v /= 1.0 + (-*v).exp()),
        Act::Tanh => c.iter_mut().for_each(|v| *v = v.tanh()),
    }
}

/// A padded batch's real tokens (mask 1), in order: the layout the host
/// path computes on, so no GEMM row is spent on padding.
pub struct Compact {
    /// Each real token's index in the padded `[rows * len]` layout.
    pub keep: Vec<usize>,
    /// Each row's tokens, as a range of compact indices.
    pub rows: Vec<std::ops::Range<usize>>,
    /// The padded row length.
    pub len: usize,
}

impl Compact {
    pub fn of(mask: &[u32], rows: usize, len: usize) -> Compact {
        let mut keep = Vec::with_capacity(mask.len());
        let mut ranges = Vec::with_capacity(rows);
        for r in 0..rows {
            let start = keep.len();
            keep.extend((r * len..(r + 1) * len).filter(|&i| mask[i] != 0));
            ranges.push(start..keep.len());
        }
        Compact { keep, rows: ranges, len }
    }

    /// Number of real tokens.
    pub fn tokens(&self) -> usize {
        self.keep.len()
    }

    /// The position of compact token `i` in its padded row.
    #[inline]
    pub fn position(&self, i: usize) -> usize {
        self.keep[i] % self.len
    }

    /// The rows split into at most `parts` runs of whole rows with about
    /// the same number of tokens each (their `keep` stays in the batch's
    /// padded indices).
    pub fn split(&self, parts: usize) -> Vec<Compact> {
        let total = self.tokens().max(1);
        let mut out = Vec::with_capacity(parts);
        let mut start_row = 0;
        for p in 0..parts {
            if start_row == self.rows.len() {
                break;
            }
            // rows until this part's share of the tokens is reached
            let goal = total * (p + 1) / parts;
            let mut end_row = start_row + 1;
            while end_row < self.rows.len() && self.rows[end_row - 1].end < goal {
                end_row += 1;
            }
            if p + 1 == parts {
                end_row = self.rows.len();
            }
            let base = self.rows[start_row].start;
            let end = self.rows[end_row - 1].end;
            out.push(Compact {
                keep: self.keep[base..end].to_vec(),
                rows: self.rows[start_row..end_row].iter().map(|r| r.start - base..r.end - base).collect(),
                len: self.len,
            });
            start_row = end_row;
        }
        out
    }

    /// Writes `x` (`[tokens, dim]`) into `out`, the padded layout.
    pub fn scatter(&self, x: &[f32], dim: usize, out: &mut [f32]) {
        for (i, &p) in self.keep.iter().enumerate() {
            out[p * dim..(p + 1) * dim].copy_from_slice(&x[i * dim..(i + 1) * dim]);
        }
    }

    /// `x` (`[tokens, dim]`) back in the padded layout, pads zero.
    pub fn expand(&self, x: &[f32], dim: usize) -> Vec<f32> {
        let mut out = vec![0f32; self.rows.len() * self.len * dim];
        self.scatter(x, dim, &mut out);
        out
    }
}

/// The hidden states of a batch in the padded layout (pads zero), from
/// `layers(part, threads)`, which computes `[tokens, dim]` for the real
/// tokens of whole rows. With enough rows each thread takes parts of whole
/// rows through every layer on its own (single-threaded GEMMs, no barrier
/// between ops), two parts per thread so a faster one picks up the slack;
/// otherwise one part whose GEMMs split over the threads. A row's values are
/// the same either way.
pub fn by_parts<F>(compact: &Compact, dim: usize, threads: usize, layers: F) -> Result<Vec<f32>>
where
    F: Fn(&Compact, usize) -> Result<Vec<f32>> + Sync,
{
    let rows = compact.rows.len();
    if threads > 1 && rows >= 2 * threads {
        let parts = compact.split(2 * threads);
        let outs: Vec<Result<Vec<f32>>> = parts.par_iter().map(|p| layers(p, 1)).collect();
        let mut out = vec![0f32; rows * compact.len * dim];
        for (p, x) in parts.iter().zip(outs) {
            p.scatter(&x?, dim, &mut out);
        }
        return Ok(out);
    }
    Ok(compact.expand(&layers(compact, threads)?, dim))
}

/// Multi-head self-attention of fused `qkv` (`[tokens, 3 * hidden]`, the
/// compact layout) into `ctx` (`[tokens, hidden]`): each token attends to
/// its row's tokens — within `window` positions on either side when given.
pub fn attention(qkv: &[f32], c: &Compact, heads: usize, hidden: usize, window: Option<usize>, ctx: &mut [f32]) {
    let hd = hidden / heads;
    let scale = 1.0 / (hd as f32).sqrt();
    let stride = 3 * hidden;
    // One task per (row, head); each writes its own columns of its row's
    // tokens, so the tasks split ctx by (row, head) through raw parts.
    let ctx_ptr = crate::kernels::SyncPtr(ctx.as_mut_ptr());
    let b = c.rows.len();
    (0..b * heads).into_par_iter().for_each(|task| {
        let (r, head) = (task / heads, task % heads);
        let row = c.rows[r].clone();
        if row.is_empty() {
            return;
        }
        // The row's keys and values, contiguous, for the attention row
        // kernel (crate::kernels::attention).
        let mut kb = Vec::with_capacity(row.len() * hd);
        let mut vb = Vec::with_capacity(row.len() * hd);
        for j in row.clone() {
            let x = &qkv[j * stride..][..stride];
            kb.extend_from_slice(&x[hidden + head * hd..][..hd]);
            vb.extend_from_slice(&x[2 * hidden + head * hd..][..hd]);
        }
        let pos: Vec<usize> = row.clone().map(|j| c.position(j)).collect();
        let mut scores = vec![0f32; row.len()];
        let p = ctx_ptr;
        for (qi, i) in row.clone().enumerate() {
            // SAFETY: task (r, head) alone writes ctx[i][head*hd..+hd] for i in its row.
            let dst = unsafe { std::slice::from_raw_parts_mut(p.get().add(i * hidden + head * hd), hd) };
            // keys within the window: a contiguous run (positions increase)
            let (a, z) = match window {
                Some(w) => (pos.partition_point(|&j| j + w < pos[qi]), pos.partition_point(|&j| j <= pos[qi] + w)),
                None => (0, row.len()),
            };
            let q = &qkv[i * stride + head * hd..][..hd];
            crate::kernels::attention::attend_row(q, &kb[a * hd..z * hd], &vb[a * hd..z * hd], scale, &mut scores, dst);
        }
    });
}

/// cos and sin `[t, head_dim / 2]` for positions 0..t (`1 / θ^(2i/d)`).
pub fn rope_tables(t: usize, hd: usize, theta: f64) -> (Vec<f32>, Vec<f32>) {
    let half = hd / 2;
    let mut cos = Vec::with_capacity(t * half);
    let mut sin = Vec::with_capacity(t * half);
    for p in 0..t {
        for i in 0..half {
            let inv = 1.0 / (theta.powf((2 * i) as f64 / hd as f64) as f32);
            let a = p as f32 * inv;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    (cos, sin)
}

/// Rotates q and k of fused `qkv` (`[tokens, 3 * hidden]`, compact) in
/// place by their position in the row (rotate-half layout, as
/// transformers' ModernBERT).
pub fn apply_rope(qkv: &mut [f32], c: &Compact, heads: usize, hidden: usize, cos: &[f32], sin: &[f32]) {
    let hd = hidden / heads;
    let half = hd / 2;
    qkv.par_chunks_mut(3 * hidden).enumerate().for_each(|(row, x)| {
        let p = c.position(row);
        let (c, s) = (&cos[p * half..(p + 1) * half], &sin[p * half..(p + 1) * half]);
        for part in 0..2 {
            for h in 0..heads {
                let v = &mut x[part * hidden + h * hd..][..hd];
                let (a, b) = v.split_at_mut(half);
                for i in 0..half {
                    let (x1, x2) = (a[i], b[i]);
                    a[i] = x1 * c[i] - x2 * s[i];
                    b[i] = x2 * c[i] + x1 * s[i];
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_whole_rows_in_order_with_even_tokens() {
        // rows of 5, 5, 4, 4, 1, 1 real tokens (len 6)
        let lens = [5, 5, 4, 4, 1, 1];
        let mask: Vec<u32> = lens.iter().flat_map(|&l| (0..6).map(move |j| (j < l) as u32)).collect();
        let c = Compact::of(&mask, 6, 6);
        for parts in 1..=8 {
            let split = c.split(parts);
            assert!(split.len() <= parts && !split.is_empty());
            let keep: Vec<usize> = split.iter().flat_map(|s| s.keep.clone()).collect();
            assert_eq!(keep, c.keep, "parts {parts}");
            assert_eq!(split.iter().map(|s| s.rows.len()).sum::<usize>(), 6);
            for s in &split {
                assert_eq!(s.rows.last().unwrap().end, s.tokens());
                assert_eq!(s.rows[0].start, 0);
            }
        }
        let two: Vec<usize> = c.split(2).iter().map(|s| s.tokens()).collect();
        assert_eq!(two, vec![10, 10]);
    }

    #[test]
    fn rational_erf_is_within_5e_7_of_libm() {
        let mut worst = 0f64;
        for i in -60_000..=60_000 {
            let x = i as f64 / 10_000.0;
            let e = (erf(x as f32) as f64 - libm_erf(x)).abs();
            worst = worst.max(e);
        }
        assert!(worst < 5e-7, "worst {worst}");
    }

    fn libm_erf(x: f64) -> f64 {
        // erf via candle's scalar op on a one-element tensor (libm's erff, f64 here).
        let t = Tensor::new(&[x], &candle_core::Device::Cpu).unwrap();
        t.erf().unwrap().to_vec1::<f64>().unwrap()[0]
    }

    #[test]
    fn attention_ignores_masked_keys_and_pads_expand_to_zeros() {
        // b=1, t=3, heads=1, hidden=2; the last token is a pad.
        let qkv = [
            1., 0., /*k*/ 1., 0., /*v*/ 1., 2., //
            0., 1., /*k*/ 0., 1., /*v*/ 3., 4., //
            9., 9., /*k*/ 9., 9., /*v*/ 100., 100.,
        ];
        let mut ctx = [7f32; 6];
        let c = Compact::of(&[1, 1, 0], 1, 3);
        assert_eq!(c.tokens(), 2);
        attention(&qkv[..12], &c, 1, 2, None, &mut ctx[..4]);
        let ctx = c.expand(&ctx[..4], 2);
        let s = 1.0 / 2f32.sqrt();
        let (a, b) = ((s).exp(), 1f32);
        let w0 = a / (a + b);
        assert!((ctx[0] - (w0 * 1. + (1. - w0) * 3.)).abs() < 1e-6);
        assert!((ctx[1] - (w0 * 2. + (1. - w0) * 4.)).abs() < 1e-6);
        assert_eq!(&ctx[4..], &[0., 0.]);
    }
}
