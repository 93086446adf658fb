//! Scalar reference dot products (one weight row . one quantized activation
//! row). Portable; also the fallback on non-x86 targets.
//!
//! Every function computes, per block, an *exact* integer sum and combines it
//! with the block scales in f32, like ggml's `ggml_vec_dot_*_generic`:
//! * Q4_0/Q5_0/Q8_0 . Q8_0: `sum += sumi * dw * da` with sumi = sum (q-off)*a
//! * Q4_1/Q5_1 . Q8_1:      `sum += (dw*da) * sumi + mw * sa`
//! * Q4_K/Q5_K . Q8_K:      `sum += (dw*da) * isum - (dminw*da) * imin`, with
//!   isum = sum_s sc[s] * sum(q*a) over sub-block s and imin = sum_s m[s] *
//!   (bsums[2s] + bsums[2s+1])
//! * Q6_K . Q8_K:           `sum += (dw*da) * isum`, isum = sum_s sc[s] *
//!   sum((q-32)*a)
//!
//! (ggml's generic K-quant code accumulates the same integers in 8 float
//! lanes; the math is identical, the last-bit rounding may differ.)

use crate::kernels::blocks::*;
use crate::kernels::f16::f16le_to_f32;

#[inline]
fn dot32(w: &[u8; 32], off: i32, a: &[i8; 32]) -> i32 {
    w.iter().zip(a).map(|(&w, &a)| (w as i32 - off) * a as i32).sum()
}

pub fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    assert_eq!(w.len(), a.len());
    let mut sumf = 0.0f32;
    for (w, a) in w.iter().zip(a) {
        let sumi = dot32(&unpack_q4(&w.qs), 8, &a.qs);
        sumf += sumi as f32 * f16le_to_f32(w.d) * a.d();
    }
    sumf
}

pub fn vec_dot_q4_1_q8_1(w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
    assert_eq!(w.len(), a.len());
    let mut sumf = 0.0f32;
    for (w, a) in w.iter().zip(a) {
        let sumi = dot32(&unpack_q4(&w.qs), 0, &a.qs);
        sumf += (f16le_to_f32(w.d) * a.d()) * sumi as f32 + f16le_to_f32(w.m) * a.s();
    }
    sumf
}

pub fn vec_dot_q5_0_q8_0(w: &[BlockQ5_0], a: &[BlockQ8_0]) -> f32 {
    assert_eq!(w.len(), a.len());
    let mut sumf = 0.0f32;
    for (w, a) in w.iter().zip(a) {
        let sumi = dot32(&unpack_q5(&w.qs, w.qh), 16, &a.qs);
        sumf += sumi as f32 * f16le_to_f32(w.d) * a.d();
    }
    sumf
}

pub fn vec_dot_q5_1_q8_1(w: &[BlockQ5_1], a: &[BlockQ8_1]) -> f32 {
    assert_eq!(w.len(), a.len());
    let mut sumf = 0.0f32;
    for (w, a) in w.iter().zip(a) {
        let sumi = dot32(&unpack_q5(&w.qs, w.qh), 0, &a.qs);
        sumf += (f16le_to_f32(w.d) * a.d()) * sumi as f32 + f16le_to_f32(w.m) * a.s();
    }
    sumf
}

pub fn vec_dot_q8_0_q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
    assert_eq!(w.len(), a.len());
    let mut sumf = 0.0f32;
    for (w, a) in w.iter().zip(a) {
        let sumi: i32 = w.qs.iter().zip(&a.qs).map(|(&w, &a)| w as i32 * a as i32).sum();
        sumf += sumi as f32 * w.d() * a.d();
    }
    sumf
}

/// Integer parts of a Q4_K/Q5_K block: (isum, imin).
#[inline]
fn k4_ints(q: &[u8; 256], scales: &[u8; 12], a: &BlockQ8K) -> (i32, i32) {
    let (sc, mn) = unpack_scales_k4(scales);
    let mut isum = 0i32;
    let mut imin = 0i32;
    for s in 0..8 {
        let d: i32 = (0..32).map(|l| q[32 * s + l] as i32 * a.qs[32 * s + l] as i32).sum();
        isum += sc[s] as i32 * d;
        imin += mn[s] as i32 * (a.bsums[2 * s] as i32 + a.bsums[2 * s + 1] as i32);
    }
    (isum, imin)
}

pub fn vec_dot_q4k_q8k(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
    assert_eq!(w.len(), a.len());
    let mut sumf = 0.0f32;
    for (w, a) in w.iter().zip(a) {
        let (isum, imin) = k4_ints(&unpack_q4k(&w.qs), &w.scales, a);
        sumf += (f16le_to_f32(w.d) * a.d) * isum as f32 - (f16le_to_f32(w.dmin) * a.d) * imin as f32;
    }
    sumf
}

pub fn vec_dot_q5k_q8k(w: &[BlockQ5K], a: &[BlockQ8K]) -> f32 {
    assert_eq!(w.len(), a.len());
    let mut sumf = 0.0f32;
    for (w, a) in w.iter().zip(a) {
        let (isum, imin) = k4_ints(&unpack_q5k(&w.qs, &w.qh), &w.scales, a);
        sumf += (f16le_to_f32(w.d) * a.d) * isum as f32 - (f16le_to_f32(w.dmin) * a.d) * imin as f32;
    }
    sumf
}

#[inline]
fn q6k_isum(w: &BlockQ6K, a: &BlockQ8K) -> i32 {
    let q = unpack_q6k(&w.ql, &w.qh);
    let mut isum = 0i32;
    for s in 0..16 {
        let d: i32 = (0..16).map(|l| (q[16 * s + l] as i32 - 32) * a.qs[16 * s + l] as i32).sum();
        isum += w.scales[s] as i32 * d;
    }
    isum
}

pub fn vec_dot_q6k_q8k(w: &[BlockQ6K], a: &[BlockQ8K]) -> f32 {
    assert_eq!(w.len(), a.len());
    let mut sumf = 0.0f32;
    for (w, a) in w.iter().zip(a) {
        sumf += (f16le_to_f32(w.d) * a.d) * q6k_isum(w, a) as f32;
    }
    sumf
}

/// Test support: an upper bound of |every partial sum| any implementation
/// may form before scaling -- sum over elements of |scale| * |q - off| * |a|
/// plus the |offset / min terms|. Differences between correct
/// implementations are a few f32 ulps of this per block.
#[doc(hidden)]
pub fn vec_dot_magnitude(t: QType, w: &[u8], a: &[u8]) -> f32 {
    fn abs32(w: &[u8; 32], off: i32, a: &[i8; 32]) -> f32 {
        w.iter().zip(a).map(|(&w, &a)| ((w as i32 - off) * a as i32).abs()).sum::<i32>() as f32
    }
    fn each<W: Block, A: Block>(w: &[u8], a: &[u8], f: impl Fn(&W, &A) -> f32) -> f32 {
        as_blocks::<W>(w).iter().zip(as_blocks::<A>(a)).map(|(w, a)| f(w, a)).sum()
    }
    fn k4(q: &[u8; 256], scales: &[u8; 12], d: f32, dmin: f32, a: &BlockQ8K) -> f32 {
        let (sc, mn) = unpack_scales_k4(scales);
        let mut s1 = 0f32;
        let mut s2 = 0f32;
        for s in 0..8 {
            let qa: i32 = (0..32).map(|l| (q[32 * s + l] as i32 * a.qs[32 * s + l] as i32).abs()).sum();
            s1 += sc[s] as f32 * qa as f32;
            s2 += mn[s] as f32 * (a.bsums[2 * s].unsigned_abs() as f32 + a.bsums[2 * s + 1].unsigned_abs() as f32);
        }
        (d * a.d).abs() * s1 + (dmin * a.d).abs() * s2
    }
    match t {
        QType::Q4_0 => each::<BlockQ4_0, BlockQ8_0>(w, a, |w, a| {
            (f16le_to_f32(w.d) * a.d()).abs() * abs32(&unpack_q4(&w.qs), 8, &a.qs)
        }),
        QType::Q5_0 => each::<BlockQ5_0, BlockQ8_0>(w, a, |w, a| {
            (f16le_to_f32(w.d) * a.d()).abs() * abs32(&unpack_q5(&w.qs, w.qh), 16, &a.qs)
        }),
        QType::Q8_0 => each::<BlockQ8_0, BlockQ8_0>(w, a, |w, a| {
            let s: i32 = w.qs.iter().zip(&a.qs).map(|(&w, &a)| (w as i32 * a as i32).abs()).sum();
            (w.d() * a.d()).abs() * s as f32
        }),
        QType::Q4_1 => each::<BlockQ4_1, BlockQ8_1>(w, a, |w, a| {
            (f16le_to_f32(w.d) * a.d()).abs() * abs32(&unpack_q4(&w.qs), 0, &a.qs) + (f16le_to_f32(w.m) * a.s()).abs()
        }),
        QType::Q5_1 => each::<BlockQ5_1, BlockQ8_1>(w, a, |w, a| {
            (f16le_to_f32(w.d) * a.d()).abs() * abs32(&unpack_q5(&w.qs, w.qh), 0, &a.qs)
                + (f16le_to_f32(w.m) * a.s()).abs()
        }),
        QType::Q4K => each::<BlockQ4K, BlockQ8K>(w, a, |w, a| {
            k4(&unpack_q4k(&w.qs), &w.scales, f16le_to_f32(w.d), f16le_to_f32(w.dmin), a)
        }),
        QType::Q5K => each::<BlockQ5K, BlockQ8K>(w, a, |w, a| {
            k4(&unpack_q5k(&w.qs, &w.qh), &w.scales, f16le_to_f32(w.d), f16le_to_f32(w.dmin), a)
        }),
        QType::Q6K => each::<BlockQ6K, BlockQ8K>(w, a, |w, a| {
            let q = unpack_q6k(&w.ql, &w.qh);
            let mut s = 0f32;
            for sb in 0..16 {
                let qa: i32 = (0..16).map(|l| (q[16 * sb + l] as i32 * a.qs[16 * sb + l] as i32).abs()).sum();
                let sc = w.scales[sb].unsigned_abs() as f32;
                s += sc * (qa as f32 + 32.0 * a.bsums[sb].unsigned_abs() as f32);
            }
            (f16le_to_f32(w.d) * a.d).abs() * s
        }),
        QType::Q8_1 | QType::Q8K => panic!("{t} is not a weight type"),
    }
}

/// Type-erased entry points (see `dot::VecDotFn`).
pub(crate) mod erased {
    use super::*;
    macro_rules! erase {
        ($name:ident, $f:ident, $W:ty, $A:ty) => {
            /// # Safety
            /// `w`/`a` must point to `nb` blocks of the right types.
            pub unsafe fn $name(nb: usize, w: *const u8, a: *const u8) -> f32 {
                $f(std::slice::from_raw_parts(w as *const $W, nb), std::slice::from_raw_parts(a as *const $A, nb))
            }
        };
    }
    erase!(q4_0, vec_dot_q4_0_q8_0, BlockQ4_0, BlockQ8_0);
    erase!(q4_1, vec_dot_q4_1_q8_1, BlockQ4_1, BlockQ8_1);
    erase!(q5_0, vec_dot_q5_0_q8_0, BlockQ5_0, BlockQ8_0);
    erase!(q5_1, vec_dot_q5_1_q8_1, BlockQ5_1, BlockQ8_1);
    erase!(q8_0, vec_dot_q8_0_q8_0, BlockQ8_0, BlockQ8_0);
    erase!(q4k, vec_dot_q4k_q8k, BlockQ4K, BlockQ8K);
    erase!(q5k, vec_dot_q5k_q8k, BlockQ5K, BlockQ8K);
    erase!(q6k, vec_dot_q6k_q8k, BlockQ6K, BlockQ8K);
}
