//! F32 GEMM against weights packed once at load: `C[n x o] (+)= X[n x k] ·
//! Wᵀ` for a linear layer's `W[o x k]`, the encoders' matmul on the CPU.
//!
//! The layout follows the BLIS scheme. The weights are packed once into
//! panels of [`NR`] output columns (`[o / NR][k][NR]`, zero-padded), so no
//! call repacks them. The activations are read in place: a task takes a
//! block of [`MC`] rows, and for each [`KC`]-long slice of k and each panel
//! walks the block's rows [`MR`] at a time. The AVX2+FMA micro-kernel keeps
//! a 6 x 16 tile of C in twelve registers while one k step loads two
//! vectors of weights and broadcasts one activation from each of six rows:
//! the weight micro-panel (`kc x 16`) stays in L1 while the rows stream from
//! L2. (The activations are not packed, as BLIS would: that saves a copy
//! per call, and the short k of encoder layers keeps six row streams cheap.)
//!
//! The first k slice starts a tile from the bias (and, when accumulating, from
//! what C holds: a residual); when a task is done, each of its rows' finished
//! columns goes to an optional epilogue (an activation) while still in L2.
//! Every row is computed with the same k slices in the same order wherever
//! it sits in the batch, so a row's result does not depend on the rows
//! around it, nor on the thread count.
//!
//! Threads: tasks are (row block, group of panels) pairs on the rayon pool,
//! enough of them to keep every thread busy at batch 1. On this project's
//! 2-core AVX2 machine one thread runs at 80-86 GFLOP/s on MiniLM's shapes
//! (the kernel alone, in L1: 86); two threads at 120-165, about what
//! PyTorch's `linear` (MKL) does on the same shapes and threads
//! (`kernels/tests/sgemm.rs` has the ignored speed tests).

use rayon::prelude::*;

use super::pool::SyncPtr;

/// Rows per micro-tile.
pub const MR: usize = 6;
/// Output columns per micro-tile (two AVX vectors).
pub const NR: usize = 16;
/// Rows per activation block (at most; blocks are evened out).
const MC: usize = 48;
/// Longest k slice: a weight micro-panel is at most `KC * NR * 4` = 24 KiB
/// (L1 holds it); a 384-wide layer's k is one slice, so C is written once.
const KC: usize = 384;

/// One k step of a panel: a cache line, aligned so no load splits.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f32; NR]);

/// A weight matrix `W[o x k]` packed into `NR`-column panels.
pub struct PackedF32 {
    data: Vec<Line>,
    out: usize,
    inp: usize,
}

impl PackedF32 {
    /// Packs row-major `w` (`out` rows of `inp` values).
    pub fn pack(w: &[f32], out: usize, inp: usize) -> PackedF32 {
        assert_eq!(w.len(), out * inp, "weight length");
        let panels = out.div_ceil(NR);
        let mut data = vec![Line([0.0; NR]); panels * inp];
        if inp > 0 {
            for (p, panel) in data.chunks_exact_mut(inp).enumerate() {
                for j in 0..NR.min(out - p * NR) {
                    let row = &w[(p * NR + j) * inp..][..inp];
                    for (line, &v) in panel.iter_mut().zip(row) {
                        line.0[j] = v;
                    }
                }
            }
        }
        PackedF32 { data, out, inp }
    }

    fn panels(&self) -> usize {
        self.out.div_ceil(NR)
    }
}

/// What a call does besides the product.
pub struct Epilogue<'a> {
    /// Added to every row (length `o`).
    pub bias: Option<&'a [f32]>,
    /// Add to what `dst` holds (a residual) instead of overwriting it.
    pub accumulate: bool,
    /// Applied in place to each finished row segment (an activation).
    pub post: Option<&'a (dyn Fn(&mut [f32]) + Sync)>,
}

impl Epilogue<'_> {
    pub const NONE: Epilogue<'static> = Epilogue { bias: None, accumulate: false, post: None };
}

/// k slices: equal lengths of at most `KC`, multiples of 8 where possible.
fn k_slices(k: usize) -> Vec<std::ops::Range<usize>> {
    if k == 0 {
        return Vec::new();
    }
    let count = k.div_ceil(KC);
    let len = k.div_ceil(count).next_multiple_of(8).min(k);
    (0..k).step_by(len).map(|a| a..(a + len).min(k)).collect()
}

/// `dst[n x o] = (dst if accumulate) + bias + x[n x k] · Wᵀ`, then `post`
/// per row segment; `threads` ≤ 1 runs on the caller.
pub fn sgemm(x: &[f32], n: usize, w: &PackedF32, dst: &mut [f32], ep: &Epilogue, threads: usize) {
    let (o, k) = (w.out, w.inp);
    assert_eq!(x.len(), n * k, "activation length");
    assert_eq!(dst.len(), n * o, "output length");
    if let Some(b) = ep.bias {
        assert_eq!(b.len(), o, "bias length");
    }
    if n == 0 || o == 0 {
        return;
    }
    // Row blocks of whole tiles, as even as can be and a multiple of the
    // thread count, so no thread waits long on another at the end.
    let tiles = n.div_ceil(MR);
    let row_blocks = match n.div_ceil(MC) {
        b if threads > 1 => b.next_multiple_of(threads).min(tiles),
        b => b,
    };
    let block_rows = |rb: usize| (rb * tiles / row_blocks * MR).min(n)..((rb + 1) * tiles / row_blocks * MR).min(n);
    let panels = w.panels();
    let want = 4 * threads.max(1);
    let groups = if threads <= 1 || row_blocks >= want { 1 } else { want.div_ceil(row_blocks).min(panels) };
    let per_group = panels.div_ceil(groups);
    let groups = panels.div_ceil(per_group);
    let slices = k_slices(k);
    // tasks write disjoint tiles of C
    let out = SyncPtr(dst.as_mut_ptr());
    let task = |t: usize| {
        let (rb, g) = (t / groups, t % groups);
        let rows = block_rows(rb);
        let cols = g * per_group..((g + 1) * per_group).min(panels);
        // SAFETY: task (rb, g) alone writes rows × the columns of its panels.
        unsafe { block(x, k, w, out, o, rows, cols, &slices, ep) };
    };
    let tasks = row_blocks * groups;
    if threads <= 1 || tasks == 1 {
        (0..tasks).for_each(task);
    } else {
        (0..tasks).into_par_iter().for_each(task);
    }
}

/// One task: rows `rows` of C, panels `cols`, every k slice in order.
#[allow(clippy::too_many_arguments)]
unsafe fn block(
    x: &[f32],
    k: usize,
    w: &PackedF32,
    out: SyncPtr<f32>,
    o: usize,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    slices: &[std::ops::Range<usize>],
    ep: &Epilogue,
) {
    for (si, s) in slices.iter().enumerate() {
        let kc = s.len();
        let first = si == 0;
        for p in cols.clone() {
            let bp = (w.data.as_ptr() as *const f32).add(p * k * NR + s.start * NR);
            let c0 = p * NR;
            let nc = NR.min(o - c0);
            let load_c = !first || ep.accumulate;
            let bias = match (first, ep.bias) {
                (true, Some(b)) => b.as_ptr().add(c0),
                _ => std::ptr::null(),
            };
            // Whole 6 x 16 tiles in one SIMD call, the rest tile by tile.
            let mut r0 = rows.start;
            #[cfg(target_arch = "x86_64")]
            if nc == NR && super::cpu::has_avx2() {
                let tiles = rows.len() / MR;
                avx2::tiles(tiles, kc, x.as_ptr().add(r0 * k + s.start), k, bp, out.get().add(r0 * o + c0), o, load_c, bias);
                r0 += tiles * MR;
            }
            while r0 < rows.end {
                let mr = MR.min(rows.end - r0);
                // Rows past the block repeat its last row; their results are dropped.
                let a: [*const f32; MR] = std::array::from_fn(|i| x.as_ptr().add((r0 + i.min(mr - 1)) * k + s.start));
                let cptr = out.get().add(r0 * o + c0);
                let acc = tile(kc, &a, bp);
                for i in 0..mr {
                    let crow = std::slice::from_raw_parts_mut(cptr.add(i * o), nc);
                    let a = &acc[i * NR..][..nc];
                    if load_c {
                        crow.iter_mut().zip(a).for_each(|(c, a)| *c += a);
                    } else {
                        crow.copy_from_slice(a);
                    }
                    if !bias.is_null() {
                        crow.iter_mut().zip(std::slice::from_raw_parts(bias, nc)).for_each(|(c, b)| *c += b);
                    }
                }
                r0 += mr;
            }
        }
    }
    // The epilogue on each row's finished columns, still in L2.
    if let Some(post) = ep.post {
        let (c0, c1) = (cols.start * NR, (cols.end * NR).min(o));
        for r in rows {
            post(std::slice::from_raw_parts_mut(out.get().add(r * o + c0), c1 - c0));
        }
    }
}

/// One tile's product `A · B` over one k slice, `[MR][NR]` (the rows that
/// [`avx2::tiles`] does not take: a block's last rows, narrow panels, CPUs
/// without AVX2).
#[inline]
unsafe fn tile(kc: usize, a: &[*const f32; MR], b: *const f32) -> [f32; MR * NR] {
    let mut acc = [0f32; MR * NR];
    #[cfg(target_arch = "x86_64")]
    if super::cpu::has_avx2() {
        avx2::tile_into(kc, a, b, &mut acc);
        return acc;
    }
    scalar_kernel(kc, a, b, &mut acc);
    acc
}

unsafe fn scalar_kernel(kc: usize, a: &[*const f32; MR], b: *const f32, acc: &mut [f32; MR * NR]) {
    let b = std::slice::from_raw_parts(b, kc * NR);
    for (i, &ap) in a.iter().enumerate() {
        let ar = std::slice::from_raw_parts(ap, kc);
        for kk in 0..kc {
            for j in 0..NR {
                acc[i * NR + j] = ar[kk].mul_add(b[kk * NR + j], acc[i * NR + j]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    /// `tiles` full 6 x 16 tiles down one panel: rows `x + t * 6 * ldx`,
    /// C from `c + t * 6 * ldc`, updated in registers: `C = (C if load_c)
    /// + bias + A·B`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tiles(tiles: usize, kc: usize, x: *const f32, ldx: usize, b: *const f32, c: *mut f32, ldc: usize, load_c: bool, bias: *const f32) {
        let z = _mm256_setzero_ps();
        let (b0, b1) = if bias.is_null() { (z, z) } else { (_mm256_loadu_ps(bias), _mm256_loadu_ps(bias.add(8))) };
        for t in 0..tiles {
            let x0 = x.add(t * MR * ldx);
            let a: [*const f32; MR] = std::array::from_fn(|i| x0.add(i * ldx));
            let c = c.add(t * MR * ldc);
            for (i, [mut l, mut h]) in product(kc, &a, b).into_iter().enumerate() {
                let cp = c.add(i * ldc);
                if load_c {
                    l = _mm256_add_ps(_mm256_loadu_ps(cp), l);
                    h = _mm256_add_ps(_mm256_loadu_ps(cp.add(8)), h);
                }
                if !bias.is_null() {
                    l = _mm256_add_ps(l, b0);
                    h = _mm256_add_ps(h, b1);
                }
                _mm256_storeu_ps(cp, l);
                _mm256_storeu_ps(cp.add(8), h);
            }
        }
    }

    /// One tile's product into `acc` (`[MR][NR]`).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile_into(kc: usize, a: &[*const f32; MR], b: *const f32, acc: &mut [f32; MR * NR]) {
        for (i, [l, h]) in product(kc, a, b).into_iter().enumerate() {
            _mm256_storeu_ps(acc.as_mut_ptr().add(i * NR), l);
            _mm256_storeu_ps(acc.as_mut_ptr().add(i * NR + 8), h);
        }
    }

    /// The 6 x 16 tile in twelve accumulators (the constant loops unroll,
    /// so they stay in registers).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn product(kc: usize, a: &[*const f32; MR], mut b: *const f32) -> [[__m256; 2]; MR] {
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        for kk in 0..kc {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (ci, ap) in acc.iter_mut().zip(a) {
                let av = _mm256_broadcast_ss(&*ap.add(kk));
                ci[0] = _mm256_fmadd_ps(av, b0, ci[0]);
                ci[1] = _mm256_fmadd_ps(av, b1, ci[1]);
            }
            b = b.add(NR);
        }
        acc
    }
}
