//! The scheduler role: enqueues each due device once per cron slot.
//!
//! A schedule's `next_run` is the slot it runs next. Each tick, for every
//! schedule whose slot S has come, the scheduler enqueues every target
//! device with the task identifier `schedule:<schedule>:<device>:<S>`, and
//! only then moves `next_run` (compare-and-swap from S) to the first slot
//! after `max(S, now)`. So:
//!
//! - slots missed while no scheduler ran coalesce into the one run for S:
//!   a restart neither skips the overdue backup nor runs it once per missed
//!   slot;
//! - a crash (or a failed enqueue) between the enqueues and the move re-runs
//!   S, and the identical task identifiers make the second run a no-op for
//!   the devices already enqueued;
//! - two schedulers racing on one slot enqueue each device once (the job
//!   row is unique on its identifier) and one of them moves `next_run`.
//!
//! Cron expressions have exactly five fields (minute, hour, day of month,
//! month, day of week) and are evaluated on the wall clock of the
//! schedule's IANA time zone; slots are stored in UTC. Across a DST change
//! a job whose time falls in the skipped hour runs at the first instant
//! after it, and one whose time is repeated runs once (croner's rules).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone as _;
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use devicevault_core::Timestamp;
use devicevault_core::bus::BoxFuture;
use devicevault_db::{Db, DbError, Device, Schedule};
use time::OffsetDateTime;

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

/// A cron expression or time zone that cannot be used. Only the
/// [`ScheduleError::TimeZone`] message mentions "time zone".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("invalid cron {cron:?}: {reason}")]
    Cron { cron: String, reason: String },
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    /// The expression parses but names no real date (`0 0 31 2 *`).
    #[error("cron {cron:?} never matches")]
    NoSlot { cron: String },
}

/// A failure of a scheduler run as a whole (the database); per-device
/// enqueue failures are logged and retried on the next tick instead.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Db(#[from] DbError),
}

/// How many due schedules one run handles; the rest wait for the next tick.
const DUE_BATCH: i64 = 500;

const FIVE_FIELDS: &str = "expected 5 fields (minute hour day-of-month month day-of-week)";

fn parse_cron(cron: &str) -> Result<Cron, ScheduleError> {
    let invalid = |reason: String| ScheduleError::Cron {
        cron: cron.to_owned(),
        reason,
    };
    let fields = cron.split_whitespace().count();
    // `@daily` and friends are 5-field shorthands; a count would reject them.
    if !cron.trim_start().starts_with('@') && fields != 5 {
        return Err(invalid(format!("{FIVE_FIELDS}, found {fields}")));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(cron)
        .map_err(|e| invalid(e.to_string()))
}

fn parse_zone(timezone: &str) -> Result<Tz, ScheduleError> {
    timezone
        .parse::<Tz>()
        .map_err(|_| ScheduleError::TimeZone(timezone.to_owned()))
}

fn first_after(
    cron: &Cron,
    text: &str,
    zone: Tz,
    after: Timestamp,
) -> Result<Timestamp, ScheduleError> {
    let no_slot = || ScheduleError::NoSlot {
        cron: text.to_owned(),
    };
    let millis = i64::try_from(after.unix_millis()).map_err(|_| no_slot())?;
    let start = zone
        .timestamp_millis_opt(millis)
        .single()
        .ok_or_else(no_slot)?;
    // Exclusive: a slot equal to `after` is not "after". croner drops the
    // sub-second part and starts at the next whole second, so with slots on
    // whole minutes an `after` of 02:00:00.500 cannot yield 02:00.
    let next = cron
        .find_next_occurrence(&start, false)
        .map_err(|_| no_slot())?;
    let nanos = i128::from(next.timestamp_millis()) * 1_000_000;
    let next = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| no_slot())?;
    Ok(Timestamp::from_datetime(next))
}

/// Checks that `cron` is a 5-field expression that matches some date, and
/// that `timezone` is an IANA time zone.
pub fn validate(cron: &str, timezone: &str) -> Result<(), ScheduleError> {
    next_slot(cron, timezone, Timestamp::now()).map(|_| ())
}

/// The first slot of `cron`, evaluated in `timezone`, strictly after
/// `after`; in UTC.
pub fn next_slot(cron: &str, timezone: &str, after: Timestamp) -> Result<Timestamp, ScheduleError> {
    let parsed = parse_cron(cron)?;
    let zone = parse_zone(timezone)?;
    first_after(&parsed, cron, zone, after)
}

/// The task identifier of `device`'s backup in slot `slot` of `schedule`.
pub fn task_identifier(schedule: i64, device: i64, slot: Timestamp) -> String {
    format!("schedule:{schedule}:{device}:{slot}")
}

/// Gives every enabled schedule without a `next_run` its first slot after
/// `now`. Returns how many it initialised.
pub async fn init_next_runs(db: &Db, now: Timestamp) -> Result<usize, SchedulerError> {
    let mut initialised = 0;
    for s in db.schedules_without_next_run(DUE_BATCH).await? {
        match next_slot(&s.fields.cron, &s.fields.timezone, now) {
            Ok(next) => {
                if db.init_schedule_next_run(s.id, next).await? {
                    initialised += 1;
                }
            }
            Err(e) => tracing::error!(
                schedule_id = s.id,
                error = %e,
                "schedule cannot be evaluated; it will not run until it is fixed"
            ),
        }
    }
    Ok(initialised)
}

/// Runs every due schedule's slot once (see the module docs). Returns how
/// many jobs were newly enqueued.
pub async fn run_due(
    db: &Db,
    enqueue: &dyn Enqueue,
    now: Timestamp,
) -> Result<usize, SchedulerError> {
    let mut enqueued = 0;
    for s in db.due_schedules(now, DUE_BATCH).await? {
        enqueued += run_slot(db, enqueue, &s, now).await?;
    }
    Ok(enqueued)
}

/// Enqueues the targets of `s`'s current slot, then advances it unless an
/// enqueue failed.
async fn run_slot(
    db: &Db,
    enqueue: &dyn Enqueue,
    s: &Schedule,
    now: Timestamp,
) -> Result<usize, SchedulerError> {
    let Some(stored_slot) = s.next_run.as_deref() else {
        return Ok(0);
    };
    let Ok(slot) = Timestamp::parse(stored_slot) else {
        tracing::error!(
            schedule_id = s.id,
            next_run = stored_slot,
            "next_run is not a timestamp"
        );
        return Ok(0);
    };
    // Computed first: a schedule whose expression became unusable enqueues
    // nothing rather than re-running its slot on every tick.
    let next = match next_slot(&s.fields.cron, &s.fields.timezone, slot.max(now)) {
        Ok(next) => next,
        Err(e) => {
            tracing::error!(
                schedule_id = s.id,
                error = %e,
                "schedule cannot be evaluated; it will not run until it is fixed"
            );
            return Ok(0);
        }
    };
    let targets = match db.schedule_targets(s.id).await {
        Ok(targets) => targets,
        Err(DbError::NotFound { .. }) => return Ok(0), // deleted meanwhile
        Err(e) => return Err(e.into()),
    };
    let mut enqueued = 0;
    let mut failed = 0;
    for device in &targets {
        let ti = task_identifier(s.id, device.id, slot);
        match enqueue.enqueue(device, &ti).await {
            Ok(true) => enqueued += 1,
            Ok(false) => {}
            Err(error) => {
                failed += 1;
                tracing::warn!(
                    schedule_id = s.id,
                    device_id = device.id,
                    task_identifier = %ti,
                    %error,
                    "enqueueing a scheduled backup failed; the slot is retried next tick"
                );
            }
        }
    }
    if failed > 0 {
        return Ok(enqueued);
    }
    if db.advance_schedule(s.id, stored_slot, next).await? {
        tracing::info!(
            schedule_id = s.id,
            slot = %slot,
            devices = targets.len(),
            enqueued,
            next_run = %next,
            "schedule ran"
        );
    } else {
        tracing::debug!(schedule_id = s.id, slot = %slot, "next_run moved meanwhile");
    }
    Ok(enqueued)
}

/// How often the scheduler looks for devices gone stale: a quarter of the
/// threshold, between one tick and a minute.
pub fn stale_check_every(tick: Duration, stale_after: Duration) -> Duration {
    (stale_after / 4).clamp(tick, Duration::from_secs(60).max(tick))
}

/// Marks the devices gone stale (see [`Db::mark_stale`]); returns how many.
pub async fn check_staleness(
    db: &Db,
    now: Timestamp,
    stale_after: Duration,
) -> Result<usize, SchedulerError> {
    let went = db.mark_stale(now, stale_after).await?;
    for w in &went {
        tracing::info!(
            device_id = w.device_id,
            last_success_at = w.last_success_at.as_deref().unwrap_or("never"),
            "device stale"
        );
    }
    Ok(went.len())
}

/// Runs the due schedules every `tick`, and the staleness check every
/// [`stale_check_every`], until `shutdown` completes. A run in progress is
/// finished first (it is bounded, and an interrupted one would be repeated
/// anyway).
pub async fn run_scheduler(
    db: Db,
    enqueue: Arc<dyn Enqueue>,
    tick: Duration,
    stale_after: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let check_every = stale_check_every(tick, stale_after);
    let mut last_check: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticks.tick() => {}
        }
        let now = Timestamp::now();
        if let Err(e) = init_next_runs(&db, now).await {
            tracing::warn!(error = %e, "initialising schedules failed");
        }
        if let Err(e) = run_due(&db, &*enqueue, now).await {
            tracing::warn!(error = %e, "running due schedules failed");
        }
        if last_check.is_none_or(|t| t.elapsed() >= check_every) {
            last_check = Some(tokio::time::Instant::now());
            if let Err(e) = check_staleness(&db, now, stale_after).await {
                tracing::warn!(error = %e, "checking for stale devices failed");
            }
        }
    }
}
