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
    /// HPE ProCurve.
    ProCurve,
    /// Dell OS10.
    Os10,
    /// VyOS `set` commands.
    Vyos,
    /// A Linux host's `/etc/network/interfaces`.
    Linux,
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
        self.style == Style::Linux
    }

    /// The first login prompt over Telnet: Unix-like systems ask `login:`,
    /// network OSes `Username:`.
    pub fn telnet_username_prompt(&self) -> &'static str {
        match self.style {
            Style::Linux | Style::Vyos | Style::Junos | Style::EdgeOs => "login: ",
            // oxidized lib/oxidized/model/ciscosmb.rb: /^User ?[nN]ame:/.
            Style::CiscoSmb => "User Name:",
            // oxidized lib/oxidized/model/ftos.rb: /^Login:/.
            Style::Os9 => "Login: ",
            Style::Exos => "login: ",
            _ => "Username: ",
        }
    }

    /// Whether the CLI asks for the user name and password again after the
    /// SSH login (Cisco Small Business switches without `ip ssh
    /// password-auth`: netmiko cisco/cisco_s300.py, oxidized ciscosmb.rb).
    pub fn inband_login(&self) -> bool {
        self.style == Style::CiscoSmb
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
