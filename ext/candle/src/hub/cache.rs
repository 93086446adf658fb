//! Cache layout helpers (on top of hf_hub's `Repo`/`Cache`/`CacheRepo`) and
//! cache management: scan, verify, delete, link.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hf_hub::{Cache, CacheRepo, Repo, RepoType};
use sha2::{Digest, Sha256};

use crate::err;
use crate::error::{Error, Result};

pub fn repo_type_name(t: RepoType) -> &'static str {
    match t {
        RepoType::Model => "model",
        RepoType::Dataset => "dataset",
        RepoType::Space => "space",
    }
}

/// Accepts "model(s)", "dataset(s)", "space(s)".
pub fn parse_repo_type(s: &str) -> Result<RepoType> {
    match s.to_ascii_lowercase().as_str() {
        "model" | "models" => Ok(RepoType::Model),
        "dataset" | "datasets" => Ok(RepoType::Dataset),
        "space" | "spaces" => Ok(RepoType::Space),
        _ => Err(err!(Argument, "invalid repo type {:?}: expected model, dataset or space", s)),
    }
}

pub fn same_repo_type(a: RepoType, b: RepoType) -> bool {
    repo_type_name(a) == repo_type_name(b)
}

/// A full 40-hex commit sha.
pub fn is_commit(rev: &str) -> bool {
    rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    err!(Hub, "{} {}: {}", what, path.display(), e)
}

pub(crate) fn tmp_suffix() -> String {
    format!(".tmp-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// Writes `contents` to `path` via a temp file + rename.
pub(crate) fn atomic_write(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}{}", tmp_suffix()));
    let r = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = r {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("cannot write", path, e));
    }
    Ok(())
}

/// One repository's folder in the cache.
#[derive(Debug)]
pub struct RepoCache {
    pub repo_id: String,
    pub repo_type: RepoType,
    repo: Repo,
    cache: CacheRepo,
    dir: PathBuf,
}

impl RepoCache {
    pub fn new(cache_dir: &Path, repo_id: &str, repo_type: RepoType) -> Self {
        let repo = Repo::new(repo_id.to_string(), repo_type);
        let dir = cache_dir.join(repo.folder_name());
        let cache = Cache::new(cache_dir.to_path_buf()).repo(repo.clone());
        Self { repo_id: repo_id.to_string(), repo_type, repo, cache, dir }
    }

    /// hf_hub `Repo` at a given revision (for URLs).
    pub fn repo_at(&self, revision: &str) -> Repo {
        Repo::with_revision(self.repo_id.clone(), self.repo_type, revision.to_string())
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn blob_path(&self, etag: &str) -> PathBuf {
        self.cache.blob_path(etag)
    }

    /// `<cache>/.locks/<repo folder>/<etag>.lock`, the file Python's
    /// huggingface_hub locks (flock) around the same blob's download.
    pub fn lock_path(&self, etag: &str) -> PathBuf {
        let cache_dir = self.dir.parent().unwrap_or(Path::new("."));
        cache_dir.join(".locks").join(self.repo.folder_name()).join(format!("{etag}.lock"))
    }

    pub fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.cache.pointer_path(commit)
    }

    pub fn ref_path(&self, revision: &str) -> PathBuf {
        self.dir.join("refs").join(revision)
    }

    pub fn read_ref(&self, revision: &str) -> Option<String> {
        let s = fs::read_to_string(self.ref_path(revision)).ok()?;
        let s = s.trim();
        if s.is_empty() {
            None
        } else {
            Some(s.to_string())
        }
    }

    /// A 40-hex revision is its own commit; otherwise `refs/<rev>`.
    pub fn resolve_commit(&self, revision: &str) -> Option<String> {
        if is_commit(revision) {
            Some(revision.to_ascii_lowercase())
        } else {
            self.read_ref(revision)
        }
    }

    /// `refs/<revision>` := commit (atomic); no-op when revision is the commit.
    pub fn write_ref(&self, revision: &str, commit: &str) -> Result<()> {
        if revision == commit {
            return Ok(());
        }
        if self.read_ref(revision).as_deref() == Some(commit) {
            return Ok(());
        }
        atomic_write(&self.ref_path(revision), commit.as_bytes())
    }

    /// `snapshots/<commit>/<file>` when it exists (and its target too).
    pub fn cached_file(&self, commit: &str, filename: &str) -> Option<PathBuf> {
        let p = self.snapshot_dir(commit).join(filename);
        if p.is_file() {
            Some(p)
        } else {
            None
        }
    }

    pub fn no_exist_path(&self, commit: &str, filename: &str) -> PathBuf {
        self.dir.join(".no_exist").join(commit).join(filename)
    }

    pub fn is_known_missing(&self, commit: &str, filename: &str) -> bool {
        self.no_exist_path(commit, filename).is_file()
    }

    pub fn mark_missing(&self, commit: &str, filename: &str) -> Result<()> {
        let p = self.no_exist_path(commit, filename);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).map_err(|e| io_err("cannot create", d, e))?;
        }
        fs::File::create(&p).map_err(|e| io_err("cannot write", &p, e))?;
        Ok(())
    }

    /// Points `snapshots/<commit>/<file>` at `blobs/<etag>` with a relative
    /// symlink, atomically (temp link + rename).
    pub fn link_snapshot_file(&self, commit: &str, filename: &str, etag: &str) -> Result<PathBuf> {
        let dst = self.snapshot_dir(commit).join(filename);
        let parent = dst.parent().unwrap().to_path_buf();
        fs::create_dir_all(&parent).map_err(|e| io_err("cannot create", &parent, e))?;
        let depth = filename.split('/').count() - 1;
        let mut target = String::from("../../");
        for _ in 0..depth {
            target.push_str("../");
        }
        target.push_str("blobs/");
        target.push_str(etag);
        let base = dst.file_name().and_then(|n| n.to_str()).unwrap_or("f").to_string();
        let tmp = parent.join(format!(".{base}{}", tmp_suffix()));
        let r = (|| {
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &tmp)?;
            #[cfg(not(unix))]
            fs::copy(self.blob_path(etag), &tmp).map(|_| ())?;
            fs::rename(&tmp, &dst)
        })();
        if let Err(e) = r {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("cannot link", &dst, e));
        }
        Ok(dst)
    }

    /// Files (relative paths, `/`-separated, sorted) in a snapshot.
    pub fn snapshot_files(&self, commit: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk_files(&self.snapshot_dir(commit), "", &mut out);
        out.sort();
        out
    }
}

/// Recursively lists non-directory entries (symlinks included), skipping temp files.
fn walk_files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.contains(".tmp-") {
            continue;
        }
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let p = e.path();
        // a symlink to a file counts as a file; real directories are walked
        let is_dir = fs::symlink_metadata(&p).map(|m| m.is_dir()).unwrap_or(false);
        if is_dir {
            walk_files(&p, &rel, out);
        } else {
            out.push(rel);
        }
    }
}

// ---------------------------------------------------------------- management

#[derive(Clone, Debug)]
pub struct CachedFile {
    pub name: String,
    pub blob: PathBuf,
    pub size: u64,
}

#[derive(Clone, Debug)]
pub struct CachedRevision {
    pub commit: String,
    /// Branch/tag names pointing at this commit.
    pub refs: Vec<String>,
    pub files: Vec<CachedFile>,
    pub size: u64,
}

#[derive(Clone, Debug)]
pub struct CachedRepo {
    pub repo_id: String,
    pub repo_type: RepoType,
    pub path: PathBuf,
    pub refs: BTreeMap<String, String>,
    pub revisions: Vec<CachedRevision>,
    /// Bytes on disk, each blob counted once.
    pub size_on_disk: u64,
    pub nb_files: usize,
    pub last_modified: Option<SystemTime>,
}

fn parse_folder_name(name: &str) -> Option<(String, RepoType)> {
    let (t, rest) = name.split_once("--")?;
    let rt = match t {
        "models" => RepoType::Model,
        "datasets" => RepoType::Dataset,
        "spaces" => RepoType::Space,
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
    Some((rest.split("--").collect::<Vec<_>>().join("/"), rt))
}

fn read_refs(repo_dir: &Path) -> BTreeMap<String, String> {
    let mut names = Vec::new();
    walk_files(&repo_dir.join("refs"), "", &mut names);
    let mut m = BTreeMap::new();
    for n in names {
        if let Ok(s) = fs::read_to_string(repo_dir.join("refs").join(&n)) {
            let s = s.trim().to_string();
            if !s.is_empty() {
                m.insert(n, s);
            }
        }
    }
    m
}

fn is_blob_name(name: &str) -> bool {
    !(name.ends_with(".incomplete") || name.ends_with(".lock") || name.contains(".tmp-") || name.starts_with('.'))
}

/// Lists every repository in the cache.
pub fn scan(cache_dir: &Path) -> Result<Vec<CachedRepo>> {
    let rd = match fs::read_dir(cache_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("cannot read cache directory", cache_dir, e)),
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some((repo_id, repo_type)) = parse_folder_name(&name) else { continue };
        if !e.path().is_dir() {
            continue;
        }
        out.push(scan_repo(&e.path(), repo_id, repo_type));
    }
    out.sort_by(|a, b| (repo_type_name(a.repo_type), &a.repo_id).cmp(&(repo_type_name(b.repo_type), &b.repo_id)));
    Ok(out)
}

fn scan_repo(dir: &Path, repo_id: String, repo_type: RepoType) -> CachedRepo {
    let refs = read_refs(dir);
    let mut size_on_disk = 0;
    let mut last_modified: Option<SystemTime> = None;
    if let Ok(rd) = fs::read_dir(dir.join("blobs")) {
        for b in rd.flatten() {
            if !is_blob_name(&b.file_name().to_string_lossy()) {
                continue;
            }
            if let Ok(m) = b.metadata() {
                size_on_disk += m.len();
                if let Ok(t) = m.modified() {
                    last_modified = Some(last_modified.map_or(t, |l| l.max(t)));
                }
            }
        }
    }
    let mut revisions = Vec::new();
    let mut nb_files = 0;
    if let Ok(rd) = fs::read_dir(dir.join("snapshots")) {
        for s in rd.flatten() {
            let commit = s.file_name().to_string_lossy().to_string();
            let sdir = s.path();
            let mut names = Vec::new();
            walk_files(&sdir, "", &mut names);
            names.sort();
            let mut files = Vec::new();
            let mut size = 0;
            for n in names {
                let p = sdir.join(&n);
                let blob = fs::canonicalize(&p).unwrap_or(p.clone());
                let sz = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                size += sz;
                files.push(CachedFile { name: n, blob, size: sz });
            }
            nb_files += files.len();
            let rrefs = refs.iter().filter(|(_, c)| **c == commit).map(|(r, _)| r.clone()).collect();
            revisions.push(CachedRevision { commit, refs: rrefs, files, size });
        }
    }
    revisions.sort_by(|a, b| a.commit.cmp(&b.commit));
    CachedRepo { repo_id, repo_type, path: dir.to_path_buf(), refs, revisions, size_on_disk, nb_files, last_modified }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobStatus {
    Ok,
    Corrupt { expected: String, actual: String },
    /// Name is neither a sha256 nor a git sha1; nothing to compare with.
    Unchecked,
}

#[derive(Clone, Debug)]
pub struct BlobReport {
    pub repo_id: String,
    pub repo_type: RepoType,
    pub blob: PathBuf,
    pub size: u64,
    pub status: BlobStatus,
}

fn hash_file(path: &Path, git_sha1: bool) -> std::io::Result<String> {
    let mut f = fs::File::open(path)?;
    if git_sha1 {
        let len = f.metadata()?.len();
        digest_reader(sha1::Sha1::new(), format!("blob {len}\0").as_bytes(), &mut f)
    } else {
        digest_reader(Sha256::new(), &[], &mut f)
    }
}

fn digest_reader<D: sha2::Digest>(mut hasher: D, prefix: &[u8], r: &mut impl Read) -> std::io::Result<String> {
    hasher.update(prefix);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Re-hashes every blob (optionally of one repo id): sha256-named blobs by
/// sha256, 40-hex names as git blob sha1; everything else is `Unchecked`.
pub fn verify(cache_dir: &Path, repo_filter: Option<&str>) -> Result<Vec<BlobReport>> {
    let mut out = Vec::new();
    for repo in scan(cache_dir)? {
        if let Some(f) = repo_filter {
            if repo.repo_id != f {
                continue;
            }
        }
        let Ok(rd) = fs::read_dir(repo.path.join("blobs")) else { continue };
        let mut blobs: Vec<_> = rd.flatten().collect();
        blobs.sort_by_key(|b| b.file_name());
        for b in blobs {
            let name = b.file_name().to_string_lossy().to_string();
            if !is_blob_name(&name) {
                continue;
            }
            let path = b.path();
            let size = b.metadata().map(|m| m.len()).unwrap_or(0);
            let lname = name.to_ascii_lowercase();
            let status = if is_sha256(&lname) || is_commit(&lname) {
                let actual = hash_file(&path, is_commit(&lname)).map_err(|e| io_err("cannot read", &path, e))?;
                if actual == lname {
                    BlobStatus::Ok
                } else {
                    BlobStatus::Corrupt { expected: lname, actual }
                }
            } else {
                BlobStatus::Unchecked
            };
            out.push(BlobReport { repo_id: repo.repo_id.clone(), repo_type: repo.repo_type, blob: path, size, status });
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteReport {
    pub removed_snapshots: Vec<String>,
    pub removed_blobs: usize,
    pub freed_bytes: u64,
}

fn dir_size(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = fs::read_dir(p) {
        for e in rd.flatten() {
            if let Ok(m) = fs::symlink_metadata(e.path()) {
                if m.is_dir() {
                    n += dir_size(&e.path());
                } else {
                    n += m.len();
                }
            }
        }
    }
    n
}

/// Removes one revision (snapshot + refs pointing at it + blobs no longer
/// referenced), or the whole repository when `revision` is `None`.
pub fn delete(cache_dir: &Path, repo_id: &str, repo_type: RepoType, revision: Option<&str>) -> Result<DeleteReport> {
    crate::hub::validate::validate_repo_id(repo_id)?;
    let rc = RepoCache::new(cache_dir, repo_id, repo_type);
    if !rc.dir().is_dir() {
        return Err(err!(
            RepositoryNotFound,
            "{} {} is not in the cache {}",
            repo_type_name(repo_type),
            repo_id,
            cache_dir.display()
        ));
    }
    let Some(rev) = revision else {
        let freed = dir_size(rc.dir());
        let removed: Vec<String> = fs::read_dir(rc.dir().join("snapshots"))
            .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect())
            .unwrap_or_default();
        let blobs = referenced_blobs(rc.dir()).len();
        fs::remove_dir_all(rc.dir()).map_err(|e| io_err("cannot remove", rc.dir(), e))?;
        return Ok(DeleteReport { removed_snapshots: removed, removed_blobs: blobs, freed_bytes: freed });
    };
    crate::hub::validate::validate_revision(rev)?;
    let commit = match rc.resolve_commit(rev) {
        Some(c) if rc.snapshot_dir(&c).is_dir() => c,
        _ => {
            return Err(err!(
                RevisionNotFound,
                "revision {} of {} is not in the cache {}",
                rev,
                repo_id,
                cache_dir.display()
            ))
        }
    };
    let sdir = rc.snapshot_dir(&commit);
    fs::remove_dir_all(&sdir).map_err(|e| io_err("cannot remove", &sdir, e))?;
    let _ = fs::remove_dir_all(rc.dir().join(".no_exist").join(&commit));
    for (name, c) in read_refs(rc.dir()) {
        if c == commit {
            let p = rc.ref_path(&name);
            fs::remove_file(&p).map_err(|e| io_err("cannot remove", &p, e))?;
        }
    }
    // blobs still referenced by any remaining snapshot
    let mut keep: HashSet<String> = HashSet::new();
    if let Ok(rd) = fs::read_dir(rc.dir().join("snapshots")) {
        for s in rd.flatten() {
            let mut names = Vec::new();
            walk_files(&s.path(), "", &mut names);
            for n in names {
                let p = s.path().join(&n);
                let target = fs::read_link(&p).ok().map(|t| p.parent().unwrap().join(t)).unwrap_or(p);
                if let Some(f) = target.file_name() {
                    keep.insert(f.to_string_lossy().to_string());
                }
            }
        }
    }
    let mut report = DeleteReport { removed_snapshots: vec![commit], ..Default::default() };
    if let Ok(rd) = fs::read_dir(rc.dir().join("blobs")) {
        for b in rd.flatten() {
            let name = b.file_name().to_string_lossy().to_string();
            if !is_blob_name(&name) || keep.contains(&name) {
                continue;
            }
            let len = b.metadata().map(|m| m.len()).unwrap_or(0);
            fs::remove_file(b.path()).map_err(|e| io_err("cannot remove", &b.path(), e))?;
            report.removed_blobs += 1;
            report.freed_bytes += len;
        }
    }
    Ok(report)
}

/// Creates `into/` holding symlinks to the cached snapshot's files (absolute
/// targets into blobs/, no copy). The snapshot must be in the cache.
pub fn link(cache_dir: &Path, repo_id: &str, repo_type: RepoType, revision: &str, into: &Path) -> Result<PathBuf> {
    crate::hub::validate::validate_repo_id(repo_id)?;
    crate::hub::validate::validate_revision(revision)?;
    let rc = RepoCache::new(cache_dir, repo_id, repo_type);
    let commit = rc.resolve_commit(revision).filter(|c| rc.snapshot_dir(c).is_dir()).ok_or_else(|| {
        err!(
            Offline,
            "{} {} at revision {} is not in the cache {}; run `candle download {}` first",
            repo_type_name(repo_type),
            repo_id,
            revision,
            cache_dir.display(),
            repo_id
        )
    })?;
    let sdir = rc.snapshot_dir(&commit);
    fs::create_dir_all(into).map_err(|e| io_err("cannot create", into, e))?;
    for name in rc.snapshot_files(&commit) {
        let src = sdir.join(&name);
        let target = fs::canonicalize(&src).map_err(|e| io_err("broken cache entry", &src, e))?;
        let dst = into.join(&name);
        if let Some(p) = dst.parent() {
            fs::create_dir_all(p).map_err(|e| io_err("cannot create", p, e))?;
        }
        match fs::symlink_metadata(&dst) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::remove_file(&dst).map_err(|e| io_err("cannot replace", &dst, e))?;
            }
            Ok(_) => {
                return Err(err!(Argument, "{} already exists and is not a symlink; not overwriting", dst.display()));
            }
            Err(_) => {}
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &dst).map_err(|e| io_err("cannot link", &dst, e))?;
        #[cfg(not(unix))]
        fs::copy(&target, &dst).map(|_| ()).map_err(|e| io_err("cannot copy", &dst, e))?;
    }
    Ok(into.to_path_buf())
}

/// Names of blobs referenced by every snapshot (used by tests / tools).
pub fn referenced_blobs(repo_dir: &Path) -> BTreeSet<String> {
    let mut keep = BTreeSet::new();
    if let Ok(rd) = fs::read_dir(repo_dir.join("snapshots")) {
        for s in rd.flatten() {
            let mut names = Vec::new();
            walk_files(&s.path(), "", &mut names);
            for n in names {
                if let Ok(t) = fs::canonicalize(s.path().join(&n)) {
                    if let Some(f) = t.file_name() {
                        keep.insert(f.to_string_lossy().to_string());
                    }
                }
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_hex(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    /// Builds a fake cached file by hand.
    fn put(rc: &RepoCache, commit: &str, name: &str, data: &[u8]) -> String {
        let etag = sha256_hex(data);
        let b = rc.blob_path(&etag);
        fs::create_dir_all(b.parent().unwrap()).unwrap();
        fs::write(&b, data).unwrap();
        rc.link_snapshot_file(commit, name, &etag).unwrap();
        etag
    }

    const C1: &str = "1111111111111111111111111111111111111111";
    const C2: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn hub_cache_refs_no_exist_and_links() {
        let d = tempfile::tempdir().unwrap();
        let rc = RepoCache::new(d.path(), "org/m", RepoType::Model);
        assert_eq!(rc.dir(), d.path().join("models--org--m"));
        assert_eq!(rc.resolve_commit(C1).as_deref(), Some(C1));
        assert_eq!(rc.resolve_commit("main"), None);
        rc.write_ref("refs/pr/1", C1).unwrap();
        assert_eq!(rc.resolve_commit("refs/pr/1").as_deref(), Some(C1));
        assert!(!rc.is_known_missing(C1, "sub/x.bin"));
        rc.mark_missing(C1, "sub/x.bin").unwrap();
        assert!(rc.is_known_missing(C1, "sub/x.bin"));
        assert!(d.path().join("models--org--m/.no_exist").join(C1).join("sub/x.bin").is_file());
        put(&rc, C1, "a/b/c.txt", b"hello");
        let p = rc.cached_file(C1, "a/b/c.txt").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        let t = fs::read_link(&p).unwrap();
        assert!(t.to_str().unwrap().starts_with("../../../../blobs/"), "{t:?}");
        assert_eq!(rc.snapshot_files(C1), vec!["a/b/c.txt".to_string()]);
    }

    #[test]
    fn hub_cache_scan_verify_delete_link() {
        let d = tempfile::tempdir().unwrap();
        let rc = RepoCache::new(d.path(), "org/m", RepoType::Model);
        let shared = put(&rc, C1, "config.json", b"{}");
        put(&rc, C2, "config.json", b"{}");
        let only1 = put(&rc, C1, "w.bin", b"weights-1");
        let only2 = put(&rc, C2, "w.bin", b"weights-2");
        rc.write_ref("main", C2).unwrap();
        rc.write_ref("v1", C1).unwrap();
        // git sha1 blob for "hello\n" is ce0136250...
        let gb = rc.blob_path("ce013625030ba8dba906f756967f9e9ca394464a");
        fs::write(&gb, b"hello\n").unwrap();
        rc.link_snapshot_file(C2, "README.md", "ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        let ds = RepoCache::new(d.path(), "ds", RepoType::Dataset);
        put(&ds, C1, "data.csv", b"a,b");

        let repos = scan(d.path()).unwrap();
        assert_eq!(repos.len(), 2);
        let m = repos.iter().find(|r| r.repo_id == "org/m").unwrap();
        assert_eq!(m.refs.get("main").map(String::as_str), Some(C2));
        assert_eq!(m.revisions.len(), 2);
        assert_eq!(m.size_on_disk, 2 + 9 + 9 + 6); // shared blob once
        assert_eq!(m.nb_files, 5);
        assert!(m.last_modified.is_some());
        let r2 = m.revisions.iter().find(|r| r.commit == C2).unwrap();
        assert_eq!(r2.refs, vec!["main".to_string()]);

        let rep = verify(d.path(), Some("org/m")).unwrap();
        assert_eq!(rep.len(), 4);
        assert!(rep.iter().all(|r| r.status == BlobStatus::Ok), "{rep:?}");
        fs::write(rc.blob_path(&only1), b"weights-X").unwrap();
        let rep = verify(d.path(), None).unwrap();
        assert_eq!(rep.len(), 5);
        let bad: Vec<_> = rep.iter().filter(|r| matches!(r.status, BlobStatus::Corrupt { .. })).collect();
        assert_eq!(bad.len(), 1);
        assert!(bad[0].blob.ends_with(&only1));

        // link
        let into = d.path().join("proj/model");
        link(d.path(), "org/m", RepoType::Model, "main", &into).unwrap();
        assert_eq!(fs::read(into.join("w.bin")).unwrap(), b"weights-2");
        assert!(fs::symlink_metadata(into.join("w.bin")).unwrap().file_type().is_symlink());
        let e = link(d.path(), "org/m", RepoType::Model, "nope", &into).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Offline);

        // delete v1 -> C1 snapshot, ref v1, blob only1 gone; shared kept
        let r = delete(d.path(), "org/m", RepoType::Model, Some("v1")).unwrap();
        assert_eq!(r.removed_snapshots, vec![C1.to_string()]);
        assert_eq!(r.removed_blobs, 1);
        assert!(!rc.blob_path(&only1).exists());
        assert!(rc.blob_path(&shared).exists());
        assert!(rc.blob_path(&only2).exists());
        assert!(rc.read_ref("v1").is_none());
        assert_eq!(rc.read_ref("main").as_deref(), Some(C2));
        assert!(delete(d.path(), "org/m", RepoType::Model, Some("v1")).is_err());
        delete(d.path(), "org/m", RepoType::Model, None).unwrap();
        assert!(!rc.dir().exists());
        assert_eq!(scan(d.path()).unwrap().len(), 1);
    }
}
