//! Natives behind Candle::Hub and Candle::Hub::Cache. Options arrive as a Hash
//! already checked by lib/candle/hub.rb; everything else is in crate::hub.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, UNIX_EPOCH};

use magnus::{function, prelude::*, Error, RArray, RHash, RModule, Ruby, Value};

use super::errors::to_ruby;
use super::nogvl::{with_events, without_gvl, Emitter};
use crate::hub::{self, FileRequest, HubConfig, NoProgress, Overrides, ProgressEvent, ProgressSink, RepoType};

/// A keyword from an options Hash (nil counts as absent).
pub(crate) fn opt<T: magnus::TryConvert>(opts: RHash, key: &str) -> Result<Option<T>, Error> {
    let ruby = Ruby::get().expect("GVL held");
    match opts.get(ruby.to_symbol(key)) {
        Some(v) if !v.is_nil() => Ok(Some(T::try_convert(v)?)),
        _ => Ok(None),
    }
}

fn secs(v: Option<f64>) -> Option<Duration> {
    v.map(|s| Duration::from_secs_f64(s.max(0.0)))
}

/// Per-call settings; HubConfig::resolve fills in the environment.
pub(crate) fn config(opts: RHash) -> Result<HubConfig, Error> {
    let overrides = Overrides {
        cache_dir: opt::<String>(opts, "cache_dir")?.map(PathBuf::from),
        endpoint: opt(opts, "endpoint")?,
        token: opt(opts, "token")?,
        local_files_only: opt(opts, "local_files_only")?,
        max_retries: opt(opts, "max_retries")?,
        retry_base_delay: secs(opt(opts, "retry_base_delay")?),
        max_total_wait: secs(opt(opts, "max_retry_wait")?),
        etag_timeout: secs(opt(opts, "etag_timeout")?),
        download_timeout: secs(opt(opts, "download_timeout")?),
        refresh: opt(opts, "refresh")?.unwrap_or(false),
    };
    HubConfig::resolve(&overrides).map_err(to_ruby)
}

fn repo_type(name: String) -> Result<RepoType, Error> {
    hub::parse_repo_type(&name).map_err(to_ruby)
}

fn path_string(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

/// An event plus the channel its handler answers on (true: the Ruby callback
/// returned normally).
type Delivery = (ProgressEvent, mpsc::SyncSender<bool>);

/// Hands events to the Ruby callback and waits until it has run: a callback
/// that raises cancels the work before it publishes anything (with
/// fire-and-forget events a fast download could finish, and be linked into
/// the snapshot, before the callback's exception was even seen).
struct Sink<'a> {
    emitter: &'a Emitter<Delivery>,
    cancel: &'a crate::cancel::CancelToken,
}

impl ProgressSink for Sink<'_> {
    fn event(&self, e: ProgressEvent) {
        if self.cancel.is_cancelled() {
            return;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        self.emitter.emit((e, tx));
        // Err: the event was dropped unhandled (an earlier callback failed).
        if rx.recv() != Ok(true) {
            self.cancel.cancel();
        }
    }
}

fn event_hash(ruby: &Ruby, e: ProgressEvent) -> Result<RHash, Error> {
    let h = ruby.hash_new();
    let sym = |s: &str| ruby.to_symbol(s);
    let (kind, repo, file, bytes, total) = match e {
        ProgressEvent::Start { repo, file, total } => ("start", repo, file, 0, total),
        ProgressEvent::Progress { repo, file, bytes, total } => ("progress", repo, file, bytes, total),
        ProgressEvent::Cached { repo, file, total } => ("cached", repo, file, total, total),
        ProgressEvent::Done { repo, file, bytes, total } => ("done", repo, file, bytes, total),
        ProgressEvent::Retry { repo, file, attempt, wait_ms, reason } => {
            h.aset(sym("attempt"), attempt)?;
            h.aset(sym("wait"), wait_ms as f64 / 1000.0)?;
            h.aset(sym("reason"), reason)?;
            ("retry", repo, file, 0, 0)
        }
    };
    h.aset(sym("type"), sym(kind))?;
    h.aset(sym("repo"), repo)?;
    h.aset(sym("file"), file)?;
    h.aset(sym("bytes"), bytes)?;
    h.aset(sym("total"), total)?;
    Ok(h)
}

/// Runs `work` without the GVL; with a callable, its progress events are
/// delivered to it on this thread.
pub(crate) fn run_with_progress<R, F>(progress: Option<Value>, work: F) -> Result<R, Error>
where
    R: Send,
    F: FnOnce(&dyn ProgressSink, &crate::cancel::CancelToken) -> crate::error::Result<R> + Send,
{
    match progress {
        None => without_gvl(|cancel| work(&NoProgress, cancel)),
        Some(callable) => with_events(
            |cancel, emitter| work(&Sink { emitter, cancel }, cancel),
            |(event, ack): Delivery| {
                let ruby = Ruby::get().expect("GVL held");
                let result = event_hash(&ruby, event)
                    .and_then(|h| callable.funcall::<_, _, Value>("call", (h,)))
                    .map(|_| ());
                let _ = ack.send(result.is_ok());
                result
            },
        ),
    }
}

fn download(
    repo_id: String,
    filename: String,
    revision: String,
    kind: String,
    opts: RHash,
    progress: Option<Value>,
) -> Result<String, Error> {
    let cfg = config(opts)?;
    let req = FileRequest { repo_id, repo_type: repo_type(kind)?, revision, filename };
    run_with_progress(progress, move |sink, cancel| hub::download(&cfg, &req, sink, cancel)).map(path_string)
}

fn snapshot(args: &[Value]) -> Result<String, Error> {
    let args = magnus::scan_args::scan_args::<
        (String, String, String, Vec<String>, Vec<String>, usize, RHash, Option<Value>),
        (),
        (),
        (),
        (),
        (),
    >(args)?;
    let (repo_id, revision, kind, allow, ignore, workers, opts, progress) = args.required;
    let cfg = config(opts)?;
    let repo_type = repo_type(kind)?;
    run_with_progress(progress, move |sink, cancel| {
        hub::snapshot(&cfg, &repo_id, repo_type, &revision, &allow, &ignore, workers.max(1), sink, cancel)
    })
    .map(path_string)
}

fn cached_path(repo_id: String, filename: String, revision: String, kind: String, opts: RHash) -> Result<Option<String>, Error> {
    let cfg = config(opts)?;
    let req = FileRequest { repo_id, repo_type: repo_type(kind)?, revision, filename };
    Ok(hub::cached_path(&cfg, &req).map_err(to_ruby)?.map(path_string))
}

fn files(repo_id: String, revision: String, kind: String, opts: RHash) -> Result<Vec<String>, Error> {
    let cfg = config(opts)?;
    let repo_type = repo_type(kind)?;
    without_gvl(move |cancel| hub::files(&cfg, &repo_id, repo_type, &revision, cancel))
}

fn config_hash(ruby: &Ruby, opts: RHash) -> Result<RHash, Error> {
    let s = config(opts)?.describe();
    let h = ruby.hash_new();
    h.aset(ruby.to_symbol("cache_dir"), path_string(s.cache_dir))?;
    h.aset(ruby.to_symbol("endpoint"), s.endpoint)?;
    h.aset(ruby.to_symbol("offline"), s.offline)?;
    h.aset(ruby.to_symbol("token_present"), s.token_present)?;
    h.aset(ruby.to_symbol("max_retries"), s.max_retries)?;
    h.aset(ruby.to_symbol("retry_base_delay"), s.retry_base_delay_ms as f64 / 1000.0)?;
    h.aset(ruby.to_symbol("max_retry_wait"), s.max_total_wait_ms as f64 / 1000.0)?;
    h.aset(ruby.to_symbol("etag_timeout"), s.etag_timeout_ms as f64 / 1000.0)?;
    h.aset(ruby.to_symbol("download_timeout"), s.download_timeout_ms as f64 / 1000.0)?;
    Ok(h)
}

fn parse_id(id: String) -> Result<(String, Option<String>, Option<String>), Error> {
    hub::parse_id(&id).map_err(to_ruby)
}

/// `prefer` empty: the default preference.
fn pick_gguf(files: Vec<String>, prefer: Vec<String>) -> Option<String> {
    hub::pick_gguf(&files, &prefer)
}

fn default_gguf_preference() -> Vec<&'static str> {
    hub::DEFAULT_QUANT_PREFERENCE.to_vec()
}

fn valid_repo_id(id: String) -> bool {
    hub::validate_repo_id(&id).is_ok()
}

fn cache_scan(ruby: &Ruby, opts: RHash) -> Result<RArray, Error> {
    let dir = config(opts)?.cache_dir;
    let repos = without_gvl(move |_| hub::scan(&dir))?;
    let out = ruby.ary_new();
    for repo in repos {
        let h = ruby.hash_new();
        h.aset(ruby.to_symbol("repo_id"), repo.repo_id)?;
        h.aset(ruby.to_symbol("repo_type"), ruby.to_symbol(hub::repo_type_name(repo.repo_type)))?;
        h.aset(ruby.to_symbol("path"), path_string(repo.path))?;
        h.aset(ruby.to_symbol("size"), repo.size_on_disk)?;
        h.aset(ruby.to_symbol("nb_files"), repo.nb_files)?;
        let modified = repo.last_modified.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs_f64());
        h.aset(ruby.to_symbol("last_modified"), modified)?;
        let refs = ruby.hash_new();
        for (name, commit) in repo.refs {
            refs.aset(name, commit)?;
        }
        h.aset(ruby.to_symbol("refs"), refs)?;
        let revisions = ruby.ary_new();
        for rev in repo.revisions {
            let r = ruby.hash_new();
            r.aset(ruby.to_symbol("commit"), rev.commit)?;
            r.aset(ruby.to_symbol("refs"), rev.refs)?;
            r.aset(ruby.to_symbol("size"), rev.size)?;
            let files = ruby.ary_new();
            for f in rev.files {
                let fh = ruby.hash_new();
                fh.aset(ruby.to_symbol("name"), f.name)?;
                fh.aset(ruby.to_symbol("blob"), path_string(f.blob))?;
                fh.aset(ruby.to_symbol("size"), f.size)?;
                files.push(fh)?;
            }
            r.aset(ruby.to_symbol("files"), files)?;
            revisions.push(r)?;
        }
        h.aset(ruby.to_symbol("revisions"), revisions)?;
        out.push(h)?;
    }
    Ok(out)
}

fn cache_verify(ruby: &Ruby, repo_filter: Option<String>, opts: RHash) -> Result<RArray, Error> {
    let dir = config(opts)?.cache_dir;
    let reports = without_gvl(move |_| hub::verify(&dir, repo_filter.as_deref()))?;
    let out = ruby.ary_new();
    for r in reports {
        let h = ruby.hash_new();
        h.aset(ruby.to_symbol("repo_id"), r.repo_id)?;
        h.aset(ruby.to_symbol("blob"), path_string(r.blob))?;
        h.aset(ruby.to_symbol("size"), r.size)?;
        let status = match r.status {
            hub::BlobStatus::Ok => "ok",
            hub::BlobStatus::Unchecked => "unchecked",
            hub::BlobStatus::Corrupt { expected, actual } => {
                h.aset(ruby.to_symbol("expected"), expected)?;
                h.aset(ruby.to_symbol("actual"), actual)?;
                "corrupt"
            }
        };
        h.aset(ruby.to_symbol("status"), ruby.to_symbol(status))?;
        out.push(h)?;
    }
    Ok(out)
}

fn cache_delete(ruby: &Ruby, repo_id: String, kind: String, revision: Option<String>, opts: RHash) -> Result<RHash, Error> {
    let dir = config(opts)?.cache_dir;
    let repo_type = repo_type(kind)?;
    let report = without_gvl(move |_| hub::delete(&dir, &repo_id, repo_type, revision.as_deref()))?;
    let h = ruby.hash_new();
    h.aset(ruby.to_symbol("removed_snapshots"), report.removed_snapshots)?;
    h.aset(ruby.to_symbol("removed_blobs"), report.removed_blobs)?;
    h.aset(ruby.to_symbol("freed_bytes"), report.freed_bytes)?;
    Ok(h)
}

fn cache_link(repo_id: String, kind: String, revision: String, into: String, opts: RHash) -> Result<String, Error> {
    let dir = config(opts)?.cache_dir;
    let repo_type = repo_type(kind)?;
    without_gvl(move |_| hub::link(&dir, &repo_id, repo_type, &revision, &PathBuf::from(into))).map(path_string)
}

pub fn init(_ruby: &Ruby, native: RModule) -> Result<(), Error> {
    native.define_singleton_method("hub_config", function!(config_hash, 1))?;
    native.define_singleton_method("hub_download", function!(download, 6))?;
    native.define_singleton_method("hub_snapshot", function!(snapshot, -1))?;
    native.define_singleton_method("hub_cached_path", function!(cached_path, 5))?;
    native.define_singleton_method("hub_files", function!(files, 4))?;
    native.define_singleton_method("hub_parse_id", function!(parse_id, 1))?;
    native.define_singleton_method("hub_pick_gguf", function!(pick_gguf, 2))?;
    native.define_singleton_method("hub_default_gguf_preference", function!(default_gguf_preference, 0))?;
    native.define_singleton_method("hub_valid_repo_id", function!(valid_repo_id, 1))?;
    native.define_singleton_method("hub_cache_scan", function!(cache_scan, 1))?;
    native.define_singleton_method("hub_cache_verify", function!(cache_verify, 2))?;
    native.define_singleton_method("hub_cache_delete", function!(cache_delete, 4))?;
    native.define_singleton_method("hub_cache_link", function!(cache_link, 5))?;
    Ok(())
}
