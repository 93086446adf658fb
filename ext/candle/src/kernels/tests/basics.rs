//! f16 conversion, block helpers, dequantization and activation quantization.
use super::common;
use common::*;
use crate::kernels::blocks::*;
use crate::kernels::f16::*;
use crate::kernels::quantize::*;

#[test]
fn f16_to_f32_exhaustive_matches_half() {
    for h in 0..=u16::MAX {
        let a = f16_to_f32(h);
        let b = half::f16::from_bits(h).to_f32();
        assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{h:#x}: {a} vs {b}");
    }
}

#[test]
fn f32_to_f16_matches_half() {
    let mut rng = Rng::new(1);
    let check = |f: f32| {
        let a = f32_to_f16(f);
        let b = half::f16::from_f32(f).to_bits();
        assert!(a == b || (f.is_nan() && (a & 0x7c00) == 0x7c00 && (a & 0x3ff) != 0), "{f:e}: {a:#x} vs {b:#x}");
    };
    for _ in 0..2_000_000 {
        check(f32::from_bits(rng.next_u64() as u32));
    }
    // every f16 value, its midpoints and neighbours (ties-to-even cases)
    for h in 0..0x7c00u16 {
        let v = f16_to_f32(h);
        let nx = f16_to_f32(h + 1);
        let mid = (v as f64 + nx as f64) / 2.0;
        for f in [
            v,
            mid as f32,
            f32::from_bits((mid as f32).to_bits() + 1),
            f32::from_bits((mid as f32).to_bits().wrapping_sub(1)),
        ] {
            check(f);
            check(-f);
        }
    }
    for f in [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, 65504.0, 65520.0, 65519.99, 1e-8, 2.98e-8, 5.96e-8] {
        check(f);
    }
}

#[test]
fn k4_scales_roundtrip() {
    let mut rng = Rng::new(2);
    for _ in 0..10_000 {
        let q: [u8; 12] = rng.bytes(12).try_into().unwrap();
        let (sc, mn) = unpack_scales_k4(&q);
        let u = unpack_scales_k4_u32(&q);
        let bytes: Vec<u8> = u.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(&bytes[..8], &sc);
        assert_eq!(&bytes[8..], &mn);
        assert_eq!(pack_scales_k4(&sc, &mn), q);
    }
}

#[test]
fn q6k_pack_roundtrip() {
    let mut rng = Rng::new(3);
    let q: [u8; 256] = std::array::from_fn(|_| rng.u8() & 63);
    let (ql, qh) = pack_q6k(&q);
    assert_eq!(unpack_q6k(&ql, &qh), q);
}

#[test]
fn dequantize_known_values() {
    // Q4_0: d=2, nibble j = j&15: element j (j<16) -> (j-8)*2, element 16+j -> high nibble
    let b = BlockQ4_0 { d: f16le(2.0), qs: std::array::from_fn(|j| (j as u8) | ((15 - j as u8) << 4)) };
    let mut out = [0f32; 32];
    dequantize_row(QType::Q4_0, as_bytes(&[b]), &mut out);
    for j in 0..16 {
        assert_eq!(out[j], (j as f32 - 8.0) * 2.0);
        assert_eq!(out[16 + j], (15.0 - j as f32 - 8.0) * 2.0);
    }
    // Q5_1: qh bit j adds 16 to element j
    let b = BlockQ5_1 { d: f16le(0.5), m: f16le(-1.0), qh: 0x8000_0001u32.to_le_bytes(), qs: [0x21; 16] };
    dequantize_row(QType::Q5_1, as_bytes(&[b]), &mut out);
    assert_eq!(out[0], (1.0 + 16.0) * 0.5 - 1.0);
    assert_eq!(out[1], 1.0 * 0.5 - 1.0);
    assert_eq!(out[16], 2.0 * 0.5 - 1.0);
    assert_eq!(out[31], (2.0 + 16.0) * 0.5 - 1.0);
    // Q4_K: sub-block s gets d*sc[s]*q - dmin*m[s]
    let sc = [1, 2, 3, 4, 5, 60, 61, 63];
    let mn = [0, 1, 2, 3, 33, 40, 50, 63];
    let b = BlockQ4K { d: f16le(1.0), dmin: f16le(0.25), scales: pack_scales_k4(&sc, &mn), qs: [0x31; 128] };
    let mut out = [0f32; 256];
    dequantize_row(QType::Q4K, as_bytes(&[b]), &mut out);
    for s in 0..8 {
        let q = if s % 2 == 0 { 1.0 } else { 3.0 };
        assert_eq!(out[32 * s + 5], sc[s] as f32 * q - 0.25 * mn[s] as f32, "sub-block {s}");
    }
    // Q6_K: value (q-32)*sc[e/16]*d
    let q: [u8; 256] = std::array::from_fn(|e| (e % 64) as u8);
    let (ql, qh) = pack_q6k(&q);
    let b = BlockQ6K { ql, qh, scales: std::array::from_fn(|s| s as i8 - 8), d: f16le(0.5) };
    dequantize_row(QType::Q6K, as_bytes(&[b]), &mut out);
    for e in 0..256 {
        assert_eq!(out[e], 0.5 * (e as f32 / 16.0).floor().sub(8.0) * ((e % 64) as f32 - 32.0));
    }
}
trait Sub {
    fn sub(self, o: f32) -> f32;
}
impl Sub for f32 {
    fn sub(self, o: f32) -> f32 {
        self - o
    }
}

#[test]
fn rounding_helpers() {
    for (v, r) in [(0.5, 1), (-0.5, -1), (1.5, 2), (2.5, 3), (-2.5, -3), (0.49999997, 0), (126.5, 127), (-0.0, 0)] {
        assert_eq!(round_half_away(v), r, "{v}");
    }
    for (v, r) in [(0.5, 0), (1.5, 2), (2.5, 2), (-2.5, -2), (-3.5, -4), (0.49999997, 0)] {
        assert_eq!(nearest_int(v), r, "{v}");
    }
}

#[test]
fn quantize_q8_0_known_ties() {
    // amax = 127 -> d = 1, id = 1: x*id is x itself; ties round away from zero.
    let mut x = vec![0f32; 32];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -2.5;
    x[3] = 0.5;
    x[4] = -126.5;
    let mut o = [BlockQ8_0::ZERO];
    quantize_row_q8_0_ref(&x, &mut o);
    assert_eq!(&o[0].qs[..5], &[127, 3, -3, 1, -127]);
    assert_eq!(o[0].d(), 1.0);
    let mut o2 = [BlockQ8_0::ZERO];
    quantize_row_q8_0(&x, &mut o2);
    assert_eq!(o, o2);
    // Q8_K: max = 127 -> iscale = -1: ties round to even, d = -1.
    let mut x = vec![0f32; 256];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -3.5;
    x[3] = -127.0; // same |x| as x[0] but later: x[0] stays the reference
    let mut o = [BlockQ8K::ZERO];
    quantize_row_q8k_ref(&x, &mut o);
    assert_eq!(&o[0].qs[..4], &[-127, -2, 4, 127]);
    assert_eq!(o[0].d, -1.0);
    assert_eq!(o[0].bsums[0], -127 - 2 + 4 + 127);
    let mut o2 = [BlockQ8K::ZERO];
    quantize_row_q8k(&x, &mut o2);
    assert_eq!(o, o2);
}

#[test]
fn quantize_simd_matches_reference() {
    let mut rng = Rng::new(4);
    for trial in 0..300 {
        let n = 256 * (1 + rng.below(8));
        let mut x = random_acts(&mut rng, n, true);
        if trial % 3 == 0 {
            // many exact .5 ties after scaling: amax = 127 -> id = 1
            for v in x.iter_mut() {
                *v = (rng.below(255) as f32 - 127.0) + if rng.below(2) == 0 { 0.5 } else { 0.0 };
                *v = v.clamp(-127.0, 127.0);
            }
            for c in x.chunks_mut(32) {
                c[0] = 127.0;
            }
        }
        let nb = n / 32;
        let (mut a, mut b) = (vec![BlockQ8_0::ZERO; nb], vec![BlockQ8_0::ZERO; nb]);
        quantize_row_q8_0_ref(&x, &mut a);
        quantize_row_q8_0(&x, &mut b);
        assert_eq!(a, b);
        let (mut a, mut b) = (vec![BlockQ8_1::ZERO; nb], vec![BlockQ8_1::ZERO; nb]);
        quantize_row_q8_1_ref(&x, &mut a);
        quantize_row_q8_1(&x, &mut b);
        assert_eq!(a, b);
        let (mut a, mut b) = (vec![BlockQ8K::ZERO; n / 256], vec![BlockQ8K::ZERO; n / 256]);
        quantize_row_q8k_ref(&x, &mut a);
        quantize_row_q8k(&x, &mut b);
        assert_eq!(a, b);
        // dequantized activations stay close to the input
        for (blk, xs) in a.iter().zip(x.chunks(256)) {
            let amax = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (q, v) in blk.qs.iter().zip(xs) {
                assert!((*q as f32 * blk.d - v).abs() <= amax / 127.0 * 0.5001 + 1e-6);
            }
            for j in 0..16 {
                assert_eq!(blk.bsums[j], blk.qs[16 * j..16 * j + 16].iter().map(|&q| q as i16).sum::<i16>());
            }
        }
    }
}
