//! `devicevault-bench web`: server time of the web UI's heaviest pages, read
//! from their `Server-Timing` header (handler, database and rendering; not
//! the network), with the wall time of the whole request beside it.
//!
//! 1. The compare page of two stored 20,000-line configurations (read
//!    through the storage worker like any other), with only the changes
//!    and context shown (the default), with every line, and for two
//!    unrelated files (the line diff's deadline case).
//! 2. A device's history with 10,000 backups (a change a day, hourly
//!    backups, one in 50 failed; inserted with SQL): its distinct versions
//!    (the device page's default), every backup (`?all=1`), and the
//!    results page filtered by a night's time range and outcome.
//! 3. The device list with 10,000 devices (with types, groups and a last
//!    job each, inserted with SQL): first, middle and last pages, sorted by
//!    name, by last status and by last backup, and filtered.

use crate::util::{ms, thousands};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Args;
use devicevault_core::{RelPath, Status, StorageBackendKind, Timestamp};
use devicevault_db::{DeviceFields, NewStoredBackup};
use devicevault_pipeline::app::auth;
use devicevault_server::embedded::{Embedded, ServeConfig};
use devicevault_storage::Backend as _;
use devicevault_storage::fs::{FsBackend, FsConfig};
use sqlx::{AnyConnection, Connection as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[derive(Debug, Args)]
pub struct WebBench {
    /// Lines of each of the two compared configurations.
    #[arg(long, default_value_t = 20_000)]
    lines: usize,
    /// Devices in the database for the device list.
    #[arg(long, default_value_t = 10_000)]
    devices: usize,
    /// Jobs per device already in the history (the newest one is the
    /// device's last status; the list looks it up through an index).
    #[arg(long, default_value_t = 10)]
    history: usize,
    /// Backups (and collection results) in the history of one device.
    #[arg(long, default_value_t = 10_000)]
    backups: usize,
    /// Collection results across the device list's devices for the results
    /// page (one every 360 ms before now, 1 in 50 failed), 0 for none.
    #[arg(long, default_value_t = 1_000_000)]
    results: usize,
    /// Also time the compare pages in Chromium (load and first frame), with
    /// the browser tests' Playwright (`scripts/test` installs it).
    #[arg(long)]
    browser: bool,
    /// Requests timed per page (after 3 not timed).
    #[arg(long, default_value_t = 30)]
    requests: usize,
    /// Directory under which the run's data directory is made (default:
    /// the current directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the run's data directory instead of deleting it.
    #[arg(long)]
    keep: bool,
    /// Run the server on PostgreSQL (a fresh database on the local server,
    /// `DEVICEVAULT_TEST_PG_URL`'s, dropped at the end) instead of SQLite.
    #[arg(long)]
    postgres: bool,
}

const COMPARE_TARGET_MS: f64 = 300.0;
const DEVICES_TARGET_MS: f64 = 100.0;
const HISTORY_TARGET_MS: f64 = 50.0;
const RESULTS_TARGET_MS: f64 = 100.0;

pub fn run(args: WebBench) -> anyhow::Result<()> {
    if args.lines == 0 || args.devices == 0 || args.requests == 0 {
        bail!("--lines, --devices and --requests must be positive");
    }
    let parent = args.work_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).with_context(|| format!("create {}", parent.display()))?;
    let work = tempfile::Builder::new()
        .prefix("devicevault-bench-web-")
        .tempdir_in(&parent)
        .with_context(|| format!("make a directory under {}", parent.display()))?;
    let work_path = std::path::absolute(work.path())?;
    println!(
        "web UI benchmark: compare two {}-line configurations; list {} devices; {} timed requests per page",
        thousands(args.lines),
        thousands(args.devices),
        args.requests
    );
    println!(
        "server time is the Server-Timing header of the response (handler, database, storage read, \
         rendering); wall time adds HTTP on loopback and the client"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let outcome = runtime.block_on(bench(&args, &work_path));
    drop(runtime);
    if args.keep {
        println!("data kept in {}", work.keep().display());
    }
    outcome
}

async fn bench(args: &WebBench, work: &std::path::Path) -> anyhow::Result<()> {
    let mut cfg = ServeConfig::new(work.join("data"), "127.0.0.1:0".parse()?);
    let pg = if args.postgres {
        let (name, url) = devicevault_testkit::db::create_pg_database("dvbench_web").await;
        cfg.database_url = Some(url);
        Some(name)
    } else {
        None
    };
    let url = cfg.database_url();
    println!(
        "database: {}",
        match &pg {
            Some(name) => format!("PostgreSQL, a fresh database {name} (dropped at the end)"),
            None => "SQLite in the work dir".into(),
        }
    );
    let outcome = match Embedded::start(cfg).await {
        Ok(server) => {
            let outcome = pages(args, &server, work, &url).await;
            server.stop(Duration::from_secs(5)).await;
            outcome
        }
        Err(e) => Err(anyhow::Error::new(e).context("start the server")),
    };
    if let Some(name) = pg {
        devicevault_testkit::db::drop_pg_database(&name).await;
    }
    outcome
}

async fn pages(
    args: &WebBench,
    server: &Embedded,
    work: &std::path::Path,
    url: &str,
) -> anyhow::Result<()> {
    let db = server.db.clone();
    let admin = db
        .user_by_name("admin")
        .await?
        .context("the first start creates admin")?;
    let token = auth::issue_token(
        &db,
        admin.id,
        devicevault_db::TokenKind::Session,
        None,
        None,
    )
    .await?
    .1;
    let client = Client {
        addr: server.addr,
        cookie: format!("dv_session={token}"),
    };

    // ---- the compare page -----------------------------------------------------
    let base = work.join("fs");
    let mut config = serde_json::Map::new();
    config.insert("base_path".into(), base.display().to_string().into());
    let location = db
        .create_location("bench", StorageBackendKind::Fs, &config)
        .await?;
    let backend = FsBackend::new(FsConfig {
        base_path: base,
        fsync: false,
    });
    let device = db
        .create_device(&DeviceFields {
            name: "core-rtr-01".into(),
            address: "192.0.2.1".into(),
            port: 22,
            driver: "cisco_ios".into(),
            credential: None,
            backup_location: Some(location.id),
            collection_group: None,
            device_group: None,
            device_type: None,
            enabled: true,
            profile: Default::default(),
        })
        .await?;
    let old = config_text(args.lines, 0);
    let new = edited(&old, 100);
    let unrelated = config_text(args.lines, 7);
    let mut ids = Vec::new();
    for (i, text) in [&old, &new, &unrelated].into_iter().enumerate() {
        let rel = RelPath::parse(&format!("{}/v{i}.cfg", device.id))?;
        let stored = backend.store(text.as_bytes(), &rel)?;
        let ti = format!("bench:{i}");
        db.record_stored_backup(&NewStoredBackup {
            task_id: ti.clone(),
            task_identifier: ti.clone(),
            device_id: device.id,
            storage_backend: StorageBackendKind::Fs,
            storage_ref: stored.storage_ref.to_string(),
            status: Status::Success,
            timestamp: Timestamp::now(),
            log: "[]".into(),
            location_id: Some(location.id),
            size: Some(stored.size as i64),
            sha256: Some(stored.sha256),
            changed: Some(true),
            is_binary: false,
        })
        .await?;
        ids.push(
            db.stored_backup_id_by_task(&ti)
                .await?
                .context("just recorded")?,
        );
    }
    let d = device.id;
    let pages = [
        (
            format!(
                "compare, {} lines, 1% changed (changes and 3 lines of context)",
                thousands(args.lines)
            ),
            format!("/devices/{d}/compare?a={}&b={}", ids[0], ids[1]),
            COMPARE_TARGET_MS,
        ),
        (
            format!(
                "compare, {} lines, 1% changed, every line (context=all)",
                thousands(args.lines)
            ),
            format!("/devices/{d}/compare?a={}&b={}&context=all", ids[0], ids[1]),
            COMPARE_TARGET_MS,
        ),
        (
            format!(
                "compare, two different devices' {}-line configurations",
                thousands(args.lines)
            ),
            format!("/devices/{d}/compare?a={}&b={}", ids[0], ids[2]),
            COMPARE_TARGET_MS,
        ),
    ];
    println!();
    println!(
        "{:<72} {:>26} {:>10} {:>9} {:>9}",
        "page", "server p50 / p95 / p99", "wall p50", "size", "target"
    );
    for (label, path, target) in &pages {
        report(
            &client,
            label,
            path,
            *target,
            args.requests,
            "Compare versions",
        )
        .await?;
    }

    if args.browser {
        let paths: Vec<&str> = pages[..2].iter().map(|(_, p, _)| p.as_str()).collect();
        in_chromium(&client, &paths, args.lines)?;
    }

    // ---- a device's history ----------------------------------------------------------
    let started = Instant::now();
    let night = fill_history(url, d, args.backups).await?;
    println!(
        "({} backups and collection results of one device inserted in {:.1} s)",
        thousands(args.backups),
        started.elapsed().as_secs_f64()
    );
    let history_pages = [
        (
            format!(
                "history of a device with {} backups: distinct versions, page 1",
                thousands(args.backups)
            ),
            format!("/devices/{d}"),
            HISTORY_TARGET_MS,
            "First seen",
        ),
        (
            "history: distinct versions, page 4".to_owned(),
            format!("/devices/{d}?page=4"),
            HISTORY_TARGET_MS,
            "First seen",
        ),
        (
            "history: every backup (?all=1), page 1".to_owned(),
            format!("/devices/{d}?all=1"),
            HISTORY_TARGET_MS,
            "Every backup",
        ),
        (
            "results: failed in one night's time range".to_owned(),
            format!(
                "/results?outcome=failed&since={}&until={}",
                night.0, night.1
            ),
            RESULTS_TARGET_MS,
            "Backup results",
        ),
    ];
    for (label, path, target, expect) in &history_pages {
        report(&client, label, path, *target, args.requests, expect).await?;
    }

    // ---- the device list ------------------------------------------------------------
    let started = Instant::now();
    fill_devices(url, args.devices, args.history).await?;
    println!(
        "({} devices, their types and groups, and {} jobs of history each inserted in {:.1} s)",
        thousands(args.devices),
        args.history,
        started.elapsed().as_secs_f64()
    );
    let last_page = args.devices.div_ceil(50);
    let list_pages = [
        ("devices, page 1 by name".to_owned(), "/devices".to_owned()),
        (
            format!("devices, page {} by name (middle)", last_page / 2),
            format!("/devices?page={}", last_page / 2),
        ),
        (
            format!("devices, page {last_page} by name (last)"),
            format!("/devices?page={last_page}"),
        ),
        (
            "devices, sorted by last status (failed first), page 1".into(),
            "/devices?sort=status".into(),
        ),
        (
            format!(
                "devices, sorted by last backup, newest first, page {}",
                last_page / 2
            ),
            format!("/devices?sort=last_backup&dir=desc&page={}", last_page / 2),
        ),
        (
            "devices, filtered: last status failed".into(),
            "/devices?status=failed".into(),
        ),
        (
            format!(
                "devices, sorted by last success, oldest first, page {}",
                last_page / 2
            ),
            format!("/devices?sort=last_success&page={}", last_page / 2),
        ),
        (
            "devices, sorted by last change, newest first, last page".into(),
            format!("/devices?sort=last_change&dir=desc&page={last_page}"),
        ),
        (
            "devices, filtered: stale".into(),
            "/devices?stale=yes".into(),
        ),
        (
            "devices, filtered: name contains \"sw-1\", type, enabled".into(),
            "/devices?name=sw-1&type=3&enabled=yes".into(),
        ),
        (
            "devices, sorted by type, 200 per page, page 3".into(),
            "/devices?sort=type&size=200&page=3".into(),
        ),
    ];
    for (label, path) in &list_pages {
        report(
            &client,
            label,
            path,
            DEVICES_TARGET_MS,
            args.requests,
            "Devices",
        )
        .await?;
    }

    // ---- the results of the whole fleet ---------------------------------------------
    if args.results > 0 {
        let started = Instant::now();
        let night = fill_results(url, args.results, &backend, location.id).await?;
        println!(
            "({} collection results with their jobs and stored backups inserted in {:.1} s)",
            thousands(args.results),
            started.elapsed().as_secs_f64()
        );
        let n = thousands(args.results);
        let range = format!("since={}&until={}", night.0, night.1);
        let results_pages = [
            (
                format!("results of {n}: failed in one night (12 h)"),
                format!("/results?outcome=failed&{range}"),
            ),
            (
                format!("results of {n}: every outcome in one night, page 1"),
                format!("/results?{range}"),
            ),
            (
                format!("results of {n}: every outcome in one night, page 20"),
                format!("/results?{range}&page=20"),
            ),
            (
                format!("results of {n}: stored in one night, page 1"),
                format!("/results?outcome=stored&{range}"),
            ),
        ];
        for (label, path) in &results_pages {
            report(
                &client,
                label,
                path,
                RESULTS_TARGET_MS,
                args.requests,
                "Backup results",
            )
            .await?;
        }
        report(
            &client,
            &format!("dashboard over {n} results (its cards count the last 24 h)"),
            "/",
            RESULTS_TARGET_MS,
            args.requests,
            "Dashboard",
        )
        .await?;
    }
    Ok(())
}

/// `n` collection results spread over the device list's devices, one every
/// 360 ms up to a minute ago, each with its job, and its stored backup
/// unless it failed (1 in 50; a change 1 in 24), generated in SQL. Each
/// device's backups name one small file stored at `location` (the search
/// cache reads each device's latest once, as on a live server).
/// Returns a night's range (UTC, `since`, `until`) in their middle.
async fn fill_results(
    url: &str,
    n: usize,
    backend: &FsBackend,
    location: i64,
) -> anyhow::Result<(String, String)> {
    let mut db = AnyConnection::connect(url).await?;
    let (first, count): (i64, i64) = {
        let r =
            sqlx::query("SELECT MIN(id) AS f, COUNT(*) AS n FROM devices WHERE name LIKE 'sw-%'")
                .fetch_one(&mut db)
                .await?;
        (sqlx::Row::try_get(&r, "f")?, sqlx::Row::try_get(&r, "n")?)
    };
    ensure!(count > 0, "no devices to spread the results over");
    for device in first..first + count {
        let rel = RelPath::parse(&format!("{device}/fill.cfg"))?;
        backend.store(
            format!("hostname sw-{device}\ninterface mgmt0\n ip address 192.0.2.1/24\nend\n")
                .as_bytes(),
            &rel,
        )?;
    }
    let step_ms = 360i64;
    let end = Timestamp::now().as_datetime() - Duration::from_secs(60);
    let end_ms = end.unix_timestamp() * 1000 + i64::from(end.millisecond());
    let start_ms = end_ms - step_ms * n as i64;
    // Both engines' results are written as `Timestamp` writes them.
    let series = if is_postgres(&db) {
        format!(
            "SELECT i, 'bench-result-' || i AS ti, {first} + i % {count} AS device, \
             to_char(to_timestamp(({start_ms} + i * {step_ms}) / 1000.0) AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at, i % 50 = 49 AS failed \
             FROM generate_series(0, {last}) AS k(i)",
            last = n - 1,
        )
    } else {
        format!(
            "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < {last}) \
             SELECT i, 'bench-result-' || i AS ti, {first} + i % {count} AS device, \
             strftime('%Y-%m-%dT%H:%M:%fZ', ({start_ms} + i * {step_ms}) / 1000.0, 'unixepoch') AS at, \
             i % 50 = 49 AS failed FROM k",
            last = n - 1,
        )
    };
    let mut tx = db.begin().await?;
    for insert in [
        "INSERT INTO backup_jobs (task_id, task_identifier, device_id, state, state_rank, reason, \
         queued_on, updated_at, deadline, attempts) \
         SELECT ti, ti, device, CASE WHEN failed THEN 'failed' ELSE 'stored' END, 3, \
         CASE WHEN failed THEN 'cannot connect: connection timed out' END, at, at, at, 1",
        "INSERT INTO device_backup_results (task_id, task_identifier, device_id, status, timestamp, \
         log, collection_duration_ms, outcome) \
         SELECT ti, ti, device, CASE WHEN failed THEN 'failure' ELSE 'success' END, at, '[]', 900, \
         CASE WHEN failed THEN 'failed' ELSE 'stored' END",
    ] {
        let (columns, select) = insert.split_once(" SELECT ").expect("an INSERT ... SELECT");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{columns} SELECT {select} FROM ({series}) s"
        )))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO stored_backups (task_id, task_identifier, device_id, storage_backend, storage_ref, \
         status, timestamp, log, location_id, size, changed, is_binary) \
         SELECT ti, ti, device, 'fs', device || '/fill.cfg', 'success', at, '[]', {location}, 60, \
         CASE WHEN i % 24 = 0 THEN 1 ELSE 0 END, 0 FROM ({series}) s WHERE NOT failed"
    )))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    checkpoint_and_close(db).await?;
    let mid = end - Duration::from_millis(step_ms as u64 * n as u64 / 2);
    Ok((
        Timestamp::from_datetime(mid).to_string(),
        Timestamp::from_datetime(mid + Duration::from_secs(12 * 3600)).to_string(),
    ))
}

/// Loads `paths` in Chromium through the browser tests' `measure.mjs` and
/// prints, for each, when its first frame was drawn (p50 and worst of six
/// loads) against the one-second target.
fn in_chromium(client: &Client, paths: &[&str], lines: usize) -> anyhow::Result<()> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../devicevault-server/tests/browser/measure.mjs");
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg(format!("http://{}", client.addr))
        .arg(&client.cookie)
        .args(paths)
        .stdin(std::process::Stdio::null())
        .output()
        .context("run node (scripts/test installs it and Playwright)")?;
    ensure!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    println!();
    println!(
        "in Chromium (headless, this machine), {} lines: ms from navigation to the first frame after load",
        thousands(lines)
    );
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let loads = v["loads"].as_array().context("loads")?;
        let mut frames: Vec<f64> = loads.iter().filter_map(|l| l["frame"].as_f64()).collect();
        frames.sort_by(f64::total_cmp);
        let mut interactive: Vec<f64> = loads
            .iter()
            .filter_map(|l| l["interactive"].as_f64())
            .collect();
        interactive.sort_by(f64::total_cmp);
        let p50 = frames[frames.len() / 2];
        let worst = frames[frames.len() - 1];
        println!(
            "  {:<64} first frame p50 {:>6.0} ms, worst {:>6.0} ms (interactive p50 {:>5.0} ms), {} rows {}",
            v["path"].as_str().unwrap_or_default(),
            p50,
            worst,
            interactive
                .get(interactive.len() / 2)
                .copied()
                .unwrap_or_default(),
            loads[0]["rows"],
            if worst < 1000.0 {
                "< 1000 ms ✓"
            } else {
                "< 1000 ms ✗"
            }
        );
    }
    Ok(())
}

/// Times `path` and prints one row of the table.
async fn report(
    client: &Client,
    label: &str,
    path: &str,
    target_ms: f64,
    requests: usize,
    expect: &str,
) -> anyhow::Result<()> {
    for _ in 0..3 {
        client.get(path).await?;
    }
    let mut server = Vec::with_capacity(requests);
    let mut wall = Vec::with_capacity(requests);
    let mut size = 0;
    for _ in 0..requests {
        let started = Instant::now();
        let r = client.get(path).await?;
        wall.push(started.elapsed());
        ensure!(r.status == 200, "GET {path}: HTTP {}", r.status);
        ensure!(
            r.body.contains(expect),
            "GET {path}: the page does not say {expect:?}"
        );
        server.push(
            r.server_time
                .with_context(|| format!("GET {path}: no Server-Timing"))?,
        );
        size = r.body.len();
    }
    server.sort();
    wall.sort();
    let p50 = ms(percentile(&server, 0.50));
    let p95 = ms(percentile(&server, 0.95));
    let p99 = ms(percentile(&server, 0.99));
    println!(
        "{label:<72} {:>26} {:>10} {:>9} {:>9}",
        format!("{p50:.1} / {p95:.1} / {p99:.1} ms"),
        format!("{:.1} ms", ms(percentile(&wall, 0.50))),
        format!("{:.0} KB", size as f64 / 1024.0),
        format!(
            "< {target_ms:.0} ms{}",
            if p95 < target_ms { "" } else { " ✗" }
        ),
    );
    Ok(())
}

/// A Cisco-like configuration of `lines` lines; `seed` varies the values.
fn config_text(lines: usize, seed: usize) -> String {
    let mut out = String::with_capacity(lines * 40);
    let mut n = 0;
    let mut i = 0;
    out.push_str("hostname core-rtr-01\n");
    n += 1;
    while n < lines {
        let block = [
            format!(
                "interface TenGigabitEthernet{}/{}/{}",
                i / 480,
                (i / 48) % 10,
                i % 48
            ),
            format!(
                " description uplink-{i} to dist-{} port {}",
                (i * 7 + seed) % 97,
                (i * 13 + seed) % 48
            ),
            format!(
                " ip address 10.{}.{}.{} 255.255.255.252",
                (i / 256 + seed) % 256,
                i % 256,
                (i * 4 + 1) % 256
            ),
            " ip ospf network point-to-point".to_owned(),
            format!(" ip ospf cost {}", 10 + (i + seed) % 90),
            format!(
                " mtu {}",
                if (i + seed).is_multiple_of(3) {
                    9216
                } else {
                    1500
                }
            ),
            " no shutdown".to_owned(),
            "!".to_owned(),
        ];
        for l in block {
            if n == lines {
                break;
            }
            out.push_str(&l);
            out.push('\n');
            n += 1;
        }
        i += 1;
    }
    out
}

/// `text` with one line in `every` changed (a number in it), and a few
/// lines inserted and removed, as an engineer's change window would.
fn edited(text: &str, every: usize) -> String {
    let mut out = String::with_capacity(text.len() + 4096);
    for (i, line) in text.lines().enumerate() {
        if i % (every * 10) == 5 {
            continue; // removed
        }
        if i % every == 1 {
            out.push_str(&line.replace("dist-", "dist-new-"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
        if i % (every * 10) == 50 {
            out.push_str(" ip access-group EDGE-IN in\n");
        }
    }
    out
}

/// Inserts `n` devices (20 types, 50 groups, a tenth disabled) and, for
/// most of them, `history` jobs: stored ones on earlier days, then the last
/// one (stored, failed or running), in one transaction.
/// `n` hourly backups of `device` before now, each with its job and
/// collection result: a change every 24th, one in 50 failed (collection
/// failed, nothing stored). Returns a night's range (UTC, `since`, `until`)
/// in the middle of the history, for the results page.
async fn fill_history(url: &str, device: i64, n: usize) -> anyhow::Result<(String, String)> {
    let mut db = AnyConnection::connect(url).await?;
    let mut tx = db.begin().await?;
    let now = Timestamp::now().as_datetime();
    let hour =
        |i: usize| Timestamp::from_datetime(now - Duration::from_secs(3600 * (n - i) as u64 + 60));
    for i in 0..n {
        let at = hour(i).to_string();
        let ti = format!("bench-history-{i}");
        let failed = i % 50 == 49;
        sqlx::query(
            "INSERT INTO backup_jobs (task_id, task_identifier, device_id, state, state_rank, reason, \
             queued_on, updated_at, deadline, attempts) VALUES ($1, $1, $2, $3, 3, $4, $5, $5, $5, 1)",
        )
        .bind(&ti)
        .bind(device)
        .bind(if failed { "failed" } else { "stored" })
        .bind(failed.then_some("cannot connect: connection timed out"))
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO device_backup_results (task_id, task_identifier, device_id, status, timestamp, \
             log, collection_duration_ms, outcome) VALUES ($1, $1, $2, $3, $4, '[]', 900, $5)",
        )
        .bind(&ti)
        .bind(device)
        .bind(if failed { "failure" } else { "success" })
        .bind(&at)
        .bind(if failed { "failed" } else { "stored" })
        .execute(&mut *tx)
        .await?;
        if failed {
            continue;
        }
        sqlx::query(
            "INSERT INTO stored_backups (task_id, task_identifier, device_id, storage_backend, storage_ref, \
             status, timestamp, log, size, changed, is_binary) \
             VALUES ($1, $1, $2, 'fs', $3, 'success', $4, '[]', 1000, $5, 0)",
        )
        .bind(&ti)
        .bind(device)
        .bind(format!("{device}/h{i}.cfg"))
        .bind(&at)
        .bind(i64::from(i % 24 == 0))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    checkpoint_and_close(db).await?;
    let mid = n / 2;
    Ok((hour(mid).to_string(), hour(mid + 12).to_string()))
}

async fn fill_devices(url: &str, n: usize, history: usize) -> anyhow::Result<()> {
    let mut db = AnyConnection::connect(url).await?;
    let mut tx = db.begin().await?;
    for t in 0..20 {
        sqlx::query("INSERT INTO device_types (name) VALUES ($1)")
            .bind(format!("model-{t:02}"))
            .execute(&mut *tx)
            .await?;
    }
    for g in 0..50 {
        sqlx::query("INSERT INTO device_groups (name) VALUES ($1)")
            .bind(format!("site-{g:02}"))
            .execute(&mut *tx)
            .await?;
    }
    let now = Timestamp::now();
    let created = now.to_string();
    for i in 0..n {
        let id: i64 = sqlx::Row::try_get(
            &sqlx::query(
                "INSERT INTO devices (name, address, port, driver, device_group_id, device_type_id, \
                 enabled, created_at) VALUES ($1, $2, 22, 'cisco_ios', $3, $4, $5, $6) RETURNING id",
            )
            .bind(format!("sw-{i:05}"))
            .bind(format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256))
            .bind((i % 50 + 1) as i64)
            .bind((i % 20 + 1) as i64)
            .bind(i64::from(i % 10 != 9))
            .bind(&created)
            .fetch_one(&mut *tx)
            .await?,
            "id",
        )?;
        let (state, rank) = match i % 20 {
            0 | 1 => ("failed", 3),
            2 => ("collecting", 1),
            3..=16 => ("stored", 3),
            _ => continue, // never backed up
        };
        for k in 0..history.max(1) {
            let last = k + 1 == history.max(1);
            // The last job spread over one day, so that sorting by last
            // backup has work to do; earlier ones on earlier days.
            // Relative to now, so that the dashboard's "last 24 h" and
            // per-day figures have the same work on any day the bench runs.
            let ago = if last {
                Duration::from_millis((i * 37 % 86_400 * 1000 + i % 1000) as u64)
            } else {
                Duration::from_secs(86_400 * ((history - k) as u64 + 1))
            };
            let queued = Timestamp::from_datetime(now.as_datetime() - ago).to_string();
            let (state, rank) = if last { (state, rank) } else { ("stored", 3) };
            sqlx::query(
                "INSERT INTO backup_jobs (task_id, task_identifier, device_id, state, state_rank, reason, \
                 queued_on, updated_at, deadline, attempts) VALUES ($1, $1, $2, $3, $4, $5, $6, $6, $6, 1)",
            )
            .bind(format!("bench-job-{i}-{k}"))
            .bind(id)
            .bind(state)
            .bind(rank)
            .bind((state == "failed").then_some("cannot connect: connection timed out"))
            .bind(&queued)
            .execute(&mut *tx)
            .await?;
        }
    }
    // Their health, as the pipeline would have kept it: the stored ones
    // succeeded at their last job (one in three with a change), one in 20
    // is stale.
    for update in [
        "UPDATE devices SET last_success_at = last_queued_on WHERE last_status_rank = 2",
        "UPDATE devices SET last_change_at = last_queued_on WHERE last_status_rank = 2 AND id % 3 = 0",
        "UPDATE devices SET stale_since = created_at WHERE id % 20 = 5",
    ] {
        sqlx::query(update).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    checkpoint_and_close(db).await
}

/// Moves a bulk insert out of SQLite's WAL, as its automatic checkpoints
/// do over time on a live server, or has PostgreSQL gather the statistics
/// its autovacuum would, and closes the connection.
async fn checkpoint_and_close(mut db: AnyConnection) -> anyhow::Result<()> {
    let settle = if is_postgres(&db) {
        "ANALYZE"
    } else {
        "PRAGMA wal_checkpoint(TRUNCATE)"
    };
    sqlx::query(settle).execute(&mut db).await?;
    db.close().await?;
    Ok(())
}

fn is_postgres(db: &AnyConnection) -> bool {
    db.backend_name() == "PostgreSQL"
}

/// One GET per connection with the session cookie, like a browser tab.
struct Client {
    addr: SocketAddr,
    cookie: String,
}

struct Page {
    status: u16,
    server_time: Option<Duration>,
    body: String,
}

impl Client {
    async fn get(&self, path: &str) -> anyhow::Result<Page> {
        let mut s = tokio::net::TcpStream::connect(self.addr).await?;
        s.set_nodelay(true)?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
            self.addr, self.cookie
        );
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .context("a response without headers")?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("no status")?;
        let server_time = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("server-timing").then_some(v)
            })
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|d| d.trim().parse::<f64>().ok())
            .map(|ms| Duration::from_secs_f64(ms / 1000.0));
        Ok(Page {
            status,
            server_time,
            body: body.to_owned(),
        })
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_configurations_have_the_asked_length_and_edits() {
        let old = config_text(20_000, 0);
        assert_eq!(old.lines().count(), 20_000);
        let new = edited(&old, 100);
        let changed = old.lines().zip(new.lines()).filter(|(a, b)| a != b).count();
        assert!(changed > 100, "{changed}");
        assert_ne!(config_text(100, 7), config_text(100, 0));
    }
}
