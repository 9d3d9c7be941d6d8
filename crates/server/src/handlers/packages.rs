//! Dossier packages, the doors: submission by the vo school's system, the
//! mbo's inbox, pulling and acknowledging, the intakers an mbo's system may
//! act for. Each parses the request, runs its use case in
//! `doorstroom_app::packages` and renders the answer.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use doorstroom_api::packages::{
    Acknowledgement, InboxEntry, InboxQuery, IntakerView, PulledPackage, SubmissionReceipt,
};
use doorstroom_app::packages::{self as exchange, ListInbox, PackageCommand, SubmitPackage};
use doorstroom_domain::{Action, Principal, Purpose, ResourceKind, ResourceRef, StaffId};
use doorstroom_jose::{Submission, peek_envelope};
use serde_json::json;
use uuid::Uuid;

use crate::access::{body_or_reject, reject, run};
use crate::auth::{Caller, SystemCaller};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query, path_param};
use crate::state::AppState;

/// The header in which an mbo's system names the intaker it acts for.
pub const ON_BEHALF_OF: &str = "x-on-behalf-of";

/// Submits a package (`openapi/PACKAGE-FORMAT.md`). The broker checks, in
/// the order of PACKAGE-FORMAT.md §9 and answering the first failure: the
/// body's size (413) and shape (400 not JSON, 422 another shape); the
/// envelope's form; the policy (a vo, vso or pro system sending for its own
/// institution; 404 otherwise); the envelope's sender is the client
/// certificate's institution and its `kid` an *active* signing key of it;
/// the signature; `iat` at most 5 minutes ahead and 7 days behind; the
/// recipient is an active mbo; an open application of the student at that
/// recipient, naming no other vo school (no application, no dossier); the
/// `jti` is new (an identical resubmission answers the first receipt, 200;
/// anything else 409); the sections match the envelope and their limits,
/// and each is sealed for an active encryption key of the recipient (`kid`,
/// with that key's `alg`); the student's inspection of the dossier is
/// recorded by this school (unless configured off); every section is
/// allowed by its lawful basis at this moment. A rule of the envelope or
/// the application is a 422 at `/envelope`, a rule of one section a 422 at
/// `/sections/<name>`. It stores the ciphertext and answers a receipt
/// signed by the broker (PACKAGE-FORMAT.md §9.1).
#[utoipa::path(
    post,
    path = "/v1/packages",
    tag = "exchange",
    request_body = doorstroom_api::schema::Submission,
    responses(
        (status = 201, body = SubmissionReceipt),
        (status = 200, description = "identical resubmission: the first receipt", body = SubmissionReceipt),
        (status = 409, description = "jti already used for another envelope", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a rule of the exchange is broken; the detail names it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
pub async fn submit(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<Submission>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let record = ResourceRef::new(ResourceKind::Package, None);
    let submission = body_or_reject(
        &state,
        &caller,
        Action::SubmitPackage,
        record.clone(),
        Purpose::Intake,
        body,
    )
    .await?;
    // Unverified, only to find the sender's key and describe the access;
    // the use case verifies it before relying on it.
    let envelope = match peek_envelope(&submission.envelope) {
        Ok(envelope) => envelope,
        Err(err) => {
            let refusal = ApiError::invalid("/envelope", err.to_string());
            return Err(reject(&state, &caller, Action::SubmitPackage, record, Purpose::Intake, refusal).await);
        }
    };
    let command = SubmitPackage { envelope, submission };
    let submitted = run(&state, &caller, move |app, caller| {
        exchange::submit_package(app, caller, command)
    })
    .await?;
    let mut response = if submitted.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(submitted.receipt))
}

/// The intaker a school system acts for: named in `X-On-Behalf-Of` (the
/// use case checks that it is an active intaker of the system's own
/// institution). Staff act for themselves, so the header names nobody for
/// them; but a header that is not a staff id is malformed (400) whoever
/// sends it, as the document says.
fn on_behalf_of(req: &HttpRequest, principal: &Principal) -> Result<Option<StaffId>, ApiError> {
    let malformed = |detail: &str| ApiError::Malformed {
        detail: detail.into(),
        pointer: None,
    };
    let named = req
        .headers()
        .get(ON_BEHALF_OF)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|raw| raw.parse::<StaffId>().ok())
                .ok_or_else(|| malformed("header X-On-Behalf-Of: must be the id (UUID) of an intaker"))
        })
        .transpose()?;
    match (principal, named) {
        (Principal::System { .. }, Some(id)) => Ok(Some(id)),
        (Principal::System { .. }, None) => Err(malformed(
            "header X-On-Behalf-Of: a school system must name the intaker it acts for",
        )),
        (_, _) => Ok(None),
    }
}

/// [`on_behalf_of`], with a refusal audited as an attempt at `action`.
async fn acting_for(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: &Caller,
    action: Action,
    record: ResourceRef,
) -> Result<Option<StaffId>, ApiError> {
    match on_behalf_of(req, &caller.principal) {
        Ok(acting_for) => Ok(acting_for),
        Err(err) => Err(reject(state, caller, action, record, Purpose::Intake, err).await),
    }
}

/// The active intakers of an mbo, sorted by username: whom its own system
/// may name in `X-On-Behalf-Of` when it lists the inbox, pulls or
/// acknowledges. Only for that mbo's own system (client certificate);
/// anyone else, and an institution that does not exist, gets the same 404,
/// and every attempt is audited.
#[utoipa::path(
    tag = "exchange",
    params(("brin" = String, Path, description = "BRIN of the caller's own institution")),
    responses(
        (status = 200, body = Vec<IntakerView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[get("/v1/institutions/{brin}/intakers")]
pub async fn intakers(
    state: web::Data<AppState>,
    caller: SystemCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let brin = path_param("brin", &path, doorstroom_domain::Brin::parse)?;
    let listed = run(&state, &caller.0, move |app, caller| {
        exchange::list_intakers(app, caller, brin)
    })
    .await?;
    Ok(HttpResponse::Ok().json(listed))
}

/// The packages waiting for the caller's institution (metadata only). A
/// school system names the intaker it acts for in `X-On-Behalf-Of`. Every
/// listed package is audited with its student's pseudonym.
#[utoipa::path(
    tag = "exchange",
    params(InboxQuery, ("X-On-Behalf-Of" = Option<String>, Header, description = "for a school system: the staff id of the intaker it acts for (see GET /v1/institutions/{brin}/intakers); required for a school system; an intaker acts for themselves")),
    responses((status = 200, body = Vec<InboxEntry>), (status = 422, description = "X-On-Behalf-Of names someone who is not an active intaker of the caller's institution (pointer /headers/x-on-behalf-of; PACKAGE-FORMAT.md §9.2)", body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/inbox")]
pub async fn inbox(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: Query<InboxQuery>,
) -> Result<HttpResponse, ApiError> {
    let InboxQuery { after, limit } = query.0;
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Malformed {
            detail: "query parameter limit: must be between 1 and 1000".into(),
            pointer: None,
        });
    }
    let record = ResourceRef::new(ResourceKind::Inbox, None);
    let acting_for = acting_for(&state, &req, &caller, Action::ListInbox, record).await?;
    let command = ListInbox {
        after,
        limit,
        acting_for,
    };
    let entries = run(&state, &caller, move |app, caller| {
        exchange::list_inbox(app, caller, command)
    })
    .await?;
    Ok(HttpResponse::Ok().json(entries))
}

fn package_id(raw: &str) -> Result<String, ApiError> {
    path_param("id", raw, |s| {
        Uuid::parse_str(s)
            .map(|u| u.to_string())
            .map_err(|_| doorstroom_domain::ParseError::new("id", "must be a UUID"))
    })
}

/// The package named in the path, for the intaker named in
/// `X-On-Behalf-Of` when a school system calls (a refusal audited as an
/// attempt at `action`).
async fn package_command(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: &Caller,
    action: Action,
    raw_id: &str,
) -> Result<PackageCommand, ApiError> {
    let id = package_id(raw_id)?;
    let record = ResourceRef::new(ResourceKind::Package, Some(id.clone()));
    let acting_for = acting_for(state, req, caller, action, record).await?;
    Ok(PackageCommand { id, acting_for })
}

/// Takes a package out: the envelope and the sections that may be released
/// at this moment; the others are listed as withheld, with the reason. Only
/// for the recipient's intakers (or its system acting for one); anyone else
/// gets 404, exactly as for a package that does not exist.
#[utoipa::path(
    tag = "exchange",
    params(("id" = String, Path), ("X-On-Behalf-Of" = Option<String>, Header, description = "for a school system: the staff id of the intaker it acts for (see GET /v1/institutions/{brin}/intakers); required for a school system; an intaker acts for themselves")),
    responses((status = 200, body = PulledPackage), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, description = "X-On-Behalf-Of names someone who is not an active intaker of the caller's institution (pointer /headers/x-on-behalf-of; PACKAGE-FORMAT.md §9.2)", body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/packages/{id}")]
pub async fn pull(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let command = package_command(&state, &req, &caller, Action::PullPackage, &path).await?;
    let pulled = run(&state, &caller, move |app, caller| {
        exchange::pull_package(app, caller, command)
    })
    .await?;
    if pulled.anomaly {
        state.metrics.anomaly("pulls");
    }
    Ok(HttpResponse::Ok().json(pulled.package))
}

/// Acknowledges receipt (idempotent: the first acknowledgement stays).
#[utoipa::path(
    tag = "exchange",
    params(("id" = String, Path), ("X-On-Behalf-Of" = Option<String>, Header, description = "for a school system: the staff id of the intaker it acts for (see GET /v1/institutions/{brin}/intakers); required for a school system; an intaker acts for themselves")),
    responses((status = 200, body = Acknowledgement), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, description = "X-On-Behalf-Of names someone who is not an active intaker of the caller's institution (pointer /headers/x-on-behalf-of; PACKAGE-FORMAT.md §9.2)", body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/packages/{id}/acknowledge")]
pub async fn acknowledge(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let command = package_command(&state, &req, &caller, Action::AcknowledgePackage, &path).await?;
    let ack = run(&state, &caller, move |app, caller| {
        exchange::acknowledge_package(app, caller, command)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ack))
}

/// The broker's public signing key(s) as a JWK Set: receipts verify with it.
#[utoipa::path(
    tag = "exchange",
    responses((status = 200, description = "JWK Set", content_type = "application/jwk-set+json", body = Object))
)]
#[get("/v1/broker/jwks")]
pub async fn broker_jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .json(json!({"keys": [state.signer.public_jwk()]}))
}
