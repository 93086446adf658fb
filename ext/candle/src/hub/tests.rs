//! Transfer/policy tests against a tiny local HTTP/1.1 server.

use super::*;
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const COMMIT: &str = "abcdef0123456789abcdef0123456789abcdef01";
const SECRET: &str = "hf_SECRETSECRET";

#[derive(Clone, Debug)]
struct Req {
    path: String,
    headers: HashMap<String, String>,
    base: String,
}

#[derive(Default)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    drop_after: Option<usize>,
}

impl Resp {
    fn new(status: u16) -> Self {
        Resp { status, ..Default::default() }
    }
    fn h(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

type Handler = dyn Fn(&Req) -> Resp + Send + Sync;

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    fn start(handler: Arc<Handler>) -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
        let log: Arc<Mutex<Vec<Req>>> = Arc::default();
        let (b, lg) = (base.clone(), log.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let (h, b, lg) = (handler.clone(), b.clone(), lg.clone());
                std::thread::spawn(move || {
                    let mut r = BufReader::new(s.try_clone().unwrap());
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let mut headers = HashMap::new();
                    loop {
                        let mut l = String::new();
                        if r.read_line(&mut l).unwrap_or(0) == 0 || l.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':') {
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                        }
                    }
                    let req = Req { path, headers, base: b };
                    lg.lock().unwrap().push(req.clone());
                    let resp = h(&req);
                    let mut head = format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n", resp.status, resp.body.len());
                    for (k, v) in &resp.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let body = match resp.drop_after {
                        Some(n) => &resp.body[..n.min(resp.body.len())],
                        None => &resp.body[..],
                    };
                    let _ = s.write_all(head.as_bytes());
                    let _ = s.write_all(body);
                    let _ = s.flush();
                    let _ = s.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Server { base, log }
    }
    fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
    fn reqs(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
}

/// A fake repo `org/m` at COMMIT: small files served directly (git-style
/// etag), `lfs` files through a 302 to `{cdn}/cdn/<sha256>`.
#[derive(Clone)]
struct Fake {
    files: Vec<(String, Vec<u8>, bool)>,
    cdn: Arc<Mutex<Option<String>>>,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn git_etag(b: &[u8]) -> String {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", b.len()).as_bytes());
    h.update(b);
    hex::encode(h.finalize())
}

fn ranged(req: &Req, data: &[u8]) -> Resp {
    match req.headers.get("range").and_then(|r| r.strip_prefix("bytes=")) {
        Some(r) => {
            let (a, b) = r.split_once('-').unwrap();
            let a: usize = a.parse().unwrap();
            let b: usize = if b.is_empty() { data.len().saturating_sub(1) } else { b.parse::<usize>().unwrap().min(data.len() - 1) };
            if a >= data.len() {
                return Resp::new(416).h("Content-Range", format!("bytes */{}", data.len()));
            }
            let mut r = Resp::new(206).h("Content-Range", format!("bytes {a}-{b}/{}", data.len()));
            r.body = data[a..=b].to_vec();
            r
        }
        None => Resp { status: 200, body: data.to_vec(), ..Default::default() },
    }
}

impl Fake {
    fn new() -> Fake {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        Fake {
            files: vec![
                ("config.json".into(), b"{\"a\":1}".to_vec(), false),
                ("model.bin".into(), big, true),
                ("1_Pooling/config.json".into(), b"{\"pool\":true}".to_vec(), false),
                ("model.Q4_K_M.gguf".into(), b"GGUF-q4".to_vec(), true),
            ],
            cdn: Arc::default(),
        }
    }

    fn handle(&self, req: &Req) -> Resp {
        let p = req.path.as_str();
        if p.starts_with("/api/models/org/m/revision/") {
            let sib: Vec<_> = self.files.iter().map(|f| serde_json::json!({"rfilename": f.0})).collect();
            let mut r = Resp::new(200);
            r.body = serde_json::json!({"sha": COMMIT, "siblings": sib}).to_string().into_bytes();
            return r;
        }
        if let Some(sha) = p.strip_prefix("/cdn/") {
            let f = self.files.iter().find(|f| sha256_hex(&f.1) == sha).unwrap();
            return ranged(req, &f.1);
        }
        if let Some(rest) = p.strip_prefix("/org/m/resolve/") {
            let (_rev, file) = rest.split_once('/').unwrap();
            let Some(f) = self.files.iter().find(|f| f.0 == file) else {
                return Resp::new(404).h("x-error-code", "EntryNotFound").h("x-repo-commit", COMMIT);
            };
            if f.2 {
                let sha = sha256_hex(&f.1);
                let cdn = self.cdn.lock().unwrap().clone().unwrap_or(req.base.clone());
                return Resp::new(302)
                    .h("Location", format!("{cdn}/cdn/{sha}"))
                    .h("X-Linked-Etag", format!("\"{sha}\""))
                    .h("X-Repo-Commit", COMMIT)
                    .h("X-Linked-Size", f.1.len().to_string());
            }
            return ranged(req, &f.1).h("ETag", format!("\"{}\"", git_etag(&f.1))).h("X-Repo-Commit", COMMIT);
        }
        if p.starts_with("/api/") {
            return Resp::new(404).h("x-error-code", "RepositoryNotFound");
        }
        Resp::new(404).h("x-error-code", "RepositoryNotFound")
    }
}

fn serve_fake() -> (Server, Fake) {
    let f = Fake::new();
    let f2 = f.clone();
    (Server::start(Arc::new(move |r: &Req| f2.handle(r))), f)
}

fn cfg_for(base: &str, cache: &Path, o: Overrides) -> HubConfig {
    let o = Overrides {
        cache_dir: Some(cache.to_path_buf()),
        endpoint: Some(base.to_string()),
        retry_base_delay: Some(o.retry_base_delay.unwrap_or(Duration::from_millis(1))),
        ..o
    };
    HubConfig::resolve_with(&|_| None, None, &o).unwrap()
}

fn req(file: &str, rev: &str) -> FileRequest {
    FileRequest { repo_id: "org/m".into(), repo_type: RepoType::Model, revision: rev.into(), filename: file.into() }
}

#[derive(Default)]
struct Events(Mutex<Vec<ProgressEvent>>);
impl ProgressSink for Events {
    fn event(&self, e: ProgressEvent) {
        self.0.lock().unwrap().push(e);
    }
}
impl Events {
    fn all(&self) -> Vec<ProgressEvent> {
        self.0.lock().unwrap().clone()
    }
}

fn repo_dir(cache: &Path) -> PathBuf {
    cache.join("models--org--m")
}

fn ls(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect()).unwrap_or_default()
}

#[test]
fn hub_download_then_warm_cache_zero_requests() {
    let (srv, fake) = serve_fake();
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let ev = Events::default();
    let c = CancelToken::new();
    let p = download(&cfg, &req("config.json", "main"), &ev, &c).unwrap();
    assert_eq!(p, repo_dir(d.path()).join("snapshots").join(COMMIT).join("config.json"));
    assert_eq!(std::fs::read(&p).unwrap(), fake.files[0].1);
    assert_eq!(std::fs::read_link(&p).unwrap(), PathBuf::from(format!("../../blobs/{}", git_etag(&fake.files[0].1))));
    assert_eq!(std::fs::read_to_string(repo_dir(d.path()).join("refs/main")).unwrap(), COMMIT);
    let n = srv.count();
    assert_eq!(n, 2, "metadata + body");
    // LFS through an absolute redirect
    let p = download(&cfg, &req("model.bin", "main"), &ev, &c).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), fake.files[1].1);
    assert!(repo_dir(d.path()).join("blobs").join(sha256_hex(&fake.files[1].1)).is_file());
    assert!(srv.reqs().iter().any(|r| r.path.starts_with("/cdn/")));
    let evs = ev.all();
    assert!(matches!(evs.first(), Some(ProgressEvent::Start { total: 7, .. })));
    assert!(evs.iter().any(|e| matches!(e, ProgressEvent::Done { total: 300_000, .. })));
    // nested path
    download(&cfg, &req("1_Pooling/config.json", "main"), &ev, &c).unwrap();
    let n = srv.count();
    // warm: zero requests, by branch and by commit; Cached event
    for r in [req("config.json", "main"), req("model.bin", "main"), req("1_Pooling/config.json", COMMIT)] {
        let p = download(&cfg, &r, &ev, &c).unwrap();
        assert!(p.is_file());
        assert_eq!(cached_path(&cfg, &r).unwrap(), Some(p));
    }
    assert_eq!(srv.count(), n);
    assert!(matches!(ev.all().last(), Some(ProgressEvent::Cached { .. })));
    // refresh: exactly one metadata request, no body
    let cfg_r = cfg_for(&srv.base, d.path(), Overrides { refresh: true, ..Default::default() });
    download(&cfg_r, &req("model.bin", "main"), &ev, &c).unwrap();
    assert_eq!(srv.count(), n + 1);
    // no leftovers in blobs/
    assert!(ls(&repo_dir(d.path()).join("blobs")).iter().all(|n| !n.contains('.')), "{:?}", ls(&repo_dir(d.path()).join("blobs")));
}

#[test]
fn hub_commit_revision_cold_then_warm() {
    let (srv, fake) = serve_fake();
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let p = download(&cfg, &req("config.json", COMMIT), &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), fake.files[0].1);
    assert!(!repo_dir(d.path()).join("refs").exists(), "a commit revision writes no ref");
    assert!(srv.reqs()[0].path.contains(&format!("/resolve/{COMMIT}/")));
    let n = srv.count();
    download(&cfg, &req("config.json", COMMIT), &NoProgress, &CancelToken::new()).unwrap();
    // even offline
    let off = cfg_for(&srv.base, d.path(), Overrides { local_files_only: Some(true), ..Default::default() });
    download(&off, &req("config.json", COMMIT), &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(srv.count(), n);
}

#[test]
fn hub_offline_cold_is_offline_error_without_requests() {
    let (srv, _) = serve_fake();
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides { local_files_only: Some(true), ..Default::default() });
    let e = download(&cfg, &req("config.json", "main"), &NoProgress, &CancelToken::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Offline);
    for s in ["org/m", "config.json", "main", &d.path().display().to_string(), "HF_HUB_OFFLINE", "candle download"] {
        assert!(e.message.contains(s), "{s} missing in {}", e.message);
    }
    let e = files(&cfg, "org/m", RepoType::Model, "main", &CancelToken::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Offline);
    assert_eq!(srv.count(), 0);
}

#[test]
fn hub_entry_not_found_is_remembered() {
    let (srv, _) = serve_fake();
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let c = CancelToken::new();
    let e = download(&cfg, &req("tokenizer.json", "main"), &NoProgress, &c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::EntryNotFound);
    assert!(e.message.contains("tokenizer.json") && e.message.contains("org/m"));
    assert!(repo_dir(d.path()).join(".no_exist").join(COMMIT).join("tokenizer.json").is_file());
    assert_eq!(std::fs::read_to_string(repo_dir(d.path()).join("refs/main")).unwrap(), COMMIT);
    assert_eq!(srv.count(), 1);
    let e = download(&cfg, &req("tokenizer.json", "main"), &NoProgress, &c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::EntryNotFound);
    let e = download(&cfg, &req("tokenizer.json", COMMIT), &NoProgress, &c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::EntryNotFound);
    assert_eq!(srv.count(), 1, "negative cache: no request");
    let cfg_r = cfg_for(&srv.base, d.path(), Overrides { refresh: true, ..Default::default() });
    assert_eq!(download(&cfg_r, &req("tokenizer.json", "main"), &NoProgress, &c).unwrap_err().kind, ErrorKind::EntryNotFound);
    assert_eq!(srv.count(), 2);
}

/// Wraps the fake with a fault injector: `f(nth request, req) -> Some(resp)` overrides.
fn serve_faulty(fault: impl Fn(usize, &Req) -> Option<Resp> + Send + Sync + 'static) -> (Server, Fake) {
    let f = Fake::new();
    let f2 = f.clone();
    let n = AtomicUsize::new(0);
    let h = move |r: &Req| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        fault(i, r).unwrap_or_else(|| f2.handle(r))
    };
    (Server::start(Arc::new(h)), f)
}

#[test]
fn hub_retries_429_with_retry_after_then_succeeds() {
    let (srv, fake) = serve_faulty(|i, _| match i {
        0 => Some(Resp::new(429).h("Retry-After", "1")),
        1 | 2 => Some(Resp::new(429).h("Retry-After", "0")),
        _ => None,
    });
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let ev = Events::default();
    let t0 = std::time::Instant::now();
    let p = download(&cfg, &req("config.json", "main"), &ev, &CancelToken::new()).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(950));
    assert_eq!(std::fs::read(p).unwrap(), fake.files[0].1);
    let retries: Vec<_> = ev.all().into_iter().filter_map(|e| match e {
        ProgressEvent::Retry { attempt, wait_ms, .. } => Some((attempt, wait_ms)),
        _ => None,
    }).collect();
    assert_eq!(retries, vec![(1, 1000), (2, 0), (3, 0)]);
    assert_eq!(srv.count(), 5);
}

/// IMF-fixdate of a time (what a server sends in Retry-After).
fn http_date(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil_from_days (proleptic Gregorian)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(m - 1) as usize];
    format!("{wd}, {d:02} {mon} {y} {:02}:{:02}:{:02} GMT", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[test]
fn hub_honours_retry_after_as_an_http_date_and_asks_for_identity_encoding() {
    // 3 s ahead, whole seconds: the wait is 2-3 s, not the ~0.5 s backoff.
    let (srv, fake) = serve_faulty(|i, _| {
        (i == 0).then(|| Resp::new(429).h("Retry-After", http_date(std::time::SystemTime::now() + Duration::from_secs(3))))
    });
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let t0 = std::time::Instant::now();
    let p = download(&cfg, &req("config.json", "main"), &NoProgress, &CancelToken::new()).unwrap();
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(1900) && waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(std::fs::read(p).unwrap(), fake.files[0].1);
    let reqs = srv.reqs();
    assert!(reqs.len() >= 2);
    for r in &reqs {
        assert_eq!(r.headers.get("accept-encoding").map(String::as_str), Some("identity"), "{}", r.path);
    }
}

#[test]
fn hub_retry_exhaustion_kinds() {
    let (srv, _) = serve_faulty(|_, _| Some(Resp::new(429).h("Retry-After", "0")));
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides { max_retries: Some(2), ..Default::default() });
    let e = download(&cfg, &req("config.json", "main"), &NoProgress, &CancelToken::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{}", e.message);
    assert_eq!(srv.count(), 3);
    // Retry-After beyond the budget: fail at once
    let (srv, _) = serve_faulty(|_, _| Some(Resp::new(429).h("Retry-After", "3600")));
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let e = download(&cfg, &req("config.json", "main"), &NoProgress, &CancelToken::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(srv.count(), 1);
    let (srv, _) = serve_faulty(|_, _| Some(Resp::new(503)));
    let cfg = cfg_for(&srv.base, d.path(), Overrides { max_retries: Some(3), ..Default::default() });
    let e = download(&cfg, &req("config.json", "main"), &NoProgress, &CancelToken::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Download);
    assert_eq!(srv.count(), 4);
    // connection refused -> Download after retries
    let dead = { let l = TcpListener::bind("127.0.0.1:0").unwrap(); format!("http://127.0.0.1:{}", l.local_addr().unwrap().port()) };
    let cfg = cfg_for(&dead, d.path(), Overrides { max_retries: Some(1), ..Default::default() });
    let e = download(&cfg, &req("config.json", "main"), &NoProgress, &CancelToken::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Download);
}

#[test]
fn hub_dropped_connection_resumes_with_range() {
    // drop the first CDN body after 100_000 bytes; also one 500 on metadata
    let drops = AtomicUsize::new(0);
    let (srv, fake) = serve_faulty(move |i, r| {
        if i == 0 {
            return Some(Resp::new(500));
        }
        if r.path.starts_with("/cdn/") && r.headers.get("range").map(|x| x.as_str()) == Some("bytes=0-")
            && drops.fetch_add(1, Ordering::SeqCst) == 0
        {
            let f = Fake::new();
            let mut resp = ranged(r, &f.files[1].1);
            resp.drop_after = Some(100_000);
            return Some(resp);
        }
        None
    });
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let ev = Events::default();
    let p = download(&cfg, &req("model.bin", "main"), &ev, &CancelToken::new()).unwrap();
    assert_eq!(std::fs::read(p).unwrap(), fake.files[1].1);
    let ranges: Vec<_> = srv.reqs().iter().filter(|r| r.path.starts_with("/cdn/")).map(|r| r.headers["range"].clone()).collect();
    assert_eq!(ranges, vec!["bytes=0-".to_string(), "bytes=100000-".to_string()]);
    assert_eq!(ev.all().iter().filter(|e| matches!(e, ProgressEvent::Retry { .. })).count(), 2);
}

#[test]
fn hub_cancel_keeps_partial_and_resume_rehashes() {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let mut fake = Fake::new();
    fake.files.push(("big.bin".into(), big.clone(), true));
    let f2 = fake.clone();
    let srv = Server::start(Arc::new(move |r: &Req| f2.handle(r)));
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    struct CancelOnProgress(CancelToken);
    impl ProgressSink for CancelOnProgress {
        fn event(&self, e: ProgressEvent) {
            if matches!(e, ProgressEvent::Progress { .. }) {
                self.0.cancel();
            }
        }
    }
    let c = CancelToken::new();
    let e = download(&cfg, &req("big.bin", "main"), &CancelOnProgress(c.clone()), &c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Interrupted);
    let inc = repo_dir(d.path()).join("blobs").join(format!("{}.incomplete", sha256_hex(&big)));
    let have = std::fs::metadata(&inc).unwrap().len();
    assert!(have > 0 && have < big.len() as u64, "{have}");
    let p = download(&cfg, &req("big.bin", "main"), &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(std::fs::read(p).unwrap(), big);
    assert!(!inc.exists());
    let last = srv.reqs().into_iter().rfind(|r| r.path.starts_with("/cdn/")).unwrap();
    assert_eq!(last.headers["range"], format!("bytes={have}-"));
}

#[test]
fn hub_corrupted_byte_is_integrity_error_and_nothing_kept() {
    let (srv, _) = serve_faulty(|_, r| {
        if r.path.starts_with("/cdn/") {
            let f = Fake::new();
            let mut data = f.files[1].1.clone();
            data[12345] ^= 0xff;
            return Some(ranged(r, &data));
        }
        None
    });
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides { token: Some(SECRET.into()), ..Default::default() });
    let e = download(&cfg, &req("model.bin", "main"), &NoProgress, &CancelToken::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Integrity);
    assert!(e.message.contains("org/m") && e.message.contains("model.bin") && e.message.contains("expected sha256"), "{}", e.message);
    assert!(!e.message.contains(SECRET));
    assert!(ls(&repo_dir(d.path()).join("blobs")).is_empty(), "{:?}", ls(&repo_dir(d.path()).join("blobs")));
    assert!(ls(&repo_dir(d.path()).join("snapshots")).is_empty());
    assert!(cached_path(&cfg, &req("model.bin", "main")).unwrap().is_none());
}

#[test]
fn hub_path_traversal_rejected_without_requests() {
    let (srv, _) = serve_fake();
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let c = CancelToken::new();
    let bad = [
        FileRequest { filename: "../../../etc/passwd".into(), ..req("x", "main") },
        FileRequest { filename: "/etc/passwd".into(), ..req("x", "main") },
        FileRequest { filename: "a\\..\\b".into(), ..req("x", "main") },
        FileRequest { repo_id: "../evil".into(), ..req("config.json", "main") },
        FileRequest { repo_id: "org/../../x".into(), ..req("config.json", "main") },
        req("config.json", "../../refs"),
        req("config.json", "main/../../x"),
    ];
    for r in &bad {
        let e = download(&cfg, r, &NoProgress, &c).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Argument, "{r:?}");
        assert_eq!(cached_path(&cfg, r).unwrap_err().kind, ErrorKind::Argument);
    }
    assert_eq!(files(&cfg, "../x", RepoType::Model, "main", &c).unwrap_err().kind, ErrorKind::Argument);
    assert_eq!(snapshot(&cfg, "org/m", RepoType::Model, "..", &[], &[], 2, &NoProgress, &c).unwrap_err().kind, ErrorKind::Argument);
    assert_eq!(srv.count(), 0);
    assert!(ls(d.path()).is_empty());
}

#[test]
fn hub_token_only_to_endpoint_and_never_in_errors() {
    // CDN on another port: must not receive the token
    let (cdn, _) = serve_fake();
    let (srv, fake) = serve_fake();
    *fake.cdn.lock().unwrap() = Some(cdn.base.clone());
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides { token: Some(SECRET.into()), ..Default::default() });
    let c = CancelToken::new();
    download(&cfg, &req("model.bin", "main"), &NoProgress, &c).unwrap();
    assert!(srv.reqs().iter().all(|r| r.headers.get("authorization").map(|s| s.as_str()) == Some("Bearer hf_SECRETSECRET")));
    assert!(cdn.count() >= 1);
    assert!(cdn.reqs().iter().all(|r| !r.headers.contains_key("authorization")));
    assert!(srv.reqs().iter().all(|r| r.headers.get("user-agent").unwrap().starts_with("candle-rb/")));

    let mut errors: Vec<Error> = Vec::new();
    for status in [401u16, 403, 404, 429, 500, 418] {
        let (s, _) = serve_faulty(move |_, _| Some(Resp::new(status).h("Retry-After", "0")));
        let cfg = cfg_for(&s.base, d.path(), Overrides { token: Some(SECRET.into()), max_retries: Some(1), ..Default::default() });
        let e = download(&cfg, &req("nothere.json", "main"), &NoProgress, &c).unwrap_err();
        if status == 401 {
            assert_eq!(e.kind, ErrorKind::Authentication);
        }
        errors.push(e);
        errors.push(files(&cfg, "org/m", RepoType::Model, "v2", &c).unwrap_err());
    }
    let (s, _) = serve_faulty(|_, _| Some(Resp::new(404).h("x-error-code", "RevisionNotFound")));
    let cfg = cfg_for(&s.base, d.path(), Overrides { token: Some(SECRET.into()), ..Default::default() });
    let e = download(&cfg, &req("a.json", "nobranch"), &NoProgress, &c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RevisionNotFound);
    errors.push(e);
    let e = files(&cfg, "org/zzz", RepoType::Model, "main", &c).unwrap_err();
    errors.push(e);
    let (s, _) = serve_faulty(|_, _| Some(Resp::new(404).h("x-error-code", "RepositoryNotFound")));
    let cfg = cfg_for(&s.base, d.path(), Overrides { token: Some(SECRET.into()), ..Default::default() });
    let e = download(&cfg, &req("a.json", "main"), &NoProgress, &c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RepositoryNotFound);
    errors.push(e);
    let off = cfg_for(&s.base, d.path(), Overrides { token: Some(SECRET.into()), local_files_only: Some(true), ..Default::default() });
    errors.push(download(&off, &req("q.json", "main"), &NoProgress, &c).unwrap_err());
    for e in &errors {
        assert!(!e.message.contains(SECRET), "{:?}", e);
        assert!(!format!("{e:?}").contains(SECRET));
    }
    let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&ErrorKind::RateLimited) && kinds.contains(&ErrorKind::Download), "{kinds:?}");
    let dbg = format!("{:?} {} {:?}", cfg, cfg.describe(), cfg.describe());
    assert!(!dbg.contains(SECRET), "{dbg}");
    assert!(cfg.describe().token_present);
}

#[test]
fn hub_files_and_parallel_snapshot() {
    let (srv, fake) = serve_fake();
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
    let c = CancelToken::new();
    let all = files(&cfg, "org/m", RepoType::Model, "main", &c).unwrap();
    assert_eq!(all.len(), fake.files.len());
    assert_eq!(std::fs::read_to_string(repo_dir(d.path()).join("refs/main")).unwrap(), COMMIT);
    let ev = Events::default();
    let dir = snapshot(&cfg, "org/m", RepoType::Model, "main", &["*.json".into(), "*.bin".into()], &["1_Pooling/*".into()], 4, &ev, &c).unwrap();
    assert_eq!(dir, repo_dir(d.path()).join("snapshots").join(COMMIT));
    let mut got = RepoCache::new(d.path(), "org/m", RepoType::Model).snapshot_files(COMMIT);
    got.sort();
    assert_eq!(got, vec!["config.json".to_string(), "model.bin".to_string()]);
    // offline: listing and snapshot come from the cache, zero requests
    let n = srv.count();
    let off = cfg_for(&srv.base, d.path(), Overrides { local_files_only: Some(true), ..Default::default() });
    assert_eq!(files(&off, "org/m", RepoType::Model, "main", &c).unwrap(), vec!["config.json".to_string(), "model.bin".to_string()]);
    assert_eq!(snapshot(&off, "org/m", RepoType::Model, "main", &[], &[], 2, &NoProgress, &c).unwrap(), dir);
    assert_eq!(srv.count(), n);
    // gguf pick from the listing
    assert_eq!(pick_gguf(&all, &[]).unwrap(), "model.Q4_K_M.gguf");
    // an error in one worker is returned
    let (bad, _) = serve_faulty(|_, r| if r.path.contains("model.bin") { Some(Resp::new(403)) } else { None });
    let d2 = tempfile::tempdir().unwrap();
    let cfg2 = cfg_for(&bad.base, d2.path(), Overrides::default());
    let e = snapshot(&cfg2, "org/m", RepoType::Model, "main", &[], &[], 3, &NoProgress, &c).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authentication);
    // pre-cancelled
    let cc = CancelToken::new();
    cc.cancel();
    let e = snapshot(&cfg2, "org/m", RepoType::Model, "main", &[], &[], 3, &NoProgress, &cc).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Interrupted);
}

#[test]
fn hub_concurrent_downloads_share_one_body_transfer() {
    let (srv, fake) = serve_fake();
    let d = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let cfg = cfg_for(&srv.base, d.path(), Overrides::default());
                let p = download(&cfg, &req("model.bin", "main"), &NoProgress, &CancelToken::new()).unwrap();
                assert_eq!(std::fs::read(p).unwrap(), fake.files[1].1);
            });
        }
    });
    assert_eq!(srv.reqs().iter().filter(|r| r.path.starts_with("/cdn/")).count(), 1);
    assert_eq!(ls(&repo_dir(d.path()).join("blobs")), vec![sha256_hex(&fake.files[1].1)]);
}
