//! [`RelPath`]: a relative path inside a store that cannot escape it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted relative path, in bytes.
pub const MAX_REL_PATH_BYTES: usize = 1024;
/// Longest accepted path segment, in bytes (the limit of common filesystems).
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Why a string is not an acceptable relative path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelPathError {
    #[error("relative path is empty")]
    Empty,
    #[error("relative path is {len} bytes long, the limit is {MAX_REL_PATH_BYTES}")]
    TooLong { len: usize },
    #[error(
        "relative path segment {segment:?} is {len} bytes long, the limit is {MAX_SEGMENT_BYTES}"
    )]
    SegmentTooLong { segment: String, len: usize },
    #[error("relative path {path:?} is absolute")]
    Absolute { path: String },
    #[error("relative path {path:?} has an empty segment (leading, trailing or doubled '/')")]
    EmptySegment { path: String },
    #[error("relative path {path:?} contains '..'")]
    DotDot { path: String },
    #[error("relative path {path:?} contains a '.' segment")]
    Dot { path: String },
    #[error("relative path {path:?} contains a control character")]
    ControlCharacter { path: String },
    #[error("relative path {path:?} contains a backslash")]
    Backslash { path: String },
    #[error("relative path {path:?} contains a reserved component {segment:?}")]
    Reserved { path: String, segment: String },
}

/// A relative path inside a store: `/`-separated, non-empty segments, none of
/// which is `.`, `..`, `.git` (in any case or spelling git would treat as
/// `.git`), or contains `..`, a backslash, NUL or another control character.
///
/// A `RelPath` can only be built by [`RelPath::parse`], so holding one is
/// proof that joining it to a store root stays inside that root (symlinks
/// inside the store are the storage backend's concern: it refuses to follow
/// them).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    /// Validates `s` as a relative path.
    pub fn parse(s: &str) -> Result<Self, RelPathError> {
        let path = || s.to_owned();
        if s.is_empty() {
            return Err(RelPathError::Empty);
        }
        if s.len() > MAX_REL_PATH_BYTES {
            return Err(RelPathError::TooLong { len: s.len() });
        }
        if s.chars().any(char::is_control) {
            return Err(RelPathError::ControlCharacter { path: path() });
        }
        if s.contains('\\') {
            return Err(RelPathError::Backslash { path: path() });
        }
        if s.starts_with('/') || is_windows_drive(s) {
            return Err(RelPathError::Absolute { path: path() });
        }
        if s.contains("..") {
            return Err(RelPathError::DotDot { path: path() });
        }
        for segment in s.split('/') {
            if segment.is_empty() {
                return Err(RelPathError::EmptySegment { path: path() });
            }
            if segment == "." {
                return Err(RelPathError::Dot { path: path() });
            }
            if segment.len() > MAX_SEGMENT_BYTES {
                return Err(RelPathError::SegmentTooLong {
                    segment: segment.to_owned(),
                    len: segment.len(),
                });
            }
            if is_reserved(segment) {
                return Err(RelPathError::Reserved {
                    path: path(),
                    segment: segment.to_owned(),
                });
            }
        }
        Ok(Self(s.to_owned()))
    }

    /// The path as a string, `/`-separated.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments of the path, in order.
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment: the file name.
    pub fn file_name(&self) -> &str {
        self.segments().next_back().unwrap_or(&self.0)
    }

    /// The directory holding the file: every segment but the last, `None`
    /// for a file at the top.
    pub fn parent(&self) -> Option<&str> {
        self.0.rsplit_once('/').map(|(dir, _)| dir)
    }

    /// Whether the path is inside the top-level directory `dir` (a file
    /// below it, not `dir` itself).
    pub fn is_under(&self, dir: &str) -> bool {
        self.0
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Turns an arbitrary label (a task identifier, a device name) into one
    /// safe path segment: every byte outside `[A-Za-z0-9._-]` becomes `_`,
    /// runs of dots are broken up, and the result is cut to fit a segment.
    /// An empty label becomes `_`.
    pub fn sanitize_segment(label: &str) -> String {
        let mut out = String::with_capacity(label.len());
        for c in label.chars() {
            let keep = c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
            let c = if keep { c } else { '_' };
            if c == '.' && (out.is_empty() || out.ends_with('.')) {
                out.push('_');
            } else {
                out.push(c);
            }
        }
        // Leave room for an extension the caller may append.
        out.truncate(MAX_SEGMENT_BYTES - 16);
        if out.is_empty() || is_reserved(&out) {
            out.insert(0, '_');
        }
        out
    }
}

/// `.git` in any case, and the spellings that some filesystems fold to it
/// (trailing dots or spaces, the NTFS short name `git~1`). Also the lock and
/// temporary-file names the storage backends use for themselves.
fn is_reserved(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches(['.', ' ']);
    trimmed == ".git" || trimmed == "git~1" || lower.starts_with(".devicevault-")
}

fn is_windows_drive(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelPath({:?})", self.0)
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for RelPath {
    type Err = RelPathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for RelPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RelPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_seed_example_path() {
        let p = RelPath::parse("123/backup_now-123-2026-01-12T12-34-56Z.txt").unwrap();
        assert_eq!(p.file_name(), "backup_now-123-2026-01-12T12-34-56Z.txt");
        assert_eq!(p.segments().count(), 2);
    }

    #[test]
    fn accepts_unicode_spaces_and_single_dots_inside_names() {
        for ok in [
            "R1 core.cfg",
            "zürich/sw-1.cfg",
            "a.b.c",
            ".hidden",
            "a@b:c",
        ] {
            RelPath::parse(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
    }

    #[test]
    fn parent_and_is_under_see_whole_segments() {
        let p = RelPath::parse("12/sub/r1.cfg").unwrap();
        assert_eq!(p.parent(), Some("12/sub"));
        assert!(p.is_under("12") && p.is_under("12/sub"));
        assert!(!p.is_under("1") && !p.is_under("12/su"));
        let top = RelPath::parse("r1.cfg").unwrap();
        assert_eq!(top.parent(), None);
        assert!(!top.is_under("r1.cfg"));
    }

    #[test]
    fn sanitize_segment_makes_task_identifiers_safe() {
        let s = RelPath::sanitize_segment("backup_now:123:2026-01-12T12:34:56.789Z");
        assert_eq!(s, "backup_now_123_2026-01-12T12_34_56.789Z");
        RelPath::parse(&format!("123/{s}.txt")).unwrap();
        for hostile in [
            "..",
            "../../etc/passwd",
            ".git",
            "",
            "a\0b",
            "....",
            "GIT~1",
        ] {
            let s = RelPath::sanitize_segment(hostile);
            RelPath::parse(&s).unwrap_or_else(|e| panic!("{hostile:?} -> {s:?}: {e}"));
        }
    }
}
