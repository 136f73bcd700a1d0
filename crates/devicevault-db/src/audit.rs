//! The audit log: every change made through the API, the web UI or the
//! CLI, every sign-in, every read of a configuration — append-only and
//! hash-chained.
//!
//! A row's `hash` is the SHA-256 of the previous row's hash and the row's
//! own fields ([`row_hash`]), so altering a row breaks its own hash and
//! deleting one breaks its successor's link. `audit_head` names the last
//! row, so removing the newest rows is noticed too. Appends are ordered by
//! the update of `audit_head` each one starts with: the row stays locked
//! until the append commits, so two writers (two processes on PostgreSQL)
//! never chain to the same predecessor.
//!
//! Pruning removes the oldest rows and leaves a checkpoint: the last pruned
//! row's id and hash, where the remaining chain now starts, with a
//! signature the caller computes from a key the database does not hold.

use devicevault_core::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::oneshot;

use crate::{Db, DbError, Listed, Page};

/// The hash before the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an append records (the time, the id and the hashes are added).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAudit {
    /// The user name (or, for a failed sign-in, the name tried; `cli:<os
    /// user>` for the command line without a user).
    pub actor: String,
    /// How: `web`, `api token <name>`, `api login`, `cli`.
    pub via: String,
    /// The client's address, when there is one.
    pub address: Option<String>,
    /// What was done, `<object type>.<verb>` (`devices.create`,
    /// `login.failure`, `stored-backups.read`).
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// A JSON object: the fields given (secret values replaced).
    pub fields: String,
    /// `ok`, `denied`, `failure`.
    pub outcome: String,
}

/// A row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: String,
    pub entry: NewAudit,
    pub prev_hash: String,
    pub hash: String,
}

/// Which rows `GET /api/audit/` and the web page list (all conditions
/// together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// An action (`devices.update`) or a prefix ending in `.` (`devices.`)
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// From this time on (RFC 3339, inclusive).
    pub since: Option<Timestamp>,
    /// Before this time (exclusive).
    pub until: Option<Timestamp>,
}

/// A signed record of what pruning removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheckpoint {
    pub at: String,
    /// The last row removed; the chain goes on at `through_id + 1`.
    pub through_id: i64,
    /// Its hash: the `prev_hash` of the first remaining row.
    pub through_hash: String,
    pub signature: String,
}

impl AuditCheckpoint {
    /// The text a checkpoint's signature covers.
    pub fn signed_text(at: &str, through_id: i64, through_hash: &str) -> String {
        format!("devicevault-audit-checkpoint\n{at}\n{through_id}\n{through_hash}")
    }
}

/// A break in the chain, at a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// The row where the break shows (for a deleted tail, the last id the
    /// head names).
    pub id: i64,
    pub what: String,
}

/// What [`Db::audit_verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditVerification {
    pub rows: u64,
    pub checkpoint: Option<AuditCheckpoint>,
    pub problems: Vec<AuditProblem>,
}

/// The SHA-256 (hex) chaining a row to `prev_hash`.
pub fn row_hash(prev_hash: &str, id: i64, at: &str, e: &NewAudit) -> String {
    let fields = serde_json::json!([
        prev_hash,
        id,
        at,
        e.actor,
        e.via,
        e.address,
        e.action,
        e.object_type,
        e.object_id,
        e.fields,
        e.outcome
    ]);
    hex(&Sha256::digest(fields.to_string().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const COLUMNS: &str = "id, at, actor, via, address, action, object_type, object_id, fields, \
                       outcome, prev_hash, hash";

fn record(row: &AnyRow) -> Result<AuditRecord, sqlx::Error> {
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        entry: NewAudit {
            actor: row.try_get("actor")?,
            via: row.try_get("via")?,
            address: row.try_get("address")?,
            action: row.try_get("action")?,
            object_type: row.try_get("object_type")?,
            object_id: row.try_get("object_id")?,
            fields: row.try_get("fields")?,
            outcome: row.try_get("outcome")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The appends waiting to be written.
#[derive(Debug, Default)]
pub(crate) struct AuditQueue {
    state: std::sync::Mutex<QueueState>,
}

type Waiter = (NewAudit, oneshot::Sender<Result<i64, DbError>>);

#[derive(Debug, Default)]
struct QueueState {
    /// A writer task is running.
    writing: bool,
    /// Appends not yet written, in order.
    pending: Vec<Waiter>,
}

impl AuditQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Every change below leaves the state whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an append; `true` if no writer runs and one is to start.
    fn join(&self, e: NewAudit, reply: oneshot::Sender<Result<i64, DbError>>) -> bool {
        let mut s = self.lock();
        s.pending.push((e, reply));
        !std::mem::replace(&mut s.writing, true)
    }

    /// The next group — every append waiting — or `None`, and the writer
    /// stops, when none waits.
    fn take(&self) -> Option<Vec<Waiter>> {
        let mut s = self.lock();
        if s.pending.is_empty() {
            s.writing = false;
            return None;
        }
        Some(std::mem::take(&mut s.pending))
    }
}

/// Held by the writer task: dropped before it finished (its runtime shut
/// down), it lets the next append start another writer.
struct Writing<'a> {
    queue: &'a AuditQueue,
    finished: bool,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.queue.lock().writing = false;
        }
    }
}

/// Rows verified per query.
const VERIFY_BATCH: i64 = 2000;

impl Db {
    /// Appends `e` at the end of the chain; returns its id once it is
    /// committed.
    ///
    /// Appends are group committed: while a group is written, the appends
    /// that arrive wait, and are then written together in one transaction —
    /// one turn at the `audit_head` row and one commit for the group — by a
    /// task of their own, which no cancelled request can stop half-way. One
    /// at a time, concurrent requests took turns at that row, a commit each
    /// (issue 21: the distributed bench's POSTs were its limit).
    pub async fn audit(&self, e: &NewAudit) -> Result<i64, DbError> {
        let (reply, written) = oneshot::channel();
        if self.audit_queue.join(e.clone(), reply) {
            let db = self.clone();
            tokio::spawn(async move { db.write_audits().await });
        }
        written.await.unwrap_or_else(|_| {
            Err(DbError::Invalid(
                "the audit log's writer stopped before this line was written".into(),
            ))
        })
    }

    /// Writes the waiting appends, a group at a time, until none waits.
    async fn write_audits(&self) {
        // Stopped half-way (its runtime shut down), the writer lets the
        // next append start another.
        let mut writing = Writing {
            queue: &self.audit_queue,
            finished: false,
        };
        loop {
            let Some(group) = self.audit_queue.take() else {
                writing.finished = true;
                return;
            };
            let entries: Vec<&NewAudit> = group.iter().map(|(e, _)| e).collect();
            let results: Vec<Result<i64, DbError>> = match self.append_audits(&entries).await {
                Ok(ids) => ids.into_iter().map(Ok).collect(),
                // Each alone, so each gets its own answer (and one that
                // cannot be written does not hold the others back).
                Err(_) if entries.len() > 1 => {
                    let mut results = Vec::with_capacity(entries.len());
                    for e in &entries {
                        results.push(self.append_audits(&[e]).await.map(|ids| ids[0]));
                    }
                    results
                }
                Err(e) => vec![Err(e)],
            };
            for ((_, reply), result) in group.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
    }

    /// Appends `entries` in order in one transaction; returns their ids.
    async fn append_audits(&self, entries: &[&NewAudit]) -> Result<Vec<i64>, DbError> {
        let _gate = self.write_gate_for(crate::WritePriority::Request).await;
        let mut tx = self.pool().begin().await?;
        let head = sqlx::query(
            "UPDATE audit_head SET last_id = last_id + $1 WHERE one = 1 \
             RETURNING last_id, last_hash",
        )
        .bind(entries.len() as i64)
        .fetch_one(&mut *tx)
        .await?;
        let last: i64 = head.try_get("last_id")?;
        let mut prev: String = head.try_get("last_hash")?;
        let at = Timestamp::now().to_string();
        let mut ids = Vec::with_capacity(entries.len());
        for (id, e) in (last - entries.len() as i64 + 1..).zip(entries) {
            let hash = row_hash(&prev, id, &at, e);
            sqlx::query(
                "INSERT INTO audit_log (id, at, actor, via, address, action, object_type, \
                 object_id, fields, outcome, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(id)
            .bind(&at)
            .bind(&e.actor)
            .bind(&e.via)
            .bind(e.address.clone())
            .bind(&e.action)
            .bind(e.object_type.clone())
            .bind(e.object_id.clone())
            .bind(&e.fields)
            .bind(&e.outcome)
            .bind(&prev)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
            ids.push(id);
            prev = hash;
        }
        sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE one = 1")
            .bind(&prev)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// A page of the audit log, newest first.
    pub async fn audit_list(
        &self,
        f: &AuditFilter,
        page: Page,
    ) -> Result<Listed<AuditRecord>, DbError> {
        crate::inventory::check_page(page)?;
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if f.actor.is_some() {
            conditions.push(format!("actor = {}", next()));
        }
        // A prefix `devices.` is the range [`devices.`, `devices/`).
        let action_prefix = f.action.as_deref().filter(|a| a.ends_with('.'));
        if action_prefix.is_some() {
            conditions.push(format!("action >= {} AND action < {}", next(), next()));
        } else if f.action.is_some() {
            conditions.push(format!("action = {}", next()));
        }
        if f.object_type.is_some() {
            conditions.push(format!("object_type = {}", next()));
        }
        if f.object_id.is_some() {
            conditions.push(format!("object_id = {}", next()));
        }
        if f.since.is_some() {
            conditions.push(format!("at >= {}", next()));
        }
        if f.until.is_some() {
            conditions.push(format!("at < {}", next()));
        }
        let limit = next();
        let offset = next();
        let where_ = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS}, COUNT(*) OVER () AS total FROM audit_log {where_} \
             ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(a) = &f.actor {
            q = q.bind(a.clone());
        }
        if let Some(p) = action_prefix {
            q = q.bind(p.to_owned()).bind(format!("{}/", &p[..p.len() - 1]));
        } else if let Some(a) = &f.action {
            q = q.bind(a.clone());
        }
        if let Some(t) = &f.object_type {
            q = q.bind(t.clone());
        }
        if let Some(id) = &f.object_id {
            q = q.bind(id.clone());
        }
        if let Some(t) = f.since {
            q = q.bind(t.to_string());
        }
        if let Some(t) = f.until {
            q = q.bind(t.to_string());
        }
        let rows = q
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(self.pool())
            .await?;
        let total = match rows.first() {
            Some(r) => r.try_get("total")?,
            None => 0,
        };
        let rows = rows.iter().map(record).collect::<Result<_, _>>()?;
        Ok(Listed { rows, total })
    }

    /// The latest pruning checkpoint, if the log was ever pruned.
    pub async fn audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>, DbError> {
        let row = sqlx::query(
            "SELECT at, through_id, through_hash, signature FROM audit_checkpoints \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(AuditCheckpoint {
                at: r.try_get("at")?,
                through_id: r.try_get("through_id")?,
                through_hash: r.try_get("through_hash")?,
                signature: r.try_get("signature")?,
            })
        })
        .transpose()
    }

    /// Checks the whole chain: every row's hash, every link, no missing
    /// id, and the head. The signature of the checkpoint is the caller's
    /// to check (it needs the key).
    pub async fn audit_verify(&self) -> Result<AuditVerification, DbError> {
        let checkpoint = self.audit_checkpoint().await?;
        let head = sqlx::query("SELECT last_id, last_hash FROM audit_head WHERE one = 1")
            .fetch_one(self.pool())
            .await?;
        let head_id: i64 = head.try_get("last_id")?;
        let head_hash: String = head.try_get("last_hash")?;
        let (start, start_hash) = match &checkpoint {
            Some(c) => (c.through_id, c.through_hash.clone()),
            None => (0, GENESIS_HASH.to_owned()),
        };
        let mut v = AuditVerification {
            checkpoint,
            ..AuditVerification::default()
        };
        let problems = self
            .verify_range(
                start,
                start_hash,
                Some((head_id, head_hash)),
                i64::MAX,
                &mut v.rows,
            )
            .await?;
        v.problems = problems;
        Ok(v)
    }

    /// Verifies the rows after `start` (whose hash is `start_hash`) up to
    /// `through` inclusive; with `head`, also that the chain ends there.
    async fn verify_range(
        &self,
        start: i64,
        start_hash: String,
        head: Option<(i64, String)>,
        through: i64,
        rows: &mut u64,
    ) -> Result<Vec<AuditProblem>, DbError> {
        let mut problems = Vec::new();
        let (mut last_id, mut last_hash) = (start, start_hash);
        loop {
            let batch = sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3"
            )))
            .bind(last_id)
            .bind(through)
            .bind(VERIFY_BATCH)
            .fetch_all(self.pool())
            .await?;
            if batch.is_empty() {
                break;
            }
            for row in &batch {
                let r = record(row)?;
                *rows += 1;
                if r.id != last_id + 1 {
                    problems.push(AuditProblem {
                        id: r.id,
                        what: format!(
                            "rows {}..={} are missing before row {}",
                            last_id + 1,
                            r.id - 1,
                            r.id
                        ),
                    });
                } else if r.prev_hash != last_hash {
                    problems.push(AuditProblem {
                        id: r.id,
                        what: format!(
                            "row {} does not follow row {}: its link was changed or row {} was",
                            r.id, last_id, last_id
                        ),
                    });
                }
                if row_hash(&r.prev_hash, r.id, &r.at, &r.entry) != r.hash {
                    problems.push(AuditProblem {
                        id: r.id,
                        what: format!(
                            "row {} was altered: its hash does not match its fields",
                            r.id
                        ),
                    });
                }
                last_id = r.id;
                last_hash = r.hash;
            }
        }
        if let Some((head_id, head_hash)) = head {
            if last_id != head_id {
                problems.push(AuditProblem {
                    id: head_id,
                    what: format!(
                        "the log ends at row {last_id} but row {head_id} was written: rows {}..={head_id} are missing",
                        last_id + 1
                    ),
                });
            } else if last_hash != head_hash {
                problems.push(AuditProblem {
                    id: head_id,
                    what: format!("row {head_id} is not the row that was written last"),
                });
            }
        }
        Ok(problems)
    }

    /// Removes the rows written before `before`, once the part removed
    /// verifies, and records a checkpoint signed by `sign` (given the
    /// checkpoint's [`AuditCheckpoint::signed_text`]). Returns the rows
    /// removed; refuses (`Invalid`) when the part to remove is broken, so
    /// pruning never hides tampering.
    pub async fn audit_prune(
        &self,
        before: Timestamp,
        sign: &(dyn Fn(&str) -> String + Send + Sync),
    ) -> Result<u64, DbError> {
        let through: Option<i64> = sqlx::query("SELECT MAX(id) AS id FROM audit_log WHERE at < $1")
            .bind(before.to_string())
            .fetch_one(self.pool())
            .await?
            .try_get("id")?;
        let Some(through) = through else {
            return Ok(0);
        };
        let (start, start_hash) = match self.audit_checkpoint().await? {
            Some(c) => (c.through_id, c.through_hash),
            None => (0, GENESIS_HASH.to_owned()),
        };
        if through <= start {
            return Ok(0);
        }
        let mut rows = 0;
        let problems = self
            .verify_range(start, start_hash, None, through, &mut rows)
            .await?;
        if let Some(p) = problems.first() {
            return Err(DbError::Invalid(format!(
                "the audit log is not pruned: {} (run `devicevault audit verify`)",
                p.what
            )));
        }
        let through_hash: String = sqlx::query("SELECT hash FROM audit_log WHERE id = $1")
            .bind(through)
            .fetch_one(self.pool())
            .await?
            .try_get("hash")?;
        let at = Timestamp::now().to_string();
        let signature = sign(&AuditCheckpoint::signed_text(&at, through, &through_hash));
        let _gate = self.write_gate_for(crate::WritePriority::Background).await;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO audit_checkpoints (at, through_id, through_hash, signature) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&at)
        .bind(through)
        .bind(&through_hash)
        .bind(&signature)
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query("DELETE FROM audit_log WHERE id <= $1")
            .bind(through)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed)
    }
}
