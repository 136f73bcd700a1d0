//! Single sign-on with OpenID Connect (issue 20): a "Sign in with <name>"
//! button per configured provider on the login page, and the two legs of
//! the authorization code flow.
//!
//! - `GET /login/oidc/{provider}` sends the browser to the provider (PKCE
//!   and a nonce: `devicevault_identity::OidcProvider::authorization_url`),
//!   keeping the `PendingLogin` in a cookie sealed with the server's
//!   [`SealingKey`] (encrypted and authenticated: the browser can neither
//!   read the PKCE verifier nor forge a pending login), `HttpOnly`,
//!   `SameSite=Lax` — the provider's redirect back is a cross-site
//!   top-level navigation, which a `Strict` cookie would not follow — and
//!   only as long as the provider's `login_timeout_secs`.
//! - `GET /login/oidc/{provider}/callback` exchanges the code, checks the
//!   ID token, applies the group mapping and records the account
//!   (`source = oidc:<provider>`: `app::directory::oidc_sign_in`), then
//!   starts a web session as the password form does, with an audit row.
//!   Failures count against the address like failed passwords
//!   (`LoginGuard`'s per-address limit), are audited and logged with their
//!   reason, and show the login page with a message that names no secret.
//!   The session cookie is `SameSite=Strict`, which a browser does not send
//!   on the redirects that follow a cross-site navigation: the callback
//!   answers with a page that moves on by itself (a same-site navigation).
//! - Signing out of a single sign-on session also goes to the provider's
//!   end-session page when it advertises one (the ID token it needs as a
//!   hint is kept in a second sealed cookie, with the session's lifetime).

use axum::Router;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine as _;
use devicevault_core::SealingKey;
use devicevault_db::NewAudit;
use devicevault_identity::{Callback, IdentityError, PendingLogin, Secret};
use devicevault_pipeline::app::directory::{self, DirectoryError};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::Path;
use super::session::{
    SESSION_LIFETIME, cookie, login_page, safe_next, secure, set_cookie, start_session,
};
use crate::Shared;

/// The pending login, between the redirect and the callback.
const PENDING_COOKIE: &str = "dv_oidc";
/// The provider and ID token of a single sign-on session, for logout.
const LOGOUT_COOKIE: &str = "dv_oidc_logout";

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/login/oidc/{provider}", get(start))
        .route("/login/oidc/{provider}/callback", get(callback))
}

/// What the pending-login cookie holds.
#[derive(Serialize, Deserialize)]
struct Pending {
    purpose: String,
    pending: PendingLogin,
    next: String,
}

/// What the logout cookie holds.
#[derive(Serialize, Deserialize)]
struct SignedIn {
    purpose: String,
    provider: String,
    username: String,
    id_token: Secret,
}

fn seal<T: Serialize>(key: &SealingKey, value: &T) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.seal(&json))
}

/// The cookie's value, if the key sealed it and it is for `purpose`.
fn open<T: for<'de> Deserialize<'de>>(
    key: &SealingKey,
    text: &str,
    purpose: &str,
    get_purpose: impl Fn(&T) -> &str,
) -> Option<T> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    let value: T = serde_json::from_slice(&key.open(&sealed).ok()?).ok()?;
    (get_purpose(&value) == purpose).then_some(value)
}

/// The "Sign in with …" buttons of the login page, one per provider.
pub(crate) fn buttons(state: &Shared, next: &str) -> Markup {
    let providers: Vec<&str> = state
        .identity
        .providers()
        .map(|p| p.name.as_str())
        .collect();
    let next = safe_next(next);
    html! {
        @if !providers.is_empty() {
            div class="login sso" {
                p class="muted" { "Or sign in with your organisation's account:" }
                div class="buttons" {
                    @for name in providers {
                        a class="button" href={ "/login/oidc/" (name) "?next=" (super::html::enc(next)) } {
                            "Sign in with " (name)
                        }
                    }
                }
            }
        }
    }
}

fn failure_page(
    state: &Shared,
    headers: &HeaderMap,
    status: StatusCode,
    message: &str,
) -> Response {
    let mut r = login_page(state, headers, "/", "", Some(message));
    *r.status_mut() = status;
    r
}

async fn start(State(state): State<Shared>, Path(name): Path<String>, parts: Parts) -> Response {
    let headers = &parts.headers;
    if let (_, Some(refused)) = client_address(&state, &parts) {
        return refused;
    }
    let provider = match state.identity.oidc(&name).await {
        Ok(p) => p,
        Err(DirectoryError::UnknownProvider(_)) => {
            return super::WebError::not_found(format!("no sign-in provider is named {name}"))
                .into_response();
        }
        Err(e) => {
            tracing::warn!(provider = %name, error = %e, "single sign-on unavailable");
            return failure_page(
                &state,
                headers,
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "{name} cannot be reached now; try again later, or sign in with a password."
                ),
            );
        }
    };
    let next = safe_next(super::query(&parts.uri).get("next")).to_owned();
    let (url, pending) = provider.authorization_url();
    let value = seal(
        &state.key,
        &Pending {
            purpose: "oidc-pending".into(),
            pending,
            next,
        },
    );
    let mut r = Redirect::to(url.as_str()).into_response();
    set_cookie(
        &mut r,
        format!(
            "{PENDING_COOKIE}={value}; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age={}{}",
            provider.config().login_timeout_secs,
            secure(&state, headers)
        ),
    );
    r
}

/// The client's address, and the answer to give it instead when it failed
/// to sign in too often lately (the login guard's per-address limit,
/// shared with the password form).
fn client_address(state: &Shared, parts: &Parts) -> (std::net::IpAddr, Option<Response>) {
    let addr = crate::http_server::client_addr(parts).ip();
    let refused = state
        .login
        .address_wait(addr)
        .map(|wait| throttled(state, &parts.headers, wait.as_secs().max(1)));
    (addr, refused)
}

fn throttled(state: &Shared, headers: &HeaderMap, secs: u64) -> Response {
    let mut r = failure_page(
        state,
        headers,
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "Too many failed sign-ins. Wait {} and try again.",
            super::html::duration_words(secs)
        ),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

/// The callback's query as the provider sent it.
fn callback_of(parts: &Parts) -> Callback {
    let q = super::query(&parts.uri);
    let opt = |k: &str| Some(q.get(k).to_owned()).filter(|v| !v.is_empty());
    Callback {
        code: opt("code").map(Secret::new),
        state: q.get("state").to_owned(),
        iss: opt("iss"),
        error: opt("error"),
        error_description: opt("error_description"),
    }
}

/// Why a callback failed, for the person (no secret in any of them).
fn message(provider: &str, e: &DirectoryError) -> String {
    match e {
        DirectoryError::NoMappedGroup { .. } => format!(
            "{provider} signed you in, but your groups give you no access to DeviceVault. \
             Ask an administrator to map one of your groups."
        ),
        DirectoryError::Db(devicevault_db::DbError::Conflict(m)) => m.clone(),
        DirectoryError::Identity(IdentityError::Denied { .. }) => {
            format!("{provider} did not sign you in.")
        }
        DirectoryError::Identity(IdentityError::CallbackMismatch(_)) => {
            "The sign-in expired or came from elsewhere. Please sign in again.".into()
        }
        _ => format!("The sign-in with {provider} failed. Please try again."),
    }
}

async fn callback(State(state): State<Shared>, Path(name): Path<String>, parts: Parts) -> Response {
    let headers = &parts.headers;
    let addr = match client_address(&state, &parts) {
        (_, Some(refused)) => return refused,
        (addr, None) => addr,
    };
    let secure = secure(&state, headers);
    let clear_pending =
        format!("{PENDING_COOKIE}=; Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=0{secure}");
    let pending = cookie(headers, PENDING_COOKIE)
        .and_then(|c| open::<Pending>(&state.key, c, "oidc-pending", |p| &p.purpose));
    let result = async {
        let pending = pending.ok_or(DirectoryError::Identity(IdentityError::CallbackMismatch(
            "no pending sign-in in this browser",
        )))?;
        let provider = state.identity.oidc(&name).await?;
        let user = provider
            .exchange(&callback_of(&parts), &pending.pending)
            .await?;
        let account = directory::oidc_sign_in(&state.db, &state.identity, &user).await;
        Ok::<_, DirectoryError>((pending.next, user, account?))
    }
    .await;
    let via = format!("oidc {name}");
    let audit = |actor: String, action: &str, outcome: &str, reason: Option<String>| NewAudit {
        actor,
        via: via.clone(),
        address: Some(addr.to_string()),
        action: action.into(),
        object_type: Some("users".into()),
        object_id: None,
        fields: reason
            .map(|r| serde_json::json!({ "reason": r }).to_string())
            .unwrap_or_else(|| "{}".into()),
        outcome: outcome.into(),
    };
    let (next, oidc_user, user) = match result {
        Ok(done) => done,
        Err(e) => {
            let transient = devicevault_core::RetryClass::is_transient(&e);
            if !transient {
                state.login.record_address_failure(addr);
            }
            tracing::warn!(provider = %name, address = %addr, reason = %e, transient, "single sign-on refused");
            let actor = match &e {
                DirectoryError::NoMappedGroup { username } => username.clone(),
                _ => format!("oidc:{name}"),
            };
            devicevault_pipeline::app::audit::record(
                &state.db,
                audit(actor, "login.failure", "failure", Some(e.to_string())),
            )
            .await;
            let status = if transient {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::UNAUTHORIZED
            };
            let mut r = failure_page(&state, headers, status, &message(&name, &e));
            set_cookie(&mut r, clear_pending);
            return r;
        }
    };
    let session = match start_session(&state, headers, user.id).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    devicevault_pipeline::app::audit::record(
        &state.db,
        audit(user.username.clone(), "login.success", "ok", None),
    )
    .await;
    tracing::info!(user = %user.username, provider = %name, address = %addr, role = %user.role, "single sign-on");
    let next = safe_next(&next).to_owned();
    let mut r = moving_on(&next, &format!("Signed in as {}.", user.username));
    set_cookie(&mut r, session);
    set_cookie(&mut r, clear_pending);
    let signed_in = seal(
        &state.key,
        &SignedIn {
            purpose: "oidc-logout".into(),
            provider: name,
            username: user.username,
            id_token: oidc_user.id_token,
        },
    );
    set_cookie(
        &mut r,
        format!(
            "{LOGOUT_COOKIE}={signed_in}; Path=/logout; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            SESSION_LIFETIME.as_secs()
        ),
    );
    r
}

/// A page that moves on to `to` by itself: after a cross-site navigation
/// (the `SameSite=Strict` session cookie is sent on the next, same-site
/// one) and after a form (whose redirects the CSP keeps on this site).
fn moving_on(to: &str, text: &str) -> Response {
    let body = html! {
        (maud::DOCTYPE)
        html {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content={ "0;url=" (to) };
                title { (text) }
            }
            body { p { (text) " " a href=(to) { "Continue" } } }
        }
    };
    (StatusCode::OK, Html(body.into_string())).into_response()
}

/// At logout: the redirect to the provider's end-session page, when the
/// session was a single sign-on of `username` and the provider has one.
pub(crate) async fn end_session(
    state: &Shared,
    headers: &HeaderMap,
    username: &str,
) -> Option<Response> {
    let signed_in = open::<SignedIn>(
        &state.key,
        cookie(headers, LOGOUT_COOKIE)?,
        "oidc-logout",
        |s| &s.purpose,
    )?;
    let clear = format!(
        "{LOGOUT_COOKIE}=; Path=/logout; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure(state, headers)
    );
    let back = state.public_url.as_ref().map(|u| format!("{u}/login"));
    let url = if signed_in.username == username {
        let provider = state.identity.oidc(&signed_in.provider).await.ok()?;
        provider.logout_url(&signed_in.id_token, back.as_deref())
    } else {
        None
    };
    // Not a redirect: the logout form's answer may not send the browser to
    // another site (the pages' CSP `form-action 'self'` covers redirects).
    let mut r = match url {
        Some(url) => moving_on(url.as_str(), "Signing out at the provider…"),
        None => Redirect::to("/login").into_response(),
    };
    set_cookie(&mut r, clear);
    Some(r)
}
