//! The consumer-group loop shared by the two result consumers: read a
//! batch, handle it, ack only what was handled, take over entries a dead
//! consumer left pending, and dead-letter what keeps failing.
//!
//! The consumers handle a whole read batch at once
//! ([`consume_stream_batches`]): their database writes for every entry of
//! the batch go in one transaction, and each entry is still settled on its
//! own outcome.

use std::future::Future;
use std::time::{Duration, Instant};

use devicevault_core::Retry;
use devicevault_core::bus::{ResultLog, StreamEntry};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::HandleError;

/// Where and how one consumer reads.
#[derive(Debug, Clone)]
pub struct StreamConsumer<L> {
    pub log: L,
    pub stream: String,
    pub group: String,
    /// Stable per process, so a restarted consumer finds its own pending entries.
    pub consumer: String,
    pub batch: usize,
    pub block: Duration,
    pub reclaim_idle: Duration,
    pub max_deliveries: u64,
}

/// The consumer group every DeviceVault consumer of a stream joins.
pub const GROUP: &str = "devicevault";

impl<L: ResultLog> StreamConsumer<L> {
    /// A member of [`GROUP`] on `stream`, named `consumer` (stable across
    /// restarts of one process, distinct between processes).
    pub fn new(log: L, stream: &str, consumer: &str, settings: &crate::Settings) -> Self {
        Self {
            log,
            stream: stream.to_owned(),
            group: GROUP.to_owned(),
            consumer: consumer.to_owned(),
            batch: 64,
            block: Duration::from_secs(1),
            reclaim_idle: settings.reclaim_idle,
            max_deliveries: settings.max_deliveries,
        }
    }
}

/// Runs `handle` on every entry of the stream until `shutdown`, entries of
/// one read concurrently. An entry is acked only after `handle` succeeded
/// (its effect is committed); a permanent failure, or a transient one on its
/// `max_deliveries`-th delivery, moves it to `<stream>:dead` with the
/// reason; other transient failures stay pending and are retried after
/// `reclaim_idle`.
pub async fn consume_stream<L, H, Fut>(c: StreamConsumer<L>, shutdown: CancellationToken, handle: H)
where
    L: ResultLog,
    H: Fn(StreamEntry) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandleError>> + Send + 'static,
{
    consume_stream_batches(c, shutdown, move |entries: Vec<StreamEntry>| {
        let handle = handle.clone();
        async move {
            let mut running = JoinSet::new();
            let n = entries.len();
            for (i, entry) in entries.into_iter().enumerate() {
                let handle = handle.clone();
                running.spawn(async move { (i, handle(entry).await) });
            }
            let mut outcomes: Vec<Result<(), HandleError>> = (0..n)
                .map(|_| Err(HandleError::transient("the stream handler panicked")))
                .collect();
            while let Some(joined) = running.join_next().await {
                match joined {
                    Ok((i, outcome)) => outcomes[i] = outcome,
                    Err(e) => tracing::error!(error = %e, "a stream handler panicked"),
                }
            }
            outcomes
        }
    })
    .await;
}

/// Runs `handle` on each batch of entries read from the stream until
/// `shutdown`. `handle` returns one outcome per entry, in order; each
/// entry is settled on its own as [`consume_stream`] says.
pub async fn consume_stream_batches<L, H, Fut>(
    c: StreamConsumer<L>,
    shutdown: CancellationToken,
    handle: H,
) where
    L: ResultLog,
    H: Fn(Vec<StreamEntry>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<Result<(), HandleError>>> + Send + 'static,
{
    let mut last_reclaim = Instant::now();
    let mut failures = 0u32;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let mut entries = Vec::new();
        if last_reclaim.elapsed() >= c.reclaim_idle / 2 {
            last_reclaim = Instant::now();
            match c
                .log
                .reclaim(&c.stream, &c.group, &c.consumer, c.reclaim_idle, c.batch)
                .await
            {
                Ok(found) => entries = found,
                Err(e) => {
                    tracing::warn!(stream = %c.stream, error = %e, "reclaiming pending entries failed")
                }
            }
        }
        if entries.is_empty() {
            let read = tokio::select! {
                () = shutdown.cancelled() => break,
                r = c.log.read(&c.stream, &c.group, &c.consumer, c.batch, c.block) => r,
            };
            match read {
                Ok(found) => {
                    failures = 0;
                    entries = found;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let pause = Duration::from_millis(200 * u64::from(failures.min(25)));
                    tracing::warn!(stream = %c.stream, error = %e, "reading the stream failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(pause) => continue,
                    }
                }
            }
        }
        if entries.is_empty() {
            continue;
        }
        handle_batch(&c, entries, &handle).await;
    }
}

async fn handle_batch<L, H, Fut>(c: &StreamConsumer<L>, entries: Vec<StreamEntry>, handle: &H)
where
    L: ResultLog,
    H: Fn(Vec<StreamEntry>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<Result<(), HandleError>>> + Send + 'static,
{
    // Its own task, so that a panic leaves the entries pending (reclaimed,
    // and dead-lettered if it keeps happening) instead of ending the loop.
    let outcomes = match tokio::spawn(handle(entries.clone())).await {
        Ok(outcomes) if outcomes.len() == entries.len() => outcomes,
        Ok(outcomes) => {
            tracing::error!(stream = %c.stream, entries = entries.len(), outcomes = outcomes.len(), "a stream handler answered for the wrong number of entries; they stay pending");
            return;
        }
        Err(e) => {
            tracing::error!(stream = %c.stream, error = %e, "a stream handler panicked");
            return;
        }
    };
    for (entry, outcome) in entries.into_iter().zip(outcomes) {
        let settled = match outcome {
            Ok(()) => c.log.ack(&c.stream, &c.group, &entry.id).await,
            Err(e) if e.retry == Retry::Permanent => {
                tracing::error!(stream = %c.stream, entry = %entry.id, reason = %e.reason, "entry cannot be handled; moved to the dead-letter stream");
                c.log
                    .dead_letter(&c.stream, &c.group, &entry, &e.reason)
                    .await
            }
            Err(e) if entry.deliveries >= c.max_deliveries => {
                let reason = format!(
                    "gave up after {} deliveries: {}",
                    entry.deliveries, e.reason
                );
                tracing::error!(stream = %c.stream, entry = %entry.id, reason = %reason, "entry keeps failing; moved to the dead-letter stream");
                c.log
                    .dead_letter(&c.stream, &c.group, &entry, &reason)
                    .await
            }
            Err(e) => {
                tracing::warn!(stream = %c.stream, entry = %entry.id, reason = %e.reason, "handling failed; the entry stays pending and will be retried");
                Ok(())
            }
        };
        if let Err(e) = settled {
            tracing::warn!(stream = %c.stream, entry = %entry.id, error = %e, "settling the entry failed; it will be delivered again");
        }
    }
}
