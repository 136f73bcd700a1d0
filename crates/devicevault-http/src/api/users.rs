//! `/api/users/`: accounts, their role, device groups and `view_secrets`
//! (administrators only). Creating, changing and deleting go through
//! `app::users`, as the web UI and the command line do.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_core::Role;
use devicevault_db::{Listed, User};
use devicevault_pipeline::app::users::{
    self as app_users, NewPassword, RightsChange, UserError, UserInput,
};
use serde::{Deserialize, Serialize};

use super::types::{ErrorBody, Paginated};
use super::{Admin, ApiError, ApiResult, PageQuery, Shared, id_of, parse_body, query_of};

type IdPath = Result<Path<i64>, PathRejection>;
type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/users/", get(list).post(create))
        .route("/api/users/{id}/", get(get_one).patch(patch).delete(delete))
}

/// A user as the API shows it (never a password hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub username: String,
    /// `admin`, `operator` or `reader`.
    #[schema(value_type = String, pattern = "^(admin|operator|reader)$")]
    pub role: Role,
    /// The device groups (ids) the user is restricted to; `null`: every
    /// device.
    pub device_groups: Option<Vec<i64>>,
    /// Sees the secrets in stored configurations (administrators always do).
    pub view_secrets: bool,
    /// `local`, `ldap` or `oidc:<provider>`.
    pub source: String,
    /// When its directory said the account was disabled or gone.
    pub disabled_at: Option<String>,
    pub created_at: String,
}

async fn user_out(state: &Shared, u: User) -> ApiResult<UserOut> {
    let device_groups = if u.restricted {
        Some(state.db.user_device_groups(u.id).await?)
    } else {
        None
    };
    Ok(UserOut {
        id: u.id,
        username: u.username,
        role: u.role,
        device_groups,
        view_secrets: u.view_secrets,
        source: u.source,
        disabled_at: u.disabled_at,
        created_at: u.created_at,
    })
}

/// A new local user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    pub username: String,
    /// At least 8 characters; never shown again.
    pub password: String,
    /// `admin`, `operator` or `reader` (the default).
    #[serde(default = "reader")]
    #[schema(value_type = String, pattern = "^(admin|operator|reader)$")]
    pub role: Role,
    /// Restrict an operator or a reader to these device groups (ids);
    /// `null` or absent: every device.
    #[serde(default)]
    pub device_groups: Option<Vec<i64>>,
    #[serde(default)]
    pub view_secrets: bool,
}

fn reader() -> Role {
    Role::Reader
}

/// A change of a user's rights: what is absent stays.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = Option<String>, pattern = "^(admin|operator|reader)$")]
    pub role: Option<Role>,
    /// Device group ids, or `null` for every device.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub device_groups: Option<Option<Vec<i64>>>,
    pub view_secrets: Option<bool>,
}

/// A field that may be `null`: present (`Some`) whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Vec<i64>>>, D::Error> {
    Option::<Vec<i64>>::deserialize(d).map(Some)
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Invalid(errors) => errors.into(),
            UserError::LastAdmin(_) => ApiError::conflict(e.to_string()),
            UserError::Db(e) => e.into(),
            UserError::Hash(_) => ApiError::internal("hash_failed", e.to_string()),
        }
    }
}

#[utoipa::path(get, path = "/api/users/", tag = "users", params(PageQuery),
    responses((status = 200, body = Paginated<UserOut>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list(
    _: Admin,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<UserOut>>> {
    let paging = super::Paging::from_query(&query_of(q)?)?;
    let all = state.db.list_users().await?;
    let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let page = paging.db();
    let mut rows = Vec::new();
    for u in all
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
    {
        rows.push(user_out(&state, u).await?);
    }
    Ok(Json(super::paginated(
        &uri,
        state.public_url.as_deref(),
        paging,
        Listed { rows, total },
        |u| u,
    )))
}

#[utoipa::path(post, path = "/api/users/", tag = "users", request_body = UserBody,
    responses((status = 201, body = UserOut), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn create(
    Admin(admin): Admin,
    State(state): State<Shared>,
    body: Bytes,
) -> ApiResult<Response> {
    let b: UserBody = parse_body(&body)?;
    let input = UserInput {
        username: b.username,
        password: NewPassword {
            password: b.password,
            confirm: None,
        },
        role: b.role,
        device_groups: b.device_groups,
        view_secrets: b.view_secrets,
    };
    let u = app_users::create(&state.db, &input).await?;
    tracing::info!(by = %admin.user.username, user = %u.username, role = %u.role, "user created through the API");
    Ok((StatusCode::CREATED, Json(user_out(&state, u).await?)).into_response())
}

#[utoipa::path(get, path = "/api/users/{id}/", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserOut), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn get_one(_: Admin, State(state): State<Shared>, id: IdPath) -> ApiResult<Json<UserOut>> {
    let u = state.db.user(id_of(id)?).await?;
    Ok(Json(user_out(&state, u).await?))
}

#[utoipa::path(patch, path = "/api/users/{id}/", tag = "users", params(("id" = i64, Path)),
    request_body = UserPatch,
    responses((status = 200, body = UserOut), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the last administrator")))]
async fn patch(
    Admin(admin): Admin,
    State(state): State<Shared>,
    id: IdPath,
    body: Bytes,
) -> ApiResult<Json<UserOut>> {
    let id = id_of(id)?;
    let p: UserPatch = parse_body(&body)?;
    let change = RightsChange {
        role: p.role,
        device_groups: p.device_groups,
        view_secrets: p.view_secrets,
    };
    let u = app_users::change_rights(&state.db, id, &change).await?;
    tracing::info!(by = %admin.user.username, user = %u.username, role = %u.role, "user's rights changed through the API");
    Ok(Json(user_out(&state, u).await?))
}

#[utoipa::path(delete, path = "/api/users/{id}/", tag = "users", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted with its tokens"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the last administrator, or yourself")))]
async fn delete(
    Admin(admin): Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    if id == admin.user.id {
        return Err(ApiError::conflict(
            "you cannot delete yourself: ask another administrator",
        ));
    }
    app_users::delete(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(list, create, get_one, patch, delete))]
pub(super) struct Doc;
