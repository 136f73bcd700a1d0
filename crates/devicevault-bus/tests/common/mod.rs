//! What the bus test suites share: where the test servers are, names of a
//! test's own (removed after it, so tests run in parallel on the shared
//! RabbitMQ and Redis and leave nothing behind), each implementation set up
//! for the conformance cases, and a plain AMQP channel to look at the wire.
// Every test binary uses part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use devicevault_bus::amqp::REASON_HEADER;
use devicevault_bus::{AmqpBus, LocalBus, LocalLog, RedisLog, RedisLogOptions};
use lapin::options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::AMQPValue;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

/// RabbitMQ for the tests (`scripts/test` starts it).
pub fn amqp_url() -> String {
    std::env::var("DEVICEVAULT_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Redis for the tests (`scripts/test` starts it).
pub fn redis_url() -> String {
    std::env::var("DEVICEVAULT_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// The one delay the tests retry with, so the AMQP clean-up knows the name
/// of the delay queue it leaves (`<queue>.delay.<ms>`).
pub const RETRY_DELAY: Duration = Duration::from_millis(300);

/// Where a test's names live, and so what removing them takes.
enum Server {
    /// In-process: nothing outlives the test.
    None,
    Amqp,
    Redis,
}

/// Names under a prefix no other test shares, removed when dropped (even
/// after a failed assertion).
struct Names {
    prefix: String,
    given: Mutex<Vec<String>>,
    server: Server,
}

impl Names {
    /// `dvtest.<pid>.<clock>.<n>.`: the clock keeps a pid reused after a
    /// crashed run from meeting that run's leftovers.
    fn new(server: Server) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self {
            prefix: format!(
                "dvtest.{}.{nanos}.{}.",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ),
            given: Mutex::default(),
            server,
        }
    }

    fn name(&self, tag: &str) -> String {
        let name = format!("{}{tag}", self.prefix);
        self.given.lock().unwrap().push(name.clone());
        name
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        match self.server {
            Server::None => {}
            Server::Amqp => {
                let given = self.given.get_mut().unwrap_or_else(|p| p.into_inner());
                delete_amqp_queues(std::mem::take(given));
            }
            Server::Redis => delete_redis_keys(&self.prefix),
        }
    }
}

/// A task bus under test, with queue names of its own.
pub struct BusUnderTest<B> {
    pub bus: B,
    /// How long to watch for a delivery that must not come. The in-process
    /// bus would hand a wrong redelivery over at once; on RabbitMQ it takes
    /// a nack or a TTL and two trips to the broker, so a short look would
    /// pass a bug.
    pub quiet: Duration,
    names: Names,
}

impl<B> BusUnderTest<B> {
    /// A queue name of this test's own.
    pub fn queue(&self, tag: &str) -> String {
        self.names.name(tag)
    }
}

impl BusUnderTest<LocalBus> {
    pub fn local() -> Self {
        Self {
            bus: LocalBus::new(),
            quiet: Duration::from_millis(50),
            names: Names::new(Server::None),
        }
    }
}

impl BusUnderTest<AmqpBus> {
    pub async fn amqp() -> Self {
        Self::amqp_with_prefetch(8).await
    }

    pub async fn amqp_with_prefetch(prefetch: u16) -> Self {
        let bus = AmqpBus::connect(&amqp_url(), prefetch)
            .await
            .expect("RabbitMQ on DEVICEVAULT_TEST_AMQP_URL (scripts/test starts it)");
        Self {
            bus,
            quiet: Duration::from_millis(300),
            names: Names::new(Server::Amqp),
        }
    }
}

/// Deletes each queue with its exchange, dead-letter queue and delay
/// queues. `Drop` may run inside the test's runtime, or while a panic
/// unwinds through it: a thread with a runtime and a connection of its own
/// cannot deadlock on that.
fn delete_amqp_queues(queues: Vec<String>) {
    let done = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let bus = AmqpBus::connect(&amqp_url(), 1).await?;
            for q in &queues {
                bus.delete_delay_queues(q, &[RETRY_DELAY]).await?;
                bus.delete_queue(q).await?;
            }
            Ok::<_, devicevault_core::bus::BusError>(())
        })
    })
    .join();
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("test queues left behind: {e}"),
        Err(_) => eprintln!("test queues left behind: the clean-up panicked"),
    }
}

/// A result log under test, with stream names of its own.
pub struct LogUnderTest<L> {
    pub log: L,
    names: Names,
}

impl<L> LogUnderTest<L> {
    /// A stream name of this test's own (its `:dead` stream is removed too).
    pub fn stream(&self, tag: &str) -> String {
        self.names.name(tag)
    }
}

impl LogUnderTest<LocalLog> {
    pub fn local() -> Self {
        Self {
            log: LocalLog::new(),
            names: Names::new(Server::None),
        }
    }
}

impl LogUnderTest<RedisLog> {
    pub async fn redis() -> Self {
        Self::redis_with(RedisLogOptions::default()).await
    }

    pub async fn redis_with(options: RedisLogOptions) -> Self {
        let log = RedisLog::connect_with(&redis_url(), options)
            .await
            .expect("Redis on DEVICEVAULT_TEST_REDIS_URL (scripts/test starts it)");
        Self {
            log,
            names: Names::new(Server::Redis),
        }
    }
}

/// Deletes every key under `prefix`, on a blocking connection of its own.
fn delete_redis_keys(prefix: &str) {
    let Ok(mut conn) = redis::Client::open(redis_url()).and_then(|c| c.get_connection()) else {
        eprintln!("test streams under {prefix} left behind: no connection");
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut conn)
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut conn);
    }
}

/// Where a task bus keeps what was dead-lettered, read back by the cases.
pub trait DeadLetters {
    /// `(task id, reason)` of each task dead-lettered from `queue` since the
    /// last look, oldest first.
    fn dead_letters(&self, queue: &str) -> impl Future<Output = Vec<(String, String)>> + Send;
}

impl DeadLetters for LocalBus {
    async fn dead_letters(&self, queue: &str) -> Vec<(String, String)> {
        LocalBus::dead_letters(self, queue)
            .into_iter()
            .map(|(task, reason)| (task.id, reason))
            .collect()
    }
}

impl DeadLetters for AmqpBus {
    /// Takes them off `<queue>.dead`.
    async fn dead_letters(&self, queue: &str) -> Vec<(String, String)> {
        let (_conn, ch) = raw_channel().await;
        drain(&ch, &format!("{queue}.dead"))
            .await
            .iter()
            .map(|m| {
                (
                    header_text(&m.properties, "id").expect("a Celery message has an id"),
                    header_text(&m.properties, REASON_HEADER).expect("a reason"),
                )
            })
            .collect()
    }
}

/// A plain lapin channel, to do what a foreign client would.
pub async fn raw_channel() -> (Connection, Channel) {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    // Confirms, so a raw publish is on its queue before the next step.
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    (conn, ch)
}

pub async fn raw_publish(ch: &Channel, queue: &str, body: &[u8], props: BasicProperties) {
    ch.basic_publish(
        queue.into(),
        queue.into(),
        BasicPublishOptions::default(),
        body,
        props,
    )
    .await
    .unwrap()
    .await
    .unwrap();
}

pub fn header_text(props: &BasicProperties, key: &str) -> Option<String> {
    match props.headers().as_ref()?.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

/// Everything on `queue`, taken off it.
pub async fn drain(ch: &Channel, queue: &str) -> Vec<lapin::message::Delivery> {
    let mut out = Vec::new();
    while let Some(m) = ch
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        out.push(m.delivery);
    }
    out
}
