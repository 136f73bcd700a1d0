//! The API keeps the contract its OpenAPI document states: schemathesis
//! (from `.venv-peers`, which `scripts/test` installs) generates thousands
//! of requests from `/api/openapi.json` against a live server with a real
//! inventory, a stored backup and a job, and checks that no answer is a
//! server error, every status code is documented, and every JSON body
//! matches its schema.
//!
//! Two passes: first everything but the operations that delete or revoke
//! (so the objects the ids point at survive to be read, edited and
//! backed up), then every operation, deletions and sign-outs included.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Engine, Harness};
use devicevault_sim::SimConfig;
use devicevault_storage::StorageRoots;
use serde_json::json;

const INSTALL: &str = "python3 -m venv .venv-peers && .venv-peers/bin/pip install schemathesis";

fn schemathesis() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers/bin/schemathesis");
    assert!(
        path.exists(),
        "no schemathesis at {}: run `{INSTALL}` at the workspace root (or `scripts/test`)",
        path.display()
    );
    path
}

/// Runs schemathesis with `config` (TOML) and `args`; panics with its
/// report unless it found nothing.
fn run(dir: &Path, name: &str, url: &str, token: &str, config: &str, args: &[&str]) {
    let config_path = dir.join(format!("{name}.toml"));
    std::fs::write(&config_path, config).unwrap();
    let out = Command::new(schemathesis())
        // Relative paths it might send end up in the scratch directory.
        .current_dir(dir)
        .env("SCHEMATHESIS_HOOKS", "")
        .arg("--config-file")
        .arg(&config_path)
        .args(["run", url, "--header"])
        .arg(format!("Authorization: Token {token}"))
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            "25",
            "--seed",
            "20261206",
            "--no-color",
        ])
        .args(args)
        .output()
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis ({name}) found contract violations:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really exercised the API (an empty selection also exits 0).
    let generated = report
        .lines()
        .find_map(|l| l.trim().split_once(" generated,"))
        .map(|(n, _)| n)
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    assert!(
        generated >= 500,
        "schemathesis ({name}) ran only {generated} cases:\n{report}"
    );
}

async fn contract(engine: Engine) {
    let roots_dir = tempfile::tempdir().unwrap();
    let roots = roots_dir.path().to_owned();
    let mut h = Harness::start_with(
        engine,
        SimConfig {
            devices: 1,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        },
        |cfg| {
            // Fuzzed locations may only point inside the test's own
            // directories (the harness keeps its repository there too).
            let data = cfg.data_dir.parent().unwrap().to_owned();
            cfg.settings.storage_roots = Some(
                StorageRoots::parse(&format!("{}:{}", roots.display(), data.display())).unwrap(),
            );
            // A fuzzed channel's "send test" waits on nothing for long.
            cfg.settings.notify.delivery_timeout = std::time::Duration::from_secs(2);
        },
    )
    .await;
    // One of each object, so the ids the fuzzer is given exist.
    let (_, devices) = h.inventory().await;
    let ti = h.backup_now(devices[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    h.create(
        "/api/collection-groups/",
        json!({"name": "dc1", "rabbitmq_queue_id": "dc1"}),
    )
    .await;
    h.create("/api/device-groups/", json!({"name": "core"}))
        .await;
    h.create("/api/manufacturers/", json!({"name": "Cisco"}))
        .await;
    h.create("/api/device-types/", json!({"name": "c8000"}))
        .await;
    h.create(
        "/api/backup-schedules/",
        json!({"name": "nightly", "cron": "0 2 * * *", "devices": devices}),
    )
    .await;
    h.create("/api/tokens/", json!({"name": "script"})).await;
    // A channel (its test send refused at once: nothing listens on port 9)
    // and a rule sending to it.
    let channel = h
        .create(
            "/api/notification-channels/",
            json!({"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook",
                   "secret": "contract-test-secret-0123"}),
        )
        .await;
    h.create(
        "/api/notification-rules/",
        json!({"name": "changes", "events": ["config_changed"], "channel": channel["id"]}),
    )
    .await;

    let url = format!("http://{}/api/openapi.json", h.server().addr);
    let config = format!(
        "[parameters]\n\"path.id\" = {id}\n\n\
         [[operations]]\ninclude-name = \"GET /api/jobs/{{task_identifier}}/\"\n\
         parameters = {{ \"path.task_identifier\" = \"{ti}\" }}\n",
        id = devices[0],
    );
    let scratch = roots_dir.path();
    run(
        scratch,
        "keep",
        &url,
        &h.token,
        &config,
        &[
            "--exclude-method",
            "DELETE",
            "--exclude-path",
            "/api/auth/logout/",
            "--exclude-path",
            "/api/auth/sign-out-everywhere/",
            "--exclude-path",
            "/api/auth/password/",
        ],
    );
    run(scratch, "all", &url, &h.token, &config, &[]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_its_openapi_contract_on_sqlite() {
    contract(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_its_openapi_contract_on_postgres() {
    contract(Engine::Postgres).await;
}
