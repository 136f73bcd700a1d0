//! The REST API (axum, JSON). Every route but login and health needs
//! `Authorization: Token <token>`; changes to the inventory need an admin.
//! Errors are `{"error": "<code>", "detail": ...}`.

mod backups;
mod inventory;
mod schedules;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use devicevault_collect::DriverSet;
use devicevault_core::SealingKey;
use devicevault_db::{Db, DbError, Listed, Page, Scope, User};
use devicevault_storage::StorageRoots;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth;
use crate::pipeline::Pipeline;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub pipeline: Arc<dyn Pipeline>,
    pub key: SealingKey,
    pub drivers: Arc<DriverSet>,
    /// The directories locations must be under, when this process knows
    /// them (`DEVICEVAULT_STORAGE_ROOTS`); a location elsewhere is refused
    /// when it is saved, not only by the storage worker.
    pub storage_roots: Option<StorageRoots>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

pub type Shared = Arc<AppState>;

/// The API's routes.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/health/", get(health))
        .route("/api/auth/login/", post(login))
        .route("/api/auth/logout/", post(logout))
        .merge(inventory::routes())
        .merge(backups::routes())
        .merge(schedules::routes())
        .merge(crate::web::routes())
        .fallback(not_found_route)
        .with_state(state)
}

// ---- errors ----------------------------------------------------------------

/// An error response: a status, a short machine-readable code and details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<Value>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<Value>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", detail)
    }

    /// Field errors, as `{"field": ["message"]}`.
    pub fn fields(errors: Vec<(&str, String)>) -> Self {
        let mut map = serde_json::Map::new();
        for (field, message) in errors {
            let entry = map
                .entry(field.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(message.into());
            }
        }
        Self::new(StatusCode::BAD_REQUEST, "validation", Value::Object(map))
    }

    pub fn not_found(detail: impl Into<Value>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(detail: impl Into<Value>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    pub fn internal(code: &'static str, detail: impl Into<Value>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error": self.code, "detail": self.detail})),
        )
            .into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound { what } => Self::not_found(format!("{what} not found")),
            DbError::Conflict(m) => Self::conflict(m),
            DbError::Invalid(m) => Self::bad_request(m),
            other => {
                tracing::error!(error = %other, "database error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    other.to_string(),
                )
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

async fn not_found_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

// ---- authentication ----------------------------------------------------------

/// The user a request's token belongs to.
#[derive(Debug, Clone)]
pub struct Authed(pub User, pub Scope);

impl Authed {
    /// Not found unless device `device_id` is in this user's scope (an
    /// object outside it does not exist as far as the user can tell).
    pub async fn check_device(&self, state: &Shared, device_id: i64) -> ApiResult<()> {
        if state.db.device_in_scope(&self.1, device_id).await? {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("device {device_id} not found")))
        }
    }
}

/// An authenticated administrator.
#[derive(Debug, Clone)]
pub struct Admin(pub User);

fn token_of(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
        .then(|| token.trim())
}

impl FromRequestParts<Shared> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let unauthorized = |detail: &str| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                detail.to_owned(),
            )
        };
        let Some(token) = token_of(parts) else {
            return Err(unauthorized(
                "authentication credentials were not provided: send Authorization: Token <token>",
            ));
        };
        match state.db.user_by_token(&auth::token_digest(token)).await? {
            Some(user) => {
                let scope = state.db.scope_of(&user).await?;
                Ok(Self(user, scope))
            }
            None => Err(unauthorized("invalid token")),
        }
    }
}

impl FromRequestParts<Shared> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let Authed(user, _) = Authed::from_request_parts(parts, state).await?;
        if user.is_admin {
            Ok(Self(user))
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "permission_denied",
                format!("{} may read but not change the inventory", user.username),
            ))
        }
    }
}

// ---- request helpers ---------------------------------------------------------

/// Parses a JSON body into `T`, with a 400 that says what is wrong.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

/// Merges a PATCH body over the current representation.
pub fn merge_patch(mut current: Value, body: &[u8]) -> ApiResult<Value> {
    let patch: Value = parse_body(body)?;
    let (Value::Object(cur), Value::Object(patch)) = (&mut current, patch) else {
        return Err(ApiError::bad_request("a PATCH body must be a JSON object"));
    };
    for (k, v) in patch {
        cur.insert(k, v);
    }
    Ok(current)
}

/// The id of a `/{id}/` route; a non-numeric id names nothing.
pub fn id_of(path: Result<Path<i64>, PathRejection>) -> ApiResult<i64> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::not_found("no such object: ids are integers"))
}

/// Query parameters, with a 400 for a malformed query string.
pub fn query_of(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<HashMap<String, String>> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
}

/// An optional integer query parameter.
pub fn int_param(q: &HashMap<String, String>, name: &str) -> ApiResult<Option<i64>> {
    match q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::fields(vec![(name, format!("{s:?} is not an integer"))])),
    }
}

/// An optional boolean query parameter (`true/false`, `1/0`, `yes/no`).
pub fn bool_param(q: &HashMap<String, String>, name: &str) -> ApiResult<Option<bool>> {
    match q
        .get(name)
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") => Ok(None),
        Some("true" | "1" | "yes" | "on") => Ok(Some(true)),
        Some("false" | "0" | "no" | "off") => Ok(Some(false)),
        Some(other) => Err(ApiError::fields(vec![(
            name,
            format!("{other:?} is not a boolean"),
        )])),
    }
}

/// `page` (from 1) and `page_size` (1–1000, default 50).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: i64,
    pub size: i64,
}

impl Paging {
    pub fn from_query(q: &HashMap<String, String>) -> ApiResult<Self> {
        let page = int_param(q, "page")?.unwrap_or(1);
        let size = int_param(q, "page_size")?.unwrap_or(50);
        if page < 1 {
            return Err(ApiError::fields(vec![("page", "pages start at 1".into())]));
        }
        if !(1..=1000).contains(&size) {
            return Err(ApiError::fields(vec![(
                "page_size",
                "must be between 1 and 1000".into(),
            )]));
        }
        Ok(Self { page, size })
    }

    pub fn db(self) -> Page {
        Page {
            limit: self.size,
            offset: (self.page - 1).saturating_mul(self.size),
        }
    }
}

/// A list page as `{count, next, previous, results}`.
pub fn paginated<T, R: Serialize>(
    uri: &Uri,
    headers: &HeaderMap,
    paging: Paging,
    listed: Listed<T>,
    render: impl Fn(T) -> R,
) -> Value {
    let link = |page: i64| -> Value {
        let mut query: Vec<String> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("page="))
            .map(str::to_owned)
            .collect();
        query.push(format!("page={page}"));
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("http://{h}"))
            .unwrap_or_default();
        Value::String(format!("{host}{}?{}", uri.path(), query.join("&")))
    };
    let pages = (listed.total + paging.size - 1) / paging.size;
    json!({
        "count": listed.total,
        "next": if paging.page < pages { link(paging.page + 1) } else { Value::Null },
        "previous": if paging.page > 1 { link(paging.page - 1) } else { Value::Null },
        "results": listed.rows.into_iter().map(render).collect::<Vec<_>>(),
    })
}

/// Answers a list route: pages the query asks for, fetched by `fetch` and
/// rendered row by row.
pub async fn list_page<T, R, Fut>(
    q: &HashMap<String, String>,
    uri: &Uri,
    headers: &HeaderMap,
    fetch: impl FnOnce(Page) -> Fut,
    render: impl Fn(T) -> R,
) -> ApiResult<Response>
where
    R: Serialize,
    Fut: std::future::Future<Output = Result<Listed<T>, DbError>>,
{
    let paging = Paging::from_query(q)?;
    let listed = fetch(paging.db()).await?;
    Ok(axum::Json(paginated(uri, headers, paging, listed, render)).into_response())
}

// ---- health and login --------------------------------------------------------

async fn health(State(state): State<Shared>) -> Response {
    match state.db.ping().await {
        Ok(()) => axum::Json(json!({
            "status": "ok",
            "database": "ok",
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "database": e.to_string()})),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

async fn login(State(state): State<Shared>, body: axum::body::Bytes) -> ApiResult<Response> {
    let Login { username, password } = parse_body(&body)?;
    let user = state.db.user_by_name(&username).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_owned());
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    match user {
        Some(user) if ok => {
            let token = auth::new_token();
            state
                .db
                .add_token(user.id, &auth::token_digest(&token))
                .await?;
            tracing::info!(user = %user.username, "login");
            Ok(axum::Json(
                json!({"token": token, "username": user.username, "is_admin": user.is_admin}),
            )
            .into_response())
        }
        _ => {
            tracing::warn!(user = %username, "failed login");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "unable to log in with the provided username and password",
            ))
        }
    }
}

/// Revokes the token the request carries.
async fn logout(State(state): State<Shared>, _: Authed, headers: HeaderMap) -> ApiResult<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .map(|(_, t)| t.trim())
        .unwrap_or_default();
    state.db.revoke_token(&auth::token_digest(token)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
