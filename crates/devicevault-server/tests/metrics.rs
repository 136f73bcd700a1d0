//! `/metrics` of embedded `serve` after a run of backups: promtool accepts
//! the exposition, and the counters moved by exactly what was done.

mod common;

use std::collections::BTreeMap;

use common::{Engine, Harness};
use devicevault_client::HttpClient;
use devicevault_sim::SimConfig;
use devicevault_testkit::promtool::{assert_accepts as promtool_accepts, samples};

fn sim(devices: usize) -> SimConfig {
    SimConfig {
        devices,
        platforms: vec!["cisco_ios".into(), "arista_eos".into()],
        config_lines: 60,
        ..SimConfig::default()
    }
}

fn value(s: &BTreeMap<String, f64>, series: &str) -> f64 {
    *s.get(series)
        .unwrap_or_else(|| panic!("no sample {series} in {s:#?}"))
}

/// Files under `objects/??/`, counted here as the metric should.
fn walk_loose(objects: &std::path::Path) -> usize {
    std::fs::read_dir(objects)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .map(|e| std::fs::read_dir(e.path()).unwrap().count())
        .sum()
}

async fn scrape(addr: std::net::SocketAddr, auth: Option<&str>) -> (u16, String) {
    let mut c = HttpClient::new(addr);
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    let r = c
        .request_with("GET", "/metrics", None, &headers)
        .await
        .unwrap();
    (r.status, String::from_utf8(r.body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_exactly_the_backups_that_ran_and_promtool_accepts_them() {
    const N: usize = 3;
    let mut h = Harness::start(Engine::Sqlite, sim(N)).await;
    let (location, ids) = h.inventory().await;
    for &id in &ids {
        let ti = h.backup_now(id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }
    // And one that fails: nothing listens on its port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let first = h
        .call("GET", &format!("/api/devices/{}/", ids[0]), None)
        .await
        .json();
    let gone = h
        .create(
            "/api/devices/",
            serde_json::json!({"name": "gone", "address": "127.0.0.1", "port": closed,
                "driver": "cisco_ios", "credential": first["credential"], "backup_location": location}),
        )
        .await;
    let ti = h.backup_now(gone["id"].as_i64().unwrap()).await;
    assert_eq!(h.wait_job(&ti).await["state"], "failed");

    let (status, text) = scrape(h.server().addr, None).await;
    assert_eq!(status, 200, "{text}");
    promtool_accepts(&text);
    let s = samples(&text);
    let n = N as f64;
    assert_eq!(
        value(&s, r#"devicevault_jobs_total{state="queued"}"#),
        n + 1.0
    );
    assert_eq!(value(&s, r#"devicevault_jobs_total{state="collected"}"#), n);
    assert_eq!(value(&s, r#"devicevault_jobs_total{state="stored"}"#), n);
    assert_eq!(value(&s, r#"devicevault_jobs_total{state="failed"}"#), 1.0);
    for stage in ["collect", "store"] {
        assert_eq!(
            value(
                &s,
                &format!(r#"devicevault_stage_duration_seconds_count{{stage="{stage}"}}"#)
            ),
            // A failed collection is a collection too; it is never stored.
            if stage == "collect" { n + 1.0 } else { n },
            "{stage}"
        );
    }
    assert_eq!(
        value(
            &s,
            r#"devicevault_job_duration_seconds_count{outcome="stored"}"#
        ),
        n
    );
    assert_eq!(
        value(
            &s,
            r#"devicevault_job_duration_seconds_count{outcome="failed"}"#
        ),
        1.0
    );
    // Each stream's entries are written in one or more transactions.
    for stream in ["device_results", "storage_results"] {
        let count = value(
            &s,
            &format!(
                r#"devicevault_index_transaction_duration_seconds_count{{stream="{stream}"}}"#
            ),
        );
        assert!((1.0..=n + 1.0).contains(&count), "{stream}: {count}");
    }
    assert_eq!(value(&s, "devicevault_collector_sessions_open"), 0.0);
    // The fleet's figures, read from the database at the scrape.
    assert_eq!(value(&s, "devicevault_devices_stale"), 0.0);
    let age = value(&s, "devicevault_oldest_last_success_age_seconds");
    assert!((0.0..600.0).contains(&age), "{age}");
    assert_eq!(
        value(
            &s,
            r#"devicevault_notification_deliveries{state="pending"}"#
        ),
        0.0
    );
    // What this process consumes and writes, asked at the scrape: the
    // queues are empty, each group has read and acked every entry, and the
    // repository holds the backups' objects.
    for queue in ["storage.git", "storage.fs", "collector.group.default"] {
        let ready = s.get(&format!(
            r#"devicevault_queue_messages_ready{{queue="{queue}"}}"#
        ));
        assert!(matches!(ready, None | Some(0.0)), "{queue}: {ready:?}");
    }
    assert_eq!(
        value(
            &s,
            r#"devicevault_queue_messages_ready{queue="storage.git"}"#
        ),
        0.0
    );
    for stream in ["device:results", "storage:results"] {
        for what in ["pending", "lag"] {
            assert_eq!(
                value(
                    &s,
                    &format!(
                        r#"devicevault_stream_{what}_entries{{group="devicevault",stream="{stream}"}}"#
                    )
                ),
                0.0,
                "{stream} {what}"
            );
        }
    }
    let repo = h.repo_path().display().to_string();
    let loose = value(
        &s,
        &format!(r#"devicevault_repository_loose_objects{{repository="{repo}"}}"#),
    );
    let packs = value(
        &s,
        &format!(r#"devicevault_repository_packs{{repository="{repo}"}}"#),
    );
    // Each backup is a blob, two trees and a commit: loose objects, or a
    // pack per group commit.
    assert!(
        loose >= 4.0 * n || packs >= 1.0,
        "{loose} loose, {packs} packs"
    );
    let on_disk = walk_loose(&h.repo_path().join("objects"));
    assert_eq!(loose, on_disk as f64);

    // Requests by route template, never by the path with its id.
    assert_eq!(
        value(
            &s,
            r#"devicevault_http_requests_total{method="POST",route="/api/devices/{id}/backup_now/",status="202"}"#
        ),
        n + 1.0
    );
    assert_eq!(
        value(
            &s,
            r#"devicevault_http_request_duration_seconds_count{method="POST",route="/api/devices/{id}/backup_now/"}"#
        ),
        n + 1.0
    );
    assert!(
        !text.contains(&format!("/api/devices/{}/", ids[0])),
        "a raw path became a label"
    );

    // A second scrape counts the first.
    let (_, again) = scrape(h.server().addr, None).await;
    let s = samples(&again);
    assert_eq!(
        value(
            &s,
            r#"devicevault_http_requests_total{method="GET",route="/metrics",status="200"}"#
        ),
        1.0
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_metrics_answer_only_its_bearer_on_both_listeners() {
    let h = Harness::start_with(Engine::Sqlite, sim(1), |c| {
        c.settings.metrics_token = Some(devicevault_notify::Secret::new("scrape-7c1e"));
        c.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let own = h.server().metrics_addr.expect("a metrics listener");
    for addr in [h.server().addr, own] {
        assert_eq!(scrape(addr, None).await.0, 401, "{addr}");
        assert_eq!(scrape(addr, Some("Bearer wrong")).await.0, 401, "{addr}");
        // A user's API token is not the scraper's.
        let user = format!("Token {}", h.token);
        assert_eq!(scrape(addr, Some(&user)).await.0, 401, "{addr}");
        let (status, text) = scrape(addr, Some("Bearer scrape-7c1e")).await;
        assert_eq!(status, 200, "{addr}: {text}");
        promtool_accepts(&text);
        assert!(text.contains("devicevault_jobs_total"), "{text}");
    }
    h.stop().await;
}
