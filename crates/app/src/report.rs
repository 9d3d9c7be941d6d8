//! The data-subject report (GDPR art. 15): for one student, which sections
//! went to which institutions, who accessed them when and for what purpose,
//! and the consent and inspection history. For privacy officers; producing
//! it is itself audited.

use doorstroom_api::report::{AccessRecord, CohortPlace, PackageTransfer, SectionTransfer, SubjectReport};
use doorstroom_domain::{
    Action, Brin, Pseudonym, Purpose, Resource, ResourceKind, ResourceRef, SchoolYear, StudentNumber,
};
use doorstroom_store::applications::{self, Application};
use doorstroom_store::audit::{self, AuditQuery};
use doorstroom_store::packages::{self, PackageSummary};
use doorstroom_store::{DbConn, StoreError, cohorts};

use crate::applications::application_view;
use crate::ledger::{consent_event_view, inspection_view, ledger_in_scope};
use crate::spine::{Access, Caller, perform_in};
use crate::{App, AppError};

/// The art. 15 report of one student (the API's and the console's): what
/// concerns the caller's institution (the broker's privacy officer:
/// everything). Who may is the domain's `ReadAuditLog` on the institution
/// (or the broker); the report is recorded as `read_audit_log` of a
/// `subject_report` with the student's pseudonym.
pub fn subject_report(
    app: &App,
    caller: Caller<'_>,
    student_number: &StudentNumber,
) -> Result<SubjectReport, AppError> {
    let student = app.pseudonym_of(student_number);
    let own = caller.principal.institution().cloned();
    let resource = own.clone().map(Resource::Institution).unwrap_or(Resource::Broker);
    let access = Access::new(
        Action::ReadAuditLog,
        resource,
        ResourceRef::new(ResourceKind::SubjectReport, None),
        Purpose::Supervision,
    )
    .about(student.clone());
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        report_of(ctx.conn, ctx.now, &student, own.as_ref())
    })
}

/// The report's content: what concerns `own` (`None`: everything), at
/// `now`. The one function behind the privacy officer's report and the
/// student's own (`transparency`), inside the caller's audited access.
pub fn report_of(
    conn: &mut DbConn,
    now: chrono::DateTime<chrono::Utc>,
    student: &Pseudonym,
    own: Option<&Brin>,
) -> Result<SubjectReport, AppError> {
    let applications = applications_in_scope(conn, student, own)?;
    let packages = transfers(conn, &applications, own)?;
    let accesses = accesses(conn, student, own)?;
    // The ledger as the history shows it to the same privacy officer:
    // what the institution recorded, consent given for it, and the
    // inspections of the schools sending the student to it.
    let (consents, inspections) = ledger_in_scope(conn, student, own)?;
    let cohorts = cohort_places(conn, student, own)?;
    Ok(SubjectReport {
        generated_at: now,
        institution: own.map(ToString::to_string),
        applications: applications.into_iter().map(application_view).collect(),
        packages,
        accesses,
        consents: consents.into_iter().map(consent_event_view).collect(),
        inspections: inspections.into_iter().map(inspection_view).collect(),
        cohorts,
    })
}

/// The student's places in safety-net cohorts: of the school in scope, or
/// all of them.
fn cohort_places(conn: &mut DbConn, student: &Pseudonym, own: Option<&Brin>) -> Result<Vec<CohortPlace>, AppError> {
    let mut places = Vec::new();
    for place in cohorts::places_of(conn, student)? {
        if !concerns(own, &[&place.school]) {
            continue;
        }
        let year = SchoolYear::starting(place.school_year)
            .map_err(|_| StoreError::corrupt("cohort_members", "school_year", "out of range"))?;
        places.push(CohortPlace {
            school: place.school.to_string(),
            school_year: year.to_string(),
            reference: place.reference,
            added_at: place.added_at,
        });
    }
    Ok(places)
}

/// Whether a record whose parties are `brins` is in the scope `own` (none:
/// the broker's, everything).
fn concerns(own: Option<&Brin>, brins: &[&Brin]) -> bool {
    own.is_none_or(|own| brins.contains(&own))
}

fn applications_in_scope(
    conn: &mut DbConn,
    student: &Pseudonym,
    own: Option<&Brin>,
) -> Result<Vec<Application>, StoreError> {
    Ok(applications::find_for_student(conn, student, None)?
        .into_iter()
        .filter(|a| {
            let mut brins = vec![&a.receiving];
            brins.extend(a.sending.as_ref());
            concerns(own, &brins)
        })
        .collect())
}

fn transfers(
    conn: &mut DbConn,
    applications: &[Application],
    own: Option<&Brin>,
) -> Result<Vec<PackageTransfer>, StoreError> {
    let mut transfers = Vec::new();
    for application in applications {
        for p in packages::for_application(conn, application.id)? {
            if concerns(own, &[&p.sender, &p.recipient]) {
                transfers.push(transfer(p));
            }
        }
    }
    Ok(transfers)
}

fn transfer(p: PackageSummary) -> PackageTransfer {
    PackageTransfer {
        package_id: p.id,
        sender: p.sender.to_string(),
        recipient: p.recipient.to_string(),
        submitted_at: p.submitted_at,
        delivered_at: p.delivered_at,
        acknowledged_at: p.acknowledged_at,
        sections: p
            .sections
            .into_iter()
            .map(|s| SectionTransfer {
                section: s.section.to_string(),
                delivered_at: s.delivered_at,
                withdrawn_at: s.withdrawn_at,
            })
            .collect(),
    }
}

/// Every access to the records the institution is party to, not only its
/// own staff's: the events related to the institution when they were
/// written (never widened by a later application), which stay after the
/// purge or an erasure took the applications and packages (the audit log's
/// relations; the same scope as the search, `AuditQuery::related_to`).
fn accesses(conn: &mut DbConn, student: &Pseudonym, own: Option<&Brin>) -> Result<Vec<AccessRecord>, StoreError> {
    let mut accesses = Vec::new();
    let mut after = None;
    loop {
        let page = audit::list(
            conn,
            &AuditQuery {
                after_seq: after,
                limit: audit::MAX_LIST_LIMIT,
                data_subject: Some(student.clone()),
                related_to: own.cloned(),
                ..Default::default()
            },
        )?;
        let full = page.len() as i64 == audit::MAX_LIST_LIMIT;
        after = page.last().map(|(seq, _)| *seq);
        accesses.extend(page.into_iter().map(|(seq, event)| AccessRecord { seq, event }));
        if !full {
            return Ok(accesses);
        }
    }
}
