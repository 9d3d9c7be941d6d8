//! Applications (aanmeldingen) at an mbo: the school year, the programme,
//! the 1 April deadline and the course of an application as the mbo reports
//! it back (terugkoppeling), as a state machine.
//!
//! Dates are always passed in: nothing here reads the clock.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::dossier::ApplicationStatus;
use crate::ids::ParseError;

/// A school year, named by the calendar year it starts in: `SchoolYear`
/// 2027 is `2027-2028`, from 1 August 2027 to 31 July 2028.
///
/// Its text and wire form is `"2027-2028"`: two four-digit years, the second
/// exactly one after the first. Start years 1000 to 9998 are accepted, so
/// that the form always has four-digit years.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchoolYear {
    start: i32,
    /// 1 August of `start`.
    first_day: NaiveDate,
    /// 31 July of `start + 1`.
    last_day: NaiveDate,
    /// 1 April of `start`.
    deadline: NaiveDate,
}

const YEAR: &str = "school_year";

impl SchoolYear {
    /// The school year starting on 1 August of `start`.
    pub fn starting(start: i32) -> Result<Self, ParseError> {
        let out_of_range = ParseError::new(YEAR, "must start in a year from 1000 to 9998");
        if !(1000..=9998).contains(&start) {
            return Err(out_of_range);
        }
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| out_of_range.clone());
        Ok(Self {
            start,
            first_day: date(start, 8, 1)?,
            last_day: date(start + 1, 7, 31)?,
            deadline: date(start, 4, 1)?,
        })
    }

    /// Parses `"2027-2028"`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let form = ParseError::new(YEAR, "must be two years like 2027-2028");
        let (first, second) = raw.split_once('-').ok_or_else(|| form.clone())?;
        let year = |s: &str| -> Result<i32, ParseError> {
            if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().map_err(|_| form.clone())
            } else {
                Err(form.clone())
            }
        };
        let (first, second) = (year(first)?, year(second)?);
        if second != first + 1 {
            return Err(ParseError::new(
                YEAR,
                "the second year must follow the first, e.g. 2027-2028",
            ));
        }
        Self::starting(first)
    }

    /// The school year that `date` falls in (school years run from 1 August
    /// to 31 July).
    pub fn containing(date: NaiveDate) -> Result<Self, ParseError> {
        if date.month() >= 8 {
            Self::starting(date.year())
        } else {
            Self::starting(date.year() - 1)
        }
    }

    /// The calendar year the school year starts in.
    pub const fn start_year(self) -> i32 {
        self.start
    }

    /// 1 August of the start year.
    pub const fn first_day(self) -> NaiveDate {
        self.first_day
    }

    /// 31 July of the year after the start year.
    pub const fn last_day(self) -> NaiveDate {
        self.last_day
    }

    /// Whether `date` lies in this school year.
    pub fn contains(self, date: NaiveDate) -> bool {
        self.first_day <= date && date <= self.last_day
    }

    /// The legal deadline for applying at an mbo for this school year:
    /// 1 April of the start year (an application on 1 April is in time).
    pub const fn application_deadline(self) -> NaiveDate {
        self.deadline
    }
}

/// Whether an application for `year` made on `applied_on` is late: made
/// after 1 April of the school year's start year. A late application is
/// still registered; it is only marked.
pub fn is_late(year: SchoolYear, applied_on: NaiveDate) -> bool {
    applied_on > year.application_deadline()
}

impl fmt::Display for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.start + 1)
    }
}

impl fmt::Debug for SchoolYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchoolYear({self})")
    }
}

impl FromStr for SchoolYear {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchoolYear::parse(s)
    }
}

impl Serialize for SchoolYear {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SchoolYear {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SchoolYear::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A CREBO code: the 5-digit number of an mbo qualification in the
/// register of vocational qualifications (Centraal Register
/// Beroepsopleidingen), e.g. `25180`. Kept as text so that a leading zero
/// survives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Crebo(String);

impl Crebo {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() == 5 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new("crebo", "must be exactly 5 digits"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Crebo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Crebo {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Crebo::parse(s)
    }
}

impl Serialize for Crebo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Crebo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Crebo::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The mbo programme applied for: its name as the mbo calls it and, when
/// the mbo knows it, the CREBO code of the qualification.
///
/// The name is 1 to 200 characters after trimming surrounding white space,
/// with no control characters (no line breaks or tabs). The CREBO code is
/// optional because a programme can be applied for before its qualification
/// is fixed (e.g. a broad first year, or an entrance course).
///
/// Wire form: `{"name": "Verzorgende IG", "crebo": "25491"}`; `crebo` may be
/// `null` or left out; other fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ProgrammeWire")]
pub struct Programme {
    /// Name of the programme, 1 to 200 characters, no control characters.
    name: String,
    /// CREBO code of the qualification: exactly 5 digits.
    crebo: Option<Crebo>,
}

impl Programme {
    pub fn new(name: &str, crebo: Option<Crebo>) -> Result<Self, ParseError> {
        let name = name.trim();
        let chars = name.chars().count();
        if !(1..=200).contains(&chars) {
            return Err(ParseError::new("programme", "name must be 1 to 200 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(ParseError::new("programme", "name must not contain control characters"));
        }
        Ok(Self {
            name: name.to_owned(),
            crebo,
        })
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn crebo(&self) -> Option<&Crebo> {
        self.crebo.as_ref()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgrammeWire {
    name: String,
    #[serde(default)]
    crebo: Option<Crebo>,
}

impl TryFrom<ProgrammeWire> for Programme {
    type Error = ParseError;
    fn try_from(wire: ProgrammeWire) -> Result<Self, ParseError> {
        Programme::new(&wire.name, wire.crebo)
    }
}

/// Why a status report was refused: the rule it breaks. Its text is safe to
/// return to the caller (409) and to put in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Not-enrolling, withdrawn and no-show are final.
    #[error("a {from} application is closed and cannot move to {to}")]
    Closed {
        from: ApplicationStatus,
        to: ApplicationStatus,
    },
    /// Once enrolled, the only news can be that the student left.
    #[error("an enrolled application can only end as withdrawn or no_show, not {to}")]
    EnrolledCanOnlyEnd { to: ApplicationStatus },
    /// The steps registered → received → intake_scheduled → intake_held →
    /// place_offered are never walked back.
    #[error("an application cannot go back from {from} to {to}")]
    Backwards {
        from: ApplicationStatus,
        to: ApplicationStatus,
    },
    /// An intake is held after the dossier arrived or the intake was
    /// scheduled, not straight after registration.
    #[error("an intake can only be held after the dossier was received or the intake was scheduled")]
    IntakeNotPrepared,
    #[error("a place can only be offered after the intake was held")]
    PlaceWithoutIntake,
    #[error("a student can only be enrolled after a place was offered")]
    EnrolmentWithoutOffer,
    /// A no-show needs something to not show up for.
    #[error("no_show applies only to a scheduled intake, an offered place or an enrolment")]
    NoShowWithoutAppointment,
}

impl ApplicationStatus {
    /// Whether the application is closed for good.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            ApplicationStatus::NotEnrolling | ApplicationStatus::Withdrawn | ApplicationStatus::NoShow
        )
    }

    /// Whether the application is still open. A dossier may only be
    /// submitted for an open application (no application, no dossier).
    pub const fn is_open(self) -> bool {
        !self.is_terminal()
    }

    /// Whether the mbo may report `next` for an application now in `self`.
    ///
    /// Reporting the current status again is accepted and changes nothing
    /// (idempotent resubmission). Otherwise (✓ allowed, · refused):
    ///
    /// | from ↓ / to →      | received | intake_scheduled | intake_held | place_offered | enrolled | not_enrolling | withdrawn | no_show |
    /// |--------------------|:--------:|:----------------:|:-----------:|:-------------:|:--------:|:-------------:|:---------:|:-------:|
    /// | `registered`       | ✓        | ✓                | ·           | ·             | ·        | ✓             | ✓         | ·       |
    /// | `received`         | =        | ✓                | ✓           | ·             | ·        | ✓             | ✓         | ·       |
    /// | `intake_scheduled` | ·        | =                | ✓           | ·             | ·        | ✓             | ✓         | ✓       |
    /// | `intake_held`      | ·        | ·                | =           | ✓             | ·        | ✓             | ✓         | ·       |
    /// | `place_offered`    | ·        | ·                | ·           | =             | ✓        | ✓             | ✓         | ✓       |
    /// | `enrolled`         | ·        | ·                | ·           | ·             | =        | ·             | ✓         | ✓       |
    /// | `not_enrolling`    | ·        | ·                | ·           | ·             | ·        | =             | ·         | ·       |
    /// | `withdrawn`        | ·        | ·                | ·           | ·             | ·        | ·             | =         | ·       |
    /// | `no_show`          | ·        | ·                | ·           | ·             | ·        | ·             | ·         | =       |
    ///
    /// Nothing moves back to `registered`. Meanings: `intake_scheduled` →
    /// `no_show`: did not come to the intake; `place_offered` → `no_show`:
    /// did not respond to the offer; `enrolled` → `no_show`: the
    /// after-summer check found the student enrolled but not started;
    /// `enrolled` → `withdrawn`: left after enrolling. `not_enrolling` is the
    /// mbo's or the student's decision not to go on (e.g. after the intake).
    pub fn can_move_to(self, next: ApplicationStatus) -> Result<(), TransitionError> {
        use ApplicationStatus::*;
        if self == next {
            return Ok(());
        }
        if self.is_terminal() {
            return Err(TransitionError::Closed { from: self, to: next });
        }
        if self == Enrolled {
            return match next {
                Withdrawn | NoShow => Ok(()),
                _ => Err(TransitionError::EnrolledCanOnlyEnd { to: next }),
            };
        }
        // From here on `self` is one of the steps before enrolment.
        if matches!((self.step(), next.step()), (Some(from), Some(to)) if to < from) {
            return Err(TransitionError::Backwards { from: self, to: next });
        }
        match next {
            NotEnrolling | Withdrawn => Ok(()),
            Registered | Received | IntakeScheduled => Ok(()),
            IntakeHeld if matches!(self, Received | IntakeScheduled) => Ok(()),
            IntakeHeld => Err(TransitionError::IntakeNotPrepared),
            PlaceOffered if self == IntakeHeld => Ok(()),
            PlaceOffered => Err(TransitionError::PlaceWithoutIntake),
            Enrolled if self == PlaceOffered => Ok(()),
            Enrolled => Err(TransitionError::EnrolmentWithoutOffer),
            NoShow if matches!(self, IntakeScheduled | PlaceOffered) => Ok(()),
            NoShow => Err(TransitionError::NoShowWithoutAppointment),
        }
    }

    /// The statuses that may follow this one (not counting itself), in the
    /// order of [`ApplicationStatus::ALL`].
    pub fn next_statuses(self) -> Vec<ApplicationStatus> {
        ApplicationStatus::ALL
            .iter()
            .copied()
            .filter(|next| *next != self && self.can_move_to(*next).is_ok())
            .collect()
    }

    /// The position on the way to enrolment, for the steps that are walked
    /// in order.
    const fn step(self) -> Option<u8> {
        match self {
            ApplicationStatus::Registered => Some(0),
            ApplicationStatus::Received => Some(1),
            ApplicationStatus::IntakeScheduled => Some(2),
            ApplicationStatus::IntakeHeld => Some(3),
            ApplicationStatus::PlaceOffered => Some(4),
            ApplicationStatus::Enrolled => Some(5),
            ApplicationStatus::NotEnrolling | ApplicationStatus::Withdrawn | ApplicationStatus::NoShow => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationStatus::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn school_year_parses_and_prints() {
        let y = SchoolYear::parse("2027-2028").ok();
        assert_eq!(y.map(|y| y.start_year()), Some(2027));
        assert_eq!(y.map(|y| y.to_string()).as_deref(), Some("2027-2028"));
        assert_eq!(
            SchoolYear::parse("2027-2029").map(|_| ()),
            Err(ParseError::new(
                YEAR,
                "the second year must follow the first, e.g. 2027-2028"
            ))
        );
        for bad in [
            "2027",
            "2027/2028",
            "27-28",
            "2027-2028 ",
            "+2027-2028",
            "-2027-2028",
            "2028-2027",
            "",
        ] {
            assert!(SchoolYear::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SchoolYear::parse("9999-10000").is_err());
        assert!(SchoolYear::starting(999).is_err());
        assert!(SchoolYear::starting(9998).is_ok());
    }

    #[test]
    fn school_year_serde() {
        let y: Result<SchoolYear, _> = serde_json::from_str("\"2026-2027\"");
        assert_eq!(y.as_ref().map(|y| y.start_year()).ok(), Some(2026));
        assert_eq!(
            y.ok().and_then(|y| serde_json::to_string(&y).ok()).as_deref(),
            Some("\"2026-2027\"")
        );
        assert!(serde_json::from_str::<SchoolYear>("\"2026-2026\"").is_err());
        assert!(serde_json::from_str::<SchoolYear>("2026").is_err());
    }

    #[test]
    fn school_year_boundaries() {
        let y2027 = SchoolYear::starting(2027).ok();
        assert_eq!(SchoolYear::containing(date(2027, 8, 1)).ok(), y2027);
        assert_eq!(SchoolYear::containing(date(2028, 7, 31)).ok(), y2027);
        assert_eq!(
            SchoolYear::containing(date(2027, 7, 31)).map(|y| y.start_year()),
            Ok(2026)
        );
        assert_eq!(
            SchoolYear::containing(date(2028, 8, 1)).map(|y| y.start_year()),
            Ok(2028)
        );
        assert_eq!(
            SchoolYear::containing(date(2028, 1, 1)).map(|y| y.start_year()),
            Ok(2027)
        );
        let y = SchoolYear::starting(2027).ok();
        assert_eq!(y.map(|y| y.first_day()), Some(date(2027, 8, 1)));
        assert_eq!(y.map(|y| y.last_day()), Some(date(2028, 7, 31)));
        assert_eq!(y.map(|y| y.contains(date(2028, 7, 31))), Some(true));
        assert_eq!(y.map(|y| y.contains(date(2027, 7, 31))), Some(false));
    }

    #[test]
    fn deadline_is_first_of_april_of_the_start_year() {
        let Ok(y) = SchoolYear::starting(2027) else {
            panic!("2027 is a valid start year")
        };
        assert_eq!(y.application_deadline(), date(2027, 4, 1));
        assert!(!is_late(y, date(2026, 10, 1)));
        assert!(!is_late(y, date(2027, 3, 31)));
        assert!(!is_late(y, date(2027, 4, 1)));
        assert!(is_late(y, date(2027, 4, 2)));
        assert!(is_late(y, date(2027, 9, 1)));
    }

    #[test]
    fn programme_rules() {
        let crebo = Crebo::parse("25491").ok();
        let p = Programme::new("  Verzorgende IG ", crebo.clone());
        assert_eq!(p.as_ref().map(Programme::name), Ok("Verzorgende IG"));
        assert_eq!(p.as_ref().map(|p| p.crebo().cloned()), Ok(crebo));
        assert!(Programme::new("", None).is_err());
        assert!(Programme::new("   ", None).is_err());
        assert!(Programme::new(&"é".repeat(200), None).is_ok());
        assert!(Programme::new(&"é".repeat(201), None).is_err());
        assert!(Programme::new("Zorg\nen welzijn", None).is_err());
        assert!(Programme::new("Zorg\u{7f}", None).is_err());
        for bad in ["2549", "254911", "2549a", " 25491"] {
            assert!(Crebo::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Crebo::parse("01234").map(|c| c.to_string()).as_deref(), Ok("01234"));
    }

    #[test]
    fn programme_serde() {
        let p: Result<Programme, _> = serde_json::from_str(r#"{"name":"Kok","crebo":"25180"}"#);
        assert_eq!(
            p.ok().and_then(|p| serde_json::to_string(&p).ok()).as_deref(),
            Some(r#"{"name":"Kok","crebo":"25180"}"#)
        );
        let p: Result<Programme, _> = serde_json::from_str(r#"{"name":"Kok"}"#);
        assert_eq!(p.map(|p| p.crebo().is_none()).ok(), Some(true));
        for bad in [
            r#"{"name":"Kok","crebo":"2518"}"#,
            r#"{"name":""}"#,
            r#"{"name":"Kok","level":2}"#,
            r#"{"crebo":"25180"}"#,
        ] {
            assert!(serde_json::from_str::<Programme>(bad).is_err(), "{bad}");
        }
    }

    /// The reviewed graph, written out pair by pair independently of the
    /// implementation: every status → the statuses it may move to (besides
    /// itself).
    fn allowed(from: ApplicationStatus) -> &'static [ApplicationStatus] {
        match from {
            Registered => &[Received, IntakeScheduled, Withdrawn, NotEnrolling],
            Received => &[IntakeScheduled, IntakeHeld, Withdrawn, NotEnrolling],
            IntakeScheduled => &[IntakeHeld, NoShow, Withdrawn, NotEnrolling],
            IntakeHeld => &[PlaceOffered, NotEnrolling, Withdrawn],
            PlaceOffered => &[Enrolled, NotEnrolling, Withdrawn, NoShow],
            Enrolled => &[Withdrawn, NoShow],
            NotEnrolling | Withdrawn | NoShow => &[],
        }
    }

    #[test]
    fn every_pair_of_statuses() {
        assert_eq!(ApplicationStatus::ALL.len(), 9);
        let mut checked = 0;
        for from in ApplicationStatus::ALL.iter().copied() {
            for to in ApplicationStatus::ALL.iter().copied() {
                let want = from == to || allowed(from).contains(&to);
                let got = from.can_move_to(to);
                assert_eq!(got.is_ok(), want, "{from} -> {to}: {got:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 81);
    }

    #[test]
    fn refusals_name_their_rule() {
        let msg = |from: ApplicationStatus, to| from.can_move_to(to).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            msg(Enrolled, NotEnrolling),
            "an enrolled application can only end as withdrawn or no_show, not not_enrolling"
        );
        assert_eq!(
            msg(Withdrawn, Received),
            "a withdrawn application is closed and cannot move to received"
        );
        assert_eq!(
            msg(PlaceOffered, Received),
            "an application cannot go back from place_offered to received"
        );
        assert_eq!(
            msg(IntakeScheduled, Registered),
            "an application cannot go back from intake_scheduled to registered"
        );
        assert_eq!(
            msg(Registered, IntakeHeld),
            TransitionError::IntakeNotPrepared.to_string()
        );
        assert_eq!(
            msg(Received, PlaceOffered),
            TransitionError::PlaceWithoutIntake.to_string()
        );
        assert_eq!(
            msg(IntakeHeld, Enrolled),
            TransitionError::EnrolmentWithoutOffer.to_string()
        );
        assert_eq!(
            msg(IntakeHeld, NoShow),
            TransitionError::NoShowWithoutAppointment.to_string()
        );
    }

    #[test]
    fn open_and_terminal() {
        for s in ApplicationStatus::ALL.iter().copied() {
            assert_eq!(s.is_open(), !matches!(s, NotEnrolling | Withdrawn | NoShow), "{s}");
            assert_eq!(s.is_terminal(), s.next_statuses().is_empty(), "{s}");
        }
        assert_eq!(Enrolled.next_statuses(), vec![Withdrawn, NoShow]);
    }

    proptest! {
        #[test]
        fn accepted_sequences_never_leave_a_terminal_state(
            steps in proptest::collection::vec(proptest::sample::select(ApplicationStatus::ALL), 0..40)
        ) {
            let mut state = Registered;
            for next in steps {
                let before = state;
                if state.can_move_to(next).is_ok() {
                    state = next;
                }
                if before.is_terminal() {
                    prop_assert_eq!(state, before);
                }
                if before != Registered {
                    prop_assert_ne!(state, Registered);
                }
            }
        }
    }
}

/// A status report: the status an application moves to and, with
/// `intake_scheduled`, the day of the intake conversation if the mbo gives
/// it (so that the vo mentor can prepare the warm handover with the
/// student). A day with any other status is refused: it would say
/// something that did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusReport {
    status: ApplicationStatus,
    intake_on: Option<NaiveDate>,
}

impl StatusReport {
    pub fn new(status: ApplicationStatus, intake_on: Option<NaiveDate>) -> Result<Self, ParseError> {
        if intake_on.is_some() && status != ApplicationStatus::IntakeScheduled {
            return Err(ParseError::new(
                "intake_on",
                "a day of intake goes only with the status intake_scheduled",
            ));
        }
        Ok(Self { status, intake_on })
    }

    /// A report of `status` alone.
    pub const fn status_only(status: ApplicationStatus) -> Self {
        Self {
            status,
            intake_on: None,
        }
    }

    pub const fn status(&self) -> ApplicationStatus {
        self.status
    }

    pub const fn intake_on(&self) -> Option<NaiveDate> {
        self.intake_on
    }
}

#[cfg(test)]
mod status_report_tests {
    use super::*;

    #[test]
    fn a_day_of_intake_goes_only_with_intake_scheduled() {
        let day = NaiveDate::from_ymd_opt(2027, 5, 12);
        let scheduled = StatusReport::new(ApplicationStatus::IntakeScheduled, day).ok();
        assert_eq!(scheduled.and_then(|r| r.intake_on()), day);
        assert!(StatusReport::new(ApplicationStatus::IntakeScheduled, None).is_ok());
        for status in ApplicationStatus::ALL {
            if *status != ApplicationStatus::IntakeScheduled {
                assert!(StatusReport::new(*status, day).is_err(), "{status:?} with a day");
                assert!(StatusReport::new(*status, None).is_ok());
            }
        }
    }
}
