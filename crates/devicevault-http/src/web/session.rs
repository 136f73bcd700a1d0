//! Signing in and out, the session cookie, and CSRF protection.
//!
//! A session is a random token in an `HttpOnly; SameSite=Strict` cookie;
//! the database keeps only its SHA-256 (as a row of `api_tokens` marked as a
//! session, see [`devicevault_db::dashboard`]), so logging out or deleting
//! the user ends it. Sessions last [`SESSION_LIFETIME`].
//!
//! Every POST goes through [`Posted`], which refuses it unless it carries
//! the session's CSRF token (a form field or the `X-CSRF-Token` header)
//! and, when the browser says where it comes from (`Origin`,
//! `Sec-Fetch-Site`), it comes from this site. The token is a hash of the
//! session token, so it needs no storage and dies with the session. The
//! login form, which has no session yet, uses a double-submit cookie.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use devicevault_core::Timestamp;
use devicevault_db::{NewToken, TokenKind, TokenUse};
use sha2::Digest as _;

use super::html::{self, Ctx, Nav};
use super::{WebError, WebResult};
use crate::Shared;
use devicevault_pipeline::app::auth;
use devicevault_pipeline::app::login::LoginError;
use devicevault_pipeline::app::rights::{self, Right};

pub const SESSION_COOKIE: &str = "dv_session";
const LOGIN_COOKIE: &str = "dv_login";
const THEME_COOKIE: &str = "dv_theme";

/// How long a session lasts after signing in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The largest form body accepted.
const MAX_FORM: usize = 1 << 20;

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn sha256_hex(s: &str) -> String {
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The CSRF token of a session: derived from its secret, so it cannot be
/// guessed without the cookie and needs no storage.
pub fn csrf_token(session_token: &str) -> String {
    sha256_hex(&format!("devicevault web csrf\0{session_token}"))[..32].to_owned()
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn theme(headers: &HeaderMap) -> Option<&'static str> {
    match cookie(headers, THEME_COOKIE) {
        Some("dark") => Some("dark"),
        Some("light") => Some("light"),
        _ => None,
    }
}

/// `; Secure` when TLS is on, the public URL is https, or the request
/// reached us over HTTPS through a proxy.
pub(crate) fn secure(state: &Shared, headers: &HeaderMap) -> &'static str {
    let proxied_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if state.secure_cookies || proxied_https {
        "; Secure"
    } else {
        ""
    }
}

pub(crate) fn set_cookie(r: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whether the client asked for JSON (the page scripts do).
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session(pub Ctx);

/// A signed-in administrator.
#[derive(Debug, Clone)]
pub struct AdminSession(pub Ctx);

pub(crate) async fn session_of(parts: &Parts, state: &Shared) -> Result<Option<Ctx>, WebError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let found = state
        .db
        .authenticate(
            &sha256_hex(token),
            TokenUse::Session,
            Timestamp::now(),
            &state.tokens,
        )
        .await?;
    let Some((user, session)) = found else {
        return Ok(None);
    };
    crate::audit::AuditSlot::set(parts, &user.username, "web".to_owned());
    let scope = state.db.scope_of(&user).await?;
    Ok(Some(Ctx {
        user,
        scope,
        csrf: csrf_token(token),
        theme: theme(&parts.headers),
        session_id: session.id,
    }))
}

fn login_redirect(parts: &Parts) -> Response {
    if wants_json(&parts.headers) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                serde_json::json!({"error": "not_authenticated", "detail": "sign in again"}),
            ),
        )
            .into_response();
    }
    let next = if parts.method == axum::http::Method::GET {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let to = if next.is_empty() || next == "/" {
        "/login".to_owned()
    } else {
        format!("/login?next={}", html::enc(&next))
    };
    Redirect::to(&to).into_response()
}

impl FromRequestParts<Shared> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        match session_of(parts, state).await {
            Ok(Some(ctx)) => Ok(Self(ctx)),
            Ok(None) => Err(login_redirect(parts)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The answer to a user whose role does not hold `right` (`app::rights`
/// decides; this only renders its refusal).
pub fn refuse_unless(ctx: &Ctx, right: Right) -> WebResult<()> {
    rights::require(&ctx.user, right).map_err(|e| WebError::from(e).with_ctx(ctx.clone()))
}

impl FromRequestParts<Shared> for AdminSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let Session(ctx) = Session::from_request_parts(parts, state).await?;
        match refuse_unless(&ctx, Right::Administer) {
            Ok(()) => Ok(Self(ctx)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A signed-in operator or administrator (`app::rights`' `Operate`).
#[derive(Debug, Clone)]
pub struct OperatorSession(pub Ctx);

impl FromRequestParts<Shared> for OperatorSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let Session(ctx) = Session::from_request_parts(parts, state).await?;
        match refuse_unless(&ctx, Right::Operate) {
            Ok(()) => Ok(Self(ctx)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The fields of a submitted form, in order.
#[derive(Debug, Clone, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Whether a checkbox `name` was checked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && !v.is_empty())
    }
}

/// Refuses a request another site made the browser send.
fn check_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err("the request came from another site");
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let header_of = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
        // Behind a reverse proxy that rewrites Host, the browser's host is
        // in X-Forwarded-Host.
        let ours = [
            header_of(header::HOST.as_str()),
            header_of("x-forwarded-host"),
        ];
        if origin == "null" || !ours.iter().flatten().any(|h| *h == origin_host) {
            return Err("the request came from another origin");
        }
    }
    Ok(())
}

fn csrf_refused(detail: &str) -> WebError {
    WebError::new(
        StatusCode::FORBIDDEN,
        "Form refused",
        format!(
            "This form was refused because {detail}. Go back, reload the page and submit it again."
        ),
    )
}

/// A POST from a signed-in user, its CSRF token checked.
#[derive(Debug, Clone)]
pub struct Posted {
    pub ctx: Ctx,
    pub form: Form,
}

/// A POST from an administrator, its CSRF token checked.
#[derive(Debug, Clone)]
pub struct AdminPosted {
    pub ctx: Ctx,
    pub form: Form,
}

/// A POST from an operator or an administrator, its CSRF token checked.
#[derive(Debug, Clone)]
pub struct OperatorPosted {
    pub ctx: Ctx,
    pub form: Form,
}

impl FromRequest<Shared> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Session(ctx) = Session::from_request_parts(&mut parts, state).await?;
        if let Err(detail) = check_origin(&parts.headers) {
            return Err(csrf_refused(detail).with_ctx(ctx).into_response());
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| {
            WebError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form is larger than 1 MB.",
            )
            .into_response()
        })?;
        let form = Form::parse(&bytes);
        let sent = match form.get("csrf") {
            "" => parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            t => t,
        };
        if !same(sent, &ctx.csrf) {
            let detail = if sent.is_empty() {
                "it carried no security token"
            } else {
                "its security token is not this session's (it may be from before you last signed in)"
            };
            tracing::warn!(user = %ctx.user.username, path = %parts.uri.path(), "CSRF check refused a form");
            return Err(csrf_refused(detail).with_ctx(ctx).into_response());
        }
        Ok(Self { ctx, form })
    }
}

impl FromRequest<Shared> for AdminPosted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let Posted { ctx, form } = Posted::from_request(req, state).await?;
        match refuse_unless(&ctx, Right::Administer) {
            Ok(()) => Ok(Self { ctx, form }),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl FromRequest<Shared> for OperatorPosted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let Posted { ctx, form } = Posted::from_request(req, state).await?;
        match refuse_unless(&ctx, Right::Operate) {
            Ok(()) => Ok(Self { ctx, form }),
            Err(e) => Err(e.into_response()),
        }
    }
}

// ---- login and logout ---------------------------------------------------------

/// Whether `path` is a path of this site: it starts with one `/`, and
/// has no backslash and no control character (browsers drop tabs and line
/// breaks from URLs, so `/\t/evil.example` would become `//evil.example`).
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// Only a local path may follow a login, never another site.
pub(crate) fn safe_next(next: &str) -> &str {
    if is_local_path(next) && !next.starts_with("/login") {
        next
    } else {
        "/"
    }
}

/// The sign-in form: pure, from what it shows.
fn render_login(token: &str, next: &str, username: &str, error: Option<&str>) -> maud::Markup {
    maud::html! {
        div class="login" {
            h1 { "Sign in" }
            @if let Some(e) = error { (html::notice("error", e)) }
            form method="post" action="/login" class="form" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(safe_next(next));
                div class="field" {
                    label for="f-username" { "Username" }
                    input type="text" id="f-username" name="username" value=(username)
                        autocomplete="username" required autofocus;
                }
                div class="field" {
                    label for="f-password" { "Password" }
                    input type="password" id="f-password" name="password"
                        autocomplete="current-password" required;
                }
                div class="buttons" { button type="submit" class="primary" { "Sign in" } }
            }
            p class="hint" {
                "The same accounts as the REST API. Administrators change the inventory; everyone may read and press “Backup now”."
            }
        }
    }
}

pub(crate) fn login_page(
    state: &Shared,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let token = auth::random_hex(16);
    let body = maud::html! {
        (render_login(&token, next, username, error))
        (super::sso::buttons(state, next))
    };
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let page = html::page(None, theme(headers), "Sign in", Nav::None, body);
    let mut r = (status, axum::response::Html(page.into_string())).into_response();
    set_cookie(
        &mut r,
        format!(
            "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
            secure(state, headers)
        ),
    );
    r
}

pub async fn login_form(State(state): State<Shared>, parts: Parts) -> Response {
    let next = super::query(&parts.uri).get("next").to_owned();
    if let Ok(Some(_)) = session_of(&parts, &state).await {
        return Redirect::to(safe_next(&next)).into_response();
    }
    login_page(&state, &parts.headers, &next, "", None)
}

pub async fn login(State(state): State<Shared>, parts: Parts, body: Bytes) -> Response {
    let headers = &parts.headers;
    let form = Form::parse(&body);
    let next = form.get("next").to_owned();
    let username = form.get("username").trim().to_owned();
    let expected = cookie(headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !same(form.get("csrf"), expected) || check_origin(headers).is_err() {
        let mut r = login_page(
            &state,
            headers,
            &next,
            &username,
            Some("The sign-in form expired or came from elsewhere. Please sign in again."),
        );
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    let addr = crate::http_server::client_addr(&parts).ip();
    let checked = state
        .login
        .sign_in(&state.db, &username, form.get("password"), addr, "web")
        .await;
    let user = match checked {
        Ok(u) => u,
        Err(LoginError::Db(e)) => return WebError::from(e).into_response(),
        Err(e @ LoginError::Invalid) => {
            let _ = e;
            return login_page(
                &state,
                headers,
                &next,
                &username,
                Some("Unknown username or wrong password."),
            );
        }
        Err(e) => {
            // Throttled or busy: say how long to wait, with the status and
            // Retry-After a script would read.
            let retry = e.retry_after_secs().unwrap_or(1);
            let (status, message) = match e {
                LoginError::DirectoryUnavailable { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("The directory cannot be reached. Wait {retry} s and sign in again."),
                ),
                LoginError::Busy { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "The server is busy checking other sign-ins. Wait {retry} s and sign in again."
                    ),
                ),
                _ => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "Too many failed sign-ins. Wait {} and try again.",
                        html::duration_words(retry)
                    ),
                ),
            };
            let mut r = login_page(&state, headers, &next, &username, Some(&message));
            *r.status_mut() = status;
            if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
    };
    let session = match start_session(&state, headers, user.id).await {
        Ok(cookie) => cookie,
        Err(e) => return e.into_response(),
    };
    tracing::info!(user = %user.username, address = %addr, "web login");
    let mut r = Redirect::to(safe_next(&next)).into_response();
    let secure = secure(&state, headers);
    set_cookie(&mut r, session);
    set_cookie(
        &mut r,
        format!("{LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    );
    r
}

/// Starts a web session for `user_id`: its row, and the `Set-Cookie`
/// value that hands it to the browser (the password form and single
/// sign-on alike).
pub(crate) async fn start_session(
    state: &Shared,
    headers: &HeaderMap,
    user_id: i64,
) -> Result<String, WebError> {
    let token = auth::random_hex(32);
    let digest = sha256_hex(&token);
    let expires = Timestamp::from_datetime(Timestamp::now().as_datetime() + SESSION_LIFETIME);
    state
        .db
        .add_token(NewToken {
            user_id,
            digest: &digest,
            kind: TokenKind::Session,
            name: None,
            expires_at: Some(expires),
        })
        .await?;
    // Dead sessions and tokens of everyone go when someone signs in.
    if let Err(e) = state.db.prune_tokens(Timestamp::now(), &state.tokens).await {
        tracing::warn!(error = %e, "forgetting expired tokens failed");
    }
    Ok(format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_LIFETIME.as_secs(),
        secure(state, headers)
    ))
}

pub async fn logout(State(state): State<Shared>, headers: HeaderMap, p: Posted) -> Response {
    if let Err(e) = state
        .db
        .delete_token(Some(p.ctx.user.id), p.ctx.session_id)
        .await
    {
        return WebError::from(e).into_response();
    }
    tracing::info!(user = %p.ctx.user.username, "web logout");
    // A single sign-on user also leaves the provider, when it can say so.
    let mut r = super::sso::end_session(&state, &headers, &p.ctx.user.username)
        .await
        .unwrap_or_else(|| Redirect::to("/login").into_response());
    set_cookie(
        &mut r,
        format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            secure(&state, &headers)
        ),
    );
    r
}

/// Not found unless device `device_id` is in the signed-in user's scope:
/// a device outside it, and everything of it, does not exist for them —
/// the answer is word for word the one for a device that never existed.
pub async fn check_device(state: &Shared, ctx: &Ctx, device_id: i64) -> Result<(), WebError> {
    check_visible(state, ctx, device_id, format!("device {device_id}")).await
}

/// Not found, as `what` (e.g. "stored backup 7"), unless the object's
/// device `device_id` is in the user's scope: a hidden object answers
/// exactly as a missing one, naming neither its device nor its existence.
pub async fn check_visible(
    state: &Shared,
    ctx: &Ctx,
    device_id: i64,
    what: String,
) -> Result<(), WebError> {
    if state.db.device_in_scope(&ctx.scope, device_id).await? {
        Ok(())
    } else {
        Err(WebError::from(devicevault_db::DbError::NotFound { what }).with_ctx(ctx.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_follow_a_login() {
        assert_eq!(safe_next("/devices?page=2"), "/devices?page=2");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next(""), "/");
        assert_eq!(safe_next("/login?next=/x"), "/");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; dv_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, "dv_session"), Some("abc"));
        assert_eq!(cookie(&h, "dv"), None);
    }

    #[test]
    fn the_login_form_keeps_the_username_escaped_and_only_a_local_next() {
        let h =
            render_login("t0k", "https://evil.example/", r#"<x" &"#, Some("Wrong.")).into_string();
        assert!(h.contains(r#"name="next" value="/""#), "{h}");
        assert!(h.contains(r#"value="&lt;x&quot; &amp;""#), "{h}");
        assert!(h.contains(r#"role="alert">Wrong.</div>"#), "{h}");
        assert!(h.contains(r#"name="csrf" value="t0k""#), "{h}");
    }

    #[test]
    fn csrf_tokens_depend_on_the_session() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
