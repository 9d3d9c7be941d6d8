//! Applications whose retention may have run out, their facts and their
//! deletion, and the "last application gone" marks that start the
//! ledger's period at an institution.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{ApplicationFacts, Brin, Pseudonym, RetentionPolicy};
use uuid::Uuid;

use super::{cutoff, ended_at, ended_statuses, status_of};
use crate::schema::{application_status_events, applications, applications_gone};
use crate::{DbConn, StoreError, from_ms, parse_id, parsed, to_ms};

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
    let status = status_of(&status, "applications", "status")?;
    Ok(ApplicationCandidate {
        id: parse_id(&id, "applications", "id")?,
        student: parsed(Pseudonym::parse(&student), "applications", "student")?,
        receiving: parsed(Brin::parse(&receiving), "applications", "receiving")?,
        sending: sending
            .as_deref()
            .map(|b| parsed(Brin::parse(b), "applications", "sending"))
            .transpose()?,
        facts: ApplicationFacts {
            created_at: from_ms(created_at, "applications", "created_at")?,
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
pub(super) fn delete_application_row(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    diesel::delete(application_status_events::table.filter(application_status_events::application_id.eq(id)))
        .execute(conn)?;
    Ok(diesel::delete(applications::table.find(id)).execute(conn)? > 0)
}

/// Records (or moves forward) the moment the student's last application at
/// `institution` went, when none is left there.
pub(super) fn mark_gone(
    conn: &mut DbConn,
    student: &Pseudonym,
    institution: &Brin,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
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
