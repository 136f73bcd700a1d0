//! Git names that arrive from configuration or from a `storage_ref`.

use std::fmt;

/// Longest accepted branch name, in bytes.
const MAX_BRANCH_BYTES: usize = 200;

/// Why a string is not an acceptable branch name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid branch name {name:?}: {reason}")]
pub struct BranchNameError {
    pub name: String,
    pub reason: &'static str,
}

/// A branch name (without `refs/heads/`) that follows `git check-ref-format
/// --branch` and cannot be mistaken for a command-line option.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BranchName(String);

impl BranchName {
    /// Validates `s` as a branch name.
    pub fn parse(s: &str) -> Result<Self, BranchNameError> {
        let fail = |reason| {
            Err(BranchNameError {
                name: s.to_owned(),
                reason,
            })
        };
        if s.is_empty() {
            return fail("it is empty");
        }
        if s.len() > MAX_BRANCH_BYTES {
            return fail("it is too long");
        }
        if s.starts_with('-') {
            return fail("it starts with '-'");
        }
        if s == "@" || s == "HEAD" {
            return fail("it is reserved");
        }
        if s.starts_with("refs/") {
            return fail("give the branch name without 'refs/'");
        }
        if s.chars()
            .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
        {
            return fail("it contains a space, a control character or one of ~^:?*[\\");
        }
        if s.contains("..") || s.contains("@{") || s.contains("//") {
            return fail("it contains '..', '@{' or '//'");
        }
        if s.starts_with('/') || s.ends_with('/') || s.ends_with('.') {
            return fail("it starts or ends with '/' or ends with '.'");
        }
        for component in s.split('/') {
            if component.starts_with('.') || component.ends_with(".lock") {
                return fail("a component starts with '.' or ends with '.lock'");
            }
        }
        Ok(Self(s.to_owned()))
    }

    /// The branch name, e.g. `main`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full reference name, e.g. `refs/heads/main`.
    pub fn full_ref(&self) -> String {
        format!("refs/heads/{}", self.0)
    }
}

impl Default for BranchName {
    fn default() -> Self {
        Self("main".to_owned())
    }
}

impl fmt::Display for BranchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BranchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BranchName({:?})", self.0)
    }
}

impl<'de> serde::Deserialize<'de> for BranchName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for BranchName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Why a string is not a commit id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid commit id {id:?}: expected 4 to 64 lowercase hex digits")]
pub struct CommitIdError {
    pub id: String,
}

/// A commit id in lowercase hex: full (40 digits for SHA-1, 64 for SHA-256)
/// or abbreviated to at least 4 digits. DeviceVault always writes full ids,
/// since an abbreviation can become ambiguous as the repository grows; it
/// accepts abbreviated ones in refs written by other tools (the seed's own
/// example is `…@abc123`) and the git backend refuses them when ambiguous.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(String);

impl CommitId {
    /// Validates `s` as a lowercase hex commit id of 4 to 64 digits.
    pub fn parse(s: &str) -> Result<Self, CommitIdError> {
        let hex = s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if hex && (4..=64).contains(&s.len()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(CommitIdError { id: s.to_owned() })
        }
    }

    /// The id as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a full SHA-1 or SHA-256 id rather than an abbreviation.
    pub fn is_full(&self) -> bool {
        self.0.len() == 40 || self.0.len() == 64
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_follow_check_ref_format() {
        for ok in ["main", "backups/site-a", "release-1.2", "feature_x"] {
            BranchName::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "-f",
            "--upload-pack=x",
            "a..b",
            "a b",
            "a:b",
            "a~1",
            "a^",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "/a",
            "a/",
            "a.",
            "a.lock",
            ".a",
            "a/.b",
            "a//b",
            "@",
            "HEAD",
            "a@{1}",
            "refs/heads/main",
            "a\nb",
        ] {
            assert!(BranchName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn commit_ids_are_lowercase_hex_of_4_to_64_digits() {
        assert!(CommitId::parse(&"a".repeat(40)).unwrap().is_full());
        assert!(CommitId::parse(&"0".repeat(64)).unwrap().is_full());
        assert!(!CommitId::parse("abc123").unwrap().is_full());
        for bad in [
            "abc",
            &"A".repeat(40),
            &"g".repeat(40),
            &"a".repeat(65),
            "",
            "-abc",
        ] {
            assert!(CommitId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
