//! The data-subject report (GDPR art. 15): the door of
//! [`doorstroom_app::report::subject_report`], as JSON and as a readable
//! document in Dutch ([`crate::texts::subject_report`]).

use actix_web::{HttpResponse, post, web};
use doorstroom_api::report::{ReportQuery, ReportRequest, SubjectReport};
use doorstroom_app::report as app;
use doorstroom_domain::{Action, Purpose, ResourceKind, ResourceRef, StudentNumber};

use crate::access::{self, body_or_reject};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query};
use crate::state::AppState;

/// The data-subject report of one student (art. 15). An institution's
/// privacy officer gets what concerns their institution; the broker's
/// privacy officer gets everything.
#[utoipa::path(
    tag = "audit",
    params(ReportQuery),
    request_body = ReportRequest,
    responses(
        (status = 200, description = "the report: JSON, or Markdown (Dutch) with format=text", content(
            (SubjectReport = "application/json"),
            (String = "text/markdown; charset=utf-8"),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/audit/subject-report")]
pub async fn subject_report(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ReportQuery>,
    body: Result<Json<ReportRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let record = ResourceRef::new(ResourceKind::SubjectReport, None);
    let request = body_or_reject(
        &state,
        &caller,
        Action::ReadAuditLog,
        record,
        Purpose::Supervision,
        body,
    )
    .await?;
    let text = crate::extract::json_or(query.0.format.as_deref(), "text")?;
    let report = report_for(&state, &caller, &request.student_number).await?;
    Ok(if text {
        let text = crate::texts::subject_report(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
        HttpResponse::Ok()
            .content_type("text/markdown; charset=utf-8")
            .body(text)
    } else {
        HttpResponse::Ok().json(report)
    })
}

/// The one art. 15 report of the API and the web console.
pub async fn report_for(
    state: &web::Data<AppState>,
    caller: &Caller,
    student_number: &StudentNumber,
) -> Result<SubjectReport, ApiError> {
    let number = student_number.clone();
    access::run(state, caller, move |app, caller| {
        app::subject_report(app, caller, &number)
    })
    .await
}
