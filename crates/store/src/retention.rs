//! Storage limitation and erasure: finding what is due for deletion under
//! the retention rules ([`doorstroom_domain::retention`]) and deleting it.
//!
//! The rules themselves are the domain's; the store supplies their facts
//! and pre-selects candidates in SQL with exactly the rules' conditions
//! (each rule is "a moment plus a period has passed", an index-friendly
//! `moment <= now - period`), so the caller can confirm each candidate with
//! the domain's `*_purge_reason` and write the reason into the audit event.
//! Nothing here writes audit events: the caller ([`doorstroom_server`'s
//! purge and erasure]) appends one per deleted record in the same
//! transaction (one per batch for pruned audit events, see below).
//!
//! # The append-only ledger
//! `consent_events` and `inspections` refuse `DELETE` by trigger unless a
//! row in `deletion_permits` names the table (migration
//! `2026-03-06-000000_retention`). [`with_permit`] inserts that row, runs the
//! deletion and removes the row again, all in the caller's transaction, so
//! no other transaction ever sees a permit. Only the functions of this
//! module use it.
//!
//! # The audit log
//! [`prune_audit`] deletes audit events after the audit period, through a
//! door of its own (migration `2026-03-08-000000_audit_prune`): a DELETE on
//! `audit_events` passes only while a row in `audit_prune_permits` lies
//! above the event's seq and the event lies within the latest checkpoint.
//! It prunes a prefix of the log and records the new boundary in
//! `audit_prunes`; `audit_hashes` and `audit_checkpoints` have no door (see
//! [`crate::merkle`] for how the log stays verifiable).
//!
//! # Several broker nodes
//! [`try_lock_purge`] takes a transaction-level PostgreSQL advisory lock, so
//! only one node purges at a time (the others skip their turn instead of
//! deleting the same rows twice); SQLite serialises writers anyway.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::{exists, max, not};
use diesel::prelude::*;
use doorstroom_domain::retention::has_ended;
use doorstroom_domain::{
    ApplicationFacts, ApplicationStatus, Brin, LedgerFacts, PackageFacts, Pseudonym, RetentionPolicy,
};
use uuid::Uuid;

use crate::applications::parse_id;
use crate::schema::{
    application_status_events, applications, applications_gone, audit_events, audit_prune_permits, audit_prunes,
    consent_events, deletion_permits, inspections, package_sections, packages,
};
use crate::{DbConn, StoreError, from_ms, from_ms_opt, parsed, to_ms};

/// Key of the transaction-level advisory lock that one purge batch holds
/// on PostgreSQL.
const PG_PURGE_LOCK: i64 = 0x646f_6f72_7075_7267; // "doorpurg"

/// Takes the purge lock for the rest of the current transaction: `false`
/// when another node's purge holds it (PostgreSQL); always `true` on SQLite,
/// whose `BEGIN IMMEDIATE` already makes this the only writer.
pub fn try_lock_purge(conn: &mut DbConn) -> Result<bool, StoreError> {
    match conn {
        DbConn::Sqlite(_) => Ok(true),
        DbConn::Postgres(pg) => {
            #[derive(QueryableByName)]
            struct Locked {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                locked: bool,
            }
            let row: Locked = diesel::sql_query(format!("SELECT pg_try_advisory_xact_lock({PG_PURGE_LOCK}) AS locked"))
                .get_result(pg)?;
            Ok(row.locked)
        }
    }
}

/// Waits for the purge lock and holds it for the rest of the current
/// transaction (PostgreSQL; SQLite serialises writers anyway), so that an
/// erasure and a purge batch never work on the same records at once.
fn lock_purge(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({PG_PURGE_LOCK})")).execute(pg)?;
    }
    Ok(())
}

/// An append-only ledger table that [`with_permit`] opens for deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ledger {
    ConsentEvents,
    Inspections,
}

impl Ledger {
    const fn table(self) -> &'static str {
        match self {
            Ledger::ConsentEvents => "consent_events",
            Ledger::Inspections => "inspections",
        }
    }
}

/// Runs `delete` while a deletion permit for `ledger` exists, inside the
/// caller's transaction, and removes the permit again before returning
/// (also when `delete` failed: the caller's transaction then rolls back).
fn with_permit<T>(
    conn: &mut DbConn,
    ledger: Ledger,
    delete: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    diesel::insert_into(deletion_permits::table)
        .values(deletion_permits::table_name.eq(ledger.table()))
        .execute(conn)?;
    let result = delete(conn);
    let removed =
        diesel::delete(deletion_permits::table.filter(deletion_permits::table_name.eq(ledger.table()))).execute(conn);
    let value = result?;
    removed?;
    Ok(value)
}

/// `now - period` in stored milliseconds, saturating.
fn cutoff(now: DateTime<Utc>, period: Duration) -> i64 {
    to_ms(now).saturating_sub(period.num_milliseconds())
}

/// The spellings of the statuses in which an application has ended, for
/// retention ([`has_ended`]).
fn ended_statuses() -> Vec<&'static str> {
    ApplicationStatus::ALL
        .iter()
        .copied()
        .filter(|s| has_ended(*s))
        .map(|s| s.as_str())
        .collect()
}

fn status_of(raw: &str, what: &'static str) -> Result<ApplicationStatus, StoreError> {
    parsed(ApplicationStatus::parse(raw), what)
}

/// The moment the application's current status was reported, if it is an
/// end status: `updated_at` changes only with the status
/// ([`crate::applications::set_status`]).
fn ended_at(status: ApplicationStatus, updated_at: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
    if has_ended(status) {
        from_ms(updated_at, "applications.updated_at").map(Some)
    } else {
        Ok(None)
    }
}

/// A package whose retention may have run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageCandidate {
    pub id: String,
    pub application_id: Uuid,
    pub sender: Brin,
    pub recipient: Brin,
    pub student: Pseudonym,
    pub facts: PackageFacts,
}

type PackageJoinRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    i64,
);

fn package_candidate(row: PackageJoinRow) -> Result<PackageCandidate, StoreError> {
    let (id, application_id, sender, recipient, student, submitted_at, delivered_at, acknowledged_at, status, updated) =
        row;
    let application_status = status_of(&status, "applications.status")?;
    Ok(PackageCandidate {
        application_id: parse_id(&application_id, "packages.application_id")?,
        sender: parsed(Brin::parse(&sender), "packages.sender")?,
        recipient: parsed(Brin::parse(&recipient), "packages.recipient")?,
        student: parsed(Pseudonym::parse(&student), "packages.student")?,
        facts: PackageFacts {
            submitted_at: from_ms(submitted_at, "packages.submitted_at")?,
            delivered_at: from_ms_opt(delivered_at, "packages.delivered_at")?,
            acknowledged_at: from_ms_opt(acknowledged_at, "packages.acknowledged_at")?,
            application_status,
            application_ended_at: ended_at(application_status, updated)?,
        },
        id,
    })
}

const PACKAGE_COLUMNS: (
    packages::id,
    packages::application_id,
    packages::sender,
    packages::recipient,
    packages::student,
    packages::submitted_at,
    packages::delivered_at,
    packages::acknowledged_at,
    applications::status,
    applications::updated_at,
) = (
    packages::id,
    packages::application_id,
    packages::sender,
    packages::recipient,
    packages::student,
    packages::submitted_at,
    packages::delivered_at,
    packages::acknowledged_at,
    applications::status,
    applications::updated_at,
);

/// Up to `limit` packages for which one of the package rules has fired at
/// `now`, oldest submission first, with their facts.
pub fn due_packages(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<PackageCandidate>, StoreError> {
    let p = policy.periods();
    packages::table
        .inner_join(applications::table.on(applications::id.eq(packages::application_id)))
        .filter(
            packages::submitted_at
                .le(cutoff(now, p.package_max))
                .or(packages::delivered_at
                    .is_not_null()
                    .and(packages::acknowledged_at.le(cutoff(now, p.package_after_acknowledged))))
                .or(applications::status
                    .eq_any(ended_statuses())
                    .and(applications::updated_at.le(cutoff(now, p.package_after_application_end)))),
        )
        .order((packages::submitted_at.asc(), packages::id.asc()))
        .limit(limit.max(0))
        .select(PACKAGE_COLUMNS)
        .load::<PackageJoinRow>(conn)?
        .into_iter()
        .map(package_candidate)
        .collect()
}

/// The packages of one application, with their facts (for an application
/// that goes with its packages).
pub fn packages_of(conn: &mut DbConn, application_id: Uuid) -> Result<Vec<PackageCandidate>, StoreError> {
    packages::table
        .inner_join(applications::table.on(applications::id.eq(packages::application_id)))
        .filter(packages::application_id.eq(application_id.to_string()))
        .order((packages::submitted_at.asc(), packages::id.asc()))
        .select(PACKAGE_COLUMNS)
        .load::<PackageJoinRow>(conn)?
        .into_iter()
        .map(package_candidate)
        .collect()
}

/// The retention facts of one package (for the expiry shown to users), or
/// `None` if there is no such package.
pub fn package_facts(conn: &mut DbConn, id: &str) -> Result<Option<PackageFacts>, StoreError> {
    packages::table
        .inner_join(applications::table.on(applications::id.eq(packages::application_id)))
        .filter(packages::id.eq(id))
        .select(PACKAGE_COLUMNS)
        .first::<PackageJoinRow>(conn)
        .optional()?
        .map(|row| package_candidate(row).map(|c| c.facts))
        .transpose()
}

/// Deletes a package and its sections. `false` if it was already gone.
pub fn delete_package(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    diesel::delete(package_sections::table.filter(package_sections::package_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(packages::table.find(id)).execute(conn)? > 0)
}

/// An application whose retention may have run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationCandidate {
    pub id: Uuid,
    pub student: Pseudonym,
    pub receiving: Brin,
    pub sending: Option<Brin>,
    pub facts: ApplicationFacts,
}

type ApplicationRow = (String, String, String, Option<String>, String, i64, i64);

fn application_candidate(row: ApplicationRow) -> Result<ApplicationCandidate, StoreError> {
    let (id, student, receiving, sending, status, created_at, updated_at) = row;
    let status = status_of(&status, "applications.status")?;
    Ok(ApplicationCandidate {
        id: parse_id(&id, "applications.id")?,
        student: parsed(Pseudonym::parse(&student), "applications.student")?,
        receiving: parsed(Brin::parse(&receiving), "applications.receiving")?,
        sending: sending
            .as_deref()
            .map(|b| parsed(Brin::parse(b), "applications.sending"))
            .transpose()?,
        facts: ApplicationFacts {
            created_at: from_ms(created_at, "applications.created_at")?,
            status,
            ended_at: ended_at(status, updated_at)?,
        },
    })
}

const APPLICATION_COLUMNS: (
    applications::id,
    applications::student,
    applications::receiving,
    applications::sending,
    applications::status,
    applications::created_at,
    applications::updated_at,
) = (
    applications::id,
    applications::student,
    applications::receiving,
    applications::sending,
    applications::status,
    applications::created_at,
    applications::updated_at,
);

/// Up to `limit` applications for which an application rule has fired at
/// `now`, oldest first, with their facts.
pub fn due_applications(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ApplicationCandidate>, StoreError> {
    let p = policy.periods();
    applications::table
        .filter(
            applications::created_at
                .le(cutoff(now, p.application_max))
                .or(applications::status
                    .eq_any(ended_statuses())
                    .and(applications::updated_at.le(cutoff(now, p.application_after_end)))),
        )
        .order((applications::created_at.asc(), applications::id.asc()))
        .limit(limit.max(0))
        .select(APPLICATION_COLUMNS)
        .load::<ApplicationRow>(conn)?
        .into_iter()
        .map(application_candidate)
        .collect()
}

/// The retention facts of one application, or `None` if there is none.
pub fn application_facts(conn: &mut DbConn, id: Uuid) -> Result<Option<ApplicationFacts>, StoreError> {
    applications::table
        .find(id.to_string())
        .select(APPLICATION_COLUMNS)
        .first::<ApplicationRow>(conn)
        .optional()?
        .map(|row| application_candidate(row).map(|c| c.facts))
        .transpose()
}

/// Deletes an application (and its reported course), whose packages must be
/// gone already (the database refuses otherwise), and records at `now` that
/// the student's last application at the receiving and at the sending
/// school may be gone: the start of the ledger's period there. `false` if
/// it was already gone.
pub fn delete_application(
    conn: &mut DbConn,
    application: &ApplicationCandidate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let deleted = delete_application_row(conn, &application.id.to_string())?;
    if deleted {
        let institutions = std::iter::once(&application.receiving).chain(application.sending.as_ref());
        for institution in institutions {
            mark_gone(conn, &application.student, institution, now)?;
        }
    }
    Ok(deleted)
}

/// Deletes one application and its status history; `false` if it was gone
/// already.
fn delete_application_row(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    diesel::delete(application_status_events::table.filter(application_status_events::application_id.eq(id)))
        .execute(conn)?;
    Ok(diesel::delete(applications::table.find(id)).execute(conn)? > 0)
}

/// Records (or moves forward) the moment the student's last application at
/// `institution` went, when none is left there.
fn mark_gone(conn: &mut DbConn, student: &Pseudonym, institution: &Brin, now: DateTime<Utc>) -> Result<(), StoreError> {
    let remaining: i64 = applications::table
        .filter(applications::student.eq(student.as_str()))
        .filter(
            applications::receiving
                .eq(institution.as_str())
                .or(applications::sending.eq(institution.as_str())),
        )
        .count()
        .get_result(conn)?;
    if remaining > 0 {
        return Ok(());
    }
    // No ON CONFLICT over MultiConnection: replace the row.
    diesel::delete(
        applications_gone::table
            .filter(applications_gone::student.eq(student.as_str()))
            .filter(applications_gone::institution.eq(institution.as_str())),
    )
    .execute(conn)?;
    diesel::insert_into(applications_gone::table)
        .values((
            applications_gone::student.eq(student.as_str()),
            applications_gone::institution.eq(institution.as_str()),
            applications_gone::gone_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which part of the ledger a [`LedgerGroup`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LedgerKind {
    /// Consent events of a student for one receiving mbo.
    Consent,
    /// Inspections of a student recorded by one sending school.
    Inspection,
}

/// The ledger records of one student at one institution: they go together,
/// so that the consent state derived from them is never half deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerGroup {
    pub kind: LedgerKind,
    pub student: Pseudonym,
    pub institution: Brin,
}

/// A ledger group with its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerCandidate {
    pub group: LedgerGroup,
    pub facts: LedgerFacts,
}

/// Up to `limit` ledger groups for which a ledger rule may have fired at
/// `now`, with their facts: groups whose latest record is older than the
/// ledger's hard bound, and groups of a student whose last application at
/// that institution went more than `consent_after_application_gone` ago.
///
/// A consent event's moment is its `at` (the broker keeps no separate
/// recording time for consent; `at` may lie at most minutes ahead of the
/// broker's clock), an inspection's its `recorded_at`.
pub fn due_ledger_groups(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<LedgerCandidate>, StoreError> {
    let p = policy.periods();
    let hard = cutoff(now, p.application_max + p.consent_after_application_gone);
    let limit = limit.max(0);
    // Ordered and deduplicated by (kind, student, institution).
    let mut groups = BTreeSet::new();
    let consents: Vec<(String, String)> = consent_events::table
        .group_by((consent_events::student, consent_events::recipient))
        .having(max(consent_events::at).le(hard))
        .select((consent_events::student, consent_events::recipient))
        .limit(limit)
        .load(conn)?;
    for (student, institution) in consents {
        groups.insert((LedgerKind::Consent, student, institution));
    }
    let inspected: Vec<(String, String)> = inspections::table
        .group_by((inspections::student, inspections::school))
        .having(max(inspections::recorded_at).le(hard))
        .select((inspections::student, inspections::school))
        .limit(limit)
        .load(conn)?;
    for (student, institution) in inspected {
        groups.insert((LedgerKind::Inspection, student, institution));
    }
    // A mark whose student applied there again is not due (and stays until
    // that application goes, which moves it): left out here, so that such
    // marks cannot fill the limit ahead of the due ones.
    let applied_again = applications::table
        .filter(applications::student.eq(applications_gone::student))
        .filter(
            applications::receiving
                .eq(applications_gone::institution)
                .or(applications::sending.eq(applications_gone::institution.nullable())),
        );
    let gone: Vec<(String, String)> = applications_gone::table
        .filter(applications_gone::gone_at.le(cutoff(now, p.consent_after_application_gone)))
        .filter(not(exists(applied_again)))
        .order((applications_gone::gone_at.asc(), applications_gone::student.asc()))
        .select((applications_gone::student, applications_gone::institution))
        .limit(limit)
        .load(conn)?;
    for (student, institution) in gone {
        for kind in [LedgerKind::Consent, LedgerKind::Inspection] {
            if !ledger_ids(conn, &group(kind, &student, &institution)?)?.is_empty() {
                groups.insert((kind, student.clone(), institution.clone()));
            }
        }
    }
    let mut due = Vec::new();
    for (kind, student, institution) in groups.into_iter().take(usize::try_from(limit).unwrap_or(0)) {
        let group = group(kind, &student, &institution)?;
        if let Some(facts) = ledger_facts(conn, &group)? {
            due.push(LedgerCandidate { group, facts });
        }
    }
    Ok(due)
}

fn group(kind: LedgerKind, student: &str, institution: &str) -> Result<LedgerGroup, StoreError> {
    Ok(LedgerGroup {
        kind,
        student: parsed(Pseudonym::parse(student), "ledger student")?,
        institution: parsed(Brin::parse(institution), "ledger institution")?,
    })
}

/// The facts of a ledger group, or `None` when it has no records.
pub fn ledger_facts(conn: &mut DbConn, group: &LedgerGroup) -> Result<Option<LedgerFacts>, StoreError> {
    let (student, institution) = (group.student.as_str(), group.institution.as_str());
    let (latest, application_left) = match group.kind {
        LedgerKind::Consent => (
            consent_events::table
                .filter(consent_events::student.eq(student))
                .filter(consent_events::recipient.eq(institution))
                .select(max(consent_events::at))
                .first::<Option<i64>>(conn)?,
            diesel::select(exists(
                applications::table
                    .filter(applications::student.eq(student))
                    .filter(applications::receiving.eq(institution)),
            ))
            .get_result::<bool>(conn)?,
        ),
        LedgerKind::Inspection => (
            inspections::table
                .filter(inspections::student.eq(student))
                .filter(inspections::school.eq(institution))
                .select(max(inspections::recorded_at))
                .first::<Option<i64>>(conn)?,
            diesel::select(exists(
                applications::table
                    .filter(applications::student.eq(student))
                    .filter(applications::sending.eq(institution)),
            ))
            .get_result::<bool>(conn)?,
        ),
    };
    let Some(latest) = latest else {
        return Ok(None);
    };
    let gone = if application_left {
        None
    } else {
        applications_gone::table
            .filter(applications_gone::student.eq(student))
            .filter(applications_gone::institution.eq(institution))
            .select(applications_gone::gone_at)
            .first::<i64>(conn)
            .optional()?
    };
    Ok(Some(LedgerFacts {
        last_application_gone_at: from_ms_opt(gone, "applications_gone.gone_at")?,
        recorded_at: from_ms(latest, "ledger recorded_at")?,
    }))
}

/// The ids of the records of a ledger group, oldest first.
pub fn ledger_ids(conn: &mut DbConn, group: &LedgerGroup) -> Result<Vec<Uuid>, StoreError> {
    let (student, institution) = (group.student.as_str(), group.institution.as_str());
    let ids: Vec<String> = match group.kind {
        LedgerKind::Consent => consent_events::table
            .filter(consent_events::student.eq(student))
            .filter(consent_events::recipient.eq(institution))
            .order(consent_events::n.asc())
            .select(consent_events::id)
            .load(conn)?,
        LedgerKind::Inspection => inspections::table
            .filter(inspections::student.eq(student))
            .filter(inspections::school.eq(institution))
            .order((inspections::recorded_at.asc(), inspections::id.asc()))
            .select(inspections::id)
            .load(conn)?,
    };
    ids.iter().map(|id| parse_id(id, "ledger id")).collect()
}

/// Deletes every record of a ledger group and returns their ids.
pub fn delete_ledger_group(conn: &mut DbConn, group: &LedgerGroup) -> Result<Vec<Uuid>, StoreError> {
    let ids = ledger_ids(conn, group)?;
    let (student, institution) = (group.student.as_str(), group.institution.as_str());
    match group.kind {
        LedgerKind::Consent => with_permit(conn, Ledger::ConsentEvents, |c| {
            diesel::delete(
                consent_events::table
                    .filter(consent_events::student.eq(student))
                    .filter(consent_events::recipient.eq(institution)),
            )
            .execute(c)
            .map_err(StoreError::from)
        })?,
        LedgerKind::Inspection => with_permit(conn, Ledger::Inspections, |c| {
            diesel::delete(
                inspections::table
                    .filter(inspections::student.eq(student))
                    .filter(inspections::school.eq(institution)),
            )
            .execute(c)
            .map_err(StoreError::from)
        })?,
    };
    Ok(ids)
}

/// Whether the student has consent or inspection records at the
/// institution: what a "last application gone" mark is kept for.
fn has_ledger_records(conn: &mut DbConn, student: &str, institution: &str) -> Result<bool, StoreError> {
    for kind in [LedgerKind::Consent, LedgerKind::Inspection] {
        if !ledger_ids(conn, &group(kind, student, institution)?)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes the "last application gone" marks whose ledger period has
/// passed and that no ledger record needs any more (bookkeeping; the
/// ledger records themselves are deleted, and audited, by the purge).
/// Returns how many went.
pub fn forget_gone_marks(conn: &mut DbConn, policy: &RetentionPolicy, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let before = cutoff(now, policy.periods().consent_after_application_gone);
    let marks: Vec<(String, String)> = applications_gone::table
        .filter(applications_gone::gone_at.le(before))
        .select((applications_gone::student, applications_gone::institution))
        .load(conn)?;
    let mut forgotten = 0;
    for (student, institution) in marks {
        if !has_ledger_records(conn, &student, &institution)? {
            forgotten += diesel::delete(
                applications_gone::table
                    .filter(applications_gone::student.eq(&student))
                    .filter(applications_gone::institution.eq(&institution)),
            )
            .execute(conn)?;
        }
    }
    Ok(forgotten)
}

/// Whose data an erasure covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureScope {
    /// Everything about the student (the broker's privacy officer).
    Everything,
    /// What one institution is party to: applications at it or naming it as
    /// the sending school (with their packages), packages it sent or
    /// received, consent events for it or recorded by it, inspections it
    /// recorded.
    Institution(Brin),
}

/// What an erasure deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub packages: Vec<String>,
    pub applications: Vec<Uuid>,
    pub consent_events: Vec<Uuid>,
    pub inspections: Vec<Uuid>,
    /// Per record id (of any of the kinds above), the institutions party
    /// to it: an application's receiving and sending school, a package's
    /// sender and recipient, the institution of a ledger record. Read
    /// before the rows were deleted; the audit event of each deletion is
    /// related to them.
    pub parties: BTreeMap<String, BTreeSet<Brin>>,
}

impl Erased {
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
            && self.applications.is_empty()
            && self.consent_events.is_empty()
            && self.inspections.is_empty()
    }
}

/// Deletes everything about `student` within `scope` (see
/// [`ErasureScope`]), including the "last application gone" marks, and
/// returns what went. Run it in the transaction that audits it. It waits
/// for a purge batch that is running (the purge lock), so the two never
/// delete, and audit, the same record.
///
/// An institution's erasure may take the other party's last application
/// with the student (the sending school's, when the mbo erases): that
/// party's ledger records stay, and their period starts `now`, as when the
/// purge deletes an application.
pub fn erase(
    conn: &mut DbConn,
    student: &Pseudonym,
    scope: &ErasureScope,
    now: DateTime<Utc>,
) -> Result<Erased, StoreError> {
    lock_purge(conn)?;
    let s = student.as_str();
    let institution = match scope {
        ErasureScope::Everything => None,
        ErasureScope::Institution(brin) => Some(brin.as_str()),
    };
    let mut applications_query = applications::table
        .filter(applications::student.eq(s))
        .select((applications::id, applications::receiving, applications::sending))
        .into_boxed();
    let mut packages_query = packages::table
        .filter(packages::student.eq(s))
        .select((packages::id, packages::sender, packages::recipient))
        .into_boxed();
    if let Some(brin) = institution {
        applications_query =
            applications_query.filter(applications::receiving.eq(brin).or(applications::sending.eq(brin)));
        packages_query = packages_query.filter(packages::sender.eq(brin).or(packages::recipient.eq(brin)));
    }
    let applications_in_scope: Vec<(String, String, Option<String>)> =
        applications_query.order(applications::id.asc()).load(conn)?;
    let application_ids: Vec<&str> = applications_in_scope.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut package_ids: BTreeMap<String, [String; 2]> = packages_query
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, sender, recipient)| (id, [sender, recipient]))
        .collect();
    // The packages of an erased application go with it.
    let attached: Vec<(String, String, String)> = packages::table
        .filter(packages::application_id.eq_any(&application_ids))
        .select((packages::id, packages::sender, packages::recipient))
        .load(conn)?;
    package_ids.extend(
        attached
            .into_iter()
            .map(|(id, sender, recipient)| (id, [sender, recipient])),
    );

    let mut erased = Erased::default();
    let mut parties: Vec<(String, String)> = Vec::new();
    for (id, package_parties) in package_ids {
        if delete_package(conn, &id)? {
            parties.extend(package_parties.map(|party| (id.clone(), party)));
            erased.packages.push(id);
        }
    }
    for (id, receiving, sending) in &applications_in_scope {
        if delete_application_row(conn, id)? {
            erased.applications.push(parse_id(id, "applications.id")?);
            parties.extend(
                std::iter::once(receiving)
                    .chain(sending)
                    .map(|party| (id.clone(), party.clone())),
            );
            // Only a party with ledger records needs the mark; the marks in
            // scope go below, with the records.
            for institution in std::iter::once(receiving).chain(sending) {
                if has_ledger_records(conn, s, institution)? {
                    let institution = parsed(Brin::parse(institution), "applications institution")?;
                    mark_gone(conn, student, &institution, now)?;
                }
            }
        }
    }

    let mut consent_query = consent_events::table
        .filter(consent_events::student.eq(s))
        .select((consent_events::id, consent_events::recipient))
        .into_boxed();
    let mut inspection_query = inspections::table
        .filter(inspections::student.eq(s))
        .select((inspections::id, inspections::school))
        .into_boxed();
    if let Some(brin) = institution {
        // Consent given for it (an mbo) or recorded by it (a school).
        consent_query = consent_query.filter(consent_events::recipient.eq(brin).or(consent_events::school.eq(brin)));
        inspection_query = inspection_query.filter(inspections::school.eq(brin));
    }
    let consents: Vec<(String, String)> = consent_query.load(conn)?;
    let inspections_in_scope: Vec<(String, String)> = inspection_query.load(conn)?;
    let consent_ids: Vec<String> = consents.iter().map(|(id, _)| id.clone()).collect();
    let inspection_ids: Vec<String> = inspections_in_scope.iter().map(|(id, _)| id.clone()).collect();
    parties.extend(consents);
    parties.extend(inspections_in_scope);
    if !consent_ids.is_empty() {
        with_permit(conn, Ledger::ConsentEvents, |c| {
            diesel::delete(consent_events::table.filter(consent_events::id.eq_any(&consent_ids)))
                .execute(c)
                .map_err(StoreError::from)
        })?;
    }
    if !inspection_ids.is_empty() {
        with_permit(conn, Ledger::Inspections, |c| {
            diesel::delete(inspections::table.filter(inspections::id.eq_any(&inspection_ids)))
                .execute(c)
                .map_err(StoreError::from)
        })?;
    }
    erased.consent_events = consent_ids
        .iter()
        .map(|id| parse_id(id, "consent_events.id"))
        .collect::<Result<_, _>>()?;
    erased.inspections = inspection_ids
        .iter()
        .map(|id| parse_id(id, "inspections.id"))
        .collect::<Result<_, _>>()?;
    for (id, party) in parties {
        let party = parsed(Brin::parse(&party), "erased record's institution")?;
        erased.parties.entry(id).or_default().insert(party);
    }

    let mut marks = diesel::delete(applications_gone::table.filter(applications_gone::student.eq(s))).into_boxed();
    if let Some(brin) = institution {
        marks = marks.filter(applications_gone::institution.eq(brin));
    }
    marks.execute(conn)?;
    Ok(erased)
}

/// Every row outside the audit tables that is keyed by `student`, per table
/// (for tests and the operator's check after an erasure).
pub fn rows_about(conn: &mut DbConn, student: &Pseudonym) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let s = student.as_str();
    Ok(vec![
        (
            "applications",
            applications::table
                .filter(applications::student.eq(s))
                .count()
                .get_result(conn)?,
        ),
        (
            "packages",
            packages::table
                .filter(packages::student.eq(s))
                .count()
                .get_result(conn)?,
        ),
        (
            "consent_events",
            consent_events::table
                .filter(consent_events::student.eq(s))
                .count()
                .get_result(conn)?,
        ),
        (
            "inspections",
            inspections::table
                .filter(inspections::student.eq(s))
                .count()
                .get_result(conn)?,
        ),
        (
            "applications_gone",
            applications_gone::table
                .filter(applications_gone::student.eq(s))
                .count()
                .get_result(conn)?,
        ),
    ])
}

/// A prefix of the audit log that [`prune_audit`] deleted (or, dry, would
/// delete): events `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunedAudit {
    pub first: i64,
    pub last: i64,
}

impl PrunedAudit {
    /// The number of events.
    pub fn count(&self) -> i64 {
        self.last.saturating_sub(self.first).saturating_add(1)
    }
}

/// The audit events [`prune_audit`] may delete now, at most `limit`: the
/// longest run from the prune boundary on in which every event is due
/// ([`RetentionPolicy::audit_purge_reason`] on its recorded time), that
/// lies within the latest checkpoint (so a signature pins what the events
/// were) and leaves the newest event (the log's size is its highest seq).
/// An event that is not yet due stops the run, so one recorded with a
/// clock that ran behind is pruned late, never early. `None` if nothing is
/// due.
pub fn due_audit_prefix(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Option<PrunedAudit>, StoreError> {
    let Some(checkpoint) = crate::merkle::latest_checkpoint(conn)? else {
        return Ok(None);
    };
    let first = crate::merkle::pruned_below(conn)?;
    let newest = crate::merkle::tree_size(conn)?;
    let last_allowed = checkpoint.size.min(newest.saturating_sub(1));
    let rows: Vec<(i64, i64)> = audit_events::table
        .select((audit_events::seq, audit_events::time))
        .filter(audit_events::seq.ge(first).and(audit_events::seq.le(last_allowed)))
        .order(audit_events::seq.asc())
        .limit(limit.max(0))
        .load(conn)?;
    let mut last = None;
    for (seq, time) in rows {
        let recorded_at = from_ms(time, "audit_events.time")?;
        let contiguous = seq == last.map_or(first, |l: i64| l.saturating_add(1));
        if !contiguous || policy.audit_purge_reason(recorded_at, now).is_none() {
            break;
        }
        last = Some(seq);
    }
    Ok(last.map(|last| PrunedAudit { first, last }))
}

/// Deletes the audit events [`due_audit_prefix`] finds (at most `limit`)
/// in the caller's transaction and records the new prune boundary; their
/// stored hashes stay. The caller appends the audit event that records the
/// prune, in the same transaction. `None` if nothing is due.
pub fn prune_audit(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Option<PrunedAudit>, StoreError> {
    let Some(pruned) = due_audit_prefix(conn, policy, now, limit)? else {
        return Ok(None);
    };
    let below = pruned.last.saturating_add(1);
    diesel::insert_into(audit_prunes::table)
        .values((
            audit_prunes::pruned_below.eq(below),
            audit_prunes::pruned_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    diesel::insert_into(audit_prune_permits::table)
        .values(audit_prune_permits::below.eq(below))
        .execute(conn)?;
    let deleted = diesel::delete(audit_events::table.filter(audit_events::seq.lt(below))).execute(conn);
    let removed = diesel::delete(audit_prune_permits::table).execute(conn);
    let deleted = deleted?;
    removed?;
    if i64::try_from(deleted).ok() != Some(pruned.count()) {
        return Err(StoreError::Corrupt(format!(
            "audit_events: pruning {}..={} deleted {deleted} events",
            pruned.first, pruned.last
        )));
    }
    Ok(Some(pruned))
}
