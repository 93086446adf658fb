//! Natives used only by the test suite to prove panic safety, error mapping,
//! GVL release and cancellation. Registered only when CANDLE_TEST_NATIVES=1.

use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use magnus::{function, prelude::*, Error, RArray, RModule, Ruby};

use super::errors::class_for;
use crate::error::ErrorKind;
use super::nogvl::{with_events, without_gvl};
use crate::err;

fn panic_now(message: String) -> Result<(), Error> {
    without_gvl(move |_| -> crate::error::Result<()> { panic!("{message}") })
}

/// Spins for up to `ms` milliseconds with the GVL released, stopping early when
/// cancelled. Returns the milliseconds actually spent.
fn busy(ms: u64) -> Result<u64, Error> {
    without_gvl(move |cancel| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(ms) {
            cancel.check()?;
            std::hint::spin_loop();
        }
        Ok(start.elapsed().as_millis() as u64)
    })
}

/// `iters` n×n f32 matmuls, cancellable between iterations. Returns iterations done.
fn matmul(n: usize, iters: usize) -> Result<usize, Error> {
    without_gvl(move |cancel| {
        let a = Tensor::ones((n, n), candle_core::DType::F32, &Device::Cpu).map_err(|e| err!(Generic, "{e}"))?;
        for i in 0..iters {
            cancel.check()?;
            let c = a.matmul(&a).map_err(|e| err!(Generic, "{e}"))?;
            let _ = c.sum_all().map_err(|e| err!(Generic, "{e}"))?;
            if i + 1 == iters {
                return Ok(iters);
            }
        }
        Ok(iters)
    })
}

/// Emits `count` integers from a worker thread to the Ruby block.
fn events(ruby: &Ruby, count: usize) -> Result<usize, Error> {
    let block = ruby.block_proc()?;
    with_events(
        move |cancel, emitter| {
            for i in 0..count {
                cancel.check()?;
                emitter.emit(i);
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(count)
        },
        |i: usize| block.call::<_, magnus::Value>((i,)).map(|_| ()),
    )
}

fn error_classes(ruby: &Ruby) -> RArray {
    let out = ruby.ary_new();
    for kind in ErrorKind::ALL {
        let _ = out.push(class_for(ruby, *kind));
    }
    out
}

pub fn init(_ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let testing = native.define_module("Testing")?;
    testing.define_singleton_method("panic", function!(panic_now, 1))?;
    testing.define_singleton_method("busy", function!(busy, 1))?;
    testing.define_singleton_method("matmul", function!(matmul, 2))?;
    testing.define_singleton_method("events", function!(events, 1))?;
    testing.define_singleton_method("error_classes", function!(error_classes, 0))?;
    Ok(())
}
