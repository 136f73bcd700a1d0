//! Drivers as data: one TOML file per platform.
//!
//! A driver says how to talk to a platform (prompt, login and enable
//! sequences, pager handling), which commands form the backup, and how to
//! filter their output (volatile lines removed, secrets masked on request).
//! The built-in drivers are embedded in the binary; a directory of user
//! drivers adds platforms or overrides built-in ones by name, without
//! recompiling.
//!
//! Every driver says how a complete configuration of its platform looks
//! (`[complete]`): the line it always ends with, balanced braces, the line it
//! starts with, a minimum size. The engine checks the output against it
//! before anything is stored, so a refusal the error patterns miss (an AAA
//! server's "Command authorization failed.") or an output cut short fails the
//! job instead of replacing a good backup. A driver whose platform prints no
//! fixed ending must say why (`reason`); a driver without a rule does not
//! load.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::CollectError;

/// The built-in driver files, embedded at compile time.
const BUILTIN: &[(&str, &str)] = &[
    (
        "alliedtelesis_awplus",
        include_str!("../drivers/alliedtelesis_awplus.toml"),
    ),
    ("arista_eos", include_str!("../drivers/arista_eos.toml")),
    ("aruba_aoscx", include_str!("../drivers/aruba_aoscx.toml")),
    ("cisco_asa", include_str!("../drivers/cisco_asa.toml")),
    ("cisco_ios", include_str!("../drivers/cisco_ios.toml")),
    ("cisco_iosxr", include_str!("../drivers/cisco_iosxr.toml")),
    ("cisco_nxos", include_str!("../drivers/cisco_nxos.toml")),
    ("cisco_smb", include_str!("../drivers/cisco_smb.toml")),
    ("dell_os10", include_str!("../drivers/dell_os10.toml")),
    ("dell_os9", include_str!("../drivers/dell_os9.toml")),
    ("dlink_ds", include_str!("../drivers/dlink_ds.toml")),
    ("edgecore", include_str!("../drivers/edgecore.toml")),
    ("opengear", include_str!("../drivers/opengear.toml")),
    ("cumulus_nclu", include_str!("../drivers/cumulus_nclu.toml")),
    ("cisco_fxos", include_str!("../drivers/cisco_fxos.toml")),
    (
        "ericsson_ipos",
        include_str!("../drivers/ericsson_ipos.toml"),
    ),
    ("extreme_exos", include_str!("../drivers/extreme_exos.toml")),
    (
        "fortinet_fortios",
        include_str!("../drivers/fortinet_fortios.toml"),
    ),
    (
        "fortinet_fortios_api",
        include_str!("../drivers/fortinet_fortios_api.toml"),
    ),
    ("hp_comware", include_str!("../drivers/hp_comware.toml")),
    ("hp_procurve", include_str!("../drivers/hp_procurve.toml")),
    ("huawei_vrp", include_str!("../drivers/huawei_vrp.toml")),
    ("pfsense", include_str!("../drivers/pfsense.toml")),
    ("opnsense", include_str!("../drivers/opnsense.toml")),
    ("apc_nmc", include_str!("../drivers/apc_nmc.toml")),
    (
        "juniper_junos",
        include_str!("../drivers/juniper_junos.toml"),
    ),
    ("linux", include_str!("../drivers/linux.toml")),
    ("extreme_voss", include_str!("../drivers/extreme_voss.toml")),
    ("dell_os6", include_str!("../drivers/dell_os6.toml")),
    (
        "sonicwall_sonicos",
        include_str!("../drivers/sonicwall_sonicos.toml"),
    ),
    ("a10_acos", include_str!("../drivers/a10_acos.toml")),
    (
        "watchguard_fireware",
        include_str!("../drivers/watchguard_fireware.toml"),
    ),
    ("nvidia_onyx", include_str!("../drivers/nvidia_onyx.toml")),
    ("nokia_sros", include_str!("../drivers/nokia_sros.toml")),
    (
        "citrix_netscaler",
        include_str!("../drivers/citrix_netscaler.toml"),
    ),
    ("cumulus_nvue", include_str!("../drivers/cumulus_nvue.toml")),
    ("alcatel_aos", include_str!("../drivers/alcatel_aos.toml")),
    (
        "nokia_sros_md",
        include_str!("../drivers/nokia_sros_md.toml"),
    ),
    (
        "mikrotik_routeros",
        include_str!("../drivers/mikrotik_routeros.toml"),
    ),
    (
        "netgear_prosafe",
        include_str!("../drivers/netgear_prosafe.toml"),
    ),
    (
        "paloalto_panos",
        include_str!("../drivers/paloalto_panos.toml"),
    ),
    (
        "paloalto_panos_api",
        include_str!("../drivers/paloalto_panos_api.toml"),
    ),
    (
        "ruckus_fastiron",
        include_str!("../drivers/ruckus_fastiron.toml"),
    ),
    (
        "tplink_jetstream",
        include_str!("../drivers/tplink_jetstream.toml"),
    ),
    (
        "ubiquiti_edgeos",
        include_str!("../drivers/ubiquiti_edgeos.toml"),
    ),
    (
        "ubiquiti_edgeswitch",
        include_str!("../drivers/ubiquiti_edgeswitch.toml"),
    ),
    (
        "aruba_instant",
        include_str!("../drivers/aruba_instant.toml"),
    ),
    ("brocade_fos", include_str!("../drivers/brocade_fos.toml")),
    (
        "ubiquiti_airos",
        include_str!("../drivers/ubiquiti_airos.toml"),
    ),
    ("zyxel_os", include_str!("../drivers/zyxel_os.toml")),
    ("ciena_saos", include_str!("../drivers/ciena_saos.toml")),
    ("vyos", include_str!("../drivers/vyos.toml")),
    ("cisco_wlc", include_str!("../drivers/cisco_wlc.toml")),
    ("f5_tmos", include_str!("../drivers/f5_tmos.toml")),
    ("f5_tmos_ucs", include_str!("../drivers/f5_tmos_ucs.toml")),
    (
        "checkpoint_gaia",
        include_str!("../drivers/checkpoint_gaia.toml"),
    ),
    ("aruba_os", include_str!("../drivers/aruba_os.toml")),
    (
        "cisco_viptela",
        include_str!("../drivers/cisco_viptela.toml"),
    ),
    ("cisco_ftd", include_str!("../drivers/cisco_ftd.toml")),
    (
        "juniper_screenos",
        include_str!("../drivers/juniper_screenos.toml"),
    ),
    (
        "brocade_ironware",
        include_str!("../drivers/brocade_ironware.toml"),
    ),
];

/// The on-disk form of a driver. See `drivers/cisco_ios.toml` for a commented example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DriverFile {
    name: String,
    description: String,
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    privileged_prompt: Option<String>,
    #[serde(default)]
    enable: Option<EnableFile>,
    #[serde(default)]
    login: Vec<ExpectSendFile>,
    #[serde(default)]
    pager_disable: Vec<String>,
    #[serde(default)]
    pager: Vec<ExpectSendFile>,
    #[serde(default)]
    commands: Vec<String>,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    file_header: Option<String>,
    #[serde(default)]
    prepare: Vec<String>,
    #[serde(default)]
    archive: Option<String>,
    #[serde(default)]
    binary: bool,
    #[serde(default)]
    requests: Vec<crate::https::RequestFile>,
    #[serde(default)]
    ca_file: Option<std::path::PathBuf>,
    #[serde(default)]
    error_patterns: Vec<String>,
    #[serde(default)]
    remove_lines: Vec<String>,
    #[serde(default)]
    remove_blocks: Vec<BlockFile>,
    #[serde(default)]
    replace: Vec<SecretFile>,
    #[serde(default)]
    ignore_for_change: Vec<String>,
    #[serde(default)]
    secrets: Vec<SecretFile>,
    #[serde(default = "default_newline")]
    newline: String,
    #[serde(default)]
    legacy_algorithms: bool,
    #[serde(default)]
    exit: Option<String>,
    #[serde(default)]
    exec: bool,
    #[serde(default)]
    max_config_bytes: Option<usize>,
    #[serde(default)]
    complete: Option<CompleteFile>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    prompt_counts_commands: bool,
}

/// `[complete]`: how a whole configuration of the platform looks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteFile {
    #[serde(default = "yes")]
    check: bool,
    #[serde(default)]
    ends_with: Option<String>,
    #[serde(default)]
    starts_with: Option<String>,
    #[serde(default)]
    balanced_braces: bool,
    #[serde(default)]
    min_bytes: Option<usize>,
    #[serde(default)]
    reason: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_newline() -> String {
    "\n".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnableFile {
    command: String,
    password_prompt: String,
    #[serde(default)]
    failure: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectSendFile {
    expect: String,
    send: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    pattern: String,
    replace: String,
}

/// The built-in driver files, for the check's tests.
#[cfg(test)]
pub(crate) fn builtin_files() -> &'static [(&'static str, &'static str)] {
    BUILTIN
}

/// Why `text` is not a driver file as TOML and serde see it (syntax,
/// unknown or missing keys, wrong types), with the span `toml` gives.
pub(crate) fn file_error(text: &str) -> Option<toml::de::Error> {
    toml::from_str::<DriverFile>(text).err()
}

/// `[[remove_blocks]]`: a volatile multi-line block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockFile {
    begin: String,
    end: String,
    #[serde(default)]
    keep_markers: bool,
}

/// Where a driver came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverSource {
    /// Embedded in the binary.
    BuiltIn,
    /// Loaded from this file of the user driver directory.
    User(std::path::PathBuf),
}

/// Where a driver's configuration comes from (`input = "..."`). The CLI
/// is the default; every other input is a variant of its own with what it
/// needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Input {
    /// The CLI dialogue: `commands` over a shell, or over exec channels
    /// when the driver sets `exec` (`input = "cli"`, the default).
    Cli,
    /// Files read over the device's SSH login (`input = "sftp"` or
    /// `"scp"`, with `files`).
    Files(FileInput),
    /// The device's HTTPS API, on the device's port (`input = "https"`,
    /// with `[[requests]]`).
    Https(crate::https::HttpsInput),
}

impl Input {
    /// The name a driver file gives it: `cli`, `sftp`, `scp`, `https`.
    pub fn name(&self) -> &'static str {
        match self {
            Input::Cli => "cli",
            Input::Files(f) => f.protocol.name(),
            Input::Https(_) => "https",
        }
    }

    /// Whether it is the CLI dialogue.
    pub fn is_cli(&self) -> bool {
        matches!(self, Input::Cli)
    }
}

/// `input = "sftp"` or `"scp"`: which files, how, and how they are joined.
///
/// One file: the configuration is the file's bytes. Several: each is
/// preceded by a header line, `file_header` with `{path}` replaced
/// (default [`DEFAULT_FILE_HEADER`]: `### file: /conf/config.xml`), in the
/// order of `files`, or, with `archive = "tar"`, each is a member of one
/// tar archive (a binary configuration). Filters, completeness and
/// `max_config_bytes` (the files together) apply to a text result as to a
/// CLI output.
///
/// `prepare` commands run first, each on an exec channel of the same
/// connection, and must exit 0; their output is not part of the
/// configuration. They are for a platform that writes its backup file on
/// request (F5 BIG-IP's `tmsh save /sys ucs <path>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInput {
    /// SFTP or SCP.
    pub protocol: FileProtocol,
    /// Absolute paths on the device, without `..`.
    pub paths: Vec<String>,
    /// The header line before each file when there are several (text).
    pub header: String,
    /// Commands run on exec channels before the files are read.
    pub prepare: Vec<String>,
    /// How several files become one binary configuration, if they do.
    pub archive: Option<Archive>,
}

/// How the files of a file input are stored as one binary configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// A POSIX tar archive (`archive = "tar"`): one member per file, named
    /// by its path without the leading `/`, in the order of `files`, with
    /// fixed owner, mode and time so that the same files give the same
    /// bytes (the archive's bytes decide whether it is a new version).
    Tar,
}

/// The header line before each of several files; `{path}` is the file's path.
pub const DEFAULT_FILE_HEADER: &str = "### file: {path}";

/// How files are read over SSH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileProtocol {
    /// The `sftp` subsystem (SSH File Transfer Protocol).
    Sftp,
    /// `scp -f <path>` on an exec channel (the SCP source protocol).
    Scp,
}

impl FileProtocol {
    /// `sftp` or `scp`.
    pub fn name(self) -> &'static str {
        match self {
            FileProtocol::Sftp => "sftp",
            FileProtocol::Scp => "scp",
        }
    }
}

/// Parses `input`, `files` and `file_header`, refusing a file input with
/// `commands` (or `exec`) and `files` with the CLI.
fn input(n: &str, f: &DriverFile) -> Result<Input, CollectError> {
    let invalid = |reason: String| CollectError::InvalidDriver {
        name: n.to_owned(),
        reason,
    };
    if let Some(other) = f
        .input
        .as_deref()
        .filter(|i| !["cli", "sftp", "scp", "https"].contains(i))
    {
        return Err(invalid(format!(
            "`input` is `{other}`: it is `cli` (the default), `sftp`, `scp` or `https`"
        )));
    }
    if f.input.as_deref() != Some("https") && (!f.requests.is_empty() || f.ca_file.is_some()) {
        return Err(invalid(
            "`requests` and `ca_file` belong to `input = \"https\"`".into(),
        ));
    }
    let protocol = match f.input.as_deref() {
        Some("https") => {
            if !f.commands.is_empty() || f.exec || !f.files.is_empty() || f.file_header.is_some() {
                return Err(invalid(
                    "`commands`, `exec`, `files` and `file_header` cannot be combined with \
                     `input = \"https\"`: it sends `[[requests]]`"
                        .into(),
                ));
            }
            return crate::https::HttpsInput::from_file(n, &f.requests, f.ca_file.as_deref())
                .map(Input::Https)
                .map_err(invalid);
        }
        None | Some("cli") => {
            if !f.files.is_empty() || f.file_header.is_some() {
                return Err(invalid(
                    "`files` needs a file input (`input = \"sftp\"` or `input = \"scp\"`); \
                     the CLI input runs `commands`"
                        .into(),
                ));
            }
            if f.prompt.is_none() {
                return Err(invalid(
                    "`prompt` is missing: the CLI input needs it".into(),
                ));
            }
            if f.commands.is_empty() {
                return Err(invalid("`commands` is empty".into()));
            }
            return Ok(Input::Cli);
        }
        Some("sftp") => FileProtocol::Sftp,
        Some("scp") => FileProtocol::Scp,
        Some(other) => {
            return Err(invalid(format!(
                "`input` is `{other}`: it is `cli` (the default), `sftp`, `scp` or `https`"
            )));
        }
    };
    let name = protocol.name();
    if !f.commands.is_empty() || f.exec {
        return Err(invalid(format!(
            "`commands` cannot be combined with `input = \"{name}\"`: a file input reads `files`, \
             and `exec` is for the CLI"
        )));
    }
    if f.files.is_empty() {
        return Err(invalid(format!(
            "`files` is empty: `input = \"{name}\"` needs at least one path"
        )));
    }
    for p in &f.files {
        let bad = if !p.starts_with('/') {
            Some("is not absolute")
        } else if p.split('/').any(|c| c == "..") {
            Some("contains `..`")
        } else if p.chars().any(|c| c.is_control() || c == '\'') {
            Some("contains a control character or a quote")
        } else if p.ends_with('/') {
            Some("names a directory")
        } else {
            None
        };
        if let Some(why) = bad {
            return Err(invalid(format!("`files`: `{p}` {why}")));
        }
    }
    let header = f
        .file_header
        .clone()
        .unwrap_or_else(|| DEFAULT_FILE_HEADER.to_owned());
    if header.contains(['\n', '\r']) || !header.contains("{path}") {
        return Err(invalid(
            "`file_header` must be one line naming `{path}`".into(),
        ));
    }
    for c in &f.prepare {
        if c.trim().is_empty() || c.chars().any(char::is_control) {
            return Err(invalid(format!(
                "`prepare`: `{}` is not one command line",
                c.escape_debug()
            )));
        }
    }
    let archive = match f.archive.as_deref() {
        None => None,
        Some("tar") => Some(Archive::Tar),
        Some(other) => {
            return Err(invalid(format!(
                "`archive` is `{other}`: the one archive format is `tar`"
            )));
        }
    };
    if archive.is_some() && f.file_header.is_some() {
        return Err(invalid(
            "`file_header` joins text files; with `archive` each file is a member named by its path"
                .into(),
        ));
    }
    if f.binary && archive.is_none() && f.files.len() > 1 {
        return Err(invalid(
            "`files`: several files of a binary configuration are stored as one archive: \
             add `archive = \"tar\"`"
                .into(),
        ));
    }
    Ok(Input::Files(FileInput {
        protocol,
        paths: f.files.clone(),
        header,
        prepare: f.prepare.clone(),
        archive,
    }))
}

/// Refuses what cannot apply to a binary configuration (`binary = true`,
/// or `archive`, which implies it): the CLI input, whose output is text,
/// and every rule that reads text — the filters, `secrets`,
/// `ignore_for_change`, `author`, an HTTPS `config` pick and the text
/// shapes of `[complete]` (its `min_bytes` applies, on the bytes). Binary
/// bytes are stored as they arrive; whether a backup is a new version is
/// decided by comparing them.
fn binary_rules(n: &str, f: &DriverFile, input: &Input) -> Result<(), CollectError> {
    let invalid = |reason: String| CollectError::InvalidDriver {
        name: n.to_owned(),
        reason,
    };
    if !f.prepare.is_empty() && !matches!(input, Input::Files(_)) {
        return Err(invalid(
            "`prepare` runs commands before a file input reads its `files`: it needs \
             `input = \"sftp\"` or `input = \"scp\"`"
                .into(),
        ));
    }
    if f.archive.is_some() && !matches!(input, Input::Files(_)) {
        return Err(invalid(
            "`archive` stores the `files` of a file input: it needs `input = \"sftp\"` or \
             `input = \"scp\"`"
                .into(),
        ));
    }
    if !f.binary && f.archive.is_none() {
        return Ok(());
    }
    let why =
        "the configuration is binary (`binary = true` or `archive`) and is stored byte for byte";
    match input {
        Input::Cli => {
            return Err(invalid(format!(
                "`binary = true` needs a file input (`input = \"sftp\"` or `\"scp\"`) or \
                 `input = \"https\"`: the CLI input's output is text ({why})"
            )));
        }
        Input::Https(api) if api.requests.iter().any(|r| r.config.is_some()) => {
            return Err(invalid(format!(
                "`requests.config` picks text out of an answer, and {why}: the last answer is the configuration"
            )));
        }
        _ => {}
    }
    let text_rules: [(&str, bool); 9] = [
        ("remove_lines", !f.remove_lines.is_empty()),
        ("remove_blocks", !f.remove_blocks.is_empty()),
        ("replace", !f.replace.is_empty()),
        ("secrets", !f.secrets.is_empty()),
        ("ignore_for_change", !f.ignore_for_change.is_empty()),
        ("author", f.author.is_some()),
        (
            "complete.ends_with",
            f.complete.as_ref().is_some_and(|c| c.ends_with.is_some()),
        ),
        (
            "complete.starts_with",
            f.complete.as_ref().is_some_and(|c| c.starts_with.is_some()),
        ),
        (
            "complete.balanced_braces",
            f.complete.as_ref().is_some_and(|c| c.balanced_braces),
        ),
    ];
    if let Some((key, _)) = text_rules.iter().find(|(_, set)| *set) {
        return Err(invalid(format!(
            "`{key}` reads text, and {why}: only `[complete]`'s `min_bytes` (with a `reason`) \
             applies to it"
        )));
    }
    Ok(())
}

/// How to enter privileged mode.
#[derive(Debug, Clone)]
pub struct EnableSequence {
    /// The command, e.g. `enable`.
    pub command: String,
    /// Matches the secret prompt, e.g. `Password:`.
    pub password_prompt: Regex,
    /// Matches the device's refusal, e.g. `% Access denied`.
    pub failure: Option<Regex>,
}

/// An expected text and the answer to send when it shows up.
#[derive(Debug, Clone)]
pub struct ExpectSend {
    /// Matched against the last, incomplete line of output.
    pub expect: Regex,
    /// Sent as is; in `login` answers, `{username}` is replaced by the login
    /// name and `{password}` by the password (for CLIs that ask in-band).
    pub send: String,
}

/// A line substitution: a `secrets` rule (applied only when the device asks
/// `remove_secrets`) or a `replace` rule (always applied).
#[derive(Debug, Clone)]
pub struct SecretRule {
    /// Multi-line regex.
    pub pattern: Regex,
    /// Replacement, with `$1`-style references.
    pub replace: String,
}

/// A driver's substitutions of one kind (`secrets` or `replace`), in their
/// order, with a [`RegexSet`] of all their patterns: a line none of them
/// matches is left as it is after one scan, instead of one search (and its
/// capture slots) per rule. A line no rule matches is one no rule changes,
/// so the result is the same as applying every rule in turn.
#[derive(Debug, Clone, Default)]
pub struct Substitutions {
    rules: Vec<SecretRule>,
    /// `None` when the set would be too large to compile: every rule is
    /// then tried on every line.
    any: Option<RegexSet>,
}

impl Substitutions {
    pub fn new(rules: Vec<SecretRule>) -> Self {
        let any = RegexSetBuilder::new(rules.iter().map(|r| r.pattern.as_str()))
            .multi_line(true)
            .build()
            .ok();
        Self { rules, any }
    }

    /// `line` with every rule applied in turn (borrowed when none matched).
    pub fn apply<'a>(&self, line: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(line);
        if self.rules.is_empty() || self.any.as_ref().is_some_and(|set| !set.is_match(line)) {
            return out;
        }
        for s in &self.rules {
            if let Cow::Owned(o) = s.pattern.replace_all(&out, s.replace.as_str()) {
                out = Cow::Owned(o);
            }
        }
        out
    }
}

impl std::ops::Deref for Substitutions {
    type Target = [SecretRule];

    fn deref(&self) -> &[SecretRule] {
        &self.rules
    }
}

/// A volatile block of lines: from a line matching `begin` to the next
/// line matching `end`.
///
/// The classic case is pfSense's and OPNsense's `config.xml`: its
/// `<revision>` element holds the `<time>` (a Unix time), `<username>` and
/// `<description>` of the last write, which the firewall rewrites even for
/// an API call or a script that changed nothing else (opnsense/plugins
/// issue 942 shows such a diff; oxidized pull request 541 strips pfSense's
/// revision time for the same reason), and a backup may carry RRD graph
/// data in `<rrddata>` (pfSense's "skip RRD data" backup option), which
/// changes every few minutes.
///
/// The end is looked for from the line after the one that began the block,
/// as sed's `/begin/,/end/` range does (GNU sed manual, "Range Addresses":
/// "checking for the ending match will start with the line following the
/// line which matched addr1"), so a block whose markers look alike (`!` …
/// `!`) spans at least two lines; a volatile element printed on one line is
/// a `remove_lines` pattern.
///
/// A block that is still open at the end of the output is not removed: its
/// lines are kept as if `begin` had not matched. The configuration was
/// checked whole before the filters run, so an `end` that never comes
/// means the rule does not fit what the device printed, and keeping the
/// lines shows that as a change a person can see, where removing them would
/// silently drop the rest of the configuration from every backup.
#[derive(Debug, Clone)]
pub struct BlockRule {
    /// Matches the line that opens the block.
    pub begin: Regex,
    /// Matches the line that closes it.
    pub end: Regex,
    /// Keep the `begin` and `end` lines and drop only what is between them
    /// (the element stays visible, its rotating content goes).
    pub keep_markers: bool,
}

/// How a complete configuration of a platform looks, checked on the raw
/// output of the backup commands (echo and prompt removed, volatile lines
/// and secrets not yet filtered) before anything is stored.
#[derive(Debug, Clone)]
pub struct Completeness {
    /// `false`: nothing is checked (a platform whose output has no shape,
    /// e.g. a file of a Linux host); `reason` says why.
    pub check: bool,
    /// Matches the last non-blank line of every complete configuration
    /// (`end` on IOS, `return` on VRP).
    pub ends_with: Option<Regex>,
    /// Matches the first non-blank line of every configuration (NX-OS's
    /// `!Command: show running-config`): catches a refusal printed instead.
    pub starts_with: Option<Regex>,
    /// Curly braces open and close in balance, and there is at least one
    /// (Junos): a cut-off configuration has open blocks.
    pub balanced_braces: bool,
    /// The smallest size a real configuration of the platform has, as a
    /// backstop.
    pub min_bytes: usize,
    /// Why the platform's ending cannot be checked (or why nothing is).
    pub reason: Option<String>,
}

impl Completeness {
    /// `Err(why)` when `text` is not a complete configuration.
    pub fn check(&self, text: &str) -> Result<(), String> {
        if !self.check {
            return Ok(());
        }
        if text.len() < self.min_bytes {
            return Err(format!(
                "only {} bytes arrived and a configuration of this platform has at least {}",
                text.len(),
                self.min_bytes
            ));
        }
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        if let Some(re) = &self.starts_with {
            match lines.next() {
                Some(first) if re.is_match(first) => {}
                _ => {
                    return Err(format!(
                        "it does not begin as this platform's configuration does (first line matching `{}`)",
                        re.as_str()
                    ));
                }
            }
        }
        if let Some(re) = &self.ends_with {
            match text.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(last) if re.is_match(last) => {}
                _ => {
                    return Err(format!(
                        "it does not end as this platform's configuration always does (last line matching `{}`)",
                        re.as_str()
                    ));
                }
            }
        }
        if self.balanced_braces {
            braces_balance(text)?;
        }
        Ok(())
    }
}

/// Junos-style braces: every `{` closed by a `}`, never more `}` than `{`,
/// at least one block. Braces inside double-quoted strings and after `#`
/// or inside `/* */` annotations do not count.
fn braces_balance(text: &str) -> Result<(), String> {
    let (mut depth, mut blocks) = (0i64, 0u64);
    let mut in_comment = false;
    for line in text.lines() {
        let mut in_quote = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    in_comment = false;
                }
                continue;
            }
            match c {
                '\\' if in_quote => {
                    chars.next();
                }
                '"' => in_quote = !in_quote,
                '#' if !in_quote => break,
                '/' if !in_quote && chars.peek() == Some(&'*') => {
                    chars.next();
                    in_comment = true;
                }
                '{' if !in_quote => {
                    depth += 1;
                    blocks += 1;
                }
                '}' if !in_quote => {
                    depth -= 1;
                    if depth < 0 {
                        return Err("a closing brace has no opening one".into());
                    }
                }
                _ => {}
            }
        }
    }
    if blocks == 0 {
        return Err("it holds no configuration block (`{ ... }`)".into());
    }
    if depth > 0 {
        return Err(format!(
            "{depth} configuration block(s) are still open at the end (cut off)"
        ));
    }
    Ok(())
}

/// How many lines, and how many characters in all, an incomplete output's
/// tail may show in an error.
const TAIL_LINES: usize = 5;
const TAIL_LINE_CHARS: usize = 96;
const TAIL_CHARS: usize = 500;
/// The longest line of device output a job's log shows.
const REPORT_LINE_CHARS: usize = 200;

/// A compiled driver.
#[derive(Debug, Clone)]
pub struct Driver {
    /// Platform name, e.g. `cisco_ios`.
    pub name: String,
    /// One line for `devicevault drivers`.
    pub description: String,
    /// Where it came from.
    pub source: DriverSource,
    /// Matches the CLI prompt at the end of output.
    pub prompt: Regex,
    /// Matches a privileged prompt; when the login prompt does not match it, enable is run.
    pub privileged_prompt: Option<Regex>,
    /// Privileged-mode escalation.
    pub enable: Option<EnableSequence>,
    /// Answers given before the first prompt (press-any-key banners, in-band logins).
    pub login: Vec<ExpectSend>,
    /// Commands sent once after login to turn paging off.
    pub pager_disable: Vec<String>,
    /// Pager prompts answered while output is read, for devices where paging cannot be disabled.
    pub pager: Vec<ExpectSend>,
    /// Where the configuration comes from: the CLI, files or an HTTPS API.
    pub input: Input,
    /// Commands whose output, concatenated, is the backup (CLI input).
    pub commands: Vec<String>,
    /// Output lines that mean the device rejected a command.
    pub error_patterns: Vec<Regex>,
    /// Lines removed before storing (volatile counters, timestamps).
    pub remove_lines: Vec<Regex>,
    /// Multi-line volatile blocks removed before storing (`remove_blocks`).
    pub remove_blocks: Vec<BlockRule>,
    /// Substitutions applied to every kept line, whatever the device asked
    /// (`replace`): a line stays, a rotating value in it is blanked.
    pub replace: Substitutions,
    /// Lines stored as they are but left out of [`Driver::change_key`]:
    /// a difference only in them is no new version (`ignore_for_change`).
    pub ignore_for_change: Vec<Regex>,
    /// Secret substitutions, applied only on request.
    pub secrets: Substitutions,
    /// What ends a command line.
    pub newline: String,
    /// Whether to offer legacy SSH algorithms to this platform.
    pub legacy_algorithms: bool,
    /// Sent before closing the session, politely.
    pub exit: Option<String>,
    /// Over SSH, run each command on its own exec channel instead of an
    /// interactive shell (no prompts, pagers or echo; the exit status says
    /// whether the command worked). Telnet always uses the shell dialogue.
    pub exec: bool,
    /// Overrides the collection's `max_config_bytes` for this platform.
    pub max_config_bytes: Option<usize>,
    /// How a complete configuration looks.
    pub complete: Completeness,
    /// Finds who last changed the configuration in the raw output: its
    /// first capture group is the user.
    pub author: Option<Regex>,
    /// Where the driver's facts come from (documentation, other tools),
    /// the file's optional `source` text; shown by `devicevault drivers`.
    pub facts_source: Option<String>,
    /// The prompt carries a number that changes with every command (EXOS
    /// `host.5 # `): the learned prompt then matches with any number in
    /// place of each of its numbers.
    pub prompt_counts_commands: bool,
    /// The configuration is binary (`binary = true`, or a file input's
    /// `archive`): stored byte for byte, never filtered, masked, searched
    /// or diffed as text; the bytes decide whether it is a new version.
    pub binary: bool,
}

pub(crate) fn compile(driver: &str, what: &str, pattern: &str) -> Result<Regex, CollectError> {
    RegexBuilder::new(pattern)
        .multi_line(true)
        .build()
        .map_err(|e| CollectError::InvalidDriver {
            name: driver.to_owned(),
            reason: format!("{what}: {e}"),
        })
}

/// Compiles `[complete]`, refusing a driver that neither says how its
/// configuration ends nor why it cannot.
fn completeness(n: &str, c: Option<&CompleteFile>) -> Result<Completeness, CollectError> {
    let invalid = |reason: &str| CollectError::InvalidDriver {
        name: n.to_owned(),
        reason: reason.to_owned(),
    };
    let Some(c) = c else {
        return Err(invalid(
            "no `[complete]` rule: say how a complete configuration ends \
             (`ends_with = '<regex on the last line>'` or `balanced_braces = true`), \
             or why it cannot be told (`reason = \"...\"`, with `check = false` to check nothing)",
        ));
    };
    let reason = c.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if !c.check {
        if reason.is_none() {
            return Err(invalid("`[complete] check = false` needs a `reason`"));
        }
    } else {
        if c.ends_with.is_none() && !c.balanced_braces && reason.is_none() {
            return Err(invalid(
                "`[complete]` gives no ending (`ends_with` or `balanced_braces`) and no `reason` why",
            ));
        }
        if c.ends_with.is_none()
            && !c.balanced_braces
            && c.starts_with.is_none()
            && c.min_bytes.is_none()
        {
            return Err(invalid(
                "`[complete]` checks nothing: give `starts_with` or `min_bytes`, or `check = false`",
            ));
        }
    }
    Ok(Completeness {
        check: c.check,
        ends_with: c
            .ends_with
            .as_deref()
            .map(|p| compile(n, "complete.ends_with", p))
            .transpose()?,
        starts_with: c
            .starts_with
            .as_deref()
            .map(|p| compile(n, "complete.starts_with", p))
            .transpose()?,
        balanced_braces: c.balanced_braces,
        // Checked output is never empty: an empty answer is no configuration.
        min_bytes: c.min_bytes.unwrap_or(1),
        reason: reason.map(str::to_owned),
    })
}

impl Driver {
    /// Parses and compiles a driver from its TOML text.
    pub fn from_toml(text: &str, source: DriverSource) -> Result<Driver, CollectError> {
        let origin = match &source {
            DriverSource::BuiltIn => "built-in".to_owned(),
            DriverSource::User(p) => p.display().to_string(),
        };
        let f: DriverFile = toml::from_str(text).map_err(|e| CollectError::InvalidDriver {
            name: origin.clone(),
            reason: e.to_string(),
        })?;
        let n = f.name.as_str();
        let input = input(n, &f)?;
        binary_rules(n, &f, &input)?;
        let expect_send =
            |what: &str, v: &[ExpectSendFile]| -> Result<Vec<ExpectSend>, CollectError> {
                v.iter()
                    .map(|e| {
                        Ok(ExpectSend {
                            expect: compile(n, what, &e.expect)?,
                            send: e.send.clone(),
                        })
                    })
                    .collect()
            };
        let all = |what: &str, v: &[String]| -> Result<Vec<Regex>, CollectError> {
            v.iter().map(|p| compile(n, what, p)).collect()
        };
        let complete = completeness(n, f.complete.as_ref())?;
        if f.max_config_bytes == Some(0) {
            return Err(CollectError::InvalidDriver {
                name: n.to_owned(),
                reason: "`max_config_bytes` must be above 0".into(),
            });
        }
        Ok(Driver {
            name: f.name.clone(),
            description: f.description.clone(),
            source,
            // A file input has no prompt; this one never matches.
            prompt: compile(n, "prompt", f.prompt.as_deref().unwrap_or(r"[^\s\S]"))?,
            privileged_prompt: f
                .privileged_prompt
                .as_deref()
                .map(|p| compile(n, "privileged_prompt", p))
                .transpose()?,
            enable: f
                .enable
                .as_ref()
                .map(|e| -> Result<EnableSequence, CollectError> {
                    Ok(EnableSequence {
                        command: e.command.clone(),
                        password_prompt: compile(n, "enable.password_prompt", &e.password_prompt)?,
                        failure: e
                            .failure
                            .as_deref()
                            .map(|p| compile(n, "enable.failure", p))
                            .transpose()?,
                    })
                })
                .transpose()?,
            login: expect_send("login", &f.login)?,
            pager_disable: f.pager_disable.clone(),
            pager: expect_send("pager", &f.pager)?,
            input,
            commands: f.commands.clone(),
            error_patterns: all("error_patterns", &f.error_patterns)?,
            remove_lines: all("remove_lines", &f.remove_lines)?,
            remove_blocks: f
                .remove_blocks
                .iter()
                .map(|b| {
                    Ok(BlockRule {
                        begin: compile(n, "remove_blocks.begin", &b.begin)?,
                        end: compile(n, "remove_blocks.end", &b.end)?,
                        keep_markers: b.keep_markers,
                    })
                })
                .collect::<Result<_, CollectError>>()?,
            replace: Substitutions::new(
                f.replace
                    .iter()
                    .map(|s| {
                        Ok(SecretRule {
                            pattern: compile(n, "replace", &s.pattern)?,
                            replace: s.replace.clone(),
                        })
                    })
                    .collect::<Result<_, CollectError>>()?,
            ),
            ignore_for_change: all("ignore_for_change", &f.ignore_for_change)?,
            secrets: Substitutions::new(
                f.secrets
                    .iter()
                    .map(|s| {
                        Ok(SecretRule {
                            pattern: compile(n, "secrets", &s.pattern)?,
                            replace: s.replace.clone(),
                        })
                    })
                    .collect::<Result<_, CollectError>>()?,
            ),
            newline: f.newline.clone(),
            legacy_algorithms: f.legacy_algorithms,
            exit: f.exit.clone(),
            exec: f.exec,
            max_config_bytes: f.max_config_bytes,
            complete,
            author: match f.author.as_deref() {
                None => None,
                Some(p) => {
                    let re = compile(n, "author", p)?;
                    if re.captures_len() < 2 {
                        return Err(CollectError::InvalidDriver {
                            name: n.to_owned(),
                            reason: "author: the pattern needs a capture group for the user".into(),
                        });
                    }
                    Some(re)
                }
            },
            facts_source: f
                .source
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            prompt_counts_commands: f.prompt_counts_commands,
            binary: f.binary || f.archive.is_some(),
        })
    }

    /// What the backup runs, for messages: the commands, the files read
    /// (protocol and paths), or the requests of an HTTPS input (method and
    /// path).
    pub fn backup_steps(&self) -> String {
        match &self.input {
            Input::Cli => self.commands.join("; "),
            Input::Files(f) => format!("{} {}", f.protocol.name(), f.paths.join(" ")),
            Input::Https(api) => api.labels(),
        }
    }

    /// Who last changed the configuration, as the raw output of the backup
    /// commands says (the first match of the `author` rule): a user name of
    /// 1 to 64 printable characters without spaces, else nothing.
    pub fn author(&self, raw: &str) -> Option<String> {
        let user = self.author.as_ref()?.captures(raw)?.get(1)?.as_str().trim();
        devicevault_core::is_author_name(user).then(|| user.to_owned())
    }

    /// `Err(why)` when `text`, the raw output of the backup commands, is
    /// not a complete configuration of the platform.
    pub fn check_complete(&self, text: &str) -> Result<(), String> {
        self.complete.check(text)
    }

    /// `Err(why)` when `bytes`, a binary configuration, is smaller than the
    /// driver's `[complete] min_bytes` (the one rule that applies to bytes).
    pub fn check_complete_bytes(&self, bytes: &[u8]) -> Result<(), String> {
        if self.complete.check && bytes.len() < self.complete.min_bytes {
            return Err(format!(
                "only {} bytes arrived and a configuration of this platform has at least {}",
                bytes.len(),
                self.complete.min_bytes
            ));
        }
        Ok(())
    }

    /// The last few non-blank lines of `text` for an error message: the
    /// driver's secret rules applied whatever the device asked, each line
    /// and the whole bounded, ` | `-separated.
    pub fn masked_tail(&self, text: &str) -> String {
        let mut tail: Vec<String> = text
            .lines()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(TAIL_LINES)
            .map(|l| self.mask_cut(l, TAIL_LINE_CHARS))
            .collect();
        tail.reverse();
        let joined = tail.join(" | ");
        if joined.chars().count() <= TAIL_CHARS {
            return joined;
        }
        // Keep the end, where the cut or the refusal is.
        let skip = joined.chars().count() - (TAIL_CHARS - 1);
        format!("…{}", joined.chars().skip(skip).collect::<String>())
    }

    /// One line of device output fit for a job's log: the driver's secret
    /// rules applied whatever the device asked, then cut to
    /// `REPORT_LINE_CHARS` characters.
    pub fn mask_line(&self, line: &str) -> String {
        self.mask_cut(line, REPORT_LINE_CHARS)
    }

    fn mask_cut(&self, line: &str, max_chars: usize) -> String {
        let mut masked = self.secrets.apply(line.trim_end()).into_owned();
        // Masked first, cut after: a cut must not hide a secret from the
        // rule that would have masked it.
        if masked.chars().count() > max_chars {
            masked = masked.chars().take(max_chars - 1).collect();
            masked.push('…');
        }
        masked
    }

    /// Applies the driver's filters to clean command output, in this order:
    /// `remove_blocks` drops volatile blocks, `remove_lines` volatile lines,
    /// `replace` rewrites what is left of each kept line, and `secrets` mask
    /// it when `remove_secrets` is set. Lines keep their order; the result
    /// ends with exactly one newline unless it is empty.
    pub fn filter(&self, text: &str, remove_secrets: bool) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let dropped = self.blocks_dropped(&lines);
        let mut out = String::with_capacity(text.len());
        for (i, line) in lines.iter().enumerate() {
            if dropped.get(i).copied().unwrap_or(false)
                || self.remove_lines.iter().any(|r| r.is_match(line))
            {
                continue;
            }
            let kept = self.replace.apply(line);
            if remove_secrets {
                out.push_str(&self.secrets.apply(&kept));
            } else {
                out.push_str(&kept);
            }
            out.push('\n');
        }
        out
    }

    /// Which lines the `remove_blocks` rules drop: `true` at each dropped
    /// index (empty when the driver has no block rule). At each line not yet
    /// in a block, the rules are tried in their order; a block whose `end`
    /// never comes drops nothing (see [`BlockRule`]).
    fn blocks_dropped(&self, lines: &[&str]) -> Vec<bool> {
        if self.remove_blocks.is_empty() {
            return Vec::new();
        }
        let mut dropped = vec![false; lines.len()];
        // Per rule, the index from which no `end` line follows: a later
        // `begin` of that rule cannot close either, so it is not searched
        // again (linear time on an output full of unclosed begins).
        let mut no_end_from = vec![usize::MAX; self.remove_blocks.len()];
        let mut i = 0;
        'lines: while i < lines.len() {
            for (r, rule) in self.remove_blocks.iter().enumerate() {
                if i >= no_end_from[r] || !rule.begin.is_match(lines[i]) {
                    continue;
                }
                let Some(end) = (i + 1..lines.len()).find(|&j| rule.end.is_match(lines[j])) else {
                    no_end_from[r] = i;
                    continue;
                };
                let (from, to) = if rule.keep_markers {
                    (i + 1, end)
                } else {
                    (i, end + 1)
                };
                for d in &mut dropped[from..to] {
                    *d = true;
                }
                i = end + 1;
                continue 'lines;
            }
            i += 1;
        }
        dropped
    }

    /// What decides whether a filtered configuration is a new version, for a
    /// driver with `ignore_for_change` rules: the SHA-256 (lowercase hex) of
    /// its lines that no such rule matches, each ended by a newline. `None`
    /// for a driver without any: then the stored content itself decides, as
    /// it always did. `filtered` is [`Driver::filter`]'s output, the text
    /// that is stored.
    pub fn change_key(&self, filtered: &str) -> Option<String> {
        if self.ignore_for_change.is_empty() {
            return None;
        }
        let mut h = Sha256::new();
        for line in filtered.lines() {
            if self.ignore_for_change.iter().any(|r| r.is_match(line)) {
                continue;
            }
            h.update(line.as_bytes());
            h.update(b"\n");
        }
        Some(
            h.finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        )
    }
}

/// Applies `rules` to `line` in their order, allocating only when one matches.
/// The drivers available to a collector: the built-in ones, plus or overridden
/// by those of a user directory.
#[derive(Debug, Clone)]
pub struct DriverSet {
    drivers: BTreeMap<String, Arc<Driver>>,
}

impl DriverSet {
    /// The built-in drivers only.
    pub fn builtin() -> DriverSet {
        let mut drivers = BTreeMap::new();
        for (name, text) in BUILTIN {
            // Built-in drivers are checked by the unit tests; a broken one is a
            // build defect, so failing loudly here is right.
            let d = Driver::from_toml(text, DriverSource::BuiltIn)
                .unwrap_or_else(|e| panic!("built-in driver {name} is invalid: {e}"));
            assert_eq!(&d.name, name, "built-in driver file name and `name` differ");
            drivers.insert(d.name.clone(), Arc::new(d));
        }
        DriverSet { drivers }
    }

    /// The built-in drivers, plus every `*.toml` of `dir`. A user driver with
    /// the name of a built-in one replaces it. The file stem must equal the
    /// driver's `name`.
    pub fn with_user_dir(dir: &Path) -> Result<DriverSet, CollectError> {
        let mut set = DriverSet::builtin();
        let entries = std::fs::read_dir(dir).map_err(|e| CollectError::InvalidDriver {
            name: dir.display().to_string(),
            reason: format!("cannot read driver directory: {e}"),
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| CollectError::InvalidDriver {
                name: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let d = Driver::from_toml(&text, DriverSource::User(path.clone()))?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if stem != d.name {
                return Err(CollectError::InvalidDriver {
                    name: path.display().to_string(),
                    reason: format!(
                        "file is named `{stem}` but declares `name = \"{}\"`",
                        d.name
                    ),
                });
            }
            set.drivers.insert(d.name.clone(), Arc::new(d));
        }
        Ok(set)
    }

    /// The driver called `name`.
    pub fn get(&self, name: &str) -> Result<Arc<Driver>, CollectError> {
        self.drivers
            .get(name)
            .cloned()
            .ok_or_else(|| CollectError::UnknownDriver(name.to_owned()))
    }

    /// Every driver, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Driver>> {
        self.drivers.values()
    }

    /// The names of the built-in platforms.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_builtin_drivers_load_and_name_their_sources() {
        let set = DriverSet::builtin();
        let names: Vec<_> = set.iter().map(|d| d.name.as_str()).collect();
        for p in [
            "cisco_ios",
            "cisco_nxos",
            "cisco_iosxr",
            "cisco_asa",
            "arista_eos",
            "juniper_junos",
            "mikrotik_routeros",
            "fortinet_fortios",
            "paloalto_panos",
            "huawei_vrp",
            "hp_procurve",
            "dell_os10",
            "vyos",
            "linux",
            "extreme_voss",
            "dell_os6",
            "sonicwall_sonicos",
            "a10_acos",
            "watchguard_fireware",
            "nvidia_onyx",
            "nokia_sros",
            "citrix_netscaler",
            "cumulus_nvue",
            "alcatel_aos",
            "nokia_sros_md",
            "aruba_aoscx",
            "hp_comware",
            "ruckus_fastiron",
            "extreme_exos",
            "dell_os9",
            "alliedtelesis_awplus",
            "cisco_smb",
            "ubiquiti_edgeos",
            "cisco_wlc",
            "f5_tmos",
            "f5_tmos_ucs",
            "checkpoint_gaia",
            "aruba_os",
            "cisco_viptela",
            "cisco_ftd",
            "juniper_screenos",
            "brocade_ironware",
            "ubiquiti_edgeswitch",
            "aruba_instant",
            "brocade_fos",
            "ubiquiti_airos",
            "zyxel_os",
            "ciena_saos",
            "netgear_prosafe",
            "tplink_jetstream",
            "dlink_ds",
            "edgecore",
            "opengear",
            "cumulus_nclu",
            "cisco_fxos",
            "ericsson_ipos",
            "pfsense",
            "opnsense",
            "apc_nmc",
            "paloalto_panos_api",
            "fortinet_fortios_api",
        ] {
            assert!(names.contains(&p), "missing {p}");
        }
        assert_eq!(names.len(), BUILTIN.len());
        for d in set.iter() {
            assert!(
                d.facts_source.as_deref().is_some_and(|s| s.len() > 20),
                "{}: no `source`",
                d.name
            );
        }
    }

    fn files_driver(extra: &str) -> Result<Driver, CollectError> {
        Driver::from_toml(
            &format!(
                "name = \"f\"\ndescription = \"f\"\n{extra}\n[complete]\ncheck = false\nreason = \"test\"\n"
            ),
            DriverSource::BuiltIn,
        )
    }

    #[test]
    fn a_file_input_reads_absolute_paths_with_a_header_and_refuses_cli_keys() {
        let d = files_driver("input = \"scp\"\nfiles = [\"/config.ini\", \"/event.txt\"]").unwrap();
        assert!(matches!(
            &d.input,
            Input::Files(f) if *f == FileInput {
                protocol: FileProtocol::Scp,
                paths: vec!["/config.ini".into(), "/event.txt".into()],
                header: DEFAULT_FILE_HEADER.into(),
                prepare: vec![],
                archive: None,
            }
        ));
        assert_eq!(d.input.name(), "scp");
        let d = files_driver("input = \"sftp\"\nfiles = [\"/a\"]\nfile_header = \"--- {path}\"")
            .unwrap();
        assert!(matches!(&d.input, Input::Files(f) if f.header == "--- {path}"));
        for (extra, why) in [
            ("input = \"sftp\"\nfiles = []", "`files` is empty"),
            ("input = \"sftp\"\nfiles = [\"a.xml\"]", "is not absolute"),
            ("input = \"sftp\"\nfiles = [\"/a/../b\"]", "contains `..`"),
            ("input = \"scp\"\nfiles = [\"/a'; reboot; '\"]", "a quote"),
            ("input = \"scp\"\nfiles = [\"/conf/\"]", "names a directory"),
            (
                "input = \"sftp\"\nfiles = [\"/a\"]\ncommands = [\"show\"]",
                "cannot be combined",
            ),
            (
                "input = \"sftp\"\nfiles = [\"/a\"]\nexec = true",
                "cannot be combined",
            ),
            (
                "input = \"sftp\"\nfiles = [\"/a\"]\nfile_header = \"no path\"",
                "`file_header`",
            ),
            (
                "prompt = '>'\ncommands = [\"show\"]\nfiles = [\"/a\"]",
                "needs a file input",
            ),
            ("commands = [\"show\"]", "`prompt` is missing"),
            ("input = \"tftp\"\nfiles = [\"/a\"]", "`input` is `tftp`"),
        ] {
            let err = files_driver(extra).unwrap_err().to_string();
            assert!(err.contains(why), "{extra}: {err}");
        }
        // The CLI stays the default.
        let d = files_driver("prompt = '>'\ncommands = [\"show\"]").unwrap();
        assert!(d.input.is_cli());
        assert_eq!(d.input.name(), "cli");
    }

    #[test]
    fn a_binary_driver_reads_files_or_https_and_refuses_every_text_rule() {
        let d = files_driver("input = \"sftp\"\nbinary = true\nfiles = [\"/a.ucs\"]\nprepare = [\"tmsh save /sys ucs /a.ucs\"]").unwrap();
        assert!(d.binary);
        assert!(matches!(
            &d.input,
            Input::Files(f) if f.prepare == ["tmsh save /sys ucs /a.ucs"] && f.archive.is_none()
        ));
        // An archive of several files implies binary.
        let d =
            files_driver("input = \"scp\"\narchive = \"tar\"\nfiles = [\"/a\", \"/b\"]").unwrap();
        assert!(d.binary);
        assert!(matches!(&d.input, Input::Files(f) if f.archive == Some(Archive::Tar)));
        // Text drivers stay text.
        assert!(
            !files_driver("input = \"sftp\"\nfiles = [\"/a\"]")
                .unwrap()
                .binary
        );
        let api = "input = \"https\"\nbinary = true\n[[requests]]\npath = \"/backup\"";
        assert!(files_driver(api).unwrap().binary);
        let bin = "input = \"sftp\"\nbinary = true\nfiles = [\"/a\"]";
        for (extra, why) in [
            (
                "prompt = '>'\ncommands = [\"show\"]\nbinary = true",
                "`binary = true` needs a file input",
            ),
            (
                "prompt = '>'\ncommands = [\"show\"]\narchive = \"tar\"",
                "`archive` stores the `files`",
            ),
            (
                "prompt = '>'\ncommands = [\"show\"]\nprepare = [\"x\"]",
                "`prepare` runs commands",
            ),
            (
                &format!("{bin}\nremove_lines = ['^x']"),
                "`remove_lines` reads text",
            ),
            (
                &format!("{bin}\nauthor = 'by (\\S+)'"),
                "`author` reads text",
            ),
            (
                &format!("{bin}\nignore_for_change = ['^x']"),
                "`ignore_for_change` reads text",
            ),
            (
                &format!("{bin}\n[[secrets]]\npattern = 'x'\nreplace = 'y'"),
                "`secrets` reads text",
            ),
            (
                &format!("{bin}\n[[replace]]\npattern = 'x'\nreplace = 'y'"),
                "`replace` reads text",
            ),
            (
                &format!("{bin}\n[[remove_blocks]]\nbegin = 'x'\nend = 'y'"),
                "`remove_blocks` reads text",
            ),
            (
                "input = \"sftp\"\nbinary = true\nfiles = [\"/a\", \"/b\"]",
                "add `archive = \"tar\"`",
            ),
            (
                "input = \"sftp\"\narchive = \"zip\"\nfiles = [\"/a\"]",
                "`archive` is `zip`",
            ),
            (
                "input = \"sftp\"\narchive = \"tar\"\nfile_header = \"# {path}\"\nfiles = [\"/a\"]",
                "`file_header` joins text",
            ),
            (
                "input = \"sftp\"\nfiles = [\"/a\"]\nprepare = [\"a\\nb\"]",
                "`prepare`: ",
            ),
            (
                "input = \"https\"\nbinary = true\n[[requests]]\npath = \"/x\"\nconfig = { json = \"/config\" }",
                "`requests.config` picks text",
            ),
        ] {
            let err = files_driver(extra).unwrap_err().to_string();
            assert!(err.contains(why), "{extra}: {err}");
        }
        // The text shapes of `[complete]` do not apply to bytes; `min_bytes` does.
        let complete = |rule: &str| {
            Driver::from_toml(
                &format!(
                    "name = \"f\"\ndescription = \"f\"\n{bin}\n[complete]\nreason = \"binary\"\n{rule}\n"
                ),
                DriverSource::BuiltIn,
            )
        };
        for rule in [
            "ends_with = '^end$'",
            "starts_with = '^x'",
            "balanced_braces = true",
        ] {
            let err = complete(rule).unwrap_err().to_string();
            assert!(err.contains("reads text"), "{rule}: {err}");
        }
        let d = complete("min_bytes = 4").unwrap();
        assert!(d.check_complete_bytes(b"\x1f\x8b\x08\x00").is_ok());
        assert!(
            d.check_complete_bytes(b"\x1f\x8b")
                .unwrap_err()
                .contains("only 2 bytes")
        );
    }

    #[test]
    fn the_f5_ucs_driver_saves_the_archive_then_reads_it_as_binary() {
        let d = DriverSet::builtin().get("f5_tmos_ucs").unwrap();
        assert!(d.binary);
        let Input::Files(f) = &d.input else {
            panic!("a file input")
        };
        assert_eq!(f.protocol, FileProtocol::Sftp);
        assert_eq!(f.paths, ["/var/local/ucs/devicevault.ucs"]);
        assert_eq!(
            f.prepare,
            ["tmsh save /sys ucs /var/local/ucs/devicevault.ucs"]
        );
        assert!(d.secrets.is_empty() && d.author.is_none());
    }

    #[test]
    fn pfsense_drops_its_revision_block_and_masks_its_hashes() {
        let d = DriverSet::builtin().get("pfsense").unwrap();
        let raw = "<?xml version=\"1.0\"?>\n<pfsense>\n\t<system>\n\t\t<bcrypt-hash>$2y$10$abc</bcrypt-hash>\n\t</system>\n\t<revision>\n\t\t<time>1733500800</time>\n\t\t<description><![CDATA[x]]></description>\n\t\t<username><![CDATA[jdoe@192.0.2.10 (Local Database)]]></username>\n\t</revision>\n</pfsense>\n";
        assert_eq!(d.check_complete(raw), Ok(()));
        assert_eq!(d.author(raw).as_deref(), Some("jdoe"));
        let out = d.filter(raw, true);
        assert!(
            !out.contains("revision") && !out.contains("1733500800"),
            "{out}"
        );
        assert!(
            out.contains("<bcrypt-hash><removed></bcrypt-hash>"),
            "{out}"
        );
        assert!(d.check_complete(&raw[..raw.len() - 11]).is_err());
    }

    #[test]
    fn unknown_driver_is_a_permanent_error_naming_it() {
        let err = DriverSet::builtin().get("nokia_srl").unwrap_err();
        assert!(err.to_string().contains("nokia_srl"));
        assert!(!devicevault_core::RetryClass::is_transient(&err));
    }

    #[test]
    fn substitutions_skip_unmatched_lines_and_apply_every_rule_in_order() {
        let rule = |p: &str, r: &str| SecretRule {
            pattern: compile("t", "secrets", p).unwrap(),
            replace: r.into(),
        };
        // The second rule only matches what the first one wrote.
        let subs = Substitutions::new(vec![
            rule(r"^(password) \S+", "$1 FIRST"),
            rule(r"FIRST$", "<removed>"),
            rule(r"^(snmp community) \S+", "$1 <removed>"),
        ]);
        assert!(matches!(
            subs.apply("hostname r1"),
            Cow::Borrowed("hostname r1")
        ));
        assert_eq!(subs.apply("password s3cr3t"), "password <removed>");
        assert_eq!(
            subs.apply("snmp community public"),
            "snmp community <removed>"
        );
        assert_eq!(subs.len(), 3);
        let none = Substitutions::new(Vec::new());
        assert!(matches!(none.apply("x"), Cow::Borrowed("x")));
    }

    #[test]
    fn ios_filter_removes_volatile_lines_and_masks_secrets_only_when_asked() {
        let d = DriverSet::builtin().get("cisco_ios").unwrap();
        let raw = "Building configuration...\n\nCurrent configuration : 1234 bytes\n!\n\
                   ! Last configuration change at 10:00:01 UTC Sat Nov 28 2026 by admin\n\
                   hostname R1\nenable secret 5 $1$abcd$efgh\nsnmp-server community S3cr3t RO\n\
                   ntp clock-period 17179869\nend\n";
        let plain = d.filter(raw, false);
        assert!(!plain.contains("Current configuration"));
        assert!(!plain.contains("Last configuration change"));
        assert!(!plain.contains("ntp clock-period"));
        assert!(!plain.contains("Building configuration"));
        assert!(plain.contains("hostname R1\n"));
        assert!(plain.contains("snmp-server community S3cr3t RO"));
        assert!(plain.contains("$1$abcd$efgh"));
        let masked = d.filter(raw, true);
        assert!(!masked.contains("S3cr3t"));
        assert!(!masked.contains("$1$abcd$efgh"));
        assert!(masked.contains("snmp-server community <removed> RO"));
        assert!(masked.contains("hostname R1\n"));
    }

    #[test]
    fn user_directory_overrides_and_adds_drivers() {
        let dir = tempfile::tempdir().unwrap();
        let custom = r#"
name = "cisco_ios"
description = "site-specific IOS"
prompt = '^\S+[>#]\s*$'
commands = ["show startup-config"]
[complete]
ends_with = '^end$'
"#;
        std::fs::write(dir.path().join("cisco_ios.toml"), custom).unwrap();
        let extra = custom
            .replace("\"cisco_ios\"", "\"acme_os\"")
            .replace("site-specific IOS", "ACME");
        std::fs::write(dir.path().join("acme_os.toml"), extra).unwrap();
        let set = DriverSet::with_user_dir(dir.path()).unwrap();
        let ios = set.get("cisco_ios").unwrap();
        assert_eq!(ios.commands, vec!["show startup-config".to_owned()]);
        assert!(matches!(ios.source, DriverSource::User(_)));
        assert_eq!(set.get("acme_os").unwrap().description, "ACME");
        assert_eq!(set.iter().count(), DriverSet::builtin_names().len() + 1);
    }

    #[test]
    fn a_user_driver_with_a_bad_regex_is_rejected_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            "name = \"bad\"\ndescription = \"x\"\nprompt = '(['\ncommands = [\"x\"]\n[complete]\nends_with = 'end'\n",
        )
        .unwrap();
        let err = DriverSet::with_user_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("prompt"), "{err}");
    }

    #[test]
    fn unknown_fields_in_a_driver_are_rejected() {
        let err = Driver::from_toml(
            "name = \"x\"\ndescription = \"x\"\nprompt = '>'\ncommands = [\"x\"]\nprompmt = 'typo'\n",
            DriverSource::BuiltIn,
        )
        .unwrap_err();
        assert!(err.to_string().contains("prompmt"), "{err}");
    }

    const MINIMAL: &str = "name = \"x\"\ndescription = \"x\"\nprompt = '>'\ncommands = [\"x\"]\n";

    #[test]
    fn a_driver_without_a_completeness_rule_or_a_reason_does_not_load() {
        let err = Driver::from_toml(MINIMAL, DriverSource::BuiltIn).unwrap_err();
        assert!(err.to_string().contains("[complete]"), "{err}");
        for bad in [
            "[complete]\nstarts_with = '^!'\n",
            "[complete]\ncheck = false\n",
            "[complete]\nreason = \"no ending\"\n",
        ] {
            let err =
                Driver::from_toml(&format!("{MINIMAL}{bad}"), DriverSource::BuiltIn).unwrap_err();
            assert!(
                matches!(err, CollectError::InvalidDriver { .. }),
                "{bad}: {err}"
            );
        }
        for good in [
            "[complete]\nends_with = '^end$'\n",
            "[complete]\nbalanced_braces = true\n",
            "[complete]\nstarts_with = '^!'\nreason = \"no closing line\"\n",
            "[complete]\ncheck = false\nreason = \"a plain file\"\n",
        ] {
            Driver::from_toml(&format!("{MINIMAL}{good}"), DriverSource::BuiltIn)
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn every_builtin_driver_states_its_completeness_rule() {
        for d in DriverSet::builtin().iter() {
            let c = &d.complete;
            assert!(
                c.ends_with.is_some() || c.balanced_braces || c.reason.is_some(),
                "{}",
                d.name
            );
            assert!(c.check || d.name == "linux", "{} opts out", d.name);
        }
    }

    #[test]
    fn aaa_refusals_are_not_configurations() {
        let set = DriverSet::builtin();
        // Each refusal as its platform prints it instead of the configuration.
        for (driver, refusal) in [
            ("cisco_ios", "Command authorization failed.\n"),
            (
                "arista_eos",
                "% Authorization denied for command 'show running-config': Authorization denied by TACACS+ server\n",
            ),
            ("cisco_nxos", "% Permission denied for the role\n"),
            ("cisco_iosxr", "% This command is not authorized\n"),
            (
                "huawei_vrp",
                "Error: You do not have permission to run the command or the command is incomplete.\n",
            ),
            ("fortinet_fortios", "Permission denied\n"),
            ("paloalto_panos", "Server error : access denied\n"),
        ] {
            let d = set.get(driver).unwrap();
            assert!(
                refusal
                    .lines()
                    .any(|l| d.error_patterns.iter().any(|p| p.is_match(l))),
                "{driver}: `{refusal}` not an error"
            );
            assert!(d.check_complete(refusal).is_err(), "{driver}");
        }
        // A refusal no pattern knows is still no configuration.
        for d in set.iter().filter(|d| d.complete.check) {
            assert!(
                d.check_complete("% Access to this command is denied by policy\n")
                    .is_err(),
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn the_author_of_the_last_change_is_read_where_the_platform_prints_it() {
        let set = DriverSet::builtin();
        let author = |driver: &str, raw: &str| set.get(driver).unwrap().author(raw);
        assert_eq!(
            author("cisco_ios", "Building configuration...\n!\n! Last configuration change at 03:12:44 UTC Mon Dec 7 2026 by jdoe\n! NVRAM config last updated at 01:00:00 UTC Mon Dec 7 2026 by admin\nhostname r1\nend\n").as_deref(),
            Some("jdoe")
        );
        assert_eq!(
            author("cisco_ios", "!\nhostname r1\nend\n"),
            None,
            "never changed since boot"
        );
        assert_eq!(
            author(
                "juniper_junos",
                "## Last commit: 2026-12-07 03:12:44 UTC by netops\nversion 20.4R3.8;\n"
            )
            .as_deref(),
            Some("netops")
        );
        assert_eq!(
            author("cisco_iosxr", "!! IOS XR Configuration 7.3.2\n!! Last configuration change at Mon Dec  7 03:12:44 2026 by ops1\n").as_deref(),
            Some("ops1")
        );
        assert_eq!(
            author("fortinet_fortios", "#config-version=FGT60F-7.0.12-FW-build0523-230523:opmode=0:vdom=0:user=fwadmin\n#conf_file_ver=1\n").as_deref(),
            Some("fwadmin")
        );
        assert_eq!(
            author(
                "cisco_asa",
                ": Saved\n: Written by enable_15 at 03:12:44.123 UTC Mon Dec 7 2026\n"
            )
            .as_deref(),
            Some("enable_15")
        );
        assert_eq!(
            author(
                "arista_eos",
                "! Startup-config last modified at Mon Dec  7 03:12:44 2026 by admin\n"
            )
            .as_deref(),
            Some("admin")
        );
        // IPOS names the user, and separately the system's own writes:
        // only the user's line counts.
        assert_eq!(
            author(
                "ericsson_ipos",
                "Current configuration:\n! Configuration last changed by user 'jdoe' at Mon Dec  7 03:12:44 2026\n! Configuration last changed by system user 'ism' at Mon Dec  7 03:14:02 2026\n"
            )
            .as_deref(),
            Some("jdoe")
        );
        assert_eq!(
            author("cisco_nxos", "!Command: show running-config\n"),
            None,
            "no rule: no author"
        );
        let long = format!(
            "## Last commit: 2026-12-07 03:12:44 UTC by {}\n",
            "x".repeat(65)
        );
        assert_eq!(author("juniper_junos", &long), None, "not a user name");
    }

    #[test]
    fn an_author_rule_without_a_capture_group_is_refused() {
        let toml = r#"
name = "x"
description = "x"
prompt = '#$'
commands = ["show"]
author = '^by \S+'
[complete]
check = false
reason = "test"
"#;
        let err = Driver::from_toml(toml, DriverSource::BuiltIn)
            .unwrap_err()
            .to_string();
        assert!(err.contains("capture group"), "{err}");
    }

    #[test]
    fn endings_and_braces_tell_a_whole_configuration_from_a_cut_one() {
        let set = DriverSet::builtin();
        let ios = set.get("cisco_ios").unwrap();
        let whole = "Building configuration...\n\nhostname R1\n!\ninterface Gi0/0\n ip address 10.0.0.1 255.255.255.0\n!\nend\n\n";
        assert_eq!(ios.check_complete(whole), Ok(()));
        let cut = &whole[..whole.find("!\nend").unwrap()];
        let why = ios.check_complete(cut).unwrap_err();
        assert!(why.contains("last line"), "{why}");
        assert!(ios.check_complete("end\n").unwrap_err().contains("bytes"));

        let junos = set.get("juniper_junos").unwrap();
        let tree = "## Last commit: 2026-11-28 10:00:01 UTC by admin\nversion 20.4R3.8;\nsystem {\n    host-name r1;\n    login {\n        message \"{ not a block\";\n    }\n}\n";
        assert_eq!(junos.check_complete(tree), Ok(()));
        let cut = &tree[..tree.find("    }").unwrap()];
        assert!(junos.check_complete(cut).unwrap_err().contains("open"));
        assert!(junos.check_complete("}\nsystem {\n}\n{\n").is_err());

        let nxos = set.get("cisco_nxos").unwrap();
        let cfg = "\n!Command: show running-config\n!Time: Sun Dec  6 10:00:01 2026\n\nversion 9.3(8)\nhostname n1\n";
        assert_eq!(nxos.check_complete(cfg), Ok(()));
        assert!(
            nxos.check_complete(
                "% Invalid command at '^' marker.\nmore text to pass the size backstop\n"
            )
            .is_err()
        );
        assert_eq!(set.get("linux").unwrap().check_complete(""), Ok(()));
    }

    #[test]
    fn the_tail_in_an_error_is_short_and_masks_secrets() {
        let ios = DriverSet::builtin().get("cisco_ios").unwrap();
        let mut text = String::new();
        for i in 0..50 {
            text.push_str(&format!("interface Gi0/{i}\n"));
        }
        text.push_str("snmp-server community S3cr3tC0mm RO\n");
        text.push_str(&format!("banner motd {}\n", "x".repeat(2000)));
        let tail = ios.masked_tail(&text);
        assert!(!tail.contains("S3cr3tC0mm"), "{tail}");
        assert!(tail.contains("<removed>"), "{tail}");
        assert!(tail.chars().count() <= 500, "{}", tail.len());
        assert!(!tail.contains("Gi0/40"), "at most five lines: {tail}");
        let short = ios.masked_tail("a\n\nb\nCommand authorization failed.\n");
        assert_eq!(short, "a | b | Command authorization failed.");
    }

    /// A driver of `MINIMAL` plus `extra` TOML.
    fn with_filters(extra: &str) -> Driver {
        Driver::from_toml(
            &format!("{MINIMAL}{extra}\n[complete]\ncheck = false\nreason = \"test\"\n"),
            DriverSource::BuiltIn,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// pfSense/OPNsense `config.xml` keep the last change in a `<revision>`
    /// element (its `<time>` a Unix time, its `<description>` what changed:
    /// opnsense/plugins issue 942 shows one) and may carry RRD graphs in
    /// `<rrddata>` (pfSense's "skip RRD data" backup option).
    const CONFIG_XML: &str = "<?xml version=\"1.0\"?>\n<pfsense>\n  <version>22.9</version>\n  \
        <revision>\n    <username>(system)</username>\n    <time>1540844760.4583</time>\n    \
        <description>/usr/local/www/firewall_rules.php made changes</description>\n  </revision>\n  \
        <system>\n    <hostname>fw1</hostname>\n  </system>\n  <rrddata>\n    <rrddatafile>\n      \
        <filename>wan-traffic.rrd</filename>\n      <xmldata>eJzt3X9s1PUdx/H3</xmldata>\n    \
        </rrddatafile>\n  </rrddata>\n</pfsense>\n";

    #[test]
    fn remove_blocks_drops_each_volatile_block_from_begin_to_the_next_end() {
        let d = with_filters(
            "[[remove_blocks]]\nbegin = '^\\s*<revision>$'\nend = '^\\s*</revision>$'\n\
             [[remove_blocks]]\nbegin = '^\\s*<rrddata>$'\nend = '^\\s*</rrddata>$'\n",
        );
        let out = d.filter(CONFIG_XML, false);
        assert_eq!(
            out,
            "<?xml version=\"1.0\"?>\n<pfsense>\n  <version>22.9</version>\n  <system>\n    \
             <hostname>fw1</hostname>\n  </system>\n</pfsense>\n"
        );
        // Twice the same block: each occurrence goes, what is between stays.
        let twice = "a\n<revision>\nx\n</revision>\nb\n<revision>\ny\n</revision>\nc\n";
        assert_eq!(
            with_filters("[[remove_blocks]]\nbegin = '^<revision>$'\nend = '^</revision>$'\n")
                .filter(twice, false),
            "a\nb\nc\n"
        );
    }

    #[test]
    fn keep_markers_keeps_the_element_and_drops_only_its_content() {
        let d = with_filters(
            "[[remove_blocks]]\nbegin = '^\\s*<revision>$'\nend = '^\\s*</revision>$'\nkeep_markers = true\n",
        );
        let out = d.filter(CONFIG_XML, false);
        assert!(out.contains("  <revision>\n  </revision>\n"), "{out}");
        assert!(
            !out.contains("<time>") && !out.contains("made changes"),
            "{out}"
        );
        assert!(out.contains("<rrddata>") && out.contains("<hostname>fw1</hostname>"));
    }

    #[test]
    fn a_block_never_ends_on_its_own_begin_line_like_a_sed_range() {
        // Alike markers: the end is looked for from the next line on.
        let d = with_filters("[[remove_blocks]]\nbegin = '^!$'\nend = '^!$'\n");
        assert_eq!(d.filter("a\n!\nx\ny\n!\nb\n", false), "a\nb\n");
        // A one-line element is no block; `remove_lines` is for it.
        let d = with_filters("[[remove_blocks]]\nbegin = '<time>'\nend = '</time>'\n");
        assert_eq!(
            d.filter("<time>1</time>\nkeep\n<time>2</time>\n", false),
            "",
            "the first begin ran to the next line that ends a block, taking `keep` with it"
        );
    }

    #[test]
    fn an_unterminated_block_keeps_its_lines_instead_of_swallowing_the_rest() {
        let d = with_filters(
            "remove_lines = ['^volatile']\n\
             [[remove_blocks]]\nbegin = '^<revision>$'\nend = '^</revision>$'\n",
        );
        // The end never comes: nothing from the begin on is dropped, but
        // the other filters still apply to those lines.
        let cut = "hostname fw1\n<revision>\n<time>1</time>\nvolatile 7\nrule 1\nrule 2\n";
        assert_eq!(
            d.filter(cut, false),
            "hostname fw1\n<revision>\n<time>1</time>\nrule 1\nrule 2\n"
        );
        // A closed block before an unclosed begin still goes.
        let text = "a\n<revision>\nx\n</revision>\nb\n<revision>\nc\n";
        assert_eq!(d.filter(text, false), "a\nb\n<revision>\nc\n");
        // Many unclosed begins: each kept, in linear time.
        let many = "<revision>\n".repeat(50_000);
        assert_eq!(d.filter(&many, false), many);
    }

    #[test]
    fn remove_blocks_rules_apply_in_order_and_a_dropped_block_hides_other_begins() {
        let d = with_filters(
            "[[remove_blocks]]\nbegin = '^outer$'\nend = '^/outer$'\n\
             [[remove_blocks]]\nbegin = '^inner$'\nend = '^/inner$'\n",
        );
        // `inner` opens inside `outer` and closes after it: the outer block
        // goes whole, and the stray `/inner` is kept as any line.
        assert_eq!(
            d.filter("a\nouter\ninner\n/outer\n/inner\nb\n", false),
            "a\n/inner\nb\n"
        );
    }

    #[test]
    fn replace_rewrites_kept_lines_always_and_before_the_secret_rules() {
        let d = with_filters(
            "remove_lines = ['^# generated']\n\
             [[replace]]\npattern = '^(Cluster uptime:).*'\nreplace = '$1 <stripped>'\n\
             [[replace]]\npattern = '(packets-in) \\d+'\nreplace = '$1 <n>'\n\
             [[secrets]]\npattern = '^(snmp community) \\S+'\nreplace = '$1 <removed>'\n",
        );
        let raw = "# generated now\nCluster uptime: 12 days, 3 hours\ncounter packets-in 9981 packets-in 2\nsnmp community S3cr3t\n";
        let kept = d.filter(raw, false);
        assert_eq!(
            kept,
            "Cluster uptime: <stripped>\ncounter packets-in <n> packets-in <n>\nsnmp community S3cr3t\n"
        );
        let masked = d.filter(raw, true);
        assert!(masked.contains("Cluster uptime: <stripped>\n"), "{masked}");
        assert!(masked.contains("snmp community <removed>\n"), "{masked}");
        // A line `remove_lines` drops is not rewritten back in.
        assert!(!kept.contains("generated"));
        // Two sessions whose only difference is the rotating value filter alike.
        let later = raw
            .replace("12 days, 3 hours", "12 days, 4 hours")
            .replace("9981", "10007");
        assert_eq!(d.filter(&later, false), kept);
    }

    #[test]
    fn ignore_for_change_keeps_the_lines_but_leaves_them_out_of_the_change_key() {
        let d = with_filters("ignore_for_change = ['^\\s*set \\S+ ENC ']\n");
        let a = "config vpn\n    set psksecret ENC AAAAsalt1Sx1q\nend\n";
        let b = "config vpn\n    set psksecret ENC BBBBsalt2Sx1q\nend\n";
        // Stored as they are...
        assert_eq!(d.filter(a, false), a);
        // ...but the same key when only an ignored line differs,
        let (ka, kb) = (d.change_key(a).unwrap(), d.change_key(b).unwrap());
        assert_eq!(ka, kb);
        assert!(devicevault_core::is_change_key(&ka), "{ka}");
        // and another key for any other difference, or an ignored line
        // more or less.
        let c = "config vpn\n    set psksecret ENC AAAAsalt1Sx1q\n    set mode aggressive\nend\n";
        assert_ne!(d.change_key(c).unwrap(), ka);
        assert_ne!(d.change_key("config vpn\nend\nend\n").unwrap(), ka);
        assert_eq!(d.change_key("config vpn\nend\n").unwrap(), ka);
        // Lines keep their bounds: joining two lines is a change.
        assert_ne!(d.change_key("config vpnend\n").unwrap(), ka);
        // Without rules there is no key: the content itself decides.
        assert_eq!(with_filters("").change_key(a), None);
    }

    #[test]
    fn filter_keys_with_a_bad_regex_or_an_unknown_field_do_not_load() {
        for (bad, what) in [
            (
                "[[remove_blocks]]\nbegin = '('\nend = 'x'\n",
                "remove_blocks.begin",
            ),
            (
                "[[remove_blocks]]\nbegin = 'x'\nend = '['\n",
                "remove_blocks.end",
            ),
            ("[[replace]]\npattern = '('\nreplace = ''\n", "replace"),
            ("ignore_for_change = ['(']\n", "ignore_for_change"),
            ("[[remove_blocks]]\nbegin = 'x'\n", "end"),
            (
                "[[remove_blocks]]\nbegin = 'x'\nend = 'y'\ninclusive = true\n",
                "inclusive",
            ),
        ] {
            let err = Driver::from_toml(
                &format!("{MINIMAL}{bad}\n[complete]\ncheck = false\nreason = \"t\"\n"),
                DriverSource::BuiltIn,
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(what), "{bad}: {err}");
        }
    }

    #[test]
    fn fortios_stores_re_encrypted_enc_secrets_but_ignores_them_for_change() {
        let d = DriverSet::builtin().get("fortinet_fortios").unwrap();
        let show = |psk: &str, user: &str| {
            format!(
                "#config-version=FGT60F-7.0.12-FW-build0523-230523:opmode=0:vdom=0:user=admin\n\
                 #conf_file_ver=3000000007\nconfig system admin\n    edit \"admin\"\n        \
                 set password ENC SH2{user}\n    next\nend\nconfig vpn ipsec phase1-interface\n    \
                 edit \"vpn1\"\n        set psksecret ENC {psk}\n    next\nend\n"
            )
        };
        let a = d.filter(&show("Wm9vMSx0aGUgc2FsdA==", "aa11"), false);
        let b = d.filter(&show("cXV1eCBvdGhlciBzYWx0", "aa11"), false);
        assert!(a.contains("set psksecret ENC Wm9vMSx0aGUgc2FsdA=="), "{a}");
        assert_ne!(a, b, "both stored as the device printed them");
        assert_eq!(d.change_key(&a), d.change_key(&b));
        // An administrator's password hash (`SH2`) is not re-encrypted: a
        // new one is a change.
        let c = d.filter(&show("Wm9vMSx0aGUgc2FsdA==", "bb22"), false);
        assert_ne!(d.change_key(&a), d.change_key(&c));
    }

    #[test]
    fn vyos_errors_indented_by_two_spaces_are_detected() {
        let d = DriverSet::builtin().get("vyos").unwrap();
        // As VyOS prints them (an Ansible vyos_command failure log on GitHub).
        for line in [
            "  Invalid command: show [interfacess]",
            "  Ambiguous command: show [i]",
            "  Incomplete command: set [terminal]",
        ] {
            assert!(
                d.error_patterns.iter().any(|p| p.is_match(line)),
                "`{line}` not detected"
            );
        }
        assert!(
            !d.error_patterns.iter().any(
                |p| p.is_match("set interfaces ethernet eth0 description 'Invalid command: x'")
            )
        );
    }

    /// The builtin driver `name`'s filters on `lines`, masked or not.
    fn filtered(name: &str, lines: &[&str], remove_secrets: bool) -> Vec<String> {
        let d = DriverSet::builtin().get(name).unwrap();
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        d.filter(&text, remove_secrets)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn aireos_drops_the_rogue_entries_but_not_the_rogue_settings() {
        let got = filtered(
            "cisco_wlc",
            &[
                "config rogue adhoc alert 02:1a:2b:3c:4d:5e",
                "config rogue client alert 6a:00:11:22:33:44",
                "config rogue ap timeout 1200",
                "config snmp community create c0mmun1ty",
                "config snmp community accessmode ro c0mmun1ty",
                "config snmp community ipaddr 10.0.0.0 255.0.0.0 c0mmun1ty",
                "config sysname wlc1",
            ],
            true,
        );
        assert_eq!(
            got,
            [
                "config rogue ap timeout 1200",
                "config snmp community create <removed>",
                "config snmp community accessmode ro <removed>",
                "config snmp community ipaddr 10.0.0.0 255.0.0.0 <removed>",
                "config sysname wlc1",
            ]
        );
    }

    #[test]
    fn tmos_drops_a_members_monitor_state_but_keeps_one_set_by_hand() {
        let lines = [
            "        /Common/192.0.2.21:80 {",
            "            state up",
            "        }",
            "        /Common/192.0.2.22:80 {",
            "            state user-down",
            "        }",
            "    encrypted-password $6$abc",
            "    communities {",
            "            community-name s3cret",
        ];
        let got = filtered("f5_tmos", &lines, true);
        assert!(!got.iter().any(|l| l == "            state up"), "{got:#?}");
        assert!(got.iter().any(|l| l == "            state user-down"));
        assert!(got.iter().any(|l| l == "    encrypted-password <removed>"));
        assert!(got.iter().any(|l| l == "    communities {"));
        assert!(
            got.iter()
                .any(|l| l == "            community-name <removed>")
        );
        let plain = filtered("f5_tmos", &lines, false);
        assert!(plain.iter().any(|l| l.ends_with("community-name s3cret")));
    }

    #[test]
    fn arubaos_masks_keys_and_communities_but_not_the_words_of_a_description() {
        let got = filtered(
            "aruba_os",
            &[
                "key \"r4dius\"",
                "pre-shared-key \"s7ate\"",
                "snmp-server community \"c0mm\"",
                "peer-ip-address 10.42.0.3 ipsec s3cret",
                "authentication pre-share",
                "description \"key server\"",
                "mgmt-user admin root ********************",
            ],
            true,
        );
        assert_eq!(
            got,
            [
                "key <removed>",
                "pre-shared-key <removed>",
                "snmp-server community <removed>",
                "peer-ip-address 10.42.0.3 ipsec <removed>",
                "authentication pre-share",
                "description \"key server\"",
                "mgmt-user admin root <removed>",
            ]
        );
    }

    #[test]
    fn gaia_viptela_and_screenos_mask_their_secret_lines_only() {
        assert_eq!(
            filtered(
                "checkpoint_gaia",
                &[
                    "# Exported by admin on Sat Nov 28 10:00:01 2026",
                    "set snmp community publ1c read-only",
                    "set user admin password-hash $6$abc",
                    "set interface eth1 comments \"password reset desk\"",
                ],
                true,
            ),
            [
                "set snmp community <removed> read-only",
                "set user admin password-hash <removed>",
                "set interface eth1 comments \"password reset desk\"",
            ]
        );
        assert_eq!(
            filtered(
                "cisco_viptela",
                &[
                    "   password $6$abc",
                    " community publ1c",
                    "  description \"password reset desk\"",
                ],
                true,
            ),
            [
                "   password <removed>",
                " community <removed>",
                "  description \"password reset desk\"",
            ]
        );
        assert_eq!(
            filtered(
                "juniper_screenos",
                &[
                    "Total Config size 3410:",
                    "set admin password \"nKVUM2abc\"",
                    "set ike gateway \"gw\" address 203.0.113.1 Main outgoing-interface \"ethernet0/0\" preshare \"k3y\" proposal \"pre-g2-aes128-sha\"",
                ],
                true,
            ),
            [
                "set admin password <removed>",
                "set ike gateway \"gw\" address 203.0.113.1 Main outgoing-interface \"ethernet0/0\" preshare \"<removed>\" proposal \"pre-g2-aes128-sha\"",
            ]
        );
    }

    #[test]
    fn iap_fos_airos_zynos_and_saos_drop_their_volatile_lines_and_mask_secrets_only() {
        // Lines of the oxidized IAP 515 capture, a FOS configupload file and
        // a SAOS 6.18 capture; airOS and ZyNOS lines as oxidized masks them.
        assert_eq!(
            filtered(
                "aruba_instant",
                &[
                    "virtual-controller-key AAAAAAAAAABBBBBBBBBBCCCCCCCCCC",
                    "snmp-server host 10.10.42.12 version 2c AAAAAAAAAABBBBBBBBBBCCCCCCCCCC inform",
                    "hash-mgmt-user rocks password hash AAAAAAAAAABBBBBBBBBBCCCCCCCCCC usertype read-only",
                    " wpa-passphrase AAAAAAAAAABBBBBBBBBBCCCCCCCCCC",
                    " essid key west",
                ],
                true,
            ),
            [
                "virtual-controller-key <removed>",
                "snmp-server host 10.10.42.12 version 2c <removed> inform",
                "hash-mgmt-user rocks password hash <removed> usertype read-only",
                " wpa-passphrase <removed>",
                " essid key west",
            ]
        );
        assert_eq!(
            filtered(
                "brocade_fos",
                &[
                    "date = Mon Nov 12 11:21:58 2012",
                    "FOS version = v7.0.1.0",
                    "snmp.snmpv1Community.0.name:Secret C0de",
                    "portName.3:community uplink",
                ],
                true,
            ),
            [
                "FOS version = v7.0.1.0",
                "snmp.snmpv1Community.0.name:<removed>",
                "portName.3:community uplink",
            ]
        );
        assert_eq!(
            filtered(
                "ubiquiti_airos",
                &[
                    "snmp.community=public",
                    "snmp.contact=noc@example.net",
                    "users.1.password=VvpvCwhccFv6Q",
                ],
                true,
            ),
            [
                "snmp.community=<removed>",
                "snmp.contact=noc@example.net",
                "users.1.password=<removed>",
            ]
        );
        assert_eq!(
            filtered(
                "zyxel_os",
                &[
                    "Building configuration...",
                    "",
                    "Current configuration:",
                    "admin-password 2fe57b0e cipher",
                    "logins username noc password 8a0f77 cipher privilege 14",
                    "snmp-server get-community publ1c",
                    "  name password reset desk",
                ],
                true,
            ),
            [
                "",
                "admin-password <removed> cipher",
                "logins username noc password <removed> cipher privilege 14",
                "snmp-server get-community <removed>",
                "  name password reset desk",
            ]
        );
        assert_eq!(
            filtered(
                "ciena_saos",
                &[
                    "! 3916 Configuration File",
                    "! Created: Fri Oct 13 20:21:17 2023",
                    "! Created by: CLI",
                    "! On terminal: ",
                    "tacacs set secret #A#cU3zqaSJSyab9rExYEZ5Fp1zRbO0s",
                    "user create user netmgr access-level super secret $6$nhGTbIC.jG/0LVRe$zkeLQ9",
                    "user set user su access-level super max-session-limit 0 secret $6$5CikC9aXo9FbsEr.$SO",
                    "snmp create community-index Read community d1XiE4puB sec-name Read-User transport-tag ReadTag",
                    "port set port 6 max-frame-size 9216 description \"NNI secret 1/1/38\"",
                ],
                true,
            ),
            [
                "! 3916 Configuration File",
                "! Created by: CLI",
                "tacacs set secret <removed>",
                "user create user netmgr access-level super secret <removed>",
                "user set user su access-level super max-session-limit 0 secret <removed>",
                "snmp create community-index Read community <removed> sec-name Read-User transport-tag ReadTag",
                "port set port 6 max-frame-size 9216 description \"NNI secret 1/1/38\"",
            ]
        );
    }
}
