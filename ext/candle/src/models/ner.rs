//! Named-entity recognition over a token classifier: per-token label
//! probabilities, then transformers' pipeline aggregation (`none`,
//! `simple`, `first`, `max`, `average`) into entities with character
//! offsets into the input (`text[start...end]` in Ruby is the entity).
//!
//! Texts longer than the model's window are split into overlapping
//! windows (each with the model's own special tokens); every token takes
//! its labels from the window where it sits farthest from an edge, so
//! nothing is truncated and no token is judged without context on one side.
//! Special tokens never become entities. Tags may be BIO (`B-`/`I-`, as the
//! pipeline groups them) or BIOES (`E-` ends an entity, `S-` is one alone).

use super::encoder::{Batch, Encoder, Seq};
use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;
use crate::tokenizer::Tokenizer;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    None,
    Simple,
    First,
    Max,
    Average,
}

impl Aggregation {
    pub fn parse(s: &str) -> Result<Aggregation> {
        Ok(match s {
            "none" => Aggregation::None,
            "simple" => Aggregation::Simple,
            "first" => Aggregation::First,
            "max" => Aggregation::Max,
            "average" => Aggregation::Average,
            _ => return Err(err!(Argument, "unknown aggregation {s:?}: expected none, simple, first, max or average")),
        })
    }
}

/// One input token with its label probabilities.
#[derive(Clone, Debug)]
pub struct Token {
    pub token: String,
    /// Character offsets into the text.
    pub start: usize,
    pub end: usize,
    pub probs: Vec<f32>,
    /// Continues the previous token's word (transformers' `is_subword`).
    pub subword: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub text: String,
    pub label: String,
    pub start: usize,
    pub end: usize,
    pub score: f32,
    /// How many tokens (or words) were averaged into `score`.
    pub parts: usize,
}

pub struct TokenClassifier {
    pub encoder: Encoder,
    /// Never truncates or pads (windows are cut here).
    pub tokenizer: Tokenizer,
    /// Whether the vocabulary marks word continuations (WordPiece "##").
    continuing_prefix: Option<String>,
    /// Content tokens shared by neighbouring windows.
    pub overlap: usize,
    /// Tokens per window, special tokens included.
    pub window: usize,
}

fn softmax(v: &[f32]) -> Vec<f32> {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = v.iter().map(|x| (x - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// (position tag, entity type) of a label: "B-PER" → ("B", "PER"); a label
/// without a known prefix continues like "I-" (as transformers does).
fn tag(label: &str) -> (&str, &str) {
    for p in ["B-", "I-", "E-", "S-"] {
        if let Some(t) = label.strip_prefix(p) {
            return (&p[..1], t);
        }
    }
    ("I", label)
}

impl TokenClassifier {
    pub fn new(encoder: Encoder, mut tokenizer: Tokenizer) -> Result<TokenClassifier> {
        tokenizer.set_padding(None)?;
        tokenizer.set_truncation(None)?;
        let json = serde_json::to_value(tokenizer.hf.get_model()).unwrap_or_default();
        let continuing_prefix =
            json.get("continuing_subword_prefix").and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(str::to_string);
        let window = encoder.max_tokens.min(512);
        Ok(TokenClassifier { encoder, tokenizer, continuing_prefix, overlap: window / 4, window })
    }

    pub fn labels(&self) -> &[String] {
        &self.encoder.labels
    }

    /// Every non-special token of `text` with its label probabilities.
    pub fn tokens(&self, text: &str, cancel: &CancelToken) -> Result<Vec<Token>> {
        let enc = self.tokenizer.encode(text, None, true)?;
        let ids = enc.get_ids();
        let special = enc.get_special_tokens_mask();
        let n = ids.len();
        // Leading and trailing special tokens go around every window.
        let lead = special.iter().take_while(|&&s| s != 0).count();
        let trail = if lead == n { 0 } else { special.iter().rev().take_while(|&&s| s != 0).count() };
        let content = lead..n - trail;
        if content.is_empty() {
            return Ok(Vec::new());
        }
        let room = self.window.saturating_sub(lead + trail);
        if room < 2 {
            return Err(err!(Generic, "the model's window of {} tokens leaves no room for text", self.window));
        }
        let step = room - self.overlap.min(room / 2).max(if room > 2 { 1 } else { 0 });
        let mut windows = Vec::new(); // content ranges
        let mut a = content.start;
        loop {
            let b = (a + room).min(content.end);
            windows.push(a..b);
            if b == content.end {
                break;
            }
            a += step.max(1);
        }
        let seqs: Vec<Seq> = windows
            .iter()
            .map(|w| {
                let mut s = ids[..lead].to_vec();
                s.extend_from_slice(&ids[w.clone()]);
                s.extend_from_slice(&ids[n - trail..]);
                Seq { type_ids: vec![0; s.len()], ids: s }
            })
            .collect();
        let labels = self.encoder.labels.len();
        // For each content token: (distance to its window's edge, probs).
        let mut best: Vec<Option<(usize, Vec<f32>)>> = vec![None; n];
        for (chunk_i, chunk) in seqs.chunks(8).enumerate() {
            cancel.check()?;
            let refs: Vec<&Seq> = chunk.iter().collect();
            let batch = Batch::pad(&refs, self.encoder.pad_id, false);
            let logits = self.encoder.token_logits(&batch, cancel)?;
            for (r, _) in chunk.iter().enumerate() {
                let w = &windows[chunk_i * 8 + r];
                for (k, tok) in w.clone().enumerate() {
                    let at = (r * batch.len + lead + k) * labels;
                    let row = &logits[at..at + labels];
                    let first_or_last = |x: usize| x == content.start || x + 1 == content.end;
                    // A window edge that is also the text's edge is no edge.
                    let left = if w.start == content.start { usize::MAX / 2 } else { k };
                    let right = if w.end == content.end { usize::MAX / 2 } else { w.len() - 1 - k };
                    let dist = left.min(right) + usize::from(first_or_last(tok));
                    if best[tok].as_ref().is_none_or(|(d, _)| dist > *d) {
                        let probs = if self.encoder.multi_label { row.iter().map(|&x| super::reranker::sigmoid(x)).collect() } else { softmax(row) };
                        best[tok] = Some((dist, probs));
                    }
                }
            }
        }
        let offsets = enc.get_offsets();
        let tokens = enc.get_tokens();
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::with_capacity(content.len());
        for i in content {
            if special[i] != 0 {
                continue;
            }
            let (start, end) = offsets[i];
            let subword = match &self.continuing_prefix {
                Some(p) => tokens[i].starts_with(p.as_str()),
                // transformers' fallback: no space just before or at the start.
                None => start > 0 && chars.get(start - 1).is_some_and(|c| *c != ' ') && chars.get(start).is_some_and(|c| *c != ' '),
            };
            let probs = best[i].take().map(|(_, p)| p).unwrap_or_default();
            out.push(Token { token: tokens[i].clone(), start, end, probs, subword });
        }
        Ok(out)
    }

    /// The entities in `text` with a score of at least `threshold`. With
    /// `merge_adjacent`, entities of one type whose spans touch (no
    /// character between them, as "spring" + "##field" or the pieces of an
    /// e-mail address when a model tags every token `B-`) become one.
    pub fn entities(&self, text: &str, aggregation: Aggregation, threshold: f32, merge_adjacent: bool, cancel: &CancelToken) -> Result<Vec<Entity>> {
        let tokens = self.tokens(text, cancel)?;
        let mut ents = aggregate(&tokens, &self.encoder.labels, aggregation);
        if merge_adjacent && aggregation != Aggregation::None {
            ents = merge_touching(ents);
        }
        let chars: Vec<char> = text.chars().collect();
        ents.retain(|e| e.score >= threshold && tag(&e.label).1 != "O" && e.label != "O");
        for e in &mut ents {
            e.text = chars[e.start.min(chars.len())..e.end.min(chars.len())].iter().collect();
        }
        Ok(ents)
    }
}

/// Joins same-label entities whose spans touch; the score stays the mean
/// over all their parts.
pub fn merge_touching(ents: Vec<Entity>) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::with_capacity(ents.len());
    for e in ents {
        if let Some(last) = out.last_mut() {
            if last.label == e.label && last.end == e.start && e.label != "O" {
                let n = (last.parts + e.parts) as f64;
                last.score = ((last.score as f64 * last.parts as f64 + e.score as f64 * e.parts as f64) / n) as f32;
                last.parts += e.parts;
                last.end = e.end;
                continue;
            }
        }
        out.push(e);
    }
    out
}

/// A word- or token-level prediction before grouping.
struct Pre {
    label: usize,
    score: f32,
    start: usize,
    end: usize,
}

/// transformers' TokenClassificationPipeline.aggregate, BIOES-aware.
/// Entities come back without text and including "O" groups.
pub fn aggregate(tokens: &[Token], labels: &[String], how: Aggregation) -> Vec<Entity> {
    let pre: Vec<Pre> = match how {
        Aggregation::None | Aggregation::Simple => tokens
            .iter()
            .map(|t| {
                let i = argmax(&t.probs);
                Pre { label: i, score: t.probs[i], start: t.start, end: t.end }
            })
            .collect(),
        _ => {
            let mut words: Vec<&[Token]> = Vec::new();
            let mut s = 0;
            for i in 1..=tokens.len() {
                if i == tokens.len() || !tokens[i].subword {
                    if i > s {
                        words.push(&tokens[s..i]);
                    }
                    s = i;
                }
            }
            words.into_iter().map(|w| word(w, how)).collect()
        }
    };
    let label = |i: usize| labels.get(i).cloned().unwrap_or_else(|| format!("LABEL_{i}"));
    if how == Aggregation::None {
        return pre.into_iter().map(|p| Entity { text: String::new(), label: label(p.label), start: p.start, end: p.end, score: p.score, parts: 1 }).collect();
    }
    let mut out = Vec::new();
    let mut group: Vec<&Pre> = Vec::new();
    let flush = |group: &mut Vec<&Pre>, out: &mut Vec<Entity>| {
        if let (Some(f), Some(l)) = (group.first(), group.last()) {
            let name = label(f.label);
            let score = group.iter().map(|p| p.score as f64).sum::<f64>() / group.len() as f64;
            out.push(Entity { text: String::new(), label: tag(&name).1.to_string(), start: f.start, end: l.end, score: score as f32, parts: group.len() });
        }
        group.clear();
    };
    for p in &pre {
        if let Some(last) = group.last() {
            let (bi, t) = tag(&labels[p.label.min(labels.len() - 1)]);
            let (last_bi, last_t) = tag(&labels[last.label.min(labels.len() - 1)]);
            let continues = t == last_t && matches!(bi, "I" | "E") && matches!(last_bi, "B" | "I");
            if !continues {
                flush(&mut group, &mut out);
            }
        }
        group.push(p);
        if matches!(tag(&labels[p.label.min(labels.len() - 1)]).0, "E" | "S") {
            flush(&mut group, &mut out);
        }
    }
    flush(&mut group, &mut out);
    out
}

/// One word's prediction from its tokens (`first`, `max` or `average`).
fn word(tokens: &[Token], how: Aggregation) -> Pre {
    let (start, end) = (tokens[0].start, tokens[tokens.len() - 1].end);
    let probs: Vec<f32> = match how {
        Aggregation::Max => {
            let best = tokens
                .iter()
                .max_by(|a, b| a.probs.iter().copied().fold(f32::MIN, f32::max).total_cmp(&b.probs.iter().copied().fold(f32::MIN, f32::max)))
                .unwrap();
            best.probs.clone()
        }
        Aggregation::Average => {
            let n = tokens[0].probs.len();
            (0..n).map(|j| (tokens.iter().map(|t| t.probs[j] as f64).sum::<f64>() / tokens.len() as f64) as f32).collect()
        }
        _ => tokens[0].probs.clone(),
    };
    let i = argmax(&probs);
    Pre { label: i, score: probs[i], start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(start: usize, end: usize, label: usize, p: f32, subword: bool) -> Token {
        let mut probs = vec![(1.0 - p) / 4.0; 5];
        probs[label] = p;
        Token { token: String::new(), start, end, probs, subword }
    }

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn simple_groups_b_then_i_and_splits_on_b() {
        let l = labels(&["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]);
        // "John Smith Paris": B-PER I-PER B-LOC, then B-PER B-PER (two people)
        let t = vec![tok(0, 4, 1, 0.9, false), tok(5, 10, 2, 0.7, false), tok(11, 16, 3, 0.8, false), tok(17, 18, 1, 0.6, false), tok(19, 20, 1, 0.6, false)];
        let e = aggregate(&t, &l, Aggregation::Simple);
        let got: Vec<(&str, usize, usize)> = e.iter().map(|e| (e.label.as_str(), e.start, e.end)).collect();
        assert_eq!(got, vec![("PER", 0, 10), ("LOC", 11, 16), ("PER", 17, 18), ("PER", 19, 20)]);
        assert!((e[0].score - 0.8).abs() < 1e-6);
    }

    #[test]
    fn word_strategies_use_subword_groups() {
        let l = labels(&["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]);
        // One word of two tokens: first token says LOC (0.6), second PER (0.9).
        let t = vec![tok(0, 3, 3, 0.6, false), tok(3, 6, 1, 0.9, true)];
        assert_eq!(aggregate(&t, &l, Aggregation::First)[0].label, "LOC");
        assert_eq!(aggregate(&t, &l, Aggregation::Max)[0].label, "PER");
        let avg = aggregate(&t, &l, Aggregation::Average);
        assert_eq!((avg.len(), avg[0].start, avg[0].end), (1, 0, 6));
        assert_eq!(aggregate(&t, &l, Aggregation::None).len(), 2);
    }

    #[test]
    fn bioes_ends_and_singles() {
        let l = labels(&["O", "B-PER", "I-PER", "E-PER", "S-PER"]);
        let t = vec![tok(0, 1, 1, 0.9, false), tok(2, 3, 3, 0.9, false), tok(4, 5, 2, 0.9, false), tok(6, 7, 4, 0.9, false), tok(8, 9, 4, 0.9, false)];
        let e = aggregate(&t, &l, Aggregation::Simple);
        let got: Vec<(usize, usize)> = e.iter().map(|e| (e.start, e.end)).collect();
        // B E | I (a dangling I starts its own) | S | S
        assert_eq!(got, vec![(0, 3), (4, 5), (6, 7), (8, 9)]);
    }

    #[test]
    fn touching_entities_of_one_type_merge() {
        let e = |label: &str, start, end, score, parts| Entity { text: String::new(), label: label.into(), start, end, score, parts };
        let merged = merge_touching(vec![e("CITY", 0, 6, 1.0, 1), e("CITY", 6, 11, 0.5, 1), e("CITY", 12, 14, 0.9, 1), e("PER", 14, 16, 0.9, 1)]);
        assert_eq!(merged.len(), 3);
        assert_eq!((merged[0].start, merged[0].end, merged[0].parts), (0, 11, 2));
        assert!((merged[0].score - 0.75).abs() < 1e-6);
    }

    #[test]
    fn tags() {
        assert_eq!(tag("B-PER"), ("B", "PER"));
        assert_eq!(tag("S-LOC"), ("S", "LOC"));
        assert_eq!(tag("MISC"), ("I", "MISC"));
    }
}
