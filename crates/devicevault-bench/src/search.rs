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
            db.create_user(name, &hash, admin).await?
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
    let mut rng = Rng(0x5eed);
    let mut bytes = 0usize;
    for i in 0..args.devices {
        let text = config(i, &mut rng);
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

/// SplitMix64: deterministic, dependency-free variety.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| {
                let c = self.below(36) as u8;
                (if c < 10 { b'0' + c } else { b'a' + c - 10 }) as char
            })
            .collect()
    }
}

const SITES: &[&str] = &["par", "lon", "fra", "ams", "nyc", "sjc", "sin", "syd"];
const ROLES: &[&str] = &["acc", "dist", "core", "edge", "wan"];
const PEERS: &[&str] = &[
    "ap-floor{}-{}",
    "printer-b{}-{}",
    "cam-lobby-{}{}",
    "phone-desk-{}{}",
    "srv-rack{}-u{}",
    "ups-{}-{}",
];

fn config(i: usize, rng: &mut Rng) -> String {
    let site = rng.pick(SITES);
    let role = rng.pick(ROLES);
    let host = format!("{site}-{role}-sw{i:05}");
    let target = 33_000 + rng.below(6_000) as usize;
    let b = (i / 250) % 250;
    let c = i % 250;
    let mut s = String::with_capacity(target + 4096);
    let w = &mut s;
    let _ = writeln!(w, "! Last configuration change by admin");
    let _ = writeln!(w, "version 15.{}", rng.below(9));
    w.push_str("service timestamps debug datetime msec\nservice timestamps log datetime msec\n");
    if !rng.chance(3) {
        w.push_str("service password-encryption\n");
    }
    let _ = writeln!(
        w,
        "!\nhostname {host}\n!\nboot-start-marker\nboot-end-marker\n!"
    );
    let _ = writeln!(w, "logging buffered 64000\nlogging host 10.250.{b}.{c}");
    let _ = writeln!(w, "enable secret 5 $1${}${}", rng.word(4), rng.word(22));
    let _ = writeln!(
        w,
        "username netops privilege 15 secret 5 $1${}${}",
        rng.word(4),
        rng.word(22)
    );
    w.push_str("aaa new-model\naaa authentication login default group tacacs+ local\n");
    let _ = writeln!(
        w,
        "tacacs-server host 10.251.0.{}\ntacacs-server key 7 {}",
        rng.below(20),
        rng.word(18)
    );
    let _ = writeln!(
        w,
        "clock timezone CET 1 0\nip domain name {site}.corp.example"
    );
    let _ = writeln!(w, "ip name-server 10.0.{}.53 10.0.{}.54", b, b);
    for n in 0..(1 + rng.below(3)) {
        let _ = writeln!(w, "ntp server 10.{}.0.{}", 200 + n, 1 + rng.below(4));
    }
    if rng.chance(10) {
        w.push_str("ip http server\n");
    }
    w.push_str("ip http secure-server\n!\n");
    for v in 0..(8 + rng.below(24)) {
        let _ = writeln!(
            w,
            "vlan {}\n name {}-{}\n!",
            10 + v * 10,
            rng.pick(ROLES),
            rng.word(5)
        );
    }
    let ports = [24, 48, 48, 96][rng.below(4) as usize];
    for p in 1..=ports {
        let _ = writeln!(w, "interface GigabitEthernet1/0/{p}");
        if p <= 2 {
            let _ = writeln!(
                w,
                " description uplink to {site}-core-sw{:02} Te1/1/{}",
                rng.below(40),
                p
            );
            w.push_str(" switchport mode trunk\n switchport trunk allowed vlan 10-400\n");
        } else if rng.chance(85) {
            let peer = rng
                .pick(PEERS)
                .replacen("{}", &rng.below(12).to_string(), 1)
                .replacen("{}", &rng.below(60).to_string(), 1);
            let _ = writeln!(w, " description {peer}");
            let _ = writeln!(w, " switchport access vlan {}", 10 + rng.below(30) * 10);
            w.push_str(" switchport mode access\n spanning-tree portfast\n");
            if rng.chance(30) {
                w.push_str(" storm-control broadcast level 1.00\n");
            }
        } else {
            w.push_str(" shutdown\n");
        }
        w.push_str("!\n");
    }
    let _ = writeln!(
        w,
        "interface Vlan10\n ip address 10.{b}.{c}.1 255.255.255.0\n no ip redirects\n!"
    );
    let _ = writeln!(
        w,
        "interface Loopback0\n ip address 10.255.{b}.{c} 255.255.255.255\n!"
    );
    for r in 0..(4 + rng.below(20)) {
        let _ = writeln!(
            w,
            "ip route 10.{}.{}.0 255.255.255.0 10.{b}.{c}.{}",
            100 + r,
            rng.below(250),
            2 + rng.below(5)
        );
    }
    let community = if rng.chance(5) { "RW" } else { "RO" };
    let _ = writeln!(
        w,
        "snmp-server community {} {community}\nsnmp-server location {site} building {} room {}",
        rng.word(12),
        rng.below(9),
        rng.below(400)
    );
    let _ = writeln!(
        w,
        "snmp-server contact noc@corp.example\nsnmp-server host 10.252.0.{} version 2c {}",
        rng.below(9),
        rng.word(10)
    );
    w.push_str("snmp-server enable traps snmp linkdown linkup\n!\n");
    // ACLs fill the rest: the bulk of a real edge or core configuration.
    let mut acl = 100;
    while w.len() < target.saturating_sub(600) {
        let _ = writeln!(
            w,
            "ip access-list extended ACL-{}-{acl}",
            role.to_uppercase()
        );
        for _ in 0..(20 + rng.below(60)) {
            let proto = rng.pick(&["tcp", "udp", "tcp", "ip"]);
            let action = if rng.chance(90) { "permit" } else { "deny  " };
            let _ = writeln!(
                w,
                " {action} {proto} host 10.{}.{}.{} any eq {}",
                rng.below(100),
                rng.below(250),
                rng.below(250),
                [22, 53, 80, 123, 161, 443, 514, 8080][rng.below(8) as usize]
            );
        }
        w.push_str(" deny   ip any any log\n!\n");
        acl += 1;
    }
    w.push_str("line con 0\n exec-timeout 5 0\n logging synchronous\n");
    let telnet = if rng.chance(8) { "telnet ssh" } else { "ssh" };
    let _ = writeln!(
        w,
        "line vty 0 4\n access-class 99 in\n transport input {telnet}\nline vty 5 15\n transport input ssh\n!\nend"
    );
    s
}
