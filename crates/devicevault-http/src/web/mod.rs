//! The web UI, served at `/` beside the REST API by the same server.
//!
//! Server-rendered HTML with a small hand-written script and stylesheet
//! compiled into the binary ([`assets`]); pages work without the script,
//! which adds "Backup now" progress without reloads, auto-refresh, local
//! times and the theme toggle. Permissions are the API's: administrators
//! change the inventory, everyone signed in reads and presses "Backup now".
//!
//! Pages are maud templates ([`html`]: the layout and shared components);
//! each is a `load` (queries, a plain struct) and a pure `render`. Forms
//! become the application's inputs (`devicevault_pipeline::app`), whose
//! validators decide what is valid; their `FieldErrors` are shown next to
//! the fields.
//!
//! - [`session`]: sign-in, the session cookie and CSRF checks on every POST;
//! - [`sso`]: single sign-on with OpenID Connect (a button per provider on
//!   the sign-in page, the redirect and the callback, logout at the
//!   provider); [`sign_in`]: `/admin/sign-in`, how people sign in;
//! - [`devices`]: the device list (filters, sorting and pagination in SQL),
//!   the device form, enable/disable and "Backup now";
//! - [`backups`]: a device's versions, one version, downloads, the
//!   comparison of two versions ([`diff`]) and a job's merged log;
//! - [`results`]: backup results by time range, outcome and device (the
//!   API's filter and validator); the dashboard's cards open it;
//! - [`search`]: the fleet search (the API's parameters as a form), its
//!   matches linking to the line of the version;
//! - [`compliance`]: each compliance rule's counts and the devices' states
//!   (by default the non-compliant ones), linking to the device and version;
//! - [`dashboard`]: counts, the 7-day chart (SVG drawn here), activity;
//! - [`admin`]: one table of kinds (locations, credentials, collection
//!   groups, device groups, device types, users, tokens, archived devices)
//!   with one set of pages, and a user's page;
//! - [`account`]: the signed-in user's password and tokens.

mod account;
mod admin;
mod assets;
mod backups;
mod compliance;
mod dashboard;
mod devices;
pub mod diff;
pub mod html;
mod results;
mod search;
pub mod session;
mod sign_in;
mod sso;
pub mod zone;

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use devicevault_db::DbError;
use maud::{Markup, html};

use crate::Shared;
use html::{Ctx, Nav};
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
        .merge(results::routes())
        .merge(search::routes())
        .merge(compliance::routes())
        .merge(admin::routes())
        .merge(account::routes())
        .merge(sso::routes())
        .merge(sign_in::routes());
    Router::new().merge(pages)
}

/// Security headers on every page, and the server time of each response
/// (`Server-Timing`, read by `devicevault bench web`).
pub async fn headers(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let is_api = req.uri().path().starts_with("/api/");
    let tz = zone::of(req.headers());
    let mut r = zone::scope(tz, next.run(req)).await;
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
#[derive(Debug, Clone)]
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

impl From<devicevault_pipeline::app::rights::Denied> for WebError {
    fn from(e: devicevault_pipeline::app::rights::Denied) -> Self {
        use devicevault_pipeline::app::rights::Denied;
        match e {
            Denied::Hidden { .. } => Self::not_found(format!("{e}.")),
            Denied::Role { needed, .. } => Self::new(
                StatusCode::FORBIDDEN,
                match needed {
                    devicevault_core::Role::Admin => "Administrators only",
                    _ => "Operators and administrators only",
                },
                format!("{e}."),
            ),
            Denied::Reach { .. } => {
                Self::new(StatusCode::FORBIDDEN, "Not allowed", format!("{e}."))
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        // Rendered by `error_pages`, which knows the reader and where they
        // came from.
        let mut r = self.status.into_response();
        r.extensions_mut().insert(Unrendered(Box::new(self)));
        r
    }
}

/// An error page not rendered yet (see [`error_pages`]).
#[derive(Debug, Clone)]
struct Unrendered(Box<WebError>);

/// Renders every error page, for whoever is asking: a signed-in user gets
/// the navigation and their theme and no "Sign in" link, anyone else the
/// sign-in link; and a way back to the page of this site they came from.
/// So every error page (an unknown page, a path parameter that does not
/// parse, a missing object, a refused request) has one style and no dead
/// end.
pub async fn error_pages(
    axum::extract::State(state): axum::extract::State<Shared>,
    req: Request,
    next: Next,
) -> Response {
    let mut parts = Request::new(()).into_parts().0;
    for c in req.headers().get_all(header::COOKIE) {
        parts.headers.append(header::COOKIE, c.clone());
    }
    let back = came_from(req.headers());
    let mut r = next.run(req).await;
    let Some(Unrendered(e)) = r.extensions_mut().remove::<Unrendered>() else {
        return r;
    };
    let ctx = match e.ctx {
        Some(ctx) => Some(*ctx),
        None => session::session_of(&parts, &state).await.ok().flatten(),
    };
    let theme = session::cookie(&parts.headers, "dv_theme");
    let body = error_page(
        e.status,
        &e.title,
        html! { (e.detail) },
        ctx.is_none(),
        back.as_deref(),
    );
    let page = html::page(ctx.as_ref(), theme, &e.title, Nav::None, body);
    let mut page = (e.status, Html(page.into_string())).into_response();
    // Whatever the handler set (e.g. a `Retry-After`) stays.
    for (name, value) in r.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().insert(name.clone(), value.clone());
        }
    }
    page
}

/// The path of the page of this site a request came from (its `Referer`,
/// when that is this host), to offer a way back.
fn came_from(headers: &axum::http::HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let uri: Uri = referer.parse().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if uri.authority().map(|a| a.as_str()) != Some(host) {
        return None;
    }
    let path = uri.path_and_query()?.as_str();
    (path.starts_with('/') && !path.starts_with("//")).then(|| path.to_owned())
}

/// A typed path parameter of a page: one that does not parse (`/devices/abc`)
/// is a page that does not exist, answered with the 404 page.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, WebError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(_) => Err(page_not_found(parts.uri.path())),
        }
    }
}

fn page_not_found(path: &str) -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "Page not found",
        format!("There is no page at {path}."),
    )
}

/// The body of an error page: the status, what went wrong, ways on.
fn error_page(
    status: StatusCode,
    title: &str,
    detail: Markup,
    anonymous: bool,
    back: Option<&str>,
) -> Markup {
    html! {
        div class="error-page" {
            p class="code" { (status.as_u16()) }
            h1 { (title) }
            p { (detail) }
            p class="links" {
                @if let Some(back) = back { a href=(back) { "Back" } " · " }
                a href="/" { "Dashboard" } " · " a href="/devices" { "Devices" }
                @if anonymous { " · " a href="/login" { "Sign in" } }
            }
        }
    }
}

pub type WebResult<T> = Result<T, WebError>;

/// An HTML page of a signed-in user, with its status.
pub fn html_page(ctx: &Ctx, status: StatusCode, title: &str, nav: Nav, body: Markup) -> Response {
    let page = html::page(Some(ctx), None, title, nav, body);
    (status, Html(page.into_string())).into_response()
}

/// 422 when a form came back with errors, 200 otherwise.
pub fn form_status(errors: &devicevault_pipeline::app::inventory::FieldErrors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// An unknown page.
pub async fn not_found(uri: Uri) -> Response {
    page_not_found(uri.path()).into_response()
}
