//! Notifications: the outbox of events, the channels and rules, and the
//! deliveries a notifier claims with a lease.
//!
//! An event is written in the same transaction as the state that causes
//! it (see [`Db::record_stored_backup`] and [`Db::advance_job`]), and its
//! `dedup_key` names that cause, so a crash neither loses nor repeats one
//! and two consumers racing on one result make one event. Deliveries are
//! claimed by compare-and-swap on their attempt counter, so two notifiers
//! never hold the same delivery; a claim expires with its lease, so a
//! notifier killed mid-delivery leaves it to the next one.

use devicevault_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::inventory::{check_page, flag, not_found};
use crate::{Db, DbError, Listed, Page};

pub(crate) type Tx<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// `config_changed`: a stored backup whose content differs from the
/// device's previous version.
pub const CONFIG_CHANGED: &str = "config_changed";
/// `backup_failed`: a job's final failure.
pub const BACKUP_FAILED: &str = "backup_failed";
/// `device_stale`: no successful backup for longer than the device's
/// threshold.
pub const DEVICE_STALE: &str = "device_stale";
/// `device_recovered`: the first success after a failure or staleness.
pub const DEVICE_RECOVERED: &str = "device_recovered";

/// An event of the outbox, with its device's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: i64,
    /// `config_changed`, `backup_failed`, `device_stale` or
    /// `device_recovered`.
    pub kind: String,
    pub device_id: i64,
    pub device_name: String,
    pub occurred_at: String,
    pub stored_backup_id: Option<i64>,
    pub previous_stored_backup_id: Option<i64>,
    pub reason: Option<String>,
}

/// A channel as stored: what is not secret as JSON, the secret sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationChannel {
    pub id: i64,
    pub name: String,
    /// `email`, `webhook`, `slack` or `teams`.
    pub kind: String,
    /// JSON: `{"to": [...]}` for e-mail, `{"url": ...}` for a webhook.
    pub settings: String,
    /// The webhook's signing secret, or the Slack/Teams URL, sealed.
    pub secret_sealed: Option<Vec<u8>>,
    pub created_at: String,
}

/// A channel to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFields {
    pub name: String,
    pub kind: String,
    pub settings: String,
    /// `None` on update keeps the stored secret.
    pub secret_sealed: Option<Vec<u8>>,
}

/// What a rule picks and where it sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFields {
    pub name: String,
    pub channel_id: i64,
    /// Event kinds, e.g. `config_changed`.
    pub events: Vec<String>,
    /// Empty with `devices` empty: every device.
    pub device_groups: Vec<i64>,
    pub devices: Vec<i64>,
    pub enabled: bool,
}

impl RuleFields {
    /// Whether the rule picks an event of `kind` about a device with this
    /// id and group.
    pub fn picks(&self, kind: &str, device_id: i64, device_group: Option<i64>) -> bool {
        self.enabled
            && self.events.iter().any(|e| e == kind)
            && ((self.devices.is_empty() && self.device_groups.is_empty())
                || self.devices.contains(&device_id)
                || device_group.is_some_and(|g| self.device_groups.contains(&g)))
    }
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRule {
    pub id: i64,
    pub fields: RuleFields,
    pub created_at: String,
}

/// Where a delivery stands.
pub mod delivery_state {
    pub const PENDING: &str = "pending";
    pub const DELIVERING: &str = "delivering";
    pub const DELIVERED: &str = "delivered";
    pub const DEAD: &str = "dead";
    pub const ALL: [&str; 4] = [PENDING, DELIVERING, DELIVERED, DEAD];
}
use delivery_state::{DEAD, DELIVERED, DELIVERING, PENDING};

/// One event's delivery to one channel, with names for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationDelivery {
    pub id: i64,
    pub event_id: i64,
    pub event_kind: String,
    pub device_id: i64,
    pub device_name: String,
    pub channel_id: i64,
    pub channel_name: String,
    pub rule_id: Option<i64>,
    pub rule_name: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// A delivery a notifier now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub event_id: i64,
    pub channel_id: i64,
    /// This attempt's number (1 for the first).
    pub attempt: i64,
    /// The previous claim's lease ran out: a notifier stopped during that
    /// attempt.
    pub lease_expired: bool,
}

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    RetryAt { at: Timestamp, error: String },
    Dead { error: String },
}

/// Filters of the delivery list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub rule: Option<i64>,
    pub channel: Option<i64>,
    pub state: Option<String>,
}

const EVENT_COLUMNS: &str = "e.id, e.kind, e.device_id, d.name AS device_name, e.occurred_at, \
     e.stored_backup_id, e.previous_stored_backup_id, e.reason";
const CHANNEL_COLUMNS: &str = "id, name, kind, settings, secret_sealed, created_at";
const RULE_COLUMNS: &str =
    "id, name, channel_id, events, device_groups, devices, enabled, created_at";
const DELIVERY_COLUMNS: &str = "n.id, n.event_id, e.kind AS event_kind, e.device_id, \
     d.name AS device_name, n.channel_id, c.name AS channel_name, n.rule_id, r.name AS rule_name, \
     n.state, n.attempts, n.next_attempt_at, n.last_error, n.created_at, n.delivered_at";
const DELIVERY_FROM: &str = "notification_deliveries n \
     JOIN notification_events e ON e.id = n.event_id \
     JOIN devices d ON d.id = e.device_id \
     JOIN notification_channels c ON c.id = n.channel_id \
     LEFT JOIN notification_rules r ON r.id = n.rule_id";

fn event(row: &AnyRow) -> Result<OutboxEvent, sqlx::Error> {
    Ok(OutboxEvent {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        device_id: row.try_get("device_id")?,
        device_name: row.try_get("device_name")?,
        occurred_at: row.try_get("occurred_at")?,
        stored_backup_id: row.try_get("stored_backup_id")?,
        previous_stored_backup_id: row.try_get("previous_stored_backup_id")?,
        reason: row.try_get("reason")?,
    })
}

fn channel(row: &AnyRow) -> Result<NotificationChannel, sqlx::Error> {
    Ok(NotificationChannel {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        settings: row.try_get("settings")?,
        secret_sealed: row.try_get("secret_sealed")?,
        created_at: row.try_get("created_at")?,
    })
}

fn json_list<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<Vec<T>, DbError> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| DbError::Invalid(format!("rule {col}: {e}")))
}

fn rule(row: &AnyRow) -> Result<NotificationRule, DbError> {
    Ok(NotificationRule {
        id: row.try_get("id")?,
        fields: RuleFields {
            name: row.try_get("name")?,
            channel_id: row.try_get("channel_id")?,
            events: json_list(row, "events")?,
            device_groups: json_list(row, "device_groups")?,
            devices: json_list(row, "devices")?,
            enabled: flag(row, "enabled")?,
        },
        created_at: row.try_get("created_at")?,
    })
}

fn delivery(row: &AnyRow) -> Result<NotificationDelivery, sqlx::Error> {
    Ok(NotificationDelivery {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        event_kind: row.try_get("event_kind")?,
        device_id: row.try_get("device_id")?,
        device_name: row.try_get("device_name")?,
        channel_id: row.try_get("channel_id")?,
        channel_name: row.try_get("channel_name")?,
        rule_id: row.try_get("rule_id")?,
        rule_name: row.try_get("rule_name")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

fn ids_json(ids: &[i64]) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    serde_json::to_string(&ids).expect("ids serialize")
}

/// Writes an event in the caller's transaction; a second event with the
/// same `dedup_key` is dropped.
pub(crate) async fn insert_event(
    tx: &mut Tx<'_>,
    kind: &str,
    dedup_key: &str,
    device_id: i64,
    occurred_at: Timestamp,
    stored: Option<(i64, Option<i64>)>,
    reason: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO notification_events (kind, dedup_key, device_id, occurred_at, \
         stored_backup_id, previous_stored_backup_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(kind)
    .bind(dedup_key)
    .bind(device_id)
    .bind(occurred_at.to_string())
    .bind(stored.map(|s| s.0))
    .bind(stored.and_then(|s| s.1))
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The deliveries of one event, and the event marked planned, in `tx`.
async fn plan_one(
    tx: &mut Tx<'_>,
    event_id: i64,
    targets: &[(i64, i64)],
    now: &str,
) -> Result<(), DbError> {
    for &(channel_id, rule_id) in targets {
        sqlx::query(
            "INSERT INTO notification_deliveries (event_id, channel_id, rule_id, state, \
             attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 0, $5, $5) \
             ON CONFLICT (event_id, channel_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(channel_id)
        .bind(rule_id)
        .bind(PENDING)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE notification_events SET planned = 1 WHERE id = $1")
        .bind(event_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Db {
    /// How many deliveries are in each state (`pending`, `delivering`,
    /// `delivered`, `dead`), for the metrics; states with none are absent.
    pub async fn delivery_counts(&self) -> Result<Vec<(String, i64)>, DbError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM notification_deliveries GROUP BY state ORDER BY state",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }

    /// Events no notifier has made deliveries for yet, oldest first.
    pub async fn unplanned_events(&self, limit: i64) -> Result<Vec<OutboxEvent>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM notification_events e JOIN devices d ON d.id = e.device_id \
             WHERE e.planned = 0 ORDER BY e.id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(event).collect::<Result<_, _>>()?)
    }

    pub async fn outbox_event(&self, id: i64) -> Result<OutboxEvent, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM notification_events e JOIN devices d ON d.id = e.device_id \
             WHERE e.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("event {id}")))?;
        Ok(event(&row)?)
    }

    /// Events, newest first (for the API and tests).
    pub async fn outbox_events(&self, page: Page) -> Result<Listed<OutboxEvent>, DbError> {
        check_page(page)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM notification_events e JOIN devices d ON d.id = e.device_id \
             ORDER BY e.id DESC LIMIT $1 OFFSET $2"
        )))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(self.pool())
        .await?;
        let total = sqlx::query("SELECT COUNT(*) AS n FROM notification_events")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(Listed {
            rows: rows.iter().map(event).collect::<Result<_, _>>()?,
            total,
        })
    }

    /// Makes the deliveries of event `event_id` (one per channel, naming
    /// the first rule that picked it) and marks the event planned, in one
    /// transaction. Idempotent: a delivery that exists stays as it is.
    pub async fn plan_event(&self, event_id: i64, targets: &[(i64, i64)]) -> Result<(), DbError> {
        self.plan_events(&[(event_id, targets.to_vec())]).await
    }

    /// [`Db::plan_event`] for several events in one transaction: one write
    /// for a notifier's whole pass, where the pipeline's writes wait too.
    pub async fn plan_events(&self, events: &[(i64, Vec<(i64, i64)>)]) -> Result<(), DbError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = Timestamp::now().to_string();
        // The notifier's writes queue on SQLite's one writer behind the
        // requests' and the pipeline's (see `gate`): met in SQLite's busy
        // handler instead, each would sleep, and make the others sleep.
        let _gate = self.write_gate_for(crate::WritePriority::Background).await;
        let mut tx = self.pool().begin().await?;
        for (event_id, targets) in events {
            plan_one(&mut tx, *event_id, targets, &now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` deliveries that are due (pending and due, or
    /// held by a claim whose lease ran out) until `lease_until`. Each claim
    /// is a compare-and-swap on the attempt counter, so two notifiers never
    /// both hold one.
    pub async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, DbError> {
        let now = now.to_string();
        let due = "((state = $1 AND next_attempt_at <= $2) OR (state = $3 AND lease_until < $2))";
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, event_id, channel_id, state, attempts FROM notification_deliveries \
             WHERE {due} ORDER BY next_attempt_at, id LIMIT $4"
        )))
        .bind(PENDING)
        .bind(&now)
        .bind(DELIVERING)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut claimed = Vec::new();
        if rows.is_empty() {
            return Ok(claimed);
        }
        // One transaction for the pass's claims (each still a
        // compare-and-swap): one write where the pipeline's wait.
        let _gate = self.write_gate_for(crate::WritePriority::Background).await;
        let mut tx = self.pool().begin().await?;
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let attempts: i64 = row.try_get("attempts")?;
            let state: String = row.try_get("state")?;
            // Parameters in order of first use (SQLite's numbering).
            let done = sqlx::query(
                "UPDATE notification_deliveries SET state = $1, attempts = attempts + 1, \
                 lease_until = $2 WHERE id = $3 AND attempts = $4 AND \
                 ((state = $5 AND next_attempt_at <= $6) OR (state = $1 AND lease_until < $6))",
            )
            .bind(DELIVERING)
            .bind(lease_until.to_string())
            .bind(id)
            .bind(attempts)
            .bind(PENDING)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                claimed.push(ClaimedDelivery {
                    id,
                    event_id: row.try_get("event_id")?,
                    channel_id: row.try_get("channel_id")?,
                    attempt: attempts + 1,
                    lease_expired: state == DELIVERING,
                });
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records the outcome of attempt `attempt` of delivery `id`. Ignored
    /// (returns `false`) when the claim was lost meanwhile: its lease ran
    /// out and another notifier took the delivery.
    pub async fn finish_delivery(
        &self,
        id: i64,
        attempt: i64,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, DbError> {
        let now = Timestamp::now().to_string();
        let (state, next, error, delivered) = match outcome {
            DeliveryOutcome::Delivered => (DELIVERED, None, None, Some(now.clone())),
            DeliveryOutcome::RetryAt { at, error } => {
                (PENDING, Some(at.to_string()), Some(error.as_str()), None)
            }
            DeliveryOutcome::Dead { error } => (DEAD, None, Some(error.as_str()), None),
        };
        let _gate = self.write_gate_for(crate::WritePriority::Background).await;
        let done = sqlx::query(
            "UPDATE notification_deliveries SET state = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), last_error = COALESCE($3, last_error), \
             delivered_at = $4, lease_until = NULL \
             WHERE id = $5 AND attempts = $6 AND state = $7",
        )
        .bind(state)
        .bind(next)
        .bind(error)
        .bind(delivered)
        .bind(id)
        .bind(attempt)
        .bind(DELIVERING)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deliveries, newest first.
    pub async fn deliveries(
        &self,
        filter: &DeliveryFilter,
        page: Page,
    ) -> Result<Listed<NotificationDelivery>, DbError> {
        check_page(page)?;
        // Parameters numbered in order of first use (SQLite's rule).
        let mut conds = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.rule.is_some() {
            conds.push(format!("n.rule_id = {}", next()));
        }
        if filter.channel.is_some() {
            conds.push(format!("n.channel_id = {}", next()));
        }
        if filter.state.is_some() {
            conds.push(format!("n.state = {}", next()));
        }
        let where_ = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let (limit, offset) = (next(), next());
        let mut rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM {DELIVERY_FROM} {where_} \
             ORDER BY n.id DESC LIMIT {limit} OFFSET {offset}"
        )));
        let mut count = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {DELIVERY_FROM} {where_}"
        )));
        for v in [filter.rule, filter.channel].into_iter().flatten() {
            rows = rows.bind(v);
            count = count.bind(v);
        }
        if let Some(s) = &filter.state {
            rows = rows.bind(s.clone());
            count = count.bind(s.clone());
        }
        let rows = rows
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(self.pool())
            .await?;
        let total = count.fetch_one(self.pool()).await?.try_get("n")?;
        Ok(Listed {
            rows: rows.iter().map(delivery).collect::<Result<_, _>>()?,
            total,
        })
    }

    pub async fn delivery(&self, id: i64) -> Result<NotificationDelivery, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM {DELIVERY_FROM} WHERE n.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("notification {id}")))?;
        Ok(delivery(&row)?)
    }

    // Channels.

    pub async fn create_channel(&self, f: &ChannelFields) -> Result<i64, DbError> {
        let row = sqlx::query(
            "INSERT INTO notification_channels (name, kind, settings, secret_sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&f.name)
        .bind(&f.kind)
        .bind(&f.settings)
        .bind(f.secret_sealed.clone())
        .bind(Timestamp::now().to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Updates a channel; a `None` secret keeps the stored one.
    pub async fn update_channel(&self, id: i64, f: &ChannelFields) -> Result<(), DbError> {
        let done = sqlx::query(
            "UPDATE notification_channels SET name = $1, kind = $2, settings = $3, \
             secret_sealed = COALESCE($4, secret_sealed) WHERE id = $5",
        )
        .bind(&f.name)
        .bind(&f.kind)
        .bind(&f.settings)
        .bind(f.secret_sealed.clone())
        .bind(id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("notification channel {id}")));
        }
        Ok(())
    }

    pub async fn channel(&self, id: i64) -> Result<NotificationChannel, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("notification channel {id}")))?;
        Ok(channel(&row)?)
    }

    pub async fn channel_by_name(&self, name: &str) -> Result<NotificationChannel, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("notification channel {name:?}")))?;
        Ok(channel(&row)?)
    }

    pub async fn channels(&self, page: Page) -> Result<Listed<NotificationChannel>, DbError> {
        check_page(page)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLUMNS} FROM notification_channels ORDER BY name LIMIT $1 OFFSET $2"
        )))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(self.pool())
        .await?;
        let total = sqlx::query("SELECT COUNT(*) AS n FROM notification_channels")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(Listed {
            rows: rows.iter().map(channel).collect::<Result<_, _>>()?,
            total,
        })
    }

    /// Deletes a channel; a `Conflict` while a rule sends to it.
    pub async fn delete_channel(&self, id: i64) -> Result<(), DbError> {
        let done = sqlx::query("DELETE FROM notification_channels WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("notification channel {id}")));
        }
        Ok(())
    }

    /// The id of the device named `name` (archived ones included: a rule
    /// may name a device that comes back).
    pub async fn device_id_by_name(&self, name: &str) -> Result<Option<i64>, DbError> {
        let row = sqlx::query("SELECT id FROM devices WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    // Rules.

    pub async fn create_rule(&self, f: &RuleFields) -> Result<i64, DbError> {
        let row = sqlx::query(
            "INSERT INTO notification_rules (name, channel_id, events, device_groups, devices, \
             enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&f.name)
        .bind(f.channel_id)
        .bind(serde_json::to_string(&f.events).expect("strings serialize"))
        .bind(ids_json(&f.device_groups))
        .bind(ids_json(&f.devices))
        .bind(i64::from(f.enabled))
        .bind(Timestamp::now().to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    pub async fn update_rule(&self, id: i64, f: &RuleFields) -> Result<(), DbError> {
        let done = sqlx::query(
            "UPDATE notification_rules SET name = $1, channel_id = $2, events = $3, \
             device_groups = $4, devices = $5, enabled = $6 WHERE id = $7",
        )
        .bind(&f.name)
        .bind(f.channel_id)
        .bind(serde_json::to_string(&f.events).expect("strings serialize"))
        .bind(ids_json(&f.device_groups))
        .bind(ids_json(&f.devices))
        .bind(i64::from(f.enabled))
        .bind(id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("notification rule {id}")));
        }
        Ok(())
    }

    pub async fn rule(&self, id: i64) -> Result<NotificationRule, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM notification_rules WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("notification rule {id}")))?;
        rule(&row)
    }

    pub async fn rules(&self, page: Page) -> Result<Listed<NotificationRule>, DbError> {
        check_page(page)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM notification_rules ORDER BY name LIMIT $1 OFFSET $2"
        )))
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(self.pool())
        .await?;
        let total = sqlx::query("SELECT COUNT(*) AS n FROM notification_rules")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(Listed {
            rows: rows.iter().map(rule).collect::<Result<_, _>>()?,
            total,
        })
    }

    pub async fn delete_rule(&self, id: i64) -> Result<(), DbError> {
        let done = sqlx::query("DELETE FROM notification_rules WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(format!("notification rule {id}")));
        }
        Ok(())
    }
}
