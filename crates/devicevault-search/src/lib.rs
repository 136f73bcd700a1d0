//! DeviceVault's fleet search and compliance engine.
//!
//! The engine answers "which devices' configurations have (or lack) a line
//! like this, and where", over the latest configuration of every device a
//! user may see, or over older versions the caller picks. It does no I/O
//! and knows nothing of the database, HTTP or storage: the caller decides
//! which devices the user may see (scope, filters) and which version of
//! each, and hands the engine [`Candidate`]s; the engine matches, orders
//! and pages.
//!
//! # Why ripgrep's searcher
//!
//! Line search is `grep-searcher` driving a `grep-regex` matcher, the
//! crates behind ripgrep, rather than a loop over lines. The searcher asks
//! the matcher for candidate lines in the whole buffer at once (one pass of
//! a SIMD literal search or a lazy DFA over 36 KB, not a thousand calls per
//! configuration), and only then finds the line boundaries and numbers of
//! what matched. CRLF line ends, `^`/`$` per line, case folding and
//! literals versus regular expressions are handled the way ripgrep users
//! know. A [`Query`] is validated and compiled once, in one place, with a
//! bound on the compiled size, so a pattern cannot ask the server for
//! unbounded work or memory.
//!
//! # Two phases
//!
//! Selecting devices only needs "is there a matching line", so each device
//! is searched until its first match ([`search()`] phase one, on all
//! candidates, split across threads). The selected devices are then sorted
//! by name and id, and only the requested [`Page`] is searched again for
//! its matching lines with context (phase two). A query matching almost
//! every line of every device therefore costs little more than a rare one.
//! A negative query ("devices that do not contain") is phase one with the
//! answer inverted; it reads every line of the devices it selects.
//!
//! A regex is also checked, per document, for the literals every match
//! must contain (the `prefilter` module): the engine accelerates a regex
//! with its leading literal, and in configurations that is often on nearly
//! every line (`host 10.` in every ACL entry), which made such a fleet scan
//! take 0.8–1.7 s; ruling out documents that lack a rarer required literal
//! (`any eq 8443`) brings it to about 0.1 s. A query whose literals are all
//! common can still be slow, so [`SearchOptions::time_limit`] lets the API
//! bound what one request takes ([`SearchError::TimeLimit`]).
//!
//! Phase one runs on `std::thread::scope` threads that claim devices in
//! small chunks from a shared counter; no pool is kept between searches.
//! Literal scans run at memory speed (about 4.5 GB/s here), so a second
//! thread helps the regex-bound queries most; on the project's shared
//! 2-core machine it gained 0–15 % (see `examples/bench_search.rs`; the configurations it searches are `devicevault-testkit`'s, as `devicevault-bench search`'s), and
//! [`SearchOptions::threads`] lets the caller leave a core to the pipeline.
//!
//! # Secrets are masked before matching
//!
//! A user without `view_secrets` must not see a secret, nor learn one by
//! searching for it (a search for a guessed community string that selects
//! a device would confirm the guess). So for [`Audience::Masked`] the
//! engine matches the masked text, never the stored one: a [`Document`] is
//! built with the caller's masking function (the device driver's secret
//! rules), which runs once per stored version, not once per search. When
//! masking keeps the lines in place, as line-wise secret rules do, only the
//! changed lines are kept beside the content; a search reads the content,
//! passes over those lines, and matches their masked form instead.
//! Content that cannot be masked is not searched for such users and is
//! counted as [`SearchResults::unsearchable_devices`], never as "does not
//! contain".
//!
//! # The cache
//!
//! [`ContentCache`] keeps each device's latest [`Document`] in memory,
//! inserted by whoever learns of a new stored version (the storage-results
//! consumer) and filled by the API from storage on a miss. It is bounded by
//! a memory budget; beyond it new documents are refused rather than others
//! evicted (a search reads every device, so recency predicts nothing and
//! LRU would thrash). It is never the authority: [`ContentCache::lookup`]
//! returns a document only at the version the caller's database names, and
//! lists everything else as missing, so a stale, partial or cold cache
//! makes a search slower, never wrong. Documents are held uncompressed: a
//! search reads all of them, and LZ4 (the fastest to decompress) shrank the
//! bench's 367 MB fleet to 121 MB but took 551 ms on one core to
//! decompress it, more than the whole 200 ms budget of a query.
//!
//! # Compliance
//!
//! A [`Rule`] is a query with an [`Expectation`] (must contain / must not
//! contain), optionally scoped to IOS-style blocks (a header line at
//! column 0 and its indented lines); see [`compliance`] for what a block
//! is in Junos. [`Rule::evaluate`] gives a [`Compliance`] state with the
//! offending lines or the blocks that miss the pattern.

pub mod cache;
pub mod compliance;
pub mod document;
mod prefilter;
pub mod query;
pub mod search;

pub use cache::{
    Admission, CacheStats, Candidate, ContentCache, DEFAULT_MEMORY_BUDGET, Lookup, Target,
};
pub use compliance::{Compliance, Expectation, Line, Rule, RuleError, UnknownReason, Violation};
pub use document::{Audience, DeviceRef, Document};
pub use query::{
    DEFAULT_MATCHES_PER_DEVICE, MAX_CONTEXT_LINES, MAX_MATCHES_PER_DEVICE, MAX_PATTERN_BYTES,
    Query, QueryError, QuerySpec,
};
pub use search::{
    DeviceMatches, MAX_PAGE_SIZE, Match, Page, SearchError, SearchOptions, SearchResults, search,
    search_with,
};
