//! Erasure on request (GDPR art. 17): a privacy officer erases a student's
//! packages, applications, consent events and inspection records.
//!
//! # Scope
//! * The **broker's** privacy officer (no institution) erases everything
//!   about the student.
//! * An **institution's** privacy officer erases what that institution is
//!   party to: applications at it or naming it as the sending school (with
//!   their packages), packages it sent or received, consent events for it,
//!   inspections it recorded, the student's membership of its own
//!   safety-net cohorts ([`ErasureScope::Institution`]). Another
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

use doorstroom_api::erasure::{ErasureRequest, ErasureSummary};
use doorstroom_domain::{Action, GivenBy, PurgeReason, Purpose, Resource, ResourceKind, ResourceRef, SideEvent};
use doorstroom_store::retention::{self, Erased, ErasureScope};

use crate::spine::{Access, Caller, Ctx, Side, perform_in};
use crate::{App, AppError};

/// The audit record kind of an erasure.
pub const RECORD: ResourceKind = ResourceKind::StudentData;

/// Erases the student's data within the caller's scope (see the module
/// documentation): the broker's privacy officer everything, an
/// institution's privacy officer what the institution is party to. Records
/// one `{kind}_erased` event per deleted record and one `student_erased`
/// event with who asked, why and how many, then `erase_student`. Nothing
/// in scope is `NotFound`, as is a caller who may not erase.
pub fn erase_student(app: &App, caller: Caller<'_>, request: ErasureRequest) -> Result<ErasureSummary, AppError> {
    let student = app.pseudonym_of(&request.student_number);
    let own = caller.principal.institution().cloned();
    let resource = own.clone().map(Resource::Institution).unwrap_or(Resource::Broker);
    let scope = own.map(ErasureScope::Institution).unwrap_or(ErasureScope::Everything);
    let access = Access::new(
        Action::EraseStudent,
        resource,
        ResourceRef::new(RECORD, None),
        Purpose::Supervision,
    )
    .about(student.clone());
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        // The reason and reference are checked inside the access, after the
        // policy: a caller who may not erase learns nothing from them, and a
        // bad one from an officer is audited as a rejected erasure.
        let reason = short("/reason", &request.reason)?;
        let reference = request
            .reference
            .as_deref()
            .map(|r| short("/reference", r))
            .transpose()?;
        let erased = retention::erase(ctx.conn, &student, &scope, ctx.now)?;
        if erased.is_empty() {
            return Err(AppError::NotFound);
        }
        record_items(ctx, &erased)?;
        // Erasing everything also ends the student's page: its links open
        // nothing once the file is gone (an institution's erasure leaves
        // the page, which shows what the others still hold).
        if matches!(scope, ErasureScope::Everything) {
            for id in doorstroom_store::transparency::delete_for_student(ctx.conn, &student)? {
                let kind = ResourceKind::TransparencyLink;
                ctx.record(Side::new(
                    SideEvent::Erased(kind),
                    ResourceRef::new(kind, Some(id.to_string())),
                ))?;
            }
        }
        let summary = ErasureSummary {
            erased_at: ctx.now,
            scope: scope_label(&scope),
            packages: erased.packages.len(),
            applications: erased.applications.len(),
            consent_events: erased.consent_events.len(),
            inspections: erased.inspections.len(),
            cohort_memberships: erased.cohort_memberships.len(),
        };
        // The erasure as a whole is the broker's (or the erasing
        // institution's) act: related to no one else, so that nobody learns
        // from its counts what other institutions held. Each party finds the
        // deletion of its own records among the `{kind}_erased` events.
        let why = why(request.requested_by, &summary, &reason, reference.as_deref());
        ctx.record(Side::new(SideEvent::StudentErased, ResourceRef::new(RECORD, None)).because(why))?;
        Ok(summary)
    })
}

fn short(pointer: &'static str, raw: &str) -> Result<String, AppError> {
    doorstroom_domain::short_text(&pointer[1..], raw).map_err(|e| AppError::field(pointer, e))
}

fn scope_label(scope: &ErasureScope) -> String {
    match scope {
        ErasureScope::Everything => "everything".to_owned(),
        ErasureScope::Institution(brin) => brin.to_string(),
    }
}

/// The reason of the `student_erased` event: who asked, the scope, the
/// counts, the officer's reason and reference.
fn why(requested_by: GivenBy, summary: &ErasureSummary, reason: &str, reference: Option<&str>) -> String {
    let mut why = format!(
        "requested_by={requested_by}; scope={}; packages={} applications={} consent_events={} inspections={} \
         cohort_memberships={}; reason: {reason}",
        summary.scope,
        summary.packages,
        summary.applications,
        summary.consent_events,
        summary.inspections,
        summary.cohort_memberships,
    );
    if let Some(reference) = reference {
        why.push_str(&format!("; reference: {reference}"));
    }
    why
}

/// One `{kind}_erased` event per deleted record, related to the parties of
/// that record (read before it was deleted), so that each of their privacy
/// officers still finds it.
fn record_items(ctx: &mut Ctx<'_>, erased: &Erased) -> Result<(), AppError> {
    let ids = |kind: ResourceKind, ids: Vec<String>| ids.into_iter().map(move |id| (kind, id));
    let items = ids(ResourceKind::Package, erased.packages.clone())
        .chain(ids(ResourceKind::Application, to_strings(&erased.applications)))
        .chain(ids(ResourceKind::ConsentEvent, to_strings(&erased.consent_events)))
        .chain(ids(ResourceKind::Inspection, to_strings(&erased.inspections)))
        .chain(ids(ResourceKind::CohortMember, erased.cohort_memberships.clone()));
    for (kind, id) in items {
        let parties = erased.parties.get(&id).into_iter().flatten().cloned();
        let side = Side::new(SideEvent::Erased(kind), ResourceRef::new(kind, Some(id.clone())))
            .related_to(parties)
            .because(PurgeReason::ErasureRequest.as_str());
        ctx.record(side)?;
    }
    Ok(())
}

fn to_strings(ids: &[uuid::Uuid]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_says_who_asked_the_scope_the_counts_and_the_reference() {
        let summary = ErasureSummary {
            erased_at: chrono::DateTime::UNIX_EPOCH,
            scope: "25LX".into(),
            packages: 1,
            applications: 2,
            consent_events: 3,
            inspections: 4,
            cohort_memberships: 1,
        };
        assert_eq!(
            why(GivenBy::Parent, &summary, "verzoek ouder", Some("AVG-12")),
            "requested_by=parent; scope=25LX; packages=1 applications=2 consent_events=3 inspections=4 \
             cohort_memberships=1; reason: verzoek ouder; reference: AVG-12"
        );
        assert_eq!(
            why(GivenBy::Student, &summary, "r", None),
            "requested_by=student; scope=25LX; packages=1 applications=2 consent_events=3 inspections=4 \
             cohort_memberships=1; reason: r"
        );
    }
}
