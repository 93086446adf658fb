//! Row dot products `weight_row . activation_row -> f32` for every weight
//! type with its GGML activation partner (`QType::vec_dot_type`).
//!
//! Implementations: `scalar` (reference, portable) and `avx2` (x86-64
//! AVX2+FMA+F16C). The AVX-512/VNNI level adds nothing here: a single-row dot
//! is memory-bound in decode; VNNI is used in the GEMM micro-kernels
//! (`crate::kernels::gemm`) where it pays.

#[cfg(target_arch = "x86_64")]
pub mod avx2;
pub mod scalar;

use crate::kernels::blocks::QType;
use crate::kernels::cpu::Isa;
use std::sync::OnceLock;

/// Type-erased row dot: `nb` blocks of weights at `w` (raw GGML bytes) times
/// `nb` blocks of the partner activation type at `a`.
///
/// # Safety
/// The pointers must be valid for `nb` blocks of the respective types, and
/// the function must have been obtained for a CPU that supports it.
pub type VecDotFn = unsafe fn(nb: usize, w: *const u8, a: *const u8) -> f32;

/// One function per weight type, chosen for one ISA level.
#[derive(Clone, Copy)]
pub struct DotTable {
    pub isa: Isa,
    q4_0: VecDotFn,
    q4_1: VecDotFn,
    q5_0: VecDotFn,
    q5_1: VecDotFn,
    q8_0: VecDotFn,
    q4k: VecDotFn,
    q5k: VecDotFn,
    q6k: VecDotFn,
}

impl DotTable {
    /// The function for weight type `t` (panics for activation-only types).
    #[inline]
    pub fn get(&self, t: QType) -> VecDotFn {
        match t {
            QType::Q4_0 => self.q4_0,
            QType::Q4_1 => self.q4_1,
            QType::Q5_0 => self.q5_0,
            QType::Q5_1 => self.q5_1,
            QType::Q8_0 => self.q8_0,
            QType::Q4K => self.q4k,
            QType::Q5K => self.q5k,
            QType::Q6K => self.q6k,
            QType::Q8_1 | QType::Q8K => panic!("{t} is an activation type, not a weight type"),
        }
    }

    const SCALAR: DotTable = DotTable {
        isa: Isa::Scalar,
        q4_0: scalar::erased::q4_0,
        q4_1: scalar::erased::q4_1,
        q5_0: scalar::erased::q5_0,
        q5_1: scalar::erased::q5_1,
        q8_0: scalar::erased::q8_0,
        q4k: scalar::erased::q4k,
        q5k: scalar::erased::q5k,
        q6k: scalar::erased::q6k,
    };

    #[cfg(target_arch = "x86_64")]
    const AVX2: DotTable = DotTable {
        isa: Isa::Avx2,
        q4_0: avx2::q4_0,
        q4_1: avx2::q4_1,
        q5_0: avx2::q5_0,
        q5_1: avx2::q5_1,
        q8_0: avx2::q8_0,
        q4k: avx2::q4k,
        q5k: avx2::q5k,
        q6k: avx2::q6k,
    };

    /// Table for a given level. Returns `None` if this CPU does not support it.
    pub fn for_isa(isa: Isa) -> Option<DotTable> {
        if isa > crate::kernels::cpu::detected_isa() {
            return None;
        }
        Some(match isa {
            Isa::Scalar => Self::SCALAR,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 | Isa::Avx512Vnni => Self::AVX2,
            #[allow(unreachable_patterns)]
            _ => Self::SCALAR,
        })
    }
}

/// The table for the current CPU (decided once, see `cpu::isa`).
pub fn dot_table() -> &'static DotTable {
    static T: OnceLock<DotTable> = OnceLock::new();
    T.get_or_init(|| DotTable::for_isa(crate::kernels::cpu::isa()).unwrap_or(DotTable::SCALAR))
}

/// Safe row dot on raw bytes: `w` holds `k / block` blocks of weight type
/// `t`, `a` as many blocks of `t.vec_dot_type()`.
pub fn vec_dot(t: QType, k: usize, w: &[u8], a: &[u8]) -> f32 {
    vec_dot_with(dot_table(), t, k, w, a)
}

/// [`vec_dot`] with an explicit implementation table.
pub fn vec_dot_with(table: &DotTable, t: QType, k: usize, w: &[u8], a: &[u8]) -> f32 {
    let at = t.vec_dot_type();
    assert_eq!(k % t.block_size(), 0, "k={k} not a multiple of the {t} block size");
    assert_eq!(w.len(), t.row_bytes(k), "weight row length");
    assert_eq!(a.len(), at.row_bytes(k), "activation row length");
    if at == QType::Q8K {
        assert_eq!(a.as_ptr() as usize % 4, 0, "Q8_K activations must be 4-byte aligned");
    }
    // SAFETY: lengths checked; the table only holds functions the CPU supports.
    unsafe { (table.get(t))(k / t.block_size(), w.as_ptr(), a.as_ptr()) }
}
