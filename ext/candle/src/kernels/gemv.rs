//! Decode-path (small m) row dots for the legacy 32-blocks, on raw GGML
//! weight rows and *prepared* activations: the activation row is quantized
//! once per matmul and its block scales are converted to f32 once
//! (`dx`, and `sx = dx * sum(q)`), instead of once per weight row as a plain
//! ggml-style `vec_dot` does.
//!
//! Blocks are processed in groups of 8: the 8 weight scales of a group are
//! gathered and converted with one `vcvtph2ps`, multiplied by the 8
//! activation scales in one vector op, and the offset/min term
//! (`off_w * s_x`) of all 8 blocks is one FMA. The per-block work is then
//! only: unpack, `vpmaddubsw`, `vpmaddwd`, `vcvtdq2ps`, `vfmadd` with a
//! broadcast scale. `R` weight rows are done together (shared activation
//! loads, independent dependency chains).
//!
//! Values use the unsigned form (0..15 / 0..31) with offsets -8d / -16d for
//! Q4_0 / Q5_0, like the GEMM kernels; Q8_0 uses the sign trick.

use crate::kernels::blocks::QType;

/// Row dot on prepared activations for `R` consecutive weight rows.
///
/// # Safety
/// `w` points to `R` rows of `w_stride` bytes, each `nb` blocks; `x` to `nb`
/// activation blocks of `x_bs` bytes (quants at `x_qoff`); `dx`/`sx` to `nb`
/// f32; `out` to `R` f32. CPU must support AVX2+FMA+F16C.
pub type GemvFn = unsafe fn(
    nb: usize,
    w: *const u8,
    w_stride: usize,
    x: *const u8,
    x_bs: usize,
    x_qoff: usize,
    dx: *const f32,
    sx: *const f32,
    out: *mut f32,
);

/// Decode kernels for one weight type: `multi` handles `rows` (>= 1)
/// weight rows per call, `single` one row.
#[derive(Clone, Copy)]
pub struct GemvKernels {
    pub multi: GemvFn,
    pub rows: usize,
    pub single: GemvFn,
}

/// The prepared-activation kernels for a legacy weight type; `None` for
/// k-quants or without AVX2 (the caller then uses the plain row dots of
/// `crate::kernels::dot`).
pub fn gemv_fns(t: QType, isa: crate::kernels::cpu::Isa) -> Option<GemvKernels> {
    #[cfg(target_arch = "x86_64")]
    if isa >= crate::kernels::cpu::Isa::Avx2 && crate::kernels::cpu::detected_isa() >= crate::kernels::cpu::Isa::Avx2 {
        use avx2::legacy;
        let k = |multi: GemvFn, rows: usize, single: GemvFn| Some(GemvKernels { multi, rows, single });
        return match t {
            // two rows per call: shared activation loads, independent chains;
            // Q4_0, the lightest, four (a simulated SmolLM2 decode step, two
            // runs of 20 interleaved rounds: 4-5 % faster than two; Q4_1 and
            // Q5_0 gained nothing or lost)
            QType::Q4_0 => k(legacy::<0, 4>, 4, legacy::<0, 1>),
            QType::Q4_1 => k(legacy::<1, 2>, 2, legacy::<1, 1>),
            QType::Q5_0 => k(legacy::<2, 2>, 2, legacy::<2, 1>),
            QType::Q5_1 => k(legacy::<3, 2>, 2, legacy::<3, 1>),
            // Q8_0 is memory-bound already; one row streams best
            QType::Q8_0 => k(legacy::<4, 1>, 1, legacy::<4, 1>),
            _ => None,
        };
    }
    let _ = (t, isa);
    None
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use crate::kernels::dot::avx2::{hsum_ps, nibbles32, q5_values};
    use std::arch::x86_64::*;

    /// Software prefetch distance in bytes (0 = off). The rows are streamed
    /// from DRAM once per token; without it two interleaved rows (R = 2) of
    /// Q8_0 stream at about half speed on Zen 3. Measured on a simulated
    /// SmolLM2 decode step (210 matmuls, 60-112 MB of weights, 2 threads,
    /// 10 interleaved rounds): 2048 beat 512 by 2-7 % (Q8_0 14.8 -> 15.4
    /// GB/s, Q5_0 10.1 -> 10.7, Q4_1 10.0 -> 10.7), 0 was 10-15 % slower.
    pub(crate) const PF: usize = 2048;

    /// (block bytes, offset of d, offset of m or usize::MAX, offset of qh or MAX, offset of qs)
    const fn layout(ty: u8) -> (usize, usize, usize, usize, usize) {
        match ty {
            0 => (18, 0, usize::MAX, usize::MAX, 2), // Q4_0
            1 => (20, 0, 2, usize::MAX, 4),          // Q4_1
            2 => (22, 0, usize::MAX, 2, 6),          // Q5_0
            3 => (24, 0, 2, 4, 8),                   // Q5_1
            _ => (34, 0, usize::MAX, usize::MAX, 2), // Q8_0
        }
    }

    /// Gather `c` (<= 8) f16 values at `p + i*stride` and widen to f32x8
    /// (missing lanes are 0).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn gather_f16(p: *const u8, stride: usize, c: usize) -> __m256 {
        let mut h = [0u16; 8];
        for (i, h) in h.iter_mut().enumerate().take(c) {
            *h = (p.add(i * stride) as *const u16).read_unaligned();
        }
        _mm256_cvtph_ps(_mm_loadu_si128(h.as_ptr() as *const __m128i))
    }

    /// TY: 0 Q4_0, 1 Q4_1, 2 Q5_0, 3 Q5_1, 4 Q8_0.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(crate) unsafe fn legacy<const TY: u8, const R: usize>(
        nb: usize,
        w: *const u8,
        w_stride: usize,
        x: *const u8,
        x_bs: usize,
        x_qoff: usize,
        dx: *const f32,
        sx: *const f32,
        out: *mut f32,
    ) {
        let (bs, d_off, m_off, qh_off, qs_off) = layout(TY);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); R];
        let mut acco = [_mm256_setzero_ps(); R];
        let mut dd = [[0f32; 8]; R];
        let mut g = 0;
        while g < nb {
            let c = (nb - g).min(8);
            let (dx8, sx8) = if c == 8 {
                (_mm256_loadu_ps(dx.add(g)), _mm256_loadu_ps(sx.add(g)))
            } else {
                let (mut a, mut b) = ([0f32; 8], [0f32; 8]);
                std::ptr::copy_nonoverlapping(dx.add(g), a.as_mut_ptr(), c);
                std::ptr::copy_nonoverlapping(sx.add(g), b.as_mut_ptr(), c);
                (_mm256_loadu_ps(a.as_ptr()), _mm256_loadu_ps(b.as_ptr()))
            };
            for r in 0..R {
                let wb = w.add(r * w_stride + g * bs);
                let dw = gather_f16(wb.add(d_off), bs, c);
                _mm256_storeu_ps(dd[r].as_mut_ptr(), _mm256_mul_ps(dw, dx8));
                // offset / min term of the 8 blocks: off_w * s_x
                let off = match TY {
                    0 => Some(_mm256_mul_ps(dw, _mm256_set1_ps(-8.0))),
                    2 => Some(_mm256_mul_ps(dw, _mm256_set1_ps(-16.0))),
                    1 | 3 => Some(gather_f16(wb.add(m_off), bs, c)),
                    _ => None,
                };
                if let Some(off) = off {
                    acco[r] = _mm256_fmadd_ps(off, sx8, acco[r]);
                }
            }
            for j in 0..c {
                let xq = _mm256_loadu_si256(x.add((g + j) * x_bs + x_qoff) as *const __m256i);
                for r in 0..R {
                    let wb = w.add(r * w_stride + (g + j) * bs);
                    if PF > 0 {
                        // software prefetch: the rows are streamed from DRAM once
                        _mm_prefetch::<_MM_HINT_T0>(wb.wrapping_add(PF) as *const i8);
                    }
                    let p = match TY {
                        0 | 1 => _mm256_maddubs_epi16(nibbles32(wb.add(qs_off)), xq),
                        2 | 3 => _mm256_maddubs_epi16(q5_values(wb.add(qs_off), wb.add(qh_off)), xq),
                        _ => {
                            let wq = _mm256_loadu_si256(wb.add(qs_off) as *const __m256i);
                            _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq))
                        }
                    };
                    let s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
                    acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(dd[r][j]), s, acc[r]);
                }
            }
            g += c;
        }
        for r in 0..R {
            *out.add(r) = hsum_ps(_mm256_add_ps(acc[r], acco[r]));
        }
    }
}
