//! A location's retention (issue 17): its settings with the dry run of
//! what a pass would remove now, and "run now". Administrators only: the
//! report names devices of every scope.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use devicevault_core::Timestamp;
use devicevault_pipeline::app::retention::{
    self as app_retention, RetentionInput, RetentionReport,
};

use super::types::ErrorBody;
use super::{Admin, ApiResult, Shared, id_of, parse_body};

type IdPath = Result<Path<i64>, PathRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/api/backup-locations/{id}/retention/",
            get(dry_run).put(set),
        )
        .route("/api/backup-locations/{id}/retention/run/", post(run_now))
}

/// The dry run: the location's settings and what a retention pass would
/// remove now (nothing is removed).
#[utoipa::path(get, path = "/api/backup-locations/{id}/retention/", tag = "retention",
    params(("id" = i64, Path)),
    responses((status = 200, body = RetentionReport), (status = 404, body = ErrorBody)))]
async fn dry_run(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<RetentionReport>> {
    let id = id_of(id)?;
    Ok(Json(
        app_retention::dry_run(&state, id, Timestamp::now()).await?,
    ))
}

/// Sets the location's retention (`keep_last`, `keep_days`; `null` is no
/// limit of that kind) and answers with the dry run under it.
#[utoipa::path(put, path = "/api/backup-locations/{id}/retention/", tag = "retention",
    params(("id" = i64, Path)), request_body = RetentionInput,
    responses((status = 200, body = RetentionReport), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn set(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<RetentionReport>> {
    let id = id_of(id)?;
    let input: RetentionInput = parse_body(&body)?;
    app_retention::set(&state, id, &input).await??;
    Ok(Json(
        app_retention::dry_run(&state, id, Timestamp::now()).await?,
    ))
}

/// Prunes the location now, as the scheduler's pass would, and answers
/// with what went (fs files are removed after `retention.grace`).
#[utoipa::path(post, path = "/api/backup-locations/{id}/retention/run/", tag = "retention",
    params(("id" = i64, Path)),
    responses((status = 200, body = RetentionReport), (status = 404, body = ErrorBody)))]
async fn run_now(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<RetentionReport>> {
    let id = id_of(id)?;
    Ok(Json(
        app_retention::run_now(&state, id, Timestamp::now()).await?,
    ))
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(dry_run, set, run_now))]
pub(super) struct Doc;
