//! What a transfer reports while it runs (a leaf: `transfer` and `download`
//! both use it, neither imports the other for it).

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    Start { repo: String, file: String, total: u64 },
    Progress { repo: String, file: String, bytes: u64, total: u64 },
    Cached { repo: String, file: String, total: u64 },
    Done { repo: String, file: String, bytes: u64, total: u64 },
    Retry { repo: String, file: String, attempt: u32, wait_ms: u64, reason: String },
}

pub trait ProgressSink: Send + Sync {
    fn event(&self, e: ProgressEvent);
}

pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn event(&self, _e: ProgressEvent) {}
}
