//! The distributed launcher: every role of DeviceVault its own process of
//! the `devicevault` binary, isolated from everything else on the machine
//! in a RabbitMQ vhost, a PostgreSQL database and Redis streams named
//! after the deployment, and all of them removed by [`Deployment::clean_up`]
//! (or, failing that, on drop). Used by the pipeline suite, the
//! distributed tests and `devicevault-bench distributed`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{pg_admin_url, pg_url, unique};

/// The Redis database the deployments' streams live in.
pub const REDIS_DB: &str = "1";

/// Why a deployment could not be started, driven or removed. A retry does
/// not help: each names what to look at (a command's error, a role's log).
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the {role} role exited; its log is in {logs}")]
    RoleExited { role: String, logs: PathBuf },
    #[error("after {secs} s the queues {queues:?} still lack a consumer")]
    NoConsumers { secs: u64, queues: Vec<String> },
    #[error("cleaning up {name} left: {left}")]
    CleanUp { name: String, left: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let what = what.into();
    move |source| LaunchError::Io { what, source }
}

/// Runs `cmd`, returning its stdout, or its stderr as the error.
pub fn sh(cmd: &mut Command) -> Result<String, LaunchError> {
    let command = format!("{cmd:?}");
    let out = cmd.output().map_err(io(format!("run {command}")))?;
    if !out.status.success() {
        return Err(LaunchError::Command {
            command,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every role of one distributed deployment, each a child process.
#[derive(Debug)]
pub struct Deployment {
    /// The vhost, the database and the streams' prefix.
    pub name: String,
    /// The environment every role is started with.
    pub env: Vec<(String, String)>,
    /// Each running role: its command line, its process.
    pub children: Vec<(String, Child)>,
    /// Each role's stderr (its JSON log lines), one file per process start.
    pub logs: PathBuf,
    /// Where the `api` role serves.
    pub addr: SocketAddr,
    /// The first admin's password, as the `api` role printed it.
    pub password: String,
    exe: PathBuf,
    cleaned: bool,
}

impl Deployment {
    /// Makes the vhost and the database, starts the `api` role first (it
    /// migrates the database and creates the key file) and reads its address
    /// and the first admin's password from its output, then starts each
    /// of `roles` (argument lists, e.g. `["collector", "--group", "default"]`).
    /// `overrides` replace or add to the deployment's environment; the data
    /// directory is `<work>/data`, the logs `<work>/logs`.
    pub fn start(
        exe: &Path,
        work: &Path,
        prefix: &str,
        overrides: &[(String, String)],
        roles: &[Vec<String>],
    ) -> Result<Self, LaunchError> {
        let name = unique(prefix);
        let logs = work.join("logs");
        std::fs::create_dir_all(&logs).map_err(io(format!("create {}", logs.display())))?;
        let env = [
            (
                "DEVICEVAULT_BROKER_URL",
                format!("amqp://guest:guest@127.0.0.1:5672/{name}"),
            ),
            (
                "DEVICEVAULT_REDIS_URL",
                format!("redis://127.0.0.1:6379/{REDIS_DB}"),
            ),
            (
                "DEVICEVAULT_RESULTS_STREAM",
                format!("{name}:device:results"),
            ),
            (
                "DEVICEVAULT_STORAGE_RESULTS_STREAM",
                format!("{name}:storage:results"),
            ),
            ("DEVICEVAULT_DATABASE_URL", pg_url(&name)),
            (
                "DEVICEVAULT_DATA_DIR",
                work.join("data").display().to_string(),
            ),
            ("RUST_LOG", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .chain(overrides.iter().cloned())
        .collect();
        // From here on, `d` removes whatever was made if a step fails.
        let mut d = Self {
            name,
            env,
            children: Vec::new(),
            logs,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            password: String::new(),
            exe: exe.to_owned(),
            cleaned: false,
        };
        sh(Command::new("rabbitmqctl").args(["-q", "add_vhost", &d.name]))?;
        sh(Command::new("rabbitmqctl").args([
            "-q",
            "set_permissions",
            "-p",
            &d.name,
            "guest",
            ".*",
            ".*",
            ".*",
        ]))?;
        sh(Command::new("psql")
            .arg(pg_admin_url())
            .args(["-qc", &format!("CREATE DATABASE {}", d.name)]))?;
        d.start_api()?;
        for role in roles {
            let role: Vec<&str> = role.iter().map(String::as_str).collect();
            d.spawn(&role)?;
        }
        Ok(d)
    }

    fn start_api(&mut self) -> Result<(), LaunchError> {
        let args = ["api", "--http-addr", "127.0.0.1:0"];
        let mut child = self
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(self.log_file(&["api"])?)
            .spawn()
            .map_err(io("start the api role"))?;
        let stdout = child.stdout.take();
        self.children.push(("api".into(), child));
        let mut out = BufReader::new(stdout.ok_or_else(|| self.exited("api"))?);
        let mut line = String::new();
        loop {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                return Err(self.exited("api"));
            }
            if let Some(rest) = line.split("with password ").nth(1) {
                self.password = rest.split_whitespace().next().unwrap_or_default().into();
            }
            if let Some(rest) = line.strip_prefix("DeviceVault API is serving on http://") {
                self.addr = rest
                    .trim()
                    .trim_end_matches('/')
                    .parse()
                    .map_err(|_| self.exited("api"))?;
                break;
            }
        }
        // Keep draining, so the api never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        Ok(())
    }

    fn exited(&self, role: &str) -> LaunchError {
        LaunchError::RoleExited {
            role: role.to_owned(),
            logs: self.logs.clone(),
        }
    }

    /// The `devicevault` binary with `args` and the deployment's
    /// environment; no stdin, stdout or stderr.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// Starts one role with its own `/metrics` listener on a free loopback
    /// port (`DEVICEVAULT_METRICS_ADDR`); returns that address.
    pub fn spawn_with_metrics(&mut self, args: &[&str]) -> Result<SocketAddr, LaunchError> {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io("find a free port"))?;
        let child = self
            .command(args)
            .env("DEVICEVAULT_METRICS_ADDR", addr.to_string())
            .stderr(self.log_file(args)?)
            .spawn()
            .map_err(io(format!("start the {} role", args.join(" "))))?;
        self.children.push((args.join(" "), child));
        Ok(addr)
    }

    /// Starts one role (again), its stderr to a log file of its own.
    pub fn spawn(&mut self, args: &[&str]) -> Result<(), LaunchError> {
        let child = self
            .command(args)
            .stderr(self.log_file(args)?)
            .spawn()
            .map_err(io(format!("start the {} role", args.join(" "))))?;
        self.children.push((args.join(" "), child));
        Ok(())
    }

    /// A new file in the log directory for one process start.
    pub fn log_file(&self, args: &[&str]) -> Result<std::fs::File, LaunchError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let path = self.logs.join(format!(
            "{:02}-{}.log",
            SEQ.fetch_add(1, Ordering::Relaxed),
            args.join("-").replace(['/', ' '], "_")
        ));
        std::fs::File::create(&path).map_err(io(format!("create {}", path.display())))
    }

    /// Every log line every role has written so far.
    pub fn log_text(&self) -> String {
        let mut files: Vec<_> = std::fs::read_dir(&self.logs)
            .into_iter()
            .flatten()
            .filter_map(|e| Some(e.ok()?.path()))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect()
    }

    /// `kill -9` of the role whose command line starts with `role`; false
    /// if there is none.
    pub fn kill(&mut self, role: &str) -> bool {
        let Some(i) = self
            .children
            .iter()
            .position(|(name, _)| name.starts_with(role))
        else {
            return false;
        };
        let (_, mut child) = self.children.remove(i);
        let _ = child.kill();
        let _ = child.wait();
        true
    }

    /// The value of one variable of the deployment's environment.
    pub fn var(&self, key: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn database_url(&self) -> &str {
        self.var("DEVICEVAULT_DATABASE_URL")
    }

    /// Closes every client connection of this deployment's vhost and
    /// restarts the vhost (its queues come back from disk): a broker restart
    /// as the roles see it, without disturbing other deployments.
    pub fn restart_broker(&self) -> Result<(), LaunchError> {
        let conns = sh(Command::new("rabbitmqctl").args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "vhost",
        ]))?;
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
        sh(Command::new("rabbitmqctl").args(["restart_vhost", "--vhost", &self.name]))?;
        Ok(())
    }

    /// Stops and starts the whole RabbitMQ application: every vhost, every
    /// connection. Only for what runs alone (`scripts/test` runs those
    /// tests after the parallel suite).
    pub fn restart_broker_node(&self) -> Result<(), LaunchError> {
        sh(Command::new("rabbitmqctl").arg("stop_app"))?;
        std::thread::sleep(Duration::from_secs(2));
        sh(Command::new("rabbitmqctl").arg("start_app"))?;
        sh(Command::new("rabbitmqctl").arg("await_startup"))?;
        Ok(())
    }

    /// Waits until each of `queues` has a consumer, so a measurement starts
    /// with every role ready; fails early if a role has exited.
    pub fn wait_for_consumers(&self, queues: &[&str], within: Duration) -> Result<(), LaunchError> {
        let deadline = Instant::now() + within;
        loop {
            let listed = sh(Command::new("rabbitmqctl").args([
                "-q",
                "list_queues",
                "-p",
                &self.name,
                "--no-table-headers",
                "name",
                "consumers",
            ]))?;
            let ready = |q: &&str| {
                listed.lines().any(|l| {
                    let mut f = l.split_whitespace();
                    f.next() == Some(*q) && f.next().and_then(|n| n.parse::<u64>().ok()) > Some(0)
                })
            };
            if queues.iter().all(ready) {
                return Ok(());
            }
            if let Some((role, _)) = self.children.iter().find(|(_, c)| !is_running(c.id())) {
                return Err(self.exited(role));
            }
            if Instant::now() >= deadline {
                return Err(LaunchError::NoConsumers {
                    secs: within.as_secs(),
                    queues: queues
                        .iter()
                        .filter(|q| !ready(q))
                        .map(|q| q.to_string())
                        .collect(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops every process and removes the vhost, the database and the
    /// streams; says what could not be removed.
    pub fn clean_up(&mut self) -> Result<(), LaunchError> {
        if self.cleaned {
            return Ok(());
        }
        self.cleaned = true;
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let mut left = Vec::new();
        if let Err(e) = sh(Command::new("psql").arg(pg_admin_url()).args([
            "-qc",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ])) {
            left.push(format!("database: {e}"));
        }
        if let Err(e) = sh(Command::new("rabbitmqctl").args(["-q", "delete_vhost", &self.name])) {
            left.push(format!("vhost: {e}"));
        }
        let streams = [
            ":device:results",
            ":storage:results",
            ":device:results:dead",
            ":storage:results:dead",
        ]
        .map(|s| format!("{}{s}", self.name));
        if let Err(e) = sh(Command::new("redis-cli")
            .args(["-n", REDIS_DB, "DEL"])
            .args(&streams))
        {
            left.push(format!("streams: {e}"));
        }
        if left.is_empty() {
            Ok(())
        } else {
            Err(LaunchError::CleanUp {
                name: self.name.clone(),
                left: left.join("; "),
            })
        }
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if let Err(e) = self.clean_up() {
            eprintln!("devicevault-testkit: {e}");
        }
    }
}

/// Whether process `pid` is alive (not gone, not a zombie).
pub fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next().map(|st| st != "Z"))
        })
        .unwrap_or(false)
}
