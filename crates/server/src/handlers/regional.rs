//! The regional figures, the door: a region's coordinator reads the
//! region's aggregates (`doorstroom_app::regional`).

use actix_web::{HttpRequest, HttpResponse, get, web};
use doorstroom_api::regional::{FiguresQuery, RegionalFigures};
use doorstroom_app::regional;
use doorstroom_domain::SchoolYear;

use crate::access::run;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::state::AppState;

/// Whether the caller asked for CSV: `format=csv`, or `Accept: text/csv`
/// without a format.
fn wants_csv(req: &HttpRequest, format: Option<&str>) -> Result<bool, ApiError> {
    if format.is_some() {
        return crate::extract::json_or(format, "csv");
    }
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(accept.split(',').any(|part| part.trim().starts_with("text/csv")))
}

/// The figures of `region` for a school year: per measure (cohort size,
/// applications, late applications, dossiers sent, inspections, consents
/// per optional section, intakes held, places offered, enrolled, not
/// enrolling, withdrawn, no-show, students at risk per safety-net reason)
/// the region's total and its breakdowns by sending school, receiving
/// mbo, programme and month, with the funnel from application to
/// enrolment. A count below the threshold shows as "< 5", and other cells
/// are hidden ("x") or a breakdown withheld so that it cannot be worked
/// out. JSON, or CSV with `format=csv` or `Accept: text/csv`. For the
/// region's coordinators only: every other caller, and any other region,
/// gets the same 404 as a region that does not exist.
#[utoipa::path(
    tag = "regional figures",
    params(("region" = String, Path, pattern = "^[a-z0-9-]{1,64}$", example = "twente"), FiguresQuery),
    responses(
        (status = 200, description = "the figures: JSON, or CSV", content(
            (RegionalFigures = "application/json"),
            (String = "text/csv; charset=utf-8"),
        )),
        (status = 400, description = "a school year or format that is not one", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such region, or not its coordinator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/regions/{region}/figures")]
pub async fn figures(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    query: Query<FiguresQuery>,
) -> Result<HttpResponse, ApiError> {
    let year = SchoolYear::parse(&query.0.school_year).map_err(|e| ApiError::Malformed {
        detail: format!("query parameter school_year: {e}"),
        pointer: None,
    })?;
    let csv = wants_csv(&req, query.0.format.as_deref())?;
    let region = path.into_inner();
    let figures = run(&state, &caller, move |app, caller| {
        regional::figures(app, caller, &region, year)
    })
    .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", "attachment; filename=\"regional-figures.csv\""))
            .body(figures.to_csv())
    } else {
        HttpResponse::Ok().json(figures)
    })
}
