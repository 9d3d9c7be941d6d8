//! The safety net's cohorts (`cohort_members`): per vo school and school
//! year, its leavers by pseudonym and by the school's own reference.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use doorstroom_domain::safety_net::RiskReason;
use doorstroom_domain::{ApplicationStatus, Brin, Pseudonym};

use crate::schema::{applications, cohort_members as members};
use crate::{DbConn, StoreError, from_ms, to_ms};

const T: &str = "cohort_members";

/// One member of a cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub student: Pseudonym,
    /// The school's own reference (opaque to the broker).
    pub reference: String,
}

/// What adding a batch of members did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Added {
    pub added: usize,
    /// Already in the cohort with the same reference: nothing changed.
    pub unchanged: usize,
}

/// Adds `batch` to `school`'s cohort of `year`. A member already there
/// with the same reference is left as it is; a reference already used for
/// another student, or a student already there under another reference,
/// is a conflict (and nothing of the batch is added: the caller's
/// transaction rolls back).
pub fn add(
    conn: &mut DbConn,
    school: &Brin,
    year: i32,
    batch: &[Member],
    now: DateTime<Utc>,
) -> Result<Added, StoreError> {
    let mut outcome = Added::default();
    for member in batch {
        let existing: Option<(String, String)> = members::table
            .filter(members::school.eq(school.as_str()))
            .filter(members::school_year.eq(year))
            .filter(
                members::reference
                    .eq(&member.reference)
                    .or(members::student.eq(member.student.as_str())),
            )
            .select((members::reference, members::student))
            .first(conn)
            .optional()?;
        match existing {
            Some((reference, student)) if reference == member.reference && student == member.student.as_str() => {
                outcome.unchanged += 1;
            }
            Some(_) => return Err(StoreError::Conflict("a cohort member with this reference or student")),
            None => {
                diesel::insert_into(members::table)
                    .values((
                        members::school.eq(school.as_str()),
                        members::school_year.eq(year),
                        members::reference.eq(&member.reference),
                        members::student.eq(member.student.as_str()),
                        members::added_at.eq(to_ms(now)),
                    ))
                    .execute(conn)?;
                outcome.added += 1;
            }
        }
    }
    Ok(outcome)
}

/// Removes the member with `reference`; whether there was one.
pub fn remove(conn: &mut DbConn, school: &Brin, year: i32, reference: &str) -> Result<bool, StoreError> {
    let gone = diesel::delete(
        members::table
            .filter(members::school.eq(school.as_str()))
            .filter(members::school_year.eq(year))
            .filter(members::reference.eq(reference)),
    )
    .execute(conn)?;
    Ok(gone > 0)
}

/// The cohort, by reference.
pub fn list(conn: &mut DbConn, school: &Brin, year: i32) -> Result<Vec<Member>, StoreError> {
    let rows: Vec<(String, String)> = members::table
        .filter(members::school.eq(school.as_str()))
        .filter(members::school_year.eq(year))
        .order(members::reference.asc())
        .select((members::student, members::reference))
        .load(conn)?;
    rows.into_iter()
        .map(|(student, reference)| {
            let student = Pseudonym::parse(&student).map_err(|e| StoreError::corrupt(T, "student", e.to_string()))?;
            Ok(Member { student, reference })
        })
        .collect()
}

/// A student's place in one cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub school: Brin,
    pub school_year: i32,
    pub reference: String,
    pub added_at: DateTime<Utc>,
}

/// Every cohort `student` is in, by school and school year.
pub fn places_of(conn: &mut DbConn, student: &Pseudonym) -> Result<Vec<Place>, StoreError> {
    let rows: Vec<(String, i32, String, i64)> = members::table
        .filter(members::student.eq(student.as_str()))
        .order((members::school.asc(), members::school_year.asc()))
        .select((
            members::school,
            members::school_year,
            members::reference,
            members::added_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(school, school_year, reference, added_at)| {
            Ok(Place {
                school: Brin::parse(&school).map_err(|e| StoreError::corrupt(T, "school", e.to_string()))?,
                school_year,
                reference,
                added_at: from_ms(added_at, T, "added_at")?,
            })
        })
        .collect()
}

/// How many students the cohort holds.
pub fn size(conn: &mut DbConn, school: &Brin, year: i32) -> Result<i64, StoreError> {
    Ok(members::table
        .filter(members::school.eq(school.as_str()))
        .filter(members::school_year.eq(year))
        .count()
        .get_result(conn)?)
}

/// Where one application of a cohort member stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationState {
    pub student: Pseudonym,
    pub status: ApplicationStatus,
    /// When it reached that status (its last change).
    pub since: DateTime<Utc>,
}

/// Every application for `year` of every member of `school`'s cohort of
/// `year`, at any mbo.
pub fn application_states(conn: &mut DbConn, school: &Brin, year: i32) -> Result<Vec<ApplicationState>, StoreError> {
    let cohort = members::table
        .filter(members::school.eq(school.as_str()))
        .filter(members::school_year.eq(year))
        .select(members::student);
    let rows: Vec<(String, String, i64)> = applications::table
        .filter(applications::school_year.eq(year))
        .filter(applications::student.eq_any(cohort))
        .select((applications::student, applications::status, applications::updated_at))
        .load(conn)?;
    rows.into_iter()
        .map(|(student, status, updated_at)| {
            Ok(ApplicationState {
                student: Pseudonym::parse(&student)
                    .map_err(|e| StoreError::corrupt("applications", "student", e.to_string()))?,
                status: ApplicationStatus::parse(&status)
                    .map_err(|e| StoreError::corrupt("applications", "status", e.to_string()))?,
                since: from_ms(updated_at, "applications", "updated_at")?,
            })
        })
        .collect()
}

/// Every cohort there is: school and school year (start year).
pub fn all(conn: &mut DbConn) -> Result<Vec<(String, i32)>, StoreError> {
    Ok(members::table
        .select((members::school, members::school_year))
        .distinct()
        .order((members::school.asc(), members::school_year.asc()))
        .load(conn)?)
}

/// A risk as recorded: the reason and the day it began.
pub type RecordedRisk = Option<(RiskReason, NaiveDate)>;

fn recorded(reason: Option<String>, since: Option<String>) -> Result<RecordedRisk, StoreError> {
    let (Some(reason), Some(since)) = (reason, since) else {
        return Ok(None);
    };
    let reason = RiskReason::parse(&reason).map_err(|e| StoreError::corrupt(T, "risk_reason", e.to_string()))?;
    let since = NaiveDate::parse_from_str(&since, "%Y-%m-%d")
        .map_err(|e| StoreError::corrupt(T, "risk_since", e.to_string()))?;
    Ok(Some((reason, since)))
}

/// The cohort with each member's risk as last recorded, by reference.
pub fn list_recorded(conn: &mut DbConn, school: &Brin, year: i32) -> Result<Vec<(Member, RecordedRisk)>, StoreError> {
    let rows: Vec<(String, String, Option<String>, Option<String>)> = members::table
        .filter(members::school.eq(school.as_str()))
        .filter(members::school_year.eq(year))
        .order(members::reference.asc())
        .select((
            members::student,
            members::reference,
            members::risk_reason,
            members::risk_since,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(student, reference, reason, since)| {
            let student = Pseudonym::parse(&student).map_err(|e| StoreError::corrupt(T, "student", e.to_string()))?;
            Ok((Member { student, reference }, recorded(reason, since)?))
        })
        .collect()
}

/// The member's recorded risk, read after taking the writers' lock (on
/// PostgreSQL; SQLite's write transaction excludes other writers), so that
/// two broker nodes assessing at once do not both tell the school. `None`
/// when the member is gone.
pub fn recorded_risk_locked(
    conn: &mut DbConn,
    school: &Brin,
    year: i32,
    reference: &str,
) -> Result<Option<RecordedRisk>, StoreError> {
    crate::audit_rows::lock_tail(conn)?;
    let row: Option<(Option<String>, Option<String>)> = members::table
        .find((school.as_str(), year, reference))
        .select((members::risk_reason, members::risk_since))
        .first(conn)
        .optional()?;
    row.map(|(reason, since)| recorded(reason, since)).transpose()
}

/// Records the member's risk as the school has now been told it.
pub fn record_risk(
    conn: &mut DbConn,
    school: &Brin,
    year: i32,
    reference: &str,
    risk: RecordedRisk,
) -> Result<(), StoreError> {
    diesel::update(members::table.find((school.as_str(), year, reference)))
        .set((
            members::risk_reason.eq(risk.map(|(reason, _)| reason.as_str())),
            members::risk_since.eq(risk.map(|(_, since)| since.to_string())),
        ))
        .execute(conn)?;
    Ok(())
}

/// A deleted cohort member: whose cohort, and which student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    pub school: String,
    pub school_year: i32,
    pub student: Pseudonym,
}

/// Deletes up to `limit` members of cohorts of school years up to and
/// including `last_year` (their retention is over); answers who went.
pub fn delete_through(conn: &mut DbConn, last_year: i32, limit: i64) -> Result<Vec<Gone>, StoreError> {
    let due: Vec<(String, i32, String, String)> = members::table
        .filter(members::school_year.le(last_year))
        .select((
            members::school,
            members::school_year,
            members::reference,
            members::student,
        ))
        .order((
            members::school_year.asc(),
            members::school.asc(),
            members::reference.asc(),
        ))
        .limit(limit)
        .load(conn)?;
    let mut gone = Vec::with_capacity(due.len());
    for (school, school_year, reference, student) in due {
        diesel::delete(members::table.find((&school, school_year, &reference))).execute(conn)?;
        let student = Pseudonym::parse(&student).map_err(|e| StoreError::corrupt(T, "student", e.to_string()))?;
        gone.push(Gone {
            school,
            school_year,
            student,
        });
    }
    Ok(gone)
}

/// Deletes `student` from every cohort (`school: None`) or from `school`'s
/// cohorts only: an erasure request. Answers whose cohorts they left.
///
/// The `student.at_risk` entries of the school's feed about each place go
/// with it (and their webhook deliveries, by cascade): they name the
/// student by the school's own reference, which an erasure must not leave
/// behind for the feed's retention.
pub fn erase_student(conn: &mut DbConn, student: &Pseudonym, school: Option<&str>) -> Result<Vec<Gone>, StoreError> {
    let mut query = members::table
        .filter(members::student.eq(student.as_str()))
        .select((members::school, members::school_year, members::reference))
        .into_boxed();
    let mut delete = diesel::delete(members::table.filter(members::student.eq(student.as_str()))).into_boxed();
    if let Some(brin) = school {
        query = query.filter(members::school.eq(brin));
        delete = delete.filter(members::school.eq(brin));
    }
    let memberships: Vec<(String, i32, String)> = query
        .order((members::school.asc(), members::school_year.asc()))
        .load(conn)?;
    delete.execute(conn)?;
    for (school, school_year, reference) in &memberships {
        crate::events::delete_at_risk(conn, school, *school_year, reference)?;
    }
    Ok(memberships
        .into_iter()
        .map(|(school, school_year, _)| Gone {
            school,
            school_year,
            student: student.clone(),
        })
        .collect())
}

/// How many members of cohorts up to `last_year` there are.
pub fn count_through(conn: &mut DbConn, last_year: i32) -> Result<i64, StoreError> {
    Ok(members::table
        .filter(members::school_year.le(last_year))
        .count()
        .get_result(conn)?)
}
