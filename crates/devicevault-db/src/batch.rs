//! Writes of the backup index grouped into one transaction.
//!
//! The result consumers handle a stream batch of many devices at a time;
//! writing each device's rows in a transaction of its own made a commit (a
//! WAL append on SQLite, an fsync on PostgreSQL) and a turn at SQLite's one
//! write lock per row. An [`IndexBatch`] is the same writes, in the same
//! order, applied in one transaction: every one of them is idempotent on
//! `task_identifier` (results and stored backups are `ON CONFLICT DO
//! NOTHING`, a job's state only moves forward), so a batch replayed after a
//! crash (before the entries were acked) changes nothing, and a batch that
//! fails leaves nothing behind for its entries to be handled one by one.

use devicevault_core::Timestamp;

use crate::backups::{JobState, NewDeviceResult, NewStoredBackup};
use crate::{Db, DbError, JobTarget};

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Write {
    DeviceResult(NewDeviceResult),
    StoredBackup(NewStoredBackup),
    Advance {
        task_identifier: String,
        state: JobState,
        reason: Option<String>,
    },
    Target {
        task_identifier: String,
        target: JobTarget,
    },
}

/// Writes to the backup index, applied in order in one transaction by
/// [`Db::apply`]. Each method returns the index of its write, to look its
/// effect up in what `apply` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexBatch {
    writes: Vec<Write>,
}

impl IndexBatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many writes the batch holds.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// [`Db::record_device_result`] in the batch.
    pub fn record_device_result(&mut self, r: NewDeviceResult) -> usize {
        self.push(Write::DeviceResult(r))
    }

    /// [`Db::record_stored_backup`] in the batch.
    pub fn record_stored_backup(&mut self, s: NewStoredBackup) -> usize {
        self.push(Write::StoredBackup(s))
    }

    /// [`Db::advance_job`] in the batch.
    pub fn advance_job(
        &mut self,
        task_identifier: &str,
        state: JobState,
        reason: Option<&str>,
    ) -> usize {
        self.push(Write::Advance {
            task_identifier: task_identifier.to_owned(),
            state,
            reason: reason.map(str::to_owned),
        })
    }

    /// [`Db::set_job_target`] in the batch.
    pub fn set_job_target(&mut self, task_identifier: &str, target: JobTarget) -> usize {
        self.push(Write::Target {
            task_identifier: task_identifier.to_owned(),
            target,
        })
    }

    /// Appends `other`'s writes after this batch's; returns the index its
    /// first write now has.
    pub fn append(&mut self, other: IndexBatch) -> usize {
        let offset = self.writes.len();
        self.writes.extend(other.writes);
        offset
    }

    /// The job moves of the batch: each one's index (in what
    /// [`Db::apply`] returns), its job and the state it moves the job to.
    pub fn job_moves(&self) -> impl Iterator<Item = (usize, &str, JobState)> + '_ {
        self.writes.iter().enumerate().filter_map(|(i, w)| match w {
            Write::Advance {
                task_identifier,
                state,
                ..
            } => Some((i, task_identifier.as_str(), *state)),
            _ => None,
        })
    }

    fn push(&mut self, w: Write) -> usize {
        self.writes.push(w);
        self.writes.len() - 1
    }
}

impl Db {
    /// Applies every write of `batch` in order, in one transaction: all of
    /// them or none. Returns, for each write, whether it changed a row (a
    /// result or stored backup inserted, a job moved); a replayed write
    /// returns `false`, as its single-row method would.
    pub async fn apply(&self, batch: &IndexBatch) -> Result<Vec<bool>, DbError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let _gate = self.write_gate().await;
        let mut tx = self.pool().begin().await?;
        let now = Timestamp::now();
        let mut changed = Vec::with_capacity(batch.len());
        for w in &batch.writes {
            // Stored backups and job moves go through the same functions as
            // their single-row methods, so their events are written here too.
            let done = match w {
                Write::DeviceResult(r) => {
                    crate::backups::insert_device_result(r)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1
                }
                Write::StoredBackup(s) => {
                    crate::backups::record_stored_backup_in(&mut tx, s).await?
                }
                Write::Advance {
                    task_identifier,
                    state,
                    reason,
                } => {
                    crate::backups::advance_job_in(
                        &mut tx,
                        task_identifier,
                        *state,
                        reason.as_deref(),
                        now,
                    )
                    .await?
                }
                Write::Target {
                    task_identifier,
                    target,
                } => {
                    crate::jobs::update_job_target(task_identifier, *target)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1
                }
            };
            changed.push(done);
        }
        tx.commit().await?;
        Ok(changed)
    }
}
