//! The load path the encoder classes share (EmbeddingModel, Reranker,
//! NER): Hub options → the resolver → `models::open_encoder`, with the GVL
//! released and download progress reported.

use magnus::{Error, RHash, Value};

use super::errors::to_ruby;
use super::hub::{config, run_with_progress};
use crate::device::{self, DeviceSpec};
use crate::hub::ModelRepo;
use crate::models::embedding::SentenceTransformers;
use crate::models::encoder::{Encoder, Task};
use crate::models::open_encoder;
use crate::tokenizer::Tokenizer;

pub struct Loaded {
    pub encoder: Encoder,
    pub tokenizer: Tokenizer,
    pub st: SentenceTransformers,
    pub source: String,
}

/// `runtime` is `[device kind, ordinal]`; `dtype` "f32" / "f16" / "bf16".
pub fn load(
    id: String,
    revision: String,
    task: Task,
    dtype: Option<String>,
    runtime: (String, usize),
    opts: RHash,
    progress: Option<Value>,
) -> Result<Loaded, Error> {
    let cfg = config(opts)?;
    let dtype = dtype.map(|d| device::parse_dtype(&d)).transpose().map_err(to_ruby)?;
    let spec = DeviceSpec::parse(&runtime.0, runtime.1).map_err(to_ruby)?;
    let device = device::open(spec).map_err(to_ruby)?;
    run_with_progress(progress, move |sink, cancel| {
        let mut repo = ModelRepo::open(&cfg, &id, &revision, cancel)?;
        let (encoder, tokenizer, st) = open_encoder(&mut repo, task, dtype, &device, sink, cancel)?;
        Ok(Loaded { encoder, tokenizer, st, source: repo.describe() })
    })
}
