//! The safety net (vangnet): a vo school registers its leaving cohort for a
//! school year (student numbers turned into pseudonyms at once, with the
//! school's own reference for each) and reads which of its students are at
//! risk of being lost between vo and mbo, and why
//! ([`doorstroom_domain::safety_net::assess`]). Only the school's own
//! system; no other institution learns anything of a cohort.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;
use doorstroom_api::safety_net::{AddToCohort, AtRisk, AtRiskList, CohortAdded};
use doorstroom_domain::safety_net::{ApplicationState, assess};
use doorstroom_domain::{Action, Brin, Purpose, Resource, ResourceKind, ResourceRef, SchoolYear};
use doorstroom_store::cohorts::{self, Member};
use doorstroom_store::events::AtRiskDetail;

use crate::events::emit_at_risk;
use crate::{Access, App, AppError, Caller, perform_in};

/// At most this many students per call (about 40 KB, inside the API's
/// 64 KiB body limit): a school's leaving cohort is a few hundred; larger
/// lists go in several calls.
pub const MAX_BATCH: usize = 500;

/// A school's reference: 1 to 64 letters, digits, `.`, `_` or `-` (an
/// internal student id; it goes in URLs as it is).
fn reference(index: usize, raw: &str) -> Result<String, AppError> {
    let fine = (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !fine {
        return Err(AppError::invalid(
            &format!("/students/{index}/reference"),
            "reference: must be 1 to 64 letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(raw.to_owned())
}

fn own_school(caller: &Caller<'_>) -> Result<Brin, AppError> {
    caller.principal.institution().cloned().ok_or(AppError::NotFound)
}

fn access(action: Action, school: &Brin, kind: ResourceKind, record: String) -> Access {
    Access::new(
        action,
        Resource::Institution(school.clone()),
        ResourceRef::new(kind, Some(record)),
        Purpose::Aftercare,
    )
}

/// Adds students to the caller's cohort of `year` (all of them, or none
/// when one is refused). Records `manage_cohort` on the cohort.
pub fn add_to_cohort(
    app: &App,
    caller: Caller<'_>,
    year: SchoolYear,
    request: AddToCohort,
) -> Result<CohortAdded, AppError> {
    let school = own_school(&caller)?;
    let record = format!("{school}/{year}");
    let access = access(Action::ManageCohort, &school, ResourceKind::Cohort, record);
    let checked: Result<Vec<Member>, AppError> = if request.students.len() > MAX_BATCH {
        Err(AppError::invalid(
            "/students",
            format!("students: at most {MAX_BATCH} per call"),
        ))
    } else {
        request
            .students
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Ok(Member {
                    student: app.pseudonym_of(&s.student_number),
                    reference: reference(i, &s.reference)?,
                })
            })
            .collect()
    };
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let members = checked?;
        let added = cohorts::add(ctx.conn, &school, year.start_year(), &members, ctx.now)?;
        let cohort_size = usize::try_from(cohorts::size(ctx.conn, &school, year.start_year())?).unwrap_or(0);
        Ok(CohortAdded {
            added: added.added,
            unchanged: added.unchanged,
            cohort_size,
        })
    })
}

/// Removes the student with `reference` from the caller's cohort of `year`
/// (not found: none). Records `manage_cohort` on the member.
pub fn remove_from_cohort(app: &App, caller: Caller<'_>, year: SchoolYear, reference: String) -> Result<(), AppError> {
    let school = own_school(&caller)?;
    let record = format!("{school}/{year}/{reference}");
    let access = access(Action::ManageCohort, &school, ResourceKind::CohortMember, record);
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        if cohorts::remove(ctx.conn, &school, year.start_year(), &reference)? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    })
}

/// The students of the caller's cohort of `year` at risk today (the day
/// in the Netherlands), by reference, each with its reason and since when;
/// ordered by day, then reference. Records `read_safety_net`.
pub fn at_risk(app: &App, caller: Caller<'_>, year: SchoolYear) -> Result<AtRiskList, AppError> {
    let school = own_school(&caller)?;
    let record = format!("{school}/{year}");
    let access = access(Action::ReadSafetyNet, &school, ResourceKind::SafetyNet, record);
    let deadlines = app.rules.deadlines;
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let today = day_of(ctx.now);
        let members = cohorts::list(ctx.conn, &school, year.start_year())?;
        let states = by_student(cohorts::application_states(ctx.conn, &school, year.start_year())?);
        let mut at_risk: Vec<AtRisk> = members
            .iter()
            .filter_map(|m| {
                let applications = states.get(m.student.as_str()).map(Vec::as_slice).unwrap_or_default();
                assess(year, &deadlines, applications, today).map(|risk| AtRisk {
                    reference: m.reference.clone(),
                    reason: risk.reason.into(),
                    since: risk.since,
                })
            })
            .collect();
        at_risk.sort_by(|a, b| (a.since, &a.reference).cmp(&(b.since, &b.reference)));
        Ok(AtRiskList {
            school_year: year.to_string(),
            as_of: today,
            cohort_size: members.len(),
            at_risk,
        })
    })
}

/// The day in the Netherlands at `t`: deadlines are Dutch calendar days.
fn day_of(t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&Amsterdam).date_naive()
}

/// What one assessment of every cohort did (counts only: a log line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Assessment {
    pub cohorts: usize,
    /// Members whose recorded risk changed (became at risk, another reason
    /// or day, or no longer at risk).
    pub changed: usize,
    /// `student.at_risk` entries written: became at risk, or the reason
    /// changed.
    pub notified: usize,
}

/// The broker's daily job: assesses every cohort on today's date and, for
/// each member whose risk differs from the one recorded, records the new
/// one, with its audit event (`notify_at_risk` about the student) and —
/// when the student became at risk or the reason changed — a
/// `student.at_risk` entry on the school's own feed, all in one
/// transaction per member. A second run on the same day changes nothing.
/// For the operator (the broker's own job) only.
pub fn assess_cohorts(app: &App, caller: Caller<'_>) -> Result<Assessment, AppError> {
    let now = app.clock.now();
    let today = day_of(now);
    let mut done = Assessment::default();
    for (school, start) in app.store.read(cohorts::all)? {
        let school = Brin::parse(&school).map_err(|e| AppError::Internal(e.to_string()))?;
        let year = SchoolYear::starting(start).map_err(|e| AppError::Internal(e.to_string()))?;
        done.cohorts += 1;
        let (members, states) = app.store.read(|conn| {
            Ok::<_, AppError>((
                cohorts::list_recorded(conn, &school, start)?,
                cohorts::application_states(conn, &school, start)?,
            ))
        })?;
        let states = by_student(states);
        for (member, recorded) in members {
            let applications = states
                .get(member.student.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let risk = assess(year, &app.rules.deadlines, applications, today).map(|r| (r.reason, r.since));
            if risk != recorded {
                done.changed += 1;
                if notify(app, caller, &school, year, member, risk)? {
                    done.notified += 1;
                }
            }
        }
    }
    Ok(done)
}

/// The applications' states by student pseudonym.
fn by_student(states: Vec<cohorts::ApplicationState>) -> HashMap<String, Vec<ApplicationState>> {
    let mut by: HashMap<String, Vec<ApplicationState>> = HashMap::new();
    for state in states {
        by.entry(state.student.as_str().to_owned())
            .or_default()
            .push(ApplicationState {
                status: state.status,
                since: day_of(state.since),
            });
    }
    by
}

/// Records `risk` for the member and tells the school when the student
/// became at risk or the reason changed; whether it told. The recorded
/// risk is read again under the writers' lock: another node may have
/// recorded it since.
fn notify(
    app: &App,
    caller: Caller<'_>,
    school: &Brin,
    year: SchoolYear,
    member: Member,
    risk: cohorts::RecordedRisk,
) -> Result<bool, AppError> {
    let record = format!("{school}/{year}/{}", member.reference);
    let access = access(Action::NotifyAtRisk, school, ResourceKind::CohortMember, record).about(member.student);
    let start = year.start_year();
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let Some(recorded) = cohorts::recorded_risk_locked(ctx.conn, school, start, &member.reference)? else {
            return Ok(false);
        };
        if recorded == risk {
            return Ok(false);
        }
        cohorts::record_risk(ctx.conn, school, start, &member.reference, risk)?;
        let Some((reason, since)) = risk else {
            return Ok(false);
        };
        if recorded.is_some_and(|(before, _)| before == reason) {
            return Ok(false);
        }
        let detail = AtRiskDetail {
            school_year: start,
            reference: member.reference.clone(),
            reason,
            since,
        };
        emit_at_risk(ctx, school, detail)?;
        Ok(true)
    })
}
