//! [`RedisLog`] against a real Redis: what only a networked log on Redis
//! has to get right — server restarts, blocks longer than the response
//! timeout, entries deleted or undecodable behind its back, trimming, errors
//! that are Redis's. The result-log contract runs on it in `conformance.rs`.
//!
//! Redis is expected on 127.0.0.1:6379 (scripts/test starts it);
//! `DEVICEVAULT_TEST_REDIS_URL` points elsewhere. Tests there use stream
//! names of their own, deleted at the end. The restart and password tests
//! start private `redis-server` processes on free ports.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{LogUnderTest, redis_url};
use devicevault_bus::{RedisLog, RedisLogOptions};
use devicevault_core::bus::{BusError, ResultLog};

/// A plain connection, to look at what `RedisLog` wrote and to write what
/// it never would.
fn raw() -> redis::Connection {
    redis::Client::open(redis_url())
        .and_then(|c| c.get_connection())
        .expect("a Redis for the tests (scripts/test starts one)")
}

fn pending(stream: &str, group: &str) -> u64 {
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg(group)
        .query(&mut raw())
        .unwrap();
    match summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => *n as u64,
            other => panic!("XPENDING summary {other:?}"),
        },
        other => panic!("XPENDING summary {other:?}"),
    }
}

// ---- What only the Redis log has to get right. ----

#[tokio::test]
async fn a_blocking_read_longer_than_the_response_timeout_returns_empty() {
    let t = LogUnderTest::redis().await;
    let (log, s) = (&t.log, &t.stream("long"));
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
async fn a_hundred_entries_are_reclaimed_with_counts_then_dead_lettered() {
    let t = LogUnderTest::redis().await;
    let (log, s) = (&t.log, &t.stream("many"));
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
        .query(&mut raw())
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
    assert_eq!(pending(s, "g"), 0);
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
    let t = LogUnderTest::redis().await;
    let (log, s) = (&t.log, &t.stream("binary"));
    let mut conn = raw();
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
    assert_eq!(pending(s, "g"), 0, "the bad entry was acked");
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
    let t = LogUnderTest::redis().await;
    let (log, s) = (&t.log, &t.stream("deleted"));
    log.append(s, vec![("n", "1".into())]).await.unwrap();
    let got = log.read(s, "g", "c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    let _: u64 = redis::cmd("DEL").arg(s).query(&mut raw()).unwrap();
    log.append(s, vec![("n", "2".into())]).await.unwrap();
    let got = log.read(s, "g", "c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1, "the group was made again, from the start");
    assert_eq!(got[0].fields["n"], "2");
}

fn xlen(stream: &str) -> u64 {
    redis::cmd("XLEN").arg(stream).query(&mut raw()).unwrap()
}

/// The ids the stream still holds, oldest first.
fn ids(stream: &str) -> Vec<String> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query(&mut raw())
        .unwrap();
    entries.into_iter().map(|(id, _)| id).collect()
}

fn small(max_len: usize) -> RedisLogOptions {
    RedisLogOptions {
        max_len,
        ..RedisLogOptions::default()
    }
}

#[tokio::test]
async fn trimming_never_removes_an_entry_a_group_still_needs() {
    let t = LogUnderTest::redis_with(small(10)).await;
    let (log, s) = (&t.log, &t.stream("trim"));
    // The group exists before the appends (a read of nothing makes it).
    assert!(
        log.read(s, "g", "c", 0, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let mut appended = Vec::new();
    for i in 0..100 {
        appended.push(log.append(s, vec![("n", i.to_string())]).await.unwrap());
    }
    let got = log.read(s, "g", "c", 60, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 60);
    // The first 30 acknowledged, except the sixth.
    for e in got.iter().take(30).filter(|e| e.id != appended[5]) {
        log.ack(s, "g", &e.id).await.unwrap();
    }
    let trimmed = log.trim(s).await.unwrap();
    assert_eq!(trimmed.removed, 5, "only below the oldest pending entry");
    assert_eq!(
        ids(s),
        appended[5..],
        "the pending entry and everything after it kept"
    );

    log.ack(s, "g", &appended[5]).await.unwrap();
    assert_eq!(log.trim(s).await.unwrap().removed, 25);
    assert_eq!(ids(s), appended[30..]);

    // Everything delivered acknowledged: the 40 never delivered stay,
    // though the stream is four times max_len.
    for e in &got[30..] {
        log.ack(s, "g", &e.id).await.unwrap();
    }
    let trimmed = log.trim(s).await.unwrap();
    assert_eq!(
        trimmed,
        devicevault_bus::Trimmed {
            length: 40,
            removed: 30
        }
    );
    assert_eq!(ids(s), appended[60..]);

    // A second group that has read nothing holds everything.
    assert!(
        log.read(s, "late", "c", 0, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let all = log.read(s, "g", "c", 40, Duration::ZERO).await.unwrap();
    for e in &all {
        log.ack(s, "g", &e.id).await.unwrap();
    }
    assert_eq!(log.trim(s).await.unwrap().removed, 0);
    assert_eq!(xlen(s), 40);
    // Still every one handed to the late group.
    let late = log.read(s, "late", "c", 100, Duration::ZERO).await.unwrap();
    assert_eq!(late.len(), 40);
}

#[tokio::test]
async fn a_stream_no_group_reads_is_never_trimmed() {
    let t = LogUnderTest::redis_with(small(10)).await;
    let (log, s) = (&t.log, &t.stream("nobody"));
    for i in 0..300 {
        log.append(s, vec![("n", i.to_string())]).await.unwrap();
    }
    assert_eq!(log.trim(s).await.unwrap().removed, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(xlen(s), 300, "nobody has read anything: nothing goes");
}

#[tokio::test]
async fn appends_trim_what_the_consumers_acknowledged_in_the_background() {
    let t = LogUnderTest::redis_with(small(32)).await;
    let (log, s) = (&t.log, &t.stream("background"));
    assert!(
        log.read(s, "g", "c", 0, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    for i in 0..500 {
        log.append(s, vec![("n", i.to_string())]).await.unwrap();
        // A consumer a few entries behind.
        if i % 8 == 7 {
            for e in log.read(s, "g", "c", 8, Duration::ZERO).await.unwrap() {
                log.ack(s, "g", &e.id).await.unwrap();
            }
        }
    }
    // One more than the consumer has seen: the trim it starts keeps it.
    let last = log.append(s, vec![("n", "last".into())]).await.unwrap();
    // Trims start every other append and only past 32 entries.
    wait_for(|| xlen(s) <= 40).await;
    assert!(ids(s).contains(&last), "the undelivered entry is kept");
    let rest = log.read(s, "g", "c", 100, Duration::ZERO).await.unwrap();
    assert_eq!(rest.last().map(|e| e.id.as_str()), Some(last.as_str()));
}

#[tokio::test]
async fn a_bad_id_or_a_key_of_another_type_is_malformed_not_unavailable() {
    let t = LogUnderTest::redis().await;
    let (log, s) = (&t.log, &t.stream("bad"));
    log.append(s, vec![("k", "v".into())]).await.unwrap();
    log.read(s, "g", "c", 1, Duration::ZERO).await.unwrap();
    let e = log.ack(s, "g", "not-an-id").await.unwrap_err();
    assert!(matches!(e, BusError::Malformed(_)), "{e:?}");
    // A key of another type under the stream's name.
    let k = &t.stream("string");
    let _: () = redis::cmd("SET").arg(k).arg("x").query(&mut raw()).unwrap();
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
    // A private server, gone after the test: nothing to clean up.
    log.append("s", vec![("k", "v".into())]).await.unwrap();
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
    assert!(matches!(e, BusError::Misconfigured(_)), "{e:?}");
}
