//! GGML block layouts, byte-exact with the tensor data of GGUF files, plus the
//! scalar (reference) dequantization.
//!
//! All weight block structs are `repr(C)` with alignment 1 (f16 fields are kept
//! as `[u8; 2]`), so a `&[u8]` taken anywhere from a memory-mapped GGUF file can
//! be viewed as a block slice without any alignment requirement. `BlockQ8K` is an
//! activation-only format (never read from files); it holds an f32 and i16s and
//! has alignment 4.
//!
//! Element order inside a block follows ggml exactly:
//! * Q4_0/Q4_1: element j (j<16) is the low nibble of `qs[j]`, element j+16 the
//!   high nibble of `qs[j]`.
//! * Q5_0/Q5_1: as Q4, plus bit j of the little-endian u32 `qh` is the 5th bit
//!   (value 16) of element j.
//! * Q4_K/Q5_K: 256 elements = 4 chunks of 64; chunk c uses `qs[32c..32c+32]`:
//!   low nibbles are elements 64c..64c+32 (sub-block 2c), high nibbles are
//!   64c+32..64c+64 (sub-block 2c+1). Q5_K's 5th bit of element 32s+l (sub-block
//!   s) is bit s of `qh[l]`. Scales/mins are 6-bit, packed in 12 bytes
//!   ([`unpack_scales_k4`]).
//! * Q6_K: two halves of 128; see [`dequantize_row`].

use crate::kernels::f16::{f16le_to_f32, f32_to_f16le};

/// Elements per block of the "legacy" formats (Q4_0 .. Q8_1).
pub const QK: usize = 32;
/// Elements per super-block of the k-quants.
pub const QK_K: usize = 256;

/// Q4_0: x = d * (q - 8), q in 0..16. 18 bytes / 32 values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockQ4_0 {
    pub d: [u8; 2],
    pub qs: [u8; QK / 2],
}

/// Q4_1: x = d * q + m, q in 0..16. 20 bytes / 32 values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockQ4_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; QK / 2],
}

/// Q5_0: x = d * (q - 16), q in 0..32. 22 bytes / 32 values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockQ5_0 {
    pub d: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// Q5_1: x = d * q + m, q in 0..32. 24 bytes / 32 values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockQ5_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// Q8_0: x = d * q. 34 bytes / 32 values. Also the activation partner of
/// Q4_0, Q5_0 and Q8_0.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8_0 {
    pub d: [u8; 2],
    pub qs: [i8; QK],
}

/// Q8_1: x = d * q, with `s = d * sum(q)` (both f16). 36 bytes / 32 values.
/// Activation partner of Q4_1 and Q5_1.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8_1 {
    pub d: [u8; 2],
    pub s: [u8; 2],
    pub qs: [i8; QK],
}

/// Q4_K: 8 sub-blocks of 32, x = d*sc[s]*q - dmin*m[s], q in 0..16.
/// 144 bytes / 256 values.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ4K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; 12],
    pub qs: [u8; QK_K / 2],
}

/// Q5_K: as Q4_K with a 5th bit, q in 0..32. 176 bytes / 256 values.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ5K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; 12],
    pub qh: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 2],
}

/// Q6_K: 16 sub-blocks of 16, x = d*sc[s]*(q - 32), q in 0..64, sc: i8.
/// 210 bytes / 256 values.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ6K {
    pub ql: [u8; QK_K / 2],
    pub qh: [u8; QK_K / 4],
    pub scales: [i8; QK_K / 16],
    pub d: [u8; 2],
}

/// Q8_K: activation partner of all k-quants. `d` is f32 (and, as ggml makes it,
/// usually negative), `bsums[j]` = sum of `qs[16j..16j+16]`. 292 bytes / 256.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8K {
    pub d: f32,
    pub qs: [i8; QK_K],
    pub bsums: [i16; QK_K / 16],
}

impl BlockQ8_0 {
    pub const ZERO: Self = Self { d: [0; 2], qs: [0; QK] };
    #[inline]
    pub fn d(&self) -> f32 {
        f16le_to_f32(self.d)
    }
}
impl BlockQ8_1 {
    pub const ZERO: Self = Self { d: [0; 2], s: [0; 2], qs: [0; QK] };
    #[inline]
    pub fn d(&self) -> f32 {
        f16le_to_f32(self.d)
    }
    #[inline]
    pub fn s(&self) -> f32 {
        f16le_to_f32(self.s)
    }
}
impl BlockQ8K {
    pub const ZERO: Self = Self { d: 0.0, qs: [0; QK_K], bsums: [0; QK_K / 16] };
}

// Byte sizes must match ggml's `type_size` exactly.
const _: () = {
    assert!(std::mem::size_of::<BlockQ4_0>() == 18);
    assert!(std::mem::size_of::<BlockQ4_1>() == 20);
    assert!(std::mem::size_of::<BlockQ5_0>() == 22);
    assert!(std::mem::size_of::<BlockQ5_1>() == 24);
    assert!(std::mem::size_of::<BlockQ8_0>() == 34);
    assert!(std::mem::size_of::<BlockQ8_1>() == 36);
    assert!(std::mem::size_of::<BlockQ4K>() == 144);
    assert!(std::mem::size_of::<BlockQ5K>() == 176);
    assert!(std::mem::size_of::<BlockQ6K>() == 210);
    assert!(std::mem::size_of::<BlockQ8K>() == 292);
    assert!(std::mem::align_of::<BlockQ4_0>() == 1);
    assert!(std::mem::align_of::<BlockQ4_1>() == 1);
    assert!(std::mem::align_of::<BlockQ5_0>() == 1);
    assert!(std::mem::align_of::<BlockQ5_1>() == 1);
    assert!(std::mem::align_of::<BlockQ8_0>() == 1);
    assert!(std::mem::align_of::<BlockQ8_1>() == 1);
    assert!(std::mem::align_of::<BlockQ4K>() == 1);
    assert!(std::mem::align_of::<BlockQ5K>() == 1);
    assert!(std::mem::align_of::<BlockQ6K>() == 1);
};

/// The quantized formats handled here. Discriminants are the GGML type ids
/// (as stored in GGUF tensor infos).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum QType {
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q4K = 12,
    Q5K = 13,
    Q6K = 14,
    Q8K = 15,
}

impl QType {
    /// All types, weight types first.
    pub const ALL: [QType; 10] = [
        QType::Q4_0,
        QType::Q4_1,
        QType::Q5_0,
        QType::Q5_1,
        QType::Q8_0,
        QType::Q4K,
        QType::Q5K,
        QType::Q6K,
        QType::Q8_1,
        QType::Q8K,
    ];
    /// Types that can be used as matmul weights (have a vec_dot).
    pub const WEIGHTS: [QType; 8] =
        [QType::Q4_0, QType::Q4_1, QType::Q5_0, QType::Q5_1, QType::Q8_0, QType::Q4K, QType::Q5K, QType::Q6K];

    /// GGML type id -> QType.
    pub fn from_ggml_id(id: u32) -> Option<QType> {
        Self::ALL.into_iter().find(|t| *t as u32 == id)
    }

    /// Elements per block.
    pub const fn block_size(self) -> usize {
        match self {
            QType::Q4K | QType::Q5K | QType::Q6K | QType::Q8K => QK_K,
            _ => QK,
        }
    }

    /// Bytes per block.
    pub const fn type_size(self) -> usize {
        match self {
            QType::Q4_0 => 18,
            QType::Q4_1 => 20,
            QType::Q5_0 => 22,
            QType::Q5_1 => 24,
            QType::Q8_0 => 34,
            QType::Q8_1 => 36,
            QType::Q4K => 144,
            QType::Q5K => 176,
            QType::Q6K => 210,
            QType::Q8K => 292,
        }
    }

    /// Bytes of one row of `k` elements (`k` must be a multiple of the block size).
    pub const fn row_bytes(self, k: usize) -> usize {
        k / self.block_size() * self.type_size()
    }

    /// The activation format this weight type is dotted with (ggml's `vec_dot_type`).
    pub const fn vec_dot_type(self) -> QType {
        match self {
            QType::Q4_0 | QType::Q5_0 | QType::Q8_0 => QType::Q8_0,
            QType::Q4_1 | QType::Q5_1 => QType::Q8_1,
            QType::Q8_1 => QType::Q8_1,
            QType::Q4K | QType::Q5K | QType::Q6K | QType::Q8K => QType::Q8K,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            QType::Q4_0 => "Q4_0",
            QType::Q4_1 => "Q4_1",
            QType::Q5_0 => "Q5_0",
            QType::Q5_1 => "Q5_1",
            QType::Q8_0 => "Q8_0",
            QType::Q8_1 => "Q8_1",
            QType::Q4K => "Q4_K",
            QType::Q5K => "Q5_K",
            QType::Q6K => "Q6_K",
            QType::Q8K => "Q8_K",
        }
    }
}

impl std::fmt::Display for QType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Implemented by every block struct; lets byte slices be viewed as blocks.
///
/// # Safety
/// Implementors must be `repr(C)` plain-old-data for which every bit pattern
/// is valid.
pub unsafe trait Block: Copy + 'static {
    const QTYPE: QType;
}
unsafe impl Block for BlockQ4_0 {
    const QTYPE: QType = QType::Q4_0;
}
unsafe impl Block for BlockQ4_1 {
    const QTYPE: QType = QType::Q4_1;
}
unsafe impl Block for BlockQ5_0 {
    const QTYPE: QType = QType::Q5_0;
}
unsafe impl Block for BlockQ5_1 {
    const QTYPE: QType = QType::Q5_1;
}
unsafe impl Block for BlockQ8_0 {
    const QTYPE: QType = QType::Q8_0;
}
unsafe impl Block for BlockQ8_1 {
    const QTYPE: QType = QType::Q8_1;
}
unsafe impl Block for BlockQ4K {
    const QTYPE: QType = QType::Q4K;
}
unsafe impl Block for BlockQ5K {
    const QTYPE: QType = QType::Q5K;
}
unsafe impl Block for BlockQ6K {
    const QTYPE: QType = QType::Q6K;
}
unsafe impl Block for BlockQ8K {
    const QTYPE: QType = QType::Q8K;
}

/// View raw bytes as blocks. Panics if the length is not a whole number of
/// blocks or (only possible for `BlockQ8K`) the pointer is misaligned.
pub fn as_blocks<B: Block>(bytes: &[u8]) -> &[B] {
    let sz = std::mem::size_of::<B>();
    assert_eq!(bytes.len() % sz, 0, "{}: byte length {} is not a multiple of {}", B::QTYPE, bytes.len(), sz);
    assert_eq!(bytes.as_ptr() as usize % std::mem::align_of::<B>(), 0, "misaligned {}", B::QTYPE);
    // SAFETY: B is POD (trait contract), size and alignment checked above.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const B, bytes.len() / sz) }
}

/// Mutable variant of [`as_blocks`].
pub fn as_blocks_mut<B: Block>(bytes: &mut [u8]) -> &mut [B] {
    let sz = std::mem::size_of::<B>();
    assert_eq!(bytes.len() % sz, 0);
    assert_eq!(bytes.as_ptr() as usize % std::mem::align_of::<B>(), 0);
    // SAFETY: as above.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr() as *mut B, bytes.len() / sz) }
}

/// View blocks as their raw bytes.
pub fn as_bytes<B: Block>(blocks: &[B]) -> &[u8] {
    // SAFETY: POD, any byte view is valid.
    unsafe { std::slice::from_raw_parts(blocks.as_ptr() as *const u8, std::mem::size_of_val(blocks)) }
}

/// Unpack the 12-byte 6-bit scales/mins of Q4_K and Q5_K (ggml's
/// `get_scale_min_k4` for j = 0..8). Returns (scales, mins).
#[inline]
pub fn unpack_scales_k4(q: &[u8; 12]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut mn = [0u8; 8];
    for j in 0..4 {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
    }
    for j in 4..8 {
        sc[j] = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
        mn[j] = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
    (sc, mn)
}

/// Same as [`unpack_scales_k4`] with 32-bit masks (ggml's `utmp` trick):
/// returns 16 bytes as 4 u32, bytes 0..8 = scales, bytes 8..16 = mins.
#[inline]
pub fn unpack_scales_k4_u32(q: &[u8; 12]) -> [u32; 4] {
    const KMASK1: u32 = 0x3f3f_3f3f;
    const KMASK2: u32 = 0x0f0f_0f0f;
    const KMASK3: u32 = 0x0303_0303;
    let u0 = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
    let u1 = u32::from_le_bytes([q[4], q[5], q[6], q[7]]);
    let u2 = u32::from_le_bytes([q[8], q[9], q[10], q[11]]);
    [
        u0 & KMASK1,
        (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4),
        u1 & KMASK1,
        ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4),
    ]
}

/// Inverse of [`unpack_scales_k4`] (values must be < 64). Used by tests and
/// by anyone building k-quant blocks.
pub fn pack_scales_k4(sc: &[u8; 8], mn: &[u8; 8]) -> [u8; 12] {
    let mut q = [0u8; 12];
    for j in 0..4 {
        q[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
        q[j + 4] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6);
        q[j + 8] = (sc[j + 4] & 0x0f) | ((mn[j + 4] & 0x0f) << 4);
    }
    q
}

// ---------------------------------------------------------------------------
// Per-block unpacking to plain integers (shared by the scalar reference code).
// ---------------------------------------------------------------------------

/// The 32 unsigned 4-bit values of a Q4_0/Q4_1 block, in element order.
#[inline]
pub fn unpack_q4(qs: &[u8; 16]) -> [u8; 32] {
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = qs[j] & 0x0f;
        q[j + 16] = qs[j] >> 4;
    }
    q
}

/// The 32 unsigned 5-bit values of a Q5_0/Q5_1 block, in element order.
#[inline]
pub fn unpack_q5(qs: &[u8; 16], qh: [u8; 4]) -> [u8; 32] {
    let h = u32::from_le_bytes(qh);
    let mut q = unpack_q4(qs);
    for (j, v) in q.iter_mut().enumerate() {
        *v |= (((h >> j) & 1) as u8) << 4;
    }
    q
}

/// The 256 unsigned 4-bit values of a Q4_K block, in element order.
#[inline]
pub fn unpack_q4k(qs: &[u8; 128]) -> [u8; 256] {
    let mut q = [0u8; 256];
    for c in 0..4 {
        for l in 0..32 {
            q[64 * c + l] = qs[32 * c + l] & 0x0f;
            q[64 * c + 32 + l] = qs[32 * c + l] >> 4;
        }
    }
    q
}

/// The 256 unsigned 5-bit values of a Q5_K block, in element order.
#[inline]
pub fn unpack_q5k(qs: &[u8; 128], qh: &[u8; 32]) -> [u8; 256] {
    let mut q = unpack_q4k(qs);
    for s in 0..8 {
        for l in 0..32 {
            q[32 * s + l] |= ((qh[l] >> s) & 1) << 4;
        }
    }
    q
}

/// The 256 unsigned 6-bit values (0..64, real value q-32) of a Q6_K block,
/// in element order. Sub-block s (16 elements) uses `scales[s]`.
#[inline]
pub fn unpack_q6k(ql: &[u8; 128], qh: &[u8; 64]) -> [u8; 256] {
    let mut q = [0u8; 256];
    for h in 0..2 {
        let (ql, qh, q) = (&ql[64 * h..], &qh[32 * h..], &mut q[128 * h..]);
        for l in 0..32 {
            q[l] = (ql[l] & 0x0f) | ((qh[l] & 3) << 4);
            q[l + 32] = (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4);
            q[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
            q[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
    }
    q
}

/// Inverse of [`unpack_q6k`]: 256 values 0..64 -> (ql, qh).
pub fn pack_q6k(q: &[u8; 256]) -> ([u8; 128], [u8; 64]) {
    let mut ql = [0u8; 128];
    let mut qh = [0u8; 64];
    for h in 0..2 {
        let q = &q[128 * h..];
        for l in 0..32 {
            ql[64 * h + l] = (q[l] & 15) | ((q[l + 64] & 15) << 4);
            ql[64 * h + l + 32] = (q[l + 32] & 15) | ((q[l + 96] & 15) << 4);
            qh[32 * h + l] = (q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6);
        }
    }
    (ql, qh)
}

// ---------------------------------------------------------------------------
// Dequantization (scalar reference).
// ---------------------------------------------------------------------------

fn dq_blocks<B: Block>(bytes: &[u8], out: &mut [f32], f: impl Fn(&B, &mut [f32])) {
    let blocks = as_blocks::<B>(bytes);
    let bs = B::QTYPE.block_size();
    assert_eq!(out.len(), blocks.len() * bs, "{}: output length mismatch", B::QTYPE);
    for (b, o) in blocks.iter().zip(out.chunks_exact_mut(bs)) {
        f(b, o);
    }
}

/// Dequantize `bytes` (whole blocks of type `t`) into `out`
/// (`out.len()` = number of blocks * block size). Scalar reference, follows
/// ggml's `dequantize_row_*` operation by operation.
pub fn dequantize_row(t: QType, bytes: &[u8], out: &mut [f32]) {
    match t {
        QType::Q4_0 => dq_blocks::<BlockQ4_0>(bytes, out, |b, o| {
            let d = f16le_to_f32(b.d);
            for (o, q) in o.iter_mut().zip(unpack_q4(&b.qs)) {
                *o = (q as i32 - 8) as f32 * d;
            }
        }),
        QType::Q4_1 => dq_blocks::<BlockQ4_1>(bytes, out, |b, o| {
            let (d, m) = (f16le_to_f32(b.d), f16le_to_f32(b.m));
            for (o, q) in o.iter_mut().zip(unpack_q4(&b.qs)) {
                *o = q as f32 * d + m;
            }
        }),
        QType::Q5_0 => dq_blocks::<BlockQ5_0>(bytes, out, |b, o| {
            let d = f16le_to_f32(b.d);
            for (o, q) in o.iter_mut().zip(unpack_q5(&b.qs, b.qh)) {
                *o = (q as i32 - 16) as f32 * d;
            }
        }),
        QType::Q5_1 => dq_blocks::<BlockQ5_1>(bytes, out, |b, o| {
            let (d, m) = (f16le_to_f32(b.d), f16le_to_f32(b.m));
            for (o, q) in o.iter_mut().zip(unpack_q5(&b.qs, b.qh)) {
                *o = q as f32 * d + m;
            }
        }),
        QType::Q8_0 => dq_blocks::<BlockQ8_0>(bytes, out, |b, o| {
            let d = b.d();
            for (o, &q) in o.iter_mut().zip(&b.qs) {
                *o = q as f32 * d;
            }
        }),
        QType::Q8_1 => dq_blocks::<BlockQ8_1>(bytes, out, |b, o| {
            let d = b.d();
            for (o, &q) in o.iter_mut().zip(&b.qs) {
                *o = q as f32 * d;
            }
        }),
        QType::Q4K => dq_blocks::<BlockQ4K>(bytes, out, |b, o| {
            let (d, dmin) = (f16le_to_f32(b.d), f16le_to_f32(b.dmin));
            let (sc, mn) = unpack_scales_k4(&b.scales);
            let q = unpack_q4k(&b.qs);
            for s in 0..8 {
                let (d1, m1) = (d * sc[s] as f32, dmin * mn[s] as f32);
                for l in 0..32 {
                    o[32 * s + l] = d1 * q[32 * s + l] as f32 - m1;
                }
            }
        }),
        QType::Q5K => dq_blocks::<BlockQ5K>(bytes, out, |b, o| {
            let (d, dmin) = (f16le_to_f32(b.d), f16le_to_f32(b.dmin));
            let (sc, mn) = unpack_scales_k4(&b.scales);
            let q = unpack_q5k(&b.qs, &b.qh);
            for s in 0..8 {
                let (d1, m1) = (d * sc[s] as f32, dmin * mn[s] as f32);
                for l in 0..32 {
                    o[32 * s + l] = d1 * q[32 * s + l] as f32 - m1;
                }
            }
        }),
        QType::Q6K => dq_blocks::<BlockQ6K>(bytes, out, |b, o| {
            let d = f16le_to_f32(b.d);
            let q = unpack_q6k(&b.ql, &b.qh);
            for (e, o) in o.iter_mut().enumerate() {
                *o = d * b.scales[e / 16] as f32 * (q[e] as i32 - 32) as f32;
            }
        }),
        QType::Q8K => dq_blocks::<BlockQ8K>(bytes, out, |b, o| {
            for (o, &q) in o.iter_mut().zip(&b.qs) {
                *o = b.d * q as f32;
            }
        }),
    }
}

/// Convenience for tests / tools: encode f32 into f16 little-endian bytes.
#[inline]
pub fn f16le(x: f32) -> [u8; 2] {
    f32_to_f16le(x)
}
