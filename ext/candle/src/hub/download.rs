//! The download policy: warm cache first, offline rules, negative cache,
//! one metadata request, locked body transfer, atomic publish.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hf_hub::RepoType;

use crate::cancel::CancelToken;
use crate::err;
use crate::error::{Error, Result};
use crate::hub::cache::{io_err, is_commit, repo_type_name, RepoCache};
use crate::hub::config::HubConfig;
use crate::hub::id::filter_files;
use crate::hub::progress::{ProgressEvent, ProgressSink};
use crate::hub::repo::ModelRepo;
use crate::hub::transfer::{Client, MetaOutcome, Target};
use crate::hub::validate::{validate_filename, validate_repo_id, validate_revision};

#[derive(Clone, Debug)]
pub struct FileRequest {
    pub repo_id: String,
    pub repo_type: RepoType,
    pub revision: String,
    pub filename: String,
}

impl FileRequest {
    pub fn model(repo_id: &str, filename: &str) -> Self {
        Self { repo_id: repo_id.into(), repo_type: RepoType::Model, revision: "main".into(), filename: filename.into() }
    }
}

fn validate_req(req: &FileRequest) -> Result<()> {
    validate_repo_id(&req.repo_id)?;
    validate_revision(&req.revision)?;
    validate_filename(&req.filename)
}

/// `what` is "FILE from " for one file, "" for a whole revision.
pub(crate) fn offline_error(cfg: &HubConfig, what: &str, repo_id: &str, repo_type: RepoType, revision: &str) -> Error {
    err!(
        Offline,
        "{}{} {} (revision {}) is not in the cache {} and {}, or run `candle download {}` while online",
        what,
        repo_type_name(repo_type),
        repo_id,
        revision,
        cfg.cache_dir.display(),
        cfg.offline_reason(),
        repo_id
    )
}

/// A file that cannot fit (a size no disk has, or just a full disk) fails
/// before a byte is written, rather than after filling the disk.
fn check_free_space(dir: &Path, need: u64, req: &FileRequest) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return Ok(()) };
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
            return Ok(()); // unknown: let the write tell
        }
        let free = (st.f_bavail as u64).saturating_mul(st.f_frsize as u64);
        if need > free {
            return Err(err!(
                Download,
                "{} of {} needs {} bytes but {} has only {} bytes free",
                req.filename,
                req.repo_id,
                need,
                dir.display(),
                free
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, need, req);
    Ok(())
}

fn size_of(p: &Path) -> u64 {
    fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// The cached file, or None. Never touches the network; bad input is an
/// Argument error, as for `download`.
pub fn cached_path(cfg: &HubConfig, req: &FileRequest) -> Result<Option<PathBuf>> {
    validate_req(req)?;
    let rc = RepoCache::new(&cfg.cache_dir, &req.repo_id, req.repo_type);
    Ok(rc.resolve_commit(&req.revision).and_then(|commit| rc.cached_file(&commit, &req.filename)))
}

/// Exclusive advisory lock (`flock`, as Python's filelock takes it) on
/// `.locks/<repo folder>/<etag>.lock`, the file huggingface_hub locks for the
/// same blob, so a Python and a Ruby process never download it at once. The
/// lock file is removed (while still held) on drop. After `flock` succeeds we
/// check that the path still names the locked inode (filelock checks the
/// same), so removal cannot let two holders in.
struct BlobLock {
    path: PathBuf,
    file: Option<fs::File>,
}

impl Drop for BlobLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

fn lock_blob(lock_path: &Path, cancel: &CancelToken) -> Result<BlobLock> {
    loop {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path)
            .map_err(|e| io_err("cannot open lock file", lock_path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            use std::os::unix::io::AsRawFd;
            loop {
                let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if r == 0 {
                    break;
                }
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => {}
                    _ => return Err(io_err("cannot lock", lock_path, e)),
                }
                cancel.check()?;
                std::thread::sleep(Duration::from_millis(50));
            }
            let same = match (f.metadata(), fs::metadata(lock_path)) {
                (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                _ => false,
            };
            if !same {
                continue; // the previous holder removed it: lock the new one
            }
        }
        #[cfg(not(unix))]
        let _ = cancel;
        return Ok(BlobLock { path: lock_path.to_path_buf(), file: Some(f) });
    }
}

/// Returns `snapshots/<commit>/<file>`. Errors say which repo, file and
/// revision they are about.
pub fn download(cfg: &HubConfig, req: &FileRequest, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<PathBuf> {
    download_inner(cfg, req, progress, cancel).map_err(|e| e.about(&req.repo_id, &req.filename, &req.revision))
}

fn download_inner(cfg: &HubConfig, req: &FileRequest, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<PathBuf> {
    validate_req(req)?;
    let rc = RepoCache::new(&cfg.cache_dir, &req.repo_id, req.repo_type);
    let rev_is_commit = is_commit(&req.revision);
    let cached_event = |p: &Path| {
        progress.event(ProgressEvent::Cached { repo: req.repo_id.clone(), file: req.filename.clone(), total: size_of(p) })
    };

    // A cached ref pins the commit: the file is fetched at that commit, never
    // by branch name, so files of one repo cannot come from two commits unless
    // the caller asks to re-resolve (refresh: true).
    let pinned = rc.resolve_commit(&req.revision).filter(|_| rev_is_commit || !cfg.refresh || cfg.offline);
    if let Some(commit) = &pinned {
        if let Some(p) = rc.cached_file(commit, &req.filename) {
            cached_event(&p);
            return Ok(p);
        }
        if rc.is_known_missing(commit, &req.filename) {
            return Err(err!(
                EntryNotFound,
                "{} not found in {} at revision {} (remembered from an earlier request; pass refresh: true to check again)",
                req.filename,
                req.repo_id,
                req.revision
            ));
        }
    }
    if cfg.offline {
        let what = format!("{} from ", req.filename);
        return Err(offline_error(cfg, &what, &req.repo_id, req.repo_type, &req.revision));
    }
    cancel.check()?;

    let ask = pinned.unwrap_or_else(|| req.revision.clone());
    let moves_ref = !is_commit(&ask);
    let client = Client::new(cfg)?;
    let t = Target { repo_id: &req.repo_id, revision: &ask, filename: &req.filename };
    let repo = rc.repo_at(&ask);
    let meta = match client.metadata(&repo, &t, progress, cancel)? {
        MetaOutcome::Found(m) => m,
        MetaOutcome::Missing { commit, error } => {
            if let Some(c) = commit {
                rc.mark_missing(&c, &req.filename)?;
                if moves_ref {
                    rc.write_ref(&req.revision, &c)?;
                }
            }
            return Err(error);
        }
    };

    let blob = rc.blob_path(&meta.etag);
    let blobs_dir = blob.parent().unwrap().to_path_buf();
    if blob.is_file() {
        cached_event(&blob);
    } else {
        fs::create_dir_all(&blobs_dir).map_err(|e| io_err("cannot create", &blobs_dir, e))?;
        let lock_path = rc.lock_path(&meta.etag);
        if let Some(dir) = lock_path.parent() {
            fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
        }
        let _lock = lock_blob(&lock_path, cancel)?;
        if blob.is_file() {
            cached_event(&blob);
        } else {
            let incomplete = blobs_dir.join(format!("{}.incomplete", meta.etag));
            check_free_space(&blobs_dir, meta.size.saturating_sub(size_of(&incomplete)), req)?;
            progress.event(ProgressEvent::Start { repo: req.repo_id.clone(), file: req.filename.clone(), total: meta.size });
            if let Err(e) = client.download_body(&t, &meta, &incomplete, progress, cancel) {
                // Bytes already received are kept for a resume; an empty
                // partial file is only litter.
                if fs::metadata(&incomplete).is_ok_and(|m| m.len() == 0) {
                    let _ = fs::remove_file(&incomplete);
                }
                return Err(e);
            }
            fs::rename(&incomplete, &blob).map_err(|e| io_err("cannot move download into", &blob, e))?;
            progress.event(ProgressEvent::Done {
                repo: req.repo_id.clone(),
                file: req.filename.clone(),
                bytes: meta.size,
                total: meta.size,
            });
        }
    }
    // a progress callback that raised (or an interrupt) stops it before publishing
    cancel.check()?;
    let path = rc.link_snapshot_file(&meta.commit, &req.filename, &meta.etag)?;
    if moves_ref {
        rc.write_ref(&req.revision, &meta.commit)?;
    }
    Ok(path)
}

/// (commit, files) for a revision, through the resolver: a cached ref pins the
/// commit; the listing comes from the API (at that commit) or, offline, from
/// the cached snapshot.
fn list(cfg: &HubConfig, repo_id: &str, repo_type: RepoType, revision: &str, cancel: &CancelToken) -> Result<(String, Vec<String>)> {
    let mut repo = ModelRepo::hub(cfg, repo_id, repo_type, revision, cancel)?;
    let files = repo.full_listing(cancel)?.to_vec();
    let commit = repo.commit().expect("a Hub repo has a commit").to_string();
    Ok((commit, files))
}

/// Files of a repository at a revision.
pub fn files(cfg: &HubConfig, repo_id: &str, repo_type: RepoType, revision: &str, cancel: &CancelToken) -> Result<Vec<String>> {
    Ok(list(cfg, repo_id, repo_type, revision, cancel).map_err(|e| e.about(repo_id, "", revision))?.1)
}

/// Downloads every file (filtered by allow/ignore globs) with up to
/// `max_workers` threads; returns `snapshots/<commit>`.
#[allow(clippy::too_many_arguments)]
pub fn snapshot(
    cfg: &HubConfig,
    repo_id: &str,
    repo_type: RepoType,
    revision: &str,
    allow: &[String],
    ignore: &[String],
    max_workers: usize,
    progress: &dyn ProgressSink,
    cancel: &CancelToken,
) -> Result<PathBuf> {
    let (commit, all) = list(cfg, repo_id, repo_type, revision, cancel).map_err(|e| e.about(repo_id, "", revision))?;
    let wanted = filter_files(&all, allow, ignore)?;
    for f in &wanted {
        validate_filename(f)?;
    }
    let rc = RepoCache::new(&cfg.cache_dir, repo_id, repo_type);
    let workers = max_workers.max(1).min(wanted.len().max(1));
    // Cancelled by the caller, or by the first worker that fails.
    let inner = cancel.child();
    let next = AtomicUsize::new(0);
    let first_err: Mutex<Option<Error>> = Mutex::new(None);
    let record = |e: Error| {
        let mut g = first_err.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(e);
        }
        inner.cancel();
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| loop {
                    if inner.is_cancelled() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(name) = wanted.get(i) else { break };
                    let req = FileRequest {
                        repo_id: repo_id.to_string(),
                        repo_type,
                        revision: commit.clone(),
                        filename: name.clone(),
                    };
                    if let Err(e) = download(cfg, &req, progress, &inner) {
                        record(e);
                        break;
                    }
                })
            })
            .collect();
        for h in handles {
            if h.join().is_err() {
                record(err!(Download, "a download worker thread panicked"));
            }
        }
    });
    if let Some(e) = first_err.into_inner().unwrap_or_else(|p| p.into_inner()) {
        if cancel.is_cancelled() {
            return Err(Error::interrupted());
        }
        return Err(e);
    }
    cancel.check()?;
    let dir = rc.snapshot_dir(&commit);
    fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, e))?;
    Ok(dir)
}
