//! The scheduler role: enqueues each due device once per cron slot.

use devicevault_core::bus::BoxFuture;
use devicevault_db::Device;

/// Creates a job (idempotent on `task_identifier`) and publishes it.
pub trait Enqueue: Send + Sync {
    /// `Ok(false)` when a job with this identifier existed already; it is
    /// then not published again.
    fn enqueue<'a>(
        &'a self,
        device: &'a Device,
        task_identifier: &'a str,
    ) -> BoxFuture<'a, Result<bool, String>>;
}
