//! Fleet search (issue 17): one operation for the API, the web page and
//! (through the API) the CLI. The database says which devices the user may
//! see and which version of each to search; the content comes from the
//! [`SearchIndex`]'s cache or, when the cache lacks that version, from
//! storage through the same read path as downloads ([`read_stored`]); the
//! `devicevault-search` engine matches, orders and pages.
//!
//! # Keeping the cache current in both deployments
//!
//! The cache lives in the process that serves the API. In embedded mode
//! the storage-results consumer is in the same process and wakes the
//! index when it records a version; in distributed mode it is another
//! process, so the API polls instead. Either way the refresh is the same:
//! one query for the latest successful stored backup of every live device,
//! compared with the cached versions, and only the changed devices read
//! through storage. Neither is needed for correctness: every search asks
//! the database for the versions to search and reads whatever the cache
//! does not hold at exactly that version, so a cold, partial or stale
//! cache (a poll not yet run, another API process's store) makes a search
//! slower, never wrong.
//!
//! # The storage worker's hand-off (embedded mode)
//!
//! In embedded mode the content of a new version is in this process when
//! it is stored, so the storage worker hands it to the index
//! ([`SearchIndex::stored_content`]) before it publishes the result, and
//! the refresh that follows builds the document from it instead of reading
//! it back through storage (a location lookup, a `storage.read` task and
//! git's read, per version). The document is made by the same [`document`]
//! function from the same bytes — taken only for the stored backup the
//! database names, the same task, `storage_ref` and SHA-256 —, so the
//! cache holds what a read-back gives. The hand-off is bounded
//! ([`HAND_OFF_BUDGET`]) and forgotten after [`HAND_OFF_TTL`]; a hand-off
//! refused, forgotten or lost with the process leaves that version to be
//! read back, as in distributed mode, where the storage worker is another
//! process and hands nothing.
//!
//! # Secrets
//!
//! A document's reader view is masked with the device driver's `[[secrets]]`
//! rules, the same [`mask`] as downloads and compares, once per version
//! when it is read. Users without `view_secrets` search that view only
//! (`Audience::Masked`): a secret can be neither seen nor found. A binary
//! backup, or a device whose driver is not installed, is not searched for
//! them (counted as unsearchable).

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use devicevault_core::Timestamp;
use devicevault_db::{DbError, Scope, SearchFilter, SearchTarget, User};
use devicevault_search::{
    Admission, CacheStats, Candidate, ContentCache, DeviceRef, Document, Query, SearchError,
    SearchOptions, Target,
};
pub use devicevault_search::{
    Audience, DeviceMatches, Match, Page, QueryError, QuerySpec, SearchResults,
};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use super::App;
use super::inventory::FieldErrors;
use super::reading::{mask, read_stored};

/// How long one search may take before it is stopped (the engine's time
/// limit): a machine that also collects and stores is not given to one
/// pathological pattern.
pub const SEARCH_TIME_LIMIT: Duration = Duration::from_secs(10);

/// Stored versions read from storage at once when the cache lacks them.
const READ_CONCURRENCY: usize = 8;

/// How often the API process compares its cache with the database when
/// nothing in the process told it of a new version (distributed mode).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(15);

/// After a store in this process, wait this long for more to batch them.
const REFRESH_BATCH: Duration = Duration::from_millis(500);

/// At most this many bytes of content handed off by the storage worker
/// wait for the refresh; beyond it a hand-off is refused (that version is
/// read back).
pub const HAND_OFF_BUDGET: usize = 64 << 20;

/// Content handed off and not taken by a refresh within this time (its
/// version was superseded before the refresh, or never recorded) is
/// forgotten.
pub const HAND_OFF_TTL: Duration = Duration::from_secs(60);

/// The cache of each device's latest configuration, and what keeps it
/// current. One per API process.
#[derive(Debug)]
pub struct SearchIndex {
    cache: ContentCache,
    /// The driver whose secret rules masked each cached document (a device
    /// whose driver changed is read again), and the document's SHA-256
    /// when known (a newer version with the same one is relabeled, not
    /// read again).
    drivers: Mutex<HashMap<i64, Masked>>,
    /// Woken by the storage-results consumer of this process.
    stored: Notify,
    /// Likewise, for the compliance evaluator of this process.
    compliance: Notify,
    /// The content the storage worker of this process just stored, by
    /// device, until a refresh takes it (embedded mode).
    handed: Mutex<HandOff>,
    hand_off_stats: HandOffCounters,
}

/// Contents handed off by the storage worker, one per device (its latest
/// store), within [`HAND_OFF_BUDGET`].
#[derive(Debug, Default)]
struct HandOff {
    by_device: HashMap<i64, Handed>,
    bytes: usize,
}

/// One stored version's content, and what identifies the version.
#[derive(Debug)]
struct Handed {
    task_identifier: String,
    storage_ref: String,
    sha256: String,
    content: Vec<u8>,
    at: Instant,
}

#[derive(Debug, Default)]
struct HandOffCounters {
    received: AtomicU64,
    used: AtomicU64,
    refused: AtomicU64,
}

/// What the storage worker's hand-off did (since the process started).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandOffStats {
    /// Contents handed off and kept.
    pub received: u64,
    /// Documents a refresh or a search made from a hand-off instead of a
    /// read-back.
    pub used: u64,
    /// Contents refused: the hand-off was full.
    pub refused: u64,
}

/// How a cached document was made.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Masked {
    driver: String,
    sha256: Option<String>,
}

impl Default for SearchIndex {
    fn default() -> Self {
        Self::new(devicevault_search::DEFAULT_MEMORY_BUDGET)
    }
}

impl SearchIndex {
    /// An empty index whose cache holds at most `memory_budget` bytes.
    pub fn new(memory_budget: usize) -> Self {
        Self {
            cache: ContentCache::new(memory_budget),
            drivers: Mutex::default(),
            stored: Notify::new(),
            compliance: Notify::new(),
            handed: Mutex::default(),
            hand_off_stats: HandOffCounters::default(),
        }
    }

    /// The storage worker of this process stored `content` for
    /// `device_id` in the task `task_identifier`, at `storage_ref`, with
    /// SHA-256 `sha256`: the refresh that records it builds its document
    /// from this content instead of reading it back. Called before the
    /// result is published; replaces the device's previous hand-off;
    /// refused (the version is then read back) beyond
    /// [`HAND_OFF_BUDGET`].
    pub fn stored_content(
        &self,
        device_id: i64,
        task_identifier: &str,
        storage_ref: &str,
        sha256: &str,
        content: Vec<u8>,
    ) {
        let mut handed = self.handed();
        if let Some(old) = handed.by_device.remove(&device_id) {
            handed.bytes -= old.content.len();
        }
        if handed.bytes + content.len() > HAND_OFF_BUDGET {
            self.hand_off_stats.refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        handed.bytes += content.len();
        handed.by_device.insert(
            device_id,
            Handed {
                task_identifier: task_identifier.to_owned(),
                storage_ref: storage_ref.to_owned(),
                sha256: sha256.to_owned(),
                content,
                at: Instant::now(),
            },
        );
        self.hand_off_stats.received.fetch_add(1, Ordering::Relaxed);
    }

    /// The content handed off for exactly `t`'s stored backup (same
    /// device, task, `storage_ref` and SHA-256), taken out of the
    /// hand-off. A hand-off of another version stays: it may be a newer
    /// one the database has not recorded yet.
    fn take_handed(&self, t: &SearchTarget) -> Option<Vec<u8>> {
        let s = &t.stored;
        if s.status != devicevault_core::Status::Success || s.location_id.is_none() {
            // A read-back refuses these; so does the hand-off.
            return None;
        }
        let mut handed = self.handed();
        let h = handed.by_device.get(&t.device_id)?;
        let same = h.task_identifier == s.task_identifier
            && h.storage_ref == s.storage_ref
            && s.sha256.as_deref() == Some(h.sha256.as_str());
        if !same {
            return None;
        }
        let h = handed.by_device.remove(&t.device_id)?;
        handed.bytes -= h.content.len();
        self.hand_off_stats.used.fetch_add(1, Ordering::Relaxed);
        Some(h.content)
    }

    /// Forgets the hand-offs older than `ttl`.
    fn forget_handed(&self, ttl: Duration) {
        let mut handed = self.handed();
        let HandOff { by_device, bytes } = &mut *handed;
        by_device.retain(|_, h| {
            let keep = h.at.elapsed() < ttl;
            if !keep {
                *bytes -= h.content.len();
            }
            keep
        });
    }

    /// What the storage worker's hand-off did.
    pub fn hand_off_stats(&self) -> HandOffStats {
        let c = &self.hand_off_stats;
        HandOffStats {
            received: c.received.load(Ordering::Relaxed),
            used: c.used.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
        }
    }

    fn handed(&self) -> std::sync::MutexGuard<'_, HandOff> {
        self.handed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells the index a version was stored (the storage-results consumer
    /// of the same process calls this); the refresh task reads it soon.
    pub fn version_stored(&self) {
        self.stored.notify_one();
        self.compliance.notify_one();
    }

    /// Completes after the next [`version_stored`](Self::version_stored)
    /// (at once if one came since the last call): the compliance evaluator
    /// of the same process waits on it.
    pub async fn compliance_wakeup(&self) {
        self.compliance.notified().await;
    }

    /// Wakes the compliance evaluator of this process only (a rule was
    /// saved).
    pub fn version_stored_for_compliance(&self) {
        self.compliance.notify_one();
    }

    /// The cached document of `device_id` if it is exactly that stored
    /// version.
    pub fn cached(&self, device_id: i64, stored_backup_id: i64) -> Option<Arc<Document>> {
        self.cache
            .get(device_id)
            .filter(|d| d.stored_backup_id() == stored_backup_id)
    }

    /// The cache's counters (entries, bytes, refusals).
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }

    fn drivers(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Masked>> {
        self.drivers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets the cached documents whose device now has another driver
    /// than the one that masked them.
    fn drop_remasked(&self, targets: &[SearchTarget]) {
        let mut drivers = self.drivers();
        for t in targets {
            if drivers
                .get(&t.device_id)
                .is_some_and(|d| d.driver != t.driver)
            {
                drivers.remove(&t.device_id);
                self.cache.remove(t.device_id);
            }
        }
    }

    fn admit(&self, t: &SearchTarget, doc: Arc<Document>) {
        if self.cache.insert(t.device_id, doc) == Admission::Cached {
            let made = Masked {
                driver: t.driver.clone(),
                sha256: t.stored.sha256.clone(),
            };
            self.drivers().insert(t.device_id, made);
        }
    }

    /// The cached document of `t`'s device relabeled as `t`'s version,
    /// when that version is an older one's content (same SHA-256, same
    /// driver): the steady state of a fleet whose configurations do not
    /// change reads nothing from storage.
    fn same_content(&self, t: &SearchTarget) -> Option<Arc<Document>> {
        let sha = t.stored.sha256.as_deref()?;
        let same = self
            .drivers()
            .get(&t.device_id)
            .is_some_and(|m| m.driver == t.driver && m.sha256.as_deref() == Some(sha));
        let cached = self.cache.get(t.device_id).filter(|_| same)?;
        let at = Timestamp::parse(&t.stored.timestamp).ok()?;
        Some(Arc::new(cached.relabeled(t.stored.id, at)))
    }
}

/// A validated search.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: Query,
    pub filter: SearchFilter,
    pub page: Page,
}

/// The parameters of a search, by name, as the API's query string and the
/// web page's form send them: `q`, `regex`, `ignore_case`, `context`,
/// `negate`, `as_of`, `max_matches` and the filters `device_group`,
/// `device_type`, `driver`, `location`.
pub const SEARCH_PARAMS: &[&str] = &[
    "q",
    "regex",
    "ignore_case",
    "context",
    "negate",
    "as_of",
    "max_matches",
    "device_group",
    "device_type",
    "driver",
    "location",
];

/// Validates the parameters of a search (`param(name)` gives a
/// parameter's text, if sent) for the devices at `page`; every problem is
/// reported by the field that has it.
pub fn validate(
    param: impl Fn(&str) -> Option<String>,
    page: Page,
) -> Result<SearchRequest, FieldErrors> {
    let mut errors = FieldErrors::default();
    let text = |name: &str| {
        param(name)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let mut flag = |name: &'static str| match text(name).map(|s| s.to_ascii_lowercase()).as_deref()
    {
        None | Some("false" | "0" | "no" | "off") => false,
        Some("true" | "1" | "yes" | "on") => true,
        Some(other) => {
            errors.add(name, format!("{other:?} is not a boolean (true or false)"));
            false
        }
    };
    let regex = flag("regex");
    let ignore_case = flag("ignore_case");
    let negate = flag("negate");
    let mut number = |name: &'static str| -> Option<i64> {
        let s = text(name)?;
        match s.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                errors.add(name, format!("{s:?} is not a whole number of 0 or more"));
                None
            }
        }
    };
    let context = number("context").unwrap_or(0);
    let max_matches = number("max_matches");
    let device_group = number("device_group");
    let device_type = number("device_type");
    let location = number("location");
    let as_of = text("as_of").and_then(|s| match parse_as_of(&s) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.add("as_of", e.to_string());
            None
        }
    });
    // The pattern is not trimmed: leading spaces find indented lines.
    let pattern = param("q").unwrap_or_default();
    let spec = QuerySpec {
        pattern,
        regex,
        ignore_case,
        context_before: usize::try_from(context).unwrap_or(usize::MAX),
        context_after: usize::try_from(context).unwrap_or(usize::MAX),
        negate,
        max_matches_per_device: max_matches
            .map_or(devicevault_search::DEFAULT_MATCHES_PER_DEVICE, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            }),
    };
    let query = match Query::parse(spec) {
        Ok(q) => Some(q),
        Err(e) => {
            let field = match e {
                QueryError::TooMuchContext { .. } => "context",
                QueryError::MaxMatchesOutOfRange { .. } => "max_matches",
                _ => "q",
            };
            errors.add(field, e.to_string());
            None
        }
    };
    let filter = SearchFilter {
        device_group,
        device_type,
        driver: text("driver"),
        location,
        as_of,
    };
    match query {
        Some(query) if errors.is_empty() => Ok(SearchRequest {
            query,
            filter,
            page,
        }),
        _ => Err(errors),
    }
}

/// A search's answer.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    pub results: SearchResults,
    /// Secrets were masked (and not matched) for this user.
    pub masked: bool,
    /// Devices whose version could not be read from storage; not searched.
    pub unreadable_devices: usize,
}

/// Why a search gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum SearchFailure {
    #[error(transparent)]
    TimeLimit(#[from] SearchError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("search failed: {0}")]
    Internal(String),
}

/// `as_of` as the user wrote it (RFC 3339), in the database's form.
pub fn parse_as_of(s: &str) -> Result<String, devicevault_core::TimestampError> {
    Timestamp::parse(s.trim()).map(|t| t.to_string())
}

/// Searches the devices in `scope` matching the request's filters, at
/// their latest version (or at `as_of`), as `user` may see them.
pub async fn search(
    app: &Arc<App>,
    user: &User,
    scope: &Scope,
    req: SearchRequest,
) -> Result<SearchOutcome, SearchFailure> {
    let query = req.query;
    let latest = req.filter.as_of.is_none();
    let targets = app.db.search_targets(scope, &req.filter).await?;
    if latest {
        app.search.drop_remasked(&targets);
    }
    let Gathered {
        candidates,
        unreadable: unreadable_devices,
        ..
    } = gather(app, targets, latest).await;
    let audience = if user.sees_secrets() {
        Audience::Everything
    } else {
        Audience::Masked
    };
    let options = SearchOptions {
        threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
        time_limit: Some(SEARCH_TIME_LIMIT),
    };
    let page = req.page;
    let results = tokio::task::spawn_blocking(move || {
        devicevault_search::search_with(&candidates, &query, audience, page, &options)
    })
    .await
    .map_err(|e| SearchFailure::Internal(e.to_string()))??;
    Ok(SearchOutcome {
        results,
        masked: audience == Audience::Masked,
        unreadable_devices,
    })
}

/// The documents of some targets, and how they were found.
struct Gathered {
    candidates: Vec<Candidate>,
    /// Read from storage (the cache lacked them).
    read: usize,
    /// Could not be read.
    unreadable: usize,
}

/// The documents of `targets`: from the cache when it holds that version,
/// else read from storage (and cached when `cache_reads`, i.e. they are
/// the latest versions).
async fn gather(app: &Arc<App>, targets: Vec<SearchTarget>, cache_reads: bool) -> Gathered {
    let mut by_device: HashMap<i64, SearchTarget> = HashMap::with_capacity(targets.len());
    let wanted: Vec<Target> = targets
        .into_iter()
        .map(|t| {
            let target = Target {
                device: DeviceRef::new(t.device_id, t.device_name.clone()),
                stored_backup_id: t.stored.id,
            };
            by_device.insert(t.device_id, t);
            target
        })
        .collect();
    let lookup = app.search.cache.lookup(wanted);
    let mut found = lookup.found;
    if lookup.missing.is_empty() {
        return Gathered {
            candidates: found,
            read: 0,
            unreadable: 0,
        };
    }
    let mut relabeled = Vec::new();
    let missing: Vec<SearchTarget> = lookup
        .missing
        .iter()
        .filter_map(|t| by_device.remove(&t.device.id))
        .filter_map(|t| match app.search.same_content(&t) {
            Some(doc) => {
                relabeled.push((t, doc));
                None
            }
            None => Some(t),
        })
        .collect();
    let missing = if cache_reads {
        within_room(&app.search.cache, missing)
    } else {
        missing
    };
    let (docs, unreadable) = read_documents(app, missing).await;
    let read = docs.len();
    for (t, doc) in relabeled.into_iter().chain(docs) {
        if cache_reads {
            app.search.admit(&t, Arc::clone(&doc));
        }
        found.push(Candidate {
            device: DeviceRef::new(t.device_id, t.device_name),
            document: doc,
        });
    }
    Gathered {
        candidates: found,
        read,
        unreadable,
    }
}

/// What a refresh reads of `targets`: each device the cache holds an older
/// version of (the new one replaces it), and the devices it does not hold
/// only while their documents (estimated from the stored size, with room
/// for a masked view) fit what is left of the budget. Past the budget the
/// cache refuses new documents, and reading them again at every refresh
/// would keep the storage workers busy for nothing at a fleet larger than
/// the cache (issue 21); a search reads what the cache does not hold.
fn within_room(cache: &ContentCache, targets: Vec<SearchTarget>) -> Vec<SearchTarget> {
    let stats = cache.stats();
    let mut room = stats.memory_budget.saturating_sub(stats.memory_bytes);
    targets
        .into_iter()
        .filter(|t| {
            if cache.get(t.device_id).is_some() {
                return true;
            }
            let size = t
                .stored
                .size
                .map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX));
            let estimate = size.saturating_add(size / 2);
            if estimate > room {
                return false;
            }
            room -= estimate;
            true
        })
        .collect()
}

/// Reads `targets` from storage (or takes the content the storage worker
/// of this process handed off), a few at a time, and prepares their
/// documents. Returns those read and how many failed (logged).
async fn read_documents(
    app: &Arc<App>,
    targets: Vec<SearchTarget>,
) -> (Vec<(SearchTarget, Arc<Document>)>, usize) {
    let slots = Arc::new(Semaphore::new(READ_CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for t in targets {
        let (app, slots) = (Arc::clone(app), Arc::clone(&slots));
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.ok()?;
            let handed = app.search.take_handed(&t);
            let content = match handed {
                Some(c) => c,
                None => match read_stored(&app, &t.stored).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(device_id = t.device_id, stored_backup = t.stored.id, error = %e, "search could not read a version");
                        return None;
                    }
                },
            };
            let driver = app.drivers.get(&t.driver).ok();
            let doc = tokio::task::spawn_blocking(move || {
                let doc = document(&t, content, driver.as_deref());
                (t, Arc::new(doc))
            })
            .await
            .ok()?;
            Some(doc)
        });
    }
    let mut read = Vec::new();
    let mut failed = 0;
    while let Some(r) = tasks.join_next().await {
        match r.ok().flatten() {
            Some(d) => read.push(d),
            None => failed += 1,
        }
    }
    (read, failed)
}

/// A stored version as the engine searches it: its reader view masked by
/// the driver's secret rules, or no reader view when it cannot be masked.
fn document(
    t: &SearchTarget,
    content: Vec<u8>,
    driver: Option<&devicevault_collect::Driver>,
) -> Document {
    let at = Timestamp::parse(&t.stored.timestamp)
        .unwrap_or_else(|_| Timestamp::from_datetime(time::OffsetDateTime::UNIX_EPOCH));
    if t.stored.is_binary {
        return Document::binary(t.stored.id, at, content);
    }
    match driver {
        Some(driver) => Document::new(t.stored.id, at, content, |text| {
            let masked = mask(driver, text);
            if masked == text {
                std::borrow::Cow::Borrowed(text)
            } else {
                std::borrow::Cow::Owned(masked)
            }
        }),
        _ => Document::unmaskable(t.stored.id, at, content),
    }
}

/// What one refresh of the cache did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Devices whose latest version was read into the cache.
    pub read: usize,
    /// Devices whose latest version could not be read.
    pub failed: usize,
    /// Devices dropped (archived, purged, or no version left).
    pub dropped: usize,
}

/// Brings the cache to the database's latest versions: reads the devices
/// whose latest successful stored backup is not the cached one, drops the
/// devices that are gone.
pub async fn refresh(app: &Arc<App>) -> Result<Refreshed, DbError> {
    let targets = app
        .db
        .search_targets(&Scope::All, &SearchFilter::default())
        .await?;
    app.search.drop_remasked(&targets);
    let live: HashSet<i64> = targets.iter().map(|t| t.device_id).collect();
    let gone: Vec<i64> = app
        .search
        .drivers()
        .keys()
        .copied()
        .filter(|id| !live.contains(id))
        .collect();
    for id in &gone {
        app.search.drivers().remove(id);
        app.search.cache.remove(*id);
    }
    let g = gather(app, targets, true).await;
    app.search.forget_handed(HAND_OFF_TTL);
    Ok(Refreshed {
        read: g.read,
        failed: g.unreadable,
        dropped: gone.len(),
    })
}

/// Keeps the cache current until `stop`: a refresh at start (the cache is
/// rebuilt from the database), then after every version stored in this
/// process (batched) and every [`REFRESH_INTERVAL`] (versions stored by
/// another process).
pub async fn keep_current(app: Arc<App>, stop: CancellationToken) {
    loop {
        let refreshed = tokio::select! {
            () = stop.cancelled() => break,
            r = refresh(&app) => r,
        };
        match refreshed {
            Ok(r) if r != Refreshed::default() => {
                let stats = app.search.stats();
                tracing::info!(
                    read = r.read,
                    failed = r.failed,
                    dropped = r.dropped,
                    entries = stats.entries,
                    memory_bytes = stats.memory_bytes,
                    "search cache refreshed"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "refreshing the search cache failed"),
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(REFRESH_INTERVAL) => {}
            () = app.search.stored.notified() => {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(REFRESH_BATCH) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use devicevault_core::{Status, StorageBackendKind};

    fn target(id: i64, sha: &str, driver: &str) -> SearchTarget {
        SearchTarget {
            device_id: 7,
            device_name: "r1".into(),
            driver: driver.into(),
            stored: devicevault_db::StoredBackup {
                id,
                task_id: "t".into(),
                task_identifier: format!("t{id}"),
                device_id: 7,
                storage_backend: StorageBackendKind::Git,
                storage_ref: "ref".into(),
                status: Status::Success,
                timestamp: "2026-11-27T10:00:00.000000Z".into(),
                log: "[]".into(),
                location_id: None,
                size: Some(9),
                sha256: Some(sha.into()),
                changed: Some(false),
                is_binary: false,
                author: None,
            },
        }
    }

    /// A refresh reads the new versions of devices the cache holds, and
    /// devices it does not hold only while they fit the budget's room: a
    /// fleet larger than the cache is not read again at every refresh.
    #[test]
    fn a_refresh_reads_only_what_the_cache_has_room_for() {
        let index = SearchIndex::new(4_000);
        let of = |device_id: i64, id: i64, size: i64| {
            let mut t = target(id, "aa", "cisco_ios");
            t.device_id = device_id;
            t.stored.device_id = device_id;
            t.stored.size = Some(size);
            t
        };
        // Device 1 is cached (about 1,000 bytes of the 4,000).
        let held = of(1, 1, 1_000);
        let doc = Document::new(1, Timestamp::now(), vec![b'x'; 1_000], |t| {
            std::borrow::Cow::Borrowed(t)
        });
        index.admit(&held, Arc::new(doc));
        let picked: Vec<i64> = within_room(
            &index.cache,
            vec![
                of(1, 2, 50_000), // held: read whatever its size
                of(2, 3, 1_500),  // 2,250 estimated: fits
                of(3, 4, 1_500),  // would not fit after device 2
                of(4, 5, 200),    // 300: still fits
                of(5, 6, 0),
            ],
        )
        .iter()
        .map(|t| t.device_id)
        .collect();
        assert_eq!(picked, [1, 2, 4, 5]);
        let none = SearchIndex::new(0);
        let picked = within_room(&none.cache, vec![of(2, 3, 10)]);
        assert!(picked.is_empty(), "no cache: a refresh reads nothing new");
    }

    /// A version stored unchanged (same SHA-256, same driver) reuses the
    /// cached document under its own id: nothing is read or masked again.
    /// Another content or another driver's masking is read.
    #[test]
    fn an_unchanged_version_is_relabeled_not_read_again() {
        let index = SearchIndex::new(1 << 20);
        let first = target(1, "aa", "cisco_ios");
        let doc = Document::new(1, Timestamp::now(), b"hostname r1\n".to_vec(), |t| {
            std::borrow::Cow::Borrowed(t)
        });
        index.admit(&first, Arc::new(doc));
        let again = index
            .same_content(&target(2, "aa", "cisco_ios"))
            .expect("relabeled");
        assert_eq!(again.stored_backup_id(), 2);
        assert_eq!(again.content(), b"hostname r1\n");
        assert!(index.same_content(&target(2, "bb", "cisco_ios")).is_none());
        assert!(
            index
                .same_content(&target(2, "aa", "juniper_junos"))
                .is_none()
        );
        let mut unknown = target(2, "aa", "cisco_ios");
        unknown.stored.sha256 = None;
        assert!(index.same_content(&unknown).is_none());
    }

    /// The storage worker's hand-off is taken only for exactly the version
    /// it stored (same task, `storage_ref` and SHA-256), once; another
    /// version's stays for the refresh that records it; a full hand-off
    /// refuses, and what it refused or forgot is read back.
    #[test]
    fn a_hand_off_is_taken_only_for_the_stored_version_it_names() {
        let index = SearchIndex::new(1 << 20);
        let located = |id, sha: &str| {
            let mut t = target(id, sha, "cisco_ios");
            t.stored.location_id = Some(1);
            t
        };
        index.stored_content(7, "t2", "ref", "bb", b"hostname r1\n".to_vec());
        assert_eq!(index.take_handed(&located(1, "aa")), None, "an older row");
        assert_eq!(
            index.take_handed(&located(2, "cc")),
            None,
            "another content"
        );
        let mut elsewhere = located(2, "bb");
        elsewhere.stored.storage_ref = "other".into();
        assert_eq!(index.take_handed(&elsewhere), None, "another storage_ref");
        assert_eq!(
            index.take_handed(&target(2, "bb", "cisco_ios")),
            None,
            "a row without a location is not read back either"
        );
        assert_eq!(
            index.take_handed(&located(2, "bb")).as_deref(),
            Some(&b"hostname r1\n"[..])
        );
        assert_eq!(index.take_handed(&located(2, "bb")), None, "taken once");

        index.stored_content(8, "big", "ref", "dd", vec![b'x'; HAND_OFF_BUDGET]);
        index.stored_content(7, "t3", "ref", "ee", b"hostname r1 again\n".to_vec());
        assert_eq!(index.take_handed(&located(3, "ee")), None, "refused: full");
        index.forget_handed(Duration::ZERO);
        index.stored_content(7, "t3", "ref", "ee", b"hostname r1 again\n".to_vec());
        assert!(index.take_handed(&located(3, "ee")).is_some());
        assert_eq!(
            index.hand_off_stats(),
            HandOffStats {
                received: 3,
                used: 2,
                refused: 1
            }
        );
    }

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn errors(pairs: &[(&str, &str)]) -> FieldErrors {
        validate(params(pairs), Page::first(50)).unwrap_err()
    }

    #[test]
    fn the_parameters_become_a_query_and_a_filter() {
        let r = validate(
            params(&[
                ("q", " description CUST-1234"),
                ("regex", "on"),
                ("ignore_case", "true"),
                ("context", "2"),
                ("negate", "0"),
                ("as_of", "2026-01-09T18:00:00+01:00"),
                ("device_group", "3"),
                ("driver", "cisco_ios"),
            ]),
            Page::first(50),
        )
        .unwrap();
        let spec = r.query.spec();
        assert_eq!(spec.pattern, " description CUST-1234", "not trimmed");
        assert!(spec.regex && spec.ignore_case && !spec.negate);
        assert_eq!((spec.context_before, spec.context_after), (2, 2));
        assert_eq!(r.filter.as_of.as_deref(), Some("2026-01-09T17:00:00.000Z"));
        assert_eq!(r.filter.device_group, Some(3));
        assert_eq!(r.filter.driver.as_deref(), Some("cisco_ios"));
        assert_eq!(r.filter.location, None);
    }

    #[test]
    fn every_problem_is_reported_by_its_field() {
        let e = errors(&[("q", "interface (Gi"), ("regex", "true")]);
        assert!(
            e.of("q").next().unwrap().contains("unclosed group"),
            "{e:?}"
        );
        let e = errors(&[
            ("q", "x"),
            ("context", "11"),
            ("negate", "maybe"),
            ("as_of", "friday"),
            ("device_type", "-1"),
            ("max_matches", "0"),
        ]);
        assert!(e.of("context").next().is_some(), "{e:?}");
        assert!(e.of("negate").next().is_some(), "{e:?}");
        assert!(e.of("as_of").next().unwrap().contains("RFC 3339"), "{e:?}");
        assert!(e.of("device_type").next().is_some(), "{e:?}");
        let e = errors(&[("q", "x"), ("max_matches", "0")]);
        assert!(e.of("max_matches").next().is_some(), "{e:?}");
        assert!(errors(&[]).of("q").next().unwrap().contains("empty"));
    }
}
