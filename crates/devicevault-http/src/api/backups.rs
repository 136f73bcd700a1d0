//! Backup routes: "backup now", job state, collection results, stored
//! backups and their download through `storage.read`.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use devicevault_core::RelPath;
use devicevault_db::StoredBackup;
use devicevault_pipeline::app::backups::{self as app_backups, BackupNowError};
use devicevault_pipeline::app::reading::{self, ReadFailure};

use super::types::{
    AcceptedOut, ErrorBody, JobOut, Paginated, ResultOut, StoredBackupOut, VersionOut,
};
use super::{ApiError, ApiResult, Authed, PageQuery, Shared, id_of, int_param, query_of};

pub(super) type IdPath = Result<Path<i64>, PathRejection>;
type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/devices/{id}/backup_now/", post(backup_now))
        .route("/api/jobs/{task_identifier}/", get(get_job))
        .route("/api/backup-results/", get(list_results))
        .route("/api/devices/{id}/versions/", get(list_versions))
        .route("/api/stored-backups/", get(list_stored))
        .route("/api/stored-backups/{id}/", get(get_stored))
        .route("/api/stored-backups/{id}/download/", get(download))
}

/// Filters of the results and stored-backups lists.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListQuery {
    /// Only this device's.
    device: Option<i64>,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
}

/// Filters of the results list: one validator with the web page
/// (`app::backups::result_filter`).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ResultQuery {
    /// Only this device's.
    device: Option<i64>,
    /// What became of the collection: `stored`, `failed` (collection,
    /// storage or job) or `pending` (collected, not stored yet).
    outcome: Option<String>,
    /// Collected at or after: RFC 3339, `2026-03-01T22:00` (UTC) or a date.
    since: Option<String>,
    /// Collected before: RFC 3339, `2026-03-02T06:00` (UTC) or a date (to
    /// the end of that day).
    until: Option<String>,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
}

impl From<BackupNowError> for ApiError {
    fn from(e: BackupNowError) -> Self {
        match e {
            BackupNowError::NotFound(_) => ApiError::not_found(e.to_string()),
            BackupNowError::Archived(_) | BackupNowError::NotReady(_) => {
                ApiError::conflict(e.to_string())
            }
            BackupNowError::Db(e) => e.into(),
        }
    }
}

/// Accepts a backup of the device: a new job, or — while one is queued or
/// collecting — that job again.
#[utoipa::path(post, path = "/api/devices/{id}/backup_now/", tag = "backups",
    params(("id" = i64, Path)),
    responses((status = 202, body = AcceptedOut), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "archived, disabled, or missing a credential or location")))]
async fn backup_now(auth: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    let id = id_of(id)?;
    let a = app_backups::backup_now(&state, &auth.scope, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedOut {
            task_id: a.task_id,
            job: format!("/api/jobs/{}/", a.task_identifier),
            task_identifier: a.task_identifier,
            queued_on: a.queue,
            queued_at: a.queued_at.to_string(),
        }),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/jobs/{task_identifier}/", tag = "backups",
    params(("task_identifier" = String, Path)),
    responses((status = 200, body = JobOut), (status = 404, body = ErrorBody)))]
async fn get_job(
    auth: Authed,
    State(state): State<Shared>,
    ti: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<JobOut>> {
    let Path(ti) = ti.map_err(|_| ApiError::not_found("no such job"))?;
    let job = state.db.job(&ti).await?;
    auth.check_device(&state, job.device_id)
        .await
        .map_err(|_| ApiError::not_found(format!("job {ti} not found")))?;
    Ok(Json(JobOut::from(&job)))
}

/// Collection outcomes, newest first, with what became of each; filtered
/// by device, outcome and a time range (`since` inclusive, `until`
/// exclusive, on the collection's time).
#[utoipa::path(get, path = "/api/backup-results/", tag = "backups", params(ResultQuery),
    responses((status = 200, body = Paginated<ResultOut>), (status = 400, body = ErrorBody)))]
async fn list_results(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<ResultOut>>> {
    let q = query_of(q)?;
    let filter = app_backups::result_filter(|k| q.get(k).cloned())?;
    let list = |p| state.db.backup_results(&filter, &auth.scope, p);
    super::list_page(&state, &q, &uri, list, |r| ResultOut::from(&r)).await
}

/// A device's distinct versions, newest first: each with when it was
/// first seen, when a backup last confirmed it and how many did; a
/// backup that found the configuration unchanged is not a version.
#[utoipa::path(get, path = "/api/devices/{id}/versions/", tag = "backups",
    params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = Paginated<VersionOut>), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn list_versions(
    auth: Authed,
    State(state): State<Shared>,
    id: IdPath,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<VersionOut>>> {
    let id = id_of(id)?;
    let q = query_of(q)?;
    // An administrator's scope admits any id: ask for the device itself.
    state.db.device(id).await?;
    auth.check_device(&state, id).await?;
    let list = |p| state.db.device_versions(id, &auth.scope, p);
    super::list_page(&state, &q, &uri, list, |v| VersionOut::from(&v)).await
}

#[utoipa::path(get, path = "/api/stored-backups/", tag = "backups", params(ListQuery),
    responses((status = 200, body = Paginated<StoredBackupOut>), (status = 400, body = ErrorBody)))]
async fn list_stored(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<StoredBackupOut>>> {
    let q = query_of(q)?;
    let device = int_param(&q, "device")?;
    let list = |p| state.db.stored_backups(device, &auth.scope, p);
    super::list_page(&state, &q, &uri, list, |s| StoredBackupOut::from(&s)).await
}

/// A stored backup the user may see: not found otherwise.
pub(super) async fn visible_stored(
    auth: &Authed,
    state: &Shared,
    id: IdPath,
) -> ApiResult<StoredBackup> {
    let id = id_of(id)?;
    let s = state.db.stored_backup(id).await?;
    auth.check_device(state, s.device_id)
        .await
        .map_err(|_| ApiError::not_found(format!("stored backup {id} not found")))?;
    Ok(s)
}

#[utoipa::path(get, path = "/api/stored-backups/{id}/", tag = "backups",
    params(("id" = i64, Path)),
    responses((status = 200, body = StoredBackupOut), (status = 404, body = ErrorBody)))]
async fn get_stored(
    auth: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<StoredBackupOut>> {
    Ok(Json(StoredBackupOut::from(
        &visible_stored(&auth, &state, id).await?,
    )))
}

impl From<ReadFailure> for ApiError {
    fn from(e: ReadFailure) -> Self {
        match e {
            ReadFailure::NothingStored(_) => ApiError::conflict(e.to_string()),
            ReadFailure::CannotMask(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "cannot_mask_secrets", e.to_string())
            }
            other => ApiError::internal("retrieval_failed", other.to_string()),
        }
    }
}

/// The stored configuration (through `storage.read` on its backend's
/// queue), with its secrets masked for users without `view_secrets`.
#[utoipa::path(get, path = "/api/stored-backups/{id}/download/", tag = "backups",
    params(("id" = i64, Path)),
    responses((status = 200, description = "the configuration: text, or bytes for a binary backup",
               content((String = "text/plain"), (Vec<u8> = "application/octet-stream")),
               headers(("x-devicevault-secrets-masked" = String, description = "true when secrets were masked"))),
              (status = 403, body = ErrorBody, description = "secrets cannot be masked for this user"),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the backup failed to store"),
              (status = 500, body = ErrorBody, description = "retrieval_failed")))]
async fn download(auth: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    let s = visible_stored(&auth, &state, id).await?;
    // The device only names the file: look it up while the content is read.
    let (content, device) = tokio::join!(
        reading::read_for(&state, &auth.user, &s),
        state.db.device(s.device_id)
    );
    let (content, device) = (content?, device.ok());
    let stem = device
        .map(|d| RelPath::sanitize_segment(&d.fields.name))
        .unwrap_or_else(|| format!("device-{}", s.device_id));
    let (content_type, ext) = if s.is_binary {
        ("application/octet-stream", "bin")
    } else {
        ("text/plain; charset=utf-8", "cfg")
    };
    let stamp: String = s
        .timestamp
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let masked = if content.masked { "-masked" } else { "" };
    let filename = format!("{stem}-{stamp}{masked}.{ext}");
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut response = content.content.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(
        header::HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::HeaderName::from_static(crate::MASKED_HEADER),
        HeaderValue::from_static(if content.masked { "true" } else { "false" }),
    );
    Ok(response)
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(
    backup_now,
    get_job,
    list_results,
    list_versions,
    list_stored,
    get_stored,
    download
))]
pub(super) struct Doc;
