//! The sealing key of device secrets, kept in a file beside (never inside)
//! the database.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use devicevault_core::SealingKey;

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the key file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("the key file {path} does not hold a key (64 hex digits)")]
    Malformed { path: String },
    #[error(
        "the key file {path} is missing but the database holds sealed credentials: \
         restore the key file (a new key could not open them)"
    )]
    Missing { path: String },
    #[error("the key file {path} is readable by other users (mode {mode:o}); chmod 600 it")]
    TooOpen { path: String, mode: u32 },
}

/// Reads the key at `path`, or creates one (mode 0600) when the file is
/// missing and `may_create` says no sealed secret depends on an old key.
pub fn load_or_create(path: &Path, may_create: bool) -> Result<SealingKey, KeyFileError> {
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mode = std::fs::metadata(path)
                .map_err(|source| KeyFileError::Read {
                    path: shown.clone(),
                    source,
                })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(KeyFileError::TooOpen {
                    path: shown,
                    mode: mode & 0o777,
                });
            }
            SealingKey::from_hex(&text).map_err(|_| KeyFileError::Malformed { path: shown })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !may_create {
                return Err(KeyFileError::Missing { path: shown });
            }
            let key = SealingKey::generate();
            let create = |source| KeyFileError::Create {
                path: shown.clone(),
                source,
            };
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(create)?;
            }
            // create_new: two processes starting at once cannot both write a key.
            let mut f = match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return load_or_create(path, false);
                }
                Err(e) => return Err(create(e)),
            };
            f.write_all(format!("{}\n", key.to_hex()).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(create)?;
            Ok(key)
        }
        Err(source) => Err(KeyFileError::Read {
            path: shown,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret.key");
        let a = load_or_create(&path, true).unwrap();
        let b = load_or_create(&path, true).unwrap();
        assert_eq!(a.to_hex(), b.to_hex());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn refuses_to_invent_a_key_for_existing_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_or_create(&dir.path().join("secret.key"), false).unwrap_err();
        assert!(matches!(err, KeyFileError::Missing { .. }), "{err}");
    }

    #[test]
    fn refuses_a_world_readable_or_malformed_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, "zz").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            load_or_create(&path, true).unwrap_err(),
            KeyFileError::Malformed { .. }
        ));
        std::fs::write(&path, SealingKey::generate().to_hex()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_or_create(&path, true).unwrap_err(),
            KeyFileError::TooOpen { .. }
        ));
    }
}
