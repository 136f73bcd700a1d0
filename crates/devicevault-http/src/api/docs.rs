//! The API's contract: an OpenAPI 3.1 document generated from the typed
//! handlers and their request and response types, served at
//! `/api/openapi.json`, and Swagger UI at `/api/docs/` (its assets are
//! compiled in, so it works offline).

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::Shared;

/// `Authorization: Token <token>` on every operation but login and health.
struct TokenAuth;

impl Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <token>`: from POST /api/auth/login/, or a named token",
            ))),
        );
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "DeviceVault",
        description = "Back up the configuration of network devices: inventory, backups, stored versions and their downloads, fleet search, compliance rules, schedules, tokens."
    ),
    paths(super::health, super::login, super::logout),
    security(("token" = [])),
    modifiers(&TokenAuth)
)]
struct Root;

/// The whole document: the root and every module's operations, each
/// operation that needs a token answering 401 (no or a dead token) and 403
/// (a right the user lacks) besides its own answers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, Response};
    let mut doc = Root::openapi();
    for part in [
        super::audit::Doc::openapi(),
        super::inventory::Doc::openapi(),
        super::import::Doc::openapi(),
        super::bulk::Doc::openapi(),
        super::backups::Doc::openapi(),
        super::diff::Doc::openapi(),
        super::schedules::Doc::openapi(),
        super::compliance::Doc::openapi(),
        super::notifications::Doc::openapi(),
        super::retention::Doc::openapi(),
        super::search::Doc::openapi(),
        super::tokens::Doc::openapi(),
        super::users::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    let error = |description: &str| -> RefOr<Response> {
        RefOr::T(
            utoipa::openapi::ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            // Anything that reads a query string or a body can refuse it.
            let takes_input = op.request_body.is_some()
                || op.parameters.as_ref().is_some_and(|ps| {
                    ps.iter().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    })
                });
            if takes_input {
                op.responses
                    .responses
                    .entry("400".into())
                    .or_insert_with(|| {
                        error("the query string or the body is malformed or invalid")
                    });
            }
            // `security(())` marks the operations open to everyone.
            let open = op.security.as_ref().is_some_and(|s| {
                s.iter()
                    .all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
            });
            if open {
                continue;
            }
            let responses = &mut op.responses.responses;
            responses
                .entry("401".into())
                .or_insert_with(|| error("no token, or an invalid or expired one"));
            responses
                .entry("403".into())
                .or_insert_with(|| error("the user lacks the right"));
        }
    }
    doc
}

/// `/api/openapi.json` and `/api/docs/`.
pub(super) fn routes() -> Router<Shared> {
    Router::from(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi()))
}
