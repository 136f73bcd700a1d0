//! A cross-process exclusive lock on a file (`flock`), with a deadline.
//!
//! `flock` locks belong to an open file description, so two threads of one
//! process that each open the lock file exclude each other too, and the
//! kernel releases the lock when a holder dies, even by `kill -9`.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::StorageError;

/// Holds the lock until dropped.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<Self, StorageError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(StorageError::io(format!(
                "open lock file {}",
                path.display()
            )))?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(200);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= timeout {
                        return Err(StorageError::LockTimeout {
                            path: PathBuf::from(path),
                            waited_ms: start.elapsed().as_millis() as u64,
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(StorageError::io(format!("lock {}", path.display()))(e));
                }
            }
        }
    }
}
