//! AVX2 + FMA + F16C dot products (x86-64), one weight row . one activation
//! row, raw GGML layouts. Selected at run time; never call without checking
//! `cpu::has_avx2()`.
//!
//! Integer parts are exact (same integers as `scalar.rs`); only the f32
//! accumulation order differs. Technique: 4/5/6-bit weights stay *unsigned*
//! (0..15 / 0..31 / 0..63) so `vpmaddubsw(u8 w, i8 a)` applies directly with no
//! sign juggling; the "-8"/"-16" offsets of Q4_0/Q5_0 are removed with a second
//! `vpmaddubsw` by the constant 8/16, the "-32" of Q6_K through the Q8_K block
//! sums. No saturation is possible: |pair| <= 2*63*127 < 32767.
//!
//! Precondition (as in ggml): activation values are in -127..=127, which the
//! quantizers in this crate guarantee (-128 would break the Q8_0 sign trick).
//!
//! # Safety (all `pub unsafe fn` here)
//! The CPU must support AVX2+FMA+F16C, and `w` / `a` must point to `nb`
//! blocks of the weight type / its partner activation type.
#![allow(clippy::missing_safety_doc)]

use crate::kernels::blocks::*;
use std::arch::x86_64::*;

// ---------------------------------------------------------------------------
// Helpers shared with the GEMM kernels (same target features -> inlined).
// ---------------------------------------------------------------------------

/// f16 (2 little-endian bytes at `p`) -> f32 via F16C.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f16x(p: *const u8) -> f32 {
    let h = (p as *const u16).read_unaligned();
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    hsum_ps128(s)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn hsum_ps128(s: __m128) -> f32 {
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// 16 bytes of packed nibbles -> 32 bytes (low nibbles first, then high),
/// i.e. the 32 values of a Q4_0/Q4_1 block in element order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn nibbles32(p: *const u8) -> __m256i {
    // 16 bytes in both lanes (a pure load), the high lane shifted right by 4
    let t = _mm256_broadcastsi128_si256(_mm_loadu_si128(p as *const __m128i));
    let v = _mm256_srlv_epi32(t, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    _mm256_and_si256(v, _mm256_set1_epi8(0x0f))
}

/// Bit j of `x` -> byte j = 0xFF or 0x00.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn bits_to_bytes(x: u32) -> __m256i {
    // Byte j receives byte j/8 of x ...
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(x as i32),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0),
    );
    // ... then all bits but bit (j%8) are forced on; all-ones iff that bit was set.
    let forced = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe_u64 as i64));
    _mm256_cmpeq_epi8(forced, _mm256_set1_epi64x(-1))
}

/// The 32 unsigned 5-bit values of a Q5_0/Q5_1 block.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn q5_values(qs: *const u8, qh: *const u8) -> __m256i {
    let h = (qh as *const u32).read_unaligned();
    let hi = _mm256_and_si256(bits_to_bytes(h), _mm256_set1_epi8(0x10));
    _mm256_or_si256(nibbles32(qs), hi)
}

/// Sum of the 8 i16 pairs products -> 8 i32 lanes: `madd(maddubs(u, s), 1)`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_us8(u: __m256i, s: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
}

/// Unsigned values with offset: sum (u - off) * s as 8 i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_us8_off(u: __m256i, off: __m256i, s: __m256i) -> __m256i {
    let p = _mm256_sub_epi16(_mm256_maddubs_epi16(u, s), _mm256_maddubs_epi16(off, s));
    _mm256_madd_epi16(p, _mm256_set1_epi16(1))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load(p: *const i8) -> __m256i {
    _mm256_loadu_si256(p as *const __m256i)
}

// ---------------------------------------------------------------------------
// Legacy 32-element blocks. Two independent accumulators hide FMA latency.
// ---------------------------------------------------------------------------

/// Q4_0 . Q8_0
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q4_0(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let (w, a) = (w as *const BlockQ4_0, a as *const BlockQ8_0);
    let off = _mm256_set1_epi8(8);
    let mut acc = [_mm256_setzero_ps(); 2];
    for i in 0..nb {
        let (wb, ab) = (&*w.add(i), &*a.add(i));
        let d = _mm256_set1_ps(f16x(wb.d.as_ptr()) * f16x(ab.d.as_ptr()));
        let s = dot_us8_off(nibbles32(wb.qs.as_ptr()), off, load(ab.qs.as_ptr()));
        acc[i & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[i & 1]);
    }
    hsum_ps(_mm256_add_ps(acc[0], acc[1]))
}

/// Q4_1 . Q8_1
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q4_1(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let (w, a) = (w as *const BlockQ4_1, a as *const BlockQ8_1);
    let mut acc = [_mm256_setzero_ps(); 2];
    let mut summs = 0.0f32;
    for i in 0..nb {
        let (wb, ab) = (&*w.add(i), &*a.add(i));
        let da = f16x(ab.d.as_ptr());
        summs += f16x(wb.m.as_ptr()) * f16x(ab.s.as_ptr());
        let d = _mm256_set1_ps(f16x(wb.d.as_ptr()) * da);
        let s = dot_us8(nibbles32(wb.qs.as_ptr()), load(ab.qs.as_ptr()));
        acc[i & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[i & 1]);
    }
    hsum_ps(_mm256_add_ps(acc[0], acc[1])) + summs
}

/// Q5_0 . Q8_0
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q5_0(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let (w, a) = (w as *const BlockQ5_0, a as *const BlockQ8_0);
    let off = _mm256_set1_epi8(16);
    let mut acc = [_mm256_setzero_ps(); 2];
    for i in 0..nb {
        let (wb, ab) = (&*w.add(i), &*a.add(i));
        let d = _mm256_set1_ps(f16x(wb.d.as_ptr()) * f16x(ab.d.as_ptr()));
        let q = q5_values(wb.qs.as_ptr(), wb.qh.as_ptr());
        let s = dot_us8_off(q, off, load(ab.qs.as_ptr()));
        acc[i & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[i & 1]);
    }
    hsum_ps(_mm256_add_ps(acc[0], acc[1]))
}

/// Q5_1 . Q8_1
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q5_1(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let (w, a) = (w as *const BlockQ5_1, a as *const BlockQ8_1);
    let mut acc = [_mm256_setzero_ps(); 2];
    let mut summs = 0.0f32;
    for i in 0..nb {
        let (wb, ab) = (&*w.add(i), &*a.add(i));
        summs += f16x(wb.m.as_ptr()) * f16x(ab.s.as_ptr());
        let d = _mm256_set1_ps(f16x(wb.d.as_ptr()) * f16x(ab.d.as_ptr()));
        let q = q5_values(wb.qs.as_ptr(), wb.qh.as_ptr());
        let s = dot_us8(q, load(ab.qs.as_ptr()));
        acc[i & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[i & 1]);
    }
    hsum_ps(_mm256_add_ps(acc[0], acc[1])) + summs
}

/// Q8_0 . Q8_0 (sign trick: |w| * (a * sign(w)); exact for w in -128..=127).
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q8_0(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let (w, a) = (w as *const BlockQ8_0, a as *const BlockQ8_0);
    let mut acc = [_mm256_setzero_ps(); 2];
    for i in 0..nb {
        let (wb, ab) = (&*w.add(i), &*a.add(i));
        let d = _mm256_set1_ps(f16x(wb.d.as_ptr()) * f16x(ab.d.as_ptr()));
        let wq = load(wb.qs.as_ptr());
        let s = dot_us8(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(load(ab.qs.as_ptr()), wq));
        acc[i & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[i & 1]);
    }
    hsum_ps(_mm256_add_ps(acc[0], acc[1]))
}

// ---------------------------------------------------------------------------
// K-quants . Q8_K
// ---------------------------------------------------------------------------

/// Broadcast the i16 at index `s` (0..8) of each 128-bit lane to all 8 i16
/// of that lane. (`v` usually holds the same 8 values in both lanes.)
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bcast_i16(v: __m256i, s: usize) -> __m256i {
    let lo = (2 * s) as i16;
    _mm256_shuffle_epi8(v, _mm256_set1_epi16(((lo + 1) << 8) | lo))
}

/// Common part of Q4_K and Q5_K: given the 8 sub-block value vectors
/// (32 unsigned bytes each) returns the scaled integer sum and adds the mins
/// term to `accm`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn k4_mins(scales: &[u8; 12], ab: &BlockQ8K, dmin: f32, accm: &mut __m128) -> __m256i {
    let u = unpack_scales_k4_u32(scales);
    let sm = _mm_set_epi32(u[3] as i32, u[2] as i32, u[1] as i32, u[0] as i32);
    let mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm));
    let bs = _mm256_loadu_si256(ab.bsums.as_ptr() as *const __m256i);
    let bs8 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    let prod = _mm_madd_epi16(mins, bs8);
    *accm = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), *accm);
    // scales as 8 i16, duplicated into both lanes
    _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm))
}

/// Q4_K . Q8_K
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q4k(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let (w, a) = (w as *const BlockQ4K, a as *const BlockQ8K);
    let m4 = _mm256_set1_epi8(0x0f);
    let mut acc = _mm256_setzero_ps();
    let mut accm = _mm_setzero_ps();
    for i in 0..nb {
        let (wb, ab) = (&*w.add(i), &*a.add(i));
        let d = f16x(wb.d.as_ptr()) * ab.d;
        let dmin = f16x(wb.dmin.as_ptr()) * ab.d;
        let sc = k4_mins(&wb.scales, ab, dmin, &mut accm);
        let mut sumi = _mm256_setzero_si256();
        for c in 0..4 {
            let qb = _mm256_loadu_si256(wb.qs.as_ptr().add(32 * c) as *const __m256i);
            let lo = _mm256_and_si256(qb, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4);
            let plo = _mm256_maddubs_epi16(lo, load(ab.qs.as_ptr().add(64 * c)));
            let phi = _mm256_maddubs_epi16(hi, load(ab.qs.as_ptr().add(64 * c + 32)));
            let plo = _mm256_madd_epi16(plo, bcast_i16(sc, 2 * c));
            let phi = _mm256_madd_epi16(phi, bcast_i16(sc, 2 * c + 1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(plo, phi));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc) - hsum_ps128(accm)
}

/// Q5_K . Q8_K
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q5k(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let (w, a) = (w as *const BlockQ5K, a as *const BlockQ8K);
    let m4 = _mm256_set1_epi8(0x0f);
    let one = _mm256_set1_epi8(1);
    let mut acc = _mm256_setzero_ps();
    let mut accm = _mm_setzero_ps();
    for i in 0..nb {
        let (wb, ab) = (&*w.add(i), &*a.add(i));
        let d = f16x(wb.d.as_ptr()) * ab.d;
        let dmin = f16x(wb.dmin.as_ptr()) * ab.d;
        let sc = k4_mins(&wb.scales, ab, dmin, &mut accm);
        let mut hb = _mm256_loadu_si256(wb.qh.as_ptr() as *const __m256i);
        let mut sumi = _mm256_setzero_si256();
        for c in 0..4 {
            let qb = _mm256_loadu_si256(wb.qs.as_ptr().add(32 * c) as *const __m256i);
            // bit 2c of qh[l] -> +16 for the low nibbles, bit 2c+1 for the high ones
            let lo = _mm256_or_si256(_mm256_and_si256(qb, m4), _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
            hb = _mm256_srli_epi16(hb, 1);
            let hi = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4),
                _mm256_slli_epi16(_mm256_and_si256(hb, one), 4),
            );
            hb = _mm256_srli_epi16(hb, 1);
            let plo = _mm256_maddubs_epi16(lo, load(ab.qs.as_ptr().add(64 * c)));
            let phi = _mm256_maddubs_epi16(hi, load(ab.qs.as_ptr().add(64 * c + 32)));
            let plo = _mm256_madd_epi16(plo, bcast_i16(sc, 2 * c));
            let phi = _mm256_madd_epi16(phi, bcast_i16(sc, 2 * c + 1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(plo, phi));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc) - hsum_ps128(accm)
}

/// The 4 vectors of 32 unsigned 6-bit values of one 128-element half of a
/// Q6_K block (`ql`: 64 bytes, `qh`: 32 bytes).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn q6k_half(ql: *const u8, qh: *const u8) -> [__m256i; 4] {
    let m4 = _mm256_set1_epi8(0x0f);
    let m3 = _mm256_set1_epi8(0x03);
    let qa = _mm256_loadu_si256(ql as *const __m256i);
    let qb = _mm256_loadu_si256(ql.add(32) as *const __m256i);
    let h = _mm256_loadu_si256(qh as *const __m256i);
    // bits 2t..2t+2 of qh -> value bits 4..6 of the t-th vector
    let h0 = _mm256_slli_epi16(_mm256_and_si256(h, m3), 4);
    let h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m3), 4);
    let h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m3), 4);
    let h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m3), 4);
    [
        _mm256_or_si256(_mm256_and_si256(qa, m4), h0),
        _mm256_or_si256(_mm256_and_si256(qb, m4), h1),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), m4), h2),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4), h3),
    ]
}

/// Q6_K . Q8_K
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q6k(nb: usize, w: *const u8, a: *const u8) -> f32 {
    let (w, a) = (w as *const BlockQ6K, a as *const BlockQ8K);
    let mut acc = _mm256_setzero_ps();
    for i in 0..nb {
        let (wb, ab) = (&*w.add(i), &*a.add(i));
        let d = f16x(wb.d.as_ptr()) * ab.d;
        let sc8 = _mm_loadu_si128(wb.scales.as_ptr() as *const __m128i);
        // -32 offset: subtract 32 * sum_s sc[s] * bsums[s]
        let sc16 = _mm256_cvtepi8_epi16(sc8);
        let bs = _mm256_loadu_si256(ab.bsums.as_ptr() as *const __m256i);
        let corr = _mm256_slli_epi32(_mm256_madd_epi16(sc16, bs), 5);
        let mut sumi = _mm256_setzero_si256();
        for h in 0..2 {
            let v = q6k_half(wb.ql.as_ptr().add(64 * h), wb.qh.as_ptr().add(32 * h));
            for (t, v) in v.iter().enumerate() {
                let s0 = (8 * h + 2 * t) as i8;
                // i16 lanes 0..8 (elements 0..16) get sc[s0], lanes 8..16 sc[s0+1]
                let sel = _mm_set_epi64x(i64::from_ne_bytes([(s0 + 1) as u8; 8]), i64::from_ne_bytes([s0 as u8; 8]));
                let scv = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, sel));
                let p = _mm256_maddubs_epi16(*v, load(ab.qs.as_ptr().add(128 * h + 32 * t)));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scv));
            }
        }
        sumi = _mm256_sub_epi32(sumi, corr);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc)
}
