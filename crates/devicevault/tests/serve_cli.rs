//! `devicevault serve`, `user` and `token` as an operator runs them,
//! including a kill -9 in the middle of a run of backups.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use devicevault_client::HttpClient;
use devicevault_sim::{Faults, SimConfig, Simulator};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

struct Serve {
    child: Child,
    addr: SocketAddr,
    first_line: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `devicevault serve` on a free port; returns once it listens.
fn serve(data: &Path) -> Serve {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--http-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data);
    spawn_serve(cmd)
}

/// Starts `cmd`, a `devicevault serve`; returns once it listens.
// The child is reaped by `Serve`'s Drop, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn spawn_serve(mut cmd: Command) -> Serve {
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first_line = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let status = child.wait();
            panic!("serve exited before listening: {status:?}");
        }
        if first_line.is_empty() {
            first_line = line.clone();
        }
        if let Some(rest) = line.strip_prefix("DeviceVault is serving on http://") {
            let addr = rest.split('/').next().unwrap().parse().unwrap();
            // Keep draining stdout so the server never blocks on it.
            std::thread::spawn(move || for _ in out.lines() {});
            return Serve {
                child,
                addr,
                first_line,
            };
        }
    }
}

fn run(args: &[&str], data: &Path, env: &[(&str, &str)]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn first_start_creates_an_admin_and_users_and_tokens_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = serve(&data);
    assert!(
        s.first_line
            .contains("Created the first user \"admin\" with password "),
        "{}",
        s.first_line
    );
    let key = data.join("secret.key");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    drop(s);

    let out = run(
        &[
            "user",
            "create",
            "--username",
            "ops",
            "--password-env",
            "DV_PW",
            "--admin",
        ],
        &data,
        &[("DV_PW", "correct horse battery")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &[
            "user",
            "create",
            "--username",
            "ops",
            "--password-env",
            "DV_PW",
        ],
        &data,
        &[("DV_PW", "correct horse battery")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    let out = run(
        &[
            "user",
            "create",
            "--username",
            "x",
            "--password-env",
            "MISSING_VAR",
        ],
        &data,
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MISSING_VAR"));
    let out = run(&["token", "create", "--username", "ops"], &data, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.len(), 40);
    let out = run(&["token", "create", "--username", "nobody"], &data, &[]);
    assert!(!out.status.success());

    // A restarted server keeps its users and does not create another admin.
    let s = serve(&data);
    assert!(
        !s.first_line.contains("Created the first user"),
        "{}",
        s.first_line
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut api = HttpClient::new(s.addr);
        assert_eq!(api.get("/api/devices/").await.unwrap().status, 401);
        api.token = Some(token);
        assert_eq!(api.get("/api/devices/").await.unwrap().status, 200);
        let r = api
            .post(
                "/api/auth/login/",
                &json!({"username": "ops", "password": "correct horse battery"}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        // A device group with one of two devices, for a restricted reader.
        let r = api
            .post("/api/device-groups/", &json!({"name": "core"}))
            .await
            .unwrap();
        assert_eq!(r.status, 201);
        let core = r.json()["id"].clone();
        for (name, group) in [("r1", core), ("r2", serde_json::Value::Null)] {
            let r = api
                .post(
                    "/api/devices/",
                    &json!({"name": name, "address": "192.0.2.1", "port": 22,
                            "driver": "cisco_ios", "device_group": group}),
                )
                .await
                .unwrap();
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        }
    });
    let reader = |groups: &[&str]| {
        let mut args = vec![
            "user",
            "create",
            "--username",
            "rita",
            "--password-env",
            "DV_PW",
        ];
        for g in groups {
            args.extend(["--device-group", g]);
        }
        run(&args, &data, &[("DV_PW", "reader password 1")])
    };
    // A typo creates no user (who would otherwise see every device).
    let out = reader(&["core", "cor"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no device group \"cor\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = reader(&["core"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("devices of: core"));
    rt.block_on(async {
        let mut api = HttpClient::new(s.addr);
        let r = api
            .post(
                "/api/auth/login/",
                &json!({"username": "rita", "password": "reader password 1"}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        api.token = Some(r.json()["token"].as_str().unwrap().to_owned());
        let r = api.get("/api/devices/").await.unwrap();
        assert_eq!(r.json()["count"], 1, "only the core device");
        assert_eq!(r.json()["results"][0]["name"], "r1");
    });
    let out = run(
        &[
            "user",
            "create",
            "--username",
            "boss",
            "--password-env",
            "DV_PW",
            "--admin",
            "--device-group",
            "core",
        ],
        &data,
        &[("DV_PW", "correct horse battery")],
    );
    assert!(!out.status.success(), "an admin sees every device");

    // An operator of core: changes core's devices, not the other one; an
    // unknown role is refused before anything is created.
    let out = run(
        &[
            "user",
            "create",
            "--username",
            "olga",
            "--password-env",
            "DV_PW",
            "--role",
            "operator",
            "--device-group",
            "core",
        ],
        &data,
        &[("DV_PW", "operator password 1")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("role: operator, devices of: core"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(
        &[
            "user",
            "create",
            "--username",
            "x2",
            "--password-env",
            "DV_PW",
            "--role",
            "root",
        ],
        &data,
        &[("DV_PW", "operator password 1")],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role \"root\""));
    rt.block_on(async {
        let mut api = HttpClient::new(s.addr);
        let r = api
            .post(
                "/api/auth/login/",
                &json!({"username": "olga", "password": "operator password 1"}),
            )
            .await
            .unwrap();
        assert_eq!(r.json()["role"], "operator");
        api.token = Some(r.json()["token"].as_str().unwrap().to_owned());
        let devices = api.get("/api/devices/").await.unwrap().json();
        let r1 = devices["results"][0]["id"].as_i64().unwrap();
        let r = api
            .request(
                "PATCH",
                &format!("/api/devices/{r1}/"),
                Some(&json!({"address": "192.0.2.7"})),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let r = api
            .request(
                "PATCH",
                &format!("/api/devices/{r1}/"),
                Some(&json!({"device_group": null})),
            )
            .await
            .unwrap();
        assert_eq!(
            r.status,
            403,
            "out of core: {}",
            String::from_utf8_lossy(&r.body)
        );
    });
}

/// kill -9 in the middle of 200 backups: after a restart every accepted
/// job ends stored, with exactly one row per job and one commit per device.
#[test]
fn kill_9_mid_run_loses_no_job_and_duplicates_nothing() {
    const DEVICES: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let repo = dir.path().join("repo.git");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Slow devices, so the kill lands while most backups are in flight.
    let sim = rt
        .block_on(Simulator::start(SimConfig {
            devices: DEVICES,
            platforms: vec!["cisco_ios".into(), "arista_eos".into()],
            config_lines: 100,
            faults: Faults {
                throttle_bytes_per_sec: Some(2_000),
                ..Faults::default()
            },
            ..SimConfig::default()
        }))
        .unwrap();
    let out = run(
        &[
            "user",
            "create",
            "--username",
            "ops",
            "--password-env",
            "DV_PW",
            "--admin",
        ],
        &data,
        &[("DV_PW", "correct horse battery")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token =
        String::from_utf8(run(&["token", "create", "--username", "ops"], &data, &[]).stdout)
            .unwrap()
            .trim()
            .to_owned();

    let mut first = serve(&data);
    let tis: Vec<String> = rt.block_on(async {
        let mut api = HttpClient::new(first.addr);
        api.token = Some(token.clone());
        let post = |r: devicevault_client::HttpResponse| {
            assert!(r.status == 201 || r.status == 202, "{} {}", r.status, String::from_utf8_lossy(&r.body));
            r.json()
        };
        let loc = post(api.post("/api/backup-locations/", &json!({"name": "git", "location_type": "git", "config": {"repo_path": repo}})).await.unwrap());
        let d0 = &sim.devices()[0];
        let cred = post(api.post("/api/credentials/", &json!({"name": "c", "username": d0.username(), "password": d0.password(), "enable_secret": d0.enable_secret()})).await.unwrap());
        let mut ids = Vec::new();
        for d in sim.devices() {
            let dev = post(api.post("/api/devices/", &json!({"name": d.name(), "address": "127.0.0.1", "port": d.port(), "driver": d.platform(), "credential": cred["id"], "backup_location": loc["id"]})).await.unwrap());
            ids.push(dev["id"].as_i64().unwrap());
        }
        let mut tis = Vec::new();
        for id in ids {
            let r = post(api.post(&format!("/api/devices/{id}/backup_now/"), &json!({})).await.unwrap());
            tis.push(r["task_identifier"].as_str().unwrap().to_owned());
        }
        // Let some backups finish, then pull the plug.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n = api.get("/api/stored-backups/?page_size=1").await.unwrap().json()["count"].as_i64().unwrap();
            if n >= 1 {
                break;
            }
            assert!(Instant::now() < deadline, "nothing stored in 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tis
    });
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();
    let stored_before = rt.block_on(count_stored(&data));
    assert!(
        stored_before < DEVICES as i64,
        "the kill must land mid-run ({stored_before} of {DEVICES} stored)"
    );

    let second = serve(&data);
    rt.block_on(async {
        let mut api = HttpClient::new(second.addr);
        api.token = Some(token);
        for ti in &tis {
            let j = api
                .finished_job(ti, Duration::from_secs(120))
                .await
                .unwrap();
            assert_eq!(j["state"], "stored", "job failed after the restart: {j}");
        }
        let list = |v: Value| v["results"].as_array().unwrap().clone();
        let stored = list(
            api.get("/api/stored-backups/?page_size=1000")
                .await
                .unwrap()
                .json(),
        );
        let results = list(
            api.get("/api/backup-results/?page_size=1000")
                .await
                .unwrap()
                .json(),
        );
        assert_eq!(stored.len(), DEVICES, "exactly one StoredBackup per job");
        assert_eq!(
            results.len(),
            DEVICES,
            "exactly one DeviceBackupResult per job"
        );
        let mut seen: Vec<&str> = stored
            .iter()
            .map(|s| s["task_identifier"].as_str().unwrap())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), DEVICES);
        assert!(stored.iter().all(|s| s["status"] == "success"));
    });
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["fsck", "--strict"]);
    assert_eq!(
        git(&["rev-list", "--count", "main"]).trim(),
        DEVICES.to_string(),
        "one commit per device: a re-collected, unchanged backup commits nothing"
    );
    drop(sim);
}

async fn count_stored(data: &Path) -> i64 {
    let db = devicevault_db::Db::connect(&format!(
        "sqlite:{}",
        data.join("devicevault.sqlite3").display()
    ))
    .await
    .unwrap();
    let n = db
        .stored_backups(
            None,
            &devicevault_db::Scope::All,
            devicevault_db::Page {
                limit: 1,
                offset: 0,
            },
        )
        .await
        .unwrap()
        .total;
    db.close().await;
    n
}

#[test]
fn demo_backs_up_simulated_devices_and_refuses_a_foreign_directory() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = Command::new(BIN)
        .args([
            "demo",
            "--exit",
            "--devices",
            "5",
            "--http-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&demo)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("5 backups stored, 0 failed"), "{stdout}");
    assert!(stdout.contains("log in:      admin / "), "{stdout}");
    let log = Command::new("git")
        .arg("-C")
        .arg(demo.join("backups.git"))
        .args(["log", "--oneline"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 5);
    // A second run starts afresh in its own directory...
    let again = Command::new(BIN)
        .args([
            "demo",
            "--exit",
            "--devices",
            "1",
            "--http-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // ...but never deletes a directory it did not make.
    let foreign = dir.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("important.txt"), "keep me").unwrap();
    let out = Command::new(BIN)
        .args([
            "demo",
            "--exit",
            "--devices",
            "1",
            "--http-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&foreign)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("was not made by the demo"));
    assert!(foreign.join("important.txt").exists());
}

/// POSTs `body` and expects 201 or 202; returns the answer.
async fn post(api: &mut HttpClient, path: &str, body: Value) -> Value {
    let r = api.post(path, &body).await.unwrap();
    assert!(
        r.status == 201 || r.status == 202,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// Every file and directory under `dir`, with its permission bits.
fn modes(dir: &Path) -> Vec<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        }
        out.push((p, meta.permissions().mode() & 0o777));
    }
    out
}

/// Started with the umask of a login shell (022), `serve` still creates
/// its database, key, host-key pins, repository and fs backups readable by
/// its user only.
#[test]
fn what_serve_writes_is_private_to_its_user_even_under_umask_022() {
    let dir = tempfile::tempdir().unwrap();
    let (data, repo, fs_base) = (
        dir.path().join("data"),
        dir.path().join("repo.git"),
        dir.path().join("fs"),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(Simulator::start(SimConfig {
            devices: 1,
            platforms: vec!["cisco_ios".into()],
            ..SimConfig::default()
        }))
        .unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", r#"umask 022 && exec "$0" "$@""#, BIN])
        .args(["serve", "--http-addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data);
    let s = spawn_serve(cmd);
    let password = s
        .first_line
        .split("with password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    rt.block_on(async {
        let mut api = HttpClient::new(s.addr);
        let r = api
            .post("/api/auth/login/", &json!({"username": "admin", "password": password}))
            .await
            .unwrap();
        api.token = Some(r.json()["token"].as_str().unwrap().to_owned());
        let git = post(&mut api, "/api/backup-locations/", json!({"name": "git", "location_type": "git", "config": {"repo_path": repo}})).await;
        let fs = post(&mut api, "/api/backup-locations/", json!({"name": "fs", "location_type": "fs", "config": {"base_path": fs_base}})).await;
        let d = &sim.devices()[0];
        let cred = post(&mut api, "/api/credentials/", json!({"name": "c", "username": d.username(), "password": d.password(), "enable_secret": d.enable_secret()})).await;
        let dev = post(&mut api, "/api/devices/", json!({"name": d.name(), "address": "127.0.0.1", "port": d.port(), "driver": d.platform(), "credential": cred["id"], "backup_location": git["id"]})).await;
        let id = dev["id"].as_i64().unwrap();
        for location in [&git, &fs] {
            let r = api
                .request("PATCH", &format!("/api/devices/{id}/"), Some(&json!({"backup_location": location["id"]})))
                .await
                .unwrap();
            assert_eq!(r.status, 200);
            let ti = api.backup_now(id).await.unwrap();
            let j = api.finished_job(&ti, Duration::from_secs(60)).await.unwrap();
            assert_eq!(j["state"], "stored", "{j}");
        }
    });
    // While it runs: the SQLite journal files exist too.
    let mut written = Vec::new();
    for top in [&data, &repo, &fs_base] {
        written.extend(modes(top));
    }
    drop(s);
    for expected in [
        data.join("devicevault.sqlite3"),
        data.join("devicevault.sqlite3-wal"),
        data.join("secret.key"),
        data.join("known_hosts"),
        repo.join("HEAD"),
        repo.join("refs/heads/main"),
    ] {
        assert!(
            written.iter().any(|(p, _)| p == &expected),
            "{} was written",
            expected.display()
        );
    }
    assert!(
        written
            .iter()
            .any(|(p, _)| p.starts_with(repo.join("objects")) && p.is_file())
    );
    assert!(
        written
            .iter()
            .any(|(p, _)| p.starts_with(&fs_base) && p.is_file())
    );
    let open: Vec<_> = written
        .iter()
        .filter(|(_, mode)| mode & 0o077 != 0)
        .map(|(p, mode)| format!("{:o} {}", mode, p.display()))
        .collect();
    assert!(open.is_empty(), "readable by others:\n{}", open.join("\n"));
    drop(sim);
}
