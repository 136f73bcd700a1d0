//! Ruling a whole configuration out before its lines are searched.
//!
//! A regex engine accelerates a search with the literals a match starts
//! with. In configurations those are often on nearly every line: `host
//! 10\.\d+ any eq 8443` starts with `host 10.`, on every ACL line, and
//! `(permit|deny) (tcp|udp) host \S+ any eq (8443|9443)` with `permit` or
//! `deny`. The engine then verifies line after line, at a few hundred MB/s,
//! seconds for a fleet. But every match also contains `any eq 8443`, or one
//! of `8443`/`9443`, which few configurations hold. So a query keeps every
//! literal (or set of alternative literals) that each match must contain,
//! and a document lacking any of them is ruled out by memchr-speed scans.
//! Checking them all costs little: a common literal is found within the
//! first lines; a rare one is what rules documents out.

use memchr::memmem::Finder;
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{Hir, HirKind};

use crate::query::QuerySpec;

/// Literals shorter than this are too common in configurations to rule
/// anything out, and a set holding one is as weak.
const MIN_LITERAL: usize = 3;
/// At most this many requirements are checked (the longest kept).
const MAX_REQUIREMENTS: usize = 8;
/// At most this many alternatives in one set.
const MAX_SET: usize = 64;

/// What every match of a query contains.
#[derive(Debug, Clone, Default)]
pub(crate) struct Required(Vec<Requirement>);

#[derive(Debug, Clone)]
enum Requirement {
    /// Boxed: a finder is ten times the size of a compiled regex handle.
    Literal(Box<Finder<'static>>),
    /// At least one of several literals (compiled to a multi-literal
    /// search, which the regex crate runs with SIMD).
    AnyOf(Regex),
}

impl Required {
    /// The requirements of a regex query; none for a literal query (its
    /// matcher is already a memchr-speed literal search) or one whose
    /// pattern yields no usable literal.
    pub(crate) fn of(spec: &QuerySpec) -> Self {
        if !spec.regex {
            return Self::default();
        }
        let Ok(hir) = regex_syntax::ParserBuilder::new()
            .case_insensitive(spec.ignore_case)
            .multi_line(true)
            .crlf(true)
            .build()
            .parse(&spec.pattern)
        else {
            return Self::default();
        };
        let mut sets: Vec<Vec<Vec<u8>>> = requirements(&hir)
            .into_iter()
            .filter(|set| set.iter().all(|l| l.len() >= MIN_LITERAL) && set.len() <= MAX_SET)
            .collect();
        sets.sort_by_key(|set| std::cmp::Reverse(set.iter().map(Vec::len).min()));
        sets.truncate(MAX_REQUIREMENTS);
        Self(sets.into_iter().filter_map(Requirement::new).collect())
    }

    /// False when `text` lacks something every match contains.
    pub(crate) fn may_match(&self, text: &[u8]) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Literal(f) => f.find(text).is_some(),
            Requirement::AnyOf(re) => re.is_match(text),
        })
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl Requirement {
    fn new(mut set: Vec<Vec<u8>>) -> Option<Self> {
        if set.len() == 1 {
            return Some(Self::Literal(Box::new(
                Finder::new(&set.pop()?).into_owned(),
            )));
        }
        let alternatives: Vec<String> = set
            .iter()
            .map(|l| regex::escape(std::str::from_utf8(l).ok()?).into())
            .collect::<Option<_>>()?;
        RegexBuilder::new(&alternatives.join("|"))
            .size_limit(1 << 20)
            .build()
            .ok()
            .map(Self::AnyOf)
    }
}

/// Sets of literals such that every match of `hir` contains at least one
/// literal of each set. By structure: a literal requires itself; a
/// concatenation requires what each of its parts requires; a group, or a
/// repetition of at least once, what its body requires; an alternation
/// one of its branches' (each branch's longest requirement, merged into
/// one set; nothing if a branch requires nothing). Classes, anchors and
/// optional parts require nothing (case folding turns letters into
/// classes, so with `ignore_case` only caseless runs such as `10.0.0.1`
/// remain).
fn requirements(hir: &Hir) -> Vec<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(l) => vec![vec![l.0.to_vec()]],
        HirKind::Capture(c) => requirements(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => requirements(&r.sub),
        HirKind::Concat(parts) => parts.iter().flat_map(requirements).collect(),
        HirKind::Alternation(branches) => {
            let mut union = Vec::new();
            for b in branches {
                let Some(best) = requirements(b)
                    .into_iter()
                    .max_by_key(|set| set.iter().map(Vec::len).min())
                else {
                    return Vec::new();
                };
                union.extend(best);
            }
            vec![union]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(pattern: &str, ignore_case: bool) -> Required {
        Required::of(&QuerySpec {
            ignore_case,
            ..QuerySpec::regex(pattern)
        })
    }

    #[test]
    fn a_document_without_a_required_literal_is_ruled_out() {
        let r = required(r"host 10\.\d+\.\d+\.\d+ any eq 8443", false);
        assert!(!r.may_match(b"permit tcp host 10.1.2.3 any eq 443\n"));
        assert!(r.may_match(b"permit tcp host 10.1.2.3 any eq 8443\n"));
    }

    #[test]
    fn an_alternation_requires_one_of_its_branches() {
        let r = required(
            r"(permit|deny) (tcp|udp) host \S+ any eq (8443|9443)",
            false,
        );
        assert!(!r.may_match(b" permit tcp host 10.1.1.1 any eq 443\n"));
        assert!(r.may_match(b" deny udp host 10.1.1.1 any eq 9443\n"));
        let r = required(r"(community|key) \S+", false);
        assert!(r.may_match(b"tacacs-server key 7 x\n"));
        assert!(!r.may_match(b"hostname r1\n"));
        let r = required(r"(community|k) \S+", false);
        assert_eq!(r.len(), 0, "a branch with a too-short literal");
    }

    #[test]
    fn optional_and_case_folded_parts_require_nothing() {
        assert_eq!(required(r"(ntp )?server", false).len(), 1);
        assert!(required(r"(ntp )?server", false).may_match(b"server"));
        let r = required(r"ntp server 10\.0\.0\.1", true);
        assert!(!r.may_match(b"NTP SERVER 10.0.0.2"), "the caseless run");
        assert!(r.may_match(b"NTP SERVER 10.0.0.1"));
        assert_eq!(required(r"[a-z]+\d*", false).len(), 0);
    }

    #[test]
    fn a_literal_query_has_no_requirements_of_its_own() {
        let r = Required::of(&QuerySpec::literal("never here"));
        assert!(r.may_match(b"x"));
    }
}
