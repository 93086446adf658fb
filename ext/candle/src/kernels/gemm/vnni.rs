//! AVX512-VNNI GEMM micro-kernels (256-bit `vpdpbusd`, AVX512-VL encoding):
//! one instruction per (panel group, activation row) replaces
//! `vpmaddubsw` + `vpaddw` + share of `vpmaddwd`, with exact i32
//! accumulation (no i16 headroom limits). With AVX-512 there are 32 vector
//! registers, so larger MR fits. Q8_0 panels are stored +128 (unsigned) and
//! use the legacy kernel with offset -128*d.
//!
//! Same layouts, same results as the AVX2 kernels (integer parts identical).

use super::avx2::{bcast4, load, rows, store, Q8K_BSUMS, Q8K_BYTES, Q8K_QS};
use super::{Acts, Panel, NR};
use std::arch::x86_64::*;

/// Legacy 32-blocks with unsigned values (all five legacy types).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn legacy<const MR: usize>(p: &Panel, a: &Acts, i0: usize, out: *mut f32, ldo: usize, ncols: usize) {
    let nb = p.nb;
    let xr = rows::<MR>(a, i0);
    let (pd, poff) = (p.f.as_ptr(), p.f.as_ptr().add(nb * NR));
    let mut acc = [_mm256_setzero_ps(); MR];
    for b in 0..nb {
        let wq = p.qs.as_ptr().add(b * 256);
        let xo = b * a.block_bytes + a.qs_off;
        let mut isum = [_mm256_setzero_si256(); MR];
        for g in 0..8 {
            let w = load(wq.add(g * 32));
            for i in 0..MR {
                isum[i] = _mm256_dpbusd_epi32(isum[i], w, bcast4(xr[i].add(xo + 4 * g)));
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

/// Low i16 of each (v, v) pair as a plain i32 (sign-extended).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pair_to_i32(v: __m256i) -> __m256i {
    _mm256_srai_epi32(_mm256_slli_epi32(v, 16), 16)
}

/// Q4_K / Q5_K against Q8_K.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn k4<const MR: usize>(p: &Panel, a: &Acts, i0: usize, out: *mut f32, ldo: usize, ncols: usize) {
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
            let mut t = [_mm256_setzero_si256(); MR];
            for g in 0..8 {
                let w = load(wq.add(g * 32));
                for i in 0..MR {
                    t[i] = _mm256_dpbusd_epi32(t[i], w, bcast4(xr[i].add(xo + Q8K_QS + 32 * s + 4 * g)));
                }
            }
            let sc = pair_to_i32(_mm256_loadu_si256(psc.add(sb * 64 + s * NR) as *const __m256i));
            let mnv = _mm256_loadu_si256(pmn.add(sb * 64 + s * NR) as *const __m256i);
            for i in 0..MR {
                isum[i] = _mm256_add_epi32(isum[i], _mm256_mullo_epi32(t[i], sc));
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
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn q6k<const MR: usize>(p: &Panel, a: &Acts, i0: usize, out: *mut f32, ldo: usize, ncols: usize) {
    let nsb = p.nb;
    let xr = rows::<MR>(a, i0);
    let pd = p.f.as_ptr();
    let (psc, pscp) = (p.i.as_ptr(), p.i.as_ptr().add(nsb * 128));
    let mut acc = [_mm256_setzero_ps(); MR];
    for sb in 0..nsb {
        let xo = sb * Q8K_BYTES;
        let mut isum = [_mm256_setzero_si256(); MR];
        for s in 0..16 {
            // sub-block s = 16 values = groups 4(s%2)..+4 of chunk s/2
            let wq = p.qs.as_ptr().add(sb * 2048 + (s / 2) * 256 + (s % 2) * 128);
            let mut t = [_mm256_setzero_si256(); MR];
            for g in 0..4 {
                let w = load(wq.add(g * 32));
                for i in 0..MR {
                    t[i] = _mm256_dpbusd_epi32(t[i], w, bcast4(xr[i].add(xo + Q8K_QS + 16 * s + 4 * g)));
                }
            }
            let sc = pair_to_i32(_mm256_loadu_si256(psc.add(sb * 128 + s * NR) as *const __m256i));
            for i in 0..MR {
                isum[i] = _mm256_add_epi32(isum[i], _mm256_mullo_epi32(t[i], sc));
            }
        }
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
