//! Platform personalities as data: how each simulated platform greets,
//! prompts, escalates, pages and prints its configuration.
//!
//! These are written from the platforms' documentation and captures, not
//! from the collector's drivers, so the two can disagree and tests catch it.

/// The shape of a platform's configuration text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Cisco IOS / IOS-XE.
    Ios,
    /// Ubiquiti EdgeSwitch (FASTPATH: `!`-commented header, blocks closed
    /// by `exit`, the whole inside `configure` ... `exit`).
    EdgeSwitch,
    /// HPE Aruba Instant (IAP) virtual controller: unindented commands,
    /// one-space indented profile blocks separated by blank lines.
    ArubaInstant,
    /// Brocade Fabric OS `configshow -all`: `[Section]` headers over
    /// `key:value` lines, between `[Configuration upload Information]` and
    /// `[Switch Configuration End : 0]`.
    FabricOs,
    /// Ubiquiti airOS `/tmp/system.cfg`: `key=value` lines in sorted order.
    AirOs,
    /// Zyxel ZyNOS switches (XGS/GS series): blocks indented by two
    /// spaces and closed by `exit`.
    ZyNos,
    /// Ciena SAOS 6 `configuration show`: `!`-commented sections of flat
    /// commands, no closing line.
    Saos,
    /// Netgear ProSAFE M-series (FASTPATH, as EdgeSwitch with unit/slot/port
    /// interfaces).
    ProSafe,
    /// TP-Link JetStream (`#`-separated, two-space indented blocks, `end`).
    JetStream,
    /// D-Link DES/DGS (`# SECTION` comments over flat commands, a ruled
    /// `End of configuration file` footer).
    DlinkDs,
    /// Edgecore (Accton) EdgeCOS: IOS-like, `!`-separated, ending with `end`.
    EdgeCos,
    /// Opengear console servers: `config -g config`, one `config.<key>
    /// <value>` line per setting.
    Opengear,
    /// NVIDIA Cumulus Linux 3/4 (NCLU): `net add` commands between `net del
    /// all` and `net commit`.
    CumulusNclu,
    /// Cisco Firepower 4100/9300 FXOS supervisor: `scope`/`enter` blocks of
    /// `set` lines closed by `exit`.
    Fxos,
    /// Ericsson IPOS / Redback SEOS (`config`, contexts, `end`).
    Ipos,
    /// Cisco NX-OS.
    Nxos,
    /// Cisco IOS XR.
    Iosxr,
    /// Cisco ASA.
    Asa,
    /// Arista EOS.
    Eos,
    /// Juniper Junos (curly braces).
    Junos,
    /// MikroTik RouterOS export.
    RouterOs,
    /// FortiOS `config`/`edit`/`set`.
    FortiOs,
    /// PAN-OS in `set` format.
    PanOs,
    /// PAN-OS's XML configuration file (the XML API's export).
    PanOsXml,
    /// Huawei VRP.
    Vrp,
    /// pfSense `config.xml` (root `<pfsense>`), read as a file.
    PfSense,
    /// OPNsense `config.xml` (root `<opnsense>`), read as a file.
    OpnSense,
    /// APC network management card `config.ini` (INI sections), read as a file.
    ApcNmc,
    /// HPE ProCurve.
    ProCurve,
    /// Dell OS10.
    Os10,
    /// VyOS `set` commands.
    Vyos,
    /// A Linux host's `/etc/network/interfaces`.
    Linux,
    /// Extreme VOSS (VSP): `#`-headed sections of ACLI commands under
    /// `config terminal`.
    Voss,
    /// Dell EMC Networking OS6 (N-series, PowerConnect heritage): a
    /// `configure` block whose sub-blocks close with `exit`.
    Os6,
    /// SonicWall SonicOS 6.5/7 CLI: indented blocks closed by `exit`,
    /// secrets written `<n>,<ciphertext>`.
    SonicOs,
    /// A10 Networks ACOS (Thunder/AX): `!`-headed, IOS-like, ending with
    /// `end` and the partition's commit point.
    Acos,
    /// WatchGuard Fireware: the XML configuration profile
    /// (`export config to console`).
    Fireware,
    /// NVIDIA (Mellanox) Onyx: `##`-headed sections of flat commands,
    /// indented by three spaces, ending with the prefix-mode setting.
    Onyx,
    /// Nokia SR OS classic CLI: `admin display-config`, `echo`-titled
    /// sections of indented contexts closed by `exit`, between the
    /// `# Generated` and `# Finished` lines.
    Sros,
    /// Citrix NetScaler (ADC): flat `set`/`add`/`bind` commands under a
    /// `#NS` header, closed by the CLI's ` Done`.
    NetScaler,
    /// NVIDIA Cumulus Linux 5 (NVUE): `nv set` commands, one per line.
    Cumulus,
    /// Alcatel-Lucent Enterprise OmniSwitch AOS 8: the configuration
    /// snapshot, one `! <Module>:` comment per module.
    AlcatelAos,
    /// Nokia SR OS model-driven CLI: `admin show configuration`, braces.
    SrosMd,
    /// HPE Aruba AOS-CX.
    AosCx,
    /// HPE Comware / H3C (`#`-separated sections ending with `return`).
    Comware,
    /// Ruckus (Brocade) ICX FastIron.
    FastIron,
    /// Extreme EXOS (`configure ...` commands by module).
    Exos,
    /// Dell OS9 / FTOS (Force10).
    Os9,
    /// Allied Telesis AlliedWare Plus.
    AwPlus,
    /// Cisco Small Business / CBS (`config-file-header`, blocks closed by `exit`).
    CiscoSmb,
    /// Ubiquiti EdgeOS `set` commands.
    EdgeOs,
    /// Cisco AireOS wireless LAN controllers (`show run-config commands`:
    /// one `config ...` command per line).
    CiscoWlc,
    /// F5 BIG-IP TMOS, tmsh `show running-config` (`module object { ... }`).
    Tmos,
    /// Check Point Gaia clish `show configuration` (`set`/`add` commands).
    Gaia,
    /// ArubaOS mobility controllers (`!`-separated, ending with `end`).
    ArubaOs,
    /// Cisco SD-WAN (Viptela) vEdge/vSmart, ConfD-style indented blocks
    /// closed by `!`.
    Viptela,
    /// Cisco Firepower Threat Defense: the ASA engine's configuration
    /// under an `NGFW Version` header.
    Ftd,
    /// Juniper (NetScreen) ScreenOS `get config`: `set` commands.
    ScreenOs,
    /// Brocade / Extreme NetIron (MLX, CER, CES): FastIron's family,
    /// `!`-separated blocks ending with `end`.
    NetIron,
}

/// How a platform ends the lines it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineBreaks {
    /// `\r\n`, as most platforms print over a PTY.
    CrLf,
    /// HP ProCurve / ArubaOS-Switch: VT100 screen control. Lines end with
    /// `ESC E` (NEL), runs of blank lines are `ESC [ n L` (insert lines),
    /// every screenful scrolls with `ESC[1M ESC[24;1H ESC[1L`, and the prompt
    /// is redrawn at the bottom row with `ESC[24;1H ESC[2K ... ESC[?25h`
    /// (netmiko base_connection.py `strip_ansi_escape_codes`: "HP does ESC-E",
    /// "Aruba and ProCurve switches can use code_insert_line for <enter>",
    /// `ESC[24;27H`, `ESC[?25h`, `ESC[2K`, `ESC[1;24r`; oxidized
    /// lib/oxidized/model/procurve.rb: prompt after `ESC[24;1H`, the
    /// `ESC[1M ESC[..H ESC[1L` next-line sequence).
    Vt100,
}

/// How a platform behaves on its CLI.
#[derive(Debug, Clone)]
pub struct Personality {
    /// Platform name, the same vocabulary as the collector's drivers.
    pub platform: &'static str,
    /// SSH identification string after `SSH-2.0-`.
    pub ssh_version: &'static str,
    /// Printed when the shell opens (MOTD), `\n` line ends.
    pub banner: &'static str,
    /// Waits for a key press before the first prompt (ProCurve).
    pub press_any_key: bool,
    /// Unprivileged prompt; `{host}` and `{user}` are replaced.
    pub prompt: &'static str,
    /// Privileged prompt when the platform has an `enable` step.
    pub privileged_prompt: Option<&'static str>,
    /// What the device says when enable is refused.
    pub enable_denied: &'static str,
    /// Commands that turn the pager off for the session. A `<n>` word is a
    /// number; the pager goes off when it is 0 (`terminal length 0`).
    pub pager_off: &'static [&'static str],
    /// Commands accepted with no other effect than their reply (`{n}` is the
    /// number given for `<n>`; an empty reply prints nothing).
    pub settings: &'static [(&'static str, &'static str)],
    /// Pager prompt shown after each page while the pager is on.
    pub pager_text: &'static str,
    /// The command that prints the configuration.
    pub config_command: &'static str,
    /// Output filters (`| ...`) that may follow the configuration command
    /// and change nothing in it.
    pub config_filters: &'static [&'static str],
    /// Other commands that print the configuration.
    pub config_aliases: &'static [&'static str],
    /// Other commands and their output (`{host}` is replaced).
    pub commands: &'static [(&'static str, &'static str)],
    /// Reply to an unknown command; `{cmd}` is the command, `{word}` its
    /// first unknown word, `{known}` the words before it.
    pub unknown_command: &'static str,
    /// Reply to an abbreviation that fits several commands (`{word}`).
    pub ambiguous_command: &'static str,
    /// Unique abbreviations of command words are accepted (`sh run`).
    pub abbreviations: bool,
    /// Commands that end the session.
    pub exit_commands: &'static [&'static str],
    /// Colours the prompt with ANSI escapes.
    pub ansi: bool,
    /// How printed lines end.
    pub line_breaks: LineBreaks,
    /// Configuration layout; which of its lines are volatile is decided
    /// where they are printed ([`crate::config::ConfigLine`]).
    pub style: Style,
}

/// Cisco-style pager and terminal commands: any length and width is
/// accepted, as on the devices (scrapli definitions/cisco_iosxe.yaml and
/// cisco_iosxr.yaml send `term width 512` and `term len 0`; netmiko sends
/// `terminal width 511`).
const CISCO_PAGER_OFF: &[&str] = &["terminal length <n>"];
const CISCO_SETTINGS: &[(&str, &str)] = &[("terminal width <n>", "")];

/// Words of the IOS-family exec command set besides the simulated ones
/// (Cisco IOS command reference, `?` at the exec prompt), so that an
/// abbreviation ambiguous on a device is ambiguous here too (`s`, `te`).
pub(crate) const CISCO_EXEC_WORDS: &[&str] = &[
    "clear",
    "clock",
    "configure",
    "connect",
    "copy",
    "debug",
    "dir",
    "disable",
    "disconnect",
    "enable",
    "exit",
    "logout",
    "more",
    "ping",
    "reload",
    "send",
    "set",
    "setup",
    "show",
    "ssh",
    "systat",
    "tclsh",
    "telnet",
    "terminal",
    "traceroute",
    "undebug",
    "verify",
    "write",
];

/// Every simulated platform.
pub static PERSONALITIES: &[Personality] = &[
    Personality {
        platform: "cisco_ios",
        ssh_version: "Cisco-1.25",
        banner: "\n**********************************\n* Authorized access only         *\n**********************************\n",
        press_any_key: false,
        prompt: "{host}>",
        privileged_prompt: Some("{host}#"),
        enable_denied: "% Access denied",
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        pager_text: " --More-- ",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "Cisco IOS XE Software, Version 17.03.04a\nROM: IOS-XE ROMMON\n",
        )],
        unknown_command: "% Invalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command:  \"{word}\"",
        abbreviations: true,
        exit_commands: &["exit", "logout", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Ios,
    },
    Personality {
        platform: "ubiquiti_edgeswitch",
        ssh_version: "OpenSSH_7.5",
        banner: "\n",
        press_any_key: false,
        // `(host) >`, then `(host) #` after `enable` and its password
        // (oxidized lib/oxidized/model/edgeswitch.rb prompt /\(.*\)\s[#>]/
        // and post_login `enable`; netmiko ubiquiti/edge_ssh.py enables
        // before anything else; fakenos platforms_yaml/ubiquiti_edgeswitch.yaml).
        prompt: "({host}) >",
        privileged_prompt: Some("({host}) #"),
        // The refusal's wording is in none of the sources above; clients
        // see the prompt stay at `>`.
        enable_denied: "% Incorrect password.",
        // `terminal length 0` (oxidized edgeswitch.rb; netmiko's
        // disable_paging), `terminal width 511` (netmiko set_terminal_width).
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        // FASTPATH's pager (oxidized lib/oxidized/model/netgear.rb expects
        // /^--More--(?: or \(q\)uit)?$/ on the same code base).
        pager_text: "--More-- or (q)uit",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        // fakenos ubiquiti_edgeswitch.yaml's `show version` capture.
        commands: &[(
            "show version",
            "\nSwitch: 1\n\nSystem Description............................. EdgeSwitch 24-Port 250W, 1.8.0.5106045, Linux 3.6.5-1b505fb7, 0.0.0.0000000\nMachine Type................................... EdgeSwitch 24-Port 250W\nMachine Model.................................. ES-24-250W\nSerial Number.................................. 788A20BE0E00\nSoftware Version............................... 1.8.0.5106045\n",
        )],
        unknown_command: "                                    ^\n% Invalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command \"{word}\"",
        abbreviations: false,
        // oxidized edgeswitch.rb leaves with `quit` (and answers `n` when
        // unsaved changes are offered for saving); netmiko sends `exit`.
        exit_commands: &["quit", "logout", "exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::EdgeSwitch,
    },
    Personality {
        platform: "aruba_instant",
        ssh_version: "OpenSSH_7.4",
        // The hint an IAP prints before its first prompt (oxidized
        // spec/model/data/arubainstant#IAP515_8.10.0.6_VWLC#simulation.yaml).
        banner: "\nshow tech-support and show tech-support supplemental are the two most useful outputs to collect for any kind of troubleshooting session.\n\n",
        press_any_key: false,
        // `host# `, the trailing space part of it (oxidized
        // lib/oxidized/model/arubainstant.rb prompt /^ ?[\w:.@-]+[#>] $/
        // and arubainstant#generic#prompt.yaml `AAAA-AP123456# `); the
        // administrator lands at `#`, no enable step.
        prompt: "{host}# ",
        privileged_prompt: None,
        enable_denied: "",
        // oxidized arubainstant.rb sends no pager command and its capture
        // reads every reply whole: nothing pages.
        pager_off: &[],
        settings: &[],
        pager_text: "",
        // `no-encrypt` prints the keys in clear, so a backup restores them
        // (oxidized arubainstant.rb).
        config_command: "show running-config no-encrypt",
        config_filters: &[],
        config_aliases: &[],
        // The IAP 515 capture's replies.
        commands: &[
            (
                "show version",
                "Aruba Operating System Software.\nArubaOS (MODEL: 515), Version 8.10.0.6 LSR\nWebsite: http://www.arubanetworks.com\n(c) Copyright 2023 Hewlett Packard Enterprise Development LP.\nCompiled on 2023-02-14 at 18:20:29 PST (build 86193) by jenkins\nFIPS Mode :disabled\n",
            ),
            (
                "show activate status",
                "\nIAP MAC Address          :54:d7:e3:00:11:22\nIAP Serial Number        :CNQHAAAAAM\nActivate Server          :device.arubanetworks.com\n",
            ),
        ],
        // The capture shows no refusal; the wording is ArubaOS's
        // (oxidized aosw.rb), assumed for the IAP's CLI.
        unknown_command: "              ^\n% Invalid input detected at '^' marker.",
        ambiguous_command: "% Parse error",
        abbreviations: false,
        // oxidized arubainstant.rb leaves with `exit`.
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::ArubaInstant,
    },
    Personality {
        platform: "brocade_fos",
        ssh_version: "OpenSSH_7.4",
        banner: "",
        press_any_key: false,
        // `switch:admin> `: the switch name and the user (oxidized
        // lib/oxidized/model/fabricos.rb prompt /^(\w+:+\w+>\s)$/; netmiko
        // brocade/brocade_fos_ssh.py waits for `>` and has no enable step).
        prompt: "{host}:{user}> ",
        privileged_prompt: None,
        enable_denied: "",
        // Neither oxidized nor netmiko turns a pager off: `configshow`
        // prints everything at once.
        pager_off: &[],
        settings: &[],
        pager_text: "",
        // oxidized fabricos.rb runs `configShow -all` (FOS's commands are
        // case-insensitive), on an exec channel as well as in the shell.
        config_command: "configshow -all",
        config_filters: &[],
        config_aliases: &["configShow -all"],
        commands: &[],
        // The FOS shell is a restricted bash.
        unknown_command: "rbash: {word}: command not found",
        ambiguous_command: "rbash: {word}: command not found",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::FabricOs,
    },
    Personality {
        platform: "ubiquiti_airos",
        // airOS runs Dropbear.
        ssh_version: "dropbear_2019.78",
        banner: "\n\nBusyBox v1.25.1 () built-in shell (ash)\nEnter 'help' for a list of built-in commands.\n\n",
        press_any_key: false,
        // BusyBox ash's `<board>.v<version># `, the same on every unit
        // (oxidized lib/oxidized/model/airos.rb prompt /^[^#]+# /).
        prompt: "WA.v8.7.11# ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "",
        // The configuration is the file `/tmp/system.cfg`; oxidized
        // airos.rb reads it through `sort` (so its order never matters),
        // on exec channels. The simulated file is kept in sorted order, so
        // `cat` and `sort` print the same.
        config_command: "cat /tmp/system.cfg",
        config_filters: &[],
        config_aliases: &["sort /tmp/system.cfg"],
        // oxidized airos.rb reads these two files as well.
        commands: &[
            (
                "cat /etc/board.info",
                "board.sysid=0xe7fa\nboard.name=NanoStation 5AC loco\nboard.shortname=LOCO5AC\nboard.hwaddr=F09FC2000001\nboard.netmodes=31\n",
            ),
            ("cat /etc/version", "WA.v8.7.11\n"),
        ],
        // BusyBox ash's refusal.
        unknown_command: "-sh: {word}: not found",
        ambiguous_command: "-sh: {word}: not found",
        abbreviations: false,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::AirOs,
    },
    Personality {
        platform: "zyxel_os",
        ssh_version: "OpenSSH_7.4",
        // ZyNOS greets with its copyright line before the first prompt
        // (oxidized lib/oxidized/model/zynos.rb waits past /^(Copyright .*)/).
        banner: "Copyright (c) 1994 - 2021 Zyxel Communications Corp.\n",
        press_any_key: false,
        // `XGS4600# ` followed by `ESC 7` (save cursor): oxidized
        // lib/oxidized/model/zynoscli.rb prompt /^([\w.@()-]+[#>]\s\e7)$/
        // and its `cmd :all` cutting everything up to `\e7`. The
        // administrator logs in at `#`.
        prompt: "{host}# \x1b7",
        privileged_prompt: None,
        enable_denied: "",
        // netmiko zyxel/zyxel_ssh.py: "No paging on Zyxel"; zynoscli.rb
        // answers no pager either.
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        // oxidized zynoscli.rb runs `show stacking` and `show version`.
        commands: &[(
            "show version",
            " Current ZyNOS version: V4.80(ABBH.3) | 12/14/2021\n",
        )],
        // The refusal's wording is not in the sources.
        unknown_command: "Invalid command: {cmd}",
        ambiguous_command: "Invalid command: {cmd}",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::ZyNos,
    },
    Personality {
        platform: "ciena_saos",
        ssh_version: "OpenSSH_6.6",
        banner: "\n",
        press_any_key: false,
        // `host> ` (a SAOS 6.18 capture ends with `va-wdst-att-cvs-ciena1> `;
        // oxidized lib/oxidized/model/saos.rb /^[\w-]+\*?>\s?/, `*` while
        // changes are unsaved; netmiko ciena/ciena_saos.py: no enable).
        prompt: "{host}> ",
        privileged_prompt: None,
        enable_denied: "",
        // netmiko ciena_saos.py sends `system shell session set more off`;
        // oxidized saos.rb sends it after `system shell set more off`.
        pager_off: &[
            "system shell session set more off",
            "system shell set more off",
        ],
        settings: &[],
        // The pager's wording is not in the sources; clients turn it off.
        pager_text: "--More--",
        config_command: "configuration show",
        config_filters: &[],
        config_aliases: &[],
        // fakenos platforms_yaml/ciena_saos.yaml's capture, its first part.
        commands: &[(
            "software show",
            "+------------------------------------------------------------------------------+\n| Installed Package   : saos-06-18-00-0183                                     |\n| Running Package     : saos-06-18-00-0183                                     |\n| Application Build   : 17502                                                  |\n| Running MIB Version : 04-18-00-0027                                          |\n| Release Status      : GA                                                     |\n+------------------------------------------------------------------------------+\n",
        )],
        // oxidized saos.rb ignores `SHELL PARSER FAILURE` lines; the rest
        // of the wording is not in the sources.
        unknown_command: "SHELL PARSER FAILURE: '{cmd}' - invalid input",
        ambiguous_command: "SHELL PARSER FAILURE: '{cmd}' - ambiguous input",
        abbreviations: false,
        // oxidized saos.rb leaves with `exit`.
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Saos,
    },
    Personality {
        platform: "netgear_prosafe",
        ssh_version: "OpenSSH_7.5",
        banner: "\n",
        press_any_key: false,
        // `(host) >` then `(host) #` after `enable` (oxidized
        // lib/oxidized/model/netgear.rb prompt /^\(?[\w \-+.]+\)? ?[#>] ?$/
        // and its spec/model/data/netgear#generic#prompt.yaml: `(GS748Tv4) #`;
        // netmiko netgear/netgear_prosafe_ssh.py: "ProSafe OS requires enable
        // mode to disable paging").
        prompt: "({host}) >",
        privileged_prompt: Some("({host}) #"),
        // As on EdgeSwitch, the wording is not in the sources.
        enable_denied: "% Incorrect password.",
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        pager_text: "--More-- or (q)uit",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        // oxidized netgear.rb runs `show version` and `show bootvar` too.
        commands: &[
            (
                "show version",
                "\nSwitch: 1\n\nSystem Description............................. M4300-52G ProSAFE 48-port 1G and 4-port 10G Stackable Managed Switch, 12.0.9.3, B1.0.0.17\nMachine Type................................... M4300-52G ProSAFE 48-port 1G and 4-port 10G Stackable Managed Switch\nMachine Model.................................. GSM4352S\nSerial Number.................................. 4VD1785FF0042\nPart Number.................................... 0x0012\nSoftware Version............................... 12.0.9.3\n",
            ),
            (
                "show bootvar",
                "\nImage Descriptions\n\n image1 : default image\n image2 :\n\n\n Images currently available on Flash\n\n--------------------------------------------------------------------\n unit      image1      image2     current-active        next-active\n--------------------------------------------------------------------\n\n    1    12.0.9.3    12.0.4.8              image1             image1\n",
            ),
        ],
        unknown_command: "                                    ^\n% Invalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command \"{word}\"",
        abbreviations: false,
        // oxidized netgear.rb: `quit`, then `n` to "Would you like to save
        // them now? (y/n)".
        exit_commands: &["quit", "logout", "exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::ProSafe,
    },
    Personality {
        platform: "tplink_jetstream",
        ssh_version: "OpenSSH_6.6",
        banner: "\n",
        press_any_key: false,
        // `host>` then `host#` after `enable` (oxidized
        // lib/oxidized/model/tplink.rb prompt /^\r?([\w.@()-]+[#>]\s?)$/ and
        // its spec/model/data/tplink#generic#prompt.yaml; netmiko
        // tplink/tplink_jetstream.py sends `enable`, then `enable-admin`).
        prompt: "{host}>",
        privileged_prompt: Some("{host}#"),
        enable_denied: "Error: Bad password.",
        pager_off: CISCO_PAGER_OFF,
        // netmiko sends `enable-admin` after `enable`; the switch accepts it
        // at the privileged prompt.
        settings: &[("enable-admin", "")],
        // oxidized tplink.rb answers /Press\s?any\s?key\s?to\s?continue\s?\(Q\s?to\s?quit\)/.
        pager_text: "Press any key to continue (Q to quit)",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        // oxidized tplink.rb runs `show system-info`; the shape follows its
        // spec/model/data/tplink#DS-P7001-08_1.0.0 capture.
        commands: &[(
            "show system-info",
            " System Description   - JetStream 24-Port Gigabit L2+ Managed Switch with 4 SFP Slots\n System Name          - {host}\n System Location      - Rack 4\n Contact Information  - noc@example.net\n Hardware Version     - T2600G-28TS 3.0\n Software Version     - 3.0.0 Build 20210914 Rel.53817\n Bootloader Version   - TP-LINK BOOTUTIL(v1.0.0)\n Mac Address          - 00-0A-EB-13-7C-00\n Serial Number        - 2193083000123\n System Time          - 2026-11-28 10:00:01\n Running Time         - 12 day - 3 hour - 4 min - 5 sec\n",
        )],
        // oxidized's tplink prompt spec lists `Error: Bad command` as output.
        unknown_command: "Error: Bad command",
        ambiguous_command: "Error: Bad command",
        abbreviations: false,
        // oxidized tplink.rb leaves with `exit` then `logout`.
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::JetStream,
    },
    Personality {
        platform: "dlink_ds",
        ssh_version: "OpenSSH_5.8",
        banner: "\n                   DGS-3120-24TC Gigabit Ethernet Switch\n                        Command Line Interface\n\n                       Firmware: Build 3.00.015\n          Copyright(C) 2012 D-Link Corporation. All rights reserved.\n\n",
        press_any_key: false,
        // `DGS-3120-24TC:admin#`: the switch's prompt string, a colon, the
        // account (oxidized lib/oxidized/model/dlink.rb prompt
        // /[\w.@()\/:-]+[#>]\s?$/; netmiko dlink/dlink_ds.py waits for `#`).
        // No enable step (netmiko's DlinkDS is NoEnable).
        prompt: "{host}:{user}#",
        privileged_prompt: None,
        enable_denied: "",
        // `disable clipaging` (oxidized dlink.rb post_login, netmiko
        // dlink_ds.py); netmiko turns it back on before `logout`. Every
        // reply opens with `Command: <command>` (fakenos
        // platforms_yaml/dlink_ds.yaml: "Command: disable clipaging ... Success.").
        pager_off: &["disable clipaging"],
        settings: &[
            (
                "disable clipaging",
                "Command: disable clipaging\n\nSuccess.",
            ),
            ("enable clipaging", "Command: enable clipaging\n\nSuccess."),
        ],
        pager_text: "CTRL+C ESC q Quit SPACE n Next Page ENTER Next Entry a All",
        config_command: "show config current_config",
        config_filters: &[],
        // oxidized dlink.rb runs `show config current`.
        config_aliases: &["show config current"],
        // oxidized dlink.rb runs `show switch` (and drops its uptime and
        // time lines) and `show vlan`.
        commands: &[(
            "show switch",
            "Command: show switch\n\nDevice Type                : DGS-3120-24TC Gigabit Ethernet Switch\nMAC Address                : 00-1E-58-A1-B2-C3\nIP Address                 : 192.0.2.20 (Manual)\nVLAN Name                  : default\nSubnet Mask                : 255.255.255.0\nDefault Gateway            : 192.0.2.1\nBoot PROM Version          : Build 1.00.012\nFirmware Version           : Build 3.00.015\nHardware Version           : A1\nSystem Name                : {host}\nSystem Time                : 28/11/2026 10:00:01\nSystem Uptime              : 12 days, 3 hours, 4 minutes, 5 seconds\n",
        )],
        unknown_command: "Available commands:\n..              ?               cable_diag      clear\nconfig          create          delete          dir\ndisable         download        enable          logout\nping            reboot          save            show\nupload",
        ambiguous_command: "Next possible completions:",
        abbreviations: false,
        exit_commands: &["logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::DlinkDs,
    },
    Personality {
        platform: "edgecore",
        ssh_version: "OpenSSH_5.2",
        // What EdgeCOS prints when a CLI session opens.
        banner: "\n      CLI session with the ECS4120-28Fv2-I is opened.\n      To end the CLI session, enter [Exit].\n\n",
        press_any_key: false,
        // `Console#`: the host name and `#`, an access-level-15 account
        // lands in privileged mode (oxidized lib/oxidized/model/edgecos.rb
        // keeps the default prompt /^([\w.@-]+[#>]\s?)$/ and sends `enable`
        // only when told to).
        prompt: "{host}#",
        privileged_prompt: None,
        enable_denied: "",
        // `terminal length 0` and `terminal width 300` (oxidized edgecos.rb
        // post_login).
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        // oxidized edgecos.rb answers /^---More---.*$/ (ES3526XA-V2).
        pager_text: "---More---",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        // oxidized edgecos.rb reads `show system` and `show version` too
        // (and drops their uptime and temperature lines).
        commands: &[(
            "show version",
            " Unit 1\n  Serial Number          : EC2011000123\n  Hardware Version       : R01\n  EPLD Version           : 0.05\n  Number of Ports        : 28\n  Main Power Status      : Up\n  Role                   : Master\n  Loader Version         : 1.0.0.5\n  Linux Kernel Version   : 2.6.22.18\n  Operation Code Version : 1.2.2.15\n",
        )],
        // oxidized edgecos.rb drops the refusal and its caret line.
        unknown_command: "                ^\n% Invalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command",
        abbreviations: false,
        exit_commands: &["exit", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::EdgeCos,
    },
    Personality {
        platform: "opengear",
        ssh_version: "OpenSSH_8.4",
        banner: "",
        press_any_key: false,
        // `$ ` (oxidized lib/oxidized/model/opengear.rb prompt /^(\$\s)$/):
        // the shell of an admin-group account.
        prompt: "$ ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "",
        // The whole configuration tree, one `config.<key> <value>` line per
        // setting (oxidized opengear.rb; Opengear's `config -s
        // '<key>=<value>'` sets one back).
        config_command: "config -g config",
        config_filters: &[],
        config_aliases: &[],
        // oxidized opengear.rb reads the firmware version and, on older
        // firmware, the serial number.
        commands: &[
            (
                "cat /etc/version",
                "OpenGear/IM72xx Version 4.13.6 4d1e3c8f -- Wed Sep 20 11:25:41 UTC 2023\n",
            ),
            ("showserial", "22071234567890\n"),
        ],
        // oxidized opengear.rb looks for "showserial: command not found".
        unknown_command: "-bash: {word}: command not found",
        ambiguous_command: "-bash: {word}: command not found",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Opengear,
    },
    Personality {
        platform: "cumulus_nclu",
        ssh_version: "OpenSSH_7.9p1 Debian-10+deb10u2",
        banner: "Linux {host} 4.19.0-cl-1-amd64 #1 SMP Cumulus 4.19.149-1+cl4.4u1 x86_64\n\nWelcome to NVIDIA Cumulus (R) Linux (R)\n",
        press_any_key: false,
        // As on Cumulus Linux 5 (oxidized lib/oxidized/model/cumulus.rb
        // prompt /^[\w.-]+@[\w.-]+(:mgmt)?:?~[#$] ?$/).
        prompt: "{user}@{host}:mgmt:~$ ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[("export PAGER=cat TERM=dumb", "")],
        pager_text: "",
        // NCLU's configuration as the commands that rebuild it (oxidized
        // cumulus.rb with cumulus_use_nclu).
        config_command: "net show configuration commands",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "net show system",
            "Cumulus VX\nCumulus Linux 4.4.5\nBuild: Cumulus Linux 4.4.5\nUptime: 12 days, 3:04:05\n\nHostname: {host}\n",
        )],
        unknown_command: "-bash: {word}: command not found",
        ambiguous_command: "-bash: {word}: command not found",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::CumulusNclu,
    },
    Personality {
        platform: "cisco_fxos",
        ssh_version: "OpenSSH_7.4",
        banner: "Cisco Firepower Extensible Operating System (FX-OS) Software\nTAC support: http://www.cisco.com/tac\nCopyright (c) 2009-2023, Cisco Systems, Inc. All rights reserved.\n\n",
        press_any_key: false,
        // `FPR9K-1-A#`: the system name and the fabric interconnect, `A`
        // (the FXOS CLI configuration guide's `Firepower-chassis#`; oxidized
        // lib/oxidized/model/ucs.rb /^(\r?[\w.@_()-]+\#\s?)$/ for the UCS
        // Manager CLI it derives from). No enable step.
        prompt: "{host}-A#",
        privileged_prompt: None,
        enable_denied: "",
        // `terminal length 0` (oxidized ucs.rb post_login).
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        pager_text: "--More--",
        config_command: "show configuration",
        // oxidized ucs.rb pipes it through `no-more`.
        config_filters: &["no-more"],
        config_aliases: &[],
        // oxidized ucs.rb reads `show version brief` and `show chassis
        // detail` beside the configuration.
        commands: &[(
            "show version brief",
            "Version: 2.12(0.498)\nStartup-Vers: 2.12(0.498)\n",
        )],
        unknown_command: "       ^\n% Invalid Command at '^' marker",
        ambiguous_command: "       ^\n% Ambiguous Command at '^' marker",
        abbreviations: false,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Fxos,
    },
    Personality {
        platform: "ericsson_ipos",
        ssh_version: "OpenSSH_7.4",
        banner: "\n",
        press_any_key: false,
        // `[context]host#` (oxidized lib/oxidized/model/ipos.rb prompt
        // /^([\[\]\w.@-]+[#:>]\s?)$/; fakenos platforms_yaml/ericsson_ipos.yaml);
        // an administrator lands in the privileged exec mode, and
        // oxidized's `enable` is optional.
        prompt: "[local]{host}#",
        privileged_prompt: None,
        enable_denied: "",
        // `terminal length 0` (oxidized ipos.rb) and `terminal width 512`
        // (netmiko ericsson/ericsson_ipos.py).
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        // Clients turn the pager off first; its text is not in the sources.
        pager_text: "--More--",
        config_command: "show configuration",
        config_filters: &[],
        config_aliases: &[],
        // oxidized ipos.rb runs `show release` beside the configuration.
        commands: &[(
            "show release",
            "------------------------------------------------------------------------\nInstalled releases\n------------------------------------------------------------------------\n  IPOS-v19.2.1.0.212-Release\n    Built by sysbuild@lxbld0123 on Mon Jun 21 12:00:00 2021\n    Image: /flash/IPOS-v19.2.1.0.212-Release\n",
        )],
        unknown_command: "% Invalid input at '^' marker.",
        ambiguous_command: "% Ambiguous command: \"{word}\"",
        abbreviations: false,
        // oxidized ipos.rb leaves with `exit` (and `n` to a save offer).
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Ipos,
    },
    Personality {
        platform: "cisco_nxos",
        ssh_version: "OpenSSH_8.3 PKIX[12.5.1]",
        banner: "Cisco Nexus Operating System (NX-OS) Software\nTAC support: http://www.cisco.com/tac\n",
        press_any_key: false,
        prompt: "{host}#",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        pager_text: "--More--",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        // What collection tools run beside the configuration (oxidized
        // lib/oxidized/model/nxos.rb: show version, show inventory; netmiko
        // and NAPALM: show module, dir bootflash:, show interface
        // transceiver). Formats from NX-OS captures in fakenos
        // platforms_yaml/cisco_nxos.yaml and oxidized spec/model/data/nxos#*.
        commands: &[
            (
                "show version",
                "Cisco Nexus Operating System (NX-OS) Software\nTAC support: http://www.cisco.com/tac\nCopyright (C) 2002-2021, Cisco and/or its affiliates.\nAll rights reserved.\n\nSoftware\n  BIOS: version 05.45\n  NXOS: version 9.3(8)\n  BIOS compile time:  05/17/2021\n  NXOS image file is: bootflash:///nxos.9.3.8.bin\n  NXOS compile time:  8/18/2021 11:00:00 [08/18/2021 20:53:37]\n\nHardware\n  cisco Nexus9000 C93180YC-FX Chassis\n  Intel(R) Xeon(R) CPU D-1528 @ 1.90GHz with 24632888 kB of memory.\n  Processor Board ID FDO23170MXY\n\n  Device name: {host}\n  bootflash:   53298520 kB\n\nKernel uptime is 12 day(s), 3 hour(s), 4 minute(s), 5 second(s)\n",
            ),
            (
                "show module",
                "Mod Ports             Module-Type                      Model           Status\n--- ----- ------------------------------------- --------------------- ---------\n1    54   48x10/25G + 6x40/100G Ethernet Module N9K-C93180YC-FX       active *\n\nMod  Sw                       Hw    Slot\n---  ----------------------- ------ ----\n1    9.3(8)                   1.0    NA\n\nMod  MAC-Address(es)                         Serial-Num\n---  --------------------------------------  ----------\n1    00-3a-9c-5a-00-00 to 00-3a-9c-5a-00-ff  FDO23170MXY\n\n* this terminal session\n",
            ),
            (
                "show inventory",
                "NAME: \"Chassis\",  DESCR: \"Nexus9000 C93180YC-FX Chassis\"\nPID: N9K-C93180YC-FX     ,  VID: V02 ,  SN: FDO23170MXY\n\nNAME: \"Slot 1\",  DESCR: \"48x10/25G + 6x40/100G Ethernet Module\"\nPID: N9K-C93180YC-FX     ,  VID: V02 ,  SN: FDO23170MXY\n\nNAME: \"Power Supply 1\",  DESCR: \"Nexus9000 C93180YC-FX Chassis Power Supply\"\nPID: NXA-PAC-650W-PE     ,  VID: V01 ,  SN: POG2321A1B2\n\nNAME: \"Fan 1\",  DESCR: \"Nexus9000 C93180YC-FX Chassis Fan Module\"\nPID: NXA-FAN-30CFM-F     ,  VID: V01 ,  SN: N/A\n\n",
            ),
            (
                "dir bootflash:",
                "       4096    Aug 18 21:11:23 2021  .rpmstore/\n       4096    Aug 18 21:12:02 2021  scripts/\n 1978203136    Aug 18 21:09:44 2021  nxos.9.3.8.bin\n\nUsage for bootflash://sup-local\n 4289175552 bytes used\n48812290048 bytes free\n53101465600 bytes total\n",
            ),
            (
                "show interface transceiver",
                "Ethernet1/1\n    transceiver is present\n    type is 10Gbase-SR\n    name is CISCO-FINISAR\n    part number is FTLX8571D3BCL-C2\n    revision is A\n    serial number is FNS17171A2B\n    nominal bitrate is 10300 MBit/sec\n    Link length supported for 50/125um OM3 fiber is 300 m\n    cisco id is 3\n    cisco extended id number is 4\n\nEthernet1/2\n    transceiver is not present\n\n",
            ),
        ],
        unknown_command: "% Invalid command at '^' marker.",
        ambiguous_command: "% Ambiguous command at '^' marker.",
        abbreviations: true,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Nxos,
    },
    Personality {
        platform: "cisco_iosxr",
        ssh_version: "Cisco-2.0",
        banner: "\n",
        press_any_key: false,
        prompt: "RP/0/RP0/CPU0:{host}#",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        pager_text: " --More-- ",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "% Invalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command:  \"{word}\"",
        abbreviations: true,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Iosxr,
    },
    Personality {
        platform: "cisco_asa",
        ssh_version: "Cisco-1.25",
        banner: "Type help or '?' for a list of available commands.\n",
        press_any_key: false,
        prompt: "{host}>",
        privileged_prompt: Some("{host}#"),
        enable_denied: "Invalid password",
        pager_off: &["terminal pager <n>"],
        settings: CISCO_SETTINGS,
        pager_text: "<--- More --->",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "ERROR: % Invalid input detected at '^' marker.",
        ambiguous_command: "ERROR: % Ambiguous command",
        abbreviations: true,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Asa,
    },
    Personality {
        platform: "arista_eos",
        ssh_version: "OpenSSH_8.7",
        banner: "Last login: Sat Nov 28 09:12:01 2026 from 10.0.0.9\n",
        press_any_key: false,
        prompt: "{host}>",
        privileged_prompt: Some("{host}#"),
        enable_denied: "% Access denied",
        pager_off: CISCO_PAGER_OFF,
        // EOS confirms both: netmiko arista/arista.py waits for "Width set
        // to" after `terminal width 511` and "Pagination disabled" after
        // `terminal length 0` (fakenos platforms_yaml/arista_eos.yaml prints
        // the same); the reply names the columns (issue #12, real EOS).
        settings: &[
            ("terminal width <n>", "Width set to {n} columns."),
            ("terminal length <n>", "Pagination disabled."),
        ],
        pager_text: " --More-- ",
        config_command: "show running-config",
        config_filters: &["no-more"],
        config_aliases: &[],
        commands: &[],
        unknown_command: "% Invalid input",
        ambiguous_command: "% Ambiguous command",
        abbreviations: true,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Eos,
    },
    Personality {
        platform: "juniper_junos",
        ssh_version: "OpenSSH_7.5",
        banner: "--- JUNOS 20.4R3.8 Kernel 64-bit  JNPR-12.1-20210529.6dbb1e8_buil\n",
        press_any_key: false,
        prompt: "{user}@{host}> ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &["set cli screen-length <n>"],
        // Junos confirms each CLI setting; netmiko juniper/juniper.py waits
        // for "Screen width set to", "Disabling complete-on-space" and
        // "Screen length set to" (fakenos juniper_junos.yaml: "Screen width
        // set to 511"). Any width is accepted.
        settings: &[
            ("set cli screen-width <n>", "Screen width set to {n}"),
            ("set cli screen-length <n>", "Screen length set to {n}"),
            (
                "set cli complete-on-space off",
                "Disabling complete-on-space",
            ),
        ],
        pager_text: "---(more)---",
        // A plain `show configuration` prints the whole configuration
        // (oxidized junos.rb runs `show configuration | display omit`,
        // netmiko users `show configuration`).
        config_command: "show configuration",
        config_filters: &["display omit", "no-more"],
        config_aliases: &[],
        commands: &[],
        unknown_command: "                   ^\nunknown command.",
        ambiguous_command: "                   ^\n'{word}' is ambiguous.",
        abbreviations: false,
        exit_commands: &["exit", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Junos,
    },
    Personality {
        platform: "mikrotik_routeros",
        ssh_version: "ROSSSH",
        banner: "\n\n  MMM      MMM       KKK                          TTTTTTTTTTT      KKK\n  MikroTik RouterOS 7.12.1 (c) 1999-2023       https://www.mikrotik.com/\n\n",
        press_any_key: false,
        prompt: "[{user}@{host}] > ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "-- [Q quit|D dump|down]",
        config_command: "/export",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "bad command name {word} (line 1 column 1)",
        ambiguous_command: "ambiguous command name {word} (line 1 column 1)",
        abbreviations: false,
        exit_commands: &["/quit", "quit"],
        ansi: true,
        line_breaks: LineBreaks::CrLf,
        style: Style::RouterOs,
    },
    Personality {
        platform: "fortinet_fortios",
        ssh_version: "xxxxxxx",
        banner: "",
        press_any_key: false,
        prompt: "{host} # ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "--More-- ",
        config_command: "show full-configuration",
        config_filters: &[],
        // `show` prints the configuration too (oxidized fortios.rb runs
        // `show`; the FortiGate capture in oxidized spec/model/data).
        config_aliases: &["show"],
        // `get system status` is what clients read the version from first
        // (netmiko fortinet/fortinet_ssh.py `get system status | grep
        // Version`, oxidized fortios.rb); the text follows oxidized
        // spec/model/data/fortigate#FortiGate-91G_7.4.7#simulation.yaml.
        commands: &[(
            "get system status",
            "Version: FortiGate-60F v7.0.12,build0523,230523 (GA.M)\nFirmware Signature: certified\nVirus-DB: 1.00000(2018-04-09 18:07)\nExtended DB: 1.00000(2018-04-09 18:07)\nIPS-DB: 6.00741(2015-12-01 02:30)\nIPS-ETDB: 0.00000(2001-01-01 00:00)\nAPP-DB: 6.00741(2015-12-01 02:30)\nSerial-Number: FGT60FTK20000000\nBIOS version: 05000006\nSystem Part-Number: P24287-03\nLog hard disk: Not available\nHostname: {host}\nPrivate Encryption: Disable\nOperation Mode: NAT\nCurrent virtual domain: root\nMax number of virtual domains: 10\nVirtual domains status: 1 in NAT mode, 0 in TP mode\nVirtual domain configuration: disable\nFIPS-CC mode: disable\nCurrent HA mode: standalone\nBranch point: 0523\nRelease Version Information: GA\nFortiOS x86-64: No\nSystem time: Sat Nov 28 10:00:01 2026\nLast reboot reason: warm reboot\n",
        )],
        unknown_command: "Unknown action 0\nCommand fail. Return code -1",
        ambiguous_command: "Ambiguous command\nCommand fail. Return code -1",
        abbreviations: false,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::FortiOs,
    },
    Personality {
        platform: "paloalto_panos",
        ssh_version: "OpenSSH_8.0",
        banner: "Last login: Sat Nov 28 09:00:00 2026 from 10.0.0.9\n\nNumber of failed attempts since last successful login: 0\n\n",
        press_any_key: false,
        prompt: "{user}@{host}> ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &["set cli pager off", "set cli config-output-format set"],
        // netmiko paloalto/paloalto_panos.py turns scripting mode on and sets
        // the width before anything else (scrapli paloalto_panos.yaml too).
        settings: &[
            ("set cli scripting-mode on", ""),
            ("set cli terminal width <n>", ""),
        ],
        pager_text: "lines 1-24 ",
        config_command: "show config running",
        config_filters: &[],
        config_aliases: &[],
        // netmiko reads `show system info` up to `operational-mode` before
        // the session is ready; the text follows fakenos
        // platforms_yaml/paloalto_panos.yaml (a PA-VM capture).
        commands: &[(
            "show system info",
            "\nhostname: {host}\nip-address: 10.0.0.90\nnetmask: 255.255.255.0\ndefault-gateway: 10.0.0.2\nipv6-address: unknown\nmac-address: 00:0c:29:6d:c6:7e\ntime: Sat Nov 28 10:00:01 2026\nuptime: 2 days, 2:38:49\nfamily: vm\nmodel: PA-VM\nserial: unknown\nsw-version: 10.1.9\napp-version: 8700-8026\nthreat-version: 0\nurl-filtering-version: 0000.00.00.000\nlogdb-version: 10.1.2\nplatform-family: vm\nvpn-disable-mode: off\nmulti-vsys: off\noperational-mode: normal\n\n",
        )],
        // PAN-OS names the word it does not know (scrapli
        // paloalto_panos.yaml failure_indicators: "Unknown command:",
        // "Invalid syntax.").
        unknown_command: "Unknown command: {word}",
        ambiguous_command: "Invalid syntax.",
        abbreviations: false,
        exit_commands: &["exit", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::PanOs,
    },
    // Served over HTTPS on the device's port instead of SSH ([`HttpsApi`]);
    // the CLI fields are never used.
    Personality {
        platform: "paloalto_panos_api",
        ssh_version: "",
        banner: "",
        press_any_key: false,
        prompt: "{user}@{host}> ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "",
        ambiguous_command: "",
        abbreviations: false,
        exit_commands: &[],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::PanOsXml,
    },
    Personality {
        platform: "fortinet_fortios_api",
        ssh_version: "",
        banner: "",
        press_any_key: false,
        prompt: "{host} # ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "",
        ambiguous_command: "",
        abbreviations: false,
        exit_commands: &[],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::FortiOs,
    },
    Personality {
        platform: "huawei_vrp",
        ssh_version: "HUAWEI-1.5",
        banner: "\nInfo: The max number of VTY users is 5, and the number\n      of current VTY users on line is 1.\n",
        press_any_key: false,
        prompt: "<{host}>",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &["screen-length 0 temporary"],
        settings: &[],
        pager_text: "  ---- More ----",
        config_command: "display current-configuration",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "Error: Unrecognized command found at '^' position.",
        ambiguous_command: "Error: Ambiguous command found at '^' position.",
        abbreviations: false,
        exit_commands: &["quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Vrp,
    },
    // pfSense: FreeBSD's OpenSSH serves the `sftp` subsystem and `scp`;
    // the configuration is /cf/conf/config.xml (/conf is a symlink to
    // /cf/conf; oxidized lib/oxidized/model/pfsense.rb runs `cat
    // /cf/conf/config.xml` over exec). A shell account lands in tcsh with
    // pfSense's `[version][user@host]/root: ` prompt.
    Personality {
        platform: "pfsense",
        ssh_version: "OpenSSH_9.6",
        banner: "",
        press_any_key: false,
        prompt: "[2.7.2-RELEASE][{user}@{host}]/root: ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "cat /cf/conf/config.xml",
        config_filters: &[],
        config_aliases: &["cat /conf/config.xml"],
        commands: &[("cat /etc/version", "2.7.2-RELEASE\n")],
        unknown_command: "{word}: Command not found.",
        ambiguous_command: "{word}: Command not found.",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::PfSense,
    },
    // OPNsense: /conf/config.xml (oxidized lib/oxidized/model/opnsense.rb
    // `cat /conf/config.xml`, "must enable SSH and password-based SSH
    // access"); FreeBSD's OpenSSH with sftp and scp.
    Personality {
        platform: "opnsense",
        ssh_version: "OpenSSH_9.7",
        banner: "",
        press_any_key: false,
        prompt: "root@{host}:~ # ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "cat /conf/config.xml",
        config_filters: &[],
        config_aliases: &[],
        commands: &[("opnsense-version", "OPNsense 24.7.9 (amd64)\n")],
        unknown_command: "{word}: Command not found.",
        ambiguous_command: "{word}: Command not found.",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::OpnSense,
    },
    // APC network management card (NMC2/NMC3): an `apc>` CLI over SSH,
    // and `config.ini` at the root of its file system, fetched with FTP
    // or SCP (oxidized lib/oxidized/model/apc_aos.rb reads `config.ini`;
    // the NMC user's guide transfers it with `scp`). The CLI cannot print
    // the configuration; it is a file only.
    Personality {
        platform: "apc_nmc",
        ssh_version: "cryptlib",
        banner: "\nSchneider Electric                      Network Management Card AOS      v6.9.6\n(c)Copyright 2020 All Rights Reserved   Smart-UPS APP                    v6.9.6\n-------------------------------------------------------------------------------\nName      : {host}                                      Date : 12/06/2026\n",
        press_any_key: false,
        prompt: "apc>",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "about",
            "Hardware Factory\n---------------\nModel Number:           AP9641\n",
        )],
        unknown_command: "E101: Command Not Found",
        ambiguous_command: "E101: Command Not Found",
        abbreviations: false,
        exit_commands: &["exit", "quit", "bye"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::ApcNmc,
    },
    Personality {
        platform: "hp_procurve",
        ssh_version: "OpenSSH_6.2",
        banner: "HP J9773A 2530-24G-PoEP Switch\nSoftware revision YA.16.10.0012\n\nPress any key to continue",
        press_any_key: true,
        // ProCurve never colours its prompt; it redraws it on the bottom row
        // (see LineBreaks::Vt100).
        prompt: "{host}> ",
        privileged_prompt: Some("{host}# "),
        enable_denied: "Invalid password",
        pager_off: &["no page"],
        // netmiko hp/hp_procurve.py sends `terminal width 511`.
        settings: &[("terminal width <n>", "")],
        pager_text: "-- MORE --, next page: Space, next line: Enter, quit: Control-C",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "Invalid input: {word}",
        ambiguous_command: "Ambiguous input: {word}",
        abbreviations: false,
        exit_commands: &["logout", "exit"],
        ansi: false,
        line_breaks: LineBreaks::Vt100,
        style: Style::ProCurve,
    },
    Personality {
        platform: "dell_os10",
        ssh_version: "OpenSSH_7.9p1 Debian-10+deb10u2",
        banner: "Dell EMC Networking OS10 Enterprise\n",
        press_any_key: false,
        prompt: "{host}# ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &["terminal length <n>"],
        settings: &[],
        pager_text: "--more--",
        config_command: "show running-configuration",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "% Error: Unrecognized command.",
        ambiguous_command: "% Error: Ambiguous command.",
        abbreviations: false,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Os10,
    },
    Personality {
        platform: "vyos",
        ssh_version: "OpenSSH_9.2p1 Debian-2+deb12u3",
        banner: "Welcome to VyOS!\n",
        press_any_key: false,
        prompt: "{user}@{host}:~$ ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &["set terminal length <n>"],
        settings: &[("set terminal width <n>", "")],
        pager_text: ":",
        config_command: "show configuration commands",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        // Indented by two spaces between blank lines, the unknown word in
        // brackets (an Ansible vyos_command failure log on GitHub:
        // "show interfacess\r\n\r\n  Invalid command: show [interfacess]\r\n\r\n").
        unknown_command: "\n  Invalid command: {known}[{word}]\n",
        ambiguous_command: "\n  Ambiguous command: {known}[{word}]\n",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Vyos,
    },
    Personality {
        platform: "linux",
        ssh_version: "OpenSSH_9.2p1 Debian-2+deb12u3",
        banner: "Linux {host} 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC x86_64\n",
        press_any_key: false,
        prompt: "{user}@{host}:~$ ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[("export PAGER=cat TERM=dumb", "")],
        pager_text: "",
        config_command: "cat /etc/network/interfaces",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        unknown_command: "-bash: {word}: command not found",
        ambiguous_command: "-bash: {word}: command not found",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Linux,
    },
    Personality {
        platform: "extreme_voss",
        ssh_version: "OpenSSH_7.9",
        banner: "\n  Copyright(c) 2010-2021 Extreme Networks.\n  All Rights Reserved.\n  VSP Operating System Software Build 8.1.0.0\n\n",
        press_any_key: false,
        // `host:1>` then `host:1#` after `enable`, no space after the
        // sign (oxidized lib/oxidized/model/voss.rb prompt
        // /^[^\s#>]+[#>]$/; netmiko extreme/extreme_vsp_ssh.py waits for
        // `[>#]`). The `1` is the slot of the CPU the session runs on.
        prompt: "{host}:1>",
        privileged_prompt: Some("{host}:1#"),
        // `enable` asks for no secret: the login's access level decides
        // (oxidized voss.rb sends a bare `enable` after login). See
        // `Personality::enable_asks_secret`.
        // What an account below read-write-all sees (no capture in the
        // sources above; the driver's `enable.failure` names it).
        enable_denied: "% Permission denied",
        // `terminal more disable` (netmiko extreme_vsp_ssh.py
        // disable_paging, oxidized voss.rb post_login).
        pager_off: &["terminal more disable"],
        settings: &[],
        pager_text: "----More (q=Quit, space/return=Continue)----",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show sys-info",
            "General Info :\n\n\tSysDescr     : VSP-4450GSX-PWR+ (8.1.0.0)\n\tSysName      : {host}\n\tSysUpTime    : 12 day(s), 03:04:05\n\tSysContact   : noc@example.net\n\tSysLocation  : rack 4\n",
        )],
        unknown_command: "                ^\n% Invalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command: \"{word}\"",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Voss,
    },
    Personality {
        platform: "dell_os6",
        ssh_version: "OpenSSH_7.4",
        banner: "\n",
        press_any_key: false,
        // `host>` then `host#` after `enable` and its secret (netmiko
        // dell/dell_dnos6.py: `[>#]`, `enable()`; oxidized
        // lib/oxidized/model/os6.rb sends `enable` and its secret).
        prompt: "{host}>",
        privileged_prompt: Some("{host}#"),
        // No capture of the refusal in the sources above: a text of the
        // platform's `% ` family, which the driver does not rely on.
        enable_denied: "% Incorrect password.",
        // `terminal length 0` (netmiko dell_dnos6.py, oxidized os6.rb);
        // netmiko also sets the width; PowerConnect heritage
        // `terminal datadump` is accepted (netmiko dell_powerconnect.py).
        pager_off: &["terminal length <n>", "terminal datadump"],
        settings: &[("terminal width <n>", "")],
        // oxidized lib/oxidized/model/powerconnect.rb answers
        // /\n\s*--More--\s+.*/.
        pager_text: "--More-- or (q)uit",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "Machine Description............... Dell EMC Networking Switch\nSystem Model ID................... N3048EP-ON\nMachine Type...................... Dell EMC Networking N3048EP-ON\nSerial Number..................... CN0XXXXX282980ABC12\nSystem Up Time.................... 12 days 03h:04m:05s\n\nunit active      backup      current-active next-active\n---- ----------- ----------- -------------- --------------\n1    6.7.1.20    6.6.3.10    6.7.1.20       6.7.1.20\n",
        )],
        // oxidized os6.rb removes `% Invalid input detected at '^'
        // marker.` and the caret line above it.
        unknown_command: "                ^\n% Invalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command.",
        abbreviations: false,
        exit_commands: &["exit", "logout", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Os6,
    },
    Personality {
        platform: "sonicwall_sonicos",
        ssh_version: "SonicWALL",
        banner: "Copyright (c) 2024 SonicWall\n\n",
        press_any_key: false,
        // `user@host> ` (oxidized lib/oxidized/model/sonicos.rb prompt
        // /^\w+@[\w-]+>\(?.+\)?\s?/, spec/model/data/sonicos#generic#prompt:
        // `admin@012345> `, `admin@host-with-minus> `).
        prompt: "{user}@{host}> ",
        privileged_prompt: None,
        enable_denied: "",
        // `no cli pager session` (oxidized sonicos.rb post_login; its
        // sonicos#snippets#simulation.yaml echoes it and prints nothing).
        pager_off: &["no cli pager session"],
        settings: &[],
        pager_text: "--MORE--",
        config_command: "show current-config",
        config_filters: &[],
        config_aliases: &[],
        // oxidized sonicos.rb reads `show version` and drops its
        // `system-time` and `system-uptime` lines (the uptime's shape from
        // its simulation file, issue 2699).
        commands: &[(
            "show version",
            "firmware-version \"SonicOS Enhanced 6.5.4.10-95n\"\nrom-version \"SonicROM 6.6.0.4\"\nmodel \"NSA 4650\"\nserial-number 0040103F1234\nsystem-time \"11/28/2026 10:00:01.000\"\nsystem-uptime \"1 Day, 23 Hours, 32 Minutes, 10 Seconds\"\n",
        )],
        unknown_command: "% Unknown command: {word}",
        ambiguous_command: "% Ambiguous command: {word}",
        abbreviations: false,
        exit_commands: &["exit", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::SonicOs,
    },
    Personality {
        platform: "a10_acos",
        ssh_version: "OpenSSH_7.4",
        banner: "ACOS system is ready now.\n\n[type ? for help]\n\n",
        press_any_key: false,
        // `host-Active>` then `host-Active#`: the VRRP-A state follows the
        // host name (oxidized lib/oxidized/model/acos.rb prompt
        // /^([-\w.\/:?\[\]()]+[#>]\s?)$/; netmiko a10/a10_ssh.py waits for
        // `[>#]` and runs `enable()` first: "A10 requires to be enable mode
        // to disable paging").
        prompt: "{host}-Active>",
        privileged_prompt: Some("{host}-Active#"),
        // No capture of the refusal in the sources above: a text of the
        // platform's `% ` family (the driver's `enable.failure` names it).
        enable_denied: "% Incorrect password",
        // `terminal length 0` (netmiko a10_ssh.py, oxidized acos.rb).
        pager_off: &["terminal length <n>"],
        settings: &[],
        pager_text: "--MORE--",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "Thunder Series Unified Application Service Gateway TH1030\n  Copyright 2007-2022 by A10 Networks, Inc.  All A10 Networks products are\n  protected by one or more of the following US patents:\n\n          64-bit Advanced Core OS (ACOS) version 5.2.1-p5, build 114 (Feb-10-2022,11:04)\n          Booted from Hard Disk primary image\n          Serial Number: TH10301234567890\n          Current time is Nov-28-2026, 10:00\n          The system has been up 12 days, 3 hours, 4 minutes\n",
        )],
        unknown_command: "                ^\n% Unrecognized command.\t\tInvalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command.",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Acos,
    },
    Personality {
        platform: "watchguard_fireware",
        ssh_version: "OpenSSH_7.4",
        banner: "--\n-- WatchGuard Fireware OS Version 12.10.3.B705293\n-- Support: https://www.watchguard.com/support\n-- Copyright (C) 1996-2024 WatchGuard Technologies Inc.\n--\n",
        press_any_key: false,
        // `WG#` for a Device Administrator, `WG>` read-only, whatever the
        // device's name; `[FAULT]` and `<managed-by-wsm><master>` may come
        // first (oxidized lib/oxidized/model/firewareos.rb prompt
        // /^\[?\w*\]?\w*?(?:<[\w-]+>)*(#|>)\s*$/ and
        // spec/model/data/firewareos#generic#prompt.yaml).
        prompt: "WG#",
        privileged_prompt: None,
        enable_denied: "",
        // No pager: neither oxidized firewareos.rb nor netmiko
        // watchguard/fireware_ssh.py turns one off.
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "export config to console",
        config_filters: &[],
        config_aliases: &[],
        // oxidized firewareos.rb reads `show sysinfo` and drops its time,
        // memory and CPU lines.
        commands: &[(
            "show sysinfo",
            "serial_number     : 80D1234567890\nsystem_name       : {host}\nmodel             : T40\nversion           : 12.10.3.B705293\nsystem_time       : 2026-11-28 10:00:01\nup_time           : 12 days 03:04\nmemory_usage      : 41%\ncpu_usage         : 3%\n",
        )],
        // No capture of the error in the sources above.
        unknown_command: "% Invalid command: {cmd}",
        ambiguous_command: "% Ambiguous command: {cmd}",
        abbreviations: false,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Fireware,
    },
    Personality {
        platform: "nvidia_onyx",
        ssh_version: "OpenSSH_7.4",
        // oxidized spec/model/data/mlnxos#Onyx_3.9.2504#simulation.yaml.
        banner: "Last login: Sat Nov 28 09:12:01 UTC 2026 from 10.0.0.9 on pts/0\nNumber of total successful connections since last 1 days: 12\n\nMellanox Switch\n\n",
        press_any_key: false,
        // `host [standalone: master] > `, `#` after `enable`, a space after
        // the sign (oxidized lib/oxidized/model/mlnxos.rb prompt
        // /^\r?\S* \[\S+: (master|standby)\] [#>] $/ and the Onyx 3.9.2504
        // capture above).
        prompt: "{host} [standalone: master] > ",
        privileged_prompt: Some("{host} [standalone: master] # "),
        // `enable` asks for no secret (the capture; netmiko
        // mellanox/mellanox_mlnxos_ssh.py sends none). See
        // `Personality::enable_asks_secret`. No capture of a refusal in
        // the sources above (the driver's `enable.failure` names it).
        enable_denied: "% Permission denied",
        // `no cli session paging enable` (oxidized mlnxos.rb, netmiko
        // mellanox_mlnxos_ssh.py disable_paging); netmiko's Cisco-style
        // session preparation sends `terminal width 511`.
        pager_off: &["no cli session paging enable"],
        settings: &[("terminal width <n>", "")],
        // oxidized mlnxos.rb: "lines 183-204 ", the last "lines 256-269/269 (END) ".
        pager_text: "lines 1-24 ",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "Product name:      Onyx\nProduct release:   3.9.2504\nBuild ID:          #1-dev\nBuild date:        2021-04-29 06:31:55\nTarget arch:       x86_64\nTarget hw:         x86_64\nVersion summary:   X86_64 3.9.2504 2021-04-29 06:31:55 x86_64\n\nProduct model:     x86onie\n\nUptime:            103d 15h 38m 24.640s\nCPU load averages: 0.03 / 0.06 / 0.07\nNumber of CPUs:    2\nSystem memory:     2792 MB used / 4997 MB free / 7789 MB total\n",
        )],
        // No capture of an error in the sources above.
        unknown_command: "% Unrecognized command \"{word}\".\nType \"?\" for help.",
        ambiguous_command: "% Ambiguous command \"{word}\".\nType \"?\" for help.",
        abbreviations: false,
        exit_commands: &["exit", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Onyx,
    },
    Personality {
        platform: "nokia_sros",
        ssh_version: "OpenSSH_7.4",
        banner: "\n\n",
        press_any_key: false,
        // `A:host# ` on the active CPM, `*` in front while the
        // configuration is unsaved (oxidized lib/oxidized/model/sros.rb
        // prompt /^([-\w.:>*]+\s?[#>]\s?)$/; netmiko nokia/nokia_sros.py
        // strips `*` and `>...` from it; no `@`: the classic CLI).
        prompt: "A:{host}# ",
        privileged_prompt: None,
        enable_denied: "",
        // `environment no more` (oxidized sros.rb post_login, netmiko
        // nokia_sros.py); netmiko also sends `//environment more false`,
        // which a node in mixed mode runs in its MD-CLI and answers with
        // nothing.
        pager_off: &["environment no more"],
        settings: &[("//environment more false", "")],
        pager_text: "Press any key to continue (Q to quit)",
        config_command: "admin display-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show system information",
            "\n===============================================================================\nSystem Information\n===============================================================================\nSystem Name            : {host}\nSystem Type            : 7750 SR-1\nChassis Topology       : Standalone\nSystem Version         : B-20.10.R1\nSystem Up Time         : 12 days, 03:04:05.67 (hr:min:sec)\n",
        )],
        unknown_command: "Error: Bad command.",
        ambiguous_command: "Error: Ambiguous command.",
        abbreviations: false,
        exit_commands: &["logout", "exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Sros,
    },
    Personality {
        platform: "citrix_netscaler",
        ssh_version: "OpenSSH_6.1",
        banner: "###############################################################################\n#                                                                             #\n#        WARNING: Access to this system is for authorized users only          #\n#                                                                             #\n###############################################################################\n\n",
        press_any_key: false,
        // ` > `: the CLI shows no host name by default (netmiko
        // citrix/netscaler_ssh.py: "Netscaler has only '>' for the prompt",
        // the base prompt empty; oxidized lib/oxidized/model/netscaler.rb
        // prompt /^(.*[\w.-]*>\s?)$/).
        prompt: " > ",
        privileged_prompt: None,
        enable_denied: "",
        // `set cli mode -page OFF` (netmiko netscaler_ssh.py); every
        // command that succeeds answers ` Done` (netmiko strips it from
        // the output's last line).
        pager_off: &["set cli mode -page OFF"],
        settings: &[("set cli mode -page OFF", " Done")],
        pager_text: "--More--",
        config_command: "show ns runningConfig",
        config_filters: &[],
        // The saved configuration prints in the same shape (oxidized
        // netscaler.rb runs `show ns ns.conf`).
        config_aliases: &["show ns ns.conf"],
        commands: &[(
            "show version",
            "\tNetScaler NS13.1: Build 49.13.nc, Date: Jul 10 2023, 07:54:55   (64-bit)\n Done\n",
        )],
        // No capture of the error in the sources above.
        unknown_command: "ERROR: No such command",
        ambiguous_command: "ERROR: Ambiguous command",
        abbreviations: false,
        exit_commands: &["exit", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::NetScaler,
    },
    Personality {
        platform: "cumulus_nvue",
        ssh_version: "OpenSSH_8.4p1 Debian-5+deb11u3",
        banner: "Linux {host} 5.10.0-cl-1-amd64 #1 SMP Debian 5.10.179-1+cl5.9.2u1 x86_64\n\nUNAUTHORIZED USE OF THIS SYSTEM IS STRICTLY PROHIBITED!\n",
        press_any_key: false,
        // `user@host:mgmt:~$ ` when logged in over the management VRF
        // (oxidized lib/oxidized/model/cumulus.rb prompt
        // /^[\w.-]+@[\w.-]+(:mgmt)?:?~[#$] ?$/ and
        // spec/model/data/cumulus#generic#prompt.yaml `cumulus@cumulus:mgmt:~$ `).
        prompt: "{user}@{host}:mgmt:~$ ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[("export PAGER=cat TERM=dumb", "")],
        pager_text: "",
        // NVUE's configuration as the commands that rebuild it (oxidized
        // cumulus.rb runs `nv config show --color off` with
        // cumulus_use_nvue; `-o commands` prints the same as `nv set` lines).
        config_command: "nv config show -o commands",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "nv show system",
            "                operational          applied\n--------------  -------------------  -------\nhostname        {host}               {host}\nbuild           Cumulus Linux 5.9.2\nuptime          12 days, 3:04:05\ntimezone        Etc/UTC\n",
        )],
        unknown_command: "-bash: {word}: command not found",
        ambiguous_command: "-bash: {word}: command not found",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Cumulus,
    },
    Personality {
        platform: "alcatel_aos",
        ssh_version: "OpenSSH_7.4",
        banner: "\nWelcome to the Alcatel-Lucent Enterprise OS6860E-24 8.7.354.R01 GA, December 08, 2020.\n\nCopyright(c), 1994-2020 ALE USA Inc. All Rights Reserved.\n\n",
        press_any_key: false,
        // `-> `, the default whatever the system name (oxidized
        // lib/oxidized/model/aos.rb has no prompt of its own: its default
        // /^([\w.@-]+[#>]\s?)$/ matches it; netmiko
        // alcatel/alcatel_aos_ssh.py: "Prompt can be anything, but best
        // practice is to end with > or #").
        prompt: "-> ",
        privileged_prompt: None,
        enable_denied: "",
        // No pager command in oxidized aos.rb or netmiko; the CLI pages
        // only with `more` asked for.
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "show configuration snapshot",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show system",
            "System:\n  Description:  Alcatel-Lucent Enterprise OS6860E-24 8.7.354.R01 GA, December 08, 2020.,\n  Object ID:    1.3.6.1.4.1.6486.801.1.1.2.1.11.1.5,\n  Up Time:      12 days 3 hours 4 minutes and 5 seconds,\n  Contact:      noc@example.net,\n  Name:         {host},\n",
        )],
        // No capture of the error in the sources above.
        unknown_command: "ERROR: Invalid entry: \"{word}\"",
        ambiguous_command: "ERROR: Ambiguous entry: \"{word}\"",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::AlcatelAos,
    },
    Personality {
        platform: "nokia_sros_md",
        ssh_version: "OpenSSH_7.4",
        banner: "\n\n",
        press_any_key: false,
        // The context `[/]` on its own line above `A:user@host# ` (netmiko
        // nokia/nokia_sros.py: "@" in the prompt "indicates model-driven
        // CLI"; oxidized lib/oxidized/model/srosmd.rb prompt
        // /^([-\w.@:>*]+\s?[#>]\s?)$/ matches the second line).
        prompt: "[/]\r\nA:{user}@{host}# ",
        privileged_prompt: None,
        enable_denied: "",
        // `environment more false` (netmiko nokia_sros.py for the MD-CLI,
        // which also turns completion on space off, widens the console and
        // sends the classic `//environment no more`).
        pager_off: &["environment more false"],
        settings: &[
            ("environment command-completion space false", ""),
            ("environment console width <n>", ""),
            ("//environment no more", ""),
        ],
        pager_text: "Press Q to quit, Enter to print next line or any other key to print next page.",
        config_command: "admin show configuration",
        config_filters: &[],
        config_aliases: &[],
        commands: &[],
        // No capture of the error in the sources above.
        unknown_command: "MINOR: CLI #2069: Unknown element - '{word}'",
        ambiguous_command: "MINOR: CLI #2070: Ambiguous element - '{word}'",
        abbreviations: false,
        exit_commands: &["logout", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::SrosMd,
    },
    Personality {
        platform: "aruba_aoscx",
        ssh_version: "OpenSSH_8.4",
        banner: "\nLast login: 2026-11-28 09:12:01 from 10.0.0.9\nUser \"admin\" has logged in 12 times in the past 30 days\n",
        press_any_key: false,
        // An administrator lands at the manager level, `host# ` (oxidized
        // lib/oxidized/model/aoscx.rb prompt /^[\w\s.-]+[#>] $/; the
        // spec/model/data/aoscx#6100-48G_PL.10.10.1090 capture: `TEST-SW1235# `).
        prompt: "{host}# ",
        privileged_prompt: None,
        enable_denied: "",
        // `no page` (netmiko aruba/aruba_aoscx.py, oxidized aoscx.rb);
        // the capture echoes it and prints nothing.
        pager_off: &["no page"],
        settings: &[],
        // The captures above never show the pager (every tool sends `no
        // page` first); the text here is ArubaOS-Switch's.
        pager_text: " -- MORE --, next page: Space, next line: Enter, quit: Control-C",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "-----------------------------------------------------------------------------\nArubaOS-CX\n(c) Copyright 2017-2023 Hewlett Packard Enterprise Development LP\n-----------------------------------------------------------------------------\nVersion      : PL.10.10.1090\nBuild Date   : 2023-10-03 19:00:03 UTC\nActive Image : primary\n",
        )],
        unknown_command: "Invalid input: {word}",
        ambiguous_command: "Ambiguous input: {word}",
        abbreviations: false,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::AosCx,
    },
    Personality {
        platform: "hp_comware",
        ssh_version: "Comware-7.1.064",
        banner: "\n******************************************************************************\n* Copyright (c) 2004-2021 New H3C Technologies Co., Ltd. All rights reserved.*\n* Without the owner's prior written consent,                                 *\n* no decompiling or reverse-engineering shall be allowed.                    *\n******************************************************************************\n\n",
        press_any_key: false,
        // User view `<host>` (oxidized lib/oxidized/model/comware.rb
        // prompt /^\0*(<[\w\s.-]+>...)/; netmiko hp/hp_comware.py waits for `>`).
        prompt: "<{host}>",
        privileged_prompt: None,
        enable_denied: "",
        // `screen-length disable` (oxidized comware.rb post_login, netmiko
        // hp_comware.py disable_paging); `undo terminal monitor` too.
        pager_off: &["screen-length disable"],
        settings: &[("undo terminal monitor", "")],
        pager_text: "  ---- More ----",
        config_command: "display current-configuration",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "display version",
            "H3C Comware Software, Version 7.1.064, Release 6635P07\nCopyright (c) 2004-2021 New H3C Technologies Co., Ltd. All rights reserved.\nH3C S6520X-30QC-EI uptime is 0 weeks, 2 days, 3 hours, 4 minutes\n",
        )],
        // The caret under the word, then the reason (H3C command references).
        unknown_command: "                     ^\n % Unrecognized command found at '^' position.",
        ambiguous_command: "                     ^\n % Ambiguous command found at '^' position.",
        abbreviations: false,
        exit_commands: &["quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Comware,
    },
    Personality {
        platform: "ruckus_fastiron",
        ssh_version: "RomSShell_4.62",
        banner: "\n",
        // `SSH@host>` then `SSH@host#` after `enable` (oxidized
        // lib/oxidized/model/ironware.rb prompt /^.*(telnet|ssh)\@.+[>#]\s?$/i;
        // spec/model/data/fastiron#ICX7150-48P_08.0.95: `SSH@ICX7150-48P# `).
        press_any_key: false,
        prompt: "SSH@{host}>",
        privileged_prompt: Some("SSH@{host}#"),
        // netmiko ruckus/ruckus_fastiron.py looks for `error.*incorrect.*password`.
        enable_denied: "Error - Incorrect username or password.",
        // `skip-page-display` (oxidized ironware.rb, netmiko ruckus_fastiron.py).
        pager_off: &["skip-page-display"],
        settings: &[("terminal length <n>", "")],
        pager_text: "--More--, next page: Space, next line: Return key, quit: Control-c",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "  Copyright (c) 2017 Ruckus Networks, Inc. All rights reserved.\n    UNIT 1: compiled on Oct 21 2020 at 02:22:14 labeled as SPS08095\n        SW: Version 08.0.95T211\n  HW: Stackable ICX7150-48P\n",
        )],
        // spec/model/data/fastiron#ICX7150-48P_08.0.95: `Invalid input ->
        // skip-page-display` / `Type ? for a list`.
        unknown_command: "Invalid input -> {cmd}\nType ? for a list",
        ambiguous_command: "Ambiguous input -> {cmd}\nType ? for a list",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::FastIron,
    },
    Personality {
        platform: "extreme_exos",
        ssh_version: "OpenSSH_7.4",
        banner: "\nExtremeXOS\nCopyright (C) 1996-2019 Extreme Networks. All rights reserved.\n\n",
        press_any_key: false,
        // `host.N # `, N counting the commands of the session (netmiko
        // extreme/extreme_exos.py set_base_prompt: "Extreme attaches an id to
        // the prompt. The id increases with every command"; oxidized
        // lib/oxidized/model/xos.rb prompt /...[\w\-.~]+\)?([.:]\d+)? [#>] $/).
        prompt: "{host}.{seq} # ",
        privileged_prompt: None,
        enable_denied: "",
        // `disable clipaging` and `disable cli prompting` (netmiko
        // extreme_exos.py session_preparation; oxidized xos.rb post_login).
        pager_off: &["disable clipaging"],
        settings: &[("disable cli prompting", "")],
        pager_text: "Press <SPACE> to continue or <Q> to quit:",
        config_command: "show configuration",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "Switch      : 800552-00-08 1827G-00123 Rev 8.0 BootROM: 2.0.1.7    IMG: 22.7.1.1\nImage   : ExtremeXOS version 22.7.1.1 by release-manager\n",
        )],
        unknown_command: "            ^\n%% Invalid input detected at '^' marker.",
        ambiguous_command: "%% Ambiguous command: \"{word}\"",
        abbreviations: false,
        exit_commands: &["exit", "logout", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Exos,
    },
    Personality {
        platform: "dell_os9",
        ssh_version: "OpenSSH_5.2 FTOS",
        banner: "\n",
        press_any_key: false,
        // Cisco-like `host>` / `host#` (netmiko dell/dell_force10_ssh.py
        // prompt_pattern r"[>#]"; oxidized lib/oxidized/model/ftos.rb sends
        // `enable` and its secret after login).
        prompt: "{host}>",
        privileged_prompt: Some("{host}#"),
        enable_denied: "% Error: Bad passwords",
        // `terminal length 0` and `terminal width 0` (oxidized ftos.rb).
        pager_off: CISCO_PAGER_OFF,
        settings: CISCO_SETTINGS,
        pager_text: " --More-- ",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "Dell Real Time Operating System Software\nDell Operating System Version:  2.0\nDell Application Software Version:  9.14(2.0)\nCopyright (c) 1999-2019 by Dell Inc. All Rights Reserved.\nSystem Type: S4048-ON\n",
        )],
        unknown_command: "% Error: Invalid input at \"^\" marker.",
        ambiguous_command: "% Error: Ambiguous command.",
        abbreviations: true,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Os9,
    },
    Personality {
        platform: "alliedtelesis_awplus",
        ssh_version: "OpenSSH_8.9",
        banner: "\nAlliedWare Plus (TM) 5.5.2 11/25/22 10:49:19\n\n",
        press_any_key: false,
        // `host>` then `host#` after `enable` (oxidized
        // lib/oxidized/model/awplus.rb prompt /^(\r?[\w.@:\/-]+[#>]\s?)$/ and
        // post_login 'enable'; netmiko allied_telesis_awplus.py).
        prompt: "{host}>",
        privileged_prompt: Some("{host}#"),
        enable_denied: "% Access denied",
        // `terminal length 0` (oxidized awplus.rb, netmiko's default).
        pager_off: CISCO_PAGER_OFF,
        settings: &[("terminal no length", "")],
        pager_text: " --More-- ",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show system",
            "Switch System Status                                   Sat Nov 28 10:00:01 2026\n\nBoard       ID  Bay   Board Name                         Rev   Serial number\n--------------------------------------------------------------------------------\nBase       434        x530L-28GTX                         A-0   A25RC8001\n",
        )],
        unknown_command: "% Invalid input detected at '^' marker.",
        ambiguous_command: "% Ambiguous command:  \"{cmd}\"",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::AwPlus,
    },
    Personality {
        platform: "cisco_smb",
        ssh_version: "OpenSSH_7.3",
        banner: "\n",
        press_any_key: false,
        // After the SSH login the switch asks `User Name:` and `Password:`
        // in band unless `ip ssh password-auth` is configured (netmiko
        // cisco/cisco_s300.py: "must configure the following to disable
        // SG300 from prompting for username twice"; oxidized
        // lib/oxidized/model/ciscosmb.rb answers /^User ?[nN]ame:/ and
        // /^\r?Password:$/ over SSH too). See `Personality::inband_login`.
        prompt: "{host}#",
        privileged_prompt: None,
        enable_denied: "",
        // `terminal datadump` turns the pager off (oxidized ciscosmb.rb,
        // netmiko cisco_s300.py); widths are accepted.
        pager_off: &["terminal datadump", "terminal length <n>"],
        settings: &[("terminal width <n>", "")],
        pager_text: "More: <space>,  Quit: q or CTRL+Z, One line: <return> ",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "Active-image: flash://system/images/image_cbs_ros_3.0.0.69_release_cbs.bin\n  Version: 3.0.0.69\n  Commit: 2d9e3b21\n  MD5 Digest: 6f8d2a9c0b1e4f3a5d7c9b8a0e1f2d3c\n",
        )],
        unknown_command: "      ^\n% Unrecognized command",
        ambiguous_command: "% Ambiguous command",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::CiscoSmb,
    },
    Personality {
        platform: "ubiquiti_edgeos",
        ssh_version: "OpenSSH_7.4p1 Debian-10+deb9u7",
        banner: "Welcome to EdgeOS\n\nBy logging in, accessing, or using the Ubiquiti product, you\nacknowledge that you have read and understood the Ubiquiti\nLicense Agreement (available in the Web UI at, by default,\nhttp://192.168.1.1) and agree to be bound by its terms.\n\n",
        press_any_key: false,
        // `user@host:~$ ` (oxidized lib/oxidized/model/edgeos.rb prompt
        // /\@.*?\:~\$\s/).
        prompt: "{user}@{host}:~$ ",
        privileged_prompt: None,
        enable_denied: "",
        // netmiko ubiquiti/edgerouter_ssh.py: `terminal length 0` and
        // `terminal width 512`.
        pager_off: &["terminal length <n>"],
        settings: &[("terminal width <n>", "")],
        pager_text: ":",
        config_command: "show configuration commands",
        // oxidized edgeos.rb runs `show configuration commands | no-more`.
        config_filters: &["no-more"],
        config_aliases: &[],
        commands: &[(
            "show version",
            "Version:      v2.0.9-hotfix.7\nBuild ID:     5619677\nBuild on:     05/30/23 14:15\nCopyright:    2012-2023 Ubiquiti Inc.\nHW model:     EdgeRouter 4\n",
        )],
        // Vyatta's operational mode, as on VyOS.
        unknown_command: "\n  Invalid command: {known}[{word}]\n",
        ambiguous_command: "\n  Ambiguous command: {known}[{word}]\n",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::EdgeOs,
    },
    Personality {
        platform: "cisco_wlc",
        // What nmap and ssh-keyscan read from AireOS controllers.
        ssh_version: "CISCO_WLC",
        // The controller's own login follows the SSH one: `(Cisco
        // Controller)`, then `User:` and `Password:` in band (netmiko
        // cisco/cisco_wlc_ssh.py special_login_handler: "WLC presents with
        // the following on login ... (Cisco Controller) User: ...
        // Password:"; oxidized lib/oxidized/model/aireos.rb answers
        // /^User:\s*/ and /^Password:\s*/ over SSH too). See
        // `Personality::inband_login`.
        banner: "\n(Cisco Controller)\n",
        press_any_key: false,
        // `(system name) >` (oxidized aireos.rb prompt /^\([^)]+\)\s>/;
        // netmiko cisco_wlc_ssh.py prompt_pattern `[>#]\s*$`).
        prompt: "({host}) >",
        privileged_prompt: None,
        enable_denied: "",
        // `config paging disable` (oxidized aireos.rb post_login, netmiko
        // cisco_wlc_ssh.py session_preparation); it prints nothing.
        pager_off: &["config paging disable"],
        settings: &[("config paging enable", "")],
        pager_text: "--More-- or (q)uit",
        config_command: "show run-config commands",
        config_filters: &[],
        config_aliases: &[],
        // oxidized aireos.rb also runs `show udi` and `show boot`; netmiko
        // users read `show sysinfo` first.
        commands: &[
            (
                "show sysinfo",
                "Manufacturer's Name.............................. Cisco Systems Inc.\nProduct Name..................................... Cisco Controller\nProduct Version.................................. 8.10.185.0\nSystem Name...................................... {host}\n",
            ),
            (
                "show udi",
                "Name : \"Chassis\"   , Desc : \"Cisco 3504 Wireless Controller\"\nPID : AIR-CT3504-K9, VID : V01, SN : FCW2233M0AB\n",
            ),
            (
                "show boot",
                "Primary Boot Image............................... 8.10.185.0 (active)\nBackup Boot Image................................ 8.10.151.0\n",
            ),
        ],
        unknown_command: "\nIncorrect usage. Use the '?' or <TAB> key to list commands.",
        ambiguous_command: "\nIncorrect usage. Use the '?' or <TAB> key to list commands.",
        abbreviations: false,
        // `logout` ends the session (oxidized aireos.rb pre_logout,
        // netmiko cisco_wlc_ssh.py cleanup).
        exit_commands: &["logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::CiscoWlc,
    },
    Personality {
        platform: "f5_tmos",
        ssh_version: "OpenSSH_7.4",
        banner: "Last login: Sat Nov 28 09:12:01 2026 from 10.0.0.9\n",
        press_any_key: false,
        // A user whose shell is tmsh lands in it: `user@(host)(cfg-sync
        // state)(failover state)(/partition)(tmos)# ` (netmiko
        // f5/f5_tmsh_ssh.py waits for `tmos.*#`).
        prompt: "{user}@({host})(cfg-sync Standalone)(Active)(/Common)(tmos)# ",
        privileged_prompt: None,
        enable_denied: "",
        // netmiko f5_tmsh_ssh.py session_preparation: `modify cli
        // preference pager disabled display-threshold 0`, and the terminal
        // width through `run /util bash -c "stty cols 255"`.
        pager_off: &["modify cli preference pager disabled display-threshold <n>"],
        settings: &[("run /util bash -c \"stty cols 255\"", "")],
        pager_text: "---(less 50%)---",
        config_command: "show running-config",
        config_filters: &[],
        // `list` prints the same objects (oxidized lib/oxidized/model/tmos.rb
        // runs `tmsh -q list`).
        config_aliases: &["list"],
        commands: &[(
            "show sys version",
            "\nSys::Version\nMain Package\n  Product     BIG-IP\n  Version     17.1.1.3\n  Build       0.0.5\n  Edition     Point Release 3\n  Date        Mon Mar 25 09:27:47 PDT 2024\n\n",
        )],
        // tmsh names the word it does not know.
        unknown_command: "Syntax Error: \"{word}\" unknown property",
        ambiguous_command: "Syntax Error: \"{word}\" is ambiguous",
        abbreviations: false,
        // `quit` leaves tmsh, which ends a tmsh-shell login (netmiko
        // f5_tmsh_ssh.py exit_tmsh).
        exit_commands: &["quit", "exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Tmos,
    },
    // The same BIG-IP seen by an account whose shell is the advanced shell
    // (bash), which SFTP and SCP need (F5 K13132's UCS backups are run as
    // such a user): exec channels run `tmsh ...` commands, and `tmsh save
    // /sys ucs <name>` writes the UCS archive that is then fetched
    // (`crate::ucs`). Its configuration is f5_tmos's.
    Personality {
        platform: "f5_tmos_ucs",
        ssh_version: "OpenSSH_7.4",
        banner: "Last login: Sat Nov 28 09:12:01 2026 from 10.0.0.9\n",
        press_any_key: false,
        // bash's prompt on BIG-IP: `[user@host:failover state:sync
        // state] directory # `.
        prompt: "[{user}@{host}:Active:Standalone] ~ # ",
        privileged_prompt: None,
        enable_denied: "",
        pager_off: &[],
        settings: &[],
        pager_text: "",
        config_command: "tmsh show running-config",
        config_filters: &[],
        config_aliases: &["tmsh list"],
        commands: &[(
            "tmsh show sys version",
            "\nSys::Version\nMain Package\n  Product     BIG-IP\n  Version     17.1.1.3\n  Build       0.0.5\n  Edition     Point Release 3\n  Date        Mon Mar 25 09:27:47 PDT 2024\n\n",
        )],
        unknown_command: "-bash: {word}: command not found",
        ambiguous_command: "-bash: {word}: command not found",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Tmos,
    },
    Personality {
        platform: "checkpoint_gaia",
        ssh_version: "OpenSSH_7.8",
        banner: "\nThis system is for authorized use only.\n",
        press_any_key: false,
        // clish: `host> ` (oxidized lib/oxidized/model/gaiaos.rb prompt
        // /^([\[\]\w.@:-]+[#>]\s?)$/; netmiko checkpoint/checkpoint_gaia_ssh.py
        // waits for `[>#]`).
        prompt: "{host}> ",
        privileged_prompt: None,
        enable_denied: "",
        // `set clienv rows 0` (oxidized gaiaos.rb post_login, netmiko
        // checkpoint_gaia_ssh.py disable_paging).
        pager_off: &["set clienv rows <n>"],
        settings: &[],
        pager_text: "-- More --",
        config_command: "show configuration",
        config_filters: &[],
        config_aliases: &[],
        // oxidized gaiaos.rb reads `show vsx`, `show asset all` and `show
        // version all` before the configuration.
        commands: &[
            ("show vsx", "VSX Disabled\n"),
            (
                "show version all",
                "Product version Check Point Gaia R81.20\nOS build 631\nOS kernel version 3.10.0-957.21.3cpx86_64\nOS edition 64-bit\n",
            ),
            (
                "show asset all",
                "Platform: VMware Virtual Platform\nModel: Check Point Open Server\nCPU Model: Intel(R) Xeon(R) Gold 6248\nNumber of Cores: 4\n",
            ),
        ],
        // Gaia's clish names its errors with a code.
        unknown_command: "CLINFR0329  Invalid command:'{cmd}'.",
        ambiguous_command: "CLINFR0329  Invalid command:'{cmd}'.",
        abbreviations: false,
        exit_commands: &["exit", "quit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Gaia,
    },
    Personality {
        platform: "aruba_os",
        ssh_version: "OpenSSH_7.4",
        banner: "\n",
        press_any_key: false,
        // `(host) >`, then `(host) #` after `enable` (oxidized
        // lib/oxidized/model/aosw.rb prompt
        // /^\(?[\w:.@-]+\)? ?[*^]?(\[[\w\/]+\] ?)?[#>] ?$/; netmiko
        // aruba/aruba_os.py: "Aruba OS requires enable mode to disable
        // paging").
        prompt: "({host}) >",
        privileged_prompt: Some("({host}) #"),
        enable_denied: "Invalid password",
        // `no paging` (netmiko aruba_os.py, oxidized aosw.rb); `encrypt
        // disable` prints the keys in clear (oxidized aosw.rb post_login).
        pager_off: &["no paging"],
        settings: &[("encrypt disable", ""), ("encrypt enable", "")],
        pager_text: "--More-- (q) quit (u) pageup (/) search (n) repeat",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        // The oxidized capture spec/model/data/aosw#Aruba7210_8.10.0.7.
        commands: &[(
            "show version",
            "Aruba Operating System Software.\nArubaOS (MODEL: Aruba7210), Version 8.10.0.7 LSR\nWebsite: http://www.arubanetworks.com\n(c) Copyright 2023 Hewlett Packard Enterprise Development LP.\n",
        )],
        // oxidized aosw.rb recognises `Invalid input detected at '^'
        // marker` and `Parse error` as refusals.
        unknown_command: "              ^\n% Invalid input detected at '^' marker.",
        ambiguous_command: "% Parse error",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::ArubaOs,
    },
    Personality {
        platform: "cisco_viptela",
        ssh_version: "OpenSSH_7.4",
        banner: "viptela 20.9.4\n\n",
        press_any_key: false,
        // `host# ` (oxidized lib/oxidized/model/viptela.rb prompt
        // /[-\w]+#\s$/; netmiko cisco/cisco_viptela.py waits for `[>#]`).
        prompt: "{host}# ",
        privileged_prompt: None,
        enable_denied: "",
        // `paginate false` (oxidized viptela.rb post_login, netmiko
        // cisco_viptela.py disable_paging).
        pager_off: &["paginate false"],
        settings: &[("paginate true", ""), ("screen-width <n>", "")],
        pager_text: "--More--",
        config_command: "show running-config",
        config_filters: &["nomore"],
        config_aliases: &[],
        // oxidized viptela.rb reads `show version` too.
        commands: &[("show version", "20.9.4\n")],
        // The ConfD CLI under Viptela's names the word it does not know.
        unknown_command: "-----------^\nsyntax error: unknown command",
        ambiguous_command: "-----------^\nsyntax error: ambiguous command",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Viptela,
    },
    Personality {
        platform: "cisco_ftd",
        ssh_version: "OpenSSH_8.0",
        banner: "\nCopyright 2004-2023, Cisco and/or its affiliates. All rights reserved.\nCisco is a registered trademark of Cisco Systems, Inc.\nAll other trademarks are property of their respective owners.\n\nCisco Firepower Extensible Operating System (FX-OS) v2.12.0 (build 499)\nCisco Firepower 2120 Threat Defense v7.2.5 (build 208)\n\n",
        press_any_key: false,
        // The FTD CLI's `> ` (oxidized lib/oxidized/model/firelinuxos.rb
        // prompt /^[#>]\(?.+\)? ?$/; netmiko cisco/cisco_ftd_ssh.py waits
        // for `[>#]` and has no enable step).
        prompt: "> ",
        privileged_prompt: None,
        enable_denied: "",
        // Neither oxidized nor netmiko turns a pager off here: the ASA
        // engine's `<--- More --->` is answered.
        pager_off: &[],
        settings: &[],
        pager_text: "<--- More --->",
        config_command: "show running-config",
        config_filters: &[],
        // oxidized firelinuxos.rb runs `show running-config all`.
        config_aliases: &[],
        commands: &[(
            "show version system",
            "---------------------[ {host} ]---------------------\nModel                     : Cisco Firepower 2120 Threat Defense (77) Version 7.2.5 (Build 208)\n",
        )],
        // oxidized firelinuxos.rb answers the FTD CLI's `Syntax error: `
        // lines and drops the ASA engine's `% Invalid input` ones.
        unknown_command: "Syntax error: Illegal parameter",
        ambiguous_command: "Syntax error: Ambiguous command",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::Ftd,
    },
    Personality {
        platform: "juniper_screenos",
        ssh_version: "NetScreen",
        banner: "",
        press_any_key: false,
        // `host-> ` (oxidized lib/oxidized/model/screenos.rb prompt
        // /^[\w.:()-]+->\s?$/; netmiko juniper/juniper_screenos.py waits
        // for `->`).
        prompt: "{host}-> ",
        privileged_prompt: None,
        enable_denied: "",
        // `set console page 0` (oxidized screenos.rb post_login, netmiko
        // juniper_screenos.py disable_paging).
        pager_off: &["set console page <n>"],
        settings: &[],
        pager_text: "--- more --- ",
        config_command: "get config",
        config_filters: &[],
        config_aliases: &[],
        // oxidized screenos.rb reads `get system` too.
        commands: &[(
            "get system",
            "Product Name: SSG5-Serial\nSerial Number: 0168102006001234, Control Number: 00000000\nHardware Version: 0710(0)-(00), FPGA checksum: 00000000, VLAN1 IP (0.0.0.0)\nSoftware Version: 6.3.0r27.0, Type: Firewall+VPN\n",
        )],
        // ScreenOS points at the word it does not know.
        unknown_command: "          ^-----unknown keyword {word}",
        ambiguous_command: "          ^-----ambiguous keyword {word}",
        abbreviations: false,
        exit_commands: &["exit"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::ScreenOs,
    },
    Personality {
        platform: "brocade_ironware",
        ssh_version: "RomSShell_5.40",
        banner: "\n",
        press_any_key: false,
        // `SSH@host>`, `SSH@host#` after `enable` (oxidized
        // lib/oxidized/model/ironware.rb prompt /^.*(telnet|ssh)\@.+[>#]\s?$/i;
        // netmiko extreme/extreme_netiron.py waits for `[>#]`).
        prompt: "SSH@{host}>",
        privileged_prompt: Some("SSH@{host}#"),
        // The FastIron family's refusal (netmiko ruckus_fastiron.py).
        enable_denied: "Error - Incorrect username or password.",
        // `skip-page-display` (oxidized ironware.rb, netmiko
        // extreme_netiron.py session_preparation, which also sets the
        // terminal width).
        pager_off: &["skip-page-display"],
        settings: &[("terminal width <n>", ""), ("terminal length <n>", "")],
        pager_text: "--More--, next page: Space, next line: Return key, quit: Control-c",
        config_command: "show running-config",
        config_filters: &[],
        config_aliases: &[],
        commands: &[(
            "show version",
            "System: NetIron CER (Serial #: BVX3314J00B,  Part #: 40-1000372-10)\nIronWare : Version 5.8.0fT183 Copyright (c) 1996-2016 Brocade Communications Systems, Inc.\n",
        )],
        unknown_command: "Invalid input -> {cmd}\nType ? for a list",
        ambiguous_command: "Ambiguous input -> {cmd}\nType ? for a list",
        abbreviations: false,
        exit_commands: &["exit", "logout"],
        ansi: false,
        line_breaks: LineBreaks::CrLf,
        style: Style::NetIron,
    },
];

/// A management API a personality serves over HTTPS on its port, instead
/// of an SSH CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpsApi {
    /// PAN-OS's XML API: `/api/?type=keygen`, then `type=export`.
    PanOsXml,
    /// FortiOS's REST API: `/api/v2/monitor/system/config/backup` with a
    /// bearer token.
    FortiOsRest,
}

impl Personality {
    /// The HTTPS API the platform serves instead of SSH, if it does.
    pub fn https_api(&self) -> Option<HttpsApi> {
        match self.platform {
            "paloalto_panos_api" => Some(HttpsApi::PanOsXml),
            "fortinet_fortios_api" => Some(HttpsApi::FortiOsRest),
            _ => None,
        }
    }

    /// Whether the platform runs commands on SSH exec channels (the Unix
    /// ones do; network OSes refuse them).
    pub fn supports_exec(&self) -> bool {
        // Fabric OS and airOS run commands on exec channels too (oxidized
        // fabricos.rb and airos.rb use nothing else), as do Opengear's shell
        // and NCLU.
        matches!(
            self.style,
            Style::Linux
                | Style::Cumulus
                | Style::FabricOs
                | Style::AirOs
                | Style::Opengear
                | Style::CumulusNclu
        ) || self.saves_ucs()
    }

    /// Runs `tmsh save /sys ucs <name>` on an exec channel and serves the
    /// archive it writes ([`crate::ucs`]): a BIG-IP account with the
    /// advanced shell, which SFTP and SCP need.
    pub fn saves_ucs(&self) -> bool {
        self.platform == "f5_tmos_ucs"
    }

    /// Runs an SFTP server and answers `scp -f`: a platform with files of
    /// its own, or one that saves them on request.
    pub fn serves_files(&self) -> bool {
        !self.served_files().is_empty() || self.saves_ucs()
    }

    /// The files the platform serves over SFTP and `scp -f` (each holds
    /// the configuration); empty for the platforms read on their CLI.
    pub fn served_files(&self) -> &'static [&'static str] {
        match self.style {
            // /conf is a symlink to /cf/conf: both paths read the one file.
            Style::PfSense => &["/cf/conf/config.xml", "/conf/config.xml"],
            Style::OpnSense => &["/conf/config.xml"],
            Style::ApcNmc => &["/config.ini"],
            _ => &[],
        }
    }

    /// The first login prompt over Telnet: Unix-like systems ask `login:`,
    /// network OSes `Username:`.
    pub fn telnet_username_prompt(&self) -> &'static str {
        match self.style {
            Style::Linux | Style::Vyos | Style::Junos | Style::EdgeOs => "login: ",
            Style::Cumulus => "login: ",
            // oxidized lib/oxidized/model/aos.rb: /^login : /.
            Style::AlcatelAos => "login : ",
            // oxidized lib/oxidized/model/voss.rb /Login: $/, os6.rb /^Login:/.
            Style::Voss | Style::Os6 => "Login: ",
            // oxidized lib/oxidized/model/sros.rb: /^Login: /.
            Style::Sros | Style::SrosMd => "Login: ",
            // oxidized lib/oxidized/model/ciscosmb.rb: /^User ?[nN]ame:/.
            Style::CiscoSmb => "User Name:",
            // oxidized lib/oxidized/model/ftos.rb: /^Login:/.
            Style::Os9 => "Login: ",
            Style::Exos => "login: ",
            // netmiko cisco_wlc_ssh.py waits for `User:`.
            Style::CiscoWlc => "User: ",
            // Both run on Linux, whose `login` asks.
            Style::Tmos | Style::Gaia | Style::ScreenOs => "login: ",
            // oxidized edgeswitch.rb: /User(name)?:\s?/; netgear.rb:
            // /^(Username:|User:|...)/.
            Style::EdgeSwitch | Style::ProSafe => "User:",
            // oxidized arubainstant.rb: /^User:\s*/.
            Style::ArubaInstant => "User: ",
            // Fabric OS and airOS are Linux and BusyBox underneath, whose
            // `login` asks; oxidized saos.rb: /login:/.
            Style::FabricOs | Style::AirOs | Style::Saos => "login: ",
            // oxidized zynoscli.rb and zynos.rb: /^User name:/i.
            Style::ZyNos => "User name: ",
            // oxidized tplink.rb: /^User ?[nN]ame:/.
            Style::JetStream => "User Name:",
            // oxidized dlink.rb: /([Uu]ser[Nn]ame|[Ll]ogin):/.
            Style::DlinkDs => "UserName:",
            // oxidized edgecos.rb: /^Username:/.
            Style::EdgeCos => "Username: ",
            // Opengear and Cumulus run Linux, whose `login` asks; FXOS asks
            // as UCS Manager does (oxidized ucs.rb: /^login:/).
            Style::Opengear | Style::CumulusNclu | Style::Fxos => "login: ",
            // oxidized ipos.rb: /^login:/.
            Style::Ipos => "login: ",
            _ => "Username: ",
        }
    }

    /// Whether the CLI asks for the user name and password again after the
    /// SSH login (Cisco Small Business switches without `ip ssh
    /// password-auth`: netmiko cisco/cisco_s300.py, oxidized ciscosmb.rb;
    /// AireOS controllers always: netmiko cisco/cisco_wlc_ssh.py).
    pub fn inband_login(&self) -> bool {
        matches!(self.style, Style::CiscoSmb | Style::CiscoWlc)
    }

    /// What the CLI prints when its in-band login is refused, before it
    /// asks again: a Small Business switch says so, an AireOS controller
    /// only asks for the user again.
    pub fn inband_login_refused(&self) -> &'static str {
        match self.style {
            Style::CiscoWlc => "\n",
            _ => "\n% Authentication Failed\n\n",
        }
    }

    /// Whether `enable` asks for a secret. VOSS and Onyx enter privileged
    /// mode without one: the account's level decides (oxidized
    /// lib/oxidized/model/voss.rb sends a bare `enable`; the Onyx 3.9.2504
    /// capture in oxidized spec/model/data shows no secret asked).
    pub fn enable_asks_secret(&self) -> bool {
        !matches!(self.style, Style::Voss | Style::Onyx)
    }
}

/// The personality of `platform`.
pub fn personality(platform: &str) -> Option<&'static Personality> {
    PERSONALITIES.iter().find(|p| p.platform == platform)
}

/// Names of every simulated platform.
pub fn platforms() -> Vec<&'static str> {
    PERSONALITIES.iter().map(|p| p.platform).collect()
}
