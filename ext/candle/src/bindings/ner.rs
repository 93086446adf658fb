//! Natives behind Candle::NER (lib/candle/ner.rb checks the arguments and
//! builds the Hashes). Inference runs with the GVL released; the model is
//! shared by threads without a lock.

use std::sync::Arc;

use magnus::{function, method, prelude::*, Error, RHash, RModule, Ruby, Value};

use super::encoder::load;
use super::errors::to_ruby;
use super::nogvl::without_gvl;
use crate::models::encoder::Task;
use crate::models::ner::{Aggregation, TokenClassifier};

#[magnus::wrap(class = "Candle::NER", free_immediately, size)]
pub struct RbNer {
    model: Arc<TokenClassifier>,
    source: String,
}

/// (text, label, start, end, score)
type EntityTuple = (String, String, usize, usize, f32);
/// (token, start, end, label, score, probabilities)
type TokenTuple = (String, usize, usize, String, f32, Vec<f32>);

fn from_pretrained(id: String, revision: String, dtype: Option<String>, runtime: (String, usize), opts: RHash, progress: Option<Value>) -> Result<RbNer, Error> {
    let l = load(id, revision, Task::TokenClassification, dtype, runtime, opts, progress)?;
    let model = TokenClassifier::new(l.encoder, l.tokenizer).map_err(to_ruby)?;
    Ok(RbNer { model: Arc::new(model), source: l.source })
}

impl RbNer {
    fn entities(&self, text: String, aggregation: String, threshold: f32, merge_adjacent: bool) -> Result<Vec<EntityTuple>, Error> {
        let how = Aggregation::parse(&aggregation).map_err(to_ruby)?;
        let model = self.model.clone();
        let ents = without_gvl(move |cancel| model.entities(&text, how, threshold, merge_adjacent, cancel))?;
        Ok(ents.into_iter().map(|e| (e.text, e.label, e.start, e.end, e.score)).collect())
    }

    fn tokens(&self, text: String) -> Result<Vec<TokenTuple>, Error> {
        let model = self.model.clone();
        let labels = self.model.labels().to_vec();
        let toks = without_gvl(move |cancel| model.tokens(&text, cancel))?;
        Ok(toks
            .into_iter()
            .map(|t| {
                let (mut best, mut p) = (0, f32::MIN);
                for (i, &x) in t.probs.iter().enumerate() {
                    if x > p {
                        (best, p) = (i, x);
                    }
                }
                (t.token, t.start, t.end, labels.get(best).cloned().unwrap_or_default(), p, t.probs)
            })
            .collect())
    }

    fn labels(&self) -> Vec<String> {
        self.model.labels().to_vec()
    }

    fn max_length(&self) -> usize {
        self.model.window
    }

    fn architecture(&self) -> String {
        self.model.encoder.architecture.clone()
    }

    fn source(&self) -> String {
        self.source.clone()
    }
}

pub fn init(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    native.define_singleton_method("ner_from_pretrained", function!(from_pretrained, 6))?;
    let c = ruby.define_module("Candle")?.define_class("NER", ruby.class_object())?;
    c.define_method("_entities", method!(RbNer::entities, 4))?;
    c.define_method("_tokens", method!(RbNer::tokens, 1))?;
    c.define_method("labels", method!(RbNer::labels, 0))?;
    c.define_method("max_length", method!(RbNer::max_length, 0))?;
    c.define_method("architecture", method!(RbNer::architecture, 0))?;
    c.define_method("source", method!(RbNer::source, 0))?;
    Ok(())
}
