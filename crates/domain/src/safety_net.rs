//! The safety net (vangnet): which students of a vo school's leaving cohort
//! are at risk of being lost between vo and mbo, and why.
//!
//! The guide this product comes from names the moments students are lost:
//! no application by 1 April, no intake before the summer, dropping off
//! over the summer, not showing up in September. A cohort is a school's
//! students leaving for the school year [`SchoolYear`] (the mbo year they
//! would start in); each milestone has a deadline in that cohort's
//! calendar, held in configuration ([`Deadlines`]). A student is at risk
//! for the *first* milestone whose deadline has passed without it being
//! reached — the most fundamental one, so that a student without any
//! application shows as "no application", not as "not enrolled" — or at
//! any time after a no-show, unless they are enrolled elsewhere.
//!
//! A pure function of the cohort member's applications and the day: the
//! clock is the caller's, passed in as `today` (the day in the
//! Netherlands).

use chrono::{Datelike, Days, NaiveDate};

use crate::application::SchoolYear;
use crate::dossier::ApplicationStatus;
use crate::ids::ParseError;

/// A day of the year on which a deadline falls, e.g. 1 April.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayOfYear {
    month: u32,
    day: u32,
}

impl DayOfYear {
    /// A day that exists in a leap year (so 29 February is accepted; in
    /// other years it falls on 28 February).
    pub fn new(month: u32, day: u32) -> Result<DayOfYear, ParseError> {
        if NaiveDate::from_ymd_opt(2028, month, day).is_none() {
            return Err(ParseError::new("deadline", "must be a day of the year such as 04-01"));
        }
        Ok(DayOfYear { month, day })
    }

    /// Parses `"MM-DD"`.
    pub fn parse(raw: &str) -> Result<DayOfYear, ParseError> {
        let form = ParseError::new("deadline", "must be a day of the year such as 04-01");
        let (m, d) = raw.split_once('-').ok_or_else(|| form.clone())?;
        let number = |s: &str| {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
                .ok_or_else(|| form.clone())
        };
        DayOfYear::new(number(m)?, number(d)?)
    }

    /// The date in `year`; 29 February falls on the 28th outside leap years.
    pub fn in_year(self, year: i32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))
            .unwrap_or(NaiveDate::MIN)
    }
}

impl std::fmt::Display for DayOfYear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// The safety net's deadlines, as days in the calendar year in which the
/// cohort's mbo school year starts. A milestone is reached in time when it
/// is reached on its deadline or before; the student is at risk from the
/// day after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// An application (default 1 April: the national deadline).
    pub application: DayOfYear,
    /// An intake scheduled or held (default 1 July: before the summer).
    pub intake: DayOfYear,
    /// A place offered or enrolled (default 1 August).
    pub place: DayOfYear,
    /// Enrolled (default 1 October: the count date of the school year).
    pub enrolled: DayOfYear,
}

impl Default for Deadlines {
    fn default() -> Self {
        let day = |m, d| DayOfYear { month: m, day: d };
        Deadlines {
            application: day(4, 1),
            intake: day(7, 1),
            place: day(8, 1),
            enrolled: day(10, 1),
        }
    }
}

/// How long a cohort is kept: until `after` past the enrolment deadline
/// of its school year (the school's duty of care for its leavers ends then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CohortRetention {
    pub enrolled_by: DayOfYear,
    pub after: chrono::Duration,
}

impl Default for CohortRetention {
    /// 60 days after 1 October.
    fn default() -> Self {
        CohortRetention {
            enrolled_by: Deadlines::default().enrolled,
            after: chrono::Duration::days(60),
        }
    }
}

impl CohortRetention {
    /// The latest school year (its start year) whose cohorts are due on
    /// `today`: every cohort of that year or before goes.
    pub fn last_year_due(&self, today: NaiveDate) -> i32 {
        let due = |start: i32| {
            self.enrolled_by
                .in_year(start)
                .checked_add_signed(self.after)
                .is_some_and(|end| end <= today)
        };
        // The period is positive, so the year of `today` is the latest
        // candidate; the one before is due whenever the period is at most
        // a year.
        let mut year = today.year();
        while !due(year) && year > i32::from(i16::MIN) {
            year -= 1;
        }
        year
    }
}

/// The school year (its start year) whose cohort a school works on at
/// `today`: the latest one whose application deadline has passed, unless
/// its cohorts are gone already (`retention`); then the first one still
/// kept (between the deletion and the next application deadline nobody can
/// be at risk but for a no-show).
pub fn current_cohort_year(deadlines: &Deadlines, retention: &CohortRetention, today: NaiveDate) -> i32 {
    let started = if today > deadlines.application.in_year(today.year()) {
        today.year()
    } else {
        today.year() - 1
    };
    started.max(retention.last_year_due(today) + 1)
}

/// Why a student is at risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskReason {
    /// No (open) application after the application deadline.
    NoApplication,
    /// No intake scheduled or held after the intake deadline.
    NoIntake,
    /// No place offered after the place deadline (dropping off over the
    /// summer).
    NoPlace,
    /// Not enrolled after the enrolment deadline.
    NotEnrolled,
    /// Did not show up at the mbo, and is not enrolled elsewhere.
    NoShow,
}

impl RiskReason {
    pub const ALL: [RiskReason; 5] = [
        RiskReason::NoApplication,
        RiskReason::NoIntake,
        RiskReason::NoPlace,
        RiskReason::NotEnrolled,
        RiskReason::NoShow,
    ];

    /// The reason named `raw` (as [`RiskReason::as_str`] names it).
    pub fn parse(raw: &str) -> Result<RiskReason, ParseError> {
        RiskReason::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| ParseError::new("reason", "not a reason of the safety net"))
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            RiskReason::NoApplication => "no_application",
            RiskReason::NoIntake => "no_intake",
            RiskReason::NoPlace => "no_place",
            RiskReason::NotEnrolled => "not_enrolled",
            RiskReason::NoShow => "no_show",
        }
    }
}

/// How far an application has come, by its current status. An ended
/// application (withdrawn, not enrolling, no-show) counts for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Progress {
    Nothing,
    Applied,
    Intake,
    Place,
    Enrolled,
}

fn progress(status: ApplicationStatus) -> Progress {
    match status {
        ApplicationStatus::Registered | ApplicationStatus::Received => Progress::Applied,
        ApplicationStatus::IntakeScheduled | ApplicationStatus::IntakeHeld => Progress::Intake,
        ApplicationStatus::PlaceOffered => Progress::Place,
        ApplicationStatus::Enrolled => Progress::Enrolled,
        ApplicationStatus::NotEnrolling | ApplicationStatus::Withdrawn | ApplicationStatus::NoShow => Progress::Nothing,
    }
}

/// One application of the student as the safety net sees it: where it
/// stands now and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationState {
    pub status: ApplicationStatus,
    /// The day (in the Netherlands) of the latest status.
    pub since: NaiveDate,
}

/// A student at risk: why, and from which day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Risk {
    pub reason: RiskReason,
    pub since: NaiveDate,
}

/// Where a cohort member stands on `today`: at risk (why, since when) or
/// not. `applications` are all of the student's applications for the
/// cohort's school year, at any mbo.
pub fn assess(
    year: SchoolYear,
    deadlines: &Deadlines,
    applications: &[ApplicationState],
    today: NaiveDate,
) -> Option<Risk> {
    let best = applications
        .iter()
        .map(|a| progress(a.status))
        .max()
        .unwrap_or(Progress::Nothing);
    if best == Progress::Enrolled {
        return None;
    }
    let no_show = applications
        .iter()
        .filter(|a| a.status == ApplicationStatus::NoShow)
        .map(|a| a.since)
        .max();
    if let Some(since) = no_show.filter(|day| *day <= today) {
        return Some(Risk {
            reason: RiskReason::NoShow,
            since,
        });
    }
    // An application that ended after the deadline puts the student at
    // risk on the day it ended, not retroactively.
    let ended = applications
        .iter()
        .filter(|a| progress(a.status) == Progress::Nothing)
        .map(|a| a.since)
        .max();
    let start = year.first_day().year();
    let milestones = [
        (deadlines.application, Progress::Applied, RiskReason::NoApplication),
        (deadlines.intake, Progress::Intake, RiskReason::NoIntake),
        (deadlines.place, Progress::Place, RiskReason::NoPlace),
        (deadlines.enrolled, Progress::Enrolled, RiskReason::NotEnrolled),
    ];
    milestones.into_iter().find_map(|(deadline, needed, reason)| {
        let from = deadline.in_year(start).checked_add_days(Days::new(1))?;
        let since = ended.map_or(from, |e| e.max(from));
        (best < needed && today >= since).then_some(Risk { reason, since })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ApplicationStatus::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn year() -> SchoolYear {
        SchoolYear::starting(2027).unwrap()
    }

    fn app(status: ApplicationStatus, since: NaiveDate) -> ApplicationState {
        ApplicationState { status, since }
    }

    fn risk(applications: &[ApplicationState], today: NaiveDate) -> Option<(RiskReason, NaiveDate)> {
        assess(year(), &Deadlines::default(), applications, today).map(|r| (r.reason, r.since))
    }

    #[test]
    fn no_application_counts_from_the_day_after_1_april() {
        assert_eq!(risk(&[], day(2027, 4, 1)), None, "1 April is still in time");
        assert_eq!(
            risk(&[], day(2027, 4, 2)),
            Some((RiskReason::NoApplication, day(2027, 4, 2)))
        );
        let late = [app(Registered, day(2027, 4, 20))];
        assert_eq!(risk(&late, day(2027, 4, 20)), None, "a late application ends the risk");
    }

    #[test]
    fn each_milestone_has_its_deadline_and_the_first_missed_one_is_the_reason() {
        let applied = [app(Received, day(2027, 3, 1))];
        assert_eq!(risk(&applied, day(2027, 7, 1)), None);
        assert_eq!(
            risk(&applied, day(2027, 7, 2)),
            Some((RiskReason::NoIntake, day(2027, 7, 2)))
        );
        assert_eq!(
            risk(&applied, day(2027, 10, 20)),
            Some((RiskReason::NoIntake, day(2027, 7, 2))),
            "the first missed milestone, not the last"
        );
        let intake = [app(IntakeHeld, day(2027, 6, 1))];
        assert_eq!(risk(&intake, day(2027, 8, 1)), None);
        assert_eq!(
            risk(&intake, day(2027, 8, 2)),
            Some((RiskReason::NoPlace, day(2027, 8, 2)))
        );
        let place = [app(PlaceOffered, day(2027, 7, 15))];
        assert_eq!(risk(&place, day(2027, 10, 1)), None);
        assert_eq!(
            risk(&place, day(2027, 10, 2)),
            Some((RiskReason::NotEnrolled, day(2027, 10, 2)))
        );
        assert_eq!(risk(&[app(Enrolled, day(2027, 8, 20))], day(2028, 1, 1)), None);
        assert_eq!(
            risk(&[], day(2027, 12, 1)),
            Some((RiskReason::NoApplication, day(2027, 4, 2))),
            "nothing at all: no application, not 'not enrolled'"
        );
    }

    #[test]
    fn the_best_application_counts_and_an_ended_one_counts_for_nothing() {
        let two = [app(Withdrawn, day(2027, 2, 1)), app(IntakeScheduled, day(2027, 5, 1))];
        assert_eq!(risk(&two, day(2027, 7, 5)), None);
        let ended = [app(NotEnrolling, day(2027, 9, 3))];
        assert_eq!(
            risk(&ended, day(2027, 9, 2)),
            None,
            "the application still counted until it ended"
        );
        assert_eq!(
            risk(&ended, day(2027, 9, 3)),
            Some((RiskReason::NoApplication, day(2027, 9, 3))),
            "at risk from the day it ended"
        );
    }

    #[test]
    fn a_no_show_is_a_risk_at_once_unless_enrolled_elsewhere() {
        let no_show = [app(NoShow, day(2027, 9, 1))];
        assert_eq!(
            risk(&no_show, day(2027, 9, 1)),
            Some((RiskReason::NoShow, day(2027, 9, 1)))
        );
        let elsewhere = [app(NoShow, day(2027, 9, 1)), app(Enrolled, day(2027, 9, 2))];
        assert_eq!(risk(&elsewhere, day(2027, 9, 3)), None);
        let pending = [app(NoShow, day(2027, 9, 1)), app(PlaceOffered, day(2027, 8, 1))];
        assert_eq!(
            risk(&pending, day(2027, 9, 3)),
            Some((RiskReason::NoShow, day(2027, 9, 1))),
            "a place elsewhere is not an enrolment yet"
        );
    }

    #[test]
    fn a_cohort_goes_its_period_after_the_enrolment_deadline() {
        let keep = CohortRetention::default();
        // 2027-2028: enrolment deadline 1 October 2027, + 60 days = 30 November.
        assert_eq!(keep.last_year_due(day(2027, 11, 29)), 2026);
        assert_eq!(keep.last_year_due(day(2027, 11, 30)), 2027);
        assert_eq!(keep.last_year_due(day(2028, 3, 1)), 2027);
    }

    #[test]
    fn the_current_cohort_is_the_latest_past_its_application_deadline_and_still_kept() {
        let deadlines = Deadlines::default();
        let keep = CohortRetention::default();
        let current = |today| current_cohort_year(&deadlines, &keep, today);
        assert_eq!(current(day(2027, 4, 1)), 2027, "2026's is still kept, 2027's is next");
        assert_eq!(current(day(2027, 3, 1)), 2027, "2026's went on 30 November");
        assert_eq!(current(day(2026, 11, 29)), 2026);
        assert_eq!(current(day(2026, 4, 2)), 2026);
        let longer = CohortRetention {
            after: chrono::Duration::days(240),
            ..keep
        };
        assert_eq!(current_cohort_year(&deadlines, &longer, day(2026, 12, 7)), 2026);
        assert_eq!(current_cohort_year(&deadlines, &longer, day(2027, 4, 1)), 2026);
        assert_eq!(current_cohort_year(&deadlines, &longer, day(2027, 4, 2)), 2027);
    }

    #[test]
    fn deadlines_are_days_of_the_year_and_29_february_falls_on_the_28th_outside_leap_years() {
        let leap = DayOfYear::parse("02-29").unwrap();
        assert_eq!(leap.in_year(2028), day(2028, 2, 29));
        assert_eq!(leap.in_year(2027), day(2027, 2, 28));
        for bad in ["02-30", "13-01", "4-1", "04/01", "", "00-10"] {
            assert!(DayOfYear::parse(bad).is_err(), "{bad}");
        }
        let deadlines = Deadlines {
            application: leap,
            ..Deadlines::default()
        };
        let at = |today| assess(year(), &deadlines, &[], today).map(|r| r.since);
        assert_eq!(at(day(2027, 2, 28)), None, "28 February 2027 is the deadline itself");
        assert_eq!(at(day(2027, 3, 1)), Some(day(2027, 3, 1)));
        let next = SchoolYear::starting(2028).unwrap();
        assert_eq!(assess(next, &deadlines, &[], day(2028, 2, 29)), None);
        assert_eq!(
            assess(next, &deadlines, &[], day(2028, 3, 1)).map(|r| r.since),
            Some(day(2028, 3, 1))
        );
    }
}
