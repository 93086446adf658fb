//! Text generation: the options, the sampler, stop strings, and a session that
//! produces one text piece per step — so the caller (Ruby) drives the loop,
//! can stop after any piece, and every step runs with the GVL released.
//!
//! - `sampler`: temperature, top-k, top-p, min-p, repetition penalty, seed
//! - `stop`: stop strings, held back while they could still be completing

pub mod sampler;
pub mod stop;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;
use crate::models::CausalLm;
use crate::tokenizer::{DecodeStream, Tokenizer};

pub use sampler::Sampler;
pub use stop::StopMatcher;

#[derive(Clone, Debug, PartialEq)]
pub struct GenerationConfig {
    pub max_tokens: usize,
    /// 0 = greedy.
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub min_p: Option<f64>,
    pub repetition_penalty: f64,
    /// How many of the latest tokens the repetition penalty looks at.
    pub repetition_window: usize,
    pub seed: Option<u64>,
    pub stop: Vec<String>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        GenerationConfig {
            max_tokens: 512,
            temperature: 0.7,
            top_p: None,
            top_k: None,
            min_p: None,
            repetition_penalty: 1.0,
            repetition_window: 64,
            seed: None,
            stop: Vec::new(),
        }
    }
}

impl GenerationConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(err!(Argument, "{}", m));
        if self.max_tokens == 0 {
            return bad("max_tokens must be positive".into());
        }
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return bad(format!("temperature must be >= 0, got {}", self.temperature));
        }
        if let Some(p) = self.top_p {
            if !(p > 0.0 && p <= 1.0) {
                return bad(format!("top_p must be in (0, 1], got {p}"));
            }
        }
        if self.top_k == Some(0) {
            return bad("top_k must be positive".into());
        }
        if let Some(p) = self.min_p {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("min_p must be in [0, 1], got {p}"));
            }
        }
        if !self.repetition_penalty.is_finite() || self.repetition_penalty <= 0.0 {
            return bad(format!("repetition_penalty must be > 0, got {}", self.repetition_penalty));
        }
        if self.stop.iter().any(|s| s.is_empty()) {
            return bad("stop strings must not be empty".into());
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-sequence token.
    Eos,
    /// A stop string.
    Stop,
    /// max_tokens or the context length.
    Length,
}

impl FinishReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            FinishReason::Eos => "eos",
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

/// What a finished (or running) session measured.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub prompt_tokens: usize,
    /// Prompt tokens the model actually processed (the rest came from its cache).
    pub prefill_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_time: Duration,
    pub decode_time: Duration,
    /// From the session's start to the first generated token.
    pub time_to_first_token: Option<Duration>,
}

/// One generation: prompt tokens in, text pieces out, one token per step.
pub struct Session {
    tokens: Vec<u32>,
    prompt_len: usize,
    config: GenerationConfig,
    sampler: Sampler,
    stop: StopMatcher,
    decoder: DecodeStream,
    eos: Vec<u32>,
    finished: Option<FinishReason>,
    /// Text released at the end, for `take_tail`.
    tail: String,
    started: Instant,
    pub stats: Stats,
}

impl Session {
    /// `eos`: every id that ends generation. `context`: the model's length.
    pub fn new(prompt: Vec<u32>, config: GenerationConfig, eos: Vec<u32>, context: usize) -> Result<Session> {
        config.validate()?;
        if prompt.is_empty() {
            return Err(err!(Argument, "the prompt encodes to no tokens"));
        }
        if prompt.len() >= context {
            return Err(err!(
                Generation,
                "the prompt has {} tokens but the context holds {}; shorten it or pass truncate: true",
                prompt.len(),
                context
            ));
        }
        let sampler = Sampler::new(&config);
        let stop = StopMatcher::new(config.stop.clone());
        Ok(Session {
            prompt_len: prompt.len(),
            stats: Stats { prompt_tokens: prompt.len(), ..Default::default() },
            tokens: prompt,
            config,
            sampler,
            stop,
            decoder: DecodeStream::new(true),
            eos,
            finished: None,
            tail: String::new(),
            started: Instant::now(),
        })
    }

    pub fn finished(&self) -> Option<FinishReason> {
        self.finished
    }

    pub fn generated_ids(&self) -> &[u32] {
        &self.tokens[self.prompt_len..]
    }

    /// Generates until there is text to show or the session ends. Returns
    /// the text (possibly empty at the end); `finished()` says why it ended.
    pub fn step(&mut self, model: &mut CausalLm, tok: &Tokenizer, cancel: &CancelToken) -> Result<String> {
        while self.finished.is_none() {
            cancel.check()?;
            let generated = self.tokens.len() - self.prompt_len;
            if generated >= self.config.max_tokens || self.tokens.len() >= model.context_length {
                self.finish(FinishReason::Length, tok);
                break;
            }
            let t0 = Instant::now();
            let first = generated == 0;
            let (mut logits, fed) = model.next_logits(&self.tokens, cancel)?;
            let window_start = self.tokens.len().saturating_sub(self.config.repetition_window);
            let next = self.sampler.sample(&mut logits, &self.tokens[window_start..])?;
            let dt = t0.elapsed();
            if first {
                self.stats.prefill_tokens = fed;
                self.stats.prefill_time += dt;
                self.stats.time_to_first_token = Some(self.started.elapsed());
            } else {
                self.stats.decode_time += dt;
            }
            self.stats.generated_tokens += 1;
            self.tokens.push(next);
            if self.eos.contains(&next) {
                self.finish(FinishReason::Eos, tok);
                break;
            }
            if let Some(piece) = self.decoder.step(tok, next)? {
                let (text, stopped) = self.stop.push(&piece);
                if stopped {
                    self.finished = Some(FinishReason::Stop);
                }
                if !text.is_empty() || stopped {
                    return Ok(text);
                }
            }
        }
        Ok(String::new())
    }

    /// Ends the session; what the decoder still holds back (an incomplete
    /// character) goes through the stop matcher into the tail.
    fn finish(&mut self, reason: FinishReason, tok: &Tokenizer) {
        self.finished = Some(reason);
        if let Ok(Some(rest)) = self.decoder.flush(tok) {
            let (text, stopped) = self.stop.push(&rest);
            self.tail.push_str(&text);
            if stopped {
                self.finished = Some(FinishReason::Stop);
            }
        }
    }

    /// Text held back at the end (a partial stop-string match that never
    /// completed); empty while the session runs.
    pub fn take_tail(&mut self) -> String {
        if self.finished.is_none() {
            return String::new();
        }
        let mut tail = std::mem::take(&mut self.tail);
        tail.push_str(&self.stop.flush());
        tail
    }
}
