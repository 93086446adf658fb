//! HTTP plumbing for the Hub client: the process's one ureq agent, URL and
//! header helpers, and interruptible waiting.
//!
//! Interrupts end every phase within about `POLL`:
//! - a request (DNS, connect, sending it, waiting for the answer's headers)
//!   runs on a thread of its own (`off_thread`) while the caller waits on a
//!   channel and watches the cancel token; an abandoned thread owns nothing
//!   but its connection and ends on its own timeout (HF_HUB_ETAG_TIMEOUT /
//!   HF_HUB_DOWNLOAD_TIMEOUT);
//! - a body is read on the caller's thread (no hand-over: on a 2-core
//!   machine a reader thread cost more than it overlapped), through a
//!   transport layer that waits for bytes in slices of `POLL` and gives up
//!   when the token installed for the thread (`CancelScope`) is cancelled.

use std::cell::RefCell;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::Duration;

use ureq::http::Response;
use ureq::Body;

use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;

/// How often a waiting caller looks at its cancel token.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// The process's one HTTP agent: its connection pool keeps connections
/// alive across calls and files. Nothing in it depends on a config (no
/// automatic redirects, status codes returned as responses); timeouts and
/// headers are set per request.
pub fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        use ureq::unversioned::resolver::DefaultResolver;
        use ureq::unversioned::transport::{Connector, DefaultConnector};
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(format!("candle-rb/{}", env!("CARGO_PKG_VERSION")))
            .build();
        // Reads stop within a poll interval when the reading thread's
        // cancel token is set (CancelScope).
        let connector = DefaultConnector::new().chain(cancellable::CancelConnector);
        ureq::Agent::with_parts(config, connector, DefaultResolver::default())
    })
}

/// `scheme://host:port`, lowercase, default port filled in.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut authority = &rest[..auth_end];
    if let Some(i) = authority.rfind('@') {
        authority = &authority[i + 1..];
    }
    let authority = authority.to_ascii_lowercase();
    let has_port = match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    };
    let authority = if has_port {
        authority
    } else {
        match scheme.as_str() {
            "http" => format!("{authority}:80"),
            "https" => format!("{authority}:443"),
            _ => authority,
        }
    };
    Some(format!("{scheme}://{authority}"))
}

pub(crate) fn is_absolute(loc: &str) -> bool {
    let l = loc.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Resolves a relative `Location` against `base`.
pub(crate) fn join_url(base: &str, loc: &str) -> String {
    if loc.starts_with("//") {
        let scheme = base.split("://").next().unwrap_or("https");
        return format!("{scheme}:{loc}");
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    if loc.starts_with('/') {
        return format!("{scheme}://{authority}{loc}");
    }
    let path = &rest[auth_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{scheme}://{authority}{dir}{loc}")
}

/// Percent-encodes every byte but RFC 3986 unreserved characters (and `/`
/// when `keep_slash`), like Python's `urllib.parse.quote`: file names may hold
/// spaces, `#`, `?`, `%` or non-ASCII, and revisions `/` or `+`.
pub fn quote(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn header(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Strips `W/` and quotes.
pub fn normalize_etag(raw: &str) -> String {
    let s = raw.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.replace('"', "")
}

/// `Content-Range: bytes a-b/total` -> (a, total)
pub(crate) fn content_range(resp: &Response<Body>) -> Option<(u64, Option<u64>)> {
    let v = header(resp, "content-range")?;
    let v = v.strip_prefix("bytes")?.trim();
    let (range, total) = v.split_once('/')?;
    let start = range.split('-').next()?.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

/// `Retry-After`: delay seconds, or an HTTP date (RFC 9110 IMF-fixdate,
/// "Sun, 06 Nov 1994 08:49:37 GMT"), as a wait from now (a past date is 0).
pub(crate) fn retry_after(resp: &Response<Body>) -> Option<Duration> {
    parse_retry_after(&header(resp, "retry-after")?, std::time::SystemTime::now())
}

fn parse_retry_after(v: &str, now: std::time::SystemTime) -> Option<Duration> {
    const MAX: f64 = 86_400.0;
    if let Ok(secs) = v.trim().parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(MAX)));
    }
    let at = http_date_unix(v.trim())?;
    let now = now.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
    Some(Duration::from_secs_f64((at as f64 - now).clamp(0.0, MAX)))
}

/// Seconds since the Unix epoch of an IMF-fixdate.
fn http_date_unix(v: &str) -> Option<i64> {
    let (_, rest) = v.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: i64 = parts.next()?.parse().ok()?;
    let mon = parts.next()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].iter().position(|m| *m == mon)? as i64 + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Days from 1970-01-01 to the civil date (proleptic Gregorian).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Runs a blocking network step on a thread of its own and waits for it while
/// watching `cancel`: an interrupt returns `Interrupted` within `POLL` and
/// leaves the thread to end on its own timeouts.
pub(crate) fn off_thread<T: Send + 'static>(cancel: &CancelToken, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    cancel.check()?;
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("candle-hub-http".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| err!(Download, "cannot start a network thread: {}", e))?;
    loop {
        match rx.recv_timeout(POLL) {
            Ok(v) => return Ok(v),
            Err(RecvTimeoutError::Timeout) => cancel.check()?,
            Err(RecvTimeoutError::Disconnected) => return Err(err!(Download, "a network thread panicked")),
        }
    }
}

thread_local! {
    /// The token that reads on this thread give up for (see `CancelScope`).
    static READ_CANCEL: RefCell<Option<CancelToken>> = const { RefCell::new(None) };
}

/// While alive, reads of a body on this thread stop waiting for bytes (and
/// fail) within `POLL` once `token` is cancelled.
pub(crate) struct CancelScope {
    previous: Option<CancelToken>,
}

impl CancelScope {
    pub(crate) fn enter(token: &CancelToken) -> Self {
        let previous = READ_CANCEL.with(|c| c.borrow_mut().replace(token.clone()));
        CancelScope { previous }
    }
}

impl Drop for CancelScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        READ_CANCEL.with(|c| *c.borrow_mut() = previous);
    }
}

/// Bodies up to this size are read to the end when a `Reply` is dropped.
const DRAIN_MAX: u64 = 64 << 10;

/// A response whose small body (a metadata answer's byte, an error page) is
/// read to the end when it is dropped unread: ureq returns a connection to
/// its pool only then, so the next request reuses it (keep-alive).
pub(crate) struct Reply {
    resp: Option<Response<Body>>,
    cancel: CancelToken,
}

impl Reply {
    pub(crate) fn new(resp: Response<Body>, cancel: &CancelToken) -> Self {
        Reply { resp: Some(resp), cancel: cancel.clone() }
    }

    /// The response, to read its body (nothing is drained then).
    pub(crate) fn into_inner(mut self) -> Response<Body> {
        self.resp.take().expect("a Reply holds its response until dropped")
    }
}

impl std::ops::Deref for Reply {
    type Target = Response<Body>;

    fn deref(&self) -> &Response<Body> {
        self.resp.as_ref().expect("a Reply holds its response until dropped")
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        let Some(resp) = self.resp.take() else { return };
        if self.cancel.is_cancelled() || !resp.body().content_length().is_some_and(|n| n <= DRAIN_MAX) {
            return;
        }
        let _scope = CancelScope::enter(&self.cancel);
        let _ = resp.into_body().into_with_config().limit(DRAIN_MAX).read_to_vec();
    }
}

fn read_cancelled() -> bool {
    READ_CANCEL.with(|c| c.borrow().as_ref().is_some_and(|t| t.is_cancelled()))
}

mod cancellable {
    //! A ureq transport layer: waits for input in slices of `POLL`, between
    //! which it looks at the thread's `READ_CANCEL` token.
    use std::time::Instant;

    use ureq::unversioned::transport::time::Duration as UDuration;
    use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

    use super::{read_cancelled, POLL};

    #[derive(Debug)]
    pub struct CancelConnector;

    impl<In: Transport> Connector<In> for CancelConnector {
        type Out = CancelTransport<In>;

        fn connect(&self, _: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
            Ok(chained.map(CancelTransport))
        }
    }

    #[derive(Debug)]
    pub struct CancelTransport<T>(T);

    impl<T: Transport> Transport for CancelTransport<T> {
        fn buffers(&mut self) -> &mut dyn Buffers {
            self.0.buffers()
        }

        fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
            self.0.transmit_output(amount, timeout)
        }

        fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
            // The limit the inner transport would apply (per-read included).
            let limit = timeout.for_read();
            let started = Instant::now();
            loop {
                if read_cancelled() {
                    return Err(ureq::Error::Io(std::io::Error::other("cancelled")));
                }
                let left = limit.after.saturating_sub(started.elapsed());
                if left <= POLL {
                    return self.0.await_input(NextTimeout { after: UDuration::Exact(left), per_read: None, ..limit });
                }
                let slice = NextTimeout { after: UDuration::Exact(POLL), per_read: None, ..limit };
                match self.0.await_input(slice) {
                    Err(ureq::Error::Timeout(_)) => continue,
                    other => return other,
                }
            }
        }

        fn is_open(&mut self) -> bool {
            self.0.is_open()
        }

        fn is_tls(&self) -> bool {
            self.0.is_tls()
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_retry_after_is_seconds_or_an_http_date() {
        let epoch = std::time::UNIX_EPOCH;
        assert_eq!(http_date_unix("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(http_date_unix("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date_unix("Tue, 29 Feb 2028 23:59:59 GMT"), Some(1_835_481_599));
        for bad in ["Sun, 06 Nov 1994 08:49:37 PST", "06 Nov 1994", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT", ""] {
            assert_eq!(http_date_unix(bad), None, "{bad}");
        }
        let now = epoch + Duration::from_secs(784_111_777 - 25);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(25)));
        // a date in the past: retry now
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("2.5", now), Some(Duration::from_millis(2500)));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("999999999", now), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn hub_transfer_url_helpers() {
        assert_eq!(origin("https://huggingface.co/x/y").unwrap(), "https://huggingface.co:443");
        assert_eq!(origin("http://127.0.0.1:8080/a?b").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(origin("HTTP://U:P@Host"), Some("http://host:80".into()));
        assert_ne!(origin("http://127.0.0.1:1/a"), origin("http://127.0.0.1:2/a"));
        assert_eq!(join_url("http://h:1/a/b/c", "/x/y"), "http://h:1/x/y");
        assert_eq!(join_url("http://h:1/a/b/c?q", "d"), "http://h:1/a/b/d");
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), "abc");
        assert_eq!(quote("dir/my file#1?.json", true), "dir/my%20file%231%3F.json");
        assert_eq!(quote("données%+.json", true), "donn%C3%A9es%25%2B.json");
        assert_eq!(quote("refs/pr/1", false), "refs%2Fpr%2F1");
        assert_eq!(quote("A-z_0.9~", false), "A-z_0.9~");
    }
}
