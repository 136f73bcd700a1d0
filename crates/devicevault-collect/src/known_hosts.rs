//! Host keys, and the TLS certificates of HTTPS API inputs, pinned on
//! first use.
//!
//! The file has the OpenSSH `known_hosts` layout (`[host]:port algo base64`),
//! so an engineer can read it, and remove a line when a device was replaced on
//! purpose. A TLS pin is a line of its own kind, `[host]:port tls-sha256
//! AB:CD:…` (the certificate's SHA-256 as `openssl x509 -fingerprint
//! -sha256` prints it), so the SSH and TLS pins of one `host:port` never
//! replace each other, and a file without TLS lines reads as before.
//!
//! # Group commit
//!
//! Many collections run at once in one process, and a first pass over a
//! fleet pins every device's key. The pins live in memory behind a mutex;
//! a new pin is queued, and one of the pinning threads (whichever finds no
//! write in progress) appends every queued line and syncs the file once,
//! then wakes the others: pins that arrive while a sync is under way go
//! together in the next one, so a thousand first contacts cost a few
//! syncs, not a thousand. Trust on first use is not weakened: a pin enters
//! the map that [`KnownHosts::lookup`] and [`KnownHosts::check`] answer
//! from only once its line is synced, and `check` returns `Pinned` only
//! then, so no session uses a key that a crash could lose. A second check
//! of a `host:port` whose pin is still being written waits for that write
//! and then decides as if it had come after it (the same key is `Known`,
//! another one a mismatch; if the write failed, it pins its own), which is
//! what the single-writer file gave before.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use russh::keys::{HashAlg, PublicKey};

use crate::error::CollectError;

/// What to do with the host key a device presents.
#[derive(Debug)]
pub struct KnownHosts {
    path: Option<PathBuf>,
    state: Mutex<State>,
    /// Signalled when a batch of pins is written (or fails), and when a
    /// pin is queued.
    written: Condvar,
    /// How many times the file was synced (one per batch of pins).
    syncs: AtomicU64,
}

/// The pins by `[host]:port`, one map per kind.
#[derive(Debug, Default)]
struct Pins {
    ssh: HashMap<String, PublicKey>,
    tls: HashMap<String, String>,
}

/// The kinds of pin a `host:port` can have, one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Ssh,
    Tls,
}

/// A pin not yet on disk.
#[derive(Debug)]
enum Pin {
    Ssh(PublicKey),
    Tls(String),
}

/// A pin waiting for the next write: its line, and what enters the map
/// once the line is synced.
#[derive(Debug)]
struct Queued {
    kind: Kind,
    pattern: String,
    pin: Pin,
    line: String,
}

/// Pins written and synced together; the outcome is set once, by the
/// thread that wrote them.
#[derive(Debug, Default)]
struct Batch {
    outcome: OnceLock<Result<(), String>>,
}

#[derive(Debug, Default)]
struct State {
    /// Pins on disk: what verdicts are given from.
    pins: Pins,
    /// The batch each pin not yet on disk belongs to, by kind and pattern.
    pending: HashMap<(Kind, String), Arc<Batch>>,
    /// The batch that new pins join, and their lines.
    open: Arc<Batch>,
    queued: Vec<Queued>,
    /// A thread is writing a batch (outside the lock).
    writing: bool,
    /// Tests: the next writer waits until this many pins are queued, so a
    /// test can make a batch of a known size.
    #[cfg(test)]
    hold_until: usize,
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
    fn with_pins(path: Option<PathBuf>, pins: Pins) -> KnownHosts {
        KnownHosts {
            path,
            state: Mutex::new(State {
                pins,
                ..State::default()
            }),
            written: Condvar::new(),
            syncs: AtomicU64::new(0),
        }
    }

    /// Pins kept in memory only, for tests and one-off runs.
    pub fn in_memory() -> KnownHosts {
        KnownHosts::with_pins(None, Pins::default())
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
        Ok(KnownHosts::with_pins(Some(path.to_owned()), pins))
    }

    /// Where pins are stored, if on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// How many times the file has been synced since it was opened: one
    /// per batch of pins written together, so at most one per pin.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.written.wait(state).unwrap_or_else(|p| p.into_inner())
    }

    fn error(&self, reason: String) -> CollectError {
        CollectError::KnownHosts {
            path: self
                .path
                .as_ref()
                .map_or_else(|| "(in memory)".into(), |p| p.display().to_string()),
            reason,
        }
    }

    /// The fingerprint pinned for `host:port`, if any.
    pub fn pinned_fingerprint(&self, host: &str, port: u16) -> Option<String> {
        self.state()
            .pins
            .ssh
            .get(&host_pattern(host, port))
            .map(fingerprint)
    }

    /// The TLS certificate fingerprint pinned for `host:port`, if any.
    pub fn pinned_certificate(&self, host: &str, port: u16) -> Option<String> {
        self.state()
            .pins
            .tls
            .get(&host_pattern(host, port))
            .cloned()
    }

    /// Checks a TLS certificate's fingerprint (`AB:CD:…`) for `host:port`;
    /// pins it on first use, beside (never over) an SSH pin of the same
    /// `host:port`. Blocks until the pin is on disk when it pins.
    pub fn check_tls(
        &self,
        host: &str,
        port: u16,
        fingerprint: &str,
    ) -> Result<HostKeyCheck, CollectError> {
        let pattern = host_pattern(host, port);
        let verdict = |pins: &Pins| {
            pins.tls.get(&pattern).map(|pinned| {
                if pinned == fingerprint {
                    HostKeyCheck::Known
                } else {
                    HostKeyCheck::Mismatch {
                        pinned: pinned.clone(),
                        offered: fingerprint.to_owned(),
                    }
                }
            })
        };
        let line = || Ok(format!("{pattern} {TLS_KIND} {fingerprint}"));
        self.decide_or_pin(
            Kind::Tls,
            &pattern,
            verdict,
            line,
            Pin::Tls(fingerprint.to_owned()),
        )
    }

    /// The verdict for a host already pinned, from memory; `None` on first
    /// contact, or while its pin is being written (then
    /// [`KnownHosts::check`] pins, or waits for the pin, which writes the
    /// file).
    pub fn lookup(&self, host: &str, port: u16, key: &PublicKey) -> Option<HostKeyCheck> {
        self.state()
            .pins
            .ssh
            .get(&host_pattern(host, port))
            .map(|pinned| verdict(pinned, key))
    }

    /// Checks `key` for `host:port`; pins it on first use. Blocks until the
    /// pin is on disk when it pins (see the module's group commit).
    pub fn check(
        &self,
        host: &str,
        port: u16,
        key: &PublicKey,
    ) -> Result<HostKeyCheck, CollectError> {
        let pattern = host_pattern(host, port);
        let decide = |pins: &Pins| pins.ssh.get(&pattern).map(|pinned| verdict(pinned, key));
        let line = || {
            let mut key_only = key.clone();
            key_only.set_comment("");
            let text = key_only
                .to_openssh()
                .map_err(|e| self.error(e.to_string()))?;
            Ok(format!("{pattern} {}", text.trim()))
        };
        self.decide_or_pin(Kind::Ssh, &pattern, decide, line, Pin::Ssh(key.clone()))
    }

    /// The verdict from the pins on disk; on first contact, pins: queues
    /// the line and returns once a batch holding it is synced.
    fn decide_or_pin(
        &self,
        kind: Kind,
        pattern: &str,
        decide: impl Fn(&Pins) -> Option<HostKeyCheck>,
        line: impl FnOnce() -> Result<String, CollectError>,
        pin: Pin,
    ) -> Result<HostKeyCheck, CollectError> {
        let mut state = self.state();
        let key = (kind, pattern.to_owned());
        loop {
            if let Some(known) = decide(&state.pins) {
                return Ok(known);
            }
            // Another session is pinning this host: its outcome decides
            // ours, as if we had come after it.
            let Some(theirs) = state.pending.get(&key).cloned() else {
                break;
            };
            while theirs.outcome.get().is_none() {
                state = self.wait(state);
            }
        }
        let line = line()?;
        if self.path.is_none() {
            state.pins.insert(pin, pattern);
            return Ok(HostKeyCheck::Pinned);
        }
        let batch = Arc::clone(&state.open);
        state.pending.insert(key, Arc::clone(&batch));
        state.queued.push(Queued {
            kind,
            pattern: pattern.to_owned(),
            pin,
            line,
        });
        self.written.notify_all();
        loop {
            if let Some(outcome) = batch.outcome.get() {
                return outcome
                    .clone()
                    .map(|()| HostKeyCheck::Pinned)
                    .map_err(|reason| self.error(reason));
            }
            state = if state.writing {
                self.wait(state)
            } else {
                self.write_queued(state)
            };
        }
    }

    /// Writes every queued pin as one batch (the lock released meanwhile):
    /// appends their lines, syncs once, then puts them in the map, or
    /// drops them if the write failed; wakes the waiters.
    fn write_queued<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        state.writing = true;
        #[cfg(test)]
        {
            while state.queued.len() < state.hold_until {
                state = self.wait(state);
            }
            state.hold_until = 0;
        }
        let queued = std::mem::take(&mut state.queued);
        let batch = std::mem::take(&mut state.open);
        drop(state);
        let text: String = queued.iter().map(|q| format!("{}\n", q.line)).collect();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.append(&text)))
            .unwrap_or_else(|_| Err("writing the pins panicked".to_owned()));
        let mut state = self.state();
        state.writing = false;
        for q in queued {
            state.pending.remove(&(q.kind, q.pattern.clone()));
            if outcome.is_ok() {
                state.pins.insert(q.pin, &q.pattern);
            }
        }
        let _ = batch.outcome.set(outcome);
        self.written.notify_all();
        state
    }

    /// Appends `text` (whole lines) to the file and syncs it; a file it
    /// creates has its directory synced too, so the new name survives.
    fn append(&self, text: &str) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let created = !path.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| e.to_string())?;
        f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        f.sync_data().map_err(|e| e.to_string())?;
        if created {
            std::fs::File::open(dir.unwrap_or(Path::new(".")))
                .and_then(|d| d.sync_all())
                .map_err(|e| format!("syncing its directory: {e}"))?;
        }
        Ok(())
    }
}

impl Pins {
    fn insert(&mut self, pin: Pin, pattern: &str) {
        match pin {
            Pin::Ssh(key) => {
                self.ssh.insert(pattern.to_owned(), key);
            }
            Pin::Tls(fp) => {
                self.tls.insert(pattern.to_owned(), fp);
            }
        }
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

    /// Pins `n` hosts from `n` threads at once, each checking that its pin
    /// is in the file when its check returns.
    fn pin_concurrently(kh: &Arc<KnownHosts>, n: usize) -> Vec<HostKeyCheck> {
        let start = Arc::new(std::sync::Barrier::new(n));
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let (kh, start) = (Arc::clone(kh), Arc::clone(&start));
                std::thread::spawn(move || {
                    let host = format!("10.0.1.{i}");
                    start.wait();
                    let verdict = kh.check(&host, 22, &key(i as u8)).unwrap();
                    // The pin is on disk when check returns.
                    let text = std::fs::read_to_string(kh.path().unwrap()).unwrap();
                    assert!(
                        text.lines()
                            .any(|l| l.starts_with(&format!("[{host}]:22 ssh-ed25519 "))),
                        "{host} is not in the file when its check returned"
                    );
                    verdict
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }

    #[test]
    fn concurrent_first_use_pins_are_written_with_fewer_syncs_than_pins() {
        const N: usize = 24;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let kh = Arc::new(KnownHosts::open(&path).unwrap());
        kh.state().hold_until = N;
        let verdicts = pin_concurrently(&kh, N);
        assert!(verdicts.iter().all(|v| *v == HostKeyCheck::Pinned));
        assert_eq!(kh.syncs(), 1, "one batch of {N} pins, one sync");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), N, "{text}");
        let reloaded = KnownHosts::open(&path).unwrap();
        for i in 0..N {
            assert_eq!(
                reloaded.lookup(&format!("10.0.1.{i}"), 22, &key(i as u8)),
                Some(HostKeyCheck::Known)
            );
        }
        // Without the test's hold: whatever the timing, never more syncs
        // than pins, and every pin on disk.
        let path = dir.path().join("unheld");
        let kh = Arc::new(KnownHosts::open(&path).unwrap());
        let verdicts = pin_concurrently(&kh, N);
        assert!(verdicts.iter().all(|v| *v == HostKeyCheck::Pinned));
        assert!(kh.syncs() <= N as u64);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), N);
    }

    /// Two sessions offering different keys for one `host:port` on first
    /// contact: exactly one pins, the other is a mismatch against the pin
    /// that is on disk, whatever order they come in.
    #[test]
    fn racing_first_uses_of_one_host_pin_exactly_one_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("known_hosts");
            let kh = Arc::new(KnownHosts::open(&path).unwrap());
            let start = Arc::new(std::sync::Barrier::new(2));
            let threads: Vec<_> = [1u8, 2]
                .into_iter()
                .map(|k| {
                    let (kh, start) = (Arc::clone(&kh), Arc::clone(&start));
                    std::thread::spawn(move || {
                        start.wait();
                        (k, kh.check("10.0.0.9", 22, &key(k)).unwrap())
                    })
                })
                .collect();
            let verdicts: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            let pinned: Vec<u8> = verdicts
                .iter()
                .filter(|(_, v)| *v == HostKeyCheck::Pinned)
                .map(|(k, _)| *k)
                .collect();
            assert_eq!(pinned.len(), 1, "{verdicts:?}");
            let other = verdicts.iter().find(|(k, _)| *k != pinned[0]).unwrap();
            assert_eq!(
                other.1,
                HostKeyCheck::Mismatch {
                    pinned: fingerprint(&key(pinned[0])),
                    offered: fingerprint(&key(other.0)),
                }
            );
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.lines().count(), 1, "{text}");
            assert_eq!(
                KnownHosts::open(&path)
                    .unwrap()
                    .lookup("10.0.0.9", 22, &key(pinned[0])),
                Some(HostKeyCheck::Known)
            );
        }
    }

    #[test]
    fn a_pin_that_cannot_be_written_is_an_error_and_pins_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the append fails.
        let path = dir.path().join("known_hosts");
        std::fs::create_dir(&path).unwrap();
        let kh = KnownHosts::with_pins(Some(path.clone()), Pins::default());
        assert!(matches!(
            kh.check("10.0.0.1", 22, &key(1)),
            Err(CollectError::KnownHosts { .. })
        ));
        assert_eq!(kh.lookup("10.0.0.1", 22, &key(1)), None);
        assert!(kh.check_tls("10.0.0.1", 443, "AA:BB").is_err());
        assert_eq!(kh.pinned_certificate("10.0.0.1", 443), None);
    }
}
