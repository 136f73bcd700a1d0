//! What the pipeline records about a job beyond its state: where its
//! backup was sent.

use std::collections::HashMap;

use devicevault_core::Timestamp;
use sqlx::{AssertSqlSafe, Row};

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

    /// [`Db::job_target_and_queued_on`] of each of `task_identifiers`, by
    /// task identifier (jobs that do not exist are absent): one query per
    /// 500.
    pub async fn job_targets_and_queued_on(
        &self,
        task_identifiers: &[&str],
    ) -> Result<HashMap<String, (JobTarget, Option<Timestamp>)>, DbError> {
        let mut out = HashMap::with_capacity(task_identifiers.len());
        for chunk in task_identifiers.chunks(500) {
            let params = crate::scope::placeholders(chunk.len());
            let mut query = sqlx::query(AssertSqlSafe(format!(
                "SELECT task_identifier, location_id, is_binary, queued_on FROM backup_jobs \
                 WHERE task_identifier IN ({params})"
            )));
            for ti in chunk {
                query = query.bind(*ti);
            }
            for r in query.fetch_all(self.pool()).await? {
                out.insert(r.try_get("task_identifier")?, target_and_queued_on(&r)?);
            }
        }
        Ok(out)
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
        row.as_ref().map(target_and_queued_on).transpose()
    }
}

/// A job row's target and when it was queued (`None` if that does not
/// parse).
fn target_and_queued_on(r: &sqlx::any::AnyRow) -> Result<(JobTarget, Option<Timestamp>), DbError> {
    let queued_on: String = r.try_get("queued_on")?;
    Ok((
        JobTarget {
            location_id: r.try_get("location_id")?,
            is_binary: r.try_get::<i64, _>("is_binary")? != 0,
        },
        Timestamp::parse(&queued_on).ok(),
    ))
}
