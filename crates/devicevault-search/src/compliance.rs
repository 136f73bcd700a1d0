//! Compliance rules: a saved search with an expectation, optionally within
//! the blocks of a configuration.
//!
//! A *block* is IOS-style: a header line at column 0 and the indented
//! lines after it, up to the next line that is not indented (a `!`, the
//! next section, an empty line, or the end). Nested sections belong to
//! their top-level block (`router bgp 65000` holds its `address-family`
//! lines). This fits Cisco IOS/IOS-XE/NX-OS, Arista EOS and other
//! indent-structured configurations.
//!
//! Junos in braces works for top-level stanzas only: `interfaces {` is a
//! header at column 0 and its body runs to the closing `}` at column 0, so
//! a rule can be scoped to `interfaces`, `system` or `snmp`, but not to
//! one interface (`ge-0/0/0 {` is indented, hence not a header). Rules for
//! Junos that need a finer scope are written against `display set` output,
//! where every statement is one full line (`^set interfaces \S+ disable`).
//!
//! A state computed on the full configuration says something about its
//! secrets when the rule is about them ("must not contain `snmp-server
//! community public`"), so only users with `view_secrets` should author
//! rules evaluated with [`Rule::evaluate`]; [`Rule::evaluate_document`]
//! with [`Audience::Masked`] gives a state and lines anyone who may see
//! the device may read.

use std::fmt;

use grep_matcher::LineTerminator;
use grep_searcher::{Searcher, SearcherBuilder};
use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::document::{Audience, Document};
use crate::query::{MAX_PATTERN_BYTES, Query};
use crate::search::{Collect, FirstMatch};

/// What a rule expects of a configuration (or of each of its blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// At least one line matches (in every block, when scoped).
    MustContain,
    /// No line matches (in any block, when scoped).
    MustNotContain,
}

/// Why a rule cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("invalid block header pattern {pattern:?}: {reason}")]
    InvalidBlock { pattern: String, reason: String },
    #[error("a rule's pattern cannot be negated; use the must_not_contain expectation")]
    NegatedPattern,
}

/// A compliance rule: a query, what is expected of it, and optionally the
/// blocks it applies to.
#[derive(Debug, Clone)]
pub struct Rule {
    query: Query,
    expectation: Expectation,
    block: Option<Regex>,
}

/// One line of a configuration, as a rule reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// 1-based.
    pub line_number: u64,
    pub line: String,
}

/// How a rule failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    /// `MustContain` without a block: no line matches.
    Missing,
    /// `MustContain` within blocks: the headers of the blocks that have no
    /// matching line (the first `max_matches_per_device`), and how many.
    MissingInBlocks { blocks: Vec<Line>, total: usize },
    /// `MustNotContain`: the matching lines (the first
    /// `max_matches_per_device`), and how many.
    Present { lines: Vec<Line>, total: usize },
}

/// Why a configuration's compliance is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownReason {
    /// The device has no successful backup to evaluate (the caller's).
    NoConfiguration,
    /// The configuration is empty or blank.
    Empty,
    /// The configuration is binary (it contains a NUL byte).
    Binary,
    /// The audience may not see this configuration: it could not be
    /// masked.
    CannotMask,
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoConfiguration => "the device has no successful backup",
            Self::Empty => "the configuration is empty",
            Self::Binary => "the configuration is binary",
            Self::CannotMask => "the configuration's secrets cannot be masked",
        })
    }
}

/// A configuration's state under a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Compliance {
    Compliant,
    NotCompliant { violation: Violation },
    Unknown { reason: UnknownReason },
}

impl Rule {
    /// A rule expecting `expectation` of `query`'s pattern, within the
    /// blocks whose header line matches `block` (a regular expression
    /// anchored at the start of the line: `interface .*`, `line vty`), or
    /// in the whole configuration.
    pub fn new(
        query: Query,
        expectation: Expectation,
        block: Option<&str>,
    ) -> Result<Self, RuleError> {
        if query.spec().negate {
            return Err(RuleError::NegatedPattern);
        }
        let block = block
            .map(|pattern| {
                let invalid = |reason: String| RuleError::InvalidBlock {
                    pattern: pattern.to_owned(),
                    reason,
                };
                if pattern.is_empty() {
                    return Err(invalid("it is empty".into()));
                }
                if pattern.len() > MAX_PATTERN_BYTES {
                    return Err(invalid(format!(
                        "it is {} bytes long; the most is {MAX_PATTERN_BYTES}",
                        pattern.len()
                    )));
                }
                RegexBuilder::new(&format!("^(?:{pattern})"))
                    .size_limit(2 << 20)
                    .build()
                    .map_err(|e| invalid(e.to_string()))
            })
            .transpose()?;
        Ok(Self {
            query,
            expectation,
            block,
        })
    }

    pub fn query(&self) -> &Query {
        &self.query
    }

    pub fn expectation(&self) -> Expectation {
        self.expectation
    }

    /// The state of `content` (a stored configuration, in full) under this
    /// rule.
    ///
    /// The reported lines are the configuration's own, secrets included:
    /// evaluate with [`evaluate_document`](Self::evaluate_document) and
    /// [`Audience::Masked`] for a report that users without
    /// `view_secrets` may read.
    pub fn evaluate(&self, content: &[u8]) -> Compliance {
        if content.contains(&0) {
            return Compliance::Unknown {
                reason: UnknownReason::Binary,
            };
        }
        if content.iter().all(u8::is_ascii_whitespace) {
            return Compliance::Unknown {
                reason: UnknownReason::Empty,
            };
        }
        let mut searcher = SearcherBuilder::new()
            .line_terminator(LineTerminator::crlf())
            .line_number(true)
            .build();
        let violation = match (&self.block, self.expectation) {
            (None, Expectation::MustContain) => {
                (!self.contains(&mut searcher, content)).then_some(Violation::Missing)
            }
            (None, Expectation::MustNotContain) => {
                let (lines, total) = self.collect(&mut searcher, content, 0);
                (total > 0).then_some(Violation::Present { lines, total })
            }
            (Some(header), Expectation::MustContain) => {
                let cap = self.query.spec().max_matches_per_device;
                let mut blocks = Vec::new();
                let mut total = 0;
                for b in Blocks::new(content, header) {
                    if !self.contains(&mut searcher, b.body) {
                        total += 1;
                        if blocks.len() < cap {
                            blocks.push(b.header);
                        }
                    }
                }
                (total > 0).then_some(Violation::MissingInBlocks { blocks, total })
            }
            (Some(header), Expectation::MustNotContain) => {
                let cap = self.query.spec().max_matches_per_device;
                let mut lines = Vec::new();
                let mut total = 0;
                for b in Blocks::new(content, header) {
                    let (found, n) = self.collect(&mut searcher, b.body, b.header.line_number);
                    total += n;
                    lines.extend(found.into_iter().take(cap - lines.len()));
                }
                (total > 0).then_some(Violation::Present { lines, total })
            }
        };
        match violation {
            None => Compliance::Compliant,
            Some(violation) => Compliance::NotCompliant { violation },
        }
    }

    /// The state of `document` as `audience` sees it: with
    /// [`Audience::Masked`], matching and the reported lines see secrets
    /// masked, so neither the state nor the report can reveal one.
    pub fn evaluate_document(&self, document: &Document, audience: Audience) -> Compliance {
        match document.text_for(audience) {
            Some(text) => self.evaluate(&text),
            None => Compliance::Unknown {
                reason: UnknownReason::CannotMask,
            },
        }
    }

    fn contains(&self, searcher: &mut Searcher, text: &[u8]) -> bool {
        let mut sink = FirstMatch::default();
        // The searcher and the matcher are built with the same line
        // terminator, the one configuration error possible.
        searcher
            .search_slice(self.query.matcher(), text, &mut sink)
            .is_ok()
            && sink.found
    }

    /// The first matching lines of `text` (numbered after `offset` lines)
    /// and how many match.
    fn collect(&self, searcher: &mut Searcher, text: &[u8], offset: u64) -> (Vec<Line>, usize) {
        let mut sink = Collect::new(self.query.spec().max_matches_per_device);
        if searcher
            .search_slice(self.query.matcher(), text, &mut sink)
            .is_err()
        {
            return (Vec::new(), 0);
        }
        let lines = sink
            .found
            .iter()
            .zip(&sink.lines)
            .map(|(&n, line)| Line {
                line_number: n + offset,
                line: crate::search::show(line),
            })
            .collect();
        (lines, sink.total)
    }
}

/// A block: its header line and the bytes of its indented body.
struct Block<'a> {
    header: Line,
    body: &'a [u8],
}

/// The blocks of a configuration whose header matches a pattern.
struct Blocks<'a, 'r> {
    text: &'a [u8],
    header: &'r Regex,
    /// Byte offset and 1-based number of the next line to read.
    pos: usize,
    line_number: u64,
}

impl<'a, 'r> Blocks<'a, 'r> {
    fn new(text: &'a [u8], header: &'r Regex) -> Self {
        Self {
            text,
            header,
            pos: 0,
            line_number: 1,
        }
    }

    /// The next line (with its terminator) and its number.
    fn next_line(&mut self) -> Option<(u64, usize, &'a [u8])> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = (self.line_number, self.pos, &rest[..len]);
        self.pos += len;
        self.line_number += 1;
        Some(line)
    }
}

fn is_indented(line: &[u8]) -> bool {
    matches!(line.first(), Some(b' ' | b'\t'))
}

fn trim_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl<'a> Iterator for Blocks<'a, '_> {
    type Item = Block<'a>;

    fn next(&mut self) -> Option<Block<'a>> {
        loop {
            let (number, _, line) = self.next_line()?;
            let head = trim_end(line);
            if is_indented(head) || !self.header.is_match(head) {
                continue;
            }
            let start = self.pos;
            while self.pos < self.text.len() && is_indented(&self.text[self.pos..]) {
                self.next_line();
            }
            return Some(Block {
                header: Line {
                    line_number: number,
                    line: crate::search::show(head),
                },
                body: &self.text[start..self.pos],
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use devicevault_core::Timestamp;

    use super::*;
    use crate::query::QuerySpec;

    const IOS: &str = "\
hostname edge-r1
!
service password-encryption
enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0
!
interface GigabitEthernet0/0
 description uplink to core-sw1 Gi1/0/1
 ip address 10.0.0.2 255.255.255.252
 no shutdown
!
interface GigabitEthernet0/1
 ip address 10.1.1.1 255.255.255.0
 ip access-group 110 in
 shutdown
!
interface Loopback0
 description router-id
 ip address 192.0.2.1 255.255.255.255
!
router bgp 65001
 neighbor 10.0.0.1 remote-as 65000
 address-family ipv4
  neighbor 10.0.0.1 activate
 exit-address-family
!
ip http server
access-list 110 permit tcp any host 10.1.1.10 eq 22
access-list 110 deny   ip any any log
snmp-server community S3cr3tRO RO
!
line vty 0 4
 transport input telnet ssh
line vty 5 15
 transport input ssh
!
end
";

    fn rule(pattern: &str, regex: bool, e: Expectation, block: Option<&str>) -> Rule {
        let spec = QuerySpec {
            regex,
            ..QuerySpec::literal(pattern)
        };
        Rule::new(Query::parse(spec).unwrap(), e, block).unwrap()
    }

    fn line(n: u64, text: &str) -> Line {
        Line {
            line_number: n,
            line: text.into(),
        }
    }

    #[test]
    fn must_contain_is_compliant_when_a_line_matches_and_missing_otherwise() {
        let r = rule(
            "service password-encryption",
            false,
            Expectation::MustContain,
            None,
        );
        assert_eq!(r.evaluate(IOS.as_bytes()), Compliance::Compliant);
        let r = rule(r"^ntp server \S+", true, Expectation::MustContain, None);
        assert_eq!(
            r.evaluate(IOS.as_bytes()),
            Compliance::NotCompliant {
                violation: Violation::Missing
            }
        );
    }

    #[test]
    fn must_not_contain_reports_each_offending_line_with_its_number() {
        let r = rule("ip http server", false, Expectation::MustNotContain, None);
        assert_eq!(
            r.evaluate(IOS.as_bytes()),
            Compliance::NotCompliant {
                violation: Violation::Present {
                    lines: vec![line(26, "ip http server")],
                    total: 1
                }
            }
        );
        let r = rule("ip ftp server", false, Expectation::MustNotContain, None);
        assert_eq!(r.evaluate(IOS.as_bytes()), Compliance::Compliant);
    }

    #[test]
    fn every_block_must_contain_names_the_blocks_that_lack_it() {
        let r = rule(
            " description ",
            false,
            Expectation::MustContain,
            Some("interface .*"),
        );
        assert_eq!(
            r.evaluate(IOS.as_bytes()),
            Compliance::NotCompliant {
                violation: Violation::MissingInBlocks {
                    blocks: vec![line(11, "interface GigabitEthernet0/1")],
                    total: 1
                }
            }
        );
    }

    #[test]
    fn must_not_contain_within_blocks_ignores_matches_outside_them() {
        // "telnet" only in the first vty block; and "shutdown" occurs in
        // the interfaces, not in the vty blocks.
        let r = rule(
            "telnet",
            false,
            Expectation::MustNotContain,
            Some("line vty"),
        );
        assert_eq!(
            r.evaluate(IOS.as_bytes()),
            Compliance::NotCompliant {
                violation: Violation::Present {
                    lines: vec![line(32, " transport input telnet ssh")],
                    total: 1
                }
            }
        );
        let r = rule(
            "shutdown",
            false,
            Expectation::MustNotContain,
            Some("line vty"),
        );
        assert_eq!(r.evaluate(IOS.as_bytes()), Compliance::Compliant);
    }

    #[test]
    fn a_block_holds_its_nested_sections_and_ends_at_the_next_unindented_line() {
        let r = rule(
            "activate",
            false,
            Expectation::MustNotContain,
            Some("router bgp"),
        );
        let Compliance::NotCompliant {
            violation: Violation::Present { lines, .. },
        } = r.evaluate(IOS.as_bytes())
        else {
            panic!("the nested address-family line is in the bgp block")
        };
        assert_eq!(lines, [line(23, "  neighbor 10.0.0.1 activate")]);
        // `ip http server` follows the block's closing `!`: outside it.
        let r = rule(
            "ip http server",
            false,
            Expectation::MustNotContain,
            Some("router bgp"),
        );
        assert_eq!(r.evaluate(IOS.as_bytes()), Compliance::Compliant);
    }

    #[test]
    fn a_block_header_must_start_at_column_zero_and_match_from_the_line_start() {
        let r = rule("remote-as", false, Expectation::MustNotContain, Some("bgp"));
        assert_eq!(
            r.evaluate(IOS.as_bytes()),
            Compliance::Compliant,
            "`bgp` does not match `router bgp 65001` from its start"
        );
    }

    #[test]
    fn blocks_in_a_crlf_configuration_are_found_and_lines_shown_without_cr() {
        let crlf = IOS.replace('\n', "\r\n");
        let r = rule(
            r"description$",
            true,
            Expectation::MustContain,
            Some(r"interface \S+$"),
        );
        let Compliance::NotCompliant {
            violation: Violation::MissingInBlocks { blocks, total },
        } = r.evaluate(crlf.as_bytes())
        else {
            panic!()
        };
        // No description ends its line: all three interfaces miss it.
        assert_eq!(total, 3);
        assert_eq!(blocks[0], line(6, "interface GigabitEthernet0/0"));
    }

    #[test]
    fn junos_top_level_stanzas_are_blocks_up_to_their_closing_brace() {
        let junos = "\
system {
    host-name edge-mx1;
    services {
        telnet;
        ssh;
    }
}
interfaces {
    ge-0/0/0 {
        description \"uplink\";
    }
}
snmp {
    community public {
        authorization read-only;
    }
}
";
        let r = rule(
            "telnet;",
            false,
            Expectation::MustNotContain,
            Some("system"),
        );
        assert_eq!(
            r.evaluate(junos.as_bytes()),
            Compliance::NotCompliant {
                violation: Violation::Present {
                    lines: vec![line(4, "        telnet;")],
                    total: 1
                }
            }
        );
        let r = rule(
            "community public",
            false,
            Expectation::MustNotContain,
            Some("interfaces"),
        );
        assert_eq!(r.evaluate(junos.as_bytes()), Compliance::Compliant);
    }

    #[test]
    fn empty_and_binary_configurations_are_unknown() {
        let r = rule("x", false, Expectation::MustNotContain, None);
        assert_eq!(
            r.evaluate(b" \n\n"),
            Compliance::Unknown {
                reason: UnknownReason::Empty
            }
        );
        assert_eq!(
            r.evaluate(b"x\0y"),
            Compliance::Unknown {
                reason: UnknownReason::Binary
            }
        );
    }

    #[test]
    fn evaluated_for_a_reader_a_rule_neither_matches_nor_shows_a_secret() {
        let at = Timestamp::parse("2026-01-12T12:34:56.789Z").unwrap();
        let doc = Document::new(1, at, IOS.as_bytes().to_vec(), |t| {
            Cow::Owned(t.replace("S3cr3tRO", "<removed>"))
        });
        let r = rule(
            "snmp-server community",
            false,
            Expectation::MustNotContain,
            None,
        );
        let Compliance::NotCompliant {
            violation: Violation::Present { lines, .. },
        } = r.evaluate_document(&doc, Audience::Masked)
        else {
            panic!()
        };
        assert_eq!(lines[0].line, "snmp-server community <removed> RO");
        let probe = rule("S3cr3tRO", false, Expectation::MustNotContain, None);
        assert_eq!(
            probe.evaluate_document(&doc, Audience::Masked),
            Compliance::Compliant
        );
        assert!(matches!(
            probe.evaluate_document(&doc, Audience::Everything),
            Compliance::NotCompliant { .. }
        ));
    }

    #[test]
    fn invalid_block_patterns_and_negated_queries_are_refused() {
        let q = Query::literal("x").unwrap();
        let err = Rule::new(q.clone(), Expectation::MustContain, Some("interface (")).unwrap_err();
        assert!(err.to_string().contains("unclosed group"), "{err}");
        let negated = Query::parse(QuerySpec {
            negate: true,
            ..QuerySpec::literal("x")
        })
        .unwrap();
        assert_eq!(
            Rule::new(negated, Expectation::MustContain, None).unwrap_err(),
            RuleError::NegatedPattern
        );
    }

    #[test]
    fn a_compliance_state_serialises_as_tagged_json() {
        let v = serde_json::to_value(Compliance::NotCompliant {
            violation: Violation::Missing,
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"state": "not_compliant", "violation": {"kind": "missing"}})
        );
    }
}
