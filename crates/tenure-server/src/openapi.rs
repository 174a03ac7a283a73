//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tenure license server", description = "Signed licenses for Tenure workstations."),
    paths(
        crate::http::licensing::activate,
        crate::http::licensing::keys,
        crate::http::licensing::validate,
        crate::http::licensing::extend_grace,
        crate::http::licensing::rebind,
        crate::http::licensing::account_licenses,
        crate::http::admin::create_license,
        crate::http::admin::create_account,
        crate::http::admin::answer_offline,
        crate::http::health,
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("admin", bearer());
        components.add_security_scheme("account", bearer());
    }
}
