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
    modifiers(&Security, &CommonErrors)
)]
pub struct ApiDoc;

/// The answers any endpoint can give besides its own: a request that runs too long (408), a
/// database that is down (503); for a body, bad JSON (400), too large (413) or not JSON (415);
/// behind a credential, a wrong one (401). Written once here, so no endpoint can miss them.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [(&mut item.get, false), (&mut item.post, true)];
            for (operation, has_body) in operations {
                let Some(operation) = operation.as_mut() else {
                    continue;
                };
                let mut add = |code: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                add("408", "the request took too long");
                add("503", "the license server cannot reach its database");
                if has_body {
                    add("400", "the body is not valid JSON for this request");
                    add("413", "the body is larger than 64 KiB");
                    add("415", "the body is not sent as application/json");
                }
                if operation.security.is_some() {
                    add("401", "the credentials are missing or wrong");
                }
            }
        }
    }
}

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
