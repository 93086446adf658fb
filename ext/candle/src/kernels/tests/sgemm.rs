//! The packed f32 GEMM against an f64 reference and against itself across
//! batch compositions and thread counts.

use crate::kernels::sgemm::{sgemm, Epilogue, PackedF32};

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
}

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..len).map(|_| lcg(&mut s)).collect()
}

fn reference(x: &[f32], n: usize, w: &[f32], o: usize, k: usize, bias: Option<&[f32]>, base: Option<&[f32]>) -> Vec<f64> {
    let mut out = vec![0f64; n * o];
    for i in 0..n {
        for j in 0..o {
            let mut s = 0f64;
            for kk in 0..k {
                s += x[i * k + kk] as f64 * w[j * k + kk] as f64;
            }
            s += bias.map_or(0.0, |b| b[j] as f64) + base.map_or(0.0, |b| b[i * o + j] as f64);
            out[i * o + j] = s;
        }
    }
    out
}

#[test]
fn sgemm_matches_an_f64_reference_on_ragged_shapes() {
    for &(n, o, k) in &[(1, 1, 1), (7, 17, 9), (13, 16, 300), (100, 40, 513), (6, 32, 256), (97, 33, 8)] {
        let x = random(n * k, 1 + n as u64);
        let w = random(o * k, 2 + o as u64);
        let bias = random(o, 3);
        let base = random(n * o, 4);
        let packed = PackedF32::pack(&w, o, k);
        for threads in [1, 2] {
            for accumulate in [false, true] {
                let mut dst = if accumulate { base.clone() } else { vec![f32::NAN; n * o] };
                let ep = Epilogue { bias: Some(&bias), accumulate, post: None };
                sgemm(&x, n, &packed, &mut dst, &ep, threads);
                let want = reference(&x, n, &w, o, k, Some(&bias), accumulate.then_some(&base[..]));
                for (i, (a, b)) in dst.iter().zip(&want).enumerate() {
                    assert!((*a as f64 - b).abs() < 1e-4 * (1.0 + k as f64).sqrt(), "n={n} o={o} k={k} at {i}: {a} vs {b}");
                }
            }
        }
    }
}

#[test]
fn sgemm_rows_do_not_depend_on_their_neighbours_and_post_runs_once() {
    let (o, k) = (48, 700);
    let x = random(200 * k, 9);
    let w = random(o * k, 10);
    let packed = PackedF32::pack(&w, o, k);
    let post = |r: &mut [f32]| r.iter_mut().for_each(|v| *v = v.max(0.0) + 1.0);
    let ep = Epilogue { bias: None, accumulate: false, post: Some(&post) };
    let mut all = vec![0f32; 200 * o];
    sgemm(&x, 200, &packed, &mut all, &ep, 2);
    for (start, len) in [(0, 1), (5, 7), (97, 100), (199, 1)] {
        let mut part = vec![0f32; len * o];
        sgemm(&x[start * k..(start + len) * k], len, &packed, &mut part, &ep, 1);
        assert_eq!(&part[..], &all[start * o..(start + len) * o], "rows {start}..+{len}");
    }
    let want = reference(&x, 200, &w, o, k, None, None);
    for (a, b) in all.iter().zip(&want) {
        assert!((*a as f64 - (b.max(0.0) + 1.0)).abs() < 1e-3);
    }
}

/// Throughput against the `gemm` crate on MiniLM's shapes (run with
/// `--ignored --nocapture`; not a timing test).
#[test]
#[ignore]
fn sgemm_speed_against_gemm_crate() {
    let threads = 2;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        for &(n, o, k) in &[(1100, 1152, 384), (1100, 384, 384), (1100, 1536, 384), (1100, 384, 1536), (35, 1152, 384), (35, 384, 1536)] {
            let x = random(n * k, 1);
            let w = random(o * k, 2);
            let packed = PackedF32::pack(&w, o, k);
            let mut d1 = vec![0f32; n * o];
            let mut d2 = vec![0f32; n * o];
            let reps = (4e9 / (2.0 * (n * o * k) as f64)) as usize + 1;
            let mut best = [f64::INFINITY; 2];
            for _round in 0..25 {
                let t = std::time::Instant::now();
                for _ in 0..reps {
                    sgemm(&x, n, &packed, &mut d1, &Epilogue::NONE, threads);
                }
                best[0] = best[0].min(t.elapsed().as_secs_f64() / reps as f64);
                let t = std::time::Instant::now();
                for _ in 0..reps {
                    unsafe {
                        gemm::gemm(n, o, k, d2.as_mut_ptr(), 1, o as isize, false, x.as_ptr(), 1, k as isize, w.as_ptr(), k as isize, 1, 0.0f32, 1.0f32, false, false, false, gemm::Parallelism::Rayon(threads));
                    }
                }
                best[1] = best[1].min(t.elapsed().as_secs_f64() / reps as f64);
            }
            let gf = |s: f64| 2.0 * (n * o * k) as f64 / s / 1e9;
            println!("n={n:5} o={o:5} k={k:5}: sgemm {:7.1} GFLOP/s  gemm crate {:7.1} GFLOP/s  ratio {:.2}", gf(best[0]), gf(best[1]), best[1] / best[0]);
        }
    });
}

/// Single-thread GFLOP/s of one micro-tile loop in L1 and of MiniLM-size
/// GEMMs (the second should be close to the first).
#[test]
#[ignore]
fn sgemm_single_thread_efficiency() {
    for &(n, o, k) in &[(6, 16, 384), (48, 64, 384), (1100, 384, 384), (1100, 1536, 384), (1100, 384, 1536)] {
        let x = random(n * k, 1);
        let w = random(o * k, 2);
        let packed = PackedF32::pack(&w, o, k);
        let mut d = vec![0f32; n * o];
        let reps = (4e9 / (2.0 * (n * o * k) as f64)) as usize + 1;
        let mut best = f64::INFINITY;
        for _ in 0..10 {
            let t = std::time::Instant::now();
            for _ in 0..reps {
                sgemm(&x, n, &packed, &mut d, &Epilogue::NONE, 1);
            }
            best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        }
        println!("n={n:5} o={o:5} k={k:5}: {:.1} GFLOP/s one thread", 2.0 * (n * o * k) as f64 / best / 1e9);
    }
}

/// One thread against two on a batch-32 MiniLM size (826 real tokens).
#[test]
#[ignore]
fn sgemm_thread_scaling() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    pool.install(|| {
        for &(n, o, k) in &[(826, 1152, 384), (826, 384, 384), (826, 1536, 384), (826, 384, 1536)] {
            let x = random(n * k, 1);
            let w = random(o * k, 2);
            let packed = PackedF32::pack(&w, o, k);
            let mut d = vec![0f32; n * o];
            let reps = (2e9 / (2.0 * (n * o * k) as f64)) as usize + 1;
            let mut best = [f64::INFINITY; 2];
            for _ in 0..15 {
                for (i, th) in [1, 2].into_iter().enumerate() {
                    let t = std::time::Instant::now();
                    for _ in 0..reps {
                        sgemm(&x, n, &packed, &mut d, &Epilogue::NONE, th);
                    }
                    best[i] = best[i].min(t.elapsed().as_secs_f64() / reps as f64);
                }
            }
            let gf = |s: f64| 2.0 * (n * o * k) as f64 / s / 1e9;
            println!("n={n} o={o} k={k}: 1 thread {:.1}, 2 threads {:.1} GFLOP/s, scaling {:.2}", gf(best[0]), gf(best[1]), best[0] / best[1]);
        }
    });
}
