//! A device's health as the notifications see it: failing (its last job
//! failed for good), stale (no successful backup for longer than its
//! threshold), and the way back. Each transition is a compare-and-swap on
//! the device's row with its event written in the same transaction, so it
//! fires once however many schedulers or consumers race on it.

use std::time::Duration;

use devicevault_core::Timestamp;
use sqlx::Row;

use crate::notifications::{self, Tx};
use crate::{Db, DbError};

/// A device that went stale in a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WentStale {
    pub device_id: i64,
    /// Its last successful backup (`None`: never backed up).
    pub last_success_at: Option<String>,
}

fn minus(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_datetime(t.as_datetime() - d)
}

/// Hours as the threshold's text.
fn hours(d: Duration) -> String {
    let h = d.as_secs_f64() / 3600.0;
    if h >= 1.0 && h.fract() == 0.0 {
        format!("{h:.0} h")
    } else {
        format!("{} s", d.as_secs())
    }
}

/// The devices a scan looks at: live, enabled, not yet stale.
const CANDIDATES: &str = "SELECT d.id, d.last_success_at FROM devices d \
     LEFT JOIN device_groups g ON g.id = d.device_group_id \
     WHERE d.archived_at IS NULL AND d.enabled = 1 AND d.stale_since IS NULL \
     AND COALESCE(d.last_success_at, d.created_at) < $1";

/// Records a device's final failure in `tx` (the first of a run of them).
pub(crate) async fn mark_failing(
    tx: &mut Tx<'_>,
    device_id: i64,
    now: Timestamp,
) -> Result<(), DbError> {
    sqlx::query("UPDATE devices SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL")
        .bind(now.to_string())
        .bind(device_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a successful backup at `at` in `tx`: the device's last success
/// (and, when it stored a new configuration, its last change) moves
/// forward, and a failing or stale device recovers, with its
/// `device_recovered` event (keyed by the job, `task_identifier`).
pub(crate) async fn record_success(
    tx: &mut Tx<'_>,
    device_id: i64,
    at: Timestamp,
    changed: bool,
    task_identifier: &str,
    stored_backup_id: i64,
) -> Result<(), DbError> {
    let at = at.to_string();
    let old = sqlx::query("SELECT stale_since, failing_since FROM devices WHERE id = $1")
        .bind(device_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(old) = old else {
        return Ok(()); // purged meanwhile
    };
    let stale: Option<String> = old.try_get("stale_since")?;
    let failing: Option<String> = old.try_get("failing_since")?;
    sqlx::query(
        "UPDATE devices SET last_success_at = CASE WHEN last_success_at IS NULL \
         OR last_success_at < $1 THEN $1 ELSE last_success_at END, \
         last_change_at = CASE WHEN $3 = 1 AND (last_change_at IS NULL \
         OR last_change_at < $1) THEN $1 ELSE last_change_at END, \
         failing_since = NULL, stale_since = NULL WHERE id = $2",
    )
    .bind(&at)
    .bind(device_id)
    .bind(i64::from(changed))
    .execute(&mut **tx)
    .await?;
    let reason = match (&stale, &failing) {
        (Some(s), _) => format!("no successful backup since it went stale at {s}"),
        (None, Some(f)) => format!("backups failing since {f}"),
        (None, None) => return Ok(()),
    };
    notifications::insert_event(
        tx,
        notifications::DEVICE_RECOVERED,
        &format!("{}:{task_identifier}", notifications::DEVICE_RECOVERED),
        device_id,
        Timestamp::parse(&at).unwrap_or_else(|_| Timestamp::now()),
        Some((stored_backup_id, None)),
        Some(&reason),
    )
    .await
}

impl Db {
    /// Marks stale every live, enabled device that has had no successful
    /// backup (or, never backed up, has existed) for longer than its
    /// group's threshold (`device_groups.stale_after_hours`), else
    /// `default`; each with its `device_stale` event in the same
    /// transaction, once per transition. Returns the devices that went
    /// stale in this call.
    pub async fn mark_stale(
        &self,
        now: Timestamp,
        default: Duration,
    ) -> Result<Vec<WentStale>, DbError> {
        let groups = sqlx::query(
            "SELECT id, stale_after_hours FROM device_groups WHERE stale_after_hours IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        let mut passes: Vec<(Option<i64>, Duration)> = vec![(None, default)];
        for g in &groups {
            let h: i64 = g.try_get("stale_after_hours")?;
            let h = u64::try_from(h).unwrap_or(0).max(1);
            passes.push((Some(g.try_get("id")?), Duration::from_secs(h * 3600)));
        }
        let mut went = Vec::new();
        for (group, after) in passes {
            let cutoff = minus(now, after).to_string();
            let rows = match group {
                None => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "{CANDIDATES} AND g.stale_after_hours IS NULL"
                    )))
                    .bind(&cutoff)
                    .fetch_all(self.pool())
                    .await?
                }
                Some(g) => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "{CANDIDATES} AND d.device_group_id = $2"
                    )))
                    .bind(&cutoff)
                    .bind(g)
                    .fetch_all(self.pool())
                    .await?
                }
            };
            for r in rows {
                let device_id: i64 = r.try_get("id")?;
                let last: Option<String> = r.try_get("last_success_at")?;
                if self
                    .went_stale(device_id, &last, &cutoff, now, after)
                    .await?
                {
                    went.push(WentStale {
                        device_id,
                        last_success_at: last,
                    });
                }
            }
        }
        Ok(went)
    }

    /// The compare-and-swap of one device to stale, with its event; `false`
    /// when a success came in, or another scheduler marked it, meanwhile.
    async fn went_stale(
        &self,
        device_id: i64,
        last: &Option<String>,
        cutoff: &str,
        now: Timestamp,
        after: Duration,
    ) -> Result<bool, DbError> {
        let _gate = self.write_gate_for(crate::WritePriority::Background).await;
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE devices SET stale_since = $1 WHERE id = $2 AND stale_since IS NULL \
             AND COALESCE(last_success_at, created_at) < $3",
        )
        .bind(now.to_string())
        .bind(device_id)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let reason = match last {
            Some(at) => format!(
                "no successful backup for more than {} (the last at {at})",
                hours(after)
            ),
            None => format!("never backed up, added more than {} ago", hours(after)),
        };
        notifications::insert_event(
            &mut tx,
            notifications::DEVICE_STALE,
            &format!("{}:{device_id}:{now}", notifications::DEVICE_STALE),
            device_id,
            now,
            None,
            Some(&reason),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// How many live, enabled devices are stale now.
    pub async fn count_stale(&self) -> Result<i64, DbError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM devices WHERE stale_since IS NOT NULL \
             AND archived_at IS NULL AND enabled = 1",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_read_in_hours_when_whole() {
        assert_eq!(hours(Duration::from_secs(25 * 3600)), "25 h");
        assert_eq!(hours(Duration::from_secs(90)), "90 s");
    }
}

/// The fleet's health in figures, for the metrics: read at each scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthFigures {
    /// Live devices marked stale.
    pub stale_devices: i64,
    /// The oldest `last_success_at` among live, enabled devices that have
    /// one (`None`: no such device).
    pub oldest_last_success: Option<Timestamp>,
}

impl Db {
    /// Counts stale devices and finds the oldest last success, in two
    /// queries on indexed columns.
    pub async fn health_figures(&self) -> Result<HealthFigures, DbError> {
        let stale: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM devices WHERE stale_since IS NOT NULL AND archived_at IS NULL",
        )
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        let oldest: Option<String> = sqlx::query(
            "SELECT MIN(last_success_at) AS t FROM devices \
             WHERE archived_at IS NULL AND enabled = 1 AND last_success_at IS NOT NULL",
        )
        .fetch_one(self.pool())
        .await?
        .try_get("t")?;
        Ok(HealthFigures {
            stale_devices: stale,
            oldest_last_success: oldest.as_deref().and_then(|t| Timestamp::parse(t).ok()),
        })
    }
}
