//! Every vec_dot implementation against the scalar reference, and the
//! scalar reference against a dequantize-then-dot computation.
//!
//! Tolerance (float parts only -- integer sums are exact in all
//! implementations): |impl - scalar| <= (2*nb + 16) * 2^-23 * M, where M is the
//! sum over blocks of the |f32 terms| the reference adds (see
//! `scalar::vec_dot_magnitude`), i.e. a few f32 ulps per term.
use super::common;
use common::*;
use crate::kernels::blocks::*;
use crate::kernels::cpu::available_isas;
use crate::kernels::dot::{scalar::vec_dot_magnitude, vec_dot_with, DotTable};

fn check_type(t: QType, rng: &mut Rng) {
    let scalar = DotTable::for_isa(crate::kernels::Isa::Scalar).unwrap();
    let tables: Vec<DotTable> = available_isas().into_iter().filter_map(DotTable::for_isa).collect();
    for k in ks_for(t) {
        for (case, scales) in [Scales::Normal, Scales::Normal, Scales::Extreme, Scales::Zero].into_iter().enumerate() {
            let w = random_row(rng, t, k, scales);
            let x = if case == 1 { vec![0.0; k] } else { random_acts(rng, k, case == 2) };
            let a = quantize_acts(t, &x);
            let r = vec_dot_with(&scalar, t, k, &w, a.as_ref());
            let mag = vec_dot_magnitude(t, &w, a.as_ref());
            let tol = dot_tolerance(k / t.block_size(), mag);
            assert!(r.is_finite(), "{t} k={k} {scales:?}: {r}");
            for tab in &tables {
                let v = vec_dot_with(tab, t, k, &w, a.as_ref());
                assert!((v - r).abs() <= tol, "{t} {:?} k={k} {scales:?}: {v} vs scalar {r} (tol {tol})", tab.isa);
            }
            if matches!(scales, Scales::Zero) || case == 1 {
                assert_eq!(r, 0.0, "{t}: zero row must give exactly 0");
            }
            // Scalar reference vs dequantize-then-dot in f64 (catches layout
            // mistakes; the only legit difference is the f16 `s` of Q8_1).
            if matches!(scales, Scales::Normal) {
                let mut wf = vec![0f32; k];
                dequantize_row(t, &w, &mut wf);
                let mut af = vec![0f32; k];
                dequantize_row(t.vec_dot_type(), a.as_ref(), &mut af);
                let exact: f64 = wf.iter().zip(&af).map(|(a, b)| *a as f64 * *b as f64).sum();
                let mag2: f64 = wf.iter().zip(&af).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
                assert!(((r as f64) - exact).abs() <= 2e-3 * mag2 + 1e-6, "{t} k={k}: scalar {r} vs dequant {exact}");
            }
        }
    }
}

macro_rules! dot_test {
    ($name:ident, $t:expr, $seed:expr) => {
        #[test]
        fn $name() {
            let mut rng = Rng::new($seed);
            for _ in 0..20 {
                check_type($t, &mut rng);
            }
        }
    };
}
dot_test!(dot_q4_0, QType::Q4_0, 10);
dot_test!(dot_q4_1, QType::Q4_1, 11);
dot_test!(dot_q5_0, QType::Q5_0, 12);
dot_test!(dot_q5_1, QType::Q5_1, 13);
dot_test!(dot_q8_0, QType::Q8_0, 14);
dot_test!(dot_q4k, QType::Q4K, 15);
dot_test!(dot_q5k, QType::Q5K, 16);
dot_test!(dot_q6k, QType::Q6K, 17);

#[test]
fn q8_0_weights_minus_128() {
    // -128 weights are legal in Q8_0 files; the sign trick must handle them.
    let mut rng = Rng::new(99);
    let k = 256;
    let mut w = random_row(&mut rng, QType::Q8_0, k, Scales::Normal);
    for b in as_blocks_mut::<BlockQ8_0>(&mut w) {
        b.qs = [-128; 32];
    }
    let a = quantize_acts(QType::Q8_0, &random_acts(&mut rng, k, false));
    let scalar = DotTable::for_isa(crate::kernels::Isa::Scalar).unwrap();
    let r = vec_dot_with(&scalar, QType::Q8_0, k, &w, a.as_ref());
    for tab in available_isas().into_iter().filter_map(DotTable::for_isa) {
        let v = vec_dot_with(&tab, QType::Q8_0, k, &w, a.as_ref());
        let tol = dot_tolerance(8, vec_dot_magnitude(QType::Q8_0, &w, a.as_ref()));
        assert!((v - r).abs() <= tol, "{:?}: {v} vs {r}", tab.isa);
    }
}

#[test]
fn print_isas() {
    // Visible with --nocapture: which implementations the other tests compared.
    println!("detected ISA: {:?}; tested: {:?}", crate::kernels::cpu::detected_isa(), available_isas());
}
