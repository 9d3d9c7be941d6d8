//! Per-student pages: the art. 15 report and the consent and inspection
//! history. The student number is posted, never put in a URL.

use super::audit::{EventRow, event_rows};
use super::*;

#[derive(Deserialize, Default)]
struct StudentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    student_number: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/student_form.html")]
struct StudentFormPage {
    chrome: Chrome,
    title: &'static str,
    intro: &'static str,
    button: &'static str,
    action: &'static str,
    error: Option<&'static str>,
    /// What was typed, shown again with the error.
    value: String,
}

fn student_form_page(user: &ConsoleUser, report: bool, error: Option<&'static str>, value: String) -> StudentFormPage {
    let t = user.lang.messages();
    let (href, title, intro, button) = if report {
        ("/console/report", t.report_title, t.report_intro, t.report_button)
    } else {
        ("/console/history", t.history_title, t.history_intro, t.history_button)
    };
    StudentFormPage {
        chrome: Chrome::of(user, href),
        title,
        intro,
        button,
        action: href,
        error,
        value,
    }
}

/// The posted student number, or the form again with the message (422).
fn posted_student(
    req: &HttpRequest,
    user: &ConsoleUser,
    body: &[u8],
    report: bool,
) -> Result<Result<StudentNumber, WithStatus<StudentFormPage>>, ConsoleError> {
    let form: StudentForm = parse_form(user.lang, body)?;
    user.check_csrf(req, &form.csrf)?;
    Ok(
        student_number(&form.student_number, user.lang.messages()).map_err(|message| {
            WithStatus(
                StatusCode::UNPROCESSABLE_ENTITY,
                student_form_page(user, report, Some(message), form.student_number.clone()),
            )
        }),
    )
}

pub async fn report_form(user: ConsoleUser) -> impl Responder {
    student_form_page(&user, true, None, String::new())
}

pub async fn history_form(user: ConsoleUser) -> impl Responder {
    student_form_page(&user, false, None, String::new())
}

struct ConsentRow {
    at: String,
    event: Coded,
    section: Coded,
    recipient: String,
    school: String,
    given_by: Coded,
    method: Coded,
}

struct InspectionRow {
    at: String,
    school: String,
    inspected_by: Coded,
    remarks: &'static str,
}

fn consent_rows(lang: Lang, history: &History) -> (Vec<ConsentRow>, Vec<InspectionRow>) {
    let t = lang.messages();
    let consents = history
        .consents
        .iter()
        .map(|c| ConsentRow {
            at: when(&c.at),
            event: Coded::parsed(lang, &c.event, ConsentEventKind::parse, labels::consent_event),
            section: Coded::new(lang, Some(labels::section(c.section)), c.section.as_str()),
            recipient: c.recipient.clone(),
            school: c.school.clone(),
            given_by: Coded::parsed(lang, &c.given_by, GivenBy::parse, labels::given_by),
            method: Coded::parsed(lang, &c.method, ConsentMethod::parse, labels::consent_method),
        })
        .collect();
    let inspections = history
        .inspections
        .iter()
        .map(|i| InspectionRow {
            at: when(&i.inspected_at),
            school: i.school.clone(),
            inspected_by: Coded::parsed(lang, &i.inspected_by, InspectedBy::parse, labels::inspected_by),
            remarks: if i.remarks_added { t.yes } else { t.no },
        })
        .collect();
    (consents, inspections)
}

#[derive(Template, WebTemplate)]
#[template(path = "console/history.html")]
struct HistoryPage {
    chrome: Chrome,
    consents: Vec<ConsentRow>,
    inspections: Vec<InspectionRow>,
}

pub async fn history(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let number = match posted_student(&req, &user, &body, false)? {
        Ok(n) => n,
        Err(form_again) => return Ok(Either::Right(form_again)),
    };
    let history = crate::access::run(&state, &user.caller, move |app, caller| {
        consent_history(app, caller, &number)
    })
    .await
    .map_err(|e| user.fail(e))?;
    let (consents, inspections) = consent_rows(user.lang, &history);
    Ok(Either::Left(HistoryPage {
        chrome: Chrome::of(&user, "/console/history"),
        consents,
        inspections,
    }))
}

struct ApplicationRow {
    receiving: String,
    sending: String,
    programme: String,
    school_year: String,
    status: Coded,
}

struct PackageRow {
    sender: String,
    recipient: String,
    submitted: String,
    delivered: String,
    sections: Vec<Coded>,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/report.html")]
struct ReportPage {
    chrome: Chrome,
    generated: String,
    scope: Option<String>,
    applications: Vec<ApplicationRow>,
    packages: Vec<PackageRow>,
    accesses: Vec<EventRow>,
    consents: Vec<ConsentRow>,
    inspections: Vec<InspectionRow>,
    cohorts: Vec<CohortRow>,
}

/// A place in a school's safety-net cohort, as the report shows it.
struct CohortRow {
    school: String,
    school_year: String,
    reference: String,
    added: String,
}

fn report_page(user: &ConsoleUser, report: SubjectReport) -> ReportPage {
    let lang = user.lang;
    let history = History {
        consents: report.consents,
        inspections: report.inspections,
    };
    let (consents, inspections) = consent_rows(lang, &history);
    let accesses = event_rows(
        lang,
        &EventPage {
            events: report
                .accesses
                .into_iter()
                .map(|a| SequencedEvent {
                    seq: a.seq,
                    event: a.event,
                })
                .collect(),
            next_after: None,
        },
    );
    ReportPage {
        chrome: Chrome::of(user, "/console/report"),
        generated: when(&report.generated_at),
        scope: report.institution,
        applications: report
            .applications
            .into_iter()
            .map(|a| ApplicationRow {
                receiving: a.receiving,
                sending: a.sending.unwrap_or_else(|| "—".into()),
                programme: a.programme,
                school_year: a.school_year,
                status: Coded::new(lang, Some(labels::application_status(a.status)), a.status.as_str()),
            })
            .collect(),
        packages: report
            .packages
            .into_iter()
            .map(|p| PackageRow {
                sender: p.sender,
                recipient: p.recipient,
                submitted: when(&p.submitted_at),
                delivered: when_opt(&p.delivered_at),
                sections: p
                    .sections
                    .iter()
                    .map(|s| Coded::parsed(lang, &s.section, Section::parse, labels::section))
                    .collect(),
            })
            .collect(),
        accesses,
        consents,
        inspections,
        cohorts: report
            .cohorts
            .into_iter()
            .map(|c| CohortRow {
                added: when(&c.added_at),
                school: c.school,
                school_year: c.school_year,
                reference: c.reference,
            })
            .collect(),
    }
}

pub async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let number = match posted_student(&req, &user, &body, true)? {
        Ok(n) => n,
        Err(form_again) => return Ok(Either::Right(form_again)),
    };
    let report = report_for(&state, &user.caller, &number)
        .await
        .map_err(|e| user.fail(e))?;
    Ok(Either::Left(report_page(&user, report)))
}
