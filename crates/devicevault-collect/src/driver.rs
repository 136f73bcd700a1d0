//! Drivers as data: one TOML file per platform.
//!
//! A driver says how to talk to a platform (prompt, login and enable
//! sequences, pager handling), which commands form the backup, and how to
//! filter their output (volatile lines removed, secrets masked on request).
//! The built-in drivers are embedded in the binary; a directory of user
//! drivers adds platforms or overrides built-in ones by name, without
//! recompiling.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::error::CollectError;

/// The built-in driver files, embedded at compile time.
const BUILTIN: &[(&str, &str)] = &[
    ("arista_eos", include_str!("../drivers/arista_eos.toml")),
    ("cisco_asa", include_str!("../drivers/cisco_asa.toml")),
    ("cisco_ios", include_str!("../drivers/cisco_ios.toml")),
    ("cisco_iosxr", include_str!("../drivers/cisco_iosxr.toml")),
    ("cisco_nxos", include_str!("../drivers/cisco_nxos.toml")),
    ("dell_os10", include_str!("../drivers/dell_os10.toml")),
    (
        "fortinet_fortios",
        include_str!("../drivers/fortinet_fortios.toml"),
    ),
    ("hp_procurve", include_str!("../drivers/hp_procurve.toml")),
    ("huawei_vrp", include_str!("../drivers/huawei_vrp.toml")),
    (
        "juniper_junos",
        include_str!("../drivers/juniper_junos.toml"),
    ),
    ("linux", include_str!("../drivers/linux.toml")),
    (
        "mikrotik_routeros",
        include_str!("../drivers/mikrotik_routeros.toml"),
    ),
    (
        "paloalto_panos",
        include_str!("../drivers/paloalto_panos.toml"),
    ),
    ("vyos", include_str!("../drivers/vyos.toml")),
];

/// The on-disk form of a driver. See `drivers/cisco_ios.toml` for a commented example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DriverFile {
    name: String,
    description: String,
    prompt: String,
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
    commands: Vec<String>,
    #[serde(default)]
    error_patterns: Vec<String>,
    #[serde(default)]
    remove_lines: Vec<String>,
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

/// Where a driver came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverSource {
    /// Embedded in the binary.
    BuiltIn,
    /// Loaded from this file of the user driver directory.
    User(std::path::PathBuf),
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

/// A secret substitution, applied only when the device asks `remove_secrets`.
#[derive(Debug, Clone)]
pub struct SecretRule {
    /// Multi-line regex.
    pub pattern: Regex,
    /// Replacement, with `$1`-style references.
    pub replace: String,
}

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
    /// Commands whose output, concatenated, is the backup.
    pub commands: Vec<String>,
    /// Output lines that mean the device rejected a command.
    pub error_patterns: Vec<Regex>,
    /// Lines removed before storing (volatile counters, timestamps).
    pub remove_lines: Vec<Regex>,
    /// Secret substitutions, applied only on request.
    pub secrets: Vec<SecretRule>,
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
}

fn compile(driver: &str, what: &str, pattern: &str) -> Result<Regex, CollectError> {
    RegexBuilder::new(pattern)
        .multi_line(true)
        .build()
        .map_err(|e| CollectError::InvalidDriver {
            name: driver.to_owned(),
            reason: format!("{what}: {e}"),
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
        if f.commands.is_empty() {
            return Err(CollectError::InvalidDriver {
                name: n.to_owned(),
                reason: "`commands` is empty".into(),
            });
        }
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
        Ok(Driver {
            name: f.name.clone(),
            description: f.description.clone(),
            source,
            prompt: compile(n, "prompt", &f.prompt)?,
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
            commands: f.commands.clone(),
            error_patterns: all("error_patterns", &f.error_patterns)?,
            remove_lines: all("remove_lines", &f.remove_lines)?,
            secrets: f
                .secrets
                .iter()
                .map(|s| {
                    Ok(SecretRule {
                        pattern: compile(n, "secrets", &s.pattern)?,
                        replace: s.replace.clone(),
                    })
                })
                .collect::<Result<_, CollectError>>()?,
            newline: f.newline.clone(),
            legacy_algorithms: f.legacy_algorithms,
            exit: f.exit.clone(),
            exec: f.exec,
        })
    }

    /// Applies the driver's filters to clean command output: removes volatile
    /// lines, and masks secrets when `remove_secrets` is set. Lines keep their
    /// order; the result ends with exactly one newline unless it is empty.
    pub fn filter(&self, text: &str, remove_secrets: bool) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            if self.remove_lines.iter().any(|r| r.is_match(line)) {
                continue;
            }
            if remove_secrets && !self.secrets.is_empty() {
                let mut masked = std::borrow::Cow::Borrowed(line);
                for s in &self.secrets {
                    if let std::borrow::Cow::Owned(o) =
                        s.pattern.replace_all(&masked, s.replace.as_str())
                    {
                        masked = std::borrow::Cow::Owned(o);
                    }
                }
                out.push_str(&masked);
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        out
    }
}

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
    fn all_fourteen_builtin_drivers_load() {
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
        ] {
            assert!(names.contains(&p), "missing {p}");
        }
        assert_eq!(names.len(), 14);
    }

    #[test]
    fn unknown_driver_is_a_permanent_error_naming_it() {
        let err = DriverSet::builtin().get("nokia_sros").unwrap_err();
        assert!(err.to_string().contains("nokia_sros"));
        assert!(!devicevault_core::RetryClass::is_transient(&err));
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
        assert_eq!(set.iter().count(), 15);
    }

    #[test]
    fn a_user_driver_with_a_bad_regex_is_rejected_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            "name = \"bad\"\ndescription = \"x\"\nprompt = '(['\ncommands = [\"x\"]\n",
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
}
