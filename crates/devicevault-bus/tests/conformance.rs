//! The bus contract, written once, run against each implementation: the
//! task-bus cases on [`LocalBus`] and `AmqpBus` (RabbitMQ), the result-log
//! cases on [`LocalLog`] and `RedisLog` (Redis). Each case is a test of its
//! own per implementation (`local::…`, `amqp::…`, `redis::…`), on names of
//! its own that are removed afterwards. What only one implementation has
//! (Celery's wire format, queue arguments, response timeouts, server
//! restarts) is tested beside it, in `amqp_bus.rs`, `redis_log.rs` and
//! `local.rs`.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{BusUnderTest, DeadLetters, LogUnderTest, RETRY_DELAY};
use devicevault_bus::{LocalBus, LocalLog};
use devicevault_core::bus::{
    BusError, GroupBacklog, QueueStats, ResultLog, StreamStats, Task, TaskBus, TaskConsumer,
};
use serde_json::json;

/// How long anything that must happen may take, on any implementation.
const PATIENCE: Duration = Duration::from_secs(10);

fn task(id: &str) -> Task {
    let mut t = Task::with_arg(id.into(), "storage.store", json!({ "n": id }));
    t.kwargs.insert("device_id".into(), json!(7));
    t
}

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f).await.expect("timed out")
}

/// Fails if `c` delivers anything within `quiet`.
async fn nothing_comes<C: TaskConsumer>(c: &mut C, quiet: Duration, why: &str) {
    if let Ok(d) = tokio::time::timeout(quiet, c.next()).await {
        panic!("{why}: {d:?}");
    }
}

// ---- The task bus ----

async fn tasks_are_delivered_whole_in_order_and_acked<B: TaskBus>(t: BusUnderTest<B>) {
    let q = t.queue("order");
    let mut c = t.bus.consume(&q).await.unwrap();
    for i in 0..3 {
        t.bus.publish(&q, task(&format!("t{i}"))).await.unwrap();
    }
    for i in 0..3 {
        let d = within(c.next()).await.unwrap();
        assert_eq!(d.task, task(&format!("t{i}")));
        assert_eq!(d.queue, q);
        d.settle.ack().await.unwrap();
    }
    nothing_comes(&mut c, t.quiet, "an acked task came back").await;
}

async fn an_unsettled_delivery_is_delivered_again<B: TaskBus>(t: BusUnderTest<B>) {
    let q = t.queue("drop");
    t.bus.publish(&q, task("t1")).await.unwrap();
    {
        let mut c = t.bus.consume(&q).await.unwrap();
        let d = within(c.next()).await.unwrap();
        assert_eq!(d.task.id, "t1");
        drop(d); // a worker that died mid-task
    }
    let mut c = t.bus.consume(&q).await.unwrap();
    let d = within(c.next()).await.unwrap();
    assert_eq!(d.task, task("t1"), "a redelivery is not a retry");
    d.settle.ack().await.unwrap();
}

async fn a_dropped_consumer_hands_its_deliveries_back<B: TaskBus>(t: BusUnderTest<B>) {
    let q = t.queue("dropconsumer");
    t.bus.publish(&q, task("t1")).await.unwrap();
    let mut c = t.bus.consume(&q).await.unwrap();
    // A handler that still holds its delivery when the consumer goes (it
    // hangs, or outlives a worker that stopped consuming).
    let held = within(c.next()).await.unwrap();
    drop(c);
    let mut c = t.bus.consume(&q).await.unwrap();
    let d = within(c.next()).await.unwrap();
    assert_eq!(d.task, task("t1"));
    assert!(
        held.settle.ack().await.is_err(),
        "the old holder cannot settle a task that went back to the queue"
    );
    d.settle.ack().await.unwrap();
    nothing_comes(&mut c, t.quiet, "a task handed back twice").await;
}

async fn retry_later_redelivers_after_the_delay_with_the_count_incremented<B: TaskBus>(
    t: BusUnderTest<B>,
) {
    let q = t.queue("retry");
    let mut c = t.bus.consume(&q).await.unwrap();
    t.bus.publish(&q, task("t1")).await.unwrap();
    let mut d = within(c.next()).await.unwrap();
    assert_eq!(d.task.retries, 0);
    for retries in 1..=2 {
        let parked = Instant::now();
        d.settle.retry_later(RETRY_DELAY).await.unwrap();
        d = within(c.next()).await.unwrap();
        // RabbitMQ counts a TTL from when the message reached the delay
        // queue, by its own clock: allow it a few milliseconds.
        assert!(
            parked.elapsed() >= RETRY_DELAY - Duration::from_millis(50),
            "redelivered after {:?}, before the {RETRY_DELAY:?} delay",
            parked.elapsed()
        );
        assert_eq!(
            d.task,
            Task {
                retries,
                ..task("t1")
            }
        );
    }
    d.settle.ack().await.unwrap();
    nothing_comes(&mut c, t.quiet, "a task retried once came twice").await;
}

async fn dead_letter_parks_the_task_with_its_reason<B: TaskBus + DeadLetters>(t: BusUnderTest<B>) {
    let q = t.queue("dead");
    let mut c = t.bus.consume(&q).await.unwrap();
    t.bus.publish(&q, task("bad")).await.unwrap();
    t.bus.publish(&q, task("good")).await.unwrap();
    let d = within(c.next()).await.unwrap();
    assert_eq!(d.task.id, "bad");
    d.settle
        .dead_letter("device_id is not a number".into())
        .await
        .unwrap();
    let d = within(c.next()).await.unwrap();
    assert_eq!(d.task.id, "good");
    d.settle.ack().await.unwrap();
    assert_eq!(
        t.bus.dead_letters(&q).await,
        [("bad".to_owned(), "device_id is not a number".to_owned())]
    );
    nothing_comes(&mut c, t.quiet, "a dead-lettered task was delivered again").await;
}

async fn a_call_gets_its_reply_or_times_out<B: TaskBus>(t: BusUnderTest<B>) {
    let q = t.queue("call");
    let nobody = t.queue("nobody");
    let mut c = t.bus.consume(&q).await.unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let d = c.next().await.unwrap();
            let answer = if d.task.id == "ok" {
                Ok(json!({ "content": "hostname r1\n" }))
            } else {
                Err("storage_ref not found".to_owned())
            };
            d.settle.reply(answer).await.unwrap();
        }
        c
    });
    let v = t.bus.call(&q, task("ok"), PATIENCE).await.unwrap();
    assert_eq!(v["content"], "hostname r1\n");
    let e = t.bus.call(&q, task("bad"), PATIENCE).await.unwrap_err();
    assert_eq!(e, BusError::Remote("storage_ref not found".into()));
    drop(within(server).await.unwrap());
    let started = Instant::now();
    let e = t
        .bus
        .call(&nobody, task("t"), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::Timeout { .. }), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout held"
    );
}

async fn concurrent_calls_each_get_their_own_reply<B: TaskBus>(t: BusUnderTest<B>) {
    let q = t.queue("calls");
    let mut c = t.bus.consume(&q).await.unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..6 {
            let d = c.next().await.unwrap();
            let id = d.task.id.clone();
            d.settle.reply(Ok(json!({ "echo": id }))).await.unwrap();
        }
    });
    let mut calls = Vec::new();
    for i in 0..6 {
        let (bus, q) = (t.bus.clone(), q.clone());
        calls.push(tokio::spawn(async move {
            let id = format!("c{i}");
            let v = bus.call(&q, task(&id), PATIENCE).await.unwrap();
            assert_eq!(v["echo"], id);
        }));
    }
    for call in calls {
        call.await.unwrap();
    }
    within(server).await.unwrap();
}

async fn a_queues_depth_counts_what_waits_in_it<B: TaskBus + QueueStats>(t: BusUnderTest<B>) {
    let q = &t.queue("depth");
    assert_eq!(t.bus.queue_depth(q).await.unwrap(), None, "no queue yet");
    for i in 0..3 {
        t.bus.publish(q, task(&format!("d{i}"))).await.unwrap();
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        let depth = t
            .bus
            .queue_depth(q)
            .await
            .unwrap()
            .expect("the queue exists");
        if depth.ready == 3 {
            assert!(matches!(depth.consumers, None | Some(0)), "{depth:?}");
            break;
        }
        assert!(Instant::now() < deadline, "{depth:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- The result log ----

const BRIEFLY: Duration = Duration::from_millis(10);

async fn entries_reach_every_group_once_and_pending_until_acked<L: ResultLog>(t: LogUnderTest<L>) {
    let (log, s) = (&t.log, &t.stream("groups"));
    let mut appended = Vec::new();
    for i in 0..5 {
        appended.push(log.append(s, vec![("n", i.to_string())]).await.unwrap());
    }
    let a = log.read(s, "g1", "c1", 3, BRIEFLY).await.unwrap();
    let b = log.read(s, "g1", "c2", 10, BRIEFLY).await.unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(b.len(), 2, "a group delivers each entry to one consumer");
    let read: Vec<&String> = a.iter().chain(&b).map(|e| &e.id).collect();
    assert_eq!(read, appended.iter().collect::<Vec<_>>(), "in append order");
    assert!(a.iter().chain(&b).all(|e| e.deliveries == 1));
    let other = log.read(s, "g2", "c1", 10, BRIEFLY).await.unwrap();
    assert_eq!(other.len(), 5, "another group sees everything");
    assert_eq!(other[0].fields["n"], "0");
    // Unacked, all five are still the group's to hand over.
    let pending = log
        .reclaim(s, "g1", "c3", Duration::ZERO, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 5);
    for e in &pending {
        log.ack(s, "g1", &e.id).await.unwrap();
    }
    let pending = log
        .reclaim(s, "g1", "c3", Duration::ZERO, 10)
        .await
        .unwrap();
    assert!(pending.is_empty(), "acked: {pending:?}");
    assert!(
        log.read(s, "g1", "c1", 10, BRIEFLY)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_groups_backlog_counts_pending_and_undelivered_entries<L: ResultLog + StreamStats>(
    t: LogUnderTest<L>,
) {
    let (log, s) = (&t.log, &t.stream("backlog"));
    assert!(
        log.stream_backlog(s).await.unwrap().is_empty(),
        "no stream yet"
    );
    for i in 0..3 {
        log.append(s, vec![("n", i.to_string())]).await.unwrap();
    }
    let read = log.read(s, "g", "c", 1, BRIEFLY).await.unwrap();
    assert_eq!(read.len(), 1);
    let backlog = |pending, lag| {
        vec![GroupBacklog {
            group: "g".into(),
            pending,
            lag: Some(lag),
        }]
    };
    assert_eq!(log.stream_backlog(s).await.unwrap(), backlog(1, 2));
    log.ack(s, "g", &read[0].id).await.unwrap();
    assert_eq!(log.stream_backlog(s).await.unwrap(), backlog(0, 2));
}

async fn a_blocked_read_wakes_on_append<L: ResultLog>(t: LogUnderTest<L>) {
    let s = t.stream("block");
    let (writer, stream) = (t.log.clone(), s.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer
            .append(&stream, vec![("k", "v".into())])
            .await
            .unwrap();
    });
    let started = Instant::now();
    let got = t
        .log
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

async fn a_read_without_block_returns_at_once<L: ResultLog>(t: LogUnderTest<L>) {
    let (log, s) = (&t.log, &t.stream("noblock"));
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
    log.append(s, vec![("k", "w".into())]).await.unwrap();
    assert!(
        log.read(s, "g", "c", 0, Duration::ZERO)
            .await
            .unwrap()
            .is_empty(),
        "a count of 0 reads nothing"
    );
}

async fn blocked_readers_do_not_hold_up_appends_and_acks<L: ResultLog>(t: LogUnderTest<L>) {
    let s = t.stream("side");
    let mut readers = Vec::new();
    for c in 0..3 {
        let (log, s) = (t.log.clone(), t.stream(&format!("idle{c}")));
        readers.push(tokio::spawn(async move {
            log.read(&s, "g", "c", 1, Duration::from_secs(3)).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    for i in 0..20 {
        t.log.append(&s, vec![("n", i.to_string())]).await.unwrap();
    }
    let got = t.log.read(&s, "g", "c", 100, Duration::ZERO).await.unwrap();
    for e in &got {
        t.log.ack(&s, "g", &e.id).await.unwrap();
    }
    assert_eq!(got.len(), 20);
    assert!(started.elapsed() < Duration::from_secs(2));
    for r in readers {
        assert!(within(r).await.unwrap().unwrap().is_empty());
    }
}

async fn concurrent_readers_in_one_group_each_get_distinct_entries<L: ResultLog>(
    t: LogUnderTest<L>,
) {
    const TOTAL: usize = 300;
    let s = t.stream("concurrent");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    for c in 0..4 {
        let (log, s, seen) = (t.log.clone(), s.clone(), seen.clone());
        readers.push(tokio::spawn(async move {
            while seen.lock().unwrap().len() < TOTAL {
                let got = log
                    .read(&s, "g", &format!("c{c}"), 7, Duration::from_millis(200))
                    .await
                    .unwrap();
                for e in got {
                    log.ack(&s, "g", &e.id).await.unwrap();
                    seen.lock().unwrap().push(e.fields["n"].clone());
                }
            }
        }));
    }
    for i in 0..TOTAL {
        t.log.append(&s, vec![("n", i.to_string())]).await.unwrap();
    }
    for r in readers {
        within(r).await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), TOTAL, "no entry delivered twice");
    assert_eq!(distinct.len(), TOTAL, "every entry delivered");
    let pending = t
        .log
        .reclaim(&s, "g", "sweeper", Duration::ZERO, 10)
        .await
        .unwrap();
    assert!(pending.is_empty(), "all acked: {pending:?}");
}

async fn a_dead_consumers_entries_are_reclaimed_and_dead_lettered<L: ResultLog>(
    t: LogUnderTest<L>,
) {
    let (log, s) = (&t.log, &t.stream("claim"));
    log.append(s, vec![("k", "1".into())]).await.unwrap();
    let got = log
        .read(s, "g", "dead-consumer", 10, BRIEFLY)
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
        .read(&format!("{s}:dead"), "inspect", "c", 10, BRIEFLY)
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

async fn reclaim_and_ack_where_nothing_was_read_are_no_ops<L: ResultLog>(t: LogUnderTest<L>) {
    let (log, s) = (&t.log, &t.stream("quiet"));
    let id = log.append(s, vec![("k", "v".into())]).await.unwrap();
    for (stream, group) in [(s, "never-read"), (&t.stream("never"), "g")] {
        let none = log
            .reclaim(stream, group, "c", Duration::ZERO, 10)
            .await
            .unwrap();
        assert!(none.is_empty(), "{stream} {group}: {none:?}");
        log.ack(stream, group, &id).await.unwrap();
    }
    let got = log.read(s, "never-read", "c", 10, BRIEFLY).await.unwrap();
    assert_eq!(got.len(), 1, "the ack before the read acked nothing");
}

async fn a_record_without_fields_is_malformed<L: ResultLog>(t: LogUnderTest<L>) {
    let (log, s) = (&t.log, &t.stream("empty"));
    let e = log.append(s, vec![]).await.unwrap_err();
    assert!(matches!(e, BusError::Malformed(_)), "{e:?}");
    assert!(log.read(s, "g", "c", 10, BRIEFLY).await.unwrap().is_empty());
}

// ---- Each case, a test per implementation ----

/// Each case named, as a test of its own on what `$make` gives.
macro_rules! tests {
    ($make:expr => $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case($make).await
            }
        )*
    };
}

/// Every task-bus case, on the bus `$make` gives.
macro_rules! task_bus_cases {
    ($make:expr) => {
        tests!($make =>
            tasks_are_delivered_whole_in_order_and_acked,
            an_unsettled_delivery_is_delivered_again,
            a_dropped_consumer_hands_its_deliveries_back,
            retry_later_redelivers_after_the_delay_with_the_count_incremented,
            dead_letter_parks_the_task_with_its_reason,
            a_call_gets_its_reply_or_times_out,
            concurrent_calls_each_get_their_own_reply,
            a_queues_depth_counts_what_waits_in_it,
        );
    };
}

/// Every result-log case, on the log `$make` gives.
macro_rules! result_log_cases {
    ($make:expr) => {
        tests!($make =>
            entries_reach_every_group_once_and_pending_until_acked,
            a_blocked_read_wakes_on_append,
            a_read_without_block_returns_at_once,
            blocked_readers_do_not_hold_up_appends_and_acks,
            concurrent_readers_in_one_group_each_get_distinct_entries,
            a_dead_consumers_entries_are_reclaimed_and_dead_lettered,
            reclaim_and_ack_where_nothing_was_read_are_no_ops,
            a_record_without_fields_is_malformed,
            a_groups_backlog_counts_pending_and_undelivered_entries,
        );
    };
}

mod local {
    use super::*;
    task_bus_cases!(BusUnderTest::<LocalBus>::local());
    result_log_cases!(LogUnderTest::<LocalLog>::local());
}

mod amqp {
    use super::*;
    task_bus_cases!(BusUnderTest::amqp().await);
}

mod redis {
    use super::*;
    result_log_cases!(LogUnderTest::redis().await);
}
