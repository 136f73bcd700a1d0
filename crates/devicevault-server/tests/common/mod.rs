//! A server on port 0 with simulated devices, driven over HTTP.

#![allow(dead_code)]

pub mod browser;

use std::time::{Duration, Instant};

use devicevault_client::{HttpClient, HttpResponse};
use devicevault_collect::RetryPolicy;
use devicevault_server::embedded::{Embedded, ServeConfig};
use devicevault_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub server: Option<Embedded>,
    pub api: HttpClient,
    pub sim: Simulator,
    pub dir: tempfile::TempDir,
    pub token: String,
    pub pg_name: Option<String>,
}

/// Fast retries so failure tests take milliseconds, not seconds.
pub fn test_config(dir: &std::path::Path) -> ServeConfig {
    let mut cfg = ServeConfig::new(dir.join("data"), "127.0.0.1:0".parse().unwrap());
    cfg.settings.collect_retry = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    };
    cfg.settings.connect_timeout = Duration::from_secs(3);
    cfg.settings.storage_retry_base = Duration::from_millis(20);
    cfg
}

impl Harness {
    pub async fn start(engine: Engine, sim: SimConfig) -> Self {
        Self::start_with(engine, sim, |_| {}).await
    }

    pub async fn start_with(
        engine: Engine,
        sim: SimConfig,
        tweak: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        Self::start_inner(engine, sim, tweak, true).await
    }

    /// Like [`Harness::start_with`], without signing in over plain HTTP
    /// (for a server that speaks HTTPS).
    pub async fn start_with_plain(
        engine: Engine,
        sim: SimConfig,
        tweak: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        Self::start_inner(engine, sim, tweak, false).await
    }

    async fn start_inner(
        engine: Engine,
        sim: SimConfig,
        tweak: impl FnOnce(&mut ServeConfig),
        sign_in: bool,
    ) -> Self {
        let sim = Simulator::start(sim).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = test_config(dir.path());
        let mut pg_name = None;
        if let Engine::Postgres = engine {
            let (name, url) = devicevault_testkit::db::create_pg_database("dv_api").await;
            cfg.database_url = Some(url);
            pg_name = Some(name);
        }
        tweak(&mut cfg);
        let server = Embedded::start(cfg).await.unwrap();
        let (user, password) = server
            .first_admin
            .clone()
            .expect("a fresh database gets an admin");
        let mut api = HttpClient::new(server.addr);
        if !sign_in {
            return Self {
                server: Some(server),
                api,
                sim,
                dir,
                token: String::new(),
                pg_name,
            };
        }
        let token = api
            .sign_in(&user, &password)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Self {
            server: Some(server),
            api,
            sim,
            dir,
            token,
            pg_name,
        }
    }

    pub fn server(&self) -> &Embedded {
        self.server.as_ref().unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop(Duration::from_secs(10)).await;
        }
        if let Some(name) = self.pg_name.take() {
            devicevault_testkit::db::drop_pg_database(&name).await;
        }
    }

    pub async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> HttpResponse {
        self.api.request(method, path, body.as_ref()).await.unwrap()
    }

    /// POSTs and expects 201; returns the created object.
    pub async fn create(&mut self, path: &str, body: Value) -> Value {
        let r = self.call("POST", path, Some(body)).await;
        assert_eq!(
            r.status,
            201,
            "POST {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    }

    pub fn repo_path(&self) -> std::path::PathBuf {
        self.dir.path().join("repo.git")
    }

    /// A git location, a credential for the simulator, and one device per
    /// simulated device. Returns the device ids.
    pub async fn inventory(&mut self) -> (i64, Vec<i64>) {
        let repo = self.repo_path();
        let loc = self
            .create(
                "/api/backup-locations/",
                json!({"name": "git", "location_type": "git", "config": {"repo_path": repo, "branch": "main"}}),
            )
            .await;
        let d0 = self.sim.devices()[0].clone();
        let cred = self
            .create(
                "/api/credentials/",
                json!({"name": "lab", "username": d0.username(), "password": d0.password(), "enable_secret": d0.enable_secret()}),
            )
            .await;
        let devices: Vec<_> = self.sim.devices().to_vec();
        let mut ids = Vec::new();
        for d in devices {
            let dev = self
                .create(
                    "/api/devices/",
                    json!({"name": d.name(), "address": "127.0.0.1", "port": d.port(), "driver": d.platform(),
                           "credential": cred["id"], "backup_location": loc["id"]}),
                )
                .await;
            ids.push(dev["id"].as_i64().unwrap());
        }
        (loc["id"].as_i64().unwrap(), ids)
    }

    /// [`Harness::inventory`] on a fleet of at least three, with the first
    /// device in device group `core` and the second in `edge` (the third in
    /// none): the scope tests' fleet. Returns the device ids and the two
    /// groups' ids.
    pub async fn core_and_edge(&mut self) -> (Vec<i64>, i64, i64) {
        let (_, ids) = self.inventory().await;
        let mut groups = Vec::new();
        for name in ["core", "edge"] {
            let g = self
                .create("/api/device-groups/", json!({ "name": name }))
                .await;
            groups.push(g["id"].as_i64().unwrap());
        }
        let (core, edge) = (groups[0], groups[1]);
        for (id, group) in [(ids[0], core), (ids[1], edge)] {
            let r = self
                .call(
                    "PATCH",
                    &format!("/api/devices/{id}/"),
                    Some(json!({ "device_group": group })),
                )
                .await;
            assert_eq!(r.status, 200);
        }
        (ids, core, edge)
    }

    pub async fn backup_now(&mut self, device: i64) -> String {
        let r = self
            .call("POST", &format!("/api/devices/{device}/backup_now/"), None)
            .await;
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert!(
            v["task_id"].is_string()
                && v["queued_on"]
                    .as_str()
                    .is_some_and(|q| q.starts_with("collector.group."))
                && v["queued_at"].is_string(),
            "{v}"
        );
        v["task_identifier"].as_str().unwrap().to_owned()
    }

    /// Waits until the job is stored or failed; returns the job.
    pub async fn wait_job(&mut self, ti: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.call("GET", &format!("/api/jobs/{ti}/"), None).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            let j = r.json();
            if matches!(j["state"].as_str(), Some("stored" | "failed")) {
                return j;
            }
            assert!(Instant::now() < deadline, "job {ti} stuck: {j}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The list of a paginated route (first page of up to 1000).
    /// The audit log's rows of `action` (or of a prefix ending in `.`).
    pub async fn audit_rows(&self, action: &str) -> Vec<devicevault_db::AuditRecord> {
        let filter = devicevault_db::AuditFilter {
            action: Some(action.into()),
            ..devicevault_db::AuditFilter::default()
        };
        let page = devicevault_db::Page {
            limit: 1000,
            offset: 0,
        };
        self.server()
            .db
            .audit_list(&filter, page)
            .await
            .unwrap()
            .rows
    }

    pub async fn list(&mut self, path: &str) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = self
            .call("GET", &format!("{path}{sep}page_size=1000"), None)
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()["results"].as_array().unwrap().clone()
    }
}

/// `git -C repo <args>` output.
pub fn git(repo: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
