//! Natives behind Candle::Device and Candle.build_info.

use magnus::{function, prelude::*, Error, RArray, RHash, RModule, Ruby};

use super::errors::to_ruby;
use crate::device::{self, DeviceSpec};

fn build_info(ruby: &Ruby) -> Result<RHash, Error> {
    let h = ruby.hash_new();
    let features = device::compiled_features();
    h.aset(ruby.to_symbol("version"), env!("CARGO_PKG_VERSION"))?;
    h.aset(ruby.to_symbol("features"), ruby.ary_from_vec(features.iter().map(|f| f.to_string()).collect()))?;
    for f in ["cuda", "metal", "mkl", "accelerate"] {
        h.aset(ruby.to_symbol(f), features.contains(&f))?;
    }
    h.aset(ruby.to_symbol("target"), format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS))?;
    h.aset(ruby.to_symbol("debug_assertions"), cfg!(debug_assertions))?;
    Ok(h)
}

fn available(ruby: &Ruby) -> RArray {
    let out = ruby.ary_new();
    for spec in device::available() {
        let pair = ruby.ary_new();
        let _ = pair.push(spec.kind());
        let _ = pair.push(spec.ordinal());
        let _ = out.push(pair);
    }
    out
}

fn best() -> (String, usize) {
    let spec = device::best();
    (spec.kind().to_string(), spec.ordinal())
}

/// Opens the device once to prove it is usable; raises Candle::DeviceError otherwise.
fn check(kind: String, ordinal: usize) -> Result<(), Error> {
    let spec = DeviceSpec::parse(&kind, ordinal).map_err(to_ruby)?;
    device::open(spec).map(|_| ()).map_err(to_ruby)
}

pub fn init(_ruby: &Ruby, native: RModule) -> Result<(), Error> {
    native.define_singleton_method("build_info", function!(build_info, 0))?;
    native.define_singleton_method("device_available", function!(available, 0))?;
    native.define_singleton_method("device_best", function!(best, 0))?;
    native.define_singleton_method("device_check", function!(check, 2))?;
    Ok(())
}
