//! `AmqpBus` against a real RabbitMQ (`DEVICEVAULT_TEST_AMQP_URL`, default
//! guest/guest on 127.0.0.1:5672, started by `scripts/test`): what only a
//! broker has — Celery's wire format and queue topology, dead-lettering of
//! malformed messages, delay queues, eta, prefetch, reconnection. The bus
//! contract runs on it in `conformance.rs`. Every test uses queue names of
//! its own, deleted at the end.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{BusUnderTest, RETRY_DELAY, amqp_url, drain, header_text, raw_channel, raw_publish};
use devicevault_bus::AmqpBus;
use devicevault_bus::amqp::{QUEUE_HEADER, REASON_HEADER};
use devicevault_core::bus::{BusError, Task, TaskBus, TaskConsumer};
use lapin::options::{ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, ExchangeKind};
use serde_json::json;

fn task(id: &str) -> Task {
    Task::with_arg(id.into(), "storage.store", json!({ "n": id }))
}

async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("timed out")
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

// ---- what only a broker has ----

#[tokio::test]
async fn malformed_messages_go_to_the_dead_letter_queue_and_the_consumer_keeps_going() {
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (
        t.bus.clone().with_max_message_bytes(4096),
        t.queue("malformed"),
    );
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
}

/// What `dead_letter` parks is the Celery message as it came, with the
/// reason and the queue in headers (`conformance.rs` checks the contract).
#[tokio::test]
async fn a_dead_lettered_task_keeps_its_celery_message_and_says_why_in_headers() {
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("dead"));
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
    let p = &dead[0].properties;
    assert_eq!(
        header_text(p, REASON_HEADER).as_deref(),
        Some("device_id is not a number")
    );
    assert_eq!(header_text(p, QUEUE_HEADER).as_deref(), Some(q.as_str()));
    assert_eq!(header_text(p, "task").as_deref(), Some("storage.store"));
    let body: serde_json::Value = serde_json::from_slice(&dead[0].data).unwrap();
    assert_eq!(body[0], json!([{ "n": "t1" }]), "the body is kept whole");
}

/// The delay is RabbitMQ's own TTL and dead-letter route, no plugin
/// (`conformance.rs` checks that the task comes back after it).
#[tokio::test]
async fn retry_later_parks_the_task_on_a_ttl_queue_that_routes_it_back() {
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("delay"));
    let mut c = bus.consume(&q).await.unwrap();
    bus.publish(&q, task("t1")).await.unwrap();
    let d = within(10, c.next()).await.unwrap();
    d.settle.retry_later(RETRY_DELAY).await.unwrap();
    let ms = RETRY_DELAY.as_millis();
    let mut args = FieldTable::default();
    args.insert(
        "x-message-ttl".into(),
        AMQPValue::LongLongInt(i64::try_from(ms).unwrap()),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(LongString::from(q.clone())),
    );
    let (_conn, ch) = raw_channel().await;
    ch.queue_declare(
        format!("{q}.delay.{ms}").as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        args,
    )
    .await
    .expect("the delay queue has exactly these arguments");
    let d = within(10, c.next()).await.unwrap();
    assert_eq!(d.task.retries, 1);
    d.settle.ack().await.unwrap();
}

#[tokio::test]
async fn a_task_is_not_delivered_before_its_eta() {
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("eta"));
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
}

#[tokio::test]
async fn an_expired_task_is_dead_lettered_not_run() {
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("expired"));
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
}

#[tokio::test]
async fn prefetch_bounds_the_unacked_deliveries_of_a_consumer() {
    let t = BusUnderTest::amqp_with_prefetch(2).await;
    let (bus, q) = (&t.bus, t.queue("prefetch"));
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
}

#[tokio::test]
async fn queues_are_declared_exactly_as_celery_declares_them() {
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("declare"));
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
}

#[tokio::test]
async fn a_call_request_is_transient_and_names_its_reply_queue() {
    // A caller waits for its reply at most its timeout, on an exclusive
    // queue that a broker restart removes: its request is not persisted
    // (no disk write before the confirm), while published tasks are.
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("transient"));
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
}

#[tokio::test]
async fn debug_output_hides_the_password() {
    let url = amqp_url();
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
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("reconnect"));
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
    let t = BusUnderTest::amqp().await;
    let (bus, q) = (&t.bus, t.queue("restart"));
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
}
