//! Prefill GEMM: weight rows repacked on the fly into 8-row interleaved
//! panels, multiplied by several activation rows at once.
//!
//! ## Panel layout
//! For 8 consecutive weight rows (r = 0..8) the quants are expanded to one
//! byte per value (unsigned 0..15 / 0..31 / 0..63, or signed i8 for Q8_0 on
//! AVX2) and interleaved in groups of 4 values:
//!
//! ```text
//! qs[block][group g (0..8)][row r (0..8)][4 bytes] = values 4g..4g+4 of row r
//! ```
//!
//! so one 32-byte load holds 4 consecutive values of each of the 8 rows.
//! Multiplying it with the 4 matching activation bytes broadcast to all lanes
//! (`vpmaddubsw` + `vpmaddwd`, or one `vpdpbusd`) yields a partial dot for all
//! 8 output columns at once, in 8 i32 lanes: no horizontal sums, and one
//! panel load is reused for MR activation rows. Scales are stored per
//! (block, row) as f32 vectors of 8 so the block epilogue is 2 FMAs per
//! activation row:
//!
//! * legacy 32-blocks: `y += (d_w * d_x) * isum + off_w * s_x` with `off_w`
//!   = -8d (Q4_0), -16d (Q5_0), m (Q4_1/Q5_1), -128d (Q8_0 with VNNI, stored
//!   +128) and `s_x = d_x * sum(q_x)` precomputed per activation block;
//! * Q4_K/Q5_K: per 256 super-block, integer `isum = sum_s sc[s]*dot_s` via
//!   `vpmaddwd` with the 6-bit scales, `imin = sum_s m[s]*bsum_s`, then
//!   `y += d_w*d_x*isum - dmin_w*d_x*imin`;
//! * Q6_K: as above with 16 signed 8-bit scales and the -32 offset removed
//!   through the Q8_K bsums.
//!
//! Repacking (`pack_avx2.rs`: SIMD unpack + in-register 8x8 transposes, ~0.07
//! ns per value on Zen 3; `pack.rs` is the portable reference) costs about one
//! pass over the weights per matmul call, amortized over the m activation
//! rows: the panel path wins from m = 3 (see `examples/mthreshold.rs`).

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
pub mod pack;
#[cfg(target_arch = "x86_64")]
pub mod pack_avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod vnni;

/// Output columns (weight rows) per panel.
pub const NR: usize = 8;

/// Which panel format / kernel family a weight type uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// 32-element blocks, unsigned values with offset (Q4_0/Q4_1/Q5_0/Q5_1,
    /// and Q8_0 stored +128 for VNNI).
    LegacyU,
    /// Q8_0 as signed bytes (AVX2 sign trick).
    LegacyS,
    /// Q4_K / Q5_K.
    K4,
    /// Q6_K.
    Q6K,
}

/// Repacked weights for one panel of up to 8 rows (scratch memory, reused).
/// Public for tests only.
#[derive(Default)]
pub struct Panel {
    /// Interleaved values.
    pub qs: Vec<u8>,
    /// f32 scales: legacy: d[nb][8] then off[nb][8]; K4: d[nsb][8] then
    /// dmin[nsb][8]; Q6K: d[nsb][8].
    pub f: Vec<f32>,
    /// i32 scales (k-quants): K4: sc[nsb][8 sub][8 rows] then mn[nsb][8][8];
    /// Q6K: sc[nsb][16 sub][8 rows] then sc pairs [nsb][8 pairs][8 rows].
    /// Each i32 holds an i16 pair for `vpmaddwd`: (v, v) or (v_2p, v_2p+1).
    pub i: Vec<i32>,
    /// Blocks (legacy) or super-blocks (k-quants) per row.
    pub nb: usize,
}

/// Quantized activations prepared for the GEMM kernels.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Acts<'a> {
    /// Raw activation blocks (Q8_0 / Q8_1 / Q8_K), `m` rows of `row_bytes`.
    pub data: &'a [u8],
    pub row_bytes: usize,
    /// Bytes per block and offset of `qs` inside a block.
    pub block_bytes: usize,
    pub qs_off: usize,
    /// Legacy only: d_x and s_x = d_x * sum(q) per (row, block), f32.
    pub dx: &'a [f32],
    pub sx: &'a [f32],
    /// Blocks per row.
    pub nb: usize,
}
