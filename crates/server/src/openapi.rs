//! The OpenAPI 3.1 document, generated from the handlers and types. The
//! committed copy in `openapi/openapi.json` is checked against it by a test.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers::{
    applications, audit, consents, erasure, institutions, ops, packages, register, report, staff, tlog,
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
        register::register_of_processing,
        consents::record_inspection, consents::give, consents::withdraw, consents::history,
        report::subject_report,
        erasure::erase,
    ),
    modifiers(&Security),
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
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_certificate",
            SecurityScheme::MutualTls {
                description: Some("A TLS client certificate whose public key is bound to an active institution".into()),
                extensions: None,
            },
        );
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
