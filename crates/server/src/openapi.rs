//! The OpenAPI 3.1 document, generated from the handlers and types. The
//! committed copy in `openapi/openapi.json` is checked against it by a test.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::handlers::{
    applications, audit, consents, contacts, erasure, events, institutions, ops, packages, regional, register, report,
    safety_net, staff, tlog, transparency, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Doorstroom broker API",
        description = "Broker for the digitaal doorstroomdossier: the transfer dossier that goes with a student from a vo school to an mbo institution. Errors are RFC 9457 application/problem+json documents.",
        license(name = "EUPL-1.2")
    ),
    paths(
        ops::healthz, ops::readyz, ops::metrics, ops::openapi,
        staff::login, staff::whoami, staff::create, staff::list, staff::deactivate, staff::reset_second_factor,
        institutions::register, institutions::list, institutions::get_one, institutions::update, institutions::jwks,
        institutions::list_keys, institutions::add_key, institutions::retire_key, institutions::revoke_key,
        institutions::list_certificates, institutions::bind_certificate, institutions::revoke_certificate,
        audit::events, audit::search,
        tlog::latest_checkpoint, tlog::sign_checkpoint, tlog::verifier_key, tlog::entries, tlog::inclusion_proof,
        tlog::consistency_proof, tlog::pruned_prefix,
        applications::register, applications::search, applications::get_one, applications::report_status,
        packages::submit, packages::intakers, packages::inbox, packages::pull, packages::acknowledge, packages::broker_jwks,
        events::events, webhooks::set, webhooks::get_one, webhooks::remove, contacts::get_one, contacts::set, safety_net::add, safety_net::remove, safety_net::at_risk, regional::figures,
        register::register_of_processing,
        consents::record_inspection, consents::give, consents::withdraw, consents::history,
        report::subject_report,
        erasure::erase,
        transparency::issue, transparency::revoke,
    ),
    components(schemas(doorstroom_api::Problem)),
    modifiers(&Security, &CommonProblems, &PathParameters, &NoControlCharacters, &StatusTransitions),
    tags(
        (name = "registry", description = "Institutions, their JOSE keys and client certificates"),
        (name = "auth", description = "Staff login and the caller's identity"),
        (name = "staff", description = "Staff accounts"),
        (name = "audit", description = "The audit log"),
        (name = "exchange", description = "Applications, dossier packages and status feedback"),
        (name = "privacy", description = "Consent, inspection and the register of processing activities"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A staff member's access token from POST /v1/auth/login. An operation that lists only this scheme is for staff; one that lists both takes either",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_certificate",
            SecurityScheme::MutualTls {
                description: Some(
                    "A TLS client certificate whose public key is bound to an active institution: a school system. An operation that lists only this scheme is for school systems"
                        .into(),
                ),
                extensions: None,
            },
        );
    }
}

/// Adds to every operation the problem answers that the broker's shared
/// layers give, whatever the handler: so that no status the broker can
/// answer with is missing from the document, without repeating them on
/// every handler. A status a handler documents itself (with its own
/// description) is kept. Which layer gives which answer:
///
/// - 400: every request target with a control character
///   ([`crate::refusals`], before routing), and a query, path parameter or
///   header that does not parse;
/// - 401: an operation with a security requirement, without usable
///   credentials ([`crate::auth`]);
/// - 403 and 404: the policy's refusal on a secured operation
///   ([`doorstroom_app::perform_in`]): 403 for a broker-wide action, 404 for a
///   record that does not exist or is not the caller's (the two are the
///   same answer);
/// - 408, 413, 415, 422: an operation that takes a body
///   ([`crate::extract`]: too slow, too large, not JSON, JSON of the wrong
///   shape or with a control character; a body that is not JSON at all is
///   400);
/// - 503: every operation that reads or writes the database (an outage,
///   or an audit event that cannot be written), except [`NO_DATABASE`].
struct CommonProblems;

/// Operations that never touch the database, so never answer 503.
const NO_DATABASE: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/audit/checkpoint/key"),
    ("get", "/v1/broker/jwks"),
    ("get", "/v1/register"),
];

/// The shared problem responses, by status: the component's name and its
/// description.
const PROBLEMS: &[(&str, &str, &str)] = &[
    (
        "400",
        "MalformedRequest",
        "Malformed request: a control character in the path or query, a parameter or header that does not parse, or a body that is not JSON",
    ),
    (
        "401",
        "Unauthenticated",
        "No usable credentials: the client certificate or bearer token is missing, unknown, expired or revoked",
    ),
    ("403", "Forbidden", "The caller may not take this broker-wide action"),
    (
        "404",
        "NotFound",
        "The record does not exist or is not the caller's to see (the two answers are identical)",
    ),
    (
        "408",
        "RequestTimeout",
        "The request body did not arrive in time; the connection is closed",
    ),
    ("413", "TooLarge", "The request body exceeds the limit"),
    (
        "415",
        "UnsupportedMediaType",
        "The request body must be application/json",
    ),
    (
        "422",
        "ValidationFailed",
        "The body is JSON of the wrong shape, a field breaks a rule, or a string holds a control character; `pointer` names the field",
    ),
    (
        "503",
        "Unavailable",
        "The database cannot be reached or the access could not be recorded in the audit log (so it did not happen); retry after `Retry-After` seconds",
    ),
];

fn problem_response(description: &str, status: &str) -> utoipa::openapi::Response {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", content);
    let header = |description: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(description))
            .build()
    };
    match status {
        "401" => response = response.header("WWW-Authenticate", header("`Bearer realm=\"doorstroom\"`")),
        "503" => response = response.header("Retry-After", header("Seconds to wait before retrying")),
        _ => {}
    }
    response.build()
}

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (status, name, description) in PROBLEMS {
            components
                .responses
                .insert((*name).to_owned(), RefOr::T(problem_response(description, status)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in operations(item) {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let takes_body = operation.request_body.is_some();
                let touches_database = !NO_DATABASE.contains(&(method, path.as_str()));
                for (status, name, _) in PROBLEMS {
                    let applies = match *status {
                        "400" => true,
                        "401" | "403" | "404" => secured,
                        "408" | "413" | "415" | "422" => takes_body,
                        "503" => touches_database || secured,
                        _ => false,
                    };
                    if applies {
                        operation
                            .responses
                            .responses
                            .entry((*status).to_owned())
                            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
                    }
                }
            }
        }
    }
}

/// The operations of a path item, with their lowercase method.
pub(crate) fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|o| (method, o)))
    .collect()
}

/// Gives every path parameter the form its parser accepts, so that a
/// generated client (or a property-based tester) knows which values are
/// refused: `brin` ([`doorstroom_domain::Brin::parse`]), `id` (a UUID),
/// `kid` (the rule of the jose crate's JWK check) and `fingerprint`
/// ([`doorstroom_domain::CertFingerprint::parse`]: 64 hex digits, colons
/// anywhere ignored); and the header `X-On-Behalf-Of` its form too (an
/// intaker's staff id, a UUID).
struct PathParameters;

impl Modify for PathParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for (_, operation) in operations(item) {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let schema = ObjectBuilder::new().schema_type(Type::String);
                    let uuid = SchemaFormat::KnownFormat(KnownFormat::Uuid);
                    let schema = match (&parameter.parameter_in, parameter.name.as_str()) {
                        (ParameterIn::Path, "brin") => schema.pattern(Some("^[0-9]{2}[A-Z]{2}$")),
                        (ParameterIn::Path, "id") => schema.format(Some(uuid)),
                        (ParameterIn::Path, "kid") => schema.pattern(Some("^[A-Za-z0-9._:-]{1,128}$")),
                        (ParameterIn::Path, "fingerprint") => schema.pattern(Some("^(:*[0-9A-Fa-f]){64}:*$")),
                        (ParameterIn::Header, "X-On-Behalf-Of") => schema.format(Some(uuid)),
                        _ => continue,
                    };
                    parameter.schema = Some(RefOr::T(schema.build().into()));
                }
            }
        }
    }
}

/// Writes the application's state machine into the description of the
/// status report, generated from the domain's own rule
/// ([`ApplicationStatus::can_move_to`]) so that the document a vendor reads
/// cannot drift from what the broker allows.
struct StatusTransitions;

impl StatusTransitions {
    const PATH: &'static str = "/v1/applications/{id}/status";

    fn table() -> String {
        use doorstroom_domain::ApplicationStatus;
        let all = ApplicationStatus::ALL;
        let header: Vec<String> = all.iter().map(|s| format!("`{}`", s.as_str())).collect();
        let mut table = format!(
            "\n\nThe moves the broker accepts (✓; = reports the current status again and changes nothing; \
             · is 409 with the rule in `detail`), from the row's status to the column's:\n\n\
             | from ↓ / to → | {} |\n|---|{}\n",
            header.join(" | "),
            ":-:|".repeat(all.len())
        );
        for from in all {
            let cells: Vec<&str> = all
                .iter()
                .map(|to| match (from == to, from.can_move_to(*to).is_ok()) {
                    (true, _) => "=",
                    (false, true) => "✓",
                    (false, false) => "·",
                })
                .collect();
            table.push_str(&format!("| `{}` | {} |\n", from.as_str(), cells.join(" | ")));
        }
        table
    }
}

impl Modify for StatusTransitions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(operation) = openapi
            .paths
            .paths
            .get_mut(Self::PATH)
            .and_then(|item| item.post.as_mut())
        {
            let description = operation.description.get_or_insert_with(String::new);
            description.push_str(&Self::table());
        }
    }
}

/// Says in the document what [`crate::extract`] refuses: no control
/// character in a query or header parameter (400), none but tab, line feed
/// and carriage return in a string of a JSON body (422). Every string
/// schema of the components and of the parameters that has no pattern,
/// format or enum of its own gets the pattern, so that a generated client
/// (or a property-based tester) knows the values are refused.
struct NoControlCharacters;

/// No control character (Unicode Cc) at all: parameters.
const NO_CONTROL: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";
/// No control character but tab, line feed and carriage return: strings in
/// JSON bodies.
const FREE_TEXT: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

impl Modify for NoControlCharacters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Ok(mut document) = serde_json::to_value(&*openapi) else {
            return;
        };
        // The problem document too: its pointer never echoes a member name
        // with a control character in it (see `extract::json_pointer`).
        for schema in document
            .pointer_mut("/components/schemas")
            .and_then(serde_json::Value::as_object_mut)
            .into_iter()
            .flat_map(|schemas| schemas.values_mut())
        {
            constrain_strings(schema, FREE_TEXT);
        }
        for item in document
            .get_mut("paths")
            .and_then(serde_json::Value::as_object_mut)
            .into_iter()
            .flat_map(|paths| paths.values_mut())
        {
            for operation in item.as_object_mut().into_iter().flat_map(|ops| ops.values_mut()) {
                if let Some(body) = operation.get_mut("requestBody") {
                    constrain_strings(body, FREE_TEXT);
                }
                for parameter in operation
                    .get_mut("parameters")
                    .and_then(serde_json::Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if parameter["in"] != "path"
                        && let Some(schema) = parameter.get_mut("schema")
                    {
                        constrain_strings(schema, NO_CONTROL);
                    }
                }
            }
        }
        if let Ok(constrained) = serde_json::from_value(document) {
            *openapi = constrained;
        }
    }
}

/// Gives every string schema in `value` without a pattern, format or enum
/// the `pattern`.
fn constrain_strings(value: &mut serde_json::Value, pattern: &str) {
    match value {
        serde_json::Value::Object(schema) => {
            let is_string = match schema.get("type") {
                Some(serde_json::Value::String(t)) => t == "string",
                Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            let constrained = ["pattern", "format", "enum", "const"]
                .iter()
                .any(|key| schema.contains_key(*key));
            if is_string && !constrained {
                schema.insert("pattern".into(), pattern.into());
            }
            for (key, child) in schema.iter_mut() {
                if key != "example" && key != "examples" && key != "default" {
                    constrain_strings(child, pattern);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| constrain_strings(item, pattern)),
        _ => {}
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    // Built once per process (the generated code and the `Modify` steps
    // walk every operation); each worker and the 405 table take a copy.
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(ApiDoc::openapi).clone()
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
