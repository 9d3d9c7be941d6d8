//! Erasure on request (GDPR art. 17): everything about a student, or what
//! one institution is party to, deleted in the caller's transaction.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{Brin, Pseudonym};
use uuid::Uuid;

use super::applications::{delete_application_row, mark_gone};
use super::ledger::has_ledger_records;
use super::{Ledger, delete_package, lock_purge, with_permit};
use crate::schema::{
    applications, applications_gone, cohort_members, consent_events, inspections, packages, transparency_links,
};
use crate::{DbConn, StoreError, parse_id, parsed};

/// Whose data an erasure covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureScope {
    /// Everything about the student (the broker's privacy officer).
    Everything,
    /// What one institution is party to: applications at it or naming it as
    /// the sending school (with their packages), packages it sent or
    /// received, consent events for it or recorded by it, inspections it
    /// recorded, its own safety-net cohorts' memberships.
    Institution(Brin),
}

/// What an erasure deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub packages: Vec<String>,
    pub applications: Vec<Uuid>,
    pub consent_events: Vec<Uuid>,
    pub inspections: Vec<Uuid>,
    /// The student's memberships of safety-net cohorts, as
    /// `{school}/{school year}` (the id the purge's deletion events use).
    pub cohort_memberships: Vec<String>,
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
            && self.cohort_memberships.is_empty()
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
    let institution = match scope {
        ErasureScope::Everything => None,
        ErasureScope::Institution(brin) => Some(brin.as_str()),
    };
    let applications_in_scope = applications_in_scope(conn, student, institution)?;
    let packages_in_scope = packages_in_scope(conn, student, institution, &applications_in_scope)?;
    let mut erased = Erased::default();
    erase_packages(conn, packages_in_scope, &mut erased)?;
    erase_applications(conn, student, &applications_in_scope, now, &mut erased)?;
    erase_ledger(conn, student, institution, &mut erased)?;
    for gone in crate::cohorts::erase_student(conn, student, institution)? {
        let id = format!("{}/{}", gone.school, gone.school_year);
        add_party(&mut erased, &id, &gone.school, "cohort_members", "school")?;
        erased.cohort_memberships.push(id);
    }
    let mut marks =
        diesel::delete(applications_gone::table.filter(applications_gone::student.eq(student.as_str()))).into_boxed();
    if let Some(brin) = institution {
        marks = marks.filter(applications_gone::institution.eq(brin));
    }
    marks.execute(conn)?;
    Ok(erased)
}

/// An application as erasure reads it: id, receiving and sending school.
type ApplicationParties = (String, String, Option<String>);

/// The student's applications within scope (at the institution or naming
/// it as the sending school), by id.
fn applications_in_scope(
    conn: &mut DbConn,
    student: &Pseudonym,
    institution: Option<&str>,
) -> Result<Vec<ApplicationParties>, StoreError> {
    let mut query = applications::table
        .filter(applications::student.eq(student.as_str()))
        .select((applications::id, applications::receiving, applications::sending))
        .into_boxed();
    if let Some(brin) = institution {
        query = query.filter(applications::receiving.eq(brin).or(applications::sending.eq(brin)));
    }
    Ok(query.order(applications::id.asc()).load(conn)?)
}

/// The student's packages within scope (sent or received by the
/// institution), and every package of an application in scope (it goes
/// with its application), by id, with their sender and recipient.
fn packages_in_scope(
    conn: &mut DbConn,
    student: &Pseudonym,
    institution: Option<&str>,
    applications_in_scope: &[ApplicationParties],
) -> Result<BTreeMap<String, [String; 2]>, StoreError> {
    let mut query = packages::table
        .filter(packages::student.eq(student.as_str()))
        .select((packages::id, packages::sender, packages::recipient))
        .into_boxed();
    if let Some(brin) = institution {
        query = query.filter(packages::sender.eq(brin).or(packages::recipient.eq(brin)));
    }
    let mut in_scope: BTreeMap<String, [String; 2]> = query
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, sender, recipient)| (id, [sender, recipient]))
        .collect();
    let application_ids: Vec<&str> = applications_in_scope.iter().map(|(id, _, _)| id.as_str()).collect();
    let attached: Vec<(String, String, String)> = packages::table
        .filter(packages::application_id.eq_any(&application_ids))
        .select((packages::id, packages::sender, packages::recipient))
        .load(conn)?;
    in_scope.extend(
        attached
            .into_iter()
            .map(|(id, sender, recipient)| (id, [sender, recipient])),
    );
    Ok(in_scope)
}

/// Records that the institution stored in `table.column` is party to
/// record `id`.
fn add_party(
    erased: &mut Erased,
    id: &str,
    party: &str,
    table: &'static str,
    column: &'static str,
) -> Result<(), StoreError> {
    let party = parsed(Brin::parse(party), table, column)?;
    erased.parties.entry(id.to_owned()).or_default().insert(party);
    Ok(())
}

/// Deletes the packages (those already gone are left out of `erased`).
fn erase_packages(
    conn: &mut DbConn,
    packages_in_scope: BTreeMap<String, [String; 2]>,
    erased: &mut Erased,
) -> Result<(), StoreError> {
    for (id, [sender, recipient]) in packages_in_scope {
        if delete_package(conn, &id)? {
            add_party(erased, &id, &sender, "packages", "sender")?;
            add_party(erased, &id, &recipient, "packages", "recipient")?;
            erased.packages.push(id);
        }
    }
    Ok(())
}

/// Deletes the applications (their packages are gone already) and marks
/// where the student's last application went, for a party that keeps
/// ledger records.
fn erase_applications(
    conn: &mut DbConn,
    student: &Pseudonym,
    applications_in_scope: &[ApplicationParties],
    now: DateTime<Utc>,
    erased: &mut Erased,
) -> Result<(), StoreError> {
    for (id, receiving, sending) in applications_in_scope {
        if !delete_application_row(conn, id)? {
            continue;
        }
        erased.applications.push(parse_id(id, "applications", "id")?);
        let parties = std::iter::once((receiving, "receiving")).chain(sending.iter().map(|s| (s, "sending")));
        for (institution, column) in parties {
            add_party(erased, id, institution, "applications", column)?;
            // Only a party with ledger records needs the mark; the marks in
            // scope go afterwards, with the records.
            if has_ledger_records(conn, student.as_str(), institution, ("applications", "student", column))? {
                let institution = parsed(Brin::parse(institution), "applications", column)?;
                mark_gone(conn, student, &institution, now)?;
            }
        }
    }
    Ok(())
}

/// Deletes the consent events and inspections within scope: consent given
/// for the institution (an mbo) or recorded by it (a school), inspections
/// it recorded.
fn erase_ledger(
    conn: &mut DbConn,
    student: &Pseudonym,
    institution: Option<&str>,
    erased: &mut Erased,
) -> Result<(), StoreError> {
    let mut consent_query = consent_events::table
        .filter(consent_events::student.eq(student.as_str()))
        .select((consent_events::id, consent_events::recipient))
        .into_boxed();
    let mut inspection_query = inspections::table
        .filter(inspections::student.eq(student.as_str()))
        .select((inspections::id, inspections::school))
        .into_boxed();
    if let Some(brin) = institution {
        consent_query = consent_query.filter(consent_events::recipient.eq(brin).or(consent_events::school.eq(brin)));
        inspection_query = inspection_query.filter(inspections::school.eq(brin));
    }
    let consents: Vec<(String, String)> = consent_query.load(conn)?;
    let inspections_in_scope: Vec<(String, String)> = inspection_query.load(conn)?;
    let consent_ids: Vec<String> = consents.iter().map(|(id, _)| id.clone()).collect();
    let inspection_ids: Vec<String> = inspections_in_scope.iter().map(|(id, _)| id.clone()).collect();
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
    for (id, recipient) in &consents {
        erased.consent_events.push(parse_id(id, "consent_events", "id")?);
        add_party(erased, id, recipient, "consent_events", "recipient")?;
    }
    for (id, school) in &inspections_in_scope {
        erased.inspections.push(parse_id(id, "inspections", "id")?);
        add_party(erased, id, school, "inspections", "school")?;
    }
    Ok(())
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
        (
            "cohort_members",
            cohort_members::table
                .filter(cohort_members::student.eq(s))
                .count()
                .get_result(conn)?,
        ),
        (
            "transparency_links",
            transparency_links::table
                .filter(transparency_links::student.eq(s))
                .count()
                .get_result(conn)?,
        ),
    ])
}
