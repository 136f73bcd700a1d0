//! The REST API (axum, JSON). Every route but login and health needs
//! `Authorization: Token <token>`; changes to the inventory need an admin.
//! Errors are `{"error": "<code>", "detail": ...}`.

mod audit;
mod backups;
mod bulk;
mod compliance;
pub mod diff;
pub mod docs;
mod import;
mod inventory;
mod notifications;
mod retention;
mod schedules;
mod search;
mod tokens;
pub mod types;

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use devicevault_db::{DbError, Listed, Page, Scope, TokenInfo, TokenUse, User};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::Shared;
use devicevault_pipeline::app::auth;
use devicevault_pipeline::app::login::LoginError;

/// The API's routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/health/", get(health))
        .route("/api/auth/login/", post(login))
        .route("/api/auth/logout/", post(logout))
        .merge(audit::routes())
        .merge(import::routes())
        .merge(bulk::routes())
        .merge(inventory::routes())
        .merge(backups::routes())
        .merge(diff::routes())
        .merge(schedules::routes())
        .merge(compliance::routes())
        .merge(notifications::routes())
        .merge(retention::routes())
        .merge(search::routes())
        .merge(tokens::routes())
        .merge(docs::routes())
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

impl From<devicevault_pipeline::app::inventory::FieldErrors> for ApiError {
    fn from(e: devicevault_pipeline::app::inventory::FieldErrors) -> Self {
        Self::fields(e.0)
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

/// An unknown path under `/api/`.
pub async fn not_found_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

// ---- authentication ----------------------------------------------------------

/// The user a request's token belongs to, what it may see, and the token.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    pub scope: Scope,
    pub token: TokenInfo,
}

impl Authed {
    /// Not found unless device `device_id` is in this user's scope (an
    /// object outside it does not exist as far as the user can tell).
    pub async fn check_device(&self, state: &Shared, device_id: i64) -> ApiResult<()> {
        if state.db.device_in_scope(&self.scope, device_id).await? {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("device {device_id} not found")))
        }
    }
}

/// An authenticated administrator.
#[derive(Debug, Clone)]
pub struct Admin(pub Authed);

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
        let found = state
            .db
            .authenticate(
                &auth::token_digest(token),
                TokenUse::Api,
                devicevault_core::Timestamp::now(),
                &state.tokens,
            )
            .await?;
        match found {
            Some((user, token)) => {
                let via = match &token.name {
                    Some(name) => format!("api token {name}"),
                    None => "api login token".to_owned(),
                };
                crate::audit::AuditSlot::set(parts, &user.username, via);
                let scope = state.db.scope_of(&user).await?;
                Ok(Self { user, scope, token })
            }
            None => Err(unauthorized("invalid or expired token")),
        }
    }
}

impl FromRequestParts<Shared> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let a = Authed::from_request_parts(parts, state).await?;
        if a.user.is_admin() {
            Ok(Self(a))
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "permission_denied",
                format!("{} may read but not change the inventory", a.user.username),
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

/// A list page as `{count, next, previous, results}`. The links are
/// relative (`/api/…?page=2`), or absolute under the public URL when one is
/// configured — never built from the request's `Host` header.
pub fn paginated<T, R: Serialize>(
    uri: &Uri,
    public_url: Option<&str>,
    paging: Paging,
    listed: Listed<T>,
    render: impl Fn(T) -> R,
) -> types::Paginated<R> {
    let link = |page: i64| -> String {
        let mut query: Vec<String> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("page="))
            .map(str::to_owned)
            .collect();
        query.push(format!("page={page}"));
        let base = public_url.unwrap_or("").trim_end_matches('/');
        format!("{base}{}?{}", uri.path(), query.join("&"))
    };
    let pages = (listed.total + paging.size - 1) / paging.size;
    types::Paginated {
        count: listed.total,
        next: (paging.page < pages).then(|| link(paging.page + 1)),
        previous: (paging.page > 1).then(|| link(paging.page - 1)),
        results: listed.rows.into_iter().map(render).collect(),
    }
}

/// Answers a list route: pages the query asks for, fetched by `fetch` and
/// rendered row by row.
pub async fn list_page<T, R, Fut>(
    state: &Shared,
    q: &HashMap<String, String>,
    uri: &Uri,
    fetch: impl FnOnce(Page) -> Fut,
    render: impl Fn(T) -> R,
) -> ApiResult<Json<types::Paginated<R>>>
where
    R: Serialize,
    Fut: std::future::Future<Output = Result<Listed<T>, DbError>>,
{
    let paging = Paging::from_query(q)?;
    let listed = fetch(paging.db()).await?;
    Ok(Json(paginated(
        uri,
        state.public_url.as_deref(),
        paging,
        listed,
        render,
    )))
}

// ---- health and login --------------------------------------------------------

/// Liveness: whether the database answers. No token needed.
#[utoipa::path(get, path = "/api/health/", tag = "access", security(()),
    responses((status = 200, body = types::HealthOut), (status = 503, body = types::HealthOut)))]
async fn health(State(state): State<Shared>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(types::HealthOut {
            status: "ok".into(),
            database: "ok".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        })
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(types::HealthOut {
                status: "unavailable".into(),
                database: e.to_string(),
                version: None,
            }),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Invalid => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                e.to_string(),
            ),
            LoginError::Throttled { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "throttled", e.to_string())
            }
            LoginError::Busy { .. } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            }
            LoginError::Db(e) => e.into(),
        }
    }
}

/// An error response with a `Retry-After` header when the login can be
/// retried later.
pub(crate) fn login_refused(e: LoginError) -> Response {
    let retry = e.retry_after_secs();
    let mut r = ApiError::from(e).into_response();
    if let Some(secs) = retry
        && let Ok(v) = header::HeaderValue::from_str(&secs.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Signs in: a token that dies after `DEVICEVAULT_LOGIN_TOKEN_TTL` unused.
/// No token needed.
#[utoipa::path(post, path = "/api/auth/login/", tag = "access", security(()), request_body = Login,
    responses((status = 200, body = types::LoginOut), (status = 400, body = types::ErrorBody),
              (status = 401, body = types::ErrorBody),
              (status = 429, body = types::ErrorBody, description = "too many failures; see Retry-After"),
              (status = 503, body = types::ErrorBody, description = "busy; see Retry-After")))]
async fn login(State(state): State<Shared>, parts: Parts, body: axum::body::Bytes) -> Response {
    let Login { username, password } = match parse_body(&body) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let addr = crate::http_server::client_addr(&parts).ip();
    let user = match state
        .login
        .check(&state.db, &username, &password, addr, "api")
        .await
    {
        Ok(u) => u,
        Err(e) => return login_refused(e),
    };
    let token = match auth::issue_token(
        &state.db,
        user.id,
        devicevault_db::TokenKind::Login,
        None,
        None,
    )
    .await
    {
        Ok((_, secret)) => secret,
        Err(e) => return ApiError::from(e).into_response(),
    };
    tracing::info!(user = %user.username, address = %addr, "login");
    Json(types::LoginOut {
        token,
        is_admin: user.is_admin(),
        username: user.username,
        expires_after_idle_s: state.tokens.login_idle.as_secs(),
    })
    .into_response()
}

/// Revokes the token the request carries.
#[utoipa::path(post, path = "/api/auth/logout/", tag = "access",
    responses((status = 204, description = "revoked"), (status = 401, body = types::ErrorBody)))]
async fn logout(State(state): State<Shared>, auth: Authed) -> ApiResult<Response> {
    state
        .db
        .delete_token(Some(auth.user.id), auth.token.id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
