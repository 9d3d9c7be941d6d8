//! What the page shows, made from the student's own file
//! (`doorstroom_app::transparency::OwnFile`): every code turned into its
//! label in the page's language, every time into Dutch local time. Never
//! the pseudonym, never a staff id, never another student.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;
use doorstroom_api::report::SubjectReport;
use doorstroom_app::transparency::OwnFile;
use doorstroom_domain::{
    ActorKind, ApplicationStatus, Brin, ConsentEventKind, GivenBy, InspectedBy, LawfulBases, Outcome, Purpose, Role,
    Section,
};

use super::texts::{Texts, basis_explained, section_explained};
use crate::console::i18n::Lang;
use crate::console::labels;

pub struct AppRow {
    pub mbo: String,
    pub programme: String,
    pub school_year: String,
    pub late: &'static str,
    pub course: Vec<(String, String)>,
}

pub struct PackageRow {
    pub from: String,
    pub to: String,
    pub sent_at: String,
    pub sections: String,
    pub delivered_at: String,
    pub acknowledged_at: String,
    pub delete_after: String,
}

pub struct ConsentRow {
    pub mbo: String,
    pub section: String,
    pub event: String,
    pub date: String,
    pub by: String,
    pub receipt_href: Option<String>,
}

/// A consent in force in the issuing school's ledger: what the page can
/// withdraw.
pub struct WithdrawRow {
    pub recipient: String,
    pub mbo: String,
    pub section: &'static str,
    pub section_label: String,
}

pub struct SectionRow {
    pub label: String,
    pub explained: &'static str,
    pub basis: String,
    pub basis_explained: &'static str,
}

pub struct InspectionRow {
    pub school: String,
    pub date: String,
    pub by: String,
    pub remarks: &'static str,
}

pub struct CohortRow {
    pub school: String,
    pub school_year: String,
    pub reference: String,
}

pub struct AccessRow {
    pub when: String,
    pub institution: String,
    pub who: String,
    pub what: String,
    pub purpose: String,
    pub outcome: String,
    pub seq: i64,
    /// Its inclusion in the latest signed checkpoint was proven.
    pub in_log: bool,
}

pub struct ContactRow {
    pub institution: String,
    pub contact: Option<String>,
}

/// The page's content.
pub struct PageView {
    pub applications: Vec<AppRow>,
    pub packages: Vec<PackageRow>,
    pub consents: Vec<ConsentRow>,
    pub withdrawable: Vec<WithdrawRow>,
    pub sections: Vec<SectionRow>,
    pub inspections: Vec<InspectionRow>,
    pub cohorts: Vec<CohortRow>,
    pub accesses: Vec<AccessRow>,
    pub contacts: Vec<ContactRow>,
}

/// A moment as the student reads it: Dutch local time.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M").to_string()
}

fn local_or(t: Option<DateTime<Utc>>, none: &str) -> String {
    t.map(local).unwrap_or_else(|| none.to_owned())
}

/// Names of institutions by BRIN, with the BRIN beside them.
struct Names(BTreeMap<String, String>);

impl Names {
    fn of(&self, brin: &str) -> String {
        match self.0.get(brin) {
            Some(name) => format!("{name} ({brin})"),
            None => brin.to_owned(),
        }
    }
}

/// Everything the page shows, for the holder of a link of `school`;
/// `signed` tells whether the checkpoint the inclusion proofs were checked
/// against carries the broker's valid signature.
pub fn page_view(
    file: &OwnFile,
    school: &Brin,
    bases: &LawfulBases,
    lang: Lang,
    token: &str,
    signed: bool,
) -> PageView {
    let t = Texts::of(lang);
    let names = Names(file.names.iter().map(|(b, n)| (b.to_string(), n.clone())).collect());
    let report = &file.report;
    PageView {
        applications: applications(file, &names, lang),
        packages: packages(file, &names, lang),
        consents: consents(report, &names, lang, token),
        withdrawable: withdrawable(report, school, &names, lang),
        sections: Section::ALL
            .iter()
            .map(|s| SectionRow {
                label: labels::section(*s).of(lang).to_owned(),
                explained: section_explained(lang, *s),
                basis: labels::lawful_basis(bases.of(*s)).of(lang).to_owned(),
                basis_explained: basis_explained(lang, bases.of(*s)),
            })
            .collect(),
        inspections: report
            .inspections
            .iter()
            .map(|i| InspectionRow {
                school: names.of(&i.school),
                date: local(i.inspected_at),
                by: InspectedBy::parse(&i.inspected_by)
                    .map(|b| labels::inspected_by(b).of(lang).to_owned())
                    .unwrap_or_else(|_| i.inspected_by.clone()),
                remarks: if i.remarks_added { t.yes } else { t.no },
            })
            .collect(),
        cohorts: report
            .cohorts
            .iter()
            .map(|c| CohortRow {
                school: names.of(&c.school),
                school_year: c.school_year.clone(),
                reference: c.reference.clone(),
            })
            .collect(),
        accesses: accesses(file, &names, lang, signed),
        contacts: file
            .names
            .iter()
            .map(|(brin, _)| ContactRow {
                institution: names.of(brin.as_str()),
                contact: file.contacts.iter().find(|(b, _)| b == brin).map(|(_, c)| c.clone()),
            })
            .collect(),
    }
}

fn applications(file: &OwnFile, names: &Names, lang: Lang) -> Vec<AppRow> {
    let t = Texts::of(lang);
    file.applications
        .iter()
        .map(|d| AppRow {
            mbo: names.of(&d.application.receiving),
            programme: d.application.programme.clone(),
            school_year: d.application.school_year.clone(),
            late: if d.application.late { t.yes } else { t.no },
            course: d
                .history
                .iter()
                .map(|e| (status(e.status, lang), local(e.reported_at)))
                .collect(),
        })
        .collect()
}

fn status(status: ApplicationStatus, lang: Lang) -> String {
    labels::application_status(status).of(lang).to_owned()
}

fn packages(file: &OwnFile, names: &Names, lang: Lang) -> Vec<PackageRow> {
    let t = Texts::of(lang);
    let due: BTreeMap<&str, DateTime<Utc>> = file
        .applications
        .iter()
        .flat_map(|d| d.packages.iter().map(|p| (p.package_id.as_str(), p.delete_after)))
        .collect();
    file.report
        .packages
        .iter()
        .map(|p| PackageRow {
            from: names.of(&p.sender),
            to: names.of(&p.recipient),
            sent_at: local(p.submitted_at),
            sections: p
                .sections
                .iter()
                .map(|s| {
                    let label = Section::parse(&s.section)
                        .map(|x| labels::section(x).of(lang).to_owned())
                        .unwrap_or_else(|_| s.section.clone());
                    match s.withdrawn_at {
                        Some(_) => format!("{label} ({})", t.withdrawn),
                        None => label,
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            delivered_at: local_or(p.delivered_at, t.not_yet),
            acknowledged_at: local_or(p.acknowledged_at, t.not_yet),
            delete_after: local_or(due.get(p.package_id.as_str()).copied(), "-"),
        })
        .collect()
}

fn consents(report: &SubjectReport, names: &Names, lang: Lang, token: &str) -> Vec<ConsentRow> {
    report
        .consents
        .iter()
        .map(|c| ConsentRow {
            mbo: names.of(&c.recipient),
            section: labels::section(c.section).of(lang).to_owned(),
            event: ConsentEventKind::parse(&c.event)
                .map(|k| labels::consent_event(k).of(lang).to_owned())
                .unwrap_or_else(|_| c.event.clone()),
            date: local(c.at),
            by: GivenBy::parse(&c.given_by)
                .map(|b| labels::given_by(b).of(lang).to_owned())
                .unwrap_or_else(|_| c.given_by.clone()),
            // Only the first event of a receipt carries its id.
            receipt_href: Some(format!("/mijn/{token}/receipts/{}", c.receipt_id)),
        })
        .collect()
}

/// The consents in force in `school`'s ledger (its latest event for the
/// mbo and section is "given").
fn withdrawable(report: &SubjectReport, school: &Brin, names: &Names, lang: Lang) -> Vec<WithdrawRow> {
    let mut latest: BTreeMap<(String, Section), bool> = BTreeMap::new();
    for c in report.consents.iter().filter(|c| c.school == school.as_str()) {
        latest.insert(
            (c.recipient.clone(), c.section),
            c.event == ConsentEventKind::Given.as_str(),
        );
    }
    latest
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|((recipient, section), _)| WithdrawRow {
            mbo: names.of(&recipient),
            recipient,
            section: section.as_str(),
            section_label: labels::section(section).of(lang).to_owned(),
        })
        .collect()
}

fn accesses(file: &OwnFile, names: &Names, lang: Lang, signed: bool) -> Vec<AccessRow> {
    let included: &[i64] = match (&file.signed_log, signed) {
        (Some(log), true) => &log.included,
        _ => &[],
    };
    file.report
        .accesses
        .iter()
        .rev()
        .map(|r| {
            let e = &r.event;
            AccessRow {
                when: local(e.time),
                institution: e
                    .actor
                    .institution
                    .as_ref()
                    .map(|b| names.of(b.as_str()))
                    .unwrap_or_default(),
                who: who(
                    e,
                    file.roles.iter().find(|(seq, _)| *seq == r.seq).map(|(_, role)| *role),
                    lang,
                ),
                what: labels::action_name(&e.action.name)
                    .map(|l| l.of(lang).to_owned())
                    .unwrap_or_else(|| e.action.name.clone()),
                purpose: purpose(e.purpose, lang),
                outcome: outcome(e.outcome, lang),
                seq: r.seq,
                in_log: included.contains(&r.seq),
            }
        })
        .collect()
}

/// Who acted: the kind of actor, the role of the staff member behind it
/// and, only where configured, the name.
fn who(e: &doorstroom_domain::AuditEvent, role: Option<Role>, lang: Lang) -> String {
    let mut text = labels::actor_kind(e.actor.kind).of(lang).to_owned();
    if let Some(role) = role {
        text.push_str(", ");
        text.push_str(role_label(role, lang));
    }
    if let (ActorKind::Staff, Some(name)) = (e.actor.kind, &e.actor.id) {
        text.push_str(&format!(" ({name})"));
    }
    text
}

fn role_label(role: Role, lang: Lang) -> &'static str {
    let (nl, en) = match role {
        Role::BrokerAdmin => ("beheerder van de broker", "broker administrator"),
        Role::InstitutionAdmin => ("beheerder van de school", "school administrator"),
        Role::Intaker => ("intakemedewerker", "intake officer"),
        Role::PrivacyOfficer => ("privacyfunctionaris", "privacy officer"),
        Role::RegionalCoordinator => ("regiocoördinator", "regional coordinator"),
        Role::CareCoordinator => ("zorgcoördinator", "care coordinator"),
    };
    match lang {
        Lang::Nl => nl,
        Lang::En => en,
    }
}

fn purpose(p: Purpose, lang: Lang) -> String {
    labels::purpose(p).of(lang).to_owned()
}

fn outcome(o: Outcome, lang: Lang) -> String {
    labels::outcome(o).of(lang).to_owned()
}
