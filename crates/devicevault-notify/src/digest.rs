//! Grouping a rule's events into digests: one message per interval.
//!
//! Windows are aligned on multiples of the interval since the Unix epoch
//! (UTC), not started by the first event: whichever worker looks, and
//! however often it restarts, the same events fall into the same window,
//! so a digest is the same set of events — and gets the same Message-ID —
//! every time it is rendered.

use std::collections::BTreeMap;
use std::time::Duration;

use devicevault_core::Timestamp;
use time::OffsetDateTime;

use crate::event::Event;
use crate::render::counts;

/// The events of one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// Inclusive.
    pub window_start: Timestamp,
    /// Exclusive; the digest is due from then on.
    pub window_end: Timestamp,
    /// In the order they happened (then by id), each id once.
    pub events: Vec<Event>,
}

impl Digest {
    /// Whether the window has closed, so no event can join any more.
    pub fn is_due(&self, now: Timestamp) -> bool {
        now >= self.window_end
    }

    /// Events per kind, most frequent first.
    pub fn counts(&self) -> Vec<(crate::EventKind, usize)> {
        counts(&self.events)
    }
}

fn interval_millis(interval: Duration) -> i128 {
    (interval.as_millis() as i128).max(1000)
}

fn from_millis(ms: i128) -> Timestamp {
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
        .map(Timestamp::from_datetime)
        .unwrap_or_else(|_| Timestamp::from_datetime(OffsetDateTime::UNIX_EPOCH))
}

/// The window `[start, end)` of `interval` (at least one second) that
/// contains `at`.
pub fn window(at: Timestamp, interval: Duration) -> (Timestamp, Timestamp) {
    let step = interval_millis(interval);
    let start = at.unix_millis().div_euclid(step) * step;
    (from_millis(start), from_millis(start + step))
}

/// Groups events by window, earliest window first. An event given twice
/// (same id) is kept once.
pub fn group(events: impl IntoIterator<Item = Event>, interval: Duration) -> Vec<Digest> {
    let mut by_window: BTreeMap<Timestamp, BTreeMap<(Timestamp, i64), Event>> = BTreeMap::new();
    for e in events {
        let (start, _) = window(e.occurred_at, interval);
        by_window
            .entry(start)
            .or_default()
            .insert((e.occurred_at, e.id), e);
    }
    by_window
        .into_iter()
        .map(|(start, events)| Digest {
            window_start: start,
            window_end: window(start, interval).1,
            events: events.into_values().collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKind;

    fn ev(id: i64, at: &str, kind: EventKind) -> Event {
        Event::new(id, kind, Timestamp::parse(at).unwrap(), 1, "r1")
    }

    #[test]
    fn events_fall_into_aligned_windows() {
        let hour = Duration::from_secs(3600);
        let (s, e) = window(Timestamp::parse("2026-03-01T10:59:59.999Z").unwrap(), hour);
        assert_eq!(s.to_string(), "2026-03-01T10:00:00.000Z");
        assert_eq!(e.to_string(), "2026-03-01T11:00:00.000Z");
        let digests = group(
            vec![
                ev(3, "2026-03-01T11:00:00Z", EventKind::BackupFailed),
                ev(2, "2026-03-01T10:30:00Z", EventKind::BackupFailed),
                ev(1, "2026-03-01T10:10:00Z", EventKind::ConfigChanged),
                ev(2, "2026-03-01T10:30:00Z", EventKind::BackupFailed),
                ev(4, "2026-03-01T10:10:00Z", EventKind::BackupFailed),
            ],
            hour,
        );
        assert_eq!(digests.len(), 2);
        let ids: Vec<i64> = digests[0].events.iter().map(|e| e.id).collect();
        assert_eq!(ids, [1, 4, 2]);
        assert_eq!(
            digests[0].counts(),
            [(EventKind::BackupFailed, 2), (EventKind::ConfigChanged, 1)]
        );
        assert_eq!(digests[1].events[0].id, 3);
        let before = Timestamp::parse("2026-03-01T10:59:59Z").unwrap();
        let after = Timestamp::parse("2026-03-01T11:00:00Z").unwrap();
        assert!(!digests[0].is_due(before));
        assert!(digests[0].is_due(after));
    }

    #[test]
    fn a_zero_interval_is_one_second() {
        let (s, e) = window(
            Timestamp::parse("2026-03-01T10:00:00.500Z").unwrap(),
            Duration::ZERO,
        );
        assert_eq!(e.unix_millis() - s.unix_millis(), 1000);
    }
}
