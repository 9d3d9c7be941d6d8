//! The readable texts (Markdown) of the art. 15 report and the register of
//! processing activities, rendered from askama templates
//! (`templates/texts/`).
//!
//! Where they live: rendering is a door's concern (the API answers
//! `format=text` with them, the command line prints the register), so they
//! are here in the server and not in the use cases, which return data. The
//! module is public and apart from `handlers`, so the command line renders
//! the register without importing the HTTP handlers.

use askama::Template;
use chrono::{DateTime, Utc};
use doorstroom_api::register::ProcessingRegister;
use doorstroom_api::report::SubjectReport;
use doorstroom_domain::LawfulBasis;

#[derive(Template)]
#[template(path = "texts/subject_report.md")]
struct SubjectReportText<'a> {
    report: &'a SubjectReport,
}

#[derive(Template)]
#[template(path = "texts/register.md")]
struct RegisterText<'a> {
    register: &'a ProcessingRegister,
}

/// The art. 15 report as a readable document in Dutch.
pub fn subject_report(report: &SubjectReport) -> Result<String, askama::Error> {
    SubjectReportText { report }.render()
}

/// The register of processing activities, readable.
pub fn register(register: &ProcessingRegister) -> Result<String, askama::Error> {
    RegisterText { register }.render()
}

/// A moment as the reader's clock in the Netherlands shows it.
fn when(t: &DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Amsterdam)
        .format("%d-%m-%Y %H:%M")
        .to_string()
}

fn basis_article(basis: &LawfulBasis) -> &'static str {
    match basis {
        LawfulBasis::LegalObligation => "legal obligation (GDPR art. 6(1)(c))",
        LawfulBasis::ExplicitConsent => "explicit consent (GDPR art. 9(2)(a))",
        LawfulBasis::Consent => "consent (GDPR art. 6(1)(a)), withdrawable at any time",
        LawfulBasis::StudentAgreement => "written or agreed by the student or parents after inspection",
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use doorstroom_domain::{
        Action, ApplicationStatus, AuditEvent, Brin, Outcome, Principal, Purpose, ResourceKind, ResourceRef, Role,
        Section, StaffId,
    };
    use uuid::Uuid;

    use doorstroom_api::applications::ApplicationView;
    use doorstroom_api::consents::{ConsentEventView, InspectionView};
    use doorstroom_api::report::{AccessRecord, PackageTransfer, SectionTransfer, SubjectReport};

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, day, hour, 15, 0)
            .single()
            .unwrap_or_default()
    }

    fn brin(raw: &str) -> Brin {
        Brin::parse(raw).unwrap_or_else(|e| panic!("{e}"))
    }

    fn application(sending: Option<&str>, status: ApplicationStatus) -> ApplicationView {
        ApplicationView {
            id: Uuid::nil(),
            receiving: "25LX".into(),
            sending: sending.map(str::to_owned),
            programme: "Verzorgende IG".into(),
            crebo: Some("25491".into()),
            school_year: "2027-2028".into(),
            applied_on: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap_or_default(),
            late: false,
            status,
            created_at: at(1, 9),
            updated_at: at(2, 9),
        }
    }

    fn section(section: &str, delivered: Option<u32>, withdrawn: Option<u32>) -> SectionTransfer {
        SectionTransfer {
            section: section.into(),
            delivered_at: delivered.map(|d| at(d, 10)),
            withdrawn_at: withdrawn.map(|d| at(d, 11)),
        }
    }

    fn access(seq: i64, principal: &Principal, action: Action, outcome: Outcome) -> AccessRecord {
        let event = AuditEvent::success(
            at(5, 14),
            principal,
            action.into(),
            ResourceRef::new(ResourceKind::Package, None),
            Purpose::Intake,
        );
        let event = match outcome {
            Outcome::Success => event,
            other => event.with_outcome(other, "not-found"),
        };
        AccessRecord { seq, event }
    }

    fn consent(event: &str, day: u32) -> ConsentEventView {
        ConsentEventView {
            receipt_id: Uuid::nil(),
            recipient: "25LX".into(),
            school: "07AB".into(),
            section: Section::SupportNeeds,
            event: event.into(),
            purpose: "intake".into(),
            at: at(day, 8),
            given_by: "parent".into(),
            student_under_16: true,
            method: "paper_form".into(),
            evidence_ref: "ref".into(),
            notice_version: "v1".into(),
            valid_until: None,
        }
    }

    fn inspection(remarks: bool) -> InspectionView {
        InspectionView {
            id: Uuid::nil(),
            school: "07AB".into(),
            inspected_at: at(3, 16),
            inspected_by: "student_and_parent".into(),
            remarks_added: remarks,
            recorded_at: at(3, 17),
        }
    }

    /// A report that takes every branch of the text.
    pub fn full_report() -> SubjectReport {
        let intaker = Principal::Staff {
            id: StaffId(Uuid::nil()),
            role: Role::Intaker,
            institution: Some(brin("25LX")),
            second_factor: true,
        };
        SubjectReport {
            // Summer time and winter time in Amsterdam.
            generated_at: Utc.with_ymd_and_hms(2027, 7, 1, 22, 30, 0).single().unwrap_or_default(),
            institution: None,
            applications: vec![
                application(Some("07AB"), ApplicationStatus::IntakeScheduled),
                application(None, ApplicationStatus::Registered),
            ],
            packages: vec![
                PackageTransfer {
                    package_id: Uuid::nil().to_string(),
                    sender: "07AB".into(),
                    recipient: "25LX".into(),
                    submitted_at: at(4, 12),
                    delivered_at: Some(at(5, 13)),
                    acknowledged_at: Some(at(5, 14)),
                    sections: vec![
                        section("personal_data", Some(5), None),
                        section("support_needs", Some(5), Some(6)),
                        section("career_portfolio", None, Some(6)),
                        section("remarks", None, None),
                    ],
                },
                PackageTransfer {
                    package_id: Uuid::nil().to_string(),
                    sender: "07AB".into(),
                    recipient: "27GH".into(),
                    submitted_at: at(7, 12),
                    delivered_at: None,
                    acknowledged_at: None,
                    sections: vec![],
                },
            ],
            accesses: vec![
                access(1, &intaker, Action::PullPackage, Outcome::Success),
                access(2, &Principal::Operator, Action::ReadAuditLog, Outcome::Rejected),
            ],
            consents: vec![consent("given", 2), consent("withdrawn", 6), consent("expired", 9)],
            inspections: vec![inspection(true), inspection(false)],
            cohorts: vec![doorstroom_api::report::CohortPlace {
                school: "07AB".into(),
                school_year: "2027-2028".into(),
                reference: "LL-2027-0042".into(),
                added_at: at(1, 9),
            }],
        }
    }

    pub fn empty_report() -> SubjectReport {
        SubjectReport {
            generated_at: at(1, 0),
            institution: Some("25LX".into()),
            applications: vec![],
            packages: vec![],
            accesses: vec![],
            consents: vec![],
            inspections: vec![],
            cohorts: vec![],
        }
    }

    fn register(interval: u64, inspection: bool) -> String {
        let mut raw = crate::config::SettingsFile::load(None).unwrap_or_else(|e| panic!("{e}"));
        raw.retention.purge_interval_secs = interval;
        raw.exchange.require_inspection = inspection;
        raw.lawful_basis.career_portfolio = doorstroom_domain::LawfulBasis::Consent;
        let settings = crate::config::Settings::try_from(raw).unwrap_or_else(|e| panic!("{e}"));
        super::register(&doorstroom_app::register::processing_register(
            settings.register_facts(),
        ))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn golden(name: &str) -> String {
        let path = format!("{}/src/texts/golden/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_subject_report_reads_as_before() {
        let text = |report| super::subject_report(&report).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text(full_report()), golden("subject_report_full.md"));
        assert_eq!(text(empty_report()), golden("subject_report_empty.md"));
    }

    #[test]
    fn the_register_reads_as_before() {
        assert_eq!(register(3600, true), golden("register_scheduled.md"));
        assert_eq!(register(0, false), golden("register_cron.md"));
    }
}
