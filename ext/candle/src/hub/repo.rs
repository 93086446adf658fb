//! The resolver every loader goes through: `(repo_id, revision)` is resolved
//! **once** to a commit, and every file of that load is fetched at that commit
//! sha — never by branch name — so a load cannot mix `config.json` from one
//! commit with weights from another, even while the branch moves.
//!
//! What the resolver knows about the repo's files decides what is requested:
//! - a full listing (one revision-API request, or a local directory): a file is
//!   present or absent, and nothing absent is ever asked for;
//! - a warm cache (cached ref, zero requests): the snapshot's files are present,
//!   `.no_exist/<commit>/<file>` entries are absent, and any other file costs
//!   one request at the pinned commit (remembered either way). Offline, such a
//!   file counts as absent.
//!
//! A local directory (transformers' `from_pretrained("./my-model")`) is
//! accepted wherever a repo id is: its files are the listing, no network.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use hf_hub::RepoType;

use crate::cancel::CancelToken;
use crate::err;
use crate::error::{ErrorKind, Result};
use crate::hub::cache::{is_commit, repo_type_name, RepoCache};
use crate::hub::config::HubConfig;
use crate::hub::download::{download, offline_error, FileRequest};
use crate::hub::progress::{NoProgress, ProgressSink};
use crate::hub::id::pick_gguf;
use crate::hub::transfer::{Client, Target};
use crate::hub::validate::{validate_filename, validate_repo_id, validate_revision};

/// Files loaders look for optionally. When a full listing is fetched, the ones
/// it lacks are recorded in `.no_exist/<commit>/` (the marker Python's
/// huggingface_hub writes too), so a later load from the warm cache knows they
/// are absent without asking.
pub const OPTIONAL_FILES: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "chat_template.jinja",
    "chat_template.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
];

/// What the resolver knows about one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Present,
    Absent,
    /// Not in the (partial) cached listing and not known missing.
    Unknown,
}

// One per load: the variants' size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Source {
    Hub { cfg: HubConfig, cache: RepoCache, commit: String, revision: String },
    Local { dir: PathBuf },
}

/// One repository pinned at one commit (or a local directory).
#[derive(Debug)]
pub struct ModelRepo {
    source: Source,
    /// Sorted, `/`-separated relative paths.
    files: Vec<String>,
    /// True when `files` is the whole repo (API listing or local directory).
    complete: bool,
    /// Set when probing an optional file could not reach the Hub.
    unreachable: AtomicBool,
}

impl ModelRepo {
    /// `id` is a repo id, or a path to a local directory (absolute, or
    /// starting with `./`, `../`, `~/`, or any existing directory).
    pub fn open(cfg: &HubConfig, id: &str, revision: &str, cancel: &CancelToken) -> Result<ModelRepo> {
        if let Some(dir) = local_dir(id) {
            return Self::local(&dir);
        }
        Self::hub(cfg, id, RepoType::Model, revision, cancel)
    }

    pub fn local(dir: &Path) -> Result<ModelRepo> {
        if !dir.is_dir() {
            return Err(err!(Argument, "{} is not a directory", dir.display()));
        }
        let mut files = Vec::new();
        walk(dir, "", &mut files);
        files.sort();
        Ok(ModelRepo { source: Source::Local { dir: dir.to_path_buf() }, files, complete: true, unreachable: AtomicBool::new(false) })
    }

    pub fn hub(cfg: &HubConfig, repo_id: &str, repo_type: RepoType, revision: &str, cancel: &CancelToken) -> Result<ModelRepo> {
        validate_repo_id(repo_id)?;
        validate_revision(revision)?;
        let cache = RepoCache::new(&cfg.cache_dir, repo_id, repo_type);
        let cached = cache.resolve_commit(revision);
        let use_cache = match &cached {
            Some(_) if is_commit(revision) => true,
            Some(_) => !cfg.refresh || cfg.offline,
            None => false,
        };
        if use_cache || cfg.offline {
            let Some(commit) = cached else {
                return Err(offline_error(cfg, "", repo_id, repo_type, revision));
            };
            let files = cache.snapshot_files(&commit);
            if cfg.offline && files.is_empty() && !cache.snapshot_dir(&commit).is_dir() {
                return Err(offline_error(cfg, "", repo_id, repo_type, revision));
            }
            let source = Source::Hub { cfg: cfg.clone(), cache, commit, revision: revision.to_string() };
            return Ok(ModelRepo { source, files, complete: false, unreachable: AtomicBool::new(false) });
        }
        cancel.check()?;
        let (commit, mut files) = fetch_listing(cfg, &cache, revision, cancel)?;
        files.sort();
        if !is_commit(revision) {
            cache.write_ref(revision, &commit)?;
        }
        let repo = ModelRepo {
            source: Source::Hub { cfg: cfg.clone(), cache, commit, revision: revision.to_string() },
            files,
            complete: true,
            unreachable: AtomicBool::new(false),
        };
        repo.remember_absent_optional_files();
        Ok(repo)
    }

    /// The pinned commit (None for a local directory).
    pub fn commit(&self) -> Option<&str> {
        match &self.source {
            Source::Hub { commit, .. } => Some(commit),
            Source::Local { .. } => None,
        }
    }

    /// The repo id, or the local directory.
    pub fn name(&self) -> String {
        match &self.source {
            Source::Hub { cache, .. } => cache.repo_id.clone(),
            Source::Local { dir } => dir.display().to_string(),
        }
    }

    /// "org/name@abcdef1" or the directory (for messages and `inspect`).
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Hub { cache, commit, .. } => format!("{}@{}", cache.repo_id, &commit[..commit.len().min(7)]),
            Source::Local { dir } => dir.display().to_string(),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self.source, Source::Local { .. })
    }

    /// Files known to exist (the whole repo when `is_complete`).
    pub fn files(&self) -> &[String] {
        &self.files
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    pub fn presence(&self, filename: &str) -> Presence {
        if self.files.binary_search_by(|f| f.as_str().cmp(filename)).is_ok() {
            return Presence::Present;
        }
        if self.complete {
            return Presence::Absent;
        }
        match &self.source {
            Source::Hub { cfg, cache, commit, .. } => {
                if cache.is_known_missing(commit, filename) || cfg.offline {
                    Presence::Absent
                } else {
                    Presence::Unknown
                }
            }
            Source::Local { .. } => Presence::Absent,
        }
    }

    /// The file's path, downloading it at the pinned commit when needed.
    pub fn get(&self, filename: &str, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<PathBuf> {
        validate_filename(filename)?;
        match &self.source {
            Source::Local { dir } => {
                let p = dir.join(filename);
                if p.is_file() {
                    Ok(p)
                } else {
                    Err(err!(EntryNotFound, "{} not found in {}", filename, dir.display()))
                }
            }
            Source::Hub { cfg, cache, commit, revision } => {
                if self.complete && self.presence(filename) == Presence::Absent {
                    return Err(err!(
                        EntryNotFound,
                        "{} not found in {} at revision {} (commit {}); it has: {}",
                        filename,
                        cache.repo_id,
                        revision,
                        commit,
                        summarize(&self.files)
                    ));
                }
                if cfg.offline {
                    if let Some(p) = cache.cached_file(commit, filename) {
                        return Ok(p);
                    }
                    let what = format!("{filename} from ");
                    return Err(offline_error(cfg, &what, &cache.repo_id, cache.repo_type, revision));
                }
                let req = FileRequest {
                    repo_id: cache.repo_id.clone(),
                    repo_type: cache.repo_type,
                    revision: commit.clone(),
                    filename: filename.to_string(),
                };
                download(cfg, &req, progress, cancel)
            }
        }
    }

    /// Like `get`, but None when the file is absent. Absent files cost no
    /// request; an unknown one costs one attempt (at the pinned commit, no
    /// retries), remembered when the Hub answers. When the Hub cannot be
    /// reached, unknown optional files count as absent for the rest of this
    /// load (as transformers treats optional files), so a warm cache still
    /// loads with the network down.
    pub fn get_optional(&self, filename: &str, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<Option<PathBuf>> {
        match self.presence(filename) {
            Presence::Absent => Ok(None),
            Presence::Present => self.get(filename, progress, cancel).map(Some),
            Presence::Unknown if self.unreachable.load(Ordering::Relaxed) => Ok(None),
            Presence::Unknown => {
                let Source::Hub { cfg, cache, commit, .. } = &self.source else { return Ok(None) };
                let mut once = cfg.clone();
                once.retry.max_retries = 0;
                let req = FileRequest {
                    repo_id: cache.repo_id.clone(),
                    repo_type: cache.repo_type,
                    revision: commit.clone(),
                    filename: filename.to_string(),
                };
                match download(&once, &req, progress, cancel) {
                    Ok(p) => Ok(Some(p)),
                    Err(e) if e.kind == ErrorKind::EntryNotFound => {
                        cache.mark_missing(commit, filename)?;
                        Ok(None)
                    }
                    Err(e) if matches!(e.kind, ErrorKind::Download | ErrorKind::RateLimited) => {
                        self.unreachable.store(true, Ordering::Relaxed);
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// The first of `candidates` that exists (asking at most about unknown
    /// ones, in order).
    pub fn first_present(&self, candidates: &[&str], cancel: &CancelToken) -> Result<Option<(String, PathBuf)>> {
        for name in candidates {
            if let Some(p) = self.get_optional(name, &NoProgress, cancel)? {
                return Ok(Some((name.to_string(), p)));
            }
        }
        Ok(None)
    }

    /// The whole listing: as known, or (for a warm cache online) one
    /// revision-API request at the pinned commit.
    pub fn full_listing(&mut self, cancel: &CancelToken) -> Result<&[String]> {
        if !self.complete {
            if let Source::Hub { cfg, cache, commit, .. } = &self.source {
                if !cfg.offline {
                    let (_, mut files) = fetch_listing(cfg, cache, commit, cancel)?;
                    files.sort();
                    self.files = files;
                    self.complete = true;
                    self.remember_absent_optional_files();
                }
            }
        }
        Ok(&self.files)
    }

    fn remember_absent_optional_files(&self) {
        if let Source::Hub { cache, commit, .. } = &self.source {
            for name in OPTIONAL_FILES {
                if self.presence(name) == Presence::Absent && !cache.is_known_missing(commit, name) {
                    // Best effort: a read-only cache only loses the shortcut.
                    let _ = cache.mark_missing(commit, name);
                }
            }
        }
    }

    /// The repo's GGUF to load: `pick_gguf`'s choice among the known files,
    /// listing the whole repo (one request at the pinned commit) when none
    /// is known yet. None when the repo has no .gguf file.
    pub fn pick_gguf(&mut self, cancel: &CancelToken) -> Result<Option<String>> {
        if pick_gguf(&self.files, &[]).is_none() {
            self.full_listing(cancel)?;
        }
        Ok(pick_gguf(&self.files, &[]))
    }

    /// The weights a causal LM loads from this repo, chosen from the listing
    /// (never probed): a GGUF when the repo has one (`pick_gguf`'s choice),
    /// else `model.safetensors.index.json`'s shards, else `model.safetensors`.
    /// Lists the whole repo (one request at the pinned commit) only when the
    /// known files hold none of these.
    pub fn pick_weights(&mut self, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<Option<WeightFiles>> {
        if let Some(w) = self.known_weights(progress, cancel)? {
            return Ok(Some(w));
        }
        self.full_listing(cancel)?;
        self.known_weights(progress, cancel)
    }

    fn known_weights(&self, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<Option<WeightFiles>> {
        if let Some(g) = pick_gguf(&self.files, &[]) {
            return Ok(Some(WeightFiles::Gguf(g)));
        }
        if self.presence(SAFETENSORS_INDEX) == Presence::Present {
            let path = self.get(SAFETENSORS_INDEX, progress, cancel)?;
            return Ok(Some(WeightFiles::Safetensors(safetensors_shards(&path)?)));
        }
        if self.presence(SAFETENSORS_SINGLE) == Presence::Present {
            return Ok(Some(WeightFiles::Safetensors(vec![SAFETENSORS_SINGLE.to_string()])));
        }
        Ok(None)
    }

    /// The snapshot directory (Hub) or the directory itself (local).
    pub fn dir(&self) -> PathBuf {
        match &self.source {
            Source::Hub { cache, commit, .. } => cache.snapshot_dir(commit),
            Source::Local { dir } => dir.clone(),
        }
    }

    pub fn repo_type_name(&self) -> &'static str {
        match &self.source {
            Source::Hub { cache, .. } => repo_type_name(cache.repo_type),
            Source::Local { .. } => "directory",
        }
    }
}

pub const SAFETENSORS_SINGLE: &str = "model.safetensors";
pub const SAFETENSORS_INDEX: &str = "model.safetensors.index.json";

/// The weight files of a checkpoint (names within the repo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightFiles {
    Gguf(String),
    /// One file, or the shards an index names (sorted, each once).
    Safetensors(Vec<String>),
}

/// The distinct shard files of a `model.safetensors.index.json`, each a
/// valid repo path ending in `.safetensors`.
pub fn safetensors_shards(index: &Path) -> Result<Vec<String>> {
    const MAX_INDEX_BYTES: u64 = 64 << 20;
    let bad = |why: String| err!(InvalidModelFile, "{}: {}", index.display(), why);
    let v = crate::json_file::read_json(index, MAX_INDEX_BYTES, ErrorKind::InvalidModelFile)?;
    let map = v.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| bad("no \"weight_map\" object".into()))?;
    let mut shards: Vec<String> = Vec::new();
    for file in map.values() {
        let f = file.as_str().ok_or_else(|| bad("weight_map values must be file names".into()))?;
        validate_filename(f).map_err(|e| bad(e.message))?;
        if !f.ends_with(".safetensors") {
            return Err(bad(format!("shard {f:?} is not a .safetensors file")));
        }
        shards.push(f.to_string());
    }
    shards.sort();
    shards.dedup();
    if shards.is_empty() {
        return Err(bad("weight_map is empty".into()));
    }
    Ok(shards)
}

fn fetch_listing(cfg: &HubConfig, cache: &RepoCache, revision: &str, cancel: &CancelToken) -> Result<(String, Vec<String>)> {
    let client = Client::new(cfg)?;
    let t = Target { repo_id: &cache.repo_id, revision, filename: "" };
    let mut info = client.repo_info(&cache.repo_at(revision), &t, &NoProgress, cancel)?;
    // A name `download` would refuse (it could not be a cache path) is left
    // out of the listing rather than making the whole repo unusable.
    info.files.retain(|f| validate_filename(f).is_ok());
    Ok((info.sha, info.files))
}

/// A short "a, b, c and N more" list for messages.
pub fn summarize(files: &[String]) -> String {
    if files.is_empty() {
        return "no files".to_string();
    }
    const SHOWN: usize = 12;
    let mut s = files.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if files.len() > SHOWN {
        s.push_str(&format!(" and {} more", files.len() - SHOWN));
    }
    s
}

/// `id` names a local directory: an explicit path form, or an existing
/// directory (as transformers does).
fn local_dir(id: &str) -> Option<PathBuf> {
    let explicit = id.starts_with('/') || id.starts_with("./") || id.starts_with("../") || id.starts_with("~/") || id == ".";
    let path = if let Some(rest) = id.strip_prefix("~/") {
        crate::hub::config::home_dir()?.join(rest)
    } else {
        PathBuf::from(id)
    };
    if explicit || path.is_dir() {
        Some(path)
    } else {
        None
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let p = e.path();
        if p.is_dir() {
            walk(&p, &rel, out);
        } else if p.is_file() {
            out.push(rel);
        }
    }
}

#[cfg(test)]
mod shard_tests {
    use super::*;

    #[test]
    fn an_index_names_each_shard_once_and_only_safe_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(SAFETENSORS_INDEX);
        let write = |v: serde_json::Value| std::fs::write(&p, v.to_string()).unwrap();
        write(serde_json::json!({"weight_map": {"a": "model-00002-of-00002.safetensors",
            "b": "model-00001-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}}));
        assert_eq!(safetensors_shards(&p).unwrap(), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
        write(serde_json::json!({"weight_map": {"a": "../../etc/passwd.safetensors"}}));
        assert_eq!(safetensors_shards(&p).unwrap_err().kind, ErrorKind::InvalidModelFile);
        write(serde_json::json!({"weight_map": {"a": "model.bin"}}));
        assert!(safetensors_shards(&p).is_err());
        write(serde_json::json!({"weight_map": {}}));
        assert!(safetensors_shards(&p).is_err());
        write(serde_json::json!({"metadata": {}}));
        assert!(safetensors_shards(&p).is_err());
    }
}
