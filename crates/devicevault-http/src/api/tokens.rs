//! Token routes: named API tokens for scripts, a user's own password, and
//! "sign out everywhere".
//!
//! - `POST /api/tokens/ {name, expires_in_days}` makes a named token
//!   (90 days by default; `null` never expires, and only when asked);
//!   the secret is shown once, in this answer.
//! - `GET /api/tokens/` lists the caller's tokens and sessions (every
//!   user's for administrators, `?user=<id>` to narrow); secrets are not
//!   stored, so never shown.
//! - `DELETE /api/tokens/<id>/` revokes one (another user's token is "not
//!   found" unless the caller is an administrator).
//! - `POST /api/auth/password/` changes the caller's password and revokes
//!   every other token and session of theirs;
//!   `POST /api/auth/sign-out-everywhere/` revokes them without a change;
//!   `POST /api/users/<id>/sign-out-everywhere/` does it for another user
//!   (administrators).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use devicevault_db::Listed;
use serde::Deserialize;
use serde_json::Value;

use super::types::{ErrorBody, Paginated, RevokedOut, TokenOut};
use std::collections::HashMap;

use super::{Admin, ApiError, ApiResult, Authed, Shared, id_of, int_param, parse_body, query_of};
use devicevault_pipeline::app::auth;
use devicevault_pipeline::app::tokens::{
    DEFAULT_TOKEN_DAYS, check_token_name, expiry_in_days, make_named_token,
};

type IdPath = Result<Path<i64>, PathRejection>;
type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/tokens/", get(list).post(create))
        .route("/api/tokens/{id}/", delete(revoke))
        .route("/api/auth/password/", post(change_password))
        .route("/api/auth/sign-out-everywhere/", post(sign_out_everywhere))
        .route(
            "/api/users/{id}/sign-out-everywhere/",
            post(sign_out_user_everywhere),
        )
}

/// A new named token: `expires_in_days` left out is 90 days, `null` is
/// never.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
struct TokenBody {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    name: String,
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<i64>,
}

/// A password change.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct TokenListQuery {
    /// Only this user's (administrators; others always see their own).
    user: Option<i64>,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<i64>,
}

#[utoipa::path(post, path = "/api/tokens/", tag = "tokens", request_body = TokenBody,
    responses((status = 201, body = TokenOut, description = "the token, with its secret shown once"),
              (status = 400, body = ErrorBody)))]
async fn create(auth: Authed, State(state): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let v: Value = parse_body(&body)?;
    let Value::Object(m) = v else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut errors = Vec::new();
    for k in m.keys() {
        if !matches!(k.as_str(), "name" | "expires_in_days") {
            errors.push(("non_field_errors", format!("unknown field {k:?}")));
        }
    }
    let name = match m.get("name") {
        Some(Value::String(n)) => match check_token_name(n) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(("name", e));
                None
            }
        },
        _ => {
            errors.push(("name", "required: a name for the token".into()));
            None
        }
    };
    // Absent: the default lifetime; explicit null: never expires.
    let days = match m.get("expires_in_days") {
        None => Some(DEFAULT_TOKEN_DAYS),
        Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(d) => Some(d),
            None => {
                errors.push(("expires_in_days", "must be an integer or null".into()));
                Some(DEFAULT_TOKEN_DAYS)
            }
        },
    };
    let expires_at = match expiry_in_days(days) {
        Ok(e) => e,
        Err(e) => {
            errors.push(("expires_in_days", e));
            None
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let name = name.expect("checked");
    let (t, secret) = make_named_token(&state, auth.user.id, &name, expires_at).await?;
    tracing::info!(user = %auth.user.username, token = t.id, name = %name, "API token created");
    let mut out = TokenOut::from(&t);
    out.token = Some(secret);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/api/tokens/", tag = "tokens", params(TokenListQuery),
    responses((status = 200, body = Paginated<TokenOut>), (status = 400, body = ErrorBody)))]
async fn list(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Json<Paginated<TokenOut>>> {
    let q = query_of(q)?;
    let user = int_param(&q, "user")?;
    let owner = if auth.user.is_admin() {
        user
    } else {
        // A reader sees its own tokens only, whatever it asks for.
        Some(auth.user.id)
    };
    let all = state.db.list_tokens(owner).await?;
    super::list_page(
        &state,
        &q,
        &uri,
        |p| async move {
            let total = all.len() as i64;
            let rows = all
                .into_iter()
                .skip(usize::try_from(p.offset).unwrap_or(usize::MAX))
                .take(usize::try_from(p.limit).unwrap_or(0))
                .collect();
            Ok(Listed { rows, total })
        },
        |t| TokenOut::from(&t),
    )
    .await
}

#[utoipa::path(delete, path = "/api/tokens/{id}/", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204, description = "revoked"), (status = 404, body = ErrorBody)))]
async fn revoke(auth: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    let id = id_of(id)?;
    let owner = (!auth.user.is_admin()).then_some(auth.user.id);
    let t = state.db.delete_token(owner, id).await?;
    tracing::info!(user = %auth.user.username, token = t.id, owner = %t.username, "token revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the caller's password; every other token and session of the
/// caller is revoked.
#[utoipa::path(post, path = "/api/auth/password/", tag = "tokens", request_body = PasswordBody,
    responses((status = 200, body = RevokedOut), (status = 400, body = ErrorBody),
              (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn change_password(
    auth: Authed,
    State(state): State<Shared>,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> Response {
    let PasswordChange {
        current_password,
        new_password,
    } = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = auth::check_new_password(&new_password) {
        return ApiError::fields(vec![("new_password", e)]).into_response();
    }
    // The current password goes through the same throttle as a login: a
    // stolen token must not become a password-guessing oracle.
    let addr = crate::http_server::client_addr(&parts).ip();
    if let Err(e) = state
        .login
        .check(
            &state.db,
            &auth.user.username,
            &current_password,
            addr,
            "password change",
        )
        .await
    {
        return match e {
            devicevault_pipeline::app::login::LoginError::Invalid => {
                ApiError::fields(vec![("current_password", "is not your password".into())])
                    .into_response()
            }
            other => super::login_refused(other),
        };
    }
    let result = async {
        let hash = tokio::task::spawn_blocking(move || auth::hash_password(&new_password))
            .await
            .map_err(|e| ApiError::internal("hashing_failed", e.to_string()))?
            .map_err(|e| ApiError::internal("hashing_failed", e.to_string()))?;
        let revoked = state
            .db
            .change_password(auth.user.id, &hash, Some(auth.token.id))
            .await?;
        tracing::info!(user = %auth.user.username, revoked, "password changed; other tokens and sessions revoked");
        Ok::<_, ApiError>(Json(RevokedOut { revoked }).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Revokes every other token and session of the caller.
#[utoipa::path(post, path = "/api/auth/sign-out-everywhere/", tag = "tokens",
    responses((status = 200, body = RevokedOut)))]
async fn sign_out_everywhere(
    auth: Authed,
    State(state): State<Shared>,
) -> ApiResult<Json<RevokedOut>> {
    let revoked = state
        .db
        .revoke_user_tokens(auth.user.id, Some(auth.token.id))
        .await?;
    tracing::info!(user = %auth.user.username, revoked, "signed out everywhere");
    Ok(Json(RevokedOut { revoked }))
}

/// Revokes every token and session of a user (administrators).
#[utoipa::path(post, path = "/api/users/{id}/sign-out-everywhere/", tag = "tokens",
    params(("id" = i64, Path)),
    responses((status = 200, body = RevokedOut), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn sign_out_user_everywhere(
    Admin(admin): Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Json<RevokedOut>> {
    let id = id_of(id)?;
    let user = state.db.user(id).await?;
    // The administrator's own current token survives, as on the web.
    let keep = (id == admin.user.id).then_some(admin.token.id);
    let revoked = state.db.revoke_user_tokens(id, keep).await?;
    tracing::info!(admin = %admin.user.username, user = %user.username, revoked, "signed a user out everywhere");
    Ok(Json(RevokedOut { revoked }))
}

/// The operations of this module, for the OpenAPI document.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        create,
        list,
        revoke,
        change_password,
        sign_out_everywhere,
        sign_out_user_everywhere
    ),
    components(schemas(TokenBody, PasswordBody))
)]
pub(super) struct Doc;
