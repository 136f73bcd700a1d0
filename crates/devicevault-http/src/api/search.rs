//! Fleet search: `GET /api/search/`, through the application's
//! [`devicevault_pipeline::app::search`].

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use devicevault_db::Listed;
use devicevault_pipeline::app::search::{self as app_search, SearchFailure};

use super::types::{ErrorBody, SearchMatchOut, SearchPageOut, SearchResultOut};
use super::{ApiError, ApiResult, Authed, Paging, Shared, paginated, query_of};

type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/api/search/", get(search))
}

/// The parameters of a search.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SearchQuery {
    /// What to look for, on one line: literal text, or with `regex=true` a
    /// regular expression (Rust `regex` syntax).
    #[param(min_length = 1, max_length = 1024)]
    q: String,
    /// `q` is a regular expression.
    regex: Option<bool>,
    ignore_case: Option<bool>,
    /// Lines shown before and after each match (0–10).
    #[param(minimum = 0, maximum = 10)]
    context: Option<i64>,
    /// Select the devices that have no matching line.
    negate: Option<bool>,
    /// Search each device's version at this time (RFC 3339) instead of its
    /// latest.
    as_of: Option<String>,
    /// Matching lines listed per device (1–1000, default 20).
    #[param(minimum = 1, maximum = 1000)]
    max_matches: Option<i64>,
    device_group: Option<i64>,
    device_type: Option<i64>,
    /// A driver's name (`cisco_ios`).
    driver: Option<String>,
    /// A backup location's id: the devices backed up there.
    location: Option<i64>,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
}

impl From<SearchFailure> for ApiError {
    fn from(e: SearchFailure) -> Self {
        match e {
            SearchFailure::TimeLimit(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "search_time_limit",
                e.to_string(),
            ),
            SearchFailure::Db(e) => e.into(),
            SearchFailure::Internal(m) => ApiError::internal("search_failed", m),
        }
    }
}

/// Searches the latest successful configuration of every device the user
/// may see (or each device's version at `as_of`), one result per device
/// with its matching lines. Secrets are masked, and never matched, for
/// users without `view_secrets`.
#[utoipa::path(get, path = "/api/search/", tag = "search", params(SearchQuery),
    responses((status = 200, body = SearchPageOut),
              (status = 400, body = ErrorBody, description = "an invalid pattern, option or filter, by field"),
              (status = 422, body = ErrorBody, description = "the search took too long; narrow the pattern or the filters")))]
async fn search(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<SearchPageOut>> {
    let q = query_of(q)?;
    let paging = Paging::from_query(&q)?;
    let page = paging.db();
    let page = app_search::Page {
        offset: usize::try_from(page.offset).unwrap_or(usize::MAX),
        limit: usize::try_from(page.limit).unwrap_or(0),
    };
    let request = app_search::validate(|name| q.get(name).cloned(), page)?;
    let outcome = app_search::search(&state.app, &auth.user, &auth.scope, request).await?;
    let r = outcome.results;
    let listed = Listed {
        rows: r.results,
        total: i64::try_from(r.total_devices).unwrap_or(i64::MAX),
    };
    let page = paginated(&uri, state.public_url.as_deref(), paging, listed, |d| {
        SearchResultOut {
            device: d.device_id,
            device_name: d.device_name,
            stored_backup: d.stored_backup_id,
            stored_at: d.stored_at.to_string(),
            total_matches: d.total_matches,
            matches: d
                .matches
                .into_iter()
                .map(|m| SearchMatchOut {
                    line_number: m.line_number,
                    line: m.line,
                    context_before: m.context_before,
                    context_after: m.context_after,
                })
                .collect(),
        }
    });
    Ok(Json(SearchPageOut {
        count: page.count,
        next: page.next,
        previous: page.previous,
        results: page.results,
        searched_devices: r.searched_devices,
        unsearchable_devices: r.unsearchable_devices,
        unreadable_devices: outcome.unreadable_devices,
        secrets_masked: outcome.masked,
    }))
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(search))]
pub(super) struct Doc;
