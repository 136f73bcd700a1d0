//! The web UI in a real browser: Debian's headless Chromium driven by
//! Playwright (`tests/browser/*.mjs`, run with node), against a server on
//! port 0 with simulated devices. The scripts ask this side, line by line,
//! for what only it can do (change a device's configuration in the
//! simulator, check downloaded bytes against the API). Screenshots of every
//! page land in `target/web-screenshots/` for a person to look at.
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules`
//! (`scripts/test` installs both: `ensure_browser` in `scripts/services.sh`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Engine, Harness};
use devicevault_sim::SimConfig;

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `target/web-screenshots/<name>`, emptied.
fn screenshots(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("web-screenshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn require_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/test (ensure_browser), or apt-get install chromium"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/test (ensure_browser), or npm ci --prefix {}",
        browser_dir().display()
    );
}

/// Answers one request of a browser script.
async fn answer(h: &mut Harness, request: &str) -> String {
    let mut words = request.split_whitespace();
    match words.next() {
        Some("CHANGE_CONFIG") => {
            h.sim.devices()[0].change_config();
            "changed".into()
        }
        Some("CHECK_DOWNLOAD") => {
            let id = words.next().expect("a stored backup id");
            let path = words.next().expect("a file");
            let downloaded = std::fs::read(path).unwrap();
            let r = h
                .call("GET", &format!("/api/stored-backups/{id}/download/"), None)
                .await;
            assert_eq!(r.status, 200);
            assert!(
                String::from_utf8_lossy(&downloaded).contains("rev1"),
                "the newest version has the change"
            );
            if downloaded == r.body {
                "same".into()
            } else {
                "different".into()
            }
        }
        other => panic!("unknown request from the browser script: {other:?}"),
    }
}

/// Runs `node <script> <url> <user> <password> <outdir>` to its end,
/// answering its requests; panics unless it exits 0.
async fn run_script(h: &mut Harness, script: &str, outdir: &Path, env: &[(&str, String)]) {
    let (user, password) = h.server().first_admin.clone().unwrap();
    let args = [
        format!("http://{}", h.server().addr),
        user,
        password,
        outdir.display().to_string(),
    ];
    common::browser::run_node_script(
        &browser_dir().join(script),
        &args,
        env,
        Duration::from_secs(300),
        async |request| answer(h, request).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engineer_backs_up_a_device_changes_it_and_compares_versions_in_chromium() {
    require_browser();
    let sim = SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        // More lines than one page of "every line" (2,000 rows).
        config_lines: 3000,
        ..SimConfig::default()
    };
    let mut h = Harness::start(Engine::Sqlite, sim).await;
    let d = h.sim.devices()[0].clone();
    let out = screenshots("e2e");
    let env = [
        ("DV_REPO", h.repo_path().display().to_string()),
        ("DV_SIM_PORT", d.port().to_string()),
        ("DV_SIM_DRIVER", d.platform().to_owned()),
        ("DV_SIM_USER", d.username().to_owned()),
        ("DV_SIM_PASSWORD", d.password().to_owned()),
        ("DV_SIM_ENABLE", d.enable_secret().to_owned()),
    ];
    run_script(&mut h, "e2e.mjs", &out, &env).await;
    assert_eq!(d.revision(), 1, "the configuration was changed once");
    let listed = h.list("/api/stored-backups/").await;
    assert_eq!(listed.len(), 3, "three backups stored: {listed:?}");
    let versions = h
        .list(&format!("/api/devices/{}/versions/", listed[0]["device"]))
        .await;
    assert_eq!(versions.len(), 2, "two distinct versions: {versions:?}");
    h.stop().await;
}

/// A fleet worth looking at: types, groups, two versions of one device,
/// devices that fail (nothing listens on their port), filler for pages.
async fn realistic_fleet(h: &mut Harness) -> Vec<(&'static str, String)> {
    let (location, ids) = h.inventory().await;
    let db = h.server().db.clone();
    let types = [
        db.create_device_type("ISR 4451", None, None)
            .await
            .unwrap()
            .id,
        db.create_device_type("Nexus 9300", None, None)
            .await
            .unwrap()
            .id,
        db.create_device_type("MX204", None, None).await.unwrap().id,
    ];
    let groups = [
        db.create_device_group("core").await.unwrap().id,
        db.create_device_group("branch").await.unwrap().id,
    ];
    db.create_collection_group(
        "Paris DC",
        &devicevault_core::QueueId::parse("paris").unwrap(),
    )
    .await
    .unwrap();
    for (i, id) in ids.iter().enumerate() {
        let mut d = db.device(*id).await.unwrap();
        d.fields.device_type = Some(types[i % 3]);
        d.fields.device_group = Some(groups[i % 2]);
        db.update_device(*id, &d.fields).await.unwrap();
    }
    let credential = db.device(ids[0]).await.unwrap().fields.credential;
    let mut failing = Vec::new();
    for i in 0..3 {
        let d = db
            .create_device(&devicevault_db::DeviceFields {
                name: format!("fw-branch-{:02}", i + 1),
                address: "127.0.0.1".into(),
                port: 1,
                driver: "cisco_ios".into(),
                credential,
                backup_location: Some(location),
                collection_group: None,
                device_group: Some(groups[1]),
                device_type: Some(types[0]),
                enabled: true,
                profile: Default::default(),
            })
            .await
            .unwrap();
        failing.push(d.id);
    }
    for i in 0..40 {
        db.create_device(&devicevault_db::DeviceFields {
            name: format!("access-sw-{:03}", i + 1),
            address: format!("10.20.{}.{}", i / 200, i % 200 + 1),
            port: 22,
            driver: "arista_eos".into(),
            credential,
            backup_location: Some(location),
            collection_group: None,
            device_group: None,
            device_type: Some(types[1]),
            enabled: i % 7 != 3,
            profile: Default::default(),
        })
        .await
        .unwrap();
    }
    for id in &ids {
        let ti = h.backup_now(*id).await;
        assert_eq!(h.wait_job(&ti).await["state"], "stored");
    }
    h.sim.devices()[0].change_config();
    let ti = h.backup_now(ids[0]).await;
    assert_eq!(h.wait_job(&ti).await["state"], "stored");
    let mut failed_job = String::new();
    for id in &failing {
        failed_job = h.backup_now(*id).await;
        assert_eq!(h.wait_job(&failed_job).await["state"], "failed");
    }
    let versions = h
        .list(&format!("/api/stored-backups/?device={}", ids[0]))
        .await;
    assert_eq!(versions.len(), 2);
    vec![
        ("DV_DEVICE", ids[0].to_string()),
        ("DV_A", versions[1]["id"].to_string()),
        ("DV_B", versions[0]["id"].to_string()),
        ("DV_FAILED_JOB", failed_job),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_screenshotted_wide_narrow_and_dark() {
    require_browser();
    let sim = SimConfig {
        devices: 4,
        platforms: vec![
            "cisco_ios".into(),
            "arista_eos".into(),
            "juniper_junos".into(),
        ],
        config_lines: 400,
        ..SimConfig::default()
    };
    let mut h = Harness::start(Engine::Sqlite, sim).await;
    let env = realistic_fleet(&mut h).await;
    let out = screenshots("pages");
    run_script(&mut h, "screens.mjs", &out, &env).await;
    let shots = std::fs::read_dir(&out).unwrap().count();
    assert!(shots >= 30, "{shots} screenshots in {}", out.display());
    h.stop().await;
}
