//! The consent and inspection ledger: what a school recorded for a student
//! at a recipient, read back for the checks of the exchange.

use doorstroom_domain::{Brin, ConsentEvent, ConsentLedger, Pseudonym};
use doorstroom_store::DbConn;
use doorstroom_store::consents::{self, ConsentEventRow};

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
