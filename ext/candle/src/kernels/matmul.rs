//! `Y[m x n] = X[m x k] . W[n x k]^T` with W a quantized GGUF tensor.
//!
//! * X is quantized once to the partner format (Q8_0 / Q8_1 / Q8_K).
//! * Small m (decode, m < `gemm_min_m`, default 3 -- the measured crossover
//!   on Zen 3 including the repacking cost): row dot products. The n weight rows
//!   are handed out to the threads in chunks; each weight row is read once
//!   and dotted with all m activation rows while it is in L1.
//! * Larger m (prefill): 8 weight rows at a time are repacked into a panel
//!   (thread-local scratch) and multiplied with MR activation rows per
//!   micro-kernel call (`crate::kernels::gemm`), so each weight byte is loaded from
//!   memory once per matmul and reused from L1/L2 for all m rows.
//!
//! Threads come from a [`ThreadPool`] (`for_chunks`): work is split
//! dynamically in chunks and the caller never waits for a worker that has not
//! started, so a slow or descheduled (shared) core does not hold it back.

use crate::kernels::blocks::{as_blocks, as_blocks_mut, BlockQ8K, BlockQ8_0, BlockQ8_1, QType};
use crate::kernels::cpu::Isa;
use crate::kernels::dot::DotTable;
use crate::kernels::gemm::{self, pack::family, Acts, Family, Panel, NR};
use crate::kernels::pool::{SyncPtr, ThreadPool};
use crate::kernels::quantize::{quantize_row_q8_0, quantize_row_q8_1, quantize_row_q8k};
use std::cell::RefCell;

/// A quantized weight matrix: `n` rows (output features) of `k` values,
/// row-major, exactly as stored in a GGUF file (ggml `ne0 = k`, `ne1 = n`).
#[derive(Clone, Copy, Debug)]
pub struct QMatrix<'a> {
    pub qtype: QType,
    pub data: &'a [u8],
    pub n: usize,
    pub k: usize,
}

impl<'a> QMatrix<'a> {
    /// Panics if `k` is not a multiple of the block size, `data` has the wrong
    /// length, or `qtype` is not a weight type.
    pub fn new(qtype: QType, data: &'a [u8], n: usize, k: usize) -> Self {
        assert!(QType::WEIGHTS.contains(&qtype), "{qtype} is not a supported weight type");
        assert_eq!(k % qtype.block_size(), 0, "k={k} is not a multiple of the {qtype} block size");
        assert_eq!(data.len(), n * qtype.row_bytes(k), "weight data length for {n}x{k} {qtype}");
        QMatrix { qtype, data, n, k }
    }

    pub fn row_bytes(&self) -> usize {
        self.qtype.row_bytes(self.k)
    }
}

/// Tuning knobs; `Default` picks the best for this CPU.
#[derive(Clone, Copy, Debug)]
pub struct MatmulOpts {
    /// Kernel level (capped to what the CPU supports).
    pub isa: Isa,
    /// Use the GEMM (panel) path from this many activation rows on.
    pub gemm_min_m: usize,
    /// Below this many weight values (n*k) per matmul, stay on one thread.
    pub min_parallel_work: usize,
}

impl Default for MatmulOpts {
    fn default() -> Self {
        MatmulOpts { isa: crate::kernels::cpu::isa(), gemm_min_m: 3, min_parallel_work: 1 << 16 }
    }
}

/// `y = x . w^T` using `pool` and default options. `x`: m*k f32 row-major,
/// `y`: m*n f32 row-major (overwritten).
pub fn matmul(pool: &ThreadPool, w: &QMatrix, x: &[f32], m: usize, y: &mut [f32]) {
    matmul_with(pool, &MatmulOpts::default(), w, x, m, y)
}

/// Scratch reused across calls on the calling thread (quantized X).
#[derive(Default)]
struct CallScratch {
    acts: Vec<u64>,
    dx: Vec<f32>,
    sx: Vec<f32>,
}

thread_local! {
    static CALL_SCRATCH: RefCell<CallScratch> = RefCell::new(CallScratch::default());
    static PANEL: RefCell<Panel> = RefCell::new(Panel::default());
}

/// [`matmul`] with explicit options.
pub fn matmul_with(pool: &ThreadPool, opts: &MatmulOpts, w: &QMatrix, x: &[f32], m: usize, y: &mut [f32]) {
    matmul_parts(pool, opts, &[*w], x, m, &mut [y])
}

/// `ys[i] = x . ws[i]^T` for several weights that read the same `x` (a
/// layer's q/k/v, or gate/up): one quantization of `x` and, when they share
/// a type, one pass of the pool over all their rows -- for a decode step
/// three small matmuls cost one dispatch and one tail instead of three.
pub fn matmul_many(pool: &ThreadPool, ws: &[QMatrix], x: &[f32], m: usize, ys: &mut [&mut [f32]]) {
    assert_eq!(ws.len(), ys.len(), "one output per weight");
    let same = ws.windows(2).all(|p| p[0].qtype == p[1].qtype && p[0].k == p[1].k);
    if same {
        return matmul_parts(pool, &MatmulOpts::default(), ws, x, m, ys);
    }
    for (w, y) in ws.iter().zip(ys.iter_mut()) {
        matmul_parts(pool, &MatmulOpts::default(), std::slice::from_ref(w), x, m, std::slice::from_mut(y));
    }
}

/// `[0, a, a + b, ...]` for counts `a, b, ...`.
fn prefix_sums(counts: impl Iterator<Item = usize>) -> Vec<usize> {
    std::iter::once(0).chain(counts.scan(0, |o, c| {
        *o += c;
        Some(*o)
    })).collect()
}

/// Which part holds global index `g` of `offs` (prefix sums, offs[0] = 0).
#[inline]
fn part_of(offs: &[usize], g: usize) -> usize {
    offs.partition_point(|&o| o <= g) - 1
}

/// The matmul of parts of one type and width: rows (decode) or panels
/// (prefill) of all parts are handed out as one range.
fn matmul_parts(pool: &ThreadPool, opts: &MatmulOpts, ws: &[QMatrix], x: &[f32], m: usize, ys: &mut [&mut [f32]]) {
    let w0 = ws[0];
    let k = w0.k;
    assert_eq!(x.len(), m * k, "x must be m*k");
    for (w, y) in ws.iter().zip(ys.iter()) {
        assert!(w.qtype == w0.qtype && w.k == k, "parts share type and width");
        assert_eq!(y.len(), m * w.n, "y must be m*n");
    }
    let n_total: usize = ws.iter().map(|w| w.n).sum();
    if m == 0 || n_total == 0 {
        return;
    }
    let isa = opts.isa.min(crate::kernels::cpu::detected_isa());
    let at = w0.qtype.vec_dot_type();
    let a_row = at.row_bytes(k);
    let nb = k / at.block_size();
    let use_gemm = isa >= Isa::Avx2 && m >= opts.gemm_min_m.max(1);
    let threads = if n_total * k < opts.min_parallel_work { 1 } else { pool.threads() };
    let yps: Vec<SyncPtr<f32>> = ys.iter_mut().map(|y| SyncPtr(y.as_mut_ptr())).collect();

    CALL_SCRATCH.with(|cs| {
        let mut cs = cs.borrow_mut();
        let cs = &mut *cs;
        // ---- 1. quantize X (rows split over threads when there are many) ----
        cs.acts.resize((m * a_row).div_ceil(8), 0);
        let gemv = if use_gemm { None } else { crate::kernels::gemv::gemv_fns(w0.qtype, isa) };
        let need_sides = (use_gemm || gemv.is_some()) && at != QType::Q8K;
        if need_sides {
            cs.dx.resize(m * nb, 0.0);
            cs.sx.resize(m * nb, 0.0);
        }
        {
            let acts = SyncPtr(cs.acts.as_mut_ptr() as *mut u8);
            let (dxp, sxp) = (SyncPtr(cs.dx.as_mut_ptr()), SyncPtr(cs.sx.as_mut_ptr()));
            let quant_row = |i: usize| {
                // SAFETY: row i of the scratch is written by exactly one thread.
                let dst = unsafe { std::slice::from_raw_parts_mut(acts.get().add(i * a_row), a_row) };
                let xr = &x[i * k..(i + 1) * k];
                match at {
                    QType::Q8_0 => quantize_row_q8_0(xr, as_blocks_mut::<BlockQ8_0>(dst)),
                    QType::Q8_1 => quantize_row_q8_1(xr, as_blocks_mut::<BlockQ8_1>(dst)),
                    _ => quantize_row_q8k(xr, as_blocks_mut::<BlockQ8K>(dst)),
                }
                if need_sides {
                    let (dx, sx) = unsafe {
                        (
                            std::slice::from_raw_parts_mut(dxp.get().add(i * nb), nb),
                            std::slice::from_raw_parts_mut(sxp.get().add(i * nb), nb),
                        )
                    };
                    legacy_sides(at, dst, dx, sx);
                }
            };
            if m >= 8 && threads > 1 {
                pool.for_chunks(m, 4, &|r| r.for_each(quant_row));
            } else {
                (0..m).for_each(quant_row);
            }
        }
        let acts: &[u8] = unsafe { std::slice::from_raw_parts(cs.acts.as_ptr() as *const u8, m * a_row) };

        // ---- 2a. decode path: row dots ----
        if !use_gemm {
            let w_row = w0.row_bytes();
            let nbw = k / w0.qtype.block_size();
            // global row g of the parts: part_of(offs, g), row g - offs[part]
            let offs = prefix_sums(ws.iter().map(|w| w.n));
            // chunks of rows: ~8 per thread, at least 8 rows each
            let chunk = (n_total / (threads * 8)).clamp(8, 256);
            let (a_bs, a_qoff) = (at.type_size(), if at == QType::Q8_1 { 4 } else { 2 });
            let dot = if gemv.is_none() { Some(DotTable::for_isa(isa).expect("supported isa").get(w0.qtype)) } else { None };
            // rows `lo..hi` of part `p`
            let rows_of = |p: usize, lo: usize, hi: usize| {
                let (w, n, yp) = (&ws[p], ws[p].n, yps[p]);
                // SAFETY (all calls below): sizes validated by QMatrix::new and
                // the asserts above; element (i, j) is written by exactly one thread.
                if let Some(g) = gemv {
                    let mut j = lo;
                    while j < hi {
                        let (f, rows) = if hi - j >= g.rows { (g.multi, g.rows) } else { (g.single, 1) };
                        for i in 0..m {
                            let mut out = [0f32; 8];
                            unsafe {
                                f(
                                    nbw,
                                    w.data.as_ptr().add(j * w_row),
                                    w_row,
                                    acts.as_ptr().add(i * a_row),
                                    a_bs,
                                    a_qoff,
                                    cs.dx.as_ptr().add(i * nb),
                                    cs.sx.as_ptr().add(i * nb),
                                    out.as_mut_ptr(),
                                );
                                for (c, v) in out.iter().take(rows).enumerate() {
                                    *yp.get().add(i * n + j + c) = *v;
                                }
                            }
                        }
                        j += rows;
                    }
                } else if let Some(dot) = dot {
                    for j in lo..hi {
                        let wr = unsafe { w.data.as_ptr().add(j * w_row) };
                        for i in 0..m {
                            unsafe {
                                *yp.get().add(i * n + j) = dot(nbw, wr, acts.as_ptr().add(i * a_row));
                            }
                        }
                    }
                }
            };
            let body = |r: std::ops::Range<usize>| {
                let mut g = r.start;
                while g < r.end {
                    let p = part_of(&offs, g);
                    let end = r.end.min(offs[p + 1]);
                    rows_of(p, g - offs[p], end - offs[p]);
                    g = end;
                }
            };
            if threads > 1 {
                pool.for_chunks(n_total, chunk, &body);
            } else {
                body(0..n_total);
            }
            return;
        }

        // ---- 2b. prefill path: panels x micro-kernels ----
        let vnni = isa >= Isa::Avx512Vnni;
        let fam = family(w0.qtype, vnni);
        let kern = select_kernel(w0.qtype, fam, vnni);
        let a = Acts {
            data: acts,
            row_bytes: a_row,
            block_bytes: at.type_size(),
            qs_off: match at {
                QType::Q8_0 => 2,
                QType::Q8_1 => 4,
                _ => 4,
            },
            dx: if need_sides { &cs.dx[..m * nb] } else { &[] },
            sx: if need_sides { &cs.sx[..m * nb] } else { &[] },
            nb,
        };
        // global panel g of the parts, as the rows above
        let poffs = prefix_sums(ws.iter().map(|w| w.n.div_ceil(NR)));
        let npanels = *poffs.last().expect("one part at least");
        let w_row = w0.row_bytes();
        let body = |r: std::ops::Range<usize>| {
            PANEL.with(|p| {
                let mut p = p.borrow_mut();
                for g in r {
                    let part = part_of(&poffs, g);
                    let (w, n, yp) = (&ws[part], ws[part].n, yps[part]);
                    let j0 = (g - poffs[part]) * NR;
                    let rows = (n - j0).min(NR);
                    let wp = &w.data[j0 * w_row..(j0 + rows) * w_row];
                    // SAFETY: the GEMM path is only taken with AVX2 (see use_gemm).
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        gemm::pack_avx2::pack_panel(w.qtype, fam, wp, w_row, rows, &mut p)
                    };
                    #[cfg(not(target_arch = "x86_64"))]
                    gemm::pack::pack_panel(w.qtype, fam, wp, w_row, rows, &mut p);
                    let mut i0 = 0;
                    while i0 < m {
                        let mr = (m - i0).min(kern.mr);
                        // SAFETY: the kernel writes y[(i0..i0+mr) * n + j0..j0+rows],
                        // owned by this panel; activations validated above.
                        unsafe { (kern.f[mr - 1])(&p, &a, i0, yp.get().add(i0 * n + j0), n, rows) };
                        i0 += mr;
                    }
                }
            })
        };
        if threads > 1 && npanels > 1 {
            pool.for_chunks(npanels, 1, &body);
        } else {
            body(0..npanels);
        }
    });
}

/// d_x and s_x = d_x * sum(q) for each Q8_0 / Q8_1 block of one row (exact
/// integer sum; for Q8_1 this is more precise than its f16 `s` field).
fn legacy_sides(at: QType, row: &[u8], dx: &mut [f32], sx: &mut [f32]) {
    match at {
        QType::Q8_0 => {
            for ((b, d), s) in as_blocks::<BlockQ8_0>(row).iter().zip(dx).zip(sx) {
                *d = b.d();
                *s = *d * b.qs.iter().map(|&q| q as i32).sum::<i32>() as f32;
            }
        }
        QType::Q8_1 => {
            for ((b, d), s) in as_blocks::<BlockQ8_1>(row).iter().zip(dx).zip(sx) {
                *d = b.d();
                *s = *d * b.qs.iter().map(|&q| q as i32).sum::<i32>() as f32;
            }
        }
        _ => unreachable!(),
    }
}

type KernelFn = unsafe fn(&Panel, &Acts, usize, *mut f32, usize, usize);

/// Micro-kernels for row counts 1..=mr.
struct Kernel {
    mr: usize,
    f: &'static [KernelFn],
}

#[cfg(target_arch = "x86_64")]
macro_rules! kernels {
    ($m:ident :: $f:ident; $($mr:literal),+) => {
        &[$($m::$f::<$mr> as KernelFn),+]
    };
    ($m:ident :: $f:ident, $extra:tt; $($mr:literal),+) => {
        &[$($m::$f::<$mr, $extra> as KernelFn),+]
    };
}

#[cfg(target_arch = "x86_64")]
fn select_kernel(t: QType, fam: Family, vnni: bool) -> Kernel {
    use gemm::avx2 as a;
    use gemm::vnni as v;
    let f: &'static [KernelFn] = match (fam, vnni) {
        (Family::LegacyU, true) => kernels!(v::legacy; 1, 2, 3, 4, 5, 6, 7, 8),
        (Family::K4, true) => kernels!(v::k4; 1, 2, 3, 4, 5, 6, 7, 8),
        (Family::Q6K, true) => kernels!(v::q6k; 1, 2, 3, 4, 5, 6, 7, 8),
        (Family::LegacyU, false) => match t {
            QType::Q4_0 | QType::Q4_1 => kernels!(a::legacy_u, true; 1, 2, 3, 4),
            _ => kernels!(a::legacy_u, false; 1, 2, 3, 4),
        },
        (Family::LegacyS, _) => kernels!(a::legacy_s; 1, 2, 3, 4),
        (Family::K4, false) => match t {
            QType::Q4K => kernels!(a::k4, false; 1, 2, 3, 4),
            _ => kernels!(a::k4, true; 1, 2, 3, 4),
        },
        (Family::Q6K, false) => kernels!(a::q6k; 1, 2, 3, 4),
    };
    Kernel { mr: f.len(), f }
}

#[cfg(not(target_arch = "x86_64"))]
fn select_kernel(_t: QType, _fam: Family, _vnni: bool) -> Kernel {
    unreachable!("the GEMM path needs x86-64 SIMD")
}
