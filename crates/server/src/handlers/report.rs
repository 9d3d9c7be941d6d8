//! The data-subject report (GDPR art. 15): the door of
//! [`doorstroom_app::report::subject_report`], as JSON and as a readable
//! document in Dutch ([`crate::texts::subject_report`]).

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use doorstroom_api::consents::{ConsentEventView, InspectionView};
use doorstroom_api::report::{AccessRecord, PackageTransfer, ReportQuery, ReportRequest};
use doorstroom_app::report as app;
use doorstroom_domain::{Action, Purpose, ResourceKind, ResourceRef, StudentNumber};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::applications::ApplicationView;
use crate::access::{self, body_or_reject};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query};
use crate::state::AppState;

/// What the broker holds about one student, and every access to it.
// Moves to `doorstroom_api::report` once `ApplicationView` is there.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubjectReport {
    pub generated_at: DateTime<Utc>,
    /// The scope: the privacy officer's institution, or none (the broker's).
    pub institution: Option<String>,
    pub applications: Vec<ApplicationView>,
    pub packages: Vec<PackageTransfer>,
    pub accesses: Vec<AccessRecord>,
    pub consents: Vec<ConsentEventView>,
    pub inspections: Vec<InspectionView>,
}

fn report_view(report: app::SubjectReport) -> SubjectReport {
    SubjectReport {
        generated_at: report.generated_at,
        institution: report.institution.map(|b| b.to_string()),
        applications: report.applications.into_iter().map(ApplicationView::from).collect(),
        packages: report.packages,
        accesses: report.accesses,
        consents: report.consents,
        inspections: report.inspections,
    }
}

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
    let report = access::run(state, caller, move |app, caller| {
        app::subject_report(app, caller, &number)
    })
    .await?;
    Ok(report_view(report))
}
