//! The HuggingFace Hub: configuration, cache layout, transfer. Free of magnus.
//!
//! - `config`: `HubConfig` (cache dir, endpoint, token, offline, retries)
//! - `validate`: input checks before any request
//! - `id`: `parse_id`, `pick_gguf`, glob filters
//! - `cache`: cache layout + scan / verify / delete / link
//! - `progress`: the events a transfer reports (a leaf)
//! - `http`: the one ureq agent, URL/header helpers, interruptible waits
//! - `transfer`: the transfer policy: retries, resume, integrity
//! - `download`: the policy (`download`, `cached_path`, `files`, `snapshot`)
//! - `repo`: the resolver loaders use (`ModelRepo`: one commit, its files)

pub mod cache;
pub mod config;
pub mod download;
pub mod http;
pub mod id;
pub mod progress;
pub mod repo;
pub mod transfer;
pub mod validate;

#[cfg(test)]
mod tests;

pub use hf_hub::RepoType;

pub use cache::{
    delete, is_commit, link, parse_repo_type, repo_type_name, scan, verify, BlobReport, BlobStatus, CachedFile,
    CachedRepo, CachedRevision, DeleteReport, RepoCache,
};
pub use config::{ConfigSummary, HubConfig, Overrides, RetryPolicy, Token};
pub use download::{cached_path, download, files, snapshot, FileRequest};
pub use progress::{NoProgress, ProgressEvent, ProgressSink};
pub use repo::{ModelRepo, Presence, WeightFiles};
pub use id::{filter_files, parse_id, pick_gguf, DEFAULT_QUANT_PREFERENCE};
pub use validate::{validate_filename, validate_repo_id, validate_revision};
