//! Backup schedules as submitted: a 5-field cron in a time zone, assigned
//! to devices and device groups. One validator, for every front end.

use devicevault_core::Timestamp;
use devicevault_db::{DbError, Schedule, ScheduleFields, Scope, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::App;
use super::inventory::{Checked, FieldErrors, TargetNames};
use super::rights::{self, Denied, Targets};
use crate::scheduler;

fn yes() -> bool {
    true
}

fn utc() -> String {
    "UTC".into()
}

/// A schedule as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// 5-field cron expression, e.g. `0 2 * * *`.
    pub cron: String,
    /// IANA time zone (default UTC).
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub devices: Vec<i64>,
    #[serde(default)]
    pub device_groups: Vec<i64>,
}

impl ScheduleInput {
    /// The input that would store `s` unchanged.
    pub fn of(s: &Schedule) -> Self {
        let f = &s.fields;
        Self {
            name: f.name.clone(),
            cron: f.cron.clone(),
            timezone: f.timezone.clone(),
            enabled: f.enabled,
            devices: f.devices.clone(),
            device_groups: f.device_groups.clone(),
        }
    }

    /// Checks the name, the cron expression and the time zone, and that
    /// every device and group exists. Returns the fields and the first slot
    /// from now.
    pub async fn validate(&self, app: &App) -> Checked<(ScheduleFields, Option<Timestamp>)> {
        let mut e = FieldErrors::default();
        let name = match devicevault_core::Name::parse(&self.name) {
            Ok(n) => n.into_string(),
            Err(err) => {
                e.add("name", err.to_string());
                String::new()
            }
        };
        let next =
            match scheduler::next_slot(self.cron.trim(), self.timezone.trim(), Timestamp::now()) {
                Ok(t) => Some(t),
                Err(err) => {
                    let field = if err.to_string().contains("time zone") {
                        "timezone"
                    } else {
                        "cron"
                    };
                    e.add(field, err.to_string());
                    None
                }
            };
        for id in &self.devices {
            match app.db.device(*id).await {
                Ok(_) => {}
                Err(DbError::NotFound { .. }) => {
                    e.add("devices", format!("device {id} does not exist"))
                }
                Err(err) => return Err(err),
            }
        }
        for id in &self.device_groups {
            match app.db.device_group(*id).await {
                Ok(_) => {}
                Err(DbError::NotFound { .. }) => {
                    e.add("device_groups", format!("device group {id} does not exist"))
                }
                Err(err) => return Err(err),
            }
        }
        let mut devices = self.devices.clone();
        devices.sort_unstable();
        devices.dedup();
        let mut device_groups = self.device_groups.clone();
        device_groups.sort_unstable();
        device_groups.dedup();
        Ok(e.or((
            ScheduleFields {
                name,
                cron: self.cron.trim().to_owned(),
                timezone: self.timezone.trim().to_owned(),
                enabled: self.enabled,
                devices,
                device_groups,
            },
            next,
        )))
    }
}

/// Stores `input` as schedule `id`: the next run only moves when the
/// timing changed.
pub async fn update(app: &App, id: i64, input: &ScheduleInput) -> Checked<Schedule> {
    let current = app.db.schedule(id).await?;
    let (f, next) = match input.validate(app).await? {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let next = if f.cron == current.fields.cron && f.timezone == current.fields.timezone {
        current
            .next_run
            .as_deref()
            .and_then(|s| Timestamp::parse(s).ok())
            .or(next)
    } else {
        next
    };
    Ok(Ok(app.db.update_schedule(id, &f, next).await?))
}

/// Refuses `user` a change of schedule `id` (`None`: a new one) to
/// `input` (`None`: deleting it) that reaches beyond its scope.
pub async fn require_change(
    app: &App,
    user: &User,
    scope: &Scope,
    id: Option<i64>,
    input: Option<&ScheduleInput>,
) -> Result<Result<(), Denied>, DbError> {
    let current = match id {
        Some(id) => Some(app.db.schedule(id).await?),
        None => None,
    };
    let what = id.map_or_else(
        || "the new schedule".to_owned(),
        |id| format!("schedule {id}"),
    );
    rights::require_change(
        &app.db,
        user,
        scope,
        &what,
        false,
        current.as_ref().map(|s| Targets {
            devices: &s.fields.devices,
            device_groups: &s.fields.device_groups,
        }),
        input.map(|i| Targets {
            devices: &i.devices,
            device_groups: &i.device_groups,
        }),
    )
    .await
}

/// Stores `input` as a new schedule, its first slot from now.
pub async fn create(app: &App, input: &ScheduleInput) -> Checked<Schedule> {
    let (f, next) = match input.validate(app).await? {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(app.db.create_schedule(&f, next).await?))
}

/// A schedule in the shape of a form: its targets by name.
/// [`ScheduleForm::input`] resolves them; what is valid is still decided
/// by [`ScheduleInput::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleForm {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub targets: TargetNames,
    pub enabled: bool,
}

impl ScheduleForm {
    /// The form that shows `s`.
    pub async fn of(app: &App, s: &Schedule) -> Result<Self, DbError> {
        let f = &s.fields;
        Ok(Self {
            name: f.name.clone(),
            cron: f.cron.clone(),
            timezone: f.timezone.clone(),
            targets: TargetNames::of(app, &f.device_groups, &f.devices).await?,
            enabled: f.enabled,
        })
    }

    /// The input, with names resolved; an unknown name is an error on its
    /// field.
    pub async fn input(&self, app: &App) -> Checked<ScheduleInput> {
        let mut e = FieldErrors::default();
        let (device_groups, devices) = self.targets.ids(app, &mut e).await?;
        let timezone = match self.timezone.trim() {
            "" => utc(),
            tz => tz.to_owned(),
        };
        Ok(e.or(ScheduleInput {
            name: self.name.clone(),
            cron: self.cron.clone(),
            timezone,
            enabled: self.enabled,
            devices,
            device_groups,
        }))
    }
}
