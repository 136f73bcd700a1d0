//! `devicevault-bench pipeline`: the whole embedded pipeline in one process
//! (simulated fleet, API, collector, result consumers, git storage worker,
//! SQLite), measured through the REST API:
//!
//! 1. devices backed up per second end to end, from the first
//!    `POST /api/devices/<id>/backup_now/` until every job is `stored`
//!    (with `--bulk`: from one `POST /api/devices/bulk/` for four fifths of
//!    the fleet, the last fifth asked one at a time while the pipeline runs);
//! 2. latency of `GET /api/stored-backups/<id>/download/` (HTTP included);
//! 3. latency of `GET /api/stored-backups/?device=<id>` once the table holds
//!    `--rows` stored backups (the extra rows inserted with SQL).
//!
//! Before the first pass, the collector alone (`devicevault_collect::collect`
//! at the embedded collector's concurrency, no database, no bus, no git)
//! collects the same simulated fleet in the same process: the rate the
//! pipeline is compared with (issue 22: end to end ≥ 0.8× of it).
//!
//! The data (SQLite and the git repository) goes to a directory made under
//! the current directory, or under `--work-dir`: on disk, not on a tmpfs
//! `/tmp`, so that writes cost what they cost in production. The file
//! system is printed beside the figures. With `--postgres` the server runs
//! on a fresh PostgreSQL database of its own instead (made on the server of
//! `DEVICEVAULT_TEST_POSTGRES_URL`, the tests' server, and dropped at the
//! end); the history and list phase is SQLite's only.

use crate::util::{XorShift, ms, parse_lines, spread, spread_whole, thousands};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use devicevault_client::{HttpClient, HttpResponse};
use devicevault_collect::{CollectOptions, DeviceTarget, DriverSet, KnownHosts, collect};
use devicevault_core::Timestamp;
use devicevault_pipeline::app::auth;
use devicevault_server::embedded::{Embedded, ServeConfig};
use serde_json::json;
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, AssertSqlSafe, ConnectOptions as _, Connection as _, Row as _};

use crate::proc_stats::{cpu_time, status_bytes};
use devicevault_server::limits::raise_nofile_limit;

#[derive(Debug, Args)]
pub struct PipelineBench {
    /// Devices in the simulated fleet, all backed up once.
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    /// Lines of configuration per device: `N`, or `MIN-MAX` to give each
    /// device a fixed size in that range (the default makes Cisco IOS
    /// configurations of about 4 KB to 44 KB).
    #[arg(long, default_value = "200-2000")]
    config_lines: String,
    /// Platforms of the fleet, comma-separated, assigned in turn.
    #[arg(long, value_delimiter = ',', default_value = "cisco_ios")]
    platform: Vec<String>,
    /// Connections sending the "backup now" requests at once (each sends
    /// its share of the devices one after another).
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Ask for most of each pass in one request: all devices but a fifth
    /// in one `POST /api/devices/bulk/` (their jobs created in one
    /// transaction), then the fifth one `backup_now` at a time (on
    /// `--clients` connections) while the pipeline runs: those requests
    /// are the `backup_now` figure.
    #[arg(long)]
    bulk: bool,
    /// Times every device is backed up: the first pass is the target's
    /// figure (host keys pinned, every configuration new); later passes are
    /// the steady state.
    #[arg(long, default_value_t = 2)]
    passes: usize,
    /// Downloads timed (random stored backups, one keep-alive connection).
    #[arg(long, default_value_t = 2000)]
    downloads: usize,
    /// Stored backups in the database when the lists are timed (the rows
    /// beyond those of the backups just made are inserted with SQL).
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// List requests timed (`?device=<random device>`, default page size).
    #[arg(long, default_value_t = 1000)]
    lists: usize,
    /// Directory under which the run's data directory is made (default:
    /// the current directory; `/tmp` may be a tmpfs).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the run's data directory instead of deleting it.
    #[arg(long)]
    keep: bool,
    /// Run the server on a fresh PostgreSQL database (made on the tests'
    /// server and dropped at the end) instead of SQLite. The history
    /// insert and the list timings are skipped (their SQL is SQLite's).
    #[arg(long)]
    postgres: bool,
    /// Before every pass after the first, change each device's
    /// configuration (one line, as an engineer's edit), so every backup of
    /// those passes stores a new version.
    #[arg(long)]
    changes: bool,
    /// Attach a notification rule on every event for every device, to a
    /// webhook whose receiver (in this process, on loopback) answers 200 at
    /// once; report the deliveries (with --changes, one per device and
    /// later pass). Compare the passes with a run without it.
    #[arg(long)]
    notify: bool,
}

pub fn run(args: PipelineBench) -> anyhow::Result<()> {
    if args.devices == 0
        || args.downloads == 0
        || args.lists == 0
        || args.clients == 0
        || args.passes == 0
    {
        bail!("--devices, --clients, --passes, --downloads and --lists must be positive");
    }
    if args.platform.is_empty() {
        bail!("--platform needs at least one platform");
    }
    let known = devicevault_sim::platforms();
    if let Some(p) = args.platform.iter().find(|p| !known.contains(&p.as_str())) {
        bail!(
            "--platform: the simulator has no {p:?} (it has {})",
            known.join(", ")
        );
    }
    let lines = parse_lines(&args.config_lines)?;
    // One listener per device, a session on both ends per collection in
    // flight (256 by default), the database, the API, the repository.
    raise_nofile_limit(args.devices as u64 + 2048)?;

    let parent = match &args.work_dir {
        Some(d) => d.clone(),
        None => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("create {}", parent.display()))?;
    let work = tempfile::Builder::new()
        .prefix("devicevault-bench-pipeline-")
        .tempdir_in(&parent)
        .with_context(|| format!("make a directory under {}", parent.display()))?;
    let work_path = std::path::absolute(work.path())?;

    println!(
        "embedded pipeline benchmark: {} devices ({}), {} lines of configuration each; \
         simulator, API and every role in this process",
        args.devices,
        args.platform.join(","),
        args.config_lines
    );
    print_machine(&work_path);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let outcome = runtime.block_on(bench(&args, lines, &work_path));
    drop(runtime);
    if args.keep {
        let kept = work.keep();
        println!("data kept in {}", kept.display());
    }
    outcome
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
    let mem = status_meminfo("MemTotal").map_or("?".into(), |b| {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    });
    println!(
        "machine              {cores} cores ({model}), {mem} RAM, {}",
        load()
    );
    let (fstype, source, mount) =
        filesystem_of(work).unwrap_or_else(|| ("unknown".into(), "?".into(), PathBuf::from("?")));
    println!(
        "work dir             {} ({fstype} on {source}, mounted at {}); SQLite and the git repository live there",
        work.display(),
        mount.display()
    );
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or("load average unknown".into(), |l| {
        let f: Vec<&str> = l.split_whitespace().take(3).collect();
        format!("load average {}", f.join(" "))
    })
}

fn status_meminfo(field: &str) -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    m.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// File system type, source and mount point of `path`, from
/// `/proc/self/mountinfo` (the longest mount point that contains it).
fn filesystem_of(path: &Path) -> Option<(String, String, PathBuf)> {
    let path = std::fs::canonicalize(path).ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String, String, PathBuf)> = None;
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
        let mount = PathBuf::from(unescape_mount(mount));
        if path.starts_with(&mount) {
            let depth = mount.components().count();
            if best.as_ref().is_none_or(|b| depth >= b.0) {
                best = Some((depth, (*fstype).to_owned(), (*source).to_owned(), mount));
            }
        }
    }
    best.map(|(_, t, s, m)| (t, s, m))
}

/// Mount points escape space, tab, newline and backslash as `\ooo`.
fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(digits) = b.get(i + 1..i + 4)
            && digits.iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let v = digits.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

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

async fn bench(
    args: &PipelineBench,
    lines: (usize, Option<usize>),
    work: &Path,
) -> anyhow::Result<()> {
    let sim = devicevault_sim::Simulator::start(devicevault_sim::SimConfig {
        devices: args.devices,
        platforms: args.platform.clone(),
        config_lines: lines.0,
        config_lines_max: lines.1,
        ..devicevault_sim::SimConfig::default()
    })
    .await
    .context("start the simulated devices")?;
    let data_dir = work.join("data");
    let mut cfg = ServeConfig::new(data_dir.clone(), SocketAddr::from(([127, 0, 0, 1], 0)));
    let pg = if args.postgres {
        let (name, url) = devicevault_testkit::db::create_pg_database("dvbench_pipeline").await;
        cfg.database_url = Some(url);
        Some(name)
    } else {
        None
    };
    let url = cfg.database_url();
    println!(
        "database             {}",
        match &pg {
            Some(name) => format!("PostgreSQL, a fresh database {name} (dropped at the end)"),
            None => "SQLite in the work dir".into(),
        }
    );
    let outcome = match Embedded::start(cfg).await {
        Ok(server) => {
            let outcome = measure(args, &sim, &server, work, &url).await;
            server.stop(Duration::from_secs(10)).await;
            outcome
        }
        Err(e) => Err(e.into()),
    };
    drop(sim);
    if let Some(name) = pg {
        devicevault_testkit::db::drop_pg_database(&name).await;
    }
    outcome
}

/// A connection of our own to the server's database: the state sampler of
/// phase 1 and the bulk insert of phase 3 (the API has no bulk insert).
async fn own_connection(url: &str) -> anyhow::Result<AnyConnection> {
    sqlx::any::install_default_drivers();
    // The history insert's statements take seconds by design: no
    // slow-statement warnings for them.
    let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
    let mut conn = options
        .connect()
        .await
        .with_context(|| format!("open {}", devicevault_db::redact_url(url)))?;
    if url.starts_with("sqlite:") {
        sqlx::query("PRAGMA busy_timeout = 10000")
            .execute(&mut conn)
            .await?;
    }
    Ok(conn)
}

/// What the collector alone does with the same fleet: every device
/// collected once, `concurrency` at a time (the embedded collector's
/// `collector_concurrency`), host keys pinned in memory, nothing recorded
/// or stored. Devices per second.
async fn collector_rate(
    sim: &devicevault_sim::Simulator,
    concurrency: usize,
) -> anyhow::Result<f64> {
    let drivers = Arc::new(DriverSet::builtin());
    let opts = Arc::new(CollectOptions::new(Arc::new(KnownHosts::in_memory())));
    let targets: Vec<DeviceTarget> = sim
        .devices()
        .iter()
        .map(|d| {
            let mut t = DeviceTarget::password(
                d.addr().ip().to_string(),
                d.port(),
                d.username(),
                d.password(),
                d.platform(),
            );
            t.enable_secret = Some(d.enable_secret().into());
            t
        })
        .collect();
    let cpu0 = cpu_time("self", false)?;
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut targets = targets.into_iter();
    let (mut ok, mut failed) = (0usize, Vec::new());
    loop {
        while set.len() < concurrency {
            let Some(t) = targets.next() else { break };
            let (drivers, opts) = (drivers.clone(), opts.clone());
            set.spawn(async move { collect(&t, &drivers, &opts).await.map(|c| c.config.len()) });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        match joined.context("a collection task panicked")? {
            Ok(_) => ok += 1,
            Err(e) => failed.push(e.to_string()),
        }
    }
    let wall = t0.elapsed();
    let cpu = cpu_time("self", false)? - cpu0;
    ensure!(
        failed.is_empty(),
        "{} collections failed, e.g. {}",
        failed.len(),
        failed[0]
    );
    let rate = ok as f64 / wall.as_secs_f64();
    println!(
        "collector alone      {ok} devices in {:.2} s: {rate:.0} devices/s at concurrency {concurrency} ({:.2} ms of process CPU per device, simulator included; no database, bus or git) — {}",
        wall.as_secs_f64(),
        ms(cpu) / ok.max(1) as f64,
        load()
    );
    Ok(rate)
}

/// Commits on the bench location's branch (`git rev-list --count main`).
fn git_commits(repo: &Path) -> Option<u64> {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["rev-list", "--count", "main"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

async fn measure(
    args: &PipelineBench,
    sim: &devicevault_sim::Simulator,
    server: &Embedded,
    work: &Path,
    url: &str,
) -> anyhow::Result<()> {
    let sqlite = url.starts_with("sqlite:");
    let admin = server
        .first_admin
        .as_ref()
        .map(|(name, _)| name.clone())
        .context("the fresh database has no first admin")?;
    let user = server
        .db
        .user_by_name(&admin)
        .await?
        .context("the admin user")?;
    let token = auth::issue_token(
        &server.db,
        user.id,
        devicevault_db::TokenKind::Named,
        Some("bench"),
        None,
    )
    .await?
    .1;
    let client = || {
        let mut c = HttpClient::new(server.addr);
        c.token = Some(token.clone());
        c
    };
    let mut api = client();
    let mut db = own_connection(url).await?;

    // ---- inventory, through the API ----------------------------------------
    let t = Instant::now();
    let repo = work.join("backups.git");
    let r = api
        .post(
            "/api/backup-locations/",
            &json!({"name": "Bench Git", "location_type": "git",
                    "config": {"repo_path": repo, "branch": "main"}}),
        )
        .await?;
    expect_status(&r, 201, "creating the location")?;
    let location = r.json()["id"].clone();
    let d0 = &sim.devices()[0];
    let r = api
        .post(
            "/api/credentials/",
            &json!({"name": "Bench devices", "username": d0.username(),
                    "password": d0.password(), "enable_secret": d0.enable_secret()}),
        )
        .await?;
    expect_status(&r, 201, "creating the credential")?;
    let credential = r.json()["id"].clone();
    let mut ids = Vec::with_capacity(args.devices);
    for d in sim.devices() {
        let r = api
            .post(
                "/api/devices/",
                &json!({"name": d.name(), "address": d.addr().ip().to_string(), "port": d.port(),
                        "driver": d.platform(), "credential": credential,
                        "backup_location": location}),
            )
            .await?;
        expect_status(&r, 201, "creating a device")?;
        ids.push(r.json()["id"].as_i64().context("device id")?);
    }
    println!(
        "inventory            {} devices, one credential, one git location, created through the API in {:.2} s",
        ids.len(),
        t.elapsed().as_secs_f64()
    );

    // ---- 1. backup throughput ----------------------------------------------
    println!();
    let concurrency = devicevault_pipeline::Settings::default().collector_concurrency;
    let collect_rate = collector_rate(sim, concurrency).await?;
    let receiver = if args.notify {
        Some(attach_webhook(&mut api).await?)
    } else {
        None
    };
    let mut first_rate = None;
    for pass in 1..=args.passes {
        if pass > 1 && args.changes {
            for d in sim.devices() {
                d.change_config();
            }
        }
        let rate = backup_pass(
            pass,
            args,
            &ids,
            client,
            &mut api,
            &mut db,
            &repo,
            collect_rate,
            first_rate,
        )
        .await?;
        first_rate.get_or_insert(rate);
    }
    if let Some(received) = &receiver {
        notifications_delivered(&mut db, received).await?;
    }
    idle_backups(&ids, &mut api).await?;
    let sizes: Vec<i64> = sqlx::query("SELECT size FROM stored_backups")
        .fetch_all(&mut db)
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

    // ---- 2. download latency -------------------------------------------------
    let stored: Vec<(i64, i64)> = sqlx::query("SELECT id, size FROM stored_backups ORDER BY id")
        .fetch_all(&mut db)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get::<Option<i64>, _>("size")?.unwrap_or(-1),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut dl = Vec::with_capacity(args.downloads);
    let mut bytes = 0usize;
    let mut conn = client();
    for i in 0..args.downloads + 50 {
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
        // The first 50 warm the connection and the repository's caches.
        if i >= 50 {
            dl.push(took);
            bytes += r.body.len();
        }
    }
    dl.sort();
    println!(
        "download             {} over {} sequential GETs of random stored backups \
         ({:.1} KB average), one keep-alive connection, HTTP included (target: p50 <= 1 ms)",
        spread(&dl),
        thousands(dl.len()),
        bytes as f64 / dl.len() as f64 / 1000.0
    );

    // ---- 3. lists at `--rows` stored backups ---------------------------------
    if !sqlite {
        println!("history and lists    skipped: the history insert is SQLite SQL");
        println!("machine at the end   {}", load());
        return Ok(());
    }
    let existing = stored.len();
    let extra = args.rows.saturating_sub(existing);
    let t = Instant::now();
    insert_history(&mut db, ids.len(), extra).await?;
    let insert = t.elapsed();
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM stored_backups")
        .fetch_one(&mut db)
        .await?
        .try_get("n")?;
    println!(
        "history              {} rows inserted with SQL in {:.1} s ({} rows/s, transactions of {}); \
         {} stored backups in the database",
        thousands(extra),
        insert.as_secs_f64(),
        thousands((extra as f64 / insert.as_secs_f64().max(1e-9)) as usize),
        thousands(CHUNK),
        thousands(usize::try_from(total).unwrap_or(0))
    );
    // Let SQLite fold the WAL into the database, as it would have long
    // since in a server that grew this history.
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut db)
        .await;

    let mut per_device: HashMap<i64, i64> = HashMap::new();
    for r in sqlx::query("SELECT device_id, COUNT(*) AS n FROM stored_backups GROUP BY device_id")
        .fetch_all(&mut db)
        .await?
    {
        per_device.insert(r.try_get("device_id")?, r.try_get("n")?);
    }
    let mut list = Vec::with_capacity(args.lists);
    for i in 0..args.lists + 20 {
        let id = ids[rng.below(ids.len())];
        let path = format!("/api/stored-backups/?device={id}");
        let t = Instant::now();
        let r = conn.get(&path).await?;
        let took = t.elapsed();
        expect_status(&r, 200, &format!("GET {path}"))?;
        let page = r.json();
        let want = per_device.get(&id).copied().unwrap_or(0);
        ensure!(
            page["count"].as_i64() == Some(want),
            "GET {path}: count {} but the device has {want} stored backups",
            page["count"]
        );
        ensure!(
            page["results"].as_array().map(Vec::len) == Some(want.min(50) as usize),
            "GET {path}: not a full first page"
        );
        if i >= 20 {
            list.push(took);
        }
    }
    list.sort();
    let avg = per_device.values().sum::<i64>() as f64 / per_device.len().max(1) as f64;
    println!(
        "list by device       {} over {} sequential GETs of /api/stored-backups/?device=<random>, \
         first page of 50, {avg:.0} backups per device, HTTP included (target: p99 <= 50 ms)",
        spread(&list),
        thousands(list.len())
    );
    let mut all = Vec::with_capacity(20);
    for i in 0..25 {
        let t = Instant::now();
        let r = conn.get("/api/stored-backups/").await?;
        let took = t.elapsed();
        expect_status(&r, 200, "GET /api/stored-backups/")?;
        if i >= 5 {
            all.push(took);
        }
    }
    all.sort();
    println!(
        "list of all devices  {} over {} GETs of /api/stored-backups/ (first page, count of every row; no target)",
        spread(&all),
        all.len()
    );
    if let Ok(hwm) = status_bytes("self", "VmHWM") {
        println!(
            "process memory       peak {:.1} MB (VmHWM; simulator and server together)",
            hwm as f64 / 1_048_576.0
        );
    }
    println!("machine at the end   {}", load());
    Ok(())
}

/// One "backup now" of every device, timed, checked and printed; returns
/// the pass's rate (devices per second end to end).
#[allow(clippy::too_many_arguments)]
async fn backup_pass(
    pass: usize,
    args: &PipelineBench,
    ids: &[i64],
    client: impl Fn() -> HttpClient,
    api: &mut HttpClient,
    db: &mut AnyConnection,
    repo: &Path,
    collect_rate: f64,
    first_rate: Option<f64>,
) -> anyhow::Result<f64> {
    let commits_before = git_commits(repo);
    let since: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM backup_jobs")
        .fetch_one(&mut *db)
        .await?
        .try_get("n")?;
    let stored_before: i64 = sqlx::query("SELECT COUNT(*) AS n FROM stored_backups")
        .fetch_one(&mut *db)
        .await?
        .try_get("n")?;
    println!();
    if pass == 1 {
        println!(
            "pass 1: the first backup of every device (the target's figure): host keys pinned on \
             first use, every configuration new to git"
        );
    } else if args.changes {
        println!(
            "pass {pass}: every device again (host keys known, every configuration changed by \
             one line: a new version of each)"
        );
    } else {
        println!(
            "pass {pass}: every device again (host keys known, configurations unchanged; \
             the nightly steady state)"
        );
    }
    let backups = backup_all(args, ids, client, api, db, since, stored_before).await?;
    let jobs = backups.jobs;

    // Every job must be `stored`, as the API reports it.
    let mut lat = Vec::with_capacity(jobs.len());
    let mut job_gets = Vec::with_capacity(jobs.len());
    for ti in &jobs {
        let t = Instant::now();
        let r = api.get(&format!("/api/jobs/{ti}/")).await?;
        job_gets.push(t.elapsed());
        expect_status(&r, 200, "reading a job")?;
        let j = r.json();
        if j["state"].as_str() != Some("stored") {
            bail!(
                "job {ti} is {} ({}) although every stored backup is recorded",
                j["state"],
                j["reason"]
            );
        }
        let (Some(q), Some(u)) = (j["queued_on"].as_str(), j["updated_at"].as_str()) else {
            continue;
        };
        if let (Ok(q), Ok(u)) = (Timestamp::parse(q), Timestamp::parse(u)) {
            lat.push(Duration::from_millis(
                u64::try_from(u.unix_millis() - q.unix_millis()).unwrap_or(0),
            ));
        }
    }
    lat.sort();
    let failed: i64 = sqlx::query(AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM stored_backups WHERE status <> 'success' AND id > {stored_before}"
    )))
        .fetch_one(&mut *db)
        .await?
        .try_get("n")?;
    ensure!(failed == 0, "{failed} stored backups record a failed store");

    let rate = jobs.len() as f64 / backups.wall.as_secs_f64();
    let singles = backups.post_latency.len();
    println!(
        "backed up            {} of {} devices in {:.2} s, every job `stored` ({})",
        jobs.len(),
        args.devices,
        backups.wall.as_secs_f64(),
        match backups.bulk_took {
            Some(b) => format!(
                "{} in one bulk request answered in {:.3} s, then {singles} POSTs done at {:.2} s",
                jobs.len() - singles,
                b.as_secs_f64(),
                backups.posts.as_secs_f64()
            ),
            None => format!(
                "the {singles} POSTs took {:.2} s",
                backups.posts.as_secs_f64()
            ),
        }
    );
    println!(
        "throughput           {rate:.0} devices/s end to end{}",
        if pass == 1 {
            " (target: >= 150 devices/s for 1,000 devices)"
        } else {
            ""
        }
    );
    println!(
        "against the collector {:.2}x of the collector's {collect_rate:.0} devices/s measured above (target: >= 0.80x) — {}",
        rate / collect_rate,
        load()
    );
    if let Some(first) = first_rate {
        println!(
            "against pass 1       {:.2}x of pass 1's {first:.0} devices/s (target for an unchanged pass: >= 1.50x)",
            rate / first
        );
    }
    job_gets.sort();
    let p99 = crate::util::percentile(&backups.post_latency, 99.0);
    println!(
        "backup_now requests  {} on {} connection(s) while the pipeline runs (target: p99 <= 5 ms: {}) \
         (GET /api/jobs/<ti>/ afterwards, idle server: {})",
        spread(&backups.post_latency),
        args.clients.min(ids.len()),
        if p99 <= Duration::from_millis(5) {
            "met"
        } else {
            "missed"
        },
        spread(&job_gets)
    );
    println!(
        "job latency          {} (queued_on to the job's last update)",
        spread_whole(&lat)
    );
    print_stages(db, since).await?;
    println!(
        "process CPU          {:.2} s over {:.2} s: {:.2} cores busy on average, {:.2} ms per device \
         (simulator, collector, API, SQLite and git together)",
        backups.cpu.as_secs_f64(),
        backups.wall.as_secs_f64(),
        backups.cpu.as_secs_f64() / backups.wall.as_secs_f64(),
        ms(backups.cpu) / jobs.len() as f64
    );
    let changed: i64 = sqlx::query(AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM stored_backups WHERE changed = 1 AND id > {stored_before}"
    )))
    .fetch_one(&mut *db)
    .await?
    .try_get("n")?;
    let commits = match (commits_before.or(Some(0)), git_commits(repo)) {
        (Some(a), Some(b)) => (b - a.min(b)).to_string(),
        _ => "?".into(),
    };
    println!(
        "git                  {changed} of {} backups were a change; {commits} commits on the branch in this pass",
        jobs.len()
    );
    println!(
        "where jobs were      (sampled every 0.5 s: queued / collecting / collected / stored)"
    );
    for line in backups.timeline {
        println!("  {line}");
    }
    Ok(rate)
}

/// "Backup now" of one device at a time on an otherwise idle server, each
/// waited for: what a request costs without the rest of the fleet's work
/// competing for the CPU, the database and the disk.
/// A webhook receiver on loopback that answers every request with 200 and
/// counts them, attached through the API: a channel to it and a rule on
/// every event of every device.
async fn attach_webhook(api: &mut HttpClient) -> anyhow::Result<Arc<std::sync::atomic::AtomicU64>> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let received = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&received);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16 * 1024];
                // Headers, then Content-Length bytes of body.
                loop {
                    let Ok(n) = s.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break;
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    let r = api
        .post(
            "/api/notification-channels/",
            &json!({"name": "bench receiver", "kind": "webhook",
                    "url": format!("http://{addr}/hook"), "secret": "bench-secret-0123456789"}),
        )
        .await?;
    expect_status(&r, 201, "create the webhook channel")?;
    let channel = r.json()["id"].clone();
    let r = api
        .post(
            "/api/notification-rules/",
            &json!({"name": "every event", "channel": channel,
                    "events": ["config_changed", "backup_failed", "device_stale", "device_recovered"]}),
        )
        .await?;
    expect_status(&r, 201, "create the rule")?;
    println!(
        "notifications        a rule on every event of every device, to a webhook receiver at http://{addr}/ (answers 200)"
    );
    Ok(received)
}

/// Waits until every delivery of the run is delivered (or dead) and says
/// how long after the last backup that was.
async fn notifications_delivered(
    db: &mut AnyConnection,
    received: &std::sync::atomic::AtomicU64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let count = |state: &'static str| {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM notification_deliveries WHERE state {state}"
        )))
    };
    loop {
        let open: i64 = count("IN ('pending', 'delivering')")
            .fetch_one(&mut *db)
            .await?
            .try_get("n")?;
        let events: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notification_events")
            .fetch_one(&mut *db)
            .await?
            .try_get("n")?;
        let planned: i64 = count("IS NOT NULL")
            .fetch_one(&mut *db)
            .await?
            .try_get("n")?;
        if open == 0 && planned >= events {
            let delivered: i64 = count("= 'delivered'")
                .fetch_one(&mut *db)
                .await?
                .try_get("n")?;
            let dead: i64 = count("= 'dead'").fetch_one(&mut *db).await?.try_get("n")?;
            println!(
                "notifications        {events} events, {delivered} deliveries delivered, {dead} dead, {} requests received; \
                 all settled {:.2} s after the last pass",
                received.load(std::sync::atomic::Ordering::Relaxed),
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        ensure!(
            started.elapsed() < Duration::from_secs(600),
            "notifications: {open} deliveries still open after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn idle_backups(ids: &[i64], api: &mut HttpClient) -> anyhow::Result<()> {
    const N: usize = 20;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let (mut posts, mut ends) = (Vec::with_capacity(N), Vec::with_capacity(N));
    for _ in 0..N {
        let id = ids[rng.below(ids.len())];
        let t = Instant::now();
        let r = api
            .post(&format!("/api/devices/{id}/backup_now/"), &json!({}))
            .await?;
        posts.push(t.elapsed());
        expect_status(&r, 202, &format!("backup_now of device {id}"))?;
        let ti = r.json()["task_identifier"]
            .as_str()
            .context("backup_now answered without a task_identifier")?
            .to_owned();
        loop {
            let j = api.get(&format!("/api/jobs/{ti}/")).await?.json();
            match j["state"].as_str() {
                Some("stored") => break,
                Some("failed") => bail!("job {ti} failed: {}", j["reason"]),
                _ if t.elapsed() > Duration::from_secs(60) => {
                    bail!("job {ti} did not finish in a minute")
                }
                _ => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
        ends.push(t.elapsed());
    }
    posts.sort();
    ends.sort();
    println!();
    println!(
        "one at a time        backup_now request {}; until the job is `stored` {} ({N} devices, each waited for)",
        spread(&posts),
        spread(&ends)
    );
    Ok(())
}

struct Backups {
    jobs: Vec<String>,
    wall: Duration,
    /// With --bulk: when the bulk request had answered.
    bulk_took: Option<Duration>,
    posts: Duration,
    post_latency: Vec<Duration>,
    cpu: Duration,
    timeline: Vec<String>,
}

/// Job counts by state, from our own connection (cheaper than a thousand
/// `GET /api/jobs/…`, so it barely disturbs the run it watches).
async fn job_states(db: &mut AnyConnection, since: i64) -> anyhow::Result<HashMap<String, i64>> {
    let mut states = HashMap::new();
    for r in sqlx::query(AssertSqlSafe(format!(
        "SELECT state, COUNT(*) AS n FROM backup_jobs WHERE id > {since} GROUP BY state"
    )))
    .fetch_all(db)
    .await?
    {
        states.insert(r.try_get("state")?, r.try_get("n")?);
    }
    Ok(states)
}

/// Sends "backup now" for every device (on its own connection, while this
/// task watches), and waits until the API counts a stored backup per job.
async fn backup_all(
    args: &PipelineBench,
    ids: &[i64],
    client: impl Fn() -> HttpClient,
    api: &mut HttpClient,
    db: &mut AnyConnection,
    since: i64,
    stored_before: i64,
) -> anyhow::Result<Backups> {
    let cpu0 = cpu_time("self", false)?;
    let t0 = Instant::now();
    // With --bulk, the first fifth are asked one by one after the rest
    // went in one request.
    let singles = if args.bulk {
        (ids.len() / 5).max(1)
    } else {
        ids.len()
    };
    let mut bulk_took = None;
    if singles < ids.len() {
        let bulk = &ids[singles..];
        let r = api
            .post(
                "/api/devices/bulk/",
                &json!({"action": "backup_now", "devices": bulk}),
            )
            .await?;
        expect_status(&r, 200, "the bulk backup_now")?;
        let v = r.json();
        ensure!(
            v["changed"].as_u64() == Some(bulk.len() as u64) && v["refused"] == json!([]),
            "the bulk backup_now accepted {} of {} devices: {}",
            v["changed"],
            bulk.len(),
            v["refused"]
        );
        bulk_took = Some(t0.elapsed());
    }
    // The clients run on threads of their own, as a person's client runs in
    // a process of its own: on the runtime of the simulator and the server
    // their requests would be timed behind every simulated device's tasks.
    let client_threads = crate::util::OwnRuntime::new("bench-client")?;
    let mut posters = tokio::task::JoinSet::new();
    let clients = args.clients.min(singles);
    for c in 0..clients {
        // Client c sends devices c, c + clients, …
        let share: Vec<(usize, i64)> = ids[..singles]
            .iter()
            .copied()
            .enumerate()
            .skip(c)
            .step_by(clients)
            .collect();
        let mut poster = client();
        posters.spawn_on(
            async move {
                let mut sent = Vec::with_capacity(share.len());
                for (i, id) in share {
                    let t = Instant::now();
                    let r = poster
                        .post(&format!("/api/devices/{id}/backup_now/"), &json!({}))
                        .await?;
                    let took = t.elapsed();
                    expect_status(&r, 202, &format!("backup_now of device {id}"))?;
                    let ti = r.json()["task_identifier"]
                        .as_str()
                        .context("backup_now answered without a task_identifier")?
                        .to_owned();
                    sent.push((i, ti, took));
                }
                anyhow::Ok((sent, t0.elapsed()))
            },
            client_threads.handle(),
        );
    }
    let posts = tokio::spawn(async move {
        let mut all = Vec::new();
        let mut last = Duration::ZERO;
        while let Some(joined) = posters.join_next().await {
            let (sent, done) = joined.context("a POST task panicked")??;
            all.extend(sent);
            last = last.max(done);
        }
        all.sort_by_key(|(i, _, _)| *i);
        let mut lat: Vec<Duration> = all.iter().map(|(_, _, t)| *t).collect();
        lat.sort();
        let jobs: Vec<String> = all.into_iter().map(|(_, ti, _)| ti).collect();
        anyhow::Ok((jobs, last, lat))
    });

    let want = stored_before + ids.len() as i64;
    let mut timeline = Vec::new();
    let mut next_sample = Duration::ZERO;
    let (mut last_count, mut last_progress) = (-1i64, Instant::now());
    let wall = loop {
        let r = api.get("/api/stored-backups/?page_size=1").await?;
        expect_status(&r, 200, "counting stored backups")?;
        let count = r.json()["count"].as_i64().unwrap_or(0);
        if count >= want {
            break t0.elapsed();
        }
        if t0.elapsed() >= next_sample {
            let s = job_states(db, since).await?;
            let n = |k: &str| s.get(k).copied().unwrap_or(0);
            if n("failed") > 0 {
                let failures: Vec<String> = sqlx::query(
                    "SELECT task_identifier, reason FROM backup_jobs WHERE state = 'failed' LIMIT 5",
                )
                .fetch_all(&mut *db)
                .await?
                .iter()
                .map(|r| {
                    format!(
                        "{}: {}",
                        r.try_get::<String, _>("task_identifier").unwrap_or_default(),
                        r.try_get::<Option<String>, _>("reason")
                            .ok()
                            .flatten()
                            .unwrap_or_default()
                    )
                })
                .collect();
                bail!(
                    "{} backup jobs failed, e.g. {}",
                    n("failed"),
                    failures.join("; ")
                );
            }
            timeline.push(format!(
                "{:>5.1} s  {:>5} / {:>5} / {:>5} / {:>5}",
                t0.elapsed().as_secs_f64(),
                n("queued"),
                n("collecting"),
                n("collected"),
                n("stored")
            ));
            next_sample += Duration::from_millis(500);
        }
        if count != last_count {
            (last_count, last_progress) = (count, Instant::now());
        } else if last_progress.elapsed() > Duration::from_secs(60) {
            bail!(
                "no backup stored for 60 s ({count} of {want} stored after {:.0} s)",
                t0.elapsed().as_secs_f64()
            );
        }
        if posts.is_finished() && count < want && t0.elapsed() > Duration::from_secs(900) {
            bail!("the backups did not finish in 15 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let cpu = cpu_time("self", false)? - cpu0;
    let (mut jobs, posts, post_latency) = posts.await.context("the POST task panicked")??;
    if bulk_took.is_some() {
        // The bulk request answers counts; its jobs are the pass's others.
        jobs = sqlx::query(AssertSqlSafe(format!(
            "SELECT task_identifier FROM backup_jobs WHERE id > {since} ORDER BY id"
        )))
        .fetch_all(&mut *db)
        .await?
        .iter()
        .map(|r| r.try_get("task_identifier"))
        .collect::<Result<_, _>>()?;
    }
    ensure!(
        jobs.len() == args.devices,
        "{} jobs for {} devices",
        jobs.len(),
        args.devices
    );
    Ok(Backups {
        jobs,
        wall,
        bulk_took,
        posts,
        post_latency,
        cpu,
        timeline,
    })
}

/// Where a job's time went, from the rows each stage wrote: queued →
/// collection result recorded (queue wait + collection), → storage result
/// timestamp (storage queue + git write), → job final.
async fn print_stages(db: &mut AnyConnection, since: i64) -> anyhow::Result<()> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT j.queued_on AS q, r.timestamp AS c, s.timestamp AS s, j.updated_at AS u, \
         r.collection_duration_ms AS d \
         FROM backup_jobs j JOIN device_backup_results r ON r.task_identifier = j.task_identifier \
         JOIN stored_backups s ON s.task_identifier = j.task_identifier WHERE j.id > {since}"
    )))
    .fetch_all(db)
    .await?;
    let millis = |s: String| Timestamp::parse(&s).map(|t| t.unix_millis()).ok();
    let mut stages: [Vec<Duration>; 4] = Default::default();
    for r in &rows {
        let (Some(q), Some(c), Some(s), Some(u)) = (
            millis(r.try_get("q")?),
            millis(r.try_get("c")?),
            millis(r.try_get("s")?),
            millis(r.try_get("u")?),
        ) else {
            continue;
        };
        let d = |a: i128, b: i128| Duration::from_millis(u64::try_from(b - a).unwrap_or(0));
        stages[0].push(d(q, c));
        stages[1].push(Duration::from_millis(
            u64::try_from(r.try_get::<i64, _>("d")?).unwrap_or(0),
        ));
        stages[2].push(d(c, s));
        stages[3].push(d(s, u));
    }
    for s in &mut stages {
        s.sort();
    }
    println!(
        "  queued → collected {} (waiting for a collector slot included)",
        spread_whole(&stages[0])
    );
    println!(
        "  of which collecting {} (the collector's own duration)",
        spread_whole(&stages[1])
    );
    println!(
        "  collected → stored {} (storage queue and git group commit)",
        spread_whole(&stages[2])
    );
    println!(
        "  stored → job final {} (storage result recorded)",
        spread_whole(&stages[3])
    );
    Ok(())
}

/// Rows per transaction of the history insert.
const CHUNK: usize = 100_000;

/// Inserts `extra` stored backups, spread evenly over the devices: nightly
/// backups going back in time from the real ones (each device at its own
/// minute of the night), ids growing with time as a server's would, each
/// row a copy of the device's real backup with its own task id, commit and
/// digest. Generated inside SQLite, one statement per transaction.
async fn insert_history(
    db: &mut AnyConnection,
    devices: usize,
    extra: usize,
) -> anyhow::Result<()> {
    if extra == 0 {
        return Ok(());
    }
    sqlx::query("PRAGMA cache_size = -262144")
        .execute(&mut *db)
        .await?;
    sqlx::query("DROP TABLE IF EXISTS temp.bench_src")
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "CREATE TEMP TABLE bench_src (idx INTEGER PRIMARY KEY, device_id INTEGER, \
         storage_backend TEXT, ref_prefix TEXT, log TEXT, location_id INTEGER, size INTEGER, \
         is_binary INTEGER)",
    )
    .execute(&mut *db)
    .await?;
    // The git ref is `<branch>:<path>@<40-hex commit>`; history rows keep
    // the branch and path and get a commit of their own.
    sqlx::query(
        "INSERT INTO bench_src SELECT ROW_NUMBER() OVER (ORDER BY device_id) - 1, device_id, \
         storage_backend, substr(storage_ref, 1, length(storage_ref) - 40), log, location_id, size, \
         is_binary FROM stored_backups WHERE id IN (SELECT MAX(id) FROM stored_backups GROUP BY device_id)",
    )
    .execute(&mut *db)
    .await?;
    let src: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM bench_src WHERE substr(ref_prefix, -1) = '@'")
            .fetch_one(&mut *db)
            .await?
            .try_get("n")?;
    ensure!(
        src == devices as i64,
        "{src} devices have a git backup to copy; expected {devices}"
    );
    let oldest: String = sqlx::query("SELECT MIN(timestamp) AS t FROM stored_backups")
        .fetch_one(&mut *db)
        .await?
        .try_get("t")?;
    let base = Timestamp::parse(&oldest)?.unix_millis() / 1000;
    let mut m = 0;
    while m < extra {
        let hi = (m + CHUNK).min(extra);
        // Row m (0 = oldest) is backup n = extra-1-m counted back from the
        // newest: device n % devices, night n / devices + 1 before `base`.
        let sql = format!(
            "WITH RECURSIVE seq(m) AS (SELECT {m} UNION ALL SELECT m + 1 FROM seq WHERE m + 1 < {hi}), \
             q AS (SELECT s.*, strftime('%Y-%m-%dT%H:%M:%fZ', \
                  {base} - (({last} - seq.m) / {devices} + 1) * 86400 + (s.idx * 7) % 3600, 'unixepoch') AS ts \
                  FROM seq JOIN bench_src s ON s.idx = ({last} - seq.m) % {devices}) \
             INSERT INTO stored_backups (task_id, task_identifier, device_id, storage_backend, storage_ref, \
                  status, timestamp, log, location_id, size, sha256, changed, is_binary) \
             SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) \
                  || '-a' || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))), \
                  'backup_now:' || device_id || ':' || ts, device_id, storage_backend, \
                  ref_prefix || lower(hex(randomblob(20))), 'success', ts, log, location_id, size, \
                  lower(hex(randomblob(32))), abs(random()) % 10 = 0, is_binary FROM q",
            last = extra - 1,
        );
        let mut tx = db.begin().await?;
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
        tx.commit().await?;
        m = hi;
    }
    sqlx::query("DROP TABLE temp.bench_src")
        .execute(&mut *db)
        .await?;
    sqlx::query("PRAGMA cache_size = -2000")
        .execute(&mut *db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped_and_found() {
        assert_eq!(unescape_mount(r"/mnt/with\040space"), "/mnt/with space");
        assert_eq!(unescape_mount("/plain"), "/plain");
        let (fstype, _, mount) = filesystem_of(Path::new("/")).expect("/ is mounted");
        assert!(!fstype.is_empty());
        assert_eq!(mount, PathBuf::from("/"));
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
