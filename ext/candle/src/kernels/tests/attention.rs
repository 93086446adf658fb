//! The attention row kernel against an f64 reference, and its exp.

use super::common::Rng;
use crate::kernels::attention::{attend_row, scalar, KvElem};

/// softmax(q·kᵀ·scale)·v in f64.
fn reference(q: &[f32], k: &[f32], v: &[f32], scale: f32) -> Vec<f64> {
    let d = q.len();
    let s: Vec<f64> = k.chunks_exact(d).map(|kj| q.iter().zip(kj).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>() * scale as f64).collect();
    let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    let mut out = vec![0f64; d];
    for (p, vj) in e.iter().zip(v.chunks_exact(d)) {
        out.iter_mut().zip(vj).for_each(|(o, x)| *o += p / sum * *x as f64);
    }
    out
}

/// Both kernels on K/V stored as `T`, against the reference on the stored values.
fn check<T: KvElem>(q: &[f32], k: &[f32], v: &[f32], scale: f32, what: &str) {
    let (d, n) = (q.len(), k.len() / q.len());
    let ks: Vec<T> = k.iter().map(|&x| T::from_f32(x)).collect();
    let vs: Vec<T> = v.iter().map(|&x| T::from_f32(x)).collect();
    let back = |xs: &[T]| xs.iter().map(|x| x.to_f32()).collect::<Vec<f32>>();
    let want = reference(q, &back(&ks), &back(&vs), scale);
    let mut scores = vec![f32::NAN; n + 3];
    let mut out = vec![f32::NAN; d];
    attend_row(q, &ks, &vs, scale, &mut scores, &mut out);
    let mut sc = vec![0f32; n];
    let mut plain = vec![0f32; d];
    scalar::attend_row(q, &ks, &vs, scale, &mut sc, &mut plain);
    for (i, w) in want.iter().enumerate() {
        let tol = 2e-5 * (1.0 + w.abs());
        assert!((out[i] as f64 - w).abs() <= tol, "{what} col {i}: {} vs {w}", out[i]);
        assert!((plain[i] as f64 - w).abs() <= tol, "scalar {what} col {i}: {} vs {w}", plain[i]);
    }
}

#[test]
fn f16_elements_round_to_nearest() {
    assert_eq!(<u16 as KvElem>::from_f32(1.0).to_f32(), 1.0);
    assert_eq!(<u16 as KvElem>::from_f32(1.0 + 1.0 / 4096.0).to_f32(), 1.0); // below half an f16 ulp
    assert_eq!(<u16 as KvElem>::from_f32(-3.5).to_f32(), -3.5);
}

#[test]
fn attention_rows_match_an_f64_reference_for_odd_shapes() {
    let mut rng = Rng::new(11);
    for d in [1usize, 8, 16, 24, 40, 64, 72, 128, 256] {
        for n in [1usize, 2, 3, 4, 5, 7, 8, 9, 17, 100, 513] {
            // large logits too: scale pushes scores to ±40, softmax nearly one-hot
            for spread in [1.0f32, 40.0] {
                let q: Vec<f32> = (0..d).map(|_| rng.sym()).collect();
                let k: Vec<f32> = (0..n * d).map(|_| rng.sym()).collect();
                let v: Vec<f32> = (0..n * d).map(|_| rng.sym() * 3.0).collect();
                let scale = spread / (d as f32).sqrt();
                check::<f32>(&q, &k, &v, scale, &format!("f32 d={d} n={n} spread={spread}"));
                check::<u16>(&q, &k, &v, scale, &format!("f16 d={d} n={n} spread={spread}"));
            }
        }
    }
}

#[test]
fn attention_of_one_key_is_its_value() {
    let q = [0.5f32; 16];
    let k = [1.0f32; 16];
    let v: Vec<f32> = (0..16).map(|i| i as f32).collect();
    let (mut s, mut out) = ([0f32; 1], [0f32; 16]);
    attend_row(&q, &k, &v, 0.25, &mut s, &mut out);
    assert_eq!(out.to_vec(), v);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn vector_exp_is_within_3_ulp_on_the_softmax_range() {
    use crate::kernels::attention::avx2::exp_ps;
    use std::arch::x86_64::*;
    if crate::kernels::cpu::detected_isa() < crate::kernels::Isa::Avx2 {
        return;
    }
    let mut worst = 0f64;
    let mut x = -87.0f32;
    while x <= 0.0 {
        let xs = [x, x * 0.5, x * 0.25, x * 0.125, x * 0.01, x * 1e-3, x * 1e-5, 0.0];
        let mut got = [0f32; 8];
        unsafe { _mm256_storeu_ps(got.as_mut_ptr(), exp_ps(_mm256_loadu_ps(xs.as_ptr()))) };
        for (g, x) in got.iter().zip(xs) {
            let want = (x as f64).exp();
            worst = worst.max((*g as f64 - want).abs() / want);
        }
        x += 0.0137;
    }
    assert!(worst < 3.0 * f32::EPSILON as f64, "worst relative error {worst:e}");
}
