//! Sealing device secrets: XChaCha20-Poly1305 with a key kept outside the
//! database (a file in the data dir, or the environment).
//!
//! A sealed secret is `version (1) || nonce (24) || ciphertext + tag`. The
//! database, the task bus and the streams only ever carry sealed bytes; the
//! collector opens them just before it logs in.

use std::fmt;

use chacha20poly1305::aead::{Aead, Generate, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Why a sealed secret could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealed secret is malformed (wrong version or too short)")]
    Malformed,
    #[error("sealed secret does not open with this key (wrong key or tampered data)")]
    WrongKey,
    #[error("sealing key must be 64 hex digits")]
    BadKey,
}

/// The key that seals and opens device secrets. `Debug` never shows it.
#[derive(Clone)]
pub struct SealingKey(Key);

impl SealingKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(Key::generate())
    }

    /// Parses the hex form written by [`SealingKey::to_hex`].
    pub fn from_hex(s: &str) -> Result<Self, SealError> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(SealError::BadKey);
        }
        let mut key = Key::default();
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| SealError::BadKey)?;
        }
        Ok(Self(key))
    }

    /// The key as 64 hex digits, for the key file.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Seals `plaintext` with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XNonce::generate();
        let ciphertext = XChaCha20Poly1305::new(&self.0)
            .encrypt(&nonce, plaintext)
            .expect("XChaCha20-Poly1305 seals any secret of sane size");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Opens what [`SealingKey::seal`] produced.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let nonce =
            XNonce::try_from(&sealed[1..1 + NONCE_LEN]).map_err(|_| SealError::Malformed)?;
        XChaCha20Poly1305::new(&self.0)
            .decrypt(&nonce, &sealed[1 + NONCE_LEN..])
            .map_err(|_| SealError::WrongKey)
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let key = SealingKey::generate();
        let sealed = key.seal(b"s3cret!");
        assert!(!sealed.windows(7).any(|w| w == b"s3cret!"));
        assert_ne!(key.seal(b"s3cret!"), sealed, "each seal uses a fresh nonce");
        assert_eq!(key.open(&sealed).unwrap(), b"s3cret!");
        assert_eq!(
            SealingKey::generate().open(&sealed),
            Err(SealError::WrongKey)
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&tampered), Err(SealError::WrongKey));
        assert_eq!(key.open(&sealed[..10]), Err(SealError::Malformed));
    }

    #[test]
    fn the_key_round_trips_through_hex_and_never_shows_in_debug() {
        let key = SealingKey::generate();
        let again = SealingKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(again.open(&key.seal(b"x")).unwrap(), b"x");
        assert!(!format!("{key:?}").contains(&key.to_hex()[..8]));
        assert_eq!(SealingKey::from_hex("zz").unwrap_err(), SealError::BadKey);
        assert_eq!(
            SealingKey::from_hex(&"g".repeat(64)).unwrap_err(),
            SealError::BadKey
        );
    }
}
