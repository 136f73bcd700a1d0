//! DeviceVault's HTTP front ends, siblings over one state: the REST API
//! ([`api`]) and the web UI ([`web`]), merged by [`router`]; and the
//! listener ([`http_server`]: TLS, connection cap, header-read timeout).
//! Both front ends call the application layer
//! ([`devicevault_pipeline::app`]); neither imports the other's modules.

pub mod api;
pub mod audit;
pub mod http_server;
pub mod metrics;
pub mod web;

use std::sync::Arc;

use axum::Router;
use devicevault_pipeline::app::App;

/// What every handler can reach: the application, and how the server names
/// itself to clients.
#[derive(Debug)]
pub struct AppState {
    pub app: Arc<App>,
    /// `DEVICEVAULT_PUBLIC_URL`: absolute links start with it; without it,
    /// links are relative (never built from the request's `Host`).
    pub public_url: Option<String>,
    /// Cookies are `Secure`: TLS is on or the public URL is https.
    pub secure_cookies: bool,
    /// `DEVICEVAULT_METRICS_TOKEN`: the bearer token `/metrics` requires.
    pub metrics_token: Option<devicevault_notify::Secret>,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

pub type Shared = Arc<AppState>;

/// Says whether a downloaded configuration had its secrets masked.
pub const MASKED_HEADER: &str = "x-devicevault-secrets-masked";

/// The API's and the web UI's routes, one router. Unknown paths answer in
/// the format of their front end (JSON under `/api/`, a page elsewhere);
/// the web UI's security headers go on every page, and the audit trail
/// records what every request changed or read (`audit`). `/metrics` is
/// Prometheus' (its own token, not a user's), and every request is counted
/// by route and status (`metrics`).
pub fn router(state: Shared) -> Router {
    let exposition = metrics::Exposition {
        metrics: state.app.metrics.clone(),
        db: Some(state.app.db.clone()),
        token: state.metrics_token.clone(),
    };
    api::routes()
        .merge(web::routes())
        .merge(
            Router::new()
                .route(metrics::PATH, axum::routing::get(metrics::scrape))
                .with_state(Arc::new(exposition)),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::error_pages,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        .layer(axum::middleware::from_fn(web::headers))
        .layer(axum::middleware::from_fn_with_state(
            state.app.metrics.clone(),
            metrics::track,
        ))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if uri.path().starts_with("/api/") {
        api::not_found_route(uri).await.into_response()
    } else {
        web::not_found(uri).await
    }
}

/// The listener's TLS and limits from the settings (the certificate is
/// read here, so a bad one stops the start with its reason).
pub fn http_options(
    s: &devicevault_pipeline::Settings,
) -> Result<crate::http_server::HttpOptions, crate::http_server::TlsError> {
    Ok(crate::http_server::HttpOptions {
        tls: s.tls.as_ref().map(http_server::load_tls).transpose()?,
        max_connections: s.max_connections,
        header_read_timeout: s.header_read_timeout,
    })
}

/// Serves the API and the web UI until `stop`, and every hour meanwhile
/// forgets dead tokens and stale failed-login records and prunes the audit
/// log past its retention.
pub async fn serve(
    state: Shared,
    listener: tokio::net::TcpListener,
    opts: crate::http_server::HttpOptions,
    stop: tokio_util::sync::CancellationToken,
) {
    let housekeeping = {
        let (db, policy, stop) = (state.db.clone(), state.tokens, stop.clone());
        let (key, retention) = (state.key.clone(), state.audit_retention);
        tokio::spawn(async move {
            loop {
                let now = devicevault_core::Timestamp::now();
                if let Err(e) = db.prune_tokens(now, &policy).await {
                    tracing::warn!(error = %e, "forgetting expired tokens failed");
                }
                let day_ago = devicevault_core::Timestamp::from_datetime(
                    now.as_datetime() - time::Duration::DAY,
                );
                if let Err(e) = db.prune_login_throttle(day_ago).await {
                    tracing::warn!(error = %e, "forgetting old failed logins failed");
                }
                match devicevault_pipeline::app::audit::prune(&db, &key, retention, now).await {
                    Ok(0) => {}
                    Ok(rows) => tracing::info!(rows, "audit log pruned"),
                    Err(e) => tracing::error!(error = %e, "pruning the audit log failed"),
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                }
            }
        })
    };
    // The search cache: rebuilt now, then kept current.
    let search = tokio::spawn(devicevault_pipeline::app::search::keep_current(
        state.app.clone(),
        stop.clone(),
    ));
    // Directory accounts: checked again every `refresh_interval_secs`.
    let directory = tokio::spawn(devicevault_pipeline::app::directory::keep_checking(
        state.db.clone(),
        state.app.identity.clone(),
        stop.clone(),
    ));
    crate::http_server::serve(listener, router(state), opts, stop).await;
    let _ = directory.await;
    let _ = housekeeping.await;
    let _ = search.await;
}
