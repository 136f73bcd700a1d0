//! Compliance rules and each device's state under them (issue 17).
//!
//! A rule is a saved search with an expectation; what it means is the
//! search crate's business. What lives here is the part that must be
//! atomic: a device's state moves by compare-and-swap on what was last
//! evaluated (the stored backup, the rule's version and the time of the
//! evaluation), and a change of state writes its `compliance_changed`
//! event in the same transaction, so two evaluators racing on one device
//! make one state and at most one event.

use devicevault_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::backups::{STORED_COLUMNS, stored_backup};
use crate::inventory::{check_page, flag, not_found};
use crate::notifications;
use crate::{Db, DbError, Listed, Page, Scope, StoredBackup};

/// `compliance_changed`: a device's state under a rule changed.
pub const COMPLIANCE_CHANGED: &str = "compliance_changed";

/// A device's state under a rule.
pub mod state {
    pub const COMPLIANT: &str = "compliant";
    pub const NON_COMPLIANT: &str = "non_compliant";
    pub const UNKNOWN: &str = "unknown";
    pub const ALL: [&str; 3] = [COMPLIANT, NON_COMPLIANT, UNKNOWN];
}

/// What a rule expects.
pub mod expectation {
    pub const MUST_CONTAIN: &str = "must_contain";
    pub const MUST_NOT_CONTAIN: &str = "must_not_contain";
}

/// The fields of a compliance rule that a caller sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceRuleFields {
    pub name: String,
    pub pattern: String,
    pub regex: bool,
    pub ignore_case: bool,
    /// `must_contain` or `must_not_contain`.
    pub expectation: String,
    /// The blocks' header pattern (`interface .*`), or the whole
    /// configuration.
    pub block: Option<String>,
    /// Empty: every device.
    pub device_groups: Vec<i64>,
    pub enabled: bool,
}

/// A stored compliance rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceRule {
    pub id: i64,
    pub fields: ComplianceRuleFields,
    /// Moved by every edit: states of an older version are evaluated again.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

const RULE_COLUMNS: &str = "id, name, pattern, regex, ignore_case, expectation, block, \
     device_groups, enabled, version, created_at, updated_at";

fn rule(row: &AnyRow) -> Result<ComplianceRule, DbError> {
    let groups: String = row.try_get("device_groups")?;
    Ok(ComplianceRule {
        id: row.try_get("id")?,
        fields: ComplianceRuleFields {
            name: row.try_get("name")?,
            pattern: row.try_get("pattern")?,
            regex: flag(row, "regex")?,
            ignore_case: flag(row, "ignore_case")?,
            expectation: row.try_get("expectation")?,
            block: row.try_get("block")?,
            device_groups: serde_json::from_str(&groups)
                .map_err(|e| DbError::Invalid(format!("compliance rule device_groups: {e}")))?,
            enabled: flag(row, "enabled")?,
        },
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn groups_json(ids: &[i64]) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    serde_json::to_string(&ids).expect("ids serialize")
}

/// The SQL condition "device `d` is one the rule applies to".
fn applies(r: &ComplianceRule) -> String {
    if r.fields.device_groups.is_empty() {
        return "1 = 1".into();
    }
    let ids: Vec<String> = r.fields.device_groups.iter().map(i64::to_string).collect();
    format!("d.device_group_id IN ({})", ids.join(", "))
}

/// What was last evaluated of a (rule, device) pair: the compare-and-swap's
/// expected value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    pub state: String,
    pub stored_backup_id: Option<i64>,
    pub rule_version: i64,
    pub evaluated_at: String,
    pub detail: String,
}

/// A (rule, device) pair to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCompliance {
    pub device_id: i64,
    pub device_name: String,
    /// The device's latest successful stored backup (`None`: it has none).
    pub latest: Option<StoredBackup>,
    /// What was evaluated before (`None`: never).
    pub previous: Option<Evaluated>,
}

/// A state to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCompliance {
    /// One of [`state::ALL`].
    pub state: String,
    pub stored_backup_id: Option<i64>,
    pub rule_version: i64,
    pub detail: String,
    /// Evaluate again at this time although nothing changed (a version
    /// that could not be read).
    pub retry_at: Option<Timestamp>,
}

/// What recording a state did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Another evaluator recorded this pair meanwhile: nothing written.
    Lost,
    /// Written; the state is the one it was.
    Same,
    /// Written; the state changed (or was first recorded), with an event
    /// when `notified`.
    Changed { notified: bool },
}

/// A device's state under a rule, for the lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceState {
    pub rule_id: i64,
    pub rule_name: String,
    pub device_id: i64,
    pub device_name: String,
    pub device_group_id: Option<i64>,
    pub state: String,
    pub stored_backup_id: Option<i64>,
    pub detail: String,
    pub evaluated_at: String,
    pub changed_at: String,
}

/// Which states a list shows, besides the user's scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComplianceFilter {
    pub rule: Option<i64>,
    /// One of [`state::ALL`].
    pub state: Option<String>,
    pub device_group: Option<i64>,
    pub device: Option<i64>,
}

/// A rule with how many devices (in the caller's scope) are in each state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSummary {
    pub rule: ComplianceRule,
    pub compliant: i64,
    pub non_compliant: i64,
    pub unknown: i64,
}

/// What changes when the evaluator has work: compared between passes so
/// an idle fleet costs one small query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComplianceWatermark {
    pub max_stored_backup: Option<i64>,
    pub max_rule_update: Option<String>,
    pub rules: i64,
    pub max_device: Option<i64>,
}

impl Db {
    /// Creates a rule. `Conflict` when the name is taken.
    pub async fn create_compliance_rule(
        &self,
        f: &ComplianceRuleFields,
    ) -> Result<ComplianceRule, DbError> {
        let now = Timestamp::now().to_string();
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO compliance_rules (name, pattern, regex, ignore_case, expectation, block, \
             device_groups, enabled, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9) RETURNING {RULE_COLUMNS}"
        )))
        .bind(&f.name)
        .bind(&f.pattern)
        .bind(i64::from(f.regex))
        .bind(i64::from(f.ignore_case))
        .bind(&f.expectation)
        .bind(f.block.as_deref())
        .bind(groups_json(&f.device_groups))
        .bind(i64::from(f.enabled))
        .bind(&now)
        .fetch_one(self.pool())
        .await?;
        rule(&row)
    }

    /// Replaces a rule's fields and moves its version, so every device is
    /// evaluated again under it. `Conflict` when the name is taken.
    pub async fn update_compliance_rule(
        &self,
        id: i64,
        f: &ComplianceRuleFields,
    ) -> Result<ComplianceRule, DbError> {
        let now = Timestamp::now().to_string();
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE compliance_rules SET name = $1, pattern = $2, regex = $3, ignore_case = $4, \
             expectation = $5, block = $6, device_groups = $7, enabled = $8, \
             version = version + 1, updated_at = $9 WHERE id = $10 RETURNING {RULE_COLUMNS}"
        )))
        .bind(&f.name)
        .bind(&f.pattern)
        .bind(i64::from(f.regex))
        .bind(i64::from(f.ignore_case))
        .bind(&f.expectation)
        .bind(f.block.as_deref())
        .bind(groups_json(&f.device_groups))
        .bind(i64::from(f.enabled))
        .bind(&now)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("compliance rule {id}")))?;
        rule(&row)
    }

    /// Deletes a rule and its states (its events stay).
    pub async fn delete_compliance_rule(&self, id: i64) -> Result<(), DbError> {
        self.delete_by_id("compliance_rules", id, "compliance rule")
            .await
    }

    pub async fn compliance_rule(&self, id: i64) -> Result<ComplianceRule, DbError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM compliance_rules WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(format!("compliance rule {id}")))?;
        rule(&row)
    }

    /// Rules by id.
    pub async fn list_compliance_rules(
        &self,
        page: Page,
    ) -> Result<Listed<ComplianceRule>, DbError> {
        self.list_table("compliance_rules", RULE_COLUMNS, page, rule)
            .await
    }

    /// Every rule, by id.
    pub async fn all_compliance_rules(&self) -> Result<Vec<ComplianceRule>, DbError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM compliance_rules ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(rule).collect()
    }

    /// The evaluator's watermark (see [`ComplianceWatermark`]): one query.
    pub async fn compliance_watermark(&self) -> Result<ComplianceWatermark, DbError> {
        let row = sqlx::query(
            "SELECT (SELECT MAX(id) FROM stored_backups) AS s, \
             (SELECT MAX(updated_at) FROM compliance_rules) AS u, \
             (SELECT COUNT(*) FROM compliance_rules) AS n, \
             (SELECT MAX(id) FROM devices) AS d",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(ComplianceWatermark {
            max_stored_backup: row.try_get("s")?,
            max_rule_update: row.try_get("u")?,
            rules: row.try_get("n")?,
            max_device: row.try_get("d")?,
        })
    }

    /// Removes the states of devices `r` no longer applies to (archived,
    /// moved to another group; every one when the rule is disabled).
    /// Returns how many.
    pub async fn prune_compliance(&self, r: &ComplianceRule) -> Result<u64, DbError> {
        let live = if r.fields.enabled {
            applies(r)
        } else {
            "1 = 0".into()
        };
        let _gate = self.write_gate_for(crate::WritePriority::Background).await;
        let done = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM device_compliance WHERE rule_id = $1 AND device_id NOT IN \
             (SELECT d.id FROM devices d WHERE d.archived_at IS NULL AND {live})"
        )))
        .bind(r.id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// The live devices `r` applies to whose state is due, by device id, at
    /// most `limit`: never evaluated, evaluated on another stored backup
    /// than the device's latest successful one or under another version of
    /// the rule — unless a failed read set a `retry_at` still to come —,
    /// or past their `retry_at`. One query; each device's latest
    /// version is found through the `(device_id, timestamp, id)` index.
    pub async fn due_compliance(
        &self,
        r: &ComplianceRule,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<DueCompliance>, DbError> {
        let columns: Vec<String> = STORED_COLUMNS
            .split(',')
            .map(|c| format!("s.{}", c.trim()))
            .collect();
        let sql = format!(
            "SELECT t.*, {columns} FROM ( \
                 SELECT d.id AS dv_id, d.name AS dv_name, \
                     (SELECT v.id FROM stored_backups v \
                      WHERE v.device_id = d.id AND v.status = 'success' \
                      ORDER BY v.timestamp DESC, v.id DESC LIMIT 1) AS latest_id, \
                     c.device_id AS c_device, c.state AS c_state, \
                     c.stored_backup_id AS c_stored, c.rule_version AS c_version, \
                     c.evaluated_at AS c_evaluated, c.retry_at AS c_retry, \
                     c.detail AS c_detail \
                 FROM devices d LEFT JOIN device_compliance c \
                     ON c.rule_id = $1 AND c.device_id = d.id \
                 WHERE d.archived_at IS NULL AND {applies}) t \
             LEFT JOIN stored_backups s ON s.id = t.latest_id \
             WHERE (t.c_device IS NULL OR t.c_version <> $2 \
                 OR t.c_stored IS DISTINCT FROM t.latest_id OR t.c_retry IS NOT NULL) \
                 AND (t.c_retry IS NULL OR t.c_retry <= $3) \
             ORDER BY t.dv_id LIMIT $4",
            columns = columns.join(", "),
            applies = applies(r),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(r.id)
            .bind(r.version)
            .bind(now.to_string())
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let latest: Option<i64> = row.try_get("latest_id")?;
                let had: Option<i64> = row.try_get("c_device")?;
                let previous = match had {
                    Some(_) => Some(Evaluated {
                        state: row.try_get("c_state")?,
                        stored_backup_id: row.try_get("c_stored")?,
                        rule_version: row.try_get("c_version")?,
                        evaluated_at: row.try_get("c_evaluated")?,
                        detail: row.try_get("c_detail")?,
                    }),
                    None => None,
                };
                Ok(DueCompliance {
                    device_id: row.try_get("dv_id")?,
                    device_name: row.try_get("dv_name")?,
                    latest: latest.map(|_| stored_backup(row)).transpose()?,
                    previous,
                })
            })
            .collect()
    }

    /// Records `new` as the state of `device_id` under `r` if what was
    /// evaluated is still `previous` (compare-and-swap), with a
    /// `compliance_changed` event in the same transaction when the state
    /// changed to non-compliant (a first evaluation included), or from
    /// compliant or non-compliant to anything else. A device first found
    /// compliant, or compliant after being unknown (no configuration yet),
    /// is nothing to report.
    pub async fn record_compliance(
        &self,
        r: &ComplianceRule,
        device_id: i64,
        previous: Option<&Evaluated>,
        new: &NewCompliance,
        now: Timestamp,
    ) -> Result<Recorded, DbError> {
        let at = now.to_string();
        let retry = new.retry_at.map(|t| t.to_string());
        let _gate = self.write_gate_for(crate::WritePriority::Background).await;
        let mut tx = self.pool().begin().await?;
        let done =
            match previous {
                None => sqlx::query(
                    "INSERT INTO device_compliance (rule_id, device_id, state, stored_backup_id, \
                     rule_version, detail, evaluated_at, changed_at, retry_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
                     ON CONFLICT (rule_id, device_id) DO NOTHING",
                )
                .bind(r.id)
                .bind(device_id)
                .bind(&new.state)
                .bind(new.stored_backup_id)
                .bind(new.rule_version)
                .bind(&new.detail)
                .bind(&at)
                .bind(retry.as_deref())
                .execute(&mut *tx)
                .await?,
                Some(p) => {
                    sqlx::query(
                        "UPDATE device_compliance SET state = $1, stored_backup_id = $2, \
                     rule_version = $3, detail = $4, evaluated_at = $5, \
                     changed_at = CASE WHEN state = $1 THEN changed_at ELSE $5 END, \
                     retry_at = $6 \
                     WHERE rule_id = $7 AND device_id = $8 AND state = $9 \
                     AND stored_backup_id IS NOT DISTINCT FROM $10 \
                     AND rule_version = $11 AND evaluated_at = $12",
                    )
                    .bind(&new.state)
                    .bind(new.stored_backup_id)
                    .bind(new.rule_version)
                    .bind(&new.detail)
                    .bind(&at)
                    .bind(retry.as_deref())
                    .bind(r.id)
                    .bind(device_id)
                    .bind(&p.state)
                    .bind(p.stored_backup_id)
                    .bind(p.rule_version)
                    .bind(&p.evaluated_at)
                    .execute(&mut *tx)
                    .await?
                }
            };
        if done.rows_affected() == 0 {
            return Ok(Recorded::Lost);
        }
        let from = previous.map(|p| p.state.as_str());
        if from == Some(new.state.as_str()) {
            tx.commit().await?;
            return Ok(Recorded::Same);
        }
        // A device found non-compliant, or leaving a known state; not a
        // first finding of compliance nor a device first known (or
        // still not known) after it had no configuration to evaluate.
        let notified = new.state == state::NON_COMPLIANT
            || matches!(from, Some(state::COMPLIANT | state::NON_COMPLIANT));
        if notified {
            let mut reason = format!(
                "rule {:?}: {} → {}",
                r.fields.name,
                from.unwrap_or("not evaluated"),
                new.state
            );
            if !new.detail.is_empty() {
                reason.push_str(&format!(" ({})", new.detail));
            }
            notifications::insert_event(
                &mut tx,
                COMPLIANCE_CHANGED,
                &format!(
                    "{COMPLIANCE_CHANGED}:{}:{device_id}:{}:{}:{at}",
                    r.id,
                    new.stored_backup_id.unwrap_or(0),
                    new.rule_version
                ),
                device_id,
                now,
                new.stored_backup_id.map(|s| (s, None)),
                Some(&reason),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Recorded::Changed { notified })
    }

    /// The states of the enabled rules for devices in `scope` matching
    /// `filter`, by rule, then device name. Archived devices are never
    /// listed.
    pub async fn list_compliance(
        &self,
        scope: &Scope,
        filter: &ComplianceFilter,
        page: Page,
    ) -> Result<Listed<ComplianceState>, DbError> {
        check_page(page)?;
        // SQLite numbers `$n` by first use: parameters in text order.
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let mut conditions = vec![
            "d.archived_at IS NULL".to_owned(),
            "r.enabled = 1".to_owned(),
            scope.on_group("d.device_group_id"),
        ];
        if filter.rule.is_some() {
            conditions.push(format!("c.rule_id = {}", next()));
        }
        if filter.state.is_some() {
            conditions.push(format!("c.state = {}", next()));
        }
        if filter.device_group.is_some() {
            conditions.push(format!("d.device_group_id = {}", next()));
        }
        if filter.device.is_some() {
            conditions.push(format!("c.device_id = {}", next()));
        }
        let from = format!(
            "FROM device_compliance c JOIN compliance_rules r ON r.id = c.rule_id \
             JOIN devices d ON d.id = c.device_id WHERE {}",
            conditions.join(" AND ")
        );
        let (limit, offset) = (next(), next());
        let bind = |sql: String, with_page: bool| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in [filter.rule].into_iter().flatten() {
                q = q.bind(id);
            }
            if let Some(s) = &filter.state {
                q = q.bind(s.clone());
            }
            for id in [filter.device_group, filter.device].into_iter().flatten() {
                q = q.bind(id);
            }
            if with_page {
                q = q.bind(page.limit).bind(page.offset);
            }
            q
        };
        let total: i64 = bind(format!("SELECT COUNT(*) AS n {from}"), false)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        let rows = bind(
            format!(
                "SELECT c.rule_id, r.name AS rule_name, c.device_id, d.name AS device_name, \
                 d.device_group_id, c.state, c.stored_backup_id, c.detail, c.evaluated_at, \
                 c.changed_at {from} ORDER BY c.rule_id, d.name, d.id LIMIT {limit} OFFSET {offset}"
            ),
            true,
        )
        .fetch_all(self.pool())
        .await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(ComplianceState {
                    rule_id: r.try_get("rule_id")?,
                    rule_name: r.try_get("rule_name")?,
                    device_id: r.try_get("device_id")?,
                    device_name: r.try_get("device_name")?,
                    device_group_id: r.try_get("device_group_id")?,
                    state: r.try_get("state")?,
                    stored_backup_id: r.try_get("stored_backup_id")?,
                    detail: r.try_get("detail")?,
                    evaluated_at: r.try_get("evaluated_at")?,
                    changed_at: r.try_get("changed_at")?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        Ok(Listed { rows, total })
    }

    /// Every rule with the counts of its states over the devices in
    /// `scope` (disabled rules count nothing).
    pub async fn compliance_summary(&self, scope: &Scope) -> Result<Vec<RuleSummary>, DbError> {
        let rules = self.all_compliance_rules().await?;
        let counts = sqlx::query(AssertSqlSafe(format!(
            "SELECT c.rule_id, c.state, COUNT(*) AS n FROM device_compliance c \
             JOIN devices d ON d.id = c.device_id \
             WHERE d.archived_at IS NULL AND {} GROUP BY c.rule_id, c.state",
            scope.on_group("d.device_group_id")
        )))
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<RuleSummary> = rules
            .into_iter()
            .map(|rule| RuleSummary {
                rule,
                compliant: 0,
                non_compliant: 0,
                unknown: 0,
            })
            .collect();
        for c in &counts {
            let id: i64 = c.try_get("rule_id")?;
            let st: String = c.try_get("state")?;
            let n: i64 = c.try_get("n")?;
            if let Some(s) = out
                .iter_mut()
                .find(|s| s.rule.id == id && s.rule.fields.enabled)
            {
                match st.as_str() {
                    state::COMPLIANT => s.compliant = n,
                    state::NON_COMPLIANT => s.non_compliant = n,
                    _ => s.unknown = n,
                }
            }
        }
        Ok(out)
    }
}
