//! Deterministic running configurations.
//!
//! A device's configuration is a function of its seed, its revision and the
//! requested size, so an unchanged device prints the same body every time.
//! Volatile lines (timestamps, counters) are a function of the session and
//! change every time, as on real devices.

use crate::drift::{ACL_NAME, Applied, Change};
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
    /// The changes made since revision 0, oldest first.
    pub changes: &'a [Change],
    /// Target number of lines (clamped to 50..=50,000).
    pub lines: usize,
    /// Embedded in every secret of the configuration (community, hashes, keys).
    pub secret_token: &'a str,
    /// One line of this many bytes in the middle of the body (a banner or
    /// certificate pasted on one line); `None` for none.
    pub long_line: Option<usize>,
    /// Reversibly encrypted secrets (FortiOS `ENC`) get a fresh salt in
    /// every session, as the platform prints them.
    pub reencrypt_secrets: bool,
}

/// The salt a session's re-encrypted secret starts with: 16 characters of
/// the base64 alphabet FortiOS's `ENC` values are written in, a function of
/// the device and the session.
fn session_salt(seed: u64, counter: u64) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = SplitMix(seed ^ counter.wrapping_mul(0xA076_1D64_78BD_642F) ^ 0x5A17);
    let bits = rng.next() as u128 | (rng.next() as u128) << 64;
    (0..16)
        .map(|i| B64[((bits >> (6 * i)) & 63) as usize] as char)
        .collect()
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
    let rev = spec.changes.len() as u32;
    let applied = Applied::of(spec.changes);
    let by = applied.author.as_str();
    let descs = applied.clone();
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
                    "! Last configuration change at {} by {by}",
                    c.cisco()
                )),
                vol(format!(
                    "! NVRAM config last updated at {} by {by}",
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
                let d = descs.description(i);
                vec![
                    format!("interface GigabitEthernet0/{i}"),
                    format!(" description {d}"),
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
                let d = descs.description(i);
                vec![
                    format!("interface Ethernet1/{i}"),
                    format!("  description {d}"),
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
                    "!! Last configuration change at {} by {by}",
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
                let d = descs.description(i);
                vec![
                    format!("interface GigabitEthernet0/0/0/{i}"),
                    format!(" description {d}"),
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
                // `enable_15` when nobody logged in by name saved it.
                vol(format!(": Written by {} at {:02}:{:02}:{:02}.{:03} UTC {} {} {} {}", if spec.changes.is_empty() { "enable_15" } else { by }, c.h, c.mi, c.s, c.ms, c.wd, c.mon(), c.d, c.y)),
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
                let d = descs.description(i);
                vec![
                    format!("interface GigabitEthernet1/{i}"),
                    format!(" description {d}"),
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
                vol(format!(
                    "! Startup-config last modified at {} {} {} {:02}:{:02}:{:02}.{:03} {} by {by}",
                    c.wd,
                    c.mon(),
                    c.d,
                    c.h,
                    c.mi,
                    c.s,
                    c.ms,
                    c.y
                )),
                "!".into(),
                format!("hostname {h}"),
                format!("username admin privilege 15 role network-admin secret sha512 $6${hash}"),
                format!("enable password sha512 $6${hash}"),
                format!("snmp-server community {tok} ro"),
                "!".into(),
            ]);
            tail.push("end".into());
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface Ethernet{i}"),
                    format!("   description {d}"),
                    "   no switchport".into(),
                    format!("   ip address 10.{a}.{b}.1/24"),
                    "!".into(),
                ]
            })
        }
        Style::Junos => {
            head.extend([
                vol(format!("## Last commit: {} UTC by {by}", c.iso())),
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
                let d = descs.description(i);
                vec![
                    format!("    ge-0/0/{i} {{"),
                    format!("        description \"{d}\";"),
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
                let d = descs.description(i);
                vec![format!(
                    "add address=10.{a}.{b}.1/24 comment=\"{d}\" interface=ether{i} network=10.{a}.{b}.0"
                )]
            })
        }
        Style::FortiOs => {
            head.extend([
                vol(format!(
                    "#config-version=FGT60F-7.0.12-FW-build0523-230523:opmode=0:vdom=0:user={by}"
                )),
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
                if spec.reencrypt_secrets {
                    format!(
                        "        set psksecret ENC {}{tok}",
                        session_salt(spec.seed, st.counter)
                    )
                } else {
                    format!("        set psksecret ENC {tok}")
                },
                "    next".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("    edit \"port{i}\""),
                    format!("        set ip 10.{a}.{b}.1 255.255.255.0"),
                    format!("        set description \"{d}\""),
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
                let d = descs.description(i);
                vec![
                    format!(
                        "set network interface ethernet ethernet1/{i} layer3 ip 10.{a}.{b}.1/24"
                    ),
                    format!("set network interface ethernet ethernet1/{i} comment \"{d}\""),
                ]
            })
        }
        // The running configuration as PAN-OS exports it through the XML API
        // (`type=export&category=configuration`): one `<config>` element,
        // the same tree as the `set` rendering above (mgt-config users,
        // deviceconfig system, network interfaces), indented by two spaces.
        Style::PanOsXml => {
            head.extend([
                "<?xml version=\"1.0\"?>".into(),
                "<config version=\"10.1.0\" urldb=\"paloaltonetworks\" detail-version=\"10.1.9\">"
                    .into(),
                "  <mgt-config>".into(),
                "    <users>".into(),
                "      <entry name=\"admin\">".into(),
                format!("        <phash>$1${hash}</phash>"),
                "        <permissions>".into(),
                "          <role-based>".into(),
                "            <superuser>yes</superuser>".into(),
                "          </role-based>".into(),
                "        </permissions>".into(),
                "      </entry>".into(),
                "    </users>".into(),
                "  </mgt-config>".into(),
                "  <devices>".into(),
                "    <entry name=\"localhost.localdomain\">".into(),
                "      <deviceconfig>".into(),
                "        <system>".into(),
                format!("          <hostname>{h}</hostname>"),
                "          <snmp-setting>".into(),
                "            <access-setting>".into(),
                "              <version>".into(),
                "                <v2c>".into(),
                format!("                  <snmp-community-string>{tok}</snmp-community-string>"),
                "                </v2c>".into(),
                "              </version>".into(),
                "            </access-setting>".into(),
                "          </snmp-setting>".into(),
                "        </system>".into(),
                "      </deviceconfig>".into(),
                "      <network>".into(),
                "        <interface>".into(),
                "          <ethernet>".into(),
            ]);
            tail.extend([
                "          </ethernet>".into(),
                "        </interface>".into(),
                "      </network>".into(),
                "    </entry>".into(),
                "  </devices>".into(),
                "</config>".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = xml_escape(&descs.description(i));
                vec![
                    format!("            <entry name=\"ethernet1/{i}\">"),
                    "              <layer3>".into(),
                    "                <ip>".into(),
                    format!("                  <entry name=\"10.{a}.{b}.1/24\"/>"),
                    "                </ip>".into(),
                    "              </layer3>".into(),
                    format!("              <comment>{d}</comment>"),
                    "            </entry>".into(),
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
                let d = descs.description(i);
                vec![
                    format!("interface GigabitEthernet0/0/{i}"),
                    format!(" description {d}"),
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
                let d = descs.description(i);
                vec![
                    format!("vlan {}", i + 2),
                    format!("   name \"{d}\""),
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
                let d = descs.description(i);
                vec![
                    format!("interface ethernet1/1/{}", i + 1),
                    format!(" description \"{d}\""),
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
                let d = descs.description(i);
                vec![
                    format!("set interfaces ethernet eth{i} address '10.{a}.{b}.1/24'"),
                    format!("set interfaces ethernet eth{i} description '{d}'"),
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
                let d = descs.description(i);
                vec![
                    format!("auto eth{i}"),
                    format!("iface eth{i} inet static"),
                    format!("    address 10.{a}.{b}.1/24"),
                    format!("    # {d}"),
                    String::new(),
                ]
            })
        }
        // oxidized spec/model/data/aoscx#6100-48G_PL.10.10.1090 capture:
        // `Current configuration:`, `!Version ArubaOS-CX ...`,
        // `!export-password: default`, then the body; no closing line.
        // Interface settings are indented by four spaces.
        Style::AosCx => {
            head.extend([
                vol("Current configuration:".into()),
                "!".into(),
                "!Version ArubaOS-CX PL.10.10.1090".into(),
                "!export-password: default".into(),
                format!("hostname {h}"),
                format!("user admin group administrators password ciphertext AQBapX{hash}"),
                format!("snmp-server community {tok}"),
                "ntp server 192.0.2.123".into(),
                "ssh server vrf mgmt".into(),
                "!".into(),
                "vlan 1".into(),
            ]);
            tail.extend([
                "interface vlan 1".into(),
                "!".into(),
                "https-server vrf default".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface 1/1/{}", i + 1),
                    format!("    description {d}"),
                    "    no shutdown".into(),
                    "    routing".into(),
                    format!("    ip address 10.{a}.{b}.1/24"),
                ]
            })
        }
        // Comware 7: `#`-separated sections, indented global settings, the
        // whole ending with `return` (H3C configuration guides; oxidized
        // lib/oxidized/model/comware.rb masks ` snmp-agent community` and
        // ` password hash`). No date is printed.
        Style::Comware => {
            head.extend([
                "#".into(),
                " version 7.1.064, Release 6635P07".into(),
                "#".into(),
                format!(" sysname {h}"),
                "#".into(),
                " clock timezone UTC add 00:00:00".into(),
                "#".into(),
                " snmp-agent".into(),
                format!(" snmp-agent community read cipher $c$3${tok}"),
                " snmp-agent sys-info version v2c v3".into(),
                "#".into(),
                "local-user admin class manage".into(),
                format!(" password hash $h$6${hash}"),
                " service-type ssh".into(),
                " authorization-attribute user-role network-admin".into(),
                "#".into(),
            ]);
            tail.extend([" ssh server enable".into(), "#".into(), "return".into()]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface GigabitEthernet1/0/{}", i + 1),
                    " port link-mode route".into(),
                    format!(" description {d}"),
                    format!(" ip address 10.{a}.{b}.1 255.255.255.0"),
                    "#".into(),
                ]
            })
        }
        // FastIron: `Current configuration:` then `ver ...`, `!`-separated
        // blocks ending with `end` (oxidized spec/model/data
        // fastiron#ICX7150-48P_08.0.95; oxidized ironware.rb drops the first
        // two lines, the echo and `Current configuration:`).
        Style::FastIron => {
            head.extend([
                vol("Current configuration:".into()),
                "!".into(),
                "ver 08.0.95T211".into(),
                "!".into(),
                "stack unit 1".into(),
                "  module 1 icx7150-48p-poe-port-management-module".into(),
                "  module 2 icx7150-2-copper-port-2g-module".into(),
                "!".into(),
                "global-stp".into(),
                "!".into(),
                "vlan 1 name DEFAULT-VLAN by port".into(),
                " spanning-tree".into(),
                "!".into(),
                "aaa authentication login default local".into(),
                format!("enable super-user-password 8 $1$eqT${hash}"),
                format!("hostname {h}"),
                format!("username admin password 8 $1$Ab1${hash}"),
                format!("snmp-server community 2 $U2FsdGVk{tok} ro"),
                "!".into(),
            ]);
            tail.extend([
                "ip dns server-address 192.0.2.53".into(),
                "!".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface ethernet 1/1/{}", i + 1),
                    format!(" port-name {d}"),
                    format!(" ip address 10.{a}.{b}.1 255.255.255.0"),
                    "!".into(),
                ]
            })
        }
        // EXOS `show configuration`: `configure`/`create` commands grouped
        // under `# Module <name> configuration.` banners, headed by a
        // `Configuration generated <date>` line (oxidized
        // lib/oxidized/model/xos.rb drops it) and with no closing line.
        Style::Exos => {
            head.extend([
                "#".into(),
                vol(format!(
                    "# Summit X440G2-48p-10G4 Configuration generated {}",
                    c.ctime()
                )),
                "# Software Version 22.7.1.1 by release-manager on 12/20/19 11:25:43".into(),
                "#".into(),
                "# Module devmgr configuration.".into(),
                "#".into(),
                format!("configure snmp sysName \"{h}\""),
                "configure snmp sysContact \"noc@example.net\"".into(),
                "#".into(),
                "# Module aaa configuration.".into(),
                "#".into(),
                format!("configure account admin encrypted \"$5$Xy${hash}\""),
                "#".into(),
                "# Module snmpMaster configuration.".into(),
                "#".into(),
                format!(
                    "configure snmpv3 add community encrypted \"#{tok}\" name encrypted \"#{tok}\" user \"v1v2c_ro\""
                ),
                "#".into(),
                "# Module vlan configuration.".into(),
                "#".into(),
                "configure vlan default delete ports all".into(),
            ]);
            tail.extend([
                "#".into(),
                "# Module exsshd configuration.".into(),
                "#".into(),
                "enable ssh2".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let v = i + 2;
                vec![
                    format!("create vlan \"v{v}\""),
                    format!("configure vlan v{v} tag {v}"),
                    format!("configure vlan v{v} add ports {} untagged", i + 1),
                    format!("configure vlan v{v} ipaddress 10.{a}.{b}.1 255.255.255.0"),
                    format!("configure ports {} description-string \"{d}\"", i + 1),
                ]
            })
        }
        // FTOS: `Current Configuration ...`, `! Version`, the last change
        // and the startup's last update with their author, then `!`-separated
        // blocks ending with `end` (oxidized lib/oxidized/model/ftos.rb drops
        // the first lines of `show running-config`).
        Style::Os9 => {
            head.extend([
                vol("Current Configuration ...".into()),
                vol("! Version 9.14(2.0)".into()),
                vol(format!(
                    "! Last configuration change at {} by {by}",
                    c.ctime()
                )),
                vol(format!(
                    "! Startup-config last updated at {} by {by}",
                    c.ctime()
                )),
                "!".into(),
                "boot system stack-unit 1 primary system://A".into(),
                "!".into(),
                format!("hostname {h}"),
                "!".into(),
                format!("enable secret 5 $1$mERr${hash}"),
                "!".into(),
                format!("username admin password 7 {hash} privilege 15"),
                "!".into(),
            ]);
            tail.extend([
                format!("snmp-server community {tok} ro"),
                "!".into(),
                "line vty 0".into(),
                "!".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface TenGigabitEthernet 1/{}", i + 1),
                    format!(" description {d}"),
                    format!(" ip address 10.{a}.{b}.1/24"),
                    " no shutdown".into(),
                    "!".into(),
                ]
            })
        }
        // AlliedWare Plus: IOS-like, `!`-separated, ending with `end`; no
        // date in the output (oxidized lib/oxidized/model/awplus.rb keeps
        // `show running-config` as it is).
        Style::AwPlus => {
            head.extend([
                "!".into(),
                "service password-encryption".into(),
                "!".into(),
                format!("hostname {h}"),
                "!".into(),
                format!("username manager privilege 15 password 8 $1$bJoV${hash}"),
                "!".into(),
                format!("snmp-server community {tok}"),
                "!".into(),
                "ip domain-lookup".into(),
                "!".into(),
            ]);
            tail.extend([
                "line con 0".into(),
                "line vty 0 4".into(),
                "!".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface vlan{}", i + 2),
                    format!(" description {d}"),
                    format!(" ip address 10.{a}.{b}.1/24"),
                    "!".into(),
                ]
            })
        }
        // Cisco Small Business: the `config-file-header` block (host name,
        // firmware, `@`), then commands, each interface block closed by
        // `exit`; no closing line (oxidized lib/oxidized/model/ciscosmb.rb
        // and its secret rules: `username ... password encrypted`,
        // `snmp-server community`).
        Style::CiscoSmb => {
            head.extend([
                "config-file-header".into(),
                h.to_owned(),
                "v3.0.0.69 / RCBS3.0_930_871_006".into(),
                "CLI v1.0".into(),
                "file SSD indicator encrypted".into(),
                "@".into(),
                "!".into(),
                "unit-type-control-start".into(),
                "unit-type unit 1 network gi uplink none".into(),
                "unit-type-control-end".into(),
                "!".into(),
                "vlan database".into(),
                "vlan 2-250".into(),
                "exit".into(),
                format!("hostname {h}"),
                format!("username cisco password encrypted {hash} privilege 15"),
                format!("snmp-server community {tok} ro view Default"),
                "ip ssh server".into(),
                "!".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface vlan {}", i + 2),
                    format!(" ip address 10.{a}.{b}.1 255.255.255.0"),
                    "exit".into(),
                    format!("interface GigabitEthernet1/0/{}", i + 1),
                    format!(" description \"{d}\""),
                    format!(" switchport access vlan {}", i + 2),
                    "exit".into(),
                ]
            })
        }
        // EdgeOS (Vyatta): one `set` command per line, sorted by path,
        // values quoted only where they need it (oxidized
        // lib/oxidized/model/edgeos.rb runs `show configuration commands`).
        Style::EdgeOs => {
            head.extend([
                "set firewall all-ping enable".into(),
                "set firewall broadcast-ping disable".into(),
            ]);
            tail.extend([
                format!("set service snmp community {tok} authorization ro"),
                "set service ssh port 22".into(),
                format!("set system host-name {h}"),
                format!("set system login user ubnt authentication encrypted-password '$6${hash}'"),
                "set system login user ubnt level admin".into(),
                "set system ntp server 0.ubnt.pool.ntp.org".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("set interfaces ethernet eth{i} address 10.{a}.{b}.1/24"),
                    format!("set interfaces ethernet eth{i} description '{d}'"),
                ]
            })
        }
    };
    // The body's size is decided before the edits are spliced in, so an
    // edit adds its own lines and never pushes an interface out.
    let base_tail = tail.len();
    let mut n = head.len();
    splice_edits(style, &applied, spec.seed, tok, &mut head, &mut tail);
    let tagged = |l: &str, emit: &mut dyn FnMut(&str, bool)| match l.strip_prefix(VOLATILE) {
        Some(text) => emit(text, true),
        None => emit(l, false),
    };
    for l in &head {
        tagged(l, emit);
    }
    let mut i = 0usize;
    if let Some(len) = spec.long_line {
        // A comment or description nobody filters, on every platform: its
        // text only has to be one line. Set-format platforms keep `set`.
        let prefix = match style {
            Style::Vyos | Style::PanOs | Style::EdgeOs => "set system description x",
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
    while n + base_tail < target {
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

/// `text` as XML character data or an attribute value.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A local user's password hash: distinct per user, with the device's
/// secret token in it like every secret of the configuration.
fn user_hash(seed: u64, name: &str, tok: &str) -> String {
    let folded = name
        .bytes()
        .fold(seed ^ 0x05E2, |h, b| h.rotate_left(8) ^ u64::from(b));
    format!("{:016x}{tok}", SplitMix(folded).next())
}

/// Where `lines` go: before line `at` of the head or of the tail.
enum Slot {
    Head(usize),
    Tail(usize),
}

/// Just after the first line of `lines` that starts with `prefix` (at the
/// end when none does).
fn after(lines: &[String], prefix: &str) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with(prefix))
        .map_or(lines.len(), |p| p + 1)
}

/// Puts the added users and the management ACL's entries where the
/// platform prints them, in its syntax.
fn splice_edits(
    style: Style,
    applied: &Applied,
    seed: u64,
    tok: &str,
    head: &mut Vec<String>,
    tail: &mut Vec<String>,
) {
    let users = &applied.users;
    let acl = &applied.acl;
    let hash = |u: &str| user_hash(seed, u, tok);
    let each_user = |f: &dyn Fn(&str, String) -> Vec<String>| -> Vec<String> {
        users.iter().flat_map(|u| f(u, hash(u))).collect()
    };
    // (seq, source, port) with the platform's sequence step.
    let seq = |step: usize| {
        acl.iter()
            .enumerate()
            .map(move |(k, (s, p))| ((k + 1) * step, *s, *p))
    };
    let named = |p: u16| match p {
        22 => "ssh".to_owned(),
        443 => "https".to_owned(),
        p => p.to_string(),
    };
    let block = |header: &[&str], entries: Vec<String>, footer: &[&str]| -> Vec<String> {
        if entries.is_empty() {
            return Vec::new();
        }
        let mut v: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        v.extend(entries);
        v.extend(footer.iter().map(|f| (*f).to_owned()));
        v
    };
    let acl_head = format!("ip access-list {ACL_NAME}");
    let (user_slot, user_lines, acl_slot, acl_lines) = match style {
        Style::Ios => (
            Slot::Head(after(head, "username admin")),
            each_user(&|u, h| vec![format!("username {u} privilege 15 secret 5 $1$x9Zk${h}")]),
            Slot::Tail(0),
            block(
                &[format!("ip access-list extended {ACL_NAME}").as_str()],
                seq(10)
                    .map(|(_, s, p)| format!(" permit tcp host {s} any eq {p}"))
                    .collect(),
                &["!"],
            ),
        ),
        Style::Nxos => (
            Slot::Head(after(head, "username admin")),
            each_user(&|u, h| vec![format!("username {u} password 5 $5$KQJ{h}  role network-admin")]),
            Slot::Head(head.len()),
            block(
                &[acl_head.as_str()],
                seq(10)
                    .map(|(n, s, p)| format!("  {n} permit tcp {s}/32 any eq {p}"))
                    .collect(),
                &[""],
            ),
        ),
        Style::Iosxr => (
            Slot::Head(after(head, " secret 10")),
            each_user(&|u, h| {
                vec![
                    "!".into(),
                    format!("username {u}"),
                    " group netadmin".into(),
                    format!(" secret 10 $6${h}"),
                ]
            }),
            Slot::Tail(0),
            block(
                &[format!("ipv4 access-list {ACL_NAME}").as_str()],
                seq(10)
                    .map(|(n, s, p)| format!(" {n} permit tcp host {s} any eq {p}"))
                    .collect(),
                &["!"],
            ),
        ),
        Style::Asa => (
            Slot::Head(after(head, "username admin")),
            each_user(&|u, h| vec![format!("username {u} password {h} encrypted privilege 15")]),
            Slot::Tail(0),
            seq(1)
                .map(|(_, s, p)| {
                    format!(
                        "access-list {ACL_NAME} extended permit tcp host {s} any eq {}",
                        named(p)
                    )
                })
                .collect(),
        ),
        Style::Eos => (
            Slot::Head(after(head, "username admin")),
            each_user(&|u, h| {
                vec![format!(
                    "username {u} privilege 15 role network-admin secret sha512 $6${h}"
                )]
            }),
            Slot::Head(head.len()),
            block(
                &[acl_head.as_str()],
                seq(10)
                    .map(|(n, s, p)| format!("   {n} permit tcp host {s} any eq {}", named(p)))
                    .collect(),
                &["!"],
            ),
        ),
        Style::Junos => (
            // Inside `system { ... }`, before its closing brace.
            Slot::Head(head.iter().position(|l| l == "}").unwrap_or(head.len())),
            block(
                &["    login {"],
                users
                    .iter()
                    .enumerate()
                    .flat_map(|(k, u)| {
                        vec![
                            format!("        user {u} {{"),
                            format!("            uid {};", 2001 + k),
                            "            class super-user;".into(),
                            "            authentication {".into(),
                            format!("                encrypted-password \"$6${}\";", hash(u)),
                            "            }".into(),
                            "        }".into(),
                        ]
                    })
                    .collect(),
                &["    }"],
            ),
            Slot::Tail(tail.len()),
            block(
                &["policy-options {", format!("    prefix-list {ACL_NAME} {{").as_str()],
                seq(1).map(|(_, s, _)| format!("        {s}/32;")).collect(),
                &["    }", "}"],
            ),
        ),
        Style::RouterOs => (
            Slot::Head(after(head, "add name=vpnuser")),
            each_user(&|u, h| vec![format!("add name={u} password={h} service=pptp")]),
            Slot::Tail(tail.len()),
            block(
                &["/ip firewall filter"],
                seq(1)
                    .map(|(_, s, p)| {
                        format!(
                            "add action=accept chain=input comment={ACL_NAME} dst-port={p} protocol=tcp src-address={s}"
                        )
                    })
                    .collect(),
                &[],
            ),
        ),
        Style::FortiOs => {
            let admins = after(head, "config system admin");
            let end = head[admins..]
                .iter()
                .position(|l| l == "end")
                .map_or(head.len(), |p| admins + p);
            (
                Slot::Head(end),
                each_user(&|u, h| {
                    vec![
                        format!("    edit \"{u}\""),
                        "        set accprofile \"super_admin\"".into(),
                        format!("        set password ENC SH2{h}"),
                        "    next".into(),
                    ]
                }),
                Slot::Tail(tail.len()),
                block(
                    &["config firewall address"],
                    seq(1)
                        .flat_map(|(_, s, _)| {
                            vec![
                                format!("    edit \"{ACL_NAME}-{s}\""),
                                format!("        set subnet {s} 255.255.255.255"),
                                "    next".into(),
                            ]
                        })
                        .collect(),
                    &["end"],
                ),
            )
        }
        Style::PanOs => (
            Slot::Head(after(head, "set mgt-config users admin permissions")),
            each_user(&|u, h| {
                vec![
                    format!("set mgt-config users {u} phash $1${h}"),
                    format!("set mgt-config users {u} permissions role-based superuser yes"),
                ]
            }),
            Slot::Tail(tail.len()),
            seq(1)
                .map(|(_, s, _)| format!("set deviceconfig system permitted-ip {s}/32"))
                .collect(),
        ),
        Style::PanOsXml => (
            Slot::Head(
                head.iter()
                    .position(|l| l == "    </users>")
                    .unwrap_or(head.len()),
            ),
            each_user(&|u, h| {
                vec![
                    format!("      <entry name=\"{u}\">"),
                    format!("        <phash>$1${h}</phash>"),
                    "        <permissions>".into(),
                    "          <role-based>".into(),
                    "            <superuser>yes</superuser>".into(),
                    "          </role-based>".into(),
                    "        </permissions>".into(),
                    "      </entry>".into(),
                ]
            }),
            Slot::Head(after(head, "          <hostname>")),
            block(
                &["          <permitted-ip>"],
                seq(1)
                    .map(|(_, s, _)| format!("            <entry name=\"{s}/32\"/>"))
                    .collect(),
                &["          </permitted-ip>"],
            ),
        ),
        Style::Vrp => (
            Slot::Head(after(head, " local-user admin privilege")),
            each_user(&|u, h| {
                vec![
                    format!(" local-user {u} password irreversible-cipher $1a${h}$"),
                    format!(" local-user {u} privilege level 15"),
                ]
            }),
            Slot::Tail(0),
            block(
                &["acl number 3001"],
                seq(5)
                    .map(|(n, s, p)| {
                        format!(" rule {n} permit tcp source {s} 0 destination-port eq {p}")
                    })
                    .collect(),
                &["#"],
            ),
        ),
        Style::ProCurve => (
            Slot::Tail(tail.len()),
            each_user(&|u, h| vec![format!("password operator user-name \"{u}\" sha1 \"{h}\"")]),
            Slot::Head(head.len()),
            block(
                &[format!("ip access-list extended \"{ACL_NAME}\"").as_str()],
                seq(10)
                    .map(|(n, s, p)| {
                        format!("   {n} permit tcp {s} 0.0.0.0 0.0.0.0 255.255.255.255 eq {p}")
                    })
                    .collect(),
                &["   exit"],
            ),
        ),
        Style::Os10 => (
            Slot::Head(after(head, "username admin")),
            each_user(&|u, h| {
                vec![format!(
                    "username {u} password $6${h} role sysadmin priv-lvl 15"
                )]
            }),
            Slot::Head(head.len()),
            block(
                &[acl_head.as_str()],
                seq(10)
                    .map(|(n, s, p)| format!(" seq {n} permit tcp host {s} any eq {p}"))
                    .collect(),
                &["!"],
            ),
        ),
        Style::Vyos => (
            Slot::Head(after(head, "set system login user vyos")),
            each_user(&|u, h| {
                vec![format!(
                    "set system login user {u} authentication encrypted-password '$6${h}'"
                )]
            }),
            Slot::Tail(tail.len()),
            seq(10)
                .flat_map(|(n, s, p)| {
                    let rule = format!("set firewall ipv4 name {ACL_NAME} rule {n}");
                    vec![
                        format!("{rule} action 'accept'"),
                        format!("{rule} destination port '{p}'"),
                        format!("{rule} protocol 'tcp'"),
                        format!("{rule} source address '{s}'"),
                    ]
                })
                .collect(),
        ),
        // `/etc/network/interfaces` has no accounts; its ACL is the
        // loopback stanza's firewall hooks.
        Style::Linux => (
            Slot::Head(head.len()),
            Vec::new(),
            Slot::Head(after(head, "iface lo inet loopback")),
            seq(1)
                .map(|(_, s, p)| {
                    format!("    post-up iptables -A INPUT -p tcp -s {s} --dport {p} -j ACCEPT")
                })
                .collect(),
        ),
        Style::AosCx => (
            Slot::Head(after(head, "user admin")),
            each_user(&|u, h| {
                vec![format!(
                    "user {u} group administrators password ciphertext AQBapX{h}"
                )]
            }),
            Slot::Head(head.len()),
            block(
                &[format!("access-list ip {ACL_NAME}").as_str()],
                seq(10)
                    .map(|(n, s, p)| format!("    {n} permit tcp {s} any eq {p}"))
                    .collect(),
                &[],
            ),
        ),
        Style::Comware => (
            Slot::Head(after(head, " authorization-attribute user-role")),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        "#".into(),
                        format!("local-user {u} class manage"),
                        format!(" password hash $h$6${}", hash(u)),
                        " service-type ssh".into(),
                        " authorization-attribute user-role network-admin".into(),
                    ]
                })
                .collect(),
            Slot::Tail(0),
            block(
                &[format!("acl advanced name {ACL_NAME}").as_str()],
                seq(5)
                    .map(|(n, s, p)| {
                        format!(" rule {n} permit tcp source {s} 0 destination-port eq {p}")
                    })
                    .collect(),
                &["#"],
            ),
        ),
        Style::FastIron => (
            Slot::Head(after(head, "username admin")),
            each_user(&|u, h| vec![format!("username {u} password 8 $1$Ab1${h}")]),
            Slot::Tail(0),
            block(
                &[format!("ip access-list extended {ACL_NAME}").as_str()],
                seq(1)
                    .map(|(_, s, p)| format!(" permit tcp host {s} any eq {p}"))
                    .collect(),
                &["!"],
            ),
        ),
        Style::Exos => (
            Slot::Head(after(head, "configure account admin")),
            each_user(&|u, h| vec![format!("create account admin {u} encrypted \"$5$Xy${h}\"")]),
            Slot::Tail(tail.len()),
            block(
                &["#", "# Module acl configuration.", "#"],
                seq(1)
                    .map(|(n, s, p)| {
                        format!(
                            "create access-list {ACL_NAME}-{n} \"protocol tcp;source-address {s}/32;destination-port {p};\" \"permit;\""
                        )
                    })
                    .collect(),
                &[],
            ),
        ),
        Style::Os9 => (
            Slot::Head(after(head, "username admin")),
            each_user(&|u, h| vec![format!("username {u} password 7 {h} privilege 15")]),
            Slot::Tail(0),
            block(
                &[format!("ip access-list extended {ACL_NAME}").as_str()],
                seq(10)
                    .map(|(n, s, p)| format!(" seq {n} permit tcp host {s} any eq {p}"))
                    .collect(),
                &["!"],
            ),
        ),
        Style::AwPlus => (
            Slot::Head(after(head, "username manager")),
            each_user(&|u, h| vec![format!("username {u} privilege 15 password 8 $1$bJoV${h}")]),
            Slot::Tail(0),
            block(
                &[format!("ip access-list extended {ACL_NAME}").as_str()],
                seq(1)
                    .map(|(_, s, p)| format!(" permit tcp host {s} any eq {p}"))
                    .collect(),
                &["!"],
            ),
        ),
        Style::CiscoSmb => (
            Slot::Head(after(head, "username cisco")),
            each_user(&|u, h| vec![format!("username {u} password encrypted {h} privilege 15")]),
            Slot::Head(head.len()),
            block(
                &[format!("ip access-list extended {ACL_NAME}").as_str()],
                seq(10)
                    .map(|(n, s, p)| {
                        format!(" permit tcp {s} 0.0.0.0 any any {p} ace-priority {n}")
                    })
                    .collect(),
                &["exit"],
            ),
        ),
        Style::EdgeOs => (
            Slot::Tail(after(tail, "set system login user ubnt level")),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        format!(
                            "set system login user {u} authentication encrypted-password '$6${}'",
                            hash(u)
                        ),
                        format!("set system login user {u} level admin"),
                    ]
                })
                .collect(),
            Slot::Head(head.len()),
            seq(10)
                .flat_map(|(n, s, p)| {
                    let rule = format!("set firewall name {ACL_NAME} rule {n}");
                    vec![
                        format!("{rule} action accept"),
                        format!("{rule} destination port {p}"),
                        format!("{rule} protocol tcp"),
                        format!("{rule} source address {s}"),
                    ]
                })
                .collect(),
        ),
    };
    // The later slot first, so the earlier one's index still holds.
    let mut edits = [(user_slot, user_lines), (acl_slot, acl_lines)];
    edits.sort_by_key(|(slot, _)| match slot {
        Slot::Head(i) => (0, std::cmp::Reverse(*i)),
        Slot::Tail(i) => (1, std::cmp::Reverse(*i)),
    });
    for (slot, lines) in edits {
        let (v, at) = match slot {
            Slot::Head(i) => (&mut *head, i),
            Slot::Tail(i) => (&mut *tail, i),
        };
        v.splice(at..at, lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{self, Edit};

    fn spec(changes: &[Change]) -> ConfigSpec<'_> {
        ConfigSpec {
            host: "r1",
            seed: 7,
            changes,
            lines: 200,
            secret_token: "tok",
            long_line: None,
            reencrypt_secrets: false,
        }
    }

    fn st(counter: u64) -> SessionStamp {
        SessionStamp {
            unix: 1_795_860_001 + counter,
            millis: 5,
            counter,
        }
    }

    /// `n` drifts of device seed 7.
    fn drifted(style: Style, n: u32) -> Vec<Change> {
        let mut history = Vec::new();
        for r in 1..=n {
            let c = drift::next(style, 7, r, &Applied::of(&history), None);
            history.push(c);
        }
        history
    }

    #[test]
    fn the_body_is_deterministic_and_only_volatile_lines_change_between_sessions() {
        let a = generate(Style::Ios, &spec(&[]), st(1));
        let b = generate(Style::Ios, &spec(&[]), st(2));
        assert_ne!(a, b);
        let keep = |rev, stamp| {
            generate_lines(Style::Ios, &spec(&drifted(Style::Ios, rev)), stamp)
                .into_iter()
                .filter(|l| !l.volatile)
                .map(|l| l.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(keep(0, st(1)), keep(0, st(2)));
        assert_ne!(keep(0, st(1)), keep(1, st(1)));
        assert!(a.lines().count() >= 200);
    }

    const STYLES: [Style; 23] = [
        Style::Ios,
        Style::Nxos,
        Style::Iosxr,
        Style::Asa,
        Style::Eos,
        Style::Junos,
        Style::RouterOs,
        Style::FortiOs,
        Style::PanOs,
        Style::PanOsXml,
        Style::Vrp,
        Style::ProCurve,
        Style::Os10,
        Style::Vyos,
        Style::Linux,
        Style::AosCx,
        Style::Comware,
        Style::FastIron,
        Style::Exos,
        Style::Os9,
        Style::AwPlus,
        Style::CiscoSmb,
        Style::EdgeOs,
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
            let history = drifted(style, 12);
            let x = generate_lines(style, &spec(&history), a);
            let y = generate_lines(style, &spec(&history), b);
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
            assert_eq!(text, generate(style, &spec(&history), a), "{style:?}");
            assert!(!text.contains(VOLATILE), "{style:?}");
        }
    }

    fn dated(style: Style, unix: u64) -> Vec<String> {
        generate_lines(style, &spec(&[]), at(unix, 5, 1))
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
        has(
            Style::Os9,
            "! Last configuration change at Fri Mar  5 04:05:06 2027 by admin",
        );
        has(
            Style::Exos,
            "# Summit X440G2-48p-10G4 Configuration generated Fri Mar  5 04:05:06 2027",
        );
        // The leap day and the turn of the year.
        assert!(dated(Style::Junos, 1_835_438_400)[0].contains("2028-02-29 12:00:00"));
        assert!(dated(Style::Nxos, 1_798_761_600)[1].ends_with("Fri Jan  1 00:00:00 2027"));
        assert!(dated(Style::RouterOs, 1_798_761_599)[0].starts_with("# 2026-12-31 23:59:59"));
    }

    fn stable(style: Style, changes: &[Change]) -> Vec<String> {
        generate_lines(style, &spec(changes), st(1))
            .into_iter()
            .filter(|l| !l.volatile)
            .map(|l| l.text)
            .collect()
    }

    /// Lines only in `a` and lines only in `b`, counted with multiplicity.
    fn difference(a: &[String], b: &[String]) -> (Vec<String>, Vec<String>) {
        let mut only_b = b.to_vec();
        let mut only_a = Vec::new();
        for l in a {
            match only_b.iter().position(|x| x == l) {
                Some(p) => {
                    only_b.remove(p);
                }
                None => only_a.push(l.clone()),
            }
        }
        (only_a, only_b)
    }

    #[test]
    fn every_drift_changes_a_few_lines_and_names_what_it_changed() {
        for style in STYLES {
            let history = drifted(style, 40);
            for r in 1..history.len() {
                let (before, after) = (
                    stable(style, &history[..r - 1]),
                    stable(style, &history[..r]),
                );
                let (removed, added) = difference(&before, &after);
                let change = &history[r - 1];
                assert!(
                    removed.len() <= 1 && !added.is_empty() && added.len() <= 9,
                    "{style:?} {change}: -{removed:#?} +{added:#?}"
                );
                let needle = match &change.edit {
                    Edit::Description { text, .. } => text.clone(),
                    Edit::AclEntry { source, .. } => source.to_string(),
                    Edit::LocalUser { name } => name.clone(),
                };
                assert!(
                    added.iter().any(|l| l.contains(&needle)),
                    "{style:?} {change}: {added:#?}"
                );
                // The interfaces are all still there: an edit adds its own lines.
                if let Edit::Description { .. } = change.edit {
                    assert_eq!(before.len(), after.len(), "{style:?} {change}");
                }
            }
        }
    }

    #[test]
    fn drifts_are_deterministic_and_differ_between_devices() {
        for style in STYLES {
            assert_eq!(drifted(style, 20), drifted(style, 20), "{style:?}");
        }
        let other = |seed| {
            let mut history = Vec::new();
            for r in 1..=20 {
                let c = drift::next(Style::Ios, seed, r, &Applied::of(&history), None);
                history.push(c);
            }
            history
        };
        assert_ne!(other(7), other(8));
        assert_eq!(other(7), drifted(Style::Ios, 20));
        let kinds: std::collections::BTreeSet<_> = drifted(Style::Ios, 20)
            .iter()
            .map(|c| c.edit.kind())
            .collect();
        assert_eq!(kinds.len(), 3, "every kind of edit happens: {kinds:?}");
    }

    /// A user, an ACL entry and a description, each as the platform writes it.
    #[test]
    fn edits_are_written_in_each_platform_syntax() {
        let history: Vec<Change> = [
            Edit::LocalUser {
                name: "jdoe".into(),
            },
            Edit::AclEntry {
                source: "198.51.100.7".parse().unwrap(),
                port: 22,
            },
            Edit::Description {
                interface: 1,
                text: "uplink to core-sw2 CHG0004711".into(),
            },
        ]
        .into_iter()
        .zip(1..)
        .map(|(e, r)| drift::described(Style::Ios, r, "jdoe".into(), e))
        .collect();
        let has = |style, wanted: &[&str]| {
            let lines = stable(style, &history);
            for w in wanted {
                assert!(
                    lines.iter().any(|l| l.starts_with(w)),
                    "{style:?}: no line starting `{w}` in {lines:#?}"
                );
            }
        };
        has(
            Style::Ios,
            &[
                "username jdoe privilege 15 secret 5 $1$",
                "ip access-list extended MGMT-IN",
                " permit tcp host 198.51.100.7 any eq 22",
                " description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::Nxos,
            &[
                "username jdoe password 5 ",
                "  10 permit tcp 198.51.100.7/32 any eq 22",
            ],
        );
        has(
            Style::Iosxr,
            &[
                "username jdoe",
                " 10 permit tcp host 198.51.100.7 any eq 22",
            ],
        );
        has(
            Style::Asa,
            &["access-list MGMT-IN extended permit tcp host 198.51.100.7 any eq ssh"],
        );
        has(
            Style::Eos,
            &[
                "username jdoe privilege 15 role network-admin secret sha512 ",
                "   10 permit tcp host 198.51.100.7 any eq ssh",
                "   description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::Junos,
            &[
                "    login {",
                "        user jdoe {",
                "                encrypted-password \"$6$",
                "    prefix-list MGMT-IN {",
                "        198.51.100.7/32;",
                "        description \"uplink to core-sw2 CHG0004711\";",
            ],
        );
        has(
            Style::RouterOs,
            &[
                "add name=jdoe password=",
                "/ip firewall filter",
                "add action=accept chain=input comment=MGMT-IN dst-port=22 protocol=tcp src-address=198.51.100.7",
            ],
        );
        has(
            Style::FortiOs,
            &[
                "    edit \"jdoe\"",
                "        set subnet 198.51.100.7 255.255.255.255",
            ],
        );
        has(
            Style::PanOs,
            &[
                "set mgt-config users jdoe phash ",
                "set deviceconfig system permitted-ip 198.51.100.7/32",
            ],
        );
        has(
            Style::PanOsXml,
            &[
                "      <entry name=\"jdoe\">",
                "            <entry name=\"198.51.100.7/32\"/>",
                "              <comment>uplink to core-sw2 CHG0004711</comment>",
            ],
        );
        has(
            Style::Vrp,
            &[
                " local-user jdoe password irreversible-cipher ",
                " rule 5 permit tcp source 198.51.100.7 0 destination-port eq 22",
            ],
        );
        has(
            Style::ProCurve,
            &[
                "password operator user-name \"jdoe\" sha1 ",
                "   10 permit tcp 198.51.100.7 0.0.0.0 0.0.0.0 255.255.255.255 eq 22",
            ],
        );
        has(
            Style::Os10,
            &[
                "username jdoe password $6$",
                " seq 10 permit tcp host 198.51.100.7 any eq 22",
            ],
        );
        has(
            Style::Vyos,
            &[
                "set system login user jdoe authentication encrypted-password '$6$",
                "set firewall ipv4 name MGMT-IN rule 10 source address '198.51.100.7'",
            ],
        );
        has(
            Style::Linux,
            &["    post-up iptables -A INPUT -p tcp -s 198.51.100.7 --dport 22 -j ACCEPT"],
        );
        has(
            Style::AosCx,
            &[
                "user jdoe group administrators password ciphertext ",
                "access-list ip MGMT-IN",
                "    10 permit tcp 198.51.100.7 any eq 22",
                "    description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::Comware,
            &[
                "local-user jdoe class manage",
                " password hash $h$6$",
                "acl advanced name MGMT-IN",
                " rule 5 permit tcp source 198.51.100.7 0 destination-port eq 22",
                " description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::FastIron,
            &[
                "username jdoe password 8 ",
                "ip access-list extended MGMT-IN",
                " permit tcp host 198.51.100.7 any eq 22",
                " port-name uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::Exos,
            &[
                "create account admin jdoe encrypted \"$5$",
                "create access-list MGMT-IN-1 \"protocol tcp;source-address 198.51.100.7/32;destination-port 22;\" \"permit;\"",
                "configure ports 2 description-string \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Os9,
            &[
                "username jdoe password 7 ",
                " seq 10 permit tcp host 198.51.100.7 any eq 22",
                " description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::AwPlus,
            &[
                "username jdoe privilege 15 password 8 ",
                " permit tcp host 198.51.100.7 any eq 22",
                " description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::CiscoSmb,
            &[
                "username jdoe password encrypted ",
                " permit tcp 198.51.100.7 0.0.0.0 any any 22 ace-priority 10",
                " description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::EdgeOs,
            &[
                "set system login user jdoe authentication encrypted-password '$6$",
                "set system login user jdoe level admin",
                "set firewall name MGMT-IN rule 10 source address 198.51.100.7",
                "set interfaces ethernet eth1 description 'uplink to core-sw2 CHG0004711'",
            ],
        );
        // An added user's secret carries the token, like every secret.
        for style in STYLES {
            let secrets = |h: &[Change]| {
                stable(style, h)
                    .iter()
                    .filter(|l| l.contains("tok"))
                    .count()
            };
            let added = usize::from(style != Style::Linux);
            assert_eq!(secrets(&history[..1]), secrets(&[]) + added, "{style:?}");
        }
    }

    #[test]
    fn the_last_change_lines_name_its_author_where_the_platform_prints_one() {
        let history = [drift::described(
            Style::Ios,
            1,
            "jdoe".into(),
            Edit::LocalUser {
                name: "mchen".into(),
            },
        )];
        let t = 1_804_219_506; // 2027-03-05 04:05:06 UTC
        let volatile = |style| -> Vec<String> {
            generate_lines(style, &spec(&history), at(t, 5, 1))
                .into_iter()
                .filter(|l| l.volatile)
                .map(|l| l.text)
                .collect()
        };
        for (style, line) in [
            (
                Style::Ios,
                "! Last configuration change at 04:05:06 UTC Fri Mar 5 2027 by jdoe",
            ),
            (
                Style::Iosxr,
                "!! Last configuration change at 04:05:06 UTC Fri Mar 5 2027 by jdoe",
            ),
            (
                Style::Eos,
                "! Startup-config last modified at Fri Mar 5 04:05:06.005 2027 by jdoe",
            ),
            (
                Style::Asa,
                ": Written by jdoe at 04:05:06.005 UTC Fri Mar 5 2027",
            ),
            (
                Style::Junos,
                "## Last commit: 2027-03-05 04:05:06 UTC by jdoe",
            ),
            (
                Style::FortiOs,
                "#config-version=FGT60F-7.0.12-FW-build0523-230523:opmode=0:vdom=0:user=jdoe",
            ),
            (
                Style::Os9,
                "! Last configuration change at Fri Mar  5 04:05:06 2027 by jdoe",
            ),
        ] {
            let v = volatile(style);
            assert!(
                v.iter().any(|l| l == line),
                "{style:?}: no `{line}` in {v:#?}"
            );
            // Revision 0 was the installer's.
            let v0: Vec<String> = generate_lines(style, &spec(&[]), at(t, 5, 1))
                .into_iter()
                .filter(|l| l.volatile)
                .map(|l| l.text)
                .collect();
            assert!(
                v0.iter()
                    .any(|l| l.contains("admin") || l.contains("enable_15")),
                "{style:?}: {v0:#?}"
            );
        }
    }

    #[test]
    fn fortios_can_re_encrypt_its_enc_secrets_in_every_session() {
        let psk = |reencrypt, counter| -> Vec<String> {
            let spec = ConfigSpec {
                reencrypt_secrets: reencrypt,
                ..spec(&[])
            };
            generate_lines(Style::FortiOs, &spec, st(counter))
                .into_iter()
                .filter(|l| !l.volatile)
                .map(|l| l.text)
                .collect()
        };
        // Off: byte-identical bodies, the secret as it was.
        assert_eq!(psk(false, 1), psk(false, 2));
        assert!(psk(false, 1).contains(&"        set psksecret ENC tok".to_owned()));
        // On: only the ENC line differs, still carrying the secret's token,
        // and the same session prints the same salt.
        let (a, b) = (psk(true, 1), psk(true, 2));
        assert_eq!(a, psk(true, 1));
        let differ: Vec<_> = a.iter().zip(&b).filter(|(x, y)| x != y).collect();
        assert_eq!(differ.len(), 1, "{differ:?}");
        let (x, y) = differ[0];
        for l in [x, y] {
            let value = l.strip_prefix("        set psksecret ENC ").unwrap();
            assert!(value.ends_with("tok") && value.len() == 19, "{l}");
        }
        // Other platforms print the same with it on.
        let ios = |reencrypt| {
            let spec = ConfigSpec {
                reencrypt_secrets: reencrypt,
                ..spec(&[])
            };
            generate(Style::Ios, &spec, st(1))
        };
        assert_eq!(ios(true), ios(false));
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
