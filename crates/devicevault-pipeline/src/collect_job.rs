//! The `device.collect` task body: one collection job.
//!
//! The credential travels sealed (the collector holds the key), so no
//! secret is ever readable on the bus.

use base64::Engine as _;
use devicevault_core::Timestamp;
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
}

/// A device credential with its secrets sealed (base64 of the sealed bytes).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedCredential {
    pub username: String,
    pub password_sealed: String,
    #[serde(default)]
    pub enable_secret_sealed: Option<String>,
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
        }
    }
}

/// Decodes a base64 field of a sealed credential.
pub fn decode_sealed(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("sealed secret is not base64: {e}"))
}
