//! Stop strings: generated text is released only when it can no longer be
//! the beginning of a stop string, so a stop string split across tokens is
//! caught and never shown; the text from the stop string on is dropped.

#[derive(Clone, Debug, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    held: String,
    stopped: bool,
}

impl StopMatcher {
    pub fn new(stops: Vec<String>) -> StopMatcher {
        StopMatcher { stops, held: String::new(), stopped: false }
    }

    /// Adds generated text; returns the text that can be shown now and
    /// whether a stop string was found (then nothing more is shown).
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        if self.stopped {
            return (String::new(), true);
        }
        if self.stops.is_empty() {
            return (piece.to_string(), false);
        }
        self.held.push_str(piece);
        if let Some(at) = self.stops.iter().filter_map(|s| self.held.find(s.as_str())).min() {
            let out = self.held[..at].to_string();
            self.held.clear();
            self.stopped = true;
            return (out, true);
        }
        let keep = self.partial_suffix_len();
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        (out, false)
    }

    /// What is still held back (no stop string completed).
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// Length in bytes of the longest suffix of `held` that is a proper
    /// prefix of a stop string (always on a character boundary).
    fn partial_suffix_len(&self) -> usize {
        let mut best = 0;
        for (i, _) in self.held.char_indices() {
            let suffix = &self.held[i..];
            if self.stops.iter().any(|s| s.len() > suffix.len() && s.starts_with(suffix)) {
                best = best.max(suffix.len());
            }
        }
        best
    }
}
