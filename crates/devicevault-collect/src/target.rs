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

/// One device to back up.
#[derive(Debug, Clone)]
pub struct DeviceTarget {
    /// Address or name.
    pub host: String,
    /// SSH port.
    pub port: u16,
    /// Login name.
    pub username: String,
    /// Password or key.
    pub credential: Credential,
    /// Secret for privileged mode, when the platform has one.
    pub enable_secret: Option<Secret>,
    /// Driver (platform) name, e.g. `cisco_ios`.
    pub driver: String,
    /// Mask secrets (community strings, password hashes, keys) before storing.
    pub remove_secrets: bool,
    /// Offer legacy SSH algorithms (SHA-1 key exchange, CBC, HMAC-SHA1) for old devices.
    pub legacy_algorithms: bool,
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
            username: username.into(),
            credential: Credential::Password(password.into()),
            enable_secret: None,
            driver: driver.into(),
            remove_secrets: false,
            legacy_algorithms: false,
        }
    }

    /// `user@host:port`, how errors name the device.
    pub fn display(&self) -> String {
        format!("{}@{}:{}", self.username, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_target_never_shows_the_password() {
        let mut t = DeviceTarget::password("10.0.0.1", 22, "admin", "hunter2", "cisco_ios");
        t.enable_secret = Some("s3cret".into());
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("hunter2") && !dbg.contains("s3cret"), "{dbg}");
        assert_eq!(t.display(), "admin@10.0.0.1:22");
    }
}
