//! Cooperative cancellation. The GVL helper's unblocking function (run by Ruby on
//! Thread#kill, Timeout, Ctrl-C) sets the flag; long loops call `check()` between
//! steps (chunks, tokens, layers, retries) and stop with `ErrorKind::Interrupted`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A flag plus the flags of the tokens it was derived from: cancelling a
/// token cancels its children, never its parent.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    own: Arc<AtomicBool>,
    ancestors: Vec<Arc<AtomicBool>>,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    /// A token that is cancelled when this one is, and can also be cancelled
    /// on its own (e.g. when one of several workers fails).
    pub fn child(&self) -> Self {
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.own.clone());
        Self { own: Arc::default(), ancestors }
    }

    pub fn cancel(&self) {
        self.own.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.own.load(Ordering::SeqCst) || self.ancestors.iter().any(|a| a.load(Ordering::SeqCst))
    }

    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::interrupted())
        } else {
            Ok(())
        }
    }

    /// Sleeps up to `total`, waking every few ms to honour cancellation.
    pub fn sleep(&self, total: Duration) -> Result<()> {
        let deadline = Instant::now() + total;
        loop {
            self.check()?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
        }
    }

    /// Raw pointer to the flag for a C unblocking function; valid while `self` lives.
    pub fn as_flag_ptr(&self) -> *const AtomicBool {
        Arc::as_ptr(&self.own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_fails_after_cancel_and_sleep_returns_early() {
        let t = CancelToken::new();
        assert!(t.check().is_ok());
        let t2 = t.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            t2.cancel();
        });
        let start = Instant::now();
        let r = t.sleep(Duration::from_secs(5));
        assert_eq!(r.unwrap_err().kind, crate::error::ErrorKind::Interrupted);
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_child_follows_its_parent_but_not_the_other_way() {
        let parent = CancelToken::new();
        let child = parent.child();
        let grandchild = child.child();
        child.cancel();
        assert!(grandchild.is_cancelled());
        assert!(!parent.is_cancelled());
        let other = parent.child();
        parent.cancel();
        assert!(other.is_cancelled());
    }
}
