//! Every refusal on the record, decided once for every route.
//!
//! Most refusals are audited where they happen: the policy's in
//! [`crate::access::run`], an unreadable body in
//! [`crate::access::body_or_reject`], a failed authentication in
//! [`crate::auth`]. What is left are answers given before a handler could
//! record them: a path or query with a control character, a query
//! parameter that does not parse (an extractor fails before the caller is
//! even established), a value a handler checks before its access. This
//! middleware closes that gap for every API route that takes credentials
//! ([`ROUTES`]):
//!
//! - a request target with a control character (see
//!   [`crate::extract::TextKind`]) is refused with 400 before any
//!   extractor or handler runs;
//! - any 4xx answer but 401 for which no audit event of the request was
//!   written is recorded as an attempt at the route's action (`denied` for
//!   a 403, `rejected` otherwise, the problem's slug as the reason), in
//!   the name of the caller — established here if the handler never got
//!   to it. An anonymous caller gets 401 and the usual `unauthenticated`
//!   event instead of the 400: who calls is settled before what is asked;
//! - if the event cannot be written, the answer becomes 503.
//!
//! Public routes (probes, published keys, the OpenAPI document, the
//! register of processing, the checkpoint and its key, login with its own
//! audit) and the console's HTML pages (own session, own audit through
//! the same use-case functions) are not in [`ROUTES`].

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};
use doorstroom_domain::{Action, Purpose, ResourceRef};

use crate::access::reject;
use crate::auth::{Accept, Caller, authenticate};
use crate::error::ApiError;
use crate::extract::check_request_target;
use crate::state::AppState;

/// One API route that takes credentials: what an attempt at it is recorded
/// as, and the credentials its handler takes.
#[derive(Debug, Clone, Copy)]
pub struct AuditedRoute {
    pub method: &'static str,
    /// The route pattern as in the OpenAPI document.
    pub path: &'static str,
    pub action: Action,
    pub(crate) accept: Accept,
}

const fn route(method: &'static str, path: &'static str, action: Action, accept: Accept) -> AuditedRoute {
    AuditedRoute {
        method,
        path,
        action,
        accept,
    }
}

use Accept::{Any, System};
use doorstroom_domain::ResourceKind;

/// Every API route that takes credentials. A unit test holds this list and
/// the OpenAPI document's secured operations to each other, so a new route
/// cannot be forgotten.
pub const ROUTES: &[AuditedRoute] = &[
    route("GET", "/v1/whoami", Action::WhoAmI, Any),
    route("POST", "/v1/staff", Action::CreateStaff, Any),
    route("GET", "/v1/staff", Action::ListStaff, Any),
    route("POST", "/v1/staff/{id}/deactivate", Action::ManageStaff, Any),
    route("POST", "/v1/staff/{id}/second-factor", Action::ManageStaff, Any),
    route("POST", "/v1/institutions", Action::RegisterInstitution, Any),
    route("GET", "/v1/institutions", Action::ListInstitutions, Any),
    route("GET", "/v1/institutions/{brin}", Action::ReadInstitution, Any),
    route("PATCH", "/v1/institutions/{brin}", Action::UpdateInstitution, Any),
    route("GET", "/v1/institutions/{brin}/keys", Action::ReadCredentials, Any),
    route("POST", "/v1/institutions/{brin}/keys", Action::ManageKeys, Any),
    route(
        "POST",
        "/v1/institutions/{brin}/keys/{kid}/retire",
        Action::ManageKeys,
        Any,
    ),
    route(
        "POST",
        "/v1/institutions/{brin}/keys/{kid}/revoke",
        Action::ManageKeys,
        Any,
    ),
    route(
        "GET",
        "/v1/institutions/{brin}/certificates",
        Action::ReadCredentials,
        Any,
    ),
    route(
        "POST",
        "/v1/institutions/{brin}/certificates",
        Action::ManageCertificates,
        Any,
    ),
    route(
        "POST",
        "/v1/institutions/{brin}/certificates/{fingerprint}/revoke",
        Action::ManageCertificates,
        Any,
    ),
    route("GET", "/v1/audit/events", Action::ReadAuditLog, Any),
    route("POST", "/v1/audit/search", Action::ReadAuditLog, Any),
    route("POST", "/v1/audit/subject-report", Action::ReadAuditLog, Any),
    route("POST", "/v1/audit/checkpoint", Action::ReadAuditLog, Any),
    route("GET", "/v1/audit/entries", Action::ReadAuditLog, Any),
    route("GET", "/v1/audit/proofs/inclusion", Action::ReadAuditLog, Any),
    route("GET", "/v1/audit/proofs/consistency", Action::ReadAuditLog, Any),
    route("GET", "/v1/audit/pruned", Action::ReadAuditLog, Any),
    route("POST", "/v1/applications", Action::RegisterApplication, System),
    route("POST", "/v1/applications/search", Action::FindApplications, System),
    route("GET", "/v1/applications/{id}", Action::ReadApplication, Any),
    route("POST", "/v1/applications/{id}/status", Action::ReportStatus, Any),
    route("POST", "/v1/packages", Action::SubmitPackage, System),
    route("GET", "/v1/institutions/{brin}/intakers", Action::ListIntakers, System),
    route("GET", "/v1/inbox", Action::ListInbox, Any),
    route("GET", "/v1/events", Action::ReadEvents, System),
    route(
        "PUT",
        "/v1/institutions/{brin}/webhook",
        Action::ManageCertificates,
        Any,
    ),
    route("GET", "/v1/institutions/{brin}/webhook", Action::ReadCredentials, Any),
    route(
        "DELETE",
        "/v1/institutions/{brin}/webhook",
        Action::ManageCertificates,
        Any,
    ),
    route("GET", "/v1/institutions/{brin}/contact", Action::ReadInstitution, Any),
    route(
        "POST",
        "/v1/cohorts/{school_year}/students",
        Action::ManageCohort,
        System,
    ),
    route(
        "DELETE",
        "/v1/cohorts/{school_year}/students/{reference}",
        Action::ManageCohort,
        System,
    ),
    route(
        "GET",
        "/v1/cohorts/{school_year}/at-risk",
        Action::ReadSafetyNet,
        System,
    ),
    route("GET", "/v1/regions/{region}/figures", Action::ReadRegionalFigures, Any),
    route(
        "PUT",
        "/v1/institutions/{brin}/contact",
        Action::ManageCertificates,
        Any,
    ),
    route("GET", "/v1/packages/{id}", Action::PullPackage, Any),
    route("POST", "/v1/packages/{id}/acknowledge", Action::AcknowledgePackage, Any),
    route("POST", "/v1/inspections", Action::RecordInspection, System),
    route("POST", "/v1/consents", Action::RecordConsent, System),
    route("POST", "/v1/consents/withdraw", Action::RecordConsent, System),
    route("POST", "/v1/consents/history", Action::ReadConsentHistory, Any),
    route("POST", "/v1/erasures", Action::EraseStudent, Any),
    route("POST", "/v1/transparency-links", Action::IssueTransparencyLink, System),
    route(
        "DELETE",
        "/v1/transparency-links/{id}",
        Action::RevokeTransparencyLink,
        System,
    ),
];

/// The audited route `method` `pattern` names, if it is one.
pub fn audited_route(method: &Method, pattern: &str) -> Option<&'static AuditedRoute> {
    ROUTES.iter().find(|r| r.path == pattern && r.method == method.as_str())
}

/// The purpose an attempt at `action` is recorded with, as its handler
/// records it.
fn purpose_of(action: Action) -> Purpose {
    match action {
        Action::WhoAmI => Purpose::Authentication,
        Action::ReadAuditLog | Action::EraseStudent | Action::PurgeExpired => Purpose::Supervision,
        Action::RecordInspection | Action::RecordConsent | Action::ReadConsentHistory => Purpose::Intake,
        action if action.is_exchange() => Purpose::Intake,
        _ => Purpose::Administration,
    }
}

/// Middleware: see the module's documentation.
pub async fn audit_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let route = req
        .match_pattern()
        .and_then(|pattern| audited_route(req.method(), &pattern));
    if let Err(refusal) = check_request_target(req.path(), req.query_string()) {
        let (http_req, _) = req.into_parts();
        let refusal = match route {
            Some(route) => record(&http_req, route, refusal).await,
            None => refusal,
        };
        let response = refusal.error_response();
        return Ok(ServiceResponse::new(http_req, response));
    }
    let res = next.call(req).await?;
    let Some(route) = route else {
        return Ok(res.map_into_boxed_body());
    };
    let status = res.status();
    if !status.is_client_error() || status == StatusCode::UNAUTHORIZED {
        return Ok(res.map_into_boxed_body());
    }
    let known = res.request().extensions().get::<Caller>().cloned();
    if known.as_ref().is_some_and(|caller| caller.audited.is_set()) {
        return Ok(res.map_into_boxed_body());
    }
    let refusal = res
        .response()
        .error()
        .and_then(|err| err.as_error::<ApiError>())
        .cloned()
        .unwrap_or_else(|| by_status(status));
    let http_req = res.request().clone();
    let recorded = record(&http_req, route, refusal).await;
    if recorded.status_code() == status {
        Ok(res.map_into_boxed_body())
    } else {
        // The event could not be written (503), or the caller turned out
        // to be anonymous (401): that answer instead.
        Ok(ServiceResponse::new(http_req, recorded.error_response()))
    }
}

/// Records `refusal` as an attempt at `route`'s action by the request's
/// caller, establishing the caller if no extractor did; returns the answer
/// to give.
async fn record(req: &HttpRequest, route: &AuditedRoute, refusal: ApiError) -> ApiError {
    let known = req.extensions().get::<Caller>().cloned();
    let caller = match known {
        Some(caller) => caller,
        None => match authenticate(req.clone(), route.accept).await {
            Ok(caller) => caller,
            // Already recorded as `unauthenticated` (or 503).
            Err(err) => return err,
        },
    };
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return ApiError::Internal("application state missing".into());
    };
    let target = ResourceRef::new(ResourceKind::Route, Some(format!("{} {}", route.method, route.path)));
    reject(state, &caller, route.action, target, purpose_of(route.action), refusal).await
}

/// A refusal that did not come from [`ApiError`] (actix's own), by status.
fn by_status(status: StatusCode) -> ApiError {
    match status {
        StatusCode::FORBIDDEN => ApiError::Forbidden,
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit: 0 },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Invalid {
            detail: String::new(),
            pointer: None,
        },
        _ => ApiError::Malformed {
            detail: String::new(),
            pointer: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The routes here and the OpenAPI document's operations that name a
    /// security requirement are the same set, with the same credentials.
    #[test]
    fn every_secured_route_is_audited_and_no_other() {
        let doc = crate::openapi::document();
        let mut secured = BTreeSet::new();
        let mut public = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            let operations = [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let schemes: BTreeSet<String> = operation
                    .security
                    .iter()
                    .flatten()
                    .filter_map(|req| serde_json::to_value(req).ok())
                    .filter_map(|v| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
                    .flatten()
                    .collect();
                if schemes.is_empty() {
                    public.insert((method.to_owned(), path.clone()));
                } else {
                    let accept = if schemes.contains("bearer") { Any } else { System };
                    secured.insert((method.to_owned(), path.clone(), format!("{accept:?}")));
                }
            }
        }
        let listed: BTreeSet<(String, String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned(), format!("{:?}", r.accept)))
            .collect();
        assert_eq!(
            listed, secured,
            "ROUTES and the OpenAPI document's secured operations differ"
        );
        assert_eq!(listed.len(), ROUTES.len(), "a route is listed twice");
        for (method, path) in public {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert!(audited_route(&method, &path).is_none(), "{path} is public");
        }
    }
}
