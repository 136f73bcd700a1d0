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
//!
//! A batch made of parts ([`IndexBatch::append`], one per stream entry) is
//! all or none per part. On SQLite, whose one writer a batch holds for its
//! whole transaction, a person's request waiting for the writer (a backup
//! asked for, a line of the audit log) is let in between two parts: the
//! parts so far are committed, the request writes, and the batch goes on in
//! a new transaction. Under load a batch of 64 entries held the writer for
//! tens of milliseconds, and "backup now" waited for all of it (issue 22).
//! A part committed before a later one failed is written again, one by one,
//! like the rest — and changes nothing, being idempotent.

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
    /// Where each appended part after the first begins, in order.
    parts: Vec<usize>,
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

    /// Appends `other`'s writes after this batch's, as a part of its own
    /// (see the module's documentation); returns the index its first write
    /// now has.
    pub fn append(&mut self, other: IndexBatch) -> usize {
        let offset = self.writes.len();
        if offset > 0 && !other.is_empty() {
            self.parts.push(offset);
        }
        self.parts
            .extend(other.parts.iter().map(|start| offset + start));
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
    /// Applies every write of `batch` in order, in one transaction — all of
    /// them or none — except that on SQLite a person's request waiting for
    /// the writer is let in between two of its parts (see the module's
    /// documentation). Returns, for each write, whether it changed a row (a
    /// result or stored backup inserted, a job moved); a replayed write
    /// returns `false`, as its single-row method would.
    pub async fn apply(&self, batch: &IndexBatch) -> Result<Vec<bool>, DbError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut gate = self.write_gate().await;
        let mut tx = self.pool().begin().await?;
        let now = Timestamp::now();
        let mut changed = Vec::with_capacity(batch.len());
        let mut parts = batch.parts.iter().copied().peekable();
        for (i, w) in batch.writes.iter().enumerate() {
            if parts.next_if_eq(&i).is_some()
                && self.more_urgent_waiting(crate::WritePriority::Pipeline)
            {
                tx.commit().await?;
                drop(gate);
                gate = self.write_gate().await;
                tx = self.pool().begin().await?;
            }
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
        drop(gate);
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(writes: usize) -> IndexBatch {
        let mut b = IndexBatch::new();
        for i in 0..writes {
            b.set_job_target(
                &format!("job-{i}"),
                JobTarget {
                    location_id: None,
                    is_binary: false,
                },
            );
        }
        b
    }

    #[test]
    fn each_appended_batch_is_a_part_and_keeps_its_own() {
        let mut all = IndexBatch::new();
        assert_eq!(all.append(part(2)), 0);
        assert_eq!(all.append(IndexBatch::new()), 2, "an empty part is no part");
        let mut nested = part(1);
        nested.append(part(2));
        assert_eq!(all.append(nested), 2);
        assert_eq!(all.append(part(1)), 5);
        assert_eq!(all.len(), 6);
        assert_eq!(all.parts, [2, 3, 5]);
    }
}
