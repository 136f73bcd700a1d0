//! Host keys, and the TLS certificates of HTTPS API inputs, pinned on
//! first use.
//!
//! The file has the OpenSSH `known_hosts` layout (`[host]:port algo base64`),
//! so an engineer can read it, and remove a line when a device was replaced on
//! purpose. A TLS pin is a line of its own kind, `[host]:port tls-sha256
//! AB:CD:…` (the certificate's SHA-256 as `openssl x509 -fingerprint
//! -sha256` prints it), so the SSH and TLS pins of one `host:port` never
//! replace each other, and a file without TLS lines reads as before. Many collections run at once in one process: the pins live in
//! memory behind a mutex and each new pin is appended to the file under it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use russh::keys::{HashAlg, PublicKey};

use crate::error::CollectError;

/// What to do with the host key a device presents.
#[derive(Debug)]
pub struct KnownHosts {
    path: Option<PathBuf>,
    pins: Mutex<Pins>,
}

/// The pins by `[host]:port`, one map per kind.
#[derive(Debug, Default)]
struct Pins {
    ssh: HashMap<String, PublicKey>,
    tls: HashMap<String, String>,
}

/// The key type word of a TLS pin line.
const TLS_KIND: &str = "tls-sha256";

/// The verdict on a presented host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// The key matches the pin.
    Known,
    /// First contact: the key is now pinned.
    Pinned,
    /// The key differs from the pin.
    Mismatch {
        /// Fingerprint of the pinned key.
        pinned: String,
        /// Fingerprint of the offered key.
        offered: String,
    },
}

/// `[host]:port`, as OpenSSH writes non-default ports (and we write all).
pub fn host_pattern(host: &str, port: u16) -> String {
    format!("[{host}]:{port}")
}

/// SHA-256 fingerprint, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

impl KnownHosts {
    /// Pins kept in memory only, for tests and one-off runs.
    pub fn in_memory() -> KnownHosts {
        KnownHosts {
            path: None,
            pins: Mutex::new(Pins::default()),
        }
    }

    /// Loads (or creates on first pin) a known-hosts file.
    pub fn open(path: &Path) -> Result<KnownHosts, CollectError> {
        let err = |reason: String| CollectError::KnownHosts {
            path: path.display().to_string(),
            reason,
        };
        let mut pins = Pins::default();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for (n, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let Some((host, key)) = line.split_once(' ') else {
                        return Err(err(format!("line {}: expected `host key`", n + 1)));
                    };
                    if let Some(fp) = key
                        .trim()
                        .strip_prefix(TLS_KIND)
                        .and_then(|r| r.strip_prefix(' '))
                    {
                        pins.tls.insert(host.to_owned(), fp.trim().to_owned());
                        continue;
                    }
                    let key = PublicKey::from_openssh(key.trim())
                        .map_err(|e| err(format!("line {}: {e}", n + 1)))?;
                    pins.ssh.insert(host.to_owned(), key);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e.to_string())),
        }
        Ok(KnownHosts {
            path: Some(path.to_owned()),
            pins: Mutex::new(pins),
        })
    }

    /// Where pins are stored, if on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The fingerprint pinned for `host:port`, if any.
    pub fn pinned_fingerprint(&self, host: &str, port: u16) -> Option<String> {
        let pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        pins.ssh.get(&host_pattern(host, port)).map(fingerprint)
    }

    /// The TLS certificate fingerprint pinned for `host:port`, if any.
    pub fn pinned_certificate(&self, host: &str, port: u16) -> Option<String> {
        let pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        pins.tls.get(&host_pattern(host, port)).cloned()
    }

    /// Checks a TLS certificate's fingerprint (`AB:CD:…`) for `host:port`;
    /// pins it on first use, beside (never over) an SSH pin of the same
    /// `host:port`.
    pub fn check_tls(
        &self,
        host: &str,
        port: u16,
        fingerprint: &str,
    ) -> Result<HostKeyCheck, CollectError> {
        let pattern = host_pattern(host, port);
        let mut pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pinned) = pins.tls.get(&pattern) {
            return Ok(if pinned == fingerprint {
                HostKeyCheck::Known
            } else {
                HostKeyCheck::Mismatch {
                    pinned: pinned.clone(),
                    offered: fingerprint.to_owned(),
                }
            });
        }
        self.append(&format!("{pattern} {TLS_KIND} {fingerprint}"))?;
        pins.tls.insert(pattern, fingerprint.to_owned());
        Ok(HostKeyCheck::Pinned)
    }

    /// Appends one pin line to the file (nothing in memory only), synced.
    fn append(&self, line: &str) -> Result<(), CollectError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let err = |reason: String| CollectError::KnownHosts {
            path: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| err(e.to_string()))?;
        writeln!(f, "{line}").map_err(|e| err(e.to_string()))?;
        f.sync_data().map_err(|e| err(e.to_string()))
    }

    /// The verdict for a host already pinned, from memory; `None` on first
    /// contact (then [`KnownHosts::check`] pins, which writes the file).
    pub fn lookup(&self, host: &str, port: u16, key: &PublicKey) -> Option<HostKeyCheck> {
        let pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        pins.ssh
            .get(&host_pattern(host, port))
            .map(|pinned| verdict(pinned, key))
    }

    /// Checks `key` for `host:port`; pins it on first use. Blocks on the
    /// file's flush when it pins.
    pub fn check(
        &self,
        host: &str,
        port: u16,
        key: &PublicKey,
    ) -> Result<HostKeyCheck, CollectError> {
        let pattern = host_pattern(host, port);
        let mut pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pinned) = pins.ssh.get(&pattern) {
            return Ok(verdict(pinned, key));
        }
        let mut key_only = key.clone();
        key_only.set_comment("");
        let line = key_only
            .to_openssh()
            .map_err(|e| CollectError::KnownHosts {
                path: self
                    .path
                    .as_ref()
                    .map_or_else(|| "(in memory)".into(), |p| p.display().to_string()),
                reason: e.to_string(),
            })?;
        self.append(&format!("{pattern} {}", line.trim()))?;
        pins.ssh.insert(pattern, key.clone());
        Ok(HostKeyCheck::Pinned)
    }
}

fn verdict(pinned: &PublicKey, offered: &PublicKey) -> HostKeyCheck {
    if pinned.key_data() == offered.key_data() {
        HostKeyCheck::Known
    } else {
        HostKeyCheck::Mismatch {
            pinned: fingerprint(pinned),
            offered: fingerprint(offered),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::PrivateKey;
    use russh::keys::ssh_key::private::Ed25519Keypair;

    fn key(seed: u8) -> PublicKey {
        PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
            .public_key()
            .clone()
    }

    #[test]
    fn first_use_pins_then_same_key_is_known_and_other_key_mismatches_after_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        let kh = KnownHosts::open(&path).unwrap();
        assert_eq!(kh.lookup("10.0.0.1", 22, &key(1)), None, "not pinned yet");
        assert_eq!(
            kh.check("10.0.0.1", 22, &key(1)).unwrap(),
            HostKeyCheck::Pinned
        );
        assert_eq!(
            kh.lookup("10.0.0.1", 22, &key(1)),
            Some(HostKeyCheck::Known)
        );
        assert!(matches!(
            kh.lookup("10.0.0.1", 22, &key(4)),
            Some(HostKeyCheck::Mismatch { .. })
        ));
        assert_eq!(
            kh.check("10.0.0.1", 22, &key(1)).unwrap(),
            HostKeyCheck::Known
        );
        assert_eq!(
            kh.check("10.0.0.1", 2222, &key(2)).unwrap(),
            HostKeyCheck::Pinned
        );
        let reloaded = KnownHosts::open(&path).unwrap();
        assert_eq!(
            reloaded.check("10.0.0.1", 22, &key(1)).unwrap(),
            HostKeyCheck::Known
        );
        match reloaded.check("10.0.0.1", 22, &key(3)).unwrap() {
            HostKeyCheck::Mismatch { pinned, offered } => {
                assert_eq!(pinned, fingerprint(&key(1)));
                assert_eq!(offered, fingerprint(&key(3)));
                assert!(pinned.starts_with("SHA256:"));
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("[10.0.0.1]:22 ssh-ed25519 "), "{text}");
    }

    #[test]
    fn tls_pins_live_beside_ssh_pins_of_the_same_port_and_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let kh = KnownHosts::open(&path).unwrap();
        assert_eq!(
            kh.check("10.0.0.1", 443, &key(1)).unwrap(),
            HostKeyCheck::Pinned
        );
        assert_eq!(
            kh.check_tls("10.0.0.1", 443, "AA:BB").unwrap(),
            HostKeyCheck::Pinned,
            "an SSH pin of the port is no TLS pin"
        );
        assert_eq!(
            kh.check_tls("10.0.0.1", 443, "AA:BB").unwrap(),
            HostKeyCheck::Known
        );
        let reloaded = KnownHosts::open(&path).unwrap();
        assert_eq!(
            reloaded.check_tls("10.0.0.1", 443, "CC:DD").unwrap(),
            HostKeyCheck::Mismatch {
                pinned: "AA:BB".into(),
                offered: "CC:DD".into()
            }
        );
        assert_eq!(
            reloaded.check("10.0.0.1", 443, &key(1)).unwrap(),
            HostKeyCheck::Known,
            "the SSH pin is untouched"
        );
        assert_eq!(
            reloaded.pinned_certificate("10.0.0.1", 443).as_deref(),
            Some("AA:BB")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[10.0.0.1]:443 tls-sha256 AA:BB\n"), "{text}");
        // An old file, SSH pins only, reads as before.
        let old = dir.path().join("old");
        std::fs::write(&old, text.lines().next().unwrap()).unwrap();
        assert_eq!(
            KnownHosts::open(&old)
                .unwrap()
                .pinned_certificate("10.0.0.1", 443),
            None
        );
    }
}
