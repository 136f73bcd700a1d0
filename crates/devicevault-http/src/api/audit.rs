//! The audit log (admins only): who changed what, who signed in, who read
//! which configuration, newest first.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::routing::get;
use devicevault_pipeline::app::audit;

use super::types::{AuditOut, ErrorBody, Paginated};
use super::{Admin, ApiResult, Shared, query_of};

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/api/audit/", get(list_audit))
}

/// Filters of the audit log (all together).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AuditQuery {
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
    /// Who: a user name (for a failed sign-in, the name tried).
    actor: Option<String>,
    /// An action (`devices.update`), or every action of an object type
    /// (`devices.`).
    action: Option<String>,
    /// `devices`, `users`, `stored-backups`, …
    object_type: Option<String>,
    object_id: Option<String>,
    /// From then on: RFC 3339, or a date (UTC).
    since: Option<String>,
    /// Before then: RFC 3339, or a date (to the end of that day, UTC).
    until: Option<String>,
}

#[utoipa::path(get, path = "/api/audit/", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Paginated<AuditOut>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_audit(
    _: Admin,
    State(state): State<Shared>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    uri: Uri,
) -> ApiResult<Json<Paginated<AuditOut>>> {
    let q = query_of(q)?;
    let paging = super::Paging::from_query(&q)?;
    let filter = audit::filter(|k| q.get(k).cloned())?;
    let listed = state.db.audit_list(&filter, paging.db()).await?;
    Ok(Json(super::paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        listed,
        |r| AuditOut::from(&r),
    )))
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(list_audit))]
pub(super) struct Doc;
