//! The latest configuration of each device, kept in memory so a fleet
//! search does not read every device's file from storage.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::document::{DeviceRef, Document};

/// The default memory budget: room for 10,000 configurations of 36 KB
/// with plenty to spare.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

/// What a cache entry costs beside its document: the map slot, the `Arc`
/// counters and the allocator's rounding, approximately.
const ENTRY_OVERHEAD: usize = 64;

/// A device and the stored backup that is its latest successful version,
/// as the database says (the caller's query, with scope and filters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub device: DeviceRef,
    pub stored_backup_id: i64,
}

/// A device and the document to search for it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub device: DeviceRef,
    pub document: Arc<Document>,
}

/// The answer of [`ContentCache::lookup`]: the targets found at the right
/// version, and those the caller must read from storage.
#[derive(Debug, Default)]
pub struct Lookup {
    pub found: Vec<Candidate>,
    pub missing: Vec<Target>,
}

/// What [`ContentCache::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The document is cached (replacing an older version, if any).
    Cached,
    /// This version was already cached; nothing changed.
    AlreadyCached,
    /// A newer version of the device is cached; nothing changed.
    Superseded,
    /// The budget is spent: the document is not cached, and any older
    /// version of the device was dropped. Searches read it from storage.
    OverBudget,
}

/// Counters for the operator (the bench reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub entries: usize,
    pub memory_bytes: usize,
    pub memory_budget: usize,
    /// Inserts refused for want of budget since the cache was made.
    pub refused: u64,
}

/// Each device's latest configuration, bounded by a memory budget.
///
/// Thread-safe: the storage-results consumer inserts while the API
/// searches. Readers take the lock only to clone `Arc`s, so a search never
/// holds it while matching.
///
/// The cache is never the authority on what is latest: [`lookup`] returns a
/// document only when its stored backup is the one the caller names (from
/// the database), and anything else — absent, older, evicted, a cache in
/// another process that missed an update — comes back in
/// [`Lookup::missing`] for the caller to read from storage. Correctness
/// never depends on the cache; only speed does.
///
/// Beyond the budget, new documents are refused rather than older ones
/// evicted. Every search reads every device in its scope, so recency says
/// nothing about what the next search needs, and an LRU cache smaller than
/// the fleet would evict each device just before the next search reads it
/// (every read a miss). Refusing keeps a stable set cached: each search
/// then hits for the share of the fleet that fits. [`CacheStats::refused`]
/// tells the operator to raise the budget.
///
/// [`lookup`]: ContentCache::lookup
#[derive(Debug)]
pub struct ContentCache {
    budget: usize,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    docs: HashMap<i64, Arc<Document>>,
    bytes: usize,
    refused: u64,
}

fn cost(doc: &Document) -> usize {
    doc.memory_bytes() + ENTRY_OVERHEAD
}

impl Default for ContentCache {
    fn default() -> Self {
        Self::new(DEFAULT_MEMORY_BUDGET)
    }
}

impl ContentCache {
    /// An empty cache that holds at most `memory_budget` bytes (as counted
    /// by [`Document::memory_bytes`] plus a per-entry overhead).
    pub fn new(memory_budget: usize) -> Self {
        Self {
            budget: memory_budget,
            inner: RwLock::default(),
        }
    }

    /// Caches `document` as `device_id`'s latest version, unless a newer
    /// one (a greater stored backup id: ids grow as backups are stored) is
    /// already there, or the budget is spent.
    pub fn insert(&self, device_id: i64, document: Arc<Document>) -> Admission {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut bytes = inner.bytes;
        if let Some(old) = inner.docs.get(&device_id) {
            match old.stored_backup_id().cmp(&document.stored_backup_id()) {
                std::cmp::Ordering::Equal => return Admission::AlreadyCached,
                std::cmp::Ordering::Greater => return Admission::Superseded,
                std::cmp::Ordering::Less => bytes -= cost(old),
            }
        }
        if bytes + cost(&document) > self.budget {
            if let Some(old) = inner.docs.remove(&device_id) {
                inner.bytes -= cost(&old);
            }
            inner.refused += 1;
            return Admission::OverBudget;
        }
        inner.bytes = bytes + cost(&document);
        inner.docs.insert(device_id, document);
        Admission::Cached
    }

    /// Forgets a device (purged, or its latest version is gone). Returns
    /// whether it was cached.
    pub fn remove(&self, device_id: i64) -> bool {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        match inner.docs.remove(&device_id) {
            Some(old) => {
                inner.bytes -= cost(&old);
                true
            }
            None => false,
        }
    }

    /// Forgets everything (e.g. a driver's secret rules changed, so every
    /// reader view must be computed again).
    pub fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.docs.clear();
        inner.bytes = 0;
    }

    /// The cached document of a device, whatever its version.
    pub fn get(&self, device_id: i64) -> Option<Arc<Document>> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.docs.get(&device_id).cloned()
    }

    /// Splits `targets` into those cached at the named version and those
    /// to read from storage. Order is kept within each list.
    pub fn lookup(&self, targets: impl IntoIterator<Item = Target>) -> Lookup {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = Lookup::default();
        for t in targets {
            match inner.docs.get(&t.device.id) {
                Some(doc) if doc.stored_backup_id() == t.stored_backup_id => {
                    out.found.push(Candidate {
                        device: t.device,
                        document: Arc::clone(doc),
                    })
                }
                _ => out.missing.push(t),
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .docs
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the cached documents hold, as counted against the budget.
    pub fn memory_bytes(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        CacheStats {
            entries: inner.docs.len(),
            memory_bytes: inner.bytes,
            memory_budget: self.budget,
            refused: inner.refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use devicevault_core::Timestamp;

    use super::*;

    fn doc(id: i64, size: usize) -> Arc<Document> {
        let at = Timestamp::parse("2026-01-12T12:34:56.789Z").unwrap();
        Arc::new(Document::new(id, at, vec![b'x'; size], |t| {
            Cow::Borrowed(t)
        }))
    }

    fn target(device: i64, stored_backup_id: i64) -> Target {
        Target {
            device: DeviceRef::new(device, format!("r{device}")),
            stored_backup_id,
        }
    }

    #[test]
    fn a_new_version_replaces_the_old_and_the_memory_follows() {
        let cache = ContentCache::default();
        assert_eq!(cache.insert(1, doc(10, 1000)), Admission::Cached);
        let first = cache.memory_bytes();
        assert!(first >= 1000);
        assert_eq!(cache.insert(1, doc(11, 3000)), Admission::Cached);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.memory_bytes(), first + 2000);
        assert_eq!(cache.get(1).unwrap().stored_backup_id(), 11);
        assert!(cache.remove(1));
        assert_eq!((cache.len(), cache.memory_bytes()), (0, 0));
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = ContentCache::default();
        cache.insert(1, doc(11, 10));
        assert_eq!(cache.insert(1, doc(10, 10)), Admission::Superseded);
        assert_eq!(cache.insert(1, doc(11, 10)), Admission::AlreadyCached);
        assert_eq!(cache.get(1).unwrap().stored_backup_id(), 11);
    }

    #[test]
    fn lookup_returns_only_the_version_the_caller_names_and_lists_the_rest_as_missing() {
        let cache = ContentCache::default();
        cache.insert(1, doc(10, 10));
        cache.insert(2, doc(20, 10));
        let got = cache.lookup([target(1, 10), target(2, 21), target(3, 30)]);
        let found: Vec<_> = got.found.iter().map(|c| c.device.id).collect();
        let missing: Vec<_> = got.missing.iter().map(|t| t.device.id).collect();
        assert_eq!(found, [1]);
        assert_eq!(
            missing,
            [2, 3],
            "a stale and an absent device are read from storage"
        );
    }

    #[test]
    fn beyond_the_budget_new_documents_are_refused_and_the_cached_set_stays() {
        let one = cost(&doc(0, 1000));
        let cache = ContentCache::new(one * 2);
        assert_eq!(cache.insert(1, doc(10, 1000)), Admission::Cached);
        assert_eq!(cache.insert(2, doc(20, 1000)), Admission::Cached);
        assert_eq!(cache.insert(3, doc(30, 1000)), Admission::OverBudget);
        assert!(cache.memory_bytes() <= one * 2);
        assert!(cache.get(1).is_some() && cache.get(2).is_some() && cache.get(3).is_none());
        // A bigger new version that does not fit drops the stale one.
        assert_eq!(cache.insert(2, doc(21, 5000)), Admission::OverBudget);
        assert!(cache.get(2).is_none());
        assert_eq!(cache.stats().refused, 2);
        assert_eq!(cache.insert(3, doc(30, 1000)), Admission::Cached);
    }

    #[test]
    fn the_cache_is_shared_between_an_inserting_thread_and_searching_threads() {
        let cache = Arc::new(ContentCache::default());
        std::thread::scope(|s| {
            let c = Arc::clone(&cache);
            s.spawn(move || {
                for v in 0..200 {
                    c.insert(v % 10, doc(v, 100));
                }
            });
            for _ in 0..2 {
                let c = Arc::clone(&cache);
                s.spawn(move || {
                    for _ in 0..200 {
                        let l = c.lookup((0..10).map(|d| target(d, 0)));
                        assert_eq!(l.found.len() + l.missing.len(), 10);
                    }
                });
            }
        });
        assert_eq!(cache.len(), 10);
        let expected: usize = (190..200).map(|v| cost(&doc(v, 100))).sum();
        assert_eq!(cache.memory_bytes(), expected);
    }
}
