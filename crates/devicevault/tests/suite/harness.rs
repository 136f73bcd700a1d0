//! One deployment of DeviceVault for the pipeline suite: embedded (every
//! role in this process, SQLite, in-process bus) or distributed (every role
//! its own OS process, over RabbitMQ, Redis Streams and PostgreSQL), driven
//! the same way: over HTTP, with simulated devices.

// Shared by several test binaries, each of which uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use devicevault_client::{HttpClient, HttpResponse};
use devicevault_collect::RetryPolicy;
use devicevault_db::Db;
use devicevault_server::embedded::{Embedded, ServeConfig};
use devicevault_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_devicevault");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Embedded,
    Distributed,
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The roles of a distributed deployment, each its own process (the
/// launcher the benchmarks use too).
pub type Processes = devicevault_testkit::Deployment;

/// The roles the suite's distributed deployments run beside the api.
fn roles() -> Vec<Vec<String>> {
    [
        &["scheduler"][..],
        &["consume", "device-results"],
        &["consume", "storage-results"],
        &["storage-worker", "--backend", "git"],
        &["storage-worker", "--backend", "fs"],
        &["collector", "--group", "default", "--group", "dmz"],
        &["notifier"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect()
}

pub enum Deployment {
    Embedded(Option<Embedded>),
    Distributed(Processes),
}

pub struct Harness {
    pub mode: Mode,
    pub deployment: Deployment,
    pub api: HttpClient,
    pub sim: Simulator,
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub token: String,
    /// The first administrator's password, for the web UI.
    pub admin_password: String,
    pub addr: std::net::SocketAddr,
}

impl Harness {
    pub async fn start(mode: Mode, sim: SimConfig) -> Self {
        Self::start_with(mode, sim, Vec::new()).await
    }

    /// As [`Harness::start`], with environment overrides: for the roles of a
    /// distributed deployment, and read by the same loader for an embedded
    /// one.
    pub async fn start_with(mode: Mode, sim: SimConfig, env: Vec<(String, String)>) -> Self {
        let sim = Simulator::start(sim).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (deployment, addr, password, db) = match mode {
            Mode::Embedded => {
                let mut cfg =
                    ServeConfig::new(dir.path().join("data"), "127.0.0.1:0".parse().unwrap());
                let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                cfg.settings = devicevault_server::config::load(None, &lookup, &[])
                    .unwrap_or_else(|e| panic!("{e}"))
                    .config
                    .settings;
                cfg.settings.collect_retry = RetryPolicy {
                    max_retries: 1,
                    base_delay: Duration::from_millis(10),
                    max_delay: Duration::from_millis(20),
                };
                cfg.settings.connect_timeout = Duration::from_secs(3);
                cfg.settings.storage_retry_base = Duration::from_millis(20);
                let server = Embedded::start(cfg).await.unwrap();
                let (_, password) = server.first_admin.clone().unwrap();
                let (addr, db) = (server.addr, server.db.clone());
                (Deployment::Embedded(Some(server)), addr, password, db)
            }
            Mode::Distributed => {
                let dir_path = dir.path().to_owned();
                let mut env = env;
                if !env.iter().any(|(k, _)| k == "DEVICEVAULT_RETRY_BASE_MS") {
                    env.push(("DEVICEVAULT_RETRY_BASE_MS".into(), "20".into()));
                }
                let p = tokio::task::spawn_blocking(move || {
                    Processes::start(BIN.as_ref(), &dir_path, "dvt", &env, &roles())
                })
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{e}"));
                let (addr, password) = (p.addr, p.password.clone());
                let db = Db::connect(p.database_url()).await.unwrap();
                (Deployment::Distributed(p), addr, password, db)
            }
        };
        let mut api = HttpClient::new(addr);
        let token = api
            .sign_in("admin", &password)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Self {
            mode,
            deployment,
            api,
            sim,
            dir,
            db,
            token,
            admin_password: password,
            addr,
        }
    }

    /// A page of the web UI as the first administrator sees it: logs in
    /// through the login form (CSRF token, session cookie), then GETs
    /// `path`. Returns the status and the HTML.
    pub async fn web_page(&self, path: &str) -> (u16, String) {
        let form = web_request(self.addr, "GET", "/login", None, None).await;
        let csrf = {
            let marker = r#"name="csrf" value=""#;
            let i = form.body.find(marker).expect("a CSRF field on /login") + marker.len();
            form.body[i..i + form.body[i..].find('"').unwrap()].to_owned()
        };
        let mut cookies: Vec<String> = form.cookies.clone();
        let body: String = form_urlencoded_pairs(&[
            ("csrf", &csrf),
            ("username", "admin"),
            ("password", &self.admin_password),
            ("next", "/"),
        ]);
        let login = web_request(
            self.addr,
            "POST",
            "/login",
            Some(&cookies.join("; ")),
            Some(&body),
        )
        .await;
        assert_eq!(login.status, 303, "web login: {}", login.body);
        cookies.extend(login.cookies);
        let page = web_request(self.addr, "GET", path, Some(&cookies.join("; ")), None).await;
        (page.status, page.body)
    }

    pub fn processes(&mut self) -> &mut Processes {
        match &mut self.deployment {
            Deployment::Distributed(p) => p,
            Deployment::Embedded(_) => panic!("not a distributed deployment"),
        }
    }

    pub async fn stop(mut self) {
        self.db.close().await;
        match &mut self.deployment {
            Deployment::Embedded(s) => {
                if let Some(s) = s.take() {
                    s.stop(Duration::from_secs(10)).await;
                }
            }
            Deployment::Distributed(_) => {
                let d = std::mem::replace(&mut self.deployment, Deployment::Embedded(None));
                tokio::task::spawn_blocking(move || drop(d)).await.unwrap();
            }
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

    pub fn repo_path(&self) -> PathBuf {
        self.dir.path().join("repo.git")
    }

    /// A git location, a credential for the simulator, and one device per
    /// simulated device. Returns the location id and the device ids.
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
        // FortiOS's REST API takes the credential's API key (the
        // simulator's token is its password): a credential of its own, made
        // only when the fleet has such a device.
        let api = "fortinet_fortios_api";
        let api_cred = match devices.iter().any(|d| d.platform() == api) {
            true => Some(
                self.create(
                    "/api/credentials/",
                    json!({"name": "lab-api", "username": d0.username(), "api_key": d0.password()}),
                )
                .await,
            ),
            false => None,
        };
        let mut ids = Vec::new();
        for d in devices {
            let cred = match &api_cred {
                Some(c) if d.platform() == api => c,
                _ => &cred,
            };
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
        self.api
            .finished_job(ti, Duration::from_secs(90))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The first page (up to 1000 rows) of a list route.
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
pub fn git(repo: &Path, args: &[&str]) -> String {
    sh(Command::new("git").arg("-C").arg(repo).args(args))
}

/// A tmpfs of a few megabytes mounted on a temporary directory (unmounted
/// on drop), to fill up. Needs root, as `scripts/test` has in CI.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Takes every free byte with one file; remove it to make room.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = [0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).output();
    }
}

/// One HTTP/1.0 exchange (the server answers without chunking and closes).
pub struct WebResponse {
    pub status: u16,
    /// `name=value` of each Set-Cookie.
    pub cookies: Vec<String>,
    pub body: String,
}

pub async fn web_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> WebResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(c) = cookie.filter(|c| !c.is_empty()) {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(f) = form {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            f.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(form.unwrap_or_default());
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("set-cookie")
                .then(|| v.trim().split(';').next().unwrap_or_default().to_owned())
        })
        .collect();
    WebResponse {
        status,
        cookies,
        body: body.to_owned(),
    }
}

/// `k=v&k=v`, percent-encoded as a browser posts a form.
pub fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_component(k), url_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}
