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
    if style == Style::AirOs {
        // airOS's `system.cfg` is kept in sorted order (byte order, as
        // BusyBox `sort` prints it: oxidized airos.rb reads it through
        // `sort`), whatever order its sections were generated in.
        let mut lines: Vec<(String, bool)> = Vec::new();
        render_in_order(style, spec, st, &mut |l: &str, v: bool| {
            lines.push((l.to_owned(), v));
        });
        lines.sort();
        for (l, v) in &lines {
            emit(l, *v);
        }
        return;
    }
    render_in_order(style, spec, st, emit);
}

fn render_in_order(
    style: Style,
    spec: &ConfigSpec<'_>,
    st: SessionStamp,
    emit: &mut dyn FnMut(&str, bool),
) {
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
        // FASTPATH (EdgeSwitch, Netgear M-series) `show running-config`:
        // a `!`-commented header with the firmware, the uptime and the SNTP
        // time (oxidized lib/oxidized/model/edgeswitch.rb and netgear.rb drop
        // or blank `System Up Time` and `Current SNTP Synchronized Time`),
        // then unindented commands, each block closed by `exit`, all inside
        // `configure` ... `exit` (Netgear M4100/M4300 CLI reference: `username
        // <name> password <hash> level <n> encrypted`).
        Style::EdgeSwitch | Style::ProSafe => {
            let (description, version, packages) = if style == Style::EdgeSwitch {
                (
                    "EdgeSwitch 24-Port 250W, 1.8.0.5106045, Linux 3.6.5-1b505fb7, 0.0.0.0000000",
                    "1.8.0.5106045",
                    "QOS,IPv6 Management,Routing",
                )
            } else {
                (
                    "M4300-52G ProSAFE 48-port 1G and 4-port 10G Stackable Managed Switch, 12.0.9.3, B1.0.0.17",
                    "12.0.9.3",
                    "BGP-4,QOS,Multicast,IPv6,Routing,Data Center",
                )
            };
            let up = st.unix % 9_000_000;
            head.extend([
                "!Current Configuration:".into(),
                "!".into(),
                format!("!System Description \"{description}\""),
                format!("!System Software Version \"{version}\""),
                vol(format!(
                    "!System Up Time          \"{} days {} hrs {} mins {} secs\"",
                    up / 86_400,
                    up / 3600 % 24,
                    up / 60 % 60,
                    up % 60
                )),
                format!("!Additional Packages     {packages}"),
                vol(format!(
                    "!Current SNTP Synchronized Time: {} {:>2} {:02}:{:02}:{:02} {} UTC",
                    c.mon(),
                    c.d,
                    c.h,
                    c.mi,
                    c.s,
                    c.y
                )),
                "!".into(),
                "vlan database".into(),
                "vlan 2-250".into(),
                "exit".into(),
                String::new(),
                "configure".into(),
                format!("hostname \"{h}\""),
                "sntp client mode unicast".into(),
                "sntp server \"192.0.2.123\"".into(),
                format!("username \"admin\" password {hash} level 15 encrypted"),
                format!("snmp-server community \"{tok}\" ro"),
                String::new(),
            ]);
            tail.extend([
                "line console".into(),
                "exit".into(),
                String::new(),
                "line ssh".into(),
                "exit".into(),
                String::new(),
                "exit".into(),
            ]);
            let slot = if style == Style::EdgeSwitch {
                "0/"
            } else {
                "1/0/"
            };
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let v = i + 2;
                vec![
                    format!("interface {slot}{}", i + 1),
                    format!("description '{d}'"),
                    format!("vlan pvid {v}"),
                    format!("vlan participation include {v}"),
                    "exit".into(),
                    String::new(),
                    format!("interface vlan {v}"),
                    "routing".into(),
                    format!("ip address 10.{a}.{b}.1 255.255.255.0"),
                    "exit".into(),
                    String::new(),
                ]
            })
        }
        // Aruba Instant `show running-config no-encrypt`: unindented
        // settings, then profiles whose lines are indented by one space,
        // each followed by a blank line, the keys in clear (oxidized
        // spec/model/data/arubainstant#IAP515_8.10.0.6_VWLC capture). No
        // date or counter in it. Each block is an SSID.
        Style::ArubaInstant => {
            head.extend([
                "version 8.10.0.0-8.10.0".into(),
                "syslocation Rack 4".into(),
                "virtual-controller-country DE".into(),
                format!("virtual-controller-key {tok}"),
                format!("name {h}"),
                "organization Example".into(),
                "virtual-controller-ip 192.0.2.254".into(),
                "terminal-access".into(),
                "ntp-server 192.0.2.123".into(),
                "clock timezone UTC 00 00".into(),
                "rf-band all".into(),
                String::new(),
                "allow-new-aps".into(),
                String::new(),
                format!("snmp-server community {tok}"),
                format!("snmp-server host 192.0.2.12 version 2c {tok} inform"),
                String::new(),
                "hash-mgmt-password".into(),
                format!("hash-mgmt-user admin password hash {hash}"),
                String::new(),
                "wlan access-rule default_wired_port_profile".into(),
                " index 0".into(),
                " rule any any match any any any permit".into(),
                String::new(),
            ]);
            tail.extend([
                "mgmt-auth-server tacacs1".into(),
                String::new(),
                "wlan tacacs-server tacacs1".into(),
                " ip 192.0.2.21".into(),
                format!(" key {tok}"),
                " timeout 5".into(),
                " session-authorization".into(),
            ]);
            Box::new(move |i, _, _| {
                let d = descs.description(i);
                vec![
                    format!("wlan ssid-profile ssid-{i}"),
                    " enable".into(),
                    format!(" index {i}"),
                    " type employee".into(),
                    format!(" essid {d}"),
                    " opmode wpa2-aes".into(),
                    format!(" vlan {}", i + 2),
                    String::new(),
                ]
            })
        }
        // Fabric OS `configshow -all`: `key = value` upload information
        // (its `date = ` line the time of the command: oxidized
        // lib/oxidized/model/fabricos.rb drops every `date = ` line), then
        // the logical switch between `[Switch Configuration Begin : 0]` and
        // `[Switch Configuration End : 0]`, `[Section]` headers over
        // `key:value` lines, `[End]` last (a configupload file of FOS
        // 7.0.1 in a public script's README; netmeld's Brocade parser:
        // `boot.ipa:`, `boot.gateway.ipa:`, `fc4.fcp.vendorId:`,
        // `ts.clockServer:`). The spelling of the SNMP and port-name keys
        // is not in those sources. Each block is a port's name.
        Style::FabricOs => {
            head.extend([
                "[Configuration upload Information]".into(),
                "Configuration Format = 2.0".into(),
                "Minimum Compatible Format = 2.0".into(),
                "Excluding Format = 0".into(),
                vol(format!("date = {}", c.ctime())),
                "FOS version = v9.1.1b".into(),
                "Number of LS = 1".into(),
                "[Chassis Configuration Begin]".into(),
                "[fcRouting]".into(),
                "fcRoute.backboneFabricId:128".into(),
                "[Chassis Configuration End]".into(),
                "[Switch Configuration Begin : 0]".into(),
                format!("SwitchName = {h}"),
                "Fabric ID = 128".into(),
                String::new(),
                "[Boot Parameters]".into(),
                format!("boot.name:{h}"),
                "boot.ipa:192.0.2.30".into(),
                "boot.mac:10:00:c4:f5:7c:00:00:01".into(),
                "boot.device:eth0".into(),
                "boot.gateway.ipa:192.0.2.1".into(),
                String::new(),
                "[Configuration]".into(),
                "fc4.fcp.vendorId:BROCADE".into(),
                format!("snmp.snmpv1Community.0.name:{tok}"),
                "snmp.snmpv1Community.0.access:rw".into(),
                "ts.clockServer:192.0.2.123".into(),
            ]);
            tail.extend([
                String::new(),
                "[Zoning]".into(),
                "cfg.fabric_a:host1_array1".into(),
                "zone.host1_array1:host1_hba0;array1_spa".into(),
                "alias.array1_spa:50:06:01:60:08:60:12:34".into(),
                "alias.host1_hba0:10:00:00:90:fa:00:00:01".into(),
                "defzone:noaccess".into(),
                "enable:fabric_a".into(),
                String::new(),
                "[Defined Security policies]".into(),
                String::new(),
                "[Banner]".into(),
                String::new(),
                "[End]".into(),
                "[Switch Configuration End : 0]".into(),
            ]);
            Box::new(move |i, _, _| vec![format!("portName.{i}:{}", descs.description(i))])
        }
        // airOS `/tmp/system.cfg`: `key=value` lines, numbered entries as
        // `<section>.<n>.<key>`, no comment, date or counter; the local
        // users' crypt hashes and the SNMP community are its secrets
        // (oxidized lib/oxidized/model/airos.rb masks `users.<n>.password`
        // and `snmp.community`). [`render`] prints it sorted. Each block is
        // a static route, whose comment is its free text.
        Style::AirOs => {
            head.extend([
                "aaa.status=disabled".into(),
                "bridge.1.devname=br0".into(),
                "bridge.1.port.1.devname=eth0".into(),
                "bridge.1.port.2.devname=ath0".into(),
                "bridge.status=enabled".into(),
                "httpd.https.status=enabled".into(),
                "iptables.status=enabled".into(),
                "netconf.1.devname=br0".into(),
                "netconf.1.ip=192.0.2.50".into(),
                "netconf.1.netmask=255.255.255.0".into(),
                "netconf.1.status=enabled".into(),
                "netconf.status=enabled".into(),
                "ntpclient.1.server=192.0.2.123".into(),
                "ntpclient.status=enabled".into(),
                "radio.1.countrycode=276".into(),
                format!("resolv.host.1.name={h}"),
                "resolv.nameserver.1.ip=192.0.2.53".into(),
                "route.status=enabled".into(),
                format!("snmp.community={tok}"),
                "snmp.status=enabled".into(),
                "sshd.port=22".into(),
                "sshd.status=enabled".into(),
                "users.1.name=admin".into(),
                format!("users.1.password=$1$Zx4Qp7Lm${hash}"),
                "users.1.status=enabled".into(),
                "users.status=enabled".into(),
                format!("wireless.1.ssid={h}-ptp"),
                "wireless.status=enabled".into(),
                format!("wpasupplicant.profile.1.network.1.psk={tok}"),
                "wpasupplicant.status=enabled".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let n = i + 1;
                vec![
                    format!("route.{n}.comment={d}"),
                    format!("route.{n}.devname=br0"),
                    format!("route.{n}.gateway=192.0.2.1"),
                    format!("route.{n}.ip=10.{a}.{b}.0"),
                    format!("route.{n}.netmask=255.255.255.0"),
                    format!("route.{n}.status=enabled"),
                ]
            })
        }
        // ZyNOS `show running-config`: three lines of the command's own
        // (oxidized lib/oxidized/model/zynos.rb cuts them with the echo),
        // then commands, blocks indented by two spaces and closed by
        // `exit`; `admin-password`, `logins username ... password` and the
        // SNMP communities are its secrets (oxidized zynos.rb). No date.
        // Each block is a port with its name.
        Style::ZyNos => {
            head.extend([
                vol("Building configuration...".into()),
                String::new(),
                vol("Current configuration:".into()),
                "vlan 1".into(),
                "  name 1".into(),
                "  normal \"\"".into(),
                "  fixed 1-28".into(),
                "  forbidden \"\"".into(),
                "  untagged 1-28".into(),
                "  ip address default-management 192.0.2.60 255.255.255.0".into(),
                "  ip address default-gateway 192.0.2.1".into(),
                "exit".into(),
                format!("hostname {h}"),
                format!("admin-password {hash} cipher"),
                format!("snmp-server get-community {tok}"),
                format!("snmp-server set-community {tok}"),
                "timesync server 192.0.2.123".into(),
                "timesync ntp".into(),
            ]);
            Box::new(move |i, _, _| {
                let d = descs.description(i);
                vec![
                    format!("interface port-channel {}", i + 1),
                    format!("  name {d}"),
                    "exit".into(),
                ]
            })
        }
        // SAOS 6 `configuration show`: a `!` header with the time of the
        // command (`! Created:`) and the terminal (`! On terminal:`), both
        // dropped by oxidized lib/oxidized/model/saos.rb and RANCID, then
        // sections, each a rule of thirty `!`, its `! TITLE` and `!`-closed
        // flat commands; port descriptions quoted; users' `secret $6$...`,
        // the TACACS+ secret and the SNMP communities are its secrets; no
        // closing line (a SAOS 6.18 capture in a public Java example;
        // RANCID's ciena module: "SAOS cienas lack a definitive end of
        // config marker"). Each block is a port.
        Style::Saos => {
            const RULE: &str = "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!";
            head.extend([
                "! 3930 Configuration File".into(),
                "! Chassis MAC: 2c:39:c1:00:00:01".into(),
                format!("! Host Name: {h}"),
                vol(format!("! Created: {}", c.ctime())),
                "! Created by: CLI".into(),
                vol("! On terminal: ".into()),
                "! SW Package: Slot 1 - saos-06-18-00-0183".into(),
                "! Defaults: Suppressed".into(),
                "! Encoding: US-ASCII".into(),
                "!".into(),
                RULE.into(),
                "! SYSTEM CONFIG:".into(),
                "!".into(),
                format!("system set host-name {h}"),
                "!".into(),
                RULE.into(),
                "! PORT CONFIG: ports".into(),
                "!".into(),
            ]);
            tail.extend([
                "!".into(),
                RULE.into(),
                "! ACL RULE CONFIG:".into(),
                "!".into(),
                "!".into(),
                RULE.into(),
                "! TACACS CONFIG:".into(),
                "!".into(),
                format!("tacacs set secret #A#{tok}"),
                "!".into(),
                RULE.into(),
                "! SECURITY CONFIG:".into(),
                "!".into(),
                format!("user set user admin access-level super secret $6$Pq8Rs2Tu${hash}"),
                "!".into(),
                RULE.into(),
                "! SNMP".into(),
                "!".into(),
                format!(
                    "snmp create community-index Read community {tok} sec-name Read-User transport-tag ReadTag"
                ),
                "!".into(),
                RULE.into(),
                "! DHCP L3 RELAY".into(),
                "!".into(),
            ]);
            Box::new(move |i, _, _| {
                let d = descs.description(i);
                vec![format!(
                    "port set port {} max-frame-size 9216 description \"{d}\"",
                    i + 1
                )]
            })
        }
        // JetStream `show running-config`: the model on a `!` line, `#`
        // between blocks, block lines indented by two spaces, and `end`
        // (oxidized lib/oxidized/model/tplink.rb cuts after `end`; its
        // spec/model/data/tplink#DS-P7001-08_1.0.0 capture; a published
        // TL-SG3210 configuration, Yasen6275/openfest-network-2024
        // switch-configs: the quoted community and its view, `description`
        // inside the interface block). No date or counter in it.
        Style::JetStream => {
            head.extend([
                "!T2600G-28TS".into(),
                "#".into(),
                format!("hostname \"{h}\""),
                "location \"Rack 4\"".into(),
                "contact-info \"noc@example.net\"".into(),
                "#".into(),
                "system-time ntp UTC+00:00 192.0.2.123 192.0.2.124 12".into(),
                "#".into(),
                format!("user name admin privilege admin secret 5 $1$J7e${hash}"),
                "no service reset-disable".into(),
                "#".into(),
                format!("enable secret 5 $1$Qx2${hash}"),
                "#".into(),
                "ip ssh server".into(),
                "#".into(),
                format!("snmp-server community \"{tok}\" read-only \"viewDefault\""),
                "#".into(),
            ]);
            tail.extend([
                "ip route 0.0.0.0 0.0.0.0 192.0.2.1".into(),
                "#".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let v = i + 2;
                vec![
                    format!("vlan {v}"),
                    format!("  name \"v{v}\""),
                    "#".into(),
                    format!("interface vlan {v}"),
                    format!("  ip address 10.{a}.{b}.1 255.255.255.0"),
                    "#".into(),
                    format!("interface gigabitEthernet 1/0/{}", i + 1),
                    format!("  description \"{d}\""),
                    format!("  switchport general allowed vlan {v} untagged"),
                    format!("  switchport pvid {v}"),
                    "#".into(),
                ]
            })
        }
        // D-Link `show config current_config`: the `Command:` line every
        // reply opens with, a `#`-ruled banner with the model and firmware,
        // `# SECTION` comments over flat `config`/`create`/`enable` commands,
        // and a ruled `End of configuration file` footer (oxidized
        // lib/oxidized/model/dlink.rb drops the first lines and masks
        // `create snmp community`/`create snmp group`; DGS-3120 CLI
        // reference: `create account <level> <user> encrypt sha_1 <hash>`,
        // `config ports <list> description <text>`).
        Style::DlinkDs => {
            let rule = "#-------------------------------------------------------------------";
            head.extend([
                vol("Command: show config current_config".into()),
                String::new(),
                rule.into(),
                "#                       DGS-3120-24TC Gigabit Ethernet Switch".into(),
                "#                                Configuration".into(),
                "#".into(),
                "#                          Firmware: Build 3.00.015".into(),
                "#           Copyright(C) 2012 D-Link Corporation. All rights reserved.".into(),
                rule.into(),
                String::new(),
                "# BASIC".into(),
                String::new(),
                "config serial_port baud_rate 115200 auto_logout 10_minutes".into(),
                "enable ssh".into(),
                "disable telnet".into(),
                String::new(),
                "# ACCOUNT LIST".into(),
                String::new(),
                format!("create account admin admin encrypt sha_1 *@&{hash}"),
                String::new(),
                "# SNMP".into(),
                String::new(),
                format!("create snmp community {tok} view CommunityView read_only"),
                format!("config snmp system_name {h}"),
                String::new(),
                "# PORT".into(),
                String::new(),
            ]);
            tail.extend([
                String::new(),
                "# ROUTE".into(),
                String::new(),
                "create iproute default 192.0.2.1 1 primary".into(),
                String::new(),
                rule.into(),
                "#             End of configuration file for DGS-3120-24TC".into(),
                rule.into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let (n, v) = (i + 1, i + 2);
                vec![
                    format!("config ports 1:{n} description \"{d}\""),
                    format!("create vlan v{v} tag {v}"),
                    format!("config vlan v{v} add untagged 1:{n}"),
                    format!("create ipif if{v} 10.{a}.{b}.1/24 v{v} state enable"),
                ]
            })
        }
        // EdgeCOS `show running-config`: `Building running configuration.
        // Please wait...` first (oxidized lib/oxidized/model/edgecos.rb
        // removes it), the stacking database comments, `!`-separated
        // IOS-like blocks with one-space indents, `username <name> password
        // 7 <hash>` and `enable password level 15 7 <hash>` (oxidized
        // edgecos.rb masks `password <n> <hash>` and communities), `end`.
        // No date is printed.
        Style::EdgeCos => {
            head.extend([
                vol("Building running configuration. Please wait...".into()),
                "!<stackingDB>00</stackingDB>".into(),
                "!<stackingMac>01_70-72-cf-a1-b2-c3_01</stackingMac>".into(),
                "!".into(),
                format!("hostname {h}"),
                "!".into(),
                format!("snmp-server community {tok} ro"),
                "snmp-server location Rack 4".into(),
                "!".into(),
                "sntp server 192.0.2.123".into(),
                "sntp client".into(),
                "clock timezone UTC hours 0 minute 0 after-UTC".into(),
                "!".into(),
                "username admin access-level 15".into(),
                format!("username admin password 7 {hash}"),
                format!("enable password level 15 7 {hash}"),
                "!".into(),
                "vlan database".into(),
                " VLAN 1 name DefaultVlan media ethernet".into(),
                " VLAN 2-250 media ethernet state active".into(),
                "!".into(),
            ]);
            tail.extend([
                "interface vlan 1".into(),
                " ip address dhcp".into(),
                "!".into(),
                "ip route 0.0.0.0 0.0.0.0 192.0.2.1".into(),
                "!".into(),
                "line console".into(),
                "!".into(),
                "line vty".into(),
                "!".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let v = i + 2;
                vec![
                    format!("interface ethernet 1/{}", i + 1),
                    format!(" description {d}"),
                    format!(" switchport allowed vlan add {v} untagged"),
                    format!(" switchport native vlan {v}"),
                    "!".into(),
                    format!("interface vlan {v}"),
                    format!(" ip address 10.{a}.{b}.1 255.255.255.0"),
                    "!".into(),
                ]
            })
        }
        // Opengear `config -g config`: the configuration tree, one
        // `config.<key> <value>` line per setting (oxidized
        // lib/oxidized/model/opengear.rb keeps it as it is and masks
        // `password <value>`; Opengear ZTP and Ansible scripts on GitHub
        // read and set `config.system.name`, `config.interfaces.wan.*`,
        // `config.users.user1.password` with its `$1$` hash and
        // `config.ports.port<n>.label`). Each serial port's label is the
        // free text a drift edits. No date is printed.
        Style::Opengear => {
            head.extend([
                format!("config.system.name {h}"),
                "config.system.model IM7216-2-24E".into(),
                "config.system.location Rack 4".into(),
                "config.system.contact noc@example.net".into(),
                "config.system.timezone UTC".into(),
                "config.interfaces.wan.mode static".into(),
                "config.interfaces.wan.address 192.0.2.30".into(),
                "config.interfaces.wan.netmask 255.255.255.0".into(),
                "config.interfaces.wan.gateway 192.0.2.1".into(),
                "config.interfaces.wan.dns1 192.0.2.53".into(),
                "config.ntp.enabled on".into(),
                "config.ntp.servers.server1.address 192.0.2.123".into(),
                "config.services.ssh.enabled on".into(),
                "config.services.https.enabled on".into(),
                // Counts the accounts, the added ones too.
                format!("config.users.total {}", applied.users.len() + 1),
                "config.users.user1.username admin".into(),
                "config.users.user1.description Administrator".into(),
                "config.users.user1.groups.group1 admin".into(),
                "config.users.user1.groups.total 1".into(),
                format!("config.users.user1.password $1$Og7${hash}"),
            ]);
            tail.extend([
                "config.console.speed 115200".into(),
                "config.system.idletimeout 20".into(),
            ]);
            Box::new(move |i, _, _| {
                let d = descs.description(i);
                let port = format!("config.ports.port{}", i + 1);
                vec![
                    format!("{port}.label {d}"),
                    format!("{port}.mode portmanager"),
                    format!("{port}.protocol RS232"),
                    format!("{port}.speed 9600"),
                    format!("{port}.charsize 8"),
                    format!("{port}.parity None"),
                    format!("{port}.stop 1"),
                    format!("{port}.flowcontrol None"),
                    format!("{port}.ssh on"),
                ]
            })
        }
        // NCLU `net show configuration commands`: `net del all`, the
        // `net add` commands by object, `net commit` (NVIDIA Cumulus Linux
        // 4.x documentation's examples: aliases unquoted, `readonly-community
        // <name> access any`, `net add routing password <password>`;
        // oxidized lib/oxidized/model/cumulus.rb masks `password <value>`).
        // No date is printed; accounts are Linux's, not NCLU's.
        Style::CumulusNclu => {
            head.extend([
                "net del all".into(),
                "net add dns nameserver ipv4 192.0.2.53 vrf mgmt".into(),
                "net add time ntp server 192.0.2.123 iburst".into(),
                "net add time ntp source eth0".into(),
                "net add snmp-server listening-address localhost".into(),
                format!("net add snmp-server readonly-community {tok} access any"),
                "net add bgp autonomous-system 65432".into(),
                "net add bgp router-id 192.0.2.20".into(),
                format!("net add routing password {hash}"),
                "net add routing log file /var/log/frr/bgpd.log".into(),
                "net add time zone Etc/UTC".into(),
                format!("net add hostname {h}"),
                "net add interface eth0 ip address 192.0.2.20/24".into(),
                "net add interface eth0 vrf mgmt".into(),
            ]);
            tail.extend([
                "net add loopback lo ip address 10.255.0.1/32".into(),
                "net add vrf mgmt ip address 127.0.0.1/8".into(),
                "net add vrf mgmt vrf-table auto".into(),
                "net commit".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let n = i + 1;
                vec![
                    format!("net add interface swp{n} alias {d}"),
                    format!("net add interface swp{n} ip address 10.{a}.{b}.1/24"),
                ]
            })
        }
        // FXOS `show configuration`: the command modes of the FXOS CLI
        // configuration guide (`scope system`/`scope services` with the
        // management `ip-block`s, `scope security` with `enter local-user`,
        // `scope eth-uplink`/`scope fabric a` with `enter interface`, `scope
        // monitoring`), each mode's `set` lines indented under it and closed
        // by `exit`, in the layout of the UCS Manager CLI FXOS derives from
        // (a space before a top-level scope, four more per level). A
        // password, community or key is asked for without echo and never
        // printed. An interface's free text is a `user-label`, as on UCS
        // Manager's objects (no FXOS capture in the sources shows one). No
        // date is printed.
        Style::Fxos => {
            head.extend([
                " scope system".into(),
                format!("     set name {h}"),
                "     scope services".into(),
                "         enable ssh-server".into(),
                "         disable telnet-server".into(),
                "         enable https".into(),
                "         set https port 443".into(),
                "         enter ip-block 0.0.0.0 0 https".into(),
                "         exit".into(),
                "         enter ip-block 0.0.0.0 0 ssh".into(),
                "         exit".into(),
                "         enter ntp-server 192.0.2.123".into(),
                "         exit".into(),
                "         set timezone UTC".into(),
                "     exit".into(),
                " exit".into(),
                " scope security".into(),
                "     enter local-user admin".into(),
                "         set account-status active".into(),
                "         enter role admin".into(),
                "         exit".into(),
                "     exit".into(),
                "     enable enforce-strong-password".into(),
                " exit".into(),
                " scope eth-uplink".into(),
                "     scope fabric a".into(),
            ]);
            tail.extend([
                "     exit".into(),
                " exit".into(),
                " scope monitoring".into(),
                "     enable snmp".into(),
                "     set snmp syscontact noc@example.net".into(),
                "     set snmp syslocation \"Rack 4\"".into(),
                " exit".into(),
            ]);
            Box::new(move |i, _, _| {
                let d = descs.description(i);
                vec![
                    format!("         enter interface Ethernet1/{}", i + 1),
                    "             enable".into(),
                    "             set port-type data".into(),
                    format!("             set user-label \"{d}\""),
                    "         exit".into(),
                ]
            })
        }
        // IPOS `show configuration`: `Building configuration...`, `Current
        // configuration:`, the last change by a user and by the system with
        // their dates (oxidized lib/oxidized/model/ipos.rb drops the first
        // two and the system user's line, which "is touched regularly"),
        // then `config`, contexts with one-space indents, `!` between
        // blocks and `end`.
        Style::Ipos => {
            head.extend([
                vol("Building configuration...".into()),
                String::new(),
                vol("Current configuration:".into()),
                vol(format!(
                    "! Configuration last changed by user '{by}' at {}",
                    c.ctime()
                )),
                vol(format!(
                    "! Configuration last changed by system user 'ism' at {}",
                    c.ctime()
                )),
                "!".into(),
                "config".into(),
                "!".into(),
                format!("system hostname {h}"),
                "!".into(),
                "timezone UTC".into(),
                "!".into(),
                "context local".into(),
                "!".into(),
                " no ip domain-lookup".into(),
                "!".into(),
                format!(" administrator admin encrypted 1 $1$Xp7${hash}"),
                "!".into(),
            ]);
            tail.extend([
                " ip route 0.0.0.0/0 192.0.2.254".into(),
                "!".into(),
                format!("snmp community {tok} all-contexts read-only"),
                "!".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!(" interface link{i}"),
                    format!("  description {d}"),
                    format!("  ip address 10.{a}.{b}.1/24"),
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
        // pfSense and OPNsense: `config.xml`, tab-indented, the interfaces
        // as `<optN>` elements; the `<revision>` element records the last
        // write (oxidized lib/oxidized/model/pfsense.rb and opnsense.rb
        // strip it, and `last_rule_upd_time`; pfsense.rb masks
        // `<bcrypt-hash>` and `<password>`). Every line of the revision
        // is volatile here: a backup drops the whole block.
        Style::PfSense | Style::OpnSense => {
            let pf = style == Style::PfSense;
            let root = if pf { "pfsense" } else { "opnsense" };
            let hash_tag = if pf { "bcrypt-hash" } else { "password" };
            head.extend([
                "<?xml version=\"1.0\"?>".to_owned(),
                format!("<{root}>"),
                format!("\t<version>{}</version>", if pf { "23.3" } else { "1.9" }),
                "\t<system>".into(),
                format!("\t\t<hostname>{h}</hostname>"),
                "\t\t<domain>home.arpa</domain>".into(),
                "\t\t<timezone>Etc/UTC</timezone>".into(),
                "\t\t<user>".into(),
                format!("\t\t\t<name>{}</name>", if pf { "admin" } else { "root" }),
                "\t\t\t<descr><![CDATA[System Administrator]]></descr>".into(),
                "\t\t\t<scope>system</scope>".into(),
                "\t\t\t<groupname>admins</groupname>".into(),
                format!("\t\t\t<{hash_tag}>$2y$10${hash}</{hash_tag}>"),
                "\t\t\t<uid>0</uid>".into(),
                "\t\t</user>".into(),
                "\t</system>".into(),
                "\t<interfaces>".into(),
            ]);
            let mut rev = vec![
                "\t<notifications>".to_owned(),
                "\t\t<smtp>".into(),
                "\t\t\t<username>alerts</username>".into(),
                format!("\t\t\t<password>{tok}</password>"),
                "\t\t</smtp>".into(),
                "\t</notifications>".into(),
                "\t<filter>".into(),
                vol(format!(
                    "\t\t<last_rule_upd_time>{}</last_rule_upd_time>",
                    st.unix
                )),
                "\t</filter>".into(),
                vol("\t<revision>".into()),
            ];
            if pf {
                rev.extend([
                    vol(format!("\t\t<time>{}</time>", st.unix)),
                    vol(format!("\t\t<description><![CDATA[{by}@192.0.2.10 (Local Database): Updated configuration]]></description>")),
                    vol(format!("\t\t<username><![CDATA[{by}@192.0.2.10 (Local Database)]]></username>")),
                ]);
            } else {
                rev.extend([
                    vol(format!("\t\t<username>{by}@192.0.2.10</username>")),
                    vol(format!("\t\t<time>{}.{:04}</time>", st.unix, st.millis)),
                    vol(
                        "\t\t<description>/system_advanced_admin.php made changes</description>"
                            .into(),
                    ),
                ]);
            }
            rev.push(vol("\t</revision>".into()));
            tail.extend([
                "\t</interfaces>".to_owned(),
                "\t<snmpd>".into(),
                "\t\t<syslocation>rack 1</syslocation>".into(),
                format!("\t\t<rocommunity>{tok}</rocommunity>"),
                "\t</snmpd>".into(),
            ]);
            tail.extend(rev);
            tail.push(format!("</{root}>"));
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("\t\t<opt{}>", i + 1),
                    format!("\t\t\t<descr><![CDATA[{d}]]></descr>"),
                    format!("\t\t\t<if>vtnet{}</if>", i + 1),
                    "\t\t\t<enable></enable>".into(),
                    format!("\t\t\t<ipaddr>10.{a}.{b}.1</ipaddr>"),
                    "\t\t\t<subnet>24</subnet>".into(),
                    format!("\t\t</opt{}>", i + 1),
                ]
            })
        }
        // APC network management card `config.ini`: `;` comments, the
        // first of them naming the card, one dated when the file was
        // generated (oxidized lib/oxidized/model/apc_aos.rb drops `;
        // Configuration file, generated on ...`), then INI sections.
        Style::ApcNmc => {
            head.extend([
                "; Schneider Electric".to_owned(),
                "; Network Management Card AOS v6.9.6".into(),
                "; Smart-UPS APP v6.9.6".into(),
                "; (c)Copyright 2020 All Rights Reserved".into(),
                vol(format!(
                    "; Configuration file, generated on {:02}/{:02}/{} at {:02}:{:02}:{:02}",
                    c.mo, c.d, c.y, c.h, c.mi, c.s
                )),
                String::new(),
                "[NetworkTCP/IP]".into(),
                "SystemIP=10.0.0.10".into(),
                "SubnetMask=255.255.255.0".into(),
                "DefaultGateway=10.0.0.1".into(),
                format!("HostName={h}"),
                "[SystemID]".into(),
                format!("Name={h}"),
                "Contact=noc".into(),
                "[SystemUserManager]".into(),
                "AdminUserName=apc".into(),
                format!("AdminPassword={hash}"),
            ]);
            tail.extend([
                "[NetworkSNMP]".to_owned(),
                "Access=enabled".into(),
                format!("AccessControl1Community={tok}"),
                "AccessControl1AccessType=read".into(),
                "AccessControl1NMSIP=0.0.0.0".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("[Outlet{}]", i + 1),
                    format!("Name={d}"),
                    format!("Trap=10.{a}.{b}.1"),
                    "PowerOnDelay=0".into(),
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
        // VOSS `show running-config`: the command's own `Preparing to
        // Display Configuration...`, a `#` header with the date, box type,
        // software version and CLI mode, then `config terminal` and
        // sections headed `# <NAME> CONFIGURATION`, ACLI commands not
        // indented, each interface context closed by `exit`, the whole
        // ending with `end` (a VSP-8404C capture in a public TextFSM
        // script; oxidized lib/oxidized/model/voss.rb drops the prompt and
        // comments the rest with `# `).
        Style::Voss => {
            head.extend([
                vol("Preparing to Display Configuration...".into()),
                "#".into(),
                vol(format!(
                    "# {} {} {:02} {:02}:{:02}:{:02} {} UTC",
                    c.wd,
                    c.mon(),
                    c.d,
                    c.h,
                    c.mi,
                    c.s,
                    c.y
                )),
                "# box type             : VSP-4450GSX-PWR+".into(),
                "# software version     : 8.1.0.0".into(),
                "# cli mode             : ECLI".into(),
                "#".into(),
                String::new(),
                "config terminal".into(),
                String::new(),
                "#".into(),
                "# BOOT CONFIGURATION".into(),
                "#".into(),
                String::new(),
                "boot config flags sshd".into(),
                String::new(),
                "#".into(),
                "# SYSTEM CONFIGURATION".into(),
                "#".into(),
                String::new(),
                format!("sys name \"{h}\""),
                "sys contact \"noc@example.net\"".into(),
                String::new(),
                "#".into(),
                "# SNMP CONFIGURATION".into(),
                "#".into(),
                String::new(),
                format!("snmp-server community \"{tok}\" index first secname \"readview\""),
                format!("snmp-server user admin sha \"{hash}\" aes \"{hash}\""),
                String::new(),
                "#".into(),
                "# RADIUS CONFIGURATION".into(),
                "#".into(),
                String::new(),
                format!("radius server host 192.0.2.5 key \"{tok}\" used-by cli"),
                String::new(),
                "#".into(),
                "# VLAN CONFIGURATION".into(),
                "#".into(),
                String::new(),
            ]);
            tail.extend([
                String::new(),
                "#".into(),
                "# SSH CONFIGURATION".into(),
                "#".into(),
                String::new(),
                "ssh".into(),
                String::new(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let v = i + 2;
                vec![
                    format!("vlan create {v} name \"v{v}\" type port-mstprstp 0"),
                    format!("vlan members {v} 1/{} portmember", i + 1),
                    format!("interface GigabitEthernet 1/{}", i + 1),
                    format!("name \"{d}\""),
                    "exit".into(),
                    format!("interface Vlan {v}"),
                    format!("ip address 10.{a}.{b}.1 255.255.255.0 {}", i + 1),
                    "exit".into(),
                ]
            })
        }
        // OS6 `show running-config`: three `!` lines naming the model and
        // the firmware (what oxidized lib/oxidized/model/os6.rb drops),
        // then one `configure` block whose contexts close with `exit`, and
        // the block's own closing `exit`. No date is printed.
        Style::Os6 => {
            head.extend([
                "!Current Configuration:".into(),
                "!System Description \"Dell EMC Networking N3048EP-ON, 6.7.1.20, Linux 4.14.174\""
                    .into(),
                "!System Software Version 6.7.1.20".into(),
                "!Cut-through mode is configured as disabled".into(),
                "!".into(),
                "configure".into(),
                format!("hostname \"{h}\""),
                "slot 1/0 1    ! Dell EMC Networking N3048EP-ON".into(),
                "stack".into(),
                "member 1 1    ! N3048EP-ON".into(),
                "exit".into(),
                "ip ssh server".into(),
                format!("enable password {hash} encrypted"),
                format!("username \"admin\" password {hash} privilege 15 encrypted"),
                format!("snmp-server community \"{tok}\" ro"),
                "!".into(),
            ]);
            tail.extend(["exit".into()]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let v = i + 2;
                vec![
                    format!("interface vlan {v}"),
                    format!("ip address 10.{a}.{b}.1 255.255.255.0"),
                    "exit".into(),
                    format!("interface Gi1/0/{}", i + 1),
                    format!("description \"{d}\""),
                    format!("switchport access vlan {v}"),
                    "exit".into(),
                ]
            })
        }
        // SonicOS CLI `show current-config`: contexts indented by four
        // spaces and closed by `exit`; every secret written `<n>,<value>`
        // (the forms oxidized lib/oxidized/model/sonicos.rb masks:
        // `password 1,...`, `shared-secret 1,...`); the `checksum` line it
        // drops changes with every session.
        Style::SonicOs => {
            head.extend([
                "administration".into(),
                format!("    firewall-name {h}"),
                "    admin name admin".into(),
                format!("    admin password 1,{hash}"),
                "    idle-logout-time 5".into(),
                "    exit".into(),
                "radius".into(),
                "    server 192.0.2.5".into(),
                format!("        shared-secret 1,{tok}"),
                "        exit".into(),
                "    exit".into(),
                "user local".into(),
                "    exit".into(),
            ]);
            tail.extend([
                "ssh-server".into(),
                "    port 22".into(),
                "    exit".into(),
                vol(format!("checksum {}", 1_000_000 + st.counter % 8_999_999)),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface X{i}"),
                    "    ip-assignment LAN static".into(),
                    format!("        ip 10.{a}.{b}.1 netmask 255.255.255.0"),
                    "        exit".into(),
                    format!("    comment \"{d}\""),
                    "    exit".into(),
                ]
            })
        }
        // ACOS `show running-config`: `!Current configuration`, the last
        // update and save (what oxidized lib/oxidized/model/acos.rb
        // blanks), `!version`, IOS-like blocks indented by two spaces,
        // `end`, then the partition's commit point.
        Style::Acos => {
            head.extend([
                vol(format!(
                    "!Current configuration: {} bytes",
                    4000 + target * 30 + (st.counter as usize % 97)
                )),
                vol(format!("!Configuration last updated at {}", c.cisco())),
                vol(format!("!Configuration last saved at {}", c.cisco())),
                "!version 5.2.1-p5, build 114 (Feb-10-2022,11:04)".into(),
                "!".into(),
                format!("hostname {h}"),
                "!".into(),
                "timezone UTC".into(),
                "!".into(),
                format!("admin admin password encrypted {hash}"),
                "  privilege write".into(),
                "!".into(),
                format!("tacacs-server host 192.0.2.49 secret encrypted {tok}"),
                "!".into(),
                "snmp-server SNMPv1-v2c user ro-user".into(),
                format!("  community read encrypted {tok}"),
                "!".into(),
            ]);
            tail.extend([
                "ip route 0.0.0.0 /0 192.0.2.1".into(),
                "!".into(),
                "end".into(),
                "!Current config commit point for partition 0 is 0 & config mode is classical-mode"
                    .into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface ethernet {}", i + 1),
                    format!("  name \"{d}\""),
                    "  enable".into(),
                    format!("  ip address 10.{a}.{b}.1 255.255.255.0"),
                    "!".into(),
                ]
            })
        }
        // Fireware's configuration profile: one XML document, `<profile>`
        // holding the version it is for, the model, the system parameters,
        // the accounts and the interfaces, indented by two spaces per
        // level; no date in it (oxidized lib/oxidized/model/firewareos.rb
        // keeps `export config to console` as it is). Secret elements
        // hold the profile's encrypted values.
        Style::Fireware => {
            head.extend([
                "<?xml version=\"1.0\"?>".into(),
                "<profile>".into(),
                "  <for-version>12.10.3</for-version>".into(),
                "  <base-model>T40</base-model>".into(),
                format!("  <name>{h}</name>"),
                "  <system-parameters>".into(),
                "    <device-conf>".into(),
                format!("      <system-name>{h}</system-name>"),
                "      <contact-person>noc@example.net</contact-person>".into(),
                "    </device-conf>".into(),
                "    <snmp>".into(),
                format!("      <community>{tok}</community>"),
                "    </snmp>".into(),
                "  </system-parameters>".into(),
                "  <account-list>".into(),
                "    <account>".into(),
                "      <name>admin</name>".into(),
                format!("      <password>{hash}</password>"),
                "      <role>Device Administrator</role>".into(),
                "    </account>".into(),
                "  </account-list>".into(),
                "  <interface-list>".into(),
            ]);
            tail.extend(["  </interface-list>".into(), "</profile>".into()]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    "    <interface>".into(),
                    format!("      <name>eth{i}</name>"),
                    format!("      <description>{d}</description>"),
                    format!("      <ip>10.{a}.{b}.1</ip>"),
                    "      <netmask>255.255.255.0</netmask>".into(),
                    "    </interface>".into(),
                ]
            })
        }
        // Onyx `show running-config` (oxidized
        // spec/model/data/mlnxos#Onyx_3.9.2504): a `##` header naming the
        // database, the generation time (what oxidized mlnxos.rb drops),
        // the host and the release; `##`-headed sections of flat commands
        // indented by three spaces; the persistent prefix-mode setting last.
        Style::Onyx => {
            head.extend([
                "##".into(),
                "## Running database \"initial\"".into(),
                vol(format!(
                    "## Generated at {}/{:02}/{:02} {:02}:{:02}:{:02} +0000",
                    c.y, c.mo, c.d, c.h, c.mi, c.s
                )),
                format!("## Hostname: {h}"),
                "## Product release: 3.9.2504".into(),
                "##".into(),
                String::new(),
                "##".into(),
                "## Running-config temporary prefix mode setting".into(),
                "##".into(),
                "no cli default prefix-modes enable".into(),
                String::new(),
                "##".into(),
                "## Interface Ethernet configuration".into(),
                "##".into(),
            ]);
            tail.extend([
                String::new(),
                "##".into(),
                "## Network management configuration".into(),
                "##".into(),
                format!("   hostname {h}"),
                "   ntp server 192.0.2.123".into(),
                String::new(),
                "##".into(),
                "## SNMP configuration".into(),
                "##".into(),
                format!("   snmp-server community {tok} ro"),
                String::new(),
                "##".into(),
                "## Local user account configuration".into(),
                "##".into(),
                format!("   username admin password 7 $6${hash}"),
                String::new(),
                "##".into(),
                "## Persistent prefix mode setting".into(),
                "##".into(),
                "cli default prefix-modes enable".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let n = i + 1;
                vec![
                    format!("   interface ethernet 1/{n} no switchport force"),
                    format!("   interface ethernet 1/{n} description \"{d}\""),
                    format!("   interface ethernet 1/{n} ip address 10.{a}.{b}.1/24 primary"),
                ]
            })
        }
        // SR OS classic `admin display-config`: the TiMOS banner as `#`
        // comments, `# Generated <date>`, then `exit all`, `configure` and
        // sections titled by `echo` between dashed lines, contexts indented
        // by four spaces and closed by `exit`, the whole closed by `exit
        // all` and `# Finished <date>` (the two dates oxidized
        // lib/oxidized/model/sros.rb removes); dates in capitals.
        Style::Sros => {
            let stamp = format!(
                "{} {} {:02} {:02}:{:02}:{:02} {} UTC",
                c.wd.to_uppercase(),
                c.mon().to_uppercase(),
                c.d,
                c.h,
                c.mi,
                c.s,
                c.y
            );
            let rule = "#--------------------------------------------------";
            head.extend([
                "# TiMOS-B-20.10.R1 both/x86_64 Nokia 7750 SR Copyright (c) 2000-2020 Nokia.".into(),
                "# All rights reserved. All use subject to applicable license agreements.".into(),
                "# Built on Wed Oct 28 11:48:34 PDT 2020 by builder in /builds/c/2010B/R1/panos/main/sros".into(),
                "# Configuration format version 20.10 revision 0".into(),
                String::new(),
                vol(format!("# Generated {stamp}")),
                String::new(),
                "exit all".into(),
                "configure".into(),
                rule.into(),
                "echo \"System Configuration\"".into(),
                rule.into(),
                "    system".into(),
                format!("        name \"{h}\""),
                "        security".into(),
                "            user \"admin\"".into(),
                format!("                password \"$2y$10${hash}\""),
                "                access console".into(),
                "                console".into(),
                "                    member \"administrative\"".into(),
                "                exit".into(),
                "            exit".into(),
                "            snmp".into(),
                format!("                community \"{tok}\" hash2 r version both"),
                "            exit".into(),
                "        exit".into(),
                "    exit".into(),
                rule.into(),
                "echo \"Port Configuration\"".into(),
                rule.into(),
            ]);
            tail.extend([
                rule.into(),
                "echo \"Router (Network Side) Configuration\"".into(),
                rule.into(),
                "    router Base".into(),
                "        interface \"system\"".into(),
                "            address 192.0.2.255/32".into(),
                "            no shutdown".into(),
                "        exit".into(),
                "    exit".into(),
                String::new(),
                "exit all".into(),
                vol(format!("# Finished {stamp}")),
            ]);
            Box::new(move |i, _a, _b| {
                let d = descs.description(i);
                vec![
                    format!("    port 1/1/{}", i + 1),
                    format!("        description \"{d}\""),
                    "        no shutdown".into(),
                    "    exit".into(),
                ]
            })
        }
        // NetScaler `show ns runningConfig`: `#NS<release> Build <n>`, the
        // last save's date, then one `set`/`add`/`bind` command per line,
        // closed by the CLI's ` Done` (netmiko citrix/netscaler_ssh.py
        // strips it); secrets are written `<value> -encrypted` (the form
        // oxidized lib/oxidized/model/netscaler.rb masks), SNMP
        // communities in clear.
        Style::NetScaler => {
            head.extend([
                "#NS13.1 Build 49.13".into(),
                vol(format!("# Last modified by `save config`, {}", c.ctime())),
                "set ns config -IPAddress 192.0.2.10 -netmask 255.255.255.0".into(),
                "enable ns feature LB CS SSL".into(),
                "enable ns mode FR L3 Edge USNIP PMTUD".into(),
                format!("set ns hostName {h}"),
                format!("set system user nsroot {hash} -encrypted -hashmethod SHA512"),
                format!("add snmp community {tok} GET"),
                format!(
                    "add authentication radiusAction rad1 -serverIP 192.0.2.5 -radKey {tok} -encrypted -encryptmethod ENCMTHD_3"
                ),
            ]);
            tail.extend([
                "add route 0.0.0.0 0.0.0.0 192.0.2.1".into(),
                "set ssl service nsrnatsip-127.0.0.1-5061 -sslProfile ns_default_ssl_profile_backend".into(),
                vol(" Done".into()),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let n = i + 1;
                let v = i + 2;
                vec![
                    format!("set interface 1/{n} -ifAlias \"{d}\""),
                    format!("add vlan {v}"),
                    format!("bind vlan {v} -ifnum 1/{n}"),
                    format!("add ns ip 10.{a}.{b}.1 255.255.255.0 -vServer DISABLED"),
                ]
            })
        }
        // Cumulus Linux 5 `nv config show -o commands`: the applied
        // configuration as `nv set` commands, values with spaces in single
        // quotes; the local users' `hashed-password` and the SNMP
        // community are its secrets (oxidized lib/oxidized/model/cumulus.rb
        // masks `password <value>`). No date is printed.
        Style::Cumulus => {
            head.extend([
                "nv set interface eth0 ip address 192.0.2.20/24".into(),
                "nv set interface eth0 ip vrf mgmt".into(),
                "nv set interface eth0 type eth".into(),
            ]);
            tail.extend([
                "nv set router bgp autonomous-system 65432".into(),
                "nv set router bgp enable on".into(),
                "nv set service snmp-server enable on".into(),
                "nv set service snmp-server listening-address localhost".into(),
                format!("nv set service snmp-server readonly-community {tok} access any"),
                format!("nv set system aaa user cumulus hashed-password '$6${hash}'"),
                "nv set system aaa user cumulus role system-admin".into(),
                format!("nv set system hostname {h}"),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let n = i + 1;
                vec![
                    format!("nv set interface swp{n} description '{d}'"),
                    format!("nv set interface swp{n} ip address 10.{a}.{b}.1/24"),
                    format!("nv set interface swp{n} type swp"),
                ]
            })
        }
        // OmniSwitch `show configuration snapshot`: the running
        // configuration by module, each after a `! <Module>:` comment
        // (empty modules too), keys hashed as `hash-key <hex>` (oxidized
        // lib/oxidized/model/aos.rb keeps it as it is). No date is printed;
        // the accounts live in the user database, not here. The command's
        // own `Please wait...` comes first when the switch is slow
        // (oxidized aos7.rb removes it), here always.
        Style::AlcatelAos => {
            head.extend([
                vol("Please wait...".into()),
                "! Chassis:".into(),
                format!("system name \"{h}\""),
                "system contact \"noc@example.net\"".into(),
                "! Configuration:".into(),
                "configuration error-file-limit 2".into(),
                "! Capability Manager:".into(),
                "! Virtual Flow Control:".into(),
                "! LFP:".into(),
                "! Interface:".into(),
            ]);
            tail.extend([
                "! Policy Manager:".into(),
                "! AAA:".into(),
                format!(
                    "aaa radius-server \"rad1\" host 192.0.2.5 hash-key {tok} retransmit 3 timeout 2 auth-port 1812 acct-port 1813 vrf-name default"
                ),
                "aaa authentication default \"local\"".into(),
                "aaa authentication ssh \"local\"".into(),
                "! NTP:".into(),
                "ntp server 192.0.2.123".into(),
                "! SNMP:".into(),
                "snmp community-map mode enable".into(),
                format!("snmp community-map hash-key {hash} user \"snmpro\" enable"),
                "! SSH:".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let (n, v) = (i + 1, i + 2);
                vec![
                    format!("interfaces 1/1/{n} alias \"{d}\""),
                    format!("vlan {v} admin-state enable"),
                    format!("vlan {v} members port 1/1/{n} untagged"),
                    format!(
                        "ip interface \"int-{v}\" address 10.{a}.{b}.1 mask 255.255.255.0 vlan {v} ifindex {n}"
                    ),
                ]
            })
        }
        // SR OS MD-CLI `admin show configuration`: the TiMOS banner, when
        // and by whom it was generated, the commit it shows and who made
        // it, then `configure { ... }` in braces indented by four spaces,
        // and `# Finished` (oxidized lib/oxidized/model/srosmd.rb removes
        // the `# Generated` and `# Finished` lines).
        Style::SrosMd => {
            let stamp = format!(
                "{}-{:02}-{:02}T{:02}:{:02}:{:02}.{}+00:00",
                c.y,
                c.mo,
                c.d,
                c.h,
                c.mi,
                c.s,
                c.ms / 100
            );
            head.extend([
                "# TiMOS-B-21.10.R1 both/x86_64 Nokia 7750 SR Copyright (c) 2000-2021 Nokia.".into(),
                "# All rights reserved. All use subject to applicable license agreements.".into(),
                "# Built on Thu Oct 28 12:05:06 PDT 2021 by builder in /builds/c/2110B/R1/panos/main/sros".into(),
                "# Configuration format version 21.10 revision 0".into(),
                String::new(),
                vol(format!("# Generated {stamp} by admin from 192.0.2.9")),
                vol(format!("# Commit ID {}", 100 + st.counter)),
                vol(format!("#   Committed {stamp} by {by} (MD-CLI) from 192.0.2.9")),
                String::new(),
                "configure {".into(),
                "    system {".into(),
                format!("        name \"{h}\""),
                "        security {".into(),
                "            user-params {".into(),
                "                local-user {".into(),
                "                    user \"admin\" {".into(),
                format!("                        password \"$2y$10${hash}\""),
                "                        access {".into(),
                "                            console true".into(),
                "                        }".into(),
                "                    }".into(),
                "                }".into(),
                "            }".into(),
                "            snmp {".into(),
                format!("                community \"{tok}\" {{"),
                "                    access-permissions r".into(),
                "                    version v2c".into(),
                "                }".into(),
                "            }".into(),
                "        }".into(),
                "    }".into(),
            ]);
            tail.extend(["}".into(), vol(format!("# Finished {stamp}"))]);
            Box::new(move |i, _a, _b| {
                let d = descs.description(i);
                vec![
                    format!("    port 1/1/{} {{", i + 1),
                    "        admin-state enable".into(),
                    format!("        description \"{d}\""),
                    "    }".into(),
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
        // AireOS `show run-config commands`: one `config ...` command per
        // line, the secrets the controller itself prints as `****` (the
        // management users' and RADIUS secrets) and the SNMP communities
        // in clear; the rogue devices the radios saw lately are listed
        // among them and come and go (oxidized lib/oxidized/model/aireos.rb
        // drops /rogue (adhoc|client) (alert|Unknown) [\da-f]{2}:/ and the
        // blank lines). Each block is a dynamic interface and an access
        // point whose location is free text.
        Style::CiscoWlc => {
            let rogue = |k: u64| {
                let m = SplitMix(spec.seed ^ st.counter.wrapping_mul(0x9E37) ^ k).next();
                let b = m.to_be_bytes();
                format!(
                    "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    b[0] & 0xfe,
                    b[1],
                    b[2],
                    b[3],
                    b[4],
                    b[5]
                )
            };
            head.extend([
                format!("config sysname {h}"),
                "config network ssh enable".into(),
                "config network telnet disable".into(),
                "config network webmode disable".into(),
                "config network secureweb enable".into(),
                "config interface address management 10.0.0.10 255.255.255.0 10.0.0.1".into(),
                "config interface vlan management 10".into(),
                "config mgmtuser add admin **** read-write".into(),
                "config radius auth add 1 192.0.2.10 1812 ascii ****".into(),
                "config radius auth enable 1".into(),
                format!("config snmp community create {tok}"),
                format!("config snmp community accessmode ro {tok}"),
                format!("config snmp community ipaddr 10.0.0.0 255.0.0.0 {tok}"),
                format!("config snmp community mode enable {tok}"),
                vol(format!("config rogue adhoc alert {}", rogue(1))),
                vol(format!("config rogue client alert {}", rogue(2))),
                "config wlan create 1 corp corp".into(),
                "config wlan interface 1 management".into(),
                "config wlan enable 1".into(),
            ]);
            tail.extend([
                "config time ntp server 1 192.0.2.123".into(),
                "config country DE".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                let v = i + 20;
                vec![
                    format!("config interface create vlan{v} {v}"),
                    format!(
                        "config interface address dynamic-interface vlan{v} 10.{a}.{b}.2 255.255.255.0 10.{a}.{b}.1"
                    ),
                    format!("config ap location \"{d}\" ap-{i:03}"),
                ]
            })
        }
        // tmsh `show running-config`: `module object { ... }` blocks,
        // sorted by module and name, four spaces a level; a pool member's
        // `state` is its health monitor's verdict of the moment (oxidized
        // lib/oxidized/model/tmos.rb drops `state (up|down|checking|
        // irule-down)` and masks `password`, `encrypted`, `community-name`
        // values). Each block is a VLAN whose description is free text.
        Style::Tmos => {
            let state = ["up", "down", "checking"][(st.counter % 3) as usize];
            head.extend([
                "apm report default-report {".into(),
                "    report-name sessionReports/sessionSummary".into(),
                "    user /Common/admin".into(),
                "}".into(),
                "auth user admin {".into(),
                "    description \"Admin User\"".into(),
                format!("    encrypted-password $6$lJ1RPcT3${hash}"),
                "    partition Common".into(),
                "    partition-access {".into(),
                "        all-partitions {".into(),
                "            role admin".into(),
                "        }".into(),
                "    }".into(),
                "    shell tmsh".into(),
                "}".into(),
                "ltm pool /Common/web-pool {".into(),
                "    members {".into(),
                "        /Common/192.0.2.21:80 {".into(),
                "            address 192.0.2.21".into(),
                "            session monitor-enabled".into(),
                vol(format!("            state {state}")),
                "        }".into(),
                "    }".into(),
                "    monitor /Common/http".into(),
                "}".into(),
                "net self /Common/internal-self {".into(),
                "    address 10.0.0.5/24".into(),
                "    traffic-group /Common/traffic-group-local-only".into(),
                "    vlan /Common/internal".into(),
                "}".into(),
            ]);
            tail.extend([
                "sys global-settings {".into(),
                format!("    hostname {h}.example.net"),
                "}".into(),
                "sys ntp {".into(),
                "    servers { 192.0.2.123 }".into(),
                "    timezone UTC".into(),
                "}".into(),
                "sys snmp {".into(),
                "    communities {".into(),
                "        /Common/comm-ro {".into(),
                format!("            community-name {tok}"),
                "            source 10.0.0.0/8".into(),
                "        }".into(),
                "    }".into(),
                "}".into(),
            ]);
            Box::new(move |i, _a, _b| {
                let d = descs.description(i);
                let v = i + 20;
                vec![
                    format!("net vlan /Common/vlan{v} {{"),
                    format!("    description \"{d}\""),
                    "    interfaces {".into(),
                    format!("        1.{} {{ }}", i % 8 + 1),
                    "    }".into(),
                    format!("    tag {v}"),
                    "}".into(),
                ]
            })
        }
        // Gaia clish `show configuration`: a `#` header with the host, the
        // language version and who exported it when (oxidized
        // lib/oxidized/model/gaiaos.rb blanks the `# Exported by` line and
        // masks `password-hash`, `expert-password-hash` and the SNMP
        // community), then `set`/`add` commands by feature. Each block is
        // an interface with a free-text comment.
        Style::Gaia => {
            head.extend([
                "#".into(),
                format!("# Configuration of {h}"),
                "# Language version: 15.1v1".into(),
                "#".into(),
                vol(format!("# Exported by admin on {}", c.ctime())),
                "#".into(),
                "set installer policy check-for-updates-period 3".into(),
                "set installer policy periodically-self-update on".into(),
                "set snmp agent on".into(),
                "set snmp agent-version any".into(),
                format!("set snmp community {tok} read-only"),
                format!("set hostname {h}"),
                "set timezone Etc / GMT".into(),
                "set ntp active on".into(),
                "set ntp server primary 192.0.2.123 version 4".into(),
                format!("set expert-password-hash $6$Wm3ab${hash}"),
                "set user admin shell /etc/cli.sh".into(),
                format!("set user admin password-hash $6$Zq1cd${hash}"),
                "set web session-timeout 10".into(),
                "set web ssl-port 443".into(),
            ]);
            tail.extend([
                "set static-route default nexthop gateway address 10.0.0.1 on".into(),
                "set inactivity-timeout 10".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("set interface eth{} comments \"{d}\"", i + 1),
                    format!("set interface eth{} state on", i + 1),
                    format!(
                        "set interface eth{} ipv4-address 10.{a}.{b}.1 mask-length 24",
                        i + 1
                    ),
                ]
            })
        }
        // ArubaOS `show running-config`: `Building Configuration...`, the
        // `controller config <n>` counter every save moves (oxidized
        // lib/oxidized/model/aosw.rb drops both), `!`-separated
        // sections with their lines unindented, ending with `end`; the
        // management users' passwords are printed as stars, keys in clear
        // after `encrypt disable` (the capture spec/model/data
        // aosw#Aruba7210_8.10.0.7). Each block is a VLAN interface.
        Style::ArubaOs => {
            head.extend([
                vol("Building Configuration...".into()),
                "version 8.10".into(),
                vol(format!("controller config {}", 200 + st.counter)),
                format!("hostname \"{h}\""),
                "clock timezone UTC 0 0".into(),
                "!".into(),
                format!("snmp-server community \"{tok}\""),
                "mgmt-user admin root ********************".into(),
                "!".into(),
                "aaa authentication-server radius \"radius1\"".into(),
                "host \"192.0.2.14\"".into(),
                format!("key \"{tok}\""),
                "!".into(),
                "country DE".into(),
                "!".into(),
            ]);
            tail.extend(["!".into(), "end".into()]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface vlan {}", i + 2),
                    format!("ip address 10.{a}.{b}.1 255.255.255.0"),
                    format!("description \"{d}\""),
                    "!".into(),
                ]
            })
        }
        // Viptela `show running-config`: ConfD's indented blocks, one space
        // a level, each closed by `!` (oxidized lib/oxidized/model/viptela.rb
        // keeps the output whole and masks `password`, `secret-key`,
        // `auth-password`, `priv-password` and `community`). Each block is
        // a transport interface of VPN 0.
        Style::Viptela => {
            head.extend([
                "system".into(),
                format!(" host-name               {h}"),
                " system-ip               10.255.0.1".into(),
                " site-id                 100".into(),
                " organization-name       \"Example Org\"".into(),
                " clock timezone UTC".into(),
                " vbond 192.0.2.10".into(),
                " aaa".into(),
                "  auth-order local".into(),
                "  usergroup netadmin".into(),
                "  !".into(),
                "  user admin".into(),
                format!("   password $6${hash}"),
                "  !".into(),
                " !".into(),
                "!".into(),
                "policy".into(),
                format!(" access-list {ACL_NAME}"),
                "  default-action drop".into(),
                " !".into(),
                "!".into(),
                "snmp".into(),
                " no shutdown".into(),
                " view v2".into(),
                "  oid 1.3.6.1".into(),
                " !".into(),
                format!(" community {tok}"),
                "  view          v2".into(),
                "  authorization read-only".into(),
                " !".into(),
                "!".into(),
                "vpn 0".into(),
            ]);
            tail.extend([
                " ip route 0.0.0.0/0 10.0.0.1".into(),
                "!".into(),
                "vpn 512".into(),
                " interface eth0".into(),
                "  ip dhcp-client".into(),
                "  no shutdown".into(),
                " !".into(),
                "!".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!(" interface ge0/{i}"),
                    format!("  description \"{d}\""),
                    format!("  ip address 10.{a}.{b}.1/24"),
                    "  no shutdown".into(),
                    " !".into(),
                ]
            })
        }
        // FTD `show running-config`: the ASA engine's (LINA) configuration
        // under `NGFW Version`, `: ` comment lines at the top, the
        // checksum and `: end` at the bottom (oxidized
        // lib/oxidized/model/firelinuxos.rb drops the `: ` lines and masks
        // `enable password`, `username ... password`, pre-shared keys and
        // SNMP communities).
        Style::Ftd => {
            head.extend([
                ": Saved".into(),
                ":".into(),
                ": Serial Number: JMX2233X0AB".into(),
                ": Hardware:   FPR-2120, 13701 MB RAM, CPU MIPS 1200 MHz, 1 CPU (12 cores)".into(),
                ":".into(),
                "NGFW Version 7.2.5".into(),
                "!".into(),
                format!("hostname {h}"),
                format!("enable password {hash} encrypted"),
                "strong-encryption-disable".into(),
                "service-module 0 keepalive-timeout 4".into(),
                "names".into(),
                "no mac-address auto".into(),
                "!".into(),
            ]);
            tail.extend([
                "ftp mode passive".into(),
                "ngips conn-match vlan-id".into(),
                "tunnel-group 203.0.113.1 type ipsec-l2l".into(),
                "tunnel-group 203.0.113.1 ipsec-attributes".into(),
                format!(" ikev2 remote-authentication pre-shared-key {tok}"),
                format!("snmp-server host inside0 192.0.2.5 community {tok} version 2c"),
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
                    format!("interface Ethernet1/{}", i + 1),
                    format!(" description {d}"),
                    format!(" nameif inside{i}"),
                    " cts manual".into(),
                    "  propagate sgt preserve-untag".into(),
                    "  policy static sgt disabled trusted".into(),
                    " security-level 0".into(),
                    format!(" ip address 10.{a}.{b}.1 255.255.255.0"),
                    "!".into(),
                ]
            })
        }
        // ScreenOS `get config`: `Total Config size <n>:` (oxidized
        // lib/oxidized/model/screenos.rb drops that first line), then `set`
        // commands, virtual routers opened by `set vrouter` and closed by
        // `exit`; secrets quoted (oxidized screenos.rb masks the admin
        // password, `secret`, `password` and `preshare`). Each block is an
        // interface and an address-book entry, whose comment is free text.
        Style::ScreenOs => {
            head.extend([
                vol(format!("Total Config size {}:", 4000 + spec.lines * 37)),
                "set clock timezone 0".into(),
                "set vrouter trust-vr sharable".into(),
                "set vrouter \"untrust-vr\"".into(),
                "exit".into(),
                "set vrouter \"trust-vr\"".into(),
                "unset auto-route-export".into(),
                "exit".into(),
                "set auth-server \"Local\" id 0".into(),
                "set auth-server \"Local\" server-name \"Local\"".into(),
                "set admin name \"netscreen\"".into(),
                format!("set admin password \"nKVUM2{hash}\""),
                "set admin auth web timeout 10".into(),
                "set admin format dos".into(),
                "set zone \"Trust\" vrouter \"trust-vr\"".into(),
                "set zone \"Untrust\" vrouter \"trust-vr\"".into(),
            ]);
            tail.extend([
                format!("set hostname {h}"),
                format!("set snmp community \"{tok}\" Read-Only Trap-on version v2c"),
                "set ike gateway \"to-branch\" address 203.0.113.1 Main outgoing-interface \"ethernet0/0\" preshare \"".to_owned() + tok + "\" proposal \"pre-g2-aes128-sha\"",
                "set policy id 1 from \"Trust\" to \"Untrust\"  \"Any\" \"Any\" \"ANY\" permit".into(),
                "set policy id 1".into(),
                "exit".into(),
                "set vrouter \"trust-vr\"".into(),
                "set route 0.0.0.0/0 interface ethernet0/0 gateway 10.0.0.1".into(),
                "exit".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("set interface \"ethernet0/{i}\" zone \"Trust\""),
                    format!("set interface ethernet0/{i} ip 10.{a}.{b}.1/24"),
                    format!("set interface ethernet0/{i} route"),
                    format!("set address \"Trust\" \"net-{i}\" 10.{a}.{b}.0 255.255.255.0 \"{d}\""),
                ]
            })
        }
        // NetIron `show running-config`: `Current configuration:` (oxidized
        // lib/oxidized/model/ironware.rb drops it), `ver`, the line cards,
        // then `!`-separated blocks ending with `end`; VLAN port lists as
        // `ethe 1/1 to 1/8` (fakenos platforms_yaml/brocade_netiron.yaml's
        // `show running-config vlan`).
        Style::NetIron => {
            head.extend([
                vol("Current configuration:".into()),
                "!".into(),
                "ver V5.8.0fT183".into(),
                "module 1 cer-2024c-4x-dc-card".into(),
                "!".into(),
                "no spanning-tree".into(),
                "!".into(),
                "vlan 1 name DEFAULT-VLAN".into(),
                " no untagged ethe 1/1 to 1/24".into(),
                "!".into(),
                "aaa authentication login default local".into(),
                format!("enable super-user-password 8 $1$Xq2${hash}"),
                format!("hostname {h}"),
                format!("username admin password 8 $1$Tw3${hash}"),
                format!("snmp-server community 1 $U2FsdGVk{tok} ro"),
                "!".into(),
                "interface management 1".into(),
                " ip address 10.0.0.2/24".into(),
                " enable".into(),
                "!".into(),
            ]);
            tail.extend([
                "ip route 0.0.0.0/0 10.0.0.1".into(),
                "!".into(),
                "end".into(),
            ]);
            Box::new(move |i, a, b| {
                let d = descs.description(i);
                vec![
                    format!("interface ethernet 1/{}", i + 1),
                    format!(" port-name {d}"),
                    " enable".into(),
                    format!(" ip address 10.{a}.{b}.1/24"),
                    "!".into(),
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
            Style::AirOs => "snmp.location=",
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
        Style::EdgeSwitch | Style::ProSafe => (
            Slot::Head(after(head, "username \"admin\"")),
            each_user(&|u, h| vec![format!("username \"{u}\" password {h} level 15 encrypted")]),
            Slot::Tail(0),
            block(
                &[format!("ip access-list {ACL_NAME}").as_str()],
                seq(1)
                    .map(|(_, s, p)| format!("permit tcp host {s} any eq {p}"))
                    .collect(),
                &["exit", ""],
            ),
        ),
        Style::ArubaInstant => (
            Slot::Head(after(head, "hash-mgmt-user admin")),
            each_user(&|u, h| {
                vec![format!(
                    "hash-mgmt-user {u} password hash {h} usertype read-only"
                )]
            }),
            Slot::Head(head.len()),
            block(
                &[format!("wlan access-rule {ACL_NAME}").as_str(), " index 9"],
                seq(1)
                    .map(|(_, s, p)| format!(" rule {s} 255.255.255.255 match tcp {p} {p} permit"))
                    .collect(),
                &[""],
            ),
        ),
        // FOS's IP filter policy (`ipfilter --addrule`); the key spelling
        // in `configshow` is not in the sources.
        Style::FabricOs => (
            Slot::Tail(0),
            Vec::new(),
            Slot::Tail(0),
            block(
                &[format!("ipfilter.{ACL_NAME}.type:ipv4").as_str()],
                seq(1)
                    .map(|(n, s, p)| format!("ipfilter.{ACL_NAME}.rule.{n}:{s},tcp,{p},permit"))
                    .collect(),
                &[],
            ),
        ),
        // [`render`] sorts the lines, so where they go does not matter.
        // The firewall entries' key spelling is not in the sources.
        Style::AirOs => (
            Slot::Head(head.len()),
            users
                .iter()
                .enumerate()
                .flat_map(|(k, u)| {
                    let n = k + 2;
                    vec![
                        format!("users.{n}.name={u}"),
                        format!("users.{n}.password=$1$Zx4Qp7Lm${}", hash(u.as_str())),
                        format!("users.{n}.status=enabled"),
                    ]
                })
                .collect(),
            Slot::Head(head.len()),
            seq(1)
                .flat_map(|(n, s, p)| {
                    vec![
                        format!("iptables.{n}.cmd=-A FIREWALL -p tcp -s {s} --dport {p} -j ACCEPT"),
                        format!("iptables.{n}.comment={ACL_NAME}"),
                        format!("iptables.{n}.status=enabled"),
                    ]
                })
                .collect(),
        ),
        // ZyNOS's secured clients (`remote-management <index> start-addr
        // ... end-addr ... service ...`) name services, not ports.
        Style::ZyNos => (
            Slot::Head(after(head, "admin-password")),
            each_user(&|u, h| {
                vec![format!(
                    "logins username {u} password {h} cipher privilege 14"
                )]
            }),
            Slot::Tail(0),
            seq(1)
                .map(|(n, s, p)| {
                    let service = match p {
                        22 => "ssh",
                        443 => "https",
                        _ => "ssh https",
                    };
                    format!("remote-management {n} start-addr {s} end-addr {s} service {service}")
                })
                .collect(),
        ),
        // The ACL rule's syntax is not in the sources.
        Style::Saos => (
            Slot::Tail(after(tail, "user set user admin")),
            each_user(&|u, h| {
                vec![format!(
                    "user create user {u} access-level super secret $6$Pq8Rs2Tu${h}"
                )]
            }),
            Slot::Tail(after(tail, "! ACL RULE CONFIG:") + 1),
            seq(1)
                .map(|(n, s, p)| {
                    format!(
                        "access-list add profile {ACL_NAME} rule r{n} precedence {n} filter-action allow src-ip {s}/32 dst-port {p}"
                    )
                })
                .collect(),
        ),
        Style::JetStream => (
            Slot::Head(after(head, "user name admin")),
            each_user(&|u, h| vec![format!("user name {u} privilege admin secret 5 $1$J7e${h}")]),
            Slot::Tail(0),
            block(
                &[format!("access-list ip 500 name \"{ACL_NAME}\"").as_str()],
                seq(10)
                    .map(|(n, s, p)| {
                        format!(
                            "access-list ip 500 rule {n} permit logging disable sip {s} sip-mask 255.255.255.255 protocol 6 d-port {p} d-port-mask 65535"
                        )
                    })
                    .collect(),
                &["#"],
            ),
        ),
        Style::DlinkDs => (
            Slot::Head(after(head, "create account admin admin")),
            each_user(&|u, h| vec![format!("create account admin {u} encrypt sha_1 *@&{h}")]),
            Slot::Tail(0),
            block(
                &[
                    "",
                    "# ACL",
                    "",
                    format!("create access_profile profile_id 10 profile_name {ACL_NAME} ip source_ip_mask 255.255.255.255 tcp dst_port_mask 0xFFFF").as_str(),
                ],
                seq(1)
                    .map(|(n, s, p)| {
                        format!(
                            "config access_profile profile_id 10 add access_id {n} ip source_ip {s} tcp dst_port {p} port all permit"
                        )
                    })
                    .collect(),
                &[],
            ),
        ),
        Style::EdgeCos => (
            Slot::Head(after(head, "enable password level")),
            each_user(&|u, h| {
                vec![
                    format!("username {u} access-level 15"),
                    format!("username {u} password 7 {h}"),
                ]
            }),
            Slot::Tail(0),
            block(
                &[format!("access-list ip extended {ACL_NAME}").as_str()],
                seq(1)
                    .map(|(_, s, p)| format!(" permit tcp host {s} any destination-port {p}"))
                    .collect(),
                &["!"],
            ),
        ),
        // Added accounts after the admin's, `config.users.total` counting
        // them (printed by the generator); the management ACL as the trusted
        // networks the console server takes connections from.
        Style::Opengear => (
            Slot::Head(after(head, "config.users.user1.password")),
            users
                .iter()
                .zip(2..)
                .flat_map(|(u, n)| {
                    let key = format!("config.users.user{n}");
                    vec![
                        format!("{key}.username {u}"),
                        format!("{key}.groups.group1 admin"),
                        format!("{key}.groups.total 1"),
                        format!("{key}.password $1$Og7${}", hash(u)),
                    ]
                })
                .collect(),
            Slot::Tail(0),
            block(
                &[format!("config.trustednets.total {}", acl.len()).as_str()],
                seq(1)
                    .flat_map(|(n, s, p)| {
                        let key = format!("config.trustednets.trustednet{n}");
                        vec![
                            format!("{key}.address {s}"),
                            format!("{key}.netmask 255.255.255.255"),
                            format!("{key}.description {ACL_NAME} tcp/{p}"),
                        ]
                    })
                    .collect(),
                &[],
            ),
        ),
        // No accounts in NCLU's commands (`drift::max_users`).
        Style::CumulusNclu => (
            Slot::Tail(0),
            Vec::new(),
            Slot::Head(head.len()),
            seq(10)
                .map(|(n, s, p)| {
                    format!(
                        "net add acl ipv4 {ACL_NAME} priority {n} accept tcp source-ip {s}/32 source-port any dest-ip any dest-port {p}"
                    )
                })
                .collect(),
        ),
        // A user and its role under `scope security`; the management access
        // list as `ip-block`s under `scope services`, which name only the
        // https, snmp and ssh services (another port is shown as snmp).
        Style::Fxos => (
            Slot::Head(after(head, "     enable enforce-strong-password") - 1),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        format!("     enter local-user {u}"),
                        "         set account-status active".into(),
                                "         enter role admin".into(),
                        "         exit".into(),
                        "     exit".into(),
                    ]
                })
                .collect(),
            Slot::Head(after(head, "         enter ip-block 0.0.0.0 0 ssh") + 1),
            seq(1)
                .flat_map(|(_, s, p)| {
                    let service = match p {
                        22 => "ssh",
                        443 => "https",
                        _ => "snmp",
                    };
                    vec![
                        format!("         enter ip-block {s} 32 {service}"),
                        "         exit".into(),
                    ]
                })
                .collect(),
        ),
        Style::Ipos => (
            Slot::Head(after(head, " administrator admin")),
            each_user(&|u, h| vec![format!(" administrator {u} encrypted 1 $1$Xp7${h}")]),
            Slot::Tail(0),
            block(
                &[format!(" ip access-list {ACL_NAME}").as_str()],
                seq(10)
                    .map(|(n, s, p)| format!("  seq {n} permit tcp host {s} any eq {p}"))
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
        Style::PfSense | Style::OpnSense => {
            let tag = if style == Style::PfSense {
                "bcrypt-hash"
            } else {
                "password"
            };
            // pfSense's aliases keep their hosts on one line, space-separated.
            let hosts: Vec<String> = seq(1).map(|(_, s, _)| s.to_string()).collect();
            (
                Slot::Head(after(head, "\t\t</user>")),
                each_user(&|u, h| {
                    vec![
                        "\t\t<user>".into(),
                        format!("\t\t\t<name>{u}</name>"),
                        "\t\t\t<scope>user</scope>".into(),
                        "\t\t\t<groupname>admins</groupname>".into(),
                        format!("\t\t\t<{tag}>$2y$10${h}</{tag}>"),
                        "\t\t</user>".into(),
                    ]
                }),
                Slot::Tail(after(tail, "\t</snmpd>")),
                if hosts.is_empty() {
                    Vec::new()
                } else {
                    vec![
                        "\t<aliases>".into(),
                        "\t\t<alias>".into(),
                        format!("\t\t\t<name>{}</name>", ACL_NAME.replace('-', "_")),
                        "\t\t\t<type>host</type>".into(),
                        format!("\t\t\t<address>{}</address>", hosts.join(" ")),
                        "\t\t</alias>".into(),
                        "\t</aliases>".into(),
                    ]
                },
            )
        }
        Style::ApcNmc => (
            Slot::Head(after(head, "AdminPassword=")),
            each_user(&|u, h| {
                vec![
                    format!("User_{u}_Access=Administrator"),
                    format!("User_{u}_Password={h}"),
                ]
            }),
            Slot::Tail(tail.len()),
            seq(1)
                .map(|(n, s, _)| format!("AccessControl{}NMSIP={s}", n + 1))
                .collect(),
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
        Style::Voss => (
            Slot::Head(after(head, "snmp-server user admin")),
            each_user(&|u, h| vec![format!("snmp-server user {u} sha \"{h}\" aes \"{h}\"")]),
            Slot::Tail(0),
            block(
                &[
                    "#",
                    "# FILTER CONFIGURATION",
                    "#",
                    format!("filter acl 1 enable name \"{ACL_NAME}\"").as_str(),
                ],
                seq(1)
                    .flat_map(|(n, s, p)| {
                        vec![
                            format!("filter acl ace 1 {n}"),
                            format!("filter acl ace action 1 {n} permit"),
                            format!("filter acl ace ip 1 {n} src-ip eq {s}"),
                            format!("filter acl ace tcp 1 {n} dst-port eq {p}"),
                            format!("filter acl ace 1 {n} enable"),
                        ]
                    })
                    .collect(),
                &[],
            ),
        ),
        Style::Os6 => (
            Slot::Head(after(head, "username \"admin\"")),
            each_user(&|u, h| {
                vec![format!(
                    "username \"{u}\" password {h} privilege 15 encrypted"
                )]
            }),
            Slot::Head(head.len()),
            block(
                &[format!("ip access-list {ACL_NAME}").as_str()],
                seq(1)
                    .map(|(_, s, p)| format!("permit tcp host {s} any eq {p}"))
                    .collect(),
                &["exit"],
            ),
        ),
        Style::SonicOs => (
            Slot::Head(after(head, "user local")),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        format!("    user {u}"),
                        format!("        password 1,{}", hash(u)),
                        "        exit".into(),
                    ]
                })
                .collect(),
            Slot::Tail(0),
            seq(1)
                .flat_map(|(n, s, p)| {
                    vec![
                        format!("address-object ipv4 \"{ACL_NAME}-{n}\" host {s} zone LAN"),
                        format!(
                            "access-rule ipv4 from LAN to LAN action allow source address name \"{ACL_NAME}-{n}\" service name \"TCP {p}\""
                        ),
                    ]
                })
                .collect(),
        ),
        Style::Acos => (
            Slot::Head(after(head, "  privilege write")),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        format!("admin {u} password encrypted {}", hash(u)),
                        "  privilege write".into(),
                    ]
                })
                .collect(),
            Slot::Tail(0),
            block(
                &[format!("ip access-list {ACL_NAME}").as_str()],
                seq(10)
                    .map(|(n, s, p)| format!("  {n} permit tcp host {s} any eq {p}"))
                    .collect(),
                &["!"],
            ),
        ),
        Style::Fireware => (
            Slot::Head(after(head, "    </account>")),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        "    <account>".into(),
                        format!("      <name>{u}</name>"),
                        format!("      <password>{}</password>", hash(u)),
                        "      <role>Device Administrator</role>".into(),
                        "    </account>".into(),
                    ]
                })
                .collect(),
            Slot::Tail(1),
            block(
                &[
                    "  <address-group-list>",
                    "    <address-group>",
                    format!("      <name>{ACL_NAME}</name>").as_str(),
                ],
                seq(1)
                    .map(|(_, s, p)| {
                        format!("      <member><host-ip-addr>{s}</host-ip-addr><port>{p}</port></member>")
                    })
                    .collect(),
                &["    </address-group>", "  </address-group-list>"],
            ),
        ),
        Style::Onyx => (
            Slot::Tail(after(tail, "   username admin")),
            each_user(&|u, h| vec![format!("   username {u} password 7 $6${h}")]),
            Slot::Tail(0),
            block(
                &[
                    "",
                    "##",
                    "## ACL configuration",
                    "##",
                    format!("   ipv4 access-list {ACL_NAME}").as_str(),
                ],
                seq(10)
                    .map(|(n, s, p)| {
                        format!(
                            "   ipv4 access-list {ACL_NAME} seq-number {n} permit tcp {s} mask 255.255.255.255 any dest-port {p}"
                        )
                    })
                    .collect(),
                &[],
            ),
        ),
        Style::Sros => (
            Slot::Head(after(head, "            exit")),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        format!("            user \"{u}\""),
                        format!("                password \"$2y$10${}\"", hash(u)),
                        "                access console".into(),
                        "                console".into(),
                        "                    member \"administrative\"".into(),
                        "                exit".into(),
                        "            exit".into(),
                    ]
                })
                .collect(),
            Slot::Head(after(head, "                community") + 1),
            block(
                &["            management-access-filter", "                ip-filter"],
                seq(10)
                    .flat_map(|(n, s, p)| {
                        vec![
                            format!("                    entry {n}"),
                            format!("                        src-ip {s}/32"),
                            format!("                        dst-port {p} 65535"),
                            "                        action accept".into(),
                            "                    exit".into(),
                        ]
                    })
                    .collect(),
                &["                exit", "            exit"],
            ),
        ),
        Style::NetScaler => (
            Slot::Head(after(head, "set system user nsroot")),
            each_user(&|u, h| {
                vec![format!(
                    "add system user {u} {h} -encrypted -hashmethod SHA512"
                )]
            }),
            Slot::Tail(0),
            seq(1)
                .map(|(n, s, p)| {
                    format!(
                        "add ns acl {ACL_NAME}-{n} ALLOW -srcIP = {s} -destPort = {p} -protocol TCP"
                    )
                })
                .collect(),
        ),
        Style::Cumulus => (
            Slot::Tail(after(tail, "nv set system aaa user cumulus role")),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        format!(
                            "nv set system aaa user {u} hashed-password '$6${}'",
                            hash(u)
                        ),
                        format!("nv set system aaa user {u} role system-admin"),
                    ]
                })
                .collect(),
            Slot::Head(0),
            seq(10)
                .flat_map(|(n, s, p)| {
                    let rule = format!("nv set acl {ACL_NAME} rule {n}");
                    vec![
                        format!("{rule} action permit"),
                        format!("{rule} match ip source-ip {s}/32"),
                        format!("{rule} match ip tcp dest-port {p}"),
                    ]
                })
                .collect(),
        ),
        // No accounts in the snapshot (`drift::max_users`).
        Style::AlcatelAos => (
            Slot::Tail(0),
            Vec::new(),
            Slot::Tail(after(tail, "! Policy Manager:")),
            seq(1)
                .flat_map(|(n, s, p)| {
                    let name = format!("{ACL_NAME}-{n}");
                    vec![
                        format!(
                            "policy condition {name} source ip {s} mask 255.255.255.255 destination tcp-port {p}"
                        ),
                        format!("policy action {name} disposition accept"),
                        format!("policy rule {name} condition {name} action {name}"),
                    ]
                })
                .collect(),
        ),
        Style::SrosMd => (
            Slot::Head(after(head, "                    }")),
            users
                .iter()
                .flat_map(|u| {
                    vec![
                        format!("                    user \"{u}\" {{"),
                        format!("                        password \"$2y$10${}\"", hash(u)),
                        "                        access {".into(),
                        "                            console true".into(),
                        "                        }".into(),
                        "                    }".into(),
                    ]
                })
                .collect(),
            Slot::Head(after(head, "                    version v2c") + 2),
            block(
                &["            management-access-filter {", "                ip-filter {"],
                seq(10)
                    .flat_map(|(n, s, p)| {
                        vec![
                            format!("                    entry {n} {{"),
                            "                        action { accept }".into(),
                            format!(
                                "                        match {{ src-ip {{ address {s}/32 }} dst-port {{ port {p} }} }}"
                            ),
                            "                    }".into(),
                        ]
                    })
                    .collect(),
                &["                }", "            }"],
            ),
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
        Style::CiscoWlc => (
            // The controller prints every management user's password as
            // `****`.
            Slot::Head(after(head, "config mgmtuser add admin")),
            each_user(&|u, _| vec![format!("config mgmtuser add {u} **** read-write")]),
            Slot::Head(after(head, "config radius auth enable")),
            block(
                &[format!("config acl create {ACL_NAME}").as_str()],
                seq(1)
                    .flat_map(|(n, s, p)| {
                        vec![
                            format!("config acl rule add {ACL_NAME} {n}"),
                            format!("config acl rule action {ACL_NAME} {n} permit"),
                            format!("config acl rule protocol {ACL_NAME} {n} 6"),
                            format!(
                                "config acl rule source address {ACL_NAME} {n} {s} 255.255.255.255"
                            ),
                            format!("config acl rule destination port range {ACL_NAME} {n} {p} {p}"),
                        ]
                    })
                    .collect(),
                &[],
            ),
        ),
        Style::Tmos => (
            // After the admin's `auth user` block, in name order as tmsh
            // lists them.
            Slot::Head(after(head, "    shell tmsh") + 1),
            each_user(&|u, h| {
                vec![
                    format!("auth user {u} {{"),
                    format!("    encrypted-password $6$lJ1RPcT3${h}"),
                    "    partition-access {".into(),
                    "        all-partitions {".into(),
                    "            role admin".into(),
                    "        }".into(),
                    "    }".into(),
                    "    shell tmsh".into(),
                    "}".into(),
                ]
            }),
            // Packet filters sort before the self IPs.
            Slot::Head(head.iter().position(|l| l.starts_with("net self")).unwrap_or(head.len())),
            seq(10)
                .flat_map(|(n, s, p)| {
                    vec![
                        format!("net packet-filter /Common/{ACL_NAME}-{n} {{"),
                        "    action accept".into(),
                        format!("    order {n}"),
                        format!("    rule \"( src host {s} ) and ( dst port {p} )\""),
                        "}".into(),
                    ]
                })
                .collect(),
        ),
        Style::Gaia => (
            Slot::Head(after(head, "set user admin password-hash")),
            each_user(&|u, h| {
                vec![
                    format!("add user {u} uid 0 homedir /home/{u}"),
                    format!("set user {u} gid 100 shell /etc/cli.sh"),
                    format!("set user {u} password-hash $6$Zq1cd${h}"),
                    format!("add rba user {u} roles adminRole"),
                ]
            }),
            // Gaia's management access list: the hosts allowed to reach it.
            Slot::Head(after(head, "set web ssl-port")),
            block(
                &["delete allowed-client host any-host"],
                seq(1)
                    .map(|(_, s, _)| format!("add allowed-client host ipv4-address {s}"))
                    .collect(),
                &[],
            ),
        ),
        Style::ArubaOs => (
            // The controller prints every management user's password as
            // stars.
            Slot::Head(after(head, "mgmt-user admin")),
            each_user(&|u, _| vec![format!("mgmt-user {u} root ********************")]),
            Slot::Head(head.len()),
            block(
                &[format!("ip access-list session {ACL_NAME}").as_str()],
                seq(1)
                    .map(|(_, s, p)| format!("host {s} any tcp {p} permit"))
                    .collect(),
                &["!"],
            ),
        ),
        Style::Viptela => (
            // Inside `aaa`, after the admin's block.
            Slot::Head(after(head, "   password ") + 1),
            each_user(&|u, h| {
                vec![
                    format!("  user {u}"),
                    format!("   password $6${h}"),
                    "   group    netadmin".into(),
                    "  !".into(),
                ]
            }),
            // The management access list's sequences, before its default.
            Slot::Head(
                head.iter()
                    .position(|l| l == "  default-action drop")
                    .unwrap_or(head.len()),
            ),
            seq(10)
                    .flat_map(|(n, s, p)| {
                        vec![
                            format!("  sequence {n}"),
                            "   match".into(),
                            format!("    source-ip        {s}/32"),
                            format!("    destination-port {p}"),
                            "    protocol         6".into(),
                            "   !".into(),
                            "   action accept".into(),
                            "   !".into(),
                            "  !".into(),
                        ]
                    })
                    .collect(),
        ),
        Style::Ftd => (
            Slot::Head(after(head, "enable password")),
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
        Style::ScreenOs => (
            Slot::Head(after(head, "set admin password")),
            each_user(&|u, h| {
                vec![format!(
                    "set admin user \"{u}\" password \"nAbC{h}\" privilege \"all\""
                )]
            }),
            // The hosts the firewall may be managed from.
            Slot::Head(after(head, "set admin format")),
            seq(1)
                .map(|(_, s, _)| format!("set admin manager-ip {s} 255.255.255.255"))
                .collect(),
        ),
        Style::NetIron => (
            Slot::Head(after(head, "username admin")),
            each_user(&|u, h| vec![format!("username {u} password 8 $1$Tw3${h}")]),
            Slot::Tail(0),
            block(
                &[format!("ip access-list extended {ACL_NAME}").as_str()],
                seq(1)
                    .map(|(_, s, p)| format!(" permit tcp host {s} any eq {p}"))
                    .collect(),
                &["!"],
            ),
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

    const STYLES: [Style; 59] = [
        Style::Ios,
        Style::EdgeSwitch,
        Style::ArubaInstant,
        Style::FabricOs,
        Style::AirOs,
        Style::ZyNos,
        Style::Saos,
        Style::ProSafe,
        Style::JetStream,
        Style::DlinkDs,
        Style::EdgeCos,
        Style::Opengear,
        Style::CumulusNclu,
        Style::Fxos,
        Style::Ipos,
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
        Style::PfSense,
        Style::OpnSense,
        Style::ApcNmc,
        Style::ProCurve,
        Style::Os10,
        Style::Vyos,
        Style::Linux,
        Style::Voss,
        Style::Os6,
        Style::SonicOs,
        Style::Acos,
        Style::Fireware,
        Style::Onyx,
        Style::Sros,
        Style::NetScaler,
        Style::Cumulus,
        Style::AlcatelAos,
        Style::SrosMd,
        Style::AosCx,
        Style::Comware,
        Style::FastIron,
        Style::Exos,
        Style::Os9,
        Style::AwPlus,
        Style::CiscoSmb,
        Style::EdgeOs,
        Style::CiscoWlc,
        Style::Tmos,
        Style::Gaia,
        Style::ArubaOs,
        Style::Viptela,
        Style::Ftd,
        Style::ScreenOs,
        Style::NetIron,
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
        has(
            Style::Ipos,
            "! Configuration last changed by user 'admin' at Fri Mar  5 04:05:06 2027",
        );
        for style in [Style::EdgeSwitch, Style::ProSafe] {
            has(
                style,
                "!Current SNTP Synchronized Time: Mar  5 04:05:06 2027 UTC",
            );
        }
        // Fabric OS and SAOS print C's `ctime` (a configupload file's
        // `date = Mon Nov 12 11:21:58 2012`; a SAOS 6.18 capture's
        // `! Created: Fri Oct 13 20:21:17 2023`).
        has(Style::FabricOs, "date = Fri Mar  5 04:05:06 2027");
        has(Style::Saos, "! Created: Fri Mar  5 04:05:06 2027");
        // VOSS pads the day with a zero (a VSP-8404C capture:
        // `# Thu Aug 08 11:05:02 2024 EDT`).
        has(Style::Voss, "# Fri Mar 05 04:05:06 2027 UTC");
        has(Style::Onyx, "## Generated at 2027/03/05 04:05:06 +0000");
        has(Style::Sros, "# Generated FRI MAR 05 04:05:06 2027 UTC");
        has(Style::Sros, "# Finished FRI MAR 05 04:05:06 2027 UTC");
        has(
            Style::Acos,
            "!Configuration last updated at 04:05:06 UTC Fri Mar 5 2027",
        );
        // The leap day and the turn of the year.
        assert!(dated(Style::Junos, 1_835_438_400)[0].contains("2028-02-29 12:00:00"));
        assert!(dated(Style::Nxos, 1_798_761_600)[1].ends_with("Fri Jan  1 00:00:00 2027"));
        assert!(dated(Style::RouterOs, 1_798_761_599)[0].starts_with("# 2026-12-31 23:59:59"));
    }

    #[test]
    fn airos_keeps_its_system_cfg_sorted_whatever_was_edited() {
        // oxidized airos.rb reads the file through `sort`: the simulated
        // file is already in that order, drifts included.
        let lines = stable(Style::AirOs, &drifted(Style::AirOs, 24));
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
        assert!(lines.iter().all(|l| l.contains('=')), "{lines:#?}");
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
            Style::Voss,
            &[
                "snmp-server user jdoe sha \"",
                "filter acl 1 enable name \"MGMT-IN\"",
                "filter acl ace ip 1 1 src-ip eq 198.51.100.7",
                "filter acl ace tcp 1 1 dst-port eq 22",
                "name \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Os6,
            &[
                "username \"jdoe\" password ",
                "ip access-list MGMT-IN",
                "permit tcp host 198.51.100.7 any eq 22",
                "description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::SonicOs,
            &[
                "    user jdoe",
                "        password 1,",
                "address-object ipv4 \"MGMT-IN-1\" host 198.51.100.7 zone LAN",
                "    comment \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Fireware,
            &[
                "      <name>jdoe</name>",
                "      <password>",
                "      <name>MGMT-IN</name>",
                "      <member><host-ip-addr>198.51.100.7</host-ip-addr><port>22</port></member>",
                "      <description>uplink to core-sw2 CHG0004711</description>",
            ],
        );
        has(
            Style::Onyx,
            &[
                "   username jdoe password 7 $6$",
                "   ipv4 access-list MGMT-IN",
                "   ipv4 access-list MGMT-IN seq-number 10 permit tcp 198.51.100.7 mask 255.255.255.255 any dest-port 22",
                "   interface ethernet 1/2 description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Sros,
            &[
                "            user \"jdoe\"",
                "                password \"$2y$10$",
                "            management-access-filter",
                "                        src-ip 198.51.100.7/32",
                "                        dst-port 22 65535",
                "        description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::NetScaler,
            &[
                "add system user jdoe ",
                "add ns acl MGMT-IN-1 ALLOW -srcIP = 198.51.100.7 -destPort = 22 -protocol TCP",
                "set interface 1/2 -ifAlias \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Cumulus,
            &[
                "nv set system aaa user jdoe hashed-password '$6$",
                "nv set acl MGMT-IN rule 10 match ip source-ip 198.51.100.7/32",
                "nv set acl MGMT-IN rule 10 match ip tcp dest-port 22",
                "nv set interface swp2 description 'uplink to core-sw2 CHG0004711'",
            ],
        );
        has(
            Style::AlcatelAos,
            &[
                "policy condition MGMT-IN-1 source ip 198.51.100.7 mask 255.255.255.255 destination tcp-port 22",
                "policy rule MGMT-IN-1 condition MGMT-IN-1 action MGMT-IN-1",
                "interfaces 1/1/2 alias \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::SrosMd,
            &[
                "                    user \"jdoe\" {",
                "            management-access-filter {",
                "                        match { src-ip { address 198.51.100.7/32 } dst-port { port 22 } }",
                "        description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Acos,
            &[
                "admin jdoe password encrypted ",
                "ip access-list MGMT-IN",
                "  10 permit tcp host 198.51.100.7 any eq 22",
                "  name \"uplink to core-sw2 CHG0004711\"",
            ],
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
        for (style, port) in [(Style::EdgeSwitch, "0/2"), (Style::ProSafe, "1/0/2")] {
            has(
                style,
                &[
                    "username \"jdoe\" password ",
                    "ip access-list MGMT-IN",
                    "permit tcp host 198.51.100.7 any eq 22",
                    &format!("interface {port}"),
                    "description 'uplink to core-sw2 CHG0004711'",
                ],
            );
        }
        has(
            Style::ArubaInstant,
            &[
                "hash-mgmt-user jdoe password hash ",
                "wlan access-rule MGMT-IN",
                " rule 198.51.100.7 255.255.255.255 match tcp 22 22 permit",
                " essid uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::FabricOs,
            &[
                "ipfilter.MGMT-IN.type:ipv4",
                "ipfilter.MGMT-IN.rule.1:198.51.100.7,tcp,22,permit",
                "portName.1:uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::AirOs,
            &[
                "users.2.name=jdoe",
                "users.2.password=$1$",
                "iptables.1.cmd=-A FIREWALL -p tcp -s 198.51.100.7 --dport 22 -j ACCEPT",
                "route.2.comment=uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::ZyNos,
            &[
                "logins username jdoe password ",
                "remote-management 1 start-addr 198.51.100.7 end-addr 198.51.100.7 service ssh",
                "  name uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::Saos,
            &[
                "user create user jdoe access-level super secret $6$",
                "access-list add profile MGMT-IN rule r1 precedence 1 filter-action allow src-ip 198.51.100.7/32 dst-port 22",
                "port set port 2 max-frame-size 9216 description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Ipos,
            &[
                " administrator jdoe encrypted 1 $1$Xp7$",
                "  seq 10 permit tcp host 198.51.100.7 any eq 22",
                "  description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::DlinkDs,
            &[
                "create account admin jdoe encrypt sha_1 *@&",
                "config access_profile profile_id 10 add access_id 1 ip source_ip 198.51.100.7 tcp dst_port 22 port all permit",
                "config ports 1:2 description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::EdgeCos,
            &[
                "username jdoe access-level 15",
                "username jdoe password 7 ",
                "access-list ip extended MGMT-IN",
                " permit tcp host 198.51.100.7 any destination-port 22",
                " description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::Opengear,
            &[
                "config.users.total 2",
                "config.users.user2.username jdoe",
                "config.users.user2.password $1$",
                "config.trustednets.trustednet1.address 198.51.100.7",
                "config.ports.port2.label uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::CumulusNclu,
            &[
                "net add acl ipv4 MGMT-IN priority 10 accept tcp source-ip 198.51.100.7/32 source-port any dest-ip any dest-port 22",
                "net add interface swp2 alias uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::Fxos,
            &[
                "     enter local-user jdoe",
                "         enter ip-block 198.51.100.7 32 ssh",
                "             set user-label \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::JetStream,
            &[
                "user name jdoe privilege admin secret 5 $1$J7e$",
                "access-list ip 500 rule 10 permit logging disable sip 198.51.100.7 sip-mask 255.255.255.255 protocol 6 d-port 22 d-port-mask 65535",
                "  description \"uplink to core-sw2 CHG0004711\"",
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
        has(
            Style::PfSense,
            &[
                "\t\t\t<name>jdoe</name>",
                "\t\t\t<bcrypt-hash>$2y$10$",
                "\t\t\t<address>198.51.100.7</address>",
                "\t\t\t<descr><![CDATA[uplink to core-sw2 CHG0004711]]></descr>",
            ],
        );
        has(
            Style::OpnSense,
            &["\t\t\t<name>jdoe</name>", "\t\t\t<password>$2y$10$"],
        );
        has(
            Style::ApcNmc,
            &[
                "User_jdoe_Access=Administrator",
                "User_jdoe_Password=",
                "AccessControl2NMSIP=198.51.100.7",
                "Name=uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::CiscoWlc,
            &[
                "config mgmtuser add jdoe **** read-write",
                "config acl create MGMT-IN",
                "config acl rule source address MGMT-IN 1 198.51.100.7 255.255.255.255",
                "config acl rule destination port range MGMT-IN 1 22 22",
                "config ap location \"uplink to core-sw2 CHG0004711\" ap-001",
            ],
        );
        has(
            Style::Tmos,
            &[
                "auth user jdoe {",
                "    encrypted-password $6$",
                "net packet-filter /Common/MGMT-IN-10 {",
                "    rule \"( src host 198.51.100.7 ) and ( dst port 22 )\"",
                "    description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Gaia,
            &[
                "add user jdoe uid 0 homedir /home/jdoe",
                "set user jdoe password-hash $6$",
                "add allowed-client host ipv4-address 198.51.100.7",
                "set interface eth2 comments \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::ArubaOs,
            &[
                "mgmt-user jdoe root ********************",
                "ip access-list session MGMT-IN",
                "host 198.51.100.7 any tcp 22 permit",
                "description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Viptela,
            &[
                "  user jdoe",
                " access-list MGMT-IN",
                "    source-ip        198.51.100.7/32",
                "  description \"uplink to core-sw2 CHG0004711\"",
            ],
        );
        has(
            Style::Ftd,
            &[
                "username jdoe password ",
                "access-list MGMT-IN extended permit tcp host 198.51.100.7 any eq ssh",
                " description uplink to core-sw2 CHG0004711",
            ],
        );
        has(
            Style::ScreenOs,
            &[
                "set admin user \"jdoe\" password \"nAbC",
                "set admin manager-ip 198.51.100.7 255.255.255.255",
                "set address \"Trust\" \"net-1\" ",
            ],
        );
        has(
            Style::NetIron,
            &[
                "username jdoe password 8 ",
                "ip access-list extended MGMT-IN",
                " permit tcp host 198.51.100.7 any eq 22",
                " port-name uplink to core-sw2 CHG0004711",
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
            // AireOS and ArubaOS print a management user's password as
            // stars, FXOS not at all; an OmniSwitch keeps its users out of
            // the snapshot.
            let added = usize::from(
                drift::max_users(style) > 0
                    && !matches!(style, Style::CiscoWlc | Style::ArubaOs | Style::Fxos),
            );
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
