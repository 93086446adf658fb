//! Repacking of up to 8 weight rows (raw GGML bytes) into a [`Panel`].
//! Portable reference code (the AVX2 version in `pack_avx2.rs` must produce
//! identical panels); see `gemm/mod.rs` for the layout.

use super::{Family, Panel, NR};
use crate::kernels::blocks::*;
use crate::kernels::f16::f16le_to_f32;

/// Which family the kernels use for weight type `t` (`vnni`: the VNNI
/// kernels handle Q8_0 as unsigned +128 with an offset).
pub fn family(t: QType, vnni: bool) -> Family {
    match t {
        QType::Q4_0 | QType::Q4_1 | QType::Q5_0 | QType::Q5_1 => Family::LegacyU,
        QType::Q8_0 => {
            if vnni {
                Family::LegacyU
            } else {
                Family::LegacyS
            }
        }
        QType::Q4K | QType::Q5K => Family::K4,
        QType::Q6K => Family::Q6K,
        QType::Q8_1 | QType::Q8K => panic!("{t} is not a weight type"),
    }
}

/// Write the 4-value groups of one 32-value chunk of one row.
#[inline(always)]
fn scatter32(dst: &mut [u8], r: usize, vals: &[u8]) {
    for g in 0..8 {
        dst[g * 32 + r * 4..g * 32 + r * 4 + 4].copy_from_slice(&vals[4 * g..4 * g + 4]);
    }
}

/// Repack `rows` (<= 8) weight rows starting at `w` (each `row_bytes` long)
/// of type `t` into `p`. Missing rows (rows..8) are zero.
pub fn pack_panel(t: QType, fam: Family, w: &[u8], row_bytes: usize, rows: usize, p: &mut Panel) {
    debug_assert!(rows >= 1 && rows <= NR);
    let nb = row_bytes / t.type_size();
    p.nb = nb;
    match fam {
        Family::LegacyU | Family::LegacyS => {
            p.qs.clear();
            p.qs.resize(nb * 256, 0);
            p.f.clear();
            p.f.resize(nb * 16, 0.0);
            p.i.clear();
            for r in 0..rows {
                let row = &w[r * row_bytes..(r + 1) * row_bytes];
                for b in 0..nb {
                    let blk = &row[b * t.type_size()..(b + 1) * t.type_size()];
                    let (vals, d, off) = legacy_block(t, fam, blk);
                    scatter32(&mut p.qs[b * 256..], r, &vals);
                    p.f[b * NR + r] = d;
                    p.f[nb * NR + b * NR + r] = off;
                }
            }
        }
        Family::K4 => {
            p.qs.clear();
            p.qs.resize(nb * 2048, 0);
            p.f.clear();
            p.f.resize(nb * 16, 0.0);
            p.i.clear();
            p.i.resize(nb * 128, 0);
            for r in 0..rows {
                let row = &w[r * row_bytes..(r + 1) * row_bytes];
                for sb in 0..nb {
                    let blk = &row[sb * t.type_size()..(sb + 1) * t.type_size()];
                    let (q, scales, d, dmin) = match t {
                        QType::Q4K => {
                            let b = &as_blocks::<BlockQ4K>(blk)[0];
                            (unpack_q4k(&b.qs), b.scales, f16le_to_f32(b.d), f16le_to_f32(b.dmin))
                        }
                        _ => {
                            let b = &as_blocks::<BlockQ5K>(blk)[0];
                            (unpack_q5k(&b.qs, &b.qh), b.scales, f16le_to_f32(b.d), f16le_to_f32(b.dmin))
                        }
                    };
                    let (sc, mn) = unpack_scales_k4(&scales);
                    for s in 0..8 {
                        scatter32(&mut p.qs[sb * 2048 + s * 256..], r, &q[32 * s..32 * s + 32]);
                        p.i[sb * 64 + s * NR + r] = sc[s] as i32 * 0x10001;
                        p.i[nb * 64 + sb * 64 + s * NR + r] = mn[s] as i32 * 0x10001;
                    }
                    p.f[sb * NR + r] = d;
                    p.f[nb * NR + sb * NR + r] = dmin;
                }
            }
        }
        Family::Q6K => {
            p.qs.clear();
            p.qs.resize(nb * 2048, 0);
            p.f.clear();
            p.f.resize(nb * 8, 0.0);
            p.i.clear();
            p.i.resize(nb * 192, 0);
            let pair = |a: i8, b: i8| ((a as i16 as u16 as u32) | ((b as i16 as u16 as u32) << 16)) as i32;
            for r in 0..rows {
                let row = &w[r * row_bytes..(r + 1) * row_bytes];
                for sb in 0..nb {
                    let b = &as_blocks::<BlockQ6K>(&row[sb * 210..(sb + 1) * 210])[0];
                    let q = unpack_q6k(&b.ql, &b.qh);
                    for c in 0..8 {
                        scatter32(&mut p.qs[sb * 2048 + c * 256..], r, &q[32 * c..32 * c + 32]);
                    }
                    for s in 0..16 {
                        p.i[sb * 128 + s * NR + r] = pair(b.scales[s], b.scales[s]);
                    }
                    for pp in 0..8 {
                        p.i[nb * 128 + sb * 64 + pp * NR + r] = pair(b.scales[2 * pp], b.scales[2 * pp + 1]);
                    }
                    p.f[sb * NR + r] = f16le_to_f32(b.d);
                }
            }
        }
    }
}

/// One legacy block -> (32 values as bytes, d, offset coefficient).
#[inline(always)]
fn legacy_block(t: QType, fam: Family, blk: &[u8]) -> ([u8; 32], f32, f32) {
    match t {
        QType::Q4_0 => {
            let b = &as_blocks::<BlockQ4_0>(blk)[0];
            let d = f16le_to_f32(b.d);
            (unpack_q4(&b.qs), d, -8.0 * d)
        }
        QType::Q4_1 => {
            let b = &as_blocks::<BlockQ4_1>(blk)[0];
            (unpack_q4(&b.qs), f16le_to_f32(b.d), f16le_to_f32(b.m))
        }
        QType::Q5_0 => {
            let b = &as_blocks::<BlockQ5_0>(blk)[0];
            let d = f16le_to_f32(b.d);
            (unpack_q5(&b.qs, b.qh), d, -16.0 * d)
        }
        QType::Q5_1 => {
            let b = &as_blocks::<BlockQ5_1>(blk)[0];
            (unpack_q5(&b.qs, b.qh), f16le_to_f32(b.d), f16le_to_f32(b.m))
        }
        QType::Q8_0 => {
            let b = &as_blocks::<BlockQ8_0>(blk)[0];
            let d = b.d();
            if fam == Family::LegacyU {
                (b.qs.map(|q| (q as i32 + 128) as u8), d, -128.0 * d)
            } else {
                (b.qs.map(|q| q as u8), d, 0.0)
            }
        }
        _ => unreachable!(),
    }
}
