//! The project's own decoder for GGUF causal LMs: one transformer block
//! written once, configured per family from the GGUF metadata and the
//! tensors present — llama (interleaved RoPE, as llama.cpp's converter
//! permutes q/k), qwen2 (q/k/v biases), qwen3 (per-head q/k RMSNorm), gemma3
//! (scaled embeddings, post-norms, GELU, sliding-window layers with their
//! own RoPE base) and phi3 (fused qkv and gate/up, partial rotary).
//!
//! Why not candle-transformers' quantized_* models: checked against
//! transformers on tiny random checkpoints (models/tests.rs), its Gemma 3
//! computes SiLU where Gemma uses GELU and lets sliding-window layers see a
//! key too many, and its Qwen3 keeps a KV cache across generations. One
//! block for every family also gives the LLM speed work one place to put
//! its kernels (`Linear`), fused ops and KV cache.
//!
//! Weights stay quantized (the embedding too: rows are dequantized as they
//! are looked up, so Qwen's 151936-row table is not expanded to F32). On the
//! CPU the matmuls run on the project's kernels (crate::kernels: SIMD dots
//! for every GGUF type, a GEMM for prompts, a parking thread pool).

use std::io::{Read, Seek};
use std::sync::Arc;

use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::rotary_emb::{rope, rope_i};

use crate::err;
use crate::error::Result;
use crate::gguf::Metadata;
use crate::kernels::attention::KvElem;
use crate::kernels::{self, QMatrix, QType, ThreadPool};

/// A matmul by a GGUF weight (out × in), with an optional bias.
struct Linear {
    w: Weight,
    b: Option<Tensor>,
    /// The bias on the host, for the one-token path.
    bh: Option<Vec<f32>>,
}

enum Weight {
    /// The project's kernels (crate::kernels) on the GGUF bytes, on the CPU.
    Own(OwnMatMul),
    /// candle's QMatMul: F32/F16 weights, other devices.
    Candle(QMatMul),
}

impl Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = match &self.w {
            Weight::Own(w) => x.apply_op1_no_bwd(w)?,
            Weight::Candle(w) => w.forward(x)?,
        };
        match &self.b {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }

    fn new(t: Arc<QTensor>, b: Option<Tensor>, pool: Option<Arc<ThreadPool>>) -> candle_core::Result<Linear> {
        let w = match OwnMatMul::new(t.clone(), pool) {
            Some(own) => Weight::Own(own),
            None => Weight::Candle(QMatMul::from_arc(t)?),
        };
        let bh = match &b {
            Some(b) if b.device().is_cpu() => Some(b.to_vec1::<f32>()?),
            _ => None,
        };
        Ok(Linear { w, b, bh })
    }

    /// [`Linear::host`] of several weights reading the same `x`: one pass
    /// of the kernels' pool over all their rows when they all run there.
    fn host_many<const N: usize>(ls: [&Linear; N], x: &[f32], m: usize) -> candle_core::Result<[Vec<f32>; N]> {
        let owns: Vec<&OwnMatMul> = ls.iter().filter_map(|l| if let Weight::Own(w) = &l.w { Some(w) } else { None }).collect();
        if owns.len() != N {
            let mut out: [Vec<f32>; N] = std::array::from_fn(|_| Vec::new());
            for (o, l) in out.iter_mut().zip(ls) {
                *o = l.host(x, m)?;
            }
            return Ok(out);
        }
        let data = owns.iter().map(|w| w.t.data()).collect::<candle_core::Result<Vec<_>>>()?;
        let ws: Vec<QMatrix> = owns.iter().zip(&data).map(|(w, d)| QMatrix::new(w.qtype, d, w.n, w.k)).collect();
        let mut out: [Vec<f32>; N] = std::array::from_fn(|i| vec![0f32; m * owns[i].n]);
        {
            let mut ys: Vec<&mut [f32]> = out.iter_mut().map(|o| o.as_mut_slice()).collect();
            kernels::matmul_many(owns[0].pool(), &ws, x, m, &mut ys);
        }
        for (y, l) in out.iter_mut().zip(ls) {
            l.add_bias(y);
        }
        Ok(out)
    }

    /// Adds the bias (if any) to every row of `y`.
    fn add_bias(&self, y: &mut [f32]) {
        if let Some(b) = &self.bh {
            for row in y.chunks_exact_mut(b.len()) {
                row.iter_mut().zip(b).for_each(|(y, b)| *y += b);
            }
        }
    }

    /// `x · Wᵀ + b` for `m` rows of `x` on the host (CPU only).
    fn host(&self, x: &[f32], m: usize) -> candle_core::Result<Vec<f32>> {
        let mut y = match &self.w {
            Weight::Own(w) => {
                let data = w.t.data()?;
                let mut y = vec![0f32; m * w.n];
                kernels::matmul(w.pool(), &QMatrix::new(w.qtype, &data, w.n, w.k), x, m, &mut y);
                y
            }
            Weight::Candle(w) => w.forward(&Tensor::from_slice(x, (m, x.len() / m.max(1)), &Device::Cpu)?)?.flatten_all()?.to_vec1::<f32>()?,
        };
        self.add_bias(&mut y);
        Ok(y)
    }
}

/// `y = x · Wᵀ` by crate::kernels on the weight's GGUF bytes (borrowed from
/// the QTensor, no copy). Inputs (…, k) F32 contiguous; output (…, n).
struct OwnMatMul {
    t: Arc<QTensor>,
    qtype: QType,
    n: usize,
    k: usize,
    /// The model's own pool (`threads:`), else the process-wide one.
    pool: Option<Arc<ThreadPool>>,
}

impl OwnMatMul {
    fn new(t: Arc<QTensor>, pool: Option<Arc<ThreadPool>>) -> Option<OwnMatMul> {
        if !t.device().is_cpu() {
            return None;
        }
        let qtype = match t.dtype() {
            GgmlDType::Q4_0 => QType::Q4_0,
            GgmlDType::Q4_1 => QType::Q4_1,
            GgmlDType::Q5_0 => QType::Q5_0,
            GgmlDType::Q5_1 => QType::Q5_1,
            GgmlDType::Q8_0 => QType::Q8_0,
            GgmlDType::Q4K => QType::Q4K,
            GgmlDType::Q5K => QType::Q5K,
            GgmlDType::Q6K => QType::Q6K,
            _ => return None,
        };
        let (n, k) = t.shape().dims2().ok()?;
        if k % qtype.block_size() != 0 || t.data().ok()?.len() != n * qtype.row_bytes(k) {
            return None;
        }
        Some(OwnMatMul { t, qtype, n, k, pool })
    }

    fn pool(&self) -> &ThreadPool {
        match &self.pool {
            Some(p) => p,
            None => kernels::global_pool(),
        }
    }
}

impl candle_core::CustomOp1 for OwnMatMul {
    fn name(&self) -> &'static str {
        "candle-gem-qmatmul"
    }

    fn cpu_fwd(&self, storage: &candle_core::CpuStorage, layout: &candle_core::Layout) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("qmatmul input must be contiguous")
        };
        let x = &storage.as_slice::<f32>()?[start..end];
        let mut dims = layout.shape().dims().to_vec();
        if dims.last() != Some(&self.k) {
            candle_core::bail!("qmatmul input {:?} does not end in {}", dims, self.k)
        }
        let m = x.len() / self.k;
        let data = self.t.data()?;
        let w = QMatrix::new(self.qtype, &data, self.n, self.k);
        let mut y = vec![0f32; m * self.n];
        kernels::matmul(self.pool(), &w, x, m, &mut y);
        *dims.last_mut().expect("checked above") = self.n;
        Ok((candle_core::CpuStorage::F32(y), candle_core::Shape::from(dims)))
    }
}

enum Qkv {
    Split {
        q: Linear,
        k: Linear,
        v: Linear,
    },
    /// phi3: one weight, rows [q; k; v].
    Fused(Linear),
}

enum Mlp {
    Split {
        gate: Linear,
        up: Linear,
        down: Linear,
    },
    /// phi3: one weight, rows [gate; up].
    Fused {
        gate_up: Linear,
        down: Linear,
        hidden: usize,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Silu,
    /// GELU, tanh approximation (Gemma's gelu_pytorch_tanh).
    GeluTanh,
}

struct Layer {
    attn_norm: Tensor,
    qkv: Qkv,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    o: Linear,
    post_attn_norm: Option<Tensor>,
    ffn_norm: Tensor,
    mlp: Mlp,
    post_ffn_norm: Option<Tensor>,
    /// Sliding-window layer (gemma3): sees the last `window` positions and
    /// uses the local RoPE base.
    sliding: bool,
    kv: Kv,
    /// The norm weights on the host, for the one-token path (CPU).
    hv: Option<HostVecs>,
}

struct HostVecs {
    attn_norm: Vec<f32>,
    q_norm: Option<Vec<f32>>,
    k_norm: Option<Vec<f32>>,
    post_attn_norm: Option<Vec<f32>>,
    ffn_norm: Vec<f32>,
    post_ffn_norm: Option<Vec<f32>>,
}

impl HostVecs {
    fn new(l: &Layer) -> candle_core::Result<HostVecs> {
        let v = |t: &Tensor| t.to_vec1::<f32>();
        let o = |t: &Option<Tensor>| t.as_ref().map(v).transpose();
        Ok(HostVecs {
            attn_norm: v(&l.attn_norm)?,
            q_norm: o(&l.q_norm)?,
            k_norm: o(&l.k_norm)?,
            post_attn_norm: o(&l.post_attn_norm)?,
            ffn_norm: v(&l.ffn_norm)?,
            post_ffn_norm: o(&l.post_ffn_norm)?,
        })
    }
}

/// Rows of queries whose attention scores are computed at once in a prompt.
const QUERY_BLOCK: usize = 128;

/// A layer's KV cache.
enum Kv {
    /// On the CPU (`forward_host`): preallocated, written in place, read
    /// by the attention without copies. F16 for quantized models (half the
    /// memory, as llama.cpp's default cache), F32 for full-precision ones.
    Host16(HostKv<u16>),
    Host32(HostKv<f32>),
    /// Other devices: tensors (1, kv_heads, positions, head_dim), grown by cat.
    Tensors(Option<(Tensor, Tensor)>),
}

impl Kv {
    /// Keeps the first `len` positions.
    fn truncate(&mut self, len: usize) -> candle_core::Result<()> {
        match self {
            Kv::Host16(c) => c.len = c.len.min(len),
            Kv::Host32(c) => c.len = c.len.min(len),
            Kv::Tensors(t) => {
                if let Some((k, v)) = t.take() {
                    let keep = len.min(k.dim(2)?);
                    if keep > 0 {
                        *t = Some((k.narrow(2, 0, keep)?, v.narrow(2, 0, keep)?));
                    }
                }
            }
        }
        Ok(())
    }

    /// The host cache's step: appends `m` positions' keys and values (rows)
    /// and returns the attention of their queries (see [`HostKv::attend`]).
    #[allow(clippy::too_many_arguments)]
    fn host_step(&mut self, k: &[f32], v: &[f32], q: &[f32], m: usize, n_head: usize, scale: f32, window: Option<usize>, pool: &ThreadPool) -> candle_core::Result<Vec<f32>> {
        Ok(match self {
            Kv::Host16(c) => {
                c.append_rows(k, v, m);
                c.attend(q, m, n_head, scale, window, pool)
            }
            Kv::Host32(c) => {
                c.append_rows(k, v, m);
                c.attend(q, m, n_head, scale, window, pool)
            }
            Kv::Tensors(_) => candle_core::bail!("the host path needs the host KV cache"),
        })
    }
}

/// Keys and values per KV head, `cap` positions reserved:
/// `k[(head * cap + pos) * dim..][..dim]`. Growing doubles `cap` (one copy
/// per doubling), so a token costs only its own rows.
struct HostKv<T> {
    heads: usize,
    dim: usize,
    len: usize,
    cap: usize,
    k: Vec<T>,
    v: Vec<T>,
}

impl<T: KvElem> HostKv<T> {
    fn new(heads: usize, dim: usize) -> Self {
        HostKv { heads, dim, len: 0, cap: 0, k: Vec::new(), v: Vec::new() }
    }

    fn reserve(&mut self, total: usize) {
        if total <= self.cap {
            return;
        }
        let cap = total.max(self.cap * 2).max(64);
        let (h, d) = (self.heads, self.dim);
        let grow = |old: &[T], old_cap: usize, len: usize| {
            let mut new = vec![T::default(); h * cap * d];
            for head in 0..h {
                new[head * cap * d..][..len * d].copy_from_slice(&old[head * old_cap * d..][..len * d]);
            }
            new
        };
        self.k = grow(&self.k, self.cap, self.len);
        self.v = grow(&self.v, self.cap, self.len);
        self.cap = cap;
    }

    /// Appends `n` positions given as rows (n, heads × dim).
    fn append_rows(&mut self, k: &[f32], v: &[f32], n: usize) {
        self.reserve(self.len + n);
        let (d, cap, len, heads) = (self.dim, self.cap, self.len, self.heads);
        for i in 0..n {
            for head in 0..heads {
                let src = (i * heads + head) * d..(i * heads + head + 1) * d;
                let dst = (head * cap + len + i) * d..(head * cap + len + i + 1) * d;
                self.k[dst.clone()].iter_mut().zip(&k[src.clone()]).for_each(|(d, s)| *d = T::from_f32(*s));
                self.v[dst].iter_mut().zip(&v[src]).for_each(|(d, s)| *d = T::from_f32(*s));
            }
        }
        self.len += n;
    }

    /// Causal attention of the last `m` cached positions' queries, rows
    /// (m, n_head × dim), over the cache: each query sees the positions up
    /// to its own (the last `window` of them, when given), softmax(q·kᵀ ·
    /// scale) · v per head, each KV head shared by `n_head / heads` query
    /// heads. Rows (m, n_head × dim). Queries are spread over `pool` when
    /// there is enough work.
    fn attend(&self, q: &[f32], m: usize, n_head: usize, scale: f32, window: Option<usize>, pool: &ThreadPool) -> Vec<f32> {
        let (d, len) = (self.dim, self.len);
        let rep = n_head / self.heads;
        let mut out = vec![0f32; m * n_head * d];
        let outp = kernels::SyncPtr(out.as_mut_ptr());
        // task t: head t / m, query t % m
        let tasks = |r: std::ops::Range<usize>| {
            let mut scores = vec![0f32; len];
            for t in r {
                let (h, i) = (t / m, t % m);
                let hi = len - m + i + 1;
                let lo = window.map_or(0, |w| hi.saturating_sub(w));
                let row = (i * n_head + h) * d;
                // SAFETY: (query i, head h) owns out[row..row + d].
                let oh = unsafe { std::slice::from_raw_parts_mut(outp.get().add(row), d) };
                self.attend_head(&q[row..row + d], h / rep, scale, lo, hi, &mut scores[..hi - lo], oh);
            }
        };
        let total = n_head * m;
        // Below ~32k multiply-adds a dispatch costs more than it saves.
        if total > 1 && m * len * n_head * d >= 1 << 15 {
            pool.for_chunks(total, (total / (pool.threads() * 8)).clamp(1, 16), &tasks);
        } else {
            tasks(0..total);
        }
        out
    }

    /// One query head `qh` over KV head `kv`, positions `lo..hi`, into `oh`.
    fn attend_head(&self, qh: &[f32], kv: usize, scale: f32, lo: usize, hi: usize, scores: &mut [f32], oh: &mut [f32]) {
        let (d, cap) = (self.dim, self.cap);
        let rows = (kv * cap + lo) * d..(kv * cap + hi) * d;
        kernels::attention::attend_row(qh, &self.k[rows.clone()], &self.v[rows], scale, scores, oh);
    }
}

/// Hyperparameters read from the metadata.
struct Hyper {
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    rope_dim: usize,
    eps: f64,
    interleaved_rope: bool,
    /// Inverse frequencies (rope_dim / 2) for global and sliding layers.
    inv_freq: Vec<f32>,
    inv_freq_local: Vec<f32>,
    window: Option<usize>,
    attn_scale: f64,
    embed_scale: Option<f64>,
    act: Act,
}

pub struct GgufDecoder {
    embed: Arc<QTensor>,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    h: Hyper,
    device: Device,
    /// The model's own pool (`threads:`), else the process-wide one.
    pool: Option<Arc<ThreadPool>>,
    /// `norm` on the host, for the one-token path (CPU).
    norm_h: Option<Vec<f32>>,
}

struct Loader<'a, R> {
    content: &'a gguf_file::Content,
    reader: &'a mut R,
    device: &'a Device,
    pool: Option<Arc<ThreadPool>>,
}

impl<R: Read + Seek> Loader<'_, R> {
    fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    fn qtensor(&mut self, name: &str) -> Result<QTensor> {
        if self.device.is_cpu() {
            return read_cpu_qtensor(self.content, self.reader, name);
        }
        self.content.tensor(self.reader, name, self.device).map_err(|e| err!(InvalidModelFile, "tensor {}: {}", name, e))
    }

    /// A 1-D tensor (norm weight, bias) as F32.
    fn vector(&mut self, name: &str) -> Result<Tensor> {
        self.qtensor(name)?
            .dequantize(self.device)
            .and_then(|t| t.to_dtype(DType::F32))
            .map_err(|e| err!(InvalidModelFile, "tensor {}: {}", name, e))
    }

    fn opt_vector(&mut self, name: &str) -> Result<Option<Tensor>> {
        if self.has(name) {
            self.vector(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A weight of shape [out, in] (GGUF dims [in, out]) checked against
    /// what the metadata implies.
    fn linear(&mut self, name: &str, out: usize, inp: usize) -> Result<Linear> {
        let w = self.qtensor(&format!("{name}.weight"))?;
        if w.shape().dims() != [out, inp] {
            return Err(err!(
                InvalidModelFile,
                "tensor {}.weight has shape {:?}, the metadata implies {:?}",
                name,
                w.shape().dims(),
                [out, inp]
            ));
        }
        let b = self.opt_vector(&format!("{name}.bias"))?;
        Linear::new(Arc::new(w), b, self.pool.clone()).map_err(|e| err!(InvalidModelFile, "tensor {}: {}", name, e))
    }
}

/// A tensor read from the file straight into its blocks' memory. candle's
/// `Content::tensor` reads the bytes into one buffer and copies them into
/// the blocks: the largest tensor (Qwen's 151936-row embedding, 110 MB) was
/// held twice at the peak of the load.
fn read_cpu_qtensor<R: Read + Seek>(content: &gguf_file::Content, reader: &mut R, name: &str) -> Result<QTensor> {
    use candle_core::quantized::{k_quants as k, QStorage};
    let bad = |e: &dyn std::fmt::Display| err!(InvalidModelFile, "tensor {}: {}", name, e);
    let info = content.tensor_infos.get(name).ok_or_else(|| err!(InvalidModelFile, "no tensor {} in the GGUF", name))?;
    let elems = info.shape.elem_count();
    let bs = info.ggml_dtype.block_size();
    if elems % bs != 0 {
        return Err(bad(&format!("{elems} elements are not a whole number of {bs}-element blocks")));
    }
    let blocks = elems / bs;
    let bytes = blocks.checked_mul(info.ggml_dtype.type_size()).ok_or_else(|| bad(&"size overflows"))?;
    let start = content.tensor_data_offset.saturating_add(info.offset);
    let file_size = reader.seek(std::io::SeekFrom::End(0)).map_err(|e| bad(&e))?;
    if bytes as u64 > file_size.saturating_sub(start) {
        return Err(bad(&format!("needs {bytes} bytes at offset {start}, the file has {file_size}")));
    }
    reader.seek(std::io::SeekFrom::Start(start)).map_err(|e| bad(&e))?;
    fn read_blocks<T: candle_core::quantized::GgmlType + Send + Sync + 'static, R: Read>(
        reader: &mut R,
        n: usize,
        bytes: usize,
    ) -> std::io::Result<Box<dyn candle_core::quantized::QuantizedType>> {
        if std::mem::size_of::<T>() * n != bytes {
            return Err(std::io::Error::other("block size mismatch"));
        }
        // Zeroed blocks (plain integer/float fields: all-zero is a valid
        // value), then overwritten by the file's bytes.
        let mut v: Vec<T> = (0..n).map(|_| unsafe { std::mem::zeroed::<T>() }).collect();
        let buf = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, bytes) };
        reader.read_exact(buf)?;
        Ok(Box::new(v))
    }
    let r = reader;
    let storage = match info.ggml_dtype {
        GgmlDType::F32 => read_blocks::<f32, _>(r, blocks, bytes),
        GgmlDType::F16 => read_blocks::<half::f16, _>(r, blocks, bytes),
        GgmlDType::BF16 => read_blocks::<half::bf16, _>(r, blocks, bytes),
        GgmlDType::Q4_0 => read_blocks::<k::BlockQ4_0, _>(r, blocks, bytes),
        GgmlDType::Q4_1 => read_blocks::<k::BlockQ4_1, _>(r, blocks, bytes),
        GgmlDType::Q5_0 => read_blocks::<k::BlockQ5_0, _>(r, blocks, bytes),
        GgmlDType::Q5_1 => read_blocks::<k::BlockQ5_1, _>(r, blocks, bytes),
        GgmlDType::Q8_0 => read_blocks::<k::BlockQ8_0, _>(r, blocks, bytes),
        GgmlDType::Q2K => read_blocks::<k::BlockQ2K, _>(r, blocks, bytes),
        GgmlDType::Q3K => read_blocks::<k::BlockQ3K, _>(r, blocks, bytes),
        GgmlDType::Q4K => read_blocks::<k::BlockQ4K, _>(r, blocks, bytes),
        GgmlDType::Q5K => read_blocks::<k::BlockQ5K, _>(r, blocks, bytes),
        GgmlDType::Q6K => read_blocks::<k::BlockQ6K, _>(r, blocks, bytes),
        other => return Err(err!(UnsupportedModel, "tensor {}: quantization {:?} is not supported", name, other)),
    }
    .map_err(|e| bad(&e))?;
    QTensor::new(QStorage::Cpu(storage), info.shape.clone()).map_err(|e| bad(&e))
}

/// RoPE inverse frequencies, computed in f32 as transformers does (f64
/// gives angles that differ in the last bits at long positions, and Q8
/// activation rounding can amplify that into visibly different logits).
fn inv_freq(base: f64, rope_dim: usize, factors: Option<&[f32]>) -> Vec<f32> {
    let base = base as f32;
    (0..rope_dim / 2)
        .map(|i| {
            let f = 1f32 / base.powf((2 * i) as f32 / rope_dim as f32);
            match factors.and_then(|fs| fs.get(i)) {
                Some(&s) if s > 0.0 => f / s,
                _ => f,
            }
        })
        .collect()
}

impl GgufDecoder {
    /// `threads`: a thread pool of that many threads for this model's
    /// matmuls (else the process-wide pool, `CANDLE_NUM_THREADS`).
    pub fn load<R: Read + Seek>(
        arch: &str,
        meta: &Metadata,
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
        threads: Option<usize>,
    ) -> Result<GgufDecoder> {
        let key = |k: &str| format!("{arch}.{k}");
        let u = |k: &str| meta.get(&key(k)).and_then(|v| v.as_u64()).map(|v| v as usize);
        let f = |k: &str| meta.get(&key(k)).and_then(|v| v.as_f64());
        let need = |k: &str| u(k).ok_or_else(|| err!(InvalidModelFile, "no {} in the GGUF metadata", key(k)));
        let hidden = need("embedding_length")?;
        let n_layer = need("block_count")?;
        let n_head = need("attention.head_count")?;
        let n_kv_head = u("attention.head_count_kv").unwrap_or(n_head);
        let ffn = need("feed_forward_length")?;
        if n_head == 0 || n_kv_head == 0 || n_head % n_kv_head != 0 || n_layer == 0 || hidden == 0 {
            return Err(err!(
                InvalidModelFile,
                "inconsistent GGUF metadata: {} heads, {} KV heads, {} layers, width {}",
                n_head,
                n_kv_head,
                n_layer,
                hidden
            ));
        }
        let head_dim = u("attention.key_length").unwrap_or(hidden / n_head);
        let rope_dim = u("rope.dimension_count").unwrap_or(head_dim).min(head_dim);
        if head_dim == 0 || rope_dim % 2 != 0 {
            return Err(err!(InvalidModelFile, "bad head size {} / RoPE size {}", head_dim, rope_dim));
        }
        let eps = f("attention.layer_norm_rms_epsilon").unwrap_or(1e-6);
        let gemma = arch == "gemma3";
        let base = f("rope.freq_base").unwrap_or(if gemma { 1e6 } else { 10_000.0 });
        let base_local = f("rope.freq_base_swa").or_else(|| f("rope.local_freq_base")).unwrap_or(10_000.0);

        let pool = threads.map(|n| Arc::new(ThreadPool::new(n)));
        let mut l = Loader { content, reader, device, pool };
        // Llama 3.1-style RoPE scaling ships as per-frequency divisors.
        let factors = match l.opt_vector("rope_freqs.weight")? {
            Some(t) => Some(t.to_vec1::<f32>().map_err(|e| err!(InvalidModelFile, "rope_freqs: {}", e))?),
            None => None,
        };
        let h = Hyper {
            n_head,
            n_kv_head,
            head_dim,
            rope_dim,
            eps,
            interleaved_rope: arch == "llama",
            inv_freq: inv_freq(base, rope_dim, factors.as_deref()),
            inv_freq_local: inv_freq(base_local, rope_dim, None),
            window: if gemma { u("attention.sliding_window").filter(|&w| w > 0) } else { None },
            // Gemma 3 27B (62 layers) scales by 1/sqrt(width / heads), the
            // others by 1/sqrt(head size) (query_pre_attn_scalar).
            attn_scale: if gemma && n_layer == 62 { 1.0 / ((hidden / n_head) as f64).sqrt() } else { 1.0 / (head_dim as f64).sqrt() },
            embed_scale: gemma.then(|| (hidden as f64).sqrt()),
            act: if gemma { Act::GeluTanh } else { Act::Silu },
        };
        // Gemma 3: five sliding-window layers, then a global one.
        let pattern = u("attention.sliding_window_pattern").unwrap_or(6).max(1);

        let embed = l.qtensor("token_embd.weight")?;
        let vocab = match embed.shape().dims() {
            [v, w] if *w == hidden => *v,
            d => return Err(err!(InvalidModelFile, "token_embd.weight has shape {:?}, width {} expected", d, hidden)),
        };
        if hidden % embed.dtype().block_size() != 0 {
            return Err(err!(InvalidModelFile, "width {} is not a multiple of the embedding's block size", hidden));
        }
        let embed = Arc::new(embed);
        // Quantized attention weights (not F32/F16/BF16): an F16 KV cache.
        let quantized = ["blk.0.attn_q.weight", "blk.0.attn_qkv.weight"]
            .iter()
            .filter_map(|n| content.tensor_infos.get(*n))
            .any(|t| !matches!(t.ggml_dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16));
        let q_out = n_head * head_dim;
        let kv_out = n_kv_head * head_dim;
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            let p = format!("blk.{i}");
            let qkv = if l.has(&format!("{p}.attn_qkv.weight")) {
                Qkv::Fused(l.linear(&format!("{p}.attn_qkv"), q_out + 2 * kv_out, hidden)?)
            } else {
                Qkv::Split {
                    q: l.linear(&format!("{p}.attn_q"), q_out, hidden)?,
                    k: l.linear(&format!("{p}.attn_k"), kv_out, hidden)?,
                    v: l.linear(&format!("{p}.attn_v"), kv_out, hidden)?,
                }
            };
            let mlp = if l.has(&format!("{p}.ffn_gate.weight")) {
                Mlp::Split {
                    gate: l.linear(&format!("{p}.ffn_gate"), ffn, hidden)?,
                    up: l.linear(&format!("{p}.ffn_up"), ffn, hidden)?,
                    down: l.linear(&format!("{p}.ffn_down"), hidden, ffn)?,
                }
            } else {
                Mlp::Fused {
                    gate_up: l.linear(&format!("{p}.ffn_up"), 2 * ffn, hidden)?,
                    down: l.linear(&format!("{p}.ffn_down"), hidden, ffn)?,
                    hidden: ffn,
                }
            };
            layers.push(Layer {
                attn_norm: l.vector(&format!("{p}.attn_norm.weight"))?,
                qkv,
                q_norm: l.opt_vector(&format!("{p}.attn_q_norm.weight"))?,
                k_norm: l.opt_vector(&format!("{p}.attn_k_norm.weight"))?,
                o: l.linear(&format!("{p}.attn_output"), hidden, q_out)?,
                post_attn_norm: l.opt_vector(&format!("{p}.post_attention_norm.weight"))?,
                ffn_norm: l.vector(&format!("{p}.ffn_norm.weight"))?,
                mlp,
                post_ffn_norm: l.opt_vector(&format!("{p}.post_ffw_norm.weight"))?,
                sliding: h.window.is_some() && (i + 1) % pattern != 0,
                kv: match (device.is_cpu(), quantized) {
                    (true, true) => Kv::Host16(HostKv::new(n_kv_head, head_dim)),
                    (true, false) => Kv::Host32(HostKv::new(n_kv_head, head_dim)),
                    (false, _) => Kv::Tensors(None),
                },
                hv: None,
            });
        }
        if device.is_cpu() {
            for layer in &mut layers {
                layer.hv = Some(HostVecs::new(layer).map_err(|e| err!(InvalidModelFile, "norm weights: {}", e))?);
            }
        }
        let norm = l.vector("output_norm.weight")?;
        let output = if l.has("output.weight") {
            l.linear("output", vocab, hidden)?
        } else {
            // Tied: the embedding table, shared, not copied.
            Linear::new(embed.clone(), None, l.pool.clone()).map_err(|e| err!(InvalidModelFile, "token_embd: {}", e))?
        };
        let norm_h = if device.is_cpu() { Some(norm.to_vec1::<f32>().map_err(|e| err!(InvalidModelFile, "output_norm: {}", e))?) } else { None };
        Ok(GgufDecoder { embed, layers, norm, output, h, device: device.clone(), pool: l.pool, norm_h })
    }

    /// Logits (1, vocab) for the last of `ids` (1, L), which start at
    /// position `start`; `start == 0` starts a new sequence.
    pub fn forward(&mut self, ids: &Tensor, start: usize) -> candle_core::Result<Tensor> {
        let (_, len) = ids.dims2()?;
        if start == 0 {
            self.truncate_cache(0)?;
        }
        if self.norm_h.is_some() {
            return self.forward_host(ids, start);
        }
        let mut x = self.embed.embedding(ids)?;
        if let Some(s) = self.h.embed_scale {
            x = (x * s)?;
        }
        let rope_g = self.rope_tables(&self.h.inv_freq, start, len)?;
        let rope_l = if self.h.window.is_some() { Some(self.rope_tables(&self.h.inv_freq_local, start, len)?) } else { None };
        let total = start + len;
        let mask_g = if len > 1 { Some(self.mask(start, len, None)?) } else { None };
        let mask_l = match self.h.window {
            Some(w) if len > 1 || total > w => Some(self.mask(start, len, Some(w))?),
            _ => None,
        };
        let h = &self.h;
        for layer in &mut self.layers {
            let (rope, mask) = if layer.sliding { (rope_l.as_ref().unwrap_or(&rope_g), &mask_l) } else { (&rope_g, &mask_g) };
            let r = candle_nn::ops::rms_norm(&x, &layer.attn_norm, h.eps as f32)?;
            let mut a = layer.attention(h, &r, rope, mask.as_ref())?;
            if let Some(n) = &layer.post_attn_norm {
                a = candle_nn::ops::rms_norm(&a, n, h.eps as f32)?;
            }
            x = (x + a)?;
            let r = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, h.eps as f32)?;
            let mut m = layer.mlp(h, &r)?;
            if let Some(n) = &layer.post_ffn_norm {
                m = candle_nn::ops::rms_norm(&m, n, h.eps as f32)?;
            }
            x = (x + m)?;
        }
        let x = x.narrow(1, len - 1, 1)?;
        let x = candle_nn::ops::rms_norm(&x, &self.norm, self.h.eps as f32)?;
        self.output.forward(&x)?.squeeze(1)
    }

    /// The forward pass on the CPU, without candle ops between the
    /// matmuls: norms, RoPE, SiLU/GELU and the residuals on host vectors,
    /// the KV cache written in place, and a causal attention that computes
    /// only the scores a query may see, straight over the cache, its
    /// (head, query) pairs spread over the pool. For a decode step candle's
    /// per-op dispatch cost as much as the arithmetic; for a 512-token
    /// prompt its full-square attention, masks, copies and fresh pages took
    /// ~30 % of the time (perf).
    fn forward_host(&mut self, ids: &Tensor, start: usize) -> candle_core::Result<Tensor> {
        let h = &self.h;
        let pool: &ThreadPool = match &self.pool {
            Some(p) => p,
            None => kernels::global_pool(),
        };
        let no_host = || candle_core::Error::Msg("no host weights".into());
        let norm = self.norm_h.as_ref().ok_or_else(no_host)?;
        let hidden = norm.len();
        let eps = h.eps as f32;
        let (d, nq, nkv) = (h.head_dim, h.n_head, h.n_kv_head);
        let (_, m) = ids.dims2()?;
        if m == 0 {
            candle_core::bail!("no tokens to run");
        }
        let mut x = self.embed.embedding(ids)?.flatten_all()?.to_vec1::<f32>()?;
        if let Some(s) = h.embed_scale {
            let s = s as f32;
            x.iter_mut().for_each(|v| *v *= s);
        }
        // cos / sin (m, rope_dim / 2) for positions start..start + m
        let rope_at = |inv_freq: &[f32]| -> (Vec<f32>, Vec<f32>) {
            (start..start + m).flat_map(|p| inv_freq.iter().map(move |&f| p as f32 * f)).map(|a| (a.cos(), a.sin())).unzip()
        };
        let rope_g = rope_at(&h.inv_freq);
        let rope_l = if h.window.is_some() { Some(rope_at(&h.inv_freq_local)) } else { None };
        let act = |g: f32| match h.act {
            Act::Silu => g / (1.0 + (-g).exp()),
            Act::GeluTanh => 0.5 * g * (1.0 + (0.797_884_56f32 * g * (1.0 + 0.044715 * g * g)).tanh()),
        };
        let mut r = vec![0f32; x.len()];
        for layer in &mut self.layers {
            let hv = layer.hv.as_ref().ok_or_else(no_host)?;
            let (cos, sin) = if layer.sliding { rope_l.as_ref().unwrap_or(&rope_g) } else { &rope_g };
            rms_norm_rows(&x, &hv.attn_norm, eps, &mut r);
            let (mut q, mut k, v) = match &layer.qkv {
                Qkv::Split { q, k, v } => {
                    let [q, k, v] = Linear::host_many([q, k, v], &r, m)?;
                    (q, k, v)
                }
                Qkv::Fused(w) => {
                    let qkv = w.host(&r, m)?;
                    let (qn, kn) = (nq * d, nkv * d);
                    let cols = |lo: usize, n: usize| -> Vec<f32> { qkv.chunks_exact(qn + 2 * kn).flat_map(|row| row[lo..lo + n].iter().copied()).collect() };
                    (cols(0, qn), cols(qn, kn), cols(qn + kn, kn))
                }
            };
            if let Some(n) = &hv.q_norm {
                rms_norm_in_place(&mut q, n, eps);
            }
            if let Some(n) = &hv.k_norm {
                rms_norm_in_place(&mut k, n, eps);
            }
            rope_rows(&mut q, nq, d, h.rope_dim, h.interleaved_rope, cos, sin);
            rope_rows(&mut k, nkv, d, h.rope_dim, h.interleaved_rope, cos, sin);
            let (scale, window) = (h.attn_scale as f32, if layer.sliding { h.window } else { None });
            let att = layer.kv.host_step(&k, &v, &q, m, nq, scale, window, pool)?;
            let mut a = layer.o.host(&att, m)?;
            if let Some(n) = &hv.post_attn_norm {
                rms_norm_in_place(&mut a, n, eps);
            }
            x.iter_mut().zip(&a).for_each(|(x, a)| *x += a);
            rms_norm_rows(&x, &hv.ffn_norm, eps, &mut r);
            let mut f = match &layer.mlp {
                Mlp::Split { gate, up, down } => {
                    let [mut g, u] = Linear::host_many([gate, up], &r, m)?;
                    g.iter_mut().zip(&u).for_each(|(g, u)| *g = act(*g) * u);
                    down.host(&g, m)?
                }
                Mlp::Fused { gate_up, down, hidden } => {
                    let gu = gate_up.host(&r, m)?;
                    let g: Vec<f32> = gu.chunks_exact(2 * hidden).flat_map(|row| row[..*hidden].iter().zip(&row[*hidden..]).map(|(g, u)| act(*g) * u)).collect();
                    down.host(&g, m)?
                }
            };
            if let Some(n) = &hv.post_ffn_norm {
                rms_norm_in_place(&mut f, n, eps);
            }
            x.iter_mut().zip(&f).for_each(|(x, f)| *x += f);
        }
        let last = &x[(m - 1) * hidden..];
        rms_norm_rows(last, norm, eps, &mut r[..hidden]);
        let logits = self.output.host(&r[..hidden], 1)?;
        let n = logits.len();
        Tensor::from_vec(logits, (1, n), &self.device)
    }

    /// Keeps the first `len` positions of the KV cache.
    pub fn truncate_cache(&mut self, len: usize) -> candle_core::Result<()> {
        self.layers.iter_mut().try_for_each(|l| l.kv.truncate(len))
    }

    /// cos and sin (len, rope_dim / 2) for positions start..start + len.
    fn rope_tables(&self, inv_freq: &[f32], start: usize, len: usize) -> candle_core::Result<(Tensor, Tensor)> {
        let half = inv_freq.len();
        let mut cos = Vec::with_capacity(len * half);
        let mut sin = Vec::with_capacity(len * half);
        for p in start..start + len {
            for &f in inv_freq {
                let a = p as f32 * f;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        Ok((Tensor::from_vec(cos, (len, half), &self.device)?, Tensor::from_vec(sin, (len, half), &self.device)?))
    }

    /// Additive mask (len, start + len): query i (at start + i) sees key j
    /// when j <= start + i and, with a window, start + i - j < window.
    fn mask(&self, start: usize, len: usize, window: Option<usize>) -> candle_core::Result<Tensor> {
        let total = start + len;
        let mut m = Vec::with_capacity(len * total);
        for i in 0..len {
            let q = start + i;
            for j in 0..total {
                let visible = j <= q && window.is_none_or(|w| q - j < w);
                m.push(if visible { 0f32 } else { f32::NEG_INFINITY });
            }
        }
        Tensor::from_vec(m, (len, total), &self.device)
    }
}

impl Layer {
    /// Several tokens (a prompt; one token on other devices). A
    /// sliding-window layer's window is in its `mask`.
    fn attention(&mut self, h: &Hyper, x: &Tensor, rope_cs: &(Tensor, Tensor), mask: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let (b, len, _) = x.dims3()?;
        let (q, k, v) = match &self.qkv {
            Qkv::Split { q, k, v } => (q.forward(x)?, k.forward(x)?, v.forward(x)?),
            Qkv::Fused(w) => {
                let qkv = w.forward(x)?;
                let (qn, kn) = (h.n_head * h.head_dim, h.n_kv_head * h.head_dim);
                (qkv.narrow(D::Minus1, 0, qn)?, qkv.narrow(D::Minus1, qn, kn)?, qkv.narrow(D::Minus1, qn + kn, kn)?)
            }
        };
        let heads = |t: Tensor, n: usize| t.reshape((b, len, n, h.head_dim))?.transpose(1, 2)?.contiguous();
        let mut q = heads(q, h.n_head)?;
        let mut k = heads(k, h.n_kv_head)?;
        let v = heads(v, h.n_kv_head)?;
        if let Some(n) = &self.q_norm {
            q = candle_nn::ops::rms_norm(&q, n, h.eps as f32)?;
        }
        if let Some(n) = &self.k_norm {
            k = candle_nn::ops::rms_norm(&k, n, h.eps as f32)?;
        }
        let q = apply_rope(h, &q, rope_cs)?;
        let k = apply_rope(h, &k, rope_cs)?;
        let (k, v) = match &mut self.kv {
            Kv::Host16(_) | Kv::Host32(_) => candle_core::bail!("the host KV cache belongs to the CPU path (forward_host)"),
            Kv::Tensors(t) => {
                let (k, v) = match t.take() {
                    Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                    None => (k, v),
                };
                *t = Some((k.clone(), v.clone()));
                (k, v)
            }
        };
        let rep = h.n_head / h.n_kv_head;
        let k = candle_transformers::utils::repeat_kv(k, rep)?.contiguous()?;
        let v = candle_transformers::utils::repeat_kv(v, rep)?.contiguous()?;
        let kt = k.t()?;
        // Queries in blocks of QUERY_BLOCK rows: the scores of a 512-token
        // prompt would otherwise be heads × 512 × 512 floats, several times
        // over (scaled, masked, softmaxed), at the peak of the process's memory.
        let mut outs = Vec::with_capacity(len.div_ceil(QUERY_BLOCK));
        for at in (0..len).step_by(QUERY_BLOCK) {
            let n = QUERY_BLOCK.min(len - at);
            let qb = if n == len { q.clone() } else { q.narrow(2, at, n)? };
            let mut scores = (qb.matmul(&kt)? * h.attn_scale)?;
            if let Some(m) = mask {
                let mb = if n == len { m.clone() } else { m.narrow(0, at, n)? };
                scores = scores.broadcast_add(&mb)?;
            }
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            drop(scores);
            outs.push(probs.matmul(&v)?);
        }
        let out = if outs.len() == 1 { outs.pop().expect("one block") } else { Tensor::cat(&outs, 2)? };
        let out = out.transpose(1, 2)?.reshape((b, len, h.n_head * h.head_dim))?;
        self.o.forward(&out)
    }

    fn mlp(&self, h: &Hyper, x: &Tensor) -> candle_core::Result<Tensor> {
        let act = |t: &Tensor| match h.act {
            Act::Silu => candle_nn::ops::silu(t),
            Act::GeluTanh => t.gelu(),
        };
        match &self.mlp {
            Mlp::Split { gate, up, down } => down.forward(&(act(&gate.forward(x)?)? * up.forward(x)?)?),
            Mlp::Fused { gate_up, down, hidden } => {
                let gu = gate_up.forward(x)?;
                let g = gu.narrow(D::Minus1, 0, *hidden)?;
                let u = gu.narrow(D::Minus1, *hidden, *hidden)?;
                down.forward(&(act(&g)? * u)?)
            }
        }
    }
}

/// RoPE on (b, heads, len, head_dim): interleaved pairs (llama GGUFs) or
/// halves (the others); with a partial rotary size, only the first
/// `rope_dim` dimensions turn.
fn apply_rope(h: &Hyper, x: &Tensor, (cos, sin): &(Tensor, Tensor)) -> candle_core::Result<Tensor> {
    let f = if h.interleaved_rope { rope_i } else { rope };
    if h.rope_dim == h.head_dim {
        return f(x, cos, sin);
    }
    let rot = x.narrow(D::Minus1, 0, h.rope_dim)?.contiguous()?;
    let pass = x.narrow(D::Minus1, h.rope_dim, h.head_dim - h.rope_dim)?;
    Tensor::cat(&[&f(&rot, cos, sin)?, &pass], D::Minus1)?.contiguous()
}

/// RMSNorm of each `w.len()`-wide row of `x` into `out`, as candle_nn's
/// `rms_norm` computes it (f32 sum of squares, x / rms * w).
fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let n = w.len();
    for (x, o) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        let m = (x.iter().map(|v| v * v).sum::<f32>() / n as f32 + eps).sqrt();
        for ((o, x), w) in o.iter_mut().zip(x).zip(w) {
            *o = *x / m * *w;
        }
    }
}

fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    let n = w.len();
    for x in x.chunks_exact_mut(n) {
        let m = (x.iter().map(|v| v * v).sum::<f32>() / n as f32 + eps).sqrt();
        for (x, w) in x.iter_mut().zip(w) {
            *x = *x / m * *w;
        }
    }
}

/// RoPE on rows (positions) of `heads × d` values, cos / sin rows of
/// `rope_dim / 2` per position: the first `rope_dim` values of each head
/// turn, as pairs (2i, 2i+1) when `interleaved`, else (i, i + rope_dim/2),
/// like candle_nn's `rope_i` / `rope`.
fn rope_rows(x: &mut [f32], heads: usize, d: usize, rope_dim: usize, interleaved: bool, cos: &[f32], sin: &[f32]) {
    let half = rope_dim / 2;
    for (p, pos) in x.chunks_exact_mut(heads * d).enumerate() {
        let (cos, sin) = (&cos[p * half..(p + 1) * half], &sin[p * half..(p + 1) * half]);
        for row in pos.chunks_exact_mut(d) {
            for i in 0..half {
                let (a, b) = if interleaved { (2 * i, 2 * i + 1) } else { (i, i + half) };
                let (x0, x1) = (row[a], row[b]);
                row[a] = x0 * cos[i] - x1 * sin[i];
                row[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}
