//! Backup schedules: 5-field cron in a time zone, assigned to devices and
//! device groups. The next run is kept in the database, so a restart
//! neither skips nor doubles a slot.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_db::Schedule;
use devicevault_pipeline::app::schedules::{self as app_schedules, ScheduleInput};
use serde_json::Value;

use super::types::{ErrorBody, Paginated, ScheduleOut};

use super::{
    ApiError, ApiResult, Authed, Operator, PageQuery, Shared, id_of, merge_patch, parse_body,
    query_of,
};

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

/// A schedule as `auth` may see it: the devices it names are limited to
/// those in the caller's scope.
async fn visible(state: &Shared, auth: &Authed, s: &Schedule) -> ApiResult<ScheduleOut> {
    let devices = state
        .db
        .devices_in_scope(&auth.scope, &s.fields.devices)
        .await?;
    Ok(ScheduleOut::of(s, devices))
}

#[utoipa::path(get, path = "/api/backup-schedules/", tag = "schedules", params(PageQuery),
    responses((status = 200, body = Paginated<ScheduleOut>), (status = 400, body = ErrorBody)))]
async fn list(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<ScheduleOut>>> {
    let q = query_of(q)?;
    let paging = super::Paging::from_query(&q)?;
    let listed = state.db.list_schedules(paging.db()).await?;
    let mut rows = Vec::with_capacity(listed.rows.len());
    for s in &listed.rows {
        rows.push(visible(&state, &auth, s).await?);
    }
    let listed = devicevault_db::Listed {
        rows,
        total: listed.total,
    };
    Ok(Json(super::paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        listed,
        |v| v,
    )))
}

#[utoipa::path(post, path = "/api/backup-schedules/", tag = "schedules",
    request_body = ScheduleInput,
    responses((status = 201, body = ScheduleOut), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn create(
    Operator(auth): Operator,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let input = input(parse_body(&body)?)?;
    app_schedules::require_change(&state, &auth.user, &auth.scope, None, Some(&input)).await??;
    let s = app_schedules::create(&state, &input).await??;
    Ok((StatusCode::CREATED, Json(visible(&state, &auth, &s).await?)).into_response())
}

#[utoipa::path(get, path = "/api/backup-schedules/{id}/", tag = "schedules",
    params(("id" = i64, Path)),
    responses((status = 200, body = ScheduleOut), (status = 404, body = ErrorBody)))]
async fn get_one(
    auth: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<ScheduleOut>> {
    let s = state.db.schedule(id_of(id)?).await?;
    Ok(Json(visible(&state, &auth, &s).await?))
}

/// The input of a body, ignoring the read-only fields a GET shows.
fn input(v: Value) -> ApiResult<ScheduleInput> {
    let v = match v {
        Value::Object(mut m) => {
            for k in ["id", "next_run", "created_at"] {
                m.remove(k);
            }
            Value::Object(m)
        }
        other => other,
    };
    serde_json::from_value(v)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

#[utoipa::path(put, path = "/api/backup-schedules/{id}/", tag = "schedules",
    params(("id" = i64, Path)), request_body = ScheduleInput,
    responses((status = 200, body = ScheduleOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<ScheduleOut>> {
    let (id, input) = (id_of(id)?, input(parse_body(&body)?)?);
    app_schedules::require_change(&state, &auth.user, &auth.scope, Some(id), Some(&input))
        .await??;
    let s = app_schedules::update(&state, id, &input).await??;
    Ok(Json(visible(&state, &auth, &s).await?))
}

#[utoipa::path(patch, path = "/api/backup-schedules/{id}/", tag = "schedules",
    params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = ScheduleOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<ScheduleOut>> {
    let id = id_of(id)?;
    let current = serde_json::to_value(ScheduleInput::of(&state.db.schedule(id).await?))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let input = input(merge_patch(current, &body)?)?;
    app_schedules::require_change(&state, &auth.user, &auth.scope, Some(id), Some(&input))
        .await??;
    let s = app_schedules::update(&state, id, &input).await??;
    Ok(Json(visible(&state, &auth, &s).await?))
}

#[utoipa::path(delete, path = "/api/backup-schedules/{id}/", tag = "schedules",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody)))]
async fn delete(
    Operator(auth): Operator,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    app_schedules::require_change(&state, &auth.user, &auth.scope, Some(id), None).await??;
    state.db.delete_schedule(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(list, create, get_one, put, patch, delete))]
pub(super) struct Doc;
