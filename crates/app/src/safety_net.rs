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
        let mut states: HashMap<String, Vec<ApplicationState>> = HashMap::new();
        for state in cohorts::application_states(ctx.conn, &school, year.start_year())? {
            states
                .entry(state.student.as_str().to_owned())
                .or_default()
                .push(ApplicationState {
                    status: state.status,
                    since: day_of(state.since),
                });
        }
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
