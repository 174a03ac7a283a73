//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use tenure_core::protocol::limits;
use tenure_core::text;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tenure license server", description = "Signed licenses for Tenure workstations."),
    paths(
        super::licensing::activate,
        super::licensing::keys,
        super::licensing::validate,
        super::licensing::extend_grace,
        super::licensing::rebind,
        super::licensing::account_licenses,
        super::admin::create_license,
        super::admin::create_account,
        super::admin::answer_offline,
        super::health,
    ),
    modifiers(&Security, &CommonErrors, &Limits)
)]
pub struct ApiDoc;

/// What a field must be, as its schema states it.
enum Limit {
    /// Text matching `pattern` (if any), of `min` to `max` characters.
    Text {
        pattern: Option<Pattern>,
        min: Option<usize>,
        max: Option<usize>,
    },
    /// A whole number from `min` to `max`.
    Number { min: u32, max: Option<u32> },
    /// A list of at most `max` items.
    Items { max: usize },
}

/// The regular expressions the limits use.
#[derive(Clone, Copy)]
enum Pattern {
    /// `tenure_core::text`'s names.
    Name,
    /// A name without a colon.
    QuantityName,
    /// Text without a forbidden character.
    FreeText,
    /// A fixed expression.
    Fixed(&'static str),
}

impl Pattern {
    fn render(self) -> String {
        match self {
            Pattern::Name => text::name_pattern(""),
            Pattern::QuantityName => text::name_pattern(":"),
            Pattern::FreeText => text::free_text_pattern(),
            Pattern::Fixed(pattern) => pattern.to_owned(),
        }
    }
}

const fn name(max: usize) -> Limit {
    Limit::Text {
        pattern: Some(Pattern::Name),
        min: Some(1),
        max: Some(max),
    }
}

const NONCE: Limit = Limit::Text {
    pattern: Some(Pattern::FreeText),
    min: Some(1),
    max: Some(limits::NONCE_CHARS),
};

const PROOF: Limit = Limit::Text {
    pattern: Some(Pattern::Fixed(limits::PROOF_PATTERN)),
    min: None,
    max: None,
};

/// Every field's limits, by schema and property: the limits the server holds each request to
/// (`tenure_core::protocol::CheckFields`) before anything else, so a body the document allows
/// is never refused for its shape (400), only by a rule it cannot state (422).
const LIMITS: &[(&str, &str, Limit)] = &[
    ("Binding", "server", name(limits::BINDING_NAME_CHARS)),
    ("Binding", "database", name(limits::BINDING_NAME_CHARS)),
    (
        "ActivationRequest",
        "key",
        Limit::Text {
            pattern: Some(Pattern::Fixed(limits::KEY_PATTERN)),
            min: None,
            max: None,
        },
    ),
    (
        "ActivationRequest",
        "holder",
        Limit::Text {
            pattern: Some(Pattern::Fixed(limits::HOLDER_PATTERN)),
            min: None,
            max: None,
        },
    ),
    ("ActivationRequest", "nonce", NONCE),
    ("ValidationRequest", "nonce", NONCE),
    ("GraceExtensionRequest", "nonce", NONCE),
    ("RebindRequest", "nonce", NONCE),
    ("ValidationRequest", "proof", PROOF),
    (
        "ValidationRequest",
        "overdraft",
        Limit::Items {
            max: limits::OVERDRAFT_DAYS,
        },
    ),
    (
        "ValidationRequest",
        "revoked_borrows",
        Limit::Items {
            max: limits::REVOKED_BORROWS,
        },
    ),
    (
        "ValidationRequest",
        "borrowed_session",
        name(limits::SESSION_ID_CHARS),
    ),
    (
        "RevokedBorrow",
        "session_id",
        name(limits::SESSION_ID_CHARS),
    ),
    ("GraceExtensionRequest", "proof", PROOF),
    ("RebindRequest", "proof", PROOF),
    (
        "ValidationRequest",
        "license_id",
        name(limits::LICENSE_ID_CHARS),
    ),
    (
        "GraceExtensionRequest",
        "license_id",
        name(limits::LICENSE_ID_CHARS),
    ),
    (
        "RebindRequest",
        "license_id",
        name(limits::LICENSE_ID_CHARS),
    ),
    (
        "GraceExtensionRequest",
        "days",
        Limit::Number {
            min: 1,
            max: Some(limits::GRACE_REQUEST_DAYS),
        },
    ),
    (
        "RebindRequest",
        "reason",
        Limit::Text {
            pattern: Some(Pattern::FreeText),
            min: None,
            max: Some(limits::REASON_CHARS),
        },
    ),
    (
        "CreateAccountRequest",
        "name",
        name(limits::ACCOUNT_NAME_CHARS),
    ),
    (
        "CreateLicenseRequest",
        "account",
        name(limits::ACCOUNT_NAME_CHARS),
    ),
    ("LicenseTerms", "customer", name(limits::CUSTOMER_CHARS)),
    (
        "LicenseTerms",
        "grace_days",
        Limit::Number { min: 1, max: None },
    ),
    ("Module", "name", name(limits::MODULE_NAME_CHARS)),
    (
        "Quantity",
        "name",
        Limit::Text {
            pattern: Some(Pattern::QuantityName),
            min: Some(1),
            max: Some(limits::QUANTITY_NAME_CHARS),
        },
    ),
    ("Quantity", "count", Limit::Number { min: 1, max: None }),
    (
        "OfflineRequestBody",
        "request",
        Limit::Text {
            pattern: None,
            min: Some(1),
            max: None,
        },
    ),
];

/// Writes [`LIMITS`] into the schemas, and the message sequence both stores keep: names are
/// refused, never trimmed, when they break the rule.
struct Limits;

impl Modify for Limits {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::Number;
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::Schema;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (schema, property, limit) in LIMITS {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema) else {
                continue;
            };
            let Some(RefOr::T(field)) = object.properties.get_mut(*property) else {
                continue;
            };
            match (limit, field) {
                (Limit::Text { pattern, min, max }, Schema::Object(field)) => {
                    field.pattern = pattern.map(Pattern::render);
                    field.min_length = *min;
                    field.max_length = *max;
                }
                (Limit::Number { min, max }, Schema::Object(field)) => {
                    field.minimum = Some(Number::UInt(*min as usize));
                    field.maximum = max.map(|m| Number::UInt(m as usize));
                }
                (Limit::Items { max }, Schema::Array(list)) => list.max_items = Some(*max),
                _ => {}
            }
        }
    }
}

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
                    add(
                        "400",
                        "the body is not valid JSON for this request, or a field breaks the limits its schema states",
                    );
                    add(
                        "422",
                        "the body keeps to its schema but breaks a rule the schema cannot state (a key's check digit, a license that ends before it starts, a request file that is not one)",
                    );
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
