//! `devicevault-bench search`: the fleet search through the API (issue
//! 17) on a generated fleet: DEVICES (10,000) IOS-style configurations of
//! about 36 KB (the generator of `devicevault-search`'s
//! `examples/bench_search.rs`), stored as files of an fs location and
//! indexed as stored backups (SQL, one transaction), served by embedded
//! `serve` in this process. Times the first search (the cache cold: every
//! version read through the storage worker), the cache's fill, then
//! literal, regex and negative queries through `GET /api/search/` (first
//! page of 50) for an administrator and a reader whose secrets are masked,
//! and reports p50/p99 beside the targets, the cache's memory and the
//! process's resident memory.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use devicevault_client::HttpClient;
use devicevault_core::{RelPath, StorageBackendKind, Timestamp};
use devicevault_pipeline::app::auth;
use devicevault_server::embedded::{Embedded, ServeConfig};
use devicevault_storage::Backend as _;
use devicevault_storage::fs::{FsBackend, FsConfig};
use sqlx::{AnyConnection, Connection as _};

use crate::util::{ms, percentile, thousands};

#[derive(Debug, Args)]
pub struct SearchBench {
    /// Devices, each with one ~36 KB latest version.
    #[arg(long, default_value_t = 10_000)]
    devices: usize,
    /// Requests timed per query (after 2 not timed).
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Directory under which the run's data directory is made (default:
    /// the current directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the run's data directory instead of deleting it.
    #[arg(long)]
    keep: bool,
}

const P50_TARGET_MS: f64 = 200.0;
const P99_TARGET_MS: f64 = 500.0;

pub fn run(args: SearchBench) -> anyhow::Result<()> {
    if args.devices == 0 || args.runs == 0 {
        bail!("--devices and --runs must be positive");
    }
    let parent = args.work_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).with_context(|| format!("create {}", parent.display()))?;
    let work = tempfile::Builder::new()
        .prefix("devicevault-bench-search-")
        .tempdir_in(&parent)
        .with_context(|| format!("make a directory under {}", parent.display()))?;
    let work_path = std::path::absolute(work.path())?;
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

async fn client(server: &Embedded, name: &str, admin: bool) -> anyhow::Result<HttpClient> {
    let db = &server.db;
    let user = match db.user_by_name(name).await? {
        Some(u) => u,
        None => {
            let hash = auth::hash_password("bench reader password")?;
            db.create_user(
                name,
                &hash,
                if admin { devicevault_core::Role::Admin } else { devicevault_core::Role::Reader },
            ).await?
        }
    };
    let token = auth::issue_token(
        db,
        user.id,
        devicevault_db::TokenKind::Named,
        Some("bench"),
        None,
    )
    .await?
    .1;
    let mut c = HttpClient::new(server.addr);
    c.token = Some(token);
    Ok(c)
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One search through the API: its wall time and the devices selected.
async fn timed(c: &mut HttpClient, query: &str) -> anyhow::Result<(Duration, i64)> {
    let started = Instant::now();
    let r = c.get(&format!("/api/search/?{query}&page_size=50")).await?;
    let took = started.elapsed();
    if r.status != 200 {
        bail!(
            "search {query}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }
    Ok((took, r.json()["count"].as_i64().unwrap_or(-1)))
}

fn rss_mb() -> String {
    crate::proc_stats::status_bytes("self", "VmRSS")
        .map(|b| format!("{:.0} MB", b as f64 / 1e6))
        .unwrap_or_else(|_| "?".into())
}

async fn bench(args: &SearchBench, work: &std::path::Path) -> anyhow::Result<()> {
    let cfg = ServeConfig::new(work.join("data"), "127.0.0.1:0".parse()?);
    let server = Embedded::start(cfg).await.context("start the server")?;
    let mut admin = client(&server, "admin", true).await?;
    let mut reader = client(&server, "reader", false).await?;
    println!(
        "fleet search benchmark: {} devices, one ~36 KB latest version each, through GET /api/search/ (embedded serve, SQLite, fs location); {} timed requests per query",
        thousands(args.devices),
        args.runs
    );

    // ---- the fleet ----------------------------------------------------------------
    let started = Instant::now();
    let base = work.join("fs");
    let mut location_config = serde_json::Map::new();
    location_config.insert("base_path".into(), base.display().to_string().into());
    let location = server
        .db
        .create_location("bench", StorageBackendKind::Fs, &location_config)
        .await?;
    let backend = FsBackend::new(FsConfig {
        base_path: base,
        fsync: false,
    });
    let url = format!("sqlite:{}", work.join("data/devicevault.sqlite3").display());
    let mut conn = AnyConnection::connect(&url).await?;
    let mut tx = conn.begin().await?;
    let now = Timestamp::now().to_string();
    let mut rng = devicevault_testkit::configs::Rng(0x5eed);
    let mut bytes = 0usize;
    for i in 0..args.devices {
        let text = devicevault_testkit::configs::config(i, &mut rng);
        bytes += text.len();
        let id: i64 = sqlx::Row::try_get(
            &sqlx::query(
                "INSERT INTO devices (name, address, port, driver, backup_location_id, enabled, created_at) \
                 VALUES ($1, $2, 22, 'cisco_ios', $3, 1, $4) RETURNING id",
            )
            .bind(format!("sw-{i:05}"))
            .bind(format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256))
            .bind(location.id)
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?,
            "id",
        )?;
        let stored = backend.store(text.as_bytes(), &RelPath::parse(&format!("{id}/v0.cfg"))?)?;
        sqlx::query(
            "INSERT INTO stored_backups (task_id, task_identifier, device_id, storage_backend, storage_ref, \
             status, timestamp, log, location_id, size, sha256, changed, is_binary) \
             VALUES ($1, $1, $2, 'fs', $3, 'success', $4, '[]', $5, $6, $7, 1, 0)",
        )
        .bind(format!("bench:{id}"))
        .bind(id)
        .bind(stored.storage_ref.to_string())
        .bind(&now)
        .bind(location.id)
        .bind(stored.size as i64)
        .bind(stored.sha256)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    drop(conn);
    println!(
        "({} devices, {:.0} MB of configurations, stored and indexed in {:.1} s)",
        thousands(args.devices),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // ---- cold, then the cache's fill ------------------------------------------------------
    let before = server.search.stats();
    let (cold, n) = timed(&mut admin, "q=ip%20http%20server").await?;
    let after = server.search.stats();
    println!(
        "first search (cache held {} of {} devices): {:.0} ms, {} selected; the cache then held {} ({:.0} MB)",
        thousands(before.entries),
        thousands(args.devices),
        ms(cold),
        thousands(n as usize),
        thousands(after.entries),
        after.memory_bytes as f64 / 1e6
    );
    let fill_started = Instant::now();
    while server.search.stats().entries < args.devices {
        if fill_started.elapsed() > Duration::from_secs(600) {
            bail!(
                "the cache did not fill in 10 minutes: {:?}",
                server.search.stats()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = server.search.stats();
    println!(
        "cache: {} documents, {:.0} MB counted against a {:.0} MB budget, {} refused; process resident memory {}",
        thousands(stats.entries),
        stats.memory_bytes as f64 / 1e6,
        stats.memory_budget as f64 / 1e6,
        stats.refused,
        rss_mb()
    );

    // ---- timed queries ------------------------------------------------------------------------
    let queries: Vec<(&str, String)> = vec![
        (
            "literal, rare (scans nearly all)",
            format!("q={}", enc("permit udp host 10.42.42.42 any eq 161")),
        ),
        (
            "literal, 10% of devices",
            format!("q={}", enc("ip http server")),
        ),
        (
            "literal, every device",
            format!("q={}", enc("snmp-server location")),
        ),
        (
            "literal, ignore case",
            format!(
                "q={}&ignore_case=true",
                enc("Description UPLINK to par-core-sw07")
            ),
        ),
        (
            "regex, 5% of devices",
            format!("q={}&regex=true", enc(r"^snmp-server community \S+ RW")),
        ),
        (
            "regex, prefix on every ACL line",
            format!(
                "q={}&regex=true",
                enc(r"host 10\.\d+\.\d+\.\d+ any eq 8443")
            ),
        ),
        (
            "regex, context 3",
            format!(
                "q={}&regex=true&context=3",
                enc(r"transport input .*telnet")
            ),
        ),
        (
            "negative, 3% lack it",
            format!("q={}&negate=true", enc("service password-encryption")),
        ),
        (
            "negative, 90% lack it",
            format!("q={}&negate=true", enc("ip http server")),
        ),
    ];
    println!();
    println!("| query | user | selected | p50 ms | p99 ms | target p50 / p99 |");
    println!("|---|---|---|---|---|---|");
    for (label, q) in &queries {
        for (who, c) in [("admin", &mut admin), ("reader (masked)", &mut reader)] {
            if who != "admin"
                && !label.starts_with("literal, 10%")
                && !label.starts_with("negative, 3%")
            {
                continue;
            }
            let mut times = Vec::with_capacity(args.runs);
            let mut selected = 0;
            for k in 0..args.runs + 2 {
                let (t, n) = timed(c, q).await?;
                selected = n;
                if k >= 2 {
                    times.push(t);
                }
            }
            times.sort_unstable();
            println!(
                "| {label} | {who} | {} | {:.0} | {:.0} | {P50_TARGET_MS:.0} / {P99_TARGET_MS:.0} |",
                thousands(selected as usize),
                ms(percentile(&times, 50.0)),
                ms(percentile(&times, 99.0)),
            );
        }
    }
    println!();
    println!("process resident memory after the queries: {}", rss_mb());
    server.stop(Duration::from_secs(5)).await;
    Ok(())
}
