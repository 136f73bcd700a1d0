//! `devicevault-bench storage`: our git and fs backends against
//! `git fast-import`, storing and reading the same versions.

use crate::util::{XorShift, percentile};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use devicevault_core::{RelPath, StorageRef};
use devicevault_storage::fs::{FsBackend, FsConfig};
use devicevault_storage::git::{GitBackend, GitConfig};
use devicevault_storage::{Backend, StoreItem};

struct Version {
    rel_path: RelPath,
    content: Vec<u8>,
}

pub fn run(
    versions: usize,
    devices: usize,
    size: usize,
    reads: usize,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    if devices == 0 || versions == 0 {
        bail!("--devices and --versions must be positive");
    }
    let tmp;
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d).with_context(|| format!("create {}", d.display()))?;
            d
        }
        None => {
            tmp = tempfile::tempdir().context("create a temporary directory")?;
            tmp.path().to_owned()
        }
    };

    let set = synthetic_versions(versions, devices, size);
    let bytes: usize = set.iter().map(|v| v.content.len()).sum();
    println!(
        "storage benchmark: {versions} versions over {devices} devices, {:.1} KB average, {:.1} MB in all",
        bytes as f64 / versions as f64 / 1000.0,
        bytes as f64 / 1e6
    );

    let fast_import = time_fast_import(&dir.join("fast-import.git"), &set)?;
    let mut rows = vec![("git fast-import (reference)".to_owned(), fast_import)];

    let mut git_refs = Vec::new();
    for (fsync, batch) in [(true, 1), (true, GROUP_COMMIT), (false, 1)] {
        let name = format!("git-fsync-{fsync}-batch-{batch}.git");
        let mut cfg = GitConfig::new(dir.join(&name));
        cfg.fsync = fsync;
        let backend = GitBackend::new(cfg);
        let (elapsed, refs) = time_stores(&backend, &set, batch)?;
        let label = if batch == 1 {
            format!("devicevault git (fsync={fsync})")
        } else {
            format!("devicevault git (fsync={fsync}, groups of {batch})")
        };
        rows.push((label, elapsed));
        if fsync && batch == 1 {
            git_refs = refs;
        }
    }
    let fs_backend = FsBackend::new(FsConfig {
        base_path: dir.join("fs"),
        fsync: true,
    });
    let fs_set: Vec<Version> = set
        .iter()
        .enumerate()
        .map(|(i, v)| Version {
            // fs keeps one file per backup, so each version gets its own name.
            rel_path: RelPath::parse(&format!("{}.{i}.txt", v.rel_path)).expect("safe path"),
            content: v.content.clone(),
        })
        .collect();
    let (fs_elapsed, fs_refs) = time_stores(&fs_backend, &fs_set, 1)?;
    rows.push(("devicevault fs (fsync=true)".to_owned(), fs_elapsed));

    println!();
    println!(
        "{:<34} {:>10} {:>12} {:>10}",
        "writer", "seconds", "commits/s", "vs fast-import"
    );
    let reference = versions as f64 / fast_import.as_secs_f64();
    for (name, elapsed) in &rows {
        let rate = versions as f64 / elapsed.as_secs_f64();
        println!(
            "{name:<40} {:>10.3} {rate:>12.0} {:>13.2}x",
            elapsed.as_secs_f64(),
            rate / reference
        );
    }
    println!("target: devicevault git reaches at least 0.50x of git fast-import's commits/s");

    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "reads (random versions)", "p50 µs", "p99 µs", "max µs"
    );
    let git_backend = GitBackend::new(GitConfig::new(dir.join("git-fsync-true-batch-1.git")));
    for (name, backend, refs) in [
        ("devicevault git", &git_backend as &dyn Backend, &git_refs),
        ("devicevault fs", &fs_backend as &dyn Backend, &fs_refs),
    ] {
        let lat = time_reads(backend, refs, &set, reads)?;
        println!(
            "{name:<40} {:>10.1} {:>10.1} {:>10.1}",
            micros(percentile(&lat, 50.0)),
            micros(percentile(&lat, 99.0)),
            micros(percentile(&lat, 100.0))
        );
    }
    println!("target: reading any version back takes under 1 ms (1000 µs) at the median");
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Versions a storage worker with several tasks in hand stores as one group.
const GROUP_COMMIT: usize = 16;

fn time_stores(
    backend: &dyn Backend,
    set: &[Version],
    batch: usize,
) -> anyhow::Result<(Duration, Vec<StorageRef>)> {
    let mut refs = Vec::with_capacity(set.len());
    let start = Instant::now();
    for chunk in set.chunks(batch) {
        let items: Vec<StoreItem<'_>> = chunk
            .iter()
            .map(|v| StoreItem {
                content: &v.content,
                rel_path: &v.rel_path,
                message: None,
                previous_rel_path: None,
            })
            .collect();
        for (v, result) in chunk.iter().zip(backend.store_many(&items)?) {
            let stored = result.with_context(|| format!("store {}", v.rel_path))?;
            anyhow::ensure!(stored.changed, "{} was not a change", v.rel_path);
            refs.push(stored.storage_ref);
        }
    }
    Ok((start.elapsed(), refs))
}

fn time_reads(
    backend: &dyn Backend,
    refs: &[StorageRef],
    set: &[Version],
    reads: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut lat = Vec::with_capacity(reads);
    for _ in 0..reads {
        let i = rng.below(refs.len());
        let start = Instant::now();
        let content = backend.read(&refs[i])?;
        lat.push(start.elapsed());
        if content != set[i].content {
            bail!("read of {} returned different bytes", refs[i]);
        }
    }
    lat.sort();
    Ok(lat)
}

/// Feeds every version to `git fast-import` as one commit each and times the
/// whole run (stream built beforehand, so only git's work is timed).
fn time_fast_import(repo: &Path, set: &[Version]) -> anyhow::Result<Duration> {
    let status = Command::new("git")
        .args(["init", "--quiet", "--bare"])
        .arg(repo)
        .status()
        .context("run `git init` (is git installed?)")?;
    if !status.success() {
        bail!("git init {} failed", repo.display());
    }
    let mut stream = Vec::new();
    for (i, v) in set.iter().enumerate() {
        let msg = format!("Backup {}\n", v.rel_path);
        write!(
            stream,
            "commit refs/heads/main\ncommitter DeviceVault <devicevault@localhost> {} +0000\ndata {}\n{msg}M 100644 inline {}\ndata {}\n",
            1_700_000_000 + i,
            msg.len(),
            v.rel_path,
            v.content.len()
        )?;
        stream.extend_from_slice(&v.content);
        stream.push(b'\n');
    }
    let start = Instant::now();
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .context("run `git fast-import`")?;
    child
        .stdin
        .take()
        .context("fast-import stdin")?
        .write_all(&stream)
        .context("feed git fast-import")?;
    let status = child.wait()?;
    let elapsed = start.elapsed();
    if !status.success() {
        bail!("git fast-import failed");
    }
    Ok(elapsed)
}

/// `versions` configurations of about `size` bytes over `devices` devices,
/// in store order (device 0 v0, device 1 v0, …, device 0 v1, …). Each new
/// version of a device changes a few lines of the previous one, as a real
/// change window does.
fn synthetic_versions(versions: usize, devices: usize, size: usize) -> Vec<Version> {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut configs: Vec<Vec<String>> = (0..devices)
        .map(|d| base_config(d, size, &mut rng))
        .collect();
    let mut out = Vec::with_capacity(versions);
    for i in 0..versions {
        let d = i % devices;
        if i >= devices {
            mutate(&mut configs[d], &mut rng);
        }
        let mut content = configs[d].join("\n");
        content.push('\n');
        out.push(Version {
            rel_path: RelPath::parse(&format!("{d}/router-{d:04}.cfg")).expect("safe path"),
            content: content.into_bytes(),
        });
    }
    out
}

fn base_config(device: usize, size: usize, rng: &mut XorShift) -> Vec<String> {
    let mut lines = vec![
        "!".to_owned(),
        "version 15.2".to_owned(),
        "service timestamps debug datetime msec".to_owned(),
        "service password-encryption".to_owned(),
        "!".to_owned(),
        format!("hostname router-{device:04}"),
        "!".to_owned(),
        "aaa new-model".to_owned(),
        format!("ip domain name site{}.example.net", device % 17),
        "!".to_owned(),
    ];
    let mut bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut n = 0;
    while bytes < size {
        let block = match n % 3 {
            0 => vec![
                format!("interface GigabitEthernet0/{}", n),
                format!(
                    " description uplink to core-{} port {}",
                    rng.below(64),
                    rng.below(48)
                ),
                format!(
                    " ip address 10.{}.{}.{} 255.255.255.252",
                    device % 250,
                    n % 250,
                    rng.below(250)
                ),
                " no shutdown".to_owned(),
                "!".to_owned(),
            ],
            1 => (0..6)
                .map(|k| {
                    format!(
                        "access-list {} permit tcp 10.{}.0.0 0.0.255.255 host 192.0.2.{} eq {}",
                        100 + n % 50,
                        rng.below(250),
                        rng.below(250),
                        [22, 80, 443, 161, 179][k % 5]
                    )
                })
                .collect(),
            _ => vec![
                format!("router bgp 650{:02}", device % 100),
                format!(
                    " neighbor 10.255.{}.{} remote-as 65{:03}",
                    n % 250,
                    rng.below(250),
                    rng.below(999)
                ),
                format!(
                    " neighbor 10.255.{}.{} description peer-{n}",
                    n % 250,
                    rng.below(250)
                ),
                "!".to_owned(),
            ],
        };
        bytes += block.iter().map(|l| l.len() + 1).sum::<usize>();
        lines.extend(block);
        n += 1;
    }
    lines.push("end".to_owned());
    lines
}

/// Changes a few lines, as a change window does; always at least one.
fn mutate(lines: &mut [String], rng: &mut XorShift) {
    let mut changed = 0;
    while changed < 3 {
        let i = 10 + rng.below(lines.len().saturating_sub(11).max(1));
        if lines[i].starts_with(" description") {
            lines[i] = format!(" description changed in window {}", rng.next());
            changed += 1;
        } else if lines[i].starts_with("access-list") {
            lines[i] = match lines[i].strip_suffix(" log") {
                Some(plain) => plain.to_owned(),
                None => format!("{} log", lines[i]),
            };
            changed += 1;
        }
    }
}
