//! [`RedisLog`] against a real Redis: the result-log cases of
//! `conformance.rs` (with a name prefix per test, so tests run in parallel
//! and leave nothing behind), plus what only a networked log has to survive:
//! server restarts, long blocks, concurrent readers, undecodable entries.
//!
//! Redis is expected on 127.0.0.1:6379 (scripts/test starts it);
//! `DEVICEVAULT_TEST_REDIS_URL` points elsewhere. The restart and password
//! tests start private `redis-server` processes on free ports.

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devicevault_bus::{RedisLog, RedisLogOptions};
use devicevault_core::bus::{BusError, ResultLog};

fn redis_url() -> String {
    std::env::var("DEVICEVAULT_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// A key prefix of its own for one test; deletes every key under it when
/// dropped, even after a failed assertion.
struct Names {
    prefix: String,
    url: String,
}

impl Names {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Self::at(&redis_url(), NEXT.fetch_add(1, Ordering::Relaxed))
    }

    fn at(url: &str, n: usize) -> Self {
        Self {
            prefix: format!("dvtest:{}:{n}:", std::process::id()),
            url: url.to_owned(),
        }
    }

    fn name(&self, s: &str) -> String {
        format!("{}{s}", self.prefix)
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

/// A plain connection, to look at what `RedisLog` wrote and to write what
/// it never would.
fn raw(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("a Redis for the tests (scripts/test starts one)")
}

async fn log() -> RedisLog {
    RedisLog::connect(&redis_url())
        .await
        .expect("a Redis for the tests (scripts/test starts one)")
}

fn pending(url: &str, stream: &str, group: &str) -> u64 {
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg(group)
        .query(&mut raw(url))
        .unwrap();
    match summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => *n as u64,
            other => panic!("XPENDING summary {other:?}"),
        },
        other => panic!("XPENDING summary {other:?}"),
    }
}

// ---- The result-log cases of conformance.rs, with per-test names. ----

#[tokio::test]
async fn entries_reach_every_group_once_and_pending_until_acked() {
    let (log, n) = (log().await, Names::new());
    let s = &n.name("s.groups");
    for i in 0..5 {
        log.append(s, vec![("n", i.to_string())]).await.unwrap();
    }
    let a = log
        .read(s, "g1", "c1", 3, Duration::from_millis(10))
        .await
        .unwrap();
    let b = log
        .read(s, "g1", "c2", 10, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(b.len(), 2, "a group delivers each entry to one consumer");
    assert!(a.iter().chain(&b).all(|e| e.deliveries == 1));
    let other = log
        .read(s, "g2", "c1", 10, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(other.len(), 5, "another group sees everything");
    assert_eq!(other[0].fields["n"], "0");
    assert_eq!(pending(&n.url, s, "g1"), 5);
    for e in a.iter().chain(&b) {
        log.ack(s, "g1", &e.id).await.unwrap();
    }
    assert_eq!(pending(&n.url, s, "g1"), 0);
    let none = log
        .read(s, "g1", "c1", 10, Duration::from_millis(10))
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_blocked_read_wakes_on_append() {
    let (log, n) = (log().await, Names::new());
    let s = n.name("s.block");
    let writer = log.clone();
    let stream = s.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer
            .append(&stream, vec![("k", "v".into())])
            .await
            .unwrap();
    });
    let started = Instant::now();
    let got = log
        .read(&s, "g", "c", 10, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].fields["k"], "v");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "woken, not timed out"
    );
}

#[tokio::test]
async fn a_dead_consumers_entries_are_reclaimed_and_dead_lettered() {
    let (log, n) = (log().await, Names::new());
    let s = &n.name("s.claim");
    log.append(s, vec![("k", "1".into())]).await.unwrap();
    let got = log
        .read(s, "g", "dead-consumer", 10, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let early = log
        .reclaim(s, "g", "c2", Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert!(early.is_empty(), "not idle long enough");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let taken = log
        .reclaim(s, "g", "c2", Duration::from_millis(20), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, got[0].id);
    assert_eq!(taken[0].deliveries, 2);
    assert_eq!(taken[0].fields["k"], "1");
    log.dead_letter(s, "g", &taken[0], "device_id is not a number")
        .await
        .unwrap();
    let dead = log
        .read(
            &format!("{s}:dead"),
            "inspect",
            "c",
            10,
            Duration::from_millis(10),
        )
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].fields["dead_reason"], "device_id is not a number");
    assert_eq!(dead[0].fields["dead_entry_id"], got[0].id);
    assert_eq!(dead[0].fields["dead_group"], "g");
    assert_eq!(dead[0].fields["k"], "1");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let again = log
        .reclaim(s, "g", "c3", Duration::from_millis(1), 10)
        .await
        .unwrap();
    assert!(again.is_empty(), "dead-lettered entries are acked");
}

// ---- What only the Redis log has to get right. ----

#[tokio::test]
async fn a_blocking_read_longer_than_the_response_timeout_returns_empty() {
    let (log, n) = (log().await, Names::new());
    let s = &n.name("s.long");
    let block = Duration::from_secs(6);
    assert!(block > log.options().response_timeout);
    assert!(block > Duration::from_millis(500), "redis-rs's default");
    let started = Instant::now();
    let got = log.read(s, "g", "c", 10, block).await.unwrap();
    assert!(got.is_empty());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(5_900), "waited {waited:?}");
    // The shared connection was not held up meanwhile, and the reader's
    // connection still works.
    log.append(s, vec![("k", "v".into())]).await.unwrap();
    let got = log
        .read(s, "g", "c", 10, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
}

#[tokio::test]
async fn blocked_readers_do_not_hold_up_appends_and_acks() {
    let (log, n) = (log().await, Names::new());
    let s = n.name("s.side");
    let mut readers = Vec::new();
    for c in 0..3 {
        let (log, s) = (log.clone(), n.name(&format!("s.idle{c}")));
        readers.push(tokio::spawn(async move {
            log.read(&s, "g", "c", 1, Duration::from_secs(3)).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    for i in 0..20 {
        log.append(&s, vec![("n", i.to_string())]).await.unwrap();
    }
    let got = log.read(&s, "g", "c", 100, Duration::ZERO).await.unwrap();
    for e in &got {
        log.ack(&s, "g", &e.id).await.unwrap();
    }
    assert_eq!(got.len(), 20);
    assert!(started.elapsed() < Duration::from_secs(2));
    for r in readers {
        assert!(r.await.unwrap().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_read_without_block_returns_at_once() {
    let (log, n) = (log().await, Names::new());
    let s = &n.name("s.noblock");
    // `BLOCK 0` would mean forever in Redis; a zero or sub-millisecond block
    // must not turn into that.
    for block in [Duration::ZERO, Duration::from_micros(300)] {
        let got = tokio::time::timeout(Duration::from_secs(2), log.read(s, "g", "c", 10, block))
            .await
            .expect("returned at once")
            .unwrap();
        assert!(got.is_empty());
    }
    log.append(s, vec![("k", "v".into())]).await.unwrap();
    let got = log.read(s, "g", "c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        log.read(s, "g", "c", 0, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_in_one_group_each_get_distinct_entries() {
    let (log, n) = (log().await, Names::new());
    let s = n.name("s.concurrent");
    const TOTAL: usize = 300;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    for c in 0..4 {
        let (log, s, seen) = (log.clone(), s.clone(), seen.clone());
        readers.push(tokio::spawn(async move {
            let mut mine = 0;
            while seen.lock().unwrap().len() < TOTAL {
                let got = log
                    .read(&s, "g", &format!("c{c}"), 7, Duration::from_millis(200))
                    .await
                    .unwrap();
                for e in got {
                    log.ack(&s, "g", &e.id).await.unwrap();
                    seen.lock().unwrap().push(e.fields["n"].clone());
                    mine += 1;
                }
            }
            mine
        }));
    }
    for i in 0..TOTAL {
        log.append(&s, vec![("n", i.to_string())]).await.unwrap();
    }
    let per_reader: Vec<usize> = futures_join(readers).await;
    let seen = seen.lock().unwrap().clone();
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        seen.len(),
        TOTAL,
        "no entry delivered twice: {per_reader:?}"
    );
    assert_eq!(distinct.len(), TOTAL, "every entry delivered");
    assert_eq!(pending(&n.url, &s, "g"), 0);
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_hundred_entries_are_reclaimed_with_counts_then_dead_lettered() {
    let (log, n) = (log().await, Names::new());
    let s = &n.name("s.many");
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(log.append(s, vec![("n", i.to_string())]).await.unwrap());
    }
    let got = log
        .read(s, "g", "crashed", 100, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(got.len(), 100);
    // Five entries vanish while pending (trimmed, or deleted by hand).
    let _: u64 = redis::cmd("XDEL")
        .arg(s)
        .arg(&ids[10..15])
        .query(&mut raw(&n.url))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let mut dead_lettered = 0;
    let mut rounds = 0;
    // A consumer that fails every entry, dead-lettering it on its third
    // delivery, as the consumer loop does.
    loop {
        rounds += 1;
        assert!(rounds < 20, "reclaim keeps finding entries");
        let batch = log
            .reclaim(s, "g", "sweeper", Duration::from_millis(20), 30)
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 30);
        for e in batch {
            assert!(
                !ids[10..15].contains(&e.id),
                "deleted entry {} came back",
                e.id
            );
            assert_eq!(
                e.fields["n"],
                ids.iter().position(|i| *i == e.id).unwrap().to_string()
            );
            assert!((2..=3).contains(&e.deliveries), "{e:?}");
            if e.deliveries >= 3 {
                log.dead_letter(s, "g", &e, "failed 3 times").await.unwrap();
                dead_lettered += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(dead_lettered, 95);
    assert_eq!(pending(&n.url, s, "g"), 0);
    let dead = log
        .read(&format!("{s}:dead"), "inspect", "c", 200, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(dead.len(), 95);
    let mut numbers: Vec<u32> = dead
        .iter()
        .map(|e| e.fields["n"].parse().unwrap())
        .collect();
    numbers.sort_unstable();
    let expected: Vec<u32> = (0..100).filter(|i| !(10..15).contains(i)).collect();
    assert_eq!(numbers, expected);
    assert!(
        dead.iter()
            .all(|e| e.fields["dead_reason"] == "failed 3 times")
    );
}

#[tokio::test]
async fn undecodable_entries_go_to_the_dead_letter_stream_not_to_a_consumer() {
    let (log, n) = (log().await, Names::new());
    let s = &n.name("s.binary");
    let mut conn = raw(&n.url);
    let bad: String = redis::cmd("XADD")
        .arg(s)
        .arg("*")
        .arg("device_config")
        .arg(&[0xffu8, 0xfe, 0x00][..])
        .query(&mut conn)
        .unwrap();
    log.append(s, vec![("k", "fine".into())]).await.unwrap();
    let got = log
        .read(s, "g", "c", 10, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].fields["k"], "fine");
    log.ack(s, "g", &got[0].id).await.unwrap();
    assert_eq!(pending(&n.url, s, "g"), 0, "the bad entry was acked");
    let dead: redis::Value = redis::cmd("XRANGE")
        .arg(format!("{s}:dead"))
        .arg("-")
        .arg("+")
        .query(&mut conn)
        .unwrap();
    let text = format!("{dead:?}");
    assert!(text.contains(&bad), "{text}");
    assert!(text.contains("not UTF-8"), "{text}");
    assert!(text.contains("255, 254, 0"), "kept byte for byte: {text}");
}

#[tokio::test]
async fn a_deleted_stream_and_its_group_come_back_on_the_next_read() {
    let (log, n) = (log().await, Names::new());
    let s = &n.name("s.deleted");
    log.append(s, vec![("n", "1".into())]).await.unwrap();
    let got = log.read(s, "g", "c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    let _: u64 = redis::cmd("DEL").arg(s).query(&mut raw(&n.url)).unwrap();
    log.append(s, vec![("n", "2".into())]).await.unwrap();
    let got = log.read(s, "g", "c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1, "the group was made again, from the start");
    assert_eq!(got[0].fields["n"], "2");
    // Reclaim and ack on a stream or group that does not exist are no-ops.
    let none = n.name("s.never");
    assert!(
        log.reclaim(&none, "g", "c", Duration::ZERO, 10)
            .await
            .unwrap()
            .is_empty()
    );
    log.ack(&none, "g", "1-0").await.unwrap();
}

#[tokio::test]
async fn appends_keep_about_max_len_entries() {
    let n = Names::new();
    let options = RedisLogOptions {
        max_len: 10,
        ..RedisLogOptions::default()
    };
    let log = RedisLog::connect_with(&redis_url(), options).await.unwrap();
    let s = &n.name("s.trim");
    for i in 0..1_000 {
        log.append(s, vec![("n", i.to_string())]).await.unwrap();
    }
    let len: u64 = redis::cmd("XLEN").arg(s).query(&mut raw(&n.url)).unwrap();
    // `MAXLEN ~` trims whole nodes of (by default) 100 entries.
    assert!((10..=200).contains(&len), "{len} entries kept");
}

#[tokio::test]
async fn bad_input_is_malformed_not_unavailable() {
    let (log, n) = (log().await, Names::new());
    let s = &n.name("s.bad");
    let e = log.append(s, vec![]).await.unwrap_err();
    assert!(matches!(e, BusError::Malformed(_)), "{e:?}");
    log.append(s, vec![("k", "v".into())]).await.unwrap();
    log.read(s, "g", "c", 1, Duration::ZERO).await.unwrap();
    let e = log.ack(s, "g", "not-an-id").await.unwrap_err();
    assert!(matches!(e, BusError::Malformed(_)), "{e:?}");
    // A key of another type under the stream's name.
    let k = &n.name("s.string");
    let _: () = redis::cmd("SET")
        .arg(k)
        .arg("x")
        .query(&mut raw(&n.url))
        .unwrap();
    let e = log.append(k, vec![("k", "v".into())]).await.unwrap_err();
    assert!(matches!(e, BusError::Malformed(_)), "{e:?}");
    let e = log.read(k, "g", "c", 1, Duration::ZERO).await.unwrap_err();
    assert!(matches!(e, BusError::Malformed(_)), "{e:?}");
}

// ---- Private servers: restarts, passwords, nothing listening. ----

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` of this test's own, keeping nothing on disk.
struct PrivateRedis {
    port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start(extra: &[&str]) -> Self {
        let mut server = Self {
            port: free_port(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
        };
        server.restart();
        server
    }

    fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/test installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_loop_resumes_by_itself_after_redis_restarts() {
    let mut server = PrivateRedis::start(&[]);
    let log = RedisLog::connect(&server.url()).await.unwrap();
    let s = "device:results";
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let errors = Arc::new(Mutex::new(Vec::<BusError>::new()));
    let reader = {
        let (log, got, errors) = (log.clone(), got.clone(), errors.clone());
        tokio::spawn(async move {
            // The consumer loop of a role: read, handle, ack; on an error,
            // wait a little and read again.
            loop {
                match log
                    .read(s, "consumers", "c1", 10, Duration::from_millis(300))
                    .await
                {
                    Ok(entries) => {
                        for e in entries {
                            got.lock().unwrap().push(e.fields["n"].clone());
                            let _ = log.ack(s, "consumers", &e.id).await;
                        }
                    }
                    Err(e) => {
                        errors.lock().unwrap().push(e);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        })
    };
    log.append(s, vec![("n", "before".into())]).await.unwrap();
    wait_for(|| got.lock().unwrap().contains(&"before".to_owned())).await;

    server.stop();
    wait_for(|| errors.lock().unwrap().len() >= 2).await;
    let outage = log.append(s, vec![("n", "lost".into())]).await.unwrap_err();
    assert!(matches!(outage, BusError::Unavailable(_)), "{outage:?}");

    server.restart();
    // The shared connection comes back by itself: the first call may still
    // report the old failure.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match log.append(s, vec![("n", "after".into())]).await {
            Ok(_) => break,
            Err(e) => {
                assert!(matches!(e, BusError::Unavailable(_)), "{e:?}");
                assert!(Instant::now() < deadline, "no reconnection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    wait_for(|| got.lock().unwrap().contains(&"after".to_owned())).await;
    reader.abort();
    let errors = errors.lock().unwrap().clone();
    assert!(
        errors.iter().all(|e| matches!(e, BusError::Unavailable(_))),
        "outage errors are transient: {errors:?}"
    );
    assert_eq!(
        got.lock().unwrap().as_slice(),
        ["before", "after"],
        "each entry once, nothing from the lost server"
    );
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_password_never_shows() {
    let server = PrivateRedis::start(&["--requirepass", "hunter2"]);
    let url = format!("redis://:hunter2@127.0.0.1:{}/0", server.port);
    let log = RedisLog::connect(&url).await.unwrap();
    let debug = format!("{log:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains(":***@127.0.0.1"), "{debug}");
    let n = Names::at(&url, 0);
    log.append(&n.name("s"), vec![("k", "v".into())])
        .await
        .unwrap();
    let wrong = format!("redis://:letmein@127.0.0.1:{}/0", server.port);
    let e = RedisLog::connect(&wrong).await.unwrap_err();
    assert!(!e.to_string().contains("letmein"), "{e}");
}

#[tokio::test]
async fn connecting_to_nothing_is_unavailable() {
    let url = format!("redis://127.0.0.1:{}/0", free_port());
    let e = RedisLog::connect(&url).await.unwrap_err();
    assert!(matches!(e, BusError::Unavailable(_)), "{e:?}");
    let e = RedisLog::connect("http://not-redis").await.unwrap_err();
    assert!(matches!(e, BusError::Malformed(_)), "{e:?}");
}
