//! AVX2 GEMM micro-kernels: MR activation rows x one 8-row panel.
//!
//! Each kernel computes `out[i*ldo + c]` for i < MR, c < ncols (<= 8) over
//! the whole k range. The inner step multiplies one 32-byte panel load (4
//! values of each of 8 weight rows) with 4 activation bytes broadcast to all
//! lanes: `vpmaddubsw` gives i16 pair sums, several of which are added in i16
//! while no overflow is possible, then `vpmaddwd` widens to i32 (with ones,
//! or with the k-quant sub-block scales).
//!
//! i16 headroom (|x| <= 127): one `vpmaddubsw` lane <= 2*15*127 = 3810 for
//! 4-bit values, 7874 for 5-bit, 16002 for 6-bit. So 8 groups can be summed
//! for 4-bit, 4 for 5-bit, 2 for 6-bit before widening.

use super::{Acts, Panel, NR};
use std::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn bcast4(p: *const u8) -> __m256i {
    _mm256_set1_epi32((p as *const i32).read_unaligned())
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn load(p: *const u8) -> __m256i {
    _mm256_loadu_si256(p as *const __m256i)
}

/// Store the MR accumulators (8 columns each), only `ncols` columns.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn store<const MR: usize>(acc: &[__m256; MR], out: *mut f32, ldo: usize, ncols: usize) {
    for (i, a) in acc.iter().enumerate() {
        if ncols == NR {
            _mm256_storeu_ps(out.add(i * ldo), *a);
        } else {
            let mut tmp = [0f32; NR];
            _mm256_storeu_ps(tmp.as_mut_ptr(), *a);
            std::ptr::copy_nonoverlapping(tmp.as_ptr(), out.add(i * ldo), ncols);
        }
    }
}

/// Pointers to the MR activation rows.
#[inline(always)]
pub(crate) fn rows<const MR: usize>(a: &Acts, i0: usize) -> [*const u8; MR] {
    std::array::from_fn(|i| unsafe { a.data.as_ptr().add((i0 + i) * a.row_bytes) })
}

/// Legacy 32-blocks, unsigned values (Q4_0, Q4_1, Q5_0, Q5_1).
/// `WIDE`: values are 4-bit, so all 8 groups fit in i16 before widening.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn legacy_u<const MR: usize, const WIDE: bool>(
    p: &Panel,
    a: &Acts,
    i0: usize,
    out: *mut f32,
    ldo: usize,
    ncols: usize,
) {
    let nb = p.nb;
    let ones = _mm256_set1_epi16(1);
    let xr = rows::<MR>(a, i0);
    let (pd, poff) = (p.f.as_ptr(), p.f.as_ptr().add(nb * NR));
    let mut acc = [_mm256_setzero_ps(); MR];
    for b in 0..nb {
        let wq = p.qs.as_ptr().add(b * 256);
        let xo = b * a.block_bytes + a.qs_off;
        let mut isum = [_mm256_setzero_si256(); MR];
        let groups_per_sum = if WIDE { 8 } else { 4 };
        for h in 0..8 / groups_per_sum {
            let mut t = [_mm256_setzero_si256(); MR];
            for g in h * groups_per_sum..(h + 1) * groups_per_sum {
                let w = load(wq.add(g * 32));
                for i in 0..MR {
                    let x = bcast4(xr[i].add(xo + 4 * g));
                    t[i] = _mm256_add_epi16(t[i], _mm256_maddubs_epi16(w, x));
                }
            }
            for i in 0..MR {
                isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(t[i], ones));
            }
        }
        let d = _mm256_loadu_ps(pd.add(b * NR));
        let off = _mm256_loadu_ps(poff.add(b * NR));
        for i in 0..MR {
            let k = (i0 + i) * a.nb + b;
            let dd = _mm256_mul_ps(d, _mm256_set1_ps(*a.dx.get_unchecked(k)));
            acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), dd, acc[i]);
            acc[i] = _mm256_fmadd_ps(off, _mm256_set1_ps(*a.sx.get_unchecked(k)), acc[i]);
        }
    }
    store(&acc, out, ldo, ncols);
}

/// Q8_0 weights as signed bytes (sign trick: |w| * (x * sign(w))).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn legacy_s<const MR: usize>(
    p: &Panel,
    a: &Acts,
    i0: usize,
    out: *mut f32,
    ldo: usize,
    ncols: usize,
) {
    let nb = p.nb;
    let ones = _mm256_set1_epi16(1);
    let xr = rows::<MR>(a, i0);
    let pd = p.f.as_ptr();
    let mut acc = [_mm256_setzero_ps(); MR];
    for b in 0..nb {
        let wq = p.qs.as_ptr().add(b * 256);
        let xo = b * a.block_bytes + a.qs_off;
        let mut isum = [_mm256_setzero_si256(); MR];
        for g in 0..8 {
            let w = load(wq.add(g * 32));
            let aw = _mm256_sign_epi8(w, w);
            for i in 0..MR {
                let x = _mm256_sign_epi8(bcast4(xr[i].add(xo + 4 * g)), w);
                isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, x), ones));
            }
        }
        let d = _mm256_loadu_ps(pd.add(b * NR));
        for i in 0..MR {
            let dd = _mm256_mul_ps(d, _mm256_set1_ps(*a.dx.get_unchecked((i0 + i) * a.nb + b)));
            acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), dd, acc[i]);
        }
    }
    store(&acc, out, ldo, ncols);
}

/// Offsets inside a Q8_K block.
pub(crate) const Q8K_QS: usize = 4;
pub(crate) const Q8K_BSUMS: usize = 4 + 256;
pub(crate) const Q8K_BYTES: usize = 292;

/// Q4_K (`FIVE = false`) and Q5_K (`FIVE = true`) against Q8_K.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn k4<const MR: usize, const FIVE: bool>(
    p: &Panel,
    a: &Acts,
    i0: usize,
    out: *mut f32,
    ldo: usize,
    ncols: usize,
) {
    let nsb = p.nb;
    let xr = rows::<MR>(a, i0);
    let (pd, pdmin) = (p.f.as_ptr(), p.f.as_ptr().add(nsb * NR));
    let (psc, pmn) = (p.i.as_ptr(), p.i.as_ptr().add(nsb * 64));
    let mut acc = [_mm256_setzero_ps(); MR];
    for sb in 0..nsb {
        let xo = sb * Q8K_BYTES;
        let mut isum = [_mm256_setzero_si256(); MR];
        let mut imin = [_mm256_setzero_si256(); MR];
        for s in 0..8 {
            let wq = p.qs.as_ptr().add(sb * 2048 + s * 256);
            let scv = _mm256_loadu_si256(psc.add(sb * 64 + s * NR) as *const __m256i);
            let groups_per_sum = if FIVE { 4 } else { 8 };
            for h in 0..8 / groups_per_sum {
                let mut t = [_mm256_setzero_si256(); MR];
                for g in h * groups_per_sum..(h + 1) * groups_per_sum {
                    let w = load(wq.add(g * 32));
                    for i in 0..MR {
                        let x = bcast4(xr[i].add(xo + Q8K_QS + 32 * s + 4 * g));
                        t[i] = _mm256_add_epi16(t[i], _mm256_maddubs_epi16(w, x));
                    }
                }
                for i in 0..MR {
                    isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(t[i], scv));
                }
            }
            // mins: lane r += m[r][s] * (bsums[2s] + bsums[2s+1])
            let mnv = _mm256_loadu_si256(pmn.add(sb * 64 + s * NR) as *const __m256i);
            for i in 0..MR {
                let bs = bcast4(xr[i].add(xo + Q8K_BSUMS + 4 * s));
                imin[i] = _mm256_add_epi32(imin[i], _mm256_madd_epi16(mnv, bs));
            }
        }
        let d = _mm256_loadu_ps(pd.add(sb * NR));
        let dmin = _mm256_loadu_ps(pdmin.add(sb * NR));
        for i in 0..MR {
            let dx = _mm256_set1_ps((xr[i].add(xo) as *const f32).read_unaligned());
            acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), _mm256_mul_ps(d, dx), acc[i]);
            acc[i] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(imin[i]), _mm256_mul_ps(dmin, dx), acc[i]);
        }
    }
    store(&acc, out, ldo, ncols);
}

/// Q6_K against Q8_K.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn q6k<const MR: usize>(p: &Panel, a: &Acts, i0: usize, out: *mut f32, ldo: usize, ncols: usize) {
    let nsb = p.nb;
    let xr = rows::<MR>(a, i0);
    let pd = p.f.as_ptr();
    let (psc, pscp) = (p.i.as_ptr(), p.i.as_ptr().add(nsb * 128));
    let mut acc = [_mm256_setzero_ps(); MR];
    for sb in 0..nsb {
        let xo = sb * Q8K_BYTES;
        let mut isum = [_mm256_setzero_si256(); MR];
        for c in 0..8 {
            let wq = p.qs.as_ptr().add(sb * 2048 + c * 256);
            // two 16-value sub-blocks per 32-chunk; 2 groups summed in i16
            for q in 0..4 {
                let scv = _mm256_loadu_si256(psc.add(sb * 128 + (2 * c + q / 2) * NR) as *const __m256i);
                let w0 = load(wq.add(2 * q * 32));
                let w1 = load(wq.add((2 * q + 1) * 32));
                for i in 0..MR {
                    let x0 = bcast4(xr[i].add(xo + Q8K_QS + 32 * c + 8 * q));
                    let x1 = bcast4(xr[i].add(xo + Q8K_QS + 32 * c + 8 * q + 4));
                    let t = _mm256_add_epi16(_mm256_maddubs_epi16(w0, x0), _mm256_maddubs_epi16(w1, x1));
                    isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(t, scv));
                }
            }
        }
        // -32 offset: isum -= 32 * sum_s sc[s] * bsums[s]
        let mut corr = [_mm256_setzero_si256(); MR];
        for pp in 0..8 {
            let scp = _mm256_loadu_si256(pscp.add(sb * 64 + pp * NR) as *const __m256i);
            for i in 0..MR {
                let bs = bcast4(xr[i].add(xo + Q8K_BSUMS + 4 * pp));
                corr[i] = _mm256_add_epi32(corr[i], _mm256_madd_epi16(scp, bs));
            }
        }
        let d = _mm256_loadu_ps(pd.add(sb * NR));
        for i in 0..MR {
            let dx = _mm256_set1_ps((xr[i].add(xo) as *const f32).read_unaligned());
            let v = _mm256_sub_epi32(isum[i], _mm256_slli_epi32(corr[i], 5));
            acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_mul_ps(d, dx), acc[i]);
        }
    }
    store(&acc, out, ldo, ncols);
}
