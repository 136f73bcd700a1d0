//! The task bus on RabbitMQ (AMQP 0-9-1, lapin), speaking Celery protocol v2
//! so Python Celery clients and workers are peers (see [`celery`]).
//!
//! Design decisions:
//! - **Topology as Celery declares it.** A task queue is durable with no
//!   arguments and bound to a durable direct exchange of the same name with
//!   the queue name as routing key; tasks are published to that exchange. A
//!   Celery app declaring the same queue gets the same thing, never
//!   `PRECONDITION_FAILED`.
//! - **Nothing is lost between two steps.** Every publish waits for the
//!   broker's confirm, and a delivery is acked only after what replaces it
//!   (retry, dead letter, reply) is confirmed. A crash in between means a
//!   duplicate, never a loss; effects are idempotent (DESIGN §5).
//! - **Delays without a plugin.** `retry_later(d)` parks the message on
//!   `<queue>.delay.<ms>`, a queue whose `x-message-ttl` is `d` and whose
//!   dead-letter route is the default exchange with the queue's name as
//!   routing key: when the TTL expires, RabbitMQ puts it back. A task whose
//!   `eta` is in the future is parked the same way, in power-of-two buckets
//!   (so a queue has at most ~32 delay queues) until the eta has passed.
//! - **A worker never sees bad input.** A message that is not a well-formed
//!   Celery v2 task goes to `<queue>.dead` with the reason in the
//!   [`REASON_HEADER`] header; [`TaskConsumer::next`] only yields tasks.
//! - **Reconnection is ours, not lapin's.** One connection per bus (shared by
//!   clones); when it dies, the next publish reconnects, and each consumer
//!   re-subscribes on its next `next()`. The broker redelivers what was in
//!   flight. Declarations are cached per connection and redone after one.

#[path = "celery.rs"]
mod celery;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use devicevault_core::bus::{
    BoxFuture, BusError, Delivery, QueueDepth, QueueStats, Settle, Task, TaskBus, TaskConsumer,
};
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::uri::AMQPUri;
use lapin::{Acker, BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::Value;
use tokio::sync::oneshot;

pub use celery::{QUEUE_HEADER, REASON_HEADER};

/// Messages larger than this are dead-lettered unread.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 20;
/// How long a publish keeps trying (reconnecting) before it gives up.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(15);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest pause between two re-subscription attempts of a consumer.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest TTL RabbitMQ accepts for `x-message-ttl` (2^32 - 1 ms).
const MAX_TTL_MS: u64 = u32::MAX as u64;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unavailable(e: impl fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

fn short(s: &str, what: &str) -> Result<ShortString, BusError> {
    ShortString::try_new(s).map_err(|e| BusError::Malformed(format!("{what} {s:?}: {e}")))
}

/// `amqp://user:secret@host/` → `amqp://user:***@host/`.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let Some(at) = url[start..end].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..start + colon], &url[at..]),
        None => url.to_owned(),
    }
}

fn backoff(failures: u32) -> Duration {
    let ms = 100u64.saturating_mul(1 << failures.min(10));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

type Waiter = oneshot::Sender<Result<Value, String>>;

/// One live connection and what was set up on it.
struct Session {
    conn: Connection,
    /// Publishes go here, in confirm mode; replaced if a channel error
    /// closes it while the connection lives on.
    publisher: Mutex<Channel>,
    /// Queues (and exchanges) declared on this connection.
    declared: Mutex<HashSet<String>>,
    /// This connection's exclusive reply queue, declared on first `call`.
    replies: tokio::sync::Mutex<Option<ReplyQueue>>,
}

/// A reply queue and the task that reads it; when that task has ended (its
/// channel closed), the queue is gone too and a new one is made.
struct ReplyQueue {
    name: String,
    reader: tokio::task::JoinHandle<()>,
}

struct Inner {
    uri: AMQPUri,
    shown_url: String,
    name: String,
    prefetch: u16,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
    waiters: Arc<Mutex<HashMap<String, Waiter>>>,
}

/// The task bus on RabbitMQ. Clones share one connection, and one reply
/// queue for [`TaskBus::call`], whose replies are matched to callers by task
/// id: two calls in flight at once must not share a task id.
#[derive(Clone)]
pub struct AmqpBus {
    inner: Arc<Inner>,
    max_message_bytes: usize,
}

impl fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpBus")
            .field("url", &self.inner.shown_url)
            .field("prefetch", &self.inner.prefetch)
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

/// Where a message goes, and what must exist for it to get there.
enum Route<'a> {
    /// A task queue: its exchange, bound with the queue's name.
    Task(&'a str),
    /// A plain durable queue, through the default exchange.
    Durable(&'a str),
    /// `<queue>.delay.<ms>`: a TTL queue that dead-letters back to `queue`.
    Delay { queue: &'a str, ms: u64 },
    /// A reply queue someone else declared, through the default exchange.
    Reply(&'a str),
}

impl Route<'_> {
    fn target(&self) -> (String, String) {
        match self {
            Self::Task(q) => ((*q).to_owned(), (*q).to_owned()),
            Self::Durable(q) | Self::Reply(q) => (String::new(), (*q).to_owned()),
            Self::Delay { queue, ms } => (String::new(), delay_queue(queue, *ms)),
        }
    }
}

fn delay_queue(queue: &str, ms: u64) -> String {
    format!("{queue}.delay.{ms}")
}

fn dead_queue(queue: &str) -> String {
    format!("{queue}.dead")
}

/// The delay queue a task `remaining` away from its eta waits in: the
/// largest power of two of milliseconds that does not overshoot.
fn eta_bucket(remaining: Duration) -> u64 {
    let ms = u64::try_from(remaining.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS);
    1 << ms.ilog2()
}

static BUS_SEQ: AtomicU64 = AtomicU64::new(0);

impl AmqpBus {
    /// Connects to the broker at `url` (`amqp://user:pass@host:5672/%2f`).
    /// Each consumer gets `prefetch` unacked deliveries at most (0: no limit).
    pub async fn connect(url: &str, prefetch: u16) -> Result<Self, BusError> {
        let shown_url = redact(url);
        // A URL that does not parse will not parse on a retry either.
        let uri: AMQPUri = url.parse().map_err(|e: String| {
            BusError::Misconfigured(format!(
                "invalid broker URL {shown_url}: {}",
                e.replace(url, &shown_url)
            ))
        })?;
        let name = format!(
            "devicevault-{}-{}",
            std::process::id(),
            BUS_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let bus = Self {
            inner: Arc::new(Inner {
                uri,
                shown_url,
                name,
                prefetch,
                session: tokio::sync::Mutex::new(None),
                waiters: Arc::default(),
            }),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        };
        bus.session().await?;
        Ok(bus)
    }

    /// Messages larger than `bytes` are dead-lettered unread.
    #[must_use]
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// The name this bus's connection shows the broker (`connection_name`),
    /// to find it in `rabbitmqctl list_connections client_properties`.
    pub fn connection_name(&self) -> &str {
        &self.inner.name
    }

    /// Publishes `task` to run no earlier than `eta` (Celery's `eta` header);
    /// consumers park it until then.
    pub async fn publish_at(
        &self,
        queue: &str,
        task: Task,
        eta: SystemTime,
    ) -> Result<(), BusError> {
        let m = celery::task_message(&task, None, Some(eta)).map_err(BusError::Malformed)?;
        self.send(&Route::Task(queue), &m.body, m.properties).await
    }

    /// Deletes `queue`, its exchange and its dead-letter queue (for tests
    /// and decommissioning). Delay queues are left alone.
    pub async fn delete_queue(&self, queue: &str) -> Result<(), BusError> {
        self.delete_queues(&[queue.to_owned(), dead_queue(queue)])
            .await?;
        let (session, ch) = self.publisher().await?;
        ch.exchange_delete(short(queue, "exchange")?, ExchangeDeleteOptions::default())
            .await
            .map_err(unavailable)?;
        lock(&session.declared).remove(queue);
        Ok(())
    }

    /// Deletes the delay queues `queue` may have: the `retry_later` delays
    /// given, and every eta bucket.
    pub async fn delete_delay_queues(
        &self,
        queue: &str,
        retry_delays: &[Duration],
    ) -> Result<(), BusError> {
        let mut names: Vec<String> = (0..32).map(|k| delay_queue(queue, 1 << k)).collect();
        names.extend(retry_delays.iter().map(|d| delay_queue(queue, ttl_ms(*d))));
        self.delete_queues(&names).await
    }

    async fn delete_queues(&self, names: &[String]) -> Result<(), BusError> {
        let (session, ch) = self.publisher().await?;
        for name in names {
            ch.queue_delete(short(name, "queue")?, QueueDeleteOptions::default())
                .await
                .map_err(unavailable)?;
            lock(&session.declared).remove(name);
        }
        Ok(())
    }

    /// The live session, connecting if there is none.
    async fn session(&self) -> Result<Arc<Session>, BusError> {
        Ok(self.publisher().await?.0)
    }

    /// The live session and its publishing channel, (re)connecting or
    /// reopening the channel as needed.
    async fn publisher(&self) -> Result<(Arc<Session>, Channel), BusError> {
        let mut slot = self.inner.session.lock().await;
        if let Some(s) = slot.as_ref().filter(|s| s.conn.status().connected()) {
            let ch = lock(&s.publisher).clone();
            if ch.status().connected() {
                return Ok((s.clone(), ch));
            }
            let ch = open_publisher(&s.conn).await?;
            *lock(&s.publisher) = ch.clone();
            return Ok((s.clone(), ch));
        }
        if slot.take().is_some() {
            tracing::warn!(broker = %self.inner.shown_url, "broker connection lost; reconnecting");
        }
        let props =
            ConnectionProperties::default().with_connection_name(self.inner.name.clone().into());
        let conn = tokio::time::timeout(
            CONNECT_TIMEOUT,
            Connection::connect_uri(self.inner.uri.clone(), props),
        )
        .await
        .map_err(|_| {
            BusError::Unavailable(format!(
                "no connection to {} within {CONNECT_TIMEOUT:?}",
                self.inner.shown_url
            ))
        })?
        .map_err(|e| {
            let message = format!("cannot connect to {}: {e}", self.inner.shown_url);
            // Wrong credentials or a vhost the user may not use: waiting
            // will not change the broker's answer.
            let text = e.to_string();
            if text.contains("ACCESS_REFUSED") || text.contains("NOT_ALLOWED") {
                BusError::Misconfigured(message)
            } else {
                BusError::Unavailable(message)
            }
        })?;
        let ch = open_publisher(&conn).await?;
        let s = Arc::new(Session {
            conn,
            publisher: Mutex::new(ch.clone()),
            declared: Mutex::default(),
            replies: tokio::sync::Mutex::default(),
        });
        *slot = Some(s.clone());
        Ok((s, ch))
    }

    /// Declares what `route` needs, once per connection.
    async fn declare(&self, s: &Session, ch: &Channel, route: &Route<'_>) -> Result<(), BusError> {
        let key = match route {
            Route::Reply(_) => return Ok(()),
            Route::Task(q) | Route::Durable(q) => (*q).to_owned(),
            Route::Delay { queue, ms } => delay_queue(queue, *ms),
        };
        if lock(&s.declared).contains(&key) {
            return Ok(());
        }
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let name = short(&key, "queue")?;
        match route {
            Route::Task(q) => declare_task_queue(ch, q).await?,
            Route::Durable(_) => {
                ch.queue_declare(name, durable, FieldTable::default())
                    .await
                    .map_err(unavailable)?;
            }
            Route::Delay { queue, ms } => {
                let mut args = FieldTable::default();
                let ttl = i64::try_from(*ms).unwrap_or(i64::MAX);
                args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl));
                args.insert(
                    "x-dead-letter-exchange".into(),
                    AMQPValue::LongString("".into()),
                );
                args.insert(
                    "x-dead-letter-routing-key".into(),
                    AMQPValue::LongString((*queue).into()),
                );
                ch.queue_declare(name, durable, args)
                    .await
                    .map_err(unavailable)?;
            }
            Route::Reply(_) => {}
        }
        lock(&s.declared).insert(key);
        Ok(())
    }

    /// Publishes one message with a confirm, reconnecting and retrying for
    /// a while if the broker is away.
    async fn send(
        &self,
        route: &Route<'_>,
        body: &[u8],
        props: BasicProperties,
    ) -> Result<(), BusError> {
        let deadline = tokio::time::Instant::now() + PUBLISH_PATIENCE;
        let mut failures = 0;
        loop {
            match self.try_send(route, body, props.clone()).await {
                Ok(()) => return Ok(()),
                Err(BusError::Unavailable(e)) if tokio::time::Instant::now() < deadline => {
                    failures += 1;
                    tracing::debug!(error = %e, failures, "publish failed; retrying");
                    tokio::time::sleep(backoff(failures)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_send(
        &self,
        route: &Route<'_>,
        body: &[u8],
        props: BasicProperties,
    ) -> Result<(), BusError> {
        let (s, ch) = self.publisher().await?;
        self.declare(&s, &ch, route).await?;
        let (exchange, key) = route.target();
        let options = BasicPublishOptions {
            // A reply to a caller that has gone may be dropped; anything
            // else must reach a queue.
            mandatory: !matches!(route, Route::Reply(_)),
            ..BasicPublishOptions::default()
        };
        let confirm = ch
            .basic_publish(
                short(&exchange, "exchange")?,
                short(&key, "routing key")?,
                options,
                body,
                props,
            )
            .await
            .map_err(unavailable)?
            .await
            .map_err(unavailable)?;
        if !confirm.is_ack() {
            return Err(BusError::Unavailable(format!(
                "the broker refused a message for {key}"
            )));
        }
        if confirm.take_message().is_some() {
            // Unroutable: the queue went away behind our back. Declare it
            // again on the next try.
            lock(&s.declared).remove(&key);
            return Err(BusError::Unavailable(format!(
                "no queue took the message for {key}"
            )));
        }
        Ok(())
    }

    async fn publish_task(
        &self,
        queue: &str,
        task: &Task,
        reply_to: Option<&str>,
    ) -> Result<(), BusError> {
        let mut m = celery::task_message(task, reply_to, None).map_err(BusError::Malformed)?;
        if reply_to.is_some() {
            // A request whose caller waits for the reply gains nothing from
            // surviving a broker restart (the caller's exclusive reply queue
            // does not), and a transient message is confirmed without a
            // disk write: one less wait on every download.
            m.properties = m.properties.with_delivery_mode(1);
        }
        self.send(&Route::Task(queue), &m.body, m.properties).await
    }

    /// This connection's reply queue, declared and consumed on first use.
    async fn reply_queue(&self) -> Result<String, BusError> {
        let s = self.session().await?;
        let mut replies = s.replies.lock().await;
        if let Some(r) = replies.as_ref().filter(|r| !r.reader.is_finished()) {
            return Ok(r.name.clone());
        }
        let ch = s.conn.create_channel().await.map_err(unavailable)?;
        let q = ch
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        let mut consumer = ch
            .basic_consume(
                q.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        // The consumer keeps its channel open; holding the channel too would
        // keep the connection alive after the last clone of the bus is gone.
        drop(ch);
        let waiters = self.inner.waiters.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(d)) = consumer.next().await {
                let Some((id, outcome)) = celery::parse_result(&d.data, &d.properties) else {
                    tracing::warn!("unreadable message on the reply queue; dropped");
                    continue;
                };
                if let celery::Outcome::Done(result) = outcome
                    && let Some(w) = lock(&waiters).remove(&id)
                {
                    // The caller may have timed out and gone.
                    let _ = w.send(result);
                }
            }
        });
        let name = q.name().to_string();
        *replies = Some(ReplyQueue {
            name: name.clone(),
            reader,
        });
        Ok(name)
    }

    async fn subscribe(&self, queue: &str) -> Result<lapin::Consumer, BusError> {
        let s = self.session().await?;
        let ch = s.conn.create_channel().await.map_err(unavailable)?;
        ch.basic_qos(self.inner.prefetch, BasicQosOptions::default())
            .await
            .map_err(unavailable)?;
        if !lock(&s.declared).contains(queue) {
            declare_task_queue(&ch, queue).await?;
            lock(&s.declared).insert(queue.to_owned());
        }
        ch.basic_consume(
            short(queue, "queue")?,
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(unavailable)
    }
}

async fn open_publisher(conn: &Connection) -> Result<Channel, BusError> {
    let ch = conn.create_channel().await.map_err(unavailable)?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(unavailable)?;
    Ok(ch)
}

/// As Celery (kombu) declares a queue: durable, no arguments, bound to a
/// durable direct exchange of the same name with its name as routing key.
async fn declare_task_queue(ch: &Channel, queue: &str) -> Result<(), BusError> {
    let name = short(queue, "queue")?;
    ch.exchange_declare(
        name.clone(),
        ExchangeKind::Direct,
        ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .map_err(unavailable)?;
    ch.queue_declare(
        name.clone(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .map_err(unavailable)?;
    ch.queue_bind(
        name.clone(),
        name.clone(),
        name,
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .map_err(unavailable)
}

fn ttl_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

/// A passive declare on a channel of its own (a missing queue closes the
/// channel it is asked on): the broker's count of ready messages and of
/// consumers, nothing declared.
impl QueueStats for AmqpBus {
    fn queue_depth<'a>(
        &'a self,
        queue: &'a str,
    ) -> BoxFuture<'a, Result<Option<QueueDepth>, BusError>> {
        Box::pin(async move {
            let name = short(queue, "queue")?;
            let s = self.session().await?;
            let ch = s.conn.create_channel().await.map_err(unavailable)?;
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            let answer = ch.queue_declare(name, passive, FieldTable::default()).await;
            let depth = match answer {
                Ok(q) => Some(QueueDepth {
                    ready: u64::from(q.message_count()),
                    consumers: Some(u64::from(q.consumer_count())),
                }),
                Err(e) if e.to_string().contains("NOT_FOUND") => None,
                Err(e) => return Err(unavailable(e)),
            };
            if ch.status().connected() {
                let _ = ch.close(200, "OK".into()).await;
            }
            Ok(depth)
        })
    }
}

impl TaskBus for AmqpBus {
    type Consumer = AmqpConsumer;

    async fn publish(&self, queue: &str, task: Task) -> Result<(), BusError> {
        self.publish_task(queue, &task, None).await
    }

    async fn consume(&self, queue: &str) -> Result<AmqpConsumer, BusError> {
        let consumer = self.subscribe(queue).await?;
        Ok(AmqpConsumer {
            bus: self.clone(),
            queue: queue.to_owned(),
            live: Some(consumer),
            failures: 0,
        })
    }

    async fn call(&self, queue: &str, task: Task, timeout: Duration) -> Result<Value, BusError> {
        let id = task.id.clone();
        let name = task.name.clone();
        let (tx, rx) = oneshot::channel();
        let attempt = async {
            let reply_to = self.reply_queue().await?;
            lock(&self.inner.waiters).insert(id.clone(), tx);
            self.publish_task(queue, &task, Some(&reply_to)).await?;
            rx.await.map_err(|_| BusError::Closed)
        };
        let outcome = tokio::time::timeout(timeout, attempt).await;
        lock(&self.inner.waiters).remove(&id);
        match outcome {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(message))) => Err(BusError::Remote(message)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BusError::Timeout {
                task: name,
                queue: queue.to_owned(),
                timeout,
            }),
        }
    }
}

/// Deliveries of one queue, on a channel of its own (so `prefetch` is per
/// consumer and dropping it hands its unsettled deliveries back).
pub struct AmqpConsumer {
    bus: AmqpBus,
    queue: String,
    live: Option<lapin::Consumer>,
    failures: u32,
}

impl fmt::Debug for AmqpConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConsumer")
            .field("queue", &self.queue)
            .field("subscribed", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

impl TaskConsumer for AmqpConsumer {
    /// Waits for the next well-formed task. Malformed messages are
    /// dead-lettered and tasks with a future eta parked on the way. If the
    /// connection is lost, re-subscribes (with backoff) and says
    /// `Unavailable` only while that fails; call again to keep waiting.
    async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            let live = match &mut self.live {
                Some(live) => live,
                None => {
                    if self.failures > 0 {
                        tokio::time::sleep(backoff(self.failures)).await;
                    }
                    match self.bus.subscribe(&self.queue).await {
                        Ok(c) => self.live.insert(c),
                        Err(e) => {
                            self.failures = self.failures.saturating_add(1);
                            return Err(e);
                        }
                    }
                }
            };
            match live.next().await {
                Some(Ok(d)) => {
                    self.failures = 0;
                    if let Some(delivery) = self.admit(d).await? {
                        return Ok(delivery);
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(queue = %self.queue, error = %e, "consumer lost; re-subscribing");
                    self.live = None;
                    self.failures = self.failures.saturating_add(1);
                }
                None => {
                    tracing::warn!(queue = %self.queue, "consumer cancelled by the broker; re-subscribing");
                    self.live = None;
                    self.failures = self.failures.saturating_add(1);
                }
            }
        }
    }
}

impl AmqpConsumer {
    /// Hands a well-formed, due task on; dead-letters or parks the rest.
    async fn admit(&self, d: lapin::message::Delivery) -> Result<Option<Delivery>, BusError> {
        let mut raw = Raw {
            acker: Some(d.acker),
            body: d.data,
            props: d.properties,
        };
        let parsed = if raw.body.len() > self.bus.max_message_bytes {
            Err(format!(
                "message of {} bytes exceeds the {}-byte limit",
                raw.body.len(),
                self.bus.max_message_bytes
            ))
        } else {
            celery::parse_task(&raw.body, &raw.props)
        };
        let incoming = match parsed {
            Ok(incoming) => incoming,
            Err(reason) => {
                tracing::error!(queue = %self.queue, reason = %reason, "malformed message moved to the dead-letter queue");
                raw.dead_letter(&self.bus, &self.queue, &reason).await?;
                return Ok(None);
            }
        };
        if let Some(remaining) = incoming.eta.and_then(celery::until) {
            let ms = eta_bucket(remaining);
            let route = Route::Delay {
                queue: &self.queue,
                ms,
            };
            self.bus.send(&route, &raw.body, raw.props.clone()).await?;
            raw.ack().await?;
            return Ok(None);
        }
        if let Some(expires) = incoming.expires
            && celery::until(expires).is_none()
        {
            let reason = format!(
                "task {} ({}) expired at {}",
                incoming.task.id,
                incoming.task.name,
                celery::format_time(expires).unwrap_or_default()
            );
            tracing::warn!(queue = %self.queue, reason = %reason, "expired task moved to the dead-letter queue");
            raw.dead_letter(&self.bus, &self.queue, &reason).await?;
            return Ok(None);
        }
        Ok(Some(Delivery {
            task: incoming.task.clone(),
            queue: self.queue.clone(),
            settle: Box::new(AmqpSettle {
                bus: self.bus.clone(),
                queue: self.queue.clone(),
                incoming,
                raw,
            }),
        }))
    }
}

/// A delivery as it came: its acker and the message to re-publish.
/// Unsettled when dropped, it goes back to the queue (nack with requeue).
struct Raw {
    acker: Option<Acker>,
    body: Vec<u8>,
    props: BasicProperties,
}

impl Raw {
    async fn ack(&mut self) -> Result<(), BusError> {
        let acker = self.acker.take().expect("settled once");
        match acker.ack(BasicAckOptions::default()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(BusError::Unavailable(
                "the channel closed before the ack; the broker will deliver the task again".into(),
            )),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn dead_letter(
        &mut self,
        bus: &AmqpBus,
        queue: &str,
        reason: &str,
    ) -> Result<(), BusError> {
        let props = celery::with_text_header(&self.props, REASON_HEADER, reason);
        let props = celery::with_text_header(&props, QUEUE_HEADER, queue);
        let dead = dead_queue(queue);
        bus.send(&Route::Durable(&dead), &self.body, props).await?;
        self.ack().await
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let Some(acker) = self.acker.take() else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let requeue = BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                };
                // If the channel is gone, the broker requeues it anyway.
                let _ = acker.nack(requeue).await;
            });
        }
    }
}

struct AmqpSettle {
    bus: AmqpBus,
    queue: String,
    incoming: celery::Incoming,
    raw: Raw,
}

impl Settle for AmqpSettle {
    fn ack(mut self: Box<Self>) -> BoxFuture<'static, Result<(), BusError>> {
        Box::pin(async move { self.raw.ack().await })
    }

    fn retry_later(
        mut self: Box<Self>,
        delay: Duration,
    ) -> BoxFuture<'static, Result<(), BusError>> {
        Box::pin(async move {
            let retries = self.incoming.task.retries.saturating_add(1);
            let props = celery::with_retries(&self.raw.props, retries);
            let route = Route::Delay {
                queue: &self.queue,
                ms: ttl_ms(delay),
            };
            self.bus.send(&route, &self.raw.body, props).await?;
            self.raw.ack().await
        })
    }

    fn dead_letter(
        mut self: Box<Self>,
        reason: String,
    ) -> BoxFuture<'static, Result<(), BusError>> {
        Box::pin(async move {
            let Self {
                bus, queue, raw, ..
            } = &mut *self;
            raw.dead_letter(bus, queue, &reason).await
        })
    }

    fn reply(
        mut self: Box<Self>,
        result: Result<Value, String>,
    ) -> BoxFuture<'static, Result<(), BusError>> {
        Box::pin(async move {
            if let Some(reply_to) = self.incoming.reply_to.clone() {
                let body = celery::result_message(&self.incoming.task.id, &result);
                let props = BasicProperties::default()
                    .with_content_type(celery::CONTENT_TYPE.into())
                    .with_content_encoding(celery::CONTENT_ENCODING.into())
                    .with_delivery_mode(1)
                    .with_correlation_id(short(&self.incoming.correlation_id, "correlation_id")?);
                self.bus
                    .send(&Route::Reply(&reply_to), &body, props)
                    .await?;
            }
            self.raw.ack().await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        assert_eq!(
            redact("amqp://guest:s3cret@localhost:5672/%2f"),
            "amqp://guest:***@localhost:5672/%2f"
        );
        assert_eq!(
            redact("amqps://u:p@ss@h/v?x=1"),
            "amqps://u:***@h/v?x=1",
            "the last @ ends the user info"
        );
        assert_eq!(redact("amqp://localhost/%2f"), "amqp://localhost/%2f");
        assert_eq!(redact("amqp://user@localhost"), "amqp://user@localhost");
    }

    #[test]
    fn eta_buckets_never_overshoot() {
        for ms in [1u64, 2, 3, 999, 1000, 1024, 1500, 86_400_000] {
            let b = eta_bucket(Duration::from_millis(ms));
            assert!(b <= ms && b * 2 > ms, "{ms} -> {b}");
        }
        assert_eq!(eta_bucket(Duration::from_micros(10)), 1);
    }
}
