//! The thin layer between Ruby and the core: argument conversion, GVL release,
//! error mapping. No logic lives here.

pub mod device;
pub mod errors;
pub mod hub;
pub mod llm;
pub mod nogvl;
pub mod testing;
pub mod tokenizer;

use magnus::{prelude::*, Error, RModule, Ruby};

pub fn init(ruby: &Ruby) -> Result<(), Error> {
    let candle: RModule = ruby.define_module("Candle")?;
    let native = candle.define_module("Native")?;
    device::init(ruby, native)?;
    hub::init(ruby, native)?;
    tokenizer::init(ruby, native)?;
    llm::init(ruby, native)?;
    if std::env::var("CANDLE_TEST_NATIVES").as_deref() == Ok("1") {
        testing::init(ruby, native)?;
    }
    Ok(())
}
