//! Which compute devices this build has and how to open them. Free of magnus.

use crate::err;
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    Cpu,
    Cuda(usize),
    Metal(usize),
}

impl DeviceSpec {
    pub fn parse(kind: &str, ordinal: usize) -> Result<Self> {
        match kind {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(ordinal)),
            "metal" => Ok(Self::Metal(ordinal)),
            other => Err(err!(Argument, "unknown device kind {other:?} (expected cpu, cuda or metal)")),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda(_) => "cuda",
            Self::Metal(_) => "metal",
        }
    }

    pub fn ordinal(&self) -> usize {
        match self {
            Self::Cpu => 0,
            Self::Cuda(n) | Self::Metal(n) => *n,
        }
    }
}

/// Cargo features this library was compiled with that matter to users.
pub fn compiled_features() -> Vec<&'static str> {
    let mut out = Vec::new();
    if cfg!(feature = "cuda") {
        out.push("cuda");
    }
    if cfg!(feature = "metal") {
        out.push("metal");
    }
    if cfg!(feature = "mkl") {
        out.push("mkl");
    }
    if cfg!(feature = "accelerate") {
        out.push("accelerate");
    }
    out
}

fn missing_feature(name: &str, feature: &str) -> crate::error::Error {
    err!(
        Device,
        "this build of candle has no {name} support; rebuild it with CANDLE_FEATURES={feature} \
         (e.g. `CANDLE_FEATURES={feature} bundle exec rake compile` or \
         `CANDLE_FEATURES={feature} gem install candle`)"
    )
}

/// Opens the device, or explains why it cannot be used.
pub fn open(spec: DeviceSpec) -> Result<candle_core::Device> {
    match spec {
        DeviceSpec::Cpu => Ok(candle_core::Device::Cpu),
        DeviceSpec::Cuda(n) => {
            if !cfg!(feature = "cuda") {
                return Err(missing_feature("CUDA", "cuda"));
            }
            candle_core::Device::new_cuda(n).map_err(|e| err!(Device, "cannot open CUDA device {n}: {e}"))
        }
        DeviceSpec::Metal(n) => {
            if !cfg!(feature = "metal") {
                return Err(missing_feature("Metal", "metal"));
            }
            candle_core::Device::new_metal(n).map_err(|e| err!(Device, "cannot open Metal device {n}: {e}"))
        }
    }
}

/// Devices usable right now, best first among accelerators, CPU always last.
pub fn available() -> Vec<DeviceSpec> {
    let mut out = Vec::new();
    if cfg!(feature = "cuda") && candle_core::utils::cuda_is_available() {
        out.push(DeviceSpec::Cuda(0));
    }
    if cfg!(feature = "metal") && candle_core::utils::metal_is_available() {
        out.push(DeviceSpec::Metal(0));
    }
    out.push(DeviceSpec::Cpu);
    out
}

pub fn best() -> DeviceSpec {
    available()[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn cpu_is_always_available_and_last() {
        assert_eq!(*available().last().unwrap(), DeviceSpec::Cpu);
        assert!(open(DeviceSpec::Cpu).is_ok());
    }

    #[test]
    fn missing_accelerator_is_a_device_error_naming_the_feature() {
        if !cfg!(feature = "cuda") {
            let e = open(DeviceSpec::Cuda(0)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Device);
            assert!(e.message.contains("CANDLE_FEATURES=cuda"), "{}", e.message);
        }
    }

    #[test]
    fn parse_rejects_unknown_kinds() {
        assert_eq!(DeviceSpec::parse("cuda", 1).unwrap(), DeviceSpec::Cuda(1));
        assert_eq!(DeviceSpec::parse("tpu", 0).unwrap_err().kind, ErrorKind::Argument);
    }
}

/// A weight dtype as users spell it (`:f32`, `"float16"`, `"bf16"`, ...).
pub fn parse_dtype(s: &str) -> Result<candle_core::DType> {
    use candle_core::DType;
    Ok(match s.to_ascii_lowercase().as_str() {
        "f32" | "float32" | "float" => DType::F32,
        "f16" | "float16" | "half" => DType::F16,
        "bf16" | "bfloat16" => DType::BF16,
        other => return Err(err!(Argument, "unknown dtype {:?}; use :f32, :f16 or :bf16", other)),
    })
}
