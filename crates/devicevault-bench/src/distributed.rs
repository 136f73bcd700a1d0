//! `devicevault-bench distributed`: the distributed deployment measured end
//! to end, every role its own process (issue 6's performance figures).
//!
//! The bench starts a deployment isolated from everything else on the
//! machine (its own RabbitMQ vhost, PostgreSQL database and Redis stream
//! names, as the test harness does), runs each role as a child process of
//! this binary, and the device simulator inside this process. Then:
//!
//! 1. devices backed up per second, from the first `backup_now` until the
//!    last job is `stored`, with the CPU each role and each service used;
//! 2. latency of `GET /api/stored-backups/<id>/download/` (HTTP, the API's
//!    database lookups, and `storage.read` request/reply over RabbitMQ to
//!    the git storage worker), beside the parts it is made of;
//! 3. a Python Celery 5 client's `storage.read(...).get()` against our
//!    storage worker and against Python Celery workers reading the same
//!    version with GitPython (`bench/celery_read_bench.py`, the original's
//!    way: one keeps the repository open, one opens it per call), in the
//!    same run.
//!
//! Everything it created (vhost, database, streams, work directory) is
//! removed at the end, also when a phase fails.

use crate::util::{
    XorShift, free_port_range, ms, parse_lines, percentile, spread, spread_whole, thousands,
};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use devicevault_client::{HttpClient, HttpResponse};
use devicevault_core::Timestamp;
use devicevault_core::bus::{BusError, Task, TaskBus as _};
use devicevault_sim::{SimConfig, Simulator};
use serde_json::{Value, json};
use sqlx::{AnyConnection, AssertSqlSafe, Connection as _, Row as _};

use crate::proc_stats::{cpu_time, status_bytes};
use devicevault_server::limits::raise_nofile_limit;

/// The reference worker's module, written into the work directory at run
/// time so that the binary needs no source tree.
const CELERY_SCRIPT: &str = include_str!("../bench/celery_read_bench.py");
const CELERY_MODULE: &str = "celery_read_bench";
/// The GitPython workers: (name in the client's report, queue in the
/// bench's own vhost, `DEVICEVAULT_BENCH_GITPYTHON_REPO`, label).
const REFERENCES: [(&str, &str, &str, &str); 2] = [
    (
        "kept_open",
        "bench.gitpython.kept-open",
        "kept-open",
        "GitPython worker, repository kept open",
    ),
    (
        "per_call",
        "bench.gitpython.per-call",
        "per-call",
        "GitPython worker, repository opened per call",
    ),
];

#[derive(Debug, Args)]
pub struct DistributedBench {
    /// Devices in the simulated fleet, all backed up once.
    #[arg(long, default_value_t = 10_000)]
    devices: usize,
    /// Lines of configuration per device: `N`, or `MIN-MAX` to give each
    /// device a fixed size in that range (the default makes Cisco IOS
    /// configurations of about 2 KB to 40 KB, as `bench collect`).
    #[arg(long, default_value = "100-1800")]
    config_lines: String,
    /// Platforms of the fleet, comma-separated, assigned in turn.
    #[arg(long, value_delimiter = ',', default_value = "cisco_ios")]
    platform: Vec<String>,
    /// Connections sending the "backup now" requests at once.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Collector processes (each `collector --group default`).
    #[arg(long, default_value_t = 1)]
    collectors: usize,
    /// Git storage worker processes.
    #[arg(long, default_value_t = 1)]
    storage_workers: usize,
    /// `DEVICEVAULT_PREFETCH` of every role (default: the roles' own).
    #[arg(long)]
    prefetch: Option<u16>,
    /// Downloads timed (random stored backups, one keep-alive connection).
    #[arg(long, default_value_t = 2000)]
    downloads: usize,
    /// `storage.read` calls the Python client times against each worker.
    #[arg(long, default_value_t = 500)]
    celery_calls: usize,
    /// Skip the Python Celery comparison.
    #[arg(long)]
    no_celery: bool,
    /// Python with Celery (GitPython is installed into it when missing).
    /// Default: the workspace's `.venv-peers`, else `python3`.
    #[arg(long)]
    python: Option<PathBuf>,
    /// Directory under which the run's work directory is made (default:
    /// the system's temporary directory). Its file system is printed.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the work directory (repository, role logs) instead of deleting it.
    #[arg(long)]
    keep: bool,
    /// Ask for the backups in `POST /api/devices/bulk/` requests of this
    /// many devices each (one transaction of jobs per request, issue 15)
    /// instead of one `backup_now` POST per device: how a fleet of
    /// 100,000 is asked at once (the scheduler does the same in-process).
    #[arg(long)]
    bulk: Option<usize>,
    /// `DEVICEVAULT_SEARCH_CACHE_MB` of the api role (default: the role's
    /// own, 1,024 MiB): the memory its search cache may hold.
    #[arg(long)]
    search_cache_mb: Option<usize>,
    /// Devices backed up alone first, a fleet of this size, so that the
    /// storage worker's CPU per stored backup is measured at both sizes in
    /// one run (issue 21: within 1.25x); 0, or a fleet no larger, skips it.
    #[arg(long, default_value_t = 1000)]
    baseline: usize,
    /// Passes over the whole fleet: 2 also times a second "backup now" of
    /// every device with no configuration changed (no commit expected).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    passes: u8,
    /// Skip `git gc --aggressive` on a copy of the repository (the size it
    /// makes is the repository size's reference; it takes minutes at
    /// 100,000 devices).
    #[arg(long)]
    no_gc: bool,
    /// Serve the simulated fleet from one listener, each device at its own
    /// loopback address from 127.1.0.1, even when one listener per device
    /// would fit the open-files limit (a fleet that does not gets this
    /// anyway).
    #[arg(long)]
    address_block: bool,
}

pub fn run(args: DistributedBench) -> anyhow::Result<()> {
    if args.devices == 0
        || args.clients == 0
        || args.collectors == 0
        || args.storage_workers == 0
        || args.downloads == 0
        || args.celery_calls == 0
    {
        bail!(
            "--devices, --clients, --collectors, --storage-workers, --downloads and \
             --celery-calls must be positive"
        );
    }
    let known = devicevault_sim::platforms();
    if args.platform.is_empty() {
        bail!("--platform needs at least one platform");
    }
    if let Some(p) = args.platform.iter().find(|p| !known.contains(&p.as_str())) {
        bail!(
            "--platform: the simulator has no {p:?} (it has {})",
            known.join(", ")
        );
    }
    let lines = parse_lines(&args.config_lines)?;
    // The simulator's listeners and the client end of every collection in
    // flight live in this process: one listener per device while that fits
    // the open-files limit (as the 10,000-device figures were measured),
    // else the fleet in an address block behind one listener (issue 21).
    let reserve = 4096;
    let open_files = raise_nofile_limit(reserve)?;
    let mut sim_config = SimConfig {
        devices: args.devices,
        platforms: args.platform.clone(),
        config_lines: lines.0,
        config_lines_max: lines.1,
        address_block: args
            .address_block
            .then_some(devicevault_sim::ADDRESS_BLOCK_START),
        ..SimConfig::default()
    };
    let too_many = sim_config.spread_if_needed(open_files, reserve);
    let spread = sim_config.address_block.is_some();
    raise_nofile_limit(sim_config.listening_sockets() + reserve)?;
    for tool in ["rabbitmqctl", "psql", "redis-cli", "git"] {
        ensure!(
            have(tool),
            "`{tool}` is not installed; `scripts/test` installs the services this bench needs"
        );
    }
    let python = if args.no_celery {
        None
    } else {
        Some(python_with_celery(args.python.clone())?)
    };

    let parent = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent).with_context(|| format!("create {}", parent.display()))?;
    let work = tempfile::Builder::new()
        .prefix("devicevault-bench-distributed-")
        .tempdir_in(&parent)
        .with_context(|| format!("make a directory under {}", parent.display()))?;
    let work_path = std::path::absolute(work.path())?;

    println!(
        "distributed pipeline benchmark: {} devices ({}), {} lines of configuration each; \
         every role its own process, the simulator in this one",
        thousands(args.devices),
        args.platform.join(","),
        args.config_lines
    );
    print_machine(&work_path);

    if !spread {
        sim_config.base_port = free_port_range(args.devices)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let started = Instant::now();
    let sim = runtime
        .block_on(Simulator::start(sim_config))
        .context("start the simulated devices")?;
    println!(
        "simulator            {} in {:.1} s, this process's RSS {:.0} MB{}",
        sim.summary().trim_start_matches("devicevault-sim: "),
        started.elapsed().as_secs_f64(),
        status_bytes("self", "VmRSS")? as f64 / 1e6,
        if too_many {
            " (one listener: the fleet does not fit one per device)"
        } else {
            ""
        }
    );
    let outcome = match Deployment::start(&work_path, &args) {
        Ok(mut deployment) => {
            let outcome = runtime.block_on(measure(
                &args,
                &sim,
                &mut deployment,
                &work_path,
                python.as_deref(),
            ));
            if outcome.is_err() {
                println!(
                    "the roles' logs are in {} (kept)",
                    deployment.logs.display()
                );
            }
            let cleaned = deployment.clean_up();
            outcome.and(cleaned)
        }
        Err(e) => Err(e),
    };
    drop(sim);
    drop(runtime);
    if args.keep || outcome.is_err() {
        let kept = work.keep();
        println!("work directory kept: {}", kept.display());
    }
    outcome
}

// ---- the deployment ----------------------------------------------------------

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every role of a distributed deployment as a child process (the
/// test-kit's launcher), and where its git location keeps its repository.
struct Deployment {
    inner: devicevault_testkit::Deployment,
    repo: PathBuf,
}

impl std::ops::Deref for Deployment {
    type Target = devicevault_testkit::Deployment;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Deployment {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl Deployment {
    fn start(work: &Path, args: &DistributedBench) -> anyhow::Result<Self> {
        let mut env = Vec::new();
        if let Some(p) = args.prefetch {
            env.push(("DEVICEVAULT_PREFETCH".to_owned(), p.to_string()));
        }
        if let Some(mb) = args.search_cache_mb {
            env.push(("DEVICEVAULT_SEARCH_CACHE_MB".to_owned(), mb.to_string()));
        }
        let mut roles: Vec<Vec<String>> = vec![
            vec!["scheduler".into()],
            vec!["consume".into(), "device-results".into()],
            vec!["consume".into(), "storage-results".into()],
        ];
        for _ in 0..args.storage_workers {
            roles.push(
                ["storage-worker", "--backend", "git"]
                    .map(String::from)
                    .to_vec(),
            );
        }
        for _ in 0..args.collectors {
            roles.push(
                ["collector", "--group", "default"]
                    .map(String::from)
                    .to_vec(),
            );
        }
        let inner = devicevault_testkit::Deployment::start(
            &crate::util::devicevault_exe()?,
            work,
            "dvbench",
            &env,
            &roles,
        )?;
        println!(
            "deployment           vhost, database and stream prefix {} (removed at the end)",
            inner.name
        );
        ensure!(
            !inner.password.is_empty(),
            "the api did not print the first admin's password"
        );
        Ok(Self {
            inner,
            repo: work.join("backups.git"),
        })
    }

    fn wait_for_consumers(&self, queues: &[&str]) -> anyhow::Result<()> {
        Ok(self
            .inner
            .wait_for_consumers(queues, Duration::from_secs(60))?)
    }

    fn clean_up(&mut self) -> anyhow::Result<()> {
        Ok(self.inner.clean_up()?)
    }
}

// ---- CPU per process -----------------------------------------------------------

/// CPU time of each role, of this process, and of the services' processes
/// (found by name in `/proc`), at one instant.
struct CpuSnapshot {
    at: Instant,
    /// pid → (group, CPU time).
    procs: HashMap<u32, (String, Duration)>,
    order: Vec<String>,
}

impl CpuSnapshot {
    fn take(d: &Deployment) -> Self {
        let mut procs = HashMap::new();
        let mut order = Vec::new();
        let mut add = |pid: u32, group: &str, children: bool| {
            if let Ok(cpu) = cpu_time(&pid.to_string(), children) {
                procs.insert(pid, (group.to_owned(), cpu));
                if !order.iter().any(|g| g == group) {
                    order.push(group.to_owned());
                }
            }
        };
        for (label, child) in &d.children {
            // With children: the GitPython worker's `git` processes.
            add(child.id(), label, true);
        }
        add(
            std::process::id(),
            "bench process (simulator, HTTP clients)",
            false,
        );
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for e in dir.filter_map(Result::ok) {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
                let group = match comm.trim() {
                    "beam.smp" => "RabbitMQ (beam.smp)",
                    "redis-server" => "Redis",
                    "postgres" => "PostgreSQL (every postgres process)",
                    _ => continue,
                };
                add(pid, group, false);
            }
        }
        Self {
            at: Instant::now(),
            procs,
            order,
        }
    }

    /// CPU used per group since `before` (processes that exited in between
    /// are not counted), in the order groups were first seen.
    fn since(&self, before: &Self) -> (Duration, Vec<(String, Duration)>) {
        let mut by_group: HashMap<&str, Duration> = HashMap::new();
        for (pid, (group, cpu)) in &self.procs {
            let was = before
                .procs
                .get(pid)
                .filter(|(g, _)| g == group)
                .map_or(Duration::ZERO, |(_, c)| *c);
            *by_group.entry(group).or_default() += cpu.saturating_sub(was);
        }
        let rows = self
            .order
            .iter()
            .map(|g| {
                (
                    g.clone(),
                    by_group.get(g.as_str()).copied().unwrap_or_default(),
                )
            })
            .collect();
        (self.at - before.at, rows)
    }
}

/// Prints CPU per group: seconds, cores busy on average, and per unit.
fn print_cpu(before: &CpuSnapshot, after: &CpuSnapshot, units: usize, unit: &str) {
    let (wall, rows) = after.since(before);
    let total: Duration = rows.iter().map(|(_, c)| *c).sum();
    println!(
        "  {:<54} {:>8} {:>7} {:>12}",
        "process",
        "CPU s",
        "cores",
        format!("ms per {unit}")
    );
    for (group, cpu) in rows
        .iter()
        .chain(std::iter::once(&("all of the above".to_owned(), total)))
    {
        println!(
            "  {:<54} {:>8.2} {:>7.2} {:>12.3}",
            group,
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9),
            ms(*cpu) / units.max(1) as f64
        );
    }
}

// ---- the measurements ----------------------------------------------------------

async fn measure(
    args: &DistributedBench,
    sim: &Simulator,
    d: &mut Deployment,
    work: &Path,
    python: Option<&Path>,
) -> anyhow::Result<()> {
    let mut api = HttpClient::new(d.addr);
    let token = api.sign_in("admin", &d.password).await?;
    let addr = d.addr;
    let client = move || {
        let mut c = HttpClient::new(addr);
        c.token = Some(token.clone());
        c
    };

    // ---- inventory, through the API ----------------------------------------
    let t = Instant::now();
    let r = api
        .post(
            "/api/backup-locations/",
            &json!({"name": "Bench Git", "location_type": "git",
                    "config": {"repo_path": d.repo, "branch": "main"}}),
        )
        .await?;
    expect_status(&r, 201, "creating the location")?;
    let location = r.json();
    let d0 = &sim.devices()[0];
    let r = api
        .post(
            "/api/credentials/",
            &json!({"name": "Bench devices", "username": d0.username(),
                    "password": d0.password(), "enable_secret": d0.enable_secret()}),
        )
        .await?;
    expect_status(&r, 201, "creating the credential")?;
    // The fleet in imports of 10,000 lines (issue 15's path: one
    // transaction each), as a team onboarding 100,000 devices would; a
    // POST per device took minutes at that size.
    for chunk in sim.devices().chunks(10_000) {
        let mut csv = String::from("name,address,port,driver,credential,backup_location\n");
        for s in chunk {
            csv.push_str(&format!(
                "{},{},{},{},Bench devices,Bench Git\n",
                s.name(),
                s.addr().ip(),
                s.port(),
                s.platform()
            ));
        }
        let r = api
            .post(
                "/api/devices/import/",
                &json!({"format": "csv", "content": csv, "apply": true, "strict": true}),
            )
            .await?;
        expect_status(&r, 200, "importing the fleet")?;
        let created = r.json()["counts"]["create"].as_u64().unwrap_or(0);
        ensure!(
            created == chunk.len() as u64,
            "an import created {created} of {} devices: {}",
            chunk.len(),
            String::from_utf8_lossy(&r.body)
                .chars()
                .take(2000)
                .collect::<String>()
        );
    }
    println!(
        "inventory            {} devices, one credential, one git location, created through the API \
         (CSV imports of 10,000) in {:.1} s",
        thousands(sim.devices().len()),
        t.elapsed().as_secs_f64()
    );

    let queues = ["collector.group.default", "storage.git"];
    tokio::task::block_in_place(|| d.wait_for_consumers(&queues))?;
    sqlx::any::install_default_drivers();
    let db_url = d.var("DEVICEVAULT_DATABASE_URL").to_owned();
    let mut db = AnyConnection::connect(&db_url)
        .await
        .context("connect to the bench's database")?;
    let ids: Vec<i64> = sqlx::query("SELECT id FROM devices ORDER BY id")
        .fetch_all(&mut db)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    ensure!(
        ids.len() == args.devices,
        "{} devices in the database",
        ids.len()
    );

    let mut passes = Vec::new();
    let baseline = args.baseline.min(ids.len());
    if baseline > 0 && baseline < ids.len() {
        passes.push(
            backups(
                args,
                d,
                "1a",
                &ids[..baseline],
                "the baseline fleet, alone",
                &client,
                &mut db,
            )
            .await?,
        );
        passes.push(
            backups(
                args,
                d,
                "1b",
                &ids[baseline..],
                "the rest of the fleet",
                &client,
                &mut db,
            )
            .await?,
        );
    } else {
        passes.push(backups(args, d, "1", &ids, "every device", &client, &mut db).await?);
    }
    let first: Vec<&Pass> = passes.iter().collect();
    let second = if args.passes >= 2 {
        Some(
            backups(
                args,
                d,
                "2",
                &ids,
                "every device again, no configuration changed",
                &client,
                &mut db,
            )
            .await?,
        )
    } else {
        None
    };
    summarize_passes(&first, second.as_ref(), ids.len());
    // A repack the last stores started would share the cores with the
    // downloads: phase 2 measures the quiet system, after saying how long
    // the packing went on.
    let waited = tokio::task::block_in_place(|| d.wait_for_repacks(Duration::from_secs(300)))?;
    if !waited.is_zero() {
        println!(
            "packing              the storage worker's `git repack` ran {:.1} s past the last store; \
             downloads start after it",
            waited.as_secs_f64()
        );
    }
    // The API's search cache reads every new version (through the storage
    // worker) after a pass: the downloads are timed once that settled too,
    // and the wait is reported.
    let settled = tokio::task::block_in_place(|| d.wait_until_quiet(Duration::from_secs(600)))?;
    println!(
        "background           the API and the storage worker were busy {:.1} s past the last store \
         (the search cache reading the new versions); downloads start after it",
        settled.as_secs_f64()
    );
    downloads(args, d, &client, &mut db).await?;
    repository(args, d, work)?;
    peak_memory(d);
    match python {
        Some(python) => celery(args, d, work, python, &location["config"], &mut db).await?,
        None => println!("\nPython Celery comparison skipped (--no-celery)"),
    }
    println!("\nmachine at the end   {}", load());
    db.close().await?;
    Ok(())
}

/// What one pass of "backup now" measured.
struct Pass {
    label: &'static str,
    devices: usize,
    /// First POST to the last job `stored`.
    wall: Duration,
    /// The storage worker processes' CPU over the pass.
    storage_cpu: Duration,
    /// Stored backups of the pass that changed the version.
    changed: i64,
    /// Commits the pass added to the branch.
    commits: u64,
}

impl Pass {
    fn rate(&self) -> f64 {
        self.devices as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn storage_ms_per_backup(&self) -> f64 {
        ms(self.storage_cpu) / self.devices.max(1) as f64
    }
}

/// Commits on the location's branch.
fn commit_count(repo: &Path) -> anyhow::Result<u64> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["rev-list", "--count", "main"])
        .output()
        .context("run git rev-list")?;
    if !out.status.success() {
        // No branch yet: nothing was committed.
        return Ok(0);
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// Phase 1: "backup now" of `ids`, until each of their jobs is `stored`.
async fn backups(
    args: &DistributedBench,
    d: &Deployment,
    label: &'static str,
    ids: &[i64],
    what: &str,
    client: &impl Fn() -> HttpClient,
    db: &mut AnyConnection,
) -> anyhow::Result<Pass> {
    println!();
    println!(
        "1. pass {label}, {what}: {} `backup_now`{} on {} connection(s); collector prefetch {}, \
         {} collector process(es), {} git storage worker(s)",
        thousands(ids.len()),
        args.bulk
            .map_or(String::new(), |n| format!(" in bulk requests of {n}")),
        args.clients,
        args.prefetch
            .map_or("default (64)".to_owned(), |p| p.to_string()),
        args.collectors,
        args.storage_workers
    );
    // The pass's jobs are those after the newest one so far.
    let after: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM backup_jobs")
        .fetch_one(&mut *db)
        .await?
        .try_get("n")?;
    let commits0 = commit_count(&d.repo)?;
    let cpu0 = CpuSnapshot::take(d);
    let t0 = Instant::now();
    let t0_millis = Timestamp::now().unix_millis();
    let posted = Arc::new(AtomicUsize::new(0));
    let mut posters = tokio::task::JoinSet::new();
    for c in 0..args.clients.min(ids.len()) {
        let share: Vec<i64> = ids.iter().copied().skip(c).step_by(args.clients).collect();
        let mut conn = client();
        let posted = posted.clone();
        let bulk = args.bulk;
        posters.spawn(async move {
            let mut lat = Vec::with_capacity(share.len());
            if let Some(n) = bulk {
                for chunk in share.chunks(n.max(1)) {
                    let t = Instant::now();
                    let r = conn
                        .post(
                            "/api/devices/bulk/",
                            &json!({"action": "backup_now", "devices": chunk}),
                        )
                        .await?;
                    lat.push(t.elapsed());
                    expect_status(&r, 200, "a bulk backup_now")?;
                    let v = r.json();
                    ensure!(
                        v["changed"].as_u64() == Some(chunk.len() as u64),
                        "a bulk backup_now accepted {} of {} devices: {v}",
                        v["changed"],
                        chunk.len()
                    );
                    posted.fetch_add(chunk.len(), Ordering::Relaxed);
                }
                return anyhow::Ok(lat);
            }
            for id in share {
                let t = Instant::now();
                let r = conn
                    .post(&format!("/api/devices/{id}/backup_now/"), &json!({}))
                    .await?;
                lat.push(t.elapsed());
                expect_status(&r, 202, &format!("backup_now of device {id}"))?;
                posted.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(lat)
        });
    }
    let mut post_lat = Vec::with_capacity(ids.len());
    let mut posts_done = None;
    let mut timeline = Vec::new();
    let mut next_sample = Duration::ZERO;
    let (mut last_stored, mut last_progress) = (-1i64, Instant::now());
    let want = ids.len() as i64;
    loop {
        while let Some(joined) = posters.try_join_next() {
            post_lat.extend(joined.context("a backup_now task panicked")??);
        }
        if posts_done.is_none() && posters.is_empty() {
            posts_done = Some(t0.elapsed());
        }
        let states = job_states(db, after).await?;
        let n = |k: &str| states.get(k).copied().unwrap_or(0);
        if n("failed") > 0 {
            let reasons: Vec<String> = sqlx::query(
                "SELECT task_identifier, reason FROM backup_jobs WHERE state = 'failed' \
                 AND id > $1 ORDER BY id LIMIT 5",
            )
            .bind(after)
            .fetch_all(&mut *db)
            .await?
            .iter()
            .map(|r| {
                format!(
                    "{}: {}",
                    r.try_get::<String, _>("task_identifier")
                        .unwrap_or_default(),
                    r.try_get::<Option<String>, _>("reason")
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                )
            })
            .collect();
            bail!(
                "{} backup jobs FAILED after {:.1} s, e.g. {}",
                n("failed"),
                t0.elapsed().as_secs_f64(),
                reasons.join("; ")
            );
        }
        if t0.elapsed() >= next_sample {
            timeline.push(format!(
                "{:>6.1} s  {:>6} {:>6} {:>6} {:>6}   {:>6}",
                t0.elapsed().as_secs_f64(),
                n("queued"),
                n("collecting"),
                n("collected"),
                n("stored"),
                posted.load(Ordering::Relaxed)
            ));
            next_sample += Duration::from_secs(5);
        }
        let stored = n("stored");
        if stored >= want && posters.is_empty() {
            break;
        }
        if stored != last_stored {
            (last_stored, last_progress) = (stored, Instant::now());
        } else if last_progress.elapsed() > Duration::from_secs(120) {
            bail!(
                "no job reached `stored` for 120 s ({stored} of {want} after {:.0} s; {states:?})",
                t0.elapsed().as_secs_f64()
            );
        }
        // Counting the pass's jobs reads every one of them: at 100,000 a
        // count is work PostgreSQL shares the cores with the pipeline for,
        // so a large pass is looked at less often. The wall time is read
        // from the jobs' own timestamps, whatever the polling.
        tokio::time::sleep(if want > 10_000 {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(200)
        })
        .await;
    }
    let seen = t0.elapsed();
    let cpu1 = CpuSnapshot::take(d);
    let last: String = sqlx::query(
        "SELECT MAX(updated_at) AS t FROM backup_jobs WHERE state = 'stored' AND id > $1",
    )
    .bind(after)
    .fetch_one(&mut *db)
    .await?
    .try_get("t")?;
    let wall = Duration::from_millis(
        u64::try_from(Timestamp::parse(&last)?.unix_millis() - t0_millis).unwrap_or(0),
    );
    let of_pass = "FROM stored_backups s JOIN backup_jobs j ON j.task_identifier = s.task_identifier \
                   WHERE j.id > $1 AND s.status = 'success'";
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN s.changed = 1 THEN 1 ELSE 0 END), 0) AS c {of_pass}"
    )))
    .bind(after)
    .fetch_one(&mut *db)
    .await?;
    let (stored_ok, changed): (i64, i64) = (row.try_get("n")?, row.try_get("c")?);
    ensure!(
        stored_ok == want,
        "{stored_ok} successful stored backups for {want} jobs"
    );
    let commits = commit_count(&d.repo)?.saturating_sub(commits0);
    let rate = want as f64 / wall.as_secs_f64();
    post_lat.sort();
    println!(
        "backed up            {} of {} devices in {:.2} s (first POST to the last job `stored`), \
         0 failed; the POSTs took {:.2} s",
        thousands(ids.len()),
        thousands(ids.len()),
        wall.as_secs_f64(),
        posts_done.unwrap_or(seen).as_secs_f64()
    );
    println!("throughput           {rate:.0} devices/s end to end");
    println!(
        "commits              {commits} added to the branch for {changed} changed version(s) \
         (one per change: {})",
        verdict(commits == u64::try_from(changed).unwrap_or(0))
    );
    match args.bulk {
        Some(n) => println!(
            "bulk request         {} (each of up to {n} devices)",
            spread(&post_lat)
        ),
        None => println!("backup_now request   {}", spread(&post_lat)),
    }
    let sizes: Vec<i64> = sqlx::query(AssertSqlSafe(format!("SELECT s.size AS size {of_pass}")))
        .bind(after)
        .fetch_all(&mut *db)
        .await?
        .iter()
        .filter_map(|r| r.try_get::<Option<i64>, _>("size").ok().flatten())
        .collect();
    if let (Some(min), Some(max)) = (sizes.iter().min(), sizes.iter().max()) {
        println!(
            "configuration size   {:.1} KB to {:.1} KB, {:.1} KB average (as stored)",
            *min as f64 / 1000.0,
            *max as f64 / 1000.0,
            sizes.iter().sum::<i64>() as f64 / sizes.len() as f64 / 1000.0
        );
    }
    print_stages(db, after).await?;
    println!(
        "CPU while backing up (from /proc; {:.1} s)",
        seen.as_secs_f64()
    );
    print_cpu(&cpu0, &cpu1, ids.len(), "device");
    let (_, rows) = cpu1.since(&cpu0);
    let storage_cpu = rows
        .iter()
        .filter(|(g, _)| g.starts_with("storage-worker"))
        .map(|(_, c)| *c)
        .sum();
    println!("jobs by state, every 5 s:");
    println!(
        "  {:>8}  {:>6} {:>6} {:>6} {:>6}   {:>6}",
        "time", "queued", "collec", "colled", "stored", "POSTed"
    );
    for line in timeline {
        println!("  {line}");
    }
    Ok(Pass {
        label,
        devices: ids.len(),
        wall,
        storage_cpu,
        changed,
        commits,
    })
}

/// The figures issue 21 names, from the passes: the first pass's rate, the
/// storage worker's CPU per stored backup at the baseline's size and at
/// the whole fleet's, and the second pass against the first.
fn summarize_passes(first: &[&Pass], second: Option<&Pass>, fleet: usize) {
    println!();
    println!("passes");
    let devices: usize = first.iter().map(|p| p.devices).sum();
    let wall: Duration = first.iter().map(|p| p.wall).sum();
    let rate = devices as f64 / wall.as_secs_f64().max(1e-9);
    println!(
        "  first pass           {} devices in {:.1} s: {rate:.0} devices/s (target >= 150 devices/s \
         at 100,000 devices) {}",
        thousands(devices),
        wall.as_secs_f64(),
        if fleet >= 100_000 {
            verdict(rate >= 150.0)
        } else {
            "(a smaller fleet: no verdict)"
        }
    );
    for p in first.iter().copied().chain(second) {
        println!(
            "  pass {:<3}             {:>7} devices, {:>5.0} devices/s, storage worker CPU {:.3} ms \
             per stored backup, {} commits for {} changes",
            p.label,
            thousands(p.devices),
            p.rate(),
            p.storage_ms_per_backup(),
            p.commits,
            p.changed
        );
    }
    if let [small, large] = first {
        let ratio = large.storage_ms_per_backup() / small.storage_ms_per_backup().max(1e-9);
        println!(
            "  storage worker CPU per stored backup: {:.3} ms with the fleet growing to {} devices \
             against {:.3} ms at {} devices: {ratio:.2}x (target <= 1.25x) {}",
            large.storage_ms_per_backup(),
            thousands(fleet),
            small.storage_ms_per_backup(),
            thousands(small.devices),
            verdict(ratio <= 1.25)
        );
    }
    if let Some(p2) = second {
        let ratio = p2.rate() / rate.max(1e-9);
        println!(
            "  second pass          {:.0} devices/s, {ratio:.2}x the first (target >= 1.5x) {}; \
             {} commits (target: none) {}",
            p2.rate(),
            verdict(ratio >= 1.5),
            p2.commits,
            verdict(p2.commits == 0)
        );
    }
}

/// The repository after the run: `git fsck --strict`, its size, and the
/// size `git gc --aggressive` makes of a copy of it.
fn repository(args: &DistributedBench, d: &Deployment, work: &Path) -> anyhow::Result<()> {
    println!();
    println!("3. the repository");
    let t = Instant::now();
    let fsck = Command::new("git")
        .arg("--git-dir")
        .arg(&d.repo)
        .args(["fsck", "--strict", "--no-progress"])
        .output()
        .context("run git fsck")?;
    let problems = String::from_utf8_lossy(&fsck.stdout).lines().count()
        + String::from_utf8_lossy(&fsck.stderr)
            .lines()
            .filter(|l| !l.starts_with("Checking") && !l.trim().is_empty())
            .count();
    println!(
        "git fsck --strict    {} in {:.1} s{}",
        if fsck.status.success() && problems == 0 {
            "clean"
        } else {
            "FAILED"
        },
        t.elapsed().as_secs_f64(),
        if problems > 0 {
            format!(
                ": {}",
                String::from_utf8_lossy(&fsck.stderr)
                    .lines()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        } else {
            String::new()
        }
    );
    let size = dir_bytes(&d.repo)?;
    let counts = Command::new("git")
        .arg("--git-dir")
        .arg(&d.repo)
        .args(["count-objects", "-v"])
        .output()
        .context("run git count-objects")?;
    let counts = String::from_utf8_lossy(&counts.stdout)
        .lines()
        .filter(|l| l.starts_with("count:") || l.starts_with("packs:"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "repository           {:.1} MB on disk ({counts})",
        size as f64 / 1e6
    );
    if args.no_gc {
        println!("git gc --aggressive  skipped (--no-gc)");
        return Ok(());
    }
    let copy = work.join("gc-aggressive.git");
    let t = Instant::now();
    let cloned = Command::new("git")
        .args(["clone", "--quiet", "--mirror", "--no-local"])
        .arg(&d.repo)
        .arg(&copy)
        .status()
        .context("copy the repository")?;
    ensure!(
        cloned.success(),
        "git clone --mirror of the repository failed"
    );
    let gc = Command::new("git")
        .arg("--git-dir")
        .arg(&copy)
        .args(["gc", "--aggressive", "--prune=now", "--quiet"])
        .status()
        .context("run git gc --aggressive")?;
    ensure!(gc.success(), "git gc --aggressive failed");
    let packed = dir_bytes(&copy)?;
    let ratio = size as f64 / packed.max(1) as f64;
    println!(
        "git gc --aggressive  a copy of it packed to {:.1} MB in {:.0} s: the repository is {ratio:.2}x \
         that (target <= 2x) {}",
        packed as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        verdict(ratio <= 2.0)
    );
    std::fs::remove_dir_all(&copy).ok();
    Ok(())
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let e = e?;
        let meta = e.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&e.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// Each role's peak resident memory (`VmHWM`), against issue 21's bounds.
fn peak_memory(d: &Deployment) {
    println!();
    println!("4. peak memory of each process (VmHWM)");
    for (role, child) in &d.children {
        let bound = if role == "api" {
            Some(200)
        } else if role.starts_with("storage-worker") {
            Some(300)
        } else if role.starts_with("consume") {
            Some(150)
        } else {
            None
        };
        match status_bytes(&child.id().to_string(), "VmHWM") {
            Ok(b) => {
                let mb = b as f64 / 1e6;
                println!(
                    "  {role:<40} {mb:>7.1} MB{}",
                    bound.map_or(String::new(), |m| format!(
                        " (target <= {m} MB) {}",
                        verdict(mb <= f64::from(m))
                    ))
                );
            }
            Err(e) => println!("  {role:<40} unknown ({e})"),
        }
    }
    if let Ok(b) = status_bytes("self", "VmHWM") {
        println!(
            "  {:<40} {:>7.1} MB (reported)",
            "bench process (simulator, HTTP clients)",
            b as f64 / 1e6
        );
    }
}

async fn job_states(db: &mut AnyConnection, after: i64) -> anyhow::Result<HashMap<String, i64>> {
    let mut states = HashMap::new();
    for r in
        sqlx::query("SELECT state, COUNT(*) AS n FROM backup_jobs WHERE id > $1 GROUP BY state")
            .bind(after)
            .fetch_all(db)
            .await?
    {
        states.insert(r.try_get("state")?, r.try_get("n")?);
    }
    Ok(states)
}

/// Where a job's time went, from the rows each stage wrote.
async fn print_stages(db: &mut AnyConnection, after: i64) -> anyhow::Result<()> {
    let rows = sqlx::query(
        "SELECT j.queued_on AS q, r.timestamp AS c, r.collection_duration_ms AS d, \
         s.timestamp AS s, j.updated_at AS u FROM backup_jobs j \
         JOIN device_backup_results r ON r.task_identifier = j.task_identifier \
         JOIN stored_backups s ON s.task_identifier = j.task_identifier WHERE j.id > $1",
    )
    .bind(after)
    .fetch_all(db)
    .await?;
    let millis = |s: String| Timestamp::parse(&s).map(|t| t.unix_millis()).ok();
    let mut stages: [Vec<Duration>; 5] = Default::default();
    for r in &rows {
        let (Some(q), Some(c), Some(s), Some(u)) = (
            millis(r.try_get("q")?),
            millis(r.try_get("c")?),
            millis(r.try_get("s")?),
            millis(r.try_get("u")?),
        ) else {
            continue;
        };
        let span = |a: i128, b: i128| Duration::from_millis(u64::try_from(b - a).unwrap_or(0));
        stages[0].push(span(q, u));
        stages[1].push(span(q, c));
        stages[2].push(Duration::from_millis(
            u64::try_from(r.try_get::<i64, _>("d")?).unwrap_or(0),
        ));
        stages[3].push(span(c, s));
        stages[4].push(span(s, u));
    }
    for s in &mut stages {
        s.sort();
    }
    println!("job latency          {}", spread_whole(&stages[0]));
    println!(
        "  queued → collected {} (waiting in collector.group.default included)",
        spread_whole(&stages[1])
    );
    println!(
        "    of which the collection itself {}",
        spread_whole(&stages[2])
    );
    println!(
        "  collected → stored {} (device:results, result consumer, storage.git, git group commit)",
        spread_whole(&stages[3])
    );
    println!(
        "  stored → job final {} (storage:results, storage-results consumer)",
        spread_whole(&stages[4])
    );
    Ok(())
}

impl Deployment {
    /// Waits until no storage worker has a `git` child (its background
    /// repack); returns how long that took.
    fn wait_for_repacks(&self, patience: Duration) -> anyhow::Result<Duration> {
        let workers: Vec<u32> = self
            .children
            .iter()
            .filter(|(role, _)| role.starts_with("storage-worker"))
            .map(|(_, c)| c.id())
            .collect();
        let started = Instant::now();
        while git_children(&workers) {
            ensure!(
                started.elapsed() < patience,
                "a storage worker's git repack still runs after {patience:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(started.elapsed())
    }
}

impl Deployment {
    /// Waits until the API and the storage workers use less than 5 % of a
    /// core over two consecutive seconds; returns how long that took.
    fn wait_until_quiet(&self, patience: Duration) -> anyhow::Result<Duration> {
        let pids: Vec<String> = self
            .children
            .iter()
            .filter(|(role, _)| role == "api" || role.starts_with("storage-worker"))
            .map(|(_, c)| c.id().to_string())
            .collect();
        let busy = || -> anyhow::Result<Duration> {
            pids.iter()
                .map(|p| crate::proc_stats::cpu_time(p, true))
                .sum::<anyhow::Result<Duration>>()
        };
        let started = Instant::now();
        let mut quiet = 0;
        let mut before = busy()?;
        while quiet < 2 {
            ensure!(
                started.elapsed() < patience,
                "the API and the storage worker are still busy after {patience:?}"
            );
            std::thread::sleep(Duration::from_secs(1));
            let now = busy()?;
            quiet = if now - before < Duration::from_millis(50) {
                quiet + 1
            } else {
                0
            };
            before = now;
        }
        Ok(started.elapsed())
    }
}

/// Whether any of `parents` has a child process named `git`.
fn git_children(parents: &[u32]) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.filter_map(Result::ok).any(|p| {
        let Ok(stat) = std::fs::read_to_string(p.path().join("stat")) else {
            return false;
        };
        // pid (comm) state ppid …; comm may hold spaces, so split after ')'.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            return false;
        };
        let comm = head.split_once(" (").map_or("", |(_, c)| c);
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u32>().ok());
        comm == "git" && ppid.is_some_and(|pp| parents.contains(&pp))
    })
}

/// Phase 2: downloads through the API, and the parts they are made of.
async fn downloads(
    args: &DistributedBench,
    d: &Deployment,
    client: &impl Fn() -> HttpClient,
    db: &mut AnyConnection,
) -> anyhow::Result<()> {
    let stored: Vec<(i64, i64)> = sqlx::query("SELECT id, size FROM stored_backups ORDER BY id")
        .fetch_all(&mut *db)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get::<Option<i64>, _>("size")?.unwrap_or(-1),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    ensure!(!stored.is_empty(), "nothing was stored");
    println!();
    println!(
        "2. download: GET /api/stored-backups/<random id>/download/, sequential, one keep-alive connection"
    );
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut conn = client();
    const WARM_UP: usize = 50;
    let mut dl = Vec::with_capacity(args.downloads);
    let mut bytes = 0usize;
    let mut cpu0 = None;
    for i in 0..args.downloads + WARM_UP {
        if i == WARM_UP {
            cpu0 = Some(CpuSnapshot::take(d));
        }
        let (id, size) = stored[rng.below(stored.len())];
        let path = format!("/api/stored-backups/{id}/download/");
        let t = Instant::now();
        let r = conn.get(&path).await?;
        let took = t.elapsed();
        expect_status(&r, 200, &format!("GET {path}"))?;
        ensure!(
            size < 0 || r.body.len() as i64 == size,
            "GET {path} returned {} bytes; the stored backup has {size}",
            r.body.len()
        );
        if i >= WARM_UP {
            dl.push(took);
            bytes += r.body.len();
        }
    }
    let cpu1 = CpuSnapshot::take(d);
    dl.sort();
    let p50 = percentile(&dl, 50.0);
    println!(
        "download             {} over {} GETs ({:.1} KB average), HTTP included \
         (target: p50 <= 2 ms) {}",
        spread(&dl),
        thousands(dl.len()),
        bytes as f64 / dl.len() as f64 / 1000.0,
        verdict(p50 <= Duration::from_millis(2))
    );

    // The parts: the same API without storage.read, and storage.read
    // without the API.
    let mut meta = Vec::with_capacity(500);
    for i in 0..500 + WARM_UP {
        let (id, _) = stored[rng.below(stored.len())];
        let path = format!("/api/stored-backups/{id}/");
        let t = Instant::now();
        let r = conn.get(&path).await?;
        let took = t.elapsed();
        expect_status(&r, 200, &format!("GET {path}"))?;
        if i >= WARM_UP {
            meta.push(took);
        }
    }
    meta.sort();
    println!(
        "  without storage.read: GET /api/stored-backups/<id>/ (token check, the row) {}",
        spread(&meta)
    );
    let refs: Vec<(String, String)> =
        sqlx::query("SELECT storage_ref, task_identifier FROM stored_backups ORDER BY id")
            .fetch_all(&mut *db)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("storage_ref")?, r.try_get("task_identifier")?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let bus = devicevault_bus::amqp::AmqpBus::connect(d.var("DEVICEVAULT_BROKER_URL"), 1)
        .await
        .context("connect to the bench's vhost")?;
    let read_task = |storage_ref: &str, ti: &str| {
        let mut kwargs = serde_json::Map::new();
        kwargs.insert("storage_backend".into(), "git".into());
        kwargs.insert("storage_ref".into(), storage_ref.into());
        kwargs.insert(
            "storage_config".into(),
            json!({"repo_path": d.repo, "branch": "main"}),
        );
        kwargs.insert("task_identifier".into(), ti.into());
        kwargs.insert("is_binary".into(), false.into());
        Task {
            id: devicevault_pipeline::roles::new_task_id(),
            name: "storage.read".into(),
            args: Vec::new(),
            kwargs,
            retries: 0,
        }
    };
    let mut calls = Vec::with_capacity(500);
    for i in 0..500 + WARM_UP {
        let (storage_ref, ti) = &refs[rng.below(refs.len())];
        let task = read_task(storage_ref, ti);
        let t = Instant::now();
        let reply = bus
            .call("storage.git", task, Duration::from_secs(60))
            .await
            .context("storage.read from the bench")?;
        let took = t.elapsed();
        ensure!(
            reply["content"].is_string(),
            "storage.read replied without content: {reply}"
        );
        if i >= WARM_UP {
            calls.push(took);
        }
    }
    calls.sort();
    println!(
        "  without the API: storage.read request/reply on storage.git from this process (lapin) {}",
        spread(&calls)
    );
    // A ref the worker rejects before touching the repository: what is
    // left is RabbitMQ both ways and the worker's dispatch.
    let mut bare = Vec::with_capacity(500);
    for i in 0..500 + WARM_UP {
        let task = read_task("bench-not-a-git-ref", "bench");
        let t = Instant::now();
        let reply = bus.call("storage.git", task, Duration::from_secs(60)).await;
        let took = t.elapsed();
        ensure!(
            matches!(reply, Err(BusError::Remote(_))),
            "storage.read of a malformed ref: expected the worker's refusal, got {reply:?}"
        );
        if i >= WARM_UP {
            bare.push(took);
        }
    }
    bare.sort();
    println!(
        "  without git: the same request/reply with a ref the worker refuses before any read {}",
        spread(&bare)
    );
    println!(
        "CPU during the {} downloads (from /proc)",
        thousands(dl.len())
    );
    if let Some(cpu0) = cpu0 {
        print_cpu(&cpu0, &cpu1, dl.len(), "download");
    }
    Ok(())
}

/// Phase 3: a Python Celery client's `storage.read(...).get()` against our
/// worker and against the GitPython Celery workers, on the same version.
async fn celery(
    args: &DistributedBench,
    d: &mut Deployment,
    work: &Path,
    python: &Path,
    location_config: &Value,
    db: &mut AnyConnection,
) -> anyhow::Result<()> {
    // The stored backup of median size.
    let rows = sqlx::query(
        "SELECT storage_ref, task_identifier, sha256, size FROM stored_backups ORDER BY size, id",
    )
    .fetch_all(&mut *db)
    .await?;
    let row = rows.get(rows.len() / 2).context("nothing was stored")?;
    let storage_ref: String = row.try_get("storage_ref")?;
    let sha256: Option<String> = row.try_get("sha256")?;
    let size: Option<i64> = row.try_get("size")?;
    let kwargs = json!({
        "storage_backend": "git",
        "storage_ref": storage_ref,
        "storage_config": location_config,
        "task_identifier": row.try_get::<String, _>("task_identifier")?,
        "is_binary": false,
    });
    println!();
    println!(
        "3. Python Celery 5 client, storage.read(...).get(timeout=60), {} sequential calls against each \
         worker, the same version ({}, {:.1} KB, the median size)",
        args.celery_calls,
        storage_ref,
        size.unwrap_or(0) as f64 / 1000.0
    );
    std::fs::write(work.join(format!("{CELERY_MODULE}.py")), CELERY_SCRIPT)?;
    let broker = d.var("DEVICEVAULT_BROKER_URL").to_owned();
    for (name, queue, mode, label) in REFERENCES {
        let log = File::create(d.logs.join(format!("celery-{name}.log")))?;
        let worker = Command::new(python)
            .args(["-m", "celery", "-A", CELERY_MODULE, "worker", "-Q", queue])
            .args(["--pool=solo", "--without-heartbeat", "--without-gossip"])
            .args(["--without-mingle", "-l", "warning", "-n"])
            .arg(format!("{name}@%h"))
            .current_dir(work)
            .env("DEVICEVAULT_BENCH_BROKER_URL", &broker)
            .env("DEVICEVAULT_BENCH_GITPYTHON_REPO", mode)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("start a GitPython Celery worker")?;
        d.children.push((format!("Celery {label} (solo)"), worker));
    }
    let queues: Vec<&str> = REFERENCES.iter().map(|r| r.1).collect();
    tokio::task::block_in_place(|| d.wait_for_consumers(&queues))?;

    let cpu0 = CpuSnapshot::take(d);
    let out = tokio::task::block_in_place(|| {
        Command::new(python)
            .arg(format!("{CELERY_MODULE}.py"))
            .arg("client")
            .arg(args.celery_calls.to_string())
            .arg(kwargs.to_string())
            .arg("ours=storage.git")
            .args(REFERENCES.iter().map(|r| format!("{}={}", r.0, r.1)))
            .current_dir(work)
            .env("DEVICEVAULT_BENCH_BROKER_URL", &broker)
            .stdin(Stdio::null())
            .output()
    })
    .context("run the Python Celery client")?;
    let cpu1 = CpuSnapshot::take(d);
    ensure!(
        out.status.success(),
        "the Python Celery client failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let report: Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .context("the Python Celery client printed no JSON report")?;
    let latencies = |name: &str| -> anyhow::Result<Vec<Duration>> {
        let c = &report["content"][name];
        ensure!(
            sha256.is_none() || c["sha256"].as_str() == sha256.as_deref(),
            "the {name} worker returned other content ({} bytes, sha256 {}) than was stored \
             ({size:?} bytes, sha256 {sha256:?})",
            c["bytes"],
            c["sha256"]
        );
        let mut v: Vec<Duration> = report["latencies_ms"][name]
            .as_array()
            .with_context(|| format!("no latencies for {name}"))?
            .iter()
            .filter_map(Value::as_f64)
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .collect();
        v.sort();
        Ok(v)
    };
    let ours = latencies("ours")?;
    println!(
        "  {:<48} {}",
        "devicevault storage-worker (storage.git)",
        spread(&ours)
    );
    let mut refs = Vec::new();
    for (name, _, _, label) in REFERENCES {
        let v = latencies(name)?;
        println!("  {label:<48} {}", spread(&v));
        refs.push((label, v));
    }
    for (label, v) in &refs {
        let ratio =
            |p: f64| percentile(&ours, p).as_secs_f64() / percentile(v, p).as_secs_f64().max(1e-9);
        println!(
            "  ratio ours / {label}: p50 {:.2}x, p99 {:.2}x",
            ratio(50.0),
            ratio(99.0)
        );
    }
    println!(
        "  (every worker returned the stored bytes; the Python client's own Celery overhead is in every figure; \
         the 3.7 ms anchor for the original was measured on this machine)"
    );
    let calls = (1 + REFERENCES.len()) * args.celery_calls;
    println!(
        "CPU during the {} Celery calls (from /proc)",
        thousands(calls)
    );
    print_cpu(&cpu0, &cpu1, calls, "call");
    // Each worker served its own share (20 warm-up calls included).
    let served = args.celery_calls + 20;
    let (_, rows) = cpu1.since(&cpu0);
    let per_call = |group: &str| {
        rows.iter()
            .find(|(g, _)| g == group)
            .map_or(f64::NAN, |(_, c)| ms(*c) / served as f64)
    };
    let mut parts = vec![format!(
        "ours {:.2} ms",
        per_call("storage-worker --backend git")
    )];
    for (_, _, _, label) in REFERENCES {
        parts.push(format!(
            "{label} {:.2} ms",
            per_call(&format!("Celery {label} (solo)"))
        ));
    }
    println!(
        "  worker CPU per call it served: {} (GitPython's include its git processes)",
        parts.join(", ")
    );
    Ok(())
}

// ---- Python --------------------------------------------------------------------

/// A Python that imports Celery and GitPython, installing GitPython (with
/// that Python's pip) when it is missing.
fn python_with_celery(choice: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let python = choice.unwrap_or_else(|| {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers/bin/python");
        if venv.exists() {
            venv
        } else {
            PathBuf::from("python3")
        }
    });
    let imports = |module: &str| {
        Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    ensure!(
        imports("celery"),
        "{} cannot import celery; create the peers' venv (`python3 -m venv .venv-peers && \
         .venv-peers/bin/pip install celery GitPython`), pass --python, or --no-celery",
        python.display()
    );
    if !imports("git") {
        println!(
            "installing GitPython into {} (pip), for the reference worker",
            python.display()
        );
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "GitPython"])
            .status()
            .context("run pip")?;
        ensure!(
            status.success() && imports("git"),
            "installing GitPython failed"
        );
    }
    Ok(python)
}

// ---- small helpers ---------------------------------------------------------------

fn expect_status(r: &HttpResponse, status: u16, what: &str) -> anyhow::Result<()> {
    if r.status != status {
        bail!(
            "{what}: HTTP {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

fn print_machine(work: &Path) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        })
        .map_or("?".into(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1_048_576.0)
        });
    println!(
        "machine              {cores} cores ({model}), {mem} RAM, {}",
        load()
    );
    let fs =
        filesystem_of(work).map_or("unknown file system".into(), |(t, s)| format!("{t} on {s}"));
    println!(
        "work dir             {} ({fs}); the git repository and the roles' logs live there",
        work.display()
    );
    let first_line = |cmd: &mut Command| {
        cmd.output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "?".into())
    };
    let rabbit = first_line(Command::new("rabbitmqctl").args(["-q", "version"]));
    let pg = first_line(
        Command::new("psql")
            .arg(devicevault_testkit::pg_admin_url())
            .args(["-tAc", "SHOW server_version"]),
    );
    let redis = first_line(Command::new("redis-cli").args(["INFO", "server"]));
    let redis = redis
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned();
    println!(
        "services             RabbitMQ {rabbit}, PostgreSQL {pg}, Redis {redis} (shared with the machine's other users)"
    );
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or("load average unknown".into(), |l| {
        let f: Vec<&str> = l.split_whitespace().take(3).collect();
        format!("load average {}", f.join(" "))
    })
}

/// File system type and source of `path` (the longest mount point that
/// contains it, from `/proc/self/mountinfo`).
fn filesystem_of(path: &Path) -> Option<(String, String)> {
    let path = std::fs::canonicalize(path).ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String, String)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mount), Some(fstype), Some(source)) =
            (fields.get(4), fields.get(dash + 1), fields.get(dash + 2))
        else {
            continue;
        };
        // Mount points with spaces are escaped (`\040`); none matters here.
        if path.starts_with(mount) {
            let depth = Path::new(mount).components().count();
            if best.as_ref().is_none_or(|b| depth >= b.0) {
                best = Some((depth, (*fstype).to_owned(), (*source).to_owned()));
            }
        }
    }
    best.map(|(_, t, s)| (t, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(51));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn the_reference_worker_script_is_embedded_whole() {
        assert!(CELERY_SCRIPT.contains("name=\"storage.read\""));
        assert!(CELERY_SCRIPT.contains("def client("));
    }
}
