//! The audit trail of both front ends, recorded in one place: a middleware
//! around every route.
//!
//! - A change: every `POST`, `PUT`, `PATCH` and `DELETE` that succeeded
//!   (status below 400), or that an authenticated user was refused (403).
//!   The action and the object come from the path (`POST
//!   /api/devices/12/backup_now/` is `devices.backup` of device 12; `POST
//!   /admin/devices` is `devices.create`), the fields from the JSON body or
//!   the form, secret values replaced (`app::audit::fields_of_json`); a
//!   created object's id from the answer (its `id`, or the page it
//!   redirects to).
//! - A read of a configuration: the routes in [`config_read`], when they
//!   answered 200.
//! - Sign-ins are recorded by `LoginGuard::check`, where every sign-in goes,
//!   so the login routes are left out here.
//!
//! The actor is who the route's extractor authenticated: `Authed` and the
//! web's `Session` fill the request's [`AuditSlot`].

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use devicevault_db::NewAudit;
use devicevault_pipeline::app::audit;

use crate::Shared;

/// The largest body the middleware reads to record its fields (the JSON
/// extractors' own limit).
const MAX_BODY: usize = 2 << 20;

/// Who a request is, once its extractor knows.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<Option<(String, String)>>>);

impl AuditSlot {
    /// Records the request's actor (`name`) and how it came (`via`).
    pub fn set(parts: &axum::http::request::Parts, name: &str, via: String) {
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((name.to_owned(), via));
        }
    }

    fn take(&self) -> Option<(String, String)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// A configuration read: `(object type, id, action)` for a `GET` of `path`.
pub fn config_read(path: &str) -> Option<(&'static str, Option<String>, &'static str)> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let id = |i: usize| segs.get(i).map(|s| (*s).to_owned());
    let num = |i: usize| segs.get(i).is_some_and(|s| s.parse::<i64>().is_ok());
    let found = match segs.as_slice() {
        ["api", "stored-backups", _, "download"] if num(2) => {
            ("stored-backups", id(2), "stored-backups.download")
        }
        ["api", "stored-backups", _, "diff", _] if num(2) => {
            ("stored-backups", id(2), "stored-backups.compare")
        }
        ["api", "devices", _, "diff"] if num(2) => ("devices", id(2), "devices.compare"),
        ["api", "search"] => ("search", None, "search.run"),
        ["backups", _] if num(1) => ("stored-backups", id(1), "stored-backups.view"),
        ["backups", _, "download"] if num(1) => {
            ("stored-backups", id(1), "stored-backups.download")
        }
        ["devices", _, "compare"] if num(1) => ("devices", id(1), "devices.compare"),
        ["devices", _, "compare", "diff"] if num(1) => ("devices", id(1), "devices.compare"),
        ["search"] => ("search", None, "search.run"),
        _ => return None,
    };
    Some(found)
}

/// What a change to `path` by `method` is: `(object type, id, action)`.
pub fn change_of(method: &Method, path: &str) -> (String, Option<String>, String) {
    const SPECIAL: &[(&str, &str, &str)] = &[
        ("/logout", "sessions", "sessions.logout"),
        ("/api/auth/logout/", "sessions", "sessions.logout"),
        (
            "/account/sign-out-everywhere",
            "sessions",
            "sessions.sign-out-everywhere",
        ),
        (
            "/api/auth/sign-out-everywhere/",
            "sessions",
            "sessions.sign-out-everywhere",
        ),
        ("/account/password", "users", "users.password"),
        ("/api/auth/password/", "users", "users.password"),
        ("/account/tokens", "tokens", "tokens.create"),
    ];
    if let Some((_, t, a)) = SPECIAL.iter().find(|(p, _, _)| *p == path) {
        return ((*t).to_owned(), None, (*a).to_owned());
    }
    let segs: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && !matches!(*s, "api" | "admin"))
        .collect();
    let at_id = segs.iter().position(|s| s.parse::<i64>().is_ok());
    let (kind, id, rest) = match at_id {
        Some(i) if i > 0 => (segs[i - 1], Some(segs[i].to_owned()), &segs[i + 1..]),
        _ => (
            segs.first().copied().unwrap_or("root"),
            None,
            segs.get(1..).unwrap_or(&[]),
        ),
    };
    let verb = match rest.first().copied() {
        Some("new") | None if id.is_none() && *method == Method::POST => "create".to_owned(),
        None if *method == Method::DELETE => "delete".to_owned(),
        None => "update".to_owned(),
        Some("edit") => "update".to_owned(),
        Some("backup_now") => "backup".to_owned(),
        Some(_) => rest.join("."),
    };
    (kind.to_owned(), id, format!("{kind}.{verb}"))
}

fn is_change(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The middleware (see the module's documentation).
pub async fn record(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let change = is_change(&method) && !matches!(path.as_str(), "/login" | "/api/auth/login/");
    let read = (method == Method::GET)
        .then(|| config_read(&path))
        .flatten()
        .filter(|(kind, ..)| *kind != "search" || has_query(req.uri().query()));
    if !change && read.is_none() {
        return next.run(req).await;
    }
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let address = client_ip(&req).map(|a| a.to_string());
    let (req, fields) = if change {
        match fields_of_body(req).await {
            Ok(r) => r,
            Err(refused) => return refused,
        }
    } else {
        let q = req.uri().query().unwrap_or("").to_owned();
        let fields = audit::fields_of_form(
            crate::web::session::Form::parse(q.as_bytes())
                .0
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        (req, fields)
    };
    let response = next.run(req).await;
    let status = response.status();
    let Some((actor, via)) = slot.take() else {
        // Nobody was authenticated: the request was refused before
        // reaching anything (401, a login page).
        return response;
    };
    let outcome = match status {
        s if s.as_u16() < 400 => "ok",
        StatusCode::FORBIDDEN => "denied",
        _ => return response,
    };
    if read.is_some() && status != StatusCode::OK {
        return response;
    }
    let (response, created) = created_id(response).await;
    let (object_type, object_id, action) = match read {
        Some((t, id, a)) => (t.to_owned(), id, a.to_owned()),
        None => {
            let (t, id, a) = change_of(&method, &path);
            (t, id.or(created), a)
        }
    };
    audit::record(
        &state.db,
        NewAudit {
            actor,
            via,
            address,
            action,
            object_type: Some(object_type),
            object_id,
            fields,
            outcome: outcome.into(),
        },
    )
    .await;
    response
}

fn has_query(q: Option<&str>) -> bool {
    q.is_some_and(|q| {
        crate::web::session::Form::parse(q.as_bytes())
            .0
            .iter()
            .any(|(k, v)| k == "q" && !v.is_empty())
    })
}

fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The largest body of a change to `path`: [`MAX_BODY`], but for the
/// inventory's import.
fn body_limit(path: &str) -> usize {
    if path == "/api/devices/import/" {
        devicevault_pipeline::app::import::MAX_REQUEST_BYTES
    } else {
        MAX_BODY
    }
}

/// Reads the body (to record its fields) and puts it back. A body
/// announced larger than the limit is refused before it is read.
async fn fields_of_body(req: Request) -> Result<(Request, String), Response> {
    let (parts, body) = req.into_parts();
    let limit = body_limit(parts.uri.path());
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {} MiB", limit >> 20),
        )
            .into_response()
    };
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields = if bytes.is_empty() {
        "{}".to_owned()
    } else if is_json || bytes.first() == Some(&b'{') {
        match serde_json::from_slice(&bytes) {
            Ok(v) => audit::fields_of_json(&v),
            Err(_) => serde_json::json!({"body": "(not JSON)"}).to_string(),
        }
    } else {
        let form = crate::web::session::Form::parse(&bytes);
        audit::fields_of_form(form.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), fields))
}

/// The id of what a request created: the `id` of a 201's JSON, or the id
/// in the path a form's answer redirects to.
async fn created_id(response: Response) -> (Response, Option<String>) {
    let status = response.status();
    if status == StatusCode::SEE_OTHER || status == StatusCode::FOUND {
        let id = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| {
                l.split(['/', '?'])
                    .find(|s| s.parse::<i64>().is_ok())
                    .map(str::to_owned)
            });
        return (response, id);
    }
    if status != StatusCode::CREATED {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            let id = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| match &v["id"] {
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            (Response::from_parts(parts, Body::from(bytes)), id)
        }
        Err(_) => (
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the answer could not be read",
            )
                .into_response(),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compliance_rule_changes_are_named_alike_in_both_front_ends() {
        let rules = |t: &str, id: Option<&str>, a: &str| {
            (t.to_owned(), id.map(str::to_owned), a.to_owned())
        };
        for (m, p, id, a) in [
            (Method::POST, "/api/compliance-rules/", None, "create"),
            (Method::POST, "/admin/compliance-rules", None, "create"),
            (Method::PUT, "/api/compliance-rules/4/", Some("4"), "update"),
            (
                Method::PATCH,
                "/api/compliance-rules/4/",
                Some("4"),
                "update",
            ),
            (
                Method::POST,
                "/admin/compliance-rules/4",
                Some("4"),
                "update",
            ),
            (
                Method::DELETE,
                "/api/compliance-rules/4/",
                Some("4"),
                "delete",
            ),
            (
                Method::POST,
                "/admin/compliance-rules/4/delete",
                Some("4"),
                "delete",
            ),
        ] {
            assert_eq!(
                change_of(&m, p),
                rules("compliance-rules", id, &format!("compliance-rules.{a}")),
                "{m} {p}"
            );
        }
    }

    #[test]
    fn a_change_is_named_by_its_path_in_both_front_ends() {
        let post = Method::POST;
        let c = |m: &Method, p: &str| {
            let (t, id, a) = change_of(m, p);
            (t, id, a)
        };
        let s = |t: &str, id: Option<&str>, a: &str| {
            (t.to_owned(), id.map(str::to_owned), a.to_owned())
        };
        assert_eq!(
            c(&post, "/api/devices/"),
            s("devices", None, "devices.create")
        );
        assert_eq!(
            c(&post, "/devices/new"),
            s("devices", None, "devices.create")
        );
        assert_eq!(
            c(&post, "/admin/credentials"),
            s("credentials", None, "credentials.create")
        );
        assert_eq!(
            c(&Method::PATCH, "/api/devices/12/"),
            s("devices", Some("12"), "devices.update")
        );
        assert_eq!(
            c(&post, "/devices/12/edit"),
            s("devices", Some("12"), "devices.update")
        );
        assert_eq!(
            c(&post, "/admin/credentials/3"),
            s("credentials", Some("3"), "credentials.update")
        );
        assert_eq!(
            c(&Method::DELETE, "/api/devices/12/"),
            s("devices", Some("12"), "devices.delete")
        );
        assert_eq!(
            c(&post, "/devices/12/delete"),
            s("devices", Some("12"), "devices.delete")
        );
        assert_eq!(
            c(&post, "/admin/credentials/3/delete"),
            s("credentials", Some("3"), "credentials.delete")
        );
        assert_eq!(
            c(&post, "/api/devices/12/backup_now/"),
            s("devices", Some("12"), "devices.backup")
        );
        assert_eq!(
            c(&post, "/devices/12/backup"),
            s("devices", Some("12"), "devices.backup")
        );
        // Retention (issue 17): settings and "run now", in both front ends.
        assert_eq!(
            c(&Method::PUT, "/api/backup-locations/5/retention/"),
            s("backup-locations", Some("5"), "backup-locations.retention")
        );
        assert_eq!(
            c(&post, "/api/backup-locations/5/retention/run/"),
            s(
                "backup-locations",
                Some("5"),
                "backup-locations.retention.run"
            )
        );
        assert_eq!(
            c(&post, "/admin/locations/5/retention"),
            s("locations", Some("5"), "locations.retention")
        );
        assert_eq!(
            c(&post, "/admin/locations/5/retention/run"),
            s("locations", Some("5"), "locations.retention.run")
        );
        assert_eq!(
            c(&post, "/devices/12/purge"),
            s("devices", Some("12"), "devices.purge")
        );
        assert_eq!(
            c(&post, "/admin/users/4/role"),
            s("users", Some("4"), "users.role")
        );
        assert_eq!(
            c(&Method::DELETE, "/api/tokens/9/"),
            s("tokens", Some("9"), "tokens.delete")
        );
        assert_eq!(
            c(&post, "/account/tokens/9/delete"),
            s("tokens", Some("9"), "tokens.delete")
        );
        assert_eq!(c(&post, "/logout"), s("sessions", None, "sessions.logout"));
        assert_eq!(
            c(&post, "/api/auth/password/"),
            s("users", None, "users.password")
        );
        assert_eq!(
            c(&post, "/api/notification-channels/2/test/"),
            s(
                "notification-channels",
                Some("2"),
                "notification-channels.test"
            )
        );
    }

    #[test]
    fn the_routes_that_show_a_configuration_are_reads() {
        for (path, action) in [
            ("/api/stored-backups/5/download/", "stored-backups.download"),
            ("/api/stored-backups/5/diff/4/", "stored-backups.compare"),
            ("/api/devices/2/diff/", "devices.compare"),
            ("/api/search/", "search.run"),
            ("/backups/5", "stored-backups.view"),
            ("/backups/5/download", "stored-backups.download"),
            ("/devices/2/compare", "devices.compare"),
            ("/devices/2/compare/diff", "devices.compare"),
            ("/search", "search.run"),
        ] {
            assert_eq!(config_read(path).map(|r| r.2), Some(action), "{path}");
        }
        for path in [
            "/api/stored-backups/5/",
            "/devices/2",
            "/backups/x",
            "/api/devices/",
        ] {
            assert_eq!(config_read(path), None, "{path}");
        }
    }
}
