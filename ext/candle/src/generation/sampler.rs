//! Picks the next token from logits: repetition penalty, then temperature
//! (0 = greedy), then top-k, top-p and min-p filtering, then a draw from a
//! seeded RNG (same seed, same options, same model → same tokens).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::GenerationConfig;
use crate::err;
use crate::error::Result;

pub struct Sampler {
    temperature: f64,
    top_k: Option<usize>,
    top_p: Option<f64>,
    min_p: Option<f64>,
    repetition_penalty: f32,
    rng: StdRng,
}

impl Sampler {
    pub fn new(cfg: &GenerationConfig) -> Sampler {
        let rng = match cfg.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_entropy(),
        };
        Sampler {
            temperature: cfg.temperature,
            top_k: cfg.top_k,
            top_p: cfg.top_p,
            min_p: cfg.min_p,
            repetition_penalty: cfg.repetition_penalty as f32,
            rng,
        }
    }

    /// `recent`: the tokens the repetition penalty applies to.
    pub fn sample(&mut self, logits: &mut [f32], recent: &[u32]) -> Result<u32> {
        if logits.is_empty() {
            return Err(err!(Generation, "the model returned no logits"));
        }
        if self.repetition_penalty != 1.0 {
            apply_repetition_penalty(logits, recent, self.repetition_penalty);
        }
        if self.temperature == 0.0 {
            return Ok(argmax(logits));
        }
        // Softmax at the temperature, over the finite logits.
        let t = self.temperature as f32;
        let max = logits.iter().copied().filter(|x| x.is_finite()).fold(f32::NEG_INFINITY, f32::max);
        if !max.is_finite() {
            return Err(err!(Generation, "the model returned no finite logits"));
        }
        let mut probs: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_finite())
            .map(|(i, &l)| (i as u32, ((l - max) / t).exp()))
            .collect();
        probs.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if let Some(k) = self.top_k {
            probs.truncate(k.max(1));
        }
        let total: f32 = probs.iter().map(|p| p.1).sum();
        if let Some(min_p) = self.min_p {
            // Keep tokens at least min_p times as likely as the most likely one.
            let floor = probs[0].1 * min_p as f32;
            let keep = probs.iter().take_while(|p| p.1 >= floor).count().max(1);
            probs.truncate(keep);
        }
        if let Some(top_p) = self.top_p {
            let mut acc = 0.0;
            let mut keep = 0;
            for p in &probs {
                keep += 1;
                acc += p.1 / total;
                if acc >= top_p as f32 {
                    break;
                }
            }
            probs.truncate(keep.max(1));
        }
        let mass: f32 = probs.iter().map(|p| p.1).sum();
        let mut r = self.rng.gen::<f32>() * mass;
        for (id, p) in &probs {
            if r < *p {
                return Ok(*id);
            }
            r -= p;
        }
        Ok(probs.last().map(|p| p.0).unwrap_or(0))
    }
}

/// The lowest id among the largest logits.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] || (logits[best].is_nan() && !l.is_nan()) {
            best = i;
        }
    }
    best as u32
}

/// transformers' rule: a seen token's logit is divided by the penalty when
/// positive, multiplied when negative (each distinct token once).
pub fn apply_repetition_penalty(logits: &mut [f32], recent: &[u32], penalty: f32) {
    let mut seen = std::collections::HashSet::new();
    for &id in recent {
        if !seen.insert(id) {
            continue;
        }
        if let Some(l) = logits.get_mut(id as usize) {
            *l = if *l >= 0.0 { *l / penalty } else { *l * penalty };
        }
    }
}
