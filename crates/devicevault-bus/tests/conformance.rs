//! The bus contract, written once, run against each implementation.

use std::time::Duration;

use devicevault_bus::{LocalBus, LocalLog};
use devicevault_core::bus::{BusError, ResultLog, Task, TaskBus, TaskConsumer};
use serde_json::json;

fn task(id: &str) -> Task {
    Task::with_arg(id.into(), "storage.store", json!({ "n": id }))
}

async fn tasks_are_delivered_in_order_and_acked<B: TaskBus>(bus: B) {
    let mut c = bus.consume("q.order").await.unwrap();
    for i in 0..3 {
        bus.publish("q.order", task(&format!("t{i}")))
            .await
            .unwrap();
    }
    for i in 0..3 {
        let d = c.next().await.unwrap();
        assert_eq!(d.task.id, format!("t{i}"));
        assert_eq!(d.queue, "q.order");
        d.settle.ack().await.unwrap();
    }
    let nothing = tokio::time::timeout(Duration::from_millis(50), c.next()).await;
    assert!(nothing.is_err(), "acked tasks must not come back");
}

async fn an_unsettled_delivery_is_delivered_again<B: TaskBus>(bus: B) {
    bus.publish("q.drop", task("t1")).await.unwrap();
    {
        let mut c = bus.consume("q.drop").await.unwrap();
        let d = c.next().await.unwrap();
        assert_eq!(d.task.id, "t1");
        drop(d); // a worker that died mid-task
    }
    let mut c = bus.consume("q.drop").await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), c.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.task.id, "t1");
    d.settle.ack().await.unwrap();
}

async fn retry_later_redelivers_with_the_count_incremented<B: TaskBus>(bus: B) {
    let mut c = bus.consume("q.retry").await.unwrap();
    bus.publish("q.retry", task("t1")).await.unwrap();
    let d = c.next().await.unwrap();
    assert_eq!(d.task.retries, 0);
    d.settle
        .retry_later(Duration::from_millis(50))
        .await
        .unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), c.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.task.id, "t1");
    assert_eq!(d.task.retries, 1);
    d.settle.ack().await.unwrap();
}

async fn a_call_gets_its_reply_or_times_out<B: TaskBus>(bus: B) {
    let mut c = bus.consume("q.call").await.unwrap();
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
    let v = bus
        .call("q.call", task("ok"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(v["content"], "hostname r1\n");
    let e = bus
        .call("q.call", task("bad"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e, BusError::Remote("storage_ref not found".into()));
    let _c = server.await.unwrap();
    let e = bus
        .call("q.nobody", task("t"), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::Timeout { .. }), "{e:?}");
}

async fn entries_reach_every_group_once_and_pending_until_acked<L: ResultLog>(log: L) {
    for i in 0..5 {
        log.append("s.groups", vec![("n", i.to_string())])
            .await
            .unwrap();
    }
    let a = log
        .read("s.groups", "g1", "c1", 3, Duration::from_millis(10))
        .await
        .unwrap();
    let b = log
        .read("s.groups", "g1", "c2", 10, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(b.len(), 2, "a group delivers each entry to one consumer");
    let other = log
        .read("s.groups", "g2", "c1", 10, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(other.len(), 5, "another group sees everything");
    assert_eq!(other[0].fields["n"], "0");
    for e in a.iter().chain(&b) {
        log.ack("s.groups", "g1", &e.id).await.unwrap();
    }
    let none = log
        .read("s.groups", "g1", "c1", 10, Duration::from_millis(10))
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn a_blocked_read_wakes_on_append<L: ResultLog>(log: L) {
    let writer = log.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer
            .append("s.block", vec![("k", "v".into())])
            .await
            .unwrap();
    });
    let got = log
        .read("s.block", "g", "c", 10, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].fields["k"], "v");
}

async fn a_dead_consumers_entries_are_reclaimed_and_dead_lettered<L: ResultLog>(log: L) {
    log.append("s.claim", vec![("k", "1".into())])
        .await
        .unwrap();
    let got = log
        .read(
            "s.claim",
            "g",
            "dead-consumer",
            10,
            Duration::from_millis(10),
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let early = log
        .reclaim("s.claim", "g", "c2", Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert!(early.is_empty(), "not idle long enough");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let taken = log
        .reclaim("s.claim", "g", "c2", Duration::from_millis(20), 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, got[0].id);
    assert_eq!(taken[0].deliveries, 2);
    log.dead_letter("s.claim", "g", &taken[0], "device_id is not a number")
        .await
        .unwrap();
    let dead = log
        .read(
            "s.claim:dead",
            "inspect",
            "c",
            10,
            Duration::from_millis(10),
        )
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].fields["dead_reason"], "device_id is not a number");
    assert_eq!(dead[0].fields["k"], "1");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let again = log
        .reclaim("s.claim", "g", "c3", Duration::from_millis(1), 10)
        .await
        .unwrap();
    assert!(again.is_empty(), "dead-lettered entries are acked");
}

macro_rules! local {
    ($($case:ident => $make:expr),* $(,)?) => {
        mod local {
            use super::*;
            $( #[tokio::test] async fn $case() { super::$case($make).await } )*
        }
    };
}

local!(
    tasks_are_delivered_in_order_and_acked => LocalBus::new(),
    an_unsettled_delivery_is_delivered_again => LocalBus::new(),
    retry_later_redelivers_with_the_count_incremented => LocalBus::new(),
    a_call_gets_its_reply_or_times_out => LocalBus::new(),
    entries_reach_every_group_once_and_pending_until_acked => LocalLog::new(),
    a_blocked_read_wakes_on_append => LocalLog::new(),
    a_dead_consumers_entries_are_reclaimed_and_dead_lettered => LocalLog::new(),
);

/// The in-process stream keeps a bounded history, but never drops an entry
/// that a group has not read or still holds pending.
#[tokio::test]
async fn local_streams_keep_a_bounded_history() {
    let log = LocalLog::with_max_len(100);
    let s = "bounded";
    for i in 0..50 {
        log.append(s, vec![("n", i.to_string())]).await.unwrap();
    }
    // The group has read nothing yet: nothing may be dropped.
    for i in 50..500 {
        log.append(s, vec![("n", i.to_string())]).await.unwrap();
    }
    assert_eq!(log.entries(s).len(), 500);
    let first = log
        .read(s, "g", "c", 1, Duration::from_millis(1))
        .await
        .unwrap();
    let held = first[0].id.clone();
    loop {
        let batch = log
            .read(s, "g", "c", 64, Duration::from_millis(1))
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        for e in batch {
            log.ack(s, "g", &e.id).await.unwrap();
        }
    }
    for i in 500..700 {
        log.append(s, vec![("n", i.to_string())]).await.unwrap();
    }
    // The first entry is still pending: it pins everything after it.
    assert!(log.entries(s).iter().any(|e| e.id == held));
    log.ack(s, "g", &held).await.unwrap();
    let fresh = log
        .read(s, "g", "c", 1000, Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 200, "unread entries are all still there");
    for e in &fresh {
        log.ack(s, "g", &e.id).await.unwrap();
    }
    log.append(s, vec![("n", "last".into())]).await.unwrap();
    let kept = log.entries(s);
    assert!(kept.len() <= 110, "history bounded: {}", kept.len());
    assert!(!kept.iter().any(|e| e.id == held));
    assert_eq!(kept.last().unwrap().fields["n"], "last");
    // Reading continues where it was.
    log.append(s, vec![("n", "next".into())]).await.unwrap();
    let next = log
        .read(s, "g", "c", 10, Duration::from_millis(1))
        .await
        .unwrap();
    let names: Vec<&str> = next.iter().map(|e| e.fields["n"].as_str()).collect();
    assert_eq!(names, ["last", "next"]);
}
