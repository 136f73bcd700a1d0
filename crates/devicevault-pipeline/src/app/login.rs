//! Password checks that cannot take the server down, and cannot be
//! brute-forced.
//!
//! Every sign-in path (the API's `POST /api/auth/login/`, the web form)
//! goes through [`LoginGuard::check`], which decides in this order:
//! 1. **per client address**: more than [`ADDRESS_FAILURES`] failed logins
//!    within [`ADDRESS_WINDOW`] from one address refuse further attempts
//!    from it until the window has room again ([`LoginError::Throttled`]);
//! 2. **per username**: after [`LOCK_AFTER`] consecutive failures the name
//!    is locked for 1 s, doubling with each further failure up to
//!    [`MAX_LOCK`] — the right password is refused too while locked, and a
//!    success resets the count. The count lives in the database, so every
//!    API process of a distributed deployment sees it, and it is kept for
//!    unknown names as for known ones, so the answers never tell which
//!    usernames exist;
//! 3. **concurrency**: an argon2id verification holds ~19 MiB for tens of
//!    milliseconds; at most `concurrency` run at once, and a login beyond
//!    that is answered at once with [`LoginError::Busy`] instead of
//!    queueing (a queue of waiting verifications is the memory to exhaust).
//!    The verifications run on `concurrency` threads of their own, kept for
//!    the guard's life, each with one argon2 working memory it reuses: a
//!    fresh 19 MiB allocation per verification was freed into the heap,
//!    split by smaller allocations, and the next one took new pages —
//!    540 MB after 1,024 wrong logins in `devicevault-bench login`.
//!
//! Failures are logged with the username and the address, never the
//! password.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devicevault_core::Timestamp;
use devicevault_db::{Db, DbError, NewAudit, User};
use tokio::sync::Semaphore;

use super::auth;
use super::directory::{self, DirectoryError, Identity};
use devicevault_core::RetryClass as _;

/// Consecutive failures of one username before it is locked.
pub const LOCK_AFTER: i64 = 5;
/// The longest lock of a username.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Failed logins from one address allowed within [`ADDRESS_WINDOW`].
pub const ADDRESS_FAILURES: usize = 30;
/// The window of the per-address count.
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most (beyond, the quietest are forgotten).
const MAX_ADDRESSES: usize = 65_536;

/// Why a login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown username or wrong password (never says which).
    #[error("unable to log in with the provided username and password")]
    Invalid,
    /// Too many failures for this username or from this address.
    #[error("too many failed logins; try again in {} s", retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },
    /// Every password verification slot is busy.
    #[error("the server is busy checking other logins; try again in {} s", retry_after.as_secs().max(1))]
    Busy { retry_after: Duration },
    /// The directory could not be reached or did not answer: nothing was
    /// decided about the password (not counted as a failure).
    #[error("the directory cannot be reached; try again in {} s", retry_after.as_secs().max(1))]
    DirectoryUnavailable { retry_after: Duration },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl LoginError {
    /// Seconds for a `Retry-After` header, when the client should retry.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Throttled { retry_after }
            | Self::Busy { retry_after }
            | Self::DirectoryUnavailable { retry_after } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            _ => None,
        }
    }
}

/// The lock after the `failures`-th consecutive failure, from `now`.
fn lock_for(failures: i64) -> Option<Duration> {
    if failures < LOCK_AFTER {
        return None;
    }
    let doublings = u32::try_from(failures - LOCK_AFTER)
        .unwrap_or(u32::MAX)
        .min(20);
    Some(Duration::from_secs(1u64 << doublings).min(MAX_LOCK))
}

fn after(now: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_datetime(now.as_datetime() + d)
}

fn until(now: Timestamp, then: Timestamp) -> Duration {
    let ms = then.unix_millis() - now.unix_millis();
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Failed logins per client address, in a sliding window.
#[derive(Debug, Default)]
struct AddressFailures(Mutex<HashMap<IpAddr, VecDeque<Instant>>>);

impl AddressFailures {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long `addr` must wait, if it is over its budget.
    fn wait(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        let mut map = self.lock();
        let times = map.get_mut(&addr)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= ADDRESS_WINDOW)
        {
            times.pop_front();
        }
        if times.len() < ADDRESS_FAILURES {
            if times.is_empty() {
                map.remove(&addr);
            }
            return None;
        }
        let oldest = *times.front()?;
        Some(ADDRESS_WINDOW.saturating_sub(now.duration_since(oldest)))
    }

    fn record(&self, addr: IpAddr, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&addr) {
            map.retain(|_, t| {
                t.back()
                    .is_some_and(|l| now.duration_since(*l) < ADDRESS_WINDOW)
            });
            if map.len() >= MAX_ADDRESSES {
                // Still full of live entries: forget the one with the
                // oldest last failure.
                if let Some(quietest) = map
                    .iter()
                    .min_by_key(|(_, t)| t.back().copied())
                    .map(|(a, _)| *a)
                {
                    map.remove(&quietest);
                }
            }
        }
        let times = map.entry(addr).or_default();
        times.push_back(now);
        while times.len() > ADDRESS_FAILURES {
            times.pop_front();
        }
    }
}

/// Guards password verification; one per process, shared by the API and
/// the web UI.
#[derive(Debug, Clone)]
pub struct LoginGuard {
    slots: Arc<Semaphore>,
    addresses: Arc<AddressFailures>,
    verifiers: Verifiers,
    /// The directory names that are not local accounts sign in at
    /// ([`LoginGuard::sign_in`]), when `[ldap]` is configured.
    identity: Arc<Identity>,
}

/// A password and the hash to check it against, and where the answer goes.
type Verification = (String, String, tokio::sync::oneshot::Sender<bool>);

/// The threads that run argon2 verifications; they end when the last clone
/// of the guard is dropped.
#[derive(Debug, Clone)]
struct Verifiers {
    jobs: std::sync::mpsc::SyncSender<Verification>,
}

impl Verifiers {
    fn start(threads: usize) -> Self {
        // Never more than `threads` in flight (the semaphore's slots), so
        // a queue of that size never blocks a sender.
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Verification>(threads);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("login-verify-{i}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        let next = queue
                            .lock()
                            .map_err(|_| ())
                            .and_then(|q| q.recv().map_err(|_| ()));
                        let Ok((password, hash, reply)) = next else {
                            return;
                        };
                        let _ = reply.send(auth::verify_password_in(&password, &hash, &mut memory));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a login verification thread");
            }
        }
        Self { jobs }
    }

    /// Whether `password` matches `hash`; false if no verifier could run it.
    async fn verify(&self, password: String, hash: String) -> bool {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if self.jobs.try_send((password, hash, reply)).is_err() {
            tracing::error!("no login verification thread took the check");
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

impl LoginGuard {
    /// At most `concurrency` verifications at once.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            addresses: Arc::default(),
            verifiers: Verifiers::start(concurrency),
            identity: Arc::new(Identity::none()),
        }
    }

    /// Signs names that are not local accounts in at `identity`'s directory
    /// (when it has one).
    pub fn with_identity(mut self, identity: Arc<Identity>) -> Self {
        self.identity = identity;
        self
    }

    /// Failed sign-ins recorded against `addr` (the web UI's single
    /// sign-on callback counts its failures here too, so one address
    /// cannot try callbacks without limit), or how long it must wait.
    pub fn address_wait(&self, addr: IpAddr) -> Option<Duration> {
        self.addresses.wait(addr, Instant::now())
    }

    /// Counts a failed sign-in from `addr` that did not go through
    /// [`LoginGuard::sign_in`] (a single sign-on callback).
    pub fn record_address_failure(&self, addr: IpAddr) {
        self.addresses.record(addr, Instant::now());
    }

    /// A sign-in: [`LoginGuard::check`], and for a name that is no local
    /// account, the directory when one is configured (see
    /// [`super::directory`]). The same limits and audit rows apply.
    pub async fn sign_in(
        &self,
        db: &Db,
        username: &str,
        password: &str,
        addr: IpAddr,
        via: &str,
    ) -> Result<User, LoginError> {
        self.audited(db, username, password, addr, via, true).await
    }

    /// The default concurrency: twice the cores.
    pub fn default_concurrency() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
    }

    /// Checks `password` for `username`, coming from `addr`, and records
    /// the attempt in the audit log (success, failure, or refused while
    /// throttled).
    pub async fn check(
        &self,
        db: &Db,
        username: &str,
        password: &str,
        addr: IpAddr,
        via: &str,
    ) -> Result<User, LoginError> {
        self.audited(db, username, password, addr, via, false).await
    }

    async fn audited(
        &self,
        db: &Db,
        username: &str,
        password: &str,
        addr: IpAddr,
        via: &str,
        directory: bool,
    ) -> Result<User, LoginError> {
        let result = self
            .verify(db, username, password, addr, via, directory)
            .await;
        let outcome = match &result {
            Ok(_) => "login.success",
            Err(LoginError::Invalid) => "login.failure",
            Err(LoginError::Throttled { .. }) => "login.refused",
            // Every verification slot busy is a flood: the log line says
            // so, rows would only add to it. A database error: nothing can
            // be recorded either.
            Err(_) => return result,
        };
        crate::app::audit::record(
            db,
            NewAudit {
                actor: username.to_owned(),
                via: via.to_owned(),
                address: Some(addr.to_string()),
                action: outcome.to_owned(),
                object_type: Some("users".into()),
                object_id: None,
                fields: "{}".into(),
                outcome: if result.is_ok() { "ok" } else { "failure" }.into(),
            },
        )
        .await;
        result
    }

    async fn verify(
        &self,
        db: &Db,
        username: &str,
        password: &str,
        addr: IpAddr,
        via: &str,
        directory: bool,
    ) -> Result<User, LoginError> {
        if let Some(wait) = self.addresses.wait(addr, Instant::now()) {
            tracing::warn!(user = %username, address = %addr, via, "login refused: too many failures from this address");
            return Err(LoginError::Throttled { retry_after: wait });
        }
        let now = Timestamp::now();
        if let Some(t) = db.login_throttle(username).await?
            && let Some(locked) = t.locked_until
            && locked > now
        {
            tracing::warn!(user = %username, address = %addr, via, failures = t.failures, "login refused: username locked");
            return Err(LoginError::Throttled {
                retry_after: until(now, locked),
            });
        }
        let Ok(_slot) = self.slots.clone().try_acquire_owned() else {
            tracing::warn!(user = %username, address = %addr, via, "login refused: every verification slot is busy");
            return Err(LoginError::Busy {
                retry_after: Duration::from_secs(1),
            });
        };
        let found = db.user_by_name(username).await?;
        // A local account signs in here, always (the break-glass
        // administrator); another name goes to the directory, if any.
        let ask_directory = directory
            && self.identity.ldap().is_some()
            && found
                .as_ref()
                .is_none_or(|u| u.source == devicevault_db::SOURCE_LDAP);
        let signed_in = if ask_directory {
            match directory::ldap_sign_in(db, &self.identity, username, password).await {
                Ok(user) => Some(user),
                Err(DirectoryError::Db(e)) => return Err(e.into()),
                Err(e) if e.is_transient() => {
                    tracing::warn!(user = %username, address = %addr, via, error = %e, "login not decided: the directory cannot be reached");
                    return Err(LoginError::DirectoryUnavailable {
                        retry_after: Duration::from_secs(5),
                    });
                }
                Err(e) => {
                    tracing::warn!(user = %username, address = %addr, via, reason = %e, "directory sign-in refused");
                    None
                }
            }
        } else {
            // A directory account or a disabled one never signs in with a
            // password kept here; it is verified against the dummy hash like
            // an unknown user, so the answer and its time are the same.
            let user = found.filter(|u| u.is_local() && u.disabled_at.is_none());
            let hash = user
                .as_ref()
                .map(|u| u.password_hash.clone())
                .unwrap_or_else(|| auth::dummy_hash().to_owned());
            let password = password.to_owned();
            let ok = self.verifiers.verify(password, hash).await;
            user.filter(|_| ok)
        };
        match signed_in {
            Some(user) => {
                db.clear_login_failures(username).await?;
                Ok(user)
            }
            _ => {
                self.addresses.record(addr, Instant::now());
                let now = Timestamp::now();
                let t = db
                    .record_login_failure(username, now, |n| lock_for(n).map(|d| after(now, d)))
                    .await?;
                tracing::warn!(user = %username, address = %addr, via, failures = t.failures, "failed login");
                Err(LoginError::Invalid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_locked_after_five_failures_for_one_second_doubling_to_fifteen_minutes() {
        assert_eq!(lock_for(4), None);
        assert_eq!(lock_for(5), Some(Duration::from_secs(1)));
        assert_eq!(lock_for(6), Some(Duration::from_secs(2)));
        assert_eq!(lock_for(10), Some(Duration::from_secs(32)));
        assert_eq!(lock_for(15), Some(MAX_LOCK));
        assert_eq!(lock_for(i64::MAX), Some(MAX_LOCK));
    }

    #[test]
    fn an_address_over_its_budget_waits_until_its_oldest_failure_leaves_the_window() {
        let f = AddressFailures::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..ADDRESS_FAILURES {
            assert_eq!(f.wait(a, t0), None, "after {i} failures");
            f.record(a, t0);
        }
        let wait = f.wait(a, t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(f.wait(a, t0 + ADDRESS_WINDOW), None);
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(f.wait(other, t0), None);
    }
}
