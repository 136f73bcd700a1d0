//! The stylesheet, the script and the icon, compiled into the binary and
//! served with a content hash in their URL so browsers may cache them.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::web::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::Digest as _;

pub const CSS: &str = include_str!("assets/app.css");
pub const JS: &str = include_str!("assets/app.js");
pub const ICON: &str = include_str!("assets/icon.svg");

/// The first 12 hex digits of the SHA-256 of an asset.
pub fn version(content: &'static str) -> &'static str {
    static VERSIONS: OnceLock<HashMap<usize, String>> = OnceLock::new();
    let versions = VERSIONS.get_or_init(|| {
        [CSS, JS, ICON]
            .into_iter()
            .map(|c| {
                let digest = sha2::Sha256::digest(c.as_bytes());
                let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
                (c.as_ptr() as usize, hex)
            })
            .collect()
    });
    versions
        .get(&(content.as_ptr() as usize))
        .map(String::as_str)
        .unwrap_or("0")
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The URL carries the content hash: a new build gets a new URL.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
}
