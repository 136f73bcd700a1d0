//! Compliance (issue 17): the rules (`/api/compliance-rules/`, admins
//! write) and each device's state under them (`GET /api/compliance/`,
//! limited to the devices in the caller's scope), through the
//! application's [`devicevault_pipeline::app::compliance`].

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_pipeline::app::compliance::{self as app_compliance, ComplianceRuleInput};
use serde_json::Value;

use super::types::{ComplianceRuleOut, ComplianceStateOut, ErrorBody, Paginated};
use super::{
    Admin, ApiError, ApiResult, Authed, PageQuery, Paging, Shared, id_of, merge_patch, paginated,
    parse_body, query_of,
};

type IdPath = Result<Path<i64>, PathRejection>;
type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/compliance/", get(states))
        .route("/api/compliance-rules/", get(list).post(create))
        .route(
            "/api/compliance-rules/{id}/",
            get(get_one).put(put).patch(patch).delete(delete),
        )
}

/// The filters of the states.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct StatesQuery {
    /// A rule's id.
    rule: Option<i64>,
    /// `compliant`, `non_compliant` or `unknown`.
    state: Option<String>,
    device_group: Option<i64>,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
}

/// Each device's state under each enabled rule, for the devices the caller
/// may see; ordered by rule, then device name.
#[utoipa::path(get, path = "/api/compliance/", tag = "compliance", params(StatesQuery),
    responses((status = 200, body = Paginated<ComplianceStateOut>),
              (status = 400, body = ErrorBody, description = "an invalid filter, by field")))]
async fn states(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<ComplianceStateOut>>> {
    let q = query_of(q)?;
    let paging = Paging::from_query(&q)?;
    let filter = app_compliance::list_filter(|name| q.get(name).cloned())?;
    let listed = state
        .db
        .list_compliance(&auth.scope, &filter, paging.db())
        .await?;
    Ok(Json(paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        listed,
        ComplianceStateOut::from,
    )))
}

#[utoipa::path(get, path = "/api/compliance-rules/", tag = "compliance", params(PageQuery),
    responses((status = 200, body = Paginated<ComplianceRuleOut>), (status = 400, body = ErrorBody)))]
async fn list(
    _: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<ComplianceRuleOut>>> {
    let q = query_of(q)?;
    let paging = Paging::from_query(&q)?;
    let listed = state.db.list_compliance_rules(paging.db()).await?;
    Ok(Json(paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        listed,
        |r| ComplianceRuleOut::of(&r),
    )))
}

#[utoipa::path(post, path = "/api/compliance-rules/", tag = "compliance",
    request_body = ComplianceRuleInput,
    responses((status = 201, body = ComplianceRuleOut),
              (status = 400, body = ErrorBody, description = "invalid fields, by field (an invalid regular expression on `pattern`)"),
              (status = 409, body = ErrorBody)))]
async fn create(_: Admin, State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let r = app_compliance::create(&state, &input(parse_body(&body)?)?).await??;
    Ok((StatusCode::CREATED, Json(ComplianceRuleOut::of(&r))).into_response())
}

#[utoipa::path(get, path = "/api/compliance-rules/{id}/", tag = "compliance",
    params(("id" = i64, Path)),
    responses((status = 200, body = ComplianceRuleOut), (status = 404, body = ErrorBody)))]
async fn get_one(
    _: Authed,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<ComplianceRuleOut>> {
    let r = state.db.compliance_rule(id_of(id)?).await?;
    Ok(Json(ComplianceRuleOut::of(&r)))
}

/// The input of a body, ignoring the read-only fields a GET shows.
fn input(v: Value) -> ApiResult<ComplianceRuleInput> {
    let v = match v {
        Value::Object(mut m) => {
            for k in ["id", "version", "created_at", "updated_at"] {
                m.remove(k);
            }
            Value::Object(m)
        }
        other => other,
    };
    serde_json::from_value(v)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

#[utoipa::path(put, path = "/api/compliance-rules/{id}/", tag = "compliance",
    params(("id" = i64, Path)), request_body = ComplianceRuleInput,
    responses((status = 200, body = ComplianceRuleOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn put(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<ComplianceRuleOut>> {
    let r = app_compliance::update(&state, id_of(id)?, &input(parse_body(&body)?)?).await??;
    Ok(Json(ComplianceRuleOut::of(&r)))
}

#[utoipa::path(patch, path = "/api/compliance-rules/{id}/", tag = "compliance",
    params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = ComplianceRuleOut), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch(
    _: Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<ComplianceRuleOut>> {
    let id = id_of(id)?;
    let current = serde_json::to_value(ComplianceRuleInput::of(
        &state.db.compliance_rule(id).await?,
    ))
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let r = app_compliance::update(&state, id, &input(merge_patch(current, &body)?)?).await??;
    Ok(Json(ComplianceRuleOut::of(&r)))
}

#[utoipa::path(delete, path = "/api/compliance-rules/{id}/", tag = "compliance",
    params(("id" = i64, Path)),
    responses((status = 204, description = "deleted, with its states"), (status = 404, body = ErrorBody)))]
async fn delete(_: Admin, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    state.db.delete_compliance_rule(id_of(id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(states, list, create, get_one, put, patch, delete))]
pub(super) struct Doc;
