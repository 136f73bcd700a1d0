//! One deployment of DeviceVault for the pipeline suite: embedded (every
//! role in this process, SQLite, in-process bus) or distributed (every role
//! its own OS process, over RabbitMQ, Redis Streams and PostgreSQL), driven
//! the same way: over HTTP, with simulated devices.

// Shared by several test binaries, each of which uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

pub fn pg_admin_url() -> String {
    std::env::var("DEVICEVAULT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
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

/// The roles of a distributed deployment, each its own process.
pub struct Processes {
    pub name: String,
    pub env: Vec<(String, String)>,
    pub children: Vec<(String, Child)>,
    /// Each role's stderr (its JSON log lines), one file per process start.
    pub logs: PathBuf,
}

impl Processes {
    fn start(dir: &Path, overrides: &[(String, String)]) -> (Self, std::net::SocketAddr, String) {
        let name = unique("dvt");
        sh(Command::new("rabbitmqctl").args(["add_vhost", &name]));
        sh(Command::new("rabbitmqctl").args([
            "set_permissions",
            "-p",
            &name,
            "guest",
            ".*",
            ".*",
            ".*",
        ]));
        sh(Command::new("psql")
            .arg(pg_admin_url())
            .args(["-qc", &format!("CREATE DATABASE {name}")]));
        let db_url = format!("{}/{name}", pg_admin_url().rsplit_once('/').unwrap().0);
        let env: Vec<(String, String)> = [
            (
                "DEVICEVAULT_BROKER_URL",
                format!("amqp://guest:guest@127.0.0.1:5672/{name}"),
            ),
            (
                "DEVICEVAULT_REDIS_URL",
                "redis://127.0.0.1:6379/1".to_owned(),
            ),
            (
                "DEVICEVAULT_RESULTS_STREAM",
                format!("{name}:device:results"),
            ),
            (
                "DEVICEVAULT_STORAGE_RESULTS_STREAM",
                format!("{name}:storage:results"),
            ),
            ("DEVICEVAULT_DATABASE_URL", db_url),
            (
                "DEVICEVAULT_DATA_DIR",
                dir.join("data").display().to_string(),
            ),
            ("DEVICEVAULT_RETRY_BASE_MS", "20".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .chain(overrides.iter().cloned())
        .collect();
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let mut p = Self {
            name,
            env,
            children: Vec::new(),
            logs,
        };
        // The API first: it migrates the database and creates the key file.
        let mut api = p.command(&["api", "--http-addr", "127.0.0.1:0"]);
        let mut child = api
            .stdout(Stdio::piped())
            .stderr(p.log_file(&["api"]))
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (mut password, mut addr) = (String::new(), None);
        let mut line = String::new();
        while addr.is_none() {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the api role exited before listening");
            }
            if let Some(rest) = line.split("with password ").nth(1) {
                password = rest.split_whitespace().next().unwrap().to_owned();
            }
            if let Some(rest) = line.strip_prefix("DeviceVault API is serving on http://") {
                addr = Some(rest.trim().trim_end_matches('/').parse().unwrap());
            }
        }
        std::thread::spawn(move || for _ in out.lines() {});
        p.children.push(("api".into(), child));
        for role in [
            &["scheduler"][..],
            &["consume", "device-results"],
            &["consume", "storage-results"],
            &["storage-worker", "--backend", "git"],
            &["storage-worker", "--backend", "fs"],
            &["collector", "--group", "default", "--group", "dmz"],
        ] {
            p.spawn(role);
        }
        (p, addr.unwrap(), password)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// Starts one role (again).
    pub fn spawn(&mut self, args: &[&str]) {
        let child = self
            .command(args)
            .stderr(self.log_file(args))
            .spawn()
            .unwrap();
        self.children.push((args.join(" "), child));
    }

    fn log_file(&self, args: &[&str]) -> std::fs::File {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{:02}-{}.log",
            SEQ.fetch_add(1, Ordering::Relaxed),
            args.join("-").replace(['/', ' '], "_")
        );
        std::fs::File::create(self.logs.join(name)).unwrap()
    }

    /// Every log line every role has written so far.
    pub fn log_text(&self) -> String {
        let mut files: Vec<_> = std::fs::read_dir(&self.logs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect()
    }

    /// `kill -9` of the role whose command line starts with `role`.
    pub fn kill(&mut self, role: &str) {
        let i = self
            .children
            .iter()
            .position(|(name, _)| name.starts_with(role))
            .unwrap_or_else(|| panic!("no role {role}"));
        let (_, mut child) = self.children.remove(i);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Closes every client connection of this deployment's RabbitMQ vhost
    /// and restarts the vhost (its queues come back from disk): a broker
    /// restart as the roles see it, without disturbing other tests' vhosts.
    pub fn restart_broker(&self) {
        let conns = sh(Command::new("rabbitmqctl").args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "vhost",
        ]));
        for line in conns.lines() {
            let mut f = line.split_whitespace();
            if let (Some(pid), Some(vhost)) = (f.next(), f.next())
                && vhost == self.name
            {
                let _ = Command::new("rabbitmqctl")
                    .args(["close_connection", pid, "test: broker restart"])
                    .output();
            }
        }
        sh(Command::new("rabbitmqctl").args(["restart_vhost", "--vhost", &self.name]));
    }

    /// Stops and starts the whole RabbitMQ application: every vhost, every
    /// connection. Only for tests that run alone (`#[ignore]`d; `scripts/test`
    /// runs them after the parallel suite).
    pub fn restart_broker_node(&self) {
        sh(Command::new("rabbitmqctl").arg("stop_app"));
        std::thread::sleep(std::time::Duration::from_secs(2));
        sh(Command::new("rabbitmqctl").arg("start_app"));
        sh(Command::new("rabbitmqctl").arg("await_startup"));
    }

    pub fn database_url(&self) -> &str {
        &self
            .env
            .iter()
            .find(|(k, _)| k == "DEVICEVAULT_DATABASE_URL")
            .unwrap()
            .1
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("psql")
            .arg(pg_admin_url())
            .args([
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.name])
            .output();
        let _ = Command::new("redis-cli")
            .args(["-n", "1", "DEL"])
            .args(
                [
                    ":device:results",
                    ":storage:results",
                    ":device:results:dead",
                    ":storage:results:dead",
                ]
                .map(|s| format!("{}{s}", self.name)),
            )
            .output();
    }
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

    /// As [`Harness::start`], with environment overrides for the roles of a
    /// distributed deployment.
    pub async fn start_with(mode: Mode, sim: SimConfig, env: Vec<(String, String)>) -> Self {
        let sim = Simulator::start(sim).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (deployment, addr, password, db) = match mode {
            Mode::Embedded => {
                let mut cfg =
                    ServeConfig::new(dir.path().join("data"), "127.0.0.1:0".parse().unwrap());
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
                let (p, addr, password) =
                    tokio::task::spawn_blocking(move || Processes::start(&dir_path, &env))
                        .await
                        .unwrap();
                let db = Db::connect(p.database_url()).await.unwrap();
                (Deployment::Distributed(p), addr, password, db)
            }
        };
        let mut api = HttpClient::new(addr);
        let r = api
            .post(
                "/api/auth/login/",
                &json!({"username": "admin", "password": password}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let token = r.json()["token"].as_str().unwrap().to_owned();
        api.token = Some(token.clone());
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

    pub async fn backup_now(&mut self, device: i64) -> String {
        let r = self
            .call("POST", &format!("/api/devices/{device}/backup_now/"), None)
            .await;
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert!(
            v["task_id"].is_string() && v["queued_on"].is_string(),
            "{v}"
        );
        v["task_identifier"].as_str().unwrap().to_owned()
    }

    /// Waits until the job is stored or failed; returns the job.
    pub async fn wait_job(&mut self, ti: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
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
