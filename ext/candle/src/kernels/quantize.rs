//! Activation quantization: f32 rows -> Q8_0 / Q8_1 / Q8_K.
//!
//! Bit-exact with ggml's reference functions in `ggml-quants.c`:
//! * `quantize_row_q8_0_ref` / `quantize_row_q8_1_ref`: `d = amax/127`,
//!   `id = 1/d` (0 if d == 0), `q = roundf(x*id)` -- round half **away** from
//!   zero -- and `d` stored as f16; Q8_1 also stores `s = f16(sum(q) * d)`.
//! * `quantize_row_q8_K_ref`: `max` = the first element with the largest |x|,
//!   `iscale = -127/max`, `q = min(127, nearest_int(iscale*x))` where
//!   `nearest_int` rounds half to **even** (the 1.5*2^23 magic-number trick),
//!   `d = 1/iscale` (f32, negative when max > 0), `bsums[j]` = sum of 16 q's.
//!   An all-zero block gives d = 0, q = 0, bsums = 0.
//!
//! Note: ggml's *x86 runtime* `quantize_row_q8_0/q8_1` (arch/x86/quants.c)
//! differ slightly from the reference: they multiply by `127/amax` and round
//! half to even (`_mm256_round_ps`). Results differ from the reference only in
//! rare last-bit ties; we follow the reference because it is well defined and
//! our SIMD versions reproduce it bit for bit.
//!
//! The public functions dispatch to an AVX2 implementation when available;
//! the `*_ref` functions are the scalar reference.

use crate::kernels::blocks::{BlockQ8K, BlockQ8_0, BlockQ8_1, QK, QK_K};
use crate::kernels::f16::f32_to_f16le;

/// `roundf` semantics (half away from zero) for |v| < 2^31, without libm.
#[inline]
pub fn round_half_away(v: f32) -> i32 {
    let t = v as i32; // truncation toward zero (saturating)
    let frac = v - t as f32; // exact for |v| < 2^23
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    }
}

/// ggml's `nearest_int`: round half to even via the 1.5*2^23 trick
/// (valid for |v| <= 2^22).
#[inline]
pub fn nearest_int(v: f32) -> i32 {
    let f = v + 12_582_912.0;
    ((f.to_bits() & 0x007f_ffff) as i32) - 0x0040_0000
}

/// Scalar reference: one 32-value block to Q8_0. Returns (d as f32 before
/// f16 rounding, q, sum(q)).
#[inline]
fn q8_block_ref(x: &[f32]) -> (f32, [i8; QK], i32) {
    let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut q = [0i8; QK];
    let mut sum = 0i32;
    for (q, &v) in q.iter_mut().zip(x) {
        let r = round_half_away(v * id);
        *q = r as i8;
        sum += r;
    }
    (d, q, sum)
}

/// Scalar reference of `quantize_row_q8_0`. `x.len() == 32 * out.len()`.
pub fn quantize_row_q8_0_ref(x: &[f32], out: &mut [BlockQ8_0]) {
    assert_eq!(x.len(), out.len() * QK);
    for (o, x) in out.iter_mut().zip(x.chunks_exact(QK)) {
        let (d, qs, _) = q8_block_ref(x);
        *o = BlockQ8_0 { d: f32_to_f16le(d), qs };
    }
}

/// Scalar reference of `quantize_row_q8_1`. `x.len() == 32 * out.len()`.
pub fn quantize_row_q8_1_ref(x: &[f32], out: &mut [BlockQ8_1]) {
    assert_eq!(x.len(), out.len() * QK);
    for (o, x) in out.iter_mut().zip(x.chunks_exact(QK)) {
        let (d, qs, sum) = q8_block_ref(x);
        *o = BlockQ8_1 { d: f32_to_f16le(d), s: f32_to_f16le(sum as f32 * d), qs };
    }
}

/// Scalar reference of `quantize_row_q8_K`. `x.len() == 256 * out.len()`.
pub fn quantize_row_q8k_ref(x: &[f32], out: &mut [BlockQ8K]) {
    assert_eq!(x.len(), out.len() * QK_K);
    for (o, x) in out.iter_mut().zip(x.chunks_exact(QK_K)) {
        let mut max = 0.0f32;
        let mut amax = 0.0f32;
        for &v in x {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            *o = BlockQ8K::ZERO;
            continue;
        }
        let iscale = -127.0 / max;
        for (q, &v) in o.qs.iter_mut().zip(x) {
            *q = nearest_int(iscale * v).min(127) as i8;
        }
        for (j, b) in o.bsums.iter_mut().enumerate() {
            *b = o.qs[16 * j..16 * j + 16].iter().map(|&q| q as i16).sum();
        }
        o.d = 1.0 / iscale;
    }
}

/// Quantize `x` to Q8_0 (fastest available implementation; bit-identical to
/// [`quantize_row_q8_0_ref`]).
pub fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    assert_eq!(x.len(), out.len() * QK);
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::has_avx2() {
        // SAFETY: AVX2/FMA/F16C checked; lengths checked above.
        unsafe { x86::quantize_q8_0(x, out) };
        return;
    }
    quantize_row_q8_0_ref(x, out)
}

/// Quantize `x` to Q8_1 (bit-identical to [`quantize_row_q8_1_ref`]).
pub fn quantize_row_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    assert_eq!(x.len(), out.len() * QK);
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::has_avx2() {
        // SAFETY: as above.
        unsafe { x86::quantize_q8_1(x, out) };
        return;
    }
    quantize_row_q8_1_ref(x, out)
}

/// Quantize `x` to Q8_K (bit-identical to [`quantize_row_q8k_ref`]).
pub fn quantize_row_q8k(x: &[f32], out: &mut [BlockQ8K]) {
    assert_eq!(x.len(), out.len() * QK_K);
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::cpu::has_avx2() {
        // SAFETY: as above.
        unsafe { x86::quantize_q8k(x, out) };
        return;
    }
    quantize_row_q8k_ref(x, out)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2 quantizers. Same arithmetic as the scalar reference, so the
    //! results are bit-identical: the products `x*id` are the same IEEE
    //! multiplications, and rounding is done exactly (see `round_away`).
    use super::*;
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn abs_max(x: *const f32, n: usize) -> f32 {
        let sign = _mm256_set1_ps(-0.0);
        let mut m = _mm256_setzero_ps();
        for i in (0..n).step_by(8) {
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x.add(i))));
        }
        let m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        let m2 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        let m1 = _mm_max_ss(m2, _mm_movehdup_ps(m2));
        _mm_cvtss_f32(m1)
    }

    /// Round half away from zero, exactly like `roundf` (|v| < 2^23).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn round_away(v: __m256) -> __m256i {
        let sign = _mm256_set1_ps(-0.0);
        let a = _mm256_andnot_ps(sign, v); // |v|
        let t = _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(a);
        let up = _mm256_cmp_ps::<_CMP_GE_OQ>(_mm256_sub_ps(a, t), _mm256_set1_ps(0.5));
        let r = _mm256_add_ps(t, _mm256_and_ps(up, _mm256_set1_ps(1.0)));
        _mm256_cvttps_epi32(_mm256_or_ps(r, _mm256_and_ps(v, sign)))
    }

    /// Pack 4x8 i32 (each in -128..=127) into 32 i8 in element order.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn pack_i32x32(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        let ab = _mm256_packs_epi32(a, b); // a0-3 b0-3 | a4-7 b4-7
        let cd = _mm256_packs_epi32(c, d);
        let abcd = _mm256_packs_epi16(ab, cd); // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
        _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
    }

    /// One 32-block: returns (d, packed q, sum q).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q8_block(x: *const f32) -> (f32, __m256i, i32) {
        let amax = abs_max(x, 32);
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let vid = _mm256_set1_ps(id);
        let q0 = round_away(_mm256_mul_ps(_mm256_loadu_ps(x), vid));
        let q1 = round_away(_mm256_mul_ps(_mm256_loadu_ps(x.add(8)), vid));
        let q2 = round_away(_mm256_mul_ps(_mm256_loadu_ps(x.add(16)), vid));
        let q3 = round_away(_mm256_mul_ps(_mm256_loadu_ps(x.add(24)), vid));
        let s = _mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3));
        (d, pack_i32x32(q0, q1, q2, q3), hsum_i32(s))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn hsum_i32(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
        for (i, o) in out.iter_mut().enumerate() {
            let (d, q, _) = q8_block(x.as_ptr().add(i * QK));
            o.d = f32_to_f16le(d);
            _mm256_storeu_si256(o.qs.as_mut_ptr() as *mut __m256i, q);
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
        for (i, o) in out.iter_mut().enumerate() {
            let (d, q, sum) = q8_block(x.as_ptr().add(i * QK));
            o.d = f32_to_f16le(d);
            o.s = f32_to_f16le(sum as f32 * d);
            _mm256_storeu_si256(o.qs.as_mut_ptr() as *mut __m256i, q);
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn quantize_q8k(x: &[f32], out: &mut [BlockQ8K]) {
        for (i, o) in out.iter_mut().enumerate() {
            let xb = x.as_ptr().add(i * QK_K);
            let amax = abs_max(xb, QK_K);
            if amax == 0.0 {
                *o = BlockQ8K::ZERO;
                continue;
            }
            // ggml keeps the *first* element with the largest magnitude.
            let mut max = 0.0;
            for j in 0..QK_K {
                if (*xb.add(j)).abs() == amax {
                    max = *xb.add(j);
                    break;
                }
            }
            let iscale = -127.0 / max;
            let vs = _mm256_set1_ps(iscale);
            let lim = _mm256_set1_epi32(127);
            let ones = _mm256_set1_epi16(1);
            for c in 0..QK_K / 32 {
                let mut q = [_mm256_setzero_si256(); 4];
                for (t, q) in q.iter_mut().enumerate() {
                    let v = _mm256_mul_ps(_mm256_loadu_ps(xb.add(32 * c + 8 * t)), vs);
                    // round-half-even == nearest_int for |v| <= 2^22
                    let r = _mm256_cvtps_epi32(_mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v));
                    *q = _mm256_min_epi32(r, lim);
                }
                let packed = pack_i32x32(q[0], q[1], q[2], q[3]);
                _mm256_storeu_si256(o.qs.as_mut_ptr().add(32 * c) as *mut __m256i, packed);
                // bsums of the two 16-element halves of this 32 chunk.
                let s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), packed); // pairs
                let s32 = _mm256_madd_epi16(s16, ones); // quads: 4 per 128-bit lane
                let lo = _mm256_castsi256_si128(s32);
                let hi = _mm256_extracti128_si256(s32, 1);
                let lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0b01_00_11_10));
                let hi = _mm_add_epi32(hi, _mm_shuffle_epi32(hi, 0b01_00_11_10));
                let lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0b10_11_00_01));
                let hi = _mm_add_epi32(hi, _mm_shuffle_epi32(hi, 0b10_11_00_01));
                o.bsums[2 * c] = _mm_cvtsi128_si32(lo) as i16;
                o.bsums[2 * c + 1] = _mm_cvtsi128_si32(hi) as i16;
            }
            o.d = 1.0 / iscale;
        }
    }
}
