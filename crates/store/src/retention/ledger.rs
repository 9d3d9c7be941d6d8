//! The consent and inspection ledger: groups of records (one student at
//! one institution) whose retention may have run out, their facts and
//! their deletion through the deletion permit.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::dsl::{exists, max, not};
use diesel::prelude::*;
use doorstroom_domain::{Brin, LedgerFacts, Pseudonym, RetentionPolicy};
use uuid::Uuid;

use super::{Ledger, cutoff, with_permit};
use crate::schema::{applications, applications_gone, consent_events, inspections};
use crate::{DbConn, StoreError, from_ms, from_ms_opt, parse_id, parsed};

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
        group(LedgerKind::Consent, &student, &institution, CONSENT_EVENTS)?;
        groups.insert((LedgerKind::Consent, student, institution));
    }
    let inspected: Vec<(String, String)> = inspections::table
        .group_by((inspections::student, inspections::school))
        .having(max(inspections::recorded_at).le(hard))
        .select((inspections::student, inspections::school))
        .limit(limit)
        .load(conn)?;
    for (student, institution) in inspected {
        group(LedgerKind::Inspection, &student, &institution, INSPECTIONS)?;
        groups.insert((LedgerKind::Inspection, student, institution));
    }
    groups.extend(gone_groups(conn, policy, now, limit)?);
    let mut due = Vec::new();
    for (kind, student, institution) in groups.into_iter().take(usize::try_from(limit).unwrap_or(0)) {
        // Every pair was read (and checked) above; named after its kind.
        let group = group(kind, &student, &institution, kind.source())?;
        if let Some(facts) = ledger_facts(conn, &group)? {
            due.push(LedgerCandidate { group, facts });
        }
    }
    Ok(due)
}

/// The ledger groups (at most `limit` marks' worth) of students whose last
/// application at the institution went more than
/// `consent_after_application_gone` ago, that still have records.
fn gone_groups(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(LedgerKind, String, String)>, StoreError> {
    let p = policy.periods();
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
    let mut groups = Vec::new();
    for (student, institution) in gone {
        for kind in [LedgerKind::Consent, LedgerKind::Inspection] {
            if !ledger_ids(conn, &group(kind, &student, &institution, APPLICATIONS_GONE)?)?.is_empty() {
                groups.push((kind, student.clone(), institution.clone()));
            }
        }
    }
    Ok(groups)
}

/// Where a student and an institution were read: the table, the student's
/// column and the institution's column (for [`StoreError::Corrupt`]).
pub(super) type Source = (&'static str, &'static str, &'static str);

const CONSENT_EVENTS: Source = ("consent_events", "student", "recipient");
const INSPECTIONS: Source = ("inspections", "student", "school");
pub(super) const APPLICATIONS_GONE: Source = ("applications_gone", "student", "institution");

impl LedgerKind {
    /// The column of a record's moment (see [`due_ledger_groups`]).
    const fn moment_column(self) -> &'static str {
        match self {
            LedgerKind::Consent => "at",
            LedgerKind::Inspection => "recorded_at",
        }
    }

    /// Where the groups of this kind are read.
    const fn source(self) -> Source {
        match self {
            LedgerKind::Consent => CONSENT_EVENTS,
            LedgerKind::Inspection => INSPECTIONS,
        }
    }
}

/// A ledger group from a stored student and institution, read from `source`.
fn group(kind: LedgerKind, student: &str, institution: &str, source: Source) -> Result<LedgerGroup, StoreError> {
    let (table, student_column, institution_column) = source;
    Ok(LedgerGroup {
        kind,
        student: parsed(Pseudonym::parse(student), table, student_column)?,
        institution: parsed(Brin::parse(institution), table, institution_column)?,
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
        last_application_gone_at: from_ms_opt(gone, "applications_gone", "gone_at")?,
        recorded_at: from_ms(latest, group.kind.source().0, group.kind.moment_column())?,
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
    ids.iter().map(|id| parse_id(id, group.kind.source().0, "id")).collect()
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
/// institution (both read from `source`): what a "last application gone"
/// mark is kept for.
pub(super) fn has_ledger_records(
    conn: &mut DbConn,
    student: &str,
    institution: &str,
    source: Source,
) -> Result<bool, StoreError> {
    for kind in [LedgerKind::Consent, LedgerKind::Inspection] {
        if !ledger_ids(conn, &group(kind, student, institution, source)?)?.is_empty() {
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
        if !has_ledger_records(conn, &student, &institution, APPLICATIONS_GONE)? {
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
