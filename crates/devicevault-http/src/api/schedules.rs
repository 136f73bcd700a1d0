//! Backup schedules: 5-field cron in a time zone, assigned to devices and
//! device groups. The next run is kept in the database, so a restart
//! neither skips nor doubles a slot.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_core::Timestamp;
use devicevault_db::{DbError, Schedule, ScheduleFields};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Admin, ApiError, ApiResult, Authed, Shared, id_of, merge_patch, parse_body, query_of};
use devicevault_pipeline::scheduler;

type IdPath = Result<Path<i64>, PathRejection>;
type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/backup-schedules/", get(list).post(create))
        .route(
            "/api/backup-schedules/{id}/",
            get(get_one).put(put).patch(patch).delete(delete),
        )
}

fn yes() -> bool {
    true
}
fn utc() -> String {
    "UTC".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    name: String,
    cron: String,
    #[serde(default = "utc")]
    timezone: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    devices: Vec<i64>,
    #[serde(default)]
    device_groups: Vec<i64>,
}

fn schedule_json(s: &Schedule) -> Value {
    let f = &s.fields;
    json!({
        "id": s.id,
        "name": f.name,
        "cron": f.cron,
        "timezone": f.timezone,
        "enabled": f.enabled,
        "devices": f.devices,
        "device_groups": f.device_groups,
        "next_run": s.next_run,
        "created_at": s.created_at,
    })
}

/// Validates a body; returns the fields and their first slot from now.
async fn fields(state: &Shared, v: Value) -> ApiResult<(ScheduleFields, Option<Timestamp>)> {
    let v = match v {
        Value::Object(mut m) => {
            for k in ["id", "next_run", "created_at"] {
                m.remove(k);
            }
            Value::Object(m)
        }
        other => other,
    };
    let i: Input = serde_json::from_value(v)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    if let Err(e) = devicevault_core::Name::parse(&i.name) {
        errors.push(("name", e.to_string()));
    }
    let next = match scheduler::next_slot(i.cron.trim(), i.timezone.trim(), Timestamp::now()) {
        Ok(t) => Some(t),
        Err(e) => {
            let field = if e.to_string().contains("time zone") {
                "timezone"
            } else {
                "cron"
            };
            errors.push((field, e.to_string()));
            None
        }
    };
    for id in &i.devices {
        match state.db.device(*id).await {
            Ok(_) => {}
            Err(DbError::NotFound { .. }) => {
                errors.push(("devices", format!("device {id} does not exist")))
            }
            Err(e) => return Err(e.into()),
        }
    }
    for id in &i.device_groups {
        match state.db.device_group(*id).await {
            Ok(_) => {}
            Err(DbError::NotFound { .. }) => {
                errors.push(("device_groups", format!("device group {id} does not exist")));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let mut devices = i.devices;
    devices.sort_unstable();
    devices.dedup();
    let mut device_groups = i.device_groups;
    device_groups.sort_unstable();
    device_groups.dedup();
    Ok((
        ScheduleFields {
            name: devicevault_core::Name::parse(&i.name)
                .map(devicevault_core::Name::into_string)
                .unwrap_or_default(),
            cron: i.cron.trim().to_owned(),
            timezone: i.timezone.trim().to_owned(),
            enabled: i.enabled,
            devices,
            device_groups,
        },
        next,
    ))
}

/// A schedule as `auth` may see it: the devices it names are limited to
/// those in the caller's scope.
async fn visible_json(state: &Shared, auth: &Authed, s: &Schedule) -> ApiResult<Value> {
    let mut v = schedule_json(s);
    let devices = state
        .db
        .devices_in_scope(&auth.scope, &s.fields.devices)
        .await?;
    v["devices"] = json!(devices);
    Ok(v)
}

async fn list(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    let paging = super::Paging::from_query(&q)?;
    let listed = state.db.list_schedules(paging.db()).await?;
    let mut rows = Vec::with_capacity(listed.rows.len());
    for s in &listed.rows {
        rows.push(visible_json(&state, &auth, s).await?);
    }
    let listed = devicevault_db::Listed {
        rows,
        total: listed.total,
    };
    Ok(axum::Json(super::paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        listed,
        |v| v,
    ))
    .into_response())
}

async fn create(_: Admin, State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let (f, next) = fields(&state, parse_body(&body)?).await?;
    let s = state.db.create_schedule(&f, next).await?;
    Ok((StatusCode::CREATED, axum::Json(schedule_json(&s))).into_response())
}

async fn get_one(auth: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    let s = state.db.schedule(id_of(id)?).await?;
    Ok(axum::Json(visible_json(&state, &auth, &s).await?).into_response())
}

async fn update(state: &Shared, id: i64, v: Value) -> ApiResult<Response> {
    let current = state.db.schedule(id).await?;
    let (f, next) = fields(state, v).await?;
    // The next run only moves when the timing changed.
    let next = if f.cron == current.fields.cron && f.timezone == current.fields.timezone {
        current
            .next_run
            .as_deref()
            .and_then(|s| Timestamp::parse(s).ok())
            .or(next)
    } else {
        next
    };
    let s = state.db.update_schedule(id, &f, next).await?;
    Ok(axum::Json(schedule_json(&s)).into_response())
}

async fn put(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    update(&state, id_of(id)?, parse_body(&body)?).await
}

async fn patch(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let current = schedule_json(&state.db.schedule(id).await?);
    update(&state, id, merge_patch(current, &body)?).await
}

async fn delete(_: Admin, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    state.db.delete_schedule(id_of(id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
