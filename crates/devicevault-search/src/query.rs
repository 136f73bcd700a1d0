//! A search query, parsed and validated in one place.

use grep_regex::{ErrorKind, RegexMatcher, RegexMatcherBuilder};
use serde::{Deserialize, Serialize};

use crate::prefilter::Required;

/// The longest pattern accepted, in bytes.
pub const MAX_PATTERN_BYTES: usize = 1024;
/// The most context lines accepted on either side of a match.
pub const MAX_CONTEXT_LINES: usize = 10;
/// The most matches one device may report.
pub const MAX_MATCHES_PER_DEVICE: usize = 1000;
/// Matches per device when the query does not say.
pub const DEFAULT_MATCHES_PER_DEVICE: usize = 20;
/// The size a compiled regular expression may reach. It bounds the work a
/// pattern such as `\w{500}{500}` can ask of the server; the message names
/// the limit.
const REGEX_SIZE_LIMIT: usize = 2 << 20;
/// The lazy DFA's cache, per search thread.
const DFA_SIZE_LIMIT: usize = 2 << 20;

/// A query as a user sends it, before validation (query-string or JSON
/// fields). [`Query::parse`] turns it into something that can be run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuerySpec {
    /// What to look for, on one line.
    pub pattern: String,
    /// `pattern` is a regular expression (Rust `regex` syntax) rather than
    /// literal text.
    pub regex: bool,
    pub ignore_case: bool,
    /// Lines shown before each match.
    pub context_before: usize,
    /// Lines shown after each match.
    pub context_after: usize,
    /// Select the devices whose configuration has no matching line.
    pub negate: bool,
    /// Matches listed per device; the count beyond is still reported.
    pub max_matches_per_device: usize,
}

impl Default for QuerySpec {
    fn default() -> Self {
        Self {
            pattern: String::new(),
            regex: false,
            ignore_case: false,
            context_before: 0,
            context_after: 0,
            negate: false,
            max_matches_per_device: DEFAULT_MATCHES_PER_DEVICE,
        }
    }
}

impl QuerySpec {
    /// A literal, case-sensitive query for `pattern` with the defaults.
    pub fn literal(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            ..Self::default()
        }
    }

    /// A regular-expression query for `pattern` with the defaults.
    pub fn regex(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            regex: true,
            ..Self::default()
        }
    }
}

/// Why a query cannot be run. Each is the user's to fix (an HTTP 400), and
/// each message names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the pattern is empty")]
    EmptyPattern,
    #[error("the pattern is {len} bytes long; the most is {max}")]
    PatternTooLong { len: usize, max: usize },
    #[error("the pattern contains a line break; patterns match within one line of a configuration")]
    LineBreak,
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex { pattern: String, reason: String },
    #[error("{requested} lines of context {side} a match were asked for; the most is {max}")]
    TooMuchContext {
        side: &'static str,
        requested: usize,
        max: usize,
    },
    #[error("max_matches_per_device must be between 1 and {max}, not {requested}")]
    MaxMatchesOutOfRange { requested: usize, max: usize },
}

/// A validated query with its compiled matcher. Cheap to share between
/// threads (`&Query` is all a search needs).
#[derive(Debug, Clone)]
pub struct Query {
    spec: QuerySpec,
    matcher: RegexMatcher,
    /// What every match contains, so a document without it is skipped.
    required: Required,
}

impl Query {
    /// Validates `spec` and compiles its pattern.
    pub fn parse(spec: QuerySpec) -> Result<Self, QueryError> {
        if spec.pattern.is_empty() {
            return Err(QueryError::EmptyPattern);
        }
        if spec.pattern.len() > MAX_PATTERN_BYTES {
            return Err(QueryError::PatternTooLong {
                len: spec.pattern.len(),
                max: MAX_PATTERN_BYTES,
            });
        }
        if spec.pattern.contains(['\n', '\r']) {
            return Err(QueryError::LineBreak);
        }
        for (side, requested) in [
            ("before", spec.context_before),
            ("after", spec.context_after),
        ] {
            if requested > MAX_CONTEXT_LINES {
                return Err(QueryError::TooMuchContext {
                    side,
                    requested,
                    max: MAX_CONTEXT_LINES,
                });
            }
        }
        if !(1..=MAX_MATCHES_PER_DEVICE).contains(&spec.max_matches_per_device) {
            return Err(QueryError::MaxMatchesOutOfRange {
                requested: spec.max_matches_per_device,
                max: MAX_MATCHES_PER_DEVICE,
            });
        }
        let matcher = RegexMatcherBuilder::new()
            .fixed_strings(!spec.regex)
            .case_insensitive(spec.ignore_case)
            // `^` and `$` at every line's start and end, also before a `\r`
            // (configurations fetched over Telnet often end lines in CRLF);
            // crlf also declares the line terminator, which lets the
            // searcher look for candidate lines in the whole buffer at once.
            .multi_line(true)
            .crlf(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build(&spec.pattern)
            .map_err(|e| QueryError::InvalidRegex {
                pattern: spec.pattern.clone(),
                reason: match e.kind() {
                    ErrorKind::NotAllowed(_) => {
                        "it can only match across a line break; patterns match within one line"
                            .to_owned()
                    }
                    _ => e.to_string(),
                },
            })?;
        let required = Required::of(&spec);
        Ok(Self {
            spec,
            matcher,
            required,
        })
    }

    /// A literal, case-sensitive query for `pattern`.
    pub fn literal(pattern: &str) -> Result<Self, QueryError> {
        Self::parse(QuerySpec::literal(pattern))
    }

    /// A regular-expression query for `pattern`.
    pub fn regex(pattern: &str) -> Result<Self, QueryError> {
        Self::parse(QuerySpec::regex(pattern))
    }

    /// The validated options.
    pub fn spec(&self) -> &QuerySpec {
        &self.spec
    }

    pub(crate) fn matcher(&self) -> &RegexMatcher {
        &self.matcher
    }

    /// False when `text` cannot hold a match: it lacks a literal every
    /// match contains (see the `prefilter` module).
    pub(crate) fn may_match(&self, text: &[u8]) -> bool {
        self.required.may_match(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_regex_is_refused_with_a_message_naming_the_problem() {
        let err = Query::regex("interface (Gi").unwrap_err();
        let QueryError::InvalidRegex { pattern, reason } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(pattern, "interface (Gi");
        assert!(reason.contains("unclosed group"), "{reason}");
        assert!(err.to_string().contains("unclosed group"), "{err}");
    }

    #[test]
    fn a_literal_pattern_with_regex_metacharacters_is_valid() {
        let q = Query::literal("interface (Gi").unwrap();
        assert!(!q.spec().regex);
    }

    #[test]
    fn empty_long_and_multi_line_patterns_are_refused() {
        assert_eq!(Query::literal("").unwrap_err(), QueryError::EmptyPattern);
        assert_eq!(
            Query::literal(&"x".repeat(MAX_PATTERN_BYTES + 1)).unwrap_err(),
            QueryError::PatternTooLong {
                len: MAX_PATTERN_BYTES + 1,
                max: MAX_PATTERN_BYTES
            }
        );
        assert_eq!(Query::literal("a\nb").unwrap_err(), QueryError::LineBreak);
        let err = Query::regex(r"a\nb").unwrap_err();
        assert!(
            err.to_string().contains("within one line"),
            "{err}: a regex that must cross lines is refused"
        );
    }

    #[test]
    fn context_and_match_caps_are_bounded() {
        let mut spec = QuerySpec::literal("x");
        spec.context_after = MAX_CONTEXT_LINES + 1;
        assert!(matches!(
            Query::parse(spec.clone()),
            Err(QueryError::TooMuchContext { side: "after", .. })
        ));
        spec.context_after = MAX_CONTEXT_LINES;
        spec.max_matches_per_device = 0;
        assert!(matches!(
            Query::parse(spec),
            Err(QueryError::MaxMatchesOutOfRange { .. })
        ));
    }

    #[test]
    fn a_regex_too_big_to_compile_is_refused_naming_the_limit() {
        let err = Query::regex(r"\w{1000}\w{1000}\w{1000}").unwrap_err();
        assert!(err.to_string().contains("size limit"), "{err}");
    }

    #[test]
    fn a_spec_deserialises_with_defaults_and_refuses_unknown_fields() {
        let spec: QuerySpec = serde_json::from_str(r#"{"pattern":"ntp server"}"#).unwrap();
        assert_eq!(spec, QuerySpec::literal("ntp server"));
        assert!(serde_json::from_str::<QuerySpec>(r#"{"pattern":"x","regexp":true}"#).is_err());
    }
}
