//! The transfer policy over `http`: metadata request, body download with
//! resume, retries (Retry-After, exponential backoff + jitter), sha256
//! check, typed errors. The token is sent only to the endpoint's origin.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hf_hub::Repo;
use sha2::{Digest, Sha256};
use ureq::http::Response;
use ureq::Body;

use crate::cancel::CancelToken;
use crate::err;
use crate::error::{Error, Result};
use crate::hub::cache::is_sha256;
use crate::hub::config::HubConfig;
use crate::hub::http::{
    agent, content_range, header, is_absolute, join_url, normalize_etag, off_thread, origin, quote, retry_after, CancelScope, Reply,
};
use crate::hub::progress::{ProgressEvent, ProgressSink};
use crate::hub::validate::validate_server_token;

const CHUNK: usize = 1 << 20;
const PROGRESS_BYTES: u64 = 1 << 20;
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
const MAX_REDIRECTS: usize = 10;

/// What a request is about (for messages and events).
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub repo_id: &'a str,
    pub revision: &'a str,
    pub filename: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMetadata {
    pub commit: String,
    /// Normalized (quotes and `W/` stripped); the blob's file name.
    pub etag: String,
    pub size: u64,
    /// Where to GET the bytes (the CDN Location for LFS files).
    pub body_url: String,
}

#[derive(Debug)]
pub enum MetaOutcome {
    Found(FileMetadata),
    /// 404 EntryNotFound; `commit` from `x-repo-commit` when the server sent it.
    Missing { commit: Option<String>, error: Error },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoInfo {
    pub sha: String,
    pub files: Vec<String>,
}

/// Outcome of one attempt.
enum Fail {
    Fatal(Error),
    /// `status`: the HTTP status that asked for the retry (429, 5xx), if any.
    Retry { reason: String, after: Option<Duration>, rate_limited: bool, status: Option<u16> },
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Fatal(e)
    }
}

fn conn_fail(e: ureq::Error) -> Fail {
    match e {
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => Fail::Fatal(err!(Download, "invalid request: {}", e)),
        other => Fail::Retry { reason: format!("connection error: {other}"), after: None, rate_limited: false, status: None },
    }
}

fn io_fatal(what: &str, path: &Path, e: std::io::Error) -> Fail {
    Fail::Fatal(err!(Download, "{} {}: {}", what, path.display(), e))
}

/// The sha256 of a body as it is written. For a big file the hashing runs
/// on a thread of its own, fed 1 MiB buffers (recycled), so it overlaps the
/// next reads; a small one is hashed inline. Bytes are read straight into
/// the pipe's buffer (`spare`), written to the file, then `commit`ted.
struct HashPipe {
    buf: Vec<u8>,
    filled: usize,
    /// The inline state, or None when a thread owns it.
    inline: Option<Sha256>,
    tx: Option<mpsc::SyncSender<HashMsg>>,
    back: Option<mpsc::Receiver<Vec<u8>>>,
    worker: Option<std::thread::JoinHandle<Sha256>>,
}

enum HashMsg {
    Data(Vec<u8>),
    Reset,
}

const HASH_BUF: usize = 1 << 20;
/// Files from this size on are hashed on a thread of their own.
const HASH_THREAD_MIN: u64 = 8 << 20;

impl HashPipe {
    fn new(state: Sha256, threaded: bool) -> Self {
        let mut pipe = HashPipe { buf: vec![0u8; HASH_BUF], filled: 0, inline: None, tx: None, back: None, worker: None };
        if threaded {
            let fallback = state.clone();
            let (tx, rx) = mpsc::sync_channel::<HashMsg>(3);
            let (back_tx, back_rx) = mpsc::sync_channel::<Vec<u8>>(4);
            let spawned = std::thread::Builder::new().name("candle-hub-sha256".into()).spawn(move || {
                let mut h = state;
                for msg in rx {
                    match msg {
                        HashMsg::Data(b) => {
                            h.update(&b);
                            let _ = back_tx.try_send(b);
                        }
                        HashMsg::Reset => h = Sha256::new(),
                    }
                }
                h
            });
            if let Ok(handle) = spawned {
                pipe.tx = Some(tx);
                pipe.back = Some(back_rx);
                pipe.worker = Some(handle);
                return pipe;
            }
            pipe.inline = Some(fallback); // no thread: hash inline
            return pipe;
        }
        pipe.inline = Some(state);
        pipe
    }

    /// Where the next read goes.
    fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.filled..]
    }

    /// The `n` bytes just read into `spare`.
    fn fresh(&self, n: usize) -> &[u8] {
        &self.buf[self.filled..self.filled + n]
    }

    fn commit(&mut self, n: usize) {
        if let Some(h) = &mut self.inline {
            h.update(&self.buf[self.filled..self.filled + n]);
            return;
        }
        self.filled += n;
        if self.filled == self.buf.len() {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.filled == 0 {
            return;
        }
        let next = self.back.as_ref().and_then(|b| b.try_recv().ok()).unwrap_or_else(|| vec![0u8; HASH_BUF]);
        let mut full = std::mem::replace(&mut self.buf, next);
        full.truncate(self.filled);
        self.filled = 0;
        if let Some(tx) = &self.tx {
            let _ = tx.send(HashMsg::Data(full));
        }
    }

    /// The file was truncated: start over.
    fn reset(&mut self) {
        if let Some(h) = &mut self.inline {
            *h = Sha256::new();
            return;
        }
        self.filled = 0;
        if let Some(tx) = &self.tx {
            let _ = tx.send(HashMsg::Reset);
        }
    }

    fn finish(mut self) -> Option<Sha256> {
        if let Some(h) = self.inline.take() {
            return Some(h);
        }
        self.send();
        drop(self.tx.take());
        self.worker.take()?.join().ok()
    }
}

/// The transfer client for one configuration (requests go through `http::agent()`).
pub struct Client<'a> {
    cfg: &'a HubConfig,
    endpoint_origin: Option<String>,
}

impl<'a> Client<'a> {
    /// Fails (`ArgumentError`) when the endpoint is not an http(s) URL.
    pub fn new(cfg: &'a HubConfig) -> Result<Self> {
        cfg.check_endpoint()?;
        Ok(Self { cfg, endpoint_origin: origin(&cfg.endpoint) })
    }

    /// `{endpoint}/{repo.url()}/resolve/{revision}/{file}`, both percent-encoded
    /// (the revision's `/` too, the file name's `/` kept).
    pub fn resolve_url(&self, repo: &Repo, filename: &str) -> String {
        format!("{}/{}/resolve/{}/{}", self.cfg.endpoint, repo.url(), quote(repo.revision(), false), quote(filename, true))
    }

    /// `{endpoint}/api/{models|datasets|spaces}/{repo}/revision/{revision}`
    pub fn api_url(&self, repo: &Repo) -> String {
        // repo.url() is "<id>", "datasets/<id>" or "spaces/<id>"
        let url = repo.url();
        let typed = if url.starts_with("datasets/") || url.starts_with("spaces/") { url } else { format!("models/{url}") };
        format!("{}/api/{}/revision/{}", self.cfg.endpoint, typed, quote(repo.revision(), false))
    }

    /// GET, with `Authorization` only when `url` is on the endpoint's origin.
    /// `timeout` bounds connecting, waiting for the answer and each read of
    /// its body; `cancel` ends the wait at once.
    fn get(&self, url: &str, range: Option<&str>, timeout: Duration, cancel: &CancelToken) -> std::result::Result<Reply, Fail> {
        // As huggingface_hub does: a server that compresses a ranged reply
        // would break resumes and size checks (and ureq would inflate it).
        let mut rb = agent().get(url).header("Accept-Encoding", "identity");
        if let Some(r) = range {
            rb = rb.header("Range", r);
        }
        if let Some(t) = &self.cfg.token {
            if self.endpoint_origin.is_some() && origin(url) == self.endpoint_origin {
                rb = rb.header("Authorization", format!("Bearer {}", t.expose()));
            }
        }
        let rb = rb
            .config()
            .timeout_connect(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_per_read(Some(timeout))
            .build();
        let resp = off_thread(cancel, move || rb.call())?.map_err(conn_fail)?;
        Ok(Reply::new(resp, cancel))
    }

    fn status_fail(&self, resp: &Response<Body>, t: &Target) -> Fail {
        let st = resp.status().as_u16();
        match st {
            401 | 403 => {
                let hint = if self.cfg.token_present() {
                    "the token in use was rejected or has no access (gated repositories need their terms accepted on the Hub)"
                } else {
                    "the repository may be gated, private or missing; set HF_TOKEN or pass token: with a HuggingFace access token"
                };
                Fail::Fatal(err!(Authentication, "access to {} denied (HTTP {}): {}", t.repo_id, st, hint).with_status(st, None))
            }
            404 => Fail::Fatal(self.not_found(resp, t).1),
            429 => Fail::Retry {
                reason: "rate limited (HTTP 429)".into(),
                after: retry_after(resp),
                rate_limited: true,
                status: Some(st),
            },
            408 | 500..=599 => Fail::Retry {
                reason: format!("server error (HTTP {st})"),
                after: retry_after(resp),
                rate_limited: false,
                status: Some(st),
            },
            _ => Fail::Fatal(
                err!(Download, "unexpected HTTP {} for {} of {} (revision {})", st, t.filename, t.repo_id, t.revision)
                    .with_status(st, None),
            ),
        }
    }

    /// 404 -> (kind is EntryNotFound?, error)
    fn not_found(&self, resp: &Response<Body>, t: &Target) -> (bool, Error) {
        let (entry, e) = self.not_found_kind(resp, t);
        (entry, e.with_status(404, None))
    }

    fn not_found_kind(&self, resp: &Response<Body>, t: &Target) -> (bool, Error) {
        match header(resp, "x-error-code").as_deref() {
            Some("RepositoryNotFound") => (
                false,
                err!(RepositoryNotFound, "repository {} not found on {} (if it is private or gated, set HF_TOKEN)", t.repo_id, self.cfg.endpoint),
            ),
            Some("RevisionNotFound") => {
                (false, err!(RevisionNotFound, "revision {} not found in {}", t.revision, t.repo_id))
            }
            _ if t.filename.is_empty() => (
                false,
                err!(RepositoryNotFound, "repository {} (revision {}) not found on {}", t.repo_id, t.revision, self.cfg.endpoint),
            ),
            _ => (
                true,
                err!(EntryNotFound, "{} not found in {} at revision {}", t.filename, t.repo_id, t.revision),
            ),
        }
    }

    /// Runs `f` until it succeeds, fails fatally, or the retry budget is
    /// spent. Errors say which repo, file and revision they are about.
    fn retrying<T>(
        &self,
        t: &Target,
        progress: &dyn ProgressSink,
        cancel: &CancelToken,
        f: impl FnMut() -> std::result::Result<T, Fail>,
    ) -> Result<T> {
        self.retrying_inner(t, progress, cancel, f).map_err(|e| e.about(t.repo_id, t.filename, t.revision))
    }

    fn retrying_inner<T>(
        &self,
        t: &Target,
        progress: &dyn ProgressSink,
        cancel: &CancelToken,
        mut f: impl FnMut() -> std::result::Result<T, Fail>,
    ) -> Result<T> {
        let policy = &self.cfg.retry;
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            cancel.check()?;
            let (reason, after, rate_limited, status) = match f() {
                Ok(v) => return Ok(v),
                Err(Fail::Fatal(e)) => return Err(e),
                Err(Fail::Retry { reason, after, rate_limited, status }) => (reason, after, rate_limited, status),
            };
            attempt += 1;
            let exhausted = |why: &str| -> Error {
                let e = Self::exhausted_error(t, rate_limited, &reason, why, attempt, waited);
                match status {
                    Some(st) => e.with_status(st, after),
                    None => e,
                }
            };
            if attempt > policy.max_retries {
                return Err(exhausted("retry limit reached"));
            }
            let remaining = policy.max_total_wait.saturating_sub(waited);
            let wait = match after {
                Some(a) => {
                    if a > remaining {
                        return Err(exhausted(&format!("server asked to wait {}s, over the retry budget", a.as_secs())));
                    }
                    a
                }
                None => {
                    let exp = policy.base_delay.saturating_mul(1u32 << (attempt - 1).min(16));
                    let exp = exp.min(Duration::from_secs(30));
                    let jitter = exp.mul_f64(rand::random::<f64>() * 0.25);
                    let w = exp + jitter;
                    if remaining.is_zero() && !w.is_zero() {
                        return Err(exhausted("retry time budget spent"));
                    }
                    w.min(remaining)
                }
            };
            progress.event(ProgressEvent::Retry {
                repo: t.repo_id.to_string(),
                file: t.filename.to_string(),
                attempt,
                wait_ms: wait.as_millis() as u64,
                reason: reason.clone(),
            });
            cancel.sleep(wait)?;
            waited += wait;
        }
    }

    fn exhausted_error(t: &Target, rate_limited: bool, reason: &str, why: &str, attempt: u32, waited: Duration) -> Error {
        if rate_limited {
            err!(
                RateLimited,
                "the Hub is rate-limiting requests for {} of {} ({}; {} retries, {:.1}s waited); try again later, or set HF_TOKEN (authenticated requests get higher limits)",
                t.filename,
                t.repo_id,
                why,
                attempt - 1,
                waited.as_secs_f64()
            )
        } else {
            err!(
                Download,
                "downloading {} of {} (revision {}) failed after {} retries: {} ({})",
                t.filename,
                t.repo_id,
                t.revision,
                attempt - 1,
                reason,
                why
            )
        }
    }

    fn etag_commit(&self, resp: &Response<Body>) -> std::result::Result<(String, String), Fail> {
        let etag = header(resp, "x-linked-etag")
            .or_else(|| header(resp, "etag"))
            .map(|e| normalize_etag(&e))
            .ok_or_else(|| Fail::Fatal(err!(Download, "the Hub answer has no ETag header (is HF_ENDPOINT a Hub?)")))?;
        let commit = header(resp, "x-repo-commit")
            .ok_or_else(|| Fail::Fatal(err!(Download, "the Hub answer has no X-Repo-Commit header (is HF_ENDPOINT a Hub?)")))?;
        validate_server_token("etag", &etag)?;
        validate_server_token("commit", &commit)?;
        Ok((etag, commit))
    }

    fn metadata_once(&self, t: &Target, first_url: &str, cancel: &CancelToken) -> std::result::Result<MetaOutcome, Fail> {
        let timeout = self.cfg.etag_timeout;
        let mut url = first_url.to_string();
        for _ in 0..MAX_REDIRECTS {
            let resp = self.get(&url, Some("bytes=0-0"), timeout, cancel)?;
            let st = resp.status().as_u16();
            if matches!(st, 301 | 302 | 303 | 307 | 308) {
                let loc = header(&resp, "location")
                    .ok_or_else(|| Fail::Fatal(err!(Download, "HTTP {} without Location for {}", st, t.filename)))?;
                if !is_absolute(&loc) && !loc.starts_with("//") {
                    url = join_url(&url, &loc);
                    continue;
                }
                let loc = if loc.starts_with("//") { join_url(&url, &loc) } else { loc };
                let (etag, commit) = self.etag_commit(&resp)?;
                let size = match header(&resp, "x-linked-size").and_then(|s| s.parse::<u64>().ok()) {
                    Some(n) => n,
                    None => {
                        let r2 = self.get(&loc, Some("bytes=0-0"), timeout, cancel)?;
                        match r2.status().as_u16() {
                            206 => content_range(&r2).and_then(|c| c.1),
                            200 => r2.body().content_length(),
                            _ => return Err(self.status_fail(&r2, t)),
                        }
                        .ok_or_else(|| Fail::Fatal(err!(Download, "cannot determine the size of {} of {}", t.filename, t.repo_id)))?
                    }
                };
                return Ok(MetaOutcome::Found(FileMetadata { commit, etag, size, body_url: loc }));
            }
            if st == 200 || st == 206 {
                let (etag, commit) = self.etag_commit(&resp)?;
                let size = if st == 206 { content_range(&resp).and_then(|c| c.1) } else { None }
                    .or_else(|| header(&resp, "x-linked-size").and_then(|s| s.parse().ok()))
                    .or_else(|| if st == 200 { resp.body().content_length() } else { None })
                    .ok_or_else(|| Fail::Fatal(err!(Download, "the Hub answer for {} of {} has no size (Content-Range)", t.filename, t.repo_id)))?;
                return Ok(MetaOutcome::Found(FileMetadata { commit, etag, size, body_url: url }));
            }
            // `Range: bytes=0-0` cannot be satisfied for an empty file; a server
            // that says so with `Content-Range: bytes */0` still sends the headers.
            if st == 416 && header(&resp, "content-range").is_some_and(|v| v.replace(' ', "") == "bytes*/0") {
                let (etag, commit) = self.etag_commit(&resp)?;
                return Ok(MetaOutcome::Found(FileMetadata { commit, etag, size: 0, body_url: url }));
            }
            if st == 404 {
                let (entry, error) = self.not_found(&resp, t);
                if entry {
                    let commit = header(&resp, "x-repo-commit").filter(|c| validate_server_token("commit", c).is_ok());
                    return Ok(MetaOutcome::Missing { commit, error });
                }
                return Err(Fail::Fatal(error));
            }
            return Err(self.status_fail(&resp, t));
        }
        Err(Fail::Fatal(err!(Download, "too many redirects for {} of {}", t.filename, t.repo_id)))
    }

    /// Metadata request (`Range: bytes=0-0`), with retries.
    pub fn metadata(&self, repo: &Repo, t: &Target, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<MetaOutcome> {
        let url = self.resolve_url(repo, t.filename);
        self.retrying(t, progress, cancel, || self.metadata_once(t, &url, cancel))
    }

    /// `GET {endpoint}/api/{models|datasets|spaces}/{repo}/revision/{rev}`.
    pub fn repo_info(&self, repo: &Repo, t: &Target, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<RepoInfo> {
        let first = self.api_url(repo);
        let once = || -> std::result::Result<RepoInfo, Fail> {
            let mut url = first.clone();
            for _ in 0..MAX_REDIRECTS {
                let resp = self.get(&url, None, self.cfg.etag_timeout, cancel)?;
                let st = resp.status().as_u16();
                if matches!(st, 301 | 302 | 303 | 307 | 308) {
                    let loc = header(&resp, "location")
                        .ok_or_else(|| Fail::Fatal(err!(Download, "HTTP {} without Location", st)))?;
                    url = if is_absolute(&loc) { loc } else { join_url(&url, &loc) };
                    continue;
                }
                if st != 200 {
                    return Err(self.status_fail(&resp, t));
                }
                let resp = resp.into_inner();
                let read = off_thread(cancel, move || resp.into_body().into_with_config().limit(256 << 20).read_json::<serde_json::Value>())?;
                let v = read.map_err(|e| Fail::Retry { reason: format!("bad repository info answer: {e}"), after: None, rate_limited: false, status: None })?;
                let sha = v
                    .get("sha")
                    .and_then(|s| s.as_str())
                    .ok_or_else(|| Fail::Fatal(err!(Download, "repository info for {} has no commit sha", t.repo_id)))?
                    .to_string();
                validate_server_token("commit", &sha)?;
                let files = v
                    .get("siblings")
                    .and_then(|s| s.as_array())
                    .map(|a| a.iter().filter_map(|x| x.get("rfilename")?.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                return Ok(RepoInfo { sha, files });
            }
            Err(Fail::Fatal(err!(Download, "too many redirects for {}", t.repo_id)))
        };
        self.retrying(t, progress, cancel, once)
    }

    /// Downloads the body into `incomplete` (resuming from its length), then
    /// checks length and, for sha256 etags, the digest. On an integrity
    /// failure the partial file is deleted; on interruption it is kept.
    pub fn download_body(
        &self,
        t: &Target,
        meta: &FileMetadata,
        incomplete: &Path,
        progress: &dyn ProgressSink,
        cancel: &CancelToken,
    ) -> Result<()> {
        let open_err = |e: std::io::Error| err!(Download, "cannot open {}: {}", incomplete.display(), e);
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(incomplete).map_err(open_err)?;
        let mut hasher = Sha256::new();
        let mut have: u64 = 0;
        // re-hash what a previous attempt left
        {
            let len = file.metadata().map_err(open_err)?.len();
            if len > meta.size {
                file.set_len(0).map_err(open_err)?;
            } else if len > 0 {
                let mut buf = vec![0u8; CHUNK];
                loop {
                    cancel.check()?;
                    let n = file.read(&mut buf).map_err(open_err)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    have += n as u64;
                }
            }
            file.seek(SeekFrom::Start(have)).map_err(open_err)?;
        }
        let total = meta.size;
        let mut last_emit = (Instant::now(), have);
        let mut hasher = HashPipe::new(hasher, total >= HASH_THREAD_MIN);

        let restart = |file: &mut File, hasher: &mut HashPipe, have: &mut u64| -> std::result::Result<(), Fail> {
            file.set_len(0).map_err(|e| io_fatal("cannot truncate", incomplete, e))?;
            file.seek(SeekFrom::Start(0)).map_err(|e| io_fatal("cannot seek", incomplete, e))?;
            hasher.reset();
            *have = 0;
            Ok(())
        };

        let once = || -> std::result::Result<(), Fail> {
            if have == total {
                return Ok(()); // complete, or an empty file: nothing to request
            }
            let range = format!("bytes={have}-");
            let resp = self.get(&meta.body_url, Some(&range), self.cfg.download_timeout, cancel)?;
            match resp.status().as_u16() {
                206 => {
                    if content_range(&resp).map(|c| c.0) != Some(have) {
                        restart(&mut file, &mut hasher, &mut have)?;
                        return Err(Fail::Retry { reason: "server answered a different range".into(), after: None, rate_limited: false, status: None });
                    }
                }
                200 => {
                    if have > 0 {
                        restart(&mut file, &mut hasher, &mut have)?;
                    }
                }
                416 => {
                    if total == 0 && have == 0 {
                        return Ok(());
                    }
                    restart(&mut file, &mut hasher, &mut have)?;
                    return Err(Fail::Retry { reason: "range not satisfiable".into(), after: None, rate_limited: false, status: None });
                }
                _ => return Err(self.status_fail(&resp, t)),
            }
            let _scope = CancelScope::enter(cancel);
            let mut reader = resp.into_inner().into_body().into_reader();
            loop {
                let read = reader.read(hasher.spare());
                cancel.check()?;
                let n = match read {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        let stalled = matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
                            || e.get_ref().and_then(|x| x.downcast_ref::<ureq::Error>()).is_some_and(|u| matches!(u, ureq::Error::Timeout(_)));
                        let what = if stalled {
                            format!("no data for {:.1}s (HF_HUB_DOWNLOAD_TIMEOUT) after {have} of {total} bytes", self.cfg.download_timeout.as_secs_f64())
                        } else {
                            format!("connection lost after {have} of {total} bytes: {e}")
                        };
                        return Err(Fail::Retry { reason: what, after: None, rate_limited: false, status: None });
                    }
                };
                file.write_all(hasher.fresh(n)).map_err(|e| io_fatal("cannot write", incomplete, e))?;
                hasher.commit(n);
                have += n as u64;
                if have > total {
                    break;
                }
                if have - last_emit.1 >= PROGRESS_BYTES || last_emit.0.elapsed() >= PROGRESS_INTERVAL {
                    last_emit = (Instant::now(), have);
                    progress.event(ProgressEvent::Progress {
                        repo: t.repo_id.to_string(),
                        file: t.filename.to_string(),
                        bytes: have,
                        total,
                    });
                }
            }
            if have < total {
                return Err(Fail::Retry {
                    reason: format!("connection closed after {have} of {total} bytes"),
                    after: None,
                    rate_limited: false,
                    status: None,
                });
            }
            Ok(())
        };
        self.retrying(t, progress, cancel, once)?;

        let integrity = |detail: String| -> Error {
            drop(fs::remove_file(incomplete));
            err!(
                Integrity,
                "integrity check failed for {} of {} (revision {}): {}; the corrupt download was deleted, try again",
                t.filename,
                t.repo_id,
                t.revision,
                detail
            )
        };
        // No fsync (nor early writeback) before publishing, as huggingface_hub
        // and curl: waiting for this disk (~440 MB/s) cost more than the
        // transfer itself (bench/hub.rb: 0.50x curl with it). `Cache.verify`
        // re-hashes blobs should a crash ever leave one short.
        file.flush().map_err(open_err)?;
        let len = file.metadata().map_err(open_err)?.len();
        drop(file);
        if len != total {
            return Err(integrity(format!("expected {total} bytes, got {len}")));
        }
        if is_sha256(&meta.etag) {
            let hasher = hasher.finish().ok_or_else(|| err!(Download, "the sha256 of {} could not be computed", t.filename))?;
            let got = hex::encode(hasher.finalize());
            if !got.eq_ignore_ascii_case(&meta.etag) {
                return Err(integrity(format!("expected sha256 {}, got {}", meta.etag, got)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_hash_pipe_matches_sha256_in_both_modes() {
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let want = hex::encode(Sha256::digest(&data));
        for threaded in [false, true] {
            // a prefix hashed before (a resumed partial file), odd read sizes
            let mut start = Sha256::new();
            start.update(&data[..12_345]);
            let mut pipe = HashPipe::new(start, threaded);
            let mut at = 12_345;
            let mut step = 1usize;
            while at < data.len() {
                let spare = pipe.spare();
                let n = spare.len().min(step).min(data.len() - at);
                spare[..n].copy_from_slice(&data[at..at + n]);
                assert_eq!(pipe.fresh(n), &data[at..at + n]);
                pipe.commit(n);
                at += n;
                step = step * 7 % 300_001 + 1;
            }
            assert_eq!(hex::encode(pipe.finish().unwrap().finalize()), want, "threaded {threaded}");
            // a reset (the server ignored the range) starts over
            let mut pipe = HashPipe::new(Sha256::new(), threaded);
            pipe.spare()[..3].copy_from_slice(b"xyz");
            pipe.commit(3);
            pipe.reset();
            pipe.spare()[..5].copy_from_slice(b"hello");
            pipe.commit(5);
            assert_eq!(hex::encode(pipe.finish().unwrap().finalize()), hex::encode(Sha256::digest(b"hello")));
        }
    }
}
