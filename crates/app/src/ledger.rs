//! The consent and inspection ledger: what a school recorded for a student
//! at a recipient, read back for the checks of the exchange.

use doorstroom_domain::{Brin, ConsentEvent, ConsentLedger, Pseudonym};
use doorstroom_store::consents::{self, ConsentEventRow};
use doorstroom_store::inspections::{self, InspectionRow};
use doorstroom_store::{DbConn, applications};

use crate::AppError;

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

/// The ledger records of a student an institution's privacy officer sees
/// (the broker's, `scope` `None`: all): those the institution recorded (a
/// school), consent given for it (an mbo), and the inspections recorded by
/// the schools that send the student to it (those its packages wait for).
/// The one rule for the history and the art. 15 report.
pub fn ledger_in_scope(
    conn: &mut DbConn,
    student: &Pseudonym,
    scope: Option<&Brin>,
) -> Result<(Vec<ConsentEventRow>, Vec<InspectionRow>), AppError> {
    let consents = consents::for_student(conn, student)?;
    let inspections = inspections::for_student(conn, student)?;
    let Some(own) = scope else {
        return Ok((consents, inspections));
    };
    let sending_to_own = applications::sending_schools(conn, student, Some(own))?;
    Ok((
        consents
            .into_iter()
            .filter(|c| &c.school == own || &c.recipient == own)
            .collect(),
        inspections
            .into_iter()
            .filter(|i| &i.school == own || sending_to_own.contains(&i.school))
            .collect(),
    ))
}
