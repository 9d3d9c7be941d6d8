//! Reading the audit log: a page of events and the search (JSON, or CSV as
//! an export). The use cases are `doorstroom_app::audit_log`'s; reading is
//! itself audited and needs the second factor.

use actix_web::{HttpResponse, get, post, web};
use doorstroom_api::audit::{AuditSearch, EventPage, EventQuery, ExportFormat, SequencedEvent};
use doorstroom_app::audit_log::{ReadAuditEvents, read_audit_events, search_audit_log};
use doorstroom_domain::{Action, Brin, Purpose, ResourceKind, ResourceRef};

use crate::access::{body_or_reject, run};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Query, query_param};
use crate::state::AppState;

#[utoipa::path(
    tag = "audit",
    params(EventQuery),
    responses((status = 200, body = EventPage), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/v1/audit/events")]
pub async fn events(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let command = ReadAuditEvents {
        institution: query
            .institution
            .map(|raw| query_param("institution", &raw, Brin::parse))
            .transpose()?,
        outcome: query.outcome,
        after: query.after,
        limit: query.limit,
    };
    let page = run(&state, &caller, move |app, caller| {
        read_audit_events(app, caller, command)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

const CSV_COLUMNS: [&str; 16] = [
    "seq",
    "time",
    "actor_kind",
    "actor_institution",
    "actor_id",
    "on_behalf_of",
    "action_crud",
    "action_name",
    "resource_kind",
    "resource_id",
    "data_subject",
    "purpose",
    "outcome",
    "reason",
    "request_id",
    "entry_hash_input",
];

/// The page as CSV (the export), one row per event with the columns
/// [`CSV_COLUMNS`].
pub fn to_csv(page: &EventPage) -> Result<String, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::Internal(e.to_string());
    writer.write_record(CSV_COLUMNS).map_err(csv_error)?;
    for SequencedEvent { seq, event } in &page.events {
        let opt = |v: Option<String>| v.unwrap_or_default();
        writer
            .write_record([
                seq.to_string(),
                event.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                event.actor.kind.to_string(),
                opt(event.actor.institution.as_ref().map(|b| b.to_string())),
                opt(event.actor.id.clone()),
                opt(event.on_behalf_of.map(|s| s.to_string())),
                event.action.crud.to_string(),
                event.action.name.clone(),
                event.resource.kind.clone(),
                opt(event.resource.id.clone()),
                opt(event.data_subject.as_ref().map(|p| p.to_string())),
                event.purpose.to_string(),
                event.outcome.to_string(),
                opt(event.reason.clone()),
                opt(event.request_id.clone()),
                event.canonical_json(),
            ])
            .map_err(csv_error)?;
    }
    let bytes = writer.into_inner().map_err(|e| ApiError::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Searches the audit log by student, staff member or system, institution,
/// action, outcome and period, a page at a time (keyset on `seq`), as JSON
/// or CSV (`?format=csv`, an export). An institution's privacy officer sees
/// the events in which their institution acted and the events about records
/// it was party to when they were written (its applications, packages it
/// sent or received, consent recorded by it or given for it, its
/// inspections), never what happened between others before it became
/// party; the broker's privacy officer sees all.
/// The search itself is audited (with the student's pseudonym, if any).
#[utoipa::path(
    tag = "audit",
    params(ExportFormat),
    request_body = AuditSearch,
    responses(
        (status = 200, description = "a page of events: JSON, or CSV with format=csv", content(
            (EventPage = "application/json"),
            (String = "text/csv; charset=utf-8"),
        )),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/audit/search")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    format: Query<ExportFormat>,
    body: Result<crate::extract::Json<AuditSearch>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let record = ResourceRef::new(ResourceKind::AuditLog, None);
    let search = body_or_reject(
        &state,
        &caller,
        Action::ReadAuditLog,
        record,
        Purpose::Supervision,
        body,
    )
    .await?;
    let csv = crate::extract::json_or(format.0.format.as_deref(), "csv")?;
    let page = run(&state, &caller, move |app, caller| {
        search_audit_log(app, caller, search)
    })
    .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", "attachment; filename=\"audit.csv\""))
            .body(to_csv(&page)?)
    } else {
        HttpResponse::Ok().json(page)
    })
}
