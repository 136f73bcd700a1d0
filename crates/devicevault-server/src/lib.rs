//! DeviceVault's server side: the pipeline's roles and the REST API.
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
//! - [`roles::storage_results`] records `StoredBackup` rows.
//!
//! [`embedded`] runs all of them and the API in one process on the
//! in-process bus; distributed mode runs each in its own process.

pub mod api;
pub mod auth;
pub mod collect_job;
pub mod embedded;
pub mod http_client;
pub mod http_server;
pub mod keyfile;
pub mod login;
pub mod pipeline;
pub mod reading;
pub mod roles;
pub mod scheduler;
pub mod settings;
pub mod web;

pub use settings::Settings;
