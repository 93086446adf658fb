//! Natives behind Candle::Tokenizer, Candle::Encoding and Candle::DecodeStream.
//! lib/candle/tokenizer.rb adds the keyword arguments and checks; the work is
//! in crate::tokenizer. Loading and batch calls run without the GVL; the
//! tokenizer's lock is taken inside the released region.

use std::sync::{Arc, Mutex, RwLock};

use magnus::{function, method, prelude::*, Error, RArray, RHash, RModule, Ruby, Value};
use tokenizers::Encoding;

use super::errors::to_ruby;
use super::hub::{config, run_with_progress};
use super::nogvl::without_gvl;
use crate::err;
use crate::error::Result as CoreResult;
use crate::hub::ModelRepo;
use crate::tokenizer::{self as tk, DecodeStream, LoadOptions, Padding, RenderOptions, Tokenizer, Truncation};

/// Texts longer than this are encoded with the GVL released.
const NOGVL_BYTES: usize = 4096;

type Shared = Arc<RwLock<Tokenizer>>;

/// `([(name, token)], [additional token])`.
type NamedAndAdditional = (Vec<(String, String)>, Vec<String>);

#[magnus::wrap(class = "Candle::Tokenizer", free_immediately, size)]
pub struct RbTokenizer(pub Shared);

#[magnus::wrap(class = "Candle::Encoding", free_immediately, size)]
pub struct RbEncoding(Encoding);

#[magnus::wrap(class = "Candle::DecodeStream", free_immediately, size)]
pub struct RbDecodeStream {
    tokenizer: Shared,
    state: Mutex<DecodeStream>,
}

fn poisoned() -> crate::error::Error {
    err!(Generic, "tokenizer lock poisoned by an earlier panic")
}

impl RbTokenizer {
    fn new(t: Tokenizer) -> Self {
        RbTokenizer(Arc::new(RwLock::new(t)))
    }

    /// Runs `f` on the tokenizer (shared lock), with the GVL released when `nogvl`.
    fn read<R: Send>(&self, nogvl: bool, f: impl FnOnce(&Tokenizer) -> CoreResult<R> + Send) -> Result<R, Error> {
        let shared = self.0.clone();
        let run = move || -> CoreResult<R> { f(&*shared.read().map_err(|_| poisoned())?) };
        if nogvl {
            without_gvl(move |_| run())
        } else {
            run().map_err(to_ruby)
        }
    }

    fn write<R: Send>(&self, f: impl FnOnce(&mut Tokenizer) -> CoreResult<R> + Send) -> Result<R, Error> {
        let shared = self.0.clone();
        without_gvl(move |_| f(&mut *shared.write().map_err(|_| poisoned())?))
    }

    // ------------------------------------------------------------ encoding

    fn encode(&self, text: String, pair: Option<String>, add_special: bool) -> Result<RbEncoding, Error> {
        let long = text.len() + pair.as_ref().map_or(0, |p| p.len()) > NOGVL_BYTES;
        self.read(long, move |t| t.encode(&text, pair.as_deref(), add_special)).map(RbEncoding)
    }

    fn encode_batch(ruby: &Ruby, rb_self: &Self, texts: Vec<String>, pairs: Option<Vec<String>>, add_special: bool) -> Result<RArray, Error> {
        let encodings = rb_self.read(true, move |t| t.encode_batch(texts, pairs, add_special))?;
        let out = ruby.ary_new_capa(encodings.len());
        for e in encodings {
            out.push(RbEncoding(e))?;
        }
        Ok(out)
    }

    fn decode(&self, ids: Vec<u32>, skip: bool) -> Result<String, Error> {
        let long = ids.len() > NOGVL_BYTES / 4;
        self.read(long, move |t| t.decode(&ids, skip))
    }

    fn decode_batch(&self, seqs: Vec<Vec<u32>>, skip: bool) -> Result<Vec<String>, Error> {
        self.read(true, move |t| t.decode_batch(&seqs, skip))
    }

    fn decode_stream(&self, skip: bool) -> RbDecodeStream {
        RbDecodeStream { tokenizer: self.0.clone(), state: Mutex::new(DecodeStream::new(skip)) }
    }

    // ------------------------------------------------- padding / truncation

    fn enable_padding(
        &self,
        length: Option<usize>,
        left: bool,
        pad_id: Option<u32>,
        pad_token: Option<String>,
        pad_type_id: u32,
        multiple: Option<usize>,
    ) -> Result<(), Error> {
        let p = Padding { length, left, pad_id, pad_token, pad_type_id, pad_to_multiple_of: multiple };
        self.write(move |t| t.set_padding(Some(p)))
    }

    fn no_padding(&self) -> Result<(), Error> {
        self.write(|t| t.set_padding(None))
    }

    fn enable_truncation(&self, max_length: usize, strategy: String, left: bool, stride: usize) -> Result<(), Error> {
        let tr = Truncation { max_length, strategy, left, stride };
        self.write(move |t| t.set_truncation(Some(tr)))
    }

    /// transformers' `split_special_tokens`: special tokens written in the
    /// text are tokenized as plain text (llama.cpp's `parse_special = false`).
    fn set_split_special_tokens(&self, on: bool) -> Result<(), Error> {
        self.write(move |t| {
            t.hf.set_encode_special_tokens(on);
            Ok(())
        })
    }

    fn split_special_tokens(&self) -> Result<bool, Error> {
        self.read(false, |t| Ok(t.hf.get_encode_special_tokens()))
    }

    fn no_truncation(&self) -> Result<(), Error> {
        self.write(|t| t.set_truncation(None))
    }

    fn padding(ruby: &Ruby, rb_self: &Self) -> Result<Option<RHash>, Error> {
        let p = rb_self.read(false, |t| Ok(t.padding().cloned()))?;
        let Some(p) = p else { return Ok(None) };
        let h = ruby.hash_new();
        let length = match p.strategy {
            tokenizers::PaddingStrategy::Fixed(n) => Some(n),
            tokenizers::PaddingStrategy::BatchLongest => None,
        };
        h.aset(ruby.to_symbol("length"), length)?;
        let dir = match p.direction {
            tokenizers::PaddingDirection::Left => "left",
            tokenizers::PaddingDirection::Right => "right",
        };
        h.aset(ruby.to_symbol("direction"), ruby.to_symbol(dir))?;
        h.aset(ruby.to_symbol("pad_id"), p.pad_id)?;
        h.aset(ruby.to_symbol("pad_token"), p.pad_token)?;
        h.aset(ruby.to_symbol("pad_type_id"), p.pad_type_id)?;
        h.aset(ruby.to_symbol("pad_to_multiple_of"), p.pad_to_multiple_of)?;
        Ok(Some(h))
    }

    fn truncation(ruby: &Ruby, rb_self: &Self) -> Result<Option<RHash>, Error> {
        let tr = rb_self.read(false, |t| Ok(t.truncation().cloned()))?;
        let Some(tr) = tr else { return Ok(None) };
        let h = ruby.hash_new();
        h.aset(ruby.to_symbol("max_length"), tr.max_length)?;
        let strategy = match tr.strategy {
            tokenizers::TruncationStrategy::LongestFirst => "longest_first",
            tokenizers::TruncationStrategy::OnlyFirst => "only_first",
            tokenizers::TruncationStrategy::OnlySecond => "only_second",
        };
        h.aset(ruby.to_symbol("strategy"), ruby.to_symbol(strategy))?;
        let dir = match tr.direction {
            tokenizers::TruncationDirection::Left => "left",
            tokenizers::TruncationDirection::Right => "right",
        };
        h.aset(ruby.to_symbol("direction"), ruby.to_symbol(dir))?;
        h.aset(ruby.to_symbol("stride"), tr.stride)?;
        Ok(Some(h))
    }

    // ---------------------------------------------------------- vocabulary

    fn vocab(ruby: &Ruby, rb_self: &Self) -> Result<RHash, Error> {
        let v = rb_self.read(false, |t| Ok(t.vocab()))?;
        let h = ruby.hash_new();
        for (k, id) in v {
            h.aset(k, id)?;
        }
        Ok(h)
    }

    fn vocab_size(&self) -> Result<usize, Error> {
        self.read(false, |t| Ok(t.vocab_size()))
    }

    fn token_to_id(&self, token: String) -> Result<Option<u32>, Error> {
        self.read(false, move |t| Ok(t.token_to_id(&token)))
    }

    fn id_to_token(&self, id: u32) -> Result<Option<String>, Error> {
        self.read(false, move |t| Ok(t.id_to_token(id)))
    }

    /// [[name, token], ...] in transformers' order, then additional tokens.
    fn special_tokens(&self) -> Result<NamedAndAdditional, Error> {
        self.read(false, |t| {
            let named = t.specials.variables().into_iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
            Ok((named, t.specials.additional.clone()))
        })
    }

    fn added_special_tokens(&self) -> Result<Vec<(String, u32)>, Error> {
        self.read(false, |t| Ok(t.special_added_tokens()))
    }

    fn eos_token_ids(&self) -> Result<Vec<u32>, Error> {
        self.read(false, |t| Ok(t.eos_token_ids.clone()))
    }

    fn source(&self) -> Result<String, Error> {
        self.read(false, |t| Ok(t.source.clone()))
    }

    // ------------------------------------------------------ chat templates

    fn chat_template_names(&self) -> Result<Vec<String>, Error> {
        self.read(false, |t| Ok(t.chat_templates.names()))
    }

    fn chat_template(&self, name: String) -> Result<Option<String>, Error> {
        self.read(false, move |t| Ok(t.chat_templates.get(&name).map(str::to_string)))
    }

    /// JSON strings in (messages, tools, documents, extra variables): Ruby's
    /// JSON keeps Hash order, which templates print.
    fn apply_chat_template(
        &self,
        messages: String,
        add_generation_prompt: bool,
        tools: Option<String>,
        documents: Option<String>,
        template: Option<String>,
        extra: String,
    ) -> Result<String, Error> {
        self.read(false, move |t| {
            let parse = |what: &str, s: &str| -> CoreResult<serde_json::Value> {
                serde_json::from_str(s).map_err(|e| err!(Argument, "{} cannot be converted to JSON: {}", what, e))
            };
            let messages = parse("messages", &messages)?;
            let extra = match parse("template variables", &extra)? {
                serde_json::Value::Object(m) => m,
                _ => return Err(err!(Argument, "template variables must be a Hash")),
            };
            let opts = RenderOptions {
                add_generation_prompt,
                tools: tools.as_deref().map(|s| parse("tools", s)).transpose()?,
                documents: documents.as_deref().map(|s| parse("documents", s)).transpose()?,
                template,
                extra,
            };
            t.apply_chat_template(&messages, &opts)
        })
    }
}

impl RbEncoding {
    fn ids(&self) -> Vec<u32> {
        self.0.get_ids().to_vec()
    }
    fn tokens(&self) -> Vec<String> {
        self.0.get_tokens().to_vec()
    }
    fn offsets(&self) -> Vec<(usize, usize)> {
        self.0.get_offsets().to_vec()
    }
    fn attention_mask(&self) -> Vec<u32> {
        self.0.get_attention_mask().to_vec()
    }
    fn type_ids(&self) -> Vec<u32> {
        self.0.get_type_ids().to_vec()
    }
    fn word_ids(&self) -> Vec<Option<u32>> {
        self.0.get_word_ids().to_vec()
    }
    fn sequence_ids(&self) -> Vec<Option<usize>> {
        self.0.get_sequence_ids()
    }
    fn special_tokens_mask(&self) -> Vec<u32> {
        self.0.get_special_tokens_mask().to_vec()
    }
    fn length(&self) -> usize {
        self.0.len()
    }
    fn overflowing(ruby: &Ruby, rb_self: &Self) -> Result<RArray, Error> {
        let out = ruby.ary_new();
        for e in rb_self.0.get_overflowing() {
            out.push(RbEncoding(e.clone()))?;
        }
        Ok(out)
    }
}

impl RbDecodeStream {
    fn with_state<R>(&self, f: impl FnOnce(&mut DecodeStream, &Tokenizer) -> CoreResult<R>) -> Result<R, Error> {
        let t = self.tokenizer.read().map_err(|_| to_ruby(poisoned()))?;
        let mut s = self.state.lock().map_err(|_| to_ruby(poisoned()))?;
        f(&mut s, &t).map_err(to_ruby)
    }

    fn step(&self, id: u32) -> Result<Option<String>, Error> {
        self.with_state(|s, t| s.step(t, id))
    }

    fn flush(&self) -> Result<Option<String>, Error> {
        self.with_state(|s, t| s.flush(t))
    }

    fn ids(&self) -> Result<Vec<u32>, Error> {
        self.with_state(|s, _| Ok(s.ids().to_vec()))
    }
}

// --------------------------------------------------------------- loading

fn from_pretrained(id: String, revision: String, gguf_file: Option<String>, opts: RHash, progress: Option<Value>) -> Result<RbTokenizer, Error> {
    let cfg = config(opts)?;
    let load = LoadOptions { gguf_file };
    run_with_progress(progress, move |sink, cancel| {
        let mut repo = ModelRepo::open(&cfg, &id, &revision, cancel)?;
        tk::from_repo(&mut repo, &load, sink, cancel)
    })
    .map(RbTokenizer::new)
}

fn load_file(kind: String, path: String, lowercase: bool) -> Result<RbTokenizer, Error> {
    without_gvl(move |_| {
        let p = std::path::Path::new(&path);
        if !p.is_file() {
            return Err(err!(Tokenizer, "no such file: {}", path));
        }
        match kind.as_str() {
            "json" => tk::from_tokenizer_json(p),
            "gguf" => tk::from_gguf(p),
            "vocab" => tk::from_vocab(p, lowercase),
            "sentencepiece" => tk::from_sentencepiece(p),
            _ => Err(err!(Argument, "unknown tokenizer file kind {:?}", kind)),
        }
    })
    .map(RbTokenizer::new)
}

pub fn init(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    native.define_singleton_method("tokenizer_from_pretrained", function!(from_pretrained, 5))?;
    native.define_singleton_method("tokenizer_from_file", function!(load_file, 3))?;

    let candle: RModule = ruby.define_module("Candle")?;
    let c = candle.define_class("Tokenizer", ruby.class_object())?;
    c.define_method("_encode", method!(RbTokenizer::encode, 3))?;
    c.define_method("_encode_batch", method!(RbTokenizer::encode_batch, 3))?;
    c.define_method("_decode", method!(RbTokenizer::decode, 2))?;
    c.define_method("_decode_batch", method!(RbTokenizer::decode_batch, 2))?;
    c.define_method("_decode_stream", method!(RbTokenizer::decode_stream, 1))?;
    c.define_method("_enable_padding", method!(RbTokenizer::enable_padding, 6))?;
    c.define_method("no_padding", method!(RbTokenizer::no_padding, 0))?;
    c.define_method("_enable_truncation", method!(RbTokenizer::enable_truncation, 4))?;
    c.define_method("no_truncation", method!(RbTokenizer::no_truncation, 0))?;
    c.define_method("padding", method!(RbTokenizer::padding, 0))?;
    c.define_method("_split_special_tokens=", method!(RbTokenizer::set_split_special_tokens, 1))?;
    c.define_method("split_special_tokens?", method!(RbTokenizer::split_special_tokens, 0))?;
    c.define_method("truncation", method!(RbTokenizer::truncation, 0))?;
    c.define_method("vocab", method!(RbTokenizer::vocab, 0))?;
    c.define_method("vocab_size", method!(RbTokenizer::vocab_size, 0))?;
    c.define_method("_token_to_id", method!(RbTokenizer::token_to_id, 1))?;
    c.define_method("_id_to_token", method!(RbTokenizer::id_to_token, 1))?;
    c.define_method("_special_tokens", method!(RbTokenizer::special_tokens, 0))?;
    c.define_method("_added_special_tokens", method!(RbTokenizer::added_special_tokens, 0))?;
    c.define_method("eos_token_ids", method!(RbTokenizer::eos_token_ids, 0))?;
    c.define_method("source", method!(RbTokenizer::source, 0))?;
    c.define_method("chat_template_names", method!(RbTokenizer::chat_template_names, 0))?;
    c.define_method("_chat_template", method!(RbTokenizer::chat_template, 1))?;
    c.define_method("_apply_chat_template", method!(RbTokenizer::apply_chat_template, 6))?;

    let e = candle.define_class("Encoding", ruby.class_object())?;
    e.define_method("ids", method!(RbEncoding::ids, 0))?;
    e.define_method("tokens", method!(RbEncoding::tokens, 0))?;
    e.define_method("offsets", method!(RbEncoding::offsets, 0))?;
    e.define_method("attention_mask", method!(RbEncoding::attention_mask, 0))?;
    e.define_method("type_ids", method!(RbEncoding::type_ids, 0))?;
    e.define_method("word_ids", method!(RbEncoding::word_ids, 0))?;
    e.define_method("sequence_ids", method!(RbEncoding::sequence_ids, 0))?;
    e.define_method("special_tokens_mask", method!(RbEncoding::special_tokens_mask, 0))?;
    e.define_method("length", method!(RbEncoding::length, 0))?;
    e.define_method("overflowing", method!(RbEncoding::overflowing, 0))?;

    let d = candle.define_class("DecodeStream", ruby.class_object())?;
    d.define_method("step", method!(RbDecodeStream::step, 1))?;
    d.define_method("flush", method!(RbDecodeStream::flush, 0))?;
    d.define_method("ids", method!(RbDecodeStream::ids, 0))?;
    Ok(())
}
