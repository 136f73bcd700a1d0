//! The application layer: the operations the front ends call, written
//! once. A handler of the API or the web UI parses its request, calls one
//! of these, and renders the answer in its own format.

pub mod audit;
pub mod auth;
pub mod backups;
pub mod bulk;
pub mod compliance;
pub mod diff;
pub mod directory;
pub mod import;
pub mod inventory;
pub mod login;
pub mod notifications;
pub mod reading;
pub mod retention;
pub mod rights;
pub mod schedules;
pub mod search;
pub mod time_range;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use devicevault_collect::DriverSet;
use devicevault_core::SealingKey;
use devicevault_db::{Db, TokenPolicy};
use devicevault_storage::StorageRoots;

use crate::requests::Pipeline;
use login::LoginGuard;

/// What the operations of the application reach.
pub struct App {
    pub db: Db,
    pub pipeline: Arc<dyn Pipeline>,
    pub key: SealingKey,
    pub drivers: Arc<DriverSet>,
    pub login: LoginGuard,
    pub tokens: TokenPolicy,
    /// The directories locations must be under, when this process knows
    /// them (`DEVICEVAULT_STORAGE_ROOTS`); a location elsewhere is refused
    /// when it is saved, not only by the storage worker.
    pub storage_roots: Option<StorageRoots>,
    /// Sends notifications (the notifier's deliveries, "send test").
    pub sender: Arc<notifications::Sender>,
    /// The fleet search's cache of each device's latest configuration.
    pub search: Arc<search::SearchIndex>,
    /// `DEVICEVAULT_AUDIT_RETENTION_DAYS`: audit rows older than this are
    /// pruned (behind a signed checkpoint).
    pub audit_retention: std::time::Duration,
    /// `[retention]`: the grace of pruned files, and the periods of failed
    /// results and finished jobs (the dry run and "run now" use them).
    pub retention: crate::settings::RetentionSettings,
    /// This process's metrics (the HTTP middleware counts into them, and
    /// `/metrics` shows them).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The import's table of models to drivers (built in, and the user's
    /// `import.mapping_file`).
    pub import_mapping: Arc<import::DriverMap>,
    /// `[ldap]`, `[[oidc]]` and `[[group_mapping]]`: sign-in through a
    /// directory or a single sign-on provider (`directory`).
    pub identity: Arc<directory::Identity>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}
