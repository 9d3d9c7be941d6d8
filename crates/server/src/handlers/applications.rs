//! Applications (aanmelding), the doors: the mbo's system registers that
//! a student applied, the named vo school finds its students'
//! applications, and the mbo reports the application's course back for the
//! school's aftercare. Each parses the request, runs its use case in
//! `doorstroom_app::applications` and renders the answer.
//!
//! The national student number arrives over TLS in a body, is turned into
//! the keyed pseudonym at once, and is never stored or logged.

use actix_web::{HttpResponse, get, post, web};
use doorstroom_api::applications::{
    ApplicationDetail, ApplicationView, FindApplications, RegisterApplication, ReportStatus,
};
use doorstroom_app::applications as use_case;
use doorstroom_domain::{Action, Purpose, ResourceKind, ResourceRef, StatusReport};
use uuid::Uuid;

use crate::access::{body_or_reject, run};
use crate::auth::{Caller, SystemCaller};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, path_param};
use crate::state::AppState;

/// Registers that a student applied. Registering the same student,
/// programme and school year again returns the first registration (200); a
/// registration that differs in its other details is a conflict (409).
#[utoipa::path(
    tag = "exchange",
    request_body = RegisterApplication,
    responses(
        (status = 201, body = ApplicationView),
        (status = 200, description = "already registered", body = ApplicationView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/applications")]
pub async fn register(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<RegisterApplication>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let record = ResourceRef::new(ResourceKind::Application, None);
    let body = body_or_reject(
        &state,
        &caller,
        Action::RegisterApplication,
        record,
        Purpose::Intake,
        body,
    )
    .await?;
    let registered = run(&state, &caller, move |app, caller| {
        use_case::register_application(app, caller, body)
    })
    .await?;
    let mut response = if registered.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(registered.application))
}

/// The applications that name the calling vo school as the student's
/// school. The student number travels in the body (never in a URL) and is
/// turned into the pseudonym at once.
#[utoipa::path(
    tag = "exchange",
    request_body = FindApplications,
    responses((status = 200, body = Vec<ApplicationDetail>), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []))
)]
#[post("/v1/applications/search")]
pub async fn search(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<FindApplications>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let record = ResourceRef::new(ResourceKind::Applications, None);
    let body = body_or_reject(&state, &caller, Action::FindApplications, record, Purpose::Intake, body).await?;
    let found = run(&state, &caller, move |app, caller| {
        use_case::find_applications(app, caller, body)
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

fn application_id(raw: &str) -> Result<Uuid, ApiError> {
    path_param("id", raw, |s| {
        Uuid::parse_str(s).map_err(|_| doorstroom_domain::ParseError::new("id", "must be a UUID"))
    })
}

/// One application with its course: for the mbo where it was made and the
/// vo school it names.
#[utoipa::path(
    tag = "exchange",
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationDetail), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/applications/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = application_id(&path)?;
    let detail = run(&state, &caller, move |app, caller| {
        use_case::read_application(app, caller, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Reports the application's course (terugkoppeling). Only moves the
/// domain's state machine allows; an impossible one is 409 with the rule.
#[utoipa::path(
    tag = "exchange",
    params(("id" = String, Path)),
    request_body = ReportStatus,
    responses(
        (status = 200, body = ApplicationDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "transition not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a day of intake with another status than intake_scheduled", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/applications/{id}/status")]
pub async fn report_status(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<ReportStatus>,
) -> Result<HttpResponse, ApiError> {
    let id = application_id(&path)?;
    let report = StatusReport::new(body.0.status, body.0.intake_on).map_err(|e| ApiError::field("/intake_on", e))?;
    let detail = run(&state, &caller, move |app, caller| {
        use_case::report_status(app, caller, id, report)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}
