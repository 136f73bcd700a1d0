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
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devicevault_core::Timestamp;
use devicevault_search::{
    Audience, ContentCache, DeviceRef, Document, Page, Query, QuerySpec, SearchOptions, Target,
    search_with,
};

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
    let mut rng = Rng(0x5eed);
    let texts: Vec<String> = (0..devices).map(|i| config(i, &mut rng)).collect();
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
