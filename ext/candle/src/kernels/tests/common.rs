//! Test support: a tiny deterministic RNG and random GGML weight rows.
#![allow(dead_code)]

use crate::kernels::blocks::*;
use crate::kernels::f16::f32_to_f16le;

/// xorshift64* -- deterministic, no dependencies.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn u8(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
    /// Uniform in [0, 1).
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in [-1, 1).
    pub fn sym(&mut self) -> f32 {
        2.0 * self.f32() - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }
}

/// How block scales are drawn.
#[derive(Clone, Copy, Debug)]
pub enum Scales {
    /// Typical model magnitudes (|d| ~ 1e-3 .. 1e-1, either sign).
    Normal,
    /// A mix of zero, f16 max (65504), subnormal and normal scales.
    Extreme,
    /// All weights zero (d = 0 and quants 0).
    Zero,
}

fn scale(rng: &mut Rng, s: Scales) -> [u8; 2] {
    match s {
        Scales::Normal => f32_to_f16le(rng.sym() * 0.1),
        Scales::Zero => [0, 0],
        Scales::Extreme => match rng.below(5) {
            0 => [0, 0],
            1 => f32_to_f16le(65504.0),
            2 => f32_to_f16le(-65504.0),
            3 => f32_to_f16le(6.0e-8 * (1 + rng.below(1000)) as f32), // subnormal
            _ => f32_to_f16le(rng.sym() * 100.0),
        },
    }
}

/// A random row of `k` weights of type `t` (raw GGML bytes). Quants are
/// uniformly random bytes, so every bit pattern is exercised.
pub fn random_row(rng: &mut Rng, t: QType, k: usize, s: Scales) -> Vec<u8> {
    let nb = k / t.block_size();
    let mut bytes = rng.bytes(nb * t.type_size());
    let zero = matches!(s, Scales::Zero);
    match t {
        QType::Q4_0 => {
            for b in as_blocks_mut::<BlockQ4_0>(&mut bytes) {
                b.d = scale(rng, s);
                if zero {
                    b.qs = [0x88; 16];
                }
            }
        }
        QType::Q4_1 => {
            for b in as_blocks_mut::<BlockQ4_1>(&mut bytes) {
                b.d = scale(rng, s);
                b.m = scale(rng, s);
            }
        }
        QType::Q5_0 => {
            for b in as_blocks_mut::<BlockQ5_0>(&mut bytes) {
                b.d = scale(rng, s);
            }
        }
        QType::Q5_1 => {
            for b in as_blocks_mut::<BlockQ5_1>(&mut bytes) {
                b.d = scale(rng, s);
                b.m = scale(rng, s);
            }
        }
        QType::Q8_0 => {
            for b in as_blocks_mut::<BlockQ8_0>(&mut bytes) {
                b.d = scale(rng, s);
            }
        }
        QType::Q4K => {
            for b in as_blocks_mut::<BlockQ4K>(&mut bytes) {
                b.d = scale(rng, s);
                b.dmin = scale(rng, s);
            }
        }
        QType::Q5K => {
            for b in as_blocks_mut::<BlockQ5K>(&mut bytes) {
                b.d = scale(rng, s);
                b.dmin = scale(rng, s);
            }
        }
        QType::Q6K => {
            for b in as_blocks_mut::<BlockQ6K>(&mut bytes) {
                b.d = scale(rng, s);
            }
        }
        QType::Q8_1 | QType::Q8K => unreachable!(),
    }
    bytes
}

/// Random activations: mostly N(0,1)-ish, with a few outliers and, when
/// `zero_blocks`, some all-zero 32-element stretches.
pub fn random_acts(rng: &mut Rng, n: usize, zero_blocks: bool) -> Vec<f32> {
    let mut x: Vec<f32> = (0..n)
        .map(|_| {
            let v = rng.sym() + rng.sym() + rng.sym();
            if rng.below(64) == 0 {
                v * 30.0
            } else {
                v
            }
        })
        .collect();
    if zero_blocks {
        for c in x.chunks_mut(32) {
            if rng.below(4) == 0 {
                c.fill(0.0);
            }
        }
    }
    x
}

/// Quantize f32 activations into the partner format of weight type `t`
/// (raw bytes, 4-byte aligned storage for Q8_K).
pub fn quantize_acts(t: QType, x: &[f32]) -> AlignedBytes {
    let at = t.vec_dot_type();
    let mut out = AlignedBytes::zeroed(at.row_bytes(x.len()));
    match at {
        QType::Q8_0 => crate::kernels::quantize::quantize_row_q8_0(x, as_blocks_mut(out.as_mut())),
        QType::Q8_1 => crate::kernels::quantize::quantize_row_q8_1(x, as_blocks_mut(out.as_mut())),
        QType::Q8K => crate::kernels::quantize::quantize_row_q8k(x, as_blocks_mut(out.as_mut())),
        _ => unreachable!(),
    }
    out
}

/// A byte buffer with 8-byte alignment.
pub struct AlignedBytes {
    buf: Vec<u64>,
    len: usize,
}
impl AlignedBytes {
    pub fn zeroed(len: usize) -> Self {
        AlignedBytes { buf: vec![0; len.div_ceil(8)], len }
    }
    pub fn as_ref(&self) -> &[u8] {
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr() as *const u8, self.len) }
    }
    pub fn as_mut(&mut self) -> &mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.buf.as_mut_ptr() as *mut u8, self.len) }
    }
}

/// Allowed |difference| between two implementations of the same dot, given
/// the reference "magnitude" (sum of |terms|) and the number of blocks:
/// (2*nb + 16) * 2^-23 * magnitude. That is a few f32 ulps per term, the most
/// any summation order / FMA contraction can produce.
pub fn dot_tolerance(nb: usize, magnitude: f32) -> f32 {
    (2 * nb + 16) as f32 * f32::EPSILON * magnitude + f32::MIN_POSITIVE
}

/// Ks valid for a type (multiples of its block size) from the test grid.
pub fn ks_for(t: QType) -> Vec<usize> {
    [32usize, 64, 96, 256, 512, 768, 2048].into_iter().filter(|k| k % t.block_size() == 0).collect()
}
