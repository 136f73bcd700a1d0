//! Import and export of the inventory (issue 15): `POST
//! /api/devices/import/` answers `app::import`'s per-line report (a dry
//! run unless `apply`), `GET /api/devices/export/` the inventory as CSV.
//! Administrators only. The body is bounded: a request over
//! [`BODY_LIMIT`] is refused with 413 before it is read whole, and content
//! over [`import::MAX_IMPORT_BYTES`] with 413 too.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use devicevault_pipeline::app::import::{
    self, Format, ImportError, ImportOptions, ImportReport, parse::OxidizedSource,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::ErrorBody;
use super::{ApiError, ApiResult, Operator, Shared, parse_body};

/// The largest request body (the audit middleware, which reads a change's
/// body first, allows this route as much).
pub const BODY_LIMIT: usize = import::MAX_REQUEST_BYTES;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/devices/import/", post(import_devices))
        .route("/api/devices/export/", get(export_devices))
}

/// An import: the source's text and how to run it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// `oxidized`, `rancid` or `csv` (NetBox is imported by the command
    /// line, which reads NetBox's API).
    pub format: Format,
    /// The file's text (at most 20 MiB).
    pub content: String,
    /// Commit the changes; without it, a dry run.
    #[serde(default)]
    pub apply: bool,
    /// One error line and nothing is applied.
    #[serde(default)]
    pub strict: bool,
    /// Archive the live devices the source does not name.
    #[serde(default)]
    pub sync: bool,
    /// New devices' fields their line does not give, as CSV cells
    /// (`{"backup_location": "main"}`).
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// Oxidized's delimiter and column map.
    #[serde(default)]
    pub oxidized: OxidizedSource,
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
            }
            ImportError::Source(m) => ApiError::bad_request(m),
            ImportError::Db(e) => e.into(),
            ImportError::Denied(e) => e.into(),
        }
    }
}

/// Imports devices: the report per line (create, update with its fields,
/// unchanged, skipped, error with the reason; with `sync`, the devices
/// archived), committed in one transaction when `apply` is true (with
/// `strict`, only when no line has an error).
#[utoipa::path(post, path = "/api/devices/import/", tag = "devices", request_body = ImportRequest,
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody, description = "the body is over 24 MiB or the content over 20 MiB")))]
async fn import_devices(
    Operator(auth): Operator,
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {BODY_LIMIT} bytes"),
        )
    };
    // An announced length over the limit is refused before a byte of the
    // body is read; an unannounced one is read up to the limit only.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| too_large())?;
    let req: ImportRequest = parse_body(&body)?;
    drop(body);
    if req.format == Format::Netbox {
        return Err(ApiError::bad_request(
            "NetBox is imported with `devicevault import --format netbox --netbox-url …`: the \
             server does not fetch URLs given in a request",
        ));
    }
    let options = ImportOptions {
        apply: req.apply,
        strict: req.strict,
        sync: req.sync,
        defaults: req.defaults,
        oxidized: req.oxidized,
    };
    let parsed = import::parse_source(req.format, req.content.as_bytes(), &options)?;
    drop(req.content);
    let report = import::run(
        state.import_context_for(&auth.user, &auth.scope),
        req.format,
        parsed,
        &options,
    )
    .await?;
    tracing::info!(
        user = %auth.user.username,
        format = req.format.as_str(),
        applied = report.applied,
        create = report.counts.create,
        update = report.counts.update,
        archive = report.counts.archive,
        error = report.counts.error,
        "device import"
    );
    Ok(Json(report))
}

/// The inventory as CSV: a header of the API's device field names, one
/// line per live device; credential, location, groups and type by name;
/// no secrets; cells that would start a spreadsheet formula begin with
/// `'`. Importing it back reports every line unchanged.
#[utoipa::path(get, path = "/api/devices/export/", tag = "devices",
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 403, body = ErrorBody)))]
async fn export_devices(
    Operator(auth): Operator,
    State(state): State<Shared>,
) -> ApiResult<Response> {
    let csv = import::export_csv(&state.db, &auth.scope).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"devicevault-devices.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(import_devices, export_devices))]
pub(super) struct Doc;
