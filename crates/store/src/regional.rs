//! What the regional figures count, read for a set of sending schools and
//! a school year: applications, the statuses they reached, the dossiers
//! sent, the inspections and consents recorded, the cohorts. Rows carry no
//! pseudonym and no id that leaves the use case: only the schools, the
//! programme, the status and the time, which are all a figure needs.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use diesel::prelude::*;
use doorstroom_domain::{ApplicationStatus, Brin, Section};

use crate::schema::{
    application_status_events as events, applications, cohort_members as members, consent_events as consents,
    inspections, packages,
};
use crate::{DbConn, StoreError, from_ms};

/// An application from one of the schools, for the year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub sending: String,
    pub receiving: String,
    pub crebo: Option<String>,
    /// `YYYY-MM-DD`, as the mbo stated it.
    pub applied_on: String,
    pub late: bool,
}

/// A status an application reached, and when first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub sending: String,
    pub receiving: String,
    pub crebo: Option<String>,
    pub status: ApplicationStatus,
    pub first: DateTime<Utc>,
}

/// Something recorded by a school for one of its applicants (a dossier
/// sent, an inspection, a consent), with the mbo and programme where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub sending: String,
    pub receiving: Option<String>,
    pub crebo: Option<String>,
    pub section: Option<Section>,
    pub at: DateTime<Utc>,
}

fn names(schools: &[Brin]) -> Vec<&str> {
    schools.iter().map(Brin::as_str).collect()
}

/// The applications for `year` that name one of `schools` as sending school.
pub fn applications(conn: &mut DbConn, schools: &[Brin], year: i32) -> Result<Vec<Application>, StoreError> {
    type Row = (Option<String>, String, Option<String>, String, bool);
    let rows: Vec<Row> = applications::table
        .filter(applications::school_year.eq(year))
        .filter(applications::sending.eq_any(names(schools)))
        .select((
            applications::sending,
            applications::receiving,
            applications::crebo,
            applications::applied_on,
            applications::late,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(sending, receiving, crebo, applied_on, late)| {
            sending.map(|sending| Application {
                sending,
                receiving,
                crebo,
                applied_on,
                late,
            })
        })
        .collect())
}

/// Each status reached (at least once) by those applications, with the
/// first time it was reported.
pub fn reached(conn: &mut DbConn, schools: &[Brin], year: i32) -> Result<Vec<Reached>, StoreError> {
    type Row = (String, Option<String>, String, Option<String>, String, i64);
    let rows: Vec<Row> = events::table
        .inner_join(applications::table)
        .filter(applications::school_year.eq(year))
        .filter(applications::sending.eq_any(names(schools)))
        .select((
            applications::id,
            applications::sending,
            applications::receiving,
            applications::crebo,
            events::status,
            events::reported_at,
        ))
        .load(conn)?;
    // The first report of each status of each application.
    let mut first: BTreeMap<(String, String), Row> = BTreeMap::new();
    for row in rows {
        let key = (row.0.clone(), row.4.clone());
        match first.get(&key) {
            Some(seen) if seen.5 <= row.5 => {}
            _ => {
                first.insert(key, row);
            }
        }
    }
    let mut out = Vec::with_capacity(first.len());
    for (_, sending, receiving, crebo, status, at) in first.into_values() {
        let Some(sending) = sending else { continue };
        out.push(Reached {
            sending,
            receiving,
            crebo,
            status: ApplicationStatus::parse(&status)
                .map_err(|e| StoreError::corrupt("application_status_events", "status", e.to_string()))?,
            first: from_ms(at, "application_status_events", "reported_at")?,
        });
    }
    Ok(out)
}

/// The dossiers `schools` sent for applications of `year`.
pub fn dossiers(conn: &mut DbConn, schools: &[Brin], year: i32) -> Result<Vec<Recorded>, StoreError> {
    let rows: Vec<(String, String, Option<String>, i64)> = packages::table
        .inner_join(applications::table)
        .filter(applications::school_year.eq(year))
        .filter(packages::sender.eq_any(names(schools)))
        .select((
            packages::sender,
            packages::recipient,
            applications::crebo,
            packages::submitted_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(sending, receiving, crebo, at)| {
            Ok(Recorded {
                sending,
                receiving: Some(receiving),
                crebo,
                section: None,
                at: from_ms(at, "packages", "submitted_at")?,
            })
        })
        .collect()
}

/// The inspections `schools` recorded for students they sent an
/// application for in `year`.
pub fn inspections(conn: &mut DbConn, schools: &[Brin], year: i32) -> Result<Vec<Recorded>, StoreError> {
    let applicants = applications::table
        .filter(applications::school_year.eq(year))
        .filter(applications::sending.eq_any(names(schools)))
        .select(applications::student);
    let rows: Vec<(String, i64)> = inspections::table
        .filter(inspections::school.eq_any(names(schools)))
        .filter(inspections::student.eq_any(applicants))
        .select((inspections::school, inspections::at))
        .load(conn)?;
    rows.into_iter()
        .map(|(sending, at)| {
            Ok(Recorded {
                sending,
                receiving: None,
                crebo: None,
                section: None,
                at: from_ms(at, "inspections", "at")?,
            })
        })
        .collect()
}

/// The consents given (events of kind `given`) recorded by `schools` for
/// students they sent an application for in `year`.
pub fn consents_given(conn: &mut DbConn, schools: &[Brin], year: i32) -> Result<Vec<Recorded>, StoreError> {
    let applicants = applications::table
        .filter(applications::school_year.eq(year))
        .filter(applications::sending.eq_any(names(schools)))
        .select(applications::student);
    let rows: Vec<(String, String, String, i64)> = consents::table
        .filter(consents::school.eq_any(names(schools)))
        .filter(consents::kind.eq("given"))
        .filter(consents::student.eq_any(applicants))
        .select((consents::school, consents::recipient, consents::section, consents::at))
        .load(conn)?;
    rows.into_iter()
        .map(|(sending, receiving, section, at)| {
            Ok(Recorded {
                sending,
                receiving: Some(receiving),
                crebo: None,
                section: Some(
                    Section::parse(&section)
                        .map_err(|e| StoreError::corrupt("consent_events", "section", e.to_string()))?,
                ),
                at: from_ms(at, "consent_events", "at")?,
            })
        })
        .collect()
}

/// The size of each of `schools`' cohorts of `year` (schools without one
/// left out).
pub fn cohort_sizes(conn: &mut DbConn, schools: &[Brin], year: i32) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(members::table
        .filter(members::school_year.eq(year))
        .filter(members::school.eq_any(names(schools)))
        .group_by(members::school)
        .select((members::school, diesel::dsl::count_star()))
        .load(conn)?)
}
