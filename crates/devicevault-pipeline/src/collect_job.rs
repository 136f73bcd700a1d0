//! The `device.collect` task body: one collection job.
//!
//! The credential travels sealed (the collector holds the key), so no
//! secret is ever readable on the bus.

use base64::Engine as _;
use devicevault_core::Timestamp;
pub use devicevault_db::DeviceTransport;
use serde::{Deserialize, Serialize};

/// The single positional argument of `device.collect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectJob {
    pub task_id: String,
    pub task_identifier: String,
    pub device_id: i64,
    pub address: String,
    pub port: u16,
    pub driver: String,
    pub credential: Option<SealedCredential>,
    /// Seconds the whole collection may take.
    pub timeout: u64,
    pub initiated_at: Timestamp,
    /// The largest configuration the device may send (its device type's
    /// limit); absent: the driver's, or the collector's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_config_bytes: Option<u64>,
    // The connection profile (issue 15). Every field has a default, so a
    // job published by an older dispatcher still reads as SSH on `port`.
    /// `ssh` or `telnet`.
    #[serde(default)]
    pub transport: DeviceTransport,
    /// Offer legacy SSH algorithms (the device's choice, else its type's).
    #[serde(default)]
    pub legacy_algorithms: bool,
    /// Seconds before the first command (connect, login, first prompt);
    /// absent: the collector's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<u64>,
    /// Seconds one command may take; absent: the collector's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_timeout: Option<u64>,
    /// The SSH server to go through, with its own sealed credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<JumpJob>,
    /// The most sessions a collector opens at once for the device's
    /// collection group; absent: the collector's own bound only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sessions: Option<u32>,
}

/// A jump host of a collection job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JumpJob {
    pub address: String,
    pub port: u16,
    /// Its login; absent: the device's.
    #[serde(default)]
    pub credential: Option<SealedCredential>,
}

/// A device credential with its secrets sealed (base64 of the sealed bytes).
/// A key credential carries its sealed key (and passphrase) and an empty
/// `password_sealed`, as does a credential with only an API key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedCredential {
    pub username: String,
    pub password_sealed: String,
    #[serde(default)]
    pub enable_secret_sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_sealed: Option<String>,
    /// The API key an HTTPS driver sends as `{api_key}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_sealed: Option<String>,
    /// The credential's name, for the message of a missing secret (empty
    /// in a job of an older dispatcher).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

impl std::fmt::Debug for SealedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCredential")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SealedCredential {
    pub fn new(username: &str, password_sealed: &[u8], enable_sealed: Option<&[u8]>) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            username: username.to_owned(),
            password_sealed: b64.encode(password_sealed),
            enable_secret_sealed: enable_sealed.map(|s| b64.encode(s)),
            private_key_sealed: None,
            passphrase_sealed: None,
            api_key_sealed: None,
            name: String::new(),
        }
    }

    /// The sealed form of a stored credential, whatever its kind.
    pub fn of(c: &devicevault_db::Credential) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            private_key_sealed: c.private_key_sealed.as_ref().map(|k| b64.encode(k)),
            passphrase_sealed: c.passphrase_sealed.as_ref().map(|p| b64.encode(p)),
            api_key_sealed: c.api_key_sealed.as_ref().map(|k| b64.encode(k)),
            name: c.name.clone(),
            ..Self::new(
                &c.username,
                &c.password_sealed,
                c.enable_secret_sealed.as_deref(),
            )
        }
    }
}

/// Decodes a base64 field of a sealed credential.
pub fn decode_sealed(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("sealed secret is not base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_of_an_older_dispatcher_reads_as_ssh_with_the_collectors_settings() {
        let old = serde_json::json!({
            "task_id": "t", "task_identifier": "ti", "device_id": 1,
            "address": "10.0.0.1", "port": 22, "driver": "cisco_ios",
            "credential": {"username": "u", "password_sealed": "AAAA"},
            "timeout": 300, "initiated_at": "2024-01-01T00:00:00Z"
        });
        let job: CollectJob = serde_json::from_value(old).unwrap();
        assert_eq!(job.transport, DeviceTransport::Ssh);
        assert!(!job.legacy_algorithms);
        assert_eq!((job.connect_timeout, job.command_timeout), (None, None));
        assert!(job.jump.is_none() && job.max_sessions.is_none());
        let cred = job.credential.unwrap();
        assert!(cred.private_key_sealed.is_none() && cred.passphrase_sealed.is_none());
        assert!(cred.api_key_sealed.is_none() && cred.name.is_empty());
    }

    #[test]
    fn a_stored_api_key_travels_sealed_with_the_credentials_name() {
        let c = devicevault_db::Credential {
            id: 4,
            name: "fortigate-api".into(),
            username: "api".into(),
            password_sealed: Vec::new(),
            enable_secret_sealed: None,
            private_key_sealed: None,
            passphrase_sealed: None,
            key_fingerprint: None,
            api_key_sealed: Some(b"sealed-key".to_vec()),
        };
        let sealed = SealedCredential::of(&c);
        assert_eq!(sealed.name, "fortigate-api");
        let key = sealed.api_key_sealed.as_deref().unwrap();
        assert_eq!(decode_sealed(key).unwrap(), b"sealed-key");
        assert_eq!(sealed.password_sealed, "");
        let dbg = format!("{sealed:?}");
        assert!(!dbg.contains(key), "{dbg}");
    }

    #[test]
    fn a_profile_round_trips_and_a_password_job_carries_no_key_fields() {
        let mut cred = SealedCredential::new("u", b"sealed", None);
        let plain = serde_json::to_value(&cred).unwrap();
        assert!(plain.get("private_key_sealed").is_none(), "{plain}");
        assert!(plain.get("api_key_sealed").is_none(), "{plain}");
        cred.private_key_sealed = Some("S0VZ".into());
        cred.api_key_sealed = Some("QVBJ".into());
        cred.name = "lab".into();
        let job = CollectJob {
            task_id: "t".into(),
            task_identifier: "ti".into(),
            device_id: 1,
            address: "10.255.0.1".into(),
            port: 23,
            driver: "cisco_ios".into(),
            credential: Some(cred.clone()),
            timeout: 60,
            initiated_at: Timestamp::now(),
            max_config_bytes: None,
            transport: DeviceTransport::Telnet,
            legacy_algorithms: true,
            connect_timeout: Some(5),
            command_timeout: Some(30),
            jump: Some(JumpJob {
                address: "127.0.0.1".into(),
                port: 2222,
                credential: Some(cred),
            }),
            max_sessions: Some(2),
        };
        let v = serde_json::to_value(&job).unwrap();
        assert_eq!(v["transport"], "telnet");
        assert_eq!(serde_json::from_value::<CollectJob>(v).unwrap(), job);
    }
}
