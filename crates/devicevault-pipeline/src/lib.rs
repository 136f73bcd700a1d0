//! DeviceVault's pipeline and its application layer — everything but the
//! HTTP front ends and the process assembly.
//!
//! Every role is an async function that talks to the others only through
//! the bus traits of [`devicevault_core::bus`] (a task bus and a result log)
//! and to the database through [`devicevault_db::Db`]:
//!
//! - [`roles::dispatcher`] turns "back up this device" into a job row and a
//!   `device.collect` task on `collector.group.<id>`, and re-dispatches jobs
//!   that passed their deadline;
//! - [`roles::collector`] logs in to devices and appends to `device:results`;
//! - [`roles::device_results`] records collection outcomes and sends
//!   `storage.store` to `storage.git` / `storage.fs`;
//! - [`roles::storage_worker`] writes backups (group commits per repository)
//!   and appends to `storage:results`, and answers `storage.read`;
//! - [`roles::storage_results`] records `StoredBackup` rows;
//! - [`scheduler`] runs cron schedules, and [`retention`] prunes what the
//!   locations no longer keep.
//!
//! [`metrics`] names every metric a process exposes; the roles count into
//! the one [`metrics::Metrics`] the assembly hands them.
//!
//! [`app`] is the application layer the front ends (API, web UI, CLI) call,
//! so that a rule is written once: sign-in and tokens, reading a stored
//! configuration as a user may see it. This crate knows nothing of HTTP.

pub mod app;
pub mod background;
pub mod collect_job;
pub mod keyfile;
pub mod metrics;
pub mod requests;
pub mod retention;
pub mod roles;
pub mod scheduler;
pub mod settings;

pub use settings::Settings;
