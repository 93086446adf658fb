//! Input validation: reject repo ids, revisions and filenames that could escape
//! the cache directory, before any request or filesystem access.

use crate::err;
use crate::error::Result;

/// Longest name of one file or directory (ext4, APFS, NTFS: 255 bytes).
const MAX_COMPONENT: usize = 255;

fn bad_char(c: char) -> bool {
    c == '\0' || c == '\\' || c.is_control()
}

/// Checks a `/`-separated relative path: no empty parts, no `.`/`..`, no
/// leading `/`, no NUL/backslash/control characters.
fn check_path(what: &str, value: &str, max_len: usize) -> Result<()> {
    if value.is_empty() {
        return Err(err!(Argument, "{what} must not be empty"));
    }
    if value.len() > max_len {
        return Err(err!(Argument, "{what} is too long ({} bytes, max {max_len})", value.len()));
    }
    if let Some(c) = value.chars().find(|c| bad_char(*c)) {
        return Err(err!(
            Argument,
            "invalid {what} {:?}: contains forbidden character {:?} (NUL, backslash and control characters are not allowed)",
            value,
            c
        ));
    }
    if value.starts_with('/') {
        return Err(err!(Argument, "invalid {what} {:?}: must be relative (no leading '/')", value));
    }
    // Windows drive-letter absolute paths (C:...)
    let b = value.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Err(err!(Argument, "invalid {what} {:?}: must not be an absolute path", value));
    }
    for part in value.split('/') {
        if part.is_empty() {
            return Err(err!(Argument, "invalid {what} {:?}: empty path component ('//' or trailing '/')", value));
        }
        if part == "." || part == ".." {
            return Err(err!(Argument, "invalid {what} {:?}: '.' and '..' components are not allowed", value));
        }
        // File systems limit one name to 255 bytes: refuse before any request
        // rather than fail when the file is written.
        if part.len() > MAX_COMPONENT {
            return Err(err!(
                Argument,
                "invalid {what}: the path component {:?}... is {} bytes long (at most {MAX_COMPONENT})",
                part.chars().take(40).collect::<String>(),
                part.len()
            ));
        }
    }
    Ok(())
}

/// Longest namespace or name of a repo id (huggingface_hub's limit).
pub const MAX_REPO_PART: usize = 96;

/// `name` or `org/name` as huggingface_hub accepts them: each part 1 to 96
/// characters of `[A-Za-z0-9._-]`, beginning and ending with a letter, digit
/// or `_`, without `--` or `..`. The one rule: Ruby asks it through
/// `Candle::Hub.valid_repo_id?`.
pub fn validate_repo_id(repo_id: &str) -> Result<()> {
    let bad = || {
        err!(
            Argument,
            "invalid repo id {:?}: expected \"name\" or \"org/name\", each part at most {MAX_REPO_PART} letters, digits, '.', '_' and '-', beginning and ending with a letter, digit or '_', without '--' or '..'",
            repo_id
        )
    };
    let parts: Vec<&str> = repo_id.split('/').collect();
    if parts.len() > 2 {
        return Err(bad());
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for p in parts {
        let ok = (1..=MAX_REPO_PART).contains(&p.len())
            && p.chars().all(|c| word(c) || matches!(c, '.' | '-'))
            && p.starts_with(word)
            && p.ends_with(word)
            && !p.contains("--")
            && !p.contains("..");
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// Branch, tag or commit; may contain `/` (branch names) but no `..` etc.
pub fn validate_revision(revision: &str) -> Result<()> {
    check_path("revision", revision, 255)
}

/// A file path inside the repo; may contain `/` subdirectories.
pub fn validate_filename(filename: &str) -> Result<()> {
    check_path("filename", filename, 1024)
}

/// Values that come from the server and become path names (etag, commit).
pub(crate) fn validate_server_token(what: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value.len() > 128
        || value == "."
        || value == ".."
        || !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(err!(Download, "the Hub sent an invalid {what} {:?}", value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn hub_validate_repo_ids() {
        let long = "a".repeat(96);
        for ok in ["gpt2", "org/name", "TheBloke/Llama-2-7B-GGUF", "a.b_c-d/e.f", "_x_/y", long.as_str(), &format!("{long}/{long}")] {
            validate_repo_id(ok).unwrap();
        }
        let too_long = format!("org/{}", "a".repeat(97));
        for bad in ["", "/x", "x/", "a/b/c", "../x", "x/..", "..", "a\\b", "a b", "a/b\0", "a--b/c", "é/x", "-x/y", "x./y", "a..b", too_long.as_str()] {
            let e = validate_repo_id(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Argument, "{bad}");
        }
    }

    #[test]
    fn hub_validate_revisions_and_files() {
        for ok in ["main", "refs/pr/1", "v1.0", "0123456789abcdef0123456789abcdef01234567"] {
            validate_revision(ok).unwrap();
        }
        for ok in ["config.json", "1_Pooling/config.json", "a/b/c.d", "..foo", "x..y"] {
            validate_filename(ok).unwrap();
        }
        for bad in ["", "..", "../x", "a/../b", "a/..", "/etc/passwd", "a//b", "a/", "a\\b", "a\0b", "a\nb", "./a", "C:x"] {
            assert_eq!(validate_revision(bad).unwrap_err().kind, ErrorKind::Argument, "{bad:?}");
            assert_eq!(validate_filename(bad).unwrap_err().kind, ErrorKind::Argument, "{bad:?}");
        }
        let long = "é".repeat(128); // 256 bytes
        assert_eq!(validate_filename(&format!("dir/{long}.json")).unwrap_err().kind, ErrorKind::Argument);
        assert_eq!(validate_filename(&format!("{long}/x")).unwrap_err().kind, ErrorKind::Argument);
        validate_filename(&format!("{}/{}", "a".repeat(255), "b".repeat(255))).unwrap();
    }
}
