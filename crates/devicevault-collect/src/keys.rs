//! Private keys as people paste them: parsed once when saved, so a key
//! that cannot be used is refused then, not at the first backup.

use crate::known_hosts::fingerprint;

/// Why a private key cannot be used. The messages never quote the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Encrypted, and no passphrase was given.
    #[error("the key is encrypted: its passphrase is required")]
    PassphraseRequired,
    /// Encrypted, and the passphrase given does not open it.
    #[error("the passphrase does not open the key")]
    WrongPassphrase,
    /// Not a private key this collector can read.
    #[error("not an OpenSSH or PEM private key this collector can use ({0})")]
    Unreadable(String),
}

impl KeyError {
    /// Whether the passphrase (rather than the key) is what is wrong.
    pub fn is_about_the_passphrase(&self) -> bool {
        matches!(
            self,
            KeyError::PassphraseRequired | KeyError::WrongPassphrase
        )
    }
}

/// Opens `pem` (OpenSSH or PEM text) with `passphrase` and returns its
/// public key's fingerprint, `SHA256:` and base64, as `ssh-keygen -l`
/// prints it.
pub fn key_fingerprint(pem: &str, passphrase: Option<&str>) -> Result<String, KeyError> {
    match russh::keys::decode_secret_key(pem, passphrase) {
        Ok(key) => Ok(fingerprint(key.public_key())),
        Err(russh::keys::Error::KeyIsEncrypted) => Err(KeyError::PassphraseRequired),
        Err(e) => match (passphrase, russh::keys::decode_secret_key(pem, None)) {
            // Readable as an encrypted key: the passphrase is what fails.
            (Some(_), Err(russh::keys::Error::KeyIsEncrypted)) => Err(KeyError::WrongPassphrase),
            _ => Err(KeyError::Unreadable(e.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by `ssh-keygen` (see `tests/keys/README.md`), with the
    /// fingerprints `ssh-keygen -l` printed for them.
    const ENCRYPTED: &str = include_str!("../tests/keys/ed25519_encrypted");
    const ENCRYPTED_FP: &str = "SHA256:euNYPz+MUPD/J2nHLyW0/AMSFAescdvpYilLUNL3IG4";
    const RSA_PEM: &str = include_str!("../tests/keys/rsa_pem");
    const RSA_PEM_FP: &str = "SHA256:lsuze/BJVEGVm3Oasd+8HCrXEAaVzpRwPuE8dL9O31Q";

    #[test]
    fn a_pem_key_is_read_and_its_fingerprint_is_the_one_ssh_keygen_prints() {
        assert_eq!(key_fingerprint(RSA_PEM, None).unwrap(), RSA_PEM_FP);
    }

    #[test]
    fn an_encrypted_openssh_key_needs_its_own_passphrase() {
        assert_eq!(
            key_fingerprint(ENCRYPTED, None),
            Err(KeyError::PassphraseRequired)
        );
        assert_eq!(
            key_fingerprint(ENCRYPTED, Some("wrong")),
            Err(KeyError::WrongPassphrase)
        );
        assert_eq!(
            key_fingerprint(ENCRYPTED, Some("correct horse")).unwrap(),
            ENCRYPTED_FP
        );
    }

    #[test]
    fn text_that_is_no_key_is_refused_without_quoting_it() {
        let e = key_fingerprint("hunter2 is not a key", None).unwrap_err();
        assert!(matches!(e, KeyError::Unreadable(_)));
        assert!(!e.to_string().contains("hunter2"));
    }
}
