//! Natives behind Candle::Reranker (lib/candle/reranker.rb sorts and
//! shapes the results). Scoring runs with the GVL released; the model is
//! shared by threads without a lock.

use std::sync::Arc;

use magnus::{function, method, prelude::*, Error, RHash, RModule, Ruby, Value};

use super::encoder::load;
use super::errors::to_ruby;
use super::nogvl::without_gvl;
use crate::models::encoder::Task;
use crate::models::reranker::Reranker;

#[magnus::wrap(class = "Candle::Reranker", free_immediately, size)]
pub struct RbReranker {
    model: Arc<Reranker>,
    source: String,
}

fn from_pretrained(id: String, revision: String, dtype: Option<String>, runtime: (String, usize), opts: RHash, progress: Option<Value>) -> Result<RbReranker, Error> {
    let l = load(id, revision, Task::SequenceClassification, dtype, runtime, opts, progress)?;
    let model = Reranker::new(l.encoder, l.tokenizer).map_err(to_ruby)?;
    Ok(RbReranker { model: Arc::new(model), source: l.source })
}

impl RbReranker {
    /// [[score, [logits]], ...] in the documents' order.
    fn score(&self, query: String, documents: Vec<String>, batch_size: usize, max_length: Option<usize>) -> Result<Vec<(f32, Vec<f32>)>, Error> {
        let model = self.model.clone();
        let scores = without_gvl(move |cancel| model.score(&query, documents, batch_size, max_length, cancel))?;
        Ok(scores.into_iter().map(|s| (s.score, s.logits)).collect())
    }

    fn labels(&self) -> Vec<String> {
        self.model.encoder.labels.clone()
    }

    fn max_length(&self) -> usize {
        self.model.max_length
    }

    fn architecture(&self) -> String {
        self.model.encoder.architecture.clone()
    }

    fn source(&self) -> String {
        self.source.clone()
    }
}

pub fn init(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    native.define_singleton_method("reranker_from_pretrained", function!(from_pretrained, 6))?;
    let c = ruby.define_module("Candle")?.define_class("Reranker", ruby.class_object())?;
    c.define_method("_score", method!(RbReranker::score, 4))?;
    c.define_method("labels", method!(RbReranker::labels, 0))?;
    c.define_method("max_length", method!(RbReranker::max_length, 0))?;
    c.define_method("architecture", method!(RbReranker::architecture, 0))?;
    c.define_method("source", method!(RbReranker::source, 0))?;
    Ok(())
}
