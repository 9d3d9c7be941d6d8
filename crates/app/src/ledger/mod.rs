//! The consent and inspection ledger. The vo school's system records that
//! the student and/or parents inspected the dossier (inzage,
//! [`record_inspection`]), and that the student — or a parent, under 16 —
//! gave or withdrew consent for a section to go to one mbo
//! ([`give_consent`], [`withdraw_consent`]). Every event is appended, never
//! changed; the state in force is derived from the events at the moment it
//! is asked for (the domain's [`ConsentLedger`]). Each consent event
//! returns a receipt signed by the broker that the school hands to the
//! student and anyone can check with `GET /v1/broker/jwks`. Who recorded
//! what is read back with [`consent_history`].
//!
//! Every record belongs to the school that recorded it, and each school
//! keeps its own ledger of a student. Who may record or read is decided by
//! the domain on a [`Resource::StudentLedger`] found inside the audited
//! transaction ([`ledger_of_student`]); a school that is not party to the
//! student gets the "not found" of a student nobody knows. See
//! `doorstroom_domain::authz`, "The consent and inspection ledger".

mod consent;
mod history;
mod inspection;

pub use consent::{ConsentCommand, LinkWithdrawal, Withdrawal, give_consent, withdraw_consent, withdraw_via_link};
pub use history::consent_history;
pub use inspection::record_inspection;

use doorstroom_api::consents::{ConsentEventView, InspectionView};
use doorstroom_domain::{Brin, ConsentEvent, ConsentLedger, InstitutionStatus, OfficerScope, Pseudonym, Resource};
use doorstroom_store::consents::{self, ConsentEventRow};
use doorstroom_store::inspections::{self, InspectionRow};
use doorstroom_store::{DbConn, applications, institutions};

use crate::{AppError, Caller, Located};

/// The ledger folded from every stored event (the store refuses to read
/// an event that does not parse, so none is left out).
pub fn ledger_of(rows: &[ConsentEventRow]) -> ConsentLedger {
    ConsentLedger::from_events(rows.iter().map(|row| ConsentEvent {
        kind: row.kind,
        recipient: row.recipient.clone(),
        section: row.section,
        at: row.at,
        valid_until: row.valid_until,
    }))
}

/// The consent in force for `student` at `recipient` as `school` recorded
/// it: the ledger a package from `school` is checked against (and no other
/// school's).
pub fn consent_ledger(
    conn: &mut DbConn,
    student: &Pseudonym,
    school: &Brin,
    recipient: &Brin,
) -> Result<ConsentLedger, AppError> {
    Ok(ledger_of(&consents::for_owner_recipient(
        conn, student, school, recipient,
    )?))
}

/// Locates a student's ledger for the policy: who is party to it. With a
/// `recipient` (consent), the schools that send for the student to that
/// recipient and those that recorded consent for it; without (inspections,
/// history), the schools that send for the student anywhere and those that
/// recorded anything about it.
///
/// A recipient that is no registered active mbo has no applications, so
/// nobody would be party and even the student's own school would get 404
/// for a typing error; then the schools sending anywhere count, and the
/// request goes on to be refused with its 422 (the registry is public, so
/// that answer tells a school nothing about the student).
pub fn ledger_of_student(
    student: Pseudonym,
    recipient: Option<Brin>,
) -> impl FnOnce(&mut DbConn) -> Result<Option<Located>, AppError> + Send + 'static {
    move |conn| {
        let recipient = match recipient {
            Some(r) => match institutions::get(conn, &r)? {
                Some(i) if i.status == InstitutionStatus::Active && i.sector.is_receiving() => Some(r),
                _ => None,
            },
            None => None,
        };
        let sending_schools = applications::sending_schools(conn, &student, recipient.as_ref())?;
        let mut owners = consents::owners(conn, &student, recipient.as_ref())?;
        if recipient.is_none() {
            owners.extend(inspections::schools(conn, &student)?);
            owners.sort();
            owners.dedup();
        }
        Ok(Some(Located {
            resource: Resource::StudentLedger {
                sending_schools,
                owners,
            },
            data_subject: Some(student),
        }))
    }
}

/// The ledger records of a student an institution's privacy officer sees
/// (the broker's, `scope` `None`: all), by the domain's [`OfficerScope`]:
/// those the institution recorded (a school), consent given for it (an
/// mbo), and the inspections recorded by the schools that send the student
/// to it (those its packages wait for). The one rule for the history and
/// the art. 15 report.
pub fn ledger_in_scope(
    conn: &mut DbConn,
    student: &Pseudonym,
    scope: Option<&Brin>,
) -> Result<(Vec<ConsentEventRow>, Vec<InspectionRow>), AppError> {
    let consents = consents::for_student(conn, student)?;
    let inspections = inspections::for_student(conn, student)?;
    let sending_to_it = match scope {
        Some(own) => applications::sending_schools(conn, student, Some(own))?,
        None => Vec::new(),
    };
    let scope = match scope {
        Some(institution) => OfficerScope::Institution {
            institution,
            sending_to_it: &sending_to_it,
        },
        None => OfficerScope::Broker,
    };
    Ok((scope.filter(consents), scope.filter(inspections)))
}

/// A stored consent event as the history and the report show it.
pub fn consent_event_view(row: ConsentEventRow) -> ConsentEventView {
    ConsentEventView {
        receipt_id: row.id,
        recipient: row.recipient.to_string(),
        school: row.school.to_string(),
        section: row.section,
        event: row.kind.as_str().to_owned(),
        purpose: row.purpose,
        at: row.at,
        given_by: row.given_by.as_str().to_owned(),
        student_under_16: row.student_under_16,
        method: row.method.as_str().to_owned(),
        evidence_ref: row.evidence_ref,
        notice_version: row.notice_version,
        valid_until: row.valid_until,
    }
}

/// A stored inspection as the history and the report show it.
pub fn inspection_view(row: InspectionRow) -> InspectionView {
    InspectionView {
        id: row.id,
        school: row.school.to_string(),
        inspected_at: row.at,
        inspected_by: row.inspected_by.as_str().to_owned(),
        remarks_added: row.remarks_added,
        recorded_at: row.recorded_at,
    }
}

/// The recording school: the caller's institution (a school's system
/// always has one).
fn own_institution(caller: Caller<'_>) -> Result<Brin, AppError> {
    caller.principal.institution().cloned().ok_or(AppError::Forbidden)
}
