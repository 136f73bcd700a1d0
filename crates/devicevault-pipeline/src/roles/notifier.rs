//! The notifier: delivers the outbox. It first turns new events into
//! deliveries (one per channel a rule picks them for), then claims due
//! deliveries with a lease and sends them, at most `notify.concurrency` at
//! once.
//!
//! The pipeline only writes event rows; nothing here runs on its path, so
//! a slow or dead receiver costs the notifier time, never a backup. Any
//! number of notifiers may run: claims are compare-and-swaps, and a
//! notifier that dies mid-delivery leaves a claim whose lease runs out,
//! after which another takes the delivery and sends it again with the same
//! idempotency key (or marks it dead when that was its last attempt).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use devicevault_core::{RetryClass as _, Timestamp};
use devicevault_db::{ClaimedDelivery, DbError, DeliveryOutcome, Page};
use devicevault_notify::NextAttempt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::app::notifications::event_for;

const ALL: Page = Page {
    limit: 10_000,
    offset: 0,
};

fn later(d: Duration) -> Timestamp {
    Timestamp::from_datetime(Timestamp::now().as_datetime() + d)
}

/// Makes the deliveries of events not yet planned; returns how many
/// events it planned.
pub async fn plan(app: &App) -> Result<usize, DbError> {
    let events = app.db.unplanned_events(100).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let rules = app.db.rules(ALL).await?.rows;
    let mut planned = Vec::with_capacity(events.len());
    for e in &events {
        let group = match app.db.device(e.device_id).await {
            Ok(d) => d.fields.device_group,
            Err(DbError::NotFound { .. }) => None,
            Err(err) => return Err(err),
        };
        let mut channels = HashSet::new();
        let targets: Vec<(i64, i64)> = rules
            .iter()
            .filter(|r| r.fields.picks(&e.kind, e.device_id, group))
            .filter(|r| channels.insert(r.fields.channel_id))
            .map(|r| (r.fields.channel_id, r.id))
            .collect();
        tracing::debug!(event = e.id, kind = %e.kind, device_id = e.device_id, deliveries = targets.len(), "event planned");
        planned.push((e.id, targets));
    }
    // One transaction for the pass.
    app.db.plan_events(&planned).await?;
    Ok(events.len())
}

/// Why an attempt failed, with whether a retry can help.
struct Failure {
    message: String,
    transient: bool,
    retry_after: Option<Duration>,
}

async fn attempt(app: &App, c: &ClaimedDelivery) -> Result<(), Failure> {
    let fail = |message: String, transient: bool| Failure {
        message,
        transient,
        retry_after: None,
    };
    let event = app
        .db
        .outbox_event(c.event_id)
        .await
        .map_err(|e| fail(e.to_string(), e.is_transient()))?;
    let stored = app
        .db
        .channel(c.channel_id)
        .await
        .map_err(|e| fail(e.to_string(), e.is_transient()))?;
    let channel = app
        .sender
        .channel(app, &stored)
        .map_err(|e| fail(e.to_string(), e.is_transient()))?;
    let message = event_for(app, &event)
        .await
        .map_err(|e| fail(e.to_string(), e.is_transient()))?;
    app.sender
        .deliver(&channel, &[message])
        .await
        .map_err(|e| Failure {
            message: e.to_string(),
            transient: e.is_transient(),
            retry_after: e.retry_after(),
        })
}

/// Sends one claimed delivery and records what became of it.
pub async fn deliver(app: &App, c: &ClaimedDelivery) -> Result<(), DbError> {
    let policy = app.sender.policy();
    let max = i64::from(policy.max_attempts);
    let outcome = if c.lease_expired && c.attempt > max {
        DeliveryOutcome::Dead {
            error: format!(
                "the notifier stopped during attempt {} of {max}, the last",
                c.attempt - 1
            ),
        }
    } else {
        // Within the lease, so no other notifier takes it meanwhile.
        let bound = app.sender.settings.lease.mul_f64(0.8);
        let result = match tokio::time::timeout(bound, attempt(app, c)).await {
            Ok(r) => r,
            Err(_) => Err(Failure {
                message: format!(
                    "the attempt took longer than {} ms (transient)",
                    bound.as_millis()
                ),
                transient: true,
                retry_after: None,
            }),
        };
        match result {
            Ok(()) => DeliveryOutcome::Delivered,
            Err(f) => {
                let n = u32::try_from(c.attempt).unwrap_or(u32::MAX);
                let next = if !f.transient || n >= policy.max_attempts {
                    NextAttempt::Dead
                } else {
                    let mut wait = policy.delay(n, c.event_id);
                    if let Some(asked) = f.retry_after {
                        wait = wait.max(asked.min(policy.max_delay));
                    }
                    NextAttempt::At(later(wait))
                };
                match next {
                    NextAttempt::At(at) => DeliveryOutcome::RetryAt {
                        at,
                        error: f.message,
                    },
                    NextAttempt::Dead => DeliveryOutcome::Dead { error: f.message },
                }
            }
        }
    };
    let recorded = app.db.finish_delivery(c.id, c.attempt, &outcome).await?;
    match &outcome {
        DeliveryOutcome::Delivered => tracing::info!(
            delivery = c.id,
            event = c.event_id,
            attempt = c.attempt,
            recorded,
            "notification delivered"
        ),
        DeliveryOutcome::RetryAt { at, error } => {
            tracing::warn!(delivery = c.id, event = c.event_id, attempt = c.attempt, next = %at, error = %error, "notification not delivered; will retry")
        }
        DeliveryOutcome::Dead { error } => {
            tracing::error!(delivery = c.id, event = c.event_id, attempt = c.attempt, error = %error, "notification dead")
        }
    }
    Ok(())
}

/// One pass: plans new events, then claims what is due (as many as there
/// are free slots) and starts sending it. Returns how many it claimed.
pub async fn tick(
    app: &Arc<App>,
    slots: &Arc<Semaphore>,
    running: &mut tokio::task::JoinSet<()>,
) -> Result<usize, DbError> {
    plan(app).await?;
    let free = slots.available_permits();
    if free == 0 {
        return Ok(0);
    }
    let lease = app.sender.settings.lease;
    let claimed = app
        .db
        .claim_deliveries(Timestamp::now(), later(lease), free as i64)
        .await?;
    let n = claimed.len();
    for c in claimed {
        let permit = slots.clone().acquire_owned().await.expect("never closed");
        let app = app.clone();
        running.spawn(async move {
            if let Err(e) = deliver(&app, &c).await {
                // The claim's lease runs out and the delivery is tried again.
                tracing::warn!(delivery = c.id, error = %e, "recording a delivery failed");
            }
            drop(permit);
        });
    }
    Ok(n)
}

/// Delivers the outbox until `shutdown`; deliveries in flight finish
/// (each is bounded).
pub async fn run_notifier(app: Arc<App>, shutdown: CancellationToken) {
    let slots = Arc::new(Semaphore::new(app.sender.settings.concurrency.max(1)));
    let mut running = tokio::task::JoinSet::new();
    let poll = app.sender.settings.poll_interval;
    loop {
        while running.try_join_next().is_some() {}
        let busy = match tick(&app, &slots, &mut running).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "the notifier could not read the outbox");
                false
            }
        };
        let wait = if busy {
            Duration::from_millis(20)
        } else {
            poll
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    while running.join_next().await.is_some() {}
}
