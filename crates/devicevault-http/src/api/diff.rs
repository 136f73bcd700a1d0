//! Diffs through the token API: two stored versions compared by the same
//! engine and the same reading (secrets masked for users without
//! `view_secrets`) as the web UI's compare page
//! ([`devicevault_pipeline::app::diff`]). A unified diff (`text/x-diff`) by
//! default; with `Accept: application/json`, the compare page's rows
//! grouped into hunks, with line numbers and the changed byte ranges of
//! each changed line.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_core::RelPath;
use devicevault_db::StoredBackup;
use devicevault_pipeline::app::diff::{self as engine, CompareError, Diff, Row, Side};
use devicevault_pipeline::app::search::parse_as_of;

use super::backups::{IdPath, visible_stored};
use super::types::{
    DiffChangeOut, DiffHunkOut, DiffOut, DiffRowOut, DiffSideOut, DiffStatsOut, DiffVersionOut,
    ErrorBody,
};
use super::{ApiError, ApiResult, Authed, Shared, id_of, int_param, query_of};

type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/stored-backups/{id}/diff/{other}/", get(diff_pair))
        .route("/api/devices/{id}/diff/", get(diff_device))
}

/// Unchanged lines shown around each change unless `context` says.
const DEFAULT_CONTEXT: usize = 3;
/// The most context lines a diff may ask for.
const MAX_CONTEXT: i64 = 1000;

impl From<CompareError> for ApiError {
    fn from(e: CompareError) -> Self {
        match e {
            CompareError::Binary => ApiError::conflict(e.to_string()),
            CompareError::Read(e) => e.into(),
        }
    }
}

/// `context`: unchanged lines around each change.
fn context_of(q: &HashMap<String, String>) -> ApiResult<usize> {
    match int_param(q, "context")? {
        None => Ok(DEFAULT_CONTEXT),
        Some(n) if (0..=MAX_CONTEXT).contains(&n) => Ok(n as usize),
        Some(_) => Err(ApiError::fields(vec![(
            "context",
            format!("must be between 0 and {MAX_CONTEXT}"),
        )])),
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The parameters of a device's diff.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct DeviceDiffQuery {
    /// The old version: a stored backup id of the device, or a time (RFC
    /// 3339): the device's version at that time.
    from: String,
    /// The new version, likewise; the latest when absent.
    to: Option<String>,
    /// Unchanged lines around each change (default 3).
    #[param(minimum = 0, maximum = 1000)]
    context: Option<i64>,
}

/// The unified diff (default) or the hunks (`Accept: application/json`)
/// of stored backups `id` (old) and `other` (new), as the user may see
/// them.
#[utoipa::path(get, path = "/api/stored-backups/{id}/diff/{other}/", tag = "backups",
    params(("id" = i64, Path, description = "the old version"), ("other" = i64, Path, description = "the new version"),
           ("context" = Option<i64>, Query, minimum = 0, maximum = 1000, description = "unchanged lines around each change (default 3)")),
    responses((status = 200, description = "a unified diff, or with Accept: application/json the hunks",
               content((String = "text/x-diff"), (DiffOut = "application/json")),
               headers(("x-devicevault-secrets-masked" = String, description = "true when secrets were masked"))),
              (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "secrets cannot be masked for this user"),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "a version failed to store, or is binary"),
              (status = 500, body = ErrorBody, description = "retrieval_failed")))]
async fn diff_pair(
    auth: Authed,
    State(state): State<Shared>,
    ids: Result<Path<(i64, i64)>, PathRejection>,
    q: QueryMap,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Path((a, b)) = ids.map_err(|_| ApiError::not_found("no such object: ids are integers"))?;
    let q = query_of(q)?;
    let context = context_of(&q)?;
    let a = visible_stored(&auth, &state, Ok(Path(a))).await?;
    let b = visible_stored(&auth, &state, Ok(Path(b))).await?;
    answer(&state, &auth, a, b, context, wants_json(&headers)).await
}

/// What changed on a device between two times or versions: the unified
/// diff (default) or the hunks (`Accept: application/json`).
#[utoipa::path(get, path = "/api/devices/{id}/diff/", tag = "backups",
    params(("id" = i64, Path), DeviceDiffQuery),
    responses((status = 200, description = "a unified diff, or with Accept: application/json the hunks",
               content((String = "text/x-diff"), (DiffOut = "application/json")),
               headers(("x-devicevault-secrets-masked" = String, description = "true when secrets were masked"))),
              (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "secrets cannot be masked for this user"),
              (status = 404, body = ErrorBody, description = "no such device, or no version at that time"),
              (status = 409, body = ErrorBody, description = "a version failed to store, or is binary"),
              (status = 500, body = ErrorBody, description = "retrieval_failed")))]
async fn diff_device(
    auth: Authed,
    State(state): State<Shared>,
    id: IdPath,
    q: QueryMap,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let q = query_of(q)?;
    let context = context_of(&q)?;
    auth.check_device(&state, id).await?;
    let from = q
        .get("from")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::fields(vec![(
                "from",
                "required: a stored backup id or a time (RFC 3339)".into(),
            )])
        })?;
    let to = q.get("to").map(|s| s.trim()).filter(|s| !s.is_empty());
    let a = version(&state, id, "from", Some(from)).await?;
    let b = version(&state, id, "to", to).await?;
    answer(&state, &auth, a, b, context, wants_json(&headers)).await
}

/// Device `id`'s version named by `spec` (a stored backup id of the
/// device, or a time), or its latest when `spec` is `None`.
async fn version(
    state: &Shared,
    id: i64,
    field: &'static str,
    spec: Option<&str>,
) -> ApiResult<StoredBackup> {
    let missing = |what: String| ApiError::not_found(what);
    match spec {
        Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => {
            let n: i64 = s
                .parse()
                .map_err(|_| ApiError::fields(vec![(field, format!("{s:?} is too large"))]))?;
            match state.db.stored_backup(n).await {
                Ok(v) if v.device_id == id => Ok(v),
                Ok(_) | Err(devicevault_db::DbError::NotFound { .. }) => {
                    Err(missing(format!("device {id} has no stored backup {n}")))
                }
                Err(e) => Err(e.into()),
            }
        }
        Some(s) => {
            let at = parse_as_of(s).map_err(|e| ApiError::fields(vec![(field, e.to_string())]))?;
            state
                .db
                .stored_backup_at(id, Some(&at))
                .await?
                .ok_or_else(|| missing(format!("device {id} has no version at or before {at}")))
        }
        None => state
            .db
            .stored_backup_at(id, None)
            .await?
            .ok_or_else(|| missing(format!("device {id} has no stored version"))),
    }
}

/// Reads both versions for the user and answers in the format asked.
async fn answer(
    state: &Shared,
    auth: &Authed,
    a: StoredBackup,
    b: StoredBackup,
    context: usize,
    json: bool,
) -> ApiResult<Response> {
    let v = engine::read_versions(state, &auth.user, &a, &b).await?;
    let masked = v.masked;
    let (name_a, name_b) = tokio::join!(state.db.device(a.device_id), state.db.device(b.device_id));
    let stem = |d: Result<devicevault_db::Device, _>, id: i64| {
        d.map(|d| RelPath::sanitize_segment(&d.fields.name))
            .unwrap_or_else(|_| format!("device-{id}"))
    };
    let (name_a, name_b) = (stem(name_a, a.device_id), stem(name_b, b.device_id));
    let label_a = format!("{name_a}@{}", a.timestamp);
    let label_b = format!("{name_b}@{}", b.timestamp);
    let mut response = tokio::task::spawn_blocking(move || {
        if json {
            Json(diff_json(&v.old, &v.new, &a, &b, context, v.masked)).into_response()
        } else {
            let text = engine::unified(&v.old, &v.new, &label_a, &label_b, context);
            let mut r = text.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/x-diff; charset=utf-8"),
            );
            r
        }
    })
    .await
    .map_err(|e| ApiError::internal("diff_failed", e.to_string()))?;
    response.headers_mut().insert(
        header::HeaderName::from_static(crate::MASKED_HEADER),
        HeaderValue::from_static(if masked { "true" } else { "false" }),
    );
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

fn version_out(s: &StoredBackup) -> DiffVersionOut {
    DiffVersionOut {
        stored_backup: s.id,
        device: s.device_id,
        timestamp: s.timestamp.clone(),
    }
}

/// The comparison as JSON: the compare page's rows, in hunks.
pub fn diff_json(
    old: &str,
    new: &str,
    a: &StoredBackup,
    b: &StoredBackup,
    context: usize,
    masked: bool,
) -> DiffOut {
    let d = Diff::new(old, new);
    let stats = d.stats();
    let (hunks, skipped_after) = engine::hunks(d.rows(Some(context)));
    let side = |s: &Side<'_>| DiffSideOut {
        number: s.number,
        text: s.text.to_owned(),
        changes: s.marks.as_ref().map(|m| {
            m.iter()
                .map(|r| DiffChangeOut {
                    start: r.start,
                    end: r.end,
                })
                .collect()
        }),
    };
    DiffOut {
        old: version_out(a),
        new: version_out(b),
        identical: d.is_identical(),
        secrets_masked: masked,
        stats: DiffStatsOut {
            added: stats.added,
            removed: stats.removed,
            unchanged: stats.unchanged,
        },
        hunks: hunks
            .into_iter()
            .map(|h| DiffHunkOut {
                skipped_before: h.skipped_before,
                old_start: h.old_start,
                old_lines: h.old_lines,
                new_start: h.new_start,
                new_lines: h.new_lines,
                rows: h
                    .rows
                    .iter()
                    .filter_map(|r| match r {
                        Row::Same {
                            old_number,
                            new_number,
                            text,
                        } => Some(DiffRowOut {
                            kind: "same".into(),
                            old: Some(DiffSideOut {
                                number: *old_number,
                                text: (*text).to_owned(),
                                changes: None,
                            }),
                            new: Some(DiffSideOut {
                                number: *new_number,
                                text: (*text).to_owned(),
                                changes: None,
                            }),
                        }),
                        Row::Changed { old, new } => Some(DiffRowOut {
                            kind: match (old, new) {
                                (Some(_), Some(_)) => "changed",
                                (Some(_), None) => "removed",
                                _ => "added",
                            }
                            .into(),
                            old: old.as_ref().map(side),
                            new: new.as_ref().map(side),
                        }),
                        Row::Skipped { .. } => None,
                    })
                    .collect(),
            })
            .collect(),
        skipped_after,
    }
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(diff_pair, diff_device))]
pub(super) struct Doc;
