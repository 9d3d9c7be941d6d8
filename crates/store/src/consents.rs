//! The consent ledger: append-only consent events (given, withdrawn,
//! expired) per student × receiving institution × section, each owned by
//! the sending school that recorded it (`school`).
//!
//! Every school keeps its own ledger: the reads a decision is made on
//! ([`for_owner_recipient`], [`for_owner`]) name the owner, so one
//! school's consent never counts for another school's package (see
//! `doorstroom_domain::authz`, "The consent and inspection ledger").
//! [`for_student`] reads across owners; it is for the broker's privacy
//! officer and the art. 15 report, which filter it themselves.
//!
//! The store keeps the events and nothing else: the consent state in force
//! is derived from them (by the domain), never stored beside them. Each
//! event carries the broker-signed receipt handed to the student; its id is
//! the event's id. The table is append-only: triggers refuse `UPDATE` and
//! `DELETE`, so an event can neither be rewritten nor removed. (Erasure of a
//! student's data on request will lift this deliberately.)
//!
//! The enumerations `kind`, `given_by` and `method` are stored in their
//! wire spelling and read back typed ([`ConsentEventKind`], [`GivenBy`],
//! [`ConsentMethod`]); the database also refuses other spellings of the
//! first two (a `CHECK`); `recorded_by` is read back as an [`ActorRef`].
//! A stored event that does not parse is
//! [`StoreError::Corrupt`]: every read fails rather than leave the event
//! out, since a ledger without its withdrawal would show the consent as
//! still given. `purpose` and the rest are the caller's to validate.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{
    ActorRef, Brin, ConsentEventKind, ConsentMethod, GivenBy, LedgerParties, LedgerRecord, Pseudonym, Section,
};
use uuid::Uuid;

use crate::parse_id;
use crate::schema::consent_events;
use crate::{DbConn, StoreError, from_ms, from_ms_opt, guarded, parsed, to_ms};

/// What [`append`] stores. The caller chooses the id, because the signed
/// receipt names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsentEvent {
    /// The event id, also the receipt id.
    pub id: Uuid,
    pub student: Pseudonym,
    /// The receiving institution the consent is for.
    pub recipient: Brin,
    /// The sending school that records the event: its owner.
    pub school: Brin,
    pub section: Section,
    pub kind: ConsentEventKind,
    /// The purpose consented to ("intake and support at the mbo").
    pub purpose: String,
    /// When the consent was given, withdrawn or expired.
    pub at: DateTime<Utc>,
    pub given_by: GivenBy,
    /// Whether the student was under 16 on `at` (all the broker keeps of
    /// the date of birth).
    pub student_under_16: bool,
    /// How it was expressed (paper form, in person, digital).
    pub method: ConsentMethod,
    /// A reference to the evidence kept by the school (never the evidence).
    pub evidence_ref: String,
    /// The version of the notice shown.
    pub notice_version: String,
    /// When a given consent ends by itself, if it does.
    pub valid_until: Option<DateTime<Utc>>,
    /// The recording actor (stored as `system:<fingerprint>`, `staff:<uuid>`).
    pub recorded_by: ActorRef,
    /// The broker-signed receipt (compact JWS).
    pub receipt: String,
}

/// A stored consent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEventRow {
    /// The append order across the ledger: a later event has a larger `n`.
    /// Numbers are not necessarily consecutive.
    pub n: i64,
    pub id: Uuid,
    pub student: Pseudonym,
    pub recipient: Brin,
    /// The owner: the sending school that recorded it.
    pub school: Brin,
    pub section: Section,
    pub kind: ConsentEventKind,
    pub purpose: String,
    pub at: DateTime<Utc>,
    pub given_by: GivenBy,
    pub student_under_16: bool,
    pub method: ConsentMethod,
    pub evidence_ref: String,
    pub notice_version: String,
    pub valid_until: Option<DateTime<Utc>>,
    pub recorded_by: ActorRef,
    pub receipt: String,
}

impl LedgerRecord for ConsentEventRow {
    fn parties(&self) -> LedgerParties<'_> {
        LedgerParties::Consent {
            school: &self.school,
            recipient: &self.recipient,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = consent_events)]
struct NewRow<'a> {
    id: String,
    student: &'a str,
    recipient: &'a str,
    section: &'static str,
    kind: &'static str,
    purpose: &'a str,
    at: i64,
    given_by: &'static str,
    student_under_16: bool,
    method: &'static str,
    evidence_ref: &'a str,
    notice_version: &'a str,
    valid_until: Option<i64>,
    recorded_by: String,
    receipt: &'a str,
    school: &'a str,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = consent_events)]
struct Row {
    n: i64,
    id: String,
    student: String,
    recipient: String,
    section: String,
    kind: String,
    purpose: String,
    at: i64,
    given_by: String,
    student_under_16: bool,
    method: String,
    evidence_ref: String,
    notice_version: String,
    valid_until: Option<i64>,
    recorded_by: String,
    receipt: String,
    school: String,
}

impl Row {
    fn into_domain(self) -> Result<ConsentEventRow, StoreError> {
        Ok(ConsentEventRow {
            n: self.n,
            id: parse_id(&self.id, "consent_events", "id")?,
            student: parsed(Pseudonym::parse(&self.student), "consent_events", "student")?,
            recipient: parsed(Brin::parse(&self.recipient), "consent_events", "recipient")?,
            school: parsed(Brin::parse(&self.school), "consent_events", "school")?,
            section: parsed(Section::parse(&self.section), "consent_events", "section")?,
            at: from_ms(self.at, "consent_events", "at")?,
            valid_until: from_ms_opt(self.valid_until, "consent_events", "valid_until")?,
            kind: parsed(ConsentEventKind::parse(&self.kind), "consent_events", "kind")?,
            given_by: parsed(GivenBy::parse(&self.given_by), "consent_events", "given_by")?,
            method: parsed(ConsentMethod::parse(&self.method), "consent_events", "method")?,
            purpose: self.purpose,
            student_under_16: self.student_under_16,
            evidence_ref: self.evidence_ref,
            notice_version: self.notice_version,
            recorded_by: parsed(ActorRef::parse(&self.recorded_by), "consent_events", "recorded_by")?,
            receipt: self.receipt,
        })
    }
}

/// Appends a consent event and returns it as stored (with its `n`).
///
/// An id already stored is `Conflict("consent_event")`; an unknown
/// recipient or school is `NotFound`. On error nothing is stored and the
/// surrounding transaction stays usable (for the audit event of the
/// rejection).
pub fn append(conn: &mut DbConn, event: &NewConsentEvent) -> Result<ConsentEventRow, StoreError> {
    let id = event.id.to_string();
    let row = NewRow {
        id: id.clone(),
        student: event.student.as_str(),
        recipient: event.recipient.as_str(),
        section: event.section.as_str(),
        kind: event.kind.as_str(),
        purpose: &event.purpose,
        at: to_ms(event.at),
        given_by: event.given_by.as_str(),
        student_under_16: event.student_under_16,
        method: event.method.as_str(),
        evidence_ref: &event.evidence_ref,
        notice_version: &event.notice_version,
        valid_until: event.valid_until.map(to_ms),
        recorded_by: event.recorded_by.to_string(),
        receipt: &event.receipt,
        school: event.school.as_str(),
    };
    guarded(conn, "consent_event", |c| {
        diesel::insert_into(consent_events::table).values(&row).execute(c)
    })?;
    get(conn, event.id)?.ok_or_else(|| StoreError::corrupt("consent_events", "id", "the appended event is missing"))
}

/// The consent event with this id (also the receipt id), if any.
pub fn get(conn: &mut DbConn, id: Uuid) -> Result<Option<ConsentEventRow>, StoreError> {
    consent_events::table
        .find(id.to_string())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}

/// Every consent event of a student, for every recipient and section, in
/// append order. Empty if there are none.
pub fn for_student(conn: &mut DbConn, student: &Pseudonym) -> Result<Vec<ConsentEventRow>, StoreError> {
    consent_events::table
        .filter(consent_events::student.eq(student.as_str()))
        .order(consent_events::n.asc())
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

/// The consent events one school recorded for a student, every recipient
/// and section, in append order: that school's own ledger of the student.
pub fn for_owner(conn: &mut DbConn, student: &Pseudonym, school: &Brin) -> Result<Vec<ConsentEventRow>, StoreError> {
    owned(conn, student, school, None)
}

/// The consent events one school recorded for a student going to one
/// recipient, every section, in append order: what the consent state of
/// that school's packages to that recipient is derived from (and nothing
/// another school recorded).
pub fn for_owner_recipient(
    conn: &mut DbConn,
    student: &Pseudonym,
    school: &Brin,
    recipient: &Brin,
) -> Result<Vec<ConsentEventRow>, StoreError> {
    owned(conn, student, school, Some(recipient))
}

/// The events `school` recorded for `student` (to `recipient` only, when
/// given), in append order.
fn owned(
    conn: &mut DbConn,
    student: &Pseudonym,
    school: &Brin,
    recipient: Option<&Brin>,
) -> Result<Vec<ConsentEventRow>, StoreError> {
    // Two fixed queries, not one boxed query with an optional filter: a
    // boxed query is looked up in diesel's statement cache by its SQL text,
    // written out again at every execution (`inspections::oldest_first`).
    let of_student = consent_events::table
        .filter(consent_events::school.eq(school.as_str()))
        .filter(consent_events::student.eq(student.as_str()))
        .order(consent_events::n.asc());
    // The select clause is the backend's own: chosen inside each arm.
    let rows = match recipient {
        Some(recipient) => {
            let of_recipient = of_student.filter(consent_events::recipient.eq(recipient.as_str()));
            crate::on_backend!(conn, |c| of_recipient.select(Row::as_select()).load(c))?
        }
        None => crate::on_backend!(conn, |c| of_student.select(Row::as_select()).load(c))?,
    };
    rows.into_iter().map(Row::into_domain).collect()
}

/// The schools that recorded consent events for a student (for one
/// recipient, when given), each once, sorted: the owners of its ledgers.
pub fn owners(conn: &mut DbConn, student: &Pseudonym, recipient: Option<&Brin>) -> Result<Vec<Brin>, StoreError> {
    let of_student = consent_events::table
        .filter(consent_events::student.eq(student.as_str()))
        .select(consent_events::school)
        .distinct()
        .order(consent_events::school.asc());
    let schools: Vec<String> = match recipient {
        Some(recipient) => of_student
            .filter(consent_events::recipient.eq(recipient.as_str()))
            .load(conn)?,
        None => of_student.load(conn)?,
    };
    schools
        .iter()
        .map(|school| parsed(Brin::parse(school), "consent_events", "school"))
        .collect()
}

/// Serialises, until the end of the caller's transaction, the decisions
/// about one student's consent with the pulls that act on them: a
/// withdrawal and a pull of that student's package take it first thing, so
/// on PostgreSQL (where writes run concurrently) a pull either runs wholly
/// before a withdrawal — and is logged before it — or wholly after and sees
/// it. Without it a repeated pull of a section delivered earlier locks no
/// row: it could read the consent in force, wait for the audit tail while
/// the withdrawal commits, and be logged after a withdrawal it did not see.
/// A transaction-scoped advisory lock on a 32-bit key from the pseudonym
/// (two students sharing a key only wait for each other). SQLite's writes
/// are serial already: nothing to do there.
pub fn lock_student(conn: &mut DbConn, student: &Pseudonym) -> Result<(), StoreError> {
    /// The advisory lock class of these locks ("door").
    const STUDENT_LOCKS: i32 = 0x646f_6f72;
    if let DbConn::Postgres(c) = conn {
        let key = student
            .as_str()
            .get(..8)
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .ok_or_else(|| StoreError::corrupt("consent_events", "student", "not a pseudonym"))?;
        // Both numbers are ours, not the caller's text.
        diesel::connection::SimpleConnection::batch_execute(
            c,
            &format!("SELECT pg_advisory_xact_lock({STUDENT_LOCKS}, {})", key as i32),
        )?;
    }
    Ok(())
}
