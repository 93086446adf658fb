//! Encoder models: one table from `config.json` (`model_type`, then the
//! `architectures` head) to a backbone and a head. Backbones give hidden
//! states for a padded batch; heads turn them into sequence or token
//! logits. The capabilities on top (embeddings, reranking, NER) live in
//! `models::{embedding, reranker, ner}`.

pub mod bert;
pub mod fast;
pub mod modernbert;
pub mod nn;
pub mod qwen3;
pub mod weights;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, IndexOp, Tensor};
use serde_json::Value;

use self::bert::{Bert, Family};
use self::nn::Linear;
use self::weights::Weights;
use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;
use crate::models::safetensors::{load_dtype, read_config};

/// `config.json` `model_type`s the encoders support, with what they cover.
pub const SUPPORTED_ENCODERS: &[(&str, &str)] = &[
    ("bert", "BERT, MiniLM, BGE, E5, GTE"),
    ("roberta", "RoBERTa"),
    ("xlm-roberta", "XLM-RoBERTa, multilingual E5, BGE-M3"),
    ("camembert", "CamemBERT"),
    ("distilbert", "DistilBERT"),
    ("modernbert", "ModernBERT"),
    ("qwen3", "Qwen3-Embedding (embeddings only)"),
];

pub fn supported_list() -> String {
    SUPPORTED_ENCODERS.iter().map(|(a, what)| format!("{a} ({what})")).collect::<Vec<_>>().join(", ")
}

/// What a model is loaded for; decides which head is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Hidden states only (any head in the file is ignored).
    Embedding,
    /// `*ForSequenceClassification` (cross-encoders).
    SequenceClassification,
    /// `*ForTokenClassification` (NER).
    TokenClassification,
}

impl Task {
    fn suffix(self) -> &'static str {
        match self {
            Task::Embedding => "Model",
            Task::SequenceClassification => "ForSequenceClassification",
            Task::TokenClassification => "ForTokenClassification",
        }
    }
}

/// Token ids of equal-length rows, padded; `mask` is 1 on real tokens.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    pub mask: Vec<u32>,
    pub rows: usize,
    pub len: usize,
}

/// One tokenized input.
#[derive(Clone, Debug, Default)]
pub struct Seq {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

impl Batch {
    /// Pads `seqs` to the longest with `pad_id`, on the left or the right.
    pub fn pad(seqs: &[&Seq], pad_id: u32, left: bool) -> Batch {
        let len = seqs.iter().map(|s| s.ids.len()).max().unwrap_or(0);
        let rows = seqs.len();
        let mut b = Batch { ids: Vec::with_capacity(rows * len), type_ids: Vec::with_capacity(rows * len), mask: Vec::with_capacity(rows * len), rows, len };
        for s in seqs {
            let n = s.ids.len();
            let fill = len - n;
            let types = |i: usize| s.type_ids.get(i).copied().unwrap_or(0);
            if left {
                b.ids.extend(std::iter::repeat_n(pad_id, fill));
                b.type_ids.extend(std::iter::repeat_n(0, fill));
                b.mask.extend(std::iter::repeat_n(0, fill));
            }
            b.ids.extend_from_slice(&s.ids);
            b.type_ids.extend((0..n).map(types));
            b.mask.extend(std::iter::repeat_n(1, n));
            if !left {
                b.ids.extend(std::iter::repeat_n(pad_id, fill));
                b.type_ids.extend(std::iter::repeat_n(0, fill));
                b.mask.extend(std::iter::repeat_n(0, fill));
            }
        }
        b
    }
}

enum Backbone {
    Bert(Bert),
    ModernBert(modernbert::ModernBert),
    Qwen3(qwen3::Qwen3Embedder),
}

enum Head {
    None,
    /// BERT: `bert.pooler.dense` + tanh on [CLS], then `classifier`.
    Pooler { pooler: Linear, classifier: Linear },
    /// RoBERTa / XLM-R: `classifier.dense` + tanh on <s>, then `classifier.out_proj`.
    Roberta { dense: Linear, out: Linear },
    /// DistilBERT: `pre_classifier` + ReLU on [CLS], then `classifier`.
    Distil { pre: Linear, classifier: Linear },
    /// Every token: `classifier`.
    Token { classifier: Linear },
    /// ModernBERT: [CLS] or the masked mean, `head` (dense, act, norm), `classifier`.
    ModernSeq { head: modernbert::PredictionHead, classifier: Linear, mean: bool },
    /// ModernBERT: `head`, then `classifier` on every token.
    ModernToken { head: modernbert::PredictionHead, classifier: Linear },
}

pub struct Encoder {
    /// config.json's model_type.
    pub architecture: String,
    /// config.json's architectures[0] (or the model_type when absent).
    pub class_name: String,
    pub hidden_size: usize,
    /// The longest input (in tokens, special tokens included).
    pub max_tokens: usize,
    pub pad_id: u32,
    /// Whether rows are padded on the left (decoder embedders).
    pub pad_left: bool,
    /// Label names by id (`id2label`), for the classification heads.
    pub labels: Vec<String>,
    /// `problem_type` "multi_label_classification": independent sigmoids.
    pub multi_label: bool,
    pub dtype: DType,
    pub task: Task,
    device: Device,
    backbone: Backbone,
    head: Head,
}

fn labels_of(c: &Value, source: &str) -> Result<Vec<String>> {
    let n = c.get("num_labels").and_then(|v| v.as_u64());
    let Some(map) = c.get("id2label").and_then(|v| v.as_object()) else {
        return Ok((0..n.unwrap_or(2)).map(|i| format!("LABEL_{i}")).collect());
    };
    let mut labels = vec![None; map.len()];
    for (k, v) in map {
        let i: usize = k.parse().map_err(|_| err!(InvalidModelFile, "{source}: id2label key {k:?} is not an integer"))?;
        let slot = labels.get_mut(i).ok_or_else(|| err!(InvalidModelFile, "{source}: id2label has id {i} but only {} labels", map.len()))?;
        *slot = Some(v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
    }
    Ok(labels.into_iter().map(|l| l.unwrap_or_default()).collect())
}

/// What each architecture's loader decides; the rest of an `Encoder` is
/// read from config.json the same way for all.
struct Parts {
    backbone: Backbone,
    head: Head,
    hidden_size: usize,
    max_tokens: usize,
    pad_id: u32,
    pad_left: bool,
}

impl Encoder {
    /// Loads `config.json` + safetensors `weights` for `task`.
    pub fn load(config_path: &Path, weights: &[PathBuf], task: Task, dtype: Option<DType>, device: &Device) -> Result<Encoder> {
        let source = config_path.display().to_string();
        let c = read_config(config_path)?;
        let model_type = c.get("model_type").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let class_name = c
            .get("architectures")
            .and_then(|a| a.as_array())
            .and_then(|a| a.first())
            .and_then(|a| a.as_str())
            .unwrap_or(&model_type)
            .to_string();
        if task != Task::Embedding && !class_name.ends_with(task.suffix()) {
            return Err(err!(
                UnsupportedModel,
                "{source}: {class_name} has no {} head (a {} needs a *{} checkpoint)",
                task.suffix(),
                match task {
                    Task::SequenceClassification => "reranker",
                    _ => "token classifier",
                },
                task.suffix()
            ));
        }
        if model_type == "qwen3" && task != Task::Embedding {
            return Err(err!(UnsupportedModel, "{source}: qwen3 loads as an embedding model only"));
        }
        let family = match model_type.as_str() {
            "bert" => Some(Family::Bert),
            "roberta" | "xlm-roberta" | "camembert" => Some(Family::Roberta),
            "distilbert" => Some(Family::DistilBert),
            "modernbert" | "qwen3" => None,
            "" => return Err(err!(UnsupportedModel, "{source}: config.json has no model_type; supported encoders: {}", supported_list())),
            other => {
                return Err(err!(UnsupportedModel, "{source}: model_type {other:?} is not a supported encoder; supported: {}", supported_list()))
            }
        };
        let dtype = load_dtype(&c, dtype, device);
        let labels = if task == Task::Embedding { Vec::new() } else { labels_of(&c, &source)? };
        let mut ws = Weights::open(weights, dtype, device)?;
        let parts = match family {
            Some(family) => Self::load_bert(family, &c, &mut ws, task, labels.len(), &source)?,
            None if model_type == "modernbert" => Self::load_modernbert(&c, &mut ws, task, labels.len(), &source)?,
            None => {
                let m = qwen3::Qwen3Embedder::load(config_path, &c, &ws)?;
                Parts { hidden_size: m.hidden, max_tokens: m.max_positions, pad_id: 0, pad_left: true, backbone: Backbone::Qwen3(m), head: Head::None }
            }
        };
        Ok(Encoder {
            architecture: model_type,
            class_name,
            hidden_size: parts.hidden_size,
            max_tokens: parts.max_tokens,
            pad_id: parts.pad_id,
            pad_left: parts.pad_left,
            labels,
            multi_label: c.get("problem_type").and_then(|v| v.as_str()) == Some("multi_label_classification"),
            dtype,
            task,
            device: device.clone(),
            backbone: parts.backbone,
            head: parts.head,
        })
    }

    fn load_bert(family: Family, c: &Value, ws: &mut Weights, task: Task, n: usize, source: &str) -> Result<Parts> {
        let config = bert::Config::parse(family, c, source)?;
        if !ws.find_prefix(bert::prefixes(family), "embeddings.word_embeddings.weight") {
            return Err(err!(InvalidModelFile, "{source}: the weights have no embeddings.word_embeddings.weight under any known prefix"));
        }
        let h = config.hidden;
        let head = match (task, family) {
            (Task::Embedding, _) => Head::None,
            (Task::TokenClassification, _) => Head::Token { classifier: Linear::load(ws, "classifier", h, n, true)? },
            (Task::SequenceClassification, Family::Bert) => Head::Pooler {
                pooler: Linear::load(ws, &format!("{}pooler.dense", ws.prefix()), h, h, true)?,
                classifier: Linear::load(ws, "classifier", h, n, true)?,
            },
            (Task::SequenceClassification, Family::Roberta) => Head::Roberta {
                dense: Linear::load(ws, "classifier.dense", h, h, true)?,
                out: Linear::load(ws, "classifier.out_proj", h, n, true)?,
            },
            (Task::SequenceClassification, Family::DistilBert) => Head::Distil {
                pre: Linear::load(ws, "pre_classifier", h, h, true)?,
                classifier: Linear::load(ws, "classifier", h, n, true)?,
            },
        };
        let (max_tokens, pad_id) = (config.max_tokens(), config.pad_id);
        Ok(Parts { backbone: Backbone::Bert(Bert::load(config, ws)?), head, hidden_size: h, max_tokens, pad_id, pad_left: false })
    }

    fn load_modernbert(c: &Value, ws: &mut Weights, task: Task, n: usize, source: &str) -> Result<Parts> {
        let config = modernbert::Config::parse(c, source)?;
        if !ws.find_prefix(&["model.", ""], "embeddings.tok_embeddings.weight") {
            return Err(err!(InvalidModelFile, "{source}: the weights have no embeddings.tok_embeddings.weight"));
        }
        let h = config.hidden;
        let head = match task {
            Task::Embedding => Head::None,
            Task::SequenceClassification => Head::ModernSeq {
                head: modernbert::PredictionHead::load(ws, &config)?,
                classifier: Linear::load(ws, "classifier", h, n, true)?,
                mean: config.classifier_mean,
            },
            Task::TokenClassification => Head::ModernToken {
                head: modernbert::PredictionHead::load(ws, &config)?,
                classifier: Linear::load(ws, "classifier", h, n, true)?,
            },
        };
        let (max_tokens, pad_id) = (config.max_positions, config.pad_id);
        Ok(Parts { backbone: Backbone::ModernBert(modernbert::ModernBert::load(config, ws)?), head, hidden_size: h, max_tokens, pad_id, pad_left: false })
    }

    /// A batch the model can take: not empty, not longer than its positions.
    fn check(&self, batch: &Batch) -> Result<()> {
        if batch.rows == 0 || batch.len == 0 {
            return Err(err!(Argument, "empty batch"));
        }
        if batch.len > self.max_tokens {
            return Err(err!(Argument, "input of {} tokens is longer than the model's {}", batch.len, self.max_tokens));
        }
        Ok(())
    }

    /// Hidden states `[rows * len, hidden]`.
    pub fn hidden(&self, batch: &Batch, cancel: &CancelToken) -> Result<Tensor> {
        self.check(batch)?;
        match &self.backbone {
            Backbone::Bert(m) => m.forward(batch, cancel),
            Backbone::ModernBert(m) => m.forward(batch, cancel),
            Backbone::Qwen3(m) => m.forward(batch, &self.device, cancel),
        }
    }

    /// Hidden states as F32 on the host, row-major `[rows][len][hidden]`.
    pub fn hidden_host(&self, batch: &Batch, cancel: &CancelToken) -> Result<Vec<f32>> {
        self.check(batch)?;
        let host = match &self.backbone {
            Backbone::Bert(m) => m.forward_host(batch, cancel)?,
            Backbone::ModernBert(m) => m.forward_host(batch, cancel)?,
            Backbone::Qwen3(_) => None,
        };
        match host {
            Some(x) => Ok(x),
            None => to_host(&self.hidden(batch, cancel)?),
        }
    }

    /// Sequence-classification logits, `[rows][labels]`.
    pub fn sequence_logits(&self, batch: &Batch, cancel: &CancelToken) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden(batch, cancel)?;
        let fail = |e: candle_core::Error| err!(Generic, "classifier head failed: {}", nn::one_line(&e));
        let (b, t) = (batch.rows, batch.len);
        // The first token of each row ([CLS] / <s>); rows are right-padded.
        let first = (|| h.reshape((b, t, self.hidden_size))?.i((.., 0, ..))?.contiguous())().map_err(fail)?;
        let logits = (|| match &self.head {
            Head::Pooler { pooler, classifier } => classifier.forward(&pooler.forward(&first)?.tanh()?),
            Head::Roberta { dense, out } => out.forward(&dense.forward(&first)?.tanh()?),
            Head::Distil { pre, classifier } => classifier.forward(&pre.forward(&first)?.relu()?),
            Head::ModernSeq { head, classifier, mean } => {
                let pooled = if *mean { masked_mean(&h, batch, self.hidden_size)? } else { first.clone() };
                classifier.forward(&head.forward(&pooled)?)
            }
            _ => candle_core::bail!("this model has no sequence-classification head"),
        })()
        .map_err(fail)?;
        let flat = to_host(&logits)?;
        let n = self.labels.len();
        Ok(flat.chunks(n).map(|c| c.to_vec()).collect())
    }

    /// Token-classification logits, `[rows * len * labels]`.
    pub fn token_logits(&self, batch: &Batch, cancel: &CancelToken) -> Result<Vec<f32>> {
        let h = self.hidden(batch, cancel)?;
        let logits = match &self.head {
            Head::Token { classifier } => classifier.forward(&h),
            Head::ModernToken { head, classifier } => head.forward(&h).and_then(|x| classifier.forward(&x)),
            _ => return Err(err!(Generic, "this model has no token-classification head")),
        }
        .map_err(|e| err!(Generic, "classifier head failed: {}", nn::one_line(&e)))?;
        to_host(&logits)
    }
}

/// The mean over each row's real tokens, `[rows, hidden]`.
fn masked_mean(h: &Tensor, batch: &Batch, hidden: usize) -> candle_core::Result<Tensor> {
    let (b, t) = (batch.rows, batch.len);
    let m: Vec<f32> = batch.mask.iter().map(|&x| x as f32).collect();
    let m = Tensor::from_vec(m, (b, t, 1), h.device())?.to_dtype(h.dtype())?;
    let sum = h.reshape((b, t, hidden))?.broadcast_mul(&m)?.sum(1)?;
    sum.broadcast_div(&m.sum(1)?)
}

fn to_host(t: &Tensor) -> Result<Vec<f32>> {
    (|| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>())().map_err(|e| err!(Generic, "cannot read the model's output: {e}"))
}
