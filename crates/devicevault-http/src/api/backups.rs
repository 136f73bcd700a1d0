//! Backup routes: "backup now", job state, collection results, stored
//! backups and their download through `storage.read`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use devicevault_core::RelPath;
use devicevault_db::{BackupJob, DeviceBackupResult, StoredBackup};
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Authed, Shared, id_of, int_param, query_of};
use devicevault_pipeline::app::reading::{self, ReadFailure};
use devicevault_pipeline::roles::dispatcher::DispatchError;

type IdPath = Result<Path<i64>, PathRejection>;
type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/devices/{id}/backup_now/", post(backup_now))
        .route("/api/jobs/{task_identifier}/", get(get_job))
        .route("/api/backup-results/", get(list_results))
        .route("/api/stored-backups/", get(list_stored))
        .route("/api/stored-backups/{id}/", get(get_stored))
        .route("/api/stored-backups/{id}/download/", get(download))
}

/// A stored log (JSON text) as JSON; a log that is not JSON stays text.
fn log_json(log: &str) -> Value {
    serde_json::from_str(log).unwrap_or_else(|_| Value::String(log.to_owned()))
}

fn job_json(j: &BackupJob) -> Value {
    json!({
        "task_id": j.task_id,
        "task_identifier": j.task_identifier,
        "device": j.device_id,
        "state": j.state.as_str(),
        "reason": j.reason,
        "queued_on": j.queued_on,
        "updated_at": j.updated_at,
        "attempts": j.attempts,
    })
}

fn result_json(r: &DeviceBackupResult) -> Value {
    json!({
        "id": r.id,
        "device": r.device_id,
        "task_id": r.task_id,
        "task_identifier": r.task_identifier,
        "status": r.status.as_str(),
        "timestamp": r.timestamp,
        "log": log_json(&r.log),
        "collection_duration_ms": r.collection_duration_ms,
    })
}

fn stored_json(s: &StoredBackup) -> Value {
    json!({
        "id": s.id,
        "device": s.device_id,
        "task_id": s.task_id,
        "task_identifier": s.task_identifier,
        "storage_backend": s.storage_backend.as_str(),
        "storage_ref": s.storage_ref,
        "status": s.status.as_str(),
        "timestamp": s.timestamp,
        "log": log_json(&s.log),
        "size": s.size,
        "sha256": s.sha256,
        "changed": s.changed,
        "location": s.location_id,
        "is_binary": s.is_binary,
    })
}

async fn backup_now(auth: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    let id = id_of(id)?;
    auth.check_device(&state, id).await?;
    let device = state.db.device(id).await?;
    if device.archived_at.is_some() {
        return Err(ApiError::conflict(format!(
            "device {id} is archived; restore it to back it up"
        )));
    }
    match state.pipeline.backup_now(&device).await {
        Ok(a) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({
                "task_id": a.task_id,
                "task_identifier": a.task_identifier,
                "queued_on": a.queued_on.to_string(),
                "job": format!("/api/jobs/{}/", a.task_identifier),
            })),
        )
            .into_response()),
        Err(DispatchError::NotReady(reason)) => Err(ApiError::conflict(reason)),
        Err(DispatchError::Db(e)) => Err(e.into()),
    }
}

async fn get_job(
    auth: Authed,
    State(state): State<Shared>,
    ti: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let Path(ti) = ti.map_err(|_| ApiError::not_found("no such job"))?;
    let job = state.db.job(&ti).await?;
    auth.check_device(&state, job.device_id)
        .await
        .map_err(|_| ApiError::not_found(format!("job {ti} not found")))?;
    Ok(axum::Json(job_json(&job)).into_response())
}

async fn list_results(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    let device = int_param(&q, "device")?;
    let list = |p| state.db.device_results(device, &auth.scope, p);
    super::list_page(&state, &q, &uri, list, |r| result_json(&r)).await
}

async fn list_stored(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    let device = int_param(&q, "device")?;
    let list = |p| state.db.stored_backups(device, &auth.scope, p);
    super::list_page(&state, &q, &uri, list, |s| stored_json(&s)).await
}

/// A stored backup the user may see: not found otherwise.
async fn visible_stored(auth: &Authed, state: &Shared, id: IdPath) -> ApiResult<StoredBackup> {
    let id = id_of(id)?;
    let s = state.db.stored_backup(id).await?;
    auth.check_device(state, s.device_id)
        .await
        .map_err(|_| ApiError::not_found(format!("stored backup {id} not found")))?;
    Ok(s)
}

async fn get_stored(auth: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    Ok(axum::Json(stored_json(&visible_stored(&auth, &state, id).await?)).into_response())
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
        header::HeaderName::from_static(MASKED_HEADER),
        HeaderValue::from_static(if content.masked { "true" } else { "false" }),
    );
    Ok(response)
}

/// Says whether a downloaded configuration had its secrets masked.
pub const MASKED_HEADER: &str = "x-devicevault-secrets-masked";
