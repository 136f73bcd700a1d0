//! `AmqpBus` against a real RabbitMQ (`DEVICEVAULT_TEST_AMQP_URL`, default
//! guest/guest on 127.0.0.1:5672, started by `scripts/test`): the bus
//! contract of `conformance.rs`, then what only a broker has — dead-lettering
//! of malformed messages, delays, eta, prefetch, reconnection. Every test
//! uses its own queue names and deletes them at the end.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use devicevault_bus::AmqpBus;
use devicevault_bus::amqp::{QUEUE_HEADER, REASON_HEADER};
use devicevault_core::bus::{BusError, Task, TaskBus, TaskConsumer};
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::json;

fn url() -> String {
    std::env::var("DEVICEVAULT_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

async fn bus() -> AmqpBus {
    AmqpBus::connect(&url(), 8)
        .await
        .expect("RabbitMQ on DEVICEVAULT_TEST_AMQP_URL")
}

fn unique(tag: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "dvtest.{tag}.{}.{nanos}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

fn task(id: &str) -> Task {
    Task::with_arg(id.into(), "storage.store", json!({ "n": id }))
}

async fn cleanup(bus: &AmqpBus, queue: &str, delays: &[Duration]) {
    bus.delete_delay_queues(queue, delays).await.unwrap();
    bus.delete_queue(queue).await.unwrap();
}

async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("timed out")
}

/// A plain lapin channel, to do what a foreign client would.
async fn raw_channel() -> (Connection, Channel) {
    let conn = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    // Confirms, so a raw publish is on its queue before the next step.
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    (conn, ch)
}

async fn raw_publish(ch: &Channel, queue: &str, body: &[u8], props: BasicProperties) {
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

fn header_text(props: &BasicProperties, key: &str) -> Option<String> {
    match props.headers().as_ref()?.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

/// Everything on `queue`, taken off it.
async fn drain(ch: &Channel, queue: &str) -> Vec<lapin::message::Delivery> {
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

fn celery_headers(name: Option<&str>, id: &str) -> FieldTable {
    let mut h = FieldTable::default();
    if let Some(name) = name {
        h.insert("task".into(), AMQPValue::LongString(name.into()));
    }
    h.insert("id".into(), AMQPValue::LongString(id.into()));
    h.insert("lang".into(), AMQPValue::LongString("py".into()));
    h
}

// ---- the bus contract (tests/conformance.rs), on RabbitMQ ----

#[tokio::test]
async fn tasks_are_delivered_in_order_and_acked() {
    let bus = bus().await;
    let q = unique("order");
    let mut c = bus.consume(&q).await.unwrap();
    for i in 0..3 {
        bus.publish(&q, task(&format!("t{i}"))).await.unwrap();
    }
    for i in 0..3 {
        let d = within(10, c.next()).await.unwrap();
        assert_eq!(d.task.id, format!("t{i}"));
        assert_eq!(d.task.name, "storage.store");
        assert_eq!(d.task.args, vec![json!({ "n": format!("t{i}") })]);
        assert_eq!(d.queue, q);
        d.settle.ack().await.unwrap();
    }
    let nothing = tokio::time::timeout(Duration::from_millis(300), c.next()).await;
    assert!(nothing.is_err(), "acked tasks must not come back");
    drop(c);
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn an_unsettled_delivery_is_delivered_again() {
    let bus = bus().await;
    let q = unique("drop");
    bus.publish(&q, task("t1")).await.unwrap();
    {
        let mut c = bus.consume(&q).await.unwrap();
        let d = within(10, c.next()).await.unwrap();
        assert_eq!(d.task.id, "t1");
        drop(d); // a worker that died mid-task
    }
    let mut c = bus.consume(&q).await.unwrap();
    let d = within(5, c.next()).await.unwrap();
    assert_eq!(d.task.id, "t1");
    d.settle.ack().await.unwrap();
    drop(c);
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn a_dropped_consumer_hands_its_deliveries_back() {
    let bus = bus().await;
    let q = unique("dropconsumer");
    bus.publish(&q, task("t1")).await.unwrap();
    let mut c = bus.consume(&q).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    // Keep the delivery (a settle that was never called) but lose the
    // consumer: the channel closes and the broker requeues it.
    std::mem::forget(d.settle);
    drop(c);
    let mut c = bus.consume(&q).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    assert_eq!(d.task.id, "t1");
    d.settle.ack().await.unwrap();
    drop(c);
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn retry_later_redelivers_with_the_count_incremented() {
    let bus = bus().await;
    let q = unique("retry");
    let mut c = bus.consume(&q).await.unwrap();
    bus.publish(&q, task("t1")).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    assert_eq!(d.task.retries, 0);
    d.settle
        .retry_later(Duration::from_millis(50))
        .await
        .unwrap();
    let d = within(5, c.next()).await.unwrap();
    assert_eq!(d.task.id, "t1");
    assert_eq!(d.task.retries, 1);
    d.settle.ack().await.unwrap();
    drop(c);
    cleanup(&bus, &q, &[Duration::from_millis(50)]).await;
}

#[tokio::test]
async fn a_call_gets_its_reply_or_times_out() {
    let bus = bus().await;
    let q = unique("call");
    let nobody = unique("nobody");
    let mut c = bus.consume(&q).await.unwrap();
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
        .call(&q, task("ok"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(v["content"], "hostname r1\n");
    let e = bus
        .call(&q, task("bad"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e, BusError::Remote("storage_ref not found".into()));
    drop(server.await.unwrap());
    let started = Instant::now();
    let e = bus
        .call(&nobody, task("t"), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::Timeout { .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    cleanup(&bus, &q, &[]).await;
    cleanup(&bus, &nobody, &[]).await;
}

// ---- what only a broker has ----

#[tokio::test]
async fn concurrent_calls_each_get_their_own_reply() {
    let bus = bus().await;
    let q = unique("calls");
    let mut c = bus.consume(&q).await.unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..6 {
            let d = c.next().await.unwrap();
            let id = d.task.id.clone();
            d.settle.reply(Ok(json!({ "echo": id }))).await.unwrap();
        }
    });
    let mut calls = Vec::new();
    for i in 0..6 {
        let bus = bus.clone();
        let q = q.clone();
        calls.push(tokio::spawn(async move {
            let id = format!("c{i}");
            let v = bus
                .call(&q, task(&id), Duration::from_secs(10))
                .await
                .unwrap();
            assert_eq!(v["echo"], id);
        }));
    }
    for call in calls {
        call.await.unwrap();
    }
    server.await.unwrap();
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn malformed_messages_go_to_the_dead_letter_queue_and_the_consumer_keeps_going() {
    let bus = bus().await.with_max_message_bytes(4096);
    let q = unique("malformed");
    let mut c = bus.consume(&q).await.unwrap();
    let (_conn, ch) = raw_channel().await;
    let json_props = |name: Option<&str>, id: &str| {
        BasicProperties::default()
            .with_content_type("application/json".into())
            .with_headers(celery_headers(name, id))
    };
    let bad: Vec<(&str, Vec<u8>, BasicProperties, &str)> = vec![
        (
            "not-json",
            b"{{{".to_vec(),
            json_props(Some("storage.store"), "m1"),
            "not JSON",
        ),
        (
            "wrong-shape",
            br#"{"args": []}"#.to_vec(),
            json_props(Some("storage.store"), "m2"),
            "[args, kwargs, embed]",
        ),
        (
            "no-task-header",
            br#"[[], {}, {}]"#.to_vec(),
            json_props(None, "m3"),
            "no task header",
        ),
        (
            "too-large",
            format!(r#"[["{}"], {{}}, {{}}]"#, "x".repeat(10_000)).into_bytes(),
            json_props(Some("storage.store"), "m4"),
            "exceeds the 4096-byte limit",
        ),
        (
            "pickle",
            b"\x80\x04".to_vec(),
            json_props(Some("storage.store"), "m5")
                .with_content_type("application/x-python-serialize".into()),
            "content type",
        ),
    ];
    for (_, body, props, _) in &bad {
        raw_publish(&ch, &q, body, props.clone()).await;
    }
    bus.publish(&q, task("good")).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    assert_eq!(d.task.id, "good", "only the well-formed task comes out");
    d.settle.ack().await.unwrap();

    let dead = drain(&ch, &format!("{q}.dead")).await;
    assert_eq!(dead.len(), bad.len(), "every malformed message is kept");
    for ((what, body, _, why), m) in bad.iter().zip(&dead) {
        let reason = header_text(&m.properties, REASON_HEADER).unwrap();
        assert!(
            reason.contains(why),
            "{what}: {reason:?} should say {why:?}"
        );
        assert_eq!(header_text(&m.properties, QUEUE_HEADER).unwrap(), q);
        assert_eq!(&m.data, body, "{what}: the message is kept as it was");
    }
    let nothing = tokio::time::timeout(Duration::from_millis(300), c.next()).await;
    assert!(
        nothing.is_err(),
        "malformed messages were acked, not requeued"
    );
    drop(c);
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn dead_letter_parks_the_task_with_its_reason() {
    let bus = bus().await;
    let q = unique("dead");
    let mut c = bus.consume(&q).await.unwrap();
    bus.publish(&q, task("t1")).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    d.settle
        .dead_letter("device_id is not a number".into())
        .await
        .unwrap();
    let (_conn, ch) = raw_channel().await;
    let dead = drain(&ch, &format!("{q}.dead")).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        header_text(&dead[0].properties, REASON_HEADER).as_deref(),
        Some("device_id is not a number")
    );
    assert_eq!(
        header_text(&dead[0].properties, "task").as_deref(),
        Some("storage.store"),
        "the Celery message is kept whole"
    );
    let nothing = tokio::time::timeout(Duration::from_millis(300), c.next()).await;
    assert!(nothing.is_err(), "a dead-lettered task is not redelivered");
    drop(c);
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn retry_later_waits_the_delay_then_counts_each_retry() {
    let bus = bus().await;
    let q = unique("delay");
    let delay = Duration::from_millis(800);
    let mut c = bus.consume(&q).await.unwrap();
    bus.publish(&q, task("t1")).await.unwrap();
    let mut d = within(10, c.next()).await.unwrap();
    for expected in 1..=2 {
        let parked = Instant::now();
        d.settle.retry_later(delay).await.unwrap();
        d = within(10, c.next()).await.unwrap();
        assert!(
            parked.elapsed() >= delay - Duration::from_millis(50),
            "redelivered after {:?}, before the {delay:?} delay",
            parked.elapsed()
        );
        assert_eq!(d.task.id, "t1");
        assert_eq!(d.task.retries, expected);
    }
    d.settle.ack().await.unwrap();
    // The delay queue is RabbitMQ's own TTL + dead-letter route, no plugin.
    let (_conn, ch) = raw_channel().await;
    let mut args = FieldTable::default();
    args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(800));
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(LongString::from(q.clone())),
    );
    ch.queue_declare(
        format!("{q}.delay.800").as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        args,
    )
    .await
    .expect("the delay queue has exactly these arguments");
    drop(c);
    cleanup(&bus, &q, &[delay]).await;
}

#[tokio::test]
async fn a_task_is_not_delivered_before_its_eta() {
    let bus = bus().await;
    let q = unique("eta");
    let mut c = bus.consume(&q).await.unwrap();
    let eta = SystemTime::now() + Duration::from_millis(1500);
    bus.publish_at(&q, task("later"), eta).await.unwrap();
    bus.publish(&q, task("now")).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    assert_eq!(d.task.id, "now", "a due task overtakes a parked one");
    d.settle.ack().await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    assert_eq!(d.task.id, "later");
    assert!(
        SystemTime::now() >= eta,
        "delivered {:?} early",
        eta.duration_since(SystemTime::now()).unwrap_or_default()
    );
    assert_eq!(d.task.retries, 0, "parking is not a retry");
    d.settle.ack().await.unwrap();
    drop(c);
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn an_expired_task_is_dead_lettered_not_run() {
    let bus = bus().await;
    let q = unique("expired");
    let mut c = bus.consume(&q).await.unwrap();
    let (_conn, ch) = raw_channel().await;
    let mut h = celery_headers(Some("storage.store"), "old");
    h.insert(
        "expires".into(),
        AMQPValue::LongString("2001-01-01T00:00:00+00:00".into()),
    );
    let props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_headers(h);
    raw_publish(&ch, &q, br#"[[1], {}, {}]"#, props).await;
    bus.publish(&q, task("fresh")).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    assert_eq!(d.task.id, "fresh");
    d.settle.ack().await.unwrap();
    let dead = drain(&ch, &format!("{q}.dead")).await;
    assert_eq!(dead.len(), 1);
    let reason = header_text(&dead[0].properties, REASON_HEADER).unwrap();
    assert!(reason.contains("expired"), "{reason}");
    drop(c);
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn prefetch_bounds_the_unacked_deliveries_of_a_consumer() {
    let bus = AmqpBus::connect(&url(), 2).await.unwrap();
    let q = unique("prefetch");
    let mut c = bus.consume(&q).await.unwrap();
    for i in 0..3 {
        bus.publish(&q, task(&format!("t{i}"))).await.unwrap();
    }
    let first = within(10, c.next()).await.unwrap();
    let second = within(10, c.next()).await.unwrap();
    let third = tokio::time::timeout(Duration::from_millis(500), c.next()).await;
    assert!(third.is_err(), "a third delivery while two are unacked");
    first.settle.ack().await.unwrap();
    let third = within(10, c.next()).await.unwrap();
    assert_eq!(third.task.id, "t2");
    second.settle.ack().await.unwrap();
    third.settle.ack().await.unwrap();
    drop(c);
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn queues_are_declared_exactly_as_celery_declares_them() {
    let bus = bus().await;
    let q = unique("declare");
    bus.publish(&q, task("t1")).await.unwrap();
    // kombu's declaration of Queue(q, Exchange(q), q): any difference in
    // durability, type or arguments would be PRECONDITION_FAILED.
    let (_conn, ch) = raw_channel().await;
    ch.exchange_declare(
        q.as_str().into(),
        ExchangeKind::Direct,
        ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    let declared = ch
        .queue_declare(
            q.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        declared.message_count(),
        1,
        "published through the exchange"
    );
    let got = drain(&ch, &q).await;
    let m = &got[0];
    let p = &m.properties;
    assert_eq!(m.exchange.as_str(), q, "published to the queue's exchange");
    assert_eq!(m.routing_key.as_str(), q);
    assert_eq!(*p.delivery_mode(), Some(2), "persistent");
    assert_eq!(p.correlation_id().as_ref().unwrap().as_str(), "t1");
    assert_eq!(
        p.content_type().as_ref().unwrap().as_str(),
        "application/json"
    );
    assert_eq!(p.content_encoding().as_ref().unwrap().as_str(), "utf-8");
    assert_eq!(header_text(p, "task").as_deref(), Some("storage.store"));
    assert_eq!(header_text(p, "lang").as_deref(), Some("py"));
    let body: serde_json::Value = serde_json::from_slice(&m.data).unwrap();
    assert_eq!(
        body,
        json!([[{"n": "t1"}], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}])
    );
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn a_call_request_is_transient_and_names_its_reply_queue() {
    // A caller waits for its reply at most its timeout, on an exclusive
    // queue that a broker restart removes: its request is not persisted
    // (no disk write before the confirm), while published tasks are.
    let bus = bus().await;
    let q = unique("transient");
    bus.publish(&q, task("t0")).await.unwrap();
    let caller = bus.clone();
    let call_q = q.clone();
    let call = tokio::spawn(async move {
        caller
            .call(&call_q, task("t1"), Duration::from_millis(1500))
            .await
    });
    let (_conn, ch) = raw_channel().await;
    let mut got = Vec::new();
    within(5, async {
        while got.len() < 2 {
            got.extend(drain(&ch, &q).await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let mode = |id: &str| {
        let m = got
            .iter()
            .find(|m| m.properties.correlation_id().as_ref().unwrap().as_str() == id)
            .unwrap();
        (
            *m.properties.delivery_mode(),
            m.properties.reply_to().is_some(),
        )
    };
    assert_eq!(mode("t0"), (Some(2), false), "a task is persistent");
    assert_eq!(mode("t1"), (Some(1), true), "a call's request is transient");
    let e = call.await.unwrap().unwrap_err();
    assert!(matches!(e, BusError::Timeout { .. }), "{e:?}");
    cleanup(&bus, &q, &[]).await;
}

#[tokio::test]
async fn debug_output_hides_the_password() {
    let url = url();
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password.to_owned())
        .expect("the test broker URL has a password");
    let bus = AmqpBus::connect(&url, 1).await.unwrap();
    let shown = format!("{bus:?}");
    assert!(shown.contains(":***@"), "{shown}");
    assert!(!shown.contains(&format!(":{password}@")), "{shown}");
    let e = AmqpBus::connect("amqp://guest:hunter2@127.0.0.1:1/%2f", 1)
        .await
        .unwrap_err();
    assert!(matches!(e, BusError::Unavailable(_)), "{e:?}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = AmqpBus::connect("amqp://guest:hunter2@[bad/%2f", 1)
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

/// Asks the broker to close this bus's connection, as an operator (or a
/// broker restart) would; other tests' connections are left alone.
fn kill_connection(bus: &AmqpBus) {
    let out = std::process::Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl (installed with RabbitMQ)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    let name = format!("\"{}\"", bus.connection_name());
    let line = listing
        .lines()
        .find(|l| l.contains(&name))
        .unwrap_or_else(|| panic!("no connection named {name} in:\n{listing}"));
    let pid = line.split_whitespace().next().unwrap();
    let status = std::process::Command::new("rabbitmqctl")
        .args(["close_connection", pid, "killed by the reconnection test"])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn publishing_and_consuming_resume_after_the_broker_drops_the_connection() {
    let bus = bus().await;
    let q = unique("reconnect");
    let mut c = bus.consume(&q).await.unwrap();
    bus.publish(&q, task("before")).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    assert_eq!(d.task.id, "before");
    d.settle.ack().await.unwrap();
    bus.publish(&q, task("in-flight")).await.unwrap();
    let in_flight = within(10, c.next()).await.unwrap();
    assert_eq!(in_flight.task.id, "in-flight");

    tokio::task::spawn_blocking({
        let bus = bus.clone();
        move || kill_connection(&bus)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The settle of a delivery from the dead connection cannot ack; the
    // broker has requeued it.
    assert!(in_flight.settle.ack().await.is_err());

    bus.publish(&q, task("after")).await.unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "only {seen:?} after reconnecting"
        );
        match tokio::time::timeout(Duration::from_secs(5), c.next()).await {
            Ok(Ok(d)) => {
                seen.push(d.task.id.clone());
                d.settle.ack().await.unwrap();
            }
            Ok(Err(e)) => eprintln!("while the broker is away: {e}"),
            Err(_) => {}
        }
    }
    seen.sort();
    assert_eq!(seen, ["after", "in-flight"]);
    drop(c);
    // Calls work on the new connection too (a new reply queue).
    let mut server = bus.consume(&q).await.unwrap();
    let answer = tokio::spawn(async move {
        let d = server.next().await.unwrap();
        d.settle.reply(Ok(json!("pong"))).await.unwrap();
    });
    let v = bus
        .call(&q, task("ping"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(v, json!("pong"));
    answer.await.unwrap();
    cleanup(&bus, &q, &[]).await;
}

fn rabbitmqctl(args: &[&str]) {
    let status = std::process::Command::new("rabbitmqctl")
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "rabbitmqctl {args:?}");
}

/// Restarts the shared broker's application, which disturbs every other
/// test using it: run alone, on purpose
/// (`cargo test -p devicevault-bus --test amqp_bus -- --ignored`).
#[tokio::test]
#[ignore = "restarts the shared broker; run alone"]
async fn a_broker_restart_loses_no_durable_task_and_everything_resumes() {
    let bus = bus().await;
    let q = unique("restart");
    let mut c = bus.consume(&q).await.unwrap();
    bus.publish(&q, task("queued")).await.unwrap();
    let first = within(10, c.next()).await.unwrap();
    assert_eq!(first.task.id, "queued");
    // Unacked when the broker goes away: it must come back.
    tokio::task::spawn_blocking(|| rabbitmqctl(&["stop_app"]))
        .await
        .unwrap();
    drop(first);
    let during = tokio::spawn({
        let bus = bus.clone();
        let q = q.clone();
        // Publishing waits (reconnecting) while the broker is away.
        async move { bus.publish(&q, task("during")).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::spawn_blocking(|| {
        rabbitmqctl(&["start_app"]);
        rabbitmqctl(&["await_startup"]);
    })
    .await
    .unwrap();
    during.await.unwrap().unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < 2 {
        assert!(Instant::now() < deadline, "only {seen:?} after the restart");
        match tokio::time::timeout(Duration::from_secs(5), c.next()).await {
            Ok(Ok(d)) => {
                seen.push(d.task.id.clone());
                d.settle.ack().await.unwrap();
            }
            Ok(Err(e)) => eprintln!("while the broker is away: {e}"),
            Err(_) => {}
        }
    }
    seen.sort();
    assert_eq!(seen, ["during", "queued"]);
    drop(c);
    cleanup(&bus, &q, &[]).await;
}
