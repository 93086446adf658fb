//! Run-time CPU feature selection, decided once.
//!
//! The level can be capped with the environment variable `CANDLE_KERNELS_ISA`
//! (`scalar`, `avx2`, `avx512`; read once, on first use) -- useful to compare
//! kernels or to rule out a miscompiled/unsupported path on a new machine.

use std::sync::OnceLock;

/// Instruction-set level used by the kernels, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Portable Rust, any architecture.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C.
    Avx2,
    /// AVX2 level plus AVX-512 F/BW/VL + AVX512-VNNI (`vpdpbusd` on 256-bit
    /// registers). AMX is deliberately not used.
    Avx512Vnni,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512Vnni => "avx512vnni",
        }
    }
}

/// Highest level this CPU supports (ignores `CANDLE_KERNELS_ISA`).
pub fn detected_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 =
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c");
        let vnni = avx2
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vnni");
        if vnni {
            return Isa::Avx512Vnni;
        }
        if avx2 {
            return Isa::Avx2;
        }
    }
    Isa::Scalar
}

/// The level the kernels use: detected level, capped by `CANDLE_KERNELS_ISA`.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let det = detected_isa();
        let cap = match std::env::var("CANDLE_KERNELS_ISA").as_deref() {
            Ok("scalar") => Isa::Scalar,
            Ok("avx2") => Isa::Avx2,
            _ => Isa::Avx512Vnni,
        };
        det.min(cap)
    })
}

/// True if the AVX2+FMA+F16C kernels may be used.
#[inline]
pub fn has_avx2() -> bool {
    isa() >= Isa::Avx2
}

/// Levels available on this CPU, for tests and benches that want to compare
/// every implementation (ignores `CANDLE_KERNELS_ISA`).
pub fn available_isas() -> Vec<Isa> {
    let det = detected_isa();
    [Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni].into_iter().filter(|i| *i <= det).collect()
}
