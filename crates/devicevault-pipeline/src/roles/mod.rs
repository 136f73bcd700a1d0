//! The pipeline's roles. Each `run_*` function runs until its shutdown
//! token is cancelled and can be the whole of a process.

pub mod collector;
pub mod device_results;
pub mod dispatcher;
pub mod notifier;
pub mod storage_results;
pub mod storage_worker;
mod stream;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use devicevault_core::Retry;
use devicevault_core::bus::{Delivery, TaskBus, TaskConsumer};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use stream::{GROUP, StreamConsumer, consume_stream, consume_stream_batches};

/// Consumes `queue` until `shutdown`, running `handle` on each delivery with
/// at most `slots` deliveries in flight (a delivery is only taken when a slot
/// is free, so a busy worker leaves the rest to others). Work in flight
/// finishes before it returns.
pub async fn consume_queue<B, H, Fut>(
    bus: B,
    queue: String,
    slots: Arc<Semaphore>,
    shutdown: CancellationToken,
    handle: H,
) where
    B: TaskBus,
    H: Fn(Delivery) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut consumer = loop {
        match bus.consume(&queue).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(queue = %queue, error = %e, "cannot consume the queue; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    let mut running = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let delivery = tokio::select! {
            () = shutdown.cancelled() => break,
            d = consumer.next() => d,
        };
        match delivery {
            Ok(delivery) => {
                let work = handle(delivery);
                running.spawn(async move {
                    work.await;
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(queue = %queue, error = %e, "receiving from the queue failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

/// Awaits a settle (`ack`, `retry_later`, `dead_letter`, `reply`) and logs
/// a failure instead of dropping it: the broker will deliver the task
/// again, and the log says why the work is repeated.
pub async fn settled(
    what: &'static str,
    queue: &str,
    task_id: &str,
    settle: impl Future<Output = Result<(), devicevault_core::bus::BusError>>,
) {
    if let Err(e) = settle.await {
        tracing::warn!(queue = %queue, task_id = %task_id, error = %e, "could not {what} the task; the broker will deliver it again");
    }
}

/// A random UUID (version 4), the form Celery uses for task ids.
pub fn new_task_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Why handling one message failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct HandleError {
    pub retry: Retry,
    pub reason: String,
}

impl HandleError {
    pub fn transient(reason: impl std::fmt::Display) -> Self {
        Self {
            retry: Retry::Transient,
            reason: reason.to_string(),
        }
    }

    pub fn permanent(reason: impl std::fmt::Display) -> Self {
        Self {
            retry: Retry::Permanent,
            reason: reason.to_string(),
        }
    }

    /// Classifies any error that knows whether a retry helps.
    pub fn from_class<E: devicevault_core::RetryClass + std::fmt::Display>(e: E) -> Self {
        Self {
            retry: e.retry(),
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn task_ids_are_uuid_v4() {
        let id = super::new_task_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, super::new_task_id());
    }
}
