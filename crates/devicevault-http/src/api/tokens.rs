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

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use devicevault_db::{Listed, TokenInfo};
use serde::Deserialize;
use serde_json::{Value, json};
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

fn token_json(t: &TokenInfo) -> Value {
    json!({
        "id": t.id,
        "user": t.user_id,
        "username": t.username,
        "kind": t.kind.as_str(),
        "name": t.name,
        "created_at": t.created_at,
        "last_used_at": t.last_used_at,
        "expires_at": t.expires_at,
    })
}

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
    let mut v = token_json(&t);
    v["token"] = Value::String(secret);
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn list(
    auth: Authed,
    State(state): State<Shared>,
    q: QueryMap,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query_of(q)?;
    let user = int_param(&q, "user")?;
    let owner = if auth.user.is_admin {
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
        |t| token_json(&t),
    )
    .await
}

async fn revoke(auth: Authed, State(state): State<Shared>, id: IdPath) -> ApiResult<Response> {
    let id = id_of(id)?;
    let owner = (!auth.user.is_admin).then_some(auth.user.id);
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
        Ok::<_, ApiError>(axum::Json(json!({"revoked": revoked})).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn sign_out_everywhere(auth: Authed, State(state): State<Shared>) -> ApiResult<Response> {
    let revoked = state
        .db
        .revoke_user_tokens(auth.user.id, Some(auth.token.id))
        .await?;
    tracing::info!(user = %auth.user.username, revoked, "signed out everywhere");
    Ok(axum::Json(json!({"revoked": revoked})).into_response())
}

async fn sign_out_user_everywhere(
    Admin(admin): Admin,
    State(state): State<Shared>,
    id: IdPath,
) -> ApiResult<Response> {
    let id = id_of(id)?;
    let user = state.db.user(id).await?;
    // The administrator's own current token survives, as on the web.
    let keep = (id == admin.user.id).then_some(admin.token.id);
    let revoked = state.db.revoke_user_tokens(id, keep).await?;
    tracing::info!(admin = %admin.user.username, user = %user.username, revoked, "signed a user out everywhere");
    Ok(axum::Json(json!({"revoked": revoked})).into_response())
}
