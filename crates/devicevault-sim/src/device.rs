//! One simulated device: identity, state and misbehaviours, shared between
//! its listener, its sessions and the test that steers it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use russh::keys::PrivateKey;
use russh::keys::ssh_key::private::Ed25519Keypair;

use crate::config::{self, ConfigLine, ConfigSpec, SessionStamp, SplitMix};
use crate::drift::{self, Applied, Change, Edit, InvalidAuthor};
use crate::personality::Personality;

/// Misbehaviours a device shows on demand. The default is a well-behaved device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Reject every password.
    pub reject_password: bool,
    /// Refuse `enable` even with the right secret.
    pub refuse_enable: bool,
    /// Send the configuration at most this many bytes per second.
    pub throttle_bytes_per_sec: Option<u32>,
    /// Stop sending after this many bytes of configuration, keeping the session open.
    pub hang_after_bytes: Option<usize>,
    /// Drop the connection after this many bytes of configuration.
    pub disconnect_after_bytes: Option<usize>,
    /// Offer only legacy algorithms (SHA-1 key exchange, AES-CBC, HMAC-SHA1).
    pub legacy_only: bool,
    /// Print this text instead of the configuration, as a device does when
    /// an AAA server refuses the command (IOS: `Command authorization
    /// failed.`; EOS: `% Authorization denied for command ...`), then the
    /// prompt.
    pub refuse_config_command: Option<String>,
    /// End the configuration after this many bytes (at a line end) and
    /// print the prompt as if it were complete: a cut-off output that only
    /// a completeness check can tell.
    pub truncate_after_bytes: Option<usize>,
    /// Never stop sending configuration lines (no prompt ever comes).
    pub endless_output: bool,
    /// Put one line of this many bytes (no line break in it) in the
    /// middle of the configuration.
    pub single_line_bytes: Option<usize>,
    /// A device serving an HTTPS API answers every request with this HTTP
    /// status (500: an internal error) and a short HTML page.
    pub http_status: Option<u16>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub faults: Faults,
    pub key_generation: u64,
    /// Every change since revision 0, oldest first; shared with the
    /// sessions that print it.
    pub changes: Arc<Vec<Change>>,
    pub sessions: u64,
    pub open_shells: u64,
    /// Negotiation commands the last Telnet client sent, e.g. `DO ECHO`.
    pub telnet_negotiation: Vec<String>,
    /// Public keys that log in as the device's user.
    pub authorized_keys: Vec<russh::keys::PublicKey>,
    /// The certificate of a device serving an HTTPS API (shared by the
    /// fleet until [`SimDevice::rotate_certificate`] gives it its own).
    pub tls: Option<Arc<crate::https::TlsIdentity>>,
    /// Files the device wrote on request (BIG-IP's UCS archives), by
    /// path: served over SFTP and `scp -f` beside its fixed files.
    pub saved_files: std::collections::BTreeMap<String, Arc<Vec<u8>>>,
}

/// What every device of one simulator shares: held once, so that a device
/// that is never contacted costs little (issue 21: 100,000 of them in one
/// process).
#[derive(Debug)]
pub(crate) struct Fleet {
    pub username: String,
    pub password: String,
    pub enable_secret: String,
    pub clock: SimClock,
    /// Configurations generated so far, by any device: none at start, one
    /// per session that prints or saves one (each is generated when asked
    /// for and dropped after, never kept per device).
    pub generated: AtomicU64,
    /// The history of every device not yet changed.
    pub no_changes: Arc<Vec<Change>>,
    /// The misbehaviours every device starts with.
    pub faults: Faults,
    /// The certificate every device serving an HTTPS API starts with.
    pub tls: Option<Arc<crate::https::TlsIdentity>>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub name: String,
    pub personality: &'static Personality,
    pub addr: SocketAddr,
    pub telnet_addr: Option<SocketAddr>,
    pub fleet: Arc<Fleet>,
    pub config_lines: usize,
    pub seed: u64,
    /// See [`SimDevice::set_reencrypt_secrets`].
    pub reencrypt_secrets: std::sync::atomic::AtomicBool,
    /// Made from the fleet's defaults on first use ([`Shared::lock`]): a
    /// device nobody has contacted or steered holds none.
    pub state: Mutex<Option<Box<State>>>,
}

/// A device's [`State`], locked.
pub(crate) struct StateGuard<'a>(MutexGuard<'a, Option<Box<State>>>);

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        self.0.as_deref().expect("Shared::lock makes the state")
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.0.as_deref_mut().expect("Shared::lock makes the state")
    }
}

/// A handle on one simulated device. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub(crate) shared: Arc<Shared>,
}

impl Shared {
    pub(crate) fn lock(&self) -> StateGuard<'_> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.is_none() {
            let fleet = &self.fleet;
            *state = Some(Box::new(State {
                faults: fleet.faults.clone(),
                key_generation: 0,
                changes: fleet.no_changes.clone(),
                sessions: 0,
                open_shells: 0,
                telnet_negotiation: Vec::new(),
                authorized_keys: Vec::new(),
                tls: fleet
                    .tls
                    .clone()
                    .filter(|_| self.personality.https_api().is_some()),
                saved_files: Default::default(),
            }));
        }
        StateGuard(state)
    }

    pub(crate) fn host_key(&self, generation: u64) -> PrivateKey {
        let mut rng = SplitMix(self.seed ^ generation.wrapping_mul(0x5851_F42D_4C95_7F2D));
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        PrivateKey::from(Ed25519Keypair::from_seed(&seed))
    }

    pub(crate) fn secret_token(&self) -> String {
        format!("Sx{:08x}q", self.seed as u32)
    }

    /// The configuration as printed by session number `counter`, now.
    pub(crate) fn render(
        &self,
        changes: &[Change],
        counter: u64,
        long_line: Option<usize>,
    ) -> String {
        let token = self.secret_token();
        config::generate(
            self.personality.style,
            &self.spec(changes, &token, long_line),
            self.fleet.clock.stamp(counter),
        )
    }

    /// The configuration's lines without the volatile ones: what a file
    /// the device saves holds (its own chatter and the state of the moment
    /// are not configuration).
    pub(crate) fn render_stable(&self, changes: &[Change]) -> String {
        let token = self.secret_token();
        let mut out = String::new();
        for l in config::generate_lines(
            self.personality.style,
            &self.spec(changes, &token, None),
            self.fleet.clock.stamp(0),
        ) {
            if !l.volatile {
                out.push_str(&l.text);
                out.push('\n');
            }
        }
        out
    }

    fn spec<'a>(
        &'a self,
        changes: &'a [Change],
        token: &'a str,
        long_line: Option<usize>,
    ) -> ConfigSpec<'a> {
        // Every generation goes through here.
        self.fleet.generated.fetch_add(1, Ordering::Relaxed);
        ConfigSpec {
            host: &self.name,
            seed: self.seed,
            changes,
            lines: self.config_lines,
            secret_token: token,
            long_line,
            reencrypt_secrets: self
                .reencrypt_secrets
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// The simulator's wall clock, which dates the volatile lines of every
/// configuration: the system's by default, or an instant a test sets.
/// Cheap to clone; clones share the setting.
#[derive(Debug, Clone, Default)]
pub struct SimClock(Arc<Mutex<Option<SystemTime>>>);

/// Instants where date formatting breaks when it is written for one month:
/// the last second of a month and of a year, the first second of a year, a
/// leap day, and single-digit days, months and hours. Tests that look at
/// dated lines run at each of these and at the system's now.
pub const DATE_BOUNDARIES: [&str; 5] = [
    "2026-11-30T23:59:59Z",
    "2026-12-31T23:59:59Z",
    "2027-01-01T00:00:00Z",
    "2028-02-29T12:00:00Z",
    "2027-03-05T04:05:06Z",
];

impl SimClock {
    /// Follows the system clock.
    pub fn system() -> SimClock {
        SimClock::default()
    }

    /// Stopped at `at`.
    pub fn fixed(at: SystemTime) -> SimClock {
        SimClock(Arc::new(Mutex::new(Some(at))))
    }

    /// Stopped at an RFC 3339 instant, e.g. one of [`DATE_BOUNDARIES`].
    pub fn at(rfc3339: &str) -> Result<SimClock, devicevault_core::TimestampError> {
        let t = devicevault_core::Timestamp::parse(rfc3339)?;
        let millis = u64::try_from(t.unix_millis()).unwrap_or(0);
        Ok(SimClock::fixed(UNIX_EPOCH + Duration::from_millis(millis)))
    }

    /// Stops the clock at `at` (every clone sees it from the next session).
    pub fn set(&self, at: SystemTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    /// Follows the system clock again.
    pub fn follow_system(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The time it shows now.
    pub fn now(&self) -> SystemTime {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(SystemTime::now)
    }

    pub(crate) fn stamp(&self, counter: u64) -> SessionStamp {
        let d = self
            .now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        SessionStamp {
            unix: d.as_secs(),
            millis: d.subsec_millis(),
            counter,
        }
    }
}

impl SimDevice {
    /// Hostname, e.g. `r0003`.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Platform, e.g. `cisco_ios`.
    pub fn platform(&self) -> &'static str {
        self.shared.personality.platform
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Its SSH port.
    pub fn port(&self) -> u16 {
        self.shared.addr.port()
    }

    /// Its Telnet port, if the simulator was started with Telnet.
    pub fn telnet_port(&self) -> Option<u16> {
        self.shared.telnet_addr.map(|a| a.port())
    }

    /// The option negotiation the last Telnet client sent, in order, e.g.
    /// `["DO ECHO", "DO SGA", "WONT TTYPE", "WONT NAWS"]`.
    pub fn telnet_negotiation(&self) -> Vec<String> {
        self.shared.lock().telnet_negotiation.clone()
    }

    /// The paths the device serves its configuration at over SFTP and
    /// `scp -f` (empty for a platform read on its CLI).
    pub fn served_files(&self) -> &'static [&'static str] {
        self.shared.personality.served_files()
    }

    /// Lines of configuration it prints (volatile lines included).
    pub fn config_lines(&self) -> usize {
        self.shared.config_lines
    }

    /// The login name it accepts.
    pub fn username(&self) -> &str {
        &self.shared.fleet.username
    }

    /// The password it accepts.
    pub fn password(&self) -> &str {
        &self.shared.fleet.password
    }

    /// The enable secret it accepts (for platforms with an enable step).
    pub fn enable_secret(&self) -> &str {
        &self.shared.fleet.enable_secret
    }

    /// A string embedded in every secret of its configuration (community
    /// strings, password hashes, pre-shared keys), for masking tests.
    pub fn secret_token(&self) -> String {
        self.shared.secret_token()
    }

    /// The clock that dates its configurations (shared by the whole fleet).
    pub fn clock(&self) -> &SimClock {
        &self.shared.fleet.clock
    }

    /// The current misbehaviours.
    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.clone()
    }

    /// Replaces the misbehaviours; applies to the next session.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// Lets `key` log in as the device's user (public-key authentication).
    pub fn authorize_key(&self, key: russh::keys::PublicKey) {
        self.shared.lock().authorized_keys.push(key);
    }

    /// Changes the host key, as a replaced or re-imaged device would.
    pub fn rotate_host_key(&self) {
        self.shared.lock().key_generation += 1;
    }

    /// Replaces the TLS certificate (and its key) of a device serving an
    /// HTTPS API with a fresh self-signed one, as a re-imaged device or a
    /// renewed certificate does; applies to the next connection. Nothing
    /// for an SSH device.
    pub fn rotate_certificate(&self) {
        let mut s = self.shared.lock();
        if s.tls.is_some() {
            s.tls = Some(Arc::new(crate::https::TlsIdentity::generate(
                &self.shared.name,
            )));
        }
    }

    /// The DER of the TLS certificate a device serving an HTTPS API
    /// presents now; `None` for an SSH device.
    pub fn certificate_der(&self) -> Option<Vec<u8>> {
        self.shared.lock().tls.as_ref().map(|t| t.cert_der.to_vec())
    }

    /// The same certificate in PEM, e.g. for `curl --cacert`.
    pub fn certificate_pem(&self) -> Option<String> {
        self.shared.lock().tls.as_ref().map(|t| t.cert_pem.clone())
    }

    /// The SHA-256 fingerprint of the current host key.
    pub fn host_key_fingerprint(&self) -> String {
        let generation = self.shared.lock().key_generation;
        self.shared
            .host_key(generation)
            .public_key()
            .fingerprint(russh::keys::HashAlg::Sha256)
            .to_string()
    }

    /// A file the device wrote on request (BIG-IP's UCS archive after
    /// `tmsh save /sys ucs`), byte for byte as it serves it.
    pub fn saved_file(&self, path: &str) -> Option<Vec<u8>> {
        self.shared
            .lock()
            .saved_files
            .get(path)
            .map(|b| b.as_ref().clone())
    }

    /// Changes the configuration the way tests rely on: interface 0's
    /// description becomes `link-0 rev<N>` for the new revision `N`, by
    /// `netops` — one line of the body. The next session prints it. For
    /// the varied edits of a real network, see [`SimDevice::drift`].
    pub fn change_config(&self) {
        let mut s = self.shared.lock();
        let revision = s.changes.len() as u32 + 1;
        let change = drift::described(
            self.shared.personality.style,
            revision,
            "netops".into(),
            Edit::Description {
                interface: 0,
                text: format!("link-0 rev{revision}"),
            },
        );
        Arc::make_mut(&mut s.changes).push(change);
    }

    /// Makes an engineer's edit — a new interface description, an entry
    /// in the management ACL or a local user, in the platform's syntax —
    /// picked from the device's seed and the new revision, by an author
    /// picked the same way. Returns what changed; the next session prints it.
    pub fn drift(&self) -> Change {
        self.make_drift(None)
    }

    /// [`SimDevice::drift`] by `author`, whom the platforms that print the
    /// last change's author (IOS, IOS XR, EOS, ASA, Junos, FortiOS) name.
    pub fn drift_by(&self, author: &str) -> Result<Change, InvalidAuthor> {
        drift::check_author(author)?;
        Ok(self.make_drift(Some(author)))
    }

    fn make_drift(&self, author: Option<&str>) -> Change {
        let mut s = self.shared.lock();
        let revision = s.changes.len() as u32 + 1;
        let change = drift::next(
            self.shared.personality.style,
            self.shared.seed,
            revision,
            &Applied::of(&s.changes),
            author,
        );
        Arc::make_mut(&mut s.changes).push(change.clone());
        change
    }

    /// Makes the device encrypt its reversible secrets with a fresh salt in
    /// every session, as FortiOS does with its `ENC` values (oxidized
    /// issues 1627, 1883 and 2320 show two `show`s of one configuration
    /// differing in them): the encrypted value's text changes, what it
    /// encrypts does not. Off by default, so that an unchanged device prints
    /// byte-identical configurations; platforms without such secrets are
    /// not affected. Those lines are not tagged volatile (a backup keeps
    /// them), so with this on, [`SimDevice::stable_config_lines`] matches
    /// only the session it was computed for.
    pub fn set_reencrypt_secrets(&self, on: bool) {
        self.shared
            .reencrypt_secrets
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every change since revision 0, oldest first.
    pub fn changes(&self) -> Vec<Change> {
        self.shared.lock().changes.as_ref().clone()
    }

    /// Who made the last change (`admin` at revision 0).
    pub fn last_author(&self) -> String {
        self.shared
            .lock()
            .changes
            .last()
            .map_or_else(|| drift::INITIAL_AUTHOR.to_owned(), |c| c.author.clone())
    }

    /// The revision of the configuration (0 at start, +1 per change).
    pub fn revision(&self) -> u32 {
        self.shared.lock().changes.len() as u32
    }

    /// How many SSH sessions reached the shell (for a device serving an
    /// HTTPS API: how many configurations it answered).
    pub fn sessions(&self) -> u64 {
        self.shared.lock().sessions
    }

    /// How many shells are open right now (a collector that leaks
    /// connections leaves this above zero).
    pub fn open_shells(&self) -> u64 {
        self.shared.lock().open_shells
    }

    /// The configuration as a session now would print it, volatile lines included.
    pub fn running_config(&self) -> String {
        let (rev, n, long) = {
            let s = self.shared.lock();
            (s.changes.clone(), s.sessions, s.faults.single_line_bytes)
        };
        self.shared.render(&rev, n, long)
    }

    /// The lines a session now would print, each tagged volatile (changes
    /// between sessions, so a backup must drop it) or not.
    pub fn running_config_lines(&self) -> Vec<ConfigLine> {
        let (rev, n, long) = {
            let s = self.shared.lock();
            (s.changes.clone(), s.sessions, s.faults.single_line_bytes)
        };
        let token = self.shared.secret_token();
        config::generate_lines(
            self.shared.personality.style,
            &self.shared.spec(&rev, &token, long),
            self.shared.fleet.clock.stamp(n),
        )
    }

    /// What a backup of the configuration must hold, in order: the lines a
    /// session now would print minus the volatile ones and the blank lines
    /// at the end (the prompt follows them on an interactive shell).
    pub fn stable_config_lines(&self) -> Vec<String> {
        let mut kept: Vec<String> = self
            .running_config_lines()
            .into_iter()
            .filter(|l| !l.volatile)
            .map(|l| l.text)
            .collect();
        while kept.last().is_some_and(String::is_empty) {
            kept.pop();
        }
        kept
    }
}
