//! Erasure on request (GDPR art. 17): a privacy officer erases a student's
//! packages, applications, consent events and inspection records.
//!
//! # Scope
//! * The **broker's** privacy officer (no institution) erases everything
//!   about the student.
//! * An **institution's** privacy officer erases what that institution is
//!   party to: applications at it or naming it as the sending school (with
//!   their packages), packages it sent or received, consent events for it,
//!   inspections it recorded ([`ErasureScope::Institution`]). Another
//!   institution's records stay: that institution answers for them.
//!
//! Who may is decided in the domain ([`Action::EraseStudent`]). A request
//! that finds nothing in the caller's scope is 404, exactly as a refused
//! one (an intaker, a school system): "not found" and "not yours" look the
//! same. A broker admin is refused with 403 whatever the student, so that
//! not even the existence of data shows.
//!
//! # What stays
//! The audit events about the student stay: they hold the pseudonym only,
//! and removing them would break the Merkle log that proves nobody
//! rewrote history. The erasure itself is logged in the same transaction:
//! one `{kind}_erased` event per deleted record (reason `erasure_request`)
//! and one `student_erased` event that says who asked (student, parent or
//! guardian), why (the officer's short reason, which must not name
//! anyone: it is kept as long as the log) and how many records went, then
//! the access event `erase_student` itself.
//!
//! The student number arrives in the body, never in the URL (URLs end up
//! in logs), and is turned into the pseudonym at once.

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use doorstroom_domain::{
    Action, AuditAction, AuditEvent, Brin, GivenBy, Principal, Pseudonym, PurgeReason, Purpose, Resource, ResourceRef,
    StudentNumber,
};
use doorstroom_store::retention::{self, Erased, ErasureScope};
use doorstroom_store::{DbConn, audit};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{Access, body_or_reject, perform};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use doorstroom_domain::{ResourceKind, SideEvent};

/// The audit record kind of an erasure.
const RECORD: ResourceKind = ResourceKind::StudentData;

/// An erasure request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    pub student_number: StudentNumber,
    /// Who asked for the erasure: the student, or a parent or guardian.
    pub requested_by: GivenBy,
    /// Why, in a few words (1 to 200 characters). Kept in the audit log as
    /// long as the log: name nobody.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub reason: String,
    /// The privacy officer's own reference for the request (1 to 200
    /// characters), if any.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub reference: Option<String>,
}

/// What the erasure deleted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErasureSummary {
    pub erased_at: DateTime<Utc>,
    /// `everything` (the broker's privacy officer) or the BRIN of the
    /// officer's institution.
    pub scope: String,
    pub packages: usize,
    pub applications: usize,
    pub consent_events: usize,
    pub inspections: usize,
}

fn short(pointer: &'static str, raw: &str) -> Result<String, ApiError> {
    doorstroom_domain::short_text(&pointer[1..], raw).map_err(|e| ApiError::field(pointer, e))
}

/// Erases a student's data within the caller's scope.
#[utoipa::path(
    tag = "privacy",
    request_body = ErasureRequest,
    responses(
        (status = 200, body = ErasureSummary),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/erasures")]
pub async fn erase(
    state: web::Data<AppState>,
    caller: Caller,
    body: Result<Json<ErasureRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let record = ResourceRef::new(RECORD, None);
    let request = body_or_reject(
        &state,
        &caller,
        Action::EraseStudent,
        record.clone(),
        Purpose::Supervision,
        body,
    )
    .await?;
    let student = state.pseudonym_of(&request.student_number);
    let own = caller.principal.institution().cloned();
    let resource = own.clone().map(Resource::Institution).unwrap_or(Resource::Broker);
    let scope = own.map(ErasureScope::Institution).unwrap_or(ErasureScope::Everything);
    let access =
        Access::new(Action::EraseStudent, resource, record.clone(), Purpose::Supervision).about(student.clone());
    // The reason and reference are checked inside the access, after the
    // policy: a caller who may not erase learns nothing from them, and a bad
    // one from an officer is audited as a rejected erasure.
    let reason = request.reason;
    let reference = request.reference;
    let requested_by = request.requested_by;
    let principal = caller.principal.clone();
    let request_id = caller.request_id.clone();
    let summary = perform(&state, &caller, access, move |conn, now| {
        let reason = short("/reason", &reason)?;
        let reference = reference.as_deref().map(|r| short("/reference", r)).transpose()?;
        let erased = retention::erase(conn, &student, &scope, now)?;
        if erased.is_empty() {
            return Err(ApiError::NotFound);
        }
        let context = Context {
            now,
            principal: &principal,
            request_id: &request_id,
            student: &student,
        };
        record_items(conn, &context, &erased)?;
        let scope_label = match &scope {
            ErasureScope::Everything => "everything".to_owned(),
            ErasureScope::Institution(brin) => brin.to_string(),
        };
        let mut why = format!(
            "requested_by={requested_by}; scope={scope_label}; packages={} applications={} consent_events={} \
             inspections={}; reason: {reason}",
            erased.packages.len(),
            erased.applications.len(),
            erased.consent_events.len(),
            erased.inspections.len(),
        );
        if let Some(reference) = reference {
            why.push_str(&format!("; reference: {reference}"));
        }
        let mut event = context.event(SideEvent::StudentErased.into(), ResourceRef::new(RECORD, None));
        event.reason = Some(why);
        // The erasure as a whole is the broker's (or the erasing
        // institution's) act: related to no one else, so that nobody learns
        // from its counts what other institutions held. Each party finds the
        // deletion of its own records below.
        audit::append(conn, &event).map_err(ApiError::audit_failed)?;
        Ok(ErasureSummary {
            erased_at: now,
            scope: scope_label,
            packages: erased.packages.len(),
            applications: erased.applications.len(),
            consent_events: erased.consent_events.len(),
            inspections: erased.inspections.len(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(summary))
}

struct Context<'a> {
    now: DateTime<Utc>,
    principal: &'a Principal,
    request_id: &'a str,
    student: &'a Pseudonym,
}

impl Context<'_> {
    fn event(&self, action: AuditAction, resource: ResourceRef) -> AuditEvent {
        AuditEvent::success(self.now, self.principal, action, resource, Purpose::Supervision)
            .with_request_id(Some(self.request_id.to_owned()))
            .with_data_subject(Some(self.student.clone()))
    }
}

/// One `{kind}_erased` event per deleted record, related to the parties of
/// that record (read before it was deleted), so that each of their privacy
/// officers still finds it.
fn record_items(conn: &mut DbConn, context: &Context<'_>, erased: &Erased) -> Result<(), ApiError> {
    let items = erased
        .packages
        .iter()
        .map(|id| (ResourceKind::Package, id.clone()))
        .chain(
            erased
                .applications
                .iter()
                .map(|id| (ResourceKind::Application, id.to_string())),
        )
        .chain(
            erased
                .consent_events
                .iter()
                .map(|id| (ResourceKind::ConsentEvent, id.to_string())),
        )
        .chain(
            erased
                .inspections
                .iter()
                .map(|id| (ResourceKind::Inspection, id.to_string())),
        );
    for (kind, id) in items {
        let parties: Vec<Brin> = erased.parties.get(&id).into_iter().flatten().cloned().collect();
        let mut event = context.event(SideEvent::Erased(kind).into(), ResourceRef::new(kind, Some(id)));
        event.reason = Some(PurgeReason::ErasureRequest.as_str().to_owned());
        audit::append_related(conn, &event, &parties).map_err(ApiError::audit_failed)?;
    }
    Ok(())
}
