//! AVX2 panel repacking: same output as the portable `pack::pack_panel`
//! (tested bit for bit), ~10x faster. Per 32-value chunk, the 8 rows are
//! unpacked to one byte per value (one ymm per row, the same unpack code as
//! the row-dot kernels) and the 8x8 matrix of 4-byte groups is transposed in
//! registers (24 shuffles) so that each store holds group g of all 8 rows.

use super::{Family, Panel, NR};
use crate::kernels::blocks::{unpack_scales_k4_u32, QType};
use crate::kernels::dot::avx2::{nibbles32, q5_values, q6k_half};
use std::arch::x86_64::*;

/// 8x8 transpose of 32-bit elements: out[g] = [in[0][g], .., in[7][g]].
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn transpose8(r: &[__m256i; 8]) -> [__m256i; 8] {
    let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
    let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
    let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
    let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
    let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    let u0 = _mm256_unpacklo_epi64(t0, t2);
    let u1 = _mm256_unpackhi_epi64(t0, t2);
    let u2 = _mm256_unpacklo_epi64(t1, t3);
    let u3 = _mm256_unpackhi_epi64(t1, t3);
    let u4 = _mm256_unpacklo_epi64(t4, t6);
    let u5 = _mm256_unpackhi_epi64(t4, t6);
    let u6 = _mm256_unpacklo_epi64(t5, t7);
    let u7 = _mm256_unpackhi_epi64(t5, t7);
    [
        _mm256_permute2x128_si256::<0x20>(u0, u4),
        _mm256_permute2x128_si256::<0x20>(u1, u5),
        _mm256_permute2x128_si256::<0x20>(u2, u6),
        _mm256_permute2x128_si256::<0x20>(u3, u7),
        _mm256_permute2x128_si256::<0x31>(u0, u4),
        _mm256_permute2x128_si256::<0x31>(u1, u5),
        _mm256_permute2x128_si256::<0x31>(u2, u6),
        _mm256_permute2x128_si256::<0x31>(u3, u7),
    ]
}

/// Transpose 8 row vectors and store them as the 8 groups of one chunk.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn store_chunk(dst: *mut u8, rows: &[__m256i; 8]) {
    let c = transpose8(rows);
    for (g, v) in c.iter().enumerate() {
        _mm256_storeu_si256(dst.add(g * 32) as *mut __m256i, *v);
    }
}

/// 8 f16 at `p + r*stride` (r < rows, else 0) -> f32x8.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gather_f16(p: *const u8, stride: usize, rows: usize) -> __m256 {
    let mut h = [0u16; 8];
    for (r, h) in h.iter_mut().enumerate().take(rows) {
        *h = (p.add(r * stride) as *const u16).read_unaligned();
    }
    _mm256_cvtph_ps(_mm_loadu_si128(h.as_ptr() as *const __m128i))
}

fn ensure<T: Copy + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() != n {
        v.clear();
        v.resize(n, T::default());
    }
}

/// AVX2 version of `pack::pack_panel` (identical output).
///
/// # Safety
/// CPU must support AVX2+FMA+F16C; `w` holds `rows` (1..=8) rows of
/// `row_bytes` bytes of type `t`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn pack_panel(t: QType, fam: Family, w: &[u8], row_bytes: usize, rows: usize, p: &mut Panel) {
    debug_assert!((1..=NR).contains(&rows) && w.len() >= rows * row_bytes);
    let bs = t.type_size();
    let nb = row_bytes / bs;
    p.nb = nb;
    let zero = _mm256_setzero_si256();
    // Row r's base pointer; absent rows point at row 0 (their values are
    // replaced by zeros below, their scales by 0).
    let base: [*const u8; NR] = std::array::from_fn(|r| w.as_ptr().add(if r < rows { r * row_bytes } else { 0 }));
    match fam {
        Family::LegacyU | Family::LegacyS => {
            ensure(&mut p.qs, nb * 256);
            ensure(&mut p.f, nb * 16);
            p.i.clear();
            let (qs, f) = (p.qs.as_mut_ptr(), p.f.as_mut_ptr());
            let u8_q8 = fam == Family::LegacyU && t == QType::Q8_0;
            for b in 0..nb {
                let mut v = [zero; NR];
                for (r, v) in v.iter_mut().enumerate().take(rows) {
                    let blk = base[r].add(b * bs);
                    *v = match t {
                        QType::Q4_0 => nibbles32(blk.add(2)),
                        QType::Q4_1 => nibbles32(blk.add(4)),
                        QType::Q5_0 => q5_values(blk.add(6), blk.add(2)),
                        QType::Q5_1 => q5_values(blk.add(8), blk.add(4)),
                        _ => {
                            let q = _mm256_loadu_si256(blk.add(2) as *const __m256i);
                            if u8_q8 {
                                _mm256_xor_si256(q, _mm256_set1_epi8(-128)) // q + 128
                            } else {
                                q
                            }
                        }
                    };
                }
                store_chunk(qs.add(b * 256), &v);
                let d = gather_f16(base[0].add(b * bs), row_bytes, rows);
                let off = match t {
                    QType::Q4_0 => _mm256_mul_ps(d, _mm256_set1_ps(-8.0)),
                    QType::Q5_0 => _mm256_mul_ps(d, _mm256_set1_ps(-16.0)),
                    QType::Q4_1 | QType::Q5_1 => gather_f16(base[0].add(b * bs + 2), row_bytes, rows),
                    _ if u8_q8 => _mm256_mul_ps(d, _mm256_set1_ps(-128.0)),
                    _ => _mm256_setzero_ps(),
                };
                _mm256_storeu_ps(f.add(b * NR), d);
                _mm256_storeu_ps(f.add(nb * NR + b * NR), off);
            }
        }
        Family::K4 => {
            ensure(&mut p.qs, nb * 2048);
            ensure(&mut p.f, nb * 16);
            ensure(&mut p.i, nb * 128);
            let (qs, f, iv) = (p.qs.as_mut_ptr(), p.f.as_mut_ptr(), p.i.as_mut_ptr());
            let five = t == QType::Q5K;
            let qs_off = if five { 48 } else { 16 };
            let m4 = _mm256_set1_epi8(0x0f);
            let one = _mm256_set1_epi8(1);
            for sb in 0..nb {
                // scales / mins (scalar; per 256 values)
                let mut sc = [[0u8; 16]; NR];
                for (r, sc) in sc.iter_mut().enumerate().take(rows) {
                    let q: &[u8; 12] = &*(base[r].add(sb * bs + 4) as *const [u8; 12]);
                    let u = unpack_scales_k4_u32(q);
                    for (i, u) in u.iter().enumerate() {
                        sc[4 * i..4 * i + 4].copy_from_slice(&u.to_le_bytes());
                    }
                }
                for s in 0..8 {
                    for r in 0..NR {
                        *iv.add(sb * 64 + s * NR + r) = sc[r][s] as i32 * 0x10001;
                        *iv.add(nb * 64 + sb * 64 + s * NR + r) = sc[r][8 + s] as i32 * 0x10001;
                    }
                }
                _mm256_storeu_ps(f.add(sb * NR), gather_f16(base[0].add(sb * bs), row_bytes, rows));
                _mm256_storeu_ps(f.add(nb * NR + sb * NR), gather_f16(base[0].add(sb * bs + 2), row_bytes, rows));
                // values: chunk c of 32 bytes -> sub-blocks 2c (low nibbles) and 2c+1 (high)
                let mut hb = [zero; NR];
                if five {
                    for (r, h) in hb.iter_mut().enumerate().take(rows) {
                        *h = _mm256_loadu_si256(base[r].add(sb * bs + 16) as *const __m256i);
                    }
                }
                for c in 0..4 {
                    let mut lo = [zero; NR];
                    let mut hi = [zero; NR];
                    for r in 0..rows {
                        let q = _mm256_loadu_si256(base[r].add(sb * bs + qs_off + 32 * c) as *const __m256i);
                        lo[r] = _mm256_and_si256(q, m4);
                        hi[r] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                        if five {
                            lo[r] = _mm256_or_si256(lo[r], _mm256_slli_epi16(_mm256_and_si256(hb[r], one), 4));
                            hb[r] = _mm256_srli_epi16(hb[r], 1);
                            hi[r] = _mm256_or_si256(hi[r], _mm256_slli_epi16(_mm256_and_si256(hb[r], one), 4));
                            hb[r] = _mm256_srli_epi16(hb[r], 1);
                        }
                    }
                    store_chunk(qs.add(sb * 2048 + (2 * c) * 256), &lo);
                    store_chunk(qs.add(sb * 2048 + (2 * c + 1) * 256), &hi);
                }
            }
        }
        Family::Q6K => {
            ensure(&mut p.qs, nb * 2048);
            ensure(&mut p.f, nb * 8);
            ensure(&mut p.i, nb * 192);
            let (qs, f, iv) = (p.qs.as_mut_ptr(), p.f.as_mut_ptr(), p.i.as_mut_ptr());
            let pair = |a: i8, b: i8| ((a as i16 as u16 as u32) | ((b as i16 as u16 as u32) << 16)) as i32;
            for sb in 0..nb {
                for r in 0..NR {
                    let sc: [i8; 16] =
                        if r < rows { *(base[r].add(sb * bs + 192) as *const [i8; 16]) } else { [0; 16] };
                    for s in 0..16 {
                        *iv.add(sb * 128 + s * NR + r) = pair(sc[s], sc[s]);
                    }
                    for pp in 0..8 {
                        *iv.add(nb * 128 + sb * 64 + pp * NR + r) = pair(sc[2 * pp], sc[2 * pp + 1]);
                    }
                }
                _mm256_storeu_ps(f.add(sb * NR), gather_f16(base[0].add(sb * bs + 208), row_bytes, rows));
                for h in 0..2 {
                    let mut v = [[zero; 4]; NR];
                    for (r, v) in v.iter_mut().enumerate().take(rows) {
                        let blk = base[r].add(sb * bs);
                        *v = q6k_half(blk.add(64 * h), blk.add(128 + 32 * h));
                    }
                    for t4 in 0..4 {
                        let rowsv: [__m256i; NR] = std::array::from_fn(|r| v[r][t4]);
                        store_chunk(qs.add(sb * 2048 + (4 * h + t4) * 256), &rowsv);
                    }
                }
            }
        }
    }
}
