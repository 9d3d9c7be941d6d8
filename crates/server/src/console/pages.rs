//! The console's pages. Each handler parses its form, calls the service
//! function the API uses (so the access is authorized and audited the same
//! way) and renders the result.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use doorstroom_domain::{
    Action, Brin, Decision, Outcome, Password, Principal, Resource, Role, StaffId, StaffStatus, StudentNumber,
    Username, authorize,
};
use doorstroom_store::{console_sessions, merkle};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::i18n::{Lang, Messages};
use super::session::{self, ConsoleUser, same_origin, session_cookie};
use super::{ConsoleError, html};
use crate::error::ApiError;
use crate::handlers::audit::{AuditSearch, EventPage, search_log, to_csv};
use crate::handlers::consents::{History, consent_history};
use crate::handlers::institutions::{certificates_of, keys_of};
use crate::handlers::register::processing_register;
use crate::handlers::report::{SubjectReport, report_for};
use crate::handlers::staff::{
    CreateStaff, Enrolment, LoginAttempt, StaffView, check_login, create_account, deactivate_account, list_accounts,
    reset_account_second_factor,
};
use crate::state::AppState;

// ---------------------------------------------------------------- chrome

/// One entry of the navigation.
pub struct MenuItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every page shows around its content: language, user, menu.
pub struct Chrome {
    pub t: &'static Messages,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub user: Option<String>,
    pub csrf: String,
    pub menu: Vec<MenuItem>,
}

impl Chrome {
    pub fn anonymous(lang: Lang) -> Chrome {
        Chrome {
            t: lang.messages(),
            lang: lang.code(),
            other_lang: lang.other().code(),
            user: None,
            csrf: String::new(),
            menu: Vec::new(),
        }
    }

    fn of(user: &ConsoleUser, current: &str) -> Chrome {
        let mut menu = menu(&user.caller.principal, user.lang.messages());
        for item in &mut menu {
            item.current = item.href == current;
        }
        Chrome {
            t: user.lang.messages(),
            lang: user.lang.code(),
            other_lang: user.lang.other().code(),
            user: Some(format!(
                "{} ({})",
                user.account.display_name,
                user.account.username.as_str()
            )),
            csrf: user.csrf.clone(),
            menu,
        }
    }
}

/// The resource that an action on "my own scope" is asked about: the
/// user's institution, or the broker for broker staff.
fn own_scope(principal: &Principal) -> Resource {
    principal
        .institution()
        .cloned()
        .map(Resource::Institution)
        .unwrap_or(Resource::Broker)
}

fn allowed(principal: &Principal, action: Action, resource: &Resource) -> bool {
    matches!(authorize(principal, action, resource), Decision::Allow)
}

/// The pages the domain's policy lets this user use. Only navigation: each
/// page's access is decided again (and audited) when it is opened.
pub fn menu(principal: &Principal, t: &'static Messages) -> Vec<MenuItem> {
    let scope = own_scope(principal);
    // Credentials always belong to an institution; broker staff may name
    // any, so the policy is asked about a stand-in.
    let credentials = institution_or_stand_in(principal).map(Resource::Institution);
    let mut items: Vec<(&'static str, &'static str)> = Vec::new();
    let mut add = |href, label| items.push((href, label));
    if allowed(principal, Action::ReadAuditLog, &scope) {
        add("/console/audit", t.nav_audit);
        add("/console/report", t.nav_report);
    }
    if allowed(principal, Action::ReadConsentHistory, &scope) {
        add("/console/history", t.nav_history);
    }
    let manages_staff = allowed(principal, Action::ListStaff, &scope)
        && allowed(principal, Action::ManageStaff, &intaker_of(principal));
    if manages_staff {
        add("/console/staff", t.nav_staff);
    }
    if manages_staff && credentials.is_some_and(|c| allowed(principal, Action::ManageKeys, &c)) {
        add("/console/keys", t.nav_keys);
    }
    if !items.is_empty() {
        items.push(("/console/register", t.nav_register));
    }
    items
        .into_iter()
        .map(|(href, label)| MenuItem {
            href,
            label,
            current: false,
        })
        .collect()
}

/// The user's institution, or for broker staff (who may act on any
/// institution) a stand-in that the policy is asked about instead: a
/// well-formed code that the policy does not look up.
fn institution_or_stand_in(principal: &Principal) -> Option<Brin> {
    principal.institution().cloned().or_else(|| Brin::parse("00AA").ok())
}

/// An intaker account of the user's own institution (broker staff: of the
/// stand-in; an intaker always has one): what "may manage staff" is asked
/// about.
fn intaker_of(principal: &Principal) -> Resource {
    Resource::StaffAccount {
        institution: institution_or_stand_in(principal),
        role: Role::Intaker,
    }
}

// ------------------------------------------------------------ formatting

fn when(t: &DateTime<Utc>) -> String {
    t.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M:%S").to_string()
}

fn when_opt(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(when).unwrap_or_else(|| "—".into())
}

fn role_label(t: &Messages, role: Role) -> &'static str {
    match role {
        Role::Intaker => t.role_intaker,
        Role::InstitutionAdmin => t.role_institution_admin,
        Role::PrivacyOfficer => t.role_privacy_officer,
        Role::BrokerAdmin => t.role_broker_admin,
    }
}

/// A form body, parsed leniently (every field a string, unknown fields such
/// as the submit button ignored); only a body that is not a form is a 400.
fn parse_form<T: DeserializeOwned>(lang: Lang, body: &[u8]) -> Result<T, ConsoleError> {
    serde_urlencoded::from_bytes(body).map_err(|_| {
        ConsoleError::api(
            lang,
            ApiError::Malformed {
                detail: "form: malformed (a field given twice, or not a form body)".into(),
                pointer: None,
            },
        )
    })
}

/// A student number as typed: a BSN or an onderwijsnummer (the two sets are
/// disjoint, so the kind follows from the number).
fn student_number(raw: &str, t: &Messages) -> Result<StudentNumber, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(t.student_number_required);
    }
    StudentNumber::bsn(raw)
        .or_else(|_| StudentNumber::onderwijsnummer(raw))
        .map_err(|_| t.student_number_invalid)
}

fn ok(page: &impl Template) -> HttpResponse {
    html(StatusCode::OK, page)
}

// ----------------------------------------------------------------- login

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    chrome: Chrome,
    username: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    bye: Option<String>,
}

pub async fn login_form(req: HttpRequest) -> HttpResponse {
    let lang = Lang::of(&req);
    let t = lang.messages();
    let query = web::Query::<LoginQuery>::from_query(req.query_string()).ok();
    let notice = match query {
        Some(q) if q.expired.is_some() => Some(t.login_expired),
        Some(q) if q.bye.is_some() => Some(t.logged_out),
        _ => None,
    };
    ok(&LoginPage {
        chrome: Chrome::anonymous(lang),
        username: String::new(),
        error: None,
        notice,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
}

/// Password and TOTP through the API's own login check (rate limits and
/// audit included); on success a session row is written in the same
/// transaction as the `login` event.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let lang = Lang::of(&req);
    let t = lang.messages();
    same_origin(&req, lang)?;
    let form: LoginForm = parse_form(lang, &body)?;
    let username = form.username.clone();
    let attempt = LoginAttempt::new(&state, &req, form.username, form.password, form.totp);
    let session_id = session::new_session_id();
    let hash = session::id_hash(&session_id);
    let limits = state.settings.console.clone();
    let outcome = check_login(&state, attempt, move |conn, account, now| {
        // Ended sessions of anyone go with each login, so none linger.
        console_sessions::prune(
            conn,
            now - chrono::Duration::seconds(limits.idle_timeout_secs),
            now - chrono::Duration::seconds(limits.absolute_lifetime_secs),
        )?;
        console_sessions::insert(conn, &hash, account.id, now)?;
        Ok(())
    })
    .await;
    let again = |status, error| {
        html(
            status,
            &LoginPage {
                chrome: Chrome::anonymous(lang),
                username: username.clone(),
                error: Some(error),
                notice: None,
            },
        )
    };
    match outcome {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .cookie(session_cookie(&session_id))
            .insert_header((header::LOCATION, "/console/"))
            .finish()),
        Err(ApiError::Unauthenticated(_)) => Ok(again(StatusCode::UNAUTHORIZED, t.login_failed)),
        Err(ApiError::TooManyAttempts { .. }) => Ok(again(StatusCode::TOO_MANY_REQUESTS, t.login_rate_limited)),
        Err(err) => Err(ConsoleError::api(lang, err)),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form: CsrfOnly = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    user.end(&state).await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::expired_session_cookie())
        .insert_header((header::LOCATION, "/console/login?bye=1"))
        .finish())
}

// ------------------------------------------------------------------ home

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    chrome: Chrome,
}

pub async fn home(user: ConsoleUser) -> HttpResponse {
    let chrome = Chrome::of(&user, "/console/");
    // Intakers (and any role without a console page) are told so.
    let status = if chrome.menu.is_empty() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    html(status, &HomePage { chrome })
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::api(Lang::of(&req), ApiError::NotFound))
}

// ------------------------------------------------------------- audit log

/// Rows shown per page; an export holds up to the API's maximum.
const PAGE_SIZE: i64 = 50;
const EXPORT_SIZE: i64 = 1000;

#[derive(Deserialize, Default, Clone)]
pub struct AuditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    student_number: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    institution: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    export: String,
}

/// Messages next to the fields of the audit form.
#[derive(Default)]
struct AuditErrors {
    student_number: Option<&'static str>,
    institution: Option<&'static str>,
    outcome: Option<&'static str>,
    from: Option<&'static str>,
    until: Option<&'static str>,
}

impl AuditErrors {
    fn any(&self) -> bool {
        self.student_number.is_some()
            || self.institution.is_some()
            || self.outcome.is_some()
            || self.from.is_some()
            || self.until.is_some()
    }
}

struct EventRow {
    seq: i64,
    time: String,
    actor: String,
    actor_id: String,
    action: String,
    resource: String,
    subject: String,
    purpose: String,
    outcome: String,
    denied: bool,
}

/// The badge: the latest signed checkpoint and whether the log as stored
/// now still matches it (`verified`); `failed` when that could not even be
/// computed (hashes missing), which is shown as not verified.
struct Badge {
    checkpoint: Option<(i64, String)>,
    verified: bool,
    failed: bool,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    form: AuditForm,
    errors: AuditErrors,
    rows: Vec<EventRow>,
    searched: bool,
    next_after: Option<i64>,
    badge: Badge,
    outcomes: [&'static str; 4],
}

/// Checks the latest checkpoint on each view: its signature is the
/// broker's, and the stored tree at its size has its root hash (a few
/// stored hashes, not the whole log). The whole log is verified at start
/// (the broker refuses to start otherwise) and by `doorstroom audit verify`.
async fn badge(state: &web::Data<AppState>) -> Badge {
    let st = state.clone();
    let checked = web::block(move || {
        st.store.read(|conn| {
            let Some(latest) = merkle::latest_checkpoint(conn)? else {
                return Ok::<_, doorstroom_store::StoreError>(None);
            };
            let signed = st.checkpoints.signed(&latest.signed_note, latest.size, &latest.root);
            let matches = merkle::tree_hash(conn, latest.size)? == latest.root;
            Ok(Some((latest.size, latest.created_at, signed && matches)))
        })
    })
    .await;
    match checked {
        Ok(Ok(Some((size, at, verified)))) => Badge {
            checkpoint: Some((size, when(&at))),
            verified,
            failed: false,
        },
        Ok(Ok(None)) => Badge {
            checkpoint: None,
            verified: false,
            failed: false,
        },
        Ok(Err(err)) => {
            tracing::error!(error = %err, "audit log badge: the log could not be checked");
            Badge {
                checkpoint: None,
                verified: false,
                failed: true,
            }
        }
        Err(_) => Badge {
            checkpoint: None,
            verified: false,
            failed: true,
        },
    }
}

/// The day `raw` (YYYY-MM-DD) starts in the Netherlands, as UTC.
fn day_start(raw: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()?;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    Amsterdam
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The form as the API's search, or the messages next to its fields.
fn audit_search(form: &AuditForm, t: &'static Messages, limit: i64) -> Result<AuditSearch, AuditErrors> {
    let mut errors = AuditErrors::default();
    let text = |raw: &str| Some(raw.trim().to_owned()).filter(|s| !s.is_empty());
    let student = text(&form.student_number).map(|raw| student_number(&raw, t));
    let student = match student {
        Some(Ok(n)) => Some(n),
        Some(Err(message)) => {
            errors.student_number = Some(message);
            None
        }
        None => None,
    };
    let institution = match text(&form.institution) {
        Some(raw) => match Brin::parse(&raw) {
            Ok(b) => Some(b),
            Err(_) => {
                errors.institution = Some(t.institution_invalid);
                None
            }
        },
        None => None,
    };
    let outcome = match text(&form.outcome) {
        Some(raw) => match Outcome::parse(&raw) {
            Ok(o) => Some(o),
            Err(_) => {
                errors.outcome = Some(t.outcome_invalid);
                None
            }
        },
        None => None,
    };
    let from = match text(&form.from) {
        Some(raw) => {
            let parsed = day_start(&raw);
            if parsed.is_none() {
                errors.from = Some(t.date_invalid);
            }
            parsed
        }
        None => None,
    };
    // "Until" is inclusive: up to the start of the next day.
    let until = match text(&form.until) {
        Some(raw) => {
            let parsed = day_start(&raw).map(|d| d + chrono::Duration::days(1));
            if parsed.is_none() {
                errors.until = Some(t.date_invalid);
            }
            parsed
        }
        None => None,
    };
    if let (Some(f), Some(u)) = (from, until)
        && f >= u
    {
        errors.until = Some(t.period_invalid);
    }
    let after = text(&form.after).and_then(|raw| raw.parse::<i64>().ok());
    if errors.any() {
        return Err(errors);
    }
    Ok(AuditSearch {
        student_number: student,
        actor: text(&form.actor),
        institution,
        action: text(&form.action),
        outcome,
        from,
        until,
        after,
        limit: Some(limit),
    })
}

fn event_rows(page: &EventPage) -> Vec<EventRow> {
    page.events
        .iter()
        .map(|e| {
            let ev = &e.event;
            let mut actor = ev.actor.kind.to_string();
            if let Some(b) = &ev.actor.institution {
                actor.push_str(&format!(" {b}"));
            }
            EventRow {
                seq: e.seq,
                time: when(&ev.time),
                actor,
                actor_id: ev.actor.id.clone().unwrap_or_default(),
                action: ev.action.name.clone(),
                resource: match &ev.resource.id {
                    Some(id) => format!("{} {id}", ev.resource.kind),
                    None => ev.resource.kind.clone(),
                },
                subject: ev.data_subject.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                purpose: ev.purpose.to_string(),
                outcome: ev.outcome.to_string(),
                denied: ev.outcome != Outcome::Success,
            }
        })
        .collect()
}

async fn render_audit(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    form: AuditForm,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.lang.messages();
    let page_of = |form: AuditForm, errors, rows, searched, next_after, badge| AuditPage {
        chrome: Chrome::of(user, "/console/audit"),
        form,
        errors,
        rows,
        searched,
        next_after,
        badge,
        outcomes: ["success", "denied", "unauthenticated", "rejected"],
    };
    let search = match audit_search(&form, t, PAGE_SIZE) {
        Ok(search) => search,
        Err(errors) => {
            let badge = badge(state).await;
            return Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page_of(form, errors, Vec::new(), false, None, badge),
            ));
        }
    };
    let result = search_log(state, &user.caller, search)
        .await
        .map_err(|e| user.fail(e))?;
    let badge = badge(state).await;
    let rows = event_rows(&result);
    Ok(ok(&page_of(
        form,
        AuditErrors::default(),
        rows,
        true,
        result.next_after,
        badge,
    )))
}

/// The audit log's first page in the user's scope (an audited search).
pub async fn audit_page(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    render_audit(&state, &user, AuditForm::default()).await
}

/// A search, a further page or an export (the `export` button).
pub async fn audit_search_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form: AuditForm = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let export = match form.export.as_str() {
        "" => None,
        "csv" => Some(true),
        "json" => Some(false),
        _ => {
            return Err(user.fail(ApiError::Malformed {
                detail: "export: must be csv or json".into(),
                pointer: None,
            }));
        }
    };
    let Some(csv) = export else {
        return render_audit(&state, &user, form).await;
    };
    let t = user.lang.messages();
    let search = match audit_search(&form, t, EXPORT_SIZE) {
        Ok(search) => search,
        Err(_) => return render_audit(&state, &user, form).await,
    };
    let page = search_log(&state, &user.caller, search)
        .await
        .map_err(|e| user.fail(e))?;
    let (body, content_type, name) = if csv {
        (
            to_csv(&page).map_err(|e| user.fail(e))?,
            "text/csv; charset=utf-8",
            "audit.csv",
        )
    } else {
        (
            serde_json::to_string_pretty(&page).map_err(|e| user.fail(ApiError::Internal(e.to_string())))?,
            "application/json",
            "audit.json",
        )
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .body(body))
}

// ---------------------------------------------------- student lookups

#[derive(Deserialize, Default)]
struct StudentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    student_number: String,
}

#[derive(Template)]
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
) -> Result<Result<StudentNumber, HttpResponse>, ConsoleError> {
    let form: StudentForm = parse_form(user.lang, body)?;
    user.check_csrf(req, &form.csrf)?;
    Ok(
        student_number(&form.student_number, user.lang.messages()).map_err(|message| {
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &student_form_page(user, report, Some(message), form.student_number.clone()),
            )
        }),
    )
}

pub async fn report_form(user: ConsoleUser) -> HttpResponse {
    ok(&student_form_page(&user, true, None, String::new()))
}

pub async fn history_form(user: ConsoleUser) -> HttpResponse {
    ok(&student_form_page(&user, false, None, String::new()))
}

struct ConsentRow {
    at: String,
    event: String,
    section: String,
    recipient: String,
    given_by: String,
    method: String,
}

struct InspectionRow {
    at: String,
    school: String,
    inspected_by: String,
    remarks: &'static str,
}

fn consent_rows(t: &Messages, history: &History) -> (Vec<ConsentRow>, Vec<InspectionRow>) {
    let consents = history
        .consents
        .iter()
        .map(|c| ConsentRow {
            at: when(&c.at),
            event: c.event.clone(),
            section: c.section.to_string(),
            recipient: c.recipient.clone(),
            given_by: c.given_by.clone(),
            method: c.method.clone(),
        })
        .collect();
    let inspections = history
        .inspections
        .iter()
        .map(|i| InspectionRow {
            at: when(&i.inspected_at),
            school: i.school.clone(),
            inspected_by: i.inspected_by.clone(),
            remarks: if i.remarks_added { t.yes } else { t.no },
        })
        .collect();
    (consents, inspections)
}

#[derive(Template)]
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
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let number = match posted_student(&req, &user, &body, false)? {
        Ok(n) => n,
        Err(page) => return Ok(page),
    };
    let history = consent_history(&state, &user.caller, &number)
        .await
        .map_err(|e| user.fail(e))?;
    let (consents, inspections) = consent_rows(user.lang.messages(), &history);
    Ok(ok(&HistoryPage {
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
    status: String,
}

struct PackageRow {
    sender: String,
    recipient: String,
    submitted: String,
    delivered: String,
    sections: String,
}

#[derive(Template)]
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
}

fn report_page(user: &ConsoleUser, report: SubjectReport) -> ReportPage {
    let t = user.lang.messages();
    let history = History {
        consents: report.consents,
        inspections: report.inspections,
    };
    let (consents, inspections) = consent_rows(t, &history);
    let accesses = event_rows(&EventPage {
        events: report
            .accesses
            .into_iter()
            .map(|a| crate::handlers::audit::SequencedEvent {
                seq: a.seq,
                event: a.event,
            })
            .collect(),
        next_after: None,
    });
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
                status: a.status.to_string(),
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
                    .map(|s| s.section.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        accesses,
        consents,
        inspections,
    }
}

pub async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let number = match posted_student(&req, &user, &body, true)? {
        Ok(n) => n,
        Err(page) => return Ok(page),
    };
    let report = report_for(&state, &user.caller, &number)
        .await
        .map_err(|e| user.fail(e))?;
    Ok(ok(&report_page(&user, report)))
}

// ----------------------------------------------------------------- staff

struct StaffRow {
    id: String,
    username: String,
    name: String,
    role: &'static str,
    institution: String,
    active: bool,
    status: &'static str,
}

/// What a create or reset shows once.
struct Shown {
    username: String,
    password: Option<String>,
    totp_secret: String,
    totp_uri: String,
}

#[derive(Default)]
struct StaffErrors {
    username: Option<&'static str>,
    display_name: Option<&'static str>,
    role: Option<&'static str>,
    institution: Option<&'static str>,
}

#[derive(Deserialize, Default)]
struct StaffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    institution: String,
}

#[derive(Template)]
#[template(path = "console/staff.html")]
struct StaffPage {
    chrome: Chrome,
    rows: Vec<StaffRow>,
    /// Broker staff name the institution of a new account.
    broker_scope: bool,
    roles: Vec<(&'static str, &'static str)>,
    form: StaffForm,
    errors: StaffErrors,
    shown: Option<Shown>,
    notice: Option<&'static str>,
}

fn staff_rows(t: &Messages, views: Vec<StaffView>) -> Vec<StaffRow> {
    views
        .into_iter()
        .map(|v| StaffRow {
            id: v.id.to_string(),
            username: v.username,
            name: v.display_name,
            role: role_label(t, v.role),
            institution: v.institution.unwrap_or_else(|| "—".into()),
            active: v.status == StaffStatus::Active,
            status: match v.status {
                StaffStatus::Active => t.status_active,
                StaffStatus::Deactivated => t.status_deactivated,
            },
        })
        .collect()
}

/// The roles this user may create accounts of, as the policy says.
fn creatable_roles(principal: &Principal, t: &Messages) -> Vec<(&'static str, &'static str)> {
    [
        Role::Intaker,
        Role::InstitutionAdmin,
        Role::PrivacyOfficer,
        Role::BrokerAdmin,
    ]
    .into_iter()
    .filter(|role| {
        let institution = match role {
            Role::BrokerAdmin => None,
            _ => institution_or_stand_in(principal),
        };
        allowed(
            principal,
            Action::CreateStaff,
            &Resource::StaffAccount {
                institution,
                role: *role,
            },
        )
    })
    .map(|role| (role.as_str(), role_label(t, role)))
    .collect()
}

async fn render_staff(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    status: StatusCode,
    form: StaffForm,
    errors: StaffErrors,
    shown: Option<Shown>,
    notice: Option<&'static str>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.lang.messages();
    let own = user.account.institution.clone();
    let views = list_accounts(state, &user.caller, own.clone())
        .await
        .map_err(|e| user.fail(e))?;
    Ok(html(
        status,
        &StaffPage {
            chrome: Chrome::of(user, "/console/staff"),
            rows: staff_rows(t, views),
            broker_scope: own.is_none(),
            roles: creatable_roles(&user.caller.principal, t),
            form,
            errors,
            shown,
            notice,
        },
    ))
}

pub async fn staff_page(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    render_staff(
        &state,
        &user,
        StatusCode::OK,
        StaffForm::default(),
        StaffErrors::default(),
        None,
        None,
    )
    .await
}

/// 20 random characters: the initial password, shown once.
fn initial_password() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 15];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn totp_secret_of(uri: &str) -> String {
    uri.split_once('?')
        .map(|(_, q)| q)
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "secret")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default()
}

fn shown(enrolment: &Enrolment, password: Option<String>) -> Shown {
    Shown {
        username: enrolment.account.username.clone(),
        password,
        totp_secret: totp_secret_of(&enrolment.totp_uri),
        totp_uri: enrolment.totp_uri.clone(),
    }
}

pub async fn staff_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form: StaffForm = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let t = user.lang.messages();
    let mut errors = StaffErrors::default();
    let username = Username::parse(&form.username)
        .map_err(|_| errors.username = Some(t.username_invalid))
        .ok();
    let display_name = doorstroom_domain::short_text("display_name", &form.display_name)
        .map_err(|_| errors.display_name = Some(t.display_name_invalid))
        .ok();
    let role = Role::parse(&form.role).ok().filter(|r| {
        creatable_roles(&user.caller.principal, t)
            .iter()
            .any(|(code, _)| *code == r.as_str())
    });
    if role.is_none() {
        errors.role = Some(t.role_invalid);
    }
    // Institution staff create accounts of their own institution.
    let institution = match &user.account.institution {
        Some(own) => Some(own.clone()),
        None if form.institution.trim().is_empty() => None,
        None => Brin::parse(form.institution.trim())
            .map_err(|_| errors.institution = Some(t.institution_invalid))
            .ok(),
    };
    let (Some(username), Some(display_name), Some(role)) = (username, display_name, role) else {
        return render_staff(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            None,
            None,
        )
        .await;
    };
    if errors.institution.is_some() {
        return render_staff(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            None,
            None,
        )
        .await;
    }
    let password = initial_password();
    let Ok(parsed_password) = Password::parse(&password) else {
        return Err(user.fail(ApiError::Internal("generated password rejected".into())));
    };
    let request = CreateStaff {
        username,
        display_name,
        role,
        institution,
        password: parsed_password,
    };
    match create_account(&state, &user.caller, request).await {
        Ok(enrolment) => {
            let shown = shown(&enrolment, Some(password));
            render_staff(
                &state,
                &user,
                StatusCode::OK,
                StaffForm::default(),
                StaffErrors::default(),
                Some(shown),
                None,
            )
            .await
        }
        Err(ApiError::Conflict(_)) => {
            errors.username = Some(t.username_taken);
            render_staff(&state, &user, StatusCode::CONFLICT, form, errors, None, None).await
        }
        Err(ApiError::Invalid { pointer, .. }) => {
            match pointer.as_deref() {
                Some("/institution") => errors.institution = Some(t.institution_invalid),
                Some("/display_name") => errors.display_name = Some(t.display_name_invalid),
                _ => errors.role = Some(t.role_invalid),
            }
            render_staff(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
                None,
            )
            .await
        }
        Err(err) => Err(user.fail(err)),
    }
}

fn staff_id(user: &ConsoleUser, raw: &str) -> Result<StaffId, ConsoleError> {
    raw.parse::<StaffId>().map_err(|_| user.fail(ApiError::NotFound))
}

pub async fn staff_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form: CsrfOnly = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let id = staff_id(&user, &path)?;
    let enrolment = reset_account_second_factor(&state, &user.caller, id)
        .await
        .map_err(|e| user.fail(e))?;
    render_staff(
        &state,
        &user,
        StatusCode::OK,
        StaffForm::default(),
        StaffErrors::default(),
        Some(shown(&enrolment, None)),
        None,
    )
    .await
}

pub async fn staff_deactivate(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form: CsrfOnly = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let id = staff_id(&user, &path)?;
    deactivate_account(&state, &user.caller, id)
        .await
        .map_err(|e| user.fail(e))?;
    let t = user.lang.messages();
    render_staff(
        &state,
        &user,
        StatusCode::OK,
        StaffForm::default(),
        StaffErrors::default(),
        None,
        Some(t.deactivated_done),
    )
    .await
}

// ------------------------------------------------------------------ keys

struct KeyRow {
    kid: String,
    key_use: String,
    alg: String,
    status: String,
    expires: String,
    warning: Option<&'static str>,
}

struct CertificateRow {
    fingerprint: String,
    subject: String,
    expires: String,
    revoked: String,
    warning: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    chrome: Chrome,
    institution: String,
    broker_scope: bool,
    keys: Vec<KeyRow>,
    certificates: Vec<CertificateRow>,
}

fn expiry_warning(t: &'static Messages, not_after: DateTime<Utc>, now: DateTime<Utc>) -> Option<&'static str> {
    if not_after <= now {
        Some(t.expired)
    } else if not_after <= now + chrono::Duration::days(30) {
        Some(t.expires_soon)
    } else {
        None
    }
}

#[derive(Deserialize)]
pub struct KeysQuery {
    #[serde(default)]
    institution: Option<String>,
}

/// An institution's keys and certificates with their expiry dates: one's
/// own institution, or (broker staff) the one named in `?institution=`.
pub async fn keys_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.lang.messages();
    let named = web::Query::<KeysQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.0.institution)
        .filter(|s| !s.trim().is_empty());
    let brin = match (&user.account.institution, named) {
        (Some(own), _) => Some(own.clone()),
        (None, Some(raw)) => Some(Brin::parse(raw.trim()).map_err(|_| user.fail(ApiError::NotFound))?),
        (None, None) => None,
    };
    let (keys, certificates) = match &brin {
        Some(brin) => (
            keys_of(&state, &user.caller, brin.clone())
                .await
                .map_err(|e| user.fail(e))?,
            certificates_of(&state, &user.caller, brin.clone())
                .await
                .map_err(|e| user.fail(e))?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let now = state.clock.now();
    Ok(ok(&KeysPage {
        chrome: Chrome::of(&user, "/console/keys"),
        institution: brin.map(|b| b.to_string()).unwrap_or_default(),
        broker_scope: user.account.institution.is_none(),
        keys: keys
            .into_iter()
            .map(|k| KeyRow {
                warning: expiry_warning(t, k.not_after, now),
                kid: k.kid,
                key_use: k.key_use.to_string(),
                alg: k.alg,
                status: k.status.to_string(),
                expires: when(&k.not_after),
            })
            .collect(),
        certificates: certificates
            .into_iter()
            .map(|c| CertificateRow {
                warning: expiry_warning(t, c.not_after, now),
                fingerprint: c.fingerprint,
                subject: c.subject,
                expires: when(&c.not_after),
                revoked: when_opt(&c.revoked_at),
            })
            .collect(),
    }))
}

// -------------------------------------------------------------- register

struct CategoryRow {
    section: String,
    description: String,
    basis: String,
    special: &'static str,
}

#[derive(Template)]
#[template(path = "console/register.html")]
struct RegisterPage {
    chrome: Chrome,
    name: String,
    controller: String,
    contact: String,
    privacy_officer_contact: String,
    purposes: Vec<String>,
    data_subjects: Vec<String>,
    categories: Vec<CategoryRow>,
    recipients: Vec<String>,
    transfers: String,
    retention: String,
    security: Vec<String>,
}

/// The register of processing activities, as the API produces it. It holds
/// no personal data; shown to users with any console page.
pub async fn register_page(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    let chrome = Chrome::of(&user, "/console/register");
    if chrome.menu.is_empty() {
        return Err(user.fail(ApiError::NotFound));
    }
    let t = user.lang.messages();
    let register = processing_register(&state.settings);
    Ok(ok(&RegisterPage {
        chrome,
        name: register.name,
        controller: register.controller,
        contact: register.contact,
        privacy_officer_contact: register.privacy_officer_contact,
        purposes: register.purposes,
        data_subjects: register.data_subjects,
        categories: register
            .categories
            .into_iter()
            .map(|c| CategoryRow {
                section: c.section.to_string(),
                description: c.description,
                basis: c.lawful_basis.to_string(),
                special: if c.special_category { t.yes } else { t.no },
            })
            .collect(),
        recipients: register.recipients,
        transfers: register.transfers_outside_eea,
        retention: register.retention,
        security: register.security_measures,
    }))
}
