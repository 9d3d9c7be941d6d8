//! A student's consent and inspection history.

use doorstroom_api::consents::History;
use doorstroom_domain::{Action, Principal, Purpose, Resource, ResourceKind, ResourceRef, StudentNumber};
use doorstroom_store::{consents, inspections};

use super::{consent_event_view, inspection_view, ledger_in_scope, ledger_of_student};
use crate::{Access, App, AppError, Caller, perform_in};

/// A student's consent and inspection history, as far as the caller is
/// party to it (the API's and the web console's): a school's system sees
/// the records its school made, if the school sends for the student (an
/// application names it) or recorded about the student before — any other
/// school gets "not found", as for a student nobody knows; an mbo's privacy
/// officer sees what was recorded for the mbo (consent given for it, and
/// the inspections of the schools sending the student to it); the broker's
/// privacy officer sees everything ([`ledger_in_scope`]). Records
/// `read_consent_history` about the student.
pub fn consent_history(app: &App, caller: Caller<'_>, student_number: &StudentNumber) -> Result<History, AppError> {
    let student = app.pseudonym_of(student_number);
    let record = ResourceRef::new(ResourceKind::ConsentHistory, None);
    let (access, school) = match caller.principal {
        // A school's system: on the student's ledger, by who is party to it.
        Principal::System { institution, .. } => (
            Access::lookup(
                Action::ReadConsentHistory,
                ledger_of_student(student.clone(), None),
                record,
                Purpose::Supervision,
            ),
            Some(institution.clone()),
        ),
        // Staff (privacy officers): on their institution, or the broker.
        principal => (
            Access::new(
                Action::ReadConsentHistory,
                principal
                    .institution()
                    .cloned()
                    .map(Resource::Institution)
                    .unwrap_or(Resource::Broker),
                record,
                Purpose::Supervision,
            ),
            None,
        ),
    };
    let scope = caller.principal.institution().cloned();
    perform_in(
        &app.store,
        app.clock.now(),
        caller,
        access.about(student.clone()),
        |ctx| {
            let (consents, inspections) = match school {
                Some(school) => (
                    consents::for_owner(ctx.conn, &student, &school)?,
                    inspections::for_school(ctx.conn, &student, &school)?,
                ),
                None => ledger_in_scope(ctx.conn, &student, scope.as_ref())?,
            };
            Ok(History {
                consents: consents.into_iter().map(consent_event_view).collect(),
                inspections: inspections.into_iter().map(inspection_view).collect(),
            })
        },
    )
}
