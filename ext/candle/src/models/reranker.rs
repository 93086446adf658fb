//! Cross-encoder reranking: each (query, document) pair is one input
//! (`[CLS] query [SEP] document [SEP]`, token types 0/1), right-padded in
//! length-sorted batches; a one-logit head's score is its sigmoid, a
//! two-logit head's the softmax of label 1 ("relevant").

use super::embedding::{encode, length_batches, prepare_tokenizer};
use super::encoder::{Batch, Encoder, Seq};
use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;
use crate::tokenizer::Tokenizer;

pub struct Reranker {
    pub encoder: Encoder,
    /// Truncates pairs (longest first) to `max_length`; never pads.
    pub tokenizer: Tokenizer,
    pub max_length: usize,
}

/// A pair's relevance and the head's raw logits.
#[derive(Clone, Debug)]
pub struct Score {
    pub score: f32,
    pub logits: Vec<f32>,
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn relevance(logits: &[f32]) -> f32 {
    match logits {
        [x] => sigmoid(*x),
        [a, b] => {
            let m = a.max(*b);
            let (ea, eb) = ((a - m).exp(), (b - m).exp());
            eb / (ea + eb)
        }
        _ => f32::NAN,
    }
}

impl Reranker {
    pub fn new(encoder: Encoder, tokenizer: Tokenizer) -> Result<Reranker> {
        let n = encoder.labels.len();
        if n != 1 && n != 2 {
            return Err(err!(
                UnsupportedModel,
                "{} has a {n}-label head; a reranker needs one logit (relevance) or two (irrelevant, relevant)",
                encoder.class_name
            ));
        }
        let max_length = encoder.max_tokens.min(512);
        let tokenizer = prepare_tokenizer(tokenizer, max_length)?;
        Ok(Reranker { encoder, tokenizer, max_length })
    }

    /// Scores of `query` against each document, in the documents' order.
    /// `max_length` (at most the model's) truncates each pair.
    pub fn score(&self, query: &str, documents: Vec<String>, batch_size: usize, max_length: Option<usize>, cancel: &CancelToken) -> Result<Vec<Score>> {
        if batch_size == 0 {
            return Err(err!(Argument, "batch_size must be positive"));
        }
        let queries = vec![query.to_string(); documents.len()];
        let seqs: Vec<Seq> = match max_length {
            Some(m) if m != self.max_length => {
                if m < 4 || m > self.encoder.max_tokens {
                    return Err(err!(Argument, "max_length must be between 4 and {}, got {m}", self.encoder.max_tokens));
                }
                encode(&prepare_tokenizer(self.tokenizer.clone(), m)?, queries, Some(documents), cancel)?
            }
            _ => encode(&self.tokenizer, queries, Some(documents), cancel)?,
        };
        let mut out = vec![Score { score: 0.0, logits: Vec::new() }; seqs.len()];
        for rows in length_batches(&seqs, batch_size) {
            cancel.check()?;
            let batch_seqs: Vec<&Seq> = rows.iter().map(|&i| &seqs[i]).collect();
            let batch = Batch::pad(&batch_seqs, self.encoder.pad_id, false);
            let logits = self.encoder.sequence_logits(&batch, cancel)?;
            for (r, &i) in rows.iter().enumerate() {
                out[i] = Score { score: relevance(&logits[r]), logits: logits[r].clone() };
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relevance_of_one_and_two_logit_heads() {
        assert!((relevance(&[0.0]) - 0.5).abs() < 1e-7);
        assert!((relevance(&[2.0]) - 0.880797).abs() < 1e-6);
        assert!((relevance(&[1.0, 1.0]) - 0.5).abs() < 1e-7);
        assert!((relevance(&[0.0, 2.0]) - 0.880797).abs() < 1e-6);
        assert!(relevance(&[1000.0, -1000.0]) < 1e-30);
    }
}
