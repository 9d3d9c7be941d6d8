//! The safety net (vangnet), the doors: a vo school's system adds its
//! leavers to its cohort of a school year, removes one, and reads who is
//! at risk (`doorstroom_app::safety_net`).

use actix_web::{HttpResponse, delete, get, post, web};
use doorstroom_api::audit::ExportFormat;
use doorstroom_api::safety_net::{AddToCohort, AtRiskList, CohortAdded};
use doorstroom_app::safety_net;
use doorstroom_domain::SchoolYear;

use crate::access::run;
use crate::auth::SystemCaller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query, path_param};
use crate::state::AppState;

fn year_param(raw: &str) -> Result<SchoolYear, ApiError> {
    path_param("school_year", raw, SchoolYear::parse)
}

/// Adds students to the calling vo school's leaving cohort for
/// `school_year` (the mbo school year they leave for, e.g. `2027-2028`):
/// each student number is turned into the student's pseudonym at once and
/// never stored; the school's own reference is what the broker answers
/// with. Adding a student again with the same reference changes nothing; a
/// reference or student already in the cohort the other way round is 409
/// (and nothing of the call is added). For the school's own system.
#[utoipa::path(
    tag = "safety net",
    params(("school_year" = String, Path, pattern = "^[0-9]{4}-[0-9]{4}$", example = "2027-2028")),
    request_body = AddToCohort,
    responses(
        (status = 200, body = CohortAdded),
        (status = 404, description = "not a vo school's system (the same answer as for no cohort)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a reference or student already in the cohort the other way round", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a student number or reference that is not one, or too many students", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/cohorts/{school_year}/students")]
pub async fn add(
    state: web::Data<AppState>,
    caller: SystemCaller,
    path: web::Path<String>,
    body: Json<AddToCohort>,
) -> Result<HttpResponse, ApiError> {
    let year = year_param(&path)?;
    let added = run(&state, &caller.0, move |app, caller| {
        safety_net::add_to_cohort(app, caller, year, body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(added))
}

/// Removes the student with the school's `reference` from its cohort for
/// `school_year` (e.g. the student stays at school another year).
#[utoipa::path(
    tag = "safety net",
    params(
        ("school_year" = String, Path, pattern = "^[0-9]{4}-[0-9]{4}$", example = "2027-2028"),
        ("reference" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", example = "LL-2027-0042"),
    ),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such student in the caller's cohort, or not a vo school's system", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[delete("/v1/cohorts/{school_year}/students/{reference}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: SystemCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (year, reference) = path.into_inner();
    let year = year_param(&year)?;
    run(&state, &caller.0, move |app, caller| {
        safety_net::remove_from_cohort(app, caller, year, reference)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The students of the calling school's cohort for `school_year` at risk
/// today, by the school's reference: the reason (no application, no
/// intake, no place, not enrolled, no-show) and the day they became at
/// risk. JSON, or CSV with `format=csv`. For the school's own system.
#[utoipa::path(
    tag = "safety net",
    params(
        ("school_year" = String, Path, pattern = "^[0-9]{4}-[0-9]{4}$", example = "2027-2028"),
        ExportFormat,
    ),
    responses(
        (status = 200, description = "the list: JSON, or CSV with format=csv", content(
            (AtRiskList = "application/json"),
            (String = "text/csv; charset=utf-8"),
        )),
        (status = 404, description = "not a vo school's system", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[get("/v1/cohorts/{school_year}/at-risk")]
pub async fn at_risk(
    state: web::Data<AppState>,
    caller: SystemCaller,
    path: web::Path<String>,
    format: Query<ExportFormat>,
) -> Result<HttpResponse, ApiError> {
    let year = year_param(&path)?;
    let csv = crate::extract::json_or(format.0.format.as_deref(), "csv")?;
    let list = run(&state, &caller.0, move |app, caller| {
        safety_net::at_risk(app, caller, year)
    })
    .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", "attachment; filename=\"at-risk.csv\""))
            .body(to_csv(&list)?)
    } else {
        HttpResponse::Ok().json(list)
    })
}

/// `reference,reason,since`, one row per student at risk.
pub fn to_csv(list: &AtRiskList) -> Result<String, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::Internal(e.to_string());
    writer
        .write_record(["reference", "reason", "since"])
        .map_err(csv_error)?;
    for row in &list.at_risk {
        writer
            .write_record([row.reference.as_str(), row.reason.as_str(), &row.since.to_string()])
            .map_err(csv_error)?;
    }
    let bytes = writer.into_inner().map_err(|e| ApiError::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.to_string()))
}
