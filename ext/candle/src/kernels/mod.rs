//! Quantized matmul kernels for GGML/GGUF weights on CPU: the matmuls of the
//! GGUF decoder (models/gguf_decoder.rs), in place of candle-core's CPU
//! `QMatMul` (which has no SIMD dot for Q4_1/Q5_0/Q5_1 and no prefill GEMM).
//!
//! * [`attention`]: one query row's softmax attention over contiguous key
//!   and value rows (the GGUF decoder's KV cache), AVX2+FMA or scalar.
//! * [`blocks`]: byte-exact GGML block layouts (`Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1
//!   Q4_K Q5_K Q6_K Q8_K`), [`QType`], scalar dequantization.
//! * [`quantize`]: activation quantization f32 -> Q8_0 / Q8_1 / Q8_K,
//!   bit-exact with ggml's reference functions.
//! * [`dot`]: row dot products for each weight type with its GGML partner
//!   (scalar reference + AVX2), chosen at run time.
//! * [`gemv`]: decode-path kernels for the 32-blocks on prepared activations.
//! * [`gemm`]: multi-row micro-kernels for prefill (AVX2 and AVX512-VNNI) on
//!   weights repacked on the fly into 8-row interleaved panels.
//! * [`matmul`]: `Y[m x n] = X[m x k] . W[n x k]^T` on raw GGUF bytes,
//!   threaded with the small persistent pool in [`pool`].
//!
//! No dependencies beyond std; free of candle and Ruby. Threads: one global
//! pool (`CANDLE_NUM_THREADS`, default all cores), spinning briefly and then
//! parking, so a busy machine does not stall it; `CANDLE_KERNELS_ISA=scalar|avx2`
//! caps the instruction set. x86-64 SIMD paths are compiled with `#[target_feature]`
//! and selected once at run time, so the crate builds for baseline x86-64 and
//! for other architectures (scalar fallback).

pub mod attention;
pub mod blocks;
pub mod cpu;
pub mod dot;
pub mod f16;
pub mod gemm;
pub mod gemv;
pub mod matmul;
pub mod pool;
pub mod quantize;
pub mod sgemm;

pub use blocks::{dequantize_row, QType};
pub use cpu::Isa;
pub use dot::{dot_table, vec_dot, vec_dot_with, DotTable};
pub use matmul::{matmul, matmul_many, matmul_with, MatmulOpts, QMatrix};
pub use pool::{global_pool, SyncPtr, ThreadPool};

#[cfg(test)]
mod tests;
