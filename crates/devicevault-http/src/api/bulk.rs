//! `POST /api/devices/bulk/`: one operation on many devices (issue 15),
//! through `app::bulk` like the web device list's selection.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use devicevault_pipeline::app::bulk::{self, BulkError, BulkInput, BulkOutcome};

use super::types::ErrorBody;
use super::{ApiError, ApiResult, Authed, Shared, parse_body};

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/api/devices/bulk/", post(bulk_devices))
}

impl From<BulkError> for ApiError {
    fn from(e: BulkError) -> Self {
        match e {
            BulkError::Invalid(errors) => errors.into(),
            BulkError::Denied(e) => e.into(),
            BulkError::Db(e) => e.into(),
        }
    }
}

/// Applies one action to many devices: those named by id, or every live
/// device a list's filter matches, in the user's scope. Changes are one
/// transaction (administrators only); so is "backup now" (any user, on
/// the devices they see): one job per device, or its open one joined, all
/// created together, then queued; it lists the devices it refused with the
/// reason.
#[utoipa::path(post, path = "/api/devices/bulk/", tag = "devices", request_body = BulkInput,
    responses((status = 200, body = BulkOutcome), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn bulk_devices(
    auth: Authed,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Json<BulkOutcome>> {
    let input: BulkInput = parse_body(&body)?;
    Ok(Json(
        bulk::run(&state, &auth.user, &auth.scope, &input).await?,
    ))
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(bulk_devices))]
pub(super) struct Doc;
