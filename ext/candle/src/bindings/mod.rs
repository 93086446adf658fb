//! The thin layer between Ruby and the core: argument conversion, GVL release,
//! error mapping. No logic lives here.

pub mod device;
pub mod embedding_model;
pub mod encoder;
pub mod errors;
pub mod hub;
pub mod llm;
pub mod ner;
pub mod nogvl;
pub mod reranker;
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
    embedding_model::init(ruby, native)?;
    reranker::init(ruby, native)?;
    ner::init(ruby, native)?;
    if std::env::var("CANDLE_TEST_NATIVES").as_deref() == Ok("1") {
        testing::init(ruby, native)?;
    }
    Ok(())
}
