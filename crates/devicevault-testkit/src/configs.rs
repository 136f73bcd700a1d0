//! Generated device configurations for the search tests and benchmarks:
//! realistic (interfaces, ACLs, routing, users, secrets), varied from
//! device to device, and the same on every run.

use std::fmt::Write as _;

/// The configurations of `devices` generated devices, from a fixed seed.
pub fn fleet(devices: usize) -> Vec<String> {
    let mut rng = Rng(0x5eed);
    (0..devices).map(|i| config(i, &mut rng)).collect()
}

/// SplitMix64: deterministic, dependency-free variety.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn word(&mut self, len: usize) -> String {
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

/// The configuration of the `i`th generated device (Cisco IOS-like,
/// ~36 KB: interfaces, ACLs, routing, users; secrets in the lines the
/// drivers mask).
pub fn config(i: usize, rng: &mut Rng) -> String {
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
