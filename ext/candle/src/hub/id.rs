//! Model id parsing, GGUF quantization picking, allow/ignore glob filters.

use glob::{MatchOptions, Pattern};

use crate::err;
use crate::error::Result;
use crate::hub::validate::{validate_filename, validate_repo_id, validate_revision};

/// Parses `org/name`, `org/name@rev`, `org/name:file`, `org/name:file@rev`.
/// Every part is validated.
pub fn parse_id(s: &str) -> Result<(String, Option<String>, Option<String>)> {
    let s = s.trim();
    let (rest, revision) = match s.rfind('@') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (repo, filename) = match rest.find(':') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    validate_repo_id(repo)?;
    if let Some(f) = filename {
        if f.is_empty() {
            return Err(err!(Argument, "invalid model id {:?}: empty file name after ':'", s));
        }
        validate_filename(f)?;
    }
    if let Some(r) = revision {
        if r.is_empty() {
            return Err(err!(Argument, "invalid model id {:?}: empty revision after '@'", s));
        }
        validate_revision(r)?;
    }
    Ok((repo.to_string(), filename.map(str::to_string), revision.map(str::to_string)))
}

/// Quantizations in the order we prefer them when none is asked for: the
/// one list (Ruby's `Candle::Hub::DEFAULT_GGUF_PREFERENCE` reads it).
pub const DEFAULT_QUANT_PREFERENCE: &[&str] = &[
    "Q4_K_M", "Q5_K_M", "Q4_K_S", "Q5_K_S", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q6_K", "IQ4_XS", "IQ4_NL",
    "Q3_K_M", "Q3_K_L", "Q3_K_S", "Q2_K", "F16", "BF16", "F32",
];

/// `Some((part, total))` for `...-00002-of-00003.gguf`.
fn split_part(lower_name: &str) -> Option<(u32, u32)> {
    let stem = lower_name.strip_suffix(".gguf")?;
    let i = stem.rfind("-of-")?;
    let total = &stem[i + 4..];
    let before = &stem[..i];
    let j = before.rfind('-')?;
    let part = &before[j + 1..];
    if part.is_empty() || total.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || !total.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((part.parse().ok()?, total.parse().ok()?))
}

/// Does `name` (lowercase basename) carry the quant token `q` (lowercase)?
fn has_quant(name: &str, q: &str) -> bool {
    let stem = name.strip_suffix(".gguf").unwrap_or(name);
    let bytes = stem.as_bytes();
    let mut from = 0;
    while let Some(off) = stem[from..].find(q) {
        let start = from + off;
        let end = start + q.len();
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Picks a `.gguf` file: the first preference (case-insensitive quant token)
/// that matches, else the first `.gguf` in sorted order. Non-first parts of
/// split files are ignored. `prefer` empty means `DEFAULT_QUANT_PREFERENCE`.
pub fn pick_gguf(files: &[String], prefer: &[String]) -> Option<String> {
    let mut candidates: Vec<&String> = files
        .iter()
        .filter(|f| {
            let l = f.to_ascii_lowercase();
            l.ends_with(".gguf") && split_part(&l).is_none_or(|(p, _)| p == 1)
        })
        .collect();
    candidates.sort();
    let prefs: Vec<String> = if prefer.is_empty() {
        DEFAULT_QUANT_PREFERENCE.iter().map(|s| s.to_ascii_lowercase()).collect()
    } else {
        prefer.iter().map(|s| s.to_ascii_lowercase()).collect()
    };
    for q in &prefs {
        if let Some(f) = candidates.iter().find(|f| {
            let base = f.rsplit('/').next().unwrap_or(f).to_ascii_lowercase();
            has_quant(&base, q)
        }) {
            return Some((*f).clone());
        }
    }
    candidates.first().map(|f| (*f).clone())
}

const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// Compiles fnmatch-like patterns (`*` also matches `/`; a trailing `/`
/// means "everything under").
pub fn compile_globs(patterns: &[String]) -> Result<Vec<Pattern>> {
    patterns
        .iter()
        .map(|p| {
            let p = if p.ends_with('/') { format!("{p}*") } else { p.clone() };
            Pattern::new(&p).map_err(|e| err!(Argument, "invalid file pattern {:?}: {}", p, e))
        })
        .collect()
}

pub fn glob_matches(patterns: &[Pattern], name: &str) -> bool {
    patterns.iter().any(|p| p.matches_with(name, MATCH))
}

/// Keeps files matching any `allow` pattern (all when empty) and no `ignore` pattern.
pub fn filter_files(files: &[String], allow: &[String], ignore: &[String]) -> Result<Vec<String>> {
    let allow = compile_globs(allow)?;
    let ignore = compile_globs(ignore)?;
    Ok(files
        .iter()
        .filter(|f| (allow.is_empty() || glob_matches(&allow, f)) && !glob_matches(&ignore, f))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hub_parse_id_forms() {
        assert_eq!(parse_id("org/name").unwrap(), ("org/name".into(), None, None));
        assert_eq!(parse_id("gpt2@v1").unwrap(), ("gpt2".into(), None, Some("v1".into())));
        assert_eq!(
            parse_id("org/name:sub/file.Q4_K_M.gguf@refs/pr/3").unwrap(),
            ("org/name".into(), Some("sub/file.Q4_K_M.gguf".into()), Some("refs/pr/3".into()))
        );
        assert_eq!(parse_id("org/name:f.gguf").unwrap(), ("org/name".into(), Some("f.gguf".into()), None));
        for bad in ["", "org/name:", "org/name@", "../x", "org/name:../../etc/passwd", "org/name@..", "a/b/c:f"] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hub_pick_gguf_preferences() {
        let files = v(&[
            "README.md",
            "model.Q8_0.gguf",
            "model.Q4_K_S.gguf",
            "model.Q4_K_M.gguf",
            "model.Q5_K_M.gguf",
            "config.json",
        ]);
        assert_eq!(pick_gguf(&files, &[]).unwrap(), "model.Q4_K_M.gguf");
        assert_eq!(pick_gguf(&files, &v(&["q8_0"])).unwrap(), "model.Q8_0.gguf");
        // Q4_K must not match Q4_K_M / Q4_K_S: falls back to first sorted
        assert_eq!(pick_gguf(&files, &v(&["Q4_K"])).unwrap(), "model.Q4_K_M.gguf");
        let lower = v(&["qwen2-0_5b-instruct-q8_0.gguf", "qwen2-0_5b-instruct-q4_k_m.gguf", "qwen2-0_5b-instruct-fp16.gguf"]);
        assert_eq!(pick_gguf(&lower, &[]).unwrap(), "qwen2-0_5b-instruct-q4_k_m.gguf");
        let split = v(&["big-Q4_K_M-00002-of-00002.gguf", "big-Q4_K_M-00001-of-00002.gguf", "small.Q8_0.gguf"]);
        assert_eq!(pick_gguf(&split, &[]).unwrap(), "big-Q4_K_M-00001-of-00002.gguf");
        let none = v(&["a.bin", "b.safetensors"]);
        assert_eq!(pick_gguf(&none, &[]), None);
        let other = v(&["z.gguf", "a.weird.gguf"]);
        assert_eq!(pick_gguf(&other, &[]).unwrap(), "a.weird.gguf");
        assert!(has_quant("x.q4_0.gguf", "q4_0"));
        assert!(!has_quant("x.q4_0_4_4.gguf", "q4_0"));
        assert!(!has_quant("xq4_0.gguf", "q4_0"));
    }

    #[test]
    fn hub_glob_filters() {
        let files = v(&[
            "config.json",
            "tokenizer.json",
            "model.safetensors",
            "1_Pooling/config.json",
            "m.Q4_K_M.gguf",
            "m.q4_k_m.gguf",
            "onnx/model.onnx",
        ]);
        assert_eq!(
            filter_files(&files, &v(&["*.json"]), &[]).unwrap(),
            v(&["config.json", "tokenizer.json", "1_Pooling/config.json"])
        );
        assert_eq!(filter_files(&files, &v(&["*.Q4_K_M.gguf"]), &[]).unwrap(), v(&["m.Q4_K_M.gguf"]));
        assert_eq!(filter_files(&files, &v(&["1_Pooling/*"]), &[]).unwrap(), v(&["1_Pooling/config.json"]));
        assert_eq!(filter_files(&files, &v(&["onnx/"]), &[]).unwrap(), v(&["onnx/model.onnx"]));
        assert_eq!(
            filter_files(&files, &[], &v(&["*.gguf", "onnx/*", "1_Pooling/*"])).unwrap(),
            v(&["config.json", "tokenizer.json", "model.safetensors"])
        );
        assert!(filter_files(&files, &v(&["[unclosed"]), &[]).is_err());
    }
}
