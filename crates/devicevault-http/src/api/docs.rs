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
        description = "Back up the configuration of network devices: inventory, backups, stored versions and their downloads, schedules, tokens."
    ),
    paths(super::health, super::login, super::logout),
    security(("token" = [])),
    modifiers(&TokenAuth),
    nest(
        (path = "/", api = super::inventory::Doc),
        (path = "/", api = super::backups::Doc),
        (path = "/", api = super::schedules::Doc),
        (path = "/", api = super::tokens::Doc),
    )
)]
pub struct ApiDoc;

/// `/api/openapi.json` and `/api/docs/`.
pub(super) fn routes() -> Router<Shared> {
    Router::from(SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()))
}
