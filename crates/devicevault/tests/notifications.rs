//! Notifications end to end, in both deployments: a changed device's
//! backup produces one mail (aiosmtpd) with the masked diff and one signed
//! webhook; and in the distributed deployment, a notifier killed (-9)
//! during deliveries leaves every event delivered once (by its
//! idempotency key) or dead, never lost.

mod suite;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use devicevault_notify::verify_signature;
use devicevault_notify::webhook::DEFAULT_TOLERANCE;
use devicevault_sim::SimConfig;
use devicevault_testkit::peers::{Receiver, Smtpd, mail_header};
use serde_json::{Value, json};
use suite::harness::{Harness, Mode};

const SECRET: &str = "whsec-notify-int-0123456789";

fn sim(devices: usize) -> SimConfig {
    SimConfig {
        devices,
        platforms: vec!["cisco_ios".into()],
        password: "Pa55-unique-7f3e9c".into(),
        enable_secret: "En4ble-unique-a81d".into(),
        config_lines: 80,
        ..SimConfig::default()
    }
}

fn env(smtpd: &Smtpd, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("DEVICEVAULT_SMTP_HOST", "127.0.0.1".to_owned()),
        ("DEVICEVAULT_SMTP_PORT", smtpd.port.to_string()),
        ("DEVICEVAULT_SMTP_TLS", "none".to_owned()),
        (
            "DEVICEVAULT_SMTP_FROM",
            "DeviceVault <dv@example.com>".to_owned(),
        ),
        (
            "DEVICEVAULT_PUBLIC_URL",
            "https://dv.example.com".to_owned(),
        ),
        ("DEVICEVAULT_NOTIFY_POLL_INTERVAL", "200ms".to_owned()),
        ("DEVICEVAULT_NOTIFY_RETRY_BASE", "1s".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        env.retain(|(n, _)| n != k);
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Channels for the mail server and the receiver, and rules sending
/// changes to both. Returns the two channel ids.
async fn channels_and_rules(h: &mut Harness, hook: &Receiver, device: i64) -> (i64, i64) {
    let mail = h
        .create(
            "/api/notification-channels/",
            json!({"name": "noc mail", "kind": "email", "to": ["noc@example.com"]}),
        )
        .await;
    let webhook = h
        .create(
            "/api/notification-channels/",
            json!({"name": "hook", "kind": "webhook", "url": hook.url("/hook"), "secret": SECRET}),
        )
        .await;
    // The secret is sealed and never shown back.
    assert_eq!(webhook["has_secret"], true, "{webhook}");
    assert!(webhook.get("secret").is_none(), "{webhook}");
    assert!(!webhook.to_string().contains(SECRET));
    let (mail, webhook) = (
        mail["id"].as_i64().unwrap(),
        webhook["id"].as_i64().unwrap(),
    );
    h.create(
        "/api/notification-rules/",
        json!({"name": "changes by mail", "events": ["config_changed"], "channel": mail}),
    )
    .await;
    h.create(
        "/api/notification-rules/",
        json!({"name": "r1 to the hook", "events": ["config_changed", "backup_failed"],
               "channel": webhook, "devices": [device]}),
    )
    .await;
    (mail, webhook)
}

async fn a_changed_device_sends_one_masked_mail_and_one_signed_webhook(mode: Mode) {
    let smtpd = Smtpd::start();
    let hook = Receiver::start(Duration::ZERO).await;
    let mut h = Harness::start_with(mode, sim(1), env(&smtpd, &[])).await;
    let (_, ids) = h.inventory().await;
    let device = ids[0];
    channels_and_rules(&mut h, &hook, device).await;
    let name = h.sim.devices()[0].name().to_owned();
    let secret_token = h.sim.devices()[0].secret_token();

    // The first version is not a change anyone saw: nothing is sent.
    let ti = h.backup_now(device).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");

    h.sim.devices()[0].change_config();
    let ti = h.backup_now(device).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let stored_at = Instant::now();
    until("one mail and one webhook", Duration::from_secs(5), || {
        !smtpd.messages().is_empty() && !hook.received().is_empty()
    })
    .await;
    let latency = stored_at.elapsed();
    // Nothing more arrives (one event, one delivery per channel).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mails, calls) = (smtpd.messages(), hook.received());
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(calls.len(), 1, "{calls:?}");

    let stored = h
        .list(&format!("/api/stored-backups/?device={device}"))
        .await;
    let (new, old) = (
        stored[0]["id"].as_i64().unwrap(),
        stored[1]["id"].as_i64().unwrap(),
    );

    // The mail: sortable subject, the diff of the change, no secret.
    let m = &mails[0];
    assert_eq!(
        mail_header(m, "Subject"),
        Some(format!("[DeviceVault] config changed: {name}").as_str())
    );
    assert_eq!(
        mail_header(m, "X-DeviceVault-Event"),
        Some("config_changed")
    );
    assert_eq!(m["rcpt_tos"], json!(["noc@example.com"]));
    let body = m["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("--- {name} #{old}"))
            && body.contains(&format!("+++ {name} #{new}")),
        "{body}"
    );
    assert!(body.contains("rev1"), "the changed lines: {body}");
    assert!(
        body.contains(&format!(
            "https://dv.example.com/devices/{device}/compare?a={old}&b={new}"
        )),
        "{body}"
    );
    assert!(
        !body.contains(&secret_token),
        "a secret in the mail: {body}"
    );

    // The webhook: signed with the channel's secret, keyed by the event.
    let call = &calls[0];
    assert_eq!(call.path, "/hook");
    verify_signature(
        SECRET.as_bytes(),
        call.header("x-devicevault-signature").unwrap(),
        &call.body,
        unix_now(),
        DEFAULT_TOLERANCE,
    )
    .expect("a valid signature");
    let payload: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(payload["kind"], "config_changed");
    assert_eq!(payload["device_id"], device);
    assert_eq!(payload["stored_backup_id"], new);
    assert_eq!(payload["previous_stored_backup_id"], old);
    assert_eq!(
        call.header("idempotency-key"),
        payload["idempotency_key"].as_str()
    );
    let unified = payload["diff"]["unified"].as_str().unwrap();
    assert!(unified.contains("rev1"), "{unified}");
    // Who changed it, as the device says (IOS `Last configuration change
    // … by netops`), in the payload, the mail and the history.
    assert_eq!(payload["author"], "netops", "{payload}");
    assert!(body.contains("netops"), "{body}");
    assert_eq!(stored[0]["author"], "netops");
    assert!(!String::from_utf8_lossy(&call.body).contains(&secret_token));

    // Both deliveries are visible, delivered at the first attempt.
    let delivered = h.list("/api/notifications/?state=delivered").await;
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    for d in &delivered {
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["kind"], "config_changed");
        assert!(d["last_error"].is_null(), "{d}");
    }
    let (status, page) = h.web_page("/admin/notifications").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("delivered") && page.contains("changes by mail"),
        "{page}"
    );
    assert!(
        latency < Duration::from_secs(5),
        "notified {latency:?} after the store"
    );
    h.stop().await;
}

/// A webhook channel to `hook` and a rule sending it `events` of every
/// device.
async fn hook_rule(h: &mut Harness, hook: &Receiver, rule: &str, events: &[&str]) {
    let channel = h
        .create(
            "/api/notification-channels/",
            json!({"name": "hook", "kind": "webhook", "url": hook.url("/hook"), "secret": SECRET}),
        )
        .await["id"]
        .clone();
    h.create(
        "/api/notification-rules/",
        json!({"name": rule, "events": events, "channel": channel}),
    )
    .await;
}

/// The payloads of one kind the receiver got, about `device`.
fn received(hook: &Receiver, kind: &str, device: i64) -> Vec<Value> {
    hook.received()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .filter(|p| p["kind"] == kind && p["device_id"] == device)
        .collect()
}

/// With a 2 s threshold, a device never backed up goes stale: one
/// `device_stale` webhook (not one per scheduler tick), the API and the
/// device list show it; its first backup makes one `device_recovered`.
async fn a_stale_device_is_announced_once_and_so_is_its_recovery(mode: Mode) {
    let smtpd = Smtpd::start();
    let hook = Receiver::start(Duration::ZERO).await;
    let extra = [
        ("DEVICEVAULT_STALE_AFTER", "2s"),
        ("DEVICEVAULT_SCHEDULER_TICK", "200ms"),
    ];
    let mut h = Harness::start_with(mode, sim(1), env(&smtpd, &extra)).await;
    hook_rule(
        &mut h,
        &hook,
        "health",
        &["device_stale", "device_recovered"],
    )
    .await;
    let (_, ids) = h.inventory().await;
    let device = ids[0];
    until("a device_stale webhook", Duration::from_secs(15), || {
        !received(&hook, "device_stale", device).is_empty()
    })
    .await;
    // Ticks go on (every 200 ms, checks every 500 ms): still one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stale = received(&hook, "device_stale", device);
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert!(
        stale[0]["reason"]
            .as_str()
            .unwrap()
            .contains("never backed up"),
        "{}",
        stale[0]
    );
    let shown = h
        .call("GET", &format!("/api/devices/{device}/"), None)
        .await
        .json();
    assert!(shown["stale_since"].is_string(), "{shown}");
    assert!(shown["last_success_at"].is_null(), "{shown}");
    let listed = h.list("/api/devices/?stale=true").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let (status, page) = h.web_page("/devices?stale=yes").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("badge bad") && page.contains(">stale<"),
        "{page}"
    );

    let ti = h.backup_now(device).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    until(
        "a device_recovered webhook",
        Duration::from_secs(10),
        || !received(&hook, "device_recovered", device).is_empty(),
    )
    .await;
    let shown = h
        .call("GET", &format!("/api/devices/{device}/"), None)
        .await
        .json();
    assert!(shown["last_success_at"].is_string(), "{shown}");
    assert_eq!(received(&hook, "device_recovered", device).len(), 1);
    h.stop().await;
}

mod embedded {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_changed_device_sends_one_masked_mail_and_one_signed_webhook() {
        super::a_changed_device_sends_one_masked_mail_and_one_signed_webhook(super::Mode::Embedded)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_device_is_announced_once_and_so_is_its_recovery() {
        super::a_stale_device_is_announced_once_and_so_is_its_recovery(super::Mode::Embedded).await;
    }
}

mod distributed {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_changed_device_sends_one_masked_mail_and_one_signed_webhook() {
        super::a_changed_device_sends_one_masked_mail_and_one_signed_webhook(
            super::Mode::Distributed,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_device_is_announced_once_and_so_is_its_recovery() {
        super::a_stale_device_is_announced_once_and_so_is_its_recovery(Mode::Distributed).await;
    }

    /// The receiver holds each request 2 s; the notifier is killed while
    /// it waits, and started again. Each event reaches the receiver (at
    /// least once, so once by its idempotency key), or is dead.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_notifier_killed_during_delivery_leaves_every_event_delivered_once_or_dead() {
        let smtpd = Smtpd::start();
        let hook = Receiver::start(Duration::from_secs(2)).await;
        let extra = [
            ("DEVICEVAULT_NOTIFY_LEASE", "4s"),
            ("DEVICEVAULT_NOTIFY_DELIVERY_TIMEOUT", "3s"),
        ];
        let mut h = Harness::start_with(Mode::Distributed, sim(3), env(&smtpd, &extra)).await;
        let (_, ids) = h.inventory().await;
        hook_rule(&mut h, &hook, "all changes", &["config_changed"]).await;
        for &id in &ids {
            let ti = h.backup_now(id).await;
            assert_eq!(h.wait_job(&ti).await["state"], "stored");
        }
        for d in h.sim.devices() {
            d.change_config();
        }
        for &id in &ids {
            let ti = h.backup_now(id).await;
            assert_eq!(h.wait_job(&ti).await["state"], "stored");
        }
        // Kill it while a request is held by the receiver.
        until("a delivery in flight", Duration::from_secs(10), || {
            !hook.received().is_empty()
        })
        .await;
        assert!(h.processes().kill("notifier"), "no notifier running");
        h.processes().spawn(&["notifier"]).unwrap();

        let deadline = Instant::now() + Duration::from_secs(60);
        let rows = loop {
            let rows = h.list("/api/notifications/").await;
            let settled = rows.len() == ids.len()
                && rows
                    .iter()
                    .all(|r| matches!(r["state"].as_str(), Some("delivered" | "dead")));
            if settled {
                break rows;
            }
            assert!(Instant::now() < deadline, "not settled: {rows:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let keys: BTreeSet<String> = hook
            .received()
            .iter()
            .map(|r| r.header("idempotency-key").unwrap().to_owned())
            .collect();
        for r in &rows {
            let key = format!("devicevault-event-{}", r["event"]);
            match r["state"].as_str() {
                Some("delivered") => assert!(keys.contains(&key), "{r} never arrived"),
                _ => assert!(r["last_error"].is_string(), "dead without a reason: {r}"),
            }
        }
        // One event per changed device, each key once at the receiver
        // after deduplication: nothing beyond the events was sent.
        assert!(keys.len() <= ids.len(), "{keys:?}");
        assert!(
            rows.iter().any(|r| r["attempts"].as_i64().unwrap() >= 2),
            "the killed attempt was taken over: {rows:?}"
        );
        h.stop().await;
    }
}
