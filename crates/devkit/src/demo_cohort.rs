//! Development mode: a demo leaving cohort for the demo vo school (07AB)
//! with mixed journeys at the two demo mbo's, so that its care coordinator
//! sees in the console who of its students are at risk and why.
//!
//! Everything goes through the use cases the API calls, as the schools'
//! systems (07AB adds its cohort; 25LX and 27GH register applications and
//! report their course), so the demo data is audited like real data and
//! stays consistent with the audit log and the art. 15 report. Each status
//! change is made now: the reasons that show depend on which deadlines of
//! the demo school year have passed today (after 1 October all of them).

use chrono_tz::Europe::Amsterdam;
use doorstroom_api::applications::RegisterApplication;
use doorstroom_api::safety_net::{AddToCohort, CohortStudent};
use doorstroom_app::{App, AppError, Caller, applications, safety_net};
use doorstroom_domain::ApplicationStatus::{self, *};
use doorstroom_domain::safety_net::current_cohort_year;
use doorstroom_domain::{Brin, Principal, Programme, SchoolYear, StatusReport, StudentNumber};
use doorstroom_store::cohorts;

use crate::pki::DevPki;

const VO: &str = "07AB";
const MBO: &str = "25LX";
const OTHER_MBO: &str = "27GH";

/// One demo student: the school's reference and, per application, the mbo
/// and the statuses it goes through (after `registered`).
type Journey = (&'static str, &'static [(&'static str, &'static [ApplicationStatus])]);

/// Twelve leavers: two without any application, the rest at each step of
/// the way, three enrolled (one after a withdrawal elsewhere), two no-shows
/// (one with a place offered elsewhere), one who will not enrol.
const JOURNEYS: &[Journey] = &[
    ("DB-2001", &[]),
    ("DB-2002", &[]),
    ("DB-2003", &[(MBO, &[])]),
    ("DB-2004", &[(OTHER_MBO, &[Received])]),
    ("DB-2005", &[(MBO, &[Received, IntakeHeld])]),
    ("DB-2006", &[(OTHER_MBO, &[Received, IntakeHeld, PlaceOffered])]),
    ("DB-2007", &[(MBO, &[Received, IntakeHeld, PlaceOffered, Enrolled])]),
    (
        "DB-2008",
        &[(OTHER_MBO, &[Received, IntakeHeld, PlaceOffered, Enrolled])],
    ),
    ("DB-2009", &[(MBO, &[Received, IntakeScheduled, NoShow])]),
    (
        "DB-2010",
        &[
            (MBO, &[Withdrawn]),
            (OTHER_MBO, &[Received, IntakeHeld, PlaceOffered, Enrolled]),
        ],
    ),
    ("DB-2011", &[(OTHER_MBO, &[Received, IntakeHeld, NotEnrolling])]),
    (
        "DB-2012",
        &[
            (MBO, &[Received, IntakeHeld, PlaceOffered]),
            (OTHER_MBO, &[Received, IntakeScheduled, NoShow]),
        ],
    ),
];

/// A valid BSN (11-proef) for demo student `i`: from a range of its own.
fn demo_bsn(i: u32) -> StudentNumber {
    let mut candidate = 70_000_000 + 13 * i;
    loop {
        let prefix = format!("{candidate:08}");
        let sum: u32 = prefix
            .bytes()
            .zip((2..=9).rev())
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        if let Ok(bsn) = StudentNumber::bsn(&format!("{prefix}{}", sum % 11)) {
            return bsn;
        }
        candidate += 1;
    }
}

fn system(pki: &DevPki, brin: &str) -> Result<Principal, AppError> {
    let inst = pki
        .institutions
        .iter()
        .find(|i| i.brin.as_str() == brin)
        .ok_or_else(|| AppError::Internal(format!("demo institution {brin} missing from the dev PKI")))?;
    Ok(Principal::System {
        institution: inst.brin.clone(),
        sector: inst.sector,
        fingerprint: inst.fingerprint.clone(),
    })
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// Seeds the demo cohort of `year` unless the demo school has a cohort for
/// that year already (a second start adds nothing). Returns how many
/// students it added.
pub fn seed_demo_cohort(app: &App, pki: &DevPki, year: SchoolYear) -> Result<usize, AppError> {
    let school = Brin::parse(VO).map_err(internal)?;
    let existing = app
        .store
        .read(|conn| Ok::<_, AppError>(cohorts::size(conn, &school, year.start_year())?))?;
    if existing > 0 {
        return Ok(0);
    }
    let vo = system(pki, VO)?;
    let students = (0u32..)
        .zip(JOURNEYS)
        .map(|(i, (reference, _))| CohortStudent {
            student_number: demo_bsn(i),
            reference: (*reference).to_owned(),
        })
        .collect();
    let added = safety_net::add_to_cohort(app, Caller::new(&vo, None), year, AddToCohort { students })?;
    for (i, (_, applications)) in (0u32..).zip(JOURNEYS) {
        for (mbo, statuses) in *applications {
            walk(app, pki, year, demo_bsn(i), mbo, statuses)?;
        }
    }
    Ok(added.added)
}

/// Registers the student's application at `mbo` and reports `statuses` in
/// turn, as that mbo's system.
fn walk(
    app: &App,
    pki: &DevPki,
    year: SchoolYear,
    student: StudentNumber,
    mbo: &str,
    statuses: &[ApplicationStatus],
) -> Result<(), AppError> {
    let principal = system(pki, mbo)?;
    let command = RegisterApplication {
        student_number: student,
        sending_school: Some(Brin::parse(VO).map_err(internal)?),
        programme: Programme::new("Verzorgende-IG (demo)", None).map_err(internal)?,
        school_year: year,
        applied_on: app.clock.now().date_naive(),
    };
    let registration = applications::register_application(app, Caller::new(&principal, None), command)?;
    let id = registration.application.id;
    for status in statuses {
        applications::report_status(
            app,
            Caller::new(&principal, None),
            id,
            StatusReport::status_only(*status),
        )?;
    }
    Ok(())
}

/// The school year of the demo cohort: the one a school works on today
/// ([`current_cohort_year`]), by the broker's deadlines and retention.
pub fn demo_year(app: &App) -> Result<SchoolYear, AppError> {
    let today = app.clock.now().with_timezone(&Amsterdam).date_naive();
    let start = current_cohort_year(&app.rules.deadlines, &app.rules.retention.cohorts(), today);
    SchoolYear::starting(start).map_err(internal)
}
