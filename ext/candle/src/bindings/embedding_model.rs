//! Natives behind Candle::EmbeddingModel (lib/candle/embedding_model.rb
//! checks the arguments). The model is immutable once loaded, so threads
//! share it without a lock; every embed runs with the GVL released.

use std::sync::Arc;

use magnus::{function, method, prelude::*, Error, RHash, RModule, RString, Ruby, Value};

use super::encoder::load;
use super::errors::to_ruby;
use super::nogvl::without_gvl;
use crate::models::embedding::{EmbedOptions, EmbeddingModel, Pooling};
use crate::models::encoder::Task;

#[magnus::wrap(class = "Candle::EmbeddingModel", free_immediately, size)]
pub struct RbEmbeddingModel {
    model: Arc<EmbeddingModel>,
    source: String,
}

fn from_pretrained(
    id: String,
    revision: String,
    dtype: Option<String>,
    runtime: (String, usize),
    opts: RHash,
    progress: Option<Value>,
) -> Result<RbEmbeddingModel, Error> {
    let l = load(id, revision, Task::Embedding, dtype, runtime, opts, progress)?;
    let model = EmbeddingModel::new(l.encoder, l.tokenizer, l.st).map_err(to_ruby)?;
    Ok(RbEmbeddingModel { model: Arc::new(model), source: l.source })
}

impl RbEmbeddingModel {
    fn options(batch_size: usize, pooling: Option<String>, normalize: bool, dimensions: Option<usize>) -> Result<EmbedOptions, Error> {
        let pooling = pooling.map(|p| Pooling::parse(&p)).transpose().map_err(to_ruby)?;
        Ok(EmbedOptions { batch_size, pooling, normalize, dimensions })
    }

    fn run(&self, texts: Vec<String>, opts: EmbedOptions) -> Result<Vec<Vec<f32>>, Error> {
        let model = self.model.clone();
        without_gvl(move |cancel| model.embed(texts, &opts, cancel))
    }

    /// One Array of Floats per text.
    fn embed(&self, texts: Vec<String>, batch_size: usize, pooling: Option<String>, normalize: bool, dimensions: Option<usize>) -> Result<Vec<Vec<f32>>, Error> {
        self.run(texts, Self::options(batch_size, pooling, normalize, dimensions)?)
    }

    /// All vectors as one binary String of little-endian float32s, row after row.
    fn embed_packed(
        ruby: &Ruby,
        rb_self: &Self,
        texts: Vec<String>,
        batch_size: usize,
        pooling: Option<String>,
        normalize: bool,
        dimensions: Option<usize>,
    ) -> Result<RString, Error> {
        let rows = rb_self.run(texts, Self::options(batch_size, pooling, normalize, dimensions)?)?;
        let mut bytes = Vec::with_capacity(rows.iter().map(|r| r.len() * 4).sum());
        for r in &rows {
            for x in r {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        Ok(ruby.str_from_slice(&bytes))
    }

    fn dimensions(&self) -> usize {
        self.model.dimensions()
    }

    fn max_length(&self) -> usize {
        self.model.max_length
    }

    fn pooling(&self) -> String {
        self.model.pooling.as_str().to_string()
    }

    fn architecture(&self) -> String {
        self.model.encoder.architecture.clone()
    }

    fn source(&self) -> String {
        self.source.clone()
    }

    fn prompts(&self) -> Vec<(String, String)> {
        self.model.prompts.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn dtype(&self) -> String {
        format!("{:?}", self.model.encoder.dtype).to_lowercase()
    }
}

pub fn init(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    native.define_singleton_method("embedding_from_pretrained", function!(from_pretrained, 6))?;
    let c = ruby.define_module("Candle")?.define_class("EmbeddingModel", ruby.class_object())?;
    c.define_method("_embed", method!(RbEmbeddingModel::embed, 5))?;
    c.define_method("_embed_packed", method!(RbEmbeddingModel::embed_packed, 5))?;
    c.define_method("dimensions", method!(RbEmbeddingModel::dimensions, 0))?;
    c.define_method("max_length", method!(RbEmbeddingModel::max_length, 0))?;
    c.define_method("_pooling", method!(RbEmbeddingModel::pooling, 0))?;
    c.define_method("architecture", method!(RbEmbeddingModel::architecture, 0))?;
    c.define_method("source", method!(RbEmbeddingModel::source, 0))?;
    c.define_method("_prompts", method!(RbEmbeddingModel::prompts, 0))?;
    c.define_method("_dtype", method!(RbEmbeddingModel::dtype, 0))?;
    Ok(())
}
