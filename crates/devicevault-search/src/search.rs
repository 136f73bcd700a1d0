//! Fleet search: which devices have (or lack) a matching line, then the
//! matching lines of one page of them.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use devicevault_core::Timestamp;
use grep_matcher::LineTerminator;
use grep_searcher::{Searcher, SearcherBuilder, Sink, SinkMatch};
use serde::Serialize;

use crate::cache::Candidate;
use crate::document::{Audience, View};
use crate::query::Query;

/// The most devices one page lists.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Devices a worker thread claims at a time: small enough to balance the
/// threads, large enough that the shared counter is not contended.
const CHUNK: usize = 16;

/// Which of the selected devices to list, in result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    /// At most [`MAX_PAGE_SIZE`]; more is treated as that.
    pub limit: usize,
}

impl Page {
    /// The first `limit` devices.
    pub fn first(limit: usize) -> Self {
        Self { offset: 0, limit }
    }
}

/// The answer to a search.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// Devices selected: those with a matching line, or with
    /// [`negate`](crate::QuerySpec::negate) those without one.
    pub total_devices: usize,
    /// Devices searched (the candidates less the unsearchable ones).
    pub searched_devices: usize,
    /// Candidates the audience may not search: their configuration could
    /// not be masked, or is binary (searched by nobody). They are neither
    /// "containing" nor "not containing".
    pub unsearchable_devices: usize,
    /// The page of selected devices, ordered by device name, then id.
    pub results: Vec<DeviceMatches>,
}

/// One selected device and its matching lines.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceMatches {
    pub device_id: i64,
    pub device_name: String,
    pub stored_backup_id: i64,
    pub stored_at: Timestamp,
    /// The first matching lines, at most the query's
    /// `max_matches_per_device`; empty in a negative search.
    pub matches: Vec<Match>,
    /// Every matching line of the device, listed or not.
    pub total_matches: usize,
}

/// A matching line with its context, as the audience may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// 1-based.
    pub line_number: u64,
    /// The line without its terminator; bytes that are not UTF-8 are shown
    /// as U+FFFD.
    pub line: String,
    /// The lines just before, in order (fewer at the start of the file).
    pub context_before: Vec<String>,
    /// The lines just after, in order (fewer at the end of the file).
    pub context_after: Vec<String>,
}

/// How a search may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchOptions {
    /// Threads for the first phase (default: the machine's cores).
    pub threads: NonZeroUsize,
    /// Give up after this long. A regex whose literals are on nearly every
    /// line can take seconds over a fleet; the API should bound what one
    /// request may take of a machine that also collects and stores.
    pub time_limit: Option<Duration>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            time_limit: None,
        }
    }
}

/// Why a search gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error(
        "the search was stopped after {limit:?}, having searched {searched} of {candidates} devices; narrow the pattern or the device filters"
    )]
    TimeLimit {
        limit: Duration,
        searched: usize,
        candidates: usize,
    },
}

/// Searches `candidates` with the default [`SearchOptions`] (all cores,
/// no time limit).
///
/// `candidates` is the set the caller decided the user may see and asked
/// for (scope and filters applied), each paired with the document of its
/// latest version — or an older one for a search "as of" a date. For
/// [`Audience::Masked`], matching runs on the masked text only.
pub fn search(
    candidates: &[Candidate],
    query: &Query,
    audience: Audience,
    page: Page,
) -> SearchResults {
    let options = SearchOptions::default();
    match search_with(candidates, query, audience, page, &options) {
        Ok(r) => r,
        // Without a time limit there is no other outcome.
        Err(SearchError::TimeLimit { .. }) => unreachable!("no time limit was set"),
    }
}

/// [`search`] with options.
pub fn search_with(
    candidates: &[Candidate],
    query: &Query,
    audience: Audience,
    page: Page,
    options: &SearchOptions,
) -> Result<SearchResults, SearchError> {
    let deadline = options.time_limit.map(|d| (d, Instant::now() + d));
    let (mut selected, unsearchable) =
        select(candidates, query, audience, options.threads.get(), deadline)?;
    selected.sort_unstable_by(|&a, &b| {
        let (a, b) = (&candidates[a].device, &candidates[b].device);
        a.name.cmp(&b.name).then(a.id.cmp(&b.id))
    });
    let limit = page.limit.min(MAX_PAGE_SIZE);
    let mut worker = Worker::new();
    let results = selected
        .iter()
        .skip(page.offset)
        .take(limit)
        .map(|&i| {
            let c = &candidates[i];
            let (matches, total_matches) = if query.spec().negate {
                (Vec::new(), 0)
            } else {
                worker.matches(c, query, audience)
            };
            DeviceMatches {
                device_id: c.device.id,
                device_name: c.device.name.clone(),
                stored_backup_id: c.document.stored_backup_id(),
                stored_at: c.document.stored_at(),
                matches,
                total_matches,
            }
        })
        .collect();
    Ok(SearchResults {
        total_devices: selected.len(),
        searched_devices: candidates.len() - unsearchable,
        unsearchable_devices: unsearchable,
        results,
    })
}

/// Indexes of the selected candidates, and how many were unsearchable.
fn select(
    candidates: &[Candidate],
    query: &Query,
    audience: Audience,
    threads: usize,
    deadline: Option<(Duration, Instant)>,
) -> Result<(Vec<usize>, usize), SearchError> {
    let threads = threads.min(candidates.len().div_ceil(CHUNK)).max(1);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let expired = AtomicBool::new(false);
    let run = || {
        let mut worker = Worker::new();
        let mut selected = Vec::new();
        let mut unsearchable = 0;
        loop {
            if expired.load(Ordering::Relaxed)
                || deadline.is_some_and(|(_, at)| Instant::now() >= at)
            {
                expired.store(true, Ordering::Relaxed);
                break;
            }
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= candidates.len() {
                break;
            }
            let chunk = candidates.iter().enumerate().skip(start).take(CHUNK);
            let mut n = 0;
            for (i, c) in chunk {
                n += 1;
                match worker.has_match(c, query, audience) {
                    Some(found) if found != query.spec().negate => selected.push(i),
                    Some(_) => {}
                    None => unsearchable += 1,
                }
            }
            done.fetch_add(n, Ordering::Relaxed);
        }
        (selected, unsearchable)
    };
    let (selected, unsearchable) = if threads == 1 {
        run()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(run)).collect();
            let mut selected = Vec::with_capacity(candidates.len());
            let mut unsearchable = 0;
            for h in handles {
                // A panic in a worker is a bug; surface it rather than
                // answer with a partial result.
                let (s, u) = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                selected.extend(s);
                unsearchable += u;
            }
            (selected, unsearchable)
        })
    };
    if let Some((limit, _)) = deadline.filter(|_| expired.load(Ordering::Relaxed)) {
        return Err(SearchError::TimeLimit {
            limit,
            searched: done.load(Ordering::Relaxed),
            candidates: candidates.len(),
        });
    }
    Ok((selected, unsearchable))
}

/// One thread's searchers (they keep buffers between searches).
struct Worker {
    /// For plain content: no line counting, the fastest path.
    plain: Searcher,
    /// For content with masked lines: matches must be placed by line.
    numbered: Searcher,
}

impl Worker {
    fn new() -> Self {
        let build = |line_number| {
            SearcherBuilder::new()
                .line_terminator(LineTerminator::crlf())
                .line_number(line_number)
                .build()
        };
        Self {
            plain: build(false),
            numbered: build(true),
        }
    }

    /// Whether the candidate has a line matching `query` as `audience`
    /// sees it; `None` when the audience may not search it.
    fn has_match(&mut self, c: &Candidate, query: &Query, audience: Audience) -> Option<bool> {
        let matcher = query.matcher();
        match c.document.view(audience)? {
            View::Plain(text) => {
                if !query.may_match(text) {
                    return Some(false);
                }
                let mut sink = FirstMatch::default();
                self.plain.search_slice(matcher, text, &mut sink).ok()?;
                Some(sink.found)
            }
            View::Overlay {
                content,
                index,
                lines,
            } => {
                if !query.may_match(content) && !lines.iter().any(|l| query.may_match(l)) {
                    return Some(false);
                }
                // The full content, passing over the lines that masking
                // changed (their secrets must not be matched) …
                let mut sink = FirstMatch {
                    skip: index,
                    found: false,
                };
                self.numbered
                    .search_slice(matcher, content, &mut sink)
                    .ok()?;
                if sink.found {
                    return Some(true);
                }
                // … then those lines as masked.
                for line in lines {
                    let mut sink = FirstMatch::default();
                    self.plain.search_slice(matcher, line, &mut sink).ok()?;
                    if sink.found {
                        return Some(true);
                    }
                }
                Some(false)
            }
        }
    }

    /// The first matching lines of the candidate with their context, and
    /// the number of matching lines.
    fn matches(&mut self, c: &Candidate, query: &Query, audience: Audience) -> (Vec<Match>, usize) {
        // Only a page of devices gets here, so building the reader's text
        // (rather than reading around the masked lines) costs little.
        let Some(text) = c.document.text_for(audience) else {
            return (Vec::new(), 0);
        };
        let spec = query.spec();
        let mut sink = Collect::new(spec.max_matches_per_device);
        if self
            .numbered
            .search_slice(query.matcher(), &text, &mut sink)
            .is_err()
        {
            return (Vec::new(), 0);
        }
        let lines = split_lines(&text);
        let matches = sink
            .found
            .into_iter()
            .filter_map(|number| {
                let i = usize::try_from(number).ok()?.checked_sub(1)?;
                let line = lines.get(i)?;
                let before = i.saturating_sub(spec.context_before)..i;
                let after = (i + 1).min(lines.len())..(i + 1 + spec.context_after).min(lines.len());
                Some(Match {
                    line_number: number,
                    line: show(line),
                    context_before: lines[before].iter().map(|l| show(l)).collect(),
                    context_after: lines[after].iter().map(|l| show(l)).collect(),
                })
            })
            .collect();
        (matches, sink.total)
    }
}

/// The lines of `text` without terminators (a final `\n` ends the last
/// line rather than starting an empty one).
fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == b'\n').collect()
}

/// A line for display: without its terminator, lossily decoded.
pub(crate) fn show(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// Stops at the first matching line not listed in `skip` (0-based).
#[derive(Default)]
pub(crate) struct FirstMatch<'a> {
    pub(crate) skip: &'a [u32],
    pub(crate) found: bool,
}

impl Sink for FirstMatch<'_> {
    type Error = std::io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, Self::Error> {
        if let Some(n) = m.line_number()
            && u32::try_from(n - 1).is_ok_and(|i| self.skip.binary_search(&i).is_ok())
        {
            return Ok(true);
        }
        self.found = true;
        Ok(false)
    }
}

/// Keeps the first `cap` matching lines and counts them all.
pub(crate) struct Collect {
    cap: usize,
    /// 1-based line numbers …
    pub(crate) found: Vec<u64>,
    /// … and the lines, with their terminators.
    pub(crate) lines: Vec<Vec<u8>>,
    pub(crate) total: usize,
}

impl Collect {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            found: Vec::new(),
            lines: Vec::new(),
            total: 0,
        }
    }
}

impl Sink for Collect {
    type Error = std::io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, Self::Error> {
        self.total += 1;
        if self.found.len() < self.cap {
            self.found.push(m.line_number().unwrap_or(0));
            self.lines.push(m.bytes().to_vec());
        }
        Ok(true)
    }
}
