//! Helpers shared by the benchmarks: percentiles, formatting, free ports,
//! and a deterministic random source.

use std::time::Duration;

use anyhow::{Context as _, bail};

/// The first `n` consecutive free ports from 10000, below the ephemeral
/// range, so the roles' own connections keep theirs.
pub fn free_port_range(n: usize) -> anyhow::Result<u16> {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<usize>().ok())
        .unwrap_or(32768);
    let mut base = 10_000usize;
    while base + n <= ephemeral_start {
        let taken = (base..base + n)
            .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_err());
        match taken {
            Some(port) => base = port + 1,
            None => return Ok(base as u16),
        }
    }
    bail!(
        "no {n} consecutive free ports between 10000 and the ephemeral range (from {ephemeral_start})"
    )
}

pub fn parse_lines(spec: &str) -> anyhow::Result<(usize, Option<usize>)> {
    let parse = |s: &str| {
        s.trim()
            .parse::<usize>()
            .with_context(|| format!("--config-lines: `{s}` is not a number of lines"))
    };
    match spec.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if a > b {
                bail!("--config-lines: {a}-{b} is an empty range");
            }
            Ok((a, Some(b)))
        }
        None => Ok((parse(spec)?, None)),
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// `p50 …, p99 …, max …` of sorted latencies, in milliseconds.
pub fn spread(sorted: &[Duration]) -> String {
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(sorted, 50.0)),
        ms(percentile(sorted, 99.0)),
        ms(percentile(sorted, 100.0))
    )
}

/// The same for durations read from millisecond timestamps.
pub fn spread_whole(sorted: &[Duration]) -> String {
    format!(
        "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms(percentile(sorted, 50.0)),
        ms(percentile(sorted, 99.0)),
        ms(percentile(sorted, 100.0))
    )
}

/// Thousands separated by commas.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Deterministic pseudo-random numbers; no dependency needed for a bench.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The `devicevault` binary the benchmarks start as child processes (the
/// simulator, `serve`, the distributed roles): `DEVICEVAULT_BIN`, or the
/// one built beside this benchmark binary.
pub fn devicevault_exe() -> anyhow::Result<std::path::PathBuf> {
    if let Some(bin) = std::env::var_os("DEVICEVAULT_BIN") {
        return Ok(bin.into());
    }
    let me = std::env::current_exe().context("find the benchmark binary")?;
    let exe = me
        .parent()
        .map(|dir| dir.join("devicevault"))
        .filter(|exe| exe.is_file())
        .with_context(|| {
            format!(
                "no `devicevault` binary beside {}: build both with \
                 `cargo build --release -p devicevault -p devicevault-bench`, \
                 or name it with DEVICEVAULT_BIN",
                me.display()
            )
        })?;
    Ok(exe)
}

/// A runtime on a thread of its own, for a client that must not be timed
/// behind the tasks of the runtime it is started from; stopped without
/// waiting when dropped (a runtime cannot be dropped in async code).
pub struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    pub fn new(name: &str) -> std::io::Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()
            .map(|rt| Self(Some(rt)))
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("taken only when dropped").handle()
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
