//! One query row's attention over contiguous key and value rows:
//! `out = softmax(q · kⱼᵀ · scale) · v` (the GGUF decoder's KV cache keeps
//! each KV head's positions contiguous, so a causal or sliding window is a
//! plain slice). Keys and values are f32 or f16 ([`KvElem`]; f16 halves
//! the cache, as llama.cpp's default). AVX2+FMA+F16C when the CPU has it
//! and the head size is a multiple of 8, else a scalar loop.
//!
//! Why a kernel: written as plain Rust the loop ran at ~80 cycles per
//! (query, key) pair on a 512-token prompt -- the horizontal sum of every
//! dot, the output row stored and reloaded for every key, a libm `expf`
//! per score. Here four keys share each load of q and one horizontal
//! reduction, the output lives in registers across keys, and exp is a
//! vectorized polynomial (≤ 2 ulp on the scores' range).

use crate::kernels::cpu::{detected_isa, Isa};
use crate::kernels::f16::{f16_to_f32, f32_to_f16};

/// A stored key/value element: `f32`, or `u16` holding IEEE f16 bits.
pub trait KvElem: Copy + Default + Send + Sync + 'static {
    const F16: bool;
    fn to_f32(self) -> f32;
    fn from_f32(x: f32) -> Self;
}

impl KvElem for f32 {
    const F16: bool = false;
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(x: f32) -> Self {
        x
    }
}

impl KvElem for u16 {
    const F16: bool = true;
    #[inline]
    fn to_f32(self) -> f32 {
        f16_to_f32(self)
    }
    #[inline]
    fn from_f32(x: f32) -> Self {
        f32_to_f16(x)
    }
}

/// `out[..d] = Σⱼ pⱼ · v[j·d..][..d]`, `pⱼ = softmax(q · k[j·d..][..d] · scale)`
/// over the `n = k.len() / d` rows. `scores`: scratch of at least `n`.
pub fn attend_row<T: KvElem>(q: &[f32], k: &[T], v: &[T], scale: f32, scores: &mut [f32], out: &mut [f32]) {
    let d = q.len();
    assert!(d > 0 && k.len() % d == 0 && v.len() == k.len() && out.len() == d);
    let n = k.len() / d;
    assert!(scores.len() >= n);
    if n == 0 {
        out.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if d % 8 == 0 && detected_isa() >= Isa::Avx2 {
        // SAFETY: AVX2+FMA+F16C present (detected_isa), sizes checked above.
        return unsafe { avx2::attend_row(q, k, v, scale, &mut scores[..n], out) };
    }
    scalar::attend_row(q, k, v, scale, &mut scores[..n], out)
}

pub(crate) mod scalar {
    use super::KvElem;

    pub fn attend_row<T: KvElem>(q: &[f32], k: &[T], v: &[T], scale: f32, scores: &mut [f32], out: &mut [f32]) {
        let d = q.len();
        let mut max = f32::NEG_INFINITY;
        for (s, kj) in scores.iter_mut().zip(k.chunks_exact(d)) {
            *s = q.iter().zip(kj).map(|(a, b)| a * b.to_f32()).sum::<f32>() * scale;
            max = max.max(*s);
        }
        let mut sum = 0f32;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = 1.0 / sum;
        out.fill(0.0);
        for (s, vj) in scores.iter().zip(v.chunks_exact(d)) {
            let p = s * inv;
            out.iter_mut().zip(vj).for_each(|(o, x)| *o += p * x.to_f32());
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use super::KvElem;
    use std::arch::x86_64::*;

    /// 8 stored elements at `p` as f32.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8<T: KvElem>(p: *const T) -> __m256 {
        if T::F16 {
            _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
        } else {
            _mm256_loadu_ps(p as *const f32)
        }
    }

    /// e^x for x ≤ 0 (Cephes' expf: range reduction by ln 2, degree-5
    /// polynomial; inputs below -87 give ~0).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(crate) unsafe fn exp_ps(x: __m256) -> __m256 {
        let x = _mm256_max_ps(x, _mm256_set1_ps(-87.0));
        let fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E), _mm256_set1_ps(0.5)));
        let x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693_359_4), x);
        let x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.121_944_4e-4), x);
        let mut y = _mm256_set1_ps(1.987_569_1e-4);
        for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
            y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(c));
        }
        let y = _mm256_add_ps(_mm256_fmadd_ps(y, _mm256_mul_ps(x, x), x), _mm256_set1_ps(1.0));
        let pow2 = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)));
        _mm256_mul_ps(y, _mm256_castsi256_ps(pow2))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    /// See [`super::attend_row`]; `q.len() % 8 == 0`, `scores.len() == n >= 1`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(crate) unsafe fn attend_row<T: KvElem>(q: &[f32], k: &[T], v: &[T], scale: f32, scores: &mut [f32], out: &mut [f32]) {
        let d = q.len();
        let n = scores.len();
        let (qp, kp, vp, sp) = (q.as_ptr(), k.as_ptr(), v.as_ptr(), scores.as_mut_ptr());
        // 1. scores, four keys per pass over q
        let mut j = 0;
        while j + 4 <= n {
            let mut acc = [_mm256_setzero_ps(); 4];
            for c in (0..d).step_by(8) {
                let qv = _mm256_loadu_ps(qp.add(c));
                for (t, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(qv, load8(kp.add((j + t) * d + c)), *a);
                }
            }
            // four horizontal sums at once
            let h01 = _mm256_hadd_ps(acc[0], acc[1]);
            let h23 = _mm256_hadd_ps(acc[2], acc[3]);
            let h = _mm256_hadd_ps(h01, h23);
            let s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
            _mm_storeu_ps(sp.add(j), _mm_mul_ps(s, _mm_set1_ps(scale)));
            j += 4;
        }
        while j < n {
            let mut a = _mm256_setzero_ps();
            for c in (0..d).step_by(8) {
                a = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(c)), load8(kp.add(j * d + c)), a);
            }
            *sp.add(j) = hsum(a) * scale;
            j += 1;
        }
        // 2. softmax numerators and their sum
        let max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
        let maxv = _mm256_set1_ps(max);
        let mut sumv = _mm256_setzero_ps();
        let mut j = 0;
        while j + 8 <= n {
            let e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(sp.add(j)), maxv));
            _mm256_storeu_ps(sp.add(j), e);
            sumv = _mm256_add_ps(sumv, e);
            j += 8;
        }
        let mut sum = hsum(sumv);
        if j < n {
            let mut tail = [f32::NEG_INFINITY; 8];
            tail[..n - j].copy_from_slice(&scores[j..]);
            let e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(tail.as_ptr()), maxv));
            _mm256_storeu_ps(tail.as_mut_ptr(), e);
            for (s, &e) in scores[j..].iter_mut().zip(&tail) {
                *s = e;
                sum += e;
            }
        }
        let inv = 1.0 / sum;
        // 3. out = Σ p v, 32 columns (4 registers) per pass over the keys
        let op = out.as_mut_ptr();
        let mut c = 0;
        while c + 32 <= d {
            let mut acc = [_mm256_setzero_ps(); 4];
            for j in 0..n {
                let p = _mm256_set1_ps(*sp.add(j));
                for (t, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(p, load8(vp.add(j * d + c + 8 * t)), *a);
                }
            }
            for (t, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(op.add(c + 8 * t), _mm256_mul_ps(*a, _mm256_set1_ps(inv)));
            }
            c += 32;
        }
        while c < d {
            let mut a = _mm256_setzero_ps();
            for j in 0..n {
                a = _mm256_fmadd_ps(_mm256_set1_ps(*sp.add(j)), load8(vp.add(j * d + c)), a);
            }
            _mm256_storeu_ps(op.add(c), _mm256_mul_ps(a, _mm256_set1_ps(inv)));
            c += 8;
        }
    }
}
