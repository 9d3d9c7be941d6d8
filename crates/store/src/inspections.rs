//! Inspections (inzage): the record that the student and/or parents saw the
//! dossier before it goes, and whether they added remarks.
//!
//! Recorded by the vo school, which owns the record (`school`): a package
//! is checked only against its sender's inspections ([`for_school`]);
//! append-only like the consent ledger (triggers refuse `UPDATE` and
//! `DELETE`; erasure of a student's data will lift this deliberately).
//! `inspected_by` says who inspected ([`InspectedBy`], never a name),
//! stored in its wire spelling, and `recorded_by` is read back as an
//! [`ActorRef`]; a stored value that does not parse is
//! [`StoreError::Corrupt`], never a record left out (a package is checked
//! against these records).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{ActorRef, Brin, InspectedBy, LedgerParties, LedgerRecord, Pseudonym};
use uuid::Uuid;

use crate::parse_id;
use crate::schema::inspections;
use crate::{DbConn, StoreError, from_ms, guarded, parsed, to_ms};

/// What [`record`] stores; the store assigns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInspection {
    pub student: Pseudonym,
    /// The vo school recording it.
    pub school: Brin,
    /// When the dossier was inspected.
    pub at: DateTime<Utc>,
    /// Who inspected.
    pub inspected_by: InspectedBy,
    /// Whether remarks were added after the inspection.
    pub remarks_added: bool,
    /// When it was recorded at the broker.
    pub recorded_at: DateTime<Utc>,
    /// The recording actor (stored as `system:<fingerprint>`, `staff:<uuid>`).
    pub recorded_by: ActorRef,
}

/// A stored inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionRow {
    pub id: Uuid,
    pub student: Pseudonym,
    pub school: Brin,
    pub at: DateTime<Utc>,
    pub inspected_by: InspectedBy,
    pub remarks_added: bool,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: ActorRef,
}

impl LedgerRecord for InspectionRow {
    fn parties(&self) -> LedgerParties<'_> {
        LedgerParties::Inspection { school: &self.school }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = inspections)]
struct Row {
    id: String,
    student: String,
    school: String,
    at: i64,
    inspected_by: String,
    remarks_added: bool,
    recorded_at: i64,
    recorded_by: String,
}

impl Row {
    fn into_domain(self) -> Result<InspectionRow, StoreError> {
        Ok(InspectionRow {
            id: parse_id(&self.id, "inspections", "id")?,
            student: parsed(Pseudonym::parse(&self.student), "inspections", "student")?,
            school: parsed(Brin::parse(&self.school), "inspections", "school")?,
            at: from_ms(self.at, "inspections", "at")?,
            recorded_at: from_ms(self.recorded_at, "inspections", "recorded_at")?,
            inspected_by: parsed(InspectedBy::parse(&self.inspected_by), "inspections", "inspected_by")?,
            remarks_added: self.remarks_added,
            recorded_by: parsed(ActorRef::parse(&self.recorded_by), "inspections", "recorded_by")?,
        })
    }
}

/// Records an inspection under a new id and returns it as stored. An
/// unknown school is `NotFound`; on error nothing is stored and the
/// surrounding transaction stays usable.
pub fn record(conn: &mut DbConn, new: &NewInspection) -> Result<InspectionRow, StoreError> {
    let row = Row {
        id: Uuid::new_v4().to_string(),
        student: new.student.as_str().to_owned(),
        school: new.school.as_str().to_owned(),
        at: to_ms(new.at),
        inspected_by: new.inspected_by.as_str().to_owned(),
        remarks_added: new.remarks_added,
        recorded_at: to_ms(new.recorded_at),
        recorded_by: new.recorded_by.to_string(),
    };
    guarded(conn, "inspection", |c| {
        diesel::insert_into(inspections::table).values(&row).execute(c)
    })?;
    row.into_domain()
}

/// The inspections one school recorded of a student, oldest first (as
/// [`for_student`]): that school's own records, and the only ones a package
/// from that school is checked against.
pub fn for_school(conn: &mut DbConn, student: &Pseudonym, school: &Brin) -> Result<Vec<InspectionRow>, StoreError> {
    oldest_first(conn, student, Some(school))
}

/// The schools that recorded inspections of a student, each once, sorted.
pub fn schools(conn: &mut DbConn, student: &Pseudonym) -> Result<Vec<Brin>, StoreError> {
    inspections::table
        .filter(inspections::student.eq(student.as_str()))
        .select(inspections::school)
        .distinct()
        .order(inspections::school.asc())
        .load::<String>(conn)?
        .iter()
        .map(|school| parsed(Brin::parse(school), "inspections", "school"))
        .collect()
}

/// The inspections of a student, at every school, oldest first (by `at`,
/// then by recording time and id). Empty if there are none.
pub fn for_student(conn: &mut DbConn, student: &Pseudonym) -> Result<Vec<InspectionRow>, StoreError> {
    oldest_first(conn, student, None)
}

/// The inspections of `student` (recorded by `school` only, when given),
/// oldest first. Two fixed queries rather than one boxed query with an
/// optional filter: diesel looks a boxed query up in its statement cache
/// by its SQL text, which it writes out again at every execution, and a
/// submission runs this one inside the batch's serial section.
fn oldest_first(
    conn: &mut DbConn,
    student: &Pseudonym,
    school: Option<&Brin>,
) -> Result<Vec<InspectionRow>, StoreError> {
    let of_student = inspections::table
        .filter(inspections::student.eq(student.as_str()))
        .order((
            inspections::at.asc(),
            inspections::recorded_at.asc(),
            inspections::id.asc(),
        ));
    // The select clause is the backend's own: chosen inside each arm.
    let rows = match school {
        Some(school) => {
            let of_school = of_student.filter(inspections::school.eq(school.as_str()));
            crate::on_backend!(conn, |c| of_school.select(Row::as_select()).load(c))?
        }
        None => crate::on_backend!(conn, |c| of_student.select(Row::as_select()).load(c))?,
    };
    rows.into_iter().map(Row::into_domain).collect()
}
