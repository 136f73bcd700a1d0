//! The search engine's figures on a generated fleet.
//!
//! ```text
//! cargo run --release -p devicevault-search --example bench_search [-- DEVICES [RUNS]]
//! ```
//!
//! Generates DEVICES (10,000) IOS-style configurations of about 36 KB —
//! interfaces with descriptions, VLANs, ACLs, routes, SNMP, AAA, secrets —
//! varied by a seeded generator, caches them (each with its masked reader
//! view, as the storage-results consumer would), then times queries: the
//! cache lookup of every device plus the search, first page of 50, RUNS
//! (50) times each, for an administrator and for a reader whose secrets are
//! masked, and reports p50/p99, the selected count and the cache's memory.

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_core::Timestamp;
use devicevault_search::{
    Audience, ContentCache, DeviceRef, Document, Page, Query, QuerySpec, SearchOptions, Target,
    search_with,
};

/// The `cisco_ios` driver's secret rules, applied line by line as the
/// server's `reading::mask` does.
fn masker() -> impl Fn(&str) -> Cow<'_, str> {
    let rules: Vec<(regex::Regex, &str)> = [
        (r"^(enable (secret|password)( \d+)?) \S+", "$1 <removed>"),
        (
            r"^(username \S+( privilege \d+)? (secret|password)( \d+)?) \S+",
            "$1 <removed>",
        ),
        (r"^(snmp-server community) \S+", "$1 <removed>"),
        (
            r"^(\s*(tacacs-server|radius-server) key( \d+)?) \S+",
            "$1 <removed>",
        ),
        (r"^(\s*key( \d+)?) \S+", "$1 <removed>"),
    ]
    .into_iter()
    .map(|(p, r)| (regex::Regex::new(&format!("(?m){p}")).unwrap(), r))
    .collect();
    move |text: &str| {
        let mut out = Cow::Borrowed(text);
        for (re, rep) in &rules {
            if let Cow::Owned(o) = re.replace_all(&out, *rep) {
                out = Cow::Owned(o);
            }
        }
        out
    }
}

fn rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let devices: usize = args.next().map_or(10_000, |a| a.parse().expect("DEVICES"));
    let runs: usize = args.next().map_or(50, |a| a.parse().expect("RUNS"));
    let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);

    let rss_before = rss_bytes();
    let t = Instant::now();
    let texts = devicevault_testkit::configs::fleet(devices);
    let total_bytes: usize = texts.iter().map(String::len).sum();
    println!(
        "generated {devices} configurations, {:.1} MB ({:.1} KB average) in {:.1} s",
        total_bytes as f64 / 1e6,
        total_bytes as f64 / devices as f64 / 1e3,
        t.elapsed().as_secs_f64()
    );

    let at = Timestamp::parse("2026-01-12T12:34:56.789Z").unwrap();
    let mask = masker();
    let cache = ContentCache::default();
    let t = Instant::now();
    let mut targets = Vec::with_capacity(devices);
    for (i, text) in texts.into_iter().enumerate() {
        let id = i as i64 + 1;
        let doc = Document::new(id * 10, at, text.into_bytes(), &mask);
        cache.insert(id, Arc::new(doc));
        targets.push(Target {
            device: DeviceRef::new(id, format!("sw{:05}", (i * 7919) % devices)),
            stored_backup_id: id * 10,
        });
    }
    let build = t.elapsed();
    let stats = cache.stats();
    println!(
        "cache: {} entries, {:.1} MB counted ({:.1} MB budget, {} refused); built with masking in {:.2} s ({:.0} µs per configuration)",
        stats.entries,
        stats.memory_bytes as f64 / 1e6,
        stats.memory_budget as f64 / 1e6,
        stats.refused,
        build.as_secs_f64(),
        build.as_secs_f64() * 1e6 / devices as f64
    );
    if let (Some(a), Some(b)) = (rss_before, rss_bytes()) {
        println!(
            "process RSS: {:.1} MB after caching (+{:.1} MB)",
            b as f64 / 1e6,
            (b - a) as f64 / 1e6
        );
    }

    let negate = |spec: QuerySpec| QuerySpec {
        negate: true,
        ..spec
    };
    let queries: Vec<(&str, QuerySpec)> = vec![
        (
            "literal, rare (scans nearly all)",
            QuerySpec::literal("permit udp host 10.42.42.42 any eq 161"),
        ),
        (
            "literal, 10% of devices",
            QuerySpec::literal("ip http server"),
        ),
        (
            "literal, every device",
            QuerySpec::literal("snmp-server location"),
        ),
        (
            "literal, ignore case",
            QuerySpec {
                ignore_case: true,
                ..QuerySpec::literal("Description UPLINK to par-core-sw07")
            },
        ),
        (
            "regex, 5% of devices",
            QuerySpec::regex(r"^snmp-server community \S+ RW"),
        ),
        (
            "regex, prefix on every ACL line",
            QuerySpec::regex(r"host 10\.\d+\.\d+\.\d+ any eq 8443"),
        ),
        (
            "regex, only common literals",
            QuerySpec::regex(r"(permit|deny) (tcp|udp) host \S+ any eq (8443|9443)"),
        ),
        (
            "regex, context 3/3",
            QuerySpec {
                context_before: 3,
                context_after: 3,
                ..QuerySpec::regex(r"transport input .*telnet")
            },
        ),
        (
            "negative, 3% lack it",
            negate(QuerySpec::literal("service password-encryption")),
        ),
        (
            "negative, 90% lack it (scans them)",
            negate(QuerySpec::literal("ip http server")),
        ),
    ];

    println!();
    println!(
        "| query | audience | threads | selected | p50 ms | p99 ms |\n|---|---|---|---|---|---|"
    );
    let measure = |spec: &QuerySpec, audience: Audience, threads: NonZeroUsize| {
        let query = Query::parse(spec.clone()).expect("valid query");
        let mut times = Vec::with_capacity(runs);
        let mut selected = 0;
        for _ in 0..runs {
            let t = Instant::now();
            // What the API does after its database query: look the devices
            // up in the cache, then search (nothing is missing here).
            let lookup = cache.lookup(targets.iter().cloned());
            assert!(lookup.missing.is_empty());
            let options = SearchOptions {
                threads,
                time_limit: None,
            };
            let r = search_with(&lookup.found, &query, audience, Page::first(50), &options)
                .expect("no time limit");
            times.push(t.elapsed());
            selected = r.total_devices;
        }
        times.sort();
        (selected, percentile(&times, 0.5), percentile(&times, 0.99))
    };
    for (name, spec) in &queries {
        for audience in [Audience::Everything, Audience::Masked] {
            let (n, p50, p99) = measure(spec, audience, threads);
            let who = match audience {
                Audience::Everything => "admin",
                Audience::Masked => "reader (masked)",
            };
            println!(
                "| {name} | {who} | {threads} | {n} | {} | {} |",
                ms(p50),
                ms(p99)
            );
        }
    }
    // Does the second thread help? The full scans on one thread.
    for (name, spec) in [&queries[0], &queries[5], &queries[6], &queries[9]].map(|(n, s)| (n, s)) {
        let (n, p50, p99) = measure(spec, Audience::Masked, NonZeroUsize::MIN);
        println!(
            "| {name} | reader (masked) | 1 | {n} | {} | {} |",
            ms(p50),
            ms(p99)
        );
    }
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(cache.lookup(targets.iter().cloned()));
    }
    println!(
        "\ncache lookup of {devices} devices alone: {:.2} ms",
        t.elapsed().as_secs_f64() * 1000.0 / runs as f64
    );
}
