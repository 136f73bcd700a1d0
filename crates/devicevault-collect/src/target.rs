//! What to collect from: the device, its credentials and its options.

use std::fmt;

/// A secret string (password, enable secret, private key). `Debug` and
/// `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

/// How to authenticate.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Password (also answered to keyboard-interactive prompts).
    Password(Secret),
    /// OpenSSH or PEM private key, with its passphrase if encrypted.
    Key {
        /// The private key text.
        pem: Secret,
        /// Its passphrase.
        passphrase: Option<Secret>,
    },
}

/// How to reach a device's CLI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transport {
    /// SSH (port 22 by convention): an interactive PTY shell, or exec
    /// channels for drivers that ask for them.
    #[default]
    Ssh,
    /// Telnet (port 23 by convention): clear text, for devices that have
    /// nothing else; the device's `Username:`/`Password:` prompts are answered.
    Telnet,
}

impl Transport {
    /// The conventional port: 22 or 23.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Ssh => 22,
            Transport::Telnet => 23,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Ssh => "ssh",
            Transport::Telnet => "telnet",
        })
    }
}

impl std::str::FromStr for Transport {
    type Err = String;

    fn from_str(s: &str) -> Result<Transport, String> {
        match s.to_ascii_lowercase().as_str() {
            "ssh" => Ok(Transport::Ssh),
            "telnet" => Ok(Transport::Telnet),
            other => Err(format!(
                "unknown transport `{other}`: expected ssh or telnet"
            )),
        }
    }
}

/// One device to back up.
#[derive(Debug, Clone)]
pub struct DeviceTarget {
    /// Address or name.
    pub host: String,
    /// TCP port of the SSH or Telnet service.
    pub port: u16,
    /// SSH (default) or Telnet.
    pub transport: Transport,
    /// Login name.
    pub username: String,
    /// Password or key.
    pub credential: Credential,
    /// Secret for privileged mode, when the platform has one.
    pub enable_secret: Option<Secret>,
    /// The credential's API key: what an HTTPS driver's requests send as
    /// `{api_key}` (a REST API token, a stored PAN-OS key).
    pub api_key: Option<Secret>,
    /// The name of the stored credential these secrets come from, so an
    /// error can say which one lacks a secret (empty: none, as for
    /// `devicevault collect`).
    pub credential_name: String,
    /// Driver (platform) name, e.g. `cisco_ios`.
    pub driver: String,
    /// Mask secrets (community strings, password hashes, keys) before storing.
    pub remove_secrets: bool,
    /// Offer legacy SSH algorithms (SHA-1 key exchange, CBC, HMAC-SHA1) for old devices.
    pub legacy_algorithms: bool,
    /// The largest configuration this device may send (its device type's
    /// limit); `None`: the driver's or the collection's.
    pub max_config_bytes: Option<usize>,
    /// The SSH server to reach the device through (`ProxyJump`), if any.
    pub jump: Option<JumpTarget>,
}

/// An SSH jump host: the collector logs in to it and asks it for a
/// `direct-tcpip` channel to the device.
#[derive(Debug, Clone)]
pub struct JumpTarget {
    /// Address or name.
    pub host: String,
    /// Its SSH port.
    pub port: u16,
    /// Login name on the jump host.
    pub username: String,
    /// Password or key on the jump host.
    pub credential: Credential,
}

impl DeviceTarget {
    /// A password-authenticated target with default options.
    pub fn password(
        host: impl Into<String>,
        port: u16,
        username: impl Into<String>,
        password: impl Into<Secret>,
        driver: impl Into<String>,
    ) -> DeviceTarget {
        DeviceTarget {
            host: host.into(),
            port,
            transport: Transport::Ssh,
            username: username.into(),
            credential: Credential::Password(password.into()),
            enable_secret: None,
            api_key: None,
            credential_name: String::new(),
            driver: driver.into(),
            remove_secrets: false,
            legacy_algorithms: false,
            max_config_bytes: None,
            jump: None,
        }
    }

    /// `user@host:port`, how errors name the device.
    pub fn display(&self) -> String {
        format!("{}@{}:{}", self.username, self.host, self.port)
    }

    /// How errors name the credential: credential `name`, or "the
    /// credential" when it has none.
    pub fn credential_label(&self) -> String {
        if self.credential_name.is_empty() {
            "the credential".to_owned()
        } else {
            format!("credential `{}`", self.credential_name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_target_never_shows_the_password() {
        let mut t = DeviceTarget::password("10.0.0.1", 22, "admin", "hunter2", "cisco_ios");
        t.enable_secret = Some("s3cret".into());
        t.api_key = Some("t0ken-9f".into());
        let dbg = format!("{t:?}");
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("s3cret") && !dbg.contains("t0ken-9f"),
            "{dbg}"
        );
        assert_eq!(t.display(), "admin@10.0.0.1:22");
    }

    #[test]
    fn transports_parse_and_default_to_ssh() {
        assert_eq!("telnet".parse::<Transport>(), Ok(Transport::Telnet));
        assert_eq!("SSH".parse::<Transport>(), Ok(Transport::Ssh));
        assert!("rlogin".parse::<Transport>().is_err());
        assert_eq!(Transport::default(), Transport::Ssh);
        assert_eq!(Transport::Telnet.default_port(), 23);
        let t = DeviceTarget::password("10.0.0.1", 22, "admin", "x", "cisco_ios");
        assert_eq!(t.transport, Transport::Ssh);
    }
}
