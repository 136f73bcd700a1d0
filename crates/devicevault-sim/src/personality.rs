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
    /// Commands that turn the pager off for the session.
    pub pager_off: &'static [&'static str],
    /// Pager prompt shown after each page while the pager is on.
    pub pager_text: &'static str,
    /// The command that prints the configuration.
    pub config_command: &'static str,
    /// Other commands and their output.
    pub commands: &'static [(&'static str, &'static str)],
    /// Reply to an unknown command.
    pub unknown_command: &'static str,
    /// Commands that end the session.
    pub exit_commands: &'static [&'static str],
    /// Colours the prompt with ANSI escapes.
    pub ansi: bool,
    /// Configuration layout; which of its lines are volatile is decided
    /// where they are printed ([`crate::config::ConfigLine`]).
    pub style: Style,
}

const CISCO_PAGER_OFF: &[&str] = &[
    "terminal length 0",
    "terminal width 0",
    "terminal width 511",
    "terminal width 512",
    "terminal width 32767",
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
        pager_text: " --More-- ",
        config_command: "show running-config",
        commands: &[(
            "show version",
            "Cisco IOS XE Software, Version 17.03.04a\nROM: IOS-XE ROMMON\n",
        )],
        unknown_command: "% Invalid input detected at '^' marker.",
        exit_commands: &["exit", "logout", "quit"],
        ansi: false,
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
        pager_text: "--More--",
        config_command: "show running-config",
        commands: &[(
            "show version",
            "Cisco Nexus Operating System (NX-OS) Software\n  NXOS: version 9.3(8)\n",
        )],
        unknown_command: "% Invalid command at '^' marker.",
        exit_commands: &["exit"],
        ansi: false,
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
        pager_text: " --More-- ",
        config_command: "show running-config",
        commands: &[],
        unknown_command: "% Invalid input detected at '^' marker.",
        exit_commands: &["exit"],
        ansi: false,
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
        pager_off: &["terminal pager 0"],
        pager_text: "<--- More --->",
        config_command: "show running-config",
        commands: &[],
        unknown_command: "ERROR: % Invalid input detected at '^' marker.",
        exit_commands: &["exit", "logout"],
        ansi: false,
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
        pager_text: " --More-- ",
        config_command: "show running-config",
        commands: &[],
        unknown_command: "% Invalid input",
        exit_commands: &["exit", "logout"],
        ansi: false,
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
        pager_off: &["set cli screen-length 0", "set cli screen-width 0"],
        pager_text: "---(more)---",
        config_command: "show configuration | display omit",
        commands: &[("show configuration", "")],
        unknown_command: "unknown command.",
        exit_commands: &["exit", "quit"],
        ansi: false,
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
        pager_text: "-- [Q quit|D dump|down]",
        config_command: "/export",
        commands: &[],
        unknown_command: "bad command name",
        exit_commands: &["/quit", "quit"],
        ansi: true,
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
        pager_text: "--More-- ",
        config_command: "show full-configuration",
        commands: &[],
        unknown_command: "Unknown action 0\nCommand fail. Return code -1",
        exit_commands: &["exit"],
        ansi: false,
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
        pager_text: "lines 1-24 ",
        config_command: "show config running",
        commands: &[],
        unknown_command: "Unknown command: ",
        exit_commands: &["exit", "quit"],
        ansi: false,
        style: Style::PanOs,
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
        pager_text: "  ---- More ----",
        config_command: "display current-configuration",
        commands: &[],
        unknown_command: "Error: Unrecognized command found at '^' position.",
        exit_commands: &["quit"],
        ansi: false,
        style: Style::Vrp,
    },
    Personality {
        platform: "hp_procurve",
        ssh_version: "OpenSSH_6.2",
        banner: "HP J9773A 2530-24G-PoEP Switch\nSoftware revision YA.16.10.0012\n\nPress any key to continue",
        press_any_key: true,
        prompt: "{host}> ",
        privileged_prompt: Some("{host}# "),
        enable_denied: "Invalid password",
        pager_off: &["no page"],
        pager_text: "-- MORE --, next page: Space, next line: Enter, quit: Control-C",
        config_command: "show running-config",
        commands: &[],
        unknown_command: "Invalid input: ",
        exit_commands: &["logout", "exit"],
        ansi: true,
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
        pager_off: &["terminal length 0"],
        pager_text: "--more--",
        config_command: "show running-configuration",
        commands: &[],
        unknown_command: "% Error: Unrecognized command.",
        exit_commands: &["exit"],
        ansi: false,
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
        pager_off: &["set terminal length 0", "set terminal width 0"],
        pager_text: ":",
        config_command: "show configuration commands",
        commands: &[],
        unknown_command: "Invalid command: ",
        exit_commands: &["exit", "logout"],
        ansi: false,
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
        pager_off: &["export PAGER=cat TERM=dumb"],
        pager_text: "",
        config_command: "cat /etc/network/interfaces",
        commands: &[],
        unknown_command: "-bash: command not found",
        exit_commands: &["exit", "logout"],
        ansi: false,
        style: Style::Linux,
    },
];

impl Personality {
    /// Whether the platform runs commands on SSH exec channels (the Unix
    /// ones do; network OSes refuse them).
    pub fn supports_exec(&self) -> bool {
        self.style == Style::Linux
    }

    /// The first login prompt over Telnet: Unix-like systems ask `login:`,
    /// network OSes `Username:`.
    pub fn telnet_username_prompt(&self) -> &'static str {
        match self.style {
            Style::Linux | Style::Vyos | Style::Junos => "login: ",
            _ => "Username: ",
        }
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
