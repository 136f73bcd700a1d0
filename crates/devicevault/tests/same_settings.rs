//! The two deployments read one configuration through one loader and are
//! built by one assembly: the same `devicevault.toml` — settings changed
//! from their defaults and a directory of user drivers — is accepted by
//! embedded `serve` and by every distributed role, a device on the user
//! driver is backed up through it by both, and the same mistake in the
//! file is refused by each with the same line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use devicevault_client::HttpClient;
use devicevault_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

/// A user driver: Cisco IOS under another name, so a device can only be
/// collected if the process read `drivers_dir`.
fn write_user_driver(dir: &Path) {
    let ios = include_str!("../../devicevault-collect/drivers/cisco_ios.toml");
    assert!(ios.contains("name = \"cisco_ios\""));
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("lab_ios.toml"),
        ios.replace("name = \"cisco_ios\"", "name = \"lab_ios\""),
    )
    .unwrap();
}

/// The configuration both deployments are given: every section touched,
/// values away from their defaults.
fn write_config(root: &Path) -> std::path::PathBuf {
    let drivers = root.join("drivers");
    write_user_driver(&drivers);
    let backups = root.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let file = root.join("devicevault.toml");
    std::fs::write(
        &file,
        format!(
            r#"data_dir = "{data}"
drivers_dir = "{drivers}"
storage_roots = ["{backups}"]

[http]
max_connections = 300

[login]
concurrency = 3

[collect]
connect_timeout = "7s"
retries = 1
concurrency = 20

[pipeline]
retry_base = "20ms"
storage_retries = 4
max_deliveries = 6
"#,
            data = root.join("data").display(),
            drivers = drivers.display(),
            backups = backups.display(),
        ),
    )
    .unwrap();
    let shown = Command::new(BIN)
        .args(["config", "show", "--config"])
        .arg(&file)
        .env_remove("DEVICEVAULT_CONFIG")
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    file
}

/// Signs in as the first admin, makes a git location under the storage
/// root, a credential and a device on the user driver, backs it up, and
/// returns the finished job. A device on a driver nobody defined is
/// refused, so the acceptance above is the user driver's.
async fn back_up_on_the_user_driver(
    addr: std::net::SocketAddr,
    password: &str,
    sim: &Simulator,
    root: &Path,
) -> Value {
    let mut api = HttpClient::new(addr);
    api.sign_in("admin", password).await.unwrap();
    let mut create = async |path: &str, body: Value| {
        let r = api.post(path, &body).await.unwrap();
        assert_eq!(
            r.status,
            201,
            "POST {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    };
    let loc = create(
        "/api/backup-locations/",
        json!({"name": "git", "location_type": "git",
               "config": {"repo_path": root.join("backups/repo.git"), "branch": "main"}}),
    )
    .await;
    let d = sim.devices()[0].clone();
    let cred = create(
        "/api/credentials/",
        json!({"name": "lab", "username": d.username(), "password": d.password(),
               "enable_secret": d.enable_secret()}),
    )
    .await;
    let device = json!({"name": "edge-1", "address": "127.0.0.1", "port": d.port(), "driver": "lab_ios",
                        "credential": cred["id"], "backup_location": loc["id"]});
    let dev = create("/api/devices/", device.clone()).await;
    let mut unknown = device;
    unknown["name"] = json!("edge-2");
    unknown["driver"] = json!("no_such_os");
    let r = api.post("/api/devices/", &unknown).await.unwrap();
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(String::from_utf8_lossy(&r.body).contains("no_such_os"));

    let ti = api.backup_now(dev["id"].as_i64().unwrap()).await.unwrap();
    api.finished_job(&ti, Duration::from_secs(90))
        .await
        .unwrap()
}

async fn simulator() -> Simulator {
    Simulator::start(SimConfig {
        devices: 1,
        platforms: vec!["cisco_ios".into()],
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_serve_backs_up_through_the_files_user_driver() {
    let root = tempfile::tempdir().unwrap();
    let file = write_config(root.path());
    let sim = simulator().await;
    let mut serve = Command::new(BIN)
        .args(["serve", "--http-addr", "127.0.0.1:0", "--config"])
        .arg(&file)
        .env_remove("DEVICEVAULT_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (addr, password) = tokio::task::block_in_place(|| {
        let mut out = BufReader::new(serve.stdout.take().unwrap());
        let (mut password, mut line) = (String::new(), String::new());
        loop {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "serve exited");
            if let Some(rest) = line.split("with password ").nth(1) {
                password = rest.split_whitespace().next().unwrap().to_owned();
            }
            if let Some(rest) = line.strip_prefix("DeviceVault is serving on http://") {
                let addr = rest.split('/').next().unwrap().parse().unwrap();
                std::thread::spawn(move || for _ in out.lines() {});
                return (addr, password);
            }
        }
    });
    let job = back_up_on_the_user_driver(addr, &password, &sim, root.path()).await;
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(job["state"], "stored", "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_distributed_role_backs_up_through_the_files_user_driver() {
    let root = tempfile::tempdir().unwrap();
    let file = write_config(root.path());
    let sim = simulator().await;
    let roles: Vec<Vec<String>> = [
        &["scheduler"][..],
        &["consume", "device-results"],
        &["consume", "storage-results"],
        &["storage-worker", "--backend", "git"],
        &["collector", "--group", "default"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    // The launcher gives each role its own broker, database and streams
    // (environment, above the file); everything else comes from the file.
    let config = vec![("DEVICEVAULT_CONFIG".to_owned(), file.display().to_string())];
    let work = root.path().join("work");
    let mut d = tokio::task::block_in_place(|| {
        devicevault_testkit::Deployment::start(BIN.as_ref(), &work, "dvsame", &config, &roles)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let job = back_up_on_the_user_driver(d.addr, &d.password.clone(), &sim, root.path()).await;
    let logs = d.log_text();
    tokio::task::block_in_place(|| d.clean_up()).unwrap();
    assert_eq!(job["state"], "stored", "{job}\n{logs}");
}

#[test]
fn the_same_mistake_is_refused_by_serve_and_every_role_with_the_same_line() {
    let root = tempfile::tempdir().unwrap();
    let file = write_config(root.path());
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("connect_timeout = \"7s\"", "conect_timeout = \"7s\""),
    )
    .unwrap();
    let mut lines = Vec::new();
    for args in [
        &["serve"][..],
        &["api"],
        &["scheduler"],
        &["consume", "device-results"],
        &["consume", "storage-results"],
        &["storage-worker", "--backend", "git"],
        &["collector", "--group", "default"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&file)
            .env_remove("DEVICEVAULT_CONFIG")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} accepted a misspelt key");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .find(|l| l.starts_with("devicevault: error:"))
            .unwrap_or_else(|| panic!("{args:?}: {stderr}"))
            .to_owned();
        assert!(line.contains("conect_timeout"), "{args:?}: {line}");
        lines.push(line);
    }
    assert!(lines.windows(2).all(|w| w[0] == w[1]), "{lines:#?}");
}
