//! Deterministic running configurations.
//!
//! A device's configuration is a function of its seed, its revision and the
//! requested size, so an unchanged device prints the same body every time.
//! Volatile lines (timestamps, counters) are a function of the session and
//! change every time, as on real devices.

use crate::personality::Style;

/// What varies per session: when, and which session it is.
#[derive(Debug, Clone, Copy)]
pub struct SessionStamp {
    /// Seconds since the Unix epoch.
    pub unix: u64,
    /// Milliseconds within the second.
    pub millis: u32,
    /// Sessions this device has served, this one included.
    pub counter: u64,
}

/// The device-specific inputs of the generator.
#[derive(Debug, Clone)]
pub struct ConfigSpec<'a> {
    /// Hostname.
    pub host: &'a str,
    /// Seed from the device index.
    pub seed: u64,
    /// Bumped by a configuration change.
    pub revision: u32,
    /// Target number of lines (clamped to 50..=50,000).
    pub lines: usize,
    /// Embedded in every secret of the configuration (community, hashes, keys).
    pub secret_token: &'a str,
    /// One line of this many bytes in the middle of the body (a banner or
    /// certificate pasted on one line); `None` for none.
    pub long_line: Option<usize>,
}

/// A small, fast, deterministic generator (splitmix64).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Civil date from days since the epoch (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

struct Clock {
    y: i64,
    mo: u32,
    d: u32,
    h: u64,
    mi: u64,
    s: u64,
    ms: u32,
    wd: &'static str,
}

impl Clock {
    fn new(st: SessionStamp) -> Clock {
        let days = (st.unix / 86_400) as i64;
        let (y, mo, d) = civil(days);
        let rem = st.unix % 86_400;
        Clock {
            y,
            mo,
            d,
            h: rem / 3600,
            mi: rem / 60 % 60,
            s: rem % 60,
            ms: st.millis,
            wd: DAYS[(days.rem_euclid(7)) as usize],
        }
    }
    fn mon(&self) -> &'static str {
        MONTHS[(self.mo - 1) as usize]
    }
    /// `10:00:01 UTC Sat Nov 28 2026`
    fn cisco(&self) -> String {
        format!(
            "{:02}:{:02}:{:02} UTC {} {} {} {}",
            self.h,
            self.mi,
            self.s,
            self.wd,
            self.mon(),
            self.d,
            self.y
        )
    }
    /// C's `ctime` without the newline, the day padded with a space:
    /// `Sun Dec  6 10:00:01 2026`.
    fn ctime(&self) -> String {
        format!(
            "{} {} {:>2} {:02}:{:02}:{:02} {}",
            self.wd,
            self.mon(),
            self.d,
            self.h,
            self.mi,
            self.s,
            self.y
        )
    }
    /// `2026-11-28 10:00:01`
    fn iso(&self) -> String {
        format!(
            "{}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.y, self.mo, self.d, self.h, self.mi, self.s
        )
    }
}

/// Marks a line as volatile in the generator's head and tail lists; never
/// part of a printed line (the generator prints no control characters).
const VOLATILE: char = '\u{1}';

/// A line that a backup must not keep: it changes every session (a date, a
/// counter) or is the command's own chatter ("Building configuration...").
fn vol(line: String) -> String {
    format!("{VOLATILE}{line}")
}

/// One printed line and whether it is volatile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLine {
    /// The text, without its line end.
    pub text: String,
    /// Whether a backup must drop it: it changes from session to session or
    /// is the command's own chatter. Decided where the line is printed, so
    /// tests never guess it from a date's shape.
    pub volatile: bool,
}

/// Produces the configuration text, `\n` line ends, no trailing prompt.
pub fn generate(style: Style, spec: &ConfigSpec<'_>, st: SessionStamp) -> String {
    let mut out = String::with_capacity(spec.lines.clamp(50, 50_000) * 40);
    render(style, spec, st, &mut |line, _| {
        out.push_str(line);
        out.push('\n');
    });
    out
}

/// The lines [`generate`] prints, each tagged volatile or not.
pub fn generate_lines(style: Style, spec: &ConfigSpec<'_>, st: SessionStamp) -> Vec<ConfigLine> {
    let mut lines = Vec::new();
    render(style, spec, st, &mut |line, volatile| {
        lines.push(ConfigLine {
            text: line.to_owned(),
            volatile,
        });
    });
    lines
}

fn render(style: Style, spec: &ConfigSpec<'_>, st: SessionStamp, emit: &mut dyn FnMut(&str, bool)) {
    let c = Clock::new(st);
    let h = spec.host;
    let tok = spec.secret_token;
    let target = spec.lines.clamp(50, 50_000);
    let mut rng = SplitMix(spec.seed ^ 0xD1CE);
    let hash = format!("{:016x}{tok}", rng.next());
    let ntp = 17_179_869 + st.counter;
    let rev = spec.revision;
    let mut head: Vec<String> = Vec::new();
    let mut tail: Vec<String> = Vec::new();
    // Each interface block: (index, a, b) -> lines.
    let block: Box<dyn Fn(usize, u64, u64) -> Vec<String>> = match style {
        Style::Ios => {
            head.extend([
                vol("Building configuration...".into()),
                String::new(),
                vol(format!(
                    "Current configuration : {} bytes",
                    4000 + target * 30 + (st.counter as usize % 97)
                )),
                "!".into(),
                vol(format!(
                    "! Last configuration change at {} by admin",
                    c.cisco()
                )),
                vol(format!(
                    "! NVRAM config last updated at {} by admin",
                    c.cisco()
                )),
                "!".into(),
                "version 17.3".into(),
                "service timestamps debug datetime msec".into(),
                format!("hostname {h}"),
                "!".into(),
                format!("enable secret 5 $1$mERr${hash}"),
                format!("username admin privilege 15 secret 5 $1$x9Zk${hash}"),
                "!".into(),
            ]);
            tail.extend([
                format!("snmp-server community {tok} RO"),
                vol(format!("ntp clock-period {ntp}")),
                "ntp server 192.0.2.123".into(),
                "!".into(),
                "line vty 0 4".into(),
                " transport input ssh".into(),
                "!".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("interface GigabitEthernet0/{i}"),
                    format!(" description link-{i} rev{rev}"),
                    format!(" ip address 10.{a}.{b}.1 255.255.255.0"),
                    " no shutdown".into(),
                    "!".into(),
                ]
            })
        }
        Style::Nxos => {
            head.extend([
                vol("!Command: show running-config".into()),
                vol(format!("!Running configuration last done at: {}", c.ctime())),
                vol(format!("!Time: {}", c.ctime())),
                String::new(),
                "version 9.3(8) Bios:version 05.45".into(),
                format!("hostname {h}"),
                "feature interface-vlan".into(),
                format!("username admin password 5 $5$KQJ{hash}  role network-admin"),
                format!("snmp-server user admin network-admin auth md5 0x{hash} priv 0x{hash} localizedkey"),
                format!("snmp-server community {tok} group network-operator"),
                String::new(),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("interface Ethernet1/{i}"),
                    format!("  description link-{i} rev{rev}"),
                    "  no switchport".into(),
                    format!("  ip address 10.{a}.{b}.1/24"),
                    "  no shutdown".into(),
                    String::new(),
                ]
            })
        }
        Style::Iosxr => {
            head.extend([
                vol(format!(
                    "{} {} {} {:02}:{:02}:{:02}.{:03} UTC",
                    c.wd,
                    c.mon(),
                    c.d,
                    c.h,
                    c.mi,
                    c.s,
                    c.ms
                )),
                vol("Building configuration...".into()),
                "!! IOS XR Configuration 7.3.2".into(),
                vol(format!(
                    "!! Last configuration change at {} by admin",
                    c.cisco()
                )),
                "!".into(),
                format!("hostname {h}"),
                "username admin".into(),
                " group root-lr".into(),
                format!(" secret 10 $6${hash}"),
                "!".into(),
            ]);
            tail.extend([format!("snmp-server community {tok} RO"), "end".into()]);
            Box::new(move |i, a, b| {
                vec![
                    format!("interface GigabitEthernet0/0/0/{i}"),
                    format!(" description link-{i} rev{rev}"),
                    format!(" ipv4 address 10.{a}.{b}.1 255.255.255.0"),
                    "!".into(),
                ]
            })
        }
        Style::Asa => {
            head.extend([
                ": Saved".into(),
                ":".into(),
                ": Serial Number: JAD2233445X".into(),
                ": Hardware:   ASA5516, 8192 MB RAM, CPU Atom C2000 series 2416 MHz, 1 CPU (8 cores)".into(),
                vol(format!(": Written by enable_15 at {:02}:{:02}:{:02}.{:03} UTC {} {} {} {}", c.h, c.mi, c.s, c.ms, c.wd, c.mon(), c.d, c.y)),
                "!".into(),
                "ASA Version 9.8(4)".into(),
                "!".into(),
                format!("hostname {h}"),
                format!("enable password {hash} encrypted"),
                format!("username admin password {hash} encrypted privilege 15"),
                "!".into(),
            ]);
            tail.extend([
                "tunnel-group 203.0.113.1 type ipsec-l2l".into(),
                "tunnel-group 203.0.113.1 ipsec-attributes".into(),
                format!(" ikev1 pre-shared-key {tok}"),
                format!("snmp-server host inside0 192.0.2.5 community {tok}"),
                vol(format!(
                    "Cryptochecksum:{:032x}",
                    u128::from(spec.seed) << 64
                        | u128::from(rev) << 8
                        | u128::from(st.counter as u8)
                )),
                ": end".into(),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("interface GigabitEthernet1/{i}"),
                    format!(" description link-{i} rev{rev}"),
                    format!(" nameif inside{i}"),
                    " security-level 100".into(),
                    format!(" ip address 10.{a}.{b}.1 255.255.255.0"),
                    "!".into(),
                ]
            })
        }
        Style::Eos => {
            head.extend([
                vol("! Command: show running-config".into()),
                format!("! device: {h} (vEOS-lab, EOS-4.27.0F)"),
                "!".into(),
                vol(format!("! Startup-config last modified at {} {} {} {:02}:{:02}:{:02}.{:03} {} by admin", c.wd, c.mon(), c.d, c.h, c.mi, c.s, c.ms, c.y)),
                "!".into(),
                format!("hostname {h}"),
                format!("username admin privilege 15 role network-admin secret sha512 $6${hash}"),
                format!("enable password sha512 $6${hash}"),
                format!("snmp-server community {tok} ro"),
                "!".into(),
            ]);
            tail.push("end".into());
            Box::new(move |i, a, b| {
                vec![
                    format!("interface Ethernet{i}"),
                    format!("   description link-{i} rev{rev}"),
                    "   no switchport".into(),
                    format!("   ip address 10.{a}.{b}.1/24"),
                    "!".into(),
                ]
            })
        }
        Style::Junos => {
            head.extend([
                vol(format!("## Last commit: {} UTC by admin", c.iso())),
                "version 20.4R3.8;".into(),
                "system {".into(),
                format!("    host-name {h};"),
                "    root-authentication {".into(),
                format!("        encrypted-password \"$6${hash}\";"),
                "    }".into(),
                "}".into(),
                "snmp {".into(),
                format!("    community {tok} {{"),
                "        authorization read-only;".into(),
                "    }".into(),
                "}".into(),
                "interfaces {".into(),
            ]);
            tail.push("}".into());
            Box::new(move |i, a, b| {
                vec![
                    format!("    ge-0/0/{i} {{"),
                    format!("        description \"link-{i} rev{rev}\";"),
                    "        unit 0 {".into(),
                    "            family inet {".into(),
                    format!("                address 10.{a}.{b}.1/24;"),
                    "            }".into(),
                    "        }".into(),
                    "    }".into(),
                ]
            })
        }
        Style::RouterOs => {
            head.extend([
                // RouterOS 7.10 and later date the export in ISO form
                // (`mmm/dd/yyyy` before).
                vol(format!("# {} by RouterOS 7.12.1", c.iso())),
                "# software id = 7XQK-B2N4".into(),
                "#".into(),
                "# model = CCR2004-1G-12S+2XS".into(),
                "/system identity".into(),
                format!("set name={h}"),
                "/ppp secret".into(),
                format!("add name=vpnuser password={tok} service=pptp"),
                format!("/snmp community set [ find default=yes ] name={tok}"),
                "/ip address".into(),
            ]);
            Box::new(move |i, a, b| {
                vec![format!(
                    "add address=10.{a}.{b}.1/24 comment=\"link-{i} rev{rev}\" interface=ether{i} network=10.{a}.{b}.0"
                )]
            })
        }
        Style::FortiOs => {
            head.extend([
                vol(
                    "#config-version=FGT60F-7.0.12-FW-build0523-230523:opmode=0:vdom=0:user=admin"
                        .into(),
                ),
                vol(format!(
                    "#conf_file_ver={}",
                    3_000_000_000u64 + st.counter * 7 + u64::from(st.millis)
                )),
                "#buildno=0523".into(),
                "#global_vdom=1".into(),
                "config system global".into(),
                format!("    set hostname \"{h}\""),
                "end".into(),
                "config system admin".into(),
                "    edit \"admin\"".into(),
                format!("        set password ENC SH2{hash}"),
                "    next".into(),
                "end".into(),
                "config system interface".into(),
            ]);
            tail.extend([
                "end".into(),
                "config vpn ipsec phase1-interface".into(),
                "    edit \"vpn1\"".into(),
                format!("        set psksecret ENC {tok}"),
                "    next".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("    edit \"port{i}\""),
                    format!("        set ip 10.{a}.{b}.1 255.255.255.0"),
                    format!("        set description \"link-{i} rev{rev}\""),
                    "    next".into(),
                ]
            })
        }
        Style::PanOs => {
            head.extend([
                format!("set deviceconfig system hostname {h}"),
                format!("set mgt-config users admin phash $1${hash}"),
                "set mgt-config users admin permissions role-based superuser yes".into(),
                format!("set deviceconfig system snmp-setting access-setting version v2c snmp-community-string {tok}"),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!(
                        "set network interface ethernet ethernet1/{i} layer3 ip 10.{a}.{b}.1/24"
                    ),
                    format!(
                        "set network interface ethernet ethernet1/{i} comment \"link-{i} rev{rev}\""
                    ),
                ]
            })
        }
        Style::Vrp => {
            head.extend([
                vol("!Software Version V200R010C00SPC600".into()),
                vol(format!(
                    "!Last configuration was updated at {}+00:00",
                    c.iso()
                )),
                vol(format!(
                    "!Last configuration was saved at {}+00:00",
                    c.iso()
                )),
                "#".into(),
                format!("sysname {h}"),
                "#".into(),
                "aaa".into(),
                format!(" local-user admin password irreversible-cipher $1a${hash}$"),
                " local-user admin privilege level 15".into(),
                "#".into(),
            ]);
            tail.extend([
                format!("snmp-agent community read cipher %^%#{tok}%^%#"),
                "#".into(),
                "return".into(),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("interface GigabitEthernet0/0/{i}"),
                    format!(" description link-{i} rev{rev}"),
                    format!(" ip address 10.{a}.{b}.1 255.255.255.0"),
                    "#".into(),
                ]
            })
        }
        Style::ProCurve => {
            head.extend([
                vol("Running configuration:".into()),
                String::new(),
                "; J9773A Configuration Editor; Created on release #YA.16.10.0012".into(),
                "; Ver #14:01.44.00.04.19.02.13.98.82.34.61.18.28.f3.84.9c.63.ff.37.27:05".into(),
                format!("hostname \"{h}\""),
            ]);
            tail.extend([
                format!("snmp-server community \"{tok}\" operator"),
                format!("password manager user-name \"admin\" sha1 \"{hash}\""),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("vlan {}", i + 2),
                    format!("   name \"link-{i} rev{rev}\""),
                    format!("   untagged {}", i + 1),
                    format!("   ip address 10.{a}.{b}.1 255.255.255.0"),
                    "   exit".into(),
                ]
            })
        }
        Style::Os10 => {
            head.extend([
                vol("! Version 10.5.2.3".into()),
                vol(format!(
                    "! Last configuration change at {} {} {:02}:{:02}:{:02} {}",
                    c.mon(),
                    c.d,
                    c.h,
                    c.mi,
                    c.s,
                    c.y
                )),
                "!".into(),
                format!("hostname {h}"),
                format!("username admin password $6${hash} role sysadmin priv-lvl 15"),
                format!("snmp-server community {tok} ro"),
                "!".into(),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("interface ethernet1/1/{}", i + 1),
                    format!(" description \"link-{i} rev{rev}\""),
                    " no shutdown".into(),
                    " no switchport".into(),
                    format!(" ip address 10.{a}.{b}.1/24"),
                    "!".into(),
                ]
            })
        }
        Style::Vyos => {
            head.extend([
                format!("set service snmp community {tok} authorization 'ro'"),
                format!("set system host-name '{h}'"),
                format!("set system login user vyos authentication encrypted-password '$6${hash}'"),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("set interfaces ethernet eth{i} address '10.{a}.{b}.1/24'"),
                    format!("set interfaces ethernet eth{i} description 'link-{i} rev{rev}'"),
                ]
            })
        }
        Style::Linux => {
            head.extend([
                format!("# /etc/network/interfaces of {h}"),
                "auto lo".into(),
                "iface lo inet loopback".into(),
                String::new(),
            ]);
            Box::new(move |i, a, b| {
                vec![
                    format!("auto eth{i}"),
                    format!("iface eth{i} inet static"),
                    format!("    address 10.{a}.{b}.1/24"),
                    format!("    # link-{i} rev{rev}"),
                    String::new(),
                ]
            })
        }
    };
    let tagged = |l: &str, emit: &mut dyn FnMut(&str, bool)| match l.strip_prefix(VOLATILE) {
        Some(text) => emit(text, true),
        None => emit(l, false),
    };
    for l in &head {
        tagged(l, emit);
    }
    let mut n = head.len();
    let mut i = 0usize;
    if let Some(len) = spec.long_line {
        // A comment or description nobody filters, on every platform: its
        // text only has to be one line. Set-format platforms keep `set`.
        let prefix = match style {
            Style::Vyos | Style::PanOs => "set system description x",
            _ => "",
        };
        let mut line = String::with_capacity(len);
        line.push_str(prefix);
        while line.len() < len {
            line.push(char::from(b'a' + (line.len() % 26) as u8));
        }
        emit(&line, false);
        n += 1;
    }
    while n + tail.len() < target {
        let a = rng.next() % 250 + 1;
        let b = (i as u64) % 250 + 1;
        for l in block(i, a, b) {
            emit(&l, false);
            n += 1;
        }
        i += 1;
    }
    for l in &tail {
        tagged(l, emit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rev: u32) -> ConfigSpec<'static> {
        ConfigSpec {
            host: "r1",
            seed: 7,
            revision: rev,
            lines: 200,
            secret_token: "tok",
            long_line: None,
        }
    }

    fn st(counter: u64) -> SessionStamp {
        SessionStamp {
            unix: 1_795_860_001 + counter,
            millis: 5,
            counter,
        }
    }

    #[test]
    fn the_body_is_deterministic_and_only_volatile_lines_change_between_sessions() {
        let a = generate(Style::Ios, &spec(0), st(1));
        let b = generate(Style::Ios, &spec(0), st(2));
        assert_ne!(a, b);
        let keep = |rev, stamp| {
            generate_lines(Style::Ios, &spec(rev), stamp)
                .into_iter()
                .filter(|l| !l.volatile)
                .map(|l| l.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(keep(0, st(1)), keep(0, st(2)));
        assert_ne!(keep(0, st(1)), keep(1, st(1)));
        assert!(a.lines().count() >= 200);
    }

    const STYLES: [Style; 14] = [
        Style::Ios,
        Style::Nxos,
        Style::Iosxr,
        Style::Asa,
        Style::Eos,
        Style::Junos,
        Style::RouterOs,
        Style::FortiOs,
        Style::PanOs,
        Style::Vrp,
        Style::ProCurve,
        Style::Os10,
        Style::Vyos,
        Style::Linux,
    ];

    fn at(unix: u64, millis: u32, counter: u64) -> SessionStamp {
        SessionStamp {
            unix,
            millis,
            counter,
        }
    }

    #[test]
    fn only_lines_tagged_volatile_change_between_sessions_at_any_date() {
        // Every field of the stamp differs between the two sessions: year,
        // month, day (one and two digits), time, milliseconds, counter.
        let a = at(1_798_761_599, 999, 1); // 2026-12-31 23:59:59
        let b = at(1_804_219_506, 7, 2); // 2027-03-05 04:05:06
        for style in STYLES {
            let x = generate_lines(style, &spec(3), a);
            let y = generate_lines(style, &spec(3), b);
            assert_eq!(x.len(), y.len(), "{style:?}");
            for (l, m) in x.iter().zip(&y) {
                assert_eq!(l.volatile, m.volatile, "{style:?}");
                assert!(
                    l.volatile || l.text == m.text,
                    "{style:?}: `{}` changed to `{}` but is not tagged volatile",
                    l.text,
                    m.text
                );
            }
            let text: String = x.iter().map(|l| format!("{}\n", l.text)).collect();
            assert_eq!(text, generate(style, &spec(3), a), "{style:?}");
            assert!(!text.contains(VOLATILE), "{style:?}");
        }
    }

    fn dated(style: Style, unix: u64) -> Vec<String> {
        generate_lines(style, &spec(0), at(unix, 5, 1))
            .into_iter()
            .filter(|l| l.volatile)
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn dated_lines_carry_the_session_date_in_each_platform_format() {
        // 2027-03-05 04:05:06 UTC, a Friday: single-digit day, month and hour.
        let t = 1_804_219_506;
        let has = |style, line: &str| {
            let d = dated(style, t);
            assert!(
                d.iter().any(|l| l == line),
                "{style:?}: no `{line}` in {d:#?}"
            );
        };
        has(
            Style::Ios,
            "! Last configuration change at 04:05:06 UTC Fri Mar 5 2027 by admin",
        );
        has(
            Style::Nxos,
            "!Running configuration last done at: Fri Mar  5 04:05:06 2027",
        );
        has(Style::Nxos, "!Time: Fri Mar  5 04:05:06 2027");
        has(
            Style::Junos,
            "## Last commit: 2027-03-05 04:05:06 UTC by admin",
        );
        has(Style::RouterOs, "# 2027-03-05 04:05:06 by RouterOS 7.12.1");
        has(
            Style::Vrp,
            "!Last configuration was updated at 2027-03-05 04:05:06+00:00",
        );
        has(
            Style::Os10,
            "! Last configuration change at Mar 5 04:05:06 2027",
        );
        // The leap day and the turn of the year.
        assert!(dated(Style::Junos, 1_835_438_400)[0].contains("2028-02-29 12:00:00"));
        assert!(dated(Style::Nxos, 1_798_761_600)[1].ends_with("Fri Jan  1 00:00:00 2027"));
        assert!(dated(Style::RouterOs, 1_798_761_599)[0].starts_with("# 2026-12-31 23:59:59"));
    }

    #[test]
    fn dates_are_civil_dates() {
        // 2026-11-28 10:00:01 UTC is a Saturday.
        let c = Clock::new(SessionStamp {
            unix: 1_795_860_001,
            millis: 0,
            counter: 0,
        });
        assert_eq!(c.iso(), "2026-11-28 10:00:01");
        assert_eq!(c.wd, "Sat");
    }
}
