//! IEEE 754 binary16 <-> binary32 conversion (scalar, dependency free).
//!
//! GGML stores block scales as little-endian f16. The hot SIMD kernels use the
//! F16C instruction (`vcvtph2ps`) instead; these functions are the reference and
//! the fallback for scalar code. Both directions are exact / round-to-nearest-even,
//! i.e. bit-identical to `half::f16` and to the hardware instruction.

/// f16 bits -> f32 (exact).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x03ff) as u32;
    let bits = match exp {
        0 => {
            if man == 0 {
                sign
            } else {
                // Subnormal: value = man * 2^-24, exactly representable in f32.
                let v = man as f32 * (1.0 / 16_777_216.0);
                return if sign != 0 { -v } else { v };
            }
        }
        0x1f => sign | 0x7f80_0000 | (man << 13), // inf / NaN (payload kept)
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// f32 -> f16 bits, round to nearest, ties to even (like `vcvtps2ph` with imm 0).
#[inline]
pub fn f32_to_f16(f: f32) -> u16 {
    let x = f.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let man = x & 0x007f_ffff;
    if exp == 0xff {
        // inf or NaN (keep NaN quiet and non-zero)
        let nan = if man != 0 { 0x0200 | (man >> 13) as u16 } else { 0 };
        return sign | 0x7c00 | nan;
    }
    let e = exp - 127 + 15; // biased f16 exponent
    if e >= 0x1f {
        return sign | 0x7c00; // overflow -> inf
    }
    if e <= 0 {
        // Result is subnormal (or zero). Shift the 24-bit significand so that
        // one unit = 2^-24 (the f16 subnormal quantum).
        let shift = 14 - e; // >= 14
        if shift > 24 {
            return sign; // < half of the smallest subnormal
        }
        let m = man | 0x0080_0000;
        let mut r = m >> shift;
        let rem = m & ((1u32 << shift) - 1);
        let half = 1u32 << (shift - 1);
        if rem > half || (rem == half && (r & 1) == 1) {
            r += 1; // may carry into the smallest normal: still correct
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1fff;
    if rem > 0x1000 || (rem == 0x1000 && (r & 1) == 1) {
        r += 1; // carry into the exponent (up to inf) is the correct rounding
    }
    sign | r as u16
}

/// Read a little-endian f16 stored as two bytes and widen it.
#[inline]
pub fn f16le_to_f32(b: [u8; 2]) -> f32 {
    f16_to_f32(u16::from_le_bytes(b))
}

/// Narrow to f16 and return the two little-endian bytes.
#[inline]
pub fn f32_to_f16le(f: f32) -> [u8; 2] {
    f32_to_f16(f).to_le_bytes()
}
