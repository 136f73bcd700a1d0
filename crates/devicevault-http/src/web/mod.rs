//! The web UI, served at `/` beside the REST API by the same server.
//!
//! Server-rendered HTML with a small hand-written script and stylesheet
//! compiled into the binary ([`assets`]); pages work without the script,
//! which adds "Backup now" progress without reloads, auto-refresh, local
//! times and the theme toggle. Permissions are the API's: administrators
//! change the inventory, everyone signed in reads and presses "Backup now".
//!
//! - [`session`]: sign-in, the session cookie and CSRF checks on every POST;
//! - [`devices`]: the device list (filters, sorting and pagination in SQL),
//!   the device form, enable/disable and "Backup now";
//! - [`backups`]: a device's versions, one version, downloads, the
//!   comparison of two versions ([`diff`]) and a job's merged log;
//! - [`dashboard`]: counts, the 7-day chart (SVG drawn here), activity;
//! - [`admin`]: locations, credentials, groups, types, users and tokens.

mod account;
mod admin;
mod assets;
mod backups;
mod dashboard;
mod devices;
pub mod diff;
pub mod html;
pub mod session;

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use devicevault_db::DbError;

use crate::Shared;
use html::{Ctx, Nav, esc};
use session::Form;

/// The web UI's routes, to merge into the API's router.
pub fn routes() -> Router<Shared> {
    let pages = Router::new()
        .route("/", get(dashboard::page))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/static/{name}", get(assets::serve))
        .merge(devices::routes())
        .merge(backups::routes())
        .merge(admin::routes())
        .merge(account::routes());
    Router::new().merge(pages)
}

/// Security headers on every page, and the server time of each response
/// (`Server-Timing`, read by `devicevault bench web`).
pub async fn headers(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let is_api = req.uri().path().starts_with("/api/");
    let mut r = next.run(req).await;
    if is_api {
        return r;
    }
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
        h.insert("server-timing", v);
    }
    r
}

/// The query string as form fields.
pub fn query(uri: &Uri) -> Form {
    Form::parse(uri.query().unwrap_or("").as_bytes())
}

/// A page-level error, shown as an HTML page with its status.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    ctx: Option<Box<Ctx>>,
}

impl WebError {
    pub fn new(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            detail: detail.into(),
            ctx: None,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }

    /// Shows the page with the user's navigation.
    pub fn with_ctx(mut self, ctx: Ctx) -> Self {
        self.ctx = Some(Box::new(ctx));
        self
    }
}

impl From<DbError> for WebError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound { what } => {
                Self::not_found(format!("{what} does not exist (any more?)."))
            }
            DbError::Conflict(m) => Self::new(StatusCode::CONFLICT, "Conflict", m),
            DbError::Invalid(m) => Self::bad_request(m),
            other => {
                tracing::error!(error = %other, "database error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Database unavailable",
                    format!("The database did not answer: {other}. Try again in a moment."),
                )
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = format!(
            r#"<div class="error-page"><p class="code">{}</p><h1>{}</h1><p>{}</p><p class="links"><a href="/">Dashboard</a> · <a href="/devices">Devices</a>{}</p></div>"#,
            self.status.as_u16(),
            esc(&self.title),
            esc(&self.detail),
            if self.ctx.is_none() {
                r#" · <a href="/login">Sign in</a>"#
            } else {
                ""
            }
        );
        let page = html::page(self.ctx.as_deref(), None, &self.title, Nav::None, &body);
        (self.status, Html(page)).into_response()
    }
}

pub type WebResult<T> = Result<T, WebError>;

/// An HTML response.
pub fn html_page(ctx: &Ctx, title: &str, nav: Nav, body: &str) -> Response {
    Html(html::page(Some(ctx), None, title, nav, body)).into_response()
}

/// An unknown page.
pub async fn not_found(uri: Uri, headers: axum::http::HeaderMap) -> Response {
    let theme = session::cookie(&headers, "dv_theme").filter(|t| matches!(*t, "light" | "dark"));
    let body = format!(
        r#"<div class="error-page"><p class="code">404</p><h1>Page not found</h1><p>There is no page at <code>{}</code>.</p><p class="links"><a href="/">Dashboard</a> · <a href="/devices">Devices</a></p></div>"#,
        esc(uri.path())
    );
    (
        StatusCode::NOT_FOUND,
        Html(html::page(None, theme, "Page not found", Nav::None, &body)),
    )
        .into_response()
}
