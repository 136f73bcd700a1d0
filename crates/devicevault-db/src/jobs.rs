//! What the pipeline records about a job beyond its state: where its
//! backup was sent.

use devicevault_core::Timestamp;
use sqlx::Row;

use crate::{Db, DbError};

/// The storage target recorded for a job at dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTarget {
    pub location_id: Option<i64>,
    pub is_binary: bool,
}

pub(crate) fn update_job_target(
    task_identifier: &str,
    target: JobTarget,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "UPDATE backup_jobs SET location_id = $1, is_binary = $2 WHERE task_identifier = $3",
    )
    .bind(target.location_id)
    .bind(i64::from(target.is_binary))
    .bind(task_identifier)
}

impl Db {
    /// Records where the job's backup is being stored.
    pub async fn set_job_target(
        &self,
        task_identifier: &str,
        target: JobTarget,
    ) -> Result<(), DbError> {
        let _gate = self.write_gate().await;
        update_job_target(task_identifier, target)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The target recorded for a job; `None` when no such job exists.
    pub async fn job_target(&self, task_identifier: &str) -> Result<Option<JobTarget>, DbError> {
        Ok(self
            .job_target_and_queued_on(task_identifier)
            .await?
            .map(|(t, _)| t))
    }

    /// The target recorded for a job and when it was queued (`None` if
    /// that does not parse); `None` when no such job exists.
    pub async fn job_target_and_queued_on(
        &self,
        task_identifier: &str,
    ) -> Result<Option<(JobTarget, Option<Timestamp>)>, DbError> {
        let row = sqlx::query(
            "SELECT location_id, is_binary, queued_on FROM backup_jobs WHERE task_identifier = $1",
        )
        .bind(task_identifier)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let queued_on: String = r.try_get("queued_on")?;
            Ok((
                JobTarget {
                    location_id: r.try_get("location_id")?,
                    is_binary: r.try_get::<i64, _>("is_binary")? != 0,
                },
                Timestamp::parse(&queued_on).ok(),
            ))
        })
        .transpose()
    }
}
