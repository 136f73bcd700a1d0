//! The two channels the roles talk through, as traits: a **task bus**
//! (queues of Celery-style tasks with explicit ack, retry-later and
//! dead-letter, plus request/reply) and a **result log** (append-only
//! streams read by consumer groups, with ack and reclaim).
//!
//! Each has an in-process implementation (embedded mode) and a networked
//! one (RabbitMQ and Redis Streams, distributed mode). Roles are generic
//! over these traits and never learn which one they run on.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::{Retry, RetryClass};

/// A boxed future, for the object-safe parts of the traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a bus operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The broker or stream server cannot be reached right now.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// A request/reply call got no reply in time.
    #[error("no reply to {task} on {queue} within {timeout:?}")]
    Timeout {
        task: String,
        queue: String,
        timeout: Duration,
    },
    /// The bus was shut down.
    #[error("bus closed")]
    Closed,
    /// A message that cannot be decoded; it is dead-lettered, never retried.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The remote task failed and said why.
    #[error("{0}")]
    Remote(String),
    /// A setting (a URL) the bus cannot use; only a change of
    /// configuration helps.
    #[error("{0}")]
    Misconfigured(String),
}

impl RetryClass for BusError {
    fn retry(&self) -> Retry {
        match self {
            Self::Unavailable(_) | Self::Timeout { .. } | Self::Closed => Retry::Transient,
            Self::Malformed(_) | Self::Remote(_) | Self::Misconfigured(_) => Retry::Permanent,
        }
    }
}

/// A task on the wire: Celery protocol v2's `id`, `task` name, retry count
/// and positional/keyword arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub name: String,
    pub args: Vec<serde_json::Value>,
    pub kwargs: serde_json::Map<String, serde_json::Value>,
    pub retries: u32,
}

impl Task {
    /// A task with one positional argument.
    pub fn with_arg(id: String, name: &str, arg: serde_json::Value) -> Self {
        Self {
            id,
            name: name.to_owned(),
            args: vec![arg],
            kwargs: serde_json::Map::new(),
            retries: 0,
        }
    }
}

/// What to do with a delivered task once it has been handled.
pub trait Settle: Send {
    /// The effect is durable: forget the task.
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<(), BusError>>;
    /// Deliver it again after `delay`, with `retries` incremented.
    fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<(), BusError>>;
    /// Give up: park it on the dead-letter queue with `reason`.
    fn dead_letter(self: Box<Self>, reason: String) -> BoxFuture<'static, Result<(), BusError>>;
    /// Answer a request/reply call (then ack).
    fn reply(
        self: Box<Self>,
        result: Result<serde_json::Value, String>,
    ) -> BoxFuture<'static, Result<(), BusError>>;
}

/// A task handed to a consumer, to be settled exactly once.
pub struct Delivery {
    pub task: Task,
    pub queue: String,
    pub settle: Box<dyn Settle>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("task", &self.task.name)
            .field("id", &self.task.id)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

/// Queues of tasks.
pub trait TaskBus: Clone + Send + Sync + 'static {
    /// A stream of deliveries from one queue.
    type Consumer: TaskConsumer;

    /// Enqueues `task` on `queue` (declared on first use).
    fn publish(&self, queue: &str, task: Task)
    -> impl Future<Output = Result<(), BusError>> + Send;

    /// Starts consuming `queue`. Unsettled deliveries of a dropped consumer
    /// go back to the queue, even those a handler still holds: settling one
    /// of those afterwards fails.
    fn consume(&self, queue: &str)
    -> impl Future<Output = Result<Self::Consumer, BusError>> + Send;

    /// Publishes `task` and waits for its reply.
    fn call(
        &self,
        queue: &str,
        task: Task,
        timeout: Duration,
    ) -> impl Future<Output = Result<serde_json::Value, BusError>> + Send;
}

/// Deliveries of one queue.
pub trait TaskConsumer: Send + 'static {
    /// The next delivery; waits for one.
    fn next(&mut self) -> impl Future<Output = Result<Delivery, BusError>> + Send;
}

/// One record of a stream, as read by a consumer group member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    pub id: String,
    pub fields: HashMap<String, String>,
    /// How many times the entry has been delivered to the group.
    pub deliveries: u64,
}

/// Append-only streams with consumer groups.
pub trait ResultLog: Clone + Send + Sync + 'static {
    /// Appends a record and returns its id. A record has at least one
    /// field; an empty one is [`BusError::Malformed`].
    fn append(
        &self,
        stream: &str,
        fields: Vec<(&'static str, String)>,
    ) -> impl Future<Output = Result<String, BusError>> + Send;

    /// Reads up to `count` new entries for `consumer` of `group` (created on
    /// first use, from the start of the stream), waiting up to `block`.
    fn read(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> impl Future<Output = Result<Vec<StreamEntry>, BusError>> + Send;

    /// Marks an entry as handled by the group.
    fn ack(
        &self,
        stream: &str,
        group: &str,
        id: &str,
    ) -> impl Future<Output = Result<(), BusError>> + Send;

    /// Takes over entries another consumer left pending for `min_idle`.
    fn reclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> impl Future<Output = Result<Vec<StreamEntry>, BusError>> + Send;

    /// Moves an entry to `<stream>:dead` with the reason, and acks it. The
    /// dead record is the entry's fields plus `dead_reason`,
    /// `dead_entry_id` and `dead_group`.
    fn dead_letter(
        &self,
        stream: &str,
        group: &str,
        entry: &StreamEntry,
        reason: &str,
    ) -> impl Future<Output = Result<(), BusError>> + Send;
}

/// A queue as the broker tells it, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    /// Messages waiting to be delivered (not those delivered and unacked:
    /// RabbitMQ's AMQP answer does not count them).
    pub ready: u64,
    /// Consumers attached, when the bus can tell.
    pub consumers: Option<u64>,
}

/// A consumer group of a stream, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBacklog {
    pub group: String,
    /// Entries delivered to the group's consumers and not yet acked.
    pub pending: u64,
    /// Entries not yet delivered to the group, when the server can tell
    /// (Redis 7 reports it; it does not after some deletions).
    pub lag: Option<u64>,
}

/// An optional capability of a task bus, beside [`TaskBus`]: how deep a
/// queue is. A bus that cannot tell does not implement it, and its
/// processes show no depth rather than a made-up one.
pub trait QueueStats: Send + Sync + 'static {
    /// `None` when the queue does not exist (yet).
    fn queue_depth<'a>(
        &'a self,
        queue: &'a str,
    ) -> BoxFuture<'a, Result<Option<QueueDepth>, BusError>>;
}

/// An optional capability of a result log, beside [`ResultLog`]: each
/// consumer group's backlog on a stream (none when the stream does not
/// exist yet).
pub trait StreamStats: Send + Sync + 'static {
    fn stream_backlog<'a>(
        &'a self,
        stream: &'a str,
    ) -> BoxFuture<'a, Result<Vec<GroupBacklog>, BusError>>;
}
