//! Natives behind Candle::LLM and its generation sessions. lib/candle/llm.rb
//! does the prompting (templates, encoding) and drives the loop: each
//! `_step` generates until there is text to show, with the GVL released and
//! the model's lock taken inside the released region, so Ruby can stop after
//! any piece and other threads run meanwhile.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use magnus::{function, method, prelude::*, Error, RHash, RModule, Ruby, Value};

use super::errors::to_ruby;
use super::hub::{config, opt, run_with_progress};
use super::nogvl::without_gvl;
use super::tokenizer::RbTokenizer;
use crate::cancel::CancelToken;
use crate::device::{self, DeviceSpec};
use crate::err;
use crate::error::Result as CoreResult;
use crate::generation::{GenerationConfig, Session};
use crate::hub::{ModelRepo, ProgressSink, WeightFiles};
use crate::models::{open_causal_lm, CausalLm};
use crate::tokenizer::{self as tk, LoadOptions, Tokenizer};

type SharedModel = Arc<Mutex<CausalLm>>;
type SharedTokenizer = Arc<std::sync::RwLock<Tokenizer>>;

#[magnus::wrap(class = "Candle::LLM", free_immediately, size)]
pub struct RbLlm {
    model: SharedModel,
    tokenizer: SharedTokenizer,
    architecture: String,
    context_length: usize,
    source: String,
    files: Vec<String>,
    weights_format: String,
    threads: Option<usize>,
}

#[magnus::wrap(class = "Candle::LLM::Session", free_immediately, size)]
pub struct RbSession {
    model: SharedModel,
    tokenizer: SharedTokenizer,
    session: Arc<Mutex<Session>>,
}

fn poisoned(what: &str) -> crate::error::Error {
    err!(Generic, "{} lock poisoned by an earlier panic", what)
}

struct Loaded {
    model: CausalLm,
    tokenizer: Option<Tokenizer>,
    source: String,
    /// The weight files (one GGUF, or safetensors shards).
    files: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
fn load_from_repo(
    cfg: &crate::hub::HubConfig,
    id: &str,
    revision: &str,
    gguf: Option<String>,
    dtype: Option<candle_core::DType>,
    with_tokenizer: bool,
    device: &candle_core::Device,
    threads: Option<usize>,
    progress: &dyn ProgressSink,
    cancel: &CancelToken,
) -> CoreResult<Loaded> {
    let mut repo = ModelRepo::open(cfg, id, revision, cancel)?;
    let (model, weights) = open_causal_lm(&mut repo, gguf, dtype, device, threads, progress, cancel)?;
    let gguf_file = match &weights {
        WeightFiles::Gguf(f) => Some(f.clone()),
        WeightFiles::Safetensors(_) => None,
    };
    // The repo's tokenizer.json when it has one, else the GGUF's own vocabulary.
    let tokenizer = if with_tokenizer {
        Some(tk::from_repo(&mut repo, &LoadOptions { gguf_file: gguf_file.clone() }, progress, cancel)?)
    } else {
        None
    };
    release_free_memory();
    let files = match weights {
        WeightFiles::Gguf(f) => vec![f],
        WeightFiles::Safetensors(v) => v,
    };
    Ok(Loaded { model, tokenizer, source: repo.describe(), files })
}

/// Hands the heap's free pages back to the system (glibc keeps what a
/// tokenizer's or GGUF header's many small temporaries left behind).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

fn device_of(kind: String, ordinal: usize) -> Result<candle_core::Device, Error> {
    let spec = DeviceSpec::parse(&kind, ordinal).map_err(to_ruby)?;
    device::open(spec).map_err(to_ruby)
}

impl RbLlm {
    fn new(l: Loaded, tokenizer: SharedTokenizer, context: Option<usize>, threads: Option<usize>) -> RbLlm {
        let context_length = context.map_or(l.model.context_length, |c| c.min(l.model.context_length));
        let architecture = l.model.architecture.clone();
        let weights_format = l.model.weights_format.clone();
        let mut model = l.model;
        model.context_length = context_length;
        RbLlm {
            model: Arc::new(Mutex::new(model)),
            tokenizer,
            architecture,
            context_length,
            source: l.source,
            files: l.files,
            weights_format,
            threads,
        }
    }

    fn tokenizer(&self) -> RbTokenizer {
        RbTokenizer(self.tokenizer.clone())
    }

    fn architecture(&self) -> String {
        self.architecture.clone()
    }

    fn context_length(&self) -> usize {
        self.context_length
    }

    fn source(&self) -> String {
        self.source.clone()
    }

    fn weight_files(&self) -> Vec<String> {
        self.files.clone()
    }

    fn weights_format(&self) -> String {
        self.weights_format.clone()
    }

    fn threads(&self) -> Option<usize> {
        self.threads
    }

    /// A session for prompt ids (already encoded by Ruby).
    fn start(&self, prompt: Vec<u32>, opts: RHash) -> Result<RbSession, Error> {
        let cfg = generation_config(opts)?;
        let ignore_eos: bool = opt(opts, "ignore_eos")?.unwrap_or(false);
        let eos = if ignore_eos {
            Vec::new()
        } else {
            self.tokenizer.read().map_err(|_| to_ruby(poisoned("tokenizer")))?.eos_token_ids.clone()
        };
        let session = Session::new(prompt, cfg, eos, self.context_length).map_err(to_ruby)?;
        Ok(RbSession { model: self.model.clone(), tokenizer: self.tokenizer.clone(), session: Arc::new(Mutex::new(session)) })
    }

    /// Forgets the KV cache (the next generation re-reads its whole prompt).
    fn reset(&self) -> Result<(), Error> {
        let model = self.model.clone();
        without_gvl(move |_| {
            model.lock().map_err(|_| poisoned("model"))?.reset();
            Ok(())
        })
    }
}

/// The options Hash was checked by Candle::GenerationConfig.
fn generation_config(opts: RHash) -> Result<GenerationConfig, Error> {
    let d = GenerationConfig::default();
    Ok(GenerationConfig {
        max_tokens: opt(opts, "max_tokens")?.unwrap_or(d.max_tokens),
        temperature: opt(opts, "temperature")?.unwrap_or(d.temperature),
        top_p: opt(opts, "top_p")?,
        top_k: opt(opts, "top_k")?,
        min_p: opt(opts, "min_p")?,
        repetition_penalty: opt(opts, "repetition_penalty")?.unwrap_or(d.repetition_penalty),
        repetition_window: opt(opts, "repetition_window")?.unwrap_or(d.repetition_window),
        seed: opt(opts, "seed")?,
        stop: opt(opts, "stop")?.unwrap_or_default(),
    })
}

impl RbSession {
    /// [text, finish_reason or nil]: generates until there is text to show
    /// or the session ends.
    fn step(&self) -> Result<(String, Option<String>), Error> {
        let (model, tokenizer, session) = (self.model.clone(), self.tokenizer.clone(), self.session.clone());
        without_gvl(move |cancel| {
            let mut s = session.lock().map_err(|_| poisoned("session"))?;
            if let Some(r) = s.finished() {
                return Ok((String::new(), Some(r.as_str().to_string())));
            }
            let mut m = model.lock().map_err(|_| poisoned("model"))?;
            let t = tokenizer.read().map_err(|_| poisoned("tokenizer"))?;
            let text = s.step(&mut m, &t, cancel)?;
            Ok((text, s.finished().map(|r| r.as_str().to_string())))
        })
    }

    fn tail(&self) -> Result<String, Error> {
        Ok(self.session.lock().map_err(|_| to_ruby(poisoned("session")))?.take_tail())
    }

    fn stats(ruby: &Ruby, rb_self: &Self) -> Result<RHash, Error> {
        let s = rb_self.session.lock().map_err(|_| to_ruby(poisoned("session")))?;
        let st = &s.stats;
        let h = ruby.hash_new();
        h.aset(ruby.to_symbol("prompt_tokens"), st.prompt_tokens)?;
        h.aset(ruby.to_symbol("prefill_tokens"), st.prefill_tokens)?;
        h.aset(ruby.to_symbol("generated_tokens"), st.generated_tokens)?;
        h.aset(ruby.to_symbol("prefill_seconds"), st.prefill_time.as_secs_f64())?;
        h.aset(ruby.to_symbol("decode_seconds"), st.decode_time.as_secs_f64())?;
        h.aset(ruby.to_symbol("time_to_first_token"), st.time_to_first_token.map(|d| d.as_secs_f64()))?;
        h.aset(ruby.to_symbol("finish_reason"), s.finished().map(|r| ruby.to_symbol(r.as_str())))?;
        h.aset(ruby.to_symbol("generated_ids"), s.generated_ids().to_vec())?;
        Ok(h)
    }
}

#[allow(clippy::too_many_arguments)]
fn from_pretrained(
    id: String,
    revision: String,
    gguf: Option<String>,
    dtype: Option<String>,
    runtime: (String, usize, Option<usize>),
    tokenizer: Option<&RbTokenizer>,
    context: Option<usize>,
    opts: RHash,
    progress: Option<Value>,
) -> Result<RbLlm, Error> {
    let cfg = config(opts)?;
    let dtype = dtype.map(|d| device::parse_dtype(&d)).transpose().map_err(to_ruby)?;
    let (kind, ordinal, threads) = runtime;
    let threads = check_threads(threads)?;
    let device = device_of(kind, ordinal)?;
    let given = tokenizer.map(|t| t.0.clone());
    let with_tokenizer = given.is_none();
    let loaded = run_with_progress(progress, move |sink, cancel| {
        load_from_repo(&cfg, &id, &revision, gguf, dtype, with_tokenizer, &device, threads, sink, cancel)
    })?;
    attach(loaded, given, context, threads)
}

/// `threads: 0` is an ArgumentError; None keeps the process-wide pool.
fn check_threads(threads: Option<usize>) -> Result<Option<usize>, Error> {
    match threads {
        Some(0) => Err(to_ruby(err!(Argument, "threads must be positive"))),
        t => Ok(t),
    }
}

fn from_file(path: String, runtime: (String, usize, Option<usize>), tokenizer: Option<&RbTokenizer>, context: Option<usize>) -> Result<RbLlm, Error> {
    let (kind, ordinal, threads) = runtime;
    let threads = check_threads(threads)?;
    let device = device_of(kind, ordinal)?;
    let given = tokenizer.map(|t| t.0.clone());
    let with_tokenizer = given.is_none();
    let loaded = without_gvl(move |cancel| {
        let p = PathBuf::from(&path);
        if !p.is_file() {
            return Err(err!(ModelLoad, "no such file: {}", path));
        }
        let model = CausalLm::open_gguf(&p, &device, threads, cancel)?;
        let tokenizer = if with_tokenizer { Some(tk::from_gguf(&p)?) } else { None };
        release_free_memory();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Loaded { model, tokenizer, source: path.clone(), files: vec![name] })
    })?;
    attach(loaded, given, context, threads)
}

fn attach(mut loaded: Loaded, given: Option<SharedTokenizer>, context: Option<usize>, threads: Option<usize>) -> Result<RbLlm, Error> {
    let tokenizer = match given {
        Some(t) => t,
        None => {
            let mut t = loaded.tokenizer.take().expect("loaded with a tokenizer");
            // EOS ids the model's own config declares end generation too.
            for &id in &loaded.model.eos_token_ids {
                if !t.eos_token_ids.contains(&id) {
                    t.eos_token_ids.push(id);
                }
            }
            Arc::new(std::sync::RwLock::new(t))
        }
    };
    if context == Some(0) {
        return Err(to_ruby(err!(Argument, "context_size must be positive")));
    }
    Ok(RbLlm::new(loaded, tokenizer, context, threads))
}

pub fn init(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    native.define_singleton_method("llm_from_pretrained", function!(from_pretrained, 9))?;
    native.define_singleton_method("llm_from_file", function!(from_file, 4))?;

    let candle: RModule = ruby.define_module("Candle")?;
    let c = candle.define_class("LLM", ruby.class_object())?;
    c.define_method("_tokenizer", method!(RbLlm::tokenizer, 0))?;
    c.define_method("architecture", method!(RbLlm::architecture, 0))?;
    c.define_method("context_length", method!(RbLlm::context_length, 0))?;
    c.define_method("source", method!(RbLlm::source, 0))?;
    c.define_method("weight_files", method!(RbLlm::weight_files, 0))?;
    c.define_method("weights_format", method!(RbLlm::weights_format, 0))?;
    c.define_method("threads", method!(RbLlm::threads, 0))?;
    c.define_method("_start", method!(RbLlm::start, 2))?;
    c.define_method("reset", method!(RbLlm::reset, 0))?;

    let s = c.define_class("Session", ruby.class_object())?;
    s.define_method("_step", method!(RbSession::step, 0))?;
    s.define_method("_tail", method!(RbSession::tail, 0))?;
    s.define_method("_stats", method!(RbSession::stats, 0))?;
    Ok(())
}
