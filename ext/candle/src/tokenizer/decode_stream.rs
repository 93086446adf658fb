//! Incremental decoding: turns a growing id sequence into text pieces whose
//! concatenation is the full decode, never splitting a multi-byte character
//! (a byte-fallback or byte-level token that ends mid-character is held back
//! until the character is complete).
//!
//! Each step decodes a small window — the previous piece's tokens plus the new
//! ones — so the cost per token does not grow with the sequence, and decoders
//! that depend on context (a leading-space strip, WordPiece `##`) see it.

use super::Tokenizer;
use crate::error::Result;

/// Tokens held back at most while waiting for a character to complete; past
/// this the text is emitted anyway (a real U+FFFD in the output).
const MAX_PENDING: usize = 8;

#[derive(Clone, Debug, Default)]
pub struct DecodeStream {
    skip_special_tokens: bool,
    ids: Vec<u32>,
    /// Start of the context window (tokens already emitted, kept for context).
    prefix_offset: usize,
    /// End of what has been emitted.
    read_offset: usize,
}

impl DecodeStream {
    pub fn new(skip_special_tokens: bool) -> Self {
        DecodeStream { skip_special_tokens, ..Default::default() }
    }

    /// Adds one id; returns the new text, or None while a character is incomplete.
    pub fn step(&mut self, tok: &Tokenizer, id: u32) -> Result<Option<String>> {
        self.ids.push(id);
        self.emit(tok, false)
    }

    /// Whatever is still held back (an incomplete character decodes to U+FFFD).
    pub fn flush(&mut self, tok: &Tokenizer) -> Result<Option<String>> {
        if self.read_offset == self.ids.len() {
            return Ok(None);
        }
        self.emit(tok, true)
    }

    /// All ids seen so far.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    fn emit(&mut self, tok: &Tokenizer, force: bool) -> Result<Option<String>> {
        let before = tok.decode(&self.ids[self.prefix_offset..self.read_offset], self.skip_special_tokens)?;
        let after = tok.decode(&self.ids[self.prefix_offset..], self.skip_special_tokens)?;
        let pending = self.ids.len() - self.read_offset;
        let incomplete = after.ends_with('\u{FFFD}') && !before.ends_with('\u{FFFD}');
        if incomplete && !force && pending < MAX_PENDING {
            return Ok(None);
        }
        let piece = if let Some(rest) = after.strip_prefix(before.as_str()) {
            rest.to_string()
        } else {
            // The decoder rewrote earlier text (rare): emit what follows the
            // common prefix rather than repeating or losing text.
            let common = before
                .char_indices()
                .zip(after.chars())
                .take_while(|((_, a), b)| a == b)
                .last()
                .map(|((i, a), _)| i + a.len_utf8())
                .unwrap_or(0);
            after[common..].to_string()
        };
        if piece.is_empty() && !force {
            // e.g. a skipped special token: nothing to show, keep the window.
            if pending >= MAX_PENDING {
                self.advance();
            }
            return Ok(None);
        }
        self.advance();
        Ok(if piece.is_empty() { None } else { Some(piece) })
    }

    fn advance(&mut self) {
        self.prefix_offset = self.read_offset;
        self.read_offset = self.ids.len();
    }
}
