//! Prometheus' view of a process: the middleware that counts every request
//! by its route template and status, and `/metrics`, served on the API's
//! listener ([`crate::router`]) and on a role's own listener
//! ([`metrics_router`], `DEVICEVAULT_METRICS_ADDR`). What is counted is
//! decided in [`devicevault_pipeline::metrics`]; this module only serves it.
//!
//! With a token configured (`DEVICEVAULT_METRICS_TOKEN`) `/metrics` needs
//! `Authorization: Bearer <token>` and is off the API's own authentication
//! (a scraper holds no user token); without one it is open.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use devicevault_db::Db;
use devicevault_notify::Secret;
use devicevault_pipeline::metrics::Metrics;
use sha2::{Digest as _, Sha256};

/// The path Prometheus scrapes.
pub const PATH: &str = "/metrics";

/// The route label of a request no route matched (never the raw path:
/// every probe of a missing page would make a series of its own).
const UNMATCHED: &str = "unmatched";

/// What `/metrics` shows and who may see it.
#[derive(Debug, Clone)]
pub struct Exposition {
    pub metrics: Arc<Metrics>,
    /// Where the fleet's figures are read (`serve` and the `api` role).
    pub db: Option<Db>,
    pub token: Option<Secret>,
}

/// Counts the request into `metrics` by method, route template and status,
/// and observes its latency (to the response's head).
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = req.method().clone();
    let response = next.run(req).await;
    metrics.http_answered(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Whether `headers` carry the token (compared as digests, so the time
/// taken says nothing about how much of it matched).
fn authorized(token: Option<&Secret>, headers: &HeaderMap) -> bool {
    let Some(token) = token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    Sha256::digest(given.as_bytes()) == Sha256::digest(token.expose().as_bytes())
}

/// `GET /metrics`: the text exposition format.
pub async fn scrape(State(e): State<Arc<Exposition>>, headers: HeaderMap) -> Response {
    if !authorized(e.token.as_ref(), &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            "a bearer token is required\n",
        )
            .into_response();
    }
    match e.metrics.exposition(e.db.as_ref()).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(prometheus_content_type()),
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "rendering the metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "rendering the metrics failed\n",
            )
                .into_response()
        }
    }
}

const fn prometheus_content_type() -> &'static str {
    "text/plain; version=0.0.4; charset=utf-8"
}

/// A router of `/metrics` alone (a role's own listener), its requests
/// counted like the API's.
pub fn metrics_router(e: Exposition) -> Router {
    let metrics = e.metrics.clone();
    Router::new()
        .route(PATH, get(scrape))
        .with_state(Arc::new(e))
        .layer(axum::middleware::from_fn_with_state(metrics, track))
}

/// Serves [`metrics_router`] on `listener` until `stop`.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    e: Exposition,
    stop: tokio_util::sync::CancellationToken,
) {
    crate::http_server::serve(
        listener,
        metrics_router(e),
        crate::http_server::HttpOptions::default(),
        stop,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_required_only_when_configured() {
        let mut h = HeaderMap::new();
        assert!(authorized(None, &h));
        let t = Secret::new("s3cret");
        assert!(!authorized(Some(&t), &h));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer wrong"),
        );
        assert!(!authorized(Some(&t), &h));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(authorized(Some(&t), &h));
    }
}
