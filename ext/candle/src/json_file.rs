//! Small JSON files (configs, indexes, tokenizer side files) read whole,
//! with a size bound so a hostile file cannot make us allocate without
//! limit. Errors carry the caller's kind and name the file.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// The parsed JSON of `path`, which must be at most `max_bytes` long.
pub fn read_json(path: &Path, max_bytes: u64, kind: ErrorKind) -> Result<serde_json::Value> {
    let bad = |why: String| Error::new(kind, format!("{}: {}", path.display(), why));
    let len = std::fs::metadata(path).map_err(|e| bad(format!("cannot read: {e}")))?.len();
    if len > max_bytes {
        return Err(bad(format!("{len} bytes is too large (at most {max_bytes})")));
    }
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_typed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, br#"{"a": 1}"#).unwrap();
        assert_eq!(read_json(&p, 100, ErrorKind::Tokenizer).unwrap()["a"], 1);
        let e = read_json(&p, 4, ErrorKind::InvalidModelFile).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidModelFile);
        assert!(e.message.contains("too large"), "{}", e.message);
        std::fs::write(&p, b"{oops").unwrap();
        assert!(read_json(&p, 100, ErrorKind::Tokenizer).unwrap_err().message.contains("not valid JSON"));
        assert_eq!(read_json(&dir.path().join("none"), 100, ErrorKind::Tokenizer).unwrap_err().kind, ErrorKind::Tokenizer);
    }
}
