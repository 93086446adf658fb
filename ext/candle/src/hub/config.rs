//! `HubConfig`: the single place that decides cache dir, endpoint, token,
//! offline mode and retry policy. Everything else takes a `&HubConfig`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::err;
use crate::error::Result;

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A secret (the HF token). `Debug`/`Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// `None` for an empty / blank token.
    pub fn new(s: impl Into<String>) -> Option<Token> {
        let s = s.into();
        let t = s.trim();
        if t.is_empty() {
            None
        } else {
            Some(Token(t.to_string()))
        }
    }
    /// The raw value; only for the Authorization header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Explicit settings from the caller (Ruby keyword arguments); each beats the env.
#[derive(Clone, Default)]
pub struct Overrides {
    pub cache_dir: Option<PathBuf>,
    pub endpoint: Option<String>,
    pub token: Option<String>,
    pub local_files_only: Option<bool>,
    pub max_retries: Option<u32>,
    pub retry_base_delay: Option<Duration>,
    pub max_total_wait: Option<Duration>,
    /// Limit for a metadata request (connect + answer), as HF_HUB_ETAG_TIMEOUT.
    pub etag_timeout: Option<Duration>,
    /// Longest time without a byte of a file's body, as HF_HUB_DOWNLOAD_TIMEOUT.
    pub download_timeout: Option<Duration>,
    /// Re-check a branch/tag with one metadata request even when cached.
    pub refresh: bool,
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overrides")
            .field("cache_dir", &self.cache_dir)
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("local_files_only", &self.local_files_only)
            .field("max_retries", &self.max_retries)
            .field("retry_base_delay", &self.retry_base_delay)
            .field("max_total_wait", &self.max_total_wait)
            .field("etag_timeout", &self.etag_timeout)
            .field("download_timeout", &self.download_timeout)
            .field("refresh", &self.refresh)
            .finish()
    }
}

/// Python huggingface_hub's defaults for HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT.
pub const DEFAULT_ETAG_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay; doubles per attempt (plus jitter).
    pub base_delay: Duration,
    /// Upper bound on the total time spent sleeping between retries of one transfer.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            base_delay: Duration::from_millis(500),
            max_total_wait: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
pub struct HubConfig {
    pub cache_dir: PathBuf,
    /// No trailing slash. Checked only when a request is about to be made
    /// (`check_endpoint`), so cache-only work never depends on HF_ENDPOINT.
    pub endpoint: String,
    endpoint_error: Option<String>,
    pub token: Option<Token>,
    pub offline: bool,
    /// The HF_HUB_OFFLINE value when it is what turned offline mode on (it
    /// wins over `local_files_only: false`, as in Python huggingface_hub).
    pub offline_env: Option<String>,
    pub refresh: bool,
    pub retry: RetryPolicy,
    /// Connect + answer of a metadata / API request.
    pub etag_timeout: Duration,
    /// Connect, answer, and every read of a file's body: a transfer that
    /// receives nothing for this long is retried.
    pub download_timeout: Duration,
}

impl fmt::Debug for HubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubConfig")
            .field("cache_dir", &self.cache_dir)
            .field("endpoint", &self.endpoint)
            .field("token", &self.token)
            .field("offline", &self.offline)
            .field("offline_env", &self.offline_env)
            .field("refresh", &self.refresh)
            .field("retry", &self.retry)
            .field("etag_timeout", &self.etag_timeout)
            .field("download_timeout", &self.download_timeout)
            .finish()
    }
}

/// What `HubConfig` decided, safe to print (no token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSummary {
    pub cache_dir: PathBuf,
    pub endpoint: String,
    pub token_present: bool,
    pub offline: bool,
    pub max_retries: u32,
    pub retry_base_delay_ms: u64,
    pub max_total_wait_ms: u64,
    pub etag_timeout_ms: u64,
    pub download_timeout_ms: u64,
}

impl fmt::Display for ConfigSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cache_dir={} endpoint={} token={} offline={} max_retries={} retry_base_delay_ms={} max_total_wait_ms={} etag_timeout_ms={} download_timeout_ms={}",
            self.cache_dir.display(),
            self.endpoint,
            if self.token_present { "present" } else { "none" },
            self.offline,
            self.max_retries,
            self.retry_base_delay_ms,
            self.max_total_wait_ms,
            self.etag_timeout_ms,
            self.download_timeout_ms
        )
    }
}

pub(crate) fn truthy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn parse_env_num<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<T>> {
    match non_empty(env(name)) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|_| err!(Argument, "invalid value {:?} for {}: expected a non-negative integer", v, name)),
    }
}

/// A number of seconds (integer or decimal, as Python reads these variables).
fn parse_env_secs(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<Duration>> {
    match non_empty(env(name)) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Some(Duration::from_secs_f64(s))),
            _ => Err(err!(Argument, "invalid value {:?} for {}: expected a number of seconds (0 < s <= 86400)", v, name)),
        },
    }
}

/// Home directory from the real environment.
pub fn home_dir() -> Option<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl HubConfig {
    /// Resolve from the real process environment.
    pub fn resolve(overrides: &Overrides) -> Result<HubConfig> {
        let env = |k: &str| std::env::var(k).ok();
        Self::resolve_with(&env, home_dir(), overrides)
    }

    /// Resolve from an injected environment (tests).
    pub fn resolve_with(
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
        overrides: &Overrides,
    ) -> Result<HubConfig> {
        let home_cache = || -> Result<PathBuf> {
            match &home {
                Some(h) => Ok(h.join(".cache").join("huggingface")),
                None => Err(err!(
                    Hub,
                    "cannot locate the HuggingFace cache: no home directory; set HF_HOME or HF_HUB_CACHE, or pass cache_dir:"
                )),
            }
        };
        let hf_home: Option<PathBuf> = non_empty(env("HF_HOME")).map(PathBuf::from);

        let cache_dir = if let Some(d) = &overrides.cache_dir {
            d.clone()
        } else if let Some(d) = non_empty(env("HF_HUB_CACHE")) {
            PathBuf::from(d)
        } else if let Some(d) = non_empty(env("HUGGINGFACE_HUB_CACHE")) {
            PathBuf::from(d)
        } else if let Some(h) = &hf_home {
            h.join("hub")
        } else if let Some(x) = non_empty(env("XDG_CACHE_HOME")) {
            PathBuf::from(x).join("huggingface").join("hub")
        } else {
            home_cache()?.join("hub")
        };

        let endpoint_raw = overrides
            .endpoint
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| non_empty(env("HF_ENDPOINT")))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let endpoint = endpoint_raw.trim().trim_end_matches('/').to_string();
        let endpoint_error = (!(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            || endpoint.len() <= "https://".len())
        .then(|| format!("invalid Hub endpoint {endpoint:?}: expected an http:// or https:// URL"));

        let token = if let Some(t) = &overrides.token {
            Token::new(t.clone())
        } else if let Some(t) = non_empty(env("HF_TOKEN")) {
            Token::new(t)
        } else {
            let token_file = match &hf_home {
                Some(h) => Some(h.join("token")),
                None => home.as_ref().map(|h| h.join(".cache").join("huggingface").join("token")),
            };
            token_file
                .and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(Token::new)
        };

        let offline_env = env("HF_HUB_OFFLINE").filter(|v| truthy(v)).map(|v| v.trim().to_string());
        let offline = overrides.local_files_only == Some(true) || offline_env.is_some();

        let mut retry = RetryPolicy::default();
        if let Some(n) = overrides.max_retries {
            retry.max_retries = n;
        } else if let Some(n) = parse_env_num::<u32>(env, "CANDLE_HUB_MAX_RETRIES")? {
            retry.max_retries = n;
        }
        if let Some(d) = overrides.retry_base_delay {
            retry.base_delay = d;
        } else if let Some(ms) = parse_env_num::<u64>(env, "CANDLE_HUB_RETRY_BASE_MS")? {
            retry.base_delay = Duration::from_millis(ms);
        }
        if let Some(d) = overrides.max_total_wait {
            retry.max_total_wait = d;
        } else if let Some(s) = parse_env_num::<u64>(env, "CANDLE_HUB_RETRY_MAX_WAIT_S")? {
            retry.max_total_wait = Duration::from_secs(s);
        }

        let etag_timeout = match overrides.etag_timeout {
            Some(d) => d,
            None => parse_env_secs(env, "HF_HUB_ETAG_TIMEOUT")?.unwrap_or(DEFAULT_ETAG_TIMEOUT),
        };
        let download_timeout = match overrides.download_timeout {
            Some(d) => d,
            None => parse_env_secs(env, "HF_HUB_DOWNLOAD_TIMEOUT")?.unwrap_or(DEFAULT_DOWNLOAD_TIMEOUT),
        };
        for (name, d) in [("etag_timeout", etag_timeout), ("download_timeout", download_timeout)] {
            if d.is_zero() {
                return Err(err!(Argument, "{name} must be positive"));
            }
        }

        Ok(HubConfig {
            cache_dir,
            endpoint,
            endpoint_error,
            token,
            offline,
            offline_env,
            refresh: overrides.refresh,
            retry,
            etag_timeout,
            download_timeout,
        })
    }

    /// Why offline mode is on and how to turn it off (for error messages).
    pub fn offline_reason(&self) -> String {
        match &self.offline_env {
            Some(v) => format!(
                "offline mode is on (HF_HUB_OFFLINE={v}); unset HF_HUB_OFFLINE (it overrides local_files_only: false)"
            ),
            None => "offline mode is on (local_files_only: true); pass local_files_only: false (with HF_HUB_OFFLINE unset)"
                .to_string(),
        }
    }

    pub fn token_present(&self) -> bool {
        self.token.is_some()
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Everything but the token.
    pub fn describe(&self) -> ConfigSummary {
        ConfigSummary {
            cache_dir: self.cache_dir.clone(),
            endpoint: self.endpoint.clone(),
            token_present: self.token_present(),
            offline: self.offline,
            max_retries: self.retry.max_retries,
            retry_base_delay_ms: self.retry.base_delay.as_millis() as u64,
            max_total_wait_ms: self.retry.max_total_wait.as_millis() as u64,
            etag_timeout_ms: self.etag_timeout.as_millis() as u64,
            download_timeout_ms: self.download_timeout.as_millis() as u64,
        }
    }

    /// An `ArgumentError` for an endpoint that is not an http(s) URL. Called
    /// before any request, never by cache-only operations.
    pub fn check_endpoint(&self) -> Result<()> {
        match &self.endpoint_error {
            Some(msg) => Err(err!(Argument, "{}", msg)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| m.get(k).cloned()
    }

    fn resolve(pairs: &[(&str, &str)], o: &Overrides) -> HubConfig {
        HubConfig::resolve_with(&env_of(pairs), Some(PathBuf::from("/home/u")), o).unwrap()
    }

    #[test]
    fn hub_config_cache_dir_precedence() {
        let o = Overrides::default();
        let all = [
            ("HF_HUB_CACHE", "/a"),
            ("HUGGINGFACE_HUB_CACHE", "/b"),
            ("HF_HOME", "/c"),
            ("XDG_CACHE_HOME", "/d"),
        ];
        let with_override = Overrides { cache_dir: Some("/o".into()), ..Default::default() };
        assert_eq!(resolve(&all, &with_override).cache_dir, PathBuf::from("/o"));
        assert_eq!(resolve(&all, &o).cache_dir, PathBuf::from("/a"));
        assert_eq!(resolve(&all[1..], &o).cache_dir, PathBuf::from("/b"));
        assert_eq!(resolve(&all[2..], &o).cache_dir, PathBuf::from("/c/hub"));
        assert_eq!(resolve(&all[3..], &o).cache_dir, PathBuf::from("/d/huggingface/hub"));
        assert_eq!(resolve(&[], &o).cache_dir, PathBuf::from("/home/u/.cache/huggingface/hub"));
        // empty values are ignored
        assert_eq!(resolve(&[("HF_HUB_CACHE", "")], &o).cache_dir, PathBuf::from("/home/u/.cache/huggingface/hub"));
        assert!(HubConfig::resolve_with(&env_of(&[]), None, &o).is_err());
    }

    #[test]
    fn hub_config_endpoint_offline_retry() {
        let o = Overrides::default();
        assert_eq!(resolve(&[], &o).endpoint, "https://huggingface.co");
        assert_eq!(resolve(&[("HF_ENDPOINT", "http://mirror/")], &o).endpoint, "http://mirror");
        let oe = Overrides { endpoint: Some("http://x:1//".into()), ..Default::default() };
        assert_eq!(resolve(&[("HF_ENDPOINT", "http://mirror/")], &oe).endpoint, "http://x:1");
        // a bad endpoint is an error only for work that makes requests
        let c = resolve(&[("HF_ENDPOINT", "ftp://x")], &o);
        assert_eq!(c.check_endpoint().unwrap_err().kind, crate::error::ErrorKind::Argument);
        resolve(&[], &o).check_endpoint().unwrap();
        for v in ["1", "true", "YES", "On"] {
            assert!(resolve(&[("HF_HUB_OFFLINE", v)], &o).offline, "{v}");
        }
        for v in ["0", "false", "", "no"] {
            assert!(!resolve(&[("HF_HUB_OFFLINE", v)], &o).offline, "{v}");
        }
        let lfo = Overrides { local_files_only: Some(true), ..Default::default() };
        assert!(resolve(&[], &lfo).offline);
        assert!(resolve(&[], &lfo).offline_reason().contains("local_files_only: true"));
        // the env wins over local_files_only: false, and the message says so
        let nlfo = Overrides { local_files_only: Some(false), ..Default::default() };
        let c = resolve(&[("HF_HUB_OFFLINE", " yes ")], &nlfo);
        assert!(c.offline);
        assert!(c.offline_reason().contains("HF_HUB_OFFLINE=yes"), "{}", c.offline_reason());
        assert!(!resolve(&[("HF_HUB_OFFLINE", "0")], &nlfo).offline);
        let c = resolve(&[], &o);
        assert_eq!(c.retry, RetryPolicy::default());
        let c = resolve(
            &[("CANDLE_HUB_MAX_RETRIES", "2"), ("CANDLE_HUB_RETRY_BASE_MS", "7"), ("CANDLE_HUB_RETRY_MAX_WAIT_S", "3")],
            &o,
        );
        assert_eq!(c.retry.max_retries, 2);
        assert_eq!(c.retry.base_delay, Duration::from_millis(7));
        assert_eq!(c.retry.max_total_wait, Duration::from_secs(3));
        let oo = Overrides { max_retries: Some(9), ..Default::default() };
        assert_eq!(resolve(&[("CANDLE_HUB_MAX_RETRIES", "2")], &oo).retry.max_retries, 9);
        let e = HubConfig::resolve_with(&env_of(&[("CANDLE_HUB_MAX_RETRIES", "x")]), Some("/h".into()), &o).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Argument);
    }

    #[test]
    fn hub_config_timeouts_follow_python_variables() {
        let o = Overrides::default();
        let c = resolve(&[], &o);
        assert_eq!((c.etag_timeout, c.download_timeout), (Duration::from_secs(10), Duration::from_secs(10)));
        let c = resolve(&[("HF_HUB_ETAG_TIMEOUT", "2"), ("HF_HUB_DOWNLOAD_TIMEOUT", "0.5")], &o);
        assert_eq!((c.etag_timeout, c.download_timeout), (Duration::from_secs(2), Duration::from_millis(500)));
        let ot = Overrides { download_timeout: Some(Duration::from_secs(3)), ..Default::default() };
        assert_eq!(resolve(&[("HF_HUB_DOWNLOAD_TIMEOUT", "7")], &ot).download_timeout, Duration::from_secs(3));
        for bad in ["x", "0", "-1", "inf"] {
            let e = HubConfig::resolve_with(&env_of(&[("HF_HUB_DOWNLOAD_TIMEOUT", bad)]), Some("/h".into()), &o).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Argument, "{bad}");
        }
        let zero = Overrides { etag_timeout: Some(Duration::ZERO), ..Default::default() };
        assert!(HubConfig::resolve_with(&env_of(&[]), Some("/h".into()), &zero).is_err());
    }

    #[test]
    fn hub_config_token_precedence_and_redaction() {
        let dir = tempfile::tempdir().unwrap();
        let hf_home = dir.path().join("hfhome");
        std::fs::create_dir_all(&hf_home).unwrap();
        std::fs::write(hf_home.join("token"), "  hf_FILESECRET\n").unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".cache/huggingface")).unwrap();
        std::fs::write(home.join(".cache/huggingface/token"), "hf_HOMESECRET").unwrap();
        let hh = hf_home.to_str().unwrap();
        let r = |pairs: &[(&str, &str)], o: &Overrides| {
            HubConfig::resolve_with(&env_of(pairs), Some(home.clone()), o).unwrap()
        };
        let o = Overrides::default();
        let ot = Overrides { token: Some("hf_OVERRIDE".into()), ..Default::default() };
        assert_eq!(r(&[("HF_TOKEN", "hf_ENV"), ("HF_HOME", hh)], &ot).token.unwrap().expose(), "hf_OVERRIDE");
        assert_eq!(r(&[("HF_TOKEN", "hf_ENV"), ("HF_HOME", hh)], &o).token.unwrap().expose(), "hf_ENV");
        assert_eq!(r(&[("HF_HOME", hh)], &o).token.unwrap().expose(), "hf_FILESECRET");
        assert_eq!(r(&[], &o).token.unwrap().expose(), "hf_HOMESECRET");
        std::fs::write(hf_home.join("token"), "  \n").unwrap();
        assert!(r(&[("HF_HOME", hh)], &o).token.is_none());
        let c = r(&[("HF_TOKEN", "hf_SECRETSECRET")], &o);
        assert!(c.token_present());
        let dbg = format!("{:?} {:?} {}", c, c.describe(), c.describe());
        assert!(!dbg.contains("hf_SECRETSECRET"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        let od = format!("{:?}", Overrides { token: Some("hf_SECRETSECRET".into()), ..Default::default() });
        assert!(!od.contains("hf_SECRETSECRET"));
    }
}
