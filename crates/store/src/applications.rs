//! Applications (aanmeldingen) and their reported course (terugkoppeling).
//!
//! The student is known only by the broker's keyed [`Pseudonym`]. An
//! application is identified by the student, the receiving mbo, the
//! programme and the school year: [`register`] is idempotent on that key.
//! The store does not judge status transitions; the domain's state machine
//! does, and [`set_status`] records what it allowed, with one
//! [`StatusEvent`] per change.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use doorstroom_domain::{ActorRef, ApplicationStatus, Brin, Pseudonym, StatusReport};
use uuid::Uuid;

use crate::schema::{application_status_events, applications};
use crate::{DbConn, StoreError, from_ms, guarded, parse_id, parsed, to_ms};

/// The most applications one [`list_for_sending`] call returns.
pub const MAX_LIST_LIMIT: i64 = 1000;

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: Uuid,
    pub student: Pseudonym,
    /// The mbo the student applied at.
    pub receiving: Brin,
    /// The vo school the student comes from, if the mbo knows it.
    pub sending: Option<Brin>,
    pub programme: String,
    /// The programme's CREBO code, if given.
    pub crebo: Option<String>,
    /// The calendar year the school year starts in (2026 for 2026/27).
    pub school_year: i32,
    pub applied_on: NaiveDate,
    /// Applied after 1 April of the school year (decided by the caller).
    pub late: bool,
    pub status: ApplicationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Application {
    /// Whether `new` describes this application in every field, not only in
    /// its unique key (student, receiving, programme, school year). Use it
    /// after [`register`] returned an existing row.
    pub fn same_as(&self, new: &NewApplication) -> bool {
        self.student == new.student
            && self.receiving == new.receiving
            && self.sending == new.sending
            && self.programme == new.programme
            && self.crebo == new.crebo
            && self.school_year == new.school_year
            && self.applied_on == new.applied_on
            && self.late == new.late
    }
}

/// What [`register`] needs; the store assigns the id, the status
/// `registered` and the timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub student: Pseudonym,
    pub receiving: Brin,
    pub sending: Option<Brin>,
    pub programme: String,
    pub crebo: Option<String>,
    pub school_year: i32,
    pub applied_on: NaiveDate,
    pub late: bool,
    /// The actor registering it, for the first [`StatusEvent`]: never a
    /// person's name.
    pub registered_by: ActorRef,
}

/// One reported status of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    pub id: i64,
    pub application_id: Uuid,
    pub status: ApplicationStatus,
    pub reported_at: DateTime<Utc>,
    /// The reporting actor.
    pub reported_by: ActorRef,
    /// With `intake_scheduled`: the day of the intake, if it was given.
    pub intake_on: Option<NaiveDate>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = applications)]
struct Row {
    id: String,
    student: String,
    receiving: String,
    sending: Option<String>,
    programme: String,
    crebo: Option<String>,
    school_year: i32,
    applied_on: String,
    late: bool,
    status: String,
    created_at: i64,
    updated_at: i64,
}

/// The stored spelling of a date.
const DATE_FORMAT: &str = "%Y-%m-%d";

impl Row {
    fn into_domain(self) -> Result<Application, StoreError> {
        Ok(Application {
            id: parse_id(&self.id, "applications", "id")?,
            student: parsed(Pseudonym::parse(&self.student), "applications", "student")?,
            receiving: parsed(Brin::parse(&self.receiving), "applications", "receiving")?,
            sending: self
                .sending
                .as_deref()
                .map(|b| parsed(Brin::parse(b), "applications", "sending"))
                .transpose()?,
            programme: self.programme,
            crebo: self.crebo,
            school_year: self.school_year,
            applied_on: NaiveDate::parse_from_str(&self.applied_on, DATE_FORMAT)
                .map_err(|_| StoreError::corrupt("applications", "applied_on", "not an ISO date"))?,
            late: self.late,
            status: parsed(ApplicationStatus::parse(&self.status), "applications", "status")?,
            created_at: from_ms(self.created_at, "applications", "created_at")?,
            updated_at: from_ms(self.updated_at, "applications", "updated_at")?,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = application_status_events)]
struct EventRow {
    id: i64,
    application_id: String,
    status: String,
    reported_at: i64,
    reported_by: String,
    intake_on: Option<String>,
}

impl EventRow {
    fn into_domain(self) -> Result<StatusEvent, StoreError> {
        Ok(StatusEvent {
            id: self.id,
            application_id: parse_id(&self.application_id, "application_status_events", "application_id")?,
            status: parsed(
                ApplicationStatus::parse(&self.status),
                "application_status_events",
                "status",
            )?,
            reported_at: from_ms(self.reported_at, "application_status_events", "reported_at")?,
            reported_by: parsed(
                ActorRef::parse(&self.reported_by),
                "application_status_events",
                "reported_by",
            )?,
            intake_on: self
                .intake_on
                .map(|day| {
                    NaiveDate::parse_from_str(&day, DATE_FORMAT).map_err(|_| {
                        StoreError::corrupt("application_status_events", "intake_on", "not a date (YYYY-MM-DD)")
                    })
                })
                .transpose()?,
        })
    }
}

/// Whether `report` gives a day of intake other than the last one reported
/// for the application (whose status is already `report`'s).
fn moved_intake(conn: &mut DbConn, key: &str, report: StatusReport) -> Result<bool, StoreError> {
    let Some(day) = report.intake_on() else {
        return Ok(false);
    };
    let last: Option<Option<String>> = application_status_events::table
        .filter(application_status_events::application_id.eq(key))
        .filter(application_status_events::status.eq(report.status().as_str()))
        .order(application_status_events::id.desc())
        .select(application_status_events::intake_on)
        .first(conn)
        .optional()?;
    Ok(last.is_some_and(|last| last.as_deref() != Some(day.format(DATE_FORMAT).to_string().as_str())))
}

fn append_event(
    conn: &mut DbConn,
    id: &str,
    report: StatusReport,
    by: &ActorRef,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let event = (
        application_status_events::application_id.eq(id),
        application_status_events::status.eq(report.status().as_str()),
        application_status_events::reported_at.eq(to_ms(now)),
        application_status_events::reported_by.eq(by.to_string()),
    );
    // The day's column only when there is one: a report without it is the
    // statement it was before the column existed (the migration tests seed
    // a database of that schema with these functions).
    match report.intake_on() {
        None => diesel::insert_into(application_status_events::table)
            .values(event)
            .execute(conn)?,
        Some(day) => diesel::insert_into(application_status_events::table)
            .values((
                event,
                application_status_events::intake_on.eq(day.format(DATE_FORMAT).to_string()),
            ))
            .execute(conn)?,
    };
    Ok(())
}

fn by_key(conn: &mut DbConn, new: &NewApplication) -> Result<Option<Application>, StoreError> {
    applications::table
        .filter(applications::student.eq(new.student.as_str()))
        .filter(applications::receiving.eq(new.receiving.as_str()))
        .filter(applications::programme.eq(&new.programme))
        .filter(applications::school_year.eq(new.school_year))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}

/// Registers an application with status `registered`, recording that as
/// its first [`StatusEvent`], and returns it with `true`.
///
/// Idempotent: if an application with the same student, receiving
/// institution, programme and school year exists, nothing is written and
/// that one is returned with `false`, **even if the other fields
/// (sending school, CREBO, date, late) differ**: the caller decides what a
/// differing repeat means (check [`Application::same_as`]). This holds under
/// concurrency too: a registration that loses the race to the same key
/// returns the winner's row.
///
/// An unknown receiving or sending institution is `NotFound`.
pub fn register(
    conn: &mut DbConn,
    new: &NewApplication,
    now: DateTime<Utc>,
) -> Result<(Application, bool), StoreError> {
    if let Some(existing) = by_key(conn, new)? {
        return Ok((existing, false));
    }
    let id = Uuid::new_v4();
    let row = Row {
        id: id.to_string(),
        student: new.student.as_str().to_owned(),
        receiving: new.receiving.as_str().to_owned(),
        sending: new.sending.as_ref().map(|b| b.as_str().to_owned()),
        programme: new.programme.clone(),
        crebo: new.crebo.clone(),
        school_year: new.school_year,
        applied_on: new.applied_on.format(DATE_FORMAT).to_string(),
        late: new.late,
        status: ApplicationStatus::Registered.as_str().to_owned(),
        created_at: to_ms(now),
        updated_at: to_ms(now),
    };
    let inserted = guarded(conn, "application", |c| {
        diesel::insert_into(applications::table).values(&row).execute(c)
    });
    match inserted {
        Ok(_) => {}
        // Someone registered the same key since our look-up (PostgreSQL
        // waits for them to commit, then reports the violation).
        Err(StoreError::Conflict(what)) => {
            return match by_key(conn, new)? {
                Some(existing) => Ok((existing, false)),
                None => Err(StoreError::Conflict(what)),
            };
        }
        Err(e) => return Err(e),
    }
    let registered = StatusReport::status_only(ApplicationStatus::Registered);
    append_event(conn, &row.id, registered, &new.registered_by, now)?;
    Ok((row.into_domain()?, true))
}

pub fn get(conn: &mut DbConn, id: Uuid) -> Result<Option<Application>, StoreError> {
    let id = id.to_string();
    crate::on_backend!(conn, |c| applications::table
        .find(&id)
        .select(Row::as_select())
        .first(c)
        .optional())?
    .map(Row::into_domain)
    .transpose()
}

/// All applications of a student, in every status, oldest first. With
/// `sending`, only those naming that school as the sending school (an
/// application without a sending school is then left out).
pub fn find_for_student(
    conn: &mut DbConn,
    student: &Pseudonym,
    sending: Option<&Brin>,
) -> Result<Vec<Application>, StoreError> {
    let mut query = applications::table
        .filter(applications::student.eq(student.as_str()))
        .order((applications::created_at.asc(), applications::id.asc()))
        .select(Row::as_select())
        .into_boxed();
    if let Some(brin) = sending {
        query = query.filter(applications::sending.eq(brin.as_str()));
    }
    query.load(conn)?.into_iter().map(Row::into_domain).collect()
}

/// The schools named as sending school in the student's applications (at
/// `receiving` only, when given), in any status, each once, sorted: the
/// schools that send for the student, and so may keep a consent and
/// inspection ledger of it.
pub fn sending_schools(
    conn: &mut DbConn,
    student: &Pseudonym,
    receiving: Option<&Brin>,
) -> Result<Vec<Brin>, StoreError> {
    let mut query = applications::table
        .filter(applications::student.eq(student.as_str()))
        .filter(applications::sending.is_not_null())
        .select(applications::sending)
        .distinct()
        .order(applications::sending.asc())
        .into_boxed();
    if let Some(receiving) = receiving {
        query = query.filter(applications::receiving.eq(receiving.as_str()));
    }
    query
        .load::<Option<String>>(conn)?
        .iter()
        .flatten()
        .map(|school| parsed(Brin::parse(school), "applications", "sending"))
        .collect()
}

/// The student's open applications at `receiving` (status
/// [`ApplicationStatus::is_open`], the domain's rule: not `not_enrolling`,
/// `withdrawn` or `no_show`), oldest first: what a package for that
/// institution may answer.
pub fn open_for(conn: &mut DbConn, student: &Pseudonym, receiving: &Brin) -> Result<Vec<Application>, StoreError> {
    let closed: Vec<&'static str> = ApplicationStatus::ALL
        .iter()
        .filter(|s| !s.is_open())
        .map(|s| s.as_str())
        .collect();
    applications::table
        .filter(applications::student.eq(student.as_str()))
        .filter(applications::receiving.eq(receiving.as_str()))
        .filter(applications::status.ne_all(closed))
        .order((applications::created_at.asc(), applications::id.asc()))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

/// Records a new status, with a [`StatusEvent`] by `reported_by`, and
/// returns the application as it now is, or `None` if there is no such
/// application. [`report_status`] without whether it recorded an event.
pub fn set_status(
    conn: &mut DbConn,
    id: Uuid,
    report: StatusReport,
    reported_by: &ActorRef,
    now: DateTime<Utc>,
) -> Result<Option<Application>, StoreError> {
    Ok(report_status(conn, id, report, reported_by, now)?.map(|(application, _)| application))
}

/// Records a new status, with a [`StatusEvent`] by `reported_by`, and
/// returns the application as it now is and whether an event was recorded,
/// or `None` if there is no such application. Reporting the status it
/// already has changes nothing and adds no event (a retried report is
/// harmless), except a schedule with another day of intake than the last
/// one reported: the intake moved. Whether the transition is allowed is the
/// domain's decision, made before this call.
pub fn report_status(
    conn: &mut DbConn,
    id: Uuid,
    report: StatusReport,
    reported_by: &ActorRef,
    now: DateTime<Utc>,
) -> Result<Option<(Application, bool)>, StoreError> {
    let key = id.to_string();
    let status = report.status();
    let updated = diesel::update(
        applications::table
            .find(&key)
            .filter(applications::status.ne(status.as_str())),
    )
    .set((
        applications::status.eq(status.as_str()),
        applications::updated_at.eq(to_ms(now)),
    ))
    .execute(conn)?;
    let recorded = updated > 0 || moved_intake(conn, &key, report)?;
    if recorded {
        append_event(conn, &key, report, reported_by, now)?;
    }
    Ok(get(conn, id)?.map(|application| (application, recorded)))
}

/// The reported course of an application, oldest first (the first event is
/// its registration). Empty if there is no such application.
pub fn status_history(conn: &mut DbConn, application_id: Uuid) -> Result<Vec<StatusEvent>, StoreError> {
    application_status_events::table
        .filter(application_status_events::application_id.eq(application_id.to_string()))
        .order((
            application_status_events::reported_at.asc(),
            application_status_events::id.asc(),
        ))
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(EventRow::into_domain)
        .collect()
}

/// A page of the applications naming `sending` as the sending school, for
/// its aftercare view: oldest first (by creation, then id), at most `limit`
/// (clamped to `0..=MAX_LIST_LIMIT`). Page on by passing the last id seen
/// as `after`; an `after` that is not an application of this school is
/// `NotFound` (the same whether it does not exist or is another school's).
pub fn list_for_sending(
    conn: &mut DbConn,
    sending: &Brin,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Application>, StoreError> {
    let mut query = applications::table
        .filter(applications::sending.eq(sending.as_str()))
        .order((applications::created_at.asc(), applications::id.asc()))
        .limit(limit.clamp(0, MAX_LIST_LIMIT))
        .select(Row::as_select())
        .into_boxed();
    if let Some(after) = after {
        let after = after.to_string();
        let created: i64 = applications::table
            .find(&after)
            .filter(applications::sending.eq(sending.as_str()))
            .select(applications::created_at)
            .first(conn)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        query = query.filter(
            applications::created_at
                .gt(created)
                .or(applications::created_at.eq(created).and(applications::id.gt(after))),
        );
    }
    query.load(conn)?.into_iter().map(Row::into_domain).collect()
}
