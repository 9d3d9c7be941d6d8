//! The doors of the consent and inspection ledger: recording an inspection,
//! giving and withdrawing consent, and reading a student's history. Each
//! parses its body (a body that does not parse is refused and audited),
//! runs the use case of `doorstroom_app::ledger` and renders its answer;
//! the rules, the ledger and who may see what are there and in the domain.

use actix_web::{HttpResponse, post, web};
use doorstroom_api::consents::{
    ConsentReceipt, ConsentRequest, History, HistoryRequest, InspectionView, RecordInspection,
};
use doorstroom_app::ledger::{self, ConsentCommand};
use doorstroom_domain::{Action, Purpose, ResourceKind, ResourceRef};

use crate::access::{body_or_reject, run};
use crate::auth::{Caller, SystemCaller};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;

/// Records that the student and/or parents inspected the dossier. By
/// default (`exchange.require_inspection`) a package from this school is
/// refused until this school recorded it (another school's record does not
/// count). Only a school that an mbo named as the student's sending school
/// (or that recorded about the student before) may record; any other
/// school gets 404, as for a student nobody knows.
#[utoipa::path(
    tag = "privacy",
    request_body = RecordInspection,
    responses(
        (status = 201, body = InspectionView),
        (status = 404, description = "this school does not send for the student", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/inspections")]
pub async fn record_inspection(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<RecordInspection>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let record = ResourceRef::new(ResourceKind::Inspection, None);
    let command = body_or_reject(&state, &caller, Action::RecordInspection, record, Purpose::Intake, body).await?;
    let view: InspectionView = run(&state, &caller, move |app, caller| {
        ledger::record_inspection(app, caller, command)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The consent request of a body, refused and audited if it does not parse.
async fn consent_command(
    state: &web::Data<AppState>,
    caller: &Caller,
    body: Result<Json<ConsentRequest>, ApiError>,
) -> Result<ConsentCommand, ApiError> {
    let record = ResourceRef::new(ResourceKind::Consent, None);
    let request = body_or_reject(state, caller, Action::RecordConsent, record, Purpose::Intake, body).await?;
    Ok(ConsentCommand { request })
}

/// Records that consent was given, for the listed sections to go to one mbo,
/// in this school's own ledger: it counts for this school's packages only.
/// Only a school that the mbo named as the student's sending school (or that
/// recorded consent for that mbo before) may record; any other school gets
/// 404, as for a student nobody knows.
#[utoipa::path(
    tag = "privacy",
    request_body = ConsentRequest,
    responses(
        (status = 201, body = ConsentReceipt),
        (status = 404, description = "this school does not send for the student to the recipient", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a rule of consent is broken; the detail names it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/consents")]
pub async fn give(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<ConsentRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let command = consent_command(&state, &caller, body).await?;
    let receipt: ConsentReceipt = run(&state, &caller, move |app, caller| {
        ledger::give_consent(app, caller, command)
    })
    .await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// Records that consent was withdrawn. It takes effect at once: copies of
/// the sections not yet delivered in the packages this school sent are
/// deleted (each deletion audited), later pulls leave them out, and the
/// mbo's inbox shows the withdrawal. Withdrawing what this school never
/// recorded as given is 404 — the same answer a school gets that does not
/// send for the student, whatever other schools recorded; withdrawing
/// again changes nothing and answers the first withdrawal's receipt.
#[utoipa::path(
    tag = "privacy",
    request_body = ConsentRequest,
    responses(
        (status = 201, body = ConsentReceipt),
        (status = 200, description = "already withdrawn: the earlier receipt", body = ConsentReceipt),
        (status = 404, description = "this school never recorded consent for a listed section, or does not send for the student", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/consents/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<ConsentRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let command = consent_command(&state, &caller, body).await?;
    let withdrawal = run(&state, &caller, move |app, caller| {
        ledger::withdraw_consent(app, caller, command)
    })
    .await?;
    Ok(if withdrawal.recorded {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(withdrawal.receipt))
}

/// A student's consent and inspection history, as far as the caller is
/// party to it: a school's system sees the records its school made, if
/// the school sends for the student (an application names it) or recorded
/// about the student before — any other school gets 404, as for a student
/// nobody knows; an mbo's privacy officer sees what was recorded for the
/// mbo (consent given for it, and the inspections of the schools sending
/// the student to it); the broker's privacy officer sees everything.
#[utoipa::path(
    tag = "privacy",
    request_body = HistoryRequest,
    responses((status = 200, body = History), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/consents/history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    body: Result<Json<HistoryRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let record = ResourceRef::new(ResourceKind::ConsentHistory, None);
    let request = body_or_reject(
        &state,
        &caller,
        Action::ReadConsentHistory,
        record,
        Purpose::Intake,
        body,
    )
    .await?;
    let view: History = run(&state, &caller, move |app, caller| {
        ledger::consent_history(app, caller, &request.student_number)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
