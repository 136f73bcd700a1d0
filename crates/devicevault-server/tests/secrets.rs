//! A device credential's secrets never appear in an API response, a log
//! line, a stream record or a task body.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Engine, Harness};
use devicevault_bus::LocalBus;
use devicevault_core::bus::{TaskBus, TaskConsumer};
use devicevault_pipeline::Settings;
use devicevault_pipeline::roles::dispatcher::Dispatcher;
use devicevault_sim::SimConfig;

const PASSWORD: &str = "Zq9-device-password-41c7";
const ENABLE: &str = "Xk2-enable-secret-93b0";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_clean(what: &str, text: &str) {
    for secret in [PASSWORD, ENABLE] {
        assert!(!text.contains(secret), "{what} contains a device secret");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_secrets_stay_sealed_everywhere() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .init();

    let mut h = Harness::start(
        Engine::Sqlite,
        SimConfig {
            devices: 2,
            platforms: vec!["cisco_ios".into()],
            password: PASSWORD.into(),
            enable_secret: ENABLE.into(),
            ..SimConfig::default()
        },
    )
    .await;
    let (_, ids) = h.inventory().await;
    let mut bodies = String::new();
    for id in &ids {
        let ti = h.backup_now(*id).await;
        let job = h.wait_job(&ti).await;
        assert_eq!(job["state"], "stored", "{job}");
    }
    let cred = h.list("/api/credentials/").await;
    assert_eq!(cred[0]["has_enable_secret"], true);
    assert!(cred[0].get("password").is_none(), "write-only: {}", cred[0]);
    let cid = cred[0]["id"].as_i64().unwrap();
    for path in [
        "/api/credentials/".to_owned(),
        format!("/api/credentials/{cid}/"),
        "/api/devices/".into(),
        format!("/api/devices/{}/", ids[0]),
        "/api/backup-results/".into(),
        "/api/stored-backups/".into(),
    ] {
        let r = h.call("GET", &path, None).await;
        assert_eq!(r.status, 200);
        bodies.push_str(&String::from_utf8_lossy(&r.body));
    }
    // Changing the secret answers without it too.
    let r = h
        .call(
            "PATCH",
            &format!("/api/credentials/{cid}/"),
            Some(serde_json::json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 200);
    bodies.push_str(&String::from_utf8_lossy(&r.body));
    assert_clean("an API response", &bodies);

    for stream in ["device:results", "storage:results"] {
        let entries = h.server().log.entries(stream);
        assert!(!entries.is_empty());
        assert_clean(stream, &format!("{entries:?}"));
    }

    // The collection task a dispatcher publishes carries only sealed secrets.
    let bus = LocalBus::new();
    let dispatcher = Dispatcher::new(
        h.server().db.clone(),
        bus.clone(),
        Arc::new(Settings::default()),
    );
    let device = h.server().db.device(ids[0]).await.unwrap();
    let mut consumer = bus.consume("collector.group.default").await.unwrap();
    dispatcher.backup_now(&device).await.unwrap();
    let delivery = consumer.next().await.unwrap();
    let body = serde_json::to_string(&delivery.task.args).unwrap();
    assert!(body.contains("password_sealed"), "{body}");
    assert_clean("the device.collect task", &body);
    let _ = delivery.settle.ack().await;

    h.stop().await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("Persisted storage result"),
        "the capture works"
    );
    assert!(logs.contains("Storage task queued on storage.git"));
    assert_clean("the logs", &logs);
}
