//! The pipeline suite: every scenario runs against an embedded deployment
//! (one process, SQLite, in-process bus) and a distributed one (every role
//! its own OS process over RabbitMQ, Redis Streams and PostgreSQL), through
//! HTTP with simulated devices.

mod suite;

use devicevault_core::Role;
use std::sync::Arc;
use std::time::Duration;

use devicevault_collect::{CollectOptions, DeviceTarget, DriverSet, KnownHosts, collect};
use devicevault_core::layout::shard_of;
use devicevault_core::{StorageBackendKind, Timestamp};
use devicevault_sim::{Faults, SimConfig};
use serde_json::{Value, json};
use suite::harness::{Harness, Mode, SmallDisk, git, url_component};

/// Devices on IOS, EOS and Junos first, then on every other simulated
/// platform (`backup_now_stores_and_downloads` backs one of each up).
fn sim(devices: usize) -> SimConfig {
    let first = ["cisco_ios", "arista_eos", "juniper_junos"];
    let platforms = first
        .into_iter()
        .chain(
            devicevault_sim::platforms()
                .into_iter()
                .filter(|p| !first.contains(p)),
        )
        .map(str::to_owned)
        .collect();
    SimConfig {
        devices,
        platforms,
        password: "Pa55-unique-7f3e9c".into(),
        enable_secret: "En4ble-unique-a81d".into(),
        config_lines: 120,
        ..SimConfig::default()
    }
}

/// Each scenario as a test per deployment.
macro_rules! suite {
    ($($name:ident: $devices:expr;)*) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let mut h = super::Harness::start(super::Mode::Embedded, super::sim($devices)).await;
                    super::$name(&mut h).await;
                    h.stop().await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let mut h = super::Harness::start(super::Mode::Distributed, super::sim($devices)).await;
                    super::$name(&mut h).await;
                    h.stop().await;
                }
            )*
        }
    };
}

suite! {
    backup_now_stores_and_downloads: devicevault_sim::platforms().len();
    unchanged_device_makes_one_commit_and_a_change_makes_another: 1;
    fs_location_keeps_one_file_per_backup: 1;
    renaming_a_device_moves_its_git_file_in_one_commit_that_keeps_its_history: 1;
    renaming_a_device_keeps_its_fs_backups_in_its_directory: 1;
    unreachable_device_fails_with_a_reason_and_no_storage_task: 1;
    unwritable_repository_records_a_storage_failure_with_its_log: 1;
    a_full_disk_fails_the_store_with_its_cause_and_stores_again_once_there_is_room: 1;
    missing_ref_is_a_500_with_details: 1;
    every_route_needs_a_token: 1;
    validation_not_found_conflict_and_permissions: 1;
    lists_paginate: 5;
    a_device_in_a_new_collection_group_is_collected_by_that_group: 1;
    logout_revokes_the_token: 1;
    a_refused_or_cut_off_configuration_fails_the_job_and_the_previous_version_stays_the_latest: 1;
    the_fleet_search_and_the_diff_api_follow_each_new_version: 1;
    a_compliance_state_follows_each_new_version: 1;
    telnet_legacy_only_and_key_only_devices_are_backed_up: 1;
    a_device_reachable_only_through_a_jump_host_is_backed_up: 1;
    a_collection_groups_max_sessions_bounds_its_sessions_at_once: 4;
    a_re_encrypted_fortios_secret_alone_is_no_new_version_and_a_real_change_is: 1;
}

/// The state of `device` under the only compliance rule, once the
/// evaluator (beside the scheduler: `serve`, or the `scheduler` role) has
/// evaluated `stored_backup`.
async fn compliance_at(h: &mut Harness, device: i64, stored_backup: i64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let v = h.call("GET", "/api/compliance/", None).await.json();
        if let Some(s) = v["results"].as_array().and_then(|r| {
            r.iter()
                .find(|s| s["device"] == device && s["stored_backup"] == stored_backup)
        }) {
            return s.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stored backup {stored_backup} never evaluated: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn a_compliance_state_follows_each_new_version(h: &mut Harness) {
    let (_, ids) = h.inventory().await;
    let id = ids[0];
    let r = h
        .call(
            "POST",
            "/api/compliance-rules/",
            Some(json!({"name": "no rev1", "pattern": "link-0 rev1", "expectation": "must_not_contain"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let first = h.list(&format!("/api/stored-backups/?device={id}")).await[0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(compliance_at(h, id, first).await["state"], "compliant");
    h.sim.devices()[0].change_config();
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let second = h.list(&format!("/api/stored-backups/?device={id}")).await[0]["id"]
        .as_i64()
        .unwrap();
    let s = compliance_at(h, id, second).await;
    assert_eq!(s["state"], "non_compliant", "{s}");
    assert!(
        s["detail"].as_str().unwrap().starts_with("1 matching line"),
        "{s}"
    );
}

/// What the collection engine gets from the device (after the driver's
/// filters), fetched independently of the server.
async fn device_config(h: &Harness, i: usize) -> Vec<u8> {
    let d = &h.sim.devices()[i];
    let mut t = DeviceTarget::password(
        "127.0.0.1",
        d.port(),
        d.username(),
        d.password(),
        d.platform(),
    );
    t.enable_secret = Some(devicevault_collect::Secret::new(d.enable_secret()));
    // FortiOS's REST API token, as the harness's API credential holds it.
    if d.platform() == "fortinet_fortios_api" {
        t.api_key = Some(devicevault_collect::Secret::new(d.password()));
    }
    let opts = CollectOptions::new(Arc::new(KnownHosts::in_memory()));
    collect(&t, &DriverSet::builtin(), &opts)
        .await
        .unwrap()
        .config
}

/// Lowercase hex SHA-256, as the stored backup records it.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `config/bigip.conf` of a BIG-IP UCS archive (a gzip'd tar).
fn ucs_bigip_conf(ucs: &[u8]) -> String {
    use std::io::Read as _;
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(ucs)
        .read_to_end(&mut tar)
        .unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some("config/bigip.conf") {
            let mut text = String::new();
            e.read_to_string(&mut text).unwrap();
            return text;
        }
    }
    panic!("a UCS without config/bigip.conf")
}

async fn backup_now_stores_and_downloads(h: &mut Harness) {
    let (_, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    assert!(ti.starts_with(&format!("backup_now:{}:", ids[0])), "{ti}");
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "stored", "{job}");

    let results = h
        .list(&format!("/api/backup-results/?device={}", ids[0]))
        .await;
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["status"], "success", "{r}");
    assert_eq!(r["task_identifier"], ti.as_str());
    for field in [
        "id",
        "device",
        "task_id",
        "timestamp",
        "log",
        "collection_duration_ms",
    ] {
        assert!(!r[field].is_null(), "backup result lacks {field}: {r}");
    }

    let stored = h
        .list(&format!("/api/stored-backups/?device={}", ids[0]))
        .await;
    assert_eq!(stored.len(), 1);
    let s = &stored[0];
    assert_eq!(s["status"], "success", "{s}");
    assert_eq!(s["storage_backend"], "git");
    assert_eq!(s["changed"], true);
    let sref = s["storage_ref"].as_str().unwrap();
    // A new location is fanout (issue 21): `<shard>/<device id>/…`.
    assert!(
        sref.starts_with(&format!("main:{}/{}/", shard_of(ids[0]), ids[0]))
            && sref.contains(".cfg@"),
        "{sref}"
    );
    for field in [
        "id",
        "device",
        "task_id",
        "task_identifier",
        "timestamp",
        "log",
        "size",
        "sha256",
    ] {
        assert!(!s[field].is_null(), "stored backup lacks {field}: {s}");
    }

    let id = s["id"].as_i64().unwrap();
    let one = h
        .call("GET", &format!("/api/stored-backups/{id}/"), None)
        .await;
    assert_eq!(one.json(), *s);
    let dl = h
        .call("GET", &format!("/api/stored-backups/{id}/download/"), None)
        .await;
    assert_eq!(dl.status, 200);
    assert!(
        dl.header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(dl.header("content-type"), Some("text/plain; charset=utf-8"));
    let expected = device_config(h, 0).await;
    assert_eq!(dl.body, expected, "the download is what the device sent");
    assert_eq!(s["size"].as_u64().unwrap(), expected.len() as u64);
    // The download is in the audit log, whichever process served it.
    let read = h
        .list(&format!(
            "/api/audit/?action=stored-backups.download&object_id={id}"
        ))
        .await;
    assert_eq!(read.len(), 1, "{read:?}");
    assert!(read[0]["actor"].is_string() && read[0]["address"].is_string());

    // Git keeps one file per device: its history is the device's history.
    let log = git(&h.repo_path(), &["log", "--oneline", "main"]);
    assert_eq!(log.lines().count(), 1, "{log}");
    git(&h.repo_path(), &["fsck", "--strict"]);

    // A device of every other platform, each with its built-in driver: the
    // download is what the device sent.
    for (i, id) in ids.iter().enumerate().skip(1) {
        let platform = h.sim.devices()[i].platform().to_owned();
        let ti = h.backup_now(*id).await;
        let job = h.wait_job(&ti).await;
        assert_eq!(job["state"], "stored", "{platform}: {job}");
        let stored = h.list(&format!("/api/stored-backups/?device={id}")).await;
        assert_eq!(stored.len(), 1, "{platform}");
        let sid = stored[0]["id"].as_i64().unwrap();
        let dl = h
            .call("GET", &format!("/api/stored-backups/{sid}/download/"), None)
            .await;
        assert_eq!(dl.status, 200, "{platform}");
        let expected = device_config(h, i).await;
        assert_eq!(
            dl.body, expected,
            "{platform}: the download is what the device sent"
        );
        let name = h.sim.devices()[i].name().to_owned();
        // A binary driver's backup (BIG-IP's UCS archive) is stored and
        // downloaded byte for byte: its configuration is inside the archive.
        let binary = platform == "f5_tmos_ucs";
        assert_eq!(stored[0]["is_binary"], binary, "{platform}");
        let text = if binary {
            assert_eq!(dl.header("content-type"), Some("application/octet-stream"));
            assert_eq!(stored[0]["size"], dl.body.len() as u64);
            assert_eq!(
                stored[0]["sha256"].as_str(),
                Some(sha256_hex(&dl.body).as_str())
            );
            ucs_bigip_conf(&dl.body)
        } else {
            String::from_utf8_lossy(&dl.body).into_owned()
        };
        assert!(
            text.contains(&name),
            "{platform}: the device's own configuration"
        );
    }
    let platforms: std::collections::BTreeSet<_> =
        h.sim.devices().iter().map(|d| d.platform()).collect();
    assert_eq!(platforms.len(), devicevault_sim::platforms().len());
    assert_eq!(
        git(&h.repo_path(), &["rev-list", "--count", "main"]).trim(),
        ids.len().to_string()
    );
}

async fn unchanged_device_makes_one_commit_and_a_change_makes_another(h: &mut Harness) {
    let (_, ids) = h.inventory().await;
    for _ in 0..2 {
        let ti = h.backup_now(ids[0]).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }
    assert_eq!(
        git(&h.repo_path(), &["rev-list", "--count", "main"]).trim(),
        "1"
    );
    let stored = h
        .list(&format!("/api/stored-backups/?device={}", ids[0]))
        .await;
    assert_eq!(stored.len(), 2);
    // Newest first: the second backup changed nothing.
    assert_eq!(stored[0]["changed"], false, "{}", stored[0]);
    assert_eq!(stored[1]["changed"], true);
    assert_eq!(stored[0]["storage_ref"], stored[1]["storage_ref"]);

    h.sim.devices()[0].change_config();
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    assert_eq!(
        git(&h.repo_path(), &["rev-list", "--count", "main"]).trim(),
        "2"
    );
    let stored = h
        .list(&format!("/api/stored-backups/?device={}", ids[0]))
        .await;
    assert_eq!(stored[0]["changed"], true);
    assert_ne!(stored[0]["storage_ref"], stored[1]["storage_ref"]);
    // Both versions stay downloadable and differ.
    let mut bodies = Vec::new();
    for s in &stored[..2] {
        let id = s["id"].as_i64().unwrap();
        let dl = h
            .call("GET", &format!("/api/stored-backups/{id}/download/"), None)
            .await;
        assert_eq!(dl.status, 200);
        bodies.push(dl.body);
    }
    assert_ne!(bodies[0], bodies[1]);
}

async fn fs_location_keeps_one_file_per_backup(h: &mut Harness) {
    let base = h.dir.path().join("fs-backups");
    let id = device_on_own_location(h, "fs", json!({"base_path": base})).await;
    let mut tis = Vec::new();
    for _ in 0..2 {
        let ti = h.backup_now(id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
        tis.push(ti);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let files: Vec<_> = std::fs::read_dir(base.join(id.to_string()))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 2, "one file per backup");
    let stored = h.list(&format!("/api/stored-backups/?device={id}")).await;
    for s in &stored {
        assert_eq!(s["storage_backend"], "fs");
        let r = s["storage_ref"].as_str().unwrap();
        assert!(
            r.starts_with(&format!("{id}/backup_now")) && r.ends_with(".txt"),
            "{r}"
        );
        let sid = s["id"].as_i64().unwrap();
        let dl = h
            .call("GET", &format!("/api/stored-backups/{sid}/download/"), None)
            .await;
        assert_eq!(dl.status, 200);
        assert_eq!(dl.body, std::fs::read(base.join(r)).unwrap());
    }
}

/// The path part of a git `storage_ref` (`main:<path>@<sha>`).
fn ref_path(storage_ref: &Value) -> String {
    let r = storage_ref.as_str().unwrap();
    let (_, rest) = r.split_once(':').unwrap();
    rest.rsplit_once('@').unwrap().0.to_owned()
}

async fn rename(h: &mut Harness, id: i64, name: &str) {
    let r = h
        .call(
            "PATCH",
            &format!("/api/devices/{id}/"),
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["name"], name);
}

async fn renaming_a_device_moves_its_git_file_in_one_commit_that_keeps_its_history(
    h: &mut Harness,
) {
    let (_, ids) = h.inventory().await;
    let id = ids[0];
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    rename(h, id, "core renamed").await;
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");

    let stored = h.list(&format!("/api/stored-backups/?device={id}")).await;
    assert_eq!(stored.len(), 2);
    let (old, new) = (
        ref_path(&stored[1]["storage_ref"]),
        ref_path(&stored[0]["storage_ref"]),
    );
    assert_eq!(new, format!("{}/{id}/core_renamed.cfg", shard_of(id)));
    assert_ne!(old, new);
    assert_eq!(
        stored[0]["changed"], false,
        "the configuration did not change: {}",
        stored[0]
    );
    assert!(
        stored[0]["log"]
            .to_string()
            .contains(&format!("moved from {old}")),
        "{}",
        stored[0]["log"]
    );
    // One more commit, which moves the file.
    let repo = h.repo_path();
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "2");
    let tree = git(&repo, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(tree.lines().any(|l| l == new), "{tree}");
    assert!(
        !tree.lines().any(|l| l == old),
        "the old path is gone: {tree}"
    );
    assert_eq!(
        git(
            &repo,
            &["diff-tree", "-r", "-M", "--name-status", "main~1", "main"]
        )
        .trim(),
        format!("R100\t{old}\t{new}")
    );
    let follow = git(
        &repo,
        &["log", "--follow", "--format=%H", "main", "--", &new],
    );
    assert_eq!(follow.lines().count(), 2, "both versions: {follow}");
    git(&repo, &["fsck", "--strict"]);
    // Both versions download, and they are what the device sent.
    let expected = device_config(h, 0).await;
    for s in &stored {
        let sid = s["id"].as_i64().unwrap();
        let dl = h
            .call("GET", &format!("/api/stored-backups/{sid}/download/"), None)
            .await;
        assert_eq!(dl.status, 200, "{}", String::from_utf8_lossy(&dl.body));
        assert_eq!(dl.body, expected);
    }
}

async fn renaming_a_device_keeps_its_fs_backups_in_its_directory(h: &mut Harness) {
    let base = h.dir.path().join("fs-backups");
    let id = device_on_own_location(h, "fs", json!({"base_path": base})).await;
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    rename(h, id, "renamed").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");

    // One directory per device id, whatever its name.
    let dirs: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(dirs, [id.to_string()]);
    assert_eq!(
        std::fs::read_dir(base.join(id.to_string()))
            .unwrap()
            .count(),
        2
    );
    let stored = h.list(&format!("/api/stored-backups/?device={id}")).await;
    assert_eq!(stored.len(), 2);
    let expected = device_config(h, 0).await;
    for s in &stored {
        // Each fs backup is a file of its own: written, so changed.
        assert_eq!(s["changed"], true, "{s}");
        assert!(!s["log"].to_string().contains("moved from"), "{s}");
        let r = s["storage_ref"].as_str().unwrap();
        assert!(r.starts_with(&format!("{id}/")), "{r}");
        let sid = s["id"].as_i64().unwrap();
        let dl = h
            .call("GET", &format!("/api/stored-backups/{sid}/download/"), None)
            .await;
        assert_eq!(dl.status, 200);
        assert_eq!(dl.body, expected);
    }
}

async fn unreachable_device_fails_with_a_reason_and_no_storage_task(h: &mut Harness) {
    let (_, ids) = h.inventory().await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let r = h
        .call(
            "PATCH",
            &format!("/api/devices/{}/", ids[0]),
            Some(json!({"port": port})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let ti = h.backup_now(ids[0]).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "failed");
    let reason = job["reason"].as_str().unwrap();
    assert!(
        reason.contains(&port.to_string()),
        "the reason names the target: {reason}"
    );
    let results = h
        .list(&format!("/api/backup-results/?device={}", ids[0]))
        .await;
    assert_eq!(results[0]["status"], "failure");
    let log = results[0]["log"].to_string();
    assert!(log.contains("refused") || log.contains("connect"), "{log}");
    assert!(
        h.list(&format!("/api/stored-backups/?device={}", ids[0]))
            .await
            .is_empty()
    );
}

/// The first simulated device, backed up to a location of its own
/// (`location_type`, `config`). Returns the device's id.
async fn device_on_own_location(h: &mut Harness, location_type: &str, config: Value) -> i64 {
    let loc = h
        .create(
            "/api/backup-locations/",
            json!({"name": "own", "location_type": location_type, "config": config}),
        )
        .await;
    let d = h.sim.devices()[0].clone();
    let cred = h
        .create("/api/credentials/", json!({"name": "c", "username": d.username(), "password": d.password(), "enable_secret": d.enable_secret()}))
        .await;
    let dev = h
        .create("/api/devices/", json!({"name": "d", "address": "127.0.0.1", "port": d.port(), "driver": d.platform(), "credential": cred["id"], "backup_location": loc["id"]}))
        .await;
    dev["id"].as_i64().unwrap()
}

async fn unwritable_repository_records_a_storage_failure_with_its_log(h: &mut Harness) {
    // The repository path is a regular file: nothing can be written there.
    let blocker = h.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let id = device_on_own_location(h, "git", json!({"repo_path": blocker.join("repo.git")})).await;
    let ti = h.backup_now(id).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "failed", "{job}");
    let results = h.list(&format!("/api/backup-results/?device={id}")).await;
    assert_eq!(results[0]["status"], "success", "collection itself worked");
    let stored = h.list(&format!("/api/stored-backups/?device={id}")).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["status"], "failure");
    let log = stored[0]["log"].to_string();
    assert!(log.contains("store failed"), "{log}");
    assert!(log.contains("not-a-dir"), "the log names the path: {log}");
    // Nothing to download from a failed store.
    let sid = stored[0]["id"].as_i64().unwrap();
    let dl = h
        .call("GET", &format!("/api/stored-backups/{sid}/download/"), None)
        .await;
    assert_eq!(dl.status, 409, "{}", String::from_utf8_lossy(&dl.body));
}

async fn a_full_disk_fails_the_store_with_its_cause_and_stores_again_once_there_is_room(
    h: &mut Harness,
) {
    let disk = SmallDisk::mount("4m");
    let repo = disk.path().join("repo.git");
    let id = device_on_own_location(h, "git", json!({"repo_path": repo})).await;
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");

    // The disk fills up; the device's configuration changes.
    let filler = disk.fill();
    h.sim.devices()[0].change_config();
    let ti = h.backup_now(id).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "failed", "{job}");
    let reason = job["reason"].to_string();
    assert!(
        reason.contains("No space left on device"),
        "the job says why: {reason}"
    );
    let stored = h.list(&format!("/api/stored-backups/?device={id}")).await;
    assert_eq!(stored.len(), 2, "one record per job, the failure included");
    assert_eq!(stored[0]["status"], "failure");
    let log = stored[0]["log"].to_string();
    assert!(log.contains("No space left on device"), "{log}");
    // The first version is intact and still downloads.
    let first = stored[1]["id"].as_i64().unwrap();
    let dl = h
        .call(
            "GET",
            &format!("/api/stored-backups/{first}/download/"),
            None,
        )
        .await;
    assert_eq!(dl.status, 200, "{}", String::from_utf8_lossy(&dl.body));

    // Room again: the next backup stores the changed configuration.
    std::fs::remove_file(filler).unwrap();
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let stored = h.list(&format!("/api/stored-backups/?device={id}")).await;
    assert_eq!(stored[0]["changed"], true);
    let newest = stored[0]["id"].as_i64().unwrap();
    let dl = h
        .call(
            "GET",
            &format!("/api/stored-backups/{newest}/download/"),
            None,
        )
        .await;
    assert_eq!(dl.status, 200);
    assert_eq!(dl.body, device_config(h, 0).await);
    git(&repo, &["fsck", "--strict"]);
    assert_eq!(git(&repo, &["rev-list", "--count", "main"]).trim(), "2");
}

async fn missing_ref_is_a_500_with_details(h: &mut Harness) {
    let (loc, ids) = h.inventory().await;
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    // An index row pointing at a commit the repository does not have.
    let db = h.db.clone();
    db.record_stored_backup(&devicevault_db::NewStoredBackup {
        task_id: "t".into(),
        task_identifier: "made-up".into(),
        device_id: ids[0],
        storage_backend: StorageBackendKind::Git,
        storage_ref: format!("main:{}/x.cfg@{}", ids[0], "ab".repeat(20)),
        status: devicevault_core::Status::Success,
        timestamp: Timestamp::now(),
        log: "[]".into(),
        location_id: Some(loc),
        size: Some(1),
        sha256: None,
        changed: Some(true),
        is_binary: false,
    })
    .await
    .unwrap();
    let stored = h
        .list(&format!("/api/stored-backups/?device={}", ids[0]))
        .await;
    let bad = stored
        .iter()
        .find(|s| s["task_identifier"] == "made-up")
        .unwrap();
    let r = h
        .call(
            "GET",
            &format!("/api/stored-backups/{}/download/", bad["id"]),
            None,
        )
        .await;
    assert_eq!(r.status, 500);
    let v = r.json();
    assert_eq!(v["error"], "retrieval_failed", "{v}");
    assert!(v["detail"].as_str().unwrap().contains("abab"), "{v}");
}

async fn every_route_needs_a_token(h: &mut Harness) {
    let (_, ids) = h.inventory().await;
    let id = ids[0];
    let routes: Vec<(&str, String)> = vec![
        ("GET", "/api/devices/".into()),
        ("POST", "/api/devices/".into()),
        ("GET", format!("/api/devices/{id}/")),
        ("PUT", format!("/api/devices/{id}/")),
        ("PATCH", format!("/api/devices/{id}/")),
        ("DELETE", format!("/api/devices/{id}/")),
        ("POST", format!("/api/devices/{id}/backup_now/")),
        ("GET", "/api/backup-locations/".into()),
        ("POST", "/api/backup-locations/".into()),
        ("GET", "/api/backup-locations/1/".into()),
        ("DELETE", "/api/backup-locations/1/".into()),
        ("GET", "/api/credentials/".into()),
        ("POST", "/api/credentials/".into()),
        ("GET", "/api/credentials/1/".into()),
        ("PATCH", "/api/credentials/1/".into()),
        ("GET", "/api/collection-groups/".into()),
        ("POST", "/api/collection-groups/".into()),
        ("GET", "/api/collection-groups/1/".into()),
        ("GET", "/api/device-groups/".into()),
        ("POST", "/api/device-groups/".into()),
        ("GET", "/api/device-types/".into()),
        ("POST", "/api/device-types/".into()),
        ("GET", "/api/backup-results/".into()),
        ("GET", "/api/jobs/x/".into()),
        ("GET", "/api/stored-backups/".into()),
        ("GET", "/api/stored-backups/1/".into()),
        ("GET", "/api/stored-backups/1/download/".into()),
        ("GET", "/api/backup-schedules/".into()),
        ("POST", "/api/backup-schedules/".into()),
    ];
    for token in [
        None,
        Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
    ] {
        h.api.token = token.clone();
        for (method, path) in &routes {
            let r = h.call(method, path, Some(json!({}))).await;
            assert_eq!(r.status, 401, "{method} {path} with {token:?}");
            assert_eq!(r.json()["error"], "not_authenticated");
        }
    }
    h.api.token = None;
    assert_eq!(h.call("GET", "/api/health/", None).await.status, 200);
}

async fn validation_not_found_conflict_and_permissions(h: &mut Harness) {
    let (loc, ids) = h.inventory().await;
    // 400 with field errors.
    let r = h
        .call("POST", "/api/devices/", Some(json!({"name": "", "address": "a b", "port": 0, "driver": "nope", "credential": 999})))
        .await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"], "validation");
    for field in ["name", "address", "port", "driver", "credential"] {
        assert!(v["detail"][field].is_array(), "{field}: {v}");
    }
    let r = h.call("POST", "/api/devices/", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_json");
    let r = h
        .call(
            "POST",
            "/api/backup-locations/",
            Some(json!({"name": "x", "location_type": "svn", "config": {}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json());
    let r = h
        .call("POST", "/api/backup-locations/", Some(json!({"name": "x", "location_type": "git", "config": {"repo_path": "relative/path"}})))
        .await;
    assert_eq!(r.status, 400, "{}", r.json());
    let r = h
        .call("POST", "/api/backup-locations/", Some(json!({"name": "x", "location_type": "git", "config": {"repo_path": "/tmp/x", "colour": "red"}})))
        .await;
    assert_eq!(
        r.status,
        400,
        "unknown config keys are refused: {}",
        r.json()
    );
    let r = h
        .call(
            "POST",
            "/api/credentials/",
            Some(json!({"name": "nopw", "username": "u"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]["password"].is_array());
    // 404.
    for path in [
        "/api/devices/99999/",
        "/api/devices/abc/",
        "/api/stored-backups/99999/download/",
        "/api/jobs/nope/",
        "/api/nothing/",
    ] {
        let r = h.call("GET", path, None).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["error"], "not_found", "{path}");
    }
    // 409: duplicate name; location still used by a device.
    let r = h
        .call("POST", "/api/device-groups/", Some(json!({"name": "core"})))
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .call("POST", "/api/device-groups/", Some(json!({"name": "core"})))
        .await;
    assert_eq!(r.status, 409, "{}", r.json());
    let r = h
        .call("DELETE", &format!("/api/backup-locations/{loc}/"), None)
        .await;
    assert_eq!(r.status, 409, "{}", r.json());
    // A disabled device is not backed up.
    let r = h
        .call(
            "PATCH",
            &format!("/api/devices/{}/", ids[0]),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.json()["enabled"], false);
    let r = h
        .call(
            "POST",
            &format!("/api/devices/{}/backup_now/", ids[0]),
            None,
        )
        .await;
    assert_eq!(r.status, 409);
    // 403: a read-only user reads, cannot change.
    let db = h.db.clone();
    let hash = devicevault_pipeline::app::auth::hash_password("viewer-password").unwrap();
    db.create_user("viewer", &hash, Role::Reader).await.unwrap();
    let r = h
        .call(
            "POST",
            "/api/auth/login/",
            Some(json!({"username": "viewer", "password": "viewer-password"})),
        )
        .await;
    h.api.token = Some(r.json()["token"].as_str().unwrap().to_owned());
    assert_eq!(h.call("GET", "/api/devices/", None).await.status, 200);
    let r = h
        .call("POST", "/api/device-groups/", Some(json!({"name": "edge"})))
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "permission_denied");
    // Wrong password.
    h.api.token = None;
    let r = h
        .call(
            "POST",
            "/api/auth/login/",
            Some(json!({"username": "viewer", "password": "wrong"})),
        )
        .await;
    assert_eq!(r.status, 401);
}

async fn lists_paginate(h: &mut Harness) {
    h.inventory().await;
    let r = h.call("GET", "/api/devices/?page_size=2", None).await;
    let v = r.json();
    assert_eq!(v["count"], 5);
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    assert!(v["previous"].is_null());
    let next = v["next"].as_str().unwrap();
    assert!(
        next.contains("page=2") && next.contains("page_size=2"),
        "{next}"
    );
    let r = h
        .call("GET", "/api/devices/?page_size=2&page=3", None)
        .await;
    let v = r.json();
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
    assert!(v["next"].is_null());
    assert!(v["previous"].as_str().unwrap().contains("page=2"));
    assert_eq!(
        h.call("GET", "/api/devices/?page=0", None).await.status,
        400
    );
    assert_eq!(
        h.call("GET", "/api/devices/?page_size=5000", None)
            .await
            .status,
        400
    );
    let names: Vec<Value> = h
        .list("/api/devices/?name=r000")
        .await
        .iter()
        .map(|d| d["name"].clone())
        .collect();
    assert!(!names.is_empty());
}

async fn a_device_in_a_new_collection_group_is_collected_by_that_group(h: &mut Harness) {
    let (_, ids) = h.inventory().await;
    let g = h
        .create(
            "/api/collection-groups/",
            json!({"name": "DMZ", "rabbitmq_queue_id": "dmz"}),
        )
        .await;
    assert_eq!(g["queue"], "collector.group.dmz");
    let r = h
        .call(
            "PATCH",
            &format!("/api/devices/{}/", ids[0]),
            Some(json!({"collection_group": g["id"]})),
        )
        .await;
    assert_eq!(r.json()["collection_group"], g["id"]);
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
}

async fn logout_revokes_the_token(h: &mut Harness) {
    assert_eq!(h.call("GET", "/api/devices/", None).await.status, 200);
    assert_eq!(h.call("POST", "/api/auth/logout/", None).await.status, 204);
    assert_eq!(h.call("GET", "/api/devices/", None).await.status, 401);
}

/// Never store a refusal as a configuration (#12): an AAA refusal the
/// driver knows, one it does not, and an output cut short with a clean
/// prompt each fail the job permanently with the reason; the previous
/// version stays the latest, and the web UI shows why.
async fn a_refused_or_cut_off_configuration_fails_the_job_and_the_previous_version_stays_the_latest(
    h: &mut Harness,
) {
    let (_, ids) = h.inventory().await;
    let id = ids[0];
    let d = h.sim.devices()[0].clone();
    assert_eq!(d.platform(), "cisco_ios");
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let before = h.list(&format!("/api/stored-backups/?device={id}")).await;
    assert_eq!(before.len(), 1);
    let good_id = before[0]["id"].as_i64().unwrap();
    let good = h
        .call(
            "GET",
            &format!("/api/stored-backups/{good_id}/download/"),
            None,
        )
        .await
        .body;
    let commits = git(&h.repo_path(), &["rev-list", "--count", "main"]);

    let half = d.running_config().len() / 2;
    let cases = [
        // IOS's own text under TACACS+ command authorization.
        (
            Faults {
                refuse_config_command: Some("Command authorization failed.".into()),
                ..Faults::default()
            },
            "Command authorization failed.",
        ),
        // A refusal no pattern knows.
        (
            Faults {
                refuse_config_command: Some(
                    "% Access to this command is denied by site policy".into(),
                ),
                ..Faults::default()
            },
            "did not send a complete configuration",
        ),
        // Half the configuration, then the prompt as if it were whole.
        (
            Faults {
                truncate_after_bytes: Some(half),
                ..Faults::default()
            },
            "did not send a complete configuration",
        ),
    ];
    for (faults, why) in cases {
        d.set_faults(faults);
        // A new configuration on the device: a stored fragment would be a
        // new version, not a no-op.
        d.change_config();
        let sessions = d.sessions();
        let ti = h.backup_now(id).await;
        let job = h.wait_job(&ti).await;
        assert_eq!(job["state"], "failed", "{job}");
        let reason = job["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{why}: {reason}");
        assert_eq!(
            d.sessions(),
            sessions + 1,
            "{why}: a permanent failure is not retried"
        );

        let after = h.list(&format!("/api/stored-backups/?device={id}")).await;
        assert_eq!(after.len(), 1, "{why}: nothing stored");
        assert_eq!(after[0]["id"], before[0]["id"]);
        assert_eq!(after[0]["storage_ref"], before[0]["storage_ref"]);
        assert_eq!(
            git(&h.repo_path(), &["rev-list", "--count", "main"]),
            commits,
            "{why}: no commit"
        );
        let dl = h
            .call(
                "GET",
                &format!("/api/stored-backups/{good_id}/download/"),
                None,
            )
            .await;
        assert_eq!(dl.status, 200);
        assert_eq!(dl.body, good, "{why}: the previous version still downloads");
        let results = h.list(&format!("/api/backup-results/?device={id}")).await;
        assert_eq!(results[0]["task_identifier"], ti.as_str());
        assert_eq!(results[0]["status"], "failure");

        // The web UI: the job's page and the device's page say why.
        let fragment = why.replace('&', "&amp;");
        let (status, page) = h.web_page(&format!("/jobs/{}", url_component(&ti))).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains(&fragment),
            "{why}: not on the job page:\n{page}"
        );
        let (status, page) = h.web_page(&format!("/devices/{id}")).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("failed"),
            "{why}: the device page shows no failure"
        );
    }
    d.set_faults(Faults::default());
}

/// Issue 17 in both deployments: the search answers from the latest
/// version as the database names it (in distributed mode the API process
/// is not the one that records new versions, and its cache must follow);
/// the web search page and the CLI give the same answer; the diff API
/// shows what changed, with the web compare page's rows.
async fn the_fleet_search_and_the_diff_api_follow_each_new_version(h: &mut Harness) {
    let (_, ids) = h.inventory().await;
    let id = ids[0];
    let name = h.sim.devices()[0].name().to_owned();
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let first = h.list(&format!("/api/stored-backups/?device={id}")).await[0]["id"]
        .as_i64()
        .unwrap();
    let search = |q: &str| format!("/api/search/?q={}", url_component(q));
    let r = h
        .call("GET", &search("description link-0 rev0"), None)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["results"][0]["stored_backup"], first, "{v}");
    let line = v["results"][0]["matches"][0]["line_number"]
        .as_u64()
        .unwrap();
    let (status, html) = h.web_page("/search?q=link-0+rev0").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!("/backups/{first}#L{line}")),
        "the web page links to the line: {html}"
    );

    // A new version: the search follows it at once.
    h.sim.devices()[0].change_config();
    let ti = h.backup_now(id).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let second = h.list(&format!("/api/stored-backups/?device={id}")).await[0]["id"]
        .as_i64()
        .unwrap();
    assert_ne!(first, second);
    let v = h.call("GET", &search("link-0 rev1"), None).await.json();
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["results"][0]["stored_backup"], second, "{v}");
    let v = h.call("GET", &search("link-0 rev0"), None).await.json();
    assert_eq!(v["count"], 0, "the old version is no longer searched: {v}");

    // The CLI, for scripts: grep-like lines, exit 1 when nothing matches.
    let cli = |q: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_devicevault"))
            .args(["search", "--url", &format!("http://{}", h.addr), q])
            .env("DEVICEVAULT_TOKEN", &h.token)
            .output()
            .unwrap()
    };
    let out = cli("link-0 rev1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("{name}:")) && stdout.contains(" description link-0 rev1"),
        "{stdout}"
    );
    assert_eq!(cli("no such line anywhere").status.code(), Some(1));

    // The diff of the two versions, by ids and by time.
    for path in [
        format!("/api/stored-backups/{first}/diff/{second}/"),
        format!("/api/devices/{id}/diff/?from={first}"),
    ] {
        let r = h.call("GET", &path, None).await;
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.header("content-type").unwrap().starts_with("text/x-diff"));
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            text.contains("\n- description link-0 rev0\n+ description link-0 rev1\n"),
            "{text}"
        );
    }
    let r = h
        .api
        .request_with(
            "GET",
            &format!("/api/stored-backups/{first}/diff/{second}/"),
            None,
            &[("accept", "application/json")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let diff = r.json();
    assert_eq!(diff["old"]["stored_backup"], first, "{diff}");
    assert!(diff["stats"]["added"].as_u64().unwrap() >= 1, "{diff}");
    // The same rows as the web compare page, byte for byte once rendered.
    let (status, html) = h
        .web_page(&format!("/devices/{id}/compare?a={first}&b={second}"))
        .await;
    assert_eq!(status, 200, "{html}");
    let start = html.find("<tbody>").unwrap() + "<tbody>".len();
    let page_rows = &html[start..start + html[start..].find("</tbody>").unwrap()];
    let api_rows = rows_of(&diff);
    let rendered = devicevault_http::web::diff::rows_markup(&api_rows).into_string();
    assert_eq!(rendered, page_rows);
}

/// One side of a row of the diff API's JSON.
fn side(v: &Value) -> Option<devicevault_pipeline::app::diff::Side<'_>> {
    (!v.is_null()).then(|| devicevault_pipeline::app::diff::Side {
        number: v["number"].as_u64().unwrap() as usize,
        text: v["text"].as_str().unwrap(),
        marks: v["changes"].as_array().map(|c| {
            c.iter()
                .map(|r| r["start"].as_u64().unwrap() as usize..r["end"].as_u64().unwrap() as usize)
                .collect()
        }),
    })
}

/// The compare page's rows, rebuilt from the diff API's JSON hunks.
fn rows_of(diff: &Value) -> Vec<devicevault_pipeline::app::diff::Row<'_>> {
    use devicevault_pipeline::app::diff::Row;
    let mut rows = Vec::new();
    let (mut old_pos, mut new_pos) = (0, 0);
    let skipped = |count: u64, old_pos: usize, new_pos: usize| Row::Skipped {
        count: count as usize,
        old_from: old_pos + 1,
        new_from: new_pos + 1,
    };
    for h in diff["hunks"].as_array().unwrap() {
        let before = h["skipped_before"].as_u64().unwrap();
        if before > 0 {
            rows.push(skipped(before, old_pos, new_pos));
            old_pos += before as usize;
            new_pos += before as usize;
        }
        for r in h["rows"].as_array().unwrap() {
            let (old, new) = (side(&r["old"]), side(&r["new"]));
            if let Some(o) = &old {
                old_pos = o.number;
            }
            if let Some(n) = &new {
                new_pos = n.number;
            }
            rows.push(match (r["kind"].as_str().unwrap(), old, new) {
                ("same", Some(o), Some(n)) => Row::Same {
                    old_number: o.number,
                    new_number: n.number,
                    text: o.text,
                },
                (_, old, new) => Row::Changed { old, new },
            });
        }
    }
    let after = diff["skipped_after"].as_u64().unwrap();
    if after > 0 {
        rows.push(skipped(after, old_pos, new_pos));
    }
    rows
}

/// Retention in each deployment: "prune now" through the API removes the
/// index rows at once, and the scheduler's retention pass (in `serve`, or
/// the `scheduler` role asking the fs storage worker with `storage.remove`
/// over the bus) deletes the pruned files after the grace period; the
/// version kept still downloads.
async fn retention_prunes_the_index_and_the_scheduler_removes_the_files(mode: Mode) {
    let env = vec![
        (
            "DEVICEVAULT_RETENTION_INTERVAL".to_owned(),
            "200ms".to_owned(),
        ),
        ("DEVICEVAULT_RETENTION_GRACE".to_owned(), "100ms".to_owned()),
    ];
    let mut h = Harness::start_with(mode, sim(1), env).await;
    let base = h.dir.path().join("fs-retention");
    let id = device_on_own_location(&mut h, "fs", json!({"base_path": base})).await;
    for _ in 0..3 {
        let ti = h.backup_now(id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let files = |base: &std::path::Path| {
        std::fs::read_dir(base.join(id.to_string()))
            .unwrap()
            .count()
    };
    assert_eq!(files(&base), 3);
    let loc = h
        .call("GET", &format!("/api/devices/{id}/"), None)
        .await
        .json()["backup_location"]
        .as_i64()
        .unwrap();
    let set = h
        .call(
            "PUT",
            &format!("/api/backup-locations/{loc}/retention/"),
            Some(json!({"keep_last": 1})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", String::from_utf8_lossy(&set.body));
    // Versions named by events the notifier has not planned yet are kept
    // until it has; the scheduler's own pass (every 200 ms here) may prune
    // them first, so "prune now" is asked until the index keeps one.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let kept = loop {
        let run = h
            .call(
                "POST",
                &format!("/api/backup-locations/{loc}/retention/run/"),
                None,
            )
            .await;
        assert_eq!(run.status, 200, "{}", String::from_utf8_lossy(&run.body));
        let kept = h.list(&format!("/api/stored-backups/?device={id}")).await;
        if kept.len() == 1 {
            break kept;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} versions left: {}",
            kept.len(),
            String::from_utf8_lossy(&run.body)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The files go with the scheduler's next passes.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while files(&base) > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} files left",
            files(&base)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sid = kept[0]["id"].as_i64().unwrap();
    let dl = h
        .call("GET", &format!("/api/stored-backups/{sid}/download/"), None)
        .await;
    assert_eq!(dl.status, 200);
    assert_eq!(
        dl.body,
        std::fs::read(base.join(kept[0]["storage_ref"].as_str().unwrap())).unwrap()
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_pruned_files_embedded() {
    retention_prunes_the_index_and_the_scheduler_removes_the_files(Mode::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_pruned_files_distributed() {
    retention_prunes_the_index_and_the_scheduler_removes_the_files(Mode::Distributed).await;
}

/// The encrypted OpenSSH key `ssh-keygen` made for the tests, its
/// passphrase and the fingerprint `ssh-keygen -l` prints for it.
const TEST_KEY: &str = include_str!("../../devicevault-collect/tests/keys/ed25519_encrypted");
const TEST_KEY_PASSPHRASE: &str = "correct horse";
const TEST_KEY_FINGERPRINT: &str = "SHA256:euNYPz+MUPD/J2nHLyW0/AMSFAescdvpYilLUNL3IG4";

/// Its latest stored configuration.
async fn latest_config(h: &mut Harness, device: i64) -> String {
    let stored = h
        .list(&format!("/api/stored-backups/?device={device}"))
        .await;
    let id = stored[0]["id"].as_i64().unwrap();
    let r = h
        .call("GET", &format!("/api/stored-backups/{id}/download/"), None)
        .await;
    assert_eq!(r.status, 200);
    String::from_utf8(r.body).unwrap()
}

/// Issue 15: a device that speaks only Telnet, one that speaks only legacy
/// SSH algorithms (its device type offers them), and one that accepts only
/// an encrypted private key (sealed with its passphrase, shown by its
/// fingerprint) are backed up; a device's own `legacy_algorithms: false`
/// overrides its type's.
async fn telnet_legacy_only_and_key_only_devices_are_backed_up(h: &mut Harness) {
    let (loc, _) = h.inventory().await;
    let fleet = devicevault_sim::Simulator::start(SimConfig {
        devices: 3,
        platforms: vec!["cisco_ios".into()],
        telnet_base_port: Some(0),
        ..sim(3)
    })
    .await
    .unwrap();
    let [telnet, legacy, keyed] = [0, 1, 2].map(|i| fleet.devices()[i].clone());
    legacy.set_faults(Faults {
        legacy_only: true,
        ..Faults::default()
    });
    keyed.set_faults(Faults {
        reject_password: true,
        ..Faults::default()
    });
    let key = russh::keys::decode_secret_key(TEST_KEY, Some(TEST_KEY_PASSPHRASE)).unwrap();
    keyed.authorize_key(key.public_key().clone());

    let pw = h
        .create(
            "/api/credentials/",
            json!({"name": "pw", "username": telnet.username(), "password": telnet.password(),
                   "enable_secret": telnet.enable_secret()}),
        )
        .await;
    let wrong = h
        .call(
            "POST",
            "/api/credentials/",
            Some(
                json!({"name": "key", "username": keyed.username(), "private_key": TEST_KEY,
                        "passphrase": "not it"}),
            ),
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.json()["detail"]["passphrase"].is_array(),
        "{}",
        wrong.json()
    );
    let r = h
        .call(
            "POST",
            "/api/credentials/",
            Some(json!({"name": "key", "username": keyed.username(),
                        "private_key": TEST_KEY, "passphrase": TEST_KEY_PASSPHRASE,
                        "enable_secret": keyed.enable_secret()})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let body = String::from_utf8(r.body.clone()).unwrap();
    assert!(
        !body.contains("PRIVATE KEY") && !body.contains(TEST_KEY_PASSPHRASE),
        "{body}"
    );
    let kc = r.json();
    assert_eq!(kc["kind"], "key");
    assert_eq!(kc["key_fingerprint"], TEST_KEY_FINGERPRINT);
    assert_eq!(kc["has_passphrase"], true);

    // Telnet: the port defaults to 23; a key cannot log in over Telnet.
    let t = h
        .create(
            "/api/devices/",
            json!({"name": "telnet-only", "address": "127.0.0.1", "transport": "telnet",
                   "driver": "cisco_ios", "credential": pw["id"], "backup_location": loc}),
        )
        .await;
    assert_eq!(
        (t["transport"].as_str(), t["port"].as_u64()),
        (Some("telnet"), Some(23))
    );
    let path = format!("/api/devices/{}/", t["id"]);
    let r = h
        .call("PATCH", &path, Some(json!({"credential": kc["id"]})))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"]["credential"].is_array(), "{}", r.json());
    let r = h
        .call(
            "PATCH",
            &path,
            Some(json!({"port": telnet.telnet_port().unwrap()})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let ty = h
        .create(
            "/api/device-types/",
            json!({"name": "old-ios", "legacy_algorithms": true, "connect_timeout": 10,
                   "command_timeout": 30, "job_timeout": 60}),
        )
        .await;
    assert_eq!(ty["legacy_algorithms"], true);
    let l = h
        .create(
            "/api/devices/",
            json!({"name": "legacy-only", "address": "127.0.0.1", "port": legacy.port(),
                   "driver": "cisco_ios", "credential": pw["id"], "backup_location": loc,
                   "device_type": ty["id"]}),
        )
        .await;
    assert!(l["legacy_algorithms"].is_null(), "the type decides: {l}");
    let k = h
        .create(
            "/api/devices/",
            json!({"name": "key-only", "address": "127.0.0.1", "port": keyed.port(),
                   "driver": "cisco_ios", "credential": kc["id"], "backup_location": loc}),
        )
        .await;

    for (dev, sim) in [(&t, &telnet), (&l, &legacy), (&k, &keyed)] {
        let id = dev["id"].as_i64().unwrap();
        let ti = h.backup_now(id).await;
        let job = h.wait_job(&ti).await;
        assert_eq!(job["state"], "stored", "{}: {job}", dev["name"]);
        let config = latest_config(h, id).await;
        assert!(
            config.contains(&format!("hostname {}", sim.name())),
            "{}: {config}",
            dev["name"]
        );
    }

    // The device's own choice overrides its type's: modern algorithms only
    // cannot reach a legacy-only device.
    let r = h
        .call(
            "PATCH",
            &format!("/api/devices/{}/", l["id"]),
            Some(json!({"legacy_algorithms": false})),
        )
        .await;
    assert_eq!(r.status, 200);
    let ti = h.backup_now(l["id"].as_i64().unwrap()).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("algorithm"),
        "{job}"
    );
}

/// Issue 15: a device whose only way in is an SSH jump host (the
/// simulator's hidden device, no listener of its own) is backed up through
/// the jump host with the jump host's own credential; a Telnet device
/// cannot name one.
async fn a_device_reachable_only_through_a_jump_host_is_backed_up(h: &mut Harness) {
    let (loc, _) = h.inventory().await;
    let fleet = devicevault_sim::Simulator::start_hidden(SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..sim(1)
    })
    .await
    .unwrap();
    let jump = devicevault_sim::JumpHost::start(
        "127.0.0.1:0".parse().unwrap(),
        "bastion-user",
        "Bastion-pw-51c2",
        &fleet,
    )
    .await
    .unwrap();
    let d = fleet.devices()[0].clone();
    let cred = h
        .create(
            "/api/credentials/",
            json!({"name": "device", "username": d.username(), "password": d.password(),
                   "enable_secret": d.enable_secret()}),
        )
        .await;
    let jc = h
        .create(
            "/api/credentials/",
            json!({"name": "bastion", "username": "bastion-user", "password": "Bastion-pw-51c2"}),
        )
        .await;
    let bad = h
        .call(
            "POST",
            "/api/devices/",
            Some(
                json!({"name": "telnet-jump", "address": "10.255.0.1", "transport": "telnet",
                        "driver": "cisco_ios", "jump_host": "127.0.0.1"}),
            ),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["detail"]["jump_host"].is_array(),
        "{}",
        bad.json()
    );
    let dev = h
        .create(
            "/api/devices/",
            json!({"name": "behind-bastion", "address": d.addr().ip().to_string(),
                   "driver": "cisco_ios", "credential": cred["id"], "backup_location": loc,
                   "jump_host": "127.0.0.1", "jump_port": jump.addr().port(),
                   "jump_credential": jc["id"]}),
        )
        .await;
    assert_eq!(dev["port"], 22);
    assert_eq!(dev["jump_credential"], jc["id"]);
    let id = dev["id"].as_i64().unwrap();
    let ti = h.backup_now(id).await;
    let job = h.wait_job(&ti).await;
    assert_eq!(job["state"], "stored", "{job}");
    assert!(latest_config(h, id).await.contains("hostname r0001"));
    assert_eq!(jump.opened(), ["10.255.0.1:22"]);
    // The jump host's credential is in use: it cannot be deleted.
    let r = h
        .call("DELETE", &format!("/api/credentials/{}/", jc["id"]), None)
        .await;
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
}

/// Backs up `ids` at once and returns the most sessions the simulator had
/// open at the same time (sampled every 5 ms) once every job is stored.
async fn peak_sessions(h: &mut Harness, ids: &[i64]) -> u64 {
    let mut jobs = Vec::new();
    for id in ids {
        jobs.push(h.backup_now(*id).await);
    }
    let sim: Vec<_> = h.sim.devices().to_vec();
    let mut peak = 0;
    let watch = async {
        loop {
            peak = peak.max(sim.iter().map(|d| d.open_shells()).sum::<u64>());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let wait = async {
        for ti in &jobs {
            let job = h.wait_job(ti).await;
            assert_eq!(job["state"], "stored", "{job}");
        }
    };
    tokio::select! {
        () = wait => {}
        () = watch => unreachable!(),
    }
    peak
}

/// Issue 15 item 4: a collection group's `max_sessions` is how many of
/// its devices a collector backs up at once (per collector process in
/// distributed mode; the suite runs one), and a change applies to the
/// next jobs.
async fn a_collection_groups_max_sessions_bounds_its_sessions_at_once(h: &mut Harness) {
    let (_, ids) = h.inventory().await;
    // Slow devices, so their sessions overlap when allowed to.
    for d in h.sim.devices() {
        d.set_faults(Faults {
            throttle_bytes_per_sec: Some(12_000),
            ..Faults::default()
        });
    }
    let g = h
        .create(
            "/api/collection-groups/",
            json!({"name": "DMZ", "rabbitmq_queue_id": "dmz", "max_sessions": 2}),
        )
        .await;
    assert_eq!(g["max_sessions"], 2);
    let bad = h
        .call(
            "POST",
            "/api/collection-groups/",
            Some(json!({"name": "x", "rabbitmq_queue_id": "x", "max_sessions": 0})),
        )
        .await;
    assert_eq!(bad.status, 400);
    for id in &ids {
        let r = h
            .call(
                "PATCH",
                &format!("/api/devices/{id}/"),
                Some(json!({"collection_group": g["id"]})),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let peak = peak_sessions(h, &ids).await;
    assert_eq!(peak, 2, "at most max_sessions at once, and that many");

    let r = h
        .call(
            "PATCH",
            &format!("/api/collection-groups/{}/", g["id"]),
            Some(json!({"max_sessions": 4})),
        )
        .await;
    assert_eq!(r.json()["max_sessions"], 4, "{}", r.json());
    let peak = peak_sessions(h, &ids).await;
    assert!(peak > 2, "a larger limit lets more run at once: {peak}");
}

/// Issue 19: FortiOS re-encrypts its `ENC` secrets with a fresh salt on
/// every `show`; its driver stores those lines but ignores them for change
/// (`ignore_for_change`), so a backup whose only difference is a
/// re-encrypted secret is an unchanged confirmation of the previous version
/// — no commit, no file, `changed: false`, one version in the history —
/// at a git location and at an fs one, and a real change is still a version.
async fn a_re_encrypted_fortios_secret_alone_is_no_new_version_and_a_real_change_is(
    h: &mut Harness,
) {
    let (git_loc, _) = h.inventory().await;
    let fs_base = h.dir.path().join("fs-fortios");
    let fs_loc = h
        .create(
            "/api/backup-locations/",
            json!({"name": "fs", "location_type": "fs", "config": {"base_path": fs_base}}),
        )
        .await;
    let fleet = devicevault_sim::Simulator::start(SimConfig {
        devices: 2,
        platforms: vec!["fortinet_fortios".into()],
        ..sim(2)
    })
    .await
    .unwrap();
    let cred = h
        .create(
            "/api/credentials/",
            json!({"name": "fgt", "username": fleet.devices()[0].username(),
                   "password": fleet.devices()[0].password()}),
        )
        .await;
    for (fgt, loc) in [
        (fleet.devices()[0].clone(), git_loc),
        (fleet.devices()[1].clone(), fs_loc["id"].as_i64().unwrap()),
    ] {
        fgt.set_reencrypt_secrets(true);
        let dev = h
            .create(
                "/api/devices/",
                json!({"name": format!("fgt-{}", fgt.name()), "address": "127.0.0.1", "port": fgt.port(),
                       "driver": "fortinet_fortios", "credential": cred["id"],
                       "backup_location": loc}),
            )
            .await;
        let id = dev["id"].as_i64().unwrap();
        let stored = format!("/api/stored-backups/?device={id}");

        let ti = h.backup_now(id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
        let first = latest_config(h, id).await;
        let psk = |config: &str| {
            config
                .lines()
                .find(|l| l.trim_start().starts_with("set psksecret ENC "))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no ENC secret in {config}"))
        };
        let ti = h.backup_now(id).await;
        let job = h.wait_job(&ti).await;
        assert_eq!(job["state"], "stored", "{job}");
        // The second session really printed another ciphertext: what a
        // session numbered as the last one prints now.
        assert_eq!(fgt.sessions(), 2);
        assert_ne!(
            psk(&first),
            psk(&fgt.running_config()),
            "the simulator re-encrypts"
        );
        let rows = h.list(&stored).await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0]["task_identifier"], ti.as_str());
        assert_eq!(rows[0]["changed"], false, "{}", rows[0]);
        assert_eq!(rows[0]["status"], "success");
        assert_eq!(rows[0]["storage_ref"], rows[1]["storage_ref"]);
        assert_eq!(rows[0]["sha256"], rows[1]["sha256"]);
        let log = rows[0]["log"].to_string();
        assert!(log.contains("ignores for change"), "{log}");
        // What is downloaded is the version that stands, restorable as the
        // device printed it then.
        assert_eq!(latest_config(h, id).await, first);
        let versions = h.list(&format!("/api/devices/{id}/versions/")).await;
        assert_eq!(versions.len(), 1, "{versions:?}");
        assert_eq!(versions[0]["confirmations"], 2, "{}", versions[0]);
        // Nothing new was written at the location.
        if loc == git_loc {
            assert_eq!(
                git(&h.repo_path(), &["rev-list", "--count", "main"]).trim(),
                "1"
            );
        } else {
            let files = std::fs::read_dir(fs_base.join(id.to_string()))
                .unwrap()
                .count();
            assert_eq!(files, 1, "no file for the confirmation");
        }
        // The device page shows one version, confirmed twice.
        let (status, page) = h.web_page(&format!("/devices/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(page.matches("data-version=").count(), 1, "{page}");
        let row = &page[page
            .find(&format!("data-version=\"{}\"", rows[1]["id"]))
            .expect("the first backup is the version")..];
        assert!(
            row[..row.find("</tr>").unwrap()].contains("<td class=\"num\">2</td>"),
            "confirmed twice: {row}"
        );

        // A real change (and a re-encryption) is a new version.
        fgt.change_config();
        let ti = h.backup_now(id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
        let rows = h.list(&stored).await;
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["changed"], true, "{}", rows[0]);
        assert_ne!(rows[0]["storage_ref"], rows[1]["storage_ref"]);
        let changed = latest_config(h, id).await;
        assert!(changed.contains("link-0 rev1"), "{changed}");
        assert_ne!(psk(&changed), psk(&first));
        let versions = h.list(&format!("/api/devices/{id}/versions/")).await;
        assert_eq!(versions.len(), 2, "{versions:?}");
        if loc == git_loc {
            assert_eq!(
                git(&h.repo_path(), &["rev-list", "--count", "main"]).trim(),
                "2"
            );
        }
        let results = h.list(&format!("/api/backup-results/?device={id}")).await;
        assert_eq!(results.len(), 3, "one result per backup: {results:?}");
    }
}
