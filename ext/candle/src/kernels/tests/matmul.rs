//! matmul (all paths, ISAs and thread counts) against a naive
//! dequantize-then-dot reference in f64.
//!
//! Reference: y_ref[i][j] = sum_e deq(W)[j][e] * deq(Q(x))[i][e] computed in
//! f64, where Q(x) are the activations quantized by the public quantizers
//! (the same the matmul uses). Tolerance: 2e-5 * sum_e (|w_e| + W_b) * |xq_e|
//! with W_b the largest |w| of the 32-value (sub-)block, which bounds the
//! intermediate terms of every kernel formulation (offset/min terms
//! included); plus, for Q4_1/Q5_1 on the row-dot path, the f16 rounding of
//! the Q8_1 `s` field (2^-11 relative, as in ggml).
//! A second, looser check bounds the difference to the *unquantized* x:
//! |y - sum w*x| <= sum_e |w_e| * amax_block(x)/127 (block of the activation type) * (0.5 + 2^-10) + tol.
use super::common;
use common::*;
use crate::kernels::blocks::*;
use crate::kernels::cpu::available_isas;
use crate::kernels::{matmul_with, Isa, MatmulOpts, QMatrix, ThreadPool};
use std::sync::OnceLock;

fn pools() -> &'static [ThreadPool] {
    static P: OnceLock<Vec<ThreadPool>> = OnceLock::new();
    P.get_or_init(|| vec![ThreadPool::new(1), ThreadPool::new(2), ThreadPool::new(3)])
}

struct Reference {
    y: Vec<f64>,
    tol: Vec<f64>,
    y_f32x: Vec<f64>,
    tol_f32x: Vec<f64>,
}

fn reference(t: QType, w: &[u8], n: usize, k: usize, x: &[f32], m: usize) -> Reference {
    let mut wf = vec![0f32; n * k];
    dequantize_row(t, w, &mut wf);
    let at = t.vec_dot_type();
    let mut xq = vec![0f32; m * k];
    for i in 0..m {
        let a = quantize_acts(t, &x[i * k..(i + 1) * k]);
        dequantize_row(at, a.as_ref(), &mut xq[i * k..(i + 1) * k]);
    }
    // per-32 block max |w|
    let wmax: Vec<f32> = wf.chunks(32).map(|c| c.iter().fold(0f32, |a, v| a.max(v.abs()))).collect();
    let abs_ = at.block_size();
    let xamax: Vec<f32> = x.chunks(abs_).map(|c| c.iter().fold(0f32, |a, v| a.max(v.abs()))).collect();
    let mut r =
        Reference { y: vec![0.0; m * n], tol: vec![0.0; m * n], y_f32x: vec![0.0; m * n], tol_f32x: vec![0.0; m * n] };
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut mag, mut sx, mut bound) = (0f64, 0f64, 0f64, 0f64);
            let mut min_term = 0f64;
            for e in 0..k {
                let wv = wf[j * k + e] as f64;
                let xv = xq[i * k + e] as f64;
                s += wv * xv;
                sx += wv * x[i * k + e] as f64;
                mag += (wv.abs() + wmax[(j * k + e) / 32] as f64) * xv.abs();
                bound += wv.abs() * xamax[(i * k + e) / abs_] as f64 / 127.0 * (0.5 + 1.0 / 1024.0);
                min_term += (wmax[(j * k + e) / 32] as f64) * xv.abs();
            }
            let mut tol = 2e-5 * mag + 1e-30;
            if matches!(t, QType::Q4_1 | QType::Q5_1) {
                tol += min_term / 1024.0; // f16 `s` of Q8_1 (row-dot path)
            }
            r.y[i * n + j] = s;
            r.tol[i * n + j] = tol;
            r.y_f32x[i * n + j] = sx;
            r.tol_f32x[i * n + j] = bound + tol;
        }
    }
    r
}

fn check(t: QType, k: usize, n: usize, m: usize, rng: &mut Rng, scales: Scales) {
    let w = random_row(rng, t, n * k, scales);
    let x = random_acts(rng, m * k, true);
    let r = reference(t, &w, n, k, &x, m);
    let wm = QMatrix::new(t, &w, n, k);
    for isa in available_isas() {
        for gemm_min_m in [1, 3, 100] {
            for pool in pools() {
                let opts = MatmulOpts { isa, gemm_min_m, min_parallel_work: 0 };
                let mut y = vec![f32::NAN; m * n];
                matmul_with(pool, &opts, &wm, &x, m, &mut y);
                for e in 0..m * n {
                    let (i, j) = (e / n, e % n);
                    let ctx = || {
                        format!(
                            "{t} {isa:?} gemm_min_m={gemm_min_m} threads={} m={m} n={n} k={k} {scales:?} y[{i}][{j}]",
                            pool.threads()
                        )
                    };
                    assert!(
                        (y[e] as f64 - r.y[e]).abs() <= r.tol[e],
                        "{}: {} vs ref {} (tol {})",
                        ctx(),
                        y[e],
                        r.y[e],
                        r.tol[e]
                    );
                    assert!(
                        (y[e] as f64 - r.y_f32x[e]).abs() <= r.tol_f32x[e],
                        "{}: {} vs f32-x ref {}",
                        ctx(),
                        y[e],
                        r.y_f32x[e]
                    );
                }
            }
            if isa == Isa::Scalar {
                break; // gemm_min_m is irrelevant without SIMD
            }
        }
    }
}

fn run_type(t: QType, seed: u64) {
    let mut rng = Rng::new(seed);
    for k in [32usize, 64, 256, 512, 2048] {
        if k % t.block_size() != 0 {
            continue;
        }
        for n in [1usize, 7, 32, 33, 96] {
            for m in [1usize, 2, 3, 5, 17, 64] {
                if k == 2048 && (m > 17 || n > 33) {
                    continue; // keep the f64 reference affordable
                }
                check(t, k, n, m, &mut rng, Scales::Normal);
            }
        }
    }
    check(t, 512.max(t.block_size()), 33, 9, &mut rng, Scales::Extreme);
    check(t, 256, 9, 5, &mut rng, Scales::Zero);
}

#[test]
fn matmul_q4_0() {
    run_type(QType::Q4_0, 100)
}
#[test]
fn matmul_q4_1() {
    run_type(QType::Q4_1, 101)
}
#[test]
fn matmul_q5_0() {
    run_type(QType::Q5_0, 102)
}
#[test]
fn matmul_q5_1() {
    run_type(QType::Q5_1, 103)
}
#[test]
fn matmul_q8_0() {
    run_type(QType::Q8_0, 104)
}
#[test]
fn matmul_q4k() {
    run_type(QType::Q4K, 105)
}
#[test]
fn matmul_q5k() {
    run_type(QType::Q5K, 106)
}
#[test]
fn matmul_q6k() {
    run_type(QType::Q6K, 107)
}

#[test]
fn pool_runs_every_tid_and_nests() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    for pool in pools() {
        for _ in 0..1000 {
            let hits = AtomicUsize::new(0);
            let mask = AtomicUsize::new(0);
            pool.run(&|tid| {
                hits.fetch_add(1, Ordering::Relaxed);
                mask.fetch_or(1 << tid, Ordering::Relaxed);
                // nested run executes serially, must not deadlock
                pool.run(&|_| {});
            });
            assert_eq!(hits.load(Ordering::Relaxed), pool.threads());
            assert_eq!(mask.load(Ordering::Relaxed), (1 << pool.threads()) - 1);
        }
        // for_chunks covers every index exactly once (also nested / repeated)
        for (total, chunk) in [(1usize, 1usize), (7, 2), (100, 3), (1000, 1), (5, 10)] {
            let seen: Vec<AtomicUsize> = (0..total).map(|_| AtomicUsize::new(0)).collect();
            pool.for_chunks(total, chunk, &|r| {
                assert!(r.len() <= chunk);
                for i in r {
                    seen[i].fetch_add(1, Ordering::Relaxed);
                }
                pool.for_chunks(3, 1, &|_| {}); // nested: serial, no deadlock
            });
            assert!(seen.iter().all(|c| c.load(Ordering::Relaxed) == 1), "{total}/{chunk}");
        }
        // after the workers parked
        std::thread::sleep(std::time::Duration::from_millis(5));
        let hits = AtomicUsize::new(0);
        pool.run(&|_| {
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), pool.threads());
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_panel_packing_matches_portable() {
    use crate::kernels::gemm::{pack, pack_avx2, Panel};
    if !crate::kernels::cpu::available_isas().contains(&Isa::Avx2) {
        return;
    }
    let mut rng = Rng::new(7);
    for t in QType::WEIGHTS {
        for vnni in [false, true] {
            let fam = pack::family(t, vnni);
            for k in ks_for(t) {
                for rows in 1..=8 {
                    let w = random_row(&mut rng, t, rows * k, Scales::Normal);
                    let rb = t.row_bytes(k);
                    let (mut a, mut b) = (Panel::default(), Panel::default());
                    pack::pack_panel(t, fam, &w, rb, rows, &mut a);
                    // pre-fill b with garbage: the AVX2 packer must overwrite everything
                    b.qs = vec![0xAB; a.qs.len()];
                    b.f = vec![f32::NAN; a.f.len()];
                    b.i = vec![-1; a.i.len()];
                    unsafe { pack_avx2::pack_panel(t, fam, &w, rb, rows, &mut b) };
                    assert_eq!(a.nb, b.nb);
                    assert!(a.qs == b.qs, "{t} vnni={vnni} k={k} rows={rows}: qs differ");
                    assert!(a.f == b.f, "{t} vnni={vnni} k={k} rows={rows}: f differ {:?} {:?}", a.f, b.f);
                    assert!(a.i == b.i, "{t} vnni={vnni} k={k} rows={rows}: i differ");
                }
            }
        }
    }
}

#[test]
fn pool_concurrent_callers() {
    // Two OS threads using the same pool at once: one of them runs serially.
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pool = &pools()[2];
    let sum = AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for _ in 0..2 {
            sc.spawn(|| {
                for _ in 0..500 {
                    pool.for_chunks(64, 4, &|r| {
                        sum.fetch_add(r.len(), Ordering::Relaxed);
                    });
                }
            });
        }
    });
    assert_eq!(sum.load(Ordering::Relaxed), 2 * 500 * 64);
}

/// matmul_many over parts (same type, then mixed types) equals one matmul
/// per part, bit for bit: the same kernels see the same rows.
#[test]
fn matmul_many_equals_one_matmul_per_part() {
    use crate::kernels::matmul_many;
    let mut rng = Rng::new(21);
    let k = 256;
    for m in [1usize, 2, 5, 9] {
        for types in [[QType::Q4_0; 3], [QType::Q6K; 3], [QType::Q4K, QType::Q5_0, QType::Q6K]] {
            let ns = [24usize, 8, 13];
            let data: Vec<Vec<u8>> = ns.iter().zip(types).map(|(&n, t)| random_row(&mut rng, t, n * k, Scales::Normal)).collect();
            let ws: Vec<QMatrix> = ns.iter().zip(types).zip(&data).map(|((&n, t), d)| QMatrix::new(t, d, n, k)).collect();
            let x = random_acts(&mut rng, m * k, false);
            for pool in pools() {
                let mut outs: Vec<Vec<f32>> = ns.iter().map(|&n| vec![f32::NAN; m * n]).collect();
                let mut ys: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
                matmul_many(pool, &ws, &x, m, &mut ys);
                for (w, got) in ws.iter().zip(&outs) {
                    let mut want = vec![0f32; m * w.n];
                    crate::kernels::matmul(pool, w, &x, m, &mut want);
                    assert_eq!(got, &want, "{:?} m={m} threads={}", types, pool.threads());
                }
            }
        }
    }
}
